"""Reward specs and the batched reward functions they build.

Kinds: :class:`Env` (ground truth), :class:`Terms` (weighted factors with transforms),
:class:`Shaped` (potential-based shaping of any reward), :class:`Code` (your own function),
:class:`Learned` (a reward model trained from preferences), :class:`Hierarchical` (HERON: a
reward model trained from a ranking of the env's reward factors), :class:`Table` (a sparse table
over the states of an env's exact model, as :func:`rewardlab.design.explicable` writes) and
:class:`OnlineRLHF` (``rlhf``: the online preference loop as a sweep variant; run, not built).
Specs load from TOML (:func:`load`) or dicts (:func:`from_dict`) and are validated on load.

Also the reward network: :class:`RewardModel` (an ensemble of MLPs over :class:`FeatureSpec`
features, saved as safetensors + JSON) and :class:`ModelReward`, the reward function that
evaluates one; :class:`LearningReward` declares a reward whose model learns while the agent trains.

Layer: above :mod:`rewardlab.data` and the ground floor; imports nothing higher. The kinds that
train a model when built get their trainer from :mod:`rewardlab.preferences`, which registers it
(:func:`register_trainer`).

Example:
    >>> import rewardlab as rl
    >>> spec = rl.rewards.from_dict({"kind": "terms", "weights": {"angle_cost": -1.0}})
    >>> spec == rl.rewards.Terms({"angle_cost": -1.0})
    True
"""

from rewardlab.rewards._kinds import Code, Env, LogSigmoid, Shaped, Term, Terms
from rewardlab.rewards._learned import (
    Hierarchical,
    Learned,
    LearningReward,
    ModelReward,
    OnlineRLHF,
    Preferences,
    factor_values,
)
from rewardlab.rewards._network import MODEL_FORMAT_VERSION, FeatureSpec, RewardModel, TrainReport, check_bool
from rewardlab.rewards._spec import (
    Array,
    Computed,
    Number,
    RewardFn,
    RewardFunction,
    RewardSpec,
    check_keys,
    check_number,
    from_dict,
    load,
    parse,
    register_trainer,
    trainer,
)
from rewardlab.rewards._store import ModelStore, active_model_store, use_model_store
from rewardlab.rewards._table import Table, TableEntry

__all__ = [
    "MODEL_FORMAT_VERSION",
    "Array",
    "Code",
    "Computed",
    "Env",
    "FeatureSpec",
    "Hierarchical",
    "Learned",
    "LearningReward",
    "LogSigmoid",
    "ModelReward",
    "ModelStore",
    "Number",
    "OnlineRLHF",
    "Preferences",
    "RewardFn",
    "RewardFunction",
    "RewardModel",
    "RewardSpec",
    "Shaped",
    "Table",
    "TableEntry",
    "Term",
    "Terms",
    "TrainReport",
    "active_model_store",
    "check_bool",
    "check_keys",
    "check_number",
    "factor_values",
    "from_dict",
    "load",
    "parse",
    "register_trainer",
    "trainer",
    "use_model_store",
]
