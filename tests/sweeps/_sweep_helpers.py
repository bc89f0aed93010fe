"""Fabricated sweep folders with known numbers, for the aggregation and report tests.

:func:`write_sweep` writes what ``rewardlab sweep`` would have written (``sweep.json`` and, per
trial, ``config.json``, ``status.json`` and ``metrics.jsonl``) without training anything, from
env-return curves and proxy-minus-env gaps given per (variant, seed), so the tests can check the
statistics against hand computations.

The default sweep (``REWARDS``, ``SEEDS``, ``ENV_CURVES``, ``GAPS``, ``FAILED``, ``PENDING``):
Pendulum / SAC evaluated at ``STEPS`` = 0, 1000, 2000, 3000 with

* ``ground_truth`` (``{"kind": "env"}``), 4 seeds: final env returns -200, -160, -150, -100
  (mean -152.5, IQM -155), returns at step 1000 -600, -500, -550, -400, normalised areas
  -500, -1280/3, -460, -350; proxy = env (gap 0);
* ``no_velocity`` (the env's terms without the velocity cost), 3 seeds: final env returns
  -300, -250, -200 (mean -250, regret 97.5); gap 100, 200, 300, 400 (final 400, area 250);
* ``shaped`` (potential-based shaping of the env reward), seeds 0 and 1 done (final env returns
  -220, -180: mean -200, regret 47.5; gap 50 throughout), seed 2 failed with an error and a
  traceback, seed 3 pending (no folder).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from rewardlab.runs import append_jsonl, write_json

STEPS = [0, 1000, 2000, 3000]
"""Timesteps of the evaluations of every fabricated trial."""

CREATED = "2026-01-02T03:04:05"
VERSIONS = {
    "rewardlab": "0.0.test",
    "python": "3.x",
    "numpy": "0.0.test",
    "torch": "0.0.test",
    "gymnasium": "0.0.test",
    "stable_baselines3": "0.0.test",
}

REWARDS: dict[str, dict[str, Any]] = {
    "ground_truth": {"kind": "env"},
    "no_velocity": {"kind": "terms", "weights": {"angle_cost": -1.0, "torque_cost": -0.001}},
    "shaped": {"kind": "shaped", "potential": "upright", "gamma": 0.99, "base": {"kind": "env"}},
}
"""Variant name -> reward spec."""

SEEDS: dict[str, list[int]] = {"ground_truth": [0, 1, 2, 3], "no_velocity": [0, 1, 2], "shaped": [0, 1, 2, 3]}
"""Variant name -> seeds (every one a trial, whatever its status)."""

ENV_CURVES: dict[tuple[str, int], list[float]] = {
    # AUC = (v0/2 + v1 + v2 + v3/2) / 3 over steps 0..3000.
    ("ground_truth", 0): [-1000.0, -600.0, -300.0, -200.0],  # AUC -500
    ("ground_truth", 1): [-900.0, -500.0, -250.0, -160.0],  # AUC -1280/3
    ("ground_truth", 2): [-1010.0, -550.0, -250.0, -150.0],  # AUC -460
    ("ground_truth", 3): [-800.0, -400.0, -200.0, -100.0],  # AUC -350
    ("no_velocity", 0): [-1100.0, -800.0, -500.0, -300.0],
    ("no_velocity", 1): [-1050.0, -700.0, -450.0, -250.0],
    ("no_velocity", 2): [-1000.0, -650.0, -400.0, -200.0],
    ("shaped", 0): [-1000.0, -600.0, -350.0, -220.0],
    ("shaped", 1): [-950.0, -550.0, -300.0, -180.0],
}
"""(variant, seed) -> env return at each of ``STEPS`` (done trials only)."""

GAPS: dict[str, list[float]] = {
    "ground_truth": [0.0, 0.0, 0.0, 0.0],
    "no_velocity": [100.0, 200.0, 300.0, 400.0],  # final 400, normalised area 250
    "shaped": [50.0, 50.0, 50.0, 50.0],  # area 50
}
"""Variant -> proxy return minus env return at each of ``STEPS`` (the same for every seed)."""

FAILED: set[tuple[str, int]] = {("shaped", 2)}
"""(variant, seed) of the trials that failed."""

PENDING: set[tuple[str, int]] = {("shaped", 3)}
"""(variant, seed) of the trials never started (no folder at all)."""

ERROR = "RuntimeError: reward exploded at step 1234\nsecond line of the message"
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "rewardlab/training.py", line 310, in train\n'
    "    model.learn(timesteps, callback=callback)\n"
    "RuntimeError: reward exploded at step 1234\n"
    "second line of the message\n"
)

_AUTO = object()


def _default_baseline(rewards: Mapping[str, Mapping[str, Any]]) -> str | None:
    # As SweepSpec does: the first variant trained on the env's own reward.
    return next((name for name, spec in rewards.items() if spec.get("kind") == "env"), None)


def write_sweep(
    root: str | Path,
    name: str,
    *,
    env: str = "pendulum",
    agent: str = "sac",
    rewards: Mapping[str, Mapping[str, Any]] = REWARDS,
    seeds: Mapping[str, Sequence[int]] = SEEDS,
    env_curves: Mapping[tuple[str, int], Sequence[float]] = ENV_CURVES,
    gaps: Mapping[str, Sequence[float]] = GAPS,
    failed: Iterable[tuple[str, int]] = (),
    pending: Iterable[tuple[str, int]] = (),
    baseline: Any = _AUTO,
    steps: Sequence[int] = STEPS,
) -> Path:
    """Write a sweep folder ``root/name`` as the sweep runner would have, and return it.

    Every (variant, seed) of ``seeds`` is a trial: ``pending`` ones get no folder, ``failed`` ones
    a ``failed`` status with :data:`ERROR` and :data:`TRACEBACK`, and the others are ``done`` with
    one evaluation per step of ``steps``: env return ``env_curves[(variant, seed)]`` and proxy
    return env return plus ``gaps[variant]`` (0 for a variant not in ``gaps``). ``baseline``
    defaults to the first variant whose reward is ``{"kind": "env"}``; pass None for none.
    """
    sweep_dir = Path(root) / name
    sweep_dir.mkdir(parents=True, exist_ok=True)
    failed, pending = set(failed), set(pending)
    if baseline is _AUTO:
        baseline = _default_baseline(rewards)
    timesteps, eval_freq, eval_episodes = int(steps[-1]), int(steps[1] - steps[0]) if len(steps) > 1 else 1, 5
    spec = {
        "name": name,
        "kind": "grid",
        "envs": [env],
        "seeds": sorted({s for v in seeds.values() for s in v}),
        "agents": {agent: {}},
        "variants": {k: dict(v) for k, v in rewards.items()},
        "ablations": [],
        "timesteps": timesteps,
        "eval_freq": eval_freq,
        "eval_episodes": eval_episodes,
        "n_envs": None,
        "baseline": baseline,
    }
    trials = []
    for variant, reward in rewards.items():
        for seed in seeds.get(variant, []):
            trial = {
                "id": f"{env}__{variant}__{agent}__s{seed}",
                "env": env,
                "variant": variant,
                "agent": agent,
                "algo": agent,
                "seed": seed,
                "reward": dict(reward),
                "hyperparams": {},
                "timesteps": timesteps,
                "eval_freq": eval_freq,
                "eval_episodes": eval_episodes,
                "n_envs": None,
            }
            trials.append(trial)
            key = (variant, seed)
            if key in pending:
                continue
            _write_trial(sweep_dir / trial["id"], name, trial, key in failed, env_curves, gaps, steps)
    write_json(
        sweep_dir / "sweep.json",
        {
            "name": name,
            "spec": spec,
            "baseline": baseline,
            "trials": trials,
            "created": CREATED,
            "updated": CREATED,
            "versions": dict(VERSIONS),
        },
    )
    return sweep_dir


def _write_trial(
    run_dir: Path,
    sweep_name: str,
    trial: Mapping[str, Any],
    failed: bool,
    env_curves: Mapping[tuple[str, int], Sequence[float]],
    gaps: Mapping[str, Sequence[float]],
    steps: Sequence[int],
) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    variant, seed = trial["variant"], trial["seed"]
    config = {
        "env": trial["env"],
        "agent": trial["algo"],
        "seed": seed,
        "timesteps": trial["timesteps"],
        "eval_freq": trial["eval_freq"],
        "eval_episodes": trial["eval_episodes"],
        "hyperparams": {},
        "reward": trial["reward"],
        "runs_dir": str(run_dir.parent.parent),
        "group": sweep_name,
        "run_name": trial["id"],
        "meta": {
            "sweep": sweep_name,
            "trial": trial["id"],
            "variant": variant,
            "env": trial["env"],
            "agent": trial["agent"],
            "seed": seed,
            "fingerprint": "0" * 16,
        },
        "versions": dict(VERSIONS),
    }
    write_json(run_dir / "config.json", config)
    if failed:
        status = {"status": "failed", "error": ERROR, "traceback": TRACEBACK, "attempts": 1, "seconds": 1.0}
        write_json(run_dir / "status.json", status)
        return
    env_returns = [float(x) for x in env_curves[(variant, seed)]]
    gap = [float(x) for x in gaps.get(variant, [0.0] * len(steps))]
    proxy_returns = [e + g for e, g in zip(env_returns, gap, strict=True)]
    metrics = run_dir / "metrics.jsonl"
    metrics.unlink(missing_ok=True)
    for i, (step, env_return, proxy_return) in enumerate(zip(steps, env_returns, proxy_returns, strict=True)):
        row = {
            "timesteps": int(step),
            "time_s": float(i),
            "eval_proxy_return": proxy_return,
            "eval_env_return": env_return,
            "eval_proxy_std": 0.0,
            "eval_env_std": 0.0,
            "eval_length": 200.0,
            "eval_terms": {},
        }
        append_jsonl(metrics, row)
    status = {
        "status": "done",
        "finished": CREATED,
        "final_proxy_return": proxy_returns[-1],
        "final_env_return": env_returns[-1],
        "attempts": 1,
        "seconds": 1.0,
    }
    write_json(run_dir / "status.json", status)
