"""TabularMDP: validation on construction, reward broadcasting, exact policy evaluation."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from _metrics_helpers import random_mdp, random_transitions

from rewardlab.errors import ConfigError
from rewardlab.metrics import TabularMDP


def _stay_switch() -> np.ndarray:
    """2 states; action 0 stays, action 1 switches."""
    t = np.zeros((2, 2, 2))
    t[0, 0, 0] = t[1, 0, 1] = 1.0
    t[0, 1, 1] = t[1, 1, 0] = 1.0
    return t


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"transitions": np.ones((2, 2))}, r"`transitions` must be an array of shape \(S, A, S\)"),
        ({"transitions": np.ones((2, 1, 3)) / 3}, r"`transitions` must be an array of shape \(S, A, S\)"),
        ({"transitions": np.full((2, 1, 2), 0.6)}, r"`transitions` must be rows that sum to 1"),
        ({"transitions": np.array([[[1.5, -0.5]], [[0.5, 0.5]]])}, r"`transitions` must be nonnegative"),
        ({"transitions": np.full((2, 1, 2), np.nan)}, r"`transitions` must be finite"),
        ({"transitions": sp.csr_matrix(np.ones((3, 2)) / 2)}, r"sparse matrix of shape \(S \* A, S\)"),
        ({"transitions": sp.csr_matrix(np.full((4, 2), 0.4))}, r"rows that sum to 1"),
        ({"transitions": "T"}, r"`transitions` must be a transition array given as a numpy array"),
        ({"gamma": 1.0}, r"`gamma` must be in the open interval \(0, 1\) \(got 1.0\)"),
        ({"gamma": 0}, r"`gamma` must be in the open interval"),
        ({"gamma": True}, r"`gamma` must be a number in \(0, 1\)"),
        ({"initial": np.array([0.7, 0.7])}, r"`initial` must be a distribution whose entries sum to 1"),
        ({"initial": np.array([1.0, 0.0, 0.0])}, r"`initial` must be a distribution of shape \(2,\)"),
        ({"initial": np.array([1.5, -0.5])}, r"`initial` must be nonnegative"),
    ],
    ids=[
        "2d-dense",
        "not-square",
        "rows-sum",
        "negative",
        "nan",
        "sparse-shape",
        "sparse-rows",
        "not-array",
        "gamma-1",
        "gamma-0",
        "gamma-bool",
        "initial-sum",
        "initial-shape",
        "initial-negative",
    ],
)
def test_invalid_mdp_is_refused_with_a_clear_message(kwargs, match):
    args = {"transitions": _stay_switch(), "gamma": 0.9, "initial": np.array([0.5, 0.5])} | kwargs
    with pytest.raises(ConfigError, match=match):
        TabularMDP(**args)


def test_rows_may_sum_to_one_within_1e_8_and_initial_defaults_to_uniform():
    t = _stay_switch()
    t[0, 0, 0] += 5e-9
    mdp = TabularMDP(t, gamma=0.5)
    np.testing.assert_array_equal(mdp.initial, [0.5, 0.5])
    assert repr(mdp) == "TabularMDP(n_states=2, n_actions=2, gamma=0.5, dense)"


def test_sparse_transitions_give_the_sizes_and_dense_view():
    t = random_transitions(np.random.default_rng(0), 5, 3, successors=2)
    mdp = TabularMDP(sp.csr_matrix(t.reshape(15, 5)), gamma=0.9)
    assert (mdp.n_states, mdp.n_actions, mdp.is_sparse) == (5, 3, True)
    np.testing.assert_array_equal(mdp.dense_transitions(), t)


def test_rewards_of_shape_s_and_sa_are_broadcast_over_transitions():
    mdp = TabularMDP(_stay_switch(), gamma=0.9)
    state = mdp.reward_table(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(state[0], [[1.0, 1.0], [1.0, 1.0]])  # R(s) of the current state
    np.testing.assert_array_equal(state[1], [[2.0, 2.0], [2.0, 2.0]])
    sa = mdp.reward_table(np.array([[1, 2], [3, 4]]))
    np.testing.assert_array_equal(sa[1, 0], [3.0, 3.0])
    assert sa.dtype == np.float64


@pytest.mark.parametrize(
    ("reward", "match"),
    [
        (np.zeros(3), r"`reward` must be an array of shape \(S, A, S\) = \(2, 2, 2\), \(S, A\) = \(2, 2\) or \(S,\)"),
        (lambda o, a, n, d: o, r"tabulate the reward into a numpy array first"),
        (5.0, r"`reward` must be a tabular reward given as a numpy array"),
        (np.array([1.0, np.inf]), r"`reward` must be finite everywhere"),
        (np.array([True, False]), r"`reward` must be an array of real numbers"),
    ],
    ids=["shape", "callable", "scalar", "inf", "bool"],
)
def test_bad_rewards_are_refused(reward, match):
    mdp = TabularMDP(_stay_switch(), gamma=0.9)
    with pytest.raises(ConfigError, match=match):
        mdp.reward_table(reward)


def test_policy_evaluation_matches_the_hand_computation():
    # Stay/switch MDP, γ = 0.5, R(s) = s, uniform π: P_π = [[.5, .5], [.5, .5]], r_π = [0, 1].
    # V0 = 0 + .5(.5 V0 + .5 V1), V1 = 1 + .5(.5 V0 + .5 V1); with a = .25(V0 + V1):
    # a = .25(2a + 1)  =>  a = .5, so V = [.5, 1.5].
    mdp = TabularMDP(_stay_switch(), gamma=0.5, initial=np.array([1.0, 0.0]))
    reward = mdp.reward_table(np.array([0.0, 1.0]))
    uniform = np.full((2, 2), 0.5)
    np.testing.assert_allclose(mdp.evaluate(uniform, reward), [0.5, 1.5], rtol=0, atol=1e-14)
    # Q(s, a) = R(s) + γ V(next): Q(0, stay) = .25, Q(0, switch) = .75, Q(1, stay) = 1.75, Q(1, switch) = 1.25.
    np.testing.assert_allclose(mdp.q_values(uniform, reward), [[0.25, 0.75], [1.75, 1.25]], atol=1e-14)
    assert mdp.expected_return(uniform, reward) == pytest.approx(0.5, abs=1e-14)


def test_a_constant_reward_has_value_one_over_one_minus_gamma():
    mdp, rng = random_mdp(3, 6, 3, gamma=0.8)
    policy = rng.random((6, 3))
    policy /= policy.sum(1, keepdims=True)
    np.testing.assert_allclose(mdp.evaluate(policy, np.ones((6, 3, 6))), np.full(6, 5.0), rtol=1e-13)


def test_policy_must_be_a_distribution_per_state():
    mdp = TabularMDP(_stay_switch(), gamma=0.9)
    with pytest.raises(ConfigError, match=r"`policy` must be a policy π\[s, a\] whose entries sum to 1"):
        mdp.check_policy(np.ones((2, 2)))
    with pytest.raises(ConfigError, match=r"`policy` must be a policy π\[s, a\] of shape \(2, 2\)"):
        mdp.check_policy(np.ones((2, 3)) / 3)


@pytest.mark.parametrize("seed", range(5))
def test_optimal_policy_attains_the_brute_force_maximum_over_deterministic_policies(seed):
    mdp, rng = random_mdp(seed, 3, 3)
    reward = rng.normal(size=(3, 3, 3))
    returns = []
    for actions in itertools.product(range(3), repeat=3):
        policy = np.eye(3)[list(actions)]
        returns.append(mdp.expected_return(policy, reward))
    found = mdp.expected_return(mdp.optimal_policy(reward), reward)
    assert found == pytest.approx(max(returns), abs=1e-12)
    # Optimal in every state, not just from μ₀: V* ≥ V^π state-wise for every deterministic π.
    v_star = mdp.evaluate(mdp.optimal_policy(reward), reward)
    for actions in itertools.product(range(3), repeat=3):
        assert np.all(v_star >= mdp.evaluate(np.eye(3)[list(actions)], reward) - 1e-12)


def test_optimal_policy_breaks_ties_by_the_first_action():
    mdp, _ = random_mdp(0, 4, 3)
    np.testing.assert_array_equal(mdp.optimal_policy(np.zeros((4, 3, 4))), np.eye(3)[[0, 0, 0, 0]])
    # Actions 1 and 2 tie for the best and action 0 is worse: action 1 is chosen.
    np.testing.assert_array_equal(mdp.optimal_policy(np.tile([0.0, 1.0, 1.0], (4, 1))), np.eye(3)[[1, 1, 1, 1]])


def test_sparse_and_dense_mdps_evaluate_identically():
    rng = np.random.default_rng(7)
    t = random_transitions(rng, 50, 3, successors=4)
    dense = TabularMDP(t, gamma=0.97)
    sparse = TabularMDP(sp.csr_matrix(t.reshape(150, 50)), gamma=0.97)
    reward = rng.normal(size=(50, 3, 50))
    policy = rng.random((50, 3))
    policy /= policy.sum(1, keepdims=True)
    np.testing.assert_allclose(sparse.expected_reward(reward), dense.expected_reward(reward), atol=1e-13)
    np.testing.assert_allclose(sparse.evaluate(policy, reward), dense.evaluate(policy, reward), atol=1e-9)
    np.testing.assert_allclose(sparse.q_values(policy, reward), dense.q_values(policy, reward), atol=1e-9)
    np.testing.assert_array_equal(sparse.optimal_policy(reward), dense.optimal_policy(reward))


def test_metrics_all_is_complete_and_sorted():
    import rewardlab.metrics as metrics

    public = {n for n in dir(metrics) if not n.startswith("_")} - {"annotations"}
    assert set(metrics.__all__) == public
    assert list(metrics.__all__) == sorted(metrics.__all__)
