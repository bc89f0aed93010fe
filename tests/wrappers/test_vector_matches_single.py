"""The vector reward wrapper (one batched call per step) equals the single-env wrapper.

Both VecEnvs are built by ``make_vec_env`` from the same seeds and fed the same seeded actions;
every step's observations, rewards, dones and ``info["rewardlab"]`` must agree, across episode
ends (terminations and time-limit truncations).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import rewardlab as rl

TOL = {"rtol": 1e-6, "atol": 1e-6}


@pytest.fixture(autouse=True)
def _cwd_in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # MuJoCo writes MUJOCO_LOG.TXT into the working directory on model warnings: keep it out of the repo.
    monkeypatch.chdir(tmp_path)


# env -> (n_envs, steps, weights of the Terms spec, potential for the Shaped spec).
CASES: dict[str, tuple[int, int, dict[str, float], str]] = {
    "cartpole": (4, 300, {"alive": 1.0, "pole_angle": -2.0, "cart_offset": -0.5, "cart_speed": -0.1}, "upright"),
    "pendulum": (2, 450, {"angle_cost": -1.0, "velocity_cost": -0.3, "torque_cost": -0.01}, "angle"),
    "hopper": (
        2,
        200,
        {"forward_reward": 1.5, "healthy_reward": 0.5, "ctrl_cost": -0.01, "torso_height": 1.0},
        "x_position",
    ),
}

SPECS = {
    "terms": lambda weights, potential: rl.rewards.Terms(weights),
    "shaped": lambda weights, potential: rl.rewards.Shaped(base=rl.rewards.Env(), potential=potential, gamma=0.99),
    "env": lambda weights, potential: rl.rewards.Env(),
}


def random_actions(space: gym.Space, n_envs: int, rng: np.random.Generator) -> np.ndarray:
    """A batch of actions shaped as an SB3 VecEnv expects: ``(n_envs,)`` or ``(n_envs,) + shape``."""
    if isinstance(space, gym.spaces.Discrete):
        return space.start + rng.integers(space.n, size=n_envs)
    return rng.uniform(space.low, space.high, size=(n_envs, *space.shape)).astype(space.dtype)


def assert_info_equal(single: dict[str, Any], vector: dict[str, Any], where: str) -> None:
    assert set(single) == set(vector), where
    np.testing.assert_allclose(vector["env_reward"], single["env_reward"], **TOL, err_msg=where)
    assert set(single["terms"]) == set(vector["terms"]), where
    for name, value in single["terms"].items():
        np.testing.assert_allclose(vector["terms"][name], value, **TOL, err_msg=f"{where} term {name}")
    if "episode" in single:
        s, v = single["episode"], vector["episode"]
        assert v["length"] == s["length"], where
        np.testing.assert_allclose(v["proxy_return"], s["proxy_return"], **TOL, err_msg=where)
        np.testing.assert_allclose(v["env_return"], s["env_return"], **TOL, err_msg=where)
        assert set(s["terms"]) == set(v["terms"]), where
        for name, value in s["terms"].items():
            np.testing.assert_allclose(v["terms"][name], value, **TOL, err_msg=f"{where} episode term {name}")


@pytest.mark.parametrize("kind", list(SPECS), ids=list(SPECS))
@pytest.mark.parametrize("env_name", list(CASES), ids=list(CASES))
def test_vector_wrapper_matches_single_env_wrapper_across_episodes(env_name: str, kind: str) -> None:
    n_envs, steps, weights, potential = CASES[env_name]
    spec = SPECS[kind](weights, potential)
    single = rl.make_vec_env(env_name, spec, n_envs=n_envs, seed=7, wrapper="single")
    vector = rl.make_vec_env(env_name, spec, n_envs=n_envs, seed=7, wrapper="vector")
    rng = np.random.default_rng(123)

    np.testing.assert_array_equal(vector.reset(), single.reset())
    terminations = truncations = 0
    for t in range(steps):
        actions = random_actions(vector.action_space, n_envs, rng)
        obs_s, rew_s, done_s, infos_s = single.step(actions.copy())
        obs_v, rew_v, done_v, infos_v = vector.step(actions.copy())
        np.testing.assert_array_equal(obs_v, obs_s, err_msg=f"step {t}")
        np.testing.assert_array_equal(done_v, done_s, err_msg=f"step {t}")
        assert rew_v.shape == rew_s.shape == (n_envs,)
        np.testing.assert_allclose(rew_v, rew_s, **TOL, err_msg=f"step {t}")
        for i, (info_s, info_v) in enumerate(zip(infos_s, infos_v, strict=True)):
            where = f"step {t}, env {i}"
            assert_info_equal(info_s["rewardlab"], info_v["rewardlab"], where)
            assert ("episode" in info_v["rewardlab"]) == bool(done_v[i]), where
            if done_v[i]:
                np.testing.assert_array_equal(info_v["terminal_observation"], info_s["terminal_observation"], where)
                truncated = info_v["TimeLimit.truncated"]
                assert truncated == info_s["TimeLimit.truncated"], where
                truncations += truncated
                terminations += not truncated
    single.close()
    vector.close()

    # The comparison must have crossed episode boundaries of the kind each env produces.
    if env_name == "pendulum":
        assert truncations >= n_envs * 2 and terminations == 0
    else:
        assert terminations >= n_envs
