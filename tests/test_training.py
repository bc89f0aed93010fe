"""``rewardlab train``: run directory, metrics, reproducibility, failures that keep what was written."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

import rewardlab as rl
from rewardlab.errors import ConfigError, NonFiniteRewardError, SpecError, UnknownNameError
from rewardlab.runs import read_jsonl

TINY = {"n_steps": 32, "batch_size": 32, "n_epochs": 1, "policy_kwargs": {"net_arch": [16]}}


def _config(tmp_path, **kw):
    base = dict(
        env="cartpole",
        agent="ppo",
        timesteps=256,
        n_envs=2,
        eval_freq=128,
        eval_episodes=2,
        hyperparams=dict(TINY),
        runs_dir=str(tmp_path),
        progress_bar=False,
    )
    base.update(kw)
    return rl.TrainConfig(**base)


def test_train_writes_run_directory_with_both_returns(tmp_path):
    result = rl.train(_config(tmp_path, reward="env", run_name="r"))
    run = tmp_path / "train" / "r"
    assert result.run_dir == run
    for name in ("config.json", "reward.toml", "status.json", "metrics.jsonl", "agent.zip"):
        assert (run / name).is_file(), name
    assert any((run / "tb").rglob("events.out.tfevents.*"))
    assert json.loads((run / "status.json").read_text())["status"] == "done"
    rows = read_jsonl(run / "metrics.jsonl")
    assert [r["timesteps"] for r in rows] == [128, 256]
    for row in rows:
        assert row["eval_env_return"] == row["eval_proxy_return"]  # env reward: proxy is the truth
        assert set(row["eval_terms"]) == {"alive"}
    config = json.loads((run / "config.json").read_text())
    assert config["reward"] == {"kind": "env"}
    assert config["agent_preset"]["kwargs"]["n_steps"] == 32
    assert rl.rewards.load(run / "reward.toml") == rl.rewards.Env()


def test_proxy_and_env_returns_differ_for_a_swapped_reward(tmp_path):
    spec = rl.rewards.Terms({"alive": 1.0, "pole_angle": -10.0})
    result = rl.train(_config(tmp_path, reward=spec))
    assert result.final.proxy_return < result.final.env_return
    assert set(result.metrics[-1]["train_term_means"]) == {"alive", "pole_angle"}


def test_every_training_episode_is_in_the_row_of_the_next_evaluation(tmp_path):
    spec = rl.rewards.Terms({"alive": 1.0, "pole_angle": -10.0})
    rows = rl.train(_config(tmp_path, reward=spec, timesteps=1024, eval_freq=256)).metrics
    episodes = [e for r in rows for e in r["train_episodes"]]  # [timestep, true return, proxy return]
    assert len(episodes) > 10
    for before, row in zip([0] + [r["timesteps"] for r in rows], rows, strict=False):
        assert all(before < e[0] <= row["timesteps"] for e in row["train_episodes"])
    # CartPole's true return is the episode length (+1 a step); the proxy pays less for a tilted pole
    assert all(float(e[1]).is_integer() and e[2] < e[1] for e in episodes)
    # the row's mean over (up to) the last 100 training episodes is over these same episodes
    last = [e[1] for e in episodes][-100:]
    assert rows[-1]["train_env_return"] == pytest.approx(np.mean(last), abs=1e-3)


def test_same_seed_reproduces_the_run(tmp_path):
    a = rl.train(_config(tmp_path, seed=3, run_name="a")).metrics
    b = rl.train(_config(tmp_path, seed=3, run_name="b")).metrics
    strip = lambda rows: [{k: v for k, v in r.items() if k not in ("time_s", "monitor_s")} for r in rows]  # timings
    assert strip(a) == strip(b)


def test_nonfinite_reward_stops_the_run_and_keeps_what_was_written(tmp_path, monkeypatch):
    module = tmp_path / "nan_reward_mod.py"
    module.write_text(
        "import numpy as np\n"
        "calls = {'n': 0}\n"
        "def reward(obs, action, next_obs, done):\n"
        "    calls['n'] += 1\n"
        "    r = np.ones(len(obs))\n"
        "    return r * np.nan if calls['n'] > 200 else r\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("nan_reward_mod", None)
    config = _config(tmp_path, reward=rl.rewards.Code("nan_reward_mod:reward"), eval_freq=64, run_name="nan")
    with pytest.raises(NonFiniteRewardError, match=r"`reward` must be finite \(got nan at step"):
        rl.train(config)
    run = tmp_path / "train" / "nan"
    status = json.loads((run / "status.json").read_text())
    assert status["status"] == "failed" and "must be finite" in status["error"]
    assert (run / "config.json").is_file()
    assert read_jsonl(run / "metrics.jsonl")  # evaluations before the NaN are kept


@pytest.mark.parametrize(
    ("kw", "error", "match"),
    [
        ({"env": "cartpol"}, UnknownNameError, r"Did you mean 'cartpole'"),
        ({"agent": "ppoo"}, UnknownNameError, r"Did you mean 'ppo'"),
        (
            {"reward": {"kind": "terms", "weights": {"pole_angel": -1.0}}},
            UnknownNameError,
            r"Did you mean 'pole_angle'",
        ),
        ({"reward": "missing_reward.toml"}, SpecError, r"readable TOML file"),
        ({"timesteps": 0}, ConfigError, r"`timesteps` must be a positive integer or None"),
        ({"seed": -1}, ConfigError, r"`seed` must be a non-negative integer"),
        ({"hyperparams": [1]}, ConfigError, r"`hyperparams` must be a dict"),
        ({"env": "pendulum", "agent": "dqn"}, ConfigError, r"`agent` must be an algorithm for continuous actions"),
    ],
    ids=["env", "agent", "factor", "file", "timesteps", "seed", "hyperparams", "dqn-on-box"],
)
def test_bad_config_fails_before_training(tmp_path, kw, error, match):
    with pytest.raises(error, match=match):
        rl.train(_config(tmp_path, **kw))  # construction or the check train() runs first
    assert not any(tmp_path.iterdir())


def test_code_reward_with_wrong_shape_fails_before_training(tmp_path, monkeypatch):
    (tmp_path / "shape_mod.py").write_text(
        "import numpy as np\ndef reward(o, a, n, d):\n    return np.ones((len(o), 2))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(SpecError, match=r"must be an array of shape \(8,\).*got 'shape \(8, 2\)'"):
        rl.train(_config(tmp_path, reward=rl.rewards.Code("shape_mod:reward")))
    assert not (tmp_path / "train").exists()


def test_evaluate_reports_proxy_and_env_returns():
    venv = rl.make_vec_env("pendulum", rl.rewards.Terms({"angle_cost": -1.0}), n_envs=2, seed=0)
    model = rl.agents.make("sac", venv, seed=0, policy_kwargs={"net_arch": [8]})
    result = rl.evaluate(model, n_episodes=3)
    assert result.n_episodes == 3 and result.length == 200
    assert result.proxy_return > result.env_return  # the proxy drops two of three costs
    np.testing.assert_allclose(result.proxy_return, np.mean([e["terms"]["angle_cost"] for e in result.episodes]))


@pytest.mark.parametrize("normalize", [{"reward": True}, {"obs": True}, True])
def test_training_with_vecnormalize_evaluates(tmp_path, normalize):
    # reward-only normalisation keeps no observation statistics: evaluation must not look for them
    result = rl.train(_config(tmp_path, hyperparams={**TINY, "normalize": normalize}))
    assert result.final.length > 0 and np.isfinite(result.final.env_return)


def test_constructing_a_config_builds_no_env_and_trains_no_reward_model(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(rl.suite.SuiteEnv, "make", lambda self, **kw: calls.append(self.name))
    spec = {"kind": "learned", "preferences": {"n_pairs": 10, "n_segments": 8}}
    config = _config(tmp_path, env="pendulum", agent="sac", reward=spec)
    assert calls == []  # no env built, so nothing could be trained either
    assert config.reward_spec.trains_when_built
