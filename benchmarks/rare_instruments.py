"""Instruments the model seldom saw in training: written for them directly (the token the model barely saw)
against written for the piano it learned best and voiced for them (tunesmith.instruments.unlearned).

    python benchmarks/rare_instruments.py --per-prompt 10

For each prompt the same seeds are drawn both ways (the baseline sets instruments.MIN_PIECES to 0, so nothing
counts as unlearned) and each sample is measured on what a player of the instrument would meet: the share of
its notes outside the instrument's practical range (instruments.RANGE), the share of the time more notes sound
than its players can (instruments.playable_voices; none for a keyboard or harp), the pitch span that holds 90%
of its notes, the share of notes outside the key measured on the piece (adherence.out_of_key_share; real
piano-midi.de pieces 15.6%, Bach chorales 6.3%, Irish tunes 1.5%), and the seconds per sample (with its ratio
to the baseline's, measured in the same run). Medians over the seeds, the baseline first.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np
from tqdm import tqdm

from tunesmith import instruments
from tunesmith.adherence import measure_key, out_of_key_share, voices_heard
from tunesmith.generate import GenerationOptions, load
from tunesmith.prompt import understand

PROMPTS = ["a piece for church organ", "a melody for flute", "a piece for classical guitar", "a trumpet solo",
           "a lullaby for harp"]


def measure(score, programs: tuple[int, ...]) -> dict[str, float]:
    """What a player would meet in one sample (see the module docstring)."""
    pitched = [t for t in score.tracks if t.note_num() and not t.is_drum]
    outside = total = 0
    for t in pitched:
        low, high = instruments.playable(t.program)
        p = t.notes.numpy()["pitch"]
        outside, total = outside + int(((p < low) | (p > high)).sum()), total + len(p)
    pitch = np.concatenate([t.notes.numpy()["pitch"] for t in pitched])
    cap = instruments.playable_voices(programs)
    key = measure_key(score)
    return {"outside range %": 100 * outside / max(total, 1),
            "over the players %": 100 * sum(s for n, s in voices_heard(score).items() if n > cap) if cap else 0.0,
            "90% span": float(np.percentile(pitch, 95) - np.percentile(pitch, 5)),
            "out of key %": 100 * out_of_key_share(score, key) if key else 100.0}


def run(model, text: str, n: int, seed: int) -> dict[str, float]:
    tok = model.tokenizer
    opts = GenerationOptions.from_reading(understand(text, tok.controls, tok.meters))
    rows, t0 = [], time.time()
    for k in tqdm(range(n), desc=text, leave=False):
        gen = model.generate(replace(opts, seed=seed + k))[0]
        rows.append(measure(gen.score, opts.controls.instruments))
    medians = {name: float(np.median([r[name] for r in rows])) for name in rows[0]}
    return {**medians, "s / sample": (time.time() - t0) / n}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None, help="model folder (default: the bundled model)")
    ap.add_argument("--prompts", default=None, help="semicolon-separated (default: organ, flute, guitar, trumpet, harp)")
    ap.add_argument("--per-prompt", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1, help="sample k is drawn with seed + k")
    args = ap.parse_args(argv)
    model = load(args.model)
    prompts = [p.strip() for p in (args.prompts.split(";") if args.prompts else PROMPTS) if p.strip()]
    names = ["outside range %", "over the players %", "90% span", "out of key %", "s / sample"]
    print(f"| prompt ({args.per_prompt} seeds), written directly → as piano | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for text in prompts:
        saved = instruments.MIN_PIECES
        instruments.MIN_PIECES = 0  # the baseline: every instrument conditioned on directly
        try:
            direct = run(model, text, args.per_prompt, args.seed)
        finally:
            instruments.MIN_PIECES = saved
        voiced = run(model, text, args.per_prompt, args.seed)
        cells = [f"{direct[k]:.1f} → {voiced[k]:.1f}" for k in names]
        cells[-1] += f" ({voiced['s / sample'] / direct['s / sample']:.2f}×)"  # the time, as a ratio of the baseline's
        print(f"| {text} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
