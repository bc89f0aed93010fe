"""Sweep specs: the axes of an ablation study and the trials they expand to.

A :class:`SweepSpec` names envs, reward variants, agents (with hyperparameter overrides) and
seeds; its trials are the full grid ``envs × variants × agents × seeds``. Seeds are *paired*:
every variant and agent sees the same seeds, so a difference between variants is not a
difference between seeds. Besides the variants written out, :class:`Ablation` entries generate
variants from a ``terms`` reward: leave one term out, add one term, or a grid over one weight.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewardlab import suite
from rewardlab.data import ALGORITHMS
from rewardlab.errors import ConfigError, RewardLabError, message, suggest
from rewardlab.rewards import Env, RewardSpec, Term, Terms, from_dict
from rewardlab.training import TrainConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["ABLATION_KINDS", "Ablation", "SweepSpec", "Trial", "load_sweep"]

REWARD_MODELS = "reward_models"
"""The folder of a sweep where the reward models its variants train are stored (trained once)."""

ABLATION_KINDS = ("add_one", "leave_one_out", "weight_grid")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
# What `fast` may change, and what it changes when the spec has no [fast] table (tests, smoke runs).
_FAST_KEYS = {"timesteps", "seeds", "eval_freq", "eval_episodes", "n_envs", "hyperparams"}
_DEFAULT_FAST: dict[str, Any] = {"timesteps": 1000, "eval_episodes": 2}
_TOP_KEYS = {
    "name",
    "kind",
    "envs",
    "seeds",
    "agents",
    "variants",
    "ablations",
    "timesteps",
    "eval_freq",
    "eval_episodes",
    "n_envs",
    "baseline",
    "fast",
}


def _check_name(param: str, value: Any) -> str:
    if not isinstance(value, str) or not _NAME.match(value) or "__" in value:
        raise ConfigError(
            message(
                param,
                "a name of letters, digits, '_', '-', '.', '+' (no '__', which separates trial id parts)",
                value,
                "Rename it, e.g. 'no_velocity'.",
            )
        )
    return value


def _check_int(param: str, value: Any, *, low: int, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        what = "a non-negative integer" if low == 0 else "a positive integer"
        raise ConfigError(message(param, what + (" or None (use the preset)" if optional else ""), value))
    return value


def _number_text(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class Ablation:
    """A rule that generates reward variants from a ``terms`` base.

    Kinds and the names of the variants they generate (``prefix`` goes in front):

    - ``leave_one_out``: one variant per term of ``base`` with that term dropped, ``minus_<term>``.
    - ``add_one``: ``base`` plus one candidate term, ``plus_<term>``; candidates are ``weights``,
      by default the env's ground-truth weights of the factors ``base`` lacks.
    - ``weight_grid``: ``base`` with ``term``'s weight set to each of ``values``, ``<term>_x<value>``
      (a term ``base`` lacks is added).

    ``base`` names a variant of kind ``terms``, a variant of kind ``env`` (its ground truth
    written as terms), or ``"ground_truth"`` (the env's ground-truth weights).
    """

    kind: str
    """``leave_one_out``, ``add_one`` or ``weight_grid``."""
    base: str = "ground_truth"
    """The variant to start from (see above)."""
    prefix: str = ""
    """Put in front of every generated variant name (to tell two ablations apart)."""
    weights: Mapping[str, float] | None = None
    """``add_one``: the candidate terms and their weights."""
    term: str | None = None
    """``weight_grid``: the term whose weight varies."""
    values: Sequence[float] = ()
    """``weight_grid``: the weights to try."""

    def validate(self, where: str) -> None:
        if self.kind not in ABLATION_KINDS:
            raise ConfigError(message(f"{where}.kind", f"one of {list(ABLATION_KINDS)}", self.kind))
        if not isinstance(self.base, str) or not self.base:
            raise ConfigError(message(f"{where}.base", "a variant name or 'ground_truth'", self.base))
        if not isinstance(self.prefix, str) or (self.prefix and not _NAME.match(self.prefix)):
            raise ConfigError(message(f"{where}.prefix", "a name prefix of letters, digits and '_'", self.prefix))
        extra = {"weights": self.weights is not None, "term": self.term is not None, "values": bool(self.values)}
        allowed = {"add_one": {"weights"}, "weight_grid": {"term", "values"}}.get(self.kind, set())
        for key, given in extra.items():
            if given and key not in allowed:
                raise ConfigError(message(f"{where}.{key}", f"absent for kind {self.kind!r}", getattr(self, key)))
        if self.weights is not None:
            if not isinstance(self.weights, Mapping) or not self.weights:
                raise ConfigError(message(f"{where}.weights", "a non-empty table term = weight", self.weights))
            for name, w in self.weights.items():
                if isinstance(w, bool) or not isinstance(w, (int, float)):
                    raise ConfigError(message(f"{where}.weights.{name}", "a number", w))
        if self.kind == "weight_grid":
            if not isinstance(self.term, str) or not self.term:
                raise ConfigError(message(f"{where}.term", "the name of the term whose weight varies", self.term))
            if not isinstance(self.values, (list, tuple)) or not self.values:
                raise ConfigError(message(f"{where}.values", "a non-empty list of weights", self.values))
            for i, v in enumerate(self.values):
                if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v or abs(v) == float("inf"):
                    raise ConfigError(message(f"{where}.values[{i}]", "a finite number", v))
            if len({float(v) for v in self.values}) != len(self.values):
                raise ConfigError(message(f"{where}.values", "distinct weights", list(self.values)))

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
                candidates = {k: float(w) for k, w in self.weights.items()}
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
            assert self.term is not None  # validate() checked it
            for v in self.values:
                old = terms.get(self.term, Term())
                new = dataclasses.replace(old, weight=float(v))
                out[f"{self.prefix}{self.term}_x{_number_text(float(v))}"] = Terms({**terms, self.term: new})
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "base": self.base}
        if self.prefix:
            out["prefix"] = self.prefix
        if self.weights is not None:
            out["weights"] = {k: float(v) for k, v in self.weights.items()}
        if self.term is not None:
            out["term"] = self.term
        if self.values:
            out["values"] = [float(v) for v in self.values]
        return out

    @classmethod
    def from_dict(cls, data: Any, where: str) -> Ablation:
        if not isinstance(data, Mapping):
            raise ConfigError(message(where, "a table with a `kind`", data, 'Write {kind = "leave_one_out"}.'))
        allowed = {"kind", "base", "prefix", "weights", "term", "values"}
        for key in data:
            if key not in allowed:
                raise ConfigError(message(f"{where}.{key}", "a known ablation field", key, suggest(key, allowed)))
        if "kind" not in data:
            raise ConfigError(message(f"{where}.kind", f"one of {list(ABLATION_KINDS)}", None, "Add a kind."))
        kind = data["kind"]
        if kind not in ABLATION_KINDS:
            raise ConfigError(
                message(f"{where}.kind", f"one of {list(ABLATION_KINDS)}", kind, suggest(kind, ABLATION_KINDS))
            )
        values = data.get("values", ())
        return cls(
            kind=kind,
            base=data.get("base", "ground_truth"),
            prefix=data.get("prefix", ""),
            weights=data.get("weights"),
            term=data.get("term"),
            values=tuple(values) if isinstance(values, list) else values,
        )


@dataclass(frozen=True)
class Trial:
    """One training run of a sweep: an env, a reward variant, an agent and a seed."""

    env: str
    """Suite env name."""
    variant: str
    """Reward variant name."""
    agent: str
    """Agent name in the spec (the key of ``[agents.<name>]``)."""
    algo: str
    """SB3 algorithm trained (``ppo``); equals ``agent`` unless the agent table sets ``algo``."""
    seed: int
    """Seed of every RNG of the run."""
    reward: dict[str, Any]
    """The reward spec as a dict (``RewardSpec.to_dict()``)."""
    hyperparams: dict[str, Any] = field(default_factory=dict)
    """SB3 hyperparameter overrides."""
    timesteps: int | None = None
    """Training steps (None: the preset's)."""
    eval_freq: int | None = None
    """Evaluate every this many steps (None: 10 evaluations)."""
    eval_episodes: int = 10
    """Episodes per evaluation."""
    n_envs: int | None = None
    """Parallel envs (None: the preset's)."""

    @property
    def id(self) -> str:
        """``<env>__<variant>__<agent>__s<seed>``: the trial's run directory name."""
        return f"{self.env}__{self.variant}__{self.agent}__s{self.seed}"

    def to_dict(self) -> dict[str, Any]:
        """The trial as written in ``sweep.json`` and sent to workers (plain JSON types)."""
        return {
            "id": self.id,
            "env": self.env,
            "variant": self.variant,
            "agent": self.agent,
            "algo": self.algo,
            "seed": self.seed,
            "reward": self.reward,
            "hyperparams": self.hyperparams,
            "timesteps": self.timesteps,
            "eval_freq": self.eval_freq,
            "eval_episodes": self.eval_episodes,
            "n_envs": self.n_envs,
        }

    @property
    def fingerprint(self) -> str:
        """A hash of everything that changes the result; a finished trial is redone when it changes."""
        data = {k: v for k, v in self.to_dict().items() if k != "id"}
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def config(self, runs_dir: str, sweep_name: str) -> TrainConfig:
        """The :class:`~rewardlab.training.TrainConfig` of this trial (its values validated; its
        :meth:`~rewardlab.training.TrainConfig.check` is the sweep's validation step).

        Reward models the trial's reward trains are shared through the sweep's ``reward_models/``.
        """
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
            meta={
                "sweep": sweep_name,
                "trial": self.id,
                "variant": self.variant,
                "env": self.env,
                "agent": self.agent,
                "seed": self.seed,
                "fingerprint": self.fingerprint,
            },
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Trial:
        return cls(**{k: v for k, v in data.items() if k != "id"})


@dataclass(frozen=True)
class SweepSpec:
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

    name: str
    """Sweep name: the directory ``<runs_dir>/<name>/`` holding its trials."""
    envs: Sequence[str]
    """Suite env names."""
    variants: Mapping[str, RewardSpec]
    """Reward variants written out, name -> spec (dicts are parsed)."""
    agents: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: {"ppo": {}})
    """Agent name -> SB3 hyperparameter overrides; the name is the algorithm unless the table
    has ``algo = "ppo"`` (so two configurations of one algorithm can be compared)."""
    seeds: Sequence[int] = (0,)
    """Seeds; paired: every variant and agent runs with each of them."""
    ablations: Sequence[Ablation] = ()
    """Rules generating more variants from a ``terms`` reward."""
    timesteps: int | None = None
    """Training steps per trial (None: each agent preset's)."""
    eval_freq: int | None = None
    """Evaluate every this many steps (None: 10 evaluations per trial)."""
    eval_episodes: int = 10
    """Episodes per evaluation."""
    n_envs: int | None = None
    """Parallel envs per trial (None: the preset's)."""
    baseline: str | None = None
    """The variant whose return defines regret; None picks a variant of kind ``env`` if any."""
    fast: Mapping[str, Any] = field(default_factory=dict)
    """Overrides that :meth:`fast_version` applies (tests, smoke runs): ``timesteps``, ``seeds``,
    ``eval_freq``, ``eval_episodes``, ``n_envs``, ``hyperparams`` (merged into every agent's)."""
    kind: str = "grid"
    """Only ``grid`` (the full product) for now."""

    def __post_init__(self) -> None:
        _check_name("name", self.name)
        if self.kind != "grid":
            raise ConfigError(message("kind", "'grid'", self.kind, "Ablations go in [[ablations]] tables."))
        if isinstance(self.envs, str) or not isinstance(self.envs, Sequence) or not self.envs:
            raise ConfigError(message("envs", "a non-empty list of env names", self.envs, 'Write envs = ["pendulum"].'))
        envs = []
        for i, env in enumerate(self.envs):
            try:
                envs.append(suite.get(env).name)
            except RewardLabError as exc:
                raise type(exc)(str(exc).replace("`env`", f"`envs[{i}]`", 1)) from None
        if len(set(envs)) != len(envs):
            raise ConfigError(message("envs", "distinct env names", list(self.envs)))
        object.__setattr__(self, "envs", tuple(envs))
        if isinstance(self.seeds, (str, bytes)) or not isinstance(self.seeds, Sequence) or not self.seeds:
            raise ConfigError(message("seeds", "a non-empty list of non-negative integers", self.seeds))
        for i, s in enumerate(self.seeds):
            _check_int(f"seeds[{i}]", s, low=0)
        if len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(message("seeds", "distinct seeds", list(self.seeds), "Drop the repeated seed."))
        object.__setattr__(self, "seeds", tuple(self.seeds))
        _check_int("timesteps", self.timesteps, low=1, optional=True)
        _check_int("eval_freq", self.eval_freq, low=1, optional=True)
        _check_int("n_envs", self.n_envs, low=1, optional=True)
        _check_int("eval_episodes", self.eval_episodes, low=1)
        self._check_agents()
        self._check_variants()
        if not isinstance(self.fast, Mapping):
            raise ConfigError(message("fast", "a table of overrides", self.fast))
        for key in self.fast:
            if key not in _FAST_KEYS:
                raise ConfigError(message(f"fast.{key}", "a field that fast may change", key, suggest(key, _FAST_KEYS)))
        if self.baseline is None:
            default = next((n for n, s in self.variants.items() if isinstance(s, Env)), None)
            object.__setattr__(self, "baseline", default)
        else:
            names = set(self.variants)
            for env in self.envs:
                names |= set(self._generated(env))
            if self.baseline not in names:
                raise ConfigError(message("baseline", "a variant name", self.baseline, suggest(self.baseline, names)))

    def _check_agents(self) -> None:
        if not isinstance(self.agents, Mapping) or not self.agents:
            raise ConfigError(
                message("agents", "a non-empty table agent -> overrides", self.agents, "Add [agents.ppo].")
            )
        agents: dict[str, dict[str, Any]] = {}
        for name, over in self.agents.items():
            _check_name(f"agents.{name}", name)
            if not isinstance(over, Mapping):
                raise ConfigError(message(f"agents.{name}", "a table of hyperparameter overrides", over))
            algo = over.get("algo", name)
            if algo not in ALGORITHMS:
                param = f"agents.{name}.algo" if "algo" in over else "agents"
                raise ConfigError(message(param, "an SB3 algorithm name", algo, suggest(algo, ALGORITHMS)))
            agents[name] = dict(over)
        object.__setattr__(self, "agents", agents)

    def _check_variants(self) -> None:
        if not isinstance(self.variants, Mapping):
            raise ConfigError(message("variants", "a table variant name -> reward spec", self.variants))
        variants: dict[str, RewardSpec] = {}
        for name, spec in self.variants.items():
            _check_name(f"variants.{name}", name)
            if not isinstance(spec, RewardSpec):
                spec = from_dict(spec, where=f"variants.{name}")
            variants[name] = spec
        if not isinstance(self.ablations, Sequence):
            raise ConfigError(message("ablations", "a list of [[ablations]] tables", self.ablations))
        ablations = []
        for i, ab in enumerate(self.ablations):
            if not isinstance(ab, Ablation):
                ab = Ablation.from_dict(ab, f"ablations[{i}]")
            ab.validate(f"ablations[{i}]")
            ablations.append(ab)
        if not variants and not ablations:
            raise ConfigError(message("variants", "at least one variant or ablation", {}, "Add [variants.<name>]."))
        object.__setattr__(self, "variants", variants)
        object.__setattr__(self, "ablations", tuple(ablations))
        for env in self.envs:  # names and bases resolve on every env, before any trial runs
            self._generated(env)

    def _ablation_base(self, ab: Ablation, env: suite.SuiteEnv, where: str) -> Terms:
        spec = self.variants.get(ab.base)
        if (spec is None and ab.base == "ground_truth") or isinstance(spec, Env):
            if not env.ground_truth:
                raise ConfigError(
                    message(f"{where}.base", f"a terms variant ({env.name!r} has no ground-truth factors)", ab.base)
                )
            return Terms(dict(env.ground_truth))
        if spec is None:
            choices = [*self.variants, "ground_truth"]
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

    def _generated(self, env_name: str) -> dict[str, RewardSpec]:
        env = suite.get(env_name)
        out: dict[str, RewardSpec] = {}
        for i, ab in enumerate(self.ablations):
            where = f"ablations[{i}]"
            for name, spec in ab.generate(self._ablation_base(ab, env, where), env, where).items():
                if name in self.variants or name in out:
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

    def variants_for(self, env: str) -> dict[str, RewardSpec]:
        """Every reward variant of ``env``: the written ones, then the generated ones, by name."""
        return {**self.variants, **self._generated(env)}

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
        return dataclasses.replace(self, agents=agents, fast={}, **over)

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (TOML-ready apart from None values) that :meth:`from_dict` loads back."""
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "envs": list(self.envs),
            "seeds": list(self.seeds),
            "agents": {k: dict(v) for k, v in self.agents.items()},
            "variants": {k: v.to_dict() for k, v in self.variants.items()},
            "ablations": [a.to_dict() for a in self.ablations],
            "timesteps": self.timesteps,
            "eval_freq": self.eval_freq,
            "eval_episodes": self.eval_episodes,
            "n_envs": self.n_envs,
            "baseline": self.baseline,
        }
        if self.fast:
            out["fast"] = dict(self.fast)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SweepSpec:
        """Build a spec from a dict such as a parsed TOML file; validates every field.

        ``variants`` may also be a list of tables with a ``name`` each (``[[variants]]``).

        Raises:
            ConfigError: naming the field path (``variants.no_vel.weights``) and the value.
        """
        if not isinstance(data, Mapping):
            raise ConfigError(message("sweep", "a table", data))
        for key in data:
            if key not in _TOP_KEYS:
                raise ConfigError(message(key, "a known sweep field", key, suggest(key, _TOP_KEYS)))
        for key in ("name", "envs"):
            if key not in data:
                raise ConfigError(message(key, "present", None, f"Add `{key} = ...` to the sweep."))
        variants = data.get("variants", {})
        if isinstance(variants, list):
            as_map: dict[str, Any] = {}
            for i, v in enumerate(variants):
                if not isinstance(v, Mapping) or "name" not in v:
                    raise ConfigError(message(f"variants[{i}].name", "present", None, "Give every variant a name."))
                if v["name"] in as_map:
                    raise ConfigError(
                        message(f"variants[{i}].name", "unique among the variants", v["name"], "Rename one of them.")
                    )
                as_map[v["name"]] = {k: x for k, x in v.items() if k != "name"}
            variants = as_map
        ablations = data.get("ablations", ())
        if isinstance(ablations, Mapping):  # a single [ablations] table
            ablations = [ablations]
        kwargs = {k: v for k, v in data.items() if k not in ("variants", "ablations")}
        if isinstance(kwargs.get("seeds"), list):
            kwargs["seeds"] = tuple(kwargs["seeds"])
        return cls(variants=variants, ablations=ablations, **kwargs)


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
