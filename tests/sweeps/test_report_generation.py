"""The report as one generation (results/ and report/ switch together), what --no-distances keeps,
and a sweep folder from someone else: the report trains nothing and loads no policy."""

from __future__ import annotations

import base64
import csv
import json
import math
import os
import pickle
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from _sweep_helpers import REWARDS

from rewardlab import runs
from rewardlab.cli import main
from rewardlab.preferences import _heron
from rewardlab.sweeps import write_report
from rewardlab.sweeps._aggregate import aggregate


def _snapshot(sweep: Path) -> dict[str, bytes]:
    """Every file a reader sees under results/ and report/, by path."""
    return {
        str(p.relative_to(sweep)): p.read_bytes()
        for part in ("results", "report")
        for p in sorted((sweep / part).rglob("*"))
        if p.is_file()
    }


def _summary_rows(sweep: Path) -> dict[str, dict[str, str]]:
    with open(sweep / "results" / "summary.csv", encoding="utf-8") as f:
        return {row["variant"]: row for row in csv.DictReader(f)}


@pytest.mark.parametrize("point", ["replace:report.html", "sweep:report_commit"])
def test_a_report_killed_midway_leaves_the_previous_tables_and_page_whole(sweep_dir: Path, point: str) -> None:
    write_report(sweep_dir, distances=False)
    before = _snapshot(sweep_dir)
    assert "results/summary.csv" in before and "report/report.html" in before
    # A trial's final return changes, so a new report differs from the old one everywhere.
    status_path = sweep_dir / "pendulum__ground_truth__sac__s0" / "status.json"
    status = json.loads(status_path.read_text())
    status_path.write_text(json.dumps({**status, "final_env_return": -50.0}))
    env = {**os.environ, runs.FAULT_VAR: point}  # killed (os._exit(137), as kill -9) at that point
    cmd = [sys.executable, "-m", "rewardlab.cli", "report", str(sweep_dir), "--no-distances"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 137, proc.stderr
    assert _snapshot(sweep_dir) == before  # the old generation, whole: no new table beside an old page

    path = write_report(sweep_dir, distances=False)  # the next report replaces both, and tidies up
    after = _snapshot(sweep_dir)
    assert path == sweep_dir / "report" / "report.html" and set(after) == set(before)
    assert after["results/summary.csv"] != before["results/summary.csv"]
    assert after["report/report.html"] != before["report/report.html"]
    assert float(_summary_rows(sweep_dir)["ground_truth"]["env_return_mean"]) == pytest.approx(
        -115.0
    )  # (-50 - 160 - 150 - 100) / 4
    assert len([p for p in (sweep_dir / ".report").iterdir() if p.is_dir() and not p.is_symlink()]) == 1


def test_no_distances_keeps_the_distances_computed_before(sweep_dir: Path) -> None:
    write_report(sweep_dir, n_transitions=100)
    distances = (sweep_dir / "results" / "distances.csv").read_bytes()
    rows = _summary_rows(sweep_dir)
    figures = sorted(p.name for p in (sweep_dir / "report").glob("distance*.png"))
    assert figures == ["distance_heatmap_pendulum.png", "distance_vs_regret_pendulum_sac.png"]

    write_report(sweep_dir, distances=False)  # skips the work, keeps what was there
    assert (sweep_dir / "results" / "distances.csv").read_bytes() == distances
    again = _summary_rows(sweep_dir)
    assert all(again[v]["distance"] == rows[v]["distance"] != "" for v in REWARDS)
    assert sorted(p.name for p in (sweep_dir / "report").glob("distance*.png")) == figures
    page = (sweep_dir / "report" / "report.html").read_text(encoding="utf-8")
    assert "distances kept from the last report" in page and "Spearman" in page

    # A variant's reward changed since: its stale distances are not shown, but not thrown away either.
    sweep_json = json.loads((sweep_dir / "sweep.json").read_text())
    for trial in sweep_json["trials"]:
        if trial["variant"] == "shaped":
            trial["reward"] = {**trial["reward"], "gamma": 0.9}
    (sweep_dir / "sweep.json").write_text(json.dumps(sweep_json))
    summary = aggregate(sweep_dir, distances=False, write=False)
    assert any("variants or the metric changed" in note for note in summary.notes)
    assert all(math.isnan(row["distance"]) for row in summary.rows) and not summary.matrices
    write_report(sweep_dir, distances=False, summary=summary)
    assert not list((sweep_dir / "report").glob("distance*.png"))
    assert "pendulum" in json.loads((sweep_dir / "results" / "distances.json").read_text())["envs"]


class _Payload:
    """Unpickled, it creates the folder ``path`` (what a crafted model zip would do, less kindly)."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self) -> tuple[Callable[..., object], tuple[str]]:
        return os.mkdir, (self.path,)


def _crafted_agent_zip(path: Path, marker: Path) -> Path:
    """An SB3-looking ``model.zip`` whose pickled ``policy_class`` runs code when loaded."""
    blob = base64.b64encode(pickle.dumps(_Payload(marker))).decode()
    data = {"policy_class": {":type:": "<class 'abc.ABCMeta'>", ":serialized:": blob}, "observation_space": {}}
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("data", json.dumps(data))
        z.writestr("pytorch_variables.pth", b"")
        z.writestr("_stable_baselines3_version", "2.3.0")
    return path


def test_reporting_a_sweep_someone_sent_trains_nothing_and_loads_no_policy(
    sweep_factory: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    marker = tmp_path / "payload-ran"
    pickle.loads(pickle.dumps(_Payload(tmp_path / "control")))
    assert (tmp_path / "control").is_dir()  # the payload is live: loading it runs code
    policy = _crafted_agent_zip(tmp_path / "policy.zip", marker)
    learned = {"kind": "learned", "preferences": {"policy": str(policy), "n_segments": 8, "length": 5, "n_pairs": 8}}
    rewards = {
        "ground_truth": {"kind": "env"},
        "no_cliff": {"kind": "terms", "weights": {"goal_reached": 10.0, "step_cost": -0.1}},
        "learned": learned,
    }
    sweep = sweep_factory(
        "sent",
        env="cliffworld",
        agent="dqn",
        rewards=rewards,
        seeds={k: [0, 1] for k in rewards},
        env_curves={(k, s): [-10.0 + s, -5.0, 0.0, 5.0] for k in rewards for s in (0, 1)},
        gaps={k: [0.0] * 4 for k in rewards},
    )

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("the report trained a reward model")

    monkeypatch.setattr(_heron, "_train_from_preferences", no_training)
    monkeypatch.setattr(_heron, "_train_offline", no_training)
    assert main(["report", str(sweep)]) == 0
    out = capsys.readouterr().out
    assert not marker.exists()
    assert "cliffworld/learned: distance not computed" in out and "never trains one" in out
    rows = _summary_rows(sweep)
    assert rows["learned"]["distance"] == "" and rows["no_cliff"]["distance"] != ""  # only its own distance lost
    page = (sweep / "report" / "report.html").read_text(encoding="utf-8")
    assert "a report never trains one" in page
