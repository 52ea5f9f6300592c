"""Theorem 3 of "Generalist Reward Models" ("iterative improvement is ineffective", paper §3.3) under three readings.

The paper: elicit the endogenous reward r̂ (eq. (11)) from π̂, run RL on r̂ to get π^RL, then elicit again
from π^RL; the second round brings nothing because π^RL is already optimal for its own reward.  What
"RL" means decides what is true, so each reading is one step function here:

* `entropy_regularised_step` (same α): the soft-optimal policy of r̂(π̂) is π̂ itself — the fixed point is
  reached at once, and the *first* round changes nothing either.
* `kl_regularised_step` (coefficient β, reference = the current policy, as in the paper's PPO experiment):
  the optimum is the sequence-level sharpening π(τ) ∝ π̂(τ)^κ with κ = 1 + α/β (Rafailov et al. 2024 form).
  Iterating gives π̂^{κ^k}: every round changes the policy, and the limit is the mode of π̂.
* `unregularised_step` (the theorem's π^RL = argmax V^{r̂}): the deterministic policy along the
  sequence-level mode of π̂ (Viterbi path), which is a fixed point of the unregularised step.

Departure from the paper: the paper argues about a single abstract RL oracle; we make the objective
explicit and measure on exact prefix trees (`theory.soft_rl` layout).
"""

from __future__ import annotations

import numpy as np

from theory.soft_rl import (
    check_positive,
    endogenous_reward,
    greedy_optimal,
    kl_regularised_optimal,
    log_policy,
    soft_optimal,
    state_distributions,
)


def elicit_reward(policy_levels, alpha: float) -> list[np.ndarray]:
    """r̂ of eq. (11) with logits f = α log π (any per-state logit offset only adds potential shaping)."""
    return endogenous_reward([alpha * lp for lp in log_policy(policy_levels)], alpha)


def entropy_regularised_step(policy_levels, alpha: float) -> list[np.ndarray]:
    """argmax_π E_π[Σ r̂] + α·(entropy): soft_optimal(r̂(π), α)."""
    return soft_optimal(elicit_reward(policy_levels, alpha), alpha)[2]


def kl_regularised_step(policy_levels, alpha: float, beta: float) -> list[np.ndarray]:
    """argmax_π E_π[Σ r̂] − β KL(π ‖ π_current), with r̂ elicited from π_current at temperature α."""
    return kl_regularised_optimal(elicit_reward(policy_levels, alpha), policy_levels, beta)[2]


def unregularised_step(policy_levels, alpha: float) -> list[np.ndarray]:
    """argmax_π E_π[Σ r̂] (deterministic; ties broken towards the lowest token)."""
    return greedy_optimal(elicit_reward(policy_levels, alpha))[2]


def response_law(policy_levels) -> np.ndarray:
    """P(τ) for all V**H responses, in the order of `theory.soft_rl.all_trajectories`."""
    return state_distributions(policy_levels)[-1]


def sharpened_law(policy_levels, kappa: float) -> np.ndarray:
    """Brute-force sequence-level sharpening π(τ)^κ / Σ_τ' π(τ')^κ, computed in log space."""
    check_positive(kappa, "kappa")
    with np.errstate(divide="ignore"):
        log_law = kappa * np.log(response_law(policy_levels))
    return np.exp(log_law - np.logaddexp.reduce(log_law))


def law_entropy(law: np.ndarray) -> float:
    """Shannon entropy (nats) of a response law; 0·log 0 = 0."""
    positive = law[law > 0]
    return float(-(positive * np.log(positive)).sum())


def kl_mode_probabilities(policy_levels, alpha: float, beta: float, threshold: float = 0.99,
                          max_rounds: int = 200) -> np.ndarray:
    """P(mode of π̂) under the response law after rounds 1, 2, … of `kl_regularised_step` (= π̂^{κ^k}/Z at
    round k, κ = 1 + α/β), up to the first round where it reaches ``threshold``, or ``max_rounds`` rounds."""
    mode = int(np.argmax(response_law(policy_levels)))
    policy, probabilities = policy_levels, []
    for _ in range(max_rounds):
        policy = kl_regularised_step(policy, alpha, beta)
        probabilities.append(float(response_law(policy)[mode]))
        if probabilities[-1] >= threshold:
            break
    return np.array(probabilities)


def response_laws_along(policy_levels, step, max_rounds: int, stop=None) -> list[np.ndarray]:
    """Response laws of π̂ and of step(π̂), step(step(π̂)), …: ``max_rounds`` rounds, or fewer when ``stop(round,
    law)`` is true after a round.  ``step`` maps a policy to the next one (one reading of "RL on r̂ elicited from
    the current policy", e.g. ``lambda p: kl_regularised_step(p, alpha, beta)``, for which round k is π̂^{κ^k}/Z).
    Runs on deterministic policies too (zero-probability tokens stay at zero)."""
    laws, policy = [response_law(policy_levels)], policy_levels
    for round_ in range(1, max_rounds + 1):
        policy = step(policy)
        laws.append(response_law(policy))
        if stop is not None and stop(round_, laws[-1]):
            break
    return laws


def kl_iterations_to_mode(policy_levels, alpha: float, beta: float, threshold: float = 0.99,
                          max_rounds: int = 200) -> int:
    """Rounds of `kl_regularised_step` until the mode of π̂ carries ≥ ``threshold`` of the response law.

    Returns ``max_rounds + 1`` when the threshold is not reached (reported, not hidden).
    """
    probabilities = kl_mode_probabilities(policy_levels, alpha, beta, threshold, max_rounds)
    return len(probabilities) if probabilities[-1] >= threshold else max_rounds + 1
