"""A sweep's tables and report as one generation: ``results/`` and ``report/`` switch together.

A report is written into a fresh folder, and only once everything is there does one atomic
rename make it the current one, so a kill at any moment leaves the whole old set or the whole
new one, never ``results/`` of one set of trials beside ``report.html`` of another::

    <sweep>/.report/<generation>/results/   summary.csv/.parquet, curves, trials, distances, ...
    <sweep>/.report/<generation>/report/    report.html and the PNGs
    <sweep>/.report/current                 -> <generation>  (a symlink, replaced atomically)
    <sweep>/results                         -> .report/current/results
    <sweep>/report                          -> .report/current/report

Readers keep opening ``<sweep>/results/*.csv`` and ``<sweep>/report/report.html``. One process
at a time writes a generation (an ``flock`` on ``.report/.writer.lock``, see
:meth:`rewardlab.runs.RunDir.lock`); a generation left by a killed writer is deleted by the
next one. A sweep folder of an older version, with real ``results/`` and ``report/`` folders, is
switched over by its first new report. Nothing outside the sweep folder is followed or deleted:
links are replaced, never written through. Where the OS has no symlinks, the folders are copied
into place instead (not atomic).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rewardlab.runs import RunDir, fault, storage_error

__all__ = ["GENERATIONS", "Generation", "new_generation"]

GENERATIONS = ".report"
"""The folder of a sweep that holds its report generations and the ``current`` pointer."""
_CURRENT = "current"
_PARTS = ("results", "report")


@dataclass(frozen=True)
class Generation:
    """A generation being written: its folders, and the sweep's current ones (what readers see)."""

    path: Path
    """The generation's folder (``<sweep>/.report/<name>``)."""
    previous_results: Path | None
    """The current ``results/`` folder (resolved) before this generation, if there is one."""

    @property
    def results(self) -> Path:
        return self.path / "results"

    @property
    def report(self) -> Path:
        return self.path / "report"


@contextlib.contextmanager
def new_generation(sweep_dir: str | Path) -> Iterator[Generation]:
    """Write a generation inside the block, then make it current (on a normal exit only).

    Raises:
        RunBusyError: another live process is writing a report of the sweep.
        StorageError: the sweep folder cannot be written (full disk, permission).
    """
    sweep_dir = Path(sweep_dir)
    root = sweep_dir / GENERATIONS
    lock = RunDir(root)
    try:
        if root.is_symlink():  # not what a report writes: never follow it (the old ones are deleted in there)
            root.unlink()
        lock.lock(param="sweep_dir")
    except OSError as exc:
        raise storage_error(exc, root, "sweep_dir") from None
    path = root / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    try:
        previous = sweep_dir / "results"
        generation = Generation(path, previous.resolve() if previous.is_dir() else None)
        try:
            generation.results.mkdir(parents=True)
            generation.report.mkdir()
        except OSError as exc:
            raise storage_error(exc, path, "sweep_dir") from None
        yield generation
        fault("sweep:report_commit")
        try:
            _switch(sweep_dir, root, path.name)
        except OSError as exc:
            raise storage_error(exc, sweep_dir, "sweep_dir") from None
        _collect(root, keep=path.name)
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)  # the current generation stays as it was
        raise
    finally:
        lock.unlock()


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _replace_with_link(link: Path, target: str) -> None:
    """Make ``link`` a symlink to ``target`` in one rename (``link`` may be a symlink already)."""
    tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    os.symlink(target, tmp)
    os.replace(tmp, link)


def _switch(sweep_dir: Path, root: Path, name: str) -> None:
    """Make generation ``name`` the current one: one atomic rename, then the stable links."""
    if os.name == "nt" and not _can_link(root):  # pragma: no cover - Windows without symlink rights
        for part in _PARTS:
            shutil.rmtree(sweep_dir / part, ignore_errors=True)
            shutil.copytree(root / name / part, sweep_dir / part)
        return
    _replace_with_link(root / _CURRENT, name)
    _fsync_dir(root)
    for part in _PARTS:
        link = sweep_dir / part
        target = f"{GENERATIONS}/{_CURRENT}/{part}"
        if link.is_symlink() and os.readlink(link) == target:
            continue
        if link.exists() and not link.is_symlink():  # an older version's real folder: move it out of the way
            os.replace(link, root / f"old-{part}-{uuid.uuid4().hex[:6]}")
        _replace_with_link(link, target)
    _fsync_dir(sweep_dir)


def _can_link(root: Path) -> bool:  # pragma: no cover - Windows only
    probe = root / f".link-check.{os.getpid()}"
    try:
        os.symlink(".", probe)
    except (OSError, NotImplementedError):
        return False
    probe.unlink()
    return True


def _collect(root: Path, keep: str) -> None:
    """Delete every generation but ``keep`` (older ones, and what killed writers left)."""
    for child in root.iterdir():
        if child.name in (keep, _CURRENT) or child.name.startswith(".writer"):
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                child.unlink()
