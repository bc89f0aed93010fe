"""``import rewardlab``, ``rewardlab --help`` and ``rewardlab envs`` start without the heavy stack.

Each check runs in a fresh interpreter (the test process has long imported torch) and reads
``sys.modules`` there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import rewardlab

HEAVY = ("torch", "stable_baselines3", "scipy", "ray", "matplotlib")
"""What ``import rewardlab`` and ``rewardlab --help`` must not load."""

ROOT = Path(rewardlab.__file__).resolve().parents[1]
"""The folder holding the ``rewardlab`` under test, put first on the child's path."""


def _run(code: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300, check=False
    )


def _loaded_after(code: str, modules: tuple[str, ...] = HEAVY) -> tuple[list[str], str]:
    """``(modules among `modules` loaded after running code, its stdout before the report)``."""
    report = f"import json, sys; print(json.dumps(sorted(m for m in {list(modules)!r} if m in sys.modules)))"
    proc = _run(f"{code}\n{report}")
    assert proc.returncode == 0, proc.stderr
    *out, last = proc.stdout.rstrip("\n").split("\n")
    return json.loads(last), "\n".join(out)


def _help(*argv: str) -> str:
    """Code that prints ``rewardlab ARGV --help`` through :func:`rewardlab.cli.main`."""
    return (
        "from rewardlab.cli import main\n"
        "try:\n"
        f"    main([*{list(argv)!r}, '--help'])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
    )


def test_import_rewardlab_loads_no_heavy_module():
    loaded, _ = _loaded_after("import rewardlab")
    assert loaded == []


def test_cli_help_loads_no_heavy_module():
    loaded, out = _loaded_after(_help())
    assert loaded == []
    assert out.startswith("usage: rewardlab")
    assert "rlhf" in out and "prefs" in out and "sweep" in out


@pytest.mark.parametrize("command", ["train", "prefs", "sweep", "rlhf"])
def test_command_help_loads_no_torch(command):
    loaded, out = _loaded_after(_help(command))
    assert loaded == []
    assert out.startswith(f"usage: rewardlab {command}")


def test_envs_command_loads_no_torch():
    loaded, out = _loaded_after("from rewardlab.cli import main\nassert main(['envs']) == 0")
    assert loaded == []
    assert "pendulum  (Pendulum-v1)" in out
    assert "ground truth = " in out


def test_python_m_rewardlab_cli_runs_main():
    proc = _run(
        "import runpy, sys; sys.argv = ['rewardlab', '--help']; runpy.run_module('rewardlab.cli', run_name='__main__')"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: rewardlab")


def test_public_names_resolve_lazily():
    code = """
import sys
import rewardlab as rl
assert "rewardlab.training" not in sys.modules and "rewardlab.wrappers" not in sys.modules
assert set(rl.__all__) <= set(dir(rl))
from rewardlab import make_env
import rewardlab.wrappers, rewardlab.evaluation, rewardlab.training
assert make_env is rl.make_env is rewardlab.wrappers.make_env
assert rl.make_vec_env is rewardlab.wrappers.make_vec_env
assert rl.evaluate is rewardlab.evaluation.evaluate and rl.EvalResult is rewardlab.evaluation.EvalResult
assert rl.train is rewardlab.training.train and rl.TrainConfig is rewardlab.training.TrainConfig
for name in ("agents", "rewards", "metrics", "preferences", "sweeps", "suite", "wrappers", "errors"):
    assert getattr(rl, name) is sys.modules["rewardlab." + name], name
assert rl.ConfigError is rl.errors.ConfigError and issubclass(rl.SpecError, rl.RewardLabError)
assert isinstance(rl.__version__, str) and rl.__version__
assert callable(rl.agents.make) and callable(rl.rewards.Terms)
try:
    rl.no_such_name
except AttributeError as exc:
    assert "no_such_name" in str(exc)
else:
    raise AssertionError("rl.no_such_name did not raise AttributeError")
env = rl.make_env("pendulum")
env.close()
"""
    loaded, _ = _loaded_after(code, ("torch", "stable_baselines3"))
    assert loaded == ["stable_baselines3", "torch"]  # the API is there, loaded on first use
