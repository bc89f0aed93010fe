"""Run directories: :class:`RunDir`, which owns a run's lifecycle, and the atomic file writes under it.

Every writer of a run (``rewardlab train``, ``rewardlab rlhf``, ``rewardlab compare``, a sweep's
trials) goes through :class:`RunDir`: naming (validated), refusing a finished run, the status
(with pid and host while running, the failure record), the resolved config, the metrics log and
the agent's checkpoint (one file name everywhere). Layout of one run (design.md)::

    runs/<group>/<run>/
        config.json       resolved config (env, reward spec, agent preset, seed, versions)
        status.json       {"status": "pending|running|done|failed", "pid", "host", "traceback", ...}
        metrics.jsonl     one JSON object per evaluation (timesteps, proxy/env return, terms)
        agent.zip         the SB3 agent (and vecnormalize.pkl when the preset normalises)
        reward_model/     a reward model trained for the run (HERON, RLHF)
        tb/               TensorBoard logs

Runs written before this layout saved the agent as ``model.zip``; :meth:`RunDir.agent_file` still
finds it.

Also owns the file helpers every layer uses for what it writes: :func:`write_atomic`,
:func:`write_json`, :func:`append_jsonl` / :func:`read_jsonl`, :func:`write_status` /
:func:`read_status`, :func:`save_sb3` (an SB3 ``save`` that never leaves half a file, without
importing SB3), :func:`check_name` (run and group names) and :func:`software_versions` (from
package metadata, without importing the packages).

Layer: the ground floor, beside :mod:`rewardlab.suite`: it imports only :mod:`rewardlab.errors`
and the standard library, never torch, SB3 or scipy (an import-linter contract).
"""

from __future__ import annotations

import io
import json
import os
import platform
import socket
import tempfile
import time
import traceback as tb
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

from rewardlab.errors import ConfigError, message

__all__ = [
    "AGENT",
    "NORMALIZATION",
    "DirPath",
    "GroupName",
    "RunDir",
    "RunName",
    "append_jsonl",
    "check_name",
    "read_jsonl",
    "read_status",
    "save_sb3",
    "software_versions",
    "write_atomic",
    "write_json",
    "write_status",
]


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new file, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: str | Path, obj: Any) -> None:
    write_atomic(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def write_status(run_dir: str | Path, status: str, **extra: Any) -> None:
    write_json(Path(run_dir) / "status.json", {"status": status, **extra})


def read_status(run_dir: str | Path) -> dict[str, Any]:
    path = Path(run_dir) / "status.json"
    if not path.is_file():
        return {"status": "pending"}
    return json.loads(path.read_text(encoding="utf-8"))


def append_jsonl(path: str | Path, row: dict[str, Any]) -> None:
    """Append one JSON line and flush it to disk (a crash loses at most the line being written)."""
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(row, default=float) + "\n")
        f.flush()
        os.fsync(f.fileno())


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Read a JSONL log, skipping a last line cut short by a crash."""
    rows: list[dict[str, Any]] = []
    p = Path(path)
    if not p.is_file():
        return rows
    for line in p.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def software_versions() -> dict[str, str]:
    """The versions a result depends on, saved beside it (config.json, sweep.json).

    Read from the installed distributions' metadata, so nothing heavy is imported to ask.
    """
    return {
        "rewardlab": metadata.version("rewardlab"),
        "python": platform.python_version(),
        "numpy": metadata.version("numpy"),
        "torch": metadata.version("torch"),
        "gymnasium": metadata.version("gymnasium"),
        "stable_baselines3": metadata.version("stable_baselines3"),
    }


AGENT = "agent.zip"
"""The file name of a run's SB3 agent, for every kind of run."""
LEGACY_AGENT = "model.zip"
"""What ``rewardlab train`` called it before :class:`RunDir` (still read)."""
NORMALIZATION = "vecnormalize.pkl"
"""The file name of the agent's ``VecNormalize`` statistics."""


def check_name(param: str, value: Any) -> str:
    """``value`` as a run or group name: one path component, not ``.``/``..``, no separators.

    Raises:
        ConfigError: anything else (the message names ``param`` and the value).
    """
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(message(param, "a non-empty name", value, "Pass a name such as 'baseline'."))
    if value in (".", "..") or "/" in value or "\\" in value or os.sep in value or "\0" in value:
        raise ConfigError(
            message(param, "a single folder name (no '/', no '..')", value, "Use letters, digits, '-', '_' and '.'.")
        )
    return value


def _check_optional_name(param: str) -> AfterValidator:
    def check(value: str | None) -> str | None:
        if value is not None:
            check_name(param, value)
        return value

    return AfterValidator(check)


RunName = Annotated[str | None, _check_optional_name("run_name")]
"""A config field holding a run name (None: one is made up), checked by :func:`check_name`."""
GroupName = Annotated[str, _check_optional_name("group")]
"""A config field holding a group name (the folder of related runs), checked by :func:`check_name`."""
DirPath = Annotated[str, BeforeValidator(lambda v: os.fspath(v) if isinstance(v, os.PathLike) else v)]
"""A config field holding a directory, stored as a string (a :class:`~pathlib.Path` is accepted)."""


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


@dataclass(frozen=True)
class RunDir:
    """One run's directory and its lifecycle (the layout is in the module docstring).

    Example:
        >>> import tempfile
        >>> run = RunDir.create(tempfile.mkdtemp(), "demo", "first")
        >>> run.start(); run.status()["status"], "pid" in run.status()
        ('running', True)
        >>> run.finish(final_env_return=1.0); run.is_done()
        True
    """

    path: Path
    """The directory."""

    @classmethod
    def create(cls, root: str | Path, group: str, name: str | None, parts: Sequence[str] = ()) -> RunDir:
        """The run ``root/group/name``, created; with ``name=None``, ``<parts>__<time>`` made unique.

        Raises:
            ConfigError: ``group`` or ``name`` is not a single folder name.
        """
        group = check_name("group", group)
        if name is not None:
            path = Path(root) / group / check_name("run_name", name)
        else:
            base = Path(root) / group / check_name("run_name", "__".join([*parts, time.strftime("%Y%m%d-%H%M%S")]))
            path, k = base, 1
            while path.exists():  # two runs started in the same second
                k += 1
                path = base.with_name(f"{base.name}-{k}")
        path.mkdir(parents=True, exist_ok=True)
        return cls(path)

    # --- files ---------------------------------------------------------------------------------------

    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def agent_path(self) -> Path:
        """Where the agent is written (:data:`AGENT`)."""
        return self.path / AGENT

    @property
    def normalization_path(self) -> Path:
        return self.path / NORMALIZATION

    @property
    def reward_model_path(self) -> Path:
        return self.path / "reward_model"

    @property
    def tensorboard_dir(self) -> Path:
        return self.path / "tb"

    def agent_file(self) -> Path | None:
        """The saved agent: :data:`AGENT`, or a run's older ``model.zip``; None when there is none."""
        for name in (AGENT, LEGACY_AGENT):
            if (self.path / name).is_file():
                return self.path / name
        return None

    # --- status --------------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """The run's ``status.json`` (``{"status": "pending"}`` before it has one)."""
        return read_status(self.path)

    def is_done(self) -> bool:
        return self.status().get("status") == "done"

    def refuse_done(self, param: str = "run_name") -> None:
        """Raise when the run finished already (a rerun would overwrite its results).

        Raises:
            ConfigError: naming ``param`` and the run directory.
        """
        if self.is_done():
            raise ConfigError(
                message(param, "a run that is not finished yet", str(self.path), "Pick another name or delete it.")
            )

    def start(self, **extra: Any) -> None:
        """Mark the run ``running`` by this process (pid and host, so a dead run can be told apart)."""
        write_status(self.path, "running", pid=os.getpid(), host=socket.gethostname(), started=_now(), **extra)

    def update_status(self, **extra: Any) -> None:
        """Add or replace fields of ``status.json``, keeping its status."""
        status = self.status()
        write_status(self.path, status.pop("status"), **{**status, **extra})

    def finish(self, **extra: Any) -> None:
        """Mark the run ``done``, with its summary fields (final returns, ...)."""
        write_status(self.path, "done", finished=_now(), **extra)

    def fail(
        self, error: BaseException | str, *, traceback: str | None = None, keep: bool = False, **extra: Any
    ) -> None:
        """Record a failure: ``failed`` with the error and a traceback (by default the current one).

        Args:
            error: the exception (``KeyboardInterrupt`` is recorded as ``interrupted``) or a message.
            traceback: the traceback text to record instead of the current exception's.
            keep: keep the other fields of the current status (attempts, ...).
            **extra: more fields.
        """
        if isinstance(error, KeyboardInterrupt):
            reason = "interrupted"
        else:
            reason = (str(error) or type(error).__name__) if isinstance(error, BaseException) else error
        fields = {k: v for k, v in self.status().items() if k != "status"} if keep else {}
        fields.update(error=reason, traceback=tb.format_exc() if traceback is None else traceback, **extra)
        write_status(self.path, "failed", **fields)

    # --- config and metrics --------------------------------------------------------------------------

    def write_config(self, config: dict[str, Any]) -> None:
        """Save the resolved config (``config.json``)."""
        write_json(self.config_path, config)

    def read_config(self) -> dict[str, Any]:
        """The saved ``config.json`` (``{}`` when there is none or it is unreadable)."""
        try:
            return dict(json.loads(self.config_path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return {}

    def append_metrics(self, row: dict[str, Any]) -> None:
        append_jsonl(self.metrics_path, row)

    def metrics(self) -> list[dict[str, Any]]:
        return read_jsonl(self.metrics_path)

    def clear_metrics(self) -> None:
        self.metrics_path.unlink(missing_ok=True)

    # --- the agent -----------------------------------------------------------------------------------

    def save_agent(
        self, agent: Any, normalization: Any = None, *, into: Path | None = None, **save_kwargs: Any
    ) -> None:
        """Write the agent (:data:`AGENT`) and its ``VecNormalize`` (:data:`NORMALIZATION`) atomically.

        Args:
            agent: the SB3 model.
            normalization: its ``VecNormalize`` wrapper, or None.
            into: another folder (a checkpoint being staged) instead of the run directory.
            **save_kwargs: passed to the model's ``save`` (e.g. ``exclude``).
        """
        folder = into or self.path
        buffer = io.BytesIO()
        agent.save(buffer, **save_kwargs)
        write_atomic(folder / AGENT, buffer.getvalue())
        if normalization is not None:
            save_sb3(normalization.save, folder / NORMALIZATION)


def save_sb3(save: Any, path: Path) -> None:
    """Run an SB3 ``save(path)`` that writes in place, so that a kill never leaves half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    save(str(tmp))
    written = tmp if tmp.exists() else Path(str(tmp) + ".zip")  # SB3 appends .zip to names without it
    os.replace(written, path)
