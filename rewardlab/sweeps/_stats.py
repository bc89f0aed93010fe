"""Statistics across seeds: interquartile mean, bootstrap intervals, area under a curve, rank correlation.

RL results vary a lot from seed to seed, so a sweep reports, per variant, the mean of the final
returns *and* robust companions: the interquartile mean (IQM, the mean of the middle 50% of the
seeds, as recommended by Agarwal et al. 2021, "Deep RL at the edge of the statistical precipice",
and computed as in their ``rliable`` library) and a percentile-bootstrap 95% interval.

The second half follows the same paper for comparisons: a bootstrap stratified by env (runs
resampled within each env), the probability of improvement of one variant over another, the
optimality gap, performance profiles (score distributions) with bootstrap bands, and, for the
regret, a paired interval and a paired t-test over the seeds two variants share (with a
Benjamini-Hochberg correction across variants). Tests check them against ``rliable`` on the same
arrays and against hand-computed cases. Every function accepts any array-like and treats NaN as
missing only where its docstring says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats as _st

__all__ = [
    "auc",
    "benjamini_hochberg",
    "bootstrap_ci",
    "bootstrap_ci_columns",
    "difference_ci",
    "iqm",
    "optimality_gap",
    "paired_differences",
    "paired_t_pvalue",
    "performance_profile",
    "probability_of_improvement",
    "probability_of_improvement_ci",
    "spearman",
    "spearman_ci",
    "stratified_bootstrap_ci",
]


def iqm(x: Any, axis: int | None = None) -> Any:
    """Interquartile mean: the mean of the middle 50% of the values.

    ``scipy.stats.trim_mean(x, 0.25)``, as rliable computes it: ``int(0.25 * n)`` values are cut
    from each end, so with fewer than 4 values nothing is cut and the IQM equals the mean.

    Args:
        x: ``(n,)`` values (or any shape with ``axis``).
        axis: axis to reduce; None flattens.

    Returns:
        A float (or an array reduced along ``axis``); NaN for no values.

    Example:
        >>> float(iqm([1.0, 2.0, 3.0, 100.0]))  # cuts 1 and 100
        2.5
    """
    arr = np.asarray(x, dtype=np.float64)
    if arr.size == 0:
        return float("nan")
    out = _st.trim_mean(arr, 0.25, axis=axis)
    return float(out) if axis is None else out


def bootstrap_ci(
    x: Any,
    stat: Callable[..., Any] = np.mean,
    n: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of ``stat(x)``.

    Resamples the values with replacement ``n`` times and returns the ``(1 - level) / 2`` and
    ``(1 + level) / 2`` quantiles of the resampled statistic. With few seeds (3-5, typical in RL)
    the interval is rough and tends to be too narrow; it still shows which differences are noise.

    Args:
        x: ``(n_values,)`` values, one per seed.
        stat: the statistic; called as ``stat(samples, axis=-1)`` on an ``(n, n_values)`` array when
            it accepts ``axis`` (numpy reductions, :func:`iqm`), else once per resample.
        n: number of bootstrap resamples.
        level: coverage of the interval, in (0, 1).
        seed: seeds the resampling, so the interval is reproducible.

    Returns:
        ``(low, high)``; ``(x0, x0)`` for a single value, ``(nan, nan)`` for none.

    Example:
        >>> bootstrap_ci([5.0])
        (5.0, 5.0)
        >>> lo, hi = bootstrap_ci([1.0, 2.0, 3.0, 4.0])
        >>> lo <= 2.5 <= hi
        True
    """
    arr = np.asarray(x, dtype=np.float64).ravel()
    if arr.size == 0:
        return float("nan"), float("nan")
    if arr.size == 1:
        return float(arr[0]), float(arr[0])
    rng = np.random.default_rng(seed)
    samples = arr[rng.integers(0, arr.size, size=(int(n), arr.size))]
    try:
        values = np.asarray(stat(samples, axis=-1), dtype=np.float64)
    except TypeError:  # a statistic without an ``axis`` argument
        values = np.array([stat(row) for row in samples], dtype=np.float64)
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(values, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def bootstrap_ci_columns(
    x: Any, stat: Callable[..., Any] = np.mean, n: int = 2000, level: float = 0.95, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`bootstrap_ci` of every column of ``x`` at once (the seeds of a learning curve, step by step).

    Each column gets exactly the interval :func:`bootstrap_ci` gives it with the same ``seed`` (the
    same resampled rows), in one vectorised pass.

    Args:
        x: ``(n_values, n_columns)`` values, one row per seed.
        stat: a reduction accepting ``axis`` (``np.mean``, :func:`iqm`).
        n: bootstrap resamples.
        level: coverage.
        seed: seeds the resampling.

    Returns:
        ``(low, high)``, each ``(n_columns,)``; NaN columns with fewer than 2 values.
    """
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] < 2:
        nan = np.full(arr.shape[-1] if arr.ndim == 2 else 0, np.nan)
        return nan, nan.copy()
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, arr.shape[0], size=(int(n), arr.shape[0]))
    # (n_columns, n, n_values), reduced along the contiguous last axis: far faster than axis=1 for trim_mean.
    values = np.asarray(stat(np.ascontiguousarray(arr.T)[:, idx], axis=-1), dtype=np.float64)
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(values, [alpha, 1.0 - alpha], axis=1)
    return lo, hi


def auc(timesteps: Any, values: Any) -> float:
    """Normalised area under a learning curve: the time-average of the curve over training.

    The trapezoid area under ``values`` against ``timesteps``, divided by the span
    ``timesteps[-1] - timesteps[0]``. Dividing by the span keeps the unit of the values (a
    return), so the AUC reads as "the mean return over training" and is comparable across runs
    of different lengths; a variant that learns faster has a higher AUC at the same final return.

    Args:
        timesteps: ``(n_evals,)`` increasing environment steps of the evaluations.
        values: ``(n_evals,)`` returns measured at those steps.

    Returns:
        The normalised area; the single value for one evaluation, NaN for none.

    Example:
        >>> auc([0, 10, 20], [0.0, 10.0, 10.0])  # (50 + 100) / 20
        7.5
    """
    t = np.asarray(timesteps, dtype=np.float64).ravel()
    v = np.asarray(values, dtype=np.float64).ravel()
    if t.size != v.size:
        raise ValueError(f"timesteps and values differ in length ({t.size} vs {v.size})")
    if t.size == 0:
        return float("nan")
    span = t[-1] - t[0]
    if t.size == 1 or span <= 0:
        return float(np.mean(v))
    area = float(np.sum((v[1:] + v[:-1]) * np.diff(t)) / 2.0)  # trapezoid rule
    return area / float(span)


def spearman(x: Any, y: Any) -> float:
    """Spearman rank correlation of ``x`` and ``y``, ignoring pairs where either is NaN.

    The Pearson correlation of the ranks (ties get their average rank). Computed here rather
    than with ``scipy.stats.spearmanr`` so that constant input gives NaN without a warning.

    Args:
        x: ``(n,)`` values.
        y: ``(n,)`` values.

    Returns:
        rho in [-1, 1]; NaN with fewer than 2 complete pairs or when either side is constant.

    Example:
        >>> spearman([1, 2, 3, 4], [10, 20, 15, 40])
        0.8
    """
    a = np.asarray(x, dtype=np.float64).ravel()
    b = np.asarray(y, dtype=np.float64).ravel()
    if a.size != b.size:
        raise ValueError(f"x and y differ in length ({a.size} vs {b.size})")
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    if a.size < 2:
        return float("nan")
    ra = _st.rankdata(a) - (a.size + 1) / 2.0
    rb = _st.rankdata(b) - (b.size + 1) / 2.0
    denom = float(np.sqrt(np.sum(ra * ra) * np.sum(rb * rb)))
    if denom == 0.0:
        return float("nan")
    return round(float(np.sum(ra * rb) / denom), 12)


# --- Agarwal et al. 2021: stratified bootstrap, probability of improvement, profiles ---------------

Strata = Sequence[Any]
"""Scores split by stratum (env / task): a sequence of ``(n_runs_k,)`` arrays, ``n_runs_k`` may differ."""


def _strata(scores: Strata) -> list[np.ndarray]:
    """The non-empty strata of ``scores`` as float arrays, NaN dropped."""
    out = [np.asarray(s, dtype=np.float64).ravel() for s in scores]
    return [s[np.isfinite(s)] for s in out if np.isfinite(s).any()]


def _resample(strata: list[np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray:
    """``(n, sum n_k)`` resamples: each stratum's runs drawn with replacement within the stratum."""
    return np.concatenate([s[rng.integers(0, s.size, size=(n, s.size))] for s in strata], axis=1)


def _quantiles(values: np.ndarray, level: float) -> tuple[float, float]:
    values = values[np.isfinite(values)] if values.ndim == 1 else values
    if values.size == 0:
        return float("nan"), float("nan")
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(values, [alpha, 1.0 - alpha], axis=0)
    return float(lo), float(hi)


def stratified_bootstrap_ci(
    scores: Strata,
    stat: Callable[..., Any] = iqm,
    n: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile interval of ``stat`` over all runs, resampling runs *within* each stratum.

    Agarwal et al.'s stratified bootstrap (``rliable.library.StratifiedBootstrap`` with
    ``task_bootstrap=False``): every replicate keeps each env's number of runs, so an env with
    more seeds cannot crowd out another one. With one stratum it is :func:`bootstrap_ci`.

    Args:
        scores: per stratum, ``(n_runs_k,)`` scores (normalised when strata are envs of different scales).
        stat: called as ``stat(samples, axis=-1)`` on the ``(n, sum n_k)`` resamples (:func:`iqm`, ``np.mean``).
        n: bootstrap replicates (rliable's examples use 50,000; a report uses fewer to stay fast).
        level: coverage, in (0, 1).
        seed: seeds the resampling.

    Returns:
        ``(low, high)``; NaN for no scores; ``(nan, nan)`` also when every stratum has one run,
        since one run per stratum gives no spread to resample (not a zero-width interval).

    Example:
        >>> lo, hi = stratified_bootstrap_ci([[1.0, 2.0, 3.0], [10.0, 11.0]], stat=np.mean)
        >>> 3.0 < lo <= 5.4 <= hi < 7.5
        True
    """
    strata = _strata(scores)
    if not strata or all(s.size == 1 for s in strata):
        return float("nan"), float("nan")
    samples = _resample(strata, int(n), np.random.default_rng(seed))
    return _quantiles(np.asarray(stat(samples, axis=-1), dtype=np.float64), level)


def _improvement(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``P(X > Y) + P(X = Y) / 2`` over all pairs of the last axes: ``x (..., n_x)``, ``y (..., n_y)``."""
    diff = x[..., :, None] - y[..., None, :]
    return np.mean((diff > 0) + 0.5 * (diff == 0), axis=(-2, -1))


def probability_of_improvement(x: Strata, y: Strata) -> float:
    """Probability that a run of X beats a run of Y, averaged over the strata (Agarwal et al. 2021).

    Per stratum, the Mann-Whitney ``U / (n_x n_y)``: ``P(X > Y) + P(X = Y) / 2`` over every pair of
    a run of X and a run of Y (so ``P(X > Y) + P(Y > X) = 1``); then the mean over the strata that
    both have runs. 0.5 means neither is better; rliable's ``metrics.probability_of_improvement``.

    Args:
        x: per stratum, ``(n_x_k,)`` scores of X.
        y: per stratum, ``(n_y_k,)`` scores of Y (same strata, same order).

    Returns:
        The probability in [0, 1]; NaN when no stratum has runs of both.

    Example:
        >>> probability_of_improvement([[2.0, 3.0]], [[1.0, 3.0]])  # 2>1, 3>1, 3=3, 2<3
        0.625
    """
    probs = []
    for a, b in zip(x, y, strict=True):
        a = np.asarray(a, dtype=np.float64).ravel()
        b = np.asarray(b, dtype=np.float64).ravel()
        a, b = a[np.isfinite(a)], b[np.isfinite(b)]
        if a.size and b.size:
            probs.append(float(_improvement(a, b)))
    return float(np.mean(probs)) if probs else float("nan")


def probability_of_improvement_ci(
    x: Strata, y: Strata, n: int = 2000, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile interval of :func:`probability_of_improvement`, X and Y resampled independently per stratum.

    rliable's ``StratifiedIndependentBootstrap``: within each stratum, X's runs and Y's runs are
    each drawn with replacement. NaN when every stratum has a single run of X and of Y.
    """
    pairs = [
        (a[np.isfinite(a)], b[np.isfinite(b)])
        for a, b in (
            (np.asarray(p, dtype=np.float64).ravel(), np.asarray(q, dtype=np.float64).ravel())
            for p, q in zip(x, y, strict=True)
        )
    ]
    pairs = [(a, b) for a, b in pairs if a.size and b.size]
    if not pairs or all(a.size == 1 and b.size == 1 for a, b in pairs):
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    n = int(n)
    values = np.zeros(n)
    for a, b in pairs:
        values += _improvement(a[rng.integers(0, a.size, (n, a.size))], b[rng.integers(0, b.size, (n, b.size))])
    return _quantiles(values / len(pairs), level)


def optimality_gap(x: Any, gamma: float = 1.0, axis: int | None = None) -> Any:
    """How far the scores fall short of ``gamma``: ``gamma - mean(min(x, gamma))`` (Agarwal et al. 2021).

    On normalised scores with ``gamma = 1`` (the reference's level), 0 means every run reaches it;
    scores above ``gamma`` earn nothing extra, so one lucky run cannot hide the others.

    Example:
        >>> optimality_gap([0.5, 1.0, 2.0])  # 1 - mean(0.5, 1, 1)
        0.16666666666666663
    """
    arr = np.asarray(x, dtype=np.float64)
    if arr.size == 0:
        return float("nan")
    out = gamma - np.mean(np.minimum(arr, gamma), axis=axis)
    return float(out) if axis is None else out


def performance_profile(
    scores: Strata, taus: Any, n: int = 2000, level: float = 0.95, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fraction of runs scoring above each threshold, with stratified-bootstrap bands (a score distribution).

    rliable's ``create_performance_profile`` with ``use_score_distribution=True``: the profile at
    ``tau`` is the fraction of all runs (of every stratum) whose score is ``> tau``.

    Args:
        scores: per stratum, ``(n_runs_k,)`` normalised scores.
        taus: ``(n_taus,)`` thresholds.
        n: bootstrap replicates of the bands.
        level: coverage of the bands.
        seed: seeds the resampling.

    Returns:
        ``(profile, low, high)``, each ``(n_taus,)``; NaN bands when every stratum has one run,
        everything NaN without runs.
    """
    t = np.asarray(taus, dtype=np.float64).ravel()
    strata = _strata(scores)
    nan = np.full(t.size, np.nan)
    if not strata:
        return nan, nan.copy(), nan.copy()
    flat = np.concatenate(strata)
    profile = np.mean(flat[:, None] > t[None, :], axis=0)
    if all(s.size == 1 for s in strata):
        return profile, nan, nan.copy()
    samples = np.sort(_resample(strata, int(n), np.random.default_rng(seed)), axis=1)
    # Fraction above tau from the sorted resamples: one searchsorted per replicate instead of a (n, runs, taus) array.
    above = np.stack([samples.shape[1] - np.searchsorted(row, t, side="right") for row in samples]) / samples.shape[1]
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(above, [alpha, 1.0 - alpha], axis=0)
    return profile, lo, hi


def paired_differences(a: Mapping[Any, float], b: Mapping[Any, float]) -> np.ndarray:
    """``a[seed] - b[seed]`` over the seeds both have (finite values only), in sorted seed order.

    Example:
        >>> paired_differences({0: 5.0, 1: 7.0, 2: 1.0}, {0: 4.0, 1: 4.0, 3: 0.0}).tolist()
        [1.0, 3.0]
    """
    common = sorted(set(a) & set(b), key=str)
    d = np.array([float(a[s]) - float(b[s]) for s in common], dtype=np.float64)
    return d[np.isfinite(d)]


def difference_ci(
    a: Mapping[Any, float], b: Mapping[Any, float], n: int = 2000, level: float = 0.95, seed: int = 0
) -> tuple[float, float, bool]:
    """Percentile interval of ``mean(a) - mean(b)`` over seeds, paired where the seeds are the same.

    When both sides have finished the same seeds (the normal sweep: seeds are shared), the
    differences ``a[s] - b[s]`` are resampled together: pairing removes the seed-to-seed
    variation both share (an easy seed is easy for every reward), so the interval is narrower than
    the unpaired one. Otherwise each side's seeds are resampled independently, so the interval
    stays centred on the same difference of means.

    Args:
        a: seed -> final return of one variant (the baseline, for a regret).
        b: seed -> final return of the other.
        n: bootstrap replicates.
        level: coverage.
        seed: seeds the resampling.

    Returns:
        ``(low, high, paired)``; ``(nan, nan, paired)`` when a side has fewer than 2 seeds.
    """
    va = np.array([v for v in a.values() if math.isfinite(v)], dtype=np.float64)
    vb = np.array([v for v in b.values() if math.isfinite(v)], dtype=np.float64)
    paired = set(a) == set(b) and va.size == len(a) and vb.size == len(b)
    if va.size < 2 or vb.size < 2:
        return float("nan"), float("nan"), paired
    if paired:
        lo, hi = bootstrap_ci(paired_differences(a, b), n=n, level=level, seed=seed)
        return lo, hi, True
    rng = np.random.default_rng(seed)
    diff = va[rng.integers(0, va.size, (int(n), va.size))].mean(axis=1)
    diff -= vb[rng.integers(0, vb.size, (int(n), vb.size))].mean(axis=1)
    lo, hi = _quantiles(diff, level)
    return lo, hi, False


def paired_t_pvalue(d: Any) -> float:
    """Two-sided p-value of a paired t-test that the mean of the differences ``d`` is 0.

    ``scipy.stats.ttest_rel`` on the pairs, written on the differences. Differences that are all
    equal have no spread to test against: NaN (untestable), as scipy gives, without its warning.

    Returns:
        p in [0, 1]; NaN with fewer than 2 differences or constant differences.

    Example:
        >>> round(paired_t_pvalue([1.0, 2.0, 3.0]), 4)  # t = 2 / (1 / sqrt(3)), 2 dof
        0.0742
    """
    arr = np.asarray(d, dtype=np.float64).ravel()
    arr = arr[np.isfinite(arr)]
    if arr.size < 2:
        return float("nan")
    if np.ptp(arr) == 0.0:
        return float("nan")
    return float(_st.ttest_1samp(arr, 0.0).pvalue)


def benjamini_hochberg(pvalues: Sequence[float], q: float = 0.05) -> list[bool]:
    """Which p-values are significant at false discovery rate ``q`` (Benjamini-Hochberg); NaN never is.

    With dozens of variants tested against one baseline, some would pass p < 0.05 by chance; the
    BH procedure (``scipy.stats.false_discovery_control``) keeps the expected share of false
    discoveries below ``q``.

    Example:
        >>> benjamini_hochberg([0.01, 0.04, 0.03, float("nan")])
        [True, True, True, False]
    """
    p = np.asarray(pvalues, dtype=np.float64)
    keep = np.isfinite(p)
    out = np.zeros(p.size, dtype=bool)
    if keep.any():
        out[keep] = _st.false_discovery_control(p[keep], method="bh") <= q
    return out.tolist()


def spearman_ci(x: Any, y: Any, n: int = 2000, level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile interval of :func:`spearman` with the ``(x, y)`` pairs resampled together.

    Replicates where the correlation is undefined (a resample with constant ``x`` or ``y``) are
    left out; when more than half are, the interval is NaN: there is no correlation to bound.
    """
    a = np.asarray(x, dtype=np.float64).ravel()
    b = np.asarray(y, dtype=np.float64).ravel()
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    if a.size < 3 or math.isnan(spearman(a, b)):
        return float("nan"), float("nan")
    idx = np.random.default_rng(seed).integers(0, a.size, (int(n), a.size))
    ra = _st.rankdata(a[idx], axis=1)
    rb = _st.rankdata(b[idx], axis=1)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    denom = np.sqrt(np.sum(ra * ra, axis=1) * np.sum(rb * rb, axis=1))
    defined = denom > 0
    if defined.sum() * 2 < idx.shape[0]:
        return float("nan"), float("nan")
    rho = np.sum(ra * rb, axis=1)[defined] / denom[defined]
    return _quantiles(rho, level)
