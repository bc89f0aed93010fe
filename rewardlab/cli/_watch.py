"""``rewardlab watch``: a clip of a trained agent with its proxy and true reward per step.

Owns the ``watch`` parser and its output. At the top it may import only the standard library,
:mod:`rewardlab.errors` and :mod:`rewardlab.cli._common`; the renderer (gymnasium, SB3, Pillow)
is imported when the command runs.
"""

from __future__ import annotations

import argparse
from typing import Any

from rewardlab.cli._common import add_trust_flag

__all__ = ["add_commands"]


def _cmd_watch(args: argparse.Namespace) -> int:
    # Deferred so that `--help` does not load torch/SB3.
    from rewardlab.preferences import watch_run

    path, totals = watch_run(
        args.run_dir, args.out, steps=args.steps, seed=args.seed, fps=args.fps, trust=args.trust_pickle
    )
    print(
        f"Wrote {path}: {totals['steps']:.0f} steps, proxy return {totals['proxy_return']:.2f}, "
        f"true (env) return {totals['true_return']:.2f}"
    )
    return 0


def add_commands(sub: Any) -> None:
    """Register ``watch`` on the subparsers ``sub``."""
    p = sub.add_parser("watch", help="render a trained agent's episode (GIF) with proxy and true reward per step")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory of rewardlab train (config.json, agent.zip)")
    p.add_argument("--out", default=None, help="the .gif to write (default: RUN_DIR/watch.gif)")
    p.add_argument("--steps", type=int, default=200, help="the most steps to show (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seed of the episode (default: %(default)s)")
    p.add_argument("--fps", type=float, default=30, help="frames per second (default: %(default)s)")
    add_trust_flag(p)
    p.set_defaults(func=_cmd_watch)
