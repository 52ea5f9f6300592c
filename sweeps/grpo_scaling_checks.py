"""Ledger checks of the GRPO arm of the linear-model scaling law (conf/experiment/sweep_scaling_linear_grpo.yaml).

docs/research/parity_cot_rl.md §6.4, item 2: an on-policy sampler first sees a right long response at rate p_cot
("about 1/p_cot samples per useful signal") and "the number of rounds is only log(1/p_cot)"; for STaR that is the
odds recursion of §6.3 (sweeps/scaling_checks.py ``star_rounds_log_odds``).  For GRPO no recursion fixes the rate:
the expected gradient on the logit of continuing is q(1 − q) (§6.3), so plain gradient ascent would need about
1/p_cot steps to leave q ≈ p_cot, while Adam's normalised steps move the logit at a rate set by the lr, about
log(1/p_cot) steps, as long as the gradient's signal (≈ N·p_cot right long samples a batch of N) is not drowned by
its noise.  Which one the measured GRPO follows is what these checks ask, at each d:

* iterations to solve against L = log2((1 − p)/p): a power law in L (polylogarithmic in 1/p_cot) against an
  exponential law in L, e^(rate·L) = ((1 − p)/p)^(rate/ln 2), a power of the odds (≈ of 1/p_cot for small p_cot),
  compared by Vuong's test (primary), with the power of L at most quadratic (secondary);
* rollouts to solve against 1/p_cot: no faster than 1/p_cot (the per-signal rate of item 2);
* cost (NTP + GRPO) against d at each fixed p_cot < 1/3: polynomial, as for the GPT (``ntp_rl_polynomial``).

Every fit is the censored (Tobit) fit of core/censored_fit.py (a run not solved within the cap enters as a lower
bound) with its profile-likelihood interval.  In the fits in p_cot:

* runs with p_cot > 1/4 are left out (above 1/3 greedy is long after NTP and GRPO has nothing to do);
* runs whose NTP stage never made the chain sharp are left out and counted: GRPO then starts from another model
  than the one item 2 is about, and its iterations include learning the chain (a selection on the NTP outcome, not
  on GRPO's);
* a curve with a run solved at (or before) its first evaluation measures the evaluation interval, not the cost: it
  is not informative, and so is a curve that lost a whole p_cot level to unsharp chains (its hard end).  A run
  solved at evaluation k is fitted at k, its true value lying in (k − 5, k]: up to 25% at the 20-35 iterations of
  p_cot = 1/4 (refitting at k − 2.5 and k − 5 left every verdict of the measured sweep unchanged, per review).
* A run whose NTP stopped at its cap enters the cost-vs-d fit censored at (NTP cap + its rollouts); the guaranteed
  bound is the NTP cap alone (GRPO from an unsharp chain may take longer than from a sharp one), a difference within
  GRPO's few per cent of the cost.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from core.intervals import slope_interval
from core.ledger import Context, Outcome, claim
from sweeps.evidence import PAPER
from sweeps.scaling import cost_table, fit_curve, log_odds
from sweeps.scaling_checks import (
    MAX_DEGREE,
    PROFILE_INTERVAL,
    VUONG_INTERVAL,
    decidable,
    judge_ntp_rl,
    numbers,
    records,
)

GRPO_SOURCE = ("docs/research/parity_cot_rl.md §6.4, item 2 (an on-policy sampler: about 1/p_cot samples per useful "
               "signal, and only log(1/p_cot) rounds)")
# "Like log odds": an affine law a + b·L whose zero lies below one doubling (a ≥ −b) has a log-log exponent below 2
# over the sweep's L = 1.6 ... 10 (20·(L − 1): 1.3-1.5); a power of L above 2 is no longer "like log".
LOG_ODDS_EXPONENT = 2.0
INVERSE_P_EXPONENT = 1.0  # "about 1/p_cot samples per useful signal": no faster than 1/p_cot


def fits_in_p(costs: pd.DataFrame, x_name: str, y_column: str) -> pd.DataFrame:
    """Per d: the censored fits of ``y_column`` against x = log2((1 − p)/p) ('log_odds') or 1/p_cot ('inverse_p')
    over the runs with p_cot ≤ 1/4 (fit_curve: both laws and Vuong's comparison).  Against log odds also the
    exponential rate as the exponent of the odds it is a power of, and the least-squares slope per odds doubling of
    an affine law a + b·L over the solved runs (the number STaR's check reads: one round per doubling)."""
    costs = costs[costs["task.p_cot"] <= 0.25]
    x = {"log_odds": log_odds(costs["task.p_cot"]), "inverse_p": 1 / costs["task.p_cot"]}[x_name]
    rows = []
    for d, group in costs.assign(x=x).groupby("task.d"):
        sharp = group[~group["ntp_censored"]]
        at_first = int(sharp["rl_at_first_check"].sum())
        lost = sorted(set(group["task.p_cot"]) - set(sharp["task.p_cot"]))
        if lost:  # the hard end of the curve: fitted without it, the easier p range alone could pass
            fit = {"error": f"no run at p_cot = {', '.join(f'{p:g}' for p in lost)} got a sharp chain (NTP cap)"}
        elif at_first:
            fit = {"error": f"{at_first} of {len(sharp)} runs solved at the first evaluation (resolution-limited: "
                            "evaluate more often)"}
        else:
            fit = fit_curve(sharp["x"], sharp[y_column], sharp["censored"])
        fit = {"n": len(sharp), "n_censored": int(sharp["censored"].sum())} | fit
        solved = sharp[~sharp["censored"]]
        if x_name == "log_odds" and solved["x"].nunique() >= 2:
            fit["per_doubling"], fit["per_doubling.low"], fit["per_doubling.high"] = slope_interval(solved["x"],
                                                                                                   solved[y_column])
        rows.append({"task.d": d, "at_first_check": at_first, "ntp_not_sharp": len(group) - len(sharp)} | fit)
    frame = pd.DataFrame(rows, columns=["task.d", "at_first_check", "ntp_not_sharp"] if not rows else None)
    if x_name == "log_odds" and "exponential.slope" in frame:  # e^(rate·L) = ((1 − p)/p)^(rate/ln 2)
        frame.insert(frame.columns.get_loc("exponential.high") + 1, "odds_exponent",
                     frame["exponential.slope"] / np.log(2))
    return frame


def fit_detail(fits: pd.DataFrame, x_label: str) -> str:
    if fits.empty:
        return "no run with p_cot ≤ 1/4 yet"

    def curve(row) -> str:
        if isinstance(row.get("error"), str):
            return row["error"]
        odds = f" (= exponent {row['odds_exponent']:.3g} of the odds)" if "odds_exponent" in row else ""
        affine = (f", affine slope {row['per_doubling']:.3g} [{row['per_doubling.low']:.3g}, "
                  f"{row['per_doubling.high']:.3g}] per odds doubling" if "per_doubling" in row else "")
        return (f"exponent in {x_label} {row['power.slope']:.3g} [{row['power.low']:.3g}, {row['power.high']:.3g}], "
                f"exponential rate {row['exponential.slope']:.3g} [{row['exponential.low']:.3g}, "
                f"{row['exponential.high']:.3g}]/unit{odds}, Vuong {row['vuong']:.3g} [{row['vuong.low']:.3g}, "
                f"{row['vuong.high']:.3g}]{affine}, {int(row['n_censored'])}/{int(row['n'])} censored")

    return "; ".join(f"d={int(row['task.d'])}: {curve(row.dropna())}"
                     + (f" ({int(row['ntp_not_sharp'])} runs left out: NTP never made the chain sharp)"
                        if row["ntp_not_sharp"] else "") for _, row in fits.iterrows())


def vuong_budget(fits: pd.DataFrame) -> str:
    """Where Vuong's interval holds 0: about how many runs per d would exclude 0 if the mean stayed where it is (the
    Student-t half-width shrinks like 1/√n), the budget that would decide."""
    if "vuong" not in fits:
        return ""
    undecided = fits[np.isfinite(fits["vuong"]) & (fits["vuong.low"] <= 0) & (fits["vuong.high"] >= 0)
                     & (fits["vuong"] != 0)]
    needed = np.ceil(undecided["n"] * ((undecided["vuong.high"] - undecided["vuong.low"]) / 2
                                       / undecided["vuong"].abs()) ** 2)
    parts = [f"d={int(d)}: ~{int(n)} runs (towards {'the power of L' if mean < 0 else 'a power of the odds'})"
             for d, n, mean in zip(undecided["task.d"], needed, undecided["vuong"], strict=True)]
    return (" | Vuong undecided; at its mean, about the runs per d that would decide it: " + ", ".join(parts)
            + f" (now {int(fits['n'].max())})") if parts else ""


def judge_iterations(costs: pd.DataFrame) -> Outcome:
    fits = fits_in_p(costs, "log_odds", "rl_iterations")
    labels = [f"d={d}" for d in fits["task.d"]]
    polylog = decidable("a power of the log odds fits better than a power of the odds (Vuong ≤ 0)",
                        numbers(fits, "vuong"), numbers(fits, "vuong.low"), numbers(fits, "vuong.high"), 0.0, "<=",
                        VUONG_INTERVAL, labels)
    exponent = decidable(f"exponent of iterations in log2((1 − p)/p) ≤ {LOG_ODDS_EXPONENT:g}",
                         numbers(fits, "power.slope"), numbers(fits, "power.low"), numbers(fits, "power.high"),
                         LOG_ODDS_EXPONENT, "<=", PROFILE_INTERVAL, labels)
    return Outcome(criteria=[polylog, exponent], detail=fit_detail(fits, "log odds") + vuong_budget(fits),
                   tables={"iteration_fits": records(fits)} if len(fits) else {})


@claim(
    id="parity.scaling.grpo_iterations_logarithmic", kind="reading", quantifier="for-all", source=GRPO_SOURCE,
    statement="GRPO's iterations to solve grow like log((1 − p_cot)/p_cot), linearly in the log odds as STaR's rounds "
              "do (STaR at about 2 rounds per doubling, not 1). Reading: better described by a power of the log odds "
              f"(no offset) than by a power of the odds (1 − p)/p, and at most (log odds)^{LOG_ODDS_EXPONENT:g}. A "
              "logarithmic law with a positive offset (a start-up cost) bends below a power of the log odds and comes "
              "out inconclusive on the sweep's grid (a planted control): the affine slope per doubling is in the "
              "detail.",
    check="sweep_scaling_linear_grpo (linear model, NTP until the chain is sharp, then GRPO at a fixed lr until greedy "
          "≥ 0.95): per d, over the runs with p_cot ≤ 1/4 whose chain was sharp, Vuong's comparison of the censored "
          "fits prefers the power law in L = log2((1 − p)/p) to the exponential law in L, which is a power of the odds "
          f"(primary); the power law's exponent lies below {LOG_ODDS_EXPONENT:g} (secondary).",
    requires=("scaling_linear_grpo",))
def grpo_iterations_logarithmic(ctx: Context) -> Outcome:
    return judge_iterations(cost_table(ctx.tables.runs()))


def judge_rollouts(costs: pd.DataFrame) -> Outcome:
    fits = fits_in_p(costs, "inverse_p", "rl_samples")
    criterion = decidable(f"exponent of rollouts in 1/p_cot ≤ {INVERSE_P_EXPONENT:g}", numbers(fits, "power.slope"),
                          numbers(fits, "power.low"), numbers(fits, "power.high"), INVERSE_P_EXPONENT, "<=",
                          PROFILE_INTERVAL, [f"d={d}" for d in fits["task.d"]])
    return Outcome(criteria=[criterion], detail=fit_detail(fits, "1/p_cot"),
                   tables={"rollout_fits": records(fits)} if len(fits) else {})


@claim(
    id="parity.scaling.grpo_rollouts_within_inverse_p", kind="reading", quantifier="for-all", source=GRPO_SOURCE,
    statement="The rollouts GRPO needs to solve grow no faster than 1/p_cot.",
    check="sweep_scaling_linear_grpo: per d, over the runs with p_cot ≤ 1/4 whose chain was sharp, the censored "
          f"power-law exponent of the rollouts until greedy ≥ 0.95 in 1/p_cot lies below {INVERSE_P_EXPONENT:g}.",
    requires=("scaling_linear_grpo",))
def grpo_rollouts_within_inverse_p(ctx: Context) -> Outcome:
    return judge_rollouts(cost_table(ctx.tables.runs()))


@claim(
    id="parity.scaling.ntp_rl_polynomial_linear", kind="reading", quantifier="for-all",
    source=f"{PAPER}, abstract ('learns efficiently ... as long as the proportion of long "
           "demonstrations is not exponentially small'), docs/research/parity_cot_rl.md §6.4 (poly(d, 1/p_cot))",
    statement="At each fixed p_cot < 1/3, the cost of NTP followed by GRPO on the linear model grows polynomially "
              f"in d. Reading: no faster than d^{MAX_DEGREE:g} over the measured sizes, and not better described by an "
              "exponential law.",
    check="sweep_scaling_linear_grpo (d = 8 ... 64): per p_cot < 1/3, the power-law exponent's profile interval of the "
          f"cost (NTP samples + rollouts, censored) in d lies below {MAX_DEGREE:g} (primary); Vuong's comparison "
          "prefers the power law (secondary). The GPT's curve is parity.scaling.ntp_rl_polynomial.",
    requires=("scaling_linear_grpo",))
def ntp_rl_polynomial_linear(ctx: Context) -> Outcome:
    return judge_polynomial_in_d(cost_table(ctx.tables.runs()))


def judge_polynomial_in_d(costs: pd.DataFrame) -> Outcome:
    """judge_ntp_rl (cost_table censors a run whose NTP stage stopped at its cap, the chain never sharp) on the curves
    below the threshold.  The detail says how much of the cost is GRPO's."""
    costs = costs[costs["task.p_cot"] < 1 / 3]
    outcome = judge_ntp_rl(costs)
    parts = [f"p_cot={p_cot:g}: GRPO {np.median(group['rl_samples'] / group['cost']):.1%} of the cost (median), "
             f"{int(group['ntp_censored'].sum())} NTP stages at the cap"
             for p_cot, group in costs.groupby("task.p_cot")]
    return replace(outcome, detail=f"{outcome.detail} | " + "; ".join(parts))
