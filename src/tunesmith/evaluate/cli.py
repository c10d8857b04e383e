"""The `evaluate`, `listen-test` and `bench` commands; `add_commands(sub)` registers them on tunesmith's parser."""

from __future__ import annotations

import argparse
from pathlib import Path

from tunesmith.errors import TunesmithError


def cmd_evaluate_model(args) -> None:
    from tunesmith.evaluate.likelihood import evaluate_model, format_nll_table
    from tunesmith.fileio import write_json

    result = evaluate_model(args.model, args.data, split=args.split, stride=args.stride, batch_size=args.batch_size,
                            precision=args.precision, limit=args.limit, progress=True)
    print(format_nll_table(result))
    if args.out:
        write_json(args.out, result)
        print(f"written: {args.out}")


def cmd_evaluate_ngram(args) -> None:
    from tunesmith.evaluate.ngram import evaluate_ngram
    from tunesmith.fileio import write_json

    r = evaluate_ngram(args.data, order=args.order, split=args.split)
    print(f"{r['order']}-gram (Witten-Bell) fit on {r['train_tokens']:,} training tokens | {r['split']}: "
          f"{r['pieces']} pieces, {r['tokens']:,} tokens | {r['nll_per_token']:.4f} nats/token, "
          f"{r['nll_per_note']:.3f} nats/note, {r['bits_per_note']:.3f} bits/note")
    if args.out:
        write_json(args.out, r)
        print(f"written: {args.out}")


def cmd_evaluate_samples(args) -> None:
    from tunesmith.evaluate.report import SamplesOptions, evaluate_samples

    opts = SamplesOptions(split=args.split, train=args.train, style_field=args.style_field,
                          max_pieces=args.max_pieces, listen=args.listen, seed=args.seed,
                          soundfont=args.soundfont, per_class=args.per_class)
    summary = evaluate_samples(args.generated, args.reference, args.out, opts)
    print(summary)


def cmd_listen_make(args) -> None:
    from tunesmith.evaluate.listen import make_kit

    kit = make_kit(args.a_dir, args.b_dir, args.out, pairs=args.pairs, seed=args.seed, soundfont=args.soundfont,
                   max_seconds=args.max_seconds)
    print(f"listening test: {kit['trials']} trials in {kit['page']}")
    print(f"  open {kit['page']}/index.html, rate, press 'download ratings' and collect the CSV files")
    print(f"  answer key (keep it away from raters): {kit['key']}")
    print(f"  then: tunesmith listen-test score {args.out} RATINGS.csv ...")


def cmd_listen_score(args) -> None:
    from tunesmith.evaluate.listen import format_scores, score_ratings

    result = score_ratings(args.kit, args.ratings)
    print(format_scores(result))
    if args.out:
        from tunesmith.fileio import write_json

        write_json(args.out, result)


def cmd_bench_jsb(args) -> None:
    from tunesmith.evaluate.jsb import (JsbConfig, format_jsb_ensemble_table, format_jsb_table, run_jsb_benchmark,
                                       run_jsb_ensemble)

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    given = {field: getattr(args, flag) for flag, field in JSB_FLAGS.items() if getattr(args, flag) is not None}
    if "hidden_size" in given:  # SwiGLU width follows the model width, as in the presets
        given["intermediate_size"] = int(round(given["hidden_size"] * 2.75 / 16)) * 16
    if args.no_step_features:
        given["step_features"] = False
    if args.relative_pitch is not None:
        given["relative_pitch"] = args.relative_pitch
    if args.distill_from and args.model:
        raise TunesmithError("--distill-from trains a model: give it without --model (which only evaluates)")
    if (args.distill_transpositions or args.distill_temperature != 1.0) and not args.distill_from:
        raise TunesmithError("--distill-transpositions and --distill-temperature need --distill-from MODEL [MODEL ...]")
    if args.distill_temperature <= 0:
        raise TunesmithError(f"--distill-temperature must be > 0 (got {args.distill_temperature:g})")
    if args.model and len(args.model) > 1:
        result = run_jsb_ensemble(args.eval_data or args.data, args.out, args.model, split=args.eval_split,
                                  transpositions=args.eval_transpositions)
        print(format_jsb_ensemble_table(result))
        print(f"result: {Path(args.out) / 'result.json'}")
        return
    cfg = JsbConfig(**given)
    result = run_jsb_benchmark(args.data, args.out, cfg, train_split=args.train_split, eval_split=args.eval_split,
                               eval_data=args.eval_data, model_dir=args.model[0] if args.model else None,
                               init_from=args.init, transpositions=args.eval_transpositions,
                               teacher_dirs=args.distill_from, teacher_transpositions=args.distill_transpositions,
                               teacher_temperature=args.distill_temperature)
    print(format_jsb_table(result))
    print(f"result: {Path(args.out) / 'result.json'}")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return value


def _add_evaluate(sub) -> None:
    e = sub.add_parser("evaluate", help="measure a model (likelihood) or a set of generated pieces")
    es = e.add_subparsers(dest="evaluate_command", required=True)

    ng = es.add_parser("ngram", help="a same-data n-gram baseline's NLL (fit on train, scored on a split)")
    ng.add_argument("data", help="dataset folder")
    ng.add_argument("--order", type=_positive, default=5, help="n (at most 5)")
    ng.add_argument("--split", default="test", choices=["validation", "test"])
    ng.add_argument("--out", default=None, help="also write the figures as JSON here")
    ng.set_defaults(func=cmd_evaluate_ngram)

    m = es.add_parser("model", help="teacher-forced NLL on a dataset split: per token, per note, bits per note")
    m.add_argument("model", help="model folder (or a training output folder)")
    m.add_argument("--data", required=True, help="dataset folder built with the model's tokenizer")
    m.add_argument("--split", default="test", choices=["train", "validation", "test"])
    m.add_argument("--stride", type=_positive, default=None,
                   help="tokens scored per sliding window after the first (default: half the context)")
    m.add_argument("--batch-size", type=_positive, default=8)
    m.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp32"])
    m.add_argument("--limit", type=_positive, default=None, help="score only the first N pieces")
    m.add_argument("--out", help="also write the figures as JSON here")
    m.set_defaults(func=cmd_evaluate_model)

    s = es.add_parser("samples", help="compare generated pieces with real ones: features, novelty, validity, style")
    s.add_argument("generated", help="folder of MIDI files (NAME.json beside each gives the controls asked for), "
                                     "or a dataset folder / DATASET:split")
    s.add_argument("--reference", required=True, help="folder of MIDI files, or a dataset folder / DATASET:split")
    s.add_argument("--train", help="training dataset: novelty (copied passages) and the style classifier")
    s.add_argument("--out", required=True, help="folder for report.json and report.html")
    s.add_argument("--split", default="validation", help="split used when a set is a dataset folder")
    s.add_argument("--style-field", default="composer", choices=["composer", "collection", "genre"])
    s.add_argument("--per-class", type=_positive, default=150, help="training pieces per style label for the classifier")
    s.add_argument("--max-pieces", type=_positive, default=400, help="random subset of each set at most this big")
    s.add_argument("--listen", type=int, default=4, help="samples shown with audio and piano roll in the page")
    s.add_argument("--soundfont", help="SoundFont for the audio players")
    s.add_argument("--seed", type=int, default=0)
    s.set_defaults(func=cmd_evaluate_samples)


def _add_listen(sub) -> None:
    lt = sub.add_parser("listen-test", help="blind A/B + MOS listening tests")
    ls = lt.add_subparsers(dest="listen_command", required=True)
    mk = ls.add_parser("make", help="render two folders of MIDI into an anonymised, shuffled A/B test kit")
    mk.add_argument("a_dir")
    mk.add_argument("b_dir")
    mk.add_argument("--out", required=True)
    mk.add_argument("--pairs", type=_positive, default=20, help="trials (pairs of one A and one B piece)")
    mk.add_argument("--max-seconds", type=float, default=30.0, help="clip length")
    mk.add_argument("--soundfont")
    mk.add_argument("--seed", type=int, default=0)
    mk.set_defaults(func=cmd_listen_make)
    sc = ls.add_parser("score", help="preference share (with a 95%% interval) and MOS from collected ratings CSVs")
    sc.add_argument("kit", help="the kit folder written by `listen-test make` (holds the answer key)")
    sc.add_argument("ratings", nargs="+", help="ratings CSV files downloaded from the page")
    sc.add_argument("--out", help="also write the result as JSON here")
    sc.set_defaults(func=cmd_listen_score)


# flag -> JsbConfig field; unset flags keep JsbConfig's defaults (jsb.py pulls in torch: not imported to build the parser)
JSB_FLAGS = {"minutes": "max_minutes", "max_steps": "max_steps", "warmup_steps": "warmup_steps",
             "context_steps": "context_steps", "hidden_size": "hidden_size", "layers": "num_layers", "heads": "num_heads",
             "dropout": "dropout",
             "batch_size": "batch_size", "lr": "lr", "transpose": "transpose", "eval_every": "eval_every_minutes",
             "seed": "seed"}


def _add_bench(sub) -> None:
    b = sub.add_parser("bench", help="published benchmarks")
    bs = b.add_subparsers(dest="bench_command", required=True)
    j = bs.add_parser("jsb", help="Music Transformer's JSB chorales NLL benchmark (Coconet 16th-note format)",
                      description="Unset model and training options keep the defaults of "
                                  "tunesmith.evaluate.jsb.JsbConfig (printed when training starts, kept in result.json).")
    j.add_argument("--data", required=True, help=".npz with per-split sequences of (steps, 4) pitch arrays")
    j.add_argument("--train-split", default="train")
    j.add_argument("--eval-split", default="valid", help="split reported (e.g. valid, or test in another file)")
    j.add_argument("--eval-data", help="take the evaluation split from this .npz instead of --data")
    j.add_argument("--model", nargs="+", help="evaluate this saved benchmark model instead of training one; "
                                            "several: their average, reported as an ensemble")
    j.add_argument("--eval-transpositions", type=int, default=0, metavar="K",
                   help="also report the NLL of the model averaged over the piece transposed by -K..+K semitones")
    j.add_argument("--init", help="train this saved benchmark model further (its architecture, this run's schedule "
                                  "flags); the reported steps and minutes include both runs")
    j.add_argument("--distill-from", nargs="+", metavar="MODEL",
                   help="train on these saved models' averaged predictions over the training pieces instead of the "
                        "tokens alone (knowledge distillation; the result is one model, scored in one pass)")
    j.add_argument("--distill-transpositions", type=int, default=0, metavar="K",
                   help="the teacher reads each training piece transposed by -K..+K and averages")
    j.add_argument("--distill-temperature", type=float, default=1.0, metavar="T",
                   help="soften the teacher's targets to q^(1/T), renormalised (T > 1: less sure; default 1)")
    j.add_argument("--out", default="runs/jsb", help="folder for the model and result.json")
    j.add_argument("--minutes", type=float, help="training time budget")
    j.add_argument("--max-steps", type=_positive, help="optimizer steps (the cosine schedule follows steps or minutes, "
                                                      "whichever is further along)")
    j.add_argument("--warmup-steps", type=int)
    j.add_argument("--context-steps", type=_positive, help="time steps per window (x4 tokens)")
    j.add_argument("--hidden-size", type=_positive)
    j.add_argument("--layers", type=_positive)
    j.add_argument("--heads", type=_positive)
    j.add_argument("--batch-size", type=_positive)
    j.add_argument("--dropout", type=float, help="dropout on embeddings and block outputs (default 0.3)")
    j.add_argument("--no-step-features", action="store_true",
                   help="ablation: tokens and positions only (no voice, beat-phase and held-pitch embeddings)")
    j.add_argument("--relative-pitch", action=argparse.BooleanOptionalAction, default=None,
                   help="interval embeddings in and interval scores out (relative pitch)")
    j.add_argument("--lr", type=float)
    j.add_argument("--transpose", type=int, help="random transposition range in training, semitones")
    j.add_argument("--eval-every", type=float, help="minutes between logged validation figures")
    j.add_argument("--threads", type=_positive, default=None, help="torch CPU threads (default: torch's choice)")
    j.add_argument("--seed", type=int)
    j.set_defaults(func=cmd_bench_jsb)


def add_commands(sub) -> None:
    """Register `evaluate`, `listen-test` and `bench` on tunesmith's top-level subparsers."""
    _add_evaluate(sub)
    _add_listen(sub)
    _add_bench(sub)
