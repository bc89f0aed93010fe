"""Preference datasets on disk: segments, pairs of them, and labels, in an open format.

A dataset is a directory::

    my_prefs/
        preferences.json     header: format, version, env, factor names, shapes, counts,
                             the data file's name and sha256, provenance
        data-<hash>.npz      obs, actions, next_obs, dones, truncated, env_rewards, mask,
                             factor.<name> (one per factor), pairs (M, 2) int64, labels (M,) float64

Everything is readable without rewardlab (``json`` + ``numpy.load(allow_pickle=False)``).
``labels[i]`` is the probability that segment ``pairs[i, 0]`` is preferred to ``pairs[i, 1]``:
1 = first preferred, 0 = second preferred, 0.5 = equal. The pair id of a pair is its row in
``pairs``.

Saving is atomic: the data file gets a new content-addressed name, then the header is replaced
(write a temporary file, rename); the header is the commit point, so a reader sees the old dataset
or the new one, never a mix. Stale data files are removed after the header is written.

Human labels: :meth:`PreferenceDataset.export_pairs_to_label` writes a CSV or JSONL of the pairs
with each segment's return (env reward and every factor) and an empty ``label`` column, and
with ``clips=True`` an animated GIF of each pair (left | right) beside it
(:func:`rewardlab.preferences.write_pair_clips`); :meth:`PreferenceDataset.import_labels` reads
the labels back.
"""

from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import io
import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rewardlab import suite
from rewardlab.data import Segments
from rewardlab.errors import ConfigError, UnknownNameError, message
from rewardlab.preferences._clips import write_pair_clips
from rewardlab.runs import write_atomic, write_json

__all__ = ["FORMAT_VERSION", "LABEL_WORDS", "PreferenceDataset"]

FORMAT_VERSION = 1
"""Version of the on-disk format written by :meth:`PreferenceDataset.save`."""

HEADER = "preferences.json"
"""File name of the JSON header inside a dataset directory."""
_DATA_NAME = re.compile(r"data-[0-9a-f]{16}\.npz")
"""What :meth:`PreferenceDataset.save` names a data file (no folder: it lies beside the header)."""

LABEL_WORDS = {"left": 1.0, "first": 1.0, "right": 0.0, "second": 0.0, "equal": 0.5, "tie": 0.5}
"""Words accepted as labels by :meth:`PreferenceDataset.import_labels` (case-insensitive)."""

_RESERVED = ("pairs", "labels")


def now() -> str:
    """The current UTC time in ISO 8601, for provenance entries."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _check_pairs(pairs: Any, n_segments: int, where: str = "pairs") -> np.ndarray:
    arr = np.asarray(pairs)
    if arr.size == 0:
        arr = arr.reshape(0, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ConfigError(message(where, "an (M, 2) array of segment indices", arr.shape, "Pass one row per pair."))
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise ConfigError(message(where, "integer segment indices", str(arr.dtype), "Pass an int array."))
    bad = (arr < 0) | (arr >= n_segments)
    if bad.any():
        row, col = (int(x) for x in np.argwhere(bad)[0])
        raise ConfigError(
            message(
                f"{where}[{row}, {col}]",
                f"a segment index in [0, {n_segments})",
                int(arr[row, col]),
                f"The dataset has {n_segments} segments; append the segments first or fix the index.",
            )
        )
    return arr.astype(np.int64)


def _check_labels(labels: Any, m: int, where: str = "labels") -> np.ndarray:
    try:
        arr = np.asarray(labels, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ConfigError(message(where, "an (M,) float array", type(labels).__name__)) from exc
    arr = arr.reshape(-1) if arr.ndim == 0 and m == 1 else arr
    if arr.shape != (m,):
        raise ConfigError(message(where, f"of shape ({m},), one label per pair", arr.shape))
    bad = ~np.isfinite(arr) | (arr < 0.0) | (arr > 1.0)
    if bad.any():
        i = int(np.argmax(bad))
        raise ConfigError(
            message(
                f"{where}[{i}]",
                "a finite number in [0, 1] (1 = first preferred, 0 = second, 0.5 = equal)",
                float(arr[i]),
                "Fix or drop that label.",
            )
        )
    return arr


def _check_env(env: str, where: str = "env") -> str:
    try:
        return suite.get(env).name
    except UnknownNameError as exc:
        raise UnknownNameError(f"{where}: {exc}") from exc


class PreferenceDataset:
    """Segments, pairs of segment indices and a label per pair, with their provenance.

    Args:
        segments: the :class:`Segments` the pairs index into.
        pairs: ``(M, 2)`` int segment indices; pair id ``i`` is row ``i``.
        labels: ``(M,)`` floats in ``[0, 1]``: 1 = first preferred, 0 = second, 0.5 = equal
            (soft labels in between are allowed).
        env: suite env name; defaults to ``segments.env``.
        provenance: who or what labelled, as JSON-ready dicts, e.g.
            ``{"source": "synthetic", "oracle": "env reward, T=0", "created": "2025-..."}``.

    Raises:
        ConfigError: pairs out of range, labels outside ``[0, 1]`` or not finite, mismatched sizes.
        UnknownNameError: ``env`` is not in the suite (the message suggests the closest name).

    Example:
        >>> from rewardlab.preferences import collect_segments
        >>> seg = collect_segments("cartpole", n_segments=4, length=20, seed=0)
        >>> ds = PreferenceDataset(seg, [[0, 1], [2, 3]], [1.0, 0.5], provenance=[{"source": "doc"}])
        >>> len(ds), ds.env
        (2, 'cartpole')
    """

    def __init__(
        self,
        segments: Segments,
        pairs: Any,
        labels: Any,
        env: str | None = None,
        provenance: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        if not isinstance(segments, Segments):
            raise ConfigError(message("segments", "a Segments object", type(segments).__name__))
        self.env = _check_env(env or segments.env)
        if segments.env and segments.env != self.env:
            raise ConfigError(message("env", f"{segments.env!r} like the segments", self.env))
        self.segments = segments
        self.pairs = _check_pairs(pairs, len(segments))
        self.labels = _check_labels(labels, len(self.pairs))
        self.provenance: list[dict[str, Any]] = [dict(p) for p in provenance]

    def __len__(self) -> int:
        """The number of labelled pairs ``M``."""
        return len(self.pairs)

    def __repr__(self) -> str:
        return f"PreferenceDataset(env={self.env!r}, segments={len(self.segments)}, pairs={len(self)})"

    # --- growing -----------------------------------------------------------------------------------

    def append(
        self,
        segments: Segments | None = None,
        pairs: Any = None,
        labels: Any = None,
        provenance: Mapping[str, Any] | None = None,
    ) -> PreferenceDataset:
        """Add segments and/or labelled pairs in place; returns ``self``.

        Args:
            segments: new segments (same env, length, shapes and factors). When given, ``pairs``
                index into *these* segments and are re-indexed to the dataset's numbering.
            pairs: ``(K, 2)`` segment indices (into ``segments`` when given, else into the dataset).
            labels: ``(K,)`` labels for ``pairs``.
            provenance: one entry describing where the new labels come from; ``created`` is
                filled with the current time when missing.

        Raises:
            ConfigError: as the constructor, or ``pairs`` without ``labels`` (or vice versa).
        """
        if (pairs is None) != (labels is None):
            raise ConfigError(message("labels", "given together with `pairs`", labels, "Pass both or neither."))
        offset = len(self.segments)
        new_segments = self.segments if segments is None else self.segments.concatenate(segments)
        new_pairs = self.pairs
        new_labels = self.labels
        if pairs is not None:
            base = len(segments) if segments is not None else offset
            p = _check_pairs(pairs, base)
            if segments is not None:
                p = p + offset
            new_pairs = np.concatenate([self.pairs, p])
            new_labels = np.concatenate([self.labels, _check_labels(labels, len(p))])
        self.segments, self.pairs, self.labels = new_segments, new_pairs, new_labels
        if provenance is not None:
            self.provenance.append({**dict(provenance), "created": provenance.get("created", now())})
        return self

    def append_labels(self, pairs: Any, labels: Any, provenance: Mapping[str, Any] | None = None) -> tuple[int, int]:
        """Append labelled pairs of the dataset's own segments, skipping the pairs it already holds.

        A pair is identified by its ordered segment indices ``(left, right)``, as pairs are drawn
        (:func:`~rewardlab.preferences.select_pairs` counts ``(3, 5)`` and ``(5, 3)`` apart), so
        labelling the same queries file twice, or importing the same labels file twice, adds
        nothing the second time; within ``pairs`` the first row of a pair is kept. The provenance
        entry is appended only when a pair is added.

        Returns:
            ``(added, already_there)``: the pairs appended and the pairs skipped.

        Raises:
            ConfigError: as :meth:`append` (indices out of range, bad labels).
        """
        p = _check_pairs(pairs, len(self.segments))
        lab = _check_labels(labels, len(p))
        seen = {(a, b) for a, b in self.pairs.tolist()}
        keep = np.zeros(len(p), dtype=bool)
        for i, (a, b) in enumerate(p.tolist()):
            key = (a, b)
            if key not in seen:
                seen.add(key)
                keep[i] = True
        added = int(keep.sum())
        if added:
            self.append(pairs=p[keep], labels=lab[keep], provenance=provenance)
        return added, len(p) - added

    # --- disk --------------------------------------------------------------------------------------

    def header(self) -> dict[str, Any]:
        """The JSON header that :meth:`save` writes (without the data file's name and hash)."""
        return {
            "format": "rewardlab.preferences",
            "format_version": FORMAT_VERSION,
            "env": self.env,
            "factor_names": sorted(self.segments.factors),
            "segment_length": self.segments.length,
            "obs_shape": list(self.segments.obs_shape),
            "action_shape": list(self.segments.action_shape),
            "n_segments": len(self.segments),
            "n_pairs": len(self),
            "provenance": self.provenance,
        }

    def save(self, path: str | Path) -> Path:
        """Write the dataset to the directory ``path`` (created if needed), atomically.

        Returns:
            The directory.
        """

        root = Path(path)
        root.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        arrays = {**self.segments.to_arrays(), "pairs": self.pairs, "labels": self.labels}
        np.savez(buffer, **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds loosely
        data = buffer.getvalue()
        digest = hashlib.sha256(data).hexdigest()
        name = f"data-{digest[:16]}.npz"
        write_atomic(root / name, data)
        write_json(root / HEADER, {**self.header(), "data": name, "sha256": digest})
        for stale in root.glob("data-*.npz"):
            if stale.name != name:
                stale.unlink(missing_ok=True)
        return root

    @classmethod
    def load(cls, path: str | Path) -> PreferenceDataset:
        """Read a dataset written by :meth:`save` (no pickles are loaded) and validate it.

        Args:
            path: the dataset directory (or its ``preferences.json``).

        Raises:
            ConfigError: missing or unreadable header or data file, unsupported version,
                inconsistent shapes, pairs out of range, labels outside ``[0, 1]`` or not finite.
            UnknownNameError: the env is not in the suite (the message suggests the closest).
        """
        p = Path(path)
        header_path = p if p.suffix == ".json" else p / HEADER
        where = str(header_path)
        if not header_path.is_file():
            raise ConfigError(
                message(
                    "path", f"a dataset directory with {HEADER}", str(path), "Save one with PreferenceDataset.save."
                )
            )
        try:
            header = json.loads(header_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(message(where, "valid JSON", str(exc), "The header is corrupt; re-save.")) from exc
        if not isinstance(header, dict):
            raise ConfigError(message(where, "a JSON object", type(header).__name__))
        required = (
            "format_version", "env", "factor_names", "segment_length", "obs_shape", "action_shape", "data", "sha256",
        )  # fmt: skip
        missing = [k for k in required if k not in header]
        if missing:
            raise ConfigError(message(f"{where} keys", "complete", sorted(header), f"Missing {missing}."))
        if header["format_version"] != FORMAT_VERSION:
            raise ConfigError(
                message(
                    "format_version",
                    f"{FORMAT_VERSION}",
                    header["format_version"],
                    "Upgrade rewardlab to read this dataset.",
                )
            )
        env = _check_env(str(header["env"]), f"{where} env")
        name = header["data"]
        if not isinstance(name, str) or not _DATA_NAME.fullmatch(name):
            # a header someone sent may point anywhere: only a data file of this folder is read
            raise ConfigError(
                message(f"{where} data", "the name of a data-<hash>.npz file beside the header", name, "Re-save it.")
            )
        data_path = header_path.parent / name
        if not data_path.is_file():
            raise ConfigError(message("data", "an existing .npz beside the header", str(data_path), "Re-save."))
        raw = data_path.read_bytes()
        if hashlib.sha256(raw).hexdigest() != header["sha256"]:
            raise ConfigError(message("data", f"the file hashed in {HEADER}", data_path.name, "It was modified."))
        try:
            with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
        except (ValueError, OSError) as exc:
            raise ConfigError(message("data", "an .npz without pickles", data_path.name, str(exc))) from exc
        for key in _RESERVED:
            if key not in arrays:
                raise ConfigError(message("data", f"an .npz with `{key}`", sorted(arrays), f"Missing `{key}`."))
        segments = Segments.from_arrays(arrays, env)
        for what, expected, got in (
            ("segment_length", header["segment_length"], segments.length),
            ("obs_shape", list(header["obs_shape"]), list(segments.obs_shape)),
            ("action_shape", list(header["action_shape"]), list(segments.action_shape)),
            ("factor_names", sorted(header["factor_names"]), sorted(segments.factors)),
            ("n_segments", header.get("n_segments", len(segments)), len(segments)),
            ("n_pairs", header.get("n_pairs", len(arrays["pairs"])), len(arrays["pairs"])),
        ):
            if expected != got:
                raise ConfigError(
                    message(
                        f"{data_path.name}: {what}",
                        f"{expected!r} as the header says",
                        got,
                        "The header and data disagree; re-save.",
                    )
                )
        return cls(segments, arrays["pairs"], arrays["labels"], env, header.get("provenance", []))

    # --- human labels ------------------------------------------------------------------------------

    def export_pairs_to_label(
        self,
        path: str | Path,
        pair_ids: Any = None,
        *,
        clips: bool = False,
        fps: int = 30,
        show_returns: bool = False,
    ) -> Path:
        """Write the pairs for a person to label, as CSV (``.csv``) or JSON lines (``.jsonl``).

        Each row: ``pair_id``, ``left`` and ``right`` (segment indices), ``left_steps`` and
        ``right_steps`` (real steps), with ``clips=True`` a ``clip`` column, and an empty
        ``label`` to fill in (see :meth:`import_labels`: 1 or ``left`` when the left segment is
        better, 0 or ``right`` when the right one is, 0.5 or ``equal``). The segments' returns are
        left out by default, so they cannot bias the labeller; ``show_returns=True`` adds
        ``left_return`` / ``right_return`` (env reward) and ``left_<factor>`` / ``right_<factor>``.

        Args:
            path: the file to write (atomically).
            pair_ids: the pairs to export (default: all).
            clips: also render each pair as an animated GIF (left | right,
                :func:`~rewardlab.preferences.write_pair_clips`) into the folder ``<stem>_clips/``
                beside ``path``; the ``clip`` column holds its path relative to ``path``'s folder
                (``<stem>_clips/pair_<id>.gif``). The clips are written before the label file, so
                a rendering error leaves no label file behind.
            fps: frames per second of the clips.
            show_returns: add the segments' env returns and summed factors (for analysis, not
                for a labeller).

        Returns:
            The label file.

        Raises:
            ConfigError: unknown pair ids, a suffix other than ``.csv``/``.jsonl``; with
                ``clips=True``, an env that cannot be rendered from observations (no
                ``set_state``: export without clips) or no OpenGL backend for MuJoCo.
            MissingDependencyError: with ``clips=True``, the env's renderer needs a missing
                package (pygame for classic control).
        """

        p = Path(path)
        ids = self._check_pair_ids(pair_ids)
        if p.suffix not in (".csv", ".jsonl"):
            raise ConfigError(message("path", "a .csv or .jsonl file", str(path), "Use one of these suffixes."))
        clip_paths: dict[int, str] = {}
        if clips:
            folder = f"{p.stem}_clips"
            written = write_pair_clips(self, p.parent / folder, ids, fps=fps)
            clip_paths = {int(i): f"{folder}/{w.name}" for i, w in zip(ids, written, strict=True)}
        sums: dict[str, np.ndarray] = {}
        if show_returns:
            sums["return"] = self.segments.returns()
            sums.update({f: self.segments.returns({f: 1.0}) for f in sorted(self.segments.factors)})
        steps = self.segments.mask.sum(axis=1)
        rows = []
        for i in ids:
            left, right = (int(x) for x in self.pairs[i])
            row: dict[str, Any] = {"pair_id": int(i), "left": left, "right": right}
            row["left_steps"], row["right_steps"] = int(steps[left]), int(steps[right])
            for key, values in sums.items():
                row[f"left_{key}"], row[f"right_{key}"] = float(values[left]), float(values[right])
            if clips:
                row["clip"] = clip_paths[int(i)]
            row["label"] = ""
            rows.append(row)
        if p.suffix == ".jsonl":
            text = "".join(json.dumps(r) + "\n" for r in rows)
        else:
            out = io.StringIO()
            fields = list(rows[0]) if rows else ["pair_id", "left", "right", "label"]
            writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
            text = out.getvalue()
        write_atomic(p, text)
        return p

    def _check_pair_ids(self, pair_ids: Any) -> np.ndarray:
        """``(k,)`` int64 pair ids (all pairs when None); unknown ids raise a ConfigError."""
        ids = np.arange(len(self)) if pair_ids is None else np.asarray(pair_ids, dtype=np.int64).reshape(-1)
        if len(ids) and (ids.min() < 0 or ids.max() >= len(self)):
            raise ConfigError(message("pair_ids", f"ids in [0, {len(self)})", ids.tolist(), "Pass existing pair ids."))
        return ids

    def import_labels(self, path: str | Path, provenance: Mapping[str, Any] | None = None) -> int:
        """Read human labels from a CSV or JSONL file and set them on the dataset's pairs.

        Each row needs ``pair_id`` (a pair's row in :attr:`pairs`) and ``label``; other columns
        (what :meth:`export_pairs_to_label` wrote) are ignored. A label is ``left``/``first``
        (1: the first segment is preferred), ``right``/``second`` (0), ``equal``/``tie`` (0.5),
        case-insensitive, or a number in ``[0, 1]`` with the same meaning. Rows with an empty
        label are skipped (not labelled yet). A provenance entry is appended (``source =
        "human"``, the file name, the count, the time, plus ``provenance``).

        Returns:
            The number of labels imported.

        Raises:
            ConfigError: a malformed row, an unknown pair id, a bad label, or a pair labelled
                twice; the message names the file and line. Nothing is changed then.
        """
        p = Path(path)
        if not p.is_file():
            raise ConfigError(message("path", "a readable .csv or .jsonl file", str(path), "Check the path."))
        rows = list(self.read_rows(p))
        updates: dict[int, float] = {}
        for line, row in rows:
            where = f"{p.name}:{line}"
            if "pair_id" not in row or "label" not in row:
                raise ConfigError(
                    message(where, "a row with `pair_id` and `label`", row, "Add both columns (see export).")
                )
            value = row["label"]
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            try:
                pair_id = int(str(row["pair_id"]).strip())
            except ValueError as exc:
                raise ConfigError(message(f"{where} pair_id", "an integer", row["pair_id"])) from exc
            if not 0 <= pair_id < len(self):
                raise ConfigError(
                    message(
                        f"{where} pair_id",
                        f"a pair id in [0, {len(self)})",
                        pair_id,
                        "Label only pairs exported from this dataset.",
                    )
                )
            if pair_id in updates:
                raise ConfigError(message(f"{where} pair_id", "labelled once", pair_id, "Drop the duplicate row."))
            updates[pair_id] = parse_label(value, where)
        for pair_id, label in updates.items():
            self.labels[pair_id] = label
        entry = {"source": "human", "file": p.name, "n_labels": len(updates), "created": now()}
        self.provenance.append({**entry, **dict(provenance or {})})
        return len(updates)

    @staticmethod
    def read_rows(p: Path) -> list[tuple[int, dict[str, Any]]]:
        """``(line number, row)`` of a labelled CSV or JSONL file (as exported by :meth:`export_pairs_to_label`)."""
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(
                message(
                    p.name,
                    "a UTF-8 text file",
                    exc.object[exc.start : exc.start + 1],
                    f"Byte {exc.start} is not UTF-8: save the file as UTF-8 (CSV UTF-8 in a spreadsheet).",
                )
            ) from None
        except OSError as exc:
            raise ConfigError(message("path", "a readable .csv or .jsonl file", str(p), str(exc))) from None
        if p.suffix == ".jsonl":
            out = []
            for i, line in enumerate(text.splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ConfigError(message(f"{p.name}:{i}", "a JSON object", line, str(exc))) from exc
                if not isinstance(obj, dict):
                    raise ConfigError(message(f"{p.name}:{i}", "a JSON object", line))
                out.append((i, obj))
            return out
        if p.suffix == ".csv":
            reader = csv.DictReader(io.StringIO(text))
            out = []
            for row in reader:
                if None in row or any(v is None for v in row.values()):
                    raise ConfigError(
                        message(f"{p.name}:{reader.line_num}", "a row with one value per column", row, "Fix the row.")
                    )
                out.append((reader.line_num, dict(row)))
            return out
        raise ConfigError(message("path", "a .csv or .jsonl file", str(p), "Use one of these suffixes."))


def parse_label(value: Any, where: str) -> float:
    """A label from a number in [0, 1] or a word (left, right, equal, ...); `where` names it in errors."""
    if isinstance(value, str):
        word = value.strip().lower()
        if word in LABEL_WORDS:
            return LABEL_WORDS[word]
        try:
            number = float(word)
        except ValueError:
            number = math.nan
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    else:
        number = math.nan
    if not (math.isfinite(number) and 0.0 <= number <= 1.0):
        raise ConfigError(
            message(
                f"{where} label",
                "'left', 'right', 'equal' or a number in [0, 1]",
                value,
                "1/left = first segment preferred, 0/right = second, 0.5/equal = no preference.",
            )
        )
    return number
