"""The tabular Q-learning of ``scripts/exprd_speed.py`` (the paper's agent) learns a two-state task."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

from rewardlab.metrics import TabularMDP

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "exprd_speed.py"


def _load():
    spec = importlib.util.spec_from_file_location("exprd_speed", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_q_learning_finds_the_rewarded_exit_and_the_summary_counts_it():
    script = _load()
    # state 0: action 1 enters the terminal state 1 with +1, action 0 stays for nothing
    t = np.zeros((2, 2, 2))
    t[0, 0, 0] = t[0, 1, 1] = 1.0
    t[1, :, 1] = 1.0
    mdp = TabularMDP(t, gamma=0.9, initial=np.array([1.0, 0.0]))
    reward = np.zeros((2, 2, 2))
    reward[0, 1, 1] = 1.0
    terminal = np.array([False, True])
    returns = script.q_learning(mdp, reward, terminal, mdp.expected_reward(reward), [0, 1, 2], 30)
    assert returns.shape == (3, 31)
    assert np.all(returns[:, 0] == 0.0) and np.all(returns[:, -1] == 1.0)  # greedy action 0, then the exit
    row = script.summarise(returns, best=1.0, worst=0.0, tol=0.01, checkpoints=[10, 30])
    assert row["reached"] == 3 and row["episodes_to_optimal_iqm"] <= 30
    assert 0.0 < row["auc_mean"] <= 1.0
