"""The README's main job: bundled Bach chorales -> dataset -> a small model -> a new chorale (MIDI, WAV, PNG)."""

from __future__ import annotations

import time
from pathlib import Path

from tunesmith.data.build import build_dataset, format_report
from tunesmith.generate import GenerationOptions, load, save_generation
from tunesmith.tokenizer import Controls
from tunesmith.train import TrainConfig, train

DEMO_SOURCE = "music21:bach"


def run_demo(out: Path, minutes: float = 7.0, preset: str = "mini", limit: int | None = None) -> dict:
    """Run every stage, saying what it does; a model already trained in `out` is reused.

    `preset` and `limit` (files read) exist for quick trials and tests; the defaults are the demo."""
    t0 = time.time()
    data_dir, model_dir, gen_dir = out / "data", out / "model", out / "generated"
    print(f"[1/3] building the dataset from the music21 bundled corpus ({DEMO_SOURCE}) -> {data_dir}")
    print(format_report(build_dataset([DEMO_SOURCE], data_dir, limit=limit)))
    if (model_dir / "best" / "model.safetensors").is_file():
        print(f"[2/3] using the model already trained in {model_dir} (delete it to retrain)")
    else:
        print(f"[2/3] training a '{preset}' model for up to {minutes:g} minutes -> {model_dir}")
        cfg = TrainConfig(preset=preset, max_steps=1800, max_minutes=minutes, batch_size=8, lr=2e-3,
                          warmup_steps=50, eval_every=250)
        summary = train(data_dir, model_dir, cfg)
        val = summary["best_val_loss"]
        print(f"      {summary['steps']} steps, {summary['tokens']:,} tokens, {summary['tokens_per_s'] or 0:,} tokens/s, "
              f"validation loss {'n/a' if val is None else f'{val:.3f}'}; loss curve: {summary['loss_png']}")
    print("[3/3] generating a 16-bar chorale in 4/4 at 80 BPM for choir")
    model = load(model_dir)
    opts = GenerationOptions(controls=Controls(composer="bach", genre="chorale", meter="4/4", tempo=80,
                                               instruments=(52,)), bars=16, temperature=0.9, seed=0)
    gen = model.generate(opts)[0]
    paths = save_generation(gen, gen_dir, "chorale")
    print(f"done in {(time.time() - t0) / 60:.1f} min: {gen.score.note_num()} notes; checks: "
          + ", ".join(f"{k} {'ok' if v['pass'] else 'FAILED'}" for k, v in gen.report.items()))
    for kind, path in paths.items():
        print(f"  {kind:5} {path}")
    return {k: str(v) for k, v in paths.items()}
