"""Ledger tables and figures 5-8: theory.verify stores each claim's tables (and clears stale ones), the tables are
the numbers behind the verdicts, every figure is a byte-stable function of small synthetic tables, and a missing or
damaged table is reported with the file and the command that makes it."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection

from core.ledger import REGISTRY, Context, evaluate
from figures import fig5_average_reward, fig6_irl, fig7_error_bounds, fig8_iterative_improvement
from figures.__main__ import LEDGER_FIGURES, main
from figures.common import MissingTable, UnreadableTable, build_from_ledger, load_ledger, save
from sweeps.reproduce import ReproduceConfig, commands
from theory import (
    bounds_thm1_claims,  # noqa: F401  (registers the tabular Theorem 1 claim)
    irl_thm3_claims,
)
from theory.iterative_improvement import response_law, sharpened_law
from theory.verify import main as verify_main

SHARPENING = "irl.thm3_kl_is_sequence_sharpening"
TABULAR_THM1 = "bounds.thm1_at_trained_ntp_model"


@pytest.fixture(scope="module")
def sharpening_ledger(tmp_path_factory):
    """A real `--only` ledger run of the Theorem 3 sharpening claim (about a second) into <root>/quick, with a stale
    table planted for that claim and tables of claims whose ids extend it (which must survive)."""
    out = tmp_path_factory.mktemp("ledger") / "quick"
    stale = out / "tables" / f"{SHARPENING}.old_name.parquet"
    neighbours = [out / "tables" / f"{SHARPENING}_v2.rows.parquet", out / "tables" / f"{SHARPENING}.sub.rows.parquet"]
    for path in (stale, *neighbours):
        path.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"x": [1.0]}).to_parquet(path)
    assert verify_main(["--only", f"^{re.escape(SHARPENING)}$", "--out", str(out)]) == 0
    return out, stale, neighbours


def test_verify_writes_the_tables_lists_them_and_removes_stale_ones(sharpening_ledger):
    out, stale, neighbours = sharpening_ledger
    entry = json.loads((out / "claims.json").read_text())["claims"][0]
    assert entry["tables"] == {name: f"tables/{SHARPENING}.{name}.parquet" for name in ("sharpening", "iteration")}
    assert not stale.exists(), "a table the claim no longer returns survived the run"
    assert all(path.exists() for path in neighbours), "another claim's table was deleted"
    assert "mode_probability" not in (out / "claims.md").read_text()  # rows are stored as files, not inlined
    iteration = pd.read_parquet(out / entry["tables"]["iteration"])
    assert list(iteration.columns) == ["kappa", "instance", "round", "mode_probability"]


def test_sharpening_tables_are_the_numbers_behind_the_verdict(sharpening_ledger):
    out, _, _ = sharpening_ledger
    entry = json.loads((out / "claims.json").read_text())["claims"][0]
    sharpening = pd.read_parquet(out / entry["tables"]["sharpening"])
    iteration = pd.read_parquet(out / entry["tables"]["iteration"])
    assert entry["verdict"] == "holds" and len(sharpening) == len(iteration.groupby(["kappa", "instance"]))
    last_round = iteration.groupby(["kappa", "instance"])["round"].max()
    assert (last_round.to_numpy() == sharpening.set_index(["kappa", "instance"])["rounds_to_mode"]
            .loc[last_round.index].to_numpy()).all()
    median = sharpening[sharpening["kappa"] == 2.0]["mode_probability_after_round_1"].median()
    assert entry["measured"]["kappa=2: median mode probability after round 1"] == median
    # round k of the stored iteration is π̂^{κ^k}/Z (the closed form), computed here independently of the check
    policy = irl_thm3_claims._theorem3_policies("quick")[3]
    stored = iteration[(iteration["kappa"] == 2.0) & (iteration["instance"] == 3)].sort_values("round")
    law = response_law(policy)
    expected = [sharpened_law(policy, 2.0**k)[np.argmax(law)] for k in stored["round"]]
    np.testing.assert_allclose(stored["mode_probability"], expected, rtol=1e-10)


def test_tabular_theorem1_criteria_equal_a_recomputation_from_its_table():
    result = evaluate(REGISTRY[TABULAR_THM1], Context("quick"))
    table = pd.DataFrame(result.tables["by_n"])
    criteria = {c["name"]: c for c in result.criteria}
    informative = table[table["informative"] == 1]
    assert criteria["TV / (αHε_π/2)"]["value"] == (informative["tv"] / informative["bound"]).max()
    assert criteria["TV / (αHε_π/2)"]["informative"] == len(informative) + sum(
        row["informative"] for row in result.tables["degenerate_experts"])
    assert ((table["bound"] >= 1) == (table["informative"] == 0)).all()  # vacuous exactly where the bound is >= 1
    accuracy = criteria["mean pair accuracy at n=100000 (r* ~ U[0,1])"]
    at_top = table[(table["n_demos"] == 100_000) & (table["family"] == "random")]["accuracy"]
    assert accuracy["value"] == pytest.approx(at_top.mean(), abs=1e-12)
    assert result.verdict == "holds" and (informative["tv"] <= informative["bound"]).all()


# --- synthetic ledger tables -------------------------------------------------------------------------------------

HORIZONS = (4, 16, 64, 256)


def gradient_rows(lhs: str, cosine: float) -> list[dict]:
    return [{"instance": i, "V": 2, "k": 1, "tau": 1.0, "where": where, "lhs": lhs, "rhs": "ntp",
             "cosine": cosine if where == "random" else 0.0, "relative_difference": 0.1 * (i + 1),
             "norm_lhs": 1.0, "norm_rhs": 1.0} for i in range(4) for where in ("random", "optimal")]


def gap_rows(construction: str, policy: str, gaps, bound: str, bound_values) -> list[dict]:
    return [{"construction": construction, "policy": policy, "H": h, "eps": 0.01, "gap": g, "bound": bound,
             "bound_value": b} for h, g, b in zip(HORIZONS, gaps, bound_values, strict=True)]


def fit_row(construction: str, policy: str, slope: float) -> dict:
    return {"construction": construction, "policy": policy, "H_min": 4, "H_max": 256, "slope": slope,
            "ci_low": slope - 0.01, "ci_high": slope + 0.01, "compared_with": 2.0}


def synthetic_ledger_tables() -> dict[str, pd.DataFrame]:
    """Small tables with the columns of the real ones, for every table that figures 5-8 read."""
    h = np.array(HORIZONS, dtype=float)
    walk_bc = gap_rows("walk", "BC", 0.01 * h**1.5, "H·√(Hε_π·tanh(ε_π/2))", 0.1 * h**1.5)
    rows = {
        "avg.step4.expectation_swap.gradients": gradient_rows("seed", 0.5),
        "avg.step5.gradient_equals_ntp.gradients": gradient_rows("average_reward", 0.3),
        "avg.step5.entropy_gradient_equals_ntp.gradients": gradient_rows("average_reward_entropy", 0.7),
        "avg.condition3.misspecified_optima_coincide.optima": [
            {"V": 2, "K": K, "k": 1, "tau": 1.0, "rho_ent_gap": 0.01 * K, "grad_norm_at_ntp_optimum": 0.05,
             "tv_optima": 0.05, "kl_optima": 0.02, "tv_rho_optimum_to_ntp": 0.4} for K in (2, 3)],
        "irl.endogenous_reward_is_shaped_true_reward.residuals": [
            {"instance": i, "alpha": 1.0, "residual_shaping_removed": 1e-15 * i, "return_spread": 2e-15,
             "residual_raw": 5.0 + i, "noisy_residual_minus_alpha_log_ratio": 1e-15} for i in range(3)],
        "bounds.thm1_at_trained_ntp_model.by_n": [
            {"n_demos": n, "instance": i, "accuracy": 0.6 + 0.1 * np.log10(n) + 0.01 * i, "eps_pi": 1.0 / n**0.5,
             "tv": 0.2 / n**0.5, "bound": 2.0 / n**0.5} for n in (10, 100, 1000) for i in range(3)],
        "bounds.thm1_at_trained_gpt.by_n": [
            {"learner": learner, "n_demos": n, "instance": 0, "accuracy": 0.7, "heldout_accuracy": float("nan"),
             "eps_pi": 2.0 / n**0.5, "tv": 0.3 / n**0.5, "bound": 4.0 / n**0.5}
            for learner in ("gpt", "tabular") for n in (10, 100, 1000)],
        "bounds.thm2_bc_quadratic_tv_error.gaps": gap_rows("cliff (uniform)", "BC", 1e-5 * h**2 / 2, "H²ε",
                                                            1e-5 * h**2),
        "bounds.thm2_bc_quadratic_tv_error.exponents": [fit_row("cliff (uniform)", "BC", 1.97)],
        "bounds.thm2_bc_upper_bound_sup_logratio.gaps": gap_rows("walk", "BC", 0.01 * h**1.5,
                                                                 "H(H+1)/2·tanh(ε_π/2)", 0.005 * h * (h + 1)),
        "bounds.thm2_bc_quadratic_rate_sup_logratio.gaps": walk_bc,
        "bounds.thm2_bc_quadratic_rate_sup_logratio.exponents": [fit_row("walk", "BC", 1.54)],
        "bounds.thm2_bc_three_halves_sup_logratio.gaps": walk_bc,
        "bounds.thm2_bc_three_halves_sup_logratio.exponents": [fit_row("walk", "BC", 1.51)],
        "bounds.thm2_rl_linear.gaps": gap_rows("mode swap", "RL", 0.005 * h, "2αHε_π", 0.02 * h)
        + gap_rows("walk", "RL", -0.06 * h, "2αHε_π", 0.006 * h),
        "bounds.thm2_rl_linear.exponents": [fit_row("mode swap", "RL", 1.0)],
        f"{SHARPENING}.sharpening": [
            {"kappa": kappa, "beta": 1 / (kappa - 1), "instance": i, "mode_probability_before": 0.2,
             "mode_probability_after_round_1": 1 - 0.8 / kappa, "entropy_ratio": 1 / kappa, "rounds_to_mode": 3.0}
            for kappa in (1.1, 2.0, 11.0) for i in range(2)],
        f"{SHARPENING}.iteration": [
            {"kappa": kappa, "instance": i, "round": k, "mode_probability": 1 - 0.8 / kappa**k}
            for kappa in (1.1, 2.0, 11.0) for i in range(2) for k in range(4)],
    }
    return {key: pd.DataFrame(table) for key, table in rows.items()}


@pytest.fixture(scope="module")
def tables():
    return synthetic_ledger_tables()


def test_synthetic_tables_cover_every_table_the_figures_read(tables):
    assert sorted(tables) == sorted(key for module in LEDGER_FIGURES for key in module.TABLES)


@pytest.mark.parametrize("module", LEDGER_FIGURES, ids=lambda m: m.__name__)
def test_every_ledger_figure_writes_pdf_and_png_byte_identically(module, tables, tmp_path):
    first = save(module.plot(tables, "quick"), tmp_path / "a", "fig")
    second = save(module.plot(tables, "quick"), tmp_path / "b", "fig")
    assert first[0].read_bytes().startswith(b"%PDF") and first[1].read_bytes().startswith(b"\x89PNG")
    for one, two in zip(first, second, strict=True):
        assert one.read_bytes() == two.read_bytes(), f"{one.name} differs between two builds"


def caption(fig) -> str:
    return fig.texts[-1].get_text()


def test_fig5_draws_one_point_per_instance_and_states_n(tables):
    fig = fig5_average_reward.plot(tables, "full")
    cos_ax, diff_ax, misspecified_ax = fig.axes
    cosines = np.concatenate([c.get_offsets()[:, 1] for c in cos_ax.collections if isinstance(c, PathCollection)])
    assert sorted(cosines) == sorted([0.3] * 4 + [0.5] * 4 + [0.7] * 4)  # random logits only, 4 per objective
    assert [t.get_text() for t in cos_ax.get_xticklabels()] == ["∇seed vs ∇NTP", "∇ρ vs ∇NTP", "∇ρ_ent vs ∇NTP"]
    assert "n = 4 per strip" in caption(fig) and "n = 2" in caption(fig) and "--profile full" in caption(fig)
    gaps = misspecified_ax.collections[0].get_offsets()[:, 1]
    assert sorted(gaps) == [0.02, 0.03] and misspecified_ax.get_yscale() == "log"


def test_fig6_accuracy_is_the_mean_over_instances_and_bounds_sit_above_tv(tables):
    shaping_ax, accuracy_ax, tv_ax = fig6_irl.plot(tables, "quick").axes
    table_line = next(line for line in accuracy_ax.get_lines() if line.get_label() == "add-½ count table (n=3)")
    np.testing.assert_allclose(table_line.get_ydata(), [0.71, 0.81, 0.91])
    assert list(table_line.get_xdata()) == [10, 100, 1000] and accuracy_ax.get_xscale() == "log"
    raw = shaping_ax.collections[0].get_offsets()[:, 1]
    shaped = shaping_ax.collections[2].get_offsets()[:, 1]
    assert sorted(raw) == [5.0, 6.0, 7.0] and shaped.min() == fig6_irl.ROUND_OFF_FLOOR  # exact 0 kept on the log axis
    tv_lines = [line for line in tv_ax.get_lines() if line.get_linestyle() == "-" and len(line.get_xdata()) == 3]
    bound_lines = [line for line in tv_ax.get_lines() if line.get_linestyle() == "--"]
    assert len(tv_lines) == len(bound_lines) == 3
    for tv, bound in zip(tv_lines, bound_lines, strict=True):
        assert (np.asarray(bound.get_ydata()) > np.asarray(tv.get_ydata())).all()


def test_fig7_labels_fitted_slopes_draws_bounds_and_reports_negative_gaps(tables):
    cliff_ax, walk_ax, swap_ax = fig7_error_bounds.plot(tables, "quick").axes
    labels = [line.get_label() for line in walk_ax.get_lines()]
    assert labels[0].startswith("BC gap") and "slope 1.540 [1.530, 1.550], H ≥ 4 (ledger: vs 2)" in labels[0]
    assert sorted(labels[1:]) == ["bound H(H+1)/2·tanh(ε_π/2)", "bound H·√(Hε_π·tanh(ε_π/2))"]  # shared rows once
    assert any("RL gap ≤ 0 at 4 of 4 H" in text.get_text() for text in walk_ax.texts)
    gap, bound = swap_ax.get_lines()
    np.testing.assert_allclose(gap.get_ydata(), 0.005 * np.array(HORIZONS))
    assert bound.get_label() == "bound 2αHε_π" and (bound.get_ydata() > gap.get_ydata()).all()
    assert cliff_ax.get_xscale() == cliff_ax.get_yscale() == "log"


def test_fig8_one_line_per_policy_and_kappa(tables):
    round_ax, iteration_ax = fig8_iterative_improvement.plot(tables, "quick").axes
    assert len(iteration_ax.get_lines()) == 3 * 2 + 1  # 3 κ × 2 policies, and the 0.99 line
    mode = next(line for line in round_ax.get_lines() if line.get_label().startswith("P(mode of π̂) after round 1"))
    np.testing.assert_allclose(mode.get_ydata(), [1 - 0.8 / 1.1, 0.6, 1 - 0.8 / 11])


# --- missing and damaged tables ----------------------------------------------------------------------------------

def test_missing_ledger_names_the_verify_command(tmp_path, capsys):
    with pytest.raises(MissingTable, match=r"python -m theory\.verify --profile full --only '\^\(irl\\\.thm3"):
        load_ledger(fig8_iterative_improvement.TABLES, "paper", tmp_path)
    status = main(["--only", "fig8_iterative_improvement", "fig7_error_bounds", "--claims-root", str(tmp_path),
                   "--figures-root", str(tmp_path / "figures")])
    err = capsys.readouterr().err
    assert status == 1 and "2 figure(s) not built: fig7_error_bounds, fig8_iterative_improvement" in err
    assert "--profile quick --only '^(bounds\\.thm2_bc_quadratic_rate_sup_logratio|" in err
    assert f"--out {tmp_path / 'quick'}`" in err


def test_table_of_a_claim_not_in_claims_json_is_missing_even_if_the_file_exists(sharpening_ledger, tmp_path):
    out, _, _ = sharpening_ledger
    with pytest.raises(MissingTable, match=r"claim bounds\.thm2_bc_quadratic_tv_error is not in .*claims\.json"):
        load_ledger(fig7_error_bounds.TABLES, "quick", out.parent)
    paths = build_from_ledger(fig8_iterative_improvement, "quick", out.parent, tmp_path)
    assert [p.name for p in paths] == ["fig8_iterative_improvement.pdf", "fig8_iterative_improvement.png"]
    assert paths[0].parent == tmp_path / "quick"


def test_damaged_parquet_names_the_file(sharpening_ledger, tmp_path, capsys):
    out, _, _ = sharpening_ledger
    damaged = tmp_path / "claims" / "quick"
    (damaged / "tables").mkdir(parents=True)
    (damaged / "claims.json").write_text((out / "claims.json").read_text())
    for path in (out / "tables").glob(f"{SHARPENING}.*.parquet"):
        (damaged / "tables" / path.name).write_bytes(path.read_bytes()[:100])  # truncated
    with pytest.raises(UnreadableTable, match=rf"{re.escape(SHARPENING)}\.(sharpening|iteration)\.parquet cannot be "
                                              r"read as parquet"):
        load_ledger(fig8_iterative_improvement.TABLES, "quick", damaged.parent)
    status = main(["--only", "fig8_iterative_improvement", "--claims-root", str(damaged.parent), "--figures-root",
                   str(tmp_path / "figures")])
    assert status == 1 and "cannot be read as parquet" in capsys.readouterr().err
    (damaged / "claims.json").write_text("{not json")
    with pytest.raises(UnreadableTable, match=r"claims\.json is not a claims ledger"):
        load_ledger(fig8_iterative_improvement.TABLES, "quick", damaged.parent)


def test_reproduction_points_the_figures_at_its_own_ledger():
    steps = {step.name: step.argv for step in commands(ReproduceConfig(profile="quick", results="R"))}
    assert steps["figures"][steps["figures"].index("--claims-root") + 1] == "R/claims"
    assert steps["claims"][-1] == "R/claims/quick"
