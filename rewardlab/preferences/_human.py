"""A person as the teacher of the online loop: each stage's queries go to the labelling page, the loop waits.

Owns :class:`HumanTeacher`, what ``rewardlab rlhf --teacher human`` (or ``mixed``) labels with. At
the first stage that asks, it starts one uvicorn server (in a thread of the RLHF process) that
stays up for the whole run, and switches what it serves from stage to stage: the stage's pairs
(:func:`~rewardlab.preferences.create_app` over the stage's folder) while they wait for labels,
then a page that says the agent is training (:func:`~rewardlab.preferences.waiting_app`) until
the next stage publishes. The page polls, so a labeller keeps one tab open for the whole run.

Each stage is an ordinary labelling dataset directory under the run, ``RUN/human/stage_<k>/``:
the stage's segments (:meth:`PreferenceDataset.save`, no labelled pairs), ``queries.csv`` (the
pairs; written last, so its presence says the stage's query is complete), ``labels.jsonl`` (every
label as it is given, fsynced, with its labeller, time, time taken and clip version:
:class:`~rewardlab.preferences.LabelLog`) and ``clips/``. ``rewardlab prefs serve`` opens the same
folder, and ``prefs merge`` folds it like any other.

**Resume.** A run killed while it waits restarts from its last committed stage; when it reaches
the stage again it finds the stage's ``queries.csv``, serves the *same* pairs (it does not
collect new segments) and counts the labels already in the log: nothing a person gave is lost.
A stage whose wait times out raises :class:`LabelTimeout` (the run stays resumable with
``resume=RUN`` or the same ``run_name``; the message says so), except with a synthetic
``fallback`` (``--teacher mixed``), which then labels what the person did not. The fault point
``human:event`` (:func:`rewardlab.runs.fault`) is reached once per event the loop sees, so a test
kills the process while it waits.

**Mixed teaching** (``human_fraction`` < 1): the first ``ceil(human_fraction * n)`` pairs of a
stage go to the page, the rest to the synthetic teacher at once. With ``human_fraction = 1`` and a
fallback, the person labels what they can before the timeout and the synthetic teacher the rest.

A pair labelled by several people gets the mean of their labels (a soft label where they
disagree); a pair skipped and never labelled is dropped, like a pair a synthetic teacher skips.
"""

from __future__ import annotations

import math
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import uvicorn

from rewardlab import suite
from rewardlab.data import Segments
from rewardlab.errors import ConfigError, RewardLabError, message
from rewardlab.preferences._dataset import PreferenceDataset
from rewardlab.preferences._labelling import LABEL_LOG, live_labels
from rewardlab.preferences._oracles import PreferenceOracle, label_pairs
from rewardlab.preferences._serve import allowed_hosts_for, check_bind, create_app, waiting_app
from rewardlab.runs import fault, write_atomic

__all__ = ["HUMAN_DIR", "HumanTeacher", "LabelTimeout", "StageLabels"]

HUMAN_DIR = "human"
"""Folder of a run directory holding one labelling dataset per stage that asked a person."""
QUERIES = "queries.csv"
"""The pairs of a stage, in its folder (the name ``prefs serve`` reads by default)."""
POLL_S = 0.25
"""Seconds between two looks at a stage's label log while waiting."""
ANNOUNCE_S = 30.0
"""Seconds between two progress lines while waiting."""


class LabelTimeout(RewardLabError, TimeoutError):
    """A stage waited its whole timeout for labels; the run stays resumable with the labels given."""


@dataclass(frozen=True)
class StageLabels:
    """What a stage got from its teachers: a label per pair (``nan``: skipped) and where each came from."""

    labels: np.ndarray
    """``(n,)`` labels of the stage's pairs in order; ``nan`` where nobody labelled (skipped)."""
    n_human: int
    """Pairs labelled on the page."""
    n_synthetic: int
    """Pairs labelled by the synthetic teacher (the share it was given, or after a timeout)."""
    labellers: list[str] = field(default_factory=list)
    """Who labelled on the page."""
    waited_s: float = 0.0
    """Seconds the loop waited for the page."""


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (bound here so that a busy port is a clear error at once)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            message(
                "port",
                f"a free TCP port on {host} for the labelling page",
                port,
                f"{exc.strerror or exc}: pass another (--port), or stop what listens there.",
            )
        ) from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


class _Switch:
    """An ASGI app that forwards every request to the app of the moment (the stage's, or the waiting page)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


class HumanTeacher:
    """Labels each stage's pairs through the labelling page, waiting for a person (see the module docstring).

    Args:
        root: the folder of the stage folders (``RUN/human``).
        env: the suite env the segments come from (for the page's task line).
        host: the address to bind; anything but loopback needs ``token``.
        port: the TCP port (``0``: any free one; :attr:`url` says which).
        token: the secret every request must carry (required off loopback).
        timeout_s: seconds a stage waits for its labels (``None``: no limit).
        human_fraction: share of each stage's pairs sent to the page, in ``(0, 1]``.
        fallback: the synthetic teacher of ``mixed`` teaching (the rest of the pairs, and what is
            unlabelled at the timeout); ``None``: a person labels everything.
        announce: where progress lines go (the URL, what each stage waits for).
        fps: frames per second of the clips.
        size: ``(width, height)`` of each clip.

    Raises:
        ConfigError: a bad fraction or timeout, a non-loopback ``host`` without a token.
    """

    def __init__(
        self,
        root: str | Path,
        env: str,
        *,
        host: str = "127.0.0.1",
        port: int = 8765,
        token: str | None = None,
        timeout_s: float | None = 3600.0,
        human_fraction: float = 1.0,
        fallback: PreferenceOracle | None = None,
        announce: Callable[[str], None] = print,
        fps: float = 20,
        size: tuple[int, int] | None = (240, 240),
    ) -> None:
        if not (isinstance(human_fraction, (int, float)) and 0.0 < human_fraction <= 1.0):
            raise ConfigError(message("human_fraction", "a number in (0, 1]", human_fraction, "Pass 1 or 0.5."))
        if human_fraction < 1.0 and fallback is None:
            raise ConfigError(
                message(
                    "human_fraction",
                    "1 without a synthetic teacher for the rest",
                    human_fraction,
                    "Use teacher='mixed', or human_fraction=1.",
                )
            )
        if timeout_s is not None and not (isinstance(timeout_s, (int, float)) and timeout_s >= 0):
            raise ConfigError(message("timeout_s", "seconds >= 0 or None (no limit)", timeout_s))
        check_bind(host, token)
        self.root = Path(root)
        self.env = suite.get(env)
        self.host, self.port, self.token = host, port, token
        self.timeout_s, self.human_fraction, self.fallback = timeout_s, float(human_fraction), fallback
        self.announce, self.fps, self.size = announce, fps, size
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._switch: _Switch | None = None
        self._stage_app: Any = None
        self.url = ""

    # --- the server ----------------------------------------------------------------------------------

    def _waiting(self, text: str) -> Any:
        return waiting_app(
            text,
            token=self.token,
            allowed_hosts=allowed_hosts_for(self.host),
            env=self.env.name,
            description=self.env.description,
        )

    def _start(self) -> _Switch:
        """The running server's switch (the server is started on the first call)."""
        if self._switch is not None:
            return self._switch
        sock = _bind(self.host, self.port)
        port = sock.getsockname()[1]
        shown = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"http://{shown}:{port}/" + (f"?token={self.token}" if self.token else "")
        self._switch = _Switch(self._waiting("Waiting for the first pairs..."))
        config = uvicorn.Config(self._switch, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        server = self._server
        self._thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="labelling")
        self._thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the labelling server on {self.url} did not start")
            time.sleep(0.01)
        return self._switch

    def close(self) -> None:
        """Stop the server (if it runs) and close the open stage's label log."""
        self._close_stage()
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(30)
        self._server = self._thread = self._switch = None

    def __enter__(self) -> HumanTeacher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _close_stage(self) -> None:
        if self._stage_app is not None:
            self._stage_app.state.log.close()
            self._stage_app = None

    # --- a stage ---------------------------------------------------------------------------------------

    def stage_dir(self, stage: int) -> Path:
        """The folder of ``stage``'s pairs and labels."""
        return self.root / f"stage_{stage:03d}"

    def saved_query(self, stage: int) -> tuple[Segments, np.ndarray] | None:
        """The segments and pairs ``stage`` published before a kill, or None when it published nothing."""
        folder = self.stage_dir(stage)
        if not (folder / QUERIES).is_file():
            return None
        dataset = PreferenceDataset.load(folder)
        pairs = [(int(r["left"]), int(r["right"])) for _, r in PreferenceDataset.read_rows(folder / QUERIES)]
        return dataset.segments, np.asarray(pairs, dtype=np.int64).reshape(-1, 2)

    def _publish(self, stage: int, segments: Segments, pairs: np.ndarray) -> Path:
        folder = self.stage_dir(stage)
        if (folder / QUERIES).is_file():
            return folder  # published before a kill: the same pairs, the labels given so far
        empty = PreferenceDataset(segments, np.zeros((0, 2), dtype=np.int64), np.zeros(0))
        empty.provenance = [{"source": "rlhf", "stage": stage, "n_pairs": len(pairs)}]
        empty.save(folder)
        rows = ["pair_id,left,right,label", *(f"{i},{a},{b}," for i, (a, b) in enumerate(pairs.tolist()))]
        write_atomic(folder / QUERIES, "\n".join(rows) + "\n")  # last: the stage is published
        return folder

    def label(
        self,
        stage: int,
        n_stages: int,
        segments: Segments,
        pairs: np.ndarray,
        seed: int,
    ) -> StageLabels:
        """Label ``pairs`` of ``segments``: the page's share by a person (waiting), the rest synthetically.

        Args:
            stage: the loop's stage (names the folder; a published stage is served again as it was).
            n_stages: the last stage's number (for the page's caption).
            segments: the stage's segments (those of :meth:`saved_query` when it returned some).
            pairs: ``(n, 2)`` indices into ``segments``.
            seed: seed of the synthetic teacher's draws.

        Raises:
            LabelTimeout: the page's share was not labelled within ``timeout_s`` and there is no fallback.
        """
        pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        n = len(pairs)
        k = n if self.fallback is None else math.ceil(self.human_fraction * n)
        labels = np.full(n, np.nan)
        synthetic = np.zeros(n, dtype=bool)
        if k < n and self.fallback is not None:
            labels[k:] = label_pairs(segments, pairs[k:], self.fallback, seed=seed)
            synthetic[k:] = True
        waited, labellers = 0.0, list[str]()
        if k > 0:
            human, skipped, labellers, waited = self._ask(stage, n_stages, segments, pairs[:k])
            labels[:k] = human
            missing = np.isnan(human) & ~skipped
            if missing.any():
                if self.fallback is None:  # cannot happen: _ask raises first
                    raise RuntimeError("unlabelled pairs after the wait")
                index = np.flatnonzero(missing)
                labels[index] = label_pairs(segments, pairs[index], self.fallback, seed=seed + 1)
                synthetic[index] = True
                self.announce(
                    f"Stage {stage}: {len(index)} pair(s) not labelled within {self.timeout_s:g} s "
                    "were labelled by the synthetic teacher."
                )
        n_synth = int(synthetic.sum())
        n_human = int((~np.isnan(labels) & ~synthetic).sum())
        return StageLabels(labels, n_human, n_synth, labellers, round(waited, 2))

    def _labels_of(self, events: list[dict[str, Any]], pairs: np.ndarray) -> tuple[np.ndarray, list[str]]:
        given: dict[tuple[int, int], list[float]] = {}
        who: set[str] = set()
        for e in live_labels(events):
            given.setdefault((int(e["left"]), int(e["right"])), []).append(float(e["label"]))
            who.add(str(e["labeller"]))
        out = np.array([np.mean(given[p]) if p in given else np.nan for p in map(tuple, pairs.tolist())])
        return out, sorted(who)

    def _ask(
        self, stage: int, n_stages: int, segments: Segments, pairs: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, list[str], float]:
        """Publish ``pairs`` on the page and wait until each is labelled or skipped (or the timeout).

        Returns:
            ``(labels, skipped, labellers, waited_s)``: the mean label of each pair (``nan`` where
            none), whether it was skipped, who labelled, and how long the wait took.
        """
        folder = self._publish(stage, segments, pairs)
        switch = self._start()
        self._close_stage()
        source = "a random policy (before any training)" if stage == 0 else "the current agent"
        caption = f"RLHF stage {stage} of {n_stages}: {len(pairs)} pairs of segments from {source}."
        done_text = (
            f"All pairs of stage {stage} are labelled. The reward model learns from them, then the agent "
            "trains; the next pairs appear here by themselves."
        )
        self._stage_app = create_app(
            folder,
            token=self.token,
            allowed_hosts=allowed_hosts_for(self.host),
            fps=self.fps,
            size=self.size,
            caption=caption,
            done_text=done_text,
        )
        switch.app = self._stage_app
        keys = [(int(a), int(b)) for a, b in pairs.tolist()]
        limit = "no time limit" if self.timeout_s is None else f"timeout {self.timeout_s:g} s"
        self.announce(f"Stage {stage}: label {len(pairs)} pairs at {self.url}  ({limit})")
        t0 = time.monotonic()
        last_note = t0
        seen = 0
        try:
            while True:
                events = list(self._stage_app.state.log.events)
                for _ in range(len(events) - seen):
                    fault("human:event")  # once per label, skip or undo the loop sees: a test kills here
                seen = len(events)
                labels, labellers = self._labels_of(events, pairs)
                skips = {(int(e["left"]), int(e["right"])) for e in events if e.get("event") == "skip"}
                skipped = np.array([p in skips for p in keys], dtype=bool)
                open_ = [p for p, v, s in zip(keys, labels, skipped, strict=True) if np.isnan(v) and not s]
                now = time.monotonic()
                if not open_:
                    break
                if self.timeout_s is not None and now - t0 >= self.timeout_s:
                    if self.fallback is not None:
                        break
                    raise LabelTimeout(
                        f"RLHF stage {stage} waited {self.timeout_s:g} s for {len(pairs)} labels at {self.url} "
                        f"and got {len(pairs) - len(open_)}. Nothing is lost: the labels given are in "
                        f"{folder / LABEL_LOG}. Resume with the same command plus `--resume {self.root.parent}` "
                        "(or the same --run-name): the page shows the same pairs. Give more time with "
                        "--human-timeout, or let the synthetic teacher label what is left with --teacher mixed."
                    )
                if now - last_note >= ANNOUNCE_S:
                    self.announce(f"Stage {stage}: {len(pairs) - len(open_)} of {len(pairs)} labelled at {self.url}")
                    last_note = now
                time.sleep(POLL_S)
        finally:
            self._close_stage()
            switch.app = self._waiting(
                f"Stage {stage} is labelled: the reward model and the agent are training. "
                "The next pairs appear here by themselves."
            )
        return labels, skipped, labellers, time.monotonic() - t0

    def provenance(self, stage: int, got: StageLabels) -> Mapping[str, Any]:
        """The dataset provenance entry of a stage labelled by this teacher."""
        entry: dict[str, Any] = {
            "source": "human" if got.n_synthetic == 0 else "mixed",
            "labels_from": str(Path(HUMAN_DIR) / self.stage_dir(stage).name / LABEL_LOG),
            "n_human": got.n_human,
            "n_synthetic": got.n_synthetic,
            "labellers": got.labellers,
            "waited_s": got.waited_s,
        }
        if self.fallback is not None:
            entry["fallback"] = self.fallback.provenance()
        return entry
