"""Novelty and memorization: the longest passage a sample shares with any training piece, and validity.

A piece becomes a string of symbols, one per step between consecutive notes (all pitched tracks
merged, notes sorted by onset then pitch): (pitch interval, inter-onset interval on a 1/48-quarter
grid). The string ignores transposition, instruments, velocities and tempo; it keeps the texture and
the rhythm. A passage of k notes is k - 1 symbols.

The index hashes every n-gram of symbols (default n = 8, so passages of 9 notes and more are found) of
every training piece into one sorted array. A sample's n-grams are looked up with a binary search; the
hits, as (sample position, corpus position) pairs, lie on diagonals, and the longest run of consecutive
hits on one diagonal is the longest shared passage. Time and memory grow with the corpus size
(one sort), not with samples x pieces; no pair of pieces is ever compared directly.

Training pieces are read straight from the dataset's REMI ids (`remi_notes`, vectorised, checked
against MidiTok's decoder in the tests), so indexing the whole corpus takes seconds.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
import symusic

from tunesmith.adherence import STUCK_BARS, keyboard_chords, longest_stuck_run
from tunesmith.constraints import POSITIONS_PER_BEAT
from tunesmith.errors import BadInputError
from tunesmith.evaluate.features import Sample, bar_quarters, note_arrays
from tunesmith.fileio import atomic_path
from tunesmith.ops import fits_two_hands
from tunesmith.tokenizer import Tokenizer

NGRAM = 8  # symbols per indexed n-gram: passages of NGRAM + 1 notes and longer are found
GRID = 48  # onset grid, steps per quarter note (holds 16ths, 32nds in x/8, and triplets)
MAX_IOI = 1023  # grid steps; longer gaps are one symbol
MAX_OCCURRENCES = 20_000  # hits kept per n-gram (only n-grams more common than this are cut)
COPY_BARS = 4.0  # a sample "copies" when it shares a passage this long with a training piece
_BASE = np.uint64(0x9E3779B97F4A7C15)  # odd multiplier of the polynomial hash (mod 2**64)


# ---- notes -> symbols ---------------------------------------------------------------------------

def symbols_of(onset: np.ndarray, pitch: np.ndarray) -> np.ndarray:
    """Symbols between consecutive notes (sorted by onset, pitch): interval and inter-onset interval."""
    steps = np.round(np.asarray(onset, dtype=np.float64) * GRID).astype(np.int64)
    pitch = np.asarray(pitch, dtype=np.int64)
    order = np.lexsort((pitch, steps))
    steps, pitch = steps[order], pitch[order]
    interval = np.diff(pitch) + 128
    ioi = np.minimum(np.diff(steps), MAX_IOI)
    return interval * (MAX_IOI + 1) + ioi


def score_symbols(score: symusic.Score) -> np.ndarray:
    notes = note_arrays(score)
    return symbols_of(notes.onset, notes.pitch)


class RemiReader:
    """Note onsets (quarter notes) and pitches straight from REMI ids, without building a Score."""

    def __init__(self, tok: Tokenizer):
        names = ("Bar", "TimeSig", "Position", "Pitch")
        self.code = np.array([names.index(t) if t in names else -1 for t in tok.type_of], dtype=np.int8)
        self.value = np.zeros(len(tok.type_of))
        self.beat = np.zeros(len(tok.type_of))  # quarter notes per time-signature beat (TimeSig ids)
        for i, t in enumerate(tok.type_of):
            if t in ("Position", "Pitch"):
                self.value[i] = int(tok.value_of(i))
            elif t == "TimeSig":
                num, den = (int(x) for x in tok.value_of(i).split("/"))
                self.value[i], self.beat[i] = num, 4.0 / den

    def notes(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(onset in quarter notes, pitch) of every pitched note in a music-id sequence."""
        ids = np.asarray(ids, dtype=np.int64)
        ids = ids[ids < len(self.code)]
        code, value = self.code[ids], self.value[ids]
        idx = np.arange(len(ids))
        bar = np.cumsum(code == 0) - 1
        is_sig = code == 1
        last_sig = np.maximum.accumulate(np.where(is_sig, idx, -1))
        beat = np.where(last_sig >= 0, self.beat[ids[np.maximum(last_sig, 0)]], 1.0)
        num = np.where(last_sig >= 0, value[np.maximum(last_sig, 0)], 4.0)
        n_bars = int(bar.max()) + 1 if len(bar) else 0
        if n_bars == 0:
            return np.zeros(0), np.zeros(0, dtype=np.int64)
        bar_len = np.zeros(n_bars)
        in_bar = bar >= 0
        bar_len[bar[in_bar]] = (num * beat)[in_bar]  # the last value within each bar wins
        bar_start = np.concatenate([[0.0], np.cumsum(bar_len)[:-1]])
        bar_first = np.where(code == 0, idx, -1)
        last_pos = np.maximum.accumulate(np.where(code == 2, idx, -1))
        pos = np.where(last_pos > np.maximum.accumulate(bar_first), value[np.maximum(last_pos, 0)], 0.0)
        onset = bar_start[np.maximum(bar, 0)] + pos * beat / POSITIONS_PER_BEAT
        pitched = (code == 3) & in_bar
        return onset[pitched], value[pitched].astype(np.int64)


# ---- the index ----------------------------------------------------------------------------------

def gram_hashes(symbols: np.ndarray, n: int) -> np.ndarray:
    """Polynomial hash (mod 2**64) of every n-gram of a symbol string."""
    m = len(symbols) - n + 1
    if m <= 0:
        return np.zeros(0, dtype=np.uint64)
    s = np.asarray(symbols).astype(np.uint64)
    h = np.zeros(m, dtype=np.uint64)
    for t in range(n):
        h = h * _BASE + s[t: t + m]
    return h


@dataclass
class Match:
    """The longest passage a sample shares with the training corpus."""

    notes: int  # its length in notes (0: none of NGRAM + 1 notes or more)
    sample_note: int = -1  # index of its first note in the sample (notes sorted by onset, pitch)
    piece: str | None = None  # the training piece it appears in
    piece_note: int = -1  # index of its first note there
    bars: float = 0.0  # its length in the sample's bars


class NgramIndex:
    """Every n-gram of symbols of a corpus, sorted by hash, with where it occurs."""

    def __init__(self, symbols: np.ndarray, offsets: np.ndarray, names: list[str], n: int = NGRAM):
        self.symbols, self.offsets, self.names, self.n = symbols, offsets, names, n
        hashes, positions = [], []
        for k in range(len(names)):
            a, b = int(offsets[k]), int(offsets[k + 1])
            hashes.append(gram_hashes(symbols[a:b], n))
            positions.append(np.arange(a, a + len(hashes[-1]), dtype=np.int64))
        h = np.concatenate(hashes) if hashes else np.zeros(0, dtype=np.uint64)
        p = np.concatenate(positions) if positions else np.zeros(0, dtype=np.int64)
        order = np.argsort(h, kind="stable")
        self.hashes, self.positions = h[order], p[order]

    @classmethod
    def from_pieces(cls, pieces: Iterable[tuple[str, np.ndarray]], n: int = NGRAM) -> "NgramIndex":
        """An index of (name, symbols) pairs."""
        names, parts = [], []
        for name, sym in pieces:
            names.append(name)
            parts.append(np.asarray(sym, dtype=np.int64))
        offsets = np.concatenate([[0], np.cumsum([len(p) for p in parts])]).astype(np.int64)
        symbols = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        return cls(symbols, offsets, names, n)

    def __len__(self) -> int:
        return len(self.hashes)

    def _hits(self, symbols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(sample position, corpus position) of every n-gram the sample shares with the corpus."""
        q = gram_hashes(symbols, self.n)
        lo = np.searchsorted(self.hashes, q, "left")
        counts = np.minimum(np.searchsorted(self.hashes, q, "right") - lo, MAX_OCCURRENCES)
        total = int(counts.sum())
        first = np.cumsum(counts) - counts
        flat = np.arange(total) - np.repeat(first, counts) + np.repeat(lo, counts)
        return np.repeat(np.arange(len(q)), counts), self.positions[flat]

    def longest_match(self, symbols: np.ndarray) -> Match:
        """The longest run of the sample's symbols found, in order, in one training piece."""
        i, j = self._hits(np.asarray(symbols, dtype=np.int64))
        if not len(i):
            return Match(0)
        d = j - i
        order = np.lexsort((i, d))
        d, i, j = d[order], i[order], j[order]
        new_run = np.ones(len(d), dtype=bool)
        new_run[1:] = (d[1:] != d[:-1]) | (i[1:] != i[:-1] + 1)
        run_start = np.flatnonzero(new_run)
        run_len = np.diff(np.append(run_start, len(d)))
        for r in np.argsort(-run_len, kind="stable"):  # the longest run whose symbols really match
            s0, c0, length = int(i[run_start[r]]), int(j[run_start[r]]), int(run_len[r]) + self.n - 1
            if np.array_equal(symbols[s0: s0 + length], self.symbols[c0: c0 + length]):
                piece = int(np.searchsorted(self.offsets, c0, "right") - 1)
                return Match(length + 1, s0, self.names[piece], c0 - int(self.offsets[piece]))
        return Match(0)

    # ---- persistence -------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """The symbols and piece list as .npz (no pickle); the hash table is rebuilt on load."""
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez_compressed(f, symbols=self.symbols, offsets=self.offsets,
                                    names=np.array(json.dumps(self.names)), n=np.array(self.n))

    @classmethod
    def load(cls, path: str | Path) -> "NgramIndex":
        try:
            with np.load(path, allow_pickle=False) as z:
                return cls(z["symbols"], z["offsets"], json.loads(str(z["names"])), int(z["n"]))
        except (OSError, KeyError, ValueError) as e:
            raise BadInputError(path, f"not a tunesmith n-gram index ({e})") from e


def piece_name(meta: dict) -> str:
    return str(meta.get("title") or meta.get("source") or meta.get("content_hash") or "piece")


def index_dataset(folder: str | Path, split: str = "train", n: int = NGRAM) -> NgramIndex:
    """The n-gram index of one split of a dataset folder, read from its REMI ids."""
    from tunesmith.data.dataset import Dataset

    data = Dataset(folder)
    reader = RemiReader(data.tokenizer())
    return NgramIndex.from_pieces(((piece_name(p.meta), symbols_of(*reader.notes(p.ids)))
                                   for p in data.pieces(split)), n)


def sample_match(index: NgramIndex, score: symusic.Score) -> Match:
    """The sample's longest shared passage, with its length in the sample's bars."""
    notes = note_arrays(score)
    match = index.longest_match(symbols_of(notes.onset, notes.pitch))
    if match.notes:
        span = slice(match.sample_note, match.sample_note + match.notes)
        quarters = float((notes.onset[span] + notes.duration[span]).max() - notes.onset[match.sample_note])
        match.bars = round(quarters / bar_quarters(score), 2)
    return match


def novelty_summary(matches: list[Match], copy_bars: float = COPY_BARS, n: int = NGRAM) -> dict:
    lengths = np.array([m.notes for m in matches], dtype=float)
    return {
        "samples": len(matches),
        "min_detectable_notes": n + 1,
        "median_longest_notes": float(np.median(lengths)) if len(lengths) else math.nan,
        "max_longest_notes": float(lengths.max()) if len(lengths) else math.nan,
        "copy_bars": copy_bars,
        "share_copying": float(np.mean([m.bars >= copy_bars for m in matches])) if matches else math.nan,
        "per_sample": [asdict(m) for m in matches],
    }


# ---- validity -----------------------------------------------------------------------------------

@dataclass
class Validity:
    decodes: bool
    non_empty: bool = False
    bars_ok: bool = False
    problem: str | None = None  # the first thing wrong, when any
    stuck_bars: int = 0  # the longest run of bars stuck in a loop (adherence.longest_stuck_run): music, but a flaw
    keyboard_onsets: int = 0  # onsets of keyboard tracks...
    unplayable: int = 0  # ...and those no two hands can strike (ops.fits_two_hands)

    @property
    def valid(self) -> bool:
        return self.decodes and self.non_empty and self.bars_ok


def bar_lines(score: symusic.Score, end: float) -> np.ndarray:
    """Bar-line positions (quarter notes) from 0 up to `end`, following every time signature."""
    sigs = [(float(t.time), t.numerator * 4.0 / t.denominator) for t in score.to("quarter").time_signatures]
    if not sigs or sigs[0][0] > 0:
        sigs.insert(0, (0.0, 4.0))
    lines, t = [], 0.0
    for k, (start, length) in enumerate(sigs):
        stop = sigs[k + 1][0] if k + 1 < len(sigs) else end
        t = max(t, start)
        while t < stop - 1e-9 and length > 0:
            lines.append(t)
            t += length
    return np.array(lines + [t])


def bar_problem(score: symusic.Score) -> str | None:
    """Why the bars are not well formed, or None: time signatures, the onset grid, empty inner bars."""
    for ts in score.time_signatures:
        if not 1 <= ts.numerator <= 32 or ts.denominator not in (1, 2, 4, 8, 16, 32):
            return f"bad time signature {ts.numerator}/{ts.denominator}"
    notes = note_arrays(score)
    off_grid = np.abs(notes.onset * GRID - np.round(notes.onset * GRID)) > 0.05
    if off_grid.any():
        return f"{int(off_grid.sum())} onsets off the 1/{GRID}-quarter grid"
    end = float((notes.onset + notes.duration).max())
    lines = bar_lines(score, end)
    first = np.searchsorted(lines, notes.onset, "right") - 1
    last = np.searchsorted(lines, notes.onset + np.maximum(notes.duration, 1e-6), "left") - 1
    cover = np.zeros(len(lines) + 1, dtype=np.int64)
    np.add.at(cover, first, 1)
    np.add.at(cover, np.maximum(last, first) + 1, -1)
    sounding = np.cumsum(cover)[first.min(): last.max() + 1]
    if (sounding == 0).any():
        return f"{int((sounding == 0).sum())} empty bars inside the piece"
    return None


def check_validity(sample: Sample) -> Validity:
    """Decodes (a readable file / token sequence), holds pitched notes, and has well-formed bars."""
    if sample.score is None:
        return Validity(False, problem=sample.error or "does not decode")
    if not len(note_arrays(sample.score).onset):
        return Validity(True, False, False, "no pitched notes")
    problem = bar_problem(sample.score)
    chords = keyboard_chords(sample.score)
    return Validity(True, True, problem is None, problem, longest_stuck_run(sample.score), len(chords),
                    sum(not fits_two_hands(c) for c in chords))


def validity_summary(checks: list[Validity]) -> dict:
    n = max(1, len(checks))
    return {
        "samples": len(checks),
        "decodes": sum(c.decodes for c in checks) / n,
        "non_empty": sum(c.non_empty for c in checks) / n,
        "bars_ok": sum(c.bars_ok for c in checks) / n,
        "valid": sum(c.valid for c in checks) / n,
        "stuck": sum(c.stuck_bars >= STUCK_BARS for c in checks) / n,  # a share of the pieces, like the others
        "unplayable": sum(c.unplayable for c in checks) / max(1, sum(c.keyboard_onsets for c in checks)),  # of onsets
        "problems": sorted({c.problem for c in checks if c.problem}),
    }
