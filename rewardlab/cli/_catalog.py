"""``rewardlab envs`` and ``rewardlab agents``: what the suite and the agent presets hold.

Owns the two listing commands and their parsers. At the top it may import only the standard
library and :mod:`rewardlab.errors`; :mod:`rewardlab.suite` and :mod:`rewardlab.agents` are
imported by the commands that use them.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["add_commands"]


def _cmd_envs(args: argparse.Namespace) -> int:
    # Deferred so that `--help` does not load numpy, gymnasium and the suite plugins.
    from rewardlab import suite

    names = suite.names()
    if args.json:
        out = []
        for name in names:
            e = suite.get(name)
            out.append(
                {
                    "name": e.name,
                    "gym_id": e.gym_id,
                    "description": e.description,
                    "factors": [
                        {
                            "name": f.name,
                            "direction": "higher" if f.higher_is_better else "lower",
                            "description": f.description,
                        }
                        for f in e.factors
                    ],
                    "ground_truth": dict(e.ground_truth),
                    "potentials": sorted(e.potentials),
                }
            )
        print(json.dumps(out, indent=2))
        return 0
    for name in names:
        e = suite.get(name)
        print(f"{e.name}  ({e.gym_id})  {e.description}")
        width = max(len(f.name) for f in e.factors)
        for f in e.factors:
            arrow = "higher is better" if f.higher_is_better else "lower is better"
            print(f"    {f.name:<{width}}  {arrow:<16}  {f.description}")
        print(f"    ground truth = {e.ground_truth_text()}")
        if e.potentials:
            print(f"    potentials for shaping: {', '.join(sorted(e.potentials))}")
        print()
    return 0


def _cmd_agents(args: argparse.Namespace) -> int:
    # Deferred so that `--help` does not load torch/SB3 (rewardlab.agents imports SB3).
    from rewardlab import agents, suite

    for algo in agents.algorithms():
        envs = [n for n in suite.names() if agents.preset(algo, n).env != "default"]
        print(f"{algo}: tuned presets for {', '.join(envs) or 'none'} (others use [default])")
    return 0


def add_commands(sub: Any) -> None:
    """Register ``envs`` and ``agents`` on the subparsers ``sub``."""
    p = sub.add_parser("envs", help="list the suite: envs, reward factors, directions, ground truth")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_cmd_envs)

    p = sub.add_parser("agents", help="list the SB3 algorithms and their tuned presets")
    p.set_defaults(func=_cmd_agents)
