"""sweeps.checks: verdicts come from the stored sweep numbers (they flip when a number crosses its tolerance), a
missing table is an error naming the sweep command, and paper-only sweeps drop out of the quick profile."""

import json

import numpy as np
import pandas as pd
import pytest

from sweeps.checks import main, run_checks, star_rounds
from sweeps.collect import RESULTS, STEPS, write_parquet
from sweeps.compounding import COMPOUNDING

QUICK = ("fig1_ntp_vs_rl", "fig2_threshold", "fig3_rl_curves", "fig4_star")


def ntp_row(job: str, p_cot: float, greedy: float, **extra) -> dict:
    """A calibrated NTP model whose chain is learned, greedy accuracy ``greedy``, then GRPO to 1.0 at length d."""
    return {"job": job, "task.d": 12, "task.leap": 1, "task.p_cot": p_cot, "seed": 0, "rl.algo": "grpo",
            "ntp.greedy/accuracy": greedy, "ntp.forced_long/accuracy": 1.0, "ntp.sampled/long_fraction": p_cot,
            "ntp.sampled/accuracy": (1 + p_cot) / 2, "ntp.greedy/long_fraction": 0.0,
            "rl.start.forced_long/accuracy": 1.0, "rl.final.greedy/accuracy": 1.0,
            "rl.final.sampled/mean_length": 12.0} | extra


def star_steps(job: str, p_cot: float, offset: float = 0.0) -> list[tuple]:
    """Five STaR rounds on the exact recursion (plus ``offset`` on the kept fraction), and greedy accuracy 1."""
    rows, p = [], p_cot
    for step in range(1, 6):
        kept = 2 * p / (1 + p)
        rows += [(job, "rl", step, "star/sampled_long_fraction", p), (job, "rl", step, "star/kept", 1000.0),
                 (job, "rl", step, "star/kept_long_fraction", kept + offset),
                 (job, "rl", step, "star/one_step_prediction", kept), (job, "rl", step, "greedy/accuracy", 1.0)]
        p = kept
    return rows


def write_sweeps(root, profile="quick", greedy_below=0.5, star_offset=0.0, skip=()):
    """Tables of every quick sweep: NTP below and above 1/3, GRPO solving at iteration 5, STaR on the recursion."""
    for name in QUICK:
        if name in skip:
            continue
        if name == "fig4_star":
            runs = [ntp_row("star", 0.1, 0.5, **{"rl.algo": "star"})]
            steps = star_steps("star", 0.1, star_offset)
        else:
            runs = [ntp_row("below", 0.25, greedy_below), ntp_row("above", 0.4, 1.0)]
            steps = [(job, "rl", step, "greedy/accuracy", 0.5 if step < 5 else 1.0) for job in ("below", "above")
                     for step in (0, 5, 10)]
        if name == "fig1_ntp_vs_rl":  # a constant per-step error: failure grows like d
            write_compounding(root, [compounding_row(f"d={d}", d, 1e-4) for d in (12, 24)], profile)
        write_parquet(pd.DataFrame(runs), root / name / profile / RESULTS)
        write_parquet(pd.DataFrame(steps, columns=["job", "stage", "step", "metric", "value"]),
                      root / name / profile / STEPS)


def compounding_row(job: str, d: int, step_error: float, stage: str = "ntp", clustered: float = 0.0) -> dict:
    """A model erring independently with ``step_error`` at each of its d − 1 chain steps; ``clustered`` > 0 puts
    that share of the errors on prompts that already failed (F below the union bound Σε)."""
    steps = d - 1
    failure = (1 - (1 - step_error) ** steps) * (1 - clustered)
    return {"job": job, "stage": stage, "d": d, "chain_steps": steps, "mean_step_error": step_error,
            "sum_step_error": steps * step_error, "chain_failure": failure, "sampled_chain_failure": failure,
            "sampled_answer_failure": failure, "prompts": 4096,
            "independent_failure": 1 - (1 - step_error) ** steps}


def write_compounding(root, rows, profile="quick", name="fig1_ntp_vs_rl"):
    write_parquet(pd.DataFrame(rows), root / name / profile / COMPOUNDING)


def verdicts(root, profile="quick") -> dict:
    return {r.id: r for r in run_checks(profile, root)}


def test_every_quick_check_holds_on_tables_that_match_the_theory(tmp_path):
    write_sweeps(tmp_path)
    results = verdicts(tmp_path)
    assert {r.verdict for r in results.values()} == {"holds"}, {k: r.detail for k, r in results.items()}
    # Paper-only sweeps (d50, ablations) have no quick copy: the checks that only read them are not run.
    assert "parity.star.recursion_gpt" not in results and "parity.rl.no_cot_control" not in results
    assert "d50" not in results["parity.ntp.greedy_at_chance_below_third"].check


def test_verdicts_flip_when_a_number_crosses_its_tolerance(tmp_path):
    write_sweeps(tmp_path / "a", greedy_below=0.56)  # 0.06 from chance: past the 0.05 tolerance
    chance = verdicts(tmp_path / "a")["parity.ntp.greedy_at_chance_below_third"]
    assert chance.verdict == "fails" and "below" in chance.detail and chance.criteria[0]["value"] == pytest.approx(0.06)
    write_sweeps(tmp_path / "b", greedy_below=0.54)
    assert verdicts(tmp_path / "b")["parity.ntp.greedy_at_chance_below_third"].verdict == "holds"
    write_sweeps(tmp_path / "c", star_offset=0.03)
    star = verdicts(tmp_path / "c")["parity.star.recursion_linear"]
    assert star.verdict == "fails" and star.criteria[0]["value"] == pytest.approx(0.03)


def test_a_small_d_model_that_learned_the_short_map_fails_the_seed_claim_only(tmp_path):
    write_sweeps(tmp_path)
    runs = pd.read_parquet(tmp_path / "fig1_ntp_vs_rl" / "quick" / RESULTS)
    small = ntp_row("small", 0.25, 1.0, **{"task.d": 8, "ntp.sampled/accuracy": 0.99, "ntp.forced_long/accuracy": 0.7,
                                           "rl.start.forced_long/accuracy": 0.7})
    write_parquet(pd.concat([runs, pd.DataFrame([small])]), tmp_path / "fig1_ntp_vs_rl" / "quick" / RESULTS)
    results = verdicts(tmp_path)
    seed, derived = results["parity.ntp.greedy_at_chance_below_third"], results[
        "parity.ntp.greedy_at_chance_beyond_small_d"]
    assert seed.verdict == "fails" and "fig1_ntp_vs_rl/small" in seed.detail
    assert derived.verdict == "holds" and derived.measured["d <= 8 (greedy acc, greedy long, sampled acc)"] == {
        "fig1_ntp_vs_rl/small": [1.0, 0.0, 0.99]}
    assert results["parity.ntp.length_calibration"].verdict == "holds"  # chain not learned: not a calibration case


def test_star_recursion_doubles_the_odds_from_p_cot():
    runs = pd.DataFrame([{"job": "j", "task.p_cot": 0.1, "seed": 0}])
    steps = pd.DataFrame(star_steps("j", 0.1), columns=["job", "stage", "step", "metric", "value"])
    rounds = star_rounds(runs, steps, rounds=5)
    odds = rounds["recursion"] / (1 - rounds["recursion"])
    assert odds.tolist() == pytest.approx([2**n / 9 for n in range(1, 6)])
    assert rounds["recursion"].tolist() == pytest.approx(rounds["star/kept_long_fraction"].tolist())


def test_missing_table_is_an_error_naming_the_sweep_command(tmp_path, capsys):
    write_sweeps(tmp_path, skip=("fig4_star",))
    star = verdicts(tmp_path)["parity.star.recursion_linear"]
    assert star.verdict == "error" and "experiment=sweep_fig4_star_quick" in star.detail
    assert main(["--results-root", str(tmp_path), "--out", str(tmp_path / "out")]) == 1
    stored = json.loads((tmp_path / "out" / "checks.json").read_text())
    assert stored["profile"] == "quick" and len(stored["checks"]) == len(verdicts(tmp_path))
    assert (tmp_path / "out" / "checks.md").read_text().startswith("# Empirical checks (profile `quick`)")


def test_a_job_that_never_solves_makes_the_iteration_check_fail(tmp_path):
    write_sweeps(tmp_path)
    steps = pd.read_parquet(tmp_path / "fig3_rl_curves" / "quick" / STEPS)
    write_parquet(steps[steps["job"] != "below"], tmp_path / "fig3_rl_curves" / "quick" / STEPS)
    check = verdicts(tmp_path)["parity.rl.iterations_to_solve"]
    assert check.verdict == "fails" and check.criteria[0]["value"] == 1 and "fig3_rl_curves/below" in check.detail
    assert check.measured["grpo: iterations"] == [5.0, 5.0, 5.0, None]  # fig1 twice, fig3 'above', fig3 'below'
    assert main(["--results-root", str(tmp_path), "--out", str(tmp_path / "out")]) == 0  # strict JSON: no inf


def write_ablations(root, hot_accuracy: float):
    """The paper-only ablations sweep: STaR at T = 1 solved; at T = 1.5 and 2 final greedy ``hot_accuracy``."""
    runs, steps = [], []
    for option, temperature in (("star_t1", 1.0), ("star_t15", 1.5), ("star_t2", 2.0)):
        for seed in (0, 1):
            job = f"ablation={option},seed={seed}"
            accuracy = 1.0 if option == "star_t1" else hot_accuracy
            runs.append(ntp_row(job, 0.2, 0.5, **{"rl.algo": "star", "rl.temperature": temperature, "seed": seed,
                                                  "rl.final.greedy/accuracy": accuracy}))
            steps += [(job, "rl", step, "star/long_accuracy", accuracy) for step in (1, 2)]
    write_parquet(pd.DataFrame(runs), root / "ablations" / "paper" / RESULTS)
    write_parquet(pd.DataFrame(steps, columns=["job", "stage", "step", "metric", "value"]),
                  root / "ablations" / "paper" / STEPS)


def test_ablation_checks_read_the_job_names_and_flip(tmp_path):
    write_ablations(tmp_path / "a", hot_accuracy=0.5)
    check = verdicts(tmp_path / "a", "paper")["parity.star.high_temperature_fails"]
    assert check.verdict == "holds" and check.measured["star_t2: last-round accuracy of sampled long responses"] == [
        0.5, 0.5]
    write_ablations(tmp_path / "b", hot_accuracy=0.7)  # high-temperature STaR generalises: the claim fails
    assert verdicts(tmp_path / "b", "paper")["parity.star.high_temperature_fails"].verdict == "fails"
    # Paper-size checks whose other sweeps (d50, fig1, ...) were never run are errors naming their command.
    chance = verdicts(tmp_path / "a", "paper")["parity.ntp.greedy_at_chance_below_third"]
    assert chance.verdict == "error" and "experiment=sweep_fig1_ntp_vs_rl hydra/launcher=local" in chance.detail


def test_compounding_checks_flip_with_clustered_errors_and_a_per_step_error_falling_with_d(tmp_path):
    write_sweeps(tmp_path)
    results = verdicts(tmp_path)
    identity, growth = (results[f"parity.compounding.{name}"] for name in ("failure_is_d_times_step_error",
                                                                            "failure_grows_linearly_in_d"))
    assert identity.verdict == growth.verdict == "holds"
    assert growth.measured["slope"] == pytest.approx(np.log(23 / 11) / np.log(2), rel=1e-3)  # F ∝ d − 1 steps
    # Errors of one model co-occur on the same prompts: F = 0.9 Σε, past the 0.05 tolerance on |F/Σε − 1|.
    write_compounding(tmp_path, [compounding_row("d=12", 12, 1e-4), compounding_row("d=24", 24, 1e-4, clustered=0.1)])
    identity = verdicts(tmp_path)["parity.compounding.failure_is_d_times_step_error"]
    assert identity.verdict == "fails" and "fig1_ntp_vs_rl/d=24" in identity.detail
    # A per-step error that falls like 1/(d − 1) leaves F flat in d: slope ≈ 0, the linear-growth claim fails.
    write_compounding(tmp_path, [compounding_row("d=12", 12, 2e-4), compounding_row("d=24", 24, 2e-4 * 11 / 23)])
    growth = verdicts(tmp_path)["parity.compounding.failure_grows_linearly_in_d"]
    assert growth.verdict == "fails" and abs(growth.measured["slope"]) < 1e-3
    assert growth.measured["slope of log ε̄ on log d"] == pytest.approx(np.log(11 / 23) / np.log(2))  # ε ∝ 1/(d − 1)


def test_a_broken_chain_is_judged_by_its_coin_flip_answers(tmp_path):
    write_sweeps(tmp_path)
    broken = compounding_row("broken", 16, 0.5) | {"sampled_answer_failure": 0.5}
    write_compounding(tmp_path, [compounding_row("d=12", 12, 1e-4), compounding_row("d=24", 24, 1e-4), broken])
    assert verdicts(tmp_path)["parity.compounding.failure_is_d_times_step_error"].verdict == "holds"
    write_compounding(tmp_path, [compounding_row("d=12", 12, 1e-4), compounding_row("d=24", 24, 1e-4),
                                 broken | {"sampled_answer_failure": 0.9}])
    assert verdicts(tmp_path)["parity.compounding.failure_is_d_times_step_error"].verdict == "holds-with-caveat"


def test_missing_compounding_table_names_its_command(tmp_path):
    write_sweeps(tmp_path)
    (tmp_path / "fig1_ntp_vs_rl" / "quick" / COMPOUNDING).unlink()
    identity = verdicts(tmp_path)["parity.compounding.failure_is_d_times_step_error"]
    assert identity.verdict == "error" and "python -m sweeps.compounding --profile quick" in identity.detail
