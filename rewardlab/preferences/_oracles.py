"""Synthetic preference oracles: label pairs of segments from a known reward.

Two teachers, both vectorised over pairs (one numpy pass, no loop per pair):

- :class:`BoltzmannOracle`: the Christiano et al. / ``imitation`` ``SyntheticGatherer`` model,
  ``P(a > b) = sigmoid((G_a - G_b) / temperature)`` on discounted segment returns; temperature
  ``0`` is perfectly rational (ties get ``0.5``).
- :class:`ImperfectOracle`: BPref's simulated teachers (Lee et al., "B-Pref") in one class:
  Boltzmann rationality ``beta``, myopia, mistakes, skipping both-bad queries and equal labels.
  :data:`BPREF_TEACHERS` names B-Pref's six (oracle, mistake, noisy, skip, myopic, equal) as
  fields of it; :func:`bpref_teacher` builds one.

:func:`label_pairs` draws labels from an oracle with a seeded generator: ``1`` = first segment
preferred, ``0`` = second, ``0.5`` = equal, ``nan`` = skipped (drop those pairs before building a
:class:`~rewardlab.preferences.PreferenceDataset`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from rewardlab.data import Segments
from rewardlab.errors import ConfigError, message, unknown
from rewardlab.preferences._dataset import _check_pairs
from rewardlab.rewards import RewardSpec

__all__ = ["BPREF_TEACHERS", "BoltzmannOracle", "ImperfectOracle", "PreferenceOracle", "bpref_teacher", "label_pairs"]

RewardInput = Any
"""``"env"``, a mapping of factor weights, a :class:`~rewardlab.rewards.RewardSpec` or a batched
reward callable: anything :meth:`Segments.returns` accepts."""


@runtime_checkable
class PreferenceOracle(Protocol):
    """What :func:`label_pairs` needs from a synthetic teacher."""

    def probability(self, segments: Segments, pairs: Any) -> NDArray[np.float64]:
        """``(M,)`` model probability that ``pairs[i, 0]`` is preferred to ``pairs[i, 1]``."""
        ...

    def sample(self, segments: Segments, pairs: Any, rng: np.random.Generator) -> NDArray[np.float64]:
        """``(M,)`` labels in ``{0, 0.5, 1}`` or ``nan`` (skipped), drawn with ``rng``."""
        ...

    def provenance(self) -> dict[str, Any]:
        """A JSON-ready description of the oracle for a dataset's provenance."""
        ...


def label_pairs(
    segments: Segments,
    pairs: Any,
    oracle: PreferenceOracle,
    seed: int | np.random.Generator = 0,
) -> NDArray[np.float64]:
    """Label each pair of segments with a synthetic oracle.

    Args:
        segments: the :class:`Segments` the pairs index into.
        pairs: ``(M, 2)`` int segment indices.
        oracle: a :class:`BoltzmannOracle`, :class:`ImperfectOracle` or any
            :class:`PreferenceOracle`.
        seed: seed of the ``numpy`` generator the labels are drawn with (or a generator).

    Returns:
        ``(M,)`` float64 labels: ``1`` = ``pairs[i, 0]`` preferred, ``0`` = ``pairs[i, 1]``
        preferred, ``0.5`` = equal, ``nan`` = skipped by the oracle.

    Raises:
        ConfigError: bad ``segments``, ``pairs``, ``oracle`` or ``seed``; an unknown factor name in
            the oracle's reward (:class:`~rewardlab.errors.UnknownNameError`).

    Example:
        >>> from rewardlab.preferences import collect_segments
        >>> seg = collect_segments("pendulum", n_segments=4, length=10, seed=0)
        >>> label_pairs(seg, [[0, 1], [2, 3]], BoltzmannOracle(temperature=0.0))
        array([1., 1.])
    """
    if not isinstance(segments, Segments):
        raise ConfigError(message("segments", "a Segments object", type(segments).__name__))
    if not isinstance(oracle, PreferenceOracle):
        raise ConfigError(
            message("oracle", "a BoltzmannOracle, ImperfectOracle or PreferenceOracle", type(oracle).__name__)
        )
    if isinstance(seed, np.random.Generator):
        rng = seed
    elif isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
        rng = np.random.default_rng(int(seed))
    else:
        raise ConfigError(message("seed", "an integer >= 0 or a numpy Generator", seed))
    return oracle.sample(segments, _check_pairs(pairs, len(segments)), rng)


# --- validation helpers ------------------------------------------------------------------------

_REWARD_KINDS = "'env', a mapping of factor weights, a RewardSpec or a batched reward function"


def _number(param: str, value: Any, lo: float, hi: float, *, lo_open: bool, hi_open: bool, fix: str = "") -> float:
    """``value`` as a float in the interval, or a :class:`ConfigError` naming the interval."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and not math.isnan(float(value))
    if ok:
        v = float(value)
        ok = (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi)
    if not ok:
        interval = f"{'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
        raise ConfigError(message(param, f"a number in {interval}", value, fix))
    return float(value)


def _check_reward(reward: Any) -> Any:
    """Validate what can be checked without the segments (factor names are checked when used)."""

    if isinstance(reward, str):
        if reward != "env":
            raise ConfigError(
                message(
                    "reward",
                    _REWARD_KINDS,
                    reward,
                    'Pass reward="env" or weights such as {"angle_cost": -1.0}.',
                )
            )
        return reward
    if isinstance(reward, Mapping):
        if not reward:
            raise ConfigError(message("reward", "a non-empty mapping of factor weights", dict(reward)))
        weights = {}
        for name, weight in reward.items():
            if not isinstance(name, str):
                raise ConfigError(message("reward", "a mapping with factor-name keys", name))
            if isinstance(weight, bool) or not isinstance(weight, numbers.Real) or not math.isfinite(float(weight)):
                raise ConfigError(message(f"reward[{name!r}]", "a finite number", weight))
            weights[name] = float(weight)
        return weights
    if isinstance(reward, RewardSpec) or callable(reward):
        return reward
    raise ConfigError(message("reward", _REWARD_KINDS, type(reward).__name__))


def _describe_reward(reward: Any) -> Any:
    """JSON-ready description of a reward for provenance."""

    if isinstance(reward, str):
        return reward
    if isinstance(reward, Mapping):
        return dict(reward)
    if isinstance(reward, RewardSpec):
        return reward.to_dict()
    return getattr(reward, "__qualname__", type(reward).__qualname__)


def _step_rewards(segments: Segments, reward: Any) -> NDArray[np.float64]:
    """``(n, L)`` rewards of every step, zero on padding."""
    # a private helper of the same package: myopia needs per-step rewards, not returns
    values = segments._step_rewards(None if isinstance(reward, str) else reward)
    return np.where(segments.mask, values, 0.0)


def _sample(p: NDArray[np.float64], deterministic: NDArray[np.bool_], rng: np.random.Generator) -> NDArray[np.float64]:
    """Bernoulli(p) labels; where ``deterministic``, ``p`` (0, 0.5 or 1) is the label itself.

    One uniform is drawn for every pair (skipped or not), so a seed gives the same labels for
    the same pairs whatever the oracle skips.
    """
    u = rng.random(p.shape)
    labels = (u < p).astype(np.float64)
    labels = np.where(deterministic, p, labels)
    return np.where(np.isnan(p), np.nan, labels)


def _sigmoid(x: NDArray[np.float64]) -> NDArray[np.float64]:
    # exp of -|x| never overflows; the two branches are the same function
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _rational(diff: NDArray[np.float64]) -> NDArray[np.float64]:
    """``1`` if ``diff > 0``, ``0`` if ``diff < 0``, ``0.5`` on exact ties."""
    return (np.sign(diff) + 1.0) / 2.0


# --- oracles -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoltzmannOracle:
    """Boltzmann-rational teacher of Christiano et al. (2017), as ``imitation``'s synthetic gatherer.

    ``P(a > b) = sigmoid((G_a - G_b) / temperature)`` where ``G`` is the discounted return
    ``sum_t gamma^t r_t`` of a segment under ``reward`` (:meth:`Segments.returns`, padding
    ignored). A label is a Bernoulli draw of that probability. With ``temperature = 0`` the teacher
    is perfectly rational: ``1`` if ``G_a > G_b``, ``0`` if less, ``0.5`` on an exact tie.

    Raises:
        ConfigError: a negative or non-finite ``temperature``, ``gamma`` outside ``(0, 1]``, or a
            reward that is not ``"env"``, factor weights, a spec or a reward function.

    Example:
        >>> BoltzmannOracle({"angle_cost": -1.0}, temperature=0.5).provenance()["temperature"]
        0.5
    """

    reward: RewardInput = "env"
    """What the teacher values: ``"env"``, factor weights ``{"angle_cost": -1.0}``, a
    :class:`~rewardlab.rewards.RewardSpec` or a batched reward callable."""
    temperature: float = 1.0
    """Boltzmann temperature ``T >= 0`` on return differences; ``0`` = perfectly rational."""
    gamma: float = 1.0
    """Discount in ``(0, 1]`` of the segment returns (``t`` counts from the segment's start)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "reward", _check_reward(self.reward))
        t = _number(
            "temperature", self.temperature, 0.0, math.inf, lo_open=False, hi_open=True,
            fix="Pass temperature=0.0 for a perfectly rational teacher.",
        )  # fmt: skip
        object.__setattr__(self, "temperature", t)
        g = _number("gamma", self.gamma, 0.0, 1.0, lo_open=True, hi_open=False, fix="Pass gamma=1.0 for plain sums.")
        object.__setattr__(self, "gamma", g)

    def _diff(self, segments: Segments, pairs: Any) -> NDArray[np.float64]:
        p = _check_pairs(pairs, len(segments))
        g = segments.returns(self.reward, self.gamma)
        return g[p[:, 0]] - g[p[:, 1]]

    def probability(self, segments: Segments, pairs: Any) -> NDArray[np.float64]:
        """``(M,)`` probability that ``pairs[i, 0]`` is preferred to ``pairs[i, 1]``.

        Args:
            segments: ``n`` segments.
            pairs: ``(M, 2)`` int indices into ``segments``.
        """
        diff = self._diff(segments, pairs)
        if self.temperature == 0.0:
            return _rational(diff)
        return _sigmoid(diff / self.temperature)

    def sample(self, segments: Segments, pairs: Any, rng: np.random.Generator) -> NDArray[np.float64]:
        """``(M,)`` labels drawn as Bernoulli(:meth:`probability`) (exact at ``temperature = 0``)."""
        p = self.probability(segments, pairs)
        return _sample(p, np.full(p.shape, self.temperature == 0.0), rng)

    def provenance(self) -> dict[str, Any]:
        """JSON-ready description for :class:`~rewardlab.preferences.PreferenceDataset`."""
        return {
            "source": "synthetic",
            "oracle": "boltzmann",
            "reward": _describe_reward(self.reward),
            "temperature": self.temperature,
            "gamma": self.gamma,
        }


@dataclass(frozen=True)
class ImperfectOracle:
    """BPref's simulated teacher: skip, equal, myopic, Boltzmann-rational and mistaken.

    The rules apply in BPref's order, per pair ``(a, b)`` with undiscounted returns ``G``:

    1. **skip**: if ``skip_threshold`` is set and ``max(G_a, G_b) < skip_threshold`` (both
       segments are bad), the label is ``nan`` and no other rule applies.
    2. **equal**: if ``|G_a - G_b| <= equal_threshold``, the label is ``0.5``.
    3. **rational**: otherwise ``p = sigmoid(beta * (H_a - H_b))`` on the *myopic* returns
       ``H = sum_t myopia^(L-1-t) r_t`` (later steps weigh more; ``L`` is the segment length,
       padding included); ``beta = inf`` gives ``1`` / ``0`` (``0.5`` on an exact ``H`` tie).
    4. **mistake**: the label is flipped with probability ``mistake_prob``, so the label is a
       Bernoulli draw of ``(1 - mistake_prob) * p + mistake_prob * (1 - p)``. A ``0.5`` label stays
       ``0.5``.

    BPref's parameters map as ``teacher_beta`` -> ``beta`` (its ``-1`` is ``inf`` here),
    ``teacher_gamma`` -> ``myopia``, ``teacher_eps_mistake`` -> ``mistake_prob``, and
    ``teacher_eps_skip`` / ``teacher_eps_equal`` -> ``skip_fraction`` / ``equal_fraction``. BPref
    multiplies those by a *margin*, the mean true return of the agent's recent training episodes
    scaled to the segment length, i.e. the mean return of a segment of the current agent; here the
    margin is measured on the segments being labelled (a stage's segments of the current agent in
    the online loop) and from their worst one, ``G_mean - G_min``, so that the rule does not change
    when every reward is shifted. On BPref's own tasks (DMC rewards in ``[0, 1]``, a worst segment
    near 0) this is BPref's threshold; on an env with negative rewards (Pendulum) BPref's literal
    rule would skip nearly every pair. Absolute thresholds (``skip_threshold``,
    ``equal_threshold``) apply as well when set. Unlike BPref, ``equal`` uses ``<=``, so the default
    ``0.0`` gives exact ties ``0.5``.

    Raises:
        ConfigError: ``beta`` negative, ``mistake_prob`` outside ``[0, 1]``, ``myopia`` outside
            ``(0, 1]``, a negative ``equal_threshold``, a non-finite ``skip_threshold``, or a bad
            ``reward``.

    Example:
        >>> ImperfectOracle(mistake_prob=0.1, myopia=0.9).provenance()["oracle"]
        'imperfect'
    """

    reward: RewardInput = "env"
    """What the teacher values: ``"env"``, factor weights, a :class:`~rewardlab.rewards.RewardSpec`
    or a batched reward callable."""
    beta: float = math.inf
    """Rationality ``beta >= 0``: ``P(a > b) = sigmoid(beta * (H_a - H_b))``; ``inf`` =
    deterministic, ``0`` = random labels."""
    mistake_prob: float = 0.0
    """Probability ``epsilon`` in ``[0, 1]`` of flipping the label (BPref's "mistake" teacher)."""
    myopia: float = 1.0
    """Discount ``gamma`` in ``(0, 1]``: step ``t`` weighs ``myopia^(L-1-t)`` (the last step 1)."""
    skip_threshold: float | None = None
    """Skip the pair (label ``nan``) when both undiscounted returns are below this; ``None`` = never."""
    equal_threshold: float = field(default=0.0)
    """Label ``0.5`` when ``|G_a - G_b| <= equal_threshold`` (undiscounted returns), ``>= 0``."""
    skip_fraction: float | None = None
    """BPref's ``eps_skip``, relative to the segments being labelled: skip when both returns are below
    ``G_min + skip_fraction * (G_mean - G_min)`` over those segments; ``None`` = off (see below)."""
    equal_fraction: float | None = None
    """BPref's ``eps_equal``, relative: label ``0.5`` when ``|G_a - G_b| <= equal_fraction * (G_mean - G_min)``."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "reward", _check_reward(self.reward))
        beta = _number(
            "beta", self.beta, 0.0, math.inf, lo_open=False, hi_open=False,
            fix="Pass beta=math.inf for a perfectly rational teacher.",
        )  # fmt: skip
        object.__setattr__(self, "beta", beta)
        eps = _number(
            "mistake_prob", self.mistake_prob, 0.0, 1.0, lo_open=False, hi_open=False,
            fix="It is the probability of flipping a label.",
        )  # fmt: skip
        object.__setattr__(self, "mistake_prob", eps)
        gam = _number(
            "myopia", self.myopia, 0.0, 1.0, lo_open=True, hi_open=False, fix="Pass myopia=1.0 for no myopia."
        )
        object.__setattr__(self, "myopia", gam)
        if self.skip_threshold is not None:
            skip = _number(
                "skip_threshold", self.skip_threshold, -math.inf, math.inf, lo_open=True, hi_open=True,
                fix="Pass None to never skip.",
            )  # fmt: skip
            object.__setattr__(self, "skip_threshold", skip)
        eq = _number(
            "equal_threshold", self.equal_threshold, 0.0, math.inf, lo_open=False, hi_open=True,
            fix="Pass 0.0 to label only exact ties as equal.",
        )  # fmt: skip
        object.__setattr__(self, "equal_threshold", eq)
        for name in ("skip_fraction", "equal_fraction"):
            value = getattr(self, name)
            if value is not None:
                value = _number(
                    name, value, 0.0, math.inf, lo_open=False, hi_open=True,
                    fix="BPref uses 0.1; pass None to turn the rule off.",
                )  # fmt: skip
                object.__setattr__(self, name, value)

    def _rule_probability(self, segments: Segments, pairs: Any) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
        """``(M,)`` probability after every rule, and whether it is exact (no draw needed)."""
        p = _check_pairs(pairs, len(segments))
        r = _step_rewards(segments, self.reward)
        g = r.sum(axis=1)
        weights = self.myopia ** np.arange(segments.length - 1, -1, -1, dtype=np.float64)
        h = r @ weights
        ga, gb = g[p[:, 0]], g[p[:, 1]]
        dh = h[p[:, 0]] - h[p[:, 1]]

        if math.isinf(self.beta):
            prob = _rational(dh)
        else:
            prob = _sigmoid(self.beta * dh)
        eps = self.mistake_prob
        prob = (1.0 - eps) * prob + eps * (1.0 - prob)
        # no draw when rational and never (or always) mistaken: p is 0, 1 or 0.5 on an exact tie
        exact = math.isinf(self.beta) and eps in (0.0, 1.0)
        exact_arr = np.full(prob.shape, exact)

        margin = float(g.mean() - g.min()) if len(g) else 0.0  # BPref's margin, shift-free (see above)
        equal = np.abs(ga - gb) <= self.equal_threshold
        if self.equal_fraction is not None:
            equal |= np.abs(ga - gb) <= self.equal_fraction * margin
        prob = np.where(equal, 0.5, prob)
        exact_arr = exact_arr | equal
        skip = np.zeros(prob.shape, dtype=bool)
        if self.skip_threshold is not None:
            skip |= np.maximum(ga, gb) < self.skip_threshold
        if self.skip_fraction is not None:
            skip |= np.maximum(ga, gb) < g.min() + self.skip_fraction * margin
        prob = np.where(skip, np.nan, prob)
        return prob, exact_arr

    def probability(self, segments: Segments, pairs: Any) -> NDArray[np.float64]:
        """``(M,)`` probability that ``pairs[i, 0]`` is preferred, mistakes included.

        ``nan`` for skipped pairs, ``0.5`` for equal ones, else ``(1 - eps) * p + eps * (1 - p)``.

        Args:
            segments: ``n`` segments.
            pairs: ``(M, 2)`` int indices into ``segments``.
        """
        return self._rule_probability(segments, pairs)[0]

    def sample(self, segments: Segments, pairs: Any, rng: np.random.Generator) -> NDArray[np.float64]:
        """``(M,)`` labels: ``nan`` skipped, ``0.5`` equal, else Bernoulli(:meth:`probability`)."""
        prob, exact = self._rule_probability(segments, pairs)
        return _sample(prob, exact, rng)

    def provenance(self) -> dict[str, Any]:
        """JSON-ready description for :class:`~rewardlab.preferences.PreferenceDataset`."""
        return {
            "source": "synthetic",
            "oracle": "imperfect",
            "reward": _describe_reward(self.reward),
            "beta": "inf" if math.isinf(self.beta) else self.beta,
            "mistake_prob": self.mistake_prob,
            "myopia": self.myopia,
            "skip_threshold": self.skip_threshold,
            "equal_threshold": self.equal_threshold,
            "skip_fraction": self.skip_fraction,
            "equal_fraction": self.equal_fraction,
        }


BPREF_TEACHERS: dict[str, dict[str, float]] = {
    "oracle": {},
    "mistake": {"mistake_prob": 0.1},
    "noisy": {"beta": 1.0},
    "skip": {"skip_fraction": 0.1},
    "myopic": {"myopia": 0.9},
    "equal": {"equal_fraction": 0.1},
}
"""B-Pref's six simulated teachers (Lee et al., 2021) as :class:`ImperfectOracle` fields: the
perfectly rational oracle, 10% of labels flipped, Boltzmann-rational with ``beta = 1``, skipping
queries whose segments are both poor (``eps_skip = 0.1``), myopic with ``gamma = 0.9``, and equal
when the returns are close (``eps_equal = 0.1``)."""


def bpref_teacher(name: str, reward: RewardInput = "env") -> ImperfectOracle:
    """The B-Pref teacher ``name`` (:data:`BPREF_TEACHERS`) valuing ``reward``.

    Raises:
        UnknownNameError: ``name`` is not one of the six (with the closest suggested).

    Example:
        >>> bpref_teacher("myopic").myopia
        0.9
    """
    if name not in BPREF_TEACHERS:
        raise unknown("teacher", str(name), BPREF_TEACHERS, "a B-Pref teacher")
    return ImperfectOracle(reward=reward, **BPREF_TEACHERS[name])
