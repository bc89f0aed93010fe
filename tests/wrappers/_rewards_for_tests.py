"""Code rewards used by ``test_nonfinite.py`` (imported by name, as ``Code`` specs require)."""

from __future__ import annotations

import numpy as np


def bad_on_termination(
    obs: np.ndarray, action: np.ndarray, next_obs: np.ndarray, done: np.ndarray, value: float = float("nan")
) -> np.ndarray:
    """1 per step, but ``value`` (NaN by default) on terminating steps: fine in the dry run (never done)."""
    return np.where(done, value, 1.0)


def always_nan(obs: np.ndarray, action: np.ndarray, next_obs: np.ndarray, done: np.ndarray) -> np.ndarray:
    return np.full(len(obs), np.nan)


def column(obs: np.ndarray, action: np.ndarray, next_obs: np.ndarray, done: np.ndarray) -> np.ndarray:
    """Wrong shape ``(batch, 1)``."""
    return np.ones((len(obs), 1))


def per_obs_dim(obs: np.ndarray, action: np.ndarray, next_obs: np.ndarray, done: np.ndarray) -> np.ndarray:
    """Wrong shape ``(batch, obs_dim)``: forgot to reduce over the last axis."""
    return np.asarray(next_obs, dtype=np.float64) ** 2


def scalar(obs: np.ndarray, action: np.ndarray, next_obs: np.ndarray, done: np.ndarray) -> float:
    """Wrong shape ``()``: one number for the whole batch."""
    return 1.0
