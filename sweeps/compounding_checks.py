"""Empirical checks of compounding error on the trained parity chains (per-step vs whole-chain error).

Registered with the NTP checks of sweeps/checks.py.  They read each sweep's compounding table
(sweeps/compounding.py): per NTP or RL checkpoint, the teacher-forced per-step error ε_t (t = 2..d), the exact
whole-chain failure F = 1 − E_x Π_t (1 − ε_t(x)) and the failure of forced-long samples, on fixed held-out
prompts.  F and Σε are exact expectations over the model's own token probabilities on those prompts (no
response sampling; per-prompt values are not stored, so there is no interval over prompts); the sampled answer
failure is a fraction of one sample per prompt (Wilson); the growth in d is a least-squares slope over models
with its Student-t interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.intervals import slope_interval
from core.ledger import Context, Criterion, Outcome, claim
from sweeps.evidence import SMALL_D, Tables, gap_bounds, gap_criterion, labels, spread

# The sweeps whose jobs measure the compounding profile (their experiments set compounding_prompts): trained chains
# at several d (fig1, d50) and broken chains (the ablations: too-early, T = 2).
COMPOUNDING_SWEEPS = ("fig1_ntp_vs_rl", "d50", "ablations")
BOUNDS = ("Generalist Reward Models, Thm 2 (compounding error of behaviour cloning, O(H²) vs O(H)); Ross & Bagnell "
          "2010 (docs/research/endogenous_reward_bounds.md §4.1)")
# Σ_t ε_t ≤ 0.1: errors rare.  With independent steps F = 1 − Π(1 − ε_t) ≥ Σε − (Σε)²/2, so |F/Σε − 1| ≤ Σε/2 ≤ 0.05:
# the tolerance of the identity check; a larger gap means errors co-occur on the same prompts.
RARE = 0.1
EXACT_ON_PROMPTS = "exact on the fixed held-out prompts (teacher-forced probabilities; no per-prompt values stored)"
GROWTH_TOLERANCE = 0.25  # |b − 1|: tells proportional growth (b = 1) from none (0) and from quadratic (2)


def compounding_models(tables: Tables) -> pd.DataFrame:
    """The compounding rows of every loaded sweep (one per job × stage), with the chain-length column d."""
    return pd.concat([tables.compounding(name) for name in tables], ignore_index=True)


def by_stage(models: pd.DataFrame) -> pd.DataFrame:
    """The rows with the stage in the job label (one job has an NTP and an RL row)."""
    return models.assign(job=models["job"] + " (" + models["stage"] + ")")


@claim(
    id="parity.compounding.failure_is_d_times_step_error", kind="derived", quantifier="for-all", source=BOUNDS,
    statement="Per-step errors compound over the chain: the whole-chain failure F equals d·ε̄ (chain steps × mean "
              "per-step error) while errors are rare, and saturates at 1 − Π_t(1 − ε̄_t) beyond, where the final "
              "answer becomes a coin (an odd number of errors flips it).",
    check=f"Every NTP and RL model (sweeps.compounding): models with Σε ≤ {RARE}: |F/Σε − 1| ≤ 0.05 (primary; the "
          f"second-order term Σε/2 of independent errors is ≤ 0.05 there); all models: |F − (1 − Π(1 − ε̄_t))| ≤ "
          "0.02 (steps err independently); models with F ≥ 0.99: |sampled answer failure − 1/2| ≤ 0.05 with its "
          "Wilson interval (undecided when no model is broken: no data is a caveat, not a pass).",
    requires=COMPOUNDING_SWEEPS)
def compounding_identity(ctx: Context) -> Outcome:
    models = compounding_models(ctx.tables)
    labelled = by_stage(models)
    rare, broken = labelled[labelled["sum_step_error"] <= RARE], labelled[labelled["chain_failure"] >= 0.99]
    ratio_gap = (rare["chain_failure"] / rare["sum_step_error"] - 1).abs()
    criteria = [
        Criterion(f"|F/Σε − 1|, Σε ≤ {RARE}", ratio_gap.to_numpy(), 0.05, interval=EXACT_ON_PROMPTS,
                  labels=labels(rare)),
        Criterion("|F − (1 − Π(1 − ε̄_t))|", (labelled["chain_failure"] - labelled["independent_failure"]).abs()
                  .to_numpy(), 0.02, interval=EXACT_ON_PROMPTS, labels=labels(labelled)),
        gap_criterion("|answer failure − 1/2|, F ≥ 0.99", broken, "sampled_answer_failure", 0.5, "ntp", 0.05,
                      counts=broken["prompts"], interval="Wilson 95% per model over its forced-long samples")]
    # The sampled forced-long failure checks the teacher-forced computation (binomial SE, floored at one sample).
    floor = np.maximum(models["chain_failure"], 1 / models["prompts"])
    sampling_z = (models["sampled_chain_failure"] - models["chain_failure"]).abs() / np.sqrt(
        floor * (1 - models["chain_failure"]) / models["prompts"])
    off = labels(rare[ratio_gap > 0.05])
    detail = (f"{len(rare)} of {len(models)} models with rare errors: F/Σε {spread(1 - ratio_gap, 4)}; off by more "
              f"than 0.05: {', '.join(off) or 'none'}" + (" (F < Σε beyond the second-order term: that model's errors "
                                                           "co-occur on the same prompts)" if off else "")
              + f". {len(broken)} broken chains (F ≥ 0.99)"
              + (f": sampled answer failure {spread(broken['sampled_answer_failure'])}." if len(broken) else
                 ": the coin-flip criterion has no data here."))
    return Outcome(criteria, measured={"models": len(models), f"Σε ≤ {RARE}": len(rare), "F ≥ 0.99": len(broken),
                                       "max |sampled − exact F| / SE": float(sampling_z.max())},
                   detail=detail, tables={"models": models.drop(columns=["run"], errors="ignore").to_dict("records")})


def growth_sentence(slope: float, low: float, high: float) -> str:
    """What the slope interval says about proportional growth (computed from the interval and the tolerance)."""
    band = (1 - GROWTH_TOLERANCE, 1 + GROWTH_TOLERANCE)
    if high < band[0]:
        return "F grows slower than d (the whole interval is below the band): the trained per-step error falls with d"
    if low > band[1]:
        return "F grows faster than d (the whole interval is above the band)"
    if band[0] <= low and high <= band[1]:
        return "F grows in proportion to d (the whole interval is inside the band)"
    margin = abs(abs(slope - 1) - GROWTH_TOLERANCE)  # from the slope to the nearer edge of the band
    outcome = "inside" if abs(slope - 1) <= GROWTH_TOLERANCE else "outside"
    return (f"the interval straddles the band [{band[0]}, {band[1]}]: more chain lengths or seeds would decide "
            f"(half-width {(high - low) / 2:.2f}; at this slope a half-width below {margin:.2f} would put the whole "
            f"interval {outcome} the band)")


@claim(
    id="parity.compounding.failure_grows_linearly_in_d", kind="reading", quantifier="for-all",
    source=f"the suite's reading of the horizon factor of the compounding bound ({BOUNDS}) as a growth law of the "
           "trained failure at a fixed NTP budget: the bound is an upper bound and states no growth law",
    statement="At a fixed NTP budget, behaviour cloning's whole-chain failure grows in proportion to the chain "
              "length d (the horizon factor of the compounding bound).",
    check=f"NTP models with Σε ≤ {RARE}, d > {SMALL_D}: least-squares slope b of log F on log d with its Student-t "
          f"95% interval (n − 2 df); |b − 1| ≤ {GROWTH_TOLERANCE} (primary; the tolerance tells proportional growth "
          "from none and from quadratic). Reported: the slope of log ε̄ (= b − 1 since F = d·ε̄).",
    requires=COMPOUNDING_SWEEPS)
def compounding_growth(ctx: Context) -> Outcome:
    models = compounding_models(ctx.tables)
    ntp = models[(models["stage"] == "ntp") & (models["sum_step_error"] <= RARE) & (models["d"] > SMALL_D)]
    if ntp["d"].nunique() < 2 or len(ntp) < 3:  # no slope interval: the criterion has no data
        return Outcome([Criterion("|slope of log F on log d − 1|", [], GROWTH_TOLERANCE)],
                       measured={"models": len(ntp), "chain lengths": sorted(ntp["d"].unique().tolist())},
                       detail=f"{len(ntp)} NTP models at {ntp['d'].nunique()} chain length(s): a slope interval needs "
                              "at least 3 models at 2 or more chain lengths.")
    slope, low, high = slope_interval(np.log(ntp["d"]), np.log(ntp["chain_failure"]))
    step_slope, _, _ = slope_interval(np.log(ntp["d"]), np.log(ntp["mean_step_error"]))
    gap, near, far = gap_bounds(slope, low, high, 1.0)
    by_d = ntp.groupby("d")[["chain_failure", "mean_step_error"]].mean()
    return Outcome([Criterion("|slope of log F on log d − 1|", gap, GROWTH_TOLERANCE, low=near, high=far,
                              interval="from the Student-t 95% interval of the least-squares slope over models",
                              labels=["slope over NTP models"])],
                   measured={"slope": slope, "95% interval": [low, high], "slope of log ε̄ on log d": step_slope,
                             "models": len(ntp), "mean F by d": by_d["chain_failure"].round(6).to_dict(),
                             "mean per-step error by d": by_d["mean_step_error"].round(7).to_dict()},
                   detail=f"slope {slope:.2f} [{low:.2f}, {high:.2f}] over {len(ntp)} NTP models at d = "
                          f"{', '.join(str(int(d)) for d in by_d.index)}; slope of log ε̄ {step_slope:.2f}: "
                          + growth_sentence(slope, low, high) + ".")
