"""``rewardlab tune``: the search-space checks, a tiny tune end to end, and resume after kill -9."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import rewardlab
from rewardlab.errors import ConfigError, UnknownNameError
from rewardlab.rewards import Terms, load
from rewardlab.runs import read_jsonl, read_status
from rewardlab.sweeps import TuneSpec, _tune, run_tune

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


# --- pruning from learning curves -------------------------------------------------------------------

# Four evaluations per seed (at 32, 64, 96 and 128 steps): the pruner may act after the first three.
CURVES: dict[str, Any] = {
    **TINY,
    "name": "curves",
    "seeds": [0, 1, 2],
    "trials": 3,
    "timesteps": 128,
    "eval_freq": 32,
    "objective": "mean",
    "reeval": {"top": 0},
}
BAD = "c0002"


def _sabotage(monkeypatch: pytest.MonkeyPatch, bad: str = BAD, by: float = 1000.0) -> None:
    """Candidate ``bad``'s ground-truth evaluations read ``by`` lower: a clearly bad candidate."""
    real = _tune.eval_returns

    def returns(run_dir: Path) -> list[tuple[int, float]]:
        rows = real(run_dir)
        return [(t, v - by) for t, v in rows] if run_dir.parent.name == bad else rows

    monkeypatch.setattr(_tune, "eval_returns", returns)


def _study(tune: Path, name: str) -> Any:
    import optuna

    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(tune / "study.journal")))
    return optuna.load_study(study_name=name, storage=storage)


def _curve(run_dir: Path) -> list[float]:
    return [r["eval_env_return"] for r in read_jsonl(run_dir / "metrics.jsonl")]


def test_learning_curves_are_reported_and_a_clearly_bad_candidate_is_pruned(tmp_path, monkeypatch):
    _sabotage(monkeypatch)
    spec = TuneSpec.from_dict({**CURVES, "pruner": "median"})
    result = run_tune(spec, workers=1, runs_dir=tmp_path, progress=False)
    tune = tmp_path / "curves"
    study = _study(tune, "curves")
    states = [t.state.name for t in study.trials]
    assert states == ["COMPLETE", "COMPLETE", "PRUNED"], states
    for t in study.trials[:2]:  # each evaluation k: the mean over the seeds of their k-th true return
        runs = [tune / "candidates" / f"c{t.number:04d}" / f"cartpole__c{t.number:04d}__ppo__s{s}" for s in (0, 1, 2)]
        expected = np.mean([_curve(r) for r in runs], axis=0)
        assert [t.intermediate_values[k] for k in sorted(t.intermediate_values)] == pytest.approx(expected)
    pruned = study.trials[2]
    assert sorted(pruned.intermediate_values) == [1] and pruned.user_attrs["pruned_at"] == 1
    # pruned at the first evaluation of all three seeds (with one worker they ran in turn, each to its end)
    assert pruned.intermediate_values[1] == pytest.approx(
        np.mean([_curve(tune / "candidates" / BAD / f"cartpole__{BAD}__ppo__s{s}")[0] for s in (0, 1, 2)]) - 1000.0
    )
    with open(tune / "trials.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["state"] for r in rows] == ["complete", "complete", "pruned"]
    assert rows[2]["pruned_at"] == "1" and float(rows[2]["value"]) == pytest.approx(pruned.intermediate_values[1])
    assert float(rows[2]["value"]) < -900 and result.best is not None and result.best["number"] in (0, 1)

    before = _statuses(tune)
    again = run_tune(spec, workers=1, runs_dir=tmp_path, progress=False)
    assert again.evaluated == 0 and again.adopted == 0  # the pruned candidate is not trained again
    assert _statuses(tune) == before


def test_a_pruned_candidate_stops_its_running_seeds(tmp_path, monkeypatch):
    # Successive halving needs no finished candidate: in a batch of two trained at once, the second
    # reports its first evaluation after the first one's, is not in the top half, and is stopped there.
    # Its seeds hold after their first evaluation (a fault point, not a race with their training), so
    # they are still running when the pruner decides; the stop signal ends the hold.
    _sabotage(monkeypatch, bad="c0001")
    holds = [f"train:evaluated:cartpole__c0001__ppo__s{s}=hold" for s in (0, 1)]
    monkeypatch.setenv("REWARDLAB_FAULT", ",".join(holds))  # the pool's workers inherit it
    data = {**CURVES, "name": "stops", "pruner": "halving", "seeds": [0, 1], "trials": 2, "batch": 2}
    spec = TuneSpec.from_dict({**data, "timesteps": 1024, "eval_freq": 128})
    run_tune(spec, workers=2, runs_dir=tmp_path, progress=False)
    study = _study(tmp_path / "stops", "stops")
    assert [t.state.name for t in study.trials] == ["COMPLETE", "PRUNED"]
    candidates = tmp_path / "stops" / "candidates"
    for s in (0, 1):
        done = candidates / "c0000" / f"cartpole__c0000__ppo__s{s}"
        assert read_status(done)["status"] == "done" and read_jsonl(done / "metrics.jsonl")[-1]["timesteps"] == 1024
    # the pruned candidate's seeds, running when the pruner decided, stopped mid-training
    stopped = [p for p in (candidates / "c0001").iterdir() if p.is_dir()]
    assert stopped
    for run in stopped:
        status = read_status(run)
        assert status["status"] == "failed" and "stopped" in status["error"], status
        assert read_jsonl(run / "metrics.jsonl")[-1]["timesteps"] < 1024


# --- the same candidates on every backend -----------------------------------------------------------

PARALLEL: dict[str, Any] = {
    **TINY,
    "name": "parallel",
    "sampler": "tpe",
    "trials": 4,
    "batch": 2,
    "pruner": "halving",
    "timesteps": 96,
    "eval_freq": 32,
    "reeval": {"top": 1, "seeds": [10], "baselines": False},
}


def _table(tune: Path) -> list[dict[str, str]]:
    with open(tune / "trials.csv", newline="") as f:
        drop = ("seconds",)
        return [{k: v for k, v in r.items() if k not in drop} for r in csv.DictReader(f)]


def test_parallel_candidates_give_the_serial_results(tmp_path, monkeypatch):
    _sabotage(monkeypatch, bad="c0003", by=50.0)
    serial = run_tune(TuneSpec.from_dict(PARALLEL), workers=1, runs_dir=tmp_path / "serial", progress=False)
    pool = run_tune(TuneSpec.from_dict(PARALLEL), workers=2, runs_dir=tmp_path / "pool", progress=False)
    assert _table(tmp_path / "serial" / "parallel") == _table(tmp_path / "pool" / "parallel")
    assert serial.best == pool.best and serial.reeval == pool.reeval
    assert len({r["param:pole_angle.weight"] for r in _table(tmp_path / "pool" / "parallel")}) == 4  # distinct


@pytest.mark.slow
def test_ray_candidates_give_the_serial_results(tmp_path, monkeypatch):
    pytest.importorskip("ray")
    _sabotage(monkeypatch, bad="c0003", by=50.0)
    serial = run_tune(TuneSpec.from_dict(PARALLEL), workers=1, runs_dir=tmp_path / "serial", progress=False)
    on_ray = run_tune(TuneSpec.from_dict(PARALLEL), backend="ray", workers=2, runs_dir=tmp_path / "ray", progress=False)
    assert _table(tmp_path / "serial" / "parallel") == _table(tmp_path / "ray" / "parallel")
    assert serial.best == on_ray.best and serial.reeval == on_ray.reeval


# --- every sampler ------------------------------------------------------------------------------------


@pytest.mark.parametrize("sampler", ["random", "grid", "gp", "cmaes", "tpe"])
def test_every_sampler_runs_a_tiny_tune_end_to_end(tmp_path, sampler):
    space = {"terms": {"pole_angle": {"weight": {"low": 0.0, "high": 2.0, "step": 0.5, "sign": -1}}}}
    data = {
        **TINY,
        "name": sampler,
        "sampler": sampler,
        "seeds": [0],
        "trials": 2,
        "space": space,
        "reeval": {"top": 0},
    }
    result = run_tune(TuneSpec.from_dict(data), workers=1, runs_dir=tmp_path, progress=False)
    rows = _table(tmp_path / sampler)
    assert [r["state"] for r in rows] == ["complete", "complete"]
    assert all(float(r["param:pole_angle.weight"]) in (0.0, 0.5, 1.0, 1.5, 2.0) for r in rows)
    assert result.best is not None and load(tmp_path / sampler / "best_reward.toml").to_dict() == result.best["reward"]
    weight = float(result.best["params"]["pole_angle.weight"])  # the magnitude searched; the sign comes after
    assert result.best["reward"]["weights"]["pole_angle"] == -weight


def test_a_grid_no_larger_than_the_budget_ends_the_tune_when_every_point_is_tried(tmp_path):
    # Optuna's grid sampler stops its study at the last point, which raised out of `tell` before
    space = {"terms": {"pole_angle": {"weight": {"choices": [-1.0, 0.0]}}}}
    data = {**TINY, "name": "grid2", "sampler": "grid", "seeds": [0], "trials": 3, "space": space}
    result = run_tune(TuneSpec.from_dict({**data, "reeval": {"top": 0}}), workers=1, runs_dir=tmp_path, progress=False)
    rows = _table(tmp_path / "grid2")
    assert sorted(float(r["param:pole_angle.weight"]) for r in rows) == [-1.0, 0.0]  # each point once, then done
    assert [r["state"] for r in rows] == ["complete", "complete"] and result.best is not None


@pytest.mark.parametrize("sampler", ["random", "grid", "gp", "cmaes", "tpe"])
def test_every_sampler_proposes_candidates_inside_the_space(sampler):
    # Past their random start-up (GP: 10 candidates): each sampler's own proposals, on a made-up score.
    import optuna

    space = {
        "terms": {
            "pole_angle": {"weight": {"low": 0.0, "high": 2.0, "step": 0.25, "sign": -1}},
            "cart_offset": {"weight": {"low": -1.0, "high": 1.0, "step": 0.5}},
        },
        "hyperparams": {"learning_rate": {"choices": [1e-3, 3e-4]}},
    }
    spec = TuneSpec.from_dict({**TINY, "sampler": sampler, "space": space})
    study = optuna.create_study(direction="maximize", sampler=_tune._sampler(_tune.import_optuna(), spec, 0))
    for _ in range(14):
        trial = study.ask()
        reward, hyper = spec.candidate(trial)
        weights = {k: t.weight for k, t in reward.terms.items()}
        assert set(weights) == {"alive", "pole_angle", "cart_offset"} and weights["alive"] == 1.0
        assert -2.0 <= weights["pole_angle"] <= 0.0 and -1.0 <= weights["cart_offset"] <= 1.0
        assert hyper["learning_rate"] in (1e-3, 3e-4)
        study.tell(trial, -((weights["pole_angle"] + 1.0) ** 2) - weights["cart_offset"] ** 2)
    assert len({tuple(sorted(t.params.items())) for t in study.trials}) > 5  # it explores


def test_a_tune_folder_of_an_earlier_version_without_batch_resumes(tmp_path):
    spec = TuneSpec.from_dict({**TINY, "trials": 1, "reeval": {"top": 0}})
    run_tune(spec, workers=1, runs_dir=tmp_path, progress=False)
    path = tmp_path / "tiny" / "tune.json"
    data = json.loads(path.read_text())
    del data["spec"]["batch"]  # written before `batch` existed
    path.write_text(json.dumps(data))
    again = run_tune(TuneSpec.from_dict({**TINY, "trials": 2, "reeval": {"top": 0}}), workers=1, runs_dir=tmp_path)
    assert again.candidates == 2 and again.evaluated == 1
    with pytest.raises(ConfigError, match="only `trials` and `reeval` may change"):
        run_tune(TuneSpec.from_dict({**TINY, "trials": 2, "batch": 2}), workers=1, runs_dir=tmp_path, progress=False)
