"""SB3 agents with the suite's preset hyperparameters, and rewriting a replay buffer's rewards.

Owns presets (:func:`preset`, :func:`check`), building SB3 models (:func:`make`) and
:func:`relabel_replay_buffer` (rewriting an off-policy agent's stored rewards with a new reward).

Layer: above :mod:`rewardlab.wrappers`, beside :mod:`rewardlab.evaluation`: it imports the
wrappers, :mod:`rewardlab.rewards`, :mod:`rewardlab.data` and the ground floor, nothing higher.

Presets live in the top-level ``agents/`` folder (installed as ``rewardlab_agents``), one TOML
file per algorithm of :data:`ALGORITHMS` (ppo, sac, dqn, a2c, td3, ddpg): a ``[default]`` table
and one table per suite env overriding it. Values are rl-baselines3-zoo's tuned hyperparameters.
Any key can be overridden by keyword. Besides SB3's keywords, the off-policy algorithms for
continuous actions take the zoo's ``noise_type`` (``"normal"`` or ``"ornstein-uhlenbeck"``) and
``noise_std``, which :func:`make` turns into SB3's ``action_noise`` as the zoo does.

Values are checked when a preset is loaded (:func:`preset`, :func:`check_hyperparams`): each
SB3 keyword rewardlab knows has a declared type and range (``gamma`` in ``(0, 1]``,
``batch_size`` a positive integer, ``learning_rate`` a number > 0 or ``"lin_<number>"``, ...),
one pydantic model per algorithm (:data:`HYPERPARAMETER_TYPES`), so that a bad value is refused
with its field path (``hyperparams.gamma``) before an env is built, not deep inside SB3. Names
SB3 does not take are refused by :func:`check`, with the closest name.

Example:
    >>> import rewardlab as rl
    >>> p = rl.agents.preset("ppo", "cartpole")
    >>> p.n_envs, p.kwargs["gamma"]
    (8, 0.98)
"""

from __future__ import annotations

import inspect
import math
import numbers
import sys
import warnings
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import gymnasium as gym
import numpy as np
import torch.nn as nn
from pydantic import BeforeValidator, ConfigDict, Field, create_model
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.noise import ActionNoise, NormalActionNoise, OrnsteinUhlenbeckActionNoise
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.vec_env import VecEnv, VecNormalize, unwrap_vec_wrapper

from rewardlab import suite
from rewardlab.config import (
    Config,
    Fraction,
    Hint,
    Int,
    NonNegativeFloat,
    NonNegativeInt,
    OneOf,
    PositiveFloat,
    PositiveInt,
    Real,
    StrictBool,
    fail,
)
from rewardlab.data import ALGORITHMS, OFF_POLICY
from rewardlab.errors import ConfigError, message, unknown
from rewardlab.rewards import RewardFunction, Shaped
from rewardlab.wrappers import reward_function_of, suite_env_of

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "ALGORITHMS",
    "HYPERPARAMETER_TYPES",
    "OFF_POLICY",
    "AgentPreset",
    "PresetInt",
    "algorithms",
    "check",
    "check_hyperparams",
    "make",
    "preset",
    "relabel_replay_buffer",
]

PresetInt = Annotated[Annotated[int, Int(1)] | None, Hint(expect="a positive integer or None (use the preset)")]
"""A config field holding a count (timesteps, envs, evaluation frequency) that None leaves to the preset."""
_RUN_KEYS = {"policy", "n_envs", "n_timesteps", "normalize"}
_ACTIVATIONS = {"relu": "ReLU", "tanh": "Tanh", "elu": "ELU", "leaky_relu": "LeakyReLU", "gelu": "GELU"}
_NOISE_KEYS = ("noise_type", "noise_std")
"""The zoo's exploration-noise keys (sac, td3, ddpg): :func:`make` builds SB3's ``action_noise`` from them."""
_NOISE_TYPES = ("normal", "ornstein-uhlenbeck")
_CONTINUOUS_ONLY = ("sac", "td3", "ddpg")
"""Algorithms that need a Box action space."""
_SET_BY_REWARDLAB = {"env", "seed", "device", "verbose", "tensorboard_log", "_init_setup_model"}
"""SB3 keywords that :func:`make` passes itself (a hyperparameter of that name would clash)."""
_NONE_IS_A_VALUE = {"clip_range_vf", "target_kl"}
"""Keywords whose SB3 default is None (off): None is a value there, not a missing one."""


# --- the declared types of hyperparameter values --------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(float(value))


def _schedule(expect: str, fix: str) -> Callable[[Any], Any]:
    """A value SB3 takes as a number or a schedule: a number > 0, ``"lin_<number > 0>"`` or a callable."""

    def check(value: Any) -> Any:
        if callable(value):
            return value  # a schedule function (Python API)
        number = value[4:] if isinstance(value, str) and value.startswith("lin_") else value
        if isinstance(number, str):
            try:
                number = float(number)
            except ValueError:
                raise fail(expect, fix) from None
        if not _is_number(number) or number <= 0:
            raise fail(expect, fix)
        return value

    return check


def _train_freq(value: Any) -> Any:
    expect = 'a positive integer or [n, "step"|"episode"]'
    fix = 'Write train_freq = 4 or train_freq = [1, "episode"].'
    if isinstance(value, (list, tuple)) and len(value) == 2 and value[1] in ("step", "episode"):
        n = value[0]
    elif isinstance(value, (list, tuple)):
        raise fail(expect, fix)
    else:
        n = value
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or int(n) < 1:
        raise fail(expect, fix)
    return value


def _gradient_steps(value: Any) -> Any:
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool) and (int(value) >= 1 or int(value) == -1)
    if not ok:
        raise fail("a positive integer, or -1 (as many as steps collected)", "Write gradient_steps = 1.")
    return value


def _sac_ent_coef(value: Any) -> Any:
    expect = "'auto', 'auto_<initial value > 0>' or a number >= 0"
    if isinstance(value, str) and value.startswith("auto"):
        rest = value[len("auto") :]
        if rest == "":
            return value
        try:
            initial = float(rest[1:]) if rest.startswith("_") else math.nan
        except ValueError:
            initial = math.nan
        if math.isfinite(initial) and initial > 0:
            return value
        raise fail(expect, "Write ent_coef = 'auto' or 'auto_0.1'.")
    if not _is_number(value) or value < 0:
        raise fail(expect, "Write ent_coef = 'auto' or a fixed coefficient such as 0.1.")
    return value


def _target_entropy(value: Any) -> Any:
    if value == "auto" or _is_number(value):
        return value
    raise fail("'auto' or a number", "Write target_entropy = 'auto'.")


def _normalize(value: Any) -> Any:
    ok = isinstance(value, bool) or (
        isinstance(value, Mapping)
        and set(value) <= {"obs", "reward"}
        and all(isinstance(v, bool) for v in value.values())
    )
    if not ok:
        raise fail("true/false or {obs = bool, reward = bool}", "Write normalize = { obs = true, reward = false }.")
    return value


def _net_arch(value: Any) -> Any:
    def layers(x: Any) -> bool:
        return isinstance(x, (list, tuple)) and all(
            isinstance(n, numbers.Integral) and not isinstance(n, bool) and int(n) >= 1 for n in x
        )

    if layers(value) or (isinstance(value, Mapping) and value and all(layers(v) for v in value.values())):
        return value
    raise fail("a list of positive layer sizes, or a table of them (pi, vf, qf)", "Write net_arch = [64, 64].")


def _activation(value: Any) -> Any:
    if isinstance(value, type) and issubclass(value, nn.Module):
        return value  # a torch.nn class (Python API)
    return OneOf(tuple(_ACTIVATIONS), "an activation name")(value)


def _checked(check: Callable[[Any], Any]) -> Any:
    """The declared type of a value that ``check`` validates (and returns as given)."""
    return Annotated[Any, BeforeValidator(check)]


class _Hyperparams(Config):
    """The base of the hyperparameter models: keys without a declared type are left to :func:`check`."""

    model_config = ConfigDict(extra="allow")


def _model(name: str, types: Mapping[str, Any], doc: str) -> type[Config]:
    """A model of the fields ``types``, each optional (only the keys given are checked); other keys pass."""
    fields: dict[str, Any] = {key: (kind, Field(default=None)) for key, kind in types.items()}
    model: type[Config] = create_model(name, __base__=_Hyperparams, __doc__=doc, **fields)
    return model


_Schedule = _checked(_schedule("a number > 0 or 'lin_<number > 0>' (a linear decay)", "Write e.g. 3e-4 or 'lin_3e-4'."))
_Discount = Annotated[float, Real(gt=0.0, le=1.0, fix="The discount: 0.99 is usual.")]
_SdeSampleFreq = Annotated[int, Int(-1, expect="an integer >= -1 (-1: once per rollout)")]
_POLICY_KWARGS = _model(
    "PolicyKwargs",
    {
        "net_arch": _checked(_net_arch),
        "activation_fn": _checked(_activation),
        "log_std_init": Annotated[float, Real()],
        "ortho_init": StrictBool,
    },
    "``policy_kwargs``: the values rewardlab resolves or SB3 builds layers from (other keys pass).",
)

_COMMON: dict[str, Any] = {
    "policy": Annotated[str, Hint(expect="an SB3 policy name", fix="Write policy = 'MlpPolicy'.")],
    "n_envs": PositiveInt,
    "n_timesteps": PositiveInt,
    "normalize": _checked(_normalize),
    "learning_rate": _Schedule,
    "gamma": _Discount,
    "policy_kwargs": Annotated[_POLICY_KWARGS, Hint(expect="a table of policy keyword arguments (net_arch, ...)")],
    "stats_window_size": PositiveInt,
}
_ON_POLICY: dict[str, Any] = {
    **_COMMON,
    "n_steps": PositiveInt,
    "gae_lambda": Fraction,
    "ent_coef": NonNegativeFloat,
    "vf_coef": NonNegativeFloat,
    "max_grad_norm": PositiveFloat,
    "use_sde": StrictBool,
    "sde_sample_freq": _SdeSampleFreq,
    "normalize_advantage": StrictBool,
}
_OFF_POLICY: dict[str, Any] = {
    **_COMMON,
    "buffer_size": PositiveInt,
    "learning_starts": NonNegativeInt,
    "batch_size": PositiveInt,
    "tau": Annotated[float, Real(gt=0.0, le=1.0, fix="1 copies the weights, 0.005 is SAC's soft update.")],
    "train_freq": _checked(_train_freq),
    "gradient_steps": _checked(_gradient_steps),
    "optimize_memory_usage": StrictBool,
    "n_steps": PositiveInt,
}
_NOISE: dict[str, Any] = {
    "noise_type": Annotated[str, OneOf(_NOISE_TYPES, "an action-noise type: 'normal' or 'ornstein-uhlenbeck'")],
    "noise_std": NonNegativeFloat,
}
HYPERPARAMETER_TYPES: dict[str, dict[str, Any]] = {
    "ppo": {
        **_ON_POLICY,
        "batch_size": PositiveInt,  # >= 2 with normalize_advantage: checked by preset() on the merged values
        "n_epochs": PositiveInt,
        "clip_range": _checked(_schedule("a number > 0 or 'lin_<number > 0>'", "Write clip_range = 0.2.")),
        "clip_range_vf": _checked(_schedule("a number > 0 or 'lin_<number > 0>'", "Write clip_range_vf = 0.2.")),
        "target_kl": PositiveFloat,
    },
    "a2c": {**_ON_POLICY, "rms_prop_eps": PositiveFloat, "use_rms_prop": StrictBool},
    "sac": {
        **_OFF_POLICY,
        "ent_coef": _checked(_sac_ent_coef),
        "target_update_interval": PositiveInt,
        "target_entropy": _checked(_target_entropy),
        "use_sde": StrictBool,
        "sde_sample_freq": _SdeSampleFreq,
        "use_sde_at_warmup": StrictBool,
        **_NOISE,
    },
    "td3": {
        **_OFF_POLICY,
        "policy_delay": PositiveInt,
        "target_policy_noise": NonNegativeFloat,
        "target_noise_clip": NonNegativeFloat,
        **_NOISE,
    },
    "ddpg": {**_OFF_POLICY, **_NOISE},
    "dqn": {
        **_OFF_POLICY,
        "target_update_interval": PositiveInt,
        "exploration_fraction": Fraction,
        "exploration_initial_eps": Fraction,
        "exploration_final_eps": Fraction,
        "max_grad_norm": PositiveFloat,
    },
}
"""Algorithm -> hyperparameter -> its declared type (the run keys ``policy``, ``n_envs``,
``n_timesteps``, ``normalize`` included); keys not listed are passed to SB3 unchecked."""


_MODELS: dict[str, type[Config]] = {
    algo: _model(f"{algo.upper()}Hyperparams", types, f"The hyperparameter values of SB3 {ALGORITHMS[algo].__name__}.")
    for algo, types in HYPERPARAMETER_TYPES.items()
}


def check_hyperparams(algo: str, values: Mapping[str, Any], where: str = "hyperparams") -> None:
    """Raise unless every value in ``values`` has the type and range its SB3 keyword takes.

    Only the values are checked (:data:`HYPERPARAMETER_TYPES`); unknown names are left to
    :func:`check`, which suggests the closest SB3 keyword. A value of ``None`` is refused (a
    preset file cannot write it; leave the key out to take SB3's default), except where None is
    SB3's own default (``clip_range_vf``, ``target_kl``: off).

    Args:
        algo: ``ppo``, ``sac``, ``dqn``, ``a2c``, ``td3`` or ``ddpg``.
        values: hyperparameters as the user wrote them (overrides or a preset table).
        where: prefix of the field path in the message (``hyperparams``: ``hyperparams.gamma``;
            ``agents.sac`` for a sweep's agent table).

    Raises:
        ConfigError: ``"`hyperparams.gamma` must be a number in (0, 1] (got 2.0)."``
        UnknownNameError: an unknown algorithm or activation name.
    """
    algo_key = str(algo).lower()
    if algo_key not in ALGORITHMS:
        raise unknown("agent", algo, ALGORITHMS, "an SB3 algorithm name")
    if not isinstance(values, Mapping):
        raise ConfigError(message(where or "hyperparams", "a mapping of SB3 keyword arguments", values))
    model = _MODELS.get(algo_key)
    if model is None:
        return
    data = {k: v for k, v in values.items() if not (v is None and k in _NONE_IS_A_VALUE)}
    for key, value in data.items():
        if value is None and key in model.model_fields:
            path = f"{where}.{key}" if where else key
            raise ConfigError(message(path, "a value (None takes SB3's default: leave the key out)", None))
    model.from_dict(data, where=where)


class _Normalize(Config):
    """Which parts of the env ``VecNormalize`` normalises."""

    model_config = ConfigDict(frozen=True)

    obs: StrictBool = False
    """Observations."""
    reward: StrictBool = False
    """The (proxy) reward, by its return's running std."""


class AgentPreset(Config):
    """Hyperparameters for one (algorithm, env) pair; :meth:`to_dict` is what ``config.json`` saves."""

    model_config = ConfigDict(frozen=True)

    algo: str
    """Algorithm name (``ppo``, ``sac``, ``dqn``, ...)."""
    env: str
    """Suite env name the preset is for (``default`` when none matched)."""
    policy: str = "MlpPolicy"
    """SB3 policy name."""
    n_envs: PositiveInt = 1
    """Number of parallel envs the preset was tuned with."""
    n_timesteps: PositiveInt = 1_000_000
    """Training budget the preset was tuned with."""
    normalize: _Normalize = _Normalize()
    """Wrap the env in ``VecNormalize``: ``obs`` for observations, ``reward`` to also scale the
    (proxy) reward by its return's running std."""
    kwargs: dict[str, Any] = Field(default_factory=dict)
    """Keyword arguments of the SB3 constructor, as written in the preset file."""

    @property
    def normalize_obs(self) -> bool:
        """Wrap the env in ``VecNormalize`` for observations."""
        return self.normalize.obs

    @property
    def normalize_reward(self) -> bool:
        """Let ``VecNormalize`` also scale the (proxy) reward by its return's running std."""
        return self.normalize.reward

    def to_dict(self) -> dict[str, Any]:
        """``algo``, ``env``, ``policy``, ``n_envs``, ``n_timesteps``, ``normalize`` ({obs, reward}) and
        ``kwargs`` (the values as given: a schedule function stays a function)."""
        return self.model_dump()


def algorithms() -> list[str]:
    """Algorithms that have a preset file."""
    return sorted(name for name in ALGORITHMS if _preset_file(name, missing_ok=True) is not None)


def _preset_file(algo: str, missing_ok: bool = False) -> Path | None:
    try:
        root = resources.files("rewardlab_agents")
    except ModuleNotFoundError:
        root = None
    if root is not None:
        candidate = root / f"{algo}.toml"
        if candidate.is_file():
            return Path(str(candidate))
    if missing_ok:
        return None
    raise ConfigError(
        message("agent", "an algorithm with a preset file", algo, 'Reinstall rewardlab (pip install -e ".[dev]").')
    )


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if key == "policy_kwargs" and isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def preset(
    algo: str,
    env: str | suite.SuiteEnv,
    overrides: Mapping[str, Any] | None = None,
    file: str | Path | None = None,
    where: str = "hyperparams",
) -> AgentPreset:
    """Load the preset of ``algo`` for ``env``, with ``overrides`` applied on top.

    The values are checked (:func:`check_hyperparams`): the overrides' errors name
    ``<where>.<key>``, the preset file's ``<table>.<key>`` and the file.

    Args:
        algo: ``ppo``, ``sac``, ``dqn``, ``a2c``, ``td3`` or ``ddpg`` (each has a shipped preset file).
        env: suite env (name or object); envs without a table get ``[default]``.
        overrides: keys replacing the preset's (``n_envs``, ``learning_rate``, ...).
        file: a TOML file in the same format to use instead of the shipped one.
        where: the overrides' place in the user's config, prefixing their field paths
            (``hyperparams``, as :class:`~rewardlab.training.TrainConfig` names them; ``""`` for
            keyword arguments).

    Raises:
        UnknownNameError: unknown algorithm.
        ConfigError: unreadable preset file, or a value of the wrong type or range.
    """
    algo_key = str(algo).lower()
    if algo_key not in ALGORITHMS:
        raise unknown("agent", algo, ALGORITHMS, "an SB3 algorithm name")
    env_name = suite.get(env).name
    path = Path(file) if file is not None else _preset_file(algo_key)
    tables: dict[str, Any]
    if path is None or not path.is_file():
        raise ConfigError(message("agent_config", "a readable TOML file", str(path), "Check the path."))
    try:
        tables = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(message("agent_config", "valid TOML", str(path), f"Fix the file: {exc}.")) from exc
    used = [name for name in ("default", env_name) if name in tables]
    for name in used:
        if not isinstance(tables[name], Mapping):
            raise ConfigError(
                message(name, f"a table of hyperparameters in {Path(str(path)).name}", tables[name], f"Write [{name}].")
            )
        try:
            check_hyperparams(algo_key, tables[name], where=name)
        except ConfigError as exc:
            raise type(exc)(f"{exc} (in {path})") from None
    check_hyperparams(algo_key, overrides or {}, where=where)
    merged = _merge(tables.get("default", {}), tables.get(env_name, {}))
    merged = _merge(merged, overrides or {})
    origin = {key: name for name in used for key in tables[name]}
    origin.update({key: where for key in overrides or {}})
    if algo_key == "ppo" and merged.get("normalize_advantage", True) and merged.get("batch_size", 64) < 2:
        path_of = ".".join(p for p in (origin.get("batch_size", ""), "batch_size") if p)
        raise ConfigError(
            message(
                path_of,
                "an integer >= 2 with normalize_advantage (a minibatch of 1 has no std)",
                merged["batch_size"],
                "Write batch_size = 64.",
            )
        )
    normalize = merged.pop("normalize", False)
    if isinstance(normalize, bool):
        norm = _Normalize(obs=normalize, reward=normalize)
    else:
        norm = _Normalize(obs=bool(normalize.get("obs", False)), reward=bool(normalize.get("reward", False)))
    run = {k: merged.pop(k) for k in list(merged) if k in _RUN_KEYS}
    return AgentPreset(
        algo=algo_key,
        env=env_name if env_name in tables else "default",
        policy=run.get("policy", "MlpPolicy"),
        n_envs=run.get("n_envs", 1),
        n_timesteps=run.get("n_timesteps", 1_000_000),
        normalize=norm,
        kwargs=merged,
    )


def check(p: AgentPreset, action_space: Any) -> None:
    """Raise before training if the preset cannot build a model for this action space.

    Checks that the algorithm fits the action space, that every hyperparameter is a keyword of
    the SB3 constructor (suggesting the closest) and not one rewardlab passes itself, that the
    policy name is one of the algorithm's, and that values such as schedules and activation
    names resolve (the values' types and ranges were checked by :func:`preset`).

    Raises:
        ConfigError: with the parameter, the value and the fix.
    """
    if p.algo == "dqn" and not isinstance(action_space, gym.spaces.Discrete):
        raise ConfigError(message("agent", "an algorithm for continuous actions", p.algo, "Use 'sac' or 'ppo' here."))
    if p.algo in _CONTINUOUS_ONLY and not isinstance(action_space, gym.spaces.Box):
        raise ConfigError(message("agent", "an algorithm for discrete actions", p.algo, "Use 'ppo' or 'dqn' here."))
    cls = ALGORITHMS[p.algo]
    params = set(inspect.signature(cls.__init__).parameters) - {"self", "policy"} - _SET_BY_REWARDLAB
    noise = [key for key in _NOISE_KEYS if key in p.kwargs]
    if noise and p.algo not in _CONTINUOUS_ONLY:
        raise ConfigError(
            message(noise[0], f"left out for {p.algo} (exploration noise is for sac, td3, ddpg)", p.kwargs[noise[0]])
        )
    if noise and "action_noise" in p.kwargs:
        raise ConfigError(message("action_noise", "left out with noise_type/noise_std (they build it)", "both"))
    if "noise_type" in p.kwargs and "noise_std" not in p.kwargs:
        raise ConfigError(message("noise_std", "set with noise_type", None, "Write noise_std = 0.1."))
    if "noise_std" in p.kwargs and "noise_type" not in p.kwargs:
        raise ConfigError(message("noise_type", "set with noise_std", None, "Write noise_type = 'normal'."))
    params |= set(noise)
    for key in p.kwargs:
        if key in _SET_BY_REWARDLAB:
            raise ConfigError(
                message(
                    "hyperparameter",
                    "a keyword rewardlab does not set itself",
                    key,
                    "Use the run's own option (--seed, the device is the CPU, --runs-dir for logs).",
                )
            )
        if key not in params:
            raise unknown("hyperparameter", key, params, f"a keyword argument of SB3 {cls.__name__}")
    if p.policy not in cls.policy_aliases:
        raise unknown("policy", p.policy, cls.policy_aliases, f"a policy name of SB3 {cls.__name__}")
    if p.kwargs.get("use_sde") and not isinstance(action_space, gym.spaces.Box):
        raise ConfigError(
            message("use_sde", "false for discrete actions (gSDE needs a Box action space)", p.kwargs["use_sde"])
        )
    if p.kwargs.get("optimize_memory_usage") and (p.kwargs.get("replay_buffer_kwargs") or {}).get(
        "handle_timeout_termination", True
    ):
        raise ConfigError(
            message(
                "optimize_memory_usage",
                "false (SB3's replay buffer cannot also handle timeouts)",
                True,
                "Set it to false, or replay_buffer_kwargs = {handle_timeout_termination = false}.",
            )
        )
    _resolve_kwargs(p.kwargs)


def _linear(start: float) -> Callable[[float], float]:
    def schedule(progress_remaining: float) -> float:
        return progress_remaining * start

    return schedule


def _resolve_kwargs(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Turn preset values into SB3 objects: ``lin_x`` schedules, activation names, train_freq."""
    out: dict[str, Any] = {}
    for key, value in kwargs.items():
        if isinstance(value, str) and value.startswith("lin_"):
            try:
                value = _linear(float(value[4:]))
            except ValueError as exc:
                raise ConfigError(message(key, "a number or 'lin_<number>'", value)) from exc
        elif key == "train_freq" and isinstance(value, list):
            value = tuple(value)
        elif key in _NOISE_KEYS:
            continue  # built into action_noise by make(), which knows the action space
        elif key == "policy_kwargs":
            value = dict(value)
            act = value.get("activation_fn")
            if isinstance(act, str):
                if act not in _ACTIVATIONS:
                    raise unknown("policy_kwargs.activation_fn", act, _ACTIVATIONS, "an activation name")
                value["activation_fn"] = getattr(nn, _ACTIVATIONS[act])
        out[key] = value
    return out


def make(
    algo: str,
    env: VecEnv,
    *,
    seed: int | None = None,
    preset_file: str | Path | None = None,
    tensorboard_log: str | None = None,
    verbose: int = 0,
    device: str = "cpu",
    **overrides: Any,
) -> BaseAlgorithm:
    """An SB3 model with the suite's preset hyperparameters for ``env``.

    Args:
        algo: ``ppo``, ``sac``, ``dqn``, ``a2c``, ``td3`` or ``ddpg``.
        env: a VecEnv from :func:`rewardlab.make_vec_env` (its suite env selects the preset).
        seed: seed of the model's RNGs.
        preset_file: a TOML preset file to use instead of the shipped one.
        tensorboard_log: directory for TensorBoard logs.
        verbose: SB3 verbosity.
        device: torch device; ``cpu`` is right for these small MLPs.
        **overrides: hyperparameters replacing the preset's (``learning_rate=1e-3``).

    Raises:
        UnknownNameError: unknown algorithm.
        ConfigError: the algorithm cannot act in the env's action space (DQN on Box), or a
            hyperparameter has the wrong type or range (its keyword named, as in ``gamma``).
    """
    suite_env = suite_env_of(env)
    if suite_env is None:
        raise ConfigError(message("env", "a VecEnv built by rewardlab.make_vec_env", type(env).__name__))
    p = preset(algo, suite_env, overrides, preset_file, where="")
    cls = ALGORITHMS[p.algo]
    check(p, env.action_space)
    kwargs = _resolve_kwargs(p.kwargs)
    if p.kwargs.get("noise_type") is not None:
        kwargs["action_noise"] = _action_noise(p.kwargs["noise_type"], p.kwargs["noise_std"], env.action_space)
    n_steps = kwargs.get("n_steps", 2048)
    if p.algo == "ppo" and kwargs.get("normalize_advantage", True) and n_steps * env.num_envs < 2:
        raise ConfigError(
            message(
                "n_steps",
                f"at least 2 steps per rollout with {env.num_envs} env(s) (advantages are normalised)",
                n_steps,
                "Raise n_steps or n_envs.",
            )
        )
    if (p.normalize_obs or p.normalize_reward) and unwrap_vec_wrapper(env, VecNormalize) is None:
        env = VecNormalize(
            env, norm_obs=p.normalize_obs, norm_reward=p.normalize_reward, gamma=kwargs.get("gamma", 0.99)
        )
    reward_fn = reward_function_of(env)
    if reward_fn is not None and isinstance(reward_fn.spec, Shaped):
        gamma = kwargs.get("gamma", 0.99)
        if abs(reward_fn.spec.gamma - gamma) > 1e-12:
            warnings.warn(
                f"The shaped reward's gamma ({reward_fn.spec.gamma}) differs from the agent's ({gamma}): "
                "the shaping is then not policy-invariant. Set gamma in the reward spec to the agent's.",
                stacklevel=2,
            )
    return cls(p.policy, env, seed=seed, tensorboard_log=tensorboard_log, verbose=verbose, device=device, **kwargs)


def _action_noise(kind: str, std: float, action_space: gym.Space[Any]) -> ActionNoise:
    """The zoo's exploration noise: mean 0, ``std`` on every action dim (of SB3's [-1, 1] actions)."""
    n = int(np.prod(action_space.shape or (1,)))  # check() made sure it is a Box
    cls = NormalActionNoise if kind == "normal" else OrnsteinUhlenbeckActionNoise
    return cls(mean=np.zeros(n), sigma=float(std) * np.ones(n))


def relabel_replay_buffer(agent: Any, fn: RewardFunction) -> int:
    """Rewrite an off-policy agent's replay-buffer rewards with ``fn`` (the current reward model).

    Off-policy agents store each reward when the transition is collected; with a reward model
    that keeps learning, older rewards come from older models. This recomputes all of them.
    The buffer must hold the observations the reward sees (no hidden dims, no ``VecNormalize``);
    :class:`~rewardlab.training.TrainConfig` checks that before training.

    Returns:
        The number of transitions relabelled.
    """
    if not isinstance(agent, OffPolicyAlgorithm) or agent.replay_buffer is None:
        return 0
    rb = agent.replay_buffer
    n = rb.buffer_size if rb.full else rb.pos
    if n == 0:
        return 0
    obs = rb.observations[:n]
    if rb.optimize_memory_usage:
        next_obs = rb.observations[(np.arange(n) + 1) % rb.buffer_size]
    else:
        next_obs = rb.next_observations[:n]
    actions = rb.actions[:n]
    if isinstance(agent.action_space, gym.spaces.Box):
        actions = agent.policy.unscale_action(actions)  # SB3 stores actions rescaled to [-1, 1]
    else:
        actions = actions[..., 0]
    done = rb.dones[:n].astype(bool) & ~rb.timeouts[:n].astype(bool)
    flat = lambda x: x.reshape((-1, *x.shape[2:]))
    was_training = fn.training
    fn.training = False  # evaluating, not collecting: the online model must not store these
    try:
        r, _ = fn.compute(flat(obs), flat(actions), flat(next_obs), flat(done))
    finally:
        fn.training = was_training
    rb.rewards[:n] = np.asarray(r, dtype=rb.rewards.dtype).reshape(rb.rewards[:n].shape)
    return int(r.shape[0])
