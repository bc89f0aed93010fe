"""Training-time monitors of reward hacking: is the agent exploiting the reward it is trained on?

Owns :func:`monitor` (what :func:`rewardlab.train` and the RLHF loop log at each evaluation) and
the definitions below. Proxy rewards live on other scales than the ground truth, so every measure
here is scale-free:

``rank_corr_train`` / ``rank_corr_eval``
    Spearman's rank correlation of proxy and true episode returns over the recent training
    episodes (up to 100) / over the evaluation's episodes. Near 1: a better proxy return means a
    better true return; near 0 or negative: the proxy no longer tracks the task. None with fewer
    than 5 episodes or when either return is constant.
``proxy_trend`` / ``env_trend``
    Kendall's tau of the evaluation returns against time over the last ``window`` evaluations
    (this one included): +1 when every evaluation beat the previous ones, -1 when every one was
    worse. A rising proxy with a falling true return (``proxy_trend > 0 > env_trend``) is what
    Pan, Bhatia & Steinhardt (2022) report as reward hacking. None before 3 evaluations.
``distance_epic`` / ``distance_starc_val``
    The sampled EPIC and STARC-VAL distance (:func:`rewardlab.metrics.estimate_distances`, with 95%
    bootstrap intervals) between the reward the agent trains on and the env's ground truth, on
    ``n_transitions`` transitions of the *current* policy: how far the proxy is from the truth
    where the agent actually goes. For a reward whose model learns during training (RLHF, HERON
    online) it is the current model's distance. Not measured when the proxy is the ground truth
    (the distance is 0) or the env has no ground-truth factors.
``factors``
    Every factor of the env (not only the proxy's terms): the mean per-step value and the mean
    episode sum over the evaluation episodes, so the quantity being exploited is visible.

The cost is bounded by ``n_transitions`` (one rollout of that many steps and the two
estimators); the row's ``monitor_s`` records it.

Layer: above :mod:`rewardlab.metrics` and :mod:`rewardlab.evaluation`, below
:mod:`rewardlab.training`: it imports those, :mod:`rewardlab.data`, :mod:`rewardlab.rewards` and
the ground floor.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

from rewardlab import suite
from rewardlab.data import sample_transitions
from rewardlab.evaluation import EvalResult
from rewardlab.metrics import estimate_distances
from rewardlab.rewards import Env, RewardFunction

__all__ = ["MIN_EPISODES", "monitor", "rank_correlation", "trend"]

MIN_EPISODES = 5
"""Fewest episodes a rank correlation is computed on."""


def rank_correlation(proxy: Sequence[float], true: Sequence[float]) -> float | None:
    """Spearman's rho of proxy and true returns, or None (too few episodes, or a constant return)."""
    x, y = np.asarray(proxy, dtype=float), np.asarray(true, dtype=float)
    if len(x) < MIN_EPISODES or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    return float(stats.spearmanr(x, y).statistic)


def trend(values: Sequence[float]) -> float | None:
    """Kendall's tau of ``values`` against their order (None before 3 values or when constant)."""
    v = np.asarray(values, dtype=float)
    if len(v) < 3 or np.ptp(v) == 0:
        return None
    return float(stats.kendalltau(np.arange(len(v)), v).statistic)


def monitor(
    model: Any,
    reward_fn: RewardFunction | None,
    env: str | suite.SuiteEnv,
    result: EvalResult,
    history: Sequence[dict[str, Any]],
    train_episodes: Sequence[dict[str, Any]] = (),
    *,
    n_transitions: int = 256,
    window: int = 5,
    seed: int = 0,
) -> dict[str, Any]:
    """The monitors of one evaluation (module docstring), as a flat-ish dict for ``metrics.jsonl``.

    Args:
        model: the agent being trained (its current policy drives the sample).
        reward_fn: the reward it trains on (its statistics are frozen while measured).
        env: the suite env.
        result: this evaluation (its episodes carry every factor, see :func:`rewardlab.evaluate`).
        history: the earlier evaluation rows of the run (``eval_proxy_return``, ``eval_env_return``).
        train_episodes: recent training episode summaries (``proxy_return``, ``env_return``).
        n_transitions: transitions of the current policy for the distances; 0 skips them.
        window: evaluations the trends look back over.
        seed: seed of the sample and the bootstrap.
    """
    start = time.perf_counter()
    suite_env = suite.get(env)
    proxies = [*(r["eval_proxy_return"] for r in history), result.proxy_return][-window:]
    trues = [*(r["eval_env_return"] for r in history), result.env_return][-window:]
    out: dict[str, Any] = {
        "rank_corr_train": rank_correlation(
            [e["proxy_return"] for e in train_episodes], [e["env_return"] for e in train_episodes]
        ),
        "rank_corr_eval": rank_correlation(
            [e["proxy_return"] for e in result.episodes], [e["env_return"] for e in result.episodes]
        ),
        "proxy_trend": trend(proxies),
        "env_trend": trend(trues),
        "factors": dict(result.factors),
    }
    if n_transitions > 0 and reward_fn is not None and _measurable(reward_fn, suite_env):
        out.update(_distances(model, reward_fn, suite_env, n_transitions, seed))
    out["monitor_s"] = round(time.perf_counter() - start, 3)
    return out


def _measurable(reward_fn: RewardFunction, suite_env: suite.SuiteEnv) -> bool:
    return bool(suite_env.ground_truth) and not isinstance(reward_fn.spec, Env)


def _distances(
    model: Any, reward_fn: RewardFunction, suite_env: suite.SuiteEnv, n: int, seed: int
) -> dict[str, Any]:
    # the policy's mode, as evaluations act: sampling actions would draw from torch's global RNG, and
    # training would then not be the same run with and without monitors
    sample = sample_transitions(suite_env, n, policy=model, seed=seed, deterministic=True)
    truth = Env().build(suite_env)
    was_training = reward_fn.training
    reward_fn.training = False  # measuring, not collecting: statistics and online models stay as they are
    try:
        epic = estimate_distances([reward_fn, truth], sample, "epic", n_canonical=64, n_bootstrap=100, seed=seed)
        starc = estimate_distances([reward_fn, truth], sample, "starc-val", n_bootstrap=100, seed=seed)
    finally:
        reward_fn.training = was_training
    return {
        "distance_epic": epic[0][1].value,
        "distance_epic_ci": [epic[0][1].ci_low, epic[0][1].ci_high],
        "distance_starc_val": starc[0][1].value,
        "distance_starc_val_ci": [starc[0][1].ci_low, starc[0][1].ci_high],
        "distance_transitions": n,
    }
