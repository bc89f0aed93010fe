"""SB3 ``VecEnvWrapper`` twins of :mod:`rewardlab.wrappers`: one reward call per vector step.

SB3 vector envs reset a finished sub-env inside ``step``: the observation returned for it is
the first one of the next episode, and the true final observation is in
``info["terminal_observation"]``. :class:`SwapReward` uses the latter as ``next_obs``, and
``terminated = done and not info["TimeLimit.truncated"]``. :class:`SuiteInfo` is a pass-through
wrapper that records which suite env and reward function a VecEnv was built with.

Owns the vector :class:`SwapReward`, :class:`DropObsDims` and :class:`SuiteInfo`.

Layer: inside :mod:`rewardlab.wrappers`: it imports the episode bookkeeping it shares with the
single-env wrappers (``wrappers._episode``), :mod:`rewardlab.rewards` and the ground floor,
nothing higher; :func:`rewardlab.wrappers.make_vec_env` builds VecEnvs from it.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper
from stable_baselines3.common.vec_env.base_vec_env import VecEnvStepReturn

from rewardlab import suite
from rewardlab.errors import ConfigError, message
from rewardlab.rewards import RewardFunction
from rewardlab.wrappers._episode import EpisodeSums, check_finite

__all__ = ["DropObsDims", "SuiteInfo", "SwapReward"]


def _floats(values: np.ndarray) -> list[float]:
    """Python floats of a ``(batch,)`` array in one ``tolist()`` call (cheaper than per element)."""
    return np.asarray(values, dtype=np.float64).tolist()


class SwapReward(VecEnvWrapper):
    """Replace the rewards of all sub-envs with one batched ``reward_fn`` call per step.

    ``infos[i]["rewardlab"]`` holds ``env_reward`` and ``terms`` (and ``episode`` at an episode
    end), exactly as the single-env :class:`rewardlab.wrappers.SwapReward` does.

    Example:
        >>> import gymnasium as gym, rewardlab as rl
        >>> from stable_baselines3.common.vec_env import DummyVecEnv
        >>> fn = rl.rewards.Terms({"angle_cost": -1.0}).build("pendulum")
        >>> venv = SwapReward(DummyVecEnv([lambda: gym.make("Pendulum-v1")] * 2), fn)
        >>> _ = venv.reset()
        >>> obs, rewards, dones, infos = venv.step(np.zeros((2, 1)))
        >>> rewards.shape
        (2,)
    """

    def __init__(self, venv: VecEnv, reward_fn: RewardFunction) -> None:
        super().__init__(venv)
        self.reward_fn = reward_fn
        self._obs: np.ndarray | None = None
        self._actions: np.ndarray | None = None
        self._sums = EpisodeSums(self.num_envs, reward_fn.term_names)
        self._steps = 0

    def reset(self) -> np.ndarray:
        self._obs = np.asarray(self.venv.reset())
        self._sums = EpisodeSums(self.num_envs, self.reward_fn.term_names)
        return self._obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)
        self.venv.step_async(actions)

    def step_wait(self) -> VecEnvStepReturn:
        if self._obs is None or self._actions is None:
            raise gym.error.ResetNeeded("Call reset() before step() on the vector SwapReward.")
        obs, env_rewards, dones, infos = self.venv.step_wait()
        next_obs = np.asarray(obs)
        terminated = np.array(dones, dtype=bool)  # a copy: `dones` goes on to the agent unchanged
        ended = terminated.ravel().nonzero()[0].tolist()  # sub-envs whose episode ended (either way)
        if ended:
            next_obs = next_obs.copy()
            for i in ended:
                next_obs[i] = infos[i]["terminal_observation"]
                if infos[i].get("TimeLimit.truncated", False):
                    terminated[i] = False
        env_rewards = np.asarray(env_rewards, dtype=np.float64)
        reward, terms = self.reward_fn.compute(self._obs, self._actions, next_obs, terminated, env_rewards)
        self._steps += 1
        check_finite(reward, self._steps, terms, self._obs, self._actions)
        self._sums.add(reward, env_rewards, terms)
        env_list = _floats(env_rewards)
        term_lists = [(k, _floats(v)) for k, v in terms.items()]
        for i, info in enumerate(infos):
            info["rewardlab"] = {"env_reward": env_list[i], "terms": {k: v[i] for k, v in term_lists}}
        for i in ended:
            infos[i]["rewardlab"]["episode"] = self._sums.pop(i)
        self._obs = np.asarray(obs)
        return obs, reward.astype(np.float32), dones, infos

    def pop_term_means(self) -> dict[str, float]:
        """Mean of each term per transition since the last call, then start a new window."""
        return self._sums.pop_window()


class DropObsDims(VecEnvWrapper):
    """Remove observation dims (and the same dims of ``terminal_observation``) for the agent."""

    def __init__(self, venv: VecEnv, drop: tuple[int, ...]) -> None:
        space = venv.observation_space
        if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
            raise ConfigError(message("hidden_obs", "used with a flat Box observation", space))
        self.keep = np.array([i for i in range(space.shape[0]) if i not in set(drop)])
        kept = gym.spaces.Box(space.low[self.keep], space.high[self.keep], dtype=space.dtype)
        super().__init__(venv, observation_space=kept)

    def reset(self) -> np.ndarray:
        return np.asarray(self.venv.reset())[:, self.keep]

    def step_wait(self) -> VecEnvStepReturn:
        obs, rewards, dones, infos = self.venv.step_wait()
        for i in np.flatnonzero(dones):
            if "terminal_observation" in infos[i]:
                infos[i]["terminal_observation"] = np.asarray(infos[i]["terminal_observation"])[self.keep]
        return np.asarray(obs)[:, self.keep], rewards, dones, infos


class SuiteInfo(VecEnvWrapper):
    """Pass-through wrapper recording the suite env and the reward function a VecEnv computes.

    :func:`rewardlab.make_vec_env` adds it; :func:`rewardlab.wrappers.suite_env_of` and
    :func:`rewardlab.wrappers.reward_function_of` find it through any wrappers added later
    (``VecNormalize``) with SB3's ``unwrap_vec_wrapper``.
    """

    def __init__(self, venv: VecEnv, suite_env: suite.SuiteEnv, reward_fn: RewardFunction) -> None:
        super().__init__(venv)
        self.suite_env = suite_env
        # not `reward_fn`: SB3's attribute lookup through wrappers must keep finding SwapReward's
        self.reward_function = reward_fn

    def reset(self) -> np.ndarray:
        return self.venv.reset()  # type: ignore[return-value]

    def step_wait(self) -> VecEnvStepReturn:
        return self.venv.step_wait()
