"""Does a model use the Composer control? Held-out pieces scored under every composer label.

    python benchmarks/composer_likelihood.py --data runs/full4/data --models default runs/ft-pw

A style classifier judges samples only as well as it tells real music apart (16-bar excerpts of
piano-midi.de composers: 25-53%, MODEL_CARD.md). This asks the model directly: the same passage of a
real piece (TOKENS tokens from a random bar-aligned start, the same for every model), scored with each
candidate composer in its control prefix (the other controls as the dataset gives them), and without
one. A model that reads the composer control gives the passage's true composer the lowest NLL:

- **true first**: pieces whose true composer scores best of the candidates (chance 1 in N);
- **mean rank** of the true composer (chance (N + 1) / 2);
- **gain**: NLL with no composer minus NLL with the true one, millinats per token (0 = the control is
  ignored), and the same against the mean of the wrong composers ("vs wrong").

Held-out pieces are the validation and test splits' piano-midi.de pieces of the candidates; the
training pieces' figures (a sample of them) show what the model learned about pieces it has read.
"""

from __future__ import annotations

import argparse
import dataclasses
import random

import numpy as np

from tunesmith.data.dataset import Dataset
from tunesmith.evaluate.likelihood import pieces_nll
from tunesmith.generate import load

COMPOSERS = ["chopin", "beethoven", "mozart", "schubert", "schumann", "haydn", "liszt", "mendelssohn", "clementi", "grieg"]


def passage(piece, tokens: int, bar_id: int, rng: random.Random):
    """`tokens` tokens of the piece from a random Bar token (the whole piece when it is shorter)."""
    bars = np.flatnonzero(piece.ids == bar_id)
    starts = [int(b) for b in bars if b + tokens <= len(piece.ids)] or [0]
    start = rng.choice(starts)
    return dataclasses.replace(piece, ids=piece.ids[start:start + tokens])


def score(model, pieces: list, tokens: int, seed: int) -> dict:
    rng = random.Random(seed)
    tok = model.tokenizer
    ranks, gains, versus_wrong = [], [], []
    for p in pieces:
        base = passage(p, tokens, tok.bar_id, rng)
        variants = [dataclasses.replace(base, meta={**p.meta, "composer": c}) for c in COMPOSERS]
        variants.append(dataclasses.replace(base, meta={k: v for k, v in p.meta.items() if k != "composer"}))
        rows = pieces_nll(model.model, tok, variants, model.config.max_len, batch_size=16)
        nll = np.array([r.nll / r.tokens for r in rows])
        true = COMPOSERS.index(p.meta["composer"])
        ranks.append(1 + int((nll[:-1] < nll[true]).sum()))
        gains.append(nll[-1] - nll[true])
        versus_wrong.append(np.delete(nll[:-1], true).mean() - nll[true])
    return {"pieces": len(pieces), "true_first": sum(r == 1 for r in ranks), "mean_rank": float(np.mean(ranks)),
            "gain": 1000 * float(np.mean(gains)), "vs_wrong": 1000 * float(np.mean(versus_wrong))}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="runs/full4/data")
    ap.add_argument("--models", nargs="+", default=["default"], help="model folders ('default' = the bundled model)")
    ap.add_argument("--tokens", type=int, default=1500, help="tokens of each piece scored")
    ap.add_argument("--train-sample", type=int, default=30, help="training pieces also scored")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    data = Dataset(args.data)
    def piano(splits):  # the splits' piano-midi.de pieces by a candidate composer
        return [p for split in splits for p in data.pieces(split)
                if p.meta.get("collection") == "pianomidi" and p.meta.get("composer") in COMPOSERS]

    train = piano(["train"])
    sets = {"held-out": piano(["validation", "test"]),
            "training": random.Random(args.seed).sample(train, min(args.train_sample, len(train)))}
    n = len(COMPOSERS)
    print(f"{n} candidate composers: chance {1 / n:.0%} true first, mean rank {(n + 1) / 2:.1f}\n")
    print("| model | pieces | true first | mean rank | gain vs none (mnat/token) | gain vs wrong (mnat/token) |")
    print("|---|---|---:|---:|---:|---:|")
    first = {}
    for name in args.models:
        model = load(name)  # "default" names the bundled model
        for which, pieces in sets.items():
            r = score(model, pieces, args.tokens, args.seed)
            ratio = f" ({r['vs_wrong'] / first[which]:.2f}x)" if which in first and first[which] else ""
            first.setdefault(which, r["vs_wrong"])
            print(f"| {name} | {which} ({r['pieces']}) | {r['true_first']} / {r['pieces']} | {r['mean_rank']:.2f} | "
                  f"{r['gain']:.1f} | {r['vs_wrong']:.1f}{ratio} |", flush=True)


if __name__ == "__main__":
    main()
