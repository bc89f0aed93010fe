"""``rewardlab design``: writes a spec that loads and trains, errors exit 2, ``--help`` stays light."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import rewardlab as rl
from rewardlab.cli import main

ROOT = Path(rl.__file__).resolve().parents[1]


def test_design_writes_a_table_spec_with_the_entries_in_words(tmp_path, capsys):
    out = tmp_path / "cliffworld_exprd.toml"
    assert main(["design", "--env", "cliffworld", "--budget", "3", "--horizons", "1", "4", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "every optimal policy takes only target actions: yes" in printed
    assert f"rewardlab train --env cliffworld --reward {out}" in printed
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# An explicable reward design")
    assert "# rewardlab design --env cliffworld --budget 3 --horizons 1 4 --out" in text
    spec = rl.rewards.load(out)
    assert spec.kind == "table" and spec.env == "cliffworld" and 1 <= len(spec.entries) <= 3
    model = rl.metrics.tabular_model("cliffworld")
    for line in spec.describe(model.state_names, model.action_names):  # cells and moves, in words
        assert f"# {line}" in text
    mdp = rl.metrics.tabular_model("cliffworld").mdp
    assert rl.metrics.regret(rl.rewards.Env(), spec, mdp) == 0.0


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["--env", "pendulum", "--budget", "2"], "`env` must be an env with a tabular model (got 'pendulum')"),
        (["--env", "cliffworld", "--budget", "0"], "`budget` must be at least 1 for these margins (got 0)"),
        (["--env", "cliffworld", "--budget", "2", "--on", "cell"], "`on` must be what a table entry pays for"),
    ],
    ids=["no-model", "budget", "on"],
)
def test_design_errors_exit_2_with_the_template(argv, match, capsys):
    assert main(["design", *argv]) == 2
    assert match in capsys.readouterr().err


def test_design_help_loads_no_heavy_module():
    code = (
        "import json, sys\n"
        "from rewardlab.cli import main\n"
        "try:\n"
        "    main(['design', '--help'])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0\n"
        "print(json.dumps(sorted(m for m in ('torch', 'stable_baselines3', 'scipy') if m in sys.modules)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr
    *help_text, loaded = proc.stdout.rstrip("\n").split("\n")
    assert json.loads(loaded) == []
    assert "usage: rewardlab design" in "\n".join(help_text)
    assert "non-zero entries" in "\n".join(help_text)  # the budget's help is the config's field doc


def test_a_designed_reward_sweeps_like_any_other(tmp_path):
    """The shipped design as a sweep variant beside the truth: trained, aggregated, compared exactly."""
    design = rl.rewards.load(ROOT / "rewards" / "cliffworld_exprd.toml")
    sweep = {
        "name": "exprd",
        "envs": ["cliffworld"],
        "seeds": [0],
        "timesteps": 128,
        "eval_episodes": 1,
        "agents": {"ppo": {"n_steps": 32, "batch_size": 32, "n_epochs": 1, "policy_kwargs": {"net_arch": [8]}}},
        "variants": {"truth": {"kind": "env"}, "exprd": design.to_dict()},
        "baseline": "truth",
    }
    result = rl.sweeps.run_sweep(rl.sweeps.SweepSpec.from_dict(sweep), runs_dir=tmp_path, workers=1, progress=False)
    assert result.done == 2 and result.failed == 0
    summary = rl.sweeps.aggregate(result.sweep_dir, write=False)
    distances = {row["variant"]: row["distance"] for row in summary.rows}
    assert distances["truth"] == 0.0 and distances["exprd"] > 0.0  # exact STARC on the tabular env
