"""The fixed-horizon CartPole: CartPole-v1's dynamics, no termination, reward 1 only while balanced."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

import rewardlab as rl


def test_runs_its_full_horizon_and_pays_only_while_balanced() -> None:
    env = rl.suite.get("cartpole_fixed").make()
    reference = gym.make("CartPole-v1")
    obs, _ = env.reset(seed=4)
    ref_obs, _ = reference.reset(seed=4)
    np.testing.assert_array_equal(obs, ref_obs)
    rewards, fell_at = [], None
    for t in range(1000):
        action = t % 3 == 0  # mostly pushes left: the pole falls within a few dozen steps
        obs, reward, terminated, truncated, _ = env.step(int(action))
        assert not terminated
        if fell_at is None:
            ref_obs, _, ref_terminated, _, _ = reference.step(int(action))
            np.testing.assert_array_equal(obs, ref_obs)  # same dynamics as CartPole-v1
            if ref_terminated:
                fell_at = t
        rewards.append(reward)
        if truncated:
            break
    assert len(rewards) == 200 and fell_at is not None and fell_at < 100
    assert rewards == [1.0] * fell_at + [0.0] * (200 - fell_at)
    frozen = env.step(0)[0]  # past the time limit the env is still frozen where the pole fell
    np.testing.assert_array_equal(frozen, obs)
    assert env.observation_space.contains(obs)


def test_vec_env_pays_the_fixed_horizon_reward() -> None:
    venv = rl.make_vec_env("cartpole_fixed", n_envs=2, seed=0)
    venv.reset()
    total = np.zeros(2)
    for _ in range(200):
        _, reward, _, _ = venv.step(np.zeros(2, dtype=np.int64))
        total += reward
    assert np.all(total < 200) and np.all(total > 0)  # pushing left: balanced a while, then not


def test_set_state_restores_a_fallen_pole_frozen() -> None:
    se = rl.suite.get("cartpole_fixed")
    env = se.make()
    env.reset(seed=0)
    fallen = np.array([0.5, 1.0, 0.3, -2.0], dtype=np.float32)  # |angle| > 12 degrees
    se.set_state(env, fallen)
    obs, reward, terminated, _, _ = env.step(1)
    np.testing.assert_array_equal(obs, fallen)
    assert reward == 0.0 and not terminated
    upright = np.array([0.0, 0.1, 0.01, 0.0], dtype=np.float32)
    se.set_state(env, upright)
    obs, reward, _, _, _ = env.step(1)
    assert reward == 1.0 and not np.array_equal(obs, upright)
