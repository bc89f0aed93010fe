"""Hopper's x position reaches the reward but not the agent.

The suite builds Hopper with the torso x in the observation (``hidden_obs = (0,)``) so that
``forward_reward`` can be computed; ``make_vec_env`` must hand the agent the standard 11-dim
observation, including in ``terminal_observation``, while the reward still sees x.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.vec_env import VecEnv

import rewardlab as rl
from rewardlab import suite

TOL = {"rtol": 1e-6, "atol": 1e-6}
WRAPPERS = ["vector", "single"]
N_ENVS = 2
STEPS = 150


@pytest.fixture(autouse=True)
def _cwd_in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # MuJoCo writes MUJOCO_LOG.TXT into the working directory on model warnings: keep it out of the repo.
    monkeypatch.chdir(tmp_path)


def _play(venv: VecEnv, rng: np.random.Generator) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, list[dict]]]:
    """Yield every step's (obs, rewards, dones, infos) under seeded random actions."""
    space = venv.action_space
    for _ in range(STEPS):
        actions = rng.uniform(space.low, space.high, size=(N_ENVS, *space.shape)).astype(space.dtype)
        yield venv.step(actions)


@pytest.mark.parametrize("wrapper", WRAPPERS, ids=WRAPPERS)
def test_agent_gets_standard_observation_and_terminal_observation(wrapper: str) -> None:
    standard = gym.make("Hopper-v5")
    standard_shape = standard.observation_space.shape
    standard.close()
    assert standard_shape == (11,)
    raw = suite.get("hopper").make()
    assert raw.observation_space.shape == (12,)  # what the reward sees
    raw.close()
    venv = rl.make_vec_env("hopper", n_envs=N_ENVS, seed=3, wrapper=wrapper)
    assert venv.observation_space.shape == standard_shape
    assert venv.reset().shape == (N_ENVS, *standard_shape)
    finals = 0
    for obs, _, dones, infos in _play(venv, np.random.default_rng(0)):
        assert obs.shape == (N_ENVS, *standard_shape)
        for i in np.flatnonzero(dones):
            assert infos[i]["terminal_observation"].shape == standard_shape
            finals += 1
    venv.close()
    assert finals >= N_ENVS


def test_hidden_dims_are_the_ones_dropped_for_the_agent() -> None:
    # Same seed, same actions: the agent's observation is the raw one without x (dim 0).
    rng = np.random.default_rng(5)
    venv = rl.make_vec_env("hopper", n_envs=1, seed=11)
    raw = suite.get("hopper").make()
    raw.reset(seed=11)
    np.testing.assert_array_equal(venv.reset()[0], raw.reset()[0][1:])
    for _ in range(40):
        action = rng.uniform(-1.0, 1.0, size=(1, 3)).astype(np.float32)
        obs, _, dones, infos = venv.step(action)
        raw_obs, *_ = raw.step(action[0])
        if dones[0]:
            np.testing.assert_array_equal(infos[0]["terminal_observation"], raw_obs[1:])
            raw_obs, _ = raw.reset()
        np.testing.assert_array_equal(obs[0], raw_obs[1:])
    venv.close()
    raw.close()


@pytest.mark.parametrize("wrapper", WRAPPERS, ids=WRAPPERS)
def test_rewards_still_see_hidden_x_position(wrapper: str) -> None:
    hopper = suite.get("hopper")
    specs = {"env": rl.rewards.Env(), "ground_truth_terms": rl.rewards.Terms(dict(hopper.ground_truth))}
    for label, spec in specs.items():
        venv = rl.make_vec_env("hopper", spec, n_envs=N_ENVS, seed=3, wrapper=wrapper)
        venv.reset()
        forward = []
        ends = 0
        for _, rewards, _, infos in _play(venv, np.random.default_rng(0)):
            env_reward = np.array([info["rewardlab"]["env_reward"] for info in infos])
            np.testing.assert_allclose(rewards, env_reward, **TOL, err_msg=label)
            for info in infos:
                terms = info["rewardlab"]["terms"]
                assert set(terms) == set(hopper.ground_truth), label
                np.testing.assert_allclose(sum(terms.values()), info["rewardlab"]["env_reward"], **TOL, err_msg=label)
                forward.append(terms["forward_reward"])
                if "episode" in info["rewardlab"]:
                    ep = info["rewardlab"]["episode"]
                    np.testing.assert_allclose(ep["proxy_return"], ep["env_return"], **TOL, err_msg=label)
                    ends += 1
        venv.close()
        assert ends >= N_ENVS, label
        # x really moved: a forward reward computed without x (e.g. from a shifted dim) would not match
        # the env reward above, and one stuck at 0 would make this fail.
        assert np.std(forward) > 0.1, label
