"""Content-addressed stages (core/stages.py, sweeps/pipeline.py): keys, reuse, one computation under concurrency,
recovery of a killed holder's claim, and the provenance in summaries and tables."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import sweeps.pipeline as pipeline
from core.stages import CLAIM, claim_is_stale, ensure_stage, stage_key, try_claim
from sweeps.collect import RESULTS, collect_and_write
from tests.test_sweeps import QUIET, TINY


def ntp_key(compose_typed, *overrides: str) -> str:
    cfg = compose_typed("pipeline", [*TINY, *overrides])
    return stage_key("ntp", pipeline.stage_config(cfg.ntp_run_config()))


@pytest.mark.parametrize("override", ["train.lr=0.002", "task.p_cot=0.3", "seed=1", "eval.stop_metric=greedy/accuracy",
                                      "model.width=32"])
def test_a_field_the_ntp_stage_computes_from_changes_its_key(compose_typed, override):
    assert ntp_key(compose_typed, override) != ntp_key(compose_typed)


@pytest.mark.parametrize("override", ["threads=2", "rl.lr=0.5", "rl=star", "rl_eval.every=3", "name=other",
                                      "stages_dir=/elsewhere"])
def test_a_field_the_ntp_stage_does_not_read_keeps_its_key(compose_typed, override):
    assert ntp_key(compose_typed, override) == ntp_key(compose_typed)


def test_a_field_added_later_at_its_default_keeps_every_key(compose_typed):
    cfg = compose_typed("pipeline", [*TINY, "rl.minibatches=1"]).ntp_run_config()
    hashed = pipeline.stage_config(cfg)
    assert "seed" not in hashed and "task.p_cot" not in hashed  # at the default: left out, as if not yet a field
    assert "task.d" in hashed  # TINY sets it away from its default
    stored = stage_key("ntp", hashed)
    assert stage_key("ntp", pipeline.stage_config(dataclasses.replace(cfg, seed=1))) != stored


def test_the_rl_key_follows_the_ntp_stage_content_not_its_path():
    config = {"rl.lr": 0.1, "seed": 0}
    assert stage_key("rl", config | {"init_from": "a"}) != stage_key("rl", config | {"init_from": "b"})
    assert stage_key("rl", config) != stage_key("ntp", config)  # the kind is part of the address
    assert stage_key("rl", {"seed": 0, "rl.lr": 0.1}) == stage_key("rl", config)  # key order does not matter


def write_stage(path: Path, marker: Path, seconds: float) -> dict:
    """A stand-in stage: counts its computations in ``marker``, takes ``seconds``, writes summary.json last."""
    with open(marker, "a") as out:
        out.write(f"{os.getpid()}\n")
    time.sleep(seconds)
    summary = {"final": {"pid": os.getpid()}}
    (path / "summary.json").write_text(json.dumps(summary))
    return summary


def _ensure_in_process(arguments: tuple) -> bool:
    stages_dir, marker = arguments
    return ensure_stage(Path(stages_dir), "ntp", {"x": 1}, lambda path: write_stage(path, Path(marker), 1.0),
                        poll_seconds=0.05).computed


def test_two_processes_needing_one_stage_compute_it_once(tmp_path):
    marker = tmp_path / "computed"
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        computed = pool.map(_ensure_in_process, [(str(tmp_path / "stages"), str(marker))] * 2)
    assert sorted(computed) == [False, True] and len(marker.read_text().split()) == 1


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_killed_holders_claim_is_taken_over_and_the_stage_computed(tmp_path):
    stage_dir = tmp_path / "stages" / "ntp" / stage_key("ntp", {"x": 1})
    stage_dir.mkdir(parents=True)
    (stage_dir / CLAIM).write_text(json.dumps({"pid": dead_pid(), "host": socket.gethostname(), "since": 0}))
    (stage_dir / "metrics.jsonl").write_text('{"step": 1}\n')  # the killed run's partial log
    result = ensure_stage(tmp_path / "stages", "ntp", {"x": 1}, lambda path: write_stage(path, tmp_path / "m", 0),
                          poll_seconds=0.05)
    assert result.computed and result.path == stage_dir and not (stage_dir / CLAIM).exists()


def test_a_claim_from_another_host_is_stale_only_after_a_quiet_spell(tmp_path):
    stage_dir = tmp_path / "stage"
    assert try_claim(stage_dir) and not try_claim(stage_dir)  # the second claim loses
    assert not claim_is_stale(stage_dir, stale_after=60)  # this process holds it, alive
    (stage_dir / CLAIM).write_text(json.dumps({"pid": 1, "host": "another-node", "since": 0}))
    assert not claim_is_stale(stage_dir, stale_after=60)  # files changed just now
    old = time.time() - 120
    for path in stage_dir.iterdir():
        os.utime(path, (old, old))
    assert claim_is_stale(stage_dir, stale_after=60)


def test_a_stage_raising_releases_its_claim(tmp_path):
    def fail(path: Path) -> dict:
        raise FloatingPointError("NTP loss is nan")

    with pytest.raises(FloatingPointError):
        ensure_stage(tmp_path, "ntp", {"x": 1}, fail)
    assert not list(tmp_path.rglob(CLAIM))


def test_a_second_sweep_reuses_the_first_sweeps_stage_and_the_table_says_so(compose_typed, tmp_path):
    stages = f"stages_dir={tmp_path / 'stages'}"
    first = pipeline.run(compose_typed("pipeline", [*TINY, "rl=none", stages]), tmp_path / "a" / "seed=0")
    second = pipeline.run(compose_typed("pipeline", [*TINY, "rl=reinforce", stages]), tmp_path / "b" / "seed=0")
    assert first["stages"]["ntp"]["reused"] is False and second["stages"]["ntp"]["reused"] is True
    assert second["stages"]["rl"]["reused"] is False and second["ntp"] == first["ntp"]
    assert (tmp_path / "a" / "seed=0" / "ntp").resolve() == (tmp_path / "b" / "seed=0" / "ntp").resolve()
    assert len(list((tmp_path / "stages" / "ntp").iterdir())) == 1
    collect_and_write(tmp_path / "b")
    row = pd.read_parquet(tmp_path / "b" / RESULTS).iloc[0]
    assert bool(row["stages.ntp.reused"]) and row["stages.ntp.key"] == first["stages"]["ntp"]["key"]


def test_fig3_style_jobs_sharing_an_ntp_stage_train_it_once_through_the_launcher(tmp_path):
    """GRPO and REINFORCE of one seed, two joblib workers at once: one NTP stage, trained once."""
    result = subprocess.run([sys.executable, "-m", "sweeps.pipeline", "-m", f"hydra.sweep.dir={tmp_path / 'sweep'}",
                             f"stages_dir={tmp_path / 'stages'}", "hydra/launcher=local", *TINY, "train.steps=40",
                             "rl=grpo,reinforce"], capture_output=True, text=True, timeout=300, env=os.environ | QUIET)
    assert result.returncode == 0, result.stderr[-3000:]
    summaries = [json.loads(path.read_text()) for path in (tmp_path / "sweep").glob("*/summary.json")]
    assert len(summaries) == 2 and len(list((tmp_path / "stages" / "ntp").iterdir())) == 1
    assert sorted(s["stages"]["ntp"]["reused"] for s in summaries) == [False, True]
    assert len(list((tmp_path / "stages" / "rl").iterdir())) == 2
