"""Running a tune: Optuna proposes candidates, each is trained as a small sweep over the paired seeds.

Layout of a tune (``<runs_dir>/<name>/``)::

    tune.json             the resolved spec and the software versions
    study.journal         Optuna's JournalStorage (unless the spec names an RDB ``storage`` URL)
    candidates/c0007/     candidate 7 as a sweep (rewardlab.sweeps.run_sweep): one run directory
                          per seed, cartpole__c0007__ppo__s0/ ..., sweep.json, `sweep status` works
    reeval/reeval_c0007/  the re-evaluation of the best candidates (and of the base and the ground
                          truth) on fresh seeds, one sweep each
    trials.csv/.parquet   every candidate (complete, pruned, failed), its parameters and returns
    history.csv           objective and best-so-far by candidate number
    importances.json      Optuna's parameter importances (fANOVA)
    reeval.csv            search score beside fresh-seed score, paired difference to the base
    best_reward.toml      the best candidate's reward (``rewardlab train --reward best_reward.toml``)
    best.json             its number, parameters, hyperparameters and scores
    report.html           all of the above on one page

The engine is Optuna's ask-and-tell interface: ask a candidate, train its seeds through
:func:`rewardlab.sweeps.run_sweep` (the backend, the run directories, resume and status of a
sweep), tell the score. The study's storage is the resume mechanism: a rerun loads the study and
asks only for the candidates still missing. A candidate left ``RUNNING`` by a killed tune of this
host (its process gone) is finished first, from its stored parameters: its sweep skips the seeds
that were done, so a kill -9 loses only the seeds in flight.

The score of a candidate is the IQM (or mean) of the final ground-truth returns over its seeds,
the same seeds for every candidate (paired). Its learning curve is reported to Optuna as it
trains: after the ``k``-th evaluation of every seed, the objective over the seeds of their
ground-truth evaluation returns is ``trial.report(value, k)``. With a pruner (median, successive
halving) a candidate the pruner rejects is stopped there: its queued seeds never start and its
running ones stop within a second (their folders say ``stopped``); it keeps its row in the table,
state ``pruned``, with the value and evaluation it was pruned at, and a rerun never trains it again.

Candidates come ``batch`` at a time (:attr:`TuneSpec.batch`): all the seeds of a batch share the
backend's workers (the local pool, one trial per core, or Ray tasks). A candidate reports an
evaluation only once the candidates before it in the batch have, so the pruner's decisions, like
the proposals, are the same whatever the backend, the worker count and the speed of each trial.

The sampler is seeded with ``sampler_seed`` plus the number of candidates the study already has,
so an uninterrupted tune is reproducible and a resumed one does not replay the same proposals.
"""

from __future__ import annotations

import contextlib
import csv
import html
import io
import json
import math
import os
import socket
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w

from rewardlab.errors import ConfigError, MissingDependencyError, message
from rewardlab.rewards import Env, RewardSpec, from_dict
from rewardlab.runs import RunDir, fault, read_jsonl, read_status, software_versions, write_atomic, write_json
from rewardlab.sweeps._backends import check_backend, make_backend
from rewardlab.sweeps._run import run_sweeps, sweep_status
from rewardlab.sweeps._spec import SweepSpec
from rewardlab.sweeps._stats import (
    bootstrap_ci,
    difference_ci,
    iqm,
    paired_differences,
    paired_t_pvalue,
    probability_of_improvement,
    probability_of_improvement_ci,
)
from rewardlab.sweeps._tune_spec import TuneSpec, load_tune

__all__ = ["TUNE_JSON", "TuneResult", "run_tune"]

TUNE_JSON = "tune.json"
"""The file of a tune folder holding its resolved spec."""
_JOURNAL = "study.journal"


@dataclass(frozen=True)
class TuneResult:
    """What one :func:`run_tune` call did and found."""

    tune_dir: Path
    """``<runs_dir>/<name>``."""
    candidates: int
    """Candidates in the study (every state)."""
    evaluated: int
    """Candidates this call evaluated, adopted ones included."""
    adopted: int
    """Candidates a killed tune left running, finished by this call."""
    best: dict[str, Any] | None
    """The best feasible complete candidate: ``number``, ``value``, ``params``, ``reward``, ``hyperparams``."""
    reeval: list[dict[str, Any]] = field(default_factory=list)
    """The rows of ``reeval.csv``."""
    wall_s: float = 0.0
    """Wall time of the call."""


def import_optuna() -> Any:
    """Import Optuna, quietly, or raise :class:`MissingDependencyError` naming the install command."""
    try:
        # deferred: Optuna is loaded only by a tune (`rewardlab --help` stays fast)
        import optuna
    except ImportError as exc:  # pragma: no cover - optuna is a dependency
        raise MissingDependencyError('rewardlab tune needs Optuna: pip install "optuna>=4"') from exc
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


# --- the engine ----------------------------------------------------------------------------------


def _storage(optuna: Any, spec: TuneSpec, tune_dir: Path) -> Any:
    if spec.storage is not None:
        return spec.storage  # an RDB URL: Optuna builds the RDBStorage
    backend = optuna.storages.journal.JournalFileBackend(str(tune_dir / _JOURNAL))
    return optuna.storages.JournalStorage(backend)


def _feasible(trial: Any) -> bool:
    return all(c <= 0 for c in trial.user_attrs.get("constraint", [0.0]))


def _constraints(trial: Any) -> list[float]:
    return list(trial.user_attrs.get("constraint", [0.0]))


def _sampler(optuna: Any, spec: TuneSpec, seed: int) -> Any:
    samplers = optuna.samplers
    constraints = _constraints if spec.max_gap is not None else None
    if spec.sampler == "random":
        return samplers.RandomSampler(seed=seed)
    if spec.sampler == "grid":
        return samplers.GridSampler(spec.grid(), seed=seed)
    if spec.sampler == "gp":
        return samplers.GPSampler(seed=seed, constraints_func=constraints)
    if spec.sampler == "cmaes":
        return samplers.CmaEsSampler(seed=seed)
    return samplers.TPESampler(seed=seed, constraints_func=constraints)


def _pruner(optuna: Any, spec: TuneSpec) -> Any:
    if spec.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)
    if spec.pruner == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=2)
    return optuna.pruners.NopPruner()


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError, IndexError):  # a zombie is dead
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True


def _stale(optuna: Any, study: Any) -> list[Any]:
    """Candidates left RUNNING by a tune of this host whose process is gone."""
    host = socket.gethostname()
    running = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    return [t for t in running if t.user_attrs.get("host") == host and not _alive(t.user_attrs.get("pid"))]


# --- one batch of candidates ----------------------------------------------------------------------


@dataclass
class _Outcome:
    state: str  # "complete" | "pruned" | "fail"
    value: float | None = None
    returns: dict[int, float] = field(default_factory=dict)
    gap: float | None = None
    error: str = ""
    pruned_at: int | None = None  # the evaluation (1, 2, ...) after which the pruner stopped it


def _score(spec: TuneSpec, returns: list[float]) -> float:
    return float(iqm(returns)) if spec.objective == "iqm" else float(np.mean(returns))


def _sweep(spec: TuneSpec, name: str, reward: RewardSpec, hyper: dict[str, Any], seeds: tuple[int, ...]) -> SweepSpec:
    return SweepSpec(
        name=name,
        envs=(spec.env,),
        seeds=seeds,
        agents={spec.agent: {**spec.hyperparams, **hyper}},
        variants={name: reward},
        timesteps=spec.timesteps,
        eval_freq=spec.eval_freq,
        eval_episodes=spec.eval_episodes,
        n_envs=spec.n_envs,
    )


@dataclass
class _Candidate:
    """One candidate of a batch: its Optuna trial, its sweep, and how far its learning curve was told."""

    trial: Any
    name: str
    sweep: SweepSpec | None = None
    outcome: _Outcome | None = None
    reported: int = 0
    """Evaluations of the learning curve reported to Optuna (``trial.report(value, k)``, k = 1, 2, ...)."""
    known: int = 0
    """Evaluations the storage held already (a candidate adopted from a killed tune)."""
    finished: bool = False
    """Every seed has ended (done or failed) and all of its curve was reported."""

    def passed(self, k: int) -> bool:
        return self.outcome is not None or self.finished or self.reported >= k


def eval_returns(run_dir: Path) -> list[tuple[int, float]]:
    """The learning curve of one seed: (timesteps, ground-truth evaluation return) per evaluation so far."""
    rows = read_jsonl(run_dir / "metrics.jsonl")
    return [(int(r["timesteps"]), float(r["eval_env_return"])) for r in rows if r.get("eval_env_return") is not None]


def _seed_state(run_dir: Path) -> tuple[str, int | None]:
    """(status of the seed's run, its total timesteps once its config is written)."""
    try:
        status = str(read_status(run_dir).get("status", "pending"))
    except (OSError, ValueError):
        status = "pending"
    timesteps = RunDir(run_dir).read_config().get("timesteps")
    return status, timesteps if isinstance(timesteps, int) else None


def _advance(spec: TuneSpec, batch: list[_Candidate], root: Path, *, prune: bool) -> None:
    """Report to Optuna the evaluations every seed of a candidate has reached, and prune.

    The value at evaluation ``k`` is the objective over the seeds of their ``k``-th ground-truth
    evaluation return. The pruner is asked after each evaluation but the last (a finished curve is
    scored by its final returns). Candidate ``j`` reports evaluation ``k`` only once the candidates
    before it in the batch have reported it (or ended), so what the pruner sees, and decides, does
    not depend on which trial happened to train faster: the same on every backend and worker count.
    """
    for j, cand in enumerate(batch):
        if cand.outcome is not None or cand.finished or cand.sweep is None:
            continue
        dirs = [root / cand.name / t.id for t in cand.sweep.trials(check=False)]
        curves = [eval_returns(d) for d in dirs]
        states = [_seed_state(d) for d in dirs]
        available = min(len(c) for c in curves)
        while cand.reported < available:
            k = cand.reported + 1
            if not all(other.passed(k) for other in batch[:j]):
                break
            values = [c[k - 1][1] for c in curves]
            value = _score(spec, values)
            if k > cand.known:
                cand.trial.report(value, k)
            cand.reported = k
            last = any(total is None or c[k - 1][0] >= total for c, (_, total) in zip(curves, states, strict=True))
            if prune and not last and k >= cand.known and cand.trial.should_prune():
                returns = {t.seed: v for t, v in zip(cand.sweep.trials(check=False), values, strict=True)}
                cand.outcome = _Outcome("pruned", value, returns, pruned_at=k)
                break
        ended = all(status in ("done", "failed") for status, _ in states)
        cand.finished = cand.outcome is None and ended and cand.reported >= min(len(c) for c in curves)


def _finish(cand: _Candidate, spec: TuneSpec, root: Path) -> _Outcome:
    """The outcome of a candidate whose seeds all ran (complete, or failed with the first error)."""
    assert cand.sweep is not None
    rows = {r["id"]: r for r in sweep_status(root / cand.name)["trials"]}
    env, proxy = {}, {}
    error = ""
    for trial in cand.sweep.trials(check=False):
        row = rows.get(trial.id, {})
        if row.get("status") == "done" and row.get("final_env_return") is not None:
            env[trial.seed] = float(row["final_env_return"])
            proxy[trial.seed] = float(row["final_proxy_return"])
        elif not error:
            error = row.get("error") or f"seed {trial.seed} did not finish"
    if error:
        return _Outcome("fail", returns=env, error=error)
    gap = float(np.mean([proxy[s] - env[s] for s in env]))
    return _Outcome("complete", _score(spec, list(env.values())), env, gap)


def _evaluate(
    optuna: Any, study: Any, spec: TuneSpec, trials: list[Any], root: Path, run: dict[str, Any]
) -> list[_Outcome]:
    """Build the candidates ``trials`` propose, train all their seeds together, tell the study; their outcomes."""
    batch = []
    for trial in trials:
        cand = _Candidate(trial, _candidate_name(trial.number))
        try:
            reward, hyper = spec.candidate(trial)
        except ConfigError as exc:  # every term switched off: nothing to train
            cand.outcome = _Outcome("fail", error=str(exc))
        else:
            trial.set_user_attr("reward", reward.to_dict())
            trial.set_user_attr("hyperparams", hyper)
            cand.sweep = _sweep(spec, cand.name, reward, hyper, spec.seeds)
            frozen = study._storage.get_trial(trial._trial_id)  # what a killed tune reported already
            cand.known = max(frozen.intermediate_values, default=0)
        batch.append(cand)
    prune = spec.pruner != "none"

    def watch() -> set[str]:
        _advance(spec, batch, root, prune=prune)
        return {c.name for c in batch if c.outcome is not None and c.sweep is not None}

    sweeps = [c.sweep for c in batch if c.sweep is not None]
    if sweeps:
        run_sweeps(sweeps, runs_dir=root, progress=False, watch=watch if prune else None, **run)
    _advance(spec, batch, root, prune=prune)  # what came back after the last look (Ray: whole curves)
    outcomes = []
    for cand in batch:
        outcome = cand.outcome or _finish(cand, spec, root)
        fault("tune:evaluated")
        _tell(optuna, study, spec, cand.trial, outcome)
        fault("tune:told")
        outcomes.append(outcome)
    return outcomes


def _tell(optuna: Any, study: Any, spec: TuneSpec, trial: Any, outcome: _Outcome) -> None:
    """Store the outcome on ``trial`` (returns, gap, the constraint the sampler reads) and tell the study."""
    trial.set_user_attr("returns", {str(s): r for s, r in outcome.returns.items()})
    trial.set_user_attr("error", outcome.error)
    if outcome.pruned_at is not None:
        trial.set_user_attr("pruned_at", outcome.pruned_at)
    if outcome.gap is not None:
        trial.set_user_attr("gap", outcome.gap)
        trial.set_user_attr("constraint", [outcome.gap - spec.max_gap] if spec.max_gap is not None else [0.0])
    states = optuna.trial.TrialState
    try:
        if outcome.state == "complete":
            study.tell(trial, outcome.value)
        else:
            study.tell(trial, state=states.PRUNED if outcome.state == "pruned" else states.FAIL)
    except RuntimeError as exc:
        # Optuna's grid sampler stops the study once its last grid point is told, and stopping raises
        # outside `optimize`; the trial is stored before that (Study.tell's `finally`): the grid is done.
        if not (_grid_exhausted(optuna, study) and "Study.stop" in str(exc)):
            raise


def _grid_exhausted(optuna: Any, study: Any) -> bool:
    """True when the study's sampler is a grid whose every point has been proposed."""
    sampler = study.sampler
    return isinstance(sampler, optuna.samplers.GridSampler) and bool(sampler.is_exhausted(study))


def _reopen(optuna: Any, study: Any, frozen: Any) -> Any:
    """A live ``optuna.Trial`` for a RUNNING candidate of the storage (left by a killed tune).

    Optuna has no public call for it; ``Trial(study, trial_id)`` is what ``study.ask`` returns. Its
    ``suggest_*`` give back the parameters already stored, so the candidate is rebuilt as it was.
    """
    return optuna.trial.Trial(study, frozen._trial_id)


def _candidate_name(number: int) -> str:
    return f"c{number:04d}"


# --- the runner ---------------------------------------------------------------------------------


def _say(progress: bool, text: str) -> None:
    if progress:
        print(text, flush=True)


def _check_folder(spec: TuneSpec, tune_dir: Path) -> None:
    """A tune folder holds one search space: refuse a rerun whose spec searches something else."""
    path = tune_dir / TUNE_JSON
    mine = {k: v for k, v in spec.to_dict().items() if k not in ("trials", "reeval", "fast")}
    old: Any = None
    if path.is_file():
        with contextlib.suppress(OSError, ValueError):  # an unreadable tune.json is rewritten
            old = json.loads(path.read_text(encoding="utf-8")).get("spec", {})
    if isinstance(old, dict):
        old = {k: v for k, v in old.items() if k not in ("trials", "reeval", "fast")}
        for key, value in mine.items():  # a field added since (`batch`) reads as its default
            field_info = TuneSpec.model_fields.get(key)
            if key not in old and field_info is not None and value == field_info.default:
                old[key] = value
        if json.dumps(old, sort_keys=True, default=str) != json.dumps(mine, sort_keys=True, default=str):
            raise ConfigError(
                message(
                    "tune",
                    "the spec of the tune already in its folder (only `trials` and `reeval` may change)",
                    str(tune_dir),
                    "Give the changed spec another `name`, or delete the folder to start over.",
                )
            )
    write_json(path, {"name": spec.name, "spec": spec.to_dict(), "versions": software_versions()})


def check_n_bootstrap(n_bootstrap: Any) -> int:
    """``n_bootstrap`` checked: an integer of at least 100.

    Raises:
        ConfigError: anything else.
    """
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, int) or n_bootstrap < 100:
        raise ConfigError(message("n_bootstrap", "an integer >= 100", n_bootstrap, "rliable's examples use 50000."))
    return n_bootstrap


def run_tune(
    spec: TuneSpec | str | Path,
    *,
    backend: str = "local",
    workers: int | None = None,
    address: str | None = None,
    runs_dir: str | Path = "runs",
    fast: bool = False,
    progress: bool = True,
    n_bootstrap: int = 2000,
) -> TuneResult:
    """Run the candidates of ``spec`` still missing from its study, re-evaluate the best, write the outputs.

    Candidates are proposed ``spec.batch`` at a time and their seeds train together, ``workers``
    trials at once: the proposals depend on the batch, never on ``workers`` or ``backend``, so any
    worker count on either backend gives the same candidates and the same scores.

    Args:
        spec: a :class:`TuneSpec` or the path of a tune TOML file.
        backend: where the seeds train (``local``: a process pool; ``ray``), as for :func:`run_sweep`.
        workers: trials at once (None: one per core; 1: one after another in this process).
        address: Ray cluster address.
        runs_dir: root of the run directories; the tune goes to ``runs_dir/<spec.name>``.
        fast: apply the spec's ``fast`` preset.
        progress: print one line per candidate.
        n_bootstrap: bootstrap replicates of the re-evaluation's intervals (>= 100).

    Raises:
        ConfigError: an invalid spec or argument (before any trial), or a folder holding another
            tune's study.
        KeyboardInterrupt: after Ctrl-C; the rerun finishes the candidates that were interrupted.
    """
    start = time.monotonic()
    check_n_bootstrap(n_bootstrap)
    if not isinstance(spec, TuneSpec):
        spec = load_tune(spec, fast=fast)
    elif fast:
        spec = spec.fast_version()
    check_backend(backend, workers, address)
    optuna = import_optuna()
    tune_dir = Path(runs_dir) / spec.name
    tune_dir.mkdir(parents=True, exist_ok=True)
    _check_folder(spec, tune_dir)
    storage = _storage(optuna, spec, tune_dir)
    study = optuna.create_study(
        study_name=spec.name, storage=storage, direction="maximize", pruner=_pruner(optuna, spec), load_if_exists=True
    )
    study.sampler = _sampler(optuna, spec, spec.sampler_seed + len(study.get_trials(deepcopy=False)))
    root = tune_dir / "candidates"
    evaluated = adopted = 0
    pool = make_backend(backend, workers, address)
    run = {"backend": backend, "workers": workers, "address": address, "pool": pool}
    try:
        stale = _stale(optuna, study)
        for i in range(0, len(stale), spec.batch):
            frozen = stale[i : i + spec.batch]
            _say(progress, f"Candidates {[t.number for t in frozen]}: left running by a killed tune; finishing them")
            outcomes = _evaluate(optuna, study, spec, [_reopen(optuna, study, t) for t in frozen], root, run)
            for t, outcome in zip(frozen, outcomes, strict=True):
                _say(progress, _line(t.number, spec, outcome))
            adopted += len(frozen)
        # a grid smaller than `trials` ends the search early (Optuna would propose its points again)
        while len(study.get_trials(deepcopy=False)) < spec.trials and not _grid_exhausted(optuna, study):
            lives = []
            for _ in range(min(spec.batch, spec.trials - len(study.get_trials(deepcopy=False)))):
                live = study.ask()
                live.set_user_attr("pid", os.getpid())
                live.set_user_attr("host", socket.gethostname())
                lives.append(live)
            fault("tune:ask")
            outcomes = _evaluate(optuna, study, spec, lives, root, run)
            for live, outcome in zip(lives, outcomes, strict=True):
                _say(progress, _line(live.number, spec, outcome))
            evaluated += len(lives)
        best = _best(optuna, study)
        reeval = _reevaluate(optuna, study, spec, tune_dir, run, progress, n_bootstrap)
    finally:
        pool.close()
    write_outputs(study, spec, tune_dir, best, reeval)
    wall = time.monotonic() - start
    _say(
        progress,
        f"Tune {spec.name}: {len(study.trials)} candidates, {evaluated + adopted} evaluated now, in {wall:.0f}s",
    )
    return TuneResult(tune_dir, len(study.trials), evaluated + adopted, adopted, best, reeval, wall)


def _line(number: int, spec: TuneSpec, outcome: _Outcome) -> str:
    head = f"[{number + 1}/{spec.trials}] candidate {number} {outcome.state}"
    if outcome.pruned_at is not None:
        head += f" after evaluation {outcome.pruned_at}"
    if outcome.value is None:
        return f"{head}: {outcome.error.strip().splitlines()[0] if outcome.error.strip() else ''}"
    return f"{head}: {spec.objective} ground-truth return {outcome.value:.1f}"


def _complete(optuna: Any, study: Any) -> list[Any]:
    return study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))


def _best(optuna: Any, study: Any) -> dict[str, Any] | None:
    ranked = _ranked(optuna, study)
    if not ranked:
        return None
    t = ranked[0]
    return {
        "number": t.number,
        "value": t.value,
        "params": t.params,
        "reward": t.user_attrs.get("reward"),
        "hyperparams": t.user_attrs.get("hyperparams", {}),
        "gap": t.user_attrs.get("gap"),
    }


def _ranked(optuna: Any, study: Any) -> list[Any]:
    """Complete candidates, feasible first, best score first (ties: the earlier one)."""
    return sorted(_complete(optuna, study), key=lambda t: (not _feasible(t), -t.value, t.number))


# --- re-evaluation --------------------------------------------------------------------------------


def _reevaluate(
    optuna: Any,
    study: Any,
    spec: TuneSpec,
    tune_dir: Path,
    run: dict[str, Any],
    progress: bool,
    n_bootstrap: int = 2000,
) -> list[dict[str, Any]]:
    """Train the top candidates, the base and the ground truth on fresh seeds (paired), all at once; one row each.

    Each row has the fresh score with its CI and, paired by seed against the base and against the
    ground truth: the mean difference with its CI, the probability of improvement (Agarwal et al.
    2021) with its CI, and a paired t-test p-value.
    """
    if spec.reeval.top == 0:
        return []
    seeds = spec.reeval_seeds()
    entries: list[tuple[str, int | None, float | None, RewardSpec, dict[str, Any]]] = []
    for t in _ranked(optuna, study)[: spec.reeval.top]:
        if t.user_attrs.get("reward") is None:
            continue
        reward = from_dict(t.user_attrs["reward"])
        entries.append(
            (_candidate_name(t.number), t.number, t.value, reward, dict(t.user_attrs.get("hyperparams", {})))
        )
    if spec.reeval.baselines:
        entries.append(("base", None, None, spec.base, {}))
        if not isinstance(spec.base, Env):
            entries.append(("ground_truth", None, None, Env(), {}))
    sweeps = [_sweep(spec, f"reeval_{label}", reward, hyper, seeds) for label, _, _, reward, hyper in entries]
    results = run_sweeps(sweeps, runs_dir=tune_dir / "reeval", progress=False, **run)
    rows: list[dict[str, Any]] = []
    returns: dict[str, dict[int, float]] = {}
    stat = iqm if spec.objective == "iqm" else np.mean
    for (label, number, value, _, _), sweep, result in zip(entries, sweeps, results, strict=True):
        status = {r["id"]: r for r in sweep_status(result.sweep_dir)["trials"]}
        env = {
            t.seed: float(status[t.id]["final_env_return"])
            for t in sweep.trials(check=False)
            if status.get(t.id, {}).get("status") == "done"
        }
        returns[label] = env
        values = [env[s] for s in seeds if s in env]
        score = _score(spec, values) if values else None
        low, high = bootstrap_ci(values, stat=stat, n=n_bootstrap) if len(values) > 1 else (None, None)
        rows.append(
            {
                "label": label,
                "number": number,
                "search_score": value,
                "fresh_score": score,
                "fresh_low": low,
                "fresh_high": high,
                "fresh_mean": float(np.mean(values)) if values else None,
                "seeds": len(values),
                "error": next(iter(result.failures.values()), ""),
                **{f"return_s{s}": env.get(s) for s in seeds},
            }
        )
        _say(
            progress,
            f"Re-evaluation {label}: {spec.objective} {'n/a' if score is None else f'{score:.1f}'} "
            f"on seeds {list(seeds)}",
        )
    references = {"base": returns.get("base", {})}
    references["ground_truth"] = returns.get("ground_truth", references["base"] if isinstance(spec.base, Env) else {})
    for row in rows:  # paired by seed: the same fresh seeds for every entry
        mine = returns[row["label"]]
        for ref, theirs in references.items():
            row.update(_paired(mine, theirs, ref, row["label"] == ref, n_bootstrap))
    return rows


def _nan_none(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _paired(mine: dict[int, float], theirs: dict[int, float], ref: str, same: bool, n: int) -> dict[str, Any]:
    """``minus_<ref>_mean/_low/_high``, ``p_beats_<ref>`` (with ``_low/_high``) and ``p_value_<ref>``."""
    keys = [f"minus_{ref}_mean", f"minus_{ref}_low", f"minus_{ref}_high"]
    keys += [f"p_beats_{ref}", f"p_beats_{ref}_low", f"p_beats_{ref}_high", f"p_value_{ref}"]
    common = sorted(set(mine) & set(theirs))
    if same or not common:
        return dict.fromkeys(keys)
    a, b = {s: mine[s] for s in common}, {s: theirs[s] for s in common}
    d = paired_differences(a, b)
    low, high, _ = difference_ci(a, b, n=n)
    p_low, p_high = probability_of_improvement_ci([list(a.values())], [list(b.values())], n=n)
    values = [
        float(np.mean(d)),
        low,
        high,
        probability_of_improvement([list(a.values())], [list(b.values())]),
        p_low,
        p_high,
        paired_t_pvalue(d),
    ]
    return {k: _nan_none(v) for k, v in zip(keys, values, strict=True)}


# --- outputs --------------------------------------------------------------------------------------


def _trial_rows(study: Any) -> list[dict[str, Any]]:
    rows = []
    for t in study.get_trials(deepcopy=False):
        duration = (t.datetime_complete - t.datetime_start).total_seconds() if t.datetime_complete else None
        row: dict[str, Any] = {
            "number": t.number,
            "state": t.state.name.lower(),
            "value": t.value,
            "gap": t.user_attrs.get("gap"),
            "feasible": _feasible(t) if t.value is not None else None,
            "seconds": duration,
            "folder": f"candidates/{_candidate_name(t.number)}",
            "pruned_at": t.user_attrs.get("pruned_at"),
        }
        row.update({f"param:{k}": v for k, v in sorted(t.params.items())})
        row.update(
            {f"return_s{s}": r for s, r in sorted(t.user_attrs.get("returns", {}).items(), key=lambda x: int(x[0]))}
        )
        row["reward"] = json.dumps(t.user_attrs.get("reward"), sort_keys=True) if t.user_attrs.get("reward") else ""
        row["hyperparams"] = json.dumps(t.user_attrs.get("hyperparams", {}), sort_keys=True)
        row["error"] = (t.user_attrs.get("error") or "").strip().splitlines()[0] if t.user_attrs.get("error") else ""
        rows.append(row)
    return rows


def _csv(rows: list[dict[str, Any]]) -> str:
    keys: list[str] = []
    for row in rows:
        keys += [k for k in row if k not in keys]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=keys, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _importances(optuna: Any, study: Any) -> dict[str, Any]:
    with warnings.catch_warnings(record=True) as caught:  # too few candidates: Optuna warns, the note says it
        warnings.simplefilter("always")
        try:
            importances = optuna.importance.get_param_importances(study)
        except (RuntimeError, ValueError, ZeroDivisionError) as exc:  # no complete candidate, or one parameter value
            return {"importances": {}, "note": f"not computed: {exc}"}
    return {"importances": importances, "note": " ".join(str(w.message) for w in caught)}


def _history(study: Any) -> list[dict[str, Any]]:
    best = -math.inf
    rows = []
    for t in study.get_trials(deepcopy=False):
        if t.value is not None:
            best = max(best, t.value)
        rows.append(
            {
                "number": t.number,
                "state": t.state.name.lower(),
                "value": t.value,
                "best": best if best > -math.inf else None,
            }
        )
    return rows


def write_outputs(
    study: Any, spec: TuneSpec, tune_dir: Path, best: dict[str, Any] | None, reeval: list[dict[str, Any]]
) -> None:
    """Write the tables, the importances, ``best_reward.toml``, ``best.json`` and the report of ``study``."""
    optuna = import_optuna()
    trials = _trial_rows(study)
    write_atomic(tune_dir / "trials.csv", _csv(trials))
    with contextlib.suppress(ImportError):
        _parquet(trials, tune_dir / "trials.parquet")
    history = _history(study)
    write_atomic(tune_dir / "history.csv", _csv(history))
    importances = _importances(optuna, study)
    write_json(tune_dir / "importances.json", importances)
    write_atomic(tune_dir / "reeval.csv", _csv(reeval) if reeval else "")
    if best is not None:
        fresh = next((r for r in reeval if r["number"] == best["number"]), None)
        head = [
            f"# The best candidate ({best['number']}) of tune {spec.name!r} on {spec.env} / {spec.agent}:",
            f"# {spec.objective} final ground-truth return {best['value']:.2f} over seeds {list(spec.seeds)}"
            + (f", {fresh['fresh_score']:.2f} on fresh seeds" if fresh and fresh["fresh_score"] is not None else "")
            + ".",
            f"# Agent hyperparameters searched with it: {json.dumps(best['hyperparams'], sort_keys=True)}",
        ]
        write_atomic(tune_dir / "best_reward.toml", "\n".join(head) + "\n" + tomli_w.dumps(best["reward"]))
        write_json(tune_dir / "best.json", {**best, "reeval": fresh})
    write_atomic(tune_dir / "report.html", _report(spec, trials, history, importances, best, reeval))


def _parquet(rows: list[dict[str, Any]], path: Path) -> None:
    # deferred: pyarrow only for the Parquet table, as the sweep tables load it
    import pyarrow as pa
    import pyarrow.parquet as pq

    keys: list[str] = []
    for row in rows:
        keys += [k for k in row if k not in keys]
    table = pa.table(
        {
            k: [None if r.get(k) is None else str(r[k]) if k.startswith("param:") else r.get(k) for r in rows]
            for k in keys
        }
    )
    buffer = pa.BufferOutputStream()
    pq.write_table(table, buffer)
    write_atomic(path, buffer.getvalue().to_pybytes())


def _table(rows: list[dict[str, Any]], keys: list[str] | None = None) -> str:
    if not rows:
        return "<p>none</p>"
    keys = keys or list(dict.fromkeys(k for r in rows for k in r))

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.3g}"
        return html.escape("" if v is None else str(v))

    head = "".join(f"<th>{html.escape(k)}</th>" for k in keys)
    body = "".join("<tr>" + "".join(f"<td>{cell(r.get(k))}</td>" for k in keys) + "</tr>" for r in rows)
    return f'<div class="scroll"><table><tr>{head}</tr>{body}</table></div>'


def _svg_history(history: list[dict[str, Any]]) -> str:
    points = [(h["number"], h["value"], h["best"]) for h in history if h["value"] is not None]
    if len(points) < 2:
        return ""
    xs = [p[0] for p in points]
    ys = [p[1] for p in points] + [p[2] for p in points]
    x0, x1, y0, y1 = min(xs), max(xs) or 1, min(ys), max(ys)
    y1 = y1 if y1 > y0 else y0 + 1

    def xy(x: float, y: float) -> str:
        return f"{40 + 540 * (x - x0) / max(x1 - x0, 1):.1f},{180 - 160 * (y - y0) / (y1 - y0):.1f}"

    dots = "".join(
        f'<circle cx="{xy(x, y).split(",")[0]}" cy="{xy(x, y).split(",")[1]}" r="3" fill="#888"/>' for x, y, _ in points
    )
    line = " ".join(xy(x, b) for x, _, b in points)
    return (
        f'<svg width="600" height="200" xmlns="http://www.w3.org/2000/svg">{dots}'
        f'<polyline points="{line}" fill="none" stroke="#c33" stroke-width="2"/>'
        f'<text x="40" y="195" font-size="11">candidate number; grey: score, red: best so far '
        f"({y0:.1f} .. {y1:.1f})</text></svg>"
    )


def _report(
    spec: TuneSpec,
    trials: list[dict[str, Any]],
    history: list[dict[str, Any]],
    importances: dict[str, Any],
    best: dict[str, Any] | None,
    reeval: list[dict[str, Any]],
) -> str:
    imp = [{"parameter": k, "importance": v} for k, v in importances["importances"].items()]
    best_text = (
        f"<p>Best candidate {best['number']}: {spec.objective} {best['value']:.2f} over the "
        f"{len(spec.seeds)} search seeds "
        "(optimistic: the best of many noisy scores; see the re-evaluation on fresh seeds). "
        "Reward: <code>best_reward.toml</code>.</p>"
        if best
        else "<p>No candidate completed.</p>"
    )
    best_text += _verdict(spec, best, reeval)
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>tune {html.escape(spec.name)}</title>"
        "<style>body{font-family:sans-serif;max-width:1200px;margin:auto}table{border-collapse:collapse;font-size:12px}"
        "td,th{border:1px solid #ccc;padding:2px 6px}.scroll{overflow-x:auto}</style></head><body>"
        f"<h1>Tune {html.escape(spec.name)}</h1><p>{html.escape(spec.env)} / {html.escape(spec.agent)}, "
        f"sampler {spec.sampler} (seed {spec.sampler_seed}), {len(trials)} candidates, seeds {list(spec.seeds)}.</p>"
        f"{best_text}<h2>Re-evaluation on fresh seeds (paired with the base)</h2>{_table(reeval)}"
        f"<h2>Optimisation history</h2>{_svg_history(history)}"
        f"<h2>Parameter importances</h2>{_table(imp)}<p>{html.escape(importances['note'])}</p>"
        f"<h2>Candidates</h2>{_table(trials)}</body></html>"
    )


def _verdict(spec: TuneSpec, best: dict[str, Any] | None, reeval: list[dict[str, Any]]) -> str:
    """Best vs base vs ground truth on the fresh seeds, in words: the paired differences and whether they are clear."""
    rows = {r["label"]: r for r in reeval}
    if best is None or _candidate_name(best["number"]) not in rows:
        return ""
    row = rows[_candidate_name(best["number"])]

    def fmt(x: Any) -> str:
        return "n/a" if x is None else f"{x:.1f}"

    parts = [
        f"On {row['seeds']} fresh seeds the best candidate scores {fmt(row['fresh_score'])} "
        f"[{fmt(row['fresh_low'])}, {fmt(row['fresh_high'])}] ({spec.objective}, 95% bootstrap CI)"
    ]
    for ref, name in (("base", "the base"), ("ground_truth", "the ground truth")):
        other = rows.get(ref) or (rows.get("base") if ref == "ground_truth" and isinstance(spec.base, Env) else None)
        if other is None or row.get(f"minus_{ref}_mean") is None:
            continue
        low, high = row[f"minus_{ref}_low"], row[f"minus_{ref}_high"]
        if low is None or high is None:
            word = "too few seeds to tell"
        elif low > 0:
            word = "better (the CI excludes 0)"
        elif high < 0:
            word = "worse (the CI excludes 0)"
        else:
            word = "not distinguishable (the CI spans 0)"
        parts.append(
            f"{name} scores {fmt(other['fresh_score'])}: paired difference {row[f'minus_{ref}_mean']:+.1f} "
            f"[{fmt(low)}, {fmt(high)}], P(best beats {name}) {_fmt_p(row.get(f'p_beats_{ref}'))}, "
            f"paired t-test p = {_fmt_p(row.get(f'p_value_{ref}'))}: {word}"
        )
    return "<p><b>Best vs base vs ground truth.</b> " + html.escape("; ".join(parts)) + ".</p>"


def _fmt_p(x: Any) -> str:
    return "n/a" if x is None else f"{x:.2f}"
