"""Reward design: compile a sparse, interpretable reward that keeps the optimal behaviour and speeds learning.

:func:`explicable` is EXPRD (Devidze et al., "Explicable Reward Design for Reinforcement
Learning Agents", NeurIPS 2021) on a tabular MDP: given the ground-truth reward, a target set of
(optimal) actions, a budget of non-zero entries and a set of short horizons, it designs a
reward whose optimal policies all lie in the target set (margin constraints) and under which
short-horizon planning already picks the target actions (the informativeness criterion). The
support is grown greedily, one entry at a time, each step a linear program (HiGHS). The result,
a :class:`Design`, holds a ``table`` reward spec (:class:`rewardlab.rewards.Table`), so the
designed reward trains, compares and sweeps like any other, and the exact checks of its guarantees.

The maths: :mod:`rewardlab.design._problem` (margins, gaps, informativeness as linear maps of the
reward) and :mod:`rewardlab.design._exprd` (the linear programs, the greedy selection, the checks).

Layer: beside :mod:`rewardlab.training` and :mod:`rewardlab.compare`, above :mod:`rewardlab.metrics`
(the exact MDPs, values and regret) and :mod:`rewardlab.rewards` (the ``table`` kind); it trains
nothing and imports no Stable-Baselines3. ``rewardlab design`` is its command.

Example:
    >>> from rewardlab.design import explicable
    >>> design = explicable("cliffworld", budget=3)
    >>> design.spec.kind, design.optimal_in_target, design.truth_regret
    ('table', True, 0.0)
"""

from rewardlab.design._config import DEFAULT_HORIZONS, ExplicableConfig
from rewardlab.design._exprd import Design, DesignStep, explicable
from rewardlab.design._problem import DesignProblem, design_problem

__all__ = [
    "DEFAULT_HORIZONS",
    "Design",
    "DesignProblem",
    "DesignStep",
    "ExplicableConfig",
    "design_problem",
    "explicable",
]
