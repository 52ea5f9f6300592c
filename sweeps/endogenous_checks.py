"""Sweep check of RL on the endogenous reward of the parity GPT (sweep ``endogenous_rl``;
docs/research/endogenous_reward_bounds.md §8, prediction 2).

The prediction (learned/endogenous_rl.py): RL on the start model's outcome endogenous reward r̂ with KL β to it has the
optimum π̂^(1+1/β)/Z (β = 0: the sequence-level mode), whose greedy decoder is NTP's greedy decoder, so it solves parity
only above p_cot = 1/3 and stays at chance below; RL on the verifiable reward (β = 0) solves on both sides.  The exact
version on the linear model is learned/endogenous_rl_claims.py; here each instance is one GPT job, its final greedy
accuracy with a Wilson interval over its held-out prompts (sweeps/evidence.py).  The response law itself is measured
by sweeps/endogenous_sharpening.py (and, for Theorem 3, sweeps/endogenous_second_round.py): per job, its distance to
π̂^(1+1/β)/Z over five response classes (β > 0) and, at β = 0, how far its r̂ value falls short of the optimum.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.ledger import Context, Criterion, Outcome, claim
from sweeps.collect import MissingTable
from sweeps.endogenous_second_round import SECOND_ROUND
from sweeps.endogenous_sharpening import CLASSES, SHARPENING, load_measured
from sweeps.evidence import WILSON, gap_bounds, labels, learned_chain, spread, wilson_bounds
from sweeps.rl_checks import SOLVED

SWEEP = "endogenous_rl"
THRESHOLD = 1 / 3
CHANCE_SLACK = 0.1  # |greedy − 1/2| of a model at chance: 0.1 above 1/2, as parity.star.high_temperature_fails
SHARPENED_TV = 0.05  # TV over the five response classes between the RL policy and π̂^(1+1/β)/Z
PER_PROMPT_TV = 0.1  # upper bound on the per-prompt class TV, E_x TV_c(x) (a looser bound, so a wider tolerance)
VALUE_GAP = 0.05  # nats: β = 0, how far E_π log π̂ may fall below max_r log π̂ (per prompt, averaged)
BOOTSTRAP = "percentile bootstrap 95% over the held-out prompts (sweeps/endogenous_sharpening.py)"


def judged_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """RL on r̂ at every β, and RL on the verifiable reward at β = 0 (the verifiable arms at β > 0 are reported)."""
    return runs[(runs["rl.reward"] == "endogenous") | (runs["rl.kl_beta"] == 0)]


def predicted_greedy(runs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(predicted final greedy accuracy, tolerance) per job: 1 ± 0.05 when solved is predicted (verifiable reward,
    or p_cot > 1/3), 1/2 ± 0.1 otherwise."""
    solved = (runs["rl.reward"] == "verifiable").to_numpy() | (runs["task.p_cot"] > THRESHOLD).to_numpy()
    return np.where(solved, 1.0, 0.5), np.where(solved, 1 - SOLVED, CHANCE_SLACK)


def shortfall_criterion(runs: pd.DataFrame) -> Criterion:
    """|final greedy acc − predicted| / tolerance per job ≤ 1, with the Wilson interval of the accuracy mapped
    through |· − predicted| / tolerance; informative where the start checkpoint has learned the chain."""
    accuracy = runs["rl.final.greedy/accuracy"].to_numpy(dtype=float)
    low, high = wilson_bounds(accuracy, runs["rl_eval.prompts"].to_numpy(dtype=float))
    target, tolerance = predicted_greedy(runs)
    gap, near, far = gap_bounds(accuracy, low, high, target)
    return Criterion("|final greedy acc − predicted| / tolerance (1 ± 0.05 solved, 1/2 ± 0.1 chance)",
                     gap / tolerance, 1.0, low=near / tolerance, high=far / tolerance, interval=f"|·| of the {WILSON}",
                     informative=learned_chain(runs, "rl.start.").to_numpy(),
                     labels=[f"{name} {reward} β={beta:g}" for name, reward, beta in zip(
                         labels(runs), runs["rl.reward"], runs["rl.kl_beta"], strict=True)])


def arm_table(runs: pd.DataFrame) -> str:
    """'reward β p: start → final greedy' per arm, for the detail."""
    parts = []
    for (reward, beta, p_cot), group in runs.groupby(["rl.reward", "rl.kl_beta", "task.p_cot"], sort=True):
        parts.append(f"{reward} β={beta:g} p={p_cot:g}: {spread(group['rl.start.greedy/accuracy'])} → "
                     f"{spread(group['rl.final.greedy/accuracy'])}")
    return "; ".join(parts)


@claim(
    id="parity.endogenous_rl.solves_only_above_third_gpt", kind="derived", quantifier="for-all",
    source="Li et al. 2025 (arXiv 2506.23235), outcome reward r̂ = α log π̂ + V(s_1), with the KL-regularised "
           "optimum π̂^(1+α/β)/Z (theory/iterative_improvement.kl_regularised_step) at the NTP optimum of "
           "docs/research/parity_cot_rl.md §6.2 and docs/research/endogenous_reward_bounds.md §8, prediction 2 (linear "
           "version: "
           "endogenous_rl.solves_only_above_third_linear)",
    statement="RL on the endogenous reward of an NTP-trained GPT (KL β to it, any β ≥ 0) solves parity only when "
              "p_cot > 1/3 and stays at chance below, while RL on the verifiable reward solves it on both sides.",
    check="Jobs of sweep endogenous_rl (d = 12, p_cot ∈ {0.2, 0.45}, β ∈ {0, 0.5, 1, 2}, 3 seeds; leave-one-out "
          "REINFORCE for every arm) whose start checkpoint has learned the chain (forced-long accuracy ≥ 0.95), RL on "
          "r̂ at every β and RL on the verifiable reward at β = 0: |final greedy accuracy − predicted| / tolerance "
          f"≤ 1 per job with the Wilson interval over the held-out prompts; predicted 1 with tolerance {1 - SOLVED:g} "
          f"(sweeps/rl_checks.SOLVED) or 1/2 with tolerance {CHANCE_SLACK:g} (chance).  The verifiable arms at "
          "β > 0 are reported only.", requires=(SWEEP,))
def solves_only_above_third_gpt(ctx: Context) -> Outcome:
    runs = ctx.tables.runs()
    runs = runs[runs["experiment"] == SWEEP]
    judged = judged_runs(runs)
    criterion = shortfall_criterion(judged)
    unlearned = int((~learned_chain(judged, "rl.start.")).sum())
    return Outcome(
        [criterion],
        measured={"jobs judged": len(judged), "start chain not learned (not informative)": unlearned},
        detail="Greedy accuracy, NTP start → after RL: " + arm_table(runs) + "."
               + (f" {unlearned} job(s) start from an unlearned chain (not evidence)." if unlearned else ""))


def job_labels(table: pd.DataFrame) -> list[str]:
    """'p=… β=… seed=…' per row of a measured table."""
    return [f"p={p:g} β={b:g} seed={s}" for p, b, s in zip(table["task.p_cot"], table["rl.kl_beta"], table["seed"],
                                                            strict=True)]


def interval_criterion(name: str, table: pd.DataFrame, column: str, tolerance: float) -> Criterion:
    """``column`` ≤ ``tolerance`` per job, the upper end of its bootstrap interval (``<column>.low`` / ``.high``)
    deciding."""
    if column not in table:
        raise MissingTable(f"the measured table has no {column!r} column: it predates that measurement; re-measure it "
                           "(`python -m sweeps.endogenous_sharpening` / `python -m sweeps.endogenous_second_round`)")
    return Criterion(name, table[column].to_numpy(), tolerance, "<=", low=table[f"{column}.low"].to_numpy(),
                     high=table[f"{column}.high"].to_numpy(), interval=BOOTSTRAP, labels=job_labels(table))


def tv_criteria(table: pd.DataFrame, law: str, name: str, target: str) -> list[Criterion]:
    """The two distances of ``law`` (the table's column key; ``name`` in words) to ``target`` per job.  Primary: the
    per-prompt class TV bound ≤ PER_PROMPT_TV (sweeps/endogenous_sharpening.per_prompt_tv_bound), an upper bound on
    the per-prompt distance, the claim itself; secondary: the prompt-averaged class TV ≤ SHARPENED_TV, a lower bound,
    tighter where the laws agree prompt by prompt (the tolerance of the claim before the per-prompt bound)."""
    return [interval_criterion(f"per-prompt class TV (upper bound), {name} vs {target}", table, f"tv_prompt.{law}",
                               PER_PROMPT_TV),
            interval_criterion(f"TV over response classes, {name} vs {target}", table, f"tv.{law}", SHARPENED_TV)]


def prompts_to_decide(judged: pd.DataFrame, columns: dict[str, float], round_two: bool = False) -> str:
    """For jobs whose value lies below its tolerance but whose interval reaches past it (any of ``columns``, name →
    tolerance): the held-out prompts at which the interval, shrinking as 1/√prompts, would end below the tolerance
    (the budget that would decide them).  The per-prompt bound is the square root of a mean, so its interval shrinks
    as prompts^(−1/4) near 0: the estimate is then optimistic, and says so by 'about'.  ``round_two``: the command is
    the second round's, which measures every job again."""
    needed, open_jobs = [], set()
    for column, tolerance in columns.items():
        rows = judged[(judged[column] < tolerance) & (judged[f"{column}.high"] > tolerance)]
        needed += list(rows["prompts"] * ((rows[f"{column}.high"] - rows[column]) / (tolerance - rows[column])) ** 2)
        open_jobs |= set(rows["job"])
    if not open_jobs:
        return ""
    command = ("`python -m sweeps.endogenous_second_round SWEEP_DIR --prompts N`" if round_two else
               f"`python -m sweeps.endogenous_sharpening SWEEP_DIR --jobs {' '.join(sorted(open_jobs))} --prompts N "
               "--seed S`, a seed not used before")
    return (f"{len(open_jobs)} job(s) below the tolerance with intervals reaching past it: about "
            f"{int(np.ceil(max(needed)))} held-out prompts per job would decide them ({command}). ")


def remeasured_note(judged: pd.DataFrame) -> str:
    """The jobs measured more than once (sweeps/endogenous_sharpening.remeasure): each had two chances to pass."""
    if "measure_seeds" not in judged:
        return ""
    repeated = judged[judged["measure_seeds"].str.contains(",")]
    return "" if repeated.empty else (
        f"{len(repeated)} job(s) measured more than once (seeds " + "; ".join(
            f"{label}: {seeds}" for label, seeds in zip(job_labels(repeated), repeated["measure_seeds"], strict=True))
        + "): undecided, then re-measured, each had two chances to pass. ")


def judge_sharpened_law(table: pd.DataFrame) -> Outcome:
    """RL on r̂ at β > 0: the per-prompt class TV bound ≤ PER_PROMPT_TV and the prompt-averaged class TV ≤ SHARPENED_TV
    per job, the upper end of each bootstrap interval deciding (tv_criteria).  β = 0 is judged by its value
    (judge_optimum_value): its target, π̂'s mode, is not identifiable where π̂ nearly ties two responses."""
    judged = table[(table["rl.reward"] == "endogenous") & (table["rl.kl_beta"] > 0)].reset_index(drop=True)
    criteria = tv_criteria(judged, "final", "RL policy", "π̂^(1+1/β)/Z")
    chain = {f"{reward} β={beta:g} p={p_cot:g}": (f"chain {group['final.chain'].mean():.3f} (predicted "
                                                   f"{group['target.chain'].mean():.3f}, start "
                                                   f"{group['start.chain'].mean():.3f})")
             for (reward, beta, p_cot), group in table.groupby(["rl.reward", "rl.kl_beta", "task.p_cot"])}
    return Outcome(criteria, measured={"jobs": len(judged), "classes": ", ".join(CLASSES)},
                   detail=prompts_to_decide(judged, {"tv.final": SHARPENED_TV, "tv_prompt.final": PER_PROMPT_TV})
                   + remeasured_note(judged) + "Sampled chain fraction per arm, mean over seeds: " + "; ".join(
                       f"{arm}: {text}" for arm, text in chain.items())
                   + ". The verifiable arms are the contrast: their target column is r̂'s optimum, which they leave.",
                   tables={"sharpening": table.to_dict("records")})


@claim(
    id="parity.endogenous_rl.reaches_sharpened_law_gpt", kind="derived", quantifier="for-all",
    source="Li et al. 2025 (arXiv 2506.23235), outcome reward r̂ = α log π̂ + V(s_1); the KL-regularised optimum "
           "π̂^(1+α/β)/Z (theory/iterative_improvement.kl_regularised_step; docs/research/endogenous_reward_bounds.md "
           "§8, prediction 2; exact linear version endogenous_rl.kl_sharpening_linear)",
    statement="RL on the endogenous reward of the NTP-trained parity GPT with KL β > 0 to it ends at the sharpened "
              "law π̂^(1+1/β)/Z (β = 0, whose target is π̂'s sequence-level mode: reaches_endogenous_optimum_gpt).",
    check=f"Jobs of sweep endogenous_rl with the endogenous reward and β > 0, the RL policy against π̂^(1+1/β)/Z "
          f"over five response classes ({', '.join(CLASSES)}): an upper bound on the per-prompt class TV E_x TV_c(x) "
          f"(from a split-half estimate of the mean squared per-prompt distance, unbiased for frequencies) is "
          f"≤ {PER_PROMPT_TV:g} (primary), and the TV between their prompt-averaged class laws (a lower bound on the "
          f"TV between the response laws) is ≤ {SHARPENED_TV:g}, per job, each with the {BOOTSTRAP}; π̂^(1+1/β)/Z "
          "by self-normalised importance sampling from π̂.",
    requires=(SWEEP,))
def reaches_sharpened_law_gpt(ctx: Context) -> Outcome:
    return judge_sharpened_law(load_measured(SHARPENING, "sweeps.endogenous_sharpening", ctx.tables.profile,
                                             ctx.tables.results_root))


def judge_second_round(table: pd.DataFrame) -> Outcome:
    """Round 2: the per-prompt class TV bound to π̂^((1+1/β)²)/Z ≤ PER_PROMPT_TV and the prompt-averaged TV_c ≤
    SHARPENED_TV per job, the upper end of each bootstrap interval deciding (tv_criteria)."""
    arms = table.groupby(["rl.kl_beta", "task.p_cot"])
    budget = prompts_to_decide(table, {"tv.round2": SHARPENED_TV, "tv_prompt.round2": PER_PROMPT_TV},
                               round_two=True) if "prompts" in table else ""
    return Outcome(tv_criteria(table, "round2", "round-2 policy", "π̂^((1+1/β)²)/Z"), measured={"jobs": len(table)},
                   detail=budget + "Sampled chain fraction start → round 1 → round 2 (two-round prediction), mean "
                          "over seeds: "
                          + "; ".join(f"β={beta:g} p={p_cot:g}: {g['start.chain'].mean():.3f} → "
                                      f"{g['round1.chain'].mean():.3f} → {g['round2.chain'].mean():.3f} "
                                      f"({g['target.chain'].mean():.3f}); round-2 greedy accuracy "
                                      f"{spread(g['round2.greedy/accuracy'])}" for (beta, p_cot), g in arms) + ".",
                   tables={"second_round": table.to_dict("records")})


@claim(
    id="parity.endogenous_rl.second_round_sharpens_again_gpt", kind="reading", quantifier="for-all",
    source="Li et al. 2025 (arXiv 2506.23235), Theorem 3 (iterative improvement), read with the KL-regularised "
           "optimum of each round (π_(k+1) ∝ π_k^(1+α/β), theory/iterative_improvement.kl_regularised_step; exact "
           "linear version endogenous_rl.second_round_sharpens_again_linear)",
    statement="A second round of RL on the endogenous reward, extracted from the first round's policy π_1 with KL β "
              "to it, ends at π̂^((1+1/β)²)/Z: the parity GPT's response law sharpens again.",
    check=f"Jobs of sweep endogenous_rl with the endogenous reward and β > 0, round 2 by "
          f"`python -m sweeps.endogenous_second_round`: the TV over the five response classes between the round-2 "
          f"policy and π̂^((1+1/β)²)/Z is ≤ {SHARPENED_TV:g} and the per-prompt class TV bound (primary) ≤ "
          f"{PER_PROMPT_TV:g} per job, each with the {BOOTSTRAP}.", requires=(SWEEP,))
def second_round_sharpens_again_gpt(ctx: Context) -> Outcome:
    return judge_second_round(load_measured(SECOND_ROUND, "sweeps.endogenous_second_round", ctx.tables.profile,
                                            ctx.tables.results_root))


def judge_optimum_value(table: pd.DataFrame) -> Outcome:
    """β = 0, RL on r̂: the value gap ≤ VALUE_GAP nats per job, the upper end of its bootstrap interval deciding."""
    judged = table[(table["rl.reward"] == "endogenous") & (table["rl.kl_beta"] == 0)].reset_index(drop=True)
    criterion = interval_criterion("E_x[max_r log π̂(r|x) − E_(r∼π) log π̂(r|x)] (nats)", judged, "value_gap", VALUE_GAP)
    return Outcome([criterion], measured={"jobs": len(judged)},
                   detail="Per job, value gap (nats) next to the per-prompt class TV bound to the mode's class law: "
                          + "; ".join(f"{label}: {gap:.3f}, TV bound {tv:.3f}" for label, gap, tv in zip(
                              job_labels(judged), judged["value_gap"], judged["tv_prompt.final"], strict=True))
                          + ". A small gap with a large TV bound means the policy reached the optimal value on "
                            "responses π̂ nearly ties, not π̂'s mode itself.")


@claim(
    id="parity.endogenous_rl.reaches_endogenous_optimum_gpt", kind="derived", quantifier="for-all",
    source="Li et al. 2025 (arXiv 2506.23235), outcome reward r̂ = α log π̂ + V(s_1); with β = 0 RL maximises "
           "E_π r̂, whose optimal value is α max_r log π̂(r|x) + V(s_1) (docs/research/endogenous_reward_bounds.md §8); "
           "the nearest statement to reaches_sharpened_law_gpt at β = 0 that does not need the mode to be identifiable",
    statement="RL on the endogenous reward of the NTP-trained parity GPT with β = 0 reaches the reward's optimal "
              "value.",
    check=f"Jobs of sweep endogenous_rl with the endogenous reward and β = 0: E_x[max_r log π̂(r|x) − E_(r∼π) "
          f"log π̂(r|x)] ≤ {VALUE_GAP:g} nats per job (the max over the drawn responses of both laws per prompt, the "
          f"policy's expectation over its draws, all scored by π̂), with the {BOOTSTRAP}; reported next to it, the "
          "per-prompt class TV bound to the mode's class law.",
    requires=(SWEEP,))
def reaches_endogenous_optimum_gpt(ctx: Context) -> Outcome:
    return judge_optimum_value(load_measured(SHARPENING, "sweeps.endogenous_sharpening", ctx.tables.profile,
                                             ctx.tables.results_root))
