"""EPIC and DARD: hand examples, reference implementations, invariances, exact zeros."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from _metrics_helpers import CASES, random_mdp, random_transitions, redistribute, shape
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardlab.errors import ConfigError
from rewardlab.metrics import TabularMDP, canonicalize, dard_distance, epic_distance, starc_distance
from rewardlab.metrics import undefined_reason as rl_undefined

FAST = settings(max_examples=30, deadline=None)
PEARSON = {"epic": epic_distance, "dard": dard_distance}


def _absorbing(gamma: float = 0.5) -> TabularMDP:
    """State 1 is absorbing; in state 0 action 0 stays and action 1 goes to state 1."""
    t = np.zeros((2, 2, 2))
    t[0, 0, 0] = t[0, 1, 1] = 1.0
    t[1, :, 1] = 1.0
    return TabularMDP(t, gamma=gamma)


def _arrive_in_one() -> np.ndarray:
    """R(s, a, s') = 1 when s' = 1."""
    reward = np.zeros((2, 2, 2))
    reward[:, :, 1] = 1.0
    return reward


def _random_dist(rng: np.random.Generator, n: int) -> np.ndarray:
    p = rng.random(n) + 0.1
    return p / p.sum()


# --- hand-computed examples -------------------------------------------------------------------


def test_epic_canonical_rewards_match_the_hand_computation():
    mdp = _absorbing()  # EPIC does not use τ
    # R = 1[s' = 1], uniform D_S, D_A: r̄(x) = E[R(x, A, S')] = P(S' = 1) = .5 and c = E[r̄(S)] = .5,
    # so C = R + γ * .5 − .5 − γ * .5 = R − .5.
    np.testing.assert_allclose(canonicalize(_arrive_in_one(), mdp, "epic"), _arrive_in_one() - 0.5, atol=1e-15)
    # R(s) = s: r̄(x) = x, c = .5, so C = s + .5 s' − s − .5 * .5 = .5 s' − .25.
    c = canonicalize(np.array([0.0, 1.0]), mdp, "epic")
    np.testing.assert_allclose(c[:, :, 0], -0.25, atol=1e-15)
    np.testing.assert_allclose(c[:, :, 1], 0.25, atol=1e-15)


def test_dard_canonical_reward_matches_the_hand_computation():
    # R = 1[s' = 1], γ = .5, uniform D_A.
    # u(x) = E_A[R(x, A, τ(x, A))]: u(0) = .5 * (R(0, stay, 0) + R(0, go, 1)) = .5, u(1) = 1.
    # w(s, s') = Σ_a .5 Σ_y τ(s', a, y) 1[y = 1]  (R reads only y):  w(·, 0) = .5 * (0 + 1) = .5, w(·, 1) = 1.
    # C = R + .5 u(s') − u(s) − .5 w(s, s'):
    #   s' = 0: 0 + .25 − u(s) − .25 = −u(s)     -> C(0, ·, 0) = −.5, C(1, ·, 0) = −1
    #   s' = 1: 1 + .5 − u(s) − .5 = 1 − u(s)    -> C(0, ·, 1) = .5,  C(1, ·, 1) = 0
    c = canonicalize(_arrive_in_one(), _absorbing(), "dard")
    np.testing.assert_allclose(c[0], [[-0.5, 0.5], [-0.5, 0.5]], atol=1e-15)
    np.testing.assert_allclose(c[1], [[-1.0, 0.0], [-1.0, 0.0]], atol=1e-15)


def _naive_epic(reward: np.ndarray, gamma: float, d_s: np.ndarray, d_a: np.ndarray) -> np.ndarray:
    n_s, n_a, _ = reward.shape
    out = np.empty_like(reward)
    for s, a, s2 in np.ndindex(*reward.shape):
        total = reward[s, a, s2]
        for x, b, y in np.ndindex(n_s, n_a, n_s):  # S ~ D_S (x), A ~ D_A (b), S' ~ D_S (y)
            p = d_s[x] * d_a[b] * d_s[y]
            total += p * (gamma * reward[s2, b, y] - reward[s, b, y] - gamma * reward[x, b, y])
        out[s, a, s2] = total
    return out


def _naive_dard(reward: np.ndarray, t: np.ndarray, gamma: float, d_a: np.ndarray) -> np.ndarray:
    n_s, n_a, _ = reward.shape
    out = np.empty_like(reward)
    for s, a, s2 in np.ndindex(*reward.shape):
        total = reward[s, a, s2]
        for b, x, y in np.ndindex(n_a, n_s, n_s):  # A ~ D_A (b), S' ~ τ(s, b) (x), S'' ~ τ(s2, b) (y)
            p = d_a[b] * t[s, b, x] * t[s2, b, y]
            total += p * (gamma * reward[s2, b, y] - reward[s, b, x] - gamma * reward[x, b, y])
        out[s, a, s2] = total
    return out


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_canonical_shapings_match_naive_expectations(sparse):
    mdp, rng = random_mdp(21, 3, 2, sparse=sparse)
    reward = rng.normal(size=(3, 2, 3))
    d_s, d_a = _random_dist(rng, 3), _random_dist(rng, 2)
    epic = canonicalize(reward, mdp, "epic", state_dist=d_s, action_dist=d_a)
    np.testing.assert_allclose(epic, _naive_epic(reward, mdp.gamma, d_s, d_a), atol=1e-13)
    dard = canonicalize(reward, mdp, "dard", action_dist=d_a)
    np.testing.assert_allclose(dard, _naive_dard(reward, mdp.dense_transitions(), mdp.gamma, d_a), atol=1e-13)


def test_epic_is_the_pearson_distance_of_canonical_rewards():
    mdp, rng = random_mdp(2, 4, 3)
    a, b = rng.normal(size=(4, 3, 4)), rng.normal(size=(4, 3, 4))
    rho = np.corrcoef(canonicalize(a, mdp, "epic").ravel(), canonicalize(b, mdp, "epic").ravel())[0, 1]
    assert epic_distance(a, b, mdp) == pytest.approx(math.sqrt((1 - rho) / 2), abs=1e-12)
    # Under the default product coverage C_EPIC has mean 0, so EPIC = STARC with EPIC shaping, L2, L2, halved.
    assert epic_distance(a, b, mdp) == pytest.approx(starc_distance(a, b, mdp, "epic", 2, 2), abs=1e-12)


def test_dard_is_the_pearson_distance_under_the_transition_coverage():
    mdp, rng = random_mdp(3, 4, 2)
    a, b = rng.normal(size=(4, 2, 4)), rng.normal(size=(4, 2, 4))
    x, y = canonicalize(a, mdp, "dard").ravel(), canonicalize(b, mdp, "dard").ravel()
    w = (mdp.dense_transitions() / 2 / 4).ravel()  # (1/S) * D_A(a) * τ(s, a, s')
    xc, yc = x - w @ x, y - w @ y
    rho = (w @ (xc * yc)) / math.sqrt((w @ xc**2) * (w @ yc**2))
    assert dard_distance(a, b, mdp) == pytest.approx(math.sqrt((1 - rho) / 2), abs=1e-12)


# --- invariances and exact zeros ----------------------------------------------------------------


@given(CASES, st.sampled_from(sorted(PEARSON)), st.booleans())
@FAST
def test_shaping_and_positive_affine_maps_leave_pearson_distances_at_zero(case, name, custom_dists):
    mdp, rng = random_mdp(*case)
    n_s, n_a = case[1], case[2]
    kwargs: dict = {}
    if custom_dists:
        kwargs = {"action_dist": _random_dist(rng, n_a)}
        if name == "epic":
            kwargs["state_dist"] = _random_dist(rng, n_s)
    reward = rng.normal(size=(n_s, n_a, n_s))
    other = 4.0 * shape(reward, rng.normal(scale=5.0, size=n_s), mdp.gamma) + 3.0
    assert PEARSON[name](reward, other, mdp, **kwargs) <= 1e-12
    assert PEARSON[name](reward, reward, mdp, **kwargs) == 0.0


@given(CASES, st.sampled_from(sorted(PEARSON)))
@FAST
def test_pearson_distances_are_symmetric_in_0_1_and_one_for_the_negation(case, name):
    mdp, rng = random_mdp(*case)
    a, b, c = (rng.normal(size=(case[1], case[2], case[1])) for _ in range(3))
    dist = PEARSON[name]
    assert 0.0 <= dist(a, b, mdp) <= 1.0
    assert dist(a, b, mdp) == dist(b, a, mdp)
    assert dist(a, c, mdp) <= dist(a, b, mdp) + dist(b, c, mdp) + 1e-12
    assert dist(a, -a, mdp) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("name", sorted(PEARSON))
def test_trivial_rewards_give_zero_and_one_half_without_nan(name):
    # ρ is undefined for a zero-variance canonical reward; it standardises to 0 as in STARC.
    mdp, rng = random_mdp(5, 4, 2)
    dist = PEARSON[name]
    zero, constant = np.zeros(4), np.full((4, 2, 4), -2.0)
    reward = rng.normal(size=(4, 2, 4))
    assert dist(zero, zero, mdp) == 0.0
    assert dist(zero, constant, mdp) == 0.0
    assert dist(zero, reward, mdp) == pytest.approx(0.5, abs=1e-12)
    assert dist(reward, constant, mdp) == pytest.approx(0.5, abs=1e-12)


def test_neither_epic_nor_dard_is_invariant_to_s_prime_redistribution():
    mdp, rng = random_mdp(12, 4, 2)
    reward = rng.normal(size=(4, 2, 4))
    other = redistribute(reward, mdp.dense_transitions(), rng)
    assert starc_distance(reward, other, mdp, "val") <= 1e-9
    assert epic_distance(reward, other, mdp) > 0.05
    assert dard_distance(reward, other, mdp) > 0.05


def test_dard_reads_impossible_transitions_only_through_its_cross_term():
    # Default coverage = possible transitions of the absorbing MDP: (0, stay, 0), (0, go, 1), (1, ·, 1).
    # The cross term R(S', A, S'') with S' ~ τ(s, A), S'' ~ τ(s', A) reads, for (s, a, s') = (0, go, 1)
    # and A = stay, R(0, stay, 1): an impossible transition (staying in 0 cannot reach 1).
    # R(1, ·, 0) is never read: it would need S' = 1 (so s = 1) and S'' = 0 (so s' = 0), but 1 is absorbing.
    mdp = _absorbing()
    reward = _arrive_in_one()
    never_read = reward.copy()
    never_read[1, :, 0] = -15.0
    assert dard_distance(reward, never_read, mdp) <= 1e-12
    assert epic_distance(reward, never_read, mdp) > 0.1
    cross_term = reward.copy()
    cross_term[0, 0, 1] = 40.0
    assert dard_distance(reward, cross_term, mdp) > 0.1


def test_a_custom_coverage_is_normalised_and_changes_the_result():
    mdp, rng = random_mdp(13, 3, 2)
    a, b = rng.normal(size=(3, 2, 3)), rng.normal(size=(3, 2, 3))
    coverage = rng.random((3, 2, 3))
    assert dard_distance(a, b, mdp, coverage=coverage) == pytest.approx(
        dard_distance(a, b, mdp, coverage=10 * coverage), abs=1e-14
    )
    assert dard_distance(a, b, mdp, coverage=coverage) != pytest.approx(dard_distance(a, b, mdp), abs=1e-6)
    uniform = np.ones((3, 2, 3))
    assert epic_distance(a, b, mdp, coverage=uniform) == pytest.approx(epic_distance(a, b, mdp), abs=1e-14)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"coverage": np.ones((3, 2))}, r"`coverage` must be an array of shape \(S, A, S\) = \(3, 2, 3\)"),
        ({"coverage": np.zeros((3, 2, 3))}, r"`coverage` must be nonnegative with a positive total"),
        ({"coverage": -np.ones((3, 2, 3))}, r"`coverage` must be nonnegative with a positive total"),
        ({"action_dist": np.array([0.5, 0.6])}, r"`action_dist` must be a distribution over actions whose entries"),
        ({"state_dist": np.ones(2) / 2}, r"`state_dist` must be a distribution over states of shape \(3,\)"),
    ],
    ids=["coverage-shape", "coverage-zero", "coverage-negative", "action-dist", "state-dist"],
)
def test_bad_distributions_are_refused(kwargs, match):
    mdp, _ = random_mdp(0, 3, 2)
    with pytest.raises(ConfigError, match=match):
        epic_distance(np.zeros(3), np.ones(3), mdp, **kwargs)


@pytest.mark.parametrize("name", sorted(PEARSON))
def test_sparse_and_dense_mdps_give_the_same_pearson_distance(name):
    rng = np.random.default_rng(5)
    t = random_transitions(rng, 50, 4, successors=4)
    dense = TabularMDP(t, gamma=0.9)
    sparse = TabularMDP(sp.csr_matrix(t.reshape(200, 50)), gamma=0.9)
    a, b = rng.normal(size=(50, 4, 50)), rng.normal(size=(50,))
    assert PEARSON[name](a, b, sparse) == pytest.approx(PEARSON[name](a, b, dense), abs=1e-12)


# --- terminal states (absorbing, potential 0) ---------------------------------------------------


def _episodic(seed: int, n_states: int = 5, n_actions: int = 2, n_terminal: int = 2):
    """A random MDP whose last ``n_terminal`` states are terminal (absorbing), with the rng."""
    rng = np.random.default_rng(seed)
    t = random_transitions(rng, n_states, n_actions)
    terminal = np.zeros(n_states, dtype=bool)
    terminal[-n_terminal:] = True
    t[terminal] = 0.0
    for x in np.flatnonzero(terminal):
        t[x, :, x] = 1.0
    return TabularMDP(t, gamma=0.9, terminal=terminal), t, terminal, rng


@given(seed=st.integers(0, 2**32 - 1))
@FAST
def test_a_shaping_with_zero_terminal_potential_on_possible_transitions_is_at_zero(seed):
    mdp, t, terminal, rng = _episodic(seed)
    reward = rng.normal(size=t.shape)
    reward[terminal] = 0.0  # nothing is earned after the end, on any s' (as reward_table tabulates)
    phi = np.where(terminal, 0.0, rng.normal(scale=3.0, size=len(terminal)))
    shaped = shape(reward, phi, mdp.gamma)
    shaped[terminal] = 0.0  # the impossible transitions out of a terminal state are 0 too: not a shaping there
    for name, dist in PEARSON.items():
        assert dist(reward, shaped, mdp) < 1e-9, name
        # Without the marks the zero terminal rows are read as they are: the shaping shows.
        assert dist(reward, shaped, TabularMDP(t, gamma=mdp.gamma)) > 1e-3, name
    assert starc_distance(reward, shaped, mdp) < 1e-9


def test_terminal_states_must_be_absorbing_and_marked_with_bools():
    mdp, t, terminal, _ = _episodic(0)
    with pytest.raises(ConfigError, match="terminal state 0 can be left"):
        TabularMDP(t, gamma=0.9, terminal=np.array([True, False, False, True, True]))
    with pytest.raises(ConfigError, match="`terminal` must be a bool array of shape \\(5,\\)"):
        TabularMDP(t, gamma=0.9, terminal=np.array([0, 0, 0, 1, 1]))
    assert mdp.terminal.tolist() == terminal.tolist() and not mdp.terminal.flags.writeable
    assert not TabularMDP(t, gamma=0.9).terminal.any()


def test_the_terminal_fill_is_the_reward_of_ending_elsewhere_and_keeps_the_self_loops():
    # Hand example: state 1 absorbing and terminal, state 0 live; only R(1, ·, 0) is filled:
    # R(1, a, 0) = mean over live z (just 0) of R(0, a, 0) − R(0, a, 1).
    t = np.zeros((2, 2, 2))
    t[0, 0, 0] = t[0, 1, 1] = 1.0
    t[1, :, 1] = 1.0
    mdp = TabularMDP(t, gamma=0.5, terminal=np.array([False, True]))
    reward = np.array([[[1.0, 5.0], [2.0, 7.0]], [[0.0, 3.0], [0.0, 4.0]]])
    from rewardlab.metrics._canon import fill_terminal_rows

    filled = fill_terminal_rows(reward, mdp)
    np.testing.assert_array_equal(filled[0], reward[0])
    np.testing.assert_array_equal(filled[1], [[1.0 - 5.0, 3.0], [2.0 - 7.0, 4.0]])


# --- trivial rewards: undefined distances -------------------------------------------------------


@given(case=CASES)
@FAST
def test_undefined_reason_names_exactly_the_trivial_rewards(case):
    mdp, rng = random_mdp(*case)
    t = mdp.dense_transitions()
    n_s = mdp.n_states
    reward = rng.normal(size=t.shape)
    phi = rng.normal(size=n_s)
    trivial = {
        "zero": np.zeros(n_s),
        "constant": np.full(n_s, 2.5),
        "shaping": shape(np.zeros(t.shape), phi, mdp.gamma),
        "shaped constant": shape(np.full(t.shape, -1.0), phi, mdp.gamma),
    }
    for method in ("val", "minimal", "epic", "dard"):
        assert rl_undefined(reward, mdp, method) is None, method
        for name, r in trivial.items():
            why = rl_undefined(r, mdp, method)
            assert why is not None and why.startswith("its ") and "canonical form is" in why, (method, name)
    # STARC also takes an S'-redistribution of a trivial reward for trivial; EPIC does not.
    moved = redistribute(np.zeros(t.shape), t, rng)
    assert rl_undefined(moved, mdp, "val") is not None and rl_undefined(moved, mdp, "minimal") is not None
    assert rl_undefined(moved, mdp, "epic") is None
