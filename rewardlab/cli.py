"""The ``rewardlab`` command line: ``envs``, ``agents``, ``train``, ``compare``, ``sweep`` and ``report``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from rewardlab.errors import ConfigError, RewardLabError, message
from rewardlab.preferences._cli import add_commands as add_preference_commands

__all__ = ["main"]


def _cmd_envs(args: argparse.Namespace) -> int:
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
    from rewardlab import agents, suite

    for algo in agents.algorithms():
        envs = [n for n in suite.names() if agents.preset(algo, n).env != "default"]
        print(f"{algo}: tuned presets for {', '.join(envs) or 'none'} (others use [default])")
    return 0


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(message("--set", "KEY=VALUE", item, "Write e.g. --set learning_rate=0.001."))
        key, value = item.split("=", 1)
        out[key.strip()] = _parse_value(value)
    return out


def _cmd_train(args: argparse.Namespace) -> int:
    from rewardlab.training import TrainConfig, train

    config = TrainConfig(
        env=args.env,
        reward=args.reward,
        agent=args.agent,
        seed=args.seed,
        timesteps=args.timesteps,
        n_envs=args.n_envs,
        eval_freq=args.eval_freq,
        eval_episodes=args.eval_episodes,
        hyperparams=_parse_overrides(args.set),
        agent_config=args.agent_config,
        runs_dir=args.runs_dir,
        group=args.group,
        run_name=args.run_name,
        threads=args.threads,
        progress_bar=not args.no_progress,
    )
    print(
        f"Training {config.preset.algo.upper()} on {config.suite_env.name} ({config.suite_env.gym_id}) "
        f"with reward {config.reward_label!r}, seed {config.seed}"
    )
    result = train(config)
    print()
    print(
        f"Evaluations ({config.eval_episodes} episodes each). proxy = the reward the agent was trained on "
        f"({config.reward_label}); env = {config.suite_env.gym_id}'s own (ground-truth) reward."
    )
    print(f"{'timesteps':>10}  {'proxy return':>14}  {'env return':>12}")
    for row in result.metrics:
        print(f"{row['timesteps']:>10}  {row['eval_proxy_return']:>14.2f}  {row['eval_env_return']:>12.2f}")
    f = result.final
    print()
    print(
        f"Final ({f.n_episodes} episodes): proxy return {f.proxy_return:.2f} ± {f.proxy_std:.2f}, "
        f"env (ground-truth) return {f.env_return:.2f} ± {f.env_std:.2f}"
    )
    print(f"Run directory: {result.run_dir}  (metrics.jsonl, config.json, model.zip, tb/)")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from rewardlab.compare import compare

    result = compare(
        args.env,
        args.specs,
        metric=args.metric,
        n=args.n,
        policy=args.policy,
        seed=args.seed,
        gamma=args.gamma,
        runs_dir=args.runs_dir,
    )
    print(result.table())
    print()
    print(f"Took {result.seconds:.1f} s. Run directory: {result.run_dir}  (distances.csv, matrix.csv, heatmap.png)")
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    if args.spec == "status":
        return _sweep_status(args)
    if args.sweep_dir is not None:
        raise ConfigError(
            message("sweep", "one SPEC file", [args.spec, args.sweep_dir], "Use `rewardlab sweep status DIR`.")
        )
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
    from rewardlab.sweeps import sweep_status

    if args.sweep_dir is None:
        raise ConfigError(message("sweep status", "given a sweep directory", None, "Write e.g. runs/<sweep name>."))
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


def _cmd_report(args: argparse.Namespace) -> int:
    from rewardlab.sweeps import aggregate, format_summary_table, write_report

    summary = aggregate(args.sweep_dir, distances=not args.no_distances)
    out = write_report(args.sweep_dir, summary=summary, distances=not args.no_distances)
    print(format_summary_table(summary))
    print(f"Report: {out}")
    print(f"Tables: {summary.results_dir} (summary.csv/.parquet, curves.csv/.parquet, trials.csv, distances.csv)")
    return 0


def _add_sweep_commands(sub: Any) -> None:
    p = sub.add_parser(
        "sweep",
        help="run an ablation sweep (env x reward variant x agent x seed); `sweep status DIR` shows progress",
        description="rewardlab sweep SPEC [options] runs a sweep (resuming a previous run); "
        "rewardlab sweep status SWEEP_DIR lists done / running / failed / pending trials.",
    )
    p.add_argument("spec", metavar="SPEC", help="sweep TOML file (sweeps/), or 'status' followed by a sweep directory")
    p.add_argument("sweep_dir", nargs="?", default=None, metavar="SWEEP_DIR", help="with 'status': runs/<sweep name>")
    p.add_argument("--backend", default="local", choices=["local", "ray"], help="where trials run (default: local)")
    p.add_argument("--address", default=None, help="Ray cluster address (e.g. auto); default: a local Ray instance")
    p.add_argument("--workers", type=int, default=None, help="trials at once (default: every core; 1 = in-process)")
    p.add_argument("--fast", action="store_true", help="apply the spec's [fast] preset (small budgets)")
    p.add_argument("--retries", type=int, default=1, help="reruns of a failed trial across invocations (default: 1)")
    p.add_argument("--runs-dir", default="runs", help="root of run directories (default: runs)")
    p.add_argument("--json", action="store_true", help="with 'status': print JSON")
    p.add_argument("--report", action="store_true", help="then aggregate and write the report (as `rewardlab report`)")
    p.add_argument("--no-distances", action="store_true", help="with --report: skip distances to the ground truth")
    p.set_defaults(func=_cmd_sweep)

    p = sub.add_parser("report", help="tables, plots and an HTML report of a sweep directory")
    p.add_argument("sweep_dir", metavar="SWEEP_DIR", help="runs/<sweep name>")
    p.add_argument(
        "--no-distances", action="store_true", help="skip each variant's distance to the ground-truth reward"
    )
    p.set_defaults(func=_cmd_report)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rewardlab", description="Design, learn and compare reward functions for RL.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("envs", help="list the suite: envs, reward factors, directions, ground truth")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_cmd_envs)

    p = sub.add_parser("agents", help="list the SB3 algorithms and their tuned presets")
    p.set_defaults(func=_cmd_agents)

    p = sub.add_parser("train", help="train an SB3 agent on a reward spec; log proxy and env returns")
    p.add_argument("--env", required=True, help="suite env name (rewardlab envs) or Gymnasium id")
    p.add_argument("--reward", default="env", help="reward spec TOML file, or 'env' for the ground truth")
    p.add_argument("--agent", default="ppo", help="ppo, sac, dqn, a2c or td3 (default: ppo)")
    p.add_argument("--seed", type=int, default=0, help="seed of every RNG (default: 0)")
    p.add_argument("--timesteps", type=int, default=None, help="training steps (default: the preset's)")
    p.add_argument("--n-envs", type=int, default=None, help="parallel envs (default: the preset's)")
    p.add_argument("--eval-freq", type=int, default=None, help="evaluate every N steps (default: 10 evaluations)")
    p.add_argument("--eval-episodes", type=int, default=10, help="episodes per evaluation (default: 10)")
    p.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a hyperparameter (JSON value)"
    )
    p.add_argument("--agent-config", default=None, help="preset TOML file replacing agents/<agent>.toml")
    p.add_argument("--runs-dir", default="runs", help="root of run directories (default: runs)")
    p.add_argument("--group", default="train", help="sub-directory grouping runs (default: train)")
    p.add_argument("--run-name", default=None, help="run directory name (default: env__reward__agent__seed__time)")
    p.add_argument("--threads", type=int, default=1, help="torch/BLAS threads (default: 1)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=_cmd_train)

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
    p.set_defaults(func=_cmd_compare)
    _add_sweep_commands(sub)  # sweep SPEC | sweep status DIR, report DIR
    add_preference_commands(sub)  # prefs collect|label|train|export, rlhf
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except RewardLabError as exc:
        print(f"rewardlab: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rewardlab: interrupted; what was written is kept in the run directory.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
