"""Chords no pianist could strike, with and without the two-hands rule of constrained decoding, and its cost.

    python benchmarks/hand_span.py --per-prompt 10
    python benchmarks/hand_span.py --real runs/full4/data:train:collection=pianomidi
    python benchmarks/hand_span.py --prompts "compose a piano piece in the style of Chopin" --per-prompt 20 \
        --out runs/hands   # then: tunesmith evaluate samples runs/hands/span-16/... --reference DATA:validation:...

On a keyboard the grammar keeps the notes struck together within two hands of five fingers, each
reaching a tenth (tunesmith.ops.fits_two_hands, GenerationOptions.hand_span). For each prompt the same
seeds are drawn with the rule off (the baseline) and on: onsets that no two hands fit, notes per
sample and new tokens per second, the second as a ratio of the first (the pieces differ once a chord
is held to two hands, so this ratio mixes in their lengths; --replay times the mask alone over one
file's tokens); --real adds the share in real pieces.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

from tqdm import tqdm

from tunesmith.adherence import keyboard_chords
from tunesmith.generate import GenerationOptions, load, save_generation
from tunesmith.ops import HAND_SPAN, fits_two_hands
from tunesmith.prompt import understand

PROMPTS = ["compose a piano piece in the style of Chopin", "a piano piece in the style of Mozart",
           "a pop song for piano"]


def run(model, text: str, n: int, seed: int, span: int | None, out: Path | None = None) -> dict:
    tok = model.tokenizer
    reading = understand(text, tok.controls, tok.meters)
    opts = GenerationOptions.from_reading(reading, hand_span=span)
    unplayable = onsets = notes = tokens = 0
    t0 = time.time()
    for k in tqdm(range(n), desc=f"{text} (span {span})", leave=False):
        gen = model.generate(replace(opts, seed=seed + k))[0]
        if out:
            folder = out / ("any-chord" if span is None else f"span-{span}") / text.replace(" ", "-")[:40]
            save_generation(gen, folder, f"{k:02d}", audio=False, picture=k == 0, prompt=reading.to_dict())
        chords = keyboard_chords(gen.score)
        unplayable += sum(not fits_two_hands(c) for c in chords)
        onsets += len(chords)
        notes += gen.score.note_num()
        tokens += gen.new_tokens
    return {"unplayable": unplayable, "onsets": onsets, "notes": notes / n, "tokens_per_s": tokens / (time.time() - t0)}


def grammar_ms(model, midi: str, constraints, repeats: int = 3) -> float:
    """Milliseconds per token for the grammar's mask (RemiGrammar.allowed, under `constraints`) over a MIDI
    file's tokens, as generation computes it at every step; the best of `repeats` passes."""
    import symusic

    from tunesmith.constraints import RemiGrammar

    tok = model.tokenizer
    seq = [tok.bos_id] + tok.encode_music(symusic.Score(midi)).tolist()
    best = float("inf")
    for _ in range(repeats):
        grammar = RemiGrammar(tok, constraints, music_start=1)
        t0 = time.perf_counter()
        for i in range(1, len(seq)):
            grammar.allowed(seq[:i])
        best = min(best, (time.perf_counter() - t0) * 1000 / (len(seq) - 1))
    return best


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None, help="model folder (default: the bundled model)")
    ap.add_argument("--prompts", default=";".join(PROMPTS), help="semicolon-separated")
    ap.add_argument("--per-prompt", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0, help="sample k is drawn with seed + k")
    ap.add_argument("--real", action="append", default=[], help="a dataset split spec, e.g. DATA:train:collection=pop909")
    ap.add_argument("--real-limit", type=int, default=300)
    ap.add_argument("--replay", default=None, help="a piano MIDI file: time the grammar's mask over its tokens")
    ap.add_argument("--out", type=Path, default=None, help="also save the samples: OUT/any-chord/PROMPT, OUT/span-16/PROMPT")
    args = ap.parse_args(argv)
    model = load(args.model)
    n = args.per_prompt
    prompts = [p.strip() for p in args.prompts.split(";") if p.strip()]
    if prompts:
        print(f"| prompt | unplayable onsets, any chord | with the rule (span {HAND_SPAN}) | notes / sample | "
              "new tokens/s (ratio) |")
        print("|---|---:|---:|---:|---:|")
    for text in prompts:
        free, held = run(model, text, n, args.seed, None, args.out), run(model, text, n, args.seed, HAND_SPAN, args.out)
        print(f"| {text} | {free['unplayable']} of {free['onsets']} | {held['unplayable']} of {held['onsets']} | "
              f"{free['notes']:.0f} → {held['notes']:.0f} | {free['tokens_per_s']:.0f} → {held['tokens_per_s']:.0f} "
              f"({held['tokens_per_s'] / free['tokens_per_s']:.2f}×) |", flush=True)
    if args.replay:
        print(f"\n| grammar mask per token, replaying {args.replay} | any chord | with the rule | ratio |\n|---|---:|---:|---:|")
        from tunesmith.constraints import Constraints

        free = grammar_ms(model, args.replay, Constraints(hand_span=None))
        held = grammar_ms(model, args.replay, Constraints(hand_span=HAND_SPAN))
        print(f"| ms / token | {free:.3f} | {held:.3f} | {held / free:.2f}× |")
    for spec in args.real:
        from tunesmith.evaluate.features import load_set

        chords = [c for s in load_set(spec, limit=args.real_limit).samples if s.score is not None
                  for c in keyboard_chords(s.score)]
        print(f"| real: {spec} | {sum(not fits_two_hands(c) for c in chords)} of {len(chords)} | | | |")


if __name__ == "__main__":
    main()
