"""Env-steps/s of a learned (torch MLP) reward: vector wrapper vs per-env wrapper vs raw vec env.

Run on demand, never in CI:

    .venv/bin/python benchmarks/bench_learned_reward.py            # ~1 minute
    .venv/bin/python benchmarks/bench_learned_reward.py --quick    # a smoke run, noisy

Pendulum-v1, 8 sub-envs, a 2x64 ``RewardModel`` (untrained: the cost does not depend on the
weights), three variants:
    raw    - SB3 ``DummyVecEnv`` of plain ``gymnasium.make`` envs in ``VecMonitor``, env reward;
    vector - ``rewardlab.make_vec_env(..., wrapper="vector")``: the model is called once per vector
             step on all 8 transitions;
    single - ``rewardlab.make_vec_env(..., wrapper="single")``: the model is called once per sub-env.
Actions are drawn in advance; rounds are interleaved (raw, vector, single, raw, ...) and the
ratios of the medians are measured in the same run. Targets: vector <= 2x raw time per step, and
single >= 2x vector time (the batched call is at least twice as fast as the per-env pattern).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_wrappers import machine_report, random_actions, raw_vec_env, time_steps, verdict

import rewardlab
from rewardlab import suite
from rewardlab.preferences import RewardModel
from rewardlab.rewards import Learned, ModelReward

N_ENVS = 8
SEED = 0
ENV = "pendulum"
TARGET_VECTOR_OVER_RAW = 2.0  # time per step: at most
TARGET_SINGLE_OVER_VECTOR = 2.0  # time per step: at least (vector at least twice as fast)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 25; quick 3)")
    parser.add_argument("--steps", type=int, default=None, help="vector steps per round (default 1000; quick 200)")
    parser.add_argument("--quick", action="store_true", help="a short smoke run; numbers are noisy")
    args = parser.parse_args(argv)
    rounds = args.rounds or (3 if args.quick else 25)
    steps = args.steps or (200 if args.quick else 1000)

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=UserWarning)
    with threadpool_limits(limits=1):
        print("rewardlab learned-reward wrapper benchmark" + (" (quick)" if args.quick else ""))
        print(machine_report())
        env = suite.get(ENV)
        model = RewardModel.for_env(env, hidden=(64, 64), ensemble=1, seed=SEED)

        def fn() -> ModelReward:
            # every variant shares the one model, as the online loop does
            return ModelReward(Learned(model="untrained"), env, model, 1.0, "learned")

        variants = {
            "raw": raw_vec_env(env.gym_id, N_ENVS, SEED),
            "vector": rewardlab.make_vec_env(env, fn(), n_envs=N_ENVS, seed=SEED, wrapper="vector"),
            "single": rewardlab.make_vec_env(env, fn(), n_envs=N_ENVS, seed=SEED, wrapper="single"),
        }
        actions = random_actions(variants["raw"], steps, SEED)
        for venv in variants.values():
            venv.reset()
            time_steps(venv, actions[: max(steps // 10, 50)])
        samples: dict[str, list[float]] = {name: [] for name in variants}
        t0 = time.perf_counter()
        for _ in range(rounds):
            for name, venv in variants.items():
                samples[name].append(time_steps(venv, actions))
        for venv in variants.values():
            venv.close()

        med = {name: statistics.median(s) for name, s in samples.items()}
        print(f"\n[{ENV}] {env.gym_id}, {N_ENVS} envs, RewardModel 2x64, {rounds} rounds x {steps} vector steps")
        print(f"  {'variant':<8} {'median/step':>12} {'env-steps/s':>12}   ratio to raw (time)")
        for name in variants:
            ratio = "(baseline)" if name == "raw" else f"{med[name] / med['raw']:.2f}x"
            print(f"  {name:<8} {med[name] * 1e6:9.1f} us {N_ENVS / med[name]:12,.0f}   {ratio}")
        v_raw = med["vector"] / med["raw"]
        s_vec = med["single"] / med["vector"]
        print("\nsummary (time ratio of medians, same run; target; verdict)")
        print(
            f"  vector/raw    {v_raw:6.2f}x   <= {TARGET_VECTOR_OVER_RAW:.1f}x   "
            f"{verdict(v_raw <= TARGET_VECTOR_OVER_RAW)}"
        )
        print(
            f"  single/vector {s_vec:6.2f}x   >= {TARGET_SINGLE_OVER_VECTOR:.1f}x   "
            f"{verdict(s_vec >= TARGET_SINGLE_OVER_VECTOR)}"
        )
        print(f"total wall time {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
