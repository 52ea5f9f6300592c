"""Ledger checks of the parity paper's scaling thesis on the scaling sweeps (sweeps/scaling.py for the cost table
and the fits; conf/experiment/sweep_scaling_*.yaml for what each sweep measures).

One instance is one fitted cost curve (a p_cot of NTP alone, a regime, a d of the linear model); its interval is the
fit's profile-likelihood interval (censored runs enter as lower bounds) or, for the comparison of the two laws,
Vuong's interval.  A curve the data cannot locate (fewer than 3 solved runs) is not informative, and the detail says
what budget would make it so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.intervals import slope_interval
from core.ledger import Context, Criterion, Outcome, claim
from sweeps.evidence import PAPER, gap_bounds
from sweeps.scaling import cost_table, fit_curve, fit_table, log_odds, result_column

PROFILE_INTERVAL = "95% profile likelihood of the censored (Tobit) fit over the curve's runs"
VUONG_INTERVAL = "Student-t 95% over runs of the per-run log-likelihood difference exponential − power (Vuong)"
MAX_DEGREE = 3.0  # "polynomial in d" read as: no faster than cubic over the measured sizes
LOG_ODDS_SLOPE_TOLERANCE = 0.5  # rounds per odds doubling: 1 by the recursion; 0.5-1.5 still "Θ(log odds)"
INVERSE_P_TOLERANCE = 0.3  # exponent of NTP samples in 1/p_cot: 1 by §6.4 (poly(d)/p_cot long examples)


def curve_labels(fits: pd.DataFrame, keys: list[str]) -> list[str]:
    return [", ".join(f"{k}={row[k]:g}" if isinstance(row[k], float) else f"{k}={row[k]}" for k in keys)
            for _, row in fits.iterrows()]


def records(frame: pd.DataFrame) -> list[dict]:
    """A table as the ledger stores it (core.ledger.check_tables): rows of numbers or strings, one type a column."""
    frame = frame.copy()
    for column in frame.columns:  # object (pandas 2) or str (pandas 3: a column of strings and NaN) columns
        if frame[column].dtype == object or isinstance(frame[column].dtype, pd.StringDtype):
            frame[column] = frame[column].fillna("").astype(str)
    return frame.to_dict("records")


def numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A column as floats, or NaN everywhere when no curve produced it (no curve could be fitted)."""
    return result_column(frame, column).to_numpy(float)


def decidable(name: str, value, low, high, tolerance: float, direction: str, interval: str, labels: list[str]
              ) -> Criterion:
    """A criterion whose instances without a number (a curve the data cannot locate) are not informative; their
    NaN is replaced by a placeholder the engine never reads, because NaN in a criterion is an error."""
    value, low, high = (np.asarray(a, dtype=float) for a in (value, low, high))
    informative = ~np.isnan(value) & ~np.isnan(low) & ~np.isnan(high)
    value, low, high = (np.where(informative, a, 0.0) for a in (value, low, high))
    return Criterion(name, value, tolerance, direction, low=low, high=high, interval=interval,
                     informative=informative, labels=labels)


def slope_criterion(name: str, fits: pd.DataFrame, law: str, tolerance: float, direction: str, keys: list[str]
                    ) -> Criterion:
    return decidable(name, numbers(fits, f"{law}.slope"), numbers(fits, f"{law}.low"), numbers(fits, f"{law}.high"),
                     tolerance, direction, PROFILE_INTERVAL, curve_labels(fits, keys))


def exponential_growth_criterion(fits: pd.DataFrame, keys: list[str]) -> Criterion:
    """Per curve two '≥ 0' statements judged together (for-all): the exponential rate's profile interval lies above
    0 (the cost grows) and Vuong's interval lies above 0 (the exponential law describes it better than a power
    law).  Neither alone is evidence of exponential growth: any growing cost has a positive rate, and a falling
    cost can still be exponential."""
    labels = curve_labels(fits, keys)
    return decidable("exponential growth: rate > 0 and exponential law preferred (Vuong)",
                     np.concatenate([numbers(fits, "exponential.slope"), numbers(fits, "vuong")]),
                     np.concatenate([numbers(fits, "exponential.low"), numbers(fits, "vuong.low")]),
                     np.concatenate([numbers(fits, "exponential.high"), numbers(fits, "vuong.high")]), 0.0, ">=",
                     f"{PROFILE_INTERVAL} (rate); {VUONG_INTERVAL} (comparison)",
                     [f"{label}: rate" for label in labels] + [f"{label}: Vuong" for label in labels])


def vuong_criterion(fits: pd.DataFrame, direction: str, keys: list[str]) -> Criterion:
    better = "exponential" if direction == ">=" else "power"
    return decidable(f"{better} law fits better (Vuong)", numbers(fits, "vuong"), numbers(fits, "vuong.low"),
                     numbers(fits, "vuong.high"), 0.0, direction, VUONG_INTERVAL, curve_labels(fits, keys))


def fit_detail(fits: pd.DataFrame, keys: list[str], costs: pd.DataFrame) -> str:
    parts = []
    for label, (_, row) in zip(curve_labels(fits, keys), fits.iterrows(), strict=True):
        if "error" in row and isinstance(row["error"], str):
            group = costs.merge(pd.DataFrame([row[keys]]), on=keys)
            parts.append(f"{label}: no fit ({row['n'] - row['n_censored']} of {row['n']} runs solved; the caps "
                         f"{group['cost'].max():.3g} samples censor the rest: a larger cap would locate it)")
        else:
            parts.append(f"{label}: rate {row['exponential.slope']:.3g} [{row['exponential.low']:.3g}, "
                         f"{row['exponential.high']:.3g}]/unit, exponent {row['power.slope']:.3g} "
                         f"[{row['power.low']:.3g}, {row['power.high']:.3g}], {int(row['n_censored'])}/{int(row['n'])} "
                         "censored")
    return "; ".join(parts)


def judge_ntp_alone(costs: pd.DataFrame) -> Outcome:
    fits = fit_table(costs, ["task.p_cot"])
    keys = ["task.p_cot"]
    return Outcome(criteria=[exponential_growth_criterion(fits, keys)],
                   detail=fit_detail(fits, keys, costs), tables={"fits": records(fits), "costs": records(costs)})


@claim(
    id="parity.scaling.ntp_alone_exponential", kind="source", quantifier="for-all",
    source=f"{PAPER}, abstract ('requires extreme statistical or computational resources') and docs/research/"
           "parity_cot_rl.md §6.4",
    statement="The cost of next-token prediction alone to reach a generalising model grows exponentially in d.",
    check="sweep_scaling_ntp (GPT, no RL): samples until held-out greedy accuracy ≥ 0.95, censored at the cap; per "
          "p_cot curve, the exponential rate's profile interval lies above 0 and Vuong's comparison prefers the "
          "exponential law to a power law, its interval above 0 (both: a positive rate alone does not tell "
          "exponential from polynomial growth).", requires=("scaling_ntp",))
def ntp_alone_exponential(ctx: Context) -> Outcome:
    return judge_ntp_alone(cost_table(ctx.tables.runs()))


def judge_ntp_rl(costs: pd.DataFrame) -> Outcome:
    """Both criteria of "NTP until the chain is learned, then RL" grows polynomially in d (cost_table censors a run
    whose NTP stage stopped at its cap even when its RL solved)."""
    fits = fit_table(costs, ["regime", "task.p_cot"])
    keys = ["regime", "task.p_cot"]
    return Outcome(criteria=[slope_criterion(f"power-law exponent in d ≤ {MAX_DEGREE:g}", fits, "power", MAX_DEGREE,
                                             "<=", keys),
                             vuong_criterion(fits, "<=", keys)],
                   detail=fit_detail(fits, keys, costs), tables={"fits": records(fits), "costs": records(costs)})


@claim(
    id="parity.scaling.ntp_rl_polynomial", kind="reading", quantifier="for-all",
    source=f"{PAPER}, abstract ('learns efficiently ... as long as the proportion of long demonstrations is not "
           "exponentially small'), docs/research/parity_cot_rl.md §6.4 (poly(d, 1/p_cot))",
    statement="At a fixed p_cot < 1/3, the cost of NTP followed by RL grows polynomially in d. Reading: no faster than "
              f"d^{MAX_DEGREE:g} over the measured sizes, and not better described by an exponential law.",
    check="sweep_scaling_rl (GPT, p_cot = 0.25, NTP until the chain is learned, then GRPO until greedy ≥ 0.95): the "
          f"power-law exponent's profile interval lies below {MAX_DEGREE:g} (primary); Vuong's comparison prefers "
          "the power law (secondary). A run whose NTP stage hit its cap is censored (a lower bound), as the sweep "
          "config states, even when its RL solved.", requires=("scaling_rl",))
def ntp_rl_polynomial(ctx: Context) -> Outcome:
    return judge_ntp_rl(cost_table(ctx.tables.runs()))


def log_odds_fits(costs: pd.DataFrame) -> pd.DataFrame:
    """Per d: least-squares slope of STaR rounds on log2((1 − p)/p) over the runs whose STaR solved (``rounds`` known;
    the rest are counted as censored), p_cot ≤ 1/4 (above 1/3 greedy is long after NTP and the prediction is 0 rounds,
    a floor the line does not model).  Rounds, not cost: a run whose NTP stopped at its cap keeps its rounds."""
    rows = []
    for d, group in costs[costs["task.p_cot"] <= 0.25].groupby("task.d"):
        solved = group[group["rounds"].notna()]
        row = {"task.d": d, "runs": len(group), "censored": int(group["rounds"].isna().sum())}
        if solved["task.p_cot"].nunique() >= 3:
            row["slope"], row["low"], row["high"] = slope_interval(log_odds(solved["task.p_cot"]), solved["rounds"])
        rows.append(row)
    return pd.DataFrame(rows)


def judge_star_rounds(costs: pd.DataFrame) -> Outcome:
    fits = log_odds_fits(costs)
    slope = numbers(fits, "slope")
    gap, near, far = gap_bounds(slope, numbers(fits, "low"), numbers(fits, "high"), 1.0)
    labels = [f"d={d}" for d in fits["task.d"]]
    criterion = decidable("|rounds per odds doubling − 1|", gap, near, far, LOG_ODDS_SLOPE_TOLERANCE, "<=",
                          "|·| of the Student-t 95% interval of the least-squares slope", labels)
    detail = "; ".join(f"d={int(row['task.d'])}: slope {row.get('slope', np.nan):.3g} [{row.get('low', np.nan):.3g}, "
                       f"{row.get('high', np.nan):.3g}], {int(row['censored'])}/{int(row['runs'])} runs censored"
                       for _, row in fits.iterrows())
    return Outcome(criteria=[criterion], detail=detail,
                   tables={"log_odds_fits": records(fits), "costs": records(costs)})


@claim(
    id="parity.scaling.star_rounds_log_odds", kind="derived", quantifier="for-all",
    source=f"{PAPER}, Thm 2 (O(log((1 − p)/p)) rounds) and the odds recursion r_n = 2 r_(n−1) of docs/research/"
           "parity_cot_rl.md §6.3",
    statement="STaR's rounds to solve grow like log2((1 − p_cot)/p_cot) + c: one round per doubling of the odds.",
    check="sweep_scaling_linear (linear model, STaR): per d, the least-squares slope of rounds to greedy ≥ 0.95 on "
          f"log2((1 − p)/p) over solved runs with p ≤ 1/4 is within {LOG_ODDS_SLOPE_TOLERANCE} of 1, with its "
          "t-interval.", requires=("scaling_linear",))
def star_rounds_log_odds(ctx: Context) -> Outcome:
    return judge_star_rounds(cost_table(ctx.tables.runs()))


def judge_inverse_p(costs: pd.DataFrame) -> Outcome:
    rows = []
    for d, group in costs.groupby("task.d"):
        # A run that met the criterion at the first evaluation only bounds its cost from above (one resolution):
        # a curve with such runs measures the evaluation interval, not the cost, and is not fitted.
        at_first = int(group["ntp_at_first_check"].sum())
        fit = (fit_curve(1 / group["task.p_cot"], group["ntp_samples"], group["ntp_censored"]) if at_first == 0
               else {"error": f"{at_first} of {len(group)} runs learned the chain at the first evaluation "
                              "(resolution-limited: evaluate more often)"})
        rows.append({"task.d": d, "at_first_check": at_first} | fit)
    fits = pd.DataFrame(rows)
    slope = numbers(fits, "power.slope")
    gap, near, far = gap_bounds(slope, numbers(fits, "power.low"), numbers(fits, "power.high"), 1.0)
    criterion = decidable("|exponent of NTP samples in 1/p_cot − 1|", gap, near, far, INVERSE_P_TOLERANCE, "<=",
                          f"|·| of the {PROFILE_INTERVAL}", [f"d={d}" for d in fits["task.d"]])
    detail = "; ".join(f"d={int(row['task.d'])}: " + (row["error"] if isinstance(row.get("error"), str) else
                                                 f"exponent {row['power.slope']:.3g} [{row['power.low']:.3g}, "
                                                 f"{row['power.high']:.3g}]") for _, row in fits.iterrows())
    return Outcome(criteria=[criterion], detail=detail, tables={"inverse_p_fits": records(fits)})


@claim(
    id="parity.scaling.ntp_samples_inverse_p", kind="derived", quantifier="for-all",
    source="docs/research/parity_cot_rl.md §6.4, item 1 (about n·p_cot of n samples are long, and the chain needs "
           "poly(d) long examples, so n ≳ poly(d)/p_cot)",
    statement="At fixed d, the NTP samples needed to learn the chain grow like 1/p_cot.",
    check="sweep_scaling_linear: per d, the censored power-law exponent of NTP samples until teacher_forced/"
          f"chain_accuracy ≥ 0.95 against 1/p_cot is within {INVERSE_P_TOLERANCE} of 1.", requires=("scaling_linear",))
def ntp_samples_inverse_p(ctx: Context) -> Outcome:
    return judge_inverse_p(cost_table(ctx.tables.runs()))


def judge_p_cot_laws(costs: pd.DataFrame) -> Outcome:
    fits = fit_table(costs, ["p_cot_law"])
    exponential_small = fits[fits["p_cot_law"] == "exp_half_d"].reset_index(drop=True)
    polynomial_small = fits[fits["p_cot_law"] != "exp_half_d"].reset_index(drop=True)
    return Outcome(criteria=[exponential_growth_criterion(exponential_small, ["p_cot_law"]),
                             slope_criterion(f"power-law exponent ≤ {MAX_DEGREE:g} at p_cot = 1/d, 1/d²",
                                             polynomial_small, "power", MAX_DEGREE, "<=", ["p_cot_law"])],
                   detail=fit_detail(fits, ["p_cot_law"], costs), tables={"fits": records(fits)})


@claim(
    id="parity.scaling.exponentially_small_p_cot", kind="source", quantifier="for-all",
    source=f"{PAPER}, appendix (p_cot ∈ Ω(d^−κ)) and docs/research/parity_cot_rl.md §6.4 ('if p_cot = 2^−Θ(d), the "
           "cost is exponential')",
    statement="With p_cot = 2^(−d/2) the cost of NTP + STaR grows exponentially in d, while with p_cot = 1/d or 1/d² "
              "it stays polynomial.",
    check="sweep_scaling_linear_laws (linear model, NTP + STaR): at p_cot = 2^(−d/2), the exponential rate's "
          "interval lies above 0 and Vuong's comparison prefers the exponential law (primary); at 1/d and 1/d² the "
          f"power-law exponent lies below {MAX_DEGREE:g} (the nearest statement on the polynomial side). A run whose "
          "NTP stage hit its cap enters as a lower bound (censored) even when STaR then solved (sweeps/scaling.py).",
    requires=("scaling_linear_laws",))
def exponentially_small_p_cot(ctx: Context) -> Outcome:
    return judge_p_cot_laws(cost_table(ctx.tables.runs()))
