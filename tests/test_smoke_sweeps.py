"""Every named sweep runs end to end through the real launcher at the smoke size (conf/debug/smoke.yaml).

Each `conf/experiment/sweep_*.yaml` is run as a user runs it (`python -m sweeps.pipeline -m experiment=... debug=smoke
hydra/launcher=local`), one seed per grid point: every job must finish (NTP, RL unless rl=none) and the sweep must
collect one results row per grid point (the paper sweeps that have a quick twin only with -m slow: SMOKE_RUNS).
This catches a sweep that composes but does not run (a bad override, an RL option a stage rejects, a collection
error) without training anything real.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from sweeps.collect import RESULTS
from sweeps.config import CONF_DIR, PROFILES, register_pipeline_configs, sweep_experiments

EXPERIMENTS = sorted({name for profile in PROFILES for name in sweep_experiments(profile)})
# A paper sweep with a quick twin runs the same stages through the same launcher on a larger grid of other config
# values (which test_sweeps.py composes and validates): slow, run on demand (pytest -m slow), so that the default
# run keeps its time for the sweeps nothing else runs.
QUIET = {"MPLBACKEND": "Agg", "TQDM_DISABLE": "1", "HYDRA_FULL_ERROR": "1"}


def sweeper_params(experiment: str) -> dict[str, str]:
    """The experiment's grid at smoke size: sweeper parameter -> its comma-separated values."""
    register_pipeline_configs()  # the model schemas the `model` group is made of
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        cfg = compose("pipeline", overrides=[f"experiment={experiment}", "debug=smoke"], return_hydra_config=True)
    return {key: str(value) for key, value in cfg.hydra.sweeper.params.items()}


def paper_only_variants() -> tuple[str, ...]:
    """The exception to SMOKE_RUNS' rule: sweep_rl_variants' paper grid sweeps variants its quick twin does not;
    those run by default at one grid point (d = 16, p_cot = 0.25)."""
    quick = set(sweeper_params("sweep_rl_variants_quick")["variant"].split(","))
    only = [v for v in sweeper_params("sweep_rl_variants")["variant"].split(",") if v not in quick]
    return (f"variant={','.join(only)}", "task.d=16", "task.p_cot=0.25")


SMOKE_RUNS = [pytest.param(name, (), id=name, marks=[pytest.mark.slow] if f"{name}_quick" in EXPERIMENTS else [])
              for name in EXPERIMENTS] + [pytest.param("sweep_rl_variants", paper_only_variants(),
                                                       id="sweep_rl_variants-paper_only_variants")]


def grid_size(experiment: str, overrides: tuple[str, ...] = ()) -> int:
    """Jobs of the sweep at smoke size: the product of its sweeper parameters' value counts (a command-line override
    replaces a parameter's values), seed fixed to one."""
    params = sweeper_params(experiment) | dict(override.split("=", 1) for override in overrides)
    return int(pd.Series([len(values.split(",")) for values in params.values()]).prod()) if params else 1


@pytest.mark.parametrize("experiment, overrides", SMOKE_RUNS)
def test_every_named_sweep_runs_end_to_end_at_smoke_size(experiment, overrides, tmp_path):
    sweep_dir = tmp_path / experiment
    result = subprocess.run([sys.executable, "-m", "sweeps.pipeline", "-m", f"experiment={experiment}", "debug=smoke",
                             "hydra/launcher=local", f"hydra.sweep.dir={sweep_dir}", *overrides],
                            capture_output=True, text=True, timeout=600, env=os.environ | QUIET)
    assert result.returncode == 0, result.stderr[-3000:]
    runs = pd.read_parquet(sweep_dir / RESULTS)
    assert len(runs) == grid_size(experiment, overrides) and runs["job"].is_unique
    assert (runs["train.steps"] == 4).all() and (runs["seed"] == 0).all()  # the smoke size won over the experiment
    with_rl = runs[runs["rl.algo"] != "none"]
    if len(with_rl):  # an NTP-only sweep (rl=none) has no RL columns at all
        assert with_rl["rl.final.greedy/accuracy"].between(0, 1).all()
    assert all((sweep_dir / job / "summary.json").exists() for job in runs["job"])
