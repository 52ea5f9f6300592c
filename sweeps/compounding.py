"""The compounding-error profile of a trained model, measured by the sweep job that trains it.

Compounding error (docs/research/endogenous_reward_bounds.md §4.1): for the NTP and the RL model of a job,
``toy.compounding.checkpoint_error_profile`` measures the teacher-forced per-step error ε_t of the chain (t = 2..d,
conditioned on the long mode), the exact whole-chain failure F = 1 − E_x Π_t (1 − ε_t(x)), and the failures of
forced-long samples.  Besides the model's numbers a profile holds ``independent_failure`` = 1 − Π_t (1 − ε̄_t): the
failure if the steps erred independently with the measured mean rates, which the exact F is compared with.

A job with ``compounding_prompts > 0`` (the fig1, d50 and ablation sweeps set it) measures each of its stages
(`stage_profile`; about 2 s per model on one thread at 4096 prompts), keeps the profile next to the stage's
checkpoint (``compounding.json``: a stage reused by another job is not measured again) and in its summary.json;
``sweeps.collect`` writes one row per (job, stage) to ``<sweep dir>/compounding.parquet``, which sweeps.checks
(``parity.compounding.*``) reads.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from core.runio import atomic_write_json
from toy.compounding import checkpoint_error_profile

COMPOUNDING = "compounding.parquet"
STAGE_PROFILE = "compounding.json"
PROFILE_SEED = 2024  # held-out prompts and forced-long samples of the profile (not the training seed)
MEASUREMENT = ("prompts", "seed")  # what a stored profile was measured with (not table columns)


def stage_profile(stage_dir: Path, prompts: int, seed: int = PROFILE_SEED) -> dict:
    """The compounding profile of the model in ``stage_dir``, measured once per (prompts, seed) and kept there."""
    path = Path(stage_dir) / STAGE_PROFILE
    if path.exists():
        stored = json.loads(path.read_text())
        if (stored.get("prompts"), stored.get("seed")) == (prompts, seed):
            return {key: value for key, value in stored.items() if key not in MEASUREMENT}
    profile = checkpoint_error_profile(stage_dir, prompts, seed)
    per_step = np.asarray(profile.pop("per_step_error"))
    profile |= {"max_step_error": float(per_step.max()), "first_step_error": float(per_step[0]),
                "independent_failure": float(1 - np.prod(1 - per_step))}
    atomic_write_json(path, {**profile, "prompts": prompts, "seed": seed})
    return profile


def compounding_table(summaries: dict[str, dict]) -> pd.DataFrame:
    """One row per (job, stage) from the ``compounding`` entries of finished jobs' summaries (job name -> summary)."""
    return pd.DataFrame([{"job": job, "stage": stage, **profile} for job, summary in summaries.items()
                         for stage, profile in summary.get("compounding", {}).items()])
