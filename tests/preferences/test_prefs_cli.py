"""``rewardlab prefs collect | label | train | export`` and ``rewardlab rlhf`` from the command line."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from rewardlab import suite
from rewardlab.cli import main
from rewardlab.preferences import PreferenceDataset
from rewardlab.rewards import from_dict

torch.set_num_threads(1)

# RewardModel.load rebuilds the Box spaces from float64 bounds and gymnasium warns about the cast to
# float32 (a bug of rewardlab/preferences/_model.py's _build_space, reported); not the CLI's.


def _collect(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    out = tmp_path / "ds"
    args = ["prefs", "collect", "--env", "pendulum", "--n-segments", "40", "--length", "10", "--pairs", "80"]
    assert main([*args, "--out", str(out)]) == 0
    assert "40 segments" in capsys.readouterr().out
    return out


def test_collect_label_train_round_trip_gives_a_usable_learned_reward(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ds_dir = _collect(tmp_path, capsys)
    ds = PreferenceDataset.load(ds_dir)
    assert len(ds.segments) == 40 and len(ds) == 0  # segments only: nothing labelled yet
    rows = list(csv.DictReader(io.StringIO((ds_dir / "queries.csv").read_text())))
    assert len(rows) == 80 and all(r["label"] == "" for r in rows)

    assert main(["prefs", "label", str(ds_dir), "--temperature", "0"]) == 0
    ds = PreferenceDataset.load(ds_dir)
    assert len(ds) == 80
    # a rational oracle on the env reward: the label is the side with the larger return
    g = ds.segments.returns()
    expected = (np.sign(g[ds.pairs[:, 0]] - g[ds.pairs[:, 1]]) + 1) / 2
    np.testing.assert_array_equal(ds.labels, expected)

    model_dir = tmp_path / "model"
    args = ["prefs", "train", str(ds_dir), "--out", str(model_dir), "--epochs", "20", "--hidden", "32", "--no-progress"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "validation accuracy" in out and str(model_dir) in out
    fn = from_dict({"kind": "learned", "model": str(model_dir)}).build(suite.get("pendulum"))
    r, _ = fn.compute(ds.segments.obs[0], ds.segments.actions[0], ds.segments.next_obs[0], ds.segments.dones[0])
    assert r.shape == (10,) and np.all(np.isfinite(r))


def test_export_writes_pairs_and_human_labels_come_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ds_dir = _collect(tmp_path, capsys)
    to_label = tmp_path / "more.csv"
    assert main(["prefs", "export", str(ds_dir), "--out", str(to_label), "--pairs", "6", "--seed", "3"]) == 0
    rows = list(csv.DictReader(io.StringIO(to_label.read_text())))
    assert len(rows) == 6 and {"pair_id", "left", "right", "label"} <= set(rows[0])
    assert not any("return" in key for key in rows[0])  # hidden: a labeller must not see the returns
    assert "write 1 (or left) when the left segment is better" in capsys.readouterr().out
    # a person fills in four rows (two left unlabelled)
    for row, word in zip(rows, ["left", "right", "equal", "0.25", "", ""], strict=True):
        row["label"] = word
    with to_label.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert main(["prefs", "label", str(ds_dir), "--from-file", str(to_label)]) == 0
    ds = PreferenceDataset.load(ds_dir)
    np.testing.assert_array_equal(ds.labels, [1.0, 0.0, 0.5, 0.25])
    np.testing.assert_array_equal(ds.pairs, [[int(r["left"]), int(r["right"])] for r in rows[:4]])
    assert ds.provenance[-1]["source"] == "human"


def test_label_rejects_a_bad_label_with_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ds_dir = _collect(tmp_path, capsys)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"pair_id": 0, "left": 0, "right": 1, "label": "maybe"}) + "\n")
    assert main(["prefs", "label", str(ds_dir), "--from-file", str(bad)]) == 2
    assert "bad.jsonl:1" in capsys.readouterr().err


def test_train_refuses_an_unlabelled_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ds_dir = _collect(tmp_path, capsys)
    assert main(["prefs", "train", str(ds_dir), "--out", str(tmp_path / "m")]) == 2
    assert "prefs label" in capsys.readouterr().err


def test_rlhf_command_prints_the_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "rlhf", "--env", "cartpole", "--timesteps", "128", "--labels", "12", "--iterations", "1",
        "--segment-length", "10", "--ensemble", "2", "--hidden", "16", "--reward-epochs", "2", "--n-envs", "2",
        "--set", "n_steps=32", "--set", "batch_size=64", "--set", "n_epochs=1", "--eval-episodes", "1",
        "--runs-dir", str(tmp_path), "--run-name", "cli", "--no-progress",
    ]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Labels used: 12 of 12" in out
    assert "ground-truth env return" in out and "validation accuracy" in out
    assert (tmp_path / "rlhf" / "cli" / "state.json").is_file()
