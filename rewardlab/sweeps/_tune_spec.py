"""Tune specs: a search space over reward designs (and agent hyperparameters), scored by the true return.

A :class:`TuneSpec` names one env, one agent, a *base* reward and a :class:`Space` of what to
search: per term its weight (a fixed number, a uniform or log-uniform range, a fixed sign),
whether it is on at all, its transforms (scale, clip bounds, running normalisation, log-sigmoid
reference); the potential and scale of a shaping term; agent hyperparameters. A candidate is the
base with the searched values put in (:meth:`TuneSpec.candidate`), built from any object with
Optuna's ``suggest_*`` methods, so the same code builds a new candidate (an ``optuna.Trial``)
and rebuilds an old one from its parameters (``optuna.trial.FixedTrial``).

The base is ``"ground_truth"`` (the env's ground-truth terms), a reward TOML file or a reward
table. A ``terms`` base (or the ground truth) is searched term by term; any other kind (shaped,
code, learned) becomes one term named ``base`` (``Term(reward=...)``), beside which the space may
add factors: the primary-reward-plus-heuristics blend of BARFI (Gupta et al., NeurIPS 2023).

Every problem is raised on construction, before any trial runs: a bad range (``low >= high``, a
log range reaching 0, a signed range below 0), a term that is not a factor of the env, an
unknown potential or hyperparameter, an empty space, a grid sampler over a continuous range.

The searched parameters are named ``<term>.weight``, ``<term>.on``, ``<term>.scale``,
``<term>.normalize``, ``<term>.clip_low``, ``<term>.clip_high``, ``<term>.log_sigmoid_ref``,
``shaping.potential``, ``shaping.scale`` and ``hp.<hyperparameter>``.
"""

from __future__ import annotations

import importlib.util
import math
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol

from pydantic import Field, field_validator, model_validator

from rewardlab import suite
from rewardlab.agents import PresetInt, check_hyperparams
from rewardlab.config import Config, Hint, NonNegativeInt, OneOf, PositiveInt, StrictBool
from rewardlab.data import ALGORITHMS
from rewardlab.errors import ConfigError, MissingDependencyError, RewardLabError, message, suggest, unknown
from rewardlab.rewards import Env, LogSigmoid, RewardSpec, Shaped, Term, Terms, from_dict, load
from rewardlab.sweeps._spec import SweepSpec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["OBJECTIVES", "PRUNERS", "SAMPLERS", "Reeval", "Searched", "Space", "TermSpace", "TuneSpec", "load_tune"]

SAMPLERS = ("tpe", "random", "grid", "gp", "cmaes")
"""Optuna samplers a tune may use (TPE by default)."""
PRUNERS = ("none", "median", "halving")
"""Pruners: none, Optuna's median pruner, or successive halving, over the learning curves (see
:mod:`rewardlab.sweeps._tune`)."""
OBJECTIVES = ("iqm", "mean")
"""How a candidate's final ground-truth returns over its seeds become one score."""
BASE_LABEL = "base"
"""The term that holds a base reward that is not a ``terms`` reward."""
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
_FAST_KEYS = {"timesteps", "seeds", "eval_freq", "eval_episodes", "n_envs", "hyperparams", "trials", "reeval"}
_DEFAULT_FAST: dict[str, Any] = {"timesteps": 1000, "eval_episodes": 2}


class Suggester(Protocol):
    """What builds a candidate: ``optuna.Trial`` (a new one) or ``optuna.trial.FixedTrial`` (an old one)."""

    def suggest_float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float:
        """A float in ``[low, high]``."""

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int:
        """An int in ``[low, high]``."""

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        """One of ``choices``."""


class Searched(Config):
    """A searched value: a range ``[low, high]`` (uniform, or log-uniform with ``log``) or a list of ``choices``.

    Integers for both bounds search integers (``n_steps = {low = 64, high = 256, step = 64}``).
    ``sign = -1`` searches the magnitude in ``[low, high]`` (``low >= 0``) and negates it: a
    penalty that stays a penalty (``weight = {low = 1e-3, high = 1.0, log = true, sign = -1}``).
    """

    low: float | int | None = None
    """Lower bound of the range."""
    high: float | int | None = None
    """Upper bound of the range."""
    log: StrictBool = False
    """Log-uniform over the range (both bounds > 0)."""
    step: float | int | None = None
    """Grid step of the range (required by the grid sampler)."""
    choices: tuple[Any, ...] | None = None
    """The values to choose from, instead of a range."""
    sign: Literal[-1, 1] | None = None
    """Multiply the searched magnitude by this sign (the range must be ``>= 0``)."""

    def check(self, where: str) -> None:
        """Raise :class:`ConfigError` (at ``where``) for a range that cannot be searched."""
        if self.choices is not None:
            if self.low is not None or self.high is not None or self.log or self.step is not None:
                raise ConfigError(message(where, "either `choices` or a range `low`/`high`", self.to_dict()))
            if not self.choices:
                raise ConfigError(message(f"{where}.choices", "a non-empty list", list(self.choices)))
            return
        if self.low is None or self.high is None:
            fix = "Write {low = 0.0, high = 1.0}, or {choices = [...]}."
            raise ConfigError(message(where, "a range with both `low` and `high`", self.to_dict(), fix))
        for key in ("low", "high"):
            value = getattr(self, key)
            if isinstance(value, bool) or not math.isfinite(value):
                raise ConfigError(message(f"{where}.{key}", "a finite number", value))
        if self.low >= self.high:
            raise ConfigError(message(where, "a range with low < high", [self.low, self.high], "Swap the bounds."))
        if self.log and self.low <= 0:
            raise ConfigError(
                message(f"{where}.low", "> 0 for a log range", self.low, "Use sign = -1 for negative values.")
            )
        if self.sign is not None and self.low < 0:
            raise ConfigError(
                message(f"{where}.low", "a magnitude >= 0 with `sign`", self.low, "The sign is applied after.")
            )
        if self.step is not None and (self.log or self.step <= 0 or self.step > self.high - self.low):
            raise ConfigError(message(f"{where}.step", "a positive step within the range, without log", self.step))

    @property
    def integer(self) -> bool:
        """Both bounds (and the step, if any) are integers: the parameter is an integer."""
        ints = [v for v in (self.low, self.high, self.step) if v is not None]
        return len(ints) >= 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in ints)

    def suggest(self, trial: Suggester, name: str) -> Any:
        """The value ``trial`` picks for the parameter ``name`` (signed when ``sign`` is set)."""
        if self.choices is not None:
            return trial.suggest_categorical(name, list(self.choices))
        assert self.low is not None and self.high is not None  # checked
        if self.integer:
            value: Any = trial.suggest_int(name, int(self.low), int(self.high), step=int(self.step or 1), log=self.log)
        else:
            value = trial.suggest_float(name, float(self.low), float(self.high), step=self.step, log=self.log)
        return value * self.sign if self.sign is not None else value

    def grid(self, where: str) -> list[Any]:
        """The values of this parameter for the grid sampler (``choices``, or the range by ``step``)."""
        if self.choices is not None:
            return list(self.choices)
        if self.step is None:
            fix = "Give `step` or `choices`, or pick another sampler."
            raise ConfigError(
                message(where, "a list of choices or a range with `step` for sampler 'grid'", self.to_dict(), fix)
            )
        assert self.low is not None and self.high is not None
        n = math.floor((self.high - self.low) / self.step + 1e-9) + 1
        values = [self.low + i * self.step for i in range(n)]
        return [int(v) for v in values] if self.integer else [float(v) for v in values]


Value = float | int | bool | str | Searched
"""A field of the space: a fixed value, or a :class:`Searched` table."""


def _value(where: str, value: Any) -> Any:
    """A fixed scalar stays as it is; a table becomes a checked :class:`Searched`."""
    if isinstance(value, Searched):
        value.check(where)
        return value
    if isinstance(value, Mapping):
        searched = Searched.from_dict(value, where=where)
        searched.check(where)
        return searched
    if isinstance(value, (bool, int, float, str)):
        return value
    raise ConfigError(message(where, "a number or a table {low, high} / {choices}", value))


def _pick(trial: Suggester, name: str, value: Any) -> Any:
    return value.suggest(trial, name) if isinstance(value, Searched) else value


def _number(where: str, value: Any) -> None:
    if isinstance(value, Searched):
        if value.choices is not None and not all(
            isinstance(c, (int, float)) and not isinstance(c, bool) for c in value.choices
        ):
            raise ConfigError(message(f"{where}.choices", "numbers", list(value.choices)))
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(message(where, "a finite number or a table {low, high}", value))


class TermSpace(Config):
    """What is searched about one term (``[space.terms.<factor>]``); a field left out keeps the base's."""

    weight: Any = None
    """The weight: a number, or a range (``{low, high, log, sign}``); None: the base's weight."""
    optional: StrictBool = False
    """Search whether the term is on at all (parameter ``<term>.on``)."""
    scale: Any = None
    """The term's scale (before clipping): a positive number or a range."""
    normalize: Any = None
    """Running normalisation: true, false, or ``{choices = [true, false]}``."""
    clip_low: Any = None
    """Lower clip bound: a number or a range (with ``clip_high``)."""
    clip_high: Any = None
    """Upper clip bound: a number or a range (with ``clip_low``)."""
    log_sigmoid_ref: Any = None
    """The reference of a log-sigmoid transform: a number or a range (scale 1, or the base's)."""

    def checked(self, where: str) -> TermSpace:
        """This table with its fields checked (ranges into :class:`Searched`), errors at ``where``."""
        out: dict[str, Any] = {"optional": self.optional}
        for key in ("weight", "scale", "clip_low", "clip_high", "log_sigmoid_ref"):
            value = getattr(self, key)
            if value is not None:
                out[key] = _value(f"{where}.{key}", value)
                _number(f"{where}.{key}", out[key])
        if self.normalize is not None:
            out["normalize"] = _value(f"{where}.normalize", self.normalize)
            choices = out["normalize"].choices if isinstance(out["normalize"], Searched) else [out["normalize"]]
            if choices is None or not all(isinstance(c, bool) for c in choices):
                raise ConfigError(
                    message(f"{where}.normalize", "true, false or {choices = [true, false]}", self.normalize)
                )
        if (out.get("clip_low") is None) != (out.get("clip_high") is None):
            raise ConfigError(message(where, "both `clip_low` and `clip_high`, or neither", self.to_dict()))
        return TermSpace.model_construct(**out)

    @property
    def searched(self) -> bool:
        return self.optional or any(isinstance(v, Searched) for v in dict(self).values())

    def apply(self, trial: Suggester, name: str, term: Term | None) -> Term | None:
        """The term with the picked values put in, or None when it is switched off."""
        if self.optional and not trial.suggest_categorical(f"{name}.on", [True, False]):
            return None
        term = term or Term()
        update: dict[str, Any] = {}
        if self.weight is not None:
            update["weight"] = float(_pick(trial, f"{name}.weight", self.weight))
        if self.scale is not None:
            update["scale"] = float(_pick(trial, f"{name}.scale", self.scale))
        if self.normalize is not None:
            update["normalize"] = bool(_pick(trial, f"{name}.normalize", self.normalize))
        if self.clip_low is not None:
            low = float(_pick(trial, f"{name}.clip_low", self.clip_low))
            high = float(_pick(trial, f"{name}.clip_high", self.clip_high))
            low, high = min(low, high), max(low, high)
            update["clip"] = (low, high if high > low else low + 1e-6)  # overlapping ranges: a degenerate clip
        if self.log_sigmoid_ref is not None:
            scale = term.log_sigmoid.scale if term.log_sigmoid is not None else 1.0
            update["log_sigmoid"] = LogSigmoid(
                float(_pick(trial, f"{name}.log_sigmoid_ref", self.log_sigmoid_ref)), scale
            )
        return term.model_copy(update=update)


class ShapingSpace(Config):
    """Potential-based shaping on top of the candidate (``[space.shaping]``)."""

    potential: Any
    """A potential name of the env, or ``{choices = [...]}`` of names."""
    scale: Any = 1.0
    """The potential's scale: a number or a range."""
    gamma: float = 0.99
    """The shaping discount (the agent's gamma, for policy invariance)."""
    optional: StrictBool = False
    """Search whether shaping is on at all (parameter ``shaping.on``)."""


class Space(Config):
    """The search space (``[space]``): terms, shaping and agent hyperparameters."""

    terms: dict[str, TermSpace] = Field(default_factory=dict)
    """Factor (or ``base``) -> what is searched about it."""
    shaping: ShapingSpace | None = None
    """Shaping with a searched potential and scale."""
    hyperparams: dict[str, Any] = Field(default_factory=dict)
    """Agent hyperparameter -> a range or choices (parameter ``hp.<name>``)."""


class Reeval(Config):
    """The final re-evaluation of the best candidates on fresh seeds (``[reeval]``)."""

    top: NonNegativeInt = 3
    """How many of the best candidates to re-evaluate (0: none)."""
    seeds: tuple[NonNegativeInt, ...] | None = None
    """The fresh seeds (None: as many as the tune's seeds, after the largest of them)."""
    baselines: StrictBool = True
    """Also train the base reward and the env's own reward on the fresh seeds (paired)."""


def _base(value: Any, env: suite.SuiteEnv) -> RewardSpec:
    if isinstance(value, RewardSpec):
        return value
    if value == "ground_truth":
        return Env()
    if isinstance(value, str):
        return load(value)
    if isinstance(value, Mapping):
        return from_dict(value, where="base")
    raise ConfigError(message("base", "'ground_truth', a reward TOML path or a reward table", value))


class TuneSpec(Config):
    """A reward-design search: one env and agent, a base reward, a space, an objective and an engine.

    Example:
        >>> from rewardlab.sweeps import TuneSpec
        >>> spec = TuneSpec.from_dict({
        ...     "name": "demo", "env": "cartpole", "seeds": [0, 1, 2],
        ...     "space": {"terms": {"pole_angle": {"weight": {"low": 0.0, "high": 2.0, "sign": -1}}}},
        ... })
        >>> spec.parameters()
        ['pole_angle.weight']
    """

    name: Annotated[str, Hint(expect="a name of letters, digits, '_', '-', '.', '+'")]
    """Tune name: its folder ``<runs_dir>/<name>/``."""
    env: str
    """Suite env name."""
    agent: Annotated[str, OneOf(ALGORITHMS, "an SB3 algorithm name")] = "ppo"
    """The SB3 algorithm."""
    hyperparams: dict[str, Any] = Field(default_factory=dict)
    """Fixed hyperparameter overrides (searched ones go in ``[space.hyperparams]``)."""
    base: Any = "ground_truth"
    """``"ground_truth"``, a reward TOML path, or a reward table."""
    seeds: Annotated[tuple[NonNegativeInt, ...], Field(min_length=1)] = (0, 1, 2)
    """The paired seeds every candidate trains with (3 or more for a meaningful IQM)."""
    trials: PositiveInt = 20
    """How many candidates the study evaluates in all (over every rerun)."""
    objective: Annotated[str, OneOf(OBJECTIVES, f"one of {list(OBJECTIVES)}")] = "iqm"
    """The score of a candidate: the IQM or the mean of its final ground-truth returns."""
    max_gap: float | None = None
    """Constraint: the mean final proxy-minus-true return gap must be at most this (None: no constraint)."""
    sampler: Annotated[str, OneOf(SAMPLERS, f"one of {list(SAMPLERS)}")] = "tpe"
    """Optuna sampler."""
    sampler_seed: NonNegativeInt = 0
    """Seeds the sampler: the same spec and seed propose the same candidates."""
    pruner: Annotated[str, OneOf(PRUNERS, f"one of {list(PRUNERS)}")] = "none"
    """Prune weak candidates from their learning curves: after each evaluation, the objective over
    the seeds of their ground-truth evaluation returns against the other candidates' at the same
    evaluation (Optuna's median pruner, or successive halving)."""
    batch: PositiveInt = 1
    """Candidates proposed together and trained at once (their seeds in parallel, over the backend's
    workers). The proposals depend on it, never on the worker count or the backend, so the same
    spec and seed give the same candidates anywhere; more than 1 keeps more cores busy (TPE
    spreads a batch with its constant liar)."""
    storage: str | None = None
    """Optuna storage URL (``sqlite:///tune.db``, ``postgresql://...``); None: a journal file in the tune folder."""
    timesteps: PresetInt = None
    """Training steps per trial (None: the preset's)."""
    eval_freq: PresetInt = None
    """Evaluate every this many steps (None: 10 evaluations per trial)."""
    eval_episodes: PositiveInt = 10
    """Episodes per evaluation."""
    n_envs: PresetInt = None
    """Parallel envs per trial (None: the preset's)."""
    space: Space = Field(default_factory=Space)
    """What is searched."""
    reeval: Reeval = Field(default_factory=Reeval)
    """The final re-evaluation on fresh seeds."""
    fast: dict[str, Any] = Field(default_factory=dict)
    """Overrides :meth:`fast_version` applies: timesteps, seeds, eval_freq, eval_episodes, n_envs,
    hyperparams (merged), trials, reeval (a table)."""

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not _NAME.match(name) or "__" in name:
            raise ConfigError(message("name", "a name of letters, digits, '_', '-', '.', '+'", name))
        return name

    @field_validator("env")
    @classmethod
    def _env(cls, env: str) -> str:
        return suite.get(env).name

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, seeds: tuple[int, ...]) -> tuple[int, ...]:
        if len(set(seeds)) != len(seeds):
            raise ConfigError(message("seeds", "distinct seeds", list(seeds), "Drop the repeated seed."))
        return seeds

    @field_validator("fast")
    @classmethod
    def _fast(cls, fast: dict[str, Any]) -> dict[str, Any]:
        for key in fast:
            if key not in _FAST_KEYS:
                raise ConfigError(message(f"fast.{key}", "a field that fast may change", key, suggest(key, _FAST_KEYS)))
        return fast

    @model_validator(mode="after")
    def _check(self) -> TuneSpec:
        """The space resolves on the env, before any trial: known terms, ranges, potentials, hyperparameters."""
        env = suite.get(self.env)
        base = _base(self.base, env)
        object.__setattr__(self, "base", base)
        check_hyperparams(self.agent, self.hyperparams, where="hyperparams")
        known = set(self.base_terms()) | {f.name for f in env.factors}
        terms = {}
        for name, ts in self.space.terms.items():
            if name not in known:
                raise unknown(f"space.terms.{name}", name, known, f"a reward factor of {env.name!r}")
            if name not in self.base_terms() and ts.weight is None:
                raise ConfigError(
                    message(
                        f"space.terms.{name}.weight",
                        "given for a term the base lacks",
                        None,
                        "Give a weight or a range.",
                    )
                )
            terms[name] = ts.checked(f"space.terms.{name}")
        object.__setattr__(self.space, "terms", terms)
        hyper = {k: _value(f"space.hyperparams.{k}", v) for k, v in self.space.hyperparams.items()}
        object.__setattr__(self.space, "hyperparams", hyper)
        self._check_shaping(env)
        if not self.parameters():
            raise ConfigError(
                message(
                    "space",
                    "a space that searches at least one value",
                    self.space.to_dict(),
                    "Add a range, e.g. [space.terms.<factor>] weight = {low = 0.0, high = 1.0}.",
                )
            )
        self._check_sampler()
        try:  # one candidate binds to the env and its hyperparameters pass SB3's checks, before any trial
            reward, hyper_values = self.candidate(_Midpoint())
            check_hyperparams(self.agent, {**self.hyperparams, **hyper_values}, where="space.hyperparams")
            probe = SweepSpec(
                name=self.name,
                envs=(self.env,),
                seeds=self.seeds[:1],
                agents={self.agent: {**self.hyperparams, **hyper_values}},
                variants={"candidate": reward},
                timesteps=self.timesteps,
                eval_freq=self.eval_freq,
                eval_episodes=self.eval_episodes,
                n_envs=self.n_envs,
            )
            probe.trials()  # binds the reward to the env, checks the hyperparameter names; trains nothing
        except RewardLabError as exc:
            raise type(exc)(f"a candidate of the space cannot run: {exc}") from None
        return self

    def _check_shaping(self, env: suite.SuiteEnv) -> None:
        shaping = self.space.shaping
        if shaping is None:
            return
        potential = _value("space.shaping.potential", shaping.potential)
        names = potential.choices if isinstance(potential, Searched) else (potential,)
        for name in names or ():
            if name not in env.potentials:
                raise ConfigError(
                    message(
                        "space.shaping.potential",
                        f"a potential of {env.name!r}",
                        name,
                        suggest(str(name), env.potentials),
                    )
                )
        scale = _value("space.shaping.scale", shaping.scale)
        _number("space.shaping.scale", scale)
        object.__setattr__(shaping, "potential", potential)
        object.__setattr__(shaping, "scale", scale)

    def _check_sampler(self) -> None:
        if self.sampler == "cmaes" and importlib.util.find_spec("cmaes") is None:
            raise MissingDependencyError(
                'The cmaes sampler needs the cmaes package: pip install cmaes (or sampler = "tpe").'
            )
        if self.sampler == "grid":
            self.grid()

    def base_terms(self) -> dict[str, Term]:
        """The base as terms: the env's ground truth, a ``terms`` reward's own, or one ``base`` term."""
        base = self.base
        if isinstance(base, Env):
            return {k: Term(weight=float(w)) for k, w in suite.get(self.env).ground_truth.items()}
        if isinstance(base, Terms):
            return dict(base.terms)  # type: ignore[arg-type]  # validated: every value is a Term
        return {BASE_LABEL: Term(weight=1.0, reward=base)}

    def candidate(self, trial: Suggester) -> tuple[RewardSpec, dict[str, Any]]:
        """The reward and the searched hyperparameters ``trial`` picks.

        Raises:
            ConfigError: every term is switched off.
        """
        terms = self.base_terms()
        for name, ts in self.space.terms.items():
            term = ts.apply(trial, name, terms.get(name))
            if term is None:
                terms.pop(name, None)
            else:
                terms[name] = term
        if not terms:
            raise ConfigError(
                message("space.terms", "a candidate with at least one term on", {}, "Make a term not optional.")
            )
        reward: RewardSpec = Terms(terms)
        shaping = self.space.shaping
        if shaping is not None and (not shaping.optional or trial.suggest_categorical("shaping.on", [True, False])):
            potential = str(_pick(trial, "shaping.potential", shaping.potential))
            scale = float(_pick(trial, "shaping.scale", shaping.scale))
            reward = Shaped(base=reward, potential=potential, scale=scale, gamma=shaping.gamma)
        hyper = {k: _pick(trial, f"hp.{k}", v) for k, v in self.space.hyperparams.items()}
        return reward, hyper

    def parameters(self) -> list[str]:
        """The names of the searched parameters (every one a candidate may use)."""
        out = []
        for name, ts in self.space.terms.items():
            if ts.optional:
                out.append(f"{name}.on")
            out += [f"{name}.{k}" for k, v in dict(ts).items() if isinstance(v, Searched)]
        shaping = self.space.shaping
        if shaping is not None:
            out += ["shaping.on"] if shaping.optional else []
            out += [f"shaping.{k}" for k in ("potential", "scale") if isinstance(getattr(shaping, k), Searched)]
        out += [f"hp.{k}" for k, v in self.space.hyperparams.items() if isinstance(v, Searched)]
        return out

    def grid(self) -> dict[str, list[Any]]:
        """The grid sampler's search space: parameter -> values (on/off as ``[True, False]``)."""
        out: dict[str, list[Any]] = {}
        for name, ts in self.space.terms.items():
            if ts.optional:
                out[f"{name}.on"] = [True, False]
            for k, v in dict(ts).items():
                if isinstance(v, Searched):
                    out[f"{name}.{k}"] = v.grid(f"space.terms.{name}.{k}")  # magnitudes: the sign comes after
        shaping = self.space.shaping
        if shaping is not None:
            if shaping.optional:
                out["shaping.on"] = [True, False]
            for k in ("potential", "scale"):
                v = getattr(shaping, k)
                if isinstance(v, Searched):
                    out[f"shaping.{k}"] = v.grid(f"space.shaping.{k}")
        for k, v in self.space.hyperparams.items():
            if isinstance(v, Searched):
                out[f"hp.{k}"] = v.grid(f"space.hyperparams.{k}")
        return out

    def reeval_seeds(self) -> tuple[int, ...]:
        """The fresh seeds of the re-evaluation (never any of :attr:`seeds`)."""
        if self.reeval.seeds is not None:
            return self.reeval.seeds
        start = max(self.seeds) + 1
        return tuple(range(start, start + max(len(self.seeds), 3)))

    def fast_version(self) -> TuneSpec:
        """The spec with the ``fast`` overrides applied (defaults: 1000 timesteps, 2 eval episodes)."""
        over = dict(self.fast) if self.fast else dict(_DEFAULT_FAST)
        hyper = over.pop("hyperparams", None)
        data = self.to_dict()
        data["base"] = self.base.to_dict()
        if hyper:
            data["hyperparams"] = {**self.hyperparams, **hyper}
        if "reeval" in over:
            data["reeval"] = {**data["reeval"], **over.pop("reeval")}
        return TuneSpec.from_dict({**data, **over, "fast": {}})

    def to_dict(self) -> dict[str, Any]:
        """A plain dict that :meth:`from_dict` loads back (the base as a reward table)."""
        out = self.model_dump(exclude={"base", "space"})
        out["base"] = self.base.to_dict()
        out["space"] = _space_dict(self.space)
        return out


def _plain(value: Any) -> Any:
    return value.model_dump(exclude_none=True, exclude_defaults=True) if isinstance(value, Searched) else value


def _space_dict(space: Space) -> dict[str, Any]:
    terms = {
        name: {k: _plain(v) for k, v in dict(ts).items() if v is not None and not (k == "optional" and not v)}
        for name, ts in space.terms.items()
    }
    out: dict[str, Any] = {"terms": terms, "hyperparams": {k: _plain(v) for k, v in space.hyperparams.items()}}
    if space.shaping is not None:
        out["shaping"] = {k: _plain(v) for k, v in dict(space.shaping).items()}
    return out


class _Midpoint:
    """A :class:`Suggester` that picks the middle of every range and the first choice (for the checks)."""

    def suggest_float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float:
        return math.sqrt(low * high) if log else low if step else (low + high) / 2

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int:
        return low

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        return True if name.endswith(".on") else next(iter(choices))


def load_tune(path: str | Path, fast: bool = False) -> TuneSpec:
    """Load a tune spec from a TOML file, with the ``fast`` preset applied when ``fast``.

    Raises:
        ConfigError: the file is missing, not TOML, or holds an invalid spec.
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(message("tune", "a readable TOML file", str(path), "Examples are in tunes/."))
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(message("tune", "valid TOML", str(path), f"Fix the file: {exc}.")) from exc
    if isinstance(data.get("base"), str) and data["base"] != "ground_truth" and not Path(data["base"]).is_absolute():
        relative = p.parent / data["base"]
        data["base"] = str(relative) if relative.is_file() else data["base"]
    spec = TuneSpec.from_dict(data)
    return spec.fast_version() if fast else spec
