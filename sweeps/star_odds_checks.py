"""Ledger checks of STaR's odds recursion on the linear model (docs/research/parity_cot_rl.md §6.3): the odds of
sampling the chain double every round, r_n = 2 r_(n−1), because the filter doubles them (long responses right, short
ones half the time) and the refit reproduces the kept set.  Each round's log2-odds gain is split into the filter's
and the refit's, and with rl.star_refit_check the refit's into fitting the kept set on its own prompts and carrying
it over to fresh ones (toy/star.py), so a failing recursion says which step loses the odds.  The check also measures
the filter's *prompt selection*: the kept prompts are weighted by P(correct | x) = (1 + q(x))/2, q(x) = P(long | x),
so where q depends on the prompt part of the filter's bit picks prompts on which the sampling model already goes
long.  If the refit then doubles the odds prompt by prompt (q' = 2q/(1 + q) on every x), fresh prompts get the
average of q' and not its kept-weighted average: the transfer loses what the selection gained (to first order in
Var q, and exactly when q(x) ∈ {0, 1}), so a round gains 1 bit minus the selection.

One instance is one run; its interval is Student-t over the run's usable rounds.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from core.intervals import t_interval
from core.ledger import Context, Criterion, Outcome, claim
from sweeps.evidence import PAPER, gap_bounds
from sweeps.rl_checks import star_rounds
from sweeps.scaling import cost_table, result_column
from sweeps.scaling_checks import LOG_ODDS_SLOPE_TOLERANCE, decidable, judge_star_rounds, records

ODDS_GAIN_TOLERANCE = 0.25  # bits of log2 odds per STaR round: exactly 1 by the recursion
SOLVING = 0.95  # a sampled long fraction above this is the run solving, not the odds growing
ROUNDS_INTERVAL = "Student-t 95% over the run's rounds (one gain per round; rounds of a run share its model)"
REFIT_OWN = "star/refit_own_long_fraction"  # toy/star.py, with rl.star_refit_check: after the refit (o_n)
PRE_REFIT_OWN = "star/pre_refit_own_long_fraction"  # the same prompts before it (b_n)
GAINS = ["filter_gain", "refit_gain", "round_gain", "selection_gain", "fit_gain", "transfer_gain"]
SELECTION_TOLERANCE = 0.1  # bits: half the prompt selection measured at p_cot = 2^-10 (about 0.2 a round)
MIN_ROUNDS = 3  # usable rounds for a run's interval: with 2, Student-t's factor is 12.7 and nothing is decided


def odds_gains(runs: pd.DataFrame, steps: pd.DataFrame) -> pd.DataFrame:
    """One row per (STaR job, round n that has a round n + 1): the log2-odds gains of the filter (kept k_n over
    sampled s_n: exactly 1 bit when long responses are right and short ones half the time), of the refit (s_(n+1)
    over k_n: 0 when fine-tuning reproduces the kept set) and of the round (their sum).  Rounds whose fractions are
    0, 1 or past ``SOLVING`` have no finite or no growing odds and are left out.  With rl.star_refit_check the
    refit splits in two (toy/star.py): ``fit_gain`` (kept k_n → the refit model's long fraction o_n on the kept
    set's own prompts) and ``transfer_gain`` (o_n → s_(n+1) on fresh prompts), and ``selection_gain`` (s_n → the
    sampling model's own long fraction b_n on the kept prompts) is the part of the filter's gain that selected
    prompts rather than responses; NaN without the check or where b_n or o_n is 0 or 1."""
    rounds = star_rounds(runs, steps, rounds=int(steps["step"].max())).sort_values(["job", "step"])
    sampled, kept = rounds["star/sampled_long_fraction"], rounds["star/kept_long_fraction"]
    following = rounds.groupby("job")["star/sampled_long_fraction"].shift(-1)
    usable = ((sampled > 0) & (sampled <= SOLVING) & (kept > 0) & (kept < 1) & (following > 0)
              & (following <= SOLVING))
    own, before = (result_column(rounds, name) for name in (REFIT_OWN, PRE_REFIT_OWN))
    own, before = (f.where((f > 0) & (f < 1)) for f in (own, before))

    def log2_odds(p: pd.Series) -> pd.Series:
        return np.log2(p / (1 - p))

    gains = rounds.assign(filter_gain=log2_odds(kept) - log2_odds(sampled),
                          refit_gain=log2_odds(following) - log2_odds(kept),
                          round_gain=log2_odds(following) - log2_odds(sampled),
                          selection_gain=log2_odds(before) - log2_odds(sampled),
                          fit_gain=log2_odds(own) - log2_odds(kept),
                          transfer_gain=log2_odds(following) - log2_odds(own))
    return gains[usable].reset_index(drop=True)


def per_job_gain(gains: pd.DataFrame, column: str) -> pd.DataFrame:
    """(job, mean, low, high, rounds) of ``column`` per job; a job with fewer than MIN_ROUNDS usable rounds (a
    large p_cot solves in a few) is not informative (NaN)."""
    rows = []
    for job, group in gains.groupby("job"):
        values = group[column].dropna()  # fit/transfer gains exist only in runs with rl.star_refit_check
        mean, low, high = t_interval(values) if len(values) >= MIN_ROUNDS else (np.nan,) * 3
        rows.append({"job": job, "task.p_cot": group["task.p_cot"].iloc[0], "mean": mean, "low": low, "high": high,
                     "rounds": len(values)})
    return pd.DataFrame(rows, columns=["job", "task.p_cot", "mean", "low", "high", "rounds"])


def gain_criterion(name: str, per_job: pd.DataFrame, target: float = 1.0) -> Criterion:
    """|mean gain − target bits| per job ≤ ODDS_GAIN_TOLERANCE, from the gain's interval."""
    gap, near, far = gap_bounds(per_job["mean"], per_job["low"], per_job["high"], target)
    return decidable(name, gap, near, far, ODDS_GAIN_TOLERANCE, "<=", f"|·| of the {ROUNDS_INTERVAL}",
                     list(per_job["job"]))


def gain_detail(gains: pd.DataFrame) -> str:
    """Mean filter / refit / round gains per p_cot (over jobs and rounds), smallest p_cot first, and with the refit
    check the fit / transfer / selection split."""
    means = gains.groupby("task.p_cot")[GAINS].mean().sort_index()
    detail = "mean log2-odds gain per round (filter + refit = round) by p_cot: " + "; ".join(
        f"2^{np.log2(p):.0f}: {row.filter_gain:+.2f} {row.refit_gain:+.2f} = {row.round_gain:+.2f}"
        for p, row in means.iterrows())
    split = means.dropna(subset=["selection_gain", "fit_gain", "transfer_gain"])
    return detail + ("" if split.empty else "; the refit split (fit on the kept set's own prompts + transfer to "
                     "fresh ones = refit), and of the filter's gain the part already in the sampling model on the "
                     "kept prompts (prompt selection): " + "; ".join(
                         f"2^{np.log2(p):.0f}: {row.fit_gain:+.2f} {row.transfer_gain:+.2f}, selection "
                         f"{row.selection_gain:+.2f}" for p, row in split.iterrows()))


def judge_odds_gain(runs: pd.DataFrame, steps: pd.DataFrame, column: str, name: str, target: float = 1.0
                    ) -> Outcome:
    gains = odds_gains(runs, steps)
    per_job = per_job_gain(gains, column)
    return Outcome(criteria=[gain_criterion(name, per_job, target)], detail=gain_detail(gains),
                   measured={"jobs": len(per_job), "usable rounds": len(gains)},
                   tables={"gains": records(gains[["job", "task.p_cot", "step", *GAINS]]),
                           "per_job": records(per_job)})


@claim(
    id="parity.scaling.star_odds_double_each_round", kind="derived", quantifier="for-all",
    source="the odds recursion r_n = 2 r_(n−1) of docs/research/parity_cot_rl.md §6.3 (behind Thm 2's "
           f"O(log((1 − p)/p)) rounds, {PAPER})",
    statement="Under STaR on the linear model the odds of sampling the chain double every round: log2 odds(s_(n+1)) "
              "− log2 odds(s_n) = 1 bit, at every p_cot.",
    check=f"sweep_scaling_linear: per run, the mean log2-odds gain of the sampled long fraction per round (rounds "
          f"with 0 < s ≤ {SOLVING}) is within {ODDS_GAIN_TOLERANCE} bit of 1, with the {ROUNDS_INTERVAL}; runs "
          f"with fewer than {MIN_ROUNDS} such rounds are not informative.",
    requires=("scaling_linear",))
def star_odds_double_each_round(ctx: Context) -> Outcome:
    return judge_odds_gain(*ctx.tables["scaling_linear"], "round_gain", "|sampled log2-odds gain per round − 1|")


@claim(
    id="parity.scaling.star_filter_doubles_odds", kind="derived", quantifier="for-all",
    source="the filter step of docs/research/parity_cot_rl.md §6.3 (long responses right, short ones half the time: "
           "k = 2s/(1 + s), so odds(k) = 2 odds(s)); the nearest statement to parity.scaling.star_odds_double_each_"
           "round, which also needs the refit to reproduce the kept set",
    statement="STaR's filter doubles the odds of the chain at every p_cot: log2 odds(kept) − log2 odds(sampled) = "
              "1 bit per round; whatever the round loses beyond that is lost by the refit.",
    check=f"sweep_scaling_linear: per run, the mean log2-odds gain from the sampled to the kept long fraction is "
          f"within {ODDS_GAIN_TOLERANCE} bit of 1, with the {ROUNDS_INTERVAL}; the detail splits each round's gain "
          "into filter and refit.", requires=("scaling_linear",))
def star_filter_doubles_odds(ctx: Context) -> Outcome:
    return judge_odds_gain(*ctx.tables["scaling_linear"], "filter_gain", "|filter log2-odds gain − 1|")


def judge_large_rounds(runs: pd.DataFrame, steps: pd.DataFrame) -> Outcome:
    """Primary: the sampled log2-odds gain per round within ODDS_GAIN_TOLERANCE of 1 bit per run; secondary: rounds
    to solve against log2((1 − p)/p) with slope 1 ± LOG_ODDS_SLOPE_TOLERANCE (judge_star_rounds).  ``runs`` as
    Tables.runs() gives them (with the ``experiment`` column)."""
    doubling = judge_odds_gain(runs, steps, "round_gain", "|sampled log2-odds gain per round − 1|")
    rounds = judge_star_rounds(cost_table(runs))
    return Outcome(criteria=[*doubling.criteria, *rounds.criteria], measured=doubling.measured,
                   detail=doubling.detail + ". Rounds law: " + rounds.detail,
                   tables={**doubling.tables, **rounds.tables})


@claim(
    id="parity.scaling.star_odds_double_with_large_rounds", kind="derived", quantifier="for-all",
    source="the odds recursion r_n = 2 r_(n−1) of docs/research/parity_cot_rl.md §6.3, which assumes the refit "
           "reproduces the kept set; the nearest statement to parity.scaling.star_odds_double_each_round, whose "
           "refit loses odds at 20k samples per round (conf/experiment/sweep_scaling_linear_rounds.yaml: is the loss "
           "the refit overfitting the few kept long responses to their prompts?)",
    statement="With rounds large enough to keep many long responses (80k samples, d = 16), STaR on the linear model "
              "doubles the odds of the chain every round down to p_cot = 2^-10, and its rounds to solve grow like "
              "log2((1 − p)/p).",
    check=f"sweep_scaling_linear_rounds: per run, the mean log2-odds gain of the sampled long fraction per round is "
          f"within {ODDS_GAIN_TOLERANCE} bit of 1, with the {ROUNDS_INTERVAL} (primary); the least-squares slope of "
          f"rounds on log2((1 − p)/p) is within {LOG_ODDS_SLOPE_TOLERANCE} of 1 (secondary).",
    requires=("scaling_linear_rounds",))
def star_odds_double_with_large_rounds(ctx: Context) -> Outcome:
    return judge_large_rounds(ctx.tables.runs(), ctx.tables["scaling_linear_rounds"][1])


@claim(
    id="parity.scaling.star_refit_fits_the_kept_set", kind="derived", quantifier="for-all",
    source="the refit step of docs/research/parity_cot_rl.md §6.3 (fine-tuning reproduces the kept set: s_(n+1) = "
           "k_n), split where parity.scaling.star_odds_double_with_large_rounds loses odds: on the prompts it was "
           "fitted on, or on fresh ones",
    statement="STaR's refit reproduces the kept set's long fraction on the kept set's own prompts (the odds it loses "
              "by the next round are lost in carrying the fit over to fresh prompts). How much of that was in the "
              "sampling model before the refit (the filter selecting prompts where it already samples the chain, "
              "which fresh prompts cannot inherit) the detail says.",
    check=f"sweep_scaling_linear_rounds with rl.star_refit_check: per run, the mean log2-odds gain from the kept "
          f"long fraction to the refit model's long fraction on the kept set's own prompts is within "
          f"{ODDS_GAIN_TOLERANCE} bit of 0, with the {ROUNDS_INTERVAL}; the detail gives the transfer gain next to "
          "it.", requires=("scaling_linear_rounds",))
def star_refit_fits_the_kept_set(ctx: Context) -> Outcome:
    return judge_odds_gain(ctx.tables.runs(), ctx.tables["scaling_linear_rounds"][1], "fit_gain",
                           "|fit log2-odds gain on the kept set's own prompts|", target=0.0)


def judge_selection_transfer(runs: pd.DataFrame, steps: pd.DataFrame) -> Outcome:
    """Per run, |mean (transfer + selection)| ≤ SELECTION_TOLERANCE with the rounds interval, informative where the
    run's selection gain is known to exceed the tolerance (elsewhere 'transfer = −selection' and 'transfer = 0' are
    within the tolerance of each other and the run cannot tell them apart)."""
    gains = odds_gains(runs, steps)
    gains["transfer_and_selection_gain"] = gains["transfer_gain"] + gains["selection_gain"]
    per_job = per_job_gain(gains, "transfer_and_selection_gain")
    selection = per_job_gain(gains, "selection_gain")
    gap, near, far = gap_bounds(per_job["mean"], per_job["low"], per_job["high"], 0.0)
    criterion = decidable("|transfer + selection log2-odds gain|", gap, near, far, SELECTION_TOLERANCE, "<=",
                          f"|·| of the {ROUNDS_INTERVAL}", list(per_job["job"]))
    established = (selection["low"] > SELECTION_TOLERANCE).to_numpy()
    criterion = replace(criterion, informative=tuple(np.asarray(criterion.informative) & established))
    detail = gain_detail(gains) + "; per run transfer + selection (selection): " + "; ".join(
        f"{job}: {row.mean:+.3f} [{row.low:+.3f}, {row.high:+.3f}] ({sel.mean:+.3f} [{sel.low:+.3f}, {sel.high:+.3f}])"
        for job, row, sel in zip(per_job["job"], per_job.itertuples(), selection.itertuples(), strict=True))
    return Outcome(criteria=[criterion], detail=detail,
                   measured={"runs": len(per_job), "runs with a selection above the tolerance": int(established.sum())},
                   tables={"per_job": records(per_job.assign(selection=selection["mean"],
                                                             selection_low=selection["low"]))})


@claim(
    id="parity.scaling.star_round_loses_the_prompt_selection", kind="derived", quantifier="for-all",
    source="the filter step of docs/research/parity_cot_rl.md §6.3 with a prompt-dependent q(x) = P(long | x) "
           "(sweeps/star_odds_checks.py module docstring: a refit that doubles the odds prompt by prompt loses on "
           "fresh prompts what the filter gained by selecting prompts); the nearest statement to "
           "parity.scaling.star_odds_double_with_large_rounds",
    statement="What a STaR round loses on fresh prompts is the filter's prompt selection: the transfer's log2-odds "
              "loss equals the sampling model's own log2-odds gain on the kept prompts.",
    check=f"sweep_scaling_linear_rounds with rl.star_refit_check: per run, the mean of transfer gain + selection gain "
          f"is within {SELECTION_TOLERANCE} bit of 0, with the {ROUNDS_INTERVAL}; informative where the run's "
          f"selection gain interval lies above {SELECTION_TOLERANCE} bit.", requires=("scaling_linear_rounds",))
def star_round_loses_the_prompt_selection(ctx: Context) -> Outcome:
    return judge_selection_transfer(ctx.tables.runs(), ctx.tables["scaling_linear_rounds"][1])
