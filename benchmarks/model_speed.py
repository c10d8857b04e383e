"""Training and generation speed of a preset on this machine, as ratios against a baseline in the same run.

    python benchmarks/model_speed.py [--preset small] [--steps 6] [--tokens 256]

Training: tokens/s of forward+backward+AdamW on random tokens, fp32 (baseline) vs bf16 autocast, and
bf16 without the preset's attention dropout (`tunesmith train --dropout 0`: on a CPU, dropout takes
attention off its fused kernel).
Generation: new tokens/s with the KV cache (tunesmith's default) vs without it (baseline), greedy.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import torch

from tunesmith.model import build_model, count_parameters, preset


def train_tokens_per_s(cfg, precision: str, steps: int, batch: int, seq: int) -> float:
    torch.manual_seed(0)
    model = build_model(cfg).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x = torch.randint(3, cfg.vocab_size, (batch, seq))

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = model(input_ids=x, labels=x).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    step()  # warm-up
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * batch * seq / (time.perf_counter() - t0)


@torch.no_grad()
def generate_tokens_per_s(cfg, new_tokens: int, use_cache: bool) -> float:
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    x = torch.randint(3, cfg.vocab_size, (1, 8))
    kw = dict(max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False, use_cache=use_cache,
              pad_token_id=0, eos_token_id=None)
    model.generate(input_ids=x, **{**kw, "max_new_tokens": 8, "min_new_tokens": 8})  # warm-up
    t0 = time.perf_counter()
    model.generate(input_ids=x, **kw)
    return new_tokens / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="small")
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--seq", type=int, default=512)
    p.add_argument("--tokens", type=int, default=256)
    args = p.parse_args()
    cfg = preset(args.preset, vocab_size=700)
    print(f"preset {args.preset}: {count_parameters(build_model(cfg)) / 1e6:.2f}M parameters, "
          f"{torch.get_num_threads()} threads, torch {torch.__version__}")
    print(f"{'measure':<34}{'tokens/s':>12}{'x baseline':>12}")
    base = train_tokens_per_s(cfg, "fp32", args.steps, args.batch, args.seq)
    bf16 = train_tokens_per_s(cfg, "bf16", args.steps, args.batch, args.seq)
    print(f"{'train fp32 (baseline)':<34}{base:>12,.0f}{1.0:>12.2f}")
    print(f"{'train bf16 autocast':<34}{bf16:>12,.0f}{bf16 / base:>12.2f}")
    if cfg.dropout > 0:
        no_drop = train_tokens_per_s(replace(cfg, dropout=0.0), "bf16", args.steps, args.batch, args.seq)
        print(f"{'train bf16, attention dropout 0':<34}{no_drop:>12,.0f}{no_drop / base:>12.2f}")
    nocache = generate_tokens_per_s(cfg, args.tokens, use_cache=False)
    cache = generate_tokens_per_s(cfg, args.tokens, use_cache=True)
    print(f"{'generate, no KV cache (baseline)':<34}{nocache:>12,.0f}{1.0:>12.2f}")
    print(f"{'generate, KV cache':<34}{cache:>12,.0f}{cache / nocache:>12.2f}")


if __name__ == "__main__":
    main()
