"""``rewardlab compare``: the distance matrix (STARC-VAL or EPIC) between reward specs.

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

_DESCRIPTION = """\
Distances between reward specs on one env: 0 = the same up to potential shaping and rescaling.

The default metric is STARC-VAL, because it is the one whose numbers you can act on:
  * 0 exactly when two rewards rank every policy the same way, and a small distance bounds
    the regret of optimising one in place of the other (and a large one implies some regret:
    Skalse et al., STARC, ICLR 2024);
  * it reads the rewards only on transitions the env can make, and it sees termination.
EPIC (--metric epic) has no such bounds, reads rewards on impossible transitions, and treats a
constant per-step reward (CartPole's +1) as no reward at all. A distance to a reward that orders
no policies under the metric (canonical form 0 or constant) prints as "undefined", with why.

Exact on envs with a tabular model (cliffworld, maze, ...); otherwise estimated from --n sampled
transitions of --policy, with 95% bootstrap intervals (STARC-VAL then fits V by LSTD on random
features, so shaping is removed only approximately)."""


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
    p = sub.add_parser(
        "compare",
        help="distance matrix (STARC-VAL or EPIC) between reward specs, with 95%% CIs",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--env", required=True, help="suite env name (rewardlab envs) or Gymnasium id")
    p.add_argument("specs", nargs="+", metavar="SPEC", help="reward spec TOML files, or 'env' for the ground truth")
    p.add_argument(
        "--metric",
        default="starc-val",
        help="starc-val or epic (default: starc-val, the one to trust: see above)",
    )
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
