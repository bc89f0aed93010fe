"""Preferences over trajectory segments: collection, labels, datasets, reward-model training and RLHF.

Layer: above :mod:`rewardlab.training` and everything under it; only sweeps and the CLI sit
higher. Importing it registers the builders of the reward kinds that train a model when built
(``learned`` with ``preferences``, ``hierarchical``) into the reward-kind registry
(:func:`rewardlab.rewards.register_trainer`).

- :func:`hierarchical_labels`: HERON's factor-ranking comparison, vectorised; :func:`std_margins`
  gives HERON's margins (a multiple of each factor's standard deviation).
- :func:`collect_segments` / :class:`Segments`: fixed-length, masked trajectory segments with
  every reward factor; :meth:`Segments.returns` sums any reward over them.
- :class:`PreferenceDataset`: segments + pairs + labels in an open on-disk format (JSON header +
  ``.npz``), appendable, with CSV/JSONL export and import of human labels.
- :func:`label_pairs` with :class:`BoltzmannOracle` (Christiano/imitation) or
  :class:`ImperfectOracle` (BPref's skip/equal/myopic/mistake teachers; :func:`bpref_teacher`
  names B-Pref's six): synthetic labels.
- :class:`RewardModel` (an ensemble of MLPs over :class:`FeatureSpec` features, saved as
  safetensors + JSON; its home is :mod:`rewardlab.rewards`) and :func:`train_reward_model` (Bradley-Terry loss
  :func:`bradley_terry_loss`, :func:`preference_probability`, bootstrap per member, early
  stopping; returns a :class:`TrainReport`): reward models learned from preferences.
- :func:`select_pairs`: which pairs to query next, uniformly or by ensemble disagreement.
- :func:`run_rlhf` / :class:`RLHFConfig`: the online loop of Christiano et al. (2017), resumable.
- :func:`render_segment`, :func:`write_clip`, :func:`write_pair_clips`: GIF clips of segments, so a
  person can judge exported pairs.
- :class:`LabelLog` / :class:`LabelQueue` / :func:`merge_labels`: human labels given one at a time,
  appended (fsynced) to ``DATASET/labels.jsonl`` with provenance, merged into the dataset;
  :func:`disagreements` between labellers. :func:`create_app` / :func:`serve`: the local labelling
  page over them (FastAPI + uvicorn, ``rewardlab prefs serve``).
- :class:`HumanTeacher`: a person as the online loop's teacher (``rlhf --teacher human | mixed``):
  each stage's pairs on the page, the loop waits (:class:`LabelTimeout` after its timeout).
"""

from __future__ import annotations

from rewardlab.data import Segments, collect_segments
from rewardlab.preferences._active import select_pairs
from rewardlab.preferences._bradley_terry import bradley_terry_loss, preference_probability, train_reward_model
from rewardlab.preferences._clips import render_segment, watch_run, write_clip, write_pair_clips
from rewardlab.preferences._dataset import PreferenceDataset, parse_label
from rewardlab.preferences._heron import (
    HeronReward,
    OnlineHeronReward,
    build_hierarchical,
    build_learned,
    heron_pairs,
    level_stats,
)
from rewardlab.preferences._hierarchical import hierarchical_labels, std_margins
from rewardlab.preferences._human import HumanTeacher, LabelTimeout, StageLabels
from rewardlab.preferences._labelling import (
    LabelConflict,
    LabelLog,
    LabelQueue,
    disagreements,
    live_labels,
    merge_labels,
)
from rewardlab.preferences._oracles import (
    BPREF_TEACHERS,
    BoltzmannOracle,
    ImperfectOracle,
    PreferenceOracle,
    bpref_teacher,
    label_pairs,
)
from rewardlab.preferences._rlhf import RLHFConfig, RLHFResult, build_oracle, label_schedule, run_rlhf
from rewardlab.preferences._serve import check_bind, create_app, is_loopback, serve, waiting_app
from rewardlab.rewards import FeatureSpec, RewardModel, TrainReport, register_trainer

register_trainer("learned", build_learned)
register_trainer("hierarchical", build_hierarchical)

__all__ = [
    "BPREF_TEACHERS",
    "BoltzmannOracle",
    "FeatureSpec",
    "HeronReward",
    "HumanTeacher",
    "ImperfectOracle",
    "LabelConflict",
    "LabelLog",
    "LabelQueue",
    "LabelTimeout",
    "OnlineHeronReward",
    "PreferenceDataset",
    "PreferenceOracle",
    "RLHFConfig",
    "RLHFResult",
    "RewardModel",
    "Segments",
    "StageLabels",
    "TrainReport",
    "bpref_teacher",
    "bradley_terry_loss",
    "build_hierarchical",
    "build_learned",
    "build_oracle",
    "check_bind",
    "collect_segments",
    "create_app",
    "disagreements",
    "heron_pairs",
    "hierarchical_labels",
    "is_loopback",
    "label_pairs",
    "label_schedule",
    "level_stats",
    "live_labels",
    "merge_labels",
    "parse_label",
    "preference_probability",
    "render_segment",
    "run_rlhf",
    "select_pairs",
    "serve",
    "std_margins",
    "train_reward_model",
    "waiting_app",
    "watch_run",
    "write_clip",
    "write_pair_clips",
]
