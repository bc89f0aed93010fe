"""EXPRD: explicable reward design by greedy support selection, each step a linear program.

Algorithm 1 of Devidze et al. (NeurIPS 2021), on the linear data of :mod:`._problem`::

    Z = {}                                    the support: entries allowed to be non-zero
    repeat budget times:
        for each candidate entry e not in Z:  one LP over the weights of Z ∪ {e} (HiGHS)
            while no support so far meets the margins: least total margin violation
            once one does: best informativeness, margins as hard constraints
        Z = Z ∪ {the best e}                  stop early when no entry improves the criterion
    R̂ = the LP solution on Z

Each LP has ``|w_j| <= r_max`` on the weights of Z. The informativeness LP is the paper's
hinge criterion in epigraph form: one variable ``t_{h,s} >= δ_s − gap_h(s, a)`` per horizon and
state (for every non-target ``a``), ``t >= 0``, minimising ``Σ t / (|H| |S|)``. The violation LP
adds a slack ``ξ >= 0`` to every margin row and minimises ``Σ ξ``: it steers the first picks
towards a feasible support, where the paper starts from the goal states instead (a rule that
needs to know the goal).

The design is then checked exactly (policy iteration on the designed reward, in
:class:`~rewardlab.metrics.TabularMDP`): every optimal action lies in the target set and every
non-target action misses by its margin; :class:`Design` records both and the truth's regret.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from rewardlab.config import Record
from rewardlab.design._config import DEFAULT_HORIZONS, ExplicableConfig
from rewardlab.design._problem import TIE_TOL, DesignProblem, design_problem
from rewardlab.errors import ConfigError, message
from rewardlab.metrics import TabularEnvModel, TabularMDP, regret, tabular_model
from rewardlab.rewards import Env, Table
from rewardlab.runs import write_atomic

__all__ = ["Design", "DesignStep", "explicable"]

_FEASIBLE_TOL = 1e-7
"""Total margin violation (relative to the sum of the margins) under which a support meets them."""
_CUSHION = 1e-7
"""Relative slack added to the hard margins, so that the LP solver's own tolerance cannot eat them."""
_ZERO_TOL = 1e-9
"""Weights below this fraction of ``r_max`` are solver noise: the entry is dropped."""
_GAIN_TOL = 1e-9
"""An entry must improve the criterion by more than this (relative) to be added."""


@dataclass(frozen=True)
class DesignStep(Record):
    """One greedy step: the entry added, and where the design stood after it."""

    entry: tuple[int, int | None]
    """``(state, action)`` added to the support (action None for ``next_state`` entries)."""
    violation: float
    """Least total margin violation reachable on the support (0 once the margins are met)."""
    informativeness: float | None
    """The criterion on the support once the margins are met, else None."""


@dataclass(frozen=True)
class Design(Record):
    """A designed reward, the reward spec to train it and the exact checks of its guarantees.

    Built by :func:`explicable`. :meth:`report` describes it in words; :meth:`save` writes the spec
    as TOML for ``rewardlab train --reward``.
    """

    spec: Table
    """The designed reward as a ``table`` reward spec (trains, compares and sweeps like any spec)."""
    reward: np.ndarray = field(repr=False, metadata={"exclude": True})
    """``(S, A, S)``: the designed reward as the exact metrics tabulate the spec (not in :meth:`to_dict`)."""
    target: np.ndarray = field(repr=False)
    """``(S, A)`` bool: the target actions."""
    margins: np.ndarray = field(repr=False)
    """``(S,)``: the margin δ_s every non-target action must lose by."""
    config: ExplicableConfig
    """The settings of the design."""
    r_max: float
    """The bound on the entries that was used."""
    informativeness: float
    """The paper's criterion of the design (``<= 0``; 0: every horizon already prefers the targets by the margin)."""
    truth_informativeness: float
    """The same criterion of the ground truth, for comparison."""
    steps: tuple[DesignStep, ...]
    """The greedy steps, in order."""
    optimal_in_target: bool
    """Exact check: every optimal action of the designed reward is a target action (policy iteration)."""
    margin_ratio: float
    """Exact check: the least ``(V*(s) − Q*(s, a)) / δ_s`` over non-target actions (>= 1: margins met; inf: none)."""
    truth_regret: float
    """Exact normalised regret under the truth of acting optimally for the design (0 when the target is the
    truth's optimal actions)."""

    @property
    def n_entries(self) -> int:
        """The number of non-zero entries (<= the budget)."""
        return len(self.spec.entries)

    def _describe(self) -> list[str]:
        """The entries in words, with the env model's state and action names when it has them."""
        model = tabular_model(self.spec.env) if self.spec.env else None
        names = (model.state_names, model.action_names) if model is not None else (None, None)
        return self.spec.describe(*names)

    def report(self) -> str:
        """The design in words: settings, entries, greedy steps and the exact checks."""
        cfg = self.config
        env = f" on {self.spec.env}" if self.spec.env else ""
        lines = [
            f"Explicable reward design (EXPRD){env}: {self.n_entries} non-zero "
            f"{'entry' if self.n_entries == 1 else 'entries'} (budget {cfg.budget}), "
            f"on = {cfg.on}, |R| <= {self.r_max:g}",
            f"  margins: {cfg.margin:g} x the truth's action gaps; horizons {list(cfg.horizons)}",
            f"  informativeness: {self.informativeness:.4g} (truth: {self.truth_informativeness:.4g}; 0 is best)",
            "Entries:",
        ]
        lines += [f"  {line}" for line in self._describe()] or ["  none: the zero reward already meets the margins"]
        if self.steps:
            lines.append("Greedy steps:")
            model = tabular_model(self.spec.env) if self.spec.env else None
            states = model.state_names if model is not None and model.state_names else None
            actions = model.action_names if model is not None and model.action_names else None
            for i, step in enumerate(self.steps, 1):
                state, action = step.entry
                what = states[state] if states else f"state {state}"
                if action is not None:
                    what += f", {actions[action] if actions else f'action {action}'}"
                crit = "margins not met yet" if step.informativeness is None else f"I = {step.informativeness:.4g}"
                lines.append(f"  {i}. + {what}: violation {step.violation:.3g}, {crit}")
        lines.append("Checks (exact policy iteration on the designed reward):")
        lines.append(f"  every optimal policy takes only target actions: {'yes' if self.optimal_in_target else 'NO'}")
        ratio = "no non-target actions" if np.isinf(self.margin_ratio) else f"{self.margin_ratio:.4g} x the margin"
        lines.append(f"  least loss of a non-target action: {ratio}")
        lines.append(f"  normalised regret under the truth: {self.truth_regret:.3g}")
        return "\n".join(lines)

    def save(self, path: str | Path, command: str = "") -> Path:
        """Write :attr:`spec` as TOML (the entries in words as comments on top); returns the path."""
        import tomli_w  # the only writer of TOML here; loaded with the rest of the design

        head = ["# An explicable reward design (EXPRD, Devidze et al. 2021) written by rewardlab."]
        if command:
            head.append(f"# {command}")
        head += [f"# {line}" for line in self._describe()]
        path = Path(path)
        write_atomic(path, "\n".join(head) + "\n\n" + tomli_w.dumps(self.spec.to_dict()))
        return path


# --- the linear programs -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Solution:
    weights: np.ndarray
    """``(len(support),)`` the entries' values."""
    violation: float
    informativeness: float | None


@dataclass(frozen=True)
class _Result:
    x: np.ndarray
    fun: float


def _linprog(c: np.ndarray, a_ub: Any, b_ub: np.ndarray, bounds: list[tuple[float | None, float | None]]) -> Any:
    """``scipy.optimize.linprog`` with HiGHS: the optimum (``x``, ``fun``), or None when infeasible or failed."""
    if c.size == 0 or a_ub.shape[0] == 0:  # nothing to choose, or nothing to meet: no LP to solve
        if c.size and a_ub.shape[0] == 0:
            x = np.array([0.0 if lo is None or hi is None or lo <= 0.0 <= hi else lo for lo, hi in bounds])
            return _Result(x, float(c @ x))
        return _Result(np.zeros(c.size), 0.0) if np.all(b_ub >= 0.0) else None
    res = linprog(c, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs")
    return _Result(np.asarray(res.x), float(res.fun)) if res.status == 0 else None


def _least_violation(problem: DesignProblem, support: list[int], r_max: float) -> _Solution:
    """The support's weights that violate the margins least (total slack), as the violation LP finds them."""
    g = problem.gap[:, support]
    m, k = g.shape
    c = np.r_[np.zeros(k), np.ones(m)]
    a_ub = sp.hstack([sp.csr_matrix(-g), -sp.identity(m, format="csr")], format="csr")
    res = _linprog(c, a_ub, -problem.row_margin, [(-r_max, r_max)] * k + [(0.0, None)] * m)
    if res is None:  # pragma: no cover - always feasible (the slacks absorb everything); a solver failure
        return _Solution(np.zeros(k), float(problem.row_margin.sum()), None)
    return _Solution(res.x[:k], max(float(res.fun), 0.0), None)


def _most_informative(problem: DesignProblem, support: list[int], r_max: float) -> _Solution | None:
    """The support's weights that maximise informativeness with the margins met; None when they cannot be."""
    g = problem.gap[:, support]
    m, k = g.shape
    n_h, n_groups = len(problem.horizons), len(problem.hinge_states)
    n_t = n_h * n_groups
    hinge_margin = problem.row_margin[problem.hinge]
    # t_{h,s} >= δ_s − gap_h(s, a)  <=>  −gap_h w − t_{h,s} <= −δ_s, for every hinge row of every horizon
    hinge_rows = np.concatenate([problem.gap_h[i][:, support] for i in range(n_h)]) if n_t else np.zeros((0, k))
    groups = (np.arange(n_h)[:, None] * n_groups + problem.hinge_group[None, :]).ravel()
    pick = sp.csr_matrix((np.ones(len(groups)), (np.arange(len(groups)), groups)), shape=(len(groups), n_t))
    a_ub = sp.vstack(
        [
            sp.hstack([sp.csr_matrix(-g), sp.csr_matrix((m, n_t))]),
            sp.hstack([sp.csr_matrix(-hinge_rows), -pick]),
        ],
        format="csr",
    )
    hard = problem.row_margin * (1.0 + _CUSHION)
    b_ub = np.r_[-hard, -np.tile(hinge_margin, n_h)]
    c = np.r_[np.zeros(k), np.full(n_t, 1.0 / (n_h * problem.n_states))]
    res = _linprog(c, a_ub, b_ub, [(-r_max, r_max)] * k + [(0.0, None)] * n_t)
    if res is None:
        return None
    return _Solution(res.x[:k], 0.0, -float(res.fun))


def _score_candidates(
    problem: DesignProblem, support: list[int], free: set[int], r_max: float, met: bool
) -> dict[int, _Solution]:
    """The LP solution of ``support`` plus each free candidate (the informativeness LP once the margins are met)."""
    if met:
        solved = {j: _most_informative(problem, [*support, j], r_max) for j in sorted(free)}
        return {j: sol for j, sol in solved.items() if sol is not None}
    tried = {j: _least_violation(problem, [*support, j], r_max) for j in sorted(free)}
    tol = _FEASIBLE_TOL * max(float(problem.row_margin.sum()), np.finfo(float).tiny)
    meeting = [j for j, sol in tried.items() if sol.violation <= tol]
    if not meeting:
        return tried
    # the first support that meets the margins: among the entries that get there, the most informative
    solved = {j: _most_informative(problem, [*support, j], r_max) for j in meeting}
    return {j: sol for j, sol in solved.items() if sol is not None} or tried


def _greedy(
    problem: DesignProblem, budget: int, r_max: float, extra: int
) -> tuple[list[int], _Solution, list[DesignStep], int | None]:
    """Algorithm 1 (module docstring).

    Returns:
        ``(support, solution, steps, needed)``: ``needed`` is None when the margins are met within
        the budget; else the support size at which the greedy continuation (``extra`` more steps)
        met them, or -1 if it did not.
    """
    support: list[int] = []
    current = _most_informative(problem, support, r_max) or _least_violation(problem, support, r_max)
    steps: list[DesignStep] = []
    free = set(range(len(problem.candidates)))
    while free and len(support) < budget + (extra if current.informativeness is None else 0):
        tried = _score_candidates(problem, support, free, r_max, met=current.informativeness is not None)
        if not tried:
            break
        best = min(tried, key=lambda j: _rank(tried[j]))
        chosen = tried[best]
        if current.informativeness is not None and chosen.informativeness is not None:
            if chosen.informativeness <= current.informativeness + _GAIN_TOL * (1.0 + abs(current.informativeness)):
                break  # no entry makes short-horizon planning any better: a sparser reward is as good
        support.append(best)
        free.discard(best)
        current = chosen
        steps.append(DesignStep(problem.candidates[best], current.violation, current.informativeness))
        if current.informativeness is not None and current.informativeness >= 0.0:
            break  # the criterion is at its maximum
    if current.informativeness is None:
        return support, current, steps, -1
    return support, current, steps, None if len(support) <= budget else len(support)


def _rank(sol: _Solution) -> tuple[float, float]:
    """Order of the candidates: least violation first, then best informativeness (min sorts first)."""
    return (sol.violation if sol.informativeness is None else 0.0, -(sol.informativeness or 0.0))


# --- the design --------------------------------------------------------------------------------


def _resolve(mdp: TabularMDP | TabularEnvModel | str) -> tuple[TabularMDP, TabularEnvModel | None]:
    if isinstance(mdp, TabularEnvModel):
        return mdp.mdp, mdp
    if isinstance(mdp, str):
        model = tabular_model(mdp)  # raises a ConfigError naming the envs with a model
        return model.mdp, model
    if isinstance(mdp, TabularMDP):
        return mdp, tabular_model(mdp.env_name) if mdp.env_name is not None else None
    raise ConfigError(
        message(
            "mdp",
            "a TabularMDP, a TabularEnvModel or the name of an env with an exact model",
            type(mdp).__name__,
            "Pass e.g. 'cliffworld' or rewardlab.metrics.tabular_model('cliffworld').",
        )
    )


def _reward_array(problem: DesignProblem, weights: np.ndarray) -> np.ndarray:
    """``(S, A, S)`` designed reward, tabulated as :func:`rewardlab.metrics.reward_table` tabulates the spec."""
    n_s, n_a = problem.mdp.n_states, problem.mdp.n_actions
    values = np.zeros(n_s) if problem.on == "next_state" else np.zeros((n_s, n_a))
    for (state, action), w in zip(problem.candidates, weights, strict=True):
        values[(state,) if action is None else (state, action)] = w
    if problem.on == "next_state":
        table = np.broadcast_to(values[None, None, :], (n_s, n_a, n_s)).copy()
    else:
        table = np.repeat(values[:, :, None], n_s, axis=2)
    table[~problem.live] = 0.0  # absorbing terminal states earn nothing (the episode is over)
    return table


def _check(problem: DesignProblem, reward: np.ndarray) -> tuple[bool, float]:
    """``(every optimal action is a target, least loss of a non-target action / its margin)``, exactly."""
    mdp = problem.mdp
    q = mdp.q_values(mdp.optimal_policy(reward), reward)
    best = q.max(axis=1, keepdims=True)
    tol = TIE_TOL * max(float(np.max(np.abs(q))), np.finfo(float).tiny)
    optimal = q >= best - tol
    loss = (best - q)[~problem.target]
    margin = np.broadcast_to(problem.margins[:, None], q.shape)[~problem.target]
    ratio = float(np.min(loss / margin)) if loss.size else float("inf")
    return bool(np.all(problem.target[optimal])), ratio


def explicable(
    mdp: TabularMDP | TabularEnvModel | str,
    truth: Any = None,
    *,
    target: np.ndarray | None = None,
    budget: int,
    horizons: Sequence[int] = DEFAULT_HORIZONS,
    margin: float = 0.25,
    r_max: float | None = None,
    on: str = "state_action",
    extra_steps: int = 20,
) -> Design:
    """Design a sparse reward whose optimal policies are all target policies and that short horizons learn from.

    EXPRD (Devidze et al., "Explicable Reward Design for Reinforcement Learning Agents",
    NeurIPS 2021): the margin constraints keep every optimal policy of the designed reward in the
    target set; among such rewards with at most ``budget`` non-zero entries, the greedy support
    selection maximises the informativeness criterion (the module docstrings of
    :mod:`rewardlab.design` give the formulas). Each step is a linear program solved by HiGHS.

    Args:
        mdp: an env with an exact model (``"cliffworld"``), its
            :class:`~rewardlab.metrics.TabularEnvModel`, or a :class:`~rewardlab.metrics.TabularMDP`.
            On an env's model, terminal states earn nothing and the truth defaults to the env's reward.
        truth: the ground-truth reward, ``(S, A, S)``, ``(S, A)`` or ``(S,)`` (or a spec, on an env's
            MDP); None: the env's own reward.
        target: None for the truth's optimal actions, or ``(S, A)``: a bool mask of the target
            actions (or a policy whose positive entries are them).
        budget: most non-zero entries; the others of :class:`ExplicableConfig` as documented there.
        horizons, margin, r_max, on, extra_steps: see :class:`ExplicableConfig`.

    Returns:
        The :class:`Design`: the ``table`` spec, the reward as a table, the exact checks.

    Raises:
        ConfigError: a setting is invalid; the env has no exact model; no truth for a plain MDP;
            the target leaves out an action the truth rates as high; or the margins cannot be met
            within the budget (the message says which budget the greedy selection needs).

    Example:
        >>> import rewardlab as rl
        >>> from rewardlab.design import explicable
        >>> design = explicable("cliffworld", budget=2)
        >>> design.optimal_in_target, design.n_entries <= 2, design.margin_ratio >= 1.0
        (True, True, True)
        >>> rl.metrics.regret(rl.rewards.Env(), design.spec, rl.metrics.tabular_model("cliffworld").mdp)
        0.0
    """
    cfg = ExplicableConfig(
        budget=budget, horizons=tuple(horizons), margin=margin, r_max=r_max, on=on, extra_steps=extra_steps
    )
    tab, model = _resolve(mdp)
    if truth is None:
        if model is None:
            fix = "Pass the ground-truth reward as an (S, A, S), (S, A) or (S,) array."
            raise ConfigError(message("truth", "a reward for an MDP that is not an env's model", None, fix))
        truth = Env()
    truth_table = tab.reward_table(truth, "truth")
    live = ~model.terminal if model is not None else np.ones(tab.n_states, dtype=bool)
    problem = design_problem(tab, truth_table, target, live, cfg.margin, cfg.horizons, cfg.on)
    bound = cfg.r_max if cfg.r_max is not None else float(np.max(np.abs(truth_table[live])))
    if bound <= 0.0:
        bound = 1.0  # a zero truth: every action is a target, nothing needs a reward
    _feasible_at_all(problem, bound, cfg)
    support, solution, steps, needed = _greedy(problem, cfg.budget, bound, cfg.extra_steps)
    if needed is not None:
        raise _over_budget(cfg, needed, len(support))
    weights = np.zeros(len(problem.candidates))
    weights[support] = solution.weights
    weights[np.abs(weights) <= _ZERO_TOL * bound] = 0.0
    reward = _reward_array(problem, weights)
    in_target, ratio = _check(problem, reward)
    if not in_target or ratio < 1.0 - 1e-6:  # pragma: no cover - the LP's constraints imply both
        raise RuntimeError(f"EXPRD: the design fails its exact check (in target: {in_target}, margin ratio {ratio})")
    entries = [
        {"state": s, **({} if a is None else {"action": a}), "value": float(weights[j])}
        for j, (s, a) in enumerate(problem.candidates)
        if weights[j] != 0.0
    ]
    spec = Table(env=model.env if model is not None else None, on=cfg.on, entries=entries)
    truth_regret = regret(truth_table, reward, tab)
    return Design(
        spec=spec,
        reward=reward,
        target=problem.target,
        margins=problem.margins,
        config=cfg,
        r_max=bound,
        informativeness=problem.informativeness(tab.expected_reward(reward)),
        truth_informativeness=problem.informativeness(tab.expected_reward(truth_table)),
        steps=tuple(steps),
        optimal_in_target=in_target,
        margin_ratio=ratio,
        truth_regret=truth_regret,
    )


def _feasible_at_all(problem: DesignProblem, r_max: float, cfg: ExplicableConfig) -> None:
    """Raise when even a reward free to use every entry cannot meet the margins within ``|R| <= r_max``."""
    everything = list(range(len(problem.candidates)))
    sol = _least_violation(problem, everything, r_max)
    if sol.violation > _FEASIBLE_TOL * max(float(problem.row_margin.sum()), np.finfo(float).tiny):
        raise ConfigError(
            message(
                "margin",
                f"reachable by some reward with |R| <= {r_max:g}",
                cfg.margin,
                "Lower `margin` (a fraction of the truth's action gaps) or raise `r_max`.",
            )
        )


def _over_budget(cfg: ExplicableConfig, needed: int, tried: int) -> ConfigError:
    if needed > 0:
        fix = (
            f"The greedy support selection first meets every margin with {needed} entries: "
            f"pass budget={needed} or more, or lower `margin`."
        )
        expectation = f"at least {needed} for these margins"
    else:
        fix = (
            f"The greedy support selection did not meet the margins within {tried} entries: "
            "raise the budget (or `extra_steps` to search further), or lower `margin`."
        )
        expectation = f"above {tried} for these margins"
    return ConfigError(message("budget", expectation, cfg.budget, fix))
