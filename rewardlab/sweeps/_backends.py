"""Where trials run: in this process, in a local process pool, or as Ray tasks.

Every backend runs the same top-level function, :func:`rewardlab.sweeps._trial.run_trial`, on a
plain trial dict and hands back its summary dict, so a result does not depend on the backend.
The runner (:func:`rewardlab.sweeps.run_sweep`) keeps at most :attr:`Backend.slots` trials in
flight: every submitted trial is then really running, which is what lets a dead worker or a
Ctrl-C be pinned on the trials it interrupted.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import os
import signal
import traceback
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

import torch
from threadpoolctl import threadpool_limits

from rewardlab.errors import ConfigError, MissingDependencyError, message
from rewardlab.sweeps._trial import run_trial

__all__ = ["BACKENDS", "Backend", "LocalBackend", "RayBackend", "SerialBackend", "check_backend", "make_backend"]

BACKENDS = ("local", "ray")
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

    def wait(self) -> list[Finished]:
        """Block until at least one trial has finished; return the finished ones."""

    def in_flight(self) -> list[dict[str, Any]]:
        """The trials submitted and not yet returned by :meth:`wait`."""

    def close(self, *, abort: bool = False) -> None:
        """Release the workers; with ``abort`` stop the running trials first."""


def _failure(trial: dict[str, Any], error: str, tb: str = "") -> dict[str, Any]:
    """The summary of a trial whose worker never returned one (the runner records it)."""
    return {"id": trial["id"], "status": "failed", "error": error, "traceback": tb, "recorded": False}


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


def _init_worker() -> None:
    # Ctrl-C reaches the whole process group; only the parent handles it (it stops the workers and
    # records the interrupted trials), so a worker does not die half-way through writing a status.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(1)
    threadpool_limits(limits=1)


class SerialBackend:
    """Run trials one after another in this process (``workers=1``; the benchmark's baseline)."""

    name = "serial"
    slots = 1

    def __init__(self) -> None:
        self._queue: list[dict[str, Any]] = []

    def submit(self, trial: dict[str, Any]) -> None:
        self._queue.append(trial)

    def wait(self) -> list[Finished]:
        trial = self._queue[0]
        summary = run_trial(trial, *trial["_where"])
        self._queue.pop(0)
        return [(trial, summary)]

    def in_flight(self) -> list[dict[str, Any]]:
        return list(self._queue)

    def close(self, *, abort: bool = False) -> None:
        self._queue.clear()


class LocalBackend:
    """A pool of ``workers`` spawned processes, one trial each, one torch/BLAS thread per trial.

    Processes are *spawned*, not forked: forking a process that has imported torch can deadlock
    on locks held by its thread pools. A worker that dies (kill -9, out of memory) breaks the
    pool; its trials in flight come back failed (``worker died``) and a fresh pool takes over.
    """

    name = "local"

    def __init__(self, workers: int) -> None:
        self.slots = workers
        self._futures: dict[cf.Future[dict[str, Any]], dict[str, Any]] = {}
        self._pool = self._new_pool()

    def _new_pool(self) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(
            max_workers=self.slots, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker
        )

    def submit(self, trial: dict[str, Any]) -> None:
        with single_thread_env():  # workers start on demand, at submit time
            future = self._pool.submit(run_trial, trial, *trial["_where"])
        self._futures[future] = trial

    def wait(self) -> list[Finished]:
        done, _ = cf.wait(list(self._futures), return_when=cf.FIRST_COMPLETED)
        out: list[Finished] = []
        broken = False
        for future in done:
            trial = self._futures.pop(future)
            try:
                out.append((trial, future.result()))
            except BrokenProcessPool:
                broken = True
                out.append((trial, _failure(trial, "worker died", "the worker process exited without a result")))
            except Exception as exc:  # e.g. the trial could not be sent to the worker
                out.append((trial, _failure(trial, f"{type(exc).__name__}: {exc}", traceback.format_exc())))
        if broken:
            # The executor fails every future once one worker dies; take the other ones in flight too.
            for future, trial in list(self._futures.items()):
                del self._futures[future]
                try:
                    out.append((trial, future.result(timeout=5)))
                except BaseException:
                    out.append((trial, _failure(trial, "worker died", "the worker pool broke while this trial ran")))
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
        return out

    def in_flight(self) -> list[dict[str, Any]]:
        return list(self._futures.values())

    def close(self, *, abort: bool = False) -> None:
        if abort:
            # shutdown() waits for running tasks; terminate the workers so Ctrl-C returns at once.
            processes = list(getattr(self._pool, "_processes", {}).values())
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


class RayBackend:
    """Ray core tasks, one CPU each, on the cluster at ``address`` or on a local Ray instance.

    Workers import ``rewardlab``, so on a remote cluster it must be installed on every node (the
    same version, with the same suite envs). A local instance is started with ``workers`` CPUs and
    shut down on :meth:`close`; a cluster we connected to is left running.
    """

    name = "ray"

    def __init__(self, workers: int | None, address: str | None) -> None:
        ray = import_ray()
        self._ray = ray
        self._started = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "logging_level": "ERROR"}
            if address:
                ray.init(address=address, **kwargs)
            else:
                # Ray sets OMP_NUM_THREADS to a task's num_cpus (1) in its workers by itself.
                ray.init(num_cpus=workers or os.cpu_count() or 1, **kwargs)
                self._started = True
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.slots = max(1, min(workers, cpus) if workers else cpus)
        self._remote = ray.remote(num_cpus=1, max_retries=0)(run_trial)
        self._refs: dict[Any, dict[str, Any]] = {}

    def submit(self, trial: dict[str, Any]) -> None:
        self._refs[self._remote.remote(trial, *trial["_where"])] = trial

    def wait(self) -> list[Finished]:
        ray = self._ray
        ready, _ = ray.wait(list(self._refs), num_returns=1)
        out: list[Finished] = []
        for ref in ready:
            trial = self._refs.pop(ref)
            try:
                out.append((trial, ray.get(ref)))
            except Exception as exc:  # the worker crashed, or the task could not run
                error = "worker died" if "WorkerCrashed" in type(exc).__name__ else f"{type(exc).__name__}: {exc}"
                out.append((trial, _failure(trial, error, traceback.format_exc())))
        return out

    def in_flight(self) -> list[dict[str, Any]]:
        return list(self._refs.values())

    def close(self, *, abort: bool = False) -> None:
        if abort:
            for ref in self._refs:
                with contextlib.suppress(Exception):
                    self._ray.cancel(ref, force=True)
        self._refs.clear()
        if self._started:
            self._ray.shutdown()
            self._started = False


def check_backend(backend: str, workers: int | None, address: str | None) -> None:
    """Validate the backend arguments (and that Ray imports) before anything is written.

    Raises:
        ConfigError: unknown backend, ``workers`` not a positive integer, ``address`` without Ray.
        MissingDependencyError: ``ray`` without Ray installed.
    """
    if backend not in BACKENDS:
        raise ConfigError(message("backend", f"one of {list(BACKENDS)}", backend))
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ConfigError(message("workers", "a positive integer or None (every core)", workers))
    if address is not None and backend != "ray":
        raise ConfigError(message("address", "given only with backend='ray'", address, "Add --backend ray."))
    if backend == "ray":
        import_ray()


def make_backend(backend: str, workers: int | None, address: str | None) -> Backend:
    """Build the backend called ``backend`` (``local`` or ``ray``); raises as :func:`check_backend`."""
    check_backend(backend, workers, address)
    if backend == "ray":
        return RayBackend(workers, address)
    n = workers or available_cpus()
    return SerialBackend() if n == 1 else LocalBackend(n)


def available_cpus() -> int:
    """CPUs this process may use (the affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
