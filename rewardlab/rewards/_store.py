"""A folder of trained reward models, keyed by the spec that trained them.

A reward kind that trains a model when built (``learned`` with ``preferences``, ``hierarchical``
offline) looks its model up in the *active* store before training, and saves it there after. A
sweep makes its ``<sweep dir>/reward_models/`` the store: the models are trained once, as a
visible step before the trials, and every worker, rerun and report loads them from there instead
of training them again. Each entry is ``<env>__<key>/`` with the model (safetensors + JSON, never
unpickled) and ``stats.json`` (how it was trained); it is written to a temporary folder and renamed,
so a kill never leaves half an entry.

The active store is a context variable (:func:`use_model_store`), set by whoever runs the work
(``rewardlab.train`` from its config, a sweep, a report), so the specs stay plain data.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rewardlab.rewards._network import RewardModel
from rewardlab.runs import write_json

__all__ = ["ModelStore", "active_model_store", "use_model_store"]

_ACTIVE: contextvars.ContextVar[ModelStore | None] = contextvars.ContextVar("rewardlab_model_store", default=None)


class ModelStore:
    """Trained reward models under ``root``, one folder per (env, spec key)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, env: str, key: str) -> Path:
        return self.root / f"{env}__{key}"

    def get(self, env: str, key: str) -> tuple[RewardModel, dict[str, Any]] | None:
        """The stored model and its training statistics, or None when it has not been trained."""
        entry = self.path(env, key)
        if not (entry / "stats.json").is_file():
            return None
        stats = json.loads((entry / "stats.json").read_text(encoding="utf-8"))
        return RewardModel.load(entry), stats

    def put(self, env: str, key: str, model: RewardModel, stats: dict[str, Any]) -> Path:
        """Save a model (atomically: a temporary folder renamed into place, ``stats.json`` last)."""
        entry = self.path(env, key)
        tmp = entry.with_name(f".{entry.name}.{os.getpid()}.tmp")
        if tmp.exists():
            shutil.rmtree(tmp)
        model.save(tmp)
        write_json(tmp / "stats.json", stats)
        if entry.exists():  # another process stored the same model first: the same bytes, keep theirs
            shutil.rmtree(tmp)
        else:
            os.replace(tmp, entry)
        return entry


def active_model_store() -> ModelStore | None:
    """The store set by the innermost :func:`use_model_store`, or None."""
    return _ACTIVE.get()


@contextlib.contextmanager
def use_model_store(root: str | Path | None) -> Iterator[ModelStore | None]:
    """Make ``root`` the store of trained reward models inside the block (None: no store)."""
    store = ModelStore(root) if root is not None else None
    token = _ACTIVE.set(store)
    try:
        yield store
    finally:
        _ACTIVE.reset(token)
