"""The single-env reward wrappers: :class:`SwapReward` and :class:`DropObsDims`."""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

from rewardlab.rewards import RewardFunction
from rewardlab.wrappers._episode import EpisodeSums, check_finite, kept_dims

__all__ = ["DropObsDims", "SwapReward"]


class SwapReward(gym.Wrapper):
    """Replace the env's reward with ``reward_fn(obs, action, next_obs, terminated)``.

    The reward function is called with a batch of one. ``info["rewardlab"]`` holds
    ``env_reward`` (the env's own reward) and ``terms``; at the end of an episode also
    ``episode`` (proxy return, env return, length and per-term sums).

    Example:
        >>> import gymnasium as gym, rewardlab as rl
        >>> fn = rl.rewards.Terms({"angle_cost": -1.0}).build("pendulum")
        >>> env = SwapReward(gym.make("Pendulum-v1"), fn)
        >>> obs, _ = env.reset(seed=0)
        >>> obs, r, term, trunc, info = env.step(env.action_space.sample())
        >>> sorted(info["rewardlab"])
        ['env_reward', 'terms']
    """

    def __init__(self, env: gym.Env, reward_fn: RewardFunction) -> None:
        super().__init__(env)
        self.reward_fn = reward_fn
        self._obs: np.ndarray | None = None
        self._sums = EpisodeSums(1, reward_fn.term_names)
        self._steps = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        self._obs = np.asarray(obs)
        self._sums.pop(0)
        return obs, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        if self._obs is None:
            raise gym.error.ResetNeeded("Call reset() before step() on SwapReward.")
        next_obs, env_reward, terminated, truncated, info = self.env.step(action)
        batch_action = np.asarray(action)[None]
        batch_next = np.asarray(next_obs)[None]
        reward, terms = self.reward_fn.compute(
            self._obs[None], batch_action, batch_next, np.array([terminated]), np.array([float(env_reward)])
        )
        self._steps += 1
        check_finite(reward, self._steps, terms, self._obs[None], batch_action)
        env_r = np.array([float(env_reward)])
        self._sums.add(reward, env_r, terms)
        info = dict(info)
        info["rewardlab"] = {"env_reward": float(env_reward), "terms": {k: float(v[0]) for k, v in terms.items()}}
        if terminated or truncated:
            info["rewardlab"]["episode"] = self._sums.pop(0)
        self._obs = batch_next[0]
        return next_obs, float(reward[0]), terminated, truncated, info


class DropObsDims(gym.ObservationWrapper):
    """Remove the observation dims in ``drop`` from a flat ``Box`` observation.

    Example:
        >>> import gymnasium as gym
        >>> DropObsDims(gym.make("Pendulum-v1"), (2,)).observation_space.shape
        (2,)
    """

    def __init__(self, env: gym.Env, drop: tuple[int, ...]) -> None:
        super().__init__(env)
        self.keep, self.observation_space = kept_dims(env.observation_space, tuple(drop))

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return observation[..., self.keep]
