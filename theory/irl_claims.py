"""Generalist Reward Models (arXiv 2506.23235): Proposition 1, the endogenous reward, Theorem 3 (``irl.*``).

Every check computes exact numbers on prefix trees / automata (`theory.soft_rl`, `theory.error_bounds`,
`theory.iterative_improvement`) and compares them with a stated tolerance.  Random instances come from
numpy Generators seeded by the ledger context (`Context.rng`).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.special import logsumexp

from core.ledger import Context, Criterion, Outcome, claim
from theory import error_bounds, soft_rl
from theory.iterative_improvement import fixed_point_report, kl_mode_probabilities, kl_sharpening_report, response_law

PAPER = "Generalist Reward Models (arXiv 2506.23235)"
EXACT = 1e-9  # tolerance for identities that hold to machine precision


def _n(profile: str, quick: int, full: int) -> int:
    return quick if profile == "quick" else full


# --- Proposition 1 and the endogenous reward --------------------------------------------------------

@claim(
    kind="seed", quantifier="for-all",
    id="irl.prop1_ntp_is_inverse_soft_q", source=f"{PAPER}, Proposition 1, eqs. (2), (7), (10)",
       statement="The offline inverse soft-Q objective (7) at Q = f equals α × the NTP log-likelihood of "
                 "π = softmax(f/α); per-state logit shifts leave it unchanged, so NTP solves (7).",
       check="Random V=3,H=4 trees and sampled datasets: (7) computed token by token vs α·Σ log π(τ); shift "
             "f(s,·)+c(s); NTP count-ratio solution vs random perturbations of Q.")
def _prop1(ctx: Context) -> Outcome:
    profile = ctx.profile
    rng = np.random.default_rng(101)
    vocab, horizon, alpha = 3, 4, 0.7
    identity_err = shift_err = 0.0
    beaten = 0
    for _ in range(_n(profile, 10, 100)):
        logits = soft_rl.random_levels(rng, vocab, horizon, -2, 2)
        data = soft_rl.all_trajectories(vocab, horizon)[rng.integers(0, vocab**horizon, size=20)]
        prefixes = np.zeros(len(data), dtype=np.int64)
        objective = 0.0
        for h in range(horizon):  # eq. (7), written out independently of soft_rl
            rows = logits[h][prefixes]
            objective += (rows[np.arange(len(data)), data[:, h]] - alpha * logsumexp(rows / alpha, axis=1)).sum()
            prefixes = prefixes * vocab + data[:, h]
        ntp = alpha * soft_rl.log_likelihood(soft_rl.softmax_policy(logits, alpha), data).sum()
        identity_err = max(identity_err, abs(objective - ntp) / abs(ntp))
        shifted = [f + rng.normal(size=(f.shape[0], 1)) * 5 for f in logits]
        shifted_ntp = alpha * soft_rl.log_likelihood(soft_rl.softmax_policy(shifted, alpha), data).sum()
        shift_err = max(shift_err, abs(shifted_ntp - ntp))
        ntp_policy = soft_rl.ntp_count_policy(data, vocab)
        best = soft_rl.log_likelihood(ntp_policy, data).sum()
        for _ in range(20):
            noisy_logits = [alpha * lp + rng.normal(size=lp.shape) for lp in soft_rl.log_policy(ntp_policy)]
            perturbed = soft_rl.softmax_policy(noisy_logits, alpha)
            beaten += soft_rl.log_likelihood(perturbed, data).sum() > best + 1e-12
    return Outcome(
        [Criterion("rel |J_IQ(f) - alpha*NTP(f)|", identity_err, EXACT),
         Criterion("max change under logit shift c(s)", shift_err, EXACT),
         Criterion("perturbed Q beating the NTP solution", float(beaten), 0.0)],
        detail="The identity is exact algebra (α log softmax(f/α) = f − α logsumexp(f/α)); the maximiser is not "
               "unique (any c(s), and any Q at unvisited states), hence 'a solution'.")


@claim(
    kind="seed", quantifier="for-all",
    id="irl.endogenous_reward_is_shaped_true_reward", source=f"{PAPER}, eqs. (11)-(12) and §3.1 assumption",
       statement="If π̂ is the MaxEnt-optimal expert π^E of r*, the endogenous reward r̂ of its logits equals r* "
                 "up to potential shaping, so all trajectory returns shift by one constant.",
       check="Random V=3,H=5 trees, r* ~ U[0,1], f = α log π^E + c(s) with random c: max |r̂ − r* − (Φ(s')−Φ(s))|, "
             "Φ = V* − V_f, and the spread of Σr̂ − Σr* over all 243 responses; secondary: for a noisy π̂ the "
             "residual equals α(log π̂ − log π^E) exactly; the soft-optimal policy of r̂ is π^E (shaping invariance).")
def _shaping(ctx: Context) -> Outcome:
    profile = ctx.profile
    rng = np.random.default_rng(102)
    vocab, horizon = 3, 5
    residual = spread = general = raw = policy_err = 0.0
    table = []
    for index in range(_n(profile, 10, 100)):
        alpha = rng.choice([0.3, 1.0, 3.0])
        row = {"instance": index, "alpha": float(alpha)}
        for noise in (0.0, 0.5):
            inst = error_bounds.random_imitation_instance(rng, vocab, horizon, alpha, noise)
            hat = soft_rl.endogenous_reward(inst.logits, alpha)
            v_star, v_f = soft_rl.soft_optimal(inst.reward, alpha)[1], soft_rl.soft_values(inst.logits, alpha)
            potential = [a - b for a, b in zip(v_star[:-1], v_f[:-1], strict=True)]
            shaped = soft_rl.shape_reward(inst.reward, potential)
            excess = [r_hat - r_sh for r_hat, r_sh in zip(hat, shaped, strict=True)]
            if noise == 0.0:
                row["residual_shaping_removed"] = max(float(np.abs(e).max()) for e in excess)
                paths = soft_rl.all_trajectories(vocab, horizon)
                excess_return = soft_rl.outcome_reward(hat, paths) - soft_rl.outcome_reward(inst.reward, paths)
                row["return_spread"] = float(np.ptp(excess_return))
                row["residual_raw"] = soft_rl.max_abs_diff(hat, inst.reward)
                residual, spread = max(residual, row["residual_shaping_removed"]), max(spread, row["return_spread"])
                raw = max(raw, row["residual_raw"])
                policy_err = max(policy_err, soft_rl.max_abs_diff(soft_rl.soft_optimal(hat, alpha)[2], inst.expert))
            else:
                log_learner, log_expert = soft_rl.log_policy(inst.learner), soft_rl.log_policy(inst.expert)
                log_ratio = [alpha * (a - b) for a, b in zip(log_learner, log_expert, strict=True)]
                row["noisy_residual_minus_alpha_log_ratio"] = soft_rl.max_abs_diff(excess, log_ratio)
                general = max(general, row["noisy_residual_minus_alpha_log_ratio"])
        table.append(row)
    return Outcome(
        [Criterion("max |r̂ − r* − shaping| (π̂ = π^E)", residual, EXACT),
         Criterion("spread of Σr̂ − Σr* over responses", spread, EXACT),
         Criterion("max |residual − α Δlog π| (noisy π̂)", general, EXACT),
         Criterion("max |soft-optimal(r̂) − π^E|", policy_err, EXACT)],
        measured={"max |r̂ − r*| without removing shaping": raw},
        detail=f"r̂ is NOT r* itself (max |r̂ − r*| = {raw:.3g}); it is r* only up to a potential, which is all "
               "that is identifiable (Ng et al. 1999).",
        tables={"residuals": table})


@claim(
    kind="seed", quantifier="for-all",
    id="irl.outcome_reward_ranks_by_loglik", source=f"{PAPER}, outcome reward below eq. (12) (S-BLOG)",
       statement="Σ_h r̂ = α log π̂(τ|s_1) + V_f(s_1), so for two responses to one prompt the endogenous outcome "
                 "reward ranks exactly as the (unnormalised) log-likelihood.",
       check="Random-logit V=3,H=6 trees (729 responses): max residual of the identity; fraction of response pairs "
             "ordered differently by Σr̂ and by log π̂.")
def _outcome(ctx: Context) -> Outcome:
    profile = ctx.profile
    rng = np.random.default_rng(104)
    residual = flipped = 0.0
    paths = soft_rl.all_trajectories(3, 6)
    for _ in range(_n(profile, 3, 20)):
        alpha = rng.choice([0.5, 1.0, 2.0])
        logits = soft_rl.random_levels(rng, 3, 6, -2, 2)
        total = soft_rl.outcome_reward(soft_rl.endogenous_reward(logits, alpha), paths)
        loglik = soft_rl.log_likelihood(soft_rl.softmax_policy(logits, alpha), paths)
        residual = max(residual, float(np.abs(total - alpha * loglik - soft_rl.soft_values(logits, alpha)[0][0]).max()))
        flipped = max(flipped, soft_rl.ranking_disagreement(loglik, total))
    return Outcome([Criterion("max |Σr̂ − α log π̂ − V(s_1)|", residual, EXACT),
                    Criterion("fraction of pairs ranked differently", flipped, 0.0)],
                   detail="EndoRM's pairwise judgement is therefore log-likelihood ranking (length/triviality bias).")


@claim(
    kind="seed", quantifier="for-all",
    id="irl.discounted_outcome_keeps_ranking", source="seeds/generalist_reward_models_summary.md (γ = 0.95 "
       "outcome reward; not found in the paper itself)",
       statement="Aggregating the endogenous token rewards with discount γ = 0.95 ranks responses like the theory's "
                 "γ = 1 outcome reward.",
       check="Random-logit V=3,H=6 trees: fraction of response pairs whose order under Σ γ^h r̂ differs from the order "
             "under Σ r̂ (= log-likelihood order); also for the discounted sum of log-probs alone.")
def _discounted(ctx: Context) -> Outcome:
    profile = ctx.profile
    rng = np.random.default_rng(105)
    paths = soft_rl.all_trajectories(3, 6)
    flipped_reward, flipped_logprob = [], []
    for _ in range(_n(profile, 3, 20)):
        logits = soft_rl.random_levels(rng, 3, 6, -2, 2)
        reward = soft_rl.endogenous_reward(logits, 1.0)
        theory = soft_rl.outcome_reward(reward, paths)
        flipped_reward.append(soft_rl.ranking_disagreement(theory, soft_rl.outcome_reward(reward, paths, gamma=0.95)))
        log_probs = soft_rl.log_policy(soft_rl.softmax_policy(logits, 1.0))
        discounted_logprob = soft_rl.outcome_reward(log_probs, paths, gamma=0.95)
        flipped_logprob.append(soft_rl.ranking_disagreement(theory, discounted_logprob))
    return Outcome([Criterion("fraction of pairs flipped by γ=0.95 on r̂", float(np.mean(flipped_reward)), 0.0)],
                   measured={"fraction flipped, γ=0.95 sum of log-probs": float(np.mean(flipped_logprob))},
                   detail="With γ < 1 the V(s_h) − V(s_{h+1}) terms of eq. (12) no longer telescope; the discounted "
                          "score is a different heuristic, not covered by Theorems 1-2.")


# --- Theorem 3 ----------------------------------------------------------------------------------------

KAPPA_BETAS = (10.0, 1.0, 0.1, 0.01)  # α = 1, so κ = 1 + α/β ∈ {1.1, 2, 11, 101}


@lru_cache(maxsize=2)
def _theorem3_policies(profile: str) -> list:
    """Random V=3, H=4 softmax policies π̂ (α = 1), the instances of the Theorem 3 claims."""
    rng = np.random.default_rng(301)
    return [soft_rl.softmax_policy(soft_rl.random_levels(rng, 3, 4, -2, 2), 1.0) for _ in range(_n(profile, 5, 50))]


@lru_cache(maxsize=2)
def _theorem3_reports(profile: str) -> tuple[list, dict]:
    """Fixed-point and KL-sharpening reports on `_theorem3_policies`, shared by 4 claims."""
    policies = _theorem3_policies(profile)
    fixed = [fixed_point_report(policy, 1.0) for policy in policies]
    kl = {beta: [kl_sharpening_report(policy, 1.0, beta) for policy in policies] for beta in KAPPA_BETAS}
    return fixed, kl


def _worst(reports: list, key: str, reduce=max) -> float:
    return float(reduce(report[key] for report in reports))


@claim(
    kind="seed", quantifier="for-all",
    id="irl.thm3_entropy_regularised_fixed_point", source=f"{PAPER}, §3.3 'iterative improvement is ineffective' "
       "(reading: entropy-regularised RL at the same α)",
       statement="Entropy-regularised RL on r̂ returns π̂ itself and re-eliciting gives r̂ again: a fixed point at once.",
       check="Random V=3,H=4 trees, α = 1: max |π_RL − π̂| and max |r̂(π_RL) − r̂(π̂)|.")
def _thm3_entropy(ctx: Context) -> Outcome:
    profile = ctx.profile
    fixed, _ = _theorem3_reports(profile)
    return Outcome([Criterion("max |π_RL − π̂|", _worst(fixed, "entropy: max |pi_RL - pi|"), EXACT),
                    Criterion("max |Δr̂|", _worst(fixed, "entropy: max |r_hat(pi_RL) - r_hat(pi)|"), EXACT)],
                   detail="Under this reading even the first round changes nothing: no improvement at all.")


@claim(
    kind="seed", quantifier="for-all",
    id="irl.thm3_kl_second_round_changes_nothing", source=f"{PAPER}, §3.3 (reading: KL-regularised RL, "
       "coefficient β to the current policy, as in the paper's PPO experiment)",
       statement="After one round of KL-regularised RL on the elicited reward, a second round (re-elicit, re-solve) "
                 "leaves the policy unchanged.",
       check="Random V=3,H=4 trees, α = 1, β = 1: total variation between the response laws after rounds 1 and 2.")
def _thm3_kl(ctx: Context) -> Outcome:
    profile = ctx.profile
    reports = _theorem3_reports(profile)[1][1.0]
    return Outcome([Criterion("min TV(round 2, round 1)", _worst(reports, "TV(round 2, round 1)", min), EXACT)],
                   measured={"mean TV": float(np.mean([r["TV(round 2, round 1)"] for r in reports]))},
                   detail="Each round sharpens again (irl.thm3_kl_is_sequence_sharpening): not a fixed point.")


@claim(
    quantifier="for-all",
    id="irl.thm3_kl_is_sequence_sharpening", kind="derived", source="research/endogenous_reward_bounds.md §2.3 "
       "(KL reading of §3.3; Rafailov et al. 2024)",
       statement="KL-regularised RL (β) on r̂ elicited at α gives π(τ) ∝ π̂(τ)^{1+α/β}; iterating gives π̂^{κ^k}, "
                 "which converges to the sequence-level mode of π̂.",
       check="Random V=3,H=4 trees, α = 1, κ = 1+α/β for β ∈ {10, 1, 0.1, 0.01}: max |law − π̂^κ/Z|; mode "
             "probability and entropy after one round; rounds until the mode has probability ≥ 0.99.")
def _thm3_sharpening(ctx: Context) -> Outcome:
    profile = ctx.profile
    kl = _theorem3_reports(profile)[1]
    measured = {f"kappa={1 + 1 / beta:g}: median {key}": float(np.median([r[key] for r in reports]))
                for beta, reports in kl.items() for key in ("mode probability after round 1",
                                                            "entropy after / before round 1", "rounds to mode >= 0.99")}
    law_err = max(_worst(r, "max |law - pi^kappa/Z|") for r in kl.values())
    policies = _theorem3_policies(profile)
    sharpening = [{"kappa": 1 + 1 / beta, "beta": beta, "instance": index,
                   "mode_probability_before": float(response_law(policy).max()),
                   "mode_probability_after_round_1": report["mode probability after round 1"],
                   "entropy_ratio": report["entropy after / before round 1"],
                   "rounds_to_mode": report["rounds to mode >= 0.99"]}
                  for beta, reports in kl.items() for index, (policy, report) in enumerate(zip(policies, reports,
                                                                                                strict=True))]
    iteration = [{"kappa": 1 + 1 / beta, "instance": index, "round": round_, "mode_probability": probability}
                 for beta in kl for index, policy in enumerate(policies)
                 for round_, probability in enumerate([float(response_law(policy).max()),
                                                       *kl_mode_probabilities(policy, 1.0, beta)])]
    return Outcome([Criterion("max |law − π̂^κ/Z|", law_err, EXACT),
                    Criterion("max rounds to mode prob >= 0.99",
                              max(_worst(r, "rounds to mode >= 0.99") for r in kl.values()), 200.0)],
                   measured=measured,
                   detail="Median rounds to the mode: " + ", ".join(
                       f"κ={1 + 1 / b:g}: {np.median([r['rounds to mode >= 0.99'] for r in reps]):g}"
                       for b, reps in kl.items()),
                   tables={"sharpening": sharpening, "iteration": iteration})


@claim(
    kind="seed", quantifier="for-all",
    id="irl.thm3_unregularised_mode_fixed_point", source=f"{PAPER}, §3.3 (reading: unregularised RL, "
       "π^RL = argmax V^{r̂} as in Theorem 2)",
       statement="Unregularised RL on r̂ yields the deterministic policy along π̂'s most likely response, and a second "
                 "round returns the same policy.",
       check="Random V=3,H=4 trees: brute-force argmax_τ π̂(τ) vs the greedy policy's response; policy change "
             "in round 2.")
def _thm3_greedy(ctx: Context) -> Outcome:
    profile = ctx.profile
    fixed, _ = _theorem3_reports(profile)
    return Outcome([Criterion("responses differing from the mode",
                              _worst(fixed, "greedy: response differs from the mode", sum), 0.0),
                    Criterion("max policy change in round 2", _worst(fixed, "greedy: max policy change in round 2"),
                              EXACT)])
