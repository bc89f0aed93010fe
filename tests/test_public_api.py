from __future__ import annotations

import rewardlab as rl


def test_all_is_complete_and_sorted():
    modules = {"annotations", "cli", "compare", "config", "evaluation", "runs", "training"}  # submodules, not API names
    public = {n for n in dir(rl) if not n.startswith("_")} - modules
    assert set(rl.__all__) - {"__version__"} == public
    assert list(rl.__all__) == sorted(rl.__all__, key=str.lower) or list(rl.__all__) == sorted(rl.__all__)
