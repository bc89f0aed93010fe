"""Exact STARC-VAL time vs the number of states, against one policy-evaluation solve.

Run on demand, never in CI (its numbers depend on the machine):

    .venv/bin/python benchmarks/bench_metrics.py            # full run, about 1 minute
    .venv/bin/python benchmarks/bench_metrics.py --quick    # smoke run, a few seconds

For each size, ``starc_distance(R1, R2, mdp, "val", norm=2, metric=2)`` with random ``(S, A)``
rewards (A = 4, γ = 0.95, uniform VAL policy), timed end to end (validation included), and one
policy-evaluation linear solve ``(I − γP_π)V = r_π`` on the same MDP (``TabularMDP._solve``: a
dense LU solve, or GMRES for a sparse τ), the primitive STARC-VAL calls twice. Reported: the
median of a few repeats of each and their ratio.

* dense τ, an ``(S, A, S)`` array with every next state possible: S = 100 ... 4000;
* sparse τ, a ``scipy.sparse`` ``(S * A, S)`` CSR matrix with four successors per (s, a):
  S = 10⁴, 10⁵ and 10⁶. Targets: under 1 s, 10 s and 120 s, and at S >= 10⁵ at most 2.5 solves'
  time (the two policy evaluations share P_π and I − γP_π; ``--sparse-only`` times these alone).

Building the MDPs is not timed. See benchmarks/README.md for how to read the table.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np
import scipy
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from rewardlab.metrics import TabularMDP, starc_distance

N_ACTIONS = 4
GAMMA = 0.95
SUCCESSORS = 4
DENSE_SIZES = (100, 500, 1000, 2000, 4000)
DENSE_SIZES_QUICK = (100, 500, 1000)
SPARSE_SIZES = (10_000, 100_000, 1_000_000)
SPARSE_SIZES_QUICK = (10_000,)
TARGETS = {10_000: 1.0, 100_000: 10.0, 1_000_000: 120.0}
"""Seconds allowed for one sparse STARC-VAL distance, by S."""
RATIO_TARGET = 2.5
"""At most this many solves' time for one sparse STARC-VAL distance at S >= 1e5 (two solves, shared P_π)."""


def dense_mdp(n_s: int, rng: np.random.Generator) -> TabularMDP:
    t = rng.random((n_s, N_ACTIONS, n_s)) + 0.01
    t /= t.sum(axis=2, keepdims=True)
    return TabularMDP(t, gamma=GAMMA)


def sparse_mdp(n_s: int, rng: np.random.Generator) -> TabularMDP:
    n_rows = n_s * N_ACTIONS
    # Four distinct successors per row: a random base state plus three distinct nonzero offsets.
    base = rng.integers(0, n_s, size=(n_rows, 1))
    # Sorted draws from [1, S − 3] plus (0, 1, 2) are strictly increasing in [1, S − 1].
    offsets = np.sort(rng.integers(1, n_s - 2, size=(n_rows, SUCCESSORS - 1)), axis=1) + np.arange(SUCCESSORS - 1)
    succ = np.concatenate([base, (base + offsets) % n_s], axis=1)
    probs = rng.random((n_rows, SUCCESSORS)) + 0.05
    probs /= probs.sum(axis=1, keepdims=True)
    flat = sp.csr_matrix((probs.ravel(), (np.repeat(np.arange(n_rows), SUCCESSORS), succ.ravel())), shape=(n_rows, n_s))
    return TabularMDP(flat, gamma=GAMMA)


def median_time(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up (imports, caches, first-touch of memory)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_one(mdp: TabularMDP, rng: np.random.Generator, repeats: int) -> tuple[float, float, float]:
    """``(t_starc, t_solve, distance)`` for one MDP."""
    n_s = mdp.n_states
    r1, r2 = rng.normal(size=(n_s, N_ACTIONS)), rng.normal(size=(n_s, N_ACTIONS))
    policy = mdp.check_policy(None)
    p_pi = mdp.policy_transitions(policy)
    r_pi = r1.mean(axis=1)
    t_solve = median_time(lambda: mdp._solve(p_pi, r_pi), repeats)
    t_starc = median_time(lambda: starc_distance(r1, r2, mdp, "val", norm=2, metric=2), repeats)
    return t_starc, t_solve, starc_distance(r1, r2, mdp, "val", norm=2, metric=2)


def machine() -> str:
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 0
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{platform.platform()} | {cpus} usable CPUs | load avg {load:.2f} | Python {platform.python_version()}"
        f" | numpy {np.__version__} | scipy {scipy.__version__}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="dense S up to 1000, sparse S = 1e4 only")
    parser.add_argument("--sparse-only", action="store_true", help="only the sparse sizes (1e4, 1e5, 1e6)")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats per size (default 5, quick 3)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP threads (default 1: stabler timings)")
    args = parser.parse_args(argv)
    with threadpool_limits(limits=args.threads):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    repeats = args.repeats or (3 if args.quick else 5)
    rng = np.random.default_rng(args.seed)
    print(machine() + f" | BLAS threads {args.threads}")
    print(f"STARC-VAL (norm = metric = L2, uniform π), A = {N_ACTIONS}, γ = {GAMMA}, (S, A) rewards;")
    print(f"median of {repeats} repeats after a warm-up; solve = one (I − γP_π)V = r_π\n")
    header = f"{'tau':<7}{'S':>8}{'nnz(tau)':>12}{'STARC-VAL':>12}{'solve':>11}{'ratio':>8}{'target':>18}  verdict"
    print(header)
    print("-" * len(header))
    verdicts = []
    sizes = [] if args.sparse_only else [("dense", s) for s in (DENSE_SIZES_QUICK if args.quick else DENSE_SIZES)]
    sizes += [("sparse", s) for s in (SPARSE_SIZES_QUICK if args.quick else SPARSE_SIZES)]
    for kind, n_s in sizes:
        mdp = dense_mdp(n_s, rng) if kind == "dense" else sparse_mdp(n_s, rng)
        nnz = n_s * N_ACTIONS * n_s if kind == "dense" else int(mdp.flat_transitions.nnz)  # type: ignore[union-attr]
        t_starc, t_solve, dist = bench_one(mdp, rng, repeats)
        target = TARGETS.get(n_s) if kind == "sparse" else None
        ratio_target = RATIO_TARGET if kind == "sparse" and n_s >= 100_000 else None
        ok = (target is None or t_starc < target) and (ratio_target is None or t_starc / t_solve <= ratio_target)
        verdict = "-" if target is None and ratio_target is None else ("ok" if ok else "MISSED")
        if verdict != "-":
            verdicts.append(verdict)
        target_s = "-" if target is None else f"< {target:g} s" + (f", <= {ratio_target:g}x" if ratio_target else "")
        print(
            f"{kind:<7}{n_s:>8}{nnz:>12.3g}{t_starc * 1e3:>10.1f}ms{t_solve * 1e3:>9.2f}ms"
            f"{t_starc / t_solve:>7.1f}x{target_s:>18}  {verdict}   (d = {dist:.4f})"
        )
        del mdp
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak resident memory of this process: {peak_mib:.0f} MiB")
    print(
        "ratio = time(STARC-VAL) / time(one solve); STARC-VAL does two policy evaluations (one per reward), "
        f"sharing P_π: target <= {RATIO_TARGET:g}x at S >= 1e5."
    )
    return 0 if all(v == "ok" for v in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
