"""SB3 agents with the suite's preset hyperparameters, and rewriting a replay buffer's rewards.

Owns presets (:func:`preset`, :func:`check`), building SB3 models (:func:`make`) and
:func:`relabel_replay_buffer` (rewriting an off-policy agent's stored rewards with a new reward).

Layer: above :mod:`rewardlab.wrappers`, beside :mod:`rewardlab.evaluation`: it imports the
wrappers, :mod:`rewardlab.rewards`, :mod:`rewardlab.data` and the ground floor, nothing higher.

Presets live in the top-level ``agents/`` folder (installed as ``rewardlab_agents``), one TOML
file per algorithm: a ``[default]`` table and one table per suite env overriding it. Values are
rl-baselines3-zoo's tuned hyperparameters. Any key can be overridden by keyword.

Example:
    >>> import rewardlab as rl
    >>> p = rl.agents.preset("ppo", "cartpole")
    >>> p.n_envs, p.kwargs["gamma"]
    (8, 0.98)
"""

from __future__ import annotations

import inspect
import sys
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import gymnasium as gym
import numpy as np
import torch.nn as nn
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.vec_env import VecEnv, VecNormalize, unwrap_vec_wrapper

from rewardlab import suite
from rewardlab.config import Hint, Int
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
    "OFF_POLICY",
    "AgentPreset",
    "PresetInt",
    "algorithms",
    "check",
    "make",
    "preset",
    "relabel_replay_buffer",
]

PresetInt = Annotated[Annotated[int, Int(1)] | None, Hint(expect="a positive integer or None (use the preset)")]
"""A config field holding a count (timesteps, envs, evaluation frequency) that None leaves to the preset."""
_RUN_KEYS = {"policy", "n_envs", "n_timesteps", "normalize"}
_ACTIVATIONS = {"relu": "ReLU", "tanh": "Tanh", "elu": "ELU", "leaky_relu": "LeakyReLU", "gelu": "GELU"}


@dataclass(frozen=True)
class AgentPreset:
    """Hyperparameters for one (algorithm, env) pair."""

    algo: str
    """Algorithm name (``ppo``, ``sac``, ``dqn``, ...)."""
    env: str
    """Suite env name the preset is for (``default`` when none matched)."""
    policy: str = "MlpPolicy"
    """SB3 policy name."""
    n_envs: int = 1
    """Number of parallel envs the preset was tuned with."""
    n_timesteps: int = 1_000_000
    """Training budget the preset was tuned with."""
    normalize_obs: bool = False
    """Wrap the env in ``VecNormalize`` for observations."""
    normalize_reward: bool = False
    """Let ``VecNormalize`` also scale the (proxy) reward by its return's running std."""
    kwargs: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments of the SB3 constructor, as written in the preset file."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "algo": self.algo,
            "env": self.env,
            "policy": self.policy,
            "n_envs": self.n_envs,
            "n_timesteps": self.n_timesteps,
            "normalize": {"obs": self.normalize_obs, "reward": self.normalize_reward},
            "kwargs": self.kwargs,
        }


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
    algo: str, env: str | suite.SuiteEnv, overrides: Mapping[str, Any] | None = None, file: str | Path | None = None
) -> AgentPreset:
    """Load the preset of ``algo`` for ``env``, with ``overrides`` applied on top.

    Args:
        algo: ``ppo``, ``sac``, ``dqn``, ``a2c`` or ``td3``.
        env: suite env (name or object); envs without a table get ``[default]``.
        overrides: keys replacing the preset's (``n_envs``, ``learning_rate``, ...).
        file: a TOML file in the same format to use instead of the shipped one.

    Raises:
        UnknownNameError: unknown algorithm.
        ConfigError: unreadable preset file or a bad ``normalize`` value.
    """
    algo_key = str(algo).lower()
    if algo_key not in ALGORITHMS:
        raise unknown("agent", algo, ALGORITHMS, "an SB3 algorithm name")
    env_name = suite.get(env).name
    path = Path(file) if file is not None else _preset_file(algo_key)
    if path is None or not path.is_file():
        raise ConfigError(message("agent_config", "a readable TOML file", str(path), "Check the path."))
    try:
        tables = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(message("agent_config", "valid TOML", str(path), f"Fix the file: {exc}.")) from exc
    merged = _merge(tables.get("default", {}), tables.get(env_name, {}))
    merged = _merge(merged, overrides or {})
    normalize = merged.pop("normalize", False)
    if isinstance(normalize, bool):
        norm_obs = norm_rew = normalize
    elif isinstance(normalize, Mapping) and set(normalize) <= {"obs", "reward"}:
        norm_obs, norm_rew = bool(normalize.get("obs", False)), bool(normalize.get("reward", False))
    else:
        raise ConfigError(message("normalize", "true/false or {obs = bool, reward = bool}", normalize))
    run = {k: merged.pop(k) for k in list(merged) if k in _RUN_KEYS}
    for key in ("n_envs", "n_timesteps"):
        value = run.get(key, 1)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(message(key, "a positive integer", value))
    return AgentPreset(
        algo=algo_key,
        env=env_name if env_name in tables else "default",
        policy=run.get("policy", "MlpPolicy"),
        n_envs=run.get("n_envs", 1),
        n_timesteps=run.get("n_timesteps", 1_000_000),
        normalize_obs=norm_obs,
        normalize_reward=norm_rew,
        kwargs=merged,
    )


def check(p: AgentPreset, action_space: Any) -> None:
    """Raise before training if the preset cannot build a model for this action space.

    Checks that the algorithm fits the action space, that every hyperparameter is a keyword of
    the SB3 constructor (suggesting the closest), and that values such as schedules and
    activation names resolve.

    Raises:
        ConfigError: with the parameter, the value and the fix.
    """
    if p.algo == "dqn" and not isinstance(action_space, gym.spaces.Discrete):
        raise ConfigError(message("agent", "an algorithm for continuous actions", p.algo, "Use 'sac' or 'ppo' here."))
    if p.algo in ("sac", "td3") and not isinstance(action_space, gym.spaces.Box):
        raise ConfigError(message("agent", "an algorithm for discrete actions", p.algo, "Use 'ppo' or 'dqn' here."))
    params = set(inspect.signature(ALGORITHMS[p.algo].__init__).parameters) - {"self", "policy", "env"}
    for key in p.kwargs:
        if key not in params:
            raise unknown("hyperparameter", key, params, f"a keyword argument of SB3 {ALGORITHMS[p.algo].__name__}")
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
        algo: ``ppo``, ``sac``, ``dqn``, ``a2c`` or ``td3``.
        env: a VecEnv from :func:`rewardlab.make_vec_env` (its suite env selects the preset).
        seed: seed of the model's RNGs.
        preset_file: a TOML preset file to use instead of the shipped one.
        tensorboard_log: directory for TensorBoard logs.
        verbose: SB3 verbosity.
        device: torch device; ``cpu`` is right for these small MLPs.
        **overrides: hyperparameters replacing the preset's (``learning_rate=1e-3``).

    Raises:
        UnknownNameError: unknown algorithm.
        ConfigError: the algorithm cannot act in the env's action space (DQN on Box).
    """
    suite_env = suite_env_of(env)
    if suite_env is None:
        raise ConfigError(message("env", "a VecEnv built by rewardlab.make_vec_env", type(env).__name__))
    p = preset(algo, suite_env, overrides, preset_file)
    cls = ALGORITHMS[p.algo]
    check(p, env.action_space)
    kwargs = _resolve_kwargs(p.kwargs)
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
