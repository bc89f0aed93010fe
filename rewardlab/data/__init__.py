"""Data that rewards are computed on, and the one rollout loop that produces it.

Owns:

- :class:`Transitions` (``(s, a, s', done)`` batches, ``.npz`` on disk) and
  :func:`sample_transitions` (a coverage sample for the sample-based metrics);
- :class:`Segments` (fixed-length, masked trajectory segments with every reward factor) and
  :func:`collect_segments` (what preferences compare);
- :func:`rollout` / :class:`Step`: the one loop that steps a VecEnv under a :class:`Policy`,
  used by sampling, segment collection and :func:`rewardlab.evaluate`;
- :class:`RandomPolicy`, :class:`AgentPolicy`, :func:`policy_from` and :func:`load_agent`
  (a saved SB3 agent and its normalisation; the algorithm is read, never guessed; only tensors
  and JSON are loaded unless the caller passes ``trust``);
- checkpoints in formats that carry no code: :func:`load_weights`, :func:`normalization_state` /
  :func:`restore_normalization` (JSON), :func:`save_replay_buffer` / :func:`load_replay_buffer` (npz);
- :data:`ALGORITHMS` and :data:`OFF_POLICY`, the algorithm table.

Layer: just above the ground floor (:mod:`rewardlab.errors`, :mod:`rewardlab.suite`,
:mod:`rewardlab.runs`); it imports nothing else of rewardlab, so rewards, wrappers, metrics and
preferences can all build on it.
"""

from __future__ import annotations

from rewardlab.data._checkpoint import (
    load_replay_buffer,
    load_weights,
    normalization_state,
    restore_normalization,
    save_replay_buffer,
)
from rewardlab.data._policy import (
    ALGORITHMS,
    OFF_POLICY,
    TRUST_FLAG,
    AgentName,
    AgentPolicy,
    Policy,
    RandomPolicy,
    agent_spaces,
    check_policy_file,
    load_agent,
    policy_from,
    policy_kwargs,
    untrusted,
)
from rewardlab.data._rollout import Step, raw_vec_env, rollout
from rewardlab.data._segments import BuildsReward, Segments, Stateful, collect_segments, frozen
from rewardlab.data._transitions import Transitions, check_count, sample_transitions

__all__ = [
    "ALGORITHMS",
    "OFF_POLICY",
    "TRUST_FLAG",
    "AgentName",
    "AgentPolicy",
    "BuildsReward",
    "Policy",
    "RandomPolicy",
    "Segments",
    "Stateful",
    "Step",
    "Transitions",
    "agent_spaces",
    "check_count",
    "check_policy_file",
    "collect_segments",
    "frozen",
    "load_agent",
    "load_replay_buffer",
    "load_weights",
    "normalization_state",
    "policy_from",
    "policy_kwargs",
    "raw_vec_env",
    "restore_normalization",
    "rollout",
    "sample_transitions",
    "save_replay_buffer",
    "untrusted",
]
