"""sweeps.reproduce: the step list, the key-number table and report.md, on a hand-made results tree."""

import json
import sys

import pandas as pd
import pytest

from core.ledger import ClaimSpec, Criterion, Outcome, judge
from sweeps.reproduce import (
    EXPECTED_CORE_SECONDS,
    SWEEPS,
    ReproduceConfig,
    Step,
    commands,
    key_numbers,
    lanes,
    run_all,
    stage_use,
    write_report,
)


def test_commands_cover_every_sweep_and_the_ledger_costliest_first_then_the_readers():
    steps = commands(ReproduceConfig(profile="quick", jobs=2, results="R"))
    named = {step.name: step.argv for step in steps}
    independent = [step.name for step in steps if step.independent]
    assert sorted(independent) == sorted([*SWEEPS["quick"], "claims"])
    assert [step.name for step in steps if not step.independent] == ["figures", "checks"]
    assert steps[:len(independent)] == [step for step in steps if step.independent]  # readers come last
    expected = [EXPECTED_CORE_SECONDS[name] for name in independent]
    assert expected == sorted(expected, reverse=True)  # longest first: list scheduling on the lanes
    assert SWEEPS["quick"] == ["sweep_fig1_ntp_vs_rl_quick", "sweep_fig2_threshold_quick", "sweep_fig3_rl_curves_quick",
                               "sweep_fig4_star_quick", "sweep_rl_variants_quick", "sweep_scaling_ntp_quick",
                               "sweep_scaling_rl_quick"]
    assert {"sweep_d50", "sweep_ablations", "sweep_fig4_star", "sweep_scaling_linear_laws",
            "sweep_endogenous_rl"} <= set(SWEEPS["paper"]) <= set(EXPECTED_CORE_SECONDS)
    assert len(SWEEPS["paper"]) == 15
    fig1 = named["sweep_fig1_ntp_vs_rl_quick"]
    # two lanes of one core each: every step runs single-job
    assert "hydra.launcher.n_jobs=1" in fig1 and "hydra.sweep.dir=R/sweeps/${name}/${profile}" in fig1
    assert "stages_dir=R/stages" in fig1 and named["claims"][3:5] == ["--jobs", "1"]
    assert named["claims"][-3:] == ["quick", "--out", "R/claims/quick"]
    one_lane = {step.name: step.argv for step in commands(ReproduceConfig(profile="quick", jobs=1, results="R"))}
    assert "hydra.launcher.n_jobs=1" in one_lane["sweep_fig1_ntp_vs_rl_quick"]
    slurm = {step.name: step.argv for step in commands(ReproduceConfig(profile="quick", launcher="slurm"))}
    assert lanes(ReproduceConfig(launcher="slurm")) == 1 and slurm["claims"][3:5] == ["--jobs", "2"]
    assert "full" in {step.name: step.argv for step in commands(ReproduceConfig(profile="paper"))}["claims"]
    assert named["checks"][-4:] == ["--results-root", "R/sweeps", "--out", "R/checks/quick"]


def test_lanes_run_independent_steps_side_by_side_and_account_for_idle_cores(tmp_path):
    sleep = [sys.executable, "-c", "import time; time.sleep(1)"]
    spin = [sys.executable, "-c", "import time\nend = time.time() + 1\nwhile time.time() < end: pass"]
    steps = [Step("a", sleep, True), Step("b", sleep, True), Step("after", spin, False)]
    ran, use = run_all(steps, 2, tmp_path)
    assert [r["name"] for r in ran] == ["a", "b", "after"] and all(r["returncode"] == 0 for r in ran)
    assert use["wall_seconds"] < 1.9  # side by side, not one after the other
    assert use["idle_core_seconds"] > 1.5  # two sleeping lanes: the cores were idle, and the account says so
    assert (tmp_path / "a.log").exists()


def test_bad_profile_names_the_field():
    with pytest.raises(ValueError, match="profile"):
        ReproduceConfig(profile="fast")


def test_key_numbers_group_by_the_varying_config_and_average_over_seeds(tmp_path):
    runs = pd.DataFrame({"task.d": [8, 8, 12], "task.p_cot": [0.2] * 3, "seed": [0, 1, 0],
                         "ntp.greedy/accuracy": [0.5, 0.6, 0.4], "rl.final.greedy/accuracy": [1.0, 0.8, 0.9]})
    path = tmp_path / "results.parquet"
    runs.to_parquet(path)
    table = key_numbers(path).splitlines()
    assert table[0] == "| task.d | n | ntp.greedy/accuracy | rl.final.greedy/accuracy |"
    assert table[2] == "| 8 | 2 | 0.550 ± 0.071 | 0.900 ± 0.141 |"
    assert table[3] == "| 12 | 1 | 0.400 ± 0.000 | 0.900 ± 0.000 |"


def test_report_lists_commands_figures_claims_and_missing_tables(tmp_path):
    cfg = ReproduceConfig(profile="quick", results=str(tmp_path))
    (tmp_path / "figures" / "quick").mkdir(parents=True)
    (tmp_path / "figures" / "quick" / "fig2_threshold.png").write_bytes(b"png")
    (tmp_path / "claims" / "quick").mkdir(parents=True)
    (tmp_path / "claims" / "quick" / "claims.md").write_text("# Claims ledger\n| `avg.x` | seed | **fails** |\n")
    result = judge(ClaimSpec("avg.x", "source", "for-all", "s", "s", "c", run=None), Outcome([Criterion("x", 2, 1)]))
    (tmp_path / "claims" / "quick" / "claims.json").write_text(json.dumps({"claims": [vars(result)]}))
    ran = [{"name": "claims", "argv": ["py", "-m", "theory.verify", "--out", "R"], "returncode": 0, "seconds": 3.0}]
    text = write_report(cfg, ran).read_text()
    assert "python -m theory.verify --out R" in text
    assert "![fig2_threshold](../../figures/quick/fig2_threshold.png)" in text
    assert "**fails**" in text and "missing:" in text and '"torch"' in text
    assert "missing: " + str(tmp_path / "checks" / "quick" / "claims.md") in text
    assert "- source statements: 0 hold, 0 hold with caveat, 1 fail, 0 inconclusive, 0 error" in text
    assert text.index("Verdicts by kind") < text.index("## Commands")
    assert "missing ledger: " + str(tmp_path / "checks" / "quick" / "claims.json") in text


def test_the_report_counts_computed_and_reused_stages_per_sweep(tmp_path):
    sweep = tmp_path / "sweeps" / "fig3_rl_curves" / "quick"
    sweep.mkdir(parents=True)
    pd.DataFrame({"seed": [0, 0, 1], "stages.ntp.reused": [False, True, False],
                  "stages.rl.reused": [False, False, True]}).to_parquet(sweep / "results.parquet")
    table = stage_use(tmp_path, "quick").splitlines()
    assert table[0] == "| sweep | jobs | ntp computed | ntp reused | rl computed | rl reused |"
    assert table[2] == "| fig3_rl_curves | 3 | 2 | 1 | 2 | 1 |"
