"""What an agent's checkpoint holds, in formats that cannot carry code.

An SB3 ``save`` pickles three things: the model's ``data`` header (cloudpickled spaces,
schedules, policy class), ``VecNormalize`` (pickle) and the replay buffer (pickle). Loading any of
them from a file someone sent runs whatever code they planted (safetensors exists for this
reason). rewardlab writes and reads instead:

- the agent's tensors from SB3's zip, read with SB3's ``set_parameters``
  (``torch.load(weights_only=True)``, the pickled header is never read) into a model rebuilt from
  its preset: :func:`load_weights`;
- ``VecNormalize`` statistics as JSON: :func:`normalization_state` / :func:`restore_normalization`;
- a replay buffer as ``.npz`` of plain arrays (``allow_pickle=False``): :func:`save_replay_buffer`
  / :func:`load_replay_buffer`.

Loading SB3's own pickles is left to callers that have an explicit trust flag
(:func:`rewardlab.data.load_agent`).
"""

from __future__ import annotations

import io
import math
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from rewardlab.errors import ConfigError, message
from rewardlab.runs import write_atomic

__all__ = [
    "load_replay_buffer",
    "load_weights",
    "normalization_state",
    "restore_normalization",
    "save_replay_buffer",
]

_NORMALIZATION_FORMAT = "rewardlab-vecnormalize-1"
_BUFFER_ARRAYS = ("observations", "next_observations", "actions", "rewards", "dones", "timeouts")


def normalization_state(norm: VecNormalize) -> dict[str, Any]:
    """``norm``'s statistics and settings as JSON-ready data (floats round-trip exactly)."""
    obs_rms = norm.__dict__.get("obs_rms")  # absent when observations are not normalised
    if obs_rms is not None and not isinstance(obs_rms, type(norm.ret_rms)):
        raise ConfigError(message("normalization", "VecNormalize over a Box observation", "a Dict observation"))
    return {
        "format": _NORMALIZATION_FORMAT,
        "norm_obs": bool(norm.norm_obs),
        "norm_reward": bool(norm.norm_reward),
        "clip_obs": float(norm.clip_obs),
        "clip_reward": float(norm.clip_reward),
        "gamma": float(norm.gamma),
        "epsilon": float(norm.epsilon),
        "obs_rms": _rms(obs_rms) if obs_rms is not None else None,
        "ret_rms": _rms(norm.ret_rms),
    }


def _rms(rms: Any) -> dict[str, Any]:
    return {"mean": np.asarray(rms.mean).tolist(), "var": np.asarray(rms.var).tolist(), "count": float(rms.count)}


def restore_normalization(state: Mapping[str, Any], venv: VecEnv, where: str = "vecnormalize.json") -> VecNormalize:
    """A ``VecNormalize`` over ``venv`` with the statistics of :func:`normalization_state`.

    Raises:
        ConfigError: ``state`` is not such a record, or its shapes do not fit ``venv``.
    """
    if not isinstance(state, Mapping) or state.get("format") != _NORMALIZATION_FORMAT:
        raise ConfigError(message(where, f"a {_NORMALIZATION_FORMAT} record", type(state).__name__, "Rerun the run."))
    try:
        norm = VecNormalize(
            venv,
            training=False,
            norm_obs=bool(state["norm_obs"]),
            norm_reward=bool(state["norm_reward"]),
            clip_obs=float(state["clip_obs"]),
            clip_reward=float(state["clip_reward"]),
            gamma=float(state["gamma"]),
            epsilon=float(state["epsilon"]),
        )
        for name in ("obs_rms", "ret_rms"):
            rms, saved = norm.__dict__.get(name), state[name]
            if rms is None or saved is None:
                if (rms is None) != (saved is None):
                    raise ValueError(f"{name} is saved for other settings")
                continue
            mean = np.asarray(saved["mean"], dtype=np.float64)
            var = np.asarray(saved["var"], dtype=np.float64)
            count = float(saved["count"])
            if mean.shape != np.shape(rms.mean) or var.shape != mean.shape or not math.isfinite(count):
                raise ValueError(f"{name} has shape {mean.shape}, the env's is {np.shape(rms.mean)}")
            rms.mean, rms.var, rms.count = mean, var, count
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(message(where, "statistics that fit the env", str(exc), "Rerun the run.")) from None
    return norm


def save_replay_buffer(buffer: ReplayBuffer, path: str | Path) -> None:
    """Write ``buffer``'s filled part and position as ``.npz`` (plain arrays, written atomically)."""
    if type(buffer) is not ReplayBuffer:
        raise ConfigError(
            message("replay_buffer", "SB3's plain ReplayBuffer", type(buffer).__name__, "Do not save the buffer.")
        )
    n = buffer.buffer_size if buffer.full else buffer.pos
    arrays = {
        name: getattr(buffer, name)[:n] for name in _BUFFER_ARRAYS if getattr(buffer, name, None) is not None
    }
    out = io.BytesIO()
    np.savez(out, pos=np.int64(buffer.pos), full=np.bool_(buffer.full), size=np.int64(buffer.buffer_size), **arrays)
    write_atomic(path, out.getvalue())


def load_replay_buffer(buffer: ReplayBuffer, path: str | Path) -> None:
    """Fill ``buffer`` (same size, same spaces) from :func:`save_replay_buffer`'s file.

    Raises:
        ConfigError: the file is not such an archive, or its shapes do not fit ``buffer``.
    """
    try:
        with np.load(path, allow_pickle=False) as saved:
            if int(saved["size"]) != buffer.buffer_size:
                raise ValueError(f"it holds a buffer of {int(saved['size'])}, the agent's has {buffer.buffer_size}")
            for name in _BUFFER_ARRAYS:
                target = getattr(buffer, name, None)
                if target is None or name not in saved:
                    continue
                values = saved[name]
                if values.shape[1:] != target.shape[1:] or len(values) > len(target):
                    raise ValueError(f"{name} has shape {values.shape}, the agent's buffer {target.shape}")
                target[: len(values)] = values
            buffer.pos, buffer.full = int(saved["pos"]), bool(saved["full"])
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ConfigError(message("replay_buffer", "a replay buffer saved by rewardlab", str(path), str(exc))) from None


def load_weights(model: BaseAlgorithm, path: str | Path) -> None:
    """Load the tensors of SB3's zip at ``path`` into ``model`` (built with the same preset).

    Reads the ``*.pth`` members with ``weights_only=True`` and never the pickled ``data`` header:
    the policy and optimiser states through SB3's ``set_parameters``, then the extra tensors
    (SAC's ``log_ent_coef``).

    Raises:
        ConfigError: the file is not an SB3 zip, or its tensors do not fit ``model``.
    """
    try:
        model.set_parameters(str(path), exact_match=True, device=model.device)
        with zipfile.ZipFile(path) as archive:
            if "pytorch_variables.pth" in archive.namelist():
                with archive.open("pytorch_variables.pth") as f:
                    variables = torch.load(io.BytesIO(f.read()), map_location=model.device, weights_only=True)
                for name, value in variables.items():
                    current = getattr(model, name, None)
                    if not isinstance(current, torch.Tensor) or current.shape != value.shape:
                        raise ValueError(f"tensor {name!r} does not fit the agent")
                    with torch.no_grad():
                        current.copy_(value)
    except (OSError, KeyError, ValueError, RuntimeError, zipfile.BadZipFile) as exc:
        raise ConfigError(
            message("policy", "an SB3 zip whose tensors fit the agent's preset", str(path), str(exc))
        ) from None
