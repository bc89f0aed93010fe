"""Training-time hacking monitors: scale-free measures, every env factor, the distance to the truth.

Checked against closed forms and invariances: rank correlations and trends of monotone series
are exactly +-1; EPIC is 0 for a positive rescaling of the truth and 1 for its negation (on any
distribution, the agent's own included); an Env proxy's terms are its weights times the factors.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import rewardlab as rl
from rewardlab.cli import main
from rewardlab.monitors import detect, diagnose, rank_correlation, trend
from rewardlab.training import _scalars

TRUTH = {"angle_cost": -1.0, "velocity_cost": -0.1, "torque_cost": -0.001}  # pendulum's ground truth


def test_rank_correlation_and_trend_are_scale_free_closed_forms():
    x = np.linspace(-5, 5, 12)
    assert rank_correlation(x, 1000 * x**3 - 7) == pytest.approx(1.0)  # any increasing map of x
    assert rank_correlation(x, -np.exp(x)) == pytest.approx(-1.0)
    assert rank_correlation(x[:4], x[:4]) is None  # too few episodes to say
    assert rank_correlation(x, np.ones_like(x)) is None  # a constant return ranks nothing
    assert trend([1.0, 2.0, 5.0, 9.0]) == pytest.approx(1.0)
    assert trend([3.0, 2.0, 1.0]) == pytest.approx(-1.0)
    assert trend([1.0, 2.0]) is None
    assert trend([0.0, 0.0, 0.0]) == 0.0  # a stalled return has no trend (divergence reads it as <= 0)


def _train(tmp_path, reward, name, **kw):
    config = rl.TrainConfig(
        env="pendulum", agent="sac", reward=reward, timesteps=300, eval_freq=150, eval_episodes=2,
        hyperparams={"learning_starts": 100, "policy_kwargs": {"net_arch": [8]}}, runs_dir=str(tmp_path),
        run_name=name, progress_bar=False, **kw,
    )  # fmt: skip
    return rl.train(config)


def test_the_distance_to_the_truth_on_the_agent_distribution_has_the_invariances_of_epic(tmp_path):
    scaled = _train(tmp_path, {"kind": "terms", "weights": {k: 3 * w for k, w in TRUTH.items()}}, "scaled")
    negated = _train(tmp_path, {"kind": "terms", "weights": {k: -w for k, w in TRUTH.items()}}, "negated")
    for row in scaled.metrics:
        assert row["distance_epic"] == pytest.approx(0.0, abs=1e-6)
        assert row["distance_transitions"] == 256 and row["monitor_s"] >= 0
    for row in negated.metrics:
        assert row["distance_epic"] == pytest.approx(1.0, abs=1e-6)
        low, high = row["distance_starc_val_ci"]
        assert low <= row["distance_starc_val"] <= high
    status = rl.runs.RunDir(negated.run_dir).status()
    assert status["distance_epic"] == pytest.approx(1.0, abs=1e-6)  # the summary repeats the last monitors


def test_every_env_factor_is_logged_even_those_the_proxy_leaves_out(tmp_path):
    no_velocity = _train(tmp_path, {"kind": "terms", "weights": {"angle_cost": -1.0}}, "nv", monitor_transitions=0)
    row = no_velocity.metrics[-1]
    assert set(row["eval_factors"]) == {"angle_cost", "velocity_cost", "torque_cost"}
    assert set(row["eval_terms"]) == {"angle_cost"}
    assert "distance_epic" not in row  # monitor_transitions=0 turns the distances off
    truth = _train(tmp_path, "env", "truth")
    for row in truth.metrics:
        assert "distance_epic" not in row  # the truth is at distance 0 from itself: not measured
        for name, weight in TRUTH.items():  # an Env proxy's terms are the weighted factor sums
            assert row["eval_terms"][name] == pytest.approx(weight * row["eval_factors"][name]["episode_sum"])
        factor = row["eval_factors"]["angle_cost"]
        assert factor["step_mean"] == pytest.approx(factor["episode_sum"] / row["eval_length"])


def test_tensorboard_gets_every_number_of_a_row_and_skips_the_rest():
    row = {"timesteps": 5, "a": 1.0, "b": None, "c": [0.1, 0.2], "d": {"e": {"f": 2}}, "g": True}
    assert _scalars(row) == [("a", 1.0), ("d/e/f", 2.0)]


@pytest.mark.parametrize(
    ("row", "fired"),
    [
        ({"proxy_trend": 0.8, "env_trend": -0.4}, ["divergence"]),
        ({"proxy_trend": 0.8, "env_trend": 0.2}, []),  # both rising: no hacking
        ({"proxy_trend": 0.4, "env_trend": -1.0}, []),  # the proxy is not really rising
        # on an env with an exact model, the exact trends decide (the evaluations' are noisier)
        ({"proxy_trend": 0.0, "env_trend": 0.0, "exact_proxy_trend": 1.0, "exact_env_trend": -0.2}, ["divergence"]),
        ({"proxy_trend": 0.8, "env_trend": -0.4, "exact_proxy_trend": 0.8, "exact_env_trend": 0.6}, []),
        ({"eval_terms": {"a": -9.5, "b": 0.5}}, ["term_dominance"]),
        ({"eval_terms": {"a": -6.0, "b": 4.0}}, []),
        ({"eval_terms": {"a": -6.0}}, []),  # one term dominates nothing
        ({"action_at_bounds": 0.95}, ["degenerate_actions"]),
        ({"action_mode_share": 0.97}, []),  # a gridworld's shortest path repeats one action
        ({"action_at_bounds": 0.5, "action_mode_share": None}, []),
        ({"state_change": 0.001, "task_moves": True}, ["standing_still"]),
        ({"state_change": 0.001, "task_moves": False}, []),  # waiting can be the task
        ({"state_change": 0.3, "task_moves": True}, []),
        ({"reward_spike": 12.0}, ["reward_spike"]),
        ({"reward_spike": 3.0}, []),
        ({"reward_std": 4.0, "reward_learns": True}, ["reward_drift"]),  # the history's first spread is 1.0
        ({"reward_std": 0.2, "reward_learns": True}, ["reward_drift"]),
        ({"reward_std": 2.0, "reward_learns": True}, []),
        ({"reward_std": 4.0, "reward_learns": False}, []),  # a fixed reward's spread follows the policy
    ],
)
def test_each_detector_fires_exactly_past_its_threshold(row, fired):
    history = [{"timesteps": 100, "reward_std": 1.0}]
    flags = detect({"timesteps": 200, **row}, history)
    assert [f.detector for f in flags] == fired
    for flag in flags:
        assert flag.timesteps == 200 and flag.explanation and flag.evidence


def test_diagnose_reads_a_run_and_a_sweep_folder(tmp_path, capsys):
    rows = [
        {"timesteps": 100, "eval_proxy_return": 1.0, "eval_env_return": 5.0},
        {"timesteps": 200, "proxy_trend": 1.0, "env_trend": -1.0, "eval_proxy_return": 9.0, "eval_env_return": 1.0,
         "exact_proxy_return": 97.0, "exact_env_return": 0.0, "exact_regret": 1.0},
    ]  # fmt: skip
    for name, data in (("hacked", rows), ("fine", rows[:1])):
        (tmp_path / "sweep" / name).mkdir(parents=True)
        rl.runs.write_atomic(tmp_path / "sweep" / name / "metrics.jsonl", "".join(json.dumps(r) + "\n" for r in data))
    found = diagnose(tmp_path / "sweep")
    assert {p.name: [f.detector for f in flags] for p, flags in found.items()} == {"fine": [], "hacked": ["divergence"]}
    assert main(["diagnose", str(tmp_path / "sweep" / "hacked")]) == 0
    out = capsys.readouterr().out
    assert "step      200  divergence" in out and "1 of 1 run(s) flagged" in out
    assert "proxy return 9, true return 1 | exact discounted: proxy 97, true 0, regret 1" in out
    assert main(["diagnose", str(tmp_path / "sweep"), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[str(tmp_path / "sweep" / "fine")] == {
        "flags": [], "last": {"timesteps": 100, "eval_proxy_return": 1.0, "eval_env_return": 5.0}
    }  # fmt: skip
    assert main(["diagnose", str(tmp_path / "nothing")]) == 2
    assert "`path` must be a run directory or a folder of runs" in capsys.readouterr().err


def test_training_records_the_flags_it_raises(tmp_path):
    # one term of ten times the others' magnitude: term dominance fires at every evaluation
    result = _train(tmp_path, {"kind": "terms", "weights": {"angle_cost": -100.0, "torque_cost": -0.001}}, "dom")
    assert all("term_dominance" in [f["detector"] for f in row["flags"]] for row in result.metrics)
    for key in ("action_at_bounds", "state_change", "reward_std"):
        assert key in result.metrics[-1]


def test_stop_on_a_detector_ends_training_at_its_first_flag(tmp_path):
    weights = {"angle_cost": -100.0, "torque_cost": -0.001}  # term dominance fires at every evaluation
    result = _train(tmp_path, {"kind": "terms", "weights": weights}, "stop", stop_on=("term_dominance",))
    assert [row["timesteps"] for row in result.metrics] == [150]  # of 300 steps: stopped at the first flag
    assert result.metrics[0]["stopped_by"] == ["term_dominance"]
    status = rl.runs.RunDir(result.run_dir).status()
    assert status["status"] == "done" and status["stopped_at"] == 150
    with pytest.raises(rl.ConfigError, match=r"`stop_on\[0\]` must be a detector"):
        rl.TrainConfig(env="pendulum", stop_on=("divergense",))


def test_state_change_is_in_units_of_a_random_policy_so_staying_put_reads_zero():
    from rewardlab.monitors import _behaviour, random_step_change

    unit = random_step_change("pendulum")
    assert unit.shape == (3,) and np.all(unit > 0)
    fn = rl.rewards.Env().build("pendulum")
    space = rl.suite.get("pendulum").make().action_space
    same = rl.data.sample_transitions("pendulum", 1024, policy="random", seed=0)  # the reference itself
    assert _behaviour(same, space, fn, unit)["state_change"] == pytest.approx(1.0)
    half = rl.data.Transitions(
        same.obs, same.actions, same.obs + (same.next_obs - same.obs) / 2, same.dones, "pendulum"
    )
    assert _behaviour(half, space, fn, unit)["state_change"] == pytest.approx(0.5)
    still = rl.data.Transitions(same.obs, same.actions, same.obs, same.dones, "pendulum")
    row = {"timesteps": 1, "task_moves": True, **_behaviour(still, space, fn, unit)}
    assert row["state_change"] == 0.0 and [f.detector for f in detect(row)] == ["standing_still"]
