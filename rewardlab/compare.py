"""One comparison: the distance matrix of several reward specs on one env, with intervals.

Owns :func:`compare`, :class:`CompareResult` and :data:`METRICS`.
``compare("pendulum", ["rewards/a.toml", "rewards/b.toml", "env"])`` computes the distance of every
pair of specs and writes, under ``runs/compare/<env>__<metric>__<time>/`` (a
:class:`~rewardlab.runs.RunDir` with its ``status.json``):

* ``distances.csv`` -- one row per pair: ``reward_a, reward_b, value, ci_low, ci_high, n, ...``;
* ``matrix.csv`` -- the symmetric matrix of point values, names as header and first column;
* ``heatmap.png`` -- the matrix as an annotated heatmap;
* ``config.json`` -- the resolved settings (specs as dicts), versions and timing.

On an env with an exact tabular model (``SuiteEnv.tabular``, see
:func:`rewardlab.metrics.tabular_model`) the distances are computed exactly on its MDP (uniform
D_S and D_A for EPIC, uniform π for STARC-VAL) and the intervals collapse to the value. Otherwise
they are estimated from sampled transitions (:func:`rewardlab.metrics.estimate_distances` on
:func:`rewardlab.data.sample_transitions`).

The default metric is STARC-VAL: it is 0 exactly when two rewards order every policy the same way
(up to potential shaping, S'-redistribution and positive scaling), it bounds regret from above and
below (Skalse et al., ICLR 2024), it reads only transitions the env can make, and it sees
termination. EPIC (``metric="epic"``) has none of these guarantees, reads rewards on impossible
transitions, and takes a constant per-step reward (CartPole's +1) for no reward at all.

A distance to a *trivial* reward -- canonical form 0 (STARC) or constant (EPIC), i.e. a reward that
orders no policies for that metric -- is undefined: NaN, with the reason in the
:class:`~rewardlab.metrics.Estimate`'s ``reason`` (:func:`rewardlab.metrics.undefined_reason`),
printed as "undefined" rather than the 0.5 the metric's convention would give.

Layer: above :mod:`rewardlab.metrics`, beside :mod:`rewardlab.training` (neither imports the
other): it imports the metrics, :mod:`rewardlab.rewards`, :mod:`rewardlab.data` (the sampled
transitions) and the ground floor. matplotlib is imported only to draw the heatmap. The sweeps
call it with ``write=False`` for each variant's distance to the ground truth.
"""

from __future__ import annotations

import csv
import io
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from rewardlab import suite
from rewardlab.data import sample_transitions
from rewardlab.errors import ConfigError, message, unknown
from rewardlab.metrics import (
    Estimate,
    epic_distance,
    estimate_distances,
    reward_table,
    starc_distance,
    tabular_model,
    undefined_reason,
)
from rewardlab.rewards import RewardSpec, parse
from rewardlab.runs import RunDir, software_versions, write_atomic

__all__ = ["METRICS", "CompareResult", "compare"]

METRICS = ("starc-val", "epic")
"""The metric names :func:`compare` accepts; the first is the default."""

_TITLES = {"epic": "EPIC", "starc-val": "STARC-VAL"}
UNDEFINED = "undefined"
"""How an undefined distance is printed."""


@dataclass(frozen=True)
class CompareResult:
    """The distances between every pair of compared reward specs."""

    env: str
    """Suite name of the env."""
    metric: str
    """``"starc-val"`` or ``"epic"``."""
    names: tuple[str, ...]
    """One short name per spec (file stem, ``"env"``, or the spec's label), in input order."""
    estimates: tuple[tuple[Estimate, ...], ...]
    """``K x K`` symmetric :class:`~rewardlab.metrics.Estimate` matrix with a zero diagonal (NaN, with a
    ``reason``, for a trivial reward: every distance to it is undefined)."""
    exact: bool
    """True when computed exactly on the env's tabular MDP rather than estimated."""
    seconds: float
    """Wall time of the computation (sampling included)."""
    run_dir: Path | None = None
    """Where the files were written (None when ``write=False``)."""
    config: dict[str, Any] = field(default_factory=dict)
    """The resolved settings, as saved in ``config.json``."""

    @property
    def values(self) -> np.ndarray:
        """``(K, K)`` point values (NaN where undefined)."""
        return np.array([[e.value for e in row] for row in self.estimates])

    @property
    def ci_low(self) -> np.ndarray:
        """``(K, K)`` lower ends of the 95% intervals."""
        return np.array([[e.ci_low for e in row] for row in self.estimates])

    @property
    def ci_high(self) -> np.ndarray:
        """``(K, K)`` upper ends of the 95% intervals."""
        return np.array([[e.ci_high for e in row] for row in self.estimates])

    def pairs(self) -> list[tuple[str, str, Estimate]]:
        """Every unordered pair ``(name_a, name_b, estimate)``, in input order."""
        k = len(self.names)
        return [(self.names[i], self.names[j], self.estimates[i][j]) for i in range(k) for j in range(i + 1, k)]

    def table(self) -> str:
        """A readable text table: the matrix of values, then each pair with its interval."""
        title = _TITLES[self.metric]
        if self.exact:
            how = "exact, on the env's tabular MDP"
        else:
            e = self.estimates[0][1]
            how = f"estimated from {e.n_transitions} transitions"
            if self.metric == "epic":
                how += f", {e.n_canonical_samples} canonical samples"
            how += ", 95% bootstrap CI"
        width = max(len(n) for n in self.names)
        cell = max(8, *(len(n) for n in self.names))
        cell = max(cell, len(UNDEFINED))
        lines = [f"{title} distance on {self.env} ({how}); 0 = equivalent up to shaping and rescaling, 1 = negated", ""]
        lines.append(" " * width + "  " + "  ".join(f"{n:>{cell}}" for n in self.names))
        for name, row in zip(self.names, self.estimates, strict=True):
            lines.append(
                f"{name:<{width}}  "
                + "  ".join(f"{e.value:>{cell}.3f}" if e.defined else f"{UNDEFINED:>{cell}}" for e in row)
            )
        lines.append("")
        pair_width = max(len(f"{a} vs {b}") for a, b, _ in self.pairs())
        for a, b, est in self.pairs():
            if not est.defined:
                lines.append(f"{a + ' vs ' + b:<{pair_width}}  {UNDEFINED}")
                continue
            interval = "(exact)" if self.exact else f"[{est.ci_low:.3f}, {est.ci_high:.3f}]"
            lines.append(f"{a + ' vs ' + b:<{pair_width}}  {est.value:.3f}  {interval}")
        trivial = [f"{UNDEFINED}: {row[i].reason}" for i, row in enumerate(self.estimates) if not row[i].defined]
        if trivial:
            lines += ["", *trivial]
        return "\n".join(lines)


def _spec_name(raw: Any, spec: RewardSpec) -> str:
    if isinstance(raw, (str, Path)):
        return "env" if str(raw) == "env" else Path(str(raw)).stem
    return spec.label


def _unique(names: list[str]) -> tuple[str, ...]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return tuple(out)


def _has_tabular_model(env: suite.SuiteEnv) -> bool:
    return env.tabular is not None


def _tabular_gamma(env: suite.SuiteEnv) -> float:
    return tabular_model(env).mdp.gamma


def compare(
    env: str | suite.SuiteEnv,
    specs: Sequence[RewardSpec | str | Path | Any],
    metric: str = "starc-val",
    n: int = 2000,
    *,
    policy: Any = "random",
    seed: int = 0,
    gamma: float = 0.99,
    n_canonical: int = 256,
    n_bootstrap: int = 200,
    runs_dir: str | Path = "runs",
    write: bool = True,
    trust: bool = False,
) -> CompareResult:
    """Distances between every pair of reward specs on ``env``.

    Args:
        env: suite env name or Gymnasium id.
        specs: two or more reward specs: TOML paths, ``"env"``, dicts or spec objects.
        metric: ``"starc-val"`` (default; see the module docstring for why) or ``"epic"``.
        n: transitions to sample (ignored when the env has an exact tabular model).
        policy: the coverage policy: ``"random"``, an SB3 model, a path to a ``model.zip`` or to
            a transitions ``.npz`` (see :func:`rewardlab.metrics.sample_transitions`).
        seed: seeds the sampling, the canonical draws and the bootstrap.
        gamma: discount of the canonicalisations; use the agent's (shaping specs assume 0.99).
        n_canonical: EPIC's Monte Carlo draws per transition.
        n_bootstrap: bootstrap resamples for the 95% intervals.
        runs_dir: root of the run folders; results go to ``runs_dir/compare/<env>__<metric>__<time>``.
        write: write the files (``distances.csv``, ``matrix.csv``, ``heatmap.png``, ``config.json``).
        trust: let a ``policy`` path be unpickled when nothing else can read it (an SB3 zip without
            its run's ``config.json``): only for files from people you trust.

    Returns:
        A :class:`CompareResult`.

    Raises:
        ConfigError: fewer than 2 specs, a bad ``n``, γ or policy; ``SpecError`` for a bad spec.
        UnknownNameError: unknown ``metric`` or env (the message suggests the closest).
    """
    if metric not in METRICS:
        raise unknown("metric", metric, METRICS, "a distance metric")
    if isinstance(specs, (str, Path)) or len(specs) < 2:
        got = specs if isinstance(specs, (str, Path)) else list(specs)
        raise ConfigError(message("specs", "at least 2 reward specs", got, "Pass e.g. a TOML file and 'env'."))
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 10:
        raise ConfigError(message("n", "an integer >= 10", n, "Pass n=2000 or so; intervals narrow as 1/sqrt(n)."))
    suite_env = suite.get(env)
    parsed = [parse(s) for s in specs]
    names = _unique([_spec_name(raw, spec) for raw, spec in zip(specs, parsed, strict=True)])
    start = time.perf_counter()
    exact = _has_tabular_model(suite_env)
    if exact:
        estimates = _exact_matrix(parsed, suite_env, metric, names)
    else:
        raw_env = suite_env.make()
        try:
            spaces = (raw_env.observation_space, raw_env.action_space)
        finally:
            raw_env.close()
        for spec in parsed:
            spec.check(suite_env, spaces)  # every spec's errors before any of them trains a model
        fns = [spec.build(suite_env, spaces) for spec in parsed]
        transitions = sample_transitions(suite_env, int(n), policy, seed=seed, trust=trust)
        estimates = estimate_distances(
            fns,
            transitions,
            metric,
            gamma=gamma,
            n_canonical=n_canonical,
            n_bootstrap=n_bootstrap,
            seed=seed,
            names=names,
        )
    seconds = time.perf_counter() - start
    config = _config(suite_env, metric, names, parsed, specs, n, policy, seed, gamma, n_canonical, n_bootstrap, exact)
    config["seconds"] = round(seconds, 3)
    result = CompareResult(
        env=suite_env.name,
        metric=metric,
        names=names,
        estimates=tuple(tuple(row) for row in estimates),
        exact=exact,
        seconds=seconds,
        config=config,
    )
    if not write:
        return result
    run = RunDir.create(runs_dir, "compare", None, [suite_env.name, metric])
    run.start()
    _write(result, run)
    run.finish(seconds=round(seconds, 3))
    return replace(result, run_dir=run.path)


def _exact_matrix(
    specs: list[RewardSpec], env: suite.SuiteEnv, metric: str, names: Sequence[str]
) -> list[list[Estimate]]:
    mdp = tabular_model(env).mdp
    tables = [reward_table(spec, env) for spec in specs]
    k = len(tables)
    size = mdp.n_states * mdp.n_actions * mdp.n_states
    method = f"{metric} (exact)"
    why = [undefined_reason(t, mdp, "epic" if metric == "epic" else "val") for t in tables]
    labels = [repr(name) for name in names]
    out = [[Estimate(0.0, 0.0, 0.0, size, 0, method) for _ in range(k)] for _ in range(k)]
    for i in range(k):
        if why[i] is not None:
            out[i][i] = Estimate.trivial([labels[i]], str(why[i]), size, 0, method)
        for j in range(i + 1, k):
            if why[i] is not None or why[j] is not None:
                which = [labels[x] for x in (i, j) if why[x] is not None]
                out[i][j] = out[j][i] = Estimate.trivial(which, str(why[i] or why[j]), size, 0, method)
                continue
            if metric == "epic":
                value = epic_distance(tables[i], tables[j], mdp)
            else:
                value = starc_distance(tables[i], tables[j], mdp, "val")
            out[i][j] = out[j][i] = Estimate(value, value, value, size, 0, method)
    return out


def _config(
    env: suite.SuiteEnv,
    metric: str,
    names: tuple[str, ...],
    parsed: list[RewardSpec],
    raw: Sequence[Any],
    n: int,
    policy: Any,
    seed: int,
    gamma: float,
    n_canonical: int,
    n_bootstrap: int,
    exact: bool,
) -> dict[str, Any]:
    policy_text = policy if isinstance(policy, (str, Path)) else type(policy).__name__
    return {
        "env": env.name,
        "gym_id": env.gym_id,
        "metric": metric,
        "exact": exact,
        "specs": [
            {"name": name, "source": str(src) if isinstance(src, (str, Path)) else None, "spec": spec.to_dict()}
            for name, spec, src in zip(names, parsed, raw, strict=True)
        ],
        "n": None if exact else int(n),
        "policy": None if exact else str(policy_text),
        "seed": seed,
        "gamma": _tabular_gamma(env) if exact else gamma,
        "n_canonical": n_canonical if metric == "epic" and not exact else None,
        "n_bootstrap": None if exact else n_bootstrap,
        "command": " ".join(sys.argv),
        "versions": software_versions(),
    }


def _write(result: CompareResult, run: RunDir) -> None:
    run_dir = run.path
    pairs = io.StringIO()
    writer = csv.writer(pairs, lineterminator="\n")
    writer.writerow(
        ["reward_a", "reward_b", "value", "ci_low", "ci_high", "n", "n_canonical_samples", "method", "reason"]
    )
    for a, b, est in result.pairs():
        writer.writerow(
            [
                a,
                b,
                repr(est.value),
                repr(est.ci_low),
                repr(est.ci_high),
                est.n_transitions,
                est.n_canonical_samples,
                est.method,
                est.reason or "",
            ]
        )
    write_atomic(run_dir / "distances.csv", pairs.getvalue())
    matrix = io.StringIO()
    writer = csv.writer(matrix, lineterminator="\n")
    writer.writerow(["", *result.names])
    for name, row in zip(result.names, result.values, strict=True):
        writer.writerow([name, *(repr(float(v)) for v in row)])
    write_atomic(run_dir / "matrix.csv", matrix.getvalue())
    write_atomic(run_dir / "heatmap.png", _heatmap(result))
    run.write_config(result.config)


def _heatmap(result: CompareResult) -> bytes:
    """The distance matrix as an annotated PNG (value and interval in each cell)."""
    # deferred: matplotlib is only needed to draw the heatmap (the object API: no pyplot state, no GUI backend)
    from matplotlib.figure import Figure

    k = len(result.names)
    side = max(4.5, 1.5 * k + 2.5)
    fig = Figure(figsize=(side + 1.2, side), dpi=120, layout="constrained")
    ax = fig.add_subplot()
    values = result.values
    image = ax.imshow(values, cmap="viridis", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(k), labels=result.names, rotation=30, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(k), labels=result.names)
    font = 10 if k <= 5 else 8
    for i in range(k):
        for j in range(k):
            if not result.estimates[i][j].defined:
                ax.text(j, i, UNDEFINED, ha="center", va="center", color="black", fontsize=font)
                continue
            text = f"{values[i, j]:.3f}"
            if not result.exact and i != j:
                text += f"\n[{result.ci_low[i, j]:.3f}, {result.ci_high[i, j]:.3f}]"
            color = "black" if values[i, j] > 0.6 else "white"
            ax.text(j, i, text, ha="center", va="center", color=color, fontsize=font)
    title = _TITLES[result.metric]
    if result.exact:
        subtitle = "exact (tabular MDP)"
    else:
        e = result.estimates[0][1]
        policy = result.config.get("policy") or "random"
        subtitle = f"{e.n_transitions} transitions of policy {Path(str(policy)).name}, 95% bootstrap CI"
    ax.set_title(f"{title} distance on {result.env}\n{subtitle}", fontsize=11)
    fig.colorbar(image, ax=ax, shrink=0.8, label=f"{title} distance (0 = equivalent)")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
