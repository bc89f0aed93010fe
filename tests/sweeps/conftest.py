"""Fixtures: fabricated sweep folders with known numbers (see _sweep_helpers)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from _sweep_helpers import ENV_CURVES, FAILED, GAPS, PENDING, REWARDS, SEEDS, write_sweep


@pytest.fixture
def sweep_dir(tmp_path: Path) -> Path:
    """Pendulum / SAC: ground_truth (4 seeds), no_velocity (3), shaped (2 done, 1 failed, 1 pending)."""
    return write_sweep(
        tmp_path,
        "pendulum_ablation",
        env="pendulum",
        agent="sac",
        rewards=REWARDS,
        seeds=SEEDS,
        env_curves=ENV_CURVES,
        gaps=GAPS,
        failed=FAILED,
        pending=PENDING,
    )


@pytest.fixture
def sweep_factory(tmp_path: Path) -> Callable[..., Path]:
    """``write_sweep`` bound to ``tmp_path``."""

    def make(name: str, **kwargs: Any) -> Path:
        return write_sweep(tmp_path, name, **kwargs)

    return make
