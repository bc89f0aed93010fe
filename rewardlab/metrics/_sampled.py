"""Sample-based reward distances: EPIC and STARC-VAL estimated from transitions of an env.

The exact metrics of :mod:`rewardlab.metrics` need a tabular MDP. For continuous suite envs the
rewards are compared on a sample of transitions instead:

* :func:`sample_transitions` rolls out a coverage policy (random, an SB3 model, or a stored
  ``.npz`` dataset) on the *raw* suite env, so the rewards see every observation dim they see in
  training (hidden dims included);
* :func:`epic_estimate` -- EPIC (Gleave et al., ICLR 2021) with the sample canonicalisation
  ``C(R)(s, a, s') = R(s, a, s') + E[γR(s', A, S') − R(s, A, S') − γR(S, A, S')]``, the expectation
  a Monte Carlo mean over ``m`` draws of independent ``S, S' ~ D_S`` and ``A ~ D_A``, then the
  Pearson distance ``√((1 − ρ)/2)`` over the transitions;
* :func:`starc_val_estimate` -- STARC with Value-Adjusted Levelling (Skalse et al., ICLR 2024):
  ``V^π`` of each reward under the coverage policy is fitted by LSTD (the TD(0) fixed point) on
  random Fourier features, ``c(R)(s, a, s') = R(s, a, s') − V(s) + γ V(s')(1 − done)`` on the
  sample, standardised by its sample L2 norm; the distance is ``‖ŝ₁ − ŝ₂‖ / 2`` (halved, in [0, 1],
  as :func:`~rewardlab.metrics.starc_distance`);
* :func:`estimate_distances` -- all pairs of several rewards at once (what ``rewardlab compare``
  uses); every reward sees the same canonical samples and bootstrap resamples.

Every estimate is an :class:`Estimate` with a 95% percentile-bootstrap interval. The bootstrap
resamples the transitions and, for EPIC, also the ``m`` canonical samples (so the interval covers
the Monte Carlo error of the canonicalisation); for STARC-VAL each resample refits V.

Terminal transitions: the observed transitions keep their ``done`` flags (a reward is read as it
was experienced in training), while the imaginary transitions of the EPIC canonicalisation
``(s', A, S')``, ``(s, A, S')`` and ``(S, A, S')`` use ``done = False``, as evaluating-rewards does
("fudge EPIC", its PR #41): the canonicalisation is an infinite-horizon construction. Potential
shaping is therefore removed exactly on every non-terminal transition; on a terminal one, a shaped
reward whose potential is zeroed at termination (``rewardlab.rewards.Shaped``) differs by
``−γΦ(s')``.

Determinism: with the same ``seed`` every estimate is bit-for-bit reproducible; ``d(R, R)`` is
exactly 0 and ``d(R, −R)`` is 1 up to rounding (both canonicalisations are linear in R and the
same samples serve both rewards).
"""

from __future__ import annotations

import json
import math
import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from rewardlab.errors import ConfigError, message, unknown

__all__ = [
    "ESTIMATORS",
    "Estimate",
    "Transitions",
    "epic_estimate",
    "estimate_distances",
    "sample_transitions",
    "starc_val_estimate",
]

ESTIMATORS = ("epic", "starc-val")
"""The metric names :func:`estimate_distances` accepts."""

ZERO_TOL = 1e-9
"""Relative tolerance under which a canonical reward counts as 0 (as the exact metrics use)."""

_CHUNK_ROWS = 1 << 18
"""Rows per call of a reward function in the EPIC canonicalisation (bounds memory)."""

RewardCallable = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]
"""A batched reward ``(obs, action, next_obs, done) -> (batch,)`` (:class:`rewardlab.rewards.RewardFn`)."""

FeatureFn = Callable[[np.ndarray], np.ndarray]
"""A batched feature map ``(batch,) + obs_shape -> (batch, k)`` for the value fit of STARC-VAL."""


# --- transitions ----------------------------------------------------------------------------------


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
        import io

        from rewardlab.runs import write_atomic

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
            with np.load(p, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except (ValueError, OSError) as exc:
            raise ConfigError(message("transitions", "an .npz file saved by Transitions.save", str(path))) from exc
        missing = sorted({"obs", "actions", "next_obs", "dones"} - set(arrays))
        if missing:
            raise ConfigError(
                message("transitions", "an .npz with obs, actions, next_obs, dones", str(path), f"Missing {missing}.")
            )
        env = str(arrays["env"]) if "env" in arrays else ""
        return cls(arrays["obs"], arrays["actions"], arrays["next_obs"], arrays["dones"], env)


def _check_count(param: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(
            message(param, f"an integer >= {minimum}", value, f"Pass {param}={max(minimum, 100)} or more.")
        )
    return int(value)


def sample_transitions(
    env: Any,
    n: int,
    policy: Any = "random",
    *,
    seed: int = 0,
    deterministic: bool = False,
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
            ``VecNormalize``), a path to a saved SB3 ``model.zip`` (its algorithm is read from the
            run's ``config.json`` beside it when present, and a ``vecnormalize.pkl`` beside it is
            applied), or a path to an ``.npz`` dataset from :meth:`Transitions.save` (``n`` of
            its transitions are drawn without replacement).
        seed: seeds the env resets, the action sampling and the dataset draw.
        deterministic: for a model policy, act with its mode instead of sampling.

    Returns:
        The :class:`Transitions`.

    Raises:
        ConfigError: bad ``n`` or ``policy``, or a dataset with fewer than ``n`` transitions.
    """
    from rewardlab import suite

    n = _check_count("n", n, 1)
    suite_env = suite.get(env)
    if isinstance(policy, (str, Path)) and str(policy) != "random":
        path = Path(policy)
        if path.suffix == ".npz":
            data = Transitions.load(path)
            if len(data) < n:
                raise ConfigError(
                    message("n", f"at most the {len(data)} transitions in {path.name}", n, "Lower n or sample more.")
                )
            pick = np.sort(np.random.default_rng(seed).choice(len(data), size=n, replace=False))
            return Transitions(
                data.obs[pick], data.actions[pick], data.next_obs[pick], data.dones[pick], suite_env.name
            )
        policy, obs_norm = _load_model(path)
    else:
        obs_norm = None
    act = _policy_fn(policy, suite_env, deterministic, obs_norm)

    raw = suite_env.make()
    try:
        raw.action_space.seed(seed)
        obs, _ = raw.reset(seed=seed)
        obs_list, act_list, next_list, done_list = [], [], [], []
        for _ in range(n):
            action = act(obs, raw.action_space)
            next_obs, _, terminated, truncated, _ = raw.step(action)
            obs_list.append(np.asarray(obs))
            act_list.append(np.asarray(action))
            next_list.append(np.asarray(next_obs))
            done_list.append(bool(terminated))
            obs = raw.reset()[0] if terminated or truncated else next_obs
    finally:
        raw.close()
    return Transitions(
        np.stack(obs_list), np.stack(act_list), np.stack(next_list), np.asarray(done_list, dtype=bool), suite_env.name
    )


def _load_model(path: Path) -> tuple[Any, Any]:
    """Load an SB3 model zip and the ``VecNormalize`` beside it (or None).

    The algorithm comes from a sibling ``config.json`` (a rewardlab run) or each one is tried in turn.
    """
    from rewardlab.agents import ALGORITHMS

    if not path.is_file():
        raise ConfigError(
            message("policy", "'random', an SB3 model .zip or a transitions .npz", str(path), "Check the path.")
        )
    algo = None
    config = path.parent / "config.json"
    if config.is_file():
        algo = json.loads(config.read_text(encoding="utf-8")).get("agent_preset", {}).get("algo")
    classes = [ALGORITHMS[algo]] if algo in ALGORITHMS else list(ALGORITHMS.values())
    model = None
    for cls in classes:
        try:
            model = cls.load(str(path), device="cpu")
            break
        except Exception:  # SB3 raises assorted errors for the wrong algorithm: try the next one
            continue
    if model is None:
        raise ConfigError(message("policy", "a model.zip saved by Stable-Baselines3", str(path), "Pass a model.zip."))
    norm = None
    norm_path = path.parent / "vecnormalize.pkl"
    if norm_path.is_file():
        # the run's own statistics, written by rewardlab.train: the policy expects normalised observations
        with open(norm_path, "rb") as f:
            norm = pickle.load(f)
    return model, norm


def _policy_fn(policy: Any, suite_env: Any, deterministic: bool, norm: Any = None) -> Callable[[np.ndarray, Any], Any]:
    """A function ``(raw obs, action_space) -> action`` for the coverage policy."""
    if isinstance(policy, str) and policy == "random":
        return lambda obs, space: space.sample()
    if not hasattr(policy, "predict"):
        raise ConfigError(
            message("policy", "'random', an SB3 model or a path", type(policy).__name__, "Pass a model or 'random'.")
        )
    hidden = list(suite_env.hidden_obs)
    if norm is None and policy.get_env() is not None:
        from stable_baselines3.common.vec_env import VecNormalize

        from rewardlab._make import find_wrapper

        norm = find_wrapper(policy.get_env(), VecNormalize)

    def act(obs: np.ndarray, space: Any) -> Any:
        agent_obs = np.delete(np.asarray(obs), hidden, axis=-1) if hidden else np.asarray(obs)
        if norm is not None and getattr(norm, "norm_obs", False):
            agent_obs = norm.normalize_obs(agent_obs)
        action, _ = policy.predict(agent_obs, deterministic=deterministic)
        return action

    return act


# --- estimates ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    """A reward distance estimated from samples, with a 95% bootstrap interval."""

    value: float
    """The point estimate on all transitions (and all canonical samples)."""
    ci_low: float
    """2.5th percentile of the bootstrap distribution."""
    ci_high: float
    """97.5th percentile of the bootstrap distribution."""
    n_transitions: int
    """Number of transitions the distance is measured on."""
    n_canonical_samples: int
    """EPIC: number m of Monte Carlo draws of (S, A, S') in the canonicalisation; 0 for STARC-VAL."""
    method: str
    """``"epic"`` or ``"starc-val"``."""

    def __str__(self) -> str:
        return f"{self.value:.3f} [{self.ci_low:.3f}, {self.ci_high:.3f}]"

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "n_transitions": self.n_transitions,
            "n_canonical_samples": self.n_canonical_samples,
            "method": self.method,
        }


def epic_estimate(
    reward1: RewardCallable,
    reward2: RewardCallable,
    transitions: Transitions,
    *,
    gamma: float = 0.99,
    n_canonical: int = 512,
    states: np.ndarray | None = None,
    actions: np.ndarray | None = None,
    n_bootstrap: int = 200,
    seed: int = 0,
) -> Estimate:
    """EPIC between two batched rewards, estimated on ``transitions``.

    Args:
        reward1: a batched reward ``(obs, action, next_obs, done) -> (batch,)``, e.g. a
            :class:`~rewardlab.rewards.RewardFunction`.
        reward2: same, for the second reward.
        transitions: the coverage sample ``(s, a, s')`` the Pearson distance is measured on.
        gamma: the discount γ of the canonicalisation (use the agent's; shaping specs use 0.99).
        n_canonical: m, the Monte Carlo draws of ``(S, A, S')`` per transition.
        states: ``(k,) + obs_shape`` pool for D_S (drawn uniformly with replacement); the
            observations and next observations of ``transitions`` when None.
        actions: ``(k,) + action_shape`` pool for D_A; the actions of ``transitions`` when None.
        n_bootstrap: bootstrap resamples for the interval.
        seed: seeds the canonical draws and the bootstrap.

    Returns:
        An :class:`Estimate` in [0, 1].

    Raises:
        ConfigError: bad counts, γ or pools.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> t = Transitions(rng.normal(size=(200, 2)), rng.normal(size=(200, 1)), rng.normal(size=(200, 2)),
        ...                 np.zeros(200, dtype=bool))
        >>> r = lambda o, a, n, d: o[:, 0] + a[:, 0]
        >>> shaped = lambda o, a, n, d: r(o, a, n, d) + 0.9 * n[:, 1] ** 2 - o[:, 1] ** 2
        >>> round(epic_estimate(r, shaped, t, gamma=0.9, n_canonical=64).value, 9)
        0.0
    """
    matrix = estimate_distances(
        [reward1, reward2],
        transitions,
        "epic",
        gamma=gamma,
        n_canonical=n_canonical,
        states=states,
        actions=actions,
        n_bootstrap=n_bootstrap,
        seed=seed,
    )
    return matrix[0][1]


def starc_val_estimate(
    reward1: RewardCallable,
    reward2: RewardCallable,
    transitions: Transitions,
    *,
    gamma: float = 0.99,
    features: FeatureFn | None = None,
    n_features: int = 128,
    ridge: float = 1e-6,
    n_bootstrap: int = 200,
    seed: int = 0,
) -> Estimate:
    """STARC-VAL between two batched rewards, estimated on ``transitions`` (halved, in [0, 1]).

    ``V^π`` of each reward under the policy that generated ``transitions`` is the LSTD solution
    (the TD(0) fixed point) ``w = (Φᵀ(Φ − γ(1 − d)Φ') + λI)⁻¹ Φᵀ r`` on a feature map Φ. It is
    linear in the reward, so the canonicalisation is too: ``d(R, kR) = 0`` for k > 0 and
    ``d(R, −R) = 1`` exactly. The canonical reward on the sample is the single-sample form
    ``R(s, a, s') − V(s) + γV(s')(1 − done)``; with deterministic dynamics (all suite envs) this is
    VAL's ``E_{S'}[...]`` exactly, with stochastic dynamics it keeps the noise over S' (the form the
    reference notes calls "VALPotential"). Invariance to potential shaping holds to the extent the
    features represent the potential; it is exact with tabular (one-hot) features.

    Args:
        reward1: a batched reward ``(obs, action, next_obs, done) -> (batch,)``.
        reward2: same, for the second reward.
        transitions: on-policy transitions of the coverage policy π.
        gamma: the discount γ < 1 of V^π.
        features: a feature map ``(batch,) + obs_shape -> (batch, k)``; when None, ``n_features``
            random Fourier features of the standardised observation, plus the observation itself
            and a constant.
        n_features: number of random Fourier features of the default map.
        ridge: ridge λ, relative to the mean squared feature norm.
        n_bootstrap: bootstrap resamples for the interval (each refits V).
        seed: seeds the random features and the bootstrap.

    Returns:
        An :class:`Estimate` in [0, 1].

    Raises:
        ConfigError: bad counts, γ or features.
    """
    matrix = estimate_distances(
        [reward1, reward2],
        transitions,
        "starc-val",
        gamma=gamma,
        features=features,
        n_features=n_features,
        ridge=ridge,
        n_bootstrap=n_bootstrap,
        seed=seed,
    )
    return matrix[0][1]


def estimate_distances(
    rewards: Sequence[RewardCallable],
    transitions: Transitions,
    metric: str = "epic",
    *,
    gamma: float = 0.99,
    n_canonical: int = 512,
    states: np.ndarray | None = None,
    actions: np.ndarray | None = None,
    features: FeatureFn | None = None,
    n_features: int = 128,
    ridge: float = 1e-6,
    n_bootstrap: int = 200,
    seed: int = 0,
) -> list[list[Estimate]]:
    """Estimated distances between every pair of ``rewards``, as a symmetric matrix of estimates.

    All rewards share the canonical samples and the bootstrap resamples, so every entry is computed
    exactly as :func:`epic_estimate` / :func:`starc_val_estimate` would with the same seed. The
    diagonal is an exact 0 with a [0, 0] interval. Stateful rewards (running normalisation) are
    evaluated with their statistics frozen.

    Args:
        rewards: two or more batched rewards.
        transitions: the coverage sample.
        metric: ``"epic"`` or ``"starc-val"``; the other arguments are those of the two estimators
            (each method ignores the other's).

    Returns:
        ``K x K`` nested lists of :class:`Estimate`.

    Raises:
        ConfigError: bad arguments.
        UnknownNameError: unknown ``metric``.
    """
    if metric not in ESTIMATORS:
        raise unknown("metric", metric, ESTIMATORS, "a sample-based metric")
    if not isinstance(transitions, Transitions):
        raise ConfigError(
            message("transitions", "a Transitions", type(transitions).__name__, "Use sample_transitions.")
        )
    n = len(transitions)
    if n < 2:
        raise ConfigError(message("transitions", "at least 2 transitions", n, "Sample more."))
    if len(rewards) < 1 or not all(callable(r) for r in rewards):
        raise ConfigError(message("rewards", "a list of batched reward callables", rewards))
    if isinstance(gamma, bool) or not isinstance(gamma, (int, float, np.floating)) or not 0.0 < gamma < 1.0:
        raise ConfigError(
            message("gamma", "in the open interval (0, 1)", gamma, "Pass the agent's discount, e.g. 0.99.")
        )
    n_bootstrap = _check_count("n_bootstrap", n_bootstrap, 1)
    seeds = np.random.SeedSequence(seed).spawn(3)
    # counts[b, i]: how often transition i is in bootstrap resample b (shared by all rewards)
    counts = np.random.default_rng(seeds[0]).multinomial(n, np.full(n, 1.0 / n), size=n_bootstrap).astype(np.float64)
    frozen = _freeze(rewards)
    # One BLAS thread: the matrices are small (k x k solves, (chunk, m) products), and threads
    # oversubscribe a busy machine (measured 20x slower under load).
    limits = threadpool_limits(limits=1)
    try:
        direct = [
            _reward(fn, transitions.obs, transitions.actions, transitions.next_obs, transitions.dones) for fn in rewards
        ]
        scales = [float(np.max(np.abs(r))) for r in direct]
        if metric == "epic":
            m = _check_count("n_canonical", n_canonical, 1)
            point, boot = _epic_canonical(
                rewards, direct, transitions, gamma, m, states, actions, n_bootstrap, np.random.default_rng(seeds[1])
            )
            dist = _pearson_distance
        else:
            m = 0
            phi = _value_features(transitions, features, n_features, np.random.default_rng(seeds[1]))
            point, boot = _val_canonical(direct, transitions, gamma, phi, ridge, counts)
            dist = _l2_distance
    finally:
        limits.restore_original_limits()
        _unfreeze(rewards, frozen)
    k = len(rewards)
    uniform = np.ones(n)
    out: list[list[Estimate]] = [[None] * k for _ in range(k)]  # type: ignore[list-item]
    for i in range(k):
        out[i][i] = Estimate(0.0, 0.0, 0.0, n, m, metric)
        for j in range(i + 1, k):
            value = dist(point[i], point[j], uniform, (scales[i], scales[j]))
            samples = dist(boot[i], boot[j], counts, (scales[i], scales[j]))
            low, high = np.percentile(samples, [2.5, 97.5])
            est = Estimate(float(value), float(low), float(high), n, m, metric)
            out[i][j] = out[j][i] = est
    return out


def _reward(fn: RewardCallable, obs: Any, action: Any, next_obs: Any, done: Any) -> np.ndarray:
    r = np.asarray(fn(obs, action, next_obs, done), dtype=np.float64)
    if r.shape != (len(obs),):
        raise ConfigError(message("reward", f"an array of shape ({len(obs)},) per call", r.shape))
    if not np.all(np.isfinite(r)):
        raise ConfigError(message("reward", "finite on the sampled transitions", "NaN or inf", "Fix the reward."))
    return r


def _freeze(rewards: Sequence[Any]) -> list[Any]:
    """Set ``training = False`` on stateful reward functions; returns the old flags."""
    old = []
    for fn in rewards:
        old.append(getattr(fn, "training", None))
        if old[-1] is not None:
            fn.training = False
    return old


def _unfreeze(rewards: Sequence[Any], old: list[Any]) -> None:
    for fn, flag in zip(rewards, old, strict=True):
        if flag is not None:
            fn.training = flag


# --- EPIC -----------------------------------------------------------------------------------------


def _epic_canonical(
    rewards: Sequence[RewardCallable],
    direct: list[np.ndarray],
    transitions: Transitions,
    gamma: float,
    m: int,
    states: np.ndarray | None,
    actions: np.ndarray | None,
    n_bootstrap: int,
    rng: np.random.Generator,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Point ``(n,)`` and bootstrap ``(B, n)`` canonical rewards of each reward.

    With m shared draws ``(S_j, A_j, S'_j)``:
    ``C(s, a, s') = R(s, a, s') + mean_j[γR(s', A_j, S'_j) − R(s, A_j, S'_j)] − γ mean_j R(S_j, A_j, S'_j)``.
    The bootstrap reweights the m draws with multinomial counts (the same for every transition).
    """
    obs, next_obs = transitions.obs, transitions.next_obs
    pool_s = np.concatenate([obs, next_obs]) if states is None else np.asarray(states)
    pool_a = transitions.actions if actions is None else np.asarray(actions)
    if len(pool_s) == 0 or pool_s.shape[1:] != obs.shape[1:]:
        raise ConfigError(message("states", f"a non-empty (k,) + {obs.shape[1:]} array", pool_s.shape))
    if len(pool_a) == 0 or pool_a.shape[1:] != transitions.actions.shape[1:]:
        raise ConfigError(message("actions", f"a non-empty (k,) + {transitions.actions.shape[1:]} array", pool_a.shape))
    s_j = pool_s[rng.integers(len(pool_s), size=m)]
    a_j = pool_a[rng.integers(len(pool_a), size=m)]
    s2_j = pool_s[rng.integers(len(pool_s), size=m)]
    # weights[j, b] / m: the weight of draw j in bootstrap resample b (column-stochastic after / m)
    weights = rng.multinomial(m, np.full(m, 1.0 / m), size=n_bootstrap).T.astype(np.float64) / m
    no_done_m = np.zeros(m, dtype=bool)
    n = len(transitions)
    rows = max(1, _CHUNK_ROWS // (2 * m))  # transitions per reward call
    point, boot = [], []
    for fn, r in zip(rewards, direct, strict=True):
        level = _reward(fn, s_j, a_j, s2_j, no_done_m)  # R(S_j, A_j, S'_j)
        mean_point = np.empty(n)
        mean_boot = np.empty((n, n_bootstrap))
        for start in range(0, n, rows):
            stop = min(start + rows, n)
            k = stop - start
            # one call for both terms: rows [0, k·m) are (s'_i, A_j, S'_j), rows [k·m, 2k·m) are (s_i, A_j, S'_j)
            from_obs = np.concatenate(
                [np.repeat(next_obs[start:stop], m, axis=0), np.repeat(obs[start:stop], m, axis=0)]
            )
            acts = np.concatenate([a_j] * (2 * k))
            to_obs = np.concatenate([s2_j] * (2 * k))
            values = _reward(fn, from_obs, acts, to_obs, np.zeros(2 * k * m, dtype=bool)).reshape(2, k, m)
            diff = gamma * values[0] - values[1]  # (k, m)
            mean_point[start:stop] = diff.mean(axis=1)
            mean_boot[start:stop] = diff @ weights
        point.append(r + mean_point - gamma * level.mean())
        boot.append(r[None, :] + mean_boot.T - gamma * (level @ weights)[:, None])
    return point, boot


def _pearson_distance(x: np.ndarray, y: np.ndarray, w: np.ndarray, scales: tuple[float, float]) -> np.ndarray:
    """``√((1 − ρ)/2) = ½ ‖x̂ − ŷ‖`` with weights ``w`` over the last axis (rows are resamples).

    Computed from the standardised vectors rather than from ρ: the square root of ``1 − ρ`` turns a
    1e-16 rounding error into a 1e-8 distance. A vector whose weighted spread is at most
    ``1e-9 · max|R|`` is standardised to 0 (a trivial reward).
    """
    x_hat = _standardize(x, w, scales[0], centre=True)
    y_hat = _standardize(y, w, scales[1], centre=True)
    d = x_hat - y_hat
    return np.clip(0.5 * np.sqrt(np.sum(w * d * d, axis=-1) / np.sum(w, axis=-1)), 0.0, 1.0)


def _l2_distance(x: np.ndarray, y: np.ndarray, w: np.ndarray, scales: tuple[float, float]) -> np.ndarray:
    """``½ ‖x/‖x‖ − y/‖y‖‖`` in the weighted sample L2 norm (rows are resamples)."""
    x_hat = _standardize(x, w, scales[0], centre=False)
    y_hat = _standardize(y, w, scales[1], centre=False)
    d = x_hat - y_hat
    return np.clip(0.5 * np.sqrt(np.sum(w * d * d, axis=-1) / np.sum(w, axis=-1)), 0.0, 1.0)


def _standardize(x: np.ndarray, w: np.ndarray, scale: float, *, centre: bool) -> np.ndarray:
    total = np.sum(w, axis=-1, keepdims=True)
    if centre:
        x = x - np.sum(w * x, axis=-1, keepdims=True) / total
    spread = np.sqrt(np.sum(w * x * x, axis=-1, keepdims=True) / total)
    trivial = (spread <= ZERO_TOL * scale) | (spread == 0.0)
    return np.where(trivial, 0.0, x / np.where(trivial, 1.0, spread))


# --- STARC-VAL ------------------------------------------------------------------------------------


def _value_features(
    transitions: Transitions, features: FeatureFn | None, n_features: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Features ``Φ(s)`` and ``Φ(s')`` of the transitions: ``(n, k)`` each."""
    obs, next_obs = transitions.obs, transitions.next_obs
    if features is not None:
        phi, phi_next = np.asarray(features(obs), dtype=np.float64), np.asarray(features(next_obs), dtype=np.float64)
        if phi.ndim != 2 or phi.shape[0] != len(obs) or phi.shape != phi_next.shape:
            raise ConfigError(message("features", f"a map to ({len(obs)}, k) arrays", phi.shape))
        return phi, phi_next
    n_features = _check_count("n_features", n_features, 1)
    flat, flat_next = obs.reshape(len(obs), -1).astype(np.float64), next_obs.reshape(len(obs), -1).astype(np.float64)
    both = np.concatenate([flat, flat_next])
    mean, std = both.mean(axis=0), both.std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)
    dim = flat.shape[1]
    # bandwidth ~ the typical distance between standardised points, so the features vary on the data's scale
    freq = rng.normal(size=(dim, n_features)) / math.sqrt(dim)
    phase = rng.uniform(0.0, 2.0 * math.pi, size=n_features)

    def rff(x: np.ndarray) -> np.ndarray:
        z = (x - mean) / std
        return np.concatenate([math.sqrt(2.0 / n_features) * np.cos(z @ freq + phase), z, np.ones((len(z), 1))], axis=1)

    return rff(flat), rff(flat_next)


def _val_canonical(
    direct: list[np.ndarray],
    transitions: Transitions,
    gamma: float,
    phi_pair: tuple[np.ndarray, np.ndarray],
    ridge: float,
    counts: np.ndarray,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Point ``(n,)`` and bootstrap ``(B, n)`` VAL canonical rewards; V is refitted per resample."""
    if isinstance(ridge, bool) or not isinstance(ridge, (int, float)) or ridge < 0:
        raise ConfigError(message("ridge", "a nonnegative number", ridge))
    phi, phi_next = phi_pair
    alive = (~transitions.dones).astype(np.float64)
    td = phi - gamma * alive[:, None] * phi_next  # Φ(s) − γ(1 − d)Φ(s')
    rewards = np.stack(direct, axis=1)  # (n, K)
    lam = ridge * float(np.mean(np.sum(phi * phi, axis=1)))
    eye = np.eye(phi.shape[1])

    def canonical(weights: np.ndarray) -> np.ndarray:
        a = (phi * weights[:, None]).T @ td / len(weights) + lam * eye
        b = (phi * weights[:, None]).T @ rewards / len(weights)
        w = np.linalg.solve(a, b)  # (k, K): LSTD weights of every reward at once
        return rewards - phi @ w + gamma * alive[:, None] * (phi_next @ w)  # (n, K)

    point = canonical(np.ones(len(alive)))
    boot = np.stack([canonical(c) for c in counts])  # (B, n, K)
    k = rewards.shape[1]
    return [point[:, i] for i in range(k)], [boot[:, :, i] for i in range(k)]
