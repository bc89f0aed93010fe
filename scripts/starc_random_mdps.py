"""Reproduce the random-MDP experiment of STARC (Skalse et al., ICLR 2024) with exact metrics.

One command::

    .venv/bin/python scripts/starc_random_mdps.py                 # paper size: 16 MDPs x 64 pairs x 16 steps
    .venv/bin/python scripts/starc_random_mdps.py --quick         # a smoke run, a few seconds

How well does each reward distance predict regret? On random MDPs (32 states, 4 actions, γ = 0.95,
sparse random transitions), draw reward pairs (R₁, R₂), walk from R₁ towards R₂ in 16 steps,
``Rᵢ = R₁ + (i/16)(R₂ − R₁)`` for i = 1..16, and for every (R₁, Rᵢ) compute

* the distances: EPIC, DARD, STARC-VAL and STARC-minimal, each canonicalisation followed by an
  L1/L2/L∞ normalisation n and an L1/L2/L∞ metric m (the paper's "VAL-2-2" etc.; rewardlab's
  ``starc_distance``, which **halves** the value: a constant factor, so correlations are unchanged),
  plus the original Pearson EPIC and DARD (``epic_distance``, ``dard_distance``);
* the normalised regret, mean of both directions: ``(regret(R₁, Rᵢ) + regret(Rᵢ, R₁)) / 2``;

and report the Pearson correlation of each distance with regret over all pairs, with a 95 %
bootstrap interval (reward pairs resampled as clusters: the 16 steps of one pair are not
independent).

The setup follows the authors' experiment code (lucyfarnik/starc, ``src/experiments/interpolated.py``,
``src/env/env.py``, ``src/env/reward.py``). Choices, where that code leaves room or where this
script departs from it:

* **Transitions**: ``z ~ N(0, 1)^{S×A×S}``; τ(s, a, ·) ∝ exp(z) on the entries with z > 1 (the code's
  threshold for S < 50; 1.5 below 100, 1.8 above) and **exactly 0** elsewhere. The code puts
  ``z = −20`` there instead, i.e. a probability of ~1e-9, which would make every transition
  possible. A row with no entry above the threshold becomes uniform, as the code's softmax of
  all −20 does. μ₀ is uniform.
* **Rewards**: iid ``N(0, 1)`` over (s, a, s'), then, each independently: with probability 0.2
  *sparsified* (entries ≤ 3 set to 0; 3.5 / 3.8 for larger S), with probability 0.7 *scaled* by
  ``10·U(0, 1)``, with probability 0.3 *shifted* by ``+10·U(0, 1)``, with probability 0.5
  *potential-shaped* with ``Φ = 10·U(0, 1)·N(0, 1)^S + U(0, 1)``. A sparsified reward can be all 0
  (probability ≈ 0.4 %): its regret is then 0 by rewardlab's convention (the authors' code divides
  by 0 there).
* **Steps** i = 1..16 as in the code (i = 0 would only add (0, 0) points); each R₂ is a fresh
  random reward drawn the same way.
* **Exact** everything: every canonicalisation is linear, so ``c(Rᵢ) = c(R₁) + (i/16)(c(R₂) − c(R₁))``
  with ``c(R₁)``, ``c(R₂)`` from :func:`rewardlab.metrics.canonicalize`; regret uses batched policy
  iteration with exact linear solves and the tie-break of ``TabularMDP.optimal_policy``. The
  first ``--check`` pairs of every MDP are recomputed with the public functions
  (``starc_distance``, ``epic_distance``, ``dard_distance``, ``regret``) and must agree to 1e-8.
* The authors use the NumPy legacy RNG with seed 42; this script uses ``SeedSequence(seed)``,
  one child per MDP, so numbers match theirs only statistically.

Outputs (``--out``, default ``runs/starc_random_mdps/<time>/``): ``config.json``, ``results.csv``
(one row per (R₁, Rᵢ) pair: every distance and both regrets), ``correlations.csv`` and
``scatter.png`` (distance vs regret, one panel per family, its L2-L2 variant).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import itertools
import json
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rewardlab.metrics import TabularMDP, canonicalize, dard_distance, epic_distance, regret, starc_distance

ORDERS: tuple[float, ...] = (1.0, 2.0, math.inf)
FAMILIES = {"EPIC": "epic", "DARD": "dard", "STARC-VAL": "val", "STARC-minimal": "minimal"}
ZERO_TOL = 1e-9  # rewardlab.metrics' relative zero rule (standardisation and Pearson)
TIE_TOL = 1e-9  # TabularMDP.optimal_policy's tie tolerance
TRIVIAL_TOL = 1e-9  # regret's trivial-reward tolerance
CHECK_TOL = 1e-8


@dataclass
class Config:
    """The experiment's settings; each field is a ``--flag`` (underscores become dashes)."""

    n_mdps: int = 16
    """Random MDPs (the paper: 16)."""
    n_rewards: int = 64
    """Reward pairs (R₁, R₂) per MDP (the paper: 64)."""
    n_steps: int = 16
    """Interpolation steps i = 1..n_steps from R₁ to R₂ (the paper: 16)."""
    n_states: int = 32
    """|S| (the paper: 32)."""
    n_actions: int = 4
    """|A| (the paper: 4)."""
    gamma: float = 0.95
    """Discount γ (the paper: 0.95)."""
    seed: int = 0
    """Root seed; MDP k uses child k of ``numpy.random.SeedSequence(seed)``."""
    check: int = 1
    """Pairs per MDP recomputed with rewardlab's public functions as a cross-check (0: none)."""
    bootstrap: int = 1000
    """Bootstrap resamples for the 95 % intervals of the correlations."""
    out: str | None = None
    """Output folder; ``runs/starc_random_mdps/<time>/`` when omitted."""
    quick: bool = False
    """Smoke-run sizes: 2 MDPs x 8 pairs x 16 steps, 200 bootstrap resamples (explicit flags win)."""


QUICK = {"n_mdps": 2, "n_rewards": 8, "bootstrap": 200}


def distance_names() -> list[str]:
    """Every distance column: ``<family>-<n>-<m>`` for the 4 families and 3 x 3 orders, then Pearson."""
    names = [f"{fam}-{_o(n)}-{_o(m)}" for fam in FAMILIES for n, m in itertools.product(ORDERS, ORDERS)]
    return [*names, "EPIC-pearson", "DARD-pearson"]


def _o(p: float) -> str:
    return "inf" if p == math.inf else str(int(p))


# --- random MDPs and rewards (the authors' recipe, see the module docstring) ---------------------


def random_transitions(rng: np.random.Generator, n_s: int, n_a: int) -> np.ndarray:
    """``(S, A, S)`` τ: softmax of the Gaussian entries above a threshold, exact 0 elsewhere."""
    thresh = 1.0 if n_s < 50 else (1.5 if n_s < 100 else 1.8)
    z = rng.standard_normal((n_s, n_a, n_s))
    keep = z > thresh
    keep[~keep.any(axis=2)] = True  # an empty row: the authors' softmax of all −20 is uniform
    t = np.where(keep, np.exp(np.where(keep, z, 0.0)), 0.0)
    return t / t.sum(axis=2, keepdims=True)


def random_reward(rng: np.random.Generator, n_s: int, n_a: int, gamma: float) -> np.ndarray:
    """``(S, A, S)`` reward: Gaussian, then maybe sparsified, scaled, shifted, potential-shaped."""
    r = rng.standard_normal((n_s, n_a, n_s))
    if rng.random() > 0.8:
        thresh = 3.0 if n_s < 50 else (3.5 if n_s < 100 else 3.8)
        r = np.where(r > thresh, r, 0.0)
    if rng.random() > 0.3:
        r *= 10 * rng.random()
    if rng.random() > 0.7:
        r += 10 * rng.random()
    if rng.random() > 0.5:
        phi = rng.standard_normal(n_s) * (10 * rng.random()) + rng.random()
        r = r + gamma * phi[None, None, :] - phi[:, None, None]
    return r


# --- exact distances, batched over pairs and steps ----------------------------------------------


def _norms(x: np.ndarray, p: float, w: np.ndarray | None = None) -> np.ndarray:
    """L_p norms over the last axis (weighted: ``(Σ w|x|^p)^(1/p)``, L∞ over w > 0 as rewardlab)."""
    if p == math.inf:
        return np.abs(x if w is None else x[..., w > 0]).max(axis=-1)
    if w is None:
        return np.abs(x).sum(axis=-1) if p == 1.0 else np.sqrt(np.einsum("...i,...i->...", x, x))
    return np.abs(x) @ w if p == 1.0 else np.sqrt((x * x) @ w)


def _standardise(c: np.ndarray, magnitude: np.ndarray, p: float) -> np.ndarray:
    """``c / n(c)`` over the last axis; 0 when ``n(c) ≤ 1e-9 · max|R| · n(1)`` (rewardlab's zero rule)."""
    size = _norms(c, p)
    ones = 1.0 if p == math.inf else c.shape[-1] ** (1.0 / p)
    zero = (size <= ZERO_TOL * magnitude * ones) | (size == 0.0)
    return np.where(zero[..., None], 0.0, c / np.where(zero, 1.0, size)[..., None])


def _pearson(x: np.ndarray, y: np.ndarray, mag_x: np.ndarray, mag_y: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """``√((1 − ρ)/2) = ½‖x̂ − ŷ‖_{L2(D)}`` over the last axis, as ``rewardlab``'s Pearson distances."""

    def hat(v: np.ndarray, mag: np.ndarray) -> np.ndarray:
        centred = v - (v @ dist)[..., None]
        spread = np.sqrt((centred * centred) @ dist)
        zero = (spread <= ZERO_TOL * mag) | (spread == 0.0)
        return np.where(zero[..., None], 0.0, centred / np.where(zero, 1.0, spread)[..., None])

    diff = hat(x, mag_x) - hat(y, mag_y)
    return np.clip(0.5 * np.sqrt((diff * diff) @ dist), 0.0, 1.0)


def pair_distances(r1: np.ndarray, r2: np.ndarray, mdp: TabularMDP, steps: np.ndarray) -> dict[str, np.ndarray]:
    """All distances between ``R₁`` and ``R₁ + t(R₂ − R₁)``; ``r1``, ``r2`` are ``(P, S, A, S)``.

    Returns:
        ``{name: (P, K)}`` for ``K = len(steps)`` (rewardlab's halved STARC values).
    """
    n_pairs = r1.shape[0]
    flat1, flat2 = r1.reshape(n_pairs, -1), r2.reshape(n_pairs, -1)
    diff = flat2 - flat1
    mag1 = np.abs(flat1).max(axis=1)  # (P,)
    mag_t = np.abs(flat1[:, None, :] + steps[None, :, None] * diff[:, None, :]).max(axis=2)  # (P, K)
    out: dict[str, np.ndarray] = {}
    n_s, n_a = mdp.n_states, mdp.n_actions
    for fam, method in FAMILIES.items():
        c1 = np.stack([canonicalize(r, mdp, method).ravel() for r in r1])
        c2 = np.stack([canonicalize(r, mdp, method).ravel() for r in r2])
        ct = c1[:, None, :] + steps[None, :, None] * (c2 - c1)[:, None, :]  # (P, K, N), exact by linearity
        if method in ("epic", "dard"):
            if method == "epic":
                dist = np.full(flat1.shape[1], 1.0 / flat1.shape[1])
            else:
                dist = (mdp.dense_transitions() / (n_s * n_a)).ravel()
            out[f"{fam}-pearson"] = _pearson(c1[:, None, :], ct, mag1[:, None], mag_t, dist)
        for p_n in ORDERS:
            s1 = _standardise(c1, mag1, p_n)[:, None, :]
            st = _standardise(ct, mag_t, p_n)
            for p_m in ORDERS:
                out[f"{fam}-{_o(p_n)}-{_o(p_m)}"] = 0.5 * _norms(s1 - st, p_m)
    return out


# --- exact regret: batched policy iteration -----------------------------------------------------


class BatchedMDP:
    """Per-MDP structures for batched policy evaluation and policy iteration on ``(B, S, A)`` r̄."""

    def __init__(self, t: np.ndarray, gamma: float, initial: np.ndarray) -> None:
        self.t = t
        self.gamma = gamma
        self.initial = initial
        self.n_s, self.n_a = t.shape[:2]
        self.eye = np.eye(self.n_s)
        self.states = np.arange(self.n_s)

    def values(self, choice: np.ndarray, r_bar: np.ndarray) -> np.ndarray:
        """``V^π`` of deterministic policies ``choice`` ``(B, S)`` under ``r_bar`` ``(B, S, A)``: ``(B, S)``."""
        p_pi = self.t[self.states[None, :], choice]  # (B, S, S)
        r_pi = np.take_along_axis(r_bar, choice[..., None], axis=2)[..., 0]
        return np.linalg.solve(self.eye - self.gamma * p_pi, r_pi[..., None])[..., 0]

    def q_values(self, choice: np.ndarray, r_bar: np.ndarray) -> np.ndarray:
        return r_bar + self.gamma * np.einsum("sat,bt->bsa", self.t, self.values(choice, r_bar))

    def optimal(self, r_bar: np.ndarray) -> np.ndarray:
        """Optimal deterministic policies ``(B, S)``: ``TabularMDP.optimal_policy`` on each batch element."""
        choice = np.argmax(r_bar, axis=2)
        q = r_bar
        for _ in range(10_000):
            q = self.q_values(choice, r_bar)
            best = q.max(axis=2)
            tol = TIE_TOL * np.maximum(np.abs(q).max(axis=(1, 2)), np.finfo(float).tiny)
            current = np.take_along_axis(q, choice[..., None], axis=2)[..., 0]
            better = best > current + tol[:, None]
            if not better.any():
                break
            choice = np.where(better, np.argmax(q, axis=2), choice)
        best = q.max(axis=2, keepdims=True)
        tol = TIE_TOL * np.maximum(np.abs(q).max(axis=(1, 2)), np.finfo(float).tiny)
        return np.argmax(q >= best - tol[:, None, None], axis=2)

    def returns(self, choice: np.ndarray, r_bar: np.ndarray) -> np.ndarray:
        """``J(π) = μ₀ · V^π``, ``(B,)``."""
        return self.values(choice, r_bar) @ self.initial


def pair_regrets(r1: np.ndarray, r2: np.ndarray, bmdp: BatchedMDP, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``regret(R₁, Rₜ)`` and ``regret(Rₜ, R₁)``, each ``(P, K)``, for ``(P, S, A, S)`` r1, r2."""
    n_pairs, n_steps = r1.shape[0], steps.size
    rb1 = np.einsum("sat,psat->psa", bmdp.t, r1)
    rb2 = np.einsum("sat,psat->psa", bmdp.t, r2)
    rbt = (rb1[:, None] + steps[None, :, None, None] * (rb2 - rb1)[:, None]).reshape(-1, bmdp.n_s, bmdp.n_a)
    mag1 = np.abs(r1.reshape(n_pairs, -1)).max(axis=1)
    flat1, flat2 = r1.reshape(n_pairs, -1), r2.reshape(n_pairs, -1)
    mag_t = np.abs(flat1[:, None, :] + steps[None, :, None] * (flat2 - flat1)[:, None, :]).max(axis=2).ravel()

    pi1, pi1_worst = bmdp.optimal(rb1), bmdp.optimal(-rb1)
    pit, pit_worst = bmdp.optimal(rbt), bmdp.optimal(-rbt)
    rep = np.repeat(np.arange(n_pairs), n_steps)  # pair of each flattened (pair, step)

    def normalised(best: np.ndarray, worst: np.ndarray, achieved: np.ndarray, mag: np.ndarray) -> np.ndarray:
        span = best - worst
        trivial = (span <= TRIVIAL_TOL * mag / (1.0 - bmdp.gamma)) | (span <= 0.0)
        return np.where(trivial, 0.0, np.clip((best - achieved) / np.where(trivial, 1.0, span), 0.0, 1.0))

    j1_best, j1_worst = bmdp.returns(pi1, rb1)[rep], bmdp.returns(pi1_worst, rb1)[rep]
    j1_of_t = bmdp.returns(pit, rb1[rep])
    jt_best, jt_worst = bmdp.returns(pit, rbt), bmdp.returns(pit_worst, rbt)
    jt_of_1 = bmdp.returns(pi1[rep], rbt)
    forward = normalised(j1_best, j1_worst, j1_of_t, mag1[rep])
    backward = normalised(jt_best, jt_worst, jt_of_1, mag_t)
    return forward.reshape(n_pairs, n_steps), backward.reshape(n_pairs, n_steps)


def library_check(
    r1: np.ndarray, r2: np.ndarray, mdp: TabularMDP, steps: np.ndarray, dists: dict[str, np.ndarray], reg: tuple
) -> float:
    """Recompute a few steps of one pair with the public API; return the largest absolute difference."""
    worst = 0.0
    for k in sorted({0, steps.size // 2, steps.size - 1}):
        rt = r1 + steps[k] * (r2 - r1)
        ref = {"EPIC-pearson": epic_distance(r1, rt, mdp), "DARD-pearson": dard_distance(r1, rt, mdp)}
        for fam, method in FAMILIES.items():
            for p_n, p_m in itertools.product(ORDERS, ORDERS):
                ref[f"{fam}-{_o(p_n)}-{_o(p_m)}"] = starc_distance(r1, rt, mdp, method, p_n, p_m)
        for name, value in ref.items():
            worst = max(worst, abs(value - float(dists[name][k])))
        worst = max(worst, abs(regret(r1, rt, mdp) - float(reg[0][k])), abs(regret(rt, r1, mdp) - float(reg[1][k])))
    return worst


# --- the experiment -----------------------------------------------------------------------------


def run(cfg: Config) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Run every MDP; return the per-pair columns (``mdp``, ``pair``, ``step``, regrets, distances)."""
    steps = np.arange(1, cfg.n_steps + 1) / cfg.n_steps
    names = distance_names()
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ["mdp", "pair", "step", "regret_12", "regret_21", *names]}
    worst_check = 0.0
    for m, child in enumerate(np.random.SeedSequence(cfg.seed).spawn(cfg.n_mdps)):
        rng = np.random.default_rng(child)
        t = random_transitions(rng, cfg.n_states, cfg.n_actions)
        mdp = TabularMDP(t, gamma=cfg.gamma)
        bmdp = BatchedMDP(t, cfg.gamma, mdp.initial)
        rewards = [random_reward(rng, cfg.n_states, cfg.n_actions, cfg.gamma) for _ in range(2 * cfg.n_rewards)]
        r1, r2 = np.stack(rewards[0::2]), np.stack(rewards[1::2])
        dists = pair_distances(r1, r2, mdp, steps)
        fwd, bwd = pair_regrets(r1, r2, bmdp, steps)
        for p in range(min(cfg.check, cfg.n_rewards)):
            one = {k: v[p] for k, v in dists.items()}
            worst_check = max(worst_check, library_check(r1[p], r2[p], mdp, steps, one, (fwd[p], bwd[p])))
        shape = (cfg.n_rewards, cfg.n_steps)
        cols["mdp"].append(np.full(shape, m))
        cols["pair"].append(np.broadcast_to(np.arange(cfg.n_rewards)[:, None], shape))
        cols["step"].append(np.broadcast_to(np.arange(1, cfg.n_steps + 1)[None, :], shape))
        cols["regret_12"].append(fwd)
        cols["regret_21"].append(bwd)
        for name in names:
            cols[name].append(dists[name])
    if worst_check > CHECK_TOL:
        raise RuntimeError(f"batched values differ from rewardlab.metrics by {worst_check:.3g} (> {CHECK_TOL})")
    if cfg.check:
        print(f"cross-check against rewardlab.metrics public functions: max |diff| = {worst_check:.2g}")
    flat = {k: np.concatenate([np.ravel(v) for v in vs]) for k, vs in cols.items()}
    flat["regret"] = 0.5 * (flat["regret_12"] + flat["regret_21"])
    return flat, {name: flat[name] for name in names}


def correlations(
    data: dict[str, np.ndarray], dists: dict[str, np.ndarray], n_boot: int, seed: int
) -> list[dict[str, object]]:
    """Pearson r of each distance with regret, and a 95 % cluster-bootstrap interval (clusters = pairs)."""
    cluster = data["mdp"] * (int(data["pair"].max()) + 1) + data["pair"]
    _, cluster = np.unique(cluster, return_inverse=True)
    n_cl = int(cluster.max()) + 1
    y = data["regret"]
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n_cl, np.full(n_cl, 1.0 / n_cl), size=n_boot).astype(float)  # (B, clusters)

    def sums(v: np.ndarray) -> np.ndarray:
        return np.bincount(cluster, weights=v, minlength=n_cl)

    ones_s, y_s, yy_s = sums(np.ones_like(y)), sums(y), sums(y * y)
    rows = []
    for name, x in dists.items():
        r = float(np.corrcoef(x, y)[0, 1]) if np.std(x) > 0 and np.std(y) > 0 else math.nan
        n, sx, sy, sxx, syy, sxy = (counts @ s for s in (ones_s, sums(x), y_s, sums(x * x), yy_s, sums(x * y)))
        with np.errstate(invalid="ignore", divide="ignore"):
            boot = (n * sxy - sx * sy) / np.sqrt((n * sxx - sx * sx) * (n * syy - sy * sy))
        lo, hi = np.nanpercentile(boot, [2.5, 97.5]) if n_boot else (math.nan, math.nan)
        parts = name.split("-")
        family = name[: -len("-pearson")] if name.endswith("-pearson") else "-".join(parts[:-2])
        norm, metric = ("pearson", "pearson") if name.endswith("-pearson") else (parts[-2], parts[-1])
        rows.append(
            {
                "distance": name,
                "family": family,
                "norm": norm,
                "metric": metric,
                "pearson_r": r,
                "ci95_low": float(lo),
                "ci95_high": float(hi),
            }
        )
    rows.sort(key=lambda row: -np.nan_to_num(float(row["pearson_r"]), nan=-2.0))  # type: ignore[arg-type]
    return rows


def write_csv(path: Path, rows: Sequence[dict[str, object]]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def scatter(path: Path, data: dict[str, np.ndarray], rows: list[dict[str, object]]) -> None:
    """Distance vs regret, one panel per family (its L2-L2 variant; EPIC/DARD also in Pearson form)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    r_of = {str(row["distance"]): float(row["pearson_r"]) for row in rows}  # type: ignore[arg-type]
    fig, axes = plt.subplots(2, 2, figsize=(11, 9), sharey=True, constrained_layout=True)
    y = data["regret"]
    alpha = float(min(0.5, max(0.03, 300 / y.size)))
    for ax, fam in zip(axes.ravel(), FAMILIES, strict=True):
        variants = [f"{fam}-2-2"] + ([f"{fam}-pearson"] if fam in ("EPIC", "DARD") else [])
        for name, colour in zip(variants, ("tab:blue", "tab:orange"), strict=False):
            ax.scatter(data[name], y, s=4, alpha=alpha, color=colour, rasterized=True, label=None)
            ax.scatter([], [], s=20, color=colour, label=f"{name}   r = {r_of[name]:.3f}")
        ax.set_title(fam, fontsize=13)
        ax.set_xlabel("distance (L2 norm, L2 metric; STARC values halved)", fontsize=10)
        ax.legend(loc="upper left", fontsize=10, frameon=True)
        ax.grid(alpha=0.3)
    for ax in axes[:, 0]:
        ax.set_ylabel("normalised regret, mean of both directions", fontsize=10)
    n_mdps = int(data["mdp"].max()) + 1
    fig.suptitle(f"Random MDPs: distance vs regret ({y.size} reward pairs, {n_mdps} MDPs)", fontsize=14)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def print_table(rows: list[dict[str, object]]) -> None:
    print(f"\n{'distance':<22}{'pearson r':>10}  {'95% CI'}")
    for row in rows:
        r, lo, hi = (float(row[k]) for k in ("pearson_r", "ci95_low", "ci95_high"))  # type: ignore[arg-type]
        print(f"{row['distance']!s:<22}{r:>10.3f}  [{lo:.3f}, {hi:.3f}]")


def parse(argv: Sequence[str] | None) -> Config:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    docs = _field_docs()
    for field in dataclasses.fields(Config):
        flag = "--" + field.name.replace("_", "-")
        if field.type in ("bool", bool):
            parser.add_argument(flag, action="store_true", help=_escape(docs.get(field.name, "")))
        else:
            kind = {"int": int, "float": float}.get(str(field.type), str)
            parser.add_argument(
                flag, type=kind, default=None, help=_escape(f"{docs.get(field.name, '')} (default: {field.default})")
            )
    ns = vars(parser.parse_args(argv))
    cfg = Config(quick=ns.pop("quick"))
    base = {**dataclasses.asdict(cfg), **(QUICK if cfg.quick else {})}
    base.update({k: v for k, v in ns.items() if v is not None})
    cfg = Config(**base)
    for name in ("n_mdps", "n_rewards", "n_steps", "n_states", "n_actions"):
        if getattr(cfg, name) < 1:
            parser.error(f"`--{name.replace('_', '-')}` must be at least 1 (got {getattr(cfg, name)!r})")
    if not 0.0 < cfg.gamma < 1.0:
        parser.error(f"`--gamma` must be in (0, 1) (got {cfg.gamma!r})")
    return cfg


def _escape(text: str) -> str:
    """A help string for argparse, which %-formats it ("95 %" would raise a TypeError)."""
    return text.replace("%", "%%")


def _field_docs() -> dict[str, str]:
    """The docstring under each ``Config`` field, read from this file (for ``--help``)."""
    import ast

    tree = ast.parse(Path(__file__).read_text(encoding="utf-8"))
    docs: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == "Config":
            for a, b in itertools.pairwise(node.body):
                if isinstance(a, ast.AnnAssign) and isinstance(a.target, ast.Name) and isinstance(b, ast.Expr):
                    if isinstance(b.value, ast.Constant) and isinstance(b.value.value, str):
                        docs[a.target.id] = b.value.value
    return docs


def main(argv: Sequence[str] | None = None) -> Path:
    """Run the experiment and write its files; returns the output folder."""
    cfg = parse(argv)
    out = Path(cfg.out) if cfg.out else Path("runs/starc_random_mdps") / time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(dataclasses.asdict(cfg), indent=2) + "\n")
    n_pairs = cfg.n_mdps * cfg.n_rewards * cfg.n_steps
    print(
        f"STARC random-MDP experiment: {cfg.n_mdps} MDPs x {cfg.n_rewards} reward pairs x {cfg.n_steps} steps"
        f" = {n_pairs} (R1, Ri) pairs; |S| = {cfg.n_states}, |A| = {cfg.n_actions}, gamma = {cfg.gamma}"
    )
    start = time.perf_counter()
    data, dists = run(cfg)
    elapsed = time.perf_counter() - start
    cols = ["mdp", "pair", "step", "regret", "regret_12", "regret_21", *dists]
    with (out / "results.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(cols)
        table = np.column_stack([data[c] for c in cols])
        for row in table:
            writer.writerow([int(v) for v in row[:3]] + [f"{v:.10g}" for v in row[3:]])
    rows = correlations(data, dists, cfg.bootstrap, cfg.seed)
    write_csv(out / "correlations.csv", rows)
    scatter(out / "scatter.png", data, rows)
    print_table(rows)
    total = time.perf_counter() - start
    print(f"\ncompute {elapsed:.1f} s, total {total:.1f} s; files in {out}/")
    return out


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
