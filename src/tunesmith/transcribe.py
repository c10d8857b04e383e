"""Audio -> notes: transcribe a recording into a `symusic.Score` usable as music data and as a prompt.

Notes come from basic-pitch (Spotify's polyphonic note model, ICASSP 2022), whose ONNX model ships
inside its wheel and runs here on onnxruntime: no TensorFlow, no download. It is the optional
`audio` extra (`pip install "tunesmith[audio]"` plus `pip install --no-deps basic-pitch`: see
INSTALL_HINT); without it, transcription raises a TunesmithError that says how to install it.

basic-pitch's notes are in seconds, with spurious re-onsets of held notes and faint ghost notes.
Unless `raw=True`, they are cleaned up:

1. notes quieter than `min_velocity` are dropped (basic-pitch's velocity is its confidence);
2. a re-triggered note (the same pitch starting again within `merge_gap` of the previous one's end
   with a weak onset, or while it still sounds) continues the previous note;
3. notes shorter than `min_length` seconds are dropped;
4. the beats are tracked (librosa's dynamic-programming tracker over the notes' onsets, following a
   local tempo) and turned into a tempo map: one tempo while the beats keep it (within
   TEMPO_TOLERANCE of a beat), a new one where they move away for good;
5. onsets and ends are quantised to `grid` steps per beat: given, or (grid=0, the default) the one
   of 4, 6, 8, 12 that explains the onsets best (`choose_grid`: sixteenths unless many notes fall
   between them, as ornaments and triplets do);
6. the score starts at the bar line before the first note (leading silence is cut;
   `Transcription.offset` says how much), the bar phase guessed from where long notes start.

Because the tempo map follows the recording's beats, the quantised score still plays in time with it:
`score.to("second")` times plus `offset` are times in the recording.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import multiprocessing
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import soundfile
import symusic

from tunesmith.data.sources import AUDIO_EXTENSIONS, SourceFile
from tunesmith.beat_tracking import DEFAULT_TEMPO, TempoMap, bar_phase, choose_grid, tempo_map, track_beats
from tunesmith.errors import BadInputError, MissingAudioExtra, TunesmithError

MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 8000, 384000  # recordings outside this range are refused
MIN_SECONDS = 0.1  # shorter audio has no notes to find

# basic-pitch's model: 22050 Hz mono in, 86 frames/s out, windows of 43844 samples overlapping by 30 frames
MODEL_RATE = 22050
WINDOWS_PER_RUN = 8  # windows per onnxruntime call
OVERLAP_FRAMES = 30
MIDI_OFFSET = 21  # the model's lowest pitch (A0)
RAW_MIN_FRAMES = 11  # basic-pitch's default minimum note length (127.7 ms), used when raw=True
MIN_FRAMES = 5  # the note decoder's own minimum (58 ms) when cleaning up: min_length does the rest
RETRIGGER_STRENGTH = 0.7  # an onset weaker than this right after the same pitch is a re-trigger

TICKS_PER_QUARTER = 480
GRIDS = (0, 1, 2, 3, 4, 6, 8, 12, 16, 24)  # quantisation steps per beat a user may ask for (0 = auto)


@dataclass(frozen=True)
class TranscribeOptions:
    """How to transcribe. `raw=True` keeps basic-pitch's notes as they are (120 BPM, seconds exact)."""

    raw: bool = False
    onset_threshold: float = 0.5  # basic-pitch's defaults
    frame_threshold: float = 0.3
    min_velocity: int = 50  # 1-127; ghost notes (harmonics, bleed) mostly sit below 50
    min_length: float = 0.06  # seconds
    merge_gap: float = 0.03  # seconds; 0 merges only overlapping notes of one pitch
    quantize: bool = True
    grid: int = 0  # quantisation steps per beat (4 = sixteenths, 12 = sixteenth triplets); 0 = choose
    tempo: float | None = None  # BPM to track the beats at; None = estimate
    meter: str = "4/4"
    program: int = 0  # GM program of the transcribed track (0 = piano)

    def check(self) -> None:
        if not 0.0 < self.onset_threshold < 1.0 or not 0.0 < self.frame_threshold < 1.0:
            raise TunesmithError("onset and frame thresholds must lie between 0 and 1")
        if not 0 <= self.min_velocity <= 127:
            raise TunesmithError(f"minimum velocity must be 0-127, got {self.min_velocity}")
        if self.min_length < 0 or self.merge_gap < 0:
            raise TunesmithError("minimum length and merge gap must not be negative")
        if self.grid not in GRIDS:
            raise TunesmithError(f"grid must be one of {', '.join(map(str, GRIDS))} steps per beat "
                                 f"(0 = choose from the music), got {self.grid}")
        if self.tempo is not None and not 20.0 <= self.tempo <= 400.0:
            raise TunesmithError(f"tempo must be 20-400 BPM, got {self.tempo}")
        if not 0 <= self.program <= 127:
            raise TunesmithError(f"program must be a GM program 0-127, got {self.program}")
        parse_meter(self.meter)


@dataclass
class NoteEvent:
    """One transcribed note in seconds; `strength` is the model's onset confidence (0-1)."""

    start: float
    end: float
    pitch: int
    velocity: int
    strength: float = 1.0


@dataclass
class Transcription:
    """A transcription: the score, the notes in recording seconds, and how the score was timed."""

    score: symusic.Score
    notes: list[NoteEvent]  # after clean-up, before quantisation (all of basic-pitch's when raw)
    duration: float  # seconds of audio
    sample_rate: int  # of the file
    offset: float = 0.0  # recording time of the score's tick 0 (seconds)
    tempo: float = DEFAULT_TEMPO  # the first tempo of the score (BPM)
    grid: int = 0  # quantisation steps per beat used (0: not quantised)
    beats: np.ndarray = field(default_factory=lambda: np.zeros(0))  # tracked beat times (seconds)

    def note_times(self) -> tuple[np.ndarray, np.ndarray]:
        """(intervals (n, 2) in recording seconds, MIDI pitches) of the score's notes, for evaluation."""
        rows = [(max(n.time + self.offset, 0.0), max(n.time + n.duration + self.offset, 0.0), n.pitch)
                for track in self.score.to("second").tracks for n in track.notes]
        rows.sort()
        array = np.array(rows, dtype=np.float64).reshape(-1, 3)
        return array[:, :2], array[:, 2].astype(int)


def parse_meter(meter: str) -> tuple[int, int]:
    """'3/4' -> (3, 4); TunesmithError for anything else."""
    try:
        numerator, denominator = (int(x) for x in meter.strip().split("/"))
    except ValueError:
        raise TunesmithError(f"meter must look like 4/4 or 6/8, got {meter!r}") from None
    if not 1 <= numerator <= 32 or denominator not in (1, 2, 4, 8, 16):
        raise TunesmithError(f"meter must look like 4/4 or 6/8, got {meter!r}")
    return numerator, denominator


# --------------------------------------------------------------------------- reading audio


def load_audio(path: str | Path, name: str | None = None) -> tuple[np.ndarray, int]:
    """(mono float32 samples at MODEL_RATE, the file's sample rate); BadInputError naming `name` (or the
    path) for a file that is missing, empty, not audio, without samples, at an odd rate or broken."""
    path = Path(path)
    name = name or str(path)
    if not path.is_file():
        raise BadInputError(name, "no such file")
    suffix = path.suffix.lower()
    if suffix not in AUDIO_EXTENSIONS:
        raise BadInputError(name, f"unsupported audio format {suffix or '(no suffix)'!r}: "
                                  f"use one of {', '.join(sorted(AUDIO_EXTENSIONS))}")
    if path.stat().st_size == 0:
        raise BadInputError(name, "empty file (0 bytes), not a recording")
    try:
        info = soundfile.info(str(path))
    except (soundfile.SoundFileError, RuntimeError) as exc:
        raise BadInputError(name, f"not a readable audio file ({_first_line(exc)})") from None
    if not MIN_SAMPLE_RATE <= info.samplerate <= MAX_SAMPLE_RATE:
        raise BadInputError(name, f"unsupported sample rate {info.samplerate} Hz: "
                                  f"recordings must be {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz")
    if info.frames == 0:
        raise BadInputError(name, "no audio: the file holds 0 samples")
    try:
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (soundfile.SoundFileError, RuntimeError) as exc:
        raise BadInputError(name, f"cannot decode the audio ({_first_line(exc)})") from None
    if data.shape[0] == 0:
        raise BadInputError(name, "no audio: the file holds 0 samples")
    mono = data.mean(axis=1)
    if not np.isfinite(mono).all():
        raise BadInputError(name, "broken audio: it holds NaN or infinite samples")
    if mono.shape[0] < MIN_SECONDS * rate:
        raise BadInputError(name, f"too short to transcribe ({mono.shape[0] / rate * 1000:.0f} ms)")
    return resample(mono, rate, MODEL_RATE), int(rate)


def resample(audio: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Mono audio at `target` Hz: soxr (high quality) when installed, else scipy's polyphase filter."""
    if rate == target:
        return np.ascontiguousarray(audio, dtype=np.float32)
    try:
        import soxr
    except ImportError:
        from math import gcd

        from scipy.signal import resample_poly

        g = gcd(rate, target)
        return resample_poly(audio, target // g, rate // g).astype(np.float32)
    return soxr.resample(audio, rate, target, quality="HQ").astype(np.float32)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1].strip() if text else type(exc).__name__


# --------------------------------------------------------------------------- the model


@dataclass
class _Backend:
    session: object  # onnxruntime.InferenceSession
    note_creation: object  # basic_pitch.note_creation
    window: int  # samples per model window (AUDIO_N_SAMPLES)
    hop: int  # samples per model frame (FFT_HOP)
    fps: float  # frames per second


# one per process id: an onnxruntime session does not survive a fork (a forked worker makes its own, and
# must never destroy the one it inherited, whose threads are gone: that deadlocks)
_BACKENDS: dict[int, _Backend] = {}


def audio_extra_available() -> bool:
    """Whether basic-pitch and onnxruntime are installed (without importing them)."""
    return all(importlib.util.find_spec(m) is not None for m in ("basic_pitch", "onnxruntime", "librosa"))


def check_audio_extra() -> str:
    """Load the model once and say what runs it; MissingAudioExtra (with INSTALL_HINT) when it cannot."""
    from importlib.metadata import PackageNotFoundError, version

    _backend()

    def installed(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    tensorflow = installed("tensorflow")
    return (f"audio extra ready: basic-pitch {installed('basic-pitch')} on onnxruntime {installed('onnxruntime')}, "
            f"librosa {installed('librosa')}; "
            + (f"TensorFlow {tensorflow} is installed but not used" if tensorflow else "no TensorFlow"))


@contextlib.contextmanager
def _quiet_logging():
    """basic-pitch logs a warning at import for every backend it lacks (TensorFlow, CoreML, TFLite)."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(previous)


def _backend() -> _Backend:
    """basic-pitch's ONNX model in an onnxruntime session (one per process), its note decoder."""
    found = _BACKENDS.get(os.getpid())
    if found is not None:
        return found
    try:
        import onnxruntime

        with _quiet_logging():
            from basic_pitch import constants, note_creation
    except ImportError as exc:
        raise MissingAudioExtra(exc.name or "basic_pitch") from None
    spec = importlib.util.find_spec("basic_pitch")
    model = Path(next(iter(spec.submodule_search_locations))) / "saved_models" / "icassp_2022" / "nmp.onnx"
    if not model.is_file():
        raise TunesmithError(f"basic-pitch's ONNX model is missing from its install ({model}): "
                             f"reinstall it with pip install --no-deps --force-reinstall basic-pitch==0.4.0")
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    if multiprocessing.current_process().daemon:  # a worker of a pool (data build): one core each
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    backend = _Backend(session, note_creation, constants.AUDIO_N_SAMPLES, constants.FFT_HOP,
                       constants.AUDIO_SAMPLE_RATE / constants.FFT_HOP)
    _BACKENDS[os.getpid()] = backend  # a session inherited through fork stays referenced: destroying it hangs
    return backend


def posteriorgrams(audio: np.ndarray) -> dict[str, np.ndarray]:
    """basic-pitch's frame, onset and contour activations (frames x pitches) for mono 22050 Hz audio.

    As basic-pitch's own `run_inference` (windows overlapping by 30 frames, half of the overlap cut on
    each side), with several windows per onnxruntime call.
    """
    backend = _backend()
    overlap = OVERLAP_FRAMES * backend.hop
    hop = backend.window - overlap
    padded = np.concatenate([np.zeros(overlap // 2, np.float32), audio.astype(np.float32)])
    starts = range(0, len(padded), hop)
    names = ["StatefulPartitionedCall:1", "StatefulPartitionedCall:2", "StatefulPartitionedCall:0"]
    parts: dict[str, list[np.ndarray]] = {"note": [], "onset": [], "contour": []}
    for first in range(0, len(starts), WINDOWS_PER_RUN):
        batch = np.zeros((len(starts[first:first + WINDOWS_PER_RUN]), backend.window, 1), np.float32)
        for row, start in enumerate(starts[first:first + WINDOWS_PER_RUN]):
            chunk = padded[start:start + backend.window]
            batch[row, : len(chunk), 0] = chunk
        outputs = backend.session.run(names, {"serving_default_input_2:0": batch})
        for key, value in zip(parts, outputs):
            parts[key].append(value)
    n_frames = int(np.floor(len(audio) * backend.fps / MODEL_RATE))
    half = OVERLAP_FRAMES // 2
    result = {}
    for key, chunks in parts.items():
        joined = np.concatenate(chunks)[:, half:-half, :]
        result[key] = joined.reshape(-1, joined.shape[2])[:n_frames]
    return result


def model_notes(activations: dict[str, np.ndarray], onset_threshold: float = 0.5, frame_threshold: float = 0.3,
                min_frames: int = RAW_MIN_FRAMES) -> list[NoteEvent]:
    """Notes from the activations by basic-pitch's own decoder (with its 'melodia trick', no pitch bends)."""
    backend = _backend()
    nc = backend.note_creation
    frames, onsets = activations["note"], activations["onset"]
    if frames.shape[0] < 2:
        return []
    events = nc.output_to_notes_polyphonic(frames.copy(), onsets.copy(), onset_thresh=onset_threshold,
                                           frame_thresh=frame_threshold, min_note_len=min_frames,
                                           infer_onsets=True, max_freq=None, min_freq=None, melodia_trick=True)
    times = nc.model_frames_to_time(frames.shape[0])
    notes = []
    for start, end, pitch, amplitude in events:
        column = int(pitch) - MIDI_OFFSET
        strength = float(onsets[max(start - 1, 0): start + 2, column].max())
        velocity = min(max(int(round(127 * float(amplitude))), 1), 127)
        notes.append(NoteEvent(float(times[start]), float(times[end]), int(pitch), velocity, strength))
    notes.sort(key=lambda n: (n.start, n.pitch))
    return notes


# --------------------------------------------------------------------------- clean-up


def clean_notes(notes: list[NoteEvent], options: TranscribeOptions = TranscribeOptions()) -> list[NoteEvent]:
    """Drop quiet notes, merge re-triggers, drop short notes (steps 1-3 of the module docstring)."""
    kept = merge_retriggers([n for n in notes if n.velocity >= options.min_velocity], options.merge_gap)
    kept = [n for n in kept if n.end - n.start >= options.min_length]
    kept.sort(key=lambda n: (n.start, n.pitch))
    return kept


def merge_retriggers(notes: list[NoteEvent], gap: float, strength: float = RETRIGGER_STRENGTH) -> list[NoteEvent]:
    """Join a note to the previous one of its pitch when it starts while that one sounds (always: one
    key cannot sound twice), or within `gap` seconds of its end with a weak onset (below `strength`):
    a held note the model re-struck. The notes given are left alone."""
    out: list[NoteEvent] = []
    last: dict[int, NoteEvent] = {}
    for note in sorted((replace(n) for n in notes), key=lambda n: (n.start, n.pitch)):
        previous = last.get(note.pitch)
        if previous is not None:
            space = note.start - previous.end
            if space < -1e-6 or (gap > 0 and space <= gap and note.strength < strength):
                previous.end = max(previous.end, note.end)
                continue
        out.append(note)
        last[note.pitch] = note
    return out


# --------------------------------------------------------------------------- scores


def raw_score(notes: list[NoteEvent], program: int = 0) -> symusic.Score:
    """The notes as they are, at 120 BPM: ticks keep the seconds exactly (as basic-pitch writes MIDI)."""
    score = symusic.Score(TICKS_PER_QUARTER)
    score.tempos.append(symusic.Tempo(0, DEFAULT_TEMPO))
    score.time_signatures.append(symusic.TimeSignature(0, 4, 4))
    ticks_per_second = TICKS_PER_QUARTER * DEFAULT_TEMPO / 60.0
    track = symusic.Track(name="transcription", program=program, is_drum=False)
    for n in notes:
        start = int(round(n.start * ticks_per_second))
        end = max(int(round(n.end * ticks_per_second)), start + 1)
        track.notes.append(symusic.Note(start, end - start, n.pitch, n.velocity))
    score.tracks.append(track)
    return score


def quantized_score(notes: list[NoteEvent], tempos: TempoMap, grid: int, meter: str = "4/4",
                    program: int = 0) -> tuple[symusic.Score, float]:
    """(score, offset): the notes on the beat grid, starting at the bar line before the first note,
    and the recording time of that bar line (seconds).

    Onsets and ends snap to 1/grid of a beat; a note keeps at least one step; two notes of a pitch
    never overlap (the earlier one ends where the later one starts).
    """
    numerator, denominator = parse_meter(meter)
    beats_per_bar = max(int(round(numerator * 4 / denominator)), 1)
    starts = np.round(tempos.position([n.start for n in notes]) * grid) / grid
    ends = np.round(tempos.position([n.end for n in notes]) * grid) / grid
    ends = np.maximum(ends, starts + 1.0 / grid)
    phase = bar_phase(starts, np.minimum(ends - starts, 4.0), beats_per_bar)
    first_beat = int(np.floor(starts.min() + 1e-9))
    origin = first_beat - ((first_beat - phase) % beats_per_bar)  # the bar line at or before the first note

    rows: dict[int, list[list[int]]] = {}
    for note, on, off in zip(notes, starts, ends):
        tick_on = int(round((on - origin) * TICKS_PER_QUARTER))
        tick_off = int(round((off - origin) * TICKS_PER_QUARTER))
        rows.setdefault(note.pitch, []).append([tick_on, tick_off, note.velocity])
    track = symusic.Track(name="transcription", program=program, is_drum=False)
    collected = []
    for pitch, items in rows.items():
        items.sort()
        merged: list[list[int]] = []
        for item in items:
            if merged and item[0] == merged[-1][0]:  # same onset after snapping: one note
                merged[-1][1] = max(merged[-1][1], item[1])
                merged[-1][2] = max(merged[-1][2], item[2])
                continue
            if merged and merged[-1][1] > item[0]:
                merged[-1][1] = item[0]
            merged.append(item)
        collected += [(on, off - on, pitch, velocity) for on, off, velocity in merged]
    for on, length, pitch, velocity in sorted(collected):
        track.notes.append(symusic.Note(on, length, pitch, velocity))

    score = symusic.Score(TICKS_PER_QUARTER)
    score.time_signatures.append(symusic.TimeSignature(0, numerator, denominator))
    last_bpm = None
    for i, (beat, period) in enumerate(zip(tempos.beat, tempos.period)):
        following = tempos.beat[i + 1] if i + 1 < len(tempos.beat) else None
        if following is not None and following <= origin:
            continue  # this segment ends before the score starts
        tick = max(int(beat - origin), 0) * TICKS_PER_QUARTER if last_bpm is not None else 0
        bpm = 60.0 / float(period)
        if last_bpm is None or abs(bpm - last_bpm) > 1e-6:
            score.tempos.append(symusic.Tempo(tick, bpm))
            last_bpm = bpm
    score.tracks.append(track)
    return score, float(tempos.seconds(origin))


# --------------------------------------------------------------------------- the whole path


def transcribe_audio(audio: str | Path | np.ndarray, options: TranscribeOptions = TranscribeOptions(), *,
                     sample_rate: int | None = None, name: str | None = None) -> Transcription:
    """Transcribe a recording (a file, or mono/stereo samples with `sample_rate`) into a Transcription.

    A recording without notes gives a Transcription whose score has none; `transcribe` refuses it.
    """
    options.check()
    if isinstance(audio, np.ndarray):
        samples, rate = _check_samples(audio, sample_rate, name or "audio")
    else:
        samples, rate = load_audio(audio, name)
    duration = len(samples) / MODEL_RATE
    activations = posteriorgrams(samples)
    if options.raw:
        notes = model_notes(activations, options.onset_threshold, options.frame_threshold, RAW_MIN_FRAMES)
        return Transcription(raw_score(notes, options.program), notes, duration, rate)
    notes = clean_notes(model_notes(activations, options.onset_threshold, options.frame_threshold, MIN_FRAMES),
                        options)
    if not notes:
        return Transcription(raw_score([], options.program), notes, duration, rate)
    if not options.quantize:
        return Transcription(raw_score(notes, options.program), notes, duration, rate)
    beats = track_beats(notes, duration, options.tempo)
    tempos = tempo_map(beats, notes[0].start, options.tempo)
    grid = options.grid or choose_grid(np.array([n.start for n in notes]), tempos)
    score, offset = quantized_score(notes, tempos, grid, options.meter, options.program)
    return Transcription(score, notes, duration, rate, offset, float(score.tempos[0].qpm), grid, beats)


def _check_samples(audio: np.ndarray, sample_rate: int | None, name: str) -> tuple[np.ndarray, int]:
    """Validate in-memory samples ((n,), (channels, n) with channels <= 2, or (n, channels)) like a file."""
    if sample_rate is None or not MIN_SAMPLE_RATE <= int(sample_rate) <= MAX_SAMPLE_RATE:
        raise BadInputError(name, f"unsupported sample rate {sample_rate} Hz: "
                                  f"recordings must be {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz")
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 2 and audio.shape[0] <= 2 < audio.shape[1]:  # (channels, n), as render() gives
        audio = audio.mean(axis=0)
    elif audio.ndim == 2 and audio.shape[1] <= 2:  # (n, channels), as soundfile reads
        audio = audio.mean(axis=1)
    if audio.ndim != 1 or audio.size == 0:
        raise BadInputError(name, "no audio: 0 samples")
    if not np.isfinite(audio).all():
        raise BadInputError(name, "broken audio: it holds NaN or infinite samples")
    if audio.size < MIN_SECONDS * sample_rate:
        raise BadInputError(name, f"too short to transcribe ({audio.size / sample_rate * 1000:.0f} ms)")
    return resample(audio, int(sample_rate), MODEL_RATE), int(sample_rate)


def transcribe(path: str | Path, options: TranscribeOptions | None = None, **overrides) -> symusic.Score:
    """The score of a recording (see the module docstring); keyword arguments override TranscribeOptions
    fields, e.g. `transcribe("take.wav", raw=True)`. BadInputError when it holds no notes."""
    options = replace(options or TranscribeOptions(), **overrides)
    result = transcribe_audio(path, options)
    if result.score.note_num() == 0:
        raise BadInputError(path, "no notes found: the recording is silent or has no pitched sound")
    return result.score


def load_recording(src: SourceFile):
    """`tunesmith.data.load.load_pieces` for a recording: one piece, transcribed with the defaults."""
    from tunesmith.data.load import LoadResult, single_piece
    from tunesmith.data.sources import Skip

    try:
        result = transcribe_audio(src.path, name=src.display)
    except MissingAudioExtra as exc:
        error = BadInputError(src.display, str(exc))
        error.transient = True  # not the file's fault: a build must not cache this skip
        raise error from None
    score = result.score
    if score.note_num() == 0:
        return LoadResult(skipped=[Skip(src.display, "no notes found (silent or unpitched audio)")])
    return single_piece(src, score)
