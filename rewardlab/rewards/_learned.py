"""The reward kinds backed by a torch reward model: ``learned``, ``hierarchical`` and ``rlhf``.

Owns the two specs (data, validated on construction), :class:`Preferences` (the validated
``preferences`` table of ``learned``, a :class:`~rewardlab.config.Config`), :class:`ModelReward`
(the reward function that evaluates a :class:`~rewardlab.rewards.RewardModel` on each batch) and
the declared type
:class:`LearningReward` (a reward whose model keeps learning while the agent trains; the trainer
checks it with ``isinstance``).

``learned`` loads a saved model (safetensors + JSON, never unpickled). Training one, from
synthetic labels (``learned`` with ``preferences``) or from a ranking of the env's reward factors
(``hierarchical``, HERON, Bukharin et al.), is :mod:`rewardlab.preferences`' job: it registers the
builders of both kinds (:func:`~rewardlab.rewards.register_trainer`). ``rlhf``
(:class:`OnlineRLHF`) names the online preference loop as a sweep variant: its model and its
agent learn together, so it is run, not built.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import AfterValidator, BeforeValidator, Field, SkipValidation, model_validator

from rewardlab import suite
from rewardlab.config import Config, Hint, Int, NonNegativeInt, OneOf, PositiveInt, StrictBool, fail
from rewardlab.data import check_policy_file
from rewardlab.errors import SpecError, message, unknown
from rewardlab.rewards._network import FeatureSpec, RewardModel
from rewardlab.rewards._spec import (
    Array,
    Computed,
    Kept,
    Number,
    RewardFunction,
    RewardSpec,
    check_keys,
    check_number,
    trainer,
)

__all__ = ["Hierarchical", "Learned", "LearningReward", "ModelReward", "OnlineRLHF", "Preferences", "factor_values"]


def factor_values(
    env: suite.SuiteEnv, names: Sequence[str], obs: Any, action: Any, next_obs: Any, done: Any
) -> dict[str, np.ndarray]:
    """``{name: (batch,) float64}``: the named reward factors of ``env`` on a batch of transitions."""
    return {name: np.asarray(env.factor(name).fn(obs, action, next_obs, done), dtype=np.float64) for name in names}


def _check_policy(param: str, policy: Any) -> None:
    """A data-collection policy is ``"random"`` or the path of a saved agent that exists."""
    if str(policy) != "random" and not Path(str(policy)).is_file():
        raise SpecError(message(param, '"random" or the path of a saved agent (.zip)', str(policy), "Check the path."))
    if str(policy) != "random":
        check_policy_file(param, policy)  # a spec may come from anyone: only what loads without unpickling


def _cache_key(spec: RewardSpec, env: str) -> str:
    """The key of a model trained from ``spec`` on ``env`` in the per-process cache."""
    text = json.dumps({"env": env, **spec.to_dict()}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class ModelReward(RewardFunction):
    """A reward function that evaluates a :class:`RewardModel` on each batch of transitions.

    Args:
        spec: the spec it was built from.
        env: the suite env.
        model: the reward model.
        scale: multiplier of the model's output.
        term: the name of its one term in logs (``learned``, ``heron``).
        stats: statistics of how the model was trained (labels, accuracy), logged by the trainer.
    """

    saved_with_run = False
    """True when a training run should save the model in its run directory (trained for that run)."""

    def __init__(
        self,
        spec: RewardSpec,
        env: suite.SuiteEnv,
        model: RewardModel,
        scale: float = 1.0,
        term: str = "learned",
        stats: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(spec, env)
        self.model = model
        self.scale = scale
        self.term = term
        self.stats: dict[str, Any] = dict(stats or {})
        self._factor_names = tuple(model.features.factors)

    @property
    def term_names(self) -> tuple[str, ...]:
        return (self.term,)

    def compute(
        self, obs: Array, action: Array, next_obs: Array, done: Array, env_reward: Array | None = None
    ) -> Computed:
        factors = (
            factor_values(self.env, self._factor_names, obs, action, next_obs, np.asarray(done, dtype=bool))
            if self._factor_names
            else None
        )
        r = self.scale * self.model.predict(obs, action, next_obs, factors)
        return r, {self.term: r}

    def save(self, path: str | Path) -> Path:
        """Save the reward model (``rewardlab.rewards.Learned(model=path)`` loads it)."""
        return Path(self.model.save(path))

    def state_dict(self) -> dict[str, Any]:
        # The model itself, by reference: evaluation shares the weights the agent trains on.
        return {"model": self.model}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if "model" in state:
            self.model = state["model"]


class LearningReward(ModelReward):
    """A reward whose model keeps learning while the agent trains (HERON online, RLHF).

    The trainer (:func:`rewardlab.train`) checks for this type: when :attr:`version` changes it
    relabels an off-policy agent's replay buffer if :attr:`relabel` is set, and at the end it saves
    the model in the run directory.
    """

    saved_with_run = True

    def __init__(self, *args: Any, relabel: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.version = 0
        """Incremented at every model update."""
        self.relabel = relabel
        """Rewrite the replay buffer's rewards with the current model after each update."""


# --- list fields ------------------------------------------------------------------------------------


def _sequence(expect: str, fix: str = "", *, non_empty: bool = True) -> BeforeValidator:
    """A list field's own check: a sequence other than a string, non-empty unless told (its items have types)."""

    def check(value: Any) -> Any:
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or (non_empty and not value):
            raise fail(expect, fix)
        return value

    return BeforeValidator(check)


LayerSize = Annotated[int, Int(1, expect="a positive integer", fix="Write layer sizes such as [64, 64].")]
"""A hidden layer size of a reward MLP (numpy integers too, as an int)."""


# --- learned --------------------------------------------------------------------------------------


def _feature_name(value: Any) -> None:  # factor names are checked against the env when the model is built
    if not isinstance(value, str) or not value:
        raise fail("names (obs, action, next_obs or a factor)", 'Write ["obs"].')


def _reward_data(reward: Any) -> Any:
    return reward.to_dict() if isinstance(reward, RewardSpec) else reward


_RATIONAL = "Use 0 for a perfectly rational teacher."


class Preferences(Config):
    """How a ``learned`` spec trains its reward model when built: its ``preferences`` table.

    :class:`Learned` keeps the validated table as a plain dict in field order
    (:meth:`~rewardlab.config.Config.to_dict`), which is what its own ``to_dict`` writes.
    """

    where = "preferences"
    error_class = SpecError

    n_segments: Annotated[PositiveInt, Hint(fix="Use a positive integer for `n_segments`.")] = 400
    """Segments of agent behaviour to collect."""
    length: Annotated[PositiveInt, Hint(fix="Use a positive integer for `length`.")] = 25
    """Steps per segment."""
    policy: Any = "random"
    """Who collects the segments: ``"random"`` or the path of a saved agent (checked by ``check``)."""
    n_pairs: Annotated[PositiveInt, Hint(fix="Use a positive integer for `n_pairs`.")] = 1000
    """Random pairs of segments the synthetic teacher labels."""
    reward: Annotated[Any, BeforeValidator(_reward_data)] = "env"
    """The teacher's reward: ``"env"`` (the ground truth), a reward spec or its dict."""
    temperature: Annotated[int | float, Number(minimum=0.0, minimum_fix="Use 0 for a perfectly rational teacher.")] = (
        1.0
    )
    """Boltzmann temperature of the teacher (0: always prefers the higher return)."""
    features: Annotated[
        list[Annotated[str, Kept(_feature_name)]],
        _sequence("a non-empty list of obs, action, next_obs or factor names", 'Write features = ["obs", "action"].'),
        Hint(at_field=True),
    ] = ["obs", "action"]  # noqa: RUF012 - copied
    """Reward-model inputs: ``obs``, ``action``, ``next_obs`` or factor names of the env."""
    hidden: Annotated[
        list[LayerSize],
        _sequence("a list of layer sizes", "Write layer sizes such as [64, 64].", non_empty=False),
        Hint(at_field=True),
    ] = [64, 64]  # noqa: RUF012 - copied
    """Hidden layer sizes of the reward MLP."""
    ensemble: Annotated[PositiveInt, Hint(fix="Use a positive integer for `ensemble`.")] = 1
    """Reward-model ensemble members."""
    epochs: Annotated[PositiveInt, Hint(fix="Use a positive integer for `epochs`.")] = 50
    """Passes over the labelled pairs."""
    lr: Annotated[int | float, Number(positive=True)] = 1e-3
    """Adam learning rate of the reward model."""
    seed: NonNegativeInt = 0
    """Seeds data collection, labelling and the model."""


_NO_MODEL = "the directory of a saved reward model (or give `preferences` to train one)"
_NO_MODEL_FIX = "Run `rewardlab prefs train`, or add preferences = {n_pairs = 1000}."


def _model_dir(value: Any) -> None:
    if not isinstance(value, (str, Path)):
        raise fail(_NO_MODEL, _NO_MODEL_FIX)


def _training_settings(value: Any) -> Any:
    """The ``preferences`` table, validated by :class:`Preferences` and kept as its dict (field order)."""
    if value is None:
        return None
    if isinstance(value, Preferences):
        return value.to_dict()
    if not isinstance(value, Mapping):
        raise fail("a table of training settings", "Write preferences = {}.")
    return Preferences.from_dict(value).to_dict()  # its errors name `preferences.<key>`


class Learned(RewardSpec):
    """A reward model trained from pairwise preferences (Christiano et al. 2017).

    Either ``model`` names a directory saved by :meth:`rewardlab.preferences.RewardModel.save`
    (``rewardlab prefs train``, ``rewardlab rlhf``), or ``preferences`` says how to train one
    when the spec is built: ``n_segments`` segments of ``length`` steps from ``policy``,
    ``n_pairs`` random pairs labelled by a Boltzmann-rational synthetic teacher on ``reward``
    (``"env"``: the ground truth) with ``temperature``, and a Bradley-Terry model trained on them
    (cached per process, so a sweep worker trains it once). The reward of a transition is
    ``scale`` times the model's prediction (ensemble mean, standardised over the training data:
    learned rewards have an arbitrary scale). Inference is batched: the vector wrapper calls the
    model once per step for all sub-envs.

    Example:
        >>> import rewardlab as rl
        >>> rl.rewards.from_dict({"kind": "learned", "model": "runs/prefs/model"}).to_dict()
        {'kind': 'learned', 'model': 'runs/prefs/model', 'scale': 1.0}
    """

    kind = "learned"

    def __init__(self, /, *args: Any, **data: Any) -> None:  # fields by position too (RewardSpec.__init__)
        super().__init__(*args, **data)

    model: Annotated[str, Kept(_model_dir)] = ""
    """Directory written by :meth:`rewardlab.preferences.RewardModel.save` (``model.json`` +
    ``model.safetensors``); empty when ``preferences`` is given."""
    scale: Annotated[float, Kept(Number(positive=True, fix="Use a positive multiplier such as 1.0."))] = 1.0
    """Multiplier of the model's output."""
    preferences: Annotated[dict[str, Any] | None, BeforeValidator(_training_settings)] = None
    """Train the model when built instead of loading it: any of ``n_segments`` (400), ``length``
    (25), ``policy`` ("random"), ``n_pairs`` (1000), ``reward`` ("env"), ``temperature`` (1.0),
    ``features`` (["obs", "action"]; also next_obs and factor names), ``hidden`` ([64, 64]),
    ``ensemble`` (1), ``epochs`` (50), ``lr`` (1e-3), ``seed`` (0)."""

    @model_validator(mode="after")
    def _model_or_preferences(self) -> Learned:
        if self.preferences is not None and self.model:
            raise SpecError(message("model", "empty when `preferences` is given", self.model, "Give one of them."))
        if self.preferences is None and not str(self.model):
            raise SpecError(message("model", _NO_MODEL, self.model, _NO_MODEL_FIX))
        object.__setattr__(self, "model", str(self.model))  # a Path given
        return self

    def build(self, env: str | suite.SuiteEnv, spaces: tuple[Any, Any] | None = None) -> RewardFunction:
        env = suite.get(env)
        if self.preferences is not None:
            return trainer(self.kind)(self, env)
        model = RewardModel.load(self.model)
        if model.env and model.env != env.name:
            raise SpecError(
                message("model", f"a reward model of {env.name!r}", f"{self.model} (trained on {model.env!r})")
            )
        return ModelReward(self, env, model, float(self.scale), "learned")

    @property
    def trains_when_built(self) -> bool:
        return self.preferences is not None

    def check(self, env: str | suite.SuiteEnv, spaces: tuple[Any, Any] | None = None) -> None:
        if self.preferences is None:
            return super().check(env, spaces)  # loads the saved model: cheap, and checks its env
        env = suite.get(env)
        FeatureSpec.coerce(self.preferences["features"], "preferences.features").check_factors(
            env, "preferences.features"
        )
        _check_policy("preferences.policy", self.preferences["policy"])
        return None

    def _fields(self) -> dict[str, Any]:
        if self.preferences is not None:
            return {"preferences": dict(self.preferences), "scale": self.scale}
        return {"model": self.model, "scale": self.scale}

    @classmethod
    def _from_fields(cls, fields: dict[str, Any], where: str) -> Learned:
        check_keys(where, fields, set(cls.model_fields))
        if "model" not in fields and "preferences" not in fields:
            raise SpecError(
                message(f"{where}.model", "present (or `preferences`)", None, 'Add model = "path/to/reward_model".')
            )
        try:
            return cls.from_dict(fields, "")  # field paths without the prefix (RewardSpec._from_fields)
        except SpecError as exc:
            raise SpecError(f"{where}: {exc}") from None

    def cache_key(self, env: str) -> str:
        """A hash of everything that determines the trained model."""
        return _cache_key(self, env)

    @property
    def label(self) -> str:
        if self.preferences is not None:
            return f"learned({self.preferences['n_pairs']}pairs)"
        return f"learned({Path(self.model).name})"


# --- hierarchical ---------------------------------------------------------------------------------

_MODES = ("offline", "online")
_MARGIN_TYPES = ("std", "absolute")
_MARGIN_STATS = ("buffer", "batch")
_TIES = ("drop", "equal")
_UNITS = ("transition", "segment")
_FEATURES = ("obs", "action", "next_obs", "factors")


def _positive(name: str, fix: str = "") -> Int:
    """The check of a positive-integer field ``name`` (numpy integers too; kept as given)."""
    return Int(1, expect="a positive integer", fix=fix or f"Use a positive integer for `{name}`.")


def _batch_size(value: Any) -> None:
    if _positive("batch_size", "Use 16 (HERON) or more.")(value) < 2:
        raise fail("at least 2 (pairs are drawn inside a batch)")


def _seed(value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:  # a Python int: numpy's are refused
        raise fail("a non-negative integer")


def _policy(value: Any) -> None:
    if not isinstance(value, (str, Path)):
        raise fail('"random" or a model.zip path')


def _factor_text(value: Any) -> None:
    if not isinstance(value, str):
        raise fail("factor names (strings)")


def _distinct(names: tuple[str, ...]) -> tuple[str, ...]:
    twice = next((name for i, name in enumerate(names) if name in names[:i]), None)
    if twice is not None:
        raise fail("without duplicates", f"List {twice!r} once.", value=list(names))
    return names


def _directions(value: Any) -> None:
    if not isinstance(value, Mapping) or not all(isinstance(v, bool) for v in value.values()):
        raise fail("a table factor = true/false")


def _margin(value: Any) -> None:
    """One number for all factors, or factor -> number; each >= 0 (the factors are checked against the ranking)."""
    for name, v in value.items() if isinstance(value, Mapping) else [(None, value)]:
        if check_number("margin" if name is None else f"margin.{name}", v) < 0:  # names the entry (fail cannot)
            raise fail("non-negative", "Use 0 for a strict comparison.", value=v)


TrueOrFalse = Annotated[StrictBool, Hint(expect="true or false")]


class Hierarchical(RewardSpec):
    """HERON: a reward model trained on labels from a ranking of the env's reward factors.

    Two samples are compared factor by factor, most important first: with ``sign = +1`` for
    higher-is-better factors and ``-1`` for costs, ``a`` wins at level ``k`` when
    ``sign·a_k > sign·b_k + δ_k``, ``b`` wins in the reverse case, and otherwise the next factor
    decides. Pairs tied at every level are dropped (``ties = "drop"``, as HERON) or labelled 0.5
    (``"equal"``). ``δ_k`` is ``margin`` times the factor's standard deviation (``margin_type =
    "std"``, over all data so far or over each minibatch, ``margin_stat``) or an absolute value.

    ``mode = "offline"`` collects ``n_samples`` samples with ``policy`` when built, labels all
    pairs inside ``n_batches`` minibatches of ``batch_size`` samples and trains the model for
    ``epochs``; the agent then trains on the fixed model. ``mode = "online"`` follows HERON's
    code: the model starts untrained, and every ``update_every`` env steps after ``warmup`` it
    takes one Adam step per minibatch of the agent's own transitions. Rewards are computed when a
    transition is collected; ``relabel = true`` also rewrites an off-policy agent's replay-buffer
    rewards with the current model after each update (HERON does not; it makes the rewards the
    critic learns from consistent with the latest model).

    Per-level statistics (fraction of pairs decided by each factor, fraction tied) are kept in
    :attr:`stats` of the built function and logged by ``rewardlab train``.

    Example:
        >>> import rewardlab as rl
        >>> spec = rl.rewards.Hierarchical(ranking=("angle_cost", "velocity_cost", "torque_cost"))
        >>> spec.margin, spec.margin_type, spec.ties, spec.mode
        (1.0, 'std', 'drop', 'offline')
    """

    kind = "hierarchical"

    def __init__(self, /, *args: Any, **data: Any) -> None:  # fields by position too (RewardSpec.__init__)
        super().__init__(*args, **data)

    ranking: Annotated[
        tuple[Annotated[str, Kept(_factor_text)], ...],
        _sequence("a non-empty list of factor names", 'Write ["angle_cost", "torque_cost"].'),
        AfterValidator(_distinct),
        Hint(at_field=True),
    ] = Field((), validate_default=True)
    """Factor names, most important first (a subset of the env's factors, no duplicates)."""
    higher_is_better: Annotated[Mapping[str, bool], Kept(_directions)] = Field(default_factory=dict)
    """Direction per factor; factors left out take the suite's direction."""
    margin: Annotated[float | Mapping[str, float], Kept(_margin)] = 1.0
    """δ per factor (one number for all, or factor -> number): a multiple of the std, or absolute."""
    margin_type: Annotated[SkipValidation[str], OneOf(_MARGIN_TYPES, "a margin type")] = "std"
    """``"std"`` (δ_k = margin_k · std(z_k), HERON) or ``"absolute"`` (δ_k = margin_k)."""
    margin_stat: Annotated[SkipValidation[str], OneOf(_MARGIN_STATS, "a margin statistic")] = "buffer"
    """Where the std comes from: ``"buffer"`` (all data so far) or ``"batch"`` (each minibatch)."""
    ties: Annotated[SkipValidation[str], OneOf(_TIES, "a tie policy")] = "drop"
    """``"drop"`` pairs tied at every level (HERON) or label them ``"equal"`` (0.5)."""
    unit: Annotated[SkipValidation[str], OneOf(_UNITS, "a comparison unit")] = "transition"
    """Compare single ``"transition"``s (HERON's code) or ``"segment"``s on summed factors."""
    segment_length: Annotated[int, Kept(_positive("segment_length"))] = 25
    """Steps per segment when ``unit = "segment"`` (offline mode only)."""
    features: Annotated[
        tuple[Annotated[str, Kept(OneOf(_FEATURES, "a reward-model input"))], ...],
        _sequence(f"a non-empty list among {list(_FEATURES)}"),
        Hint(at_field=True),
    ] = ("obs", "action", "factors")
    """Reward-model inputs among ``obs``, ``action``, ``next_obs``, ``factors`` (HERON: obs + factors)."""
    mode: Annotated[SkipValidation[str], OneOf(_MODES, "a training mode")] = "offline"
    """``"offline"`` (train the model, then the agent) or ``"online"`` (update it while the agent trains)."""
    policy: Annotated[str, Kept(_policy)] = "random"
    """Offline data: ``"random"`` or the path of a trained agent's ``agent.zip``."""
    n_samples: Annotated[int, Kept(_positive("n_samples"))] = 5000
    """Offline data: samples (transitions or segments) to collect."""
    n_batches: Annotated[int | None, Kept(_positive("n_batches"), optional=True)] = None
    """Minibatches of samples to pair: offline in total (default 400), online per model update
    (default 16, as HERON)."""
    batch_size: Annotated[int, Kept(_batch_size)] = 16
    """Samples per minibatch; every pair inside a minibatch is compared (HERON: 16 -> 120 pairs)."""
    warmup: Annotated[int, Kept(_positive("warmup"))] = 1000
    """Online: env steps before the first model update."""
    update_every: Annotated[int, Kept(_positive("update_every"))] = 400
    """Online: env steps between model updates (HERON: 400)."""
    relabel: TrueOrFalse = False
    """Online: rewrite the replay buffer's rewards with the current model after each update."""
    hidden: Annotated[
        tuple[LayerSize, ...],
        _sequence("a list of layer sizes", "Write [64, 64].", non_empty=False),
        Hint(at_field=True),
    ] = (64, 64)
    """Hidden layer sizes of the reward MLP (HERON: 256, 256)."""
    ensemble: Annotated[int, Kept(_positive("ensemble"))] = 1
    """Reward-model ensemble members."""
    lr: Annotated[float, Kept(Number(positive=True, fix="Use e.g. 1e-3."))] = 1e-3
    """Adam learning rate of the reward model."""
    epochs: Annotated[int, Kept(_positive("epochs"))] = 30
    """Offline: passes over the labelled pairs (early stopping on a 10% validation split)."""
    normalize_output: TrueOrFalse = True
    """Offline: standardise the learned reward over the collected data (mean 0, std 1)."""
    seed: Annotated[int, Kept(_seed)] = 0
    """Seeds data collection, pairing and the model (the agent's seed is separate)."""

    @model_validator(mode="after")
    def _across_fields(self) -> Hierarchical:
        margins = self.margin if isinstance(self.margin, Mapping) else {}
        for field, names in (("higher_is_better", self.higher_is_better), ("margin", margins)):
            for name in names:
                if name not in self.ranking:
                    raise unknown(field, name, list(self.ranking), "a factor of the ranking")
        if self.mode == "online" and self.unit != "transition":
            raise SpecError(
                message(
                    "unit", '"transition" in online mode', self.unit, 'Use unit = "transition" or mode = "offline".'
                )
            )
        if self.n_batches is None:
            object.__setattr__(self, "n_batches", 16 if self.mode == "online" else 400)
        return self

    # --- helpers -----------------------------------------------------------------------------------

    def margins(self) -> dict[str, float]:
        """``margin`` as a dict over the ranking."""
        if isinstance(self.margin, Mapping):
            return {name: float(self.margin.get(name, 0.0)) for name in self.ranking}
        return dict.fromkeys(self.ranking, float(self.margin))

    def directions(self, env: suite.SuiteEnv) -> dict[str, bool]:
        """Higher-is-better per ranked factor: the spec's, else the suite's."""
        return {name: self.higher_is_better.get(name, env.factor(name).higher_is_better) for name in self.ranking}

    def check_env(self, env: suite.SuiteEnv) -> None:
        """Raise :class:`SpecError` when a ranked factor is not a factor of ``env``."""
        for name in self.ranking:
            if name not in env.factor_names:
                raise unknown("ranking", name, env.factor_names, f"a factor of {env.name!r}")

    def build(self, env: str | suite.SuiteEnv, spaces: tuple[Any, Any] | None = None) -> RewardFunction:
        env = suite.get(env)
        self.check_env(env)
        return trainer(self.kind)(self, env)

    @property
    def trains_when_built(self) -> bool:
        return self.mode == "offline"

    def check(self, env: str | suite.SuiteEnv, spaces: tuple[Any, Any] | None = None) -> None:
        if not self.trains_when_built:
            return super().check(env, spaces)  # online: builds an untrained model, nothing more
        self.check_env(suite.get(env))
        _check_policy("policy", self.policy)
        return None

    def _fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ranking": list(self.ranking)}
        if self.higher_is_better:
            out["higher_is_better"] = dict(self.higher_is_better)
        out["margin"] = dict(self.margin) if isinstance(self.margin, Mapping) else self.margin
        for name in ("margin_type", "margin_stat", "ties", "unit", "segment_length"):
            out[name] = getattr(self, name)
        out["features"] = list(self.features)
        out["mode"] = self.mode
        out["policy"] = str(self.policy)
        for name in ("n_samples", "n_batches", "batch_size", "warmup", "update_every", "relabel"):
            out[name] = getattr(self, name)
        out["hidden"] = list(self.hidden)
        for name in ("ensemble", "lr", "epochs", "normalize_output", "seed"):
            out[name] = getattr(self, name)
        return out

    @classmethod
    def _from_fields(cls, fields: dict[str, Any], where: str) -> Hierarchical:
        check_keys(where, fields, set(cls.model_fields))
        if "ranking" not in fields:
            raise SpecError(
                message(f"{where}.ranking", "present", None, 'Add ranking = ["most_important", "next", ...].')
            )
        lists = {  # as tuples, which the field types make them anyway: the messages show them as they always did
            k: tuple(v) for k, v in fields.items() if k in ("ranking", "features", "hidden") and isinstance(v, list)
        }
        try:
            return cls.from_dict({**fields, **lists}, "")  # field paths without the prefix (RewardSpec._from_fields)
        except SpecError as exc:
            raise SpecError(f"{where}: {exc}") from None

    def cache_key(self, env: str) -> str:
        """A hash of everything that determines the trained model (offline mode)."""
        return _cache_key(self, env)

    @property
    def label(self) -> str:
        return "heron(" + ">".join(self.ranking) + ")"


class OnlineRLHF(RewardSpec):
    """A reward learned from preferences *while* its agent trains (Christiano et al., 2017): ``kind = "rlhf"``.

    Unlike the other kinds it is not a function to build before training: the online loop
    (:func:`rewardlab.preferences.run_rlhf`) queries labels on the current agent's segments, updates
    the reward model and trains the agent in stages. So this kind is what a sweep variant says to
    run that loop (``[variants.<name>] kind = "rlhf"``, the loop's settings as its other keys:
    ``label_budget``, ``n_iterations``, ``oracle``, ``query``, ``features``, ...); the sweep checks
    them against :class:`~rewardlab.preferences.RLHFConfig` before any trial. :meth:`build` refuses.
    """

    kind = "rlhf"

    settings: Annotated[dict[str, Any], Hint(expect="a table of the online loop's settings")] = Field(
        default_factory=dict
    )
    """The loop's settings (:class:`~rewardlab.preferences.RLHFConfig` fields), as written."""

    def build(self, env: str | suite.SuiteEnv, spaces: tuple[Any, Any] | None = None) -> RewardFunction:
        raise SpecError(
            message(
                "reward.kind",
                "a reward that exists before training",
                "rlhf",
                "An rlhf reward learns while its agent trains: run it with `rewardlab rlhf` or as a sweep variant.",
            )
        )

    def check(self, env: str | suite.SuiteEnv, spaces: tuple[Any, Any] | None = None) -> None:
        return None  # the sweep checks the settings with RLHFConfig (a layer above this one)

    def _fields(self) -> dict[str, Any]:
        return dict(self.settings)

    @classmethod
    def _from_fields(cls, fields: dict[str, Any], where: str) -> OnlineRLHF:
        return cls(settings=dict(fields))

    @property
    def label(self) -> str:
        return f"rlhf({self.settings.get('label_budget', '?')}labels)"
