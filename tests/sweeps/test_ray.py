"""The Ray backend on a local Ray instance (2 CPUs): the same results as the local backend, a dead
worker retried within the call, and an address where nothing listens refused at once."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import pytest
from _trial_helpers import MARKER_VAR, tiny_spec

from rewardlab.errors import ConfigError
from rewardlab.runs import read_jsonl, read_status
from rewardlab.sweeps import _backends, run_sweep

HERE = str(Path(__file__).resolve().parent)

ray = pytest.importorskip("ray", reason='the ray backend needs Ray: pip install "rewardlab[ray]"')

# Ray's own deprecation and resource warnings would otherwise fail the test (filterwarnings = error).
pytestmark = pytest.mark.filterwarnings("ignore")


def _evals(sweep_dir, trial_id):
    rows = read_jsonl(sweep_dir / trial_id / "metrics.jsonl")
    keys = ("timesteps", "eval_env_return", "eval_proxy_return", "eval_env_std", "eval_terms")
    return [{k: r[k] for k in keys} for r in rows]


def test_ray_backend_matches_the_local_backend(tmp_path):
    spec = tiny_spec()
    local = run_sweep(spec, workers=2, runs_dir=tmp_path / "local", progress=False)
    on_ray = run_sweep(spec, backend="ray", workers=2, runs_dir=tmp_path / "ray", progress=False)
    assert local.done == on_ray.done == 4 and on_ray.complete
    assert not ray.is_initialized()  # the instance it started is shut down
    data = json.loads((tmp_path / "ray" / "tiny" / "sweep.json").read_text())
    assert "ray" in data["versions"]
    ids = [t.id for t in spec.trials(check=False)]
    for trial_id in ids:
        a, b = _evals(tmp_path / "local" / "tiny", trial_id), _evals(tmp_path / "ray" / "tiny", trial_id)
        assert a == b and len(a) == 2, trial_id
        assert read_status(tmp_path / "ray" / "tiny" / trial_id)["attempts"] == 1
    assert _evals(tmp_path / "ray" / "tiny", ids[0]) != _evals(tmp_path / "ray" / "tiny", ids[1])  # seeds differ
    again = run_sweep(spec, backend="ray", workers=2, runs_dir=tmp_path / "ray", progress=False)
    assert again.skipped == 4 and again.done == 0  # resume works the same on Ray (no instance started)


def test_a_trial_whose_ray_worker_died_is_retried_within_the_call(tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(HERE)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([HERE, os.environ.get("PYTHONPATH", "")]))  # Ray's workers
    monkeypatch.setenv(MARKER_VAR, str(tmp_path / "killed"))
    variants = {"truth": {"kind": "env"}, "kill": {"kind": "code", "function": "_trial_helpers:killing_once_reward"}}
    result = run_sweep(tiny_spec(seeds=[0], variants=variants), backend="ray", workers=2, runs_dir=tmp_path)
    assert (tmp_path / "killed").is_file()  # the first worker to run `kill` died
    assert "cartpole__kill__ppo__s0: worker died; resubmitted" in capsys.readouterr().out
    assert result.complete and result.failed == 0
    for variant in variants:
        status = read_status(tmp_path / "tiny" / f"cartpole__{variant}__ppo__s0")
        assert status["status"] == "done" and status["attempts"] == 1  # the death did not count


def test_an_address_where_nothing_listens_fails_at_once_naming_it(tmp_path, monkeypatch):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.monotonic()
    with pytest.raises(ConfigError, match=rf"`address` must be .* Ray cluster .*127.0.0.1:{port}"):
        run_sweep(tiny_spec(seeds=[0]), backend="ray", address=f"127.0.0.1:{port}", runs_dir=tmp_path, progress=False)
    assert time.monotonic() - start < 5 and not (tmp_path / "tiny").exists()
    # An address that never answers: the connection times out, or (behind a proxy that accepts every
    # connection) Ray's own wait does.
    monkeypatch.setattr(_backends, "CONNECT_TIMEOUT_S", 0.3)
    monkeypatch.setattr(_backends, "RAY_INIT_TIMEOUT_S", 2.0)
    start = time.monotonic()
    with pytest.raises(ConfigError, match=r"got '10.255.255.1:6379'.* within (0.3|2) s"):
        run_sweep(tiny_spec(seeds=[0]), backend="ray", address="10.255.255.1:6379", runs_dir=tmp_path, progress=False)
    assert time.monotonic() - start < 30 and not ray.is_initialized()
