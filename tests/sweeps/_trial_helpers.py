"""Tiny sweeps for the sweep tests, and rewards that fail inside a worker.

Spawned workers receive the parent's ``sys.path``, and pytest puts this folder on it, so the
``code`` rewards below import as ``_trial_helpers:...`` in every worker.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import numpy as np

from rewardlab.sweeps import SweepSpec

# PPO that can learn(64): one env, rollouts of 32 steps, one epoch, a 16-unit net.
TINY_PPO = {"n_steps": 32, "batch_size": 32, "n_epochs": 1, "n_envs": 1, "policy_kwargs": {"net_arch": [16]}}
UPRIGHT = {"kind": "terms", "weights": {"alive": 1.0, "pole_angle": -1.0}}
# The dry run at build time calls a code reward on a batch of 8; training with one env on batches of 1.
_DRY_RUN_BATCH = 8


def tiny_spec(name: str = "tiny", **over: Any) -> SweepSpec:
    data: dict[str, Any] = {
        "name": name,
        "envs": ["cartpole"],
        "seeds": [0, 1],
        "agents": {"ppo": dict(TINY_PPO)},
        "variants": {"truth": {"kind": "env"}, "upright": UPRIGHT},
        "timesteps": 64,
        "eval_freq": 32,
        "eval_episodes": 1,
    }
    data.update(over)
    return SweepSpec.from_dict(data)


def raising_reward(obs: np.ndarray, action: np.ndarray, next_obs: np.ndarray, done: np.ndarray) -> np.ndarray:
    """Passes the build-time dry run, then raises on the first training step."""
    if len(obs) != _DRY_RUN_BATCH:
        raise RuntimeError("boom: this reward fails on purpose")
    return np.ones(len(obs))


def killing_reward(obs: np.ndarray, action: np.ndarray, next_obs: np.ndarray, done: np.ndarray) -> np.ndarray:
    """Passes the dry run, then kills its own process (a worker dying of OOM looks like this)
    while ``REWARDLAB_TEST_KILL=1`` is set in the worker's environment (a "fixed" crash without it)."""
    if len(obs) != _DRY_RUN_BATCH and os.environ.get("REWARDLAB_TEST_KILL") == "1":
        os.kill(os.getpid(), signal.SIGKILL)
    return np.ones(len(obs))


# The marker file shared by the two rewards below (set in the environment, which workers inherit).
MARKER_VAR = "REWARDLAB_TEST_MARKER"


def killing_once_reward(obs: np.ndarray, action: np.ndarray, next_obs: np.ndarray, done: np.ndarray) -> np.ndarray:
    """Passes the dry run; at its first training step kills its own process, unless the file named by
    ``REWARDLAB_TEST_MARKER`` exists, which it creates first: the first worker to run it dies (as the
    out-of-memory killer would kill it), every later one trains normally."""
    marker = os.environ.get(MARKER_VAR)
    if len(obs) != _DRY_RUN_BATCH and marker and not os.path.exists(marker):
        with open(marker, "w") as f:
            f.write(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return np.ones(len(obs))


def waiting_reward(obs: np.ndarray, action: np.ndarray, next_obs: np.ndarray, done: np.ndarray) -> np.ndarray:
    """Passes the dry run; at its first training step waits (at most 60 s) until the file named by
    ``REWARDLAB_TEST_MARKER`` exists: the trial is surely in flight when that file appears."""
    marker = os.environ.get(MARKER_VAR)
    if len(obs) != _DRY_RUN_BATCH and marker:
        end = time.monotonic() + 60.0
        while not os.path.exists(marker) and time.monotonic() < end:
            time.sleep(0.02)
    return np.ones(len(obs))
