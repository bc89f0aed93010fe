"""The one rollout loop: step an SB3 VecEnv under a :class:`~rewardlab.data.Policy`.

Every rollout in rewardlab goes through :func:`rollout`: sampling transitions for the metrics,
collecting preference segments, and evaluating an agent. It yields one :class:`Step` per vector
step with the *true* next observation at episode ends (SB3 auto-resets and keeps the final one in
``infos[i]["terminal_observation"]``) and terminations told apart from time-limit truncations.
The caller decides when to stop.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv

from rewardlab.data._policy import Policy

__all__ = ["Step", "raw_vec_env", "rollout"]


@dataclass(frozen=True)
class Step:
    """One vector step of a rollout (``n`` sub-envs)."""

    obs: np.ndarray
    """``(n,) + obs_shape`` observations before the step."""
    actions: np.ndarray
    """``(n,) + action_shape`` actions taken."""
    next_obs: np.ndarray
    """``(n,) + obs_shape`` observations after the step; the true final one where an episode ended."""
    rewards: np.ndarray
    """``(n,)`` rewards as the VecEnv returned them."""
    terminated: np.ndarray
    """``(n,)`` bool, True where the step terminated the episode."""
    truncated: np.ndarray
    """``(n,)`` bool, True where the time limit ended the episode (and it did not terminate)."""
    infos: list[dict[str, Any]]
    """The VecEnv's per-sub-env infos."""

    @property
    def ended(self) -> np.ndarray:
        """``(n,)`` bool, True where an episode ended (terminated or truncated)."""
        return self.terminated | self.truncated


class _Float64Rewards(DummyVecEnv):
    """A ``DummyVecEnv`` that keeps the env's rewards in float64 (SB3 stores float32)."""

    def __init__(self, env_fns: list[Any]) -> None:
        super().__init__(env_fns)
        # The env's own reward is the ground truth that preferences and metrics are computed
        # from: rounding it to float32 would change labels and sums.
        self.buf_rews = np.zeros((self.num_envs,), dtype=np.float64)


def raw_vec_env(env: Any) -> DummyVecEnv:
    """A one-env VecEnv over an already built Gymnasium env: no wrapper, float64 rewards."""
    return _Float64Rewards([lambda: env])


def rollout(venv: VecEnv, policy: Policy, *, seed: int | None = None) -> Iterator[Step]:
    """Step ``venv`` under ``policy`` forever, yielding each vector step; stop by leaving the loop.

    Args:
        venv: the VecEnv (it auto-resets finished sub-envs, as every SB3 VecEnv does).
        policy: maps ``(obs, episode_start)`` to actions.
        seed: when given, sub-env ``i`` is reset with ``seed + i`` and the action space is seeded
            with ``seed`` (the draws of a random policy); None keeps the envs' own seeding.
    """
    if seed is not None:
        venv.seed(seed)
        venv.action_space.seed(seed)
    # Box and Discrete observations only (rewardlab's suite): arrays, never dicts or tuples.
    obs = np.asarray(venv.reset())
    starts = np.ones(venv.num_envs, dtype=bool)
    while True:
        actions = policy(obs, starts)
        raw_next, rewards, dones, infos = venv.step(actions)
        next_obs = np.asarray(raw_next)
        truncated = np.array([bool(info.get("TimeLimit.truncated", False)) for info in infos])
        final = next_obs
        if dones.any():
            final = np.array(next_obs, copy=True)
            for i in np.flatnonzero(dones):
                final[i] = infos[i]["terminal_observation"]
        yield Step(obs, actions, final, rewards, dones & ~truncated, truncated & dones, infos)
        obs, starts = next_obs, dones
