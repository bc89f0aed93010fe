"""The settings of an explicable reward design (:func:`rewardlab.design.explicable`).

One typed, validated :class:`ExplicableConfig`; ``rewardlab design`` shows its field docs as
its ``--help``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, ConfigDict

from rewardlab.config import Config, Hint, NonNegativeInt, OneOf, PositiveFloat, PositiveInt, fail
from rewardlab.rewards import Table

__all__ = ["DEFAULT_HORIZONS", "ExplicableConfig"]

DEFAULT_HORIZONS = (1, 4, 8, 16, 32)
"""The horizons of the paper's experiments (Devidze et al. 2021, ``H_set``)."""


def _horizon_set(value: tuple[int, ...]) -> tuple[int, ...]:
    if not value:
        raise fail("a non-empty list of positive integers", "Pass e.g. [1, 4, 8, 16, 32].")
    return tuple(sorted(set(value)))


class ExplicableConfig(Config):
    """What :func:`~rewardlab.design.explicable` designs: budget, horizons, margins, bounds.

    Example:
        >>> ExplicableConfig(budget=6).horizons
        (1, 4, 8, 16, 32)
        >>> ExplicableConfig(budget=-1)
        Traceback (most recent call last):
        ...
        rewardlab.errors.ConfigError: `budget` must be a non-negative integer (got -1). Pass 0 or more non-zero entries.
    """

    model_config = ConfigDict(frozen=True)

    budget: Annotated[NonNegativeInt, Hint(fix="Pass 0 or more non-zero entries.")]
    """Most non-zero entries the designed reward may have (its sparsity, a proxy for interpretability)."""
    horizons: Annotated[
        tuple[PositiveInt, ...],
        AfterValidator(_horizon_set),
        Hint(fix="Pass short planning horizons such as [1, 4, 8, 16, 32]."),
    ] = DEFAULT_HORIZONS
    """Planning horizons h of the informativeness criterion: how well h-step lookahead under the
    designed reward already picks the target actions (sorted, duplicates dropped)."""
    margin: Annotated[PositiveFloat, Hint(fix="Pass a fraction such as 0.25.")] = 0.25
    """Margin of the target actions, as a fraction of the truth's own action gaps: in every state each
    non-target action must be worse than the target's by this fraction of the gap the truth gives it."""
    r_max: Annotated[PositiveFloat | None, Hint(expect="a finite number > 0 or None")] = None
    """Bound on the magnitude of every entry (|R| <= r_max); None: the truth's largest magnitude."""
    on: Annotated[str, OneOf(Table.ON_CHOICES, "what a table entry pays for")] = "state_action"
    """What an entry pays for: ``state_action`` (taking an action in a state, as in the paper) or
    ``next_state`` (entering a state)."""
    extra_steps: Annotated[NonNegativeInt, Hint(fix="Pass 0 to skip the search.")] = 20
    """When the budget cannot meet the margins, how many more greedy steps to take to find a budget that can."""
