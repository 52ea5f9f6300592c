"""The one results root: ``$NTP_RL_RESULTS`` if set, else ``results/`` in the project's source tree.

Every default output location (sweeps, stages, claims, checks, figures, report, bench) is below it, so a
command writes to the same place from any working directory.  Hydra configs read it as ``${results_root:}``
(a resolver registered when this module is imported).
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


OmegaConf.register_new_resolver("results_root", lambda: str(results_root()), replace=True)
