"""Ledger claims on the endogenous reward of parity models as a reward model
(docs/research/endogenous_reward_bounds.md §8, prediction 1): does the reward hidden in an NTP
model's logits (Li et al. 2025, arXiv 2506.23235, eqs. (11)-(12); toy/endogenous_reward.py) tell correct parity
responses from incorrect ones, and where does it follow NTP's 1/3 threshold?

* The claims score the pairs of learned/reward_model_accuracy.py on every prompt of {0,1}^d (the accuracy of
  a model is then exact: no prompt sampling), for linear AR models trained by the suite's NTP entry point with the
  linear recipe (conf/recipe/linear.yaml; `train_linear_ntp`) at a p_cot grid on both sides of 1/3, several data
  seeds (from ``ctx.rng(1302)``), next to the population NTP optimum of learned/parity_linear.py (exact).
* That the batched toy reward is the exact token-tree reward of theory/soft_rl.py is the identity claim of
  learned/endogenous_tree_claims.py.

The GPT counterpart of the threshold claim reads the fig2 checkpoints (a sweep check): call
`learned.reward_model_accuracy.reward_model_accuracy(model, x, layout)` on any model and held-out prompts x.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from core.intervals import t_interval
from core.ledger import Context, Criterion, Outcome, claim
from core.runio import torch_threads
from learned.endogenous_tree_claims import PAPER, ROUND_OFF
from learned.parity_linear import all_inputs, fit_population_ntp
from learned.reward_model_accuracy import (
    chain_learned_fraction,
    closed_form_long_vs_short,
    reward_model_accuracy,
    train_linear_ntp,
)
from toy.endogenous_reward import DISCOUNT, VARIANTS
from toy.parity import ParityLayout

TRAINING_STREAM = 1302  # data seeds of the trained linear models
ACCURACY_TOLERANCE = 0.05  # see the claims' check texts
CHANCE_TOLERANCE = 0.1
EXACT_OVER_PROMPTS = "exact: every prompt of {0,1}^d scored (with sampled prompts: Wilson over the pairs)"


@dataclass(frozen=True)
class LearnedFamily:
    """The trained linear models of one profile."""

    d: int
    """input bits; every one of the 2^d prompts is scored"""
    steps: int
    """NTP steps of the linear recipe (lr 0.05, batch 4096, cosine)"""
    seeds: int
    """training data seeds per p_cot"""
    p_grid: tuple[float, ...]
    """mixture weights p_cot on both sides of 1/3"""


FAMILIES = {"quick": LearnedFamily(d=6, steps=300, seeds=3, p_grid=(0.25, 0.3, 0.36, 0.45)),
            "full": LearnedFamily(d=8, steps=600, seeds=4, p_grid=(0.2, 0.25, 0.3, 0.36, 0.4, 0.45))}


def model_rows(model: torch.nn.Module, model_kind: str, p_cot: float, layout: ParityLayout,
               x: torch.Tensor | None = None, seed_index: int = -1, data_seed: int = -1) -> list[dict]:
    """Accuracy rows of one model (any family) on prompts x (default: every prompt of {0,1}^d), tagged with what the
    judges read: ``model_kind`` 'optimum' or 'trained', p_cot, the seed (−1 for the optimum) and the fraction of
    prompts on which the chain is learned.  A sweep check on GPT checkpoints passes its held-out prompts as x."""
    x = all_inputs(layout.d) if x is None else x
    tags = {"model": model_kind, "p_cot": p_cot, "seed_index": seed_index, "data_seed": data_seed, "d": layout.d,
            "chain_learned": chain_learned_fraction(model, x, layout)}
    return [{**tags, **row} for row in reward_model_accuracy(model, x, layout)]


@lru_cache(maxsize=2)
def learned_rows(profile: str, seed: int) -> tuple[dict, ...]:
    """`model_rows` of the population optimum and of each trained model at every p_cot of the profile."""
    family = FAMILIES[profile]
    layout = ParityLayout(family.d)
    data_seeds = [int(s) for s in Context(profile, seed).rng(TRAINING_STREAM).integers(2**31, size=family.seeds)]
    rows = []
    with torch_threads(1):
        for p_cot in family.p_grid:
            rows += model_rows(fit_population_ntp(family.d, p_cot), "optimum", p_cot, layout)
            for index, data_seed in enumerate(data_seeds):
                model = train_linear_ntp(family.d, p_cot, family.steps, data_seed)
                rows += model_rows(model, "trained", p_cot, layout, seed_index=index, data_seed=data_seed)
    return tuple(rows)


def select(rows, model: str, pair_type: str, variant: str) -> list[dict]:
    return [r for r in rows if r["model"] == model and r["pair_type"] == pair_type and r["variant"] == variant]


def distance_to(rows: list[dict], targets) -> dict:
    """|accuracy − target| per row with its interval: the point if the row's prompts are exhaustive, else the Wilson
    interval of the accuracy mapped through |· − target|."""
    targets = np.asarray(targets, dtype=np.float64)
    accuracy = np.array([r["accuracy"] for r in rows])
    exhaustive = np.array([bool(r["exhaustive"]) for r in rows])
    low = np.where(exhaustive, accuracy, [r["low"] for r in rows])
    high = np.where(exhaustive, accuracy, [r["high"] for r in rows])
    ends = np.abs(np.stack([low, high]) - targets)
    inside = (low <= targets) & (targets <= high)
    return {"value": np.abs(accuracy - targets), "low": np.where(inside, 0.0, ends.min(0)), "high": ends.max(0)}


def above_third(rows: list[dict]) -> np.ndarray:
    """The threshold prediction 1{p_cot > 1/3} per row."""
    return np.array([float(r["p_cot"] > 1 / 3) for r in rows])


def instance_labels(rows: list[dict]) -> list[str]:
    return [f"p={r['p_cot']:g} seed#{r['seed_index']}" + (f" {r['pair_type']}@{r['position']}" if r["position"] else "")
            for r in rows]


def accuracy_table(rows, pair_type: str, variants=tuple(VARIANTS)) -> str:
    """'p: optimum acc / trained acc per seed (mean margin)' per variant, from the rows."""
    parts = []
    for variant in variants:
        cells = []
        for p_cot in sorted({r["p_cot"] for r in rows}):
            at_p = [r for r in rows if r["p_cot"] == p_cot and r["pair_type"] == pair_type and r["variant"] == variant]
            optimum = [r for r in at_p if r["model"] == "optimum"]
            trained = [r for r in at_p if r["model"] == "trained"]
            at_optimum = "".join(f"{r['accuracy']:.3f} ({r['mean_margin']:+.3f}) / " for r in optimum)
            cells.append(f"p={p_cot:g}: {at_optimum}" + ", ".join(f"{r['accuracy']:.3f}" for r in trained)
                         + f" ({np.mean([r['mean_margin'] for r in trained]):+.3f})")
        parts.append(f"{variant}: " + "; ".join(cells))
    return " || ".join(parts)


def outcome_vs_loglik(rows, pair_type: str) -> np.ndarray:
    """|accuracy(outcome) − accuracy(log-likelihood)| per trained model on ``pair_type``: what V(s_1) changes."""
    return np.array([abs(a["accuracy"] - b["accuracy"]) for a, b in zip(
        select(rows, "trained", pair_type, "outcome"), select(rows, "trained", pair_type, "loglik"), strict=True)])


def judge_threshold(rows) -> Outcome:
    trained = select(rows, "trained", "long_vs_short_wrong", "outcome")
    optimum = select(rows, "optimum", "long_vs_short_wrong", "outcome")
    closed = np.array([closed_form_long_vs_short(r["p_cot"]) for r in optimum])
    same_prompt = [t for t in sorted({r["pair_type"] for r in rows}) if not t.endswith("across_prompts")]
    across = outcome_vs_loglik(rows, "long_vs_short_wrong_across_prompts")
    return Outcome(
        [Criterion("|accuracy(outcome r̂, trained) − 1{p > 1/3}|", **distance_to(trained, above_third(trained)),
                   tolerance=ACCURACY_TOLERANCE, labels=instance_labels(trained), interval=EXACT_OVER_PROMPTS),
         Criterion("|accuracy(population optimum) − closed form|", np.abs([r["accuracy"] for r in optimum] - closed),
                   ROUND_OFF, labels=[f"p={r['p_cot']:g}" for r in optimum])],
        measured={"largest |acc(outcome) − acc(loglik)|, same-prompt pairs (V(s_1) cancels)": float(max(
                      outcome_vs_loglik(rows, t).max() for t in same_prompt)),
                  "largest |acc(outcome) − acc(loglik)|, pairs across prompts": float(across.max()),
                  "trained models": len(trained)},
        detail="Long chain vs short wrong answer (same prompt), accuracy at the optimum (mean margin) / per trained "
               "seed (mean margin): " + accuracy_table(rows, "long_vs_short_wrong")
               + ". Optimum margin in theory, log p − log((1−p)/2): " + ", ".join(
                   f"p={r['p_cot']:g}: {np.log(2 * r['p_cot'] / (1 - r['p_cot'])):+.3f}" for r in optimum)
               + ". Chain of x_i vs short wrong answer of x_(i+1) (V(s_1) differs): "
               + accuracy_table(rows, "long_vs_short_wrong_across_prompts", ("outcome", "loglik"))
               + f". |acc(outcome) − acc(loglik)|: largest {across.max():.3f} across prompts, 0 expected and "
                 f"{max(outcome_vs_loglik(rows, t).max() for t in same_prompt):.3f} measured on same-prompt pairs.",
        tables={"accuracy": list(rows)})


@claim(id="endogenous.long_beats_short_wrong_iff_p_above_third", kind="derived", quantifier="for-all",
       source=f"{PAPER}, outcome reward Σ r̂ = α log π̂ + V(s_1) (docs/research/endogenous_reward_bounds.md §1.4) at the "
              "NTP fixed point of docs/research/parity_cot_rl.md §6.2 (π̂(long) = p, π̂(short wrong) = (1−p)/2)",
       statement="The outcome endogenous reward of an NTP-trained linear model ranks the long correct chain above the "
                 "short wrong answer (same prompt) iff p_cot > 1/3.",
       check="Linear AR trained by toy.train.run with the linear recipe (quick: d = 6, 300 steps, p_cot ∈ {0.25, "
             "0.3, 0.36, 0.45}, 3 data seeds; full: d = 8, 600 steps, p_cot ∈ {0.2, 0.25, 0.3, 0.36, 0.4, 0.45}, 4 "
             "seeds; seeds from ctx.rng(1302)).  Per (p_cot, seed): accuracy over all 2^d prompts, exact given the "
             "model, within 0.05 of 1{p > 1/3}: the optimum's ranking is the same on every prompt, and 0.05 lets a "
             "few prompts flip through training noise.  The grid avoids (0.312, 0.356), where the optimum's margin "
             "|log(2p/(1−p))| < 0.1 nats is of the order of the trained chain's log-likelihood deficit (detail: "
             "trained vs optimum margins).  Secondary: the population optimum's accuracy equals the closed form "
             "(exact).  Reported: the same accuracies for the log-likelihood and the discounted variants, and for "
             "pairs across prompts, where V(s_1) no longer cancels.")
def check_threshold(ctx: Context) -> Outcome:
    return judge_threshold(learned_rows(ctx.profile, ctx.seed))


def judge_discounted(rows) -> Outcome:
    discounted = select(rows, "trained", "long_vs_short_wrong", "discounted")
    discounted_loglik = select(rows, "trained", "long_vs_short_wrong", "discounted_loglik")
    closed = [closed_form_long_vs_short(r["p_cot"], DISCOUNT) for r in discounted_loglik]
    return Outcome(
        [Criterion(f"|accuracy(Σ γ^(t−1) r̂, γ={DISCOUNT}) − 1{{p > 1/3}}|",
                   **distance_to(discounted, above_third(discounted)), tolerance=ACCURACY_TOLERANCE,
                   interval=EXACT_OVER_PROMPTS, labels=instance_labels(discounted)),
         Criterion(f"|accuracy(discounted log-likelihood, γ={DISCOUNT}) − its closed form|",
                   **distance_to(discounted_loglik, closed), tolerance=ACCURACY_TOLERANCE, interval=EXACT_OVER_PROMPTS,
                   labels=instance_labels(discounted_loglik))],
        measured={"mean margin shift, discounted r̂ − outcome (trained, long vs short wrong)": float(np.mean(
            [a["mean_margin"] - b["mean_margin"] for a, b in zip(
                discounted, select(rows, "trained", "long_vs_short_wrong", "outcome"), strict=True)]))},
        detail="Long chain vs short wrong answer, accuracy at the optimum (mean margin) / per trained seed (mean "
               "margin): " + accuracy_table(rows, "long_vs_short_wrong", ("discounted", "discounted_loglik"))
               + ". The discounted r̂ adds −(1−γ) Σ_{t≥2} γ^(t−2) V(s_t) (toy/endogenous_reward.py), which grows "
                 "with the number of states a response visits and with the logits' offsets.",
        tables={"accuracy": list(rows)})


@claim(id="endogenous.discounted_reward_keeps_threshold", kind="reading", quantifier="for-all",
       source="docs/sources/generalist_reward_models_summary.md ('summed with discounting', γ = 0.95); not in the "
              "paper's retrieved equations (docs/research/endogenous_reward_bounds.md §1.4)",
       statement="Reading: the γ = 0.95 discounted sum of endogenous token rewards stands in for the outcome reward, "
                 "so on an NTP-trained linear model it ranks the long correct chain above the short wrong answer iff "
                 "p_cot > 1/3.",
       check="The models and prompts of endogenous.long_beats_short_wrong_iff_p_above_third; per (p_cot, seed) the "
             "accuracy of Σ_t 0.95^(t−1) r̂_t within 0.05 of 1{p > 1/3} (same tolerance).  Secondary (the nearest "
             "statement): the discounted log-likelihood Σ_t 0.95^(t−1) log π̂(a_t|s_t), with no V term, within 0.05 "
             "of its closed form at the optimum (threshold 1/3 on prompts with y ≠ x_1, ≈ 0.327 on the others).")
def check_discounted(ctx: Context) -> Outcome:
    return judge_discounted(learned_rows(ctx.profile, ctx.seed))


def judge_wrong_step(rows) -> Outcome:
    def wrong_step(variants) -> list[dict]:
        return [r for r in rows if r["model"] == "trained" and r["pair_type"].startswith("wrong_step")
                and r["variant"] in variants]

    primary, others = wrong_step(("outcome",)), wrong_step(tuple(v for v in VARIANTS if v != "outcome"))

    def criterion(name: str, selected: list[dict]) -> Criterion:
        return Criterion(name, **distance_to(selected, np.ones(len(selected))), tolerance=ACCURACY_TOLERANCE,
                         interval=EXACT_OVER_PROMPTS, informative=[r["chain_learned"] >= 0.99 for r in selected],
                         labels=[f"{label} {r['variant']}" for label, r in zip(instance_labels(selected), selected,
                                                                                strict=True)])

    worst = min(primary, key=lambda r: r["mean_margin"])
    return Outcome(
        [criterion("1 − accuracy(outcome r̂), chain vs one wrong step", primary),
         criterion("1 − accuracy(other variants), chain vs one wrong step", others)],
        measured={"models with the chain learned (forced-long exact chain on ≥ 99% of prompts)": int(sum(
            r["chain_learned"] >= 0.99 for r in select(rows, "trained", "long_vs_short_wrong", "outcome"))),
            "smallest mean margin (outcome)": worst["mean_margin"]},
        detail="Lowest accuracy per kind and variant over positions, p_cot and seeds: " + "; ".join(
            f"{kind} {variant}: {min(r['accuracy'] for r in wrong_step((variant,)) if kind in r['pair_type']):.3f}"
            for kind in ("propagated", "single") for variant in VARIANTS)
               + f". Smallest mean margin (outcome): {worst['mean_margin']:.2f} nats at "
                 f"{instance_labels([worst])[0]}.",
        tables={"accuracy": list(rows)})


@claim(id="endogenous.wrong_step_ranked_below_chain", kind="derived", quantifier="for-all",
       source=f"{PAPER}, outcome reward = α log π̂ + V(s_1); a learned chain step has π̂(wrong bit) ≈ 0 "
              "(docs/research/parity_cot_rl.md §6.2)",
       statement="Once the chain is learned, the outcome endogenous reward ranks the correct chain above the same "
                 "chain with one wrong step, at every chain position (wrong value propagated by the chain rule, or "
                 "only that token flipped).",
       check="The trained models of endogenous.long_beats_short_wrong_iff_p_above_third; per (p_cot, seed, kind, "
             "position j = 1..d): 1 − accuracy over all 2^d prompts ≤ 0.05 (the tolerance of the threshold claim).  "
             "A model is informative only if greedy decoding with <eos> forbidden emits the exact chain on ≥ 99% of "
             "prompts (the statement's 'once the chain is learned').  Secondary: the other three score variants.")
def check_wrong_step(ctx: Context) -> Outcome:
    return judge_wrong_step(learned_rows(ctx.profile, ctx.seed))


def judge_short_chance(rows) -> Outcome:
    trained = select(rows, "trained", "short_vs_short", "outcome")
    optimum = select(rows, "optimum", "short_vs_short", "outcome")
    deviation = np.abs(np.array([r["accuracy"] for r in trained]) - 0.5)
    _, low, high = t_interval(deviation) if np.ptp(deviation) > 0 else (deviation.mean(),) * 3
    return Outcome(
        [Criterion("|accuracy(outcome r̂) − 1/2|, short right vs short wrong", deviation, CHANCE_TOLERANCE,
                   quantifier="on-average", interval="exact per model (every prompt); Student-t over the trained "
                   "models (p_cot × seeds)", labels=instance_labels(trained)),
         Criterion("|accuracy(population optimum) − 1/2|", np.abs(np.array([r["accuracy"] for r in optimum]) - 0.5),
                   ROUND_OFF, labels=[f"p={r['p_cot']:g}" for r in optimum])],
        measured={"mean |accuracy − 1/2| over trained models": float(deviation.mean()),
                  "its t-interval": [float(low), float(high)],
                  "chance scale 1/(2·2^(d/2)) of a random preference": 0.5 / 2 ** (trained[0]["d"] / 2)},
        detail="Short right vs short wrong, accuracy at the optimum / per trained seed: " + "; ".join(
            f"p={p:g}: " + ", ".join(f"{r['accuracy']:.3f}" for r in optimum + trained if r["p_cot"] == p)
            for p in sorted({r["p_cot"] for r in trained}))
               + f". Mean |accuracy − 1/2| {deviation.mean():.3f} [{low:.3f}, {high:.3f}] over {len(trained)} "
                 f"models; a preference independent of parity scatters by about {0.5 / 2 ** (trained[0]['d'] / 2):.3f}"
                 " over 2^d prompts.",
        tables={"accuracy": list(rows)})


@claim(id="endogenous.short_pairs_at_chance_linear", kind="derived", quantifier="on-average",
       source="docs/research/parity_cot_rl.md §6.2 (the linear model cannot compute parity: both short answers have "
              "probability (1−p)/2) with the outcome reward of " + PAPER,
       statement="For the linear model, the outcome endogenous reward cannot tell the short correct answer from the "
                 "short wrong one: pairwise accuracy 1/2.",
       check="The trained models of endogenous.long_beats_short_wrong_iff_p_above_third; per model the accuracy "
             "over all 2^d prompts (exact); on average over models |accuracy − 1/2| ≤ 0.1 with a Student-t interval "
             "over models.  Tolerance: a preference independent of parity scatters by 1/(2·2^(d/2)) (0.0625 at "
             "d = 6) over 2^d prompts, and a model that computes parity would be at |accuracy − 1/2| ≈ 1/2.  "
             "Secondary: exactly 1/2 at the population optimum.")
def check_short_chance(ctx: Context) -> Outcome:
    return judge_short_chance(learned_rows(ctx.profile, ctx.seed))
