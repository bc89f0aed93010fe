"""Policies for rollouts and loading a saved agent: the algorithm is read, never guessed."""

from __future__ import annotations

import json

import numpy as np
import pytest
from stable_baselines3 import A2C, DQN, PPO, SAC, TD3

import rewardlab as rl
from rewardlab.data import AgentPolicy, load_agent
from rewardlab.errors import ConfigError, UntrustedFileError


@pytest.mark.parametrize(
    ("cls", "env"),
    [(PPO, "CartPole-v1"), (A2C, "CartPole-v1"), (DQN, "CartPole-v1"), (SAC, "Pendulum-v1"), (TD3, "Pendulum-v1")],
    ids=["ppo", "a2c", "dqn", "sac", "td3"],
)
def test_a_bare_sb3_zip_loads_as_its_own_algorithm(tmp_path, cls, env):
    kwargs = {"learning_starts": 10} if cls in (DQN, SAC, TD3) else {}
    cls("MlpPolicy", env, policy_kwargs={"net_arch": [4]}, **kwargs).save(tmp_path / "agent.zip")
    with pytest.raises(UntrustedFileError, match="--trust-pickle"):  # only unpickling its header reads it
        load_agent(tmp_path / "agent.zip")
    model, norm = load_agent(tmp_path / "agent.zip", trust=True)
    assert type(model) is cls and norm is None


def test_the_run_config_beside_the_zip_rebuilds_the_agent_from_tensors(tmp_path):
    original = PPO("MlpPolicy", "CartPole-v1", policy_kwargs={"net_arch": [4]}, seed=0)
    original.save(tmp_path / "agent.zip")
    preset = {"algo": "ppo", "policy": "MlpPolicy", "kwargs": {"policy_kwargs": {"net_arch": [4]}}}
    (tmp_path / "config.json").write_text(json.dumps({"env": "cartpole", "agent_preset": preset}))
    model, norm = load_agent(tmp_path / "agent.zip")
    assert type(model) is PPO and norm is None
    obs = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
    expected = original.predict(obs, deterministic=True)[0]
    np.testing.assert_array_equal(model.predict(obs, deterministic=True)[0], expected)


def test_a_file_that_is_not_an_sb3_zip_is_a_clear_error(tmp_path):
    (tmp_path / "agent.zip").write_bytes(b"not a zip")
    with pytest.raises(ConfigError, match=r"`policy` must be a model\.zip saved by Stable-Baselines3"):
        load_agent(tmp_path / "agent.zip", trust=True)
    with pytest.raises(ConfigError, match=r"`policy` must be 'random', an SB3 model"):
        load_agent(tmp_path / "missing.zip")


def test_the_agent_policy_drops_the_dims_hidden_from_the_agent():
    suite_env = rl.suite.get("halfcheetah")
    venv = rl.make_vec_env(suite_env, n_envs=1, seed=0)
    model = SAC("MlpPolicy", venv, learning_starts=10, policy_kwargs={"net_arch": [4]}, seed=0)
    policy = AgentPolicy(model, deterministic=True, hidden_obs=suite_env.hidden_obs)
    raw_obs = np.zeros((1, venv.observation_space.shape[0] + len(suite_env.hidden_obs)))
    actions = policy(raw_obs, np.ones(1, dtype=bool))
    expected, _ = model.predict(np.zeros((1, venv.observation_space.shape[0])), deterministic=True)
    np.testing.assert_array_equal(actions, expected)
