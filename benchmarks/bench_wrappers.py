"""Overhead of rewardlab's reward wrappers: raw env-steps/s and PPO training fps.

Run on demand, never in CI (it takes a few minutes and its numbers depend on the machine):

    .venv/bin/python benchmarks/bench_wrappers.py            # full run
    .venv/bin/python benchmarks/bench_wrappers.py --quick    # a smoke run (~20 s)

(a) ``vecenv``: time per vector step (8 sub-envs) on CartPole-v1, Pendulum-v1, HalfCheetah-v5 and
    Hopper-v5 (MuJoCo; ``--no-mujoco`` leaves them out) of
    raw   - SB3 ``DummyVecEnv`` of plain ``gymnasium.make`` envs, in ``VecMonitor`` (baseline);
    base  - rewardlab's vector env with no reward wrapper: ``SerialVecEnv`` of the suite's envs
            (MuJoCo: x position kept in the observation), in ``VecMonitor``;
    single - ``rewardlab.make_vec_env(..., wrapper="single")``: a ``SwapReward`` in every sub-env;
    vector - ``rewardlab.make_vec_env(..., wrapper="vector")``: one batched reward call per step.
    ``vector/raw`` is what a user pays against plain SB3 (the target); ``vector/base`` is the
    reward wrapper's own cost over the same vector env.
    Actions are pre-generated; rounds are interleaved (raw, base, single, vector, raw, ...) so that
    machine drift hits every variant alike. Reported: the median time per vector step of each
    variant, env-steps/s, and its ratio to raw measured in the same run.

(b) ``ppo``: PPO training fps on CartPole with the ground truth swapped in as an analytic
    ``Terms({"alive": 1.0})`` reward (vector wrapper) vs native PPO on a plain
    ``DummyVecEnv`` + ``VecMonitor``, with the same preset hyperparameters and seed. The reward
    equals the env's own, so both runs train on identical transitions; only the wrapper differs.

See benchmarks/README.md for how to read the ratios.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import stable_baselines3 as sb3
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecMonitor
from threadpoolctl import threadpool_info, threadpool_limits

import rewardlab
from rewardlab import agents, suite
from rewardlab.rewards import Terms
from rewardlab.wrappers.vector import SerialVecEnv

N_ENVS = 8
SEED = 0

# Terms rewards over 2-3 factors of each env (weights need not match the ground truth here).
ENV_REWARDS: dict[str, Terms] = {
    "cartpole": Terms({"alive": 1.0, "pole_angle": -0.5}),
    "pendulum": Terms({"angle_cost": -1.0, "torque_cost": -0.001}),
    "halfcheetah": Terms({"forward_reward": 1.0, "ctrl_cost": -0.1}),
    "hopper": Terms({"forward_reward": 1.0, "healthy_reward": 1.0, "ctrl_cost": -0.001}),
}
MUJOCO = ("halfcheetah", "hopper")

# Targets printed beside the measured ratios.
TARGET_TERMS_OVER_RAW = 1.30  # time per step of a terms reward vs the raw vec env: at most this
# MuJoCo steps cost ~10x a classic-control step, so the reward's share must be smaller there
TARGETS_TERMS_OVER_RAW = {"halfcheetah": 1.05, "hopper": 1.05}
TARGET_PPO_SWAPPED_OVER_NATIVE = 0.95  # PPO fps with a swapped analytic reward vs native: at least


# --- helpers ------------------------------------------------------------------------------------


def machine_report() -> str:
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        affinity = os.cpu_count() or 0
    blas = ", ".join(f"{i.get('internal_api')}:{i.get('num_threads')}" for i in threadpool_info()) or "none found"
    lines = [
        f"machine : {platform.platform()} ({platform.machine()}), {platform.processor() or '?'}",
        f"nproc   : {affinity} usable ({os.cpu_count()} logical CPUs)",
        f"python  : {sys.version.split()[0]} ({platform.python_implementation()})",
        f"versions: numpy {np.__version__}, torch {torch.__version__}, gymnasium {gym.__version__}, "
        f"stable-baselines3 {sb3.__version__}, rewardlab {getattr(rewardlab, '__version__', '?')}",
        f"threads : torch {torch.get_num_threads()} (interop {torch.get_num_interop_threads()}); BLAS pools {blas}",
    ]
    if hasattr(os, "getloadavg"):
        load = os.getloadavg()
        note = (
            "  <- other processes compete for the CPUs: expect noisy ratios" if load[0] > max(affinity - 1, 0.5) else ""
        )
        lines.append(f"load    : {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (1/5/15 min){note}")
    return "\n".join(lines)


def raw_vec_env(gym_id: str, n_envs: int, seed: int) -> VecEnv:
    """The baseline: plain ``gymnasium.make`` envs in DummyVecEnv + VecMonitor, seeded like make_vec_env."""

    def factory(i: int) -> Callable[[], gym.Env]:
        def build() -> gym.Env:
            e = gym.make(gym_id)
            e.reset(seed=seed + i)
            e.action_space.seed(seed + i)
            return e

        return build

    return VecMonitor(DummyVecEnv([factory(i) for i in range(n_envs)]))


def base_vec_env(spec: suite.SuiteEnv, n_envs: int, seed: int) -> VecEnv:
    """rewardlab's vector env without a reward wrapper: the suite's envs in SerialVecEnv + VecMonitor."""

    def factory(i: int) -> Callable[[], gym.Env]:
        def build() -> gym.Env:
            e = spec.make()
            e.reset(seed=seed + i)
            e.action_space.seed(seed + i)
            return e

        return build

    return VecMonitor(SerialVecEnv([factory(i) for i in range(n_envs)]))


def random_actions(venv: VecEnv, steps: int, seed: int) -> np.ndarray:
    """``steps`` batches of random actions for the ``venv``'s sub-envs, drawn in advance."""
    space = venv.action_space
    rng = np.random.default_rng(seed)
    if isinstance(space, gym.spaces.Discrete):
        return rng.integers(space.start, space.start + space.n, size=(steps, venv.num_envs), dtype=np.int64)
    if isinstance(space, gym.spaces.Box):
        low = np.broadcast_to(space.low, space.shape)
        high = np.broadcast_to(space.high, space.shape)
        return rng.uniform(low, high, size=(steps, venv.num_envs, *space.shape)).astype(space.dtype)
    raise TypeError(f"unsupported action space {space}")


def time_steps(venv: VecEnv, actions: np.ndarray) -> float:
    """Seconds per ``venv.step`` over the given batches of actions."""
    step = venv.step
    t0 = time.perf_counter()
    for a in actions:
        step(a)
    return (time.perf_counter() - t0) / len(actions)


def fmt_us(seconds: float) -> str:
    return f"{seconds * 1e6:8.1f} us"


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


# --- (a) vec-env step time ----------------------------------------------------------------------


def terms_target(env_name: str) -> float:
    """The most a terms reward may cost on ``env_name``, as a multiple of the raw vec env's step time."""
    return TARGETS_TERMS_OVER_RAW.get(env_name, TARGET_TERMS_OVER_RAW)


def bench_vecenv(env_name: str, rounds: int, steps: int) -> dict[str, float]:
    spec = suite.get(env_name)
    reward = ENV_REWARDS[env_name]
    variants: dict[str, VecEnv] = {
        "raw": raw_vec_env(spec.gym_id, N_ENVS, SEED),
        "base": base_vec_env(spec, N_ENVS, SEED),
        "single": rewardlab.make_vec_env(env_name, reward, n_envs=N_ENVS, seed=SEED, wrapper="single"),
        "vector": rewardlab.make_vec_env(env_name, reward, n_envs=N_ENVS, seed=SEED, wrapper="vector"),
    }
    actions = random_actions(variants["raw"], steps, SEED)
    warmup = actions[: max(steps // 10, 50)]
    for venv in variants.values():
        venv.reset()
        time_steps(venv, warmup)

    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, venv in variants.items():  # interleaved: raw, base, single, vector, raw, ...
            samples[name].append(time_steps(venv, actions))
    for venv in variants.values():
        venv.close()

    med = {name: statistics.median(s) for name, s in samples.items()}
    print(f"\n[{env_name}] {spec.gym_id}, {N_ENVS} envs, reward {reward.label}, {rounds} rounds x {steps} vector steps")
    print(
        f"  {'variant':<8} {'median/step':>12} {'env-steps/s':>12}   {'ratio to raw (time)':<24}"
        f"paired per-round ratio: median [min..max]"
    )
    for name, s in samples.items():
        eps = N_ENVS / med[name]
        if name == "raw":
            print(f"  {name:<8} {fmt_us(med[name]):>12} {eps:12,.0f}   {'(baseline)':<22}")
            continue
        ratio = med[name] / med["raw"]
        per_round = [a / b for a, b in zip(s, samples["raw"], strict=True)]
        goal = terms_target(env_name)
        target = f"target <= {goal:.2f}x: {verdict(ratio <= goal)}" if name != "base" else ""
        print(
            f"  {name:<8} {fmt_us(med[name]):>12} {eps:12,.0f}   {name}/raw = {ratio:5.2f}x time   "
            f"{statistics.median(per_round):.2f}x [{min(per_round):.2f}..{max(per_round):.2f}]   {target}"
        )
    own = [a / b for a, b in zip(samples["vector"], samples["base"], strict=True)]
    print(
        f"  the vector reward's own cost: vector/base = {med['vector'] / med['base']:5.3f}x time "
        f"({(med['vector'] - med['base']) * 1e6:.1f} us per vector step), paired per-round "
        f"{statistics.median(own):.3f}x [{min(own):.3f}..{max(own):.3f}]"
    )
    return {f"{env_name}.{k}/raw": med[k] / med["raw"] for k in ("single", "vector")}


# --- (b) PPO training fps -----------------------------------------------------------------------


def bench_ppo(rounds: int, timesteps: int) -> dict[str, float]:
    preset = agents.preset("ppo", "cartpole")
    swapped_env = rewardlab.make_vec_env(
        "cartpole", Terms({"alive": 1.0}), n_envs=preset.n_envs, seed=SEED, wrapper="vector"
    )
    native_env = raw_vec_env("CartPole-v1", preset.n_envs, SEED)
    # Both models draw from the global torch/numpy RNGs; each gets its own saved RNG state, so the
    # two runs sample the same actions and minibatches and make the same updates (checked below).
    models: dict[str, Any] = {}
    rng: dict[str, tuple[Any, Any, Any]] = {}
    models["native"] = PPO(
        preset.policy, native_env, seed=SEED, device="cpu", verbose=0, **agents._resolve_kwargs(preset.kwargs)
    )
    rng["native"] = (torch.get_rng_state(), np.random.get_state(), random.getstate())
    models["swapped"] = agents.make("ppo", swapped_env, seed=SEED)
    rng["swapped"] = (torch.get_rng_state(), np.random.get_state(), random.getstate())

    def learn(name: str, steps: int, reset: bool) -> float:
        torch.set_rng_state(rng[name][0])
        np.random.set_state(rng[name][1])
        random.setstate(rng[name][2])
        model = models[name]
        before = model.num_timesteps
        t0 = time.perf_counter()
        model.learn(steps, reset_num_timesteps=reset)
        elapsed = time.perf_counter() - t0
        rng[name] = (torch.get_rng_state(), np.random.get_state(), random.getstate())
        return (model.num_timesteps - before) / elapsed

    # Warm up (first rollout allocates buffers, first backward builds autograd state).
    for name in models:
        learn(name, preset.n_envs * preset.kwargs["n_steps"] * 4, reset=True)

    fps: dict[str, list[float]] = {name: [] for name in models}
    for r in range(rounds):
        order = ["native", "swapped"] if r % 2 == 0 else ["swapped", "native"]  # alternate who goes first
        for name in order:
            fps[name].append(learn(name, timesteps, reset=False))
    params = [m.policy.state_dict() for m in models.values()]
    identical = all(torch.equal(a, b) for a, b in zip(params[0].values(), params[1].values(), strict=True))
    for model in models.values():
        model.get_env().close()

    med = {name: statistics.median(v) for name, v in fps.items()}
    ratio = med["swapped"] / med["native"]
    per_round = [s / n for s, n in zip(fps["swapped"], fps["native"], strict=True)]
    print(
        f"\n[ppo] CartPole-v1, preset n_envs={preset.n_envs} n_steps={preset.kwargs['n_steps']} "
        f"batch={preset.kwargs['batch_size']} n_epochs={preset.kwargs['n_epochs']}, "
        f"{rounds} rounds x learn({timesteps:,})"
    )
    for name, values in fps.items():
        print(f"  {name:<8} median {med[name]:8,.0f} fps   rounds: " + ", ".join(f"{v:,.0f}" for v in values))
    same = "yes" if identical else "NO (the runs diverged: the fps compare different work)"
    print(f"  identical policy parameters after training (same transitions and updates): {same}")
    target = f"target >= {TARGET_PPO_SWAPPED_OVER_NATIVE:.2f}x: {verdict(ratio >= TARGET_PPO_SWAPPED_OVER_NATIVE)}"
    print(
        f"  swapped/native = {ratio:.3f}x fps   paired per-round ratio: median {statistics.median(per_round):.3f}x "
        f"[{min(per_round):.3f}..{max(per_round):.3f}]   {target}"
    )
    return {"ppo.swapped/native": ratio}


# --- main ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds of (a) (default 25; quick 3)")
    parser.add_argument(
        "--steps", type=int, default=None, help="vector steps per round of (a) (default 1000; quick 300)"
    )
    parser.add_argument("--ppo-rounds", type=int, default=None, help="interleaved rounds of (b) (default 6; quick 2)")
    parser.add_argument(
        "--ppo-timesteps", type=int, default=None, help="timesteps per model.learn() in (b) (default 20000; quick 4096)"
    )
    parser.add_argument("--quick", action="store_true", help="a short smoke run; numbers are noisy")
    parser.add_argument("--only", choices=("vecenv", "ppo"), default=None, help="run one benchmark only")
    parser.add_argument("--no-mujoco", action="store_true", help="leave HalfCheetah and Hopper out of (a)")
    args = parser.parse_args(argv)

    rounds = args.rounds or (3 if args.quick else 25)
    steps = args.steps or (300 if args.quick else 1000)
    ppo_rounds = args.ppo_rounds or (2 if args.quick else 6)
    ppo_timesteps = args.ppo_timesteps or (4096 if args.quick else 20_000)

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=UserWarning, module="stable_baselines3")
    with threadpool_limits(limits=1):
        print("rewardlab wrapper benchmark" + (" (quick)" if args.quick else ""))
        print(machine_report())
        print(
            f"targets : terms reward <= {TARGET_TERMS_OVER_RAW:.2f}x raw vec-env time per step "
            f"({', '.join(f'{k} {v:.2f}x' for k, v in TARGETS_TERMS_OVER_RAW.items())}); "
            f"PPO fps with a swapped analytic reward >= {TARGET_PPO_SWAPPED_OVER_NATIVE:.2f}x native"
        )
        results: dict[str, float] = {}
        t0 = time.perf_counter()
        if args.only in (None, "vecenv"):
            for env_name in ENV_REWARDS:
                if not (args.no_mujoco and env_name in MUJOCO):
                    results.update(bench_vecenv(env_name, rounds, steps))
        if args.only in (None, "ppo"):
            results.update(bench_ppo(ppo_rounds, ppo_timesteps))
        print("\nsummary (ratio; target; verdict)")
        for key, value in results.items():
            if key.startswith("ppo"):
                ok, target = value >= TARGET_PPO_SWAPPED_OVER_NATIVE, f">= {TARGET_PPO_SWAPPED_OVER_NATIVE:.2f}x fps"
            else:
                goal = terms_target(key.split(".")[0])
                ok, target = value <= goal, f"<= {goal:.2f}x time"
            print(f"  {key:<24} {value:6.3f}x   {target:<14} {verdict(ok)}")
        print(f"total wall time {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
