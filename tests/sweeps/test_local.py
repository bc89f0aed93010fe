"""The local backend on a tiny sweep: results, the on-disk contract, resume, failures, the lock."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from _trial_helpers import tiny_spec

from rewardlab.cli import main
from rewardlab.errors import ConfigError, MissingDependencyError
from rewardlab.runs import read_jsonl, read_status, write_status
from rewardlab.sweeps import run_sweep, sweep_status

HERE = str(Path(__file__).resolve().parent)


def _returns(sweep_dir: Path) -> dict[str, list[tuple[int, float, float]]]:
    out = {}
    for run in sorted(p for p in sweep_dir.iterdir() if p.is_dir()):
        rows = read_jsonl(run / "metrics.jsonl")
        out[run.name] = [(r["timesteps"], r["eval_env_return"], r["eval_proxy_return"]) for r in rows]
    return out


def _snapshot(sweep_dir: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(sweep_dir)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sweep_dir.glob("*/*")
        if p.name in ("status.json", "metrics.jsonl", "agent.zip")
    }


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    """The tiny sweep (2 variants x 2 seeds) on 2 spawned workers, then again in-process."""
    root = tmp_path_factory.mktemp("local")
    result = run_sweep(tiny_spec(), workers=2, runs_dir=root / "pool", progress=False)
    serial = run_sweep(tiny_spec(), workers=1, runs_dir=root / "serial", progress=False)
    return root, result, serial


def test_local_backend_runs_every_trial_and_writes_the_contract(local_run):
    root, result, _ = local_run
    sweep = root / "pool" / "tiny"
    assert (result.total, result.done, result.failed, result.skipped) == (4, 4, 0, 0) and result.complete
    data = json.loads((sweep / "sweep.json").read_text())
    assert data["name"] == "tiny" and data["baseline"] == "truth"
    assert set(data["versions"]) >= {"rewardlab", "torch", "stable_baselines3"}
    ids = [t["id"] for t in data["trials"]]
    assert ids == [f"cartpole__{v}__ppo__s{s}" for v in ("truth", "upright") for s in (0, 1)]
    for t in data["trials"]:
        assert set(t) >= {"id", "env", "variant", "agent", "seed", "reward", "hyperparams", "timesteps", "eval_freq"}
        status = read_status(sweep / t["id"])
        assert status["status"] == "done" and status["attempts"] == 1
        assert isinstance(status["final_env_return"], float)
        config = json.loads((sweep / t["id"] / "config.json").read_text())
        assert config["meta"]["trial"] == t["id"] and config["meta"]["variant"] == t["variant"]
        assert config["meta"]["seed"] == t["seed"] and config["threads"] == 1 and config["group"] == "tiny"
        assert [r["timesteps"] for r in read_jsonl(sweep / t["id"] / "metrics.jsonl")] == [32, 64]
    assert not (sweep / "sweep.lock").exists()
    spec_again = tiny_spec().from_dict(data["spec"])  # the saved spec loads back
    assert [t.id for t in spec_again.trials(check=False)] == ids


def test_worker_processes_give_the_same_results_as_in_process_runs(local_run):
    root, _, serial = local_run
    assert serial.done == 4
    pool, inproc = _returns(root / "pool" / "tiny"), _returns(root / "serial" / "tiny")
    assert pool == inproc and len(pool) == 4
    # Different seeds give different runs (else the comparison above proves nothing).
    assert pool["cartpole__truth__ppo__s0"] != pool["cartpole__truth__ppo__s1"]


def test_rerun_skips_done_trials_without_touching_them(local_run):
    root, _, _ = local_run
    before = _snapshot(root / "pool" / "tiny")
    again = run_sweep(tiny_spec(), workers=2, runs_dir=root / "pool", progress=False)
    assert (again.skipped, again.done, again.failed) == (4, 0, 0)
    assert _snapshot(root / "pool" / "tiny") == before


def test_half_written_trials_are_redone_from_scratch(tmp_path):
    spec = tiny_spec(seeds=[0])
    run_sweep(spec, workers=1, runs_dir=tmp_path, progress=False)
    sweep = tmp_path / "tiny"
    running, no_metrics = sweep / "cartpole__truth__ppo__s0", sweep / "cartpole__upright__ppo__s0"
    write_status(running, "running")
    (running / "junk.txt").write_text("left by a killed sweep")
    (no_metrics / "metrics.jsonl").unlink()
    (sweep / "cartpole__extra__ppo__s0").mkdir()  # not in the spec: left alone
    result = run_sweep(spec, workers=1, runs_dir=tmp_path, progress=False)
    assert (result.done, result.skipped) == (2, 0)
    assert not (running / "junk.txt").exists()
    assert read_status(running)["status"] == "done" and (no_metrics / "metrics.jsonl").is_file()


def test_a_changed_spec_redoes_the_changed_trials(tmp_path):
    run_sweep(tiny_spec(seeds=[0]), workers=1, runs_dir=tmp_path, progress=False)
    result = run_sweep(tiny_spec(seeds=[0], eval_freq=64), workers=1, runs_dir=tmp_path, progress=False)
    assert (result.done, result.skipped) == (2, 0)
    rows = read_jsonl(tmp_path / "tiny" / "cartpole__truth__ppo__s0" / "metrics.jsonl")
    assert [r["timesteps"] for r in rows] == [64]


def test_a_failing_trial_is_recorded_and_the_others_finish(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(HERE)  # workers get the parent's sys.path
    variants = {"truth": {"kind": "env"}, "bad": {"kind": "code", "function": "_trial_helpers:raising_reward"}}
    spec = tiny_spec(variants=variants)
    result = run_sweep(spec, workers=2, runs_dir=tmp_path, progress=False)
    assert (result.done, result.failed) == (2, 2) and not result.complete
    assert set(result.failures) == {"cartpole__bad__ppo__s0", "cartpole__bad__ppo__s1"}
    status = read_status(tmp_path / "tiny" / "cartpole__bad__ppo__s0")
    assert status["status"] == "failed" and status["attempts"] == 1
    assert "boom" in status["error"] and "RuntimeError: boom" in status["traceback"]
    # retries=1: the next call reruns the failed trials once, then gives up on them.
    again = run_sweep(spec, workers=2, runs_dir=tmp_path, retries=1, progress=False)
    assert (again.skipped, again.failed, again.gave_up) == (2, 2, 0)
    assert read_status(tmp_path / "tiny" / "cartpole__bad__ppo__s0")["attempts"] == 2
    third = run_sweep(spec, workers=2, runs_dir=tmp_path, retries=1, progress=False)
    assert (third.skipped, third.failed, third.gave_up, third.done) == (2, 0, 2, 0)
    counts = sweep_status(tmp_path / "tiny")["counts"]
    assert counts == {"done": 2, "running": 0, "failed": 2, "pending": 0}


def test_a_worker_that_dies_is_recorded_and_the_sweep_goes_on(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(HERE)
    variants = {"truth": {"kind": "env"}, "kill": {"kind": "code", "function": "_trial_helpers:killing_reward"}}
    spec = tiny_spec(variants=variants, seeds=[0])
    monkeypatch.setenv("REWARDLAB_TEST_KILL", "1")  # spawned workers inherit it
    result = run_sweep(spec, workers=2, runs_dir=tmp_path, progress=False)
    assert result.done + result.failed == 2 and "cartpole__kill__ppo__s0" in result.failures
    status = read_status(tmp_path / "tiny" / "cartpole__kill__ppo__s0")
    assert status["status"] == "failed" and status["error"] == "worker died"
    # With the crash gone, a rerun retries the dead trial (and the healthy one if the crash caught
    # it) on a working pool. Leaving the crash in would make this depend on which trial ends first.
    monkeypatch.delenv("REWARDLAB_TEST_KILL")
    again = run_sweep(spec, workers=2, runs_dir=tmp_path, retries=1, progress=False)
    assert again.failed == 0 and again.done >= 1
    for variant in variants:
        assert read_status(tmp_path / "tiny" / f"cartpole__{variant}__ppo__s0")["status"] == "done"


def test_a_live_lock_refuses_a_second_sweep_and_a_stale_one_is_taken_over(tmp_path):
    sweep = tmp_path / "tiny"
    sweep.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (sweep / "sweep.lock").write_text(f"{holder.pid}\n")
        with pytest.raises(ConfigError, match=rf"Sweep process {holder.pid} holds"):
            run_sweep(tiny_spec(seeds=[0]), workers=1, runs_dir=tmp_path, progress=False)
    finally:
        holder.kill()
        holder.wait()
    result = run_sweep(tiny_spec(seeds=[0]), workers=1, runs_dir=tmp_path, progress=False)  # pid now dead
    assert result.done == 2 and not (sweep / "sweep.lock").exists()


def test_cli_sweep_and_status(tmp_path, capsys):
    spec = tmp_path / "tiny.toml"
    spec.write_text(
        'name = "clitiny"\nenvs = ["cartpole"]\nseeds = [0]\ntimesteps = 64\neval_freq = 64\neval_episodes = 1\n'
        "[agents.ppo]\nn_steps = 32\nbatch_size = 32\nn_epochs = 1\nn_envs = 1\n"
        '[variants.truth]\nkind = "env"\n'
    )
    assert main(["sweep", str(spec), "--workers", "1", "--runs-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "[1/1] cartpole__truth__ppo__s0 done in" in out and "env return" in out
    assert main(["sweep", "status", str(tmp_path / "clitiny")]) == 0
    out = capsys.readouterr().out
    assert "cartpole__truth__ppo__s0" in out and "1 done, 0 running, 0 failed, 0 pending" in out
    assert main(["sweep", "status", str(tmp_path / "nothing")]) == 2
    assert "sweep.json" in capsys.readouterr().err


def test_cli_sweep_refuses_an_unknown_report_metric_before_training(tmp_path, capsys):
    spec = tmp_path / "tiny.toml"
    spec.write_text('name = "badmetric"\nenvs = ["cartpole"]\nseeds = [0]\n[variants.truth]\nkind = "env"\n')
    args = ["sweep", str(spec), "--report", "--metric", "epik", "--runs-dir", str(tmp_path)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "`--metric`" in err and "'epik'" in err and "epic" in err
    assert not (tmp_path / "badmetric").exists()  # no trial ran


def test_bad_backend_arguments_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"`backend` must be one of"):
        run_sweep(tiny_spec(seeds=[0]), backend="slurm", runs_dir=tmp_path, progress=False)
    with pytest.raises(ConfigError, match=r"`workers` must be a positive integer"):
        run_sweep(tiny_spec(seeds=[0]), workers=0, runs_dir=tmp_path, progress=False)
    with pytest.raises(ConfigError, match=r"`retries` must be a non-negative integer"):
        run_sweep(tiny_spec(seeds=[0]), retries=-1, runs_dir=tmp_path, progress=False)


def test_ray_backend_without_ray_names_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(MissingDependencyError, match=r'pip install "rewardlab\[ray\]"'):
        run_sweep(tiny_spec(seeds=[0]), backend="ray", runs_dir=tmp_path, progress=False)
    assert not (tmp_path / "tiny").exists()


def test_n_bootstrap_sets_the_replicates_of_every_interval_of_the_report(sweep_dir, capsys):
    from rewardlab.sweeps import aggregate

    assert main(["report", str(sweep_dir), "--no-distances", "--n-bootstrap", "300"]) == 0
    capsys.readouterr()
    assert "300 replicates" in (sweep_dir / "report" / "report.html").read_text()
    with open(sweep_dir / "results" / "summary.csv") as f:
        written = {r["variant"]: r for r in csv.DictReader(f)}
    ours = {r["variant"]: r for r in aggregate(sweep_dir, distances=False, n_bootstrap=300, write=False).rows}
    default = {r["variant"]: r for r in aggregate(sweep_dir, distances=False, write=False).rows}
    key = next(k for k in ours["ground_truth"] if k.endswith("_low") and "env" in k)
    assert float(written["ground_truth"][key]) == pytest.approx(ours["ground_truth"][key])
    assert ours["ground_truth"][key] != default["ground_truth"][key]  # 300 replicates, not the default 2000


@pytest.mark.parametrize(
    ("argv", "value"),
    [
        (["report", "{sweep}", "--n-bootstrap", "10"], "10"),
        (["report", "{sweep}", "--n-bootstrap", "many"], "'many'"),
        (["sweep", "{spec}", "--n-bootstrap", "0"], "0"),
        (["tune", "{spec}", "--n-bootstrap", "1.5"], "1.5"),
    ],
    ids=["too-few", "not-a-number", "sweep-zero", "tune-float"],
)
def test_a_bad_n_bootstrap_is_refused_before_any_work(sweep_dir, tmp_path, capsys, argv, value):
    before = sorted(p.name for p in sweep_dir.iterdir())
    args = [a.format(sweep=sweep_dir, spec=tmp_path / "missing.toml") for a in argv]
    assert main([*args, "--runs-dir", str(tmp_path / "runs")] if argv[0] != "report" else args) == 2
    err = capsys.readouterr().err
    assert "`--n-bootstrap` must be an integer >= 100" in err and value in err and "Traceback" not in err
    assert sorted(p.name for p in sweep_dir.iterdir()) == before and not (tmp_path / "runs").exists()
