"""How often samples get stuck in a loop, with and without redrawing stuck candidates, and what it costs.

    python benchmarks/stuck_rate.py --per-prompt 30
    python benchmarks/stuck_rate.py --prompts "an Irish reel" --per-prompt 30 --real runs/full4/data:train:genre=reel

A piece is stuck when, for STUCK_BARS bars in a row, two pitches make most of its notes
(tunesmith.adherence.longest_stuck_run). For each prompt, the same seeds are drawn twice: with one
candidate (the sampler's own rate) and with the default candidates, where a stuck candidate is drawn
again. Prints stuck samples, candidates drawn and seconds per sample for both, the second as a ratio
of the first; --real adds the rate on real pieces (whole pieces, so longer than the samples).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

from tqdm import tqdm

from tunesmith.adherence import STUCK_BARS, longest_stuck_run
from tunesmith.generate import GenerationOptions, load
from tunesmith.prompt import understand

PROMPTS = ["an Irish reel", "a German folk song", "an Irish folk tune", "a pop song for piano"]


def run(model, text: str, n: int, seed: int, candidates: int) -> dict:
    tok = model.tokenizer
    reading = understand(text, tok.controls, tok.meters)
    opts = GenerationOptions.from_reading(reading, candidates=candidates)
    stuck = drawn = 0
    t0 = time.time()
    for k in tqdm(range(n), desc=f"{text} ({candidates} cand.)", leave=False):
        gen = model.generate(replace(opts, seed=seed + k))[0]
        stuck += not gen.report["stuck"]["pass"]  # the kept piece's own check (adherence.longest_stuck_run)
        drawn += gen.candidates
    return {"stuck": stuck, "drawn": drawn, "seconds": (time.time() - t0) / n}


def real_rate(spec: str, limit: int) -> tuple[int, int]:
    from tunesmith.evaluate.features import load_set

    pieces = [s.score for s in load_set(spec, limit=limit).samples if s.score is not None]
    return sum(longest_stuck_run(p) >= STUCK_BARS for p in pieces), len(pieces)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None, help="model folder (default: the bundled model)")
    ap.add_argument("--prompts", default=";".join(PROMPTS), help="semicolon-separated")
    ap.add_argument("--per-prompt", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1, help="sample k is drawn with seed + k")
    ap.add_argument("--candidates", type=int, default=GenerationOptions.candidates)
    ap.add_argument("--real", action="append", default=[], help="a dataset split spec, e.g. DATA:train:genre=reel")
    ap.add_argument("--real-limit", type=int, default=1500)
    args = ap.parse_args(argv)
    model = load(args.model)
    n = args.per_prompt
    print(f"| prompt | stuck, 1 candidate | stuck, up to {args.candidates} | candidates drawn | "
          f"s / sample, 1 → {args.candidates} (ratio) |")
    print("|---|---:|---:|---:|---:|")
    for text in [p.strip() for p in args.prompts.split(";") if p.strip()]:
        one = run(model, text, n, args.seed, 1)
        redrawn = run(model, text, n, args.seed, args.candidates)
        print(f"| {text} | {one['stuck']} / {n} | {redrawn['stuck']} / {n} | {redrawn['drawn']} for {n} | "
              f"{one['seconds']:.1f} → {redrawn['seconds']:.1f} ({redrawn['seconds'] / one['seconds']:.2f}×) |",
              flush=True)
    for spec in args.real:
        stuck, total = real_rate(spec, args.real_limit)
        print(f"| real: {spec} | {stuck} / {total} whole pieces | | | |")


if __name__ == "__main__":
    main()
