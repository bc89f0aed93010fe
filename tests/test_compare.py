"""`rewardlab compare`: the distance matrix, its files and its errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

import rewardlab as rl
from rewardlab.cli import main
from rewardlab.compare import compare

ROOT = Path(__file__).resolve().parents[1]
PENDULUM_SPECS = [
    str(ROOT / "rewards" / "pendulum_no_velocity.toml"),
    str(ROOT / "rewards" / "pendulum_ground_truth_terms.toml"),
    str(ROOT / "rewards" / "pendulum_shaped_upright.toml"),
    "env",
]
NAMES = ["pendulum_no_velocity", "pendulum_ground_truth_terms", "pendulum_shaped_upright", "env"]


@pytest.mark.parametrize("metric", ["epic", "starc-val"])
def test_compare_cli_writes_a_symmetric_matrix_csvs_and_a_heatmap(tmp_path, capsys, metric):
    from matplotlib import image

    code = main(["compare", "--env", "pendulum", *PENDULUM_SPECS, "--metric", metric, "--n", "300",
                 "--runs-dir", str(tmp_path)])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "distance on pendulum (estimated from 300 transitions" in out and "Run directory:" in out
    assert "pendulum_no_velocity vs env" in out
    (run_dir,) = (tmp_path / "compare").iterdir()
    assert run_dir.name.startswith(f"pendulum__{metric}__")

    with open(run_dir / "matrix.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["", *NAMES] and [r[0] for r in rows[1:]] == NAMES
    matrix = np.array([[float(v) for v in r[1:]] for r in rows[1:]])
    np.testing.assert_array_equal(matrix, matrix.T)
    np.testing.assert_array_equal(np.diag(matrix), 0.0)
    assert matrix[0, 3] > 0.01  # dropping the velocity cost changes the reward
    assert matrix[1, 3] == pytest.approx(0.0, abs=1e-9)  # the ground truth written as terms
    assert matrix[2, 3] < (1e-9 if metric == "epic" else 1e-3)  # shaping: exact for EPIC, fitted V for VAL

    with open(run_dir / "distances.csv", newline="") as f:
        pairs = list(csv.DictReader(f))
    assert len(pairs) == 6
    for row in pairs:
        assert float(row["ci_low"]) <= float(row["value"]) + 1e-12 <= float(row["ci_high"]) + 2e-12
        assert int(row["n"]) == 300 and row["method"] == metric

    png = image.imread(run_dir / "heatmap.png")
    assert png.ndim == 3 and png.shape[0] > 300 and png.shape[1] > 300
    config = json.loads((run_dir / "config.json").read_text())
    assert config["metric"] == metric and config["n"] == 300 and config["exact"] is False
    assert [s["name"] for s in config["specs"]] == NAMES


def test_compare_returns_estimates_with_names_and_intervals(tmp_path):
    result = compare("pendulum", PENDULUM_SPECS[:2], n=200, write=False, n_bootstrap=20)
    assert result.names == tuple(NAMES[:2]) and result.run_dir is None and not result.exact
    est = result.estimates[0][1]
    assert est.ci_low <= est.value <= est.ci_high and est.n_transitions == 200
    assert "pendulum_no_velocity vs pendulum_ground_truth_terms" in result.table()


def test_compare_is_deterministic_under_a_seed():
    first = compare("pendulum", PENDULUM_SPECS[:2], n=200, seed=4, write=False, n_bootstrap=20)
    again = compare("pendulum", PENDULUM_SPECS[:2], n=200, seed=4, write=False, n_bootstrap=20)
    assert first.estimates == again.estimates


@pytest.mark.skipif("cliffworld" not in rl.suite.names(), reason="no env with a tabular model yet")
def test_compare_on_a_tabular_env_is_exact(tmp_path, capsys):
    goal_only = {"kind": "terms", "weights": {"goal_reached": 1.0}}
    result = compare("cliffworld", ["env", goal_only], metric="starc-val", runs_dir=tmp_path)
    mdp = rl.metrics.tabular_model("cliffworld").mdp
    tables = [rl.metrics.reward_table(spec, "cliffworld") for spec in ("env", goal_only)]
    assert result.exact and result.values[0, 1] == rl.metrics.starc_distance(*tables, mdp, "val")
    assert "(exact)" in result.table()
    assert main(["compare", "--env", "cliffworld", "env", "env", "--runs-dir", str(tmp_path)]) == 0
    assert "exact, on the env's tabular MDP" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--metric", "epci", "env", "env"], "`metric` must be a distance metric (got 'epci'). Did you mean 'epic'?"),
        (["env"], "`specs` must be at least 2 reward specs"),
        (["--n", "0", "env", "env"], "`n` must be an integer >= 10 (got 0)"),
        (["env", "nope.toml"], "`reward` must be a readable TOML file"),
    ],
    ids=["unknown-metric", "one-spec", "bad-n", "missing-file"],
)
def test_compare_bad_input_prints_a_clear_error(tmp_path, capsys, argv, expected):
    assert main(["compare", "--env", "pendulum", *argv, "--runs-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err
    assert not (tmp_path / "compare").exists()


CARTPOLE_SHAPED = {"kind": "shaped", "potential": "upright", "gamma": 0.99, "base": {"kind": "env"}}


def test_epic_to_cartpoles_constant_ground_truth_is_undefined_with_the_reason(tmp_path):
    # CartPole pays +1 on every step: EPIC's canonical form of it is exactly 0 (termination is not
    # seen), so every distance to it used to print 0.500 [0.500, 0.500]. Now: NaN with the reason.
    result = compare("cartpole", ["env", CARTPOLE_SHAPED], metric="epic", n=300, n_bootstrap=20, runs_dir=tmp_path)
    est = result.estimates[0][1]
    assert not est.defined and np.isnan([est.value, est.ci_low, est.ci_high]).all()
    assert est.reason is not None and est.reason.startswith("'env' is trivial: its EPIC canonical form is constant")
    # the diagonal of the trivial reward is undefined too; the shaped one is not trivial for the
    # sampled EPIC (its potential is zeroed at termination, which the canonical samples do not see)
    assert np.isnan(result.values[0]).all() and result.values[1, 1] == 0.0
    table = result.table()
    assert "0.500" not in table and f"undefined: {est.reason}" in table
    assert "env vs shaped(env,upright)  undefined" in table
    with (result.run_dir / "distances.csv").open() as f:
        (row,) = list(csv.DictReader(f))
    assert row["value"] == "nan" and row["reason"] == est.reason


def test_default_metric_is_starc_val_which_sees_cartpoles_survival_reward():
    # With termination in the sample, STARC-VAL's V is not a constant's: the ground truth is not
    # trivial, and shaping it by the pole's uprightness leaves it close to 0 (fitted V, not exact).
    result = compare("cartpole", ["env", CARTPOLE_SHAPED, ROOT / "rewards" / "cartpole_centered.toml"], n=600,
                     n_bootstrap=20, write=False)  # fmt: skip
    assert result.metric == "starc-val"
    assert all(e.defined for row in result.estimates for e in row)
    assert result.values[0, 1] < 0.02  # measured 0.001 at n=2000
    assert result.values[0, 2] > 0.05  # measured 0.151: a different reward


def test_exact_distance_to_a_trivial_reward_is_undefined(capsys, tmp_path):
    # A pure potential shaping (of a zero reward): every policy has the same return under it.
    trivial = {"kind": "shaped", "potential": "goal_distance", "gamma": 0.99,
               "base": {"kind": "terms", "weights": {"step_cost": 0.0}}}  # fmt: skip
    mdp = rl.metrics.tabular_model("cliffworld").mdp
    for metric, method in (("starc-val", "val"), ("epic", "epic")):
        result = compare("cliffworld", ["env", trivial], metric=metric, write=False)
        est = result.estimates[0][1]
        assert result.exact and not est.defined and result.values[0, 0] == 0.0
        assert est.reason == f"{result.names[1]!r} is trivial: {rl.metrics.undefined_reason(trivial, mdp, method)}"
        # the paper's convention that the library functions keep: the standardised trivial reward is 0
        table = rl.metrics.reward_table(trivial, "cliffworld")
        distance = rl.metrics.starc_distance if method == "val" else rl.metrics.epic_distance
        assert distance(rl.metrics.reward_table("env", "cliffworld"), table, mdp) == pytest.approx(0.5)
    assert main(["compare", "--env", "cliffworld", "env", "env", "--runs-dir", str(tmp_path)]) == 0
    assert "undefined" not in capsys.readouterr().out  # the ground truth itself is not trivial


def test_compare_help_says_why_starc_val_is_the_default(capsys):
    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    out = capsys.readouterr().out
    assert "default: starc-val" in out and "The default metric is STARC-VAL, because" in out
