from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardlab.errors import ConfigError, UnknownNameError
from rewardlab.preferences import (
    BoltzmannOracle,
    FeatureSpec,
    PreferenceDataset,
    RewardModel,
    TrainReport,
    bradley_terry_loss,
    collect_segments,
    label_pairs,
    preference_probability,
    train_reward_model,
)

torch.set_num_threads(1)


def random_pairs(n: int, m: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, n, m)
    b = (a + rng.integers(1, n, m)) % n
    return np.stack([a, b], axis=1)


def labelled(env: str, n_segments: int, length: int, n_pairs: int, seed: int = 0) -> PreferenceDataset:
    """Segments of ``env`` labelled by a noiseless teacher of the env's own reward."""
    seg = collect_segments(env, n_segments=n_segments, length=length, seed=seed)
    pairs = random_pairs(n_segments, n_pairs, seed)
    return PreferenceDataset(seg, pairs, label_pairs(seg, pairs, BoltzmannOracle(temperature=0.0)))


@pytest.fixture(scope="module")
def pendulum_data() -> PreferenceDataset:
    return labelled("pendulum", 200, 10, 1000)


@pytest.fixture(scope="module")
def trained(pendulum_data: PreferenceDataset) -> tuple[RewardModel, TrainReport]:
    model = RewardModel.for_env("pendulum", hidden=(64, 64), seed=0)
    report = train_reward_model(model, pendulum_data, epochs=30, seed=0)
    return model, report


# --- Bradley-Terry ------------------------------------------------------------------------------------


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@settings(max_examples=100, deadline=None)
@given(finite, finite)
def test_preference_probabilities_of_both_orders_sum_to_one(ra, rb):
    p = preference_probability(np.float64(ra), np.float64(rb)) + preference_probability(np.float64(rb), np.float64(ra))
    assert p == pytest.approx(1.0, abs=1e-12)
    t = torch.tensor([ra], dtype=torch.float64)
    u = torch.tensor([rb], dtype=torch.float64)
    assert float(preference_probability(t, u) + preference_probability(u, t)) == pytest.approx(1.0, abs=1e-12)


def test_preference_probability_is_the_logistic_of_the_return_difference():
    np.testing.assert_allclose(preference_probability(np.array([3.0]), np.array([1.0])), [1 / (1 + math.exp(-2.0))])


def test_bradley_terry_loss_equals_hand_computed_value_with_noise_and_soft_labels():
    ra, rb, y, eps = [1.0, 0.0, -0.5], [0.0, 2.0, 0.5], [1.0, 0.5, 0.0], 0.1

    def sig(x):
        return 1.0 / (1.0 + math.exp(-x))

    expected = 0.0
    for a, b, label in zip(ra, rb, y, strict=True):
        p = (1 - eps) * sig(a - b) + eps / 2
        expected -= label * math.log(p) + (1 - label) * math.log(1 - p)
    expected /= 3
    loss = bradley_terry_loss(
        torch.tensor(ra, dtype=torch.float64), torch.tensor(rb, dtype=torch.float64), torch.tensor(y), eps
    )
    assert float(loss) == pytest.approx(expected, rel=1e-12)
    plain = bradley_terry_loss(torch.tensor([2.0]), torch.tensor([0.0]), torch.tensor([1.0]))
    assert float(plain) == pytest.approx(-math.log(sig(2.0)), rel=1e-6)


def test_bradley_terry_loss_is_finite_for_huge_return_differences():
    ra = torch.tensor([1e4, -1e4], dtype=torch.float32, requires_grad=True)
    rb = torch.zeros(2)
    loss = bradley_terry_loss(ra, rb, torch.tensor([0.0, 1.0]))  # both labels wrong
    loss.backward()
    assert loss.item() == pytest.approx(1e4, rel=1e-6)  # -log sigmoid(-1e4) = 1e4
    assert torch.isfinite(ra.grad).all()
    right = bradley_terry_loss(ra.detach(), rb, torch.tensor([1.0, 0.0]))
    assert float(right) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("eps", [0.1, 0.3], ids=["eps=0.1", "eps=0.3"])
def test_noise_prob_limits_probabilities_to_half_eps_and_one_minus_half_eps(eps):
    big = torch.tensor([-1e4], dtype=torch.float64)
    zero = torch.zeros(1, dtype=torch.float64)
    # a label of 1 on a pair the model says is surely lost: p = eps/2, not 0
    assert float(bradley_terry_loss(big, zero, torch.tensor([1.0]), eps)) == pytest.approx(-math.log(eps / 2))
    assert float(bradley_terry_loss(-big, zero, torch.tensor([1.0]), eps)) == pytest.approx(-math.log(1 - eps / 2))


def test_bradley_terry_loss_rejects_noise_prob_of_one():
    with pytest.raises(ConfigError, match="noise_prob"):
        bradley_terry_loss(torch.zeros(1), torch.zeros(1), torch.ones(1), 1.0)


# --- model, features, inference -----------------------------------------------------------------------


def test_discrete_actions_are_one_hot_after_the_observation():
    model = RewardModel.for_env("cartpole", hidden=(8,))
    obs = np.arange(8, dtype=np.float32).reshape(2, 4)
    x = model.featurize(obs, np.array([1, 0]), None)
    np.testing.assert_array_equal(x, [[0, 1, 2, 3, 0, 1], [4, 5, 6, 7, 1, 0]])
    assert x.dtype == np.float32
    both = RewardModel.for_env("cartpole", FeatureSpec(action=False, next_obs=True), hidden=(8,))
    np.testing.assert_array_equal(both.featurize(obs, None, obs + 1)[0], [0, 1, 2, 3, 1, 2, 3, 4])


def test_factor_features_follow_the_spec_order():
    model = RewardModel.for_env("pendulum", FeatureSpec(obs=False, action=False, factors=("torque_cost", "angle_cost")))
    x = model.featurize(None, None, None, {"angle_cost": np.array([1.0, 2.0]), "torque_cost": np.array([3.0, 4.0])})
    np.testing.assert_array_equal(x, [[3, 1], [4, 2]])
    with pytest.raises(UnknownNameError, match="torque_cost"):
        model.featurize(None, None, None, {"angle_cost": np.array([1.0])})


@pytest.mark.parametrize("ensemble", [1, 3], ids=["E=1", "E=3"])
def test_numpy_inference_equals_the_torch_forward(ensemble):
    model = RewardModel.for_env("pendulum", FeatureSpec(next_obs=True), hidden=(32, 16), ensemble=ensemble, seed=3)
    model.fit_input_normalization(np.random.default_rng(0).normal(2.0, 3.0, size=(100, model.n_features)))
    rng = np.random.default_rng(1)
    obs, act, nxt = rng.normal(size=(8, 3)), rng.normal(size=(8, 1)), rng.normal(size=(8, 3))
    members = model.predict_members(obs, act, nxt)
    assert members.shape == (ensemble, 8)
    x = torch.as_tensor(model.featurize(obs, act, nxt))
    with torch.no_grad():
        reference = model.module(x).numpy()
    np.testing.assert_allclose(members, reference, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(model.predict(obs, act, nxt), reference.mean(axis=0), rtol=1e-6, atol=1e-6)
    assert model.predict(obs, act, nxt).shape == (8,)


def test_segment_returns_sum_member_rewards_over_real_steps_only():
    seg = collect_segments("cartpole", n_segments=6, length=30, seed=0)
    assert not seg.mask.all()  # some padding to ignore
    model = RewardModel.for_env("cartpole", hidden=(8,), ensemble=2)
    returns = model.segment_returns(seg)
    assert returns.shape == (2, 6) and returns.requires_grad
    expected = np.zeros((2, 6))
    for i in range(6):
        m = seg.mask[i]
        expected[:, i] = model.predict_members(seg.obs[i][m], seg.actions[i][m], seg.next_obs[i][m]).sum(axis=1)
    np.testing.assert_allclose(returns.detach().numpy(), expected, rtol=1e-5, atol=1e-5)


def test_output_normalization_gives_mean_zero_std_one_on_the_fitted_steps():
    seg = collect_segments("pendulum", n_segments=20, length=10, seed=0)
    model = RewardModel.for_env("pendulum", hidden=(16,))
    model.fit_output_normalization(seg)
    m = seg.mask
    r = model.predict(seg.obs[m], seg.actions[m], seg.next_obs[m])
    assert r.mean() == pytest.approx(0.0, abs=1e-5)
    assert r.std() == pytest.approx(1.0, abs=1e-5)
    raw = model.predict_members(seg.obs[m], seg.actions[m], seg.next_obs[m]).mean(axis=0)
    np.testing.assert_allclose(r, (raw - raw.mean()) / raw.std(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"ensemble": 0}, "ensemble"),
        ({"hidden": (64, 0)}, "hidden"),
        ({"hidden": "64"}, "hidden"),
        ({"activation": "rellu"}, "Did you mean 'relu'"),
        ({"features": FeatureSpec(factors=("angle_cst",))}, "Did you mean 'angle_cost'"),
        ({"seed": -1}, "seed"),
    ],
    ids=["ensemble", "hidden-zero", "hidden-str", "activation", "factor", "seed"],
)
def test_bad_model_arguments_raise_config_errors_naming_them(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        RewardModel.for_env("pendulum", **kwargs)


def test_feature_spec_needs_at_least_one_input():
    with pytest.raises(ConfigError, match="at least one input"):
        FeatureSpec(obs=False, action=False)
    with pytest.raises(ConfigError, match="factors"):
        FeatureSpec(factors="angle_cost")  # type: ignore[arg-type]


# --- training ----------------------------------------------------------------------------------------


def test_training_recovers_the_ranking_of_the_true_reward(trained):
    _, report = trained
    assert report.val_accuracy is not None and report.val_accuracy > 0.9
    assert report.n_pairs == 1000 and report.n_val == 200 and report.n_train == 800
    assert len(report.history) == report.epochs
    json.dumps(report.to_dict())


def test_learned_step_rewards_correlate_with_the_true_reward_on_held_out_steps(trained):
    model, _ = trained
    held_out = collect_segments("pendulum", n_segments=50, length=10, seed=123)
    m = held_out.mask
    pred = model.predict(held_out.obs[m], held_out.actions[m], held_out.next_obs[m])
    assert np.corrcoef(pred, held_out.env_rewards[m])[0, 1] > 0.9


def small_data() -> PreferenceDataset:
    return labelled("pendulum", 40, 5, 120, seed=1)


def test_same_seed_gives_identical_weights_and_another_seed_does_not():
    data = small_data()
    states = []
    for seed in (0, 0, 1):
        model = RewardModel.for_env("pendulum", hidden=(16,), ensemble=2, seed=seed)
        train_reward_model(model, data, epochs=3, seed=seed)
        states.append(model.module.state_dict())
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    assert not all(torch.equal(states[0][k], states[2][k]) for k in states[0])


def test_bootstrap_changes_what_members_see():
    data = small_data()
    weights = []
    for bootstrap in (True, False):
        model = RewardModel.for_env("pendulum", hidden=(16,), ensemble=2)
        train_reward_model(model, data, epochs=2, bootstrap=bootstrap)
        weights.append(model.module.weights[0].detach().clone())
    assert not torch.equal(weights[0], weights[1])


def test_warm_start_keeps_weights_and_input_normalization_unless_refit():
    data = small_data()
    model = RewardModel.for_env("pendulum", hidden=(16,))
    train_reward_model(model, data, epochs=3)
    mean = model.module.input_mean.clone()
    weights = [w.detach().clone() for w in model.module.weights]
    grown = labelled("pendulum", 80, 5, 240, seed=2)
    train_reward_model(model, grown, epochs=1, lr=1e-9)
    assert torch.equal(model.module.input_mean, mean)
    for before, after in zip(weights, model.module.weights, strict=True):
        torch.testing.assert_close(after.detach(), before, atol=1e-6, rtol=0)  # continued, not re-initialised
    train_reward_model(model, grown, epochs=1, lr=1e-9, refit_normalization=True)
    assert not torch.equal(model.module.input_mean, mean)


def test_early_stopping_restores_the_best_validation_weights():
    data = small_data()
    model = RewardModel.for_env("pendulum", hidden=(64,))
    report = train_reward_model(model, data, epochs=300, lr=3e-2, patience=3, batch_size=16)
    assert report.epochs < 300
    best = min(row["val_loss"] for row in report.history)
    assert report.val_loss == pytest.approx(best, rel=1e-5)


def test_without_validation_split_all_epochs_run_and_val_metrics_are_none():
    report = train_reward_model(RewardModel.for_env("pendulum", hidden=(8,)), small_data(), epochs=4, val_fraction=0)
    assert report.epochs == 4 and report.n_val == 0
    assert report.val_loss is None and report.val_accuracy is None
    assert 0.0 <= report.train_accuracy <= 1.0 and report.pairs_per_second > 0


def test_training_rejects_a_dataset_of_another_env():
    data = labelled("cartpole", 10, 5, 20)
    with pytest.raises(ConfigError, match=r"dataset\.env"):
        train_reward_model(RewardModel.for_env("pendulum"), data)


def test_training_rejects_segments_without_the_model_factors():
    data = small_data()
    seg = data.segments
    stripped = type(seg)(
        seg.obs, seg.actions, seg.next_obs, seg.dones, seg.truncated, seg.env_rewards, {}, seg.mask, seg.env
    )
    model = RewardModel.for_env("pendulum", FeatureSpec(factors=("angle_cost",)))
    with pytest.raises(ConfigError, match="angle_cost"):
        train_reward_model(model, PreferenceDataset(stripped, data.pairs, data.labels))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"epochs": 0}, "epochs"),
        ({"val_fraction": 1.0}, "val_fraction"),
        ({"lr": -1.0}, "lr"),
        ({"noise_prob": 1}, "noise_prob"),
    ],
    ids=["epochs", "val_fraction", "lr", "noise_prob"],
)
def test_bad_training_arguments_raise_config_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        train_reward_model(RewardModel.for_env("pendulum", hidden=(8,)), small_data(), **kwargs)


# --- save / load ---------------------------------------------------------------------------------------


def test_save_load_round_trip_gives_identical_predictions(tmp_path):
    data = labelled("pendulum", 30, 5, 60)
    model = RewardModel.for_env(
        "pendulum", FeatureSpec(next_obs=True, factors=("angle_cost",)), hidden=(8,), ensemble=2
    )
    train_reward_model(model, data, epochs=2)
    model.fit_output_normalization(data.segments)
    path = model.save(tmp_path / "rm")
    assert sorted(p.name for p in path.iterdir()) == ["model.json", "model.safetensors"]
    loaded = RewardModel.load(path)
    seg = data.segments
    m = seg.mask
    factors = {"angle_cost": seg.factors["angle_cost"][m]}
    args = (seg.obs[m], seg.actions[m], seg.next_obs[m], factors)
    np.testing.assert_array_equal(loaded.predict(*args), model.predict(*args))
    np.testing.assert_array_equal(loaded.predict_members(*args), model.predict_members(*args))
    assert loaded.features == model.features and loaded.env == "pendulum" and loaded.hidden == (8,)
    assert loaded.report == model.report and loaded.input_fitted and loaded.output_fitted
    assert json.loads((path / "model.json").read_text())["action_space"]["type"] == "Box"


def test_save_load_round_trip_of_a_discrete_model(tmp_path):
    model = RewardModel.for_env("cartpole", hidden=(4,))
    loaded = RewardModel.load(model.save(tmp_path / "rm"))
    obs, act = np.ones((3, 4)), np.array([0, 1, 1])
    np.testing.assert_array_equal(loaded.predict(obs, act, None), model.predict(obs, act, None))


@pytest.fixture
def saved(tmp_path):
    return RewardModel.for_env("pendulum", hidden=(8,)).save(tmp_path / "rm")


def test_load_rejects_a_missing_directory_or_file(tmp_path, saved):
    with pytest.raises(ConfigError, match=r"model\.json"):
        RewardModel.load(tmp_path / "nowhere")
    (saved / "model.safetensors").unlink()
    with pytest.raises(ConfigError, match=r"model\.safetensors"):
        RewardModel.load(saved)


class _Payload:
    def __reduce__(self):
        return (open, (str(_Payload.marker), "w"))

    marker = None


def test_load_never_unpickles_a_pickle_named_model_safetensors(tmp_path, saved):
    marker = tmp_path / "pwned"
    _Payload.marker = marker
    (saved / "model.safetensors").write_bytes(pickle.dumps({"weights": _Payload()}))
    with pytest.raises(ConfigError, match="safetensors"):
        RewardModel.load(saved)
    assert not marker.exists()


def test_load_rejects_an_unknown_format_version(saved):
    desc = json.loads((saved / "model.json").read_text())
    desc["format_version"] = 99
    (saved / "model.json").write_text(json.dumps(desc))
    with pytest.raises(ConfigError, match="format_version"):
        RewardModel.load(saved)


def test_load_rejects_weights_that_do_not_match_the_architecture(saved):
    desc = json.loads((saved / "model.json").read_text())
    desc["architecture"]["hidden"] = [9]
    (saved / "model.json").write_text(json.dumps(desc))
    with pytest.raises(ConfigError, match="shape"):
        RewardModel.load(saved)


def _edit(saved, edit):
    desc = json.loads((saved / "model.json").read_text())
    edit(desc)
    (saved / "model.json").write_text(json.dumps(desc))


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda d: d["architecture"].update(hiden=[8]), r"`architecture.hiden` must be a known field .*'hidden'"),
        (lambda d: d.update(featurs={}), r"`featurs` must be a known field \(got 'featurs'\). Did you mean 'features'"),
        (lambda d: d["action_space"].update(shap=[1]), r"`action_space.shap` must be a known field .*'shape'"),
        (lambda d: d["normalization"].update(fitted=True), r"`normalization.fitted` must be a known field"),
        (lambda d: d["architecture"].update(hidden="big"), r"`architecture.hidden` must be a list of positive layer"),
        (lambda d: d["architecture"].update(ensemble=0), r"`architecture.ensemble` must be a positive integer"),
        (lambda d: d["architecture"].update(activation="relux"), r"`architecture.activation` must be an activation"),
        (lambda d: d.pop("features"), r"`features` must be present"),
    ],
    ids=["arch-key", "top-key", "space-key", "norm-key", "hidden-text", "ensemble-0", "activation", "no-features"],
)
def test_load_rejects_an_unknown_or_mistyped_key_naming_it_and_the_file(saved, edit, match):
    _edit(saved, edit)
    with pytest.raises(ConfigError, match=match) as info:
        RewardModel.load(saved)
    assert str(saved / "model.json") in str(info.value)


def test_load_rejects_an_unknown_training_report_key(tmp_path):
    data = labelled("pendulum", 10, 5, 10)
    model = RewardModel.for_env("pendulum", hidden=(4,))
    train_reward_model(model, data, epochs=1)
    saved = model.save(tmp_path / "rm")
    _edit(saved, lambda d: d["training"].update(n_pair=3))
    with pytest.raises(ConfigError, match=r"`training.n_pair` must be a known field .*'n_pairs'"):
        RewardModel.load(saved)


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda d: d["architecture"].update(hidden=[600_000, 2000]), r"`architecture.hidden` must be \[8\], the layer"),
        (lambda d: d["architecture"].update(ensemble=10**9), r"`architecture.ensemble` must be 1, the members"),
        (lambda d: d["observation_space"].update(shape=[10**9], low=[0.0], high=[1.0]), r"observation_space"),
        (lambda d: d["architecture"].update(n_features=10**9), r"`architecture.n_features` must be 4"),
    ],
    ids=["hidden-4.8GB", "ensemble", "obs-shape", "n-features"],
)
def test_load_checks_sizes_against_the_weights_before_allocating(saved, edit, match, monkeypatch):
    import rewardlab.rewards._network as network

    def no_allocation(*args, **kwargs):
        raise AssertionError("the model was built for a doctored model.json")

    _edit(saved, edit)
    monkeypatch.setattr(network, "EnsembleMLP", no_allocation)
    with pytest.raises(ConfigError, match=match):
        RewardModel.load(saved)
