"""STARC distances and the canonicalisations: hand examples, invariances, metric axioms."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg as sla
import scipy.sparse as sp
from _metrics_helpers import CASES, random_mdp, random_transitions, redistribute, shape
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardlab.errors import ConfigError, UnknownNameError
from rewardlab.metrics import TabularMDP, canonicalize, epic_distance, starc_distance

FAST = settings(max_examples=30, deadline=None)
STARC = ("val", "minimal")
ALL = ("val", "minimal", "epic", "dard")
ORDERS = (1, 2, math.inf)


def _stay_switch(gamma: float = 0.5) -> TabularMDP:
    """2 states; action 0 stays, action 1 switches; deterministic."""
    t = np.zeros((2, 2, 2))
    t[0, 0, 0] = t[1, 0, 1] = 1.0
    t[0, 1, 1] = t[1, 1, 0] = 1.0
    return TabularMDP(t, gamma=gamma)


# --- hand-computed examples -------------------------------------------------------------------


def test_val_of_a_state_reward_is_the_hand_computed_advantage():
    # γ = 0.5, R(s) = s, uniform π. V = [.5, 1.5] (see test_mdp). Q(s, a) = R(s) + γ V(next):
    #   Q(0, stay) = 0 + .5 * .5 = .25      Q(0, switch) = 0 + .5 * 1.5 = .75
    #   Q(1, stay) = 1 + .5 * 1.5 = 1.75    Q(1, switch) = 1 + .5 * .5 = 1.25
    # c_VAL(s, a, ·) = A(s, a) = Q(s, a) − V(s) = [[−.25, .25], [.25, −.25]], for every s'.
    c = canonicalize(np.array([0.0, 1.0]), _stay_switch(), "val")
    expected = np.array([[-0.25, 0.25], [0.25, -0.25]])
    np.testing.assert_allclose(c, np.repeat(expected[:, :, None], 2, axis=2), atol=1e-15)


def test_val_of_a_switch_bonus_and_the_hand_computed_distances():
    # R3(s, a) = 1 for switching. r_π = [.5, .5], so V = .5 / (1 − .5) = [1, 1].
    # Q(s, stay) = 0 + .5 * 1 = .5, Q(s, switch) = 1 + .5 = 1.5, so A = [[−.5, .5], [−.5, .5]].
    mdp = _stay_switch()
    state = np.array([0.0, 1.0])
    switch = np.array([[0.0, 1.0], [0.0, 1.0]])
    np.testing.assert_allclose(canonicalize(switch, mdp, "val")[:, :, 0], [[-0.5, 0.5], [-0.5, 0.5]], atol=1e-15)
    # Both canonical rewards are constant in s', so the s' copies scale every norm alike.
    # L2: s(R) ∝ [−1, 1, 1, −1]/2 and s(R3) ∝ [−1, 1, −1, 1]/2 are orthogonal unit vectors:
    #   ‖s(R) − s(R3)‖ = √2, halved: 1/√2.
    assert starc_distance(state, switch, mdp, "val", 2, 2) == pytest.approx(1 / math.sqrt(2), abs=1e-14)
    # L1 (with the 2 copies over s'): ‖c(R)‖₁ = 2 * 4 * .25 = 2 and ‖c(R3)‖₁ = 2 * 4 * .5 = 4, so both
    #   standardise to ±.125; they differ only in state 1 (by ±.25): ‖diff‖₁ = 2 * (.25 + .25) = 1, halved .5.
    assert starc_distance(state, switch, mdp, "val", 1, 1) == pytest.approx(0.5, abs=1e-14)
    # L∞: both standardise to ±1; in state 1 they differ by 2, halved: 1.
    assert starc_distance(state, switch, mdp, "val", "inf", "inf") == pytest.approx(1.0, abs=1e-14)
    # 1 − R(s) = (a constant, which is shaping) − R(s): the opposite ordering, distance 1.
    assert starc_distance(state, 1.0 - state, mdp, "val") == pytest.approx(1.0, abs=1e-14)


def test_minimal_of_a_state_reward_is_the_hand_computed_projection():
    # Deterministic τ and W = 1, so k(s, a) = 1 / Σ τ² = 1 and c(s, a, s') = b(s, a) τ(s, a, s').
    # γ = 0.5, r̄(s, a) = R(s) = s, b = r̄ + γΦ(next) − Φ(s):
    #   b(0, stay) = −.5Φ0, b(0, sw) = .5Φ1 − Φ0, b(1, stay) = 1 − .5Φ1, b(1, sw) = 1 + .5Φ0 − Φ1.
    # Setting the gradient of Σ b² to 0:  ∂Φ0: 3Φ0 − 2Φ1 + 1 = 0,  ∂Φ1: 3Φ1 − 2Φ0 − 3 = 0
    #   => Φ1 = 7/5 = 1.4, Φ0 = (2 * 1.4 − 1)/3 = .6
    #   => b = [[−.3, .1], [.3, −.1]], placed on the one possible next state of each (s, a).
    c = canonicalize(np.array([0.0, 1.0]), _stay_switch(), "minimal")
    expected = np.zeros((2, 2, 2))
    expected[0, 0, 0], expected[0, 1, 1], expected[1, 0, 1], expected[1, 1, 0] = -0.3, 0.1, 0.3, -0.1
    np.testing.assert_allclose(c, expected, atol=1e-14)


def test_minimal_equals_the_brute_force_weighted_projection():
    mdp, rng = random_mdp(11, 3, 2, gamma=0.9)
    t = mdp.dense_transitions()
    reward = rng.normal(size=(3, 2, 3))
    weights = rng.uniform(0.1, 2.0, size=(3, 2, 3))
    # N = {R ≡ 0} is spanned by the shaping directions γ e_s(s') − e_s(s) and the null space of
    # the map R -> E_τ[R(s, a, ·)]; project out N in the W-inner product by least squares.
    expectation = np.zeros((6, 18))
    for sa in range(6):
        expectation[sa, 3 * sa : 3 * sa + 3] = t.reshape(6, 3)[sa]
    directions = [sla.null_space(expectation)]
    for s in range(3):
        e = np.eye(3)[s]
        directions.append(shape(np.zeros((3, 2, 3)), e, 0.9).reshape(18, 1))
    basis = np.hstack(directions)
    sqrt_w = np.sqrt(weights.ravel())
    coef = np.linalg.lstsq(sqrt_w[:, None] * basis, sqrt_w * reward.ravel(), rcond=None)[0]
    brute = (reward.ravel() - basis @ coef).reshape(3, 2, 3)
    np.testing.assert_allclose(canonicalize(reward, mdp, "minimal", weights=weights), brute, atol=1e-12)


@given(CASES)
@FAST
def test_minimal_has_the_smallest_weighted_l2_norm_among_equivalent_rewards(case):
    mdp, rng = random_mdp(*case)
    n_s, n_a = case[1], case[2]
    reward = rng.normal(size=(n_s, n_a, n_s))
    weights = rng.uniform(0.1, 2.0, size=reward.shape)
    c = canonicalize(reward, mdp, "minimal", weights=weights)
    other = redistribute(shape(reward, rng.normal(size=n_s), mdp.gamma), mdp.dense_transitions(), rng)
    assert np.sum(weights * c**2) <= np.sum(weights * other**2) + 1e-12
    np.testing.assert_allclose(canonicalize(other, mdp, "minimal", weights=weights), c, atol=1e-9)


@given(CASES, st.sampled_from(STARC))
@FAST
def test_starc_canonicalisations_are_idempotent(case, method):
    mdp, rng = random_mdp(*case)
    c = canonicalize(rng.normal(size=(case[1], case[2], case[1])), mdp, method)
    np.testing.assert_allclose(canonicalize(c, mdp, method), c, atol=1e-10)


def test_val_advantage_averages_to_zero_under_its_policy():
    mdp, rng = random_mdp(5, 4, 3)
    policy = rng.random((4, 3))
    policy /= policy.sum(1, keepdims=True)
    c = canonicalize(rng.normal(size=(4, 3, 4)), mdp, "val", policy)
    np.testing.assert_allclose(np.einsum("sa,sat->st", policy, c), 0.0, atol=1e-12)


# --- invariances ----------------------------------------------------------------------------------


@given(CASES, st.sampled_from(ALL), st.sampled_from(ORDERS), st.sampled_from(ORDERS))
@FAST
def test_potential_shaping_leaves_every_canonicalisation_at_zero_distance(case, method, norm, metric):
    mdp, rng = random_mdp(*case)
    reward = rng.normal(size=(case[1], case[2], case[1]))
    shaped = shape(reward, rng.normal(scale=5.0, size=case[1]), mdp.gamma)
    assert starc_distance(reward, shaped, mdp, method, norm, metric) <= 1e-9


@given(CASES, st.sampled_from(ALL), st.sampled_from(ORDERS), st.floats(1e-3, 1e3))
@FAST
def test_positive_scaling_leaves_the_distance_at_zero(case, method, order, k):
    mdp, rng = random_mdp(*case)
    reward = rng.normal(size=(case[1], case[2]))
    assert starc_distance(reward, k * reward, mdp, method, order, order) <= 1e-9


@given(CASES, st.sampled_from(STARC), st.sampled_from(ORDERS), st.sampled_from(ORDERS))
@FAST
def test_s_prime_redistribution_and_shaping_and_scaling_together_leave_starc_at_zero(case, method, norm, metric):
    mdp, rng = random_mdp(*case)
    reward = rng.normal(size=(case[1], case[2], case[1]))
    other = 2.5 * redistribute(shape(reward, rng.normal(size=case[1]), mdp.gamma), mdp.dense_transitions(), rng)
    assert starc_distance(reward, other, mdp, method, norm, metric) <= 1e-9


def test_values_on_impossible_transitions_matter_to_epic_but_not_to_starc():
    rng = np.random.default_rng(2)
    t = random_transitions(rng, 5, 2, successors=2)
    mdp = TabularMDP(t, gamma=0.9)
    reward = rng.normal(size=(5, 2, 5))
    changed = np.where(t > 0, reward, 50.0 * rng.normal(size=reward.shape))
    for method in STARC:
        assert starc_distance(reward, changed, mdp, method) <= 1e-9
    assert epic_distance(reward, changed, mdp) > 0.1


def test_val_with_a_fixed_non_uniform_policy_is_still_a_canonicalisation():
    mdp, rng = random_mdp(8, 4, 3)
    policy = np.eye(3)[rng.integers(0, 3, size=4)]  # deterministic, independent of the reward
    reward = rng.normal(size=(4, 3, 4))
    other = 3.0 * redistribute(shape(reward, rng.normal(size=4), mdp.gamma), mdp.dense_transitions(), rng)
    assert starc_distance(reward, other, mdp, "val", policy=policy) <= 1e-9
    assert starc_distance(reward, -reward, mdp, "val", policy=policy) == pytest.approx(1.0, abs=1e-12)


# --- metric axioms and edge cases ---------------------------------------------------------------------


@given(CASES, st.sampled_from(ALL), st.sampled_from(ORDERS), st.sampled_from(ORDERS))
@FAST
def test_distance_is_symmetric_and_satisfies_the_triangle_inequality(case, method, norm, metric):
    mdp, rng = random_mdp(*case)
    a, b, c = (rng.normal(size=(case[1], case[2], case[1])) for _ in range(3))
    d_ab = starc_distance(a, b, mdp, method, norm, metric)
    assert d_ab == starc_distance(b, a, mdp, method, norm, metric)
    assert (
        starc_distance(a, c, mdp, method, norm, metric)
        <= d_ab + starc_distance(b, c, mdp, method, norm, metric) + 1e-12
    )


@given(CASES, st.sampled_from(ALL), st.sampled_from(ORDERS))
@FAST
def test_with_metric_equal_to_norm_the_distance_is_in_0_1_and_one_for_the_negation(case, method, order):
    mdp, rng = random_mdp(*case)
    a, b = (rng.normal(size=(case[1], case[2], case[1])) for _ in range(2))
    assert 0.0 <= starc_distance(a, b, mdp, method, order, order) <= 1.0 + 1e-12
    assert starc_distance(a, -a, mdp, method, order, order) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("method", ALL)
@pytest.mark.parametrize("order", ORDERS, ids=["L1", "L2", "Linf"])
def test_trivial_rewards_standardise_to_zero_without_nan(method, order):
    # s(R) = 0 for trivial R (the normalisation of 0 is 0), so d(0, 0) = 0 and, for non-trivial R,
    # d(0, R) = ‖0 − s(R)‖ / 2 = n(s(R)) / 2 = 1/2 when metric == norm.
    mdp, rng = random_mdp(4, 4, 2)
    zero, constant = np.zeros(4), np.full((4, 2), 7.0)
    pure_shaping = shape(np.zeros((4, 2, 4)), rng.normal(size=4), mdp.gamma)
    reward = rng.normal(size=(4, 2, 4))
    assert starc_distance(zero, zero, mdp, method, order, order) == 0.0
    assert starc_distance(constant, zero, mdp, method, order, order) == 0.0
    assert starc_distance(pure_shaping, constant, mdp, method, order, order) == 0.0
    for trivial in (zero, constant, pure_shaping):
        assert starc_distance(trivial, reward, mdp, method, order, order) == pytest.approx(0.5, abs=1e-12)


def test_single_action_makes_every_reward_trivial():
    mdp, rng = random_mdp(0, 4, 1)
    assert starc_distance(rng.normal(size=(4, 1, 4)), rng.normal(size=(4, 1, 4)), mdp, "val") == 0.0
    assert starc_distance(rng.normal(size=(4, 1, 4)), rng.normal(size=(4, 1, 4)), mdp, "minimal") == 0.0


def test_transition_weighted_and_unweighted_norms_agree_for_val():
    # c_VAL is constant in s', so Σ τ |x|^p = Σ_{s,a} |A|^p while Σ |x|^p = S Σ_{s,a} |A|^p.
    mdp, rng = random_mdp(6, 5, 3)
    a, b = rng.normal(size=(5, 3, 5)), rng.normal(size=(5, 3))
    for order in ORDERS:
        weighted = starc_distance(a, b, mdp, "val", order, order, weights=mdp.dense_transitions())
        assert weighted == pytest.approx(starc_distance(a, b, mdp, "val", order, order), abs=1e-12)


def test_weighted_minimal_is_invariant_and_uses_the_weights():
    mdp, rng = random_mdp(9, 4, 2)
    weights = rng.uniform(0.1, 3.0, size=(4, 2, 4))
    reward = rng.normal(size=(4, 2, 4))
    other = redistribute(shape(reward, rng.normal(size=4), mdp.gamma), mdp.dense_transitions(), rng)
    assert starc_distance(reward, other, mdp, "minimal", weights=weights) <= 1e-9
    b = rng.normal(size=(4, 2, 4))
    assert starc_distance(reward, b, mdp, "minimal", weights=weights) != pytest.approx(
        starc_distance(reward, b, mdp, "minimal"), abs=1e-6
    )


def test_norm_orders_accept_the_spellings_of_infinity():
    mdp, rng = random_mdp(1, 3, 2)
    a, b = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    values = {starc_distance(a, b, mdp, "val", n, n) for n in (math.inf, float("inf"), np.inf, "inf", "INF")}
    assert len(values) == 1
    assert starc_distance(a, b, mdp, norm=2.0, metric=np.int64(2)) == starc_distance(a, b, mdp)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"norm": 3}, ConfigError, r"`norm` must be 1, 2 or inf \(got 3\)"),
        ({"metric": "l2"}, ConfigError, r"`metric` must be 1, 2 or inf"),
        ({"norm": True}, ConfigError, r"`norm` must be 1, 2 or inf"),
        ({"canonicalization": "vall"}, UnknownNameError, r"Did you mean 'val'"),
        ({"canonicalization": "minimal", "policy": np.full((3, 2), 0.5)}, ConfigError, r"`policy` must be None"),
        ({"weights": np.ones((3, 2))}, ConfigError, r"`weights` must be an array of shape \(S, A, S\)"),
        ({"weights": -np.ones((3, 2, 3))}, ConfigError, r"`weights` must be nonnegative with a positive entry"),
        ({"canonicalization": "minimal", "weights": np.zeros((3, 2, 3)) + np.eye(3)[:, None, :]}, ConfigError,
         r"`weights` must be positive wherever the transition probability is positive"),
        ({"policy": np.ones((3, 2))}, ConfigError, r"`policy` must be a policy"),
    ],
    ids=["norm-3", "metric-str", "norm-bool", "typo", "policy-minimal", "weights-shape", "weights-negative",
         "weights-zero-on-possible", "policy-sum"],
)  # fmt: skip
def test_bad_arguments_are_refused_with_a_clear_message(kwargs, error, match):
    t = np.full((3, 2, 3), 1 / 3)
    mdp = TabularMDP(t, gamma=0.9)
    with pytest.raises(error, match=match):
        starc_distance(np.zeros(3), np.ones(3), mdp, **kwargs)


def test_canonicalize_refuses_options_its_method_does_not_use():
    mdp = _stay_switch()
    with pytest.raises(ConfigError, match=r"`weights` must be None for method='val'"):
        canonicalize(np.zeros(2), mdp, "val", weights=np.ones((2, 2, 2)))
    with pytest.raises(UnknownNameError, match=r"`method` must be a canonicalisation name \(got 'epik'\)"):
        canonicalize(np.zeros(2), mdp, "epik")


# --- sparse MDPs --------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ALL)
def test_sparse_and_dense_mdps_give_the_same_canonicalisation_and_distance(method):
    rng = np.random.default_rng(3)
    t = random_transitions(rng, 50, 4, successors=4)
    dense = TabularMDP(t, gamma=0.95)
    sparse = TabularMDP(sp.csr_matrix(t.reshape(200, 50)), gamma=0.95)
    a, b = rng.normal(size=(50, 4, 50)), rng.normal(size=(50, 4))
    np.testing.assert_allclose(canonicalize(a, sparse, method), canonicalize(a, dense, method), atol=1e-9)
    for order in ORDERS:
        assert starc_distance(a, b, sparse, method, order, order) == pytest.approx(
            starc_distance(a, b, dense, method, order, order), abs=1e-9
        )


def test_sparse_and_dense_mdps_give_the_same_weighted_minimal_canonicalisation():
    rng = np.random.default_rng(8)
    t = random_transitions(rng, 20, 3, successors=4)
    dense = TabularMDP(t, gamma=0.9)
    sparse = TabularMDP(sp.csr_matrix(t.reshape(60, 20)), gamma=0.9)
    weights = rng.uniform(0.1, 2.0, size=(20, 3, 20))
    reward = rng.normal(size=(20, 3, 20))
    np.testing.assert_allclose(
        canonicalize(reward, sparse, "minimal", weights=weights),
        canonicalize(reward, dense, "minimal", weights=weights),
        atol=1e-10,
    )
    weights[t > 0] = 0.0
    weights[0, 0, :] = 1.0  # keep one positive entry so only the "possible transitions" rule fails
    with pytest.raises(ConfigError, match=r"`weights` must be positive wherever"):
        canonicalize(reward, sparse, "minimal", weights=weights)


def test_starc_scales_to_a_few_hundred_states_with_sparse_transitions():
    rng = np.random.default_rng(4)
    n_s, n_a = 300, 4
    rows = np.repeat(np.arange(n_s * n_a), 4)
    cols = np.concatenate([rng.choice(n_s, 4, replace=False) for _ in range(n_s * n_a)])
    probs = rng.random(n_s * n_a * 4) + 0.1
    probs /= np.repeat(np.add.reduceat(probs, np.arange(0, probs.size, 4)), 4)
    mdp = TabularMDP(sp.csr_matrix((probs, (rows, cols)), shape=(n_s * n_a, n_s)), gamma=0.99)
    reward = rng.normal(size=(n_s, n_a))
    shaped = shape(mdp.reward_table(reward), rng.normal(scale=10.0, size=n_s), mdp.gamma)
    for method in STARC:
        assert starc_distance(reward, shaped, mdp, method) <= 1e-9
        assert starc_distance(reward, -reward, mdp, method) == pytest.approx(1.0, abs=1e-12)
