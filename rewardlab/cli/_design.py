"""``rewardlab design``: design an explicable reward (EXPRD) for an env with an exact model, and save it.

Owns the ``design`` parser and its output. At the top it may import only the standard library,
:mod:`rewardlab.errors` and :mod:`rewardlab.cli._common`; :mod:`rewardlab.design` (the metrics,
scipy's HiGHS) is imported when the command runs. The options' help is the field docs of
:class:`rewardlab.design.ExplicableConfig`.
"""

from __future__ import annotations

import argparse
import shlex
from typing import Any

from rewardlab.cli._common import field_docs

__all__ = ["add_commands"]


_OPTIONS = ("horizons", "margin", "r_max", "on", "extra_steps")
"""The settings passed on only when given, so that the defaults stay those of ``ExplicableConfig``."""


def _cmd_design(args: argparse.Namespace) -> int:
    # Deferred so that `--help` does not load the metrics and scipy.
    from rewardlab.design import explicable

    given = {name: getattr(args, name) for name in _OPTIONS if getattr(args, name) is not None}
    design = explicable(args.env, budget=args.budget, **given)
    print(design.report())
    if args.out is not None:
        words = ["rewardlab", "design", "--env", args.env, "--budget", str(args.budget)]
        for name, value in given.items():
            words += [f"--{name.replace('_', '-')}", *map(str, value if isinstance(value, list) else [value])]
        path = design.save(args.out, command=shlex.join([*words, "--out", str(args.out)]))
        print(f"\nWrote {path}; train on it with: rewardlab train --env {args.env} --reward {path}")
    return 0


def add_commands(sub: Any) -> None:
    """Register ``design`` on the subparsers ``sub``."""
    doc = field_docs("design._config", "ExplicableConfig")
    p = sub.add_parser(
        "design",
        help="design a sparse reward that keeps the optimal policies and speeds learning (EXPRD, tabular envs)",
    )
    p.add_argument("--env", required=True, help="an env with an exact tabular model (cliffworld, maze)")
    p.add_argument("--budget", type=int, required=True, help=doc["budget"])
    p.add_argument("--out", default=None, help="write the reward spec (TOML) here, for rewardlab train --reward")
    p.add_argument("--horizons", type=int, nargs="+", default=None, help=doc["horizons"] + " (default: 1 4 8 16 32)")
    p.add_argument("--margin", type=float, default=None, help=doc["margin"] + " (default: 0.25)")
    p.add_argument("--r-max", type=float, default=None, help=doc["r_max"])
    p.add_argument("--on", default=None, help=doc["on"] + " (default: state_action)")
    p.add_argument("--extra-steps", type=int, default=None, help=doc["extra_steps"] + " (default: 20)")
    p.set_defaults(func=_cmd_design)
