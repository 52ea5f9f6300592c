"""Empirical checks of the parity claims on stored sweep tables: ``python -m sweeps.checks [--profile paper]``.

The claims ledger (theory/) checks exact statements on enumerable models; these checks read what the sweeps
measured on trained models (results/sweeps/<experiment>/<profile>/{results,steps}.parquet, sweeps/collect.py)
and give each statement of Tsilivis et al. 2025 (research/parity_cot_rl.md) a verdict computed from those
numbers against a stated tolerance, with the same rules and the same table as the ledger (theory.claims:
holds / holds-with-caveat / fails / error).  A check needs the sweeps it names; a sweep that exists at the
profile but has no collected tables makes the check ``error`` (the detail names the sweep command), a sweep
with no copy at the profile (``d50`` and ``ablations`` are paper size only) drops it from that profile.

Tolerances are those of the issues (0.05 on accuracies and fractions, which is 2.2-4 binomial standard errors
on the 512-2048 held-out prompts; 0.02 on the STaR recursion), except where a check says why it differs.

    python -m sweeps.checks --profile paper       # prints the table, writes results/checks/paper/checks.{json,md}
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from core.ledger import REGISTRY, ClaimResult, Context, Criterion, Outcome, claim, evaluate
from core.ledger_report import format_table, write_ledger
from sweeps.collect import RESULTS_ROOT, load_tables
from sweeps.compounding import COMPOUNDING_SWEEPS, load_compounding
from sweeps.config import LEDGER_PROFILES, present_sweeps
from toy.parity import chain_positions

PAPER = "Tsilivis et al. 2025 (RL after NTP)"


class Tables(dict[str, tuple[pd.DataFrame, pd.DataFrame]]):
    """experiment -> (runs, steps) of the loaded sweeps; ``compounding(name)`` reads that sweep's compounding
    table (sweeps/compounding.py) when a check asks for it."""

    def __init__(self, tables: dict, profile: str = "quick", results_root: Path = RESULTS_ROOT) -> None:
        super().__init__(tables)
        self.profile, self.results_root = profile, results_root

    def compounding(self, experiment: str) -> pd.DataFrame:
        return load_compounding(experiment, self.profile, self.results_root).assign(experiment=experiment)


def stacked(tables: Tables) -> pd.DataFrame:
    """The runs tables of every loaded sweep stacked, with an ``experiment`` column."""
    return pd.concat([runs.assign(experiment=name) for name, (runs, _) in tables.items()], ignore_index=True)


def full_chain(runs: pd.DataFrame) -> pd.Series:
    """Jobs on the full chain (leap = 1), the one the 1/3 threshold and length calibration are derived for."""
    return runs["task.leap"] == 1 if "task.leap" in runs else pd.Series(True, index=runs.index)


def below_third(tables: Tables) -> pd.DataFrame:
    """NTP models of every loaded sweep with p_cot < 1/3 on the full chain."""
    runs = stacked(tables)
    return runs[(runs["task.p_cot"] < 1 / 3) & full_chain(runs)]


def chain_length(runs: pd.DataFrame) -> pd.Series:
    """Tokens of the full long response before <eos> (d for the full chain, fewer for a leap chain)."""
    leap = runs["task.leap"] if "task.leap" in runs else pd.Series(1, index=runs.index)
    return pd.Series([len(chain_positions(int(d), int(k))) for d, k in zip(runs["task.d"], leap, strict=True)],
                     index=runs.index)


def ablation(runs: pd.DataFrame, option: str) -> pd.DataFrame:
    """Rows of the ablations sweep made with ``ablation=option`` (the job directory name records the choice)."""
    return runs[runs["job"].str.split(",").apply(lambda parts: f"ablation={option}" in parts)]


def worst(frame: pd.DataFrame, value: pd.Series, label: str, smallest: bool = False) -> str:
    """'label = v at E/J' for the row of ``frame`` where ``value`` is largest (or smallest): names the worst case."""
    index = value.idxmin() if smallest else value.idxmax()
    return f"{label} = {value[index]:.3g} at {frame.loc[index, 'experiment']}/{frame.loc[index, 'job']}"


def learned_chain(runs: pd.DataFrame, prefix: str = "ntp.") -> pd.Series:
    """The chain is learned: greedy decoding with <eos> forbidden until the end gives the answer (≥ 0.95)."""
    return runs[f"{prefix}forced_long/accuracy"] >= 0.95


BELOW = ("fig1_ntp_vs_rl", "fig2_threshold", "d50", "ablations")


@claim(
    kind="seed", quantifier="for-all",
    id="parity.ntp.greedy_at_chance_below_third", source=f"{PAPER}, Thm 1 (pre-training); research notes §6.2",
    statement="After NTP on D(p_cot) with p_cot < 1/3, greedy decoding is at chance (accuracy 1/2), whatever d.",
    check="Every NTP model with p_cot < 1/3 (leap-1 chain): max |greedy accuracy − 0.5| ≤ 0.05.",
    requires=BELOW)
def greedy_chance(ctx: Context) -> Outcome:
    tables: Tables = ctx.tables
    runs = below_third(tables)
    deviation = (runs["ntp.greedy/accuracy"] - 0.5).abs()
    return Outcome([Criterion("max |greedy acc − 1/2|", deviation.max(), 0.05)],
                   measured={"jobs": len(runs), "p_cot": sorted(runs["task.p_cot"].unique().tolist())},
                   detail=f"{len(runs)} NTP models; " + worst(runs, deviation, "max deviation"))


SMALL_D = 8  # the tiny GPT learned the short map (8-bit parity) by NTP in the d = 8 pilot runs (tests/test_learning.py)


@claim(
    quantifier="for-all",
    id="parity.ntp.greedy_at_chance_beyond_small_d", kind="derived",
    source=f"{PAPER}, Thm 1 (nearest true statement for the tiny GPT)",
    statement=f"Below 1/3, NTP's greedy decoder is at chance for d > {SMALL_D}; at d ≤ {SMALL_D} the tiny GPT can "
              "learn the short answer (parity of d bits) itself, and then greedy decoding answers correctly with "
              "short responses, which is outside the theory's premise (an unlearnable short map).",
    check=f"NTP models with p_cot < 1/3, leap-1, d > {SMALL_D}: max |greedy accuracy − 0.5| ≤ 0.05. The d ≤ {SMALL_D} "
          "models are listed with their greedy accuracy, greedy long fraction and sampled accuracy.",
    requires=BELOW)
def greedy_chance_beyond_small_d(ctx: Context) -> Outcome:
    tables: Tables = ctx.tables
    runs = below_third(tables)
    large, small = runs[runs["task.d"] > SMALL_D], runs[runs["task.d"] <= SMALL_D]
    deviation = (large["ntp.greedy/accuracy"] - 0.5).abs()
    columns = ("ntp.greedy/accuracy", "ntp.greedy/long_fraction", "ntp.sampled/accuracy")
    return Outcome([Criterion(f"max |greedy acc − 1/2|, d > {SMALL_D}", deviation.max(), 0.05)],
                   measured={"jobs": len(large), "d": sorted(large["task.d"].unique().tolist()),
                             f"d <= {SMALL_D} (greedy acc, greedy long, sampled acc)": {
                                 f"{row['experiment']}/{row['job']}": [round(row[c], 3) for c in columns]
                                 for _, row in small.iterrows()}},
                   detail=f"{len(large)} NTP models with d > {SMALL_D}; " + worst(large, deviation, "max deviation"))


@claim(
    kind="seed", quantifier="for-all",
    id="parity.ntp.greedy_solves_above_third", source=f"{PAPER}, Thm 1; research notes §6.2",
    statement="After NTP with p_cot > 1/3, greedy decoding emits the long chain and is correct (NTP suffices).",
    check="Every NTP model with p_cot > 1/3: min greedy accuracy ≥ 0.95.", requires=("fig2_threshold",))
def greedy_above(ctx: Context) -> Outcome:
    tables: Tables = ctx.tables
    runs = stacked(tables)
    runs = runs[runs["task.p_cot"] > 1 / 3]
    shortfall = 1 - runs["ntp.greedy/accuracy"]
    return Outcome([Criterion("min greedy acc", 1 - shortfall.max(), 0.95, ">=")], measured={"jobs": len(runs)},
                   detail=f"{len(runs)} NTP models; " + worst(runs, shortfall, "max 1 − accuracy"))


@claim(
    kind="seed", quantifier="for-all",
    id="parity.ntp.length_calibration", source=f"{PAPER}, §3.2 ('calibrated with respect to length')",
    statement="NTP models generate long responses with probability p_cot at T = 1, so their sampled accuracy is "
              "(1 + p_cot)/2.",
    check="NTP models whose chain is learned (forced-long accuracy ≥ 0.95), leap-1: max |sampled long fraction − "
          "p_cot| ≤ 0.05 (primary), max |sampled accuracy − (1 + p_cot)/2| ≤ 0.05.",
    requires=("fig1_ntp_vs_rl", "fig2_threshold", "fig3_rl_curves", "d50", "ablations"))
def calibration(ctx: Context) -> Outcome:
    tables: Tables = ctx.tables
    runs = stacked(tables)
    runs = runs[learned_chain(runs) & full_chain(runs)]
    long_gap = (runs["ntp.sampled/long_fraction"] - runs["task.p_cot"]).abs()
    accuracy_gap = (runs["ntp.sampled/accuracy"] - (1 + runs["task.p_cot"]) / 2).abs()
    return Outcome([Criterion("max |P(long) − p_cot|", long_gap.max(), 0.05),
                    Criterion("max |P(correct) − (1+p)/2|", accuracy_gap.max(), 0.05)],
                   measured={"jobs": len(runs)},
                   detail=f"{len(runs)} NTP models; {worst(runs, long_gap, 'max long-fraction gap')}; "
                          f"{worst(runs, accuracy_gap, 'max accuracy gap')}")


POLICY_GRADIENT = ("fig1_ntp_vs_rl", "fig3_rl_curves", "d50", "ablations")


def policy_gradient_runs(tables: Tables) -> pd.DataFrame:
    """GRPO / REINFORCE jobs that start from a learned chain (full or leap chain) and p_cot > 0."""
    runs = stacked(tables)
    return runs[runs["rl.algo"].isin(["grpo", "reinforce"]) & learned_chain(runs, "rl.start.")
                & (runs["task.p_cot"] > 0)]


@claim(
    kind="seed", quantifier="for-all",
    id="parity.rl.greedy_solves_and_length_grows", source=f"{PAPER}, §3.1 and Fig. 3; research notes §6.3",
    statement="RL (GRPO, REINFORCE) after NTP takes greedy accuracy from chance to ~100% while the response "
              "length grows to the chain's length.",
    check="GRPO/REINFORCE jobs starting from a learned chain: min final greedy accuracy ≥ 0.95 (primary); min final "
          "sampled (T = 1) mean length / chain length ≥ 0.9.", requires=POLICY_GRADIENT)
def rl_solves(ctx: Context) -> Outcome:
    tables: Tables = ctx.tables
    runs = policy_gradient_runs(tables)
    shortfall = 1 - runs["rl.final.greedy/accuracy"]
    length_ratio = runs["rl.final.sampled/mean_length"] / chain_length(runs)
    return Outcome([Criterion("min final greedy acc", 1 - shortfall.max(), 0.95, ">="),
                    Criterion("min sampled length / chain", length_ratio.min(), 0.9, ">=")],
                   measured={"jobs": len(runs)},
                   detail=f"{len(runs)} RL jobs; {worst(runs, shortfall, 'max 1 − accuracy')}; "
                          f"{worst(runs, length_ratio, 'min length ratio', smallest=True)}")


@claim(
    kind="seed", quantifier="for-all",
    id="parity.rl.iterations_to_solve", source="research notes §5.3 (GRPO: greedy 1.0 by iteration 10 at d = 16)",
    statement="From a learned chain, GRPO/REINFORCE reach greedy accuracy ≥ 0.95 within 60 iterations.",
    check="First evaluated iteration with held-out greedy accuracy ≥ 0.95 (resolution: rl_eval.every); the number "
          "of jobs not there by iteration 60 (never, or later) ≤ 0.", requires=POLICY_GRADIENT)
def iterations_to_solve(ctx: Context) -> Outcome:
    tables: Tables = ctx.tables
    runs, first = policy_gradient_runs(tables), {}
    for experiment, (_, steps) in tables.items():
        solved = steps[(steps["stage"] == "rl") & (steps["metric"] == "greedy/accuracy") & (steps["value"] >= 0.95)]
        first |= {(experiment, job): step for job, step in solved.groupby("job")["step"].min().items()}
    needed = pd.Series([first.get((e, j), np.inf) for e, j in zip(runs["experiment"], runs["job"], strict=True)],
                       index=runs.index, dtype=float)
    late = runs[needed > 60]
    # Per algorithm, the iterations each job needed (None: never solved; JSON has no infinity).
    by_algo = {f"{algo}: iterations": [None if np.isinf(n) else n for n in sorted(needed[runs["rl.algo"] == algo])]
               for algo in sorted(runs["rl.algo"].unique())}
    return Outcome([Criterion("jobs not solved by iteration 60", len(late), 0)],
                   measured={"jobs": len(runs), **by_algo},
                   detail="late or never: " + (", ".join(f"{e}/{j}" for e, j in zip(late["experiment"], late["job"],
                                                                                       strict=True)) or "none"))


@claim(
    kind="seed", quantifier="for-all",
    id="parity.star.recursion_linear", source=f"{PAPER}, §3.2 / Thm 2 (p_n = 2p_{{n−1}}/(1+p_{{n−1}}))",
    statement="STaR on the autoregressive linear model: the long fraction of the kept set follows p_n = "
              "2p_{n−1}/(1+p_{n−1}) from p_0 = p_cot (the odds double every round).",
    check="Rounds 1-5 of every fig4 job: max |kept long fraction − p_n| ≤ 0.02 (primary; p_n from p_0 = p_cot, "
          "no measured input); max |kept − 2s_n/(1+s_n)| ≤ 0.02 with s_n the round's sampled long fraction.",
    requires=("fig4_star",))
def star_linear(ctx: Context) -> Outcome:
    tables: Tables = ctx.tables
    runs, steps = tables["fig4_star"]
    rounds = star_rounds(runs, steps, rounds=5)
    one_step, a_priori = star_gaps(rounds)
    per_round = rounds.assign(gap=a_priori).groupby("step")["gap"].max()
    return Outcome([Criterion("max |kept − p_n|, rounds 1-5", a_priori.max(), 0.02),
                    Criterion("max |kept − 2s/(1+s)|", one_step.max(), 0.02)],
                   measured={"jobs": len(runs), "max gap per round": per_round.round(4).tolist()},
                   tables={"rounds": rounds.to_dict("records")})


def star_rounds(runs: pd.DataFrame, steps: pd.DataFrame, rounds: int) -> pd.DataFrame:
    """One row per (STaR job, round ≤ rounds): its star/* metrics and the a-priori recursion p_n from p_cot."""
    star = steps[(steps["stage"] == "rl") & steps["metric"].str.startswith("star/") & steps["step"].between(1, rounds)]
    wide = star.pivot_table(index=["job", "step"], columns="metric", values="value").reset_index()
    wide = wide.merge(runs[["job", "task.p_cot", "seed"]], on="job")
    odds = wide["task.p_cot"] / (1 - wide["task.p_cot"]) * 2.0 ** wide["step"]  # p_n = 2p/(1+p): odds double
    return wide.assign(recursion=odds / (1 + odds))


def star_gaps(rounds: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """|kept − 2s/(1+s)| (one Bayes step from the round's own samples) and |kept − p_n| (the compounded recursion)."""
    kept = rounds["star/kept_long_fraction"]
    return (kept - rounds["star/one_step_prediction"]).abs(), (kept - rounds["recursion"]).abs()


@claim(
    kind="seed", quantifier="for-all",
    id="parity.star.recursion_gpt", source=f"{PAPER}, §3.2 (the recursion, read on the tiny GPT)",
    statement="STaR on the tiny GPT at T = 1: the kept set's long fraction is 2s/(1+s) of the sampled one (long "
              "responses correct, short ones right half the time), and compounds as the recursion.",
    check="ablation=star_t1, rounds 1-5: |kept − 2s/(1+s)| / SE ≤ 3 (primary; SE = √(k(1−k)/kept), the binomial "
          "error of the kept fraction, so 3 SE is a 99.7% band and no model error is allowed for); |kept − p_n| / SE "
          "≤ 3 with p_n from p_0 = p_cot (secondary: also needs fine-tuning to fit the kept set exactly).",
    requires=("ablations",))
def star_gpt(ctx: Context) -> Outcome:
    tables: Tables = ctx.tables
    runs, steps = tables["ablations"]
    rounds = star_rounds(ablation(runs, "star_t1"), steps, rounds=5)
    kept = rounds["star/kept_long_fraction"]
    stderr = np.sqrt(kept * (1 - kept) / rounds["star/kept"])
    one_step, a_priori = star_gaps(rounds)
    return Outcome([Criterion("max one-step gap / SE", (one_step / stderr).max(), 3),
                    Criterion("max |kept − p_n| / SE", (a_priori / stderr).max(), 3)],
                   measured={"jobs": int(rounds["job"].nunique()), "max |kept − p_n|": float(a_priori.max()),
                             "median SE": float(stderr.median())},
                   tables={"rounds": rounds.assign(stderr=stderr).to_dict("records")})


@claim(
    kind="seed", quantifier="for-all",
    id="parity.star.high_temperature_fails", source="research notes §4, §8 critique 6 (secondary summaries)",
    statement="STaR with a high sampling temperature and end-to-end reward fails to reach a generalising model, "
              "where T = 1 succeeds.",
    check="ablation star_t2: max final greedy accuracy ≤ 0.6 (primary: stays near chance); star_t15: the same "
          "(secondary); star_t1: min final greedy accuracy ≥ 0.95 (secondary: the control).",
    requires=("ablations",))
def star_temperature(ctx: Context) -> Outcome:
    tables: Tables = ctx.tables
    runs, steps = tables["ablations"]
    options = ("star_t1", "star_t15", "star_t2")
    final = {option: ablation(runs, option)["rl.final.greedy/accuracy"] for option in options}
    long_accuracy = steps[(steps["stage"] == "rl") & (steps["metric"] == "star/long_accuracy")]
    last_round = long_accuracy.loc[long_accuracy.groupby("job")["step"].idxmax()]  # each STaR job's last round
    long_accuracy = {option: last_round[last_round["job"].isin(ablation(runs, option)["job"])]["value"]
                     for option in options}
    return Outcome([Criterion("max final greedy acc, T = 2", final["star_t2"].max(), 0.6),
                    Criterion("max final greedy acc, T = 1.5", final["star_t15"].max(), 0.6),
                    Criterion("min final greedy acc, T = 1", final["star_t1"].min(), 0.95, ">=")],
                   measured={f"{option}: final greedy acc": sorted(values.round(3).tolist())
                             for option, values in final.items()}
                   | {f"{option}: last-round accuracy of sampled long responses": sorted(v.round(3).tolist())
                      for option, v in long_accuracy.items()},
                   detail="A sampled long response at high T carries chain errors; an even number of them still ends "
                          "in the right answer, so the kept set teaches wrong steps and the chain itself degrades "
                          "(see the long-response accuracy of the last round).")


@claim(
    kind="seed", quantifier="for-all",
    id="parity.rl.too_early_checkpoint", source=f"{PAPER}, §3.1 (post-training 'too early')",
    statement="If RL starts before NTP has learned the chain, the length increases but the model does not "
              "generalise.",
    check="ablations too_early_150/300 whose start checkpoint has forced-long accuracy < 0.95: max final greedy "
          "accuracy < 0.95 (primary, as max ≤ 0.95); min final − start sampled mean length ≥ 1 token (secondary).",
    requires=("ablations",))
def too_early(ctx: Context) -> Outcome:
    tables: Tables = ctx.tables
    runs = tables["ablations"][0]
    early = pd.concat([ablation(runs, "too_early_150"), ablation(runs, "too_early_300")])
    early = early[~learned_chain(early, "rl.start.")]
    growth = early["rl.final.sampled/mean_length"] - early["rl.start.sampled/mean_length"]
    return Outcome([Criterion("max final greedy acc", early["rl.final.greedy/accuracy"].max(), 0.95),
                    Criterion("min length growth (tokens)", growth.min(), 1.0, ">=")],
                   measured={"jobs without a learned chain": len(early),
                             "start forced-long accuracy": early["rl.start.forced_long/accuracy"].round(3).tolist(),
                             "sampled length, start -> final": [f"{a:.2f} -> {b:.2f}" for a, b in zip(
                                 early["rl.start.sampled/mean_length"], early["rl.final.sampled/mean_length"],
                                 strict=True)]})


@claim(
    quantifier="for-all",
    id="parity.rl.no_cot_control", source="research notes §8 critique 1 (elicitation, not creation)",
    statement="With no long demonstrations (p_cot = 0), RL does not create the long behaviour.",
    check="ablation no_cot: max final sampled long fraction ≤ 0.05 (primary); max final greedy accuracy ≤ 0.55.",
    kind="derived", requires=("ablations",))
def no_cot(ctx: Context) -> Outcome:
    tables: Tables = ctx.tables
    runs = ablation(tables["ablations"][0], "no_cot")
    return Outcome([Criterion("max final sampled long fraction", runs["rl.final.sampled/long_fraction"].max(), 0.05),
                    Criterion("max final greedy acc", runs["rl.final.greedy/accuracy"].max(), 0.55)],
                   measured={"jobs": len(runs)})


@claim(
    kind="seed", quantifier="for-all",
    id="parity.ntp.leap2_below_third", source=f"{PAPER}, Fig. 15 (secondary summary: leap-2 'generalizes even "
                                              "below p_cot = 1/3')",
    statement="With the leap-2 chain, NTP alone generalises under greedy decoding at p_cot = 0.2 < 1/3.",
    check="ablation leap2: min NTP greedy accuracy ≥ 0.95 (primary); min greedy accuracy after GRPO ≥ 0.95.",
    requires=("ablations",))
def leap2(ctx: Context) -> Outcome:
    tables: Tables = ctx.tables
    runs = ablation(tables["ablations"][0], "leap2")
    return Outcome([Criterion("min NTP greedy acc", runs["ntp.greedy/accuracy"].min(), 0.95, ">="),
                    Criterion("min NTP+GRPO greedy acc", runs["rl.final.greedy/accuracy"].min(), 0.95, ">=")],
                   measured={"NTP greedy acc": runs["ntp.greedy/accuracy"].round(3).tolist(),
                             "NTP forced-long acc": runs["ntp.forced_long/accuracy"].round(3).tolist()})


BOUNDS = "Generalist Reward Models, Thm 2 (compounding error, read on the parity chain); Ross & Bagnell 2010"
# Σ_t ε_t ≤ 0.1: errors rare.  With independent steps F = 1 − Π(1 − ε_t) ≥ Σε − (Σε)²/2, so |F/Σε − 1| ≤ Σε/2 ≤ 0.05:
# the tolerance of the identity check; a larger gap means errors co-occur on the same prompts.
RARE = 0.1


def compounding_models(tables: Tables) -> pd.DataFrame:
    """The compounding rows of every loaded sweep (one per job × stage), with the chain-length column d."""
    return pd.concat([tables.compounding(name) for name in tables], ignore_index=True)


@claim(
    quantifier="for-all",
    id="parity.compounding.failure_is_d_times_step_error", source=BOUNDS, kind="derived",
    statement="Per-step errors compound over the chain: the whole-chain failure F equals d·ε̄ (chain steps × mean "
              "per-step error) while errors are rare, and saturates at 1 − Π_t(1 − ε̄_t) beyond, where the final "
              "answer becomes a coin (an odd number of errors flips it).",
    check=f"Every NTP and RL model (teacher-forced ε_t, exact F; sweeps.compounding): models with Σε ≤ {RARE}: max "
          "|F/Σε − 1| ≤ 0.05 (primary); all models: max |F − (1 − Π(1 − ε̄_t))| ≤ 0.02 (steps err independently); "
          "models with F ≥ 0.99: max |sampled answer failure − 1/2| ≤ 0.05.",
    requires=COMPOUNDING_SWEEPS)
def compounding_identity(ctx: Context) -> Outcome:
    tables: Tables = ctx.tables
    models = compounding_models(tables)
    rare, broken = models[models["sum_step_error"] <= RARE], models[models["chain_failure"] >= 0.99]
    ratio_gap = (rare["chain_failure"] / rare["sum_step_error"] - 1).abs()
    independence_gap = (models["chain_failure"] - models["independent_failure"]).abs()
    coin_gap = (broken["sampled_answer_failure"] - 0.5).abs()
    # The sampled forced-long failure checks the teacher-forced computation (binomial SE, floored at one sample).
    floor = np.maximum(models["chain_failure"], 1 / models["prompts"])
    sampling_z = (models["sampled_chain_failure"] - models["chain_failure"]).abs() / np.sqrt(
        floor * (1 - models["chain_failure"]) / models["prompts"])
    return Outcome([Criterion(f"max |F/Σε − 1|, Σε ≤ {RARE}", ratio_gap.max() if len(rare) else np.nan, 0.05),
                    Criterion("max |F − (1 − Π(1 − ε̄_t))|", independence_gap.max(), 0.02),
                    Criterion("max |answer failure − 1/2|, F ≥ 0.99", coin_gap.max() if len(broken) else 0.0, 0.05)],
                   measured={"models": len(models), f"Σε ≤ {RARE}": len(rare), "F ≥ 0.99": len(broken),
                             f"F range, Σε ≤ {RARE}": [float(rare["chain_failure"].min()),
                                                   float(rare["chain_failure"].max())],
                             "max |sampled − exact F| / SE": float(sampling_z.max())},
                   detail=(f"{worst(rare, ratio_gap, 'max |F/Σε − 1|')}; {(ratio_gap > 0.05).sum()} of {len(rare)} "
                           "rare-error models off by more than 0.05. F < Σε by more than the second-order term "
                           "means a model's errors co-occur on the same prompts (a prompt fails once however many "
                           "of its steps err)." if len(rare) else "no model with rare errors"),
                   tables={"models": models.drop(columns=["run"], errors="ignore").to_dict("records")})


@claim(
    kind="seed", quantifier="for-all",
    id="parity.compounding.failure_grows_linearly_in_d", source=BOUNDS,
    statement="At a fixed NTP budget, behaviour cloning's whole-chain failure grows in proportion to the chain "
              "length d (the horizon factor of the compounding bound).",
    check=f"NTP models with Σε ≤ {RARE}, d > {SMALL_D}: least-squares slope b of log F on log d; |b − 1| ≤ 0.25 "
          "(primary). Reported: its 95% CI and the slope of log ε̄ (= b − 1 since F = d·ε̄).",
    requires=COMPOUNDING_SWEEPS)
def compounding_growth(ctx: Context) -> Outcome:
    tables: Tables = ctx.tables
    models = compounding_models(tables)
    ntp = models[(models["stage"] == "ntp") & (models["sum_step_error"] <= RARE) & (models["d"] > SMALL_D)]
    if ntp["d"].nunique() < 2:
        raise ValueError(f"{ntp['d'].nunique()} chain length(s) among the NTP models: a slope needs two")
    fit = stats.linregress(np.log(ntp["d"]), np.log(ntp["chain_failure"]))
    step_error_slope = stats.linregress(np.log(ntp["d"]), np.log(ntp["mean_step_error"])).slope
    half_width = stats.t.ppf(0.975, len(ntp) - 2) * fit.stderr if len(ntp) > 2 else None  # 2 points: no CI
    by_d = ntp.groupby("d")[["chain_failure", "mean_step_error"]].mean()
    return Outcome([Criterion("|slope of log F on log d − 1|", abs(fit.slope - 1), 0.25)],
                   measured={"slope": fit.slope, "slope of log ε̄ on log d": step_error_slope,
                             "95% CI": None if half_width is None else [fit.slope - half_width, fit.slope + half_width],
                             "models": len(ntp), "mean F by d": by_d["chain_failure"].round(6).to_dict(),
                             "mean per-step error by d": by_d["mean_step_error"].round(7).to_dict()},
                   detail="F ≈ d·ε̄ for these models (parity.compounding.failure_is_d_times_step_error), so F grows "
                          "in d as d·ε̄ does: a slope below 1 means the trained per-step error itself falls with d.")


def sweep_checks() -> list:
    """The registered claims that read sweep tables (``requires`` non-empty), in registration order."""
    return [spec for spec in REGISTRY.values() if spec.requires]


def run_checks(profile: str, results_root: Path = RESULTS_ROOT) -> list[ClaimResult]:
    """Evaluate every sweep check whose sweeps exist at ``profile`` (tables loaded from ``results_root``)."""
    results = []
    for spec in sweep_checks():
        present = present_sweeps(spec.requires, profile)
        if not present:
            continue
        # A sweep without collected tables makes load_tables raise, naming the command: the check becomes `error`.
        run = lambda ctx, spec=spec, present=present: spec.run(Context(ctx.profile, ctx.seed, Tables(  # noqa: E731
            {name: load_tables(name, profile, results_root) for name in present}, profile, results_root)))
        results.append(evaluate(replace(spec, run=run, check=f"{spec.check} Sweeps: {', '.join(present)} ({profile})."),
                                Context(LEDGER_PROFILES[profile])))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sweeps.checks", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=sorted(LEDGER_PROFILES), default="quick", help="sweep size to read")
    parser.add_argument("--results-root", type=Path, default=RESULTS_ROOT, help="root of the sweep directories")
    parser.add_argument("--out", type=Path, default=None, help="where claims.json/md go (results/checks/<profile>)")
    args = parser.parse_args(argv)
    out = args.out or Path("results/checks") / args.profile
    results = run_checks(args.profile, args.results_root)
    print(format_table(results))
    write_ledger(out, results, args.profile, title="Empirical checks")
    print(f"wrote {out / 'claims.json'} and {out / 'claims.md'}")
    return 1 if any(r.verdict == "error" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
