"""The EXPRD design problem as linear maps of the reward (Devidze et al., NeurIPS 2021, §3-4).

Everything the linear programs need is linear in the designed reward, once a *reference*
target policy π (deterministic, in the target set) is fixed::

    reward   R̂ = Σ_j w_j φ_j              φ_j: one candidate entry (an (S, A) expected-reward column)
    Q^π_R̂   = Σ_j w_j Q^π_{φ_j}           (I − γ P_π)⁻¹ is linear, so is every Q-value of π
    gap(s,a) = Q^π(s, π(s)) − Q^π(s, a)   one row per (s, a ≠ π(s)): a matrix over the columns j
    Q_h      = Σ_{t=0}^{h} γ^t P_π^t R̂    h-step lookahead, linear in R̂ as well

**Invariance** (every optimal policy of R̂ lies in the target set): ``gap(s, a) >= δ_s`` for every
non-target action and ``gap(s, a) >= 0`` for the other target actions. Then π is greedy for its
own Q-values, hence optimal (policy improvement), ``Q* = Q^π``, and every non-target action is
worse than the best by at least ``δ_s > 0``: no optimal policy can take it. One reference policy
is enough for this (the paper's code states the constraints for every deterministic target policy,
a product that grows exponentially with ties; one gives the same guarantee with a larger feasible set).

**Margins** ``δ_s = margin · Δ_s`` with ``Δ_s = min_{a ∉ target(s)} [Q^π_R(s, π(s)) − Q^π_R(s, a)]``,
the gap the ground truth ``R`` itself gives (the paper takes ``margin = 1``).

**Informativeness** (the paper's hinge criterion): how far h-step lookahead under R̂ is from
already preferring the target action by the margin, averaged over horizons and states::

    I(R̂) = −1/(|H|·|S|) Σ_h Σ_s max_{a ∉ target(s)} (δ_s − gap_h(s, a))₊      (≤ 0; 0 is best)

Owns :class:`DesignProblem`, built by :func:`design_problem` from an MDP, its true reward and a
target set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rewardlab.errors import ConfigError, message
from rewardlab.metrics import TabularMDP

__all__ = ["TIE_TOL", "DesignProblem", "design_problem"]

TIE_TOL = 1e-9
"""Relative tolerance under which two Q-values count as tied (as :meth:`TabularMDP.optimal_policy` uses)."""


@dataclass(frozen=True)
class DesignProblem:
    """The linear data of one design: margins, the reference policy and the gap matrices of the candidates.

    Rows are the pairs ``(s, a)`` with ``a ≠ π(s)``; columns the candidate entries.
    """

    mdp: TabularMDP
    """The MDP the reward is designed on."""
    target: np.ndarray
    """``(S, A)`` bool: the target actions of each state (the target set is every policy that takes only them)."""
    policy: np.ndarray
    """``(S,)`` int: the reference target policy π (the truth's best target action in each state)."""
    margins: np.ndarray
    """``(S,)``: δ_s, the margin every non-target action must lose by (0 where every action is a target)."""
    live: np.ndarray
    """``(S,)`` bool: states where rewards are earned (False for the absorbing terminal states of an env)."""
    on: str
    """What an entry pays for: ``"state_action"`` or ``"next_state"``."""
    candidates: tuple[tuple[int, int | None], ...]
    """The candidate entries ``(state, action)`` (action None for ``next_state``), one per column."""
    basis: np.ndarray
    """``(S, A, J)``: the expected reward ``r̄(s, a)`` of a unit value on each candidate entry."""
    horizons: tuple[int, ...]
    """The planning horizons h of the informativeness criterion."""
    rows: tuple[np.ndarray, np.ndarray]
    """``(states, actions)`` of the gap rows: every ``(s, a)`` with ``a ≠ π(s)``."""
    row_margin: np.ndarray
    """``(m,)``: the margin of each row (δ_s for a non-target action, 0 for another target action)."""
    gap: np.ndarray
    """``(m, J)``: infinite-horizon gaps of π per unit of each candidate entry."""
    hinge: np.ndarray
    """``(k,)`` indices of the rows of non-target actions (the rows of the informativeness criterion)."""
    hinge_group: np.ndarray
    """``(k,)``: the state of each hinge row, as an index into :attr:`hinge_states`."""
    hinge_states: np.ndarray
    """The states that have at least one non-target action."""
    gap_h: np.ndarray
    """``(|H|, k, J)``: h-step gaps of the hinge rows per unit of each candidate entry."""

    @property
    def n_states(self) -> int:
        return self.mdp.n_states

    def expected_reward(self, weights: np.ndarray) -> np.ndarray:
        """``(S, A)`` expected reward ``r̄`` of candidate weights ``(J,)``."""
        return self.basis @ weights

    def gaps(self, r_bar: np.ndarray) -> np.ndarray:
        """``(m,)`` infinite-horizon gaps of π's Q-values on the rows, for an ``(S, A)`` expected reward."""
        q = _q_columns(self.mdp, self.policy, r_bar[:, :, None])[:, :, 0]
        states, actions = self.rows
        return q[states, self.policy[states]] - q[states, actions]

    def informativeness(self, r_bar: np.ndarray) -> float:
        """The paper's hinge criterion ``I(R)`` (module docstring) of an ``(S, A)`` expected reward; ``<= 0``."""
        q_h = _horizon_q_columns(self.mdp, self.policy, r_bar[:, :, None], self.horizons)
        states, actions = self.rows
        gap_h = _gap_rows(q_h, self.policy, states[self.hinge], actions[self.hinge])
        return self.informativeness_of_gaps(gap_h[:, :, 0])

    def informativeness_of_gaps(self, gap_h: np.ndarray) -> float:
        """``I`` from the ``(|H|, k)`` h-step gaps of the hinge rows."""
        if not len(self.hinge):
            return 0.0
        short = np.maximum(self.row_margin[self.hinge][None, :] - gap_h, 0.0)  # (|H|, k)
        # the hinge rows run state by state (row-major), so each state's rows are one contiguous run
        starts = np.flatnonzero(np.r_[True, np.diff(self.hinge_group) != 0])
        worst = np.maximum.reduceat(short, starts, axis=1)  # (|H|, states with a non-target action)
        return -float(worst.sum()) / (len(self.horizons) * self.n_states)


def _q_columns(mdp: TabularMDP, policy: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """``(S, A, J)``: ``Q^π`` of each ``(S, A)`` expected-reward column of ``basis`` (one LU for all)."""
    tau = mdp.dense_transitions()
    states = np.arange(mdp.n_states)
    p_pi = tau[states, policy]  # (S, S): P_π of a deterministic policy
    values = np.linalg.solve(np.eye(mdp.n_states) - mdp.gamma * p_pi, basis[states, policy])  # (S, J)
    return basis + mdp.gamma * np.einsum("sat,tj->saj", tau, values)


def _horizon_q_columns(mdp: TabularMDP, policy: np.ndarray, basis: np.ndarray, horizons: Sequence[int]) -> np.ndarray:
    """``(|H|, S, A, J)``: ``Q_h = Σ_{t=0}^{h} γ^t P_π^t φ`` of each column, for each horizon (sorted).

    ``h`` counts the steps looked ahead after the action, as in the authors' code (``h + 1`` rewards).
    """
    tau = mdp.dense_transitions()
    states = np.arange(mdp.n_states)
    out = np.empty((len(horizons), *basis.shape))
    q = basis.copy()
    done = 0
    for i, h in enumerate(horizons):
        for _ in range(h - done):
            q = basis + mdp.gamma * np.einsum("sat,tj->saj", tau, q[states, policy])
        done = h
        out[i] = q
    return out


def _gap_rows(q_h: np.ndarray, policy: np.ndarray, states: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """``(|H|, k, J)``: the gaps ``Q_h(s, π(s)) − Q_h(s, a)`` of the rows ``(states, actions)``."""
    return q_h[:, states, policy[states], :] - q_h[:, states, actions, :]


def _candidates(mdp: TabularMDP, live: np.ndarray, on: str) -> tuple[tuple[tuple[int, int | None], ...], np.ndarray]:
    """The candidate entries and their ``(S, A, J)`` basis: an entry earns nothing in a non-live state."""
    n_s, n_a = mdp.n_states, mdp.n_actions
    if on == "state_action":
        pairs = [(int(s), int(a)) for s in np.flatnonzero(live) for a in range(n_a)]
        basis = np.zeros((n_s, n_a, len(pairs)))
        for j, (s, a) in enumerate(pairs):
            basis[s, a, j] = 1.0
        return tuple(pairs), basis
    tau = mdp.dense_transitions() * live[:, None, None]
    entered = np.flatnonzero(tau.sum(axis=(0, 1)) > 0)  # states some live step can enter
    return tuple((int(s), None) for s in entered), tau[:, :, entered]


def _target_mask(mdp: TabularMDP, target: np.ndarray | None, q_star: np.ndarray) -> np.ndarray:
    """``(S, A)`` bool target actions: the truth's optimal ones by default, else the positive entries of ``target``."""
    if target is None:
        tol = TIE_TOL * max(float(np.max(np.abs(q_star))), np.finfo(float).tiny)
        return q_star >= q_star.max(axis=1, keepdims=True) - tol
    arr = np.asarray(target)
    shape = (mdp.n_states, mdp.n_actions)
    if arr.shape != shape or not (arr.dtype == np.bool_ or np.issubdtype(arr.dtype, np.number)):
        fix = "Pass a bool mask of the target actions, or a policy π[s, a] whose positive entries are them."
        raise ConfigError(message("target", f"an array of shape {shape}", getattr(arr, "shape", arr), fix))
    mask = np.asarray(arr > 0) if arr.dtype != np.bool_ else arr.copy()
    empty = np.flatnonzero(~mask.any(axis=1))
    if empty.size:
        fix = "Give every state at least one target action."
        raise ConfigError(message("target", "at least one action per state", f"none in state {int(empty[0])}", fix))
    return mask


def design_problem(
    mdp: TabularMDP,
    truth: np.ndarray,
    target: np.ndarray | None,
    live: np.ndarray,
    margin: float,
    horizons: Sequence[int],
    on: str,
) -> DesignProblem:
    """Set up the linear data of a design (module docstring).

    Args:
        mdp: the MDP.
        truth: ``(S, A, S)`` ground-truth reward.
        target: None (the truth's optimal actions) or ``(S, A)``: a bool mask of the target
            actions, or a policy whose positive entries are the target actions.
        live: ``(S,)`` bool, states where rewards are earned (candidate entries live there).
        margin: δ_s as a fraction of the truth's gap Δ_s.
        horizons: planning horizons of the informativeness criterion (sorted, positive).
        on: ``"state_action"`` or ``"next_state"``.

    Raises:
        ConfigError: ``target`` has the wrong shape or an empty state, or leaves out an action the
            truth values as highly as the target's best (no margin can be derived from the truth).
    """
    q_star = mdp.q_values(mdp.optimal_policy(truth), truth)
    mask = _target_mask(mdp, target, q_star)
    n_s, n_a = mdp.n_states, mdp.n_actions
    states = np.arange(n_s)
    policy = np.argmax(np.where(mask, q_star, -np.inf), axis=1)  # the truth's best target action (first on ties)
    one_hot = np.zeros((n_s, n_a))
    one_hot[states, policy] = 1.0
    q_ref = mdp.q_values(one_hot, truth)
    truth_gap = q_ref[states, policy][:, None] - q_ref  # (S, A)
    has_other = (~mask).any(axis=1)
    delta_truth = np.where(has_other, np.min(np.where(mask, np.inf, truth_gap), axis=1), 0.0)
    tol = TIE_TOL * max(float(np.max(np.abs(q_ref))), np.finfo(float).tiny)
    flat = np.flatnonzero(has_other & (delta_truth <= tol))
    if flat.size:
        s = int(flat[0])
        a = int(np.argmin(np.where(mask[s], np.inf, truth_gap[s])))
        raise ConfigError(
            message(
                "target",
                "a set of actions the truth rates strictly above every other action",
                f"state {s} leaves out action {a}, only {truth_gap[s, a]:.3g} below the best target action",
                f"Add action {a} to the target in state {s} (or pass target=None for the truth's optimal actions).",
            )
        )
    margins = margin * delta_truth
    row_s, row_a = np.nonzero(np.arange(n_a)[None, :] != policy[:, None])  # every (s, a ≠ π(s)), row-major
    row_margin = np.where(mask[row_s, row_a], 0.0, margins[row_s])
    candidates, basis = _candidates(mdp, live, on)
    q = _q_columns(mdp, policy, basis)
    gap = q[row_s, policy[row_s]] - q[row_s, row_a]
    hinge = np.flatnonzero(~mask[row_s, row_a])
    hinge_states, hinge_group = np.unique(row_s[hinge], return_inverse=True)
    gap_h = _gap_rows(_horizon_q_columns(mdp, policy, basis, horizons), policy, row_s[hinge], row_a[hinge])
    return DesignProblem(
        mdp=mdp,
        target=mask,
        policy=policy,
        margins=margins,
        live=live,
        on=on,
        candidates=candidates,
        basis=basis,
        horizons=tuple(horizons),
        rows=(row_s, row_a),
        row_margin=row_margin,
        gap=gap,
        hinge=hinge,
        hinge_group=hinge_group,
        hinge_states=hinge_states,
        gap_h=gap_h,
    )
