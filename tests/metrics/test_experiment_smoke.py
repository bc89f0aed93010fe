"""Smoke test of scripts/starc_random_mdps.py: a tiny --quick run writes its files and looks sane."""

from __future__ import annotations

import csv
import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "starc_random_mdps.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("starc_random_mdps", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve the module by name
    spec.loader.exec_module(module)
    return module


def test_quick_run_writes_results_and_starc_val_tracks_regret(tmp_path):
    script = _load_script()
    out = script.main(["--quick", "--n-mdps", "2", "--n-rewards", "6", "--bootstrap", "50", "--out", str(tmp_path)])

    assert out == tmp_path
    for name in ("config.json", "results.csv", "correlations.csv", "scatter.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    with (tmp_path / "results.csv").open() as f:
        results = list(csv.DictReader(f))
    assert len(results) == 2 * 6 * 16
    assert {"regret", "STARC-VAL-2-2", "STARC-minimal-1-1", "EPIC-pearson", "DARD-inf-inf"} <= set(results[0])
    assert all(0.0 <= float(row["regret"]) <= 1.0 for row in results)
    with (tmp_path / "correlations.csv").open() as f:
        corr = {row["distance"]: float(row["pearson_r"]) for row in csv.DictReader(f)}
    assert len(corr) == 4 * 9 + 2
    assert corr["STARC-VAL-2-2"] > 0.0
