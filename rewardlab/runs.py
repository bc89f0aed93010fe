"""Run directories: atomic file writes, status, and the metrics log.

Layout of one run (design.md)::

    runs/<group>/<run>/
        config.json      resolved config (env, reward spec, agent preset, seed, versions)
        reward.toml      the reward spec, loadable with ``--reward``
        status.json      {"status": "pending|running|done|failed", "traceback": ...}
        metrics.jsonl    one JSON object per evaluation (timesteps, proxy/env return, terms)
        model.zip        the SB3 model (and vecnormalize.pkl when observations are normalised)
        tb/              TensorBoard logs
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = [
    "append_jsonl",
    "read_jsonl",
    "read_status",
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
