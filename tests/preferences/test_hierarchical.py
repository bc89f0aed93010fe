from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardlab.errors import ConfigError, UnknownNameError
from rewardlab.preferences import hierarchical_labels, std_margins


def reference_labels(fa, fb, ranking, higher_is_better, margins, tie_label=None):
    """HERON's `compare`, one pair at a time, as in the paper's code."""
    labels, levels = [], []
    for a, b in zip(np.asarray(fa, dtype=float), np.asarray(fb, dtype=float), strict=True):
        label, level = (math.nan if tie_label is None else tie_label), -1
        for depth, k in enumerate(ranking):
            s = 1.0 if higher_is_better[k] else -1.0
            va, vb = s * a[k], s * b[k]
            if va > vb + margins[k]:
                label, level = 1.0, depth
                break
            if vb > va + margins[k]:
                label, level = 0.0, depth
                break
        labels.append(label)
        levels.append(level)
    return np.array(labels), np.array(levels)


HIB = [False, True, False]
MARGINS = [0.1, 0.0, 0.5]


def label_one(a, b, **kwargs):
    kwargs = {"ranking": [0, 2, 1], "higher_is_better": HIB, "margins": MARGINS, **kwargs}
    return hierarchical_labels(np.array([a], dtype=float), np.array([b], dtype=float), **kwargs)


# ---------------------------------------------------------------------------- hand cases


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([0.0, 0.0, 0.0], [1.0, 0.0, 0.0], 1.0),  # level 1, lower is better: a is lower by > 0.1
        ([1.0, 0.0, 0.0], [0.0, 0.0, 0.0], 0.0),  # level 1: b is lower by > 0.1
        ([0.0, 0.0, 0.0], [0.05, 0.0, 9.0], 1.0),  # tie within 0.1 at level 1; level 2 (factor 2, lower) a
        ([0.0, 5.0, 0.0], [0.05, 7.0, 0.0], 0.0),  # tie at levels 1, 2; level 3 (factor 1, higher): b
    ],
    ids=["a-wins-level-1", "b-wins-level-1", "tie-then-level-2-decides", "level-3-decides"],
)
def test_hand_cases(a, b, expected):
    assert label_one(a, b)[0] == expected


def test_tied_at_every_level_is_nan_and_tie_label_half_gives_half():
    a, b = [0.0, 0.0, 0.0], [0.05, 0.0, 0.4]  # within every margin (0.1, equal at margin 0, 0.5)
    assert math.isnan(label_one(a, b)[0])
    assert label_one(a, b, tie_label=0.5)[0] == 0.5
    _, level = label_one(a, b, return_level=True)
    assert level[0] == -1


def test_lower_is_better_direction():
    fa, fb = np.array([[1.0]]), np.array([[2.0]])
    assert hierarchical_labels(fa, fb, ranking=[0], higher_is_better=[False])[0] == 1.0
    assert hierarchical_labels(fa, fb, ranking=[0], higher_is_better=[True])[0] == 0.0


def test_difference_equal_to_margin_is_a_tie():
    # 0.5 and 0.25 are exact in binary, so the difference is exactly the margin.
    fa, fb = np.array([[1.0, 3.0]]), np.array([[0.5, 0.0]])
    labels, level = hierarchical_labels(
        fa, fb, ranking=[0, 1], higher_is_better=True, margins=[0.5, 0.0], return_level=True
    )
    assert labels[0] == 1.0 and level[0] == 1  # tie at level 0 (strict >), decided by factor 1
    assert hierarchical_labels(fa, fb, ranking=[0], higher_is_better=True, margins=[0.25, 0.0])[0] == 1.0


def test_return_level_reports_the_deciding_level():
    fa = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 5.0, 0.0], [0.0, 0.0, 0.0]])
    fb = np.array([[1.0, 0.0, 0.0], [0.05, 0.0, 1.0], [0.05, 7.0, 0.0], [0.05, 0.0, 0.4]])
    labels, levels = hierarchical_labels(
        fa, fb, ranking=[0, 2, 1], higher_is_better=HIB, margins=MARGINS, return_level=True
    )
    np.testing.assert_array_equal(labels, [1.0, 1.0, 0.0, np.nan])
    np.testing.assert_array_equal(levels, [0, 1, 2, -1])
    assert labels.dtype == np.float64 and levels.dtype == np.int64


def test_unranked_factors_are_ignored():
    fa, fb = np.array([[0.0, 100.0]]), np.array([[0.0, -100.0]])
    assert math.isnan(hierarchical_labels(fa, fb, ranking=[0], higher_is_better=True)[0])


def test_empty_batch_gives_empty_labels():
    labels, levels = hierarchical_labels(
        np.zeros((0, 2)), np.zeros((0, 2)), ranking=[1, 0], higher_is_better=True, return_level=True
    )
    assert labels.shape == (0,) and levels.shape == (0,)


# ---------------------------------------------------------------------------- reference loop


@st.composite
def problems(draw, max_n=30, max_k=4):
    n = draw(st.integers(0, max_n))
    k = draw(st.integers(1, max_k))
    ints = st.integers(-3, 3)  # small integers: many exact ties and differences equal to a margin
    fa = np.array(draw(st.lists(st.lists(ints, min_size=k, max_size=k), min_size=n, max_size=n)), dtype=float)
    fb = np.array(draw(st.lists(st.lists(ints, min_size=k, max_size=k), min_size=n, max_size=n)), dtype=float)
    fa, fb = fa.reshape(n, k), fb.reshape(n, k)
    ranking = draw(st.permutations(range(k)))[: draw(st.integers(1, k))]
    hib = draw(st.lists(st.booleans(), min_size=k, max_size=k))
    margin = st.one_of(st.sampled_from([0.0, 1.0, 2.0]), st.floats(0.0, 3.0, allow_nan=False))
    margins = draw(st.lists(margin, min_size=k, max_size=k))
    return fa, fb, list(ranking), hib, margins


@settings(max_examples=50, deadline=None)
@given(problems(), st.sampled_from([None, 0.5]))
def test_equals_reference_loop(problem, tie_label):
    fa, fb, ranking, hib, margins = problem
    labels, levels = hierarchical_labels(
        fa, fb, ranking=ranking, higher_is_better=hib, margins=margins, tie_label=tie_label, return_level=True
    )
    ref_labels, ref_levels = reference_labels(fa, fb, ranking, hib, margins, tie_label)
    np.testing.assert_array_equal(labels, ref_labels)
    np.testing.assert_array_equal(levels, ref_levels)


def test_equals_reference_loop_on_random_floats(rng):
    fa, fb = rng.normal(size=(2000, 3)), rng.normal(size=(2000, 3))
    got = hierarchical_labels(fa, fb, ranking=[2, 0], higher_is_better=HIB, margins=MARGINS)
    np.testing.assert_array_equal(got, reference_labels(fa, fb, [2, 0], HIB, MARGINS)[0])


# ---------------------------------------------------------------------------- properties (algorithms.md §9)


@settings(max_examples=50, deadline=None)
@given(problems(max_k=1), st.booleans())
def test_one_factor_with_zero_margin_is_the_sign_of_the_difference(problem, hib):
    fa, fb, *_ = problem
    labels = hierarchical_labels(fa, fb, ranking=[0], higher_is_better=[hib], margins=[0.0])
    diff = (fa[:, 0] - fb[:, 0]) * (1 if hib else -1)
    expected = np.where(diff > 0, 1.0, np.where(diff < 0, 0.0, np.nan))
    np.testing.assert_array_equal(labels, expected)


@settings(max_examples=50, deadline=None)
@given(problems(max_k=4), st.randoms(use_true_random=False))
def test_permuting_lower_levels_keeps_pairs_decided_at_level_1(problem, random):
    fa, fb, ranking, hib, margins = problem
    labels, levels = hierarchical_labels(
        fa, fb, ranking=ranking, higher_is_better=hib, margins=margins, return_level=True
    )
    lower = ranking[1:]
    random.shuffle(lower)
    permuted = hierarchical_labels(fa, fb, ranking=[ranking[0], *lower], higher_is_better=hib, margins=margins)
    np.testing.assert_array_equal(permuted[levels == 0], labels[levels == 0])


@settings(max_examples=50, deadline=None)
@given(problems())
def test_swapping_a_and_b_maps_one_to_zero_and_keeps_nan(problem):
    fa, fb, ranking, hib, margins = problem
    ab = hierarchical_labels(fa, fb, ranking=ranking, higher_is_better=hib, margins=margins)
    ba = hierarchical_labels(fb, fa, ranking=ranking, higher_is_better=hib, margins=margins)
    np.testing.assert_array_equal(ba, 1.0 - ab)  # nan stays nan


@settings(max_examples=50, deadline=None)
@given(problems(max_k=1))
def test_flipping_the_direction_of_the_only_factor_inverts_decided_labels(problem):
    fa, fb, _, hib, margins = problem
    up = hierarchical_labels(fa, fb, ranking=[0], higher_is_better=hib, margins=margins)
    down = hierarchical_labels(fa, fb, ranking=[0], higher_is_better=[not hib[0]], margins=margins)
    np.testing.assert_array_equal(down, 1.0 - up)


@settings(max_examples=50, deadline=None)
@given(problems(), st.integers(0, 3), st.sampled_from([0.25, 2.0, 8.0]))
def test_scaling_a_factor_and_its_absolute_margin_leaves_labels_unchanged(problem, j, c):
    fa, fb, ranking, hib, margins = problem
    j = j % fa.shape[1]
    # Powers of two scale exactly, so the comparison is unchanged bit for bit.
    sa, sb, sm = fa.copy(), fb.copy(), list(margins)
    sa[:, j] *= c
    sb[:, j] *= c
    sm[j] *= c
    before = hierarchical_labels(fa, fb, ranking=ranking, higher_is_better=hib, margins=margins)
    after = hierarchical_labels(sa, sb, ranking=ranking, higher_is_better=hib, margins=sm)
    np.testing.assert_array_equal(after, before)


def test_std_margins_scale_with_the_factor_and_keep_labels(rng):
    data = rng.normal(size=(500, 3))
    fa, fb = data[:250], data[250:]
    scale = np.array([4.0, 0.5, 2.0])
    m = std_margins(data, [1.0, 0.5, 0.1])
    np.testing.assert_allclose(std_margins(data * scale, [1.0, 0.5, 0.1]), m * scale)
    kwargs = {"ranking": [0, 1, 2], "higher_is_better": True}
    before = hierarchical_labels(fa, fb, margins=m, **kwargs)
    after = hierarchical_labels(fa * scale, fb * scale, margins=std_margins(data * scale, [1.0, 0.5, 0.1]), **kwargs)
    np.testing.assert_array_equal(after, before)


def test_std_margins_is_multiplier_times_unbiased_std(rng):
    data = rng.normal(size=(50, 2))
    np.testing.assert_allclose(std_margins(data, 2.0), 2.0 * data.std(axis=0, ddof=1))
    np.testing.assert_allclose(std_margins(data, [1.0, 0.0], ddof=0), [data[:, 0].std(), 0.0])
    by_name = std_margins({"x": data[:, 0], "y": data[:, 1]}, {"x": 1.0, "y": 3.0})
    assert by_name == pytest.approx({"x": data[:, 0].std(ddof=1), "y": 3.0 * data[:, 1].std(ddof=1)})


# ---------------------------------------------------------------------------- dict input


def test_dict_input_equals_array_input(rng):
    fa, fb = rng.integers(-2, 3, size=(300, 3)).astype(float), rng.integers(-2, 3, size=(300, 3)).astype(float)
    names = ["angle", "speed", "torque"]
    da = {n: fa[:, j] for j, n in enumerate(names)}
    db = {n: fb[:, j] for j, n in enumerate(names)}
    labels, levels = hierarchical_labels(
        fa, fb, ranking=[0, 2, 1], higher_is_better=HIB, margins=MARGINS, return_level=True
    )
    d_labels, d_levels = hierarchical_labels(
        da,
        db,
        ranking=["angle", "torque", "speed"],
        higher_is_better=dict(zip(names, HIB, strict=True)),
        margins=dict(zip(names, MARGINS, strict=True)),
        return_level=True,
    )
    np.testing.assert_array_equal(d_labels, labels)
    np.testing.assert_array_equal(d_levels, levels)


# ---------------------------------------------------------------------------- validation

FA = np.zeros((4, 3))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"fb": np.zeros((5, 3))}, r"`fb` must be of the same shape as `fa` \(4, 3\) \(got \(5, 3\)\)"),
        ({"fa": np.zeros(4), "fb": np.zeros(4)}, r"`fa` must be a 2-D \(N, K\) array \(got 'shape \(4,\)'\)"),
        ({"ranking": [0, 3]}, r"`ranking` must be a list of indices in \[0, 3\) \(got \[0, 3\]\)"),
        ({"ranking": [-1]}, r"`ranking` must be a list of indices in \[0, 3\) \(got \[-1\]\)"),
        ({"ranking": [0, 1, 0]}, r"`ranking` must be free of duplicates \(got \[0, 1, 0\]\)\. 0 appears twice"),
        ({"ranking": []}, r"`ranking` must be a non-empty sequence"),
        ({"margins": [0.1, -0.5, 0.0]}, r"`margins` must be finite and >= 0 .*\(got \[0\.1, -0\.5, 0\.0\]\).*-0\.5"),
        ({"margins": [0.1, float("nan"), 0.0]}, r"`margins` must be finite and >= 0 .*nan"),
        (
            {"margins": [0.1, 0.0]},
            r"`margins` must be of length K = 3, aligned with the factor axis \(got \[0\.1, 0\.0\]\)",
        ),
        ({"higher_is_better": [True, False]}, r"`higher_is_better` must be of length K = 3, .*\(got \[True, False\]\)"),
        ({"higher_is_better": [1, -1, 1]}, r"`higher_is_better` must be True \(higher is better\) or False"),
        ({"tie_label": 2.0}, r"`tie_label` must be None or a number in \[0, 1\] \(got 2\.0\)"),
        ({"fa": np.full((4, 3), np.nan)}, r"`fa/fb` must be free of NaN"),
    ],
    ids=[
        "shape-mismatch",
        "not-2d",
        "ranking-out-of-range",
        "ranking-negative",
        "ranking-duplicate",
        "ranking-empty",
        "negative-margin",
        "nan-margin",
        "margins-length",
        "higher-is-better-length",
        "higher-is-better-not-bool",
        "tie-label-out-of-range",
        "nan-factor",
    ],
)
def test_invalid_arguments_raise_config_error(kwargs, match):
    call = {"fa": FA, "fb": FA, "ranking": [0, 2, 1], "higher_is_better": HIB, "margins": MARGINS, **kwargs}
    fa, fb = call.pop("fa"), call.pop("fb")
    with pytest.raises(ConfigError, match=match):
        hierarchical_labels(fa, fb, **call)


def test_unknown_factor_name_suggests_the_closest():
    d = {"angle": np.zeros(3), "torque": np.zeros(3)}
    with pytest.raises(
        UnknownNameError, match=r"`ranking` must be a factor name of `fa` \(got 'tork'\)\. Did you mean 'torque'"
    ):
        hierarchical_labels(d, d, ranking=["angle", "tork"], higher_is_better=True)
    with pytest.raises(UnknownNameError, match=r"`margins` .*\(got 'angel'\)\. Did you mean 'angle'"):
        hierarchical_labels(d, d, ranking=["angle"], higher_is_better=True, margins={"angel": 0.1, "torque": 0.0})


def test_dict_input_refuses_sequences_for_per_factor_arguments():
    d = {"angle": np.zeros(3), "torque": np.zeros(3)}
    with pytest.raises(ConfigError, match=r"`margins` must be a dict name -> value .*A sequence is ambiguous"):
        hierarchical_labels(d, d, ranking=["angle"], higher_is_better=True, margins=[0.1, 0.0])
    with pytest.raises(ConfigError, match=r"`margins` must be a dict with every factor name .*Missing: \['torque'\]"):
        hierarchical_labels(d, d, ranking=["angle"], higher_is_better=True, margins={"angle": 0.1})


def test_std_margins_validation():
    with pytest.raises(ConfigError, match=r"`multiplier` must be finite and >= 0"):
        std_margins(np.ones((5, 2)), [1.0, -1.0])
    with pytest.raises(ConfigError, match=r"`factors` must be at least 2 rows .*\(got '1 rows'\)"):
        std_margins(np.ones((1, 2)), 1.0)
    with pytest.raises(ConfigError, match=r"`factors` must be a 2-D"):
        std_margins(np.ones(5), 1.0)
