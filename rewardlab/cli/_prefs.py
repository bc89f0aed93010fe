"""``rewardlab prefs collect | label | train | export | serve | merge``: preference datasets.

The offline workflow, one dataset directory throughout::

    rewardlab prefs collect --env pendulum --n-segments 200 --length 50 --out prefs/pend
        # segments (no labelled pairs yet) + prefs/pend/queries.csv: pairs to label
    rewardlab prefs label prefs/pend --oracle boltzmann --temperature 1      # synthetic labels, or
    rewardlab prefs label prefs/pend --from-file queries_filled.csv          # a person's labels
    rewardlab prefs train prefs/pend --out prefs/pend_model                  # -> {kind="learned", model=...}
    rewardlab prefs export prefs/pend --out more.csv --pairs 50 [--clips]    # new pairs for a person
    rewardlab prefs serve prefs/pend        # label queries.csv in the browser (http://127.0.0.1:8765/)
    rewardlab prefs merge prefs/pend        # fold prefs/pend/labels.jsonl into the dataset (serve does it on exit)

A queries file has one row per pair (``pair_id``, ``left``, ``right``, each segment's returns and
an empty ``label``); ``label --from-file`` appends the rows whose ``label`` was filled in
(``left``/``right``/``equal`` or a number in ``[0, 1]``, 1 = left preferred).

Owns the ``prefs`` parsers, the queries file (``queries.csv``) and the commands' output. At the
top it may import only the standard library, :mod:`rewardlab.errors` and
:mod:`rewardlab.cli._common`; numpy, torch and :mod:`rewardlab.preferences` are imported when a
command runs.
"""

from __future__ import annotations

import argparse
import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rewardlab.cli._common import (
    add_oracle_flags,
    add_trust_flag,
    check_policy_archive,
    oracle_spec,
    unreadable_policy,
)
from rewardlab.errors import ConfigError, message

if TYPE_CHECKING:
    import numpy as np

    from rewardlab.preferences import PreferenceDataset, PreferenceOracle

__all__ = ["QUERIES", "add_commands"]

QUERIES = "queries.csv"
"""Default queries file inside a dataset directory, written by ``prefs collect``."""


def _queries(dataset: PreferenceDataset, n_pairs: int, seed: int) -> PreferenceDataset:
    """``n_pairs`` uniform pairs among the dataset's segments, to export for labelling (nothing is written)."""
    # Deferred so that `--help` does not load numpy/torch.
    import numpy as np

    from rewardlab.preferences import PreferenceDataset, select_pairs

    pairs = select_pairs(None, dataset.segments, n_pairs, method="uniform", seed=seed)
    # Placeholder labels never leave this object: the export writes an empty `label` column.
    return PreferenceDataset(dataset.segments, pairs, np.full(len(pairs), 0.5), dataset.env)


def _write_queries(
    dataset: PreferenceDataset, path: Path, n_pairs: int, seed: int, clips: bool, show_returns: bool = False
) -> Path:
    """Draw ``n_pairs`` uniform pairs among the dataset's segments and export them to label."""
    return _queries(dataset, n_pairs, seed).export_pairs_to_label(path, clips=clips, show_returns=show_returns)


def _read_queries(path: Path, need_label: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """``(pairs, labels)`` from a queries file; with ``need_label``, only the labelled rows."""
    # Deferred so that `--help` does not load numpy/torch.
    import numpy as np

    from rewardlab.preferences import PreferenceDataset, parse_label

    if not path.is_file():
        raise ConfigError(message("queries", "an existing .csv or .jsonl file", str(path), "Run `prefs export`."))
    rows = PreferenceDataset.read_rows(path)
    pairs, labels = [], []
    for line, row in rows:
        where = f"{path.name}:{line}"
        if "left" not in row or "right" not in row:
            raise ConfigError(message(where, "a row with `left` and `right`", row, "Use a file written by export."))
        value = row.get("label")
        if need_label:
            if value is None or (isinstance(value, str) and not value.strip()):
                continue  # not labelled yet
            labels.append(parse_label(value, where))
        try:
            pairs.append((int(str(row["left"]).strip()), int(str(row["right"]).strip())))
        except ValueError as exc:
            raise ConfigError(message(f"{where} left/right", "segment indices", row)) from exc
    arr = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    return arr, (np.asarray(labels, dtype=np.float64) if need_label else None)


def _cmd_collect(args: argparse.Namespace) -> int:
    # Deferred so that `--help` does not load torch/SB3.
    import numpy as np

    from rewardlab.preferences import PreferenceDataset, collect_segments

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ConfigError(message("--out", "a dataset directory to write", str(out), "It is a file; pick a new path."))
    check_policy_archive(args.policy)
    try:
        segments = collect_segments(
            args.env, args.n_segments, args.length, args.policy, seed=args.seed, trust=args.trust_pickle
        )
    except zipfile.BadZipFile as exc:  # the only zip collecting reads is the policy
        raise unreadable_policy(args.policy, exc) from exc
    provenance = {"source": "collect", "policy": str(args.policy), "seed": args.seed, "n_segments": len(segments)}
    dataset = PreferenceDataset(segments, np.zeros((0, 2), dtype=np.int64), np.zeros(0), provenance=[provenance])
    n_pairs = args.pairs if args.pairs is not None else max(len(segments) // 2, 1)
    queue = _queries(dataset, n_pairs, args.seed)  # checks --pairs before anything is written
    out = dataset.save(out)
    queries = queue.export_pairs_to_label(out / QUERIES, clips=args.clips)
    steps = int(segments.mask.sum())
    print(f"Collected {len(segments)} segments of {segments.length} steps ({steps} real steps) on {dataset.env}.")
    print(f"Dataset: {out}  (no labelled pairs yet)")
    print(f"Pairs to label: {queries}  ({n_pairs} pairs; `rewardlab prefs label {out}` labels them)")
    return 0


def _oracle(args: argparse.Namespace) -> PreferenceOracle:
    """The synthetic oracle that ``--oracle``, ``--temperature``, ``--mistake-prob`` and ``--reward`` describe."""
    # Deferred so that `--help` does not load torch/SB3.
    from rewardlab.preferences import build_oracle

    spec = oracle_spec(args)
    reward = args.reward
    if isinstance(reward, str) and reward.strip().startswith("{"):
        try:
            reward = json.loads(reward)  # factor weights, e.g. '{"angle_cost": -1}'
        except json.JSONDecodeError as exc:
            raise ConfigError(
                message(
                    "--reward",
                    "'env' or a JSON object of factor weights",
                    args.reward,
                    f"It is not valid JSON ({exc.msg} at column {exc.colno}); write e.g. '{{\"angle_cost\": -1}}'.",
                )
            ) from None
    spec["reward"] = reward
    return build_oracle(spec)


def _cmd_label(args: argparse.Namespace) -> int:
    # Deferred so that `--help` does not load torch/SB3.
    import numpy as np

    from rewardlab.preferences import PreferenceDataset, label_pairs

    dataset = PreferenceDataset.load(args.dataset)
    before = len(dataset)
    if args.from_file is not None:
        path = Path(args.from_file)
        pairs, read = _read_queries(path, need_label=True)
        labels = read if read is not None else np.zeros(0)
        added, known = dataset.append_labels(pairs, labels, provenance={"source": "human", "file": path.name})
        what = f"{added} human labels from {path}"
    else:
        path = Path(args.queries) if args.queries else Path(args.dataset) / QUERIES
        pairs, _ = _read_queries(path, need_label=False)
        oracle = _oracle(args)
        labels = label_pairs(dataset.segments, pairs, oracle, seed=args.seed)
        keep = ~np.isnan(labels)
        provenance = {**oracle.provenance(), "file": path.name}
        added, known = dataset.append_labels(pairs[keep], labels[keep], provenance=provenance)
        skipped = int((~keep).sum())
        what = f"{added} synthetic labels ({args.oracle})" + (f", {skipped} skipped" if skipped else "")
    already = f"; {known} of the {known + added} pairs of {path.name} were already in the dataset, not added again"
    if not added:
        print(
            f"Added nothing{already if known else ''}. Dataset {args.dataset} unchanged: {len(dataset)} labelled pairs."
        )
        return 0
    dataset.save(args.dataset)
    print(
        f"Added {what}{already if known else ''}. Dataset {args.dataset}: {len(dataset)} labelled pairs (was {before})."
    )
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    # Deferred so that `--help` does not load torch/SB3.
    import torch

    from rewardlab.preferences import FeatureSpec, PreferenceDataset, RewardModel, train_reward_model

    torch.set_num_threads(args.threads)
    dataset = PreferenceDataset.load(args.dataset)
    if len(dataset) == 0:
        raise ConfigError(
            message("dataset", "a dataset with labelled pairs", str(args.dataset), "Run `rewardlab prefs label` first.")
        )
    features = FeatureSpec.coerce(args.features)
    model = RewardModel.for_env(
        dataset.env, features, hidden=tuple(args.hidden), ensemble=args.ensemble, seed=args.seed
    )
    report = train_reward_model(
        model,
        dataset,
        epochs=args.epochs,
        lr=args.lr,
        val_fraction=args.val_fraction,
        seed=args.seed,
        progress=not args.no_progress,
    )
    model.fit_output_normalization(dataset.segments)
    out = model.save(args.out)
    val = "n/a" if report.val_accuracy is None else f"{report.val_accuracy:.3f}"
    print(
        f"Trained on {report.n_train} pairs ({report.n_val} held out) for {report.epochs} epochs: "
        f"train accuracy {report.train_accuracy:.3f}, validation accuracy {val}."
    )
    print(f'Reward model: {out}  (use it as {{kind = "learned", model = "{out}"}})')
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    # Deferred so that `--help` does not load torch/SB3.
    from rewardlab.preferences import PreferenceDataset

    dataset = PreferenceDataset.load(args.dataset)
    out = Path(args.out)
    if args.existing:
        path = dataset.export_pairs_to_label(out, clips=args.clips, show_returns=args.show_returns)
        print(f"Exported the dataset's {len(dataset)} labelled pairs to {path}.")
    else:
        path = _write_queries(dataset, out, args.pairs, args.seed, args.clips, args.show_returns)
        print(
            f"Exported {args.pairs} new pairs to label to {path}. In its `label` column write 1 (or left) "
            "when the left segment is better, 0 (or right) when the right one is, 0.5 (or equal) when "
            f"neither; then `rewardlab prefs label {args.dataset} --from-file {path}`."
        )
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    # Deferred so that `--help` loads neither torch nor the web framework (FastAPI, uvicorn).
    import secrets
    import webbrowser

    from rewardlab.preferences import is_loopback, serve

    token = args.token
    if token is None and not is_loopback(args.host):
        token = secrets.token_urlsafe(24)  # another address is reachable by others: require a secret

    def ready(url: str) -> None:
        print(f"Labelling page: {url}  (Ctrl-C stops the server and merges the labels into {args.dataset})")
        print(f"Labels are appended to {Path(args.dataset) / 'labels.jsonl'} as they are given.")
        if args.open:
            webbrowser.open(url)

    added, known = serve(
        args.dataset,
        host=args.host,
        port=args.port,
        token=token,
        merge=not args.no_merge,
        on_ready=ready,
        queries=args.queries,
        repeats=args.repeats,
        fps=args.fps,
    )
    if not args.no_merge:
        print(_merged(args.dataset, added, known))
    return 0


def _merged(dataset: str, added: int, known: int) -> str:
    # Deferred so that `--help` does not load numpy/torch.
    from rewardlab.preferences import LabelLog, PreferenceDataset, disagreements

    with LabelLog(dataset) as log:
        found = disagreements(log.events)
    total = len(PreferenceDataset.load(dataset))
    text = f"Merged {added} labelled pairs into {dataset} ({known} already there): {total} labelled pairs."
    if found:
        text += f" {len(found)} pairs were labelled differently by different labellers (their labels are averaged):"
        text += "".join(f"\n  ({d['left']}, {d['right']}): {d['labels']}" for d in found[:20])
    return text


def _cmd_merge(args: argparse.Namespace) -> int:
    # Deferred so that `--help` does not load numpy/torch.
    from rewardlab.preferences import merge_labels

    added, known = merge_labels(args.dataset)
    print(_merged(args.dataset, added, known))
    return 0


def add_commands(sub: Any) -> None:
    """Register ``prefs`` (``collect``, ``label``, ``train``, ``export``, ``serve``, ``merge``) on ``sub``."""
    prefs = sub.add_parser("prefs", help="preference datasets: collect segments, label pairs, train a reward model")
    psub = prefs.add_subparsers(dest="prefs_command", required=True)

    p = psub.add_parser("collect", help="roll out a policy and save segments + a queries file of pairs to label")
    p.add_argument("--env", required=True, help="suite env name (rewardlab envs) or Gymnasium id")
    p.add_argument("--n-segments", type=int, default=200, help="segments to collect (default: 200)")
    p.add_argument("--length", type=int, default=50, help="steps per segment (default: 50)")
    p.add_argument("--policy", default="random", help="'random' or an SB3 model.zip (default: random)")
    add_trust_flag(p)
    p.add_argument("--seed", type=int, default=0, help="seed of the rollouts and the pairs (default: 0)")
    p.add_argument("--pairs", type=int, default=None, help="pairs in the queries file (default: n_segments / 2)")
    p.add_argument("--clips", action="store_true", help="also render a GIF per pair beside the queries file")
    p.add_argument("--out", required=True, help="dataset directory to write")
    p.set_defaults(func=_cmd_collect)

    p = psub.add_parser("label", help="label queried pairs with a synthetic oracle, or import a person's labels")
    p.add_argument("dataset", help="dataset directory")
    p.add_argument("--queries", default=None, help=f"queries file to label (default: DATASET/{QUERIES})")
    p.add_argument("--from-file", default=None, help="a filled-in queries file (CSV/JSONL) of human labels")
    p.add_argument("--reward", default="env", help="what the oracle values: 'env' or JSON factor weights")
    p.add_argument("--seed", type=int, default=0, help="seed of the oracle's draws (default: 0)")
    add_oracle_flags(p)
    p.set_defaults(func=_cmd_label)

    p = psub.add_parser("train", help="train a reward model (Bradley-Terry) on a dataset; save it for `learned`")
    p.add_argument("dataset", help="dataset directory")
    p.add_argument("--out", required=True, help="directory of the saved model")
    p.add_argument("--hidden", type=int, nargs="+", default=[64, 64], help="hidden sizes (default: 64 64)")
    p.add_argument("--ensemble", type=int, default=1, help="ensemble members (default: 1)")
    p.add_argument("--features", default="obs,action", help="inputs: obs, action, next_obs and factor names")
    p.add_argument("--epochs", type=int, default=100, help="maximum epochs, early stopping (default: 100)")
    p.add_argument("--lr", type=float, default=1e-3, help="learning rate (default: 1e-3)")
    p.add_argument("--val-fraction", type=float, default=0.2, help="held-out pairs (default: 0.2)")
    p.add_argument("--seed", type=int, default=0, help="seed of the split and the weights (default: 0)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=_cmd_train)

    p = psub.add_parser("export", help="write pairs for a person to label (CSV or JSONL, optional GIF clips)")
    p.add_argument("dataset", help="dataset directory")
    p.add_argument("--out", required=True, help="file to write (.csv or .jsonl)")
    p.add_argument("--pairs", type=int, default=50, help="new random pairs to draw (default: 50)")
    p.add_argument("--existing", action="store_true", help="export the dataset's labelled pairs instead")
    p.add_argument("--seed", type=int, default=0, help="seed of the pairs (default: 0)")
    p.add_argument("--clips", action="store_true", help="also render a GIF per pair")
    p.add_argument(
        "--show-returns",
        action="store_true",
        help="add the segments' env returns and factor sums (hidden by default: they would bias a labeller)",
    )
    p.set_defaults(func=_cmd_export)

    p = psub.add_parser("serve", help="label pairs in a local web page; labels go to DATASET/labels.jsonl")
    p.add_argument("dataset", help="dataset directory")
    p.add_argument("--queries", default=None, help=f"pairs to label (default: DATASET/{QUERIES})")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1; others need a token)")
    p.add_argument("--port", type=int, default=8765, help="TCP port (default: 8765)")
    p.add_argument("--token", default=None, help="secret in the URL (made for you when --host is not loopback)")
    p.add_argument("--repeats", type=int, default=1, help="labels per pair, by different labellers (default: 1)")
    p.add_argument("--fps", type=float, default=20, help="frames per second of the clips (default: 20)")
    p.add_argument("--open", action="store_true", help="open the page in the default browser")
    p.add_argument("--no-merge", action="store_true", help="leave the labels in labels.jsonl when stopping")
    p.set_defaults(func=_cmd_serve)

    p = psub.add_parser("merge", help="merge DATASET/labels.jsonl (from `prefs serve`) into the dataset")
    p.add_argument("dataset", help="dataset directory")
    p.set_defaults(func=_cmd_merge)
