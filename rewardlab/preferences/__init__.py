"""Preferences over trajectory segments: collection, labels and datasets.

- :func:`hierarchical_labels`: HERON's factor-ranking comparison, vectorised; :func:`std_margins`
  gives HERON's margins (a multiple of each factor's standard deviation).
- :func:`collect_segments` / :class:`Segments`: fixed-length, masked trajectory segments with
  every reward factor; :meth:`Segments.returns` sums any reward over them.
- :class:`PreferenceDataset`: segments + pairs + labels in an open on-disk format (JSON header +
  ``.npz``), appendable, with CSV/JSONL export and import of human labels.
- :func:`label_pairs` with :class:`BoltzmannOracle` (Christiano/imitation) or
  :class:`ImperfectOracle` (BPref's skip/equal/myopic/mistake teachers): synthetic labels.
"""

from __future__ import annotations

from rewardlab.preferences._dataset import PreferenceDataset
from rewardlab.preferences._hierarchical import hierarchical_labels, std_margins
from rewardlab.preferences._oracles import BoltzmannOracle, ImperfectOracle, PreferenceOracle, label_pairs
from rewardlab.preferences._segments import Segments, collect_segments

__all__ = [
    "BoltzmannOracle",
    "ImperfectOracle",
    "PreferenceDataset",
    "PreferenceOracle",
    "Segments",
    "collect_segments",
    "hierarchical_labels",
    "label_pairs",
    "std_margins",
]
