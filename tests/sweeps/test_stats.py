from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from rewardlab.sweeps._stats import (
    auc,
    benjamini_hochberg,
    bootstrap_ci,
    bootstrap_ci_columns,
    difference_ci,
    iqm,
    optimality_gap,
    paired_t_pvalue,
    performance_profile,
    probability_of_improvement,
    probability_of_improvement_ci,
    spearman,
    spearman_ci,
    stratified_bootstrap_ci,
)


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


# --- Agarwal et al. 2021 statistics: hand-made cases ------------------------------------------


def test_probability_of_improvement_counts_ties_as_half_and_is_complementary() -> None:
    # Pairs (x, y): (2,1) win, (2,3) loss, (3,1) win, (3,3) tie -> (2 + 0.5) / 4.
    assert probability_of_improvement([[2.0, 3.0]], [[1.0, 3.0]]) == pytest.approx(0.625)
    assert probability_of_improvement([[1.0, 3.0]], [[2.0, 3.0]]) == pytest.approx(0.375)
    # Averaged over strata, not pooled: env A all wins (1), env B all losses (0).
    assert probability_of_improvement([[5.0], [0.0]], [[1.0], [9.0]]) == pytest.approx(0.5)
    assert math.isnan(probability_of_improvement([[]], [[1.0]]))


@given(
    x=st.lists(st.integers(-5, 5), min_size=1, max_size=6),
    y=st.lists(st.integers(-5, 5), min_size=1, max_size=6),
)
def test_probability_of_improvement_of_x_over_y_plus_y_over_x_is_one(x: list[int], y: list[int]) -> None:
    assert probability_of_improvement([x], [y]) + probability_of_improvement([y], [x]) == pytest.approx(1.0)


def test_probability_of_improvement_is_mann_whitney_u_over_nm(rng: np.random.Generator) -> None:
    x, y = rng.integers(0, 4, 7).astype(float), rng.integers(0, 4, 5).astype(float)
    u = stats.mannwhitneyu(x, y, alternative="greater").statistic
    assert probability_of_improvement([x], [y]) == pytest.approx(u / (7 * 5))


def test_optimality_gap_caps_scores_at_gamma() -> None:
    assert optimality_gap([0.5, 1.0, 2.0]) == pytest.approx(1 - (0.5 + 1 + 1) / 3)
    assert optimality_gap([3.0, 4.0]) == 0.0
    assert optimality_gap([0.0, 10.0], gamma=5.0) == pytest.approx(2.5)


def test_stratified_bootstrap_keeps_each_strata_size_and_one_stratum_is_the_plain_bootstrap() -> None:
    x = [1.0, 2.0, 4.0, 8.0]
    assert stratified_bootstrap_ci([x], stat=np.mean, seed=2) == pytest.approx(bootstrap_ci(x, seed=2))
    # Two strata of constant values: every resample has two 0s and one 10, so the mean never moves.
    assert stratified_bootstrap_ci([[0.0, 0.0], [10.0]], stat=np.mean) == pytest.approx((10 / 3, 10 / 3))
    lo, hi = stratified_bootstrap_ci([[1.0], [2.0]])  # one run per stratum: no interval
    assert math.isnan(lo) and math.isnan(hi)


def test_performance_profile_is_the_fraction_above_each_threshold() -> None:
    profile, lo, hi = performance_profile([[0.0, 0.5], [1.0, 1.5]], [-1.0, 0.25, 1.0, 2.0], n=200)
    assert profile.tolist() == [1.0, 0.75, 0.25, 0.0]
    assert np.all(lo <= profile) and np.all(profile <= hi)
    assert lo[0] == hi[0] == 1.0 and lo[-1] == hi[-1] == 0.0


def test_regret_interval_is_paired_when_the_seeds_are_shared() -> None:
    base = {0: -100.0, 1: -200.0, 2: -300.0}
    # The variant is 10 worse on every seed: the paired interval is exactly [10, 10], the unpaired one wide.
    variant = {s: v - 10.0 for s, v in base.items()}
    lo, hi, paired = difference_ci(base, variant)
    assert paired and lo == pytest.approx(10.0) and hi == pytest.approx(10.0)
    lo, hi, paired = difference_ci(base, {**variant, 3: -110.0})
    assert not paired and lo < 0.0 < hi
    assert math.isnan(difference_ci(base, {0: 1.0})[0])  # one seed: no interval


def test_paired_t_pvalue_matches_scipy_and_is_nan_when_untestable(rng: np.random.Generator) -> None:
    a, b = rng.normal(size=6), rng.normal(size=6)
    assert paired_t_pvalue(a - b) == pytest.approx(stats.ttest_rel(a, b).pvalue)
    assert math.isnan(paired_t_pvalue([5.0, 5.0, 5.0]))
    assert math.isnan(paired_t_pvalue([1.0]))


def test_benjamini_hochberg_matches_the_step_up_rule() -> None:
    # Sorted 0.01, 0.02, 0.03, 0.5 against 0.05 * k / 4: 0.0125, 0.025, 0.0375 -> the first three pass.
    assert benjamini_hochberg([0.5, 0.03, 0.01, 0.02]) == [False, True, True, True]
    assert benjamini_hochberg([0.04, 0.2]) == [False, False]


def test_spearman_ci_contains_rho_and_is_nan_for_constant_distances() -> None:
    d = [0.0, 0.1, 0.2, 0.3, 0.5, 0.6]
    g = [0.0, 5.0, 3.0, 20.0, 30.0, 25.0]
    lo, hi = spearman_ci(d, g, n=500)
    assert lo <= spearman(d, g) <= hi <= 1.0
    assert all(math.isnan(v) for v in spearman_ci([0.1] * 5, g[:5]))


def test_bootstrap_ci_columns_equals_bootstrap_ci_column_by_column(rng: np.random.Generator) -> None:
    x = rng.normal(size=(7, 3))
    lo, hi = bootstrap_ci_columns(x, stat=iqm, n=300, seed=4)
    for j in range(3):
        assert (lo[j], hi[j]) == pytest.approx(bootstrap_ci(x[:, j], stat=iqm, n=300, seed=4))


# --- cross-checks against rliable on the same arrays -----------------------------------------


def test_point_estimates_equal_rliables(rng: np.random.Generator) -> None:
    metrics = pytest.importorskip("rliable.metrics")
    scores = rng.normal(size=(10, 3))  # rliable's layout: (runs, tasks)
    other = rng.normal(0.3, 1.0, size=(8, 3))
    strata = [scores[:, k] for k in range(3)]
    assert iqm(scores) == pytest.approx(metrics.aggregate_iqm(scores))
    assert optimality_gap(scores) == pytest.approx(metrics.aggregate_optimality_gap(scores))
    assert probability_of_improvement(strata, [other[:, k] for k in range(3)]) == pytest.approx(
        metrics.probability_of_improvement(scores, other)
    )


def test_stratified_intervals_equal_rliables_within_bootstrap_noise(rng: np.random.Generator) -> None:
    library = pytest.importorskip("rliable.library")
    metrics = pytest.importorskip("rliable.metrics")
    scores = rng.normal(size=(12, 3)) + np.array([0.0, 1.0, 2.0])
    other = rng.normal(0.5, 1.0, size=(12, 3)) + np.array([0.0, 1.0, 2.0])
    strata = [scores[:, k] for k in range(3)]
    np.random.seed(0)  # rliable draws from numpy's global generator
    _, theirs = library.get_interval_estimates({"x": scores}, metrics.aggregate_iqm, reps=4000)
    ours = stratified_bootstrap_ci(strata, stat=iqm, n=4000)
    assert ours == pytest.approx(tuple(theirs["x"][:, 0]), abs=0.06)
    _, theirs = library.get_interval_estimates({"x": scores}, metrics.aggregate_optimality_gap, reps=4000)
    assert stratified_bootstrap_ci(strata, stat=optimality_gap, n=4000) == pytest.approx(
        tuple(theirs["x"][:, 0]), abs=0.05
    )
    _, theirs = library.get_interval_estimates({"xy": (scores, other)}, metrics.probability_of_improvement, reps=2000)
    poi = probability_of_improvement_ci(strata, [other[:, k] for k in range(3)], n=2000)
    assert poi == pytest.approx(tuple(theirs["xy"][:, 0]), abs=0.04)
    taus = np.linspace(-1.0, 4.0, 11)
    profiles, bands = library.create_performance_profile({"x": scores}, taus, reps=2000)
    mine, lo, hi = performance_profile(strata, taus, n=2000)
    assert mine == pytest.approx(profiles["x"])
    assert lo == pytest.approx(bands["x"][0], abs=0.05) and hi == pytest.approx(bands["x"][1], abs=0.05)
