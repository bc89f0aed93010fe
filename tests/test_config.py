"""The config base (:mod:`rewardlab.config`): errors in the template, (de)serialisation, field docs."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Annotated, Any, ClassVar

import numpy as np
import pydantic
import pytest
from pydantic import Field, field_validator, model_validator

from rewardlab.config import (
    Config,
    Fraction,
    Hint,
    Int,
    NonNegativeInt,
    OneOf,
    PositiveFloat,
    PositiveInt,
    Real,
    Record,
    StrictBool,
    fail,
)
from rewardlab.errors import ConfigError, SpecError, UnknownNameError, message, unknown


class Inner(Config):
    alive: Annotated[float, Real(ge=0.0)] = 1.0
    """Weight of the alive bonus."""
    tags: list[str] = Field(default_factory=list)
    """Free-form tags."""


class Outer(Config):
    n_envs: Annotated[PositiveInt, Hint(fix="Pass n_envs=1 or more.")] = 1
    """Parallel envs."""
    seeds: list[NonNegativeInt] = Field(default_factory=lambda: [0])
    """Seeds of the repeats."""
    lr: PositiveFloat = 1e-3
    """Learning rate."""
    frac: Fraction = 0.5
    """A fraction."""
    flag: StrictBool = False
    """A switch."""
    sizes: Annotated[tuple[Annotated[int, Int(1, fix="Pass sizes such as (8,).")], ...], Hint(fix="Pass (8, 8).")] = (
        8,
    )
    """Layer sizes."""
    name: str = "x"
    """A name checked by a validator that raises a RewardLabError."""
    mode: Annotated[str, OneOf(("fast", "slow"), "a speed")] = "fast"
    """A name among fixed choices."""
    weights: Inner = Inner()
    """A nested model."""
    variants: dict[str, Inner] = Field(default_factory=dict)
    """Nested models by name."""
    path: Path | None = None
    """A path."""

    @field_validator("name")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in ("x", "y"):
            raise unknown("name", value, ("x", "y"), "a known name")
        return value

    @model_validator(mode="after")
    def _cross(self) -> Outer:
        if self.flag and self.n_envs < 2:
            raise ConfigError(message("n_envs", ">= 2 with flag=True", self.n_envs, "Pass n_envs=2."))
        return self


def _error(cls: type[Config], **data: Any) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        cls(**data)
    assert not isinstance(info.value, pydantic.ValidationError)
    return info.value


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ({"n_envs": 0}, "`n_envs` must be a positive integer (got 0). Pass n_envs=1 or more."),
        ({"n_envs": "2"}, "`n_envs` must be a positive integer (got '2'). Pass n_envs=1 or more."),
        ({"lr": 0}, "`lr` must be a finite number > 0 (got 0)."),
        ({"lr": math.inf}, "`lr` must be a finite number > 0 (got inf)."),
        ({"frac": 1.5}, "`frac` must be a number in [0, 1] (got 1.5)."),
        ({"flag": 1}, "`flag` must be a bool (got 1)."),
        ({"seeds": [0, -1]}, "`seeds[1]` must be a non-negative integer (got -1)."),
        ({"sizes": (8, 0)}, "`sizes[1]` must be an integer >= 1 (got 0). Pass sizes such as (8,)."),
        ({"sizes": "8"}, "`sizes` must be a valid tuple (got '8'). Pass (8, 8)."),
        ({"weights": {"alive": -1}}, "`weights.alive` must be a finite number >= 0 (got -1)."),
        ({"variants": {"bad": {"alive": -1}}}, "`variants.bad.alive` must be a finite number >= 0 (got -1)."),
        ({"flag": True}, "`n_envs` must be >= 2 with flag=True (got 1). Pass n_envs=2."),
    ],
    ids=lambda v: str(v) if isinstance(v, dict) else None,
)
def test_errors_follow_the_template_with_the_field_path(data: dict[str, Any], text: str) -> None:
    assert str(_error(Outer, **data)) == text


def test_a_misspelt_key_suggests_the_closest_field() -> None:
    error = _error(Outer, n_env=2)
    assert str(error) == "`n_env` must be a known field (got 'n_env'). Did you mean 'n_envs'?"
    nested = _error(Outer, variants={"bad": {"alve": 2.0}})
    assert str(nested) == "`variants.bad.alve` must be a known field (got 'alve'). Did you mean 'alive'?"


def test_a_missing_field_is_reported_as_such() -> None:
    class Needs(Config):
        env: str
        """The env."""

    assert str(_error(Needs)) == "`env` must be present (got None)."


def test_a_rewardlab_error_raised_in_a_validator_passes_through_unchanged() -> None:
    with pytest.raises(UnknownNameError) as info:
        Outer(name="z")
    assert str(info.value) == "`name` must be a known name (got 'z'). Valid names: 'x', 'y'."
    assert info.value.__cause__ is None


def test_bools_are_not_integers_and_numpy_integers_are() -> None:
    assert str(_error(Outer, n_envs=True)) == "`n_envs` must be a positive integer (got True). Pass n_envs=1 or more."
    assert str(_error(Outer, lr=True)) == "`lr` must be a finite number > 0 (got True)."
    config = Outer(n_envs=np.int64(3), seeds=[np.int32(1)], flag=np.bool_(False))
    assert type(config.n_envs) is int and config.n_envs == 3
    assert type(config.seeds[0]) is int
    assert config.flag is False


def test_where_prefixes_paths_and_error_class_chooses_the_class() -> None:
    class Spec(Config):
        where: ClassVar[str] = "reward"
        error_class: ClassVar[type[ConfigError]] = SpecError
        scale: PositiveFloat = 1.0
        """Scale."""

    with pytest.raises(SpecError, match=r"^`reward\.scale` must be a finite number > 0 \(got -2\)\.$"):
        Spec(scale=-2)
    with pytest.raises(SpecError, match=r"^`variants\.a\.scale` must be"):
        Spec.from_dict({"scale": -2}, where="variants.a")
    with pytest.raises(SpecError, match="must be a mapping of Spec fields"):
        Spec.from_dict([1, 2])  # type: ignore[arg-type]


def test_to_dict_and_from_dict_round_trip() -> None:
    config = Outer(n_envs=4, seeds=[1, 2], sizes=[16, 8], variants={"a": {"alive": 0.5, "tags": ["t"]}}, path="/tmp/x")
    data = config.to_dict()
    assert data["sizes"] == [16, 8] and data["path"] == "/tmp/x"
    assert json.loads(json.dumps(data)) == data
    assert Outer.from_dict(data) == config
    assert list(data) == list(Outer.model_fields)


def test_field_docstrings_become_descriptions() -> None:
    assert Outer.model_fields["n_envs"].description == "Parallel envs."
    assert Outer.model_fields["variants"].description == "Nested models by name."
    assert Inner.model_fields["alive"].description == "Weight of the alive bonus."


def test_records_dump_json_ready_values_in_field_order() -> None:
    @dataclasses.dataclass(frozen=True)
    class Result(Record):
        value: float
        n: int
        where: Path
        factors: tuple[str, ...] = ()
        extra: dict[str, Any] = dataclasses.field(default_factory=dict)
        raw: list[Any] = dataclasses.field(default_factory=list, metadata={"exclude": True})

    result = Result(math.nan, np.int64(3), Path("/a"), ("x",), {"k": np.float32(0.5)}, [object()])
    data = result.to_dict()
    assert list(data) == ["value", "n", "where", "factors", "extra"]
    assert math.isnan(data["value"])
    assert data["n"] == 3 and type(data["n"]) is int
    assert data["where"] == "/a" and data["factors"] == ["x"] and data["extra"] == {"k": 0.5}


def test_model_validate_translates_too() -> None:
    with pytest.raises(ConfigError, match=r"^`variants\.a\.alive` must be a finite number >= 0 \(got -1\)\.$") as info:
        Outer.model_validate({"variants": {"a": {"alive": -1}}})
    assert not isinstance(info.value, pydantic.ValidationError)


def test_one_of_refuses_an_unknown_name_with_a_suggestion_at_its_path() -> None:
    with pytest.raises(UnknownNameError) as info:
        Outer(mode="fats")
    assert str(info.value) == "`mode` must be a speed (got 'fats'). Did you mean 'fast'?"


def test_fail_in_a_field_validator_is_worded_at_the_field_path() -> None:
    def pair(value: Any) -> Any:
        if not isinstance(value, list) or len(value) != 2:
            raise fail("a pair [low, high]", "Write clip = [-1.0, 1.0].")
        return value

    class Clipped(Config):
        where = "term"
        clip: Annotated[list[float], pydantic.BeforeValidator(pair)] = [0.0, 1.0]  # noqa: RUF012 - copied

    with pytest.raises(ConfigError) as info:
        Clipped(clip=[1.0])
    assert str(info.value) == "`term.clip` must be a pair [low, high] (got [1.0]). Write clip = [-1.0, 1.0]."


def test_at_field_words_list_items_and_mapping_keys_at_the_field() -> None:
    def text(value: Any) -> Any:
        if not isinstance(value, str):
            raise fail("names (strings)")
        return value

    Name = Annotated[str, pydantic.PlainValidator(text)]

    class Listed(Config):
        names: Annotated[list[Name], Hint(at_field=True)] = []  # noqa: RUF012 - copied
        by_name: Annotated[dict[Name, Inner], Hint(at_field=True)] = {}  # noqa: RUF012 - copied
        plain: list[Name] = []  # noqa: RUF012 - copied

    assert str(_error(Listed, names=["a", 3])) == "`names` must be names (strings) (got 3)."
    assert str(_error(Listed, by_name={4: {}})) == "`by_name` must be names (strings) (got 4)."
    assert str(_error(Listed, by_name={"a": {"alive": -1}})) == (
        "`by_name.a.alive` must be a finite number >= 0 (got -1)."  # a mapping's values keep their own path
    )
    assert str(_error(Listed, plain=["a", 3])) == "`plain[1]` must be names (strings) (got 3)."


def test_fail_can_show_another_value_than_the_input() -> None:
    def distinct(value: tuple[int, ...]) -> tuple[int, ...]:
        if len(set(value)) != len(value):
            raise fail("without duplicates", "List each once.", value=list(value))
        return value

    class Unique(Config):
        ids: Annotated[tuple[int, ...], pydantic.AfterValidator(distinct)] = ()

    assert str(_error(Unique, ids=(1, 1))) == "`ids` must be without duplicates (got [1, 1]). List each once."


def test_from_table_prefixes_unknown_and_missing_keys_only() -> None:
    class Needs(Config):
        env: str
        """The env."""
        weights: Inner = Inner()
        """A nested model."""

    with pytest.raises(ConfigError, match=r"^`reward\.weights\.alve` must be a known field \(got 'alve'\)"):
        Needs.from_table({"env": "x", "weights": {"alve": 1.0}}, "reward")
    with pytest.raises(ConfigError, match=r"^`reward\.env` must be present \(got None\)\.$"):
        Needs.from_table({}, "reward")
    with pytest.raises(ConfigError, match=r"^`weights\.alive` must be a finite number >= 0 \(got -1\)\.$"):
        Needs.from_table({"env": "x", "weights": {"alive": -1}}, "reward")
    with pytest.raises(ConfigError, match=r"^`variants\.weights\.alive` must be"):
        Needs.from_table({"env": "x", "weights": {"alive": -1}}, "reward", where="variants")
    assert Needs.from_table({"env": "x"}, "reward") == Needs(env="x")
