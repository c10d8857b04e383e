"""Generation speed when several generations share the CPU cores, as a ratio of one generation alone with torch's
default threads (the baseline, measured in the same run).

    python benchmarks/concurrent_generation.py [--runs 2] [--bars 8]

Each case starts its processes at once (`tunesmith generate`'s code path: load the bundled model, read "compose a
piano piece in the style of Chopin", decode), each timing its own decoding. torch's default is one intra-op thread
per core, and its OpenMP threads spin while they wait for work: two processes that each do so on the same cores
slow each other far more than twofold, where one thread each shares them. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

WORKER = r"""
import json, sys, time, torch
from tunesmith.generate import GenerationOptions, load
from tunesmith.prompt import understand
threads, bars, seed = (int(x) for x in sys.argv[1:4])
if threads:
    torch.set_num_threads(threads)
model = load(None)
reading = understand("compose a piano piece in the style of Chopin", model.tokenizer.controls, model.tokenizer.meters,
                     bars=bars)
t = time.perf_counter()
gen = model.generate(GenerationOptions.from_reading(reading, seed=seed))[0]
print(json.dumps({"tokens": len(gen.ids), "seconds": time.perf_counter() - t, "threads": torch.get_num_threads()}))
"""


def run_case(processes: int, threads: int, bars: int) -> list[dict]:
    """Start `processes` generations at once (seeds 0, 1, ...); each one's tokens, seconds and threads."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(threads), str(bars), str(seed)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
             for seed in range(processes)]
    results = []
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode:
            raise SystemExit(f"a generation process failed (exit {proc.returncode})")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=2, help="processes started together in the shared cases")
    ap.add_argument("--bars", type=int, default=8)
    args = ap.parse_args(argv)
    cases = [("alone, torch's default threads (baseline)", 1, 0), ("alone, 1 thread", 1, 1),
             (f"{args.runs} at once, torch's default threads", args.runs, 0),
             (f"{args.runs} at once, 1 thread each", args.runs, 1)]
    print(f"{os.cpu_count()} CPU cores; 'compose a piano piece in the style of Chopin', {args.bars} bars, "
          f"seeds 0..{args.runs - 1}")
    print("| case | threads a process | tokens/s of each process | slowest vs baseline |")
    print("|---|---:|---|---:|")
    baseline = None
    for name, processes, threads in cases:
        results = run_case(processes, threads, args.bars)
        speeds = [r["tokens"] / r["seconds"] for r in results]
        baseline = baseline or speeds[0]
        print(f"| {name} | {results[0]['threads']} | {', '.join(f'{s:.0f}' for s in speeds)} | "
              f"{min(speeds) / baseline:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
