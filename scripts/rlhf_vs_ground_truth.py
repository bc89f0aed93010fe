"""Does an agent trained online on a reward learned from preferences match one trained on the truth?

One command per env (issue 4's check; Christiano et al. 2017 with a synthetic Boltzmann teacher)::

    .venv/bin/python scripts/rlhf_vs_ground_truth.py --env pendulum --agent sac --timesteps 15000 --labels 300
    .venv/bin/python scripts/rlhf_vs_ground_truth.py --env cartpole_fixed --agent ppo --timesteps 100000 \
        --labels 500 --features pole_angle,cart_offset

CartPole-v1 itself is a poor test: it pays +1 on every step, so segments of an agent that survives
tie and their labels are coin flips, while its termination leaks the reward. ``cartpole_fixed``
never terminates (the fallen pole freezes and pays 0 for the rest of 200 steps). There a model over
the full observation learns "moving = good" from the early segments, mostly of frozen poles, and
the agent learns to fall; ``--features pole_angle,cart_offset`` gives the model the env's named
factors instead (the truth, "balanced", is not among them).

For each seed it runs ``rewardlab.preferences.run_rlhf`` (the agent trains on the current learned
reward; every stage queries new pairs from the agent's own segments, picked by ensemble
disagreement, labels them with a Boltzmann-rational teacher on the env reward, and updates the
reward model) and, with the same agent settings and budget, ``rewardlab.train`` on the env's own
reward. It prints the ground-truth return of both (mean over the final evaluation's episodes),
the label budget, and the mean and 95% bootstrap CI over seeds; runs land in ``runs/rlhf_vs_gt/``.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import rewardlab as rl
from rewardlab.preferences import RLHFConfig, run_rlhf
from rewardlab.sweeps._stats import bootstrap_ci


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="pendulum")
    parser.add_argument("--agent", default="sac")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--timesteps", type=int, default=15000)
    parser.add_argument("--labels", type=int, default=300)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--segment-length", type=int, default=25)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--initial-fraction", type=float, default=0.1, help="labels on random-policy segments")
    parser.add_argument("--reward-normalization", default="scale", help="scale, standard or none (RLHFConfig)")
    parser.add_argument("--features", default="obs,action", help="reward-model inputs (obs, action, next_obs)")
    parser.add_argument("--set", default="{}", help="agent hyperparameters as JSON (both runs)")
    args = parser.parse_args()
    hyper = json.loads(args.set)
    rows = []
    start = time.time()
    for seed in args.seeds:
        result = run_rlhf(
            RLHFConfig(
                env=args.env,
                agent=args.agent,
                seed=seed,
                total_timesteps=args.timesteps,
                label_budget=args.labels,
                n_iterations=args.iterations,
                segment_length=args.segment_length,
                features=args.features,
                initial_fraction=args.initial_fraction,
                reward_normalization=args.reward_normalization,
                oracle={"kind": "boltzmann", "temperature": args.temperature},
                hyperparams=dict(hyper),
                group="rlhf_vs_gt",
                progress=False,
            )
        )
        truth = rl.train(
            rl.TrainConfig(
                env=args.env,
                agent=args.agent,
                seed=seed,
                timesteps=args.timesteps,
                hyperparams=dict(hyper),
                group="rlhf_vs_gt",
                progress_bar=False,
            )
        )
        rows.append((seed, result.final.env_return, truth.final.env_return, result.labels_used))
        print(
            f"seed {seed}: RLHF ground-truth return {result.final.env_return:.1f} ({result.labels_used} labels, "
            f"reward-model val acc {result.reward_val_accuracy}) | trained on the truth {truth.final.env_return:.1f}",
            flush=True,
        )
    rlhf = np.array([r[1] for r in rows])
    gt = np.array([r[2] for r in rows])
    lo, hi = bootstrap_ci(rlhf)
    glo, ghi = bootstrap_ci(gt)
    print(f"\n{args.env} / {args.agent}, {args.timesteps} steps, {args.labels} labels, T={args.temperature}")
    print(f"  RLHF (learned reward):   {rlhf.mean():8.1f}  95% CI [{lo:.1f}, {hi:.1f}]  per seed {np.round(rlhf, 1)}")
    print(f"  ground-truth reward:     {gt.mean():8.1f}  95% CI [{glo:.1f}, {ghi:.1f}]  per seed {np.round(gt, 1)}")
    print(f"  {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
