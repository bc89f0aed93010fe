"""``rewardlab train`` under faults: kill -9 at chosen points, a full disk, a second live writer.

Faults are injected at named points (:func:`rewardlab.runs.fault`), never by racing a timer: a
subprocess runs with ``REWARDLAB_FAULT=<point>`` and dies there as kill -9 would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

import rewardlab as rl
from rewardlab import runs
from rewardlab.cli import main
from rewardlab.errors import ConfigError, RunBusyError, StorageError
from rewardlab.runs import FAULT_VAR, RunDir, read_jsonl

TINY = {"n_steps": 32, "batch_size": 32, "n_epochs": 1, "policy_kwargs": {"net_arch": [8]}}
STEPS = [64, 128, 192, 256]


def _args(runs_dir, *extra):
    return [
        "train", "--env", "cartpole", "--agent", "ppo", "--timesteps", "256", "--n-envs", "2",
        "--eval-freq", "64", "--eval-episodes", "1", "--runs-dir", str(runs_dir), "--run-name", "r",
        "--no-progress", *[f"--set={k}={json.dumps(v)}" for k, v in TINY.items()], *extra,
    ]  # fmt: skip


def _run_cli(runs_dir, fault=None, *extra):
    env = {**os.environ, FAULT_VAR: fault or ""}
    return subprocess.run(
        [sys.executable, "-m", "rewardlab.cli", *_args(runs_dir, *extra)], env=env, capture_output=True, text=True
    )


def _stray_temporaries(folder):
    return [p for p in folder.rglob("*") if p.name.startswith(".") and ".tmp" in p.name]


@pytest.mark.parametrize(
    "point",
    ["train:before_checkpoint#2", "replace:checkpoint.json#2", "train:after_commit#2", "replace:agent.zip#3"],
)
def test_a_run_killed_at_any_step_of_a_checkpoint_resumes_losing_only_work_in_flight(tmp_path, point):
    killed = _run_cli(tmp_path, point)
    assert killed.returncode == 137, killed.stderr
    run = RunDir(tmp_path / "train" / "r")
    assert run.status()["status"] == "running" and run.writer() is None  # dead: the lock went with it
    before = [r["timesteps"] for r in run.metrics()]
    resumed = _run_cli(tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert run.status()["status"] == "done"
    rows = run.metrics()
    assert [r["timesteps"] for r in rows] == STEPS  # appended after the checkpoint, nothing lost twice
    assert all(t in STEPS for t in before)
    discarded = read_jsonl(run.path / "metrics.discarded.jsonl")
    assert all(r["timesteps"] > r["discarded_at_resume_from"] for r in discarded)  # only work after it
    assert not _stray_temporaries(run.path)
    assert not (run.path / "checkpoint").exists()  # a finished run keeps agent.zip, not checkpoints


def test_resume_flag_continues_a_run_from_its_folder(tmp_path, capsys):
    assert _run_cli(tmp_path, "train:before_checkpoint#3").returncode == 137
    run_dir = tmp_path / "train" / "r"
    assert main(["train", "--resume", str(run_dir), "--no-progress"]) == 0
    assert "Resumed from the checkpoint at 128 steps" in capsys.readouterr().out
    assert [r["timesteps"] for r in read_jsonl(run_dir / "metrics.jsonl")] == STEPS
    assert main(["train", "--resume", str(run_dir), "--no-progress"]) == 2  # done: refused, not overwritten
    assert "not finished yet" in capsys.readouterr().err


def test_a_rerun_with_other_settings_is_refused_before_anything_changes(tmp_path, capsys):
    assert _run_cli(tmp_path, "train:before_checkpoint#2").returncode == 137
    run_dir = tmp_path / "train" / "r"
    files = lambda: {p.name: p.read_bytes() for p in run_dir.rglob("*") if p.is_file() and p.name != ".writer.lock"}
    before = files()
    assert main([*_args(tmp_path), "--seed", "3"]) == 2
    assert "`seed` must be 0 as in the run being continued" in capsys.readouterr().err
    assert files() == before
    assert RunDir(run_dir).writer() is None  # the refused run let go of the lock


def test_a_second_live_writer_is_refused_naming_the_first(tmp_path):
    run_dir = tmp_path / "train" / "r"
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import time; from rewardlab.runs import RunDir; RunDir({str(run_dir)!r}).start(); "
         "print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        config = rl.TrainConfig(
            env="cartpole", timesteps=64, n_envs=2, hyperparams=dict(TINY), runs_dir=str(tmp_path),
            run_name="r", progress_bar=False,
        )  # fmt: skip
        with pytest.raises(RunBusyError, match=rf"Process {holder.pid} on .* has been writing it"):
            rl.train(config)
        assert not (run_dir / "metrics.jsonl").exists() and not (run_dir / "config.json").exists()
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    time.sleep(0.1)
    assert rl.train(config).run_dir == run_dir  # the lock died with its process


def test_a_full_disk_is_one_clear_error_and_the_last_checkpoint_is_kept(tmp_path, monkeypatch):
    monkeypatch.setenv(FAULT_VAR, "replace:checkpoint.json#2=enospc")
    monkeypatch.setattr(runs, "_fault_hits", {})
    config = rl.TrainConfig(
        env="acrobot", timesteps=256, n_envs=2, eval_freq=64, eval_episodes=1, hyperparams=dict(TINY),
        runs_dir=str(tmp_path), run_name="r", progress_bar=False,
    )  # fmt: skip  (acrobot's PPO preset normalises observations and rewards)
    with pytest.raises(StorageError, match=r"`runs_dir` must be on a disk with free space .*The disk is full") as info:
        rl.train(config)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    run = RunDir(tmp_path / "train" / "r")
    assert run.status()["status"] == "failed"
    point = json.loads((run.path / "checkpoint" / "checkpoint.json").read_text())
    assert point["timesteps"] == 64
    saved = json.loads((run.path / "checkpoint" / point["files"]["normalization"]).read_text())
    monkeypatch.delenv(FAULT_VAR)
    assert rl.train(config).resumed_from == 64
    assert [r["timesteps"] for r in run.metrics()] == STEPS
    final = json.loads((run.path / "vecnormalize.json").read_text())
    # the statistics continued from the checkpoint's (a fresh VecNormalize would have counted 256 - 64)
    assert final["obs_rms"]["count"] == pytest.approx(saved["obs_rms"]["count"] + 256 - 64, abs=2)


def test_an_unwritable_runs_dir_is_a_clear_error_before_work_starts(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["train", "--env", "cartpole", "--runs-dir", str(blocker), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "`runs_dir` must be a folder" in err and str(blocker) in err and "Traceback" not in err
    assert blocker.read_text() == "not a folder"


def test_atomic_writes_get_the_permissions_of_a_normal_write(tmp_path):
    old = os.umask(0o022)
    try:
        runs.write_atomic(tmp_path / "a.txt", "x")
        (tmp_path / "b.txt").write_text("x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == (tmp_path / "b.txt").stat().st_mode & 0o777 == 0o644


def test_resume_needs_a_training_run_folder(tmp_path):
    with pytest.raises(ConfigError, match="`resume` must be a run directory of rewardlab train"):
        rl.TrainConfig.from_run(tmp_path)


def test_an_off_policy_run_resumes_with_its_replay_buffer_when_asked(tmp_path, monkeypatch):
    import rewardlab.training as training

    loaded = []

    def spy(buffer, path):
        real_load(buffer, path)
        loaded.append(buffer.pos)

    real_load = training.load_replay_buffer
    monkeypatch.setattr(training, "load_replay_buffer", spy)
    monkeypatch.setenv(FAULT_VAR, "replace:checkpoint.json#2=enospc")
    monkeypatch.setattr(runs, "_fault_hits", {})
    config = rl.TrainConfig(
        env="pendulum", agent="sac", timesteps=300, eval_freq=100, eval_episodes=1, save_replay_buffer=True,
        hyperparams={"learning_starts": 50, "policy_kwargs": {"net_arch": [8]}}, runs_dir=str(tmp_path),
        run_name="r", progress_bar=False,
    )  # fmt: skip
    with pytest.raises(StorageError):
        rl.train(config)
    point = json.loads((tmp_path / "train" / "r" / "checkpoint" / "checkpoint.json").read_text())
    assert point["files"]["replay_buffer"] == "replay_buffer-100.npz"
    monkeypatch.delenv(FAULT_VAR)
    assert rl.train(config).resumed_from == 100
    # the transitions stored before the checkpoint are back (SB3 stores a step's transition after the
    # callback that checkpoints, so the 100th was in flight)
    assert loaded == [99]
