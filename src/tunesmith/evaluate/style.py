"""A style classifier (collection, composer or genre) trained on excerpts of real pieces, to score style adherence.

Deliberately simple and honest: multinomial logistic regression (L2, L-BFGS, classes weighted equally)
on standardised statistics of a 16-bar excerpt, the length of the samples it judges
(benchmarks/style_samples.py): pitch-class histograms (absolute, and relative to the excerpt's
Krumhansl-Schmuckler tonic, with its mode), melodic intervals of the top line and of the bass,
durations, notes per onset, onset positions within the beat, register of the outer voices, pitch
spread, note density, inter-onset interval, velocity, tempo and tracks.

It is trained on excerpts of the training split (at most `per_class` pieces per label, at most
EXCERPTS_PER_PIECE excerpts spread over each). Its ceiling is measured two ways on real music it did
not train on: excerpts of the validation split's pieces (where that split has MIN_HELDOUT of them),
and, per label, excerpts of training pieces classified by a classifier fitted without their piece
(grouped CROSSVAL_FOLDS-fold cross-validation: a composer with 3 validation pieces still gets a
ceiling from its 20 training pieces). A piece longer than an excerpt is classified by the mean
log-probability of its excerpts. Then: of the samples that asked for label X, the share classified as X.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import symusic
from scipy.optimize import minimize
from scipy.special import logsumexp
from tqdm import tqdm

from tunesmith.evaluate.features import (INTERVAL_BINS, Sample, bar_quarters, duration_hist, mean_ioi, note_arrays,
                                         note_density, pitch_interval_hist)

STYLE_FIELDS = ("composer", "collection", "genre")
MIN_PIECES = 8  # a label needs this many training pieces to be a class
MIN_HELDOUT = 10  # fewer held-out pieces than this in the validation split -> hold out training pieces
EXCERPT_BARS = 16  # the length of the samples it judges (benchmarks/style_samples.py --bars)
EXCERPTS_PER_PIECE = 6  # spread evenly over a longer piece
MIN_NOTES = 8  # an excerpt with fewer pitched notes says too little to classify
CROSSVAL_FOLDS = 5
CHORD_SIZES = 6  # notes per onset: 1 .. 6 or more
BEAT_STEPS = 12  # onset positions within the beat, in twelfths (sixteenths and triplets)


def excerpts(score: symusic.Score, bars: int = EXCERPT_BARS, most: int = EXCERPTS_PER_PIECE) -> list[symusic.Score]:
    """Up to `most` consecutive-bar excerpts of `bars` bars (of the first meter), spread evenly over the
    piece, each starting at time 0; a piece shorter than two excerpts (a 16-bar sample with its last
    notes ringing on) is its own excerpt."""
    span = int(round(bars * bar_quarters(score) * score.ticks_per_quarter))
    count = max(1, score.end() // span)
    if count == 1:
        return [score]
    picks = sorted(set(np.linspace(0, count - 1, min(most, count)).round().astype(int).tolist()))
    return [score.clip(k * span, (k + 1) * span, clip_end=False).shift_time(-k * span) for k in picks]


def _velocities(score: symusic.Score) -> np.ndarray:
    parts = [t.notes.numpy()["velocity"] for t in score.tracks if not t.is_drum and t.note_num()]
    return np.concatenate(parts).astype(float) if parts else np.zeros(1)


def style_vector(score: symusic.Score) -> np.ndarray | None:
    """The classifier's input for one excerpt (None when it has fewer than MIN_NOTES pitched notes)."""
    from tunesmith.data.metadata import key_correlations

    notes = note_arrays(score)
    if len(notes.onset) < MIN_NOTES:
        return None
    pc = np.bincount(notes.pitch % 12, weights=notes.duration.clip(0.05, 4.0), minlength=12)
    pc = pc / pc.sum()
    corr = key_correlations(pc)  # (mode, tonic)
    mode, tonic = np.unravel_index(int(corr.argmax()), corr.shape)
    onsets, first = np.unique(np.round(notes.onset, 6), return_index=True)
    low = notes.pitch[first]  # notes are sorted by onset, then pitch: the first of each onset is the lowest
    high = notes.pitch[np.append(first[1:], len(notes.pitch)) - 1]
    per_onset = np.diff(np.append(first, len(notes.pitch)))
    chords = np.bincount(np.clip(per_onset, 1, CHORD_SIZES) - 1, minlength=CHORD_SIZES) / len(onsets)
    beat_pos = np.bincount(np.round((onsets % 1.0) * BEAT_STEPS).astype(int) % BEAT_STEPS, minlength=BEAT_STEPS)
    bass = np.clip(np.diff(low), INTERVAL_BINS[0], INTERVAL_BINS[-1]) - INTERVAL_BINS[0]
    bass_hist = np.bincount(bass, minlength=len(INTERVAL_BINS)) / max(1, len(bass))
    velocity = _velocities(score)
    qpm = float(score.tempos[0].qpm) if len(score.tempos) else 120.0
    stats = [notes.pitch.mean() / 12, notes.pitch.std() / 12, np.ptp(notes.pitch) / 12,
             np.log1p(note_density(notes)), np.log1p(mean_ioi(notes)), per_onset.mean(), len(np.unique(notes.track)),
             float(mode), low.mean() / 12, high.mean() / 12, (high - low).mean() / 12, math.log(max(qpm, 1.0) / 120),
             velocity.mean() / 127, velocity.std() / 127]
    parts = [pc, np.roll(pc, -int(tonic)), pitch_interval_hist(notes), bass_hist, duration_hist(notes), chords,
             beat_pos / len(onsets), np.array(stats, dtype=float)]
    return np.nan_to_num(np.concatenate(parts), nan=0.0, posinf=0.0, neginf=0.0)


def excerpt_vectors(score: symusic.Score | None) -> np.ndarray:
    """(excerpts, features) for a piece: one row per excerpt with enough notes (none: shape (0, 0))."""
    if score is None:
        return np.zeros((0, 0))
    rows = [v for v in (style_vector(x) for x in excerpts(score)) if v is not None]
    return np.vstack(rows) if rows else np.zeros((0, 0))


@dataclass
class StyleClassifier:
    field: str
    classes: list[str]
    mean: np.ndarray
    std: np.ndarray
    weights: np.ndarray  # (features + 1, classes), last row the bias

    def _logits(self, x: np.ndarray) -> np.ndarray:
        z = (x - self.mean) / self.std
        return z @ self.weights[:-1] + self.weights[-1]

    def predict(self, x: np.ndarray) -> list[str]:
        """One label per row (excerpt)."""
        return [self.classes[k] for k in self._logits(np.atleast_2d(x)).argmax(axis=1)]

    def predict_piece(self, rows: np.ndarray) -> str:
        """One label for a piece from its excerpts' rows: the highest mean log-probability."""
        logits = self._logits(np.atleast_2d(rows))
        logp = logits - logsumexp(logits, axis=1, keepdims=True)
        return self.classes[int(logp.mean(axis=0).argmax())]


def fit_classifier(x: np.ndarray, labels: list[str], field: str, l2: float = 1e-2) -> StyleClassifier:
    """Multinomial logistic regression on standardised features, every class weighing the same in the loss."""
    classes = sorted(set(labels))
    y = np.array([classes.index(v) for v in labels])
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6
    z = np.hstack([(x - mean) / std, np.ones((len(x), 1))])
    k = len(classes)
    onehot = np.eye(k)[y]
    row_weight = (len(y) / (k * np.bincount(y, minlength=k)))[y] / len(y)  # sums to 1

    def loss(w_flat: np.ndarray) -> tuple[float, np.ndarray]:
        w = w_flat.reshape(z.shape[1], k)
        logits = z @ w
        logp = logits - logsumexp(logits, axis=1, keepdims=True)
        grad = z.T @ ((np.exp(logp) - onehot) * row_weight[:, None])
        grad[:-1] += l2 * w[:-1]
        return float(-(onehot * logp).sum(axis=1) @ row_weight + 0.5 * l2 * (w[:-1] ** 2).sum()), grad.ravel()

    res = minimize(loss, np.zeros(z.shape[1] * k), jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return StyleClassifier(field, classes, mean, std, res.x.reshape(z.shape[1], k))


@dataclass
class Excerpts:
    """Excerpt rows of a set of pieces: features, each row's label and the piece it came from."""

    x: np.ndarray
    labels: list[str]
    piece: np.ndarray  # index of the row's piece

    def rows_of(self, keep: np.ndarray) -> "Excerpts":
        return Excerpts(self.x[keep], [self.labels[i] for i in np.flatnonzero(keep)], self.piece[keep])


def excerpt_set(samples: list[Sample], field: str, progress: bool = False, desc: str = "excerpts") -> Excerpts:
    """The excerpt rows of every sample that carries `field`, labelled with its value (row `piece` =
    the sample's index in `samples`)."""
    rows, labels, piece = [], [], []
    for k, s in enumerate(tqdm(samples, desc=desc, disable=not progress, leave=False)):
        if not s.meta.get(field):
            continue
        x = excerpt_vectors(s.score)
        rows += list(x)
        labels += [str(s.meta[field])] * len(x)
        piece += [k] * len(x)
    return Excerpts(np.vstack(rows) if rows else np.zeros((0, 0)), labels, np.array(piece, dtype=int))


def _per_class_cap(pieces: list, field: str, per_class: int, seed: int) -> list:
    rng = random.Random(seed)
    by_label: dict[str, list] = {}
    for p in pieces:
        if p.meta.get(field):
            by_label.setdefault(str(p.meta[field]), []).append(p)
    kept = []
    for label in sorted(by_label):
        group = by_label[label]
        if len(group) >= MIN_PIECES:
            kept += rng.sample(group, min(per_class, len(group)))
    return kept


def _decode(pieces: list, tok) -> list[Sample]:
    out = []
    for p in pieces:
        try:
            out.append(Sample(str(p.meta.get("title", "")), tok.decode(p.ids), dict(p.meta)))
        except Exception:  # an undecodable training piece is simply left out
            continue
    return out


def _tally(truth: list[str], pred: list[str]) -> dict[str, dict]:
    """Per true label: how many, how many predicted as it, and what they were predicted as."""
    per_class: dict[str, dict] = {}
    for t, p in zip(truth, pred):
        row = per_class.setdefault(t, {"asked": 0, "as_asked": 0, "classified_as": {}})
        row["asked"] += 1
        row["as_asked"] += int(p == t)
        row["classified_as"][p] = row["classified_as"].get(p, 0) + 1  # the confusions
    return per_class


def accuracy(clf: StyleClassifier, x: np.ndarray, labels: list[str]) -> dict:
    """Share of rows (excerpts) of known labels classified right, beside the majority-class baseline."""
    known = [i for i, v in enumerate(labels) if v in clf.classes]
    if not known:
        return {"excerpts": 0, "accuracy": math.nan, "majority_baseline": math.nan}
    truth = [labels[i] for i in known]
    pred = clf.predict(x[known])
    majority = max(set(truth), key=truth.count)
    return {"excerpts": len(known), "accuracy": float(np.mean([p == t for p, t in zip(pred, truth)])),
            "majority_baseline": float(np.mean([t == majority for t in truth]))}


def cross_validate(data: Excerpts, field: str, folds: int = CROSSVAL_FOLDS, seed: int = 0) -> dict:
    """Every excerpt classified by a classifier fitted on the other folds' pieces (grouped by piece, so
    no excerpt is judged by a classifier that read its own piece): accuracy and per-label tallies."""
    pieces = np.unique(data.piece)
    order = np.random.default_rng(seed).permutation(pieces)
    fold_of = {int(p): k % folds for k, p in enumerate(order)}
    fold = np.array([fold_of[int(p)] for p in data.piece])
    pred: list[str] = [""] * len(data.labels)
    for k in range(folds):
        train, test = data.rows_of(fold != k), fold == k
        if not test.any() or len(set(train.labels)) < 2:
            continue
        clf = fit_classifier(train.x, train.labels, field)
        for i, label in zip(np.flatnonzero(test), clf.predict(data.x[test])):
            pred[i] = label
    done = [i for i, p in enumerate(pred) if p]
    per_class = _tally([data.labels[i] for i in done], [pred[i] for i in done])
    return {"folds": folds, "excerpts": len(done),
            "accuracy": float(np.mean([pred[i] == data.labels[i] for i in done])) if done else math.nan,
            "per_class": per_class}


def train_style_classifier(dataset: str | Path, field: str = "composer", per_class: int = 150, seed: int = 0,
                           progress: bool = False) -> tuple[StyleClassifier | None, dict]:
    """A classifier of `field` on excerpts of the dataset's real pieces, and its held-out report (None +
    reason when the dataset has fewer than two labels with enough pieces)."""
    from tunesmith.data.dataset import Dataset

    data = Dataset(dataset)
    tok = data.tokenizer()
    train_pieces = _per_class_cap(data.pieces("train"), field, per_class, seed)
    labels_seen = sorted({str(p.meta[field]) for p in train_pieces})
    if len(labels_seen) < 2:
        return None, {"field": field, "skipped": f"fewer than two {field} labels with >= {MIN_PIECES} training pieces"}
    held = [p for p in data.pieces("validation") if str(p.meta.get(field)) in labels_seen]
    heldout_source = "validation split"
    if len(held) < MIN_HELDOUT:
        rng = random.Random(seed)
        rng.shuffle(train_pieces)
        cut = max(1, len(train_pieces) // 5)
        held, train_pieces = train_pieces[:cut], train_pieces[cut:]
        heldout_source = "a fifth of the training pieces (the validation split has too few)"
    train = excerpt_set(_decode(train_pieces, tok), field, progress, f"{field} excerpts")
    if len(set(train.labels)) < 2:
        return None, {"field": field, "skipped": f"fewer than two {field} labels left to train on"}
    clf = fit_classifier(train.x, train.labels, field)
    held_x = excerpt_set(_decode(held, tok), field)
    report = {"field": field, "classes": clf.classes, "excerpt_bars": EXCERPT_BARS,
              "train_pieces": len(np.unique(train.piece)), "train_excerpts": len(train.labels),
              "heldout": {"source": heldout_source, "pieces": len(np.unique(held_x.piece)),
                          **accuracy(clf, held_x.x, held_x.labels)},
              "crossval": cross_validate(train, field, seed=seed)}
    return clf, report


def score_samples(clf: StyleClassifier, samples: list[Sample]) -> dict:
    """Of the samples that asked for (or, for real pieces, carry) a known label, the share classified so
    (a sample longer than an excerpt by the mean over its excerpts)."""
    asked, pred, all_asked = [], [], []
    for s in samples:
        label = s.meta.get(clf.field)
        if not label:
            continue
        all_asked.append(str(label))
        rows = excerpt_vectors(s.score)
        if str(label) in clf.classes and len(rows):
            asked.append(str(label))
            pred.append(clf.predict_piece(rows))
    per_class = _tally(asked, pred)
    hits = sum(r["as_asked"] for r in per_class.values())
    return {"asked": len(asked), "share_as_asked": hits / len(asked) if asked else math.nan, "per_class": per_class,
            "unknown_labels": sorted({v for v in all_asked if v not in clf.classes})}
