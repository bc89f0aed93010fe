"""Ablation sweeps: the grid envs × reward variants × agents × seeds, run locally or on Ray.

A sweep spec (a TOML file or :class:`SweepSpec`) names the axes; ablations generate variants
from a ``terms`` reward (leave one term out, add one, a weight grid). :func:`run_sweep` runs the
trials on a backend (``local``: a process pool; ``ray``: Ray tasks), one run directory per trial
under ``<runs_dir>/<sweep name>/``, and resumes where a killed or failed sweep stopped.
:func:`aggregate` turns the trials into multi-seed statistics (mean, IQM, bootstrap CIs, AUC,
proxy-minus-true gap, distance to the ground truth beside regret) and :func:`write_report` into
a self-contained HTML page with figures.

Owns, one module each: the spec and its ablations (``_spec``: :class:`SweepSpec`,
:class:`Trial`, :class:`Ablation`), one trial as a worker runs it (``_trial``), the backends
(``_backends``), the runner with resume and status (``_run``: :func:`run_sweep`,
:func:`sweep_status`), aggregation (``_aggregate``), the statistics (``_stats``: IQM, bootstrap
CIs, AUC, Spearman), the report (``_report``) and the switch that publishes the tables and the
report as one generation (``_publish``), and the reward-design search on top of the runner
(``_tune_spec``: :class:`TuneSpec`, its search space; ``_tune``: :func:`run_tune`, Optuna's
ask-and-tell loop scoring each candidate by the ground-truth return over paired seeds).
Inside the package the imports run one way too: the
runner imports the backends and the trial, the backends import the trial, aggregation and the
report import ``_publish``, and nothing imports the runner but this package.

Faults are not the trial's: a sweep's workers die with it (kill -9 included), a dead worker or
Ray node costs a resubmission but never an attempt, a trial folder is never shared with a live
writer, and a full disk stops the sweep with one :class:`~rewardlab.errors.StorageError`.

Layer: above :mod:`rewardlab.preferences` and everything under it; only :mod:`rewardlab.cli` sits
higher. A trial trains through :mod:`rewardlab.training`, the distances come from
:mod:`rewardlab.compare`, and run directories are read and written through :mod:`rewardlab.runs`.
Ray is imported only by the ``ray`` backend; matplotlib and pyarrow only when a report or a
Parquet table is written.

Example:
    >>> from rewardlab.sweeps import SweepSpec
    >>> spec = SweepSpec.from_dict({
    ...     "name": "demo", "envs": ["cartpole"], "seeds": [0, 1], "agents": {"ppo": {}},
    ...     "variants": {"truth": {"kind": "env"}, "upright": {"kind": "terms", "weights": {"pole_angle": -1.0}}},
    ... })
    >>> [t.id for t in spec.trials(check=False)][:2]
    ['cartpole__truth__ppo__s0', 'cartpole__truth__ppo__s1']
"""

from rewardlab.sweeps._aggregate import SweepSummary, aggregate
from rewardlab.sweeps._report import format_summary_table, write_report
from rewardlab.sweeps._run import SweepResult, migrate_names, run_sweep, run_trial, sweep_status
from rewardlab.sweeps._spec import Ablation, SweepSpec, Trial, load_sweep
from rewardlab.sweeps._tune import TuneResult, run_tune
from rewardlab.sweeps._tune_spec import Searched, Space, TermSpace, TuneSpec, load_tune

__all__ = [
    "Ablation",
    "Searched",
    "Space",
    "SweepResult",
    "SweepSpec",
    "SweepSummary",
    "TermSpace",
    "Trial",
    "TuneResult",
    "TuneSpec",
    "aggregate",
    "format_summary_table",
    "load_sweep",
    "load_tune",
    "migrate_names",
    "run_sweep",
    "run_trial",
    "run_tune",
    "sweep_status",
    "write_report",
]
