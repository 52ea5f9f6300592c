"""Per-job and per-variant numbers of sweep_rl_variants, and the collapse detector.

The sweep (conf/experiment/sweep_rl_variants*.yaml) runs every RL variant of conf/variant/ from the same NTP stages;
sweeps/collect.py stores each job's RL metrics stream (toy/post_train.py's metrics.jsonl) in steps.parquet with
stage 'rl': every iteration logs ``iteration_seconds`` (the update alone), and every ``rl_eval.every`` iterations (and
at iteration 0 and the last one) the held-out metrics of toy/evaluate.py, with ``policy/kl_to_start`` (GRPO /
REINFORCE; every iteration when the KL penalty is on, otherwise at the evaluation iterations only; the TRL arm at
its evaluations; STaR logs none).
Per job, from the evaluations (resolution: rl_eval.every):

* **iterations to solve**: the first evaluated iteration with greedy accuracy ≥ 0.95 (``SOLVED``); censored (known
  only to exceed ``rl.iterations``) when no evaluation reaches it;
* final greedy accuracy, final sampled (T = eval temperature) mean length / chain length (d for the full chain), the
  largest sampled malformed rate of any evaluation, and s/iteration = the median of ``iteration_seconds``;
* **collapse**: after first solving at iteration s, two consecutive later evaluations (iterations > s) each break a
  rule: greedy accuracy < 0.9 (``FALLEN``), or KL to the start above max(10 × KL_s, log(1/p_cot) + 0.625 nats per
  chain step) (``KL_JUMP``, `kl_floor`), with KL_s the last ``policy/kl_to_start`` logged at or before s (0 if none:
  at iteration 0 the policy is the start).  ``collapsed_at`` is the first of the two.  A dip that recovers at the next
  evaluation is not a collapse, nor a break at the last evaluation alone (nothing confirms it).  The KL rule needs
  the KL stream (the exact KL, whatever estimator a KL penalty uses; the TRL arm logs it at its evaluations since
  2026-12-04), so for STaR (and TRL jobs run before then) only the accuracy rule applies.
  The floor: a solved policy answers with the chain, which the start samples with probability ≈ p_cot, so its KL to
  the start is about log(1/p_cot) (1.39 nats at p_cot = 0.25, 2.30 at 0.1), plus what it moves at each of the
  chain's states: the KL is a sum over the response's states, and a few 10⁻³ of probability moved onto tokens the
  start gives 10⁻²⁰ costs ~0.04 nats per state, so the margin grows with the chain.  Measured in sweep_rl_variants
  (paper), healthy solved GRPO-family runs reach 1.4-2.6 nats at d = 16, p_cot = 0.25, up to 7.65 at d = 16,
  p_cot = 0.1 (0.33 nats per step above log(1/p_cot)), and one evaluation of 12.47 at d = 50, p_cot = 0.25 (0.22 per
  step; 3-7 nats otherwise), above a fixed 10-nat margin (11.39) once: two such evaluations in a row would have been
  called a collapse.  The collapses seen reach 34-78 nats at d = 16 (2-5 per step: PPO), and the d = 50 record went
  0.76 → 54.  ``KL_MARGIN_PER_STEP`` = 10/16 keeps d = 16's 10-nat margin (1 and 5 nats flagged healthy runs there)
  and gives 31 nats at d = 50; the price: a collapse whose KL sits in a few states, not along the chain, must pass
  32.6 nats at d = 50 to be caught by the KL rule (the accuracy rule still applies).
  A job that never solves cannot collapse: collapse rates are over the jobs that solved (at risk), with a Wilson
  interval over them (core/intervals.py), and `rate_difference` compares two rates (Newcombe's hybrid score interval).

Two variants are compared by the jobs that share an NTP stage and RL seed (`paired_jobs`): collapse rates with
`rate_difference`, final lengths with `paired_length_change`, iterations to solve with `paired_differences`, and
`seeds_to_decide` / `jobs_to_separate` say how many seeds or jobs would decide a comparison that is still open.

Only jobs whose RL start has learned the chain (forced-long accuracy ≥ 0.95: sweeps/evidence.py) are inside the
premise of every RL statement; `variant_table` counts them and summarises those.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from core.intervals import CONFIDENCE, t_interval, wilson
from sweeps.evidence import chain_length, learned_chain, length_bounds
from sweeps.rl_checks import SOLVED

FALLEN = 0.9  # greedy accuracy below which a solved job has collapsed
KL_JUMP = 10.0  # KL to the start above KL_JUMP × its value at the first solve is a collapse ...
KL_MARGIN_PER_STEP = 10 / 16  # ... when it is also this many nats per chain step above log(1/p_cot) (kl_floor)
KL_METRIC = "policy/kl_to_start"
GREEDY, LENGTH, MALFORMED = "greedy/accuracy", "sampled/mean_length", "sampled/malformed"
JOB_COLUMNS = ["job", "variant", "task.d", "task.p_cot", "seed", "learned", "budget", "eval_prompts",
               "first_evaluation", "solved_at",
               "final_greedy",
               "final_length_ratio", "max_malformed", "seconds_per_iteration", "kl_at_solve", "collapsed",
               "collapsed_at", "collapse_cause"]


def kl_floor(p_cot: float, chain: int) -> float:
    """The KL to the start below which no jump counts as a collapse: log(1/p_cot), about the KL of a policy that always
    answers with the chain from a start that samples it with probability p_cot, plus ``KL_MARGIN_PER_STEP`` nats for
    each of the ``chain`` steps (module docstring)."""
    return -math.log(p_cot) + KL_MARGIN_PER_STEP * chain if p_cot > 0 else math.inf


def detect_collapse(evaluations: pd.DataFrame, floor: float) -> dict:
    """First solve and collapse of one job from its evaluations (columns ``step``, greedy/accuracy and, if logged,
    policy/kl_to_start; one row per evaluated iteration), with the KL ``floor`` (`kl_floor`): solved_at (NaN: never),
    kl_at_solve, collapsed, collapsed_at (NaN: not collapsed; else the first of two consecutive evaluations that
    break a rule) and collapse_cause (the rule that evaluation breaks: 'greedy accuracy', 'KL', or '')."""
    evaluations = evaluations.sort_values("step")
    solved = evaluations[evaluations[GREEDY] >= SOLVED]
    found = {"solved_at": math.nan, "kl_at_solve": math.nan, "collapsed": False, "collapsed_at": math.nan,
             "collapse_cause": ""}
    if solved.empty:
        return found
    solved_at = float(solved["step"].iloc[0])
    kl = evaluations[KL_METRIC] if KL_METRIC in evaluations else pd.Series(math.nan, index=evaluations.index)
    logged_before = kl[(evaluations["step"] <= solved_at) & kl.notna()]
    kl_at_solve = float(logged_before.iloc[-1]) if len(logged_before) else 0.0
    later = evaluations[evaluations["step"] > solved_at]
    fell = later[GREEDY] < FALLEN
    jumped = kl.loc[later.index] > max(KL_JUMP * kl_at_solve, floor)  # NaN (not logged) compares False
    found |= {"solved_at": solved_at, "kl_at_solve": kl_at_solve}
    broken = (fell | jumped).to_numpy()
    confirmed = broken[:-1] & broken[1:]  # this evaluation and the next both break a rule
    if confirmed.any():
        first = later.index[int(confirmed.argmax())]
        found |= {"collapsed": True, "collapsed_at": float(later.loc[first, "step"]),
                  "collapse_cause": "greedy accuracy" if fell[first] else "KL"}
    return found


def job_table(runs: pd.DataFrame, steps: pd.DataFrame) -> pd.DataFrame:
    """One row per RL job of the sweep (columns JOB_COLUMNS; module docstring for each number)."""
    rl = steps[steps["stage"] == "rl"]
    streams = dict(tuple(rl.groupby("job")))
    chains = dict(zip(runs["job"], chain_length(runs), strict=True))
    learned = dict(zip(runs["job"], learned_chain(runs, "rl.start."), strict=True))
    rows = []
    for _, run in runs[runs["rl.algo"] != "none"].iterrows():
        wide = streams[run["job"]].pivot(index="step", columns="metric", values="value").reset_index()
        evaluations = wide[wide[GREEDY].notna()] if GREEDY in wide else wide.iloc[:0]
        if evaluations.empty:
            raise ValueError(f"rl_variants job {run['job']}: no held-out evaluation in its RL metrics")
        last = evaluations.sort_values("step").iloc[-1]
        seconds = wide["iteration_seconds"].dropna() if "iteration_seconds" in wide else pd.Series(dtype=float)
        rows.append({"job": run["job"], "variant": str(run.get("variant", "none")), "task.d": int(run["task.d"]),
                     "task.p_cot": float(run["task.p_cot"]), "seed": int(run["seed"]),
                     "learned": bool(learned[run["job"]]), "budget": int(run["rl.iterations"]),
                     "eval_prompts": int(run["rl_eval.prompts"]),
                     # a job solved here has a cost known only to be at most this (the resolution)
                     "first_evaluation": int(evaluations.loc[evaluations["step"] > 0, "step"].min()
                                             if (evaluations["step"] > 0).any() else run["rl.iterations"]),
                     "final_greedy": float(last[GREEDY]),
                     "final_length_ratio": float(last[LENGTH]) / chains[run["job"]],
                     "max_malformed": float(evaluations[MALFORMED].max()),
                     "seconds_per_iteration": float(seconds.median()) if len(seconds) else math.nan}
                    | detect_collapse(evaluations, kl_floor(float(run["task.p_cot"]), chains[run["job"]])))
    return pd.DataFrame(rows, columns=JOB_COLUMNS)


def collapse_rate(jobs: pd.DataFrame) -> dict:
    """Of ``jobs``: those that solved (at risk), of them collapsed, the rate and its Wilson 95% interval (NaN when
    no job solved: a rate over nothing)."""
    at_risk, collapsed = int(jobs["solved_at"].notna().sum()), int(jobs["collapsed"].sum())
    low, high = wilson(collapsed, at_risk) if at_risk else (math.nan, math.nan)
    return {"at_risk": at_risk, "collapsed": collapsed, "rate": collapsed / at_risk if at_risk else math.nan,
            "low": low, "high": high}


def collapse_rates(jobs: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """`collapse_rate` per group of ``by``."""
    rows = [dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True)) | collapse_rate(group)
            for key, group in jobs.groupby(by, sort=True)]
    return pd.DataFrame(rows, columns=[*by, "at_risk", "collapsed", "rate", "low", "high"])


def rate_difference(k1: float, n1: float, k2: float, n2: float) -> tuple[float, float, float]:
    """(p1 − p2, low, high): Newcombe's hybrid score 95% interval for the difference of two independent proportions
    k1/n1 and k2/n2 (Newcombe 1998, method 10), built from the Wilson interval of each (core/intervals.py): unlike
    the normal (Wald) interval it stays informative at 0 of n or n of n."""
    p1, p2 = k1 / n1, k2 / n2
    (low1, high1), (low2, high2) = wilson(k1, n1), wilson(k2, n2)
    return (p1 - p2, p1 - p2 - math.hypot(p1 - low1, high2 - p2), p1 - p2 + math.hypot(high1 - p1, p2 - low2))


def jobs_to_separate(p1: float, p2: float, margin: float = 0.0, limit: int = 10_000) -> int | None:
    """The fewest jobs per arm at which rates p1 and p2, if they stayed as measured, would give a difference interval
    (`rate_difference`) on one side of ``margin``; None when p1 − p2 is the margin or more than ``limit`` are needed."""
    def separates(n: int) -> bool:
        _, low, high = rate_difference(p1 * n, n, p2 * n, n)
        return low > margin or high < margin

    return None if p1 - p2 == margin else next((n for n in range(2, limit + 1) if separates(n)), None)


def paired_length_change(pairs: pd.DataFrame, confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """Mean over seeds of the paired differences of final length / d with its Student-t interval, which covers the
    prompt sampling of each model's length too (each difference carries it); when every pair differs by exactly the
    same amount (no spread to estimate), the pairs' own bounded-variance interval instead; one pair: (mean, −∞, ∞)."""
    differences = pairs["difference"].to_numpy(dtype=float)
    mean = float(differences.mean())
    if len(differences) < 2:
        return mean, -math.inf, math.inf
    if np.ptp(differences) > 0:
        return t_interval(differences, confidence)
    # a difference of two bounded-variance mean lengths / d over each model's held-out prompts, lengths in [0, d + 1]
    _, high = length_bounds(0.0, pairs["eval_prompts"], (pairs["task.d"] + 1) / pairs["task.d"], pairs=2)
    half = float(np.mean(high))
    return mean, mean - half, mean + half


def paired_half_width(variance: float, seeds: int, confidence: float, resolution: float = 0.0) -> float:
    """Half-width of the Student-t interval (at ``confidence``) of a mean of paired differences over ``seeds`` with
    sample ``variance``, plus the variance resolution²/6 of two solves' quantisation (`paired_differences`)."""
    sd = math.sqrt(variance + resolution ** 2 / 6)
    return float(stats.t.ppf(0.5 + confidence / 2, seeds - 1)) * sd / math.sqrt(seeds)


def seeds_to_decide(differences: np.ndarray, tolerance: float, confidence: float = CONFIDENCE,
                    resolution: float = 0.0, signed: bool = False) -> int | None:
    """Seeds at which the paired interval of the mean difference (`paired_differences`: Student-t at ``confidence``
    with the quantisation variance of ``resolution``, widened by it) would clear ``tolerance`` if the mean and sd held:
    the mean itself when ``signed``, else its |·| (a gap); None if no number of seeds would (at most 1000)."""
    mean = float(np.mean(differences)) if signed else abs(float(np.mean(differences)))
    variance = float(np.var(differences, ddof=1)) if len(differences) > 1 else 0.0
    room = abs(mean - tolerance) - resolution
    if room <= 0 or variance + resolution ** 2 == 0:
        return None
    return next((n for n in range(2, 1001) if paired_half_width(variance, n, confidence, resolution) < room), None)


def paired_jobs(jobs: pd.DataFrame, first: str, second: str) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Jobs of variants ``first`` and ``second`` paired by (d, p_cot, seed) (same NTP stage and RL seed; the second's
    columns suffixed ' other'), with iterations to solve ready to compare: a seed that only one arm solved enters at
    that arm's budget, a lower bound of its cost, and is flagged (``censored solved_at`` / ``censored solved_at
    other``) so that `paired_differences` leaves that side of the interval open.  Also returns the masks of those pairs
    and of the pairs both solved at the first evaluation, where each cost is only known to be at most one evaluation
    interval (a check whose pass they would help may leave them out: ``leave_out``)."""
    pairs = jobs[jobs["variant"] == first].merge(jobs[jobs["variant"] == second], on=["task.d", "task.p_cot", "seed"],
                                                 suffixes=("", " other"))
    one_solved = pairs["solved_at"].isna() ^ pairs["solved_at other"].isna()
    for suffix in ("", " other"):
        pairs[f"censored solved_at{suffix}"] = one_solved & pairs[f"solved_at{suffix}"].isna()
        pairs[f"solved_at{suffix}"] = pairs[f"solved_at{suffix}"].fillna(pairs[f"budget{suffix}"].where(one_solved))
    at_first = (pairs["solved_at"] <= pairs["first_evaluation"]) & (
        pairs["solved_at other"] <= pairs["first_evaluation other"])
    return pairs, one_solved, at_first


def paired_differences(pairs: pd.DataFrame, column: str, confidence: float, resolution: float = 0.0,
                       leave_out: pd.Series | None = None) -> pd.DataFrame:
    """Per (d, p_cot): the differences ``column`` other − ``column`` over seeds, their number, and an interval of
    their mean (NaN with fewer than 2 pairs), the ``leave_out`` pairs and those missing either value dropped first.

    The interval is Student-t at ``confidence``, and for iterations to solve, measured at evaluations ``resolution``
    apart, each solve s is only known to lie in (s − resolution, s] (assuming greedy accuracy does not cross the
    criterion and fall back between two evaluations): the interval is widened by ± resolution (the worst case of the
    quantisation errors' mean), and the variance resolution²/6 of a difference of two uniform errors is added to the
    sample variance, an allowance for a measured spread that understates the true one (equal measured differences,
    whose sd is 0, would otherwise give the seeds no spread at all).  Under independent uniform errors the sample
    variance already holds that term, so the interval is conservative, not exact: it can leave undecided what a
    finer evaluation grid would decide, never turn a pass into a fail.  A pair where only one arm solved bounds its
    difference from one side only (its unsolved arm entered at the budget, less than its true cost): the interval is
    open on the side it cannot bound (−∞ when the first arm did not solve, +∞ when the other did not), and its other
    side uses the budget as a value (approximate: a censored value can shrink the sample sd)."""
    rows = []
    kept = pairs if leave_out is None else pairs[~leave_out]
    for (d, p_cot), group in kept.groupby(["task.d", "task.p_cot"], sort=True):
        group = group.dropna(subset=[column, f"{column} other"])
        differences = (group[f"{column} other"] - group[column]).to_numpy(dtype=float)
        mean = low = high = np.nan
        if len(differences) >= 2:
            mean = float(differences.mean())
            half = paired_half_width(float(differences.var(ddof=1)), len(differences), confidence, resolution)
            low, high = mean - half - resolution, mean + half + resolution
            if f"censored {column}" in group:  # a value known only from below (`paired_jobs`)
                low = -math.inf if group[f"censored {column}"].any() else low
                high = math.inf if group[f"censored {column} other"].any() else high
        rows.append((f"d={d}, p_cot={p_cot:g}", differences, len(differences), mean, low, high))
    return pd.DataFrame(rows, columns=["label", "differences", "pairs", "mean", "low", "high"])


def evaluation_interval(pairs: pd.DataFrame) -> float:
    """Iterations between two evaluations of the paired jobs, the coarser arm's (the resolution of their solves)."""
    return float(pairs[["first_evaluation", "first_evaluation other"]].max().max()) if len(pairs) else 0.0


def censored_median(solved_at: pd.Series, budget: int) -> str:
    """Median iterations to solve, with unsolved jobs as +∞: a number, '> a' (half the jobs solved, the median lies
    above the last of them) or '> budget' (more than half censored)."""
    values = np.sort(np.where(solved_at.isna(), np.inf, solved_at.to_numpy(dtype=float)))
    if values.size == 0:
        return "–"
    low, high = values[(values.size - 1) // 2], values[values.size // 2]
    if np.isinf(low):
        return f"> {budget}"
    return f"> {low:g}" if np.isinf(high) else f"{(low + high) / 2:g}"


def mean_sd(values: pd.Series) -> str:
    return f"{values.mean():.3f} ± {values.std(ddof=1) if len(values) > 1 else 0:.3f}" if len(values) else "–"


def variant_table(jobs: pd.DataFrame) -> pd.DataFrame:
    """The report's table at one d: a row per variant over its jobs from a learned chain (pooled over p_cot and
    seeds): iterations to solve (censored median), final greedy accuracy and length / d (mean ± sd), the largest
    malformed rate, the collapse rate with its Wilson interval, and s/iteration (median over jobs)."""
    rows = []
    for variant, group in jobs.groupby("variant", sort=True):
        inside = group[group["learned"]]
        rate = collapse_rate(inside)
        cell = (f"{rate['collapsed']}/{rate['at_risk']} = {rate['rate']:.2f} [{rate['low']:.2f}, {rate['high']:.2f}]"
                if rate["at_risk"] else "–")
        rows.append({"variant": variant, "learned start": f"{len(inside)}/{len(group)}",
                     "solved": f"{int(inside['solved_at'].notna().sum())}/{len(inside)}",
                     "iterations to solve": censored_median(inside["solved_at"], int(group["budget"].max())),
                     "final greedy": mean_sd(inside["final_greedy"]),
                     "final length / d": mean_sd(inside["final_length_ratio"]),
                     "max malformed": f"{inside['max_malformed'].max():.3f}" if len(inside) else "–",
                     "collapsed / solved [Wilson 95%]": cell,
                     "s / iteration": f"{inside['seconds_per_iteration'].median():.3f}" if len(inside) else "–"})
    return pd.DataFrame(rows)
