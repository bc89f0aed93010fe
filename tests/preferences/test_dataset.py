from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from rewardlab.errors import ConfigError, UnknownNameError
from rewardlab.preferences import PreferenceDataset, Segments, collect_segments


@pytest.fixture(scope="module")
def segments() -> Segments:
    return collect_segments("cartpole", n_segments=6, length=30, seed=0)


@pytest.fixture
def dataset(segments: Segments) -> PreferenceDataset:
    prov = [{"source": "synthetic", "oracle": "env reward", "created": "2025-01-01T00:00:00+00:00"}]
    return PreferenceDataset(segments, [[0, 1], [2, 3], [4, 5]], [1.0, 0.0, 0.5], provenance=prov)


def assert_same(a: PreferenceDataset, b: PreferenceDataset) -> None:
    assert a.env == b.env and a.provenance == b.provenance
    np.testing.assert_array_equal(a.pairs, b.pairs)
    np.testing.assert_array_equal(a.labels, b.labels)
    for key, value in a.segments.to_arrays().items():
        np.testing.assert_array_equal(value, b.segments.to_arrays()[key], err_msg=key)
        assert value.dtype == b.segments.to_arrays()[key].dtype


def test_save_load_round_trip(dataset: PreferenceDataset, tmp_path: Path) -> None:
    root = dataset.save(tmp_path / "prefs")
    loaded = PreferenceDataset.load(root)
    assert_same(dataset, loaded)
    header = json.loads((root / "preferences.json").read_text())
    assert header["env"] == "cartpole" and header["segment_length"] == 30 and header["obs_shape"] == [4]
    assert header["factor_names"] == sorted(dataset.segments.factors) and header["format_version"] == 1


def test_atomic_save_leaves_no_temp_or_stale_files(dataset: PreferenceDataset, tmp_path: Path) -> None:
    root = dataset.save(tmp_path / "prefs")
    dataset.append(pairs=[[0, 5]], labels=[1.0], provenance={"source": "test"})
    dataset.save(root)
    names = sorted(p.name for p in root.iterdir())
    assert len(names) == 2 and names[1] == "preferences.json" and names[0].startswith("data-")
    assert not list(root.glob(".*"))


def test_append_segments_reindexes_pairs_and_saves_again(dataset: PreferenceDataset, tmp_path: Path) -> None:
    more = collect_segments("cartpole", n_segments=2, length=30, seed=7)
    dataset.save(tmp_path / "p")
    loaded = PreferenceDataset.load(tmp_path / "p")
    loaded.append(segments=more, pairs=[[0, 1]], labels=[0.25], provenance={"source": "synthetic", "oracle": "x"})
    assert len(loaded.segments) == 8 and len(loaded) == 4
    np.testing.assert_array_equal(loaded.pairs[-1], [6, 7])
    assert loaded.provenance[-1]["oracle"] == "x" and "created" in loaded.provenance[-1]
    loaded.append(pairs=[[7, 0]], labels=[1.0])
    loaded.save(tmp_path / "p")
    again = PreferenceDataset.load(tmp_path / "p")
    assert_same(loaded, again)
    np.testing.assert_array_equal(again.segments.obs[6:], more.obs)


def test_append_rejects_other_envs_and_pairs_without_labels(dataset: PreferenceDataset) -> None:
    other = collect_segments("pendulum", n_segments=1, length=30)
    with pytest.raises(ConfigError, match=r"`segments\.env` must be 'cartpole'"):
        dataset.append(segments=other)
    with pytest.raises(ConfigError, match="`labels` must be given together with `pairs`"):
        dataset.append(pairs=[[0, 1]])


@pytest.mark.parametrize(
    ("pairs", "labels", "match"),
    [
        ([[0, 1]], [1.5], r"`labels\[0\]` must be a finite number in \[0, 1\].*\(got 1.5\)"),
        ([[0, 1]], [np.nan], r"`labels\[0\]` must be a finite number.*\(got nan\)"),
        ([[0, 9]], [1.0], r"`pairs\[0, 1\]` must be a segment index in \[0, 6\) \(got 9\)"),
        ([[0, 1]], [1.0, 0.0], r"`labels` must be of shape \(1,\)"),
        ([0, 1], [1.0], r"`pairs` must be an \(M, 2\) array"),
    ],
    ids=["label-above-1", "nan-label", "pair-out-of-range", "label-count", "pairs-shape"],
)
def test_constructor_validates(segments: Segments, pairs: list, labels: list, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        PreferenceDataset(segments, pairs, labels)


def _edit(root: Path, header: dict | None = None, **arrays: np.ndarray) -> None:
    """Rewrite a saved dataset's header and/or arrays in place, bypassing validation."""
    head = json.loads((root / "preferences.json").read_text())
    head.update(header or {})
    with np.load(root / head["data"]) as npz:
        data = {k: npz[k] for k in npz.files}
    data.update(arrays)
    np.savez(root / head["data"], **data)
    head["sha256"] = hashlib.sha256((root / head["data"]).read_bytes()).hexdigest()  # as if saved so
    (root / "preferences.json").write_text(json.dumps(head))


@pytest.mark.parametrize(
    ("header", "arrays", "error", "match"),
    [
        ({"env": "cartpol"}, {}, UnknownNameError, r"got 'cartpol'.*Did you mean 'cartpole'"),
        ({"obs_shape": [5]}, {}, ConfigError, r"obs_shape` must be \[5\] as the header says \(got \[4\]\)"),
        ({}, {"actions": np.zeros((6, 29), dtype=np.int64)}, ConfigError, r"`actions` must be of shape \(6, 30"),
        ({}, {"labels": np.array([1.0, -0.5, 0.5])}, ConfigError, r"`labels\[1\]` must be .*\(got -0.5\)"),
        ({}, {"labels": np.array([1.0, np.nan, 0.5])}, ConfigError, r"`labels\[1\]` must be .*\(got nan\)"),
        ({}, {"pairs": np.array([[0, 1], [2, 6], [4, 5]])}, ConfigError, r"`pairs\[1, 1\]` must be a segment"),
        ({"format_version": 99}, {}, ConfigError, r"`format_version` must be 1 \(got 99\)"),
    ],
    ids=["unknown-env", "obs-shape", "actions-shape", "negative-label", "nan-label", "pair-range", "version"],
)
def test_load_validates(
    dataset: PreferenceDataset, tmp_path: Path, header: dict, arrays: dict, error: type, match: str
) -> None:
    root = dataset.save(tmp_path / "p")
    _edit(root, header, **arrays)
    with pytest.raises(error, match=match):
        PreferenceDataset.load(root)


def test_a_header_may_not_point_outside_its_folder_or_skip_the_checksum(
    dataset: PreferenceDataset, tmp_path: Path
) -> None:
    root = dataset.save(tmp_path / "p")
    head = json.loads((root / "preferences.json").read_text())
    outside = tmp_path / "elsewhere.npz"
    outside.write_bytes((root / head["data"]).read_bytes())
    for data in ("../elsewhere.npz", str(outside), "data-0123456789abcdef.npz/../../elsewhere.npz"):
        (root / "preferences.json").write_text(json.dumps({**head, "data": data}))
        with pytest.raises(ConfigError, match=r"data` must be the name of a data-<hash>\.npz file beside the header"):
            PreferenceDataset.load(root)
    (root / "preferences.json").write_text(json.dumps({k: v for k, v in head.items() if k != "sha256"}))
    with pytest.raises(ConfigError, match=r"Missing \['sha256'\]"):
        PreferenceDataset.load(root)


def test_load_without_header_or_with_edited_data(dataset: PreferenceDataset, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"`path` must be a dataset directory with preferences\.json"):
        PreferenceDataset.load(tmp_path / "missing")
    root = dataset.save(tmp_path / "p")
    name = json.loads((root / "preferences.json").read_text())["data"]
    (root / name).write_bytes((root / name).read_bytes() + b"x")
    with pytest.raises(ConfigError, match="It was modified"):
        PreferenceDataset.load(root)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_export_then_import_human_labels(dataset: PreferenceDataset, tmp_path: Path, suffix: str) -> None:
    assert "left_return" not in dataset.export_pairs_to_label(tmp_path / f"hidden{suffix}").read_text()
    path = dataset.export_pairs_to_label(tmp_path / f"to_label{suffix}", show_returns=True)
    if suffix == ".csv":
        lines = path.read_text().splitlines()
        assert lines[0].startswith("pair_id,left,right,left_steps,right_steps,left_return,right_return")
        rows = [line.rsplit(",", 1)[0] for line in lines[1:]]
        path.write_text("\n".join([lines[0], rows[0] + ",right", rows[1] + ",EQUAL", rows[2] + ","]) + "\n")
    else:
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        assert rows[0]["left_return"] == dataset.segments.returns()[0]
        for row, label in zip(rows, ["right", "equal", ""], strict=True):
            row["label"] = label
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert dataset.import_labels(path, provenance={"annotator": "ann"}) == 2
    np.testing.assert_array_equal(dataset.labels, [0.0, 0.5, 0.5])  # the empty label kept the old one
    assert dataset.provenance[-1]["source"] == "human" and dataset.provenance[-1]["annotator"] == "ann"


def test_import_accepts_numbers_and_words(dataset: PreferenceDataset, tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("pair_id,label\n0,0\n1,left\n2,0.75\n")
    dataset.import_labels(path)
    np.testing.assert_array_equal(dataset.labels, [0.0, 1.0, 0.75])


@pytest.mark.parametrize(
    ("text", "suffix", "match"),
    [
        ("pair_id,label\n7,left\n", ".csv", r"labels.csv:2 pair_id` must be a pair id in \[0, 3\) \(got 7\)"),
        ("pair_id,label\n0,maybe\n", ".csv", r"label` must be 'left', 'right', 'equal' or a number.*'maybe'"),
        ("pair_id,label\n0,1.5\n", ".csv", r"label` must be .*\(got '1.5'\)"),
        ("pair_id,label\n0,nan\n", ".csv", r"label` must be .*\(got 'nan'\)"),
        ("pair_id,label\n0\n", ".csv", r"labels.csv:2` must be a row with one value per column"),
        ("pair_id,label\nx,left\n", ".csv", r"pair_id` must be an integer \(got 'x'\)"),
        ("pair_id,label\n0,left\n0,right\n", ".csv", r"must be labelled once \(got 0\)"),
        ('{"pair_id": 0, "label": "left"}\n{"pair_id": 1\n', ".jsonl", r"labels.jsonl:2` must be a JSON object"),
        ('{"pair": 0, "label": "left"}\n', ".jsonl", r"must be a row with `pair_id` and `label`"),
    ],
    ids=["unknown-id", "bad-word", "out-of-range", "nan", "short-row", "bad-id", "duplicate", "bad-json", "no-id"],
)
def test_import_rejects_bad_rows_and_changes_nothing(
    dataset: PreferenceDataset, tmp_path: Path, text: str, suffix: str, match: str
) -> None:
    path = tmp_path / f"labels{suffix}"
    path.write_text(text)
    before = dataset.labels.copy()
    with pytest.raises(ConfigError, match=match):
        dataset.import_labels(path)
    np.testing.assert_array_equal(dataset.labels, before)
