"""A reward spec someone sends is data: a ``learned`` or ``hierarchical`` spec whose ``policy``
names a planted model runs no code in ``train``, ``compare`` or a sweep's validation.

The payload writes a marker folder when unpickled; each entry point must leave no marker, and a
policy that only unpickling could read is refused with an error naming ``--trust-pickle``.
"""

from __future__ import annotations

import pytest
import tomli_w
from stable_baselines3 import PPO

from rewardlab.cli import main


@pytest.fixture()
def sent(tmp_path, payload):
    """A folder a colleague sent: a bare SB3 zip with a payload, and a reward spec pointing at it."""
    folder = tmp_path / "sent"
    folder.mkdir()
    PPO("MlpPolicy", "CartPole-v1", policy_kwargs={"net_arch": [4]}).save(folder / "agent.zip")
    marker = tmp_path / "marker"
    payload.plant_in_zip(folder / "agent.zip", marker)
    return folder, marker


def _learned(policy):
    return {"kind": "learned", "preferences": {"n_segments": 6, "length": 5, "n_pairs": 6, "epochs": 1,
                                               "policy": str(policy)}}  # fmt: skip


def _hierarchical(policy):
    return {"kind": "hierarchical", "ranking": ["alive"], "n_samples": 8, "epochs": 1, "policy": str(policy)}


@pytest.mark.parametrize("make_spec", [_learned, _hierarchical], ids=["learned", "hierarchical"])
def test_a_shared_spec_with_a_planted_policy_runs_no_code_in_train(sent, tmp_path, capsys, make_spec):
    folder, marker = sent
    spec = tmp_path / "spec.toml"
    spec.write_text(tomli_w.dumps(make_spec(folder / "agent.zip")))
    args = ["train", "--env", "cartpole", "--reward", str(spec), "--timesteps", "64", "--runs-dir", str(tmp_path)]
    assert main([*args, "--no-progress"]) == 2
    assert "must be the agent.zip of a rewardlab run (its config.json beside it)" in capsys.readouterr().err
    assert not marker.exists()
    assert not (tmp_path / "train").exists()  # refused before a run folder was made


def test_a_shared_spec_with_a_planted_policy_runs_no_code_in_compare(sent, tmp_path, capsys):
    folder, marker = sent
    spec = tmp_path / "spec.toml"
    spec.write_text(tomli_w.dumps(_learned(folder / "agent.zip")))
    assert main(["compare", "--env", "cartpole", "env", str(spec), "--runs-dir", str(tmp_path)]) == 2
    assert "must be the agent.zip of a rewardlab run" in capsys.readouterr().err
    assert not marker.exists()


def test_compare_and_prefs_collect_refuse_a_planted_policy_without_the_flag(sent, tmp_path, capsys):
    folder, marker = sent
    policy = str(folder / "agent.zip")
    assert main(["compare", "--env", "cartpole", "env", "env", "--policy", policy, "--runs-dir", str(tmp_path)]) == 2
    assert "--trust-pickle" in capsys.readouterr().err
    out = tmp_path / "prefs"
    args = ["prefs", "collect", "--env", "cartpole", "--n-segments", "4", "--policy", policy, "--out", str(out)]
    assert main(args) == 2
    assert "--trust-pickle" in capsys.readouterr().err
    assert not marker.exists()
    # the flag is what it says: the file is unpickled (here the payload replaced SB3's policy class)
    with pytest.raises(TypeError):
        main([*args, "--trust-pickle"])
    assert marker.exists()


def test_a_sweep_with_a_planted_policy_runs_no_code_while_validating(sent, tmp_path, capsys):
    folder, marker = sent
    sweep = {
        "name": "s",
        "envs": ["cartpole"],
        "agents": {"ppo": {"n_steps": 32}},
        "seeds": [0],
        "timesteps": 64,
        "variants": {"truth": {"kind": "env"}, "sent": _learned(folder / "agent.zip")},
    }
    path = tmp_path / "sweep.toml"
    path.write_text(tomli_w.dumps(sweep))
    code = main(["sweep", str(path), "--runs-dir", str(tmp_path / "runs"), "--workers", "1"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "must be the agent.zip of a rewardlab run" in err
    assert not marker.exists()
