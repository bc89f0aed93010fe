"""HERON's reward trained with the agent: online updates, logged statistics, saved model, relabelling."""

from __future__ import annotations

import numpy as np
import pytest

import rewardlab as rl
from rewardlab.agents import relabel_replay_buffer

RANKING = ["angle_cost", "velocity_cost", "torque_cost"]
TINY_SAC = {"learning_starts": 100, "batch_size": 32, "policy_kwargs": {"net_arch": [16]}}


def _online(**over):
    return {
        "kind": "hierarchical",
        "ranking": RANKING,
        "mode": "online",
        "warmup": 100,
        "update_every": 100,
        "hidden": [16],
        **over,
    }


@pytest.fixture(scope="module")
def online_run(tmp_path_factory):
    config = rl.TrainConfig(
        env="pendulum",
        agent="sac",
        reward=_online(relabel=True),
        timesteps=400,
        eval_freq=200,
        eval_episodes=1,
        hyperparams=TINY_SAC,
        runs_dir=str(tmp_path_factory.mktemp("runs")),
        progress_bar=False,
    )
    return rl.train(config)


def test_a_short_online_run_logs_per_level_statistics(online_run):
    rows = [r for r in online_run.metrics if "reward_stats" in r]
    assert rows, "no reward_stats in metrics.jsonl"
    stats = rows[-1]["reward_stats"]
    fractions = [stats[f"decided_by_{name}"] for name in RANKING] + [stats["tied"]]
    assert sum(fractions) == pytest.approx(1.0)
    assert stats["updates"] >= 3  # warmup 100, then every 100 steps over 400 steps
    assert stats["buffer"] >= 300


def test_the_trained_reward_model_is_saved_and_loads_as_a_learned_reward(online_run):
    fn = rl.rewards.Learned(model=str(online_run.run_dir / "reward_model")).build("pendulum")
    obs = np.array([[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0]])
    assert np.isfinite(fn(obs, np.zeros((2, 1)), obs, np.zeros(2, bool))).all()


def test_relabelling_rewrites_the_replay_buffer_with_the_current_model(tmp_path):
    config = rl.TrainConfig(
        env="pendulum",
        agent="sac",
        reward=_online(relabel=True),
        timesteps=250,
        eval_freq=250,
        eval_episodes=1,
        hyperparams=TINY_SAC,
        runs_dir=str(tmp_path),
        progress_bar=False,
    )
    venv = rl.make_vec_env("pendulum", reward=config.reward_spec, n_envs=1, seed=0)
    agent = rl.agents.make("sac", venv, seed=0, **TINY_SAC)
    agent.learn(250)
    fn = venv.reward_fn
    assert fn.version >= 1
    rb = agent.replay_buffer
    n = rb.pos
    rb.rewards[:n] = 123.0
    assert relabel_replay_buffer(agent, fn) == n
    fn.training = False
    actions = agent.policy.unscale_action(rb.actions[:n, 0])
    expected = fn(rb.observations[:n, 0], actions, rb.next_observations[:n, 0], np.zeros(n, bool))
    np.testing.assert_allclose(rb.rewards[:n, 0], expected, rtol=1e-5, atol=1e-6)


def test_offline_heron_reports_which_level_decided():
    spec = rl.rewards.Hierarchical(ranking=tuple(RANKING), n_samples=300, n_batches=40, epochs=3, hidden=(8,))
    fn = spec.build("pendulum")
    assert fn.stats["decided_by_angle_cost"] > fn.stats["decided_by_torque_cost"] > 0
    assert 0 < fn.stats["labelled_pairs"] <= 40 * 120
