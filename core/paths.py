"""The one results root: ``$NTP_RL_RESULTS`` if set, else ``results/`` in the project's source tree.

Every default output location (sweeps, stages, claims, checks, figures, report, bench) is below it, so a
command writes to the same place from any working directory.  Hydra configs read it as ``${results_root:}``, and
name a sweep job's directory ``${path_safe:${hydra.job.override_dirname}}`` (resolvers registered when this module
is imported).
"""

from __future__ import annotations

import os
from pathlib import Path

from omegaconf import OmegaConf

RESULTS_ENV = "NTP_RL_RESULTS"
SOURCE_TREE = Path(__file__).resolve().parent.parent


def results_root() -> Path:
    """``$NTP_RL_RESULTS``, else <source tree>/results (else ./results when installed without its source tree)."""
    if os.environ.get(RESULTS_ENV):
        return Path(os.environ[RESULTS_ENV]).resolve()
    if (SOURCE_TREE / "pyproject.toml").exists():
        return SOURCE_TREE / "results"
    return Path.cwd().resolve() / "results"


def path_safe(name: str) -> str:
    """``name`` as one path component: a '/' (in an override value such as rl_eval.stop_metric=greedy/accuracy) would
    nest the job's directory one level down, where sweeps.collect does not look, so it is written '%2F'."""
    return name.replace("/", "%2F")


OmegaConf.register_new_resolver("results_root", lambda: str(results_root()), replace=True)
OmegaConf.register_new_resolver("path_safe", path_safe, replace=True)
