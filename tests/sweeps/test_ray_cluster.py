"""The Ray backend on a real two-node cluster whose second node cannot see the driver's runs directory.

Both nodes run on this machine (``ray start`` twice, on the loopback addresses 127.0.0.1 and
127.0.0.2), but the second one runs in its own mount, PID and host-name namespaces
(``unshare``), where an empty tmpfs is mounted over the driver's runs directory: what a worker
there writes under that path stays on that node, as on a cluster without a shared file system.

The sweep is steered by its own rewards, not by timers: every trial's reward is
:func:`hooked_reward`, which (only inside the cluster's workers) notes which node started which
trial; the second node's second trial stops at its first training step and says so, and the
test then kills that whole node (its PID namespace) mid-trial. The head's first trial waits for
that moment, so that the second node surely gets two trials. The test checks that every trial
ends done on the driver's side (the one that ran on the second node, sent back; the killed one,
resubmitted to the head), with the results of the local backend, and that status, resume and
aggregation see them all.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _trial_helpers import TINY_PPO, tiny_spec

from rewardlab.runs import read_jsonl, read_status
from rewardlab.sweeps import aggregate, run_sweep, sweep_status

HERE = str(Path(__file__).resolve().parent)
RAY_CLI = str(Path(sys.executable).with_name("ray"))

# About 30 s on two cores (so not marked slow). Ray's own deprecation and resource warnings would
# otherwise fail the test (filterwarnings = error).
pytestmark = pytest.mark.filterwarnings("ignore")

# The environment of the two `ray start` processes, which their workers inherit (never the test's).
NODE_VAR = "REWARDLAB_TEST_NODE"
"""``head`` or ``node2``: the node a worker runs on."""
SIGNALS_VAR = "REWARDLAB_TEST_SIGNALS"
"""A folder both nodes see, where :func:`hooked_reward` leaves its notes."""
SENTINEL_VAR = "REWARDLAB_TEST_SENTINEL"
"""A file the test writes in the driver's runs directory: a worker notes whether it sees it."""
CLUSTER_VAR = "REWARDLAB_TEST_CLUSTER"
"""A token in the environment of every process of the cluster, to find (and end) each of them."""
NODE2_HOST = "rl-node2"
"""The host name of the second node (its own UTS namespace): written in its trials' writer lock."""
WAIT_S = 90.0
"""The longest any hook waits for the other side (a scheduling surprise fails the test, never hangs it)."""

VARIANTS = {
    name: {"kind": "code", "function": "test_ray_cluster:hooked_reward", "kwargs": {"tag": name, "scale": scale}}
    for name, scale in (("a", 1.0), ("b", 2.0), ("c", -1.0))
}
"""Three trials (one seed each): the second node runs two of them, the head the third and the retry."""

_started: set[str] = set()


def hooked_reward(
    obs: np.ndarray, action: np.ndarray, next_obs: np.ndarray, done: np.ndarray, tag: str = "", scale: float = 1.0
) -> np.ndarray:
    """``scale * (1 - |pole angle|)``; in the cluster's workers, at a trial's first training step:

    * note ``<node>-<tag>`` in the signals folder, with whether this worker sees the sentinel file;
    * on the second node, at its second trial: write ``stalled`` and wait to be killed with the node;
    * on the head, wait until ``stalled`` exists (the second node then surely ran two trials).

    Outside the cluster (the local backend's run, the build-time dry run on a batch of 8) it only computes.
    """
    if len(obs) != 8 and tag not in _started:
        _started.add(tag)
        _hook(tag)
    return scale * (1.0 - np.abs(np.asarray(next_obs)[:, 2]))


def _hook(tag: str) -> None:
    node, signals = os.environ.get(NODE_VAR), os.environ.get(SIGNALS_VAR)
    if not node or not signals:
        return
    folder = Path(signals)
    sees = os.path.exists(os.environ.get(SENTINEL_VAR, ""))
    (folder / f"{node}-{tag}").write_text(json.dumps({"pid": os.getpid(), "sees_runs_dir": sees}))
    stalled = folder / "stalled"
    end = time.monotonic() + WAIT_S
    if node == "node2" and len(list(folder.glob("node2-*"))) >= 2 and not stalled.exists():
        stalled.write_text(tag)
        while time.monotonic() < end:  # killed with its node long before this ends
            time.sleep(0.05)
        raise RuntimeError("the test did not kill the second node")
    if node == "head":
        while not stalled.exists() and time.monotonic() < end:
            time.sleep(0.05)


# --- the cluster -------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ports() -> list[str]:
    """Ports of their own for one node's services (two nodes on one machine must not share any)."""
    out = []
    for flag in (
        "--node-manager-port",
        "--object-manager-port",
        "--dashboard-agent-listen-port",
        "--dashboard-agent-grpc-port",
        "--runtime-env-agent-port",
        "--metrics-export-port",
    ):
        out += [flag, str(_free_port())]
    return out


def _our_processes(token: str) -> list[int]:
    """The pids of the live processes whose environment holds ``token`` (this test's cluster)."""
    pids = []
    needle = f"{CLUSTER_VAR}={token}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if needle in environ.split(b"\0") and state != "Z":
            pids.append(int(entry.name))
    return pids


def _end_all(token: str, timeout: float = 20.0) -> list[int]:
    """SIGKILL every process of the cluster until none is left; the pids still alive after ``timeout``."""
    end = time.monotonic() + timeout
    while (pids := _our_processes(token)) and time.monotonic() < end:
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
    return _our_processes(token)


UNSHARE = ("unshare", "--mount", "--uts", "--pid", "--fork", "--kill-child", "--mount-proc", "--propagation", "private")
"""The second node's namespaces: its own mounts, host name and PIDs (killing the first kills them all)."""


def _unshare(folder: Path) -> tuple[list[str], str | None]:
    """The ``unshare`` command that lets us mount a tmpfs over ``folder`` here, or ([], why not).

    As root, plain namespaces; otherwise (a CI runner) a user namespace mapping us to root, where
    the kernel allows one.
    """
    if not sys.platform.startswith("linux"):
        return [], "needs Linux namespaces (unshare)"
    if shutil.which("unshare") is None:
        return [], "needs unshare (util-linux)"
    attempts = ([], ["--user", "--map-root-user"]) if os.geteuid() == 0 else (["--user", "--map-root-user"],)
    errors = []
    for extra in attempts:
        command = [*UNSHARE[:1], *extra, *UNSHARE[1:]]
        probe = subprocess.run(
            [*command, "sh", "-c", f"hostname {NODE2_HOST} && mount -t tmpfs rl-probe '{folder}'"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if probe.returncode == 0:
            return command, None
        errors.append(f"{' '.join(command)}: {probe.stderr.strip()[:200]}")
    return [], "unshare/mount are not permitted here: " + "; ".join(errors)


@contextlib.contextmanager
def _cluster(
    root: Path, runs: Path, signals: Path, unshare: list[str]
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A head (1 CPU) and a second node (1 CPU, run by ``unshare``) that sees an empty tmpfs at ``runs``.

    Yields the address and the second node's process (killing it kills the whole node). Every
    process of the cluster is ended on exit, and the test fails if one survives.
    """
    token = uuid.uuid4().hex
    port = _free_port()
    env = {
        **os.environ,
        CLUSTER_VAR: token,
        SIGNALS_VAR: str(signals),
        SENTINEL_VAR: str(runs / "sentinel.txt"),
        "PYTHONPATH": os.pathsep.join([HERE, os.environ.get("PYTHONPATH", "")]),  # this module, for the workers
        "RAY_AUTH_MODE": "disabled",  # as the driver: no token, whatever ~/.ray holds
        "RAY_USAGE_STATS_ENABLED": "0",
        # A dead node is declared dead within about a second, not the default half a minute.
        "RAY_health_check_initial_delay_ms": "0",
        "RAY_health_check_period_ms": "300",
        "RAY_health_check_timeout_ms": "500",
        "RAY_health_check_failure_threshold": "3",
    }
    for var in (NODE_VAR, "RAY_ADDRESS"):
        env.pop(var, None)
    procs: list[subprocess.Popen[bytes]] = []
    ray_tmp = tempfile.mkdtemp(prefix="rl-ray-", dir="/tmp")  # short: Ray's socket paths must fit in 107 bytes
    try:
        for node in ("head", "node2"):
            (root / f"{node}-tmp").mkdir()
        head = subprocess.Popen(
            [
                *(RAY_CLI, "start", "--head", "--block", f"--port={port}", "--node-ip-address=127.0.0.1"),
                *("--num-cpus=1", "--include-dashboard=false", "--disable-usage-stats"),
                *(f"--temp-dir={ray_tmp}", f"--ray-client-server-port={_free_port()}", *_ports()),
            ],
            env={**env, NODE_VAR: "head", "TMPDIR": str(root / "head-tmp")},
            stdout=(root / "head.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        procs.append(head)
        _wait_for_port(port, head, root / "head.log")
        ports = " ".join(_ports())
        script = (
            f"hostname {NODE2_HOST} && mount -t tmpfs rl-not-the-drivers-runs '{runs}' && "
            f"exec '{RAY_CLI}' start --block --address=127.0.0.1:{port} --node-ip-address=127.0.0.2 "
            f"--num-cpus=1 --disable-usage-stats {ports}"
        )
        node2 = subprocess.Popen(
            [*unshare, "sh", "-c", script],
            env={**env, NODE_VAR: "node2", "TMPDIR": str(root / "node2-tmp")},
            stdout=(root / "node2.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        procs.append(node2)
        yield f"127.0.0.1:{port}", node2
    finally:
        for proc in reversed(procs):  # node 2 first: its unshare takes its whole PID namespace along
            with contextlib.suppress(OSError):
                proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
        left = _end_all(token)
        shutil.rmtree(ray_tmp, ignore_errors=True)
        assert not left, f"processes of the test cluster survived: {left}"


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            pytest.fail(f"ray start --head exited ({proc.returncode}):\n{log.read_text(errors='replace')[-3000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.2)
    pytest.fail(f"the head's GCS did not listen on {port} within {timeout:g} s")


def _wait_for_nodes(ray: Any, n: int, logs: list[Path], timeout: float = 90.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if sum(1 for node in ray.nodes() if node["Alive"]) >= n and ray.cluster_resources().get("CPU", 0) >= n:
            return
        time.sleep(0.2)
    tails = "\n".join(f"{log.name}:\n{log.read_text(errors='replace')[-2000:]}" for log in logs if log.is_file())
    pytest.fail(f"the cluster did not reach {n} nodes within {timeout:g} s\n{tails}")


# --- the test ----------------------------------------------------------------------------------------


def _evals(sweep_dir: Path, trial_id: str) -> list[dict[str, Any]]:
    keys = ("timesteps", "eval_env_return", "eval_proxy_return", "eval_env_std", "eval_terms")
    return [{k: row[k] for k in keys} for row in read_jsonl(sweep_dir / trial_id / "metrics.jsonl")]


def _kill_when_stalled(signals: Path, node2: subprocess.Popen[bytes], killed: dict[str, Any]) -> None:
    """Kill the second node (all of it: its PID namespace) once its trial says it stopped mid-trial."""
    end = time.monotonic() + WAIT_S
    while not (signals / "stalled").exists() and time.monotonic() < end:
        time.sleep(0.05)
    if (signals / "stalled").exists():
        node2.kill()  # unshare --kill-child: the namespace's first process, then every other one, dies
        node2.wait()
        killed["at"] = time.monotonic()


def test_a_sweep_on_a_cluster_without_shared_disk_lands_every_trial_on_the_driver(tmp_path, monkeypatch, capsys):
    ray = pytest.importorskip("ray", reason='the ray backend needs Ray: pip install "rewardlab[ray]"')
    runs, signals, root = tmp_path / "runs", tmp_path / "signals", tmp_path / "cluster"
    for folder in (runs, signals, root):
        folder.mkdir()
    if not Path(RAY_CLI).is_file():
        pytest.skip(f"needs Ray's command line beside this Python ({RAY_CLI})")
    unshare, why = _unshare(runs)
    if why is not None:
        pytest.skip(f"the second node needs its own mount namespace: {why}")
    (runs / "sentinel.txt").write_text("only the driver's machine sees this file\n")
    spec = tiny_spec(seeds=[0], variants=VARIANTS, agents={"ppo": dict(TINY_PPO)})
    ids = [t.id for t in spec.trials(check=False)]
    local = run_sweep(spec, workers=2, runs_dir=tmp_path / "local", progress=False)
    assert local.done == 3

    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.syspath_prepend(HERE)
    killed: dict[str, Any] = {}
    with _cluster(root, runs, signals, unshare) as (address, node2):
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
            _wait_for_nodes(ray, 2, [root / "head.log", root / "node2.log"])
            watcher = threading.Thread(target=_kill_when_stalled, args=(signals, node2, killed), daemon=True)
            watcher.start()
            capsys.readouterr()
            start = time.monotonic()
            result = run_sweep(spec, backend="ray", address=address, workers=2, runs_dir=runs)
            seconds = time.monotonic() - start
            watcher.join(timeout=5)
            out = capsys.readouterr().out
            # Resume, on the driver's folders alone (the cluster is still there, but nothing runs).
            again = run_sweep(spec, backend="ray", address=address, workers=2, runs_dir=runs, progress=False)
        finally:
            ray.shutdown()

    # The second node never saw the driver's runs directory; the head (same disk as the driver) did.
    notes = {p.name: json.loads(p.read_text()) for p in signals.glob("*-*")}
    on_node2 = sorted(name.split("-", 1)[1] for name in notes if name.startswith("node2-"))
    assert len(on_node2) == 2, (notes, out)
    assert all(not notes[f"node2-{tag}"]["sees_runs_dir"] for tag in on_node2)
    assert all(note["sees_runs_dir"] for name, note in notes.items() if name.startswith("head-"))
    stalled = (signals / "stalled").read_text()
    assert "at" in killed, "the second node was never killed"
    (finished_there,) = set(on_node2) - {stalled}

    # Every trial is done in the driver's runs directory, the killed one resubmitted (not an attempt).
    assert result.complete and result.done == 3 and result.failed == 0, out
    assert again.skipped == 3 and again.done == 0
    stalled_id = next(i for i in ids if f"__{stalled}__" in i)
    assert f"{stalled_id}: node died; resubmitted" in out or f"{stalled_id}: worker died; resubmitted" in out, out
    sweep_dir = runs / "tiny"
    status = sweep_status(sweep_dir)
    assert status["counts"] == {"done": 3, "running": 0, "failed": 0, "pending": 0}, status
    for trial_id in ids:
        st = read_status(sweep_dir / trial_id)
        assert st["status"] == "done" and st["attempts"] == 1, (trial_id, st)
        config = json.loads((sweep_dir / trial_id / "config.json").read_text())
        assert config["runs_dir"] == str(runs) and config["reward_models"] == str(sweep_dir / "reward_models")
        # ... with the local backend's results (each trial is deterministic given its seed).
        assert _evals(sweep_dir, trial_id) == _evals(tmp_path / "local" / "tiny", trial_id), trial_id
        assert len(_evals(sweep_dir, trial_id)) == 2
        there = read_status(tmp_path / "local" / "tiny" / trial_id)
        finals = ("final_env_return", "final_proxy_return")
        assert [st[k] for k in finals] == [there[k] for k in finals], trial_id
    # The folder written by the second node came from there; the killed trial's, from its rerun on the head.
    host = lambda trial_id: json.loads((sweep_dir / trial_id / ".writer.lock").read_text())["host"]
    assert host(next(i for i in ids if f"__{finished_there}__" in i)) == NODE2_HOST
    assert host(stalled_id) != NODE2_HOST
    # Aggregation reads them all; no scratch folder is left but the one of the trial killed with its node.
    summary = aggregate(sweep_dir, distances=False, n_bootstrap=20, write=False)
    assert {(row["variant"], row["n_seeds"]) for row in summary.rows} == {("a", 1), ("b", 1), ("c", 1)}
    assert not list((root / "head-tmp").glob("rewardlab-trial-*"))
    assert len(list((root / "node2-tmp").glob("rewardlab-trial-*"))) <= 1
    print(f"cluster sweep: {seconds:.1f} s")
