"""Sweep throughput: the same 4-trial sweep serially, on the local backend (2 workers), on local Ray.

Targets: local with 2 workers >= 1.8x the serial throughput; Ray >= 0.9x the local backend.
Each trial is PPO on CartPole with the suite's preset (8 envs), ``--timesteps`` steps
(about 20 s each on one core of a 2-vCPU VM at the default). Every mode writes to its own fresh
directory, so nothing is skipped; wall times include starting the workers (spawned processes
importing torch, or a Ray instance), which is what a user waits for.

    .venv/bin/python benchmarks/bench_sweeps.py              # ~4 minutes
    .venv/bin/python benchmarks/bench_sweeps.py --quick      # ~1 minute, noisy
"""

from __future__ import annotations

import argparse
import os
import platform
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
    result = run_sweep(spec, runs_dir=root / label, progress=False, **kwargs)  # type: ignore[arg-type]
    wall = time.perf_counter() - start
    if result.done != 4:
        sys.exit(f"{label}: only {result.done} of 4 trials finished: {result.failures}")
    print(f"{label:<18} {wall:8.1f} s   {4 / wall * 60:6.2f} trials/min", flush=True)
    return wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timesteps", type=int, default=None, help="steps per trial (default 60000; quick 6000)")
    parser.add_argument("--quick", action="store_true", help="short trials: a smoke run with noisy ratios")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray run")
    args = parser.parse_args()
    timesteps = args.timesteps or (6000 if args.quick else 60000)
    import torch

    torch.set_num_threads(1)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"{platform.platform()}  python {platform.python_version()}  torch {torch.__version__}  usable CPUs {cpus}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average {load:.2f}" + ("  (busy machine: ratios will be noisy)" if load > 0.5 else ""))
    print(f"4 trials: cartpole PPO preset, {timesteps} timesteps each\n")
    spec = _spec(timesteps)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        serial = _run("serial (1 proc)", root, spec, workers=1)
        local = _run("local, 2 workers", root, spec, workers=2)
        ray_wall = warm = None
        if not args.no_ray:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ray_wall = _run("ray, 2 CPUs", root, spec, backend="ray", workers=2)
                # Again with the instance started beforehand (a cluster that is already up): this
                # leaves out Ray's own start-up, a fixed cost of a few seconds on a small machine.
                import ray

                ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
                warm = _run("ray, instance up", root, spec, backend="ray", workers=2)
                ray.shutdown()
    print()
    ok = True
    ratio = serial / local
    verdict = "ok" if ratio >= 1.8 else "MISSED"
    ok &= verdict == "ok"
    print(f"local(2)/serial throughput  {ratio:5.2f}x   target >= 1.8x   {verdict}")
    if ray_wall is not None:
        ratio = local / ray_wall
        verdict = "ok" if ratio >= 0.9 else "MISSED"
        ok &= verdict == "ok"
        print(f"ray/local throughput        {ratio:5.2f}x   target >= 0.9x   {verdict}")
        print(f"ray (instance up)/local     {local / warm:5.2f}x   (Ray start-up excluded; for information)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
