"""Sample-based reward distances: EPIC and STARC-VAL estimated from transitions of an env.

The exact metrics of :mod:`rewardlab.metrics` need a tabular MDP. For continuous suite envs the
rewards are compared on a sample of transitions instead:

* the transitions come from :func:`rewardlab.data.sample_transitions` (a coverage policy on the
  *raw* suite env, so the rewards see every observation dim they see in training); this module
  only does the maths on them (no rollouts, no SB3);
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

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from rewardlab.config import Record
from rewardlab.data import Transitions, check_count, frozen
from rewardlab.errors import ConfigError, message, unknown

__all__ = [
    "ESTIMATORS",
    "Estimate",
    "epic_estimate",
    "estimate_distances",
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


# --- estimates ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate(Record):
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
    """``"epic"`` or ``"starc-val"`` (``"... (exact)"`` when computed on a tabular MDP)."""
    reason: str | None = None
    """Why the distance is undefined (then ``value`` and the interval are NaN), or None."""

    @property
    def defined(self) -> bool:
        """False when the distance is undefined (a trivial reward; see :attr:`reason`)."""
        return self.reason is None

    @classmethod
    def undefined(cls, reason: str, n_transitions: int, n_canonical_samples: int, method: str) -> Estimate:
        """An undefined distance: NaN value and interval, with the reason."""
        nan = math.nan
        return cls(nan, nan, nan, n_transitions, n_canonical_samples, method, reason)

    @classmethod
    def trivial(
        cls, names: Sequence[str], why: str, n_transitions: int, n_canonical_samples: int, method: str
    ) -> Estimate:
        """An undefined distance because the rewards ``names`` (one or two) are trivial, for the reason ``why``."""
        unique = list(dict.fromkeys(names))
        which = f"{unique[0]} and {unique[1]} are" if len(unique) == 2 else f"{unique[0]} is"
        return cls.undefined(f"{which} trivial: {why}", n_transitions, n_canonical_samples, method)

    def __str__(self) -> str:
        if self.reason is not None:
            return f"undefined ({self.reason})"
        return f"{self.value:.3f} [{self.ci_low:.3f}, {self.ci_high:.3f}]"


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
        An :class:`Estimate` in [0, 1]; undefined (NaN, with its ``reason``) when a reward is
        trivial (see :func:`estimate_distances`).

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
        An :class:`Estimate` in [0, 1]; undefined (NaN, with its ``reason``) when a reward is
        trivial (see :func:`estimate_distances`).

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
    names: Sequence[str] | None = None,
) -> list[list[Estimate]]:
    """Estimated distances between every pair of ``rewards``, as a symmetric matrix of estimates.

    All rewards share the canonical samples and the bootstrap resamples, so every entry is computed
    exactly as :func:`epic_estimate` / :func:`starc_val_estimate` would with the same seed. The
    diagonal is an exact 0 with a [0, 0] interval. A reward whose canonical form is constant
    (EPIC) or 0 (STARC-VAL) on the sample, such as CartPole's +1 per step for EPIC, is *trivial*:
    every distance to it, its diagonal included, is undefined (:meth:`Estimate.undefined`: NaN
    with the reason) rather than the 0.5 that standardising it to 0 would give. Stateful rewards
    (running normalisation) are evaluated with their statistics frozen.

    Args:
        rewards: two or more batched rewards.
        transitions: the coverage sample.
        metric: ``"epic"`` or ``"starc-val"``; the other arguments are those of the two estimators
            (each method ignores the other's).
        names: a name per reward for the reasons of undefined distances; ``reward <i>`` when None.

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
    n_bootstrap = check_count("n_bootstrap", n_bootstrap, 1)
    seeds = np.random.SeedSequence(seed).spawn(3)
    # counts[b, i]: how often transition i is in bootstrap resample b (shared by all rewards)
    counts = np.random.default_rng(seeds[0]).multinomial(n, np.full(n, 1.0 / n), size=n_bootstrap).astype(np.float64)
    # One BLAS thread: the matrices are small (k x k solves, (chunk, m) products), and threads
    # oversubscribe a busy machine (measured 20x slower under load).
    with threadpool_limits(limits=1), frozen(rewards):  # frozen: stateful rewards are read, not updated
        direct = [
            _reward(fn, transitions.obs, transitions.actions, transitions.next_obs, transitions.dones) for fn in rewards
        ]
        scales = [float(np.max(np.abs(r))) for r in direct]
        if metric == "epic":
            m = check_count("n_canonical", n_canonical, 1)
            point, boot = _epic_canonical(
                rewards, direct, transitions, gamma, m, states, actions, n_bootstrap, np.random.default_rng(seeds[1])
            )
            dist = _pearson_distance
        else:
            m = 0
            phi = _value_features(transitions, features, n_features, np.random.default_rng(seeds[1]))
            point, boot = _val_canonical(direct, transitions, gamma, phi, ridge, counts)
            dist = _l2_distance
    k = len(rewards)
    uniform = np.ones(n)
    centre = metric == "epic"
    trivial = [
        not np.any(_standardize(p, uniform, scale, centre=centre)) for p, scale in zip(point, scales, strict=True)
    ]
    if metric == "starc-val" and not transitions.dones.any():
        # A constant c without termination is the shaping of Φ = −c/(1 − γ): trivial, although the
        # ridge-regularised value fit leaves a few % of it in the canonical form.
        trivial = [
            t or not np.any(_standardize(r, uniform, s, centre=True))
            for t, r, s in zip(trivial, direct, scales, strict=True)
        ]
    labels = [f"reward {i}" for i in range(k)] if names is None else [repr(str(x)) for x in names]
    if len(labels) != k:
        raise ConfigError(message("names", f"{k} names, one per reward", len(labels)))
    out: list[list[Estimate]] = [[None] * k for _ in range(k)]  # type: ignore[list-item]
    for i in range(k):
        out[i][i] = Estimate(0.0, 0.0, 0.0, n, m, metric)
        if trivial[i]:
            out[i][i] = Estimate.trivial([labels[i]], _TRIVIAL[metric], n, m, metric)
        for j in range(i + 1, k):
            if trivial[i] or trivial[j]:
                which = [labels[x] for x in (i, j) if trivial[x]]
                out[i][j] = out[j][i] = Estimate.trivial(which, _TRIVIAL[metric], n, m, metric)
                continue
            value = dist(point[i], point[j], uniform, (scales[i], scales[j]))
            samples = dist(boot[i], boot[j], counts, (scales[i], scales[j]))
            low, high = np.percentile(samples, [2.5, 97.5])
            est = Estimate(float(value), float(low), float(high), n, m, metric)
            out[i][j] = out[j][i] = est
    return out


_TRIVIAL = {
    "epic": "its EPIC canonical form is constant on the sample (a constant reward plus potential shaping, as EPIC "
    "reads it; termination is not seen), so EPIC's correlation with it is 0/0",
    "starc-val": "its STARC-VAL canonical form is 0 on the sample (the reward is 0, or constant without "
    "termination, up to potential shaping), so it orders no policies and a distance to it means nothing",
}
"""Why a distance to a trivial reward is undefined, per estimator (see :func:`estimate_distances`)."""


def _reward(fn: RewardCallable, obs: Any, action: Any, next_obs: Any, done: Any) -> np.ndarray:
    r = np.asarray(fn(obs, action, next_obs, done), dtype=np.float64)
    if r.shape != (len(obs),):
        raise ConfigError(message("reward", f"an array of shape ({len(obs)},) per call", r.shape))
    if not np.all(np.isfinite(r)):
        raise ConfigError(message("reward", "finite on the sampled transitions", "NaN or inf", "Fix the reward."))
    return r


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
    n_features = check_count("n_features", n_features, 1)
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
