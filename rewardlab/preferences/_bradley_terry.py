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

    segments = dataset.segments
    model.check_segments(segments, "dataset.segments")
    pairs = np.asarray(dataset.pairs, dtype=np.int64)
    labels = np.asarray(dataset.labels, dtype=np.float64)
    m = len(pairs)
    rng = np.random.default_rng(seed)
    n_val = round(val_fraction * m) if val_fraction > 0 else 0
    if val_fraction > 0 and n_val == 0 and m >= 2:
        n_val = 1
    n_train = m - n_val
    if n_train < 1:
        raise ConfigError(
            message(
                "dataset", "at least one training pair", f"{m} pairs, val_fraction={val_fraction}", "Label more pairs."
            )
        )
    order = rng.permutation(m)
    val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])

    feats_np = model.segment_features(segments)  # (n, L, F), computed once
    mask_np = segments.mask
    if refit_normalization or not model.input_fitted:
        # the statistics of the segments the training pairs use (real steps only)
        used = np.unique(pairs[train_idx])
        model.fit_input_normalization(feats_np[used][mask_np[used]])
    x = torch.from_numpy(feats_np)
    mask = torch.from_numpy(mask_np).to(x.dtype)
    pa, pb = torch.from_numpy(pairs[:, 0]), torch.from_numpy(pairs[:, 1])
    y = torch.from_numpy(labels).to(x.dtype)
    e = model.ensemble
    module = model.module

    def evaluate(idx: np.ndarray) -> tuple[float, float]:
        """(loss averaged over members, accuracy of the ensemble mean) on the pairs ``idx``."""
        with torch.no_grad():
            segs = np.unique(pairs[idx])
            ret = torch.zeros(e, x.shape[0], dtype=x.dtype)
            sel = torch.from_numpy(segs)
            ret[:, sel] = model.feature_returns(x[sel], mask[sel])
            t = torch.from_numpy(idx)
            ra, rb = ret[:, pa[t]], ret[:, pb[t]]
            loss = float(bradley_terry_loss(ra, rb, y[t], noise_prob))
            diff = (ra - rb).mean(dim=0).numpy()
        return loss, _accuracy(diff, labels[idx])

    if e > 1 and bootstrap:
        samples = train_idx[rng.integers(0, n_train, size=(e, n_train))]  # (E, n_train) per-member resample
    else:
        samples = np.broadcast_to(train_idx, (e, n_train))
    optimizer = torch.optim.AdamW(module.parameters(), lr=lr, weight_decay=weight_decay)
    best_state = copy.deepcopy(module.state_dict())
    best_val, since_best, run_epochs = math.inf, 0, 0
    history: list[dict[str, Any]] = []
    updates, train_time = 0, 0.0
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        # one permutation per member of its own sample, so minibatches differ across members
        perm = np.argsort(rng.random((e, n_train)), axis=1)
        epoch_order = torch.from_numpy(np.take_along_axis(samples, perm, axis=1))
        total, count = 0.0, 0
        module.train()
        for s in range(0, n_train, batch_size):
            batch = epoch_order[:, s : s + batch_size]  # (E, b) pair ids
            b = batch.shape[1]
            seg = torch.cat([pa[batch], pb[batch]], dim=1)  # (E, 2b) segment ids
            ret = model.feature_returns(x[seg], mask[seg], per_member=True)  # (E, 2b)
            loss = bradley_terry_loss(ret[:, :b], ret[:, b:], y[batch], noise_prob)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item() * b
            count += b
        train_time += time.perf_counter() - start
        updates += n_train
        run_epochs = epoch
        row: dict[str, Any] = {"epoch": epoch, "train_loss": total / max(count, 1)}
        if n_val:
            val_loss, val_acc = evaluate(val_idx)
            row.update(val_loss=val_loss, val_accuracy=val_acc)
            if val_loss < best_val - 1e-7:
                best_val, since_best = val_loss, 0
                best_state = copy.deepcopy(module.state_dict())
            else:
                since_best += 1
        history.append(row)
        if progress:
            print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
        if n_val and since_best >= patience:
            break
    if n_val:
        module.load_state_dict(best_state)
    module.eval()
    train_loss, train_acc = evaluate(train_idx)
    val_loss_f, val_acc_f = evaluate(val_idx) if n_val else (None, None)
    report = TrainReport(
        n_pairs=m,
        n_train=n_train,
        n_val=n_val,
        epochs=run_epochs,
        train_loss=train_loss,
        val_loss=val_loss_f,
        train_accuracy=train_acc,
        val_accuracy=val_acc_f,
        pairs_per_second=updates / train_time if train_time > 0 else math.inf,
        history=history,
    )
    model.report = report
    model.refresh()
    return report
