"""The environment suite: Gymnasium envs with named reward factors and their ground truth.

A :class:`SuiteEnv` ties a Gymnasium id to the *reward factors* of that task: batched functions
of transitions ``f(obs, action, next_obs, done) -> (batch,)``, each with a direction (higher or
lower is better). The env's own reward is written through the factors as a weighted sum
(``ground_truth``), and a test checks that it equals the env's reward on random rollouts.

``done`` is the *termination* flag (the MDP reached an absorbing state), never a time-limit
truncation: factors such as Hopper's ``healthy_reward`` and potential shaping depend on it.

Suites are plugins: a package lists a module under the ``rewardlab.suite`` entry-point group,
and importing that module calls :func:`register`. The built-in suite lives in the top-level
``envs/`` folder (installed as ``rewardlab_envs``); rewardlab never imports it by path.

Owns :class:`SuiteEnv` and :class:`Factor`, the registry (:func:`register`, :func:`get`,
:func:`names`) and the loading of the suite plugins.

Layer: the ground floor, beside :mod:`rewardlab.runs`: at run time it imports only
:mod:`rewardlab.errors`, Gymnasium and numpy, never torch, SB3 or scipy (an import-linter
contract; the tabular model it names is a type-only import from :mod:`rewardlab.metrics`), so that
``rewardlab envs`` starts fast and every layer above can name an env.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING, Annotated, Any, Protocol

import gymnasium as gym
import numpy as np
from pydantic import AfterValidator

from rewardlab.errors import ConfigError, message, unknown

if TYPE_CHECKING:  # a type only: the metrics layer builds these models from the suite's callables
    from rewardlab.metrics import TabularEnvModel

__all__ = [
    "EnvName",
    "Factor",
    "FactorFn",
    "PotentialFn",
    "SuiteEnv",
    "get",
    "names",
    "register",
]


class FactorFn(Protocol):
    """A batched reward factor.

    Args:
        obs: ``(batch,) + obs_shape`` observations before the step (as the reward sees them).
        action: ``(batch,) + action_shape`` actions (``(batch,)`` for discrete spaces).
        next_obs: ``(batch,) + obs_shape`` observations after the step (the true final one at
            episode ends).
        done: ``(batch,)`` bool, True where the step terminated the episode (not truncation).

    Returns:
        ``(batch,)`` float64 factor values.
    """

    def __call__(self, obs: np.ndarray, action: np.ndarray, next_obs: np.ndarray, done: np.ndarray) -> np.ndarray: ...


PotentialFn = Callable[[np.ndarray], np.ndarray]
"""A batched state potential ``Phi(obs) -> (batch,)`` for potential-based shaping."""


@dataclass(frozen=True)
class Factor:
    """One named reward factor of a suite env."""

    name: str
    """Identifier used in reward specs (``angle_cost``, ``forward_reward``)."""
    fn: FactorFn
    """The batched function computing it from transitions."""
    higher_is_better: bool
    """Direction: True when an agent should increase it, False for costs."""
    description: str = ""
    """One line on what it measures, shown by ``rewardlab envs``."""


@dataclass(frozen=True)
class SuiteEnv:
    """A Gymnasium env together with its reward factors and ground truth."""

    name: str
    """Short suite name (``pendulum``); the Gymnasium id is accepted as an alias."""
    gym_id: str
    """The id passed to ``gym.make``."""
    factors: tuple[Factor, ...] = ()
    """Named reward factors; empty for a plain Gymnasium env outside the suite."""
    ground_truth: Mapping[str, float] = field(default_factory=dict)
    """Weights such that the env's reward equals ``sum(w * factor)``."""
    potentials: Mapping[str, PotentialFn] = field(default_factory=dict)
    """Named state potentials usable by the ``shaped`` reward."""
    make_kwargs: Mapping[str, Any] = field(default_factory=dict)
    """Extra keyword arguments for ``gym.make``."""
    hidden_obs: tuple[int, ...] = ()
    """Observation dims the reward sees but the agent does not (e.g. MuJoCo's x position,
    needed for the forward-progress factor and hidden from the policy as in the standard env)."""
    description: str = ""
    """One line about the task."""
    moves: bool = False
    """The task is to move (locomotion): an agent that stands still fails it, which the
    ``standing_still`` hacking detector reads (:mod:`rewardlab.monitors`)."""
    tabular: Callable[[], TabularEnvModel] | None = None
    """For envs with a finite state space: builds the exact MDP of the env (transitions, the
    reset distribution, terminal states absorbing, the observation of each state), on which
    reward specs are tabulated and compared exactly (:func:`rewardlab.metrics.tabular_model`,
    :func:`rewardlab.metrics.reward_table`). None when the env has no exact model."""
    set_state: Callable[[gym.Env[Any, Any], np.ndarray], None] | None = None
    """Restores the simulator from a full observation (``obs_shape``, hidden dims included) so a
    stored segment can be rendered (:func:`rewardlab.preferences.render_segment`); it receives the
    env built by :meth:`make`, wrappers included. None when the env cannot be rendered from
    observations."""

    def __post_init__(self) -> None:
        seen = [f.name for f in self.factors]
        if len(set(seen)) != len(seen):
            raise ConfigError(message("factors", "uniquely named", seen, "Rename the duplicate factor."))
        for key in self.ground_truth:
            if key not in seen:
                raise unknown(f"{self.name}.ground_truth", key, seen, "a factor of the env")

    @property
    def factor_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.factors)

    def factor(self, name: str) -> Factor:
        """Return the factor called ``name``; unknown names suggest the closest."""
        for f in self.factors:
            if f.name == name:
                return f
        if not self.factors:
            raise ConfigError(
                message(
                    "factor",
                    f"a reward factor of {self.name!r}",
                    name,
                    f"{self.name!r} is outside the suite and declares no factors: use kind = 'env' or 'code'.",
                )
            )
        raise unknown("factor", name, self.factor_names, f"a reward factor of {self.name!r}")

    def ground_truth_text(self) -> str:
        """The ground truth as a readable weighted sum, e.g. ``-1*angle_cost - 0.1*velocity_cost``."""
        if not self.ground_truth:
            return "the env's own reward (no factors declared)"
        text = " + ".join(f"{w:g}*{name}" for name, w in self.ground_truth.items())
        return text.replace("+ -", "- ")

    def make(self, **kwargs: Any) -> Any:
        """Build the raw Gymnasium env (no reward wrapper, hidden dims still visible)."""
        return gym.make(self.gym_id, **{**self.make_kwargs, **kwargs})


_REGISTRY: dict[str, SuiteEnv] = {}
_plugins_loaded = False


def register(env: SuiteEnv, *, overwrite: bool = False) -> SuiteEnv:
    """Add ``env`` to the suite so that every rewardlab entry point can find it by name."""
    if env.name in _REGISTRY and not overwrite:
        raise ConfigError(message("name", "unique in the suite", env.name, "Pass overwrite=True to replace it."))
    _REGISTRY[env.name] = env
    return env


def _load_plugins() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for ep in metadata.entry_points(group="rewardlab.suite"):
        importlib.import_module(ep.value.split(":")[0])


def names() -> list[str]:
    """Names of every env in the suite, sorted."""
    _load_plugins()
    return sorted(_REGISTRY)


def get(name: str | SuiteEnv) -> SuiteEnv:
    """Look up a suite env by short name or Gymnasium id.

    A registered Gymnasium id outside the suite is accepted too: it gets no factors, so only
    the ``env`` and ``code`` rewards apply to it.

    Raises:
        UnknownNameError: ``name`` is neither; the message suggests the closest names.
    """
    if isinstance(name, SuiteEnv):
        return name
    _load_plugins()
    if name in _REGISTRY:
        return _REGISTRY[name]
    for env in _REGISTRY.values():
        if env.gym_id == name:
            return env
    if name in gym.registry:
        return SuiteEnv(name=name, gym_id=name, description="Gymnasium env outside the suite")
    choices = list(_REGISTRY) + [e.gym_id for e in _REGISTRY.values()]
    raise unknown("env", name, choices, "a suite env name or a registered Gymnasium id")


def _known(name: str) -> str:
    get(name)  # a registry lookup: an unknown name raises UnknownNameError with the closest names
    return name


EnvName = Annotated[str, AfterValidator(_known)]
"""A config field holding a suite env name or Gymnasium id, checked against the registry."""
