"""Running a sweep: the trial lifecycle, resume, the lock, progress and status.

Layout of a sweep (the report reads it)::

    <runs_dir>/<sweep>/
        sweep.json       name, the resolved spec, the baseline variant, every trial, versions
        sweep.lock       pid of the sweep running on this directory (absent when none)
        <trial id>/      one run directory per trial (rewardlab.training.train), whose
                         status.json also holds `attempts`

A trial is ``done`` once its status says so and its ``metrics.jsonl`` exists. Rerunning a sweep
skips done trials, reruns failed ones while ``attempts < 1 + retries`` (a trial stopped by Ctrl-C
is always rerun), and redoes from scratch every trial left half-written: status ``running``
with no live sweep, no status, or done without metrics, or done with another spec.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from threadpoolctl import threadpool_limits

from rewardlab.errors import ConfigError, message
from rewardlab.rewards import RewardSpec, from_dict, use_model_store
from rewardlab.runs import RunDir, software_versions, write_json
from rewardlab.sweeps._backends import Backend, available_cpus, check_backend, import_ray, make_backend
from rewardlab.sweeps._spec import REWARD_MODELS, SweepSpec, Trial, load_sweep
from rewardlab.sweeps._trial import INTERRUPTED, run_trial

__all__ = ["SweepResult", "run_sweep", "run_trial", "sweep_status"]


@dataclass(frozen=True)
class SweepResult:
    """What one :func:`run_sweep` call did."""

    sweep_dir: Path
    """``<runs_dir>/<sweep name>``."""
    total: int
    """Trials in the sweep."""
    done: int
    """Trials that finished in this call."""
    failed: int
    """Trials that failed in this call (recorded with their traceback)."""
    skipped: int
    """Trials already done before this call."""
    gave_up: int
    """Failed trials not rerun: their attempts reached ``1 + retries``."""
    wall_s: float
    """Wall time of the call."""
    failures: dict[str, str] = field(default_factory=dict)
    """Trial id -> error of the trials that failed in this call."""

    @property
    def complete(self) -> bool:
        """True when every trial of the sweep is done."""
        return self.done + self.skipped == self.total


# --- the lock -----------------------------------------------------------------------------------


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    # A killed process whose parent has not reaped it yet still answers kill(0): a zombie.
    with contextlib.suppress(OSError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    return True


def lock_holder(sweep_dir: Path) -> int | None:
    """The pid of the live sweep holding ``sweep.lock``, or None (no lock, or a stale one)."""
    try:
        pid = int((sweep_dir / "sweep.lock").read_text().strip() or 0)
    except (OSError, ValueError):
        return None
    return pid if _pid_alive(pid) else None


@contextlib.contextmanager
def _lock(sweep_dir: Path) -> Iterator[None]:
    path = sweep_dir / "sweep.lock"
    sweep_dir.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = lock_holder(sweep_dir)
            if holder is not None and holder != os.getpid():
                raise ConfigError(
                    message(
                        "sweep",
                        "a directory no other sweep is running on",
                        str(sweep_dir),
                        f"Sweep process {holder} holds {path}; wait for it or stop it.",
                    )
                ) from None
            path.unlink(missing_ok=True)  # stale: its process is gone
            continue
        with os.fdopen(fd, "w") as f:
            f.write(f"{os.getpid()}\n")
        break
    else:
        raise ConfigError(message("sweep", "lockable", str(path), "Another sweep took the lock; retry."))
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


# --- resume -------------------------------------------------------------------------------------


def _plan(trial: Trial, run_dir: Path, retries: int) -> tuple[str, int]:
    """What to do with ``trial``: ("skip" | "run" | "give_up", attempts so far)."""
    if not run_dir.exists():
        return "run", 0
    run = RunDir(run_dir)
    status = run.status()
    state = status["status"]
    attempts = int(status.get("attempts", 0))
    if state == "done" and run.metrics_path.is_file():
        meta = run.read_config().get("meta", {})
        if meta.get("fingerprint") in (None, trial.fingerprint):
            return "skip", attempts
        return "run", 0  # the spec changed since it ran
    if state == "failed":
        if status.get("error") == INTERRUPTED:
            return "run", attempts
        return ("run", attempts) if attempts < 1 + retries else ("give_up", attempts)
    return "run", attempts  # running (its sweep is dead: we hold the lock), pending, or half-written


def _versions(backend: str) -> dict[str, str]:
    out = software_versions()
    if backend == "ray":
        out["ray"] = import_ray().__version__
    return out


def _write_sweep_json(spec: SweepSpec, trials: list[Trial], sweep_dir: Path, backend: str) -> None:
    path = sweep_dir / "sweep.json"
    created = time.strftime("%Y-%m-%dT%H:%M:%S")
    with contextlib.suppress(OSError, ValueError):
        created = json.loads(path.read_text(encoding="utf-8")).get("created", created)
    write_json(
        path,
        {
            "name": spec.name,
            "spec": spec.to_dict(),
            "baseline": spec.baseline,
            "trials": [t.to_dict() for t in trials],
            "created": created,
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "versions": _versions(backend),
        },
    )


# --- the runner ---------------------------------------------------------------------------------


def _say(progress: bool, text: str) -> None:
    if progress:
        print(text, flush=True)


def _line(k: int, n: int, summary: dict[str, Any]) -> str:
    head = f"[{k}/{n}] {summary['id']} {summary['status']} in {summary.get('seconds', 0):.0f}s"
    if summary["status"] == "done":
        return f"{head}  env return {summary['final_env_return']:.1f} (proxy {summary['final_proxy_return']:.1f})"
    error = str(summary.get("error", "")).strip().splitlines()
    return f"{head}: {error[0] if error else 'unknown error'}"


def run_sweep(
    spec: SweepSpec | str | Path,
    *,
    backend: str = "local",
    workers: int | None = None,
    address: str | None = None,
    runs_dir: str | Path = "runs",
    retries: int = 1,
    fast: bool = False,
    progress: bool = True,
) -> SweepResult:
    """Run every trial of ``spec`` that is not done yet, on ``backend``.

    Args:
        spec: a :class:`SweepSpec` or the path of a sweep TOML file.
        backend: ``local`` (a process pool on this machine) or ``ray``.
        workers: trials at once (None: every core; on Ray, every CPU of the cluster). ``1`` on the
            local backend runs the trials one by one in this process.
        address: Ray cluster address (``auto``, ``ray://host:10001``); None starts a local Ray.
        runs_dir: root of the run directories; the sweep goes to ``runs_dir/<spec.name>``.
        retries: how many times a failed trial is rerun by later calls (``attempts < 1 + retries``).
        fast: apply the spec's ``fast`` preset (small budgets, for tests).
        progress: print one line per finished trial and a summary.

    Returns:
        The counts of this call (:class:`SweepResult`).

    Raises:
        ConfigError: an invalid spec or argument, naming every trial that cannot run, before any
            trial runs; or another live sweep holding the directory.
        MissingDependencyError: ``backend="ray"`` without Ray installed.
        KeyboardInterrupt: after Ctrl-C, once the running trials are stopped and recorded as
            ``failed`` (``interrupted``), so that the next call reruns them.
    """
    start = time.monotonic()
    if not isinstance(spec, SweepSpec):
        spec = load_sweep(spec, fast=fast)
    elif fast:
        spec = spec.fast_version()
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ConfigError(message("retries", "a non-negative integer", retries))
    check_backend(backend, workers, address)
    trials = spec.trials()  # validates every trial before anything runs
    sweep_dir = Path(runs_dir) / spec.name
    with _lock(sweep_dir):
        _write_sweep_json(spec, trials, sweep_dir, backend)
        todo: list[dict[str, Any]] = []
        skipped = gave_up = 0
        for trial in trials:
            run_dir = sweep_dir / trial.id
            action, attempts = _plan(trial, run_dir, retries)
            if action == "skip":
                skipped += 1
            elif action == "give_up":
                gave_up += 1
            else:
                shutil.rmtree(run_dir, ignore_errors=True)  # a rerun starts from a clean directory
                todo.append({**trial.to_dict(), "attempt": attempts + 1, "_where": (str(runs_dir), spec.name)})
        _say(
            progress,
            f"Sweep {spec.name}: {len(trials)} trials, {skipped} already done, {gave_up} failed too often, "
            f"{len(todo)} to run -> {sweep_dir}",
        )
        _train_reward_models(todo, sweep_dir, progress)
        done, failures = _execute(todo, backend, workers, address, sweep_dir, progress)
    wall = time.monotonic() - start
    result = SweepResult(
        sweep_dir=sweep_dir,
        total=len(trials),
        done=done,
        failed=len(failures),
        skipped=skipped,
        gave_up=gave_up,
        wall_s=wall,
        failures=failures,
    )
    _say(
        progress,
        f"Sweep {spec.name}: {done} done, {len(failures)} failed, {skipped} skipped (done before), "
        f"{gave_up} not retried, in {wall:.0f}s. Results: {sweep_dir}",
    )
    return result


def _train_reward_models(todo: list[dict[str, Any]], sweep_dir: Path, progress: bool) -> None:
    """Train, once and before any trial, the reward models the trials' rewards need.

    They go to ``<sweep>/reward_models/`` (a :class:`~rewardlab.rewards.ModelStore`), from where the
    workers, later runs of the sweep and the report load them. One torch and BLAS thread, as the
    workers use: the thread count changes a trained model's last bits.
    """
    needed: dict[tuple[str, str], tuple[str, RewardSpec]] = {}
    for trial in todo:
        reward = from_dict(trial["reward"])
        if reward.trains_when_built:
            needed.setdefault((trial["env"], json.dumps(trial["reward"], sort_keys=True)), (trial["variant"], reward))
    if not needed:
        return
    store = sweep_dir / REWARD_MODELS
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1), use_model_store(store):
            for i, ((env, _), (variant, reward)) in enumerate(needed.items(), 1):
                _say(progress, f"Reward model {i}/{len(needed)}: variant {variant} on {env} ...")
                t0 = time.monotonic()
                reward.build(env)  # trains it, or loads it when an earlier run stored it
                _say(progress, f"Reward model {i}/{len(needed)}: ready in {time.monotonic() - t0:.0f}s -> {store}")
    finally:
        torch.set_num_threads(threads)


def _execute(
    todo: list[dict[str, Any]],
    backend_name: str,
    workers: int | None,
    address: str | None,
    sweep_dir: Path,
    progress: bool,
) -> tuple[int, dict[str, str]]:
    if not todo:
        return 0, {}
    if workers is None and backend_name == "local":
        workers = min(available_cpus(), len(todo))
    backend: Backend = make_backend(backend_name, workers, address)
    _say(progress, f"Running on {backend.name} with {backend.slots} worker(s).")
    queue = list(todo)
    done, failures, k = 0, {}, 0
    try:
        while queue or backend.in_flight():
            while queue and len(backend.in_flight()) < backend.slots:
                backend.submit(queue.pop(0))
            for trial, summary in backend.wait():
                if summary.pop("recorded", True) is False:  # the worker never got to write it
                    _record_failure(sweep_dir / trial["id"], summary["error"], summary.pop("traceback", ""), trial)
                    summary["attempts"] = trial["attempt"]
                k += 1
                _say(progress, _line(k, len(todo), summary))
                if summary["status"] == "done":
                    done += 1
                else:
                    failures[trial["id"]] = summary.get("error", "")
    except BaseException:
        # Ctrl-C (or a bug of ours): stop the workers, then mark what they were running so that the
        # next call reruns it; the attempt does not count against the retry limit.
        running = backend.in_flight()
        backend.close(abort=True)
        for trial in running:
            _record_failure(sweep_dir / trial["id"], INTERRUPTED, "", trial, attempts=trial["attempt"] - 1)
        raise
    backend.close()
    return done, failures


def _record_failure(run_dir: Path, error: str, tb: str, trial: dict[str, Any], attempts: int | None = None) -> None:
    """Mark a trial failed from the runner (a dead worker, Ctrl-C), keeping what its status held."""
    run = RunDir(run_dir)
    tb = tb or run.status().get("traceback", "")
    run.fail(error, traceback=tb, keep=True, attempts=trial["attempt"] if attempts is None else attempts)


# --- status -------------------------------------------------------------------------------------


def sweep_status(sweep_dir: str | Path) -> dict[str, Any]:
    """The state of every trial of a sweep directory.

    ``running`` is reported only while a live sweep holds the directory; a trial left
    ``running`` by a killed sweep counts as ``pending`` (the next run redoes it).

    Returns:
        ``{"name", "sweep_dir", "running_pid", "counts": {"done", "running", "failed", "pending"},
        "trials": [{"id", "status", "attempts", "error", "final_env_return", "final_proxy_return"}]}``

    Raises:
        ConfigError: ``sweep_dir`` has no ``sweep.json``.
    """
    sweep_dir = Path(sweep_dir)
    path = sweep_dir / "sweep.json"
    if not path.is_file():
        raise ConfigError(
            message("sweep_dir", "a sweep directory with sweep.json", str(sweep_dir), "Pass runs/<sweep name>.")
        )
    data = json.loads(path.read_text(encoding="utf-8"))
    pid = lock_holder(sweep_dir)
    counts = dict.fromkeys(("done", "running", "failed", "pending"), 0)
    rows = []
    for t in data["trials"]:
        run_dir = sweep_dir / t["id"]
        st = RunDir(run_dir).status()  # a missing folder or status.json reads as pending
        state = st["status"]
        if state == "done" and not (run_dir / "metrics.jsonl").is_file():
            state = "pending"
        if state == "running" and pid is None:
            state = "pending"
        if state not in counts:
            state = "pending"
        counts[state] += 1
        rows.append(
            {
                "id": t["id"],
                "status": state,
                "attempts": st.get("attempts", 0),
                "error": st.get("error") if state == "failed" else None,
                "final_env_return": st.get("final_env_return"),
                "final_proxy_return": st.get("final_proxy_return"),
            }
        )
    return {"name": data["name"], "sweep_dir": str(sweep_dir), "running_pid": pid, "counts": counts, "trials": rows}
