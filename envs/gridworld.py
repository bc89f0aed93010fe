"""Tabular gridworlds with reward factors and an exact MDP export.

Two envs on one :class:`GridWorldEnv`, both with ``Discrete(4)`` actions (0 up, 1 right, 2 down,
3 left) and a one-hot observation of the agent's cell (``Box(0, 1, (rows * cols,))``, which SB3's
MLP policies learn from as from a table):

- ``cliffworld`` (``rewardlab/CliffWorld-v0``): a 4x8 cliff walk. Start bottom-left, goal
  bottom-right, the six cells between them a cliff. Slippery: with probability 0.1 the agent
  moves in a uniformly random direction (possibly the intended one) instead of the chosen one.
  Falling off the cliff or reaching the goal ends the episode; 100 steps at most.
- ``maze`` (``rewardlab/RandomMaze-v0``): a 12x12 maze whose walls are drawn from a fixed seed
  (every free cell is connected to the goal in the bottom-right corner). Deterministic moves;
  each episode starts in a uniformly random free cell other than the goal; 200 steps at most.

Moving into a wall or off the grid leaves the agent where it is. The env's reward on a step is
``10 · [reached the goal] − 10 · [fell off the cliff] − 0.1`` (the step cost is paid on every
step, including the last). Both envs discount with γ = 0.99 in their exact MDP (the PPO and DQN
presets use the same γ), where goal and cliff cells are absorbing states with zero reward
(:mod:`rewardlab.metrics._tabular` describes the convention).

Factors are batched numpy functions of ``(obs, action, next_obs, done)`` that read the cell
from the one-hot observation (``argmax``); ``done`` is termination.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np

from rewardlab.suite import Factor, SuiteEnv, register

if TYPE_CHECKING:
    from rewardlab.metrics import TabularEnvModel

GOAL_REWARD = 10.0
"""Paid on the step that enters a goal cell."""
CLIFF_PENALTY = 10.0
"""Charged on the step that enters a cliff cell (the episode ends there)."""
STEP_COST = 0.1
"""Charged on every step."""
GAMMA = 0.99
"""Discount of the exported MDPs (the presets' ``gamma``)."""

MOVES = np.array([[-1, 0], [0, 1], [1, 0], [0, -1]])
"""Row/column offsets of actions 0-3: up, right, down, left."""

CLIFF_LAYOUT = (
    "........",
    "........",
    "........",
    "SCCCCCCG",
)
"""``#`` wall, ``.`` free, ``S`` start, ``G`` goal (terminal), ``C`` cliff (terminal)."""
CLIFF_SLIP = 0.1


def random_maze(rows: int = 12, cols: int = 12, *, seed: int = 3, wall_density: float = 0.3) -> tuple[str, ...]:
    """A random maze layout: walls drawn i.i.d. from ``seed``, goal in the bottom-right corner.

    Free cells cut off from the goal become walls, so every free cell can reach it. No ``S``
    cell: the env then starts uniformly among the free non-goal cells.
    """
    rng = np.random.default_rng(seed)
    wall = rng.random((rows, cols)) < wall_density
    goal = (rows - 1, cols - 1)
    wall[goal] = False
    reach = np.zeros_like(wall)
    reach[goal] = True
    queue = deque([goal])
    while queue:
        r, c = queue.popleft()
        for dr, dc in MOVES:
            nr, nc = r + dr, c + dc
            if 0 <= nr < rows and 0 <= nc < cols and not wall[nr, nc] and not reach[nr, nc]:
                reach[nr, nc] = True
                queue.append((nr, nc))
    chars = np.where(reach, ".", "#")
    chars[goal] = "G"
    return tuple("".join(row) for row in chars)


MAZE_LAYOUT = random_maze()


ACTION_NAMES = ("up", "right", "down", "left")
"""The names of actions 0-3 (the order of ``MOVES``)."""


def parse_layout(layout: Sequence[str], allowed: str) -> tuple[np.ndarray, int, int]:
    """A layout's characters, flattened row-major, and its rows and columns (every gridworld's parser).

    Raises:
        ValueError: rows of different lengths, or a character outside ``allowed``.
    """
    if not layout or len({len(row) for row in layout}) != 1:
        raise ValueError(f"`layout` must be equal-length rows (got {list(layout)!r})")
    chars = np.array([list(row) for row in layout])
    unknown = set(chars.ravel()) - set(allowed)
    if unknown:
        raise ValueError(f"`layout` must use only {allowed!r} (got {sorted(unknown)!r})")
    return chars.ravel(), int(chars.shape[0]), int(chars.shape[1])


class Grid:
    """The static part of a gridworld: cells, walls, terminal cells, moves and distances.

    States are the free (non-wall) cells in row-major order; observations are one-hot over
    *all* cells, so state ``s`` emits the one-hot of cell ``cells[s]``.
    """

    def __init__(self, layout: Sequence[str]) -> None:
        flat, self.rows, self.cols = parse_layout(layout, "#.SGC")
        self.n_cells = self.rows * self.cols
        self.cells = np.flatnonzero(flat != "#")
        """``(S,)`` the cell of each state."""
        self.state_of = np.full(self.n_cells, -1)
        self.state_of[self.cells] = np.arange(len(self.cells))
        self.n_states = len(self.cells)
        self.goal = flat[self.cells] == "G"
        self.cliff = flat[self.cells] == "C"
        if not self.goal.any():
            raise ValueError("`layout` must have a goal cell 'G'")
        self.terminal = self.goal | self.cliff
        starts = np.flatnonzero(flat[self.cells] == "S")
        self.starts = starts if len(starts) else np.flatnonzero(~self.terminal)
        """States the env resets to, uniformly."""
        # next_state[s, d]: where moving in direction d from state s leads (blocked -> stay).
        rc = np.stack(np.divmod(self.cells, self.cols), axis=1)
        target = rc[:, None, :] + MOVES[None, :, :]
        inside = (target[..., 0] >= 0) & (target[..., 0] < self.rows) & (target[..., 1] >= 0)
        inside &= target[..., 1] < self.cols
        cell = np.where(inside, target[..., 0] * self.cols + target[..., 1], 0)
        nxt = np.where(inside, self.state_of[cell], -1)
        self.next_state = np.where(nxt >= 0, nxt, np.arange(self.n_states)[:, None])
        # Per cell (for the factors, which see cells): goal/cliff flags and distances to the goal.
        self.goal_cell = np.zeros(self.n_cells, dtype=bool)
        self.goal_cell[self.cells[self.goal]] = True
        self.cliff_cell = np.zeros(self.n_cells, dtype=bool)
        self.cliff_cell[self.cells[self.cliff]] = True
        goal_rc = rc[self.goal]
        all_rc = np.stack(np.divmod(np.arange(self.n_cells), self.cols), axis=1)
        self.manhattan = np.abs(all_rc[:, None, :] - goal_rc[None, :, :]).sum(axis=2).min(axis=1).astype(np.float64)
        self.path_length = self._path_lengths()
        near = np.zeros(self.n_cells, dtype=bool)
        for d in range(4):
            near[self.cells[self.cliff[self.next_state[:, d]] & ~self.cliff]] = True
        self.cliff_adjacent_cell = near

    def _path_lengths(self) -> np.ndarray:
        """Per cell: fewest moves to the goal, never stepping through a terminal cell (BFS)."""
        dist = np.full(self.n_states, np.inf)
        dist[self.goal] = 0.0
        queue = deque(np.flatnonzero(self.goal).tolist())
        while queue:
            t = queue.popleft()
            for s in np.flatnonzero((self.next_state == t).any(axis=1)):
                # s reaches t in one move; expand only through non-terminal states.
                if np.isinf(dist[s]) and not self.terminal[s]:
                    dist[s] = dist[t] + 1.0
                    queue.append(int(s))
        # Cliff cells are entered but never crossed: one more than their best neighbour.
        for s in np.flatnonzero(self.cliff):
            dist[s] = 1.0 + min(dist[self.next_state[s]])
        out = np.full(self.n_cells, np.inf)
        out[self.cells] = dist
        worst = np.max(dist[np.isfinite(dist)])
        return np.where(np.isfinite(out), out, worst + 1.0)

    def observation(self, state: int | np.ndarray) -> np.ndarray:
        """One-hot observation(s) of state(s): ``(n_cells,)`` or ``(batch, n_cells)`` float32."""
        states = np.atleast_1d(np.asarray(state))
        obs = np.zeros((len(states), self.n_cells), dtype=np.float32)
        obs[np.arange(len(states)), self.cells[states]] = 1.0
        return obs if np.ndim(state) else obs[0]

    def transitions(self, slip: float) -> np.ndarray:
        """The exact ``(S, 4, S)`` dynamics; terminal states are absorbing self-loops."""
        n = self.n_states
        t = np.zeros((n, 4, n))
        states = np.arange(n)
        for a in range(4):
            for d in range(4):
                p = (1.0 - slip) * (d == a) + slip / 4.0
                if p > 0.0:
                    t[states, a, self.next_state[:, d]] += p  # one target per state: no repeated index
        t[self.terminal] = 0.0
        for s in np.flatnonzero(self.terminal):
            t[s, :, s] = 1.0
        return t

    def initial(self) -> np.ndarray:
        """``(S,)`` reset distribution: uniform over :attr:`starts`."""
        mu = np.zeros(self.n_states)
        mu[self.starts] = 1.0 / len(self.starts)
        return mu


class GridWorldEnv(gym.Env[np.ndarray, np.int64]):
    """A gridworld with goal and cliff cells, optional slip, and a one-hot observation.

    Args:
        layout: rows of ``#`` (wall), ``.`` (free), ``S`` (start), ``G`` (goal), ``C`` (cliff).
            Without ``S`` the env starts uniformly among the free non-terminal cells.
        slip: probability that the move goes in a uniformly random direction instead.
        render_mode: None, ``"ansi"`` (text) or ``"rgb_array"`` (``(rows * 24, cols * 24, 3)`` uint8).

    ``state`` is the index of the agent's free cell (the exported MDP's state); setting it puts
    the agent there. Stepping from a terminal state (without a reset) stays there with reward 0.
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}  # noqa: RUF012 - Gymnasium declares it a plain attribute

    def __init__(self, layout: Sequence[str] = CLIFF_LAYOUT, slip: float = 0.0, render_mode: str | None = None):
        if not 0.0 <= slip < 1.0:
            raise ValueError(f"`slip` must be in [0, 1) (got {slip!r})")
        self.grid = Grid(layout)
        self.slip = float(slip)
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Box(0.0, 1.0, shape=(self.grid.n_cells,), dtype=np.float32)
        self.action_space = gym.spaces.Discrete(4)
        self.state = int(self.grid.starts[0])

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        starts = self.grid.starts
        self.state = int(starts[self.np_random.integers(len(starts))])
        return self.grid.observation(self.state), {"state": self.state}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        a = int(action)
        if not 0 <= a < 4:
            raise ValueError(f"`action` must be in 0..3 (got {action!r})")
        g = self.grid
        if g.terminal[self.state]:
            return g.observation(self.state), 0.0, True, False, {"state": self.state}
        direction = a
        # Draw only when slippery, so a deterministic env consumes no randomness.
        if self.slip > 0.0 and self.np_random.random() < self.slip:
            direction = int(self.np_random.integers(4))
        self.state = int(g.next_state[self.state, direction])
        reward = -STEP_COST + GOAL_REWARD * float(g.goal[self.state]) - CLIFF_PENALTY * float(g.cliff[self.state])
        return g.observation(self.state), reward, bool(g.terminal[self.state]), False, {"state": self.state}

    def render(self) -> str | np.ndarray | None:
        if self.render_mode == "rgb_array":
            return self._render_rgb()
        if self.render_mode != "ansi":
            return None
        g = self.grid
        chars = np.full(g.n_cells, "#")
        chars[g.cells] = "."
        chars[g.cells[g.goal]] = "G"
        chars[g.cells[g.cliff]] = "C"
        chars[g.cells[self.state]] = "A"
        return "\n".join("".join(row) for row in chars.reshape(g.rows, g.cols))

    def _render_rgb(self, cell: int = 24) -> np.ndarray:
        g = self.grid
        colors = np.full((g.n_cells, 3), 60, dtype=np.uint8)  # walls dark grey
        colors[g.cells] = 235  # free cells near white
        colors[g.cells[g.goal]] = (60, 170, 80)
        colors[g.cells[g.cliff]] = (200, 60, 50)
        image = np.repeat(np.repeat(colors.reshape(g.rows, g.cols, 3), cell, axis=0), cell, axis=1)
        # grid lines, so that a one-cell move is visible
        image[::cell] = image[:, ::cell] = 150
        r, c = divmod(int(g.cells[self.state]), g.cols)
        yy, xx = np.mgrid[:cell, :cell] - (cell - 1) / 2.0
        disc = yy**2 + xx**2 <= (cell * 0.35) ** 2
        image[r * cell : (r + 1) * cell, c * cell : (c + 1) * cell][disc] = (40, 90, 220)  # the agent
        return image


# --- registration ---------------------------------------------------------------------------

CLIFF_ID = "rewardlab/CliffWorld-v0"
MAZE_ID = "rewardlab/RandomMaze-v0"
_ENTRY = "rewardlab_envs.gridworld:GridWorldEnv"


def register_gym_envs() -> None:
    """Register both envs with Gymnasium; idempotent (re-registering an id makes Gymnasium warn)."""
    if CLIFF_ID not in gym.registry:
        gym.register(
            id=CLIFF_ID, entry_point=_ENTRY, max_episode_steps=100, kwargs={"layout": CLIFF_LAYOUT, "slip": CLIFF_SLIP}
        )
    if MAZE_ID not in gym.registry:
        gym.register(id=MAZE_ID, entry_point=_ENTRY, max_episode_steps=200, kwargs={"layout": MAZE_LAYOUT, "slip": 0.0})


register_gym_envs()


def _f(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def _cell(obs: np.ndarray) -> np.ndarray:
    return np.argmax(np.asarray(obs).reshape(len(obs), -1), axis=1)


def _factors(grid: Grid, cliff: bool) -> tuple[Factor, ...]:
    def goal_reached(obs: np.ndarray, action: np.ndarray, next_obs: np.ndarray, done: np.ndarray) -> np.ndarray:
        return _f(np.asarray(done, dtype=bool) & grid.goal_cell[_cell(next_obs)])

    def cliff_fall(obs: np.ndarray, action: np.ndarray, next_obs: np.ndarray, done: np.ndarray) -> np.ndarray:
        return _f(np.asarray(done, dtype=bool) & grid.cliff_cell[_cell(next_obs)])

    def step_cost(obs: np.ndarray, action: np.ndarray, next_obs: np.ndarray, done: np.ndarray) -> np.ndarray:
        return np.ones(len(obs))

    def progress(obs: np.ndarray, action: np.ndarray, next_obs: np.ndarray, done: np.ndarray) -> np.ndarray:
        return grid.path_length[_cell(obs)] - grid.path_length[_cell(next_obs)]

    def wall_bump(obs: np.ndarray, action: np.ndarray, next_obs: np.ndarray, done: np.ndarray) -> np.ndarray:
        return _f(_cell(obs) == _cell(next_obs))

    def cliff_adjacent(obs: np.ndarray, action: np.ndarray, next_obs: np.ndarray, done: np.ndarray) -> np.ndarray:
        return _f(grid.cliff_adjacent_cell[_cell(next_obs)])

    out = [Factor("goal_reached", goal_reached, True, "1 on the step that enters the goal")]
    if cliff:
        out.append(Factor("cliff_fall", cliff_fall, False, "1 on the step that falls off the cliff"))
    out += [
        Factor("step_cost", step_cost, False, "1 on every step"),
        Factor("progress", progress, True, "decrease of the shortest-path distance to the goal"),
        Factor("wall_bump", wall_bump, False, "1 when the agent did not move (a wall or the edge)"),
    ]
    if cliff:
        out.append(Factor("cliff_adjacent", cliff_adjacent, False, "1 when the step ends next to the cliff"))
    return tuple(out)


def _set_state_from(grid: Grid) -> Any:
    def set_state(env: Any, obs: np.ndarray) -> None:
        """The agent's cell is the argmax of the one-hot observation."""
        cell = int(np.argmax(np.asarray(obs).reshape(-1)))
        if grid.state_of[cell] < 0:
            raise ValueError(f"`obs` must mark a free cell (got the wall cell {cell})")
        env.unwrapped.state = int(grid.state_of[cell])

    return set_state


def _potentials(grid: Grid) -> dict[str, Any]:
    return {
        "goal_distance": lambda o: -grid.path_length[_cell(o)],
        "manhattan": lambda o: -grid.manhattan[_cell(o)],
    }


_TABULAR: dict[str, TabularEnvModel] = {}


def _tabular(name: str, layout: Sequence[str], slip: float) -> TabularEnvModel:
    # Deferred: rewardlab.metrics loads scipy, and listing the suite (`rewardlab envs`) needs no MDP.
    from rewardlab.metrics import TabularEnvModel, TabularMDP

    if name not in _TABULAR:
        grid = Grid(layout)
        states = np.arange(grid.n_states)
        _TABULAR[name] = TabularEnvModel(
            env=name,
            mdp=TabularMDP(grid.transitions(slip), gamma=GAMMA, initial=grid.initial()),
            observations=grid.observation(states),
            actions=np.arange(4, dtype=np.int64),
            terminal=grid.terminal,
            state_names=tuple(f"({r}, {c})" for r, c in zip(*np.divmod(grid.cells, grid.cols), strict=True)),
            action_names=ACTION_NAMES,
        )
    return _TABULAR[name]


_CLIFF_GRID = Grid(CLIFF_LAYOUT)
_MAZE_GRID = Grid(MAZE_LAYOUT)

CLIFFWORLD = register(
    SuiteEnv(
        name="cliffworld",
        gym_id=CLIFF_ID,
        description="Slippery 4x8 cliff walk: reach the far corner (+10) without falling (-10), -0.1 per step.",
        factors=_factors(_CLIFF_GRID, cliff=True),
        ground_truth={"goal_reached": GOAL_REWARD, "cliff_fall": -CLIFF_PENALTY, "step_cost": -STEP_COST},
        potentials=_potentials(_CLIFF_GRID),
        tabular=lambda: _tabular("cliffworld", CLIFF_LAYOUT, CLIFF_SLIP),
        set_state=_set_state_from(_CLIFF_GRID),
    )
)

MAZE = register(
    SuiteEnv(
        name="maze",
        gym_id=MAZE_ID,
        description="12x12 random maze from a random start: reach the goal corner (+10), -0.1 per step.",
        factors=_factors(_MAZE_GRID, cliff=False),
        ground_truth={"goal_reached": GOAL_REWARD, "step_cost": -STEP_COST},
        potentials=_potentials(_MAZE_GRID),
        tabular=lambda: _tabular("maze", MAZE_LAYOUT, 0.0),
        set_state=_set_state_from(_MAZE_GRID),
    )
)
