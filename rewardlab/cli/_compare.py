"""``rewardlab compare``: the distance matrix (EPIC or STARC-VAL) between reward specs.

Owns the ``compare`` parser and its output. At the top it may import only the standard library,
:mod:`rewardlab.errors` and :mod:`rewardlab.cli._common`; :mod:`rewardlab.compare` (the metrics,
scipy; SB3 and matplotlib as it needs them) is imported when the command runs.
"""

from __future__ import annotations

import argparse
import zipfile
from typing import Any

from rewardlab.cli._common import add_trust_flag, check_policy_archive, unreadable_policy

__all__ = ["add_commands"]


def _cmd_compare(args: argparse.Namespace) -> int:
    # Deferred so that `--help` does not load the metrics and scipy.
    from rewardlab.compare import compare

    check_policy_archive(args.policy)
    try:
        result = compare(
            args.env,
            args.specs,
            metric=args.metric,
            n=args.n,
            policy=args.policy,
            seed=args.seed,
            gamma=args.gamma,
            runs_dir=args.runs_dir,
            trust=args.trust_pickle,
        )
    except zipfile.BadZipFile as exc:  # the only zip (SB3 model) or .npz that compare reads is the policy
        raise unreadable_policy(args.policy, exc) from exc
    print(result.table())
    print()
    print(f"Took {result.seconds:.1f} s. Run directory: {result.run_dir}  (distances.csv, matrix.csv, heatmap.png)")
    return 0


def add_commands(sub: Any) -> None:
    """Register ``compare`` on the subparsers ``sub``."""
    p = sub.add_parser("compare", help="distance matrix (EPIC or STARC-VAL) between reward specs, with 95%% CIs")
    p.add_argument("--env", required=True, help="suite env name (rewardlab envs) or Gymnasium id")
    p.add_argument("specs", nargs="+", metavar="SPEC", help="reward spec TOML files, or 'env' for the ground truth")
    p.add_argument("--metric", default="epic", help="epic or starc-val (default: epic)")
    p.add_argument("--n", type=int, default=2000, help="transitions to sample (default: 2000)")
    p.add_argument(
        "--policy",
        default="random",
        help="coverage policy: random, a model.zip or a transitions .npz (default: random)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the sampling and the bootstrap (default: 0)")
    p.add_argument("--gamma", type=float, default=0.99, help="discount of the canonicalisation (default: 0.99)")
    p.add_argument("--runs-dir", default="runs", help="results go to RUNS_DIR/compare/<env>__<metric>__<time>")
    add_trust_flag(p)
    p.set_defaults(func=_cmd_compare)
