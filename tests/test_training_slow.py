"""Training that takes minutes: proves the presets and wrappers learn (marked slow)."""

from __future__ import annotations

import pytest

import rewardlab as rl


@pytest.mark.slow
@pytest.mark.ci
def test_ppo_cartpole_solves_the_task_with_the_env_reward(tmp_path):
    result = rl.train(
        rl.TrainConfig(
            env="cartpole",
            agent="ppo",
            seed=0,
            timesteps=100_000,
            eval_episodes=10,
            runs_dir=str(tmp_path),
            progress_bar=False,
        )
    )
    assert result.final.env_return >= 475, result.final


@pytest.mark.slow
def test_ppo_halfcheetah_runs_and_logs_terms(tmp_path):
    result = rl.train(
        rl.TrainConfig(
            env="halfcheetah",
            agent="ppo",
            seed=0,
            timesteps=50_000,
            eval_episodes=2,
            runs_dir=str(tmp_path),
            progress_bar=False,
        )
    )
    assert set(result.metrics[-1]["train_term_means"]) == {"forward_reward", "ctrl_cost"}
