"""Evaluate an agent on both its (proxy) reward and the env's own ground-truth reward.

Owns :func:`evaluate` and :class:`EvalResult`, and :func:`random_policy_return` (the score 0 of
normalised returns); the episodes run through the one rollout loop (:func:`rewardlab.data.rollout`).

Layer: above :mod:`rewardlab.wrappers`, beside :mod:`rewardlab.agents` (neither imports the
other): it imports the wrappers, :mod:`rewardlab.rewards`, :mod:`rewardlab.data` and the ground
floor, nothing higher.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecEnv, VecNormalize, unwrap_vec_wrapper

from rewardlab import suite
from rewardlab.config import Record
from rewardlab.data import AgentPolicy, RandomPolicy, raw_vec_env, rollout
from rewardlab.errors import ConfigError, message
from rewardlab.rewards import RewardFunction, parse
from rewardlab.wrappers import RewardLike, make_vec_env, reward_function_of, suite_env_of

__all__ = ["EvalResult", "evaluate", "random_policy_return"]


@dataclass(frozen=True)
class EvalResult(Record):
    """Episode returns of an evaluation, under the proxy reward and under the env's reward."""

    proxy_return: float
    """Mean episode return under the reward the agent was trained on."""
    env_return: float
    """Mean episode return under the env's own (ground-truth) reward."""
    proxy_std: float
    """Standard deviation of the proxy returns across episodes."""
    env_std: float
    """Standard deviation of the env returns across episodes."""
    length: float
    """Mean episode length."""
    n_episodes: int
    """Number of episodes evaluated."""
    terms: dict[str, float] = field(default_factory=dict)
    """Mean per-episode sum of each term of the proxy reward."""
    factors: dict[str, dict[str, float]] = field(default_factory=dict)
    """Every reward factor of the env, proxy's terms or not: ``{name: {"episode_sum", "step_mean"}}``
    (the mean episode sum, and the mean value per step over all evaluation steps)."""
    episodes: list[dict[str, Any]] = field(default_factory=list, repr=False, metadata={"exclude": True})
    """Per-episode summaries (proxy_return, env_return, length, terms); not in :meth:`to_dict`."""

    def __str__(self) -> str:
        return (
            f"proxy return {self.proxy_return:.2f} ± {self.proxy_std:.2f} | "
            f"env return {self.env_return:.2f} ± {self.env_std:.2f} | "
            f"length {self.length:.1f} over {self.n_episodes} episodes"
        )


def evaluate(
    model: BaseAlgorithm,
    env: str | suite.SuiteEnv | None = None,
    reward: RewardLike | RewardFunction = None,
    n_episodes: int = 10,
    *,
    deterministic: bool = True,
    seed: int | None = 12345,
    n_envs: int | None = None,
) -> EvalResult:
    """Run ``n_episodes`` episodes and report mean proxy return and mean env return.

    Args:
        model: a trained SB3 model.
        env: suite env to evaluate on; defaults to the one the model was trained on.
        reward: the proxy reward; defaults to the reward of the model's training env (with its
            running-normalisation statistics, frozen).
        n_episodes: episodes to run (each sub-env runs its share, as SB3's ``evaluate_policy``).
        deterministic: act with the policy's mode.
        seed: seed of the evaluation envs (fixed by default so evaluations are comparable).
        n_envs: parallel evaluation envs (default ``min(n_episodes, 4)``).

    Raises:
        ConfigError: nothing tells which env or reward to evaluate on.
    """
    if isinstance(n_episodes, bool) or not isinstance(n_episodes, int) or n_episodes < 1:
        raise ConfigError(message("n_episodes", "a positive integer", n_episodes))
    train_env: VecEnv | None = model.get_env()
    train_fn = reward_function_of(train_env)
    if env is None:
        found = suite_env_of(train_env)
        if found is None:
            raise ConfigError(
                message("env", "given (the model's env was not built by rewardlab)", None, 'Pass env="pendulum".')
            )
        env = found
    suite_env = suite.get(env)
    if reward is None and train_fn is not None and train_fn.env.name == suite_env.name:
        reward_fn = parse(train_fn.spec).build(suite_env)
        reward_fn.load_state_dict(train_fn.state_dict())
    elif isinstance(reward, RewardFunction):
        reward_fn = reward
    else:
        reward_fn = parse(reward).build(suite_env)
    reward_fn.training = False
    n_envs = n_envs or min(n_episodes, 4)
    venv: VecEnv = make_vec_env(suite_env, _WithFactors(reward_fn, suite_env), n_envs=n_envs, seed=seed)
    norm = unwrap_vec_wrapper(train_env, VecNormalize) if train_env is not None else None
    if isinstance(norm, VecNormalize) and norm.norm_obs:  # the policy expects observations normalised as in training
        venv = VecNormalize(venv, training=False, norm_obs=True, norm_reward=False)
        venv.obs_rms = norm.obs_rms
    try:
        episodes = _run(model, venv, n_episodes, deterministic)
    finally:
        venv.close()
    for e in episodes:  # the factor sums ride with the proxy's terms (_WithFactors): put them apart
        e["factors"] = {k[len(_FACTOR) :]: v for k, v in e["terms"].items() if k.startswith(_FACTOR)}
        e["terms"] = {k: v for k, v in e["terms"].items() if not k.startswith(_FACTOR)}
    proxy = np.array([e["proxy_return"] for e in episodes])
    true = np.array([e["env_return"] for e in episodes])
    names = sorted({k for e in episodes for k in e["terms"]})
    steps = sum(e["length"] for e in episodes)
    return EvalResult(
        proxy_return=float(proxy.mean()),
        env_return=float(true.mean()),
        proxy_std=float(proxy.std()),
        env_std=float(true.std()),
        length=float(np.mean([e["length"] for e in episodes])),
        n_episodes=len(episodes),
        terms={k: float(np.mean([e["terms"].get(k, 0.0) for e in episodes])) for k in names},
        factors={
            k: {
                "episode_sum": float(np.mean([e["factors"][k] for e in episodes])),
                "step_mean": float(sum(e["factors"][k] for e in episodes) / max(steps, 1)),
            }
            for k in suite_env.factor_names
        },
        episodes=episodes,
    )


def random_policy_return(env: str | suite.SuiteEnv, n_episodes: int = 50, seed: int = 0) -> float:
    """The mean ground-truth (env) return of a uniformly random policy over ``n_episodes`` episodes.

    The zero of random/ground-truth normalised scores (B-Pref, rliable's Atari convention). One env,
    episodes in turn: its first reset gets ``seed`` and the action space is seeded with ``seed``,
    so the value is reproducible (as ``env.reset(seed=seed)``, ``env.action_space.seed(seed)``,
    then uniform samples until ``n_episodes`` episodes have ended). NaN if no episode ends within
    :data:`RANDOM_POLICY_MAX_STEPS` steps (an env without a time limit).

    Raises:
        ConfigError: ``n_episodes`` is not a positive integer.
    """
    if isinstance(n_episodes, bool) or not isinstance(n_episodes, int) or n_episodes < 1:
        raise ConfigError(message("n_episodes", "a positive integer", n_episodes))
    return _random_policy_return(suite.get(env).name, n_episodes, seed)


@functools.lru_cache(maxsize=64)
def _random_policy_return(env: str, n_episodes: int, seed: int) -> float:
    """:func:`random_policy_return`, once per process for each argument (a report reads it per env)."""
    venv = raw_vec_env(suite.get(env).make())
    returns: list[float] = []
    total = 0.0
    try:
        for t, step in enumerate(rollout(venv, RandomPolicy(venv.action_space), seed=seed)):
            if t == RANDOM_POLICY_MAX_STEPS:
                break
            total += float(step.rewards[0])
            if step.ended[0]:
                returns.append(total)
                total = 0.0
                if len(returns) == n_episodes:
                    break
    finally:
        venv.close()
    return float(np.mean(returns)) if returns else math.nan


RANDOM_POLICY_MAX_STEPS = 1_000_000
"""Steps after which :func:`random_policy_return` stops waiting for episodes to end."""

_FACTOR = "factor:"
"""The prefix of the factor sums :class:`_WithFactors` adds to the terms of each step."""


class _WithFactors(RewardFunction):
    """The proxy reward, with every factor of the env added to its terms (evaluation only).

    The wrappers sum each term over an episode, so an evaluation sees every factor, including
    those the proxy leaves out, at no cost to training (training envs use the proxy alone).
    """

    def __init__(self, fn: RewardFunction, env: suite.SuiteEnv) -> None:
        super().__init__(fn.spec, env)
        self.fn = fn
        self.uses_env_reward = fn.uses_env_reward
        self.training = False
        self._factors = [(name, env.factor(name).fn) for name in env.factor_names]

    @property
    def term_names(self) -> tuple[str, ...]:
        return (*self.fn.term_names, *(_FACTOR + name for name, _ in self._factors))

    def compute(
        self, obs: np.ndarray, action: np.ndarray, next_obs: np.ndarray, done: np.ndarray, env_reward: Any = None
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        reward, terms = self.fn.compute(obs, action, next_obs, done, env_reward)
        done = np.asarray(done, dtype=bool)
        return reward, {**terms, **{_FACTOR + name: fn(obs, action, next_obs, done) for name, fn in self._factors}}


def _run(model: BaseAlgorithm, venv: VecEnv, n_episodes: int, deterministic: bool) -> list[dict[str, Any]]:
    n = venv.num_envs
    # Each sub-env runs a fixed share of the episodes, so short episodes do not crowd out long
    # ones (the bias SB3's evaluate_policy avoids the same way).
    targets = np.array([(n_episodes + i) // n for i in range(n)])
    counts = np.zeros(n, dtype=int)
    episodes: list[dict[str, Any]] = []
    for step in rollout(venv, AgentPolicy(model, deterministic=deterministic)):
        for i in np.flatnonzero(step.ended):
            if counts[i] < targets[i]:
                episodes.append(step.infos[i]["rewardlab"]["episode"])
                counts[i] += 1
        if not (counts < targets).any():
            break
    return episodes
