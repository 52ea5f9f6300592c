"""Empirical checks of the post-training claims (RL, STaR, ablations) on stored sweep tables.

Registered with the NTP checks of sweeps/checks.py (``python -m sweeps.checks`` runs them all).  One instance
is one trained model (or one STaR round of one model); fractions carry a Wilson interval over the held-out
prompts or the kept responses behind them, mean lengths a bounded-variance interval (sweeps/evidence.py); the
engine applies the quantifier.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.ledger import Context, Criterion, Outcome, claim
from sweeps.evidence import (
    KEPT_WILSON,
    LENGTH_INTERVAL,
    PAPER,
    Tables,
    ablation,
    budget_note,
    chain_length,
    fraction_criterion,
    gap_criterion,
    labels,
    learned_chain,
    length_bounds,
    prompts,
    spread,
)

POLICY_GRADIENT = ("fig1_ntp_vs_rl", "fig3_rl_curves", "d50", "ablations")
SOLVED = 0.95  # greedy accuracy of a solved model: 1, with 0.05 of slack for a chain that errs on a few prompts
HORIZON = 60  # RL iterations within which the reading of "a handful of sequences" expects a solved model


def policy_gradient_runs(tables: Tables) -> pd.DataFrame:
    """GRPO / REINFORCE jobs that start from a learned chain (full or leap chain) and p_cot > 0."""
    runs = tables.runs()
    return runs[runs["rl.algo"].isin(["grpo", "reinforce"]) & learned_chain(runs, "rl.start.")
                & (runs["task.p_cot"] > 0)]


def length_ratio_criterion(runs: pd.DataFrame, tolerance: float) -> Criterion:
    """Final sampled mean length / chain length ≥ tolerance, with the bounded-variance interval of the mean."""
    chain = chain_length(runs)
    low, high = length_bounds(runs["rl.final.sampled/mean_length"], prompts(runs, "rl"), chain + 1)
    return Criterion("sampled length / chain", runs["rl.final.sampled/mean_length"].to_numpy() / chain, tolerance,
                     ">=", low=low / chain, high=high / chain, interval=LENGTH_INTERVAL, labels=labels(runs))


@claim(
    id="parity.rl.greedy_solves_and_length_grows", kind="source", quantifier="for-all",
    source=f"{PAPER}, §3.1 and Fig. 3 ([S] 'greedy accuracy from chance to 100% ... while response length grows "
           "to d', docs/research/parity_cot_rl.md §4)",
    statement="RL (GRPO, REINFORCE) after NTP takes greedy accuracy from chance to ~100% while the response "
              "length grows to the chain's length.",
    check=f"GRPO/REINFORCE jobs starting from a learned chain: final greedy accuracy ≥ {SOLVED} with its Wilson "
          "interval (primary); final sampled (T = 1) mean length / chain length ≥ 0.9 (a tenth of the sampled "
          "responses may stay short), with its bounded-variance interval.", requires=POLICY_GRADIENT)
def rl_solves(ctx: Context) -> Outcome:
    runs = policy_gradient_runs(ctx.tables)
    accuracy = fraction_criterion("final greedy acc", runs, "rl.final.greedy/accuracy", "rl", SOLVED, ">=")
    length = length_ratio_criterion(runs, 0.9)
    return Outcome([accuracy, length], measured={"jobs": len(runs)},
                   detail=f"{len(runs)} RL jobs; final greedy acc {spread(accuracy.value)}, lowest "
                          f"{lowest(accuracy)}; length ratio {spread(length.value)}, lowest {lowest(length)}.")


def lowest(criterion: Criterion) -> str:
    """'label v [low, high]' of the instance with the smallest value."""
    if not criterion.value:
        return "none"
    i = int(np.argmin(criterion.value))
    return f"{criterion.labels[i]} {criterion.value[i]:.3f} [{criterion.low[i]:.3f}, {criterion.high[i]:.3f}]"


def best_by_horizon(runs: pd.DataFrame, tables: Tables) -> pd.DataFrame:
    """Per RL job: its best held-out greedy accuracy at iterations ≤ HORIZON, the first iteration ≥ SOLVED, and the
    last evaluated iteration ≤ HORIZON."""
    rows = []
    for experiment, job in zip(runs["experiment"], runs["job"], strict=True):
        steps = tables[experiment][1]
        curve = steps[(steps["job"] == job) & (steps["stage"] == "rl") & (steps["metric"] == "greedy/accuracy")
                      & (steps["step"] <= HORIZON)]
        solved = curve[curve["value"] >= SOLVED]["step"]
        rows.append({"best": float(curve["value"].max()) if len(curve) else 0.0,
                     "first": float(solved.min()) if len(solved) else np.inf,
                     "seen_until": float(curve["step"].max()) if len(curve) else 0.0})
    return pd.DataFrame(rows, index=runs.index)


@claim(
    id="parity.rl.iterations_to_solve", kind="reading", quantifier="for-all",
    source="the suite's reading of [S] 'from chance to 100% after a handful of sequences' (docs/research/"
           "parity_cot_rl.md §4); the number is the suite's, from its own pilot (§5.3: GRPO greedy 1.0 by iteration "
           "10 at d = 16): no source states an iteration count",
    statement=f"From a learned chain, GRPO/REINFORCE reach greedy accuracy ≥ {SOLVED} within {HORIZON} iterations.",
    check=f"Per job, its best held-out greedy accuracy at evaluated iterations ≤ {HORIZON} (resolution: rl_eval.every) "
          f"≥ {SOLVED}, with the Wilson interval of that evaluation. A job whose RL stage ended before iteration "
          f"{HORIZON} (rl.iterations) is undecided unless solved (the upper end of its interval is 1).",
    requires=POLICY_GRADIENT)
def iterations_to_solve(ctx: Context) -> Outcome:
    runs = policy_gradient_runs(ctx.tables)
    best = best_by_horizon(runs, ctx.tables)
    criterion = fraction_criterion(f"best greedy acc by iteration {HORIZON}", runs.assign(best=best["best"]), "best",
                                   "rl", SOLVED, ">=")
    ran_until = runs["rl.iterations"] if "rl.iterations" in runs else best["seen_until"]
    high = np.where(ran_until < HORIZON, 1.0, criterion.high)  # the RL stage stopped before the horizon
    criterion = Criterion(criterion.name, criterion.value, SOLVED, ">=", low=criterion.low, high=high,
                          interval=criterion.interval + "; upper end 1 when not observed up to the horizon",
                          labels=criterion.labels)
    by_algo = {f"{algo}: first iteration >= {SOLVED}": [None if np.isinf(n) else n for n in
                                                       sorted(best["first"][runs["rl.algo"] == algo])]
               for algo in sorted(runs["rl.algo"].unique())}
    late = [label for label, first in zip(criterion.labels, best["first"], strict=True) if first > HORIZON]
    solved = best["first"][np.isfinite(best["first"])]
    return Outcome([criterion], measured={"jobs": len(runs), **by_algo},
                   detail=f"{len(runs)} RL jobs; first solved iteration {spread(solved)}; not solved by iteration "
                          f"{HORIZON}: {', '.join(late) or 'none'}.")


def star_rounds(runs: pd.DataFrame, steps: pd.DataFrame, rounds: int) -> pd.DataFrame:
    """One row per (STaR job, round ≤ rounds): its star/* metrics and the a-priori recursion p_n from p_cot."""
    star = steps[(steps["stage"] == "rl") & steps["metric"].str.startswith("star/") & steps["step"].between(1, rounds)]
    wide = star.pivot_table(index=["job", "step"], columns="metric", values="value").reset_index()
    wide = wide.merge(runs[["job", "task.p_cot", "seed"]], on="job")
    odds = wide["task.p_cot"] / (1 - wide["task.p_cot"]) * 2.0 ** wide["step"]  # p_n = 2p/(1+p): odds double
    return wide.assign(recursion=odds / (1 + odds))


def star_criteria(rounds: pd.DataFrame, experiment: str, tolerance: float) -> list[Criterion]:
    """|kept − p_n| and |kept − 2s/(1+s)| per (job, round) ≤ tolerance, Wilson over the round's kept responses."""
    view = rounds.assign(experiment=experiment, job=rounds["job"] + ", round " + rounds["step"].astype(int).astype(str))
    return [gap_criterion(name, view, "star/kept_long_fraction", view[target], "rl", tolerance,
                          counts=view["star/kept"], interval=KEPT_WILSON)
            for name, target in (("|kept − p_n|", "recursion"), ("|kept − 2s/(1+s)|", "star/one_step_prediction"))]


def star_detail(criteria: list[Criterion], rounds: pd.DataFrame) -> str:
    a_priori, one_step = criteria
    return (f"{rounds['job'].nunique()} STaR jobs × rounds 1-{int(rounds['step'].max())}, "
            f"{spread(rounds['star/kept'], 4)} kept responses per round; largest |kept − p_n| "
            f"{max(a_priori.value):.4f} (upper end {max(a_priori.high):.4f}); largest |kept − 2s/(1+s)| "
            f"{max(one_step.value):.4f} (upper end {max(one_step.high):.4f})."
            + budget_note(one_step, "kept responses") + budget_note(a_priori, "kept responses"))


@claim(
    id="parity.star.recursion_linear", kind="source", quantifier="for-all",
    source=f"{PAPER}, §3.2 / Thm 2 ([Q] p_n = 2p_{{n−1}}/(1+p_{{n−1}}); docs/research/parity_cot_rl.md §4, §6.3)",
    statement="STaR on the autoregressive linear model: the long fraction of the kept set follows p_n = "
              "2p_{n−1}/(1+p_{n−1}) from p_0 = p_cot (the odds double every round).",
    check="Rounds 1-5 of every fig4 job: |kept long fraction − p_n| ≤ 0.02 (primary; p_n from p_0 = p_cot, no "
          "measured input); |kept − 2s/(1+s)| ≤ 0.02 with s the round's sampled long fraction; each with the Wilson "
          "interval over the round's kept responses. Tolerance 0.02: the recursion is exact for a model refitted "
          "exactly to each kept set; 0.02 allows the finite refit.", requires=("fig4_star",))
def star_linear(ctx: Context) -> Outcome:
    runs, steps = ctx.tables["fig4_star"]
    rounds = star_rounds(runs, steps, rounds=5)
    criteria = star_criteria(rounds, "fig4_star", 0.02)
    per_round = rounds.assign(gap=criteria[0].value).groupby("step")["gap"].max()
    return Outcome(criteria, measured={"jobs": len(runs), "max |kept − p_n| per round": per_round.round(4).tolist()},
                   detail=star_detail(criteria, rounds), tables={"rounds": rounds.to_dict("records")})


@claim(
    id="parity.star.recursion_gpt", kind="derived", quantifier="for-all",
    source="consequence of STaR's filter (docs/research/parity_cot_rl.md §6.3: long responses are right, short ones "
           f"half the time, so the kept long fraction is 2s/(1+s)); {PAPER} proves the recursion for the linear model",
    statement="STaR on the tiny GPT at T = 1: the kept set's long fraction is 2s/(1+s) of the sampled one, and "
              "compounds as the recursion p_n from p_cot.",
    check="ablation=star_t1, rounds 1-5: |kept − 2s/(1+s)| ≤ 0.05 (primary: the one-step Bayes identity) and |kept "
          "− p_n| ≤ 0.05 (secondary: also needs fine-tuning to reproduce the kept fraction), each with the Wilson "
          "interval over the round's kept responses. Tolerance 0.05: the suite's allowance on a trained model's "
          "fractions (the GPT keeps about 600 responses a round, so a round decides only when its gap is ≲ 0.01).",
    requires=("ablations",))
def star_gpt(ctx: Context) -> Outcome:
    runs, steps = ctx.tables["ablations"]
    rounds = star_rounds(ablation(runs, "star_t1"), steps, rounds=5)
    a_priori, one_step = star_criteria(rounds, "ablations", 0.05)
    return Outcome([one_step, a_priori], measured={"jobs": int(rounds["job"].nunique())},
                   detail=star_detail([a_priori, one_step], rounds), tables={"rounds": rounds.to_dict("records")})


@claim(
    id="parity.star.high_temperature_fails", kind="source", quantifier="for-all",
    source="[S] secondary summary of Tsilivis et al. 2025 (docs/research/parity_cot_rl.md §4 'Known failure', §8 "
           "critique 6)",
    statement="STaR with a high sampling temperature and end-to-end reward fails to reach a generalising model, "
              "where T = 1 succeeds.",
    check=f"Per seed: ablation star_t2 final greedy accuracy ≤ 0.6 (primary: near chance, 0.1 above 1/2); star_t15 "
          f"the same (secondary); star_t1 ≥ {SOLVED} (secondary: the control); Wilson intervals.",
    requires=("ablations",))
def star_temperature(ctx: Context) -> Outcome:
    runs, steps = ctx.tables.runs(), ctx.tables["ablations"][1]
    runs = runs[runs["experiment"] == "ablations"]
    options = {"star_t2": "T = 2", "star_t15": "T = 1.5", "star_t1": "T = 1"}
    final = {option: ablation(runs, option) for option in options}
    criteria = [fraction_criterion(f"final greedy acc, {options[o]}", final[o], "rl.final.greedy/accuracy", "rl",
                                   *((SOLVED, ">=") if o == "star_t1" else (0.6, "<="))) for o in options]
    long_accuracy = steps[(steps["stage"] == "rl") & (steps["metric"] == "star/long_accuracy")]
    last_round = long_accuracy.loc[long_accuracy.groupby("job")["step"].idxmax()]  # each STaR job's last round
    chain = {o: last_round[last_round["job"].isin(final[o]["job"])]["value"] for o in options}
    hot = chain["star_t2"]
    why = ("the chain itself is degraded at T = 2 (its sampled long responses are right about as often as a coin), so "
           "the kept set teaches wrong steps" if len(hot) and hot.max() <= 0.6 else
           "the sampled long responses at T = 2 stay mostly right, so a degraded chain does not explain the result")
    pairs = list(zip(options, criteria, strict=True))
    return Outcome(criteria, measured={f"{o}: final greedy acc": sorted(c.value) for o, c in pairs}
                   | {f"{o}: last-round accuracy of sampled long responses": sorted(v.round(3).tolist())
                      for o, v in chain.items()},
                   detail="; ".join(f"{options[o]}: final greedy {spread(c.value)}, long-response accuracy "
                                    f"{spread(chain[o])}" for o, c in pairs) + f". Reading: {why}.")


@claim(
    id="parity.rl.too_early_checkpoint", kind="source", quantifier="for-all",
    source=f"{PAPER}, §3.1 ([Q] post-training 'too early'; docs/research/parity_cot_rl.md §4)",
    statement="If RL starts before NTP has learned the chain, the length increases but the model does not "
              "generalise.",
    check=f"ablations too_early_150/300 whose start checkpoint has forced-long accuracy < 0.95: final greedy "
          f"accuracy ≤ {SOLVED} (primary: not solved), Wilson; final − start sampled mean length ≥ 1 token "
          "(secondary), with the bounded-variance interval of a difference of two mean lengths.",
    requires=("ablations",))
def too_early(ctx: Context) -> Outcome:
    runs = ctx.tables.runs()
    early = pd.concat([ablation(runs, "too_early_150"), ablation(runs, "too_early_300")])
    early = early[~learned_chain(early, "rl.start.")]
    growth = early["rl.final.sampled/mean_length"] - early["rl.start.sampled/mean_length"]
    low, high = length_bounds(growth, prompts(early, "rl"), chain_length(early) + 1, pairs=2)
    accuracy = fraction_criterion("final greedy acc", early, "rl.final.greedy/accuracy", "rl", SOLVED, "<=")
    length = Criterion("length growth (tokens)", growth.to_numpy(), 1.0, ">=", low=low, high=high,
                       interval=LENGTH_INTERVAL + ", for a difference of two means", labels=labels(early))
    return Outcome([accuracy, length], measured={"jobs without a learned chain": len(early),
                                                 "start forced-long accuracy": early["rl.start.forced_long/accuracy"]
                                                 .round(3).tolist()},
                   detail=f"{len(early)} RL jobs from an unlearned chain; final greedy {spread(accuracy.value)}; "
                          f"sampled length start -> final: " + ", ".join(f"{a:.2f} -> {b:.2f}" for a, b in zip(
                              early["rl.start.sampled/mean_length"], early["rl.final.sampled/mean_length"],
                              strict=True)) + f"; {int((growth >= 1).sum())} of {len(early)} grow by ≥ 1 token.")


@claim(
    id="parity.rl.no_cot_control", kind="derived", quantifier="for-all",
    source="docs/research/parity_cot_rl.md §8 critique 1 (no p_cot = 0 control in the paper); consequence of §6.3: RL "
           "re-weights behaviour the NTP model already has",
    statement="With no long demonstrations (p_cot = 0), RL does not create the long behaviour.",
    check="ablation no_cot: final sampled long fraction ≤ 0.05 (primary); final greedy accuracy ≤ 0.55 (not solved: "
          "chance plus 0.05); Wilson intervals.", requires=("ablations",))
def no_cot(ctx: Context) -> Outcome:
    runs = ablation(ctx.tables.runs(), "no_cot")
    criteria = [fraction_criterion("final sampled long fraction", runs, "rl.final.sampled/long_fraction", "rl", 0.05,
                                   "<="),
                fraction_criterion("final greedy acc", runs, "rl.final.greedy/accuracy", "rl", 0.55, "<=")]
    return Outcome(criteria, measured={"jobs": len(runs)},
                   detail=f"{len(runs)} jobs: final sampled long fraction {spread(criteria[0].value)}, final greedy "
                          f"{spread(criteria[1].value)}.")


@claim(
    id="parity.ntp.leap2_below_third", kind="source", quantifier="for-all",
    source=f"{PAPER}, Fig. 15 ([S] leap-2 'generalizes even below p_cot = 1/3'; docs/research/parity_cot_rl.md §5.1)",
    statement="With the leap-2 chain, NTP alone generalises under greedy decoding at p_cot = 0.2 < 1/3.",
    check=f"ablation leap2, informative where NTP learned the leap-2 chain (forced-long accuracy ≥ 0.95: the premise "
          f"of the statement): NTP greedy accuracy ≥ {SOLVED} (primary); greedy accuracy after GRPO ≥ {SOLVED}; "
          "Wilson intervals.", requires=("ablations",))
def leap2(ctx: Context) -> Outcome:
    runs = ablation(ctx.tables.runs(), "leap2")
    learned = learned_chain(runs)
    criteria = [fraction_criterion(name, runs, column, stage, SOLVED, ">=", learned) for name, column, stage in (
        ("NTP greedy acc", "ntp.greedy/accuracy", "ntp"), ("NTP+GRPO greedy acc", "rl.final.greedy/accuracy", "rl"))]
    return Outcome(criteria, measured={"NTP greedy acc": runs["ntp.greedy/accuracy"].round(3).tolist(),
                                       "NTP forced-long acc": runs["ntp.forced_long/accuracy"].round(3).tolist()},
                   detail=f"{int(learned.sum())} of {len(runs)} NTP models learned the leap-2 chain (forced-long acc "
                          f"{spread(runs['ntp.forced_long/accuracy'])})" + (
                              "; a larger NTP budget decides the others." if (~learned).any() else "."))

