from __future__ import annotations

import csv
import dataclasses
import importlib.util
import json
import os
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from rewardlab import suite
from rewardlab.errors import ConfigError, MissingDependencyError
from rewardlab.preferences import PreferenceDataset, collect_segments
from rewardlab.preferences._clips import _SEPARATOR, render_segment, write_clip, write_pair_clips

HAS_PYGAME = importlib.util.find_spec("pygame") is not None


def _state_obs(env: Any) -> np.ndarray:
    return np.array(env.unwrapped.state, dtype=np.float32)


# The env's own observation function, read after set_state: what set_state must reproduce.
OBSERVE: dict[str, Callable[[Any], np.ndarray]] = {
    "cartpole": _state_obs,
    "cartpole_fixed": _state_obs,
    "mountaincar_continuous": _state_obs,
    "pendulum": lambda env: env.unwrapped._get_obs(),
    "acrobot": lambda env: env.unwrapped._get_ob(),
    "halfcheetah": lambda env: env.unwrapped._get_obs(),
    "hopper": lambda env: env.unwrapped._get_obs(),
    "cliffworld": lambda env: env.unwrapped.grid.observation(env.unwrapped.state),
    "maze": lambda env: env.unwrapped.grid.observation(env.unwrapped.state),
    "tomato": lambda env: env.unwrapped.grid.observation(env.unwrapped.cell, env.unwrapped.watered),
}
MUJOCO = {"halfcheetah", "hopper"}
CLASSIC = {"cartpole", "cartpole_fixed", "mountaincar_continuous", "pendulum", "acrobot"}


def test_every_suite_env_declares_set_state():
    assert {name for name in suite.names() if suite.get(name).set_state is not None} == set(OBSERVE)


@pytest.mark.parametrize("name", sorted(OBSERVE))
def test_set_state_reproduces_the_observation_and_the_next_step(name: str):
    seg = collect_segments(name, n_segments=2, length=5, seed=1)
    se = suite.get(name)
    assert se.set_state is not None
    env = se.make()
    env.reset(seed=123)  # a different state than the segments', so a no-op set_state fails
    try:
        for i in range(len(seg)):
            for t in np.flatnonzero(seg.mask[i]):
                for obs in (seg.obs[i, t], seg.next_obs[i, t]):
                    se.set_state(env, obs)
                    np.testing.assert_allclose(OBSERVE[name](env), obs, atol=1e-6, rtol=0)
                if name in ("cliffworld", "tomato") or seg.dones[i, t]:  # random moves or drying: no re-step check
                    continue  # cliffworld slips at random; nothing steps past a termination
                # the restored simulator steps to the stored next observation (deterministic dynamics)
                se.set_state(env, seg.obs[i, t])
                stepped = env.unwrapped.step(seg.actions[i, t])[0]
                np.testing.assert_allclose(stepped, seg.next_obs[i, t], atol=1e-4, rtol=0)
    finally:
        env.close()


def _skip_unless_renderable(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if name in CLASSIC and not HAS_PYGAME:
        pytest.skip("classic control renders with pygame, which is not installed")
    if name in MUJOCO:
        monkeypatch.setenv("MUJOCO_GL", os.environ.get("MUJOCO_GL", "egl"))


@pytest.mark.parametrize(
    "name", ["cliffworld", "maze", "hopper", "halfcheetah", "pendulum", "cartpole", "cartpole_fixed"]
)
def test_rendered_frames_match_a_live_render_of_the_same_state(name: str, monkeypatch: pytest.MonkeyPatch):
    _skip_unless_renderable(name, monkeypatch)
    seg = collect_segments(name, n_segments=2, length=5, seed=0)
    size = (64, 48) if name in MUJOCO else None  # small MuJoCo frames keep the test fast
    try:
        frames = render_segment(seg, 0, size=size)
    except ConfigError as exc:
        if "MUJOCO_GL" in str(exc):
            pytest.skip(f"no OpenGL backend for MuJoCo on this machine: {exc}")
        raise
    assert len(frames) == int(seg.mask[0].sum()) + 1
    for f in frames:
        assert f.dtype == np.uint8 and f.ndim == 3 and f.shape[2] == 3
    assert len({f.tobytes() for f in frames}) > 1  # the frames follow the segment
    # segment 0 starts at reset(seed=0): its first frame is what the live env shows after that reset
    kwargs: dict[str, Any] = {"render_mode": "rgb_array"}
    if size is not None:
        kwargs.update(width=size[0], height=size[1])
    env = suite.get(name).make(**kwargs)
    try:
        env.reset(seed=0)
        np.testing.assert_array_equal(frames[0], env.render())
    finally:
        env.close()


def _agent_cell(frame: np.ndarray, cols: int, cell: int = 24) -> int:
    ys, xs = np.nonzero(np.all(frame == (40, 90, 220), axis=2))
    return int(ys.mean() // cell) * cols + int(xs.mean() // cell)


def test_gridworld_frames_draw_the_agent_in_the_observed_cell():
    seg = collect_segments("maze", n_segments=1, length=5, seed=2)
    frames = render_segment(seg, 0)
    observed = [seg.obs[0, t] for t in range(5)] + [seg.next_obs[0, 4]]
    cols = suite.get("maze").make().unwrapped.grid.cols
    assert [_agent_cell(f, cols) for f in frames] == [int(np.argmax(o)) for o in observed]


def test_padding_is_not_rendered_and_size_is_applied():
    seg = collect_segments("cliffworld", n_segments=1, length=5, seed=0)
    mask = seg.mask.copy()
    mask[0, 3:] = False
    short = dataclasses.replace(seg, mask=mask)
    frames = render_segment(short, 0, size=(40, 20))
    assert len(frames) == 4 and frames[0].shape == (20, 40, 3)


@pytest.mark.skipif(not HAS_PYGAME, reason="classic control renders with pygame")
def test_headless_classic_control_renders_without_sdl_noise():
    code = (
        "import os; from rewardlab.preferences import collect_segments; "
        "from rewardlab.preferences._clips import render_segment; "
        "frames = render_segment(collect_segments('pendulum', n_segments=1, length=3, seed=0), 0); "
        "print(len(frames), os.environ['SDL_VIDEODRIVER'])"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")}
    env.pop("XDG_RUNTIME_DIR", None)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["4", "dummy"]
    assert "XDG_RUNTIME_DIR" not in done.stderr


def test_rendering_leaves_global_random_state_alone():
    import torch

    seg = collect_segments("cliffworld", n_segments=1, length=5, seed=0)
    np_state, py_state, torch_state = np.random.get_state(), random.getstate(), torch.random.get_rng_state()
    render_segment(seg, 0)
    after = np.random.get_state()
    assert all(np.array_equal(a, b) for a, b in zip(np_state, after, strict=True))
    assert random.getstate() == py_state
    assert torch.equal(torch.random.get_rng_state(), torch_state)


def _gif_frames(path: Path) -> tuple[list[np.ndarray], list[int]]:
    frames, durations = [], []
    with Image.open(path) as im:
        for k in range(im.n_frames):
            im.seek(k)
            frames.append(np.asarray(im.convert("RGB")))
            durations.append(int(im.info["duration"]))
    return frames, durations


def test_write_clip_writes_a_readable_gif_with_every_frame(tmp_path: Path):
    colors = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]
    frames = []
    for k, c in enumerate(colors):
        f = np.zeros((12, 16, 3), dtype=np.uint8)
        f[:, : 4 * (k + 1)] = c  # distinct frames: Pillow would merge identical neighbours
        frames.append(f)
    path = write_clip(frames, tmp_path / "clip.gif", fps=20)
    read, durations = _gif_frames(path)
    assert len(read) == 4 and durations == [50] * 4
    for got, want in zip(read, frames, strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    ("frames", "path", "match"),
    [
        ([], "a.gif", "at least one frame"),
        ([np.zeros((4, 4, 3), np.uint8), np.zeros((5, 4, 3), np.uint8)], "a.gif", r"frames\[1\]"),
        ([np.zeros((4, 4, 3), np.float32)], "a.gif", r"frames\[0\]"),
        ([np.zeros((4, 4, 3), np.uint8)], "a.mp4", "ffmpeg"),
    ],
    ids=["empty", "shapes", "dtype", "mp4"],
)
def test_write_clip_rejects_bad_input(tmp_path: Path, frames: list[np.ndarray], path: str, match: str):
    with pytest.raises(ConfigError, match=match):
        write_clip(frames, tmp_path / path)
    assert not (tmp_path / path).exists()


def _dataset(n_pairs: int = 3) -> PreferenceDataset:
    seg = collect_segments("cliffworld", n_segments=2 * n_pairs, length=5, seed=0)
    pairs = np.arange(2 * n_pairs).reshape(n_pairs, 2)[:, ::-1]  # right-hand index first: order matters
    return PreferenceDataset(seg, pairs, np.full(n_pairs, 0.5))


def test_pair_clip_shows_left_then_right_segment(tmp_path: Path):
    ds = _dataset()
    paths = write_pair_clips(ds, tmp_path / "clips", pair_ids=[2, 0], fps=10)
    assert [p.name for p in paths] == ["pair_2.gif", "pair_0.gif"]
    left, right = (int(s) for s in ds.pairs[2])
    want_left, want_right = render_segment(ds.segments, left), render_segment(ds.segments, right)
    frames, durations = _gif_frames(paths[0])
    h, w = want_left[0].shape[:2]
    assert frames[0].shape == (h, 2 * w + _SEPARATOR, 3)
    # identical neighbours are merged by Pillow, but the clip lasts one delay per frame
    assert sum(durations) == 100 * max(len(want_left), len(want_right))
    # below the drawn "left"/"right" text, each half is that segment's first frame
    np.testing.assert_array_equal(frames[0][24:, :w], want_left[0][24:])
    np.testing.assert_array_equal(frames[0][24:, w + _SEPARATOR :], want_right[0][24:])
    last = frames[-1]
    np.testing.assert_array_equal(last[24:, :w], want_left[-1][24:])
    np.testing.assert_array_equal(last[24:, w + _SEPARATOR :], want_right[-1][24:])


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_export_with_clips_writes_the_clip_column_and_labels_import_back(tmp_path: Path, suffix: str):
    ds = _dataset()
    path = ds.export_pairs_to_label(tmp_path / f"to_label{suffix}", pair_ids=[0, 2], clips=True, fps=5)
    if suffix == ".csv":
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
    else:
        rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["clip"] for r in rows] == ["to_label_clips/pair_0.gif", "to_label_clips/pair_2.gif"]
    for r in rows:
        with Image.open(path.parent / r["clip"]) as im:
            assert im.format == "GIF"
    assert sorted(p.name for p in (tmp_path / "to_label_clips").iterdir()) == ["pair_0.gif", "pair_2.gif"]
    # a person fills in the labels; the extra column does not disturb the import
    rows[0]["label"], rows[1]["label"] = "left", "right"
    if suffix == ".csv":
        with path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert ds.import_labels(path) == 2
    np.testing.assert_array_equal(ds.labels, [1.0, 0.5, 0.0])


def test_export_without_clips_has_no_clip_column(tmp_path: Path):
    path = _dataset().export_pairs_to_label(tmp_path / "x.csv")
    assert "clip" not in path.read_text().splitlines()[0].split(",")
    assert not (tmp_path / "x_clips").exists()


def test_env_without_set_state_gives_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    ds = _dataset()
    monkeypatch.setitem(suite._REGISTRY, "cliffworld", dataclasses.replace(suite.get("cliffworld"), set_state=None))
    with pytest.raises(ConfigError, match=r"cliffworld.*clips=False"):
        render_segment(ds.segments, 0)
    with pytest.raises(ConfigError, match="set_state"):
        ds.export_pairs_to_label(tmp_path / "x.csv", clips=True)
    assert not (tmp_path / "x.csv").exists()


def test_bad_arguments_are_rejected(tmp_path: Path):
    ds = _dataset()
    with pytest.raises(ConfigError, match="index"):
        render_segment(ds.segments, 99)
    with pytest.raises(ConfigError, match="size"):
        render_segment(ds.segments, 0, size=(0, 10))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="pair_ids"):
        write_pair_clips(ds, tmp_path, pair_ids=[5])
    with pytest.raises(ConfigError, match="fps"):
        write_pair_clips(ds, tmp_path, fps=0)


@pytest.mark.skipif(HAS_PYGAME, reason="pygame is installed: classic control renders")
def test_classic_control_without_pygame_names_the_install_command():
    seg = collect_segments("pendulum", n_segments=1, length=2, seed=0)
    with pytest.raises(MissingDependencyError, match=r"pip install.*classic.control.*clips=False"):
        render_segment(seg, 0)
