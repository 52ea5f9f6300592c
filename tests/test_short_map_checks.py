"""sweeps/short_map_checks.py on planted cost tables: short answers only planted e^1.5 times costlier than p_cot =
0.25 at every d (with the costliest runs censored at the cap) must fail 'NTP alone ignores chains' and pass its
nearest statement; costs planted at the prediction (4/3 of the p_cot = 0 cost) must do the reverse; an interval
across the shared boundary (log 2) decides neither; runs that solved long enter censored, runs solved at the first
evaluation are left out, curves of different slopes are not compared; without p_cot = 0 runs (the quick sweep)
nothing is decided and the detail says what to run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.ledger import REGISTRY, Context, judge
from sweeps.evidence import Tables
from sweeps.short_map_checks import HELP, judge_shift, shift_table

IGNORES, CHEAPEN = "parity.scaling.ntp_alone_ignores_chains", "parity.scaling.chains_cheapen_ntp_alone"
CONTROLLED_CLAIMS = {IGNORES, CHEAPEN}
CAP = 768_000.0
RATE = 0.6  # planted growth of log cost per bit, both p_cot


def planted_costs(shift: float, seed: int = 0, sizes=range(3, 9), seeds: int = 3, sigma: float = 0.3,
                  control_rate: float = RATE) -> pd.DataFrame:
    """A cost table of NTP alone: log cost(p_cot = 0.25) = log 6000 + RATE·d + sigma·ε, p_cot = 0 higher by
    ``shift`` (at its mean d) with slope ``control_rate``; costs above CAP censored at CAP."""
    rng, rows = np.random.default_rng(seed), []
    for d in sizes:
        for p_cot, log_mean in ((0.25, RATE * d), (0.0, shift + RATE * 5.5 + control_rate * (d - 5.5))):
            for run in range(seeds):
                cost = float(np.exp(np.log(6000) + log_mean + sigma * rng.standard_normal()))
                rows.append({"experiment": "scaling_ntp", "regime": "ntp_alone", "p_cot_law": "fixed", "task.d": d,
                             "task.p_cot": p_cot, "seed": run,
                             "cost": min(cost, CAP), "censored": cost > CAP, "solved_long": False,
                             "ntp_at_first_check": False})
    return pd.DataFrame(rows)


def verdicts(costs: pd.DataFrame) -> tuple[str, str]:
    return tuple(judge(REGISTRY[claim_id], judge_shift(costs, HELP, direction)).verdict
                 for claim_id, direction in ((IGNORES, "<="), (CHEAPEN, ">=")))


def test_chains_that_cut_the_cost_fail_the_literal_reading_and_pass_the_nearest_statement():
    costs = planted_costs(shift=1.5)
    assert costs["censored"].sum() >= 3  # the top of p_cot = 0 hits the cap: lower bounds only
    [row] = shift_table(costs).to_dict("records")
    assert row["low"] < 1.5 < row["high"] and row["d"] == "3,4,5,6,7,8" and row["runs"] == 36
    assert row["common_slope_p"] > 0.05
    assert verdicts(costs) == ("fails", "holds")


def test_costs_at_the_prediction_pass_the_literal_reading_and_fail_the_nearest_statement():
    assert verdicts(planted_costs(shift=np.log(0.75))) == ("holds", "fails")


def test_an_interval_across_the_boundary_decides_neither():
    # c planted at log 2 with a wide scatter: the interval holds log 2, and the two claims share that boundary.
    costs = planted_costs(shift=HELP, sigma=1.0)
    [row] = shift_table(costs).to_dict("records")
    assert row["low"] < HELP < row["high"] and verdicts(costs) == ("inconclusive", "inconclusive")


def test_long_solves_enter_censored_first_check_solves_are_left_out_and_only_shared_sizes_compared():
    costs = planted_costs(shift=1.5)
    long = costs.index[(costs["task.p_cot"] == 0.25) & (costs["task.d"] == 8)]
    costs.loc[long, "solved_long"] = True  # solved by the chain: the short map's cost is above theirs
    first = costs.index[(costs["task.p_cot"] == 0.0) & (costs["task.d"] == 3)][:1]
    costs.loc[first, "ntp_at_first_check"] = True
    extra = planted_costs(shift=1.5, sizes=[9])
    costs = pd.concat([costs, extra[extra["task.p_cot"] == 0.25]], ignore_index=True)  # d = 9 only at 0.25
    [row] = shift_table(costs).to_dict("records")
    assert row["d"] == "3,4,5,6,7,8" and row["runs"] == 35 and row["solved_long"] == 3
    used = costs[(costs["task.d"] <= 8) & ~costs["ntp_at_first_check"]]
    assert row["censored"] == int((used["censored"] | used["solved_long"]).sum())
    outcome = judge_shift(costs, HELP, ">=")
    assert "of which 3 solved long" in outcome.detail and "1 run(s) solved at their first evaluation" in outcome.detail
    assert "per d, the ratio of median costs" in outcome.detail and "d=8: ?" in outcome.detail  # 0.25's median: long


def test_curves_of_different_slopes_are_not_compared_by_one_ratio():
    costs = planted_costs(shift=1.5, control_rate=1.2, sigma=0.1)  # the ratio grows with d
    [row] = shift_table(costs).to_dict("records")
    assert row["common_slope_p"] < 0.05 and np.isnan(row["shift"]) and "slopes differ" in row["error"]
    assert verdicts(costs) == ("inconclusive", "inconclusive")


def test_without_short_only_runs_nothing_is_decided_and_the_detail_names_the_sweep():
    costs = planted_costs(shift=1.5)
    outcome = judge_shift(costs[costs["task.p_cot"] > 0], HELP, ">=")
    assert not any(outcome.criteria[0].informative) and judge(REGISTRY[CHEAPEN], outcome).verdict == "inconclusive"
    assert "no p_cot = 0 runs" in outcome.detail and "sweep_scaling_ntp" in outcome.detail


@pytest.mark.parametrize("claim_id", [IGNORES, CHEAPEN])
def test_the_claims_read_the_scaling_ntp_runs_table(claim_id):
    costs = planted_costs(shift=1.5)
    runs = pd.DataFrame({"job": [f"job{i}" for i in costs.index], "rl.algo": "none", "model.name": "gpt",
                         "task.d": costs["task.d"], "task.p_cot": costs["task.p_cot"], "seed": costs["seed"],
                         "ntp_solved.samples": costs["cost"].where(~costs["censored"]),
                         "ntp_solved.budget_samples": CAP, "ntp.greedy/long_fraction": 0.0})
    spec = REGISTRY[claim_id]
    result = judge(spec, spec.run(Context("full", tables=Tables({"scaling_ntp": (runs, pd.DataFrame())}))))
    assert result.verdict == {IGNORES: "fails", CHEAPEN: "holds"}[claim_id]
