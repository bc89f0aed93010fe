"""Helpers of the experiment scripts that compute numbers quoted in notes."""

from __future__ import annotations

import csv
import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np

import rewardlab as rl

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses resolve a module by its name
    spec.loader.exec_module(module)
    return module


def test_best_shift_starc_removes_a_constant_shift_on_live_transitions() -> None:
    script = _load("learned_starc_vs_labels")
    model = rl.metrics.tabular_model("cliffworld")
    truth = rl.metrics.reward_table("env", "cliffworld")
    live = ~np.asarray(model.terminal, dtype=bool)[:, None, None] & np.ones(truth.shape, dtype=bool)
    shifted = np.where(live, truth + 0.7, truth)  # a per-step bonus: changes what ending an episode is worth
    assert rl.metrics.starc_distance(shifted, truth, model.mdp) > 0.4  # measured 0.527
    # EPIC sees it too since terminal states are absorbing with zero potential (measured 0.779; 0.035
    # when it read the terminal rows as tabulated, and took the bonus for a removable constant)
    assert rl.metrics.epic_distance(shifted, truth, model.mdp) > 0.4
    assert script._best_shift_starc(shifted, truth, model) < 1e-3
    # positive scaling is already invisible to STARC: the shift search must not undo it
    assert script._best_shift_starc(3.0 * truth, truth, model) < 1e-6


def test_starc_random_mdps_help_lists_every_option() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / "starc_random_mdps.py"), "--help"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    for flag in ("--n-mdps", "--n-rewards", "--bootstrap", "--quick", "--out"):
        assert flag in done.stdout
    assert "95 % intervals" in done.stdout  # the help text argparse used to %-format and crash on


def test_starc_random_mdps_table_has_no_paper_column(capsys) -> None:
    script = _load("starc_random_mdps")
    rows = [{"distance": "STARC-VAL-2-2", "pearson_r": 0.8, "ci95_low": 0.7, "ci95_high": 0.9}]
    script.print_table(rows)
    out = capsys.readouterr().out
    assert "paper" not in out and "n/a" not in out
    assert "STARC-VAL-2-2" in out and "0.800" in out and "[0.700, 0.900]" in out


def _small_mdp(script, seed: int, n_s: int = 5, n_a: int = 2, gamma: float = 0.9):
    rng = np.random.default_rng(seed)
    t = script.random_transitions(rng, n_s, n_a)
    return rng, t, rl.metrics.TabularMDP(t, gamma=gamma)


def test_starc_paper_value_iteration_finds_the_exact_optimal_policies() -> None:
    script = _load("starc_random_mdps")
    rng, t, mdp = _small_mdp(script, 1)
    rewards = rng.standard_normal((6, 5, 2, 5))
    r_bar = np.einsum("sat,psat->psa", t, rewards)
    found = script.value_iteration(t, mdp.gamma, np.concatenate([r_bar, -r_bar]))
    for k, reward in enumerate([*rewards, *-rewards]):
        assert found[k].tolist() == np.asarray(mdp.optimal_policy(reward)).argmax(axis=1).tolist()


def test_starc_paper_rollout_returns_match_exact_returns_within_monte_carlo_error() -> None:
    script = _load("starc_random_mdps")
    rng, t, mdp = _small_mdp(script, 2)
    rewards = rng.standard_normal((2, 5, 2, 5))
    policy = rng.integers(0, 2, size=5)
    copies = 40  # independent estimates of the same two returns, for their standard error
    horizon = round(np.log(1e-5) / np.log(mdp.gamma))
    g1, g2 = script.rollout_returns(
        script.TransitionSampler(t), np.tile(policy, (copies, 1)), [rewards[:1], rewards[1:]], np.zeros(copies, int),
        reps=200, horizon=horizon, gamma=mdp.gamma, rng=rng,
    )  # fmt: skip
    one_hot = np.eye(2)[policy]
    for estimates, reward in ((g1, rewards[0]), (g2, rewards[1])):
        exact = mdp.expected_return(one_hot, reward)  # μ₀ uniform: the mean over start states
        se = estimates.std(ddof=1) / np.sqrt(copies)
        assert 0 < se < 0.05  # returns span several units (|R| ~ 1, 1/(1 − γ) = 10): a bias would show
        assert abs(estimates.mean() - exact) < 5 * se + 1e-4  # 1e-4: the truncation at γ^T = 1e-5


def test_starc_paper_protocol_agrees_with_exact_regret_and_tables_both(tmp_path, capsys, monkeypatch) -> None:
    script = _load("starc_random_mdps")
    # Gaussian rewards: never trivial. A trivial reward (the generator's sparsified ones often are: no
    # entry above 3 on a possible transition) has exact regret 0 by convention and noise over noise in
    # the rollouts, so only non-trivial pairs must agree.
    monkeypatch.setattr(script, "random_reward", lambda rng, n_s, n_a, gamma: rng.standard_normal((n_s, n_a, n_s)))
    args = "--protocol paper --n-states 5 --n-actions 2 --gamma 0.9 --n-mdps 2 --n-rewards 4 --n-steps 4"
    out = script.main([*args.split(), "--episodes-per-state", "400", "--bootstrap", "50", "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert "r with rollout regret" in printed and "r with exact regret" in printed
    rows = list(csv.DictReader((out / "results.csv").read_text().splitlines()))
    assert len(rows) == 3 * 2 * 4 * 4  # the paper's 3 runs pooled, 2 MDPs x 4 pairs x 4 steps each
    assert {r["run"] for r in rows} == {"0", "1", "2"} and len({r["mdp"] for r in rows}) == 6
    exact = np.array([float(r["regret"]) for r in rows])
    rollout = np.array([float(r["regret_rollout"]) for r in rows])
    assert exact.std() > 0.1  # pairs with real regret, not all zeros
    assert np.abs(rollout - exact).max() < 0.05  # 2000 episodes per return: they must agree
    table = {r["distance"]: r for r in csv.DictReader((out / "correlations.csv").read_text().splitlines())}
    for name in ("STARC-VAL-2-2", "EPIC-2-2", "DARD-pearson"):
        assert abs(float(table[name]["rollout_pearson_r"]) - float(table[name]["pearson_r"])) < 0.05


def test_bpref_table_reads_a_teacher_sweep(tmp_path, capsys) -> None:
    from rewardlab.sweeps import SweepSpec, run_sweep

    loop = {"label_budget": 12, "n_iterations": 2, "segment_length": 10, "ensemble": 2, "hidden": [16]}
    loop["reward_epochs"] = 2
    teacher = {t: {"kind": "rlhf", **loop, "oracle": {"kind": "bpref", "teacher": t}} for t in ("oracle", "mistake")}
    spec = SweepSpec.from_dict(
        {
            "name": "bpref_tiny", "envs": ["cartpole_fixed"], "seeds": [0], "timesteps": 256, "eval_episodes": 2,
            "n_envs": 2, "agents": {"ppo": {"n_steps": 32, "batch_size": 64, "n_epochs": 1}},
            "baseline": "ground_truth",
            "variants": {"ground_truth": {"kind": "env"}, **{f"{t}_12": v for t, v in teacher.items()}},
        }
    )  # fmt: skip
    result = run_sweep(spec, runs_dir=tmp_path, workers=1, progress=False)
    assert result.done == 3
    _load("bpref_table").print_tables([result.sweep_dir], 200)
    out = capsys.readouterr().out
    lines = {line.split(" | ")[0]: line for line in out.splitlines() if line.startswith("| ")}
    assert "cartpole_fixed, 12 labels" in lines["| teacher"]
    agreement = [line for line in out.split("Labels that agree")[1].splitlines() if line.startswith("| oracle |")]
    assert agreement[0].split(" | ")[1].startswith("1.000 (")  # the oracle's labels are the truth's order
    cost = out.split("Cost against the oracle")[1].split("Labels that agree")[0]
    assert "| mistake | " in cost and "| oracle |" not in cost  # the oracle is the reference, not a row
    assert "- cartpole_fixed (ppo): score 0 = return " in out  # what 0 and 1 are (min/max here: 256 steps lose)
