"""Progress of long sweeps, read-only: ``python -m sweeps.status [quick|paper|SWEEP|EXPERIMENT|SWEEP_DIR]``.

For every named sweep of a profile, in the order ``sweeps.reproduce`` runs them (``sweep_experiments``), the
expected jobs are the cartesian product of the experiment's ``hydra.sweeper.params``, composed with Hydra (a quick
sweep inherits grid keys from its paper-size parent: sweep_fig2_threshold_quick sweeps ``recipe`` too).  A job's
directory is Hydra's ``override_dirname`` of its task overrides: the ``key=value`` lines sorted as strings, joined
by ``,``, the excluded keys (``experiment``) left out, e.g. ``seed=0,task.d=12`` (``debug=smoke,seed=0,task.d=12``
when the sweep was launched with ``debug=smoke``).  A job is

* ``finished``: its summary.json (written last by sweeps/pipeline.py) parses;
* ``running``:  its directory exists, it is not finished, and something in it, or in a stage directory it links
  to (``ntp/`` and ``rl/`` may be symlinks to a shared stage), was modified within the last ``--stale-minutes``;
* ``stale``:    the same with nothing modified recently: a killed job (resuming the sweep redoes it);
* ``pending``:  no directory yet.

A summary.json that does not parse (being written) only means "not finished yet": never an error.  A running
job's elapsed time counts from the earliest modification time in its own directory; a finished job's duration is
``ntp_seconds + rl.seconds`` from its summary.  Time left for a sweep = Σ over the jobs still to run (pending,
running, and stale: resuming redoes them) of the median finished duration of the job's *cell*, minus what a running
job has already spent, / n_jobs (the launcher's parallel jobs).  A cell is the job's overrides without ``seed``:
its jobs are replicates, while jobs of other cells may differ by orders of magnitude (d = 10 against d = 3 in a
scaling sweep), so a job whose cell has no finished job yet is not guessed but counted as *untimed*
('0:12:00 + 6 untimed'; 'unknown' when no job left is timed).  The total adds the sweeps (they run one after
another).  A profile or a sweep name reads the grid from conf/ (what
``sweeps.reproduce`` will launch); an explicit sweep directory reads it from the ``multirun.yaml`` Hydra wrote
there when the sweep started (what was launched), or from conf/ for the ``<name>/<profile>`` its path names.
Nothing is written.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import yaml
from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf

from core.paths import path_safe
from core.runio import read_summary
from sweeps.collect import RESULTS_ROOT, job_dirs
from sweeps.config import (
    CONF_DIR,
    EXPERIMENT_DIR,
    PROFILES,
    experiment_name,
    register_pipeline_configs,
    sweep_experiments,
)

STATES = ("finished", "running", "stale", "pending")
REPLICATE_KEY = "seed"  # jobs that differ only in it are replicates of one grid cell
MULTIRUN = "multirun.yaml"  # the composed config Hydra saves in the sweep dir before launching any job


@dataclass(frozen=True)
class SweepPlan:
    """The jobs a sweep launches and where."""

    experiment: str
    """conf/experiment name (sweep_fig1_ntp_vs_rl_quick)"""
    sweep_dir: Path
    """hydra.sweep.dir: one subdirectory per job"""
    jobs: tuple[str, ...]
    """job directory names (Hydra's override_dirname), in launch order"""
    cells: tuple[str, ...] | None = None
    """per job, its name without the replicate key (seed): jobs of one cell are replicates; None: all one cell"""


@dataclass(frozen=True)
class JobStatus:
    """One expected job as found on disk."""

    name: str
    """its directory name"""
    state: str
    """one of STATES"""
    started: float | None
    """earliest modification time in its own directory (epoch seconds); None when pending"""
    last_active: float | None
    """latest modification time in its directory or in a stage directory it links to; None when pending"""
    seconds: float | None
    """finished: ntp_seconds + rl.seconds (None if the summary lacks them); running: time since started"""


@dataclass(frozen=True)
class SweepStatus:
    """Every expected job of one sweep, and the job directories outside its grid."""

    plan: SweepPlan
    """what the sweep launches"""
    jobs: tuple[JobStatus, ...]
    """one per expected job, in launch order"""
    outside_grid: tuple[str, ...]
    """job directories of the sweep dir that the grid does not name (an older grid, other overrides)"""

    def time_left(self, n_jobs: int) -> TimeLeft:
        return remaining(self.jobs, n_jobs, self.plan.cells)


def job_names(params: dict, task_overrides: Sequence[str], exclude_keys: Iterable[str], item_sep: str = ",",
              kv_sep: str = "=") -> tuple[str, ...]:
    """The override_dirname of every job Hydra's basic sweeper launches for ``params`` (hydra.sweeper.params) and
    the command line's ``task_overrides``, in launch order.  Mirrors BasicSweeper.split_arguments (a command-line
    value replaces the grid's value of the same key), get_overrides_dirname (whole lines sorted, '=' -> kv_sep) and
    conf/pipeline.yaml's subdir (core/paths.py path_safe)."""
    parsed = OverridesParser.create().parse_overrides([f"{key}={value}" for key, value in params.items()]
                                                      + list(task_overrides))
    exclude = set(exclude_keys)
    choices: OrderedDict[str, list[str]] = OrderedDict()  # key -> its job override lines; a later value replaces
    named: dict[str, bool] = {}  # key -> whether it is part of the directory name
    for override in parsed:
        key = override.get_key_element()
        values = (list(override.sweep_string_iterator()) if override.is_sweep_override()
                  else [override.get_value_element_as_str()])
        choices[key], named[key] = [f"{key}={value}" for value in values], override.key_or_group not in exclude
    grids: list[list[str]] = [[]]
    for key, lines in choices.items():  # itertools.product order: the last key varies fastest
        grids = [grid + [line] * named[key] for grid in grids for line in lines]
    return tuple(path_safe(item_sep.join(sorted(grid)).replace("=", kv_sep)) for grid in grids)


def plan_from_config(cfg: DictConfig, sweep_dir: Path) -> SweepPlan:
    """The plan of a composed pipeline config that carries its hydra node (compose or multirun.yaml)."""
    dirname, params = cfg.hydra.job.config.override_dirname, cfg.hydra.sweeper.get("params")
    grid = OmegaConf.to_container(params) if params else {}
    task, separators = list(cfg.hydra.overrides.task), (dirname.item_sep, dirname.kv_sep)
    jobs = job_names(grid, task, dirname.exclude_keys, *separators)
    cells = job_names(grid, task, [*dirname.exclude_keys, REPLICATE_KEY], *separators)  # same launch order
    return SweepPlan(cfg.hydra.runtime.choices.get("experiment") or Path(sweep_dir).name, Path(sweep_dir), jobs,
                     cells)


def compose_experiment(experiment: str, overrides: Sequence[str] = ()) -> DictConfig:
    """The pipeline config of ``experiment=<experiment>`` plus task ``overrides``, with its hydra node."""
    register_pipeline_configs()  # the model schemas the `model` group is made of
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        return compose("pipeline", overrides=[f"experiment={experiment}", *overrides], return_hydra_config=True)


def experiment_plan(experiment: str, root: Path, overrides: Sequence[str] = ()) -> SweepPlan:
    """The plan of a named sweep in its default place: <root>/<name>/<profile> (as sweeps.reproduce runs it)."""
    cfg = compose_experiment(experiment, overrides)
    return plan_from_config(cfg, Path(root) / cfg.name / cfg.profile)


def directory_plan(sweep_dir: Path, overrides: Sequence[str] = ()) -> SweepPlan:
    """The plan of an existing sweep dir: the grid as launched (its multirun.yaml); with ``overrides``, or without a
    readable multirun.yaml, the grid composed from conf/ for its experiment (named in multirun.yaml, else by the
    <name>/<profile> of its path)."""
    sweep_dir = Path(sweep_dir)
    try:
        launched = OmegaConf.load(sweep_dir / MULTIRUN)
    except (OSError, yaml.YAMLError):  # not launched by Hydra, or being written as the sweep starts
        launched = None
    if launched is not None and "hydra" not in launched:  # empty: being written
        launched = None
    if launched is not None and not overrides:
        return plan_from_config(launched, sweep_dir)
    experiment = (launched.hydra.runtime.choices.get("experiment") if launched is not None
                  else experiment_name(sweep_dir.parent.name, sweep_dir.name))
    if not experiment or not (EXPERIMENT_DIR / f"{experiment}.yaml").exists():
        raise FileNotFoundError(f"{sweep_dir}: no {MULTIRUN} naming a named sweep, and not a <name>/<profile> "
                                "directory of one")
    return plan_from_config(compose_experiment(experiment, overrides), sweep_dir)


def plans(target: str, root: Path, profile: str, overrides: Sequence[str] = ()) -> list[SweepPlan]:
    """The sweeps ``target`` names: a profile (its sweeps in reproduce's order), a sweep directory, an experiment
    (sweep_fig1_ntp_vs_rl_quick) or a sweep name at ``profile`` (fig1_ntp_vs_rl)."""
    if target in PROFILES:
        return [experiment_plan(experiment, root, overrides) for experiment in sweep_experiments(target)]
    if Path(target).is_dir():
        return [directory_plan(Path(target), overrides)]
    for experiment in (target, experiment_name(target, profile)):
        if (EXPERIMENT_DIR / f"{experiment}.yaml").exists():
            return [experiment_plan(experiment, root, overrides)]
    raise FileNotFoundError(f"{target!r} is neither a profile {PROFILES}, a sweep directory, nor a named sweep "
                            f"(conf/experiment/sweep_<name>[_quick].yaml)")


def modification_times(top: Path) -> list[float]:
    """mtimes of ``top`` and everything under it; symlinked subdirectories are not entered."""
    times = []
    for directory, _, files in os.walk(top):  # a directory removed meanwhile is skipped (onerror=None)
        for path in (directory, *(os.path.join(directory, name) for name in files)):
            try:
                times.append(os.stat(path).st_mtime)
            except OSError:  # removed meanwhile (an atomic write's temporary file) or a dangling link
                pass
    return times


def finished_seconds(job_dir: Path) -> tuple[bool, float | None]:
    """(finished, duration): finished when summary.json parses to an object; duration ntp_seconds + rl.seconds."""
    try:
        summary = read_summary(job_dir)
    except (OSError, ValueError):  # missing, vanished, or half-written: not finished (yet)
        return False, None
    if not isinstance(summary, dict):
        return False, None
    rl = summary.get("rl") or {}  # {} when rl.algo = none
    stages = (summary.get("ntp_seconds"), rl.get("seconds", 0) if isinstance(rl, dict) else None)
    if not all(isinstance(seconds, int | float) for seconds in stages):
        return True, None
    return True, float(sum(stages))


def job_status(job_dir: Path, stale_after: float, now: float) -> JobStatus:
    """The state of one job directory; ``stale_after``: seconds without a modification that make it stale."""
    job_dir = Path(job_dir)
    if not job_dir.is_dir():
        return JobStatus(job_dir.name, "pending", None, None, None)
    own = modification_times(job_dir)
    if not own:  # removed since is_dir()
        return JobStatus(job_dir.name, "pending", None, None, None)
    # A linked stage (a shared ntp/) may predate this job: it tells whether the job is active, not when it began.
    linked = [t for entry in job_dir.iterdir() if entry.is_symlink() and entry.is_dir()
              for t in modification_times(entry)]
    started, last_active = min(own), max(own + linked)
    finished, seconds = finished_seconds(job_dir)
    if finished:
        return JobStatus(job_dir.name, "finished", started, last_active, seconds)
    if now - last_active <= stale_after:
        return JobStatus(job_dir.name, "running", started, last_active, now - started)
    return JobStatus(job_dir.name, "stale", started, last_active, None)


def sweep_status(plan: SweepPlan, stale_after: float, now: float) -> SweepStatus:
    jobs = tuple(job_status(plan.sweep_dir / name, stale_after, now) for name in plan.jobs)
    try:
        present = {path.name for path in job_dirs(plan.sweep_dir)}
    except FileNotFoundError:  # the sweep has not started
        present = set()
    return SweepStatus(plan, jobs, tuple(sorted(present - set(plan.jobs))))


def counts(jobs: Iterable[JobStatus]) -> dict[str, int]:
    jobs = list(jobs)
    return {state: sum(job.state == state for job in jobs) for state in STATES}


def elapsed(jobs: Iterable[JobStatus], now: float) -> float | None:
    """Wall time from the first job's start to the last activity (to now while a job runs); None: none started."""
    started = [job for job in jobs if job.started is not None]
    if not started:
        return None
    end = now if any(job.state == "running" for job in started) else max(job.last_active for job in started)
    return end - min(job.started for job in started)


@dataclass(frozen=True)
class TimeLeft:
    """The estimated wall time of the jobs still to run whose cell has a finished job, and how many have none."""

    seconds: float
    """Σ (cell median − time already spent, floored at 0) / n_jobs over the timed jobs"""
    timed: int
    """jobs still to run whose cell has a finished job with a duration"""
    untimed: int
    """jobs still to run whose cell has none (their time is not guessed)"""

    def __add__(self, other: TimeLeft) -> TimeLeft:
        return TimeLeft(self.seconds + other.seconds, self.timed + other.timed, self.untimed + other.untimed)

    def __str__(self) -> str:
        if self.untimed == 0:
            return clock(self.seconds)
        return f"{clock(self.seconds)} + {self.untimed} untimed" if self.timed else "unknown"


def remaining(jobs: Sequence[JobStatus], n_jobs: int, cells: Sequence[str] | None = None) -> TimeLeft:
    """The time left (module docstring): each job to run (pending, running, stale) costs the median finished
    duration of its cell (``cells``: one per job; None: a single cell), less what it has run already."""
    cells = list(cells) if cells is not None else [""] * len(jobs)
    if len(cells) != len(jobs):
        raise ValueError(f"{len(cells)} cells for {len(jobs)} jobs")
    durations: dict[str, list[float]] = {}
    for job, cell in zip(jobs, cells, strict=True):
        if job.state == "finished" and job.seconds is not None:
            durations.setdefault(cell, []).append(job.seconds)
    seconds, timed, untimed = 0.0, 0, 0
    for job, cell in zip(jobs, cells, strict=True):
        if job.state == "finished":
            continue
        if cell not in durations:
            untimed += 1
            continue
        spent = job.seconds if job.state == "running" else 0.0
        seconds, timed = seconds + max(statistics.median(durations[cell]) - spent, 0.0), timed + 1
    return TimeLeft(seconds / n_jobs, timed, untimed)


def clock(seconds: float | None) -> str:
    return "-" if seconds is None else str(timedelta(seconds=round(seconds)))


def report(statuses: Sequence[SweepStatus], n_jobs: int, now: float, list_jobs: bool = False) -> str:
    """The progress table: one line per sweep, a total line, and with ``list_jobs`` every job under its sweep."""
    width = max([len("total"), *(len(s.plan.experiment) for s in statuses)])
    header = f"{'sweep':<{width}}  " + "  ".join(f"{state:>8}" for state in STATES) + f"  {'elapsed':>10}  remaining"
    lines = [header]
    for status in statuses:
        lines.append(f"{status.plan.experiment:<{width}}  " + "  ".join(f"{n:>8}" for n in counts(status.jobs).values())
                     + f"  {clock(elapsed(status.jobs, now)):>10}  {status.time_left(n_jobs)}")
        if list_jobs:
            lines += [f"    {job.state:<8}  {clock(job.seconds):>10}  {job.name}" for job in status.jobs]
            lines.append(f"    in {status.plan.sweep_dir}")
        if status.outside_grid:
            lines.append(f"    job dir(s) outside the grid: {', '.join(status.outside_grid)}")
    everything = [job for status in statuses for job in status.jobs]
    total_left = sum((status.time_left(n_jobs) for status in statuses), TimeLeft(0.0, 0, 0))
    lines.append(f"{'total':<{width}}  " + "  ".join(f"{n:>8}" for n in counts(everything).values())
                 + f"  {clock(elapsed(everything, now)):>10}  {total_left}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sweeps.status", description=__doc__.splitlines()[0])
    parser.add_argument("target", nargs="?", default="quick",
                        help="a profile (quick | paper: every sweep sweeps.reproduce runs), a sweep name "
                             "(fig1_ntp_vs_rl, at --profile), an experiment (sweep_fig1_ntp_vs_rl_quick), a sweep dir")
    parser.add_argument("--root", type=Path, default=RESULTS_ROOT, help="where the sweep dirs <name>/<profile> are")
    parser.add_argument("--profile", default="quick", choices=PROFILES, help="the size of a sweep named by its name")
    parser.add_argument("--stale-minutes", type=float, default=10.0,
                        help="an unfinished job with nothing modified for this long is stale (killed), not running")
    parser.add_argument("--n-jobs", type=int, default=2, help="jobs the launcher runs at once (for the time left)")
    parser.add_argument("--jobs", action="store_true", help="list every job with its state and time")
    parser.add_argument("--override", action="append", default=[], metavar="KEY=VALUE",
                        help="a task override the sweep was launched with (e.g. debug=smoke; repeatable): the grid "
                             "is then composed from conf/, also for a sweep dir that has a multirun.yaml")
    args = parser.parse_args(argv)
    if args.n_jobs < 1 or args.stale_minutes <= 0:
        parser.error("--n-jobs must be >= 1 and --stale-minutes > 0")
    try:
        sweeps = plans(args.target, args.root, args.profile, args.override)
    except (FileNotFoundError, HydraException) as exc:
        print(f"sweeps.status: {exc}", file=sys.stderr)
        return 1
    now = time.time()
    statuses = [sweep_status(plan, args.stale_minutes * 60, now) for plan in sweeps]
    print(report(statuses, args.n_jobs, now, args.jobs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
