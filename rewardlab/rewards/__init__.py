"""Reward specs and the batched reward functions they build.

Kinds: :class:`Env` (ground truth), :class:`Terms` (weighted factors with transforms),
:class:`Shaped` (potential-based shaping of any reward), :class:`Code` (your own function),
:class:`Learned` (a reward model trained from preferences) and :class:`Hierarchical` (HERON: a
reward model trained from a ranking of the env's reward factors).
Specs load from TOML (:func:`load`) or dicts (:func:`from_dict`) and are validated on load.

Example:
    >>> import rewardlab as rl
    >>> spec = rl.rewards.from_dict({"kind": "terms", "weights": {"angle_cost": -1.0}})
    >>> spec == rl.rewards.Terms({"angle_cost": -1.0})
    True
"""

from rewardlab.rewards._kinds import Code, Env, LogSigmoid, Shaped, Term, Terms
from rewardlab.rewards._learned import Hierarchical, Learned
from rewardlab.rewards._spec import RewardFn, RewardFunction, RewardSpec, from_dict, load, parse

__all__ = [
    "Code",
    "Env",
    "Hierarchical",
    "Learned",
    "LogSigmoid",
    "RewardFn",
    "RewardFunction",
    "RewardSpec",
    "Shaped",
    "Term",
    "Terms",
    "from_dict",
    "load",
    "parse",
]
