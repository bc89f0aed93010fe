"""The sweep report: PNG figures and one self-contained HTML page, plus a terminal summary table.

:func:`write_report` aggregates a sweep folder (:func:`~rewardlab.sweeps._aggregate.aggregate`) and
writes the tables under ``<sweep dir>/results/`` and, under ``<sweep dir>/report/``:

* ``curves_<env>_<agent>.png`` -- learning curves per variant: the ground-truth return (top, solid,
  with a 95% CI band across seeds) and the proxy return the agent was trained on (bottom, dashed);
* ``final_returns_<env>_<agent>.png`` -- final ground-truth return per variant, bars with 95% CIs,
  one dot per seed, the baseline hatched;
* ``distance_heatmap_<env>.png`` -- pairwise reward distances of the variants (and the ground truth);
* ``distance_vs_regret_<env>_<agent>.png`` -- each variant's distance to the ground truth against
  its regret, with the Spearman rank correlation in the title;
* ``clip_<env>_<agent>_<variant>.gif`` -- with ``clips``, one short clip per variant: its first
  finished seed's final policy for up to 100 steps, about 200 pixels wide, with the proxy and true
  reward of each step under the frames (:func:`rewardlab.preferences.watch_run`; the agent's
  tensors are loaded, nothing is unpickled). Under a second per gridworld clip, 10-20 s per MuJoCo
  clip on a busy CPU (software OpenGL); an env that cannot render gets a note instead;
* ``report.html`` -- all of the above with captions, the reward-hacking evidence per variant
  (how many seeds each detector of :mod:`rewardlab.monitors` fired on and first when, the exact
  returns on envs with a tabular model, and the clips), a click-to-sort summary table, failed and
  pending trials with their errors, the sweep spec and the software versions. Images are embedded
  as data URIs and the CSS and JS are inline, so the page can be mailed or archived on its own.

The tables and the report are one generation (:mod:`rewardlab.sweeps._publish`): built in a
fresh folder and switched into place at once, so a kill leaves the previous set whole.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rewardlab.errors import RewardLabError
from rewardlab.monitors import DETECTORS
from rewardlab.runs import storage_error, write_atomic
from rewardlab.sweeps._aggregate import SweepSummary, aggregate, write_results
from rewardlab.sweeps._publish import new_generation

__all__ = ["format_summary_table", "which_reward", "write_report"]

_DPI = 110
_NA = "–"


# --- numbers ---------------------------------------------------------------------------------


def _isnan(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _fmt(x: Any, digits: int = 1) -> str:
    """A compact number: 1 decimal for returns (``digits``), 3 significant digits below 1."""
    if _isnan(x):
        return _NA
    x = float(x)
    if x != 0 and abs(x) < 1:
        return f"{x:.3g}"
    return f"{x:.{digits}f}"


def _interval(lo: Any, hi: Any, digits: int = 1) -> str:
    if _isnan(lo) or _isnan(hi):
        return ""
    return f"[{_fmt(lo, digits)}, {_fmt(hi, digits)}]"


def _seed_interval(row: dict[str, Any], lo: str, hi: str, digits: int = 1) -> str:
    """A row's interval, or "n/a" for one seed: a single run has no spread, not a zero-width interval."""
    if row["n_seeds"] == 1:
        return "n/a"
    return _interval(row[lo], row[hi], digits)


def _regret_ci(row: dict[str, Any]) -> str:
    if row["is_baseline"] or _isnan(row.get("regret")):
        return ""
    text = _interval(row.get("regret_ci_low"), row.get("regret_ci_high"))
    return text or "n/a"


def _poi(row: dict[str, Any]) -> str:
    if row["is_baseline"] or _isnan(row.get("poi")):
        return ""
    ci = _interval(row.get("poi_ci_low"), row.get("poi_ci_high"), 2)
    return f"{row['poi']:.2f} {ci or 'n/a'}"


def _seeds(row: dict[str, Any]) -> str:
    text = str(row["n_seeds"])
    extra = []
    if row["n_failed"]:
        extra.append(f"{row['n_failed']} failed")
    if row["n_pending"]:
        extra.append(f"{row['n_pending']} pending")
    return text + (f" ({', '.join(extra)})" if extra else "")


def _distance(row: dict[str, Any]) -> str:
    if _isnan(row["distance"]):
        return "undefined" if str(row.get("distance_note", "")).startswith("undefined") else _NA
    text = f"{row['distance']:.3f}"
    if row.get("distance_exact") is False:
        text += f" [{row['distance_ci_low']:.3f}, {row['distance_ci_high']:.3f}]"
    return text


def format_summary_table(summary: SweepSummary) -> str:
    """A plain-text table of the summary for the terminal, one block per (env, agent).

    Columns: variant (``*`` marks the baseline), seeds done (failed, pending), final env return
    mean with its 95% CI ("n/a" for one seed), IQM, proxy return, gap (final proxy minus env
    return), distance to the ground truth (headed by its metric), regret, the regret's 95% CI
    (paired over shared seeds) and P(variant > baseline) with its CI. Below the table, the "which reward" sentence.

    Args:
        summary: the result of :func:`~rewardlab.sweeps._aggregate.aggregate`.

    Returns:
        The table as one string (no trailing newline).
    """
    header = [
        "variant",
        "seeds",
        "env return [95% CI]",
        "IQM",
        "proxy return",
        "gap",
        f"{summary.metric.upper()} distance",
        "regret",
        "regret 95% CI",
        "P(>base) [95% CI]",
    ]
    lines: list[str] = []
    for env, agent in summary.groups():
        table = [header]
        for row in summary.rows:
            if (row["env"], row["agent"]) != (env, agent):
                continue
            name = row["variant"] + (" *" if row["is_baseline"] else "")
            env_return = _fmt(row["env_return_mean"])
            ci = _seed_interval(row, "env_return_ci_low", "env_return_ci_high")
            table.append(
                [
                    name,
                    _seeds(row),
                    f"{env_return} {ci}".strip(),
                    _fmt(row["env_return_iqm"]),
                    _fmt(row["proxy_return_mean"]),
                    _fmt(row["gap_final"]),
                    _distance(row),
                    _fmt(row["regret"]),
                    _regret_ci(row),
                    _poi(row),
                ]
            )
        widths = [max(len(r[i]) for r in table) for i in range(len(header))]
        if lines:
            lines.append("")
        lines.append(f"{env} / {agent}")
        for k, r in enumerate(table):
            # Text columns flush left, numbers flush right so that digits line up.
            cells = [c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))]
            lines.append("  ".join(cells).rstrip())
            if k == 0:
                lines.append("  ".join("-" * w for w in widths))
    if summary.baseline:
        lines.append(f"* baseline (regret reference): {summary.baseline}")
    lines += [_strip_tags(s) for s in which_reward(summary)]
    return "\n".join(lines)


# --- "which reward should I optimise?" ----------------------------------------------------------


def _strip_tags(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def _names(rows: Sequence[dict[str, Any]]) -> str:
    return ", ".join(html.escape(r["variant"]) for r in rows) or "none"


def which_reward(summary: SweepSummary) -> list[str]:
    """Per (env, agent), in words (HTML): the variants ranked by ground-truth IQM and which differ from the baseline.

    A difference is *significant* when a paired t-test over the seeds shared with the baseline
    rejects "no difference" at a 5% false discovery rate (Benjamini-Hochberg over the variants).
    Variants with one seed cannot be tested and are listed as n/a.
    """
    out = []
    for env, agent in summary.groups():
        rows = [r for r in summary.rows if (r["env"], r["agent"]) == (env, agent) and r["n_seeds"] > 0]
        if not rows:
            continue
        ranked = sorted(rows, key=lambda r: -r["env_return_iqm"] if not _isnan(r["env_return_iqm"]) else math.inf)
        best = ranked[0]
        text = (
            f"<b>{html.escape(env)} / {html.escape(agent)}</b>: optimise <b>{html.escape(best['variant'])}</b> "
            f"(highest ground-truth IQM, {_fmt(best['env_return_iqm'])}"
            + (")" if best["n_seeds"] > 1 else ", from a single seed: n/a for any interval)")
        )
        others = [r for r in rows if not r["is_baseline"]]
        if summary.baseline and any(r["is_baseline"] for r in rows) and others:
            better = [r for r in others if r["significant"] and r["regret"] < 0]
            worse = [r for r in others if r["significant"] and r["regret"] > 0]
            same = [r for r in others if r["significant"] is False]
            untested = [r for r in others if r["significant"] is None]
            text += (
                f". Against the baseline {html.escape(summary.baseline)} (paired t-test over shared seeds, "
                f"Benjamini-Hochberg 5%): significantly better: {_names(better)}; significantly worse: "
                f"{_names(worse)}; not distinguishable: {_names(same)}"
            )
            if untested:
                text += f"; n/a (fewer than 2 shared seeds, or constant differences): {_names(untested)}"
            if not better:
                text += ". No variant beats the baseline significantly"
        top = ", ".join(f"{html.escape(r['variant'])} ({_fmt(r['env_return_iqm'])})" for r in ranked[:5])
        out.append(text + f". Ranking by IQM: {top}{', ...' if len(ranked) > 5 else ''}.")
    return out


# --- figures ---------------------------------------------------------------------------------


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "x"


_TOP_K = 5
"""Variants drawn in colour and named in legends besides the baseline: the best ``_TOP_K`` by ground-truth IQM."""
_MUTED = (0.62, 0.62, 0.62, 1.0)
_BASELINE_COLOR = (0.0, 0.0, 0.0, 1.0)


def _colors(variants: Sequence[str]) -> dict[str, Any]:
    # deferred: matplotlib, only to draw the report's figures
    from matplotlib import colormaps

    cmap = colormaps["tab10" if len(variants) <= 10 else "tab20"]
    return {v: cmap(i % cmap.N) for i, v in enumerate(variants)}


def _highlighted(summary: SweepSummary, agent: str, env: str | None = None) -> list[str]:
    """The baseline and the top :data:`_TOP_K` variants by ground-truth IQM (of ``env``, else over envs)."""
    rows = [r for r in summary.rows if r["agent"] == agent and (env is None or r["env"] == env) and r["n_seeds"]]
    ranked = sorted((r for r in rows if not _isnan(r["env_return_iqm"])), key=lambda r: -float(r["env_return_iqm"]))
    top = [r["variant"] for r in ranked if r["variant"] != summary.baseline][:_TOP_K]
    base = summary.baseline
    return ([base] if base is not None and any(r["variant"] == base for r in rows) else []) + top


class _Style:
    """How a figure draws each variant: up to 10 variants all in colour; more, only the baseline and the best.

    With dozens of variants, one colour each repeats and a legend of 50 entries covers the plot: the
    baseline (black) and the top :data:`_TOP_K` by IQM keep a colour and a legend entry, the rest are thin
    grey lines without a label. Legends go outside the axes, on the right.
    """

    def __init__(self, variants: Sequence[str], highlight: Sequence[str], baseline: str | None) -> None:
        self.many = len(variants) > 10
        self.baseline = baseline
        self.highlight = set(highlight) if self.many else set(variants)
        palette = _colors([v for v in variants if v in self.highlight and v != baseline] if self.many else variants)
        self.colors = {v: palette.get(v, _MUTED) for v in variants}
        if self.many and baseline in self.colors:
            self.colors[baseline] = _BASELINE_COLOR

    def color(self, variant: str) -> Any:
        return self.colors.get(variant, _MUTED) if variant in self.highlight else _MUTED

    def label(self, variant: str) -> str | None:
        if variant not in self.highlight:
            return None
        return variant + (" (baseline)" if variant == self.baseline else "")

    def line(self, variant: str) -> dict[str, Any]:
        """Keyword arguments of ``plot`` for ``variant``: highlighted lines on top, thick, labelled."""
        on = variant in self.highlight
        return {
            "color": self.color(variant),
            "lw": 2.0 if on else 0.8,
            "alpha": 1.0 if on else 0.45,
            "zorder": 3 if on else 1,
            "label": self.label(variant),
        }

    def band(self, variant: str) -> float:
        """The alpha of a variant's CI band (none for muted ones: 40 grey bands are a grey smear)."""
        return 0.18 if variant in self.highlight else 0.0

    def legend(self, ax: Any, n_hidden: int) -> None:
        handles, labels = ax.get_legend_handles_labels()
        if not handles:
            return
        title = f"{n_hidden} more in grey" if self.many and n_hidden else None
        ax.legend(
            handles,
            labels,
            fontsize=8,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            title=title,
            title_fontsize=8,
            frameon=False,
        )


def _style(summary: SweepSummary, variants: Sequence[str], agent: str, env: str | None = None) -> _Style:
    return _Style(variants, _highlighted(summary, agent, env), summary.baseline)


_Figure = tuple[bytes, bytes]
"""A figure as ``(png, svg)``: PNG for the page, SVG (vector, editable text) for a paper."""


def _save(fig: Any) -> _Figure:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI)
    vector = io.BytesIO()
    with _svg_text_as_text():
        fig.savefig(vector, format="svg")
    return buffer.getvalue(), vector.getvalue()


def _svg_text_as_text() -> Any:
    # deferred: matplotlib, only to draw figures. Text kept as text in SVG: searchable and editable in a paper.
    import matplotlib

    return matplotlib.rc_context({"svg.fonttype": "none"})


def _curves_png(summary: SweepSummary, env: str, agent: str, style: _Style) -> _Figure | None:
    # deferred: matplotlib, only to draw figures
    from matplotlib.figure import Figure  # the object API: no pyplot state, no GUI backend

    points = [c for c in summary.curves if c["env"] == env and c["agent"] == agent]
    if not points:
        return None
    fig = Figure(figsize=(10.0, 6.4), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    variants = list(dict.fromkeys(c["variant"] for c in points))
    for variant in variants:
        rows = [c for c in points if c["variant"] == variant]
        t = np.array([c["timesteps"] for c in rows], dtype=float)
        kw = style.line(variant)
        marker = "o" if t.size < 3 else None
        mean = np.array([c["env_return_mean"] for c in rows], dtype=float)
        top.plot(t, mean, marker=marker, **kw)
        if style.band(variant):
            top.fill_between(
                t,
                [c["env_return_ci_low"] for c in rows],
                [c["env_return_ci_high"] for c in rows],
                color=kw["color"],
                alpha=style.band(variant),
                lw=0,
            )
        proxy = np.array([c["proxy_return_mean"] for c in rows], dtype=float)
        if np.isfinite(proxy).any():
            bottom.plot(t, proxy, ls="--", marker=marker, **kw)
            if style.band(variant):
                bottom.fill_between(
                    t,
                    [c["proxy_return_ci_low"] for c in rows],
                    [c["proxy_return_ci_high"] for c in rows],
                    color=kw["color"],
                    alpha=style.band(variant) / 2,
                    lw=0,
                )
    top.set_ylabel("ground-truth return")
    top.set_title(f"{env} / {agent}: learning curves (mean and 95% CI across seeds)", fontsize=11)
    top.grid(alpha=0.3)
    style.legend(top, sum(v not in style.highlight for v in variants))
    bottom.set_ylabel("proxy return (dashed)")
    bottom.set_xlabel("environment steps")
    bottom.set_title("return under each variant's own training reward", fontsize=10)
    bottom.grid(alpha=0.3)
    return _save(fig)


def _banded_lines(
    ax: Any, points: list[dict[str, Any]], style: _Style, keys: tuple[str, str, str, str], step: bool = False
) -> list[str]:
    """One line per variant of ``points`` (``keys`` = x, y, CI low, CI high) with its CI band; the variants drawn."""
    x_key, y_key, lo_key, hi_key = keys
    variants = list(dict.fromkeys(p["variant"] for p in points))
    for variant in variants:
        rows = [p for p in points if p["variant"] == variant]
        x = np.array([p[x_key] for p in rows], dtype=float)
        kw = style.line(variant)
        if step:
            ax.step(x, [p[y_key] for p in rows], where="post", **kw)
        else:
            ax.plot(x, [p[y_key] for p in rows], marker="o" if x.size < 3 else None, **kw)
        lo = np.array([p[lo_key] for p in rows], dtype=float)
        if style.band(variant) and np.isfinite(lo).any():
            band = {"step": "post"} if step else {}
            hi = [p[hi_key] for p in rows]
            ax.fill_between(x, lo, hi, color=kw["color"], alpha=style.band(variant), lw=0, **band)
    return variants


def _iqm_curves_png(summary: SweepSummary, env: str, agent: str, style: _Style) -> _Figure | None:
    """Sample efficiency: IQM across seeds of the ground-truth return vs env steps, with 95% bootstrap bands."""
    # deferred: matplotlib, only to draw figures
    from matplotlib.figure import Figure

    points = [c for c in summary.curves if c["env"] == env and c["agent"] == agent]
    if not points:
        return None
    fig = Figure(figsize=(10.0, 4.2), layout="constrained")
    ax = fig.add_subplot()
    variants = _banded_lines(
        ax, points, style, ("timesteps", "env_return_iqm", "env_return_iqm_ci_low", "env_return_iqm_ci_high")
    )
    ax.set_xlabel("environment steps")
    ax.set_ylabel("IQM ground-truth return")
    ax.set_title(f"{env} / {agent}: sample efficiency (IQM across seeds, 95% bootstrap CI)", fontsize=11)
    ax.grid(alpha=0.3)
    style.legend(ax, sum(v not in style.highlight for v in variants))
    return _save(fig)


def _profile_png(summary: SweepSummary, agent: str, style: _Style) -> _Figure | None:
    """Performance profile: fraction of runs whose normalised final return exceeds each threshold, with bands."""
    # deferred: matplotlib, only to draw figures
    from matplotlib.figure import Figure

    points = [p for p in summary.profiles if p["agent"] == agent]
    if not points:
        return None
    fig = Figure(figsize=(10.0, 4.2), layout="constrained")
    ax = fig.add_subplot()
    variants = _banded_lines(ax, points, style, ("tau", "fraction", "ci_low", "ci_high"), step=True)
    ax.set_xlabel("normalised final ground-truth score τ")
    ax.set_ylabel("fraction of runs with score > τ")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(f"{agent}: performance profile over {len(summary.normalisation)} env(s)", fontsize=11)
    ax.grid(alpha=0.3)
    style.legend(ax, sum(v not in style.highlight for v in variants))
    return _save(fig)


def _final_png(summary: SweepSummary, env: str, agent: str, style: _Style) -> _Figure | None:
    # deferred: matplotlib, only to draw figures
    from matplotlib.figure import Figure

    rows = [r for r in summary.rows if r["env"] == env and r["agent"] == agent and r["n_seeds"] > 0]
    if not rows:
        return None
    fig = Figure(figsize=(8.0, 1.2 + (0.55 if len(rows) <= 10 else 0.28) * len(rows)), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(rows))[::-1]  # first variant on top
    means = np.array([r["env_return_mean"] for r in rows], dtype=float)
    lo = np.array([r["env_return_ci_low"] for r in rows], dtype=float)
    hi = np.array([r["env_return_ci_high"] for r in rows], dtype=float)
    xerr = np.maximum(np.vstack([means - lo, hi - means]), 0.0)  # matplotlib refuses negative extents
    for yi, row, m in zip(y, rows, means, strict=True):
        base = row["is_baseline"]
        ax.barh(
            yi,
            m,
            color=style.color(row["variant"]),
            alpha=0.85,
            edgecolor="black" if base else "none",
            linewidth=1.5,
            hatch="//" if base else None,
        )
        seeds = [
            t["final_env_return"]
            for t in summary.trials
            if (t["env"], t["agent"], t["variant"]) == (env, agent, row["variant"]) and t["status"] == "done"
        ]
        ax.plot(seeds, [yi] * len(seeds), "o", color="black", ms=3.5, alpha=0.7)
    ax.errorbar(means, y, xerr=xerr, fmt="none", ecolor="black", capsize=4, lw=1.2)
    labels = [r["variant"] + (" (baseline)" if r["is_baseline"] else "") for r in rows]
    ax.set_yticks(y, labels=labels, fontsize=9 if len(rows) <= 20 else 7)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_xlabel("final ground-truth return (bar: mean, whiskers: 95% bootstrap CI, dots: seeds)")
    ax.set_title(f"{env} / {agent}: final ground-truth return", fontsize=11)
    ax.grid(axis="x", alpha=0.3)
    return _save(fig)


def _heatmap_png(summary: SweepSummary, env: str) -> _Figure | None:
    # deferred: matplotlib, only to draw figures
    from matplotlib.figure import Figure

    matrix = summary.matrices.get(env)
    if not matrix:
        return None
    names = list(matrix["names"])
    values = np.array(matrix["values"], dtype=float)
    if any(r["variant"] == summary.baseline and r["env"] == env for r in summary.rows):
        # The baseline variant already is the ground truth: drop the duplicate reference row.
        names, values = names[1:], values[1:, 1:]
        lo, hi = np.array(matrix["ci_low"])[1:, 1:], np.array(matrix["ci_high"])[1:, 1:]
    else:
        lo, hi = np.array(matrix["ci_low"]), np.array(matrix["ci_high"])
    k = len(names)
    side = max(4.5, 0.9 * k + 2.5) if k <= 15 else 0.3 * k + 4.0
    fig = Figure(figsize=(side + 1.2, side), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(values, cmap="viridis", vmin=0.0, vmax=1.0)
    tick = 9 if k <= 15 else 6
    ax.set_xticks(
        range(k), labels=names, rotation=30 if k <= 15 else 90, ha="right", rotation_mode="anchor", fontsize=tick
    )
    ax.set_yticks(range(k), labels=names, fontsize=tick)
    font = 9 if k <= 5 else 7
    for i in range(k if k <= 15 else 0):  # no numbers in the cells of a big matrix: they would be unreadable
        for j in range(k):
            text = f"{values[i, j]:.3f}"
            if not matrix["exact"] and i != j and k <= 6:
                text += f"\n[{lo[i, j]:.3f}, {hi[i, j]:.3f}]"
            ax.text(
                j, i, text, ha="center", va="center", color="black" if values[i, j] > 0.6 else "white", fontsize=font
            )
    metric = str(matrix["metric"]).upper()
    how = "exact (tabular MDP)" if matrix["exact"] else f"estimated from {matrix['n_transitions']} random transitions"
    ax.set_title(f"{metric} distance between rewards on {env}\n{how}", fontsize=11)
    fig.colorbar(image, ax=ax, shrink=0.8, label=f"{metric} distance (0 = same up to shaping and scale)")
    return _save(fig)


def _label_offsets(x: np.ndarray, y: np.ndarray) -> list[tuple[float, float]]:
    """Label offsets (points) so that labels of nearby points do not overlap: stacked upwards in a cluster."""
    span_x = float(np.ptp(x)) or 1.0
    span_y = float(np.ptp(y)) or 1.0
    placed: list[tuple[float, float, int]] = []
    out = []
    for xi, yi in zip(x, y, strict=True):
        near = sum(abs(xi - px) / span_x < 0.12 and abs(yi - py) / span_y < 0.06 for px, py, _ in placed)
        placed.append((xi, yi, near))
        out.append((6.0, 5.0 + 11.0 * near))
    return out


def _scatter_png(summary: SweepSummary, env: str, agent: str, style: _Style) -> _Figure | None:
    # deferred: matplotlib, only to draw figures
    from matplotlib.figure import Figure

    rows = [
        r
        for r in summary.rows
        if r["env"] == env and r["agent"] == agent and not _isnan(r["distance"]) and not _isnan(r["regret"])
    ]
    if len(rows) < 2:
        return None
    corr = next((c for c in summary.distance_correlation if c["env"] == env and c["agent"] == agent), None)
    fig = Figure(figsize=(8.0, 5.5), layout="constrained")
    ax = fig.add_subplot()
    rows.sort(key=lambda r: (r["distance"], r["regret"]))
    offsets = _label_offsets(np.array([r["distance"] for r in rows]), np.array([r["regret"] for r in rows]))
    for r, offset in zip(rows, offsets, strict=True):
        d = r["distance"]
        xerr = None
        if r.get("distance_exact") is False:
            # max(0, .): a bootstrap interval need not contain the point estimate (near 0 it often does not).
            xerr = [[max(0.0, d - r["distance_ci_low"])], [max(0.0, r["distance_ci_high"] - d)]]
        yerr = None
        if not _isnan(r.get("regret_ci_low")) and not _isnan(r.get("regret_ci_high")):
            yerr = [[max(0.0, r["regret"] - r["regret_ci_low"])], [max(0.0, r["regret_ci_high"] - r["regret"])]]
        on = r["variant"] in style.highlight
        color = style.color(r["variant"])
        ax.errorbar(d, r["regret"], xerr=xerr, yerr=yerr, fmt="o", color=color, ms=8 if on else 5, capsize=3)
        if on:  # with dozens of variants only the baseline and the best are named
            ax.annotate(r["variant"], (d, r["regret"]), textcoords="offset points", xytext=offset, fontsize=9)
    ax.axhline(0, color="grey", lw=0.8)
    ax.margins(x=0.2, y=0.15)  # room for the labels of the outermost points
    rho = _rho_text(corr)
    ax.set_title(f"{env} / {agent}: reward distance vs regret (Spearman ρ = {rho}, {len(rows)} variants)", fontsize=11)
    ax.set_xlabel(f"{summary.metric.upper()} distance to the ground-truth reward")
    ax.set_ylabel("regret (baseline final return − variant's), 95% CI")
    ax.grid(alpha=0.3)
    return _save(fig)


def _rho_text(corr: dict[str, Any] | None) -> str:
    """Spearman rho with its CI, or "undefined" with the reason (never a number for all-tied distances)."""
    if corr is None:
        return _NA
    if _isnan(corr["rho"]):
        return "undefined" + (f" ({corr['rho_note'].removeprefix('undefined: ')})" if corr.get("rho_note") else "")
    ci = _interval(corr.get("rho_ci_low"), corr.get("rho_ci_high"), 2)
    return f"{corr['rho']:.2f}" + (f" {ci}" if ci else "")


# --- HTML ------------------------------------------------------------------------------------

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
h1{margin-bottom:.2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.8em}
.meta{color:#666;font-size:.9em}
.clips{display:flex;flex-wrap:wrap;gap:1em}.clips figure{margin:.5em 0;max-width:220px}
.scroll{overflow-x:auto;max-width:100%;margin:.8em 0}.scroll table{margin:0}
.answer{background:#eef6ee;border-left:3px solid #3a3;padding:.5em .9em;margin:.5em 0}
table{border-collapse:collapse;font-size:.85em;margin:.8em 0}
th,td{border:1px solid #ddd;padding:.3em .55em;text-align:right;white-space:nowrap}
th{background:#f3f3f3;cursor:pointer;user-select:none}th:hover{background:#e6e6e6}
td.t,th.t{text-align:left}tr.base td{background:#fff8e1}
th.asc::after{content:" ▲"}th.desc::after{content:" ▼"}
figure{margin:1.2em 0}figure img{max-width:100%;border:1px solid #eee}
figcaption{color:#444;font-size:.9em;max-width:900px}
pre{background:#f7f7f7;padding:.8em;overflow-x:auto;font-size:.82em}
.note{background:#fff3f3;border-left:3px solid #d33;padding:.4em .8em;margin:.4em 0}
code{background:#f3f3f3;padding:0 .2em}
"""

_JS = """
document.querySelectorAll("table.sortable").forEach(function(table){
  table.querySelectorAll("th").forEach(function(th, col){
    th.addEventListener("click", function(){
      var body = table.tBodies[0], rows = Array.from(body.rows);
      var asc = !th.classList.contains("asc");
      table.querySelectorAll("th").forEach(function(h){h.classList.remove("asc","desc");});
      th.classList.add(asc ? "asc" : "desc");
      function key(r){var c=r.cells[col], v=c.getAttribute("data-sort"); if(v===null){v=c.textContent;}
        var n=parseFloat(v); return isNaN(n) ? v.toLowerCase() : n;}
      rows.sort(function(a,b){var x=key(a), y=key(b);
        if(typeof x!==typeof y){return (typeof x==="number") ? -1 : 1;}
        return (x<y ? -1 : x>y ? 1 : 0) * (asc ? 1 : -1);});
      rows.forEach(function(r){body.appendChild(r);});
    });
  });
});
"""


def _cell(text: str, sort: Any = None, cls: str = "") -> str:
    attr = ""
    if sort is not None:
        attr = f' data-sort="{"" if _isnan(sort) else html.escape(str(sort))}"'
    klass = f' class="{cls}"' if cls else ""
    return f"<td{klass}{attr}>{html.escape(text)}</td>"


def _summary_table(summary: SweepSummary) -> str:
    heads = [
        ("env", "t"),
        ("agent", "t"),
        ("variant", "t"),
        ("seeds done", ""),
        ("failed", ""),
        ("pending", ""),
        ("final env return", ""),
        ("95% CI", ""),
        ("IQM", ""),
        ("std", ""),
        ("final proxy return", ""),
        ("AUC env return", ""),
        ("gap (final)", ""),
        ("gap (mean over training)", ""),
        ("regret", ""),
        ("regret 95% CI (paired)", ""),
        ("paired p", ""),
        ("P(> baseline) [95% CI]", ""),
        (f"distance ({summary.metric})", ""),
    ]
    # In a scrolling box: 19 columns do not fit a 1,280 px page, and regret and distance must stay reachable.
    out = ['<div class="scroll"><table class="sortable"><thead><tr>']
    out += [f'<th class="{c}">{html.escape(h)}</th>' if c else f"<th>{html.escape(h)}</th>" for h, c in heads]
    out.append("</tr></thead><tbody>")
    for r in summary.rows:
        out.append('<tr class="base">' if r["is_baseline"] else "<tr>")
        name = r["variant"] + (" (baseline)" if r["is_baseline"] else "")
        cells = [
            _cell(r["env"], cls="t"),
            _cell(r["agent"], cls="t"),
            f'<td class="t" title="{html.escape(r["reward"])}">{html.escape(name)}</td>',
            _cell(str(r["n_seeds"]), r["n_seeds"]),
            _cell(str(r["n_failed"]), r["n_failed"]),
            _cell(str(r["n_pending"]), r["n_pending"]),
            _cell(_fmt(r["env_return_mean"]), r["env_return_mean"]),
            _cell(_seed_interval(r, "env_return_ci_low", "env_return_ci_high"), r["env_return_ci_low"]),
            _cell(_fmt(r["env_return_iqm"]), r["env_return_iqm"]),
            _cell(_fmt(r["env_return_std"]), r["env_return_std"]),
            _cell(
                f"{_fmt(r['proxy_return_mean'])} {_seed_interval(r, 'proxy_return_ci_low', 'proxy_return_ci_high')}",
                r["proxy_return_mean"],
            ),
            _cell(_fmt(r["auc_env_mean"]), r["auc_env_mean"]),
            _cell(_fmt(r["gap_final"]), r["gap_final"]),
            _cell(_fmt(r["gap_auc"]), r["gap_auc"]),
            _cell(_fmt(r["regret"]), r["regret"]),
            _cell(_regret_ci(r), r.get("regret_ci_low")),
            _cell(_p_value(r), r.get("regret_paired_p")),
            _cell(_poi(r), r.get("poi")),
            _cell(
                _distance(r)
                if not r["distance_note"] or r["distance_note"].startswith("undefined")
                else f"{_NA} ({r['distance_note']})",
                r["distance"],
            ),
        ]
        out += cells
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _p_value(row: dict[str, Any]) -> str:
    if row["is_baseline"] or _isnan(row.get("regret_paired_p")):
        return "" if row["is_baseline"] else "n/a"
    p = float(row["regret_paired_p"])
    mark = " *" if row.get("significant") else ""
    return (f"{p:.3f}" if p >= 0.001 else "<0.001") + mark


def _overall_table(summary: SweepSummary) -> str:
    """Per (agent, variant) across envs: normalised IQM, optimality gap and P(> baseline), with stratified CIs."""
    if not summary.overall:
        return ""
    heads = [
        "agent",
        "variant",
        "envs",
        "runs",
        "IQM score [95% CI]",
        "optimality gap [95% CI]",
        "P(> baseline) [95% CI]",
    ]
    out = ['<div class="scroll"><table class="sortable"><thead><tr>']
    out += [f'<th class="t">{h}</th>' if i < 2 else f"<th>{html.escape(h)}</th>" for i, h in enumerate(heads)]
    out.append("</tr></thead><tbody>")
    for r in summary.overall:
        out.append('<tr class="base">' if r["is_baseline"] else "<tr>")
        single = r["n_runs"] <= r["n_envs"]
        cells = [
            _cell(r["agent"], cls="t"),
            _cell(r["variant"] + (" (baseline)" if r["is_baseline"] else ""), cls="t"),
            _cell(str(r["n_envs"]), r["n_envs"]),
            _cell(str(r["n_runs"]), r["n_runs"]),
            _cell(
                f"{_fmt(r['score_iqm'], 2)} "
                f"{'n/a' if single else _interval(r['score_iqm_ci_low'], r['score_iqm_ci_high'], 2)}",
                r["score_iqm"],
            ),
            _cell(
                f"{_fmt(r['optimality_gap'], 2)} "
                f"{'n/a' if single else _interval(r['optimality_gap_ci_low'], r['optimality_gap_ci_high'], 2)}",
                r["optimality_gap"],
            ),
            _cell(_poi({**r, "regret": 0.0}), r["poi"]),
        ]
        out += cells
        out.append("</tr>")
    out.append("</tbody></table></div>")
    how = "; ".join(f"{html.escape(env)}: {html.escape(text)}" for env, text in summary.normalisation.items())
    return (
        "<h2>Across environments</h2><p>Final ground-truth returns normalised per env (" + how + "). IQM and "
        "optimality gap (1 minus the mean of min(score, 1): how far the runs fall short of score 1) with 95% "
        "stratified-bootstrap intervals (runs resampled within each env, "
        f"{summary.n_bootstrap} replicates); P(&gt; baseline) is the probability that a run of the variant beats a "
        "run of the baseline on the same env, averaged over envs (0.5: no difference), following Agarwal et al. "
        "2021.</p>" + "".join(out)
    )


def _figure(png: bytes, alt: str, caption: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'
        f"<figcaption>{caption}</figcaption></figure>"
    )


def _intro(summary: SweepSummary) -> str:
    variants = list(dict.fromkeys(r["variant"] for r in summary.rows))
    envs = list(dict.fromkeys(r["env"] for r in summary.rows))
    agents = list(dict.fromkeys(r["agent"] for r in summary.rows))
    n_trials = len(summary.trials)
    n_done = sum(t["status"] == "done" for t in summary.trials)
    baseline = (
        f"The baseline <b>{html.escape(summary.baseline)}</b> is trained on the environment's own reward; "
        "<i>regret</i> is its mean final ground-truth return minus a variant's (positive = the variant does worse)."
        if summary.baseline
        else "This sweep has no baseline variant trained on the environment's own reward, so regret is not defined."
    )
    return f"""<p>This sweep trained <b>{len(variants)}</b> reward variant(s)
({html.escape(", ".join(variants))}) with {html.escape(", ".join(agents))} on {html.escape(", ".join(envs))},
{n_trials} trial(s) in all ({n_done} finished). Each variant trains the agent on a <i>proxy</i> reward (for example
the environment's reward with a term dropped, reweighted or shaped) and every policy is then evaluated on both the
proxy and the environment's <i>ground-truth</i> reward. What matters is the ground-truth return: it says how well the
task is solved. Results are across seeds: the mean, the interquartile mean (IQM, robust to one outlier seed) and a
95% percentile-bootstrap interval (rough with 3-5 seeds). {baseline}</p>
<p>The <i>gap</i> is proxy return minus ground-truth return. It is only meaningful when the proxy is on the same scale
as the environment's reward (a reweighting or shaping of it): a gap that grows during training while the ground-truth
return stalls is a sign of <i>reward hacking</i>, the agent exploiting the proxy. The <i>distance</i> of a variant's
reward to the ground truth ({html.escape(summary.metric.upper())}; 0 = the same reward up to potential shaping and
positive rescaling, so the same optimal policies) is a property of the rewards alone, computed without training; the
distance-vs-regret plots and the Spearman rank correlation ask whether that cheap measure predicts the loss that
training on the proxy actually causes.</p>"""


def _problems(summary: SweepSummary) -> str:
    bad = [t for t in summary.trials if t["status"] != "done"]
    if not bad:
        return "<p>All trials finished.</p>"
    out = ['<table class="sortable"><thead><tr>']
    out += [f'<th class="t">{h}</th>' for h in ("trial", "variant", "seed", "status", "attempts", "error")]
    out.append("</tr></thead><tbody>")
    for t in bad:
        attempts = "" if t.get("attempts") is None else str(t["attempts"])
        out.append(
            "<tr>"
            + "".join(
                _cell(str(v), cls="t")
                for v in (t["id"], t["variant"], "" if t["seed"] is None else t["seed"], t["status"], attempts)
            )
            + f'<td class="t">{html.escape(t["error"] or "")}</td></tr>'
        )
    out.append("</tbody></table>")
    failed = sum(t["status"] == "failed" for t in bad)
    return (
        f"<p>{failed} failed and {len(bad) - failed} not finished (pending or running); they are left out of the "
        "statistics. Rerunning the sweep retries them and keeps the finished trials.</p>" + "".join(out)
    )


_CURVES_CAPTION = (
    "<b>Learning curves.</b> Top: ground-truth (environment) return of each variant's policy, mean across "
    "finished seeds with a shaded 95% bootstrap CI. Bottom, dashed: the same policies' return under their own "
    "proxy reward, the quantity the agent actually optimised; proxies have different scales, so compare the "
    "shapes there, not the levels. A proxy curve that keeps rising while the ground-truth curve falls is "
    "reward hacking."
)
_FINAL_CAPTION = (
    "<b>Final ground-truth return</b> per variant at the last evaluation: bar = mean across seeds, whiskers = "
    "95% bootstrap CI, dots = individual seeds. The hatched bar is the baseline trained on the true reward."
)
_SCATTER_CAPTION = (
    "<b>Distance vs regret.</b> Each point is a variant: its reward's distance to the ground truth "
    "(horizontal, with CI when sampled) against how much ground-truth return training on it lost relative "
    "to the baseline (vertical). A high Spearman ρ means the distance ranks the rewards as training does."
)


def _figure_section(out: Path, name: str, figure: _Figure | None, alt: str, caption: str) -> str:
    """Write one figure as ``out/name`` (PNG) and beside it as SVG; return its HTML; nothing without data."""
    if figure is None:
        return ""
    png, svg = figure
    write_atomic(out / name, png)
    write_atomic(out / (name.removesuffix(".png") + ".svg"), svg)
    return _figure(png, alt, caption)


_IQM_CAPTION = (
    "<b>Sample efficiency.</b> Interquartile mean across seeds of the ground-truth return at each evaluation, "
    "with a 95% bootstrap band: robust to one outlier seed, and a curve that rises earlier reaches the same "
    "return with fewer environment steps."
)
_PROFILE_CAPTION = (
    "<b>Performance profile</b> (Agarwal et al. 2021): for each normalised score τ, the fraction of all runs "
    "(every env and seed) whose final ground-truth score is above τ, with a 95% stratified-bootstrap band. "
    "A profile that lies above another everywhere is better at every threshold."
)


def _group_sections(summary: SweepSummary, out: Path) -> list[str]:
    """Per (env, agent): a heading, the learning curves, the IQM sample-efficiency curves and the final returns."""
    sections = []
    for env, agent in summary.groups():
        slug = f"{_slug(env)}_{_slug(agent)}"
        variants = list(dict.fromkeys([r["variant"] for r in summary.rows if (r["env"], r["agent"]) == (env, agent)]))
        style = _style(summary, variants, agent, env)
        sections.append(f"<h3>{html.escape(env)} / {html.escape(agent)}</h3>")
        curves = _curves_png(summary, env, agent, style)
        sections.append(
            _figure_section(out, f"curves_{slug}.png", curves, f"learning curves {env} {agent}", _CURVES_CAPTION)
        )
        iqm_curves = _iqm_curves_png(summary, env, agent, style)
        sections.append(
            _figure_section(out, f"iqm_curves_{slug}.png", iqm_curves, f"IQM curves {env} {agent}", _IQM_CAPTION)
        )
        final = _final_png(summary, env, agent, style)
        sections.append(
            _figure_section(out, f"final_returns_{slug}.png", final, f"final returns {env} {agent}", _FINAL_CAPTION)
        )
    return sections


def _profile_sections(summary: SweepSummary, out: Path) -> list[str]:
    """Per agent: the performance profile over every env."""
    sections = []
    for agent in dict.fromkeys(p["agent"] for p in summary.profiles):
        variants = list(dict.fromkeys(p["variant"] for p in summary.profiles if p["agent"] == agent))
        profile = _profile_png(summary, agent, _style(summary, variants, agent))
        how = "; ".join(f"{html.escape(e)}: {html.escape(t)}" for e, t in summary.normalisation.items())
        caption = f"{_PROFILE_CAPTION} Normalisation: {how}."
        sections.append(
            _figure_section(out, f"performance_profile_{_slug(agent)}.png", profile, f"profile {agent}", caption)
        )
    return sections


def _distance_sections(summary: SweepSummary, out: Path) -> list[str]:
    """A distance heatmap per env, then a distance-vs-regret scatter per (env, agent)."""
    sections = []
    for env in dict.fromkeys(r["env"] for r in summary.rows):
        matrix = summary.matrices.get(env)
        how = "exactly on the tabular MDP" if matrix and matrix["exact"] else "on sampled random transitions"
        caption = (
            f"<b>Reward distances on {html.escape(env)}</b> ({summary.metric.upper()}, computed {how}). "
            "Each cell compares two variants' rewards: 0 means they induce the same optimal behaviour (equal up to "
            "potential shaping and positive scale), 1 means opposite rewards."
        )
        heatmap = _heatmap_png(summary, env)
        sections.append(
            _figure_section(out, f"distance_heatmap_{_slug(env)}.png", heatmap, f"distance heatmap {env}", caption)
        )
    for env, agent in summary.groups():
        name = f"distance_vs_regret_{_slug(env)}_{_slug(agent)}.png"
        variants = list(dict.fromkeys([r["variant"] for r in summary.rows if (r["env"], r["agent"]) == (env, agent)]))
        scatter = _scatter_png(summary, env, agent, _style(summary, variants, agent, env))
        sections.append(_figure_section(out, name, scatter, f"distance vs regret {env} {agent}", _SCATTER_CAPTION))
    return sections


_HACKING_CAPTION = (
    "<b>Reward hacking, per variant.</b> Each detector of <code>rewardlab.monitors</code> (rules and thresholds: "
    "<code>python -m pydoc rewardlab.monitors</code>) reruns over every evaluation of every finished seed: "
    "<i>k/n</i> is the number of seeds it fired on, with the earliest step it fired at. On an env with an exact "
    "tabular model the last evaluation's exact discounted returns of the policy (its action distribution) are "
    "given, and the exact regret (0: optimal for the ground truth, 1: the worst policy). "
    "<code>rewardlab diagnose SWEEP_DIR</code> lists every flag with its evidence."
)
CLIP_STEPS = 100
"""Steps (frames) of a report clip."""
CLIP_WIDTH = 200
"""Width in pixels of a report clip."""


def _flag_cell(row: dict[str, Any], detector: str) -> str:
    fired, n = int(row.get(f"{detector}_runs") or 0), int(row["n_runs"])
    if not fired:
        return _cell(f"0/{n}", 0)
    return _cell(f"{fired}/{n} (from step {row[f'{detector}_first_step']})", fired)


def _hacking_table(rows: Sequence[dict[str, Any]]) -> str:
    exact = any(not _isnan(r.get("exact_env_return")) for r in rows)
    heads = ["variant", "seeds"] + (["exact true return", "exact proxy return", "exact regret"] if exact else [])
    out = ['<div class="scroll"><table class="sortable"><thead><tr>']
    out += [f'<th class="t">{h}</th>' for h in heads[:1]] + [f"<th>{h}</th>" for h in heads[1:]]
    out += [f"<th>{html.escape(d)}</th>" for d in DETECTORS]
    out.append("</tr></thead><tbody>")
    for r in rows:
        cells = [_cell(r["variant"], cls="t"), _cell(str(r["n_runs"]), r["n_runs"])]
        if exact:
            cells += [
                _cell(_fmt(r.get(k), 2 if k == "exact_regret" else 1), r.get(k))
                for k in ("exact_env_return", "exact_proxy_return", "exact_regret")
            ]
        cells += [_flag_cell(r, d) for d in DETECTORS]
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _clip(summary: SweepSummary, env: str, agent: str, variant: str, out: Path) -> str:
    """One variant's clip as an HTML figure (its first finished seed), or a note saying why there is none."""
    done = [
        t
        for t in summary.trials
        if (t["env"], t["agent"], t["variant"]) == (env, agent, variant) and t["status"] == "done"
    ]
    trial = min(done, key=lambda t: t["seed"] if isinstance(t["seed"], int) else 0, default=None)
    label = html.escape(variant)
    if trial is None:
        return f'<div class="note">{label}: no clip (no finished seed).</div>'
    # deferred: the renderer loads SB3, torch and the env's renderer, only when a clip is drawn
    from rewardlab.preferences import watch_run

    name = f"clip_{_slug(env)}_{_slug(agent)}_{_slug(variant)}.gif"
    try:
        path, totals = watch_run(
            summary.sweep_dir / trial["id"], out / name, steps=CLIP_STEPS, seed=0, fps=10, width=CLIP_WIDTH
        )
    except (RewardLabError, OSError) as exc:
        reason = html.escape(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        return f'<div class="note">{label}: no clip ({reason}).</div>'
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    caption = (
        f"<b>{label}</b>, seed {html.escape(str(trial['seed']))}: {totals['steps']:.0f} steps, "
        f"proxy return {totals['proxy_return']:.1f}, true return {totals['true_return']:.1f}"
    )
    return (
        f'<figure class="clip"><img src="data:image/gif;base64,{data}" alt="clip {label}" '
        f'data-file="{html.escape(name)}"><figcaption>{caption}</figcaption></figure>'
    )


def _hacking_sections(summary: SweepSummary, out: Path, clips: bool) -> list[str]:
    """Per (env, agent): the detector flags and exact returns per variant, then a clip per variant."""
    sections = []
    for env, agent in summary.groups():
        rows = [r for r in summary.hacking if (r["env"], r["agent"]) == (env, agent)]
        if not rows:
            continue
        sections.append(f"<h3>{html.escape(env)} / {html.escape(agent)}</h3><p>{_HACKING_CAPTION}</p>")
        sections.append(_hacking_table(rows))
        if clips:
            sections.append(
                '<div class="clips">' + "".join(_clip(summary, env, agent, r["variant"], out) for r in rows)
            )
            sections.append("</div>")
    return sections


def _correlation_list(summary: SweepSummary) -> str:
    """The Spearman rho of each (env, agent) as an HTML list; empty without distances."""
    if not summary.distance_correlation:
        return ""
    items = "".join(
        f"<li>{html.escape(c['env'])} / {html.escape(c['agent'])}: Spearman ρ(distance, regret) = "
        f"{html.escape(_rho_text(c))} over {c['n_variants']} variants (95% CI: bootstrap over variants)</li>"
        for c in summary.distance_correlation
    )
    return f"<ul>{items}</ul>"


def _results_line(summary: SweepSummary) -> str:
    """Where the tables were written, if they were."""
    if not summary.results_dir:
        return ""
    return (
        f"<p>Tables: <code>{html.escape(str(summary.results_dir))}</code> (summary, curves, trials, distances; CSV and "
        "Parquet).</p>"
    )


def _answer(summary: SweepSummary) -> str:
    """The answer to "which reward should I optimise?", first on the page."""
    lines = which_reward(summary)
    if not lines:
        return ""
    items = "".join(f"<p>{line}</p>" for line in lines)
    return f'<div class="answer"><b>Which reward should I optimise?</b>{items}</div>'


def _page(summary: SweepSummary, figures: str, hacking: str = "") -> str:
    """The whole HTML page around the figures' sections."""
    notes = "".join(f'<div class="note">{html.escape(n)}</div>' for n in summary.notes)
    title = f"Reward ablation sweep: {summary.name}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_CSS}</style></head><body>
<h1>{html.escape(title)}</h1>
<p class="meta">created {html.escape(summary.created or "unknown")} · report by rewardlab
{html.escape(str(summary.versions.get("rewardlab", "")))}</p>
{_answer(summary)}
{_intro(summary)}
<h2>Summary</h2>
<p>One row per environment, agent and reward variant; click a column header to sort. Hover a variant for its reward
spec.</p>
{_summary_table(summary)}
{_correlation_list(summary)}{notes}{_results_line(summary)}
{_overall_table(summary)}
<h2>Figures</h2>
{figures}
{"<h2>Reward hacking</h2>" + hacking if hacking else ""}
<h2>Failed and unfinished trials</h2>
{_problems(summary)}
<h2>Sweep spec</h2>
<pre>{html.escape(json.dumps(summary.spec, indent=2, default=str))}</pre>
<h2>Software versions</h2>
<pre>{html.escape(json.dumps(summary.versions, indent=2, default=str))}</pre>
<script>{_JS}</script>
</body></html>
"""


def write_report(
    sweep_dir: str | Path,
    *,
    distances: bool = True,
    out_dir: str | Path | None = None,
    metric: str = "starc-val",
    n_transitions: int = 2000,
    seed: int = 0,
    summary: SweepSummary | None = None,
    clips: bool = True,
) -> Path:
    """Aggregate a sweep and write its tables, PNG figures and a self-contained ``report.html``.

    The tables (``<sweep_dir>/results/``) and the report (``<sweep_dir>/report/``) are written as
    one generation: a kill at any point leaves the previous tables and report, both whole.

    Args:
        sweep_dir: the sweep folder (``runs/<sweep name>``).
        distances: compute reward distances (heatmap, distance-vs-regret); a few seconds per
            sampled env. False skips that work and keeps the distances the last report computed
            (for the envs whose variants did not change), figures included.
        out_dir: write the page and its figures there instead, and nothing in the sweep folder.
        metric: reward distance metric, ``"starc-val"`` (default) or ``"epic"``.
        n_transitions: transitions sampled for the distances on non-tabular envs.
        seed: seeds the bootstrap intervals and the distance sampling.
        summary: an :func:`~rewardlab.sweeps._aggregate.aggregate` result to render instead of
            aggregating again (the CLI aggregates once, then prints :func:`format_summary_table`).
        clips: render one short clip per variant (module docstring: under a second per gridworld
            variant, 10-20 s per MuJoCo one); False leaves them out and keeps the report fast.

    Returns:
        The path of ``report.html``.

    Raises:
        ConfigError: ``sweep_dir`` is not a sweep folder (or its ``sweep.json`` is corrupt).
        RunBusyError: another live process is writing the sweep's report.
        StorageError: the files cannot be written (full disk, permission): the old ones are kept.
    """
    if summary is None:
        summary = aggregate(
            sweep_dir, distances=distances, metric=metric, n_transitions=n_transitions, seed=seed, write=False
        )
    if out_dir is not None:
        out = Path(out_dir)
        try:
            out.mkdir(parents=True, exist_ok=True)
            return _render(summary, out, clips)
        except OSError as exc:
            raise storage_error(exc, out, "out_dir") from None
    sweep = Path(sweep_dir)
    with new_generation(sweep) as generation:
        summary.results_dir = sweep / "results"
        try:
            write_results(summary, generation.results, generation.previous_results)
            _render(summary, generation.report, clips)
        except OSError as exc:
            raise storage_error(exc, sweep / "report", "sweep_dir") from None
    return sweep / "report" / "report.html"


def _render(summary: SweepSummary, out: Path, clips: bool = True) -> Path:
    """Write the figures (and clips) and ``report.html`` of ``summary`` into ``out``; the page's path."""
    sections = _group_sections(summary, out) + _profile_sections(summary, out)
    if summary.matrices or any(not _isnan(r.get("distance")) for r in summary.rows):
        sections += _distance_sections(summary, out)
    path = out / "report.html"
    write_atomic(path, _page(summary, "".join(sections), "".join(_hacking_sections(summary, out, clips))))
    return path
