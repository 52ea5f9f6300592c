"""sweeps/status.py: job states, counts and the time-left estimate on hand-made job trees (mtimes set with
os.utime), and the expected job directory names against what Hydra itself produces (its own sweeper and naming
code, and a real multirun of a quick experiment)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hydra._internal.config_loader_impl import get_overrides_dirname
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.overrides_parser import OverridesParser

from sweeps.status import (
    SweepPlan,
    TimeLeft,
    compose_experiment,
    directory_plan,
    experiment_plan,
    job_names,
    job_status,
    main,
    plan_from_config,
    remaining,
    report,
    sweep_status,
)

NOW = float(int(time.time()))  # every mtime below is set relative to it, after the last write to its directory
MINUTE = 60.0
QUIET = {"MPLBACKEND": "Agg", "TQDM_DISABLE": "1", "HYDRA_FULL_ERROR": "1"}


def write(path: Path, text: str = "{}") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def age(top: Path, seconds: float) -> None:
    """Set the mtime of ``top`` and everything under it to NOW - seconds (children first: creating a file touches
    its directory)."""
    for directory, _, files in os.walk(top, topdown=False):
        for path in (*(os.path.join(directory, name) for name in files), directory):
            os.utime(path, (NOW - seconds, NOW - seconds), follow_symlinks=False)


def finished_job(job: Path, ntp_seconds: float, rl: dict, seconds_ago: float) -> None:
    write(job / ".hydra" / "config.yaml", "seed: 0")
    write(job / "ntp" / "metrics.jsonl", '{"step": 1}\n')
    write(job / "summary.json", json.dumps({"config": {}, "ntp": {}, "ntp_seconds": ntp_seconds, "rl": rl}))
    age(job, seconds_ago)


def unfinished_job(job: Path, started_ago: float, active_ago: float, summary: str | None = None) -> None:
    """Hydra's files written at ``started_ago``, the NTP metrics last appended at ``active_ago`` (and a summary.json
    with text ``summary`` at ``active_ago``)."""
    write(job / ".hydra" / "config.yaml", "seed: 0")
    write(job / "ntp" / "metrics.jsonl", '{"step": 1}\n')
    if summary is not None:
        write(job / "summary.json", summary)
    age(job, started_ago)
    for path in [job / "ntp" / "metrics.jsonl"] + [job / "summary.json"] * (summary is not None):
        os.utime(path, (NOW - active_ago, NOW - active_ago))


@pytest.fixture
def sweep(tmp_path) -> SweepPlan:
    """Six expected jobs: two finished (120 s and 300 s), one running, one killed, one pending, and one whose
    summary.json is being written (not JSON yet); plus a job directory the grid does not name."""
    sweep_dir = tmp_path / "sweep"
    finished_job(sweep_dir / "seed=0", ntp_seconds=100, rl={"seconds": 20}, seconds_ago=4000)
    finished_job(sweep_dir / "seed=1", ntp_seconds=300, rl={}, seconds_ago=3000)  # rl.algo = none
    unfinished_job(sweep_dir / "seed=2", started_ago=600, active_ago=1 * MINUTE)
    unfinished_job(sweep_dir / "seed=3", started_ago=5000, active_ago=3600)
    unfinished_job(sweep_dir / "seed=5", started_ago=900, active_ago=2, summary='{"config": {"task.d": 8}, "nt')
    unfinished_job(sweep_dir / "seed=9", started_ago=50, active_ago=50)  # an older grid's job
    return SweepPlan("sweep_test", sweep_dir, tuple(f"seed={seed}" for seed in range(6)))


def test_states_counts_and_times_of_a_hand_made_sweep(sweep):
    status = sweep_status(sweep, stale_after=10 * MINUTE, now=NOW)
    states = {job.name: job.state for job in status.jobs}
    assert states == {"seed=0": "finished", "seed=1": "finished", "seed=2": "running", "seed=3": "stale",
                      "seed=4": "pending", "seed=5": "running"}  # a half-written summary is not a crash
    seconds = {job.name: job.seconds for job in status.jobs}
    assert seconds["seed=0"] == 120 and seconds["seed=1"] == 300  # ntp_seconds + rl.seconds, rl may be {}
    assert seconds["seed=2"] == pytest.approx(600, abs=1e-3)  # running: from its earliest file, not its last
    assert status.outside_grid == ("seed=9",)
    # one cell: pending 1 + stale 1 (resuming redoes it) at median(120, 300) = 210 s each; the running jobs have
    # spent 600 s and 900 s, past the median, and add nothing
    assert remaining(status.jobs, n_jobs=2) == TimeLeft(2 * 210 / 2, timed=4, untimed=0)
    assert remaining(status.jobs, n_jobs=1).seconds == pytest.approx(2 * 210)
    table = report([status], n_jobs=2, now=NOW).splitlines()
    # finished running stale pending, elapsed from the oldest job's first file (5000 s ago) to now, time left 210 s
    assert table[1].split() == ["sweep_test", "2", "2", "1", "1", "1:23:20", "0:03:30"]
    assert table[-1].split()[1:] == ["2", "2", "1", "1", "1:23:20", "0:03:30"]


def test_time_left_comes_from_each_jobs_own_cell_and_untimed_cells_are_not_guessed(tmp_path):
    # A scaling sweep: d = 3 jobs take 5 s, d = 10 jobs 1400 s. The old estimate (median over the whole sweep)
    # put the 3 jobs left at d = 10 at 5 s each.
    names = [f"seed={seed},task.d={d}" for d in (3, 10, 12) for seed in range(3)]
    cells = [name.split(",")[1] for name in names]
    for seed in range(3):
        finished_job(tmp_path / f"seed={seed},task.d=3", ntp_seconds=5, rl={}, seconds_ago=3000)
    finished_job(tmp_path / "seed=0,task.d=10", ntp_seconds=1400, rl={}, seconds_ago=100)
    unfinished_job(tmp_path / "seed=1,task.d=10", started_ago=400, active_ago=5)  # running for 400 s
    jobs = sweep_status(SweepPlan("scaling", tmp_path, tuple(names), tuple(cells)), 10 * MINUTE, NOW).jobs
    left = remaining(jobs, n_jobs=1, cells=cells)
    assert left.seconds == pytest.approx((1400 - 400) + 1400, abs=1e-3)  # seed 1 running, seed 2 pending
    assert (left.timed, left.untimed) == (2, 3)  # the three d = 12 jobs: their cell has no finished job
    assert str(left) == "0:40:00 + 3 untimed"
    assert remaining(jobs, n_jobs=1).untimed == 0  # without cells: one cell, the sweep-wide median (the old way)
    with pytest.raises(ValueError, match="2 cells for 9 jobs"):
        remaining(jobs, n_jobs=1, cells=cells[:2])


def test_the_stale_threshold_decides_running_against_killed(sweep):
    states = {job.name: job.state for job in sweep_status(sweep, stale_after=30, now=NOW).jobs}
    assert states["seed=2"] == "stale" and states["seed=5"] == "running"  # metrics 60 s old; writing 2 s ago


def test_a_linked_stage_counts_for_activity_but_not_for_the_start(tmp_path):
    job, shared = tmp_path / "sweep" / "seed=0", tmp_path / "shared_rl"
    write(shared / "old.txt")
    write(shared / "metrics.jsonl")
    age(shared, 7200)
    os.utime(shared / "metrics.jsonl", (NOW - 60, NOW - 60))  # another job is writing the shared stage
    write(job / ".hydra" / "config.yaml")
    (job / "rl").symlink_to(shared, target_is_directory=True)
    (job / "dangling").symlink_to(tmp_path / "removed_stage", target_is_directory=True)  # never a crash
    age(job, 3600)
    status = job_status(job, stale_after=10 * MINUTE, now=NOW)
    assert status.state == "running" and status.seconds == pytest.approx(3600, abs=1e-3)
    (job / "rl").unlink()
    age(job, 3600)
    assert job_status(job, stale_after=10 * MINUTE, now=NOW).state == "stale"


def test_unreadable_summaries_and_missing_durations_never_crash(tmp_path):
    job = tmp_path / "seed=0"
    unfinished_job(job, started_ago=10, active_ago=10)
    write(job / "summary.json", "[1, 2]")  # JSON, but not a summary
    assert job_status(job, stale_after=MINUTE, now=NOW).state == "running"
    write(job / "summary.json", '{"config": {}}')  # finished, duration unknown: it cannot enter the median
    status = job_status(job, stale_after=MINUTE, now=NOW)
    assert (status.state, status.seconds) == ("finished", None)
    other = job_status(tmp_path / "seed=1", stale_after=MINUTE, now=NOW)
    assert other.state == "pending" and str(remaining([status, other], n_jobs=2)) == "unknown"


def test_time_left_is_unknown_until_a_job_finishes_and_zero_when_none_is_left(tmp_path):
    unfinished_job(tmp_path / "a" / "seed=0", started_ago=10, active_ago=10)
    waiting = sweep_status(SweepPlan("a", tmp_path / "a", ("seed=0", "seed=1")), MINUTE, NOW)
    finished_job(tmp_path / "b" / "seed=0", ntp_seconds=7, rl={}, seconds_ago=10)
    done = sweep_status(SweepPlan("b", tmp_path / "b", ("seed=0",)), MINUTE, NOW)
    lines = report([waiting, done], n_jobs=2, now=NOW).splitlines()
    assert lines[1].endswith("unknown") and lines[2].endswith("0:00:00")
    assert lines[-1].endswith("unknown")  # a sweep with work left and no duration: the total is unknown too
    assert remaining(done.jobs, 2) == TimeLeft(0.0, 0, 0)


def hydra_names(params: dict, task_overrides: list[str], exclude: list[str]) -> list[str]:
    """Job directory names by Hydra's own code: its basic sweeper's job list, each named by get_overrides_dirname."""
    parser = OverridesParser.create()
    [jobs] = BasicSweeper.split_arguments(parser.parse_overrides([f"{k}={v}" for k, v in params.items()]
                                                                 + task_overrides), None)
    return [get_overrides_dirname(parser.parse_overrides(job), exclude, ",", "=") for job in jobs]


def test_job_names_follow_hydras_own_sweeper_and_naming():
    # Whole lines are sorted ('rl.kl_beta=..' before 'rl=..'), floats are re-printed (0.50 -> 0.5), a
    # command-line value replaces the grid's, the excluded experiment key is not named.
    params = {"rl": "grpo,star", "rl.kl_beta": "0.50,1", "seed": "0,1,2", "task.d": "8"}
    overrides = ["experiment=sweep_x", "debug=smoke", "seed=3"]
    names = job_names(params, overrides, ["experiment"])
    assert list(names) == hydra_names(params, overrides, ["experiment"])
    assert names[0] == "debug=smoke,rl.kl_beta=0.5,rl=grpo,seed=3,task.d=8" and len(names) == 4


def test_a_quick_sweep_inherits_the_grid_keys_of_its_paper_size_parent(tmp_path):
    # sweep_fig2_threshold_quick only lists task.p_cot and seed: recipe comes from sweep_fig2_threshold, which a
    # reading of the quick yaml alone would miss.
    cfg = compose_experiment("sweep_fig2_threshold_quick")
    plan = experiment_plan("sweep_fig2_threshold_quick", tmp_path)
    assert "recipe" in cfg.hydra.sweeper.params and all(name.startswith("recipe=") for name in plan.jobs)
    assert plan.sweep_dir == tmp_path / cfg.name / cfg.profile


def test_expected_names_are_the_directories_a_real_hydra_multirun_makes(tmp_path):
    # A real multirun of a quick experiment at smoke size; threads=0 fails every job in its config check, right after
    # Hydra has made the job's directory, so the names are Hydra's and nothing is trained. The names come from Hydra's
    # config loader, not the launcher: the in-process basic launcher spares the local one's two worker processes.
    sweep_dir = tmp_path / "fig3"
    # a '/' in a value would nest the job directory (sweeps.collect would not find it): written %2F in the name
    overrides = ["debug=smoke", "threads=0", "rl_eval.stop_metric=greedy/accuracy"]
    subprocess.run([sys.executable, "-m", "sweeps.pipeline", "-m", "experiment=sweep_fig3_rl_curves_quick",
                    *overrides, "hydra/launcher=basic", f"hydra.sweep.dir={sweep_dir}"],
                   capture_output=True, text=True, timeout=300, env=os.environ | QUIET)
    made = sorted(path.name for path in sweep_dir.iterdir() if path.is_dir())
    from_conf = plan_from_config(compose_experiment("sweep_fig3_rl_curves_quick", overrides), sweep_dir)
    from_multirun = directory_plan(sweep_dir)
    assert made and sorted(from_conf.jobs) == made and from_multirun.jobs == from_conf.jobs
    assert all("rl_eval.stop_metric=greedy%2Faccuracy" in name for name in made)
    # a job's cell is its name without the seed: the replicates of one grid point share it
    assert from_multirun.cells == tuple(",".join(item for item in job.split(",") if not item.startswith("seed="))
                                        for job in from_multirun.jobs)
    status = sweep_status(from_multirun, stale_after=10 * MINUTE, now=time.time())
    assert {job.state for job in status.jobs} == {"running"} and not status.outside_grid


def test_the_command_line_reads_a_results_root(tmp_path, capsys):
    plan = experiment_plan("sweep_fig4_star_quick", tmp_path)
    finished_job(plan.sweep_dir / plan.jobs[0], ntp_seconds=30, rl={"seconds": 10}, seconds_ago=0)
    assert main(["sweep_fig4_star_quick", "--root", str(tmp_path), "--jobs"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[:5] == ["sweep_fig4_star_quick", "1", "0", "0", str(len(plan.jobs) - 1)]
    assert f"finished     0:00:40  {plan.jobs[0]}" in lines[2]
    assert main([str(plan.sweep_dir)]) == 0  # the sweep dir itself: its <name>/<profile> names the experiment
    assert capsys.readouterr().out.splitlines()[1].split()[1] == "1"
    assert main(["no_such_sweep", "--root", str(tmp_path)]) == 1


@pytest.mark.slow
def test_a_finished_smoke_sweep_reads_as_finished_with_its_durations(tmp_path):
    sweep_dir = tmp_path / "fig1"
    result = subprocess.run([sys.executable, "-m", "sweeps.pipeline", "-m", "experiment=sweep_fig1_ntp_vs_rl_quick",
                             "debug=smoke", "hydra/launcher=local", f"hydra.sweep.dir={sweep_dir}"],
                            capture_output=True, text=True, timeout=600, env=os.environ | QUIET)
    assert result.returncode == 0, result.stderr[-3000:]
    status = sweep_status(directory_plan(sweep_dir), stale_after=10 * MINUTE, now=NOW)
    assert {job.state for job in status.jobs} == {"finished"} and not status.outside_grid
    for job in status.jobs:
        summary = json.loads((sweep_dir / job.name / "summary.json").read_text())
        assert job.seconds == pytest.approx(summary["ntp_seconds"] + summary["rl"]["seconds"])
