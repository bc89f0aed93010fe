"""The reward kinds: ``env``, ``terms``, ``shaped`` and ``code``."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Annotated, Any, cast

import numpy as np
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    GetPydanticSchema,
    PlainSerializer,
    PlainValidator,
)

from rewardlab import suite
from rewardlab.config import Config, Hint, StrictBool, fail
from rewardlab.errors import RewardLabError, SpecError, message, unknown
from rewardlab.rewards._running import RunningMeanStd
from rewardlab.rewards._spec import (
    Array,
    Computed,
    Kept,
    Number,
    RewardFunction,
    RewardSpec,
    by_position,
    check_keys,
    from_dict,
    parse,
)
from rewardlab.rewards._spec import (
    Terms as TermValues,
)

__all__ = ["Code", "Env", "LogSigmoid", "Shaped", "Term", "Terms"]


def _as_batch(x: Any) -> np.ndarray:
    return np.asarray(x)


# --- env ----------------------------------------------------------------------------------------


class Env(RewardSpec):
    """The env's own (ground-truth) reward.

    Inside a wrapper the env's reward passes through unchanged; called on bare transitions (as
    the metrics do) it is rebuilt from the suite's factors. Terms are the ground truth's weighted
    factors, so per-term means are logged for the ground truth too.

    Example:
        >>> import rewardlab as rl
        >>> fn = rl.rewards.Env().build("pendulum")
        >>> obs = np.array([[0.0, 1.0, 0.0]])   # θ = π/2, at rest
        >>> round(float(fn(obs, np.array([[0.0]]), obs, np.array([False]))[0]), 4)   # -(π/2)²
        -2.4674
    """

    kind = "env"

    def build(self, env: str | suite.SuiteEnv, spaces: tuple[Any, Any] | None = None) -> RewardFunction:
        return _EnvFunction(self, suite.get(env))


class _EnvFunction(RewardFunction):
    uses_env_reward = True

    def __init__(self, spec: Env, env: suite.SuiteEnv) -> None:
        super().__init__(spec, env)
        self._factors = [(name, w, env.factor(name).fn) for name, w in env.ground_truth.items()]

    @property
    def term_names(self) -> tuple[str, ...]:
        return tuple(name for name, _, _ in self._factors)

    def compute(
        self, obs: Array, action: Array, next_obs: Array, done: Array, env_reward: Array | None = None
    ) -> Computed:
        done = np.asarray(done, dtype=bool)
        terms: TermValues = {name: w * fn(obs, action, next_obs, done) for name, w, fn in self._factors}
        if env_reward is not None:
            return np.asarray(env_reward, dtype=np.float64), terms
        if not self._factors:
            raise SpecError(
                message(
                    "reward",
                    "computable outside the env",
                    "env",
                    f"{self.env.name!r} declares no factors, so its reward exists only inside the env.",
                )
            )
        return cast(np.ndarray, sum(terms.values())), terms  # Python's sum: the order the weights are listed


# --- terms --------------------------------------------------------------------------------------


class LogSigmoid(Config):
    """The log-sigmoid-centred transform ``u = log σ((x - ref) / scale)`` (Wang et al. 2024).

    ``u <= 0`` and saturates once ``x`` is well above ``ref``; a sum of such terms reads as
    "good on every term" (a soft AND). It is not affine, so it can change optimal policies.
    Checked on construction; fields may be given positionally (``LogSigmoid(0.5, 2.0)``).
    """

    model_config = ConfigDict(frozen=True)
    where = "log_sigmoid"
    error_class = SpecError

    def __init__(self, /, *args: Any, **data: Any) -> None:
        super().__init__(**by_position(type(self), args, data))

    # pydantic validates a table inside a Term without this __init__ (which would word an unknown key as a TypeError)
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    ref: Annotated[float, Kept(Number())] = 0.0
    """The acceptable level of the term."""
    scale: Annotated[float, Kept(Number(positive=True))] = 1.0
    """The spread over which the transform goes from penalising to saturating (> 0)."""

    def __call__(self, x: np.ndarray) -> np.ndarray:
        z = (x - self.ref) / self.scale
        return -np.logaddexp(0.0, -z)  # log σ(z), stable for large |z|


def _pair(value: Any) -> Any:
    if value is not None and (not isinstance(value, (tuple, list)) or len(value) != 2):
        raise fail("a pair [low, high]", "Write clip = [-1.0, 1.0].")
    return value


def _ordered(value: tuple[float, float] | None) -> tuple[float, float] | None:
    if value is not None and value[0] >= value[1]:
        raise fail("a pair with low < high", "Swap the bounds.")
    return value


def _nested_reward(value: Any) -> RewardSpec:
    if isinstance(value, Mapping):
        return from_dict(value)
    if not isinstance(value, RewardSpec):
        raise fail("a reward spec", 'Write {kind = "learned", ...}.')
    return value


def _spec_dict(spec: RewardSpec) -> dict[str, Any]:
    return spec.to_dict()


def _log_sigmoid_dict(transform: LogSigmoid) -> dict[str, Any]:
    return transform.model_dump()  # both fields, as given (the term's dump leaves defaults out, not these)


Bound = Annotated[float, Number()]
"""A clip bound: a finite number, as a float."""


class Term(Config):
    """One weighted term of a :class:`Terms` reward, with optional transforms.

    The factor value goes through, in order: ``× scale`` → ``clip`` → running normalisation →
    log-sigmoid → ``× weight``. Checked by the :class:`Terms` that holds it (the errors name the
    term), not on construction; numbers are kept as given.
    """

    model_config = ConfigDict(frozen=True, revalidate_instances="always")  # a Terms checks each Term it is given
    error_class = SpecError

    def __init__(self, /, *args: Any, **data: Any) -> None:
        built = type(self).model_construct(**by_position(type(self), args, data))  # unchecked (the docstring)
        for name in ("__dict__", "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__"):
            object.__setattr__(self, name, getattr(built, name))

    # pydantic validates a Term (in a Terms, or with model_validate) without calling the unchecked __init__
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    weight: Annotated[float, Kept(Number())] = 1.0
    """Multiplier of the transformed factor; its sign sets the direction."""
    scale: Annotated[float, Kept(Number(positive=True, fix="Use `weight` for the sign."))] = 1.0
    """Positive multiplier applied before clipping (puts the clip range in convenient units)."""
    clip: Annotated[
        tuple[Bound, Bound] | None,
        BeforeValidator(_pair),
        AfterValidator(_ordered),
        PlainSerializer(list, when_used="unless-none"),
    ] = None
    """``(low, high)`` bounds applied after scaling, or None."""
    normalize: Annotated[StrictBool, Hint(expect="true or false")] = False
    """Standardise the term by its running mean and std (see :class:`Terms` for semantics)."""
    log_sigmoid: Annotated[
        LogSigmoid | None, Hint(expect="a LogSigmoid"), PlainSerializer(_log_sigmoid_dict, when_used="unless-none")
    ] = None
    """Log-sigmoid transform applied after normalisation, or None."""
    reward: Annotated[RewardSpec, PlainValidator(_nested_reward), PlainSerializer(_spec_dict)] | None = None
    """A whole reward spec (or its dict) whose output is the term's value instead of the factor of that name
    (the term's key is then a free label). This is how several learned rewards combine:
    ``[terms.helpful] reward = {kind = "learned", model = "..."}, log_sigmoid = {ref = 0.0}``;
    a sum of log-sigmoid-transformed terms reads as "good on every property" (Wang et al. 2024)."""

    def to_dict(self) -> dict[str, Any]:
        """The term as written under ``[terms.<name>]``: ``weight``, then the fields that differ from their defaults."""
        return {"weight": self.weight, **self.model_dump(exclude_defaults=True)}

    @property
    def plain(self) -> bool:
        return (
            self.scale == 1.0
            and self.clip is None
            and not self.normalize
            and self.log_sigmoid is None
            and self.reward is None
        )


def _factor_name(value: Any) -> str:
    if not isinstance(value, str):
        raise fail("keyed by factor names (str)")
    return value


def _weight_or_term(value: Any) -> Any:
    """A plain weight (``Terms({"angle_cost": -1})``) is the :class:`Term` of that weight, as a float."""
    if isinstance(value, (Term, Mapping)):
        return value
    return {"weight": float(Number(fix="Give a weight or a Term.")(value))}


def _non_empty_mapping(value: Any) -> Any:
    if not isinstance(value, Mapping) or not value:
        raise fail("a non-empty mapping factor -> weight", 'Write {"angle_cost": -1.0}.')
    return value


_TermsByName = dict[Annotated[str, Kept(_factor_name)], Annotated[Term, BeforeValidator(_weight_or_term)]]
"""What :attr:`Terms.terms` holds once validated: factor name -> :class:`Term`."""


def _table(expect: str) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if not isinstance(value, Mapping):
            raise fail(expect)
        return value

    return check


def _array_as_tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


class _TermTable(Config):
    """A ``[terms.<factor>]`` table as a file writes it, before it becomes a :class:`Term` (which checks
    the keys not declared here): its weight is read as a float, as the weights of ``weights`` are."""

    model_config = ConfigDict(extra="allow")
    error_class = SpecError

    weight: Annotated[float, Number()] = 1.0
    """Its errors name the file (``reward.terms.<factor>.weight``), as those of ``weights`` do."""
    log_sigmoid: Annotated[Any, Kept(_table("a table {ref, scale}"), optional=True)] = None
    """A table (the :class:`LogSigmoid` it becomes checks its keys and values)."""
    clip: Annotated[Any, BeforeValidator(_array_as_tuple)] = None
    """A TOML array, read as a tuple (the messages show it as one)."""


class _TermsFile(Config):
    """The file shape of a ``terms`` reward: ``weights = {factor = weight}`` and ``[terms.<factor>]`` tables."""

    error_class = SpecError

    weights: Annotated[dict[Any, Annotated[float, Number()]], Hint(expect="a table factor = weight")] = Field(
        default_factory=dict
    )
    terms: Annotated[
        dict[Any, Annotated[_TermTable, BeforeValidator(_table("a table with weight/scale/clip/..."))]],
        Hint(expect="a table of [terms.<factor>] tables"),
    ] = Field(default_factory=dict)


class Terms(RewardSpec):
    """A weighted sum of named reward factors: ``r = Σ_k w_k · t_k(f_k(s, a, s'))``.

    Running normalisation (``normalize=True`` on a term) standardises the term with the mean
    and variance of every value this reward function has seen, updated with each batch before
    normalising it. With the vector wrapper one statistic serves all sub-envs and is updated
    once per vector step with all of them; SB3 vector envs reset in the same step, so every
    value is a real transition (no reset steps to mask). With the single-env wrapper each copy
    of the env keeps its own statistic, and inside a Gymnasium vector env with next-step
    autoreset the wrapper sits in the sub-env and never sees the reset step. Statistics are
    frozen during evaluation (``training = False``) and shared with it. Unlike Gymnasium's
    ``NormalizeReward``, this normalises one term by its own spread, not the reward by the
    spread of the discounted return.

    Example:
        >>> import rewardlab as rl
        >>> spec = rl.rewards.Terms({"angle_cost": -1.0, "torque_cost": -0.001})
        >>> fn = spec.build("pendulum")
        >>> obs = np.array([[0.0, 1.0, 0.0]])          # θ = π/2
        >>> round(float(fn(obs, np.array([[2.0]]), obs, np.array([False]))[0]), 4)
        -2.4714
    """

    kind = "terms"

    def __init__(self, /, *args: Any, **data: Any) -> None:  # fields by position too (RewardSpec.__init__)
        super().__init__(*args, **data)

    terms: Annotated[
        Mapping[str, Term | float],  # what it takes, as mypy sees it; validated into _TermsByName
        GetPydanticSchema(lambda _, handler: handler(_TermsByName)),
        BeforeValidator(_non_empty_mapping),
        Hint(at_field=True),
    ] = Field(default_factory=dict, validate_default=True)
    """Factor name -> :class:`Term` (or a plain weight)."""

    def build(self, env: str | suite.SuiteEnv, spaces: tuple[Any, Any] | None = None) -> RewardFunction:
        return _TermsFunction(self, suite.get(env), spaces)

    @property
    def trains_when_built(self) -> bool:
        terms: Mapping[str, Term] = self.terms  # type: ignore[assignment]  # validated: every value is a Term
        return any(t.reward is not None and t.reward.trains_when_built for t in terms.values())

    def check(self, env: str | suite.SuiteEnv, spaces: tuple[Any, Any] | None = None) -> None:
        if not self.trains_when_built:
            return super().check(env, spaces)
        env = suite.get(env)
        terms: Mapping[str, Term] = self.terms  # type: ignore[assignment]
        for name, term in terms.items():
            if term.reward is not None:
                term.reward.check(env, spaces)
            else:
                env.factor(name)
        return None

    def _fields(self) -> dict[str, Any]:
        terms: dict[str, Term] = self.terms  # type: ignore[assignment]
        if all(t.plain for t in terms.values()):
            return {"weights": {k: t.weight for k, t in terms.items()}}
        return {"terms": {k: t.to_dict() for k, t in terms.items()}}

    @classmethod
    def _from_fields(cls, fields: dict[str, Any], where: str) -> Terms:
        """The file shape as fields: the file's own keys and tables are checked at ``where``
        (``reward.weights.x``), a term's fields at ``terms.<factor>.<field>`` (its unknown keys at ``where``)."""
        file = _TermsFile.from_dict(fields, where)
        terms: dict[Any, Any] = {name: {"weight": w} for name, w in file.weights.items()}
        for name, table in file.terms.items():
            if name in terms:
                raise SpecError(message(f"{where}.terms.{name}", "given once", name, "Drop it from `weights`."))
            terms[name] = dict(table)
            if "reward" in terms[name]:
                terms[name]["reward"] = from_dict(terms[name]["reward"], f"{where}.terms.{name}.reward")
        if not terms:
            raise SpecError(message(where, "a terms reward with `weights` or [terms.*] tables", dict(fields)))
        return cls.from_table({"terms": terms}, keys_where=where, where="")

    @property
    def label(self) -> str:
        return "terms(" + ",".join(self.terms) + ")"


class _TermsFunction(RewardFunction):
    def __init__(self, spec: Terms, env: suite.SuiteEnv, spaces: tuple[Any, Any] | None = None) -> None:
        super().__init__(spec, env)
        terms: Mapping[str, Term] = spec.terms  # type: ignore[assignment]  # __post_init__ made every value a Term
        # A term with its own reward spec evaluates that reward; any other term is a factor.
        self._nested = {name: term.reward.build(env, spaces) for name, term in terms.items() if term.reward is not None}
        self._terms = [
            (name, term, self._nested[name] if name in self._nested else env.factor(name).fn)
            for name, term in terms.items()
        ]
        self._stats = {name: RunningMeanStd() for name, term, _ in self._terms if term.normalize}

    @property
    def training(self) -> bool:
        return self._training

    @training.setter
    def training(self, value: bool) -> None:
        self._training = value
        for fn in getattr(self, "_nested", {}).values():
            fn.training = value

    @property
    def term_names(self) -> tuple[str, ...]:
        return tuple(name for name, _, _ in self._terms)

    def compute(
        self, obs: Array, action: Array, next_obs: Array, done: Array, env_reward: Array | None = None
    ) -> Computed:
        done = np.asarray(done, dtype=bool)
        terms: TermValues = {}
        total = None
        for name, term, fn in self._terms:
            x = fn(obs, action, next_obs, done)
            if not term.plain:
                x = x * term.scale
                if term.clip is not None:
                    x = np.clip(x, term.clip[0], term.clip[1])
                if term.normalize:
                    stats = self._stats[name]
                    if self.training:
                        stats.update(x)
                    x = stats.normalize(x)
                if term.log_sigmoid is not None:
                    x = term.log_sigmoid(x)
            x = term.weight * x
            terms[name] = x
            total = x if total is None else total + x
        return cast(np.ndarray, total), terms  # a Terms spec has at least one term

    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {name: s.state_dict() for name, s in self._stats.items()}
        if self._nested:
            state["__nested__"] = {name: fn.state_dict() for name, fn in self._nested.items()}
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        for name, s in state.items():
            if name == "__nested__":
                for nested, sub in s.items():
                    self._nested[nested].load_state_dict(sub)
            else:
                self._stats[name].load_state_dict(s)


# --- shaped -------------------------------------------------------------------------------------


def _import_callable(param: str, target: str) -> Callable[..., Any]:
    if not isinstance(target, str) or target.count(":") != 1:
        raise SpecError(message(param, '"package.module:function"', target, "Name a module and a function."))
    module_name, attr = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SpecError(
            message(param, "an importable module", module_name, f"Check the name and sys.path ({exc}).")
        ) from exc
    fn = getattr(module, attr, None)
    if not callable(fn):
        names = [n for n in dir(module) if not n.startswith("_") and callable(getattr(module, n))]
        raise unknown(param, attr, names, f"a function in {module_name}")
    return fn


def _reward_spec(value: Any) -> None:
    if not isinstance(value, RewardSpec):
        raise fail("a reward spec", "Pass e.g. rewardlab.rewards.Env().")


def _potential_name(value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise fail("a potential name or 'module:function'")


def _discount(value: Any) -> None:
    if not 0.0 < Number()(value) <= 1.0:
        raise fail("in (0, 1]", "Use the agent's discount, e.g. 0.99.")


class Shaped(RewardSpec):
    """Potential-based shaping on top of any reward: ``R'(s,a,s') = R + γΦ(s') − Φ(s)``.

    Shaping of this form leaves the optimal policies unchanged (Ng et al. 1999), but only when
    ``gamma`` equals the agent's discount. ``Φ(s')`` is taken as 0 when the step terminates:
    an absorbing terminal state must have zero potential, or the shaping adds a reward for
    *ending* the episode and changes which policies are optimal in variable-horizon tasks. On a
    time-limit truncation the next state is not terminal (the task would go on), so its
    potential is kept.

    Example:
        >>> import rewardlab as rl
        >>> spec = rl.rewards.Shaped(rl.rewards.Env(), potential="upright", gamma=0.99)
        >>> spec.to_dict()["potential"]
        'upright'
    """

    kind = "shaped"

    def __init__(self, /, *args: Any, **data: Any) -> None:  # fields by position too (RewardSpec.__init__)
        super().__init__(*args, **data)

    base: Annotated[RewardSpec, Kept(_reward_spec)] = Field(default_factory=Env)
    """The reward to shape."""
    potential: Annotated[str, Kept(_potential_name)] = Field("", validate_default=True)
    """A potential of the suite env (``rewardlab envs`` lists them) or ``"package.module:function"``
    for a batched ``Phi(obs) -> (batch,)`` of your own."""
    scale: Annotated[float, Kept(Number())] = 1.0
    """Multiplier of the potential."""
    gamma: Annotated[float, Kept(_discount)] = 0.99
    """Discount of the shaping, in (0, 1]; must equal the agent's ``gamma`` for policy invariance."""

    def _potential(self, env: suite.SuiteEnv) -> Callable[..., Any]:
        if ":" in self.potential:
            return _import_callable("potential", self.potential)
        if self.potential in env.potentials:
            return env.potentials[self.potential]
        raise unknown("potential", self.potential, env.potentials, f"a potential of {env.name!r} or 'module:function'")

    def build(self, env: str | suite.SuiteEnv, spaces: tuple[Any, Any] | None = None) -> RewardFunction:
        env = suite.get(env)
        phi = self._potential(env)
        return _ShapedFunction(self, env, self.base.build(env, spaces), phi)

    @property
    def trains_when_built(self) -> bool:
        return self.base.trains_when_built

    def check(self, env: str | suite.SuiteEnv, spaces: tuple[Any, Any] | None = None) -> None:
        if not self.trains_when_built:
            return super().check(env, spaces)
        env = suite.get(env)
        self._potential(env)
        self.base.check(env, spaces)
        return None

    def _fields(self) -> dict[str, Any]:
        return {"potential": self.potential, "scale": self.scale, "gamma": self.gamma, "base": self.base.to_dict()}

    @classmethod
    def _from_fields(cls, fields: dict[str, Any], where: str) -> Shaped:
        check_keys(where, fields, set(cls.model_fields))
        if "base" in fields:
            fields = {**fields, "base": from_dict(fields["base"], f"{where}.base")}
        return cls.from_dict(fields, "")  # field paths without the prefix (RewardSpec._from_fields)

    @property
    def label(self) -> str:
        return f"shaped({self.base.label},{self.potential})"


class _ShapedFunction(RewardFunction):
    def __init__(self, spec: Shaped, env: suite.SuiteEnv, base: RewardFunction, phi: Callable[..., Any]) -> None:
        super().__init__(spec, env)
        self.base = base
        self.phi = phi
        self.uses_env_reward = base.uses_env_reward
        self._gamma = spec.gamma
        self._scale = spec.scale

    @property
    def term_names(self) -> tuple[str, ...]:
        return (*self.base.term_names, "shaping")

    def compute(
        self, obs: Array, action: Array, next_obs: Array, done: Array, env_reward: Array | None = None
    ) -> Computed:
        done = np.asarray(done, dtype=bool)
        r, terms = self.base.compute(obs, action, next_obs, done, env_reward)
        phi_s = self._scale * np.asarray(self.phi(obs), dtype=np.float64)
        phi_next = self._scale * np.asarray(self.phi(next_obs), dtype=np.float64)
        shaping = self._gamma * np.where(done, 0.0, phi_next) - phi_s
        return r + shaping, {**terms, "shaping": shaping}

    @property
    def training(self) -> bool:
        return self.base.training

    @training.setter
    def training(self, value: bool) -> None:
        if hasattr(self, "base"):
            self.base.training = value

    def state_dict(self) -> dict[str, Any]:
        return self.base.state_dict()

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.base.load_state_dict(state)


# --- code ---------------------------------------------------------------------------------------


def _function_name(value: Any) -> None:
    if not isinstance(value, str) or value.count(":") != 1:
        raise fail('"package.module:function"', "Name a module and a function.")


def _mapping(value: Any) -> None:
    if not isinstance(value, Mapping):
        raise fail("a table of keyword arguments")


class Code(RewardSpec):
    """A reward written in Python: ``"package.module:function"``.

    The function takes batched ``(obs, action, next_obs, done)`` (see :class:`RewardFn`) and
    returns ``(batch,)`` rewards, or ``(rewards, {term: (batch,)})`` to log a breakdown. It is
    called once on a small batch of sampled transitions when built, so a wrong shape or a NaN
    shows up before training starts. The module is imported, so it runs with your permissions:
    load only code you trust.
    """

    kind = "code"

    def __init__(self, /, *args: Any, **data: Any) -> None:  # fields by position too (RewardSpec.__init__)
        super().__init__(*args, **data)

    function: Annotated[str, Kept(_function_name)] = Field("", validate_default=True)
    """``"package.module:function"``, importable from the current ``sys.path``."""
    kwargs: Annotated[Mapping[str, Any], Kept(_mapping)] = Field(default_factory=dict)
    """Extra keyword arguments passed on every call."""

    def build(self, env: str | suite.SuiteEnv, spaces: tuple[Any, Any] | None = None) -> RewardFunction:
        fn = _CodeFunction(self, suite.get(env), _import_callable("function", self.function))
        if spaces is not None:
            fn.dry_run(*spaces)
        return fn

    def _fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {"function": self.function}
        if self.kwargs:
            out["kwargs"] = dict(self.kwargs)
        return out

    @property
    def label(self) -> str:
        return "code(" + self.function.split(":")[-1] + ")"


class _CodeFunction(RewardFunction):
    def __init__(self, spec: Code, env: suite.SuiteEnv, fn: Callable[..., Any]) -> None:
        super().__init__(spec, env)
        self.fn = fn
        self._kwargs = dict(spec.kwargs)
        self._term_names: tuple[str, ...] = ()

    @property
    def term_names(self) -> tuple[str, ...]:
        return self._term_names

    def compute(
        self, obs: Array, action: Array, next_obs: Array, done: Array, env_reward: Array | None = None
    ) -> Computed:
        target = cast(Code, self.spec).function
        try:
            out = self.fn(obs, action, next_obs, np.asarray(done, dtype=bool), **self._kwargs)
        except Exception as exc:  # the user's code: any error, named with the spec and the function
            if isinstance(exc, RewardLabError):
                raise  # already worded (a NonFiniteRewardError, an error of rewardlab called inside)
            raise SpecError(
                message(
                    "reward.function",
                    "a function that runs on a batch of transitions",
                    target,
                    f"{getattr(self.fn, '__qualname__', target)}() raised {type(exc).__name__}: {exc}. "
                    "Fix the function (its traceback is this error's __cause__).",
                )
            ) from exc
        terms: TermValues = {}
        if isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], Mapping):
            out, terms = out
        try:
            r = np.asarray(out, dtype=np.float64)
            term_values = {str(k): np.asarray(v, dtype=np.float64) for k, v in terms.items()}
        except (TypeError, ValueError) as exc:
            raise SpecError(
                message(
                    f"{target} return value",
                    "numbers: (batch,) rewards, or (rewards, {term: (batch,) values})",
                    type(out).__name__,
                    f"{exc}. Return floats.",
                )
            ) from exc
        batch = len(obs)
        if r.shape != (batch,):
            raise SpecError(
                message(
                    f"{target} return value",
                    f"an array of shape ({batch},), one reward per transition",
                    f"shape {r.shape}",
                    "Return one float per row of the batch (e.g. reduce over the last axis).",
                )
            )
        return r, term_values

    def dry_run(self, observation_space: Any, action_space: Any, batch: int = 8) -> None:
        """Call the function on sampled transitions; raise if the output is malformed or not finite."""
        observation_space.seed(0)
        action_space.seed(0)
        obs = np.stack([observation_space.sample() for _ in range(batch)])
        act = np.stack([np.asarray(action_space.sample()) for _ in range(batch)])
        nxt = np.stack([observation_space.sample() for _ in range(batch)])
        done = np.zeros(batch, dtype=bool)
        r, terms = self.compute(obs, act, nxt, done)
        if not np.all(np.isfinite(r)):
            raise SpecError(
                message(
                    f"{cast(Code, self.spec).function} return value",
                    "finite on sampled transitions",
                    r.tolist(),
                    "Guard divisions and logs in your reward (e.g. np.clip, an epsilon).",
                )
            )
        self._term_names = tuple(terms)


def resolve(value: RewardSpec | Mapping[str, Any] | str | None) -> RewardSpec:
    """Alias of :func:`rewardlab.rewards.parse` kept beside the kinds for the wrappers."""
    return parse(value)
