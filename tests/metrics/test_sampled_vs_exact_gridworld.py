"""Sample-based EPIC and STARC-VAL against the exact tabular values on the suite's gridworlds.

``test_sampled.py`` checks the estimators on random MDPs; here the MDPs, observations and reward
tables are those the suite exports for ``cliffworld`` (slippery: stochastic τ, 7 terminal states)
and ``maze`` (deterministic τ, one terminal state). Each table is wrapped as a batched reward that
decodes the env's one-hot observation back to the state index, so the estimators see exactly the
function the exact metrics tabulate, and the sample is drawn from the coverage the exact metric is
given. The estimate must then bracket the exact value with its 95% bootstrap interval.

Terminal states: EPIC reads R on transitions out of a terminal state, which the exact metrics
first fill with shaping-consistent values (``rewardlab.metrics._canon.fill_terminal_rows``); the
wrapped rewards read the filled tables, i.e. the same function the exact metric canonicalises.

Coverage: the sample is ``s ~ U(S)``, ``a ~ U(A)``, ``s' ~ τ(s, a)``, i.e. ``D(s, a, s') = τ(s, a, s') /
(S·A)``. ``epic_distance``'s *default* coverage is the product ``U(S) × U(A) × U(S)`` (it scores
impossible transitions too), so the exact value is computed with ``coverage=τ/(S·A)``; the
canonicalisation's ``D_S``, ``D_A`` are uniform in both (``states=``/``actions=`` pools below).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest

import rewardlab as rl
from rewardlab.metrics import (
    TabularMDP,
    Transitions,
    dard_distance,
    epic_distance,
    epic_estimate,
    reward_table,
    starc_distance,
    starc_val_estimate,
    tabular_model,
)
from rewardlab.metrics._canon import fill_terminal_rows

N = 4_000  # coverage transitions
N_CANONICAL = 256  # Monte Carlo draws of (S, A, S') in the EPIC canonicalisation

# A reward that differs from the env's: cliffworld without the goal, the step cost and the rest;
# the maze with a different mix of its factors (no step cost or wall bump, a progress term).
OTHER = {
    "cliffworld": rl.rewards.Terms({"cliff_fall": -10.0}),
    "maze": rl.rewards.Terms({"goal_reached": 10.0, "progress": 1.0}),
}
POTENTIAL = "goal_distance"


@dataclass
class Case:
    env: str
    model: rl.metrics.TabularEnvModel
    tau: np.ndarray  # dense (S, A, S)
    lookup: np.ndarray  # one-hot position in the observation -> state index
    truth: np.ndarray  # Env()
    other: np.ndarray  # OTHER[env]
    shaped: np.ndarray  # Shaped(Env(), POTENTIAL), tabulated by reward_table
    fully_shaped: np.ndarray  # truth + γΦ(s') − Φ(s) on every (s, a, s'), Φ = 0 on terminal states
    sample: Transitions

    @property
    def gamma(self) -> float:
        return self.model.mdp.gamma

    @property
    def coverage(self) -> np.ndarray:
        return self.tau / (self.model.mdp.n_states * self.model.mdp.n_actions)

    def reward(self, table: np.ndarray):
        """``table`` (its terminal rows filled, as EPIC reads it) as a batched reward on observations and actions."""
        lookup = self.lookup
        table = fill_terminal_rows(table, self.model.mdp)

        def fn(obs, action, next_obs, done):
            s, s_next = lookup[np.argmax(obs, axis=1)], lookup[np.argmax(next_obs, axis=1)]
            return table[s, np.asarray(action, dtype=int), s_next]

        return fn

    def one_hot_states(self, obs: np.ndarray) -> np.ndarray:
        """Tabular features: the one-hot state index (LSTD is then the exact TD fixed point)."""
        return np.eye(self.model.mdp.n_states)[self.lookup[np.argmax(obs, axis=1)]]


@pytest.fixture(scope="module", params=["cliffworld", "maze"], ids=str)
def case(request) -> Case:
    env = request.param
    model = tabular_model(env)
    mdp = model.mdp
    n_s, n_a = mdp.n_states, mdp.n_actions
    obs = model.observations
    # The observations are one-hot (a grid cell), one distinct cell per state: decode by argmax.
    assert np.all(np.sum(obs != 0, axis=1) == 1) and np.all(obs.max(axis=1) == 1)
    cells = np.argmax(obs, axis=1)
    assert len(np.unique(cells)) == n_s
    lookup = np.full(obs.shape[1], -1)
    lookup[cells] = np.arange(n_s)
    np.testing.assert_array_equal(model.actions, np.arange(n_a))  # the action is its own index

    tau = mdp.dense_transitions()
    truth = reward_table(rl.rewards.Env(), env)
    shaped = reward_table(rl.rewards.Shaped(rl.rewards.Env(), potential=POTENTIAL, gamma=mdp.gamma), env)
    phi = np.asarray(rl.suite.get(env).potentials[POTENTIAL](obs), dtype=np.float64)
    phi = np.where(model.terminal, 0.0, phi)
    fully_shaped = truth + mdp.gamma * phi[None, None, :] - phi[:, None, None]

    rng = np.random.default_rng(0)
    s = rng.integers(n_s, size=N)
    a = rng.integers(n_a, size=N)
    nxt = np.minimum((rng.random(N)[:, None] > np.cumsum(tau[s, a], axis=1)).sum(axis=1), n_s - 1)
    # done as the env flags it: the step enters a terminal state (reward_table's convention)
    sample = Transitions(obs[s], model.actions[a], obs[nxt], model.terminal[nxt], env)
    return Case(env, model, tau, lookup, truth, reward_table(OTHER[env], env), shaped, fully_shaped, sample)


def _epic(case: Case, table: np.ndarray, *, n_canonical: int = N_CANONICAL, seed: int = 1):
    return epic_estimate(
        case.reward(case.truth),
        case.reward(table),
        case.sample,
        gamma=case.gamma,
        n_canonical=n_canonical,
        states=case.model.observations,  # D_S uniform over all states, as the exact metric
        actions=case.model.actions,  # D_A uniform over all actions
        seed=seed,
    )


def test_wrapped_tables_reproduce_the_tables_on_the_sample(case):
    s = case.lookup[np.argmax(case.sample.obs, axis=1)]
    nxt = case.lookup[np.argmax(case.sample.next_obs, axis=1)]
    assert np.all(case.tau[s, case.sample.actions, nxt] > 0)  # only possible transitions were drawn
    got = case.reward(case.other)(case.sample.obs, case.sample.actions, case.sample.next_obs, case.sample.dones)
    np.testing.assert_array_equal(got, case.other[s, case.sample.actions, nxt])


def test_epic_estimate_brackets_the_exact_epic_distance(case):
    exact = epic_distance(case.truth, case.other, case.model.mdp, coverage=case.coverage)
    est = _epic(case, case.other)
    assert exact > 0.01  # a real difference, not a degenerate 0 = 0 check
    assert est.ci_low <= exact <= est.ci_high, (exact, str(est))
    assert abs(est.value - exact) < 3.0 / math.sqrt(N)
    assert (est.n_transitions, est.n_canonical_samples) == (N, N_CANONICAL)


def test_the_tabulated_shaping_is_at_zero_exactly_and_estimated(case):
    # Shaped(Env()) is a potential shaping of Env() on every possible transition (Φ = 0 on terminal
    # states): EPIC (product and τ coverage) and DARD remove it exactly, and the estimate agrees.
    mdp = case.model.mdp
    assert epic_distance(case.truth, case.shaped, mdp) < 1e-9
    assert epic_distance(case.truth, case.shaped, mdp, coverage=case.coverage) < 1e-9
    assert dard_distance(case.truth, case.shaped, mdp) < 1e-9
    est = _epic(case, case.shaped)
    assert est.value < 1e-9 and est.ci_high < 1e-9, str(est)


def test_a_shaping_on_every_transition_is_at_zero_exactly_and_estimated(case):
    # Pure potential shaping of the whole (S, A, S) table: both EPICs remove it up to rounding.
    assert epic_distance(case.truth, case.fully_shaped, case.model.mdp, coverage=case.coverage) < 1e-9
    assert epic_distance(case.truth, case.fully_shaped, case.model.mdp) < 1e-9  # default product coverage
    assert dard_distance(case.truth, case.fully_shaped, case.model.mdp) < 1e-9
    est = _epic(case, case.fully_shaped, n_canonical=32)
    assert est.value < 1e-9 and est.ci_high < 1e-9, str(est)


def test_the_tabulated_shaping_differs_from_a_shaping_only_on_impossible_transitions(case):
    # reward_table zeroes the whole row of a terminal state, impossible s' included, where a
    # potential shaping (Φ = 0 on terminal states) would be γΦ(s'). Everywhere else it is one.
    differs = ~np.isclose(case.shaped, case.fully_shaped, rtol=0.0, atol=1e-9)
    assert differs.any()
    s, _, nxt = np.nonzero(differs)
    assert np.all(case.model.terminal[s]) and np.all(case.tau[differs] == 0.0)
    assert np.all(nxt != s)
    # Filling the terminal rows makes the difference a shaping on every entry, hence EPIC's 0.
    mdp = case.model.mdp
    gained = fill_terminal_rows(case.shaped, mdp) - fill_terminal_rows(case.truth, mdp)
    np.testing.assert_allclose(gained, case.fully_shaped - case.truth, rtol=0.0, atol=1e-9)


def test_without_the_terminal_marks_epic_sees_the_zero_terminal_rows(case):
    # The same τ without `terminal`: EPIC reads the terminal rows as they are tabulated (0), which
    # is not a shaping there, so the shaped reward looks different (~0.28 on cliffworld). This is
    # what the terminal convention fixes; STARC-VAL never reads those rows.
    plain = TabularMDP(case.tau, gamma=case.gamma)
    assert epic_distance(case.truth, case.shaped, plain) > 0.01
    assert starc_distance(case.truth, case.shaped, plain, "val") < 1e-9


def test_starc_val_estimate_brackets_the_exact_starc_val_on_the_deterministic_maze(case):
    # STARC-VAL's single-sample canonical reward is VAL exactly only for deterministic τ (the maze);
    # one-hot features and no ridge make LSTD the exact TD fixed point of the sampled policy
    # (uniform up to sampling noise, as exact VAL's default π is).
    if case.env != "maze":
        pytest.skip("stochastic τ: the single-sample VAL form keeps the noise over S'")
    assert np.all((case.tau == 0.0) | (case.tau == 1.0))
    mdp = case.model.mdp
    rewards = (case.reward(case.truth), case.reward(case.other))
    exact = starc_distance(case.truth, case.other, mdp, "val")
    est = starc_val_estimate(*rewards, case.sample, gamma=case.gamma, features=case.one_hot_states, ridge=0.0, seed=2)
    assert exact > 0.01
    assert est.ci_low <= exact <= est.ci_high, (exact, str(est))
    assert abs(est.value - exact) < 0.05
    # VAL reads possible transitions only, so the tabulated shaping is at 0 for both.
    assert starc_distance(case.truth, case.shaped, mdp, "val") < 1e-9
    shaped = starc_val_estimate(
        rewards[0], case.reward(case.shaped), case.sample, gamma=case.gamma, features=case.one_hot_states, ridge=0.0
    )
    assert shaped.value < 1e-9 and shaped.ci_high < 1e-9, str(shaped)
