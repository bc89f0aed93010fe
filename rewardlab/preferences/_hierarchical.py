"""HERON's hierarchical comparison labeller (Bukharin et al., "Deep RL from Hierarchical Weak
Preference Feedback"), vectorised over pairs.

A pair ``(a, b)`` of factor vectors is compared along an importance ranking of the factors, most
important first. At level ``k`` (factor ``f = ranking[k]``) with ``s = +1`` when higher is better
and ``s = -1`` when lower is better::

    s * a_f > s * b_f + delta_f   ->  a wins (label 1.0)
    s * b_f > s * a_f + delta_f   ->  b wins (label 0.0)
    otherwise                     ->  tied at this level; the next level decides

A pair tied at every level is undecided: HERON drops it (label ``nan`` here), or it gets
``tie_label``. This is the comparison of the paper's released code, written as one numpy pass
over all pairs instead of a Python loop per pair.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any, Literal, cast, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rewardlab.errors import ConfigError, message, unknown

__all__ = ["hierarchical_labels", "std_margins"]

FactorInput = ArrayLike | Mapping[str, ArrayLike]
"""``(N, K)`` array of factor values, or a mapping factor name -> ``(N,)`` values."""


@overload
def hierarchical_labels(
    fa: FactorInput,
    fb: FactorInput,
    *,
    ranking: Sequence[int] | Sequence[str],
    higher_is_better: bool | Sequence[bool] | Mapping[str, bool],
    margins: float | ArrayLike | Mapping[str, float] | None = ...,
    tie_label: float | None = ...,
    return_level: Literal[False] = ...,
) -> NDArray[np.float64]: ...


@overload
def hierarchical_labels(
    fa: FactorInput,
    fb: FactorInput,
    *,
    ranking: Sequence[int] | Sequence[str],
    higher_is_better: bool | Sequence[bool] | Mapping[str, bool],
    margins: float | ArrayLike | Mapping[str, float] | None = ...,
    tie_label: float | None = ...,
    return_level: Literal[True],
) -> tuple[NDArray[np.float64], NDArray[np.int64]]: ...


def hierarchical_labels(
    fa: FactorInput,
    fb: FactorInput,
    *,
    ranking: Sequence[int] | Sequence[str],
    higher_is_better: bool | Sequence[bool] | Mapping[str, bool],
    margins: float | ArrayLike | Mapping[str, float] | None = None,
    tie_label: float | None = None,
    return_level: bool = False,
) -> NDArray[np.float64] | tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Label pairs ``(fa[i], fb[i])`` by HERON's hierarchical comparison of their reward factors.

    Walks ``ranking`` from the most important factor. At each level, with sign ``s = +1`` for a
    higher-is-better factor and ``-1`` for a lower-is-better one, ``a`` wins if
    ``s*a_k > s*b_k + delta_k``, ``b`` wins if ``s*b_k > s*a_k + delta_k``, and otherwise (a
    difference of at most ``delta_k``, the boundary included) the pair is tied at that level and
    the next level decides. Factors not listed in ``ranking`` are ignored. Values are compared
    as float64.

    Two input forms, and what every per-factor argument is aligned with:

    * **arrays**: ``fa``, ``fb`` of shape ``(N, K)``; ``ranking`` holds column indices in
      ``[0, K)``; ``margins`` and ``higher_is_better`` are sequences of length ``K`` aligned with
      the **factor axis** (column ``j`` of ``fa``), *not* with ``ranking``.
    * **dicts**: ``fa``, ``fb`` map factor name -> ``(N,)`` values (the same names in both);
      ``ranking`` holds names; ``margins`` and ``higher_is_better`` must then be dicts keyed by
      name (a sequence is refused, since "aligned with what?" has no safe answer for a dict).

    ``margins`` and ``higher_is_better`` may also be a single value applied to every factor.

    Args:
        fa: factor values of the first item of each pair, ``(N, K)`` or name -> ``(N,)``.
        fb: factor values of the second item, same form and shape as ``fa``.
        ranking: factors from most to least important; indices (arrays) or names (dicts), no
            duplicates, at least one. May list fewer than ``K`` factors.
        higher_is_better: per factor, ``True`` if a larger value is better (sign +1), ``False``
            for a cost (sign -1); a bool, a length-``K`` sequence, or name -> bool.
        margins: absolute margin ``delta_k >= 0`` per factor (finite); a float, a length-``K``
            sequence, or name -> float. ``None`` (default) means 0 everywhere: strict comparison.
            HERON's margins are a multiple of each factor's standard deviation, see
            :func:`std_margins`.
        tie_label: label of pairs tied at every level. ``None`` (default) gives ``nan``: HERON
            drops those pairs. ``0.5`` gives soft labels for a BCE loss. Must lie in ``[0, 1]``.
        return_level: also return, per pair, the index into ``ranking`` of the level that
            decided it (0 = most important factor), ``-1`` when undecided.

    Returns:
        ``(N,)`` float64 labels: ``1.0`` if ``a`` is preferred, ``0.0`` if ``b`` is, ``nan`` (or
        ``tie_label``) if undecided. With ``return_level=True``, ``(labels, levels)`` where
        ``levels`` is ``(N,)`` int64.

    Raises:
        ConfigError: on mismatched or non-2D shapes, NaN factor values, a bad ``ranking``
            (out of range, duplicate, empty), a negative, NaN or infinite margin, per-factor
            arguments of the wrong length or form, or ``tie_label`` outside ``[0, 1]``.
        UnknownNameError: a name in ``ranking`` (or a key of ``margins`` / ``higher_is_better``)
            that is not a factor of ``fa``; the message suggests the closest.

    Example:
        >>> import numpy as np
        >>> fa = np.array([[1.0, 5.0], [1.0, 5.0], [1.0, 5.0]])
        >>> fb = np.array([[2.0, 0.0], [1.05, 0.0], [1.05, 5.0]])
        >>> hierarchical_labels(fa, fb, ranking=[0, 1], higher_is_better=[False, True], margins=[0.1, 0.0])
        array([ 1.,  1., nan])
        >>> labels, levels = hierarchical_labels(
        ...     fa, fb, ranking=[0, 1], higher_is_better=[False, True], margins=[0.1, 0.0], return_level=True)
        >>> levels
        array([ 0,  1, -1])
    """
    va, vb, signs, deltas = _prepare(fa, fb, ranking, higher_is_better, margins)
    tie = _check_tie_label(tie_label)

    # One pass over the (N, L) grid of levels: +1 where a wins at that level, -1 where b wins,
    # 0 where tied. Multiplying by the sign +-1 is exact, so this is the reference comparison
    # `s*a > s*b + delta` bit for bit (not `s*(a - b) > delta`, which rounds differently).
    sa = va * signs
    sb = vb * signs
    decision = (sa > sb + deltas).view(np.int8) - (sb > sa + deltas).view(np.int8)
    decided_at = decision != 0
    first = decided_at.argmax(axis=1)  # first nonzero level; 0 too when a row is all zero
    rows = np.arange(decision.shape[0])
    winner = decision[rows, first]  # +1, -1, or 0 for a pair tied at every level

    labels = np.where(winner > 0, 1.0, 0.0)
    labels[winner == 0] = tie
    if not return_level:
        return labels
    levels = np.where(winner != 0, first, -1).astype(np.int64)
    return labels, levels


def std_margins(
    factors: FactorInput,
    multiplier: float | ArrayLike | Mapping[str, float],
    *,
    ddof: int = 1,
) -> NDArray[np.float64] | dict[str, float]:
    """HERON's margins: ``delta_k = multiplier_k * std(factor k)`` over the given data.

    HERON sets each level's margin to a multiple of that factor's empirical standard deviation,
    over all data collected so far (classic control) or over the current minibatch (robotics).
    The paper's code uses torch's unbiased std, hence ``ddof=1`` by default. Feed the result to
    :func:`hierarchical_labels` as ``margins``. Because the std scales with the factor, labels
    with these margins do not change when a factor is rescaled by ``c > 0``.

    Args:
        factors: ``(M, K)`` factor values, or name -> ``(M,)`` values; ``M > ddof``.
        multiplier: ``sigma_k >= 0``, a float for every factor, a length-``K`` sequence aligned
            with the factor axis, or name -> float for dict input (names not given get none:
            every name of ``factors`` must be present).
        ddof: delta degrees of freedom of the std (1 = unbiased, as in HERON's code).

    Returns:
        ``(K,)`` float64 margins for array input; a dict name -> margin for dict input.

    Raises:
        ConfigError: non-2D or too few rows, NaN or infinite factor values, a negative or
            non-finite multiplier, or a multiplier of the wrong length.
        UnknownNameError: a key of ``multiplier`` that is not a factor name.

    Example:
        >>> std_margins(np.array([[0.0, 10.0], [2.0, 30.0]]), [1.0, 0.5])
        array([1.41421356, 7.07106781])
    """
    if isinstance(factors, Mapping):
        names = [str(n) for n in factors]
        if not names:
            raise ConfigError(message("factors", "a non-empty dict name -> (M,) values", factors))
        columns = [_column("factors", name, factors[name]) for name in names]
        _same_lengths("factors", names, columns)
        data = np.stack(columns, axis=1)
        mult = _per_factor("multiplier", multiplier, names, by_name=True, kind="margin")
    else:
        data = _as_2d("factors", factors)
        names = [str(j) for j in range(data.shape[1])]
        mult = _per_factor("multiplier", multiplier, names, by_name=False, kind="margin")
    if isinstance(ddof, bool) or not isinstance(ddof, numbers.Integral) or ddof < 0:
        raise ConfigError(message("ddof", "a non-negative integer", ddof, "Use ddof=1 (unbiased, as HERON)."))
    if data.shape[0] <= ddof:
        raise ConfigError(
            message(
                "factors",
                f"at least {ddof + 1} rows to take a std with ddof={ddof}",
                f"{data.shape[0]} rows",
                "Pass more samples.",
            )
        )
    if not np.isfinite(data).all():
        raise ConfigError(message("factors", "finite", "NaN or inf values", "Drop or fix non-finite samples first."))
    result = mult * data.std(axis=0, ddof=int(ddof))
    if isinstance(factors, Mapping):
        return {name: float(v) for name, v in zip(names, result, strict=True)}
    return result


# --------------------------------------------------------------------------------------------
# validation


def _prepare(
    fa: FactorInput,
    fb: FactorInput,
    ranking: Sequence[int] | Sequence[str],
    higher_is_better: Any,
    margins: Any,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Validate and return ``(va, vb, signs, deltas)``: ``(N, L)`` ranked columns, ``(L,)`` each."""
    if isinstance(fa, Mapping) != isinstance(fb, Mapping):
        raise ConfigError(
            message(
                "fb",
                "of the same form as `fa` (both dicts or both arrays)",
                type(fb).__name__,
                f"`fa` is a {type(fa).__name__}.",
            )
        )
    rank_list = _ranking_list(ranking)
    if isinstance(fa, Mapping) and isinstance(fb, Mapping):
        names = [str(n) for n in fa]
        if set(map(str, fb)) != set(names):
            raise ConfigError(
                message("fb", f"a dict with the same names as `fa` ({sorted(names)})", sorted(map(str, fb)))
            )
        for r in rank_list:
            if not isinstance(r, str):
                raise ConfigError(
                    message("ranking", "a list of factor names when fa/fb are dicts", ranking, f"Names: {names}.")
                )
            if r not in names:
                raise unknown("ranking", r, names, "a factor name of `fa`")
        ranked = [str(r) for r in rank_list]
        va = np.stack([_column("fa", n, fa[n]) for n in ranked], axis=1)
        vb = np.stack([_column("fb", n, fb[n]) for n in ranked], axis=1)
        _same_lengths("fa", ranked, list(va.T))
        if va.shape != vb.shape:
            raise ConfigError(message("fb", f"of the same length as `fa` ({va.shape[0]})", vb.shape[0]))
        signs_all = _per_factor("higher_is_better", higher_is_better, names, by_name=True, kind="bool")
        deltas_all = _per_factor("margins", 0.0 if margins is None else margins, names, by_name=True, kind="margin")
        index = [names.index(n) for n in ranked]
    else:
        a = _as_2d("fa", cast(ArrayLike, fa))
        b = _as_2d("fb", cast(ArrayLike, fb))
        if a.shape != b.shape:
            raise ConfigError(message("fb", f"of the same shape as `fa` {a.shape}", b.shape))
        k = a.shape[1]
        index = []
        for r in rank_list:
            if isinstance(r, bool) or not isinstance(r, numbers.Integral):
                raise ConfigError(
                    message(
                        "ranking", "a list of column indices when fa/fb are arrays", ranking, "Pass dicts to use names."
                    )
                )
            if not 0 <= int(r) < k:
                raise ConfigError(
                    message(
                        "ranking", f"a list of indices in [0, {k})", ranking, f"{r} is not a column of fa {a.shape}."
                    )
                )
            index.append(int(r))
        names = [str(j) for j in range(k)]
        signs_all = _per_factor("higher_is_better", higher_is_better, names, by_name=False, kind="bool")
        deltas_all = _per_factor("margins", 0.0 if margins is None else margins, names, by_name=False, kind="margin")
        va = a[:, index]
        vb = b[:, index]
    if np.isnan(va).any() or np.isnan(vb).any():
        raise ConfigError(
            message(
                "fa/fb", "free of NaN in the ranked factors", "NaN values", "A NaN compares as a tie; fix it first."
            )
        )
    idx = np.asarray(index)
    signs = np.where(signs_all[idx] > 0, 1.0, -1.0)
    return va, vb, signs, deltas_all[idx]


def _ranking_list(ranking: Any) -> list[Any]:
    if isinstance(ranking, (str, bytes)) or not isinstance(ranking, (Sequence, np.ndarray)):
        raise ConfigError(message("ranking", "a sequence of factors, most important first", ranking))
    items = list(np.asarray(ranking).tolist()) if isinstance(ranking, np.ndarray) else list(ranking)
    if not items:
        raise ConfigError(message("ranking", "a non-empty sequence", ranking, "Rank at least one factor."))
    seen: set[Any] = set()
    for r in items:
        if r in seen:
            raise ConfigError(message("ranking", "free of duplicates", ranking, f"{r!r} appears twice."))
        seen.add(r)
    return items


def _as_2d(param: str, x: ArrayLike) -> NDArray[np.float64]:
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ConfigError(message(param, "an (N, K) array of numbers", type(x).__name__, str(exc))) from exc
    if arr.ndim != 2:
        raise ConfigError(
            message(param, "a 2-D (N, K) array", f"shape {arr.shape}", "Use x.reshape(-1, K) or x[:, None].")
        )
    return arr


def _column(param: str, name: str, x: ArrayLike) -> NDArray[np.float64]:
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ConfigError(message(f"{param}[{name!r}]", "an (N,) array of numbers", type(x).__name__)) from exc
    if arr.ndim != 1:
        raise ConfigError(message(f"{param}[{name!r}]", "a 1-D (N,) array", f"shape {arr.shape}"))
    return arr


def _same_lengths(param: str, names: list[str], columns: list[NDArray[np.float64]]) -> None:
    lengths = {n: len(c) for n, c in zip(names, columns, strict=True)}
    if len(set(lengths.values())) > 1:
        raise ConfigError(message(param, "a dict of equally long (N,) arrays", lengths))


def _per_factor(
    param: str, value: Any, names: list[str], *, by_name: bool, kind: Literal["bool", "margin"]
) -> NDArray[np.float64]:
    """Expand a scalar, a factor-axis sequence or a name-keyed dict to a ``(K,)`` float array."""
    k = len(names)
    if isinstance(value, Mapping):
        if not by_name:
            raise ConfigError(
                message(
                    param, f"a sequence of length {k} aligned with the factor axis", value, "Dicts need dict fa/fb."
                )
            )
        for key in value:
            if key not in names:
                raise unknown(param, str(key), names, "keyed by factor names of `fa`")
        missing = [n for n in names if n not in value]
        if missing:
            raise ConfigError(message(param, "a dict with every factor name", sorted(value), f"Missing: {missing}."))
        items = [value[n] for n in names]
    elif _is_scalar(value):
        items = [value.item() if isinstance(value, np.ndarray) else value] * k
    else:
        if by_name:
            raise ConfigError(
                message(
                    param,
                    "a dict name -> value (or one value for all) when fa/fb are dicts",
                    value,
                    "A sequence is ambiguous for dict input; key it by factor name.",
                )
            )
        items = list(np.asarray(value).ravel().tolist()) if isinstance(value, np.ndarray) else list(value)
        if len(items) != k:
            raise ConfigError(
                message(param, f"of length K = {k}, aligned with the factor axis", value, "One entry per column of fa.")
            )
    out = np.empty(k, dtype=np.float64)
    for j, v in enumerate(items):
        if kind == "bool":
            if not isinstance(v, (bool, np.bool_)):
                raise ConfigError(
                    message(param, "True (higher is better) or False (lower) per factor", value, f"Got {v!r}.")
                )
            out[j] = 1.0 if v else -1.0
        else:
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or math.isnan(v) or math.isinf(v) or v < 0:
                raise ConfigError(
                    message(param, "finite and >= 0 for every factor", value, f"Factor {names[j]!r} has {v!r}.")
                )
            out[j] = float(v)
    return out


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_, numbers.Number)) or (isinstance(value, np.ndarray) and value.ndim == 0)


def _check_tie_label(tie_label: float | None) -> float:
    if tie_label is None:
        return math.nan
    if (
        isinstance(tie_label, bool)
        or not isinstance(tie_label, numbers.Real)
        or math.isnan(tie_label)
        or not 0.0 <= tie_label <= 1.0
    ):
        raise ConfigError(message("tie_label", "None or a number in [0, 1]", tie_label, "HERON drops ties: use None."))
    return float(tie_label)
