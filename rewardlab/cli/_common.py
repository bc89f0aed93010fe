"""What every ``rewardlab`` command shares: running a command, ``--set`` overrides, oracle flags.

Owns how a command's errors reach the user (``rewardlab: error: ...`` on stderr, exit code 2;
``KeyboardInterrupt`` exits 130), the parsing of ``--set KEY=VALUE`` overrides, the synthetic
oracle flags of ``prefs label`` and ``rlhf``, and the error of a ``--policy`` file that is not
the archive it claims to be (``compare``, ``prefs collect``). May import only the standard library and
:mod:`rewardlab.errors`, so that building the parser stays fast.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rewardlab.errors import ConfigError, RewardLabError, message

__all__ = [
    "Command",
    "add_bootstrap_option",
    "add_oracle_flags",
    "check_policy_archive",
    "n_bootstrap",
    "parse_overrides",
    "parse_value",
    "run_command",
    "unreadable_policy",
]

Command = Callable[[argparse.Namespace], int]
"""A command's run function: parsed arguments in, exit code out."""


def run_command(func: Command, args: argparse.Namespace) -> int:
    """Run ``func(args)`` and turn rewardlab's errors and Ctrl-C into a message and an exit code.

    Returns:
        ``func``'s exit code; 2 after a :class:`~rewardlab.errors.RewardLabError` (printed as
        ``rewardlab: error: ...`` on stderr); 130 after ``KeyboardInterrupt``.
    """
    try:
        return int(func(args))
    except RewardLabError as exc:
        print(f"rewardlab: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rewardlab: interrupted; what was written is kept in the run directory.", file=sys.stderr)
        return 130


def parse_value(text: str) -> Any:
    """A ``--set`` value: JSON when it parses, else the text itself.

    Example:
        >>> parse_value("0.001"), parse_value("[64, 64]"), parse_value("relu")
        (0.001, [64, 64], 'relu')
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """``{key: value}`` from ``--set KEY=VALUE`` items (values as :func:`parse_value` reads them).

    Raises:
        ConfigError: an item has no ``=``.

    Example:
        >>> parse_overrides(["learning_rate=0.001", "net_arch=[64, 64]"])
        {'learning_rate': 0.001, 'net_arch': [64, 64]}
    """
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(message("--set", "KEY=VALUE", item, "Write e.g. --set learning_rate=0.001."))
        key, value = item.split("=", 1)
        out[key.strip()] = parse_value(value)
    return out


def unreadable_policy(policy: str, exc: Exception | str) -> ConfigError:
    """The error for a ``--policy`` file that is not the zip (SB3 model) or ``.npz`` it claims to be.

    ``compare`` and ``prefs collect`` raise it for the :class:`zipfile.BadZipFile` that reading
    the policy lets through (the policy is the only zip either reads).
    """
    return ConfigError(
        message(
            "--policy",
            "'random', an SB3 model .zip or a transitions .npz",
            policy,
            f"It is not a readable zip archive ({exc}).",
        )
    )


def check_policy_archive(policy: str) -> None:
    """Refuse a ``--policy`` ``.npz`` that is not a zip archive, before numpy opens it (and leaks the file)."""
    path = Path(policy)
    if path.suffix == ".npz" and path.is_file() and not zipfile.is_zipfile(path):
        raise unreadable_policy(policy, "no zip directory at its end: truncated or not an .npz")


BPREF_TEACHER_NAMES = ("oracle", "mistake", "noisy", "skip", "myopic", "equal")
"""B-Pref's six teachers (``rewardlab.preferences._oracles.BPREF_TEACHERS``, named here so that
building the parser imports nothing; a test checks that the two agree)."""


def add_oracle_flags(p: argparse.ArgumentParser) -> None:
    """Add ``--oracle``, ``--temperature`` and ``--mistake-prob`` (the synthetic labeller) to ``p``."""
    p.add_argument(
        "--oracle",
        choices=("boltzmann", "imperfect", *BPREF_TEACHER_NAMES),
        default="boltzmann",
        help="synthetic labeller: boltzmann, imperfect, or one of B-Pref's six teachers "
        "(oracle, mistake: 10%% flipped, noisy: beta 1, skip, myopic: gamma 0.9, equal); default boltzmann",
    )
    p.add_argument(
        "--temperature", type=float, default=1.0, help="Boltzmann temperature (0 = perfectly rational; default 1)"
    )
    p.add_argument("--mistake-prob", type=float, default=0.0, help="imperfect oracle: label flip probability")


def oracle_spec(args: argparse.Namespace) -> dict[str, Any]:
    """The oracle dict (``build_oracle``'s input) that ``--oracle``, ``--temperature`` and ``--mistake-prob`` say."""
    if args.oracle in BPREF_TEACHER_NAMES:
        return {"kind": "bpref", "teacher": args.oracle}
    if args.oracle == "boltzmann":
        return {"kind": "boltzmann", "temperature": args.temperature}
    beta = 1.0 / args.temperature if args.temperature > 0 else float("inf")
    return {"kind": "imperfect", "beta": beta, "mistake_prob": args.mistake_prob}


_SHORT_ROLES = re.compile(r":[a-z]+:`~(?:[\w.]+\.)?([^`]+)`")
_ROLES = re.compile(r":[a-z]+:`([^`]+)`")


def _plain(doc: str) -> str:
    """The first sentence of a field docstring, without reST markup, ready for argparse."""
    text = " ".join(doc.split())
    text = _ROLES.sub(r"\1", _SHORT_ROLES.sub(r"\1", text)).replace("``", "")
    head = re.split(r"(?<=[a-z0-9)\"])\. ", text, maxsplit=1)[0].rstrip(".")
    return head.replace("%", "%%")  # argparse %-formats help strings


def field_docs(module: str, cls: str) -> dict[str, str]:
    """The first sentence of every field's docstring of config class ``cls`` in ``rewardlab.<module>``.

    The configs' field docs are the one text of what an option means; the CLI shows them in
    ``--help``. They are read from the module's source with :mod:`ast`, not imported: the config
    modules sit beside torch and SB3, which ``rewardlab --help`` must not load.
    """
    path = Path(__file__).resolve().parents[1].joinpath(*module.split(".")).with_suffix(".py")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    node = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls)
    docs: dict[str, str] = {}
    for stmt, after in zip(node.body, node.body[1:], strict=False):
        if (
            isinstance(stmt, ast.AnnAssign)
            and isinstance(stmt.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[stmt.target.id] = _plain(after.value.value)
    return docs


_DEFAULT = " (default: %(default)s)"


def add_agent_options(p: argparse.ArgumentParser, doc: dict[str, str], *, env_required: bool = True) -> None:
    """``--env``, ``--agent`` and ``--seed``, with the config's field docs ``doc`` as their help."""
    p.add_argument("--env", required=env_required, help=doc["env"] + " (rewardlab envs lists them)")
    p.add_argument("--agent", default="ppo", help=doc["agent"] + _DEFAULT)
    p.add_argument("--seed", type=int, default=0, help=doc["seed"] + _DEFAULT)


def add_run_options(p: argparse.ArgumentParser, doc: dict[str, str], group: str) -> None:
    """``--set``, ``--runs-dir``, ``--group``, ``--run-name``, ``--threads`` and ``--no-progress``."""
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=doc["hyperparams"] + "; one per --set, JSON value",
    )
    p.add_argument("--runs-dir", default="runs", help=doc["runs_dir"] + _DEFAULT)
    p.add_argument("--group", default=group, help=doc["group"] + _DEFAULT)
    p.add_argument("--run-name", default=None, help=doc["run_name"])
    p.add_argument("--threads", type=int, default=1, help=doc["threads"] + _DEFAULT)
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


TRUST_HELP = (
    "unpickle the policy file if only unpickling can read it (an SB3 zip without the config.json of the "
    "rewardlab run that wrote it, a vecnormalize.pkl); unpickling runs any code planted in a file, so pass "
    "this only for files from people you trust"
)


def add_trust_flag(p: argparse.ArgumentParser, help: str = TRUST_HELP) -> None:
    """``--trust-pickle`` (:data:`rewardlab.data.TRUST_FLAG`; named here, since importing it loads torch)."""
    p.add_argument("--trust-pickle", action="store_true", help=help)


N_BOOTSTRAP = 2000
"""Bootstrap replicates of every interval of a report, unless ``--n-bootstrap`` says otherwise."""
MIN_BOOTSTRAP = 100


def add_bootstrap_option(p: argparse.ArgumentParser) -> None:
    """``--n-bootstrap``: the replicate count of every bootstrap interval (``sweep``, ``report``, ``tune``)."""
    p.add_argument(
        "--n-bootstrap",
        type=parse_value,
        default=N_BOOTSTRAP,
        metavar="N",
        help=f"bootstrap replicates of every confidence interval (default: {N_BOOTSTRAP}; rliable's examples "
        "use 50000: tighter Monte Carlo error, slower reports)",
    )


def n_bootstrap(value: Any) -> int:
    """The ``--n-bootstrap`` value, checked before any work starts.

    Raises:
        ConfigError: not an integer of at least :data:`MIN_BOOTSTRAP`.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < MIN_BOOTSTRAP:
        raise ConfigError(
            message(
                "--n-bootstrap",
                f"an integer >= {MIN_BOOTSTRAP}",
                value,
                "Fewer replicates make the interval ends noise; rliable's examples use 50000.",
            )
        )
    return value


def add_backend_options(p: argparse.ArgumentParser, unit: str) -> None:
    """``--backend``, ``--address``, ``--workers``, ``--fast`` and ``--runs-dir``: the options of every
    command that runs trials (``sweep``, ``tune``); ``unit`` says what ``--workers`` runs at once."""
    p.add_argument("--backend", default="local", choices=["local", "ray"], help="where trials run (default: local)")
    p.add_argument("--address", default=None, help="Ray cluster address (e.g. auto); default: a local Ray instance")
    p.add_argument("--workers", type=int, default=None, help=f"{unit} at once (default: every core; 1 = in-process)")
    p.add_argument("--fast", action="store_true", help="apply the spec's [fast] preset (small budgets)")
    p.add_argument("--runs-dir", default="runs", help="root of run directories (default: runs)")
    add_bootstrap_option(p)
