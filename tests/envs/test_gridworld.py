"""The gridworlds' exported MDPs are the envs: transitions, resets, observations, terminal states."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from rewardlab_envs import gridworld

import rewardlab as rl
from rewardlab import suite

ENVS = ["cliffworld", "maze"]


def _raw(name: str, seed: int = 0) -> gridworld.GridWorldEnv:
    env = suite.get(name).make()
    env.reset(seed=seed)
    return env.unwrapped


def _binomial_tol(p: np.ndarray, n: int) -> np.ndarray:
    # 5 standard deviations of a frequency, plus 1/n so that p = 0 or 1 must match exactly.
    return 5.0 * np.sqrt(p * (1.0 - p) / n) + 1.0 / n


def test_gymnasium_registration_is_idempotent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Gymnasium warns when an id is registered again
        gridworld.register_gym_envs()
        gridworld.register_gym_envs()
    assert gym.spec(gridworld.CLIFF_ID).max_episode_steps == 100
    assert gym.spec(gridworld.MAZE_ID).max_episode_steps == 200


@pytest.mark.parametrize("name", ENVS, ids=str)
def test_env_passes_the_gymnasium_checker(name):
    check_env(suite.get(name).make().unwrapped, skip_render_check=True)


@pytest.mark.parametrize(("state", "action"), [(24, 1), (17, 2), (0, 0), (22, 2), (23, 3)], ids=str)
def test_slippery_transitions_match_empirical_frequencies(state, action):
    model = rl.metrics.tabular_model("cliffworld")
    expected = model.mdp.dense_transitions()[state, action]
    env = _raw("cliffworld", seed=state * 4 + action)
    n = 4000
    counts = np.zeros(model.mdp.n_states)
    for _ in range(n):
        env.state = state
        env.step(action)
        counts[env.state] += 1
    freq = counts / n
    assert np.all(np.abs(freq - expected) <= _binomial_tol(expected, n)), (freq, expected)
    assert (expected > 0).sum() > 1  # really stochastic: slip reaches more than one cell


def test_deterministic_maze_transitions_are_exact_for_every_state_and_action():
    model = rl.metrics.tabular_model("maze")
    t = model.mdp.dense_transitions()
    env = _raw("maze")
    assert np.all((t == 0.0) | (t == 1.0))
    for s in np.flatnonzero(~model.terminal):
        for a in range(model.mdp.n_actions):
            env.state = int(s)
            obs, _, terminated, _, info = env.step(a)
            assert t[s, a, info["state"]] == 1.0
            np.testing.assert_array_equal(obs, model.observations[info["state"]])
            assert terminated == model.terminal[info["state"]]


@pytest.mark.parametrize("name", ENVS, ids=str)
def test_terminal_states_are_absorbing_in_the_mdp(name):
    model = rl.metrics.tabular_model(name)
    t = model.mdp.dense_transitions()
    for s in np.flatnonzero(model.terminal):
        np.testing.assert_array_equal(t[s, :, s], 1.0)
    assert model.terminal.any() and not model.terminal.all()


def test_cliffworld_resets_to_its_start_cell():
    model = rl.metrics.tabular_model("cliffworld")
    env = suite.get("cliffworld").make()
    start = int(np.flatnonzero(model.mdp.initial)[0])
    assert model.mdp.initial[start] == 1.0
    for seed in range(20):
        obs, info = env.reset(seed=seed)
        assert info["state"] == start
        np.testing.assert_array_equal(obs, model.observations[start])


def test_maze_reset_distribution_matches_the_initial_distribution():
    model = rl.metrics.tabular_model("maze")
    mu = model.mdp.initial
    assert mu[model.terminal].sum() == 0.0
    env = suite.get("maze").make()
    env.reset(seed=0)
    n = 20_000
    counts = np.zeros(model.mdp.n_states)
    for _ in range(n):
        _, info = env.reset()
        counts[info["state"]] += 1
    assert np.all(np.abs(counts / n - mu) <= _binomial_tol(mu, n))


@pytest.mark.parametrize("name", ENVS, ids=str)
def test_observations_are_what_the_env_emits_in_each_state(name):
    model = rl.metrics.tabular_model(name)
    env = suite.get(name).make()
    rng = np.random.default_rng(0)
    obs, info = env.reset(seed=1)
    seen = set()
    for _ in range(3000):
        assert env.observation_space.contains(obs)
        np.testing.assert_array_equal(obs, model.observations[info["state"]])
        assert info["state"] == env.unwrapped.state
        seen.add(info["state"])
        obs, _, terminated, truncated, info = env.step(int(rng.integers(4)))
        assert terminated == model.terminal[info["state"]]
        if terminated or truncated:
            np.testing.assert_array_equal(obs, model.observations[info["state"]])  # the true final observation
            obs, info = env.reset()
    assert len(seen) > model.mdp.n_states // 2
    assert model.observations.shape == (model.mdp.n_states, *env.observation_space.shape)
    assert len(np.unique(model.observations.argmax(axis=1))) == model.mdp.n_states  # one cell per state


def test_stepping_from_a_terminal_state_stays_there_with_zero_reward():
    env = _raw("cliffworld")
    goal = int(np.flatnonzero(env.grid.goal)[0])
    env.state = goal
    _, reward, terminated, _, info = env.step(0)
    assert (reward, terminated, info["state"]) == (0.0, True, goal)


def test_maze_layout_is_fixed_and_connected():
    assert gridworld.random_maze() == gridworld.MAZE_LAYOUT
    grid = gridworld.Grid(gridworld.MAZE_LAYOUT)
    assert (grid.rows, grid.cols) == (12, 12)
    assert np.all(np.isfinite(grid.path_length[grid.cells]))
    assert grid.path_length[grid.cells].max() >= 15  # a maze, not an open field


def test_ansi_render_marks_the_agent():
    env = suite.get("cliffworld").make(render_mode="ansi")
    env.reset(seed=0)
    assert env.render() == "........\n........\n........\nACCCCCCG"


def test_bad_layouts_and_slip_are_refused():
    with pytest.raises(ValueError, match="equal-length rows"):
        gridworld.Grid(["..", "..."])
    with pytest.raises(ValueError, match="goal cell"):
        gridworld.Grid(["..", ".."])
    with pytest.raises(ValueError, match="slip"):
        gridworld.GridWorldEnv(slip=1.0)
