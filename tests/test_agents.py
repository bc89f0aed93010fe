"""Agent presets: loading, overriding, resolving schedules, and clear errors."""

from __future__ import annotations

import pytest

import rewardlab as rl
from rewardlab.errors import ConfigError, UnknownNameError


def test_preset_merges_default_env_table_and_overrides():
    p = rl.agents.preset("ppo", "cartpole", {"n_epochs": 3})
    assert (p.n_envs, p.n_timesteps) == (8, 100_000)
    assert p.kwargs["gamma"] == 0.98  # the zoo's CartPole value, not SB3's default 0.99
    assert p.kwargs["n_epochs"] == 3
    assert p.kwargs["vf_coef"] == 0.5  # from [default]


def test_env_without_table_gets_default_preset():
    assert rl.agents.preset("sac", "cartpole").env == "default"


def test_normalize_table_is_parsed():
    p = rl.agents.preset("ppo", "acrobot")
    assert p.normalize_obs and p.normalize_reward


@pytest.mark.parametrize(("algo", "env"), [("ppo", "cartpole"), ("sac", "pendulum"), ("dqn", "acrobot")], ids=str)
def test_make_builds_a_model_that_learns_a_few_steps(algo, env):
    venv = rl.make_vec_env(env, n_envs=2, seed=0)
    model = (
        rl.agents.make(algo, venv, seed=0, learning_starts=0, policy_kwargs={"net_arch": [16]})
        if algo != "ppo"
        else (rl.agents.make(algo, venv, seed=0, n_steps=32, batch_size=32, policy_kwargs={"net_arch": [16]}))
    )
    model.learn(64)
    assert model.num_timesteps >= 64


def test_linear_schedule_strings_become_callables():
    venv = rl.make_vec_env("cartpole", n_envs=2, seed=0)
    model = rl.agents.make("ppo", venv, n_steps=16, batch_size=32)
    assert model.learning_rate(1.0) == pytest.approx(1e-3)
    assert model.learning_rate(0.5) == pytest.approx(5e-4)


def test_preset_normalisation_wraps_env_in_vecnormalize():
    from stable_baselines3.common.vec_env import VecNormalize

    venv = rl.make_vec_env("acrobot", n_envs=2, seed=0)
    model = rl.agents.make("ppo", venv, n_steps=16, batch_size=32)
    assert isinstance(model.get_env(), VecNormalize)


def test_unknown_agent_suggests_closest():
    with pytest.raises(
        UnknownNameError, match=r"`agent` must be an SB3 algorithm name \(got 'sacc'\). Did you mean 'sac'"
    ):
        rl.agents.preset("sacc", "pendulum")


@pytest.mark.parametrize(("algo", "env", "fix"), [("dqn", "pendulum", "sac"), ("sac", "cartpole", "dqn")], ids=str)
def test_algorithm_incompatible_with_action_space_is_rejected(algo, env, fix):
    venv = rl.make_vec_env(env, n_envs=1, seed=0)
    with pytest.raises(ConfigError, match=fix):
        rl.agents.make(algo, venv)


def test_shaped_reward_with_other_gamma_warns():
    spec = rl.rewards.Shaped(rl.rewards.Env(), potential="upright", gamma=0.5)
    venv = rl.make_vec_env("pendulum", spec, n_envs=1, seed=0)
    with pytest.warns(UserWarning, match="differs from the agent's"):
        rl.agents.make("sac", venv)


def test_unknown_env_suggests_closest():
    with pytest.raises(
        UnknownNameError,
        match=r"`env` must be a suite env name or a registered Gymnasium id \(got 'pendulm'\). Did you mean 'pendulum'",
    ):
        rl.make_vec_env("pendulm")


def test_bad_n_envs_is_rejected():
    with pytest.raises(ConfigError, match=r"`n_envs` must be a positive integer \(got 0\)"):
        rl.make_vec_env("pendulum", n_envs=0)


def test_unknown_hyperparameter_suggests_the_closest_before_training(tmp_path):
    with pytest.raises(
        UnknownNameError, match=r"`hyperparameter` must be a keyword argument of SB3 PPO \(got 'learnin_rate'\)"
    ):
        rl.train(rl.TrainConfig(env="cartpole", hyperparams={"learnin_rate": 0.1}, runs_dir=str(tmp_path)))
    assert not any(tmp_path.iterdir())
