"""Sets of pieces (a folder of MIDI files or a dataset split) and their per-piece objective features.

The features follow their published definitions. Those MusPy implements are computed by MusPy itself
on a `muspy.Music` read from the piece's MIDI bytes (its mido reader; `muspy.from_music21` does not
work with music21 10), at 24 time steps per quarter note:

    pitch_range          highest - lowest pitch, semitones                      muspy.pitch_range
    n_pitch_classes      distinct pitch classes used                            muspy.n_pitch_classes_used
    pitch_class_entropy  Shannon entropy (bits) of the pitch-class histogram    muspy.pitch_class_entropy
    scale_consistency    largest share of notes inside one major/minor scale    muspy.scale_consistency
    polyphony            mean number of pitches sounding when any is            muspy.polyphony
    polyphony_rate       share of time steps with more than 2 pitches (MuseGAN) muspy.polyphony_rate
    empty_beat_rate      share of beats with no note                            muspy.empty_beat_rate
    groove_consistency   1 - mean Hamming distance of neighbouring bars' onsets muspy.groove_consistency

MusPy's own conventions are kept, so figures match other papers that use it: polyphony_rate counts time
steps with more than two pitches (its default threshold), and groove_consistency counts one more
(empty) bar when a piece ends exactly on a bar line.

The rest (not in MusPy) come from symusic note arrays in quarter notes, drums left out:

    note_density         notes per quarter note, first onset to last note end
    mean_ioi             mean inter-onset interval between distinct onsets (quarter notes)
    pitch_interval_hist  melodic intervals of each track's top line, -12..+12 semitones (outer bins
                         collect larger leaps), normalised (Yang & Lerch's PI as a histogram)
    duration_hist        note lengths in mgeval's 12 classes (Yang & Lerch's NLH), normalised
"""

from __future__ import annotations

import io
import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import symusic
from tqdm import tqdm

from tunesmith.errors import BadInputError, TunesmithError

MIDI_SUFFIXES = (".mid", ".midi")
SPLITS = ("train", "validation", "test")
MUSPY_RESOLUTION = 24  # time steps per quarter note for MusPy's piano-roll features

SCALAR_FEATURES: dict[str, str] = {
    "pitch_range": "pitch range (semitones)",
    "n_pitch_classes": "pitch classes used",
    "pitch_class_entropy": "pitch-class entropy (bits)",
    "scale_consistency": "scale consistency",
    "polyphony": "polyphony (pitches sounding)",
    "polyphony_rate": "polyphony rate (> 2 pitches)",
    "empty_beat_rate": "empty-beat rate",
    "groove_consistency": "groove consistency",
    "note_density": "note density (notes per quarter)",
    "mean_ioi": "mean inter-onset interval (quarters)",
}
INTERVAL_BINS = tuple(range(-12, 13))  # semitones; -12 and +12 also collect larger leaps
DURATION_CLASSES: dict[str, float] = {  # mgeval's note-length classes, in quarter notes
    "whole": 4.0, "half": 2.0, "quarter": 1.0, "8th": 0.5, "16th": 0.25,
    "dotted half": 3.0, "dotted quarter": 1.5, "dotted 8th": 0.75, "dotted 16th": 0.375,
    "half triplet": 4 / 3, "quarter triplet": 2 / 3, "8th triplet": 1 / 3,
}  # fmt: skip
DURATION_SHORT = ("1", "1/2", "1/4", "1/8", "1/16", "1/2.", "1/4.", "1/8.", "1/16.", "1/2T", "1/4T", "1/8T")  # plot labels
HISTOGRAM_FEATURES: dict[str, tuple[str, ...]] = {
    "pitch_interval_hist": tuple(f"{i:+d}" if i else "0" for i in INTERVAL_BINS),
    "duration_hist": tuple(DURATION_CLASSES),
}
FEATURES = tuple(SCALAR_FEATURES) + tuple(HISTOGRAM_FEATURES)


# ---- sets of pieces -----------------------------------------------------------------------------

@dataclass
class Sample:
    """One piece of a set: its score (None when it does not decode) and what is known about it."""

    name: str
    score: symusic.Score | None
    meta: dict = field(default_factory=dict)  # a dataset record, or the controls a generated piece asked for
    path: str | None = None
    error: str | None = None  # why it does not decode


@dataclass
class PieceSet:
    label: str  # how the user named it, e.g. "out/gen" or "data/corpus:validation"
    samples: list[Sample]


def parse_set_spec(spec: str | Path, split: str) -> tuple[Path, str | None]:
    """'DIR' -> (DIR, None) for a MIDI folder; a dataset folder (or 'DATASET:split') -> (DATASET, split)."""
    text = str(spec)
    head, _, tail = text.rpartition(":")
    if head and tail in SPLITS and Path(head).is_dir():
        return Path(head), tail
    path = Path(text)
    if not path.exists():
        raise BadInputError(path, "no such folder or file")
    return (path, split) if (path / "manifest.json").is_file() else (path, None)


def split_filter(spec: str | Path) -> tuple[str | Path, tuple[str, str] | None]:
    """'DATASET:validation:collection=bach' -> ('DATASET:validation', ('collection', 'bach')): a dataset
    set can be narrowed to the pieces whose metadata field has that value."""
    head, sep, last = str(spec).rpartition(":")
    if sep and head and "=" in last and "/" not in last:
        name, _, value = last.partition("=")
        return head, (name.strip(), value.strip())
    return spec, None


def load_set(spec: str | Path, split: str = "validation", limit: int | None = None, seed: int = 0,
             progress: bool = False) -> PieceSet:
    """A folder of MIDI files (recursive; a `NAME.json` beside `NAME.mid` gives the controls it asked
    for) or a dataset split, at most `limit` pieces (a random subset drawn with `seed`)."""
    spec, where = split_filter(spec)
    path, dataset_split = parse_set_spec(spec, split)
    if dataset_split is not None:
        samples = _dataset_samples(path, dataset_split, limit, seed, progress, where)
        label = f"{path}:{dataset_split}" + (f":{where[0]}={where[1]}" if where else "")
    else:
        samples = _midi_samples(path, limit, seed)
        label = str(path)
    if not samples:
        raise BadInputError(path, "no pieces found (MIDI files .mid/.midi, or a dataset split)")
    return PieceSet(label, samples)


def _subset(items: list, limit: int | None, seed: int) -> list:
    if limit is None or len(items) <= limit:
        return items
    keep = sorted(random.Random(seed).sample(range(len(items)), limit))
    return [items[i] for i in keep]


def _midi_samples(path: Path, limit: int | None, seed: int) -> list[Sample]:
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.suffix.lower() in MIDI_SUFFIXES)
    return [read_midi_sample(p, name=str(p.relative_to(path)) if path.is_dir() else p.name)
            for p in _subset(files, limit, seed)]


def read_midi_sample(path: Path, name: str | None = None) -> Sample:
    """A MIDI file as a Sample; an unreadable file gives score=None and the reason."""
    meta = sidecar_controls(path)
    try:
        score = symusic.Score(str(path))
    except Exception as e:  # symusic raises assorted errors on broken files
        return Sample(name or path.name, None, meta, str(path), f"{type(e).__name__}: {e}")
    return Sample(name or path.name, score, meta, str(path))


def sidecar_controls(midi_path: Path) -> dict:
    """The controls a generated piece asked for, from the `NAME.json` `tunesmith generate` writes."""
    side = midi_path.with_suffix(".json")
    if not side.is_file():
        return {}
    try:
        data = json.loads(side.read_text())
    except (OSError, ValueError):
        return {}
    controls = data.get("controls") if isinstance(data, dict) else None
    return {k: v for k, v in controls.items() if v is not None} if isinstance(controls, dict) else {}


def _dataset_samples(folder: Path, split: str, limit: int | None, seed: int, progress: bool,
                     where: tuple[str, str] | None = None) -> list[Sample]:
    from tunesmith.data.dataset import Dataset

    data = Dataset(folder)
    tok = data.tokenizer()
    pieces = data.pieces(split)
    if where:
        pieces = [p for p in pieces if str(p.meta.get(where[0])) == where[1]]
    pieces = _subset(pieces, limit, seed)
    samples = []
    for piece in tqdm(pieces, desc=f"decoding {split}", unit="piece", disable=not progress):
        name = piece.meta.get("title") or piece.meta.get("source") or piece.meta.get("content_hash", "piece")
        try:
            samples.append(Sample(str(name), tok.decode(piece.ids), dict(piece.meta)))
        except TunesmithError as e:
            samples.append(Sample(str(name), None, dict(piece.meta), error=str(e)))
    return samples


# ---- note arrays --------------------------------------------------------------------------------

@dataclass
class Notes:
    """The pitched (non-drum) notes of a score in quarter notes, sorted by onset then pitch."""

    onset: np.ndarray
    duration: np.ndarray
    pitch: np.ndarray
    track: np.ndarray  # index of the track each note came from


def note_arrays(score: symusic.Score) -> Notes:
    quarters = score.to("quarter")
    parts = []
    for k, track in enumerate(quarters.tracks):
        if track.is_drum or track.note_num() == 0:
            continue
        a = track.notes.numpy()
        parts.append((a["time"], a["duration"], a["pitch"], np.full(len(a["time"]), k)))
    if not parts:
        empty = np.zeros(0)
        return Notes(empty, empty, empty.astype(np.int64), empty.astype(np.int64))
    onset, duration, pitch, track = (np.concatenate(x) for x in zip(*parts))
    order = np.lexsort((pitch, onset))
    return Notes(onset[order].astype(np.float64), duration[order].astype(np.float64),
                 pitch[order].astype(np.int64), track[order].astype(np.int64))


def first_meter(score: symusic.Score) -> tuple[int, int]:
    """(numerator, denominator) of the first time signature; 4/4 when there is none (MIDI's default)."""
    sigs = score.time_signatures
    return (int(sigs[0].numerator), int(sigs[0].denominator)) if len(sigs) else (4, 4)


def bar_quarters(score: symusic.Score) -> float:
    num, den = first_meter(score)
    return num * 4.0 / den


# ---- features -----------------------------------------------------------------------------------

def to_muspy(score: symusic.Score, resolution: int = MUSPY_RESOLUTION):
    """The score as a `muspy.Music`, read by MusPy's own MIDI reader, at `resolution` steps per quarter."""
    import mido
    import muspy

    music = muspy.from_mido(mido.MidiFile(file=io.BytesIO(score.dumps_midi())))
    music.adjust_resolution(resolution)
    return music


def muspy_features(score: symusic.Score) -> dict[str, float]:
    import muspy

    music = to_muspy(score)
    num, den = first_meter(score)
    bar_steps = max(1, round(music.resolution * num * 4 / den))
    return {
        "pitch_range": float(muspy.pitch_range(music)),
        "n_pitch_classes": float(muspy.n_pitch_classes_used(music)),
        "pitch_class_entropy": float(muspy.pitch_class_entropy(music)),
        "scale_consistency": float(muspy.scale_consistency(music)),
        "polyphony": float(muspy.polyphony(music)),
        "polyphony_rate": float(muspy.polyphony_rate(music)),
        "empty_beat_rate": float(muspy.empty_beat_rate(music)),
        "groove_consistency": float(muspy.groove_consistency(music, bar_steps)),
    }


def note_density(notes: Notes) -> float:
    if not len(notes.onset):
        return math.nan
    span = float((notes.onset + notes.duration).max() - notes.onset.min())
    return len(notes.onset) / span if span > 0 else math.nan


def mean_ioi(notes: Notes) -> float:
    onsets = np.unique(np.round(notes.onset, 6))
    return float(np.diff(onsets).mean()) if len(onsets) > 1 else math.nan


def top_line(notes: Notes, track: int) -> np.ndarray:
    """Pitches of one track's highest note at each onset, in time order."""
    mine = notes.track == track
    onset, pitch = notes.onset[mine], notes.pitch[mine]
    order = np.lexsort((-pitch, onset))
    onset, pitch = onset[order], pitch[order]
    first = np.ones(len(onset), dtype=bool)
    first[1:] = np.diff(onset) > 1e-9
    return pitch[first]


def pitch_interval_hist(notes: Notes) -> np.ndarray:
    counts = np.zeros(len(INTERVAL_BINS))
    for track in np.unique(notes.track):
        steps = np.clip(np.diff(top_line(notes, int(track))), INTERVAL_BINS[0], INTERVAL_BINS[-1])
        counts += np.bincount(steps - INTERVAL_BINS[0], minlength=len(INTERVAL_BINS))
    return counts / counts.sum() if counts.sum() else np.full(len(INTERVAL_BINS), np.nan)


def duration_hist(notes: Notes) -> np.ndarray:
    classes = np.log2(np.array(list(DURATION_CLASSES.values())))
    durations = notes.duration[notes.duration > 0]
    if not len(durations):
        return np.full(len(classes), np.nan)
    nearest = np.abs(np.log2(durations)[:, None] - classes[None, :]).argmin(axis=1)
    counts = np.bincount(nearest, minlength=len(classes)).astype(float)
    return counts / counts.sum()


def piece_features(score: symusic.Score) -> dict[str, float | np.ndarray]:
    """Every feature of one piece (NaN where a feature is undefined for it)."""
    notes = note_arrays(score)
    if not len(notes.onset):
        raise TunesmithError("the piece has no pitched notes")
    feats: dict[str, float | np.ndarray] = muspy_features(score)
    feats["note_density"] = note_density(notes)
    feats["mean_ioi"] = mean_ioi(notes)
    feats["pitch_interval_hist"] = pitch_interval_hist(notes)
    feats["duration_hist"] = duration_hist(notes)
    return feats


def set_features(samples: list[Sample], progress: bool = False, desc: str = "features") -> list[dict | None]:
    """Features of each sample; None for those that do not decode or hold no pitched notes."""
    out: list[dict | None] = []
    for s in tqdm(samples, desc=desc, unit="piece", disable=not progress):
        if s.score is None or s.score.note_num() == 0:
            out.append(None)
            continue
        try:
            out.append(piece_features(s.score))
        except TunesmithError:
            out.append(None)
    return out


def feature_matrix(feats: list[dict | None], name: str) -> np.ndarray:
    """One feature over a set, as rows (pieces without it, or with NaN in it, left out)."""
    rows = [np.atleast_1d(np.asarray(f[name], dtype=float)) for f in feats if f is not None]
    if not rows:
        return np.zeros((0, len(HISTOGRAM_FEATURES.get(name, (0,)))))
    m = np.vstack(rows)
    return m[~np.isnan(m).any(axis=1)]
