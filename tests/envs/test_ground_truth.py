"""The ground truth of every suite env, written through its factors, equals the env's own reward.

Each env is rolled out with a seeded random policy in the raw env (``SuiteEnv.make``, hidden
observation dims included) across several episode ends; the weighted sum of factors is then
computed in one batched call over every recorded transition and compared with the rewards the
env returned. Goals that a random policy almost never reaches (MountainCarContinuous's flag,
Acrobot's bar) are added as scripted transitions so that the terminal reward is covered too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import rewardlab as rl
from rewardlab import suite

# Steps of random play and extra `gymnasium.make` kwargs per env. Short time limits on envs that
# never terminate under a random policy give several (truncated) episode ends within the budget.
ROLLOUT: dict[str, tuple[int, dict[str, Any]]] = {
    "cartpole": (600, {}),
    "cartpole_fixed": (600, {"max_episode_steps": 150}),
    "acrobot": (600, {"max_episode_steps": 150}),
    "pendulum": (600, {}),  # 200-step time limit: 3 episodes
    "mountaincar_continuous": (600, {"max_episode_steps": 150}),
    "halfcheetah": (300, {"max_episode_steps": 100}),
    "hopper": (300, {}),  # a random Hopper falls within a few dozen steps
}
DEFAULT_ROLLOUT: tuple[int, dict[str, Any]] = (600, {})

# Envs whose batch must contain at least one terminating transition (from play or a script).
TERMINATING = {"cartpole", "acrobot", "mountaincar_continuous", "hopper"}


@dataclass
class Transitions:
    obs: np.ndarray
    action: np.ndarray
    next_obs: np.ndarray
    terminated: np.ndarray
    reward: np.ndarray
    episode_ends: int


def random_action(space: gym.Space, rng: np.random.Generator) -> Any:
    if isinstance(space, gym.spaces.Discrete):
        return int(space.start + rng.integers(space.n))
    if isinstance(space, gym.spaces.Box):
        return rng.uniform(space.low, space.high).astype(space.dtype)
    raise NotImplementedError(f"no random policy for {space}")


def _mountaincar_reaches_flag(env: gym.Env) -> tuple[np.ndarray, Any]:
    env.reset(seed=1)
    env.unwrapped.state = np.array([0.44, 0.06])
    return np.array([0.44, 0.06], dtype=np.float32), np.array([0.8], dtype=np.float32)


def _acrobot_tip_above_bar(env: gym.Env) -> tuple[np.ndarray, Any]:
    env.reset(seed=1)
    env.unwrapped.state = np.array([np.pi, 0.0, 0.0, 0.0])  # both links straight up: tip height 2
    obs = np.array([np.cos(np.pi), np.sin(np.pi), 1.0, 0.0, 0.0, 0.0], dtype=np.float32)
    return obs, 1  # zero torque


# Scripted transitions that terminate: (obs the env is put in, action) after setting its state.
SCRIPTED_GOALS: dict[str, Callable[[gym.Env], tuple[np.ndarray, Any]]] = {
    "mountaincar_continuous": _mountaincar_reaches_flag,
    "acrobot": _acrobot_tip_above_bar,
}


def collect(name: str, seed: int) -> Transitions:
    """Random play in the raw env; ``next_obs`` is the true next observation, before any reset."""
    rng = np.random.default_rng(seed)
    steps, make_kwargs = ROLLOUT.get(name, DEFAULT_ROLLOUT)
    env = suite.get(name).make(**make_kwargs)
    rows: list[tuple[np.ndarray, Any, np.ndarray, bool, float]] = []
    episode_ends = 0
    obs, _ = env.reset(seed=seed)
    for _ in range(steps):
        action = random_action(env.action_space, rng)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        rows.append((obs, action, next_obs, terminated, float(reward)))
        if terminated or truncated:
            episode_ends += 1
            obs, _ = env.reset()
        else:
            obs = next_obs
    if name in SCRIPTED_GOALS:
        obs, action = SCRIPTED_GOALS[name](env)
        next_obs, reward, terminated, _, _ = env.step(action)
        assert terminated, f"the scripted {name} transition must reach the goal"
        rows.append((obs, action, next_obs, terminated, float(reward)))
    env.close()
    obs_b, act_b, next_b, term_b, rew_b = zip(*rows, strict=True)
    return Transitions(
        obs=np.stack(obs_b),
        action=np.stack([np.asarray(a) for a in act_b]),
        next_obs=np.stack(next_b),
        terminated=np.array(term_b, dtype=bool),
        reward=np.array(rew_b, dtype=np.float64),
        episode_ends=episode_ends,
    )


@pytest.fixture(scope="module", params=suite.names(), ids=str)
def played(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[suite.SuiteEnv, Transitions]:
    name = request.param
    # MuJoCo writes MUJOCO_LOG.TXT into the working directory on model warnings: keep it out of the repo.
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp_path_factory.mktemp("cwd"))
        return suite.get(name), collect(name, seed=sum(map(ord, name)))


def test_rollout_covers_episode_ends_and_terminations(played: tuple[suite.SuiteEnv, Transitions]) -> None:
    env, t = played
    assert t.episode_ends >= 2
    if env.name in TERMINATING:
        assert t.terminated.any()


def test_ground_truth_names_existing_factors(played: tuple[suite.SuiteEnv, Transitions]) -> None:
    env, _ = played
    assert env.ground_truth, f"{env.name} declares no ground truth"
    for name in env.ground_truth:
        assert name in env.factor_names
        assert env.factor(name).name == name


def test_every_factor_returns_finite_float64_per_transition(played: tuple[suite.SuiteEnv, Transitions]) -> None:
    env, t = played
    for factor in env.factors:
        values = factor.fn(t.obs, t.action, t.next_obs, t.terminated)
        assert isinstance(values, np.ndarray), factor.name
        assert values.shape == (len(t.reward),), factor.name
        assert values.dtype == np.float64, factor.name
        assert np.all(np.isfinite(values)), factor.name


def test_weighted_factors_equal_the_env_reward(played: tuple[suite.SuiteEnv, Transitions]) -> None:
    env, t = played
    rebuilt = sum(
        w * env.factor(name).fn(t.obs, t.action, t.next_obs, t.terminated) for name, w in env.ground_truth.items()
    )
    np.testing.assert_allclose(rebuilt, t.reward, rtol=1e-5, atol=1e-5)


def test_env_reward_function_rebuilds_the_env_reward_without_env_reward(
    played: tuple[suite.SuiteEnv, Transitions],
) -> None:
    env, t = played
    fn = rl.rewards.Env().build(env.name)
    np.testing.assert_allclose(fn(t.obs, t.action, t.next_obs, t.terminated), t.reward, rtol=1e-5, atol=1e-5)
    reward, terms = fn.compute(t.obs, t.action, t.next_obs, t.terminated)
    assert set(terms) == set(env.ground_truth)
    np.testing.assert_allclose(reward, sum(terms.values()), rtol=0, atol=1e-12)
