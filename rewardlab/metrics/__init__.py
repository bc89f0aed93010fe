"""Exact reward-comparison metrics on tabular MDPs: STARC, EPIC, DARD and normalised regret.

The metrics compare two reward functions on a finite MDP, as arrays over transitions ``R[s, a, s']``
(``(S, A)`` and ``(S,)`` arrays are broadcast), without sampling:

* :func:`starc_distance` -- STARC (Skalse et al., ICLR 2024): canonicalise (VAL or minimal),
  normalise, then measure; halved to lie in [0, 1];
* :func:`epic_distance` -- EPIC (Gleave et al., ICLR 2021);
* :func:`dard_distance` -- DARD (Wulfe et al., ICLR 2022);
* :func:`canonicalize` -- the canonicalisations themselves;
* :func:`regret` -- exact normalised regret, the ground truth the distances are meant to bound;
* :func:`undefined_reason` -- why a distance to a trivial reward (canonical form 0 or constant)
  means nothing, or None.

Also owns the exact tabular models of the suite's finite envs (:func:`tabular_model`,
:class:`TabularEnvModel`, :func:`reward_table`: any reward spec as an ``(S, A, S)`` table) and the
sample-based estimates for continuous envs (:func:`epic_estimate`, :func:`starc_val_estimate`,
:func:`estimate_distances`, each an :class:`Estimate` with a bootstrap interval) over
:class:`~rewardlab.data.Transitions`. The sampling itself is
:func:`rewardlab.data.sample_transitions`, named here too: this package only does the maths.

Layer: above :mod:`rewardlab.agents` and :mod:`rewardlab.evaluation`, but it imports only
:mod:`rewardlab.rewards`, :mod:`rewardlab.data` and the ground floor (:mod:`rewardlab.suite`,
:mod:`rewardlab.errors`). No rollouts and no Stable-Baselines3 (an import-linter contract forbids
SB3, Ray and matplotlib here), so :mod:`rewardlab.compare` and the sweeps can call it cheaply.

Example:
    >>> import numpy as np
    >>> from rewardlab.metrics import TabularMDP, starc_distance
    >>> T = np.full((3, 2, 3), 1 / 3)
    >>> mdp = TabularMDP(transitions=T, gamma=0.95, initial=np.ones(3) / 3)
    >>> r = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])
    >>> phi = np.array([1.0, -2.0, 0.5])
    >>> shaped = r[:, :, None] + 0.95 * phi[None, None, :] - phi[:, None, None]
    >>> round(starc_distance(r, shaped, mdp, canonicalization="val", norm=2, metric=2), 9)
    0.0
"""

from __future__ import annotations

from rewardlab.data import Transitions, sample_transitions  # the data the estimators use, also named here
from rewardlab.metrics._canon import canonicalize
from rewardlab.metrics._distances import dard_distance, epic_distance, starc_distance, undefined_reason
from rewardlab.metrics._mdp import TabularMDP
from rewardlab.metrics._regret import regret
from rewardlab.metrics._sampled import Estimate, epic_estimate, estimate_distances, starc_val_estimate
from rewardlab.metrics._tabular import TabularEnvModel, reward_table, tabular_model

__all__ = [
    "Estimate",
    "TabularEnvModel",
    "TabularMDP",
    "Transitions",
    "canonicalize",
    "dard_distance",
    "epic_distance",
    "epic_estimate",
    "estimate_distances",
    "regret",
    "reward_table",
    "sample_transitions",
    "starc_distance",
    "starc_val_estimate",
    "tabular_model",
    "undefined_reason",
]
