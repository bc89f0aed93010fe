"""Sample-based EPIC and STARC-VAL: agreement with the exact tabular metrics, invariances, determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _metrics_helpers import random_transitions

import rewardlab as rl
from rewardlab.errors import ConfigError, UnknownNameError, UntrustedFileError
from rewardlab.metrics import (
    Estimate,
    TabularMDP,
    Transitions,
    epic_distance,
    epic_estimate,
    estimate_distances,
    sample_transitions,
    starc_distance,
    starc_val_estimate,
)

N_S, N_A, GAMMA = 5, 3, 0.9


def _table_reward(table: np.ndarray):
    """A tabular ``R[s, a, s']`` as a batched reward on one-hot observations and integer actions."""

    def reward(obs, action, next_obs, done):
        return table[np.argmax(obs, axis=1), np.asarray(action, dtype=int), np.argmax(next_obs, axis=1)]

    return reward


def _tabular_sample(t: np.ndarray, n: int, seed: int) -> Transitions:
    """States and actions uniform, s' ~ τ(s, a): coverage D(s, a, s') = τ(s, a, s') / (S A)."""
    rng = np.random.default_rng(seed)
    s = rng.integers(N_S, size=n)
    a = rng.integers(N_A, size=n)
    cdf = np.cumsum(t[s, a], axis=1)
    nxt = np.minimum((rng.random(n)[:, None] > cdf).sum(axis=1), N_S - 1)
    eye = np.eye(N_S)
    return Transitions(eye[s], a, eye[nxt], np.zeros(n, dtype=bool))


@pytest.fixture
def tabular():
    rng = np.random.default_rng(7)
    t = random_transitions(rng, N_S, N_A)
    r1 = rng.normal(size=(N_S, N_A, N_S))
    r2 = r1 + 0.8 * rng.normal(size=(N_S, N_A, N_S))
    return TabularMDP(t, gamma=GAMMA), t, r1, r2


@pytest.mark.parametrize("n", [4_000, 16_000], ids=["n=4k", "n=16k"])
def test_epic_estimate_matches_exact_epic_on_a_tabular_mdp(tabular, n):
    mdp, t, r1, r2 = tabular
    exact = epic_distance(r1, r2, mdp, coverage=t / (N_S * N_A))  # uniform D_S, D_A; coverage of the sample
    sample = _tabular_sample(t, n, seed=1)
    est = epic_estimate(
        _table_reward(r1),
        _table_reward(r2),
        sample,
        gamma=GAMMA,
        n_canonical=512,
        states=np.eye(N_S),  # uniform D_S
        actions=np.arange(N_A),  # uniform D_A
        seed=3,
    )
    assert est.ci_low <= exact <= est.ci_high
    assert abs(est.value - exact) < 3.0 / math.sqrt(n)
    assert (est.n_transitions, est.n_canonical_samples, est.method) == (n, 512, "epic")


def test_starc_val_estimate_with_tabular_features_matches_exact_starc(tabular):
    # With deterministic τ the single-sample VAL form is exact, and one-hot features make LSTD exact.
    _, _, r1, r2 = tabular
    rng = np.random.default_rng(2)
    det = np.zeros((N_S, N_A, N_S))
    det[np.arange(N_S)[:, None], np.arange(N_A)[None, :], rng.integers(N_S, size=(N_S, N_A))] = 1.0
    exact = starc_distance(r1, r2, TabularMDP(det, gamma=GAMMA), "val")  # uniform π
    sample = _tabular_sample(det, 20_000, seed=4)
    est = starc_val_estimate(
        _table_reward(r1), _table_reward(r2), sample, gamma=GAMMA, features=lambda x: x, ridge=0.0, seed=5
    )
    assert est.ci_low <= exact <= est.ci_high
    assert abs(est.value - exact) < 0.02


@pytest.mark.parametrize("metric", ["epic", "starc-val"])
def test_potential_shaping_leaves_the_estimate_near_zero(tabular, metric):
    _, t, r1, _ = tabular
    phi = np.random.default_rng(9).normal(size=N_S)
    shaped = r1 + GAMMA * phi[None, None, :] - phi[:, None, None]
    sample = _tabular_sample(t, 3_000, seed=6)
    kwargs = {"features": lambda x: x, "ridge": 0.0} if metric == "starc-val" else {"n_canonical": 64}
    est = estimate_distances([_table_reward(r1), _table_reward(shaped)], sample, metric, gamma=GAMMA, **kwargs)[0][1]
    assert est.value < 1e-9 and est.ci_high < 1e-9


@pytest.mark.parametrize("metric", ["epic", "starc-val"])
def test_identical_rewards_are_at_exactly_zero_and_negated_at_one(tabular, metric):
    _, t, r1, _ = tabular
    sample = _tabular_sample(t, 1_000, seed=8)
    same = estimate_distances([_table_reward(r1), _table_reward(r1.copy())], sample, metric, gamma=GAMMA)[0][1]
    assert same.value == 0.0 and same.ci_low == 0.0 and same.ci_high == 0.0
    neg = estimate_distances([_table_reward(r1), _table_reward(-r1)], sample, metric, gamma=GAMMA)[0][1]
    assert neg.value == pytest.approx(1.0, abs=1e-12)
    positive_affine = _table_reward(3.0 * r1 + (2.0 if metric == "epic" else 0.0))
    scaled = estimate_distances([_table_reward(r1), positive_affine], sample, metric, gamma=GAMMA)[0][1]
    assert scaled.value < 1e-12


@pytest.mark.parametrize("metric", ["epic", "starc-val"])
def test_estimates_are_deterministic_under_a_seed(tabular, metric):
    _, t, r1, r2 = tabular
    sample = _tabular_sample(t, 1_000, seed=10)
    rewards = [_table_reward(r1), _table_reward(r2)]
    first = estimate_distances(rewards, sample, metric, gamma=GAMMA, seed=11)[0][1]
    assert estimate_distances(rewards, sample, metric, gamma=GAMMA, seed=11)[0][1] == first
    other = estimate_distances(rewards, sample, metric, gamma=GAMMA, seed=12)[0][1]
    assert (other.ci_low, other.ci_high) != (first.ci_low, first.ci_high)


def test_epic_chunking_does_not_change_the_result(tabular, monkeypatch):
    import rewardlab.metrics._sampled as sampled

    _, t, r1, r2 = tabular
    sample = _tabular_sample(t, 500, seed=13)
    rewards = [_table_reward(r1), _table_reward(r2)]
    whole = epic_estimate(*rewards, sample, gamma=GAMMA, n_canonical=32)
    monkeypatch.setattr(sampled, "_CHUNK_ROWS", 100)  # 1 transition per reward call
    chunked = epic_estimate(*rewards, sample, gamma=GAMMA, n_canonical=32)
    assert chunked.value == pytest.approx(whole.value, abs=1e-14)
    assert chunked.ci_low == pytest.approx(whole.ci_low, abs=1e-14)


# --- suite envs -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pendulum_sample() -> Transitions:
    return sample_transitions("pendulum", 600, seed=0)


@pytest.mark.parametrize("metric", ["epic", "starc-val"])
def test_pendulum_ground_truth_terms_are_at_zero_and_dropping_velocity_is_not(pendulum_sample, metric):
    gt_terms = rl.rewards.Terms({"angle_cost": -1.0, "velocity_cost": -0.1, "torque_cost": -0.001})
    no_velocity = rl.rewards.Terms({"angle_cost": -1.0, "torque_cost": -0.001})
    fns = [spec.build("pendulum") for spec in (rl.rewards.Env(), gt_terms, no_velocity)]
    matrix = estimate_distances(fns, pendulum_sample, metric, n_canonical=64, n_bootstrap=50)
    assert matrix[0][1].value == pytest.approx(0.0, abs=1e-9)
    assert matrix[0][2].value > 0.01 and matrix[0][2].ci_low > 0.0


def test_sampled_transitions_include_hidden_dims_and_round_trip_through_npz(tmp_path):
    cheetah = rl.suite.get("halfcheetah")
    sample = sample_transitions(cheetah, 20, seed=1)
    assert sample.obs.shape[1] == cheetah.make().observation_space.shape[0]  # hidden x position kept
    path = sample.save(tmp_path / "data.npz")
    loaded = Transitions.load(path)
    for name in ("obs", "actions", "next_obs", "dones"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(sample, name))
    assert loaded.env == "halfcheetah"
    again = sample_transitions(cheetah, 10, policy=path, seed=2)
    assert len(again) == 10 and again.obs.shape == (10, sample.obs.shape[1])


def test_sampling_is_deterministic_and_marks_terminations_only():
    a = sample_transitions("cartpole", 300, seed=3)
    b = sample_transitions("cartpole", 300, seed=3)
    np.testing.assert_array_equal(a.obs, b.obs)
    assert a.dones.any()  # a random CartPole policy falls within 300 steps
    assert not sample_transitions("pendulum", 250, seed=3).dones.any()  # truncation is not done


def test_an_sb3_model_policy_sees_the_agent_observation(tmp_path):
    from stable_baselines3 import SAC

    venv = rl.make_vec_env("halfcheetah", n_envs=1, seed=0)
    model = SAC("MlpPolicy", venv, learning_starts=10, policy_kwargs={"net_arch": [8]}, seed=0)
    sample = sample_transitions("halfcheetah", 15, policy=model, seed=0)
    assert sample.obs.shape == (15, venv.observation_space.shape[0] + 1)
    assert np.all(np.abs(sample.actions) <= 1.0)
    model.save(tmp_path / "model.zip")  # no config.json beside it: only unpickling its header can load it
    with pytest.raises(UntrustedFileError, match="--trust-pickle"):
        sample_transitions("halfcheetah", 15, policy=str(tmp_path / "model.zip"), seed=0)
    from_zip = sample_transitions(
        "halfcheetah", 15, policy=str(tmp_path / "model.zip"), seed=0, deterministic=True, trust=True
    )
    np.testing.assert_array_equal(
        from_zip.actions, sample_transitions("halfcheetah", 15, model, seed=0, deterministic=True).actions
    )


def test_bad_inputs_raise_clear_errors(pendulum_sample, tmp_path):
    fn = rl.rewards.Env().build("pendulum")
    with pytest.raises(UnknownNameError, match="Did you mean 'starc-val'"):
        estimate_distances([fn, fn], pendulum_sample, "starc_val")
    with pytest.raises(ConfigError, match="`n` must be an integer >= 1"):
        sample_transitions("pendulum", 0)
    with pytest.raises(ConfigError, match="`gamma` must be in the open interval"):
        epic_estimate(fn, fn, pendulum_sample, gamma=1.0)
    with pytest.raises(ConfigError, match="`policy` must be"):
        sample_transitions("pendulum", 5, policy="nope.zip")
    with pytest.raises(ConfigError, match="`n` must be at most"):
        sample_transitions("pendulum", 10_000, policy=pendulum_sample.save(tmp_path / "t.npz"))


def test_estimate_prints_value_and_interval():
    assert str(Estimate(0.25, 0.2, 0.3, 10, 5, "epic")) == "0.250 [0.200, 0.300]"


def test_a_constant_reward_is_trivial_for_the_sampled_epic_and_undefined():
    rng = np.random.default_rng(3)
    t = Transitions(
        rng.normal(size=(300, 2)), rng.normal(size=(300, 1)), rng.normal(size=(300, 2)), np.zeros(300, bool)
    )
    varied = lambda o, a, n, d: o[:, 0] + a[:, 0]
    constant = lambda o, a, n, d: np.full(len(o), 1.0)
    matrix = estimate_distances([varied, constant], t, "epic", n_canonical=16, n_bootstrap=20, names=["v", "c"])
    est = matrix[0][1]
    assert not est.defined and math.isnan(est.value) and math.isnan(est.ci_low) and math.isnan(est.ci_high)
    assert est.reason is not None and est.reason.startswith("'c' is trivial: its EPIC canonical form is constant")
    assert str(est) == f"undefined ({est.reason})"
    assert matrix[0][0].defined and matrix[0][0].value == 0.0 and not matrix[1][1].defined
    assert matrix[1][0] is est


def test_a_constant_reward_is_trivial_for_starc_val_only_without_termination():
    rng = np.random.default_rng(4)
    obs, act, nxt = rng.normal(size=(400, 2)), rng.normal(size=(400, 1)), rng.normal(size=(400, 2))
    varied = lambda o, a, n, d: o[:, 0] + a[:, 0]
    constant = lambda o, a, n, d: np.full(len(o), 1.0)
    never = Transitions(obs, act, nxt, np.zeros(400, dtype=bool))
    est = starc_val_estimate(varied, constant, never, n_bootstrap=10)
    assert not est.defined and "reward 1 is trivial: its STARC-VAL canonical form is 0" in str(est)
    # With episodes that end, +1 per step rewards surviving: a real reward for STARC-VAL (CartPole's).
    ends = Transitions(obs, act, nxt, rng.random(400) < 0.05)
    est = starc_val_estimate(varied, constant, ends, n_bootstrap=10)
    assert est.defined and 0.0 < est.value <= 1.0
