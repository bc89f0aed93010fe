"""Sweep specs: the axes of an ablation study and the trials they expand to.

A :class:`SweepSpec` names envs, reward variants, agents (with hyperparameter overrides) and
seeds; its trials are the full grid ``envs × variants × agents × seeds``. Seeds are *paired*:
every variant and agent sees the same seeds, so a difference between variants is not a
difference between seeds. Besides the variants written out, :class:`Ablation` entries generate
variants from a ``terms`` reward: leave one term out, add one term, or a grid over one weight.

:class:`SweepSpec`, :class:`Ablation` and :class:`Trial` are :class:`rewardlab.config.Config`
models: pydantic validates and dumps their fields, with errors in the project's template and
paths such as ``seeds[1]`` or ``ablations[0].values``. The validators here add what types cannot
say: names usable in trial ids, known algorithms, ablations that resolve on every env, the
baseline. Building a spec reads nothing and trains nothing; :func:`load_sweep` reads the TOML file.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    InstanceOf,
    SerializerFunctionWrapHandler,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_serializer,
)

from rewardlab import suite
from rewardlab.agents import PresetInt, check_hyperparams
from rewardlab.config import Config, Hint, NonNegativeInt, OneOf, PositiveInt, Real, fail
from rewardlab.data import ALGORITHMS
from rewardlab.errors import ConfigError, RewardLabError, message, suggest
from rewardlab.preferences._rlhf import LOOP_SETTINGS, RLHFConfig
from rewardlab.rewards import Env, RewardSpec, Term, Terms, from_dict
from rewardlab.training import TrainConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["ABLATION_KINDS", "SWEEP_JSON", "Ablation", "SweepSpec", "Trial", "load_sweep", "read_sweep_json"]

REWARD_MODELS = "reward_models"
"""The folder of a sweep where the reward models its variants train are stored (trained once)."""
RLHF_SETTINGS = (*LOOP_SETTINGS, "monitor_transitions")
"""The :class:`~rewardlab.preferences.RLHFConfig` fields an ``rlhf`` variant may set; the trial sets
the rest (env, agent, seed, timesteps, envs, evaluation episodes, where the run goes). A person
cannot teach a sweep (``teacher`` is always the synthetic ``oracle``)."""

ABLATION_KINDS = ("add_one", "leave_one_out", "weight_grid")
_KINDS = f"one of {list(ABLATION_KINDS)}"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
_NAME_RULE = "a name of letters, digits, '_', '-', '.', '+' (no '__', which separates trial id parts)"
_NAME_FIX = "Rename it, e.g. 'no_velocity'."
# What `fast` may change, and what it changes when the spec has no [fast] table (tests, smoke runs).
_FAST_KEYS = {"timesteps", "seeds", "eval_freq", "eval_episodes", "n_envs", "hyperparams"}
_DEFAULT_FAST: dict[str, Any] = {"timesteps": 1000, "eval_episodes": 2}

T = TypeVar("T", bound="_Table")


def _is_name(value: Any) -> bool:
    return isinstance(value, str) and bool(_NAME.match(value)) and "__" not in value


def _check_key(path: str, name: Any) -> None:
    """A table key that becomes part of trial ids (``agents.<name>``, ``variants.<name>``).

    Raised by hand: pydantic locates a dict key's error at ``path.<key>.[key]``.
    """
    if not _is_name(name):
        raise ConfigError(message(path, _NAME_RULE, name, _NAME_FIX))


def _text(expect: str, fix: str = "", ok: Callable[[str], bool] = bool) -> BeforeValidator:
    """A string field for which ``ok`` holds, else ``must be <expect>`` (non-strings included)."""

    def check(value: Any) -> Any:
        if not isinstance(value, str) or not ok(value):
            raise fail(expect, fix)
        return value

    return BeforeValidator(check)


def _table(expect: str, fix: str = "", *, nonempty: bool = False) -> BeforeValidator:
    """A table (mapping) field, else ``must be <expect>``."""

    def check(value: Any) -> Any:
        if not isinstance(value, Mapping) or (nonempty and not value):
            raise fail(expect, fix)
        return value

    return BeforeValidator(check)


def _distinct(expect: str, fix: str = "") -> AfterValidator:
    def check(value: tuple[Any, ...]) -> tuple[Any, ...]:
        if len(set(value)) != len(value):
            raise fail(expect, fix)
        return value

    return AfterValidator(check)


class _Table(Config):
    """A config read from a TOML table, with its own wording for a non-table, an unknown or a missing key.

    :meth:`Config.from_dict` says "a known field"; a sweep file says which table it means.
    """

    noun: ClassVar[str] = ""
    """The table in messages: "`seedz` must be a known <noun> field"."""
    not_table: ClassVar[tuple[str, str]] = ("a table", "")
    """``(expectation, fix)`` of a value that is not a table."""
    required: ClassVar[dict[str, tuple[str, str]]] = {}
    """Key -> ``(expectation, fix)`` when the key is missing."""

    @classmethod
    def from_dict(cls: type[T], data: Mapping[str, Any], where: str | None = None) -> T:
        """Validate ``data`` (a parsed TOML table) into a config; ``where`` prefixes error paths."""
        prefix = cls.where if where is None else where
        if not isinstance(data, Mapping):
            raise ConfigError(message(prefix or cls.noun, cls.not_table[0], data, cls.not_table[1]))
        for key in data:
            if key not in cls.model_fields:
                path = f"{prefix}.{key}" if prefix else key
                raise ConfigError(message(path, f"a known {cls.noun} field", key, suggest(key, cls.model_fields)))
        for key, (expect, fix) in cls.required.items():
            if key not in data:
                raise ConfigError(message(f"{prefix}.{key}" if prefix else key, expect, None, fix))
        return super().from_dict(data, where)


def _number_text(value: float) -> str:
    return f"{value:g}"


class Ablation(_Table):
    """A rule that generates reward variants from a ``terms`` base.

    Kinds and the names of the variants they generate (``prefix`` goes in front):

    - ``leave_one_out``: one variant per term of ``base`` with that term dropped, ``minus_<term>``.
    - ``add_one``: ``base`` plus one candidate term, ``plus_<term>``; candidates are ``weights``,
      by default the env's ground-truth weights of the factors ``base`` lacks.
    - ``weight_grid``: ``base`` with ``term``'s weight set to each of ``values``: ``<term>_x<factor>``,
      the factor by which the value multiplies the base's weight (``velocity_cost_x10`` for -1.0
      over the ground truth's -0.1), or ``<term>_w<value>`` for a term ``base`` lacks (it is added).

    ``base`` names a variant of kind ``terms``, a variant of kind ``env`` (its ground truth
    written as terms), or ``"ground_truth"`` (the env's ground-truth weights).
    """

    model_config = ConfigDict(frozen=True, ser_json_inf_nan="constants")  # an infinite weight stays a float
    noun: ClassVar[str] = "ablation"
    not_table: ClassVar[tuple[str, str]] = ("a table with a `kind`", 'Write {kind = "leave_one_out"}.')
    required: ClassVar[dict[str, tuple[str, str]]] = {"kind": (_KINDS, "Add a kind.")}

    def __init__(self, /, *args: Any, **data: Any) -> None:
        # Positional arguments in field order, as the dataclass it replaced took them.
        if len(args) > len(type(self).model_fields):
            raise TypeError(f"Ablation takes at most {len(type(self).model_fields)} positional arguments")
        super().__init__(**dict(zip(type(self).model_fields, args, strict=False)), **data)

    kind: Annotated[str, OneOf(ABLATION_KINDS, _KINDS), Hint(expect=_KINDS)]
    """``leave_one_out``, ``add_one`` or ``weight_grid``."""
    base: Annotated[str, _text("a variant name or 'ground_truth'")] = "ground_truth"
    """The variant to start from (see above)."""
    prefix: Annotated[
        str, _text("a name prefix of letters, digits and '_'", ok=lambda v: not v or bool(_NAME.match(v)))
    ] = ""
    """Put in front of every generated variant name (to tell two ablations apart)."""
    weights: dict[str, Annotated[float, Real(expect="a number", finite=False)]] | None = None
    """``add_one``: the candidate terms and their weights."""
    term: str | None = Field(default=None, validate_default=True)
    """``weight_grid``: the term whose weight varies."""
    values: Annotated[tuple[Annotated[float, Real(expect="a finite number")], ...], _distinct("distinct weights")] = (
        Field(default=(), validate_default=True)
    )
    """``weight_grid``: the weights to try."""

    @field_validator("weights", "term", "values", mode="before")
    @classmethod
    def _fits_kind(cls, value: Any, info: ValidationInfo) -> Any:
        """Each kind takes its own fields: ``weights`` for ``add_one``, ``term`` and ``values`` for ``weight_grid``."""
        kind = info.data.get("kind")
        if kind is None:  # the kind's own error comes first
            return value
        given = bool(value) if info.field_name == "values" else value is not None
        if given and info.field_name not in {"add_one": {"weights"}, "weight_grid": {"term", "values"}}.get(kind, ()):
            raise fail(f"absent for kind {kind!r}")
        if info.field_name == "weights" and value is not None and (not isinstance(value, Mapping) or not value):
            raise fail("a non-empty table term = weight")
        if kind == "weight_grid" and info.field_name == "term" and (not isinstance(value, str) or not value):
            raise fail("the name of the term whose weight varies")
        if (
            kind == "weight_grid"
            and info.field_name == "values"
            and (not isinstance(value, (list, tuple)) or not value)
        ):
            raise fail("a non-empty list of weights")
        return value

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """``kind`` and ``base``, then only the fields that are set."""
        out: dict[str, Any] = handler(self)
        return {k: v for k, v in out.items() if k in ("kind", "base") or v}

    def generate(self, base: Terms, env: suite.SuiteEnv, where: str) -> dict[str, RewardSpec]:
        """The generated variants, name -> spec, for ``env``."""
        terms: dict[str, Term] = dict(base.terms)  # type: ignore[arg-type]  # Terms made every value a Term
        out: dict[str, RewardSpec] = {}
        if self.kind == "leave_one_out":
            if len(terms) < 2:
                raise ConfigError(
                    message(f"{where}.base", "a terms reward with at least two terms", self.base, "Nothing to drop.")
                )
            for name in terms:
                out[f"{self.prefix}minus_{name}"] = Terms({k: t for k, t in terms.items() if k != name})
        elif self.kind == "add_one":
            if self.weights is not None:
                candidates = dict(self.weights)
            else:
                candidates = {k: float(w) for k, w in env.ground_truth.items() if k not in terms}
            candidates = {k: w for k, w in candidates.items() if k not in terms}
            if not candidates:
                raise ConfigError(
                    message(
                        f"{where}.weights",
                        f"terms to add that the base lacks (on {env.name!r})",
                        self.weights,
                        "Give `weights` of factors not in the base.",
                    )
                )
            for name, w in candidates.items():
                out[f"{self.prefix}plus_{name}"] = Terms({**terms, name: Term(weight=w)})
        else:
            assert self.term is not None  # validated for weight_grid
            names = self.grid_names(base)
            for v in self.values:
                old = terms.get(self.term, Term())
                new = old.model_copy(update={"weight": v})
                out[names[v][0]] = Terms({**terms, self.term: new})
        return out

    def grid_names(self, base: Terms) -> dict[float, tuple[str, str]]:
        """``weight_grid``: value -> (its variant name, the name earlier versions gave it).

        The name says what the value does to the base: ``<term>_x<factor>`` multiplies the base's
        weight (``velocity_cost_x10`` for -1.0 where the base has -0.1; ``_x-1`` flips its sign);
        ``<term>_w<value>`` sets a term the base lacks, or weighs 0, to the value. Earlier versions
        named every value ``<term>_x<value>``, which read as a factor; :func:`legacy_names` maps
        them so that old sweep folders keep resuming and reporting.
        """
        assert self.term is not None
        term = base.terms.get(self.term)
        weight = term.weight if isinstance(term, Term) else 0.0
        out = {}
        for v in self.values:
            if weight:
                name = f"{self.term}_x{float(f'{v / weight:.6g}') + 0.0:g}"  # + 0.0: no '-0'
            else:
                name = f"{self.term}_w{_number_text(v)}"
            out[v] = (f"{self.prefix}{name}", f"{self.prefix}{self.term}_x{_number_text(v)}")
        return out


class Trial(Config):
    """One training run of a sweep: an env, a reward variant, an agent and a seed."""

    model_config = ConfigDict(frozen=True)

    env: str
    """Suite env name."""
    variant: str
    """Reward variant name."""
    agent: str
    """Agent name in the spec (the key of ``[agents.<name>]``)."""
    algo: str
    """SB3 algorithm trained (``ppo``); equals ``agent`` unless the agent table sets ``algo``."""
    seed: NonNegativeInt
    """Seed of every RNG of the run."""
    reward: dict[str, Any]
    """The reward spec as a dict (``RewardSpec.to_dict()``)."""
    hyperparams: dict[str, Any] = Field(default_factory=dict)
    """SB3 hyperparameter overrides."""
    timesteps: PresetInt = None
    """Training steps (None: the preset's)."""
    eval_freq: PresetInt = None
    """Evaluate every this many steps (None: 10 evaluations)."""
    eval_episodes: PositiveInt = 10
    """Episodes per evaluation."""
    n_envs: PresetInt = None
    """Parallel envs (None: the preset's)."""

    @property
    def id(self) -> str:
        """``<env>__<variant>__<agent>__s<seed>``: the trial's run directory name."""
        return f"{self.env}__{self.variant}__{self.agent}__s{self.seed}"

    def to_dict(self) -> dict[str, Any]:
        """The trial as written in ``sweep.json`` and sent to workers: ``id``, then the fields."""
        return {"id": self.id, **self.model_dump()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str | None = None) -> Trial:
        """A trial from :meth:`to_dict`'s output (``id`` is derived, so it is dropped)."""
        return super().from_dict({k: v for k, v in data.items() if k != "id"}, where)

    @property
    def fingerprint(self) -> str:
        """A hash of everything that changes the result; a finished trial is redone when it changes."""
        data = {k: v for k, v in self.to_dict().items() if k != "id"}
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def config(self, runs_dir: str, sweep_name: str) -> TrainConfig | RLHFConfig:
        """The :class:`~rewardlab.training.TrainConfig` of this trial (its values validated; its
        :meth:`~rewardlab.training.TrainConfig.check` is the sweep's validation step), or for an
        ``rlhf`` variant the :class:`~rewardlab.preferences.RLHFConfig` of the online loop.

        Reward models the trial's reward trains are shared through the sweep's ``reward_models/``.

        Raises:
            ConfigError: an ``rlhf`` variant sets something that is not one of :data:`RLHF_SETTINGS`.
        """
        if self.reward.get("kind") == "rlhf":
            return self._rlhf_config(runs_dir, sweep_name)
        return TrainConfig(
            env=self.env,
            reward=self.reward,
            agent=self.algo,
            seed=self.seed,
            timesteps=self.timesteps,
            n_envs=self.n_envs,
            eval_freq=self.eval_freq,
            eval_episodes=self.eval_episodes,
            hyperparams=dict(self.hyperparams),
            runs_dir=runs_dir,
            group=sweep_name,
            run_name=self.id,
            threads=1,
            progress_bar=False,
            reward_models=str(Path(runs_dir) / sweep_name / REWARD_MODELS),
            meta=self._meta(sweep_name),
        )

    def _meta(self, sweep_name: str) -> dict[str, Any]:
        return {
            "sweep": sweep_name,
            "trial": self.id,
            "variant": self.variant,
            "env": self.env,
            "agent": self.agent,
            "seed": self.seed,
            "fingerprint": self.fingerprint,
        }

    def _rlhf_config(self, runs_dir: str, sweep_name: str) -> RLHFConfig:
        settings = {k: v for k, v in self.reward.items() if k != "kind"}
        for key in settings:
            if key not in RLHF_SETTINGS:
                raise ConfigError(
                    message(
                        f"variants.{self.variant}.{key}",
                        "a setting of the online loop",
                        key,
                        suggest(key, RLHF_SETTINGS),
                    )
                )
        if "hidden" in settings and isinstance(settings["hidden"], list):
            settings["hidden"] = tuple(settings["hidden"])
        extra: dict[str, Any] = {"total_timesteps": self.timesteps} if self.timesteps is not None else {}
        return RLHFConfig(
            env=self.env,
            agent=self.algo,
            seed=self.seed,
            n_envs=self.n_envs,
            eval_episodes=self.eval_episodes,
            hyperparams=dict(self.hyperparams),
            runs_dir=runs_dir,
            group=sweep_name,
            run_name=self.id,
            threads=1,
            progress=False,
            meta=self._meta(sweep_name),
            **extra,
            **settings,
        )


def _suite_names(envs: tuple[str, ...]) -> tuple[str, ...]:
    """Each env by its suite name (a Gymnasium id becomes the suite's name); no env twice."""
    names = []
    for i, env in enumerate(envs):
        try:
            names.append(suite.get(env).name)
        except RewardLabError as exc:  # suite.get names the parameter `env`
            raise type(exc)(str(exc).replace("`env`", f"`envs[{i}]`", 1)) from None
    if len(set(names)) != len(names):
        raise ConfigError(message("envs", "distinct env names", list(envs)))
    return tuple(names)


def _distinct_seeds(seeds: tuple[int, ...]) -> tuple[int, ...]:
    if len(set(seeds)) != len(seeds):  # raised by hand: the field's Hint would reword fail()
        raise ConfigError(message("seeds", "distinct seeds", list(seeds), "Drop the repeated seed."))
    return seeds


def _known_algorithms(agents: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Agent names usable in trial ids, each training an SB3 algorithm (its name, or its ``algo``)."""
    for name, over in agents.items():
        _check_key(f"agents.{name}", name)
        algo = over.get("algo", name)
        if algo not in ALGORITHMS:
            param = f"agents.{name}.algo" if "algo" in over else "agents"
            raise ConfigError(message(param, "an SB3 algorithm name", algo, suggest(algo, ALGORITHMS)))
        check_hyperparams(algo, {k: v for k, v in over.items() if k != "algo"}, where=f"agents.{name}")
    return agents


def _ablation_base(ab: Ablation, variants: Mapping[str, RewardSpec], env: suite.SuiteEnv, where: str) -> Terms:
    spec = variants.get(ab.base)
    if (spec is None and ab.base == "ground_truth") or isinstance(spec, Env):
        if not env.ground_truth:
            raise ConfigError(
                message(f"{where}.base", f"a terms variant ({env.name!r} has no ground-truth factors)", ab.base)
            )
        return Terms(dict(env.ground_truth))
    if spec is None:
        choices = [*variants, "ground_truth"]
        raise ConfigError(
            message(f"{where}.base", "a variant name or 'ground_truth'", ab.base, suggest(ab.base, choices))
        )
    if not isinstance(spec, Terms):
        raise ConfigError(
            message(
                f"{where}.base",
                "a variant of kind 'terms' or 'env'",
                f"{ab.base} (kind {spec.kind!r})",
                "Ablations add, drop or reweight terms of a terms reward.",
            )
        )
    return spec


def _generated(
    variants: Mapping[str, RewardSpec], ablations: tuple[Ablation, ...], env_name: str
) -> dict[str, RewardSpec]:
    """The variants ``ablations`` generate on ``env_name``, by name (none may reuse a name)."""
    env = suite.get(env_name)
    out: dict[str, RewardSpec] = {}
    for i, ab in enumerate(ablations):
        where = f"ablations[{i}]"
        for name, spec in ab.generate(_ablation_base(ab, variants, env, where), env, where).items():
            if name in variants or name in out:
                raise ConfigError(
                    message(
                        f"{where}",
                        "variants with names not used by another variant",
                        name,
                        "Set `prefix` on the ablation or rename the variant.",
                    )
                )
            out[name] = spec
    return out


class SweepSpec(_Table):
    """An ablation sweep: the grid ``envs × variants × agents × seeds``, validated on construction.

    Example:
        >>> from rewardlab.sweeps import SweepSpec
        >>> spec = SweepSpec.from_dict({
        ...     "name": "demo", "envs": ["pendulum"], "seeds": [0, 1], "agents": {"sac": {}},
        ...     "variants": {"truth": {"kind": "env"}},
        ...     "ablations": [{"kind": "leave_one_out", "base": "ground_truth"}],
        ... })
        >>> sorted(spec.variants_for("pendulum"))
        ['minus_angle_cost', 'minus_torque_cost', 'minus_velocity_cost', 'truth']
        >>> len(spec.trials(check=False)), spec.baseline
        (8, 'truth')
    """

    model_config = ConfigDict(frozen=True)
    noun: ClassVar[str] = "sweep"
    not_table: ClassVar[tuple[str, str]] = ("a table", "")
    required: ClassVar[dict[str, tuple[str, str]]] = {
        key: ("present", f"Add `{key} = ...` to the sweep.") for key in ("name", "envs")
    }

    # Fields in the order of `to_dict`; a validator reads the fields above it (`info.data`).
    name: Annotated[str, _text(_NAME_RULE, _NAME_FIX, ok=_is_name)]
    """Sweep name: the directory ``<runs_dir>/<name>/`` holding its trials."""
    kind: Annotated[Literal["grid"], Hint(expect="'grid'", fix="Ablations go in [[ablations]] tables.")] = "grid"
    """Only ``grid`` (the full product) for now."""
    envs: Annotated[
        tuple[str, ...],
        Field(min_length=1),
        Hint(expect="a non-empty list of env names", fix='Write envs = ["pendulum"].'),
        AfterValidator(_suite_names),
    ]
    """Suite env names (a Gymnasium id is stored as its suite name)."""
    seeds: Annotated[
        tuple[NonNegativeInt, ...],
        Field(min_length=1),
        Hint(expect="a non-empty list of non-negative integers"),
        AfterValidator(_distinct_seeds),
    ] = (0,)
    """Seeds; paired: every variant and agent runs with each of them."""
    agents: Annotated[
        dict[str, Annotated[dict[str, Any], _table("a table of hyperparameter overrides")]],
        _table("a non-empty table agent -> overrides", "Add [agents.ppo].", nonempty=True),
        AfterValidator(_known_algorithms),
    ] = Field(default_factory=lambda: {"ppo": dict[str, Any]()})
    """Agent name -> SB3 hyperparameter overrides; the name is the algorithm unless the table
    has ``algo = "ppo"`` (so two configurations of one algorithm can be compared)."""
    variants: dict[str, InstanceOf[RewardSpec]] = Field(default_factory=dict)
    """Reward variants written out, name -> spec (dicts are parsed; ``[[variants]]`` tables with
    a ``name`` each are accepted too)."""
    ablations: tuple[Ablation, ...] = Field(default=(), validate_default=True)
    """Rules generating more variants from a ``terms`` reward (a single table is accepted)."""
    timesteps: PresetInt = None
    """Training steps per trial (None: each agent preset's)."""
    eval_freq: PresetInt = None
    """Evaluate every this many steps (None: 10 evaluations per trial)."""
    eval_episodes: PositiveInt = 10
    """Episodes per evaluation."""
    n_envs: PresetInt = None
    """Parallel envs per trial (None: the preset's)."""
    baseline: str | None = Field(default=None, validate_default=True)
    """The variant whose return defines regret; None picks a variant of kind ``env`` if any."""
    fast: Annotated[dict[str, Any], Hint(expect="a table of overrides")] = Field(default_factory=dict)
    """Overrides that :meth:`fast_version` applies (tests, smoke runs): ``timesteps``, ``seeds``,
    ``eval_freq``, ``eval_episodes``, ``n_envs``, ``hyperparams`` (merged into every agent's)."""

    @field_validator("variants", mode="before")
    @classmethod
    def _parse_variants(cls, value: Any) -> Any:
        """``[[variants]]`` tables become a table by name; each spec is parsed with its path."""
        if isinstance(value, list):
            as_map: dict[str, Any] = {}
            for i, v in enumerate(value):
                if not isinstance(v, Mapping) or "name" not in v:
                    raise ConfigError(message(f"variants[{i}].name", "present", None, "Give every variant a name."))
                if v["name"] in as_map:
                    raise ConfigError(
                        message(f"variants[{i}].name", "unique among the variants", v["name"], "Rename one of them.")
                    )
                as_map[v["name"]] = {k: x for k, x in v.items() if k != "name"}
            value = as_map
        if not isinstance(value, Mapping):
            raise fail("a table variant name -> reward spec")
        variants: dict[str, RewardSpec] = {}
        for name, spec in value.items():
            _check_key(f"variants.{name}", name)
            variants[name] = spec if isinstance(spec, RewardSpec) else from_dict(spec, where=f"variants.{name}")
        return variants

    @field_validator("ablations", mode="before")
    @classmethod
    def _parse_ablations(cls, value: Any) -> Any:
        """A single ``[ablations]`` table is a list of one; each table is read with its path."""
        if isinstance(value, Mapping):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise fail("a list of [[ablations]] tables")
        return tuple(
            ab if isinstance(ab, Ablation) else Ablation.from_dict(ab, where=f"ablations[{i}]")
            for i, ab in enumerate(value)
        )

    @field_validator("ablations")
    @classmethod
    def _ablations_resolve(cls, ablations: tuple[Ablation, ...], info: ValidationInfo) -> tuple[Ablation, ...]:
        """Some variant to train, and the ablations' names and bases resolve on every env, before any trial runs."""
        if "variants" not in info.data or "envs" not in info.data:  # their own errors come first
            return ablations
        variants = info.data["variants"]
        if not variants and not ablations:
            raise ConfigError(message("variants", "at least one variant or ablation", {}, "Add [variants.<name>]."))
        for env in info.data["envs"]:
            _generated(variants, ablations, env)
        return ablations

    @field_validator("baseline", mode="before")
    @classmethod
    def _baseline(cls, value: Any, info: ValidationInfo) -> Any:
        """A variant name (written or generated); None: the first variant of kind ``env``, if any."""
        if not {"variants", "ablations", "envs"} <= info.data.keys():
            return value
        variants: dict[str, RewardSpec] = info.data["variants"]
        if value is None:
            return next((n for n, s in variants.items() if isinstance(s, Env)), None)
        names = set(variants)
        for env in info.data["envs"]:
            names |= set(_generated(variants, info.data["ablations"], env))
        if value not in names:
            raise ConfigError(message("baseline", "a variant name", value, suggest(value, names)))
        return value

    @field_validator("fast")
    @classmethod
    def _fast_keys(cls, fast: dict[str, Any]) -> dict[str, Any]:
        for key in fast:
            if key not in _FAST_KEYS:
                raise ConfigError(message(f"fast.{key}", "a field that fast may change", key, suggest(key, _FAST_KEYS)))
        return fast

    @field_serializer("envs", "seeds")
    def _as_list(self, value: tuple[Any, ...]) -> list[Any]:
        return list(value)

    @field_serializer("variants")
    def _dump_variants(self, variants: dict[str, RewardSpec]) -> dict[str, Any]:
        return {k: v.to_dict() for k, v in variants.items()}

    @field_serializer("ablations")
    def _dump_ablations(self, ablations: tuple[Ablation, ...]) -> list[dict[str, Any]]:
        return [a.to_dict() for a in ablations]

    def variants_for(self, env: str) -> dict[str, RewardSpec]:
        """Every reward variant of ``env``: the written ones, then the generated ones, by name."""
        return {**self.variants, **_generated(self.variants, self.ablations, env)}

    def legacy_names(self, env: str) -> dict[str, str]:
        """Generated variant -> the name an earlier version gave it, where the two differ.

        ``weight_grid`` variants were named ``<term>_x<value>`` (see :meth:`Ablation.grid_names`);
        the runner renames the trial folders of such a sweep (:func:`rewardlab.sweeps._run.migrate_names`).
        """
        out: dict[str, str] = {}
        for i, ab in enumerate(self.ablations):
            if ab.kind == "weight_grid":
                base = _ablation_base(ab, self.variants, suite.get(env), f"ablations[{i}]")
                out.update({new: old for new, old in ab.grid_names(base).values() if new != old})
        return out

    def trials(self, *, check: bool = True) -> list[Trial]:
        """The trials, env-major then variant, agent, seed.

        Args:
            check: check the :class:`~rewardlab.training.TrainConfig` of every (env, variant,
                agent), which binds the reward to the env (training no reward model) and checks
                the hyperparameters, so a bad trial fails before any runs. Every problem is
                reported at once.

        Raises:
            ConfigError: naming each trial that cannot run and why.
        """
        trials = []
        problems: list[str] = []
        for env in self.envs:
            for vname, spec in self.variants_for(env).items():
                reward = spec.to_dict()
                for agent, over in self.agents.items():
                    hyper = {k: v for k, v in over.items() if k != "algo"}
                    first = None
                    for seed in self.seeds:
                        trial = Trial(
                            env=env,
                            variant=vname,
                            agent=agent,
                            algo=over.get("algo", agent),
                            seed=seed,
                            reward=reward,
                            hyperparams=hyper,
                            timesteps=self.timesteps,
                            eval_freq=self.eval_freq,
                            eval_episodes=self.eval_episodes,
                            n_envs=self.n_envs,
                        )
                        trials.append(trial)
                        first = first or trial
                    if check and first is not None:
                        try:  # the seed does not change validity: one check per (env, variant, agent)
                            first.config(runs_dir="runs", sweep_name=self.name).check()  # trains nothing
                        except RewardLabError as exc:
                            problems.append(f"{first.id.rsplit('__s', 1)[0]}: {exc}")
        if problems:
            raise ConfigError(
                f"{len(problems)} trial(s) of sweep {self.name!r} cannot run:\n  " + "\n  ".join(problems)
            )
        return trials

    def fast_version(self) -> SweepSpec:
        """The spec with the ``fast`` overrides applied (defaults: 1000 timesteps, 2 eval episodes)."""
        over = dict(self.fast) if self.fast else dict(_DEFAULT_FAST)
        hyper = over.pop("hyperparams", None)
        agents = self.agents
        if hyper:
            if not isinstance(hyper, Mapping):
                raise ConfigError(message("fast.hyperparams", "a table of hyperparameter overrides", hyper))
            agents = {name: {**a, **hyper} for name, a in self.agents.items()}
        return SweepSpec(**{**dict(self), "agents": agents, "fast": {}, **over})  # validated again

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (TOML-ready apart from None values) that :meth:`from_dict` loads back; no
        ``fast`` key when there are no overrides."""
        return self.model_dump(exclude=None if self.fast else {"fast"})


def load_sweep(path: str | Path, fast: bool = False) -> SweepSpec:
    """Load a sweep spec from a TOML file, with the ``fast`` preset applied when ``fast``.

    Raises:
        ConfigError: the file is missing, not TOML, or holds an invalid spec.
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(message("sweep", "a readable TOML file", str(path), "Examples are in sweeps/."))
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(message("sweep", "valid TOML", str(path), f"Fix the file: {exc}.")) from exc
    spec = SweepSpec.from_dict(data)
    return spec.fast_version() if fast else spec


SWEEP_JSON = "sweep.json"
"""The file of a sweep folder that names the sweep and every trial (written by the runner)."""
_FIX_SWEEP_JSON = (
    "Restore it, or delete it: `rewardlab report` then rebuilds the trial list from the trials' config.json, "
    "and rerunning `rewardlab sweep SPEC` writes it again."
)


def read_sweep_json(sweep_dir: str | Path) -> dict[str, Any] | None:
    """The ``sweep.json`` of a sweep folder, checked: an object with ``trials``, each with an ``id``.

    Returns:
        The parsed file, or None when the folder has none.

    Raises:
        ConfigError: the file cannot be read, is not JSON, or does not hold a sweep (the message
            names the file and what is wrong, in one line).
    """
    path = Path(sweep_dir) / SWEEP_JSON
    if not path.is_file():
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(message(SWEEP_JSON, "a readable file", str(path), f"{exc}. {_FIX_SWEEP_JSON}")) from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        snippet = text.strip().splitlines()[0][:60] if text.strip() else text
        raise ConfigError(
            message(SWEEP_JSON, "valid JSON", snippet, f"{path} does not parse ({exc}). {_FIX_SWEEP_JSON}")
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(message(SWEEP_JSON, "a JSON object with `name` and `trials`", data, _FIX_SWEEP_JSON))
    trials = data.get("trials")
    if not isinstance(trials, list):
        raise ConfigError(message(f"{SWEEP_JSON}: trials", "a list of trials", trials, f"In {path}. {_FIX_SWEEP_JSON}"))
    for i, trial in enumerate(trials):
        trial_id = trial.get("id") if isinstance(trial, dict) else None
        if not isinstance(trial_id, str) or trial_id in ("", ".", "..") or "/" in trial_id or "\\" in trial_id:
            raise ConfigError(
                message(
                    f"{SWEEP_JSON}: trials[{i}]",
                    "a trial with an `id` (a folder name of the sweep)",
                    trial,
                    f"In {path}. {_FIX_SWEEP_JSON}",
                )
            )
    return data
