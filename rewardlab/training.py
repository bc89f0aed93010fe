"""One training run: train one SB3 agent on a reward spec and log proxy and env returns.

Owns :class:`TrainConfig` (the resolved settings of a run: env, reward spec, agent preset with
overrides, seed, budget, evaluation schedule), :func:`train` and :class:`TrainResult`: what
``rewardlab train`` runs, and what every sweep trial runs.

Every run writes a run directory (a :class:`~rewardlab.runs.RunDir`) with the resolved config, a
status, ``metrics.jsonl`` (periodic evaluations under both rewards, per-term means), TensorBoard
logs and the agent. ``seed`` fixes every RNG; BLAS and torch use ``threads`` threads (1 by
default: on a busy 2-core machine 2 threads per process was ~10x slower than 1).

Layer: above :mod:`rewardlab.metrics`, beside :mod:`rewardlab.compare` (neither imports the
other): it imports :mod:`rewardlab.agents`, :mod:`rewardlab.evaluation`, the wrappers,
:mod:`rewardlab.rewards`, :mod:`rewardlab.data` and the ground floor, nothing higher. A reward
kind that trains a model when built (``learned`` with ``preferences``, ``hierarchical``) gets its
trainer through the reward-kind registry (:func:`rewardlab.rewards.trainer` loads
:mod:`rewardlab.preferences` on first use), never through an import from here.
"""

from __future__ import annotations

import sys
import time
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
from rewardlab.config import Config, Hint, NonNegativeInt, PositiveInt, StrictBool
from rewardlab.data import OFF_POLICY, AgentName
from rewardlab.errors import ConfigError, NonFiniteRewardError, message
from rewardlab.evaluation import EvalResult, evaluate
from rewardlab.rewards import Hierarchical, LearningReward, ModelReward, RewardSpec, parse, use_model_store
from rewardlab.runs import DirPath, GroupName, RunDir, RunName, software_versions, write_atomic
from rewardlab.suite import EnvName
from rewardlab.wrappers import make_vec_env, reward_function_of
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
    """SB3 algorithm with a preset: ``ppo``, ``sac``, ``dqn`` (``a2c``, ``td3`` use defaults)."""
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

    _suite_env: suite.SuiteEnv = PrivateAttr()
    _reward_spec: RewardSpec = PrivateAttr()
    _preset: agents.AgentPreset | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _parse_reward(self) -> TrainConfig:
        """The suite env and the parsed reward spec (a TOML path is read: it is the user's input)."""
        self._suite_env = suite.get(self.env)
        self._reward_spec = parse(self.reward)
        return self

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


class _EvalCallback(BaseCallback):
    """Evaluate on proxy and env reward every ``eval_freq`` steps; log to TensorBoard and JSONL."""

    def __init__(self, run: RunDir, eval_freq: int, eval_episodes: int, seed: int) -> None:
        super().__init__()
        self.run = run
        self.eval_freq = eval_freq
        self.eval_episodes = eval_episodes
        self.seed = seed
        self.next_eval = eval_freq
        self.train_episodes: deque[dict[str, Any]] = deque(maxlen=100)
        self.last: EvalResult | None = None
        self.start = time.time()

    def _on_training_start(self) -> None:
        swap = unwrap_vec_wrapper(self.training_env, vec_wrappers.SwapReward)
        self.swap = swap if isinstance(swap, vec_wrappers.SwapReward) else None
        self.reward_fn = reward_function_of(self.training_env)
        # Rewards whose model learns during training (HERON online) bump `version` per update.
        self.learning = self.reward_fn if isinstance(self.reward_fn, LearningReward) else None
        self.reward_version = self.learning.version if self.learning is not None else 0

    def _on_step(self) -> bool:
        dones = self.locals["dones"]
        if dones.any():
            infos = self.locals["infos"]
            for i in np.flatnonzero(dones):
                self.train_episodes.append(infos[i]["rewardlab"]["episode"])
        fn = self.learning
        if fn is not None and fn.version != self.reward_version:
            self.reward_version = fn.version
            if fn.relabel:
                agents.relabel_replay_buffer(self.model, fn)
        if self.num_timesteps >= self.next_eval:
            self.next_eval += self.eval_freq
            self.evaluate_now()
        return True

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
        if self.swap is not None:
            row["train_term_means"] = self.swap.pop_term_means()
        if isinstance(self.reward_fn, ModelReward) and self.reward_fn.stats:
            # a learned reward's label statistics (HERON: fraction decided per level)
            row["reward_stats"] = dict(self.reward_fn.stats)
        for key, value in row.items():
            if isinstance(value, dict):
                for name, v in value.items():
                    self.logger.record(f"rewardlab/{key}/{name}", v)
            elif key not in ("timesteps", "time_s"):
                self.logger.record(f"rewardlab/{key}", value)
        self.logger.dump(self.num_timesteps)
        self.run.append_metrics(row)
        return result


def _run_dir(config: TrainConfig) -> RunDir:
    """The run's directory: a named run is refused once done; an unnamed one gets a fresh name."""
    parts = [config.suite_env.name, config.reward_label, config.preset.algo, f"s{config.seed}"]
    run = RunDir.create(config.runs_dir, config.group, config.run_name, parts)
    if config.run_name is not None:
        run.refuse_done()
    return run


def _save_agent(model: BaseAlgorithm, run: RunDir) -> None:
    env = model.get_env()
    norm = unwrap_vec_wrapper(env, VecNormalize) if env is not None else None
    run.save_agent(model, norm if isinstance(norm, VecNormalize) else None)


def _save_reward_model(callback: _EvalCallback, run: RunDir) -> None:
    """Save a reward model trained with the agent (HERON), so `learned` specs can load it."""
    fn = callback.reward_fn
    if isinstance(fn, ModelReward) and fn.saved_with_run:
        fn.save(run.reward_model_path)


def _begin(config: TrainConfig) -> tuple[RunDir, dict[str, Any]]:
    """Create the run directory and write what is known before training: config, spec, status."""
    run = _run_dir(config)
    resolved = config.resolved()
    run.write_config(resolved)
    write_atomic(run.path / "reward.toml", tomli_w.dumps(config.reward_spec.to_dict()))
    run.start()
    run.clear_metrics()
    return run, resolved


def _learn(config: TrainConfig, run: RunDir, resolved: dict[str, Any]) -> EvalResult:
    """Build the env and the agent, train with periodic evaluations, save the agent; the final evaluation."""
    timesteps = resolved["timesteps"]
    eval_freq = config.eval_freq or max(timesteps // 10, 1)
    set_random_seed(config.seed)
    venv = make_vec_env(config.suite_env, config.reward_spec, n_envs=resolved["n_envs"], seed=config.seed)
    model = agents.make(
        config.agent,
        venv,
        seed=config.seed,
        preset_file=config.agent_config,
        tensorboard_log=str(run.tensorboard_dir),
        **config.hyperparams,
    )
    callback = _EvalCallback(run, eval_freq, config.eval_episodes, config.seed)
    try:
        model.learn(timesteps, callback=callback, progress_bar=config.progress_bar, tb_log_name="run")
    except BaseException as exc:
        if not isinstance(exc, NonFiniteRewardError):
            _save_agent(model, run)  # what was learned so far (a non-finite reward taints it)
        raise
    final = callback.last
    if final is None or callback.next_eval - eval_freq < model.num_timesteps:
        final = callback.evaluate_now()
    _save_agent(model, run)
    _save_reward_model(callback, run)
    venv.close()
    return final


def train(config: TrainConfig) -> TrainResult:
    """Train ``config.agent`` on ``config.reward`` and evaluate under both rewards.

    Raises:
        NonFiniteRewardError: the reward became NaN/inf; the run is marked failed, with what
            was written so far kept.
    """
    config.check()
    run, resolved = _begin(config)
    torch.set_num_threads(config.threads)
    try:
        with threadpool_limits(limits=config.threads), use_model_store(config.reward_models):
            final = _learn(config, run, resolved)
    except BaseException as exc:
        run.fail(exc)
        raise
    run.finish(final_proxy_return=final.proxy_return, final_env_return=final.env_return)
    return TrainResult(run_dir=run.path, final=final, metrics=run.metrics())
