"""Validation loss against training time and tokens for several runs: which size wins at this compute.

    python benchmarks/compare_runs.py runs/full/mini runs/full/small --out runs/size-curves.png

Reads each RUN/metrics.jsonl (written by `tunesmith train`) and prints, per run, the validation loss at
every evaluation with the minutes and tokens spent to reach it, and the ratio of that loss to the first
run's (the baseline) after the same number of training tokens, interpolated. Minutes are wall time,
so a run that shared its cores looks slower than it is; tokens are not. The picture plots loss against
both.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def validation_curve(run: Path) -> np.ndarray:
    """(n, 3) rows of (minutes, tokens, validation loss), each evaluation timed by the log line before it."""
    rows, last = [], None
    for line in (run / "metrics.jsonl").read_text().splitlines():
        r = json.loads(line)
        if "loss" in r:
            last = r
        elif "val_loss" in r and last is not None:
            rows.append((last["seconds"] / 60, last["tokens"], r["val_loss"]))
    return np.array(rows, dtype=float).reshape(-1, 3)


def model_size(run: Path) -> str:
    cfg = json.loads((run / "best" / "model.json").read_text())
    return f"{cfg['preset']} d={cfg['hidden_size']} L={cfg['num_layers']}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", type=Path)
    p.add_argument("--out", type=Path, default=None, help="PNG of validation loss against minutes and tokens")
    args = p.parse_args()
    curves = {run: validation_curve(run) for run in args.runs}
    sizes = {run: model_size(run) for run in args.runs}
    base_run = args.runs[0]
    base = curves[base_run]
    print(f"{'run':<28}{'size':<24}{'minutes':>9}{'tokens':>12}{'val loss':>10}{'x baseline':>12}")
    for run, c in curves.items():
        for minutes, tokens, loss in c:
            inside = base[0, 1] <= tokens <= base[-1, 1]
            ratio = f"{loss / np.interp(tokens, base[:, 1], base[:, 2]):.3f}" if inside else "-"
            print(f"{str(run):<28}{sizes[run]:<24}{minutes:>9.1f}{tokens / 1e6:>11.1f}M{loss:>10.4f}{ratio:>12}")
    if args.out:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib.figure import Figure

        fig = Figure(figsize=(11, 4), dpi=110)
        by_minutes, by_tokens = fig.subplots(1, 2, sharey=True)
        for run, c in curves.items():
            label = f"{run.parent.name}/{run.name} ({sizes[run]})"
            by_minutes.plot(c[:, 0], c[:, 2], "o-", label=label)
            by_tokens.plot(c[:, 1] / 1e6, c[:, 2], "o-", label=label)
        by_minutes.set_xlabel("training minutes (wall time)")
        by_tokens.set_xlabel("training tokens (millions)")
        by_minutes.set_ylabel("validation cross-entropy per token (nats)")
        for ax in (by_minutes, by_tokens):
            ax.grid(alpha=0.3)
        by_tokens.legend()
        fig.tight_layout()
        fig.savefig(args.out)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
