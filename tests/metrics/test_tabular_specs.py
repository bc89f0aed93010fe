"""Reward specs tabulated on the exact MDPs of suite envs, and the exact metrics on them."""

from __future__ import annotations

import numpy as np
import pytest

import rewardlab as rl
from rewardlab import suite
from rewardlab.errors import ConfigError
from rewardlab.metrics import TabularEnvModel, TabularMDP, regret, reward_table, starc_distance, tabular_model
from rewardlab.rewards import Code, Env, Shaped, Terms

ENVS = ["cliffworld", "maze"]
CALLS: list[int] = []


def counting_goal_reward(obs: np.ndarray, action: np.ndarray, next_obs: np.ndarray, done: np.ndarray) -> np.ndarray:
    """A ``code`` reward for the tests: 1 on entering the cliffworld goal; records its batch sizes."""
    CALLS.append(len(obs))
    return (np.asarray(done) & (np.argmax(next_obs, axis=1) == 31)).astype(np.float64)


def _factor_table(name: str) -> np.ndarray:
    """The ground truth from the factors, evaluated transition by transition (no batching tricks)."""
    env, model = suite.get(name), tabular_model(name)
    n_s, n_a = model.mdp.n_states, model.mdp.n_actions
    table = np.zeros((n_s, n_a, n_s))
    for s in np.flatnonzero(~model.terminal):
        for a in range(n_a):
            obs = np.repeat(model.observations[s][None], n_s, axis=0)
            action = np.full(n_s, model.actions[a])
            table[s, a] = sum(
                w * env.factor(f).fn(obs, action, model.observations, model.terminal)
                for f, w in env.ground_truth.items()
            )
    return table


@pytest.mark.parametrize("name", ENVS, ids=str)
def test_env_spec_tabulates_to_the_ground_truth_factors(name):
    table = reward_table(Env(), name)
    np.testing.assert_allclose(table, _factor_table(name), rtol=0, atol=1e-12)
    model = tabular_model(name)
    assert np.all(table[model.terminal] == 0.0)  # absorbing: nothing more is earned


@pytest.mark.parametrize("name", ENVS, ids=str)
def test_env_table_matches_the_rewards_seen_in_rollouts(name):
    table = reward_table(Env(), name)
    env = suite.get(name).make()
    rng = np.random.default_rng(0)
    _, info = env.reset(seed=0)
    visited = set()
    for _ in range(2000):
        s, a = info["state"], int(rng.integers(4))
        _, reward, terminated, truncated, info = env.step(a)
        assert table[s, a, info["state"]] == pytest.approx(reward, abs=1e-9)
        visited.add((s, a, info["state"]))
        if terminated or truncated:
            _, info = env.reset()
    assert len(visited) > 100


@pytest.mark.parametrize("name", ENVS, ids=str)
@pytest.mark.parametrize("potential", ["goal_distance", "manhattan"], ids=str)
def test_potential_shaping_leaves_starc_distance_at_zero(name, potential):
    mdp = tabular_model(name).mdp
    shaped = Shaped(Env(), potential=potential, gamma=mdp.gamma)
    assert starc_distance(reward_table(Env(), name), reward_table(shaped, name), mdp) == pytest.approx(0.0, abs=1e-9)
    assert regret(Env(), shaped, mdp) == 0.0
    assert not np.allclose(reward_table(shaped, name), reward_table(Env(), name))  # it did shape


def test_starc_distance_accepts_specs_on_an_exported_mdp():
    mdp = tabular_model("cliffworld").mdp
    shaped = Shaped(Env(), potential="goal_distance", gamma=mdp.gamma)
    assert starc_distance(Env(), shaped, mdp) == pytest.approx(0.0, abs=1e-9)
    no_goal = Terms({"cliff_fall": -10.0})
    assert starc_distance(no_goal, Env(), mdp) == pytest.approx(
        starc_distance(reward_table(no_goal, "cliffworld"), reward_table(Env(), "cliffworld"), mdp), abs=1e-12
    )


def test_dropping_the_goal_factor_has_positive_distance_and_regret():
    mdp = tabular_model("cliffworld").mdp
    truth = reward_table(Env(), "cliffworld")
    # Without the goal (and the step cost) nothing rewards reaching the goal: the proxy's optimal
    # policy only avoids the cliff, and its tie-break (action 0, up) never gets there.
    no_goal = Terms({"cliff_fall": -10.0})
    assert starc_distance(truth, reward_table(no_goal, "cliffworld"), mdp) > 0.1
    assert regret(Env(), no_goal, mdp) > 0.5
    # Dropping the goal alone changes the reward (STARC > 0), but the step cost still makes ending
    # the episode at the goal worthwhile, so the optimal policy stays optimal: zero regret.
    goal_dropped = Terms({"cliff_fall": -10.0, "step_cost": -0.1})
    assert starc_distance(truth, reward_table(goal_dropped, "cliffworld"), mdp) > 1e-4
    assert regret(Env(), goal_dropped, mdp) == 0.0


@pytest.mark.parametrize("name", ENVS, ids=str)
def test_regret_of_the_true_reward_against_itself_is_zero(name):
    mdp = tabular_model(name).mdp
    assert regret(Env(), Env(), mdp) == 0.0
    assert regret(Env(), "env", mdp) == 0.0


def test_dict_and_toml_specs_tabulate_like_the_spec(tmp_path):
    spec = Terms({"goal_reached": 10.0, "step_cost": -0.1})
    path = tmp_path / "maze_terms.toml"
    path.write_text('kind = "terms"\n[weights]\ngoal_reached = 10.0\nstep_cost = -0.1\n', encoding="utf-8")
    expected = reward_table(spec, "maze")
    np.testing.assert_array_equal(reward_table(spec.to_dict(), "maze"), expected)
    np.testing.assert_array_equal(reward_table(path, "maze"), expected)
    np.testing.assert_array_equal(tabular_model("maze").mdp.reward_table(str(path)), expected)


def test_code_reward_is_called_once_on_every_transition():
    model = tabular_model("cliffworld")
    CALLS.clear()
    table = reward_table(Code("test_tabular_specs:counting_goal_reward"), "cliffworld")
    n_live = int((~model.terminal).sum())
    assert CALLS[-1] == n_live * model.mdp.n_actions * model.mdp.n_states
    assert len(CALLS) == 2  # the build-time dry run on a small batch, then one call for the table
    np.testing.assert_array_equal(table, reward_table(Terms({"goal_reached": 1.0}), "cliffworld"))


def test_running_normalisation_is_frozen_while_tabulating():
    spec = Terms({"step_cost": rl.rewards.Term(weight=-1.0, normalize=True)})
    fn = spec.build("cliffworld")
    table = reward_table(fn, "cliffworld")
    assert fn.training and fn.state_dict()["step_cost"]["count"] == 0  # stats untouched, flag restored
    live = ~tabular_model("cliffworld").terminal
    np.testing.assert_allclose(table[live], -1.0 / np.sqrt(1.0 + 1e-8))


def test_unknown_factor_in_a_spec_names_it():
    with pytest.raises(ConfigError, match="cliff_fall"):
        reward_table(Terms({"cliff_fall": -1.0}), "maze")


def test_env_without_a_tabular_model_is_refused_with_the_envs_that_have_one():
    with pytest.raises(
        ConfigError, match=r"`env` must be an env with a tabular model \(got 'pendulum'\).*'cliffworld'"
    ):
        tabular_model("pendulum")
    with pytest.raises(ConfigError, match="'maze'"):
        reward_table(Env(), "pendulum")


def test_a_plain_mdp_refuses_specs_with_a_fix():
    model = tabular_model("maze")
    plain = TabularMDP(model.mdp.dense_transitions(), gamma=0.99)
    with pytest.raises(ConfigError, match=r"`reward` must be a numpy array on this MDP \(got 'Env'\).*tabular_model"):
        plain.reward_table(Env())


def test_model_arrays_are_read_only_and_validated():
    model = tabular_model("cliffworld")
    with pytest.raises(ValueError, match="read-only"):
        model.terminal[0] = True
    t = np.zeros((2, 1, 2))
    t[:, 0, 0] = 1.0  # state 1 leads to state 0: not absorbing
    leaky = TabularMDP(t, gamma=0.9)
    with pytest.raises(ConfigError, match="terminal state 1 can be left"):
        TabularEnvModel("x", leaky, np.eye(2), np.arange(1), np.array([False, True]))
    with pytest.raises(ConfigError, match="observations"):
        TabularEnvModel("x", leaky, np.eye(3), np.arange(1), np.array([False, False]))
