"""Fixed-length trajectory segments: what preferences compare.

Owns :class:`Segments` (with its array format) and :func:`collect_segments`, which rolls out a
policy (through :func:`~rewardlab.data.rollout`) on the *raw* suite env (hidden observation dims
included, as the rewards see them) and cuts each episode into consecutive fragments of ``length``
steps. A fragment never crosses an episode boundary; the last fragment of an episode, and any
episode shorter than ``length``, is padded with zeros and ``mask = False`` (never an error).
Every reward factor of the env is evaluated on the stored transitions, so a synthetic oracle or a
HERON ranking needs no further env access.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from rewardlab import suite
from rewardlab.data._policy import policy_from
from rewardlab.data._rollout import raw_vec_env, rollout
from rewardlab.data._transitions import check_count
from rewardlab.errors import ConfigError, message, unknown

__all__ = ["BuildsReward", "Segments", "Stateful", "collect_segments", "frozen"]


@runtime_checkable
class Stateful(Protocol):
    """A reward whose statistics move while ``training`` is True (running normalisation, an online
    model); whoever only *reads* it (a summary, a metric) sets it False meanwhile (:func:`frozen`)."""

    training: bool


@contextlib.contextmanager
def frozen(rewards: Sequence[Any]) -> Iterator[None]:
    """Inside the block every :class:`Stateful` reward of ``rewards`` has ``training = False``."""
    stateful = [fn for fn in rewards if isinstance(fn, Stateful)]
    flags = [fn.training for fn in stateful]
    for fn in stateful:
        fn.training = False
    try:
        yield
    finally:
        for fn, flag in zip(stateful, flags, strict=True):
            fn.training = flag


@runtime_checkable
class BuildsReward(Protocol):
    """Anything that binds to a suite env and gives a batched reward: a reward spec
    (:class:`rewardlab.rewards.RewardSpec` is one)."""

    def build(self, env: Any, spaces: Any = None) -> Any: ...


_FACTOR_PREFIX = "factor."
"""Key prefix of the factor arrays in :meth:`Segments.to_arrays`."""

_ARRAYS = ("obs", "actions", "next_obs", "dones", "truncated", "env_rewards", "mask")
"""The fixed arrays of :class:`Segments` (besides the factors), as stored on disk."""


@dataclass(frozen=True)
class Segments:
    """``n`` trajectory segments of ``L`` steps each, padded where an episode ended early.

    Padded steps hold zeros and ``mask = False``; every method that reduces over time
    (:meth:`returns`) ignores them.

    Example:
        >>> import rewardlab as rl
        >>> seg = collect_segments("cartpole", n_segments=3, length=50, seed=0)
        >>> len(seg), seg.obs.shape, seg.actions.shape, seg.mask.shape
        (3, (3, 50, 4), (3, 50), (3, 50))
        >>> sorted(seg.factors) == sorted(rl.suite.get("cartpole").factor_names)
        True
    """

    obs: np.ndarray
    """``(n, L) + obs_shape`` observations before each step (hidden dims included)."""
    actions: np.ndarray
    """``(n, L) + action_shape`` actions (``(n, L)`` for discrete spaces)."""
    next_obs: np.ndarray
    """``(n, L) + obs_shape`` observations after each step (the true final one at an episode end)."""
    dones: np.ndarray
    """``(n, L)`` bool, True where the step terminated the episode (truncation is not ``done``)."""
    truncated: np.ndarray
    """``(n, L)`` bool, True where the step hit the time limit."""
    env_rewards: np.ndarray
    """``(n, L)`` float64, the env's own reward of each step."""
    factors: Mapping[str, np.ndarray]
    """Every reward factor of the env: name -> ``(n, L)`` float64 values (0 on padding)."""
    mask: np.ndarray
    """``(n, L)`` bool, True on real steps, False on padding."""
    env: str = ""
    """The suite env name the segments come from."""

    def __post_init__(self) -> None:
        mask = np.asarray(self.mask)
        if mask.ndim != 2:
            raise ConfigError(message("mask", "an (n, L) bool array", mask.shape, "Pass one row per segment."))
        n, length = mask.shape
        for name in _ARRAYS[:-1]:
            shape = np.shape(getattr(self, name))
            if shape[:2] != (n, length):
                raise ConfigError(
                    message(name, f"of shape ({n}, {length}, ...) like `mask`", shape, "Pass one row per segment.")
                )
        if np.shape(self.next_obs) != np.shape(self.obs):
            raise ConfigError(message("next_obs", f"of shape {np.shape(self.obs)} like `obs`", np.shape(self.next_obs)))
        for name in ("dones", "truncated", "env_rewards"):
            if np.ndim(getattr(self, name)) != 2:
                raise ConfigError(message(name, f"an ({n}, {length}) array", np.shape(getattr(self, name))))
        factors = {}
        for key, value in self.factors.items():
            arr = np.asarray(value, dtype=np.float64)
            if arr.shape != (n, length):
                raise ConfigError(message(f"factors[{key!r}]", f"of shape ({n}, {length}) like `mask`", arr.shape))
            factors[str(key)] = arr
        object.__setattr__(self, "mask", mask.astype(bool))
        object.__setattr__(self, "dones", np.asarray(self.dones, dtype=bool))
        object.__setattr__(self, "truncated", np.asarray(self.truncated, dtype=bool))
        object.__setattr__(self, "env_rewards", np.asarray(self.env_rewards, dtype=np.float64))
        object.__setattr__(self, "factors", factors)

    def __len__(self) -> int:
        return int(self.mask.shape[0])

    @property
    def length(self) -> int:
        """``L``, the number of steps of every segment (padding included)."""
        return int(self.mask.shape[1])

    @property
    def obs_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.obs.shape[2:])

    @property
    def action_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.actions.shape[2:])

    def subset(self, index: Any) -> Segments:
        """The segments at ``index`` (an integer array, a boolean ``(n,)`` array or a slice)."""
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        return Segments(
            self.obs[index],
            self.actions[index],
            self.next_obs[index],
            self.dones[index],
            self.truncated[index],
            self.env_rewards[index],
            {k: v[index] for k, v in self.factors.items()},
            self.mask[index],
            self.env,
        )

    def concatenate(self, other: Segments) -> Segments:
        """These segments followed by ``other`` (same env, length, shapes and factors).

        Raises:
            ConfigError: ``other`` does not match (the message names what differs).
        """
        for what, mine, theirs in (
            ("env", self.env, other.env),
            ("length", self.length, other.length),
            ("obs_shape", self.obs_shape, other.obs_shape),
            ("action_shape", self.action_shape, other.action_shape),
            ("factors", sorted(self.factors), sorted(other.factors)),
        ):
            if mine != theirs:
                raise ConfigError(
                    message(f"segments.{what}", f"{mine!r} like the dataset's", theirs, "Collect them on the same env.")
                )
        return Segments.from_arrays(
            {k: np.concatenate([a, other.to_arrays()[k]]) for k, a in self.to_arrays().items()}, self.env
        )

    def returns(self, reward: Any = None, gamma: float = 1.0) -> np.ndarray:
        """The (discounted) return ``sum_t gamma^t r_t`` of each segment over its real steps.

        Args:
            reward: what to sum: ``None`` or ``"env"`` for the env's own reward; a mapping of
                factor weights ``{"angle_cost": -1.0}`` (a weighted sum of the stored factors);
                a :class:`~rewardlab.rewards.RewardSpec` (built for :attr:`env`); or any batched
                reward ``(obs, action, next_obs, done) -> (batch,)``, e.g. a
                :class:`~rewardlab.rewards.RewardFunction`. A callable is called once on all the
                real (unmasked) transitions, ``(k,) + obs_shape`` with ``k = mask.sum()``; a
                stateful reward (running normalisation) is evaluated with ``training = False``.
            gamma: discount in ``(0, 1]``; ``t`` counts from the segment's first step.

        Returns:
            ``(n,)`` float64 segment returns.

        Raises:
            ConfigError: bad ``gamma``, an unknown factor name, or a reward of the wrong shape.
        """
        if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or not 0.0 < gamma <= 1.0:
            raise ConfigError(message("gamma", "a number in (0, 1]", gamma, "Pass gamma=1.0 for plain sums."))
        values = self._step_rewards(reward)
        discount = float(gamma) ** np.arange(self.length, dtype=np.float64)
        return np.sum(np.where(self.mask, values, 0.0) * discount, axis=1)

    def _step_rewards(self, reward: Any) -> np.ndarray:
        """``(n, L)`` rewards of every step (anything on padding: it is masked)."""
        if reward is None or (isinstance(reward, str) and reward == "env"):
            return self.env_rewards
        if isinstance(reward, Mapping):
            total = np.zeros(self.mask.shape)
            for name, weight in reward.items():
                if name not in self.factors:
                    raise unknown("reward", str(name), self.factors, f"a reward factor of {self.env!r}")
                total = total + float(weight) * self.factors[name]
            return total
        if isinstance(reward, BuildsReward):
            reward = reward.build(self.env)
        if not callable(reward):
            raise ConfigError(
                message(
                    "reward",
                    "None, 'env', a mapping of factor weights, a RewardSpec or a batched reward function",
                    type(reward).__name__,
                )
            )
        m = self.mask
        with frozen([reward]):  # summarising segments must not move running statistics
            values = np.asarray(reward(self.obs[m], self.actions[m], self.next_obs[m], self.dones[m]), dtype=np.float64)
        k = int(m.sum())
        if values.shape != (k,):
            raise ConfigError(message("reward", f"an array of shape ({k},) for {k} transitions", values.shape))
        out = np.zeros(m.shape)
        out[m] = values
        return out

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Every array by name (factors as ``"factor.<name>"``), ready for ``np.savez``."""
        arrays = {name: getattr(self, name) for name in _ARRAYS}
        arrays.update({_FACTOR_PREFIX + k: v for k, v in self.factors.items()})
        return arrays

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], env: str = "") -> Segments:
        """Inverse of :meth:`to_arrays`; extra keys are ignored.

        Raises:
            ConfigError: an array is missing or has the wrong shape.
        """
        missing = [name for name in _ARRAYS if name not in arrays]
        if missing:
            raise ConfigError(
                message("segments", "arrays " + ", ".join(_ARRAYS), sorted(arrays), f"Missing {missing}.")
            )
        factors = {k[len(_FACTOR_PREFIX) :]: v for k, v in arrays.items() if k.startswith(_FACTOR_PREFIX)}
        a = {name: np.asarray(arrays[name]) for name in _ARRAYS}
        return cls(
            a["obs"], a["actions"], a["next_obs"], a["dones"], a["truncated"], a["env_rewards"], factors, a["mask"], env
        )


def collect_segments(
    env: Any,
    n_segments: int,
    length: int,
    policy: Any = "random",
    *,
    seed: int = 0,
    deterministic: bool = False,
    trust: bool = False,
) -> Segments:
    """Roll out ``policy`` on a suite env and cut the episodes into ``n_segments`` segments.

    Episodes are cut into consecutive fragments of ``length`` steps from their first step; the
    remainder of an episode (or an episode shorter than ``length``) becomes a padded segment
    (zeros, ``mask = False``). A new episode starts after a termination or truncation, so no
    segment crosses an episode boundary.

    Args:
        env: suite env name (``"pendulum"``), Gymnasium id or :class:`~rewardlab.suite.SuiteEnv`.
        n_segments: number of segments ``n`` (>= 1).
        length: steps per segment ``L`` (>= 1).
        policy: ``"random"``, an SB3 model or the path to a saved ``model.zip``; handled as in
            :func:`rewardlab.metrics.sample_transitions` (the model sees the agent's observation,
            without the hidden dims, normalised when the run used ``VecNormalize``).
        seed: seeds the env resets and the random actions.
        deterministic: for a model policy, act with its mode instead of sampling.
        trust: for a model path, let :func:`~rewardlab.data.load_agent` unpickle what it cannot read
            otherwise (an SB3 zip without its run's ``config.json``): only for files you trust.

    Returns:
        :class:`Segments` with every factor of the env evaluated on the real steps.

    Raises:
        ConfigError: bad ``n_segments``, ``length`` or ``policy``.
        UnknownNameError: ``env`` is unknown (the message suggests the closest name).
    """
    n = check_count("n_segments", n_segments, 1, "Pass n_segments=100 or more.")
    length = check_count("length", length, 1, "Pass length=50, for example.")
    suite_env = suite.get(env)
    if isinstance(policy, (str, Path)) and Path(policy).suffix == ".npz":
        raise ConfigError(
            message("policy", "'random', an SB3 model or a model.zip", str(policy), "Segments need live rollouts.")
        )
    venv = raw_vec_env(suite_env.make())
    act = policy_from(policy, venv.action_space, suite_env.hidden_obs, deterministic=deterministic, trust=trust)
    steps: list[Any] = []  # the rollout's steps, one sub-env each
    where: list[tuple[int, int]] = []  # (segment, t) of each step
    try:
        seg, t = 0, 0
        for step in rollout(venv, act, seed=seed):
            steps.append(step)
            where.append((seg, t))
            t += 1
            if step.ended[0] or t == length:
                seg, t = seg + 1, 0
            if seg == n:
                break
    finally:
        venv.close()

    rows, cols = (np.asarray(x) for x in zip(*where, strict=True))
    o, a, o2, term, trunc, r = (
        np.concatenate([getattr(s, name) for s in steps])
        for name in ("obs", "actions", "next_obs", "terminated", "truncated", "rewards")
    )

    def padded(values: np.ndarray, dtype: Any = None) -> np.ndarray:
        out = np.zeros((n, length, *values.shape[1:]), dtype=dtype or values.dtype)
        out[rows, cols] = values
        return out

    mask = padded(np.ones(len(steps), dtype=bool))
    done = term.astype(bool)
    factors = {}
    for f in suite_env.factors:
        # one batched call on the real transitions; padding stays 0
        factors[f.name] = padded(np.asarray(f.fn(o, a, o2, done), dtype=np.float64))
    return Segments(
        padded(o),
        padded(a),
        padded(o2),
        padded(done),
        padded(trunc.astype(bool)),
        padded(r.astype(np.float64)),
        factors,
        mask,
        suite_env.name,
    )
