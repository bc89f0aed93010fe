"""The reward kinds that train a model when built: HERON (``hierarchical``) and ``learned`` with
``preferences`` (synthetic Boltzmann labels).

Owns HERON's pairing and labelling of minibatches (:func:`heron_pairs`, :func:`level_stats`), its
offline and online reward functions (:class:`HeronReward`, :class:`OnlineHeronReward`), and the two
builders that :mod:`rewardlab.preferences` registers into the reward-kind registry
(:func:`build_hierarchical`, :func:`build_learned`). A trained model is kept for the process and,
when a :class:`~rewardlab.rewards.ModelStore` is active (a sweep's ``reward_models/``), saved there
and loaded from there by every later process.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import torch

from rewardlab import suite
from rewardlab.data import collect_segments
from rewardlab.preferences._active import select_pairs
from rewardlab.preferences._bradley_terry import bradley_terry_loss, train_reward_model
from rewardlab.preferences._dataset import PreferenceDataset
from rewardlab.preferences._hierarchical import hierarchical_labels
from rewardlab.preferences._oracles import BoltzmannOracle, label_pairs
from rewardlab.rewards import (
    Array,
    Computed,
    FeatureSpec,
    Hierarchical,
    Learned,
    LearningReward,
    ModelReward,
    RewardFunction,
    RewardModel,
    active_model_store,
    factor_values,
)

__all__ = ["HeronReward", "OnlineHeronReward", "build_hierarchical", "build_learned", "heron_pairs", "level_stats"]

# Offline models are trained once per (env, spec) in a process: `rewardlab train` builds the reward
# to validate the config, to train and to evaluate, and a sweep worker runs several seeds.
_CACHE: dict[str, tuple[RewardModel, dict[str, Any]]] = {}
_LOCK = threading.Lock()


def heron_pairs(
    factors: np.ndarray,
    spec: Hierarchical,
    env: suite.SuiteEnv,
    n_batches: int,
    rng: np.random.Generator,
    buffer_std: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw HERON's minibatches, pair every two samples inside each and label the pairs.

    Args:
        factors: ``(N, K)`` factor values of the samples, columns in ``spec.ranking`` order.
        spec: the hierarchical spec (margins, directions, ties, batch size).
        env: the suite env (default directions).
        n_batches: minibatches of ``spec.batch_size`` samples, drawn with replacement.
        rng: the random generator (pairing is the only randomness; labels are deterministic).
        buffer_std: ``(K,)`` std of each factor over all data (``margin_stat = "buffer"``);
            computed from ``factors`` when None.

    Returns:
        ``(pairs, labels, levels)``: ``(M, 2)`` sample indices, ``(M,)`` labels (NaN = tied at every
        level when ``ties = "drop"``, else 0.5) and ``(M,)`` deciding level (-1 = tied).
    """
    n, k = factors.shape
    m = spec.batch_size
    idx = rng.integers(0, n, size=(n_batches, m))
    iu, ju = np.triu_indices(m, 1)
    a = idx[:, iu]  # (n_batches, m(m-1)/2)
    b = idx[:, ju]
    mult = np.array([spec.margins()[name] for name in spec.ranking])
    directions = spec.directions(env)
    signs_hib = [directions[name] for name in spec.ranking]
    if spec.margin_type == "absolute":
        fa, fb, deltas = factors[a.ravel()], factors[b.ravel()], mult
    elif spec.margin_stat == "buffer":
        std = buffer_std if buffer_std is not None else (factors.std(axis=0, ddof=1) if n > 1 else np.zeros(k))
        fa, fb, deltas = factors[a.ravel()], factors[b.ravel()], mult * std
    else:
        # Per-minibatch std: `s·a > s·b + c·σ` <=> `s·a/σ > s·b/σ + c` for σ > 0, so divide each
        # batch by its own std and compare with the multiplier as an absolute margin.
        batch_std = factors[idx].std(axis=1, ddof=1)  # (n_batches, K)
        batch_std = np.where(batch_std > 0, batch_std, 1.0)
        scale = np.repeat(batch_std, a.shape[1], axis=0)
        fa, fb, deltas = factors[a.ravel()] / scale, factors[b.ravel()] / scale, mult
    labels, levels = hierarchical_labels(
        fa,
        fb,
        ranking=list(range(k)),
        higher_is_better=signs_hib,
        margins=deltas,
        tie_label=0.5 if spec.ties == "equal" else None,
        return_level=True,
    )
    pairs = np.stack([a.ravel(), b.ravel()], axis=1)
    keep = pairs[:, 0] != pairs[:, 1]  # a sample drawn twice in one batch is no comparison
    return pairs[keep], labels[keep], levels[keep]


def level_stats(levels: np.ndarray, ranking: tuple[str, ...]) -> dict[str, Any]:
    """Fraction of pairs decided at each level (by factor name) and the fraction tied throughout."""
    total = max(len(levels), 1)
    out = {f"decided_by_{name}": float((levels == i).sum() / total) for i, name in enumerate(ranking)}
    out["tied"] = float((levels < 0).sum() / total)
    out["pairs"] = len(levels)
    return out


def _feature_spec(spec: Hierarchical) -> FeatureSpec:
    return FeatureSpec(
        obs="obs" in spec.features,
        action="action" in spec.features,
        next_obs="next_obs" in spec.features,
        factors=tuple(spec.ranking) if "factors" in spec.features else (),
    )


def _new_model(spec: Hierarchical, env: suite.SuiteEnv) -> RewardModel:
    return RewardModel.for_env(
        env, features=_feature_spec(spec), hidden=tuple(spec.hidden), ensemble=spec.ensemble, seed=spec.seed
    )


class HeronReward(ModelReward):
    """The reward of an offline :class:`Hierarchical` spec: its trained model and HERON's label
    statistics; a training run saves the model beside the agent."""

    saved_with_run = True

    def __init__(self, spec: Hierarchical, env: suite.SuiteEnv, model: RewardModel, stats: dict[str, Any]) -> None:
        super().__init__(spec, env, model, 1.0, "heron", stats)


def _train_offline(spec: Hierarchical, env: suite.SuiteEnv) -> tuple[RewardModel, dict[str, Any]]:
    length = 1 if spec.unit == "transition" else spec.segment_length
    segments = collect_segments(env, n_segments=spec.n_samples, length=length, policy=spec.policy, seed=spec.seed)
    factors = np.stack([segments.returns({name: 1.0}) for name in spec.ranking], axis=1)
    rng = np.random.default_rng(spec.seed)
    pairs, labels, levels = heron_pairs(factors, spec, env, int(spec.n_batches or 400), rng)
    stats = level_stats(levels, tuple(spec.ranking))
    keep = ~np.isnan(labels)
    dataset = PreferenceDataset(
        segments,
        pairs[keep],
        labels[keep],
        provenance=[{"source": "heron", "ranking": list(spec.ranking), "margin": spec.to_dict()["margin"]}],
    )
    model = _new_model(spec, env)
    report = train_reward_model(model, dataset, epochs=spec.epochs, lr=spec.lr, val_fraction=0.1, seed=spec.seed)
    if spec.normalize_output:
        model.fit_output_normalization(segments)
    stats["labelled_pairs"] = int(keep.sum())
    stats["val_accuracy"] = report.val_accuracy
    stats["train_accuracy"] = report.train_accuracy
    return model, stats


def _trained(spec: Learned | Hierarchical, env: suite.SuiteEnv, train: Any) -> tuple[RewardModel, dict[str, Any]]:
    """The model of ``spec`` on ``env``: from this process's cache, else from the active
    :class:`~rewardlab.rewards.ModelStore` (a sweep's ``reward_models/``), else trained by
    ``train(spec, env)`` and put in both."""
    key = spec.cache_key(env.name)
    with _LOCK:
        if key not in _CACHE:
            store = active_model_store()
            found = store.get(env.name, key) if store is not None else None
            if found is None:
                found = train(spec, env)
                if store is not None:
                    store.put(env.name, key, *found)
            _CACHE[key] = found
        return _CACHE[key]


def build_learned(spec: Learned, env: suite.SuiteEnv) -> RewardFunction:
    """Build a ``learned`` spec with ``preferences``: train its model (once) from synthetic
    Boltzmann labels on random pairs of collected segments."""
    model, stats = _trained(spec, env, _train_from_preferences)
    return ModelReward(spec, env, model, float(spec.scale), "learned", stats)


def _train_from_preferences(spec: Learned, env: suite.SuiteEnv) -> tuple[RewardModel, dict[str, Any]]:
    p = dict(spec.preferences or {})
    segments = collect_segments(env, n_segments=p["n_segments"], length=p["length"], policy=p["policy"], seed=p["seed"])
    pairs = select_pairs(None, segments, p["n_pairs"], method="uniform", seed=p["seed"])
    oracle = BoltzmannOracle(reward=p["reward"], temperature=p["temperature"])
    labels = label_pairs(segments, pairs, oracle, seed=p["seed"])
    dataset = PreferenceDataset(segments, pairs, labels, provenance=[{"source": "synthetic", **oracle.provenance()}])
    model = RewardModel.for_env(
        env,
        features=FeatureSpec.coerce(p["features"], "preferences.features"),
        hidden=tuple(p["hidden"]),
        ensemble=p["ensemble"],
        seed=p["seed"],
    )
    report = train_reward_model(model, dataset, epochs=p["epochs"], lr=p["lr"], val_fraction=0.1, seed=p["seed"])
    model.fit_output_normalization(segments)
    return model, {"labelled_pairs": len(dataset), "val_accuracy": report.val_accuracy}


def build_hierarchical(spec: Hierarchical, env: suite.SuiteEnv) -> RewardFunction:
    """Build the reward of ``spec`` on ``env``: train offline (cached per process) or start online."""
    if spec.mode == "online":
        return OnlineHeronReward(spec, env, _new_model(spec, env))
    model, stats = _trained(spec, env, _train_offline)
    return HeronReward(spec, env, model, dict(stats))


class OnlineHeronReward(LearningReward):
    """HERON's online loop: buffer the agent's transitions, update the model every few steps.

    While :attr:`training` is True every batch of transitions is stored; once ``warmup`` env
    steps have been seen, every ``update_every`` steps the model takes one Adam step on each of
    ``n_batches`` minibatches of ``batch_size`` stored transitions (all pairs inside a minibatch,
    labelled by the ranking). The reward of a transition is the model's output when it is
    collected.
    """

    def __init__(self, spec: Hierarchical, env: suite.SuiteEnv, model: RewardModel) -> None:
        stats = {"updates": 0, "pairs": 0, "tied": float("nan")}
        super().__init__(spec, env, model, 1.0, "heron", stats, relabel=spec.relabel)
        self.hspec = spec
        self._names = tuple(spec.ranking)
        self._chunks: list[tuple[np.ndarray, np.ndarray]] = []  # (features, factors)
        self._features = np.zeros((0, model.n_features), dtype=np.float32)
        self._factors = np.zeros((0, len(self._names)))
        self._steps = 0
        self._next_update = spec.warmup
        self._rng = np.random.default_rng(spec.seed)
        self._optimizer: Any = None
        self._level_counts = np.zeros(len(self._names) + 1, dtype=np.int64)

    def compute(
        self, obs: Array, action: Array, next_obs: Array, done: Array, env_reward: Array | None = None
    ) -> Computed:
        done = np.asarray(done, dtype=bool)
        all_factors = factor_values(self.env, self._names, obs, action, next_obs, done)
        model_factors = {k: all_factors[k] for k in self._factor_names}
        r = self.model.predict(obs, action, next_obs, model_factors or None)
        if self.training:
            feats = self.model.featurize(obs, action, next_obs, model_factors or None)
            self._chunks.append((feats, np.stack([all_factors[k] for k in self._names], axis=1)))
            self._steps += len(r)
            if self._steps >= self._next_update:
                self._next_update = self._steps + self.hspec.update_every
                self._update()
        return r, {self.term: r}

    def _gather(self) -> None:
        if self._chunks:
            self._features = np.concatenate([self._features, *(c[0] for c in self._chunks)])
            self._factors = np.concatenate([self._factors, *(c[1] for c in self._chunks)])
            self._chunks = []

    def _update(self) -> None:
        self._gather()
        n = len(self._features)
        if n < 2:
            return
        if self._optimizer is None:
            self.model.fit_input_normalization(self._features)
            self._optimizer = torch.optim.Adam(self.model.module.parameters(), lr=self.hspec.lr)
        pairs, labels, levels = heron_pairs(
            self._factors, self.hspec, self.env, int(self.hspec.n_batches or 16), self._rng
        )
        np.add.at(self._level_counts, np.where(levels < 0, len(self._names), levels), 1)
        keep = ~np.isnan(labels)
        pairs, labels = pairs[keep], labels[keep]
        if len(pairs):
            per_batch = max(len(pairs) // int(self.hspec.n_batches or 16), 1)
            x = torch.as_tensor(self._features)
            for start in range(0, len(pairs), per_batch):
                p = pairs[start : start + per_batch]
                y = torch.as_tensor(labels[start : start + per_batch], dtype=torch.float32)
                ra = self.model.forward_features(x[p[:, 0]])  # (E, B)
                rb = self.model.forward_features(x[p[:, 1]])
                loss = bradley_terry_loss(ra, rb, y.expand_as(ra))
                self._optimizer.zero_grad()
                loss.backward()
                self._optimizer.step()
            self.model.refresh()
        total = max(int(self._level_counts.sum()), 1)
        self.stats = {
            **{f"decided_by_{name}": float(self._level_counts[i] / total) for i, name in enumerate(self._names)},
            "tied": float(self._level_counts[-1] / total),
            "pairs": total,
            "updates": self.stats.get("updates", 0) + 1,
            "buffer": n,
        }
        self.version += 1
