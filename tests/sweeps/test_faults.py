"""Faults injected at named points (``REWARDLAB_FAULT``, :func:`rewardlab.runs.fault`), not raced with timers.

* kill -9 of the sweep process: its pool workers and the resource tracker exit with it, and a
  rerun started at once shares no trial folder with a live writer;
* one worker killed: the healthy trial beside it is resubmitted, and neither counts as an attempt;
* a full disk (ENOSPC) and an unusable ``--runs-dir``: one clear error naming the path, no
  chained traceback, the trials marked so that a rerun continues;
* a corrupt ``sweep.json``: one line, exit code 2.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from _trial_helpers import MARKER_VAR, tiny_spec

from rewardlab import runs
from rewardlab.cli import main
from rewardlab.errors import RunBusyError, StorageError
from rewardlab.runs import RunDir, read_status
from rewardlab.sweeps import _backends, _run, run_sweep, sweep_status

HERE = str(Path(__file__).resolve().parent)
TAG = "REWARDLAB_TEST_TAG"

SPEC = """
name = "faults"
envs = ["cartpole"]
seeds = [0]
timesteps = 64
eval_freq = 32
eval_episodes = 1
[agents.ppo]
n_steps = 32
batch_size = 32
n_epochs = 1
n_envs = 1
policy_kwargs = { net_arch = [16] }
[variants.truth]
kind = "env"
[variants.wait]
kind = "code"
function = "_trial_helpers:waiting_reward"
"""


@pytest.fixture
def inject(monkeypatch: pytest.MonkeyPatch):
    """Set ``REWARDLAB_FAULT`` for this process, with the fault counters back at zero."""

    def set_fault(spec: str) -> None:
        monkeypatch.setattr(runs, "_fault_hits", {})
        monkeypatch.setenv(runs.FAULT_VAR, spec)

    return set_fault


def _tagged(tag: str) -> list[int]:
    """Live processes (not zombies) whose environment holds ``REWARDLAB_TEST_TAG=tag``."""
    needle = f"{TAG}={tag}".encode()
    out = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if needle in proc.joinpath("environ").read_bytes().split(b"\0"):
                    out.append(int(proc.name))
            except OSError:
                continue
    return out


# --- the sweep process dies -------------------------------------------------------------------


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds the workers through /proc")
def test_kill_9_of_the_sweep_takes_its_workers_and_resource_tracker_along(tmp_path, monkeypatch):
    spec, runs_dir, tag = tmp_path / "faults.toml", tmp_path / "runs", uuid.uuid4().hex
    spec.write_text(SPEC)
    marker = tmp_path / "go"  # never created while the sweep runs: the `wait` trial stays in flight
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([HERE, os.environ.get("PYTHONPATH", "")]),
        TAG: tag,
        MARKER_VAR: str(marker),
        # The sweep process dies (os._exit(137), as kill -9) when it comes to wait a second time:
        # once `truth` is done, while `wait` trains in the other worker.
        runs.FAULT_VAR: "sweep:wait#2",
    }
    cmd = [sys.executable, "-m", "rewardlab.cli", "sweep", str(spec), "--workers", "2", "--runs-dir", str(runs_dir)]
    log = tmp_path / "log.txt"
    try:
        with open(log, "wb") as out:  # a file, not a pipe: an orphan holding it open must not hang the test
            rc = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=180).returncode
        assert rc == 137, log.read_text()
        end = time.monotonic() + 15
        while _tagged(tag) and time.monotonic() < end:
            time.sleep(0.1)
        assert _tagged(tag) == []  # no orphan worker, no orphan resource tracker
    finally:
        for pid in _tagged(tag):  # what a failure of this test would leave behind
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    sweep = runs_dir / "faults"
    waiting = sweep / "cartpole__wait__ppo__s0"
    status = read_status(waiting)
    assert status["status"] == "running"  # it was killed mid-trial
    assert RunDir(waiting).writer() is None
    done = sweep / "cartpole__truth__ppo__s0"
    assert read_status(done)["status"] == "done"
    before = (done / "metrics.jsonl").read_bytes(), (done / "status.json").stat().st_mtime_ns

    marker.write_text("go")  # the rerun, at once: nobody writes the folders any more
    monkeypatch.syspath_prepend(HERE)
    monkeypatch.setenv(MARKER_VAR, str(marker))
    result = run_sweep(spec, workers=1, runs_dir=runs_dir, progress=False)
    assert (result.skipped, result.done, result.failed) == (1, 1, 0)
    assert ((done / "metrics.jsonl").read_bytes(), (done / "status.json").stat().st_mtime_ns) == before
    assert read_status(waiting)["attempts"] == 1


def test_a_rerun_refuses_a_trial_folder_that_a_live_process_writes(tmp_path):
    folder = tmp_path / "tiny" / "cartpole__truth__ppo__s0"
    script = (
        "import sys, time; from rewardlab.runs import RunDir; r = RunDir(sys.argv[1]); r.start(); "
        "(r.path / 'partial.txt').write_text('x'); print('ready', flush=True); time.sleep(120)"
    )
    writer = subprocess.Popen([sys.executable, "-c", script, str(folder)], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
        with pytest.raises(RunBusyError, match=rf"Process {writer.pid} on .* has been writing it"):
            run_sweep(tiny_spec(seeds=[0], variants={"truth": {"kind": "env"}}), workers=1, runs_dir=tmp_path)
        assert (folder / "partial.txt").is_file()  # nothing deleted under the live writer
    finally:
        writer.kill()
        writer.wait()
        if writer.stdout is not None:
            writer.stdout.close()
    result = run_sweep(tiny_spec(seeds=[0], variants={"truth": {"kind": "env"}}), workers=1, runs_dir=tmp_path)
    assert result.complete and not (folder / "partial.txt").exists()


def test_the_watchdog_ends_a_worker_whose_parent_is_gone(monkeypatch):
    exits = []

    def fake_exit(code: int) -> None:
        exits.append(code)
        raise SystemExit(code)

    monkeypatch.setattr(_backends.os, "_exit", fake_exit)
    with pytest.raises(SystemExit):
        _backends.watch_parent(os.getppid() + 12345, interval=0.01)  # a "parent" that is not ours
    assert exits == [137]


# --- one worker dies --------------------------------------------------------------------------


def test_killing_one_worker_does_not_fail_the_trial_beside_it(tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(HERE)  # spawned workers get the parent's sys.path
    monkeypatch.setenv(MARKER_VAR, str(tmp_path / "killed"))
    variants = {
        "wait": {"kind": "code", "function": "_trial_helpers:waiting_reward"},  # trains once `kill` died
        "kill": {"kind": "code", "function": "_trial_helpers:killing_once_reward"},  # its first worker dies
    }
    result = run_sweep(tiny_spec(seeds=[0], variants=variants), workers=2, runs_dir=tmp_path / "runs")
    out = capsys.readouterr().out
    assert "cartpole__kill__ppo__s0: worker died; resubmitted" in out
    assert (result.done, result.failed) == (2, 0) and result.complete
    for variant in variants:
        status = read_status(tmp_path / "runs" / "tiny" / f"cartpole__{variant}__ppo__s0")
        assert status["status"] == "done" and status["attempts"] == 1  # no attempt counted for the deaths


# --- the disk ---------------------------------------------------------------------------------


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


def test_a_full_disk_writing_sweep_json_is_one_clear_error(tmp_path, inject, capsys):
    inject("replace:sweep.json=enospc")
    with pytest.raises(StorageError, match=r"disk is full") as info:
        run_sweep(tiny_spec(seeds=[0]), workers=1, runs_dir=tmp_path, progress=False)
    assert str(tmp_path / "tiny" / "sweep.json") in str(info.value) and "MB" in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert not (tmp_path / "tiny" / "sweep.lock").exists()
    inject("replace:sweep.json=enospc")
    spec = tmp_path / "tiny.toml"
    spec.write_text(SPEC.replace('name = "faults"', 'name = "cli"').split("[variants.wait]")[0])
    assert main(["sweep", str(spec), "--workers", "1", "--runs-dir", str(tmp_path)]) == 2
    assert "sweep.json" in _one_line_error(capsys)


def test_a_full_disk_in_a_trial_stops_the_sweep_and_a_rerun_continues(tmp_path, inject):
    inject("replace:agent.zip=enospc")  # the first checkpoint of the first trial
    spec = tiny_spec(seeds=[0])
    with pytest.raises(StorageError, match=r"disk") as info:
        run_sweep(spec, workers=1, runs_dir=tmp_path, progress=False)
    sweep, first = tmp_path / "tiny", "cartpole__truth__ppo__s0"
    assert str(sweep / first) in str(info.value) and info.value.__cause__ is None
    status = read_status(sweep / first)
    assert status["status"] == "failed" and status["infrastructure"] == "storage" and status["attempts"] == 0
    assert not (sweep / "cartpole__upright__ppo__s0").exists()  # the sweep stopped: nothing else started
    assert not (sweep / "sweep.lock").exists()
    assert sweep_status(sweep)["counts"] == {"done": 0, "running": 0, "failed": 1, "pending": 1}
    inject("")
    result = run_sweep(spec, workers=1, runs_dir=tmp_path, retries=0, progress=False)
    assert result.complete and read_status(sweep / first)["attempts"] == 1  # retries=0: the disk did not count


def test_a_full_disk_on_the_runners_own_status_write_stops_cleanly(tmp_path, inject):
    # status.json of the first trial: 1 running, 2 done, 3 the attempts the sweep adds to it.
    inject("replace:status.json#3=enospc")
    spec = tiny_spec(seeds=[0])
    with pytest.raises(StorageError, match=r"disk"):
        run_sweep(spec, workers=1, runs_dir=tmp_path, progress=False)
    sweep = tmp_path / "tiny"
    assert read_status(sweep / "cartpole__truth__ppo__s0")["status"] == "done"  # its results are kept
    assert not (sweep / "sweep.lock").exists()
    inject("")
    result = run_sweep(spec, workers=1, runs_dir=tmp_path, progress=False)
    assert (result.skipped, result.done) == (1, 1)


def test_a_runs_dir_that_is_a_file_is_one_clear_error(tmp_path, capsys):
    blocker = tmp_path / "runs"
    blocker.write_text("not a folder")
    with pytest.raises(StorageError, match=r"is a file, not a folder"):
        run_sweep(tiny_spec(seeds=[0]), workers=1, runs_dir=blocker / "deeper", progress=False)
    spec = tmp_path / "s.toml"
    spec.write_text(SPEC.split("[variants.wait]")[0])
    assert main(["sweep", str(spec), "--workers", "1", "--runs-dir", str(blocker)]) == 2
    assert str(blocker) in _one_line_error(capsys)
    assert blocker.read_text() == "not a folder"


def test_an_unwritable_runs_dir_names_the_permission(tmp_path, monkeypatch):
    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(kwargs.get("dir")))

    monkeypatch.setattr(_run.tempfile, "mkstemp", denied)  # what a read-only folder does (even as root)
    with pytest.raises(StorageError, match=r"Permission denied creating files in .*write and search permission"):
        run_sweep(tiny_spec(seeds=[0]), workers=1, runs_dir=tmp_path / "ro", progress=False)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes a read-only folder")
def test_a_read_only_runs_dir_is_one_clear_error(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o500)
    try:
        with pytest.raises(StorageError, match=r"Permission denied"):
            run_sweep(tiny_spec(seeds=[0]), workers=1, runs_dir=ro, progress=False)
    finally:
        ro.chmod(0o700)


# --- a corrupt sweep.json ---------------------------------------------------------------------


@pytest.mark.parametrize("command", ["status", "report"])
@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"name": "s", "trials": 3}', '{"trials": [{}]}'])
def test_a_corrupt_sweep_json_is_one_line_and_exit_2(tmp_path, capsys, command, content):
    sweep = tmp_path / "s"
    sweep.mkdir()
    (sweep / "sweep.json").write_text(content)
    argv = ["sweep", "status", str(sweep)] if command == "status" else ["report", str(sweep), "--no-distances"]
    assert main(argv) == 2
    assert "sweep.json" in _one_line_error(capsys)
    assert sorted(p.name for p in sweep.iterdir()) == ["sweep.json"]  # nothing written
