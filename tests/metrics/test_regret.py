"""Exact normalised regret: hand example, tie-break, invariances, bounds, sparse MDPs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from _metrics_helpers import CASES, random_mdp, random_transitions, redistribute, shape
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardlab.errors import ConfigError
from rewardlab.metrics import TabularMDP, regret, starc_distance

FAST = settings(max_examples=30, deadline=None)


def _slow_road() -> TabularMDP:
    """State 1 is absorbing. In state 0: action 0 stays, 1 goes to 1, 2 goes with probability 1/2."""
    t = np.zeros((2, 3, 2))
    t[0, 0, 0] = 1.0
    t[0, 1, 1] = 1.0
    t[0, 2] = [0.5, 0.5]
    t[1, :, 1] = 1.0
    return TabularMDP(t, gamma=0.5, initial=np.array([1.0, 0.0]))


def _arrive_in_one() -> np.ndarray:
    reward = np.zeros((2, 3, 2))
    reward[:, :, 1] = 1.0  # R(s, a, s') = 1[s' = 1]
    return reward


def test_regret_matches_the_hand_computation():
    # γ = .5, R_true = 1[s' = 1], μ₀ = state 0. From state 1 every policy earns 1 per step: V(1) = 2.
    #   go:   V(0) = 1 + .5 * 2 = 2                          (the best)
    #   stay: V(0) = 0 + .5 V(0)  =>  0                      (the worst)
    #   slow: V(0) = .5 (1 + .5 * 2) + .5 (0 + .5 V(0))  =>  .75 V(0) = 1  =>  V(0) = 4/3
    # A proxy paying 1 for (0, slow) is optimised by slow (4/3 > 2/3 for staying), so the
    # regret is (2 − 4/3) / (2 − 0) = 1/3.
    mdp, true = _slow_road(), _arrive_in_one()
    slow_bonus = np.zeros((2, 3))
    slow_bonus[0, 2] = 1.0
    go_bonus = np.zeros((2, 3))
    go_bonus[0, 1] = 1.0
    assert regret(true, slow_bonus, mdp) == pytest.approx(1 / 3, abs=1e-14)
    assert regret(true, go_bonus, mdp) == 0.0
    assert regret(true, -true, mdp) == pytest.approx(1.0, abs=1e-14)
    assert regret(true, true, mdp) == 0.0


def test_a_proxy_with_ties_takes_the_first_action():
    # The zero proxy ties everywhere, so action 0 (stay) is chosen: the worst policy, regret 1.
    mdp = _slow_road()
    assert regret(_arrive_in_one(), np.zeros(2), mdp) == pytest.approx(1.0, abs=1e-14)
    # Reordering the actions so that "go" comes first turns the same tie into regret 0.
    t = mdp.dense_transitions()[:, [1, 0, 2]]
    reordered = TabularMDP(t, gamma=0.5, initial=mdp.initial)
    assert regret(_arrive_in_one(), np.zeros(2), reordered) == 0.0


def test_a_trivial_true_reward_has_zero_regret():
    mdp, rng = random_mdp(1, 4, 3)
    proxy = rng.normal(size=(4, 3, 4))
    pure_shaping = shape(np.zeros((4, 3, 4)), rng.normal(size=4), mdp.gamma)
    for trivial in (np.zeros(4), np.full((4, 3), 3.0), pure_shaping):
        assert regret(trivial, proxy, mdp) == 0.0


@given(CASES, st.floats(0.01, 100.0))
@FAST
def test_shaped_scaled_and_redistributed_proxies_have_zero_regret(case, k):
    mdp, rng = random_mdp(*case)
    true = rng.normal(size=(case[1], case[2], case[1]))
    proxy = k * redistribute(shape(true, rng.normal(scale=3.0, size=case[1]), mdp.gamma), mdp.dense_transitions(), rng)
    assert regret(true, true, mdp) == 0.0
    assert regret(true, proxy, mdp) <= 1e-9


@given(CASES)
@FAST
def test_the_negated_reward_has_regret_one_and_any_proxy_lies_in_0_1(case):
    mdp, rng = random_mdp(*case)
    true = rng.normal(size=(case[1], case[2], case[1]))
    assert regret(true, -true, mdp) == pytest.approx(1.0, abs=1e-9)
    assert 0.0 <= regret(true, rng.normal(size=(case[1], case[2])), mdp) <= 1.0


@pytest.mark.parametrize("seed", range(4))
def test_regret_matches_brute_force_over_deterministic_policies(seed):
    mdp, rng = random_mdp(seed, 3, 2)
    true, proxy = rng.normal(size=(3, 2, 3)), rng.normal(size=(3, 2, 3))
    returns = {}
    for actions in itertools.product(range(2), repeat=3):
        policy = np.eye(2)[list(actions)]
        returns[actions] = (mdp.expected_return(policy, true), mdp.expected_return(policy, proxy))
    best, worst = max(r[0] for r in returns.values()), min(r[0] for r in returns.values())
    # With continuous random rewards the proxy's optimal deterministic policy is unique; it
    # maximises the proxy return from μ₀ (μ₀ has full support).
    proxy_best = max(returns.values(), key=lambda r: r[1])
    assert regret(true, proxy, mdp) == pytest.approx((best - proxy_best[0]) / (best - worst), abs=1e-12)


def test_unreachable_states_matter_to_starc_but_not_to_regret():
    # μ₀ sits on an absorbing state, so nothing else is ever reached: every proxy has zero regret
    # (every policy earns the same), yet STARC still compares the rewards everywhere.
    t = random_transitions(np.random.default_rng(0), 4, 2)
    t[0] = 0.0
    t[0, :, 0] = 1.0
    mdp = TabularMDP(t, gamma=0.9, initial=np.array([1.0, 0.0, 0.0, 0.0]))
    rng = np.random.default_rng(1)
    true = rng.normal(size=(4, 2, 4))
    true[0] = 1.0
    assert regret(true, -true, mdp) == 0.0
    assert starc_distance(true, -true, mdp) == pytest.approx(1.0, abs=1e-12)


def test_bad_rewards_name_the_argument():
    mdp = _slow_road()
    with pytest.raises(ConfigError, match=r"`reward_proxy` must be an array of shape"):
        regret(np.zeros(2), np.zeros(5), mdp)
    with pytest.raises(ConfigError, match=r"`reward_true` must be a tabular reward given as a numpy array"):
        regret(None, np.zeros(2), mdp)


def test_sparse_and_dense_mdps_give_the_same_regret():
    rng = np.random.default_rng(6)
    t = random_transitions(rng, 50, 4, successors=4)
    mu0 = rng.random(50)
    mu0 /= mu0.sum()
    dense = TabularMDP(t, gamma=0.95, initial=mu0)
    sparse = TabularMDP(sp.csr_matrix(t.reshape(200, 50)), gamma=0.95, initial=mu0)
    for _ in range(3):
        true, proxy = rng.normal(size=(50, 4, 50)), rng.normal(size=(50, 4))
        assert regret(true, proxy, sparse) == pytest.approx(regret(true, proxy, dense), abs=1e-9)
