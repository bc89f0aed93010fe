"""Reward-model training throughput and per-step inference latency.

Run on demand, never in CI (its numbers depend on the machine):

    .venv/bin/python benchmarks/bench_reward_model.py            # 2000 pairs, 3 epochs; ~half a minute
    .venv/bin/python benchmarks/bench_reward_model.py --quick    # 500 pairs, 1 epoch; a few seconds

(a) ``train_reward_model`` on Pendulum segments of length 50 (random policy, labelled by a
noiseless Boltzmann teacher of the env reward), hidden ``(64, 64)``, ensemble 1 and 3, batch
64, no validation split: pairs/s is training pairs per second of the optimisation loop
(``TrainReport.pairs_per_second``; every member trains on each pair, so member-pairs/s is
``E`` times that). ``--rounds`` interleaved rounds; the medians and the paired per-round ratio
of member-pairs/s (target: ensemble 3 >= 1.0x a single model).

(b) ``RewardModel.predict`` for a batch of 8 transitions (what the vector wrapper asks for at
every step of 8 sub-envs): the numpy path (``predict``, cached weights) against the same model
run through the torch module (featurize + ``module(x)`` under ``no_grad``, the alternative).
Median of many calls after a warm-up; torch and BLAS pinned to one thread.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from rewardlab.preferences import (
    BoltzmannOracle,
    PreferenceDataset,
    RewardModel,
    collect_segments,
    label_pairs,
    train_reward_model,
)

TARGET_MEMBER_RATIO = 1.0
"""An ensemble of 3 must train at least as many member-pairs per second as a single model."""


def per_call(fn, calls: int, repeats: int) -> float:  # type: ignore[no-untyped-def]
    """Median over ``repeats`` of the mean seconds per call of ``calls`` calls."""
    for _ in range(min(calls, 100)):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - start) / calls)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--calls", type=int, default=2000, help="predict() calls per repeat")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved training rounds of (a) (quick: 3)")
    parser.add_argument("--quick", action="store_true", help="500 pairs, 1 epoch, 500 calls, 3 repeats")
    args = parser.parse_args()
    if args.quick:
        args.pairs, args.epochs, args.calls, args.repeats, args.rounds = 500, 1, 500, 3, 3
    torch.set_num_threads(1)

    print(f"platform: {platform.platform()}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    print(f"numpy {np.__version__}, torch {torch.__version__}; load average: {os.getloadavg()[0]:.2f}")
    length, n_segments = 50, 400
    seg = collect_segments("pendulum", n_segments=n_segments, length=length, seed=0)
    rng = np.random.default_rng(0)
    a = rng.integers(0, n_segments, args.pairs)
    pairs = np.stack([a, (a + rng.integers(1, n_segments, args.pairs)) % n_segments], axis=1)
    data = PreferenceDataset(seg, pairs, label_pairs(seg, pairs, BoltzmannOracle(temperature=0.0)))

    with threadpool_limits(limits=1):
        print(f"\n(a) training: pendulum, L = {length}, {args.pairs} pairs, hidden (64, 64), {args.epochs} epochs")
        print(f"{'ensemble':<10}{'pairs/s':>12}{'member-pairs/s':>16}{'wall':>9}")
        train_reward_model(RewardModel.for_env("pendulum", hidden=(8,)), data, epochs=1, val_fraction=0.0)  # warm-up
        rates: dict[int, list[float]] = {1: [], 3: []}
        walls: dict[int, list[float]] = {1: [], 3: []}
        for r in range(args.rounds):  # interleaved, the first one alternating: E = 1, 3, 3, 1, 1, 3, ...
            for e in (1, 3) if r % 2 == 0 else (3, 1):
                model = RewardModel.for_env("pendulum", hidden=(64, 64), ensemble=e, seed=r)
                start = time.perf_counter()
                report = train_reward_model(model, data, epochs=args.epochs, val_fraction=0.0, seed=r)
                walls[e].append(time.perf_counter() - start)
                rates[e].append(report.pairs_per_second)
        for e in (1, 3):
            med = statistics.median(rates[e])
            print(f"{e:<10}{med:>12,.0f}{med * e:>16,.0f}{statistics.median(walls[e]):>8.2f}s")
        paired = [3 * a / b for a, b in zip(rates[3], rates[1], strict=True)]
        ratio = 3 * statistics.median(rates[3]) / statistics.median(rates[1])
        verdict = "ok" if ratio >= TARGET_MEMBER_RATIO else "MISSED"
        spread = f"{statistics.median(paired):.2f}x [{min(paired):.2f}..{max(paired):.2f}]"
        print(
            f"member-pairs/s, ensemble 3 vs 1: {ratio:.2f}x (medians; paired per round {spread}, {args.rounds} rounds)"
            f"   target >= {TARGET_MEMBER_RATIO:g}x   {verdict}"
        )

        print("\n(b) predict(), batch 8, pendulum, hidden (64, 64)")
        print(f"{'ensemble':<10}{'numpy':>10}{'torch':>10}{'torch/numpy':>13}")
        obs, act = rng.normal(size=(8, 3)), rng.normal(size=(8, 1))
        for e in (1, 3):
            model = RewardModel.for_env("pendulum", hidden=(64, 64), ensemble=e)

            def torch_predict(model: RewardModel = model) -> np.ndarray:
                x = torch.from_numpy(model.featurize(obs, act, None))
                with torch.no_grad():
                    r = model.module(x).mean(dim=0)
                    return ((r - model.module.output_mean) / model.module.output_std).double().numpy()

            np.testing.assert_allclose(model.predict(obs, act, None), torch_predict(), rtol=1e-5, atol=1e-6)
            t_np = per_call(lambda model=model: model.predict(obs, act, None), args.calls, args.repeats)
            t_torch = per_call(torch_predict, args.calls, args.repeats)
            print(f"{e:<10}{t_np * 1e6:>8.1f}us{t_torch * 1e6:>8.1f}us{t_torch / t_np:>12.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
