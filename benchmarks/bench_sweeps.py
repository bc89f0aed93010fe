"""Sweep throughput: the same 4-trial sweep serially, on the local backend (2 workers), on local Ray.

Targets: local with 2 workers >= 1.8x the serial throughput; Ray >= 0.9x the local backend.
Each trial is PPO on CartPole with the suite's preset (8 envs), ``--timesteps`` steps
(about 20 s each on one core of a 2-vCPU VM at the default). Every run writes to its own fresh
directory, so nothing is skipped; wall times include starting the workers (spawned processes
importing torch, or a Ray instance), which is what a user waits for.

The modes are interleaved in rounds (serial, local, ray; the next round starts one mode later),
so a drift in the machine's load touches every mode alike; each ratio is printed as the ratio of
the medians and as the paired per-round ratios (median [min..max]), like the other benchmarks.

    .venv/bin/python benchmarks/bench_sweeps.py              # 3 rounds, ~12 minutes
    .venv/bin/python benchmarks/bench_sweeps.py --quick      # 2 rounds of short trials, ~2 minutes, noisy
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

from rewardlab.sweeps import SweepSpec, run_sweep


def _spec(timesteps: int) -> SweepSpec:
    return SweepSpec.from_dict(
        {
            "name": "bench",
            "envs": ["cartpole"],
            "seeds": [0, 1],
            "agents": {"ppo": {}},
            "variants": {
                "truth": {"kind": "env"},
                "upright": {"kind": "terms", "weights": {"alive": 1.0, "pole_angle": -1.0}},
            },
            "timesteps": timesteps,
            "eval_freq": timesteps,
            "eval_episodes": 2,
        }
    )


def _run(label: str, root: Path, spec: SweepSpec, **kwargs: object) -> float:
    start = time.perf_counter()
    result = run_sweep(spec, runs_dir=root, progress=False, **kwargs)  # type: ignore[arg-type]
    wall = time.perf_counter() - start
    if result.done != 4:
        sys.exit(f"{label}: only {result.done} of 4 trials finished: {result.failures}")
    print(f"  {label:<18} {wall:8.1f} s   {4 / wall * 60:6.2f} trials/min", flush=True)
    return wall


def _ratio(name: str, fast: list[float], slow: list[float], target: float) -> bool:
    """Print throughput ``fast`` over ``slow`` (walls: slow / fast), median and paired per round."""
    ratio = statistics.median(slow) / statistics.median(fast)
    paired = [s / f for s, f in zip(slow, fast, strict=True)]
    ok = ratio >= target
    print(
        f"{name:<28} {ratio:5.2f}x   paired per round {statistics.median(paired):.2f}x "
        f"[{min(paired):.2f}..{max(paired):.2f}]   target >= {target}x   {'ok' if ok else 'MISSED'}"
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timesteps", type=int, default=None, help="steps per trial (default 60000; quick 6000)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 3; quick 2)")
    parser.add_argument("--quick", action="store_true", help="short trials: a smoke run with noisy ratios")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray runs")
    args = parser.parse_args()
    timesteps = args.timesteps or (6000 if args.quick else 60000)
    rounds = args.rounds or (2 if args.quick else 3)
    import torch

    torch.set_num_threads(1)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"{platform.platform()}  python {platform.python_version()}  torch {torch.__version__}  usable CPUs {cpus}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average {load:.2f}" + ("  (busy machine: ratios will be noisy)" if load > 0.5 else ""))
    print(f"4 trials: cartpole PPO preset, {timesteps} timesteps each; {rounds} interleaved rounds\n")
    spec = _spec(timesteps)
    modes: dict[str, dict[str, object]] = {"serial": {"workers": 1}, "local": {"workers": 2}}
    if not args.no_ray:
        modes["ray"] = {"backend": "ray", "workers": 2}
    walls: dict[str, list[float]] = {m: [] for m in modes}
    names = list(modes)
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Ray's start-up warnings
        for r in range(rounds):
            print(f"round {r + 1}")
            for mode in names[r % len(names) :] + names[: r % len(names)]:
                walls[mode].append(_run(mode, Path(tmp) / f"{mode}{r}", spec, **modes[mode]))
    print()
    ok = _ratio("local(2)/serial throughput", walls["local"], walls["serial"], 1.8)
    if "ray" in walls:
        ok &= _ratio("ray/local throughput", walls["ray"], walls["local"], 0.9)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
