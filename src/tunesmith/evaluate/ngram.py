"""A same-data n-gram baseline: what any Transformer must beat by a wide margin.

An interpolated Witten-Bell n-gram over the REMI music ids of a dataset's training split,
scored per token on another split (the same tokens `tunesmith evaluate model` scores, without the
control prefix). Counting is vectorised: every n-gram is packed into one int64 and counted with
np.unique, so the whole bundled corpus (~20M tokens) fits in seconds and a few hundred MB.

    P(w | h) = lam(h) * c(h, w) / c(h)  +  (1 - lam(h)) * P(w | h[1:]),   lam(h) = c(h) / (c(h) + T(h))

with T(h) the number of distinct tokens seen after h, down to an add-one unigram.
"""

from __future__ import annotations

import math

import numpy as np

from tunesmith.data.dataset import Dataset
from tunesmith.errors import TunesmithError

BITS = 11  # bits per token id in a packed n-gram (vocabularies up to 2048 ids)


def _stream(pieces, sep: int) -> np.ndarray:
    """All pieces' ids, each preceded by `sep` (the BOS id), as one int64 array."""
    parts = []
    for p in pieces:
        parts.append(np.array([sep], np.int64))
        parts.append(p.ids.astype(np.int64))
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def _pack(stream: np.ndarray, n: int) -> np.ndarray:
    """codes[i] = stream[i .. i+n-1] packed, for every window of n tokens."""
    m = len(stream) - n + 1
    code = np.zeros(max(m, 0), np.int64)
    for k in range(n):
        code = (code << BITS) | stream[k: k + m]
    return code


class NGram:
    def __init__(self, order: int, vocab_size: int):
        if vocab_size > 1 << BITS:
            raise TunesmithError(f"vocabulary of {vocab_size} ids exceeds the packed n-gram width")
        if order * BITS > 62:
            raise TunesmithError(f"order {order} too high (at most {62 // BITS})")
        self.order, self.vocab_size = order, vocab_size
        self.grams: list[tuple[np.ndarray, np.ndarray]] = []  # per n: sorted unique codes, counts
        self.contexts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # per n: prefix codes, c(h), T(h)

    def fit(self, stream: np.ndarray) -> "NGram":
        for n in range(1, self.order + 1):
            codes, counts = np.unique(_pack(stream, n), return_counts=True)
            self.grams.append((codes, counts))
            prefixes = codes >> BITS
            ctx, first = np.unique(prefixes, return_index=True)
            total = np.add.reduceat(counts, first) if len(first) else np.zeros(0, np.int64)
            distinct = np.diff(np.append(first, len(codes)))
            self.contexts.append((ctx, total, distinct))
        return self

    @staticmethod
    def _lookup(keys: np.ndarray, table: np.ndarray, values: np.ndarray) -> np.ndarray:
        idx = np.searchsorted(table, keys)
        idx = np.minimum(idx, len(table) - 1)
        found = table[idx] == keys if len(table) else np.zeros(len(keys), bool)
        return np.where(found, values[idx] if len(table) else 0, 0)

    def token_nll(self, stream: np.ndarray) -> np.ndarray:
        """-log P of every token of `stream` after the first order-1 (nats), shape (len - order + 1,)."""
        n_max = self.order
        targets = stream[n_max - 1:]
        uni_codes, uni_counts = self.grams[0]
        total = uni_counts.sum()
        p = (self._lookup(targets, uni_codes, uni_counts) + 1) / (total + self.vocab_size)  # add-one unigram
        for n in range(2, n_max + 1):
            window = _pack(stream[n_max - n:], n)  # the n-gram ending at each target
            codes, counts = self.grams[n - 1]
            ctx, ctx_total, ctx_distinct = self.contexts[n - 1]
            c_hw = self._lookup(window, codes, counts)
            c_h = self._lookup(window >> BITS, ctx, ctx_total)
            t_h = self._lookup(window >> BITS, ctx, ctx_distinct)
            lam = np.where(c_h > 0, c_h / np.maximum(c_h + t_h, 1), 0.0)
            p = lam * (c_hw / np.maximum(c_h, 1)) + (1 - lam) * p
        return -np.log(p)


def evaluate_ngram(data: str, order: int = 4, split: str = "validation") -> dict:
    """Fit on the training split, score `split`: NLL per token (nats) and bits per note."""
    ds = Dataset(data)
    tok = ds.tokenizer()
    train, test = ds.pieces("train"), ds.pieces(split)
    model = NGram(order, tok.vocab_size).fit(_stream(train, tok.bos_id))
    total, tokens, notes = 0.0, 0, 0
    pitch_types = {"Pitch", "PitchDrum"}
    for p in test:
        stream = np.concatenate([np.full(order - 1, tok.bos_id, np.int64), p.ids.astype(np.int64)])
        nll = model.token_nll(stream)
        total += float(nll.sum())
        tokens += len(nll)
        notes += sum(1 for i in p.ids if tok.type_of[int(i)] in pitch_types)
    return {"order": order, "split": split, "pieces": len(test), "tokens": tokens, "notes": notes,
            "nll_per_token": total / max(tokens, 1), "nll_per_note": total / max(notes, 1),
            "bits_per_note": total / max(notes, 1) / math.log(2), "train_tokens": int(sum(len(p.ids) for p in train))}
