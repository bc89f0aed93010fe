from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from rewardlab.sweeps._stats import auc, bootstrap_ci, iqm, spearman


def test_iqm_is_the_mean_of_the_middle_half() -> None:
    # 8 values: int(0.25 * 8) = 2 cut from each end -> mean of the middle 4 = (3 + 4 + 5 + 6) / 4.
    x = [100.0, 6.0, -50.0, 3.0, 5.0, 1.0, 4.0, 7.0]
    assert iqm(x) == pytest.approx(4.5)


def test_iqm_with_fewer_than_four_values_is_the_mean() -> None:
    assert iqm([1.0, 2.0, 9.0]) == pytest.approx(4.0)
    assert math.isnan(iqm([]))


def test_bootstrap_ci_of_one_value_collapses_and_of_none_is_nan() -> None:
    assert bootstrap_ci([3.5]) == (3.5, 3.5)
    lo, hi = bootstrap_ci([])
    assert math.isnan(lo) and math.isnan(hi)


def test_bootstrap_ci_contains_the_mean_is_reproducible_and_widens_with_level(rng: np.random.Generator) -> None:
    x = rng.normal(10.0, 2.0, size=20)
    lo, hi = bootstrap_ci(x, seed=3)
    assert lo < float(np.mean(x)) < hi
    assert bootstrap_ci(x, seed=3) == (lo, hi)
    lo99, hi99 = bootstrap_ci(x, level=0.99, seed=3)
    assert lo99 <= lo and hi99 >= hi
    # The CI of the mean shrinks about like the standard error 2 / sqrt(20) = 0.45: width ~ 4 * 0.45.
    assert 1.0 < hi - lo < 2.6


def test_bootstrap_ci_accepts_a_statistic_without_axis() -> None:
    x = [1.0, 2.0, 3.0, 4.0, 100.0]
    by_axis = bootstrap_ci(x, stat=np.median, seed=1)
    by_loop = bootstrap_ci(x, stat=lambda v: float(np.median(v)), seed=1)
    assert by_axis == pytest.approx(by_loop)
    lo, hi = bootstrap_ci(x, stat=iqm)
    assert 1.0 <= lo <= hi <= 100.0


def test_auc_is_the_trapezoid_area_over_the_span() -> None:
    # (0 + 10)/2 * 10 + (10 + 40)/2 * 30 = 50 + 750 = 800 over a span of 40 -> 20.
    assert auc([0, 10, 40], [0.0, 10.0, 40.0]) == pytest.approx(20.0)
    assert auc([5], [7.0]) == 7.0
    assert math.isnan(auc([], []))
    with pytest.raises(ValueError, match="differ in length"):
        auc([0, 1], [1.0])


def test_auc_of_a_constant_curve_is_the_constant_whatever_the_grid() -> None:
    assert auc([0, 3, 100, 1000], [-5.0] * 4) == pytest.approx(-5.0)


def test_spearman_matches_scipy_including_ties(rng: np.random.Generator) -> None:
    x = rng.integers(0, 5, size=30).astype(float)
    y = x + rng.normal(size=30)
    assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic)
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)


def test_spearman_ignores_nan_pairs_and_is_nan_when_undefined() -> None:
    assert spearman([1, 2, float("nan"), 3], [1, 2, 0, 3]) == pytest.approx(1.0)
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3]))
    assert math.isnan(spearman([1], [2]))
