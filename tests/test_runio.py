"""The run-directory contract of core/runio.py (docs/design.md "Run directory"): opening a run skips a finished one
or starts it over, closing it writes summary.json last with the config and the environment."""

import dataclasses

import pytest
import torch

from core.runio import METRICS, SUMMARY, begin_run, config_record, field_defaults, finish_run, read_summary


@dataclasses.dataclass
class RunStub:
    """The fields the contract reads of a producer's config."""

    seed: int = 7
    """torch's global seed for the run"""
    threads: int = 1
    """torch intra-op threads"""
    skip_finished: bool = True
    """return a finished run's summary instead of redoing it"""


@pytest.fixture
def isolated_torch():
    """begin_run sets torch's global seed and threads: restore both after the test."""
    threads = torch.get_num_threads()
    with torch.random.fork_rng():
        yield
    torch.set_num_threads(threads)


def test_a_run_starts_over_then_finishes_then_is_skipped(tmp_path, isolated_torch):
    cfg = RunStub()
    (tmp_path / METRICS).write_text('{"step": 99}\n')  # an interrupted earlier attempt
    assert begin_run(tmp_path, cfg) is None
    assert not (tmp_path / METRICS).exists()
    assert torch.initial_seed() == cfg.seed and torch.get_num_threads() == cfg.threads

    written = finish_run(tmp_path, {"final": {"greedy/accuracy": 0.5}}, config_record(cfg))
    assert set(written) == {"final", "config", "environment"}
    assert written["config"] == {"seed": 7, "threads": 1, "skip_finished": True}
    assert {"python", "torch", "numpy", "git_commit"} <= set(written["environment"])
    assert read_summary(tmp_path) == written
    assert [path.name for path in tmp_path.iterdir()] == [SUMMARY]  # no temporary file is left behind

    (tmp_path / METRICS).write_text('{"step": 1}\n')
    assert begin_run(tmp_path, cfg) == written  # finished: returned as is, nothing redone or removed
    assert (tmp_path / METRICS).exists()
    assert begin_run(tmp_path, dataclasses.replace(cfg, skip_finished=False)) is None  # asked to redo it
    assert not (tmp_path / METRICS).exists()
    assert not (tmp_path / SUMMARY).exists()  # a redo interrupted midway must not look finished


def test_a_summary_with_a_non_finite_number_is_refused_and_nothing_looks_finished(tmp_path):
    with pytest.raises(ValueError):
        finish_run(tmp_path, {"final": {"loss": float("nan")}}, {})
    assert list(tmp_path.iterdir()) == []



def test_a_finished_run_made_by_another_config_is_refused_naming_the_field(tmp_path, isolated_torch):
    cfg = RunStub(seed=3, threads=1, skip_finished=True)
    assert begin_run(tmp_path, cfg) is None
    finish_run(tmp_path, {"final": {}}, config_record(cfg))
    assert begin_run(tmp_path, dataclasses.replace(cfg, threads=2)) is not None  # threads change no number
    with pytest.raises(ValueError, match=r"different config \(seed: 3 -> 4\)"):
        begin_run(tmp_path, dataclasses.replace(cfg, seed=4))


@dataclasses.dataclass
class Inner:
    lr: float = 0.1
    """a nested field"""


@dataclasses.dataclass
class GrownStub(RunStub):
    """RunStub after a schema change: a nested config and a new top-level field, both added later."""

    inner: Inner = dataclasses.field(default_factory=Inner)
    """a nested config added after the run"""
    new_option: int = 0
    """a field added after the run, whose default keeps the earlier behaviour"""


def test_a_field_added_after_the_run_is_the_same_config_only_at_its_default(tmp_path, isolated_torch):
    old = RunStub(seed=5)
    assert begin_run(tmp_path, old) is None
    finish_run(tmp_path, {"final": {}}, config_record(old))  # made before inner.* and new_option existed
    assert field_defaults(GrownStub()) == {"seed": 7, "threads": 1, "skip_finished": True, "inner.lr": 0.1,
                                           "new_option": 0}
    assert begin_run(tmp_path, GrownStub(seed=5)) is not None  # the new fields at their defaults: reused
    with pytest.raises(ValueError, match=r"new_option: None -> 2"):
        begin_run(tmp_path, GrownStub(seed=5, new_option=2))
    with pytest.raises(ValueError, match=r"inner.lr: None -> 0.5"):
        begin_run(tmp_path, GrownStub(seed=5, inner=Inner(lr=0.5)))
    with pytest.raises(ValueError, match=r"seed: 5 -> 6"):  # a field the run had is compared as before
        begin_run(tmp_path, GrownStub(seed=6))
