"""Online RLHF as a sweep trial kind: ``[variants.<name>] kind = "rlhf"`` runs the preference loop per seed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rewardlab.errors import ConfigError, SpecError
from rewardlab.preferences import PreferenceDataset
from rewardlab.rewards import OnlineRLHF, from_dict
from rewardlab.runs import read_jsonl
from rewardlab.sweeps import SweepSpec, aggregate, run_sweep

LOOP = {"label_budget": 12, "n_iterations": 2, "segment_length": 10, "ensemble": 2, "hidden": [16], "reward_epochs": 2}


def spec(**variants: Any) -> SweepSpec:
    return SweepSpec.from_dict(
        {
            "name": "rlhf_trials",
            "envs": ["cartpole"],
            "seeds": [0],
            "timesteps": 256,
            "eval_episodes": 2,
            "n_envs": 2,
            "agents": {"ppo": {"n_steps": 32, "batch_size": 64, "n_epochs": 1}},
            "variants": {"ground_truth": {"kind": "env"}, **variants},
        }
    )


def test_an_rlhf_variant_runs_the_online_loop_and_is_reported_beside_the_others(tmp_path: Path) -> None:
    sweep = spec(noisy={"kind": "rlhf", **LOOP, "oracle": {"kind": "bpref", "teacher": "noisy"}})
    result = run_sweep(sweep, runs_dir=tmp_path, workers=1, progress=False)
    assert result.done == 2 and not result.failures
    run = result.sweep_dir / "cartpole__noisy__ppo__s0"
    config = json.loads((run / "config.json").read_text())
    assert config["oracle_provenance"]["beta"] == 1.0 and config["label_budget"] == 12
    assert config["meta"]["variant"] == "noisy" and config["meta"]["fingerprint"]
    assert len(PreferenceDataset.load(run / "dataset")) <= 12 and (run / "reward_model").is_dir()
    rows = read_jsonl(run / "metrics.jsonl")
    assert [r["stage"] for r in rows] == [0, 1, 2] and rows[-1]["labels"] == 12
    summary = aggregate(result.sweep_dir)
    noisy = next(r for r in summary.rows if r["variant"] == "noisy")
    assert noisy["n_seeds"] == 1 and noisy["env_return_mean"] == rows[-1]["eval_env_return"]
    assert any("noisy: no distance: an rlhf reward is learned" in n for n in summary.notes)
    # a rerun finds the trial done and runs nothing
    again = run_sweep(sweep, runs_dir=tmp_path, workers=1, progress=False)
    assert again.skipped == 2 and again.done == again.failed == 0


@pytest.mark.parametrize(
    ("variant", "match"),
    [
        ({"kind": "rlhf", "label_budgt": 12}, r"variants\.x\.label_budgt.*label_budget"),
        ({"kind": "rlhf", "teacher": "human"}, r"variants\.x\.teacher.*a setting of the online loop"),
        ({"kind": "rlhf", "oracle": {"kind": "bpref", "teacher": "myopia"}}, "Did you mean 'myopic'"),
        ({"kind": "rlhf", "label_budget": 0}, "label_budget"),
    ],
)
def test_bad_rlhf_settings_are_errors_before_any_trial(tmp_path: Path, variant: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        run_sweep(spec(x=variant), runs_dir=tmp_path, workers=1, progress=False)
    assert not list(tmp_path.rglob("metrics.jsonl"))


def test_an_rlhf_reward_cannot_be_built_outside_its_loop() -> None:
    reward = from_dict({"kind": "rlhf", "label_budget": 10})
    assert isinstance(reward, OnlineRLHF) and reward.to_dict() == {"kind": "rlhf", "label_budget": 10}
    with pytest.raises(SpecError, match="learns while its agent trains: run it with `rewardlab rlhf`"):
        reward.build("cartpole")
