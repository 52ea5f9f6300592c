"""sweeps.reproduce: the step list, the key-number table and report.md, on a hand-made results tree."""

import json

import pandas as pd
import pytest

from core.ledger import ClaimSpec, Criterion, Outcome, judge
from sweeps.reproduce import SWEEPS, ReproduceConfig, commands, key_numbers, write_report


def test_commands_cover_every_sweep_then_the_ledger_then_the_figures():
    steps = commands(ReproduceConfig(profile="quick", jobs=2, results="R"))
    names = [name for name, _ in steps]
    assert names == [*SWEEPS["quick"], "claims", "figures", "compounding", "checks"]
    assert SWEEPS["quick"] == ["sweep_fig1_ntp_vs_rl_quick", "sweep_fig2_threshold_quick", "sweep_fig3_rl_curves_quick",
                               "sweep_fig4_star_quick", "sweep_scaling_ntp_quick", "sweep_scaling_rl_quick"]
    assert {"sweep_d50", "sweep_ablations", "sweep_fig4_star", "sweep_scaling_linear_laws",
            "sweep_endogenous_rl"} <= set(SWEEPS["paper"])
    assert len(SWEEPS["paper"]) == 11
    fig1 = dict(steps)["sweep_fig1_ntp_vs_rl_quick"]
    assert "hydra.launcher.n_jobs=2" in fig1 and "hydra.sweep.dir=R/sweeps/${name}/${profile}" in fig1
    assert dict(steps)["claims"][-3:] == ["quick", "--out", "R/claims/quick"]
    assert "full" in dict(commands(ReproduceConfig(profile="paper")))["claims"]
    assert dict(steps)["compounding"][-4:] == ["--profile", "quick", "--results-root", "R/sweeps"]
    assert dict(steps)["checks"][-4:] == ["--results-root", "R/sweeps", "--out", "R/checks/quick"]


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
    result = judge(ClaimSpec("avg.x", "seed", "for-all", "s", "s", "c", run=None), Outcome([Criterion("x", 2, 1)]))
    (tmp_path / "claims" / "quick" / "claims.json").write_text(json.dumps({"claims": [vars(result)]}))
    ran = [{"name": "claims", "argv": ["py", "-m", "theory.verify", "--out", "R"], "returncode": 0, "seconds": 3.0}]
    text = write_report(cfg, ran).read_text()
    assert "python -m theory.verify --out R" in text
    assert "![fig2_threshold](../../figures/quick/fig2_threshold.png)" in text
    assert "**fails**" in text and "missing:" in text and '"torch"' in text
    assert "missing: " + str(tmp_path / "checks" / "quick" / "claims.md") in text
    assert "- seed statements: 0 hold, 0 hold with caveat, 1 fail, 0 inconclusive, 0 error" in text
    assert text.index("Verdicts by kind") < text.index("## Commands")
    assert "missing ledger: " + str(tmp_path / "checks" / "quick" / "claims.json") in text
