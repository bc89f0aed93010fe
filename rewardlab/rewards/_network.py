"""The reward network: :class:`RewardModel` (an ensemble of MLPs over :class:`FeatureSpec` features),
its persistence, and the :class:`TrainReport` saved with it.

A :class:`RewardModel` is an ensemble of ``E`` MLPs ``r_e(x)`` over per-transition features
``x`` (the observation, the one-hot or flattened action, optionally the next observation and
named reward factors; :class:`FeatureSpec`). A segment's predicted return is the sum of ``r_e``
over its real (unmasked) steps (:meth:`RewardModel.feature_returns`). Training it from
preferences is :func:`rewardlab.preferences.train_reward_model` (a higher layer).

The ensemble is one module with batched weights ``(E, in, out)`` (one ``bmm`` per layer for all
members). Inputs are standardised with the mean/std of the training features (fitted once, kept
across warm starts); outputs can be standardised to mean 0, std 1 on given segments
(:meth:`RewardModel.fit_output_normalization`), since a learned reward has an arbitrary offset
and scale. Inference in the reward wrappers runs a numpy copy of the weights (faster than torch
for the batch of ``n_envs`` transitions per step; ``benchmarks/bench_reward_model.py``).

A model is saved as a directory with ``model.safetensors`` (weights and normalisation tensors)
and ``model.json`` (architecture, features, spaces, statistics, training report); loading never
unpickles anything.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import torch
from gymnasium import spaces
from pydantic import Field
from safetensors import safe_open
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from torch import nn
from torch.nn import functional as F  # torch's own idiom

from rewardlab import suite
from rewardlab.config import Config, Hint, NonNegativeInt, OneOf, PositiveInt, Record, StrictBool
from rewardlab.data import Segments
from rewardlab.errors import ConfigError, message, suggest, unknown
from rewardlab.runs import write_atomic, write_json

__all__ = ["MODEL_FORMAT_VERSION", "FeatureSpec", "RewardModel", "TrainReport", "check_bool"]

MODEL_FORMAT_VERSION = 1
"""Version of the on-disk format written by :meth:`RewardModel.save`."""

WEIGHTS = "model.safetensors"
DESCRIPTION = "model.json"

_STD_FLOOR = 1e-6
"""Features (or outputs) with a smaller std are only centred: dividing would blow up noise."""


# --- activations (torch for training, numpy for inference; the same functions) -----------------


def _np_relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


def _np_leaky_relu(x: np.ndarray) -> np.ndarray:
    return np.where(x >= 0.0, x, 0.01 * x)


def _np_elu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0.0, x, np.expm1(np.minimum(x, 0.0)))


def _np_silu(x: np.ndarray) -> np.ndarray:
    return x / (1.0 + np.exp(-x))


_ACTIVATIONS: dict[str, tuple[Any, Any]] = {
    "relu": (F.relu, _np_relu),
    "tanh": (torch.tanh, np.tanh),
    "leaky_relu": (F.leaky_relu, _np_leaky_relu),  # slope 0.01, torch's default
    "elu": (F.elu, _np_elu),
    "silu": (F.silu, _np_silu),
}


# --- features ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeatureSpec(Record):
    """Which parts of a transition the reward model sees.

    Example:
        >>> FeatureSpec(action=False, next_obs=True)
        FeatureSpec(obs=True, action=False, next_obs=True, factors=())
    """

    obs: bool = True
    """The observation before the step (the full one, hidden dims included, as in :class:`Segments`)."""
    action: bool = True
    """The action: one-hot for discrete spaces, flattened otherwise."""
    next_obs: bool = False
    """The observation after the step."""
    factors: tuple[str, ...] = ()
    """Named reward factors of the suite env as extra inputs (HERON feeds them); checked against
    the env when the model is built."""

    def __post_init__(self) -> None:
        for name in ("obs", "action", "next_obs"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ConfigError(message(f"features.{name}", "a bool", getattr(self, name)))
        factors = self.factors
        if isinstance(factors, str) or not isinstance(factors, Sequence):
            raise ConfigError(
                message("features.factors", "a tuple of factor names", factors, 'Pass factors=("angle_cost",).')
            )
        if not all(isinstance(f, str) for f in factors):
            raise ConfigError(message("features.factors", "a tuple of factor names (str)", factors))
        if len(set(factors)) != len(factors):
            raise ConfigError(message("features.factors", "names without duplicates", factors))
        object.__setattr__(self, "factors", tuple(factors))
        if not (self.obs or self.action or self.next_obs or self.factors):
            raise ConfigError(
                message("features", "at least one input", self, "Enable obs, action or next_obs, or name factors.")
            )

    def check_factors(self, env: Any, param: str = "features.factors") -> None:
        """Raise unless every named factor is a reward factor of suite env ``env``."""
        names = suite.get(env).factor_names
        for name in self.factors:
            if name not in names:
                raise unknown(param, name, names, f"a reward factor of {suite.get(env).name!r}")

    @classmethod
    def coerce(cls, value: Any, param: str = "features") -> FeatureSpec:
        """A :class:`FeatureSpec` from itself, a mapping of its fields, or input names.

        Names are ``obs``, ``action``, ``next_obs`` and factor names, as a list or one
        comma-separated string; the inputs not named are off.

        Example:
            >>> FeatureSpec.coerce("next_obs")
            FeatureSpec(obs=False, action=False, next_obs=True, factors=())
            >>> FeatureSpec.coerce({"action": False}).obs
            True
        """
        if isinstance(value, FeatureSpec):
            return value
        if isinstance(value, Mapping):
            allowed = {"obs", "action", "next_obs", "factors"}
            bad = [k for k in value if k not in allowed]
            if bad:
                raise unknown(param, str(bad[0]), sorted(allowed), "a FeatureSpec field as a key")
            return cls(**value)
        names = value.split(",") if isinstance(value, str) else value
        if not isinstance(names, Sequence) or not all(isinstance(n, str) for n in names):
            raise ConfigError(
                message(param, "a FeatureSpec, a dict of its fields or input names", value, 'Pass "obs,action".')
            )
        names = [n.strip() for n in names if n.strip()]
        flags = {"obs", "action", "next_obs"}
        return cls(
            obs="obs" in names,
            action="action" in names,
            next_obs="next_obs" in names,
            factors=tuple(n for n in names if n not in flags),
        )


def _describe_space(space: Any, param: str) -> dict[str, Any]:
    """JSON-ready description of a Box or Discrete space (non-finite bounds as strings)."""
    if isinstance(space, spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, spaces.Box):

        def bound(a: np.ndarray) -> list[Any]:
            return [float(v) if math.isfinite(v) else str(float(v)) for v in np.asarray(a, np.float64).reshape(-1)]

        return {
            "type": "Box",
            "shape": [int(d) for d in space.shape],
            "dtype": str(space.dtype),
            "low": bound(space.low),
            "high": bound(space.high),
        }
    raise ConfigError(
        message(param, "a gymnasium Box or Discrete space", type(space).__name__, "Reward models need flat spaces.")
    )


def _build_space(desc: Any, param: str) -> Any:
    try:
        if desc["type"] == "Discrete":
            return spaces.Discrete(int(desc["n"]), start=int(desc.get("start", 0)))
        if desc["type"] == "Box":
            shape = tuple(int(d) for d in desc["shape"])
            dtype = np.dtype(desc["dtype"])
            low = np.array([float(v) for v in desc["low"]], dtype=dtype).reshape(shape)
            high = np.array([float(v) for v in desc["high"]], dtype=dtype).reshape(shape)
            return spaces.Box(low, high, shape=shape, dtype=dtype)
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(message(param, "a Box or Discrete description", desc, str(exc))) from exc
    raise ConfigError(message(param, "a Box or Discrete description", desc, "The model.json is corrupt."))


def _space_width(space: Any) -> int:
    if isinstance(space, spaces.Discrete):
        return int(space.n)
    return int(np.prod(space.shape, dtype=np.int64))


def _n_features(obs_space: Any, action_space: Any, features: FeatureSpec) -> int:
    """The input width: ``[obs, action, next_obs, factors]`` (a discrete action one-hot)."""
    obs_width, act_width = _space_width(obs_space), _space_width(action_space)
    return (
        obs_width * (int(features.obs) + int(features.next_obs))
        + act_width * int(features.action)
        + len(features.factors)
    )


# --- model.json, checked before anything is allocated --------------------------------------------


class _Architecture(Config):
    """``model.json``'s ``architecture``: the sizes the tensors are allocated with."""

    n_features: PositiveInt | None = None
    """Input width (derived from the spaces and features; checked against them)."""
    hidden: Annotated[tuple[PositiveInt, ...], Hint(expect="a list of positive layer sizes")]
    """Hidden layer sizes."""
    ensemble: PositiveInt
    """Members."""
    activation: Annotated[str, OneOf(tuple(_ACTIVATIONS), "an activation name")]
    """Hidden activation."""
    seed: NonNegativeInt = 0
    """Seed of the initial weights."""


class _Features(Config):
    """``model.json``'s ``features`` (:class:`FeatureSpec`'s fields)."""

    obs: StrictBool = True
    """The observation before the step."""
    action: StrictBool = True
    """The action."""
    next_obs: StrictBool = False
    """The observation after the step."""
    factors: tuple[str, ...] = ()
    """Named reward factors."""


class _Space(Config):
    """A space description (``_describe_space``); the values are checked when the space is built."""

    type: Annotated[str, OneOf(("Box", "Discrete"), "a space type")]
    """``Box`` or ``Discrete``."""
    n: Any = None
    """Discrete: the number of actions."""
    start: Any = None
    """Discrete: the first action."""
    shape: Any = None
    """Box: the shape."""
    dtype: Any = None
    """Box: the dtype."""
    low: Any = None
    """Box: the lower bounds, flattened."""
    high: Any = None
    """Box: the upper bounds, flattened."""


class _Normalization(Config):
    """``model.json``'s ``normalization`` (the tensors themselves are in the weights file)."""

    input_fitted: StrictBool = True
    """Whether the input standardisation was fitted."""
    input_mean: Any = None
    """A copy of the ``input_mean`` tensor."""
    input_std: Any = None
    """A copy of the ``input_std`` tensor."""
    output_fitted: StrictBool = False
    """Whether the output standardisation was fitted."""
    output_mean: Any = None
    """A copy of ``output_mean``."""
    output_std: Any = None
    """A copy of ``output_std``."""


class _Description(Config):
    """``model.json``, as :meth:`RewardModel.describe` writes it: unknown keys are refused."""

    format: str = "rewardlab.reward_model"
    """The format's name."""
    format_version: int
    """The format's version (:data:`MODEL_FORMAT_VERSION`)."""
    env: str = ""
    """The suite env name."""
    architecture: _Architecture
    """Layer sizes, members, activation, seed."""
    features: _Features
    """What the model sees."""
    observation_space: _Space
    """The raw env's observation space."""
    action_space: _Space
    """The env's action space."""
    normalization: _Normalization = Field(default_factory=_Normalization)
    """Whether the standardisations were fitted."""
    training: dict[str, Any] | None = None
    """The :class:`TrainReport` of the last training call."""


def _header_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """The tensor shapes in a safetensors file, from its header (no tensor is read)."""
    try:
        with safe_open(str(path), framework="pt") as f:
            return {key: tuple(int(d) for d in f.get_slice(key).get_shape()) for key in f.keys()}
    except Exception as exc:  # safetensors raises its own error types (and OSError/ValueError variants)
        raise ConfigError(
            message(str(path), "a safetensors file", type(exc).__name__, f"{exc}. Re-save the model.")
        ) from exc


def _expected_shapes(n_features: int, hidden: tuple[int, ...], ensemble: int) -> dict[str, tuple[int, ...]]:
    """The shapes of :class:`EnsembleMLP`'s ``state_dict`` for these sizes (nothing is allocated)."""
    shapes: dict[str, tuple[int, ...]] = {}
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise((n_features, *hidden, 1))):
        shapes[f"weights.{i}"] = (ensemble, fan_in, fan_out)
        shapes[f"biases.{i}"] = (ensemble, fan_out)
    shapes.update(input_mean=(n_features,), input_std=(n_features,), output_mean=(1,), output_std=(1,))
    return shapes


def _check_sizes(
    header: Mapping[str, tuple[int, ...]], n_features: int, hidden: tuple[int, ...], ensemble: int
) -> None:
    """Raise unless the sizes declared in ``model.json`` are those of the tensors in the weights file.

    Runs before the model is built, so a doctored ``model.json`` (``hidden = [600000, 2000]``)
    is refused instead of allocating its tensors; the tensors the model then allocates are the
    size of the file's.
    """
    fix = f"The weights and {DESCRIPTION} disagree; re-save the model."
    layers = sorted(
        (int(k.split(".")[1]), shape) for k, shape in header.items() if k.startswith("weights.") and len(shape) == 3
    )
    if layers and [i for i, _ in layers] == list(range(len(layers))):
        members, width = layers[0][1][0], layers[0][1][1]
        if members != ensemble:
            raise ConfigError(
                message("architecture.ensemble", f"{members}, the members of the tensors in {WEIGHTS}", ensemble, fix)
            )
        sizes = [shape[2] for _, shape in layers[:-1]]
        if tuple(sizes) != tuple(hidden):
            raise ConfigError(
                message(
                    "architecture.hidden",
                    f"{sizes}, the layer sizes of the tensor shapes in {WEIGHTS}",
                    list(hidden),
                    fix,
                )
            )
        if width != n_features:
            raise ConfigError(
                message(
                    "observation_space/action_space/features",
                    f"inputs of width {width}, as the tensor shapes in {WEIGHTS} say",
                    f"width {n_features}",
                    fix,
                )
            )
    expected = _expected_shapes(n_features, hidden, ensemble)
    if sorted(header) != sorted(expected):
        raise ConfigError(message(WEIGHTS, f"tensors {sorted(expected)}", sorted(header), fix))
    for key, shape in expected.items():
        if header[key] != shape:
            raise ConfigError(
                message(
                    f"{WEIGHTS}[{key!r}]", f"of shape {shape} per the architecture in {DESCRIPTION}", header[key], fix
                )
            )


def _train_report(data: Mapping[str, Any]) -> TrainReport:
    """``model.json``'s ``training``: the :class:`TrainReport`, its keys checked."""
    names = [f.name for f in dataclasses.fields(TrainReport)]
    for key in data:
        if key not in names:
            raise ConfigError(message(f"training.{key}", "a known field", key, suggest(str(key), names)))
    for f in dataclasses.fields(TrainReport):
        if f.name not in data and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(message(f"training.{f.name}", "present", None, "Re-save the model."))
    return TrainReport(**data)


# --- the ensemble module -------------------------------------------------------------------------


class EnsembleMLP(nn.Module):
    """``E`` MLPs with batched weights: layer ``l`` holds ``weight (E, in, out)``, ``bias (E, out)``.

    The input standardisation (``input_mean``, ``input_std``, ``(F,)``) and the output one
    (``output_mean``, ``output_std``, ``(1,)``) are buffers, so that ``state_dict`` is the whole model.
    """

    input_mean: torch.Tensor
    input_std: torch.Tensor
    output_mean: torch.Tensor
    output_std: torch.Tensor

    def __init__(self, n_features: int, hidden: tuple[int, ...], ensemble: int, activation: str, seed: int) -> None:
        super().__init__()
        self.activation = activation
        self._act = _ACTIVATIONS[activation][0]
        sizes = (n_features, *hidden, 1)
        g = torch.Generator().manual_seed(int(seed))
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for fan_in, fan_out in itertools.pairwise(sizes):
            # nn.Linear's default init (uniform in +-1/sqrt(fan_in)), drawn per member from one seeded generator
            bound = 1.0 / math.sqrt(fan_in)
            self.weights.append(
                nn.Parameter(torch.empty(ensemble, fan_in, fan_out).uniform_(-bound, bound, generator=g))
            )
            self.biases.append(nn.Parameter(torch.empty(ensemble, fan_out).uniform_(-bound, bound, generator=g)))
        self.register_buffer("input_mean", torch.zeros(n_features))
        self.register_buffer("input_std", torch.ones(n_features))
        self.register_buffer("output_mean", torch.zeros(1))
        self.register_buffer("output_std", torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Raw member rewards (input standardisation applied, output standardisation not).

        Args:
            x: ``(N, F)`` features shared by all members, or ``(E, N, F)`` one batch per member.

        Returns:
            ``(E, N)`` rewards.
        """
        h = (x - self.input_mean) / self.input_std
        n_layers = len(self.weights)
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = torch.matmul(h, w) + b.unsqueeze(1)  # (N, in) @ (E, in, out) broadcasts to (E, N, out)
            if i < n_layers - 1:
                h = self._act(h)
        return h.squeeze(-1)


def check_bool(param: str, value: Any) -> bool:
    """``value`` as a bool, or a :class:`ConfigError` naming ``param``."""
    if not isinstance(value, (bool, np.bool_)):
        raise ConfigError(message(param, "a bool", value))
    return bool(value)


class RewardModel:
    """An ensemble of ``E`` MLPs ``r_e(features) -> scalar`` reward per transition.

    Args:
        obs_space: the raw env's observation space (a ``Box``; hidden dims included).
        action_space: the env's action space (``Box`` or ``Discrete``; discrete actions are one-hot).
        features: what the model sees (:class:`FeatureSpec`).
        hidden: hidden layer sizes (``()`` = a linear model).
        ensemble: number of members ``E >= 1`` (``>= 2`` for disagreement-based querying).
        activation: ``"relu"``, ``"tanh"``, ``"leaky_relu"``, ``"elu"`` or ``"silu"``.
        seed: seeds the members' initial weights (one generator, members drawn in turn).
        env: the suite env name (checked against datasets; factor names are checked against it).

    Raises:
        ConfigError: an unsupported space, bad ``hidden``, ``ensemble``, ``seed`` or
            ``activation`` (the message suggests the closest), or factors unknown to ``env``.

    Example:
        >>> model = RewardModel.for_env("cartpole", hidden=(16,), ensemble=2)
        >>> model.n_features, model.predict_members(np.zeros((3, 4)), np.array([0, 1, 1]), None).shape
        (6, (2, 3))
    """

    def __init__(
        self,
        obs_space: Any,
        action_space: Any,
        features: FeatureSpec = FeatureSpec(),  # frozen dataclass, safe as a default
        hidden: Sequence[int] = (64, 64),
        ensemble: int = 1,
        activation: str = "relu",
        seed: int = 0,
        env: str = "",
    ) -> None:
        if not isinstance(features, FeatureSpec):
            raise ConfigError(message("features", "a FeatureSpec", type(features).__name__, "Pass FeatureSpec(...)."))
        if isinstance(hidden, (str, bytes)) or not isinstance(hidden, Sequence):
            raise ConfigError(message("hidden", "a tuple of positive ints", hidden, "Pass hidden=(64, 64)."))
        if not all(isinstance(h, (int, np.integer)) and not isinstance(h, bool) and h >= 1 for h in hidden):
            raise ConfigError(message("hidden", "a tuple of positive ints", tuple(hidden), "Pass hidden=(64, 64)."))
        if isinstance(ensemble, bool) or not isinstance(ensemble, (int, np.integer)) or ensemble < 1:
            raise ConfigError(message("ensemble", "an integer >= 1", ensemble, "Pass ensemble=1, or 3 for querying."))
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ConfigError(message("seed", "an integer >= 0", seed))
        if activation not in _ACTIVATIONS:
            raise unknown("activation", str(activation), _ACTIVATIONS, "one of " + ", ".join(map(repr, _ACTIVATIONS)))
        if not isinstance(env, str):
            raise ConfigError(message("env", "a suite env name (str)", env))
        obs_desc = _describe_space(obs_space, "obs_space")
        if obs_desc["type"] != "Box":
            raise ConfigError(
                message("obs_space", "a Box space", obs_desc["type"], "Reward models need Box observations.")
            )
        self.action_desc = _describe_space(action_space, "action_space")
        self.obs_desc = obs_desc
        if features.factors:
            if not env:
                raise ConfigError(
                    message("env", "the suite env whose factors the model reads", env, "Pass env=... or use for_env.")
                )
            features.check_factors(env)
        self.obs_space = obs_space
        self.action_space = action_space
        self.features = features
        self.hidden = tuple(int(h) for h in hidden)
        self.ensemble = int(ensemble)
        self.activation = activation
        self.seed = int(seed)
        self.env = env
        self._obs_width = _space_width(obs_space)
        self._act_width = _space_width(action_space)
        self._discrete = self.action_desc["type"] == "Discrete"
        self.n_features = _n_features(obs_space, action_space, features)
        self.module = EnsembleMLP(self.n_features, self.hidden, self.ensemble, activation, self.seed)
        self.input_fitted = False
        """Whether the input standardisation has been fitted (at the first training call)."""
        self.output_fitted = False
        self.report: TrainReport | None = None
        """The report of the last :func:`train_reward_model` call (saved with the model)."""
        self._np_act = _ACTIVATIONS[activation][1]
        self.refresh()

    @classmethod
    def for_env(
        cls,
        env: Any,
        features: FeatureSpec = FeatureSpec(),  # frozen dataclass, safe as a default
        hidden: Sequence[int] = (64, 64),
        ensemble: int = 1,
        activation: str = "relu",
        seed: int = 0,
    ) -> RewardModel:
        """A model for a suite env (name, Gymnasium id or :class:`~rewardlab.suite.SuiteEnv`).

        Uses the *raw* env's spaces, so the model sees the full observation (hidden dims included),
        as :class:`Segments` and the reward wrappers store it.
        """
        suite_env = suite.get(env)
        raw = suite_env.make()
        try:
            obs_space, action_space = raw.observation_space, raw.action_space
        finally:
            raw.close()
        return cls(obs_space, action_space, features, hidden, ensemble, activation, seed, suite_env.name)

    # --- features and inference ------------------------------------------------------------------

    def featurize(
        self,
        obs: Any,
        action: Any,
        next_obs: Any,
        factors: Mapping[str, np.ndarray] | None = None,
    ) -> np.ndarray:
        """The model's input features, before input standardisation.

        Args:
            obs: ``(B,) + obs_shape`` observations (ignored unless ``features.obs``).
            action: ``(B,) + action_shape`` actions, ``(B,)`` ints for discrete spaces.
            next_obs: ``(B,) + obs_shape`` next observations (ignored unless ``features.next_obs``).
            factors: factor name -> ``(B,)`` values, for every name in ``features.factors``.

        Returns:
            ``(B, n_features)`` float32: ``[obs, action, next_obs, factors]`` in that order.

        Raises:
            ConfigError: a missing factor or an input of the wrong shape.
        """
        spec = self.features
        parts: list[np.ndarray] = []
        batch = -1
        if spec.obs:
            o = np.asarray(obs, dtype=np.float32)
            batch = o.shape[0] if o.ndim else -1
            parts.append(self._flat("obs", o, self._obs_width))
        if spec.action:
            a = np.asarray(action)
            if self._discrete:
                a = a.reshape(-1)
                if a.dtype.kind == "f":
                    a = a.astype(np.int64)
                idx = a - self.action_desc["start"]
                if idx.size and (idx.min() < 0 or idx.max() >= self._act_width):
                    raise ConfigError(message("action", f"actions of Discrete({self._act_width})", a[:5].tolist()))
                one_hot = np.zeros((a.shape[0], self._act_width), dtype=np.float32)
                one_hot[np.arange(a.shape[0]), idx] = 1.0
                parts.append(one_hot)
            else:
                parts.append(self._flat("action", np.asarray(a, dtype=np.float32), self._act_width))
        if spec.next_obs:
            parts.append(self._flat("next_obs", np.asarray(next_obs, dtype=np.float32), self._obs_width))
        if spec.factors:
            if factors is None:
                raise ConfigError(
                    message("factors", f"values of {list(spec.factors)}", None, "The model reads these factors.")
                )
            cols = []
            for name in spec.factors:
                if name not in factors:
                    raise unknown("factors", name, factors, "a factor the model reads (missing from the mapping)")
                cols.append(np.asarray(factors[name], dtype=np.float32).reshape(-1))
            parts.append(np.stack(cols, axis=1))
        x = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)
        if batch >= 0 and any(p.shape[0] != batch for p in parts):
            raise ConfigError(message("inputs", "one row per transition in each input", [p.shape for p in parts]))
        return x

    @staticmethod
    def _flat(param: str, x: np.ndarray, width: int) -> np.ndarray:
        if x.ndim == 0 or x.size != x.shape[0] * width:
            raise ConfigError(message(param, f"a (batch, ...) array with {width} values per row", x.shape))
        return x.reshape(x.shape[0], width)

    def refresh(self) -> None:
        """Copy the torch weights and statistics to the numpy inference cache.

        Called after training and loading; call it after updating :attr:`module` by hand.
        """
        m = self.module
        with torch.no_grad():
            self._np_weights = [w.detach().numpy().copy() for w in m.weights]  # (E, in, out) float32
            self._np_biases = [b.detach().numpy()[:, None, :].copy() for b in m.biases]  # (E, 1, out)
            self._np_in_mean = m.input_mean.numpy().copy()
            self._np_in_std = m.input_std.numpy().copy()
            self._np_out = (float(m.output_mean.item()), float(m.output_std.item()))

    def _members_numpy(self, x: np.ndarray) -> np.ndarray:
        """``(E, B)`` raw member rewards of ``(B, F)`` features, in numpy (the fast path)."""
        h = (x - self._np_in_mean) / self._np_in_std
        last = len(self._np_weights) - 1
        for i, (w, b) in enumerate(zip(self._np_weights, self._np_biases, strict=True)):
            h = np.matmul(h, w) + b  # (B, in) @ (E, in, out) -> (E, B, out)
            if i < last:
                h = self._np_act(h)
        return h[..., 0]

    def _members_torch(self, x: np.ndarray) -> np.ndarray:
        """``(E, B)`` raw member rewards through the torch module (reference and benchmark)."""
        with torch.no_grad():
            return self.module(torch.from_numpy(x)).numpy()

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Differentiable ``(E, N)`` raw member rewards of ``(N, F)`` (or ``(E, N, F)``) features."""
        return self.module(x)

    def predict_members(
        self, obs: Any, action: Any, next_obs: Any, factors: Mapping[str, np.ndarray] | None = None
    ) -> np.ndarray:
        """``(E, B)`` float64 reward of each member (input-standardised, no output standardisation)."""
        return self._members_numpy(self.featurize(obs, action, next_obs, factors)).astype(np.float64)

    def predict(
        self, obs: Any, action: Any, next_obs: Any, factors: Mapping[str, np.ndarray] | None = None
    ) -> np.ndarray:
        """``(B,)`` float64 reward: the ensemble mean, output standardisation applied.

        Args are as in :meth:`featurize`. Runs in numpy on a cached copy of the weights: for the
        small batches of a vec-env step this is several times faster than a torch call.
        """
        r = self._members_numpy(self.featurize(obs, action, next_obs, factors))
        mean, std = self._np_out
        return (r.mean(axis=0, dtype=np.float64) - mean) / std

    # --- segments --------------------------------------------------------------------------------

    def check_segments(self, segments: Segments, param: str = "segments") -> None:
        if not isinstance(segments, Segments):
            raise ConfigError(message(param, "a Segments object", type(segments).__name__))
        if self.env and segments.env and segments.env != self.env:
            raise ConfigError(
                message(
                    f"{param}.env", f"{self.env!r}, the model's env", segments.env, "Use segments of the model's env."
                )
            )
        missing = [f for f in self.features.factors if f not in segments.factors]
        if missing:
            raise unknown(f"{param}.factors", missing[0], segments.factors, "a factor stored in the segments")
        if segments.obs_shape and int(np.prod(segments.obs_shape)) != self._obs_width:
            raise ConfigError(message(f"{param}.obs_shape", f"{self._obs_width} values", segments.obs_shape))

    def feature_returns(self, x: torch.Tensor, mask: torch.Tensor, per_member: bool = False) -> torch.Tensor:
        """``(E, ...)`` sums of each member's reward over the real steps (the last step axis).

        Args:
            x: ``(..., L, F)`` features shared by all members, or with ``per_member`` ``(E, ..., L, F)``.
            mask: ``(..., L)`` (or ``(E, ..., L)``) 0/1 or bool, 1 on real steps.
        """
        # Flatten every leading axis into one batch so that each layer is one (batched) matmul.
        if per_member:
            r = self.module(x.reshape(x.shape[0], -1, x.shape[-1])).reshape(mask.shape)
        else:
            r = self.module(x.reshape(-1, x.shape[-1]))
            r = r.reshape((r.shape[0], *mask.shape))
        return (r * mask).sum(dim=-1)

    def segment_features(self, segments: Segments) -> np.ndarray:
        """``(n, L, F)`` float32 features of every step (padding included; mask it)."""
        self.check_segments(segments)
        n, length = segments.mask.shape
        flat = n * length
        obs = segments.obs.reshape((flat, *segments.obs_shape))
        act = segments.actions.reshape((flat, *segments.action_shape))
        nxt = segments.next_obs.reshape((flat, *segments.obs_shape))
        factors = {k: segments.factors[k].reshape(flat) for k in self.features.factors}
        if self._discrete:
            act = np.where(segments.mask.reshape(flat), act, self.action_desc["start"])  # padding: any valid action
        return self.featurize(obs, act, nxt, factors or None).reshape(n, length, self.n_features)

    def segment_returns(self, segments: Segments) -> torch.Tensor:
        """``(E, n)`` differentiable sums of each member's reward over the real steps of each segment."""
        x = torch.from_numpy(self.segment_features(segments))
        mask = torch.from_numpy(segments.mask).to(x.dtype)
        return self.feature_returns(x, mask)

    def fit_input_normalization(self, features: np.ndarray) -> None:
        """Standardise inputs with the mean/std of ``(N, F)`` raw features (std floored, then 1)."""
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_features or len(x) == 0:
            raise ConfigError(message("features", f"an (N, {self.n_features}) array with N >= 1", x.shape))
        mean = x.mean(axis=0)
        std = x.std(axis=0)
        std = np.where(std < _STD_FLOOR, 1.0, std)
        with torch.no_grad():
            self.module.input_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
            self.module.input_std.copy_(torch.as_tensor(std, dtype=torch.float32))
        self.input_fitted = True
        self.refresh()

    def fit_output_normalization(self, segments: Segments) -> None:
        """Shift and scale :meth:`predict` to mean 0, std 1 over the real steps of ``segments``."""
        x = self.segment_features(segments)[segments.mask]
        if len(x) == 0:
            raise ConfigError(message("segments", "segments with real steps", 0, "The mask is all False."))
        r = self._members_numpy(x).mean(axis=0, dtype=np.float64)
        mean, std = float(r.mean()), float(r.std())
        std = 1.0 if std < _STD_FLOOR else std
        with torch.no_grad():
            self.module.output_mean.fill_(mean)
            self.module.output_std.fill_(std)
        self.output_fitted = True
        self.refresh()

    # --- persistence ------------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """The JSON description written to ``model.json``."""
        m = self.module
        return {
            "format": "rewardlab.reward_model",
            "format_version": MODEL_FORMAT_VERSION,
            "env": self.env,
            "architecture": {
                "n_features": self.n_features,
                "hidden": list(self.hidden),
                "ensemble": self.ensemble,
                "activation": self.activation,
                "seed": self.seed,
            },
            "features": self.features.to_dict(),
            "observation_space": self.obs_desc,
            "action_space": self.action_desc,
            "normalization": {
                "input_fitted": self.input_fitted,
                "input_mean": m.input_mean.tolist(),
                "input_std": m.input_std.tolist(),
                "output_fitted": self.output_fitted,
                "output_mean": float(m.output_mean.item()),
                "output_std": float(m.output_std.item()),
            },
            "training": self.report.to_dict() if self.report is not None else None,
        }

    def save(self, path: str | Path) -> Path:
        """Write ``model.safetensors`` and ``model.json`` to the directory ``path``, atomically each.

        The JSON is written last, so it is the commit point of a save.

        Returns:
            The directory.
        """
        root = Path(path)
        root.mkdir(parents=True, exist_ok=True)
        tensors = {k: v.detach().contiguous().clone() for k, v in self.module.state_dict().items()}
        write_atomic(root / WEIGHTS, st_save(tensors, metadata={"format": "rewardlab.reward_model"}))
        write_json(root / DESCRIPTION, self.describe())
        return root

    @classmethod
    def load(cls, path: str | Path) -> RewardModel:
        """Read a model written by :meth:`save` (safetensors + JSON; nothing is unpickled).

        ``model.json`` is checked first (unknown keys refused with the closest name, types and
        ranges), then its sizes against the tensor shapes in the weights file's header, so that
        nothing is allocated for a description the weights do not match.

        Raises:
            ConfigError: a missing directory or file, invalid JSON, an unknown format version or
                key, a weights file that is not safetensors, or sizes that do not match the tensors.
        """
        root = Path(path)
        if root.name == DESCRIPTION:
            root = root.parent
        desc_path, weights_path = root / DESCRIPTION, root / WEIGHTS
        for p in (desc_path, weights_path):
            if not p.is_file():
                raise ConfigError(
                    message(
                        "path", f"a reward model directory with {p.name}", str(path), "Save one with RewardModel.save."
                    )
                )
        try:
            desc = json.loads(desc_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(message(str(desc_path), "valid JSON", str(exc), "The file is corrupt; re-save.")) from exc
        if not isinstance(desc, dict):
            raise ConfigError(message(str(desc_path), "a JSON object", type(desc).__name__))
        version = desc.get("format_version")
        if version != MODEL_FORMAT_VERSION:
            raise ConfigError(
                message(
                    f"{DESCRIPTION} format_version",
                    f"{MODEL_FORMAT_VERSION}",
                    version,
                    "Upgrade rewardlab to read this model, or re-save it.",
                )
            )
        try:
            checked = _Description.from_dict(desc)
            arch = checked.architecture
            feat = checked.features
            features = FeatureSpec(obs=feat.obs, action=feat.action, next_obs=feat.next_obs, factors=feat.factors)
            obs_space = _build_space(desc["observation_space"], "observation_space")
            action_space = _build_space(desc["action_space"], "action_space")
            n_features = _n_features(obs_space, action_space, features)
            report = _train_report(checked.training) if checked.training else None
        except ConfigError as exc:
            raise type(exc)(f"{exc} (in {desc_path})") from None
        header = _header_shapes(weights_path)  # the tensors' shapes, from the header: nothing is allocated yet
        try:
            _check_sizes(header, n_features, arch.hidden, arch.ensemble)
        except ConfigError as exc:
            raise type(exc)(f"{exc} (in {root})") from None
        if arch.n_features is not None and arch.n_features != n_features:
            raise ConfigError(
                message(
                    "architecture.n_features",
                    f"{n_features}, the width of the features and spaces it describes",
                    arch.n_features,
                    f"The model.json is corrupt; re-save the model. (in {desc_path})",
                )
            )
        model = cls(
            obs_space, action_space, features, arch.hidden, arch.ensemble, arch.activation, arch.seed, checked.env
        )
        try:
            tensors = st_load(weights_path.read_bytes())
        except Exception as exc:  # safetensors raises its own error types (and OSError/ValueError variants)
            raise ConfigError(
                message(str(weights_path), "a safetensors file", type(exc).__name__, f"{exc}. Re-save the model.")
            ) from exc
        expected = model.module.state_dict()
        if sorted(tensors) != sorted(expected):  # the header said otherwise: a file changed while loading
            raise ConfigError(
                message(WEIGHTS, f"tensors {sorted(expected)}", sorted(tensors), "Weights and model.json disagree.")
            )
        for key, ref in expected.items():
            if tuple(tensors[key].shape) != tuple(ref.shape):
                raise ConfigError(
                    message(
                        f"{WEIGHTS}[{key!r}]",
                        f"of shape {tuple(ref.shape)} per the architecture in {DESCRIPTION}",
                        tuple(tensors[key].shape),
                        "Weights and model.json disagree; re-save the model.",
                    )
                )
        model.module.load_state_dict({k: tensors[k].to(ref.dtype) for k, ref in expected.items()})
        model.input_fitted = checked.normalization.input_fitted
        model.output_fitted = checked.normalization.output_fitted
        model.report = report
        model.refresh()
        return model


@dataclass
class TrainReport(Record):
    """What :func:`rewardlab.preferences.train_reward_model` did, JSON-ready through :meth:`to_dict`."""

    n_pairs: int
    """Pairs in the dataset."""
    n_train: int
    """Pairs trained on (before bootstrap resampling)."""
    n_val: int
    """Held-out pairs for early stopping (0 with ``val_fraction = 0``)."""
    epochs: int
    """Epochs run (fewer than asked when early stopping triggered)."""
    train_loss: float
    """Bradley-Terry loss on the training pairs (mean over members), best weights."""
    val_loss: float | None
    """The same on the held-out pairs; ``None`` without a validation split."""
    train_accuracy: float
    """Fraction of non-tied training pairs on whose side the ensemble-mean return difference falls."""
    val_accuracy: float | None
    """The same on the held-out pairs."""
    pairs_per_second: float
    """Training throughput: training pairs per second of the optimisation loop (each pair is
    used by all ``E`` members; with bootstrap, each member sees its own resample)."""
    history: list[dict[str, Any]] = field(default_factory=list)
    """One entry per epoch: ``epoch``, ``train_loss`` (mean minibatch loss), ``val_loss``, ``val_accuracy``."""
