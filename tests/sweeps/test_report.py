from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from _sweep_helpers import REWARDS, STEPS

from rewardlab.sweeps._aggregate import aggregate
from rewardlab.sweeps._report import format_summary_table, write_report


def test_report_is_self_contained_with_table_figures_and_errors(sweep_dir: Path) -> None:
    path = write_report(sweep_dir, distances=False)
    assert path == sweep_dir / "report" / "report.html"
    page = path.read_text(encoding="utf-8")
    # Nothing fetched from elsewhere: no external src/href, every image a data URI.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    images = re.findall(r"<img[^>]*>", page)
    assert images and all('src="data:image/png;base64,' in img for img in images)
    assert len(images) == 2  # curves + final returns; no distance figures without distances
    assert '<table class="sortable">' in page and "<script>" in page
    for variant in REWARDS:
        assert variant in page
    assert "RuntimeError: reward exploded at step 1234" in page
    assert "second line of the message" not in page  # only the first line
    assert "2026-01-02T03:04:05" in page and "0.0.test" in page  # creation time, versions
    assert "no_velocity" in page and "&quot;variants&quot;" in page  # the spec, escaped JSON
    pngs = sorted(p.name for p in path.parent.glob("*.png"))
    assert pngs == ["curves_pendulum_sac.png", "final_returns_pendulum_sac.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in path.parent.glob("*.png"))


def test_report_with_distances_has_every_figure(sweep_dir: Path, tmp_path: Path) -> None:
    path = write_report(sweep_dir, out_dir=tmp_path / "out", n_transitions=200)
    assert path.parent == tmp_path / "out"
    pngs = sorted(p.name for p in path.parent.glob("*.png"))
    assert pngs == [
        "curves_pendulum_sac.png",
        "distance_heatmap_pendulum.png",
        "distance_vs_regret_pendulum_sac.png",
        "final_returns_pendulum_sac.png",
    ]
    page = path.read_text(encoding="utf-8")
    assert page.count("<img ") == 4 and page.count("<figcaption>") == 4
    assert "Spearman" in page


def test_report_of_eight_variants_is_fast(sweep_factory: Callable[..., Path]) -> None:
    names = [f"variant_{i}" for i in range(8)]
    rewards = {n: REWARDS["ground_truth"] if i == 0 else REWARDS["no_velocity"] for i, n in enumerate(names)}
    seeds = {n: [0, 1, 2] for n in names}
    curves = {
        (n, s): [-1000.0 + 100 * i + s, -800.0, -600.0, -400.0 + 10 * i] for i, n in enumerate(names) for s in range(3)
    }
    sweep = sweep_factory(
        "big",
        env="pendulum",
        agent="ppo",
        rewards=rewards,
        seeds=seeds,
        env_curves=curves,
        gaps={n: [0.0] * len(STEPS) for n in names},
        baseline="variant_0",
    )
    start = time.perf_counter()
    write_report(sweep, distances=False)
    assert time.perf_counter() - start < 8.0


def test_summary_table_has_aligned_columns_and_the_numbers(sweep_dir: Path) -> None:
    text = format_summary_table(aggregate(sweep_dir, distances=False, write=False))
    lines = text.splitlines()
    assert lines[0] == "pendulum / sac"
    header, rule, *body = lines[1:6]
    assert header.split()[:2] == ["variant", "seeds"]
    assert set(rule) == {"-", " "}
    assert body[0].startswith("ground_truth *")
    assert "-152.5 [" in body[0] and "-155.0" in body[0]
    assert "2 (1 failed, 1 pending)" in body[2]
    assert "97.5" in body[1] and "400.0" in body[1]  # regret, gap
    # Right-aligned number columns end at the same place on every row.
    ends = {line.index("]") for line in body}
    assert len(ends) == 1
    assert lines[-1] == "* baseline (regret reference): ground_truth"


@pytest.mark.parametrize("distances", [False, True], ids=["no-distances", "distances"])
def test_report_of_a_sweep_with_nothing_done_still_renders(sweep_factory: Callable[..., Path], distances: bool) -> None:
    sweep = sweep_factory(
        "nothing",
        env="pendulum",
        agent="sac",
        rewards={"ground_truth": REWARDS["ground_truth"]},
        seeds={"ground_truth": [0]},
        env_curves={},
        gaps={},
        pending={("ground_truth", 0)},
    )
    page = write_report(sweep, distances=distances, n_transitions=50).read_text(encoding="utf-8")
    assert "1 not finished" in page or "0 failed and 1 not finished" in page
    assert "pendulum / sac" in format_summary_table(aggregate(sweep, distances=False, write=False))


def test_report_renders_a_given_summary_without_aggregating_again(sweep_dir: Path, tmp_path: Path) -> None:
    summary = aggregate(sweep_dir, distances=False)
    summary.rows[0]["variant"] = "renamed_for_the_test"  # proves the given summary is the one rendered
    page = write_report(sweep_dir, summary=summary, out_dir=tmp_path).read_text(encoding="utf-8")
    assert "renamed_for_the_test" in page
