"""Yang & Lerch set comparison: KDE, overlap area and KL on a common grid, intra/inter distances."""

import math

import numpy as np
import pytest
from scipy.stats import gaussian_kde

from tunesmith.evaluate.compare import (common_grid, compare_feature, compare_sets, inter_set_distances,
                                        intra_set_distances, kde, overlap_and_kl, real_vs_real, split_halves)
from tunesmith.evaluate.features import FEATURES


def test_kde_is_scipys_gaussian_kde():
    x = np.random.default_rng(0).normal(size=200)
    grid = np.linspace(-4, 4, 50)
    assert np.allclose(kde(x, grid), gaussian_kde(x)(grid))


def test_kde_of_a_constant_sample_is_a_narrow_bump():
    grid = np.linspace(-1, 3, 4001)
    density = kde(np.ones(10), grid)
    assert np.trapezoid(density, grid) == pytest.approx(1.0, abs=1e-3) and grid[density.argmax()] == pytest.approx(1.0)


def test_overlap_and_kl():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=3000), rng.normal(size=3000)
    oa, kl = overlap_and_kl(a, b)
    assert oa > 0.95 and kl < 0.01
    oa_far, kl_far = overlap_and_kl(a, b + 20)
    assert oa_far < 1e-6 and kl_far > 10
    # KL of two Gaussians N(0,1) || N(1,1) is 0.5 nats: right only when both densities share a grid
    oa_1, kl_1 = overlap_and_kl(rng.normal(size=20000), rng.normal(1, 1, size=20000))
    assert kl_1 == pytest.approx(0.5, abs=0.05)
    assert oa_1 == pytest.approx(2 * (1 - 0.6915), abs=0.03)  # 2 * Phi(-0.5)
    assert math.isnan(overlap_and_kl(np.array([1.0]), b)[0])


def test_common_grid_spans_both():
    grid = common_grid(np.array([0.0, 1.0]), np.array([5.0, 6.0]))
    assert grid[0] < 0 and grid[-1] > 6


def test_distances():
    x = np.array([[0.0], [1.0], [3.0]])
    assert sorted(intra_set_distances(x)) == [1.0, 2.0, 3.0]
    assert sorted(inter_set_distances(x, np.array([[1.0]]))) == [0.0, 1.0, 2.0]
    h = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert intra_set_distances(h)[0] == pytest.approx(math.sqrt(2))


def test_same_distribution_scores_near_the_ceiling():
    rng = np.random.default_rng(2)
    same = compare_feature(rng.normal(size=(150, 1)), rng.normal(size=(150, 1)), "pitch_range")
    other = compare_feature(rng.normal(3, 0.3, size=(150, 1)), rng.normal(size=(150, 1)), "pitch_range")
    assert same.oa > 0.9 and same.kl < 0.05 and same.value_oa > 0.85
    assert other.oa < 0.5 and other.kl > same.kl and other.value_oa < 0.1
    assert other.generated_mean == pytest.approx(3, abs=0.1)


def test_compare_sets_and_real_vs_real_on_feature_dicts():
    rng = np.random.default_rng(3)

    def fake(shift):
        return {name: (rng.dirichlet(np.ones(4)) if name.endswith("hist") else float(rng.normal(shift)))
                for name in FEATURES}

    ref = [fake(0) for _ in range(40)] + [None]
    gen = [fake(2) for _ in range(20)]
    rows = compare_sets(gen, ref)
    assert [r.feature for r in rows] == list(FEATURES)
    assert rows[0].n_reference == 40 and rows[0].n_generated == 20
    ceiling = real_vs_real(ref)
    assert ceiling[0].n_generated + ceiling[0].n_reference == 40
    assert ceiling[0].oa > rows[0].oa
    a, b = split_halves(list(range(11)))
    assert not set(a) & set(b) and len(a) + len(b) == 11
