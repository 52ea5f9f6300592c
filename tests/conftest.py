"""Shared fixtures: composing the Hydra configs of an entry point without running it; one torch thread.

The results root (core/paths.py) is a fresh temporary directory for the whole test session, set before any suite
module is imported: no test writes into the project's results/, and subprocesses inherit it.
"""

import os
import tempfile
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from core.runio import torch_threads

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
os.environ["NTP_RL_RESULTS"] = tempfile.mkdtemp(prefix="ntp_rl_results_")


@pytest.fixture
def compose_typed():
    """compose_typed(config_name, overrides) -> the validated dataclass config (runs __post_init__)."""

    def _compose(config_name: str, overrides: list[str]):
        with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
            cfg = compose(config_name, overrides=overrides)
        return OmegaConf.to_object(cfg)

    return _compose


@pytest.fixture
def one_thread():
    """One torch thread for the test, restored after: the tests that use it run small solves, where extra threads
    only contend with the other test worker (modules opt in with ``pytestmark = pytest.mark.usefixtures(...)``)."""
    with torch_threads(1):
        yield
