"""``rewardlab train``: train an SB3 agent on a reward spec and print its evaluations.

Owns the ``train`` parser and its output. At the top it may import only the standard library,
:mod:`rewardlab.errors` and :mod:`rewardlab.cli._common`; :mod:`rewardlab.training` (torch, SB3)
is imported when the command runs.
"""

from __future__ import annotations

import argparse
from typing import Any

from rewardlab.cli._common import add_agent_options, add_run_options, field_docs, parse_overrides
from rewardlab.errors import ConfigError, message

__all__ = ["add_commands"]


def _cmd_train(args: argparse.Namespace) -> int:
    # Deferred so that `--help` does not load torch/SB3.
    from rewardlab.training import TrainConfig

    if args.resume is not None:
        config = TrainConfig.from_run(
            args.resume,
            threads=args.threads,
            progress_bar=not args.no_progress,
            save_replay_buffer=args.save_replay_buffer,
        )
        print(f"Continuing {args.resume} from its last checkpoint")
        return _run(config)
    if args.env is None:
        raise ConfigError(message("--env", "given (or --resume RUN_DIR)", None, "Add --env pendulum (rewardlab envs)."))
    config = TrainConfig(
        env=args.env,
        reward=args.reward,
        agent=args.agent,
        seed=args.seed,
        timesteps=args.timesteps,
        n_envs=args.n_envs,
        eval_freq=args.eval_freq,
        eval_episodes=args.eval_episodes,
        monitor_transitions=args.monitor_transitions,
        stop_on=tuple(args.stop_on),
        hyperparams=parse_overrides(args.set),
        agent_config=args.agent_config,
        runs_dir=args.runs_dir,
        group=args.group,
        run_name=args.run_name,
        threads=args.threads,
        progress_bar=not args.no_progress,
        save_replay_buffer=args.save_replay_buffer,
    )
    return _run(config)


def _run(config: Any) -> int:
    # Deferred so that `--help` does not load torch/SB3.
    from rewardlab.training import train

    print(
        f"Training {config.preset.algo.upper()} on {config.suite_env.name} ({config.suite_env.gym_id}) "
        f"with reward {config.reward_label!r}, seed {config.seed}"
    )
    if config.reward_spec.trains_when_built:
        print("The reward trains a model first (from preferences), before the agent starts.")
    result = train(config)
    if result.resumed_from is not None:
        print(f"Resumed from the checkpoint at {result.resumed_from} steps (the rows before it are kept)")
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
    print(f"Run directory: {result.run_dir}  (metrics.jsonl, config.json, agent.zip, tb/)")
    return 0


def add_commands(sub: Any) -> None:
    """Register ``train`` on the subparsers ``sub``."""
    p = sub.add_parser("train", help="train an SB3 agent on a reward spec; log proxy and env returns")
    doc = field_docs("training", "TrainConfig")  # the config's field docs are the options' help
    add_agent_options(p, doc, env_required=False)
    p.add_argument("--reward", default="env", help=doc["reward"] + " (default: %(default)s)")
    p.add_argument("--timesteps", type=int, default=None, help=doc["timesteps"])
    p.add_argument("--n-envs", type=int, default=None, help=doc["n_envs"])
    p.add_argument("--eval-freq", type=int, default=None, help=doc["eval_freq"])
    p.add_argument("--eval-episodes", type=int, default=10, help=doc["eval_episodes"] + " (default: %(default)s)")
    p.add_argument(
        "--monitor-transitions", type=int, default=256, help=doc["monitor_transitions"] + " (default: %(default)s)"
    )
    p.add_argument("--agent-config", default=None, help=doc["agent_config"])
    add_run_options(p, doc, group="train")
    p.add_argument(
        "--resume",
        default=None,
        metavar="RUN_DIR",
        help="continue the run in RUN_DIR from its last checkpoint with its saved settings (a rerun with "
        "the same --run-name does the same); its metrics are kept and appended to",
    )
    p.add_argument("--save-replay-buffer", action="store_true", help=doc["save_replay_buffer"])
    p.add_argument(
        "--stop-on", action="append", default=[], metavar="DETECTOR", help=doc["stop_on"] + " (repeatable)"
    )
    p.set_defaults(func=_cmd_train)
