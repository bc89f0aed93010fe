from __future__ import annotations

import csv
import json
import math
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from _sweep_helpers import GAPS, REWARDS, STEPS

from rewardlab.errors import ConfigError, UnknownNameError
from rewardlab.sweeps._aggregate import SUMMARY_COLUMNS, SweepSummary, _correlations, aggregate


def _rows(summary: SweepSummary) -> dict[str, dict[str, Any]]:
    return {r["variant"]: r for r in summary.rows}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def test_final_return_statistics_match_a_hand_computation(sweep_dir: Path) -> None:
    rows = _rows(aggregate(sweep_dir, distances=False))
    gt = rows["ground_truth"]
    # finals -200, -160, -150, -100
    assert gt["env_return_mean"] == pytest.approx(-152.5)
    assert gt["env_return_iqm"] == pytest.approx(-155.0)  # middle two: -160, -150
    assert gt["env_return_std"] == pytest.approx(math.sqrt((47.5**2 + 7.5**2 + 2.5**2 + 52.5**2) / 3))
    assert -200.0 <= gt["env_return_ci_low"] < -152.5 < gt["env_return_ci_high"] <= -100.0
    assert rows["no_velocity"]["env_return_mean"] == pytest.approx(-250.0)
    assert rows["no_velocity"]["proxy_return_mean"] == pytest.approx(150.0)  # -250 + 400
    assert rows["shaped"]["env_return_mean"] == pytest.approx(-200.0)


def test_auc_gap_and_regret_match_a_hand_computation(sweep_dir: Path) -> None:
    rows = _rows(aggregate(sweep_dir, distances=False))
    # Trapezoids over steps 0..3000 divided by 3000, seed by seed: -500, -426.67, -460, -350.
    assert rows["ground_truth"]["auc_env_mean"] == pytest.approx((-500 - 1280 / 3 - 460 - 350) / 4)
    # Gap 100, 200, 300, 400 -> trapezoid mean 250; final 400.
    assert rows["no_velocity"]["gap_final"] == pytest.approx(400.0)
    assert rows["no_velocity"]["gap_auc"] == pytest.approx(250.0)
    assert rows["shaped"]["gap_auc"] == pytest.approx(50.0)
    assert rows["ground_truth"]["gap_final"] == 0.0
    assert rows["ground_truth"]["regret"] == 0.0
    assert rows["no_velocity"]["regret"] == pytest.approx(-152.5 - -250.0)
    assert rows["shaped"]["regret"] == pytest.approx(-152.5 - -200.0)
    assert [r["is_baseline"] for r in rows.values()] == [True, False, False]


def test_partial_sweep_counts_failed_and_pending_and_keeps_the_error(sweep_dir: Path) -> None:
    summary = aggregate(sweep_dir, distances=False)
    shaped = _rows(summary)["shaped"]
    assert (shaped["n_seeds"], shaped["n_failed"], shaped["n_pending"]) == (2, 1, 1)
    failed = [t for t in summary.trials if t["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["error"] == "RuntimeError: reward exploded at step 1234"
    assert len(summary.trials) == 4 + 3 + 4


def test_learning_curves_are_mean_and_ci_across_seeds(sweep_dir: Path) -> None:
    summary = aggregate(sweep_dir, distances=False)
    gt = [c for c in summary.curves if c["variant"] == "ground_truth"]
    assert [c["timesteps"] for c in gt] == STEPS
    at_1000 = gt[1]
    assert at_1000["n_seeds"] == 4
    assert at_1000["env_return_mean"] == pytest.approx((-600 - 500 - 550 - 400) / 4)
    assert at_1000["env_return_ci_low"] <= at_1000["env_return_mean"] <= at_1000["env_return_ci_high"]
    nv = [c for c in summary.curves if c["variant"] == "no_velocity"]
    env_means = [c["env_return_mean"] for c in nv]
    assert [c["proxy_return_mean"] - e for c, e in zip(nv, env_means, strict=True)] == pytest.approx(
        GAPS["no_velocity"]
    )
    assert {c["n_seeds"] for c in summary.curves if c["variant"] == "shaped"} == {2}


def test_csv_and_parquet_load_back_with_the_same_values(sweep_dir: Path) -> None:
    summary = aggregate(sweep_dir, distances=False)
    results = sweep_dir / "results"
    table = pq.read_table(results / "summary.parquet")
    assert table.column_names == list(SUMMARY_COLUMNS)
    for got, want in zip(table.to_pylist(), summary.rows, strict=True):
        assert all(_same(got[k], want[k]) for k in SUMMARY_COLUMNS), (got, want)
    with open(results / "summary.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["variant"] for r in rows] == ["ground_truth", "no_velocity", "shaped"]
    assert float(rows[1]["regret"]) == summary.rows[1]["regret"]
    assert rows[0]["distance"] == ""  # NaN is an empty cell
    curves = pq.read_table(results / "curves.parquet").to_pylist()
    assert len(curves) == len(summary.curves) == 3 * len(STEPS)
    assert curves[1]["env_return_mean"] == summary.curves[1]["env_return_mean"]
    with open(results / "trials.csv", encoding="utf-8") as f:
        trials = list(csv.DictReader(f))
    assert [t["status"] for t in trials].count("failed") == 1
    assert (results / "distances.csv").is_file()
    json.dumps(summary.to_dict(), default=str)


def test_sweep_with_no_finished_trial_does_not_crash(sweep_factory: Callable[..., Path]) -> None:
    seeds = {"ground_truth": [0, 1], "no_velocity": [0]}
    pending = {("ground_truth", 0), ("ground_truth", 1), ("no_velocity", 0)}
    rewards = {k: REWARDS[k] for k in seeds}
    sweep = sweep_factory(
        "empty", env="pendulum", agent="sac", rewards=rewards, seeds=seeds, env_curves={}, gaps={}, pending=pending
    )
    summary = aggregate(sweep, distances=False)
    assert [r["n_pending"] for r in summary.rows] == [2, 1]
    assert all(math.isnan(r["env_return_mean"]) and math.isnan(r["regret"]) for r in summary.rows)
    assert summary.curves == []
    assert pq.read_table(sweep / "results" / "curves.parquet").num_rows == 0


def test_without_an_env_reward_variant_regret_is_nan(sweep_factory: Callable[..., Path]) -> None:
    seeds = {"no_velocity": [0], "shaped": [0]}
    curves = {("no_velocity", 0): [-3.0, -2.0, -1.0, 0.0], ("shaped", 0): [-4.0, -3.0, -2.0, -1.0]}
    rewards = {k: REWARDS[k] for k in seeds}
    sweep = sweep_factory(
        "nobase", env="pendulum", agent="sac", rewards=rewards, seeds=seeds, env_curves=curves, gaps=GAPS, baseline=None
    )
    summary = aggregate(sweep, distances=False)
    assert summary.baseline is None
    assert all(math.isnan(r["regret"]) for r in summary.rows)
    # One seed: the interval collapses to the value and the std is undefined.
    r = summary.rows[0]
    assert r["env_return_ci_low"] == r["env_return_ci_high"] == r["env_return_mean"] == 0.0
    assert math.isnan(r["env_return_std"])


def test_seeds_evaluated_at_different_steps_are_interpolated(sweep_factory: Callable[..., Path]) -> None:
    sweep = sweep_factory(
        "interp",
        env="pendulum",
        agent="sac",
        rewards={"ground_truth": REWARDS["ground_truth"]},
        seeds={"ground_truth": [0]},
        env_curves={("ground_truth", 0): [0.0, 10.0, 20.0, 30.0]},
        gaps=GAPS,
    )
    # A second seed evaluated at shifted steps, written by hand.
    other = sweep / "extra"
    shutil.copytree(sweep / "pendulum__ground_truth__sac__s0", other)
    rows = [{"timesteps": t + 500, "eval_env_return": 100.0, "eval_proxy_return": 100.0} for t in STEPS]
    (other / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    meta = json.loads((sweep / "sweep.json").read_text(encoding="utf-8"))
    meta["trials"].append({**meta["trials"][0], "id": "extra", "seed": 1})
    (sweep / "sweep.json").write_text(json.dumps(meta), encoding="utf-8")
    summary = aggregate(sweep, distances=False)
    steps = [c["timesteps"] for c in summary.curves]
    assert steps == [1000, 2000, 3000]  # seed 0's steps inside the range both seeds cover
    assert summary.curves[0]["env_return_mean"] == pytest.approx((10.0 + 100.0) / 2)
    assert any("interpolated" in n for n in summary.notes)


def test_missing_sweep_json_is_rebuilt_from_trial_configs(sweep_dir: Path) -> None:
    (sweep_dir / "sweep.json").unlink()
    summary = aggregate(sweep_dir, distances=False, write=False)
    assert _rows(summary)["ground_truth"]["env_return_mean"] == pytest.approx(-152.5)
    assert summary.baseline == "ground_truth"  # the only variant trained on {"kind": "env"}


def test_not_a_sweep_folder_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="sweep_dir"):
        aggregate(tmp_path / "nope")
    with pytest.raises(ConfigError, match="sweep_dir"):
        aggregate(tmp_path)


def test_distances_on_pendulum_put_the_baseline_at_zero(sweep_dir: Path) -> None:
    start = time.perf_counter()
    summary = aggregate(sweep_dir, n_transitions=200)
    assert time.perf_counter() - start < 10.0
    assert summary.metric == "starc-val"  # the default, as `rewardlab compare`'s
    rows = _rows(summary)
    assert rows["ground_truth"]["distance"] == pytest.approx(0.0, abs=1e-9)
    # sampled STARC-VAL fits V by LSTD on random features, so shaping is removed only approximately
    assert 0 < rows["shaped"]["distance"] < 1e-3
    assert rows["no_velocity"]["distance"] > 0.05
    assert rows["no_velocity"]["distance_exact"] is False
    assert (
        rows["no_velocity"]["distance_ci_low"]
        <= rows["no_velocity"]["distance"]
        <= rows["no_velocity"]["distance_ci_high"]
    )
    (corr,) = summary.distance_correlation
    # distance order (0, ~1e-5, 0.1) is the regret order (0, 47.5, 97.5)
    assert corr["n_variants"] == 3 and corr["metric"] == "starc-val" and corr["rho"] == pytest.approx(1.0)
    assert summary.matrices["pendulum"]["names"][0] == "ground truth (env)"
    with open(sweep_dir / "results" / "distances.csv", encoding="utf-8") as f:
        assert len(list(csv.DictReader(f))) == 6  # 4 rewards -> 6 pairs


def test_epic_distances_on_pendulum_remove_shaping_exactly(sweep_dir: Path) -> None:
    rows = _rows(summary := aggregate(sweep_dir, metric="epic", n_transitions=200, write=False))
    assert rows["ground_truth"]["distance"] == pytest.approx(0.0, abs=1e-9)
    assert rows["shaped"]["distance"] == pytest.approx(0.0, abs=1e-6)  # shaping leaves EPIC at 0
    assert rows["no_velocity"]["distance"] > 0.05
    (corr,) = summary.distance_correlation
    # Distance order (0, 0, 0.1) against regret order (0, 47.5, 97.5): ties share a rank -> rho = sqrt(3)/2.
    assert corr["metric"] == "epic" and corr["rho"] == pytest.approx(math.sqrt(3) / 2)


def test_an_unknown_metric_is_refused_before_any_work(sweep_dir: Path) -> None:
    with pytest.raises(UnknownNameError, match=r"`metric`.*'starc'.*starc-val"):
        aggregate(sweep_dir, metric="starc")
    assert not (sweep_dir / "results").exists()


def test_cli_report_takes_the_metric(sweep_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from rewardlab.cli import main

    assert main(["report", str(sweep_dir), "--metric", "epic", "--no-clips"]) == 0
    assert "EPIC distance" in capsys.readouterr().out
    with open(sweep_dir / "results" / "distances.csv", encoding="utf-8") as f:
        assert {r["metric"] for r in csv.DictReader(f)} == {"epic"}
    assert main(["report", str(sweep_dir), "--metric", "starc"]) == 2
    assert "`--metric`" in capsys.readouterr().err


def test_distances_on_a_tabular_env_are_exact(sweep_factory: Callable[..., Path]) -> None:
    rewards = {
        "ground_truth": {"kind": "env"},
        "no_cliff": {"kind": "terms", "weights": {"goal_reached": 10.0, "step_cost": -0.1}},
        "bogus": {"kind": "terms", "weights": {"no_such_factor": 1.0}},
    }
    seeds = {k: [0, 1] for k in rewards}
    curves = {(k, s): [-10.0 + s, -5.0, 0.0, 5.0 - len(k)] for k in rewards for s in (0, 1)}
    sweep = sweep_factory(
        "cliff",
        env="cliffworld",
        agent="dqn",
        rewards=rewards,
        seeds=seeds,
        env_curves=curves,
        gaps={k: [0.0] * 4 for k in rewards},
    )
    summary = aggregate(sweep)
    rows = _rows(summary)
    assert rows["ground_truth"]["distance"] == 0.0
    nc = rows["no_cliff"]
    assert nc["distance_exact"] is True and 0.0 < nc["distance"] < 1.0
    assert nc["distance_ci_low"] == nc["distance_ci_high"] == nc["distance"]
    # A reward that cannot be built costs only its own distance, with a note.
    assert math.isnan(rows["bogus"]["distance"]) and rows["bogus"]["distance_note"]
    assert any("no_such_factor" in n for n in summary.notes)
    assert summary.distance_correlation[0]["n_variants"] == 2


def _paired_sweep(sweep_factory: Callable[..., Path]) -> Path:
    """Three variants on the same 4 seeds: ``worse`` is 10 below the baseline on every seed, ``noisy`` +-."""
    seeds = {"ground_truth": [0, 1, 2, 3], "worse": [0, 1, 2, 3], "noisy": [0, 1, 2, 3]}
    finals = {"ground_truth": [-200.0, -160.0, -150.0, -100.0]}
    finals["worse"] = [x - 10.0 for x in finals["ground_truth"]]
    finals["noisy"] = [x + d for x, d in zip(finals["ground_truth"], [5.0, -5.0, 7.0, -6.0], strict=True)]
    curves = {(v, s): [-1000.0, -600.0, -300.0, f[s]] for v, f in finals.items() for s in range(4)}
    rewards = {"ground_truth": REWARDS["ground_truth"], "worse": REWARDS["no_velocity"], "noisy": REWARDS["shaped"]}
    return sweep_factory(
        "paired", rewards=rewards, seeds=seeds, env_curves=curves, gaps={v: [0.0] * 4 for v in rewards}
    )


def test_regret_ci_is_paired_over_shared_seeds_and_tested(sweep_factory: Callable[..., Path]) -> None:
    rows = _rows(aggregate(_paired_sweep(sweep_factory), distances=False, write=False))
    worse, noisy = rows["worse"], rows["noisy"]
    assert worse["regret"] == pytest.approx(10.0)  # the point estimate is the difference of the means, as before
    # Paired: 10 on every seed, so the interval has no width though the seeds spread by 100.
    assert worse["regret_ci_low"] == pytest.approx(10.0) and worse["regret_ci_high"] == pytest.approx(10.0)
    assert worse["n_paired"] == 4
    assert math.isnan(worse["regret_paired_p"]) and worse["significant"] is None  # constant differences: untestable
    assert noisy["regret_ci_low"] < noisy["regret"] < noisy["regret_ci_high"] < 10.0
    assert noisy["regret_paired_p"] > 0.5 and noisy["significant"] is False
    # worse -210 -170 -160 -110 against base -200 -160 -150 -100: -210 beats none, -170 beats 1,
    # -160 beats 1 and ties 1, -110 beats 3 -> (0 + 1 + 1.5 + 3) / 16.
    assert worse["poi"] == pytest.approx(5.5 / 16)
    assert worse["poi_ci_low"] <= worse["poi"] <= worse["poi_ci_high"]
    assert math.isnan(rows["ground_truth"]["poi"])


def test_unshared_seeds_give_an_unpaired_regret_ci_around_the_same_regret(sweep_dir: Path) -> None:
    rows = _rows(aggregate(sweep_dir, distances=False, write=False))
    nv = rows["no_velocity"]  # seeds 0-2 against the baseline's 0-3
    assert nv["regret"] == pytest.approx(97.5)
    assert nv["regret_ci_low"] < nv["regret"] < nv["regret_ci_high"]
    assert nv["n_paired"] == 3 and nv["regret_paired_p"] < 0.05 and nv["significant"] is True


def test_iqm_has_an_interval_at_the_end_and_along_the_curve(sweep_dir: Path) -> None:
    summary = aggregate(sweep_dir, distances=False, write=False)
    gt = _rows(summary)["ground_truth"]
    assert gt["env_return_iqm_ci_low"] <= gt["env_return_iqm"] <= gt["env_return_iqm_ci_high"]
    last = [c for c in summary.curves if c["variant"] == "ground_truth"][-1]
    assert last["env_return_iqm"] == pytest.approx(-155.0)
    assert last["env_return_iqm_ci_low"] <= -155.0 <= last["env_return_iqm_ci_high"]


def _random_pendulum_return(n_episodes: int = 50, seed: int = 0) -> float:
    """A uniformly random policy on Pendulum-v1, by hand: seeded reset and action space, 50 episodes."""
    import gymnasium as gym

    env = gym.make("Pendulum-v1")
    env.reset(seed=seed)
    env.action_space.seed(seed)
    returns, total = [], 0.0
    while len(returns) < n_episodes:
        _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        total += float(reward)
        if terminated or truncated:
            returns.append(total)
            total = 0.0
            env.reset()
    return float(np.mean(returns))


def test_overall_scores_are_normalised_from_a_random_policy_to_the_baseline(sweep_dir: Path) -> None:
    summary = aggregate(sweep_dir, distances=False)
    assert "random/ground-truth" in summary.normalisation["pendulum"]
    # 0 = a random policy's mean return over 50 episodes, 1 = the baseline's mean final return (-152.5).
    low = _random_pendulum_return()
    assert -1400 < low < -1000  # Pendulum-v1's random policy, as commonly reported (about -1200)
    assert summary.normalisers["pendulum"] == pytest.approx((low, -152.5))
    overall = {r["variant"]: r for r in summary.overall}
    nv = overall["no_velocity"]
    assert nv["score_iqm"] == pytest.approx((-250.0 - low) / (-152.5 - low))
    assert nv["optimality_gap"] == pytest.approx(1 - nv["score_iqm"])  # every score is below 1
    assert nv["score_iqm_ci_low"] <= nv["score_iqm"] <= nv["score_iqm_ci_high"]
    assert nv["poi"] == pytest.approx(_rows(summary)["no_velocity"]["poi"])  # one env: the same probability
    fractions = [p["fraction"] for p in summary.profiles if p["variant"] == "no_velocity"]
    assert fractions[0] == 1.0 and fractions[-1] == 0.0 and fractions == sorted(fractions, reverse=True)
    assert (sweep_dir / "results" / "overall.csv").is_file() and (sweep_dir / "results" / "profiles.csv").is_file()


def test_correlation_over_all_tied_distances_is_undefined_not_a_number() -> None:
    rows = [{"env": "e", "agent": "a", "distance": 0.2, "regret": g} for g in (0.0, 5.0, 10.0)]
    (corr,) = _correlations(rows, "epic")
    assert math.isnan(corr["rho"]) and math.isnan(corr["rho_ci_low"])
    assert "tied" in corr["rho_note"] and corr["n_variants"] == 3
    rows = [{"env": "e", "agent": "a", "distance": d, "regret": g} for d, g in ((0.1, 1.0), (0.2, 3.0), (0.3, 2.0))]
    (corr,) = _correlations(rows, "epic", n_boot=200)
    assert corr["rho"] == pytest.approx(0.5) and corr["rho_note"] == ""
    assert corr["rho_ci_low"] <= 0.5 <= corr["rho_ci_high"]
