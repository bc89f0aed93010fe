"""Preferences over trajectory segments: collection, labels and datasets.

- :func:`hierarchical_labels`: HERON's factor-ranking comparison, vectorised; :func:`std_margins`
  gives HERON's margins (a multiple of each factor's standard deviation).
- :func:`collect_segments` / :class:`Segments`: fixed-length, masked trajectory segments with
  every reward factor; :meth:`Segments.returns` sums any reward over them.
- :class:`PreferenceDataset`: segments + pairs + labels in an open on-disk format (JSON header +
  ``.npz``), appendable, with CSV/JSONL export and import of human labels.
- :func:`label_pairs` with :class:`BoltzmannOracle` (Christiano/imitation) or
  :class:`ImperfectOracle` (BPref's skip/equal/myopic/mistake teachers): synthetic labels.
- :class:`RewardModel` (an ensemble of MLPs over :class:`FeatureSpec` features, saved as
  safetensors + JSON) and :func:`train_reward_model` (Bradley-Terry loss
  :func:`bradley_terry_loss`, :func:`preference_probability`, bootstrap per member, early
  stopping; returns a :class:`TrainReport`): reward models learned from preferences.
- :func:`select_pairs`: which pairs to query next, uniformly or by ensemble disagreement.
- :func:`run_rlhf` / :class:`RLHFConfig`: the online loop of Christiano et al. (2017), resumable.
- :func:`render_segment`, :func:`write_clip`, :func:`write_pair_clips`: GIF clips of segments, so a
  person can judge exported pairs.
"""

from __future__ import annotations

from rewardlab.preferences._active import select_pairs
from rewardlab.preferences._clips import render_segment, write_clip, write_pair_clips
from rewardlab.preferences._dataset import PreferenceDataset
from rewardlab.preferences._hierarchical import hierarchical_labels, std_margins
from rewardlab.preferences._model import (
    FeatureSpec,
    RewardModel,
    TrainReport,
    bradley_terry_loss,
    preference_probability,
    train_reward_model,
)
from rewardlab.preferences._oracles import BoltzmannOracle, ImperfectOracle, PreferenceOracle, label_pairs
from rewardlab.preferences._rlhf import RLHFConfig, RLHFResult, label_schedule, run_rlhf
from rewardlab.preferences._segments import Segments, collect_segments

__all__ = [
    "BoltzmannOracle",
    "FeatureSpec",
    "ImperfectOracle",
    "PreferenceDataset",
    "PreferenceOracle",
    "RLHFConfig",
    "RLHFResult",
    "RewardModel",
    "Segments",
    "TrainReport",
    "bradley_terry_loss",
    "collect_segments",
    "hierarchical_labels",
    "label_pairs",
    "label_schedule",
    "preference_probability",
    "render_segment",
    "run_rlhf",
    "select_pairs",
    "std_margins",
    "train_reward_model",
    "write_clip",
    "write_pair_clips",
]
