"""Building suite envs with a swapped reward: one Gymnasium env, or an SB3 vector env; and reading
back which suite env and reward function a VecEnv was built with (recorded by the vector
:class:`~rewardlab.wrappers.vector.SwapReward`, or by a :class:`~rewardlab.wrappers.vector.SuiteInfo`
over sub-envs that swap their own reward)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import gymnasium as gym
from stable_baselines3.common.vec_env import SubprocVecEnv, VecEnv, VecMonitor, unwrap_vec_wrapper

from rewardlab import suite
from rewardlab.errors import ConfigError, message
from rewardlab.rewards import RewardFunction, RewardSpec, parse
from rewardlab.wrappers import vector as vec_wrappers
from rewardlab.wrappers._single import DropObsDims, SwapReward

__all__ = ["RewardLike", "make_env", "make_vec_env", "reward_function_of", "suite_env_of"]

RewardLike = RewardSpec | Mapping[str, Any] | str | None


def _reward_fn(reward: RewardLike | RewardFunction, env: suite.SuiteEnv, raw: Any) -> RewardFunction:
    if isinstance(reward, RewardFunction):
        return reward
    return parse(reward).build(env, (raw.observation_space, raw.action_space))


def make_env(env: str | suite.SuiteEnv, reward: RewardLike | RewardFunction = None, **gym_kwargs: Any) -> gym.Env:
    """A Gymnasium env of the suite whose reward is ``reward`` (default: the env's own).

    Args:
        env: suite name (``"pendulum"``) or Gymnasium id.
        reward: a spec, a dict, a TOML path, ``"env"``, or an already built reward function.
        **gym_kwargs: passed to ``gymnasium.make`` (e.g. ``render_mode="rgb_array"``).

    Returns:
        ``gymnasium.make(...)`` wrapped in :class:`~rewardlab.wrappers.SwapReward` (and
        :class:`~rewardlab.wrappers.DropObsDims` for dims hidden from the agent).
    """
    spec = suite.get(env)
    raw = spec.make(**gym_kwargs)
    wrapped: gym.Env = SwapReward(raw, _reward_fn(reward, spec, raw))
    if spec.hidden_obs:
        wrapped = DropObsDims(wrapped, spec.hidden_obs)
    return wrapped


def make_vec_env(
    env: str | suite.SuiteEnv,
    reward: RewardLike | RewardFunction = None,
    n_envs: int = 1,
    seed: int | None = None,
    *,
    wrapper: Literal["vector", "single"] = "vector",
    subprocess: bool = False,
    **gym_kwargs: Any,
) -> VecEnv:
    """An SB3 vector env of ``n_envs`` copies of a suite env, with a swapped reward.

    Args:
        env: suite name or Gymnasium id.
        reward: a spec, dict, TOML path, ``"env"`` or a built reward function.
        n_envs: number of sub-envs.
        seed: seeds sub-env ``i`` with ``seed + i``; None leaves them unseeded.
        wrapper: ``"vector"`` computes the reward once per vector step for all sub-envs (the
            default, and the place for learned models); ``"single"`` wraps each sub-env.
        subprocess: run sub-envs in processes (``SubprocVecEnv``); worth it only for slow envs.
            Otherwise they step in turn in this process, in a
            :class:`~rewardlab.wrappers.vector.SerialVecEnv` (SB3's ``DummyVecEnv``, minus its deep
            copy of immutable info values).
        **gym_kwargs: passed to ``gymnasium.make``.

    Returns:
        A ``VecMonitor``-wrapped VecEnv: SB3's ``ep_rew_mean`` is the proxy return, and
        ``infos[i]["rewardlab"]`` carries the env's own reward and the terms.
    """
    if isinstance(n_envs, bool) or not isinstance(n_envs, int) or n_envs < 1:
        raise ConfigError(message("n_envs", "a positive integer", n_envs, "Pass n_envs=1 or more."))
    if wrapper not in ("vector", "single"):
        raise ConfigError(message("wrapper", "'vector' or 'single'", wrapper))
    spec = suite.get(env)

    def factory(i: int) -> Any:
        def build() -> gym.Env:
            if wrapper == "single":
                e = make_env(spec, reward, **gym_kwargs)
            else:
                e = spec.make(**gym_kwargs)
            if seed is not None:
                e.reset(seed=seed + i)
                e.action_space.seed(seed + i)
            return e

        return build

    cls = SubprocVecEnv if subprocess else vec_wrappers.SerialVecEnv
    venv: VecEnv = cls([factory(i) for i in range(n_envs)])
    if wrapper == "vector":  # one wrapper does it all: every VecEnvWrapper layer costs a dispatch per step
        fn = _reward_fn(reward, spec, venv)
        return VecMonitor(vec_wrappers.SwapReward(venv, fn, hidden_obs=spec.hidden_obs, suite_env=spec))
    # each sub-env has its own function; the first one stands for all (same spec)
    fn = venv.env_method("get_wrapper_attr", "reward_fn", indices=[0])[0]
    return VecMonitor(vec_wrappers.SuiteInfo(venv, spec, fn))


def _recorded(venv: VecEnv | None) -> tuple[suite.SuiteEnv, RewardFunction] | None:
    """The suite env and reward function recorded by :func:`make_vec_env`, through any later wrappers."""
    if venv is None:
        return None
    info = unwrap_vec_wrapper(venv, vec_wrappers.SuiteInfo)
    if isinstance(info, vec_wrappers.SuiteInfo):
        return info.suite_env, info.reward_function
    swap = unwrap_vec_wrapper(venv, vec_wrappers.SwapReward)
    if isinstance(swap, vec_wrappers.SwapReward) and swap.suite_env is not None:
        return swap.suite_env, swap.reward_fn
    return None


def suite_env_of(venv: VecEnv | None) -> suite.SuiteEnv | None:
    """The suite env a VecEnv was built from (None if it was not built by :func:`make_vec_env`)."""
    found = _recorded(venv)
    return found[0] if found is not None else None


def reward_function_of(venv: VecEnv | None) -> RewardFunction | None:
    """The reward function a VecEnv built by :func:`make_vec_env` computes (None otherwise)."""
    found = _recorded(venv)
    return found[1] if found is not None else None
