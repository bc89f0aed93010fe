"""The ``rewardlab`` command line: every command, one module per command group.

This package owns the parser assembly and :func:`main` (the ``rewardlab`` console script and
``python -m rewardlab.cli``). Each command group lives in its own module, which registers its
parsers through ``add_commands(sub)`` and owns its output:

- :mod:`~rewardlab.cli._catalog`: ``envs``, ``agents``
- :mod:`~rewardlab.cli._train`: ``train``
- :mod:`~rewardlab.cli._compare`: ``compare``
- :mod:`~rewardlab.cli._design`: ``design``
- :mod:`~rewardlab.cli._sweep`: ``sweep SPEC``, ``sweep status DIR``, ``report DIR``
- :mod:`~rewardlab.cli._tune`: ``tune SPEC``
- :mod:`~rewardlab.cli._prefs`: ``prefs collect | label | train | export``
- :mod:`~rewardlab.cli._rlhf`: ``rlhf``
- :mod:`~rewardlab.cli._diagnose`: ``diagnose``
- :mod:`~rewardlab.cli._watch`: ``watch``
- :mod:`~rewardlab.cli._common`: what they share (error printing and exit codes, ``--set``
  overrides, the oracle flags)

The command modules import only the standard library, :mod:`rewardlab.errors` and
:mod:`rewardlab.cli._common` at their top; a command imports the machinery it runs (training,
sweeps, preferences: torch and SB3) when it runs, so that ``rewardlab --help`` and
``rewardlab envs`` start fast. The commands use rewardlab's public APIs only.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from rewardlab.cli import _catalog, _compare, _design, _diagnose, _prefs, _rlhf, _sweep, _train, _tune, _watch
from rewardlab.cli._common import run_command

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The ``rewardlab`` parser with every command; each command sets ``func`` (its run function)."""
    parser = argparse.ArgumentParser(prog="rewardlab", description="Design, learn and compare reward functions for RL.")
    sub = parser.add_subparsers(dest="command", required=True)
    _catalog.add_commands(sub)  # envs, agents
    _train.add_commands(sub)  # train
    _compare.add_commands(sub)  # compare
    _design.add_commands(sub)  # design
    _sweep.add_commands(sub)  # sweep SPEC | sweep status DIR, report DIR
    _tune.add_commands(sub)  # tune SPEC
    _prefs.add_commands(sub)  # prefs collect|label|train|export
    _rlhf.add_commands(sub)  # rlhf
    _diagnose.add_commands(sub)  # diagnose
    _watch.add_commands(sub)  # watch
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``rewardlab`` with ``argv`` (default: ``sys.argv[1:]``) and return its exit code.

    Exit codes: 0 on success, 1 for an incomplete sweep, 2 for a usage error or a rewardlab error
    (``rewardlab: error: ...`` on stderr), 130 after Ctrl-C.
    """
    args = build_parser().parse_args(argv)
    return run_command(args.func, args)
