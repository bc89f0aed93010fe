from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
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
    # curves, IQM curves, final returns, performance profile; no distance figures without distances
    assert len(images) == 4
    assert '<table class="sortable">' in page and "<script>" in page
    for variant in REWARDS:
        assert variant in page
    assert "RuntimeError: reward exploded at step 1234" in page
    assert "second line of the message" not in page  # only the first line
    assert "2026-01-02T03:04:05" in page and "0.0.test" in page  # creation time, versions
    assert "no_velocity" in page and "&quot;variants&quot;" in page  # the spec, escaped JSON
    pngs = sorted(p.name for p in path.parent.glob("*.png"))
    assert pngs == [
        "curves_pendulum_sac.png",
        "final_returns_pendulum_sac.png",
        "iqm_curves_pendulum_sac.png",
        "performance_profile_sac.png",
    ]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in path.parent.glob("*.png"))
    # Every figure also as SVG for a paper, its text kept as text.
    svgs = sorted(p.name for p in path.parent.glob("*.svg"))
    assert svgs == [name.replace(".png", ".svg") for name in pngs]
    curves_svg = (path.parent / "curves_pendulum_sac.svg").read_text(encoding="utf-8")
    assert curves_svg.lstrip().startswith("<?xml") and "ground-truth return" in curves_svg


def test_report_with_distances_has_every_figure(sweep_dir: Path, tmp_path: Path) -> None:
    path = write_report(sweep_dir, out_dir=tmp_path / "out", n_transitions=200)
    assert path.parent == tmp_path / "out"
    pngs = sorted(p.name for p in path.parent.glob("*.png"))
    assert pngs == [
        "curves_pendulum_sac.png",
        "distance_heatmap_pendulum.png",
        "distance_vs_regret_pendulum_sac.png",
        "final_returns_pendulum_sac.png",
        "iqm_curves_pendulum_sac.png",
        "performance_profile_sac.png",
    ]
    assert len(list(path.parent.glob("*.svg"))) == 6
    page = path.read_text(encoding="utf-8")
    assert page.count("<img ") == 6 and page.count("<figcaption>") == 6
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
    assert "* baseline (regret reference): ground_truth" in lines
    assert lines[-1].startswith("pendulum / sac: optimise ground_truth")


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


def test_report_answers_which_reward_first_and_the_table_scrolls_in_the_page(sweep_dir: Path) -> None:
    page = write_report(sweep_dir, distances=False).read_text(encoding="utf-8")
    answer = page.index("Which reward should I optimise?")
    assert answer < page.index("<h2>Summary</h2>")
    sentence = page[answer : page.index("</div>", answer)]
    assert "optimise <b>ground_truth</b>" in sentence
    assert "significantly worse: no_velocity" in sentence and "Benjamini-Hochberg" in sentence
    # The wide table sits in a box that scrolls sideways instead of overflowing a 1,280 px page.
    assert '<div class="scroll"><table class="sortable">' in page and "overflow-x:auto" in page
    assert "regret 95% CI (paired)" in page and "P(&gt; baseline)" in page
    assert "Across environments" in page and "random/ground-truth" in page


def test_single_seed_variants_show_na_not_a_zero_width_interval(sweep_factory: Callable[..., Path]) -> None:
    seeds = {"ground_truth": [0, 1], "no_velocity": [0]}
    curves = {("ground_truth", 0): [-9.0, -5.0, -3.0, -2.0], ("ground_truth", 1): [-8.0, -4.0, -2.0, -1.0]}
    curves[("no_velocity", 0)] = [-9.0, -6.0, -5.0, -4.0]
    rewards = {k: REWARDS[k] for k in seeds}
    sweep = sweep_factory("single", rewards=rewards, seeds=seeds, env_curves=curves, gaps={})
    summary = aggregate(sweep, distances=False, write=False)
    text = format_summary_table(summary)
    row = next(line for line in text.splitlines() if line.startswith("no_velocity"))
    assert "-4.0 n/a" in row and "[-4.0, -4.0]" not in row
    assert "n/a (fewer than 2 shared seeds" in text
    page = write_report(sweep, distances=False, summary=summary).read_text(encoding="utf-8")
    assert '">n/a</td>' in page and "[-4.0, -4.0]" not in page


def test_report_of_fifty_variants_by_twenty_seeds_is_fast_and_readable(sweep_factory: Callable[..., Path]) -> None:
    names = ["ground_truth"] + [f"variant_{i:02d}" for i in range(49)]
    steps = list(range(0, 10_000, 1000))
    rewards = {n: REWARDS["ground_truth"] if i == 0 else REWARDS["no_velocity"] for i, n in enumerate(names)}
    rng = np.random.default_rng(0)
    curves = {
        (n, s): list(np.linspace(-1000.0, -200.0 - 5 * i, len(steps)) + rng.normal(0, 30, len(steps)))
        for i, n in enumerate(names)
        for s in range(20)
    }
    sweep = sweep_factory(
        "fifty",
        rewards=rewards,
        seeds={n: list(range(20)) for n in names},
        env_curves=curves,
        gaps={},
        steps=steps,
    )
    start = time.perf_counter()
    summary = aggregate(sweep, distances=False, write=False)
    # Warnings are errors here: matplotlib's "axes sizes collapsed to zero" fails the test.
    path = write_report(sweep, distances=False, summary=summary)
    elapsed = time.perf_counter() - start
    assert elapsed < 20.0  # about 5 s alone on one core; the bound leaves room for a busy machine
    svg = (path.parent / "curves_pendulum_sac.svg").read_text(encoding="utf-8")
    # Only the baseline and the top 5 are named in the legend; the other 44 are muted and counted.
    assert svg.count("(baseline)") == 1 and "44 more in grey" in svg
    top = sorted((r for r in summary.rows if not r["is_baseline"]), key=lambda r: -r["env_return_iqm"])[:5]
    assert all(r["variant"] in svg for r in top)
    assert sum(f"variant_{i:02d}" in svg for i in range(49)) == 5


def test_report_shows_the_hacking_flags_and_a_clip_per_variant(tmp_path: Path) -> None:
    """A tiny real sweep on tomato: the flags table per variant, the exact returns and a GIF per variant."""
    import base64
    import csv

    from _trial_helpers import TINY_PPO, tiny_spec

    from rewardlab.monitors import DETECTORS, diagnose
    from rewardlab.sweeps import run_sweep

    sensor = {"kind": "terms", "weights": {"sensor_watered": 1.0}}
    spec = tiny_spec(
        "tomato_tiny", envs=["tomato"], seeds=[0], agents={"ppo": dict(TINY_PPO)}, timesteps=128, eval_freq=32,
        variants={"truth": {"kind": "env"}, "sensor": sensor},
    )  # fmt: skip
    run_sweep(spec, workers=1, runs_dir=tmp_path, progress=False)
    sweep = tmp_path / "tomato_tiny"
    path = write_report(sweep, distances=False)
    page = path.read_text(encoding="utf-8")
    assert "<h2>Reward hacking</h2>" in page
    for detector in DETECTORS:
        assert f"<th>{detector}</th>" in page
    # the table says what diagnose says, run by run
    fired = {run.name: {f.detector for f in flags} for run, flags in diagnose(sweep).items()}
    with open(sweep / "results" / "hacking.csv", encoding="utf-8") as f:
        rows = {r["variant"]: r for r in csv.DictReader(f)}
    for variant in ("truth", "sensor"):
        runs = [name for name in fired if f"__{variant}__" in name]
        for detector in DETECTORS:
            assert int(rows[variant][f"{detector}_runs"]) == sum(detector in fired[r] for r in runs)
        status = json.loads((sweep / runs[0] / "status.json").read_text(encoding="utf-8"))
        assert float(rows[variant]["exact_env_return"]) == pytest.approx(status["exact_env_return"])
    gifs = re.findall(r'<img src="data:image/gif;base64,([^"]+)" alt="clip (\w+)" data-file="([^"]+)">', page)
    assert sorted(v for _, v, _ in gifs) == ["sensor", "truth"]
    for data, _, name in gifs:
        clip = path.parent / name
        assert clip.read_bytes()[:6] == b"GIF89a" and base64.b64decode(data) == clip.read_bytes()
    without = write_report(sweep, distances=False, clips=False, out_dir=tmp_path / "plain").read_text(encoding="utf-8")
    assert "image/gif" not in without and "<th>divergence</th>" in without
    from rewardlab.cli import main

    assert main(["report", str(sweep), "--no-distances", "--no-clips"]) == 0  # the CLI's way to the same page
    page = path.read_text(encoding="utf-8")
    assert "image/gif" not in page and "<th>divergence</th>" in page and not list(path.parent.glob("clip_*.gif"))


def test_a_variant_without_an_agent_gets_a_note_not_a_clip(sweep_dir: Path) -> None:
    page = write_report(sweep_dir, distances=False).read_text(encoding="utf-8")
    assert "image/gif" not in page and "no clip (" in page  # the fabricated trials saved no agent
