"""Files from others are data, not code: a saved agent is rebuilt from its preset and only tensors
and JSON are read, unless the caller passes ``trust``. Each test plants a payload that would write
a marker file when unpickled, and checks that no marker appears."""

from __future__ import annotations

import json

import numpy as np
import pytest

import rewardlab as rl
from rewardlab.data import load_agent, load_replay_buffer, sample_transitions, save_replay_buffer
from rewardlab.errors import ConfigError, UntrustedFileError

TINY = {"n_steps": 32, "batch_size": 32, "n_epochs": 1, "policy_kwargs": {"net_arch": [8]}}


@pytest.fixture(scope="module")
def normalised_run(tmp_path_factory):
    """A tiny trained run whose preset normalises observations (acrobot's PPO preset)."""
    root = tmp_path_factory.mktemp("runs")
    result = rl.train(
        rl.TrainConfig(
            env="acrobot", agent="ppo", timesteps=64, n_envs=2, eval_episodes=1, hyperparams=dict(TINY),
            runs_dir=str(root), run_name="r", progress_bar=False,
        )
    )
    return result.run_dir


def test_a_run_agent_loads_from_tensors_with_its_json_normalisation(normalised_run):
    assert (normalised_run / "vecnormalize.json").is_file() and not (normalised_run / "vecnormalize.pkl").exists()
    model, norm = load_agent(normalised_run / "agent.zip")
    trusted, _ = load_agent(normalised_run / "agent.zip", trust=True)
    saved = json.loads((normalised_run / "vecnormalize.json").read_text())
    assert norm is not None and norm.norm_obs
    np.testing.assert_array_equal(norm.obs_rms.mean, np.array(saved["obs_rms"]["mean"]))
    obs = np.random.default_rng(0).normal(size=(8, 6)).astype(np.float32)
    expected = trusted.predict(obs, deterministic=True)[0]
    np.testing.assert_array_equal(model.predict(obs, deterministic=True)[0], expected)


def test_a_planted_zip_header_runs_no_code_unless_trusted(normalised_run, tmp_path, payload):
    run = tmp_path / "sent"
    run.mkdir()
    for name in ("agent.zip", "config.json", "vecnormalize.json"):
        (run / name).write_bytes((normalised_run / name).read_bytes())
    marker = tmp_path / "marker"
    payload.plant_in_zip(run / "agent.zip", marker)
    load_agent(run / "agent.zip")
    sample_transitions("acrobot", 20, policy=str(run / "agent.zip"), seed=0)
    rl.data.collect_segments("acrobot", 2, 5, policy=str(run / "agent.zip"), seed=0)
    assert not marker.exists()
    with pytest.raises(Exception):  # noqa: B017 - the payload replaced the policy class: SB3's load breaks
        load_agent(run / "agent.zip", trust=True)
    assert marker.exists()  # the payload is live: unpickling the header runs it


def test_a_pickled_normalisation_is_refused_and_names_the_flag(normalised_run, tmp_path, payload):
    run = tmp_path / "old"
    run.mkdir()
    for name in ("agent.zip", "config.json"):
        (run / name).write_bytes((normalised_run / name).read_bytes())
    marker = tmp_path / "marker"
    (run / "vecnormalize.pkl").write_bytes(payload.pickle(marker))
    with pytest.raises(UntrustedFileError, match=r"vecnormalize\.pkl.*--trust-pickle"):
        load_agent(run / "agent.zip")
    with pytest.raises(UntrustedFileError, match="--trust-pickle"):
        sample_transitions("acrobot", 5, policy=str(run / "agent.zip"))
    assert not marker.exists()


def test_a_replay_buffer_round_trips_as_plain_arrays(tmp_path):
    from stable_baselines3 import SAC

    model = SAC("MlpPolicy", "Pendulum-v1", buffer_size=50, learning_starts=10, policy_kwargs={"net_arch": [4]})
    model.learn(30)
    save_replay_buffer(model.replay_buffer, tmp_path / "rb.npz")
    with np.load(tmp_path / "rb.npz", allow_pickle=False) as saved:  # no object arrays
        assert int(saved["pos"]) == 30
    other = SAC("MlpPolicy", "Pendulum-v1", buffer_size=50, learning_starts=10, policy_kwargs={"net_arch": [4]})
    load_replay_buffer(other.replay_buffer, tmp_path / "rb.npz")
    assert other.replay_buffer.pos == 30 and not other.replay_buffer.full
    np.testing.assert_array_equal(other.replay_buffer.observations[:30], model.replay_buffer.observations[:30])
    small = SAC("MlpPolicy", "Pendulum-v1", buffer_size=20, learning_starts=10, policy_kwargs={"net_arch": [4]})
    with pytest.raises(ConfigError, match="`replay_buffer` must be a replay buffer saved by rewardlab"):
        load_replay_buffer(small.replay_buffer, tmp_path / "rb.npz")
