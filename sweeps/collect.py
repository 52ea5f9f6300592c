"""Collect a sweep's finished jobs into two tidy tables: ``python -m sweeps.collect SWEEP_DIR``.

Implements docs/design.md "A sweep ... is collected into one tidy table" for the job directories that
sweeps/pipeline.py writes (by default SWEEP_DIR = results/sweeps/<experiment name>/<profile>/).  Writes,
into SWEEP_DIR, the tables the figures read:

* ``results.parquet``: one row per finished job.  Columns: ``job`` (the job directory's name, an id
  only: the configuration comes from summary.json, never from the name), the flattened config
  (``task.d``, ``task.p_cot``, ``model.name``, ``rl.algo``, ``seed``, ...), ``ntp.<metric>`` (final NTP
  metrics, e.g. ``ntp.greedy/accuracy``), ``rl.start.<metric>`` / ``rl.final.<metric>`` (empty when
  rl.algo = none), ``ntp_seconds``, ``rl.seconds``, and each stage's solve point ``ntp_solved.<field>`` /
  ``rl.solved.<field>`` (criterion, step, samples, budget_samples, resolution; step/samples empty when the
  stage did not solve within its budget: a censored cost, known only to exceed budget_samples), and each stage's
  provenance ``stages.ntp.{key,path,reused}`` / ``stages.rl.*`` (the content-addressed stage, core/stages.py; reused
  = this job linked a stage that another job or sweep had computed, so its ``*_seconds`` are that job's cost).
* ``steps.parquet``: every logged number of both stages in long form: ``job``, ``stage`` ('ntp' | 'rl'),
  ``step`` (NTP optimiser step, or RL iteration / STaR round with 0 = before RL), ``metric``, ``value``.
  Join it with results on ``job`` to get the config.

Jobs without summary.json (still running, crashed) are skipped and reported by name, never mixed in.  A
corrupted summary.json or metrics.jsonl line raises an error naming the file (and the line).  The pipeline
calls ``collect`` by itself when a multirun ends (``CollectWhenSweepEnds``, conf/pipeline.yaml).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import pandas as pd
from hydra.experimental.callback import Callback

from core.paths import results_root
from core.runio import METRICS, SUMMARY, read_metrics, read_summary, write_parquet
from sweeps.compounding import COMPOUNDING, compounding_table
from sweeps.config import experiment_name, flatten

RESULTS, STEPS = "results.parquet", "steps.parquet"
RESULTS_ROOT = results_root() / "sweeps"
STAGE_STEP_KEYS = {"ntp": "step", "rl": "iteration"}  # stage directory -> its step counter in metrics.jsonl
PIPELINE_SUMMARY_KEYS = ("config", "ntp", "rl")
STEP_COLUMNS = ["job", "stage", "step", "metric", "value"]


def job_dirs(sweep_dir: Path) -> list[Path]:
    """The pipeline job directories of a sweep: subdirectories holding Hydra's .hydra/, a summary or a stage."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise FileNotFoundError(f"{sweep_dir}: no such sweep directory")
    markers = (".hydra", SUMMARY, "ntp")
    jobs = sorted(path for path in sweep_dir.iterdir()
                  if path.is_dir() and not path.name.startswith(".") and any((path / m).exists() for m in markers))
    if not jobs:
        raise FileNotFoundError(f"{sweep_dir}: no pipeline job directories (expected results/sweeps/<name>/<profile>)")
    return jobs


def job_row(job: Path) -> dict:
    """One results row from a finished job's summary.json."""
    summary = read_summary(job)
    missing = [key for key in PIPELINE_SUMMARY_KEYS if key not in summary]
    if missing:
        raise ValueError(f"{job / SUMMARY}: not a sweeps.pipeline summary (missing {missing})")
    return {"job": job.name, **summary["config"], **flatten({"ntp": summary["ntp"], "rl": summary["rl"],
                                                                 "ntp_solved": summary.get("ntp_solved", {}),
                                                                 "stages": summary.get("stages", {})}),
            "ntp_seconds": summary.get("ntp_seconds")}


def job_steps(job: Path) -> list[tuple]:
    """(job, stage, step, metric, value) for every number logged by the job's stages."""
    rows = []
    for stage, step_key in STAGE_STEP_KEYS.items():
        path = job / stage / METRICS
        if not path.exists():
            continue  # rl.algo = none: the job has no RL stage
        for number, record in enumerate(read_metrics(path), 1):
            if step_key not in record:
                raise ValueError(f"{path}:{number}: corrupted metrics.jsonl line (no '{step_key}')")
            rows += [(job.name, stage, record[step_key], metric, float(value)) for metric, value in record.items()
                     if metric != step_key and isinstance(value, int | float) and not isinstance(value, bool)]
    return rows


def collect(sweep_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(runs, steps) tables of the finished jobs under ``sweep_dir``; runs.attrs['unfinished'] lists the rest."""
    finished, unfinished = [], []
    for job in job_dirs(sweep_dir):
        (finished if (job / SUMMARY).exists() else unfinished).append(job)
    if unfinished:
        warnings.warn(f"{sweep_dir}: {len(unfinished)} unfinished job(s) skipped (no summary.json): "
                      + ", ".join(job.name for job in unfinished), stacklevel=2)
    rows = [job_row(job) for job in finished]
    runs = pd.DataFrame(rows)
    if rows:
        measured = ("ntp.", "rl.start.", "rl.final.", "rl.solved.", "ntp_solved.", "stages.")  # results, not config
        config_columns = [c for c in runs.columns if c != "job" and not c.startswith(measured)
                          and c not in ("ntp_seconds", "rl.seconds")]
        twins = runs[runs.duplicated(subset=config_columns, keep=False)]
        if not twins.empty:
            raise ValueError(f"{sweep_dir}: jobs {sorted(twins['job'])} have identical configs; their rows would be "
                             "counted twice (remove the duplicate job directories)")
    steps = pd.DataFrame([row for job in finished for row in job_steps(job)], columns=STEP_COLUMNS)
    runs.attrs["unfinished"] = [job.name for job in unfinished]
    return runs, steps.sort_values(["job", "stage", "step", "metric"], ignore_index=True)


class MissingTable(FileNotFoundError):
    """A sweep table (read by a figure or a check) does not exist yet; the message says which sweep makes it."""


def sweep_command(experiment: str, profile: str) -> str:
    """The command that makes the tables of ``experiment`` at size ``profile``."""
    return f"python -m sweeps.pipeline -m experiment={experiment_name(experiment, profile)} hydra/launcher=local"


def load_tables(experiment: str, profile: str, results_root: Path = RESULTS_ROOT) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The (runs, steps) tables of a collected sweep."""
    sweep_dir = Path(results_root) / experiment / profile
    for table in (RESULTS, STEPS):
        if not (sweep_dir / table).exists():
            raise MissingTable(f"{sweep_dir / table} is missing: make it with `{sweep_command(experiment, profile)}` "
                               f"(the tables are collected when the sweep ends; for a sweep that stopped early, "
                               f"`python -m sweeps.collect {sweep_dir}`)")
    return pd.read_parquet(sweep_dir / RESULTS), pd.read_parquet(sweep_dir / STEPS)


def load_compounding(experiment: str, profile: str, results_root: Path = RESULTS_ROOT) -> pd.DataFrame:
    """The compounding table of a sweep (sweeps/compounding.py), or MissingTable naming the command that makes it."""
    path = Path(results_root) / experiment / profile / COMPOUNDING
    if not path.exists():
        raise MissingTable(f"{path} is missing: make it with `{sweep_command(experiment, profile)}` (its jobs "
                           "measure the compounding profile of every model they train; `python -m sweeps.collect "
                           f"{path.parent}` writes the table of a sweep that stopped early)")
    return pd.read_parquet(path)


def collect_and_write(sweep_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """collect() and store both tables in the sweep directory, and the compounding profiles its jobs measured."""
    sweep_dir = Path(sweep_dir)
    runs, steps = collect(sweep_dir)
    write_parquet(runs, sweep_dir / RESULTS)
    write_parquet(steps, sweep_dir / STEPS)
    profiles = compounding_table({job: read_summary(sweep_dir / job) for job in runs.get("job", [])})
    if len(profiles):
        write_parquet(profiles, sweep_dir / COMPOUNDING)
    return runs, steps


class CollectWhenSweepEnds(Callback):
    """Hydra callback (conf/pipeline.yaml): write the tables as soon as every job of a multirun has returned."""

    def on_multirun_end(self, config, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        runs, _ = collect_and_write(sweep_dir)
        print(f"[sweeps.collect] {len(runs)} finished jobs -> {sweep_dir / RESULTS}, {sweep_dir / STEPS}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sweeps.collect", description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir", type=Path, help="a sweep directory, e.g. results/sweeps/fig1_ntp_vs_rl/quick")
    args = parser.parse_args(argv)
    try:
        runs, steps = collect_and_write(args.sweep_dir)
    except (FileNotFoundError, ValueError) as exc:  # missing sweep dir or a corrupted file: name it, no traceback
        print(f"sweeps.collect: {exc}", file=sys.stderr)
        return 1
    unfinished = runs.attrs["unfinished"]
    print(f"{len(runs)} finished jobs -> {args.sweep_dir / RESULTS}; {len(steps)} logged numbers -> "
          f"{args.sweep_dir / STEPS}" + (f"; {len(unfinished)} unfinished skipped: {unfinished}" if unfinished else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
