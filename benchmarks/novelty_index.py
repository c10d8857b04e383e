"""Speed of the novelty n-gram index: build time, memory and lookups per second as the corpus grows.

    python benchmarks/novelty_index.py [--dataset DATASET] [--sizes 100000,1000000,10000000] [--samples 100]

With --dataset, the first row indexes that dataset's training split read from its REMI ids (the path
`evaluate samples --train` takes); the synthetic rows index random melodies of the given total note
counts (a whole-corpus scale), then look up samples of 200 notes, each holding a 40-note passage copied
(transposed) from the corpus. The baseline is the naive all-pairs scan (every sample against every
piece), timed on the smallest corpus only and extrapolated linearly in corpus size.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from tunesmith.evaluate.novelty import NgramIndex, index_dataset, symbols_of


def melody(rng: np.random.Generator, n: int) -> np.ndarray:
    pitches = 60 + np.cumsum(rng.integers(-5, 6, n)) % 30
    onsets = np.cumsum(rng.choice([0.25, 0.5, 0.5, 1.0], n))
    return symbols_of(onsets, pitches)


def synthetic_corpus(total_notes: int, piece_notes: int = 500, seed: int = 0) -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [(f"p{k}", melody(rng, piece_notes)) for k in range(max(1, total_notes // piece_notes))]


def samples_with_copies(corpus: list[tuple[str, np.ndarray]], count: int, seed: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        _, src = corpus[rng.integers(len(corpus))]
        start = int(rng.integers(0, len(src) - 40))
        out.append(np.concatenate([melody(rng, 80), src[start: start + 40], melody(rng, 80)]))
    return out


def naive_longest(sample: np.ndarray, corpus: list[tuple[str, np.ndarray]]) -> int:
    """All pairs: for every piece, the longest common substring by dynamic programming over diagonals."""
    best = 0
    for _, piece in corpus:
        eq = sample[:, None] == piece[None, :]
        run = np.zeros(len(piece) + 1, dtype=np.int32)
        for row in eq:
            run[1:] = np.where(row, run[:-1] + 1, 0)
            best = max(best, int(run.max()))
    return best


def bench(corpus: list[tuple[str, np.ndarray]], samples: list[np.ndarray], label: str) -> NgramIndex:
    t0 = time.perf_counter()
    index = NgramIndex.from_pieces(corpus)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    lengths = [index.longest_match(s).notes for s in samples]
    lookup = time.perf_counter() - t0
    mem = (index.hashes.nbytes + index.positions.nbytes + index.symbols.nbytes) / 2**20
    notes = sum(len(s) for _, s in corpus)
    print(f"{label:>28} {notes:>11,} {build:>9.2f} {mem:>8.0f} {len(samples) / lookup:>11.0f} "
          f"{np.median(lengths):>9.0f}")
    return index


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", help="a dataset folder: index its training split too")
    p.add_argument("--sizes", default="100000,1000000,10000000", help="synthetic corpus sizes in notes")
    p.add_argument("--samples", type=int, default=100)
    args = p.parse_args()
    print(f"{'corpus':>28} {'notes':>11} {'build s':>9} {'MiB':>8} {'samples/s':>11} {'median':>9}")
    if args.dataset:
        t0 = time.perf_counter()
        index = index_dataset(args.dataset)
        print(f"{'dataset (REMI read + build)':>28} {len(index.symbols):>11,} {time.perf_counter() - t0:>9.2f}")
    sizes = [int(s) for s in args.sizes.split(",")]
    for size in sizes:
        corpus = synthetic_corpus(size)
        bench(corpus, samples_with_copies(corpus, args.samples), f"synthetic {size:,}")
    small = synthetic_corpus(sizes[0])
    few = samples_with_copies(small, 3)
    t0 = time.perf_counter()
    naive = [naive_longest(s, small) for s in few]
    per_sample = (time.perf_counter() - t0) / len(few)
    print(f"baseline all-pairs scan: {per_sample:.2f} s per sample on {sizes[0]:,} notes "
          f"(~{per_sample * sizes[-1] / sizes[0]:.0f} s per sample on {sizes[-1]:,}); found {naive} symbols")


if __name__ == "__main__":
    main()
