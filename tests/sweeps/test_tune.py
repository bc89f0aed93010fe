"""``rewardlab tune``: the search-space checks, a tiny tune end to end, and resume after kill -9."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import rewardlab
from rewardlab.errors import ConfigError, UnknownNameError
from rewardlab.rewards import Terms, load
from rewardlab.sweeps import TuneSpec, run_tune

# PPO on CartPole with a tiny budget: a trial is well under a second.
TINY: dict[str, Any] = {
    "name": "tiny",
    "env": "cartpole",
    "agent": "ppo",
    "seeds": [0, 1],
    "trials": 4,
    "sampler": "random",
    "sampler_seed": 3,
    "timesteps": 64,
    "eval_freq": 64,
    "eval_episodes": 1,
    "n_envs": 1,
    "hyperparams": {"n_steps": 32, "batch_size": 32, "n_epochs": 1, "policy_kwargs": {"net_arch": [8]}},
    "space": {
        "terms": {
            "pole_angle": {"weight": {"low": 0.0, "high": 2.0, "sign": -1}},
            "cart_offset": {"weight": {"low": -1.0, "high": 1.0}, "optional": True},
        }
    },
    "reeval": {"top": 1, "seeds": [10, 11]},
}

TINY_TOML = """
name = "resume"
env = "cartpole"
seeds = [0, 1]
trials = 4
sampler = "random"
sampler_seed = 3
timesteps = 64
eval_freq = 64
eval_episodes = 1
n_envs = 1
hyperparams = { n_steps = 32, batch_size = 32, n_epochs = 1, policy_kwargs = { net_arch = [8] } }
[space.terms.pole_angle]
weight = { low = 0.0, high = 2.0, sign = -1 }
[reeval]
top = 0
"""

ROOT = Path(rewardlab.__file__).resolve().parents[1]


def _spec(**space: Any) -> dict[str, Any]:
    return {"name": "t", "env": "cartpole", "space": space}


@pytest.mark.parametrize(
    ("data", "error", "match"),
    [
        (_spec(terms={"pole_angle": {"weight": {"low": 1.0, "high": 0.5}}}), ConfigError, r"low < high"),
        (
            _spec(terms={"pole_angle": {"weight": {"low": 0.0, "high": 1.0, "log": True}}}),
            ConfigError,
            r"`space.terms.pole_angle.weight.low` must be > 0 for a log range",
        ),
        (
            _spec(terms={"pole_angle": {"weight": {"low": -1.0, "high": 1.0, "sign": -1}}}),
            ConfigError,
            r"magnitude >= 0 with `sign`",
        ),
        (_spec(terms={"pole_angel": {"weight": 1.0}}), UnknownNameError, r"Did you mean 'pole_angle'"),
        (_spec(), ConfigError, r"`space` must be a space that searches at least one value"),
        (_spec(terms={"pole_angle": {"weight": -1.0}}), ConfigError, r"at least one value"),
        (_spec(terms={"pole_angle": {}}), ConfigError, r"`space.terms.pole_angle.weight` must be given"),
        (
            _spec(terms={"alive": {"weight": {"low": 0.0, "high": 1.0, "typo": 1}}}),
            ConfigError,
            r"typo",
        ),
        (
            _spec(shaping={"potential": "uprite", "scale": {"low": 0.0, "high": 1.0}}),
            ConfigError,
            r"Did you mean 'upright'",
        ),
        (
            _spec(hyperparams={"learning_rat": {"low": 1e-4, "high": 1e-2, "log": True}}),
            ConfigError,
            r"learning_rat",
        ),
        (
            {**_spec(terms={"alive": {"weight": {"low": 0.0, "high": 1.0}}}), "sampler": "grid"},
            ConfigError,
            r"with `step` for sampler 'grid'",
        ),
        ({**_spec(terms={"alive": {"weight": {"low": 0.0, "high": 1.0}}}), "sampler": "annealing"}, ConfigError, "tpe"),
    ],
    ids=[
        "low-above-high",
        "log-range-from-zero",
        "signed-range-below-zero",
        "unknown-term",
        "empty-space",
        "only-fixed-values",
        "new-term-without-weight",
        "unknown-range-key",
        "unknown-potential",
        "unknown-hyperparameter",
        "grid-needs-steps",
        "unknown-sampler",
    ],
)
def test_bad_space_is_a_clear_error_before_any_trial(data, error, match):
    with pytest.raises(error, match=match):
        TuneSpec.from_dict(data)


def test_candidates_put_the_searched_values_into_the_base():
    spec = TuneSpec.from_dict(TINY)
    assert spec.parameters() == ["pole_angle.weight", "cart_offset.on", "cart_offset.weight"]

    class Fixed:
        def suggest_float(self, name, low, high, *, step=None, log=False):
            return {"pole_angle.weight": 0.5, "cart_offset.weight": 0.25}[name]

        def suggest_categorical(self, name, choices):
            return False

    reward, hyper = spec.candidate(Fixed())
    assert reward == Terms({"alive": 1.0, "pole_angle": -0.5}) and hyper == {}  # the sign is fixed; offset off


def test_tiny_tune_writes_a_loadable_best_reward_and_every_candidate(tmp_path):
    result = run_tune(TuneSpec.from_dict(TINY), workers=1, runs_dir=tmp_path, progress=False)
    tune = tmp_path / "tiny"
    assert result.candidates == 4 and result.evaluated == 4 and result.best is not None
    best = load(tune / "best_reward.toml")
    assert isinstance(best, Terms) and best.to_dict() == result.best["reward"]
    with open(tune / "trials.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["number"]) for r in rows] == [0, 1, 2, 3]
    assert {r["state"] for r in rows} == {"complete"}
    assert all(r["return_s0"] and r["return_s1"] for r in rows)
    # every seed of every candidate is a normal trial with its own run directory
    assert sorted(p.name for p in (tune / "candidates" / "c0002").iterdir() if p.is_dir()) == [
        "cartpole__c0002__ppo__s0",
        "cartpole__c0002__ppo__s1",
    ]
    labels = [r["label"] for r in result.reeval]
    assert labels == [f"c{result.best['number']:04d}", "base"]  # the base is the ground truth here
    assert all(r["seeds"] == 2 for r in result.reeval)
    for name in ("trials.parquet", "history.csv", "importances.json", "reeval.csv", "report.html", "best.json"):
        assert (tune / name).is_file(), name
    assert "Re-evaluation on fresh seeds" in (tune / "report.html").read_text()


def _statuses(tune: Path) -> dict[str, int]:
    """Run directory -> mtime of its status.json, for every seed of every candidate."""
    return {
        f"{c.name}/{r.name}": (r / "status.json").stat().st_mtime_ns
        for c in sorted((tune / "candidates").iterdir())
        for r in sorted(c.iterdir())
        if r.is_dir()
    }


def test_kill_9_mid_tune_then_rerun_retrains_no_finished_candidate(tmp_path):
    spec = tmp_path / "resume.toml"
    spec.write_text(TINY_TOML)
    runs = tmp_path / "runs"
    env = {**os.environ, "REWARDLAB_FAULT": "tune:evaluated#2", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "rewardlab.cli", "tune", str(spec), "--workers", "1", "--runs-dir", str(runs)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 137, proc.stderr  # killed after candidate 1 trained, before the study heard of it
    tune = runs / "resume"
    before = _statuses(tune)
    assert sorted({k.split("/")[0] for k in before}) == ["c0000", "c0001"] and len(before) == 4

    result = run_tune(spec, workers=1, runs_dir=runs, progress=False)
    assert result.adopted == 1 and result.evaluated == 3 and result.candidates == 4
    after = _statuses(tune)
    assert {k: after[k] for k in before} == before  # candidates 0 and 1: not retrained, not rewritten
    assert len(after) == 4 * 2
    info = json.loads((tune / "best.json").read_text())
    assert info["number"] in range(4)
    with open(tune / "trials.csv", newline="") as f:
        assert [r["state"] for r in csv.DictReader(f)] == ["complete"] * 4


def test_a_changed_space_is_refused_in_the_same_folder(tmp_path):
    spec = TuneSpec.from_dict({**TINY, "trials": 1, "reeval": {"top": 0}})
    run_tune(spec, workers=1, runs_dir=tmp_path, progress=False)
    other = TuneSpec.from_dict({**TINY, "trials": 1, "reeval": {"top": 0}, "objective": "mean"})
    with pytest.raises(ConfigError, match="only `trials` and `reeval` may change"):
        run_tune(other, workers=1, runs_dir=tmp_path, progress=False)


def test_tune_help_loads_neither_optuna_nor_torch():
    code = (
        "import sys\nfrom rewardlab.cli import main\ntry:\n    main(['tune', '--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('optuna', 'torch', 'stable_baselines3') if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-c", code]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=True)
    assert proc.stdout.strip().splitlines()[-1] == "[]"
