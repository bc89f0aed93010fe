"""EXPRD's guarantees, checked exactly: optimal policies in the target set, budget, margins, regret 0.

Every check recomputes what it needs with :class:`rewardlab.metrics.TabularMDP` (policy iteration,
exact Q-values, regret) from the designed reward as the metrics tabulate the *spec*, so the design's
own linear algebra is not what grades it.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rewardlab as rl
from rewardlab.design import Design, explicable
from rewardlab.design._problem import design_problem
from rewardlab.errors import ConfigError, UnknownNameError
from rewardlab.metrics import TabularMDP

FAST = settings(max_examples=25, deadline=None)


def random_mdp(seed: int, n_states: int = 4, n_actions: int = 3, gamma: float = 0.9) -> tuple[TabularMDP, np.ndarray]:
    """A random MDP (Dirichlet transitions, some of them deterministic) and a random ``(S, A, S)`` reward."""
    rng = np.random.default_rng(seed)
    transitions = rng.dirichlet(np.full(n_states, 0.5), size=(n_states, n_actions))
    sure = rng.random((n_states, n_actions)) < 0.3
    transitions[sure] = np.eye(n_states)[rng.integers(n_states, size=int(sure.sum()))]
    return TabularMDP(transitions, gamma=gamma), rng.normal(size=(n_states, n_actions, n_states))


def optimal_actions(mdp: TabularMDP, reward: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(optimal action mask, V* - Q*)`` by policy iteration, with the metrics' tie tolerance."""
    q = mdp.q_values(mdp.optimal_policy(reward), reward)
    loss = q.max(axis=1, keepdims=True) - q
    return loss <= 1e-9 * max(float(np.abs(q).max()), 1e-300), loss


def truth_margins(mdp: TabularMDP, truth: np.ndarray, target: np.ndarray, fraction: float) -> np.ndarray:
    """δ_s recomputed from the definition: ``fraction`` x the truth's least loss of a non-target action."""
    q = mdp.q_values(mdp.optimal_policy(truth), truth)
    loss = q.max(axis=1, keepdims=True) - q
    return fraction * np.where((~target).any(axis=1), np.where(target, np.inf, loss).min(axis=1), 0.0)


def assert_guarantees(design: Design, mdp: TabularMDP, truth: np.ndarray, budget: int, target_is_truth: bool) -> None:
    spec_reward = mdp.reward_table(design.spec) if mdp.env_name else design.reward
    np.testing.assert_allclose(spec_reward, design.reward, atol=1e-12)  # the spec is the design
    optimal, loss = optimal_actions(mdp, spec_reward)
    assert np.all(design.target[optimal]), "an optimal action of the designed reward is not a target action"
    assert len(design.spec.entries) <= budget
    assert design.optimal_in_target
    truth_optimal, _ = optimal_actions(mdp, truth)
    if target_is_truth:
        np.testing.assert_array_equal(design.target, truth_optimal)
        assert rl.metrics.regret(truth, spec_reward, mdp) == 0.0
        delta = truth_margins(mdp, truth, design.target, design.config.margin)
        np.testing.assert_allclose(design.margins, delta, rtol=1e-6, atol=1e-12)
    required = np.broadcast_to(design.margins[:, None], loss.shape)
    assert np.all(loss[~design.target] >= required[~design.target] * (1 - 1e-6)), "a margin is not met"
    assert design.margin_ratio >= 1 - 1e-6


@pytest.mark.parametrize(
    ("env", "on", "budget"),
    [("cliffworld", "state_action", 6), ("cliffworld", "next_state", 4), ("maze", "next_state", 2)],
    ids=["cliffworld-state-action", "cliffworld-next-state", "maze-next-state"],
)
def test_designed_rewards_keep_the_gridworlds_optimal_policies_within_budget_and_margin(env, on, budget):
    mdp = rl.metrics.tabular_model(env).mdp
    design = explicable(env, budget=budget, on=on)
    truth = mdp.reward_table(rl.rewards.Env())
    assert_guarantees(design, mdp, truth, budget, target_is_truth=True)
    assert design.spec.env == env and design.spec.on == on
    assert 1 <= entries_in(mdp.reward_table(design.spec), on) <= budget


def entries_in(reward: np.ndarray, on: str) -> int:
    """The non-zero entries of an ``(S, A, S)`` table: pairs (s, a) paying, or states s' paid for entering."""
    if on == "state_action":
        return int(np.count_nonzero(np.abs(reward).max(axis=2)))
    return int(np.count_nonzero(np.abs(reward).max(axis=(0, 1))))


def test_the_cli_example_budget_is_used_and_beats_the_truth_on_informativeness():
    design = explicable("cliffworld", budget=6)
    assert design.n_entries == 6
    assert design.informativeness > design.truth_informativeness
    found = [step.informativeness for step in design.steps if step.informativeness is not None]
    assert found == sorted(found), "each greedy step must improve the criterion"


@FAST
@given(seed=st.integers(0, 10_000), n_states=st.integers(2, 5), n_actions=st.integers(2, 3))
def test_random_mdps_with_a_full_budget_get_a_design_that_keeps_the_optimal_actions(seed, n_states, n_actions):
    mdp, truth = random_mdp(seed, n_states, n_actions)
    budget = n_states * n_actions  # the truth itself fits: the margins can be met
    design = explicable(mdp, truth, budget=budget, horizons=[1, 3])
    assert_guarantees(design, mdp, truth, budget, target_is_truth=True)


@FAST
@given(seed=st.integers(0, 10_000), budget=st.integers(0, 4))
def test_a_small_budget_either_works_or_names_a_budget_that_does(seed, budget):
    mdp, truth = random_mdp(seed)
    try:
        design = explicable(mdp, truth, budget=budget, horizons=[2])
    except ConfigError as exc:
        match = re.search(r"`budget` must be at least (\d+) for these margins", str(exc))
        assert match is not None, str(exc)
        needed = int(match.group(1))
        assert needed > budget
        design = explicable(mdp, truth, budget=needed, horizons=[2])  # the same greedy path, now long enough
        budget = needed
    assert_guarantees(design, mdp, truth, budget, target_is_truth=True)


@FAST
@given(seed=st.integers(0, 10_000))
def test_entering_state_rewards_either_keep_the_optimal_actions_or_are_refused(seed):
    mdp, truth = random_mdp(seed)  # a random R(s, a, s') need not be reachable by rewards of s' alone
    try:
        design = explicable(mdp, truth, budget=4, horizons=[2], on="next_state")
    except ConfigError as exc:
        assert re.search(r"`(budget|margin)` must be", str(exc)), str(exc)
    else:
        assert_guarantees(design, mdp, truth, 4, target_is_truth=True)


@FAST
@given(seed=st.integers(0, 10_000), budget=st.integers(0, 3))
def test_when_every_action_is_optimal_the_design_is_the_zero_reward(seed, budget):
    mdp, _ = random_mdp(seed)
    phi = np.random.default_rng(seed).normal(size=mdp.n_states)
    shaping = np.broadcast_to(mdp.gamma * phi[None, None, :] - phi[:, None, None], (4, 3, 4))  # every policy optimal
    design = explicable(mdp, shaping, budget=budget)
    assert design.spec.entries == ()
    assert design.target.all() and not design.reward.any()
    assert design.informativeness == 0.0 and np.isinf(design.margin_ratio)


def test_budget_zero_with_a_nontrivial_truth_names_the_budget_it_needs():
    with pytest.raises(ConfigError, match=r"`budget` must be at least 1 for these margins \(got 0\)\. .*budget=1"):
        explicable("cliffworld", budget=0)


def test_margins_no_bounded_reward_can_meet_are_refused():
    with pytest.raises(ConfigError, match=r"`margin` must be reachable by some reward with \|R\| <= 0.0001"):
        explicable("cliffworld", budget=3, r_max=1e-4)


def test_an_env_without_an_exact_model_is_refused_with_the_envs_that_have_one():
    with pytest.raises(
        ConfigError, match=r"`env` must be an env with a tabular model \(got 'pendulum'\).*'cliffworld'"
    ):
        explicable("pendulum", budget=2)


def test_a_plain_mdp_needs_its_truth():
    mdp, _ = random_mdp(0)
    with pytest.raises(ConfigError, match=r"`truth` must be a reward"):
        explicable(mdp, budget=2)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"budget": -1}, r"`budget` must be a non-negative integer \(got -1\)"),
        ({"budget": 2, "horizons": []}, r"`horizons` must be a non-empty list"),
        ({"budget": 2, "horizons": [0]}, r"`horizons\[0\]` must be a positive integer \(got 0\)"),
        ({"budget": 2, "margin": 0.0}, r"`margin` must be a finite number > 0"),
    ],
    ids=["budget", "no-horizons", "zero-horizon", "margin"],
)
def test_bad_settings_are_refused_with_the_template(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        explicable("cliffworld", **kwargs)


def test_unknown_entry_kind_suggests_the_closest():
    with pytest.raises(UnknownNameError, match=r"Did you mean 'next_state'"):
        explicable("cliffworld", budget=2, on="next")


def test_a_target_that_leaves_out_an_equally_good_action_is_refused():
    mdp = rl.metrics.tabular_model("maze").mdp  # deterministic moves: many states have two shortest paths
    truth = mdp.reward_table(rl.rewards.Env())
    optimal, _ = optimal_actions(mdp, truth)
    state = int(np.flatnonzero(optimal.sum(axis=1) == 2)[0])
    target = optimal.copy()
    target[state, np.flatnonzero(optimal[state])[1]] = False
    with pytest.raises(ConfigError, match=rf"`target` must be .* \(got 'state {state} leaves out action"):
        explicable("maze", budget=2, target=target, on="next_state")


def test_a_wider_target_is_kept_and_its_excluded_actions_lose_by_the_margin():
    mdp, truth = random_mdp(3, n_states=4, n_actions=3)
    optimal, loss = optimal_actions(mdp, truth)
    target = optimal.copy()
    runner_up = np.argsort(np.where(optimal, np.inf, loss), axis=1)[:, 0]
    target[np.arange(4), runner_up] = True  # allow each state's best non-optimal action too
    design = explicable(mdp, truth, target=target, budget=12)
    assert_guarantees(design, mdp, truth, 12, target_is_truth=False)
    np.testing.assert_array_equal(design.target, target)


def test_problem_gaps_match_the_exact_q_values_of_the_reference_policy():
    mdp, truth = random_mdp(7, n_states=5, n_actions=3)
    problem = design_problem(mdp, truth, None, np.ones(5, dtype=bool), 0.5, (1, 4), "state_action")
    r_bar = np.random.default_rng(1).normal(size=(5, 3))
    policy = np.eye(3)[problem.policy]
    q = mdp.q_values(policy, r_bar)
    states, actions = problem.rows
    np.testing.assert_allclose(problem.gaps(r_bar), q[states, problem.policy[states]] - q[states, actions], atol=1e-10)
    # a unit entry's column of the gap matrix is the gap of that one-entry reward
    np.testing.assert_allclose(problem.gap @ r_bar.ravel(), problem.gaps(r_bar), atol=1e-10)
    # the zero reward leaves every margin short: I = −mean over states of δ_s
    assert problem.informativeness(np.zeros((5, 3))) == pytest.approx(-problem.margins.mean())


def test_report_lists_the_entries_in_words_and_the_checks():
    text = explicable("cliffworld", budget=2).report()
    assert "in (2, 7), down: +" in text  # state 23 is cell (2, 7); action 2 moves down, onto the goal
    assert "every optimal policy takes only target actions: yes" in text
    assert "normalised regret under the truth: 0" in text
