"""Compounding error of every trained model of a sweep: ``python -m sweeps.compounding [--profile paper]``.

Issue 5, learned part (2): for the NTP and the RL checkpoint of every finished job of the sweeps in
``COMPOUNDING_SWEEPS`` that exist at the profile, ``toy.compounding.checkpoint_error_profile`` measures the
teacher-forced per-step error ε_t of the chain (t = 2..d, conditioned on the long mode), the exact whole-chain
failure F = 1 − E_x Π_t (1 − ε_t(x)), and the failures of forced-long samples.  One row per (job, stage) goes to
``<sweep dir>/compounding.parquet``; sweeps.checks (``parity.compounding.*``) reads it.  Besides the model's
numbers a row holds ``independent_failure`` = 1 − Π_t (1 − ε̄_t): the failure if the steps erred independently
with the measured mean rates, which the exact F is compared with.

It reads checkpoints only (no training); about 2 s per model on one thread at 4096 prompts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from core.runio import SUMMARY
from sweeps.collect import RESULTS_ROOT, MissingTable, job_dirs, write_parquet
from sweeps.config import present_sweeps
from toy.compounding import checkpoint_error_profile

COMPOUNDING = "compounding.parquet"
# Sweeps with trained chains at several d (fig1, d50) and with broken chains (the ablations: too-early, T = 2).
COMPOUNDING_SWEEPS = ("fig1_ntp_vs_rl", "d50", "ablations")
STAGES = ("ntp", "rl")


def compounding_command(profile: str) -> str:
    return f"python -m sweeps.compounding --profile {profile}"


def sweep_compounding(sweep_dir: Path, prompts: int = 4096, seed: int = 2024) -> pd.DataFrame:
    """One row per finished stage (job × {ntp, rl}) of ``sweep_dir``: its chain_error_profile numbers."""
    rows = []
    for job in job_dirs(sweep_dir):
        if not (job / SUMMARY).exists():
            continue  # unfinished job: sweeps.collect leaves it out too
        for stage in STAGES:
            if not (job / stage / SUMMARY).exists():
                continue  # rl.algo = none, or a stage that did not finish
            profile = checkpoint_error_profile(job / stage, prompts, seed)
            per_step = np.asarray(profile.pop("per_step_error"))
            rows.append({"job": job.name, "stage": stage, **profile, "max_step_error": float(per_step.max()),
                         "first_step_error": float(per_step[0]),
                         "independent_failure": float(1 - np.prod(1 - per_step))})
    return pd.DataFrame(rows)


def load_compounding(experiment: str, profile: str, results_root: Path = RESULTS_ROOT) -> pd.DataFrame:
    """The compounding table of a sweep, or MissingTable naming the command that makes it."""
    path = Path(results_root) / experiment / profile / COMPOUNDING
    if not path.exists():
        raise MissingTable(f"{path} is missing: make it with `{compounding_command(profile)}` "
                           f"(after the sweep itself has run)")
    return pd.read_parquet(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sweeps.compounding", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=("quick", "paper"), default="quick", help="sweep size to read")
    parser.add_argument("--results-root", type=Path, default=RESULTS_ROOT, help="root of the sweep directories")
    parser.add_argument("--prompts", type=int, default=4096, help="held-out prompts per model")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    for name in present_sweeps(COMPOUNDING_SWEEPS, args.profile):
        sweep_dir = args.results_root / name / args.profile
        try:
            table = sweep_compounding(sweep_dir, args.prompts)
        except (FileNotFoundError, ValueError) as exc:  # no sweep yet, or an unreadable checkpoint: name it
            print(f"sweeps.compounding: {exc}", file=sys.stderr)
            return 1
        write_parquet(table, sweep_dir / COMPOUNDING)
        print(f"{len(table)} models -> {sweep_dir / COMPOUNDING}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
