"""Policies that drive rollouts, and loading a saved SB3 agent with its normalisation.

Owns the algorithm table (:data:`ALGORITHMS`, :data:`OFF_POLICY`), :func:`load_agent` (which
algorithm is read from the run's ``config.json``, or from the zip's own JSON header: no
trial-and-error loading), and the two :class:`Policy` kinds every rollout uses:
:class:`RandomPolicy` and :class:`AgentPolicy` (an SB3 model fed the agent's observation: hidden
dims dropped, normalised as in training).
"""

from __future__ import annotations

import json
import pickle
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Protocol

import gymnasium as gym
import numpy as np
import torch
from pydantic import AfterValidator
from stable_baselines3 import A2C, DDPG, DQN, PPO, SAC, TD3
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize, unwrap_vec_wrapper

from rewardlab import suite
from rewardlab.data._checkpoint import load_weights, restore_normalization
from rewardlab.errors import ConfigError, UntrustedFileError, message, unknown
from rewardlab.runs import NORMALIZATION

__all__ = [
    "ALGORITHMS",
    "OFF_POLICY",
    "TRUST_FLAG",
    "AgentName",
    "AgentPolicy",
    "Policy",
    "RandomPolicy",
    "agent_spaces",
    "check_policy_file",
    "load_agent",
    "policy_from",
    "policy_kwargs",
]

ALGORITHMS: dict[str, type[BaseAlgorithm]] = {
    "ppo": PPO,
    "sac": SAC,
    "dqn": DQN,
    "a2c": A2C,
    "td3": TD3,
    "ddpg": DDPG,
}
"""The SB3 algorithms rewardlab trains, by preset name."""

OFF_POLICY = frozenset({"sac", "td3", "dqn", "ddpg"})
"""Algorithms with a replay buffer (relabelling, buffer checkpoints)."""


def _known_algorithm(value: str) -> str:
    if str(value).lower() not in ALGORITHMS:
        raise unknown("agent", value, ALGORITHMS, "an SB3 algorithm name")
    return value


AgentName = Annotated[str, AfterValidator(_known_algorithm)]
"""A config field holding an algorithm name of :data:`ALGORITHMS` (checked, without reading a preset)."""


class Policy(Protocol):
    """What a rollout asks for actions.

    Args:
        obs: ``(n_envs,) + obs_shape`` observations of the VecEnv being stepped.
        episode_start: ``(n_envs,)`` bool, True where an episode has just begun (recurrent
            policies reset their state there).

    Returns:
        ``(n_envs,) + action_shape`` actions.
    """

    def __call__(self, obs: np.ndarray, episode_start: np.ndarray) -> np.ndarray: ...


class RandomPolicy:
    """Uniform samples of ``space``, one per sub-env (seed the space for reproducible draws)."""

    def __init__(self, space: Any) -> None:
        self.space = space

    def __call__(self, obs: np.ndarray, episode_start: np.ndarray) -> np.ndarray:
        return np.stack([np.asarray(self.space.sample()) for _ in range(len(episode_start))])


class AgentPolicy:
    """An SB3 model acting on the agent's view of the observations it is given.

    Args:
        model: the SB3 model.
        deterministic: act with the policy's mode instead of sampling.
        hidden_obs: observation dims to drop first (the suite env hides them from the agent; the
            rollout steps the raw env so that rewards see them).
        normalization: a ``VecNormalize`` whose observation statistics the policy expects.
    """

    def __init__(
        self,
        model: Any,
        *,
        deterministic: bool = False,
        hidden_obs: Sequence[int] = (),
        normalization: VecNormalize | None = None,
    ) -> None:
        if not hasattr(model, "predict"):
            raise ConfigError(
                message("policy", "'random', an SB3 model or a path", type(model).__name__, "Pass a model or 'random'.")
            )
        self.model = model
        self.deterministic = deterministic
        self.hidden = list(hidden_obs)
        self.normalization = normalization
        self._state: Any = None

    def __call__(self, obs: np.ndarray, episode_start: np.ndarray) -> np.ndarray:
        agent_obs = np.delete(obs, self.hidden, axis=-1) if self.hidden else obs
        if self.normalization is not None and self.normalization.norm_obs:
            agent_obs = np.asarray(self.normalization.normalize_obs(agent_obs))
        actions, self._state = self.model.predict(
            agent_obs, state=self._state, episode_start=episode_start, deterministic=self.deterministic
        )
        return np.asarray(actions)


def _algorithm_in_zip(path: Path) -> str | None:
    """The algorithm of an SB3 zip, read from its JSON ``data`` header (nothing is unpickled)."""
    try:
        with zipfile.ZipFile(path) as archive:
            data = json.loads(archive.read("data"))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, OSError):
        return None
    module = str(data.get("policy_class", {}).get("__module__", ""))
    for name in ("dqn", "sac", "td3"):
        if f"stable_baselines3.{name}." in module:
            return name
    if module.startswith("stable_baselines3.common."):
        # PPO and A2C share ActorCriticPolicy; only PPO has a clip range.
        return "ppo" if "clip_range" in data else "a2c"
    return None


TRUST_FLAG = "--trust-pickle"
"""The CLI flag (``trust=True`` in Python) that lets rewardlab unpickle a file it did not write."""
_LEGACY_NORMALIZATION = "vecnormalize.pkl"
_ACTIVATIONS = {"relu": "ReLU", "tanh": "Tanh", "elu": "ELU", "leaky_relu": "LeakyReLU", "gelu": "GELU"}


def untrusted(param: str, path: Path, what: str) -> UntrustedFileError:
    """The error for a file that only unpickling can read (it names :data:`TRUST_FLAG`)."""
    return UntrustedFileError(
        message(
            param,
            "a file rewardlab can read without running code",
            str(path),
            f"{what} can be read only by unpickling it, and unpickling runs any code planted in it. "
            f"If you trust whoever made it, pass {TRUST_FLAG} (Python: trust=True).",
        )
    )


def check_policy_file(param: str, path: str | Path) -> None:
    """Raise unless ``path`` is an agent that :func:`load_agent` reads without unpickling.

    For policies named in data someone may send (a reward spec): there is no trust flag there, so
    only a rewardlab run's agent (its ``config.json`` beside it, no ``vecnormalize.pkl``) passes.

    Raises:
        UntrustedFileError: naming ``param`` and the path.
    """
    p = Path(path)
    if _run_config(p) is None or (
        (p.parent / _LEGACY_NORMALIZATION).is_file() and not (p.parent / NORMALIZATION).is_file()
    ):
        raise UntrustedFileError(
            message(
                param,
                "the agent.zip of a rewardlab run (its config.json beside it)",
                str(p),
                "Anything else can be read only by unpickling it, which runs any code planted in it, so a "
                "reward spec may not name it. Train the policy with rewardlab train, or collect the data "
                f"with {TRUST_FLAG} where a command offers it.",
            )
        )


def _run_config(path: Path) -> dict[str, Any] | None:
    """The rewardlab run config beside an agent zip (None when there is none)."""
    config = path.parent / "config.json"
    if not config.is_file():
        return None
    try:
        run = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(message("policy", "a run whose config.json is valid JSON", str(config), str(exc))) from None
    return run if isinstance(run, dict) and isinstance(run.get("agent_preset"), dict) else None


def _algorithm_of(path: Path, run: dict[str, Any] | None) -> str:
    if run is not None:
        algo = run["agent_preset"].get("algo") or run.get("agent")
        if algo in ALGORITHMS:
            return str(algo)
    algo = _algorithm_in_zip(path)
    if algo is None:
        raise ConfigError(message("policy", "a model.zip saved by Stable-Baselines3", str(path), "Pass a model.zip."))
    return algo


def policy_kwargs(value: Any) -> dict[str, Any]:
    """A preset's ``policy_kwargs`` as SB3 takes them (activation names become ``torch.nn`` classes)."""
    if not isinstance(value, dict):
        raise ConfigError(message("policy_kwargs", "a table", value, "Write policy_kwargs = {net_arch = [64, 64]}."))
    out = dict(value)
    act = out.get("activation_fn")
    if isinstance(act, str):
        if act not in _ACTIVATIONS:
            raise unknown("policy_kwargs.activation_fn", act, _ACTIVATIONS, "an activation name")
        out["activation_fn"] = getattr(torch.nn, _ACTIVATIONS[act])
    return out


class _Spaces(gym.Env[Any, Any]):
    """An env that only has spaces: what SB3 needs to build a model whose tensors are then loaded."""

    def __init__(self, observation_space: gym.Space[Any], action_space: gym.Space[Any]) -> None:
        self.observation_space = observation_space
        self.action_space = action_space

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        return self.observation_space.sample(), {}

    def step(self, action: Any) -> Any:
        raise RuntimeError("a policy loaded for its actions is not stepped")


def agent_spaces(run: dict[str, Any]) -> tuple[gym.Space[Any], gym.Space[Any]]:
    """The agent's (observation, action) spaces of a run: its suite env's, hidden dims dropped."""
    suite_env = suite.get(str(run.get("env")))
    raw = suite_env.make()
    try:
        obs_space, act_space = raw.observation_space, raw.action_space
    finally:
        raw.close()
    if suite_env.hidden_obs and isinstance(obs_space, gym.spaces.Box):
        keep = np.array([i for i in range(obs_space.shape[0]) if i not in set(suite_env.hidden_obs)])
        obs_space = gym.spaces.Box(obs_space.low[keep], obs_space.high[keep], dtype=obs_space.dtype)
    return obs_space, act_space


def _rebuild(path: Path, algo: str, run: dict[str, Any]) -> tuple[BaseAlgorithm, VecNormalize | None]:
    """The run's agent rebuilt from its preset and spaces, with only its tensors loaded."""
    preset = run["agent_preset"]
    cls = ALGORITHMS[algo]
    policy = preset.get("policy", "MlpPolicy")
    if policy not in cls.policy_aliases:
        raise unknown("agent_preset.policy", policy, cls.policy_aliases, f"a policy name of SB3 {cls.__name__}")
    kwargs = preset.get("kwargs", {})
    extra: dict[str, Any] = {"buffer_size": 1} if algo in OFF_POLICY else {}  # nothing is collected
    if "use_sde" in kwargs:
        extra["use_sde"] = bool(kwargs["use_sde"])
    venv = DummyVecEnv([lambda: _Spaces(*agent_spaces(run))])
    model = cls(policy, venv, policy_kwargs=policy_kwargs(kwargs.get("policy_kwargs", {})), device="cpu", **extra)
    load_weights(model, path)
    norm = None
    norm_path = path.parent / NORMALIZATION
    if norm_path.is_file():
        try:
            state = json.loads(norm_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(message("policy", "a valid vecnormalize.json", str(norm_path), str(exc))) from None
        norm = restore_normalization(state, venv, str(norm_path))
    elif (path.parent / _LEGACY_NORMALIZATION).is_file():
        raise untrusted("policy", path.parent / _LEGACY_NORMALIZATION, "This run's normalisation (a pickle)")
    return model, norm


def load_agent(path: str | Path, *, trust: bool = False) -> tuple[BaseAlgorithm, VecNormalize | None]:
    """Load a saved SB3 agent and the observation normalisation saved beside it, running no code.

    A rewardlab run's agent (``config.json`` beside the zip) is rebuilt from the run's preset and
    its env's spaces, and only its tensors are loaded (:func:`~rewardlab.data._checkpoint.load_weights`);
    its normalisation comes from ``vecnormalize.json``. Anything that only unpickling can read (an
    SB3 zip from elsewhere, a ``vecnormalize.pkl`` of an older run) is refused unless ``trust``.

    Args:
        path: the agent's ``.zip``.
        trust: unpickle what only unpickling can read (SB3's ``load``, ``pickle.load``): only for
            files from people you trust, since a planted pickle runs code.

    Returns:
        ``(model, normalization)``; ``normalization`` is None when the run did not normalise.

    Raises:
        ConfigError: the file is missing or is not an SB3 zip.
        UntrustedFileError: the file needs unpickling and ``trust`` is False.
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(
            message("policy", "'random', an SB3 model .zip or a transitions .npz", str(path), "Check the path.")
        )
    run = _run_config(p)
    algo = _algorithm_of(p, run)
    if not trust:
        if run is None:
            raise untrusted("policy", p, "An SB3 zip without the config.json of the rewardlab run that wrote it")
        return _rebuild(p, algo, run)
    model = ALGORITHMS[algo].load(str(p), device="cpu")
    norm = None
    if (p.parent / NORMALIZATION).is_file() and run is not None:
        state = json.loads((p.parent / NORMALIZATION).read_text(encoding="utf-8"))
        norm = restore_normalization(state, DummyVecEnv([lambda: _Spaces(*agent_spaces(run))]))
    elif (p.parent / _LEGACY_NORMALIZATION).is_file():
        with open(p.parent / _LEGACY_NORMALIZATION, "rb") as f:
            norm = pickle.load(f)  # trusted by the caller
    return model, norm


def policy_from(
    policy: Any, space: Any, hidden_obs: Sequence[int] = (), *, deterministic: bool = False, trust: bool = False
) -> Policy:
    """The :class:`Policy` for a coverage policy given as ``"random"``, an SB3 model or a model path.

    Args:
        policy: ``"random"``, an SB3 model, or the path of a saved ``model.zip``.
        space: the action space (``"random"`` samples it).
        hidden_obs: dims of the raw observation the agent does not see.
        deterministic: for a model, act with its mode.
        trust: for a path, let :func:`load_agent` unpickle what it cannot read otherwise.
    """
    if isinstance(policy, str) and policy == "random":
        return RandomPolicy(space)
    norm = None
    if isinstance(policy, (str, Path)):
        policy, norm = load_agent(policy, trust=trust)
    elif hasattr(policy, "get_env") and policy.get_env() is not None:
        norm = unwrap_vec_wrapper(policy.get_env(), VecNormalize)
    return AgentPolicy(policy, deterministic=deterministic, hidden_obs=hidden_obs, normalization=norm)
