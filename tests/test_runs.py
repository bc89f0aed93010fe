"""RunDir: one owner of a run's directory (naming, status, config, metrics, the agent's file)."""

from __future__ import annotations

import os
import socket

import pytest

import rewardlab as rl
from rewardlab.errors import ConfigError
from rewardlab.runs import AGENT, RunDir, check_name


@pytest.mark.parametrize("bad", ["..", ".", "a/b", "../up", "", "a\\b"], ids=repr)
def test_names_with_path_separators_or_dots_are_refused(tmp_path, bad):
    with pytest.raises(ConfigError, match="`run_name` must be"):
        RunDir.create(tmp_path, "group", bad)
    with pytest.raises(ConfigError, match="`group` must be"):
        RunDir.create(tmp_path, bad, "run")
    assert not any(tmp_path.iterdir())


def test_train_config_refuses_a_run_name_outside_its_group_before_any_work(tmp_path):
    with pytest.raises(ConfigError, match=r"`run_name` must be a single folder name .*got '\.\./escape'"):
        rl.TrainConfig(env="pendulum", runs_dir=str(tmp_path), run_name="../escape")
    with pytest.raises(ConfigError, match="`group` must be"):
        rl.preferences.RLHFConfig(env="pendulum", agent="sac", runs_dir=str(tmp_path), group="a/b")
    assert not any(tmp_path.iterdir())


def test_unnamed_runs_get_distinct_directories(tmp_path):
    a = RunDir.create(tmp_path, "g", None, ["pendulum", "env"])
    b = RunDir.create(tmp_path, "g", None, ["pendulum", "env"])
    assert a.path != b.path and a.path.is_dir() and b.path.is_dir()
    assert a.path.name.startswith("pendulum__env__")


def test_a_running_status_names_the_process_and_a_failure_keeps_the_traceback(tmp_path):
    run = RunDir.create(tmp_path, "g", "r")
    run.start(resumed=False)
    status = run.status()
    assert status["status"] == "running" and status["pid"] == os.getpid() and status["host"] == socket.gethostname()
    try:
        raise ValueError("boom")
    except ValueError as exc:
        run.fail(exc, attempts=2)
    status = run.status()
    assert status["status"] == "failed" and status["error"] == "boom" and status["attempts"] == 2
    assert "ValueError: boom" in status["traceback"]
    run.fail("worker died", traceback="", keep=True)
    assert run.status()["attempts"] == 2 and run.status()["error"] == "worker died"


def test_a_finished_run_is_refused(tmp_path):
    run = RunDir.create(tmp_path, "g", "r")
    run.refuse_done()  # pending: fine
    run.finish(final_env_return=1.0)
    with pytest.raises(ConfigError, match="not finished yet"):
        RunDir.create(tmp_path, "g", "r").refuse_done()


def test_the_agent_has_one_file_name_and_older_runs_are_still_found(tmp_path):
    run = RunDir.create(tmp_path, "g", "r")
    assert run.agent_file() is None
    (run.path / "model.zip").write_bytes(b"old")
    assert run.agent_file() == run.path / "model.zip"

    class Agent:
        def save(self, f, **kwargs):
            f.write(b"new")

    run.save_agent(Agent())
    assert run.agent_file() == run.path / AGENT and (run.path / AGENT).read_bytes() == b"new"
    assert not [p for p in run.path.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_check_name_returns_the_name():
    assert check_name("group", "sweep-1.a_b") == "sweep-1.a_b"
