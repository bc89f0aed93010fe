"""The in-process vector env that :func:`rewardlab.make_vec_env` builds: SB3's ``DummyVecEnv``
with a cheaper copy of the info dicts.

SB3's ``DummyVecEnv.step_wait`` returns ``deepcopy`` of every sub-env's info dict, each step. On
MuJoCo those dicts hold 4-6 NumPy scalars, and the deep copy costs about 7% of a vector step of
8 HalfCheetah-v5 envs (20 us of ~280 us; ``benchmarks/bench_wrappers.py``), more than rewardlab's
reward itself. A copy keeps the caller's dicts apart from what the env still holds; that needs a
new top-level dict, and a deep copy only of values that can change in place. Numbers, strings and
NumPy scalars cannot, so :class:`SerialVecEnv` copies the dict and deep-copies only the other
values (``terminal_observation``, lists, nested dicts), which gives the same separation.

Everything else (stepping order, auto-reset, ``TimeLimit.truncated``, ``terminal_observation``,
seeds and options) is ``DummyVecEnv``'s: :class:`SerialVecEnv` is a subclass, and a test compares
the two step by step.

Owns :class:`SerialVecEnv`.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env import DummyVecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvStepReturn

__all__ = ["SerialVecEnv"]

_IMMUTABLE = frozenset(
    {float, int, bool, str, bytes, type(None), np.float64, np.float32, np.float16, np.int64, np.int32, np.bool_}
)
"""Exact types of info values that cannot change in place (a subclass might, so it is deep-copied)."""


def _copy_info(info: dict[str, Any]) -> dict[str, Any]:
    """A copy as independent of ``info`` as ``deepcopy`` makes it, without copying immutable values."""
    return {k: v if type(v) in _IMMUTABLE else deepcopy(v) for k, v in info.items()}


class SerialVecEnv(DummyVecEnv):
    """``DummyVecEnv`` (sub-envs stepped in turn, in this process) whose info copy skips immutable values.

    Example:
        >>> import gymnasium as gym
        >>> venv = SerialVecEnv([lambda: gym.make("CartPole-v1")] * 2)
        >>> _ = venv.reset()
        >>> obs, rewards, dones, infos = venv.step(np.zeros(2, dtype=np.int64))
        >>> obs.shape, sorted(infos[0])
        ((2, 4), ['TimeLimit.truncated'])
    """

    def step_wait(self) -> VecEnvStepReturn:
        for i, env in enumerate(self.envs):
            obs, reward, terminated, truncated, info = env.step(self.actions[i])
            self.buf_rews[i] = reward
            self.buf_dones[i] = done = terminated or truncated
            info["TimeLimit.truncated"] = truncated and not terminated
            if done:  # keep the final observation where SB3 looks for it, then start the next episode
                info["terminal_observation"] = obs
                obs, self.reset_infos[i] = env.reset()
            self.buf_infos[i] = info
            self._save_obs(i, obs)
        infos = [_copy_info(info) for info in self.buf_infos]
        return self._obs_from_buf(), np.copy(self.buf_rews), np.copy(self.buf_dones), infos
