"""Reward specs (data) and the reward functions they build (batched callables).

A spec is a small typed object, written in Python or loaded from TOML, validated on
construction. ``spec.build(env)`` binds it to a suite env (resolving factor names) and returns
a :class:`RewardFunction`, the one protocol every wrapper, metric and sweep calls.

Kinds register themselves by subclassing :class:`RewardSpec` (a frozen
:class:`~rewardlab.config.Config`). A kind whose build *trains* a
reward model (``learned`` with ``preferences``, ``hierarchical``) keeps its spec here, as data,
while the training lives in a higher layer (:mod:`rewardlab.preferences`), which registers the
builder with :func:`register_trainer` when imported; :func:`trainer` imports that layer on first
use (by module name, as the suite loads its envs by entry point), so this layer never imports it.
"""

from __future__ import annotations

import importlib
import math
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
from pydantic import ConfigDict, GetCoreSchemaHandler
from pydantic_core import CoreSchema, core_schema

from rewardlab import suite
from rewardlab.config import Config, fail
from rewardlab.errors import SpecError, message, suggest, unknown

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = [
    "Array",
    "Computed",
    "Kept",
    "Number",
    "RewardFn",
    "RewardFunction",
    "RewardSpec",
    "from_dict",
    "load",
    "parse",
    "register_trainer",
    "trainer",
]

Terms = dict[str, np.ndarray]
Array = np.ndarray
"""A batch of observations, actions, rewards or flags (leading axis: the batch)."""
Computed = tuple[np.ndarray, Terms]
"""What :meth:`RewardFunction.compute` returns: ``(batch,)`` rewards and the terms."""


@runtime_checkable
class RewardFn(Protocol):
    """The batched reward protocol.

    Args:
        obs: ``(batch,) + obs_shape`` observations before the step.
        action: ``(batch,) + action_shape`` actions (``(batch,)`` for discrete spaces).
        next_obs: ``(batch,) + obs_shape`` observations after the step; at an episode end the
            true final observation, never the first one of the next episode.
        done: ``(batch,)`` bool, True where the step *terminated* the episode (a time-limit
            truncation is not ``done``).

    Returns:
        ``(batch,)`` rewards.
    """

    def __call__(self, obs: np.ndarray, action: np.ndarray, next_obs: np.ndarray, done: np.ndarray) -> np.ndarray: ...


class RewardFunction(ABC):
    """A reward spec bound to an env: the batched callable the wrappers use.

    Besides the :class:`RewardFn` call it offers :meth:`compute`, which also returns the per-term
    breakdown and can use the env's own reward (the ``env`` kind passes it through exactly).
    Stateful rewards (running normalisation) update their statistics while ``training`` is True.
    """

    uses_env_reward: bool = False
    """True when :meth:`compute` wants the env's own reward (``env_reward``)."""

    def __init__(self, spec: RewardSpec, env: suite.SuiteEnv) -> None:
        self.spec = spec
        self.env = env
        self.training = True

    @abstractmethod
    def compute(
        self, obs: Array, action: Array, next_obs: Array, done: Array, env_reward: Array | None = None
    ) -> Computed:
        """Return ``(reward, terms)``: ``(batch,)`` rewards and a dict of ``(batch,)`` terms."""

    def __call__(self, obs: np.ndarray, action: np.ndarray, next_obs: np.ndarray, done: np.ndarray) -> np.ndarray:
        return self.compute(obs, action, next_obs, done)[0]

    @property
    def term_names(self) -> tuple[str, ...]:
        """Names of the terms that :meth:`compute` returns."""
        return ()

    def state_dict(self) -> dict[str, Any]:
        """Statistics that evaluation must share with training (empty when stateless)."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:  # noqa: B027 - stateless by default
        """Restore what :meth:`state_dict` returned."""


def by_position(cls: type[Config], args: tuple[Any, ...], data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with ``args`` bound to ``cls``'s fields in order, as a dataclass binds positional arguments.

    An unknown keyword is a :class:`TypeError` too, as a dataclass raises (:func:`from_dict` words
    an unknown key of a dict as a :class:`SpecError` naming the closest field, before construction).
    """
    names = list(cls.model_fields)
    for name in data:
        if name not in cls.model_fields:
            raise TypeError(f"{cls.__name__}.__init__() got an unexpected keyword argument {name!r}")
    if len(args) > len(names):
        raise TypeError(f"{cls.__name__} takes at most {len(names)} positional arguments")
    for name, value in zip(names, args, strict=False):
        if name in data:
            raise TypeError(f"{cls.__name__} got multiple values for argument {name!r}")
        data[name] = value
    return data


class RewardSpec(Config, ABC):
    """Base class of reward specs: frozen :class:`~rewardlab.config.Config` models with a ``kind`` name.

    A kind registers itself by subclassing with a ``kind`` class attribute (users can add kinds
    the same way). Fields may be given positionally, in field order, as the dataclasses these
    models replaced took them (``Terms({"a": -1.0})``, ``Shaped(Env(), potential="upright")``).
    A kind declares the checks of single fields in their types (:class:`Kept`, :class:`Number`,
    the markers of :mod:`rewardlab.config`) and the rest in a ``model_validator`` with its own
    wording; either way the field paths have no ``where`` prefix. Unknown keys are worded by the
    config template.
    """

    model_config = ConfigDict(frozen=True)
    error_class = SpecError

    kind: ClassVar[str]
    _kinds: ClassVar[dict[str, type[RewardSpec]]] = {}

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "kind" in cls.__dict__:
            RewardSpec._kinds[cls.kind] = cls

    def __init__(self, /, *args: Any, **data: Any) -> None:
        super().__init__(**by_position(type(self), args, data))

    @abstractmethod
    def build(self, env: str | suite.SuiteEnv, spaces: tuple[Any, Any] | None = None) -> RewardFunction:
        """Bind the spec to ``env``; ``spaces`` = (observation_space, action_space) when known.

        Raises:
            SpecError: the spec names something ``env`` lacks (a factor, a potential).
        """

    @property
    def trains_when_built(self) -> bool:
        """True when :meth:`build` trains a reward model (slow); :meth:`check` then trains nothing."""
        return False

    def check(self, env: str | suite.SuiteEnv, spaces: tuple[Any, Any] | None = None) -> None:
        """Raise what :meth:`build` would raise on ``env``, without training anything.

        The default builds the spec, which is cheap for the kinds that train nothing.

        Raises:
            SpecError: the spec names something ``env`` lacks (a factor, a potential).
        """
        self.build(env, spaces)

    def _fields(self) -> dict[str, Any]:
        """The fields :meth:`to_dict` writes after ``kind`` (default: every field, as dumped)."""
        return self.model_dump(mode="json")

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (TOML-ready) that :func:`from_dict` turns back into an equal spec."""
        return {"kind": self.kind, **self._fields()}

    @classmethod
    def _from_fields(cls, fields: dict[str, Any], where: str) -> RewardSpec:
        """The spec of a dict's fields (all but ``kind``); ``where`` prefixes unknown keys.

        The field errors name the field alone (``where=""``), as the kinds' own checks do.
        """
        check_keys(where, fields, set(cls.model_fields))  # before __init__, which words them as a TypeError
        return cls.from_dict(fields, "")

    @property
    def label(self) -> str:
        """A short name for tables and run directories."""
        return self.kind


# --- kinds that train a model when built ------------------------------------------------------------

Trainer = Callable[[Any, suite.SuiteEnv], RewardFunction]
"""Builds the reward of a spec on a suite env, training its model (``(spec, env) -> function``)."""

_TRAINERS: dict[str, Trainer] = {}
_TRAINER_LAYER = "rewardlab.preferences"
"""The package whose import registers the trainers of the built-in kinds."""


def register_trainer(kind: str, build: Trainer) -> None:
    """Register ``build`` as the builder of the reward kind ``kind`` (a higher layer calls this)."""
    _TRAINERS[kind] = build


def trainer(kind: str) -> Trainer:
    """The registered builder of ``kind``, importing :mod:`rewardlab.preferences` on first use."""
    if kind not in _TRAINERS:
        importlib.import_module(_TRAINER_LAYER)  # registers the built-in trainers (module docstring)
    return _TRAINERS[kind]


# --- validation helpers shared by the kinds ----------------------------------------------------


def _number_problem(value: Any, positive: bool) -> tuple[str, str] | None:
    """``(expectation, default fix)`` when ``value`` is not a (finite, positive) number, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return "a number", "Write a plain number such as -1.0."
    if not math.isfinite(float(value)):
        return "a finite number", "Use a finite value."
    if positive and value <= 0:
        return "a positive number", "Use a value above 0."
    return None


def check_number(param: str, value: Any, *, positive: bool = False, fix: str = "") -> float:
    """``float(value)``, or a :class:`SpecError` naming ``param`` when it is not a (positive) finite number."""
    problem = _number_problem(value, positive)
    if problem is not None:
        raise SpecError(message(param, problem[0], value, fix or problem[1]))
    return float(value)


@dataclass(frozen=True)
class Number:
    """``Annotated[int | float, Number()]``: :func:`check_number` as a field type of a :class:`Config`.

    A Python number is kept as given (``1`` stays ``1``, so a dumped spec, and the hashes made
    from it, are what the user wrote); a numpy scalar becomes the Python number.
    """

    positive: bool = False
    """Refuse values <= 0 ("a positive number")."""
    minimum: float | None = None
    """Refuse values below it ("must be >= minimum")."""
    fix: str = ""
    """The fix of a value that is not a (positive) finite number; empty: :func:`check_number`'s."""
    minimum_fix: str = ""
    """The fix of a value below ``minimum``."""

    def __call__(self, value: Any) -> int | float:
        problem = _number_problem(value, self.positive)
        if problem is not None:
            raise fail(problem[0], self.fix or problem[1])
        if self.minimum is not None and value < self.minimum:
            raise fail(f">= {self.minimum:g}", self.minimum_fix)
        return int(value) if isinstance(value, (int, np.integer)) else float(value)

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_before_validator_function(self, handler(source))


@dataclass(frozen=True)
class Kept:
    """``Annotated[int, Kept(Int(1))]``: a field checked by ``check`` but kept as given (no coercion).

    ``check`` is a marker of :mod:`rewardlab.config` (``Int``, ``OneOf``), a :class:`Number` or a
    function that raises :func:`~rewardlab.config.fail`; its return value is dropped, so a numpy
    scalar stays a numpy scalar and a ``Path`` a ``Path``, as the specs' hand-written checks kept
    them (the dumps and cache keys made from them are unchanged). ``optional`` lets None through.
    """

    check: Callable[[Any], Any]
    """Raises :func:`~rewardlab.config.fail` when the value is wrong."""
    optional: bool = False
    """Accept None without calling ``check``."""

    def __call__(self, value: Any) -> Any:
        if not (self.optional and value is None):
            self.check(value)
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_plain_validator_function(self)


def check_keys(where: str, fields: Mapping[str, Any], allowed: set[str]) -> None:
    """Raise a :class:`SpecError` naming ``where.key`` (and the closest allowed name) for an unknown key."""
    for key in fields:
        if key not in allowed:
            raise SpecError(message(f"{where}.{key}", "a known field", key, suggest(key, allowed)))


# --- loading ------------------------------------------------------------------------------------


def from_dict(data: Mapping[str, Any], where: str = "reward") -> RewardSpec:
    """Build a spec from a dict such as a parsed TOML file; validates every field.

    Raises:
        SpecError: a field is missing, unknown or has a wrong type; the message names it.
    """
    if not isinstance(data, Mapping):
        raise SpecError(message(where, "a table (dict) with a `kind` field", data, 'Write e.g. {"kind": "env"}.'))
    if "kind" not in data:
        raise SpecError(message(f"{where}.kind", "present", None, f"Add kind = one of {sorted(RewardSpec._kinds)}."))
    kind = data["kind"]
    if kind not in RewardSpec._kinds:
        raise unknown(f"{where}.kind", kind, RewardSpec._kinds, "a reward kind")
    fields = {k: v for k, v in data.items() if k != "kind"}
    return RewardSpec._kinds[kind]._from_fields(fields, where)


def load(path: str | Path) -> RewardSpec:
    """Load a reward spec from a TOML file.

    Raises:
        SpecError: the file is missing, is not valid TOML, or holds an invalid spec.
    """
    p = Path(path)
    if not p.is_file():
        raise SpecError(
            message("reward", "a readable TOML file", str(path), "Check the path; examples are in rewards/.")
        )
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SpecError(message("reward", "valid TOML", str(path), f"Fix the file: {exc}.")) from exc
    return from_dict(data, where=p.name)


def parse(value: RewardSpec | Mapping[str, Any] | str | Path | None) -> RewardSpec:
    """Accept a spec, a dict, a TOML path, or a kind name with no fields (``"env"``)."""
    if value is None:
        return RewardSpec._kinds["env"]()
    if isinstance(value, RewardSpec):
        return value
    if isinstance(value, Mapping):
        return from_dict(value)
    if isinstance(value, (str, Path)):
        text = str(value)
        if text == "env":
            return RewardSpec._kinds["env"]()
        if text.endswith(".toml") or Path(text).exists():
            return load(text)
        raise SpecError(
            message("reward", "a TOML file path or 'env'", text, "Pass a path like rewards/pendulum_no_velocity.toml.")
        )
    raise SpecError(message("reward", "a reward spec, dict, TOML path or 'env'", value, "See rewardlab.rewards."))
