"""Aggregate a sweep directory across seeds: summary per variant, learning curves, distances.

Reads what the sweep runner wrote (``sweep.json`` and one folder per trial with
``status.json``, ``config.json`` and ``metrics.jsonl``) and summarises, per (env, agent, variant):

* the final ground-truth ("env") return over the done seeds: mean, std, IQM and a bootstrap 95% CI;
* the final proxy return (the reward the agent was trained on) with its CI;
* the area under the env-return learning curve (:func:`~rewardlab.sweeps._stats.auc`: the mean
  return over training, so faster learning scores higher);
* the proxy-minus-true gap, at the end (``gap_final``) and averaged over training (``gap_auc``).
  A gap that grows while the env return stalls or falls is the classic reward-hacking signature.
  It is only meaningful when the proxy is on the env reward's scale (a reweighted or shaped env
  reward); for a proxy of another scale, read the curves' shapes instead;
* the regret: the baseline variant's mean final env return minus this variant's (0 for the
  baseline, NaN when the sweep has no baseline or the baseline has no finished seed);
* the distance of the variant's reward to the ground-truth reward (``{"kind": "env"}``), from
  :func:`rewardlab.compare.compare` (exact on tabular envs, sampled elsewhere), and per (env, agent)
  the Spearman rank correlation between distance and regret across variants: does a reward that
  is closer to the truth by the metric also lose less return when optimised? (with a bootstrap CI
  over variants; undefined, with the reason, when the distances are all tied);
* against the baseline, following Agarwal et al. 2021: the regret's 95% CI (paired over the seeds
  both finished), a paired t-test with Benjamini-Hochberg significance across variants, and the
  probability of improvement P(variant's run > baseline's run) with its CI;
* across envs, per (agent, variant), on final returns normalised per env (random/ground-truth
  when possible: 0 = a uniformly random policy, 1 = the baseline; else min/max;
  :attr:`SweepSummary.normalisation` says which): the IQM and the
  optimality gap with stratified-bootstrap CIs (runs resampled within each env), the probability
  of improvement over the baseline, and the performance profile (fraction of runs above each
  normalised score) with bands. Learning curves also carry the IQM across seeds with its CI.

Only ``done`` trials enter the statistics; failed, pending and running ones are counted. Results
are written under ``<sweep dir>/results/``: ``summary.csv``/``.parquet``, ``curves.csv``/``.parquet``,
``trials.csv``, ``distances.csv``, ``correlation.csv``, ``overall.csv``, ``profiles.csv``,
``hacking.csv`` (per variant: on how many runs each reward-hacking detector of
:mod:`rewardlab.monitors` fired and first when, and the exact returns on tabular envs) and
``distances.json`` (what the distances were computed from, so that a report without distances
reuses them), as one generation with the report (:mod:`rewardlab.sweeps._publish`): a kill leaves
the old set of files or the new one.

Aggregation never trains anything nor loads a policy: a sweep folder may come from someone else.
A reward that needs a trained model (``learned`` with ``preferences``, ``hierarchical`` offline)
is compared only when the sweep stored that model in ``<sweep dir>/reward_models/`` (safetensors
and JSON, never unpickled); otherwise its distance is skipped with a note.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from pydantic import BaseModel

from rewardlab import suite
from rewardlab.compare import METRICS, compare
from rewardlab.config import Record
from rewardlab.errors import ConfigError, RewardLabError, message, unknown
from rewardlab.evaluation import random_policy_return
from rewardlab.monitors import DETECTORS, detect
from rewardlab.rewards import ModelStore, RewardSpec, from_dict, use_model_store
from rewardlab.runs import read_jsonl, read_status, storage_error, write_atomic
from rewardlab.sweeps._publish import new_generation
from rewardlab.sweeps._spec import REWARD_MODELS, read_sweep_json
from rewardlab.sweeps._stats import (
    auc,
    benjamini_hochberg,
    bootstrap_ci,
    bootstrap_ci_columns,
    difference_ci,
    iqm,
    optimality_gap,
    paired_differences,
    paired_t_pvalue,
    performance_profile,
    probability_of_improvement,
    probability_of_improvement_ci,
    spearman,
    spearman_ci,
    stratified_bootstrap_ci,
)

__all__ = [
    "DISTANCES_JSON",
    "HACKING_COLUMNS",
    "SUMMARY_COLUMNS",
    "SweepSummary",
    "aggregate",
    "load_sweep",
    "write_results",
]

NAN = float("nan")
RANDOM_EPISODES = 50
"""Episodes of the random policy whose mean return is the 0 of normalised scores."""

SUMMARY_COLUMNS = (
    "env",
    "agent",
    "variant",
    "is_baseline",
    "reward",
    "n_seeds",
    "n_failed",
    "n_pending",
    "env_return_mean",
    "env_return_std",
    "env_return_iqm",
    "env_return_ci_low",
    "env_return_ci_high",
    "env_return_iqm_ci_low",
    "env_return_iqm_ci_high",
    "proxy_return_mean",
    "proxy_return_ci_low",
    "proxy_return_ci_high",
    "auc_env_mean",
    "auc_env_ci_low",
    "auc_env_ci_high",
    "gap_final",
    "gap_auc",
    "regret",
    "regret_ci_low",
    "regret_ci_high",
    "n_paired",
    "regret_paired_p",
    "significant",
    "poi",
    "poi_ci_low",
    "poi_ci_high",
    "distance",
    "distance_ci_low",
    "distance_ci_high",
    "distance_exact",
    "distance_note",
)
"""Columns of ``summary.csv``, in order (one row per env, agent and variant)."""

CURVE_COLUMNS = (
    "env",
    "agent",
    "variant",
    "timesteps",
    "n_seeds",
    "env_return_mean",
    "env_return_ci_low",
    "env_return_ci_high",
    "env_return_iqm",
    "env_return_iqm_ci_low",
    "env_return_iqm_ci_high",
    "proxy_return_mean",
    "proxy_return_ci_low",
    "proxy_return_ci_high",
)
TRIAL_COLUMNS = (
    "id",
    "env",
    "agent",
    "variant",
    "seed",
    "status",
    "final_env_return",
    "final_proxy_return",
    "n_evals",
    "attempts",
    "error",
)
DISTANCE_COLUMNS = ("env", "reward_a", "reward_b", "metric", "value", "ci_low", "ci_high", "exact", "n_transitions")
CORRELATION_COLUMNS = ("env", "agent", "metric", "rho", "rho_ci_low", "rho_ci_high", "n_variants", "rho_note")
OVERALL_COLUMNS = (
    "agent",
    "variant",
    "is_baseline",
    "n_envs",
    "n_runs",
    "score_iqm",
    "score_iqm_ci_low",
    "score_iqm_ci_high",
    "optimality_gap",
    "optimality_gap_ci_low",
    "optimality_gap_ci_high",
    "poi",
    "poi_ci_low",
    "poi_ci_high",
)
"""Columns of ``overall.csv``: per (agent, variant), normalised scores across envs (stratified bootstrap)."""
PROFILE_COLUMNS = ("agent", "variant", "tau", "fraction", "ci_low", "ci_high")
HACKING_COLUMNS = (
    "env",
    "agent",
    "variant",
    "n_runs",
    "exact_proxy_return",
    "exact_env_return",
    "exact_regret",
    *(f"{d}_{what}" for d in DETECTORS for what in ("runs", "first_step")),
)
"""Columns of ``hacking.csv``: per (env, agent, variant), over the done seeds, the mean exact returns
of the last evaluation (envs with a tabular model) and, per detector, on how many runs it fired and
the earliest step it fired at (:mod:`rewardlab.monitors`)."""


@dataclass(kw_only=True)
class SweepSummary(Record):
    """Everything :func:`aggregate` computed, as lists of plain rows (dicts) ready for tables.

    :meth:`to_dict` gives a JSON-friendly dict of everything (paths as strings), in field order.
    """

    name: str
    """The sweep's name."""
    sweep_dir: Path
    """The sweep folder that was read."""
    baseline: str | None = None
    """The variant whose reward is the ground truth (the regret's reference), if any."""
    metric: str = "starc-val"
    """The reward distance metric used (:data:`rewardlab.compare.METRICS`)."""
    created: str = ""
    """When the sweep was created (from ``sweep.json``)."""
    spec: dict[str, Any] = field(default_factory=dict)
    """The sweep spec as saved in ``sweep.json``."""
    versions: dict[str, Any] = field(default_factory=dict)
    """Software versions the sweep ran with."""
    rows: list[dict[str, Any]]
    """One row per (env, agent, variant) with :data:`SUMMARY_COLUMNS`."""
    curves: list[dict[str, Any]]
    """Learning-curve points: one row per (env, agent, variant, timesteps), mean and 95% CI across seeds."""
    trials: list[dict[str, Any]]
    """One row per trial: id, env, agent, variant, seed, status, final returns, attempts, first error line."""
    distance_correlation: list[dict[str, Any]]
    """Per (env, agent): Spearman rho between distance to the ground truth and regret, and the number of variants."""
    distances: list[dict[str, Any]] = field(default_factory=list)
    """Every pair of compared rewards per env (``reward_a``, ``reward_b``, value, CI)."""
    matrices: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per env: ``{"names", "values", "ci_low", "ci_high", "exact", "metric"}`` of the compare matrix (lists)."""
    overall: list[dict[str, Any]] = field(default_factory=list)
    """Per (agent, variant): :data:`OVERALL_COLUMNS`, on scores normalised per env (see ``normalisation``)."""
    profiles: list[dict[str, Any]] = field(default_factory=list)
    """Performance profiles: per (agent, variant, tau), the fraction of runs with normalised score above tau."""
    normalisation: dict[str, str] = field(default_factory=dict)
    """Per env: how its final returns were normalised to scores (said in words)."""
    normalisers: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Per env: the final returns that score 0 and 1 (score = (return - low) / (high - low))."""
    hacking: list[dict[str, Any]] = field(default_factory=list)
    """Per (env, agent, variant): :data:`HACKING_COLUMNS`, the reward-hacking evidence of its done runs."""
    n_bootstrap: int = 2000
    """Bootstrap replicates of every interval."""
    notes: list[str] = field(default_factory=list)
    """Things the reader should know: rewards that could not be compared, curves interpolated, ..."""
    results_dir: Path | None = None
    """Where the CSV and Parquet files were written."""

    def groups(self) -> list[tuple[str, str]]:
        """The (env, agent) pairs in sweep order."""
        return list(dict.fromkeys((r["env"], r["agent"]) for r in self.rows))


# --- reading ---------------------------------------------------------------------------------


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def load_sweep(sweep_dir: str | Path) -> dict[str, Any]:
    """Read ``sweep.json``; without one, rebuild the trial list from the trials' ``config.json``.

    Raises:
        ConfigError: ``sweep_dir`` is not a folder, holds neither ``sweep.json`` nor trial folders,
            or holds a corrupt ``sweep.json`` (the message names it).
    """
    path = Path(sweep_dir)
    if not path.is_dir():
        raise ConfigError(message("sweep_dir", "an existing sweep folder", str(path), "Run `rewardlab sweep` first."))
    sweep = read_sweep_json(path)
    if sweep is not None:
        sweep.setdefault("name", path.name)
        sweep.setdefault("trials", [])
        return sweep
    # A sweep folder whose sweep.json was lost: each trial's config.json names its place in the sweep.
    trials = []
    for sub in sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")):  # not staging folders
        config = _read_json(sub / "config.json")
        if not config or not isinstance(config.get("meta"), dict):
            continue
        meta = config["meta"]
        trials.append(
            {
                "id": sub.name,
                "env": meta.get("env", config.get("env", "?")),
                "variant": meta.get("variant", sub.name),
                "agent": meta.get("agent", "?"),
                "seed": meta.get("seed", config.get("seed", 0)),
                "reward": config.get("reward", {"kind": "env"}),
            }
        )
    if not trials:
        raise ConfigError(
            message(
                "sweep_dir",
                "a sweep folder with sweep.json or trial folders",
                str(path),
                "Pass runs/<sweep name>, the folder `rewardlab sweep` wrote.",
            )
        )
    return {"name": path.name, "spec": {}, "baseline": None, "trials": trials, "created": "", "versions": {}}


def _finite(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return NAN
    return out if math.isfinite(out) else NAN


def _first_line(text: Any) -> str:
    lines = [line.strip() for line in str(text or "").strip().splitlines() if line.strip()]
    return lines[0] if lines else ""


@dataclass
class _Trial:
    info: dict[str, Any]
    status: dict[str, Any]
    metrics: list[dict[str, Any]]

    @property
    def done(self) -> bool:
        return self.status.get("status") == "done"

    def curve(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        rows = [r for r in self.metrics if "timesteps" in r and key in r]
        t = np.array([float(r["timesteps"]) for r in rows])
        v = np.array([_finite(r[key]) for r in rows])
        order = np.argsort(t, kind="stable")
        return t[order], v[order]

    def final(self, key: str) -> float:
        # status.json holds the final evaluation; the last metrics row is the fallback.
        value = _finite(self.status.get(f"final_{key}"))
        if math.isnan(value):
            _, v = self.curve(f"eval_{key}")
            value = float(v[-1]) if v.size else NAN
        return value


def _read_trials(sweep_dir: Path, trials: Iterable[Mapping[str, Any]]) -> list[_Trial]:
    out = []
    for info in trials:
        run_dir = sweep_dir / str(info.get("id", ""))
        try:
            status = read_status(run_dir)  # a missing folder or status.json reads as pending
        except (OSError, ValueError):
            status = {"status": "pending", "error": "unreadable status.json"}
        metrics = read_jsonl(run_dir / "metrics.jsonl") if status.get("status") == "done" else []
        out.append(_Trial(dict(info), status, metrics))
    return out


# --- statistics ------------------------------------------------------------------------------


def _mean(x: Sequence[float]) -> float:
    return float(np.mean(x)) if len(x) else NAN


def _std(x: Sequence[float]) -> float:
    return float(np.std(x, ddof=1)) if len(x) > 1 else NAN


def _seed_curves(trials: list[_Trial], key: str) -> list[tuple[np.ndarray, np.ndarray]]:
    return [c for c in (t.curve(key) for t in trials) if c[0].size]


def _aligned(curves: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, bool]:
    """Put the seeds' curves on common timesteps: ``(grid (T,), values (n_seeds, T), interpolated)``.

    The evaluations of a sweep's seeds happen at the same steps, so the intersection of their
    timesteps is the grid. When it has fewer than 2 points (seeds evaluated at different steps),
    the curves are linearly interpolated on the timesteps of the seed with the fewest evaluations,
    within the range that all seeds cover.
    """
    common = curves[0][0]
    for t, _ in curves[1:]:
        common = np.intersect1d(common, t)
    if common.size >= 2 or (len(curves) == 1 and common.size):
        values = np.array([[v[np.searchsorted(t, x)] for x in common] for t, v in curves])
        return common, values, False
    lo = max(t[0] for t, _ in curves)
    hi = min(t[-1] for t, _ in curves)
    shortest = min(curves, key=lambda c: c[0].size)[0]
    grid = shortest[(shortest >= lo) & (shortest <= hi)]
    if grid.size == 0:
        grid = np.array([hi]) if hi >= lo else np.array([])
    values = np.array([np.interp(grid, t, v) for t, v in curves]) if grid.size else np.zeros((len(curves), 0))
    return grid, values, True


def _curve_rows(env: str, agent: str, variant: str, done: list[_Trial], n_boot: int, seed: int) -> tuple[list, bool]:
    env_curves = _seed_curves(done, "eval_env_return")
    proxy_curves = _seed_curves(done, "eval_proxy_return")
    if not env_curves:
        return [], False
    grid, env_values, interp = _aligned(env_curves)
    proxy_grid, proxy_values, interp_p = _aligned(proxy_curves) if proxy_curves else (grid, None, False)
    rows = []
    iqm_los, iqm_his = bootstrap_ci_columns(env_values, stat=iqm, n=n_boot, seed=seed)
    for j, step in enumerate(grid):
        column = env_values[:, j]
        lo, hi = bootstrap_ci(column, n=n_boot, seed=seed)
        iqm_lo, iqm_hi = float(iqm_los[j]), float(iqm_his[j])
        row = {
            "env": env,
            "agent": agent,
            "variant": variant,
            "timesteps": int(step),
            "n_seeds": int(column.size),
            "env_return_mean": float(np.mean(column)),
            "env_return_ci_low": lo,
            "env_return_ci_high": hi,
            "env_return_iqm": iqm(column),
            "env_return_iqm_ci_low": iqm_lo,
            "env_return_iqm_ci_high": iqm_hi,
            "proxy_return_mean": NAN,
            "proxy_return_ci_low": NAN,
            "proxy_return_ci_high": NAN,
        }
        if proxy_values is not None:
            k = np.flatnonzero(proxy_grid == step)
            if k.size:
                pcol = proxy_values[:, k[0]]
                plo, phi = bootstrap_ci(pcol, n=n_boot, seed=seed)
                row.update(proxy_return_mean=float(np.mean(pcol)), proxy_return_ci_low=plo, proxy_return_ci_high=phi)
        rows.append(row)
    return rows, interp or interp_p


def _gaps(done: list[_Trial]) -> tuple[list[float], list[float]]:
    finals, areas = [], []
    for trial in done:
        finals.append(trial.final("proxy_return") - trial.final("env_return"))
        rows = [r for r in trial.metrics if "eval_proxy_return" in r and "eval_env_return" in r and "timesteps" in r]
        rows.sort(key=lambda r: float(r["timesteps"]))
        if rows:
            t = [float(r["timesteps"]) for r in rows]
            gap = [_finite(r["eval_proxy_return"]) - _finite(r["eval_env_return"]) for r in rows]
            areas.append(auc(t, gap))
    return [g for g in finals if not math.isnan(g)], [a for a in areas if not math.isnan(a)]


def _row(
    env: str, agent: str, variant: str, trials: list[_Trial], baseline: str | None, n_boot: int, seed: int
) -> dict[str, Any]:
    done = [t for t in trials if t.done]
    n_failed = sum(t.status.get("status") == "failed" for t in trials)
    env_final = [x for x in (t.final("env_return") for t in done) if not math.isnan(x)]
    proxy_final = [x for x in (t.final("proxy_return") for t in done) if not math.isnan(x)]
    areas = [x for x in (auc(*t.curve("eval_env_return")) for t in done) if not math.isnan(x)]
    gap_final, gap_auc = _gaps(done)
    env_lo, env_hi = bootstrap_ci(env_final, n=n_boot, seed=seed)
    iqm_lo, iqm_hi = bootstrap_ci(env_final, stat=iqm, n=n_boot, seed=seed) if len(env_final) > 1 else (NAN, NAN)
    proxy_lo, proxy_hi = bootstrap_ci(proxy_final, n=n_boot, seed=seed)
    auc_lo, auc_hi = bootstrap_ci(areas, n=n_boot, seed=seed)
    reward = trials[0].info.get("reward", {"kind": "env"})
    return {
        "env": env,
        "agent": agent,
        "variant": variant,
        "is_baseline": variant == baseline,
        "reward": json.dumps(reward, sort_keys=True),
        "n_seeds": len(done),
        "n_failed": int(n_failed),
        "n_pending": len(trials) - len(done) - int(n_failed),
        "env_return_mean": _mean(env_final),
        "env_return_std": _std(env_final),
        "env_return_iqm": iqm(env_final),
        "env_return_ci_low": env_lo,
        "env_return_ci_high": env_hi,
        "env_return_iqm_ci_low": iqm_lo,
        "env_return_iqm_ci_high": iqm_hi,
        "proxy_return_mean": _mean(proxy_final),
        "proxy_return_ci_low": proxy_lo,
        "proxy_return_ci_high": proxy_hi,
        "auc_env_mean": _mean(areas),
        "auc_env_ci_low": auc_lo,
        "auc_env_ci_high": auc_hi,
        "gap_final": _mean(gap_final),
        "gap_auc": _mean(gap_auc),
        "regret": NAN,
        "regret_ci_low": NAN,
        "regret_ci_high": NAN,
        "n_paired": 0,
        "regret_paired_p": NAN,
        "significant": None,
        "poi": NAN,
        "poi_ci_low": NAN,
        "poi_ci_high": NAN,
        "distance": NAN,
        "distance_ci_low": NAN,
        "distance_ci_high": NAN,
        "distance_exact": None,
        "distance_note": "",
    }


def _baseline(sweep: Mapping[str, Any], trials: list[_Trial]) -> str | None:
    named = sweep.get("baseline")
    if named:
        return str(named)
    # No baseline named: the variant trained on the env's own reward is the natural reference.
    env_variants = {t.info.get("variant") for t in trials if (t.info.get("reward") or {}).get("kind") == "env"}
    return str(next(iter(env_variants))) if len(env_variants) == 1 else None


# --- distances -------------------------------------------------------------------------------


def _children(value: Any) -> list[Any]:
    """The values nested in a reward spec (its fields, a mapping's values, a list's items)."""
    if isinstance(value, BaseModel):
        return [getattr(value, name) for name in type(value).model_fields]
    if isinstance(value, Mapping):
        return list(value.values())
    if isinstance(value, (list, tuple)):
        return list(value)
    return []


def _missing_models(spec: Any, env: str, store: ModelStore) -> list[str]:
    """The reward models that building ``spec`` on ``env`` would train because ``store`` lacks them.

    Each is named by its kind; ``[]`` when building trains nothing. A spec that says it trains but
    whose models cannot be found in its fields counts as missing (it would train something).
    """
    if not isinstance(spec, RewardSpec) or not spec.trains_when_built:
        return []
    key = getattr(spec, "cache_key", None)
    if callable(key):  # a kind that trains its own model (learned with preferences, hierarchical offline)
        return [] if (store.path(env, key(env)) / "stats.json").is_file() else [spec.kind]
    missing: list[str] = []
    stack, found = _children(spec), False
    while stack:
        value = stack.pop()
        if isinstance(value, RewardSpec):
            found = True
            missing += _missing_models(value, env, store)
        else:
            stack += _children(value)
    return missing if found else [spec.kind]


def _untrained(variants: dict[str, Any], env: str, store: ModelStore, notes: list[str]) -> set[str]:
    """The variants whose reward needs a model the sweep did not store (noted; never trained here)."""
    try:
        name = suite.get(env).name
    except RewardLabError:
        return set()  # an unknown env: compare() reports it
    out = set()
    for variant, reward in variants.items():
        try:
            spec = from_dict(reward) if isinstance(reward, Mapping) else None
        except RewardLabError:
            continue  # compare() reports the bad spec with its own message
        missing = _missing_models(spec, name, store)
        if missing:
            out.add(variant)
            notes.append(
                f"{env}/{variant}: distance not computed: its reward needs a trained {', '.join(missing)} model "
                f"that is not in {store.root}, and a report never trains one (nor loads a policy). Rerun the "
                "sweep to train and store it."
            )
    return out


def _distances(
    env: str, variants: dict[str, Any], metric: str, n: int, seed: int, notes: list[str], store: ModelStore
) -> tuple[dict[str, tuple[float, float, float, bool]], dict[str, Any] | None]:
    """Distance of each variant's reward to ``{"kind": "env"}`` on ``env``, and the compare matrix.

    One :func:`rewardlab.compare.compare` call with the ground truth first and every variant's
    reward after it; if that call fails (a reward that cannot be built here, an env outside the
    suite), each variant is compared on its own so one bad reward costs only its own distance.
    A variant whose reward would train a model the sweep did not store is left out (noted).
    """
    skip = _untrained(variants, env, store, notes)
    learned = [v for v, r in variants.items() if isinstance(r, Mapping) and r.get("kind") == "rlhf"]
    if learned:  # learned per seed, while training: one note for all of them
        skip.update(learned)
        notes.append(
            f"{env}/{', '.join(learned)}: no distance: an rlhf reward is learned during each seed's training, so "
            "there is no one reward to compare; each run's metrics.jsonl has its model's distance to the ground "
            "truth at every stage (distance_epic, distance_starc_val)."
        )
    names = [v for v in variants if v not in skip]
    out: dict[str, tuple[float, float, float, bool]] = {}
    if not names:
        return out, None
    specs = [{"kind": "env"}, *(variants[v] for v in names)]
    try:
        result = compare(env, specs, metric=metric, n=n, seed=seed, write=False)
    except Exception as exc:
        notes.append(f"{env}: comparing all rewards together failed ({_first_line(exc)}); comparing one by one.")
    else:
        values, lo, hi = result.values, result.ci_low, result.ci_high
        for i, v in enumerate(names, start=1):
            out[v] = (float(values[0, i]), float(lo[0, i]), float(hi[0, i]), result.exact)
        _note_undefined(env, names, result, notes)
        labels = ["ground truth (env)", *names]
        matrix = {
            "names": labels,
            "values": values.tolist(),
            "ci_low": lo.tolist(),
            "ci_high": hi.tolist(),
            "exact": result.exact,
            "metric": metric,
            "n_transitions": None if result.exact else int(result.estimates[0][1].n_transitions),
        }
        return out, matrix
    for v in names:
        try:
            result = compare(env, [{"kind": "env"}, variants[v]], metric=metric, n=n, seed=seed, write=False)
        except Exception as exc:
            notes.append(f"{env}/{v}: distance not computed ({_first_line(exc)}).")
            continue
        est = result.estimates[0][1]
        out[v] = (float(est.value), float(est.ci_low), float(est.ci_high), result.exact)
        if not est.defined:
            notes.append(f"{env}/{v}: distance undefined: {est.reason}.")
    return out, None


def _note_undefined(env: str, names: list[str], result: Any, notes: list[str]) -> None:
    """A note per undefined distance to the ground truth (one for all when the ground truth is trivial)."""
    if not result.estimates[0][0].defined:
        notes.append(f"{env}: every distance to the ground truth is undefined: {result.estimates[0][0].reason}.")
        return
    for i, v in enumerate(names, start=1):
        if not result.estimates[0][i].defined:
            notes.append(f"{env}/{v}: distance undefined: {result.estimates[0][i].reason}.")


# --- distances kept from the last report --------------------------------------------------------

DISTANCES_JSON = "distances.json"
"""What the distances of the current report were computed from and found, per env (``results/``)."""


def _reward_key(reward: Any) -> str:
    return json.dumps(reward, sort_keys=True, default=str)


def _distance_record(summary: SweepSummary) -> dict[str, dict[str, Any]]:
    """Per env with distances: the variants' rewards, each variant's distance and the matrix."""
    out: dict[str, dict[str, Any]] = {}
    for row in summary.rows:
        env = row["env"]
        entry = out.setdefault(env, {"metric": summary.metric, "rewards": {}, "found": {}, "matrix": None})
        entry["rewards"][row["variant"]] = row["reward"]
        if not math.isnan(_finite(row.get("distance"))):
            entry["found"][row["variant"]] = [
                row["distance"],
                row["distance_ci_low"],
                row["distance_ci_high"],
                row["distance_exact"],
            ]
    for env, matrix in summary.matrices.items():
        if env in out:
            out[env]["matrix"] = matrix
    return {env: entry for env, entry in out.items() if entry["found"] or entry["matrix"]}


def _read_distance_record(path: Path) -> dict[str, Any]:
    data = _read_json(path / "results" / DISTANCES_JSON)
    envs = data.get("envs") if data else None
    return envs if isinstance(envs, dict) else {}


def _reuse_distances(
    path: Path, rows: list[dict[str, Any]], groups: _Groups, metric: str, notes: list[str]
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """The distances the last report computed, for each env whose variants' rewards are unchanged.

    Skipping the distances (``--no-distances``) keeps what was there instead of emptying it.
    """
    stored = _read_distance_record(path)
    pair_rows: list[dict[str, Any]] = []
    matrices: dict[str, dict[str, Any]] = {}
    for env in dict.fromkeys(r["env"] for r in rows):
        entry = stored.get(env)
        if not isinstance(entry, dict):
            continue
        rewards = {v: json.dumps(spec, sort_keys=True) for v, spec in _variant_rewards(groups, env).items()}
        same = entry.get("metric") == metric and entry.get("rewards") == rewards
        if not same:
            notes.append(
                f"{env}: the distances of the last report are not shown: the variants or the metric changed since "
                "they were computed. Run `rewardlab report` without --no-distances to compute them again."
            )
            continue
        try:
            found = {v: (float(d), float(lo), float(hi), bool(x)) for v, (d, lo, hi, x) in entry["found"].items()}
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
        _fill_distance(rows, env, found)
        matrix = entry.get("matrix")
        if isinstance(matrix, dict):
            matrices[env] = matrix
            pair_rows += _matrix_pairs(env, matrix, metric)
        elif found:
            pair_rows += _truth_pairs(env, found, metric)
        notes.append(f"{env}: distances kept from the last report (not computed again: --no-distances).")
    return pair_rows, matrices


# --- writing ---------------------------------------------------------------------------------


def _csv_value(value: Any) -> Any:
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    if value is None:
        return ""
    return value


def _to_csv(rows: list[dict[str, Any]], columns: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_value(row.get(c)) for c in columns])
    return buffer.getvalue()


def _to_parquet(rows: list[dict[str, Any]], columns: Sequence[str], types: Mapping[str, Any]) -> bytes:
    # deferred: pyarrow, only to write Parquet
    import pyarrow as pa
    import pyarrow.parquet as pq

    # An explicit schema: a column that is all-NaN or all-None must still have its real type.
    schema = pa.schema([(c, types.get(c, pa.float64())) for c in columns])
    table = pa.Table.from_pylist([{c: r.get(c) for c in columns} for r in rows], schema=schema)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return bytes(sink.getvalue().to_pybytes())


def write_results(summary: SweepSummary, results: Path, previous: Path | None = None) -> None:
    """Write the tables of ``summary`` into the folder ``results`` (a generation being built).

    ``distances.json`` keeps the entries of ``previous/distances.json`` (the current results) for
    the envs this summary has no distances of, so a report that skips them loses nothing.
    """
    # deferred: pyarrow, only to write Parquet
    import pyarrow as pa

    text, integer, boolean = pa.string(), pa.int64(), pa.bool_()
    summary_types = {
        "env": text,
        "agent": text,
        "variant": text,
        "reward": text,
        "distance_note": text,
        "is_baseline": boolean,
        "distance_exact": boolean,
        "n_seeds": integer,
        "n_failed": integer,
        "n_pending": integer,
        "n_paired": integer,
        "significant": boolean,
    }
    curve_types = {"env": text, "agent": text, "variant": text, "timesteps": integer, "n_seeds": integer}
    write_atomic(results / "summary.csv", _to_csv(summary.rows, SUMMARY_COLUMNS))
    write_atomic(results / "summary.parquet", _to_parquet(summary.rows, SUMMARY_COLUMNS, summary_types))
    write_atomic(results / "curves.csv", _to_csv(summary.curves, CURVE_COLUMNS))
    write_atomic(results / "curves.parquet", _to_parquet(summary.curves, CURVE_COLUMNS, curve_types))
    write_atomic(results / "trials.csv", _to_csv(summary.trials, TRIAL_COLUMNS))
    write_atomic(results / "distances.csv", _to_csv(summary.distances, DISTANCE_COLUMNS))
    write_atomic(results / "correlation.csv", _to_csv(summary.distance_correlation, CORRELATION_COLUMNS))
    write_atomic(results / "overall.csv", _to_csv(summary.overall, OVERALL_COLUMNS))
    write_atomic(results / "profiles.csv", _to_csv(summary.profiles, PROFILE_COLUMNS))
    write_atomic(results / "hacking.csv", _to_csv(summary.hacking, HACKING_COLUMNS))
    kept = _read_distance_record(previous.parent) if previous is not None else {}
    record = {"envs": {**kept, **_distance_record(summary)}}
    write_atomic(results / DISTANCES_JSON, json.dumps(record, indent=1, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


# --- assembling the summary ------------------------------------------------------------------

_Groups = dict[tuple[str, str, str], list[_Trial]]
"""Trials by (env, agent, variant), in sweep order."""


def _group(trials: list[_Trial]) -> _Groups:
    groups: _Groups = {}
    for trial in trials:
        key = (str(trial.info.get("env", "?")), str(trial.info.get("agent", "?")), str(trial.info.get("variant", "?")))
        groups.setdefault(key, []).append(trial)
    return groups


def _rows_and_curves(
    groups: _Groups, baseline: str | None, n_boot: int, seed: int, notes: list[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One summary row per group and the learning-curve points of its done trials."""
    rows, curves = [], []
    for (env, agent, variant), members in groups.items():
        rows.append(_row(env, agent, variant, members, baseline, n_boot, seed))
        points, interpolated = _curve_rows(env, agent, variant, [t for t in members if t.done], n_boot, seed)
        curves += points
        if interpolated:
            notes.append(f"{env}/{agent}/{variant}: seeds were evaluated at different steps; curves interpolated.")
    return rows, curves


def _fill_regret(rows: list[dict[str, Any]], baseline: str | None) -> None:
    """Set each row's regret against the baseline variant's row of the same (env, agent)."""
    if baseline is None:
        return
    by_group = {(r["env"], r["agent"], r["variant"]): r for r in rows}
    for row in rows:
        reference = by_group.get((row["env"], row["agent"], baseline))
        if reference is not None:
            row["regret"] = reference["env_return_mean"] - row["env_return_mean"]


def _variant_rewards(groups: _Groups, env: str) -> dict[str, Any]:
    """Each variant's reward spec on ``env`` (from its first trial), in sweep order."""
    variants: dict[str, Any] = {}
    for (e, _, variant), members in groups.items():
        if e == env and variant not in variants:
            variants[variant] = members[0].info.get("reward", {"kind": "env"})
    return variants


def _fill_distance(rows: list[dict[str, Any]], env: str, found: Mapping[str, tuple[float, float, float, bool]]) -> None:
    """Write each of ``env``'s rows' distance to the ground truth, or a note that it has none."""
    for row in rows:
        if row["env"] != env:
            continue
        if row["variant"] in found:
            value, lo, hi, exact = found[row["variant"]]
            row.update(distance=value, distance_ci_low=lo, distance_ci_high=hi, distance_exact=exact)
            if math.isnan(value):  # a trivial reward (compare says why, in the notes)
                row["distance_note"] = UNDEFINED_NOTE
        else:
            row["distance_note"] = "could not be computed (see notes)"


def _matrix_pairs(env: str, matrix: Mapping[str, Any], metric: str) -> list[dict[str, Any]]:
    """Every pair of rewards of a compare matrix (upper triangle), as ``distances.csv`` rows."""
    names = matrix["names"]
    return [
        {
            "env": env,
            "reward_a": names[i],
            "reward_b": names[j],
            "metric": metric,
            "value": matrix["values"][i][j],
            "ci_low": matrix["ci_low"][i][j],
            "ci_high": matrix["ci_high"][i][j],
            "exact": matrix["exact"],
            "n_transitions": matrix["n_transitions"],
        }
        for i in range(len(names))
        for j in range(i + 1, len(names))
    ]


def _truth_pairs(env: str, found: Mapping[str, tuple[float, float, float, bool]], metric: str) -> list[dict[str, Any]]:
    """The ground truth against each variant, as ``distances.csv`` rows (when there is no matrix)."""
    return [
        {
            "env": env,
            "reward_a": "ground truth (env)",
            "reward_b": variant,
            "metric": metric,
            "value": value,
            "ci_low": lo,
            "ci_high": hi,
            "exact": exact,
            "n_transitions": None,
        }
        for variant, (value, lo, hi, exact) in found.items()
    ]


def _fill_distances(
    rows: list[dict[str, Any]], groups: _Groups, metric: str, n: int, seed: int, notes: list[str], store: ModelStore
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Per env: each row's distance to the ground truth; returns the pair rows and the matrices."""
    pair_rows: list[dict[str, Any]] = []
    matrices: dict[str, dict[str, Any]] = {}
    for env in dict.fromkeys(r["env"] for r in rows):
        found, matrix = _distances(env, _variant_rewards(groups, env), metric, n, seed, notes, store)
        _fill_distance(rows, env, found)
        if matrix is not None:
            matrices[env] = matrix
            pair_rows += _matrix_pairs(env, matrix, metric)
        elif found:
            pair_rows += _truth_pairs(env, found, metric)
    return pair_rows, matrices


UNDEFINED_NOTE = "undefined (a trivial reward: see notes)"
"""The ``distance_note`` of a distance to a trivial reward (compare returns NaN with the reason)."""


def _rho_note(distances: Sequence[float], regrets: Sequence[float]) -> str:
    """Why a rank correlation is undefined ("" when it is defined)."""
    if len(distances) < 2:
        return "undefined: fewer than 2 variants with both a distance and a regret"
    if len(set(distances)) < 2:
        return "undefined: every distance is the same (all tied), so they rank nothing"
    if len(set(regrets)) < 2:
        return "undefined: every regret is the same"
    return ""


def _correlations(rows: list[dict[str, Any]], metric: str, n_boot: int = 2000, seed: int = 0) -> list[dict[str, Any]]:
    """Per (env, agent): Spearman rho between the variants' distances and their regrets, with a bootstrap CI.

    The interval resamples the variants (pairs of distance and regret). A correlation over
    distances that are all tied (or regrets all equal) is undefined: NaN with ``rho_note`` saying why.
    """
    correlation = []
    for env, agent in dict.fromkeys((r["env"], r["agent"]) for r in rows):
        group_rows = [r for r in rows if r["env"] == env and r["agent"] == agent]
        # Rounded: a sampled distance of 1e-17 against an exact 0 is noise, and must tie in the ranks.
        pairs = [(round(r["distance"], 9), r["regret"]) for r in group_rows]
        usable = [(d, g) for d, g in pairs if not (math.isnan(d) or math.isnan(g))]
        d, g = [x for x, _ in usable], [y for _, y in usable]
        note = _rho_note(d, g)
        if len(d) < 2 and any(r["distance_note"] == UNDEFINED_NOTE for r in group_rows):
            note = "undefined: the distances to the ground truth are undefined (a trivial reward: see notes)"
        rho = NAN if note else spearman(d, g)
        lo, hi = (NAN, NAN) if note else spearman_ci(d, g, n=n_boot, seed=seed)
        correlation.append(
            {
                "env": env,
                "agent": agent,
                "metric": metric,
                "rho": rho,
                "rho_ci_low": lo,
                "rho_ci_high": hi,
                "n_variants": len(usable),
                "rho_note": note,
            }
        )
    return correlation


# --- comparisons with the baseline (Agarwal et al. 2021) ---------------------------------------


def _finals_by_seed(members: list[_Trial]) -> dict[Any, float]:
    """Seed -> final ground-truth return of the done trials (NaN ones left out)."""
    out = {}
    for t in members:
        if t.done:
            value = t.final("env_return")
            if not math.isnan(value):
                out[t.info.get("seed")] = value
    return out


def _fill_baseline_tests(
    rows: list[dict[str, Any]], groups: _Groups, baseline: str | None, n_boot: int, seed: int
) -> None:
    """Per row: the regret's CI (paired over shared seeds), paired t-test, BH significance, P(variant > baseline).

    The regret's point estimate is unchanged (difference of the means over all done seeds); its
    interval is paired when the variant and the baseline finished the same seeds (then the paired
    mean difference *is* the regret), else unpaired (:func:`~rewardlab.sweeps._stats.difference_ci`).
    The t-test always uses the shared seeds only; significance is Benjamini-Hochberg at 5% over
    the non-baseline variants of each (env, agent).
    """
    if baseline is None:
        return
    finals = {key: _finals_by_seed(members) for key, members in groups.items()}
    for env, agent in dict.fromkeys((r["env"], r["agent"]) for r in rows):
        base = finals.get((env, agent, baseline))
        group = [r for r in rows if (r["env"], r["agent"]) == (env, agent) and r["variant"] != baseline]
        if base is None:
            continue
        for row in group:
            mine = finals.get((env, agent, row["variant"]), {})
            lo, hi, _ = difference_ci(base, mine, n=n_boot, seed=seed)
            d = paired_differences(base, mine)
            poi = probability_of_improvement([list(mine.values())], [list(base.values())])
            # One seed of the variant: no interval (the baseline's spread alone would make one look certain).
            plo, phi = (
                probability_of_improvement_ci([list(mine.values())], [list(base.values())], n=n_boot, seed=seed)
                if len(mine) > 1
                else (NAN, NAN)
            )
            row.update(
                regret_ci_low=lo,
                regret_ci_high=hi,
                n_paired=int(d.size),
                regret_paired_p=paired_t_pvalue(d),
                poi=poi,
                poi_ci_low=plo,
                poi_ci_high=phi,
            )
        for row, significant in zip(group, benjamini_hochberg([r["regret_paired_p"] for r in group]), strict=True):
            row["significant"] = significant if not math.isnan(row["regret_paired_p"]) else None


def _normalisers(groups: _Groups, baseline: str | None) -> tuple[dict[str, tuple[float, float]], dict[str, str]]:
    """Per env: ``(low, high)`` mapping final returns to scores ``(x - low) / (high - low)``, and how, in words.

    Random/ground-truth normalisation where it can be had (B-Pref; rliable's Atari scores): 0 = a
    uniformly random policy's mean return (:func:`rewardlab.evaluation.random_policy_return`,
    50 episodes, seed 0), 1 = the baseline's mean final return (the agent trained on the ground
    truth). Otherwise (no baseline, the env cannot be built here, or the baseline no better than
    random), min/max over every final return on the env.
    """
    lows: dict[str, tuple[float, float]] = {}
    words: dict[str, str] = {}
    for env in dict.fromkeys(k[0] for k in groups):
        done = [t for (e, _, _), members in groups.items() if e == env for t in members if t.done]
        finals = [x for x in (t.final("env_return") for t in done) if not math.isnan(x)]
        if not finals:
            continue
        base = [
            x
            for (e, _, v), members in groups.items()
            if e == env and v == baseline
            for x in _finals_by_seed(members).values()
        ]
        random = NAN
        if base:
            try:
                random = random_policy_return(env, RANDOM_EPISODES)
            except (RewardLabError, ImportError, gym.error.Error):  # an env this machine cannot build: min/max
                random = NAN
        if base and not math.isnan(random) and np.mean(base) > random:
            lows[env] = (random, float(np.mean(base)))
            words[env] = (
                f"random/ground-truth: 0 = a uniformly random policy's mean return ({RANDOM_EPISODES} episodes), "
                f"1 = the baseline {baseline}'s mean final return"
            )
        elif max(finals) > min(finals):
            lows[env] = (min(finals), max(finals))
            words[env] = "min/max: 0 = the lowest final return of any run on this env, 1 = the highest"
        else:
            lows[env] = (finals[0] - 1.0, finals[0])
            words[env] = "every run ends at the same return: all scores are 1"
    return lows, words


def _overall(
    groups: _Groups, baseline: str | None, n_boot: int, seed: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, str], dict[str, tuple[float, float]]]:
    """Per (agent, variant) across envs: stratified-bootstrap IQM, optimality gap, P(> baseline), profiles."""
    lows, words = _normalisers(groups, baseline)
    scores: dict[tuple[str, str], dict[str, list[float]]] = {}
    raw: dict[tuple[str, str], dict[str, list[float]]] = {}
    for (env, agent, variant), members in groups.items():
        if env not in lows:
            continue
        lo, hi = lows[env]
        finals = list(_finals_by_seed(members).values())
        raw.setdefault((agent, variant), {})[env] = finals
        scores.setdefault((agent, variant), {})[env] = [(x - lo) / (hi - lo) for x in finals]
    rows, profiles = [], []
    for agent in dict.fromkeys(a for a, _ in scores):
        keys = [k for k in scores if k[0] == agent]
        every = [x for k in keys for env_scores in scores[k].values() for x in env_scores]
        if not every:
            continue
        taus = np.linspace(min(0.0, min(every)), max(1.0, max(every)), 41)
        base = raw.get((agent, baseline or ""), {})
        for key in keys:
            strata = [v for v in scores[key].values() if v]
            flat = [x for v in strata for x in v]
            if not flat:
                continue
            envs = [e for e in raw[key] if e in base and raw[key][e] and base[e]]
            mine, ref = [raw[key][e] for e in envs], [base[e] for e in envs]
            glo, ghi = stratified_bootstrap_ci(strata, stat=optimality_gap, n=n_boot, seed=seed)
            ilo, ihi = stratified_bootstrap_ci(strata, stat=iqm, n=n_boot, seed=seed)
            plo, phi = probability_of_improvement_ci(mine, ref, n=n_boot, seed=seed) if envs else (NAN, NAN)
            rows.append(
                {
                    "agent": agent,
                    "variant": key[1],
                    "is_baseline": key[1] == baseline,
                    "n_envs": len(strata),
                    "n_runs": len(flat),
                    "score_iqm": iqm(flat),
                    "score_iqm_ci_low": ilo,
                    "score_iqm_ci_high": ihi,
                    "optimality_gap": optimality_gap(flat),
                    "optimality_gap_ci_low": glo,
                    "optimality_gap_ci_high": ghi,
                    "poi": probability_of_improvement(mine, ref) if envs else NAN,
                    "poi_ci_low": plo,
                    "poi_ci_high": phi,
                }
            )
            profile, plow, phigh = performance_profile(strata, taus, n=n_boot, seed=seed)
            profiles += [
                {
                    "agent": agent,
                    "variant": key[1],
                    "tau": float(t),
                    "fraction": float(f),
                    "ci_low": float(a),
                    "ci_high": float(b),
                }
                for t, f, a, b in zip(taus, profile, plow, phigh, strict=True)
            ]
    return rows, profiles, words, lows


def _hacking(groups: _Groups) -> list[dict[str, Any]]:
    """Per (env, agent, variant): the detectors rerun over each done run's rows, and the exact returns."""
    out = []
    for (env, agent, variant), members in groups.items():
        done = [t for t in members if t.done and t.metrics]
        row: dict[str, Any] = {"env": env, "agent": agent, "variant": variant, "n_runs": len(done)}
        for key in ("exact_proxy_return", "exact_env_return", "exact_regret"):
            values = [_finite(t.metrics[-1].get(key)) for t in done]
            values = [v for v in values if not math.isnan(v)]
            row[key] = _mean(values) if values else NAN
        first: dict[str, list[int]] = {d: [] for d in DETECTORS}
        for t in done:
            fired: dict[str, int] = {}
            for i, metrics_row in enumerate(t.metrics):
                for flag in detect(metrics_row, t.metrics[:i]):
                    fired.setdefault(flag.detector, flag.timesteps)
            for name, step in fired.items():
                first.setdefault(name, []).append(step)
        for name in DETECTORS:
            row[f"{name}_runs"] = len(first[name])
            row[f"{name}_first_step"] = min(first[name]) if first[name] else None
        out.append(row)
    return out


def _trial_row(t: _Trial) -> dict[str, Any]:
    """One ``trials.csv`` row: where the trial stands, its final returns and its first error line."""
    return {
        "id": str(t.info.get("id", "")),
        "env": str(t.info.get("env", "?")),
        "agent": str(t.info.get("agent", "?")),
        "variant": str(t.info.get("variant", "?")),
        "seed": t.info.get("seed"),
        "status": str(t.status.get("status", "pending")),
        "final_env_return": t.final("env_return") if t.done else _finite(t.status.get("final_env_return")),
        "final_proxy_return": t.final("proxy_return") if t.done else _finite(t.status.get("final_proxy_return")),
        "n_evals": len(t.metrics),
        "attempts": t.status.get("attempts"),
        "error": _error_line(t.status),
    }


def _error_line(status: Mapping[str, Any]) -> str:
    """The first line of a failed trial's error, or the last line of its traceback (the exception)."""
    line = _first_line(status.get("error"))
    if line:
        return line
    tb = [x.strip() for x in str(status.get("traceback") or "").splitlines() if x.strip()]
    return tb[-1] if tb else ""


def _versions(sweep: Mapping[str, Any], trials: list[_Trial], path: Path) -> dict[str, Any]:
    """The software versions from ``sweep.json``, else from the first trial's ``config.json`` that has them."""
    versions: dict[str, Any] = sweep["versions"] if isinstance(sweep.get("versions"), dict) else {}
    if not versions:
        for t in trials:
            config = _read_json(path / str(t.info.get("id", "")) / "config.json")
            if config and isinstance(config.get("versions"), dict):
                versions = config["versions"]
                break
    return dict(versions)


# --- entry point -----------------------------------------------------------------------------


def aggregate(
    sweep_dir: str | Path,
    *,
    distances: bool = True,
    metric: str = "starc-val",
    n_transitions: int = 2000,
    seed: int = 0,
    n_bootstrap: int = 2000,
    write: bool = True,
) -> SweepSummary:
    """Summarise a sweep folder across seeds and write the tables under ``<sweep_dir>/results/``.

    Never fails on a partial sweep: trials that are failed, pending, running or missing are
    counted per variant and listed in ``trials``; only ``done`` ones enter the statistics.

    Args:
        sweep_dir: the sweep folder (``runs/<sweep name>``) with ``sweep.json`` and the trial folders.
        distances: compute each variant's reward distance to the ground truth (seconds per env on
            sampled envs; exact and fast on tabular ones). False keeps the distances the last
            report computed, for the envs whose variants are unchanged (noted), instead.
        metric: ``"starc-val"`` (default, as :func:`rewardlab.compare.compare`: a small value
            bounds the regret) or ``"epic"``.
        n_transitions: transitions sampled for the distances on non-tabular envs.
        seed: seeds the bootstrap and the distance sampling.
        n_bootstrap: bootstrap replicates of each 95% interval (rliable's examples use 50,000; the
            default 2000 keeps a 50-variant x 20-seed report within seconds).
        write: write ``summary.csv``/``.parquet``, ``curves.csv``/``.parquet``, ``trials.csv``,
            ``distances.csv``, ``correlation.csv`` and ``distances.json`` under
            ``<sweep_dir>/results/``, as a new generation (:mod:`rewardlab.sweeps._publish`)
            without a report: the current ``report/`` described other tables, so it goes.
            :func:`~rewardlab.sweeps.write_report` writes both together.

    Returns:
        A :class:`SweepSummary`.

    Raises:
        ConfigError: ``sweep_dir`` is not a sweep folder, or its ``sweep.json`` is corrupt.
        UnknownNameError: an unknown ``metric`` (the message suggests the closest).
        RunBusyError: with ``write``, another live process is writing the sweep's report.
        StorageError: with ``write``, the tables cannot be written (full disk, permission).
    """
    if metric not in METRICS:
        raise unknown("metric", metric, METRICS, "a reward distance metric")
    path = Path(sweep_dir)
    sweep = load_sweep(path)
    trials = _read_trials(path, sweep.get("trials", []))
    baseline = _baseline(sweep, trials)
    notes: list[str] = []
    groups = _group(trials)
    rows, curves = _rows_and_curves(groups, baseline, n_bootstrap, seed, notes)
    _fill_regret(rows, baseline)
    _fill_baseline_tests(rows, groups, baseline, n_bootstrap, seed)
    if distances:
        # The models the sweep trained and stored: loaded (safetensors + JSON), never trained here.
        with use_model_store(path / REWARD_MODELS) as store:
            assert store is not None
            pair_rows, matrices = _fill_distances(rows, groups, metric, n_transitions, seed, notes, store)
    else:
        pair_rows, matrices = _reuse_distances(path, rows, groups, metric, notes)
    has_distances = any(not math.isnan(_finite(r.get("distance"))) for r in rows)
    correlation = _correlations(rows, metric, n_bootstrap, seed) if distances or has_distances else []
    overall, profiles, normalisation, normalisers = _overall(groups, baseline, n_bootstrap, seed)
    summary = SweepSummary(
        name=str(sweep.get("name", path.name)),
        sweep_dir=path,
        rows=rows,
        curves=curves,
        trials=[_trial_row(t) for t in trials],
        distance_correlation=correlation,
        distances=pair_rows,
        matrices=matrices,
        baseline=baseline,
        spec=dict(sweep["spec"]) if isinstance(sweep.get("spec"), dict) else {},
        versions=_versions(sweep, trials, path),
        created=str(sweep.get("created", "")),
        metric=metric,
        overall=overall,
        profiles=profiles,
        normalisation=normalisation,
        normalisers=normalisers,
        hacking=_hacking(groups),
        n_bootstrap=int(n_bootstrap),
        notes=notes,
    )
    if write:
        with new_generation(path) as generation:
            try:
                write_results(summary, generation.results, generation.previous_results)
            except OSError as exc:
                raise storage_error(exc, path / "results", "sweep_dir") from None
        summary.results_dir = path / "results"
    return summary
