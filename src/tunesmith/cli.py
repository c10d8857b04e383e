"""`tunesmith` command line: a thin layer over the Python API."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from tunesmith import audio_cli
from tunesmith.errors import TunesmithError
from tunesmith.evaluate.cli import _positive
from tunesmith.ops import HAND_SPAN


def cmd_data_build(args) -> None:
    from tunesmith.data.build import build_dataset, format_report

    report = build_dataset(args.sources, args.out, workers=args.workers, use_cache=not args.no_cache,
                           limit=args.limit, cache_dir=args.cache_dir)
    print(format_report(report))


def cmd_train(args) -> None:
    from tunesmith.train import parse_weight, recipe_stages, train_stages

    dataset = args.data or args.dataset
    if not dataset or (args.data and args.dataset and args.data != args.dataset):
        raise TunesmithError("give the dataset folder once: `tunesmith train DATASET` or `--data DATASET`")
    plan = recipe_stages(
        args.preset, resume=args.resume, dataset=dataset, max_steps=args.max_steps, max_minutes=args.max_minutes,
        batch_size=args.batch_size, grad_accum=args.grad_accum, lr=args.lr, warmup_steps=args.warmup_steps,
        eval_every=args.eval_every, seed=args.seed, precision=args.precision, max_len=args.max_len, dropout=args.dropout,
        init_from=args.init_from, window_key=False if args.piece_key else None,
        weights=dict(parse_weight(w) for w in args.weight) if args.weight else None)
    plan = [(name, replace(cfg, warmup_steps=min(cfg.warmup_steps, max(1, cfg.max_steps // 10)))) for name, cfg in plan]
    summary = train_stages(dataset, args.out, plan, resume=args.resume)
    print(json.dumps(summary, indent=2))


def cmd_styles(args) -> None:
    from tunesmith.generate import load
    from tunesmith.prompt import styles_known

    tok = load(args.model).tokenizer
    print(f"{'the bundled model' if args.model is None else args.model} knows (training pieces, and the words that "
          "name each in a prompt):")
    print(styles_known(tok.controls, tok.meters))
    print("\ne.g. tunesmith generate \"a nocturne in the style of Chopin\", or --style chopin --mood calm")


def cmd_generate(args) -> None:
    from tunesmith.generate import GenerationOptions, load, save_generation, tokens_per_second
    from tunesmith.instruments import parse_instruments
    from tunesmith.prompt import understand

    audio_cli.prepare_generate(args)  # --prompt-audio: transcribe it into the --prompt-midi file
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    model = load(args.model)
    tok = model.tokenizer
    reading = understand(
        args.prompt, tok.controls, tok.meters, style=args.style, bars=args.bars, seconds=args.seconds, mood=args.mood,
        default_bars=None if args.bars == 0 else 16,
        composer=args.composer, collection=args.collection, genre=args.genre, key=args.key, meter=args.meter,
        tempo=args.tempo, instruments=parse_instruments(args.instruments) if args.instruments else None,
        voices=args.voices,
    )
    print("understood:" if args.prompt else "controls:")
    print(reading.summary())
    opts = GenerationOptions.from_reading(
        reading, prompt_midi=args.prompt_midi, prompt_bars=args.prompt_bars, greedy=args.greedy,
        temperature=args.temperature, top_k=args.top_k, top_p=args.top_p, num_beams=args.num_beams,
        num_samples=args.num_samples, seed=args.seed, max_new_tokens=args.max_new_tokens, candidates=args.candidates,
        fix_key=not args.no_fix_key, typical=not args.no_typical, key_bias=args.key_bias,
        style_guidance=args.style_guidance, hand_span=args.hand_span or None,
    )
    gens = model.generate(opts)
    for k, gen in enumerate(gens):
        stem = f"{args.name}-{k}" if len(gens) > 1 else args.name
        paths = save_generation(gen, args.out, stem, audio=not args.no_audio, soundfont=args.soundfont,
                                sample_rate=args.sample_rate, prompt=reading.to_dict())
        paths.update(audio_cli.write_extra_formats(gen.score, args.out, stem, args))  # --format musicxml
        print(f"{stem}: {gen.score.note_num()} notes, {gen.new_tokens} tokens in {gen.seconds:.1f} s "
              f"({gen.candidates} candidate{'s' if gen.candidates > 1 else ''})")
        print(format_adherence(gen.report))
        for kind, path in paths.items():
            print(f"  {kind:5} {path}")
    print(f"generation speed: {tokens_per_second(gens):.0f} tokens/s")


def format_adherence(report: dict) -> str:
    """One line per control: requested, measured, pass/FAIL."""
    from tunesmith.instruments import program_name

    lines = []
    for name, row in report.items():
        if not isinstance(row, dict):
            continue
        if name == "valid_midi":
            lines.append(f"  {'midi':<12}{row['notes']} notes{'':<20}{'pass' if row['pass'] else 'FAIL'}")
            continue
        if name == "stuck":  # not a control: a check that the sampler did not loop
            run = f"{row['measured']} bar{'' if row['measured'] == 1 else 's'} in a row mostly on 2 pitches"
            lines.append(f"  {'stuck':<12}{run:<45} {'pass' if row['pass'] else 'FAIL'} (at most {row['limit']})")
            continue
        if name == "parts":  # not a control: a check that every instrument of an ensemble plays through
            rest = max(row["measured"].values())
            run = f"every part plays: the longest rest {rest} bar{'' if rest == 1 else 's'}"
            lines.append(f"  {'parts':<12}{run:<45} {'pass' if row['pass'] else 'FAIL'} (at most {row['limit']})")
            continue
        measured = row.get("measured")
        if name == "voices":  # the most notes heard together, and how long all the voices asked sound
            measured = f"{measured['most']} at most, {row['requested']} for {measured['share']:.0%}"
        elif isinstance(measured, dict):  # the mood: the key and tempo it was judged by
            measured = ", ".join(f"{v:g} BPM" if k == "tempo" and isinstance(v, (int, float)) else str(v)
                                 for k, v in measured.items())
        extra = f" (transposed {row['transposed_by']:+d} from {row['measured_before']})" if "transposed_by" in row else ""
        if "written_as" in row:
            why = row.get("written_why", "the style's instrument in training")
            extra = f" (written as {', '.join(program_name(p) for p in row['written_as'])}, {why}; voiced as asked)"
        if row.get("players_sound"):
            n = row["players_sound"]
            extra += f"; at most {n} note{'s' if n > 1 else ''} at once, as {'its player' if n == 1 else 'its players'} can"
        if row.get("doubling"):
            names = [program_name(p) for p in row["doubling"]]
            extra += f"; {', '.join(names)} double{'s' if len(names) == 1 else ''} another part: the piece has fewer voices"
        if name == "instruments" and not row["pass"]:
            silent = [program_name(p) for p in row["requested"] if p not in (row["measured"] or []) and p != -1]
            extra += f"; no part for {', '.join(silent)}: the piece has fewer voices" if silent else ""
            if "drum_pieces_in_training" in row:
                n = row["drum_pieces_in_training"]
                extra += f"; no drums: {n} of this model's training pieces {'has' if n == 1 else 'have'} a drum part"
        elif row.get("shared_by_register"):
            extra = " (the model left one silent: its notes shared out by register)"
        if "outer_of" in row:
            extra = f" (the outer voices of {row['outer_of']} written)"
        if "chosen" in row:  # not asked: drawn from the style's training pieces (typical.py)
            extra = f" (not asked: {row['chosen']})"
        verb = "chose" if "chosen" in row else "asked"
        lines.append(f"  {name:<12}{verb} {row.get('requested')!s:<16} measured {measured!s:<22} "
                     f"{'pass' if row['pass'] else 'FAIL'}{extra}")
    return "\n".join(lines)


def cmd_export(args) -> None:
    from tunesmith.generate import export

    out = export(args.model, args.out, args.dtype)
    print(out)
    for doc in sorted(out.glob("*.md")):
        print(f"kept {doc}: its figures describe the weights it was written for; update them")


def cmd_demo(args) -> None:
    from tunesmith.demo import run_demo

    run_demo(Path(args.out), minutes=args.minutes, preset=args.preset, limit=args.limit)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tunesmith", description="Transformer music generation: data, training, generation.")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("data", help="build datasets").add_subparsers(dest="data_command", required=True)
    b = d.add_parser("build", help="music files -> de-duplicated, split, tokenized dataset folder")
    b.add_argument("sources", nargs="+", help="'music21' (the bundled corpus), 'music21:bach,palestrina', folders or files")
    b.add_argument("--out", required=True, help="dataset folder to write")
    b.add_argument("--workers", type=int, default=None, help="parallel processes (default: CPU count)")
    b.add_argument("--limit", type=int, default=None, help="read only the first N files (quick trials)")
    b.add_argument("--no-cache", action="store_true", help="re-read every file instead of using the cache")
    b.add_argument("--cache-dir", default=None, help="per-file cache (default ~/.cache/tunesmith or $TUNESMITH_CACHE)")
    b.set_defaults(func=cmd_data_build)

    t = sub.add_parser("train", help="train a model on a dataset folder")
    t.add_argument("dataset", nargs="?", help="dataset folder (tunesmith data build)")
    t.add_argument("--data", default=None, help="the dataset folder, as a flag")
    t.add_argument("--out", required=True)
    t.add_argument("--preset", default="small",
                   help="model size (tiny, mini, small, base) or a recipe: 'default' = how the bundled model was made, "
                        "in three stages (small at context 512 without dropout, batch 16: 4800 steps at lr 1e-3 from "
                        "scratch, then 2000 at lr 2e-4 with per-window keys, then 2000 more with classical piano drawn "
                        "3x; about 3 h on 2 CPU cores; --resume continues the stage it stopped in); 'finetune' = the "
                        "schedule that fine-tunes a model given --init-from (2000 steps, lr 2e-4, at most 48 min); flags "
                        "override every stage's")
    t.add_argument("--max-steps", type=int, default=None, help="optimizer steps (default 2000)")
    t.add_argument("--max-minutes", type=float, default=None)
    t.add_argument("--max-len", type=int, default=None, help="context length (default: the preset's)")
    t.add_argument("--dropout", type=float, default=None,
                   help="attention dropout (default: the preset's; 0 trains ~3x faster on a CPU)")
    t.add_argument("--batch-size", type=int, default=None, help="sequences per step (default 8)")
    t.add_argument("--grad-accum", type=int, default=None)
    t.add_argument("--lr", type=float, default=None, help="peak learning rate (default 1e-3)")
    t.add_argument("--warmup-steps", type=int, default=None, help="(default 100)")
    t.add_argument("--eval-every", type=int, default=None, help="steps between validation runs (default 200)")
    t.add_argument("--seed", type=int, default=None)
    t.add_argument("--precision", default=None, choices=["auto", "bf16", "fp32"])
    t.add_argument("--resume", action="store_true", help="continue the run in --out where it stopped")
    t.add_argument("--init-from", default=None, metavar="MODEL",
                   help="fine-tune: start from this model folder's weights ('default' = the bundled model); its size "
                        "replaces --preset's, tokens shared with its vocabulary keep their embeddings")
    t.add_argument("--piece-key", action="store_true",
                   help="label every training window with its piece's key (default: the key of the window's own notes)")
    t.add_argument("--weight", action="append", default=[], metavar="FIELD=VALUE:FACTOR",
                   help="draw the pieces whose metadata FIELD is VALUE FACTOR times as often (repeatable), "
                        "e.g. collection=pianomidi:3 to hear a small collection more")
    t.set_defaults(func=cmd_train)

    g = sub.add_parser("generate", help="generate MIDI, WAV and piano rolls from a sentence and/or controls")
    g.add_argument("prompt", nargs="?", default=None,
                   help="what to compose, e.g. 'a slow, sad chorale in D minor for strings, 16 bars'")
    g.add_argument("--model", default=None, help="model folder or training output folder (default: the bundled model)")
    g.add_argument("--style", help="a composer, collection or genre the model knows (e.g. bach, chorale, reel)")
    g.add_argument("--composer")
    g.add_argument("--collection")
    g.add_argument("--genre")
    g.add_argument("--key", help="e.g. 'D minor', 'Bb major'")
    g.add_argument("--meter", help="time signature, e.g. 3/4")
    g.add_argument("--tempo", type=float, help="beats (quarter notes) per minute")
    g.add_argument("--instruments", help="GM names or numbers, comma-separated: piano,violin or 0,40; drums = -1")
    g.add_argument("--bars", type=int, default=None, help="bars to generate (default: the prompt's, else 16; 0 = let the model decide)")
    g.add_argument("--seconds", type=float, default=None, help="length in seconds (turned into bars with the tempo)")
    g.add_argument("--mood", choices=["happy", "sad", "calm", "energetic"], help="checked through the mode and tempo")
    g.add_argument("--voices", type=int, default=None,
                   help="never more than this many notes sound together, and all of them for part of the piece "
                        "(e.g. 4 for a four-part texture; the prompt's 'for four voices' sets it too); 1-3 are the "
                        "outer voices of four written")
    g.add_argument("--candidates", type=int, default=4,
                   help="pieces tried until key, mood and voices measure as asked, the piece is not stuck in a loop "
                        "and no part of an ensemble rests half of it")
    g.add_argument("--no-fix-key", action="store_true", help="never transpose a candidate into the asked key")
    g.add_argument("--no-typical", action="store_true",
                   help="leave a meter / tempo / instruments not asked to the model (default: those of one of the "
                        "asked style's training pieces)")
    g.add_argument("--key-bias", type=float, default=1.0,
                   help="pull of pitch choices towards the asked tonic and mode, on candidates after the first (0 = off)")
    g.add_argument("--style-guidance", type=float, default=1.0,
                   help="classifier-free guidance towards the asked style (1 = off; 2-3 = stronger style)")
    g.add_argument("--hand-span", type=int, default=HAND_SPAN,
                   help="notes a piano strikes together fit two hands of five fingers, each reaching this many "
                        f"semitones (default {HAND_SPAN}, a tenth; 0 = any chord)")
    g.add_argument("--prompt-midi", help="continue the opening of this MIDI file")
    g.add_argument("--prompt-bars", type=int, default=4)
    g.add_argument("--greedy", action="store_true")
    g.add_argument("--temperature", type=float, default=1.0)
    g.add_argument("--top-k", type=int, default=0)
    g.add_argument("--top-p", type=float, default=0.95)
    g.add_argument("--num-beams", type=int, default=1)
    g.add_argument("--num-samples", type=int, default=1)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--max-new-tokens", type=int, default=None)
    g.add_argument("--out", default="generated")
    g.add_argument("--name", default="sample", help="file name stem")
    g.add_argument("--no-audio", action="store_true", help="skip the WAV")
    g.add_argument("--soundfont", help="a .sf2/.sf3 General MIDI SoundFont (default: one found offline)")
    g.add_argument("--sample-rate", type=int, default=44100)
    g.add_argument("--threads", type=_positive, default=None,
                   help="torch CPU threads (default: torch's choice; 1 when other work shares the cores: "
                        "benchmarks/concurrent_generation.py)")
    audio_cli.add_generate_options(g)  # --prompt-audio, --format musicxml|mxl
    g.set_defaults(func=cmd_generate)

    st = sub.add_parser("styles", help="the composers, collections, genres and moods a model can be asked for")
    st.add_argument("--model", default=None, help="model folder (default: the bundled model)")
    st.set_defaults(func=cmd_styles)
    audio_cli.add_commands(sub)  # render, transcribe

    x = sub.add_parser("export", help="copy a model with its weights in bf16/fp16 (how a model ships)")
    x.add_argument("model")
    x.add_argument("--out", required=True)
    x.add_argument("--dtype", default="bf16", choices=["bf16", "fp16", "fp32"])
    x.set_defaults(func=cmd_export)

    m = sub.add_parser("demo", help="the whole pipeline on the bundled Bach chorales: data, a model trained for 7 minutes, a new piece")
    m.add_argument("--out", default="runs/demo")
    m.add_argument("--minutes", type=float, default=7.0, help="training time budget")
    m.add_argument("--preset", default="mini", help="model size (tiny for a quick trial)")
    m.add_argument("--limit", type=int, default=None, help="read only the first N corpus files (quick trial)")
    m.set_defaults(func=cmd_demo)

    from tunesmith.evaluate.cli import add_commands as add_evaluation_commands

    add_evaluation_commands(sub)  # evaluate model|samples, listen-test make|score, bench jsb
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except TunesmithError as e:
        print(f"tunesmith: error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("tunesmith: interrupted", file=sys.stderr)
        sys.exit(130)
