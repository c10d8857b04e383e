"""A number of voices asked ("for four voices"): how often it is obeyed with and without the voices rule, and its cost.

    python benchmarks/voices.py --per-prompt 10
    python benchmarks/voices.py --prompts "a chorale for two voices" --per-prompt 20 --out runs/voices
    python benchmarks/voices.py --prompts "" --replay some-chorale.mid --real palestrina --real bach

For each prompt the same seeds are drawn with the number of voices only checked (the baseline: what
the model writes when the prompt's words alone ask for it) and with it held by the grammar and
redrawn for (GenerationOptions.voices): pieces passing the check (never more notes at once than
asked, all of them for adherence.VOICES_SHARE of the time), the most notes heard together, the
median share of time all asked voices sound, the median pitch of the top and bottom lines (the highest
and lowest note sounding at each onset: which voices were kept), candidates drawn, new tokens per second
(as a ratio). --written K decodes fewer voices asked than K in K and keeps the outer ones
(ops.WRITTEN_VOICES; 1 = the grammar's cap alone, the decoder before outer voices). --replay times the grammar's mask alone over one file's tokens; --real measures real pieces of a
music21 corpus collection, grouped by their number of parts.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

from hand_span import grammar_ms
from tqdm import tqdm

from tunesmith import ops
from tunesmith.adherence import outer_lines, voices_heard, voices_hold
from tunesmith.generate import GenerationOptions, load, save_generation
from tunesmith.prompt import understand

PROMPTS = ["Renaissance polyphony in the style of Josquin for four voices",
           "a motet in the style of Palestrina for three voices", "a four-part Bach chorale for choir",
           "a chorale for two voices"]


def run(model, text: str, n: int, seed: int, rule: bool, out: Path | None = None) -> dict:
    tok = model.tokenizer
    reading = understand(text, tok.controls, tok.meters)
    if not reading.voices:
        raise SystemExit(f"{text!r} asks for no number of voices")
    opts = GenerationOptions.from_reading(reading, voices=reading.voices if rule else None)
    passed, most, shares, lines, candidates, tokens = 0, [], [], [], 0, 0
    t0 = time.time()
    for k in tqdm(range(n), desc=f"{text} ({'rule' if rule else 'words only'})", leave=False):
        gen = model.generate(replace(opts, seed=seed + k))[0]
        if out:
            folder = out / ("rule" if rule else "words-only") / text.replace(" ", "-")[:40]
            save_generation(gen, folder, f"{k:02d}", audio=False, picture=k == 0, prompt=reading.to_dict())
        heard = voices_heard(gen.score)
        passed += voices_hold(heard, reading.voices)
        most.append(max(heard, default=0))
        shares.append(heard.get(reading.voices, 0.0))
        lines.append(outer_lines(gen.score))
        candidates += gen.candidates
        tokens += gen.new_tokens
    return {"voices": reading.voices, "passed": passed, "most": most, "share": statistics.median(shares),
            "top": statistics.median(a for a, _ in lines), "bottom": statistics.median(b for _, b in lines),
            "candidates": candidates / n, "tokens_per_s": tokens / (time.time() - t0)}


def real_table(collection: str, limit: int) -> None:
    """Real pieces of a music21 corpus collection by number of parts (tracks with notes): how often all
    parts sound together, and how many pass the check for their own number."""
    from tunesmith.data.load import load_pieces
    from tunesmith.data.sources import scan_music21_corpus

    by_parts: dict[int, list[dict[int, float]]] = defaultdict(list)
    unread = []
    for src in tqdm(scan_music21_corpus([collection]).files[:limit], desc=collection, leave=False):
        try:
            pieces = load_pieces(src).pieces
        except Exception as e:  # noqa: BLE001 - an unreadable corpus file says nothing about voices
            unread.append(f"{src.display}: {type(e).__name__}")
            continue
        for score, _ in pieces:
            heard = voices_heard(score)
            if heard:
                by_parts[sum(1 for t in score.tracks if t.note_num())].append((heard, outer_lines(score)))
    for parts, pieces in sorted(by_parts.items()):
        shares = sorted(h.get(parts, 0.0) for h, _ in pieces)
        top, bottom = (statistics.median(line[i] for _, line in pieces) for i in (0, 1))
        print(f"| real {collection}, {parts} parts | {len(pieces)} pieces | more than {parts} at once: "
              f"{sum(max(h) > parts for h, _ in pieces)} | all {parts} sound, median {statistics.median(shares):.0%} "
              f"(10th percentile {shares[len(shares) // 10]:.0%}) | pass {sum(voices_hold(h, parts) for h, _ in pieces)} "
              f"| top / bottom line, median pitch {top:g} / {bottom:g} |")
    if unread:
        print(f"({len(unread)} {collection} files could not be read: {'; '.join(unread[:5])})")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None, help="model folder (default: the bundled model)")
    ap.add_argument("--prompts", default=";".join(PROMPTS), help="semicolon-separated, each asking for voices")
    ap.add_argument("--per-prompt", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0, help="sample k is drawn with seed + k")
    ap.add_argument("--replay", default=None, help="a MIDI file: time the grammar's mask over its tokens")
    ap.add_argument("--replay-voices", type=int, default=4)
    ap.add_argument("--real", action="append", default=[], help="a music21 corpus collection, e.g. palestrina")
    ap.add_argument("--real-limit", type=int, default=150)
    ap.add_argument("--written", type=int, default=ops.WRITTEN_VOICES,
                    help="fewer voices asked are decoded in this many and the outer ones kept (1 = the cap alone)")
    ap.add_argument("--out", type=Path, default=None, help="also save the samples: OUT/words-only/PROMPT, OUT/rule/PROMPT")
    args = ap.parse_args(argv)
    model = load(args.model)
    ops.WRITTEN_VOICES = args.written  # read by GenerationOptions.written_voices
    n = args.per_prompt
    prompts = [p.strip() for p in args.prompts.split(";") if p.strip()]
    if prompts:
        print(f"(fewer voices than {args.written} asked are written in {args.written}, the outer ones kept)" if args.written > 1
              else "(the voices asked held by the grammar's cap alone)")
        print("| prompt | voices | pass, words only | with the rule | most notes at once, words only → rule | "
              "all voices sound (median share) | top / bottom line, median pitch | candidates | new tokens/s (ratio) |")
        print("|---|---:|---:|---:|---|---:|---|---:|---:|")
    for text in prompts:
        free, held = run(model, text, n, args.seed, False, args.out), run(model, text, n, args.seed, True, args.out)
        print(f"| {text} | {held['voices']} | {free['passed']} / {n} | {held['passed']} / {n} | "
              f"{min(free['most'])}–{max(free['most'])} → {min(held['most'])}–{max(held['most'])} | "
              f"{free['share']:.0%} → {held['share']:.0%} | {free['top']:g} / {free['bottom']:g} → "
              f"{held['top']:g} / {held['bottom']:g} | {free['candidates']:.2f} → {held['candidates']:.2f} | "
              f"{free['tokens_per_s']:.0f} → {held['tokens_per_s']:.0f} "
              f"({held['tokens_per_s'] / free['tokens_per_s']:.2f}×) |", flush=True)
    if args.replay:
        from tunesmith.constraints import Constraints

        v = args.replay_voices
        print(f"\n| grammar mask per token, replaying {args.replay} | any texture | {v} voices | ratio |\n|---|---:|---:|---:|")
        free, held = grammar_ms(model, args.replay, Constraints()), grammar_ms(model, args.replay, Constraints(voices=v))
        print(f"| ms / token | {free:.3f} | {held:.3f} | {held / free:.2f}× |")
    for collection in args.real:
        real_table(collection, args.real_limit)


if __name__ == "__main__":
    main()
