"""The ``table`` reward kind: a sparse table of values over the states of an env's exact model.

A table reward is data: a list of non-zero entries, each a state index of the env's exact
tabular model (:func:`rewardlab.metrics.tabular_model`; for the gridworlds, the free cells in
row-major order), an action index for ``on = "state_action"`` rewards, and a value. Every
state-action pair (or entered state) not listed earns 0. In TOML::

    kind = "table"
    env = "cliffworld"
    on = "state_action"

    [[entries]]
    state = 23
    action = 2
    value = 10.0

``on`` says what an entry pays for: ``"state_action"`` pays ``R(s, a)`` for taking action ``a``
in state ``s`` (whatever the next state), ``"next_state"`` pays ``R(s')`` on the step that enters
``s'``. :func:`rewardlab.design.explicable` writes such tables; they train, compare and sweep as
every other kind does.

Built on an env, the table finds the state of each observation among the observations the exact
model emits (one batched lookup: a fixed random projection, then an exact comparison), so it
needs an env with a tabular model (``SuiteEnv.tabular``) whose states emit distinct observations.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import numpy as np
from pydantic import ConfigDict, Field, model_validator

from rewardlab import suite
from rewardlab.config import Config, NonNegativeInt, OneOf
from rewardlab.errors import SpecError, message
from rewardlab.rewards._spec import Array, Computed, Number, RewardFunction, RewardSpec

if TYPE_CHECKING:  # a type only: the metrics layer builds these models from the suite's callables
    from rewardlab.metrics import TabularEnvModel

__all__ = ["Table", "TableEntry"]

TABLE_ON = ("state_action", "next_state")
"""What an entry of a :class:`Table` pays for: taking an action in a state, or entering a state."""

_MATCH_TOL = 1e-5
"""How far (max abs) an observation may be from the model's to count as that state (float32 rounding)."""


class TableEntry(Config):
    """One non-zero entry of a :class:`Table`: a state (and action) of the env's exact model, and its value."""

    model_config = ConfigDict(frozen=True)
    error_class = SpecError

    state: NonNegativeInt
    """Index of the state in the env's exact tabular model (gridworlds: free cells in row-major order)."""
    action: NonNegativeInt | None = None
    """Index of the action (``on = "state_action"``); absent for ``on = "next_state"``."""
    value: Annotated[float, Number()]
    """The reward paid."""


class Table(RewardSpec):
    """A sparse reward table over the states (and actions) of an env's exact tabular model.

    Example:
        >>> import rewardlab as rl
        >>> spec = rl.rewards.Table(env="cliffworld", entries=[{"state": 23, "action": 2, "value": 10.0}])
        >>> spec.describe()
        ['in state 23, action 2: +10']
        >>> fn = spec.build("cliffworld")
        >>> model = rl.metrics.tabular_model("cliffworld")
        >>> obs = model.observations[[23, 23]]
        >>> fn(obs, np.array([2, 1]), obs, np.array([False, False])).tolist()
        [10.0, 0.0]
    """

    kind = "table"
    ON_CHOICES: ClassVar[tuple[str, ...]] = TABLE_ON
    """The values of :attr:`on`."""

    def __init__(self, /, *args: Any, **data: Any) -> None:  # fields by position too (RewardSpec.__init__)
        super().__init__(*args, **data)

    env: str | None = None
    """The suite env whose exact model numbers the states; None: any env whose model has those states."""
    on: Annotated[str, OneOf(TABLE_ON, "what a table entry pays for")] = "state_action"
    """``"state_action"``: an entry pays ``R(s, a)`` for action ``a`` in state ``s``; ``"next_state"``:
    it pays ``R(s')`` on the step that enters ``s'``."""
    entries: tuple[TableEntry, ...] = Field(default_factory=tuple)
    """The non-zero entries; every other state-action pair (or entered state) pays 0."""

    @model_validator(mode="after")
    def _entries_fit_on(self) -> Table:
        seen: set[tuple[int, int | None]] = set()
        for i, entry in enumerate(self.entries):
            if self.on == "state_action" and entry.action is None:
                raise SpecError(
                    message(f"entries[{i}].action", "present when on = 'state_action'", None, "Add action = <index>.")
                )
            if self.on == "next_state" and entry.action is not None:
                fix = "Drop it: a next_state entry pays for entering the state, whatever the action."
                raise SpecError(message(f"entries[{i}].action", "absent when on = 'next_state'", entry.action, fix))
            key = (entry.state, entry.action)
            if key in seen:
                raise SpecError(message(f"entries[{i}]", "listed once", key, "Merge the duplicate entries."))
            seen.add(key)
        return self

    def values(self, n_states: int, n_actions: int) -> np.ndarray:
        """The dense table: ``(S, A)`` for ``on = "state_action"``, ``(S,)`` for ``"next_state"``.

        Raises:
            SpecError: an entry's state or action is out of range.
        """
        shape = (n_states, n_actions) if self.on == "state_action" else (n_states,)
        table = np.zeros(shape)
        for i, entry in enumerate(self.entries):
            if entry.state >= n_states:
                fix = "Check `env`: the table was written for another env."
                raise SpecError(message(f"entries[{i}].state", f"a state index below {n_states}", entry.state, fix))
            if entry.action is not None and entry.action >= n_actions:
                raise SpecError(message(f"entries[{i}].action", f"an action index below {n_actions}", entry.action, ""))
            table[(entry.state,) if entry.action is None else (entry.state, entry.action)] = entry.value
        return table

    def describe(
        self, state_names: Sequence[str] | None = None, action_names: Sequence[str] | None = None
    ) -> list[str]:
        """The entries in words, one line each: ``"in state 23, action 2: +10"``, ``"entering state 31: +10"``.

        Args:
            state_names: a name per state index (default ``"state <i>"``).
            action_names: a name per action index (default ``"action <i>"``).
        """
        lines = []
        for entry in self.entries:
            where = state_names[entry.state] if state_names is not None else f"state {entry.state}"
            if entry.action is None:
                lines.append(f"entering {where}: {entry.value:+.4g}")
            else:
                what = action_names[entry.action] if action_names is not None else f"action {entry.action}"
                lines.append(f"in {where}, {what}: {entry.value:+.4g}")
        return lines

    def build(self, env: str | suite.SuiteEnv, spaces: tuple[Any, Any] | None = None) -> RewardFunction:
        spec_env = suite.get(env)
        if self.env is not None and spec_env.name != self.env:
            fix = f"This table numbers the states of {self.env!r}: train it there."
            raise SpecError(message("reward.env", f"the env the reward is built on ({spec_env.name!r})", self.env, fix))
        if spec_env.tabular is None:
            have = ", ".join(repr(n) for n in suite.names() if suite.get(n).tabular is not None) or "none"
            expectation = "an env with an exact tabular model for a table reward"
            raise SpecError(message("env", expectation, spec_env.name, f"Envs with one: {have}."))
        return _TableFunction(self, spec_env, spec_env.tabular())

    def _fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {} if self.env is None else {"env": self.env}
        out["on"] = self.on
        out["entries"] = [entry.model_dump(exclude_none=True) for entry in self.entries]  # TOML has no null
        return out

    @property
    def label(self) -> str:
        return f"table({len(self.entries)} entries)"


class _Lookup:
    """Finds, for each array of a batch, the equal row of ``rows``, in a few vectorised passes.

    The keys are a fixed random projection of the flattened rows, so a batch costs a
    matrix-vector product and a ``searchsorted``; each match is then checked (within float32
    rounding), and the rare miss of two nearly equal keys is settled by comparing with every row.
    """

    def __init__(self, param: str, rows: np.ndarray, what: str) -> None:
        self.param, self.what = param, what
        self.rows = np.asarray(rows, dtype=np.float64).reshape(len(rows), -1)
        if len(np.unique(self.rows, axis=0)) < len(self.rows):
            fix = "A table reward needs states that their observations tell apart."
            raise SpecError(message(param, f"a distinct {what} per state", "two states alike", fix))
        self.w = np.random.default_rng(0).standard_normal(self.rows.shape[1])
        keys = self.rows @ self.w
        self.order = np.argsort(keys)
        self.sorted = keys[self.order]

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        flat = np.asarray(batch, dtype=np.float64).reshape(len(batch), -1)
        if flat.shape[1] != self.rows.shape[1]:
            raise SpecError(message(self.param, f"{self.what}s of size {self.rows.shape[1]}", flat.shape[1:]))
        keys = flat @ self.w
        above = np.searchsorted(self.sorted, keys).clip(0, len(self.sorted) - 1)
        below = (above - 1).clip(0)
        nearer_below = np.abs(self.sorted[below] - keys) < np.abs(self.sorted[above] - keys)
        idx = self.order[np.where(nearer_below, below, above)]
        miss = np.flatnonzero(np.abs(self.rows[idx] - flat).max(axis=1, initial=0.0) > _MATCH_TOL)
        if miss.size:  # two keys closer than the rounding: compare those few with every row
            dist = np.abs(self.rows[None, :, :] - flat[miss, None, :]).max(axis=2, initial=0.0)
            idx[miss] = np.argmin(dist, axis=1)
            far = dist.min(axis=1) > _MATCH_TOL
            if far.any():
                got = np.asarray(batch)[miss[far][0]].tolist()
                fix = "Build the table on the env it was designed for."
                raise SpecError(message(self.param, f"the {self.what} of a state of the exact model", got, fix))
        return idx


class _TableFunction(RewardFunction):
    def __init__(self, spec: Table, env: suite.SuiteEnv, model: TabularEnvModel) -> None:
        super().__init__(spec, env)
        self._on = spec.on
        self._values = spec.values(model.mdp.n_states, model.mdp.n_actions)
        self._states = _Lookup("obs", model.observations, "observation")
        self._actions = _Lookup("action", model.actions, "action")

    def compute(
        self, obs: Array, action: Array, next_obs: Array, done: Array, env_reward: Array | None = None
    ) -> Computed:
        if self._on == "next_state":
            return self._values[self._states(next_obs)], {}
        return self._values[self._states(obs), self._actions(np.asarray(action))], {}
