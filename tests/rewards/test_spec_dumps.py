"""Reward specs dump, label and reject exactly as recorded: the dumps feed fingerprints, cache keys
and stored sweep directories, so a refactor of the specs must not change a byte of them.

The expected tables were recorded on the code before the specs' checks became declared field
types; an entry that changed on purpose says so in a comment.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rewardlab.errors import RewardLabError
from rewardlab.rewards import (
    Code,
    Env,
    Hierarchical,
    Learned,
    LogSigmoid,
    Preferences,
    Shaped,
    Term,
    Terms,
    from_dict,
)

PENDULUM = ("angle_cost", "velocity_cost", "torque_cost")


def _specs() -> dict[str, Any]:
    return {
        "env": Env(),
        "terms-one": Terms({"angle_cost": -1.0}),
        "terms-two": Terms({"angle_cost": -1.0, "torque_cost": -0.001}),
        "terms-int": Terms({"angle_cost": -1}),
        "terms-int-positive": Terms({"alive": 1}),
        "terms-numpy-float64": Terms({"angle_cost": np.float64(-1.5)}),
        "terms-numpy-float32": Terms({"angle_cost": np.float32(0.5)}),
        "terms-numpy-int": Terms({"angle_cost": np.int64(2)}),
        "terms-term-positional": Terms({"angle_cost": Term(-1.0)}),
        "terms-term-int": Terms({"angle_cost": Term(weight=1)}),
        "terms-term-zero": Terms({"angle_cost": Term(weight=0)}),
        "terms-term-numpy-float64": Terms({"angle_cost": Term(weight=np.float64(2.5))}),
        "terms-term-numpy-float32": Terms({"angle_cost": Term(weight=np.float32(2.5))}),
        "terms-scale-int": Terms({"angle_cost": Term(weight=-1.0, scale=2)}),
        "terms-scale-one-int": Terms({"angle_cost": Term(weight=-1.0, scale=1)}),
        "terms-scale-numpy": Terms({"angle_cost": Term(weight=-1.0, scale=np.float32(0.25))}),
        "terms-scale-clip": Terms({"angle_cost": Term(weight=-2.0, scale=0.5, clip=(0.0, 1.0))}),
        "terms-clip-list-ints": Terms({"angle_cost": Term(clip=[0, 4])}),
        "terms-clip-numpy": Terms({"angle_cost": Term(clip=(np.float32(-1), np.int64(1)))}),
        "terms-normalize": Terms({"velocity_cost": Term(normalize=True)}),
        "terms-clip-normalize": Terms({"angle_cost": Term(weight=-1.0, clip=(0.0, 4.0), normalize=True)}),
        "terms-log-sigmoid-default": Terms({"angle_cost": Term(log_sigmoid=LogSigmoid())}),
        "terms-log-sigmoid-positional": Terms({"angle_cost": Term(log_sigmoid=LogSigmoid(0.5, 2.0))}),
        "terms-log-sigmoid-int-numpy": Terms(
            {"angle_cost": Term(weight=2, log_sigmoid=LogSigmoid(ref=1, scale=np.float64(3.0)))}
        ),
        "terms-mixed": Terms({"angle_cost": -1.0, "torque_cost": Term(weight=-0.5, scale=2.0), "velocity_cost": 0.1}),
        "terms-nested-learned": Terms(
            {
                "helpful": Term(reward=Learned(model="runs/a"), log_sigmoid=LogSigmoid(ref=0.0)),
                "gentle": Term(weight=0.5, reward=Learned(model="runs/b", scale=2)),
            }
        ),
        "terms-nested-terms": Terms({"inner": Term(weight=-1, reward=Terms({"angle_cost": 1}))}),
        "terms-nested-with-factor": Terms({"angle_cost": -1.0, "shaped": Term(reward=Shaped(potential="upright"))}),
        "shaped-env": Shaped(Env(), potential="upright", gamma=0.9),
        "shaped-terms": Shaped(Terms({"angle_cost": -1.0}), potential="upright", scale=2, gamma=1),
        "shaped-terms-transforms": Shaped(Terms({"angle_cost": Term(weight=-1, clip=(0, 1))}), potential="m:f"),
        "shaped-shaped": Shaped(Shaped(Env(), potential="upright"), potential="upright", scale=np.float64(0.5)),
        "code": Code("numpy:sum"),
        "code-kwargs": Code("numpy:sum", kwargs={"axis": 1, "keepdims": False}),
        "learned-model": Learned(model="runs/prefs/model"),
        "learned-scale-int": Learned(model="runs/x", scale=2),
        "learned-scale-numpy": Learned("runs/x", np.float64(0.5)),
        "learned-path": Learned(model=Path("runs/x")),
        "learned-preferences-empty": Learned(preferences={}),
        "learned-preferences": Learned(
            preferences={
                "n_pairs": 300,
                "hidden": [16, 16],
                "temperature": 0,
                "reward": Terms({"angle_cost": -1.0}),
                "features": ("obs", "pole_angle"),
                "seed": np.int64(3),
                "lr": 1e-2,
            },
            scale=np.float64(0.5),
        ),
        "learned-preferences-model": Learned(preferences=Preferences(n_pairs=10, hidden=[np.int64(8)])),
        "hierarchical": Hierarchical(ranking=PENDULUM),
        "hierarchical-list": Hierarchical(ranking=list(PENDULUM)),
        "hierarchical-margins": Hierarchical(
            ranking=PENDULUM, margin={"angle_cost": 1.0, "velocity_cost": 0.5}, ties="equal"
        ),
        "hierarchical-everything": Hierarchical(
            ranking=["angle_cost", "torque_cost"],
            higher_is_better={"angle_cost": False},
            margin=0,
            margin_type="absolute",
            margin_stat="batch",
            unit="segment",
            segment_length=np.int64(10),
            features=["obs", "factors"],
            policy=Path("agent.zip"),
            n_samples=100,
            n_batches=5,
            batch_size=8,
            hidden=[np.int64(8), 4],
            ensemble=2,
            lr=1e-2,
            epochs=3,
            normalize_output=False,
            seed=3,
        ),
        "hierarchical-online": Hierarchical(
            ranking=PENDULUM, mode="online", warmup=10, update_every=20, relabel=True, hidden=()
        ),
        "hierarchical-numpy-margin": Hierarchical(ranking=("angle_cost",), margin=np.float64(0.5)),
        "dict-terms-weights-int": from_dict({"kind": "terms", "weights": {"angle_cost": -1, "alive": 1}}),
        "dict-terms-weights-numpy": from_dict({"kind": "terms", "weights": {"angle_cost": np.float32(-1)}}),
        "dict-terms-tables": from_dict(
            {
                "kind": "terms",
                "weights": {"torque_cost": -0.001},
                "terms": {
                    "angle_cost": {"weight": -1, "scale": 2, "clip": [0, 4], "normalize": True},
                    "velocity_cost": {"log_sigmoid": {"ref": 0}},
                    "plain": {"weight": 2},
                },
            }
        ),
        "dict-terms-nested": from_dict(
            {
                "kind": "terms",
                "terms": {
                    "upright": {"reward": {"kind": "learned", "model": "runs/a"}, "log_sigmoid": {"ref": 0.0}},
                    "gentle": {"reward": {"kind": "learned", "model": "runs/b"}, "log_sigmoid": {"ref": 0.5}},
                },
            }
        ),
        "dict-shaped": from_dict(
            {"kind": "shaped", "potential": "upright", "gamma": 1, "base": {"kind": "terms", "weights": {"a": 1}}}
        ),
        "dict-learned": from_dict({"kind": "learned", "preferences": {"n_pairs": 10, "hidden": [8]}, "scale": 3}),
        "dict-hierarchical": from_dict(
            {"kind": "hierarchical", "ranking": ["angle_cost"], "features": ["obs"], "hidden": [32], "mode": "online"}
        ),
    }


SPECS = _specs()


def _types(value: Any) -> Any:
    """The types of a dump's values, nested as the dump (a numpy scalar must stay one, an int an int)."""
    if isinstance(value, dict):
        return {k: _types(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [repr(type(value)), *(_types(v) for v in value)]
    return repr(type(value))


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=False, default=lambda o: f"<{type(o).__name__} {o!r}>")


def _record(spec: Any) -> dict[str, Any]:
    data = spec.to_dict()
    return {"json": _dumps(data), "label": spec.label, "types": _types(data)}


@pytest.mark.parametrize("name", list(SPECS))
def test_dump_label_and_types_are_unchanged(name: str) -> None:
    assert _record(SPECS[name]) == EXPECTED[name]


NOT_ROUND_TRIPPING = {
    "hierarchical-everything": "a policy given as a Path is kept as a Path; the dump writes a str",
}
"""Specs that are not equal to their reloaded dump (their dump is still what is recorded)."""


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=NOT_ROUND_TRIPPING[name]))
        if name in NOT_ROUND_TRIPPING
        else name
        for name in SPECS
    ],
)
def test_dump_round_trips(name: str) -> None:
    spec = SPECS[name]
    assert from_dict(spec.to_dict()) == spec


def test_every_recorded_spec_is_checked() -> None:
    assert list(EXPECTED) == list(SPECS)


# --- errors of single-error inputs ---------------------------------------------------------------


def _file(data: dict[str, Any], where: str = "reward") -> Any:
    return lambda: from_dict(data, where)


def _terms(**fields: Any) -> Any:
    return _file({"kind": "terms", **fields})


def _table(**table: Any) -> Any:
    return _terms(terms={"angle_cost": table})


def _hier(**fields: Any) -> Any:
    return _file({"kind": "hierarchical", "ranking": ["angle_cost"], **fields})


ERRORS: dict[str, Any] = {
    # terms, from a dict
    "file-weights-not-table": _terms(weights=[1.0]),
    "file-weight-text": _terms(weights={"angle_cost": "heavy"}),
    "file-weight-bool": _terms(weights={"angle_cost": True}),
    "file-weight-nan": _terms(weights={"angle_cost": float("nan")}),
    "file-weight-none": _terms(weights={"angle_cost": None}),
    "file-weights-int-key": _terms(weights={1: 1.0}),
    "file-terms-not-table": _terms(terms=5),
    "file-term-not-table": _terms(terms={"angle_cost": 5}),
    "file-term-twice": _terms(weights={"angle_cost": 1.0}, terms={"angle_cost": {"scale": 2.0}}),
    "file-term-unknown-key": _table(normalise=True),
    "file-term-weight-text": _table(weight="x"),
    "file-term-weight-inf": _table(weight=float("inf")),
    "file-term-scale-negative": _table(scale=-1.0),
    "file-term-scale-zero": _table(scale=0),
    "file-term-scale-text": _table(scale="big"),
    "file-term-clip-short": _table(clip=[1.0]),
    "file-term-clip-long": _table(clip=[0.0, 1.0, 2.0]),
    "file-term-clip-scalar": _table(clip=1.0),
    "file-term-clip-order": _table(clip=[1.0, 0.0]),
    "file-term-clip-equal": _table(clip=[1, 1]),
    "file-term-clip-low-text": _table(clip=["a", 1.0]),
    "file-term-clip-high-nan": _table(clip=[0.0, float("nan")]),
    "file-term-normalize-int": _table(normalize=1),
    "file-term-normalize-text": _table(normalize="yes"),
    "file-term-log-sigmoid-not-table": _table(log_sigmoid=1.0),
    "file-term-log-sigmoid-unknown-key": _table(log_sigmoid={"reff": 0.0}),
    "file-term-reward-not-table": _table(reward=5),
    "file-term-reward-no-kind": _table(reward={"model": "x"}),
    "file-term-reward-unknown-kind": _table(reward={"kind": "lerned"}),
    "file-term-reward-bad-gamma": _table(reward={"kind": "shaped", "potential": "upright", "gamma": 2.0}),
    "file-term-reward-learned-scale": _table(reward={"kind": "learned", "model": "x", "scale": 0}),
    "file-term-reward-unknown-field": _table(reward={"kind": "env", "scale": 1}),
    "file-empty": _terms(),
    "file-empty-weights": _terms(weights={}),
    "file-unknown-top-key": _terms(weight={"angle_cost": 1.0}),
    "file-sweep-where-unknown": _file({"kind": "terms", "terms": {"a": {"sacle": 1.0}}}, "variants.x.reward"),
    "file-sweep-where-scale": _file({"kind": "terms", "terms": {"a": {"scale": -1.0}}}, "variants.x.reward"),
    "file-sweep-where-weight": _file({"kind": "terms", "weights": {"a": "x"}}, "variants.x.reward"),
    "file-toml-where": _file({"kind": "terms", "wieghts": {}}, "reward.toml"),
    # terms, built in Python
    "py-terms-default": lambda: Terms(),
    "py-terms-empty": lambda: Terms({}),
    "py-terms-list": lambda: Terms([("angle_cost", 1.0)]),
    "py-terms-text": lambda: Terms("angle_cost"),
    "py-terms-int-key": lambda: Terms({3: -1.0}),
    "py-terms-weight-text": lambda: Terms({"angle_cost": "x"}),
    "py-terms-weight-bool": lambda: Terms({"angle_cost": True}),
    "py-terms-weight-none": lambda: Terms({"angle_cost": None}),
    "py-terms-weight-inf": lambda: Terms({"angle_cost": float("inf")}),
    "py-term-weight-text": lambda: Terms({"angle_cost": Term(weight="x")}),
    "py-term-scale-negative": lambda: Terms({"angle_cost": Term(scale=-1)}),
    "py-term-scale-positional": lambda: Terms({"angle_cost": Term(1.0, 0.0)}),
    "py-term-scale-bool": lambda: Terms({"angle_cost": Term(scale=True)}),
    "py-term-clip-order": lambda: Terms({"angle_cost": Term(clip=(1, 0))}),
    "py-term-clip-list-order": lambda: Terms({"angle_cost": Term(clip=[1.0, 0.0])}),
    "py-term-clip-triple": lambda: Terms({"angle_cost": Term(clip=(0, 1, 2))}),
    "py-term-clip-scalar": lambda: Terms({"angle_cost": Term(clip=5)}),
    "py-term-clip-text": lambda: Terms({"angle_cost": Term(clip="ab")}),
    "py-term-clip-item": lambda: Terms({"angle_cost": Term(clip=("x", 1))}),
    "py-term-normalize-int": lambda: Terms({"angle_cost": Term(normalize=1)}),
    "py-term-log-sigmoid-number": lambda: Terms({"angle_cost": Term(log_sigmoid=5)}),
    "py-term-reward-number": lambda: Terms({"angle_cost": Term(reward=5)}),
    "py-term-second-of-two": lambda: Terms({"angle_cost": -1.0, "torque_cost": Term(scale=0)}),
    "py-log-sigmoid-scale": lambda: LogSigmoid(scale=0),
    "py-log-sigmoid-ref": lambda: LogSigmoid(ref="x"),
    "py-log-sigmoid-scale-inf": lambda: LogSigmoid(0.0, float("inf")),
    # learned
    "file-learned-nothing": _file({"kind": "learned"}),
    "file-learned-both": _file({"kind": "learned", "model": "x", "preferences": {}}),
    "file-learned-empty-model": _file({"kind": "learned", "model": ""}),
    "file-learned-model-number": _file({"kind": "learned", "model": 3}),
    "file-learned-scale-zero": _file({"kind": "learned", "model": "x", "scale": 0.0}),
    "file-learned-scale-text": _file({"kind": "learned", "model": "x", "scale": "x"}),
    "file-learned-unknown-key": _file({"kind": "learned", "modle": "x"}),
    "file-learned-preferences-not-table": _file({"kind": "learned", "preferences": 3}),
    "file-learned-preferences-typo": _file({"kind": "learned", "preferences": {"n_pair": 3}}),
    "file-learned-temperature": _file({"kind": "learned", "preferences": {"temperature": -1.0}}),
    "file-learned-n-pairs": _file({"kind": "learned", "preferences": {"n_pairs": 0}}),
    "file-learned-lr": _file({"kind": "learned", "preferences": {"lr": 0}}),
    "file-learned-features-text": _file({"kind": "learned", "preferences": {"features": "obs"}}),
    "file-learned-features-empty": _file({"kind": "learned", "preferences": {"features": []}}),
    "file-learned-feature-number": _file({"kind": "learned", "preferences": {"features": ["obs", 3]}}),
    "file-learned-feature-empty-name": _file({"kind": "learned", "preferences": {"features": ["obs", ""]}}),
    "file-learned-hidden-text": _file({"kind": "learned", "preferences": {"hidden": "64"}}),
    "file-learned-hidden-zero": _file({"kind": "learned", "preferences": {"hidden": [64, 0]}}),
    "file-learned-hidden-bool": _file({"kind": "learned", "preferences": {"hidden": [True]}}),
    "file-learned-seed": _file({"kind": "learned", "preferences": {"seed": -1}}),
    "py-learned-nothing": lambda: Learned(),
    "py-learned-model-none": lambda: Learned(model=None),
    "py-learned-both": lambda: Learned(model="x", preferences={}),
    "py-learned-scale": lambda: Learned(model="x", scale=-1),
    "py-learned-scale-bool": lambda: Learned(model="x", scale=True),
    "py-learned-preferences-list": lambda: Learned(preferences=[("n_pairs", 3)]),
    "py-learned-feature-number": lambda: Learned(preferences={"features": [1]}),
    "py-learned-hidden-item": lambda: Learned(preferences={"hidden": [8, -1]}),
    "py-preferences-feature-number": lambda: Preferences(features=["obs", 2]),
    "py-preferences-hidden-item": lambda: Preferences(hidden=[0]),
    # hierarchical
    "file-hier-missing-ranking": _file({"kind": "hierarchical"}),
    "file-hier-unknown-key": _hier(rank=1),
    "file-hier-empty-ranking": _file({"kind": "hierarchical", "ranking": []}),
    "file-hier-ranking-text": _file({"kind": "hierarchical", "ranking": "angle_cost"}),
    "file-hier-ranking-number": _file({"kind": "hierarchical", "ranking": ["angle_cost", 3]}),
    "file-hier-ranking-duplicate": _file({"kind": "hierarchical", "ranking": ["angle_cost", "angle_cost"]}),
    "file-hier-higher-not-table": _hier(higher_is_better=True),
    "file-hier-higher-not-bool": _hier(higher_is_better={"angle_cost": 1}),
    "file-hier-higher-outside": _hier(higher_is_better={"torque_cost": True}),
    "file-hier-margin-negative": _hier(margin=-1.0),
    "file-hier-margin-text": _hier(margin="big"),
    "file-hier-margin-bool": _hier(margin=True),
    "file-hier-margin-entry-text": _hier(margin={"angle_cost": "x"}),
    "file-hier-margin-entry-negative": _hier(margin={"angle_cost": -0.5}),
    "file-hier-margin-outside": _hier(margin={"velocity_cost": 1.0}),
    "file-hier-margin-type": _hier(margin_type="relative"),
    "file-hier-margin-stat": _hier(margin_stat="bufer"),
    "file-hier-ties": _hier(ties="half"),
    "file-hier-unit": _hier(unit="episode"),
    "file-hier-mode": _hier(mode="onlin"),
    "file-hier-online-segments": _hier(mode="online", unit="segment"),
    "file-hier-segment-length": _hier(segment_length=0),
    "file-hier-features-empty": _hier(features=[]),
    "file-hier-features-text": _hier(features="obs"),
    "file-hier-feature-unknown": _hier(features=["obs", "reward"]),
    "file-hier-feature-number": _hier(features=["obs", 3]),
    "file-hier-policy": _hier(policy=3),
    "file-hier-n-samples": _hier(n_samples=0),
    "file-hier-n-batches": _hier(n_batches=0),
    "file-hier-batch-size-one": _hier(batch_size=1),
    "file-hier-batch-size-zero": _hier(batch_size=0),
    "file-hier-warmup": _hier(warmup=-1),
    "file-hier-update-every": _hier(update_every=1.5),
    "file-hier-relabel": _hier(relabel=1),
    "file-hier-hidden-text": _hier(hidden="64"),
    "file-hier-hidden-zero": _hier(hidden=[64, 0]),
    "file-hier-hidden-bool": _hier(hidden=[True]),
    "file-hier-hidden-float": _hier(hidden=[1.5]),
    "file-hier-ensemble": _hier(ensemble=0),
    "file-hier-lr": _hier(lr=0),
    "file-hier-epochs": _hier(epochs=0),
    "file-hier-seed": _hier(seed=-1),
    "file-hier-seed-numpy": _hier(seed=np.int64(1)),
    "py-hier-default": lambda: Hierarchical(),
    "py-hier-ranking-tuple-duplicate": lambda: Hierarchical(ranking=("a", "a")),
    "py-hier-ranking-set": lambda: Hierarchical(ranking={"a"}),
    "py-hier-ranking-item": lambda: Hierarchical(ranking=["a", None]),
    "py-hier-features-tuple-empty": lambda: Hierarchical(ranking=("a",), features=()),
    "py-hier-hidden-item": lambda: Hierarchical(ranking=("a",), hidden=(8, 0)),
    "py-hier-hidden-numpy": lambda: Hierarchical(ranking=("a",), hidden=np.array([8, 0])),
    "py-hier-relabel": lambda: Hierarchical(ranking=("a",), relabel="yes"),
    "py-hier-margin-numpy-negative": lambda: Hierarchical(ranking=("a",), margin=np.float64(-1)),
    "py-learned-path-both": lambda: Learned(model=Path("x"), preferences={}),
    "py-terms-factor-named-as-a-field": lambda: Terms({"normalize": "x"}),
    # recorded after the change: inputs whose message changed on purpose (ERROR_TEXTS says how)
    "file-term-log-sigmoid-scale": _table(log_sigmoid={"scale": 0}),
    "file-term-log-sigmoid-ref": _table(log_sigmoid={"ref": "x"}),
    "py-term-model-validate": lambda: Term.model_validate({"scale": -1}),
    "py-hier-normalize-output": lambda: Hierarchical(ranking=("a",), normalize_output=1),
    "py-hier-ranking-bytes": lambda: Hierarchical(ranking=b"ab"),
}


def _error(make: Any) -> str:
    with pytest.raises(RewardLabError) as info:
        make()
    return f"{type(info.value).__name__}: {info.value}"


@pytest.mark.parametrize("name", list(ERRORS))
def test_single_error_messages_are_unchanged(name: str) -> None:
    assert _error(ERRORS[name]) == ERROR_TEXTS[name]


def test_every_recorded_error_is_checked() -> None:
    assert list(ERROR_TEXTS) == list(ERRORS)


def test_a_term_is_checked_by_the_terms_that_holds_it_not_on_construction() -> None:
    loose = Term(scale=-1, clip=[0, 4])  # no error: the Terms that holds it names the term
    assert loose.scale == -1 and loose.clip == [0, 4]
    with pytest.raises(RewardLabError, match=r"^`terms\.a\.scale` must be a positive number \(got -1\)"):
        Terms({"a": loose})
    held = Terms({"a": Term(clip=[0, 4])}).terms["a"]
    assert isinstance(held, Term) and held.clip == (0.0, 4.0)  # checked and typed: a tuple of floats
    assert Term.model_validate({"weight": 2}).weight == 2  # model_validate checks (and keeps numbers as given)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: Terms({"a": Term(log_sigmoid={"ref": 0.5})}), Terms({"a": Term(log_sigmoid=LogSigmoid(0.5))})),
        (lambda: Terms({"a": Term(reward={"kind": "env"})}), Terms({"a": Term(reward=Env())})),
        (lambda: Terms({"a": {"weight": -1.0, "scale": 2.0}}), Terms({"a": Term(-1.0, 2.0)})),
        (lambda: Terms({"a": Term(normalize=np.bool_(True))}), Terms({"a": Term(normalize=True)})),
        (
            lambda: Hierarchical(ranking=("a",), relabel=np.bool_(True), normalize_output=np.bool_(False)),
            Hierarchical(ranking=("a",), relabel=True, normalize_output=False),
        ),
    ],
    ids=["log-sigmoid-dict", "reward-dict", "term-dict", "numpy-bool", "numpy-bools"],
)
def test_inputs_refused_before_the_declared_types_and_accepted_now(make: Any, expected: Any) -> None:
    assert make() == expected


# --- the recorded tables ----------------------------------------------------------------------

EXPECTED: dict[str, dict[str, Any]] = {
    "env": {"json": '{"kind": "env"}', "label": "env", "types": {"kind": "<class 'str'>"}},
    "terms-one": {
        "json": '{"kind": "terms", "weights": {"angle_cost": -1.0}}',
        "label": "terms(angle_cost)",
        "types": {"kind": "<class 'str'>", "weights": {"angle_cost": "<class 'float'>"}},
    },
    "terms-two": {
        "json": '{"kind": "terms", "weights": {"angle_cost": -1.0, "torque_cost": -0.001}}',
        "label": "terms(angle_cost,torque_cost)",
        "types": {
            "kind": "<class 'str'>",
            "weights": {"angle_cost": "<class 'float'>", "torque_cost": "<class 'float'>"},
        },
    },
    "terms-int": {
        "json": '{"kind": "terms", "weights": {"angle_cost": -1.0}}',
        "label": "terms(angle_cost)",
        "types": {"kind": "<class 'str'>", "weights": {"angle_cost": "<class 'float'>"}},
    },
    "terms-int-positive": {
        "json": '{"kind": "terms", "weights": {"alive": 1.0}}',
        "label": "terms(alive)",
        "types": {"kind": "<class 'str'>", "weights": {"alive": "<class 'float'>"}},
    },
    "terms-numpy-float64": {
        "json": '{"kind": "terms", "weights": {"angle_cost": -1.5}}',
        "label": "terms(angle_cost)",
        "types": {"kind": "<class 'str'>", "weights": {"angle_cost": "<class 'float'>"}},
    },
    "terms-numpy-float32": {
        "json": '{"kind": "terms", "weights": {"angle_cost": 0.5}}',
        "label": "terms(angle_cost)",
        "types": {"kind": "<class 'str'>", "weights": {"angle_cost": "<class 'float'>"}},
    },
    "terms-numpy-int": {
        "json": '{"kind": "terms", "weights": {"angle_cost": 2.0}}',
        "label": "terms(angle_cost)",
        "types": {"kind": "<class 'str'>", "weights": {"angle_cost": "<class 'float'>"}},
    },
    "terms-term-positional": {
        "json": '{"kind": "terms", "weights": {"angle_cost": -1.0}}',
        "label": "terms(angle_cost)",
        "types": {"kind": "<class 'str'>", "weights": {"angle_cost": "<class 'float'>"}},
    },
    "terms-term-int": {
        "json": '{"kind": "terms", "weights": {"angle_cost": 1}}',
        "label": "terms(angle_cost)",
        "types": {"kind": "<class 'str'>", "weights": {"angle_cost": "<class 'int'>"}},
    },
    "terms-term-zero": {
        "json": '{"kind": "terms", "weights": {"angle_cost": 0}}',
        "label": "terms(angle_cost)",
        "types": {"kind": "<class 'str'>", "weights": {"angle_cost": "<class 'int'>"}},
    },
    "terms-term-numpy-float64": {
        "json": '{"kind": "terms", "weights": {"angle_cost": 2.5}}',
        "label": "terms(angle_cost)",
        "types": {"kind": "<class 'str'>", "weights": {"angle_cost": "<class 'numpy.float64'>"}},
    },
    "terms-term-numpy-float32": {
        "json": '{"kind": "terms", "weights": {"angle_cost": "<float32 np.float32(2.5)>"}}',
        "label": "terms(angle_cost)",
        "types": {"kind": "<class 'str'>", "weights": {"angle_cost": "<class 'numpy.float32'>"}},
    },
    "terms-scale-int": {
        "json": '{"kind": "terms", "terms": {"angle_cost": {"weight": -1.0, "scale": 2}}}',
        "label": "terms(angle_cost)",
        "types": {
            "kind": "<class 'str'>",
            "terms": {"angle_cost": {"weight": "<class 'float'>", "scale": "<class 'int'>"}},
        },
    },
    "terms-scale-one-int": {
        "json": '{"kind": "terms", "weights": {"angle_cost": -1.0}}',
        "label": "terms(angle_cost)",
        "types": {"kind": "<class 'str'>", "weights": {"angle_cost": "<class 'float'>"}},
    },
    "terms-scale-numpy": {
        "json": '{"kind": "terms", "terms": {"angle_cost": {"weight": -1.0, "scale": "<float32 np.float32(0.25)>"}}}',
        "label": "terms(angle_cost)",
        "types": {
            "kind": "<class 'str'>",
            "terms": {"angle_cost": {"weight": "<class 'float'>", "scale": "<class 'numpy.float32'>"}},
        },
    },
    "terms-scale-clip": {
        "json": '{"kind": "terms", "terms": {"angle_cost": {"weight": -2.0, "scale": 0.5, "clip": [0.0, 1.0]}}}',
        "label": "terms(angle_cost)",
        "types": {
            "kind": "<class 'str'>",
            "terms": {
                "angle_cost": {
                    "weight": "<class 'float'>",
                    "scale": "<class 'float'>",
                    "clip": ["<class 'list'>", "<class 'float'>", "<class 'float'>"],
                }
            },
        },
    },
    "terms-clip-list-ints": {
        "json": '{"kind": "terms", "terms": {"angle_cost": {"weight": 1.0, "clip": [0.0, 4.0]}}}',
        "label": "terms(angle_cost)",
        "types": {
            "kind": "<class 'str'>",
            "terms": {
                "angle_cost": {
                    "weight": "<class 'float'>",
                    "clip": ["<class 'list'>", "<class 'float'>", "<class 'float'>"],
                }
            },
        },
    },
    "terms-clip-numpy": {
        "json": '{"kind": "terms", "terms": {"angle_cost": {"weight": 1.0, "clip": [-1.0, 1.0]}}}',
        "label": "terms(angle_cost)",
        "types": {
            "kind": "<class 'str'>",
            "terms": {
                "angle_cost": {
                    "weight": "<class 'float'>",
                    "clip": ["<class 'list'>", "<class 'float'>", "<class 'float'>"],
                }
            },
        },
    },
    "terms-normalize": {
        "json": '{"kind": "terms", "terms": {"velocity_cost": {"weight": 1.0, "normalize": true}}}',
        "label": "terms(velocity_cost)",
        "types": {
            "kind": "<class 'str'>",
            "terms": {"velocity_cost": {"weight": "<class 'float'>", "normalize": "<class 'bool'>"}},
        },
    },
    "terms-clip-normalize": {
        "json": '{"kind": "terms", "terms": {"angle_cost": {"weight": -1.0, "clip": [0.0, 4.0], "normalize": true}}}',
        "label": "terms(angle_cost)",
        "types": {
            "kind": "<class 'str'>",
            "terms": {
                "angle_cost": {
                    "weight": "<class 'float'>",
                    "clip": ["<class 'list'>", "<class 'float'>", "<class 'float'>"],
                    "normalize": "<class 'bool'>",
                }
            },
        },
    },
    "terms-log-sigmoid-default": {
        "json": '{"kind": "terms", "terms": {"angle_cost": {"weight": 1.0, '
        '"log_sigmoid": {"ref": 0.0, "scale": 1.0}}}}',
        "label": "terms(angle_cost)",
        "types": {
            "kind": "<class 'str'>",
            "terms": {
                "angle_cost": {
                    "weight": "<class 'float'>",
                    "log_sigmoid": {"ref": "<class 'float'>", "scale": "<class 'float'>"},
                }
            },
        },
    },
    "terms-log-sigmoid-positional": {
        "json": '{"kind": "terms", "terms": {"angle_cost": {"weight": 1.0, '
        '"log_sigmoid": {"ref": 0.5, "scale": 2.0}}}}',
        "label": "terms(angle_cost)",
        "types": {
            "kind": "<class 'str'>",
            "terms": {
                "angle_cost": {
                    "weight": "<class 'float'>",
                    "log_sigmoid": {"ref": "<class 'float'>", "scale": "<class 'float'>"},
                }
            },
        },
    },
    "terms-log-sigmoid-int-numpy": {
        "json": '{"kind": "terms", "terms": {"angle_cost": {"weight": 2, "log_sigmoid": {"ref": 1, "scale": 3.0}}}}',
        "label": "terms(angle_cost)",
        "types": {
            "kind": "<class 'str'>",
            "terms": {
                "angle_cost": {
                    "weight": "<class 'int'>",
                    "log_sigmoid": {"ref": "<class 'int'>", "scale": "<class 'numpy.float64'>"},
                }
            },
        },
    },
    "terms-mixed": {
        "json": '{"kind": "terms", "terms": {"angle_cost": {"weight": -1.0}, "torque_cost": '
        '{"weight": -0.5, "scale": 2.0}, "velocity_cost": {"weight": 0.1}}}',
        "label": "terms(angle_cost,torque_cost,velocity_cost)",
        "types": {
            "kind": "<class 'str'>",
            "terms": {
                "angle_cost": {"weight": "<class 'float'>"},
                "torque_cost": {"weight": "<class 'float'>", "scale": "<class 'float'>"},
                "velocity_cost": {"weight": "<class 'float'>"},
            },
        },
    },
    "terms-nested-learned": {
        "json": '{"kind": "terms", "terms": {"helpful": {"weight": 1.0, "log_sigmoid": '
        '{"ref": 0.0, "scale": 1.0}, "reward": {"kind": "learned", "model": '
        '"runs/a", "scale": 1.0}}, "gentle": {"weight": 0.5, "reward": {"kind": '
        '"learned", "model": "runs/b", "scale": 2}}}}',
        "label": "terms(helpful,gentle)",
        "types": {
            "kind": "<class 'str'>",
            "terms": {
                "helpful": {
                    "weight": "<class 'float'>",
                    "log_sigmoid": {"ref": "<class 'float'>", "scale": "<class 'float'>"},
                    "reward": {"kind": "<class 'str'>", "model": "<class 'str'>", "scale": "<class 'float'>"},
                },
                "gentle": {
                    "weight": "<class 'float'>",
                    "reward": {"kind": "<class 'str'>", "model": "<class 'str'>", "scale": "<class 'int'>"},
                },
            },
        },
    },
    "terms-nested-terms": {
        "json": '{"kind": "terms", "terms": {"inner": {"weight": -1, "reward": {"kind": '
        '"terms", "weights": {"angle_cost": 1.0}}}}}',
        "label": "terms(inner)",
        "types": {
            "kind": "<class 'str'>",
            "terms": {
                "inner": {
                    "weight": "<class 'int'>",
                    "reward": {"kind": "<class 'str'>", "weights": {"angle_cost": "<class 'float'>"}},
                }
            },
        },
    },
    "terms-nested-with-factor": {
        "json": '{"kind": "terms", "terms": {"angle_cost": {"weight": -1.0}, "shaped": '
        '{"weight": 1.0, "reward": {"kind": "shaped", "potential": "upright", '
        '"scale": 1.0, "gamma": 0.99, "base": {"kind": "env"}}}}}',
        "label": "terms(angle_cost,shaped)",
        "types": {
            "kind": "<class 'str'>",
            "terms": {
                "angle_cost": {"weight": "<class 'float'>"},
                "shaped": {
                    "weight": "<class 'float'>",
                    "reward": {
                        "kind": "<class 'str'>",
                        "potential": "<class 'str'>",
                        "scale": "<class 'float'>",
                        "gamma": "<class 'float'>",
                        "base": {"kind": "<class 'str'>"},
                    },
                },
            },
        },
    },
    "shaped-env": {
        "json": '{"kind": "shaped", "potential": "upright", "scale": 1.0, "gamma": 0.9, "base": {"kind": "env"}}',
        "label": "shaped(env,upright)",
        "types": {
            "kind": "<class 'str'>",
            "potential": "<class 'str'>",
            "scale": "<class 'float'>",
            "gamma": "<class 'float'>",
            "base": {"kind": "<class 'str'>"},
        },
    },
    "shaped-terms": {
        "json": '{"kind": "shaped", "potential": "upright", "scale": 2, "gamma": 1, "base": '
        '{"kind": "terms", "weights": {"angle_cost": -1.0}}}',
        "label": "shaped(terms(angle_cost),upright)",
        "types": {
            "kind": "<class 'str'>",
            "potential": "<class 'str'>",
            "scale": "<class 'int'>",
            "gamma": "<class 'int'>",
            "base": {"kind": "<class 'str'>", "weights": {"angle_cost": "<class 'float'>"}},
        },
    },
    "shaped-terms-transforms": {
        "json": '{"kind": "shaped", "potential": "m:f", "scale": 1.0, "gamma": 0.99, '
        '"base": {"kind": "terms", "terms": {"angle_cost": {"weight": -1, '
        '"clip": [0.0, 1.0]}}}}',
        "label": "shaped(terms(angle_cost),m:f)",
        "types": {
            "kind": "<class 'str'>",
            "potential": "<class 'str'>",
            "scale": "<class 'float'>",
            "gamma": "<class 'float'>",
            "base": {
                "kind": "<class 'str'>",
                "terms": {
                    "angle_cost": {
                        "weight": "<class 'int'>",
                        "clip": ["<class 'list'>", "<class 'float'>", "<class 'float'>"],
                    }
                },
            },
        },
    },
    "shaped-shaped": {
        "json": '{"kind": "shaped", "potential": "upright", "scale": 0.5, "gamma": 0.99, "base": '
        '{"kind": "shaped", "potential": "upright", "scale": 1.0, "gamma": 0.99, "base": '
        '{"kind": "env"}}}',
        "label": "shaped(shaped(env,upright),upright)",
        "types": {
            "kind": "<class 'str'>",
            "potential": "<class 'str'>",
            "scale": "<class 'numpy.float64'>",
            "gamma": "<class 'float'>",
            "base": {
                "kind": "<class 'str'>",
                "potential": "<class 'str'>",
                "scale": "<class 'float'>",
                "gamma": "<class 'float'>",
                "base": {"kind": "<class 'str'>"},
            },
        },
    },
    "code": {
        "json": '{"kind": "code", "function": "numpy:sum"}',
        "label": "code(sum)",
        "types": {"kind": "<class 'str'>", "function": "<class 'str'>"},
    },
    "code-kwargs": {
        "json": '{"kind": "code", "function": "numpy:sum", "kwargs": {"axis": 1, "keepdims": false}}',
        "label": "code(sum)",
        "types": {
            "kind": "<class 'str'>",
            "function": "<class 'str'>",
            "kwargs": {"axis": "<class 'int'>", "keepdims": "<class 'bool'>"},
        },
    },
    "learned-model": {
        "json": '{"kind": "learned", "model": "runs/prefs/model", "scale": 1.0}',
        "label": "learned(model)",
        "types": {"kind": "<class 'str'>", "model": "<class 'str'>", "scale": "<class 'float'>"},
    },
    "learned-scale-int": {
        "json": '{"kind": "learned", "model": "runs/x", "scale": 2}',
        "label": "learned(x)",
        "types": {"kind": "<class 'str'>", "model": "<class 'str'>", "scale": "<class 'int'>"},
    },
    "learned-scale-numpy": {
        "json": '{"kind": "learned", "model": "runs/x", "scale": 0.5}',
        "label": "learned(x)",
        "types": {"kind": "<class 'str'>", "model": "<class 'str'>", "scale": "<class 'numpy.float64'>"},
    },
    "learned-path": {
        "json": '{"kind": "learned", "model": "runs/x", "scale": 1.0}',
        "label": "learned(x)",
        "types": {"kind": "<class 'str'>", "model": "<class 'str'>", "scale": "<class 'float'>"},
    },
    "learned-preferences-empty": {
        "json": '{"kind": "learned", "preferences": {"n_segments": 400, "length": 25, '
        '"policy": "random", "n_pairs": 1000, "reward": "env", "temperature": '
        '1.0, "features": ["obs", "action"], "hidden": [64, 64], "ensemble": '
        '1, "epochs": 50, "lr": 0.001, "seed": 0}, "scale": 1.0}',
        "label": "learned(1000pairs)",
        "types": {
            "kind": "<class 'str'>",
            "preferences": {
                "n_segments": "<class 'int'>",
                "length": "<class 'int'>",
                "policy": "<class 'str'>",
                "n_pairs": "<class 'int'>",
                "reward": "<class 'str'>",
                "temperature": "<class 'float'>",
                "features": ["<class 'list'>", "<class 'str'>", "<class 'str'>"],
                "hidden": ["<class 'list'>", "<class 'int'>", "<class 'int'>"],
                "ensemble": "<class 'int'>",
                "epochs": "<class 'int'>",
                "lr": "<class 'float'>",
                "seed": "<class 'int'>",
            },
            "scale": "<class 'float'>",
        },
    },
    "learned-preferences": {
        "json": '{"kind": "learned", "preferences": {"n_segments": 400, "length": 25, '
        '"policy": "random", "n_pairs": 300, "reward": {"kind": "terms", "weights": '
        '{"angle_cost": -1.0}}, "temperature": 0, "features": ["obs", '
        '"pole_angle"], "hidden": [16, 16], "ensemble": 1, "epochs": 50, "lr": '
        '0.01, "seed": 3}, "scale": 0.5}',
        "label": "learned(300pairs)",
        "types": {
            "kind": "<class 'str'>",
            "preferences": {
                "n_segments": "<class 'int'>",
                "length": "<class 'int'>",
                "policy": "<class 'str'>",
                "n_pairs": "<class 'int'>",
                "reward": {"kind": "<class 'str'>", "weights": {"angle_cost": "<class 'float'>"}},
                "temperature": "<class 'int'>",
                "features": ["<class 'list'>", "<class 'str'>", "<class 'str'>"],
                "hidden": ["<class 'list'>", "<class 'int'>", "<class 'int'>"],
                "ensemble": "<class 'int'>",
                "epochs": "<class 'int'>",
                "lr": "<class 'float'>",
                "seed": "<class 'int'>",
            },
            "scale": "<class 'numpy.float64'>",
        },
    },
    "learned-preferences-model": {
        "json": '{"kind": "learned", "preferences": {"n_segments": 400, "length": 25, '
        '"policy": "random", "n_pairs": 10, "reward": "env", "temperature": '
        '1.0, "features": ["obs", "action"], "hidden": [8], "ensemble": 1, '
        '"epochs": 50, "lr": 0.001, "seed": 0}, "scale": 1.0}',
        "label": "learned(10pairs)",
        "types": {
            "kind": "<class 'str'>",
            "preferences": {
                "n_segments": "<class 'int'>",
                "length": "<class 'int'>",
                "policy": "<class 'str'>",
                "n_pairs": "<class 'int'>",
                "reward": "<class 'str'>",
                "temperature": "<class 'float'>",
                "features": ["<class 'list'>", "<class 'str'>", "<class 'str'>"],
                "hidden": ["<class 'list'>", "<class 'int'>"],
                "ensemble": "<class 'int'>",
                "epochs": "<class 'int'>",
                "lr": "<class 'float'>",
                "seed": "<class 'int'>",
            },
            "scale": "<class 'float'>",
        },
    },
    "hierarchical": {
        "json": '{"kind": "hierarchical", "ranking": ["angle_cost", "velocity_cost", '
        '"torque_cost"], "margin": 1.0, "margin_type": "std", "margin_stat": "buffer", '
        '"ties": "drop", "unit": "transition", "segment_length": 25, "features": ["obs", '
        '"action", "factors"], "mode": "offline", "policy": "random", "n_samples": 5000, '
        '"n_batches": 400, "batch_size": 16, "warmup": 1000, "update_every": 400, '
        '"relabel": false, "hidden": [64, 64], "ensemble": 1, "lr": 0.001, "epochs": 30, '
        '"normalize_output": true, "seed": 0}',
        "label": "heron(angle_cost>velocity_cost>torque_cost)",
        "types": {
            "kind": "<class 'str'>",
            "ranking": ["<class 'list'>", "<class 'str'>", "<class 'str'>", "<class 'str'>"],
            "margin": "<class 'float'>",
            "margin_type": "<class 'str'>",
            "margin_stat": "<class 'str'>",
            "ties": "<class 'str'>",
            "unit": "<class 'str'>",
            "segment_length": "<class 'int'>",
            "features": ["<class 'list'>", "<class 'str'>", "<class 'str'>", "<class 'str'>"],
            "mode": "<class 'str'>",
            "policy": "<class 'str'>",
            "n_samples": "<class 'int'>",
            "n_batches": "<class 'int'>",
            "batch_size": "<class 'int'>",
            "warmup": "<class 'int'>",
            "update_every": "<class 'int'>",
            "relabel": "<class 'bool'>",
            "hidden": ["<class 'list'>", "<class 'int'>", "<class 'int'>"],
            "ensemble": "<class 'int'>",
            "lr": "<class 'float'>",
            "epochs": "<class 'int'>",
            "normalize_output": "<class 'bool'>",
            "seed": "<class 'int'>",
        },
    },
    "hierarchical-list": {
        "json": '{"kind": "hierarchical", "ranking": ["angle_cost", "velocity_cost", '
        '"torque_cost"], "margin": 1.0, "margin_type": "std", "margin_stat": '
        '"buffer", "ties": "drop", "unit": "transition", "segment_length": 25, '
        '"features": ["obs", "action", "factors"], "mode": "offline", "policy": '
        '"random", "n_samples": 5000, "n_batches": 400, "batch_size": 16, "warmup": '
        '1000, "update_every": 400, "relabel": false, "hidden": [64, 64], "ensemble": '
        '1, "lr": 0.001, "epochs": 30, "normalize_output": true, "seed": 0}',
        "label": "heron(angle_cost>velocity_cost>torque_cost)",
        "types": {
            "kind": "<class 'str'>",
            "ranking": ["<class 'list'>", "<class 'str'>", "<class 'str'>", "<class 'str'>"],
            "margin": "<class 'float'>",
            "margin_type": "<class 'str'>",
            "margin_stat": "<class 'str'>",
            "ties": "<class 'str'>",
            "unit": "<class 'str'>",
            "segment_length": "<class 'int'>",
            "features": ["<class 'list'>", "<class 'str'>", "<class 'str'>", "<class 'str'>"],
            "mode": "<class 'str'>",
            "policy": "<class 'str'>",
            "n_samples": "<class 'int'>",
            "n_batches": "<class 'int'>",
            "batch_size": "<class 'int'>",
            "warmup": "<class 'int'>",
            "update_every": "<class 'int'>",
            "relabel": "<class 'bool'>",
            "hidden": ["<class 'list'>", "<class 'int'>", "<class 'int'>"],
            "ensemble": "<class 'int'>",
            "lr": "<class 'float'>",
            "epochs": "<class 'int'>",
            "normalize_output": "<class 'bool'>",
            "seed": "<class 'int'>",
        },
    },
    "hierarchical-margins": {
        "json": '{"kind": "hierarchical", "ranking": ["angle_cost", "velocity_cost", '
        '"torque_cost"], "margin": {"angle_cost": 1.0, "velocity_cost": 0.5}, '
        '"margin_type": "std", "margin_stat": "buffer", "ties": "equal", "unit": '
        '"transition", "segment_length": 25, "features": ["obs", "action", '
        '"factors"], "mode": "offline", "policy": "random", "n_samples": 5000, '
        '"n_batches": 400, "batch_size": 16, "warmup": 1000, "update_every": 400, '
        '"relabel": false, "hidden": [64, 64], "ensemble": 1, "lr": 0.001, '
        '"epochs": 30, "normalize_output": true, "seed": 0}',
        "label": "heron(angle_cost>velocity_cost>torque_cost)",
        "types": {
            "kind": "<class 'str'>",
            "ranking": ["<class 'list'>", "<class 'str'>", "<class 'str'>", "<class 'str'>"],
            "margin": {"angle_cost": "<class 'float'>", "velocity_cost": "<class 'float'>"},
            "margin_type": "<class 'str'>",
            "margin_stat": "<class 'str'>",
            "ties": "<class 'str'>",
            "unit": "<class 'str'>",
            "segment_length": "<class 'int'>",
            "features": ["<class 'list'>", "<class 'str'>", "<class 'str'>", "<class 'str'>"],
            "mode": "<class 'str'>",
            "policy": "<class 'str'>",
            "n_samples": "<class 'int'>",
            "n_batches": "<class 'int'>",
            "batch_size": "<class 'int'>",
            "warmup": "<class 'int'>",
            "update_every": "<class 'int'>",
            "relabel": "<class 'bool'>",
            "hidden": ["<class 'list'>", "<class 'int'>", "<class 'int'>"],
            "ensemble": "<class 'int'>",
            "lr": "<class 'float'>",
            "epochs": "<class 'int'>",
            "normalize_output": "<class 'bool'>",
            "seed": "<class 'int'>",
        },
    },
    "hierarchical-everything": {
        "json": '{"kind": "hierarchical", "ranking": ["angle_cost", "torque_cost"], '
        '"higher_is_better": {"angle_cost": false}, "margin": 0, "margin_type": '
        '"absolute", "margin_stat": "batch", "ties": "drop", "unit": "segment", '
        '"segment_length": "<int64 np.int64(10)>", "features": ["obs", '
        '"factors"], "mode": "offline", "policy": "agent.zip", "n_samples": '
        '100, "n_batches": 5, "batch_size": 8, "warmup": 1000, "update_every": '
        '400, "relabel": false, "hidden": [8, 4], "ensemble": 2, "lr": 0.01, '
        '"epochs": 3, "normalize_output": false, "seed": 3}',
        "label": "heron(angle_cost>torque_cost)",
        "types": {
            "kind": "<class 'str'>",
            "ranking": ["<class 'list'>", "<class 'str'>", "<class 'str'>"],
            "higher_is_better": {"angle_cost": "<class 'bool'>"},
            "margin": "<class 'int'>",
            "margin_type": "<class 'str'>",
            "margin_stat": "<class 'str'>",
            "ties": "<class 'str'>",
            "unit": "<class 'str'>",
            "segment_length": "<class 'numpy.int64'>",
            "features": ["<class 'list'>", "<class 'str'>", "<class 'str'>"],
            "mode": "<class 'str'>",
            "policy": "<class 'str'>",
            "n_samples": "<class 'int'>",
            "n_batches": "<class 'int'>",
            "batch_size": "<class 'int'>",
            "warmup": "<class 'int'>",
            "update_every": "<class 'int'>",
            "relabel": "<class 'bool'>",
            "hidden": ["<class 'list'>", "<class 'int'>", "<class 'int'>"],
            "ensemble": "<class 'int'>",
            "lr": "<class 'float'>",
            "epochs": "<class 'int'>",
            "normalize_output": "<class 'bool'>",
            "seed": "<class 'int'>",
        },
    },
    "hierarchical-online": {
        "json": '{"kind": "hierarchical", "ranking": ["angle_cost", "velocity_cost", '
        '"torque_cost"], "margin": 1.0, "margin_type": "std", "margin_stat": '
        '"buffer", "ties": "drop", "unit": "transition", "segment_length": 25, '
        '"features": ["obs", "action", "factors"], "mode": "online", "policy": '
        '"random", "n_samples": 5000, "n_batches": 16, "batch_size": 16, "warmup": '
        '10, "update_every": 20, "relabel": true, "hidden": [], "ensemble": 1, '
        '"lr": 0.001, "epochs": 30, "normalize_output": true, "seed": 0}',
        "label": "heron(angle_cost>velocity_cost>torque_cost)",
        "types": {
            "kind": "<class 'str'>",
            "ranking": ["<class 'list'>", "<class 'str'>", "<class 'str'>", "<class 'str'>"],
            "margin": "<class 'float'>",
            "margin_type": "<class 'str'>",
            "margin_stat": "<class 'str'>",
            "ties": "<class 'str'>",
            "unit": "<class 'str'>",
            "segment_length": "<class 'int'>",
            "features": ["<class 'list'>", "<class 'str'>", "<class 'str'>", "<class 'str'>"],
            "mode": "<class 'str'>",
            "policy": "<class 'str'>",
            "n_samples": "<class 'int'>",
            "n_batches": "<class 'int'>",
            "batch_size": "<class 'int'>",
            "warmup": "<class 'int'>",
            "update_every": "<class 'int'>",
            "relabel": "<class 'bool'>",
            "hidden": ["<class 'list'>"],
            "ensemble": "<class 'int'>",
            "lr": "<class 'float'>",
            "epochs": "<class 'int'>",
            "normalize_output": "<class 'bool'>",
            "seed": "<class 'int'>",
        },
    },
    "hierarchical-numpy-margin": {
        "json": '{"kind": "hierarchical", "ranking": ["angle_cost"], "margin": 0.5, '
        '"margin_type": "std", "margin_stat": "buffer", "ties": "drop", '
        '"unit": "transition", "segment_length": 25, "features": ["obs", '
        '"action", "factors"], "mode": "offline", "policy": "random", '
        '"n_samples": 5000, "n_batches": 400, "batch_size": 16, "warmup": '
        '1000, "update_every": 400, "relabel": false, "hidden": [64, 64], '
        '"ensemble": 1, "lr": 0.001, "epochs": 30, "normalize_output": true, '
        '"seed": 0}',
        "label": "heron(angle_cost)",
        "types": {
            "kind": "<class 'str'>",
            "ranking": ["<class 'list'>", "<class 'str'>"],
            "margin": "<class 'numpy.float64'>",
            "margin_type": "<class 'str'>",
            "margin_stat": "<class 'str'>",
            "ties": "<class 'str'>",
            "unit": "<class 'str'>",
            "segment_length": "<class 'int'>",
            "features": ["<class 'list'>", "<class 'str'>", "<class 'str'>", "<class 'str'>"],
            "mode": "<class 'str'>",
            "policy": "<class 'str'>",
            "n_samples": "<class 'int'>",
            "n_batches": "<class 'int'>",
            "batch_size": "<class 'int'>",
            "warmup": "<class 'int'>",
            "update_every": "<class 'int'>",
            "relabel": "<class 'bool'>",
            "hidden": ["<class 'list'>", "<class 'int'>", "<class 'int'>"],
            "ensemble": "<class 'int'>",
            "lr": "<class 'float'>",
            "epochs": "<class 'int'>",
            "normalize_output": "<class 'bool'>",
            "seed": "<class 'int'>",
        },
    },
    "dict-terms-weights-int": {
        "json": '{"kind": "terms", "weights": {"angle_cost": -1.0, "alive": 1.0}}',
        "label": "terms(angle_cost,alive)",
        "types": {"kind": "<class 'str'>", "weights": {"angle_cost": "<class 'float'>", "alive": "<class 'float'>"}},
    },
    "dict-terms-weights-numpy": {
        "json": '{"kind": "terms", "weights": {"angle_cost": -1.0}}',
        "label": "terms(angle_cost)",
        "types": {"kind": "<class 'str'>", "weights": {"angle_cost": "<class 'float'>"}},
    },
    "dict-terms-tables": {
        "json": '{"kind": "terms", "terms": {"torque_cost": {"weight": -0.001}, "angle_cost": '
        '{"weight": -1.0, "scale": 2, "clip": [0.0, 4.0], "normalize": true}, '
        '"velocity_cost": {"weight": 1.0, "log_sigmoid": {"ref": 0, "scale": 1.0}}, '
        '"plain": {"weight": 2.0}}}',
        "label": "terms(torque_cost,angle_cost,velocity_cost,plain)",
        "types": {
            "kind": "<class 'str'>",
            "terms": {
                "torque_cost": {"weight": "<class 'float'>"},
                "angle_cost": {
                    "weight": "<class 'float'>",
                    "scale": "<class 'int'>",
                    "clip": ["<class 'list'>", "<class 'float'>", "<class 'float'>"],
                    "normalize": "<class 'bool'>",
                },
                "velocity_cost": {
                    "weight": "<class 'float'>",
                    "log_sigmoid": {"ref": "<class 'int'>", "scale": "<class 'float'>"},
                },
                "plain": {"weight": "<class 'float'>"},
            },
        },
    },
    "dict-terms-nested": {
        "json": '{"kind": "terms", "terms": {"upright": {"weight": 1.0, "log_sigmoid": '
        '{"ref": 0.0, "scale": 1.0}, "reward": {"kind": "learned", "model": "runs/a", '
        '"scale": 1.0}}, "gentle": {"weight": 1.0, "log_sigmoid": {"ref": 0.5, '
        '"scale": 1.0}, "reward": {"kind": "learned", "model": "runs/b", "scale": '
        "1.0}}}}",
        "label": "terms(upright,gentle)",
        "types": {
            "kind": "<class 'str'>",
            "terms": {
                "upright": {
                    "weight": "<class 'float'>",
                    "log_sigmoid": {"ref": "<class 'float'>", "scale": "<class 'float'>"},
                    "reward": {"kind": "<class 'str'>", "model": "<class 'str'>", "scale": "<class 'float'>"},
                },
                "gentle": {
                    "weight": "<class 'float'>",
                    "log_sigmoid": {"ref": "<class 'float'>", "scale": "<class 'float'>"},
                    "reward": {"kind": "<class 'str'>", "model": "<class 'str'>", "scale": "<class 'float'>"},
                },
            },
        },
    },
    "dict-shaped": {
        "json": '{"kind": "shaped", "potential": "upright", "scale": 1.0, "gamma": 1, "base": '
        '{"kind": "terms", "weights": {"a": 1.0}}}',
        "label": "shaped(terms(a),upright)",
        "types": {
            "kind": "<class 'str'>",
            "potential": "<class 'str'>",
            "scale": "<class 'float'>",
            "gamma": "<class 'int'>",
            "base": {"kind": "<class 'str'>", "weights": {"a": "<class 'float'>"}},
        },
    },
    "dict-learned": {
        "json": '{"kind": "learned", "preferences": {"n_segments": 400, "length": 25, "policy": '
        '"random", "n_pairs": 10, "reward": "env", "temperature": 1.0, "features": ["obs", '
        '"action"], "hidden": [8], "ensemble": 1, "epochs": 50, "lr": 0.001, "seed": 0}, '
        '"scale": 3}',
        "label": "learned(10pairs)",
        "types": {
            "kind": "<class 'str'>",
            "preferences": {
                "n_segments": "<class 'int'>",
                "length": "<class 'int'>",
                "policy": "<class 'str'>",
                "n_pairs": "<class 'int'>",
                "reward": "<class 'str'>",
                "temperature": "<class 'float'>",
                "features": ["<class 'list'>", "<class 'str'>", "<class 'str'>"],
                "hidden": ["<class 'list'>", "<class 'int'>"],
                "ensemble": "<class 'int'>",
                "epochs": "<class 'int'>",
                "lr": "<class 'float'>",
                "seed": "<class 'int'>",
            },
            "scale": "<class 'int'>",
        },
    },
    "dict-hierarchical": {
        "json": '{"kind": "hierarchical", "ranking": ["angle_cost"], "margin": 1.0, '
        '"margin_type": "std", "margin_stat": "buffer", "ties": "drop", "unit": '
        '"transition", "segment_length": 25, "features": ["obs"], "mode": "online", '
        '"policy": "random", "n_samples": 5000, "n_batches": 16, "batch_size": 16, '
        '"warmup": 1000, "update_every": 400, "relabel": false, "hidden": [32], '
        '"ensemble": 1, "lr": 0.001, "epochs": 30, "normalize_output": true, "seed": '
        "0}",
        "label": "heron(angle_cost)",
        "types": {
            "kind": "<class 'str'>",
            "ranking": ["<class 'list'>", "<class 'str'>"],
            "margin": "<class 'float'>",
            "margin_type": "<class 'str'>",
            "margin_stat": "<class 'str'>",
            "ties": "<class 'str'>",
            "unit": "<class 'str'>",
            "segment_length": "<class 'int'>",
            "features": ["<class 'list'>", "<class 'str'>"],
            "mode": "<class 'str'>",
            "policy": "<class 'str'>",
            "n_samples": "<class 'int'>",
            "n_batches": "<class 'int'>",
            "batch_size": "<class 'int'>",
            "warmup": "<class 'int'>",
            "update_every": "<class 'int'>",
            "relabel": "<class 'bool'>",
            "hidden": ["<class 'list'>", "<class 'int'>"],
            "ensemble": "<class 'int'>",
            "lr": "<class 'float'>",
            "epochs": "<class 'int'>",
            "normalize_output": "<class 'bool'>",
            "seed": "<class 'int'>",
        },
    },
}

ERROR_TEXTS: dict[str, str] = {
    "file-weights-not-table": "SpecError: `reward.weights` must be a table factor = weight (got [1.0]).",
    "file-weight-text": "SpecError: `reward.weights.angle_cost` must be a number (got 'heavy'). Write a plain "
    "number such as -1.0.",
    "file-weight-bool": "SpecError: `reward.weights.angle_cost` must be a number (got True). Write a plain "
    "number such as -1.0.",
    "file-weight-nan": "SpecError: `reward.weights.angle_cost` must be a finite number (got nan). Use a finite value.",
    "file-weight-none": "SpecError: `reward.weights.angle_cost` must be a number (got None). Write a plain "
    "number such as -1.0.",
    "file-weights-int-key": "SpecError: `terms` must be keyed by factor names (str) (got 1).",
    "file-terms-not-table": "SpecError: `reward.terms` must be a table of [terms.<factor>] tables (got 5).",
    "file-term-not-table": "SpecError: `reward.terms.angle_cost` must be a table with weight/scale/clip/... (got 5).",
    "file-term-twice": "SpecError: `reward.terms.angle_cost` must be given once (got 'angle_cost'). Drop it "
    "from `weights`.",
    "file-term-unknown-key": "SpecError: `reward.terms.angle_cost.normalise` must be a known field (got "
    "'normalise'). Did you mean 'normalize'?",
    "file-term-weight-text": "SpecError: `reward.terms.angle_cost.weight` must be a number (got 'x'). Write a "
    "plain number such as -1.0.",
    "file-term-weight-inf": "SpecError: `reward.terms.angle_cost.weight` must be a finite number (got inf). Use "
    "a finite value.",
    "file-term-scale-negative": "SpecError: `terms.angle_cost.scale` must be a positive number (got -1.0). Use "
    "`weight` for the sign.",
    "file-term-scale-zero": "SpecError: `terms.angle_cost.scale` must be a positive number (got 0). Use "
    "`weight` for the sign.",
    "file-term-scale-text": "SpecError: `terms.angle_cost.scale` must be a number (got 'big'). Use `weight` for "
    "the sign.",
    "file-term-clip-short": "SpecError: `terms.angle_cost.clip` must be a pair [low, high] (got (1.0,)). Write "
    "clip = [-1.0, 1.0].",
    "file-term-clip-long": "SpecError: `terms.angle_cost.clip` must be a pair [low, high] (got (0.0, 1.0, "
    "2.0)). Write clip = [-1.0, 1.0].",
    "file-term-clip-scalar": "SpecError: `terms.angle_cost.clip` must be a pair [low, high] (got 1.0). Write "
    "clip = [-1.0, 1.0].",
    "file-term-clip-order": "SpecError: `terms.angle_cost.clip` must be a pair with low < high (got (1.0, "
    "0.0)). Swap the bounds.",
    "file-term-clip-equal": "SpecError: `terms.angle_cost.clip` must be a pair with low < high (got (1, 1)). "
    "Swap the bounds.",
    "file-term-clip-low-text": "SpecError: `terms.angle_cost.clip[0]` must be a number (got 'a'). Write a plain "
    "number such as -1.0.",
    "file-term-clip-high-nan": "SpecError: `terms.angle_cost.clip[1]` must be a finite number (got nan). Use a "
    "finite value.",
    "file-term-normalize-int": "SpecError: `terms.angle_cost.normalize` must be true or false (got 1).",
    "file-term-normalize-text": "SpecError: `terms.angle_cost.normalize` must be true or false (got 'yes').",
    "file-term-log-sigmoid-not-table": "SpecError: `reward.terms.angle_cost.log_sigmoid` must be a table {ref, "
    "scale} (got 1.0).",
    "file-term-log-sigmoid-unknown-key": "SpecError: `reward.terms.angle_cost.log_sigmoid.reff` must be a known "
    "field (got 'reff'). Did you mean 'ref'?",
    "file-term-reward-not-table": "SpecError: `reward.terms.angle_cost.reward` must be a table (dict) with a "
    '`kind` field (got 5). Write e.g. {"kind": "env"}.',
    "file-term-reward-no-kind": "SpecError: `reward.terms.angle_cost.reward.kind` must be present (got None). "
    "Add kind = one of ['code', 'env', 'hierarchical', 'learned', 'rlhf', 'shaped', "
    "'table', 'terms'].",  # 'table' (EXPRD) and 'rlhf' (the online loop as a sweep variant) came later
    "file-term-reward-unknown-kind": "UnknownNameError: `reward.terms.angle_cost.reward.kind` must be a reward "
    "kind (got 'lerned'). Did you mean 'learned'?",
    "file-term-reward-bad-gamma": "SpecError: `gamma` must be in (0, 1] (got 2.0). Use the agent's discount, "
    "e.g. 0.99.",
    "file-term-reward-learned-scale": "SpecError: reward.terms.angle_cost.reward: `scale` must be a positive "
    "number (got 0). Use a positive multiplier such as 1.0.",
    "file-term-reward-unknown-field": "SpecError: `reward.terms.angle_cost.reward.scale` must be a known field "
    "(got 'scale').",
    "file-empty": "SpecError: `reward` must be a terms reward with `weights` or [terms.*] tables (got {}).",
    "file-empty-weights": "SpecError: `reward` must be a terms reward with `weights` or [terms.*] tables (got "
    "{'weights': {}}).",
    "file-unknown-top-key": "SpecError: `reward.weight` must be a known field (got 'weight'). Did you mean 'weights'?",
    "file-sweep-where-unknown": "SpecError: `variants.x.reward.terms.a.sacle` must be a known field (got "
    "'sacle'). Did you mean 'scale'?",
    "file-sweep-where-scale": "SpecError: `terms.a.scale` must be a positive number (got -1.0). Use `weight` "
    "for the sign.",
    "file-sweep-where-weight": "SpecError: `variants.x.reward.weights.a` must be a number (got 'x'). Write a "
    "plain number such as -1.0.",
    "file-toml-where": "SpecError: `reward.toml.wieghts` must be a known field (got 'wieghts'). Did you mean "
    "'weights'?",
    "py-terms-default": "SpecError: `terms` must be a non-empty mapping factor -> weight (got {}). Write "
    '{"angle_cost": -1.0}.',
    "py-terms-empty": "SpecError: `terms` must be a non-empty mapping factor -> weight (got {}). Write "
    '{"angle_cost": -1.0}.',
    "py-terms-list": "SpecError: `terms` must be a non-empty mapping factor -> weight (got [('angle_cost', "
    '1.0)]). Write {"angle_cost": -1.0}.',
    "py-terms-text": "SpecError: `terms` must be a non-empty mapping factor -> weight (got 'angle_cost'). Write "
    '{"angle_cost": -1.0}.',
    "py-terms-int-key": "SpecError: `terms` must be keyed by factor names (str) (got 3).",
    "py-terms-weight-text": "SpecError: `terms.angle_cost` must be a number (got 'x'). Give a weight or a Term.",
    "py-terms-weight-bool": "SpecError: `terms.angle_cost` must be a number (got True). Give a weight or a Term.",
    "py-terms-weight-none": "SpecError: `terms.angle_cost` must be a number (got None). Give a weight or a Term.",
    "py-terms-weight-inf": "SpecError: `terms.angle_cost` must be a finite number (got inf). Give a weight or a Term.",
    "py-term-weight-text": "SpecError: `terms.angle_cost.weight` must be a number (got 'x'). Write a plain "
    "number such as -1.0.",
    "py-term-scale-negative": "SpecError: `terms.angle_cost.scale` must be a positive number (got -1). Use "
    "`weight` for the sign.",
    "py-term-scale-positional": "SpecError: `terms.angle_cost.scale` must be a positive number (got 0.0). Use "
    "`weight` for the sign.",
    "py-term-scale-bool": "SpecError: `terms.angle_cost.scale` must be a number (got True). Use `weight` for the sign.",
    "py-term-clip-order": "SpecError: `terms.angle_cost.clip` must be a pair with low < high (got (1, 0)). Swap "
    "the bounds.",
    "py-term-clip-list-order": "SpecError: `terms.angle_cost.clip` must be a pair with low < high (got [1.0, "
    "0.0]). Swap the bounds.",
    "py-term-clip-triple": "SpecError: `terms.angle_cost.clip` must be a pair [low, high] (got (0, 1, 2)). "
    "Write clip = [-1.0, 1.0].",
    "py-term-clip-scalar": "SpecError: `terms.angle_cost.clip` must be a pair [low, high] (got 5). Write clip = "
    "[-1.0, 1.0].",
    "py-term-clip-text": "SpecError: `terms.angle_cost.clip` must be a pair [low, high] (got 'ab'). Write clip "
    "= [-1.0, 1.0].",
    "py-term-clip-item": "SpecError: `terms.angle_cost.clip[0]` must be a number (got 'x'). Write a plain "
    "number such as -1.0.",
    "py-term-normalize-int": "SpecError: `terms.angle_cost.normalize` must be true or false (got 1).",
    "py-term-log-sigmoid-number": "SpecError: `terms.angle_cost.log_sigmoid` must be a LogSigmoid (got 5).",
    "py-term-reward-number": "SpecError: `terms.angle_cost.reward` must be a reward spec (got 5). Write {kind = "
    '"learned", ...}.',
    "py-term-second-of-two": "SpecError: `terms.torque_cost.scale` must be a positive number (got 0). Use "
    "`weight` for the sign.",
    "py-log-sigmoid-scale": "SpecError: `log_sigmoid.scale` must be a positive number (got 0). Use a value above 0.",
    "py-log-sigmoid-ref": "SpecError: `log_sigmoid.ref` must be a number (got 'x'). Write a plain number such as -1.0.",
    "py-log-sigmoid-scale-inf": "SpecError: `log_sigmoid.scale` must be a finite number (got inf). Use a finite value.",
    "file-learned-nothing": "SpecError: `reward.model` must be present (or `preferences`) (got None). Add model "
    '= "path/to/reward_model".',
    "file-learned-both": "SpecError: reward: `model` must be empty when `preferences` is given (got 'x'). Give "
    "one of them.",
    "file-learned-empty-model": "SpecError: reward: `model` must be the directory of a saved reward model (or "
    "give `preferences` to train one) (got ''). Run `rewardlab prefs train`, or add "
    "preferences = {n_pairs = 1000}.",
    "file-learned-model-number": "SpecError: reward: `model` must be the directory of a saved reward model (or "
    "give `preferences` to train one) (got 3). Run `rewardlab prefs train`, or add "
    "preferences = {n_pairs = 1000}.",
    "file-learned-scale-zero": "SpecError: reward: `scale` must be a positive number (got 0.0). Use a positive "
    "multiplier such as 1.0.",
    "file-learned-scale-text": "SpecError: reward: `scale` must be a number (got 'x'). Use a positive "
    "multiplier such as 1.0.",
    "file-learned-unknown-key": "SpecError: `reward.modle` must be a known field (got 'modle'). Did you mean 'model'?",
    "file-learned-preferences-not-table": "SpecError: reward: `preferences` must be a table of training "
    "settings (got 3). Write preferences = {}.",
    "file-learned-preferences-typo": "SpecError: reward: `preferences.n_pair` must be a known field (got "
    "'n_pair'). Did you mean 'n_pairs'?",
    "file-learned-temperature": "SpecError: reward: `preferences.temperature` must be >= 0 (got -1.0). Use 0 "
    "for a perfectly rational teacher.",
    "file-learned-n-pairs": "SpecError: reward: `preferences.n_pairs` must be a positive integer (got 0). Use a "
    "positive integer for `n_pairs`.",
    "file-learned-lr": "SpecError: reward: `preferences.lr` must be a positive number (got 0). Use a value above 0.",
    "file-learned-features-text": "SpecError: reward: `preferences.features` must be a non-empty list of obs, "
    "action, next_obs or factor names (got 'obs'). Write features = [\"obs\", "
    '"action"].',
    "file-learned-features-empty": "SpecError: reward: `preferences.features` must be a non-empty list of obs, "
    'action, next_obs or factor names (got []). Write features = ["obs", '
    '"action"].',
    "file-learned-feature-number": "SpecError: reward: `preferences.features` must be names (obs, action, "
    'next_obs or a factor) (got 3). Write ["obs"].',
    "file-learned-feature-empty-name": "SpecError: reward: `preferences.features` must be names (obs, action, "
    "next_obs or a factor) (got ''). Write [\"obs\"].",
    "file-learned-hidden-text": "SpecError: reward: `preferences.hidden` must be a list of layer sizes (got "
    "'64'). Write layer sizes such as [64, 64].",
    "file-learned-hidden-zero": "SpecError: reward: `preferences.hidden` must be a positive integer (got 0). "
    "Write layer sizes such as [64, 64].",
    "file-learned-hidden-bool": "SpecError: reward: `preferences.hidden` must be a positive integer (got True). "
    "Write layer sizes such as [64, 64].",
    "file-learned-seed": "SpecError: reward: `preferences.seed` must be a non-negative integer (got -1).",
    "py-learned-nothing": "SpecError: `model` must be the directory of a saved reward model (or give "
    "`preferences` to train one) (got ''). Run `rewardlab prefs train`, or add "
    "preferences = {n_pairs = 1000}.",
    "py-learned-model-none": "SpecError: `model` must be the directory of a saved reward model (or give "
    "`preferences` to train one) (got None). Run `rewardlab prefs train`, or add "
    "preferences = {n_pairs = 1000}.",
    "py-learned-both": "SpecError: `model` must be empty when `preferences` is given (got 'x'). Give one of them.",
    "py-learned-scale": "SpecError: `scale` must be a positive number (got -1). Use a positive multiplier such as 1.0.",
    "py-learned-scale-bool": "SpecError: `scale` must be a number (got True). Use a positive multiplier such as 1.0.",
    "py-learned-preferences-list": "SpecError: `preferences` must be a table of training settings (got "
    "[('n_pairs', 3)]). Write preferences = {}.",
    "py-learned-feature-number": "SpecError: `preferences.features` must be names (obs, action, next_obs or a "
    'factor) (got 1). Write ["obs"].',
    "py-learned-hidden-item": "SpecError: `preferences.hidden` must be a positive integer (got -1). Write layer "
    "sizes such as [64, 64].",
    "py-preferences-feature-number": "SpecError: `preferences.features` must be names (obs, action, next_obs or "
    'a factor) (got 2). Write ["obs"].',
    "py-preferences-hidden-item": "SpecError: `preferences.hidden` must be a positive integer (got 0). Write "
    "layer sizes such as [64, 64].",
    "file-hier-missing-ranking": "SpecError: `reward.ranking` must be present (got None). Add ranking = "
    '["most_important", "next", ...].',
    "file-hier-unknown-key": "SpecError: `reward.rank` must be a known field (got 'rank'). Did you mean 'ranking'?",
    "file-hier-empty-ranking": "SpecError: reward: `ranking` must be a non-empty list of factor names (got ()). "
    'Write ["angle_cost", "torque_cost"].',
    "file-hier-ranking-text": "SpecError: reward: `ranking` must be a non-empty list of factor names (got "
    '\'angle_cost\'). Write ["angle_cost", "torque_cost"].',
    "file-hier-ranking-number": "SpecError: reward: `ranking` must be factor names (strings) (got 3).",
    "file-hier-ranking-duplicate": "SpecError: reward: `ranking` must be without duplicates (got ['angle_cost', "
    "'angle_cost']). List 'angle_cost' once.",
    "file-hier-higher-not-table": "SpecError: reward: `higher_is_better` must be a table factor = true/false "
    "(got True).",
    "file-hier-higher-not-bool": "SpecError: reward: `higher_is_better` must be a table factor = true/false "
    "(got {'angle_cost': 1}).",
    "file-hier-higher-outside": "UnknownNameError: `higher_is_better` must be a factor of the ranking (got "
    "'torque_cost'). Did you mean 'angle_cost'?",
    "file-hier-margin-negative": "SpecError: reward: `margin` must be non-negative (got -1.0). Use 0 for a "
    "strict comparison.",
    "file-hier-margin-text": "SpecError: reward: `margin` must be a number (got 'big'). Write a plain number "
    "such as -1.0.",
    "file-hier-margin-bool": "SpecError: reward: `margin` must be a number (got True). Write a plain number "
    "such as -1.0.",
    "file-hier-margin-entry-text": "SpecError: reward: `margin.angle_cost` must be a number (got 'x'). Write a "
    "plain number such as -1.0.",
    "file-hier-margin-entry-negative": "SpecError: reward: `margin` must be non-negative (got -0.5). Use 0 for "
    "a strict comparison.",
    "file-hier-margin-outside": "UnknownNameError: `margin` must be a factor of the ranking (got "
    "'velocity_cost'). Did you mean 'angle_cost'?",
    "file-hier-margin-type": "UnknownNameError: `margin_type` must be a margin type (got 'relative'). Valid "
    "names: 'absolute', 'std'.",
    "file-hier-margin-stat": "UnknownNameError: `margin_stat` must be a margin statistic (got 'bufer'). Did you "
    "mean 'buffer'?",
    "file-hier-ties": "UnknownNameError: `ties` must be a tie policy (got 'half'). Valid names: 'drop', 'equal'.",
    "file-hier-unit": "UnknownNameError: `unit` must be a comparison unit (got 'episode'). Valid names: "
    "'segment', 'transition'.",
    "file-hier-mode": "UnknownNameError: `mode` must be a training mode (got 'onlin'). Did you mean 'online' or "
    "'offline'?",
    "file-hier-online-segments": 'SpecError: reward: `unit` must be "transition" in online mode (got '
    '\'segment\'). Use unit = "transition" or mode = "offline".',
    "file-hier-segment-length": "SpecError: reward: `segment_length` must be a positive integer (got 0). Use a "
    "positive integer for `segment_length`.",
    "file-hier-features-empty": "SpecError: reward: `features` must be a non-empty list among ['obs', 'action', "
    "'next_obs', 'factors'] (got ()).",
    "file-hier-features-text": "SpecError: reward: `features` must be a non-empty list among ['obs', 'action', "
    "'next_obs', 'factors'] (got 'obs').",
    "file-hier-feature-unknown": "UnknownNameError: `features` must be a reward-model input (got 'reward'). "
    "Valid names: 'action', 'factors', 'next_obs', 'obs'.",
    "file-hier-feature-number": "UnknownNameError: `features` must be a reward-model input (got 3). Valid "
    "names: 'action', 'factors', 'next_obs', 'obs'.",
    "file-hier-policy": 'SpecError: reward: `policy` must be "random" or a model.zip path (got 3).',
    "file-hier-n-samples": "SpecError: reward: `n_samples` must be a positive integer (got 0). Use a positive "
    "integer for `n_samples`.",
    "file-hier-n-batches": "SpecError: reward: `n_batches` must be a positive integer (got 0). Use a positive "
    "integer for `n_batches`.",
    "file-hier-batch-size-one": "SpecError: reward: `batch_size` must be at least 2 (pairs are drawn inside a "
    "batch) (got 1).",
    "file-hier-batch-size-zero": "SpecError: reward: `batch_size` must be a positive integer (got 0). Use 16 "
    "(HERON) or more.",
    "file-hier-warmup": "SpecError: reward: `warmup` must be a positive integer (got -1). Use a positive "
    "integer for `warmup`.",
    "file-hier-update-every": "SpecError: reward: `update_every` must be a positive integer (got 1.5). Use a "
    "positive integer for `update_every`.",
    "file-hier-relabel": "SpecError: reward: `relabel` must be true or false (got 1).",
    "file-hier-hidden-text": "SpecError: reward: `hidden` must be a list of layer sizes (got '64'). Write [64, 64].",
    "file-hier-hidden-zero": "SpecError: reward: `hidden` must be a positive integer (got 0). Write layer sizes "
    "such as [64, 64].",
    "file-hier-hidden-bool": "SpecError: reward: `hidden` must be a positive integer (got True). Write layer "
    "sizes such as [64, 64].",
    "file-hier-hidden-float": "SpecError: reward: `hidden` must be a positive integer (got 1.5). Write layer "
    "sizes such as [64, 64].",
    "file-hier-ensemble": "SpecError: reward: `ensemble` must be a positive integer (got 0). Use a positive "
    "integer for `ensemble`.",
    "file-hier-lr": "SpecError: reward: `lr` must be a positive number (got 0). Use e.g. 1e-3.",
    "file-hier-epochs": "SpecError: reward: `epochs` must be a positive integer (got 0). Use a positive integer "
    "for `epochs`.",
    "file-hier-seed": "SpecError: reward: `seed` must be a non-negative integer (got -1).",
    "file-hier-seed-numpy": "SpecError: reward: `seed` must be a non-negative integer (got np.int64(1)).",
    "py-hier-default": "SpecError: `ranking` must be a non-empty list of factor names (got ()). Write "
    '["angle_cost", "torque_cost"].',
    "py-hier-ranking-tuple-duplicate": "SpecError: `ranking` must be without duplicates (got ['a', 'a']). List "
    "'a' once.",
    "py-hier-ranking-set": "SpecError: `ranking` must be a non-empty list of factor names (got {'a'}). Write "
    '["angle_cost", "torque_cost"].',
    "py-hier-ranking-item": "SpecError: `ranking` must be factor names (strings) (got None).",
    "py-hier-features-tuple-empty": "SpecError: `features` must be a non-empty list among ['obs', 'action', "
    "'next_obs', 'factors'] (got ()).",
    "py-hier-hidden-item": "SpecError: `hidden` must be a positive integer (got 0). Write layer sizes such as "
    "[64, 64].",
    "py-hier-hidden-numpy": "SpecError: `hidden` must be a list of layer sizes (got array([8, 0])). Write [64, 64].",
    "py-hier-relabel": "SpecError: `relabel` must be true or false (got 'yes').",
    "py-hier-margin-numpy-negative": "SpecError: `margin` must be non-negative (got np.float64(-1.0)). Use 0 "
    "for a strict comparison.",
    "py-learned-path-both": "SpecError: `model` must be empty when `preferences` is given (got PosixPath('x')). "
    "Give one of them.",
    "py-terms-factor-named-as-a-field": "SpecError: `terms.normalize` must be a number (got 'x'). Give a weight "
    "or a Term.",
    # was "`log_sigmoid.scale` ..." and "`log_sigmoid.ref` ...": the term is named now, as for its other fields
    "file-term-log-sigmoid-scale": "SpecError: `terms.angle_cost.log_sigmoid.scale` must be a positive number "
    "(got 0). Use a value above 0.",
    "file-term-log-sigmoid-ref": "SpecError: `terms.angle_cost.log_sigmoid.ref` must be a number (got 'x'). "
    "Write a plain number such as -1.0.",
    # was accepted unchecked
    "py-term-model-validate": "SpecError: `scale` must be a positive number (got -1). Use `weight` for the sign.",
    # was "`relabel` must be true or false (got False).": the field at fault is named now
    "py-hier-normalize-output": "SpecError: `normalize_output` must be true or false (got 1).",
    # was "`ranking` must be factor names (strings) (got 97).": bytes are not a list of names
    "py-hier-ranking-bytes": "SpecError: `ranking` must be a non-empty list of factor names (got b'ab'). "
    'Write ["angle_cost", "torque_cost"].',
}
