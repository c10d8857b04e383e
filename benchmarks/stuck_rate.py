"""How often samples fail a check that is redrawn for (stuck in a loop; an ensemble's part resting), with and
without redrawing, and what it costs.

    python benchmarks/stuck_rate.py --per-prompt 30
    python benchmarks/stuck_rate.py --prompts "an Irish reel" --per-prompt 30 --real runs/full4/data:train:genre=reel
    python benchmarks/stuck_rate.py --check parts --per-prompt 20 --real runs/full4/data:train

`--check stuck`: a piece is stuck when, for STUCK_BARS bars in a row, two pitches make most of its notes
(tunesmith.adherence.longest_stuck_run). `--check parts`: an ensemble fails when an instrument asked rests
for half the piece in a row (adherence.longest_silence, rest_limit). For each prompt, the same seeds are
drawn twice: with one candidate (the sampler's own rate) and with the default candidates, where a failing
candidate is drawn again. Prints failing samples, candidates drawn and seconds per sample for both, the
second as a ratio of the first; --real adds the rate on real music (stuck: whole pieces, so longer than the
samples; parts: 16-bar windows, every 8 bars, of the pieces with two or more pitched instruments).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

from tqdm import tqdm

from tunesmith.adherence import STUCK_BARS, longest_silence, longest_stuck_run, measure_bars, rest_limit
from tunesmith.generate import GenerationOptions, load
from tunesmith.prompt import understand

PROMPTS = {"stuck": ["an Irish reel", "a German folk song", "an Irish folk tune", "a pop song for piano"],
           "parts": ["a string quartet in the style of Haydn", "a piano trio", "a march for brass band",
                     "an Irish jig for flute and fiddle"]}
WINDOW = 16  # bars of a real piece judged at a time by --check parts (the samples' length)


def run(model, text: str, n: int, seed: int, candidates: int, check: str) -> dict:
    tok = model.tokenizer
    reading = understand(text, tok.controls, tok.meters)
    opts = GenerationOptions.from_reading(reading, candidates=candidates)
    failed = drawn = 0
    t0 = time.time()
    for k in tqdm(range(n), desc=f"{text} ({candidates} cand.)", leave=False):
        gen = model.generate(replace(opts, seed=seed + k))[0]
        if check not in gen.report:
            raise SystemExit(f"{text!r}: its report has no {check!r} row (parts: ask for two or more instruments)")
        failed += not gen.report[check]["pass"]  # the kept piece's own check
        drawn += gen.candidates
    return {"failed": failed, "drawn": drawn, "seconds": (time.time() - t0) / n}


def real_rate(spec: str, limit: int, check: str) -> tuple[int, int]:
    """Real music failing the check: whole pieces (stuck), or 16-bar windows of ensembles (parts)."""
    from tunesmith.evaluate.features import load_set

    pieces = [s.score for s in load_set(spec, limit=limit).samples if s.score is not None]
    if check == "stuck":
        return sum(longest_stuck_run(p) >= STUCK_BARS for p in pieces), len(pieces)
    failed = windows = 0
    for piece in pieces:
        if len({t.program for t in piece.tracks if t.note_num() and not t.is_drum}) < 2:
            continue
        total = measure_bars(piece)
        for start in range(0, max(total - WINDOW, 0) + 1, WINDOW // 2):
            rests = longest_silence(piece, start, min(WINDOW, total - start))
            failed += max(rests.values()) > rest_limit(min(WINDOW, total - start))
            windows += 1
    return failed, windows


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None, help="model folder (default: the bundled model)")
    ap.add_argument("--check", choices=sorted(PROMPTS), default="stuck", help="the redrawn check to count")
    ap.add_argument("--prompts", default=None, help="semicolon-separated (default: the check's own)")
    ap.add_argument("--per-prompt", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1, help="sample k is drawn with seed + k")
    ap.add_argument("--candidates", type=int, default=GenerationOptions.candidates)
    ap.add_argument("--real", action="append", default=[], help="a dataset split spec, e.g. DATA:train:genre=reel")
    ap.add_argument("--real-limit", type=int, default=1500)
    args = ap.parse_args(argv)
    model = load(args.model)
    n = args.per_prompt
    check = args.check
    prompts = args.prompts.split(";") if args.prompts is not None else PROMPTS[check]
    print(f"| prompt | {check} fails, 1 candidate | {check} fails, up to {args.candidates} | candidates drawn | "
          f"s / sample, 1 → {args.candidates} (ratio) |")
    print("|---|---:|---:|---:|---:|")
    for text in [p.strip() for p in prompts if p.strip()]:
        one = run(model, text, n, args.seed, 1, check)
        redrawn = run(model, text, n, args.seed, args.candidates, check)
        print(f"| {text} | {one['failed']} / {n} | {redrawn['failed']} / {n} | {redrawn['drawn']} for {n} | "
              f"{one['seconds']:.1f} → {redrawn['seconds']:.1f} ({redrawn['seconds'] / one['seconds']:.2f}×) |",
              flush=True)
    for spec in args.real:
        failed, total = real_rate(spec, args.real_limit, check)
        print(f"| real: {spec} | {failed} / {total} {'whole pieces' if check == 'stuck' else f'{WINDOW}-bar windows'} "
              "| | | |")


if __name__ == "__main__":
    main()
