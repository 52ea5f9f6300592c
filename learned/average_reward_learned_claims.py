"""Ledger claims (ids ``avg.learned.*``): the average-reward claims of average_reward_paper.md checked on a
*learned* model, the TinyGPT of toy/markov.py trained by SGD on samples of a random order-2 chain p_h over
V = 3 tokens, then post-trained by on-policy average-reward RL.  Every number is exact given the learned
table (theory.average_reward); the only noise is in the table itself, from the finite samples.  The chain is
fixed (learned.markov.MarkovConfig: chain_seed 7, τ = 1); "quick" trains a 1-layer width-64 model (400 NTP steps
of 1024 pairs, 200 RL updates of 64 walkers × 16 steps), "full" a 2-layer width-64 one (1500 NTP steps of 2048
pairs, 600 RL updates of 128 walkers).

Sampling tolerances (one budget, propagated):
* KL_{μ_D}(p_h ‖ π) = E_{s~μ_D} KL(p_h(·|s) ‖ π(·|s)).  The maximum-likelihood table from N pairs has
  E KL ≈ d/(2N), d = V**k (V − 1) free parameters (χ²_d/2N asymptotics).  Online Adam with a decaying step
  is less efficient: on 24 random chains (τ ∈ {0.5, 1, 2}, quick model) its last iterate sat at 8–70 × d/(2N),
  so the band is KL_TOL = 100 d/(2N).
* ρ.  To first order ρ(π) − ρ(p_h) = g·δz (g = ∇_z ρ at z = log p_h) and KL = ½ Σ_s μ_D(s) δz_sᵀ F_s δz_s
  with F_s = diag(p_s) − p_s p_sᵀ; the largest |g·δz| on that KL ball is RHO_TOL = sqrt(2 KL_TOL Σ_{s,a}
  g_sa² / (μ_D(s) p_h(a|s))) (Σ_a g_sa = 0, so F_s⁺ g_s = g_s/p_s): the ρ change sampling error can explain.
* ρ_ent(π) = −E_{μ_π} KL(π ‖ p_h) equals −KL_{μ_D}(p_h ‖ π) to second order: band KL_TOL.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from core.ledger import Context, Criterion, Outcome, claim
from learned.markov import MarkovConfig, run
from theory.average_reward import gradients
from theory.chains import on_policy_distribution

SOURCE = "average_reward_paper.md"
KL_BAND_FACTOR = 100  # KL_TOL = KL_BAND_FACTOR · d/(2N), see the module docstring
GAP_FRACTION = 0.5  # "moves toward the maximiser": RL closes at least half of ρ* − ρ(p_h)
PROFILES = {
    "quick": MarkovConfig(),
    "full": MarkovConfig(layers=2, ntp_steps=1500, ntp_sequences=64, rl_steps=600, rl_walkers=128),
}


@cache
def learned(profile: str) -> dict:
    """One NTP run and the two RL runs of the profile, with the tolerance bands of the module docstring."""
    result = run(PROFILES[profile])
    p_human = result["p_human"]
    kl_tol = KL_BAND_FACTOR * p_human.shape[0] * (p_human.shape[1] - 1) / (2 * result["ntp_samples"])
    grad_rho = gradients(np.log(p_human), p_human)["average_reward"]
    fisher_norm = float(np.sum(grad_rho**2 / (on_policy_distribution(p_human)[:, None] * p_human)))
    return result | {"kl_tol": kl_tol, "rho_tol": float(np.sqrt(2 * kl_tol * fisher_norm))}


def summary(profile: str) -> dict:
    """The measured numbers of every run, for `measured` (policies left out)."""
    result = learned(profile)
    numbers = {name: {k: v for k, v in result[name].items() if isinstance(v, float)}
               for name in ("initial", "ntp", "rl", "rl_entropy")}
    for name in ("rl", "rl_entropy"):
        numbers[name]["final_running_rho"] = result[name]["running_rho"][-1]
    return numbers | {"reference": result["reference"], "ntp_samples": result["ntp_samples"],
                      "kl_tol": result["kl_tol"], "rho_tol": result["rho_tol"]}


def describe(result: dict, name: str) -> str:
    """ρ, ρ_ent, KL, the two TVs and the modal mass of one run (``name`` ∈ ntp, rl, rl_entropy) as text."""
    numbers = result[name]
    return (f"ρ {numbers['rho']:.4f}, ρ_ent {numbers['rho_ent']:.2e}, KL_μD(p_h‖π) {numbers['kl_data']:.2e}, "
            f"TV(μ_π, μ_D) {numbers['tv_mu']:.3g}, μ_D-weighted TV(π, p_h) {numbers['tv_policy_to_human']:.3g}, "
            f"on-policy modal mass {numbers['modal_mass']:.3f}")


def references(result: dict) -> str:
    """The exact reference values and the tolerance bands as text."""
    reference = result["reference"]
    return (f"Exact: ρ(p_h) = {reference['rho_human']:.4f}, ρ_ent(p_h) = 0; ρ* = {reference['rho_star']:.4f} = ρ_ent "
            f"at the (deterministic) maximiser of ρ; bands "
            f"KL_TOL = {result['kl_tol']:.2e} ({result['ntp_samples']} NTP pairs), RHO_TOL = {result['rho_tol']:.2e}.")


@claim(
    quantifier="for-all",
    id="avg.learned.ntp_model_maximises_average_reward", source=f"{SOURCE} §3.2 Theorem + §3.3 implication 1",
    statement="A model trained by NTP on human text maximises the average reward with r = log p_h: no policy, "
              "and in particular no RL fine-tuning on that reward, does better than the NTP-trained model.",
    check="Exact max-cycle-mean ρ* minus ρ(π_NTP) ≤ RHO_TOL (primary; the ρ shift sampling error can explain), and "
          "ρ(π_RL) − ρ(π_NTP) ≤ RHO_TOL after average-reward RL from the NTP model.",
    kind="seed",
)
def ntp_model_maximises(ctx: Context) -> Outcome:
    profile = ctx.profile
    result = learned(profile)
    rho_ntp = result["ntp"]["rho"]
    return Outcome([Criterion("rho_star_minus_rho_ntp_model", result["reference"]["rho_star"] - rho_ntp,
                              result["rho_tol"]),
                    Criterion("rho_rl_minus_rho_ntp_model", result["rl"]["rho"] - rho_ntp, result["rho_tol"])],
                   measured=summary(profile),
                   detail=f"NTP model: {describe(result, 'ntp')}. After RL on log p_h: {describe(result, 'rl')}. "
                          f"{references(result)}")


@claim(
    quantifier="for-all",
    id="avg.learned.rl_average_reward_converges_to_human", source=f"{SOURCE} §3.3 implication 1",
    statement="Optimising the average reward with r = log p_h converges to human behaviour: on-policy average-reward "
              "RL started from the NTP model stays at p_h.",
    check="KL_μD(p_h ‖ π_RL) ≤ KL_TOL = 100 d/(2N) (the NTP sampling band) after RL on r = log p_h.",
    kind="seed",
)
def rl_converges_to_human(ctx: Context) -> Outcome:
    profile = ctx.profile
    result = learned(profile)
    return Outcome([Criterion("kl_data_after_rl", result["rl"]["kl_data"], result["kl_tol"])],
                   measured=summary(profile),
                   detail=f"After RL: {describe(result, 'rl')}. {references(result)}")


@claim(
    quantifier="for-all",
    id="avg.learned.ntp_model_approaches_human", source=f"{SOURCE} §3.3 implication 1 (the part NTP supports)",
    statement="SGD on NTP with fresh samples of p_h approaches p_h: KL_μD(p_h ‖ π_NTP) within the sampling band, "
              "hence ρ(π_NTP) ≈ ρ(p_h) and ρ_ent(π_NTP) ≈ 0 = max ρ_ent.",
    check="KL ≤ KL_TOL = 100 d/(2N) (primary); |ρ(π_NTP) − ρ(p_h)| ≤ RHO_TOL; −ρ_ent(π_NTP) ≤ KL_TOL.",
    kind="derived",
)
def ntp_model_approaches_human(ctx: Context) -> Outcome:
    profile = ctx.profile
    result = learned(profile)
    ntp, initial_kl = result["ntp"], result["initial"]["kl_data"]
    return Outcome([Criterion("kl_data_ntp_model", ntp["kl_data"], result["kl_tol"]),
                    Criterion("abs_rho_ntp_minus_rho_human", abs(ntp["rho"] - result["reference"]["rho_human"]),
                              result["rho_tol"]),
                    Criterion("minus_rho_ent_ntp_model", -ntp["rho_ent"], result["kl_tol"])],
                   measured=summary(profile),
                   detail=f"NTP model: {describe(result, 'ntp')}; at initialisation KL {initial_kl:.3g} (reduced "
                          f"{initial_kl / ntp['kl_data']:.0f}×). {references(result)}")


@claim(
    quantifier="for-all",
    id="avg.learned.rl_log_p_h_moves_away_from_human", source=f"{SOURCE} §3.3 implication 1 (nearest true statement)",
    statement="On-policy RL on r = log p_h alone, started from the NTP model, raises ρ above ρ(p_h) and leaves p_h "
              "toward a deterministic maximiser of ρ (ρ → ρ*, on-policy modal mass → 1).",
    check="ρ(π_RL) − ρ(p_h) ≥ RHO_TOL (primary); KL_μD(p_h ‖ π_RL) ≥ KL_TOL (outside the sampling band); "
          "(ρ(π_RL) − ρ(p_h)) / (ρ* − ρ(p_h)) ≥ 0.5 (more than halfway to the exact optimum).",
    kind="derived",
)
def rl_moves_away(ctx: Context) -> Outcome:
    profile = ctx.profile
    result = learned(profile)
    rl, reference = result["rl"], result["reference"]
    gain = rl["rho"] - reference["rho_human"]
    return Outcome([Criterion("rho_rl_minus_rho_human", gain, result["rho_tol"], ">="),
                    Criterion("kl_data_after_rl", rl["kl_data"], result["kl_tol"], ">="),
                    Criterion("fraction_of_gap_to_rho_star", gain / (reference["rho_star"] - reference["rho_human"]),
                              GAP_FRACTION, ">=")],
                   measured=summary(profile),
                   detail=f"NTP model: {describe(result, 'ntp')}. After RL on log p_h: {describe(result, 'rl')}; "
                          f"running-average reward of the rollouts {rl['running_rho'][-1]:.4f}; ρ* − ρ(π_RL) = "
                          f"{reference['rho_star'] - rl['rho']:.2e}. {references(result)}")


@claim(
    quantifier="for-all",
    id="avg.learned.rl_entropy_regularised_stays_at_human",
    source=f"{SOURCE} §3.2 (nearest true statement: reward log p_h − log π)",
    statement="On-policy RL on the entropy-regularised reward log p_h − log π, started from the NTP model, stays at "
              "p_h: ρ_ent ≈ 0 = its maximum and KL_μD(p_h ‖ π) within the NTP sampling band.",
    check="KL_μD(p_h ‖ π_RL,ent) ≤ KL_TOL (primary); −ρ_ent ≤ KL_TOL; |ρ(π_RL,ent) − ρ(p_h)| ≤ RHO_TOL.",
    kind="derived",
)
def rl_entropy_stays(ctx: Context) -> Outcome:
    profile = ctx.profile
    result = learned(profile)
    tuned = result["rl_entropy"]
    return Outcome([Criterion("kl_data_after_rl_entropy", tuned["kl_data"], result["kl_tol"]),
                    Criterion("minus_rho_ent_after_rl_entropy", -tuned["rho_ent"], result["kl_tol"]),
                    Criterion("abs_rho_minus_rho_human", abs(tuned["rho"] - result["reference"]["rho_human"]),
                              result["rho_tol"])],
                   measured=summary(profile),
                   detail=f"After RL on log p_h − log π: {describe(result, 'rl_entropy')}. This reward is 0 for every "
                          "sample at π = p_h (no gradient noise there) and reveals log p_h exactly, which samples of "
                          f"p_h do not: the NTP model it started from had KL {result['ntp']['kl_data']:.2e}. "
                          f"{references(result)}")
