"""The command line: `envs`, `agents`, `train`, and its error output."""

from __future__ import annotations

import json

import pytest

import rewardlab as rl
from rewardlab.cli import main


def test_envs_lists_factors_directions_and_ground_truth(capsys):
    assert main(["envs"]) == 0
    out = capsys.readouterr().out
    assert "pendulum  (Pendulum-v1)" in out
    assert "angle_cost" in out and "lower is better" in out
    assert "ground truth = -1*angle_cost - 0.1*velocity_cost - 0.001*torque_cost" in out


def test_envs_json_covers_the_whole_suite(capsys):
    assert main(["envs", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {d["name"] for d in data} == set(rl.suite.names())
    assert {"cartpole", "acrobot", "pendulum", "mountaincar_continuous", "halfcheetah", "hopper"} <= {
        d["name"] for d in data
    }


def test_agents_lists_presets(capsys):
    assert main(["agents"]) == 0
    assert "sac: tuned presets for" in capsys.readouterr().out


def test_train_runs_and_prints_both_returns(tmp_path, capsys):
    code = main(
        [
            "train", "--env", "cartpole", "--agent", "ppo", "--timesteps", "128", "--n-envs", "2",
            "--eval-episodes", "1", "--set", "n_steps=32", "--set", "batch_size=32",
            "--set", 'policy_kwargs={"net_arch": [8]}', "--runs-dir", str(tmp_path), "--no-progress",
        ]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "env (ground-truth) return" in out and "Run directory:" in out


def test_train_with_bad_input_prints_a_clear_error(tmp_path, capsys):
    code = main(["train", "--env", "pendulum", "--reward", str(tmp_path / "nope.toml"), "--runs-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert "`reward` must be a readable TOML file" in err and "Traceback" not in err


def test_bad_set_override_is_rejected(tmp_path, capsys):
    assert main(["train", "--env", "cartpole", "--set", "learning_rate", "--runs-dir", str(tmp_path)]) == 2
    assert "`--set` must be KEY=VALUE" in capsys.readouterr().err


@pytest.mark.parametrize("command", [[], ["compare"], ["sweep"], ["report"], ["prefs"], ["rlhf"]], ids=str)
def test_help_of_every_command_prints(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*command, "--help"])
    assert exc.value.code == 0
    assert "usage: rewardlab" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("module", "cls", "command"),
    [("training", "TrainConfig", "train"), ("preferences._rlhf", "RLHFConfig", "rlhf")],
    ids=["train", "rlhf"],
)
def test_option_help_is_the_config_field_doc(module, cls, command, capsys):
    import importlib

    from rewardlab.cli._common import _plain, field_docs

    config = getattr(importlib.import_module(f"rewardlab.{module}"), cls)
    docs = field_docs(module, cls)
    # what the CLI reads from the source is what pydantic holds as the field's description
    assert docs == {name: _plain(f.description) for name, f in config.model_fields.items() if f.description}
    with pytest.raises(SystemExit):
        main([command, "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert docs["seed"].replace("%%", "%") in shown
