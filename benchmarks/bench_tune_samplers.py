"""Sampler benchmark of ``rewardlab tune``: TPE vs random search vs a weight grid, equal trial budgets.

On a tune spec (default ``tunes/cartpole_barfi.toml``: CartPole's reward plus one helpful and one
misleading heuristic with searched weights), each sampler runs ``--trials`` candidates, repeated
with ``--sampler-seeds`` sampler seeds. The grid is Optuna's grid sampler over the same space, each
searched range cut into as many steps as the budget allows (``floor(trials ** (1 / parameters))``
values per parameter, so the grid has at most ``trials`` points). No pruning, no re-evaluation: every
candidate costs the same, and the score is the spec's objective (IQM of the final ground-truth
returns over the spec's seeds).

The reference is the env reward's own agent: the ground truth trained on the same seeds, and the
95% bootstrap CI of its score. For each sampler and seed the script prints after how many
candidates the best score so far first reaches the lower end of that CI (a return within the CI of
the env reward's agent, or above it), and the best true return found.

Everything goes through the tune engine, one study per (sampler, seed) under ``--runs-dir``, so a
killed benchmark resumes where it stopped (rerun the same command) and a finished one only prints.

    .venv/bin/python benchmarks/bench_tune_samplers.py                    # 3 samplers x 3 seeds x 40 candidates
    .venv/bin/python benchmarks/bench_tune_samplers.py --timesteps 10000  # a cheaper variant
    .venv/bin/python benchmarks/bench_tune_samplers.py --smoke            # tiny settings, a minute: checks it runs
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from rewardlab.sweeps import SweepSpec, TuneSpec, load_tune, run_sweep, run_tune, sweep_status
from rewardlab.sweeps._stats import bootstrap_ci, iqm

ROOT = Path(__file__).resolve().parents[1]
SAMPLERS = ("tpe", "random", "grid")


def _grid_space(space: dict[str, Any], trials: int) -> dict[str, Any]:
    """The space with every continuous range given a ``step``: about ``trials`` grid points in all."""
    ranges = [
        (term, key)
        for term, fields in space.get("terms", {}).items()
        for key, value in fields.items()
        if isinstance(value, dict) and "low" in value and "step" not in value
    ]
    per = max(2, math.floor(trials ** (1 / max(len(ranges), 1)) + 1e-9))
    out = {**space, "terms": {t: dict(f) for t, f in space.get("terms", {}).items()}}
    for term, key in ranges:
        value = dict(out["terms"][term][key])
        value.pop("log", None)
        value["step"] = (float(value["high"]) - float(value["low"])) / (per - 1)
        out["terms"][term][key] = value
    return out


def _spec(base: TuneSpec, sampler: str, seed: int, args: argparse.Namespace) -> TuneSpec:
    data = base.to_dict()
    data.update(
        name=f"{base.name}_bench_{sampler}_s{seed}",
        sampler=sampler,
        sampler_seed=seed,
        trials=args.trials,
        pruner="none",
        batch=1,
        reeval={"top": 0},
        fast={},
    )
    if args.timesteps:
        data["timesteps"] = args.timesteps
    if args.seeds:
        data["seeds"] = args.seeds
    if sampler == "grid":
        data["space"] = _grid_space(data["space"], args.trials)
    return TuneSpec.from_dict(data)


def _reference(base: TuneSpec, args: argparse.Namespace) -> tuple[float, float, float]:
    """The env reward's own agent on the benchmark's seeds: its score and the 95% CI of it."""
    spec = SweepSpec(
        name=f"{base.name}_reference",
        envs=(base.env,),
        seeds=tuple(args.seeds or base.seeds),
        agents={base.agent: dict(base.hyperparams)},
        variants={"ground_truth": {"kind": "env"}},
        timesteps=args.timesteps or base.timesteps,
        eval_freq=base.eval_freq,
        eval_episodes=base.eval_episodes,
        n_envs=base.n_envs,
    )
    result = run_sweep(spec, workers=args.workers, runs_dir=args.runs_dir, progress=False)
    returns = [float(t["final_env_return"]) for t in sweep_status(result.sweep_dir)["trials"] if t["status"] == "done"]
    if len(returns) < 2:
        sys.exit(f"the reference agent finished {len(returns)} seed(s); it needs 2 or more for a CI")
    stat = iqm if base.objective == "iqm" else statistics.fmean
    low, high = bootstrap_ci(returns, stat=stat, n=args.n_bootstrap)
    return float(stat(returns)), low, high


def _first_within(values: list[float | None], low: float) -> int | None:
    """The number of candidates after which the best score so far first reaches ``low`` (None: never)."""
    best = -math.inf
    for k, v in enumerate(values, 1):
        if v is not None:
            best = max(best, v)
        if best >= low:
            return k
    return None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--spec", default=str(ROOT / "tunes" / "cartpole_barfi.toml"), help="tune TOML")
    p.add_argument("--trials", type=int, default=40, help="candidates per sampler and seed (default: 40)")
    p.add_argument("--sampler-seeds", type=int, default=3, help="sampler seeds 0..N-1 (default: 3)")
    p.add_argument("--first-seed", type=int, default=0, help="start at this sampler seed (split a run over processes)")
    p.add_argument("--samplers", nargs="+", default=list(SAMPLERS), choices=SAMPLERS)
    p.add_argument("--timesteps", type=int, default=None, help="training steps per trial (default: the spec's)")
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="training seeds (default: the spec's)")
    p.add_argument("--workers", type=int, default=None, help="trials at once (default: every core)")
    p.add_argument("--runs-dir", default="runs/bench_tune_samplers", help="where the studies are kept (resumable)")
    p.add_argument("--n-bootstrap", type=int, default=10000, help="replicates of the reference CI")
    p.add_argument("--smoke", action="store_true", help="tiny settings: 2 candidates, 1 seed of each sampler")
    args = p.parse_args(argv)
    if args.smoke:
        args.trials, args.sampler_seeds = 2, 1
        args.timesteps = args.timesteps or 256
        args.seeds = args.seeds or [0, 1]
    base = load_tune(args.spec)
    print(
        f"# {platform.platform()}, Python {platform.python_version()}; spec {args.spec}: {base.env} / {base.agent}, "
        f"{args.trials} candidates, seeds {args.seeds or list(base.seeds)}, "
        f"{args.timesteps or base.timesteps} steps per trial, objective {base.objective}",
        flush=True,
    )
    start = time.monotonic()
    score, low, high = _reference(base, args)
    print(f"reference (the env reward's own agent): {score:.1f} [{low:.1f}, {high:.1f}] (95% CI)", flush=True)
    print(f"{'sampler':<8} {'seed':>4} {'trials to reach the CI':>23} {'best true return':>17} {'wall s':>7}")
    reached: dict[str, list[int | None]] = {s: [] for s in args.samplers}
    best: dict[str, list[float]] = {s: [] for s in args.samplers}
    for seed in range(args.first_seed, args.first_seed + args.sampler_seeds):
        for sampler in args.samplers:  # interleaved: a drift in the machine's load touches every sampler alike
            t0 = time.monotonic()
            spec = _spec(base, sampler, seed, args)
            result = run_tune(spec, workers=args.workers, runs_dir=args.runs_dir, progress=False)
            values = _values(result.tune_dir)
            k = _first_within(values, low)
            top = max((v for v in values if v is not None), default=math.nan)
            reached[sampler].append(k)
            best[sampler].append(top)
            when = f"{k}" if k is not None else f"not in {args.trials}"
            print(f"{sampler:<8} {seed:>4} {when:>23} {top:>17.1f} {time.monotonic() - t0:>7.0f}", flush=True)
    print("\nsummary over sampler seeds (median; 'never' counts as the budget + 1):")
    for sampler in args.samplers:
        ks = [k if k is not None else args.trials + 1 for k in reached[sampler]]
        hits = sum(k is not None for k in reached[sampler])
        print(
            f"  {sampler:<8} reached the CI in {hits}/{len(ks)} runs, median after {statistics.median(ks):g} "
            f"candidates; best true return median {statistics.median(best[sampler]):.1f} "
            f"(min {min(best[sampler]):.1f}, max {max(best[sampler]):.1f})"
        )
    print(f"total wall time {time.monotonic() - start:.0f} s; studies in {args.runs_dir} (rerun to resume)")
    return 0


def _values(tune_dir: Path) -> list[float | None]:
    """The candidates' scores in candidate order (None: failed), from the tune's history.csv."""
    import csv

    with open(tune_dir / "history.csv", newline="") as f:
        return [float(r["value"]) if r["value"] not in ("", None) else None for r in csv.DictReader(f)]


if __name__ == "__main__":
    sys.exit(main())
