"""``rewardlab diagnose``: the reward-hacking detectors over a run or a sweep, in words.

Owns the ``diagnose`` parser and its output. At the top it may import only the standard library,
:mod:`rewardlab.errors` and :mod:`rewardlab.cli._common`; :mod:`rewardlab.monitors` (scipy, SB3)
is imported when the command runs.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["add_commands"]


def _cmd_diagnose(args: argparse.Namespace) -> int:
    # Deferred so that `--help` does not load scipy and SB3.
    from rewardlab.monitors import diagnose, last_returns
    from rewardlab.runs import read_jsonl

    found = diagnose(args.path)
    returns = {run: last_returns(read_jsonl(run / "metrics.jsonl")) for run in found}
    if args.json:
        out = {str(run): {"flags": [f.to_dict() for f in flags], "last": returns[run]} for run, flags in found.items()}
        print(json.dumps(out, indent=2))
        return 0
    for run, flags in found.items():
        print(f"{run}: " + (f"{len(flags)} flag(s)" if flags else "no detector fired"))
        if returns[run]:
            print(f"  {_returns_line(returns[run])}")
        for flag in flags:
            evidence = ", ".join(f"{k}={_short(v)}" for k, v in flag.evidence.items() if v is not None)
            print(f"  step {flag.timesteps:>8}  {flag.detector:<18} {flag.explanation} ({evidence})")
    flagged = sum(bool(flags) for flags in found.values())
    print(f"{flagged} of {len(found)} run(s) flagged. Rules and thresholds: python -m pydoc rewardlab.monitors")
    return 0


def _returns_line(last: dict[str, Any]) -> str:
    """The last evaluation's returns in words; the exact ones when the env has a tabular model."""
    words = [f"last evaluation (step {last.get('timesteps')}):"]
    if "eval_proxy_return" in last:
        words.append(
            f"proxy return {_short(last['eval_proxy_return'])}, true return {_short(last.get('eval_env_return'))}"
        )
    if "exact_env_return" in last:
        words.append(
            f"| exact discounted: proxy {_short(last.get('exact_proxy_return'))}, "
            f"true {_short(last['exact_env_return'])}, regret {_short(last.get('exact_regret'))}"
        )
    return " ".join(words)


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def add_commands(sub: Any) -> None:
    """Register ``diagnose`` on the subparsers ``sub``."""
    p = sub.add_parser("diagnose", help="reward-hacking detectors over a run directory or a sweep folder")
    p.add_argument("path", metavar="PATH", help="a run directory (metrics.jsonl) or a folder of runs (a sweep)")
    p.add_argument("--json", action="store_true", help="print the flags as JSON")
    p.set_defaults(func=_cmd_diagnose)
