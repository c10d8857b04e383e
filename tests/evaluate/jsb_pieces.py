"""Tiny synthetic chorales in Coconet's layout, for the JSB benchmark's tests."""

import numpy as np


def chorale_like(rng, steps: int) -> np.ndarray:
    """Four voices holding chord tones for a quarter note (4 steps) each, some silence."""
    chords = rng.choice([[72, 67, 64, 48], [74, 67, 62, 55], [72, 69, 65, 53]], size=steps // 4 + 1)
    piece = np.repeat(chords, 4, axis=0)[:steps].astype(np.float32)
    piece[rng.random(piece.shape) < 0.03] = np.nan
    return piece


def object_array(pieces) -> np.ndarray:
    out = np.empty(len(pieces), dtype=object)
    out[:] = pieces
    return out


def write_tiny_npz(path):
    """12 training pieces of 24-60 steps and 2 validation pieces (20 and 70 steps)."""
    rng = np.random.default_rng(0)
    np.savez(path, train=object_array([chorale_like(rng, int(n)) for n in rng.integers(24, 60, 12)]),
             valid=object_array([chorale_like(rng, int(n)) for n in (20, 70)]))
    return path
