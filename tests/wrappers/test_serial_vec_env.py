"""``SerialVecEnv`` steps exactly as SB3's ``DummyVecEnv`` and keeps the caller's infos as separate.

It differs from ``DummyVecEnv`` only in how it copies the info dicts (no deep copy of immutable
values), so every observation, reward, done and info must match ``DummyVecEnv``'s through
terminations, truncations and auto-resets, and what the caller gets must not change when the env
changes what it holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.vec_env import DummyVecEnv

import rewardlab as rl
from rewardlab.wrappers.vector import SerialVecEnv

N_ENVS = 3


@pytest.fixture(autouse=True)
def _cwd_in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # MuJoCo may write MUJOCO_LOG.TXT into the working directory


def _same(a: Any, b: Any, where: str) -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), where
        for k in a:
            _same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=where)
    else:
        assert type(a) is type(b) and a == b, where


@pytest.mark.parametrize(
    ("gym_id", "steps"), [("CartPole-v1", 300), ("Pendulum-v1", 450), ("Hopper-v5", 300)], ids=str
)
def test_steps_exactly_as_dummy_vec_env(gym_id: str, steps: int) -> None:
    make = [lambda: gym.make(gym_id)] * N_ENVS
    ours, theirs = SerialVecEnv(make), DummyVecEnv(make)
    ours.seed(7)
    theirs.seed(7)
    _same(ours.reset(), theirs.reset(), "reset")
    space = ours.action_space
    space.seed(0)
    ends = 0
    for t in range(steps):
        actions = np.stack([space.sample() for _ in range(N_ENVS)])
        a, b = ours.step(actions), theirs.step(actions)
        for name, x, y in zip(("obs", "rewards", "dones"), a[:3], b[:3], strict=True):
            _same(x, y, f"step {t} {name}")
        for i in range(N_ENVS):
            _same(a[3][i], b[3][i], f"step {t} info {i}")
        _same(ours.reset_infos, theirs.reset_infos, f"step {t} reset_infos")
        ends += int(a[2].sum())
    assert ends >= N_ENVS  # the run crossed episode ends (auto-reset, terminal_observation)


class _ReusesItsInfo(gym.Env):
    """An env that hands out the same info dict, with the same list in it, and changes both each step."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (1,))
    action_space = gym.spaces.Discrete(2)

    def __init__(self) -> None:
        self.info: dict[str, Any] = {"history": [], "count": 0}

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        return np.zeros(1, dtype=np.float32), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.info["history"].append(int(action))
        self.info["count"] = len(self.info["history"])
        return np.zeros(1, dtype=np.float32), 0.0, False, False, self.info


def test_infos_stay_as_they_were_returned_when_the_env_changes_its_own() -> None:
    venv = SerialVecEnv([_ReusesItsInfo])
    venv.reset()
    first = venv.step(np.array([1]))[3][0]
    second = venv.step(np.array([0]))[3][0]
    assert first == {"history": [1], "count": 1, "TimeLimit.truncated": False}
    assert second == {"history": [1, 0], "count": 2, "TimeLimit.truncated": False}
    first["history"].append(99)  # the caller's copy is its own
    assert venv.envs[0].unwrapped.info["history"] == [1, 0]  # type: ignore[attr-defined]


def test_make_vec_env_builds_it() -> None:
    venv = rl.make_vec_env("cartpole", n_envs=2, seed=0)
    assert isinstance(venv.unwrapped, SerialVecEnv)
    assert isinstance(rl.make_vec_env("cartpole", n_envs=2, seed=0, wrapper="single").unwrapped, SerialVecEnv)
