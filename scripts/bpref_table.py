"""The B-Pref table of docs/benchmarks.md, from finished ``sweeps/bpref_*.toml`` sweeps.

Run the sweeps first (both resume when rerun), then this::

    .venv/bin/rewardlab sweep sweeps/bpref_cartpole.toml --report
    .venv/bin/rewardlab sweep sweeps/bpref_pendulum.toml --report
    .venv/bin/python scripts/bpref_table.py runs/bpref_pendulum runs/bpref_cartpole

For each sweep it reads the report's statistics (``rewardlab.sweeps.aggregate``): every variant's
final ground-truth returns, normalised per env between the untrained policy (0) and the agent
trained on the ground truth (1), as the IQM over seeds with a 95% stratified-bootstrap interval.
It prints two Markdown tables, teachers x (env, label budget):

1. the normalised score, IQM [95% CI];
2. what each teacher costs against the oracle at the same budget: the mean over seeds of
   (teacher - oracle), paired by seed (each seed's runs share the agent's and the loop's seeds),
   with a 95% bootstrap interval over the seeds;
3. how often the teacher's labels agree with the ground truth (the sign of the segments'
   ground-truth return difference; pairs of equal return left out, a 0.5 label counts half),
   over every label of every seed's final dataset.

Variant names follow the sweeps: ``<teacher>_<budget>`` and ``oracle_uniform_<budget>`` (the
oracle with uniform instead of ensemble-disagreement query selection).
"""

from __future__ import annotations

import argparse
import math
import re
from pathlib import Path

import numpy as np

from rewardlab.cli._common import n_bootstrap
from rewardlab.errors import RewardLabError
from rewardlab.preferences import BPREF_TEACHERS, PreferenceDataset
from rewardlab.sweeps import aggregate
from rewardlab.sweeps._stats import bootstrap_ci

ROWS = (*BPREF_TEACHERS, "oracle_uniform")
"""Table rows: B-Pref's six teachers, then the oracle with uniform query selection."""
_VARIANT = re.compile(r"^(?P<teacher>.+)_(?P<budget>\d+)$")


def _cell(value: float, low: float, high: float) -> str:
    if math.isnan(value):
        return "n/a"
    return f"{value:.2f} [{low:.2f}, {high:.2f}]"


def label_agreement(run: Path) -> tuple[float, int]:
    """Agreement of a run's labels with the ground-truth order of its pairs, and how many pairs count."""
    data = PreferenceDataset.load(run / "dataset")
    seg = data.segments
    returns = (seg.env_rewards * seg.mask).sum(axis=1)
    diff = returns[data.pairs[:, 0]] - returns[data.pairs[:, 1]]
    strict = diff != 0
    truth = (diff[strict] > 0).astype(np.float64)
    return float(1.0 - np.abs(data.labels[strict] - truth).mean()) if strict.any() else math.nan, int(strict.sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweeps", nargs="+", type=Path, help="sweep folders (runs/bpref_pendulum ...)")
    parser.add_argument("--n-bootstrap", type=int, default=2000)
    args = parser.parse_args()
    try:
        args.n_bootstrap = n_bootstrap(args.n_bootstrap)
        print_tables(args.sweeps, args.n_bootstrap)
    except RewardLabError as exc:  # a bad value or a missing sweep: the message says what to do
        raise SystemExit(f"bpref_table.py: {exc}") from None


def print_tables(sweeps: list[Path], replicates: int) -> None:
    """Read the sweeps and print the three tables (module docstring)."""
    columns: list[tuple[str, int]] = []
    score: dict[tuple[str, int, str], str] = {}
    cost: dict[tuple[str, int, str], str] = {}
    agree: dict[tuple[str, int, str], str] = {}
    notes = []
    for folder in sweeps:
        summary = aggregate(folder, distances=False, n_bootstrap=replicates, write=False)
        agents = {t["agent"] for t in summary.trials}
        for env, (low, high) in summary.normalisers.items():
            notes.append(
                f"{env} ({', '.join(sorted(agents))}): score 0 = return {low:.1f}, 1 = return {high:.1f} "
                f"({summary.normalisation[env]})"
            )
            finals: dict[str, dict[object, float]] = {}
            for t in summary.trials:
                if t["env"] == env and t["status"] == "done" and not math.isnan(t["final_env_return"]):
                    finals.setdefault(t["variant"], {})[t["seed"]] = (t["final_env_return"] - low) / (high - low)
            n_runs = sum(len(v) for v in finals.values())
            n_trials = sum(1 for t in summary.trials if t["env"] == env)
            if n_runs < n_trials:
                notes.append(f"{env}: {n_trials - n_runs} of {n_trials} trials not done; the table uses the done ones")
            budgets = sorted({int(m["budget"]) for v in finals if (m := _VARIANT.match(v))})
            columns += [(env, b) for b in budgets]
            overall = {r["variant"]: r for r in summary.overall}
            for b in budgets:
                oracle = finals.get(f"oracle_{b}", {})
                for row in ROWS:
                    name = f"{row}_{b}"
                    if name not in overall:
                        continue
                    r = overall[name]
                    score[env, b, row] = _cell(r["score_iqm"], r["score_iqm_ci_low"], r["score_iqm_ci_high"])
                    runs = [
                        folder / t["id"]
                        for t in summary.trials
                        if t["env"] == env and t["variant"] == name and (folder / t["id"] / "dataset").is_dir()
                    ]
                    counted = [label_agreement(run) for run in runs]
                    n = sum(c for _, c in counted)
                    if n:
                        agree[env, b, row] = f"{sum(a * c for a, c in counted if c) / n:.3f} ({n})"
                    if row == "oracle":
                        continue
                    mine = finals.get(name, {})
                    paired = [mine[s] - oracle[s] for s in mine if s in oracle]
                    if paired:
                        lo, hi = bootstrap_ci(np.array(paired), n=replicates)
                        cost[env, b, row] = _cell(float(np.mean(paired)), lo, hi)

    head = "| teacher | " + " | ".join(f"{env}, {b} labels" for env, b in columns) + " |"
    rule = "|---|" + "---|" * len(columns)
    print("Normalised ground-truth score, IQM over seeds [95% stratified-bootstrap CI]:\n")
    print(head + "\n" + rule)
    for row in ROWS:
        print(f"| {row} | " + " | ".join(score.get((env, b, row), "—") for env, b in columns) + " |")
    print("\nCost against the oracle at the same budget, mean of (teacher - oracle) paired by seed [95% CI]:\n")
    print(head + "\n" + rule)
    for row in ROWS[1:]:
        print(f"| {row} | " + " | ".join(cost.get((env, b, row), "—") for env, b in columns) + " |")
    print("\nLabels that agree with the ground truth's order (labelled pairs of unequal return):\n")
    print(head + "\n" + rule)
    for row in ROWS:
        print(f"| {row} | " + " | ".join(agree.get((env, b, row), "—") for env, b in columns) + " |")
    print()
    for note in notes:
        print(f"- {note}")


if __name__ == "__main__":
    main()
