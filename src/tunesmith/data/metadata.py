"""Piece metadata: the PieceMeta record, a musical content hash, key estimation and label normalisation.

Everything here works on `symusic.Score` objects (fast, numpy only) plus plain strings; the music21
side of loading lives in `load.py`.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import asdict, dataclass, field, fields
from functools import lru_cache
from typing import Any

import numpy as np
import symusic
from music21 import key as m21key
from music21 import pitch as m21pitch
from music21.analysis import discrete

from tunesmith.words import TITLE_GENRES

HASH_GRID = 12  # onsets and durations are rounded to 1/12 of a quarter note
DEFAULT_TEMPO = 120.0
DEFAULT_TIME_SIGNATURE = "4/4"


@dataclass
class PieceMeta:
    """Everything the dataset builder records about one piece."""

    source: str
    index: int
    collection: str
    composer: str | None
    title: str | None
    genre: str | None
    key: str | None
    key_source: str
    time_signatures: list[str]
    tempo: float
    programs: list[int]
    duration: float
    n_notes: int
    content_hash: str
    labels: dict[str, str] = field(default_factory=dict)
    bars_source: str = "file"  # where the bar lines come from: the file's time signatures, or a beat annotation

    @property
    def piece_id(self) -> str:
        """Stable unique id: the source and the index of the piece inside it."""
        return f"{self.source}#{self.index}"

    def to_dict(self) -> dict:
        """Plain JSON-ready dict (lists and dicts are copies)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "PieceMeta":
        """Inverse of to_dict; unknown keys (e.g. a stored piece_id) are ignored."""
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in d.items() if k in known}
        kwargs["time_signatures"] = list(kwargs.get("time_signatures", []))
        kwargs["programs"] = [int(p) for p in kwargs.get("programs", [])]
        kwargs["labels"] = {str(k): str(v) for k, v in dict(kwargs.get("labels") or {}).items()}
        return cls(**kwargs)


# ---------------------------------------------------------------------------------------------
# Note arrays
# ---------------------------------------------------------------------------------------------


def _note_arrays(score: symusic.Score, drums: bool | None = False,
                 dtype: type = np.int64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(onset, duration, pitch) arrays of all notes; drums=False: pitched only, True: drums only, None: all.

    Onsets and durations are cast to `dtype` (int64 for tick scores, float64 for seconds).
    """
    times, durs, pitches = [np.zeros(0, dtype)], [np.zeros(0, dtype)], [np.zeros(0, np.int64)]
    for track in score.tracks:
        if drums is not None and track.is_drum != drums:
            continue
        arr = track.notes.numpy()
        times.append(arr["time"].astype(dtype))
        durs.append(arr["duration"].astype(dtype))
        pitches.append(arr["pitch"].astype(np.int64))
    return np.concatenate(times), np.concatenate(durs), np.concatenate(pitches)


def _quantise(ticks: np.ndarray, tpq: int) -> np.ndarray:
    """Ticks → integer multiples of 1/HASH_GRID quarter note."""
    return np.rint(ticks.astype(np.float64) * HASH_GRID / tpq).astype(np.int64)


def _hash_rows(onsets: np.ndarray, pitches: np.ndarray, durs: np.ndarray) -> bytes:
    """Sorted multiset of (onset, pitch, duration) rows as bytes, onsets from the first note."""
    if onsets.size == 0:
        return b""
    rows = np.stack([onsets - onsets.min(), pitches, durs], axis=1)
    order = np.lexsort((rows[:, 2], rows[:, 1], rows[:, 0]))
    return rows[order].astype("<i8").tobytes()


def content_hash(score: symusic.Score) -> str:
    """Hash of the musical content, for de-duplication.

    Independent of tempo, instruments and track split, velocities, ticks-per-quarter, leading silence
    and transposition: pitched notes become (onset, pitch - lowest pitch, duration) with times in
    quarter notes on a 1/12 grid, counted as a sorted multiset. Drum notes, if any, are hashed
    separately with their absolute (instrument) pitches. Returns 16 hex characters of a sha1.
    """
    tpq = score.ticks_per_quarter
    t, d, p = _note_arrays(score, drums=False)
    dt, dd, dp = _note_arrays(score, drums=True)
    start = min([a.min() for a in (t, dt) if a.size] or [0])
    h = hashlib.sha1()
    if t.size:
        h.update(_hash_rows(_quantise(t - start, tpq), p - p.min(), _quantise(d, tpq)))
    if dt.size:
        h.update(b"|drums|")
        h.update(_hash_rows(_quantise(dt - start, tpq), dp, _quantise(dd, tpq)))
    return h.hexdigest()[:16]


# ---------------------------------------------------------------------------------------------
# Key estimation (Krumhansl-Schmuckler, same profiles and correlation as music21)
# ---------------------------------------------------------------------------------------------

MODES = ("major", "minor")
_MAJOR_LIKE_MODES = {"major", "ionian", "lydian", "mixolydian"}
_MINOR_LIKE_MODES = {"minor", "aeolian", "dorian", "phrygian", "locrian"}


@lru_cache(maxsize=1)
def _profiles() -> np.ndarray:
    """(2, 12, 12) rotated key profiles [mode][tonic][pitch class], read from music21."""
    analyzer = discrete.KrumhanslSchmuckler()
    out = np.zeros((2, 12, 12))
    for m, mode in enumerate(MODES):
        weights = np.asarray(analyzer.getWeights(mode), dtype=np.float64)
        for tonic in range(12):
            out[m, tonic] = np.roll(weights, tonic)
    return out


@lru_cache(maxsize=1)
def _estimated_key_names() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Key names per tonic pitch class, spelled as music21's analyzer spells them."""
    valid = {"major": discrete.KrumhanslSchmuckler.keysValidMajor,
             "minor": discrete.KrumhanslSchmuckler.keysValidMinor}
    names: list[tuple[str, ...]] = []
    for mode in MODES:
        row = []
        for pc in range(12):
            p = m21pitch.Pitch(pc)
            if p.name not in valid[mode]:
                p = p.getEnharmonic()
            row.append(format_key(p.name, mode))
        names.append(tuple(row))
    return names[0], names[1]


def format_key(tonic: str, mode: str) -> str:
    """Tonic (music21 spelling, e.g. "B-") and mode → "Bb major" / "F# minor".

    Church modes map to the major or minor key on the same tonic (D mixolydian → "D major",
    A dorian → "A minor"). Raises ValueError for an unknown mode.
    """
    mode = (mode or "major").lower()
    if mode in _MAJOR_LIKE_MODES:
        quality = "major"
    elif mode in _MINOR_LIKE_MODES:
        quality = "minor"
    else:
        raise ValueError(f"unknown mode {mode!r}")
    name = tonic[:1].upper() + tonic[1:].replace("-", "b")
    return f"{name} {quality}"


def keys_for_signature(fifths: int) -> tuple[str, str]:
    """The major and the minor key that a key signature of `fifths` (-7..7, sharps > 0) allows."""
    ks = m21key.KeySignature(int(fifths))
    return (format_key(ks.asKey("major").tonic.name, "major"),
            format_key(ks.asKey("minor").tonic.name, "minor"))


def key_correlations(histogram: np.ndarray) -> np.ndarray:
    """Pearson correlation of a 12-bin pitch-class histogram with each key profile: shape (2, 12)."""
    h = np.asarray(histogram, dtype=np.float64).reshape(12)
    prof = _profiles()
    hc = h - h.mean()
    pc = prof - prof.mean(axis=2, keepdims=True)
    denom = np.sqrt((pc ** 2).sum(axis=2) * (hc ** 2).sum())
    num = (pc * hc).sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.where(denom > 0, num / np.where(denom > 0, denom, 1.0), 0.0)
    return corr


def estimate_key_from_histogram(histogram: np.ndarray, fifths: int | None = None) -> str:
    """Best key for a 12-bin duration-weighted pitch-class histogram (C=0).

    With `fifths` (a key signature), only its major and minor key are candidates and the result is
    spelled as the signature spells it. An empty histogram gives "C major" (or the signature's major).
    """
    corr = key_correlations(histogram)
    if fifths is not None:
        major, minor = keys_for_signature(fifths)
        tonic = (7 * int(fifths)) % 12
        return minor if corr[1, (tonic + 9) % 12] > corr[0, tonic] else major
    mode, tonic = np.unravel_index(int(np.argmax(corr)), corr.shape)
    return _estimated_key_names()[int(mode)][int(tonic)]


def signature_fit(histogram: np.ndarray, fifths: int) -> float:
    """How far (in correlation) the best key of a signature falls short of the best key overall (>= 0)."""
    corr = key_correlations(histogram)
    tonic = (7 * int(fifths)) % 12
    best_in_sig = max(corr[0, tonic], corr[1, (tonic + 9) % 12])
    return float(corr.max() - best_in_sig)


def pitch_class_histogram(score: symusic.Score) -> np.ndarray:
    """Duration-weighted (in quarter notes) pitch-class histogram of the non-drum notes."""
    _, durs, pitches = _note_arrays(score, drums=False)
    hist = np.bincount(pitches % 12, weights=durs.astype(np.float64), minlength=12)
    return hist / max(score.ticks_per_quarter, 1)


def estimate_key(score: symusic.Score, fifths: int | None = None) -> str:
    """Krumhansl-Schmuckler key of a score ("C major" style); `fifths` restricts it to a key signature."""
    return estimate_key_from_histogram(pitch_class_histogram(score), fifths)


# ---------------------------------------------------------------------------------------------
# Measurements taken from a symusic score
# ---------------------------------------------------------------------------------------------


def time_signature_list(score: symusic.Score) -> list[str]:
    """Distinct time signatures in order of appearance; ["4/4"] when there are none."""
    out: list[str] = []
    for ts in sorted(score.time_signatures, key=lambda ts: ts.time):
        text = f"{ts.numerator}/{ts.denominator}"
        if text not in out:
            out.append(text)
    return out or [DEFAULT_TIME_SIGNATURE]


def initial_tempo(score: symusic.Score) -> float:
    """Tempo in quarter-note BPM at the start (the earliest tempo event), 120 when there is none."""
    if len(score.tempos) == 0:
        return DEFAULT_TEMPO
    first = min(score.tempos, key=lambda t: t.time)
    return round(float(first.qpm), 3)


def program_list(score: symusic.Score) -> list[int]:
    """Sorted distinct GM programs of tracks that have notes; -1 stands for drums."""
    progs = {-1 if t.is_drum else int(t.program) for t in score.tracks if len(t.notes) > 0}
    return sorted(progs)


def count_notes(score: symusic.Score) -> int:
    """Number of notes in all tracks, drums included."""
    return int(sum(len(t.notes) for t in score.tracks))


def duration_seconds(score: symusic.Score) -> float:
    """Seconds from the first note onset to the last note end (trailing events are ignored)."""
    if count_notes(score) == 0:
        return 0.0
    t, d, _ = _note_arrays(score.to("second"), drums=None, dtype=np.float64)
    return round(float((t + d).max() - t.min()), 3)


# ---------------------------------------------------------------------------------------------
# Label normalisation
# ---------------------------------------------------------------------------------------------

_COMPOSER_ALIASES = {
    "js bach": "bach", "j s bach": "bach", "johann sebastian bach": "bach", "bach johann sebastian": "bach",
    "cpe bach": "cpebach", "c p e bach": "cpebach", "carl philipp emanuel bach": "cpebach",
    "josquin des prez": "josquin", "josquin des pres": "josquin", "josquin": "josquin",
    "trad": "trad", "traditional": "trad", "anon": "anonymous", "anonymous": "anonymous",
    "robert schumann": "schumann", "clara schumann": "schumann_clara",
    "palestrina": "palestrina", "giovanni pierluigi da palestrina": "palestrina",
    "jacopo da bologna": "jacopo", "giovanni da cascia": "giovanni",
}


def _ascii_words(text: str) -> list[str]:
    """Lowercase ASCII words of a text (accents and apostrophes removed; hyphenated words kept whole)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)*", plain.replace("'", ""))


def normalize_composer(name: str | None) -> str | None:
    """A composer name as a lowercase slug: "J.S. Bach" → "bach", "Chopin, Frederic" → "chopin".

    Known aliases first, then "Last, First" → last name, else the last word. Only the first line
    and text outside parentheses count ("Mrs. H.H.A. Beach (Amy Beach)\\nOp. 75" → "beach"); library
    sigla and shelf marks are dropped ("Gherardello F-Pn 568" → "gherardello").
    """
    if not name or not name.strip():
        return None
    text = re.sub(r"\([^)]*\)", " ", name.strip().splitlines()[0])
    text = re.sub(r"\b[A-Z]{1,3}-[A-Za-z]+\b|\S*\d\S*", " ", text)  # RISM sigla (I-Rvat), numbers
    words = _ascii_words(text)
    if not words:
        return None
    joined = " ".join(words)
    if joined in _COMPOSER_ALIASES:
        return _COMPOSER_ALIASES[joined]
    if words[0].startswith("anon") or words[0] in ("trad", "traditional"):
        return "anonymous" if words[0].startswith("anon") else "trad"
    if "," in text:
        last = _ascii_words(text.split(",")[0])
        if last:
            return last[-1]
    return words[-1]


def normalize_genre(text: str | None) -> str | None:
    """Lowercase, tidy genre label ("Reel" → "reel", "slipjig" → "slip jig"); None for blanks and "???"."""
    if not text:
        return None
    g = text.strip().strip("[]").strip().lower()
    g = re.sub(r"\s*-\s*", "-", g)
    g = re.sub(r"\s+", " ", g).strip(" .,;:")
    g = {"slipjig": "slip jig", "slip-jig": "slip jig"}.get(g, g)
    if not re.search(r"[a-z]", g):
        return None
    return g


def genre_from_title(title: str | None) -> str | None:
    """Dance or form named in a title ("Larry Grogan's -- Jig" → "jig"), else None."""
    if not title:
        return None
    words = " ".join(_ascii_words(title))
    for phrase, genre in TITLE_GENRES:
        if re.search(rf"\b{phrase}s?\b", words):
            return genre
    return None


# What is known about the collections of the music21 corpus.
FOLK_COLLECTIONS = {"essenFolksong", "ryansMammoth", "oneills1850", "airdsAirs", "nottingham-dataset", "miscFolk"}

COLLECTION_COMPOSERS: dict[str, str] = {
    **{c: "trad" for c in FOLK_COLLECTIONS},
    "bach": "bach", "palestrina": "palestrina", "monteverdi": "monteverdi", "beethoven": "beethoven",
    "mozart": "mozart", "haydn": "haydn", "josquin": "josquin", "schumann_robert": "schumann",
    "schumann_clara": "schumann_clara", "beach": "beach", "chopin": "chopin", "ciconia": "ciconia",
    "corelli": "corelli", "cpebach": "cpebach", "handel": "handel", "johnson_j_r": "johnson",
    "joplin": "joplin", "liliuokalani": "liliuokalani", "luca": "luca", "lusitano": "lusitano",
    "schoenberg": "schoenberg", "schubert": "schubert", "verdi": "verdi", "weber": "weber",
    "webern": "webern",
}

COLLECTION_GENRES: dict[str, str] = {
    "bach": "chorale", "palestrina": "mass", "monteverdi": "madrigal", "essenFolksong": "folk song",
    "ryansMammoth": "folk tune", "oneills1850": "folk tune", "airdsAirs": "folk tune",
    "nottingham-dataset": "folk tune", "miscFolk": "folk tune",
}

# Collections whose ABC `R:` field describes a song's subject or function (Essen: German multi-label
# tags such as "ballade, liebe, tod"), not a dance form: their genre is the collection's.
R_FIELD_NOT_A_FORM = {"essenFolksong"}

# Collections of vocal music: parts without a specific instrument are voices there.
VOCAL_COLLECTIONS = {"bach", "palestrina", "monteverdi", "trecento", "josquin", "ciconia", "luca", "lusitano"}


# ---------------------------------------------------------------------------------------------
# Keys stated by music21 scores and kern files
# ---------------------------------------------------------------------------------------------

_KERN_KEY = re.compile(r"\*([A-Ga-g])([#-]*):(ion|dor|phr|lyd|mix|aeo|loc)?")
_KERN_MODES = {"ion": "ionian", "dor": "dorian", "phr": "phrygian", "lyd": "lydian",
               "mix": "mixolydian", "aeo": "aeolian", "loc": "locrian"}


@dataclass
class KeyInfo:
    """What a file says about its key: a full key ("D minor"), only a signature (fifths), or nothing."""

    annotated: str | None = None
    fifths: int | None = None


def music21_key_info(score: Any) -> KeyInfo:
    """The first key statement of a music21 stream: a Key (tonic and mode) or a bare KeySignature."""
    first_group: list[m21key.KeySignature] = []
    for ks in score.recurse().getElementsByClass(m21key.KeySignature):
        if first_group and (ks.activeSite is not first_group[0].activeSite or ks.offset != first_group[0].offset):
            break
        first_group.append(ks)
    if not first_group:
        return KeyInfo()
    for ks in first_group:
        if isinstance(ks, m21key.Key):
            try:
                return KeyInfo(annotated=format_key(ks.tonic.name, ks.mode), fifths=ks.sharps)
            except ValueError:
                pass
    return KeyInfo(fifths=first_group[0].sharps)


def kern_key(text: str) -> KeyInfo | None:
    """The first key interpretation of a kern file (*c#:, *A:aeo) as a full key, else None.

    music21 reads *c#: itself but ignores modal ones such as *A:aeo (A aeolian → "A minor").
    """
    for line in text.splitlines():
        if not line.startswith("*") or line.startswith("**"):
            continue
        for token in line.split("\t"):
            m = _KERN_KEY.fullmatch(token.strip())
            if m:
                letter, accidentals, mode = m.groups()
                mode_name = _KERN_MODES[mode] if mode else ("major" if letter.isupper() else "minor")
                return KeyInfo(annotated=format_key(letter.upper() + accidentals, mode_name))
    return None


def choose_key(score: symusic.Score, info: KeyInfo) -> tuple[str, str]:
    """(key, key_source): the annotated key, else an estimate among the signature's two keys, else an estimate."""
    if info.annotated:
        return info.annotated, "annotated"
    fifths = info.fifths if info.fifths is not None and -7 <= info.fifths <= 7 else None
    return estimate_key(score, fifths), "estimated"
