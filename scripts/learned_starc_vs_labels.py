"""How close does a reward learned from preferences get to the ground truth as labels grow?

One command::

    .venv/bin/python scripts/learned_starc_vs_labels.py              # cliffworld, 7 budgets x 3 seeds
    .venv/bin/python scripts/learned_starc_vs_labels.py --quick      # 3 budgets x 2 seeds, a smoke run

On a tabular gridworld (exact MDP), for each label budget ``n`` and seed: collect random-policy
segments, label ``n`` random pairs with a Boltzmann-rational teacher on the env's reward, train a
Bradley-Terry reward model (the ``learned`` spec's ``preferences`` settings), tabulate it on every
``(s, a, s')`` and compute the exact STARC-VAL distance (and EPIC) to the ground truth. Distances
are invariant to positive scaling and potential shaping, so they measure how far the learned
reward is from inducing the same preferences over policies, not its arbitrary scale. Prints a
table (mean and min/max over seeds) and writes ``runs/learned_starc/<env>.csv``.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np
import torch

import rewardlab as rl


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="cliffworld")
    parser.add_argument("--budgets", type=int, nargs="+", default=[10, 25, 50, 100, 200, 400, 800])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--quick", action="store_true", help="3 budgets x 2 seeds")
    args = parser.parse_args()
    budgets, seeds = (args.budgets, args.seeds) if not args.quick else ([10, 100, 400], 2)
    torch.set_num_threads(1)
    model = rl.metrics.tabular_model(args.env)
    truth = rl.metrics.reward_table("env", args.env)
    rows = []
    start = time.time()
    for n in budgets:
        for seed in range(seeds):
            spec = rl.rewards.Learned(
                preferences={
                    "n_segments": 400,
                    "length": 10,
                    "n_pairs": n,
                    "temperature": args.temperature,
                    "features": ["obs", "action", "next_obs"],
                    "epochs": 100,
                    "seed": seed,
                }
            )
            table = rl.metrics.reward_table(spec, args.env)
            rows.append(
                {
                    "labels": n,
                    "seed": seed,
                    "starc_val": rl.metrics.starc_distance(table, truth, model.mdp),
                    "epic": rl.metrics.epic_distance(table, truth, model.mdp),
                }
            )
    out = Path("runs/learned_starc") / f"{args.env}.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"{args.env}: exact distance of the learned reward to the ground truth ({seeds} seeds, T={args.temperature})")
    print(f"{'labels':>7}  {'STARC-VAL mean [min, max]':>28}  {'EPIC mean [min, max]':>26}")
    for n in budgets:
        s = np.array([r["starc_val"] for r in rows if r["labels"] == n])
        e = np.array([r["epic"] for r in rows if r["labels"] == n])
        print(
            f"{n:>7}  {s.mean():>10.3f} [{s.min():.3f}, {s.max():.3f}]"
            f"     {e.mean():>8.3f} [{e.min():.3f}, {e.max():.3f}]"
        )
    print(f"wrote {out} in {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
