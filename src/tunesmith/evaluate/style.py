"""A style classifier (collection, composer or genre) trained on real pieces, to score style adherence.

Deliberately simple and honest: multinomial logistic regression (L2, L-BFGS) on standardised
per-piece statistics (pitch-class histogram, melodic-interval and duration histograms, pitch mean /
spread / range, note density, inter-onset interval, notes per onset, tracks). It is trained on the
training split of a dataset (at most `per_class` pieces per label), its accuracy is measured on held-out
real pieces (the validation split, or a fifth of the training pieces when that split has too few), next
to the majority-class baseline. Then: of the samples that asked for label X, the share classified as X.
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

from tunesmith.evaluate.features import Sample, duration_hist, mean_ioi, note_arrays, note_density, pitch_interval_hist

STYLE_FIELDS = ("composer", "collection", "genre")
MIN_PIECES = 8  # a label needs this many training pieces to be a class
MIN_HELDOUT = 10  # fewer held-out pieces than this in the validation split -> hold out training pieces


def style_vector(score: symusic.Score) -> np.ndarray | None:
    """The classifier's input for one piece (None when it has no pitched notes)."""
    notes = note_arrays(score)
    if not len(notes.onset):
        return None
    pc = np.bincount(notes.pitch % 12, minlength=12) / len(notes.pitch)
    stats = [notes.pitch.mean() / 12, notes.pitch.std() / 12, np.ptp(notes.pitch) / 12,
             np.log1p(note_density(notes)), np.log1p(mean_ioi(notes)),
             len(notes.onset) / len(np.unique(np.round(notes.onset, 6))), len(np.unique(notes.track))]
    parts = [pc, pitch_interval_hist(notes), duration_hist(notes), np.array(stats, dtype=float)]
    return np.nan_to_num(np.concatenate(parts), nan=0.0, posinf=0.0, neginf=0.0)


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
        return [self.classes[k] for k in self._logits(np.atleast_2d(x)).argmax(axis=1)]


def fit_classifier(x: np.ndarray, labels: list[str], field: str, l2: float = 1e-2) -> StyleClassifier:
    """Multinomial logistic regression on standardised features."""
    classes = sorted(set(labels))
    y = np.array([classes.index(v) for v in labels])
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6
    z = np.hstack([(x - mean) / std, np.ones((len(x), 1))])
    n, k = z.shape[0], len(classes)
    onehot = np.eye(k)[y]

    def loss(w_flat: np.ndarray) -> tuple[float, np.ndarray]:
        w = w_flat.reshape(z.shape[1], k)
        logits = z @ w
        logp = logits - logsumexp(logits, axis=1, keepdims=True)
        grad = z.T @ (np.exp(logp) - onehot) / n
        grad[:-1] += l2 * w[:-1]
        return float(-(onehot * logp).sum() / n + 0.5 * l2 * (w[:-1] ** 2).sum()), grad.ravel()

    res = minimize(loss, np.zeros(z.shape[1] * k), jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return StyleClassifier(field, classes, mean, std, res.x.reshape(z.shape[1], k))


def _vectors(samples: list[Sample], field: str) -> tuple[np.ndarray, list[str]]:
    rows, labels = [], []
    for s in samples:
        v = style_vector(s.score) if s.score is not None and s.meta.get(field) else None
        if v is not None:
            rows.append(v)
            labels.append(str(s.meta[field]))
    return (np.vstack(rows) if rows else np.zeros((0, 0))), labels


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


def accuracy(clf: StyleClassifier, x: np.ndarray, labels: list[str]) -> dict:
    known = [i for i, v in enumerate(labels) if v in clf.classes]
    if not known:
        return {"pieces": 0, "accuracy": math.nan, "majority_baseline": math.nan}
    truth = [labels[i] for i in known]
    pred = clf.predict(x[known])
    majority = max(set(truth), key=truth.count)
    return {"pieces": len(known), "accuracy": float(np.mean([p == t for p, t in zip(pred, truth)])),
            "majority_baseline": float(np.mean([t == majority for t in truth]))}


def train_style_classifier(dataset: str | Path, field: str = "composer", per_class: int = 150,
                           seed: int = 0) -> tuple[StyleClassifier | None, dict]:
    """A classifier of `field` on the dataset's real pieces, and its held-out report (None + reason when
    the dataset has fewer than two labels with enough pieces)."""
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
    x, y = _vectors(_decode(train_pieces, tok), field)
    if len(set(y)) < 2:
        return None, {"field": field, "skipped": f"fewer than two {field} labels left to train on"}
    clf = fit_classifier(x, y, field)
    hx, hy = _vectors(_decode(held, tok), field)
    report = {"field": field, "classes": clf.classes, "train_pieces": len(y),
              "heldout": {"source": heldout_source, **accuracy(clf, hx, hy)}}
    return clf, report


def score_samples(clf: StyleClassifier, samples: list[Sample]) -> dict:
    """Of the samples that asked for (or, for real pieces, carry) a known label, the share classified so."""
    x, asked = _vectors(samples, clf.field)
    known = [i for i, v in enumerate(asked) if v in clf.classes]
    per_class: dict[str, dict] = {}
    if known:
        for i, pred in zip(known, clf.predict(x[known])):
            row = per_class.setdefault(asked[i], {"asked": 0, "as_asked": 0, "classified_as": {}})
            row["asked"] += 1
            row["as_asked"] += int(pred == asked[i])
            row["classified_as"][str(pred)] = row["classified_as"].get(str(pred), 0) + 1  # the confusions
    n = sum(r["asked"] for r in per_class.values())
    hits = sum(r["as_asked"] for r in per_class.values())
    return {"asked": n, "share_as_asked": hits / n if n else math.nan, "per_class": per_class,
            "unknown_labels": sorted({v for v in asked if v not in clf.classes})}
