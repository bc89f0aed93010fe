from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest


@pytest.fixture(autouse=True, scope="session")
def _run_in_a_temporary_cwd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Run the whole session with its working directory in a temporary folder.

    MuJoCo appends every warning it logs (HalfCheetah-v5's deprecated ``settotalmass`` each time
    the model compiles, an unstable simulation) to ``MUJOCO_LOG.TXT`` in the working directory, so
    a test that builds a MuJoCo env from the repository root leaves that file in the checkout.
    Which tests build one is not visible from their names (they take an env name, or sample from
    the suite), and a list of them would rot, so every test runs elsewhere: nothing in the suite
    relies on the working directory (paths are taken from ``__file__`` or ``tmp_path``). The
    folder is a sibling of the tests' own ``tmp_path`` folders, so a MuJoCo log never shows up
    in a folder a test lists.
    """
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp_path_factory.mktemp("cwd"))
        yield


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
