"""Running mean and variance of a stream of batches (Chan et al.'s parallel update)."""

from __future__ import annotations

import numpy as np


class RunningMeanStd:
    """Mean and variance of every value seen so far, updated one batch at a time.

    The batch update is exact (the same result as computing over the concatenation), so the
    statistics do not depend on how transitions were grouped into batches.
    """

    def __init__(self, epsilon: float = 1e-8) -> None:
        self.mean = 0.0
        self.var = 1.0
        self.count = 0
        self.epsilon = epsilon

    def update(self, x: np.ndarray) -> None:
        x = np.asarray(x, dtype=np.float64).ravel()
        n = x.size
        if n == 0:
            return
        b_mean = float(x.mean())
        b_var = float(x.var())
        if self.count == 0:
            self.mean, self.var, self.count = b_mean, b_var, n
            return
        total = self.count + n
        delta = b_mean - self.mean
        m2 = self.var * self.count + b_var * n + delta * delta * self.count * n / total
        self.mean += delta * n / total
        self.var = m2 / total
        self.count = total

    def normalize(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, dtype=np.float64) - self.mean) / np.sqrt(self.var + self.epsilon)

    def state_dict(self) -> dict[str, float]:
        return {"mean": self.mean, "var": self.var, "count": self.count}

    def load_state_dict(self, state: dict[str, float]) -> None:
        self.mean = float(state["mean"])
        self.var = float(state["var"])
        self.count = int(state["count"])
