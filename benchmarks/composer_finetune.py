"""Does fine-tuning on one composer teach the model that composer, or only his training pieces?

    python benchmarks/composer_finetune.py --data runs/full4/data \\
        --runs mozart=runs/ft-mozart/last chopin=runs/ft-chopin/last

Each run is the bundled model fine-tuned on (almost only) one composer's pieces, e.g.
`tunesmith train --preset finetune --init-from default --data runs/full4/data --weight composer=mozart:10000
--max-steps 300 --out runs/ft-mozart`. Both models score the composer's classical-piano pieces with the
composer in the controls: his held-out ones (validation and test splits, which neither model trained on)
and as many of his training pieces. Nats per token, and the fine-tune's as a ratio of the baseline's:
a fine-tune that learned the composer lowers both; one that learned his pieces lowers only the second.
(MODEL_CARD, "Samples per style", the fifth lever.)
"""

from __future__ import annotations

import argparse

from tunesmith.data.dataset import Dataset
from tunesmith.evaluate.likelihood import nll_figures, pieces_nll
from tunesmith.generate import load

COLLECTION = "pianomidi"  # the composers' piano pieces: what "a piano piece in the style of X" asks for


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="the dataset both models were trained on")
    ap.add_argument("--baseline", default=None, help="the model the runs were fine-tuned from (default: bundled)")
    ap.add_argument("--runs", nargs="+", required=True, metavar="COMPOSER=RUN")
    args = ap.parse_args()

    data = Dataset(args.data)
    held_out = data.pieces("validation") + data.pieces("test")
    train = data.pieces("train")
    baseline = load(args.baseline, device="cpu")

    def nats(model, pieces) -> float:
        return nll_figures(pieces_nll(model.model, model.tokenizer, pieces, model.config.max_len))["nll_per_token"]

    print("| composer | held-out pieces | tokens | baseline | fine-tune | ratio | training pieces | baseline | "
          "fine-tune | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for spec in args.runs:
        composer, _, run = spec.partition("=")
        if not run:
            raise SystemExit(f"--runs takes COMPOSER=RUN, got {spec!r}")

        def his(pieces: list) -> list:
            return [p for p in pieces if p.meta.get("composer") == composer and p.meta.get("collection") == COLLECTION]

        unseen = his(held_out)
        seen = his(train)[: max(len(unseen), 4)]
        if not unseen:
            print(f"| {composer} | 0 | | | | | | | | |")
            continue
        tuned = load(run, device="cpu")
        tokens = sum(len(p.ids) for p in unseen)
        a, b, c, d = nats(baseline, unseen), nats(tuned, unseen), nats(baseline, seen), nats(tuned, seen)
        print(f"| {composer} | {len(unseen)} | {tokens} | {a:.3f} | {b:.3f} | {b / a:.3f} | {len(seen)} | {c:.3f} | "
              f"{d:.3f} | {d / c:.3f} |")


if __name__ == "__main__":
    main()
