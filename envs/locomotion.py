"""MuJoCo locomotion envs (``mujoco`` package) with their reward factors.

The forward-progress factor needs the torso's x position before and after the step, which the
standard observation leaves out. The suite therefore builds the env with
``exclude_current_positions_from_observation=False`` and lists dim 0 in ``hidden_obs``: the
reward wrappers see x, and the agent gets the standard observation without it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rewardlab.errors import ConfigError, message
from rewardlab.suite import Factor, SuiteEnv, register

_DT = 0.05  # HalfCheetah: frame_skip 5 x timestep 0.01
_HOPPER_DT = 0.008  # Hopper: frame_skip 4 x timestep 0.002


def _forward(dt: float):
    def forward_reward(o: np.ndarray, a: np.ndarray, n: np.ndarray, d: np.ndarray) -> np.ndarray:
        return (np.asarray(n[:, 0], dtype=np.float64) - np.asarray(o[:, 0], dtype=np.float64)) / dt

    return forward_reward


def _ctrl_cost(o: np.ndarray, a: np.ndarray, n: np.ndarray, d: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64).reshape(len(a), -1)
    return (a * a).sum(axis=1)  # the method skips np.sum's dispatch: ~1 us less per vector step


def _mujoco_set_state(env: Any, obs: np.ndarray) -> None:
    """``qpos = obs[:nq]``, ``qvel = obs[nq:]``: the suite keeps the x position in the observation.

    Hopper clips the observed velocities to [-10, 10], so a clipped velocity is restored clipped;
    the rendered pose depends on ``qpos`` only, and the observation is reproduced exactly.
    """
    raw = env.unwrapped
    o = np.asarray(obs, dtype=np.float64).reshape(-1)
    nq, nv = raw.model.nq, raw.model.nv
    if o.shape != (nq + nv,):
        raise ConfigError(
            message("obs", f"of shape ({nq + nv},), the x position included", o.shape, "Pass a raw suite observation.")
        )
    raw.set_state(o[:nq], o[nq:])


HALFCHEETAH = register(
    SuiteEnv(
        name="halfcheetah",
        gym_id="HalfCheetah-v5",
        description="Run forward as fast as possible with a planar cheetah; no termination.",
        factors=(
            Factor("forward_reward", _forward(_DT), True, "x velocity of the torso (Δx / dt)"),
            Factor("ctrl_cost", _ctrl_cost, False, "Σ a², the control effort"),
        ),
        ground_truth={"forward_reward": 1.0, "ctrl_cost": -0.1},
        potentials={"x_position": lambda o: np.asarray(o[:, 0], dtype=np.float64)},
        make_kwargs={"exclude_current_positions_from_observation": False},
        hidden_obs=(0,),
        moves=True,
        set_state=_mujoco_set_state,
    )
)

HOPPER = register(
    SuiteEnv(
        name="hopper",
        gym_id="Hopper-v5",
        description="Hop forward on one leg without falling; the episode ends when unhealthy.",
        factors=(
            Factor("forward_reward", _forward(_HOPPER_DT), True, "x velocity of the torso (Δx / dt)"),
            # Hopper-v5 pays the healthy reward only while healthy and terminates when not, so
            # the factor is exactly "this step did not terminate".
            Factor("healthy_reward", lambda o, a, n, d: 1.0 - np.asarray(d, dtype=np.float64), True, "1 while healthy"),
            Factor("ctrl_cost", _ctrl_cost, False, "Σ a², the control effort"),
            Factor("torso_height", lambda o, a, n, d: np.asarray(n[:, 1], dtype=np.float64), True, "z of the torso"),
        ),
        ground_truth={"forward_reward": 1.0, "healthy_reward": 1.0, "ctrl_cost": -0.001},
        potentials={"x_position": lambda o: np.asarray(o[:, 0], dtype=np.float64)},
        make_kwargs={"exclude_current_positions_from_observation": False},
        hidden_obs=(0,),
        moves=True,
        set_state=_mujoco_set_state,
    )
)
