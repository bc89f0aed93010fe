"""Non-finite rewards stop the run with a precise error; malformed Code rewards fail at build."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import rewardlab as rl
from rewardlab.errors import NonFiniteRewardError, SpecError

HELPERS = "_rewards_for_tests"
N_ENVS = 2
SEED = 4


@pytest.fixture(autouse=True)
def helpers_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(Path(__file__).parent))


def _first_termination(actions: np.ndarray) -> tuple[int, int]:
    """(1-based vector step, env index) of the first CartPole termination under ``actions``."""
    venv = rl.make_vec_env("cartpole", n_envs=N_ENVS, seed=SEED)
    venv.reset()
    for step, action in enumerate(actions, start=1):
        _, _, dones, infos = venv.step(action)
        ended = [i for i in np.flatnonzero(dones) if not infos[i]["TimeLimit.truncated"]]
        if ended:
            venv.close()
            return step, int(ended[0])
    raise AssertionError("no termination in the scripted actions")


BAD_VALUES = [float("nan"), float("inf"), float("-inf")]


@pytest.mark.parametrize("value", BAD_VALUES, ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("wrapper", ["vector", "single"], ids=["vector", "single"])
def test_nonfinite_reward_mid_run_raises_naming_step_and_value(
    wrapper: str, value: float, rng: np.random.Generator
) -> None:
    actions = rng.integers(2, size=(200, N_ENVS))
    step, index = _first_termination(actions)
    assert step > 1  # the reward was finite on the steps before

    spec = rl.rewards.Code(f"{HELPERS}:bad_on_termination", kwargs={"value": value})
    venv = rl.make_vec_env("cartpole", spec, n_envs=N_ENVS, seed=SEED, wrapper=wrapper)
    venv.reset()
    for action in actions[: step - 1]:
        _, rewards, _, _ = venv.step(action)
        np.testing.assert_array_equal(rewards, np.ones(N_ENVS))
    where = f"env index {index}" if wrapper == "vector" else "env index 0"  # single: a batch of one
    with pytest.raises(NonFiniteRewardError, match=re.escape(f"got {value!r} at step {step}, {where}")):
        venv.step(actions[step - 1])
    venv.close()


def test_nonfinite_reward_error_is_a_floating_point_error() -> None:
    assert issubclass(NonFiniteRewardError, FloatingPointError)
    assert issubclass(NonFiniteRewardError, rl.RewardLabError)


@pytest.mark.parametrize(
    ("function", "shape"),
    [("column", "(8, 1)"), ("per_obs_dim", "(8, 4)"), ("scalar", "()")],
    ids=["column", "per_obs_dim", "scalar"],
)
def test_code_reward_of_wrong_shape_fails_at_build_naming_the_shape(function: str, shape: str) -> None:
    env = rl.suite.get("cartpole").make()
    spaces = (env.observation_space, env.action_space)
    env.close()
    spec = rl.rewards.Code(f"{HELPERS}:{function}")
    expected = rf"shape \(8,\).*shape {re.escape(shape)}"
    with pytest.raises(SpecError, match=expected):
        spec.build("cartpole", spaces)
    with pytest.raises(SpecError, match=expected):
        rl.make_vec_env("cartpole", spec, n_envs=1)


def test_code_reward_nonfinite_on_sampled_transitions_fails_at_build() -> None:
    env = rl.suite.get("cartpole").make()
    spaces = (env.observation_space, env.action_space)
    env.close()
    with pytest.raises(SpecError, match=r"always_nan return value` must be finite on sampled transitions"):
        rl.rewards.Code(f"{HELPERS}:always_nan").build("cartpole", spaces)
