from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rewardlab.errors import ConfigError, UnknownNameError
from rewardlab.preferences import RewardModel, collect_segments, select_pairs

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def segments():
    return collect_segments("pendulum", n_segments=12, length=5, seed=0)


@pytest.fixture(scope="module")
def ensemble():
    return RewardModel.for_env("pendulum", hidden=(16,), ensemble=4, seed=0)


def test_uniform_pairs_are_distinct_and_never_compare_a_segment_with_itself(segments):
    pairs = select_pairs(None, segments, 60, method="uniform", seed=1)
    assert pairs.shape == (60, 2) and pairs.dtype == np.int64
    assert (pairs[:, 0] != pairs[:, 1]).all()
    assert len({tuple(p) for p in pairs.tolist()}) == 60
    assert pairs.min() >= 0 and pairs.max() < 12


def test_uniform_pairs_can_cover_every_ordered_pair_but_no_more():
    seg = collect_segments("pendulum", n_segments=4, length=2, seed=0)
    pairs = select_pairs(None, seg, 12, method="uniform")
    assert {tuple(p) for p in pairs.tolist()} == {(a, b) for a in range(4) for b in range(4) if a != b}
    with pytest.raises(ConfigError, match="n_pairs"):
        select_pairs(None, seg, 13, method="uniform")


def test_disagreement_picks_the_pairs_of_largest_member_variance_by_brute_force(segments, ensemble):
    n = len(segments)
    chosen = select_pairs(ensemble, segments, 7, n_candidates=n * (n - 1), seed=0)
    # reference: each member's return per segment from per-step predictions, then a loop over all pairs
    returns = np.zeros((ensemble.ensemble, n))
    for i in range(n):
        m = segments.mask[i]
        returns[:, i] = ensemble.predict_members(segments.obs[i][m], segments.actions[i][m], None).sum(axis=1)
    scores = {}
    for a in range(n):
        for b in range(n):
            if a != b:
                p = [1.0 / (1.0 + math.exp(-(returns[e, a] - returns[e, b]))) for e in range(ensemble.ensemble)]
                scores[(a, b)] = float(np.var(p))
    best = sorted(scores, key=scores.get, reverse=True)[:7]
    assert {tuple(p) for p in chosen.tolist()} == set(best)


def test_disagreement_beats_uniform_on_member_variance_and_is_reproducible(segments, ensemble):
    returns = ensemble.segment_returns(segments).detach().numpy().astype(np.float64)

    def variance(pairs):
        d = returns[:, pairs[:, 0]] - returns[:, pairs[:, 1]]
        return (1.0 / (1.0 + np.exp(-d))).var(axis=0).mean()

    active = select_pairs(ensemble, segments, 10, seed=3)
    uniform = select_pairs(ensemble, segments, 10, method="uniform", seed=3)
    assert variance(active) > variance(uniform)
    np.testing.assert_array_equal(active, select_pairs(ensemble, segments, 10, seed=3))


def test_disagreement_with_a_single_model_tells_to_use_an_ensemble(segments):
    single = RewardModel.for_env("pendulum", hidden=(8,))
    with pytest.raises(ConfigError, match=r"ensemble=3.*uniform"):
        select_pairs(single, segments, 3)


def test_select_pairs_rejects_unknown_methods_and_too_few_candidates(segments, ensemble):
    with pytest.raises(UnknownNameError, match="Did you mean 'disagreement'"):
        select_pairs(ensemble, segments, 3, method="disagrement")
    with pytest.raises(ConfigError, match="n_candidates"):
        select_pairs(ensemble, segments, 5, n_candidates=2)
    with pytest.raises(ConfigError, match="n_pairs"):
        select_pairs(ensemble, segments, 0)
