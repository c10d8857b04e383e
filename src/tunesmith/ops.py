"""Small pure functions on musical attributes and token sequences, named for what they do."""

from __future__ import annotations

import re

import numpy as np

# Tempo bins of the Text2midi / Mustango evaluation: <40, 40-60, 60-70, 70-90, 90-110, 110-140, 140-160, 160-210, >=210.
TEMPO_BIN_EDGES: tuple[float, ...] = (40, 60, 70, 90, 110, 140, 160, 210)
TEMPO_BIN_NAMES: tuple[str, ...] = (
    "grave", "largo", "adagio", "andante", "moderato", "allegro", "vivace", "presto", "prestissimo",
)

PITCH_CLASS_OF = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
# One spelling per pitch class and mode: the one a musician would write for the key.
MAJOR_TONICS = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MINOR_TONICS = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")
MODES = ("major", "minor")
# the notes of each mode's scale, in semitones above the tonic (minor: natural and harmonic, so its
# leading tone counts as in the key)
SCALE_DEGREES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10, 11)}

_KEY_RE = re.compile(r"^\s*([A-Ga-g])\s*([#b\-♯♭]*)\s*(major|minor|maj|min|m)?\s*$", re.IGNORECASE)


def tempo_bin(bpm: float) -> int:
    """Index of the tempo bin holding `bpm` (0 .. len(TEMPO_BIN_EDGES))."""
    return int(np.searchsorted(np.asarray(TEMPO_BIN_EDGES), bpm, side="right"))


def tempo_bin_center(index: int) -> float:
    """A representative BPM inside tempo bin `index`."""
    edges = (20.0, *TEMPO_BIN_EDGES, 240.0)
    return (edges[index] + edges[index + 1]) / 2


def parse_key(text: str) -> tuple[int, str]:
    """'F# major', 'Bb minor', 'e- minor', 'Dm', 'c' (lower case = minor) -> (pitch class, mode)."""
    m = _KEY_RE.match(text.replace("_", " "))
    if not m:
        raise ValueError(f"not a key: {text!r} (expected e.g. 'D minor' or 'Bb major')")
    letter, accidentals, mode = m.groups()
    pc = PITCH_CLASS_OF[letter.upper()]
    pc += accidentals.count("#") + accidentals.count("♯")
    pc -= accidentals.count("b") + accidentals.count("-") + accidentals.count("♭")
    if mode is None:
        mode = "minor" if letter.islower() else "major"
    mode = "minor" if mode.lower() in ("minor", "min", "m") and not mode == "M" else "major"
    return pc % 12, mode


def key_name(pitch_class: int, mode: str) -> str:
    """(pitch class, mode) -> canonical 'Eb major' / 'C# minor'."""
    tonics = MAJOR_TONICS if mode == "major" else MINOR_TONICS
    return f"{tonics[pitch_class % 12]} {mode}"


def normalize_key(text: str) -> str:
    """Any spelling of a key -> its canonical name ('E- minor' -> 'Eb minor')."""
    return key_name(*parse_key(text))


def transpose_key(text: str, semitones: int) -> str:
    """The canonical name of key `text` moved by `semitones`."""
    pc, mode = parse_key(text)
    return key_name(pc + semitones, mode)


def all_keys() -> list[str]:
    """The 24 canonical key names, majors first."""
    return [key_name(pc, mode) for mode in MODES for pc in range(12)]


def shift_tokens_in_range(ids: np.ndarray, lo: int, hi: int, offset: int) -> np.ndarray:
    """Add `offset` to every id in [lo, hi) (e.g. transpose the Pitch tokens of a REMI sequence)."""
    out = ids.copy()
    mask = (ids >= lo) & (ids < hi)
    out[mask] += offset
    return out


def allowed_shifts(ids: np.ndarray, lo: int, hi: int, max_shift: int) -> list[int]:
    """The offsets in [-max_shift, max_shift] that keep every id in [lo, hi) inside that range."""
    inside = ids[(ids >= lo) & (ids < hi)]
    if inside.size == 0:
        return [0]
    down, up = int(inside.min()) - lo, hi - 1 - int(inside.max())
    return list(range(-min(max_shift, down), min(max_shift, up) + 1))


def pitch_class_durations(ids: np.ndarray, pitch_of: np.ndarray, beats_of: np.ndarray) -> np.ndarray:
    """12-bin histogram of a REMI sequence's pitched notes, each weighted by its duration in beats.

    `pitch_of[id]` is the MIDI pitch of a Pitch id (-1 for any other id) and `beats_of[id]` the length of
    a Duration id; REMI writes each note as Pitch, Velocity, Duration, so a note's duration sits two ids on.
    """
    ids = np.asarray(ids, dtype=np.int64)
    at = np.flatnonzero(pitch_of[ids] >= 0)
    at = at[at + 2 < len(ids)]
    return np.bincount(pitch_of[ids[at]] % 12, weights=beats_of[ids[at + 2]], minlength=12).astype(np.float64)


MAX_VOICES = 16  # the most voices one can ask for: the grammar's cap on notes struck together
WRITTEN_VOICES = 4  # asked for fewer voices, the model writes this many (the texture of its chorales, motets and
#                     quartets) and the outer ones are kept: "a chorale for two voices" is its soprano and bass
HAND_SPAN = 16  # semitones one hand reaches on a keyboard: a major tenth, which large hands take
FINGERS = 5
KEYBOARDS = tuple(range(8))  # GM pianos, electric pianos, harpsichord, clavinet: one player, two hands
SUNG = (52, 53, 54)  # GM choir aahs, voice oohs, synth voice: parts a singer sings
SUNG_RANGE = (36, 84)  # C2-C6: what the choir parts of the training data span (36-82 over 600 chorales and motets;
#                        0.03% of their notes below E2)


def _rows_fit_two_hands(rows: np.ndarray, span: int) -> np.ndarray:
    """For each row of sorted distinct pitches (m, n): whether some split makes a lower and an upper hand of
    at most FINGERS notes, each within `span` semitones."""
    m, n = rows.shape
    if n > 2 * FINGERS:
        return np.zeros(m, dtype=bool)
    if n == 0:
        return np.ones(m, dtype=bool)
    fits = np.zeros(m, dtype=bool)
    for k in range(max(0, n - FINGERS), min(n, FINGERS) + 1):  # k notes to the lower hand
        low = rows[:, k - 1] - rows[:, 0] <= span if k else True
        high = rows[:, -1] - rows[:, k] <= span if k < n else True
        fits |= low & high
    return fits


def fits_two_hands(pitches, span: int = HAND_SPAN) -> bool:
    """Whether notes struck together on one keyboard can be played: split at some pitch into a lower and
    an upper hand, each of at most FINGERS notes within `span` semitones. Real classical piano almost
    always fits (29 of piano-midi.de's 296,205 onsets do not, at a tenth)."""
    return bool(_rows_fit_two_hands(np.array([sorted(set(pitches))], dtype=np.int64), span)[0])


def two_hand_additions(chord, candidates: np.ndarray, span: int = HAND_SPAN) -> np.ndarray:
    """For each candidate pitch: whether `chord` (distinct pitches struck together) plus it still fits two
    hands; a pitch already in the chord is no addition (False)."""
    chord = np.asarray(sorted(set(chord)), dtype=np.int64)
    candidates = np.asarray(candidates, dtype=np.int64)
    rows = np.sort(np.column_stack([np.broadcast_to(chord, (len(candidates), len(chord))), candidates]), axis=1)
    return _rows_fit_two_hands(rows, span) & ~np.isin(candidates, chord)
