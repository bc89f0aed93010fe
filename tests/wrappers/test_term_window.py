"""The vector wrapper's per-term logging window equals the mean of the terms it returned."""

from __future__ import annotations

import numpy as np
from stable_baselines3.common.vec_env import unwrap_vec_wrapper

import rewardlab as rl
from rewardlab.wrappers import vector


def test_pop_term_means_is_the_mean_term_per_transition_across_episode_ends(rng):
    spec = rl.rewards.Terms({"alive": 1.0, "pole_angle": -2.0})
    venv = rl.make_vec_env("cartpole", spec, n_envs=3, seed=0)
    swap = unwrap_vec_wrapper(venv, vector.SwapReward)
    venv.reset()
    for window_steps in (7, 150, 1, 90):
        seen = {"alive": [], "pole_angle": []}
        for _ in range(window_steps):
            _, _, _, infos = venv.step(rng.integers(0, 2, size=3))
            for info in infos:
                for k in seen:
                    seen[k].append(info["rewardlab"]["terms"][k])
        means = swap.pop_term_means()
        for k, values in seen.items():
            np.testing.assert_allclose(means[k], np.mean(values), rtol=1e-9, atol=1e-12)
