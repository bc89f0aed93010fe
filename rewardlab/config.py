"""The one config idiom: typed models validated and (de)serialised by pydantic v2.

Owns :class:`Config` (the base of every user-facing config: unknown keys refused, field
docstrings as descriptions, errors in the project's template), :class:`Record` (a JSON-ready
:meth:`~Record.to_dict` for the plain dataclasses that carry results), :class:`Hint` (a field's
wording for its error messages) and the constrained field types with the project's wording
(:data:`PositiveInt`, :data:`NonNegativeInt`, :data:`PositiveFloat`, :data:`Fraction`, and
the markers :class:`Int` and :class:`Real` for other ranges, ``Annotated[int, Int(2)]``, and
:class:`OneOf` for a name among fixed choices), and :func:`fail`, the error a field's own validator
raises to be worded by the template.

Layer: the ground floor, beside :mod:`rewardlab.runs` and :mod:`rewardlab.suite`: it imports
only pydantic, the standard library and :mod:`rewardlab.errors`.

Why pydantic rather than hand-written checks: one declaration per field gives the type, the
range, the default, the description (``--help``, docs, JSON schema), the validation *and* the
dump/load, so they cannot drift apart the way a ``__post_init__`` beside a ``to_dict`` /
``from_dict`` pair does; unknown keys, nested models (``variants.bad.weights.alive``) and list
items (``seeds[1]``) get a field path for free; and the checks are the same whether a config is
built in Python, read from TOML/JSON or from the command line. What pydantic does not do is our
wording: :class:`Config` translates its first error into the template of
:func:`rewardlab.errors.message` (field path, value received, fix, closest-name suggestion), so
no :class:`pydantic.ValidationError` ever reaches a user.

Error translation, in order (see :func:`translate`):

* a validator raised a :class:`~rewardlab.errors.RewardLabError` -> that same exception object;
* an unknown key -> ``"`path` must be a known field (got 'key'). Did you mean 'name'?"``;
* an unknown name in a :class:`OneOf` field -> an :class:`~rewardlab.errors.UnknownNameError`
  ``"`path` must be <what> (got 'name'). Did you mean 'other'?"``;
* a missing field -> ``"`path` must be present (got None)."``;
* any other error -> ``"`path` must be <expectation> (got <input>). <fix>"``, where the
  expectation is the field's :class:`Hint` ``expect``, else the constrained type's wording, else
  pydantic's own message; the fix is the field's :class:`Hint` ``fix``, else the type's (on a
  list item or dict value, the item type's fix comes first); the value shown is the input, or
  the ``value`` given to :func:`fail`.

``path`` is the error's location joined with dots (list items as ``[i]``), after the class's
(or :meth:`Config.from_dict`'s) ``where`` prefix; :meth:`Config.from_table` puts its prefix on
unknown and missing keys only. A field whose :class:`Hint` has ``at_field`` words the errors of
its list items and mapping keys at its own path (``"`ranking` must be factor names (got 3)."``).

Example:
    >>> from typing import Annotated
    >>> class Demo(Config):
    ...     n_envs: Annotated[PositiveInt, Hint(fix="Pass n_envs=1 or more.")] = 1
    ...     '''Parallel envs.'''
    >>> Demo(n_envs=0)
    Traceback (most recent call last):
    ...
    rewardlab.errors.ConfigError: `n_envs` must be a positive integer (got 0). Pass n_envs=1 or more.
    >>> Demo.from_dict({"n_env": 2})
    Traceback (most recent call last):
    ...
    rewardlab.errors.ConfigError: `n_env` must be a known field (got 'n_env'). Did you mean 'n_envs'?
    >>> Demo.from_dict({"n_envs": 4}).to_dict()
    {'n_envs': 4}
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, GetCoreSchemaHandler, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from rewardlab.errors import ConfigError, RewardLabError, UnknownNameError, message, suggest

__all__ = [
    "Config",
    "Fraction",
    "Hint",
    "Int",
    "NonNegativeFloat",
    "NonNegativeInt",
    "OneOf",
    "PositiveFloat",
    "PositiveInt",
    "Real",
    "Record",
    "StrictBool",
    "fail",
    "translate",
]

_ERROR = "rewardlab"
"""The pydantic error type raised by this module's constrained types (their ``ctx`` holds the wording)."""

C = TypeVar("C", bound="Config")

_DEPTH: ContextVar[int] = ContextVar("rewardlab_config_depth", default=0)
"""How many :class:`Config` constructions are under way (nested models are built inside their parent's)."""
_WHERE: ContextVar[str | None] = ContextVar("rewardlab_config_where", default=None)
"""The ``where`` of the :meth:`Config.from_dict` call under way (None: the class's)."""
_KEYS_WHERE: ContextVar[str | None] = ContextVar("rewardlab_config_keys_where", default=None)
"""The prefix of unknown and missing keys of the :meth:`Config.from_table` call under way (None: ``where``)."""


@dataclasses.dataclass(frozen=True)
class Hint:
    """How a field's errors are worded, as ``Annotated`` metadata: ``Annotated[PositiveInt, Hint(fix=...)]``.

    ``expect`` replaces the expectation of errors on the field itself (not on its items);
    ``fix`` is appended to the errors of the field, and of its items unless their type has its
    own (``tuple[Annotated[int, Int(1, fix=...)], ...]``).
    """

    expect: str | None = None
    """What the value must be (``"a positive integer"``); None keeps the type's wording."""
    fix: str | None = None
    """How to fix it (``"Pass n_envs=1 or more."``); None keeps the type's."""
    at_field: bool = False
    """Word the errors of the field's list items and mapping keys at the field's own path, showing
    the item received: ``"`ranking` must be factor names (got 3)."`` rather than ``ranking[1]``."""


_INPUT: Any = object()
"""The default ``value`` of :func:`fail`: the input of the validator."""


def fail(expect: str, fix: str = "", value: Any = _INPUT) -> PydanticCustomError:
    """The error a field's own validator raises, worded by the template: ``must be <expect> (got <input>). <fix>``.

    ``raise fail("a pair [low, high]", "Write clip = [-1.0, 1.0].")`` in a ``BeforeValidator`` /
    ``AfterValidator`` (or a marker's ``__call__``) gets the field path and the value received
    from :func:`translate`, which a hand-raised :class:`~rewardlab.errors.RewardLabError` cannot know.
    ``value`` replaces the value shown (an ``AfterValidator`` shows the field's input by default).
    """
    ctx: dict[str, Any] = {"expect": expect, "fix": fix}
    if value is not _INPUT:
        ctx["value"] = value
    return PydanticCustomError(_ERROR, "must be {expect}", ctx)


_fail = fail


@dataclasses.dataclass(frozen=True)
class Int:
    """``Annotated[int, Int(lo, hi)]``: an integer in ``[lo, hi]`` (bounds optional); bools refused.

    numpy integers are accepted (as ``int``). The wording defaults to ``"an integer"``,
    ``"an integer >= lo"``, ``"an integer <= hi"`` or ``"an integer in [lo, hi]"``.
    """

    lo: int | None = None
    """Smallest value allowed; None for no bound."""
    hi: int | None = None
    """Largest value allowed; None for no bound."""
    expect: str | None = None
    """The wording of the error ("a positive integer"); None derives it from the bounds."""
    fix: str = ""
    """The fix appended to the error (a field's :class:`Hint` ``fix`` replaces it on the field itself)."""

    @property
    def wording(self) -> str:
        if self.expect is not None:
            return self.expect
        if self.lo is not None and self.hi is not None:
            return f"an integer in [{self.lo}, {self.hi}]"
        if self.lo is not None:
            return f"an integer >= {self.lo}"
        if self.hi is not None:
            return f"an integer <= {self.hi}"
        return "an integer"

    def __call__(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise _fail(self.wording, self.fix)
        value = int(value)
        if (self.lo is not None and value < self.lo) or (self.hi is not None and value > self.hi):
            raise _fail(self.wording, self.fix)
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_before_validator_function(self, handler(source))


@dataclasses.dataclass(frozen=True)
class Real:
    """``Annotated[float, Real(gt=0)]``: an ``int`` or ``float`` (bools refused) within bounds, as a float.

    The wording defaults to the bounds: ``"a finite number > 0"``, ``"a number in (0, 1]"``.
    """

    gt: float | None = None
    """Exclusive lower bound."""
    ge: float | None = None
    """Inclusive lower bound."""
    lt: float | None = None
    """Exclusive upper bound."""
    le: float | None = None
    """Inclusive upper bound."""
    expect: str | None = None
    """The wording of the error; None derives it from the bounds."""
    fix: str = ""
    """The fix appended to the error (a field's :class:`Hint` ``fix`` replaces it on the field itself)."""
    finite: bool = True
    """Refuse NaN and infinities."""

    @property
    def wording(self) -> str:
        if self.expect is not None:
            return self.expect
        low = f"({self.gt:g}" if self.gt is not None else f"[{self.ge:g}" if self.ge is not None else None
        high = f"{self.lt:g})" if self.lt is not None else f"{self.le:g}]" if self.le is not None else None
        if low and high:
            return f"a number in {low}, {high}"
        prefix = "a finite number" if self.finite else "a number"
        if low:
            return f"{prefix} {'>' if low[0] == '(' else '>='} {low[1:]}"
        if high:
            return f"{prefix} {'<' if high[-1] == ')' else '<='} {high[:-1]}"
        return prefix

    def __call__(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise _fail(self.wording, self.fix)
        value = float(value)
        ok = (
            (not self.finite or math.isfinite(value))
            and (self.gt is None or value > self.gt)
            and (self.ge is None or value >= self.ge)
            and (self.lt is None or value < self.lt)
            and (self.le is None or value <= self.le)
        )
        if not ok:
            raise _fail(self.wording, self.fix)
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_before_validator_function(self, handler(source))


@dataclasses.dataclass(frozen=True)
class OneOf:
    """``Annotated[str, OneOf(("scale", "none"), "a normalisation")]``: a name among ``choices``.

    An unknown name raises :class:`~rewardlab.errors.UnknownNameError` (whatever the model's
    ``error_class``) with the field path and the closest names, as :func:`rewardlab.errors.unknown`.
    """

    choices: tuple[str, ...]
    """The valid names."""
    what: str = "one of the known names"
    """What the name must be, as in the message ("a normalisation")."""

    def __call__(self, value: Any) -> Any:
        if value not in self.choices:
            raise PydanticCustomError(
                _ERROR,
                "must be {expect}",
                {"expect": self.what, "fix": suggest(str(value), self.choices), "unknown": True},
            )
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self, handler(source))


def _strict_bool(value: Any) -> bool:
    numpy_bool = type(value).__module__ == "numpy" and type(value).__name__ in ("bool", "bool_")
    if not isinstance(value, bool) and not numpy_bool:  # numpy.bool_ without importing numpy
        raise _fail("a bool")
    return bool(value)


PositiveInt = Annotated[int, Int(1, expect="a positive integer")]
"""An ``int >= 1`` ("a positive integer"); ``True`` is not an integer here."""
NonNegativeInt = Annotated[int, Int(0, expect="a non-negative integer")]
"""An ``int >= 0`` ("a non-negative integer")."""
PositiveFloat = Annotated[float, Real(gt=0.0)]
"""A finite number ``> 0`` ("a finite number > 0"), as a float."""
NonNegativeFloat = Annotated[float, Real(ge=0.0)]
"""A finite number ``>= 0`` ("a finite number >= 0"), as a float."""
Fraction = Annotated[float, Real(ge=0.0, le=1.0)]
"""A number in ``[0, 1]`` ("a number in [0, 1]"), as a float."""
StrictBool = Annotated[bool, BeforeValidator(_strict_bool)]
"""``True`` or ``False`` (``numpy.bool_`` too); ``1`` and ``"yes"`` are refused ("a bool")."""


# --- error translation ----------------------------------------------------------------------------


def _path(loc: tuple[int | str, ...], where: str = "") -> str:
    out = where
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = f"{out}.{part}" if out else str(part)
    return out


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    """The model classes an annotation holds (``Sub``, ``Sub | None``, ``list[Sub]``, ``dict[str, Sub]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        yield from _models_in(typing.get_args(annotation)[0])
    elif origin is not None:  # X | None, Optional[X], list[X], dict[str, X], tuple[X, ...]
        for arg in typing.get_args(annotation):
            yield from _models_in(arg)


def _is_mapping(annotation: Any) -> bool:
    """True when an annotation is a mapping (``dict[str, Sub]``, ``Mapping[...] | None``): a key comes next in a loc."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _is_mapping(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:  # Sub | None
        return any(_is_mapping(arg) for arg in typing.get_args(annotation))
    return isinstance(origin, type) and issubclass(origin, Mapping)


def _locate(
    model: type[BaseModel], loc: tuple[int | str, ...]
) -> tuple[FieldInfo | None, bool, list[type[BaseModel]], int]:
    """``(field of the error, whether loc ends on the field itself, models at the error's level,
    length of the loc up to that field)``."""
    models: list[type[BaseModel]] = [model]
    info: FieldInfo | None = None
    on_field = False
    depth = 0
    key_next = False
    for i, part in enumerate(loc):
        names = (m.model_fields[part] for m in models if isinstance(part, str) and part in m.model_fields)
        found = None if key_next else next(names, None)  # a key named as a field of the values is still a key
        if found is not None:
            info, on_field, depth = found, True, i + 1
            models = list(_models_in(found.annotation)) or models
            key_next = _is_mapping(found.annotation)
        else:  # a list index, a dict key or a union member tag: still inside the same field
            on_field = key_next = False
    return info, on_field, models, depth


def _item_of(rest: tuple[int | str, ...]) -> bool:
    """True when ``rest`` (a loc after its field) names a list item or a mapping key, not a mapping value."""
    return bool(rest) and (all(isinstance(p, int) for p in rest) or (len(rest) == 2 and rest[1] == "[key]"))


def _hint(info: FieldInfo | None) -> Hint:
    if info is None:
        return Hint()
    return next((m for m in reversed(info.metadata) if isinstance(m, Hint)), Hint())


def _expectation(err: Mapping[str, Any]) -> str:
    """Pydantic's message as an expectation: "Input should be a valid integer" -> "a valid integer"."""
    msg = str(err.get("msg", "valid"))
    for head in ("Input should be ", "Value should be ", "Value error, ", "Assertion failed, "):
        if msg.startswith(head):
            msg = msg[len(head) :]
            break
    return msg.rstrip(".") or "valid"


def translate(
    exc: ValidationError,
    model: type[BaseModel],
    where: str = "",
    error: type[RewardLabError] = ConfigError,
    keys_where: str | None = None,
) -> RewardLabError:
    """The first error of ``exc`` (raised validating ``model``) as a :class:`RewardLabError` in the template.

    A :class:`RewardLabError` raised by a validator comes back as the same object; anything else
    becomes an ``error`` (default :class:`ConfigError`) whose message names the field path,
    the value received and the fix (see the module docstring). ``keys_where``, when given,
    replaces ``where`` as the prefix of an unknown or missing key.
    """
    err = exc.errors()[0]
    original = (err.get("ctx") or {}).get("error")
    if isinstance(original, RewardLabError):
        return original
    loc: tuple[int | str, ...] = tuple(err["loc"])
    if keys_where is not None and err["type"] in ("extra_forbidden", "missing"):
        where = keys_where
    info, on_field, _, depth = _locate(model, loc)
    hint = _hint(info)
    if hint.at_field and _item_of(loc[depth:]):  # an item or a key, worded at its field (still not on it)
        loc = loc[:depth]
    path = _path(loc, where) or where or model.__name__
    if err["type"] == "extra_forbidden":
        _, _, models, _ = _locate(model, loc[:-1])
        names = [name for m in models for name in m.model_fields]
        key = loc[-1] if loc else err["input"]
        return error(message(path, "a known field", key, suggest(str(key), names)))
    ctx = err.get("ctx") or {}
    own = err["type"] == _ERROR
    own_fix = str(ctx.get("fix", "")) if own else ""
    if on_field:  # the field's own wording first
        fix = hint.fix if hint.fix is not None else own_fix
    else:  # an item of the field: the item type's fix first
        fix = own_fix or hint.fix or ""
    if err["type"] == "missing":
        return error(message(path, "present", None, fix))
    expect = hint.expect if hint.expect is not None and on_field else None
    if expect is None:
        expect = str(ctx["expect"]) if own else _expectation(err)
    value = ctx["value"] if own and "value" in ctx else err.get("input")
    if own and ctx.get("unknown"):  # OneOf: the suggestion is the fix
        return UnknownNameError(message(path, expect, value, str(ctx.get("fix", ""))))
    return error(message(path, expect, value, fix))


# --- the base of configs --------------------------------------------------------------------------


class Config(BaseModel):
    """Base of rewardlab's configs: typed, documented fields, validated on construction, no I/O.

    * a field's docstring (the string literal under it) becomes its ``description``;
    * unknown keys are refused with the closest field name;
    * every error is a :class:`~rewardlab.errors.RewardLabError` in the project's template,
      never a :class:`pydantic.ValidationError` (see :func:`translate`);
    * :meth:`to_dict` / :meth:`from_dict` (de)serialise through the field types.

    Class attributes of a subclass: ``where`` prefixes every error path (``"sweep"``);
    ``error_class`` is the class raised (:class:`~rewardlab.errors.ConfigError`, or e.g.
    :class:`~rewardlab.errors.SpecError`).
    """

    model_config = ConfigDict(
        extra="forbid", use_attribute_docstrings=True, arbitrary_types_allowed=True, validate_assignment=False
    )

    where: ClassVar[str] = ""
    """Prefix of the field paths in error messages (empty: the paths start at the field names)."""
    error_class: ClassVar[type[RewardLabError]] = ConfigError
    """The error class of a translated validation error."""

    def __init__(self, /, **data: Any) -> None:
        depth = _DEPTH.set(_DEPTH.get() + 1)
        try:
            super().__init__(**data)
        except ValidationError as exc:
            if _DEPTH.get() > 1:  # a nested model: pydantic prefixes the location, the outermost translates
                raise
            where = _WHERE.get()
            cls = type(self)
            raise translate(
                exc, cls, cls.where if where is None else where, cls.error_class, _KEYS_WHERE.get()
            ) from None
        finally:
            _DEPTH.reset(depth)

    @classmethod
    def from_dict(cls: type[C], data: Mapping[str, Any], where: str | None = None) -> C:
        """Validate ``data`` (from JSON, TOML, a CLI) into a config; ``where`` prefixes error paths."""
        return cls._validate_mapping(data, where, None)

    @classmethod
    def from_table(cls: type[C], data: Mapping[str, Any], keys_where: str, where: str | None = None) -> C:
        """:meth:`from_dict` for a table of a file whose fields word their own errors: ``keys_where``
        prefixes unknown and missing keys (``reward.weight``), ``where`` the other errors."""
        return cls._validate_mapping(data, where, keys_where)

    @classmethod
    def _validate_mapping(cls: type[C], data: Mapping[str, Any], where: str | None, keys_where: str | None) -> C:
        if not isinstance(data, Mapping):
            prefix = cls.where if where is None else where
            raise cls.error_class(
                message(prefix or cls.__name__, f"a mapping of {cls.__name__} fields", data, "Pass a dict.")
            )
        token, keys_token = _WHERE.set(where), _KEYS_WHERE.set(keys_where)
        try:
            return cls.model_validate(dict(data))
        finally:
            _WHERE.reset(token)
            _KEYS_WHERE.reset(keys_token)

    @classmethod
    def model_validate(cls: type[C], obj: Any, *args: Any, **kwargs: Any) -> C:
        """pydantic's :meth:`~pydantic.BaseModel.model_validate`, with the errors translated."""
        try:
            return super().model_validate(obj, *args, **kwargs)
        except ValidationError as exc:  # __init__ translated the error; pydantic wrapped it again
            where = _WHERE.get()
            raise translate(
                exc, cls, cls.where if where is None else where, cls.error_class, _KEYS_WHERE.get()
            ) from None

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready dump (``model_dump(mode="json")``) that :meth:`from_dict` reads back."""
        return self.model_dump(mode="json")


# --- results ---------------------------------------------------------------------------------------

_DUMP: TypeAdapter[Any] = TypeAdapter(Any, config=ConfigDict(ser_json_inf_nan="constants"))
"""Serialises a result by its values: NaN and infinities stay floats (``json.dumps`` writes them)."""


def _json_fallback(value: Any) -> Any:
    """Values pydantic does not know (numpy scalars and arrays): ``tolist()``, else ``str``."""
    tolist: Callable[[], Any] | None = getattr(value, "tolist", None)
    return tolist() if callable(tolist) else str(value)


class Record:
    """Mixin of the plain dataclasses that carry results: a JSON-ready :meth:`to_dict` dumped by pydantic.

    The dump follows the field order and leaves out the fields declared with
    ``dataclasses.field(metadata={"exclude": True})``; nested dataclasses become dicts, tuples
    lists, paths strings, numpy scalars and arrays Python numbers and lists; NaN stays NaN.
    Results are built by rewardlab itself, so they stay dataclasses (positional construction, no
    validation cost); only their serialisation goes through pydantic.
    """

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON-ready values, in field order."""
        assert dataclasses.is_dataclass(self), f"{type(self).__name__} must be a dataclass"
        skip = {f.name for f in dataclasses.fields(self) if f.metadata.get("exclude")}
        out: dict[str, Any] = _DUMP.dump_python(self, mode="json", exclude=skip or None, fallback=_json_fallback)
        return out
