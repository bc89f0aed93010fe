"""Exact tabular reward distances: STARC, EPIC and DARD.

* **STARC** (Skalse et al., ICLR 2024): ``d(R₁, R₂) = m(s(R₁) − s(R₂))`` with the standardised
  reward ``s(R) = c(R) / n(c(R))`` (and ``s(R) = 0`` when ``c(R) = 0``), for a canonicalisation c,
  a norm n and a metric m (Definition 3). Here m is itself a norm of the difference, and the
  result is **halved** (see :func:`starc_distance`).
* **EPIC** (Gleave et al., ICLR 2021): the Pearson distance ``√((1 − ρ)/2)`` between EPIC's
  canonically shaped rewards under a coverage distribution D over transitions.
* **DARD** (Wulfe et al., ICLR 2022): the Pearson distance between DARD-transformed rewards
  under a coverage of *possible* transitions.

Zero rule: a canonical reward whose norm (or, for the Pearson distances, standard deviation) is at
most ``1e-9`` times the magnitude of the *input* reward is treated as exactly 0. In floating point
the canonical form of a pure shaping reward is ~1e-15, not 0; a relative threshold keeps
``s(kR) = s(R)`` for every ``k > 0``, which an absolute epsilon would not.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rewardlab.errors import ConfigError, message, unknown
from rewardlab.metrics._canon import (
    METHODS,
    check_action_dist,
    check_weights,
    dard_canonical,
    epic_canonical,
    minimal_canonical,
    val_canonical,
)
from rewardlab.metrics._mdp import TabularMDP, as_real_array, check_distribution

__all__ = ["dard_distance", "epic_distance", "starc_distance", "undefined_reason"]

ZERO_TOL = 1e-9
"""Relative tolerance under which a canonical reward counts as 0 (see the module docstring)."""


def _order(param: str, value: Any) -> float:
    """Parse a norm order: 1, 2 or inf (``math.inf``, ``float("inf")`` or ``"inf"``)."""
    if isinstance(value, str) and value.strip().lower() in ("inf", "infinity"):
        return math.inf
    if not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating)):
        if float(value) in (1.0, 2.0, math.inf):
            return float(value)
    raise ConfigError(message(param, "1, 2 or inf", value, f"Pass {param}=1, {param}=2 or {param}='inf'."))


def _norm(x: np.ndarray, p: float, weights: np.ndarray | None) -> float:
    """Weighted L_p norm ``(Σ W |x|^p)^(1/p)``; L∞ is ``max |x|`` over the entries with W > 0."""
    if p == math.inf:
        support = np.abs(x) if weights is None else np.abs(x[weights > 0])
        return float(support.max()) if support.size else 0.0
    if weights is None:
        return float(np.sum(np.abs(x))) if p == 1.0 else float(np.sqrt(np.sum(x * x)))
    return float(np.sum(weights * np.abs(x))) if p == 1.0 else float(np.sqrt(np.sum(weights * x * x)))


def _standardize(canon: np.ndarray, reward: np.ndarray, p: float, weights: np.ndarray | None) -> np.ndarray:
    """``c(R) / n(c(R))``, or 0 when ``n(c(R)) ≤ 1e-9 · n(max|R| · 1)`` (an upper bound on n(R))."""
    size = _norm(canon, p, weights)
    scale = float(np.max(np.abs(reward))) * _norm(np.ones_like(reward), p, weights)
    if size <= ZERO_TOL * scale or size == 0.0:
        return np.zeros_like(canon)
    return canon / size


def starc_distance(
    reward1: Any,
    reward2: Any,
    mdp: TabularMDP,
    canonicalization: str = "val",
    norm: float | str = 2,
    metric: float | str = 2,
    *,
    weights: Any = None,
    policy: Any = None,
) -> float:
    """The STARC distance between two tabular rewards, halved.

    ``d = m(s(R₁) − s(R₂)) / 2`` with ``s(R) = c(R) / n(c(R))`` and ``s(R) = 0`` when c(R) is 0 up
    to the relative tolerance 1e-9 (the paper's convention that the normalisation of 0 is 0).

    **Halving.** With ``metric == norm`` the raw STARC value lies in [0, 2] with d(R, −R) = 2; this
    function divides by 2 so that it lies in [0, 1] with ``d(R, −R) = 1`` for non-trivial R. The
    paper's own code (and its published numbers) do **not** halve: multiply by 2 to compare.

    Consequences of the definitions, for ``metric == norm``: ``d(0, 0) = 0``; ``d(0, R) = n(s(R))/2
    = 0.5`` for non-trivial R, because the standardisation of a trivial reward (zero, constant, pure
    potential shaping, S'-redistribution of those) is the zero vector; ``d(R, kR) = 0`` for k > 0.
    It is a pseudometric (symmetric, triangle inequality); with ``"val"`` or ``"minimal"``,
    ``d = 0`` iff the rewards differ only by potential shaping, S'-redistribution and positive
    scaling (or both are trivial). When ``metric != norm`` the range is ``[0, max m(x)]`` over
    ``n(x) ≤ 1`` rather than [0, 1].

    **Large MDPs.** ``"val"`` without ``weights`` works on ``(S, A)`` arrays only (c_VAL is constant
    in s', so its norms over the S·A·S entries are computed analytically): with a sparse τ and
    ``(S, A)`` or ``(S,)`` rewards it handles 10⁵ states. The other canonicalisations, and
    ``weights``, build ``(S, A, S)`` arrays.

    Args:
        reward1: ``(S, A, S)``, ``(S, A)`` or ``(S,)`` array.
        reward2: same, for the second reward.
        mdp: the MDP (τ and γ; μ₀ is not used).
        canonicalization: ``"val"`` (Value-Adjusted Levelling, default) or ``"minimal"`` (minimal
            for the weighted L2 norm with ``weights``, whatever ``norm`` is) -- both STARC
            canonicalisations -- or ``"epic"`` / ``"dard"`` (canonical shapings with uniform D_S
            and D_A, for ablations: they are *not* invariant to S'-redistribution).
        norm: order of the normalisation n: 1, 2 or inf (``float("inf")`` or ``"inf"``).
        metric: order of the metric m(x, y) = ‖x − y‖: 1, 2 or inf.
        weights: optional nonnegative ``(S, A, S)`` weights W for both n and m,
            ``(Σ W |x|^p)^(1/p)``, and L∞ over the entries with W > 0; unweighted when None.
            Weights that vanish where c(R) does not (e.g. τ-weights with ``"epic"``) make n a
            seminorm only.
        policy: ``"val"`` only: the fixed ``(S, A)`` policy of VAL; uniform when None.

    Returns:
        The halved distance, a float in [0, 1] when ``metric == norm``.

    Raises:
        ConfigError: bad rewards, orders, weights or policy.
        UnknownNameError: an unknown ``canonicalization``.

    Example:
        >>> import numpy as np
        >>> T = np.zeros((2, 2, 2)); T[:, 0, 0] = 1.0; T[:, 1, 1] = 1.0   # action a goes to state a
        >>> mdp = TabularMDP(T, gamma=0.9)
        >>> r = np.array([[1.0, 0.0], [0.0, 2.0]])                       # R(s, a)
        >>> round(starc_distance(r, -r, mdp), 12), round(starc_distance(r, 3 * r + 1, mdp), 12)
        (1.0, 0.0)
    """
    if canonicalization not in METHODS:
        raise unknown("canonicalization", canonicalization, METHODS, "a canonicalisation name")
    p_norm = _order("norm", norm)
    p_metric = _order("metric", metric)
    w = check_weights(weights, mdp)
    if policy is not None and canonicalization != "val":
        raise ConfigError(message("policy", f"None for canonicalization={canonicalization!r}", "an array"))
    pi = mdp.check_policy(policy)
    if canonicalization == "val" and w is None:
        return _starc_val_compact(reward1, reward2, mdp, pi, p_norm, p_metric)
    tables = (mdp.reward_table(reward1, "reward1"), mdp.reward_table(reward2, "reward2"))
    standardized = []
    for table in tables:
        if canonicalization == "val":
            canon = val_canonical(table, mdp, pi)
        elif canonicalization == "minimal":
            canon = minimal_canonical(table, mdp, w)
        elif canonicalization == "epic":
            canon = epic_canonical(table, mdp, _uniform(mdp.n_states), _uniform(mdp.n_actions))
        else:
            canon = dard_canonical(table, mdp, _uniform(mdp.n_actions))
        standardized.append(_standardize(canon, table, p_norm, w))
    return 0.5 * _norm(standardized[0] - standardized[1], p_metric, w)


def _starc_val_compact(
    reward1: Any, reward2: Any, mdp: TabularMDP, policy: np.ndarray, p_norm: float, p_metric: float
) -> float:
    """Unweighted STARC-VAL from ``(S, A)`` advantages, never building an ``(S, A, S)`` array.

    c_VAL(R) = A^π_R(s, a) is constant in s', so an L_p norm over its S·A·S entries is
    ``(S · Σ_{s,a} |A(s, a)|^p)^(1/p)`` (L∞: ``max |A|``): the same value as the dense path, from
    O(S·A) memory plus the sparse τ. ``(S, A)`` and ``(S,)`` rewards are not broadcast either. This is
    what makes STARC-VAL usable on sparse MDPs with 10⁵ states, where one dense reward table
    would take S·A·S·8 bytes (320 GB at S = 10⁵, A = 4).
    """
    n_entries = mdp.n_states * mdp.n_actions * mdp.n_states
    standardized = []
    # both rewards share the policy: P_π and I − γP_π are built (and, dense, factorised) once
    pairs = [_val_expected(reward, param, mdp) for param, reward in (("reward1", reward1), ("reward2", reward2))]
    values = mdp._values_many(policy, [r_bar for r_bar, _ in pairs])
    for (r_bar, magnitude), v in zip(pairs, values, strict=True):
        advantage = r_bar + mdp.gamma * mdp.next_expectation(v) - v[:, None]
        size = _entry_norm(advantage, p_norm, mdp.n_states)
        scale = magnitude * (1.0 if p_norm == math.inf else n_entries ** (1.0 / p_norm))
        if size <= ZERO_TOL * scale or size == 0.0:  # the zero rule of _standardize
            standardized.append(np.zeros_like(advantage))
        else:
            standardized.append(advantage / size)
    return 0.5 * _entry_norm(standardized[0] - standardized[1], p_metric, mdp.n_states)


def _val_advantage(reward: Any, param: str, mdp: TabularMDP, policy: np.ndarray) -> tuple[np.ndarray, float]:
    """VAL's ``A^π_R(s, a)`` as an ``(S, A)`` array, and ``max |R|``."""
    r_bar, magnitude = _val_expected(reward, param, mdp)
    values = mdp._values(policy, r_bar)
    return r_bar + mdp.gamma * mdp.next_expectation(values) - values[:, None], magnitude


def _val_expected(reward: Any, param: str, mdp: TabularMDP) -> tuple[np.ndarray, float]:
    """``r̄(s, a)`` of a tabular reward as an ``(S, A)`` array, and ``max |R|``.

    ``r̄(s, a) = R(s, a) · Σ_{s'} τ(s, a, s')`` for an ``(S, A)`` or ``(S,)`` reward (the row sum, not
    1, so that the result matches the broadcast ``(S, A, S)`` table up to rounding).
    """
    n_s, n_a = mdp.n_states, mdp.n_actions
    if isinstance(reward, (np.ndarray, list, tuple)):
        arr = as_real_array(param, reward, "a tabular reward")
    else:  # a reward spec, which reward_table tabulates (or rejects) to (S, A, S)
        arr = mdp.reward_table(reward, param)
    if arr.shape in ((n_s, n_a), (n_s,)):
        r_bar = (arr if arr.ndim == 2 else arr[:, None]) * mdp.next_expectation(np.ones(n_s))
    elif arr.shape == (n_s, n_a, n_s):
        r_bar = mdp.expected_reward(arr)
    else:  # reward_table rejects the shape with the usual message
        r_bar = mdp.expected_reward(mdp.reward_table(arr, param))
    return r_bar, float(np.max(np.abs(arr)))


def _entry_norm(x: np.ndarray, p: float, repeats: int) -> float:
    """L_p norm of an ``(S, A)`` array repeated ``repeats`` times along s' (unweighted, as ``_norm``)."""
    if p == math.inf:
        return float(np.max(np.abs(x)))
    if p == 1.0:
        return float(repeats * np.sum(np.abs(x)))
    return math.sqrt(repeats * float(np.sum(x * x)))


def _uniform(n: int) -> np.ndarray:
    return np.full(n, 1.0 / n)


def _check_coverage(coverage: Any, mdp: TabularMDP) -> np.ndarray:
    """Validate a coverage over ``(S, A, S)``: nonnegative, positive total; returned normalised."""
    cov = as_real_array("coverage", coverage, "a coverage distribution")
    shape = (mdp.n_states, mdp.n_actions, mdp.n_states)
    if cov.shape != shape:
        raise ConfigError(message("coverage", f"an array of shape (S, A, S) = {shape}", cov.shape))
    if cov.min() < 0 or not cov.sum() > 0:
        raise ConfigError(message("coverage", "nonnegative with a positive total", float(cov.min())))
    return cov / cov.sum()


def _pearson_standardize(x: np.ndarray, dist: np.ndarray, scale: float) -> np.ndarray:
    """``(x − E_D x) / std_D(x)``, or 0 when ``std_D(x) ≤ 1e-9 · scale``."""
    centred = x - float(np.sum(dist * x))
    spread = math.sqrt(float(np.sum(dist * centred * centred)))
    if spread <= ZERO_TOL * scale or spread == 0.0:
        return np.zeros_like(x)
    return centred / spread


def _pearson_distance(x: np.ndarray, y: np.ndarray, dist: np.ndarray, scales: tuple[float, float]) -> float:
    """``√((1 − ρ)/2) = ½ ‖x̂ − ŷ‖_{L2(D)}`` on standardised x̂, ŷ, clipped to [0, 1].

    The square root of ``1 − ρ`` would turn a 1e-16 rounding error in ρ into a 1e-8 distance; the
    norm of the difference of standardised vectors keeps an exact match at ~1e-16.
    """
    x_hat = _pearson_standardize(x, dist, scales[0])
    y_hat = _pearson_standardize(y, dist, scales[1])
    diff = x_hat - y_hat
    return min(max(0.5 * math.sqrt(float(np.sum(dist * diff * diff))), 0.0), 1.0)


def epic_distance(
    reward1: Any,
    reward2: Any,
    mdp: TabularMDP,
    *,
    state_dist: Any = None,
    action_dist: Any = None,
    coverage: Any = None,
) -> float:
    """The EPIC distance (Gleave et al., 2021): Pearson distance of canonically shaped rewards.

    ``D = √((1 − ρ(C(R₁), C(R₂)))/2)`` with ``(S, A, S') ~ coverage`` and C the EPIC canonical
    shaping with independent ``S, S' ~ D_S`` and ``A ~ D_A``. Invariant to potential shaping and
    positive affine maps; **not** to S'-redistribution (it reads R on impossible transitions). Only
    γ, the sizes and the terminal states are taken from ``mdp``; the transitions are not used. On
    an MDP with terminal states (the suite's gridworlds) a shaping with ``Φ = 0`` on them is
    removed exactly: the impossible transitions out of a terminal state are filled first (see
    :func:`~rewardlab.metrics.canonicalize`).

    Defaults: D_S and D_A uniform, as in the STARC experiments (evaluating-rewards uses visitation
    marginals instead), and coverage ``D_S × D_A × D_S``, under which the result also equals
    ``½‖ĉ₁ − ĉ₂‖`` for L2(D)-normalised canonical rewards. ρ is undefined when a canonical reward
    has zero variance (a trivial reward); such a reward is standardised to 0, as STARC does, so
    ``D(0, 0) = 0`` and ``D(0, R) = 0.5`` for non-trivial R.

    Args:
        reward1: ``(S, A, S)``, ``(S, A)`` or ``(S,)`` array.
        reward2: same, for the second reward.
        mdp: supplies γ and the numbers of states and actions.
        state_dist: ``(S,)`` distribution D_S; uniform when None.
        action_dist: ``(A,)`` distribution D_A; uniform when None.
        coverage: ``(S, A, S)`` nonnegative weights of the coverage D (normalised here); the
            product ``D_S × D_A × D_S`` when None.

    Returns:
        A float in [0, 1]; ``D(R, −R) = 1`` for non-trivial R.

    Raises:
        ConfigError: bad rewards or distributions.
    """
    n_s = mdp.n_states
    d_s = _uniform(n_s)
    if state_dist is not None:
        d_s = check_distribution("state_dist", state_dist, (n_s,), "a distribution over states")
    d_a = check_action_dist(action_dist, mdp)
    dist = np.einsum("s,a,t->sat", d_s, d_a, d_s) if coverage is None else _check_coverage(coverage, mdp)
    tables = (mdp.reward_table(reward1, "reward1"), mdp.reward_table(reward2, "reward2"))
    canon = [epic_canonical(t, mdp, d_s, d_a) for t in tables]
    return _pearson_distance(canon[0], canon[1], dist, _scales(tables))


def dard_distance(
    reward1: Any,
    reward2: Any,
    mdp: TabularMDP,
    *,
    action_dist: Any = None,
    coverage: Any = None,
) -> float:
    """The DARD distance (Wulfe et al., 2022): Pearson distance of DARD-transformed rewards.

    ``D = √((1 − ρ(C_τ(R₁), C_τ(R₂)))/2)`` under a coverage of transitions, with C_τ the DARD
    transformation (A ~ D_A, S' ~ τ(s, A), S'' ~ τ(s', A)). Invariant to potential shaping (with
    ``Φ = 0`` on terminal states, whose outgoing impossible transitions are filled first, as for
    :func:`epic_distance`); not to S'-redistribution. Even under the default coverage it can read
    R on transitions that τ makes impossible: the cross term ``R(S', A, S'')`` pairs a successor
    of s with a successor of s', which need not be a successor of S' (also with deterministic τ).

    Defaults: D_A uniform, and coverage ``D(s, a, s') = (1/S) · D_A(a) · τ(s, a, s')`` -- uniform
    states, D_A actions and next states from the transition model, i.e. *possible* transitions
    only, which is the point of DARD. Trivial rewards are standardised to 0 (see
    :func:`epic_distance`).

    Args:
        reward1: ``(S, A, S)``, ``(S, A)`` or ``(S,)`` array.
        reward2: same, for the second reward.
        mdp: the MDP; τ is DARD's transition model.
        action_dist: ``(A,)`` distribution D_A; uniform when None.
        coverage: ``(S, A, S)`` nonnegative weights of the coverage (normalised here).

    Returns:
        A float in [0, 1]; ``D(R, −R) = 1`` for non-trivial R.

    Raises:
        ConfigError: bad rewards or distributions.
    """
    d_a = check_action_dist(action_dist, mdp)
    if coverage is None:
        dist = mdp.dense_transitions() * d_a[None, :, None] / mdp.n_states
    else:
        dist = _check_coverage(coverage, mdp)
    tables = (mdp.reward_table(reward1, "reward1"), mdp.reward_table(reward2, "reward2"))
    canon = [dard_canonical(t, mdp, d_a) for t in tables]
    return _pearson_distance(canon[0], canon[1], dist, _scales(tables))


TRIVIAL_REASONS = {
    "val": "its STARC-VAL canonical form is 0: every policy has the same return under it (a zero or constant "
    "reward up to potential shaping), so it orders no policies and a distance to it means nothing",
    "minimal": "its STARC-minimal canonical form is 0: every policy has the same return under it (a zero or "
    "constant reward up to potential shaping), so it orders no policies and a distance to it means nothing",
    "epic": "its EPIC canonical form is constant (a constant reward plus potential shaping, as EPIC reads it), "
    "so EPIC's correlation with it is 0/0",
    "dard": "its DARD canonical form is constant (a constant reward plus potential shaping, as DARD reads it), "
    "so DARD's correlation with it is 0/0",
}
"""Why a distance to a trivial reward is undefined, per canonicalisation (see :func:`undefined_reason`)."""


def undefined_reason(reward: Any, mdp: TabularMDP, method: str = "val") -> str | None:
    """Why a distance to ``reward`` is undefined on ``mdp``, or None when it is defined.

    A reward whose canonical form is 0 (STARC) or constant (EPIC and DARD, which correlate) up to
    the relative tolerance 1e-9 is *trivial* for that metric. The distance functions follow the
    paper's convention and standardise it to 0, so ``d(trivial, R) = 0.5`` for every non-trivial R:
    a number that says nothing about R. :func:`rewardlab.compare.compare` reports such distances as
    undefined, with this reason, instead. The test uses the defaults of the distance functions
    (uniform π, D_S, D_A; EPIC's product and DARD's τ coverage; unweighted L2).

    Args:
        reward: ``(S, A, S)``, ``(S, A)`` or ``(S,)`` array, or a spec on an exported MDP.
        mdp: the MDP.
        method: ``"val"``, ``"minimal"``, ``"epic"`` or ``"dard"``.

    Returns:
        A sentence (starting "its ... canonical form"), or None.

    Raises:
        ConfigError: a bad reward.
        UnknownNameError: an unknown ``method``.

    Example:
        >>> import numpy as np
        >>> T = np.full((2, 2, 2), 0.5)
        >>> mdp = TabularMDP(T, gamma=0.9)
        >>> undefined_reason(np.ones(2), mdp, "epic")[:33]
        'its EPIC canonical form is consta'
        >>> undefined_reason(np.array([0.0, 1.0]), mdp, "epic") is None
        True
    """
    if method not in METHODS:
        raise unknown("method", method, METHODS, "a canonicalisation name")
    if method == "val":
        advantage, magnitude = _val_advantage(reward, "reward", mdp, mdp.check_policy(None))
        n_entries = mdp.n_states * mdp.n_actions * mdp.n_states
        size = _entry_norm(advantage, 2.0, mdp.n_states)
        trivial = size <= ZERO_TOL * magnitude * math.sqrt(n_entries) or size == 0.0
        return TRIVIAL_REASONS[method] if trivial else None
    table = mdp.reward_table(reward)
    if method == "minimal":
        canon = minimal_canonical(table, mdp, None)
        return TRIVIAL_REASONS[method] if not np.any(_standardize(canon, table, 2.0, None)) else None
    d_a = _uniform(mdp.n_actions)
    if method == "epic":
        d_s = _uniform(mdp.n_states)
        canon = epic_canonical(table, mdp, d_s, d_a)
        dist = np.einsum("s,a,t->sat", d_s, d_a, d_s)
    else:
        canon = dard_canonical(table, mdp, d_a)
        dist = mdp.dense_transitions() * d_a[None, :, None] / mdp.n_states
    standardized = _pearson_standardize(canon, dist, float(np.max(np.abs(table))))
    return TRIVIAL_REASONS[method] if not np.any(standardized) else None


def _scales(tables: tuple[np.ndarray, np.ndarray]) -> tuple[float, float]:
    return float(np.max(np.abs(tables[0]))), float(np.max(np.abs(tables[1])))
