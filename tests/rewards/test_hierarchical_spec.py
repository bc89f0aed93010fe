"""The `hierarchical` (HERON) reward spec: validation, pairing and labelling of minibatches."""

from __future__ import annotations

import numpy as np
import pytest

import rewardlab as rl
from rewardlab.preferences import heron_pairs, level_stats
from rewardlab.rewards import Hierarchical

PENDULUM = ("angle_cost", "velocity_cost", "torque_cost")


def test_round_trips_through_dict_and_toml_fields():
    spec = Hierarchical(ranking=PENDULUM, margin={"angle_cost": 1.0, "velocity_cost": 0.5}, ties="equal")
    again = rl.rewards.from_dict(spec.to_dict())
    assert again == spec
    assert again.margins() == {"angle_cost": 1.0, "velocity_cost": 0.5, "torque_cost": 0.0}


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({}, r"ranking.*present"),
        ({"ranking": []}, r"`ranking` must be a non-empty list"),
        ({"ranking": ["angle_cost", "angle_cost"]}, r"without duplicates"),
        ({"ranking": ["angle_cost"], "margin": -1.0}, r"`margin` must be non-negative"),
        ({"ranking": ["angle_cost"], "margin": {"velocity_cost": 1.0}}, r"velocity_cost"),
        ({"ranking": ["angle_cost"], "ties": "half"}, r"ties"),
        ({"ranking": ["angle_cost"], "mode": "onlin"}, r"online"),
        ({"ranking": ["angle_cost"], "features": ["obs", "reward"]}, r"features"),
        ({"ranking": ["angle_cost"], "batch_size": 1}, r"batch_size"),
        ({"ranking": ["angle_cost"], "mode": "online", "unit": "segment"}, r"unit"),
        ({"ranking": ["angle_cost"], "hidden": [64, 0]}, r"hidden"),
        ({"ranking": ["angle_cost"], "rank": 1}, r"rank.*ranking"),
    ],
    ids=[
        "missing-ranking",
        "empty-ranking",
        "duplicate",
        "negative-margin",
        "margin-outside-ranking",
        "bad-ties",
        "typo-mode",
        "bad-feature",
        "batch-of-one",
        "online-segments",
        "zero-layer",
        "unknown-field",
    ],
)
def test_bad_fields_are_rejected_with_the_field_named(fields, match):
    with pytest.raises(rl.ConfigError, match=match):
        rl.rewards.from_dict({"kind": "hierarchical", **fields})


def test_unknown_factor_names_the_env_and_suggests():
    spec = Hierarchical(ranking=("angle_cos",))
    with pytest.raises(rl.ConfigError, match=r"angle_cost"):
        spec.build("pendulum")


def test_relabel_needs_an_off_policy_agent():
    spec = {"kind": "hierarchical", "ranking": list(PENDULUM), "mode": "online", "relabel": True}
    with pytest.raises(rl.ConfigError, match=r"relabel.*off-policy"):
        rl.TrainConfig(env="pendulum", reward=spec, agent="ppo").check()


def _reference_labels(fa, fb, signs, deltas):
    out = []
    for a, b in zip(fa, fb, strict=True):
        label = np.nan
        for k in range(len(signs)):
            va, vb = signs[k] * a[k], signs[k] * b[k]
            if va > vb + deltas[k]:
                label = 1.0
                break
            if vb > va + deltas[k]:
                label = 0.0
                break
        out.append(label)
    return np.array(out)


@pytest.mark.parametrize("stat", ["buffer", "batch"])
def test_heron_pairs_match_a_reference_loop(stat):
    env = rl.suite.get("pendulum")
    spec = Hierarchical(ranking=PENDULUM, margin=0.5, margin_stat=stat, batch_size=6)
    rng = np.random.default_rng(3)
    factors = np.round(rng.random((40, 3)) * 4) / 4  # coarse values: many ties at a level
    pairs, labels, levels = heron_pairs(factors, spec, env, n_batches=5, rng=np.random.default_rng(0))
    # the same minibatches, drawn again
    idx = np.random.default_rng(0).integers(0, 40, size=(5, 6))
    iu, ju = np.triu_indices(6, 1)
    signs = np.array([-1.0, -1.0, -1.0])  # all three are costs in the suite
    expected = []
    for batch in idx:
        std = factors.std(axis=0, ddof=1) if stat == "buffer" else factors[batch].std(axis=0, ddof=1)
        for i, j in zip(iu, ju, strict=True):
            a, b = batch[i], batch[j]
            if a == b:
                continue
            expected.append((a, b, _reference_labels(factors[[a]], factors[[b]], signs, 0.5 * std)[0]))
    assert pairs.tolist() == [[a, b] for a, b, _ in expected]
    np.testing.assert_array_equal(labels, np.array([lab for _, _, lab in expected]))
    assert np.isnan(labels).sum() > 0 and (levels == -1).sum() == np.isnan(labels).sum()


def test_level_statistics_sum_to_one():
    levels = np.array([0, 0, 1, 2, -1, -1, 0, 1])
    stats = level_stats(levels, PENDULUM)
    assert stats["decided_by_angle_cost"] == 3 / 8
    assert stats["tied"] == 2 / 8
    assert sum(v for k, v in stats.items() if k != "pairs") == pytest.approx(1.0)


def test_equal_ties_give_half_labels():
    env = rl.suite.get("pendulum")
    spec = Hierarchical(ranking=("angle_cost",), margin=10.0, ties="equal", batch_size=4)
    factors = np.arange(20, dtype=float)[:, None]
    _, labels, levels = heron_pairs(factors, spec, env, n_batches=3, rng=np.random.default_rng(1))
    assert set(np.unique(labels)) <= {0.5}  # a margin of 10 stds ties everything
    assert (levels == -1).all()
