"""One trial of a sweep: the function every backend runs in its workers.

Owns :func:`run_trial` (train one trial, record a failure in its run directory, return a plain
summary). The backends import it; the runner (:mod:`rewardlab.sweeps._run`) imports both.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rewardlab.runs import RunDir
from rewardlab.sweeps._spec import Trial
from rewardlab.training import train

__all__ = ["INTERRUPTED", "run_trial"]

INTERRUPTED = "interrupted"
"""The error of a trial stopped by Ctrl-C (always rerun)."""


def run_trial(trial: dict[str, Any], runs_dir: str, sweep_name: str) -> dict[str, Any]:
    """Train one trial and return its summary; never raises for a failing trial.

    Every backend runs this function, so it takes and returns plain dicts. A trial that raises
    is recorded in its ``status.json`` as ``failed`` with the traceback, and its summary says
    so, so the sweep goes on.

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
    try:
        result = train(spec.config(runs_dir, sweep_name))
        summary.update(
            status="done", final_env_return=result.final.env_return, final_proxy_return=result.final.proxy_return
        )
    except Exception as exc:
        error = str(exc) or type(exc).__name__
        summary.update(status="failed", error=error)
        if run.status()["status"] != "failed":  # failed before train() could record it
            run.fail(error)
    summary["seconds"] = round(time.monotonic() - start, 2)
    run.update_status(attempts=attempt, seconds=summary["seconds"])
    return summary
