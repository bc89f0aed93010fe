"""One trial of a sweep: the function every backend runs in its workers.

Owns :func:`run_trial` (train one trial, record a failure in its run directory, return a plain
summary). The backends import it; the runner (:mod:`rewardlab.sweeps._run`) imports both.
"""

from __future__ import annotations

import errno
import time
from pathlib import Path
from typing import Any

from rewardlab.errors import RunBusyError, StorageError
from rewardlab.runs import RunDir, fault, storage_error
from rewardlab.sweeps._spec import Trial
from rewardlab.training import train

__all__ = ["INTERRUPTED", "is_storage_error", "run_trial"]

INTERRUPTED = "interrupted"
"""The error of a trial stopped by Ctrl-C (always rerun)."""

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
        result = train(spec.config(runs_dir, sweep_name))
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
