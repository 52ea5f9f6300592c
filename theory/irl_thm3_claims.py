"""Generalist Reward Models (arXiv 2506.23235) §3.3, "iterative improvement is ineffective" (Theorem 3), three readings.

What "RL on r̂" means decides what is true (theory/iterative_improvement.py): entropy-regularised RL at the same α
returns π̂ itself; unregularised RL (the theorem's π^RL = argmax V^{r̂}) returns the deterministic policy along π̂'s
sequence-level mode, a fixed point; KL-regularised RL (coefficient β, reference = the current policy, as in the
paper's PPO experiment) sharpens, π(τ) ∝ π̂(τ)^κ with κ = 1 + α/β, so round k gives π̂^{κ^k}/Z and every round moves
the policy until it reaches the mode.  Each reading is a ``reading`` claim (the paper's "RL" is ambiguous); the KL
closed form is ``derived`` (docs/research/endogenous_reward_bounds.md §2.3).

Instances: random V=3, H=4 softmax policies π̂ (α = 1, logits U[−2, 2], ``ctx.rng(301)``) and the degenerate π̂:
uniform, deterministic (one-hot rows), near-deterministic (logits ×15), an H = 1 bandit.  Each check is measure →
judge (as in theory/irl_claims.py); a reading's step function is injectable so that the tests can plant a wrong one.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from core.ledger import Context, Criterion, Outcome, claim
from theory import soft_rl
from theory.irl_claims import EXACT, PAPER
from theory.iterative_improvement import (
    elicit_reward,
    entropy_regularised_step,
    kl_regularised_step,
    law_entropy,
    response_law,
    response_laws_along,
    sharpened_law,
    unregularised_step,
)

ALPHA = 1.0
KAPPA_BETAS = (10.0, 1.0, 0.1, 0.01)  # α = 1, so κ = 1 + α/β ∈ {1.1, 2, 11, 101}; 0.01 is the paper's PPO coefficient
SECOND_ROUND_TOLERANCE = 0.01  # "changes nothing", read generously: less than 1% of the response law moves
MODE_THRESHOLD, MAX_ROUNDS = 0.99, 200  # iterate until the mode of π̂ carries 0.99 (figure 8's right panel)
# π̂^{κ^k}/Z in floating point carries an exponent error ~1e-16·|log π̂|·κ^k, so the closed form is compared with
# the iterated law only up to κ^k = 1e6 (past the rounds the random policies need to reach the mode: κ^k ≤ ~1e4).
CLOSED_FORM_MAX_POWER = 1e6
UNIQUE_MODE = 1e-6  # log-gap to the runner-up above which 200 rounds at κ = 1.1 reach the threshold on 81 responses


class Policy(NamedTuple):
    label: str
    levels: list


@lru_cache(maxsize=4)
def _theorem3_family(profile: str, seed: int) -> tuple[tuple[Policy, ...], tuple[Policy, ...]]:
    ctx = Context(profile, seed)
    rng = ctx.rng(301)
    random = tuple(Policy(f"random {i}", soft_rl.softmax_policy(soft_rl.random_levels(rng, 3, 4, -2, 2), ALPHA))
                   for i in range(ctx.size(5, 50)))
    degenerate = (
        Policy("uniform", [np.full((3**h, 3), 1 / 3) for h in range(4)]),
        Policy("deterministic", [np.eye(3)[rng.integers(0, 3, size=3**h)] for h in range(4)]),
        Policy("near-deterministic", soft_rl.softmax_policy(soft_rl.random_levels(rng, 3, 4, -30, 30), ALPHA)),
        Policy("H = 1", soft_rl.softmax_policy(soft_rl.random_levels(rng, 3, 1, -2, 2), ALPHA)))
    return random, degenerate


def _theorem3_policies(profile: str, seed: int = 0) -> list:
    """The random policies π̂ (level lists), in the order of the ``instance`` column of the sharpening tables."""
    return [policy.levels for policy in _theorem3_family(profile, seed)[0]]


def theorem3_instances(ctx: Context) -> list[Policy]:
    random, degenerate = _theorem3_family(ctx.profile, ctx.seed)
    return [*random, *degenerate]


def _full_support(policy: Policy) -> bool:
    return all((level > 0).all() for level in policy.levels)


# --- entropy-regularised and unregularised readings --------------------------------------------------------------

def measure_entropy_reading(instances: list[Policy], step=entropy_regularised_step) -> dict:
    """max |π_RL − π̂| and max |r̂(π_RL) − r̂(π̂)| per instance, π_RL = step(π̂, α)."""
    policy_change, reward_change = [], []
    for policy in instances:
        rl = step(policy.levels, ALPHA)
        policy_change.append(soft_rl.max_abs_diff(rl, policy.levels))
        reward_change.append(soft_rl.max_abs_diff(elicit_reward(rl, ALPHA), elicit_reward(policy.levels, ALPHA)))
    return {"labels": [p.label for p in instances], "policy_change": policy_change, "reward_change": reward_change}


def judge_entropy_reading(m: dict) -> Outcome:
    return Outcome([Criterion("max |π_RL − π̂|", m["policy_change"], EXACT, labels=m["labels"]),
                    Criterion("max |r̂(π_RL) − r̂(π̂)|", m["reward_change"], EXACT, labels=m["labels"])],
                   detail=f"largest policy change {max(m['policy_change']):.2e}, largest reward change "
                          f"{max(m['reward_change']):.2e}"
                          + (": under this reading the first round already changes nothing, so there is no "
                             "improvement to iterate" if max(m["policy_change"]) <= EXACT else ""))


@claim(id="irl.thm3_entropy_regularised_fixed_point", kind="reading", quantifier="for-all",
       source=f"{PAPER}, §3.3 'iterative improvement is ineffective' (reading: entropy-regularised RL at the same α)",
       statement="Entropy-regularised RL (temperature α) on r̂ elicited from π̂ at α returns π̂ itself, and "
                 "re-eliciting gives r̂ again: a fixed point at once.",
       check="theorem3_instances with full support (the soft Bellman operator needs finite rewards; the "
             "near-deterministic π̂ stands in for the deterministic one), α = 1: max |π_RL − π̂| and max |Δr̂|; "
             "round-off tolerance.")
def _thm3_entropy(ctx: Context) -> Outcome:
    return judge_entropy_reading(measure_entropy_reading([p for p in theorem3_instances(ctx) if _full_support(p)]))


def measure_unregularised_reading(instances: list[Policy], step=unregularised_step) -> dict:
    """Per instance: (π̂(mode) − π̂(τ_RL)) / π̂(mode) for the response τ_RL of π_RL = step(π̂, α) (0 iff τ_RL is a
    sequence-level mode, ties allowed), and max |step(π_RL) − π_RL| (the second round)."""
    mode_gap, second_round = [], []
    for policy in instances:
        law = response_law(policy.levels)
        rl = step(policy.levels, ALPHA)
        mode_gap.append(float((law.max() - law[np.argmax(response_law(rl))]) / law.max()))
        second_round.append(soft_rl.max_abs_diff(step(rl, ALPHA), rl))
    return {"labels": [p.label for p in instances], "mode_gap": mode_gap, "second_round": second_round}


def judge_unregularised_reading(m: dict) -> Outcome:
    return Outcome([Criterion("relative probability gap of τ_RL to π̂'s mode", m["mode_gap"], EXACT,
                              labels=m["labels"]),
                    Criterion("max policy change in round 2", m["second_round"], EXACT, labels=m["labels"])],
                   detail=f"largest relative gap to the mode {max(m['mode_gap']):.2e}; largest change in round 2 "
                          f"{max(m['second_round']):.2e}")


@claim(id="irl.thm3_unregularised_mode_fixed_point", kind="reading", quantifier="for-all",
       source=f"{PAPER}, §3.3 (reading: unregularised RL, π^RL = argmax V^{{r̂}} as in Theorem 2)",
       statement="Unregularised RL on r̂ yields the deterministic policy along a most likely response of π̂ "
                 "(Σr̂ = α log π̂ + V(s_1)), and a second round returns the same policy.",
       check="theorem3_instances, α = 1: brute-force π̂(τ) over all responses vs the response of the backward-"
             "induction argmax policy (relative probability gap, 0 for any mode); max policy change in round 2.")
def _thm3_greedy(ctx: Context) -> Outcome:
    return judge_unregularised_reading(measure_unregularised_reading(theorem3_instances(ctx)))


# --- KL-regularised reading: sequence-level sharpening --------------------------------------------------------------

def measure_kl(instances: list[Policy], betas=KAPPA_BETAS, step=kl_regularised_step) -> list[dict]:
    """One record per (β, π̂): the response laws along rounds of ``step(policy, α, β)`` (at least 2 rounds, then
    until π̂'s mode carries MODE_THRESHOLD or MAX_ROUNDS), their distance to the closed form π̂^{κ^k}/Z (rounds with
    κ^k ≤ CLOSED_FORM_MAX_POWER), and TV(round 2, round 1)."""
    records = []
    for beta in betas:
        kappa = 1 + ALPHA / beta
        for index, policy in enumerate(instances):
            law = response_law(policy.levels)
            mode = int(np.argmax(law))
            laws = response_laws_along(policy.levels, lambda p, b=beta: step(p, ALPHA, b), MAX_ROUNDS,
                                       stop=lambda k, current, m=mode: k >= 2 and current[m] >= MODE_THRESHOLD)
            closed = [k for k in range(1, len(laws)) if k * np.log(kappa) <= np.log(CLOSED_FORM_MAX_POWER)]
            probabilities = [float(current[mode]) for current in laws]
            reached = [k for k, p in enumerate(probabilities) if k >= 1 and p >= MODE_THRESHOLD]
            top = np.sort(law)[-2:]
            records.append({
                "beta": beta, "kappa": kappa, "index": index, "label": policy.label,
                "law_error": max(float(np.abs(laws[k] - sharpened_law(policy.levels, kappa**k)).max())
                                 for k in closed),
                "tv_second_round": 0.5 * float(np.abs(laws[2] - laws[1]).sum()),
                "mode_probabilities": probabilities,
                "rounds_to_mode": reached[0] if reached else MAX_ROUNDS + 1,
                "unique_mode": bool(top[0] == 0 or np.log(top[1]) - np.log(top[0]) > UNIQUE_MODE),
                "entropy_before": law_entropy(law), "entropy_after": law_entropy(laws[1])})
    return records


@lru_cache(maxsize=4)
def _kl_records(profile: str, seed: int) -> tuple[dict, ...]:
    return tuple(measure_kl(theorem3_instances(Context(profile, seed))))


def _labels(records) -> list[str]:
    return [f"{r['label']}, κ={r['kappa']:g}" for r in records]


def _figure_tables(records) -> dict[str, list[dict]]:
    """Figure 8's tables: the random policies only (the degenerate ones are in the criteria and the detail)."""
    random = [r for r in records if r["label"].startswith("random")]
    sharpening = [{"kappa": r["kappa"], "beta": r["beta"], "instance": r["index"],
                   "mode_probability_before": r["mode_probabilities"][0],
                   "mode_probability_after_round_1": r["mode_probabilities"][1],
                   "entropy_ratio": r["entropy_after"] / r["entropy_before"],
                   "rounds_to_mode": float(r["rounds_to_mode"])} for r in random]
    iteration = [{"kappa": r["kappa"], "instance": r["index"], "round": round_, "mode_probability": probability}
                 for r in random for round_, probability in enumerate(r["mode_probabilities"])
                 if round_ <= r["rounds_to_mode"]]
    return {"sharpening": sharpening, "iteration": iteration}


def judge_kl_sharpening(records: list[dict]) -> Outcome:
    final = [r["mode_probabilities"][-1] for r in records]
    converging = [r["unique_mode"] and r["mode_probabilities"][0] < MODE_THRESHOLD for r in records]
    kappas = sorted({r["kappa"] for r in records})
    random = [r for r in records if r["label"].startswith("random")]
    measured = {f"kappa={kappa:g}: median {name}": float(np.median([value(r) for r in random if r["kappa"] == kappa]))
                for kappa in kappas for name, value in (
                    ("mode probability after round 1", lambda r: r["mode_probabilities"][1]),
                    ("entropy after / before round 1", lambda r: r["entropy_after"] / r["entropy_before"]),
                    ("rounds to mode >= 0.99", lambda r: r["rounds_to_mode"]))} if random else {}
    return Outcome([Criterion("max_k |law after k rounds − π̂^{κ^k}/Z|", [r["law_error"] for r in records], EXACT,
                              labels=_labels(records)),
                    Criterion(f"P(mode of π̂) after at most {MAX_ROUNDS} rounds", final, MODE_THRESHOLD, ">=",
                              informative=converging, labels=_labels(records))],
                   measured=measured,
                   detail=f"largest distance to the closed form {max(r['law_error'] for r in records):.2e}; "
                          "rounds until the mode carries 0.99, median (max) over instances with a unique mode: "
                          + ", ".join(f"κ={kappa:g}: {np.median(rounds):g} ({max(rounds)})" for kappa in kappas
                                      if (rounds := [r["rounds_to_mode"] for r, ok in zip(records, converging,
                                                                                           strict=True)
                                                     if ok and r["kappa"] == kappa])),
                   tables=_figure_tables(records) if random else {})


@claim(id="irl.thm3_kl_is_sequence_sharpening", kind="derived", quantifier="for-all",
       source="docs/research/endogenous_reward_bounds.md §2.3 (KL reading of §3.3; Rafailov et al. 2024)",
       statement="KL-regularised RL (β) on r̂ elicited at α gives π(τ) ∝ π̂(τ)^{1+α/β}; iterating gives π̂^{κ^k}, "
                 "which converges to the sequence-level mode of π̂.",
       check="theorem3_instances, α = 1, κ = 1+α/β for β ∈ {10, 1, 0.1, 0.01}: max over rounds k (κ^k ≤ 1e6) of "
             "|law − π̂^{κ^k}/Z| (round-off); P(mode) after iterating (≥ 0.99 within 200 rounds; informative where the "
             "mode is unique by a log-gap > 1e-6, enough for 200 rounds at κ = 1.1, and not already ≥ 0.99).  "
             "Tables: the random policies (figure 8).")
def _thm3_sharpening(ctx: Context) -> Outcome:
    return judge_kl_sharpening(list(_kl_records(ctx.profile, ctx.seed)))


def judge_kl_second_round(records: list[dict]) -> Outcome:
    tv = [r["tv_second_round"] for r in records]
    kappas = sorted({r["kappa"] for r in records})
    per_kappa = {kappa: [r["tv_second_round"] for r in records if r["kappa"] == kappa] for kappa in kappas}
    fixed = sorted({r["label"] for r in records} - {r["label"] for r in records
                                                    if r["tv_second_round"] > SECOND_ROUND_TOLERANCE})
    return Outcome([Criterion("TV(round 2, round 1)", tv, SECOND_ROUND_TOLERANCE, labels=_labels(records))],
                   measured={f"kappa={kappa:g}: max TV": float(max(values)) for kappa, values in per_kappa.items()},
                   detail="instances moved by more than 0.01 in round 2: " + ", ".join(
                       f"κ={kappa:g}: {sum(v > SECOND_ROUND_TOLERANCE for v in values)} of {len(values)} "
                       f"(median TV {np.median(values):.3g})" for kappa, values in per_kappa.items())
                          + f"; within 0.01 at every κ: {', '.join(fixed) or 'none'}.")


@claim(id="irl.thm3_kl_second_round_changes_nothing", kind="reading", quantifier="for-all",
       source=f"{PAPER}, §3.3 (reading: KL-regularised RL, coefficient β to the current policy, as in the paper's "
              "PPO experiment)",
       statement="After one round of KL-regularised RL on the elicited reward, a second round (re-elicit, re-solve) "
                 "leaves the policy unchanged.",
       check="theorem3_instances × β ∈ {10, 1, 0.1, 0.01}, α = 1: TV between the response laws after rounds 2 and 1, "
             "per instance (the degenerate uniform and deterministic π̂ are fixed points and must not decide).  "
             "Tolerance 0.01: 'changes nothing' read generously as less than 1% of the response mass moving.")
def _thm3_kl(ctx: Context) -> Outcome:
    return judge_kl_second_round(list(_kl_records(ctx.profile, ctx.seed)))
