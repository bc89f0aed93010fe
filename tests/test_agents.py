"""Agent presets: loading, overriding, resolving schedules, and clear errors."""

from __future__ import annotations

import json

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


# --- hyperparameter values ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("algo", "key", "value", "expect"),
    [
        ("sac", "gamma", 2.0, r"`hyperparams.gamma` must be a number in \(0, 1\] \(got 2.0\)"),
        ("ppo", "learning_rate", "abc", r"`hyperparams.learning_rate` must be a number > 0 .* \(got 'abc'\)"),
        ("ppo", "n_steps", 0, r"`hyperparams.n_steps` must be a positive integer \(got 0\)"),
        ("ppo", "batch_size", 1, r"`hyperparams.batch_size` must be an integer >= 2 with normalize_advantage"),
        ("sac", "batch_size", -1, r"`hyperparams.batch_size` must be a positive integer \(got -1\)"),
        ("dqn", "buffer_size", 0, r"`hyperparams.buffer_size` must be a positive integer \(got 0\)"),
        ("ppo", "gae_lambda", 1.5, r"`hyperparams.gae_lambda` must be a number in \[0, 1\] \(got 1.5\)"),
        ("ppo", "ent_coef", -0.1, r"`hyperparams.ent_coef` must be a finite number >= 0 \(got -0.1\)"),
        ("sac", "ent_coef", "auto_0", r"`hyperparams.ent_coef` must be 'auto', 'auto_<initial value > 0>'"),
        ("sac", "tau", 0, r"`hyperparams.tau` must be a number in \(0, 1\] \(got 0\)"),
        ("dqn", "train_freq", [4, "epoch"], r"`hyperparams.train_freq` must be a positive integer or \[n, "),
        ("sac", "gradient_steps", 0, r"`hyperparams.gradient_steps` must be a positive integer, or -1"),
        ("ppo", "clip_range", 0, r"`hyperparams.clip_range` must be a number > 0"),
        ("dqn", "max_grad_norm", 0, r"`hyperparams.max_grad_norm` must be a finite number > 0"),
        ("ppo", "policy_kwargs", {"net_arch": [64, 0]}, r"`hyperparams.policy_kwargs.net_arch` must be a list"),
        ("ppo", "gamma", None, r"`hyperparams.gamma` must be a value \(None takes SB3's default"),
    ],
    ids=lambda v: v if isinstance(v, str) and not v.startswith(("`", "(")) else None,
)
def test_bad_hyperparameter_values_are_refused_with_their_path(algo, key, value, expect):
    env = "pendulum" if algo == "sac" else "cartpole"
    with pytest.raises(ConfigError, match=expect):
        rl.agents.preset(algo, env, {key: value})


def test_the_path_follows_where_the_value_came_from(tmp_path):
    with pytest.raises(ConfigError, match=r"^`gamma` must be"):
        rl.agents.preset("sac", "pendulum", {"gamma": 2.0}, where="")
    with pytest.raises(ConfigError, match=r"^`agents.sac.gamma` must be"):
        rl.agents.check_hyperparams("sac", {"gamma": 2.0}, where="agents.sac")
    file = tmp_path / "sac.toml"
    file.write_text("[default]\nlearning_starts = 0\n[pendulum]\ntau = 0\n")
    with pytest.raises(ConfigError, match=r"^`pendulum.tau` must be a number in \(0, 1\] \(got 0\)\..*sac.toml"):
        rl.agents.preset("sac", "pendulum", file=file)


@pytest.mark.parametrize(
    ("algo", "values"),
    [
        ("ppo", {"learning_rate": "lin_7.3e-4", "clip_range": "lin_0.2", "batch_size": 2, "target_kl": 0.01}),
        ("ppo", {"learning_rate": lambda progress: 1e-3 * progress, "gamma": 1, "gae_lambda": 0}),
        ("sac", {"ent_coef": "auto_0.1", "train_freq": [1, "episode"], "gradient_steps": -1, "learning_starts": 0}),
        ("sac", {"ent_coef": 0.0, "target_entropy": -2.0, "tau": 1.0, "policy_kwargs": {"net_arch": {"pi": [8]}}}),
        ("dqn", {"train_freq": (4, "step"), "exploration_fraction": 1.0, "policy_kwargs": {"activation_fn": "tanh"}}),
    ],
    ids=["ppo-schedules", "ppo-callable", "sac-auto", "sac-fixed", "dqn"],
)
def test_the_forms_sb3_and_the_presets_accept_pass(algo, values):
    rl.agents.check_hyperparams(algo, values)


@pytest.mark.parametrize("algo", sorted(rl.agents.ALGORITHMS))
def test_every_shipped_preset_table_passes_the_value_checks(algo):
    from rewardlab import suite

    for env in suite.names():
        rl.agents.preset(algo, env)  # raises on a value out of its range


def test_a_bad_value_fails_before_any_run_folder_is_written(tmp_path):
    with pytest.raises(ConfigError, match=r"`hyperparams.gamma` must be a number in \(0, 1\] \(got 2.0\)"):
        rl.train(rl.TrainConfig(env="pendulum", agent="sac", hyperparams={"gamma": 2.0}, runs_dir=str(tmp_path)))
    assert not any(tmp_path.iterdir())


def test_keywords_rewardlab_passes_itself_are_refused():
    p = rl.agents.preset("ppo", "cartpole", {"seed": 3})
    with pytest.raises(
        ConfigError, match=r"`hyperparameter` must be a keyword rewardlab does not set itself \(got 'seed'\)"
    ):
        rl.agents.check(p, rl.suite.get("cartpole").make().action_space)


def test_every_algorithm_the_cli_offers_has_a_preset_file():
    # `train --agent` / `rlhf --agent` accept the names of ALGORITHMS; each must ship agents/<name>.toml.
    assert rl.agents.algorithms() == sorted(rl.agents.ALGORITHMS) == ["a2c", "ddpg", "dqn", "ppo", "sac", "td3"]


@pytest.mark.parametrize(
    ("algo", "env", "expected"),
    [
        # the zoo's values (hyperparams/<algo>.yml), where they differ from SB3's defaults
        ("a2c", "pendulum", {"gamma": 0.9, "n_steps": 8, "learning_rate": "lin_7e-4", "use_sde": True}),
        ("a2c", "cartpole", {"n_steps": 5, "learning_rate": 7e-4}),
        ("td3", "pendulum", {"gamma": 0.98, "learning_starts": 10_000, "noise_std": 0.1, "policy_delay": 2}),
        ("ddpg", "mountaincar_continuous", {"noise_type": "ornstein-uhlenbeck", "noise_std": 0.5, "batch_size": 256}),
    ],
    ids=str,
)
def test_the_new_presets_hold_the_zoo_values(algo, env, expected):
    p = rl.agents.preset(algo, env)
    assert p.env == env and {k: p.kwargs[k] for k in expected} == expected
    if algo == "a2c" and env == "pendulum":
        assert (p.n_envs, p.n_timesteps, p.normalize_obs, p.normalize_reward) == (8, 1_000_000, True, True)
    with pytest.raises(ConfigError, match=r"`hyperparams.tau` must be a number in \(0, 1\] \(got 2\)"):
        rl.agents.preset("td3", "pendulum", {"tau": 2})


# (algo, env): every algorithm the CLI offers, on a suite env where it applies
OFFERED = [("ppo", "cartpole"), ("a2c", "cartpole"), ("dqn", "cartpole"), ("sac", "pendulum"), ("td3", "pendulum"),
           ("ddpg", "pendulum"), ("a2c", "pendulum")]  # fmt: skip


@pytest.mark.parametrize(("algo", "env"), OFFERED, ids=str)
def test_each_offered_agent_builds_from_its_preset_and_runs_a_few_hundred_steps(algo, env):
    from stable_baselines3.common.noise import NormalActionNoise

    p = rl.agents.preset(algo, env)
    venv = rl.make_vec_env(env, n_envs=min(p.n_envs, 2), seed=0)
    # The preset as shipped, but updates start early and the nets are small, so 300 steps train.
    small = {"policy_kwargs": {"net_arch": [32]}}
    if algo in rl.agents.OFF_POLICY:
        small |= {"learning_starts": 50, "batch_size": 32}
    if algo == "ppo":
        small |= {"n_steps": 64, "batch_size": 32}
    model = rl.agents.make(algo, venv, seed=0, **small)
    assert type(model) is rl.agents.ALGORITHMS[algo]
    assert model.gamma == p.kwargs.get("gamma", 0.99)
    model.learn(300)
    assert model.num_timesteps >= 300
    if algo in ("td3", "ddpg"):
        assert isinstance(model.action_noise, NormalActionNoise)  # the zoo's noise_type = "normal", std 0.1
        assert model.action_noise._sigma.tolist() == [0.1]
        assert model._n_updates > 0  # trained, not just collected


def test_ddpg_trains_from_the_command_line(tmp_path, capsys):
    from rewardlab.cli import main

    argv = ["train", "--env", "pendulum", "--agent", "ddpg", "--timesteps", "200", "--set", "learning_starts=100"]
    assert main([*argv, "--eval-episodes", "1", "--no-progress", "--runs-dir", str(tmp_path)]) == 0
    (run,) = (tmp_path / "train").iterdir()
    config = json.loads((run / "config.json").read_text())
    assert config["agent_preset"]["algo"] == "ddpg" and config["agent_preset"]["kwargs"]["noise_type"] == "normal"


def test_exploration_noise_keys_are_checked():
    venv = rl.make_vec_env("mountaincar_continuous", n_envs=1, seed=0)
    model = rl.agents.make("ddpg", venv, seed=0)
    from stable_baselines3.common.noise import OrnsteinUhlenbeckActionNoise

    assert isinstance(model.action_noise, OrnsteinUhlenbeckActionNoise) and model.action_noise._sigma.tolist() == [0.5]
    with pytest.raises(UnknownNameError, match=r"`hyperparams.noise_type` must be an action-noise type"):
        rl.agents.preset("td3", "pendulum", {"noise_type": "gaussian"})
    cartpole = rl.suite.get("cartpole").make().action_space
    with pytest.raises(ConfigError, match=r"`noise_type` must be left out for ppo"):
        rl.agents.check(rl.agents.preset("ppo", "cartpole", {"noise_type": "normal", "noise_std": 0.1}), cartpole)
    box = rl.suite.get("pendulum").make().action_space
    with pytest.raises(ConfigError, match=r"`noise_type` must be set with noise_std"):
        rl.agents.check(rl.agents.preset("sac", "pendulum", {"noise_std": 0.1}), box)
    with pytest.raises(ConfigError, match=r"`agent` must be an algorithm for discrete actions \(got 'ddpg'\)"):
        rl.agents.make("ddpg", rl.make_vec_env("cartpole", n_envs=1, seed=0))


def test_a_rollout_of_one_step_is_refused_before_sb3_asserts():
    venv = rl.make_vec_env("cartpole", n_envs=1, seed=0)
    with pytest.raises(ConfigError, match=r"`n_steps` must be at least 2 steps per rollout with 1 env"):
        rl.agents.make("ppo", venv, n_steps=1, batch_size=2)


def test_to_dict_is_what_config_json_has_always_saved():
    p = rl.agents.preset("ppo", "acrobot", {"n_epochs": 3})
    assert p.to_dict() == {
        "algo": "ppo",
        "env": "acrobot",
        "policy": "MlpPolicy",
        "n_envs": 16,
        "n_timesteps": 1_000_000,
        "normalize": {"obs": True, "reward": True},
        "kwargs": p.kwargs,
    }
    assert list(p.to_dict()) == ["algo", "env", "policy", "n_envs", "n_timesteps", "normalize", "kwargs"]
    assert p.kwargs["n_epochs"] == 3 and p.normalize_obs and p.normalize_reward
