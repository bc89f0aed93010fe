"""The one rollout loop: true final observations, terminations apart from truncations, seeding."""

from __future__ import annotations

import itertools

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.vec_env import DummyVecEnv

import rewardlab as rl
from rewardlab.data import RandomPolicy, raw_vec_env, rollout


def _steps(venv, policy, n, seed=None):
    out = []
    for step in rollout(venv, policy, seed=seed):
        out.append(step)
        if len(out) == n:
            break
    return out


def test_the_next_observation_at_an_episode_end_is_the_final_one_not_the_reset():
    env = rl.suite.get("cartpole").make()
    venv = raw_vec_env(env)
    steps = _steps(venv, RandomPolicy(venv.action_space), 300, seed=0)
    ends = [s for s in steps if s.ended[0]]
    assert ends, "a random CartPole policy falls within 300 steps"
    for s in ends:
        np.testing.assert_array_equal(s.next_obs[0], s.infos[0]["terminal_observation"])
    # the step after an end starts from the reset observation, which is not the final one
    for a, b in itertools.pairwise(steps):
        if a.ended[0]:
            assert not np.array_equal(b.obs[0], a.next_obs[0])
        else:
            np.testing.assert_array_equal(b.obs[0], a.next_obs[0])


def test_a_time_limit_is_a_truncation_and_never_a_termination():
    venv = raw_vec_env(gym.make("Pendulum-v1", max_episode_steps=7))
    steps = _steps(venv, RandomPolicy(venv.action_space), 21, seed=1)
    truncated = np.array([s.truncated[0] for s in steps])
    assert truncated.nonzero()[0].tolist() == [6, 13, 20]
    assert not any(s.terminated[0] for s in steps)
    assert all(not (s.terminated & s.truncated).any() for s in steps)


def test_the_same_seed_gives_the_same_rollout_and_rewards_stay_float64():
    def run():
        venv = raw_vec_env(rl.suite.get("pendulum").make())
        return _steps(venv, RandomPolicy(venv.action_space), 50, seed=3)

    a, b = run(), run()
    np.testing.assert_array_equal(np.concatenate([s.actions for s in a]), np.concatenate([s.actions for s in b]))
    np.testing.assert_array_equal(np.concatenate([s.obs for s in a]), np.concatenate([s.obs for s in b]))
    assert a[0].rewards.dtype == np.float64  # SB3's buffer is float32: the env's own reward must not be rounded


def test_the_rollout_steps_every_sub_env_of_a_vec_env():
    venv = DummyVecEnv([lambda: gym.make("CartPole-v1")] * 3)
    steps = _steps(venv, RandomPolicy(venv.action_space), 5, seed=0)
    assert all(s.obs.shape == (3, 4) and s.actions.shape == (3,) for s in steps)


@pytest.mark.parametrize("n_envs", [1, 2], ids=["one-env", "two-envs"])
def test_evaluate_counts_each_sub_env_share_of_episodes(n_envs):
    venv = rl.make_vec_env("cartpole", n_envs=1, seed=0)
    model = rl.agents.make("ppo", venv, seed=0, n_steps=32, batch_size=32, policy_kwargs={"net_arch": [8]})
    result = rl.evaluate(model, n_episodes=3, n_envs=n_envs)
    assert result.n_episodes == 3 and len(result.episodes) == 3
