"""Training-time hacking monitors: scale-free measures, every env factor, the distance to the truth.

Checked against closed forms and invariances: rank correlations and trends of monotone series
are exactly +-1; EPIC is 0 for a positive rescaling of the truth and 1 for its negation (on any
distribution, the agent's own included); an Env proxy's terms are its weights times the factors.
"""

from __future__ import annotations

import numpy as np
import pytest

import rewardlab as rl
from rewardlab.monitors import rank_correlation, trend
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
