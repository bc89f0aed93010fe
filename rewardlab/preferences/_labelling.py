"""Human labels given one at a time: an append-only label log beside a dataset, and the pair queue.

``rewardlab prefs serve`` (:mod:`rewardlab.preferences._serve`) is a page over these two objects;
they hold no web code, so they can be tested and reused (a human teacher in the RLHF loop) alone.

The log, ``DATASET/labels.jsonl``, is the label data until it is merged. One JSON object a line,
appended and fsynced before the answer leaves the server, so a killed server loses at most the
label in flight; a line cut short by a kill is dropped when the log is opened again::

    {"v": 1, "event": "label", "id": "9f2c...", "pair_id": 3, "left": 12, "right": 40, "label": 1.0,
     "labeller": "alice", "time": "2025-05-01T10:00:02.125+00:00", "time_taken_s": 2.31,
     "clip_version": "gif1:3f0a9c1b2d4e/77aa01c2d3e4", "request_id": "c1d2..."}
    {"v": 1, "event": "undo", "id": "...", "undoes": "9f2c...", "pair_id": 3, "labeller": "alice", "time": "..."}
    {"v": 1, "event": "skip", "id": "...", "pair_id": 4, "left": 7, "right": 9, "labeller": "alice", "time": "..."}

``label`` is the probability that ``left`` is preferred (1 left, 0 right, 0.5 equal), as in
:class:`~rewardlab.preferences.PreferenceDataset`; ``pair_id`` is the row of the queries file the
pair was served from; ``time_taken_s`` runs from the moment the pair was handed to that labeller;
``clip_version`` names the clips shown (format and the content hash of each GIF, ``none`` when
the env cannot be drawn).

One process writes a log: :class:`LabelLog` holds an exclusive ``flock`` on
``labels.jsonl.lock`` while it is open (a second server on the same dataset fails at once), and a
thread lock around each append serialises the concurrent requests of several labellers.

:func:`merge_labels` folds the live labels (given and not undone) into the dataset with
:meth:`PreferenceDataset.append_labels`: one label per pair, the mean over the labellers who
labelled it (a soft label where they disagree), so merging again adds nothing.
"""

from __future__ import annotations

import datetime as _dt
import fcntl
import json
import math
import os
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rewardlab.errors import ConfigError, RunBusyError, message
from rewardlab.preferences._dataset import PreferenceDataset
from rewardlab.runs import fault

__all__ = ["LABEL_LOG", "LabelConflict", "LabelLog", "LabelQueue", "disagreements", "live_labels", "merge_labels"]

LABEL_LOG = "labels.jsonl"
"""File name of the label log inside a dataset directory."""
LOG_VERSION = 1
"""The ``v`` of every line :class:`LabelLog` writes."""
LEASE_S = 600.0
"""Seconds a pair handed to a labeller stays reserved for them (then another labeller may get it)."""


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")


class LabelLog:
    """The append-only JSONL label log of one dataset directory, held open by one process.

    Args:
        dataset_dir: the dataset directory; the log is ``dataset_dir/labels.jsonl``.

    Raises:
        RunBusyError: another process has the log open (one writer per dataset).
        ConfigError: a line other than the last is not a JSON object (the log was edited).
    """

    def __init__(self, dataset_dir: str | Path) -> None:
        self.path = Path(dataset_dir) / LABEL_LOG
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(self.path.with_name(LABEL_LOG + ".lock"), "a")  # held until close
        try:
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.close()
            raise RunBusyError(
                message(
                    "dataset",
                    "a dataset no other labelling server has open",
                    str(self.path.parent),
                    "Stop the other `rewardlab prefs serve` first, or label in its page.",
                )
            ) from None
        self._mutex = threading.Lock()
        self.events = self._read_and_repair()

    def _read_and_repair(self) -> list[dict[str, Any]]:
        """The events on disk; a last line cut short by a kill is cut off the file."""
        if not self.path.is_file():
            return []
        raw = self.path.read_bytes()
        end = raw.rfind(b"\n") + 1
        if end < len(raw):  # the label in flight when the server was killed: never answered, so dropped
            with open(self.path, "r+b") as f:
                f.truncate(end)
                os.fsync(f.fileno())
        events = []
        for i, line in enumerate(raw[:end].decode("utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ConfigError(
                    message(f"{self.path.name}:{i}", "a JSON object", line[:80], "The log was edited; fix that line.")
                ) from exc
            if not isinstance(event, dict) or "event" not in event:
                raise ConfigError(message(f"{self.path.name}:{i}", "an event object", line[:80]))
            events.append(event)
        return events

    def append(self, event: dict[str, Any]) -> dict[str, Any]:
        """Write one event (``v``, ``id`` and ``time`` filled in) and fsync it; returns it."""
        row = {"v": LOG_VERSION, "id": uuid.uuid4().hex, "time": _now(), **event}
        data = (json.dumps(row) + "\n").encode("utf-8")
        with self._mutex:
            new = not self.path.exists()
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            if new:  # the file's name must survive a power cut too
                dir_fd = os.open(self.path.parent, os.O_RDONLY)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)
            self.events.append(row)
        return row

    def close(self) -> None:
        """Release the one-writer lock."""
        if not self._lock_file.closed:
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_UN)
            self._lock_file.close()

    def __enter__(self) -> LabelLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def live_labels(events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The label events that no later undo event cancels, in log order."""
    undone = {e.get("undoes") for e in events if e.get("event") == "undo"}
    return [e for e in events if e.get("event") == "label" and e["id"] not in undone]


def disagreements(events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pairs that several labellers labelled differently: ``{"left", "right", "labels": {labeller: label}}``."""
    by_pair: dict[tuple[int, int], dict[str, float]] = {}
    for e in live_labels(events):
        by_pair.setdefault((int(e["left"]), int(e["right"])), {})[str(e["labeller"])] = float(e["label"])
    return [
        {"left": a, "right": b, "labels": labels}
        for (a, b), labels in by_pair.items()
        if len(labels) > 1 and len(set(labels.values())) > 1
    ]


def merge_labels(dataset_dir: str | Path, events: Sequence[dict[str, Any]] | None = None) -> tuple[int, int]:
    """Append the live labels of the log to the dataset's labelled pairs and save it (atomically).

    A pair labelled by several labellers gets the mean of their labels. Pairs the dataset already
    holds are not added again (:meth:`PreferenceDataset.append_labels`), so merging is idempotent.

    Args:
        dataset_dir: the dataset directory (with ``labels.jsonl``).
        events: the log's events, when the caller holds the log open (default: read the file).

    Returns:
        ``(added, already_there)`` pairs.
    """
    root = Path(dataset_dir)
    if events is None:
        with LabelLog(root) as log:
            events = list(log.events)
    groups: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for e in live_labels(events):
        groups.setdefault((int(e["left"]), int(e["right"])), []).append(e)
    if not groups:
        return 0, 0
    dataset = PreferenceDataset.load(root)
    pairs = np.asarray(list(groups), dtype=np.int64)
    labels = np.asarray([np.mean([float(e["label"]) for e in g]) for g in groups.values()])
    provenance = {
        "source": "human",
        "via": "rewardlab prefs serve",
        "log": LABEL_LOG,
        "labellers": sorted({str(e["labeller"]) for g in groups.values() for e in g}),
        "n_labels": sum(len(g) for g in groups.values()),
        "disagreements": len(disagreements(events)),
    }
    added, known = dataset.append_labels(pairs, labels, provenance=provenance)
    if added:
        dataset.save(root)
    return added, known


class LabelConflict(ConfigError):
    """A label that contradicts the log: the pair is labelled already, or there is nothing to undo (HTTP 409)."""


@dataclass
class _Lease:
    labeller: str
    since: float = field(default_factory=time.monotonic)


class LabelQueue:
    """Which pair each labeller sees next, what they gave, and their progress; writes to a :class:`LabelLog`.

    Pairs are handed out in queue order, each to as many labellers as ``repeats`` asks (distinct
    labellers), and a pair handed to a labeller is reserved for them for :data:`LEASE_S` seconds,
    so two labellers do not get the same pair unless repeats are asked for. All methods are
    thread-safe.

    Args:
        log: the open label log (its events are replayed: a restarted server goes on where it was).
        pairs: ``(N, 2)`` segment indices of the pairs to label; pair id ``i`` is row ``i``.
        repeats: labels wanted per pair, each from a different labeller.
        clip_version: ``clip_version(pair_id)`` names the clips of a pair for the provenance.
    """

    def __init__(self, log: LabelLog, pairs: Any, repeats: int = 1, clip_version: Any = None) -> None:
        if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
            raise ConfigError(message("repeats", "an integer >= 1", repeats, "Pass 1, or 2+ to measure agreement."))
        self.log = log
        self.pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        self.repeats = repeats
        self.clip_version = clip_version or (lambda pair_id: "none")
        self._mutex = threading.RLock()
        self._leases: dict[int, dict[str, _Lease]] = {}
        self._index = {(int(a), int(b)): i for i, (a, b) in reversed(list(enumerate(self.pairs.tolist())))}

    # --- state, replayed from the log ----------------------------------------------------------------

    def _live(self) -> list[dict[str, Any]]:
        return live_labels(self.log.events)

    def _labellers_of(self, pair_id: int) -> set[str]:
        a, b = (int(x) for x in self.pairs[pair_id])
        return {str(e["labeller"]) for e in self._live() if (e["left"], e["right"]) == (a, b)}

    def _skipped_by(self, labeller: str) -> set[int]:
        return {int(e["pair_id"]) for e in self.log.events if e.get("event") == "skip" and e["labeller"] == labeller}

    def check_pair_id(self, pair_id: int) -> int:
        """``pair_id`` as an int, or a ConfigError naming the valid range."""
        if isinstance(pair_id, bool) or not isinstance(pair_id, int) or not 0 <= pair_id < len(self.pairs):
            raise ConfigError(message("pair_id", f"a pair id in [0, {len(self.pairs)})", pair_id))
        return pair_id

    # --- handing out ---------------------------------------------------------------------------------

    def next_pair(self, labeller: str) -> int | None:
        """The pair to show ``labeller`` now (the one they hold if any), or None when all are done."""
        with self._mutex:
            now = time.monotonic()
            for pid, holders in list(self._leases.items()):
                for who, lease in list(holders.items()):
                    if now - lease.since > LEASE_S:
                        del holders[who]
                if not holders:
                    del self._leases[pid]
            held = [pid for pid, holders in self._leases.items() if labeller in holders]
            if held:
                return held[0]
            live = self._live()
            counts: dict[tuple[int, int], set[str]] = {}
            for e in live:
                counts.setdefault((int(e["left"]), int(e["right"])), set()).add(str(e["labeller"]))
            skipped = self._skipped_by(labeller)
            for pid, (a, b) in enumerate(self.pairs.tolist()):
                done_by = counts.get((a, b), set())
                if labeller in done_by or pid in skipped or self._index[(a, b)] != pid:
                    continue  # (a repeated row of the queries file is the same pair)
                if len(done_by) + len(self._leases.get(pid, {})) < self.repeats:
                    self._leases.setdefault(pid, {})[labeller] = _Lease(labeller)
                    return pid
            return None

    def _release(self, pair_id: int, labeller: str) -> _Lease | None:
        holders = self._leases.get(pair_id, {})
        lease = holders.pop(labeller, None)
        if not holders:
            self._leases.pop(pair_id, None)
        return lease

    def label(self, labeller: str, pair_id: int, label: float, request_id: str | None = None) -> dict[str, Any]:
        """Record ``labeller``'s label of ``pair_id``; returns the log event.

        A repeated ``request_id`` (a client retrying) returns the first event, unchanged.

        Raises:
            ConfigError: an unknown pair id or a label outside ``[0, 1]``.
            LabelConflict: the labeller already labelled this pair, or it has all its labels.
        """
        pair_id = self.check_pair_id(pair_id)
        if not (isinstance(label, (int, float)) and math.isfinite(label) and 0.0 <= label <= 1.0):
            raise ConfigError(message("label", "a number in [0, 1] (1 left, 0 right, 0.5 equal)", label))
        with self._mutex:
            if request_id is not None:
                for e in self.log.events:
                    if e.get("request_id") == request_id and e.get("labeller") == labeller:
                        return e
            done_by = self._labellers_of(pair_id)
            if labeller in done_by:
                raise LabelConflict(f"Pair {pair_id} is already labelled by {labeller!r}; undo it to change the label.")
            holders = self._leases.get(pair_id, {})
            others = len([w for w in holders if w != labeller])
            if len(done_by) + others >= self.repeats and labeller not in holders:
                raise LabelConflict(
                    f"Pair {pair_id} already has its {self.repeats} label(s) or is being labelled by someone else; "
                    "ask /api/next for your pair."
                )
            lease = self._release(pair_id, labeller)
            a, b = (int(x) for x in self.pairs[pair_id])
            event = self.log.append(
                {
                    "event": "label",
                    "pair_id": pair_id,
                    "left": a,
                    "right": b,
                    "label": float(label),
                    "labeller": labeller,
                    "time_taken_s": None if lease is None else round(time.monotonic() - lease.since, 3),
                    "clip_version": self.clip_version(pair_id),
                    "request_id": request_id,
                }
            )
        fault("serve:label")  # after the fsync: a kill here must not lose this label
        return event

    def skip(self, labeller: str, pair_id: int) -> dict[str, Any]:
        """Pass on ``pair_id`` (it is not shown to ``labeller`` again; others may still get it)."""
        pair_id = self.check_pair_id(pair_id)
        with self._mutex:
            self._release(pair_id, labeller)
            a, b = (int(x) for x in self.pairs[pair_id])
            return self.log.append({"event": "skip", "pair_id": pair_id, "left": a, "right": b, "labeller": labeller})

    def undo(self, labeller: str) -> dict[str, Any]:
        """Cancel ``labeller``'s last live label; the pair is theirs again (it is shown next).

        Raises:
            LabelConflict: the labeller has no label to undo.
        """
        with self._mutex:
            mine = [e for e in self._live() if e["labeller"] == labeller]
            if not mine:
                raise LabelConflict(f"{labeller!r} has no label to undo.")
            last = mine[-1]
            pair_id = int(last["pair_id"])
            for pid in [p for p, holders in self._leases.items() if labeller in holders]:
                self._release(pid, labeller)
            event = self.log.append({"event": "undo", "undoes": last["id"], "pair_id": pair_id, "labeller": labeller})
            self._leases.setdefault(pair_id, {})[labeller] = _Lease(labeller)
            return event

    def progress(self, labeller: str | None = None) -> dict[str, Any]:
        """Labels given (all and ``labeller``'s), the labels wanted, and ``labeller``'s labels per minute."""
        with self._mutex:
            live = self._live()
            mine = [e for e in live if e["labeller"] == labeller]
            per_minute = None
            if len(mine) >= 2:
                first, last = (_dt.datetime.fromisoformat(mine[i]["time"]) for i in (0, -1))
                span = (last - first).total_seconds()
                per_minute = round(60.0 * (len(mine) - 1) / span, 1) if span > 0 else None
            return {
                "labelled": len(live),
                "total": len(set(self._index.values())) * self.repeats,
                "mine": len(mine),
                "per_minute": per_minute,
                "labellers": len({e["labeller"] for e in live}),
            }
