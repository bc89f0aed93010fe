"""rewardlab: design, learn and compare reward functions for reinforcement learning.

The flat public API::

    import rewardlab as rl
    env = rl.make_vec_env("pendulum", reward=rl.rewards.Terms({"angle_cost": -1.0}), n_envs=4)
    model = rl.agents.make("sac", env)
    model.learn(20_000)
    print(rl.evaluate(model))      # mean proxy return and mean env (ground-truth) return

Subpackages: ``data`` (transitions, segments, the rollout loop), ``rewards`` (reward specs and
the reward network), ``wrappers``, ``agents``, ``preferences`` (labels, reward-model training,
the RLHF loop), ``metrics`` (STARC, EPIC, DARD), ``monitors`` (reward-hacking monitors and
detectors), ``design`` (explicable reward design on tabular MDPs), ``sweeps`` (ablation sweeps
and reports), ``suite`` (the envs with their reward factors).

This module owns the flat namespace only. ``import rewardlab`` loads nothing but
:mod:`rewardlab.errors`: every other public name is imported on first access (PEP 562
``__getattr__``), so that ``import rewardlab`` and ``rewardlab --help`` do not load torch,
Stable-Baselines3 or scipy. It may import any rewardlab module, lazily; the ``TYPE_CHECKING``
block tells type checkers what each name is.
"""

from __future__ import annotations

from importlib import import_module as _import_module
from typing import TYPE_CHECKING

from rewardlab import errors
from rewardlab.errors import ConfigError, RewardLabError, SpecError

if TYPE_CHECKING:
    from rewardlab import agents, data, design, metrics, monitors, preferences, rewards, suite, sweeps, wrappers
    from rewardlab.evaluation import EvalResult, evaluate
    from rewardlab.training import TrainConfig, train
    from rewardlab.wrappers import make_env, make_vec_env

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "EvalResult",
    "RewardLabError",
    "SpecError",
    "TrainConfig",
    "__version__",
    "agents",
    "data",
    "design",
    "errors",
    "evaluate",
    "make_env",
    "make_vec_env",
    "metrics",
    "monitors",
    "preferences",
    "rewards",
    "suite",
    "sweeps",
    "train",
    "wrappers",
]

_SUBMODULES = frozenset(
    {"agents", "data", "design", "metrics", "monitors", "preferences", "rewards", "suite", "sweeps", "wrappers"}
)
"""Public subpackages, imported on first access."""

_LAZY = {
    "make_env": "rewardlab.wrappers",
    "make_vec_env": "rewardlab.wrappers",
    "EvalResult": "rewardlab.evaluation",
    "evaluate": "rewardlab.evaluation",
    "TrainConfig": "rewardlab.training",
    "train": "rewardlab.training",
}
"""Public functions and classes, by the module that defines them (imported on first access)."""


if not TYPE_CHECKING:  # hidden from type checkers, so that a misspelt name stays an error for them

    def __getattr__(name: str) -> object:
        """Import a public name on first access and keep it in the module (PEP 562)."""
        if name in _SUBMODULES:
            value = _import_module(f"rewardlab.{name}")
        elif name in _LAZY:
            value = getattr(_import_module(_LAZY[name]), name)
        else:
            raise AttributeError(f"module 'rewardlab' has no attribute {name!r}")
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    """The public API, loaded or not, beside what the module already holds."""
    return sorted((set(globals()) - {"TYPE_CHECKING"}) | set(__all__))
