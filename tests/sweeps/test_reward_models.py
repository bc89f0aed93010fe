"""A sweep trains each reward model its variants need once, before the trials, and shares it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _trial_helpers import TINY_PPO, tiny_spec

import rewardlab as rl
from rewardlab.preferences import _heron
from rewardlab.rewards import ModelStore, use_model_store
from rewardlab.sweeps import aggregate, run_sweep

LEARNED = {
    "kind": "learned",
    "preferences": {"n_segments": 16, "length": 10, "n_pairs": 20, "epochs": 2, "hidden": [8]},
}


def _no_training(*args, **kwargs):
    raise AssertionError("a reward model was trained")


@pytest.fixture
def fresh_cache():
    """Each test starts with an empty per-process model cache (the store is what is tested)."""
    _heron._CACHE.clear()
    yield
    _heron._CACHE.clear()


def test_validating_a_sweep_trains_no_reward_model(fresh_cache, monkeypatch):
    monkeypatch.setattr(_heron, "_train_from_preferences", _no_training)
    monkeypatch.setattr(_heron, "_train_offline", _no_training)
    heron = {"kind": "hierarchical", "ranking": ["pole_angle", "cart_offset"]}
    spec = tiny_spec(variants={"learned": LEARNED, "heron": heron})
    assert len(spec.trials(check=True)) == 4


def test_a_model_in_the_store_is_loaded_not_trained(tmp_path, fresh_cache, monkeypatch):
    spec = rl.rewards.from_dict(LEARNED)
    with use_model_store(tmp_path):
        trained = spec.build("cartpole")
    entry = ModelStore(tmp_path).path("cartpole", spec.cache_key("cartpole"))
    assert (entry / "model.safetensors").is_file() and (entry / "stats.json").is_file()
    _heron._CACHE.clear()
    monkeypatch.setattr(_heron, "_train_from_preferences", _no_training)
    with use_model_store(tmp_path):
        loaded = spec.build("cartpole")
    obs = np.random.default_rng(0).normal(size=(5, 4))
    action, done = np.array([0, 1, 0, 1, 1]), np.zeros(5, dtype=bool)
    np.testing.assert_array_equal(trained(obs, action, obs, done), loaded(obs, action, obs, done))
    assert loaded.stats == trained.stats


def test_a_sweep_trains_its_learned_reward_once_and_the_report_reuses_it(tmp_path, fresh_cache, monkeypatch, capsys):
    spec = tiny_spec(variants={"truth": {"kind": "env"}, "learned": LEARNED}, agents={"ppo": dict(TINY_PPO)})
    result = run_sweep(spec, workers=1, runs_dir=tmp_path)
    assert result.complete
    out = capsys.readouterr().out
    assert "Reward model 1/1: variant learned on cartpole" in out
    store = tmp_path / "tiny" / "reward_models"
    (entry,) = store.iterdir()
    assert json.loads((entry / "stats.json").read_text())["labelled_pairs"] == 20
    # Neither the report nor a rerun trains it again, in this process or another.
    _heron._CACHE.clear()
    monkeypatch.setattr(_heron, "_train_from_preferences", _no_training)
    summary = aggregate(tmp_path / "tiny", n_transitions=50, n_bootstrap=20, write=False)
    assert {row["variant"] for row in summary.rows} == {"truth", "learned"}
    _heron._CACHE.clear()
    assert run_sweep(spec, workers=1, runs_dir=tmp_path, progress=False).skipped == 4
