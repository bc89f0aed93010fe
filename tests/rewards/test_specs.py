"""Reward specs: construction, TOML round trips, and validation errors that name the field."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import rewardlab as rl
from rewardlab.errors import SpecError, UnknownNameError

REPO = Path(__file__).resolve().parents[2]


def _pendulum_batch(rng: np.random.Generator, n: int = 64):
    theta = rng.uniform(-np.pi, np.pi, n)
    obs = np.stack([np.cos(theta), np.sin(theta), rng.uniform(-8, 8, n)], axis=1)
    next_obs = np.roll(obs, 1, axis=0)
    action = rng.uniform(-3, 3, (n, 1))
    return obs, action, next_obs, np.zeros(n, dtype=bool), theta


def test_terms_reward_is_the_weighted_sum_of_factors(rng):
    obs, action, next_obs, done, theta = _pendulum_batch(rng)
    fn = rl.rewards.Terms({"angle_cost": -1.0, "torque_cost": -0.001}).build("pendulum")
    expected = -(theta**2) - 0.001 * np.clip(action[:, 0], -2, 2) ** 2
    reward, terms = fn.compute(obs, action, next_obs, done)
    np.testing.assert_allclose(reward, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(terms["angle_cost"], -(theta**2), rtol=1e-12)
    assert set(terms) == {"angle_cost", "torque_cost"}


def test_term_transforms_apply_scale_then_clip_then_weight(rng):
    obs, action, next_obs, done, theta = _pendulum_batch(rng)
    spec = rl.rewards.Terms({"angle_cost": rl.rewards.Term(weight=-2.0, scale=0.5, clip=(0.0, 1.0))})
    reward = spec.build("pendulum")(obs, action, next_obs, done)
    np.testing.assert_allclose(reward, -2.0 * np.clip(0.5 * theta**2, 0.0, 1.0), rtol=1e-12)


def test_log_sigmoid_transform_is_nonpositive_and_matches_closed_form(rng):
    obs, action, next_obs, done, theta = _pendulum_batch(rng)
    ls = rl.rewards.LogSigmoid(ref=1.0, scale=2.0)
    spec = rl.rewards.Terms({"angle_cost": rl.rewards.Term(weight=1.0, log_sigmoid=ls)})
    reward = spec.build("pendulum")(obs, action, next_obs, done)
    expected = np.log(1.0 / (1.0 + np.exp(-(theta**2 - 1.0) / 2.0)))
    np.testing.assert_allclose(reward, expected, rtol=1e-10)
    assert np.all(reward <= 0.0)


def test_running_normalisation_matches_statistics_of_everything_seen(rng):
    fn = rl.rewards.Terms({"velocity_cost": rl.rewards.Term(weight=1.0, normalize=True)}).build("pendulum")
    seen = []
    for _ in range(5):
        obs, action, next_obs, done, _ = _pendulum_batch(rng, n=17)
        out = fn(obs, action, next_obs, done)
        seen.append(obs[:, 2] ** 2)
        allv = np.concatenate(seen)
        np.testing.assert_allclose(out, (obs[:, 2] ** 2 - allv.mean()) / np.sqrt(allv.var() + 1e-8), rtol=1e-9)


def test_frozen_normalisation_does_not_update(rng):
    fn = rl.rewards.Terms({"velocity_cost": rl.rewards.Term(normalize=True)}).build("pendulum")
    obs, action, next_obs, done, _ = _pendulum_batch(rng)
    fn(obs, action, next_obs, done)
    state = fn.state_dict()
    fn.training = False
    fn(obs * 3, action, next_obs, done)
    assert fn.state_dict() == state


@pytest.mark.parametrize(
    "spec",
    [
        rl.rewards.Env(),
        rl.rewards.Terms({"angle_cost": -1.0, "torque_cost": -0.001}),
        rl.rewards.Terms({"angle_cost": rl.rewards.Term(weight=-1.0, clip=(0.0, 4.0), normalize=True)}),
        rl.rewards.Terms({"angle_cost": rl.rewards.Term(log_sigmoid=rl.rewards.LogSigmoid(0.5, 2.0))}),
        rl.rewards.Shaped(rl.rewards.Terms({"angle_cost": -1.0}), potential="upright", gamma=0.9),
        rl.rewards.Code("numpy:sum"),
    ],
    ids=["env", "terms", "terms-transforms", "log-sigmoid", "shaped", "code"],
)
def test_spec_round_trips_through_toml(spec, tmp_path):
    import tomli_w

    path = tmp_path / "reward.toml"
    path.write_text(tomli_w.dumps(spec.to_dict()))
    assert rl.rewards.load(path) == spec


@pytest.mark.parametrize("path", sorted((REPO / "rewards").glob("*.toml")), ids=lambda p: p.stem)
def test_shipped_reward_files_load_and_build(path):
    spec = rl.rewards.load(path)
    env = path.stem.split("_")[0]
    spec.build(env)


@pytest.mark.parametrize(
    ("data", "error", "match"),
    [
        ({"weights": {"angle_cost": 1.0}}, SpecError, r"`reward.kind` must be present"),
        ({"kind": "term", "weights": {}}, UnknownNameError, r"Did you mean 'terms'"),
        (
            {"kind": "terms", "weights": {"angle_cost": "heavy"}},
            SpecError,
            r"`reward.weights.angle_cost` must be a number \(got 'heavy'\)",
        ),
        ({"kind": "terms", "weights": {"angle_cost": True}}, SpecError, r"must be a number \(got True\)"),
        (
            {"kind": "terms", "weight": {"angle_cost": 1.0}},
            SpecError,
            r"`reward.weight` must be a known field.*'weights'",
        ),
        ({"kind": "terms"}, SpecError, r"`weights` or \[terms"),
        ({"kind": "terms", "terms": {"angle_cost": {"weight": 1.0, "clip": [1.0, 0.0]}}}, SpecError, r"low < high"),
        (
            {"kind": "terms", "terms": {"angle_cost": {"scale": -1.0}}},
            SpecError,
            r"`terms.angle_cost.scale` must be a positive number",
        ),
        ({"kind": "terms", "terms": {"angle_cost": {"normalise": True}}}, SpecError, r"Did you mean 'normalize'"),
        ({"kind": "shaped", "potential": "upright", "gamma": 1.5}, SpecError, r"`gamma` must be in \(0, 1\]"),
        ({"kind": "shaped"}, SpecError, r"`potential` must be"),
        ({"kind": "code", "function": "not_a_target"}, SpecError, r"`function` must be \"package.module:function\""),
        ({"kind": "env", "weights": {}}, SpecError, r"`reward.weights` must be a known field"),
    ],
    ids=[
        "missing-kind",
        "unknown-kind",
        "weight-string",
        "weight-bool",
        "unknown-field",
        "empty-terms",
        "clip-order",
        "negative-scale",
        "misspelt-transform",
        "gamma-range",
        "missing-potential",
        "bad-code-target",
        "env-with-fields",
    ],
)
def test_invalid_specs_name_the_field_value_and_fix(data, error, match):
    with pytest.raises(error, match=match):
        rl.rewards.from_dict(data)


def test_unknown_factor_suggests_the_closest_at_build():
    spec = rl.rewards.Terms({"angle_cst": -1.0})
    with pytest.raises(
        UnknownNameError,
        match=r"`factor` must be a reward factor of 'pendulum' \(got 'angle_cst'\). Did you mean 'angle_cost'",
    ):
        spec.build("pendulum")


def test_unknown_potential_suggests_the_closest():
    with pytest.raises(UnknownNameError, match=r"Did you mean 'upright'"):
        rl.rewards.Shaped(potential="uprigth").build("pendulum")


def test_unreadable_and_invalid_toml_files_raise_spec_errors(tmp_path):
    with pytest.raises(SpecError, match=r"`reward` must be a readable TOML file \(got '.*missing.toml'\)"):
        rl.rewards.load(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("kind = terms\n")
    with pytest.raises(SpecError, match=r"`reward` must be valid TOML"):
        rl.rewards.load(bad)


def test_code_reward_import_errors_are_clear():
    with pytest.raises(SpecError, match=r"`function` must be an importable module \(got 'no_such_module_xyz'\)"):
        rl.rewards.Code("no_such_module_xyz:f").build("pendulum")
    with pytest.raises(UnknownNameError, match=r"a function in numpy"):
        rl.rewards.Code("numpy:no_such_function_xyz").build("pendulum")


def test_env_reward_of_env_without_factors_cannot_be_computed_outside_the_env():
    fn = rl.rewards.Env().build("LunarLander-v3") if "LunarLander-v3" in __import__("gymnasium").registry else None
    if fn is None:
        pytest.skip("LunarLander-v3 not registered")
    with pytest.raises(SpecError, match="declares no factors"):
        fn(np.zeros((1, 8)), np.zeros(1), np.zeros((1, 8)), np.zeros(1, dtype=bool))
