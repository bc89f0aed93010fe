"""``rewardlab watch``: a clip of a trained agent with its proxy and true reward under each frame."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import rewardlab as rl
from rewardlab.cli import main
from rewardlab.preferences import watch_run


@pytest.fixture(scope="module")
def sensor_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    config = rl.TrainConfig(
        env="tomato", agent="ppo", reward={"kind": "terms", "weights": {"sensor_watered": 1.0}}, timesteps=64,
        n_envs=2, eval_episodes=1, hyperparams={"n_steps": 32, "batch_size": 32, "n_epochs": 1},
        runs_dir=str(root), run_name="sensor", progress_bar=False, monitor_transitions=0,
    )  # fmt: skip
    return rl.train(config).run_dir


def test_the_clip_shows_every_step_and_its_returns_match_the_rewards(sensor_run, tmp_path):
    path, totals = watch_run(sensor_run, tmp_path / "w.gif", steps=12)
    with Image.open(path) as gif:
        n_frames, width = gif.n_frames, gif.size[0]
    assert totals["steps"] == 12 and width >= 300  # the 120-px gridworld is scaled up for the text
    assert 2 <= n_frames <= 13  # Pillow merges identical consecutive frames (an agent standing still)
    seg = rl.data.collect_segments("tomato", 1, 12, str(sensor_run / "agent.zip"), seed=0, deterministic=True)
    sensor = rl.suite.get("tomato").factor("sensor_watered").fn
    expected = sensor(seg.obs[0], seg.actions[0], seg.next_obs[0], seg.dones[0]).sum()
    assert totals["proxy_return"] == pytest.approx(float(expected))
    assert totals["true_return"] == pytest.approx(float(np.sum(seg.env_rewards[0])))


def test_a_small_clip_is_as_wide_as_asked_with_the_same_returns(sensor_run, tmp_path):
    full, totals = watch_run(sensor_run, tmp_path / "full.gif", steps=12)
    small, small_totals = watch_run(sensor_run, tmp_path / "small.gif", steps=12, width=200)
    with Image.open(small) as gif:
        assert gif.size[0] == 200 and gif.size[1] < 200 * 1.5  # the frame keeps its aspect, band included
    assert small_totals == totals
    assert small.stat().st_size < full.stat().st_size


def test_watch_needs_a_trained_run(tmp_path, capsys):
    assert main(["watch", str(tmp_path)]) == 2
    assert "`run_dir` must be a run directory with config.json and agent.zip" in capsys.readouterr().err
