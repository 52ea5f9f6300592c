"""Empirical checks of the parity claims on stored sweep tables: ``python -m sweeps.checks [--profile paper]``.

The claims ledger (core/ledger.py) judges these statements of Tsilivis et al. 2025 (docs/research/parity_cot_rl.md) on
what the sweeps measured on trained models (results/sweeps/<experiment>/<profile>/{results,steps}.parquet,
sweeps/collect.py), with the same engine, verdicts and schema as the exact claims.  One instance is one trained
model (a seed of a configuration); each model's accuracies and fractions carry a Wilson interval over its
held-out prompts (sweeps/evidence.py), a claim about a mean or a location carries a bootstrap or fit interval
over seeds, and the engine applies the quantifier.  A check needs the sweeps it names: a sweep that exists at the
profile but has no collected tables makes the check ``error`` (the detail names the sweep command), a sweep with
no copy at the profile (``d50`` and ``ablations`` are paper size only) drops it from that profile.

This module holds the NTP claims (the 1/3 threshold, judged as a threshold: sweeps/threshold.py, and length
calibration) and the command; sweeps/rl_checks.py holds the RL and STaR claims, sweeps/compounding_checks.py the
compounding-error claims.

    python -m sweeps.checks --profile paper     # prints the table, writes results/checks/paper/claims.{json,md}
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from core.ledger import REGISTRY, ClaimResult, Context, Criterion, Outcome, claim, evaluate
from core.ledger_report import format_table, write_ledger
from sweeps.collect import RESULTS_ROOT, load_tables
from sweeps.config import LEDGER_PROFILES, present_sweeps
from sweeps.evidence import (
    PAPER,
    SMALL_D,
    Tables,
    budget_note,
    fraction_criterion,
    full_chain,
    gap_criterion,
    learned_chain,
    spread,
)
from sweeps.threshold import (
    BAND,
    BOOTSTRAP_STREAM,
    CONTINUE_MARGIN,
    THRESHOLD,
    continue_probability,
    estimate_crossing,
    resolved,
)

THM1 = f"{PAPER}, Thm 1 ([S] summaries, docs/research/parity_cot_rl.md §6.1; derivation §6.2)"
BELOW = ("fig1_ntp_vs_rl", "fig2_threshold", "d50", "ablations")
MARGIN_TEXT = (f"informative only where the NTP optimum's continue probability 2p/(1+p) is ≥ {CONTINUE_MARGIN} "
               f"from 1/2, i.e. p_cot ≤ {BAND[0]:.3f} or ≥ {BAND[1]:.3f} (sweeps/threshold.py: inside that band a "
               "model within the suite's 0.05 tolerance on length probabilities can land on either side of 1/2)")
CHANCE_TOLERANCE = ("Tolerance 0.05: the optimum's greedy answer x_1 is right iff parity = x_1, so exactly 1/2; "
                    "0.05 lets a model continue on up to 10% of prompts and still count as at chance, against the "
                    "solved alternative 1.")


def below_third(tables: Tables) -> pd.DataFrame:
    """NTP models of every loaded sweep with p_cot < 1/3 on the full chain."""
    runs = tables.runs()
    return runs[(runs["task.p_cot"] < THRESHOLD) & full_chain(runs)]


def decisive(criterion: Criterion) -> str:
    """'label v [low, high]' of the informative instance nearest to failing (largest for '<=', smallest '>=')."""
    keep = [i for i, ok in enumerate(criterion.informative) if ok]
    if not keep:
        return "no informative model"
    pick = max(keep, key=lambda i: criterion.value[i] if criterion.direction == "<=" else -criterion.value[i])
    return (f"{criterion.labels[pick]} {criterion.value[pick]:.3f} [{criterion.low[pick]:.3f}, "
            f"{criterion.high[pick]:.3f}]")


def near_threshold(runs: pd.DataFrame) -> tuple[dict, str]:
    """Measured numbers and detail of the models inside the band (not evidence), with what would decide them."""
    inside = runs[~resolved(runs["task.p_cot"])]
    by_p = {f"{p:g}": sorted(group["ntp.greedy/accuracy"].round(3).tolist())
            for p, group in inside.groupby("task.p_cot")}
    text = "; ".join(f"p_cot = {p} (|2p/(1+p) − 1/2| = {abs(continue_probability(float(p)) - 0.5):.3f}): greedy acc "
                     f"{spread(accuracies)}" for p, accuracies in by_p.items())
    detail = (f" Not evidence (inside the band): {text}; deciding there needs models whose continue probability is "
              "off the optimum by less than that gap on every prompt (a larger NTP budget).") if by_p else ""
    return {"inside the band: p_cot -> greedy acc": by_p}, detail


def threshold_outcome(runs: pd.DataFrame, criterion: Criterion, what: str) -> Outcome:
    """Outcome of a threshold claim: the criterion, the models inside the band named and set aside."""
    informative = int(sum(criterion.informative))
    inside_measured, inside_detail = near_threshold(runs)
    return Outcome([criterion], measured={"models": len(runs), "beyond the margin": informative} | inside_measured,
                   detail=f"{informative} of {len(runs)} {what} beyond the margin; decisive: {decisive(criterion)}."
                          + budget_note(criterion) + inside_detail)


def chance_outcome(runs: pd.DataFrame) -> Outcome:
    """|greedy accuracy − 1/2| ≤ 0.05 per NTP model below 1/3, informative beyond the margin."""
    criterion = gap_criterion("|greedy acc − 1/2|", runs, "ntp.greedy/accuracy", 0.5, "ntp", 0.05,
                              informative=resolved(runs["task.p_cot"]))
    return threshold_outcome(runs, criterion, "NTP models below 1/3")


@claim(
    id="parity.ntp.greedy_at_chance_below_third", kind="source", quantifier="for-all", source=THM1,
    statement="After NTP on D(p_cot) with p_cot < 1/3, greedy decoding is at chance (accuracy 1/2), whatever d.",
    check=f"Every NTP model with p_cot < 1/3 on the leap-1 chain, {MARGIN_TEXT}: |greedy accuracy − 1/2| ≤ 0.05 "
          f"with its Wilson interval. {CHANCE_TOLERANCE}", requires=BELOW)
def greedy_chance(ctx: Context) -> Outcome:
    return chance_outcome(below_third(ctx.tables))


@claim(
    id="parity.ntp.greedy_at_chance_beyond_small_d", kind="derived", quantifier="for-all",
    source=f"{PAPER}, Thm 1 (nearest true statement for the tiny GPT)",
    statement=f"Below 1/3, NTP's greedy decoder is at chance for d > {SMALL_D}; at d ≤ {SMALL_D} the tiny GPT can "
              "learn the short answer (parity of d bits) itself, and then greedy decoding answers correctly with "
              "short responses, which is outside the theory's premise (an unlearnable short map).",
    check=f"As parity.ntp.greedy_at_chance_below_third on the models with d > {SMALL_D}. The d ≤ {SMALL_D} models "
          "are listed with their greedy accuracy, greedy long fraction and sampled accuracy.", requires=BELOW)
def greedy_chance_beyond_small_d(ctx: Context) -> Outcome:
    runs = below_third(ctx.tables)
    small = runs[runs["task.d"] <= SMALL_D]
    outcome = chance_outcome(runs[runs["task.d"] > SMALL_D])
    columns = ("ntp.greedy/accuracy", "ntp.greedy/long_fraction", "ntp.sampled/accuracy")
    outcome.measured[f"d <= {SMALL_D} (greedy acc, greedy long, sampled acc)"] = {
        f"{row['experiment']}/{row['job']}": [round(row[c], 3) for c in columns] for _, row in small.iterrows()}
    return outcome


@claim(
    id="parity.ntp.greedy_solves_above_third", kind="source", quantifier="for-all", source=THM1,
    statement="After NTP with p_cot > 1/3, greedy decoding emits the long chain and is correct (NTP suffices).",
    check=f"Every NTP model with p_cot > 1/3 (fig2), {MARGIN_TEXT}: greedy accuracy ≥ 0.95 with its Wilson "
          "interval (solved = 1; 0.05 of slack for a chain that errs on a few prompts).", requires=("fig2_threshold",))
def greedy_above(ctx: Context) -> Outcome:
    runs = ctx.tables.runs()
    runs = runs[(runs["task.p_cot"] > THRESHOLD) & full_chain(runs)]
    criterion = fraction_criterion("greedy acc", runs, "ntp.greedy/accuracy", "ntp", 0.95, ">=",
                                   informative=resolved(runs["task.p_cot"]))
    return threshold_outcome(runs, criterion, "NTP models above 1/3")


@claim(
    id="parity.ntp.threshold_location", kind="source", quantifier="for-all",
    source=f"{PAPER}, Thm 1 and Fig. 2 (the threshold p_cot = 1/3; [S] docs/research/parity_cot_rl.md §5.1, §6.1); "
           "derivation §6.2",
    statement="For each model family, the p_cot at which the NTP greedy decoder's long fraction crosses 1/2 is 1/3.",
    check="Per model (gpt, linear) of fig2: p* = where the seed-mean greedy long fraction crosses 1/2 (linear "
          "interpolation between the bracketing p_cot values), 95% percentile bootstrap over seeds of the bracket "
          "ends (sweeps/threshold.py; 2000 resamples). Criterion: how far 1/3 lies outside that interval ≤ 0 (the "
          "interval itself is the tolerance). An interval that contains 1/3 but is not inside the band "
          f"({BAND[0]:.3f}, {BAND[1]:.3f}) is too wide to locate the threshold: not informative.",
    requires=("fig2_threshold",))
def threshold_location(ctx: Context) -> Outcome:
    runs = ctx.tables["fig2_threshold"][0]
    runs = runs[full_chain(runs)]
    crossings = [estimate_crossing(group, model, ctx.rng(BOOTSTRAP_STREAM))
                 for model, group in runs.groupby("model.name", sort=True)]
    criterion = Criterion("1/3 outside the p* interval by", [c.distance for c in crossings], 0.0,
                          interval="percentile bootstrap over seeds of the grid bracket of the crossing",
                          informative=[c.informative for c in crossings], labels=[c.model for c in crossings])
    return Outcome([criterion], measured={c.model: {"p*": json_number(c.estimate), "seeds": c.seeds,
                                                    "95% interval": [json_number(c.low), json_number(c.high)]}
                                          for c in crossings},
                   detail=" ".join(crossing_sentence(c) for c in crossings),
                   tables={"p_star": [c.row() for c in crossings]})


def json_number(value: float) -> float | str | None:
    """A number for claims.json (strict JSON): infinite ends as '-inf'/'inf', an undefined estimate as None."""
    return float(value) if np.isfinite(value) else None if np.isnan(value) else str(value)


def crossing_sentence(c) -> str:
    """One model's p* with its interval and what it says about 1/3 (and what budget would decide if nothing)."""
    verdict = ("contains 1/3" if c.contains_threshold else "excludes 1/3") if c.informative else (
        f"contains 1/3 but is not inside the band ({BAND[0]:.3f}, {BAND[1]:.3f}): p_cot values inside the band on "
        "both sides of 1/3, or more seeds, would decide")
    estimate = f"{c.estimate:.3f}" if np.isfinite(c.estimate) else "not crossed inside the grid"
    return (f"{c.model}: p* = {estimate} [{c.low:.3g}, {c.high:.3g}] ({c.seeds} seeds, p_cot grid "
            f"{', '.join(f'{p:g}' for p in c.grid)}): {verdict}.")


@claim(
    id="parity.ntp.length_calibration", kind="source", quantifier="for-all",
    source=f"{PAPER}, §3.2 ([Q] 'calibrated with respect to length'; docs/research/parity_cot_rl.md §6.2 step 3)",
    statement="NTP models generate long responses with probability p_cot at T = 1, so their sampled accuracy is "
              "(1 + p_cot)/2.",
    check="NTP models whose chain is learned (forced-long accuracy ≥ 0.95), leap-1: |sampled long fraction − p_cot| "
          "≤ 0.05 (primary), |sampled accuracy − (1 + p_cot)/2| ≤ 0.05 (secondary; informative at d > "
          f"{SMALL_D} only, where the short answer is a coin to the model), each with its Wilson interval. "
          "Tolerance 0.05: the optimum is exact; 0.05 is the suite's allowance for a finite-budget model.",
    requires=("fig1_ntp_vs_rl", "fig2_threshold", "fig3_rl_curves", "d50", "ablations"))
def calibration(ctx: Context) -> Outcome:
    runs = ctx.tables.runs()
    runs = runs[learned_chain(runs) & full_chain(runs)]
    long_gap = gap_criterion("|P(long) − p_cot|", runs, "ntp.sampled/long_fraction", runs["task.p_cot"], "ntp", 0.05)
    accuracy_gap = gap_criterion("|P(correct) − (1+p)/2|", runs, "ntp.sampled/accuracy", (1 + runs["task.p_cot"]) / 2,
                                 "ntp", 0.05, informative=runs["task.d"] > SMALL_D)
    return Outcome([long_gap, accuracy_gap], measured={"models": len(runs)},
                   detail=f"{len(runs)} NTP models with a learned chain; largest long-fraction gap "
                          f"{decisive(long_gap)}; largest accuracy gap {decisive(accuracy_gap)}."
                          + budget_note(long_gap) + budget_note(accuracy_gap))


# The other sweep checks register after these (their order is the ledger's order).
from sweeps import rl_checks  # noqa: E402, F401, I001
from sweeps import compounding_checks  # noqa: E402, F401, I001
from sweeps import scaling_checks  # noqa: E402, F401, I001
from sweeps import short_map_checks  # noqa: E402, F401, I001
from sweeps import star_odds_checks  # noqa: E402, F401, I001
from sweeps import grpo_scaling_checks  # noqa: E402, F401, I001
from sweeps import reward_model_checks  # noqa: E402, F401, I001
from sweeps import endogenous_checks  # noqa: E402, F401, I001
from sweeps import rl_variants_checks  # noqa: E402, F401, I001


def sweep_checks() -> list:
    """The registered claims that read sweep tables (``requires`` non-empty), in registration order."""
    return [spec for spec in REGISTRY.values() if spec.requires]


def run_checks(profile: str, results_root: Path = RESULTS_ROOT, seed: int = 0) -> list[ClaimResult]:
    """Evaluate every sweep check whose sweeps exist at ``profile`` (tables loaded from ``results_root``)."""
    results = []
    for spec in sweep_checks():
        present = present_sweeps(spec.requires, profile)
        if not present:
            continue
        # A sweep without collected tables makes load_tables raise, naming the command: the check becomes `error`.
        run = lambda ctx, spec=spec, present=present: spec.run(replace(ctx, tables=Tables(  # noqa: E731
            {name: load_tables(name, profile, results_root) for name in present}, profile, results_root)))
        results.append(evaluate(replace(spec, run=run, check=f"{spec.check} Sweeps: {', '.join(present)} ({profile})."),
                                Context(LEDGER_PROFILES[profile], seed)))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sweeps.checks", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=sorted(LEDGER_PROFILES), default="quick", help="sweep size to read")
    parser.add_argument("--results-root", type=Path, default=RESULTS_ROOT, help="root of the sweep directories")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap resamples (verdicts must not move)")
    parser.add_argument("--out", type=Path, default=None, help="where claims.json/md go (<root>/checks/<profile>)")
    args = parser.parse_args(argv)
    name = args.profile if args.seed == 0 else f"{args.profile}-seed{args.seed}"
    out = args.out or RESULTS_ROOT.parent / "checks" / name
    results = run_checks(args.profile, args.results_root, args.seed)
    print(format_table(results))
    write_ledger(out, results, args.profile, args.seed, title="Empirical checks")
    print(f"wrote {out / 'claims.json'} and {out / 'claims.md'}")
    return 1 if any(r.verdict == "error" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
