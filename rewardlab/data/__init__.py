"""Data that rewards are computed on, and the one rollout loop that produces it.

Owns:

- :class:`Transitions` (``(s, a, s', done)`` batches, ``.npz`` on disk) and
  :func:`sample_transitions` (a coverage sample for the sample-based metrics);
- :class:`Segments` (fixed-length, masked trajectory segments with every reward factor) and
  :func:`collect_segments` (what preferences compare);
- :func:`rollout` / :class:`Step`: the one loop that steps a VecEnv under a :class:`Policy`,
  used by sampling, segment collection and :func:`rewardlab.evaluate`;
- :class:`RandomPolicy`, :class:`AgentPolicy`, :func:`policy_from` and :func:`load_agent`
  (a saved SB3 agent and its normalisation; the algorithm is read, never guessed);
- :data:`ALGORITHMS` and :data:`OFF_POLICY`, the algorithm table.

Layer: just above the ground floor (:mod:`rewardlab.errors`, :mod:`rewardlab.suite`,
:mod:`rewardlab.runs`); it imports nothing else of rewardlab, so rewards, wrappers, metrics and
preferences can all build on it.
"""

from __future__ import annotations

from rewardlab.data._policy import (
    ALGORITHMS,
    OFF_POLICY,
    AgentName,
    AgentPolicy,
    Policy,
    RandomPolicy,
    load_agent,
    policy_from,
)
from rewardlab.data._rollout import Step, raw_vec_env, rollout
from rewardlab.data._segments import BuildsReward, Segments, Stateful, collect_segments, frozen
from rewardlab.data._transitions import Transitions, check_count, sample_transitions

__all__ = [
    "ALGORITHMS",
    "OFF_POLICY",
    "AgentName",
    "AgentPolicy",
    "BuildsReward",
    "Policy",
    "RandomPolicy",
    "Segments",
    "Stateful",
    "Step",
    "Transitions",
    "check_count",
    "collect_segments",
    "frozen",
    "load_agent",
    "policy_from",
    "raw_vec_env",
    "rollout",
    "sample_transitions",
]
