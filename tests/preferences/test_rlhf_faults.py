"""The RLHF loop under faults: a kill at every step of a checkpoint, planted pickles, two writers.

A kill is injected at a named fault point (``REWARDLAB_FAULT``, :func:`rewardlab.runs.fault`), not
timed: the run goes on in a child process (forked from a server that imported the loop once, so a
kill costs a fraction of a second) until it reaches the point, where it ends as kill -9 would.
The resume then runs here and must end where an uninterrupted run ends: the same dataset, reward
model, agent and label count. The settings are the smallest with two stages (stage 0 and one
agent stage); a resume right after stage 0 is bit-identical (the agent's env has not stepped yet),
so everything is compared exactly.
"""

from __future__ import annotations

import copy
import io
import json
import multiprocessing
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from rewardlab.cli import main
from rewardlab.data import TRUST_FLAG
from rewardlab.errors import RunBusyError, UntrustedFileError
from rewardlab.preferences import PreferenceDataset, RewardModel, _rlhf
from rewardlab.preferences._rlhf import RLHFConfig, run_rlhf
from rewardlab.runs import FAULT_VAR, read_jsonl

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="fork server and flock are POSIX")

SETTINGS: dict[str, Any] = dict(
    env="cartpole",
    agent="ppo",
    seed=0,
    total_timesteps=64,
    label_budget=6,
    n_iterations=1,
    initial_fraction=0.5,
    segment_length=10,
    ensemble=2,
    hidden=(8,),
    reward_epochs=2,
    eval_episodes=1,
    n_envs=2,
    hyperparams={"n_steps": 32, "batch_size": 64, "n_epochs": 1},
    run_name="r",
    progress=False,
)
"""cartpole + PPO: labels [3, 3] over stages 0 and 1, one PPO rollout of 64 steps."""

CHECKPOINT_POINTS = [
    "rlhf:staging",
    "rlhf:dataset",
    "rlhf:reward_model",  # the case: .next/ holds the new dataset and model, not committed
    "rlhf:agent",
    "rlhf:replay_buffer",
    "replace:state.json",  # the commit marker written to a temporary file, not renamed yet
    "rlhf:commit",
    "rlhf:aside:dataset",
    "rlhf:moved:dataset",
    "rlhf:aside:reward_model",
    "rlhf:moved:reward_model",
    "rlhf:moved:agent.zip",
    "rlhf:moved:state.json",
    "rlhf:cleaned",
]
"""Every fault point a PPO checkpoint passes, in order (each once per checkpoint)."""
FAST = {"rlhf:commit#1", "rlhf:reward_model#2", "rlhf:moved:dataset#2"}
"""Kills that run with the fast tests (the other 25, ~1.3 s each, are ``slow``): stage 0 committed
before any ``state.json`` is in place, the issue's uncommitted ``.next/``, a move cut short."""

_CHILD = """
import os
os.environ[{var!r}] = {spec!r}
from rewardlab.preferences._rlhf import RLHFConfig, run_rlhf
run_rlhf(RLHFConfig(**{kwargs!r}))
"""
_LOCK_HOLDER = """
import sys
from rewardlab.runs import RunDir
RunDir(sys.argv[1]).lock()
print("locked", flush=True)
sys.stdin.read()
"""


def config(root: Path, **over: Any) -> RLHFConfig:
    return RLHFConfig(**{**SETTINGS, "runs_dir": str(root), **over})


def run_until_killed(root: Path, spec: str) -> int:
    """Run the loop in a child until the fault ``spec`` ends it; the child's exit code."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["rewardlab.preferences._rlhf"])
    code = _CHILD.format(var=FAULT_VAR, spec=spec, kwargs={**SETTINGS, "runs_dir": str(root)})
    child = ctx.Process(target=exec, args=(code, {}))
    child.start()
    child.join(timeout=120)
    if child.exitcode is None:
        child.kill()
        child.join()
    return int(child.exitcode if child.exitcode is not None else -1)


def tensors(zip_path: Path) -> dict[str, Any]:
    """The agent's tensors, read from its zip with ``weights_only`` (policy, optimiser, variables)."""
    out: dict[str, Any] = {}
    with zipfile.ZipFile(zip_path) as archive:
        for name in archive.namelist():
            if name.endswith(".pth"):
                out[name] = torch.load(io.BytesIO(archive.read(name)), weights_only=True)
    return out


def assert_same(a: Any, b: Any, where: str = "") -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_same(a[key], b[key], f"{where}/{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, torch.Tensor):
        assert torch.equal(a, b), where
    else:
        assert a == b, where


def outcome(run: Path) -> dict[str, Any]:
    """What a finished run produced: dataset, reward model, agent, label counts, metric stages."""
    ds = PreferenceDataset.load(run / "dataset")
    state = json.loads((run / "state.json").read_text())
    status = json.loads((run / "status.json").read_text())
    return {
        "pairs": ds.pairs.tolist(),
        "labels": ds.labels.tolist(),
        "segment_obs": ds.segments.obs.tolist(),
        "reward_model": dict(RewardModel.load(run / "reward_model").module.state_dict()),
        "agent": tensors(run / "agent.zip"),
        "state": state,  # labels_used, n_pairs, timesteps, the agent counters, the RNG states
        "status": (status["status"], status["labels_used"], status["timesteps"]),
        "stages": [r["stage"] for r in read_jsonl(run / "metrics.jsonl")],
        "labels_per_stage": [r["labels"] for r in read_jsonl(run / "metrics.jsonl")],
        "files": sorted(p.name for p in run.iterdir() if p.name != "status.json"),
    }


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    result = run_rlhf(config(tmp_path_factory.mktemp("uninterrupted")))
    assert result.labels_used == 6
    return outcome(result.run_dir)


def _kill_points() -> list[Any]:
    points = [f"{p}#{n}" for n in (1, 2) for p in CHECKPOINT_POINTS]  # #1: stage 0's checkpoint, #2: stage 1's
    return [pytest.param(p, id=p, marks=() if p in FAST else pytest.mark.slow) for p in points]


@pytest.mark.parametrize("spec", _kill_points())
def test_a_kill_anywhere_in_a_checkpoint_resumes_to_the_uninterrupted_result(
    tmp_path: Path, spec: str, uninterrupted: dict[str, Any]
) -> None:
    assert run_until_killed(tmp_path, spec) == 137, f"the run did not reach the fault point {spec}"
    run = tmp_path / "rlhf" / "r"
    assert json.loads((run / "status.json").read_text())["status"] == "running"  # killed, no cleanup
    result = run_rlhf(config(tmp_path))  # the lock died with the child
    assert result.labels_used == 6
    got = outcome(run)
    assert not (run / ".next").exists()
    assert got["status"] == ("done", 6, uninterrupted["status"][2])
    assert got["state"]["labels_used"] == got["state"]["n_pairs"] == len(got["pairs"]) == 6
    assert_same(got, uninterrupted)


def test_the_run_passes_two_checkpoints(tmp_path: Path) -> None:
    """So ``#1`` above is stage 0's checkpoint and ``#2`` stage 1's, the last (no ``#3``: it finishes)."""
    assert run_until_killed(tmp_path, "rlhf:staging#3") == 0


def _interrupted(root: Path, monkeypatch: pytest.MonkeyPatch, stage: int = 1, **over: Any) -> Path:
    """A run stopped (Ctrl-C) at the start of ``stage``: its last commit is ``stage - 1``."""
    real = _rlhf._query

    def query(cfg: RLHFConfig, s: int, *args: Any) -> Any:
        if s == stage:
            raise KeyboardInterrupt
        return real(cfg, s, *args)

    with monkeypatch.context() as m:
        m.setattr(_rlhf, "_query", query)
        with pytest.raises(KeyboardInterrupt):
            run_rlhf(config(root, **over))
    return root / "rlhf" / "r"


class _Payload:
    """Unpickling it writes ``marker`` (what a planted pickle could do instead)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> Any:
        return (exec, (f"import pathlib; pathlib.Path({str(self.marker)!r}).write_text('pwned')",))


@pytest.mark.parametrize("name", ["vecnormalize.pkl", "replay_buffer.pkl"])
def test_a_planted_pickle_is_not_loaded_without_the_trust_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    run = _interrupted(tmp_path, monkeypatch)
    marker = tmp_path / "marker"
    (run / name).write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(UntrustedFileError, match=TRUST_FLAG) as err:
        run_rlhf(config(tmp_path))
    assert name in str(err.value)
    assert not marker.exists()
    assert json.loads((run / "status.json").read_text())["status"] == "failed"  # untouched: not started
    if name == "vecnormalize.pkl":  # the flag is what stands between the file and pickle.load
        with pytest.raises(Exception):  # noqa: B017 - the payload is not a VecNormalize
            run_rlhf(config(tmp_path, trust=True))
        assert marker.exists()


def test_the_cli_refuses_a_planted_pickle_and_names_the_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _interrupted(tmp_path, monkeypatch)
    marker = tmp_path / "marker"
    (run / "vecnormalize.pkl").write_bytes(pickle.dumps(_Payload(marker)))
    argv = ["rlhf", "--resume", str(run), "--env", "cartpole", "--timesteps", "64", "--labels", "6"]
    argv += ["--iterations", "1", "--initial-fraction", "0.5", "--segment-length", "10", "--ensemble", "2"]
    argv += ["--hidden", "8", "--reward-epochs", "2", "--eval-episodes", "1", "--n-envs", "2", "--no-progress"]
    argv += ["--set", "n_steps=32", "--set", "batch_size=64", "--set", "n_epochs=1"]
    assert main(argv) == 2
    assert TRUST_FLAG in capsys.readouterr().err
    assert not marker.exists()
    assert f"{TRUST_FLAG} " in _help(capsys)


def _help(capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit):
        main(["rlhf", "--help"])
    return capsys.readouterr().out


def test_the_agent_zip_header_is_never_unpickled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pickled item planted in agent.zip's header: the resume reads only tensors and plain JSON."""
    run = _interrupted(tmp_path, monkeypatch)
    marker = tmp_path / "marker"
    planted = {":type:": "<class 'object'>", ":serialized:": _b64(pickle.dumps(_Payload(marker)))}
    with zipfile.ZipFile(run / "agent.zip") as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    header = json.loads(members["data"])
    header.update(policy_class=planted, observation_space=planted, lr_schedule=planted)
    members["data"] = json.dumps(header).encode()
    with zipfile.ZipFile(run / "agent.zip", "w") as archive:
        for n, data in members.items():
            archive.writestr(n, data)
    state = json.loads((run / "state.json").read_text())
    del state["agent"]  # as an older rewardlab wrote it: the counters are read from the header's JSON
    (run / "state.json").write_text(json.dumps(state))
    result = run_rlhf(config(tmp_path))
    assert result.labels_used == 6
    assert not marker.exists()


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()


def test_a_second_live_writer_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = _interrupted(tmp_path, monkeypatch)
    staged = run / ".next"
    staged.mkdir()  # an uncommitted checkpoint: only the run's one writer may discard it
    with subprocess.Popen(
        [sys.executable, "-c", _LOCK_HOLDER, str(run)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as holder:  # leaving the block closes its stdin: it ends, and its lock with it
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunBusyError, match=str(holder.pid)):
            run_rlhf(config(tmp_path))
        assert staged.is_dir()  # not discarded by the refused process
        assert json.loads((run / "status.json").read_text())["status"] == "failed"
    assert run_rlhf(config(tmp_path)).labels_used == 6  # the holder is gone: the run goes on
    assert not staged.exists()


@pytest.mark.parametrize(
    ("env", "agent", "hyperparams", "extra"),
    [
        ("acrobot", "ppo", {"n_steps": 32, "batch_size": 64, "n_epochs": 1}, "vecnormalize.json"),
        ("cartpole", "dqn", {"learning_starts": 16, "buffer_size": 500, "train_freq": 4}, "replay_buffer.npz"),
    ],
    ids=["ppo-vecnormalize", "dqn-replay-buffer"],
)
def test_resume_restores_the_agent_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: str, agent: str, hyperparams: dict[str, Any], extra: str
) -> None:
    """Statistics, buffer, tensors and counters at the checkpoint == the agent rebuilt on resume."""
    over = dict(env=env, agent=agent, hyperparams=hyperparams, n_iterations=2, label_budget=6)
    saved: list[dict[str, Any]] = []
    real = _rlhf._checkpoint

    def spy(run: Any, state: dict[str, Any], dataset: Any, model: Any, sb3: Any) -> None:
        saved.append(_agent_snapshot(sb3))
        real(run, state, dataset, model, sb3)

    with monkeypatch.context() as m:
        m.setattr(_rlhf, "_checkpoint", spy)
        run = _interrupted(tmp_path, m, stage=2, **over)
    assert (run / extra).is_file() and not list(run.glob("*.pkl"))
    cfg = config(tmp_path, **over).check()
    state = json.loads((run / "state.json").read_text())
    assert state["stage"] == 1 and state["agent"]["num_timesteps"] == saved[-1]["state"]["num_timesteps"] > 0
    venv = _rlhf.make_vec_env(cfg.suite_env, "env", n_envs=2, seed=123)
    rebuilt = _rlhf._load_agent(cfg, _rlhf.RunDir(run), venv, state)
    assert_same(_agent_snapshot(rebuilt), saved[-1])


def _agent_snapshot(agent: Any) -> dict[str, Any]:
    from stable_baselines3.common.vec_env import VecNormalize, unwrap_vec_wrapper

    snap: dict[str, Any] = {
        "params": copy.deepcopy(agent.get_parameters()),  # policy and optimiser state dicts
        "state": _rlhf._agent_state(agent),
    }
    norm = unwrap_vec_wrapper(agent.get_env(), VecNormalize)
    if isinstance(norm, VecNormalize):
        snap["norm"] = _rlhf.normalization_state(norm)
        snap["norm_training"] = norm.training
    buffer = getattr(agent, "replay_buffer", None)
    if buffer is not None:
        n = buffer.pos
        snap["buffer"] = [np.asarray(getattr(buffer, a)[:n]).tolist() for a in ("observations", "actions", "rewards")]
        snap["buffer_pos"] = (buffer.pos, buffer.full)
    return snap


@pytest.mark.parametrize(
    ("env", "agent", "hyperparams", "legacy"),
    [
        ("acrobot", "ppo", {"n_steps": 32, "batch_size": 64, "n_epochs": 1}, "vecnormalize.pkl"),
        ("cartpole", "dqn", {"learning_starts": 16, "buffer_size": 500, "train_freq": 4}, "replay_buffer.pkl"),
    ],
    ids=["vecnormalize", "replay-buffer"],
)
def test_an_older_run_resumes_with_the_trust_flag_and_loses_its_pickles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: str, agent: str, hyperparams: dict[str, Any], legacy: str
) -> None:
    """A run dir as an older rewardlab left it (pickles): refused, then resumed with ``trust``."""
    over: dict[str, Any] = dict(env=env, agent=agent, hyperparams=hyperparams)
    run = _interrupted(tmp_path, monkeypatch, **over)
    cfg = config(tmp_path, **over).check()
    state = json.loads((run / "state.json").read_text())
    rebuilt = _rlhf._load_agent(cfg, _rlhf.RunDir(run), _rlhf.make_vec_env(cfg.suite_env, "env", n_envs=2), state)
    if legacy == "vecnormalize.pkl":
        norm = rebuilt.get_env()
        assert isinstance(norm, _rlhf.VecNormalize)
        norm.save(str(run / legacy))
        (run / "vecnormalize.json").unlink()
    else:
        assert isinstance(rebuilt, _rlhf.OffPolicyAlgorithm)
        rebuilt.save_replay_buffer(str(run / legacy))
        (run / "replay_buffer.npz").unlink()
    with pytest.raises(UntrustedFileError, match=TRUST_FLAG):
        run_rlhf(config(tmp_path, **over))
    assert run_rlhf(config(tmp_path, trust=True, **over)).labels_used == 6
    assert not (run / legacy).exists()  # the next checkpoint wrote the safe format instead
    assert (run / legacy.replace(".pkl", ".json" if legacy.startswith("vec") else ".npz")).is_file()


def test_a_full_disk_in_rlhf_is_one_clear_error_and_keeps_the_committed_stage(tmp_path, monkeypatch):
    from rewardlab import runs
    from rewardlab.errors import StorageError

    uninterrupted = run_rlhf(config(tmp_path / "a"))
    monkeypatch.setenv(FAULT_VAR, "replace:state.json#2=enospc")  # stage 1's commit marker
    monkeypatch.setattr(runs, "_fault_hits", {})
    with pytest.raises(StorageError, match=r"`runs_dir` must be on a disk with free space .*The disk is full") as info:
        run_rlhf(config(tmp_path / "b"))
    assert info.value.__cause__ is None and info.value.__suppress_context__
    run_dir = tmp_path / "b" / "rlhf" / "r"
    assert json.loads((run_dir / "state.json").read_text())["stage"] == 0  # stage 0 committed, stage 1 not
    monkeypatch.delenv(FAULT_VAR)
    assert run_rlhf(config(tmp_path / "b")).labels_used == uninterrupted.labels_used
