"""The `learned` reward spec: a saved or inline-trained reward model used as a reward."""

from __future__ import annotations

import numpy as np
import pytest

import rewardlab as rl
from rewardlab.preferences import collect_segments
from rewardlab.rewards import RewardModel

SMALL = {"n_segments": 100, "length": 10, "n_pairs": 300, "epochs": 20, "hidden": [16, 16], "temperature": 0.0}


def test_inline_preferences_train_a_reward_that_orders_like_the_ground_truth():
    spec = rl.rewards.from_dict({"kind": "learned", "preferences": SMALL})
    fn = spec.build("pendulum")
    seg = collect_segments("pendulum", 300, 1, seed=11)
    r = fn(seg.obs[:, 0], seg.actions[:, 0], seg.next_obs[:, 0], np.zeros(300, bool))
    assert np.corrcoef(r, seg.returns())[0, 1] > 0.8
    assert fn.stats["labelled_pairs"] == 300


def test_inline_model_is_trained_once_per_process():
    spec = rl.rewards.Learned(preferences=SMALL)
    assert spec.build("pendulum").model is spec.build("pendulum").model


def test_saved_model_round_trips_through_the_spec(tmp_path):
    model = RewardModel.for_env("cartpole", hidden=(8,), seed=3)
    model.save(tmp_path / "rm")
    fn = rl.rewards.Learned(model=str(tmp_path / "rm"), scale=2.0).build("cartpole")
    seg = collect_segments("cartpole", 20, 1, seed=0)
    obs, act, nxt = seg.obs[:, 0], seg.actions[:, 0], seg.next_obs[:, 0]
    np.testing.assert_allclose(fn(obs, act, nxt, np.zeros(20, bool)), 2.0 * model.predict(obs, act, nxt))


def test_model_of_another_env_is_rejected(tmp_path):
    RewardModel.for_env("cartpole", hidden=(8,)).save(tmp_path / "rm")
    with pytest.raises(rl.ConfigError, match=r"cartpole"):
        rl.rewards.Learned(model=str(tmp_path / "rm")).build("acrobot")


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({}, r"model.*present"),
        ({"model": "x", "preferences": {}}, r"model.*empty when `preferences`"),
        ({"preferences": {"n_pair": 3}}, r"n_pairs"),
        ({"preferences": {"temperature": -1.0}}, r"temperature"),
        ({"preferences": {"features": ["obs", 3]}}, r"features"),
        ({"model": "x", "scale": 0.0}, r"scale"),
    ],
    ids=["nothing", "both", "typo", "negative-temperature", "bad-feature", "zero-scale"],
)
def test_bad_learned_specs_name_the_field(fields, match):
    with pytest.raises(rl.ConfigError, match=match):
        rl.rewards.from_dict({"kind": "learned", **fields})


def test_batched_rewards_equal_per_env_rewards(tmp_path):
    """The vector wrapper's one batched model call gives the per-env wrapper's rewards."""
    RewardModel.for_env("pendulum", hidden=(16, 16), ensemble=2, seed=1).save(tmp_path / "rm")
    spec = rl.rewards.Learned(model=str(tmp_path / "rm"))
    rewards = {}
    for wrapper in ("vector", "single"):
        venv = rl.make_vec_env("pendulum", reward=spec, n_envs=4, seed=0, wrapper=wrapper)
        venv.reset()
        rng = np.random.default_rng(0)
        rows = []
        for _ in range(30):
            _, r, _, _ = venv.step(rng.uniform(-2, 2, size=(4, 1)).astype(np.float32))
            rows.append(r)
        rewards[wrapper] = np.array(rows)
        venv.close()
    np.testing.assert_allclose(rewards["vector"], rewards["single"], rtol=1e-5, atol=1e-6)


def test_learned_rewards_combine_through_log_sigmoid_terms(tmp_path):
    RewardModel.for_env("pendulum", hidden=(8,), seed=0).save(tmp_path / "a")
    RewardModel.for_env("pendulum", hidden=(8,), seed=1).save(tmp_path / "b")
    spec = rl.rewards.from_dict(
        {
            "kind": "terms",
            "terms": {
                "upright": {"reward": {"kind": "learned", "model": str(tmp_path / "a")}, "log_sigmoid": {"ref": 0.0}},
                "gentle": {"reward": {"kind": "learned", "model": str(tmp_path / "b")}, "log_sigmoid": {"ref": 0.5}},
            },
        }
    )
    assert rl.rewards.from_dict(spec.to_dict()) == spec
    fn = spec.build("pendulum")
    seg = collect_segments("pendulum", 10, 1, seed=0)
    obs, act, nxt = seg.obs[:, 0], seg.actions[:, 0], seg.next_obs[:, 0]
    total, terms = fn.compute(obs, act, nxt, np.zeros(10, bool))
    a = RewardModel.load(tmp_path / "a").predict(obs, act, nxt)
    np.testing.assert_allclose(terms["upright"], -np.logaddexp(0.0, -a), rtol=1e-6)
    assert (total <= 0).all()  # a sum of log-sigmoids is "good on every property" at best 0


def test_inline_training_takes_factor_names_as_inputs():
    prefs = {"n_segments": 12, "length": 10, "n_pairs": 20, "epochs": 2, "hidden": [8]}
    spec = rl.rewards.Learned(preferences={**prefs, "features": ["pole_angle", "cart_offset"]})
    fn = spec.build("cartpole_fixed")
    assert fn.model.features.factors == ("pole_angle", "cart_offset") and not fn.model.features.obs
    venv = rl.make_vec_env("cartpole_fixed", reward=spec, n_envs=2, seed=0)
    venv.reset()
    _, reward, _, _ = venv.step(np.zeros(2, dtype=np.int64))
    venv.close()
    assert np.isfinite(reward).all() and reward.shape == (2,)
    with pytest.raises(rl.ConfigError, match=r"pole_angel.*Did you mean 'pole_angle'"):
        rl.rewards.Learned(preferences={**prefs, "features": ["pole_angel"]}).build("cartpole_fixed")
