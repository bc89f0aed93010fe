"""The Ray backend on a local Ray instance (2 CPUs): the same results as the local backend with the
trial folders sent back to the driver (the default) or written by the workers (``shared``), the
sweep's reward models shipped to the workers, a dead worker retried within the call, and an
address where nothing listens refused at once. tests/sweeps/test_ray_cluster.py runs a sweep on a
two-node cluster whose second node cannot see the runs directory, and kills that node mid-trial."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

import pytest
from _trial_helpers import MARKER_VAR, TINY_PPO, tiny_spec
from safetensors.numpy import load_file, save_file

import rewardlab as rl
from rewardlab.errors import ConfigError, StorageError
from rewardlab.preferences import _heron
from rewardlab.rewards import use_model_store
from rewardlab.runs import read_jsonl, read_status
from rewardlab.sweeps import _backends, _trial, run_sweep, sweep_status

HERE = str(Path(__file__).resolve().parent)

ray = pytest.importorskip("ray", reason='the ray backend needs Ray: pip install "rewardlab[ray]"')

# Ray's own deprecation and resource warnings would otherwise fail the test (filterwarnings = error).
pytestmark = pytest.mark.filterwarnings("ignore")


def _evals(sweep_dir, trial_id):
    rows = read_jsonl(sweep_dir / trial_id / "metrics.jsonl")
    keys = ("timesteps", "eval_env_return", "eval_proxy_return", "eval_env_std", "eval_terms")
    return [{k: r[k] for k in keys} for r in rows]


@pytest.mark.parametrize("trial_files", [None, "shared"])
def test_ray_backend_matches_the_local_backend(tmp_path, trial_files):
    spec = tiny_spec()
    local = run_sweep(spec, workers=2, runs_dir=tmp_path / "local", progress=False)
    on_ray = run_sweep(
        spec, backend="ray", workers=2, runs_dir=tmp_path / "ray", progress=False, trial_files=trial_files
    )
    assert local.done == on_ray.done == 4 and on_ray.complete
    assert not ray.is_initialized()  # the instance it started is shut down
    data = json.loads((tmp_path / "ray" / "tiny" / "sweep.json").read_text())
    assert "ray" in data["versions"]
    ids = [t.id for t in spec.trials(check=False)]
    for trial_id in ids:
        a, b = _evals(tmp_path / "local" / "tiny", trial_id), _evals(tmp_path / "ray" / "tiny", trial_id)
        assert a == b and len(a) == 2, trial_id
        assert read_status(tmp_path / "ray" / "tiny" / trial_id)["attempts"] == 1
        # The folder names the driver's runs_dir, as the local backend's does (not a node's scratch folder).
        config = json.loads((tmp_path / "ray" / "tiny" / trial_id / "config.json").read_text())
        assert config["runs_dir"] == str(tmp_path / "ray")
        assert config["reward_models"] == str(tmp_path / "ray" / "tiny" / "reward_models")
    assert _evals(tmp_path / "ray" / "tiny", ids[0]) != _evals(tmp_path / "ray" / "tiny", ids[1])  # seeds differ
    again = run_sweep(spec, backend="ray", workers=2, runs_dir=tmp_path / "ray", progress=False)
    assert again.skipped == 4 and again.done == 0  # resume works the same on Ray (no instance started)


LEARNED = {
    "kind": "learned",
    "preferences": {"n_segments": 16, "length": 10, "n_pairs": 20, "epochs": 2, "hidden": [8]},
}


def _store_a_doctored_model(store: Path) -> None:
    """Train LEARNED's model into ``store``, then flip the sign of its last layer.

    A worker that used the sweep's store computes the doctored reward; one that trained the model
    again (it could not see the store) would compute the genuine one: the proxy returns tell them apart.
    """
    with use_model_store(store):
        rl.rewards.from_dict(LEARNED).build("cartpole")
    (entry,) = store.iterdir()
    tensors = load_file(entry / "model.safetensors")
    for name in ("weights.1", "biases.1"):
        tensors[name] = -tensors[name]
    save_file(tensors, entry / "model.safetensors")
    _heron._CACHE.clear()  # this process would otherwise keep the genuine model


def test_the_reward_models_and_the_running_status_reach_where_they_are_needed(tmp_path, monkeypatch):
    """Driver mode: the workers train in scratch folders, so the sweep's reward models must travel to
    them (they see no ``runs_dir``), and ``sweep status`` shows a trial running before its folder is back."""
    monkeypatch.syspath_prepend(HERE)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([HERE, os.environ.get("PYTHONPATH", "")]))  # Ray's workers
    marker = tmp_path / "go"
    monkeypatch.setenv(MARKER_VAR, str(marker))
    variants = {"learned": LEARNED, "wait": {"kind": "code", "function": "_trial_helpers:waiting_reward"}}
    spec = tiny_spec(seeds=[0], variants=variants, agents={"ppo": dict(TINY_PPO)})
    for where in ("local", "ray"):
        _store_a_doctored_model(tmp_path / where / "tiny" / "reward_models")
    seen: dict[str, object] = {}

    def release_when_running() -> None:  # the `wait` trial waits for the marker: it is surely in flight
        end = time.monotonic() + 60
        while time.monotonic() < end and "status" not in seen:
            with contextlib.suppress(Exception):
                status = sweep_status(tmp_path / "ray" / "tiny")
                if {t["id"]: t["status"] for t in status["trials"]}.get("cartpole__wait__ppo__s0") == "running":
                    seen["status"] = status
            time.sleep(0.05)
        marker.write_text("go")

    thread = threading.Thread(target=release_when_running, daemon=True)
    thread.start()
    try:
        on_ray = run_sweep(spec, backend="ray", workers=2, runs_dir=tmp_path / "ray", progress=False)
    finally:
        marker.write_text("go")
        thread.join(timeout=10)
    assert on_ray.complete, on_ray.failures
    assert "status" in seen, "sweep status never showed the trial running"
    assert seen["status"]["running_pid"] == os.getpid()  # type: ignore[index]
    _heron._CACHE.clear()
    local = run_sweep(spec, workers=1, runs_dir=tmp_path / "local", progress=False)
    assert local.complete
    trial = "cartpole__learned__ppo__s0"
    a, b = _evals(tmp_path / "local" / "tiny", trial), _evals(tmp_path / "ray" / "tiny", trial)
    assert a == b, "the Ray worker did not use the sweep's (doctored) reward model"
    # The genuine model gives other proxy returns: the comparison above can tell.
    _heron._CACHE.clear()
    shutil.rmtree(tmp_path / "local")
    genuine = run_sweep(tiny_spec(seeds=[0], variants={"learned": LEARNED}), workers=1, runs_dir=tmp_path / "local")
    assert genuine.complete
    assert _evals(tmp_path / "local" / "tiny", trial) != b


def test_a_trial_whose_ray_worker_died_is_retried_within_the_call(tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(HERE)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([HERE, os.environ.get("PYTHONPATH", "")]))  # Ray's workers
    monkeypatch.setenv(MARKER_VAR, str(tmp_path / "killed"))
    variants = {"truth": {"kind": "env"}, "kill": {"kind": "code", "function": "_trial_helpers:killing_once_reward"}}
    result = run_sweep(tiny_spec(seeds=[0], variants=variants), backend="ray", workers=2, runs_dir=tmp_path)
    assert (tmp_path / "killed").is_file()  # the first worker to run `kill` died
    assert "cartpole__kill__ppo__s0: worker died; resubmitted" in capsys.readouterr().out
    assert result.complete and result.failed == 0
    for variant in variants:
        status = read_status(tmp_path / "tiny" / f"cartpole__{variant}__ppo__s0")
        assert status["status"] == "done" and status["attempts"] == 1  # the death did not count


def test_an_address_where_nothing_listens_fails_at_once_naming_it(tmp_path, monkeypatch):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.monotonic()
    with pytest.raises(ConfigError, match=rf"`address` must be .* Ray cluster .*127.0.0.1:{port}"):
        run_sweep(tiny_spec(seeds=[0]), backend="ray", address=f"127.0.0.1:{port}", runs_dir=tmp_path, progress=False)
    assert time.monotonic() - start < 5 and not (tmp_path / "tiny").exists()
    # An address that never answers: the connection times out, or (behind a proxy that accepts every
    # connection) Ray's own wait does.
    monkeypatch.setattr(_backends, "CONNECT_TIMEOUT_S", 0.3)
    monkeypatch.setattr(_backends, "RAY_INIT_TIMEOUT_S", 2.0)
    start = time.monotonic()
    with pytest.raises(ConfigError, match=r"got '10.255.255.1:6379'.* within (0.3|2) s"):
        run_sweep(tiny_spec(seeds=[0]), backend="ray", address="10.255.255.1:6379", runs_dir=tmp_path, progress=False)
    assert time.monotonic() - start < 30 and not ray.is_initialized()


def test_trial_files_is_checked_before_anything_is_written(tmp_path, monkeypatch, capsys):
    with pytest.raises(ConfigError, match=r"`trial_files` must be one of \['driver', 'shared'\].*got 'nowhere'"):
        run_sweep(tiny_spec(seeds=[0]), backend="ray", runs_dir=tmp_path, trial_files="nowhere", progress=False)
    assert not (tmp_path / "tiny").exists()
    # The command line has the flag (with --help's words), and refuses another value.
    from rewardlab.cli import main

    with pytest.raises(SystemExit):
        main(["sweep", "--help"])
    assert "--trial-files {driver,shared}" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        main(["sweep", "spec.toml", "--backend", "ray", "--trial-files", "nowhere"])
    assert exit_info.value.code == 2
    # The local backend runs on this machine: it takes either value and writes runs_dir itself.
    result = run_sweep(tiny_spec(seeds=[0]), workers=1, runs_dir=tmp_path, trial_files="driver", progress=False)
    assert result.complete


def _archive(tmp_path: Path, files: dict[str, str]) -> bytes:
    src = tmp_path / f"src-{len(list(tmp_path.iterdir()))}"
    for name, text in files.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text(text)
    return _trial.pack_folder(src)


def test_a_trial_folder_that_comes_back_replaces_the_old_one_whole_or_not_at_all(tmp_path):
    run_dir = tmp_path / "sweep" / "trial"
    _trial.unpack_trial(_archive(tmp_path, {"status.json": "old", "stale.txt": "x"}), run_dir)
    new = _archive(tmp_path, {"status.json": "new", "tb/events": "e"})
    _trial.unpack_trial(new, run_dir)
    assert sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*")) == ["status.json", "tb", "tb/events"]
    assert (run_dir / "status.json").read_text() == "new"
    # Killed after extracting, before the rename: the old folder is intact, and the next landing cleans up.
    code = (
        "import sys; from pathlib import Path; from rewardlab.sweeps import _trial; "
        "_trial.unpack_trial(Path(sys.argv[1]).read_bytes(), Path(sys.argv[2]))"
    )
    (tmp_path / "newer.tar.gz").write_bytes(_archive(tmp_path, {"status.json": "newer"}))
    env = {**os.environ, "REWARDLAB_FAULT": "sweep:unpack"}
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "newer.tar.gz"), str(run_dir)], env=env)
    assert proc.returncode == 137
    assert (run_dir / "status.json").read_text() == "new"
    assert [p.name for p in run_dir.parent.iterdir() if p.name.endswith(".incoming")]  # what the kill left
    _trial.unpack_trial((tmp_path / "newer.tar.gz").read_bytes(), run_dir)
    assert (run_dir / "status.json").read_text() == "newer"
    assert sorted(p.name for p in run_dir.parent.iterdir()) == ["trial"]
    # An archive with a member outside the folder is refused, and nothing changes.
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("../evil.txt")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"evil"))
    with pytest.raises(tarfile.TarError):
        _trial.unpack_trial(buffer.getvalue(), run_dir)
    assert not (tmp_path / "sweep" / "evil.txt").exists() and (run_dir / "status.json").read_text() == "newer"
    assert sorted(p.name for p in run_dir.parent.iterdir()) == ["trial"]


def test_a_scratch_folder_is_removed_once_its_worker_is_gone(tmp_path):
    code = (
        "import fcntl, os, sys, time; from pathlib import Path; d = Path(sys.argv[1]); d.mkdir(); "
        f"fd = os.open(d / {_trial._SCRATCH_LOCK!r}, os.O_RDWR | os.O_CREAT); fcntl.flock(fd, fcntl.LOCK_EX); "
        "print('locked', flush=True); time.sleep(60)"
    )
    live, dead = tmp_path / f"{_trial.SCRATCH_PREFIX}live", tmp_path / f"{_trial.SCRATCH_PREFIX}dead"
    holder = subprocess.Popen([sys.executable, "-c", code, str(live)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        gone = subprocess.Popen([sys.executable, "-c", code, str(dead)], stdout=subprocess.PIPE, text=True)
        assert gone.stdout is not None and gone.stdout.readline().strip() == "locked"
        gone.kill()  # a worker killed mid-trial (kill -9, a cancelled task): its lock goes with it
        gone.wait()
        _trial._remove_dead_scratch(tmp_path)
        assert live.is_dir() and not dead.exists()
    finally:
        holder.kill()
        holder.wait()


def test_a_full_disk_on_a_node_stops_the_sweep_naming_the_node(tmp_path, monkeypatch):
    # Every Ray worker (they inherit this environment) finds its disk full at its first checkpoint.
    monkeypatch.setenv("REWARDLAB_FAULT", "replace:agent.zip=enospc")
    spec = tiny_spec(seeds=[0])
    where = f"{socket.gethostname()}:{tempfile.gettempdir()}"
    with pytest.raises(StorageError, match=rf"`node` must be a Ray node with free space .*got '{where}'.* MB free"):
        run_sweep(spec, backend="ray", workers=1, runs_dir=tmp_path, progress=False)
    sweep, first = tmp_path / "tiny", "cartpole__truth__ppo__s0"
    status = read_status(sweep / first)  # the folder came back, and the runner marked it to be rerun
    assert status["status"] == "failed" and status["infrastructure"] == "storage" and status["attempts"] == 0
    assert (sweep / first / "config.json").is_file()
    assert not (sweep / "sweep.lock").exists() and not ray.is_initialized()
    monkeypatch.delenv("REWARDLAB_FAULT")
    result = run_sweep(spec, backend="ray", workers=1, runs_dir=tmp_path, retries=0, progress=False)
    assert result.complete and read_status(sweep / first)["attempts"] == 1  # the full disk did not count
