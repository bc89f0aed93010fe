"""Exact normalised regret: how much return under the true reward an optimal proxy policy loses.

``regret(R_true, R_proxy) = (J_true(π*_true) − J_true(π*_proxy)) / (max_π J_true − min_π J_true)``,
where ``J_R(π) = E_{S₀~μ₀}[V^π_R(S₀)]``. This is the quantity the STARC soundness and
completeness theorems (Skalse et al., ICLR 2024) relate to the distance: a sound metric bounds it
from above, a complete one from below (both up to MDP-dependent constants).

Everything is exact: optimal policies by policy iteration (finite, with linear solves for policy
evaluation), the minimum over policies as ``−max_π J_{−R}``, so no sampling is involved.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rewardlab.metrics._mdp import TabularMDP

__all__ = ["regret"]

TRIVIAL_TOL = 1e-9
"""A true reward whose return range is at most this times ``max|R| / (1 − γ)`` counts as trivial."""


def regret(reward_true: Any, reward_proxy: Any, mdp: TabularMDP) -> float:
    """Normalised regret of acting optimally for ``reward_proxy`` when ``reward_true`` is what counts.

    Tie-break: when the proxy has several optimal policies, the one used is deterministic -- in
    each state the first action (lowest index) whose optimal proxy Q-value is within
    ``1e-9 · max|Q*|`` of the best (see :meth:`TabularMDP.optimal_policy`). So a constant or zero
    proxy picks action 0 everywhere, and can have positive regret.

    Args:
        reward_true: ``(S, A, S)``, ``(S, A)`` or ``(S,)`` array, the reward that defines success.
        reward_proxy: same, the reward the policy is optimised for.
        mdp: the MDP; J is the expected discounted return from ``mdp.initial``.

    Returns:
        A float in [0, 1]: 0 when the proxy's optimal policy is optimal for the true reward, 1
        when it is the worst. 0 when the true reward is trivial (``max_π J = min_π J``, up to a
        relative 1e-9).

    Raises:
        ConfigError: bad rewards.

    Example:
        >>> import numpy as np
        >>> T = np.zeros((2, 2, 2)); T[:, 0, 0] = 1.0; T[:, 1, 1] = 1.0   # action a goes to state a
        >>> mdp = TabularMDP(T, gamma=0.9)
        >>> r = np.array([0.0, 1.0])                                     # R(s): be in state 1
        >>> regret(r, r, mdp), regret(r, -r, mdp)
        (0.0, 1.0)
    """
    true = mdp.reward_table(reward_true, "reward_true")
    proxy = mdp.reward_table(reward_proxy, "reward_proxy")
    best = mdp.expected_return(mdp.optimal_policy(true), true)
    worst = mdp.expected_return(mdp.optimal_policy(-true), true)
    span = best - worst
    scale = float(np.max(np.abs(true))) / (1.0 - mdp.gamma)
    if span <= TRIVIAL_TOL * scale or span <= 0.0:
        return 0.0
    achieved = mdp.expected_return(mdp.optimal_policy(proxy), true)
    return min(max((best - achieved) / span, 0.0), 1.0)
