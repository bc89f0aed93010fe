"""Does an explicable reward design (EXPRD) speed up learning? Tabular Q-learning, as in the paper.

One command::

    .venv/bin/python scripts/exprd_speed.py              # cliffworld and maze, 20 seeds, 1000 episodes
    .venv/bin/python scripts/exprd_speed.py --quick      # a smoke run, a few seconds

The agent is the paper's (Devidze et al., NeurIPS 2021, §5; the authors' ``q_learning.py``):
tabular Q-learning from Q = 0, learning rate 0.5, ε-greedy exploration with ε = 0.1 (a uniformly
random action with probability ε, else the first greedy action), the env's discount (0.99),
episodes from the env's start distribution, capped at 50 steps and ended by a terminal state. It
learns from one of these rewards of the env's exact MDP (transitions sampled from it):

* ``truth``: the env's own reward (goal +10, cliff −10, −0.1 on every step);
* ``truth w/o step cost``: the goal and cliff terms alone, as sparse as the paper's original
  reward (a goal-only +10); evaluated on the truth like every variant;
* ``shaped(V*)``: the truth plus potential shaping with Φ = V* of the truth (the paper's PBRS
  baseline; Φ = 0 in terminal states), an oracle shaping;
* ``shaped(goal_distance)``: the truth shaped with the suite's potential (minus the path length to the goal);
* ``exprd(B, on)``: :func:`rewardlab.design.explicable` with budget B (default margins and
  horizons), entries on state-action pairs or on entered states.

After every episode the greedy policy (first action on ties) is evaluated **exactly** on the
truth: its normalised return ``(J(π) − J_min) / (J* − J_min)`` from the start distribution, 1 for
an optimal policy, by a linear solve (no evaluation rollouts). "Episodes to optimal" is the first
episode after which the greedy policy's normalised return is at least ``1 − tol`` (default tol
0.01); a seed that never gets there counts as the episode budget (censored, shown in the "reached"
column). With a learning rate of 0.5 on a slippery env the greedy policy keeps flipping between
near-optimal actions, so the area under the normalised-return curve (AUC: its mean over the
episodes, 1 = optimal from the first episode) says more about speed than a first hit.
Statistics over seeds: the interquartile mean (IQM) of episodes to optimal with a 95 %
percentile-bootstrap interval, and the mean AUC and mean normalised return at a few episode counts
with their bootstrap intervals
(:mod:`rewardlab.sweeps._stats`, as the sweep reports compute them). The seeds are shared across
rewards (the same seed index draws the same start states and exploration coins).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import rewardlab as rl
from rewardlab.design import explicable
from rewardlab.errors import ConfigError
from rewardlab.metrics import TabularMDP
from rewardlab.sweeps._stats import bootstrap_ci, iqm


@dataclass(frozen=True)
class Variant:
    """One reward to learn from."""

    name: str
    reward: np.ndarray
    """``(S, A, S)`` as the exact metrics tabulate it (terminal rows 0)."""
    note: str = ""


def _values(mdp: TabularMDP, reward_bar: np.ndarray, policies: np.ndarray) -> np.ndarray:
    """``(n, S)`` exact values of ``n`` deterministic policies ``(n, S)`` under an ``(S, A)`` expected reward."""
    tau = mdp.dense_transitions()
    states = np.arange(mdp.n_states)
    p = tau[states[None, :], policies]  # (n, S, S)
    r = reward_bar[states[None, :], policies]  # (n, S)
    return np.linalg.solve(np.eye(mdp.n_states)[None] - mdp.gamma * p, r[..., None])[..., 0]


def q_learning(
    mdp: TabularMDP,
    reward: np.ndarray,
    terminal: np.ndarray,
    truth_bar: np.ndarray,
    seeds: list[int],
    episodes: int,
    *,
    max_steps: int = 50,
    alpha: float = 0.5,
    epsilon: float = 0.1,
) -> np.ndarray:
    """``(n_seeds, episodes + 1)`` truth returns ``J(π)`` of the greedy policy, before and after each episode.

    All seeds run at once (numpy over the seed axis); seed i draws from ``default_rng(seeds[i])``.
    """
    n, n_s, n_a = len(seeds), mdp.n_states, mdp.n_actions
    rngs = [np.random.default_rng(s) for s in seeds]
    cum = np.cumsum(mdp.dense_transitions(), axis=2)
    cum[..., -1] = 1.0  # rounding: every uniform draw lands in some next state
    start_cum = np.cumsum(mdp.initial)
    start_cum[-1] = 1.0
    q = np.zeros((n, n_s, n_a))
    rows = np.arange(n)
    out = np.empty((n, episodes + 1))
    out[:, 0] = _values(mdp, truth_bar, np.zeros((n, n_s), dtype=int)) @ mdp.initial
    for episode in range(1, episodes + 1):
        u = np.stack([r.random(3 * max_steps + 1) for r in rngs])  # each seed's own stream: start, then 3 per step
        s = np.searchsorted(start_cum, u[:, 0], side="right").clip(max=n_s - 1)
        active = ~terminal[s]
        for t in range(max_steps):
            if not active.any():
                break
            explore = u[:, 1 + 3 * t] < epsilon
            random_action = np.minimum((u[:, 2 + 3 * t] * n_a).astype(int), n_a - 1)
            a = np.where(explore, random_action, np.argmax(q[rows, s], axis=1))
            nxt = (u[:, 3 + 3 * t, None] > cum[s, a]).sum(axis=1).clip(max=n_s - 1)
            done = terminal[nxt]
            target = reward[s, a, nxt] + mdp.gamma * np.where(done, 0.0, q[rows, nxt].max(axis=1))
            q[rows, s, a] += np.where(active, alpha * (target - q[rows, s, a]), 0.0)
            s = np.where(active, nxt, s)
            active &= ~done
        out[:, episode] = _values(mdp, truth_bar, np.argmax(q, axis=2)) @ mdp.initial
    return out


def variants(env: str, budgets: list[int], ons: list[str]) -> list[Variant]:
    """The rewards compared on ``env`` (module docstring); a budget the design cannot meet is skipped with a note."""
    model = rl.metrics.tabular_model(env)
    mdp = model.mdp
    truth = mdp.reward_table(rl.rewards.Env())
    v_star = mdp.evaluate(mdp.optimal_policy(truth), truth)
    phi = np.where(model.terminal, 0.0, v_star)
    live = ~model.terminal[:, None, None]
    shaped_v = truth + np.where(live, mdp.gamma * phi[None, None, :] - phi[:, None, None], 0.0)
    shaped_d = mdp.reward_table(rl.rewards.Shaped(rl.rewards.Env(), potential="goal_distance", gamma=mdp.gamma))
    weights = {name: w for name, w in rl.suite.get(env).ground_truth.items() if name != "step_cost"}
    sparse = mdp.reward_table(rl.rewards.Terms(weights))
    out = [
        Variant("truth", truth),
        Variant("truth w/o step cost", sparse),
        Variant("shaped(V*)", shaped_v),
        Variant("shaped(goal_distance)", shaped_d),
    ]
    for on in ons:
        for budget in budgets:
            name = f"exprd({budget}, {on})"
            try:
                design = explicable(env, budget=budget, on=on)
            except ConfigError as exc:
                out.append(Variant(name, np.empty(0), note=str(exc).split(". ")[0]))
                continue
            out.append(Variant(name, design.reward, note=f"{design.n_entries} entries"))
    return out


def summarise(returns: np.ndarray, best: float, worst: float, tol: float, checkpoints: list[int]) -> dict:
    """Episodes to optimal, the area under the curve and normalised returns at checkpoints, with bootstrap CIs."""
    norm = (returns - worst) / (best - worst)
    episodes = returns.shape[1] - 1
    ok = norm >= 1.0 - tol
    reached = ok.any(axis=1)
    first = np.where(reached, np.argmax(ok, axis=1), episodes)  # the first near-optimal greedy policy
    area = norm[:, 1:].mean(axis=1)  # mean normalised return over the episodes: the area under the curve
    return {
        "episodes_to_optimal_iqm": iqm(first),
        "episodes_to_optimal_iqm_ci": bootstrap_ci(first, iqm),
        "reached": int(reached.sum()),
        "seeds": len(first),
        "auc_mean": float(area.mean()),
        "auc_mean_ci": bootstrap_ci(area),
        "normalised_return": {
            str(c): (float(norm[:, c].mean()), bootstrap_ci(norm[:, c])) for c in checkpoints if c <= episodes
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--envs", nargs="+", default=["cliffworld", "maze"])
    parser.add_argument("--budgets", type=int, nargs="+", default=[1, 3, 6, 12])
    parser.add_argument("--on", nargs="+", default=["state_action", "next_state"], dest="ons")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--tol", type=float, default=0.01, help="near-optimal: normalised return >= 1 - tol")
    parser.add_argument("--out", type=Path, default=None, help="also write the summary (and curves) as JSON here")
    parser.add_argument("--quick", action="store_true", help="a smoke run: cliffworld, 3 seeds, 50 episodes")
    args = parser.parse_args()
    if args.quick:
        args.envs, args.budgets, args.ons, args.seeds, args.episodes = ["cliffworld"], [3], ["state_action"], 3, 50
    checkpoints = [c for c in (10, 25, 50, 100, 250, 500, 1000, 2000) if c <= args.episodes]
    seeds = list(range(args.seeds))
    report: dict = {"config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}}
    for env in args.envs:
        start = time.time()
        model = rl.metrics.tabular_model(env)
        mdp = model.mdp
        truth = mdp.reward_table(rl.rewards.Env())
        truth_bar = mdp.expected_reward(truth)
        best = mdp.expected_return(mdp.optimal_policy(truth), truth)
        worst = mdp.expected_return(mdp.optimal_policy(-truth), truth)
        print(f"\n== {env}: {args.seeds} seeds x {args.episodes} episodes (<= 50 steps)", end="")
        print(f", J* = {best:.3f}, J_min = {worst:.3f}")
        head = f"{'reward':24s} {'episodes to optimal: IQM [95% CI]':>34s} {'reached':>8s} {'AUC [95% CI]':>19s}"
        head += "".join(f" {'@' + str(c):>17s}" for c in checkpoints)
        print(head)
        report[env] = {}
        for variant in variants(env, args.budgets, args.ons):
            if variant.reward.size == 0:
                print(f"{variant.name:24s} skipped: {variant.note}")
                report[env][variant.name] = {"skipped": variant.note}
                continue
            returns = q_learning(mdp, variant.reward, model.terminal, truth_bar, seeds, args.episodes)
            row = summarise(returns, best, worst, args.tol, checkpoints)
            lo, hi = row["episodes_to_optimal_iqm_ci"]
            alo, ahi = row["auc_mean_ci"]
            line = f"{variant.name:24s} {row['episodes_to_optimal_iqm']:>16.1f} [{lo:6.1f}, {hi:6.1f}]"
            line += f" {row['reached']:>4d}/{row['seeds']:<3d} {row['auc_mean']:5.2f} [{alo:4.2f}, {ahi:4.2f}]"
            for c in checkpoints:
                mean, (clo, chi) = row["normalised_return"][str(c)]
                line += f" {mean:5.2f} [{clo:4.2f},{chi:4.2f}]"
            print(line + (f"  ({variant.note})" if variant.note else ""))
            row["curve_mean"] = ((returns - worst) / (best - worst)).mean(axis=0).tolist()
            report[env][variant.name] = row
        print(f"({time.time() - start:.0f} s)")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1), encoding="utf-8")
        print(f"Wrote {args.out}")


if __name__ == "__main__":
    main()
