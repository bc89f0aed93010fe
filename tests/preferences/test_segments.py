from __future__ import annotations

import numpy as np
import pytest

import rewardlab as rl
from rewardlab.errors import ConfigError, UnknownNameError
from rewardlab.preferences import Segments, collect_segments


@pytest.fixture(scope="module")
def cartpole() -> Segments:
    # random CartPole episodes last ~20 steps: most segments of 50 are padded
    return collect_segments("cartpole", n_segments=8, length=50, seed=0)


def test_short_episodes_are_padded_with_a_mask(cartpole: Segments) -> None:
    assert cartpole.obs.shape == (8, 50, 4) and cartpole.actions.shape == (8, 50)
    assert cartpole.mask.dtype == bool and cartpole.mask.shape == (8, 50)
    steps = cartpole.mask.sum(axis=1)
    assert np.all(steps < 50) and np.all(steps > 0)
    # the mask is a prefix: real steps first, then padding full of zeros
    assert np.array_equal(cartpole.mask, np.arange(50)[None, :] < steps[:, None])
    pad = ~cartpole.mask
    assert not cartpole.obs[pad].any() and not cartpole.env_rewards[pad].any()
    assert all(not v[pad].any() for v in cartpole.factors.values())
    # each episode ends in its segment: the last real step terminated (or was truncated)
    last = steps - 1
    assert np.all(cartpole.dones[np.arange(8), last] | cartpole.truncated[np.arange(8), last])


def test_factors_equal_the_suite_factor_functions(cartpole: Segments) -> None:
    env = rl.suite.get("cartpole")
    assert sorted(cartpole.factors) == sorted(env.factor_names)
    m = cartpole.mask
    for f in env.factors:
        expected = f.fn(cartpole.obs[m], cartpole.actions[m], cartpole.next_obs[m], cartpole.dones[m])
        np.testing.assert_allclose(cartpole.factors[f.name][m], expected)


def test_long_episodes_fill_segments_and_keep_hidden_dims() -> None:
    seg = collect_segments("pendulum", n_segments=5, length=50, seed=1)
    assert seg.mask.all() and seg.actions.shape == (5, 50, 1)
    # consecutive fragments of one episode: next_obs of a step is obs of the next step
    np.testing.assert_array_equal(seg.next_obs[0, -1], seg.obs[1, 0])
    np.testing.assert_allclose(seg.returns(), seg.returns(rl.rewards.Env()), rtol=1e-5)


def test_returns_equal_a_manual_masked_sum(cartpole: Segments) -> None:
    weights = {"alive": 1.0, "pole_angle": -2.0}
    gamma = 0.9
    fn = rl.rewards.Terms(weights).build("cartpole")
    manual = np.zeros(len(cartpole))
    for i in range(len(cartpole)):
        for t in range(cartpole.length):
            if cartpole.mask[i, t]:
                r = sum(w * cartpole.factors[k][i, t] for k, w in weights.items())
                manual[i] += gamma**t * r
    np.testing.assert_allclose(cartpole.returns(weights, gamma=gamma), manual)
    np.testing.assert_allclose(cartpole.returns(fn, gamma=gamma), manual)
    np.testing.assert_allclose(cartpole.returns(), cartpole.mask.sum(axis=1))  # +1 per step


def test_returns_call_a_reward_function_once_on_the_real_steps(cartpole: Segments) -> None:
    calls = []

    def reward(obs, action, next_obs, done):  # type: ignore[no-untyped-def]
        calls.append(len(obs))
        return np.ones(len(obs))

    np.testing.assert_allclose(cartpole.returns(reward), cartpole.mask.sum(axis=1))
    assert calls == [int(cartpole.mask.sum())]


def test_subset_and_len(cartpole: Segments) -> None:
    sub = cartpole.subset(np.array([1, 3]))
    assert len(sub) == 2 and sub.env == "cartpole"
    np.testing.assert_array_equal(sub.factors["alive"], cartpole.factors["alive"][[1, 3]])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_segments": 0}, "`n_segments` must be an integer >= 1"),
        ({"length": 0}, "`length` must be an integer >= 1"),
        ({"policy": "data.npz"}, "`policy` must be"),
        ({"policy": 3}, "`policy` must be"),
    ],
    ids=["n", "length", "npz-policy", "bad-policy"],
)
def test_collect_rejects_bad_arguments(kwargs: dict, match: str) -> None:
    args = {"env": "cartpole", "n_segments": 2, "length": 5, **kwargs}
    with pytest.raises(ConfigError, match=match):
        collect_segments(**args)


def test_unknown_factor_and_bad_gamma(cartpole: Segments) -> None:
    with pytest.raises(UnknownNameError, match="Did you mean 'pole_angle'"):
        cartpole.returns({"pole_angel": 1.0})
    with pytest.raises(ConfigError, match="`gamma` must be a number in"):
        cartpole.returns(gamma=0.0)


def test_mismatched_shapes_are_rejected(cartpole: Segments) -> None:
    arrays = cartpole.to_arrays()
    arrays["actions"] = arrays["actions"][:, :10]
    with pytest.raises(ConfigError, match=r"`actions` must be of shape \(8, 50, ...\)"):
        Segments.from_arrays(arrays, "cartpole")
