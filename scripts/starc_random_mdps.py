"""Reproduce the random-MDP experiment of STARC (Skalse et al., ICLR 2024), exactly and as the paper ran it.

One command::

    .venv/bin/python scripts/starc_random_mdps.py                   # exact: 16 MDPs x 64 pairs x 16 steps
    .venv/bin/python scripts/starc_random_mdps.py --protocol paper  # 3 runs x 64 MDPs x 16 pairs x 16 steps
    .venv/bin/python scripts/starc_random_mdps.py --quick           # a smoke run, seconds (either protocol)

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

Two protocols (``--protocol``); the distances are exact in both:

* ``exact`` (default): regret of the exactly optimal policies, with exact returns.
* ``paper``: also the paper's regret estimate, and the table puts the correlations with the
  rollout regret and with the exact regret side by side (same pairs, same bootstrap resamples).
  As the authors' code does it:

  - **policies** by value iteration from V = 0 until ``‖V_{k+1} − V_k‖₂ < 1e-5`` (at most 10,000
    sweeps), greedy for the last sweep's Q, ties to the first action; the worst policy is value
    iteration on −R (``src/distance/rollout.py``, ``optimize``; its Q-learning is commented out);
  - **returns** by Monte Carlo: |A| repetitions of one episode from each state (128 episodes: a
    uniform μ₀, stratified), each ``T = round(ln 1e-5 / ln γ) = 224`` steps of the deterministic
    policy, the discounted sum ``Σ_{t<T} γᵗ R(sₜ, aₜ, sₜ₊₁)``, then the mean
    (``rollout.py``, ``policy_returns``). ``J₁(π₁)`` and ``J₁(π_worst)`` are estimated once per pair
    and reused for all 16 steps; for each step ``Jᵢ(π₁)``, ``Jᵢ(πᵢ)`` with ``J₁(πᵢ)`` (the same
    episodes) and ``Jᵢ(π_worst,ᵢ)`` are fresh estimates; the optimal returns are rolled out too
    (``src/experiments/interpolated.py``). Returns under Rᵢ come from the same episodes' returns
    under R₁ and R₂ (linearity), which is what summing Rᵢ along them gives;
  - **regret** ``(J₁(π₁) − J₁(πᵢ)) / (J₁(π₁) − J₁(π_worst))`` and the converse, a span of exactly 0
    replaced by 1, **not clipped** (noise can make it negative), averaged over both directions;
  - **pooling**: every (R₁, Rᵢ) row of every run in one table, one Pearson r per distance
    (``src/visualize.ipynb``, which draws ``results/final/correlations.pdf``: 49,152 rows, three
    times one run of 64 MDPs x 16 pairs x 16 steps, the ``num_envs`` x ``num_rewards`` of
    ``interpolated.py`` at the commits whose column names that notebook reads; 128 x 8 at HEAD,
    the same 16,384 rows). ``--runs`` runs of ``--n-mdps`` MDPs each are pooled the same way.

  The paper's figure reads (``visualize.ipynb``): VAL-2-2 0.856, VAL-1-1 0.873, EPIC-2-2 0.778,
  DARD-2-2 0.782; VAL above EPIC for 40 of 42 norm/metric choices (its 36 include τ-weighted
  norms, not computed here); its MinimalPotential is not the exact STARC-minimal of this script.

The setup follows the authors' experiment code (lucyfarnik/starc, ``src/experiments/interpolated.py``,
``src/env/env.py``, ``src/env/reward.py``, ``src/distance/rollout.py``). Choices, where that code
leaves room or where this script departs from it:

* **Transitions**: ``z ~ N(0, 1)^{S×A×S}``; τ(s, a, ·) ∝ exp(z) on the entries with z > 1 (the code's
  threshold for S < 50; 1.5 below 100, 1.8 above) and **exactly 0** elsewhere. The code puts
  ``z = −20`` there instead, i.e. a probability of ~1e-9, which would make every transition
  possible. A row with no entry above the threshold becomes uniform, as the code's softmax of
  all −20 does. μ₀ is uniform.
* **Rewards**: iid ``N(0, 1)`` over (s, a, s'), then, each independently: with probability 0.2
  *sparsified* (entries ≤ 3 set to 0; 3.5 / 3.8 for larger S), with probability 0.7 *scaled* by
  ``10·U(0, 1)``, with probability 0.3 *shifted* by ``+10·U(0, 1)``, with probability 0.5
  *potential-shaped* with ``Φ = 10·U(0, 1)·N(0, 1)^S + U(0, 1)``. A sparsified reward can be all 0
  (probability ≈ 0.4 %): its exact regret is then 0 by rewardlab's convention (the authors' code
  divides by a span of 1 there, and its rollout regret is 0 too).
* **Steps** i = 1..16 as in the code (i = 0 would only add (0, 0) points); each R₂ is a fresh
  random reward drawn the same way.
* **Exact** everything: every canonicalisation is linear, so ``c(Rᵢ) = c(R₁) + (i/16)(c(R₂) − c(R₁))``
  with ``c(R₁)``, ``c(R₂)`` from :func:`rewardlab.metrics.canonicalize`; regret uses batched policy
  iteration with exact linear solves and the tie-break of ``TabularMDP.optimal_policy``. The
  first ``--check`` pairs of every MDP are recomputed with the public functions
  (``starc_distance``, ``epic_distance``, ``dard_distance``, ``regret``) and must agree to 1e-8.
* The authors use the NumPy legacy RNG with seed 42 (set in the parent of a ``multiprocessing``
  pool); this script uses ``SeedSequence(seed)``, one child per MDP (child k of run r is number
  ``r·n_mdps + k``; the rollouts draw from a grandchild), so numbers match theirs only
  statistically. The same seed gives the same MDPs and rewards under both protocols.

Outputs (``--out``, default ``runs/starc_random_mdps/<time>/``): ``config.json``, ``results.csv``
(one row per (R₁, Rᵢ) pair: every distance and the regrets; ``regret_rollout*`` with the paper
protocol), ``correlations.csv`` and ``scatter.png`` (distance vs exact regret, one panel per
family, its L2-L2 variant).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import itertools
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rewardlab.metrics import TabularMDP, canonicalize, dard_distance, epic_distance, regret, starc_distance
from rewardlab.runs import write_atomic, write_json

ORDERS: tuple[float, ...] = (1.0, 2.0, math.inf)
FAMILIES = {"EPIC": "epic", "DARD": "dard", "STARC-VAL": "val", "STARC-minimal": "minimal"}
ZERO_TOL = 1e-9  # rewardlab.metrics' relative zero rule (standardisation and Pearson)
TIE_TOL = 1e-9  # TabularMDP.optimal_policy's tie tolerance
TRIVIAL_TOL = 1e-9  # regret's trivial-reward tolerance
CHECK_TOL = 1e-8


PROTOCOLS = ("exact", "paper")
VI_TOL = 1e-5  # the authors' value-iteration stop: ‖V_{k+1} − V_k‖₂ below this
VI_SWEEPS = 10_000  # and at most this many sweeps
HORIZON_DISCOUNT = 1e-5  # the authors' episode length: the step where γᵗ falls below this


@dataclass
class Config:
    """The experiment's settings; each field is a ``--flag`` (underscores become dashes)."""

    protocol: str = "exact"
    """``exact``: exact regret only; ``paper``: also the paper's rollout regret, side by side."""
    n_mdps: int = 16
    """Random MDPs per run (64 with --protocol paper)."""
    n_rewards: int = 64
    """Reward pairs (R₁, R₂) per MDP (16 with --protocol paper)."""
    runs: int = 1
    """Runs pooled into one table, each of --n-mdps fresh MDPs (3 with --protocol paper)."""
    n_steps: int = 16
    """Interpolation steps i = 1..n_steps from R₁ to R₂ (the paper: 16)."""
    n_states: int = 32
    """|S| (the paper: 32)."""
    n_actions: int = 4
    """|A| (the paper: 4)."""
    gamma: float = 0.95
    """Discount γ (the paper: 0.95)."""
    episodes_per_state: int | None = None
    """--protocol paper: episodes from each start state per return estimate (None: |A|, the paper's)."""
    horizon: int | None = None
    """--protocol paper: steps per episode (None: round(ln 1e-5 / ln γ), the paper's; 224 at γ = 0.95)."""
    seed: int = 0
    """Root seed; MDP k of run r uses child r·n_mdps + k of ``numpy.random.SeedSequence(seed)``."""
    check: int = 1
    """Pairs per MDP recomputed with rewardlab's public functions as a cross-check (0: none)."""
    bootstrap: int = 1000
    """Bootstrap resamples for the 95 % intervals of the correlations."""
    drop_trivial: bool = False
    """Leave out the pairs whose R₁ or R₂ is trivial (c(R) = 0: every policy is optimal; their rollout regret is
    noise over noise, their exact regret 0 by convention)."""
    out: str | None = None
    """Output folder; ``runs/starc_random_mdps/<time>/`` when omitted."""
    quick: bool = False
    """Smoke-run sizes: 2 MDPs x 8 pairs x 16 steps, 1 run, 200 bootstrap resamples (explicit flags win)."""


PROTOCOL_SIZES: dict[str, dict[str, int]] = {"exact": {}, "paper": {"n_mdps": 64, "n_rewards": 16, "runs": 3}}
QUICK = {"n_mdps": 2, "n_rewards": 8, "runs": 1, "bootstrap": 200}


def episode_settings(cfg: Config) -> tuple[int, int]:
    """``(episodes per start state, steps per episode)`` of the rollout regret, defaults resolved."""
    reps = cfg.n_actions if cfg.episodes_per_state is None else cfg.episodes_per_state
    horizon = round(math.log(HORIZON_DISCOUNT) / math.log(cfg.gamma)) if cfg.horizon is None else cfg.horizon
    return reps, horizon


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


# --- the paper's protocol: value-iteration policies, Monte-Carlo returns --------------------------


def value_iteration(t: np.ndarray, gamma: float, r_bar: np.ndarray, tol: float = VI_TOL) -> np.ndarray:
    """Greedy policies ``(B, S)`` of value iteration on ``(B, S, A)`` r̄, as the authors' ``optimize``.

    Each batch element stops on its own, at the first sweep with ``‖V_{k+1} − V_k‖₂ < tol``
    (at most ``VI_SWEEPS``), and acts greedily for that sweep's Q (computed from ``V_k``).
    """
    n_b, n_s, n_a = r_bar.shape
    t_next = t.reshape(n_s * n_a, n_s).T  # V @ t_next = Σ_s' τ(s, a, s') V(s'), flattened (s, a)
    values = np.zeros((n_b, n_s))
    choice = np.zeros((n_b, n_s), dtype=np.int64)
    live = np.arange(n_b)
    for _ in range(VI_SWEEPS):
        q = r_bar[live] + gamma * (values[live] @ t_next).reshape(-1, n_s, n_a)
        new = q.max(axis=2)
        done = np.linalg.norm(values[live] - new, axis=1) < tol
        values[live] = new
        choice[live[done]] = np.argmax(q[done], axis=2)
        live = live[~done]
        if live.size == 0:
            return choice
    print(f"warning: value iteration did not converge for {live.size} rewards in {VI_SWEEPS} sweeps")
    choice[live] = np.argmax(q[~done], axis=2)
    return choice


class TransitionSampler:
    """Draws ``s' ~ τ(s, a, ·)`` for many (s, a) at once, by Walker's alias method (Vose's tables).

    Row ``k = s·|A| + a`` has |S| columns; a draw ``u ~ U[0, 1)`` picks column ``j = ⌊u·|S|⌋`` and
    keeps j when the rest ``u·|S| − j`` (again uniform) is below ``keep[k, j]``, else takes
    ``alias[k, j]``. A next state with τ = 0 has ``keep = 0`` and is never drawn.
    """

    def __init__(self, t: np.ndarray) -> None:
        rows = t.reshape(-1, t.shape[2])
        self.width = rows.shape[1]
        keep = np.ones(rows.shape)
        alias = np.tile(np.arange(self.width), (rows.shape[0], 1))
        for k, row in enumerate(rows):
            scaled = row * (self.width / row.sum())
            small = [j for j in range(self.width) if scaled[j] < 1.0]
            large = [j for j in range(self.width) if scaled[j] >= 1.0]
            while small and large:
                lo, hi = small.pop(), large.pop()
                keep[k, lo], alias[k, lo] = scaled[lo], hi
                scaled[hi] -= 1.0 - scaled[lo]
                (small if scaled[hi] < 1.0 else large).append(hi)
            for j in small:  # only rounding leaves one here, its share 1 up to 1e-15
                if row[j] == 0:  # never draw an impossible state
                    keep[k, j], alias[k, j] = 0.0, int(np.argmax(row))
        self.keep: np.ndarray = keep.ravel()
        self.alias: np.ndarray = alias.ravel()

    def __call__(self, row: np.ndarray, u: np.ndarray) -> np.ndarray:
        x = u * self.width
        col = x.astype(np.int64)
        at = row * self.width + col
        return np.where(x - col < self.keep[at], col, self.alias[at])


def rollout_returns(
    sampler: TransitionSampler,
    policies: np.ndarray,
    rewards: Sequence[np.ndarray],
    reward_of: np.ndarray,
    reps: int,
    horizon: int,
    gamma: float,
    rng: np.random.Generator,
) -> list[np.ndarray]:
    """Monte-Carlo returns of deterministic ``(N, S)`` policies, as the authors' ``policy_returns``.

    Policy n runs ``reps`` episodes from each state (a stratified uniform μ₀), ``horizon`` steps
    each, and its estimate under reward ``rewards[j][reward_of[n]]`` (each ``(P, S, A, S)``) is the
    mean discounted return of those episodes, all rewards read along the same episodes.

    Returns:
        One ``(N,)`` array per reward in ``rewards``.
    """
    n_pol, n_s = policies.shape
    n_a = rewards[0].shape[2]
    per = reps * n_s
    state = np.tile(np.arange(n_s), n_pol * reps)
    owner = np.repeat(np.arange(n_pol), per)
    pol_at = owner * n_s
    flat_pol = policies.ravel()
    reward_at = reward_of[owner] * (n_s * n_a * n_s)
    flats = [r.reshape(-1) for r in rewards]
    totals = [np.zeros(state.size) for _ in rewards]
    disc = 1.0
    for _ in range(horizon):
        row = state * n_a + flat_pol[pol_at + state]
        nxt = sampler(row, rng.random(state.size))
        at = reward_at + row * n_s + nxt
        for total, flat in zip(totals, flats, strict=True):
            total += disc * flat[at]
        state = nxt
        disc *= gamma
    return [total.reshape(n_pol, per).mean(axis=1) for total in totals]


def rollout_regrets(
    r1: np.ndarray, r2: np.ndarray, bmdp: BatchedMDP, steps: np.ndarray, cfg: Config, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The paper's estimates of ``regret(R₁, Rₜ)`` and ``regret(Rₜ, R₁)``, each ``(P, K)``."""
    n_pairs, n_steps = r1.shape[0], steps.size
    reps, horizon = episode_settings(cfg)
    rb1 = np.einsum("sat,psat->psa", bmdp.t, r1)
    rb2 = np.einsum("sat,psat->psa", bmdp.t, r2)
    rbt = (rb1[:, None] + steps[None, :, None, None] * (rb2 - rb1)[:, None]).reshape(-1, bmdp.n_s, bmdp.n_a)
    pi1 = value_iteration(bmdp.t, bmdp.gamma, np.concatenate([rb1, -rb1]))
    pit = value_iteration(bmdp.t, bmdp.gamma, np.concatenate([rbt, -rbt]))
    rep = np.repeat(np.arange(n_pairs), n_steps)  # pair of each flattened (pair, step)
    n_t = rep.size
    # rollout sets: π₁ and π_worst of R₁ once per pair; per step π₁ again, πᵢ and π_worst of Rᵢ
    policies = np.concatenate([pi1, pi1[:n_pairs][rep], pit[:n_t], pit[n_t:]])
    pair_of = np.concatenate([np.arange(n_pairs), np.arange(n_pairs), rep, rep, rep])
    g1, g2 = rollout_returns(TransitionSampler(bmdp.t), policies, [r1, r2], pair_of, reps, horizon, bmdp.gamma, rng)
    frac = np.tile(steps, n_pairs)

    def under_rt(sl: slice) -> np.ndarray:
        return g1[sl] + frac * (g2[sl] - g1[sl])

    j1_best, j1_worst = g1[:n_pairs][rep], g1[n_pairs : 2 * n_pairs][rep]
    a, b, c = (slice(2 * n_pairs + k * n_t, 2 * n_pairs + (k + 1) * n_t) for k in range(3))
    jt_of_1, j1_of_t, jt_best, jt_worst = under_rt(a), g1[b], under_rt(b), under_rt(c)
    span1, span2 = j1_best - j1_worst, jt_best - jt_worst
    forward = (j1_best - j1_of_t) / np.where(span1 == 0, 1.0, span1)
    backward = (jt_best - jt_of_1) / np.where(span2 == 0, 1.0, span2)
    return forward.reshape(n_pairs, n_steps), backward.reshape(n_pairs, n_steps)


# --- the experiment -----------------------------------------------------------------------------


def run(cfg: Config) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Run every MDP of every run; return the per-pair columns (run, mdp, pair, step, regrets, distances)."""
    steps = np.arange(1, cfg.n_steps + 1) / cfg.n_steps
    names = distance_names()
    paper = cfg.protocol == "paper"
    keys = ["run", "mdp", "pair", "step", "trivial", "regret_12", "regret_21"]
    keys += ["regret_rollout_12", "regret_rollout_21"] if paper else []
    cols: dict[str, list[np.ndarray]] = {k: [] for k in [*keys, *names]}
    worst_check = 0.0
    n_total = cfg.runs * cfg.n_mdps
    for m, child in enumerate(np.random.SeedSequence(cfg.seed).spawn(n_total)):
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
        trivial = np.array([is_trivial(a, mdp) or is_trivial(b, mdp) for a, b in zip(r1, r2, strict=True)])
        cols["trivial"].append(np.broadcast_to(trivial[:, None], shape))
        if paper:
            roll_fwd, roll_bwd = rollout_regrets(r1, r2, bmdp, steps, cfg, np.random.default_rng(child.spawn(1)[0]))
            cols["regret_rollout_12"].append(roll_fwd)
            cols["regret_rollout_21"].append(roll_bwd)
        cols["run"].append(np.full(shape, m // cfg.n_mdps))
        cols["mdp"].append(np.full(shape, m))
        cols["pair"].append(np.broadcast_to(np.arange(cfg.n_rewards)[:, None], shape))
        cols["step"].append(np.broadcast_to(np.arange(1, cfg.n_steps + 1)[None, :], shape))
        cols["regret_12"].append(fwd)
        cols["regret_21"].append(bwd)
        for name in names:
            cols[name].append(dists[name])
        if paper and (m + 1) % max(1, n_total // 10) == 0:
            print(f"  {m + 1}/{n_total} MDPs", flush=True)
    if worst_check > CHECK_TOL:
        raise RuntimeError(f"batched values differ from rewardlab.metrics by {worst_check:.3g} (> {CHECK_TOL})")
    if cfg.check:
        print(f"cross-check against rewardlab.metrics public functions: max |diff| = {worst_check:.2g}")
    flat = {k: np.concatenate([np.ravel(v) for v in vs]) for k, vs in cols.items()}
    if cfg.drop_trivial:
        flat = {k: v[flat["trivial"] == 0] for k, v in flat.items()}
    flat["regret"] = 0.5 * (flat["regret_12"] + flat["regret_21"])
    if paper:
        flat["regret_rollout"] = 0.5 * (flat["regret_rollout_12"] + flat["regret_rollout_21"])
    return flat, {name: flat[name] for name in names}


def is_trivial(reward: np.ndarray, mdp: TabularMDP) -> bool:
    """``c_VAL(R) = 0`` up to rewardlab's relative 1e-9: every policy has the same return."""
    return bool(np.abs(canonicalize(reward, mdp, "val")).max() <= ZERO_TOL * np.abs(reward).max())


TARGETS = {"rollout_": "regret_rollout", "": "regret"}  # column prefix -> regret column, when present


def correlations(
    data: dict[str, np.ndarray], dists: dict[str, np.ndarray], n_boot: int, seed: int
) -> list[dict[str, object]]:
    """Pearson r of each distance with regret, and a 95 % cluster-bootstrap interval (clusters = pairs).

    With a ``regret_rollout`` column (the paper protocol) each row also has ``rollout_pearson_r``,
    ``rollout_ci95_low`` and ``rollout_ci95_high``, from the same bootstrap resamples.
    """
    cluster = data["mdp"] * (int(data["pair"].max()) + 1) + data["pair"]
    _, cluster = np.unique(cluster, return_inverse=True)
    n_cl = int(cluster.max()) + 1
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n_cl, np.full(n_cl, 1.0 / n_cl), size=n_boot).astype(float)  # (B, clusters)

    def sums(v: np.ndarray) -> np.ndarray:
        return np.bincount(cluster, weights=v, minlength=n_cl)

    n = counts @ sums(np.ones(cluster.size))
    targets = {prefix: data[col] for prefix, col in TARGETS.items() if col in data}
    moments = {prefix: (counts @ sums(y), counts @ sums(y * y)) for prefix, y in targets.items()}
    rows = []
    for name, x in dists.items():
        parts = name.split("-")
        family = name[: -len("-pearson")] if name.endswith("-pearson") else "-".join(parts[:-2])
        norm, metric = ("pearson", "pearson") if name.endswith("-pearson") else (parts[-2], parts[-1])
        row: dict[str, object] = {"distance": name, "family": family, "norm": norm, "metric": metric}
        sx, sxx = counts @ sums(x), counts @ sums(x * x)
        for prefix, y in targets.items():
            r = float(np.corrcoef(x, y)[0, 1]) if np.std(x) > 0 and np.std(y) > 0 else math.nan
            sy, syy = moments[prefix]
            sxy = counts @ sums(x * y)
            with np.errstate(invalid="ignore", divide="ignore"):
                boot = (n * sxy - sx * sy) / np.sqrt((n * sxx - sx * sx) * (n * syy - sy * sy))
            lo, hi = np.nanpercentile(boot, [2.5, 97.5]) if n_boot else (math.nan, math.nan)
            row.update({f"{prefix}pearson_r": r, f"{prefix}ci95_low": float(lo), f"{prefix}ci95_high": float(hi)})
        rows.append(row)
    rows.sort(key=lambda row: -np.nan_to_num(float(row["pearson_r"]), nan=-2.0))  # type: ignore[arg-type]
    return rows


def write_csv(path: Path, rows: Sequence[dict[str, object]]) -> None:
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(path, buf.getvalue())


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
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=110)
    write_atomic(path, png.getvalue())
    plt.close(fig)


def print_table(rows: list[dict[str, object]]) -> None:
    """The correlations; with rollout columns, r with the rollout regret and with the exact one side by side."""
    prefixes = [prefix for prefix in TARGETS if f"{prefix}pearson_r" in rows[0]]
    heads = {"rollout_": "rollout regret", "": "exact regret"}
    if len(prefixes) == 1:
        print(f"\n{'distance':<22}{'pearson r':>10}  {'95% CI'}")
    else:
        print(f"\n{'':<22}" + "".join(f"{'r with ' + heads[p]:<28}" for p in prefixes))
        print(f"{'distance':<22}" + f"{'r':>7}  {'95% CI':<19}" * len(prefixes))
    for row in rows:
        cells = []
        for prefix in prefixes:
            r, lo, hi = (float(row[f"{prefix}{k}"]) for k in ("pearson_r", "ci95_low", "ci95_high"))  # type: ignore[arg-type]
            cells.append(
                f"{r:>10.3f}  [{lo:.3f}, {hi:.3f}]" if len(prefixes) == 1 else f"{r:>7.3f}  [{lo:.3f}, {hi:.3f}]  "
            )
        print(f"{row['distance']!s:<22}" + "".join(cells).rstrip())


def rollout_summary(data: dict[str, np.ndarray]) -> str:
    """How far the rollout regret is from the exact one, in words: all rows, then without trivial rewards."""
    lines = ["\nrollout regret vs exact regret:"]
    keep = data["trivial"] == 0
    for label, rows in (("all rows", np.ones(keep.size, dtype=bool)), ("no trivial R1, R2", keep)):
        if rows.sum() < 2 or (label != "all rows" and rows.all()):
            continue
        est, exact = data["regret_rollout"][rows], data["regret"][rows]
        outside = (est < 0) | (est > 1)
        lines.append(
            f"  {label} ({rows.mean():.1%}): Pearson r {np.corrcoef(est, exact)[0, 1]:.3f}, mean |difference|"
            f" {np.abs(est - exact).mean():.4f}, {outside.mean():.1%} outside [0, 1] (min {est.min():.3g},"
            f" max {est.max():.3g}), {(np.abs(est - exact) > 0.5).sum()} off by more than 0.5"
        )
    return "\n".join(lines)


def parse(argv: Sequence[str] | None) -> Config:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    docs = _field_docs()
    for field in dataclasses.fields(Config):
        flag = "--" + field.name.replace("_", "-")
        if field.type in ("bool", bool):
            parser.add_argument(flag, action="store_true", help=_escape(docs.get(field.name, "")))
        elif field.name == "protocol":
            parser.add_argument(flag, choices=PROTOCOLS, default=None, help=_escape(docs[field.name]))
        else:
            kind = int if "int" in str(field.type) else float if "float" in str(field.type) else str
            parser.add_argument(
                flag, type=kind, default=None, help=_escape(f"{docs.get(field.name, '')} (default: {field.default})")
            )
    ns = vars(parser.parse_args(argv))
    quick, protocol = ns.pop("quick"), ns.pop("protocol") or Config.protocol
    base = {**dataclasses.asdict(Config()), **PROTOCOL_SIZES[protocol], **(QUICK if quick else {})}
    base.update({k: v for k, v in ns.items() if v is not None})
    cfg = Config(**{**base, "quick": quick, "protocol": protocol})
    for name in ("n_mdps", "n_rewards", "runs", "n_steps", "n_states", "n_actions", "episodes_per_state", "horizon"):
        value = getattr(cfg, name)
        if value is not None and value < 1:
            parser.error(f"`--{name.replace('_', '-')}` must be at least 1 (got {value!r})")
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
    write_json(out / "config.json", dataclasses.asdict(cfg))
    n_pairs = cfg.runs * cfg.n_mdps * cfg.n_rewards * cfg.n_steps
    runs = f"{cfg.runs} runs x " if cfg.runs > 1 else ""
    print(
        f"STARC random-MDP experiment ({cfg.protocol} protocol): {runs}{cfg.n_mdps} MDPs x {cfg.n_rewards} reward"
        f" pairs x {cfg.n_steps} steps = {n_pairs} (R1, Ri) pairs; |S| = {cfg.n_states}, |A| = {cfg.n_actions},"
        f" gamma = {cfg.gamma}"
    )
    if cfg.protocol == "paper":
        reps, horizon = episode_settings(cfg)
        print(f"rollout regret: {reps * cfg.n_states} episodes of {horizon} steps per return estimate")
    start = time.perf_counter()
    data, dists = run(cfg)
    elapsed = time.perf_counter() - start
    if cfg.drop_trivial:
        print(f"left out the pairs with a trivial R1 or R2: {data['mdp'].size} of {n_pairs} (R1, Ri) rows kept")
    regrets = [
        c
        for c in ("regret", "regret_12", "regret_21", *(f"regret_rollout{x}" for x in ("", "_12", "_21")))
        if c in data
    ]
    cols = ["run", "mdp", "pair", "step", "trivial", *regrets, *dists]
    buf = io.StringIO(newline="")
    writer = csv.writer(buf)
    writer.writerow(cols)
    for row in np.column_stack([data[c] for c in cols]):
        writer.writerow([int(v) for v in row[:5]] + [f"{v:.10g}" for v in row[5:]])
    write_atomic(out / "results.csv", buf.getvalue())
    rows = correlations(data, dists, cfg.bootstrap, cfg.seed)
    write_csv(out / "correlations.csv", rows)
    scatter(out / "scatter.png", data, rows)
    print_table(rows)
    if "regret_rollout" in data:
        print(rollout_summary(data))
    total = time.perf_counter() - start
    print(f"\ncompute {elapsed:.1f} s, total {total:.1f} s; files in {out}/")
    return out


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
