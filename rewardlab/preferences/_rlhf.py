"""The online preference loop of Christiano et al. (2017), resumable after a kill.

:func:`run_rlhf` alternates, for ``n_iterations`` stages, between querying labels on segments of
the current agent, updating the reward model on every label so far, and training the agent on
the reward model (``imitation``'s ``PreferenceComparisons`` order: the labels of a stage shape the
agent's training of the same stage)::

    stage 0        random-policy segments -> initial_fraction * label_budget labels -> train model
    stage t >= 1   segments of the current agent -> select pairs (ensemble disagreement or uniform)
                   -> teacher labels -> train model on the whole dataset (warm start)
                   -> relabel the replay buffer (off-policy) -> agent.learn(chunk) -> evaluate

**Teacher**: the synthetic ``oracle``, or a person on the labelling page (``teacher = "human"``;
``"mixed"`` splits each stage between the two): :mod:`rewardlab.preferences._human` publishes
each stage's pairs under ``RUN/human/stage_<k>/`` and the loop waits for them there; a run killed
while it waits serves the same pairs again on resume, with the labels already given.

**Label schedule** (documented, constant): ``n_0 = max(1, round(initial_fraction * label_budget))``
labels in stage 0, and the remaining ``label_budget - n_0`` split evenly over the stages (the first
``remainder`` stages get one more). ``imitation`` defaults to a hyperbolic schedule; a constant one
is simpler to reason about and gives the last stages, where the agent's behaviour is new, as many
labels as the first. **Timesteps**: stage ``t`` trains until ``round(total_timesteps * t / n)``
steps, so the total does not drift with the rollout size.

The agent trains on a reward function that holds the *same* :class:`RewardModel` object the loop
keeps training, so each update is seen at the next env step without rebuilding the env.

**Run directory** ``runs/<group>/<env>__rlhf__<agent>__s<seed>__<time>/``: ``config.json``,
``status.json``, ``metrics.jsonl`` (one row per stage), ``dataset/``, ``reward_model/``,
``human/`` (a person's stages), ``agent.zip`` (+ ``replay_buffer.npz`` for off-policy agents,
``vecnormalize.json`` when the preset normalises) and ``state.json`` (last completed stage,
labels used, timesteps, the agent's SB3 counters, RNG states).

**Checkpoints and resume.** After each stage every artefact is written to ``.next/`` first, then
``.next/state.json`` last: a staged folder holding ``state.json`` is committed, one without it is
not (there is no other way to tell them apart). Then the artefacts are moved into place (an
old folder is first moved aside into ``.next/``), ``state.json`` last of all, and ``.next/``
removed. A kill before the commit leaves the previous stage intact (the staged folder is
discarded on resume); a kill after it is finished on resume (each move is done once, whichever
were done already). Fault points (:func:`rewardlab.runs.fault`) ``rlhf:<step>`` sit between the
steps, so a test kills the process at each one. ``metrics.jsonl`` rows of uncommitted stages are
dropped. Resuming with the same ``run_name`` (or ``resume=<run dir>``) first takes the run's writer
lock (a second live process on the same directory gets :class:`~rewardlab.errors.RunBusyError`),
then continues after the last committed stage and ends with the same number of labels and
timesteps as an uninterrupted run.

**Nothing is unpickled on resume.** The agent is rebuilt from the config (:func:`rewardlab.agents.make`)
and only the tensors of ``agent.zip`` are loaded (:func:`rewardlab.data.load_weights`); its counters
(``num_timesteps``, ``_n_updates``, ...) come from ``state.json``, the ``VecNormalize`` statistics
from JSON and the replay buffer from ``.npz``. A run directory of an older rewardlab, whose
statistics or buffer exist only as ``vecnormalize.pkl`` / ``replay_buffer.pkl``, is refused
(:class:`~rewardlab.errors.UntrustedFileError`) unless ``trust=True`` (``--trust-pickle``): a
planted pickle runs code when loaded. The first checkpoint after such a resume replaces them.

What is *not* bit-identical on resume: the vector envs restart their episodes (SB3 does not save
the env state or the partial rollout) and their seeds, so the stages after the resume see other
episodes than an uninterrupted run would (a resume right after stage 0, before the agent's env
has stepped, is identical). The dataset, the reward model, the agent (policy, optimiser, SB3
counters, action-space RNG, replay buffer, normalisation statistics), the loop's numpy generator
and the global torch / numpy / ``random`` RNG states are restored exactly.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import shutil
import sys
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import torch
from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    InstanceOf,
    PrivateAttr,
    SkipValidation,
    Strict,
    model_validator,
)
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.utils import set_random_seed
from stable_baselines3.common.vec_env import VecNormalize, unwrap_vec_wrapper
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from rewardlab import agents, suite
from rewardlab.config import Config, Hint, Int, NonNegativeInt, OneOf, Real, StrictBool
from rewardlab.data import (
    OFF_POLICY,
    AgentName,
    Segments,
    collect_segments,
    load_replay_buffer,
    load_weights,
    normalization_state,
    restore_normalization,
    save_replay_buffer,
    untrusted,
)
from rewardlab.errors import ConfigError, message, unknown
from rewardlab.evaluation import EvalResult, evaluate
from rewardlab.monitors import detect, monitor
from rewardlab.preferences._active import select_pairs
from rewardlab.preferences._bradley_terry import train_reward_model
from rewardlab.preferences._dataset import PreferenceDataset
from rewardlab.preferences._human import HUMAN_DIR, HumanTeacher
from rewardlab.preferences._oracles import (
    BPREF_TEACHERS,
    BoltzmannOracle,
    ImperfectOracle,
    PreferenceOracle,
    bpref_teacher,
    label_pairs,
)
from rewardlab.preferences._serve import check_bind
from rewardlab.rewards import FeatureSpec, Learned, LearningReward, RewardModel
from rewardlab.runs import (
    AGENT,
    NORMALIZATION,
    REPLAY_BUFFER,
    DirPath,
    GroupName,
    RunDir,
    RunName,
    fault,
    software_versions,
    write_atomic,
    write_json,
)
from rewardlab.suite import EnvName
from rewardlab.wrappers import make_vec_env

__all__ = ["LOOP_SETTINGS", "RLHFConfig", "RLHFResult", "build_oracle", "label_schedule", "run_rlhf"]

_QUERIES = ("disagreement", "uniform")
_TEACHERS = ("synthetic", "human", "mixed")
_NORMALIZATIONS = ("scale", "standard", "none")
_ORACLES: dict[str, type] = {"boltzmann": BoltzmannOracle, "imperfect": ImperfectOracle}
_COMMIT = ".next"
"""Staging directory of a checkpoint (see the module docstring)."""
_STATE = "state.json"
"""The loop's state; written last inside ``.next/`` (the commit marker), moved into place last."""
_ARTEFACTS = ("dataset", "reward_model", AGENT, NORMALIZATION, REPLAY_BUFFER)
"""What a checkpoint moves into place, in this order (then :data:`_STATE`)."""
_LEGACY_NORMALIZATION = "vecnormalize.pkl"
_LEGACY_REPLAY_BUFFER = "replay_buffer.pkl"
"""What an older rewardlab wrote instead of :data:`NORMALIZATION` / :data:`REPLAY_BUFFER` (pickles)."""
_COUNTERS = ("num_timesteps", "_n_updates", "_episode_num", "_n_calls")
"""SB3 counters that ``learn(reset_num_timesteps=False)`` continues from (``_n_calls``: DQN's
target-network updates); saved in ``state.json`` under ``"agent"``."""
_FLOATS = ("_current_progress_remaining", "exploration_rate")
"""SB3 floats the next stage starts from (DQN's epsilon is read when it collects segments)."""
LOOP_SETTINGS = (
    "label_budget",
    "n_iterations",
    "initial_fraction",
    "segment_length",
    "segments_per_iteration",
    "query",
    "ensemble",
    "hidden",
    "features",
    "reward_epochs",
    "reward_lr",
    "val_fraction",
    "reward_normalization",
    "oracle",
    "relabel",
)
"""The settings of the loop itself (labels, queries, reward model, synthetic teacher), apart from the
env, the agent and where the run goes: what a sweep's ``rlhf`` variant may set."""
_RESULT_FIELDS = (
    "env",
    "agent",
    "seed",
    "total_timesteps",
    *LOOP_SETTINGS,
    "teacher",
    "human_fraction",
    "n_envs",
    "hyperparams",
)
"""Fields that change what a run computes: a resumed run must have the same ones."""
_ADDED_FIELDS: dict[str, Any] = {"teacher": "synthetic", "human_fraction": 1.0}
"""Result fields newer than some run directories, with the value those runs had."""


def label_schedule(label_budget: int, n_iterations: int, initial_fraction: float) -> list[int]:
    """Labels queried in each stage: ``[n_0, n_1, ..., n_T]`` summing to ``label_budget``.

    ``n_0 = max(1, round(initial_fraction * label_budget))`` (random-policy segments, before any
    agent training); the rest is split evenly over the ``T = n_iterations`` stages, the first
    ``remainder`` stages getting one more.

    Example:
        >>> label_schedule(30, 3, 0.1)
        [3, 9, 9, 9]
        >>> label_schedule(10, 4, 0.25)
        [2, 2, 2, 2, 2]
    """
    n0 = min(label_budget, max(1, round(initial_fraction * label_budget)))
    rest = label_budget - n0
    base, extra = divmod(rest, n_iterations)
    return [n0] + [base + (1 if t < extra else 0) for t in range(n_iterations)]


class RLHFConfig(Config):
    """Everything one online preference run needs; validated on construction, without I/O.

    Construction checks every field, the names (env, agent, query, oracle kind, features), the
    features against the env's reward factors and the label schedule; it reads no file and
    builds no env. :meth:`check` (which :func:`run_rlhf` and :meth:`resolved` call, and reading
    :attr:`preset` triggers) then loads the agent preset, checks it against the env's action
    space and resolves :attr:`relabel`.

    Raises:
        ConfigError: a field is out of range; the message names the field, the value and the fix.
        UnknownNameError: an unknown env, agent, query method or oracle kind (with a suggestion).

    Example:
        >>> c = RLHFConfig(env="cartpole", agent="ppo", total_timesteps=1000, label_budget=30, n_iterations=3)
        >>> c.schedule
        [3, 9, 9, 9]
        >>> c.check().relabel
        False
    """

    model_config = ConfigDict(validate_default=True)

    env: EnvName
    """Suite env name (``pendulum``) or Gymnasium id."""
    agent: AgentName = "ppo"
    """SB3 algorithm with a preset: ``ppo``, ``sac``, ``dqn``, ``a2c``, ``td3``, ``ddpg``."""
    seed: Annotated[int, Int(0)] = 0
    """Seed of every RNG (agent, envs, segment collection, pair selection, oracle, reward model)."""
    total_timesteps: Annotated[int, Int(1), Hint(fix="Pass e.g. total_timesteps=100_000.")] = 100_000
    """Agent env steps over the whole run, split evenly over the stages."""
    label_budget: Annotated[int, Int(1), Hint(fix="Pass e.g. label_budget=500.")] = 500
    """Total number of queried pairs (labels), stage 0 included."""
    n_iterations: Annotated[int, Int(1), Hint(fix="Pass e.g. n_iterations=5.")] = 5
    """Stages of (query, train the reward model, train the agent) after the initial stage."""
    initial_fraction: Annotated[float, Real(gt=0.0, le=1.0, fix="Use 0.1 (imitation) or 0.25 (rl-teacher).")] = 0.1
    """Fraction in ``(0, 1]`` of the budget queried on random-policy segments before any agent
    training (``imitation``: 0.1; Christiano's rl-teacher: 0.25)."""
    segment_length: Annotated[int, Int(1), Hint(fix="Pass e.g. segment_length=50.")] = 50
    """Steps per segment; a segment never crosses an episode boundary (shorter ones are padded)."""
    segments_per_iteration: Annotated[Annotated[int, Int(2)] | None, Hint(fix="Pass None for 4 segments per pair.")] = (
        None
    )
    """Fresh segments collected per stage to draw pairs from; None = ``max(4 * pairs, 2)``."""
    query: Annotated[str, OneOf(_QUERIES, "a pair-selection method")] = "disagreement"
    """Pair selection: ``"disagreement"`` (ensemble variance of P(a > b)) or ``"uniform"``.
    Stage 0 always draws uniformly (the model is untrained)."""
    ensemble: Annotated[int, Int(1), Hint(fix="Pass ensemble=3.")] = 3
    """Reward-model ensemble members (>= 2 for ``query = "disagreement"``)."""
    hidden: Annotated[
        tuple[Annotated[int, Int(1, fix="Pass layer sizes such as (64, 64).")], ...],
        Hint(expect="a list of layer sizes", fix="Pass hidden=(64, 64)."),
    ] = (64, 64)
    """Hidden layer sizes of each reward-model MLP."""
    features: Annotated[InstanceOf[FeatureSpec], BeforeValidator(FeatureSpec.coerce)] = FeatureSpec()  # == "obs,action"
    """Reward-model inputs (:meth:`FeatureSpec.coerce`): names such as ``"obs,action"``,
    ``"next_obs"`` or factor names (``"pole_angle,cart_offset"``), a dict of :class:`FeatureSpec`
    fields, or a :class:`FeatureSpec`. Inputs that merely correlate with the truth on the labelled
    segments get credit the agent then exploits (causal confusion): on fixed-horizon CartPole,
    early segments are mostly of a fallen, frozen pole, a model over the full state learned
    "moving = good", and the agent learned to push the cart hard until the pole fell."""
    reward_epochs: Annotated[int, Int(1), Hint(fix="Pass e.g. reward_epochs=50.")] = 50
    """Reward-model epochs per stage (early stopping on the validation split)."""
    reward_lr: Annotated[float, Real(gt=0.0, fix="Pass e.g. reward_lr=1e-3.")] = 1e-3
    """Adam learning rate of the reward model."""
    val_fraction: Annotated[float, Real(ge=0.0, lt=1.0, fix="Pass 0.2, or 0 for no validation.")] = 0.2
    """Fraction in ``[0, 1)`` of the pairs held out to report accuracy and stop early."""
    reward_normalization: Annotated[str, OneOf(_NORMALIZATIONS, "a normalisation")] = "scale"
    """After each update: ``"scale"`` divides the learned reward by its std over the dataset's
    steps (keeps the sign), ``"standard"`` also shifts it to mean 0 (Christiano et al.), ``"none"``.
    A shift is not harmless where episodes terminate (CartPole): a negative reward per step teaches
    the agent to end episodes early. Bradley-Terry on padded segments (different real lengths)
    does identify the per-step offset, so ``"scale"`` keeps it."""
    oracle: Annotated[Mapping[str, Any], SkipValidation] = Field(
        default_factory=lambda: {"kind": "boltzmann", "temperature": 1.0}
    )
    """Synthetic labeller: ``{"kind": "boltzmann", "temperature": 1.0, "reward": "env", "gamma": 1.0}``,
    ``{"kind": "imperfect", "beta": ..., "mistake_prob": ..., ...}`` (the fields of
    :class:`BoltzmannOracle` / :class:`ImperfectOracle`) or one of B-Pref's six teachers,
    ``{"kind": "bpref", "teacher": "oracle" | "mistake" | "noisy" | "skip" | "myopic" | "equal"}``."""
    teacher: Annotated[str, OneOf(_TEACHERS, "a teacher")] = "synthetic"
    """Who labels the queries: ``"synthetic"`` (the ``oracle``), ``"human"`` (a person on the labelling
    page, :mod:`rewardlab.preferences._human`: each stage publishes its pairs and waits for them) or
    ``"mixed"`` (a person labels ``human_fraction`` of each stage's pairs and, after
    ``human_timeout_s``, what is left goes to the ``oracle``; for trying the loop out and for tests)."""
    human_fraction: Annotated[float, Real(gt=0.0, le=1.0, fix="Pass 1 (all pairs to the page) or 0.5.")] = 1.0
    """Share in ``(0, 1]`` of each stage's pairs sent to the page (``teacher = "mixed"``; 1 otherwise)."""
    human_timeout_s: Annotated[
        Annotated[float, Real(ge=0.0, fix="Pass seconds, e.g. 3600, or None for no limit.")] | None,
        Hint(expect="seconds >= 0 or None"),
    ] = 3600.0
    """Seconds a stage waits for its labels on the page; then ``"human"`` stops (resumable, the labels
    given are kept) and ``"mixed"`` lets the ``oracle`` label the rest. None: wait without limit."""
    host: Annotated[str, Strict()] = "127.0.0.1"
    """Address of the labelling page (``teacher`` human or mixed); anything but loopback needs ``token``."""
    port: Annotated[int, Int(0, 65535, fix="Pass a free TCP port, e.g. 8765 (0: any free one).")] = 8765
    """TCP port of the labelling page (0: any free one; the URL is printed)."""
    token: Annotated[str | None, Strict()] = None
    """Secret every request to the page must carry (required off loopback; never saved in ``config.json``)."""
    relabel: Annotated[StrictBool | None, Hint(expect="True, False or None")] = None
    """Rewrite an off-policy agent's replay-buffer rewards after each reward-model update;
    None = True for off-policy agents (``sac``, ``td3``, ``dqn``), False otherwise."""
    n_envs: Annotated[Annotated[int, Int(1)] | None, Hint(fix="Pass None for the preset's.")] = None
    """Parallel envs of the agent; None takes the preset's."""
    eval_episodes: Annotated[int, Int(1)] = 10
    """Episodes of the evaluation after each stage (learned and ground-truth return)."""
    monitor_transitions: NonNegativeInt = 256
    """Transitions of the current policy sampled after each stage to measure how far the current
    reward model is from the ground truth there (EPIC, STARC-VAL; :mod:`rewardlab.monitors`); 0: off."""
    hyperparams: Annotated[dict[str, Any], Strict(), Hint(expect="a dict of SB3 keyword arguments")] = Field(
        default_factory=dict
    )
    """SB3 hyperparameters overriding the preset (``{"learning_rate": 1e-3}``)."""
    runs_dir: DirPath = "runs"
    """Root of the run directories."""
    group: GroupName = "rlhf"
    """Sub-directory of ``runs_dir`` grouping related runs."""
    run_name: RunName = None
    """Run directory name; None builds ``<env>__rlhf__<agent>__s<seed>__<time>``. An existing,
    unfinished run of that name is resumed."""
    resume: DirPath | None = None
    """A run directory to resume (overrides ``runs_dir``/``group``/``run_name``)."""
    trust: StrictBool = False
    """Let a resume unpickle the ``vecnormalize.pkl`` / ``replay_buffer.pkl`` an older rewardlab wrote
    in the run directory. Unpickling runs any code planted in such a file, so set it (CLI:
    ``--trust-pickle``) only for run directories from people you trust; without it such a resume
    is refused (:class:`~rewardlab.errors.UntrustedFileError`). Runs written now keep these as
    JSON and ``.npz``, and the agent's tensors are loaded without unpickling, so they need no trust."""
    threads: Annotated[int, Int(1)] = 1
    """torch and BLAS threads of this process."""
    progress: StrictBool = True
    """Show a progress bar over the stages."""
    meta: Annotated[dict[str, Any], Strict()] = Field(default_factory=dict)
    """Free-form JSON saved in ``config.json`` (a sweep records its trial and fingerprint here)."""

    _suite_env: suite.SuiteEnv = PrivateAttr()
    _oracle: PreferenceOracle = PrivateAttr()
    _schedule: list[int] = PrivateAttr()
    _preset: agents.AgentPreset | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _cross_field(self) -> RLHFConfig:
        """The rules across fields, the env's factors, the oracle and the schedule (no I/O)."""
        if self.query == "disagreement" and self.ensemble < 2:
            raise ConfigError(
                message(
                    "ensemble",
                    '>= 2 with query="disagreement" (members must be able to disagree)',
                    self.ensemble,
                    'Pass ensemble=3 or query="uniform".',
                )
            )
        if self.teacher == "human" and self.human_fraction != 1.0:
            raise ConfigError(
                message(
                    "human_fraction",
                    '1 with teacher="human" (a person labels every pair)',
                    self.human_fraction,
                    'Use teacher="mixed" to give the rest to the synthetic oracle.',
                )
            )
        if self.teacher != "synthetic":
            check_bind(self.host, self.token)
        self._suite_env = suite.get(self.env)
        self.features.check_factors(self._suite_env, "features")  # before any run directory is written
        self._oracle = build_oracle(self.oracle)
        self._schedule = label_schedule(self.label_budget, self.n_iterations, self.initial_fraction)
        if self._schedule[0] < 1:
            raise ConfigError(message("label_budget", "at least 1", self.label_budget))
        return self

    def check(self) -> RLHFConfig:
        """Load the agent preset, check it against the env's action space and resolve ``relabel``.

        The explicit I/O step after construction (it reads the preset file and builds the raw env
        once); idempotent, returns ``self``. Fills :attr:`preset` and turns ``relabel = None``
        into the off-policy default.

        Raises:
            ConfigError: the agent cannot act in the env, or ``relabel`` does not fit the agent,
                the env or the preset.
        """
        if self._preset is not None:
            return self
        raw = self.suite_env.make()
        try:
            preset = agents.preset(self.agent, self.suite_env, self.hyperparams)
            agents.check(preset, raw.action_space)
        finally:
            raw.close()
        off_policy = preset.algo in OFF_POLICY
        relabel = off_policy if self.relabel is None else self.relabel
        if relabel:
            problem = None
            if not off_policy:
                problem = f"an off-policy agent ({', '.join(OFF_POLICY)}), not {preset.algo!r}"
            elif self.suite_env.hidden_obs:
                problem = f"an env without hidden observation dims ({self.suite_env.name!r} hides some)"
            elif preset.normalize_obs or preset.normalize_reward:
                problem = "a preset without VecNormalize (the buffer holds normalised observations)"
            if problem is not None:
                raise ConfigError(message("relabel", f"used with {problem}", True, "Pass relabel=False."))
        self.relabel = relabel
        self._preset = preset
        return self

    @property
    def suite_env(self) -> suite.SuiteEnv:
        """The suite env of ``env``."""
        return self._suite_env

    @property
    def oracle_obj(self) -> PreferenceOracle:
        """The labeller built from ``oracle``."""
        return self._oracle

    @property
    def schedule(self) -> list[int]:
        """Labels queried in each stage (:func:`label_schedule`)."""
        return self._schedule

    @property
    def preset(self) -> agents.AgentPreset:
        """The agent preset with ``hyperparams`` applied (reading it runs :meth:`check`)."""
        preset = self.check()._preset
        assert preset is not None
        return preset

    def segments_for(self, n_pairs: int) -> int:
        """Segments collected in a stage that queries ``n_pairs`` pairs."""
        return self.segments_per_iteration or max(4 * n_pairs, 2)

    def resolved(self) -> dict[str, Any]:
        """The config with every default filled in, as saved in ``config.json`` (runs :meth:`check`)."""
        self.check()
        data = {name: getattr(self, name) for name in type(self).model_fields}
        data.update(
            env=self.suite_env.name,
            agent=self.preset.algo,
            hidden=list(self.hidden),
            features=self.features.to_dict(),
            oracle=dict(self.oracle),
            oracle_provenance=self.oracle_obj.provenance(),
            token=None if self.token is None else "<set, not saved>",
            n_envs=self.n_envs or self.preset.n_envs,
            label_schedule=self.schedule,
            agent_preset=self.preset.to_dict(),
            command=" ".join(sys.argv),
            versions=software_versions(),
        )
        return json.loads(json.dumps(data, default=str))


def build_oracle(spec: Any) -> PreferenceOracle:
    """An oracle from itself or a dict ``{"kind": "boltzmann" | "imperfect" | "bpref", ...its fields}``.

    ``{"kind": "bpref", "teacher": "skip"}`` is one of B-Pref's six teachers
    (:data:`~rewardlab.preferences._oracles.BPREF_TEACHERS`), with an optional ``"reward"``.
    """
    if isinstance(spec, PreferenceOracle):
        return spec
    if not isinstance(spec, Mapping) or "kind" not in spec:
        raise ConfigError(
            message("oracle", 'a dict with a "kind"', spec, 'Pass {"kind": "boltzmann", "temperature": 1.0}.')
        )
    kind = spec["kind"]
    kwargs = {k: v for k, v in spec.items() if k != "kind"}
    if kind == "bpref":
        for key in kwargs:
            if key not in ("teacher", "reward"):
                raise unknown(f"oracle.{key}", key, ("teacher", "reward"), "a field of a B-Pref teacher")
        if "teacher" not in kwargs:
            raise ConfigError(message("oracle.teacher", f"one of {sorted(BPREF_TEACHERS)}", None))
        return bpref_teacher(kwargs["teacher"], kwargs.get("reward", "env"))
    if kind not in _ORACLES:
        raise unknown("oracle.kind", str(kind), [*_ORACLES, "bpref"], "an oracle kind")
    cls = _ORACLES[kind]
    allowed = {f.name for f in dataclasses.fields(cls)}
    for key in kwargs:
        if key not in allowed:
            raise unknown(f"oracle.{key}", key, allowed, f"a field of {cls.__name__}")
    return cls(**kwargs)


@dataclass(frozen=True)
class RLHFResult:
    """What a finished online run produced."""

    run_dir: Path
    """The run directory."""
    final: EvalResult
    """The last evaluation: learned (``proxy_return``) and ground-truth (``env_return``) returns."""
    labels_used: int
    """Pairs queried over the run (== ``label_budget``)."""
    timesteps: int
    """Agent env steps over the run."""
    reward_val_accuracy: float | None
    """Validation accuracy of the last reward-model update (None with ``val_fraction = 0``)."""
    history: list[dict[str, Any]]
    """Every row of ``metrics.jsonl``, one per stage."""


# --- run directory ------------------------------------------------------------------------------


def _run_dir(config: RLHFConfig) -> RunDir:
    if config.resume is not None:
        path = Path(config.resume)
        if not (path / "state.json").is_file() and not (path / "config.json").is_file():
            raise ConfigError(
                message("resume", "a run directory written by run_rlhf", str(path), "Check the path (state.json).")
            )
        return RunDir(path)
    parts = [config.suite_env.name, "rlhf", config.preset.algo, f"s{config.seed}"]
    return RunDir.create(config.runs_dir, config.group, config.run_name, parts)


def _check_same_config(run_dir: Path, resolved: Mapping[str, Any]) -> None:
    saved = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    for key in _RESULT_FIELDS:
        if saved.get(key, _ADDED_FIELDS.get(key)) != resolved.get(key):
            raise ConfigError(
                message(
                    key,
                    f"{saved.get(key)!r} as in the run being resumed ({run_dir})",
                    resolved.get(key),
                    "Resume with the same settings, or pick another run_name.",
                )
            )


def _finish_commit(run_dir: Path) -> None:
    """Move a committed checkpoint's artefacts into place, ``state.json`` last (idempotent).

    Does nothing unless ``.next/state.json`` exists (the commit marker): each artefact still in
    ``.next/`` is moved, those moved already by a finish that was cut short are skipped.
    """
    staged = run_dir / _COMMIT
    if not (staged / _STATE).is_file():
        return
    for name in _ARTEFACTS:
        src, dst = staged / name, run_dir / name
        if not src.exists():
            continue  # moved already, or not part of this agent's checkpoint
        if src.is_dir():
            if dst.exists():  # os.replace cannot replace a non-empty folder: the old one goes into .next/
                aside = staged / f".old-{name}"
                if aside.exists():
                    shutil.rmtree(aside)
                os.replace(dst, aside)
            fault(f"rlhf:aside:{name}")
        os.replace(src, dst)
        fault(f"rlhf:moved:{name}")
    for legacy in (_LEGACY_NORMALIZATION, _LEGACY_REPLAY_BUFFER):
        (run_dir / legacy).unlink(missing_ok=True)  # superseded by the JSON / npz just moved in
    os.replace(staged / _STATE, run_dir / _STATE)
    fault("rlhf:moved:state.json")
    shutil.rmtree(staged)
    fault("rlhf:cleaned")


def _checkpoint(
    run: RunDir,
    state: dict[str, Any],
    dataset: PreferenceDataset,
    model: RewardModel,
    agent: BaseAlgorithm,
) -> None:
    """Stage every artefact in ``.next/``, commit (``.next/state.json``, written last), move them in."""
    staged = run.path / _COMMIT
    if staged.exists():
        shutil.rmtree(staged)
    staged.mkdir(parents=True)
    fault("rlhf:staging")
    dataset.save(staged / "dataset")
    fault("rlhf:dataset")
    model.save(staged / "reward_model")
    fault("rlhf:reward_model")
    env = agent.get_env()
    norm = unwrap_vec_wrapper(env, VecNormalize) if env is not None else None
    run.save_agent(
        agent,
        normalization_state(norm) if isinstance(norm, VecNormalize) else None,
        into=staged,
        exclude=["_update_current_progress_remaining"],  # our closure (_global_progress)
    )
    fault("rlhf:agent")
    if isinstance(agent, OffPolicyAlgorithm):
        save_replay_buffer(agent.replay_buffer, staged / REPLAY_BUFFER)  # type: ignore[arg-type]
    fault("rlhf:replay_buffer")
    write_json(staged / _STATE, {**state, "agent": _agent_state(agent)})  # the commit point
    fault("rlhf:commit")
    _finish_commit(run.path)


def _space_rng(space: Any) -> np.random.Generator | None:
    rng = getattr(space, "np_random", None)
    return rng if isinstance(rng, np.random.Generator) else None


def _agent_state(agent: BaseAlgorithm) -> dict[str, Any]:
    """What SB3 keeps outside the agent's tensors and needs to go on training (JSON-ready)."""
    saved: dict[str, Any] = {name: int(getattr(agent, name)) for name in _COUNTERS if hasattr(agent, name)}
    saved.update({name: float(getattr(agent, name)) for name in _FLOATS if hasattr(agent, name)})
    rng = _space_rng(agent.action_space)  # random actions (learning_starts, epsilon-greedy)
    if rng is not None:
        saved["action_space_rng"] = rng.bit_generator.state
    return saved


def _restore_agent_state(agent: BaseAlgorithm, saved: Mapping[str, Any], where: Path) -> None:
    try:
        for name in _COUNTERS:
            if name in saved and hasattr(agent, name):
                setattr(agent, name, int(saved[name]))
        for name in _FLOATS:
            if name in saved and hasattr(agent, name):
                setattr(agent, name, float(saved[name]))
        rng = _space_rng(agent.action_space)
        if rng is not None and "action_space_rng" in saved:
            rng.bit_generator.state = saved["action_space_rng"]
    except (TypeError, ValueError, KeyError) as exc:
        raise ConfigError(message("resume", "the agent state this run saved", str(where), str(exc))) from None


def _header_counters(zip_path: Path, state: Mapping[str, Any]) -> dict[str, Any]:
    """An older checkpoint's counters (its state.json has none), from the plain-JSON part of SB3's
    zip header: read with ``json.loads``, the header's pickled items are never loaded."""
    try:
        with zipfile.ZipFile(zip_path) as archive:
            header = json.loads(archive.read("data").decode("utf-8"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ConfigError(message("resume", "an agent.zip saved by SB3", str(zip_path), str(exc))) from None
    saved: dict[str, Any] = {
        name: header[name]
        for name in (*_COUNTERS, *_FLOATS)
        if isinstance(header.get(name), (int, float)) and not isinstance(header.get(name), bool)
    }
    saved.setdefault("num_timesteps", int(state["timesteps"]))
    return saved


def _rng_state(rng: np.random.Generator) -> dict[str, Any]:
    np_state = np.random.get_state()
    py_state = random.getstate()
    return {
        "loop": rng.bit_generator.state,
        "torch": torch.get_rng_state().tolist(),
        "numpy_global": [np_state[0], np_state[1].tolist(), *np_state[2:]],  # type: ignore[index]
        "python_random": [py_state[0], list(py_state[1]), py_state[2]],
    }


def _restore_rng(saved: Mapping[str, Any]) -> np.random.Generator:
    rng = np.random.default_rng()
    rng.bit_generator.state = saved["loop"]
    torch.set_rng_state(torch.tensor(saved["torch"], dtype=torch.uint8))
    g = saved["numpy_global"]
    np.random.set_state((g[0], np.asarray(g[1], dtype=np.uint32), *g[2:]))
    p = saved["python_random"]
    random.setstate((p[0], tuple(p[1]), p[2]))
    return rng


# --- the loop -----------------------------------------------------------------------------------


def _reward_fn(model: RewardModel, run_dir: Path, suite_env: suite.SuiteEnv) -> LearningReward:
    """The agent's reward: the loop's own model object, which it keeps training between stages."""
    return LearningReward(Learned(model=str(run_dir / "reward_model")), suite_env, model, 1.0, "learned")


def _global_progress(agent: BaseAlgorithm, total: int) -> None:
    """Make SB3's schedules (``lin_*`` learning rate, clip range) span the whole run.

    ``learn(chunk, reset_num_timesteps=False)`` computes progress against ``num_timesteps + chunk``,
    so a linear schedule would decay to 0 at the end of every stage; this measures it against the
    run's ``total_timesteps`` instead.
    """

    def update(num_timesteps: int, total_timesteps: int) -> None:
        agent._current_progress_remaining = max(0.0, 1.0 - float(num_timesteps) / float(total))

    agent._update_current_progress_remaining = update  # type: ignore[method-assign]


def _query(
    config: RLHFConfig,
    stage: int,
    n_pairs: int,
    policy: Any,
    model: RewardModel,
    rng: np.random.Generator,
    teacher: HumanTeacher | None,
) -> tuple[Segments, np.ndarray, np.ndarray, dict[str, Any]]:
    """Collect segments, select ``n_pairs`` pairs and have the teacher label them.

    A stage a person was already asking before a kill gets its published segments and pairs
    back (:meth:`HumanTeacher.saved_query`) instead of new ones, with the labels given so far.

    Returns:
        ``(segments, pairs, labels, info)``: only the segments the kept pairs use, the pairs
        re-indexed into them, their labels (skipped pairs dropped), and the stage's teaching
        counts (``labels_skipped``; with a person also ``labels_human``, ``labels_synthetic``,
        ``label_wait_s`` and the dataset provenance under ``"provenance"``).
    """
    # every draw first, in one order, so a stage served again from its saved query leaves the
    # loop's generator where an uninterrupted run leaves it
    seg_seed, pair_seed, label_seed = (int(rng.integers(2**31)) for _ in range(3))
    saved = teacher.saved_query(stage) if teacher is not None else None
    if saved is not None:
        segments, pairs = saved
    else:
        n_seg = config.segments_for(n_pairs)
        segments = collect_segments(config.suite_env, n_seg, config.segment_length, policy, seed=seg_seed)
        method = "uniform" if stage == 0 else config.query
        pairs = select_pairs(model, segments, n_pairs, method=method, seed=pair_seed)
    info: dict[str, Any] = {}
    if teacher is None:
        labels = label_pairs(segments, pairs, config.oracle_obj, seed=label_seed)
        info["provenance"] = config.oracle_obj.provenance()
    else:
        got = teacher.label(stage, config.n_iterations, segments, pairs, seed=label_seed)
        labels = got.labels
        info.update(labels_human=got.n_human, labels_synthetic=got.n_synthetic, label_wait_s=got.waited_s)
        info["provenance"] = teacher.provenance(stage, got)
    keep = ~np.isnan(labels)
    pairs, labels = pairs[keep], labels[keep]
    info["labels_skipped"] = int((~keep).sum())
    used, inverse = np.unique(pairs, return_inverse=True)
    return segments.subset(used), inverse.reshape(pairs.shape), labels, info


@dataclass
class _Loop:
    """What the loop carries from stage to stage (and restores from a checkpoint)."""

    stage: int
    labels_used: int
    dataset: PreferenceDataset | None
    model: RewardModel
    rng: np.random.Generator
    agent: Any = None
    fn: Any = None
    venv: Any = None
    report: Any = None
    result: EvalResult | None = None
    teacher: HumanTeacher | None = None


def run_rlhf(config: RLHFConfig) -> RLHFResult:
    """Run (or resume) the online preference loop described in the module docstring.

    Args:
        config: the run's settings; an existing unfinished run directory of the same name (or
            ``config.resume``) is resumed after its last completed stage.

    Returns:
        :class:`RLHFResult` with the final evaluation and the per-stage history.

    Raises:
        ConfigError: the run is already done, or a resumed run had other settings.
    """
    config.check()
    run, state = _open_run(config)
    torch.set_num_threads(config.threads)
    # a full disk or a lost permission is one clear error; the last committed stage is kept
    with run.recording_failures(), threadpool_limits(limits=config.threads):
        loop = _start_loop(config, run, state)
        loop.teacher = _teacher(config, run)
        try:
            _run_stages(config, run, loop)
        finally:
            if loop.teacher is not None:
                loop.teacher.close()
        # the last stage's evaluation is the final one (same seed, same agent and model)
        final = loop.result or _evaluate(config, run, loop)
        loop.venv.close()
    history = run.metrics()
    val_acc = history[-1].get("reward_val_accuracy") if history else None
    timesteps = int(loop.agent.num_timesteps)
    run.finish(
        labels_used=loop.labels_used,
        timesteps=timesteps,
        final_proxy_return=final.proxy_return,
        final_env_return=final.env_return,
        reward_val_accuracy=val_acc,
    )
    return RLHFResult(
        run_dir=run.path,
        final=final,
        labels_used=loop.labels_used,
        timesteps=timesteps,
        reward_val_accuracy=val_acc,
        history=history,
    )


def _teacher(config: RLHFConfig, run: RunDir) -> HumanTeacher | None:
    """The person's teacher of ``teacher = "human" | "mixed"`` (its server starts at the first stage that asks)."""
    if config.teacher == "synthetic":
        return None
    return HumanTeacher(
        run.path / HUMAN_DIR,
        config.suite_env.name,
        host=config.host,
        port=config.port,
        token=config.token,
        timeout_s=config.human_timeout_s,
        human_fraction=config.human_fraction,
        fallback=config.oracle_obj if config.teacher == "mixed" else None,
        announce=tqdm.write,
    )


def _open_run(config: RLHFConfig) -> tuple[RunDir, dict[str, Any] | None]:
    """The run directory, locked, with a killed checkpoint finished or discarded; its saved state, if resuming.

    Raises:
        RunBusyError: another live process writes the run directory.
        ConfigError: the run is done, or was started with other settings.
        UntrustedFileError: resuming needs a pickle of an older rewardlab and ``config.trust`` is False.
    """
    run = _run_dir(config)
    run.lock()  # the only writer from here on: nobody else finishes or discards .next/ under us
    try:
        run_dir = run.path
        resolved = config.resolved()
        if (run_dir / _STATE).is_file() or (run_dir / _COMMIT / _STATE).is_file():
            run.refuse_done()
            _check_same_config(run_dir, resolved)
            _finish_commit(run_dir)  # killed after a commit point: finish moving the artefacts
        if (run_dir / _COMMIT).exists():
            shutil.rmtree(run_dir / _COMMIT)  # a checkpoint that was never committed
        state: dict[str, Any] | None = None
        if (run_dir / _STATE).is_file():
            state = json.loads((run_dir / _STATE).read_text(encoding="utf-8"))
            if not config.trust:
                _refuse_pickles(run)
        run_dir.mkdir(parents=True, exist_ok=True)
        if state is None:
            run.write_config(resolved)
            run.clear_metrics()
        run.start(resumed=state is not None)
    except BaseException:
        run.unlock()
        raise
    return run, state


def _refuse_pickles(run: RunDir) -> None:
    """Refuse a resume that could read the statistics or the buffer only by unpickling them.

    Raises:
        UntrustedFileError: naming the file and the ``--trust-pickle`` flag.
    """
    for safe, legacy, what in (
        (NORMALIZATION, _LEGACY_NORMALIZATION, "The run's VecNormalize statistics (saved by an older rewardlab)"),
        (REPLAY_BUFFER, _LEGACY_REPLAY_BUFFER, "The run's replay buffer (saved by an older rewardlab)"),
    ):
        if not (run.path / safe).is_file() and (run.path / legacy).is_file():
            raise untrusted("resume", run.path / legacy, what)


def _start_loop(config: RLHFConfig, run: RunDir, state: dict[str, Any] | None) -> _Loop:
    """A new loop (seeded, untrained model) or the one a checkpoint saved; then its env and agent."""
    if state is None:
        set_random_seed(config.seed)
        model = RewardModel.for_env(
            config.suite_env, config.features, hidden=tuple(config.hidden), ensemble=config.ensemble, seed=config.seed
        )
        loop = _Loop(stage=-1, labels_used=0, dataset=None, model=model, rng=np.random.default_rng(config.seed))
    else:
        stage = int(state["stage"])
        loop = _Loop(
            stage=stage,
            labels_used=int(state["labels_used"]),
            dataset=_load_dataset(run, state),
            model=RewardModel.load(run.reward_model_path),
            rng=np.random.default_rng(),  # replaced below, once the agent is built
        )
        loop.report = loop.model.report  # a stage without labels keeps it (as an uninterrupted run does)
        rows = [r for r in run.metrics() if r.get("stage", -1) <= stage]
        write_atomic(run.metrics_path, "".join(json.dumps(r, default=float) + "\n" for r in rows))
    loop.fn = _reward_fn(loop.model, run.path, config.suite_env)
    n_envs = config.n_envs or config.preset.n_envs
    loop.venv = make_vec_env(config.suite_env, loop.fn, n_envs=n_envs, seed=config.seed + 1000 * (loop.stage + 1))
    if state is None:
        loop.agent = agents.make(config.agent, loop.venv, seed=config.seed, **config.hyperparams)
    else:
        loop.agent = _load_agent(config, run, loop.venv, state)
        # last: building the agent reseeded the global RNGs (SB3's set_random_seed) and drew its weights
        loop.rng = _restore_rng(state["rng"])
    _global_progress(loop.agent, config.total_timesteps)
    return loop


def _load_dataset(run: RunDir, state: Mapping[str, Any]) -> PreferenceDataset:
    """The committed dataset, checked against the counts its ``state.json`` recorded."""
    dataset = PreferenceDataset.load(run.path / "dataset")
    expected = (int(state["n_pairs"]), int(state["n_segments"]))
    if (len(dataset), len(dataset.segments)) != expected:
        raise ConfigError(
            message(
                "resume",
                f"a dataset/ of {expected[0]} pairs over {expected[1]} segments, as state.json records",
                f"{len(dataset)} pairs over {len(dataset.segments)} segments in {run.path / 'dataset'}",
                "Its last checkpoint was cut short by an older rewardlab (whose commit cannot be told apart): "
                "start the run again under another name.",
            )
        )
    return dataset


def _run_stages(config: RLHFConfig, run: RunDir, loop: _Loop) -> None:
    """Every stage after the last completed one, each ending with a committed checkpoint."""
    bar = _progress_bar(config, loop.stage)
    try:
        while loop.stage < config.n_iterations:
            loop.stage += 1
            row = _stage(config, run, loop)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(
                    labels=loop.labels_used, steps=int(loop.agent.num_timesteps), env_return=row.get("eval_env_return")
                )
    finally:
        if bar is not None:
            bar.close()


def _stage(config: RLHFConfig, run: RunDir, loop: _Loop) -> dict[str, Any]:
    """One stage: query and label, update the reward model, train the agent, evaluate, checkpoint."""
    t0 = time.time()
    stage, n_stages = loop.stage, config.n_iterations
    n_pairs = config.schedule[stage]
    taught = _label(config, loop, n_pairs) if n_pairs > 0 else {"labels_skipped": 0}
    if loop.dataset is None:  # cannot happen: schedule[0] >= 1, so stage 0 creates it
        raise RuntimeError("no preference dataset after the initial stage")
    if len(loop.dataset) > 0 and (n_pairs > 0 or loop.report is None):
        _update_model(config, loop)
    if stage > 0:
        target = round(config.total_timesteps * stage / n_stages)
        if target > loop.agent.num_timesteps:
            loop.agent.learn(target - loop.agent.num_timesteps, reset_num_timesteps=False, progress_bar=False)
    row = _metrics_row(stage, loop.agent, loop.labels_used, n_pairs, taught, loop.dataset, loop.report)
    if stage > 0:
        loop.result = _evaluate(config, run, loop)
        row.update(eval_proxy_return=loop.result.proxy_return, eval_env_return=loop.result.env_return)
        row.update(eval_proxy_std=loop.result.proxy_std, eval_env_std=loop.result.env_std)
        history = [r for r in run.metrics() if "eval_env_return" in r]
        monitors = monitor(
            loop.agent,
            loop.fn,
            config.suite_env,
            loop.result,
            history,
            n_transitions=config.monitor_transitions,
            seed=config.seed + 20_000 + stage,
        )
        row["eval_factors"] = monitors.pop("factors")
        row.update(monitors)
        flags = detect(row, history)
        if flags:
            row["flags"] = [f.to_dict() for f in flags]
    row["time_s"] = round(time.time() - t0, 2)
    run.append_metrics(row)
    new_state = {
        "stage": stage,
        "n_stages": n_stages,
        "labels_used": loop.labels_used,
        "timesteps": int(loop.agent.num_timesteps),
        "n_pairs": len(loop.dataset),
        "n_segments": len(loop.dataset.segments),
        "rng": _rng_state(loop.rng),
    }
    _checkpoint(run, new_state, loop.dataset, loop.model, loop.agent)
    return row


def _label(config: RLHFConfig, loop: _Loop, n_pairs: int) -> dict[str, Any]:
    """Query ``n_pairs`` labels on new segments and add them to the dataset; the stage's teaching counts."""
    policy = "random" if loop.stage == 0 else loop.agent
    segs, pairs, labels, info = _query(config, loop.stage, n_pairs, policy, loop.model, loop.rng, loop.teacher)
    provenance = {**info.pop("provenance"), "stage": loop.stage, "n_queried": n_pairs}
    if loop.dataset is None:
        loop.dataset = PreferenceDataset(segs, pairs, labels, provenance=[provenance])
    else:
        loop.dataset.append(segments=segs, pairs=pairs, labels=labels, provenance=provenance)
    loop.labels_used += n_pairs
    return info


def _update_model(config: RLHFConfig, loop: _Loop) -> None:
    """Train the reward model on every label so far (warm start); the agent's reward sees it at once."""
    if loop.dataset is None:
        return
    loop.report = train_reward_model(
        loop.model,
        loop.dataset,
        epochs=config.reward_epochs,
        lr=config.reward_lr,
        val_fraction=config.val_fraction,
        seed=config.seed + loop.stage,
    )
    _normalize_output(loop.model, loop.dataset.segments, config.reward_normalization)
    loop.fn.version += 1
    if config.relabel:
        agents.relabel_replay_buffer(loop.agent, loop.fn)


def _evaluate(config: RLHFConfig, run: RunDir, loop: _Loop) -> EvalResult:
    return evaluate(
        loop.agent,
        reward=_reward_fn(loop.model, run.path, config.suite_env),
        n_episodes=config.eval_episodes,
        seed=config.seed + 10_000,
    )


def _normalize_output(model: RewardModel, segments: Segments, how: str) -> None:
    if how == "none":
        return
    model.fit_output_normalization(segments)
    if how == "scale":  # keep the offset Bradley-Terry learned from segments of different lengths
        with torch.no_grad():
            model.module.output_mean.fill_(0.0)  # a registered buffer
        model.refresh()


def _load_agent(config: RLHFConfig, run: RunDir, venv: Any, state: Mapping[str, Any]) -> BaseAlgorithm:
    """The checkpoint's agent: rebuilt from the config, then its tensors, counters, statistics, buffer.

    Only an older run's pickles are unpickled, and only with ``config.trust``.

    Raises:
        UntrustedFileError: the statistics or the buffer exist only as pickles and ``config.trust`` is False.
        ConfigError: a file is missing or does not fit the agent the config builds.
    """
    if not config.trust:
        _refuse_pickles(run)  # checked by _open_run already; here too, next to the loads it guards
    preset = config.preset
    if run.normalization_path.is_file():
        try:
            saved = json.loads(run.normalization_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(
                message("resume", f"a valid {NORMALIZATION}", str(run.normalization_path), str(exc))
            ) from None
        venv = restore_normalization(saved, venv, str(run.normalization_path))
        venv.training = True  # restored for evaluation by default; this one goes on training
    elif (run.path / _LEGACY_NORMALIZATION).is_file():
        venv = VecNormalize.load(str(run.path / _LEGACY_NORMALIZATION), venv)  # trusted (config.trust)
    elif preset.normalize_obs or preset.normalize_reward:
        raise ConfigError(
            message("resume", f"a run directory with its {NORMALIZATION}", str(run.path), "Start the run again.")
        )
    agent = agents.make(config.agent, venv, seed=config.seed, **config.hyperparams)
    load_weights(agent, run.agent_path)
    _restore_agent_state(agent, state.get("agent") or _header_counters(run.agent_path, state), run.path / _STATE)
    if isinstance(agent, OffPolicyAlgorithm):
        if run.replay_buffer_path.is_file():
            load_replay_buffer(agent.replay_buffer, run.replay_buffer_path)  # type: ignore[arg-type]
        elif (run.path / _LEGACY_REPLAY_BUFFER).is_file():
            agent.load_replay_buffer(str(run.path / _LEGACY_REPLAY_BUFFER))  # trusted (config.trust)
        else:
            raise ConfigError(
                message("resume", f"a run directory with its {REPLAY_BUFFER}", str(run.path), "Start the run again.")
            )
    return agent


def _metrics_row(
    stage: int,
    agent: BaseAlgorithm,
    labels_used: int,
    n_pairs: int,
    taught: Mapping[str, Any],
    dataset: PreferenceDataset,
    report: Any,
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "stage": stage,
        "timesteps": int(agent.num_timesteps),
        "labels": labels_used,
        "labels_stage": n_pairs,
        **taught,
        "dataset_pairs": len(dataset),
    }
    if report is not None:
        row.update(
            reward_train_accuracy=report.train_accuracy,
            reward_val_accuracy=report.val_accuracy,
            reward_train_loss=report.train_loss,
            reward_val_loss=report.val_loss,
            reward_epochs=report.epochs,
        )
    return row


def _progress_bar(config: RLHFConfig, done_stage: int) -> Any:
    if not config.progress:
        return None
    return tqdm(total=config.n_iterations + 1, initial=done_stage + 1, desc="rlhf stages", unit="stage")
