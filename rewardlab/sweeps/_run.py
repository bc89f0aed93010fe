"""Running a sweep: the trial lifecycle, resume, the lock, progress and status.

Layout of a sweep (the report reads it)::

    <runs_dir>/<sweep>/
        sweep.json       name, the resolved spec, the baseline variant, every trial, versions
        sweep.lock       pid of the sweep running on this directory (absent when none)
        <trial id>/      one run directory per trial (rewardlab.training.train), whose
                         status.json also holds `attempts`

On the Ray backend the trial folders are those of the driver, the machine running the sweep,
whether the cluster shares its disk or not (``trial_files``, :mod:`rewardlab.sweeps._backends`):
status, resume, aggregation and the report read them there.

A trial is ``done`` once its status says so and its ``metrics.jsonl`` exists. Rerunning a sweep
skips done trials, reruns failed ones while ``attempts < 1 + retries`` (a trial stopped by Ctrl-C
is always rerun), and redoes from scratch every trial left half-written: status ``running``
with no live sweep, no status, or done without metrics, or done with another spec.

A trial folder is never shared with a live writer: before the runner deletes a folder to redo
it, it asks the folder's writer lock (:meth:`rewardlab.runs.RunDir.writer`), and refuses with
:class:`~rewardlab.errors.RunBusyError`, naming the process, while one holds it (a worker of a
killed sweep that is still running, say).

Failures of the machinery are not the trial's: a trial whose worker or node died, or that was
stopped because another worker died, is resubmitted within the call (at most
:data:`INFRA_RETRIES` times for its own deaths) and never counts as an attempt; one still dying
after that is recorded ``failed`` with ``infrastructure`` in its status, and the next call
retries it whatever ``retries`` says. A full disk stops the sweep: the trials in flight are
marked (when the disk lets us) so that the next call reruns them, and the call raises one
:class:`~rewardlab.errors.StorageError` naming the path and the space.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from threadpoolctl import threadpool_limits

from rewardlab.errors import ConfigError, RunBusyError, StorageError, message
from rewardlab.rewards import RewardSpec, from_dict, use_model_store
from rewardlab.runs import RunDir, fault, software_versions, storage_error, write_json
from rewardlab.sweeps._backends import (
    DIED,
    STOPPED,
    Backend,
    available_cpus,
    check_backend,
    import_ray,
    make_backend,
)
from rewardlab.sweeps._spec import REWARD_MODELS, SWEEP_JSON, SweepSpec, Trial, load_sweep, read_sweep_json
from rewardlab.sweeps._trial import INTERRUPTED, is_storage_error, run_trial

__all__ = ["INFRA_RETRIES", "SweepResult", "migrate_names", "run_sweep", "run_sweeps", "run_trial", "sweep_status"]

INFRA_RETRIES = 2
"""How many times one call resubmits a trial whose own worker (or node) died, before recording it."""
_MAX_INTERRUPTIONS = 10
"""How many times one call resubmits a trial stopped because *another* worker died."""
_BUSY_WAIT_S = 15.0
"""How long a resubmission waits for the process that wrote the trial's folder to be gone."""


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
    stopped: int = 0
    """Trials stopped, or never started, because the caller stopped the sweep (:func:`run_sweeps`)."""

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
        except OSError as exc:
            raise storage_error(exc, path) from None
        try:
            with os.fdopen(fd, "w") as f:
                f.write(f"{os.getpid()}\n")
        except OSError as exc:
            path.unlink(missing_ok=True)
            raise storage_error(exc, path) from None
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
    try:
        status = run.status()
        state = status["status"]
        attempts = int(status.get("attempts", 0))
    except (OSError, ValueError, KeyError, TypeError):  # a status.json cut short or garbled
        return "run", 0
    if state == "done" and run.metrics_path.is_file():
        meta = run.read_config().get("meta", {})
        if meta.get("fingerprint") in (None, trial.fingerprint):
            return "skip", attempts
        return "run", 0  # the spec changed since it ran
    if state == "failed":
        if status.get("error") in (INTERRUPTED, STOPPED) or status.get("infrastructure"):
            return "run", attempts  # not the trial's fault: never counted against `retries`
        return ("run", attempts) if attempts < 1 + retries else ("give_up", attempts)
    return "run", attempts  # running (its sweep is dead: we hold the lock), pending, or half-written


def _versions(backend: str) -> dict[str, str]:
    out = software_versions()
    if backend == "ray":
        out["ray"] = import_ray().__version__
    return out


def _write_sweep_json(spec: SweepSpec, trials: list[Trial], sweep_dir: Path, backend: str) -> None:
    path = sweep_dir / SWEEP_JSON
    created = time.strftime("%Y-%m-%dT%H:%M:%S")
    with contextlib.suppress(OSError, ValueError, AttributeError):
        created = json.loads(path.read_text(encoding="utf-8")).get("created", created)
    data = {
        "name": spec.name,
        "spec": spec.to_dict(),
        "baseline": spec.baseline,
        "trials": [t.to_dict() for t in trials],
        "created": created,
        "updated": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "versions": _versions(backend),
    }
    with _storage(path, len(json.dumps(data, indent=2, default=str)) + 1):
        write_json(path, data)


# --- storage ------------------------------------------------------------------------------------


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _disk_full(path: Path, need: int | None) -> StorageError:
    """The error of a write under ``path`` that found the disk full (``need``: bytes it wanted)."""
    free = ""
    with contextlib.suppress(OSError):
        free = f" ({shutil.disk_usage(_existing(path)).free / 1e6:.1f} MB free)"
    amount = f"at least {max(need, 1) / 1e6:.2f} MB" if need else "some space"
    return StorageError(
        message(
            "runs_dir",
            "on a disk with free space",
            str(path),
            f"The disk is full{free}: writing {path} needs {amount}. The sweep stopped; finished trials are "
            "kept, and rerunning the same command after freeing space continues it.",
        )
    )


def _as_storage_error(exc: OSError, path: Path, need: int | None = None) -> StorageError:
    if isinstance(exc, StorageError):
        return exc
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return _disk_full(path, need)
    return storage_error(exc, path)


@contextlib.contextmanager
def _storage(path: Path, need: int | None = None) -> Iterator[None]:
    """Turn a failed write of the runner's own under ``path`` into one :class:`StorageError`."""
    try:
        yield
    except OSError as exc:
        raise _as_storage_error(exc, path, need) from None


def _trial_size(sweep_dir: Path) -> int | None:
    """Bytes of the largest finished trial folder of the sweep (what one more trial needs), if any."""
    sizes = []
    with contextlib.suppress(OSError):
        for sub in sweep_dir.iterdir():
            if sub.is_dir() and (sub / "metrics.jsonl").is_file():
                sizes.append(sum(f.stat().st_size for f in sub.rglob("*") if f.is_file()))
            if len(sizes) >= 8:
                break
    return max(sizes) if sizes else None


def _check_runs_dir(runs_dir: Path, sweep_dir: Path) -> None:
    """Make ``sweep_dir`` and prove it writable, before anything else is written.

    Raises:
        StorageError: ``runs_dir`` (or a folder on the way to it) is a file, or cannot be written
            (the message names the path and the permission or the space).
    """
    for folder in (sweep_dir, *sweep_dir.parents):
        if folder.exists() or folder.is_symlink():
            if not folder.is_dir():
                raise StorageError(
                    message(
                        "runs_dir",
                        "a folder",
                        str(runs_dir),
                        f"{folder} is a file, not a folder: pick another --runs-dir, or move the file.",
                    )
                )
            break
    try:
        sweep_dir.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=sweep_dir, prefix=".write-check.", suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            where = _existing(sweep_dir)
            raise StorageError(
                message(
                    "runs_dir",
                    "a folder you can write to",
                    str(runs_dir),
                    f"Permission denied creating files in {where} (needs write and search permission, "
                    f"mode {_mode(where)}): pick another --runs-dir, or fix its permissions.",
                )
            ) from None
        raise _as_storage_error(exc, sweep_dir, 4096) from None


def _mode(path: Path) -> str:
    try:
        return oct(path.stat().st_mode & 0o7777)
    except OSError:
        return "unknown"


# --- trial folders ------------------------------------------------------------------------------


def _refuse_live_writer(run_dir: Path) -> None:
    """Raise when a live process writes ``run_dir`` (a worker of a killed sweep, another run).

    Raises:
        RunBusyError: naming the process (pid, host, since when).
    """
    holder = RunDir(run_dir).writer() if run_dir.is_dir() else None
    if holder is not None:
        raise RunBusyError(
            message(
                "sweep",
                "trial folders that no live process writes",
                str(run_dir),
                f"Process {holder.get('pid', '?')} on {holder.get('host', '?')} has been writing it since "
                f"{holder.get('started', '?')} (a worker of a sweep that was killed?): wait for it to end, "
                "or stop it, then rerun.",
            )
        )


def _reset(run_dir: Path, wait: float = 0.0) -> None:
    """Delete ``run_dir`` to redo its trial from scratch, once no live process writes it.

    Args:
        wait: seconds to wait for a writer to go away (a worker being stopped) before refusing.

    Raises:
        RunBusyError: a live process still writes it.
    """
    end = time.monotonic() + wait
    while True:
        try:
            _refuse_live_writer(run_dir)
            break
        except RunBusyError:
            if time.monotonic() >= end:
                raise
            time.sleep(0.1)
    fault("sweep:reset")
    shutil.rmtree(run_dir, ignore_errors=True)


# --- renamed variants ---------------------------------------------------------------------------

_RENAMING = ".renaming"


def _renames(spec: SweepSpec, trials: list[Trial], sweep_dir: Path) -> list[tuple[Path, Trial]]:
    """The trial folders named as an earlier version named their variant, with the trial each now is.

    A folder qualifies only when its ``config.json`` holds the fingerprint of the trial under the
    old name (same reward, seed, budget): a folder of another trial that happens to bear the name
    (``velocity_cost_x-1`` was ten times the weight, now it is a sign flip) is left alone. A folder
    staged by a migration that was killed half-way (``.<id>.renaming``) is taken up again.
    """
    legacy = {env: spec.legacy_names(env) for env in spec.envs}
    out = []
    for trial in trials:
        old_name = legacy[trial.env].get(trial.variant)
        if old_name is None:
            continue
        old = trial.model_copy(update={"variant": old_name})
        for src in (sweep_dir / old.id, sweep_dir / f".{old.id}{_RENAMING}"):
            if src.is_dir() and RunDir(src).read_config().get("meta", {}).get("fingerprint") == old.fingerprint:
                out.append((src, trial))
                break
    return out


def _migrate(moves: list[tuple[Path, Trial]], sweep_dir: Path) -> dict[str, str]:
    """Rename the folders of ``moves`` and rewrite the names in their ``config.json``; old id -> new id.

    In two steps (all aside, then all into place), so that a new name that was another trial's
    old name is free before it is taken. A new name already taken by a folder is left alone (the
    old folder keeps its name, and is ignored).
    """
    staged = []
    for src, trial in moves:
        old_id = src.name[1 : -len(_RENAMING)] if src.name.endswith(_RENAMING) else src.name
        tmp = sweep_dir / f".{old_id}{_RENAMING}"
        if src != tmp:
            os.rename(src, tmp)
        staged.append((tmp, old_id, trial))
    done: dict[str, str] = {}
    for tmp, old_id, trial in staged:
        dest = sweep_dir / trial.id
        if dest.exists():
            if not (sweep_dir / old_id).exists():
                os.rename(tmp, sweep_dir / old_id)
            continue
        run = RunDir(tmp)
        config = run.read_config()
        meta = dict(config.get("meta", {}))
        meta.update(trial=trial.id, variant=trial.variant, fingerprint=trial.fingerprint)
        run.write_config({**config, "run_name": trial.id, "meta": meta})
        os.rename(tmp, dest)
        done[old_id] = trial.id
    return done


def migrate_names(sweep_dir: str | Path, progress: bool = False) -> dict[str, str]:
    """Rename the trial folders of a sweep made by an earlier version of the variant names.

    ``weight_grid`` variants were named ``<term>_x<value>``; they are now named by the factor
    they apply (:meth:`~rewardlab.sweeps.Ablation.grid_names`). The folders of such a sweep, and
    its ``sweep.json``, take the new names, so the sweep resumes without retraining and its report
    shows the new names. Nothing is written when there is nothing to rename (a read-only folder
    reports as before); a folder another live sweep runs on is left for that sweep to rename.

    Returns:
        Old trial id -> new trial id of the folders renamed.
    """
    path = Path(sweep_dir)
    data = read_sweep_json(path)
    if data is None or not isinstance(data.get("spec"), dict):
        return {}
    try:
        spec = SweepSpec.from_dict(data["spec"])
        trials = spec.trials(check=False)
    except (ConfigError, ValueError, TypeError):  # a spec this version cannot read: leave it as it is
        return {}
    moves = _renames(spec, trials, path)
    if not moves or lock_holder(path) is not None:
        return {}
    with _lock(path), _storage(path):
        done = _migrate(moves, path)
        if done:
            data["trials"] = [t.to_dict() for t in trials]
            data["spec"] = spec.to_dict()
            write_json(path / SWEEP_JSON, data)
    if done:
        _say(
            progress,
            f"Renamed {len(done)} trial folder(s) of {path} to the new variant names: "
            + ", ".join(f"{a} -> {b}" for a, b in done.items()),
        )
    return done


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
    trial_files: str | None = None,
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
            A trial whose worker or node died does not count (see the module docstring).
        fast: apply the spec's ``fast`` preset (small budgets, for tests).
        progress: print one line per finished trial and a summary.
        trial_files: where Ray's trials write their folders (None: ``driver``). ``driver``: in a
            scratch folder on their node, sent back here and put in place atomically, so no node
            needs to see ``runs_dir``; ``shared``: straight into ``runs_dir``, which every node
            must then mount at the same path. The local backend ignores it (same machine).

    Returns:
        The counts of this call (:class:`SweepResult`).

    Raises:
        ConfigError: an invalid spec or argument, naming every trial that cannot run, before any
            trial runs; another live sweep holding the directory; a Ray ``address`` where nothing
            answers.
        RunBusyError: a live process (a worker of a killed sweep) still writes a trial folder
            that this call would redo; nothing was deleted.
        StorageError: ``runs_dir`` is a file or not writable (before anything runs), or the disk
            filled up (the sweep stopped; the trials in flight are marked to be rerun).
        MissingDependencyError: ``backend="ray"`` without Ray installed.
        KeyboardInterrupt: after Ctrl-C, once the running trials are stopped and recorded as
            ``failed`` (``interrupted``), so that the next call reruns them.
    """
    if not isinstance(spec, SweepSpec):
        spec = load_sweep(spec, fast=fast)
    elif fast:
        spec = spec.fast_version()
    return run_sweeps(
        [spec],
        backend=backend,
        workers=workers,
        address=address,
        runs_dir=runs_dir,
        retries=retries,
        progress=progress,
        trial_files=trial_files,
    )[0]


Watch = Callable[[], Collection[str]]
"""Called while trials run (about every :data:`WATCH_S` seconds): the names of the sweeps to stop."""
WATCH_S = 1.0
"""How often :func:`run_sweeps` calls its ``watch``."""


def run_sweeps(
    specs: Sequence[SweepSpec],
    *,
    backend: str = "local",
    workers: int | None = None,
    address: str | None = None,
    runs_dir: str | Path = "runs",
    retries: int = 1,
    progress: bool = True,
    trial_files: str | None = None,
    watch: Watch | None = None,
    pool: Backend | None = None,
) -> list[SweepResult]:
    """Run the trials of several sweeps (a tune's batch of candidates) together, on one backend.

    As :func:`run_sweep` for each spec (one folder, lock, ``sweep.json`` and resume each), with
    the trials of all of them sharing the backend's slots, in the order of ``specs``.

    Args:
        specs: the sweeps; their names must differ.
        watch: called about every :data:`WATCH_S` seconds while trials run, and after each
            finishes; the sweeps it names are stopped: their queued trials never start and their
            running ones are stopped (recorded ``failed``, :data:`~rewardlab.sweeps._backends.STOPPED`;
            on the serial backend they have finished by then). Counted in :attr:`SweepResult.stopped`.
        pool: a backend to run on and leave open (a tune keeps one for all its batches); None
            makes one from ``backend``, ``workers``, ``address`` and ``trial_files``, and closes it.
        The other arguments are :func:`run_sweep`'s.

    Returns:
        One :class:`SweepResult` per spec, in order.

    Raises:
        As :func:`run_sweep`.
    """
    start = time.monotonic()
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ConfigError(message("retries", "a non-negative integer", retries))
    if len({s.name for s in specs}) != len(specs):
        raise ConfigError(message("specs", "sweeps with distinct names", [s.name for s in specs]))
    check_backend(backend, workers, address, trial_files=trial_files)
    planned = [(spec, spec.trials()) for spec in specs]  # validates every trial before anything runs
    counts: dict[str, dict[str, int]] = {}
    todo: list[dict[str, Any]] = []
    with contextlib.ExitStack() as locks:
        for spec, trials in planned:
            sweep_dir = Path(runs_dir) / spec.name
            _check_runs_dir(Path(runs_dir), sweep_dir)
            locks.enter_context(_lock(sweep_dir))
            todo += _prepare(spec, trials, sweep_dir, retries, backend, progress, counts.setdefault(spec.name, {}))
        for spec, _ in planned:
            with _storage(Path(runs_dir) / spec.name / REWARD_MODELS):
                _train_reward_models(
                    [t for t in todo if t["_where"][1] == spec.name], Path(runs_dir) / spec.name, progress
                )
        ran = _execute(todo, backend, workers, address, Path(runs_dir), progress, trial_files, watch=watch, pool=pool)
    wall = time.monotonic() - start
    results = []
    for spec, trials in planned:
        mine = {t.id: ran[(spec.name, t.id)] for t in trials if (spec.name, t.id) in ran}
        result = SweepResult(
            sweep_dir=Path(runs_dir) / spec.name,
            total=len(trials),
            done=sum(1 for v in mine.values() if v == "done"),
            failed=sum(1 for v in mine.values() if v not in ("done", _STOP)),
            skipped=counts[spec.name]["skipped"],
            gave_up=counts[spec.name]["gave_up"],
            wall_s=wall,
            failures={k: v for k, v in mine.items() if v not in ("done", _STOP)},
            stopped=sum(1 for v in mine.values() if v == _STOP),
        )
        _say(
            progress,
            f"Sweep {spec.name}: {result.done} done, {result.failed} failed, {result.skipped} skipped (done before), "
            f"{result.gave_up} not retried"
            + (f", {result.stopped} stopped" if result.stopped else "")
            + f", in {wall:.0f}s. Results: {result.sweep_dir}",
        )
        results.append(result)
    return results


def _prepare(
    spec: SweepSpec,
    trials: list[Trial],
    sweep_dir: Path,
    retries: int,
    backend: str,
    progress: bool,
    counts: dict[str, int],
) -> list[dict[str, Any]]:
    """Under the sweep's lock: rename old folders, write ``sweep.json``, plan resume; the trials to run."""
    with _storage(sweep_dir):
        renamed = _migrate(_renames(spec, trials, sweep_dir), sweep_dir)
    if renamed:
        _say(progress, f"Renamed {len(renamed)} trial folder(s) to the new variant names (kept, not retrained).")
    _write_sweep_json(spec, trials, sweep_dir, backend)
    plans = [(trial, *_plan(trial, sweep_dir / trial.id, retries)) for trial in trials]
    for trial, action, _ in plans:  # before deleting anything: a live writer stops the call
        if action == "run":
            _refuse_live_writer(sweep_dir / trial.id)
    todo: list[dict[str, Any]] = []
    counts.update(skipped=0, gave_up=0)
    for trial, action, attempts in plans:
        if action == "skip":
            counts["skipped"] += 1
        elif action == "give_up":
            counts["gave_up"] += 1
        else:
            _reset(sweep_dir / trial.id)  # a rerun starts from a clean directory
            todo.append({**trial.to_dict(), "attempt": attempts + 1, "_where": (str(sweep_dir.parent), spec.name)})
    _say(
        progress,
        f"Sweep {spec.name}: {len(trials)} trials, {counts['skipped']} already done, {counts['gave_up']} failed "
        f"too often, {len(todo)} to run -> {sweep_dir}",
    )
    return todo


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


_DISK_FULL = "interrupted: the disk is full"
"""The error recorded for the trials a full disk stopped (rerun by the next call, uncounted)."""


class _Stop(Exception):
    """The disk filled up under a trial: stop the sweep (carries the StorageError to raise)."""

    def __init__(self, error: StorageError) -> None:
        super().__init__(str(error))
        self.error = error


_STOP = "\0stopped"
"""What :func:`_execute` says of a trial whose sweep the caller stopped."""


def _execute(
    todo: list[dict[str, Any]],
    backend_name: str,
    workers: int | None,
    address: str | None,
    runs_dir: Path,
    progress: bool,
    trial_files: str | None = None,
    *,
    watch: Watch | None = None,
    pool: Backend | None = None,
) -> dict[tuple[str, str], str]:
    """Run ``todo`` on the backend; (sweep, trial id) -> ``"done"``, :data:`_STOP` or the error."""
    if not todo:
        return {}
    if workers is None and backend_name == "local":
        workers = min(available_cpus(), len(todo))
    backend: Backend = pool if pool is not None else make_backend(backend_name, workers, address, trial_files)
    _say(progress, f"Running on {backend.name} with {backend.slots} worker(s).")
    queue = list(todo)
    out: dict[tuple[str, str], str] = {}
    k = 0
    deaths: dict[str, int] = {}  # trial id -> its own worker deaths in this call
    interruptions: dict[str, int] = {}  # trial id -> stops because another worker died
    stopping: set[str] = set()  # sweeps `watch` stopped

    def where(trial: dict[str, Any]) -> tuple[Path, tuple[str, str]]:
        sweep = trial["_where"][1]
        return runs_dir / sweep, (sweep, trial["id"])

    try:
        while queue or backend.in_flight():
            while queue and len(backend.in_flight()) < backend.slots:
                backend.submit(queue.pop(0))
                fault("sweep:submit")
            fault("sweep:wait")
            for trial, summary in backend.wait(WATCH_S if watch is not None else None):
                sweep_dir, key = where(trial)
                run_dir = sweep_dir / trial["id"]
                if summary.get("storage"):
                    raise _Stop(_trial_storage_error(summary, run_dir, sweep_dir, trial))
                if key[0] in stopping and summary["status"] != "done":
                    if summary.pop("recorded", True) is False and run_dir.is_dir():
                        _record_failure(run_dir, STOPPED, "", trial, trial["attempt"] - 1)
                    out[key] = _STOP
                    continue
                infrastructure = summary.pop("infrastructure", None)
                if infrastructure is not None:
                    counter = deaths if infrastructure == DIED else interruptions
                    n = counter[trial["id"]] = counter.get(trial["id"], 0) + 1
                    limit = INFRA_RETRIES if infrastructure == DIED else _MAX_INTERRUPTIONS
                    if n <= limit:
                        _say(
                            progress,
                            f"[{k}/{len(todo)}] {trial['id']}: {summary['error']}; resubmitted (a failure of the "
                            "machinery, not counted as an attempt)",
                        )
                        _reset(run_dir, wait=_BUSY_WAIT_S)
                        queue.insert(0, trial)
                        continue
                    summary["infrastructure"] = n
                if summary.pop("recorded", True) is False:  # the worker never got to write it
                    infra = summary.pop("infrastructure", None)
                    attempts = trial["attempt"] - 1 if infra else trial["attempt"]
                    _record_failure(run_dir, summary["error"], summary.pop("traceback", ""), trial, attempts, infra)
                    summary["attempts"] = attempts
                fault("sweep:record")
                k += 1
                _say(progress, _line(k, len(todo), summary))
                out[key] = "done" if summary["status"] == "done" else str(summary.get("error", ""))
            if watch is not None:
                stop = set(watch()) - stopping
                if stop:
                    stopping |= stop
                    for trial in [t for t in queue if t["_where"][1] in stop]:  # never started
                        queue.remove(trial)
                        out[where(trial)[1]] = _STOP
                    for trial in backend.in_flight():
                        if trial["_where"][1] in stop:
                            backend.stop(trial)
    except _Stop as stop_error:
        # The disk is full: nothing more can be written. Stop the workers, mark what they ran (if
        # the disk lets us) so that the next call reruns it without counting an attempt, and say so.
        _interrupt(backend, runs_dir, _DISK_FULL)
        raise stop_error.error from None
    except BaseException as exc:
        # Ctrl-C (or a bug of ours): stop the workers, then mark what they were running so that the
        # next call reruns it; the attempt does not count against the retry limit.
        _interrupt(backend, runs_dir, INTERRUPTED)
        if isinstance(exc, OSError) and is_storage_error(exc):
            first = runs_dir / todo[0]["_where"][1]
            raise _as_storage_error(exc, first, _trial_size(first)) from None
        raise
    if pool is None:
        backend.close()
    return out


def _trial_storage_error(
    summary: dict[str, Any], run_dir: Path, sweep_dir: Path, trial: dict[str, Any]
) -> StorageError:
    """The error that stops a sweep whose trial found the disk full; the trial is marked to be rerun.

    A trial that ran in a scratch folder on a Ray node (``summary["node"]``) found *that* node's
    disk full: the error names the node and what it said, not this machine's disk.
    """
    need = _trial_size(sweep_dir)
    amount = f"about {need / 1e6:.1f} MB per trial (the size of a finished one)" if need else "a few MB per trial"
    rerun = (
        "The sweep stopped and marked its running trials to be rerun: free some space, then rerun "
        "the same command to continue (finished trials are kept)."
    )
    if summary.get("node"):
        free = summary.get("node_free")
        free_text = f"{free / 1e6:.1f} MB free; " if isinstance(free, (int, float)) else ""
        error = StorageError(
            message(
                "node",
                "a Ray node with free space in its temporary folder, where trials run (trial_files='driver')",
                f"{summary['node']}:{summary.get('node_tmp', '?')}",
                f"Trial {trial['id']} ran out of space there ({free_text}a trial of this sweep needs {amount}). "
                f"Free space on that node, or give its Ray workers a TMPDIR on a larger disk. {rerun}",
            )
        )
    else:
        free = ""
        with contextlib.suppress(OSError):
            free = f"{shutil.disk_usage(_existing(run_dir)).free / 1e6:.1f} MB free; "
        error = StorageError(
            message(
                "runs_dir",
                "on a disk with free space",
                str(run_dir),
                f"Trial {trial['id']} could not write its results ({free}a trial of this sweep needs {amount}). "
                f"{rerun}",
            )
        )
    with contextlib.suppress(OSError, ValueError):
        status = RunDir(run_dir).status()
        if status.get("status") != "done":
            _record_failure(
                run_dir,
                str(summary.get("storage") or summary.get("error")),
                "",
                trial,
                trial["attempt"] - 1,
                "storage",
            )
    return error


def _interrupt(backend: Backend, runs_dir: Path, error: str) -> None:
    """Stop the backend's workers and mark each trial they ran failed (``error``), uncounted."""
    running = backend.in_flight()
    backend.close(abort=True)
    for trial in running:
        infra = None if error == INTERRUPTED else "storage"
        with contextlib.suppress(OSError, ValueError):  # a full disk may refuse even this
            _record_failure(runs_dir / trial["_where"][1] / trial["id"], error, "", trial, trial["attempt"] - 1, infra)


def _record_failure(
    run_dir: Path,
    error: str,
    tb: str,
    trial: dict[str, Any],
    attempts: int | None = None,
    infrastructure: Any = None,
) -> None:
    """Mark a trial failed from the runner (a dead worker, Ctrl-C), keeping what its status held.

    ``infrastructure`` (a count, or ``"storage"``) marks a failure that was not the trial's: the
    next call reruns it whatever ``retries`` says.
    """
    run = RunDir(run_dir)
    with contextlib.suppress(OSError, ValueError):
        tb = tb or run.status().get("traceback", "")
    extra: dict[str, Any] = {"infrastructure": infrastructure} if infrastructure else {}
    with _storage(run_dir / "status.json", 4096):
        run.fail(error, traceback=tb, keep=True, attempts=trial["attempt"] if attempts is None else attempts, **extra)


# --- status -------------------------------------------------------------------------------------


def sweep_status(sweep_dir: str | Path) -> dict[str, Any]:
    """The state of every trial of a sweep directory.

    ``running`` is reported only while a live sweep holds the directory; a trial left
    ``running`` by a killed sweep counts as ``pending`` (the next run redoes it).

    Returns:
        ``{"name", "sweep_dir", "running_pid", "counts": {"done", "running", "failed", "pending"},
        "trials": [{"id", "status", "attempts", "error", "final_env_return", "final_proxy_return"}]}``

    Raises:
        ConfigError: ``sweep_dir`` has no ``sweep.json``, or one that is corrupt (one line naming it).
    """
    sweep_dir = Path(sweep_dir)
    data = read_sweep_json(sweep_dir)
    if data is None:
        raise ConfigError(
            message("sweep_dir", "a sweep directory with sweep.json", str(sweep_dir), "Pass runs/<sweep name>.")
        )
    pid = lock_holder(sweep_dir)
    counts = dict.fromkeys(("done", "running", "failed", "pending"), 0)
    rows = []
    for t in data["trials"]:
        run_dir = sweep_dir / t["id"]
        try:
            st = RunDir(run_dir).status()  # a missing folder or status.json reads as pending
        except (OSError, ValueError):
            st = {"status": "pending", "error": "unreadable status.json"}
        if not isinstance(st, dict):
            st = {"status": "pending"}
        state = st.get("status")
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
    name = data.get("name") if isinstance(data.get("name"), str) else sweep_dir.name
    return {"name": name, "sweep_dir": str(sweep_dir), "running_pid": pid, "counts": counts, "trials": rows}
