"""Resume after kill -9 and after Ctrl-C: no finished trial recomputed, none lost.

The sweep runs as ``python -m rewardlab.cli sweep`` in its own process group, so the test can
kill the sweep and its workers at once, as a crash or ``kill -9`` of a job would.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rewardlab.runs import read_status
from rewardlab.sweeps import load_sweep, run_sweep, sweep_status

# 2 variants x 2 seeds of PPO on CartPole, ~1-2 s per trial on a busy 2-core machine.
SPEC = """
name = "resume"
envs = ["cartpole"]
seeds = [0, 1]
timesteps = 1024
eval_freq = 512
eval_episodes = 2
[agents.ppo]
n_steps = 128
batch_size = 64
n_epochs = 2
n_envs = 1
policy_kwargs = { net_arch = [16] }
[variants.truth]
kind = "env"
[variants.upright]
kind = "terms"
weights = { alive = 1.0, pole_angle = -1.0 }
"""


def _start(spec: Path, runs: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "rewardlab.cli", "sweep", str(spec), "--workers", "2", "--runs-dir", str(runs)]
    with open(runs.parent / "stderr.txt", "wb") as err:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=err)


def _stderr(sweep: Path) -> str:
    return (sweep.parent.parent / "stderr.txt").read_text()


def _states(sweep: Path) -> dict[str, str]:
    return {p.name: read_status(p)["status"] for p in sweep.iterdir() if p.is_dir()} if sweep.is_dir() else {}


def _wait_for(proc: subprocess.Popen[bytes], sweep: Path, timeout: float = 60.0) -> dict[str, str]:
    """Wait until at least one trial is done and another is running."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        states = _states(sweep)
        if "done" in states.values() and "running" in states.values():
            return states
        if proc.poll() is not None:
            pytest.fail(f"the sweep ended before it could be interrupted: {_stderr(sweep)}")
        time.sleep(0.05)
    pytest.fail(f"no trial done and another running after {timeout} s: {_states(sweep)}")


def _files(sweep: Path, trials: list[str]) -> dict[str, tuple[bytes, int]]:
    out = {}
    for t in trials:
        for name in ("status.json", "metrics.jsonl", "config.json", "agent.zip"):
            p = sweep / t / name
            out[f"{t}/{name}"] = (p.read_bytes(), p.stat().st_mtime_ns)
    return out


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "resume.toml"
    path.write_text(SPEC)
    return path


def test_kill_9_mid_sweep_then_rerun_recomputes_nothing_finished_and_loses_nothing(spec_file, tmp_path):
    runs = tmp_path / "runs"
    sweep = runs / "resume"
    proc = _start(spec_file, runs)
    try:
        states = _wait_for(proc, sweep)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    time.sleep(0.2)  # let the killed workers go
    states = _states(sweep)
    done_before = sorted(t for t, s in states.items() if s == "done")
    assert done_before and "running" in states.values()
    before = _files(sweep, done_before)
    assert (sweep / "sweep.lock").exists()  # left by the killed sweep: stale, must be taken over
    assert sweep_status(sweep)["counts"]["running"] == 0  # no live sweep: the running trial is pending

    result = run_sweep(load_sweep(spec_file), workers=1, runs_dir=runs, progress=False)
    all_ids = [t.id for t in load_sweep(spec_file).trials(check=False)]
    assert result.skipped == len(done_before) and result.done == len(all_ids) - len(done_before)
    assert result.failed == 0 and result.complete
    assert _files(sweep, done_before) == before  # not recomputed, not rewritten
    assert sorted(_states(sweep)) == sorted(all_ids) and set(_states(sweep).values()) == {"done"}
    assert sweep_status(sweep)["counts"] == {"done": 4, "running": 0, "failed": 0, "pending": 0}


def test_ctrl_c_stops_cleanly_marks_the_running_trials_and_resumes(spec_file, tmp_path):
    runs = tmp_path / "runs"
    sweep = runs / "resume"
    proc = _start(spec_file, runs)
    try:
        _wait_for(proc, sweep)
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        rc = proc.wait(timeout=30)
        err = _stderr(sweep)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert rc == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert not (sweep / "sweep.lock").exists()
    states = _states(sweep)
    assert "running" not in states.values()
    interrupted = [t for t in states if read_status(sweep / t).get("error") == "interrupted"]
    assert interrupted
    done_before = sorted(t for t, s in states.items() if s == "done")
    before = _files(sweep, done_before)

    result = run_sweep(load_sweep(spec_file), workers=1, runs_dir=runs, retries=0, progress=False)
    assert result.skipped == len(done_before) and result.complete  # interrupted trials rerun even with retries=0
    assert _files(sweep, done_before) == before
    for t in interrupted:
        assert read_status(sweep / t)["attempts"] == 1  # the interrupted attempt did not count


def test_a_sweep_of_the_old_weight_grid_names_resumes_and_reports_under_the_new_ones(tmp_path, monkeypatch):
    # Earlier versions named a weight_grid value <term>_x<value>; the base weighs pole_angle -1, so
    # -3.0 was "pole_angle_x-3" and is now "pole_angle_x3", and 3.0 the other way round: the two swap.
    from _trial_helpers import UPRIGHT, tiny_spec

    from rewardlab.sweeps import Ablation, aggregate, migrate_names

    grid = {"kind": "weight_grid", "base": "upright", "term": "pole_angle", "values": [-3.0, 3.0]}
    spec = tiny_spec("grid", seeds=[0], variants={"upright": UPRIGHT}, ablations=[grid])

    def old_names(self, base):
        return {v: (f"{self.term}_x{v:g}",) * 2 for v in self.values}

    with monkeypatch.context() as m:
        m.setattr(Ablation, "grid_names", old_names)
        run_sweep(spec, workers=1, runs_dir=tmp_path / "runs", progress=False)
    sweep = tmp_path / "runs" / "grid"
    metrics = {w: (sweep / f"cartpole__pole_angle_x{w:g}__ppo__s0" / "metrics.jsonl").read_bytes() for w in (-3, 3)}
    assert metrics[-3] != metrics[3]
    old_copy = tmp_path / "old" / "grid"
    shutil.copytree(sweep, old_copy)

    again = run_sweep(spec, workers=1, runs_dir=tmp_path / "runs", progress=False)
    assert again.skipped == 3 and again.done == 0  # renamed, not retrained
    assert (sweep / "cartpole__pole_angle_x3__ppo__s0" / "metrics.jsonl").read_bytes() == metrics[-3]
    assert (sweep / "cartpole__pole_angle_x-3__ppo__s0" / "metrics.jsonl").read_bytes() == metrics[3]
    config = json.loads((sweep / "cartpole__pole_angle_x3__ppo__s0" / "config.json").read_text())
    assert config["reward"]["weights"]["pole_angle"] == -3.0
    assert config["meta"]["variant"] == "pole_angle_x3" and config["run_name"] == "cartpole__pole_angle_x3__ppo__s0"
    assert {t["status"] for t in sweep_status(sweep)["trials"]} == {"done"}

    # A folder only reported, never rerun: the report renames it first (once; then nothing to do).
    renamed = migrate_names(old_copy)
    assert renamed == {
        "cartpole__pole_angle_x-3__ppo__s0": "cartpole__pole_angle_x3__ppo__s0",
        "cartpole__pole_angle_x3__ppo__s0": "cartpole__pole_angle_x-3__ppo__s0",
    }
    assert migrate_names(old_copy) == {}
    summary = aggregate(old_copy, distances=False, write=False)
    assert sorted(r["variant"] for r in summary.rows) == ["pole_angle_x-3", "pole_angle_x3", "upright"]
    assert (old_copy / "cartpole__pole_angle_x3__ppo__s0" / "metrics.jsonl").read_bytes() == metrics[-3]
