"""Finite MDPs for exact reward comparison: validation, policy evaluation and optimal policies.

A :class:`TabularMDP` is the tuple ⟨S, A, τ, μ₀, γ⟩ of the STARC paper (Skalse et al., ICLR 2024)
without a reward: the metrics compare rewards *on* an MDP. Rewards are arrays over transitions
``R[s, a, s']``; a ``(S, A)`` array means ``R(s, a)`` and an ``(S,)`` array means ``R(s)`` of the
*current* state, both broadcast to ``(S, A, S)``.

The exact quantities every metric needs:

* ``r̄(s, a) = Σ_{s'} τ(s, a, s') R(s, a, s')``, the expected reward of a state-action pair;
* ``V^π = (I − γ P_π)⁻¹ r_π`` with ``P_π(s, t) = Σ_a π(a|s) τ(s, a, t)`` and
  ``r_π(s) = Σ_a π(a|s) r̄(s, a)``: a dense LU solve, or for a sparse τ GMRES at a relative
  residual of 1e-13 (falling back to a sparse direct solve if it stalls);
* ``Q^π(s, a) = r̄(s, a) + γ Σ_t τ(s, a, t) V^π(t)``;
* the optimal policy, by policy iteration (exact in finitely many steps).

**Terminal states.** An MDP exported from an episodic env marks the states in which the episode
ends (``terminal``): they are absorbing (every action loops back) and a potential shaping takes
``Φ = 0`` on them, as ``rewardlab.rewards.Shaped`` does at termination. EPIC and DARD use this
(see :func:`rewardlab.metrics.canonicalize`); STARC and regret need nothing more than τ.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse import linalg as spla

from rewardlab.data import BuildsReward
from rewardlab.errors import ConfigError, message

__all__ = ["TabularMDP"]

SUM_TOL = 1e-8
"""How far from 1 a probability row (τ(s, a, ·), μ₀, π(·|s)) may sum."""

TIE_TOL = 1e-9
"""Relative tolerance on Q-values under which two actions count as tied (see ``optimal_policy``)."""

_GMRES_RTOL = 1e-13

_ABSORB_TOL = 1e-12
"""How far from 1 the self-loop probability of a terminal (absorbing) state may be."""


def check_distribution(param: str, value: Any, shape: tuple[int, ...], what: str) -> np.ndarray:
    """Return ``value`` as a float array of ``shape`` whose last axis sums to 1.

    Raises:
        ConfigError: wrong type or shape, non-finite or negative entries, rows not summing to 1.
    """
    arr = as_real_array(param, value, what)
    if arr.shape != shape:
        raise ConfigError(message(param, f"{what} of shape {shape}", arr.shape, "Check the number of states/actions."))
    if arr.size and arr.min() < 0:
        raise ConfigError(message(param, "nonnegative", float(arr.min()), "Probabilities cannot be negative."))
    sums = arr.sum(axis=-1)
    worst = float(np.max(np.abs(sums - 1.0))) if sums.size else 0.0
    if worst > SUM_TOL:
        raise ConfigError(
            message(param, f"{what} whose entries sum to 1 (within {SUM_TOL})", f"sums off by {worst:.2g}", "Rescale.")
        )
    return arr


def as_real_array(param: str, value: Any, what: str) -> np.ndarray:
    """Return ``value`` as a finite float64 array, or raise a :class:`ConfigError` naming ``param``."""
    if isinstance(value, (list, tuple)):
        value = np.asarray(value)
    if not isinstance(value, np.ndarray):
        fix = "Pass a numpy array."
        if callable(value) or hasattr(value, "build"):
            fix = "Reward specs and callables are not supported here: tabulate the reward into a numpy array first."
        raise ConfigError(message(param, f"{what} given as a numpy array", type(value), fix))
    real = np.issubdtype(value.dtype, np.integer) or np.issubdtype(value.dtype, np.floating)
    if value.dtype == np.bool_ or not real:
        raise ConfigError(message(param, "an array of real numbers", value.dtype, "Convert it with .astype(float)."))
    arr = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ConfigError(message(param, "finite everywhere", "an array with NaN or inf", "Replace the NaN/inf."))
    return arr


class TabularMDP:
    """A finite MDP ⟨S, A, τ, μ₀, γ⟩ on which tabular rewards are compared.

    Args:
        transitions: τ, either a dense ``(S, A, S)`` array with ``transitions[s, a, s'] =
            P(s' | s, a)``, or a ``scipy.sparse`` matrix of shape ``(S * A, S)`` whose row
            ``s * A + a`` is ``P(· | s, a)`` (use this for large S). Rows must be nonnegative and sum
            to 1 within 1e-8.
        gamma: the discount γ, in the open interval (0, 1); potential shaping and VAL need γ < 1.
        initial: μ₀, the ``(S,)`` initial-state distribution; uniform when omitted.
        terminal: optional ``(S,)`` bool array of the states in which an episode ends; each must
            be absorbing (``τ(s, a, s) = 1`` for every a), with potential 0 in every shaping.

    Raises:
        ConfigError: any of the above does not hold.

    Example:
        >>> import numpy as np
        >>> T = np.zeros((2, 2, 2)); T[:, 0, 0] = 1.0; T[:, 1, 1] = 1.0   # action a goes to state a
        >>> mdp = TabularMDP(T, gamma=0.9, initial=np.array([1.0, 0.0]))
        >>> mdp.n_states, mdp.n_actions, mdp.is_sparse
        (2, 2, False)
    """

    def __init__(self, transitions: Any, gamma: float, initial: Any = None, terminal: Any = None) -> None:
        if sp.issparse(transitions):
            flat = sp.csr_matrix(transitions, dtype=np.float64, copy=True)
            n_rows, n_states = flat.shape
            if n_states == 0 or n_rows == 0 or n_rows % n_states:
                raise ConfigError(
                    message("transitions", "a sparse matrix of shape (S * A, S)", flat.shape, "Stack rows s * A + a.")
                )
            flat.sum_duplicates()
            flat.eliminate_zeros()
            if not np.all(np.isfinite(flat.data)):
                raise ConfigError(message("transitions", "finite", "NaN or inf entries", "Fix the transition model."))
            if flat.data.size and flat.data.min() < 0:
                raise ConfigError(message("transitions", "nonnegative", float(flat.data.min()), "Fix the model."))
            sums = np.asarray(flat.sum(axis=1)).ravel()
            self._flat: np.ndarray | sp.csr_matrix = flat
            self._csr: sp.csr_matrix | None = flat
            self._rows = np.repeat(np.arange(n_rows), np.diff(flat.indptr))
            self._dense: np.ndarray | None = None
            n_actions = n_rows // n_states
        else:
            dense = as_real_array("transitions", transitions, "a transition array").copy()
            if dense.ndim != 3 or dense.shape[0] != dense.shape[2] or 0 in dense.shape:
                fix = "Use T[s, a, s'] = P(s' | s, a), or a scipy.sparse (S * A, S) matrix."
                raise ConfigError(message("transitions", "an array of shape (S, A, S)", dense.shape, fix))
            if dense.min() < 0:
                raise ConfigError(message("transitions", "nonnegative", float(dense.min()), "Fix the model."))
            n_states, n_actions = dense.shape[:2]
            sums = dense.sum(axis=2).ravel()
            self._dense = dense
            self._csr = None
            self._flat = dense.reshape(n_states * n_actions, n_states)
        worst = float(np.max(np.abs(sums - 1.0)))
        if worst > SUM_TOL:
            raise ConfigError(
                message(
                    "transitions",
                    f"rows that sum to 1 (within {SUM_TOL})",
                    f"a row sum off by {worst:.3g}",
                    "Normalise each P(· | s, a).",
                )
            )
        if isinstance(gamma, bool) or not isinstance(gamma, (int, float, np.integer, np.floating)):
            raise ConfigError(message("gamma", "a number in (0, 1)", gamma, "Pass e.g. gamma=0.95."))
        if not 0.0 < float(gamma) < 1.0:
            raise ConfigError(message("gamma", "in the open interval (0, 1)", gamma, "Shaping and VAL need gamma < 1."))
        self.n_states: int = int(n_states)
        """|S|, the number of states."""
        self.n_actions: int = int(n_actions)
        """|A|, the number of actions."""
        self.gamma: float = float(gamma)
        """The discount γ."""
        if initial is None:
            initial = np.full(self.n_states, 1.0 / self.n_states)
        self.initial: np.ndarray = check_distribution("initial", initial, (self.n_states,), "a distribution")
        """μ₀, the ``(S,)`` initial-state distribution."""
        self.env_name: str | None = None
        """The suite env this MDP is the exact model of (set by :func:`~rewardlab.metrics.tabular_model`)."""
        self.terminal: np.ndarray = np.zeros(self.n_states, dtype=bool)
        """``(S,)`` bool: the absorbing states where an episode ends (potential 0); none by default."""
        if terminal is not None:
            self.mark_terminal(terminal)
        self.tabulate: Callable[[Any], np.ndarray] | None = None
        """Turns a reward spec into its ``(S, A, S)`` table on this MDP (set with :attr:`env_name`)."""

    def __repr__(self) -> str:
        kind = "sparse" if self.is_sparse else "dense"
        return f"TabularMDP(n_states={self.n_states}, n_actions={self.n_actions}, gamma={self.gamma}, {kind})"

    def mark_terminal(self, terminal: Any, param: str = "terminal") -> None:
        """Set :attr:`terminal` after checking that every marked state is absorbing.

        Raises:
            ConfigError: not an ``(S,)`` bool array, or a marked state that some action leaves.
        """
        flags = np.asarray(terminal)
        if flags.shape != (self.n_states,) or flags.dtype != np.bool_:
            raise ConfigError(
                message(param, f"a bool array of shape ({self.n_states},)", f"{flags.dtype} {flags.shape}")
            )
        states = np.flatnonzero(flags)
        if states.size:
            flat = self.flat_transitions
            rows = (states[:, None] * self.n_actions + np.arange(self.n_actions)).ravel()
            loops = np.asarray(flat[rows, np.repeat(states, self.n_actions)]).reshape(len(states), self.n_actions)
            leaving = np.any(np.abs(loops - 1.0) > _ABSORB_TOL, axis=1)
            if leaving.any():
                raise ConfigError(
                    message(
                        "mdp.transitions",
                        "absorbing (a self-loop under every action) in every terminal state",
                        f"terminal state {int(states[leaving][0])} can be left",
                        "Make each terminal row P(s | s, a) = 1.",
                    )
                )
        marked = flags.copy()
        marked.setflags(write=False)
        self.terminal = marked

    @property
    def is_sparse(self) -> bool:
        """True when τ is stored as a sparse ``(S * A, S)`` matrix."""
        return self._dense is None

    @property
    def transitions(self) -> np.ndarray | sp.csr_matrix:
        """τ as given: a dense ``(S, A, S)`` array or a CSR ``(S * A, S)`` matrix."""
        return self._flat if self._dense is None else self._dense

    @property
    def flat_transitions(self) -> np.ndarray | sp.csr_matrix:
        """τ as an ``(S * A, S)`` matrix (dense or CSR) whose row ``s * A + a`` is ``P(· | s, a)``."""
        return self._flat

    def sparse_support(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For sparse τ: ``(rows, cols, probs)`` of its nonzeros in the ``(S * A, S)`` layout.

        Raises:
            ConfigError: τ is dense.
        """
        if self._dense is not None or self._csr is None:
            raise ConfigError(message("transitions", "sparse for sparse_support()", "a dense array"))
        return self._rows, np.asarray(self._csr.indices), np.asarray(self._csr.data)

    def dense_transitions(self) -> np.ndarray:
        """τ as a dense ``(S, A, S)`` array (a copy when stored sparse)."""
        if self._csr is None:
            return np.asarray(self._flat).reshape(self.n_states, self.n_actions, self.n_states)
        return np.asarray(self._csr.toarray()).reshape(self.n_states, self.n_actions, self.n_states)

    # --- rewards and policies -------------------------------------------------------------------

    def reward_table(self, reward: Any, param: str = "reward") -> np.ndarray:
        """Broadcast a tabular reward to ``(S, A, S)``, or tabulate a reward spec.

        An MDP exported from a suite env (:func:`~rewardlab.metrics.tabular_model`) carries the
        env's name in ``env_name``; on such an MDP ``reward`` may also be a reward spec, a dict,
        a TOML path or ``"env"``, tabulated by :func:`~rewardlab.metrics.reward_table` (one
        batched call; terminal states absorbing with reward 0). So may the rewards of every
        metric and of :meth:`evaluate`, :meth:`optimal_policy`, ... that call this method.

        Args:
            reward: ``(S, A, S)`` for R(s, a, s'), ``(S, A)`` for R(s, a) or ``(S,)`` for R(s) of
                the current state; or a spec, on an MDP that knows its env.
            param: the argument name used in error messages.

        Returns:
            A float64 ``(S, A, S)`` array (a new array, safe to modify).

        Raises:
            ConfigError: not a real, finite numpy array of one of the three shapes; or a spec on
                an MDP without ``env_name``.
        """
        if not isinstance(reward, np.ndarray):
            if isinstance(reward, (BuildsReward, Mapping, str, Path)):
                if self.tabulate is None:
                    fix = (
                        "This MDP does not know its env: export it with rewardlab.metrics.tabular_model(env).mdp, "
                        "or tabulate the spec with rewardlab.metrics.reward_table(reward, env)."
                    )
                    raise ConfigError(message(param, "a numpy array on this MDP", type(reward).__name__, fix))
                table = self.tabulate(reward)
                if table.shape != (self.n_states, self.n_actions, self.n_states):
                    shape = (self.n_states, self.n_actions, self.n_states)
                    raise ConfigError(message(param, f"tabulated to {shape}", table.shape, "Check `env_name`."))
                return table
        arr = as_real_array(param, reward, "a tabular reward")
        n_s, n_a = self.n_states, self.n_actions
        if arr.shape == (n_s, n_a, n_s):
            return arr.copy()
        if arr.shape == (n_s, n_a):
            return np.repeat(arr[:, :, None], n_s, axis=2)
        if arr.shape == (n_s,):
            return np.broadcast_to(arr[:, None, None], (n_s, n_a, n_s)).copy()
        expectation = f"an array of shape (S, A, S) = {(n_s, n_a, n_s)}, (S, A) = {(n_s, n_a)} or (S,) = {(n_s,)}"
        raise ConfigError(message(param, expectation, arr.shape, "Tabulate it over this MDP's states and actions."))

    def check_policy(self, policy: Any, param: str = "policy") -> np.ndarray:
        """Validate a stochastic policy: an ``(S, A)`` array of rows π(· | s) summing to 1; None means uniform."""
        if policy is None:
            return np.full((self.n_states, self.n_actions), 1.0 / self.n_actions)
        return check_distribution(param, policy, (self.n_states, self.n_actions), "a policy π[s, a]")

    def expected_reward(self, reward: np.ndarray) -> np.ndarray:
        """``r̄(s, a) = Σ_{s'} τ(s, a, s') R(s, a, s')`` of an ``(S, A, S)`` reward; returns ``(S, A)``."""
        n_s, n_a = self.n_states, self.n_actions
        csr = self._csr
        if csr is None:
            return np.einsum("ijk,ijk->ij", self.dense_transitions(), reward)
        flat_r = reward.reshape(n_s * n_a, n_s)
        values = csr.data * flat_r[self._rows, csr.indices]
        return np.bincount(self._rows, weights=values, minlength=n_s * n_a).reshape(n_s, n_a)

    def next_expectation(self, values: np.ndarray) -> np.ndarray:
        """``(τ f)(s, a) = Σ_t τ(s, a, t) f(t)`` of an ``(S,)`` function ``f``; returns ``(S, A)``."""
        return np.asarray(self._flat @ values).reshape(self.n_states, self.n_actions)

    def policy_transitions(self, policy: np.ndarray) -> np.ndarray | sp.csr_matrix:
        """``P_π(s, t) = Σ_a π(a|s) τ(s, a, t)`` of an ``(S, A)`` policy; ``(S, S)``, sparse when τ is."""
        n_s, n_a = self.n_states, self.n_actions
        if self._dense is not None:
            return np.einsum("sa,sat->st", policy, self._dense)
        mixer = sp.csr_matrix(
            (policy.ravel(), (np.repeat(np.arange(n_s), n_a), np.arange(n_s * n_a))), shape=(n_s, n_s * n_a)
        )
        return sp.csr_matrix(mixer @ self._flat)

    def _solve(self, p_pi: np.ndarray | sp.csr_matrix, r_pi: np.ndarray) -> np.ndarray:
        """Solve ``(I − γ P_π) V = r_π`` for ``V``; ``(S,)``."""
        return self._solve_many(p_pi, [r_pi])[0]

    def _solve_many(self, p_pi: np.ndarray | sp.csr_matrix, r_pis: list[np.ndarray]) -> list[np.ndarray]:
        """Solve ``(I − γ P_π) V = r`` for each right-hand side ``r``, building the system once.

        Dense: one LU factorisation for all of them; sparse: one system matrix, a GMRES run each.
        """
        n_s = self.n_states
        if not sp.issparse(p_pi):
            solutions = np.linalg.solve(np.eye(n_s) - self.gamma * np.asarray(p_pi), np.stack(r_pis, axis=1))
            return [np.ascontiguousarray(solutions[:, i]) for i in range(len(r_pis))]
        system = sp.csr_matrix(sp.identity(n_s, format="csr") - self.gamma * p_pi)
        out = []
        for r_pi in r_pis:
            if not np.any(r_pi):
                out.append(np.zeros(n_s))
                continue
            # I − γP_π is strictly diagonally dominant, so GMRES converges fast; its condition number
            # is at most (1 + γ)/(1 − γ), so a 1e-13 residual gives V to ~1e-11 relative at γ = 0.99.
            solution, info = spla.gmres(system, r_pi, rtol=_GMRES_RTOL, atol=0.0, restart=min(n_s, 60), maxiter=1000)
            if info != 0:  # pragma: no cover - a safety net; GMRES converges on these systems
                solution = spla.spsolve(sp.csc_matrix(system), r_pi)
            out.append(np.asarray(solution, dtype=np.float64))
        return out

    def evaluate(self, policy: Any, reward: Any) -> np.ndarray:
        """Exact ``V^π`` of an ``(S, A)`` policy under a tabular reward; returns ``(S,)``.

        ``reward`` may be ``(S, A, S)``, ``(S, A)`` or ``(S,)``, as in :meth:`reward_table`; so may
        the rewards of :meth:`q_values`, :meth:`expected_return` and :meth:`optimal_policy`.
        """
        return self._values(self.check_policy(policy), self.expected_reward(self.reward_table(reward)))

    def _values(self, policy: np.ndarray, r_bar: np.ndarray) -> np.ndarray:
        return self._values_many(policy, [r_bar])[0]

    def _values_many(self, policy: np.ndarray, r_bars: list[np.ndarray]) -> list[np.ndarray]:
        """``V^π`` of one policy under several ``(S, A)`` expected rewards, building ``P_π`` once."""
        r_pis = [np.einsum("sa,sa->s", policy, r_bar) for r_bar in r_bars]
        return self._solve_many(self.policy_transitions(policy), r_pis)

    def q_values(self, policy: Any, reward: Any) -> np.ndarray:
        """``Q^π(s, a) = r̄(s, a) + γ (τ V^π)(s, a)`` of an ``(S, A)`` policy; returns ``(S, A)``."""
        r_bar = self.expected_reward(self.reward_table(reward))
        return r_bar + self.gamma * self.next_expectation(self._values(self.check_policy(policy), r_bar))

    def expected_return(self, policy: Any, reward: Any) -> float:
        """``J_R(π) = Σ_s μ₀(s) V^π(s)``, the expected discounted return from the initial distribution."""
        return float(self.initial @ self.evaluate(policy, reward))

    def optimal_policy(self, reward: Any) -> np.ndarray:
        """A deterministic optimal policy of a tabular reward, as a one-hot ``(S, A)`` array.

        Policy iteration from the greedy policy of ``r̄`` until no action improves ``Q`` by more than
        ``1e-9 · max|Q|`` (which also prevents cycling on float noise). The tie-break is
        deterministic: in each state the **first** action (lowest index) whose optimal Q-value is
        within ``1e-9 · max|Q*|`` of the best is chosen. Every such action is optimal up to that
        tolerance, so the policy is optimal; the rule only decides *which* optimal policy a metric
        such as :func:`~rewardlab.metrics.regret` sees.
        """
        n_s, n_a = self.n_states, self.n_actions
        r_bar = self.expected_reward(self.reward_table(reward))
        states = np.arange(n_s)
        choice = np.argmax(r_bar, axis=1)
        q = r_bar
        for _ in range(10_000):
            policy = np.zeros((n_s, n_a))
            policy[states, choice] = 1.0
            q = r_bar + self.gamma * self.next_expectation(self._values(policy, r_bar))
            best = q.max(axis=1)
            tol = TIE_TOL * max(float(np.max(np.abs(q))), np.finfo(float).tiny)
            better = best > q[states, choice] + tol
            if not better.any():
                break
            choice = np.where(better, np.argmax(q, axis=1), choice)
        best = q.max(axis=1, keepdims=True)
        tol = TIE_TOL * max(float(np.max(np.abs(q))), np.finfo(float).tiny)
        choice = np.argmax(q >= best - tol, axis=1)  # argmax of a bool array: the first True
        policy = np.zeros((n_s, n_a))
        policy[states, choice] = 1.0
        return policy
