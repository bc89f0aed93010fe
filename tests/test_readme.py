"""The README's Python example runs (with a tiny budget here; the full one is a slow test)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert blocks, "README has no python example"
    return blocks[0]


def test_readme_example_runs_with_a_tiny_budget(capsys):
    code = _example()
    assert "model.learn(20_000)" in code
    code = code.replace("model.learn(20_000)", "model.learn(300)")
    code = code.replace(
        'rl.agents.make("sac", env, seed=0)', 'rl.agents.make("sac", env, seed=0, policy_kwargs={"net_arch": [16]})'
    )
    exec(compile(code, str(README), "exec"), {})
    out = capsys.readouterr().out
    assert "proxy return" in out and "env return" in out


@pytest.mark.slow
@pytest.mark.ci
def test_readme_example_learns_pendulum(capsys):
    namespace: dict = {}
    exec(compile(_example(), str(README), "exec"), namespace)
    result = namespace["result"]
    # the proxy leaves out the velocity cost; the ground-truth return of a swung-up pendulum is
    # about -150 to -200, and a random policy gets about -1200
    assert result.env_return > -400, result
