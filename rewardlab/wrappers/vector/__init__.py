"""SB3 ``VecEnvWrapper`` twins of :mod:`rewardlab.wrappers`: one reward call per vector step.

SB3 vector envs reset a finished sub-env inside ``step``: the observation returned for it is
the first one of the next episode, and the true final observation is in
``info["terminal_observation"]``. :class:`SwapReward` uses the latter as ``next_obs``, and
``terminated = done and not info["TimeLimit.truncated"]``.

One wrapper does all of rewardlab's work on a vector step (the reward, the episode sums, the
observation dims hidden from the agent, and the record of the suite env): on MuJoCo a vector step
costs ~280 us, and every extra ``VecEnvWrapper`` layer adds ~1.5 us of Python dispatch
(``benchmarks/bench_wrappers.py``). :class:`SuiteInfo` remains for VecEnvs whose sub-envs carry
their own single-env :class:`rewardlab.wrappers.SwapReward` (``make_vec_env(wrapper="single")``).

Owns the vector :class:`SwapReward` and :class:`SuiteInfo`; :class:`SerialVecEnv` (``._serial``) is
the in-process vector env under them.

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
from rewardlab.rewards import RewardFunction
from rewardlab.wrappers._episode import EpisodeSums, check_finite, kept_dims
from rewardlab.wrappers.vector._serial import SerialVecEnv

__all__ = ["SerialVecEnv", "SuiteInfo", "SwapReward"]


def _floats(values: np.ndarray) -> list[float]:
    """Python floats of a ``(batch,)`` array in one ``tolist()`` call (cheaper than per element)."""
    return np.asarray(values, dtype=np.float64).tolist()


class SwapReward(VecEnvWrapper):
    """Replace the rewards of all sub-envs with one batched ``reward_fn`` call per step.

    ``infos[i]["rewardlab"]`` holds ``env_reward`` and ``terms`` (and ``episode`` at an episode
    end), exactly as the single-env :class:`rewardlab.wrappers.SwapReward` does.

    Args:
        venv: the vector env; the reward sees its full observations.
        reward_fn: the reward function.
        hidden_obs: observation dims the reward needs but the agent must not see (the suite's
            ``hidden_obs``): removed from the returned observations and ``terminal_observation``.
        suite_env: the suite env the VecEnv was built from, recorded for
            :func:`rewardlab.wrappers.suite_env_of`.

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

    def __init__(
        self,
        venv: VecEnv,
        reward_fn: RewardFunction,
        *,
        hidden_obs: tuple[int, ...] = (),
        suite_env: suite.SuiteEnv | None = None,
    ) -> None:
        self._keep: slice | np.ndarray | None = None
        space = None
        if hidden_obs:
            self._keep, space = kept_dims(venv.observation_space, tuple(hidden_obs))
        super().__init__(venv, observation_space=space)
        self.reward_fn = reward_fn
        self.suite_env = suite_env
        self._obs: np.ndarray | None = None
        self._actions: np.ndarray | None = None
        self._sums = EpisodeSums(self.num_envs, reward_fn.term_names)
        self._steps = 0

    def reset(self) -> np.ndarray:
        self._obs = np.asarray(self.venv.reset())
        self._sums = EpisodeSums(self.num_envs, self.reward_fn.term_names)
        return self._obs if self._keep is None else np.ascontiguousarray(self._obs[:, self._keep])

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)
        self.venv.step_async(actions)

    def step_wait(self) -> VecEnvStepReturn:
        if self._obs is None or self._actions is None:
            raise gym.error.ResetNeeded("Call reset() before step() on the vector SwapReward.")
        obs, env_rewards, dones, infos = self.venv.step_wait()
        obs = np.asarray(obs)
        next_obs = obs
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
        self._obs = obs
        keep = self._keep
        for i in ended:
            info = infos[i]
            info["rewardlab"]["episode"] = self._sums.pop(i)
            if keep is not None and "terminal_observation" in info:
                info["terminal_observation"] = np.asarray(info["terminal_observation"])[keep]
        if keep is not None:
            obs = np.ascontiguousarray(obs[:, keep])  # a copy: self._obs must not change under the agent
        return obs, reward.astype(np.float32), dones, infos

    def pop_term_means(self) -> dict[str, float]:
        """Mean of each term per transition since the last call, then start a new window."""
        return self._sums.pop_window()


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
