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

import numpy as np
from pydantic import AfterValidator
from stable_baselines3 import A2C, DQN, PPO, SAC, TD3
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecNormalize, unwrap_vec_wrapper

from rewardlab.errors import ConfigError, message, unknown

__all__ = [
    "ALGORITHMS",
    "OFF_POLICY",
    "AgentName",
    "AgentPolicy",
    "Policy",
    "RandomPolicy",
    "load_agent",
    "policy_from",
]

ALGORITHMS: dict[str, type[BaseAlgorithm]] = {"ppo": PPO, "sac": SAC, "dqn": DQN, "a2c": A2C, "td3": TD3}
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


def _algorithm_of(path: Path, config: Path | None) -> str:
    if config is not None and config.is_file():
        run = json.loads(config.read_text(encoding="utf-8"))
        algo = run.get("agent_preset", {}).get("algo") or run.get("agent")
        if algo in ALGORITHMS:
            return str(algo)
    algo = _algorithm_in_zip(path)
    if algo is None:
        raise ConfigError(message("policy", "a model.zip saved by Stable-Baselines3", str(path), "Pass a model.zip."))
    return algo


def load_agent(path: str | Path, env: Any = None) -> tuple[BaseAlgorithm, VecNormalize | None]:
    """Load a saved SB3 agent and the observation normalisation saved beside it.

    The algorithm comes from the run's ``config.json`` beside the zip (a rewardlab run), else from
    the zip's own JSON header. ``vecnormalize.pkl`` beside the zip, when present, holds the run's
    normalisation statistics.

    Args:
        path: the agent's ``.zip``.
        env: an env to attach to the model (None: none).

    Returns:
        ``(model, normalization)``; ``normalization`` is None when the run did not normalise.

    Raises:
        ConfigError: the file is missing or is not an SB3 zip.
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(
            message("policy", "'random', an SB3 model .zip or a transitions .npz", str(path), "Check the path.")
        )
    algo = _algorithm_of(p, p.parent / "config.json")
    model = ALGORITHMS[algo].load(str(p), env=env, device="cpu")
    norm = None
    norm_path = p.parent / "vecnormalize.pkl"
    if norm_path.is_file():
        # the run's own statistics, written by rewardlab: the policy expects normalised observations
        with open(norm_path, "rb") as f:
            norm = pickle.load(f)
    return model, norm


def policy_from(policy: Any, space: Any, hidden_obs: Sequence[int] = (), *, deterministic: bool = False) -> Policy:
    """The :class:`Policy` for a coverage policy given as ``"random"``, an SB3 model or a model path.

    Args:
        policy: ``"random"``, an SB3 model, or the path of a saved ``model.zip``.
        space: the action space (``"random"`` samples it).
        hidden_obs: dims of the raw observation the agent does not see.
        deterministic: for a model, act with its mode.
    """
    if isinstance(policy, str) and policy == "random":
        return RandomPolicy(space)
    norm = None
    if isinstance(policy, (str, Path)):
        policy, norm = load_agent(policy)
    elif hasattr(policy, "get_env") and policy.get_env() is not None:
        norm = unwrap_vec_wrapper(policy.get_env(), VecNormalize)
    return AgentPolicy(policy, deterministic=deterministic, hidden_obs=hidden_obs, normalization=norm)
