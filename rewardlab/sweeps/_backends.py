"""Where trials run: in this process, in a local process pool, or as Ray tasks.

Every backend runs the same top-level function, :func:`rewardlab.sweeps._trial.run_trial`, on a
plain trial dict and hands back its summary dict, so a result does not depend on the backend.
The runner (:func:`rewardlab.sweeps.run_sweep`) keeps at most :attr:`Backend.slots` trials in
flight: every submitted trial is then really running, which is what lets a dead worker or a
Ctrl-C be pinned on the trials it interrupted.

Where a trial's files are written is the backend's affair too (``trial_files``): the local
backends write straight into ``runs_dir``; the Ray backend, by default (``driver``), runs each
trial in a scratch folder on its node and sends the folder back with the summary, which the
driver puts in place atomically, so a cluster needs no shared file system; with ``shared`` its
workers write into ``runs_dir`` themselves, which every node must then see (a shared mount).

A trial that did not finish because of the machinery rather than itself comes back with
``"infrastructure"`` in its summary: ``"died"`` when its own worker process (or Ray node) died,
``"interrupted"`` when it was stopped because another worker died (a process pool breaks as a
whole). The runner resubmits those; they never count as attempts against ``retries``.

Workers die with the sweep: a pool worker asks the kernel for SIGKILL when its parent dies
(Linux, ``prctl(PR_SET_PDEATHSIG)``) and, everywhere, a watchdog thread ends it once its parent
process is gone, so a sweep killed with ``kill -9`` (or by the out-of-memory killer) leaves no
orphan worker writing into trial folders, and no resource tracker either (it exits once every
process holding its pipe is gone).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import ctypes
import multiprocessing
import os
import signal
import socket
import sys
import tarfile
import threading
import time
import traceback
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Protocol

import torch
from threadpoolctl import threadpool_limits

from rewardlab.errors import ConfigError, MissingDependencyError, message
from rewardlab.runs import read_status, storage_error, write_status
from rewardlab.sweeps._spec import REWARD_MODELS
from rewardlab.sweeps._trial import FILES, pack_folder, run_trial, run_trial_shipped, unpack_trial

__all__ = [
    "BACKENDS",
    "DIED",
    "INTERRUPTED_BY_OTHER",
    "STOPPED",
    "STOP_FILE",
    "TRIAL_FILES",
    "Backend",
    "LocalBackend",
    "RayBackend",
    "SerialBackend",
    "TrialStopped",
    "check_backend",
    "make_backend",
]

DIED = "died"
"""``summary["infrastructure"]`` of a trial whose own worker process or node died."""
INTERRUPTED_BY_OTHER = "interrupted"
"""``summary["infrastructure"]`` of a healthy trial stopped because another worker died."""
WATCH_INTERVAL_S = 1.0
"""How often a pool worker's watchdog checks that the sweep that started it is alive."""
CONNECT_TIMEOUT_S = 10.0
"""How long the Ray backend waits for anything to answer at ``--address`` before giving up."""
RAY_INIT_TIMEOUT_S = 60.0
"""How long ``ray.init`` may take to join the cluster at ``--address`` (it would wait for ever)."""
_ORPHANED = 137
"""A worker's exit status once its sweep process is gone (as if killed with it)."""
_PR_SET_PDEATHSIG = 1

BACKENDS = ("local", "ray")
TRIAL_FILES = ("driver", "shared")
"""Where the Ray backend's trials write their folders: sent back to the driver, or a shared ``runs_dir``."""
# Thread pools read these when the library loads, so they must be in a worker's environment before
# numpy or torch is imported there: one trial per core, one thread per trial.
_THREAD_VARS = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)

Finished = tuple[dict[str, Any], dict[str, Any]]
"""A finished trial: (the trial dict that was submitted, the summary that came back)."""


class Backend(Protocol):
    """What the runner needs from a backend."""

    name: str
    slots: int
    """How many trials may run at once."""

    def submit(self, trial: dict[str, Any]) -> None:
        """Start ``trial`` (a dict from :meth:`Trial.to_dict` plus ``attempt``)."""

    def wait(self, timeout: float | None = None) -> list[Finished]:
        """Block until at least one trial has finished (or ``timeout`` seconds passed); the finished ones."""

    def stop(self, trial: dict[str, Any]) -> None:
        """Ask the running ``trial`` to stop (it comes back from :meth:`wait`, failed or done)."""

    def in_flight(self) -> list[dict[str, Any]]:
        """The trials submitted and not yet returned by :meth:`wait`."""

    def close(self, *, abort: bool = False) -> None:
        """Release the workers; with ``abort`` stop the running trials first."""


def _failure(trial: dict[str, Any], error: str, tb: str = "", infrastructure: str | None = None) -> dict[str, Any]:
    """The summary of a trial whose worker never returned one (the runner records it)."""
    out = {"id": trial["id"], "status": "failed", "error": error, "traceback": tb, "recorded": False}
    if infrastructure is not None:
        out["infrastructure"] = infrastructure
    return out


@contextlib.contextmanager
def single_thread_env() -> Iterator[None]:
    """Set the BLAS/OpenMP thread variables to 1 while workers start (they inherit the environment)."""
    saved = {k: os.environ.get(k) for k in _THREAD_VARS}
    os.environ.update(dict.fromkeys(_THREAD_VARS, "1"))
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


STOP_FILE = ".stop"
"""A file the runner puts in a running trial's folder to stop it (:meth:`LocalBackend.stop`)."""
STOPPED = "stopped: its sweep was stopped (a pruned tune candidate)"
"""The error of a trial the runner stopped."""
_STOP_POLL_S = 0.5
_STOP_SIGNAL = getattr(signal, "SIGUSR1", None)


class TrialStopped(Exception):
    """Raised in a pool worker's trial once the runner asked it to stop (:data:`STOP_FILE`)."""


def _on_stop_signal(signum: int, frame: Any) -> None:
    raise TrialStopped(STOPPED)


def _init_worker(parent: int) -> None:
    # Ctrl-C reaches the whole process group; only the parent handles it (it stops the workers and
    # records the interrupted trials), so a worker does not die half-way through writing a status.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if _STOP_SIGNAL is not None:
        signal.signal(_STOP_SIGNAL, _on_stop_signal)
    die_with_parent(parent)
    torch.set_num_threads(1)
    threadpool_limits(limits=1)


def _watch_stop_file(path: Path, finished: threading.Event) -> None:
    """Until ``finished``, look for ``path``; once there, raise :class:`TrialStopped` in the main thread."""
    while not finished.wait(_STOP_POLL_S):
        if path.exists():
            if _STOP_SIGNAL is not None and not finished.is_set():
                signal.pthread_kill(threading.main_thread().ident or 0, _STOP_SIGNAL)
            return


def run_stoppable_trial(trial: dict[str, Any], runs_dir: str, sweep_name: str) -> dict[str, Any]:
    """:func:`run_trial` in a pool worker, stopped (recorded failed, :data:`STOPPED`) once its folder holds
    :data:`STOP_FILE`: a thread watches for the file and signals the worker's main thread, where
    training raises :class:`TrialStopped` (the worker lives on for the next trial)."""
    path = Path(runs_dir) / sweep_name / str(trial["id"]) / STOP_FILE
    finished = threading.Event()
    watcher = threading.Thread(target=_watch_stop_file, args=(path, finished), name="rewardlab-stop", daemon=True)
    watcher.start()
    try:
        return run_trial(trial, runs_dir, sweep_name)
    except TrialStopped:  # it arrived after training, while the summary was written
        return _failure(trial, STOPPED)
    finally:
        finished.set()
        watcher.join()


def die_with_parent(parent: int) -> None:
    """End this process as soon as the process ``parent`` (the sweep that started it) is gone.

    On Linux the kernel sends SIGKILL at the parent's death (``PR_SET_PDEATHSIG``); everywhere,
    a daemon thread polls :func:`os.getppid` (an orphan is adopted by another process). A parent
    that died before this ran is caught by the first check.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent:
        os._exit(_ORPHANED)
    threading.Thread(target=watch_parent, args=(parent,), name="rewardlab-watchdog", daemon=True).start()


def watch_parent(parent: int, interval: float = WATCH_INTERVAL_S) -> None:
    """Poll until the parent process ``parent`` is gone, then end this process at once."""
    while os.getppid() == parent:
        time.sleep(interval)
    os._exit(_ORPHANED)


class SerialBackend:
    """Run trials one after another in this process (``workers=1``; the benchmark's baseline)."""

    name = "serial"
    slots = 1

    def __init__(self) -> None:
        self._queue: list[dict[str, Any]] = []

    def submit(self, trial: dict[str, Any]) -> None:
        self._queue.append(trial)

    def wait(self, timeout: float | None = None) -> list[Finished]:
        trial = self._queue[0]
        summary = run_trial(trial, *trial["_where"])
        self._queue.pop(0)
        return [(trial, summary)]

    def stop(self, trial: dict[str, Any]) -> None:
        """Nothing to stop: a trial of this backend has finished before the runner looks again."""

    def in_flight(self) -> list[dict[str, Any]]:
        return list(self._queue)

    def close(self, *, abort: bool = False) -> None:
        self._queue.clear()


class LocalBackend:
    """A pool of ``workers`` spawned processes, one trial each, one torch/BLAS thread per trial.

    Processes are *spawned*, not forked: forking a process that has imported torch can deadlock
    on locks held by its thread pools. A worker that dies (kill -9, out of memory) breaks the
    pool, which stops every other worker too; a fresh pool takes over. The trial of the dead
    worker comes back ``worker died`` (:data:`DIED`) and the others, stopped though healthy, come
    back :data:`INTERRUPTED_BY_OTHER`: the runner resubmits both kinds without counting an attempt.
    Which trial a dead worker ran is read from the trials' ``status.json`` (the pid of their writer).
    """

    name = "local"

    def __init__(self, workers: int) -> None:
        self.slots = workers
        self._futures: dict[cf.Future[dict[str, Any]], dict[str, Any]] = {}
        self._processes: dict[int, Any] = {}  # pid -> multiprocessing.Process of the current pool
        self._pool = self._new_pool()

    def _new_pool(self) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(
            max_workers=self.slots,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(os.getpid(),),
        )

    def submit(self, trial: dict[str, Any]) -> None:
        with single_thread_env():  # workers start on demand, at submit time
            future = self._pool.submit(run_stoppable_trial, trial, *trial["_where"])
        self._futures[future] = trial
        self._processes.update(getattr(self._pool, "_processes", None) or {})

    def stop(self, trial: dict[str, Any]) -> None:
        """Put :data:`STOP_FILE` in the trial's folder: its worker stops it within a second."""
        runs_dir, sweep_name = trial["_where"]
        folder = Path(runs_dir) / sweep_name / str(trial["id"])
        with contextlib.suppress(OSError):  # a full disk: the trial runs to its end
            folder.mkdir(parents=True, exist_ok=True)
            (folder / STOP_FILE).touch()

    def wait(self, timeout: float | None = None) -> list[Finished]:
        done, _ = cf.wait(list(self._futures), timeout=timeout, return_when=cf.FIRST_COMPLETED)
        out: list[Finished] = []
        broken: list[dict[str, Any]] = []
        for future in done:
            trial = self._futures.pop(future)
            try:
                out.append((trial, future.result()))
            except BrokenProcessPool:
                broken.append(trial)
            except Exception as exc:  # e.g. the trial could not be sent to the worker
                out.append((trial, _failure(trial, f"{type(exc).__name__}: {exc}", traceback.format_exc())))
        if broken:
            # The executor fails every future once one worker dies; take the other ones in flight too.
            for future, trial in list(self._futures.items()):
                del self._futures[future]
                try:
                    out.append((trial, future.result(timeout=5)))
                except BaseException:
                    broken.append(trial)
            out += self._after_break(broken)
        return out

    def _reap(self) -> dict[int, int | None]:
        """Wait for every worker of the broken pool to be gone; their exit codes by pid."""
        codes: dict[int, int | None] = {}
        for pid, process in self._processes.items():
            with contextlib.suppress(Exception):
                process.join(timeout=10)
                if process.is_alive():  # the executor terminates them; make sure of it
                    process.kill()
                    process.join(timeout=5)
            code = None
            for _ in range(50):  # the executor's thread may be reaping it at the same time
                code = process.exitcode
                if code is not None:
                    break
                time.sleep(0.02)
            codes[pid] = code
        self._processes.clear()
        return codes

    def _after_break(self, trials: list[dict[str, Any]]) -> list[Finished]:
        """Sort the trials of a broken pool into the one(s) whose worker died and the bystanders."""
        codes = self._reap()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._new_pool()
        terminated = -int(signal.SIGTERM)  # how the executor stops the surviving workers
        dead = {pid: code for pid, code in codes.items() if code is not None and code != terminated}
        pids = {trial["id"]: _writer_pid(trial) for trial in trials}
        pinned = any(pid in dead for pid in pids.values())
        out: list[Finished] = []
        for trial in trials:
            pid = pids[trial["id"]]
            if pid in dead:
                how = _exit_text(dead[pid])
                tb = f"the worker process {pid} {how} while this trial ran (out of memory, or killed)"
                out.append((trial, _failure(trial, "worker died", tb, DIED)))
            elif pinned or (pid is not None and codes.get(pid) == terminated):
                tb = "another worker of the pool died, and the pool stopped this trial's worker with it"
                out.append((trial, _failure(trial, "interrupted: another worker died", tb, INTERRUPTED_BY_OTHER)))
            else:  # no way to tell which trial the dead worker ran: each one may have been it
                out.append((trial, _failure(trial, "worker died", "the worker pool broke while this trial ran", DIED)))
        return out

    def in_flight(self) -> list[dict[str, Any]]:
        return list(self._futures.values())

    def close(self, *, abort: bool = False) -> None:
        if abort:
            # shutdown() waits for running tasks; terminate the workers so Ctrl-C returns at once.
            processes = list((getattr(self._pool, "_processes", None) or {}).values())
            for f in self._futures:
                f.cancel()
            for p in processes:
                with contextlib.suppress(Exception):
                    p.terminate()
            self._pool.shutdown(wait=False, cancel_futures=True)
            for p in processes:
                with contextlib.suppress(Exception):
                    p.join(timeout=5)
        else:
            self._pool.shutdown(wait=True)
        self._futures.clear()
        self._processes.clear()


def _writer_pid(trial: dict[str, Any]) -> int | None:
    """The pid that ``status.json`` of ``trial``'s run directory names (its writer), if any."""
    runs_dir, sweep_name = trial["_where"]
    try:
        pid = read_status(Path(runs_dir) / sweep_name / trial["id"]).get("pid")
    except (OSError, ValueError):
        return None
    return pid if isinstance(pid, int) else None


def _exit_text(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-code).name}"
        return f"was killed by signal {-code}"
    return f"exited with status {code}"


def import_ray() -> Any:
    """Import Ray, or raise :class:`MissingDependencyError` naming the install command."""
    try:
        # deferred: Ray, an optional extra (rewardlab[ray])
        import ray
    except ImportError as exc:
        raise MissingDependencyError(
            'The ray backend needs Ray: pip install "rewardlab[ray]" (or use --backend local).'
        ) from exc
    return ray


_RAY_INFRASTRUCTURE = {
    # A worker process, its node or the objects it held are gone: the trial itself did nothing wrong.
    "WorkerCrashedError": "worker died",
    "NodeDiedError": "node died",
    "LocalRayletDiedError": "node died",
    "OutOfMemoryError": "worker killed by Ray's memory monitor (out of memory)",
    "ObjectLostError": "the trial's result was lost with its node",
    "RaySystemError": "Ray system error",
}


def _ray_infrastructure(exc: BaseException) -> str | None:
    """What ``exc`` says went wrong with Ray's machinery (None: something else failed)."""
    for klass in type(exc).__mro__:
        if klass.__name__ in _RAY_INFRASTRUCTURE:
            return _RAY_INFRASTRUCTURE[klass.__name__]
    return None


def probe_address(address: str, timeout: float | None = None) -> None:
    """Check that something answers at a Ray ``address`` (``host:port``, ``ray://host:port``).

    Ray itself waits for ever on an address where nothing listens; this gives up after
    ``timeout`` seconds (:data:`CONNECT_TIMEOUT_S`). ``auto`` and names without a port are left
    to Ray, which answers them at once.

    Raises:
        ConfigError: nothing accepted a connection at the address (the message names it).
    """
    timeout = CONNECT_TIMEOUT_S if timeout is None else timeout
    target = address.split("://", 1)[-1].rstrip("/")
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit() or not host:
        return
    host = host.strip("[]")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except OSError as exc:
        why = "no answer" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc) or type(exc).__name__)
        raise ConfigError(
            message(
                "address",
                "the address of a running Ray cluster",
                address,
                f"Nothing answered at {host}:{port} within {timeout:g} s ({why}). Start the cluster there "
                "(ray start --head), fix --address, or leave it out to start Ray on this machine.",
            )
        ) from None


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Raise :class:`TimeoutError` in the block after ``seconds`` (main thread, POSIX; else no limit).

    A signal is what interrupts ``ray.init``, which blocks in C++ code retrying a connection.
    """
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise TimeoutError(f"no answer within {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _connect(ray: Any, address: str, kwargs: dict[str, Any]) -> None:
    """``ray.init(address=...)``, or a :class:`ConfigError` naming the address when it cannot join."""
    probe_address(address)
    fix = "Check that the cluster runs there (ray status), fix --address, or leave it out to start Ray here."
    try:
        with _deadline(RAY_INIT_TIMEOUT_S):
            ray.init(address=address, **kwargs)
    except TimeoutError:
        with contextlib.suppress(Exception):
            ray.shutdown()
        raise ConfigError(
            message(
                "address",
                "the address of a running Ray cluster",
                address,
                f"Ray could not join a cluster there within {RAY_INIT_TIMEOUT_S:g} s. {fix}",
            )
        ) from None
    except (ConnectionError, RuntimeError, ValueError) as exc:
        with contextlib.suppress(Exception):
            ray.shutdown()
        lines = str(exc).strip().splitlines()
        raise ConfigError(
            message(
                "address",
                "the address of a running Ray cluster",
                address,
                f"Ray could not connect ({lines[0] if lines else type(exc).__name__}). {fix}",
            )
        ) from None


class RayBackend:
    """Ray core tasks, one CPU each, on the cluster at ``address`` or on a local Ray instance.

    Workers import ``rewardlab``, so on a remote cluster it must be installed on every node (the
    same version, with the same suite envs). A local instance is started with ``workers`` CPUs and
    shut down on :meth:`close`; a cluster we connected to is left running. A task whose worker or
    node died comes back :data:`DIED` (the runner resubmits it, without counting an attempt).

    With ``trial_files="driver"`` (the default) no node needs to see ``runs_dir``: the sweep's
    reward models go to the cluster once (one object, unpacked by each trial), each trial runs
    in a scratch folder on its node (:func:`~rewardlab.sweeps._trial.run_trial_shipped`) and
    its folder comes back with its summary, to be put in place here atomically: a trial whose
    node died leaves nothing but the ``running`` status written here at submission (which the
    runner deletes before resubmitting it). With ``"shared"`` the workers write into
    ``runs_dir`` themselves: it must be a file system every node mounts at the same path.
    """

    name = "ray"

    def __init__(self, workers: int | None, address: str | None, trial_files: str = "driver") -> None:
        ray = import_ray()
        self._ray = ray
        self.trial_files = trial_files
        self._started = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "logging_level": "ERROR"}
            if address:
                _connect(ray, address, kwargs)
            else:
                # Ray sets OMP_NUM_THREADS to a task's num_cpus (1) in its workers by itself.
                ray.init(num_cpus=workers or os.cpu_count() or 1, **kwargs)
                self._started = True
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.slots = max(1, min(workers, cpus) if workers else cpus)
        # No retries by Ray: the runner resubmits a trial whose worker died, after checking that no
        # live process still writes its folder and starting it from a clean one.
        fn = run_trial_shipped if trial_files == "driver" else run_trial
        self._remote = ray.remote(num_cpus=1, max_retries=0)(fn)
        self._refs: dict[Any, dict[str, Any]] = {}
        self._models: dict[tuple[str, str], Any] = {}  # (runs_dir, sweep) -> ref of its reward models

    def submit(self, trial: dict[str, Any]) -> None:
        runs_dir, sweep_name = trial["_where"]
        if self.trial_files != "driver":
            self._refs[self._remote.remote(trial, runs_dir, sweep_name)] = trial
            return
        models = self._models_ref(runs_dir, sweep_name)
        # What `sweep status` shows until the trial's folder comes back (the runner resets it on a retry).
        write_status(
            Path(runs_dir) / sweep_name / trial["id"],
            "running",
            started=time.strftime("%Y-%m-%dT%H:%M:%S"),
            backend="ray",
            trial_files="driver",
        )
        self._refs[self._remote.remote(trial, runs_dir, sweep_name, models)] = trial

    def _models_ref(self, runs_dir: str, sweep_name: str) -> Any:
        """The sweep's reward models as one Ray object (put once), or None when it has none."""
        key = (runs_dir, sweep_name)
        if key not in self._models:
            store = Path(runs_dir) / sweep_name / REWARD_MODELS
            entries = [p for p in store.iterdir() if not p.name.startswith(".")] if store.is_dir() else []
            self._models[key] = self._ray.put(pack_folder(store)) if entries else None
        return self._models[key]

    def _land(self, trial: dict[str, Any], summary: dict[str, Any]) -> dict[str, Any]:
        """Put the trial folder that came back with ``summary`` in place under the driver's ``runs_dir``."""
        files = summary.pop(FILES, None)
        runs_dir, sweep_name = trial["_where"]
        run_dir = Path(runs_dir) / sweep_name / trial["id"]
        if files is None:  # nothing came back: the runner records what the summary says
            if summary.get("status") == "done":
                return _failure(trial, "the trial's files did not come back from its node", "", DIED)
            summary["recorded"] = False
            return summary
        try:
            unpack_trial(files, run_dir)
        except OSError as exc:  # the driver's disk is full: the runner stops the sweep
            summary.pop("node", None)
            summary.update(status="failed", storage=str(storage_error(exc, run_dir)))
            summary.setdefault("error", str(exc) or type(exc).__name__)
        except tarfile.TarError as exc:  # lost on the way: not the trial's fault
            return _failure(trial, f"the trial's files came back unreadable ({exc})", traceback.format_exc(), DIED)
        return summary

    def stop(self, trial: dict[str, Any]) -> None:
        """Cancel the trial's task (its worker is killed; nothing of its folder comes back)."""
        for ref, t in self._refs.items():
            if t is trial:
                with contextlib.suppress(Exception):
                    self._ray.cancel(ref, force=True)

    def wait(self, timeout: float | None = None) -> list[Finished]:
        ray = self._ray
        ready, _ = ray.wait(list(self._refs), num_returns=1, timeout=timeout)
        out: list[Finished] = []
        for ref in ready:
            trial = self._refs.pop(ref)
            try:
                summary = ray.get(ref)
                out.append((trial, self._land(trial, summary) if self.trial_files == "driver" else summary))
            except Exception as exc:  # the worker crashed, or the task could not run
                what = _ray_infrastructure(exc)
                if what is not None:
                    out.append((trial, _failure(trial, what, f"{type(exc).__name__}: {exc}", DIED)))
                else:
                    out.append((trial, _failure(trial, f"{type(exc).__name__}: {exc}", traceback.format_exc())))
        return out

    def in_flight(self) -> list[dict[str, Any]]:
        return list(self._refs.values())

    def close(self, *, abort: bool = False) -> None:
        if abort:
            for ref in self._refs:
                with contextlib.suppress(Exception):
                    self._ray.cancel(ref, force=True)
        self._refs.clear()
        self._models.clear()
        if self._started:
            self._ray.shutdown()
            self._started = False


def check_backend(
    backend: str,
    workers: int | None,
    address: str | None,
    *,
    probe: bool = True,
    trial_files: str | None = None,
) -> None:
    """Validate the backend arguments (and that Ray imports) before anything is written.

    ``trial_files`` (:data:`TRIAL_FILES`, or None for the default) matters to the Ray backend
    only: the local backends run on this machine, where ``runs_dir`` is, and ignore it.

    Raises:
        ConfigError: unknown backend, ``workers`` not a positive integer, ``address`` without Ray,
            an unknown ``trial_files``, or an ``address`` where nothing answers (:func:`probe_address`).
        MissingDependencyError: ``ray`` without Ray installed.
    """
    if backend not in BACKENDS:
        raise ConfigError(message("backend", f"one of {list(BACKENDS)}", backend))
    if trial_files is not None and trial_files not in TRIAL_FILES:
        raise ConfigError(
            message(
                "trial_files",
                f"one of {list(TRIAL_FILES)}",
                trial_files,
                "driver: each trial's folder is sent back to this machine; shared: the workers write "
                "into runs_dir, a file system every node mounts.",
            )
        )
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ConfigError(message("workers", "a positive integer or None (every core)", workers))
    if address is not None and backend != "ray":
        raise ConfigError(message("address", "given only with backend='ray'", address, "Add --backend ray."))
    if backend == "ray":
        import_ray()
        if address and probe:
            probe_address(address)


def make_backend(backend: str, workers: int | None, address: str | None, trial_files: str | None = None) -> Backend:
    """Build the backend called ``backend`` (``local`` or ``ray``); raises as :func:`check_backend`.

    ``trial_files`` None is the Ray backend's default, ``driver``.
    """
    check_backend(backend, workers, address, probe=False, trial_files=trial_files)  # Ray probes the address itself
    if backend == "ray":
        return RayBackend(workers, address, trial_files or "driver")
    n = workers or available_cpus()
    return SerialBackend() if n == 1 else LocalBackend(n)


def available_cpus() -> int:
    """CPUs this process may use (the affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
