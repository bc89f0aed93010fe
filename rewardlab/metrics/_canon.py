"""Canonicalisations: linear maps that strip the parts of a reward that do not affect policies.

Two rewards are *equivalent* (R₁ ≡ R₂) when they differ by potential shaping
``γΦ(s') − Φ(s)`` and S'-redistribution (any change that keeps ``E_{S'~τ(s,a)}[R(s, a, S')]``,
including arbitrary values on impossible transitions). A STARC canonicalisation c (Skalse et al.,
"STARC: A General Framework For Quantifying Differences Between Reward Functions", ICLR 2024,
Definition 1) is linear, with c(R) ≡ R, and c(R₁) = c(R₂) iff R₁ ≡ R₂. Two are implemented:

* ``"val"`` -- Value-Adjusted Levelling (Proposition 2):
  ``c(R)(s, a, s') = E_{S'~τ(s,a)}[R(s, a, S') − V^π(s) + γ V^π(S')] = A^π_R(s, a)``, the advantage
  of a fixed policy π (uniform by default) under R itself. It is constant in s'.
* ``"minimal"`` -- the minimal canonicalisation for the weighted L2 norm ``Σ W x²`` (Definition 4):
  the W-orthogonal projection onto the complement of N = {R : R ≡ 0}. In closed form, with
  ``k(s, a) = 1 / Σ_{s'} τ(s, a, s')² / W(s, a, s')`` and ``r̄ = τR``, choose Φ minimising
  ``Σ k(s, a) b(s, a)²`` where ``b = r̄ + γτΦ − Φ`` (weighted least squares in |S| unknowns,
  unique for γ < 1); then ``c(R)(s, a, s') = b(s, a) k(s, a) τ(s, a, s') / W(s, a, s')``, which is 0
  on impossible transitions. Derivation: the W-complement of the redistribution subspace
  {D : τD = 0} is {β τ / W}; orthogonality to the shaping directions is the normal equation of
  the least-squares problem.

Two canonical shapings from earlier metrics, for ablations (they remove potential shaping only,
so they are *not* STARC canonicalisations):

* ``"epic"`` -- EPIC's canonically shaped reward (Gleave et al., "Quantifying Differences in
  Reward Functions", ICLR 2021): ``C(R)(s, a, s') = R(s, a, s') + E[γR(s', A, S') − R(s, A, S') −
  γR(S, A, S')]`` with S, S' ~ D_S independently and A ~ D_A.
* ``"dard"`` -- DARD's transformation (Wulfe et al., "Dynamics-Aware Comparison of Learned
  Reward Functions", ICLR 2022): ``C(R)(s, a, s') = R(s, a, s') + E[γR(s', A, S'') − R(s, A, S') −
  γR(S', A, S'')]`` with A ~ D_A, S' ~ τ(s, A), S'' ~ τ(s', A) (the same A in every term).

**Terminal states** (``mdp.terminal``, e.g. the gridworlds' goal and cliff cells) are absorbing, and
a potential shaping takes ``Φ = 0`` on them (``rewardlab.rewards.Shaped`` zeroes the potential at
termination). EPIC and DARD read R on transitions *out of* a terminal state ``x`` to some ``y ≠ x``,
which the env never makes, and where a tabulated reward is 0 (nothing is earned after the end)
rather than the ``γΦ(y)`` a shaping would put there -- so a shaped reward would look different.
Before canonicalising, ``"epic"`` and ``"dard"`` therefore set those impossible entries to
``R(x, a, y) = mean_z [R(z, a, y) − R(z, a, x)]`` over the non-terminal states z (the reward of
ending in y rather than in x). That changes R only on impossible transitions (an
S'-redistribution: the same policy ordering, STARC and regret unchanged), is linear, and under a
shaping with ``Φ(x) = 0`` it gains exactly ``γΦ(y)``: a potential shaping on every possible
transition becomes one on every entry the two canonicalisations read, so both remove it exactly
(``fill_terminal_rows``). Without terminal states nothing changes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse import linalg as spla

from rewardlab.errors import ConfigError, message, unknown
from rewardlab.metrics._mdp import TabularMDP, as_real_array, check_distribution

__all__ = ["METHODS", "canonicalize"]

METHODS = ("dard", "epic", "minimal", "val")
"""The canonicalisation names :func:`canonicalize` accepts."""


def canonicalize(
    reward: Any,
    mdp: TabularMDP,
    method: str = "val",
    policy: Any = None,
    *,
    weights: Any = None,
    state_dist: Any = None,
    action_dist: Any = None,
) -> np.ndarray:
    """Canonicalise a tabular reward on ``mdp``.

    Args:
        reward: ``(S, A, S)``, ``(S, A)`` or ``(S,)`` array (see :meth:`TabularMDP.reward_table`).
        mdp: the MDP (τ and γ; μ₀ is not used).
        method: ``"val"``, ``"minimal"``, ``"epic"`` or ``"dard"`` (see the module docstring).
        policy: ``"val"`` only: the fixed ``(S, A)`` policy π whose advantage is returned;
            uniform when None. It must not depend on the reward, or c is not linear.
        weights: ``"minimal"`` only: the ``(S, A, S)`` weights W of the L2 norm the projection is
            minimal for; all ones when None. Must be positive wherever τ > 0.
        state_dist: ``"epic"`` only: the ``(S,)`` distribution D_S; uniform when None.
        action_dist: ``"epic"`` and ``"dard"``: the ``(A,)`` distribution D_A; uniform when None.

    On an MDP with terminal states (``mdp.terminal``) ``"epic"`` and ``"dard"`` first fill the
    impossible transitions out of them, so that a shaping with ``Φ = 0`` on terminal states is
    removed exactly: ``R(x, a, y) = mean_z [R(z, a, y) − R(z, a, x)]`` over non-terminal z, for
    terminal x and y ≠ x (an S'-redistribution; see the module docstring).

    Returns:
        The canonical ``(S, A, S)`` reward.

    Raises:
        ConfigError: a bad reward, policy, weights or distribution, or an option given to a
            method that does not use it.
        UnknownNameError: an unknown ``method``.

    Example:
        >>> import numpy as np
        >>> T = np.zeros((2, 2, 2)); T[:, 0, 0] = 1.0; T[:, 1, 1] = 1.0   # action a goes to state a
        >>> mdp = TabularMDP(T, gamma=0.5)
        >>> c = canonicalize(np.array([0.0, 1.0]), mdp, "val")   # R(s) = s, uniform π
        >>> c[:, :, 0].round(3).tolist()                          # A^π(s, a), constant in s'
        [[-0.25, 0.25], [-0.25, 0.25]]
    """
    if method not in METHODS:
        raise unknown("method", method, METHODS, "a canonicalisation name")
    used = {"val": {"policy"}, "minimal": {"weights"}, "epic": {"state_dist", "action_dist"}, "dard": {"action_dist"}}
    given = {"policy": policy, "weights": weights, "state_dist": state_dist, "action_dist": action_dist}
    for name, value in given.items():
        if value is not None and name not in used[method]:
            raise ConfigError(
                message(name, f"None for method={method!r}", "an array", f"Only {sorted(used[method])} apply to it.")
            )
    table = mdp.reward_table(reward)
    if method == "val":
        return val_canonical(table, mdp, mdp.check_policy(policy))
    if method == "minimal":
        return minimal_canonical(table, mdp, check_weights(weights, mdp))
    d_a = check_action_dist(action_dist, mdp)
    if method == "epic":
        d_s = (
            _uniform(mdp.n_states)
            if state_dist is None
            else check_distribution("state_dist", state_dist, (mdp.n_states,), "a distribution over states")
        )
        return epic_canonical(table, mdp, d_s, d_a)
    return dard_canonical(table, mdp, d_a)


def _uniform(n: int) -> np.ndarray:
    return np.full(n, 1.0 / n)


def check_action_dist(action_dist: Any, mdp: TabularMDP) -> np.ndarray:
    """Validate D_A, an ``(A,)`` distribution; uniform when None."""
    if action_dist is None:
        return _uniform(mdp.n_actions)
    return check_distribution("action_dist", action_dist, (mdp.n_actions,), "a distribution over actions")


def check_weights(weights: Any, mdp: TabularMDP, param: str = "weights") -> np.ndarray | None:
    """Validate nonnegative ``(S, A, S)`` norm weights with a positive entry; None stays None (all ones)."""
    if weights is None:
        return None
    w = as_real_array(param, weights, "norm weights")
    shape = (mdp.n_states, mdp.n_actions, mdp.n_states)
    if w.shape != shape:
        raise ConfigError(message(param, f"an array of shape (S, A, S) = {shape}", w.shape, "Weight every (s, a, s')."))
    if w.min() < 0 or not np.any(w > 0):
        raise ConfigError(message(param, "nonnegative with a positive entry", float(w.min()), "Fix the weights."))
    return w


# --- the canonicalisations on (S, A, S) tables ---------------------------------------------------


def val_canonical(reward: np.ndarray, mdp: TabularMDP, policy: np.ndarray) -> np.ndarray:
    """VAL: ``A^π_R(s, a)`` broadcast over s'; ``reward`` is ``(S, A, S)``, ``policy`` ``(S, A)``."""
    r_bar = mdp.expected_reward(reward)
    values = mdp.evaluate(policy, reward)
    advantage = r_bar + mdp.gamma * mdp.next_expectation(values) - values[:, None]
    return np.repeat(advantage[:, :, None], mdp.n_states, axis=2)


def minimal_canonical(reward: np.ndarray, mdp: TabularMDP, weights: np.ndarray | None) -> np.ndarray:
    """The W-orthogonal projection of an ``(S, A, S)`` reward onto the complement of {R ≡ 0}.

    Raises:
        ConfigError: ``weights`` is zero on a possible transition (τ > 0), where the weighted L2
            norm would not see the reward at all.
    """
    n_s, n_a = mdp.n_states, mdp.n_actions
    n_sa = n_s * n_a
    gamma = mdp.gamma
    r_bar = mdp.expected_reward(reward).ravel()
    selector_rows = np.arange(n_sa)
    selector_cols = np.repeat(np.arange(n_s), n_a)  # row s * A + a picks Φ(s)
    bad_weights = ConfigError(
        message("weights", "positive wherever the transition probability is positive", 0.0, "Use W > 0 where τ > 0.")
    )
    if not mdp.is_sparse:
        flat = np.asarray(mdp.flat_transitions)
        if weights is None:
            ratio = flat.copy()
        else:
            w_flat = weights.reshape(n_sa, n_s)
            if np.any((flat > 0) & (w_flat <= 0)):
                raise bad_weights
            ratio = np.divide(flat, w_flat, out=np.zeros_like(flat), where=flat > 0)
        k = 1.0 / np.sum(flat * ratio, axis=1)
        design = gamma * flat
        design[selector_rows, selector_cols] -= 1.0  # M = γτ − E, so b = r̄ + MΦ
        sqrt_k = np.sqrt(k)
        phi = np.linalg.lstsq(sqrt_k[:, None] * design, -sqrt_k * r_bar, rcond=None)[0]
        b = r_bar + design @ phi
        return ((b * k)[:, None] * ratio).reshape(n_s, n_a, n_s)
    rows, cols, probs = mdp.sparse_support()
    if weights is None:
        ratio_vals = probs.copy()
    else:
        w_vals = weights.reshape(n_sa, n_s)[rows, cols]
        if np.any(w_vals <= 0):
            raise bad_weights
        ratio_vals = probs / w_vals
    k = 1.0 / np.bincount(rows, weights=probs * ratio_vals, minlength=n_sa)
    selector = sp.csr_matrix((np.ones(n_sa), (selector_rows, selector_cols)), shape=(n_sa, n_s))
    design_sp = sp.csr_matrix(gamma * mdp.flat_transitions - selector)
    # Normal equations (MᵀKM)Φ = −MᵀK r̄: |S| unknowns, sparse and SPD (M has full column rank
    # for γ < 1), solved directly; cond(√K M) ≲ (1 + γ)/(1 − γ), so squaring it costs little.
    weighted = sp.diags(k) @ design_sp
    normal = sp.csc_matrix(design_sp.T @ weighted)
    phi = np.asarray(spla.spsolve(normal, -(design_sp.T @ (k * r_bar))), dtype=np.float64)
    b = r_bar + design_sp @ phi
    out = np.zeros((n_sa, n_s))
    out[rows, cols] = b[rows] * k[rows] * ratio_vals
    return out.reshape(n_s, n_a, n_s)


def fill_terminal_rows(reward: np.ndarray, mdp: TabularMDP) -> np.ndarray:
    """``reward`` with ``R(x, a, y) = mean_z [R(z, a, y) − R(z, a, x)]`` for terminal x and y ≠ x.

    z runs over the non-terminal states; the self-loops ``R(x, a, x)`` are kept (see the module
    docstring for why). Returns ``reward`` itself when the MDP has no terminal state (or no other).
    """
    terminal = mdp.terminal
    if not terminal.any() or terminal.all():
        return reward
    live_mean = reward[~terminal].mean(axis=0)  # (A, S): mean_z R(z, a, y)
    out = reward.copy()
    for x in np.flatnonzero(terminal):
        loops = reward[x, :, x].copy()
        out[x] = live_mean - live_mean[:, x : x + 1]
        out[x, :, x] = loops
    return out


def epic_canonical(reward: np.ndarray, mdp: TabularMDP, state_dist: np.ndarray, action_dist: np.ndarray) -> np.ndarray:
    """EPIC: ``R + γ r̄(s') − r̄(s) − γ E_{D_S}[r̄]`` with ``r̄(x) = E_{A~D_A, S'~D_S}[R(x, A, S')]``.

    On the table with its terminal rows filled (:func:`fill_terminal_rows`).
    """
    gamma = mdp.gamma
    reward = fill_terminal_rows(reward, mdp)
    mean_from = np.einsum("xat,a,t->x", reward, action_dist, state_dist)
    mean_all = float(state_dist @ mean_from)
    return reward + gamma * mean_from[None, None, :] - mean_from[:, None, None] - gamma * mean_all


def dard_canonical(reward: np.ndarray, mdp: TabularMDP, action_dist: np.ndarray) -> np.ndarray:
    """DARD: ``R + γu(s') − u(s) − γ w(s, s')`` on an ``(S, A, S)`` reward.

    ``u(x) = E_{A~D_A, Y~τ(x,A)}[R(x, A, Y)]`` and
    ``w(s, s') = Σ_a D_A(a) Σ_{x,y} τ(s, a, x) τ(s', a, y) R(x, a, y)``, computed per action as
    ``τ_a R_a τ_aᵀ`` (``O(A S³)`` dense, cheaper sparse) rather than the naive ``O(A S⁴)``. On the
    table with its terminal rows filled (:func:`fill_terminal_rows`).
    """
    reward = fill_terminal_rows(reward, mdp)
    n_s, n_a = mdp.n_states, mdp.n_actions
    u = mdp.expected_reward(reward) @ action_dist
    pair = np.zeros((n_s, n_s))
    flat = mdp.flat_transitions
    for a in range(n_a):
        if action_dist[a] == 0:
            continue
        t_a = flat[np.arange(a, n_s * n_a, n_a)]  # (S, S): τ(·, a, ·)
        inner = np.asarray(t_a @ reward[:, a, :])  # (τ_a R_a)(s, y)
        pair += action_dist[a] * np.asarray(t_a @ inner.T).T  # (τ_a R_a τ_aᵀ)(s, s')
    gamma = mdp.gamma
    return reward + gamma * u[None, None, :] - u[:, None, None] - gamma * pair[:, None, :]
