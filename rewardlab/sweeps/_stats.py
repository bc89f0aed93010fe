"""Statistics across seeds: interquartile mean, bootstrap intervals, area under a curve, rank correlation.

RL results vary a lot from seed to seed, so a sweep reports, per variant, the mean of the final
returns *and* robust companions: the interquartile mean (IQM, the mean of the middle 50% of the
seeds, as recommended by Agarwal et al. 2021, "Deep RL at the edge of the statistical precipice",
and computed as in their ``rliable`` library) and a percentile-bootstrap 95% interval. Every
function accepts any array-like and treats NaN as missing only where its docstring says so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import stats as _st

__all__ = ["auc", "bootstrap_ci", "iqm", "spearman"]


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
