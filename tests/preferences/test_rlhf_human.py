"""``rlhf --teacher human | mixed``: each stage's pairs go to the labelling page, the loop waits and resumes.

The labeller here is a thread speaking HTTP to the page's API (the browser test,
``test_rlhf_browser.py``, does the same with Chromium). It follows the ground truth: it reads a
pair's segment returns from ``/api/pairs/{id}`` (what the page's "details" shows) and prefers the
higher one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx2
import numpy as np
import pytest
import torch
from test_rlhf import tiny  # tests/preferences is on sys.path (rootdir import)
from test_serve import free_port

from rewardlab.cli import main
from rewardlab.errors import ConfigError
from rewardlab.preferences import LabelTimeout, PreferenceDataset, RLHFConfig, run_rlhf
from rewardlab.runs import read_jsonl

torch.set_num_threads(1)


class Labeller(threading.Thread):
    """Labels every pair the page hands out, by the segments' ground-truth returns, until stopped.

    ``skip_first``: skip that many pairs (they are dropped from the dataset). ``stop_after``: stop
    after that many labels (to kill the loop while it waits).
    """

    def __init__(self, base: str, name: str = "script", skip_first: int = 0, stop_after: int | None = None) -> None:
        super().__init__(daemon=True)
        self.base, self.who, self.skip_first, self.stop_after = base, name, skip_first, stop_after
        self.given: list[dict[str, Any]] = []
        self.skipped = 0
        self.halt = threading.Event()

    def run(self) -> None:
        with httpx2.Client(base_url=self.base, timeout=10) as client:
            while not self.halt.is_set():
                try:
                    if self._label_one(client):
                        return
                except httpx2.TransportError:  # between stages, before the first or after a kill: no server
                    time.sleep(0.05)

    def _label_one(self, client: httpx2.Client) -> bool:
        """Label (or skip) the pair the page hands out; True once ``stop_after`` labels are given."""
        pair = client.get("/api/next", params={"labeller": self.who}).json()
        if pair.get("done"):
            time.sleep(0.05)
            return False
        if self.skipped < self.skip_first:
            client.post("/api/skip", json={"labeller": self.who, "pair_id": pair["pair_id"]})
            self.skipped += 1
            return False
        meta = client.get(f"/api/pairs/{pair['pair_id']}").json()
        left, right = meta["left"]["env_return"], meta["right"]["env_return"]
        label = "left" if left > right else "right" if right > left else "equal"
        body = {"labeller": self.who, "pair_id": pair["pair_id"], "label": label}
        if client.post("/api/label", json=body).status_code == 200:
            self.given.append({"pair_id": pair["pair_id"], "label": label, "queue": pair["queue"]})
        return self.stop_after is not None and len(self.given) >= self.stop_after


def human(tmp_path: Path, **over: Any) -> RLHFConfig:
    """The tiny cartpole run, taught by a person on a free port."""
    return tiny(tmp_path, **{"teacher": "human", "port": free_port(), "human_timeout_s": 120.0, **over})


def test_a_person_labels_every_stage_and_the_dataset_holds_their_labels(tmp_path: Path) -> None:
    config = human(tmp_path, label_budget=12)  # schedule [1, 4, 4, 3]
    labeller = Labeller(f"http://127.0.0.1:{config.port}", skip_first=1)
    labeller.start()
    try:
        result = run_rlhf(config)
    finally:
        labeller.halt.set()
    rows = result.history
    assert [r["labels_stage"] for r in rows] == config.schedule
    assert sum(r["labels_human"] for r in rows) == 11 and sum(r["labels_skipped"] for r in rows) == 1
    assert all(r["labels_synthetic"] == 0 for r in rows)
    dataset = PreferenceDataset.load(result.run_dir / "dataset")
    assert len(dataset) == 11  # the skipped pair is dropped
    # every label is the ground-truth preference, as the labeller gave it
    returns = dataset.segments.returns()
    a, b = dataset.pairs.T
    truth = np.where(returns[a] > returns[b], 1.0, np.where(returns[b] > returns[a], 0.0, 0.5))
    np.testing.assert_array_equal(dataset.labels, truth)
    assert [p["source"] for p in dataset.provenance] == ["human"] * 4
    # stage 0's only pair was skipped: nobody labelled in that stage
    assert [p["labellers"] for p in dataset.provenance] == [[], ["script"], ["script"], ["script"]]
    # each stage is a labelling dataset of its own, with the per-label provenance
    for stage in range(4):
        log = read_jsonl(result.run_dir / "human" / f"stage_{stage:03d}" / "labels.jsonl")
        assert {e["labeller"] for e in log} == {"script"}
        assert all(e["time_taken_s"] is not None for e in log if e["event"] == "label")
    saved = json.loads((result.run_dir / "config.json").read_text())
    assert saved["teacher"] == "human" and saved["token"] is None


def test_killed_while_waiting_the_rerun_serves_the_same_pairs_and_keeps_the_labels(tmp_path: Path) -> None:
    config = human(tmp_path, label_budget=12, human_timeout_s=6.0)
    first = Labeller(f"http://127.0.0.1:{config.port}", name="alice", stop_after=3)  # stage 0 (1) + 2 of stage 1
    first.start()
    with pytest.raises(LabelTimeout, match=r"(?s)stage 1 waited 6 s for 4 labels.*got 2.*--resume .*tiny"):
        run_rlhf(config)
    first.halt.set()
    stage_dir = tmp_path / "rlhf" / "tiny" / "human" / "stage_001"
    before = (stage_dir / "queries.csv").read_text()
    assert len([e for e in read_jsonl(stage_dir / "labels.jsonl") if e["event"] == "label"]) == 2

    second = Labeller(f"http://127.0.0.1:{config.port}", name="bob")
    second.start()
    try:
        result = run_rlhf(human(tmp_path, label_budget=12, port=config.port))
    finally:
        second.halt.set()
    assert (stage_dir / "queries.csv").read_text() == before  # the same pairs, not new segments
    log = [e for e in read_jsonl(stage_dir / "labels.jsonl") if e["event"] == "label"]
    assert [e["labeller"] for e in log] == ["alice", "alice", "bob", "bob"]  # alice's labels kept
    assert result.labels_used == 12 and len(PreferenceDataset.load(result.run_dir / "dataset")) == 12


def test_mixed_teaching_sends_a_share_to_the_page_and_the_rest_to_the_oracle(tmp_path: Path) -> None:
    config = human(tmp_path, teacher="mixed", human_fraction=0.5, label_budget=12)
    labeller = Labeller(f"http://127.0.0.1:{config.port}")
    labeller.start()
    try:
        rows = run_rlhf(config).history
    finally:
        labeller.halt.set()
    # ceil(0.5 * n) of each stage's n pairs to the page: [1, 4, 4, 3] -> [1, 2, 2, 2]
    assert [r["labels_human"] for r in rows] == [1, 2, 2, 2]
    assert [r["labels_synthetic"] for r in rows] == [0, 2, 2, 1]


def test_mixed_teaching_without_a_person_falls_back_to_the_oracle_at_the_timeout(tmp_path: Path) -> None:
    rows = run_rlhf(human(tmp_path, teacher="mixed", human_timeout_s=0.0, label_budget=6)).history
    assert sum(r["labels_synthetic"] for r in rows) == 6 and sum(r["labels_human"] for r in rows) == 0


@pytest.mark.parametrize(
    ("over", "match"),
    [
        ({"teacher": "person"}, "teacher"),
        ({"teacher": "human", "human_fraction": 0.5}, r"human_fraction.*teacher=\"mixed\""),
        ({"teacher": "human", "host": "0.0.0.0"}, "token.*16"),
        ({"teacher": "human", "port": 70000}, "port"),
        ({"teacher": "human", "human_timeout_s": -1.0}, "human_timeout_s"),
    ],
)
def test_bad_teacher_settings_are_clear_errors_before_any_run(tmp_path: Path, over: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        tiny(tmp_path, **over)
    assert not (tmp_path / "rlhf").exists()


def test_a_busy_port_is_a_clear_error_naming_the_port(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ConfigError, match=rf"port.*{port}.*--port"):
            run_rlhf(human(tmp_path, port=port))


def test_cli_teacher_mixed_runs_and_prints_where_to_label(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    args = ["rlhf", "--env", "cartpole", "--agent", "ppo", "--timesteps", "256", "--labels", "4", "--iterations", "1"]
    args += ["--segment-length", "10", "--ensemble", "2", "--hidden", "16", "--reward-epochs", "2", "--n-envs", "2"]
    args += ["--eval-episodes", "1", "--set", "n_steps=32", "--set", "batch_size=64", "--set", "n_epochs=1"]
    args += ["--teacher", "mixed", "--human-timeout", "0", "--port", str(port), "--no-progress"]
    args += ["--runs-dir", str(tmp_path), "--run-name", "cli"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"Teacher: a person at http://127.0.0.1:{port}/" in out
    assert f"label 1 pairs at http://127.0.0.1:{port}/" in out


def test_kill_9_while_waiting_then_resume_keeps_every_label_given(tmp_path: Path) -> None:
    """A real kill -9 of the RLHF process (at the fault point ``human:event``), then ``--resume``."""
    port = free_port()
    args = [sys.executable, "-m", "rewardlab.cli", "rlhf", "--env", "cartpole", "--timesteps", "256", "--labels", "12"]
    args += ["--iterations", "3", "--segment-length", "10", "--ensemble", "2", "--hidden", "16"]
    args += ["--reward-epochs", "2", "--n-envs", "2", "--eval-episodes", "1", "--no-progress"]
    args += ["--set", "n_steps=32", "--set", "batch_size=64", "--set", "n_epochs=1", "--teacher", "human"]
    args += ["--port", str(port), "--runs-dir", str(tmp_path), "--run-name", "killed"]
    alice = Labeller(f"http://127.0.0.1:{port}", name="alice")
    alice.start()
    # the 3rd label seen is stage 1's 2nd: the process dies with it fsynced, the stage uncommitted
    env = {**os.environ, "REWARDLAB_FAULT": "human:event#3=kill"}
    killed = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    alice.halt.set()
    alice.join(10)
    assert killed.returncode == 137, killed.stderr
    run_dir = tmp_path / "rlhf" / "killed"
    stage1 = run_dir / "human" / "stage_001"
    given = [e for e in read_jsonl(stage1 / "labels.jsonl") if e["event"] == "label"]
    assert len(given) >= 2 and json.loads((run_dir / "state.json").read_text())["stage"] == 0

    bob = Labeller(f"http://127.0.0.1:{port}", name="bob")
    bob.start()
    resumed = subprocess.run([*args, "--resume", str(run_dir)], capture_output=True, text=True, timeout=300)
    bob.halt.set()
    assert resumed.returncode == 0, resumed.stderr
    log = [e for e in read_jsonl(stage1 / "labels.jsonl") if e["event"] == "label"]
    assert log[: len(given)] == given and {e["labeller"] for e in log[len(given) :]} <= {"bob"}
    dataset = PreferenceDataset.load(run_dir / "dataset")
    assert len(dataset) == 12 and sum(p.get("n_human", 0) for p in dataset.provenance) == 12
