"""Cost to solve parity against size, from the scaling sweeps, and the censoring-aware fits of its growth.

The parity paper's thesis is about cost as the problem grows (Tsilivis et al. 2025; docs/research/parity_cot_rl.md
§6.4): NTP alone needs "extreme statistical or computational resources", NTP + RL is efficient unless p_cot is
exponentially small in d, and STaR needs O(log((1 − p)/p)) rounds.  The scaling sweeps
(conf/experiment/sweep_scaling_*.yaml) measure the cost of each run by stopping every stage at its solve criterion
(toy/evaluate.py ``solve_record``); this module turns their results tables into one cost table and fits it.

**Cost of a run** (samples = training sequences of NTP + responses sampled by RL):

    cost = (NTP samples until its criterion, or the NTP cap if never met) + (RL samples until greedy ≥ 0.95, or the
           RL cap if never met; 0 without an RL stage)

and the run is *censored* when its final goal (greedy accuracy ≥ 0.95: NTP's criterion without RL, RL's with it)
was not met within the caps, or when its NTP stage stopped at its cap: its cost is then only a lower bound, and the
fits use it as one (core/censored_fit.py, Tobit regression with profile-likelihood intervals).  A run whose NTP stage
missed its chain criterion is censored even when the RL stage after it solved, because the procedure the scaling
sweeps state is "NTP until the chain is learned, then RL": that run's NTP part is only known to exceed the cap, and
read as solved at the cap it would bend a growing cost curve down (towards polynomial).

**Which law fits better** is Vuong's test for non-nested models: the per-run log-likelihood differences
ℓ_exp,i − ℓ_pow,i of the two fitted laws, their mean with a Student-t interval over runs (> 0: the exponential law
fits better; < 0: the power law; an interval holding 0 decides neither).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.censored_fit import compare_laws, crossover, log_likelihood_terms
from core.intervals import t_interval

COST_COLUMNS = ["experiment", "job", "regime", "task.d", "task.p_cot", "p_cot_law", "seed", "cost", "censored",
                "ntp_samples", "ntp_censored", "ntp_at_first_check", "rl_samples", "rounds", "rl_iterations",
                "rl_at_first_check", "solved_long"]


def result_column(runs: pd.DataFrame, name: str) -> pd.Series:
    """A column of the results table, or an all-missing one (a sweep without an RL stage has no rl.* columns)."""
    return runs[name] if name in runs else pd.Series(np.nan, index=runs.index)


def regime(runs: pd.DataFrame) -> pd.Series:
    """'ntp_alone' (no RL stage), or '<model>_<rl algo>' (e.g. 'gpt_grpo', 'linear_star')."""
    algo = runs["rl.algo"].astype(str)
    return pd.Series(np.where(algo == "none", "ntp_alone", runs["model.name"].astype(str) + "_" + algo),
                     index=runs.index)


def cost_table(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per run of a scaling sweep (columns COST_COLUMNS; module docstring for the cost and censoring)."""
    ntp_solved = result_column(runs, "ntp_solved.samples")
    ntp_samples = ntp_solved.fillna(result_column(runs, "ntp_solved.budget_samples"))
    has_rl = runs["rl.algo"] != "none"
    rl_solved = result_column(runs, "rl.solved.samples")
    rl_samples = rl_solved.fillna(result_column(runs, "rl.solved.budget_samples")).where(has_rl, 0.0)
    solved = rl_solved.notna().where(has_rl, ntp_solved.notna())
    rl_step = pd.to_numeric(result_column(runs, "rl.solved.step")).astype(float)  # NaN: never solved (or no RL)
    return pd.DataFrame({
        "experiment": runs["experiment"], "job": runs["job"], "regime": regime(runs),
        "task.d": runs["task.d"].astype(int), "task.p_cot": runs["task.p_cot"].astype(float),
        "p_cot_law": result_column(runs, "p_cot_law").astype(object).fillna("fixed").astype(str),
        "seed": runs["seed"].astype(int),
        "cost": (ntp_samples + rl_samples).astype(float), "censored": ~solved.astype(bool) | ntp_solved.isna(),
        "ntp_samples": ntp_samples.astype(float), "ntp_censored": ntp_solved.isna(),
        # Met at the first evaluation: the cost is only known to be at most one resolution (left-censored).
        "ntp_at_first_check": result_column(runs, "ntp_solved.step") == result_column(runs, "ntp_solved.resolution"),
        "rl_samples": rl_samples.astype(float), "rounds": rl_step,
        # Iterations (STaR: rounds) until greedy >= 0.95, or the iterations run when censored: a lower bound then.
        "rl_iterations": rl_step.fillna(result_column(runs, "rl.iterations")).where(has_rl).astype(float),
        # Met at (or before: step 0) the first evaluation: only "at most one resolution" is known.
        "rl_at_first_check": rl_step <= result_column(runs, "rl.solved.resolution"),
        # How a solved NTP-alone model answers: greedy long (the chain) or short (it learned the short map).
        "solved_long": result_column(runs, "ntp.greedy/long_fraction").astype(float) >= 0.5,
    }, columns=COST_COLUMNS).reset_index(drop=True)


def vuong(sizes, costs, censored, comparison: dict) -> tuple[float, float, float]:
    """(mean, low, high) of the per-run log-likelihood difference exponential − power (Student-t over runs)."""
    exponential, power = (log_likelihood_terms(sizes, costs, censored, law, comparison[law].intercept,
                                               comparison[law].slope, comparison[law].sigma)
                          for law in ("exponential", "power"))
    return t_interval(exponential - power)


def fit_curve(sizes, costs, censored) -> dict:
    """Both laws fitted to one cost curve, with Vuong's comparison; {'error': why} when the data locate no curve
    (fewer than 3 solved runs, one size: core/censored_fit.py) or a law's fit is unbounded."""
    sizes, costs, censored = (np.asarray(a) for a in (sizes, costs, censored))
    try:
        comparison = compare_laws(sizes, costs, censored.astype(bool))
    except ValueError as exc:
        return {"error": str(exc), "n": len(sizes), "n_censored": int(censored.sum())}
    row: dict = {"n": len(sizes), "n_censored": int(censored.sum())}
    for law in ("exponential", "power"):
        fit = comparison[law]
        row |= {f"{law}.slope": fit.slope, f"{law}.low": fit.slope_low, f"{law}.high": fit.slope_high}
    finite = all(np.isfinite(comparison[law].slope) for law in ("exponential", "power"))
    row["vuong"], row["vuong.low"], row["vuong.high"] = (
        vuong(sizes, costs, censored.astype(bool), comparison) if finite else (np.nan, np.nan, np.nan))
    return row


def fit_table(costs: pd.DataFrame, by: list[str], size: str = "task.d") -> pd.DataFrame:
    """One fitted curve (fit_curve) per group of ``by``, cost against the column ``size``."""
    rows = []
    for key, group in costs.groupby(by, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        rows.append(dict(zip(by, key, strict=True)) | fit_curve(group[size], group["cost"], group["censored"]))
    return pd.DataFrame(rows)


def curve_keys(costs: pd.DataFrame) -> list[str]:
    """The columns that name one cost-vs-d curve: the regime and p_cot, or the law p_cot follows in d."""
    return ["regime", "p_cot_law"] if (costs["p_cot_law"] != "fixed").any() else ["regime", "task.p_cot"]


def summary_table(costs: pd.DataFrame) -> pd.DataFrame:
    """Median and range of the cost per (regime, p_cot, d) over seeds, with the number of censored runs: a median
    over runs some of which are censored is itself a lower bound when censored runs reach the median."""
    grouped = costs.groupby(["experiment", *curve_keys(costs), "task.d"])
    table = grouped["cost"].agg(["median", "min", "max", "count"])
    table["censored"] = grouped["censored"].sum()
    table["median_is_lower_bound"] = table["censored"] * 2 >= table["count"]
    return table.reset_index()


def log_odds(p_cot) -> np.ndarray:
    """log2((1 − p)/p): the number of odds doublings from p to even odds (docs/research/parity_cot_rl.md §6.3)."""
    p_cot = np.asarray(p_cot, dtype=float)
    return np.log2((1 - p_cot) / p_cot)


def preferred_fit(group: pd.DataFrame):
    """The censored fit of cost vs d under the law Vuong's comparison (by point estimate) prefers, or None when the
    data locate no curve."""
    try:
        comparison = compare_laws(group["task.d"], group["cost"], group["censored"])
    except ValueError:
        return None
    fit = comparison[comparison["better"] or "exponential"]
    return fit if np.isfinite(fit.slope) else None


CROSSOVER_GRID = np.arange(2, 257)  # d at which the fitted laws are compared


def crossovers(costs: pd.DataFrame, grid=CROSSOVER_GRID) -> pd.DataFrame:
    """Per NTP-alone curve and NTP + RL curve of the GPT: the smallest d on ``grid`` where the fitted NTP-alone cost
    exceeds the fitted NTP + RL cost (an extrapolation outside the measured sizes: read it with the fits' intervals)."""
    alone = costs[costs["regime"] == "ntp_alone"]
    with_rl = costs[costs["regime"].str.startswith("gpt_")]  # the NTP-alone sweep trains the GPT: same model only
    rows = []
    for (p_alone, a), ((rl_regime, p_rl), b) in ((x, y) for x in alone.groupby("task.p_cot")
                                                 for y in with_rl.groupby(["regime", "task.p_cot"])):
        fit_a, fit_b = preferred_fit(a), preferred_fit(b)
        d = crossover(fit_a, fit_b, grid) if fit_a is not None and fit_b is not None else None
        rows.append({"ntp_alone p_cot": p_alone, "with RL": f"{rl_regime}, p_cot = {p_rl:g}",
                     "crossover d": "no fit" if fit_a is None or fit_b is None else (d if d is not None else "none")})
    return pd.DataFrame(rows)
