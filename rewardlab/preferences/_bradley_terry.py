"""Bradley-Terry training of reward models from pairwise preferences (Christiano et al. 2017).

The Bradley-Terry model says

``P(a > b) = (1 - eps) * sigmoid(R(a) - R(b)) + eps / 2``

where ``eps = noise_prob`` is ``imitation``'s (and Christiano's) assumption that a fraction of
the labels are random. :func:`train_reward_model` fits a :class:`~rewardlab.rewards.RewardModel`
to a :class:`~rewardlab.preferences.PreferenceDataset` with the cross-entropy of that model, each
member on its own bootstrap resample of the pairs, with early stopping on held-out pairs.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F  # torch's own idiom

from rewardlab.errors import ConfigError, message
from rewardlab.preferences._dataset import PreferenceDataset
from rewardlab.rewards import RewardModel, TrainReport, check_bool

__all__ = ["bradley_terry_loss", "preference_probability", "train_reward_model"]


def preference_probability(return_a: Any, return_b: Any) -> Any:
    """``P(a > b) = sigmoid(R_a - R_b)``, computed without overflow, for numpy arrays or torch tensors.

    Example:
        >>> float(preference_probability(np.float64(2.0), np.float64(2.0)))
        0.5
    """
    if isinstance(return_a, torch.Tensor) or isinstance(return_b, torch.Tensor):
        return torch.sigmoid(torch.as_tensor(return_a) - torch.as_tensor(return_b))
    d = np.asarray(return_a, dtype=np.float64) - np.asarray(return_b, dtype=np.float64)
    e = np.exp(-np.abs(d))  # never overflows; the two branches are the same function
    return np.where(d >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def bradley_terry_loss(
    return_a: torch.Tensor, return_b: torch.Tensor, labels: torch.Tensor, noise_prob: float = 0.0
) -> torch.Tensor:
    """Mean cross-entropy of the Bradley-Terry model with ``imitation``'s label-noise assumption.

    ``p = (1 - noise_prob) * sigmoid(R_a - R_b) + noise_prob / 2`` and the loss is the mean of
    ``-(y log p + (1 - y) log(1 - p))``; soft labels (``0.5`` = equal) are allowed. Computed in
    log space (``logsigmoid``, ``logaddexp``), so it stays finite for any ``|R_a - R_b|``.

    Args:
        return_a, return_b: segment returns of any (broadcastable) shape, e.g. ``(E, B)``.
        labels: ``1`` = ``a`` preferred, ``0`` = ``b``, ``0.5`` = equal; broadcastable to the returns.
        noise_prob: probability in ``[0, 1)`` that a label is a coin flip.

    Example:
        >>> round(float(bradley_terry_loss(torch.tensor([0.0]), torch.tensor([0.0]), torch.tensor([1.0]))), 4)
        0.6931
    """
    if isinstance(noise_prob, bool) or not isinstance(noise_prob, (int, float)) or not 0.0 <= noise_prob < 1.0:
        raise ConfigError(message("noise_prob", "a number in [0, 1)", noise_prob, "Pass 0.1 for 10% random labels."))
    d = return_a - return_b
    labels = torch.as_tensor(labels, dtype=d.dtype)
    log_p = F.logsigmoid(d)  # log sigmoid(d)
    log_q = F.logsigmoid(-d)  # log (1 - sigmoid(d))
    if noise_prob > 0.0:
        # log((1-eps) s + eps/2) = logaddexp(log(1-eps) + log s, log(eps/2)), exact and finite
        log_keep, log_half = math.log1p(-noise_prob), math.log(noise_prob / 2.0)
        half = torch.full_like(d, log_half)
        log_p = torch.logaddexp(log_keep + log_p, half)
        log_q = torch.logaddexp(log_keep + log_q, half)
    return -(labels * log_p + (1.0 - labels) * log_q).mean()


# --- training -------------------------------------------------------------------------------------


def _accuracy(diff: np.ndarray, labels: np.ndarray) -> float:
    decided = labels != 0.5
    if not decided.any():
        return math.nan
    return float(np.mean((diff[decided] > 0) == (labels[decided] > 0.5)))


def _check_number(param: str, value: Any, lo: float, hi: float, fix: str, *, integer: bool = False) -> Any:
    kinds: tuple[type, ...] = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    ok = not isinstance(value, bool) and isinstance(value, kinds)
    v: Any = value  # isinstance on a tuple variable narrows to object
    if not ok or not (lo <= v <= hi) or v != v:
        what = "an integer" if integer else "a number"
        raise ConfigError(message(param, f"{what} in [{lo:g}, {hi:g}]", value, fix))
    return int(v) if integer else float(v)


def train_reward_model(
    model: RewardModel,
    dataset: PreferenceDataset,
    *,
    epochs: int = 100,
    batch_size: int = 64,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    val_fraction: float = 0.2,
    patience: int = 10,
    noise_prob: float = 0.0,
    bootstrap: bool = True,
    seed: int = 0,
    progress: bool = False,
    refit_normalization: bool = False,
) -> TrainReport:
    """Fit ``model`` to the labelled pairs of ``dataset`` with the Bradley-Terry loss (AdamW).

    The pairs are split into training and validation pairs with ``seed``. Each member trains on
    its own bootstrap resample of the training pairs when ``ensemble > 1 and bootstrap`` (so the
    members disagree where data is thin, which active querying relies on). After each epoch the
    validation loss is computed; training stops after ``patience`` epochs without improvement and
    the best weights are restored. Inputs are standardised with the feature statistics of the
    training segments' real steps, fitted at the first call and kept on later calls (a warm start
    on a grown dataset continues from the current weights) unless ``refit_normalization``.

    Args:
        model: the :class:`RewardModel` (trained in place).
        dataset: segments, pairs and labels (``1`` first preferred, ``0`` second, ``0.5`` equal).
        epochs: maximum passes over the training pairs.
        batch_size: pairs per minibatch (per member).
        lr: AdamW learning rate.
        weight_decay: AdamW's decoupled weight decay.
        val_fraction: fraction of pairs held out, in ``[0, 1)``; ``0`` = no early stopping.
        patience: epochs without a better validation loss before stopping.
        noise_prob: the label-noise probability of :func:`bradley_terry_loss`.
        bootstrap: resample the training pairs per member (only with ``ensemble > 1``).
        seed: seeds the split, the resampling and the minibatch order; same seed and data ->
            identical weights.
        progress: print one line per epoch.
        refit_normalization: refit the input standardisation on this dataset.

    Returns:
        A :class:`TrainReport` (also stored as ``model.report`` and saved with the model).

    Raises:
        ConfigError: a bad argument (the message names it and the fix), a dataset of another
            env, segments without the factors the model reads, or too few pairs to split.
    """
    _check_inputs(model, dataset)
    epochs = _check_number("epochs", epochs, 1, math.inf, "Pass epochs=100, for example.", integer=True)
    batch_size = _check_number("batch_size", batch_size, 1, math.inf, "Pass batch_size=64.", integer=True)
    lr = _check_number("lr", lr, 1e-12, math.inf, "Pass lr=1e-3.")
    weight_decay = _check_number("weight_decay", weight_decay, 0.0, math.inf, "Pass weight_decay=0.0.")
    val_fraction = _check_number("val_fraction", val_fraction, 0.0, 0.99, "Pass val_fraction=0.2 (0 = no split).")
    patience = _check_number("patience", patience, 1, math.inf, "Pass patience=10.", integer=True)
    noise_prob = _check_number("noise_prob", noise_prob, 0.0, 0.999, "Pass noise_prob=0.1 for 10% random labels.")
    seed = _check_number("seed", seed, 0, math.inf, "Pass seed=0.", integer=True)
    bootstrap = check_bool("bootstrap", bootstrap)
    progress = check_bool("progress", progress)
    refit_normalization = check_bool("refit_normalization", refit_normalization)

    model.check_segments(dataset.segments, "dataset.segments")
    rng = np.random.default_rng(seed)  # one generator, drawn in a fixed order: split, resamples, epochs
    data = _Pairs.of(model, dataset, val_fraction, rng, refit_normalization, noise_prob)
    e = model.ensemble
    if e > 1 and bootstrap:
        samples = data.train_idx[rng.integers(0, data.n_train, size=(e, data.n_train))]  # per-member resample
    else:
        samples = np.broadcast_to(data.train_idx, (e, data.n_train))
    module = model.module
    optimizer = torch.optim.AdamW(module.parameters(), lr=lr, weight_decay=weight_decay)
    best_state = copy.deepcopy(module.state_dict())
    best_val, since_best, run_epochs = math.inf, 0, 0
    history: list[dict[str, Any]] = []
    updates, train_time = 0, 0.0
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        row = {"epoch": epoch, "train_loss": _epoch(model, data, samples, batch_size, optimizer, rng)}
        train_time += time.perf_counter() - start
        updates += data.n_train
        run_epochs = epoch
        if data.n_val:
            val_loss, val_acc = data.evaluate(model, data.val_idx)
            row.update(val_loss=val_loss, val_accuracy=val_acc)
            if val_loss < best_val - 1e-7:
                best_val, since_best = val_loss, 0
                best_state = copy.deepcopy(module.state_dict())
            else:
                since_best += 1
        history.append(row)
        if progress:
            print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
        if data.n_val and since_best >= patience:
            break
    if data.n_val:
        module.load_state_dict(best_state)
    module.eval()
    report = _report(model, data, run_epochs, history, updates / train_time if train_time > 0 else math.inf)
    model.report = report
    model.refresh()
    return report


def _check_inputs(model: RewardModel, dataset: PreferenceDataset) -> None:
    if not isinstance(model, RewardModel):
        raise ConfigError(message("model", "a RewardModel", type(model).__name__))
    if not isinstance(dataset, PreferenceDataset):
        raise ConfigError(message("dataset", "a PreferenceDataset", type(dataset).__name__))
    if model.env and dataset.env and dataset.env != model.env:
        raise ConfigError(
            message(
                "dataset.env",
                f"{model.env!r}, the model's env",
                dataset.env,
                "Label segments of the model's env, or build the model with RewardModel.for_env(dataset.env).",
            )
        )


@dataclass
class _Pairs:
    """The labelled pairs as tensors, split into training and validation pairs."""

    x: torch.Tensor
    """``(n, L, F)`` features of every segment (computed once)."""
    mask: torch.Tensor
    """``(n, L)`` 1 on real steps."""
    pa: torch.Tensor
    pb: torch.Tensor
    """``(M,)`` the two segments of each pair."""
    y: torch.Tensor
    """``(M,)`` labels."""
    labels: np.ndarray
    pairs: np.ndarray
    train_idx: np.ndarray
    val_idx: np.ndarray
    noise_prob: float

    @property
    def n_train(self) -> int:
        return len(self.train_idx)

    @property
    def n_val(self) -> int:
        return len(self.val_idx)

    @classmethod
    def of(
        cls,
        model: RewardModel,
        dataset: PreferenceDataset,
        val_fraction: float,
        rng: np.random.Generator,
        refit_normalization: bool,
        noise_prob: float,
    ) -> _Pairs:
        """Split the pairs with ``rng`` and fit the input standardisation if it is not fitted yet."""
        segments = dataset.segments
        pairs = np.asarray(dataset.pairs, dtype=np.int64)
        labels = np.asarray(dataset.labels, dtype=np.float64)
        m = len(pairs)
        n_val = round(val_fraction * m) if val_fraction > 0 else 0
        if val_fraction > 0 and n_val == 0 and m >= 2:
            n_val = 1
        if m - n_val < 1:
            raise ConfigError(
                message(
                    "dataset",
                    "at least one training pair",
                    f"{m} pairs, val_fraction={val_fraction}",
                    "Label more pairs.",
                )
            )
        order = rng.permutation(m)
        val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
        feats_np = model.segment_features(segments)
        mask_np = segments.mask
        if refit_normalization or not model.input_fitted:
            # the statistics of the segments the training pairs use (real steps only)
            used = np.unique(pairs[train_idx])
            model.fit_input_normalization(feats_np[used][mask_np[used]])
        x = torch.from_numpy(feats_np)
        return cls(
            x=x,
            mask=torch.from_numpy(mask_np).to(x.dtype),
            pa=torch.from_numpy(pairs[:, 0]),
            pb=torch.from_numpy(pairs[:, 1]),
            y=torch.from_numpy(labels).to(x.dtype),
            labels=labels,
            pairs=pairs,
            train_idx=train_idx,
            val_idx=val_idx,
            noise_prob=noise_prob,
        )

    def evaluate(self, model: RewardModel, idx: np.ndarray) -> tuple[float, float]:
        """(loss averaged over members, accuracy of the ensemble mean) on the pairs ``idx``."""
        with torch.no_grad():
            segs = np.unique(self.pairs[idx])
            ret = torch.zeros(model.ensemble, self.x.shape[0], dtype=self.x.dtype)
            sel = torch.from_numpy(segs)
            ret[:, sel] = model.feature_returns(self.x[sel], self.mask[sel])
            t = torch.from_numpy(idx)
            ra, rb = ret[:, self.pa[t]], ret[:, self.pb[t]]
            loss = float(bradley_terry_loss(ra, rb, self.y[t], self.noise_prob))
            diff = (ra - rb).mean(dim=0).numpy()
        return loss, _accuracy(diff, self.labels[idx])


def _epoch(
    model: RewardModel,
    data: _Pairs,
    samples: np.ndarray,
    batch_size: int,
    optimizer: torch.optim.Optimizer,
    rng: np.random.Generator,
) -> float:
    """One pass over each member's sample of training pairs; the mean minibatch loss."""
    e, n_train = samples.shape
    # one permutation per member of its own sample, so minibatches differ across members
    perm = np.argsort(rng.random((e, n_train)), axis=1)
    epoch_order = torch.from_numpy(np.take_along_axis(samples, perm, axis=1))
    total, count = 0.0, 0
    model.module.train()
    for s in range(0, n_train, batch_size):
        batch = epoch_order[:, s : s + batch_size]  # (E, b) pair ids
        b = batch.shape[1]
        seg = torch.cat([data.pa[batch], data.pb[batch]], dim=1)  # (E, 2b) segment ids
        ret = model.feature_returns(data.x[seg], data.mask[seg], per_member=True)  # (E, 2b)
        loss = bradley_terry_loss(ret[:, :b], ret[:, b:], data.y[batch], data.noise_prob)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.item() * b
        count += b
    return total / max(count, 1)


def _report(
    model: RewardModel, data: _Pairs, epochs: int, history: list[dict[str, Any]], pairs_per_second: float
) -> TrainReport:
    """The final losses and accuracies (best weights restored) as a :class:`TrainReport`."""
    train_loss, train_acc = data.evaluate(model, data.train_idx)
    val_loss, val_acc = data.evaluate(model, data.val_idx) if data.n_val else (None, None)
    return TrainReport(
        n_pairs=len(data.pairs),
        n_train=data.n_train,
        n_val=data.n_val,
        epochs=epochs,
        train_loss=train_loss,
        val_loss=val_loss,
        train_accuracy=train_acc,
        val_accuracy=val_acc,
        pairs_per_second=pairs_per_second,
        history=history,
    )
