"""Potential-based shaping: closed-form values and the episodic-return identity."""

from __future__ import annotations

import numpy as np

import rewardlab as rl


def test_shaping_adds_gamma_phi_next_minus_phi_and_drops_phi_at_termination(rng):
    n = 32
    theta = rng.uniform(-np.pi, np.pi, n)
    theta2 = rng.uniform(-np.pi, np.pi, n)
    obs = np.stack([np.cos(theta), np.sin(theta), np.zeros(n)], 1)
    nxt = np.stack([np.cos(theta2), np.sin(theta2), np.zeros(n)], 1)
    done = rng.random(n) < 0.5
    action = np.zeros((n, 1))
    spec = rl.rewards.Shaped(rl.rewards.Terms({"angle_cost": -1.0}), potential="upright", scale=2.0, gamma=0.9)
    reward, terms = spec.build("pendulum").compute(obs, action, nxt, done)
    shaping = 0.9 * np.where(done, 0.0, 2.0 * np.cos(theta2)) - 2.0 * np.cos(theta)
    np.testing.assert_allclose(terms["shaping"], shaping, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(reward, -(theta**2) + shaping, rtol=1e-12, atol=1e-12)


def test_undiscounted_shaped_return_differs_by_minus_phi_of_the_start_state_on_terminated_episodes():
    # Hopper terminates quickly under random actions: with gamma = 1 and Phi(terminal) = 0 the
    # shaping telescopes to -Phi(s_0) over a terminated episode.
    spec = rl.rewards.Shaped(rl.rewards.Env(), potential="x_position", gamma=1.0)
    env = rl.make_env("hopper", spec)
    raw = rl.suite.get("hopper")
    env.reset(seed=3)
    start_x = env.unwrapped.data.qpos[0]
    env.action_space.seed(3)
    proxy = true = 0.0
    for _ in range(1000):
        _, r, terminated, truncated, info = env.step(env.action_space.sample())
        proxy += r
        true += info["rewardlab"]["env_reward"]
        if terminated or truncated:
            break
    assert terminated, "the random Hopper episode should terminate"
    assert raw.name == "hopper"
    np.testing.assert_allclose(proxy - true, -start_x, atol=1e-9)
    np.testing.assert_allclose(info["rewardlab"]["episode"]["proxy_return"], proxy, atol=1e-9)
