from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardlab.errors import ConfigError, UnknownNameError
from rewardlab.preferences import (
    BPREF_TEACHERS,
    BoltzmannOracle,
    ImperfectOracle,
    PreferenceDataset,
    Segments,
    bpref_teacher,
    build_oracle,
    collect_segments,
    label_pairs,
)


def make_segments(rewards, mask=None):
    """Segments whose env reward (and single factor ``"r"``) is ``rewards`` ``(n, L)``."""
    r = np.asarray(rewards, dtype=np.float64)
    n, length = r.shape
    obs = np.zeros((n, length, 1))
    flags = np.zeros((n, length), dtype=bool)
    mask = np.ones((n, length), dtype=bool) if mask is None else np.asarray(mask)
    return Segments(obs, np.zeros((n, length)), obs.copy(), flags, flags, r, {"r": 2.0 * r}, mask)


def returns_segments(returns):
    """One-step segments whose returns are ``returns``."""
    return make_segments(np.asarray(returns, dtype=np.float64)[:, None])


def test_zero_temperature_gives_rational_labels_and_half_on_exact_ties():
    seg = returns_segments([3.0, 1.0, 3.0, -2.0])
    pairs = [[0, 1], [1, 0], [0, 2], [3, 1]]
    oracle = BoltzmannOracle(temperature=0.0)
    expected = [1.0, 0.0, 0.5, 0.0]
    np.testing.assert_array_equal(label_pairs(seg, pairs, oracle, seed=3), expected)
    np.testing.assert_array_equal(oracle.probability(seg, pairs), expected)


def test_temperature_to_zero_approaches_rational_probability():
    seg = returns_segments([3.0, 1.0, 3.0, -2.0])
    pairs = [[0, 1], [1, 0], [0, 2], [3, 1]]
    p = BoltzmannOracle(temperature=1e-3).probability(seg, pairs)
    np.testing.assert_allclose(p, [1.0, 0.0, 0.5, 0.0], atol=1e-12)


def test_boltzmann_probability_is_sigmoid_of_scaled_discounted_return_difference():
    seg = make_segments([[1.0, 2.0], [0.0, 0.5]])
    p = BoltzmannOracle(temperature=2.0, gamma=0.5).probability(seg, [[0, 1]])
    diff = (1.0 + 0.5 * 2.0) - (0.0 + 0.5 * 0.5)
    np.testing.assert_allclose(p, [1.0 / (1.0 + math.exp(-diff / 2.0))])


def test_factor_weights_reward_uses_the_stored_factors():
    seg = returns_segments([1.0, 2.0])
    oracle = BoltzmannOracle({"r": -1.0}, temperature=0.0)  # factor r = 2 * env reward, negated
    np.testing.assert_array_equal(label_pairs(seg, [[0, 1]], oracle), [1.0])


finite = st.floats(-50.0, 50.0, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(
    rewards=st.lists(st.lists(finite, min_size=3, max_size=3), min_size=2, max_size=5),
    temperature=st.sampled_from([0.0, 0.1, 1.0, 10.0]),
    beta=st.sampled_from([0.0, 0.3, math.inf]),
    mistake=st.floats(0.0, 1.0),
    myopia=st.floats(0.05, 1.0),
    equal=st.floats(0.0, 5.0),
)
def test_probabilities_of_a_pair_and_its_swap_sum_to_one(rewards, temperature, beta, mistake, myopia, equal):
    seg = make_segments(rewards)
    n = len(rewards)
    pairs = np.array([(i, j) for i in range(n) for j in range(n)])
    oracles = [
        BoltzmannOracle(temperature=temperature, gamma=0.9),
        ImperfectOracle(beta=beta, mistake_prob=mistake, myopia=myopia, equal_threshold=equal),
    ]
    for oracle in oracles:
        p = oracle.probability(seg, pairs)
        q = oracle.probability(seg, pairs[:, ::-1])
        np.testing.assert_allclose(p + q, 1.0, atol=1e-12)
        assert np.all((p >= 0.0) & (p <= 1.0))


@pytest.mark.parametrize(
    "oracle",
    [BoltzmannOracle(temperature=1.5), ImperfectOracle(beta=0.7, mistake_prob=0.2, myopia=0.8)],
    ids=["boltzmann", "imperfect"],
)
def test_labels_are_reproducible_and_their_mean_matches_the_probability(oracle):
    seg = make_segments([[0.0, 1.0], [1.0, 0.5], [-1.0, 0.0], [0.3, 0.3]])
    base = np.array([[0, 1], [1, 2], [2, 3], [3, 0]])
    repeats = 20_000
    pairs = np.tile(base, (repeats, 1))
    labels = label_pairs(seg, pairs, oracle, seed=7)
    np.testing.assert_array_equal(labels, label_pairs(seg, pairs, oracle, seed=7))
    assert not np.array_equal(labels, label_pairs(seg, pairs, oracle, seed=8))
    assert set(np.unique(labels)) <= {0.0, 1.0}
    p = oracle.probability(seg, base)
    assert np.all((p > 0.05) & (p < 0.95))  # a meaningful check, not a saturated one
    mean = labels.reshape(repeats, len(base)).mean(axis=0)
    tolerance = 5.0 * np.sqrt(p * (1.0 - p) / repeats)
    assert np.all(np.abs(mean - p) <= tolerance), (mean, p)


def test_mistake_prob_one_inverts_the_rational_labels():
    seg = returns_segments([3.0, 1.0, -2.0, 0.5])
    pairs = [[0, 1], [1, 2], [2, 3], [3, 0]]
    rational = label_pairs(seg, pairs, ImperfectOracle())
    flipped = label_pairs(seg, pairs, ImperfectOracle(mistake_prob=1.0), seed=1)
    np.testing.assert_array_equal(rational, [1.0, 1.0, 0.0, 0.0])
    np.testing.assert_array_equal(flipped, 1.0 - rational)


def test_mistake_probability_mixes_the_rational_probability():
    seg = returns_segments([0.0, 1.0])
    p = ImperfectOracle(beta=1.0, mistake_prob=0.25).probability(seg, [[1, 0]])
    s = 1.0 / (1.0 + math.exp(-1.0))
    np.testing.assert_allclose(p, [0.75 * s + 0.25 * (1.0 - s)])


def test_equal_threshold_labels_close_returns_as_equal_even_with_mistakes():
    seg = returns_segments([1.0, 1.4, 3.0])
    oracle = ImperfectOracle(equal_threshold=0.5, mistake_prob=1.0)
    labels = label_pairs(seg, [[0, 1], [1, 0], [0, 2]], oracle)
    np.testing.assert_array_equal(labels, [0.5, 0.5, 1.0])  # the last one is flipped from 0


def test_exact_ties_are_equal_by_default():
    seg = returns_segments([2.0, 2.0])
    np.testing.assert_array_equal(label_pairs(seg, [[0, 1]], ImperfectOracle(beta=0.5)), [0.5])


def test_skip_threshold_skips_only_pairs_where_both_returns_are_below():
    seg = returns_segments([-5.0, -6.0, 1.0, -7.0, -5.0])
    oracle = ImperfectOracle(skip_threshold=0.0, equal_threshold=0.0)
    labels = label_pairs(seg, [[0, 1], [0, 2], [2, 3], [1, 3], [0, 4]], oracle)
    np.testing.assert_array_equal(np.isnan(labels), [True, False, False, True, True])  # skip before equal
    np.testing.assert_array_equal(labels[[1, 2]], [0.0, 1.0])
    assert np.isnan(oracle.probability(seg, [[0, 1]])[0])


def test_myopia_weighs_later_steps_more_and_can_change_the_label():
    seg = make_segments([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.9]])
    pairs = [[0, 1]]
    assert label_pairs(seg, pairs, ImperfectOracle())[0] == 1.0  # 1 > 0.9 undiscounted
    assert label_pairs(seg, pairs, ImperfectOracle(myopia=0.5))[0] == 0.0  # 0.125 < 0.9


def test_padding_is_ignored():
    mask = [[True, True, False], [True, True, True]]
    seg = make_segments([[1.0, 1.0, 100.0], [1.0, 0.5, 0.0]], mask=mask)
    for oracle in (BoltzmannOracle(temperature=0.0), ImperfectOracle(myopia=0.9)):
        assert label_pairs(seg, [[0, 1]], oracle)[0] == 1.0


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: BoltzmannOracle(temperature=-1.0), r"`temperature` must be a number in \[0, inf\)"),
        (lambda: BoltzmannOracle(temperature=math.nan), "`temperature`"),
        (lambda: BoltzmannOracle(gamma=0.0), r"`gamma` must be a number in \(0, 1\]"),
        (lambda: BoltzmannOracle(reward="true"), "`reward` must be 'env'"),
        (lambda: BoltzmannOracle(reward={"r": "a"}), r"`reward\['r'\]` must be a finite number"),
        (lambda: BoltzmannOracle(reward={}), "non-empty"),
        (lambda: BoltzmannOracle(reward=3), "`reward` must be"),
        (lambda: ImperfectOracle(mistake_prob=1.5), r"`mistake_prob` must be a number in \[0, 1\]"),
        (lambda: ImperfectOracle(mistake_prob=-0.1), "`mistake_prob`"),
        (lambda: ImperfectOracle(myopia=0.0), r"`myopia` must be a number in \(0, 1\] \(got 0.0\)"),
        (lambda: ImperfectOracle(myopia=1.2), "`myopia`"),
        (lambda: ImperfectOracle(beta=-1.0), "`beta`"),
        (lambda: ImperfectOracle(equal_threshold=-0.1), "`equal_threshold`"),
        (lambda: ImperfectOracle(skip_threshold=math.inf), "`skip_threshold`"),
    ],
    ids=[
        "negative-temperature",
        "nan-temperature",
        "zero-gamma",
        "unknown-reward-name",
        "non-number-weight",
        "empty-weights",
        "bad-reward-type",
        "mistake-above-one",
        "mistake-below-zero",
        "zero-myopia",
        "myopia-above-one",
        "negative-beta",
        "negative-equal-threshold",
        "infinite-skip-threshold",
    ],
)
def test_invalid_oracle_config_raises(make, match):
    with pytest.raises(ConfigError, match=match):
        make()


@pytest.mark.parametrize("oracle_cls", [BoltzmannOracle, ImperfectOracle], ids=["boltzmann", "imperfect"])
def test_unknown_factor_in_weights_suggests_the_closest(oracle_cls):
    seg = collect_segments("pendulum", n_segments=2, length=5, seed=0)
    with pytest.raises(UnknownNameError, match="Did you mean 'angle_cost'"):
        label_pairs(seg, [[0, 1]], oracle_cls({"angle_cots": -1.0}))


def test_label_pairs_rejects_bad_inputs():
    seg = returns_segments([0.0, 1.0])
    with pytest.raises(ConfigError, match=r"`pairs\[0, 1\]` must be a segment index in \[0, 2\)"):
        label_pairs(seg, [[0, 2]], BoltzmannOracle())
    with pytest.raises(ConfigError, match="`oracle` must be"):
        label_pairs(seg, [[0, 1]], "boltzmann")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="`seed` must be"):
        label_pairs(seg, [[0, 1]], BoltzmannOracle(), seed=-1)


def test_oracles_are_frozen():
    oracle = ImperfectOracle()
    with pytest.raises(AttributeError):
        oracle.mistake_prob = 0.5  # type: ignore[misc]


def test_labels_plug_into_a_preference_dataset(tmp_path):
    seg = collect_segments("pendulum", n_segments=8, length=10, seed=0)
    rng = np.random.default_rng(0)
    pairs = rng.integers(0, len(seg), size=(20, 2))
    g = seg.returns("env")
    oracle = ImperfectOracle(skip_threshold=float(np.median(g)), mistake_prob=0.1, myopia=0.9)
    labels = label_pairs(seg, pairs, oracle, seed=0)
    keep = ~np.isnan(labels)
    assert 0 < keep.sum() < len(pairs)
    ds = PreferenceDataset(seg, pairs[keep], labels[keep], provenance=[oracle.provenance()])
    ds.save(tmp_path / "prefs")
    loaded = PreferenceDataset.load(tmp_path / "prefs")
    np.testing.assert_array_equal(loaded.labels, labels[keep])
    assert loaded.provenance[0]["oracle"] == "imperfect"
    json.dumps(BoltzmannOracle({"angle_cost": -1.0}).provenance())


# --- B-Pref's six teachers ----------------------------------------------------------------------


def test_bpref_relative_skip_and_equal_are_bprefs_thresholds_when_the_worst_segment_scores_zero():
    # returns 0, 1, ..., 9: mean 4.5 and a worst segment of 0, so the margin is BPref's (the mean)
    seg = returns_segments(np.arange(10.0))
    pairs = [[0, 0], [0, 1], [1, 0], [3, 0], [9, 8], [5, 4], [2, 9]]
    skip = ImperfectOracle(skip_fraction=0.25).probability(seg, pairs)  # skip below 0.25 * 4.5 = 1.125
    np.testing.assert_array_equal(np.isnan(skip), [True, True, True, False, False, False, False])
    equal = ImperfectOracle(equal_fraction=0.25).probability(seg, pairs)  # equal within 1.125
    np.testing.assert_array_equal(equal, [0.5, 0.5, 0.5, 1.0, 0.5, 0.5, 0.0])


def test_bpref_relative_rules_do_not_change_when_every_reward_is_shifted_or_scaled():
    rng = np.random.default_rng(0)
    rewards = rng.normal(size=(30, 5))
    pairs = rng.integers(0, 30, size=(200, 2))
    for name in ("skip", "equal"):
        oracle = bpref_teacher(name)
        base = oracle.probability(make_segments(rewards), pairs)
        moved = oracle.probability(make_segments(3.0 * rewards - 7.0), pairs)
        np.testing.assert_array_equal(base, moved)
        assert 0 < np.isnan(base).sum() < len(pairs) if name == "skip" else 0 < (base == 0.5).sum() < len(pairs)


def test_bpref_teachers_are_the_six_of_the_paper_and_the_cli_offers_them():
    from rewardlab.cli._common import BPREF_TEACHER_NAMES

    assert tuple(BPREF_TEACHERS) == BPREF_TEACHER_NAMES
    assert bpref_teacher("oracle") == ImperfectOracle()
    assert bpref_teacher("mistake").mistake_prob == 0.1 and bpref_teacher("noisy").beta == 1.0
    assert bpref_teacher("myopic").myopia == 0.9
    assert (bpref_teacher("skip").skip_fraction, bpref_teacher("equal").equal_fraction) == (0.1, 0.1)
    assert build_oracle({"kind": "bpref", "teacher": "noisy", "reward": {"r": 1.0}}).reward == {"r": 1.0}
    with pytest.raises(UnknownNameError, match="Did you mean 'myopic'"):
        build_oracle({"kind": "bpref", "teacher": "myopia"})
    with pytest.raises(UnknownNameError, match=r"oracle\.beta"):
        build_oracle({"kind": "bpref", "teacher": "noisy", "beta": 2.0})
    with pytest.raises(ConfigError, match="skip_fraction"):
        ImperfectOracle(skip_fraction=-0.1)
