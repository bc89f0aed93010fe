"""One trial of a sweep: the function every backend runs in its workers.

Owns :func:`run_trial` (train one trial, or run the online RLHF loop of an ``rlhf`` variant;
record a failure in its run directory, return a plain summary) and :func:`run_trial_shipped`,
its form for a node that may not see the driver's ``runs_dir``: the trial runs in a node-local
scratch folder and its files travel back with the summary, as one archive that
:func:`unpack_trial` puts in place on the driver (atomically). The backends import it; the
runner (:mod:`rewardlab.sweeps._run`) imports both.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import shutil
import socket
import tarfile
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from rewardlab.errors import RunBusyError, StorageError
from rewardlab.preferences import RLHFConfig, run_rlhf
from rewardlab.runs import RunDir, fault, storage_error, write_json
from rewardlab.sweeps._spec import REWARD_MODELS, Trial
from rewardlab.training import train

try:  # POSIX: the lock that tells a live trial's scratch folder from one its dead worker left
    import fcntl
except ImportError:  # pragma: no cover - Windows: scratch folders of killed workers stay behind
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "FILES",
    "INTERRUPTED",
    "SCRATCH_PREFIX",
    "is_storage_error",
    "pack_folder",
    "run_trial",
    "run_trial_shipped",
    "unpack_folder",
    "unpack_trial",
]

INTERRUPTED = "interrupted"
"""The error of a trial stopped by Ctrl-C (always rerun)."""
FILES = "files"
"""The summary key of :func:`run_trial_shipped` holding the trial folder (a tar.gz archive, bytes)."""
SCRATCH_PREFIX = "rewardlab-trial-"
"""The name prefix of the node-local scratch folders, in the worker's temporary directory."""
_SCRATCH_LOCK = ".scratch.lock"

_STORAGE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)


def is_storage_error(exc: BaseException) -> bool:
    """True for a full disk, a quota or a read-only file system: the sweep cannot go on writing."""
    if isinstance(exc, StorageError):
        return True
    return isinstance(exc, OSError) and exc.errno in _STORAGE_ERRNOS


def run_trial(trial: dict[str, Any], runs_dir: str, sweep_name: str) -> dict[str, Any]:
    """Train one trial and return its summary; never raises for a failing trial.

    Every backend runs this function, so it takes and returns plain dicts. A trial that raises
    is recorded in its ``status.json`` as ``failed`` with the traceback, and its summary says
    so, so the sweep goes on. Two failures are not the trial's: a full disk (the summary's
    ``"storage"`` holds the :class:`~rewardlab.errors.StorageError` message, and the runner
    stops the sweep) and another live process writing the run directory (``"busy"``: the folder
    is left as it is, since it is not ours to write).

    Args:
        trial: a dict from :meth:`Trial.to_dict`, plus ``attempt`` (1 for the first try).
        runs_dir: root of the run directories.
        sweep_name: the sweep, i.e. the run directories' group.

    Returns:
        ``{"id", "status": "done"|"failed", "seconds", "attempts", "final_env_return",
        "final_proxy_return"}`` or, when failed, ``"error"`` instead of the returns.
    """
    start = time.monotonic()
    attempt = int(trial.get("attempt", 1))
    spec = Trial.from_dict({k: v for k, v in trial.items() if not k.startswith("_") and k != "attempt"})
    run = RunDir(Path(runs_dir) / sweep_name / spec.id)
    summary: dict[str, Any] = {"id": spec.id, "attempts": attempt}
    fault("sweep:trial")
    try:
        config = spec.config(runs_dir, sweep_name)
        result = run_rlhf(config) if isinstance(config, RLHFConfig) else train(config)
        summary.update(
            status="done", final_env_return=result.final.env_return, final_proxy_return=result.final.proxy_return
        )
    except RunBusyError as exc:  # another live process writes the folder: touch nothing in it
        summary.update(status="failed", error=str(exc), busy=True, recorded=True)
        summary["seconds"] = round(time.monotonic() - start, 2)
        return summary
    except Exception as exc:
        error = str(exc) or type(exc).__name__
        summary.update(status="failed", error=error)
        if isinstance(exc, OSError) and is_storage_error(exc):
            summary["storage"] = str(storage_error(exc, run.path))
        try:
            if run.status().get("status") != "failed":  # failed before train() could record it
                run.fail(error)
        except OSError as write_error:  # the disk is full: even the record failed
            summary.setdefault("storage", str(storage_error(write_error, run.path)))
    summary["seconds"] = round(time.monotonic() - start, 2)
    try:
        run.update_status(attempts=attempt, seconds=summary["seconds"])
    except OSError as write_error:
        summary.setdefault("storage", str(storage_error(write_error, run.path)))
    return summary


# --- trials whose files travel back to the driver ---------------------------------------------------


def pack_folder(folder: str | Path) -> bytes:
    """The files under ``folder`` as a gzip-compressed tar archive (names relative to ``folder``)."""
    folder = Path(folder)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
        for child in sorted(folder.iterdir()):
            tar.add(child, arcname=child.name)
    return buffer.getvalue()


def unpack_folder(data: bytes, dest: str | Path) -> None:
    """Extract an archive of :func:`pack_folder` into ``dest`` (created).

    Only plain files and folders inside ``dest`` are written (the ``data`` filter of
    :mod:`tarfile`): an archive naming an absolute path, ``..``, a link or a device is refused.

    Raises:
        tarfile.TarError: a corrupt archive, or one with a member that is refused.
        OSError: the files could not be written.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
        members = tar.getmembers()
        for member in members:
            name = Path(member.name)
            if name.is_absolute() or ".." in name.parts or not (member.isfile() or member.isdir()):
                raise tarfile.TarError(f"refused archive member {member.name!r} (outside the folder, or not a file)")
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, members=members, filter="data")
        else:  # pragma: no cover - Python before 3.10.12 / 3.11.4: the members were checked above
            tar.extractall(dest, members=members)


def unpack_trial(data: bytes, run_dir: str | Path) -> None:
    """Put the trial folder archived in ``data`` at ``run_dir``, replacing what is there, atomically.

    The archive is extracted into a hidden folder beside ``run_dir`` and renamed into place, so a
    reader (or a kill) sees the old folder or the whole new one, never half of one: a kill between
    the two renames leaves no folder, which a rerun redoes. Leftovers of an earlier kill are removed.

    Raises:
        OSError: the disk is full or not writable (nothing is left half-written).
        tarfile.TarError: a corrupt archive.
    """
    run_dir = Path(run_dir)
    parent = run_dir.parent
    parent.mkdir(parents=True, exist_ok=True)
    for stray in parent.glob(f".{run_dir.name}.*.incoming"):
        shutil.rmtree(stray, ignore_errors=True)
    for stray in parent.glob(f".{run_dir.name}.*.old"):
        shutil.rmtree(stray, ignore_errors=True)
    tag = uuid.uuid4().hex[:8]
    incoming = parent / f".{run_dir.name}.{tag}.incoming"
    try:
        unpack_folder(data, incoming)
        fault("sweep:unpack")
        if run_dir.exists():
            old = parent / f".{run_dir.name}.{tag}.old"
            os.rename(run_dir, old)
            os.rename(incoming, run_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(incoming, run_dir)
    finally:
        if incoming.exists():
            shutil.rmtree(incoming, ignore_errors=True)


def _remove_dead_scratch(root: Path) -> None:
    """Delete the scratch folders under ``root`` whose worker is gone (killed, or its task cancelled).

    A live trial holds an ``flock`` on its folder's lock file; the kernel drops it when the worker
    dies, whatever killed it, and in whatever PID namespace it ran (nodes on one machine).
    """
    if fcntl is None:
        return
    with contextlib.suppress(OSError):
        for folder in root.glob(f"{SCRATCH_PREFIX}*"):
            try:
                fd = os.open(folder / _SCRATCH_LOCK, os.O_RDONLY)
            except OSError:
                continue  # not one of ours
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # a live trial
            finally:
                os.close(fd)
            shutil.rmtree(folder, ignore_errors=True)


def _point_config_at(run_dir: Path, scratch: Path, runs_dir: str, sweep_name: str) -> None:
    """Make ``config.json`` name the driver's folders, as a trial run there would have written it."""
    path = run_dir / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if not isinstance(config, dict):
        return
    if config.get("runs_dir") == str(scratch):
        config["runs_dir"] = runs_dir
    if config.get("reward_models") == str(scratch / sweep_name / REWARD_MODELS):
        config["reward_models"] = str(Path(runs_dir) / sweep_name / REWARD_MODELS)
    write_json(path, config)


def _node(root: Path) -> dict[str, Any]:
    """Where a trial that found its node's disk full ran: ``node`` (host), ``node_tmp``, ``node_free`` (bytes)."""
    out: dict[str, Any] = {"node": socket.gethostname(), "node_tmp": str(root), "node_free": None}
    with contextlib.suppress(OSError):
        out["node_free"] = shutil.disk_usage(root).free
    return out


def run_trial_shipped(trial: dict[str, Any], runs_dir: str, sweep_name: str, models: bytes | None) -> dict[str, Any]:
    """:func:`run_trial` in a node-local scratch folder; the trial folder comes back in the summary.

    For a worker that may not see ``runs_dir`` (a cluster node without the driver's file system):
    the sweep's reward models (``models``, an archive of ``<sweep>/reward_models`` or None) are
    unpacked into the scratch folder, the trial runs there, its ``config.json`` is pointed back
    at ``runs_dir``, and its whole folder returns as ``summary[FILES]`` (:func:`pack_folder`), which
    the driver puts in place with :func:`unpack_trial`. The scratch folder is removed on return; one
    whose worker was killed is removed by the next trial on that node.

    Args:
        trial: as for :func:`run_trial`.
        runs_dir: the driver's root of the run directories (named in ``config.json``, never written).
        sweep_name: the sweep.
        models: the reward-model store archived by :func:`pack_folder`, or None.
    """
    root = Path(tempfile.gettempdir())
    _remove_dead_scratch(root)
    # Made under a hidden name and locked before it gets the name the clean-up looks for.
    making = Path(tempfile.mkdtemp(prefix=f".{SCRATCH_PREFIX}", dir=root))
    lock = os.open(making / _SCRATCH_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    scratch = making
    try:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        scratch = making.with_name(making.name[1:])
        os.rename(making, scratch)
        try:
            if models is not None:
                unpack_folder(models, scratch / sweep_name / REWARD_MODELS)
        except OSError as exc:  # the node's disk is full: nothing of the trial ran
            summary = {
                "id": trial["id"],
                "status": "failed",
                "error": str(exc) or type(exc).__name__,
                "attempts": int(trial.get("attempt", 1)),
                "storage": str(storage_error(exc, scratch)),
                "recorded": False,
            }
            return {**summary, **_node(root)}
        summary = run_trial(trial, str(scratch), sweep_name)
        if summary.get("storage"):  # the node's disk, not the driver's: say which
            summary.update(_node(root))
        run_dir = scratch / sweep_name / str(trial["id"])
        if run_dir.is_dir():
            _point_config_at(run_dir, scratch, runs_dir, sweep_name)
            summary[FILES] = pack_folder(run_dir)
        return summary
    finally:
        os.close(lock)
        shutil.rmtree(scratch, ignore_errors=True)
