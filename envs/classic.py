"""Classic-control envs with their reward factors.

Every factor is a batched function of ``(obs, action, next_obs, done)``; ``done`` is termination.
The ground truth of each env is the exact weighted sum of its factors that Gymnasium computes
(see the source of each env); ``tests/envs/test_ground_truth.py`` checks it on random rollouts.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.envs.classic_control.cartpole import CartPoleEnv

from rewardlab.suite import Factor, SuiteEnv, register


def _f(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def _set_state_vector(env: Any, obs: np.ndarray) -> None:
    """CartPole and MountainCarContinuous observe their whole state: it is the observation."""
    env.unwrapped.state = np.array(obs, dtype=np.float64).reshape(-1)


# CartPole's state factors and potentials, shared by CartPole-v1 and the fixed-horizon variant.
_CARTPOLE_SHAPE = (
    Factor("pole_angle", lambda o, a, n, d: np.abs(_f(n[:, 2])), False, "|pole angle| after the step (rad)"),
    Factor("cart_offset", lambda o, a, n, d: np.abs(_f(n[:, 0])), False, "|cart position| after the step"),
    Factor("cart_speed", lambda o, a, n, d: np.abs(_f(n[:, 1])), False, "|cart velocity| after the step"),
)
_CARTPOLE_POTENTIALS = {"upright": lambda o: -np.abs(_f(o[:, 2])), "centered": lambda o: -np.abs(_f(o[:, 0]))}

# --- CartPole-v1: +1 on every step, including the one that terminates. -----------------------
CARTPOLE = register(
    SuiteEnv(
        name="cartpole",
        gym_id="CartPole-v1",
        description="Balance a pole on a cart; +1 per step until it falls or the cart leaves the track.",
        factors=(
            Factor("alive", lambda o, a, n, d: np.ones(len(o)), True, "1 on every step (the env's reward)"),
            *_CARTPOLE_SHAPE,
        ),
        ground_truth={"alive": 1.0},
        potentials=_CARTPOLE_POTENTIALS,
        set_state=_set_state_vector,
    )
)


# --- FixedHorizonCartPole-v0: CartPole for reward learning (after seals, written anew). -------
# CartPole-v1 pays +1 on every step and ends the episode when the pole falls, so every segment
# of a surviving agent has the same return and preference labels carry no information, while the
# episode length leaks the reward (any positive learned reward "works"). This variant always runs
# 200 steps (CartPole-v0's limit): when the pole falls or the cart leaves the track the state
# freezes there (an absorbing state, as in Kostrikov et al. 2019) and every later step pays 0.
# seals keeps simulating for 500 steps instead. Frozen, the observations stay within
# CartPole-v1's bounds (tanh networks saturate on a cart 40 units away), and with 200 steps PPO
# with the zoo's CartPole values balances within 50k steps; at 500 steps, most of each batch is
# the fallen tail and the same PPO had not learned to balance after 100k.
FIXED_CARTPOLE_ID = "rewardlab/FixedHorizonCartPole-v0"


class FixedHorizonCartPoleEnv(CartPoleEnv):
    """CartPole-v1's dynamics without termination: 1 per step while balanced, then an absorbing 0."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fallen = False

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        self.fallen = False
        return super().reset(seed=seed, options=options)

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self.fallen:
            if not self.action_space.contains(action):
                raise ValueError(f"action {action!r} is outside {self.action_space}")
            return np.array(self.state, dtype=np.float32), 0.0, False, False, {}
        obs, _, out_of_bounds, truncated, info = super().step(action)
        self.fallen = out_of_bounds
        return obs, 0.0 if out_of_bounds else 1.0, False, truncated, info


if FIXED_CARTPOLE_ID not in gym.registry:
    gym.register(id=FIXED_CARTPOLE_ID, entry_point=FixedHorizonCartPoleEnv, max_episode_steps=200)

_X_LIMIT, _THETA_LIMIT = 2.4, 12 * 2 * np.pi / 360  # CartPoleEnv's x_threshold, theta_threshold_radians


def _in_bounds(n: np.ndarray) -> np.ndarray:
    n = _f(n)
    return ((np.abs(n[:, 0]) <= _X_LIMIT) & (np.abs(n[:, 2]) <= _THETA_LIMIT)).astype(np.float64)


def _fixed_cartpole_set_state(env: Any, obs: np.ndarray) -> None:
    """The observation is the state; out of bounds, the pole has fallen and the env stays frozen."""
    _set_state_vector(env, obs)
    env.unwrapped.fallen = not bool(_in_bounds(_f(obs).reshape(1, -1))[0])


CARTPOLE_FIXED = register(
    SuiteEnv(
        name="cartpole_fixed",
        gym_id=FIXED_CARTPOLE_ID,
        description="CartPole that never terminates (200 steps): 1 per step while balanced, then frozen at 0.",
        factors=(
            Factor("upright", lambda o, a, n, d: _in_bounds(n), True, "1 while the pole is up, cart on the track"),
            *_CARTPOLE_SHAPE,
        ),
        ground_truth={"upright": 1.0},
        potentials=_CARTPOLE_POTENTIALS,
        set_state=_fixed_cartpole_set_state,
    )
)


# --- Acrobot-v1: -1 per step until the tip swings above the bar (then 0). --------------------
def _acrobot_height(o: np.ndarray) -> np.ndarray:
    # obs = [cos t1, sin t1, cos t2, sin t2, dt1, dt2]; tip height = -cos(t1) - cos(t1 + t2)
    c1, s1, c2, s2 = (_f(o[:, i]) for i in range(4))
    return -c1 - (c1 * c2 - s1 * s2)


def _acrobot_set_state(env: Any, obs: np.ndarray) -> None:
    # obs = [cos t1, sin t1, cos t2, sin t2, dt1, dt2] -> state [t1, t2, dt1, dt2]
    o = _f(obs).reshape(-1)
    env.unwrapped.state = np.array([np.arctan2(o[1], o[0]), np.arctan2(o[3], o[2]), o[4], o[5]])


ACROBOT = register(
    SuiteEnv(
        name="acrobot",
        gym_id="Acrobot-v1",
        description="Swing the tip of a two-link pendulum above the bar; -1 per step until it does.",
        factors=(
            Factor("time_cost", lambda o, a, n, d: 1.0 - _f(d), False, "1 on every step that does not reach the goal"),
            Factor("tip_height", lambda o, a, n, d: _acrobot_height(n), True, "height of the tip after the step"),
            Factor("joint_speed", lambda o, a, n, d: np.abs(_f(n[:, 4])) + np.abs(_f(n[:, 5])), False, "|dθ1| + |dθ2|"),
        ),
        ground_truth={"time_cost": -1.0},
        potentials={"tip_height": _acrobot_height},
        set_state=_acrobot_set_state,
    )
)


# --- Pendulum-v1: -(θ² + 0.1 θ'² + 0.001 u²), computed on the state *before* the step. -------
def _pendulum_angle(o: np.ndarray) -> np.ndarray:
    return np.arctan2(_f(o[:, 1]), _f(o[:, 0]))  # normalised to [-π, π], as the env's angle_normalize


def _pendulum_set_state(env: Any, obs: np.ndarray) -> None:
    # obs = [cos θ, sin θ, θ'] -> state [θ, θ']
    o = _f(obs).reshape(-1)
    env.unwrapped.state = np.array([np.arctan2(o[1], o[0]), o[2]])


PENDULUM = register(
    SuiteEnv(
        name="pendulum",
        gym_id="Pendulum-v1",
        description="Swing a pendulum up and hold it upright with little torque.",
        factors=(
            Factor("angle_cost", lambda o, a, n, d: _pendulum_angle(o) ** 2, False, "θ² before the step (0 = upright)"),
            Factor("velocity_cost", lambda o, a, n, d: _f(o[:, 2]) ** 2, False, "θ'² before the step"),
            Factor(
                "torque_cost",
                lambda o, a, n, d: np.clip(_f(a).reshape(len(a), -1)[:, 0], -2.0, 2.0) ** 2,
                False,
                "u², the torque clipped to [-2, 2] as the env applies it",
            ),
        ),
        ground_truth={"angle_cost": -1.0, "velocity_cost": -0.1, "torque_cost": -0.001},
        potentials={"upright": lambda o: _f(o[:, 0]), "angle": lambda o: -np.abs(_pendulum_angle(o))},
        set_state=_pendulum_set_state,
    )
)


# --- MountainCarContinuous-v0: +100 at the goal, -0.1 a² per step. --------------------------
MOUNTAINCAR = register(
    SuiteEnv(
        name="mountaincar_continuous",
        gym_id="MountainCarContinuous-v0",
        description="Drive an underpowered car up a hill; +100 at the flag, -0.1·a² per step.",
        factors=(
            Factor("goal_reached", lambda o, a, n, d: _f(d), True, "1 on the step that reaches the flag"),
            Factor(
                "action_cost",
                lambda o, a, n, d: _f(a).reshape(len(a), -1)[:, 0] ** 2,
                False,
                "a², the unclipped action as the env charges it",
            ),
            Factor("position", lambda o, a, n, d: _f(n[:, 0]), True, "car position after the step (goal at 0.45)"),
            Factor("speed", lambda o, a, n, d: np.abs(_f(n[:, 1])), True, "|velocity| after the step"),
        ),
        ground_truth={"goal_reached": 100.0, "action_cost": -0.1},
        potentials={"height": lambda o: np.sin(3.0 * _f(o[:, 0])), "position": lambda o: _f(o[:, 0])},
        set_state=_set_state_vector,
    )
)
