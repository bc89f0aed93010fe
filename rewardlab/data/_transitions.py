"""Transitions ``(s, a, s', done)`` and sampling them from a suite env under a coverage policy.

Owns :class:`Transitions` (with its ``.npz`` format) and :func:`sample_transitions`, the data
the sample-based metrics (:mod:`rewardlab.metrics`) compare rewards on.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rewardlab import suite
from rewardlab.data._policy import policy_from
from rewardlab.data._rollout import raw_vec_env, rollout
from rewardlab.errors import ConfigError, message
from rewardlab.runs import write_atomic

__all__ = ["Transitions", "check_count", "sample_transitions"]


@dataclass(frozen=True)
class Transitions:
    """A batch of transitions ``(s, a, s', done)`` as the rewards see them.

    ``done`` is the termination flag (a time-limit truncation is not ``done``); ``next_obs`` is
    the true final observation at an episode end. Save with :meth:`save`, load with :meth:`load`.

    Example:
        >>> import numpy as np
        >>> t = Transitions(np.zeros((4, 3)), np.zeros((4, 1)), np.ones((4, 3)), np.zeros(4, dtype=bool))
        >>> len(t), t.subset(np.array([0, 2])).obs.shape
        (4, (2, 3))
    """

    obs: np.ndarray
    """``(n,) + obs_shape`` observations before the step (hidden dims included)."""
    actions: np.ndarray
    """``(n,) + action_shape`` actions (``(n,)`` for discrete spaces)."""
    next_obs: np.ndarray
    """``(n,) + obs_shape`` observations after the step."""
    dones: np.ndarray
    """``(n,)`` bool, True where the step terminated the episode."""
    env: str = ""
    """The suite env they come from (informational; empty when unknown)."""

    def __post_init__(self) -> None:
        n = len(self.obs)
        for name in ("actions", "next_obs", "dones"):
            got = len(getattr(self, name))
            if got != n:
                raise ConfigError(message(name, f"of length {n} like `obs`", got, "Pass one row per transition."))
        if self.next_obs.shape != self.obs.shape:
            raise ConfigError(message("next_obs", f"of shape {self.obs.shape} like `obs`", self.next_obs.shape))
        if self.dones.ndim != 1:
            raise ConfigError(message("dones", "a (n,) array", self.dones.shape))
        object.__setattr__(self, "dones", np.asarray(self.dones, dtype=bool))

    def __len__(self) -> int:
        return len(self.obs)

    def subset(self, index: np.ndarray) -> Transitions:
        """The transitions at ``index`` (an integer or boolean array)."""
        return Transitions(self.obs[index], self.actions[index], self.next_obs[index], self.dones[index], self.env)

    def save(self, path: str | Path) -> Path:
        """Write the transitions to an ``.npz`` file (atomically); returns the path."""
        buffer = io.BytesIO()
        np.savez(
            buffer, obs=self.obs, actions=self.actions, next_obs=self.next_obs, dones=self.dones, env=np.str_(self.env)
        )
        write_atomic(path, buffer.getvalue())
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> Transitions:
        """Read transitions written by :meth:`save` (no pickles are loaded).

        Raises:
            ConfigError: the file is missing or lacks one of the arrays.
        """
        p = Path(path)
        if not p.is_file():
            raise ConfigError(message("transitions", "a readable .npz file", str(path), "Check the path."))
        try:
            with open(p, "rb") as f, np.load(f, allow_pickle=False) as data:  # our handle: closed on any error
                arrays = {k: data[k] for k in data.files}
        except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
            raise ConfigError(
                message("transitions", "an .npz file saved by Transitions.save", str(path), f"Unreadable: {exc}.")
            ) from None
        missing = sorted({"obs", "actions", "next_obs", "dones"} - set(arrays))
        if missing:
            raise ConfigError(
                message("transitions", "an .npz with obs, actions, next_obs, dones", str(path), f"Missing {missing}.")
            )
        env = str(arrays["env"]) if "env" in arrays else ""
        return cls(arrays["obs"], arrays["actions"], arrays["next_obs"], arrays["dones"], env)


def check_count(param: str, value: Any, minimum: int = 1, fix: str = "") -> int:
    """``value`` as an int, or a :class:`ConfigError` when it is not an integer ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(
            message(param, f"an integer >= {minimum}", value, fix or f"Pass {param}={max(minimum, 100)} or more.")
        )
    return int(value)


def sample_transitions(
    env: Any,
    n: int,
    policy: Any = "random",
    *,
    seed: int = 0,
    deterministic: bool = False,
    trust: bool = False,
) -> Transitions:
    """Sample ``n`` transitions of a suite env under a coverage policy.

    The raw env (``rewardlab.suite.get(env).make()``) is stepped, so the observations include the
    dims hidden from the agent: the rewards see what they see in training. Episodes are reset when
    they terminate or are truncated; ``dones`` marks terminations only.

    Args:
        env: suite env name (``"pendulum"``), Gymnasium id or :class:`~rewardlab.suite.SuiteEnv`.
        n: number of transitions (>= 1).
        policy: ``"random"`` (uniform samples of the action space), an SB3 model (it is given the
            agent's observation, without the hidden dims, normalised if the model's env has a
            ``VecNormalize``), a path to a saved SB3 ``model.zip`` (loaded by
            :func:`~rewardlab.data.load_agent`, with the ``vecnormalize.json`` beside it), or a
            path to an ``.npz`` dataset from :meth:`Transitions.save` (``n`` of its transitions
            are drawn without replacement).
        seed: seeds the env resets, the action sampling and the dataset draw.
        deterministic: for a model policy, act with its mode instead of sampling.
        trust: for a model path, let :func:`~rewardlab.data.load_agent` unpickle what it cannot read
            otherwise (an SB3 zip without its run's ``config.json``): only for files you trust.

    Returns:
        The :class:`Transitions`.

    Raises:
        ConfigError: bad ``n`` or ``policy``, or a dataset with fewer than ``n`` transitions.
    """
    n = check_count("n", n, 1)
    suite_env = suite.get(env)
    if isinstance(policy, (str, Path)) and Path(policy).suffix == ".npz":
        data = Transitions.load(policy)
        if len(data) < n:
            where = f"at most the {len(data)} transitions in {Path(policy).name}"
            raise ConfigError(message("n", where, n, "Lower n or sample more."))
        pick = np.sort(np.random.default_rng(seed).choice(len(data), size=n, replace=False))
        return Transitions(data.obs[pick], data.actions[pick], data.next_obs[pick], data.dones[pick], suite_env.name)
    venv = raw_vec_env(suite_env.make())
    act = policy_from(policy, venv.action_space, suite_env.hidden_obs, deterministic=deterministic, trust=trust)
    steps = []
    try:
        for step in rollout(venv, act, seed=seed):
            steps.append(step)
            if len(steps) == n:
                break
    finally:
        venv.close()
    return Transitions(
        np.concatenate([s.obs for s in steps]),
        np.concatenate([s.actions for s in steps]),
        np.concatenate([s.next_obs for s in steps]),
        np.concatenate([s.terminated for s in steps]),
        suite_env.name,
    )
