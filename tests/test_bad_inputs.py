"""A table of bad inputs, over every command and file type, each refused with one clear line.

Every entry runs ``rewardlab.cli.main([...])`` in-process on a tiny config that fails before any
work starts, and asserts the exit code (2: a usage or rewardlab error; argparse's own errors are
2 too), that stderr names the parameter *and* the value received, that no traceback is printed
and that nothing already written changed (the files of the entry's folder and of the shared
fixtures are hashed before and after; no new file appears either: no half-written run folder).

File types covered: reward TOML, sweep TOML, agent preset TOML, labels CSV/JSONL, queries files,
a dataset's ``preferences.json``/``.npz``, a reward model's ``model.json``/``model.safetensors``,
SB3 ``model.zip`` (corrupt), a sweep folder's ``sweep.json``.

Entries that cannot be fixed where they fail today are ``xfail(strict=True)`` with the file that
must change in the reason, so that they turn into failures (and get moved out of the xfail
list) once that file is fixed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from rewardlab.cli import main

# --- the workspace of one entry -------------------------------------------------------------------


@dataclass
class W:
    """The folder of one entry (``d``) and the shared fixtures (``base``), with file helpers."""

    d: Path
    base: Path

    @property
    def runs(self) -> str:
        return str(self.d / "runs")

    def file(self, name: str, content: str | bytes) -> str:
        path = self.d / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return str(path)

    def dataset(self, labelled: bool = True) -> str:
        """A copy of the shared dataset (6 cartpole segments; 2 labelled pairs when ``labelled``)."""
        out = self.d / "ds"
        shutil.copytree(self.base / ("ds" if labelled else "ds_empty"), out)
        return str(out)

    def model(self, edit: Callable[[dict], None] | None = None) -> str:
        """A copy of the shared reward model (cartpole, hidden (4,)), its ``model.json`` edited by ``edit``."""
        out = self.d / "model"
        shutil.copytree(self.base / "model", out)
        if edit is not None:
            desc = json.loads((out / "model.json").read_text())
            edit(desc)
            (out / "model.json").write_text(json.dumps(desc))
        return str(out)

    def learned(self, edit: Callable[[dict], None] | None = None) -> str:
        """A reward TOML of kind ``learned`` on a copy of the shared model."""
        return self.file("learned.toml", f'kind = "learned"\nmodel = "{self.model(edit)}"\n')

    def zip(self, members: dict[str, str | bytes] | None = None, raw: bytes | None = None) -> str:
        """A ``.zip`` with ``members`` (or the bytes ``raw``: not a zip at all)."""
        path = self.d / "agent.zip"
        if raw is not None:
            path.write_bytes(raw)
        else:
            with zipfile.ZipFile(path, "w") as z:
                for name, data in (members or {}).items():
                    z.writestr(name, data)
        return str(path)

    def sweep_dir(self, sweep_json: str | None) -> str:
        out = self.d / "runs" / "s"
        out.mkdir(parents=True)
        if sweep_json is not None:
            (out / "sweep.json").write_text(sweep_json)
        return str(out)


# --- argv builders --------------------------------------------------------------------------------


def train(*extra: str, env: str = "cartpole", agent: str = "ppo") -> Callable[[W], list[str]]:
    def build(w: W) -> list[str]:
        return [
            "train", "--env", env, "--agent", agent, "--timesteps", "64", "--n-envs", "1", "--eval-episodes", "1",
            "--runs-dir", w.runs, "--no-progress", *extra,
        ]  # fmt: skip

    return build


def hp(key: str, value: str, agent: str = "ppo") -> Callable[[W], list[str]]:
    """``train --set key=value`` on an env that fits ``agent``."""
    env = {"ppo": "cartpole", "sac": "pendulum", "dqn": "cartpole", "a2c": "cartpole", "td3": "pendulum"}[agent]
    return train("--set", f"{key}={value}", env=env, agent=agent)


def train_reward(toml: str, env: str = "pendulum") -> Callable[[W], list[str]]:
    return lambda w: train("--reward", w.file("reward.toml", toml), env=env)(w)


def train_with(make_reward: Callable[[W], str], env: str = "cartpole") -> Callable[[W], list[str]]:
    return lambda w: train("--reward", make_reward(w), env=env)(w)


def agent_file(toml: str, agent: str = "ppo") -> Callable[[W], list[str]]:
    env = "cartpole" if agent in ("ppo", "dqn") else "pendulum"
    return lambda w: train("--agent-config", w.file("agent.toml", toml), env=env, agent=agent)(w)


def compare(*extra: str, env: str = "pendulum") -> Callable[[W], list[str]]:
    return lambda w: ["compare", "--env", env, "env", "env", "--n", "50", "--runs-dir", w.runs, *extra]


def compare_spec(toml: str) -> Callable[[W], list[str]]:
    return lambda w: [*compare()(w)[:3], "env", w.file("spec.toml", toml), "--n", "50", "--runs-dir", w.runs]


def compare_policy(make: Callable[[W], str]) -> Callable[[W], list[str]]:
    return lambda w: compare("--policy", make(w))(w)


SWEEP = """\
name = "s"
envs = ["pendulum"]
seeds = [0]
timesteps = 64
eval_episodes = 1
[agents.sac]
[variants.gt]
kind = "env"
"""


def sweep(toml: str = SWEEP, *extra: str) -> Callable[[W], list[str]]:
    return lambda w: ["sweep", w.file("sweep.toml", toml), "--runs-dir", w.runs, "--workers", "1", *extra]


def sweep_replace(old: str, new: str) -> Callable[[W], list[str]]:
    assert old in SWEEP
    return sweep(SWEEP.replace(old, new))


def sweep_add(text: str) -> Callable[[W], list[str]]:
    return sweep(SWEEP + text)


def status(sweep_json: str | None, command: str = "status") -> Callable[[W], list[str]]:
    if command == "status":
        return lambda w: ["sweep", "status", w.sweep_dir(sweep_json)]
    return lambda w: ["report", w.sweep_dir(sweep_json), "--no-distances"]


def collect(*extra: str, env: str = "cartpole") -> Callable[[W], list[str]]:
    return lambda w: ["prefs", "collect", "--env", env, "--n-segments", "4", "--length", "5", "--out",
                      str(w.d / "out"), *extra]  # fmt: skip


def collect_policy(make: Callable[[W], str]) -> Callable[[W], list[str]]:
    return lambda w: collect("--policy", make(w))(w)


def label(*extra: str, labelled: bool = False) -> Callable[[W], list[str]]:
    return lambda w: ["prefs", "label", w.dataset(labelled), *extra]


def label_file(name: str, content: str) -> Callable[[W], list[str]]:
    return lambda w: ["prefs", "label", w.dataset(False), "--from-file", w.file(name, content)]


def label_queries(name: str, content: str) -> Callable[[W], list[str]]:
    return lambda w: ["prefs", "label", w.dataset(False), "--queries", w.file(name, content)]


def corrupt_dataset(edit: Callable[[Path], None], command: str = "label") -> Callable[[W], list[str]]:
    def build(w: W) -> list[str]:
        ds = Path(w.dataset())
        edit(ds)
        if command == "train":
            return ["prefs", "train", str(ds), "--out", str(w.d / "m"), "--epochs", "1", "--no-progress"]
        if command == "export":
            return ["prefs", "export", str(ds), "--out", str(w.d / "q.csv")]
        return ["prefs", "label", str(ds)]

    return build


def prefs_train(*extra: str, labelled: bool = True) -> Callable[[W], list[str]]:
    return lambda w: ["prefs", "train", w.dataset(labelled), "--out", str(w.d / "m"), "--epochs", "1",
                      "--hidden", "4", "--no-progress", *extra]  # fmt: skip


def export(*extra: str) -> Callable[[W], list[str]]:
    return lambda w: ["prefs", "export", w.dataset(), *extra]


def rlhf(*extra: str) -> Callable[[W], list[str]]:
    return lambda w: [
        "rlhf", "--env", "cartpole", "--timesteps", "64", "--labels", "4", "--iterations", "1",
        "--segment-length", "5", "--ensemble", "2", "--hidden", "4", "--reward-epochs", "1", "--n-envs", "1",
        "--eval-episodes", "1", "--runs-dir", w.runs, "--no-progress", *extra,
    ]  # fmt: skip


def header_edit(key: str, value: object) -> Callable[[Path], None]:
    def edit(ds: Path) -> None:
        header = json.loads((ds / "preferences.json").read_text())
        if value is _DELETE:
            del header[key]
        else:
            header[key] = value
        (ds / "preferences.json").write_text(json.dumps(header))

    return edit


_DELETE = object()


def model_edit(path: str, value: object) -> Callable[[dict], None]:
    """Set ``desc[a][b] = value`` for ``path = "a.b"`` (``_DELETE`` removes the key)."""

    def edit(desc: dict) -> None:
        *parents, last = path.split(".")
        node = desc
        for key in parents:
            node = node[key]
        if value is _DELETE:
            del node[last]
        else:
            node[last] = value

    return edit


def weights_bytes(data: bytes) -> Callable[[W], str]:
    def make(w: W) -> str:
        out = w.model()
        Path(out, "model.safetensors").write_bytes(data)
        return w.file("learned.toml", f'kind = "learned"\nmodel = "{out}"\n')

    return make


RUN_CONFIG = json.dumps(
    {
        "env": "pendulum",
        "agent": "sac",
        "agent_preset": {"algo": "sac", "env": "pendulum", "policy": "MlpPolicy", "kwargs": {}},
    }
)
SB3_DATA = json.dumps(
    {"policy_class": {":type:": "<class 'abc.ABCMeta'>", "__module__": "stable_baselines3.sac.policies"}}
)


# --- the table --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[W], list[str]]
    param: str
    """A text stderr must hold: the parameter (a field path, a flag, a file and line)."""
    value: str
    """A text stderr must hold: the value received."""
    code: int = 2
    xfail: str | None = None
    """Why this entry is not fixed yet, naming the file that must change."""


REWARD_FILE = "rewardlab/rewards/_kinds.py"

CASES = [
    # train: flags
    Case("train-env-unknown", lambda w: [*train()(w)[:1], "--env", "pendulm", "--runs-dir", w.runs], "env", "pendulm"),
    Case("train-agent-unknown", train(agent="sacc"), "agent", "sacc"),
    Case("train-agent-wrong-space", train(agent="dqn", env="pendulum"), "agent", "dqn"),
    Case("train-seed-negative", train("--seed", "-1"), "seed", "-1"),
    Case("train-timesteps-zero", train("--timesteps", "0"), "timesteps", "0"),
    Case("train-timesteps-text", train("--timesteps", "abc"), "--timesteps", "abc"),
    Case("train-n-envs-zero", train("--n-envs", "0"), "n_envs", "0"),
    Case("train-eval-freq-zero", train("--eval-freq", "0"), "eval_freq", "0"),
    Case("train-eval-episodes-zero", train("--eval-episodes", "0"), "eval_episodes", "0"),
    Case("train-threads-zero", train("--threads", "0"), "threads", "0"),
    Case("train-run-name-slash", train("--run-name", "a/b"), "run_name", "a/b"),
    Case("train-set-no-equals", train("--set", "learning_rate"), "--set", "learning_rate"),
    Case("train-set-unknown-key", hp("learnin_rate", "0.1"), "hyperparameter", "learnin_rate"),
    # train: hyperparameter values (--set)
    Case("hp-sac-gamma-2", hp("gamma", "2.0", "sac"), "hyperparams.gamma", "2.0"),
    Case("hp-ppo-gamma-0", hp("gamma", "0"), "hyperparams.gamma", "0"),
    Case("hp-ppo-gamma-text", hp("gamma", "abc"), "hyperparams.gamma", "abc"),
    Case("hp-ppo-lr-text", hp("learning_rate", "abc"), "hyperparams.learning_rate", "abc"),
    Case("hp-ppo-lr-negative", hp("learning_rate", "-1"), "hyperparams.learning_rate", "-1"),
    Case("hp-ppo-lr-zero", hp("learning_rate", "0"), "hyperparams.learning_rate", "0"),
    Case("hp-ppo-lr-bad-schedule", hp("learning_rate", "lin_abc"), "hyperparams.learning_rate", "lin_abc"),
    Case("hp-ppo-lr-negative-schedule", hp("learning_rate", "lin_-0.1"), "hyperparams.learning_rate", "lin_-0.1"),
    Case("hp-ppo-lr-bool", hp("learning_rate", "true"), "hyperparams.learning_rate", "True"),
    Case("hp-ppo-n-steps-0", hp("n_steps", "0"), "hyperparams.n_steps", "0"),
    Case("hp-ppo-n-steps-float", hp("n_steps", "1.5"), "hyperparams.n_steps", "1.5"),
    Case("hp-ppo-batch-size-negative", hp("batch_size", "-1"), "hyperparams.batch_size", "-1"),
    Case("hp-ppo-batch-size-1", hp("batch_size", "1"), "hyperparams.batch_size", "1"),
    Case("hp-ppo-n-epochs-0", hp("n_epochs", "0"), "hyperparams.n_epochs", "0"),
    Case("hp-ppo-gae-lambda", hp("gae_lambda", "1.5"), "hyperparams.gae_lambda", "1.5"),
    Case("hp-ppo-ent-coef-negative", hp("ent_coef", "-0.1"), "hyperparams.ent_coef", "-0.1"),
    Case("hp-ppo-ent-coef-auto", hp("ent_coef", "auto"), "hyperparams.ent_coef", "auto"),
    Case("hp-ppo-clip-range-0", hp("clip_range", "0"), "hyperparams.clip_range", "0"),
    Case("hp-ppo-max-grad-norm-0", hp("max_grad_norm", "0"), "hyperparams.max_grad_norm", "0"),
    Case("hp-ppo-vf-coef-negative", hp("vf_coef", "-1"), "hyperparams.vf_coef", "-1"),
    Case("hp-ppo-use-sde-text", hp("use_sde", "maybe"), "hyperparams.use_sde", "maybe"),
    Case("hp-ppo-target-kl-0", hp("target_kl", "0"), "hyperparams.target_kl", "0"),
    Case("hp-a2c-gamma-nan", hp("gamma", "NaN", "a2c"), "hyperparams.gamma", "nan"),
    Case("hp-sac-buffer-size-0", hp("buffer_size", "0", "sac"), "hyperparams.buffer_size", "0"),
    Case("hp-sac-learning-starts-negative", hp("learning_starts", "-1", "sac"), "hyperparams.learning_starts", "-1"),
    Case("hp-sac-tau-0", hp("tau", "0", "sac"), "hyperparams.tau", "0"),
    Case("hp-sac-tau-1.5", hp("tau", "1.5", "sac"), "hyperparams.tau", "1.5"),
    Case("hp-sac-train-freq-0", hp("train_freq", "0", "sac"), "hyperparams.train_freq", "0"),
    Case("hp-sac-train-freq-unit", hp("train_freq", '[4, "epoch"]', "sac"), "hyperparams.train_freq", "epoch"),
    Case("hp-sac-train-freq-text", hp("train_freq", "abc", "sac"), "hyperparams.train_freq", "abc"),
    Case("hp-sac-gradient-steps-0", hp("gradient_steps", "0", "sac"), "hyperparams.gradient_steps", "0"),
    Case("hp-sac-ent-coef-bad-auto", hp("ent_coef", "auto_x", "sac"), "hyperparams.ent_coef", "auto_x"),
    Case("hp-sac-ent-coef-negative", hp("ent_coef", "-1", "sac"), "hyperparams.ent_coef", "-1"),
    Case("hp-sac-batch-size-0", hp("batch_size", "0", "sac"), "hyperparams.batch_size", "0"),
    Case("hp-td3-policy-delay-0", hp("policy_delay", "0", "td3"), "hyperparams.policy_delay", "0"),
    Case(
        "hp-dqn-exploration-fraction", hp("exploration_fraction", "2", "dqn"), "hyperparams.exploration_fraction", "2"
    ),
    Case("hp-dqn-target-update-0", hp("target_update_interval", "0", "dqn"), "hyperparams.target_update_interval", "0"),
    Case("hp-normalize-text", hp("normalize", "maybe"), "hyperparams.normalize", "maybe"),
    Case("hp-seed", hp("seed", "3"), "hyperparameter", "seed"),
    Case("hp-device", hp("device", "cuda"), "hyperparameter", "device"),
    Case("hp-policy-unknown", hp("policy", "MlpPolicyy"), "policy", "MlpPolicyy"),
    Case("hp-use-sde-discrete", hp("use_sde", "true"), "use_sde", "True"),
    Case("hp-gamma-none", hp("gamma", "null"), "hyperparams.gamma", "None"),
    Case("hp-a2c-n-steps-0", hp("n_steps", "0", "a2c"), "hyperparams.n_steps", "0"),
    Case("hp-td3-tau-2", hp("tau", "2", "td3"), "hyperparams.tau", "2"),
    Case("hp-sac-target-entropy", hp("target_entropy", "high", "sac"), "hyperparams.target_entropy", "high"),
    Case("hp-n-envs-0", hp("n_envs", "0"), "hyperparams.n_envs", "0"),
    Case("hp-policy-kwargs-number", hp("policy_kwargs", "5"), "hyperparams.policy_kwargs", "5"),
    Case("hp-activation-unknown", hp("policy_kwargs", '{"activation_fn": "relux"}'), "activation_fn", "relux"),
    Case("hp-net-arch-zero", hp("policy_kwargs", '{"net_arch": [0]}'), "hyperparams.policy_kwargs.net_arch", "0"),
    # train: agent preset TOML
    Case(
        "agent-file-missing", lambda w: train("--agent-config", str(w.d / "nope.toml"))(w), "agent_config", "nope.toml"
    ),
    Case("agent-file-bad-toml", agent_file("[default\n"), "agent_config", "agent.toml"),
    Case("agent-file-gamma", agent_file("[default]\ngamma = 2.0\n"), "default.gamma", "2.0"),
    Case("agent-file-env-table-lr", agent_file("[cartpole]\nlearning_rate = -1\n"), "cartpole.learning_rate", "-1"),
    Case("agent-file-n-envs", agent_file("[default]\nn_envs = 0\n"), "n_envs", "0"),
    Case("agent-file-default-not-table", agent_file("default = 3\n"), "default", "3"),
    Case("agent-file-unknown-key", agent_file("[default]\nlearnin_rate = 0.1\n"), "hyperparameter", "learnin_rate"),
    Case("agent-file-sac-tau", agent_file("[default]\ntau = 0\n", "sac"), "default.tau", "0"),
    # train: reward TOML
    Case("reward-file-missing", lambda w: train("--reward", str(w.d / "nope.toml"))(w), "reward", "nope.toml"),
    Case("reward-bad-toml", train_reward("kind = \n"), "reward", "reward.toml"),
    Case("reward-kind-unknown", train_reward('kind = "termz"\n'), "kind", "termz"),
    Case(
        "reward-factor-unknown", train_reward('kind = "terms"\n[weights]\nangle_cst = -1.0\n'), "angle_cst", "angle_cst"
    ),
    Case(
        "reward-weight-text", train_reward('kind = "terms"\n[weights]\nangle_cost = "a lot"\n'), "angle_cost", "a lot"
    ),
    Case("reward-unknown-key", train_reward('kind = "env"\nscale = 2\n'), "scale", "scale"),
    Case(
        "reward-potential-unknown",
        train_reward('kind = "shaped"\npotential = "uprigt"\n[base]\nkind = "env"\n'),
        "potential",
        "uprigt",
    ),
    Case(
        "reward-shaped-gamma",
        train_reward('kind = "shaped"\npotential = "upright"\ngamma = 2.0\n[base]\nkind = "env"\n'),
        "gamma",
        "2.0",
    ),
    Case(
        "reward-code-not-importable",
        train_reward('kind = "code"\nfunction = "no_such_module_x:f"\n'),
        "function",
        "no_such_module_x",
    ),
    Case("reward-code-no-colon", train_reward('kind = "code"\nfunction = "os.path"\n'), "function", "os.path"),
    Case(
        "reward-code-raises",
        train_reward('kind = "code"\nfunction = "rl_bad_reward:raises"\n'),
        "reward.function",
        "rl_bad_reward:raises",
    ),
    Case(
        "reward-code-returns-text",
        train_reward('kind = "code"\nfunction = "rl_bad_reward:text"\n'),
        "rl_bad_reward:text",
        "text",
    ),
    Case(
        "reward-code-wrong-shape",
        train_reward('kind = "code"\nfunction = "rl_bad_reward:shape"\n'),
        "rl_bad_reward:shape",
        "shape",
    ),
    Case(
        "reward-code-nan", train_reward('kind = "code"\nfunction = "rl_bad_reward:nan"\n'), "rl_bad_reward:nan", "nan"
    ),
    Case(
        "reward-learned-missing-model", train_reward('kind = "learned"\nmodel = "nope_model"\n'), "model", "nope_model"
    ),
    # train: reward model folders (model.json, model.safetensors)
    Case(
        "model-json-unknown-key",
        train_with(lambda w: w.learned(model_edit("architecture.hiden", [4]))),
        "architecture.hiden",
        "'hidden'",
    ),
    Case(
        "model-json-unknown-top-key",
        train_with(lambda w: w.learned(model_edit("featurs", {}))),
        "featurs",
        "'features'",
    ),
    Case(
        "model-json-huge-hidden",
        train_with(lambda w: w.learned(model_edit("architecture.hidden", [600_000, 2000]))),
        "architecture.hidden",
        "600000",
    ),
    Case(
        "model-json-huge-ensemble",
        train_with(lambda w: w.learned(model_edit("architecture.ensemble", 10**9))),
        "architecture.ensemble",
        "1000000000",
    ),
    Case(
        "model-json-hidden-mismatch",
        train_with(lambda w: w.learned(model_edit("architecture.hidden", [5]))),
        "architecture.hidden",
        "[5]",
    ),
    Case(
        "model-json-ensemble-mismatch",
        train_with(lambda w: w.learned(model_edit("architecture.ensemble", 3))),
        "architecture.ensemble",
        "3",
    ),
    Case(
        "model-json-huge-discrete",
        train_with(lambda w: w.learned(model_edit("action_space.n", 10**9))),
        "observation_space/action_space/features",
        "1000000004",
    ),
    Case(
        "model-json-n-features",
        train_with(lambda w: w.learned(model_edit("architecture.n_features", 7))),
        "architecture.n_features",
        "7",
    ),
    Case(
        "model-json-space-key",
        train_with(lambda w: w.learned(model_edit("observation_space.shap", [4]))),
        "observation_space.shap",
        "shap",
    ),
    Case(
        "model-json-training-key",
        train_with(lambda w: w.learned(model_edit("training", {"n_pair": 1}))),
        "training.n_pair",
        "n_pair",
    ),
    Case(
        "model-json-hidden-text",
        train_with(lambda w: w.learned(model_edit("architecture.hidden", "big"))),
        "hidden",
        "big",
    ),
    Case(
        "model-json-activation",
        train_with(lambda w: w.learned(model_edit("architecture.activation", "relux"))),
        "activation",
        "relux",
    ),
    Case(
        "model-json-missing-arch",
        train_with(lambda w: w.learned(model_edit("architecture", _DELETE))),
        "architecture",
        "model.json",
    ),
    Case(
        "model-json-version", train_with(lambda w: w.learned(model_edit("format_version", 99))), "format_version", "99"
    ),
    Case(
        "model-json-features-not-bool",
        train_with(lambda w: w.learned(model_edit("features.obs", "yes"))),
        "features.obs",
        "yes",
    ),
    Case(
        "model-json-bad-json",
        train_with(lambda w: (w.learned(), w.file("model/model.json", "{not json"))[0]),
        "model.json",
        "valid JSON",
    ),
    Case("model-weights-corrupt", train_with(weights_bytes(b"\x00" * 40)), "model.safetensors", "safetensors"),
    # compare
    Case("compare-env-unknown", compare(env="pendulm"), "env", "pendulm"),
    Case(
        "compare-spec-missing",
        lambda w: [*compare()(w)[:3], "env", str(w.d / "nope.toml"), "--runs-dir", w.runs],
        "nope.toml",
        "nope.toml",
    ),
    Case("compare-spec-bad-toml", compare_spec("kind = [\n"), "spec.toml", "spec.toml"),
    Case("compare-spec-unknown-factor", compare_spec('kind = "terms"\n[weights]\nangl = 1.0\n'), "angl", "angl"),
    Case("compare-metric-unknown", compare("--metric", "epik"), "metric", "epik"),
    Case("compare-n-zero", compare("--n", "0"), "n", "0"),
    Case("compare-gamma", compare("--gamma", "2"), "gamma", "2.0"),
    Case("compare-seed-text", compare("--seed", "x"), "--seed", "x"),
    Case("compare-policy-missing", compare("--policy", "nope.zip"), "policy", "nope.zip"),
    Case("compare-policy-not-a-zip", compare_policy(lambda w: w.zip(raw=b"not a zip at all")), "policy", "agent.zip"),
    Case("compare-policy-zip-no-data", compare_policy(lambda w: w.zip({"other": "x"})), "policy", "agent.zip"),
    Case("compare-policy-zip-truncated", compare_policy(lambda w: w.zip({"data": SB3_DATA})), "policy", "agent.zip"),
    Case(
        "compare-policy-bad-config-json",
        compare_policy(lambda w: w.file("config.json", "{oops") and w.zip({"data": SB3_DATA})),
        "config.json",
        "config.json",
    ),
    Case(
        "compare-policy-npz-corrupt",
        compare_policy(lambda w: w.file("t.npz", b"PK\x03\x04garbage")),
        "--policy",
        "t.npz",
    ),
    Case(
        "compare-policy-run-zip-corrupt",
        compare_policy(lambda w: (w.file("config.json", RUN_CONFIG), w.zip(raw=b"x"))[1]),
        "policy",
        "agent.zip",
    ),
    Case(
        "collect-policy-run-zip-corrupt",
        collect_policy(lambda w: (w.file("config.json", RUN_CONFIG), w.zip(raw=b"x"))[1]),
        "policy",
        "agent.zip",
    ),
    # sweep SPEC
    Case("sweep-missing", lambda w: ["sweep", str(w.d / "nope.toml"), "--runs-dir", w.runs], "sweep", "nope.toml"),
    Case("sweep-bad-toml", sweep("name = \n"), "sweep", "sweep.toml"),
    Case("sweep-unknown-key", sweep("seedz = [1]\n" + SWEEP), "seedz", "seeds"),
    Case("sweep-seeds-duplicate", sweep_replace("seeds = [0]", "seeds = [0, 0]"), "seeds", "[0, 0]"),
    Case("sweep-env-unknown", sweep_replace('envs = ["pendulum"]', 'envs = ["pendulm"]'), "envs[0]", "pendulm"),
    Case("sweep-timesteps-zero", sweep_replace("timesteps = 64", "timesteps = 0"), "timesteps", "0"),
    Case("sweep-agent-unknown", sweep_replace("[agents.sac]", "[agents.sacc]"), "agents", "sacc"),
    Case("sweep-agent-gamma", sweep_replace("[agents.sac]", "[agents.sac]\ngamma = 2.0"), "gamma", "2.0"),
    Case(
        "sweep-agent-lr-text",
        sweep_replace("[agents.sac]", '[agents.sac]\nlearning_rate = "abc"'),
        "learning_rate",
        "abc",
    ),
    Case(
        "sweep-agent-gamma-path",
        sweep_replace("[agents.sac]", "[agents.sac]\ngamma = 2.0"),
        "agents.sac.gamma",
        "2.0",
    ),
    Case("sweep-agent-batch-size", sweep_replace("[agents.sac]", "[agents.sac]\nbatch_size = -1"), "batch_size", "-1"),
    Case("sweep-variant-factor", sweep_add('[variants.t]\nkind = "terms"\nweights = { angl = 1.0 }\n'), "angl", "angl"),
    Case("sweep-variant-kind", sweep_add('[variants.t]\nkind = "termz"\n'), "kind", "termz"),
    Case("sweep-fast-unknown", sweep_add("[fast]\nseedz = [1]\n"), "seedz", "seedz"),
    Case("sweep-two-specs", lambda w: ["sweep", "a.toml", "b", "--runs-dir", w.runs], "sweep", "a.toml"),
    Case("sweep-backend", lambda w: [*sweep()(w), "--backend", "slurm"], "--backend", "slurm"),
    Case("sweep-workers-text", lambda w: [*sweep()(w), "--workers", "many"], "--workers", "many"),
    # sweep status / report
    Case("status-no-dir", lambda w: ["sweep", "status"], "sweep status", "None"),
    Case("status-missing-dir", lambda w: ["sweep", "status", str(w.d / "nope")], "sweep_dir", "nope"),
    Case(
        "status-corrupt-json",
        status("{not json"),
        "sweep.json",
        "not json",
    ),
    Case(
        "status-json-not-object",
        status("[1, 2]"),
        "sweep.json",
        "[1, 2]",
    ),
    Case(
        "status-json-no-trials",
        status('{"name": "s"}'),
        "sweep.json: trials",
        "None",
    ),
    Case(
        "status-json-trial-no-id",
        status('{"name": "s", "trials": [{}]}'),
        "sweep.json: trials[0]",
        "{}",
    ),
    Case("report-missing-dir", lambda w: ["report", str(w.d / "nope")], "sweep_dir", "nope"),
    Case(
        "report-corrupt-json",
        status("{not json", "report"),
        "sweep.json",
        "not json",
    ),
    Case(
        "report-trials-not-list",
        status('{"name": "s", "trials": 3}', "report"),
        "sweep.json",
        "3",
    ),
    # prefs collect
    Case("collect-env-unknown", collect(env="pendulm"), "env", "pendulm"),
    Case("collect-n-segments-zero", collect("--n-segments", "0"), "n_segments", "0"),
    Case("collect-length-zero", collect("--length", "0"), "length", "0"),
    Case("collect-pairs-negative", collect("--pairs", "-1"), "pairs", "-1"),
    Case("collect-policy-missing", collect("--policy", "nope.zip"), "policy", "nope.zip"),
    Case("collect-policy-not-a-zip", collect_policy(lambda w: w.zip(raw=b"garbage")), "policy", "agent.zip"),
    Case("collect-policy-zip-truncated", collect_policy(lambda w: w.zip({"data": SB3_DATA})), "policy", "agent.zip"),
    Case("collect-out-is-a-file", lambda w: [*collect()(w)[:-2], "--out", w.file("taken", "x")], "--out", "taken"),
    # prefs label
    Case("label-dataset-missing", lambda w: ["prefs", "label", str(w.d / "nope")], "path", "nope"),
    Case("label-reward-bad-json", label("--reward", '{"angle_cost": -1'), "--reward", '{"angle_cost": -1'),
    Case("label-reward-not-object", label("--reward", "[1, 2]"), "reward", "[1, 2]"),
    Case("label-reward-unknown-factor", label("--reward", '{"angl": -1}'), "angl", "angl"),
    Case("label-temperature-negative", label("--temperature", "-1"), "temperature", "-1"),
    Case("label-mistake-prob", label("--oracle", "imperfect", "--mistake-prob", "2"), "mistake_prob", "2"),
    Case("label-oracle-unknown", label("--oracle", "oracle9"), "--oracle", "oracle9"),
    Case("label-queries-missing", label("--queries", "nope.csv"), "queries", "nope.csv"),
    Case("label-queries-no-right", label_queries("q.csv", "pair_id,left,label\n0,1,\n"), "q.csv:2", "left"),
    Case("label-queries-index-text", label_queries("q.csv", "pair_id,left,right,label\n0,a,1,\n"), "q.csv:2", "a"),
    Case("label-queries-index-range", label_queries("q.csv", "pair_id,left,right,label\n0,0,99,\n"), "pairs", "99"),
    Case("label-csv-bad-label", label_file("l.csv", "pair_id,left,right,label\n0,0,1,maybe\n"), "l.csv:2", "maybe"),
    Case("label-csv-label-range", label_file("l.csv", "pair_id,left,right,label\n0,0,1,1.5\n"), "l.csv:2", "1.5"),
    Case("label-csv-ragged", label_file("l.csv", "pair_id,left,right,label\n0,0,1,left,extra\n"), "l.csv:2", "extra"),
    Case("label-csv-not-utf8", label_file("l.csv", b"pair_id,left,right,label\n0,0,1,\xff\n"), "l.csv", "\\xff"),
    Case("label-jsonl-bad-json", label_file("l.jsonl", '{"left": 0, "right": 1, "label": \n'), "l.jsonl:1", "label"),
    Case("label-jsonl-not-object", label_file("l.jsonl", "[0, 1]\n"), "l.jsonl:1", "[0, 1]"),
    Case(
        "label-jsonl-label-bool", label_file("l.jsonl", '{"left": 0, "right": 1, "label": true}\n'), "l.jsonl:1", "True"
    ),
    Case("label-file-suffix", label_file("l.txt", "pair_id,left,right,label\n"), "path", "l.txt"),
    Case(
        "label-file-missing",
        lambda w: ["prefs", "label", w.dataset(), "--from-file", "nope.csv"],
        "queries",
        "nope.csv",
    ),
    # prefs datasets on disk (preferences.json, data-*.npz)
    Case(
        "dataset-header-bad-json",
        corrupt_dataset(lambda ds: (ds / "preferences.json").write_text("{")),
        "preferences.json",
        "valid JSON",
    ),
    Case("dataset-header-missing-key", corrupt_dataset(header_edit("env", _DELETE)), "preferences.json", "env"),
    Case("dataset-header-env", corrupt_dataset(header_edit("env", "pendulm")), "env", "pendulm"),
    Case("dataset-header-version", corrupt_dataset(header_edit("format_version", 7)), "format_version", "7"),
    Case(
        "dataset-data-missing", corrupt_dataset(header_edit("data", "data-nope.npz"), "train"), "data", "data-nope.npz"
    ),
    Case(
        "dataset-data-modified",
        corrupt_dataset(lambda ds: next(ds.glob("data-*.npz")).write_bytes(b"x"), "export"),
        "data",
        "data-",
    ),
    # prefs train / export
    Case("prefs-train-unlabelled", prefs_train(labelled=False), "dataset", "ds"),
    Case("prefs-train-hidden-zero", prefs_train("--hidden", "0"), "hidden", "0"),
    Case("prefs-train-ensemble-zero", prefs_train("--ensemble", "0"), "ensemble", "0"),
    Case("prefs-train-features-unknown", prefs_train("--features", "obs,actoin"), "features", "actoin"),
    Case("prefs-train-epochs-zero", prefs_train("--epochs", "0"), "epochs", "0"),
    Case("prefs-train-lr-negative", prefs_train("--lr", "-1"), "lr", "-1"),
    Case("prefs-train-val-fraction", prefs_train("--val-fraction", "2"), "val_fraction", "2"),
    Case("export-suffix", lambda w: export("--out", str(w.d / "q.txt"), "--pairs", "2")(w), "path", "q.txt"),
    Case("export-pairs-negative", lambda w: export("--out", str(w.d / "q.csv"), "--pairs", "-1")(w), "pairs", "-1"),
    # rlhf
    Case("rlhf-env-unknown", lambda w: [*rlhf()(w)[:1], "--env", "pendulm", "--runs-dir", w.runs], "env", "pendulm"),
    Case("rlhf-timesteps-zero", rlhf("--timesteps", "0"), "total_timesteps", "0"),
    Case("rlhf-labels-zero", rlhf("--labels", "0"), "label_budget", "0"),
    Case("rlhf-iterations-zero", rlhf("--iterations", "0"), "n_iterations", "0"),
    Case("rlhf-initial-fraction", rlhf("--initial-fraction", "2"), "initial_fraction", "2"),
    Case("rlhf-query-unknown", rlhf("--query", "random"), "query", "random"),
    Case("rlhf-ensemble-disagreement", rlhf("--ensemble", "1"), "ensemble", "1"),
    Case("rlhf-hidden-zero", rlhf("--hidden", "0"), "hidden", "0"),
    Case("rlhf-features-unknown", rlhf("--features", "obs,actoin"), "features", "actoin"),
    Case("rlhf-reward-lr-zero", rlhf("--reward-lr", "0"), "reward_lr", "0"),
    Case("rlhf-normalization-unknown", rlhf("--reward-normalization", "scal"), "reward_normalization", "scal"),
    Case("rlhf-temperature-negative", rlhf("--temperature", "-1"), "temperature", "-1"),
    Case("rlhf-mistake-prob", rlhf("--oracle", "imperfect", "--mistake-prob", "2"), "mistake_prob", "2"),
    Case("rlhf-set-gamma", rlhf("--set", "gamma=2.0"), "hyperparams.gamma", "2.0"),
    Case("rlhf-set-batch-size", rlhf("--set", "batch_size=-1"), "hyperparams.batch_size", "-1"),
    Case("rlhf-resume-missing", lambda w: rlhf("--resume", str(w.d / "nope"))(w), "resume", "nope"),
    # envs, agents
    Case("envs-unknown-flag", lambda w: ["envs", "--jsn"], "unrecognized arguments", "--jsn"),
    Case("agents-extra-argument", lambda w: ["agents", "ppo"], "unrecognized arguments", "ppo"),
    Case("command-unknown", lambda w: ["trian"], "command", "trian"),
]


# --- shared fixtures ----------------------------------------------------------------------------------

BAD_REWARD_MODULE = """\
import numpy as np


def raises(obs, action, next_obs, done):
    return obs[:, 99]  # IndexError: the observation has 3 dims


def text(obs, action, next_obs, done):
    return ["text"] * len(obs)


def shape(obs, action, next_obs, done):
    return np.zeros((len(obs), 2))


def nan(obs, action, next_obs, done):
    return np.full(len(obs), np.nan)
"""


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A labelled dataset, an unlabelled one, a reward model and a module of broken rewards."""
    import numpy as np

    from rewardlab.preferences import PreferenceDataset, RewardModel, collect_segments

    root = tmp_path_factory.mktemp("base")
    segments = collect_segments("cartpole", n_segments=6, length=5, seed=0)
    PreferenceDataset(segments, [[0, 1], [2, 3]], [1.0, 0.0], provenance=[{"source": "test"}]).save(root / "ds")
    PreferenceDataset(segments, np.zeros((0, 2), dtype=np.int64), np.zeros(0)).save(root / "ds_empty")
    queries = "pair_id,left,right,label\n0,0,1,\n1,2,3,\n2,4,5,\n"
    (root / "ds_empty" / "queries.csv").write_text(queries)
    (root / "ds" / "queries.csv").write_text(queries)
    RewardModel.for_env("cartpole", hidden=(4,)).save(root / "model")
    (root / "rl_bad_reward.py").write_text(BAD_REWARD_MODULE)
    sys.path.insert(0, str(root))
    try:
        yield root
    finally:
        sys.path.remove(str(root))
        sys.modules.pop("rl_bad_reward", None)


def _hashes(*roots: Path) -> dict[str, str]:
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest()
        for root in roots
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def run(argv: list[str]) -> int:
    """``main(argv)``, with argparse's exit (``SystemExit``) as its exit code."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def _params() -> Iterator[object]:
    for case in CASES:
        marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
        yield pytest.param(case, id=case.id, marks=marks)


def test_the_table_is_large_and_ids_are_unique() -> None:
    assert len(CASES) >= 100
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", list(_params()))
def test_bad_input_is_refused_in_one_clear_line(
    case: Case, base: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    w = W(tmp_path / "case", base)
    w.d.mkdir()
    argv = case.build(w)
    before = _hashes(w.d, base)
    capsys.readouterr()
    code = run(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert code == case.code, err
    assert case.param in err and case.value in err, err
    assert _hashes(w.d, base) == before, "files changed or appeared"


def test_importing_the_same_labels_twice_adds_nothing_the_second_time(
    base: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rewardlab.preferences import PreferenceDataset

    w = W(tmp_path, base)
    ds = w.dataset(False)
    labels = w.file("l.csv", "pair_id,left,right,label\n0,0,1,left\n1,2,3,right\n")
    assert run(["prefs", "label", ds, "--from-file", labels]) == 0
    written = _hashes(Path(ds))
    capsys.readouterr()
    assert run(["prefs", "label", ds, "--from-file", labels]) == 0
    assert "2 of the 2 pairs of l.csv were already in the dataset" in capsys.readouterr().out
    assert _hashes(Path(ds)) == written  # not even the provenance changed
    # a file with one pair already there and a new one adds the new one only
    more = w.file("more.jsonl", '{"left": 0, "right": 1, "label": "left"}\n{"left": 4, "right": 5, "label": 0.5}\n')
    assert run(["prefs", "label", ds, "--from-file", more]) == 0
    assert "Added 1 human labels" in capsys.readouterr().out
    dataset = PreferenceDataset.load(ds)
    assert dataset.pairs.tolist() == [[0, 1], [2, 3], [4, 5]] and dataset.labels.tolist() == [1.0, 0.0, 0.5]


def test_labelling_the_same_queries_twice_with_an_oracle_adds_nothing_the_second_time(
    base: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    w = W(tmp_path, base)
    ds = w.dataset(False)
    assert run(["prefs", "label", ds, "--temperature", "0"]) == 0
    written = _hashes(Path(ds))
    assert run(["prefs", "label", ds, "--temperature", "0"]) == 0
    assert "3 of the 3 pairs of queries.csv were already in the dataset" in capsys.readouterr().out
    assert _hashes(Path(ds)) == written


def test_an_error_inside_a_code_reward_names_the_spec_and_keeps_the_original(base: Path) -> None:
    from rewardlab import suite
    from rewardlab.errors import SpecError
    from rewardlab.rewards import Code

    env = suite.get("pendulum").make()
    with pytest.raises(
        SpecError, match=r"`reward.function` .* \(got 'rl_bad_reward:raises'\)\. raises\(\) raised IndexError"
    ) as info:
        Code("rl_bad_reward:raises").build("pendulum", (env.observation_space, env.action_space))
    assert isinstance(info.value.__cause__, IndexError)
