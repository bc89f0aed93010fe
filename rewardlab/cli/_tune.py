"""``rewardlab tune SPEC``: search a reward design space, scored by the ground-truth return.

Owns the tune parser and its output (one line per candidate, the best candidate, the
re-evaluation on fresh seeds, where the outputs are). At the top it imports only the standard
library and :mod:`rewardlab.errors`; :mod:`rewardlab.sweeps` (scipy; torch and SB3 to train;
Optuna) is imported when the command runs.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rewardlab.cli._common import add_backend_options, n_bootstrap

__all__ = ["add_commands"]


def _cmd_tune(args: argparse.Namespace) -> int:
    replicates = n_bootstrap(args.n_bootstrap)
    # Deferred so that `--help` loads neither the training stack nor Optuna.
    from rewardlab.sweeps import run_tune

    try:
        result = run_tune(
            args.spec,
            backend=args.backend,
            workers=args.workers,
            address=args.address,
            runs_dir=args.runs_dir,
            fast=args.fast,
            n_bootstrap=replicates,
        )
    except KeyboardInterrupt:
        print(
            "rewardlab: tune interrupted. Rerun the same command to resume: finished candidates are kept "
            "and the interrupted one is finished from its done seeds.",
            file=sys.stderr,
        )
        return 130
    best = result.best
    if best is None:
        print("No candidate completed; see trials.csv for the errors.", file=sys.stderr)
        return 1
    print(f"Best candidate {best['number']}: score {best['value']:.2f} on the search seeds.")
    for row in result.reeval:
        fresh = "n/a" if row["fresh_score"] is None else f"{row['fresh_score']:.2f}"
        diff = "" if row["minus_base_mean"] is None else f"  (minus base {row['minus_base_mean']:+.2f}"
        if diff and row["p_beats_base"] is not None:
            diff += f", P(beats base) {row['p_beats_base']:.2f}"
        diff += ")" if diff else ""
        print(f"  fresh seeds: {row['label']:<14} {fresh}{diff}")
    print(f"Reward: {result.tune_dir / 'best_reward.toml'}")
    print(f"Tables and report: {result.tune_dir} (trials.csv, reeval.csv, importances.json, report.html)")
    return 0


def add_commands(sub: Any) -> None:
    """Register ``tune`` on the subparsers ``sub``."""
    p = sub.add_parser(
        "tune",
        help="search reward weights / terms / shaping / hyperparameters with Optuna, scored by the true return",
        description="rewardlab tune SPEC [options] runs (or resumes) a reward-design search: every candidate "
        "trains over the spec's paired seeds and is scored by its final ground-truth return.",
    )
    p.add_argument("spec", metavar="SPEC", help="tune TOML file (tunes/)")
    add_backend_options(p, "trials (the seeds of a batch of candidates)")
    p.set_defaults(func=_cmd_tune)
