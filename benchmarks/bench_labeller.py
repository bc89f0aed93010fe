"""Pairs per second of HERON's vectorised labeller against a per-pair Python loop.

Run on demand, never in CI (its numbers depend on the machine):

    .venv/bin/python benchmarks/bench_labeller.py            # N = 1e6 pairs, a few seconds
    .venv/bin/python benchmarks/bench_labeller.py --quick    # N = 1e5, under a second

``hierarchical_labels`` on ``N`` random pairs with K = 3 factors (ranking ``[0, 2, 1]``, mixed
directions, margins ``[0.1, 0.0, 0.5]``), validation included, against the straightforward loop
of HERON's ``compare`` on a smaller ``N`` (``--loop-n``). Median of a few repeats after a
warm-up, BLAS/OpenMP pinned to one thread. Target: >= 1e6 pairs/s for the vectorised labeller.
The exit status is 1 if the target is missed.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from rewardlab.preferences import hierarchical_labels

K = 3
RANKING = [0, 2, 1]
HIGHER_IS_BETTER = [False, True, False]
MARGINS = [0.1, 0.0, 0.5]
TARGET = 1e6
"""Pairs per second the vectorised labeller must reach on one core."""


def loop_labels(fa: np.ndarray, fb: np.ndarray) -> np.ndarray:
    """HERON's ``compare``, one pair at a time (the reference the tests check against)."""
    out = np.empty(len(fa))
    for i, (a, b) in enumerate(zip(fa.tolist(), fb.tolist(), strict=True)):
        label = math.nan
        for k in RANKING:
            s = 1.0 if HIGHER_IS_BETTER[k] else -1.0
            va, vb = s * a[k], s * b[k]
            if va > vb + MARGINS[k]:
                label = 1.0
                break
            if vb > va + MARGINS[k]:
                label = 0.0
                break
        out[i] = label
    return out


def median_time(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="pairs for the vectorised labeller")
    parser.add_argument("--loop-n", type=int, default=20_000, help="pairs for the Python loop")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="N = 1e5, loop N = 5000, 3 repeats")
    args = parser.parse_args()
    if args.quick:
        args.n, args.loop_n, args.repeats = 100_000, 5_000, 3

    rng = np.random.default_rng(0)
    # Rounded values so that exact ties and differences at the margin occur, as in real factors.
    fa = np.round(rng.normal(size=(args.n, K)), 1)
    fb = np.round(rng.normal(size=(args.n, K)), 1)
    kwargs = {"ranking": RANKING, "higher_is_better": HIGHER_IS_BETTER, "margins": MARGINS}

    with threadpool_limits(limits=1):
        print(f"platform: {platform.platform()}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
        pools = [(p["internal_api"], p["num_threads"]) for p in threadpool_info()]
        print(f"numpy {np.__version__}; thread pools: {pools}")
        print(f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
        labels = hierarchical_labels(fa, fb, **kwargs)
        same = np.array_equal(labels[: args.loop_n], loop_labels(fa[: args.loop_n], fb[: args.loop_n]), equal_nan=True)
        t_vec = median_time(lambda: hierarchical_labels(fa, fb, **kwargs), args.repeats)
        small_a, small_b = fa[: args.loop_n], fb[: args.loop_n]
        t_loop = median_time(lambda: loop_labels(small_a, small_b), max(1, args.repeats // 2))

    vec_rate = args.n / t_vec
    loop_rate = args.loop_n / t_loop
    decided = np.mean(~np.isnan(labels))
    print(f"K = {K}, ranking {RANKING}, higher_is_better {HIGHER_IS_BETTER}, margins {MARGINS}")
    print(
        f"decided pairs: {decided:.1%}; vectorised == loop on the first {args.loop_n} pairs: {'yes' if same else 'NO'}"
    )
    print(f"{'variant':<12}{'N':>11}{'median time':>14}{'pairs/s':>14}")
    print(f"{'vectorised':<12}{args.n:>11,}{t_vec * 1e3:>11.1f} ms{vec_rate:>14.3g}")
    print(f"{'loop':<12}{args.loop_n:>11,}{t_loop * 1e3:>11.1f} ms{loop_rate:>14.3g}")
    print(f"speed-up vectorised/loop: {vec_rate / loop_rate:.0f}x")
    ok = vec_rate >= TARGET and same
    print(
        f"target >= {TARGET:.0e} pairs/s: {vec_rate:.3g} pairs/s, ratio {vec_rate / TARGET:.1f}x -> "
        f"{'ok' if ok else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
