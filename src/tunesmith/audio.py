"""Audio from a `symusic.Score`: find a SoundFont, render with symusic's synthesizer, write WAV/FLAC/MP3.

symusic 0.5.9's synthesizer (prestosynth) is fast but has gaps that this module works around:

* It ignores a SoundFont zone's *overriding root key*, clamps coarse tuning to +-120 cents and
  drops negative loop offsets, so in common GM SoundFonts (TimGM6mb, FluidR3_GM) most instruments,
  piano included, play at wrong pitches, and a few zones loop garbage (even inf).
  `_fixed_soundfont` writes a corrected copy once, into the user's cache folder, in which every
  instrument zone has its own sample header with the zone's root key and offsets baked in.
  The copy also keeps each zone's header distinct for prestosynth's sample cache, whose key
  (`pitch | start << 8`, in 32 bits) otherwise mixes up zones that share a sample.
* It ignores note velocity: notes are rendered in velocity groups and scaled by (v/127)^2,
  the SoundFont standard's default velocity-to-volume curve.
* Its output ends at the last note-off plus whatever release it computes (none for TimGM6mb,
  whose notes all stop dead): the notes that end the piece are held TAIL_SECONDS longer and
  faded out, and trailing silence is cut.
* A (bank, program) missing from the SoundFont renders as silence: such tracks fall back to
  program 0 (the standard drum kit for drum tracks).

Drum tracks (`is_drum`) are rendered from bank 128 (the drum kits) by symusic itself.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import soundfile
import symusic
from symusic import core as symusic_core

from tunesmith.errors import BadInputError, TunesmithError
from tunesmith.fileio import atomic_path

SOUNDFONT_ENV = "TUNESMITH_SOUNDFONT"
SOUNDFONT_SUFFIXES = (".sf2", ".sf3")
# SoundFonts installed by system packages, tried in order (Debian/Ubuntu: fluid-soundfont-gm).
SYSTEM_SOUNDFONTS: tuple[Path, ...] = (Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),)

AUDIO_FORMATS = {".wav": ("WAV", "PCM_16"), ".flac": ("FLAC", "PCM_16"), ".mp3": ("MP3", "MPEG_LAYER_III")}
# the sample rates MPEG-1/2/2.5 layer III can carry
MP3_SAMPLE_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
MP3_BITRATE = 192  # kbit/s, for the encoders that take one (lameenc, ffmpeg, lame)
NO_MP3_ENCODER = (
    "no MP3 encoder found: install one of lameenc (pip install lameenc), ffmpeg or lame "
    "(apt-get install ffmpeg), or a libsndfile >= 1.1 built with MP3 support; or write .wav or .flac"
)
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 8000, 192000

PEAK_DBFS = -1.0  # loudness normalisation target for the highest sample
TAIL_SECONDS = 0.5  # release tail kept after the last sound
SILENCE_DB = -60.0  # below the peak by this much counts as silence when trimming the end
VELOCITY_STEP = 8  # velocities are grouped in steps of this size (at most 17 synthesizer passes)
SYNTH_QUALITY = 0  # symusic's default; some higher settings render silence in 0.5.9

NOTHING_TO_RENDER = "nothing to render: the score has no notes"


# --------------------------------------------------------------------------- finding a SoundFont


def find_soundfont(soundfont: str | Path | None = None) -> Path:
    """Return the SoundFont to render with.

    Order: the explicit argument (which must exist); the TUNESMITH_SOUNDFONT environment variable;
    Debian's fluid-soundfont-gm when installed; pretty_midi's bundled TimGM6mb.sf2.
    Both .sf2 and .sf3 files are accepted.
    """
    if soundfont is not None:
        return _checked_soundfont(Path(soundfont).expanduser(), "")
    from_env = os.environ.get(SOUNDFONT_ENV, "").strip()
    if from_env:
        return _checked_soundfont(Path(from_env).expanduser(), f" (set by {SOUNDFONT_ENV})")
    for candidate in SYSTEM_SOUNDFONTS:
        if candidate.is_file():
            return candidate
    bundled = _pretty_midi_soundfont()
    if bundled is not None:
        return bundled
    raise TunesmithError(
        "no SoundFont found: pass one explicitly (a .sf2 or .sf3 file), set "
        f"{SOUNDFONT_ENV}=/path/to/soundfont.sf2, install Debian's fluid-soundfont-gm "
        "(apt-get install fluid-soundfont-gm), or install pretty_midi, which bundles TimGM6mb.sf2"
    )


def _checked_soundfont(path: Path, origin: str) -> Path:
    """Return `path` if it is an existing .sf2/.sf3 file, else raise BadInputError naming it."""
    if not path.is_file():
        raise BadInputError(path, f"SoundFont not found{origin}")
    if path.suffix.lower() not in SOUNDFONT_SUFFIXES:
        raise BadInputError(path, f"not a SoundFont: expected a .sf2 or .sf3 file{origin}")
    return path


def _pretty_midi_soundfont() -> Path | None:
    """pretty_midi's bundled TimGM6mb.sf2, located without importing pretty_midi."""
    spec = importlib.util.find_spec("pretty_midi")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "TimGM6mb.sf2"
        if path.is_file():
            return path
    return None


# --------------------------------------------------------------------------- SoundFont fix-up

_GEN_COARSE_TUNE, _GEN_SAMPLE_ID, _GEN_ROOT_KEY = 51, 53, 58
# (fine, coarse) offset generators for a sample's start, end, loop start and loop end
_GEN_ADDRESS_OFFSETS = ((0, 4), (1, 12), (2, 45), (3, 50))
_BAKED_GENERATORS = {_GEN_COARSE_TUNE: 0, **{g: 0 for pair in _GEN_ADDRESS_OFFSETS for g in pair}}
_SHDR = struct.Struct("<20sIIIIIBbHH")  # sample header: name, start, end, loops, rate, root, cents, link, type
_PHDR = struct.Struct("<20sHHHIII")  # preset header: name, preset, bank, bag index, ...
_INST = struct.Struct("<20sH")  # instrument: name, bag index
_BAG = struct.Struct("<HH")  # zone: first generator, first modulator
_GEN = struct.Struct("<Hh")  # generator: operator, amount
_FIX_VERSION = 2  # bump when the fix-up changes, so old cached copies are not reused
_KEY_SPACE = 1 << 24  # prestosynth's cache key keeps 24 bits of a sample's start


@dataclass(frozen=True)
class _SoundFontFile:
    """A SoundFont ready for symusic: its path and the (bank, program) presets it holds."""

    path: Path
    presets: frozenset[tuple[int, int]]


@dataclass
class _Riff:
    """The layout of a SoundFont file: top-level chunks and the preset-data sub-chunks."""

    chunks: list[tuple[int, int, bool]]  # (offset, size with header, is the pdta list)
    pdta: dict[str, bytes]
    pdta_order: list[str]
    version: int  # major version: 2 for .sf2, 3 for .sf3


def _read_riff(path: Path) -> _Riff:
    """Read a SoundFont's chunk layout and its (small) preset-data chunk; sample data stays on disk."""
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"sfbk":
            raise BadInputError(path, "not a valid SoundFont (no RIFF sfbk header)")
        file_end = min(8 + struct.unpack("<I", head[4:8])[0], path.stat().st_size)
        chunks, pdta, order, version = [], {}, [], 2
        offset = 12
        while offset + 8 <= file_end:
            f.seek(offset)
            cid, size = struct.unpack("<4sI", f.read(8))
            kind = f.read(4) if cid == b"LIST" else b""
            if kind == b"pdta":
                pdta, order = _read_subchunks(f.read(size - 4))
            elif kind == b"INFO":
                info, _ = _read_subchunks(f.read(size - 4))
                version = struct.unpack("<H", info["ifil"][:2])[0] if "ifil" in info else 2
            chunks.append((offset, 8 + size + (size & 1), kind == b"pdta"))
            offset += 8 + size + (size & 1)
    needed = {"phdr", "pbag", "pgen", "inst", "ibag", "igen", "shdr"}
    if not needed <= pdta.keys():
        raise BadInputError(path, "not a valid SoundFont (incomplete preset data)")
    return _Riff(chunks, pdta, order, version)


def _read_subchunks(data: bytes) -> tuple[dict[str, bytes], list[str]]:
    """Split a LIST body into {id: bytes}, keeping the order of the ids."""
    found, order, offset = {}, [], 0
    while offset + 8 <= len(data):
        cid, size = struct.unpack("<4sI", data[offset : offset + 8])
        name = cid.decode("latin-1")
        found[name] = data[offset + 8 : offset + 8 + size]
        order.append(name)
        offset += 8 + size + (size & 1)
    return found, order


def _records(data: bytes, layout: struct.Struct) -> list[tuple]:
    """Unpack a chunk of fixed-size records."""
    return [layout.unpack_from(data, i) for i in range(0, len(data) - layout.size + 1, layout.size)]


def _presets(riff: _Riff) -> frozenset[tuple[int, int]]:
    """The (bank, program) pairs a SoundFont defines (the last header is the end marker)."""
    return frozenset((bank, preset) for _, preset, bank, *_ in _records(riff.pdta["phdr"], _PHDR)[:-1])


def _fix_zones(riff: _Riff) -> tuple[bytes, bytes] | None:
    """New igen and shdr chunks giving every instrument zone its own, correctly rooted sample header.

    The original headers stay (stereo links point at them); one header per zone is appended.
    Returns None when nothing changes, or when there are too many zones for 16-bit sample ids.
    """
    instruments = _records(riff.pdta["inst"], _INST)
    bags = _records(riff.pdta["ibag"], _BAG)
    gens = [list(g) for g in _records(riff.pdta["igen"], _GEN)]
    headers = _records(riff.pdta["shdr"], _SHDR)
    added: list[tuple[int, tuple]] = []  # (original sample id, new header)
    used_keys: set[int] = set()
    baked = _BAKED_GENERATORS if riff.version == 2 else {_GEN_COARSE_TUNE: 0}
    for first_bag, next_bag in zip([i[1] for i in instruments[:-1]], [i[1] for i in instruments[1:]]):
        zones = [range(bags[b][0], bags[b + 1][0]) for b in range(first_bag, next_bag)]
        global_zone: dict[int, int] = {}
        for z, zone in enumerate(zones):
            values = {gens[g][0]: gens[g][1] for g in zone}
            sample_id = values.get(_GEN_SAMPLE_ID, -1) & 0xFFFF
            if _GEN_SAMPLE_ID not in values or sample_id >= len(headers) - 1:
                if z == 0:
                    global_zone = values
                continue
            header = _zone_header(headers[sample_id], values, global_zone, riff.version, used_keys)
            added.append((sample_id, header))
            _set_generators(gens, zone, {**baked, _GEN_SAMPLE_ID: len(headers) - 2 + len(added)})
        if global_zone:
            _set_generators(gens, zones[0], baked)
    if len(headers) + len(added) > 0xFFFF or all(h == headers[i] for i, h in added):
        return None
    all_headers = headers[:-1] + [h for _, h in added] + headers[-1:]
    igen = b"".join(struct.pack("<HH", op, amount & 0xFFFF) for op, amount in gens)
    return igen, b"".join(_SHDR.pack(*h) for h in all_headers)


def _set_generators(gens: list[list[int]], zone: range, values: dict[int, int]) -> None:
    """Overwrite the amounts of the generators in `zone` whose operators are keys of `values`."""
    for g in zone:
        if gens[g][0] in values:
            gens[g][1] = values[gens[g][0]]


def _zone_header(header: tuple, zone: dict, global_zone: dict, version: int, used_keys: set) -> tuple:
    """A copy of `header` with the zone's root key, coarse tuning and (sf2) address offsets baked in."""
    name, start, end, loop_start, loop_end, rate, root, cents, link, kind = header
    setting = functools.partial(_zone_setting, zone, global_zone)
    zone_root = setting(_GEN_ROOT_KEY, -1)
    if 0 <= zone_root <= 127:
        root = zone_root
    elif root > 127:
        root = 60  # 255 means "unpitched": the standard says to use 60
    root = min(max(root - setting(_GEN_COARSE_TUNE, 0), 0), 127)
    if version == 2:  # sf3 offsets point into compressed streams: leave them alone
        moved = [
            value + setting(fine, 0) + 32768 * setting(coarse, 0)
            for value, (fine, coarse) in zip((start, end, loop_start, loop_end), _GEN_ADDRESS_OFFSETS)
        ]
        if moved[0] < moved[1]:
            start, end = moved[:2]
        if start <= moved[2] < moved[3] <= end:
            loop_start, loop_end = moved[2:]
        start = _distinct_start(start, min(loop_start, end - 1), used_keys)
    return (name, start, end, loop_start, loop_end, rate, root, cents, link, kind)


def _zone_setting(zone: dict, global_zone: dict, operator: int, default: int) -> int:
    """A generator's amount in a zone, else in the instrument's global zone, else `default`."""
    return zone.get(operator, global_zone.get(operator, default))


def _distinct_start(start: int, limit: int, used_keys: set[int]) -> int:
    """Move `start` by a few frames (< 1 ms) so that no two headers share prestosynth's cache key."""
    for shift in range(64):
        if shift and start + shift >= limit:
            break
        key = (start + shift) % _KEY_SPACE
        if key not in used_keys:
            used_keys.add(key)
            return start + shift
    return start


def _write_soundfont(source: Path, riff: _Riff, igen: bytes, shdr: bytes, target: Path) -> None:
    """Copy `source` to `target` with new igen/shdr chunks, streaming the sample data."""
    pdta = dict(riff.pdta, igen=igen, shdr=shdr)
    body = b"pdta" + b"".join(
        name.encode("latin-1") + struct.pack("<I", len(pdta[name])) + pdta[name] + b"\0" * (len(pdta[name]) & 1)
        for name in riff.pdta_order
    )
    new_pdta = b"LIST" + struct.pack("<I", len(body)) + body
    riff_size = 4 + sum(len(new_pdta) if is_pdta else size for _, size, is_pdta in riff.chunks)
    with open(source, "rb") as src, atomic_path(target) as tmp, open(tmp, "wb") as out:
        out.write(b"RIFF" + struct.pack("<I", riff_size) + b"sfbk")
        for offset, size, is_pdta in riff.chunks:
            if is_pdta:
                out.write(new_pdta)
            else:
                src.seek(offset)
                _copy_bytes(src, out, size)


def _copy_bytes(src, out, count: int, block: int = 1 << 22) -> None:
    """Copy `count` bytes from one open file to another, a block at a time."""
    while count > 0:
        data = src.read(min(block, count))
        if not data:
            break
        out.write(data)
        count -= len(data)


def _cache_dir() -> Path:
    """Where fixed SoundFont copies live: $XDG_CACHE_HOME/tunesmith/soundfonts (~/.cache by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tunesmith" / "soundfonts"


def _playable_soundfont(path: Path) -> _SoundFontFile:
    """The SoundFont symusic should load for `path`: the file itself or its fixed, cached copy."""
    stat = path.resolve().stat()
    found = _fixed_soundfont(str(path.resolve()), stat.st_size, stat.st_mtime_ns, str(_cache_dir()))
    if not found.path.is_file():  # the cached copy was removed behind our back
        _fixed_soundfont.cache_clear()
        found = _fixed_soundfont(str(path.resolve()), stat.st_size, stat.st_mtime_ns, str(_cache_dir()))
    return found


@functools.lru_cache(maxsize=16)
def _fixed_soundfont(path: str, size: int, mtime_ns: int, cache_dir: str) -> _SoundFontFile:
    """Build (once) or reuse the fixed copy of the SoundFont at `path`; see the module docstring."""
    source = Path(path)
    try:
        riff = _read_riff(source)
        fixed = _fix_zones(riff)
    except (struct.error, KeyError, IndexError, UnicodeDecodeError) as exc:
        raise BadInputError(source, f"not a valid SoundFont ({exc})") from exc
    if fixed is None:
        return _SoundFontFile(source, _presets(riff))
    digest = hashlib.sha1(f"{path}|{size}|{mtime_ns}|{_FIX_VERSION}".encode()).hexdigest()[:16]
    target = Path(cache_dir) / f"{source.stem}-{digest}{source.suffix.lower()}"
    if not target.is_file():
        try:
            _write_soundfont(source, riff, *fixed, target)
        except OSError:  # read-only home: fall back to the temporary folder
            target = Path(tempfile.gettempdir()) / "tunesmith-soundfonts" / target.name
            if not target.is_file():
                _write_soundfont(source, riff, *fixed, target)
    return _SoundFontFile(target, _presets(riff))


@functools.lru_cache(maxsize=8)
def _synthesizer(soundfont: str, sample_rate: int) -> symusic_core.Synthesizer:
    """One symusic Synthesizer per (SoundFont, sample rate); it maps the file and caches samples."""
    return symusic.Synthesizer(soundfont, sample_rate, SYNTH_QUALITY)


# --------------------------------------------------------------------------- rendering


@dataclass
class _Part:
    """Notes that share an instrument and a velocity group, as arrays (times in seconds)."""

    program: int
    is_drum: bool
    level: int
    time: np.ndarray
    duration: np.ndarray
    pitch: np.ndarray
    velocity: np.ndarray


def render(score: symusic.Score, sample_rate: int = 44100, soundfont: str | Path | None = None) -> np.ndarray:
    """Render `score` to a float32 array of shape (2, samples).

    Uses symusic's synthesizer with the SoundFont from `find_soundfont(soundfont)`. Drum tracks
    sound as drums, velocities set loudness, the end keeps a short faded release tail, and the peak
    is normalised to about -1 dBFS.
    """
    _check_sample_rate(sample_rate)
    if score.note_num() == 0:
        raise TunesmithError(NOTHING_TO_RENDER)
    source = find_soundfont(soundfont)
    font = _playable_soundfont(source)
    try:
        synth = _synthesizer(str(font.path), sample_rate)
    except RuntimeError as exc:  # symusic's loader rejects the file
        raise BadInputError(source, f"cannot load SoundFont: {exc}") from exc
    parts, last_end = _parts(score.to("second"), font.presets)
    if not parts:
        raise TunesmithError(NOTHING_TO_RENDER)
    audio = _mix(synth, parts, sample_rate)
    return _normalise(_end_with_tail(audio, sample_rate, last_end))


def _check_sample_rate(sample_rate: int) -> None:
    if not isinstance(sample_rate, (int, np.integer)) or not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise TunesmithError(
            f"sample rate must be a whole number from {MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE} Hz, got {sample_rate!r}"
        )


def _parts(score: symusic.Score, presets: frozenset[tuple[int, int]]) -> tuple[list[_Part], float]:
    """Group the notes of a seconds-timed score by (program, drum, velocity group).

    Tracks on the same instrument are merged (the synthesizer mixes linearly, so this is exact and
    saves passes). Notes that end with the piece are lengthened by the release tail.
    Returns the parts and the time the last note ends (without the tail).
    """
    arrays: dict[tuple[int, bool], list[dict[str, np.ndarray]]] = {}
    for track in score.tracks:
        if len(track.notes) == 0:
            continue
        key = (_playable_program(track.program, track.is_drum, presets), bool(track.is_drum))
        arrays.setdefault(key, []).append(track.notes.numpy())
    if not arrays:
        return [], 0.0
    last_end = max(float((a["time"] + a["duration"]).max()) for group in arrays.values() for a in group)
    parts = []
    for (program, is_drum), group in arrays.items():
        notes = {k: np.concatenate([a[k] for a in group]) for k in ("time", "duration", "pitch", "velocity")}
        notes["duration"] = _with_tail(notes["time"], notes["duration"], last_end)
        levels = _velocity_level(notes["velocity"])
        for level in np.unique(levels):
            if level == 0:
                continue  # velocity below VELOCITY_STEP / 2: inaudible
            pick = levels == level
            columns = (notes[k][pick] for k in ("time", "duration", "pitch", "velocity"))
            parts.append(_Part(program, is_drum, int(level), *columns))
    return parts, last_end


def _playable_program(program: int, is_drum: bool, presets: frozenset[tuple[int, int]]) -> int:
    """`program` if the SoundFont has it (bank 128 for drums), else 0 (piano / standard kit)."""
    bank = 128 if is_drum else 0
    return program if (bank, program) in presets or not presets else 0


def _with_tail(time: np.ndarray, duration: np.ndarray, last_end: float) -> np.ndarray:
    """Durations with the notes that end the piece lengthened by TAIL_SECONDS (faded out later)."""
    ends_piece = time + duration >= last_end - 1e-3
    return np.where(ends_piece, duration + TAIL_SECONDS, duration).astype(np.float32)


def _velocity_level(velocity: np.ndarray) -> np.ndarray:
    return np.rint(velocity.astype(np.float32) / VELOCITY_STEP).astype(np.int32)


def _level_gain(level: int) -> float:
    """Amplitude for a velocity group: (v/127)^2, the SoundFont default velocity curve."""
    velocity = min(level * VELOCITY_STEP, 127)
    return (velocity / 127.0) ** 2


def _mix(synth: symusic_core.Synthesizer, parts: list[_Part], sample_rate: int) -> np.ndarray:
    """Render each velocity group once (all its instruments together) and mix them with their gains."""
    end = max(float((p.time + p.duration).max()) for p in parts)
    mix = np.zeros((2, int(np.ceil(end * sample_rate)) + 1), dtype=np.float32)
    for level in sorted({p.level for p in parts}):
        audio = synth.render(_score_of([p for p in parts if p.level == level]), True)
        if audio.shape[1] > mix.shape[1]:
            mix = np.pad(mix, ((0, 0), (0, audio.shape[1] - mix.shape[1])))
        mix[:, : audio.shape[1]] += audio * np.float32(_level_gain(level))
    if not np.isfinite(mix).all():  # a broken SoundFont zone must not wipe out the whole piece
        np.nan_to_num(mix, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    return mix


def _score_of(parts: list[_Part]) -> symusic_core.ScoreSecond:
    """A seconds-timed score with one track per part."""
    score = symusic_core.ScoreSecond(480)
    for part in parts:
        track = symusic_core.TrackSecond("", part.program, part.is_drum)
        track.notes = symusic_core.NoteSecondList.from_numpy(
            np.ascontiguousarray(part.time, dtype=np.float32),
            np.ascontiguousarray(part.duration, dtype=np.float32),
            np.ascontiguousarray(part.pitch, dtype=np.int8),
            np.ascontiguousarray(part.velocity, dtype=np.int8),
        )
        score.tracks.append(track)
    return score


def _end_with_tail(audio: np.ndarray, sample_rate: int, last_end: float) -> np.ndarray:
    """Fade out over TAIL_SECONDS after the last note ends, and cut trailing silence.

    The output stops TAIL_SECONDS after `last_end` (seconds), or sooner where the sound has already
    died away (SILENCE_DB below the peak), keeping a few milliseconds after it.
    """
    level = np.abs(audio).max(axis=0)
    peak = float(level.max()) if level.size else 0.0
    if peak == 0.0:
        return audio
    fade_start = int(round(last_end * sample_rate))
    tail = int(round(TAIL_SECONDS * sample_rate))
    audible_end = int(np.flatnonzero(level > peak * 10 ** (SILENCE_DB / 20))[-1]) + 1
    end = min(audio.shape[1], fade_start + tail, audible_end + int(0.01 * sample_rate))
    audio = audio[:, :end].copy()
    if end > fade_start:
        ramp = 0.5 * (1.0 + np.cos(np.linspace(0.0, np.pi, tail, dtype=np.float32)))
        audio[:, fade_start:end] *= ramp[: end - fade_start]
    return audio


def _normalise(audio: np.ndarray) -> np.ndarray:
    """Scale so the peak sits at PEAK_DBFS; silence stays silence."""
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    if peak > 0.0:
        audio = audio * np.float32(10 ** (PEAK_DBFS / 20) / peak)
    return np.ascontiguousarray(audio, dtype=np.float32)


# --------------------------------------------------------------------------- writing


def write_audio(
    score: symusic.Score,
    path: str | Path,
    sample_rate: int = 44100,
    soundfont: str | Path | None = None,
) -> Path:
    """Render `score` and write it by the suffix of `path` (atomic write).

    .wav and .flac: 16-bit PCM. .mp3: through the first encoder found (see `mp3_encoder`), at one
    of MP3_SAMPLE_RATES; a TunesmithError says how to get an encoder when there is none.
    """
    path = Path(path)
    fmt = AUDIO_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise BadInputError(
            path, f"unsupported audio format {path.suffix or '(no suffix)'!r}: use .wav, .flac or .mp3"
        )
    encode_mp3 = None
    if fmt[0] == "MP3":
        _check_sample_rate(sample_rate)
        if sample_rate not in MP3_SAMPLE_RATES:
            raise TunesmithError(
                f"MP3 cannot carry {sample_rate} Hz: use one of {', '.join(map(str, MP3_SAMPLE_RATES))} Hz, "
                "or write .wav or .flac"
            )
        encode_mp3 = mp3_encoder()[1]  # before rendering: a missing encoder fails fast
    audio = render(score, sample_rate=sample_rate, soundfont=soundfont)
    with atomic_path(path) as tmp:
        if encode_mp3 is not None:
            encode_mp3(audio, sample_rate, tmp)
        else:
            container, subtype = fmt
            soundfile.write(str(tmp), audio.T, sample_rate, format=container, subtype=subtype)
    return path


# --------------------------------------------------------------------------- MP3 encoders


def mp3_encoder() -> tuple[str, Callable[[np.ndarray, int, Path], None]]:
    """(name, encode) of the first MP3 encoder available; TunesmithError when there is none.

    Tried in order: libsndfile (through soundfile, when its build has MP3: libsndfile >= 1.1 with
    LAME), the lameenc package, an ffmpeg binary, a lame binary. `encode(audio, rate, path)` takes
    float audio of shape (2, n).
    """
    if "MP3" in soundfile.available_formats():
        return "libsndfile", _mp3_with_soundfile
    if importlib.util.find_spec("lameenc") is not None:
        return "lameenc", _mp3_with_lameenc
    for binary in ("ffmpeg", "lame"):
        found = shutil.which(binary)
        if found:
            return binary, functools.partial(_mp3_with_binary, binary, found)
    raise TunesmithError(NO_MP3_ENCODER)


def _pcm16(audio: np.ndarray) -> np.ndarray:
    """Interleaved 16-bit samples, shape (n, channels)."""
    return np.ascontiguousarray((np.clip(audio, -1.0, 1.0) * 32767.0).round().astype("<i2").T)


def _mp3_with_soundfile(audio: np.ndarray, sample_rate: int, path: Path) -> None:
    soundfile.write(str(path), audio.T, sample_rate, format="MP3", subtype="MPEG_LAYER_III")


def _mp3_with_lameenc(audio: np.ndarray, sample_rate: int, path: Path) -> None:
    import lameenc

    encoder = lameenc.Encoder()
    encoder.set_bit_rate(MP3_BITRATE)
    encoder.set_in_sample_rate(sample_rate)
    encoder.set_channels(audio.shape[0])
    encoder.set_quality(2)
    data = encoder.encode(_pcm16(audio).tobytes()) + encoder.flush()
    path.write_bytes(bytes(data))


def _mp3_with_binary(name: str, binary: str, audio: np.ndarray, sample_rate: int, path: Path) -> None:
    """Encode through ffmpeg or lame: a temporary WAV in, the MP3 out."""
    with tempfile.TemporaryDirectory(prefix="tunesmith-mp3-") as folder:
        wav = Path(folder) / "in.wav"
        mp3 = Path(folder) / "out.mp3"
        soundfile.write(str(wav), _pcm16(audio), sample_rate, subtype="PCM_16")
        if name == "ffmpeg":
            command = [binary, "-nostdin", "-loglevel", "error", "-y", "-i", str(wav),
                       "-codec:a", "libmp3lame", "-b:a", f"{MP3_BITRATE}k", str(mp3)]
        else:
            command = [binary, "--quiet", "-b", str(MP3_BITRATE), str(wav), str(mp3)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0 or not mp3.is_file():
            detail = (done.stderr or done.stdout).strip().splitlines()
            reason = detail[-1] if detail else f"exit status {done.returncode}"
            raise TunesmithError(f"{name} could not encode MP3: {reason}")
        shutil.copyfile(mp3, path)
