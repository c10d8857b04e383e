"""How the voicing shares an ensemble's lines out: for each prompt, N seeds of 16 bars from a model, and at every
onset the highest and the lowest pitch class struck there and how many instruments strike it (within two octaves),
plus the timpani's notes a bar and their share on the tonic or dominant of the key measured.

    python benchmarks/ensemble_balance.py                     # the bundled model, 10 seeds per prompt
    python benchmarks/ensemble_balance.py --prompts "a chorale for orchestra" --seeds 20

(tunesmith.instruments.voice_by_register: the model writes the piece for the style's own instrument, a choir for a
chorale, and the voicing gives its lines to the instruments asked.) Prints a markdown table.
"""

from __future__ import annotations

import argparse

import numpy as np
from tqdm import tqdm

from tunesmith import ops
from tunesmith.adherence import measure_key
from tunesmith.generate import GenerationOptions, load
from tunesmith.instruments import TIMPANI
from tunesmith.prompt import understand

PROMPTS = ["a march for brass band", "a chorale for orchestra", "a slow, sad chorale in D minor for strings"]


def line_players(score) -> tuple[list[int], list[int]]:
    """For every onset: how many tracks strike its highest pitch class, and how many its lowest (within two octaves)."""
    struck: dict[int, list[tuple[int, int]]] = {}
    for k, track in enumerate(score.tracks):
        for note in track.notes:
            struck.setdefault(note.time, []).append((note.pitch, k))
    top, bass = [], []
    for notes in struck.values():
        high, low = max(p for p, _ in notes), min(p for p, _ in notes)
        top.append(len({k for p, k in notes if p % 12 == high % 12 and p >= high - 24}))
        bass.append(len({k for p, k in notes if p % 12 == low % 12 and p <= low + 24}))
    return top, bass


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None, help="model folder (default: the bundled model)")
    ap.add_argument("--prompts", default=None,
                    help="semicolon-separated (default: a brass march, an orchestra and strings)")
    ap.add_argument("--seeds", type=int, default=10)
    args = ap.parse_args(argv)
    model = load(args.model)
    tok = model.tokenizer
    print("| prompt | instruments on the top line | on the bass | timpani notes a bar | of them on tonic or dominant |")
    print("|---|---:|---:|---:|---:|")
    for prompt in (args.prompts.split(";") if args.prompts else PROMPTS):
        reading = understand(prompt, tok.controls, tok.meters)
        top, bass, timpani, on, bars = [], [], 0, 0, 0
        for seed in tqdm(range(args.seeds), desc=prompt, leave=False):
            score = model.generate(GenerationOptions.from_reading(reading, seed=seed))[0].score
            t, b = line_players(score)
            top, bass = top + t, bass + b
            key = measure_key(score)
            tonic = ops.parse_key(key)[0] if key else 0
            for track in score.tracks:
                if track.program == TIMPANI:
                    timpani += track.note_num()
                    on += sum((n.pitch - tonic) % 12 in (0, 7) for n in track.notes)
            bars += reading.bars or 16
        share = f"{on / timpani:.0%}" if timpani else "-"
        print(f"| {prompt} | {np.mean(top):.2f} | {np.mean(bass):.2f} | {timpani / bars:.1f} | {share} |")


if __name__ == "__main__":
    main()
