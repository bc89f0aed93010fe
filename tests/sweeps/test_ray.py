"""The Ray backend on a local Ray instance (2 CPUs) gives the same results as the local backend."""

from __future__ import annotations

import json

import pytest
from _trial_helpers import tiny_spec

from rewardlab.runs import read_jsonl, read_status
from rewardlab.sweeps import run_sweep

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
