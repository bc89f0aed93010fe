"""Helpers of the experiment scripts that compute numbers quoted in notes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

import rewardlab as rl

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_best_shift_starc_removes_a_constant_shift_on_live_transitions() -> None:
    script = _load("learned_starc_vs_labels")
    model = rl.metrics.tabular_model("cliffworld")
    truth = rl.metrics.reward_table("env", "cliffworld")
    live = ~np.asarray(model.terminal, dtype=bool)[:, None, None] & np.ones(truth.shape, dtype=bool)
    shifted = np.where(live, truth + 0.7, truth)  # a per-step bonus: changes what ending an episode is worth
    assert rl.metrics.starc_distance(shifted, truth, model.mdp) > 0.4  # measured 0.527
    assert rl.metrics.epic_distance(shifted, truth, model.mdp) < 0.1  # measured 0.035: EPIC barely sees it
    assert script._best_shift_starc(shifted, truth, model) < 1e-3
    # positive scaling is already invisible to STARC: the shift search must not undo it
    assert script._best_shift_starc(3.0 * truth, truth, model) < 1e-6
