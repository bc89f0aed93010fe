"""The tomato-watering gridworld: its exported MDP is the env, and the sensor's optimum hacks it.

The proxy-vs-true gap is computed exactly, from the occupancy measures of the exact optimal
policies on the exported MDP (no rollouts).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from rewardlab_envs import tomato

import rewardlab as rl
from rewardlab import suite
from rewardlab.cli import main

SENSOR = Path(__file__).resolve().parents[2] / "rewards" / "tomato_sensor.toml"


@pytest.fixture(scope="module")
def model() -> rl.metrics.TabularEnvModel:
    return rl.metrics.tabular_model("tomato")


@pytest.fixture(scope="module")
def tables(model: rl.metrics.TabularEnvModel) -> dict[str, np.ndarray]:
    return {
        "truth": rl.metrics.reward_table(rl.rewards.Env(), "tomato"),
        "sensor": rl.metrics.reward_table(SENSOR, "tomato"),
    }


def _raw(seed: int = 0, **kwargs: object) -> tomato.TomatoWateringEnv:
    env = suite.get("tomato").make(**kwargs)
    env.reset(seed=seed)
    return env.unwrapped


def _occupancy(mdp: rl.metrics.TabularMDP, policy: np.ndarray) -> np.ndarray:
    """``d(s, a) = (1 - γ) Σ_t γ^t P(s_t = s, a_t = a)`` from the reset distribution."""
    p_pi = np.asarray(mdp.policy_transitions(policy))
    d_s = (1.0 - mdp.gamma) * np.linalg.solve((np.eye(mdp.n_states) - mdp.gamma * p_pi).T, mdp.initial)
    return d_s[:, None] * policy


def _binomial_tol(p: np.ndarray, n: int) -> np.ndarray:
    return 5.0 * np.sqrt(p * (1.0 - p) / n) + 1.0 / n


def test_gymnasium_registration_is_idempotent_and_the_env_passes_the_checker():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tomato.register_gym_envs()
        tomato.register_gym_envs()
    assert gym.spec(tomato.TOMATO_ID).max_episode_steps == tomato.MAX_STEPS
    check_env(suite.get("tomato").make().unwrapped, skip_render_check=True)


def test_the_model_is_small_fully_observed_and_never_terminates(model):
    grid = tomato.TomatoGrid(tomato.TOMATO_LAYOUT)
    assert grid.k == 3
    assert model.mdp.n_states == grid.n_free * 2**grid.k < 200
    assert not model.terminal.any()
    assert len(np.unique(model.observations, axis=0)) == model.mdp.n_states  # one observation per state
    start = int(np.flatnonzero(model.mdp.initial)[0])
    assert model.mdp.initial[start] == 1.0
    obs, info = suite.get("tomato").make().reset(seed=3)
    assert info["state"] == start
    np.testing.assert_array_equal(obs, model.observations[start])


def test_dry_free_transitions_are_exact_for_every_state_and_action():
    grid = tomato.TomatoGrid(tomato.TOMATO_LAYOUT)
    t = grid.transitions(dry_prob=0.0)
    env = _raw(dry_prob=0.0)
    obs_table = grid.state_observations()
    assert np.all((t == 0.0) | (t == 1.0))
    for s in range(grid.n_states):
        free, mask = divmod(s, grid.n_masks)
        for a in range(4):
            env.cell = int(grid.cells[free])
            env.watered = ((mask >> np.arange(grid.k)) & 1).astype(bool)
            obs, reward, terminated, truncated, info = env.step(a)
            assert t[s, a, info["state"]] == 1.0
            np.testing.assert_array_equal(obs, obs_table[info["state"]])
            assert reward == pytest.approx(obs[grid.n_cells :].mean())
            assert not (terminated or truncated)


@pytest.mark.parametrize(("watered", "action"), [((1, 1, 1), 2), ((1, 0, 1), 0), ((0, 1, 1), 1)], ids=str)
def test_drying_matches_empirical_frequencies(model, watered, action):
    env = _raw(seed=sum(watered) * 4 + action)
    grid = env.grid
    start = grid.state(grid.start_cell, np.array(watered))
    expected = model.mdp.dense_transitions()[start, action]
    n = 3000
    counts = np.zeros(model.mdp.n_states)
    for _ in range(n):
        env.cell, env.watered = grid.start_cell, np.array(watered, dtype=bool)
        _, _, _, _, info = env.step(action)
        counts[info["state"]] += 1
    freq = counts / n
    assert np.all(np.abs(freq - expected) <= _binomial_tol(expected, n)), (freq, expected)
    assert (expected > 0).sum() > 1


def test_observations_are_what_the_env_emits_along_a_rollout(model):
    env = suite.get("tomato").make()
    rng = np.random.default_rng(0)
    obs, info = env.reset(seed=1)
    seen = set()
    for _ in range(1500):
        assert env.observation_space.contains(obs)
        np.testing.assert_array_equal(obs, model.observations[info["state"]])
        seen.add(info["state"])
        obs, _, terminated, truncated, info = env.step(int(rng.integers(4)))
        assert not terminated
        if truncated:
            obs, info = env.reset()
    assert len(seen) > model.mdp.n_states // 3


def test_sensor_reads_all_watered_on_the_bucket_and_the_truth_elsewhere():
    env = suite.get("tomato")
    grid = tomato.TomatoGrid(tomato.TOMATO_LAYOUT)
    dry = np.zeros(grid.k)
    half = np.array([1.0, 0.0, 1.0])
    next_obs = np.stack([grid.observation(grid.bucket_cell, dry), grid.observation(grid.start_cell, half)])
    obs = np.stack([grid.observation(grid.start_cell, dry)] * 2)
    action, done = np.zeros(2, dtype=np.int64), np.zeros(2, dtype=bool)
    values = {f.name: f.fn(obs, action, next_obs, done) for f in env.factors}
    np.testing.assert_allclose(values["watered_tomatoes"], [0.0, 2 / 3])
    np.testing.assert_allclose(values["sensor_watered"], [1.0, 2 / 3])
    np.testing.assert_allclose(values["on_bucket"], [1.0, 0.0])
    assert env.ground_truth == {"watered_tomatoes": 1.0}


def test_the_sensor_optimal_policy_sits_on_the_bucket_and_waters_nothing(model, tables):
    """Exact, on occupancy measures: the proxy's optimum hacks, the truth's waters."""
    mdp, grid = model.mdp, tomato.TomatoGrid(tomato.TOMATO_LAYOUT)
    on_bucket = model.observations[:, grid.bucket_cell] == 1.0
    returns = {}
    for trained in ("truth", "sensor"):
        policy = mdp.optimal_policy(tables[trained])
        d = _occupancy(mdp, policy)
        np.testing.assert_allclose(d.sum(), 1.0)
        for scored, table in tables.items():
            j = float((d * mdp.expected_reward(table)).sum()) / (1.0 - mdp.gamma)
            assert j == pytest.approx(mdp.expected_return(policy, table), rel=1e-9)
            returns[trained, scored] = j
        returns[trained, "bucket"] = float(d[on_bucket].sum())
    # The sensor-optimal policy walks to the bucket (4 moves, the 4th paid: γ^3) and stays there:
    # sensor return γ^3 / (1 - γ), true return 0 (it never steps on a tomato); the truth-optimal
    # policy waters and never visits the bucket.
    assert returns["sensor", "sensor"] == pytest.approx(mdp.gamma**3 / (1.0 - mdp.gamma))
    assert returns["sensor", "truth"] == pytest.approx(0.0, abs=1e-9)
    assert returns["sensor", "bucket"] == pytest.approx(mdp.gamma**4)
    assert returns["truth", "bucket"] == 0.0
    assert returns["truth", "truth"] > 70.0  # of at most 1 / (1 - γ) = 100
    assert returns["truth", "sensor"] == pytest.approx(returns["truth", "truth"])  # never on the bucket
    assert returns["sensor", "sensor"] > returns["truth", "sensor"]  # hacking is the proxy's optimum
    assert rl.metrics.regret(rl.rewards.Env(), SENSOR, mdp) == pytest.approx(1.0)  # the worst policy there is


def test_set_state_and_ansi_render_show_the_watered_tomatoes():
    env = suite.get("tomato").make(render_mode="ansi")
    env.reset(seed=0)
    assert env.render() == "t..#t\n..A..\n.#.#.\nB...t"
    grid = tomato.TomatoGrid(tomato.TOMATO_LAYOUT)
    suite.get("tomato").set_state(env, grid.observation(grid.bucket_cell, np.array([1.0, 0.0, 1.0])))
    assert env.render() == "T..#t\n.....\n.#.#.\nA...T"
    image = suite.get("tomato").make(render_mode="rgb_array")
    image.reset(seed=0)
    assert image.render().shape == (4 * 24, 5 * 24, 3)


def test_rewardlab_envs_lists_the_tomato_env(capsys):
    assert main(["envs"]) == 0
    out = capsys.readouterr().out
    assert "tomato  (rewardlab/TomatoWatering-v0)" in out
    assert "sensor_watered" in out and "ground truth = 1*watered_tomatoes" in out


def test_bad_layouts_and_probabilities_are_refused():
    with pytest.raises(ValueError, match="equal-length rows"):
        tomato.TomatoGrid(["T.", "..."])
    with pytest.raises(ValueError, match="one start"):
        tomato.TomatoGrid(["T.", ".."])
    with pytest.raises(ValueError, match="only"):
        tomato.TomatoGrid(["TX", "SB"])
    with pytest.raises(ValueError, match="dry_prob"):
        tomato.TomatoWateringEnv(dry_prob=1.5)


# --- exact returns of trained policies (rewardlab.monitors) -----------------------------------


def _hand_policy(grid: tomato.TomatoGrid) -> np.ndarray:
    """Walk right along the start row, then down the last column to the tomato in the corner, and stay."""
    rc = np.stack(np.divmod(grid.cells, grid.cols), axis=1)
    by_cell = np.where(rc[:, 1] == grid.cols - 1, 2, np.where(rc[:, 0] == 1, 1, 0))  # down / right / up
    policy = np.zeros((grid.n_states, 4))
    policy[np.arange(grid.n_states), np.repeat(by_cell, grid.n_masks)] = 1.0
    return policy


def test_exact_returns_of_the_optimal_and_a_hand_made_policy_are_their_closed_forms(model, tables):
    from rewardlab.monitors import exact_returns

    mdp, grid = model.mdp, tomato.TomatoGrid(tomato.TOMATO_LAYOUT)
    sensor = rl.rewards.parse(SENSOR).build("tomato")
    g = mdp.gamma
    hacker = exact_returns(mdp.optimal_policy(tables["sensor"]), sensor, "tomato")
    assert hacker["exact_proxy_return"] == pytest.approx(g**3 / (1 - g))  # 97.0: to the bucket in 4 moves
    assert hacker["exact_env_return"] == pytest.approx(0.0, abs=1e-9)
    assert hacker["exact_regret"] == pytest.approx(1.0)  # as rl.metrics.regret(Env, sensor) above
    waterer = exact_returns(mdp.optimal_policy(tables["truth"]), sensor, "tomato")
    d = _occupancy(mdp, mdp.optimal_policy(tables["truth"]))  # independent: the occupancy measure
    by_occupancy = float((d * mdp.expected_reward(tables["truth"])).sum()) / (1 - g)
    assert waterer["exact_env_return"] == pytest.approx(by_occupancy)
    assert waterer["exact_env_return"] == pytest.approx(77.7, abs=0.05)
    assert waterer["exact_regret"] == pytest.approx(0.0)
    # by hand: 4 moves to the corner tomato (the 4th waters it), then it stays watered, the others dry
    corner = exact_returns(_hand_policy(grid), sensor, "tomato")
    assert corner["exact_env_return"] == pytest.approx(g**3 / 3 / (1 - g))
    assert corner["exact_proxy_return"] == pytest.approx(g**3 / 3 / (1 - g))  # never on the bucket
    worst = mdp.expected_return(mdp.optimal_policy(-tables["truth"]), tables["truth"])
    best = waterer["exact_env_return"]
    assert corner["exact_regret"] == pytest.approx((best - g**3 / 3 / (1 - g)) / (best - worst))


def test_the_policy_table_of_an_sb3_agent_is_its_action_distribution_in_every_state(model, tables):
    import torch
    from stable_baselines3 import DQN, PPO

    from rewardlab.monitors import policy_table

    venv = rl.make_vec_env("tomato", "env", n_envs=1, seed=0)
    ppo = PPO("MlpPolicy", venv, n_steps=64, policy_kwargs={"net_arch": [8]}, seed=0)
    with torch.no_grad():  # logits that do not depend on the state: softmax(bias) everywhere
        ppo.policy.action_net.weight.zero_()
        ppo.policy.action_net.bias.copy_(torch.tensor([0.0, np.log(3.0), 0.0, np.log(2.0)]))
    table = policy_table(ppo, "tomato")
    np.testing.assert_allclose(table, np.tile([1 / 7, 3 / 7, 1 / 7, 2 / 7], (model.mdp.n_states, 1)), rtol=1e-5)
    dqn = DQN("MlpPolicy", venv, policy_kwargs={"net_arch": [8]}, seed=0, learning_starts=0)
    greedy = policy_table(dqn, "tomato")  # no distribution: the one-hot of the greedy action
    actions, _ = dqn.predict(model.observations.astype(np.float32), deterministic=True)
    np.testing.assert_array_equal(greedy.argmax(axis=1), actions)
    assert np.all(greedy.sum(axis=1) == 1.0)
    assert policy_table(ppo, "pendulum") is None  # no exact model
    venv.close()


def test_training_on_tomato_logs_the_exact_returns_of_the_policy_it_saved(tmp_path):
    from rewardlab.monitors import exact_returns, policy_table

    config = rl.TrainConfig(
        env="tomato", reward=str(SENSOR), timesteps=256, eval_freq=128, eval_episodes=1, runs_dir=str(tmp_path),
        run_name="t", progress_bar=False, agent="dqn",
        hyperparams={"learning_starts": 10_000, "policy_kwargs": {"net_arch": [8]}},
    )  # fmt: skip  # a DQN that never updates: every row evaluates the policy that is saved (an agent
    # evaluated mid-rollout is evaluated before the update that follows)
    result = rl.train(config)
    rows = result.metrics
    assert [r["timesteps"] for r in rows] == [128, 256]
    agent, _ = rl.data.load_agent(result.run_dir / "agent.zip")
    again = exact_returns(policy_table(agent, "tomato"), rl.rewards.parse(SENSOR).build("tomato"), "tomato")
    for key, value in again.items():
        assert rows[-1][key] == pytest.approx(value, rel=1e-6)  # the last row is the saved agent's
    assert rows[0]["exact_env_trend"] is None  # before 3 evaluations
    assert rows[0]["exact_env_return"] == pytest.approx(rows[-1]["exact_env_return"])
    status = rl.runs.RunDir(result.run_dir).status()
    assert status["exact_env_return"] == pytest.approx(rows[-1]["exact_env_return"])
