"""Set-level comparison after Yang & Lerch 2018, "On the evaluation of generative models in music".

For each feature:

- absolute: mean and standard deviation over each set;
- intra-set distances: between every two pieces of one set; inter-set distances: between every piece of
  the generated set and every piece of the reference set (absolute difference for scalars, Euclidean
  for histograms);
- each distance distribution smoothed with a Gaussian KDE (Scott's bandwidth, as scipy's default);
- overlap area (OA) and Kullback-Leibler divergence KL(intra || inter) between the reference set's
  intra-set distances and the inter-set distances (and the same for the generated set's). A generated
  set like the reference has inter-set distances distributed like the reference's own: OA near 1, KL
  near 0.

Unlike mgeval, both densities are evaluated on one common grid spanning both distributions (mgeval's
`kl_dist` evaluates each on its own range, so its KL compares densities at different points).
`real_vs_real` gives the ceiling: the same figures for two disjoint halves of the reference set.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from tunesmith.evaluate.features import FEATURES, HISTOGRAM_FEATURES, feature_matrix

GRID_POINTS = 1024
KL_FLOOR = 1e-12  # density floor inside the KL logarithm (a Gaussian tail far out underflows to 0)
MAX_PIECES = 400  # larger sets are subsampled for the pairwise distances


# ---- distances ----------------------------------------------------------------------------------

def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) matrix of Euclidean distances between rows (absolute difference for 1 column)."""
    diff = a[:, None, :] - b[None, :, :]
    return np.sqrt((diff ** 2).sum(axis=-1))


def intra_set_distances(x: np.ndarray) -> np.ndarray:
    """Distances between every two distinct rows of x (each pair once)."""
    if len(x) < 2:
        return np.zeros(0)
    i, j = np.triu_indices(len(x), k=1)
    return _distances(x, x)[i, j]


def inter_set_distances(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return _distances(x, y).ravel() if len(x) and len(y) else np.zeros(0)


# ---- densities ----------------------------------------------------------------------------------

def scott_bandwidth(samples: np.ndarray) -> float:
    """Scott's rule for 1-D data (scipy.stats.gaussian_kde's default), floored so a constant set works."""
    n = len(samples)
    std = float(np.std(samples, ddof=1)) if n > 1 else 0.0
    floor = 1e-3 * max(1.0, float(np.abs(samples).max())) if n else 1e-3
    return max(std * n ** (-1 / 5), floor)


def kde(samples: np.ndarray, grid: np.ndarray, bandwidth: float | None = None) -> np.ndarray:
    """Gaussian kernel density of `samples` evaluated at `grid`."""
    h = bandwidth or scott_bandwidth(samples)
    z = (grid[:, None] - samples[None, :]) / h
    return np.exp(-0.5 * z ** 2).sum(axis=1) / (len(samples) * h * math.sqrt(2 * math.pi))


def common_grid(a: np.ndarray, b: np.ndarray, points: int = GRID_POINTS) -> np.ndarray:
    """One grid covering both samples and 4 bandwidths beyond them."""
    pad = 4 * max(scott_bandwidth(a), scott_bandwidth(b))
    lo = min(a.min(), b.min()) - pad
    hi = max(a.max(), b.max()) + pad
    return np.linspace(lo, hi, points)


def overlap_and_kl(p_samples: np.ndarray, q_samples: np.ndarray) -> tuple[float, float]:
    """(overlap area, KL(p || q)) of the KDEs of two samples, both on one common grid."""
    if len(p_samples) < 2 or len(q_samples) < 2:
        return math.nan, math.nan
    grid = common_grid(p_samples, q_samples)
    p, q = kde(p_samples, grid), kde(q_samples, grid)
    oa = float(np.trapezoid(np.minimum(p, q), grid))
    p_n, q_n = p / np.trapezoid(p, grid), q / np.trapezoid(q, grid)
    kl = float(np.trapezoid(p_n * np.log(np.maximum(p_n, KL_FLOOR) / np.maximum(q_n, KL_FLOOR)), grid))
    return oa, max(kl, 0.0)


# ---- set comparison -----------------------------------------------------------------------------

@dataclass
class FeatureComparison:
    feature: str
    n_generated: int
    n_reference: int
    generated_mean: float | list[float]
    generated_std: float | list[float]
    reference_mean: float | list[float]
    reference_std: float | list[float]
    oa: float  # overlap area of reference intra-set vs inter-set distances (1 = alike)
    kl: float  # KL(reference intra || inter), nats (0 = alike)
    oa_generated: float  # the same with the generated set's intra-set distances
    kl_generated: float
    value_oa: float  # overlap area of the feature's own densities (scalar features; NaN for histograms)


def _summary(x: np.ndarray) -> tuple[float | list[float], float | list[float]]:
    if not len(x):
        return math.nan, math.nan
    mean, std = x.mean(axis=0), x.std(axis=0)
    if x.shape[1] == 1:
        return float(mean[0]), float(std[0])
    return [float(v) for v in mean], [float(v) for v in std]


def _cap(x: np.ndarray, rng: np.random.Generator, limit: int = MAX_PIECES) -> np.ndarray:
    return x if len(x) <= limit else x[np.sort(rng.choice(len(x), limit, replace=False))]


def compare_feature(gen: np.ndarray, ref: np.ndarray, name: str, seed: int = 0) -> FeatureComparison:
    """The Yang & Lerch figures for one feature, from its rows in each set."""
    d = distance_samples(gen, ref, seed)
    oa, kl = overlap_and_kl(d["reference intra-set"], d["inter-set"])
    oa_g, kl_g = overlap_and_kl(d["generated intra-set"], d["inter-set"])
    value_oa = math.nan
    if name not in HISTOGRAM_FEATURES:
        value_oa, _ = overlap_and_kl(gen[:, 0], ref[:, 0])
    g_mean, g_std = _summary(gen)
    r_mean, r_std = _summary(ref)
    return FeatureComparison(name, len(gen), len(ref), g_mean, g_std, r_mean, r_std, oa, kl, oa_g, kl_g, value_oa)


def compare_sets(gen_feats: list[dict | None], ref_feats: list[dict | None], seed: int = 0) -> list[FeatureComparison]:
    """Every feature of two sets of per-piece features compared."""
    return [compare_feature(feature_matrix(gen_feats, name), feature_matrix(ref_feats, name), name, seed)
            for name in FEATURES]


def split_halves(items: list, seed: int = 0) -> tuple[list, list]:
    """Two disjoint random halves of a list."""
    order = np.random.default_rng(seed).permutation(len(items))
    half = len(items) // 2
    return [items[i] for i in order[:half]], [items[i] for i in order[half:]]


def real_vs_real(ref_feats: list[dict | None], seed: int = 0) -> list[FeatureComparison]:
    """The ceiling: one half of the reference set compared with the other, as if it were generated."""
    a, b = split_halves([f for f in ref_feats if f is not None], seed)
    return compare_sets(a, b, seed)


def _finite(rows: list[FeatureComparison], field: str) -> list[float]:
    return [getattr(r, field) for r in rows if not math.isnan(getattr(r, field))]


def mean_of(rows: list[FeatureComparison], field: str) -> float:
    values = _finite(rows, field)
    return float(np.mean(values)) if values else math.nan


def median_of(rows: list[FeatureComparison], field: str) -> float:
    values = _finite(rows, field)
    return float(np.median(values)) if values else math.nan


def comparison_table(rows: list[FeatureComparison]) -> list[dict]:
    return [asdict(r) for r in rows]


def distance_samples(gen: np.ndarray, ref: np.ndarray, seed: int = 0) -> dict[str, np.ndarray]:
    """The three distance samples behind the figures (for plots)."""
    rng = np.random.default_rng(seed)
    g, r = _cap(gen, rng), _cap(ref, rng)
    return {"reference intra-set": intra_set_distances(r), "generated intra-set": intra_set_distances(g),
            "inter-set": inter_set_distances(g, r)}
