"""``rewardlab rlhf``: online preference learning (Christiano et al., 2017), resumable.

Owns the ``rlhf`` parser and its output (the per-stage table and the final summary); the loop
itself is :func:`rewardlab.preferences.run_rlhf`. At the top it may import only the standard
library, :mod:`rewardlab.errors` and :mod:`rewardlab.cli._common`; :mod:`rewardlab.preferences`
is imported when the command runs.
"""

from __future__ import annotations

import argparse
import math
import secrets
from typing import Any

from rewardlab.cli._common import (
    add_agent_options,
    add_oracle_flags,
    add_run_options,
    add_trust_flag,
    field_docs,
    oracle_spec,
    parse_overrides,
)

__all__ = ["add_commands"]


def _cmd_rlhf(args: argparse.Namespace) -> int:
    # Deferred so that `--help` does not load torch/SB3.
    from rewardlab.preferences import RLHFConfig, is_loopback, run_rlhf

    oracle = oracle_spec(args)
    token = args.token
    if token is None and args.teacher != "synthetic" and not is_loopback(args.host):
        token = secrets.token_urlsafe(24)  # another address is reachable by others: require a secret
    config = RLHFConfig(
        env=args.env,
        agent=args.agent,
        seed=args.seed,
        total_timesteps=args.timesteps,
        label_budget=args.labels,
        n_iterations=args.iterations,
        initial_fraction=args.initial_fraction,
        segment_length=args.segment_length,
        segments_per_iteration=args.segments_per_iteration,
        query=args.query,
        ensemble=args.ensemble,
        hidden=tuple(args.hidden),
        features=args.features,
        reward_epochs=args.reward_epochs,
        reward_lr=args.reward_lr,
        reward_normalization=args.reward_normalization,
        oracle=oracle,
        teacher=args.teacher,
        human_fraction=args.human_fraction,
        human_timeout_s=args.human_timeout,
        host=args.host,
        port=args.port,
        token=token,
        n_envs=args.n_envs,
        eval_episodes=args.eval_episodes,
        monitor_transitions=args.monitor_transitions,
        hyperparams=parse_overrides(args.set),
        runs_dir=args.runs_dir,
        group=args.group,
        run_name=args.run_name,
        resume=args.resume,
        trust=args.trust_pickle,
        threads=args.threads,
        progress=not args.no_progress,
    )
    print(
        f"RLHF: {config.preset.algo.upper()} on {config.suite_env.name} ({config.suite_env.gym_id}), "
        f"{config.total_timesteps} steps, {config.label_budget} labels over {config.n_iterations} stages "
        f"(schedule {config.schedule}), query {config.query}, seed {config.seed}"
    )
    if config.teacher != "synthetic":
        share = ""
        if config.teacher == "mixed":
            share = f" ({config.human_fraction:g} of each stage's pairs; the oracle labels the rest)"
        shown = f"[{config.host}]" if ":" in config.host else config.host
        where = f"http://{shown}:{config.port}/{'?token=' + token if token else ''}"
        if config.port == 0:
            where = "the labelling page (a free port: its URL is printed at the first stage)"
        print(f"Teacher: a person at {where}{share}; each stage publishes its pairs there and waits for them.")
    result = run_rlhf(config)
    print()
    print(f"{'stage':>5}  {'timesteps':>9}  {'labels':>6}  {'val acc':>7}  {'learned return':>14}  {'env return':>10}")
    for row in result.history:
        acc = row.get("reward_val_accuracy")
        acc_s = "-" if acc is None else f"{acc:.3f}"
        proxy = row.get("eval_proxy_return")
        env_r = row.get("eval_env_return")
        print(
            f"{row['stage']:>5}  {row['timesteps']:>9}  {row['labels']:>6}  {acc_s:>7}  "
            f"{'-' if proxy is None else f'{proxy:.2f}':>14}  {'-' if env_r is None else f'{env_r:.2f}':>10}"
        )
    f = result.final
    acc = "n/a" if result.reward_val_accuracy is None else f"{result.reward_val_accuracy:.3f}"
    print()
    print(f"Labels used: {result.labels_used} of {config.label_budget}; timesteps: {result.timesteps}")
    print(f"Reward-model validation accuracy: {acc}")
    print(
        f"Agent ({f.n_episodes} episodes): ground-truth env return {f.env_return:.2f} ± {f.env_std:.2f}, "
        f"learned-reward return {f.proxy_return:.2f} ± {f.proxy_std:.2f}"
    )
    print(f"Run directory: {result.run_dir}  (metrics.jsonl, dataset/, reward_model/, agent.zip, state.json)")
    return 0


def _seconds(text: str) -> float | None:
    """``--human-timeout``: seconds, or ``inf`` / ``none`` for no limit (None)."""
    if text.strip().lower() in ("inf", "none"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds or 'inf', got {text!r}") from None
    return None if math.isinf(value) else value


def add_commands(sub: Any) -> None:
    """Register ``rlhf`` on the subparsers ``sub``."""
    p = sub.add_parser("rlhf", help="online preference learning (Christiano et al.): agent + reward model, resumable")
    doc = field_docs("preferences._rlhf", "RLHFConfig")  # the config's field docs are the options' help
    add_agent_options(p, doc)
    p.add_argument("--timesteps", type=int, default=100_000, help=doc["total_timesteps"] + " (default: %(default)s)")
    p.add_argument("--labels", type=int, default=500, help=doc["label_budget"] + " (default: %(default)s)")
    p.add_argument("--iterations", type=int, default=5, help=doc["n_iterations"] + " (default: %(default)s)")
    p.add_argument(
        "--initial-fraction", type=float, default=0.1, help=doc["initial_fraction"] + " (default: %(default)s)"
    )
    p.add_argument("--segment-length", type=int, default=50, help=doc["segment_length"] + " (default: %(default)s)")
    p.add_argument("--segments-per-iteration", type=int, default=None, help=doc["segments_per_iteration"])
    p.add_argument("--query", default="disagreement", help=doc["query"] + " (default: %(default)s)")
    p.add_argument("--ensemble", type=int, default=3, help=doc["ensemble"] + " (default: %(default)s)")
    p.add_argument("--hidden", type=int, nargs="+", default=[64, 64], help=doc["hidden"] + " (default: 64 64)")
    p.add_argument("--features", default="obs,action", help=doc["features"] + " (default: %(default)s)")
    p.add_argument("--reward-epochs", type=int, default=50, help=doc["reward_epochs"] + " (default: %(default)s)")
    p.add_argument("--reward-lr", type=float, default=1e-3, help=doc["reward_lr"] + " (default: %(default)s)")
    p.add_argument(
        "--reward-normalization", default="scale", help=doc["reward_normalization"] + " (default: %(default)s)"
    )
    add_oracle_flags(p)
    teachers = ("synthetic", "human", "mixed")
    p.add_argument("--teacher", choices=teachers, default="synthetic", help=doc["teacher"] + " (default: %(default)s)")
    p.add_argument("--human-fraction", type=float, default=1.0, help=doc["human_fraction"] + " (default: %(default)s)")
    p.add_argument(
        "--human-timeout",
        type=_seconds,
        default=3600.0,
        help=doc["human_timeout_s"] + "; 'inf' for no limit (default: %(default)s)",
    )
    p.add_argument("--host", default="127.0.0.1", help=doc["host"] + " (default: %(default)s)")
    p.add_argument("--port", type=int, default=8765, help=doc["port"] + " (default: %(default)s)")
    p.add_argument("--token", default=None, help=doc["token"] + "; made up when --host is not loopback")
    p.add_argument("--n-envs", type=int, default=None, help=doc["n_envs"])
    p.add_argument("--eval-episodes", type=int, default=10, help=doc["eval_episodes"] + " (default: %(default)s)")
    p.add_argument(
        "--monitor-transitions", type=int, default=256, help=doc["monitor_transitions"] + " (default: %(default)s)"
    )
    p.add_argument("--resume", default=None, help=doc["resume"])
    add_trust_flag(p, doc["trust"])
    add_run_options(p, doc, group="rlhf")
    p.set_defaults(func=_cmd_rlhf)
