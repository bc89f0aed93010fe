"""``rewardlab sweep SPEC``, ``rewardlab sweep status DIR`` and ``rewardlab report DIR``.

Owns the sweep and report parsers and their output (the status table, the interrupted-sweep
message, exit codes 1 for an incomplete sweep and 130 for Ctrl-C). At the top it may import only
the standard library and :mod:`rewardlab.errors`; :mod:`rewardlab.sweeps` (scipy at import; the
training stack, Ray, pyarrow and matplotlib as it needs them) is imported when a command runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rewardlab.cli._common import add_backend_options, add_bootstrap_option, n_bootstrap
from rewardlab.errors import ConfigError, message, unknown

__all__ = ["add_commands"]


def _cmd_sweep(args: argparse.Namespace) -> int:
    if args.spec == "status":
        return _sweep_status(args)
    if args.sweep_dir is not None:
        raise ConfigError(
            message("sweep", "one SPEC file", [args.spec, args.sweep_dir], "Use `rewardlab sweep status DIR`.")
        )
    n_bootstrap(args.n_bootstrap)
    if args.report:
        _check_metric(args.metric)  # before the trials, not after them
    # Deferred so that `--help` does not load the sweep machinery (scipy; torch/SB3 to train).
    from rewardlab.sweeps import run_sweep

    try:
        result = run_sweep(
            args.spec,
            backend=args.backend,
            workers=args.workers,
            address=args.address,
            runs_dir=args.runs_dir,
            retries=args.retries,
            fast=args.fast,
            trial_files=args.trial_files,
        )
    except KeyboardInterrupt:
        print(
            "rewardlab: sweep interrupted; running trials are marked failed (interrupted). "
            "Rerun the same command to resume: done trials are kept.",
            file=sys.stderr,
        )
        return 130
    if result.failed:
        print(f"{result.failed} trial(s) failed; see status.json in their run directories.", file=sys.stderr)
    if args.report:
        args.sweep_dir = str(result.sweep_dir)
        _cmd_report(args)
    return 0 if result.complete else 1


def _sweep_status(args: argparse.Namespace) -> int:
    if args.sweep_dir is None:
        raise ConfigError(message("sweep status", "given a sweep directory", None, "Write e.g. runs/<sweep name>."))
    # Deferred so that `--help` does not load the sweep machinery (scipy).
    from rewardlab.sweeps import sweep_status

    info = sweep_status(args.sweep_dir)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    width = max([len(t["id"]) for t in info["trials"]] + [5])
    print(f"{'trial':<{width}}  {'status':<8}  {'attempts':>8}  {'env return':>10}  {'proxy':>10}  error")
    for t in info["trials"]:
        env = "" if t["final_env_return"] is None or t["status"] != "done" else f"{t['final_env_return']:.1f}"
        proxy = "" if t["final_proxy_return"] is None or t["status"] != "done" else f"{t['final_proxy_return']:.1f}"
        lines = (t["error"] or "").strip().splitlines()
        error = lines[0] if lines else ""
        print(f"{t['id']:<{width}}  {t['status']:<8}  {t['attempts']:>8}  {env:>10}  {proxy:>10}  {error}")
    c = info["counts"]
    running = f" (sweep process {info['running_pid']})" if info["running_pid"] else ""
    print(f"{c['done']} done, {c['running']} running{running}, {c['failed']} failed, {c['pending']} pending")
    return 0


def _check_metric(metric: str) -> None:
    # Deferred so that `--help` does not load the metrics (scipy).
    from rewardlab.compare import METRICS

    if metric not in METRICS:
        raise unknown("--metric", metric, METRICS, "a reward distance metric")


def _cmd_report(args: argparse.Namespace) -> int:
    replicates = n_bootstrap(args.n_bootstrap)
    _check_metric(args.metric)
    # Deferred so that `--help` does not load the sweep machinery (scipy, pyarrow, matplotlib).
    from rewardlab.sweeps import aggregate, format_summary_table, migrate_names, write_report

    migrate_names(args.sweep_dir, progress=True)  # a sweep of an earlier version: the new variant names
    # One aggregation, then the tables and the report written together as one generation.
    summary = aggregate(
        args.sweep_dir, distances=not args.no_distances, metric=args.metric, n_bootstrap=replicates, write=False
    )
    out = write_report(args.sweep_dir, summary=summary, distances=not args.no_distances, clips=not args.no_clips)
    print(format_summary_table(summary))
    for note in summary.notes:
        print(f"Note: {note}")
    print(f"Report: {out}")
    print(f"Tables: {summary.results_dir} (summary.csv/.parquet, curves.csv/.parquet, trials.csv, distances.csv)")
    return 0


def add_commands(sub: Any) -> None:
    """Register ``sweep`` (``sweep SPEC`` and ``sweep status DIR``) and ``report`` on the subparsers ``sub``."""
    p = sub.add_parser(
        "sweep",
        help="run an ablation sweep (env x reward variant x agent x seed); `sweep status DIR` shows progress",
        description="rewardlab sweep SPEC [options] runs a sweep (resuming a previous run); "
        "rewardlab sweep status SWEEP_DIR lists done / running / failed / pending trials.",
    )
    p.add_argument("spec", metavar="SPEC", help="sweep TOML file (sweeps/), or 'status' followed by a sweep directory")
    p.add_argument("sweep_dir", nargs="?", default=None, metavar="SWEEP_DIR", help="with 'status': runs/<sweep name>")
    add_backend_options(p, "trials")
    p.add_argument(
        "--trial-files",
        default=None,
        choices=["driver", "shared"],
        help="with --backend ray: where trials write their folders; driver (default): on their node, sent "
        "back here, so no node needs to see --runs-dir; shared: straight into --runs-dir, a shared mount",
    )
    p.add_argument(
        "--retries",
        type=int,
        default=1,
        help="reruns of a failed trial across invocations (default: 1); a worker or node that died does not count",
    )
    p.add_argument("--json", action="store_true", help="with 'status': print JSON")
    p.add_argument("--report", action="store_true", help="then aggregate and write the report (as `rewardlab report`)")
    p.add_argument("--no-distances", action="store_true", help="with --report: skip distances to the ground truth")
    p.add_argument("--no-clips", action="store_true", help="with --report: no GIF clip per variant")
    p.add_argument(
        "--metric",
        default="starc-val",
        help="with --report: the reward distance to the ground truth: starc-val (default) or epic",
    )
    p.set_defaults(func=_cmd_sweep)

    p = sub.add_parser("report", help="tables, plots and an HTML report of a sweep directory")
    p.add_argument("sweep_dir", metavar="SWEEP_DIR", help="runs/<sweep name>")
    p.add_argument(
        "--no-distances",
        action="store_true",
        help="do not compute each variant's distance to the ground-truth reward (the last report's are kept)",
    )
    p.add_argument(
        "--no-clips",
        action="store_true",
        help="do not render a short GIF clip of each variant's agent (about 12 s per variant on MuJoCo, "
        "under a second on classic control)",
    )
    p.add_argument(
        "--metric",
        default="starc-val",
        help="the reward distance to the ground truth: starc-val (default; small values bound the regret) or epic",
    )
    add_bootstrap_option(p)
    p.set_defaults(func=_cmd_report)
