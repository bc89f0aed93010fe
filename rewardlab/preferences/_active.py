"""Active querying: which pairs of segments to ask a teacher about next.

:func:`select_pairs` draws pairs uniformly, or, as Christiano et al. (2017), ``imitation``'s
``ActiveSelectionFragmenter`` (``uncertainty_on="probability"``) and PEBBLE do, oversamples
candidate pairs and keeps those on which the members of a reward-model ensemble disagree most:
the largest variance across members of ``P_e(a > b) = sigmoid(R_e(a) - R_e(b))``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from rewardlab.data import Segments
from rewardlab.errors import ConfigError, message, unknown
from rewardlab.preferences._bradley_terry import preference_probability
from rewardlab.rewards import RewardModel

__all__ = ["QUERY_METHODS", "select_pairs"]

QUERY_METHODS = ("disagreement", "uniform")
"""The methods :func:`select_pairs` knows."""


def _rng(seed: Any) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
        return np.random.default_rng(int(seed))
    raise ConfigError(message("seed", "an integer >= 0 or a numpy Generator", seed))


def _count(param: str, value: Any, fix: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(message(param, "an integer >= 1", value, fix))
    return int(value)


def _uniform_pairs(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` different ordered pairs ``(a, b)``, ``a != b``, uniformly without replacement."""
    # index the n (n - 1) ordered pairs with a != b: row a, then b skips a
    flat = rng.choice(n * (n - 1), size=k, replace=False)
    a, r = np.divmod(flat, n - 1)
    b = r + (r >= a)
    return np.stack([a, b], axis=1).astype(np.int64)


def select_pairs(
    model: RewardModel | None,
    segments: Segments,
    n_pairs: int,
    *,
    method: str = "disagreement",
    n_candidates: int | None = None,
    seed: int | np.random.Generator = 0,
) -> np.ndarray:
    """Choose ``n_pairs`` pairs of segments to label.

    Args:
        model: the current reward model (an ensemble, ``E >= 2``, for ``"disagreement"``; unused
            and may be ``None`` for ``"uniform"``).
        segments: the ``n`` candidate segments.
        n_pairs: pairs to return.
        method: ``"uniform"``: distinct random ordered pairs ``(a, b)`` with ``a != b``.
            ``"disagreement"``: draw ``n_candidates`` such pairs, compute each member's
            ``P_e(a > b)`` from its segment returns, and keep the ``n_pairs`` with the largest
            variance over members (ties keep the earlier candidate).
        n_candidates: candidate pairs for ``"disagreement"`` (default ``10 * n_pairs``, capped at
            the ``n (n - 1)`` pairs there are).
        seed: seed of the numpy generator (or a generator).

    Returns:
        ``(n_pairs, 2)`` int64 segment indices, ``a != b`` in every row, no row twice.

    Raises:
        ConfigError: an unknown ``method`` (with a suggestion), ``"disagreement"`` with a single
            model, ``n_pairs`` more than the ``n (n - 1)`` pairs, ``n_candidates < n_pairs``.

    Example:
        >>> from rewardlab.preferences import collect_segments
        >>> seg = collect_segments("cartpole", n_segments=5, length=4, seed=0)
        >>> select_pairs(None, seg, 3, method="uniform").shape
        (3, 2)
    """
    if not isinstance(method, str) or method not in QUERY_METHODS:
        raise unknown("method", str(method), QUERY_METHODS, "one of " + ", ".join(map(repr, QUERY_METHODS)))
    if not isinstance(segments, Segments):
        raise ConfigError(message("segments", "a Segments object", type(segments).__name__))
    k = _count("n_pairs", n_pairs, "Pass n_pairs=10, for example.")
    rng = _rng(seed)
    n = len(segments)
    available = n * (n - 1)
    if k > available:
        raise ConfigError(
            message("n_pairs", f"at most {available}, the ordered pairs of {n} segments", k, "Collect more segments.")
        )
    if method == "uniform":
        return _uniform_pairs(n, k, rng)

    if not isinstance(model, RewardModel):
        raise ConfigError(message("model", "a RewardModel", type(model).__name__, 'Or pass method="uniform".'))
    if model.ensemble < 2:
        raise ConfigError(
            message(
                "model.ensemble",
                '>= 2 for method="disagreement" (members must be able to disagree)',
                model.ensemble,
                'Build the model with ensemble=3, or pass method="uniform".',
            )
        )
    c = 10 * k if n_candidates is None else _count("n_candidates", n_candidates, "Pass n_candidates=10 * n_pairs.")
    if c < k:
        raise ConfigError(message("n_candidates", f">= n_pairs ({k})", c, "Pass n_candidates=10 * n_pairs."))
    candidates = _uniform_pairs(n, min(c, available), rng)
    with torch.no_grad():
        returns = model.segment_returns(segments).numpy().astype(np.float64)  # (E, n)
    p = preference_probability(returns[:, candidates[:, 0]], returns[:, candidates[:, 1]])  # (E, C)
    variance = p.var(axis=0)
    top = np.argsort(-variance, kind="stable")[:k]
    return candidates[top]
