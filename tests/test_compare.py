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
