"""One training run: train one SB3 agent on a reward spec and log proxy and env returns.

Owns :class:`TrainConfig` (the resolved settings of a run: env, reward spec, agent preset with
overrides, seed, budget, evaluation schedule), :func:`train` and :class:`TrainResult`: what
``rewardlab train`` runs, and what every sweep trial runs.

Every run writes a run directory (a :class:`~rewardlab.runs.RunDir`) with the resolved config, a
status, ``metrics.jsonl`` (periodic evaluations under both rewards, per-term means), TensorBoard
logs and the agent. ``seed`` fixes every RNG; BLAS and torch use ``threads`` threads (1 by
default: on a busy 2-core machine 2 threads per process was ~10x slower than 1).

**Checkpoints and resume.** At each evaluation the agent's tensors, its ``VecNormalize``
statistics (JSON) and, with ``save_replay_buffer``, an off-policy agent's replay buffer (npz) are
written to ``checkpoint/`` under names that carry the step, then ``checkpoint/checkpoint.json``
(the commit point: it names the files and the counters) replaces the previous one, then the
files of older checkpoints are removed. A kill at any instant leaves the previous committed
checkpoint whole. A rerun with the same ``run_name`` (or ``resume=<run dir>``) of a run that is
not done, with the same settings, continues from the last checkpoint: the agent is rebuilt from
its preset and only tensors and JSON are loaded (nothing is unpickled), ``metrics.jsonl`` keeps
its rows up to the checkpoint and rows of work after it move to ``metrics.discarded.jsonl``
(nothing is deleted). The resumed part reseeds its envs with ``seed + timesteps``, so a resumed
run is a valid run of the same config, not a replay of the uninterrupted one. One live process
writes a run directory (:meth:`~rewardlab.runs.RunDir.lock`); a second is refused.

Layer: above :mod:`rewardlab.metrics`, beside :mod:`rewardlab.compare` (neither imports the
other): it imports :mod:`rewardlab.agents`, :mod:`rewardlab.evaluation`, the wrappers,
:mod:`rewardlab.rewards`, :mod:`rewardlab.data` and the ground floor, nothing higher. A reward
kind that trains a model when built (``learned`` with ``preferences``, ``hierarchical``) gets its
trainer through the reward-kind registry (:func:`rewardlab.rewards.trainer` loads
:mod:`rewardlab.preferences` on first use), never through an import from here.
"""

from __future__ import annotations

import copy
import json
import shutil
import sys
import time
import warnings
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import tomli_w
import torch
from pydantic import ConfigDict, Field, PrivateAttr, SkipValidation, Strict, model_validator
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.utils import set_random_seed
from stable_baselines3.common.vec_env import VecNormalize, unwrap_vec_wrapper
from threadpoolctl import threadpool_limits

from rewardlab import agents, suite
from rewardlab.config import Config, Hint, NonNegativeInt, OneOf, PositiveInt, StrictBool
from rewardlab.data import (
    OFF_POLICY,
    AgentName,
    load_replay_buffer,
    load_weights,
    normalization_state,
    restore_normalization,
    save_replay_buffer,
)
from rewardlab.errors import ConfigError, NonFiniteRewardError, message
from rewardlab.evaluation import EvalResult, evaluate
from rewardlab.monitors import DETECTORS, detect, monitor
from rewardlab.rewards import Hierarchical, LearningReward, ModelReward, RewardSpec, parse, use_model_store
from rewardlab.runs import (
    DirPath,
    GroupName,
    RunDir,
    RunName,
    append_jsonl,
    fault,
    software_versions,
    storage_error,
    write_atomic,
    write_json,
)
from rewardlab.suite import EnvName
from rewardlab.wrappers import make_vec_env, reward_function_of, suite_env_of
from rewardlab.wrappers import vector as vec_wrappers

__all__ = ["TrainConfig", "TrainResult", "train"]


class TrainConfig(Config):
    """Everything one training run needs.

    Construction validates the values (no env is built, nothing is trained); :meth:`check` binds
    the reward to the env and checks the agent preset, and :func:`train` runs it first.
    """

    model_config = ConfigDict(validate_default=True)

    env: EnvName
    """Suite env name (``pendulum``) or Gymnasium id."""
    reward: Annotated[Any, SkipValidation] = "env"
    """Reward spec: a TOML path, ``"env"``, a dict or a :class:`~rewardlab.rewards.RewardSpec`."""
    agent: AgentName = "ppo"
    """SB3 algorithm with a preset: ``ppo``, ``sac``, ``dqn``, ``a2c``, ``td3``, ``ddpg``."""
    seed: NonNegativeInt = 0
    """Seed of every RNG (envs, torch, numpy); the same seed reproduces the run."""
    timesteps: agents.PresetInt = None
    """Training steps; None takes the preset's ``n_timesteps``."""
    n_envs: agents.PresetInt = None
    """Parallel envs; None takes the preset's ``n_envs``."""
    eval_freq: agents.PresetInt = None
    """Evaluate every this many steps; None means 10 evaluations over the run."""
    eval_episodes: PositiveInt = 10
    """Episodes per evaluation."""
    hyperparams: Annotated[dict[str, Any], Strict(), Hint(expect="a dict of SB3 keyword arguments")] = Field(
        default_factory=dict
    )
    """SB3 hyperparameters overriding the preset (``{"learning_rate": 1e-3}``)."""
    agent_config: DirPath | None = None
    """A preset TOML file to use instead of the shipped ``agents/<agent>.toml``."""
    runs_dir: DirPath = "runs"
    """Root of the run directories."""
    group: GroupName = "train"
    """Sub-directory of ``runs_dir`` grouping related runs."""
    run_name: RunName = None
    """Run directory name; None builds ``<env>__<reward>__<agent>__s<seed>__<time>``."""
    threads: PositiveInt = 1
    """torch and BLAS threads of this process."""
    progress_bar: StrictBool = True
    """Show a progress bar (tqdm + rich)."""
    reward_models: DirPath | None = None
    """A folder of trained reward models (a sweep's ``reward_models/``): a reward that trains a
    model when built loads it from there, and saves it there when it has to train it."""
    meta: Annotated[dict[str, Any], Strict()] = Field(default_factory=dict)
    """Free-form labels saved in ``config.json`` (a sweep's trial: sweep, variant, env, agent, seed)."""
    monitor_transitions: NonNegativeInt = 256
    """Transitions of the current policy sampled at each evaluation to measure the distance (EPIC,
    STARC-VAL) of the training reward to the ground truth where the agent goes
    (:mod:`rewardlab.monitors`); 0 turns that monitor off. The cost is in each row's ``monitor_s``."""
    stop_on: tuple[Annotated[str, OneOf(DETECTORS, "a detector")], ...] = ()
    """Stop training at the first evaluation where one of these detectors fires
    (:data:`rewardlab.monitors.DETECTORS`, e.g. ``("divergence",)``), and keep the policy of the
    evaluation with the best true return before it: a mitigation of reward hacking (early stopping
    on the monitors, with the ground truth as the validation score). The row says ``stopped_by``,
    the summary ``stopped_at`` and ``kept_agent_of`` (the step whose policy was kept)."""
    save_replay_buffer: StrictBool = False
    """Also checkpoint an off-policy agent's replay buffer at each evaluation (npz; it can be large),
    so a resumed run continues with the transitions it had collected."""

    _suite_env: suite.SuiteEnv = PrivateAttr()
    _reward_spec: RewardSpec = PrivateAttr()
    _preset: agents.AgentPreset | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _parse_reward(self) -> TrainConfig:
        """The suite env, the parsed reward spec (a TOML path is read: it is the user's input) and the
        values of the hyperparameter overrides (their names are checked against SB3 by :meth:`check`)."""
        self._suite_env = suite.get(self.env)
        self._reward_spec = parse(self.reward)
        agents.check_hyperparams(self.agent, self.hyperparams)
        return self

    @classmethod
    def from_run(cls, run_dir: str | Path, **changes: Any) -> TrainConfig:
        """The config of the run in ``run_dir`` (its ``config.json``), to continue it with :func:`train`.

        ``changes`` replace fields that do not change the results (``threads``, ``progress_bar``,
        ``save_replay_buffer``, ``eval_episodes`` is not one of them: it is checked on resume).

        Raises:
            ConfigError: ``run_dir`` holds no readable ``config.json`` of a training run.
        """
        path = Path(run_dir)
        saved = RunDir(path).read_config()
        if not saved.get("env") or "reward" not in saved or not path.is_dir():
            raise ConfigError(
                message("resume", "a run directory of rewardlab train", str(path), "Check the path (config.json).")
            )
        fields = {name: saved[name] for name in cls.model_fields if name in saved}
        fields.update(runs_dir=str(path.parent.parent), group=path.parent.name, run_name=path.name, **changes)
        return cls(**fields)

    @property
    def suite_env(self) -> suite.SuiteEnv:
        """The suite env of :attr:`env`."""
        return self._suite_env

    @property
    def reward_spec(self) -> RewardSpec:
        """The reward spec :attr:`reward` names, validated."""
        return self._reward_spec

    def check(self) -> TrainConfig:
        """The explicit step before a run: bind the reward to the env and check the agent's preset.

        Builds the raw env once for its spaces, checks the reward spec on it without training
        anything (:meth:`~rewardlab.rewards.RewardSpec.check`: unknown factors and broken code
        rewards fail here), loads the preset with the overrides and checks it against the action
        space. :func:`train` calls it before writing anything; calling it again does nothing.

        Returns:
            The config itself.

        Raises:
            SpecError, ConfigError, UnknownNameError: naming the field, the value and the fix.
        """
        if self._preset is not None:
            return self
        raw = self.suite_env.make()
        try:
            self.reward_spec.check(self.suite_env, (raw.observation_space, raw.action_space))
            preset = agents.preset(self.agent, self.suite_env, self.hyperparams, self.agent_config)
            agents.check(preset, raw.action_space)
        finally:
            raw.close()
        if isinstance(self.reward_spec, Hierarchical) and self.reward_spec.relabel:
            self._check_relabel(preset)
        self._preset = preset
        return self

    @property
    def preset(self) -> agents.AgentPreset:
        """The agent's preset with the overrides (loaded by :meth:`check`)."""
        self.check()
        if self._preset is None:  # check() sets it or raises
            raise RuntimeError("TrainConfig.check() did not load the preset")
        return self._preset

    def _check_relabel(self, preset: agents.AgentPreset) -> None:
        """Relabelling recomputes rewards from the replay buffer: it must hold what the reward sees."""
        problem = None
        if preset.algo not in OFF_POLICY:
            problem = f"an off-policy agent (sac, td3, ddpg, dqn), not {preset.algo!r}"
        elif self.suite_env.hidden_obs:
            problem = (
                f"an env without hidden observation dims ({self.suite_env.name!r} hides {self.suite_env.hidden_obs})"
            )
        elif preset.normalize_obs or preset.normalize_reward:
            problem = "a preset without VecNormalize"
        if problem is not None:
            raise ConfigError(message("reward.relabel", f"used with {problem}", True, "Set relabel = false."))

    @property
    def reward_label(self) -> str:
        if isinstance(self.reward, (str, Path)) and str(self.reward) != "env":
            return Path(str(self.reward)).stem
        return self.reward_spec.label

    def resolved(self) -> dict[str, Any]:
        """The config with every default filled in, as saved in ``config.json``."""
        self.check()
        data = {k: v for k, v in self.model_dump().items() if k != "reward"}
        data.update(
            env=self.suite_env.name,
            gym_id=self.suite_env.gym_id,
            reward=self.reward_spec.to_dict(),
            reward_label=self.reward_label,
            timesteps=self.timesteps or self.preset.n_timesteps,
            n_envs=self.n_envs or self.preset.n_envs,
            agent_preset=self.preset.to_dict(),
            command=" ".join(sys.argv),
            versions=software_versions(),
        )
        return data


@dataclass(frozen=True)
class TrainResult:
    """What a finished run produced."""

    run_dir: Path
    """The run directory."""
    final: EvalResult
    """The last evaluation (proxy and env returns)."""
    metrics: list[dict[str, Any]]
    """Every row of ``metrics.jsonl``."""
    resumed_from: int | None = None
    """The steps of the checkpoint the run continued from (None: it ran from the start)."""


class _EvalCallback(BaseCallback):
    """Evaluate on proxy and env reward every ``eval_freq`` steps; log to TensorBoard and JSONL."""

    def __init__(
        self,
        run: RunDir,
        eval_freq: int,
        eval_episodes: int,
        seed: int,
        replay_buffer: bool,
        monitor_transitions: int,
        stop_on: tuple[str, ...] = (),
    ) -> None:
        super().__init__()
        self.run = run
        self.replay_buffer = replay_buffer
        self.monitor_transitions = monitor_transitions
        self.stop_on = stop_on
        self.stopped_by: list[str] = []
        self.best: tuple[float, int, dict[str, Any]] | None = None
        self.eval_freq = eval_freq
        self.eval_episodes = eval_episodes
        self.seed = seed
        self.next_eval = eval_freq
        self.train_episodes: deque[dict[str, Any]] = deque(maxlen=100)
        self.episodes_since_eval: list[list[float]] = []
        self.last: EvalResult | None = None
        self.start = time.time()

    def _on_training_start(self) -> None:
        swap = unwrap_vec_wrapper(self.training_env, vec_wrappers.SwapReward)
        self.swap = swap if isinstance(swap, vec_wrappers.SwapReward) else None
        self.reward_fn = reward_function_of(self.training_env)
        suite_env = suite_env_of(self.training_env)
        if suite_env is None:  # train() builds the env with make_vec_env, which records it
            raise RuntimeError("the training env was not built by rewardlab.make_vec_env")
        self.suite_env = suite_env
        # Rewards whose model learns during training (HERON online) bump `version` per update.
        self.learning = self.reward_fn if isinstance(self.reward_fn, LearningReward) else None
        self.reward_version = self.learning.version if self.learning is not None else 0

    def _on_step(self) -> bool:
        dones = self.locals["dones"]
        if dones.any():
            infos = self.locals["infos"]
            for i in np.flatnonzero(dones):
                episode = infos[i]["rewardlab"]["episode"]
                self.train_episodes.append(episode)
                self.episodes_since_eval.append(
                    [int(self.num_timesteps), round(episode["env_return"], 4), round(episode["proxy_return"], 4)]
                )
        fn = self.learning
        if fn is not None and fn.version != self.reward_version:
            self.reward_version = fn.version
            if fn.relabel:
                agents.relabel_replay_buffer(self.model, fn)
        if self.num_timesteps >= self.next_eval:
            self.next_eval += self.eval_freq
            self.evaluate_now()
            fault(f"train:evaluated:{self.run.path.name}")
            fault("train:before_checkpoint")
            write_checkpoint(self.model, self.run, replay_buffer=self.replay_buffer)
        return not self.stopped_by  # a detector in stop_on fired: stop here (the mitigation)

    def evaluate_now(self) -> EvalResult:
        result = evaluate(self.model, n_episodes=self.eval_episodes, seed=self.seed + 10_000)
        self.last = result
        row: dict[str, Any] = {
            "timesteps": int(self.num_timesteps),
            "time_s": round(time.time() - self.start, 2),
            "eval_proxy_return": result.proxy_return,
            "eval_env_return": result.env_return,
            "eval_proxy_std": result.proxy_std,
            "eval_env_std": result.env_std,
            "eval_length": result.length,
            "eval_terms": result.terms,
        }
        if self.train_episodes:
            row["train_proxy_return"] = float(np.mean([e["proxy_return"] for e in self.train_episodes]))
            row["train_env_return"] = float(np.mean([e["env_return"] for e in self.train_episodes]))
        # every training episode that ended since the last evaluation: [timestep, env return, proxy return]
        # (HERON's metric is the true return of the training episodes; kept with the row, a resume drops both)
        row["train_episodes"] = self.episodes_since_eval
        self.episodes_since_eval = []
        if self.swap is not None:
            row["train_term_means"] = self.swap.pop_term_means()
        if isinstance(self.reward_fn, ModelReward) and self.reward_fn.stats:
            # a learned reward's label statistics (HERON: fraction decided per level)
            row["reward_stats"] = dict(self.reward_fn.stats)
        monitors = monitor(
            self.model,
            self.reward_fn,
            self.suite_env,
            result,
            self.run.metrics(),  # the rows before this one
            list(self.train_episodes),
            n_transitions=self.monitor_transitions,
            seed=self.seed + 20_000 + int(self.num_timesteps),
        )
        row["eval_factors"] = monitors.pop("factors")
        row.update(monitors)
        history = self.run.metrics()
        flags = detect(row, history)
        if flags:
            row["flags"] = [f.to_dict() for f in flags]
        stopping = sorted({f.detector for f in flags} & set(self.stop_on))
        if stopping:
            row["stopped_by"] = stopping
            self.stopped_by = stopping
        elif self.stop_on and (self.best is None or result.env_return > self.best[0]):
            # the agent a stop falls back to: the best true return before any flag
            self.best = (result.env_return, int(self.num_timesteps), copy.deepcopy(self.model.policy.state_dict()))
        for key, value in _scalars(row):
            self.logger.record(f"rewardlab/{key}", value)
        self.logger.dump(self.num_timesteps)
        self.run.append_metrics(row)
        return result


def _scalars(row: dict[str, Any], prefix: str = "") -> list[tuple[str, float]]:
    """The numbers of a metrics row for TensorBoard, nested keys joined by ``/`` (None and lists left out)."""
    out: list[tuple[str, float]] = []
    for key, value in row.items():
        if isinstance(value, dict):
            out.extend(_scalars(value, f"{prefix}{key}/"))
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and key not in ("timesteps", "time_s"):
            out.append((prefix + key, float(value)))
    return out


_SUMMARY_MONITORS = (
    "rank_corr_train",
    "proxy_trend",
    "env_trend",
    "distance_epic",
    "distance_starc_val",
    "exact_proxy_return",
    "exact_env_return",
    "exact_regret",
)
"""The monitors of the last evaluation that the run's summary (``status.json``) repeats."""
_SAME_SETTINGS = ("env", "reward", "agent", "seed", "timesteps", "n_envs", "hyperparams", "agent_preset")
"""The fields of ``config.json`` a resumed run must share with the run it continues."""
CHECKPOINT = "checkpoint"
"""The folder of a run's last checkpoint (its ``checkpoint.json`` is the commit point)."""


def _run_dir(config: TrainConfig) -> RunDir:
    """The run's directory: a named run is refused once done; an unnamed one gets a fresh name."""
    parts = [config.suite_env.name, config.reward_label, config.preset.algo, f"s{config.seed}"]
    run = RunDir.create(config.runs_dir, config.group, config.run_name, parts)
    if config.run_name is not None:
        run.refuse_done()
    return run


def _normalization(model: BaseAlgorithm) -> dict[str, Any] | None:
    env = model.get_env()
    norm = unwrap_vec_wrapper(env, VecNormalize) if env is not None else None
    return normalization_state(norm) if isinstance(norm, VecNormalize) else None


def _save_agent(model: BaseAlgorithm, run: RunDir) -> None:
    run.save_agent(model, _normalization(model))


@dataclass(frozen=True)
class Checkpoint:
    """The last committed checkpoint of a run (``checkpoint/checkpoint.json``)."""

    timesteps: int
    """Steps trained when it was written."""
    files: dict[str, str]
    """``agent``, ``normalization``, ``replay_buffer`` -> file name in ``checkpoint/``."""
    counters: dict[str, int]
    """SB3's counters that ``learn(reset_num_timesteps=False)`` continues from."""

    @staticmethod
    def read(run: RunDir) -> Checkpoint | None:
        """The committed checkpoint, or None (none yet, or a file that is not one)."""
        try:
            data = json.loads((run.path / CHECKPOINT / "checkpoint.json").read_text(encoding="utf-8"))
            point = Checkpoint(int(data["timesteps"]), dict(data["files"]), dict(data["counters"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        folder = run.path / CHECKPOINT
        if not all((folder / name).is_file() and "/" not in name for name in point.files.values()):
            return None
        return point


_COUNTERS = ("num_timesteps", "_n_updates", "_episode_num")


def write_checkpoint(model: BaseAlgorithm, run: RunDir, *, replay_buffer: bool) -> None:
    """Write the agent's checkpoint: step-named files first, ``checkpoint.json`` (the commit) last."""
    folder = run.path / CHECKPOINT
    step = int(model.num_timesteps)
    files = {"agent": f"agent-{step}.zip"}
    run.save_agent(model, None, into=folder)  # then renamed to its step name
    (folder / "agent.zip").replace(folder / files["agent"])
    norm = _normalization(model)
    if norm is not None:
        files["normalization"] = f"vecnormalize-{step}.json"
        write_json(folder / files["normalization"], norm)
    buffer = getattr(model, "replay_buffer", None)
    if replay_buffer and buffer is not None:
        files["replay_buffer"] = f"replay_buffer-{step}.npz"
        save_replay_buffer(buffer, folder / files["replay_buffer"])
    fault("train:before_commit")
    counters = {name: int(getattr(model, name, 0)) for name in _COUNTERS}
    write_json(folder / "checkpoint.json", {"timesteps": step, "files": files, "counters": counters})
    fault("train:after_commit")
    _remove_uncommitted(run, set(files.values()))


def _remove_uncommitted(run: RunDir, keep: set[str]) -> None:
    """Delete the checkpoint files that ``checkpoint.json`` does not name (older or never committed)."""
    folder = run.path / CHECKPOINT
    if folder.is_dir():
        for path in folder.iterdir():
            if path.name != "checkpoint.json" and path.name not in keep and path.is_file():
                path.unlink(missing_ok=True)


def _check_same_settings(run: RunDir, resolved: dict[str, Any]) -> None:
    saved = run.read_config()
    for key in _SAME_SETTINGS:
        if saved.get(key) != json.loads(json.dumps(resolved.get(key), default=str)):
            raise ConfigError(
                message(
                    key,
                    f"{saved.get(key)!r} as in the run being continued ({run.path})",
                    resolved.get(key),
                    "Continue it with the same settings, or pick another run_name.",
                )
            )


def _keep_metrics_until(run: RunDir, timesteps: int) -> None:
    """Keep the metric rows up to ``timesteps``; move later ones (work after the checkpoint) aside."""
    rows = run.metrics()
    discarded = [r for r in rows if int(r.get("timesteps", 0)) > timesteps]
    if not discarded:
        return
    for row in discarded:
        append_jsonl(run.path / "metrics.discarded.jsonl", {**row, "discarded_at_resume_from": timesteps})
    kept = [r for r in rows if int(r.get("timesteps", 0)) <= timesteps]
    write_atomic(run.metrics_path, "".join(json.dumps(r, default=float) + "\n" for r in kept))


def _save_reward_model(callback: _EvalCallback, run: RunDir) -> None:
    """Save a reward model trained with the agent (HERON), so `learned` specs can load it."""
    fn = callback.reward_fn
    if isinstance(fn, ModelReward) and fn.saved_with_run:
        fn.save(run.reward_model_path)


def _begin(config: TrainConfig) -> tuple[RunDir, dict[str, Any], Checkpoint | None]:
    """Open the run directory as its only writer; a fresh run writes its config, a resumed one is checked.

    Returns the run, the resolved config and the checkpoint to continue from (None: from scratch).
    """
    run = _run_dir(config)
    run.lock()
    try:
        resolved = config.resolved()
        point = None
        if run.config_path.is_file() and config.run_name is not None:
            _check_same_settings(run, resolved)
            point = Checkpoint.read(run)
        if point is None:
            _remove_uncommitted(run, set())
            _keep_metrics_until(run, 0)
            run.write_config(resolved)
            write_atomic(run.path / "reward.toml", tomli_w.dumps(config.reward_spec.to_dict()))
        else:
            _remove_uncommitted(run, set(point.files.values()))
            _keep_metrics_until(run, point.timesteps)
        run.start(**({"resumed_from": point.timesteps} if point is not None else {}))
    except BaseException:
        run.unlock()
        raise
    return run, resolved, point


def _restore(model: BaseAlgorithm, run: RunDir, point: Checkpoint, replay_buffer: bool) -> None:
    """Load the checkpoint's tensors, counters and (when saved and asked) replay buffer into ``model``."""
    folder = run.path / CHECKPOINT
    load_weights(model, folder / point.files["agent"])
    for name, value in point.counters.items():
        setattr(model, name, value)
    buffer = getattr(model, "replay_buffer", None)
    if replay_buffer and buffer is not None and "replay_buffer" in point.files:
        load_replay_buffer(buffer, folder / point.files["replay_buffer"])


def _learn(
    config: TrainConfig, run: RunDir, resolved: dict[str, Any], point: Checkpoint | None
) -> tuple[EvalResult, int]:
    """Build the env and the agent (from the checkpoint when resuming), train with periodic
    evaluations and checkpoints, save the agent; the final evaluation and the steps resumed from."""
    timesteps = resolved["timesteps"]
    eval_freq = config.eval_freq or max(timesteps // 10, 1)
    done = point.timesteps if point is not None else 0
    seed = config.seed + done  # a resumed part gets fresh episodes (module docstring)
    set_random_seed(seed)
    venv = make_vec_env(config.suite_env, config.reward_spec, n_envs=resolved["n_envs"], seed=seed)
    if point is not None and "normalization" in point.files:
        state = json.loads((run.path / CHECKPOINT / point.files["normalization"]).read_text(encoding="utf-8"))
        venv = restore_normalization(state, venv)
        venv.training = True
    model = agents.make(
        config.agent,
        venv,
        seed=config.seed,
        preset_file=config.agent_config,
        tensorboard_log=str(run.tensorboard_dir),
        **config.hyperparams,
    )
    if point is not None and isinstance(reward_function_of(venv), LearningReward):
        warnings.warn(
            "The reward learns while the agent trains, and its checkpoint is not restored yet: "
            "the run starts again from step 0 (its earlier metrics move to metrics.discarded.jsonl).",
            stacklevel=2,
        )
        _keep_metrics_until(run, 0)
        point, done = None, 0
    if point is not None:
        _restore(model, run, point, config.save_replay_buffer)
    callback = _EvalCallback(
        run,
        eval_freq,
        config.eval_episodes,
        config.seed,
        config.save_replay_buffer,
        config.monitor_transitions,
        tuple(config.stop_on),
    )
    callback.next_eval = (done // eval_freq + 1) * eval_freq
    try:
        model.learn(
            timesteps - done,
            callback=callback,
            progress_bar=config.progress_bar,
            tb_log_name="run",
            reset_num_timesteps=point is None,
        )
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            write_checkpoint(model, run, replay_buffer=config.save_replay_buffer)  # resume from here
        elif not isinstance(exc, (NonFiniteRewardError, OSError)):
            _save_agent(model, run)  # what was learned so far (a non-finite reward taints it; a full disk
            # keeps the last checkpoint, and retrying a save there would fail again)
        raise
    final = callback.last
    if callback.stopped_by and callback.best is not None:
        # the mitigation keeps the policy of the best evaluation before the flag (observation statistics,
        # when the preset normalises, stay those of the stop)
        model.policy.load_state_dict(callback.best[2])
        final = evaluate(model, n_episodes=config.eval_episodes, seed=config.seed + 10_000)
        run.update_status(kept_agent_of=callback.best[1])
    elif final is None or (not callback.stopped_by and callback.next_eval - eval_freq < model.num_timesteps):
        final = callback.evaluate_now()
    _save_agent(model, run)
    _save_reward_model(callback, run)
    venv.close()
    return final, done


def train(config: TrainConfig) -> TrainResult:
    """Train ``config.agent`` on ``config.reward`` and evaluate under both rewards.

    Raises:
        NonFiniteRewardError: the reward became NaN/inf; the run is marked failed, with what
            was written so far kept.
    """
    config.check()
    try:
        run, resolved, point = _begin(config)
    except OSError as exc:
        raise storage_error(exc, Path(config.runs_dir) / config.group, "runs_dir") from None
    torch.set_num_threads(config.threads)
    with run.recording_failures(), threadpool_limits(limits=config.threads), use_model_store(config.reward_models):
        final, done = _learn(config, run, resolved, point)
    last = run.metrics()[-1] if run.metrics() else {}
    stopped = {"stopped_at": last["timesteps"], "stopped_by": last["stopped_by"]} if "stopped_by" in last else {}
    if "kept_agent_of" in run.status():
        stopped["kept_agent_of"] = run.status()["kept_agent_of"]
    run.finish(
        **stopped,
        final_proxy_return=final.proxy_return,
        final_env_return=final.env_return,
        **{k: last[k] for k in _SUMMARY_MONITORS if last.get(k) is not None},
    )
    shutil.rmtree(run.path / CHECKPOINT, ignore_errors=True)  # agent.zip holds the final agent
    return TrainResult(run_dir=run.path, final=final, metrics=run.metrics(), resumed_from=done or None)
