"""Rendered clips of stored segments, so that a person can judge a pair before labelling it.

A segment stores observations, not pixels. Each frame is re-rendered: the env is built with
``render_mode="rgb_array"``, the simulator is restored from the stored (full) observation with the
suite env's :attr:`~rewardlab.suite.SuiteEnv.set_state`, and ``render()`` draws it. The restored
state is what the observation holds: classic control and MuJoCo observations (with the x
position, as the suite keeps it) and the gridworlds' one-hot cell are the whole rendered state.

:func:`watch_run` renders an episode of a trained agent the same way, with the proxy and the true
reward of each step drawn under its frame (``rewardlab watch``).

Clips are animated GIFs written with Pillow (a matplotlib dependency). MP4 is not offered: it
would need ffmpeg or imageio, which rewardlab does not depend on.

Rendering needs the env's own renderer: pygame for classic control
(``pip install "gymnasium[classic-control]"``) and an OpenGL backend for MuJoCo. On a machine
without a display, MuJoCo's default (GLFW) cannot open a context, so ``MUJOCO_GL`` is set to
``egl`` when it is unset there (set ``MUJOCO_GL=osmesa`` yourself where EGL is missing), and
pygame's ``SDL_VIDEODRIVER`` to ``dummy`` (its frames need no window).
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np

from rewardlab import suite
from rewardlab.data import Segments
from rewardlab.errors import ConfigError, MissingDependencyError, message
from rewardlab.runs import write_atomic

if TYPE_CHECKING:
    from rewardlab.preferences._dataset import PreferenceDataset

__all__ = ["render_segment", "watch_run", "write_clip", "write_pair_clips"]

_SEPARATOR = 4
"""Width in pixels of the dark bar between the left and the right segment of a pair clip."""
_NO_CLIPS = "Export without clips (clips=False)."


def _check_size(size: Any) -> tuple[int, int] | None:
    if size is None:
        return None
    ok = isinstance(size, Sequence) and len(size) == 2
    ok = ok and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 8 for v in size)
    if not ok:
        raise ConfigError(message("size", "None or (width, height) in pixels, each >= 8", size, "Pass (240, 240)."))
    return int(size[0]), int(size[1])


def _check_fps(fps: Any) -> float:
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 0 < fps <= 100:
        raise ConfigError(message("fps", "a number in (0, 100]", fps, "Pass fps=30."))
    return float(fps)


def _is_mujoco(suite_env: suite.SuiteEnv) -> bool:
    """True for a MuJoCo env (it renders at any requested size, 480x480 by default)."""
    try:
        entry = gym.spec(suite_env.gym_id).entry_point
    except gym.error.Error:
        return False
    return "mujoco" in str(entry)


class _Renderer:
    """One ``rgb_array`` env of a suite env, reused for every segment it renders."""

    def __init__(self, env: str, size: tuple[int, int] | None = None) -> None:
        if not env:
            raise ConfigError(message("segments.env", "a suite env name", env, "Collect segments with a suite env."))
        self.suite_env = suite.get(env)
        set_state = self.suite_env.set_state
        if set_state is None:
            raise ConfigError(
                message(
                    "env",
                    "a suite env with `set_state` (to render a stored observation)",
                    self.suite_env.name,
                    f"{_NO_CLIPS} Or give SuiteEnv({self.suite_env.name!r}, ...) a set_state that restores "
                    "the simulator from an observation.",
                )
            )
        self.set_state = set_state
        self.size = size
        kwargs: dict[str, Any] = {"render_mode": "rgb_array"}
        headless = not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
        if self._is_mujoco():
            if "MUJOCO_GL" not in os.environ and headless:
                # Without a display GLFW cannot open a context; EGL renders off-screen.
                os.environ["MUJOCO_GL"] = "egl"
            if size is not None:
                # render at the requested size instead of drawing 480x480 and shrinking it
                kwargs.update(width=size[0], height=size[1])
        elif headless:
            # pygame draws rgb_array frames on a Surface, no window; without a display SDL's probe
            # of the video drivers prints "XDG_RUNTIME_DIR is invalid" once per env built
            os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
        self.env = self.suite_env.make(**kwargs)
        try:
            # Render order enforcement needs a reset; a fixed seed uses the env's own generator,
            # so no global random state moves.
            self.env.reset(seed=0)
        except BaseException:
            self.env.close()
            raise

    def _is_mujoco(self) -> bool:
        return _is_mujoco(self.suite_env)

    def frame(self, obs: np.ndarray) -> np.ndarray:
        """The ``(H, W, 3)`` uint8 image of the state behind the full observation ``obs``."""
        self.set_state(self.env, np.asarray(obs))
        try:
            image = self.env.render()
        except gym.error.DependencyNotInstalled as exc:
            raise MissingDependencyError(
                f"Rendering {self.suite_env.name!r} needs {exc}. {_NO_CLIPS}"  # the message names the pip command
            ) from exc
        except Exception as exc:
            if self._is_mujoco() and type(exc).__name__ in {"FatalError", "RuntimeError", "AttributeError"}:
                raise ConfigError(
                    message(
                        "MUJOCO_GL",
                        "an OpenGL backend that works on this machine (egl, osmesa, or glfw with a display)",
                        os.environ.get("MUJOCO_GL"),
                        f"Set MUJOCO_GL=egl or MUJOCO_GL=osmesa before starting Python ({exc}). {_NO_CLIPS}",
                    )
                ) from exc
            raise
        frame = np.asarray(image)
        if frame.ndim != 3 or frame.shape[2] < 3:
            raise ConfigError(
                message(f"{self.suite_env.name}.render()", "an (H, W, 3) rgb_array", frame.shape, _NO_CLIPS)
            )
        frame = np.ascontiguousarray(frame[:, :, :3], dtype=np.uint8)
        if self.size is not None and frame.shape[:2] != (self.size[1], self.size[0]):
            # deferred: Pillow, only to encode clips
            from PIL import Image

            frame = np.asarray(Image.fromarray(frame).resize(self.size, Image.Resampling.NEAREST))
        return frame

    def segment(self, segments: Segments, index: int) -> list[np.ndarray]:
        n = len(segments)
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < n:
            raise ConfigError(message("index", f"a segment index in [0, {n})", index, "Pass an existing segment."))
        steps = np.flatnonzero(segments.mask[index])
        if len(steps) == 0:
            raise ConfigError(message(f"segment {index}", "at least one real step", 0, "It is all padding."))
        # the state before every real step, then the state after the last one
        observations = [segments.obs[index, t] for t in steps] + [segments.next_obs[index, steps[-1]]]
        return [self.frame(o) for o in observations]

    def close(self) -> None:
        self.env.close()


def render_segment(segments: Segments, index: int, *, size: tuple[int, int] | None = None) -> list[np.ndarray]:
    """Render the frames of one stored segment.

    Args:
        segments: segments of a suite env whose :attr:`~rewardlab.suite.SuiteEnv.set_state` is set.
        index: which segment.
        size: ``(width, height)`` of the frames; None keeps the env's own size.

    Returns:
        ``k + 1`` frames, each ``(H, W, 3)`` uint8, for a segment with ``k`` real steps: the
        state before each real step, then the state after the last one. Padding is not drawn.

    Raises:
        ConfigError: the env has no ``set_state``, a bad ``index`` or ``size``, or MuJoCo finds
            no OpenGL backend.
        MissingDependencyError: the env's renderer needs a package that is missing (pygame).

    Example:
        >>> from rewardlab.preferences import collect_segments
        >>> seg = collect_segments("cliffworld", n_segments=2, length=3, seed=0)
        >>> frames = render_segment(seg, 0)
        >>> len(frames), frames[0].shape, frames[0].dtype
        (4, (96, 192, 3), dtype('uint8'))
    """
    renderer = _Renderer(segments.env, _check_size(size))
    try:
        return renderer.segment(segments, index)
    finally:
        renderer.close()


def _gif_bytes(frames: Sequence[np.ndarray], fps: float) -> bytes:
    # deferred: Pillow, only to encode clips
    from PIL import Image

    if len(frames) == 0:
        raise ConfigError(message("frames", "at least one frame", 0, "Render a segment with real steps."))
    images = []
    for i, frame in enumerate(frames):
        arr = np.asarray(frame)
        if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8 or arr.shape != np.shape(frames[0]):
            raise ConfigError(
                message(f"frames[{i}]", f"an (H, W, 3) uint8 image like frames[0] {np.shape(frames[0])}", arr.shape)
            )
        images.append(Image.fromarray(arr))
    buffer = io.BytesIO()
    # GIF stores delays in hundredths of a second; Pillow merges identical consecutive frames
    # and adds up their delays, so the clip's duration is kept.
    duration = max(10, round(1000.0 / fps))
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], duration=duration, loop=0)
    return buffer.getvalue()


def write_clip(frames: Sequence[np.ndarray], path: str | Path, fps: float = 30) -> Path:
    """Write frames as an animated GIF (looping), atomically.

    Args:
        frames: ``(H, W, 3)`` uint8 images, all the same shape.
        path: the ``.gif`` file to write.
        fps: frames per second (GIF delays are whole hundredths of a second, so 30 plays at ~33).

    Returns:
        The path written.

    Raises:
        ConfigError: no frames, frames of different shapes or dtypes, a bad ``fps`` or a suffix
            other than ``.gif`` (MP4 needs ffmpeg, which rewardlab does not depend on).
    """

    p = Path(path)
    if p.suffix.lower() != ".gif":
        raise ConfigError(message("path", "a .gif file", str(path), "Only GIF is written (MP4 needs ffmpeg)."))
    write_atomic(p, _gif_bytes(frames, _check_fps(fps)))
    return p


def _side_by_side(left: list[np.ndarray], right: list[np.ndarray]) -> list[np.ndarray]:
    """Frames with ``left`` and ``right`` next to each other; the shorter one holds its last frame."""
    # deferred: Pillow, only to encode clips
    from PIL import Image, ImageDraw

    height = max(left[0].shape[0], right[0].shape[0])
    out = []
    for t in range(max(len(left), len(right))):
        a, b = left[min(t, len(left) - 1)], right[min(t, len(right) - 1)]
        canvas = np.full((height, a.shape[1] + _SEPARATOR + b.shape[1], 3), 40, dtype=np.uint8)
        canvas[: a.shape[0], : a.shape[1]] = a
        canvas[: b.shape[0], a.shape[1] + _SEPARATOR :] = b
        image = Image.fromarray(canvas)
        draw = ImageDraw.Draw(image)
        for x, text in ((4, "left"), (a.shape[1] + _SEPARATOR + 4, "right")):
            draw.text((x, 4), text, fill=(255, 255, 255), stroke_width=2, stroke_fill=(0, 0, 0))
        out.append(np.asarray(image))
    return out


def write_pair_clips(
    dataset: PreferenceDataset,
    out_dir: str | Path,
    pair_ids: Any = None,
    fps: float = 30,
    size: tuple[int, int] | None = None,
) -> list[Path]:
    """Write one GIF per pair, ``pair_<id>.gif``: the left segment, a thin bar, the right segment.

    "Left" is ``pairs[id, 0]``, the segment a label of 1 (``left``) prefers. A segment shorter than
    the other (an episode ended) holds its last frame. MP4 is not written (it needs ffmpeg).

    Args:
        dataset: a preference dataset of a suite env that has ``set_state``.
        out_dir: the folder for the clips (created if needed).
        pair_ids: the pairs to render (default: all).
        fps: frames per second of the clips.
        size: ``(width, height)`` of each segment's half; None keeps the env's own size.

    Returns:
        The paths written, in the order of ``pair_ids``.

    Raises:
        ConfigError: the env has no ``set_state`` (export without clips instead), unknown pair
            ids, a bad ``fps`` or ``size``; as :func:`render_segment`.
        MissingDependencyError: as :func:`render_segment`.
    """

    fps = _check_fps(fps)
    ids = dataset._check_pair_ids(pair_ids)
    renderer = _Renderer(dataset.segments.env or dataset.env, _check_size(size))
    root = Path(out_dir)
    paths = []
    try:
        for i in ids:
            left, right = (renderer.segment(dataset.segments, int(s)) for s in dataset.pairs[i])
            path = root / f"pair_{int(i)}.gif"
            write_atomic(path, _gif_bytes(_side_by_side(left, right), fps))
            paths.append(path)
    finally:
        renderer.close()
    return paths


# --- watching a trained agent ----------------------------------------------------------------------


def watch_run(
    run_dir: str | Path,
    out: str | Path | None = None,
    *,
    steps: int = 200,
    seed: int = 0,
    fps: float = 30,
    trust: bool = False,
    width: int | None = None,
) -> tuple[Path, dict[str, float]]:
    """Render one episode of a run's trained agent as a GIF with its proxy and true reward per step.

    The agent acts with its policy's mode from a fresh episode of the run's env (loaded as
    :func:`rewardlab.data.load_agent` loads it: only tensors, unless ``trust``). Under each frame a
    band shows the step, the reward the agent was trained on (proxy) and the env's own (true)
    reward, and both returns so far: how a proxy is gamed is seen, not only measured.

    Args:
        run_dir: a run directory of ``rewardlab train`` (its ``config.json`` and ``agent.zip``).
        out: the ``.gif`` to write (default ``<run_dir>/watch.gif``).
        steps: the most steps to show (the episode may end before).
        seed: seed of the episode.
        fps: frames per second of the clip.
        trust: let the agent's files be unpickled if nothing else reads them.
        width: scale the labelled frames down to this many pixels wide (a small clip for a
            report); None keeps the renderer's size.

    Returns:
        ``(path, {"proxy_return", "true_return", "steps"})``.

    Raises:
        ConfigError: not a run directory with an agent, or the env cannot render.
    """
    # deferred: the policy loader and the reward specs are only needed here
    from rewardlab.data import collect_segments
    from rewardlab.rewards import parse
    from rewardlab.runs import RunDir

    run = RunDir(Path(run_dir))
    config, agent = run.read_config(), run.agent_file()
    if not config.get("env") or agent is None:
        raise ConfigError(
            message("run_dir", "a run directory with config.json and agent.zip", str(run_dir), "Train it first.")
        )
    seg = collect_segments(config["env"], 1, int(steps), str(agent), seed=seed, deterministic=True, trust=trust)
    real = int(seg.mask[0].sum())
    reward_fn = parse(config.get("reward", "env")).build(seg.env)
    reward_fn.training = False
    proxy = np.asarray(reward_fn(seg.obs[0, :real], seg.actions[0, :real], seg.next_obs[0, :real], seg.dones[0, :real]))
    true = np.asarray(seg.env_rewards[0, :real], dtype=float)
    small = width is not None and _is_mujoco(suite.get(seg.env))  # MuJoCo draws at the size asked for
    frames = render_segment(seg, 0, size=(width, width) if small and width is not None else None)
    if width is not None:  # the text band is then drawn at that width, so it stays sharp
        frames = [_scaled(frame, width) for frame in frames]
    band = _BAND_WIDTH if width is None else width
    labelled = [_with_band(frame, t, proxy, true, band) for t, frame in enumerate(frames)]
    path = write_clip(labelled, out or run.path / "watch.gif", fps=fps)
    return path, {"proxy_return": float(proxy.sum()), "true_return": float(true.sum()), "steps": real}


def _scaled(frame: np.ndarray, width: int) -> np.ndarray:
    """``frame`` resized to ``width`` pixels wide, keeping its aspect (nearest pixel: a gridworld stays crisp)."""
    if frame.shape[1] == width:
        return frame
    # deferred: Pillow, only to draw clips
    from PIL import Image

    height = max(1, round(frame.shape[0] * width / frame.shape[1]))
    return np.asarray(Image.fromarray(frame).resize((width, height), Image.Resampling.NEAREST))


_BAND_WIDTH = 300
"""The narrowest frame the reward band's text is drawn under by default (narrower frames are scaled
up); the text fits in about 200 pixels."""


def _with_band(
    frame: np.ndarray, t: int, proxy: np.ndarray, true: np.ndarray, min_width: int = _BAND_WIDTH
) -> np.ndarray:
    """``frame`` above a text band: step ``t``'s proxy and true reward (of the step into it) and the sums.

    A frame narrower than ``min_width`` is first scaled up by a whole factor, pixel for pixel."""
    # deferred: Pillow, only to draw clips
    from PIL import Image, ImageDraw

    band = 30
    zoom = -(-min_width // frame.shape[1])  # small frames (gridworlds) grow, pixel for pixel, so the text fits
    if zoom > 1:
        frame = np.repeat(np.repeat(frame, zoom, axis=0), zoom, axis=1)
    canvas = Image.new("RGB", (frame.shape[1], frame.shape[0] + band), (20, 20, 20))
    canvas.paste(Image.fromarray(frame), (0, 0))
    draw = ImageDraw.Draw(canvas)
    done = min(t, len(proxy))  # frame t shows the state after t steps
    last = f"proxy {proxy[done - 1]:+.2f}  true {true[done - 1]:+.2f}" if done else "start"
    draw.text((4, frame.shape[0] + 2), f"t={done}  {last}", fill=(230, 230, 230))
    draw.text(
        (4, frame.shape[0] + 15),
        f"return: proxy {proxy[:done].sum():+.1f}  true {true[:done].sum():+.1f}",
        fill=(255, 200, 80),
    )
    return np.asarray(canvas)
