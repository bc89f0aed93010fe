"""Run directories: :class:`RunDir`, which owns a run's lifecycle, and the atomic file writes under it.

Every writer of a run (``rewardlab train``, ``rewardlab rlhf``, ``rewardlab compare``, a sweep's
trials) goes through :class:`RunDir`: naming (validated), refusing a finished run, the status
(with pid and host while running, the failure record), the resolved config, the metrics log and
the agent's checkpoint (one file name everywhere). Layout of one run (design.md)::

    runs/<group>/<run>/
        config.json       resolved config (env, reward spec, agent preset, seed, versions)
        status.json       {"status": "pending|running|done|failed", "pid", "host", "traceback", ...}
        metrics.jsonl     one JSON object per evaluation (timesteps, proxy/env return, terms)
        agent.zip         the SB3 agent (its tensors are what rewardlab loads back)
        vecnormalize.json its VecNormalize statistics, when the preset normalises
        replay_buffer.npz an off-policy agent's replay buffer, when asked (train --save-replay-buffer)
        checkpoint.json   what the last checkpoint holds (timesteps), written after its files
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

import contextlib
import errno
import io
import json
import os
import platform
import shutil
import socket
import tempfile
import time
import traceback as tb
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

from rewardlab.errors import ConfigError, RunBusyError, StorageError, message

try:  # POSIX: an advisory lock that the kernel releases when its process dies (kill -9 included)
    import fcntl
except ImportError:  # pragma: no cover - Windows: the pid in status.json is all there is
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "AGENT",
    "FAULT_VAR",
    "NORMALIZATION",
    "REPLAY_BUFFER",
    "STORAGE_ERRNOS",
    "DirPath",
    "GroupName",
    "RunDir",
    "RunName",
    "append_jsonl",
    "check_name",
    "fault",
    "read_jsonl",
    "read_status",
    "save_sb3",
    "software_versions",
    "storage_error",
    "write_atomic",
    "write_json",
    "write_status",
]


FAULT_VAR = "REWARDLAB_FAULT"
"""The environment variable naming the fault points where :func:`fault` strikes (tests set it)."""
HOLD_S = 120.0
"""Seconds a ``hold`` fault blocks its process (:func:`fault`)."""
_fault_hits: dict[str, int] = {}


def fault(point: str) -> None:
    """A named point where a test injects a fault, instead of racing a timer to hit it.

    ``REWARDLAB_FAULT`` holds comma-separated ``point[#n][=action]`` items: at the ``n``-th time
    (default: the first) this process reaches ``point``, ``kill`` (the default) ends the process at
    once, as kill -9 would (no cleanup, no flush: ``os._exit(137)``), and ``enospc`` raises the
    ``OSError`` of a full disk, and ``hold`` blocks the process there for :data:`HOLD_S` seconds (a
    run caught mid-work, for a test that stops it; a signal handler that raises ends the wait).
    Unset (every normal run), this is one dictionary lookup.

    The points are named where they are called: ``replace:<file name>`` (after writing a file,
    before renaming it into place), ``rlhf:<step>``, ``train:<step>``, ``sweep:<step>``, ``tune:<step>``,
    ``serve:label`` (a label fsynced), ``human:event`` (the RLHF loop saw a person's label),
    ``train:evaluated:<run name>`` (one named run has written an evaluation).
    """
    spec = os.environ.get(FAULT_VAR)
    if not spec:
        return
    for item in spec.split(","):
        target, _, action = item.strip().partition("=")
        name, _, nth = target.partition("#")
        if name != point:
            continue
        hits = _fault_hits[point] = _fault_hits.get(point, 0) + 1
        if hits != int(nth or 1):
            continue
        if action == "enospc":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), point)
        if action == "hold":
            time.sleep(HOLD_S)
            return
        os._exit(137)


def _umask() -> int:
    """The process's umask, read without changing it where the OS shows it (Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: read it by setting it, and put it back at once
    os.umask(mask)
    return mask


TMP_SUFFIX = ".tmp"
"""The suffix of the temporary files :func:`write_atomic` renames into place (``.<name>.<random>.tmp``)."""


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new file, never half of one.

    The file gets the permissions of a normal write (``0o666`` less the umask), not ``mkstemp``'s
    owner-only ones. A kill before the rename leaves the old file and a ``.<name>.*.tmp`` file,
    which :meth:`RunDir.start` removes.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TMP_SUFFIX)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        fault(f"replace:{path.name}")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0


STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR})
"""The ``OSError`` numbers that mean "this folder cannot take the write" (:func:`storage_error` words them)."""


def storage_error(exc: OSError, path: str | Path, param: str = "runs_dir") -> StorageError:
    """The one clear error for a failed write under ``path``: full disk, permission, or not a folder.

    Names the path, and the space needed (the size of what is already there, which a checkpoint
    rewrites) or the permission. A :class:`StorageError` or an unrelated ``OSError`` is returned
    as a :class:`StorageError` with its own words.
    """
    if isinstance(exc, StorageError):
        return exc
    path = Path(path)
    where = str(exc.filename) if exc.filename else str(path)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        free = ""
        with contextlib.suppress(OSError):
            free = f" ({shutil.disk_usage(_existing(path)).free / 1e6:.0f} MB free)"
        need = _size(path)
        amount = f"at least {need / 1e6:.1f} MB (what a checkpoint of this run rewrites)" if need else "some space"
        return StorageError(
            message(
                param,
                "on a disk with free space",
                where,
                f"The disk is full{free}: free {amount}; what was saved before is kept, so rerun the same "
                "command to continue.",
            )
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return StorageError(
            message(param, "a folder you can write to", where, "Permission denied: pick another folder or fix it.")
        )
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return StorageError(
            message(param, "a folder", where, "A file is in the way of a folder: move it or pick another path.")
        )
    return StorageError(message(param, "a writable folder", where, f"Writing failed: {exc.strerror or exc}."))


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


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
NORMALIZATION = "vecnormalize.json"
"""The file name of the agent's ``VecNormalize`` statistics (JSON: loading it runs no code)."""
REPLAY_BUFFER = "replay_buffer.npz"
"""The file name of an off-policy agent's replay buffer (plain arrays, no pickle)."""


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


WRITER_LOCK = ".writer.lock"
"""The file a run's writer holds an exclusive ``flock`` on (it names the writer: pid, host, start)."""
_HELD: dict[Path, int] = {}
"""The run directories this process writes: resolved path -> the descriptor holding the lock."""


def _read_holder(fd: int) -> dict[str, Any]:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return dict(json.loads(os.read(fd, 4096).decode("utf-8") or "{}"))
    except (OSError, ValueError):
        return {}


def _remove_stray_temporaries(folder: Path) -> None:
    """Delete what a killed :func:`write_atomic` or :func:`save_sb3` left (the old files are intact)."""
    for tmp in [*folder.rglob(f".*{TMP_SUFFIX}"), *folder.rglob(f".*{TMP_SUFFIX}.zip")]:
        if tmp.is_file():
            tmp.unlink(missing_ok=True)


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

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

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
    def replay_buffer_path(self) -> Path:
        return self.path / REPLAY_BUFFER

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

    # --- the one writer -----------------------------------------------------------------------------

    def lock(self, param: str = "run_name") -> None:
        """Become the run's only writer (idempotent), then remove temporaries a killed writer left.

        The lock is an ``flock`` on :data:`WRITER_LOCK`: the kernel drops it when the process
        dies, kill -9 included, so a dead run never blocks a rerun, and a live one always does.

        Raises:
            RunBusyError: another live process writes the run (the message names its pid and host).
        """
        key = self.path.resolve()
        if key in _HELD:
            return
        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path / WRITER_LOCK, os.O_RDWR | os.O_CREAT, 0o666 & ~_umask())
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = _read_holder(fd)
                os.close(fd)
                raise RunBusyError(
                    message(
                        param,
                        "a run directory that no other live process writes",
                        str(self.path),
                        f"Process {holder.get('pid', '?')} on {holder.get('host', '?')} has been writing it since "
                        f"{holder.get('started', '?')}: wait for it to end, stop it, or pick another name.",
                    )
                ) from None
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": _now()}).encode())
        _HELD[key] = fd
        _remove_stray_temporaries(self.path)

    def unlock(self) -> None:
        """Stop being the run's writer (closing the descriptor drops the lock)."""
        fd = _HELD.pop(self.path.resolve(), None)
        if fd is not None:
            os.close(fd)

    def writer(self) -> dict[str, Any] | None:
        """The live process writing the run (``{"pid", "host", "started"}``), or None when none does."""
        key = self.path.resolve()
        if key in _HELD:
            return _read_holder(_HELD[key])
        try:
            fd = os.open(self.path / WRITER_LOCK, os.O_RDONLY)
        except OSError:
            return None
        try:
            if fcntl is None:
                return None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return _read_holder(fd) or {"pid": None, "host": None}
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)

    def start(self, **extra: Any) -> None:
        """Take the writer lock (:meth:`lock`) and mark the run ``running`` by this process.

        Raises:
            RunBusyError: another live process writes the run.
        """
        self.lock()
        write_status(self.path, "running", pid=os.getpid(), host=socket.gethostname(), started=_now(), **extra)

    def update_status(self, **extra: Any) -> None:
        """Add or replace fields of ``status.json``, keeping its status."""
        status = self.status()
        write_status(self.path, status.pop("status"), **{**status, **extra})

    def finish(self, **extra: Any) -> None:
        """Mark the run ``done``, with its summary fields (final returns, ...), and release the lock."""
        write_status(self.path, "done", finished=_now(), **extra)
        self.unlock()

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
        try:
            write_status(self.path, "failed", **fields)
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise  # a full disk is what the caller is reporting already: the status stays as it was
        finally:
            self.unlock()

    @contextlib.contextmanager
    def recording_failures(self, param: str = "runs_dir") -> Iterator[None]:
        """Record an exception that leaves the block as the run's failure, then raise it again.

        A full disk or a lost permission (:data:`STORAGE_ERRNOS`) becomes one
        :class:`~rewardlab.errors.StorageError` naming the path and the space or permission, with
        no chained traceback; what was saved before (the last checkpoint) is kept.
        """
        try:
            yield
        except OSError as exc:
            if exc.errno not in STORAGE_ERRNOS:
                self.fail(exc)
                raise
            error = storage_error(exc, self.path, param)
            self.fail(error)
            raise error from None
        except BaseException as exc:
            self.fail(exc)
            raise

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
        self, agent: Any, normalization: dict[str, Any] | None = None, *, into: Path | None = None, **save_kwargs: Any
    ) -> None:
        """Write the agent (:data:`AGENT`) and its normalisation (:data:`NORMALIZATION`) atomically.

        Args:
            agent: the SB3 model.
            normalization: its ``VecNormalize`` statistics
                (:func:`rewardlab.data.normalization_state`), or None.
            into: another folder (a checkpoint being staged) instead of the run directory.
            **save_kwargs: passed to the model's ``save`` (e.g. ``exclude``).
        """
        folder = into or self.path
        buffer = io.BytesIO()
        agent.save(buffer, **save_kwargs)
        write_atomic(folder / AGENT, buffer.getvalue())
        if normalization is not None:
            write_json(folder / NORMALIZATION, normalization)


def save_sb3(save: Any, path: Path) -> None:
    """Run an SB3 ``save(path)`` that writes in place, so that a kill never leaves half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    save(str(tmp))
    written = tmp if tmp.exists() else Path(str(tmp) + ".zip")  # SB3 appends .zip to names without it
    fault(f"replace:{path.name}")
    os.replace(written, path)
