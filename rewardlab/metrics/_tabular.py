"""Exact tabular models of suite envs, and reward specs evaluated on them.

A suite env with a finite state space can export its dynamics as a :class:`TabularEnvModel`
(``SuiteEnv.tabular``): a :class:`~rewardlab.metrics.TabularMDP` whose transitions are exactly
the env's, plus the observation the env emits in each state. Any reward spec -- ``Env()``,
``Terms``, ``Shaped``, ``Code``, a dict or a TOML path -- can then be tabulated into the
``(S, A, S)`` array the exact metrics compare (:func:`reward_table`), and an exported MDP accepts
specs directly: ``starc_distance(Terms(...), Env(), tabular_model("cliffworld").mdp)``.

**Terminal states.** A state in which the episode terminates is *absorbing* in the MDP: every
action leads back to it with probability 1, and the reward of those self-loops is 0 whatever
the spec (the episode is over, nothing more is earned). Transitions *into* a terminal state are
evaluated with ``done=True``, as the env's ``terminated`` flag, so a ``Shaped`` reward takes
``Φ(s') = 0`` there, exactly as it does in the wrappers. With these conventions a potential
shaping of a reward on the env is a potential shaping of its table on every *possible*
transition (with ``Φ = 0`` on terminal states), so STARC (``val`` and ``minimal``) and regret see
it as equivalent to the unshaped reward. The model marks its terminal states on the MDP
(``mdp.terminal``), so EPIC and DARD, which also read the table on impossible transitions out of
terminal states, first give those entries shaping-consistent values
(:func:`rewardlab.metrics.canonicalize` explains how) and remove the shaping exactly too: on
``cliffworld`` EPIC(Env, Shaped(Env)) is 0 (``tests/metrics/test_sampled_vs_exact_gridworld.py``).

Example:
    >>> import rewardlab as rl
    >>> model = rl.metrics.tabular_model("cliffworld")
    >>> model.mdp.n_states, model.mdp.n_actions, int(model.terminal.sum())
    (32, 4, 7)
    >>> table = rl.metrics.reward_table(rl.rewards.Env(), "cliffworld")
    >>> table.shape
    (32, 4, 32)
    >>> rl.metrics.regret(rl.rewards.Env(), rl.rewards.Env(), model.mdp)
    0.0
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rewardlab import suite
from rewardlab.errors import ConfigError, message
from rewardlab.metrics._mdp import TabularMDP
from rewardlab.rewards import RewardFunction, RewardSpec, parse

__all__ = ["TabularEnvModel", "reward_table", "tabular_model"]


def _frozen(value: Any, dtype: Any) -> np.ndarray:
    arr = np.array(value, dtype=dtype, copy=True)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True)
class TabularEnvModel:
    """The exact finite MDP of a suite env, with what the env emits in each state.

    Built by the env's ``SuiteEnv.tabular`` callable; get it with :func:`tabular_model`. The
    arrays are copied and made read-only on construction, and ``mdp.env_name`` is set to
    ``env`` so that the MDP's :meth:`~rewardlab.metrics.TabularMDP.reward_table` (hence every
    exact metric) accepts reward specs for it.

    Raises:
        ConfigError: a shape does not match the MDP, or a terminal state is not absorbing.
    """

    env: str
    """Suite name of the env the model was exported from."""
    mdp: TabularMDP
    """τ exactly as the env steps (terminal states absorbing), γ, and μ₀ = the reset distribution."""
    observations: np.ndarray
    """``(S,) + obs_shape``: the observation the env emits in state ``s``."""
    actions: np.ndarray
    """``(A,) + action_shape``: the env action of MDP action index ``a``."""
    terminal: np.ndarray
    """``(S,)`` bool: True for states in which the episode terminates (absorbing in ``mdp``)."""
    state_names: tuple[str, ...] | None = None
    """A name per state for people (gridworlds: ``"(row, col)"``), or None (``"state <i>"``)."""
    action_names: tuple[str, ...] | None = None
    """A name per action (``"up"``), or None (``"action <i>"``)."""

    def __post_init__(self) -> None:
        n_s, n_a = self.mdp.n_states, self.mdp.n_actions
        for field, names, n in (("state_names", self.state_names, n_s), ("action_names", self.action_names, n_a)):
            if names is not None and (len(names) != n or not all(isinstance(x, str) for x in names)):
                raise ConfigError(message(field, f"{n} names (str), one per index", names))
        observations = _frozen(self.observations, None)
        actions = _frozen(self.actions, None)
        terminal = _frozen(self.terminal, bool)
        if observations.ndim < 1 or observations.shape[0] != n_s:
            raise ConfigError(
                message(
                    "observations",
                    f"an array of shape (S,) + obs_shape with S = {n_s}",
                    observations.shape,
                    "Give one observation per state.",
                )
            )
        if actions.ndim < 1 or actions.shape[0] != n_a:
            raise ConfigError(
                message(
                    "actions",
                    f"an array of shape (A,) + action_shape with A = {n_a}",
                    actions.shape,
                    "Give one env action per MDP action.",
                )
            )
        if terminal.shape != (n_s,):
            raise ConfigError(message("terminal", f"a bool array of shape ({n_s},)", terminal.shape))
        self.mdp.mark_terminal(terminal, "terminal")  # checks that every terminal state is absorbing
        object.__setattr__(self, "observations", observations)
        object.__setattr__(self, "actions", actions)
        object.__setattr__(self, "terminal", terminal)
        # The link that lets TabularMDP.reward_table tabulate specs (see its docstring).
        self.mdp.env_name = self.env
        self.mdp.tabulate = functools.partial(reward_table, env=self.env)


def _with_models() -> list[str]:
    return [name for name in suite.names() if suite.get(name).tabular is not None]


_CACHE: dict[str, tuple[suite.SuiteEnv, TabularEnvModel]] = {}


def tabular_model(env: str | suite.SuiteEnv) -> TabularEnvModel:
    """The exact tabular model of a suite env (built once per env name, then cached).

    Args:
        env: suite name, Gymnasium id or :class:`~rewardlab.suite.SuiteEnv`.

    Raises:
        ConfigError: the env has no tabular model; the message lists the envs that have one.

    Example:
        >>> import rewardlab as rl
        >>> rl.metrics.tabular_model("cliffworld").mdp.gamma
        0.99
    """
    spec = suite.get(env)
    if spec.tabular is None:
        have = ", ".join(repr(n) for n in _with_models()) or "none"
        raise ConfigError(
            message("env", "an env with a tabular model", spec.name, f"Envs with an exact MDP export: {have}.")
        )
    cached = _CACHE.get(spec.name)
    if cached is not None and cached[0] is spec:
        return cached[1]
    model = spec.tabular()
    if not isinstance(model, TabularEnvModel):
        raise ConfigError(message(f"{spec.name}.tabular", "a callable returning a TabularEnvModel", model))
    _CACHE[spec.name] = (spec, model)
    return model


def reward_table(
    reward: RewardSpec | RewardFunction | Mapping[str, Any] | str | Path, env: str | suite.SuiteEnv
) -> np.ndarray:
    """Tabulate a reward on every transition ``(s, a, s')`` of an env's exact MDP.

    The spec is built for ``env`` and called **once**, on a batch of every ``(s, a, s')`` with
    ``s`` non-terminal (observations from :class:`TabularEnvModel`, ``done = terminal[s']``);
    rows of terminal (absorbing) states are 0 (see the module docstring). Stateful transforms
    (running normalisation) are evaluated frozen at their current statistics -- the initial
    ones (mean 0, variance 1) for a freshly built spec -- so the table does not depend on
    which transitions happened to be tabulated. ``Env()`` gives the env's true reward, rebuilt
    from the ground-truth factors.

    Args:
        reward: a reward spec, a dict, a TOML path, ``"env"``, or an already built
            :class:`~rewardlab.rewards.RewardFunction` of this env.
        env: suite name, Gymnasium id or :class:`~rewardlab.suite.SuiteEnv` with a tabular model.

    Returns:
        A float64 ``(S, A, S)`` array ``R[s, a, s']``.

    Raises:
        ConfigError: the env has no tabular model, the spec is invalid for it (``SpecError``),
            or the reward is not one finite value per transition.
    """
    spec_env = suite.get(env)
    model = tabular_model(spec_env)
    if isinstance(reward, RewardFunction):
        fn = reward
    else:
        spec = parse(reward)
        raw = spec_env.make()
        try:
            fn = spec.build(spec_env, (raw.observation_space, raw.action_space))
        finally:
            raw.close()
    n_s, n_a = model.mdp.n_states, model.mdp.n_actions
    live = np.flatnonzero(~model.terminal)
    s_idx, a_idx, n_idx = (ix.ravel() for ix in np.meshgrid(live, np.arange(n_a), np.arange(n_s), indexing="ij"))
    was_training = fn.training
    fn.training = False
    try:
        values, _ = fn.compute(
            model.observations[s_idx], model.actions[a_idx], model.observations[n_idx], model.terminal[n_idx]
        )
    finally:
        fn.training = was_training
    values = np.asarray(values, dtype=np.float64)
    label = getattr(fn.spec, "label", type(fn).__name__)
    if values.shape != s_idx.shape:
        raise ConfigError(
            message("reward", f"one value per transition, shape {s_idx.shape}", values.shape, f"Check {label}.")
        )
    if not np.all(np.isfinite(values)):
        raise ConfigError(message("reward", "finite on every transition", "NaN or inf", f"Check {label}."))
    table = np.zeros((n_s, n_a, n_s))
    table[live] = values.reshape(len(live), n_a, n_s)
    return table
