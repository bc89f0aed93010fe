"""Reproduce HERON's Pendulum experiment: hierarchical preferences vs ground truth vs rank-decay.

One command::

    .venv/bin/python scripts/heron_pendulum.py            # sweeps/heron_pendulum.toml: 4 variants x 3 seeds
    .venv/bin/python scripts/heron_pendulum.py --fast     # the spec's [fast] table, a smoke run
    .venv/bin/python scripts/heron_pendulum.py --spec sweeps/heron_original.toml   # HERON's own setting (DDPG, 50k)

Runs the sweep (local backend, every core; rerunning resumes), writes its report
(``runs/<name>/report/report.html``) and prints per variant: the ground-truth return of the final
evaluation (mean over seeds, 95% bootstrap CI, per seed), the steps until the evaluation return
first reaches -250 (per seed; "-" = never), HERON's own metric on the *training* episodes (the
mean true return of the last 25 training episodes per seed, and the steps until the rolling mean
over 25 training episodes first exceeds -250), and HERON's label statistics (the fraction of
pairs decided by each factor, the fraction tied) from the last evaluation.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from rewardlab.runs import read_jsonl
from rewardlab.sweeps import aggregate, load_sweep, run_sweep, write_report
from rewardlab.sweeps._stats import bootstrap_ci

SPEC = Path(__file__).resolve().parents[1] / "sweeps" / "heron_pendulum.toml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=SPEC, help="the sweep spec (default: %(default)s)")
    parser.add_argument("--fast", action="store_true")
    parser.add_argument("--window", type=int, default=25, help="training episodes of HERON's metric (default 25)")
    parser.add_argument("--threshold", type=float, default=-250.0)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    spec = load_sweep(args.spec, fast=args.fast)
    (agent,) = spec.agents  # one agent per spec here
    result = run_sweep(spec, workers=args.workers)
    summary = aggregate(result.sweep_dir, distances=False)
    write_report(result.sweep_dir, summary=summary, distances=False)
    print(f"\n{spec.name}: ground-truth return of the final evaluation ({spec.eval_episodes} episodes per seed)")
    for variant in spec.variants_for(spec.envs[0]):
        finals, reach, last_k, train_reach, stats = [], [], [], [], None
        for seed in spec.seeds:
            rows = read_jsonl(result.sweep_dir / f"{spec.envs[0]}__{variant}__{agent}__s{seed}" / "metrics.jsonl")
            if not rows:
                continue
            finals.append(rows[-1]["eval_env_return"])
            hit = [r["timesteps"] for r in rows if r["eval_env_return"] >= args.threshold]
            reach.append(str(hit[0]) if hit else "-")
            stats = rows[-1].get("reward_stats", stats)
            episodes = [e for r in rows for e in r.get("train_episodes", [])]  # [timestep, true, proxy]
            if episodes:
                steps, true = np.array([e[0] for e in episodes]), np.array([e[1] for e in episodes])
                last_k.append(float(true[-args.window :].mean()))
                rolling = np.convolve(true, np.ones(args.window) / args.window, mode="valid")
                above = np.flatnonzero(rolling > args.threshold)
                train_reach.append(str(int(steps[above[0] + args.window - 1])) if len(above) else "-")
        x = np.array(finals)
        lo, hi = bootstrap_ci(x)
        print(
            f"  {variant:<18} {x.mean():8.1f} [{lo:.1f}, {hi:.1f}]  per seed {np.round(x, 1).tolist()}"
            f"  steps to {args.threshold:.0f}: {', '.join(reach)}"
        )
        if last_k:
            print(
                f"  {'':<18} training episodes (HERON's metric): last {args.window} per seed "
                f"{np.round(last_k, 1).tolist()}; steps until the rolling {args.window} > {args.threshold:.0f}: "
                f"{', '.join(train_reach)}"
            )
        if stats:
            shown = {k: round(v, 3) for k, v in stats.items() if k.startswith("decided_by") or k == "tied"}
            print(f"  {'':<18} label statistics: {shown}")
    print(f"report: {result.sweep_dir / 'report' / 'report.html'}")


if __name__ == "__main__":
    main()
