from __future__ import annotations

import base64
import json
import os
import pickle
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

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


class Payload:
    """Unpickling this creates the folder ``marker``: the harmless stand-in for planted code."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.mkdir, (self.marker,))


def plant_in_zip(zip_path: Path, marker: Path) -> None:
    """Replace a cloudpickled entry of an SB3 zip's ``data`` header with a :class:`Payload`."""
    with zipfile.ZipFile(zip_path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    data = json.loads(members["data"])
    data["policy_class"][":serialized:"] = base64.b64encode(pickle.dumps(Payload(marker))).decode()
    members["data"] = json.dumps(data).encode()
    with zipfile.ZipFile(zip_path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)


@pytest.fixture
def payload() -> SimpleNamespace:
    """Planting code in files someone could send: ``payload.pickle(marker)``, ``payload.plant_in_zip(zip, marker)``."""
    return SimpleNamespace(pickle=lambda marker: pickle.dumps(Payload(marker)), plant_in_zip=plant_in_zip)
