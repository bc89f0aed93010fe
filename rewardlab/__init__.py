"""rewardlab: design, learn and compare reward functions for reinforcement learning.

The flat public API::

    import rewardlab as rl
    env = rl.make_vec_env("pendulum", reward=rl.rewards.Terms({"angle_cost": -1.0}), n_envs=4)
    model = rl.agents.make("sac", env)
    model.learn(20_000)
    print(rl.evaluate(model))      # mean proxy return and mean env (ground-truth) return

Subpackages: ``rewards`` (reward specs), ``wrappers``, ``agents``, ``preferences`` (segments,
labels, reward models, the RLHF loop), ``metrics`` (STARC, EPIC, DARD), ``sweeps`` (ablation
sweeps and reports), ``suite`` (the envs with their reward factors).
"""

from __future__ import annotations

from rewardlab import agents, data, errors, metrics, preferences, rewards, suite, sweeps, wrappers
from rewardlab.errors import ConfigError, RewardLabError, SpecError
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
    "errors",
    "evaluate",
    "make_env",
    "make_vec_env",
    "metrics",
    "preferences",
    "rewards",
    "suite",
    "sweeps",
    "train",
    "wrappers",
]
