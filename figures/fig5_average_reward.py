"""Figure 5: is the NTP gradient the average-reward gradient?  Agreement of ∇NTP with ∇seed, ∇ρ and ∇ρ_ent.

Paper object: docs/sources/average_reward_paper.md §3.2 (steps 4-5 and the Theorem: ∇ρ(π) = ∇NTP(π), reward log p_h) and
§3.1 condition 3.  On order-k Markov "languages" (V ∈ {2, 3, 4}, k ∈ {1, 2, 3}, p_h = softmax(N(0,1)/τ), plus uniform
and near-deterministic p_h) the ledger computes exactly, by autograd, the gradients in the logits z of
    NTP(π)   = Σ_s μ_D(s) Σ_a p_h(a|s) log π(a|s)                      (next-token prediction),
    seed(π)  = Σ_s μ_D(s) Σ_a π(a|s) log p_h(a|s)                      (the source's objective, μ_D fixed),
    ρ(π)     = Σ_s μ_π(s) Σ_a π(a|s) log p_h(a|s)                      (average reward, on-policy μ_π),
    ρ_ent(π) = Σ_s μ_π(s) Σ_a π(a|s) (log p_h(a|s) − log π(a|s))       (entropy-regularised),
and compares each with ∇NTP by cos∠ and ‖∇X − ∇NTP‖ / max(‖∇X‖, ‖∇NTP‖), at random logits z ~ N(0, 1) and at
π = p_h.  The source's claim needs relative difference ≤ 1e-6 everywhere (0 on this scale).  Right: when the language
has order K > k, the NTP optimum (π(·|c) = P_D(·|c)) against L-BFGS maximisers of ρ_ent and ρ.
Reads the tables of the claims avg.step4.expectation_swap, avg.step5.gradient_equals_ntp,
avg.step5.entropy_gradient_equals_ntp (table ``gradients``) and avg.condition3.misspecified_optima_coincide
(table ``optima``).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from figures.common import finish_ledger, strip

GRADIENT_CLAIMS = ("avg.step4.expectation_swap", "avg.step5.gradient_equals_ntp",
                   "avg.step5.entropy_gradient_equals_ntp")
MISSPECIFIED_CLAIM = "avg.condition3.misspecified_optima_coincide"
TABLES = (*(f"{claim_id}.gradients" for claim_id in GRADIENT_CLAIMS), f"{MISSPECIFIED_CLAIM}.optima")
OBJECTIVE_LABELS = {"seed": "∇seed", "average_reward": "∇ρ", "average_reward_entropy": "∇ρ_ent"}
OPTIMUM_GAPS = {  # column of the ``optima`` table -> axis label
    "rho_ent_gap": "ρ_ent(max) − ρ_ent(π_NTP)",
    "grad_norm_at_ntp_optimum": "‖∇ρ_ent(π_NTP)‖",
    "tv_optima": "TV(π_ρent, π_NTP)",
    "kl_optima": "KL(π_NTP ‖ π_ρent)",
    "tv_rho_optimum_to_ntp": "TV(π_ρ, π_NTP)",
}
def gradient_tables(tables: dict[str, pd.DataFrame]) -> list[tuple[str, pd.DataFrame]]:
    """(label ∇X, rows) of each compared objective X, in the order of GRADIENT_CLAIMS; every comparison is with ∇NTP."""
    compared = []
    for claim_id in GRADIENT_CLAIMS:
        rows = tables[f"{claim_id}.gradients"]
        if set(rows["rhs"]) != {"ntp"} or rows["lhs"].nunique() != 1:
            raise ValueError(f"{claim_id}.gradients must compare one objective with ntp, got lhs "
                             f"{sorted(set(rows['lhs']))} vs rhs {sorted(set(rows['rhs']))}")
        compared.append((OBJECTIVE_LABELS[rows["lhs"].iloc[0]], rows))
    return compared


def plot_agreement(cos_ax, diff_ax, compared: list[tuple[str, pd.DataFrame]]) -> int:
    """Cosine (random logits) and relative difference (random logits and π = p_h) per objective; returns n."""
    counts = set()
    for position, (_, rows) in enumerate(compared):
        color = f"C{position}"
        random, at_human = rows[rows["where"] == "random"], rows[rows["where"] == "optimal"]
        counts |= {len(random), len(at_human)}
        strip(cos_ax, position, random["cosine"], color=color)
        strip(diff_ax, position - 0.2, random["relative_difference"], width=0.12, color=color,
              label="random logits" if position == 0 else None)
        strip(diff_ax, position + 0.2, at_human["relative_difference"], width=0.12, facecolors="none",
              edgecolors=color, label="π = p_h" if position == 0 else None)
    if len(counts) != 1:
        raise ValueError(f"gradient tables have different numbers of instances: {sorted(counts)}")
    labels = [f"{label} vs ∇NTP" for label, _ in compared]
    for ax in (cos_ax, diff_ax):
        ax.set_xticks(range(len(compared)), labels)
        ax.set_xlim(-0.6, len(compared) - 0.4)
    cos_ax.axhline(1.0, color="gray", linestyle=":", linewidth=0.8)
    cos_ax.set(ylabel="cos∠(∇X, ∇NTP)", ylim=(-1.05, 1.1), title="direction, random logits z ~ N(0, 1)")
    diff_ax.set(ylabel="‖∇X − ∇NTP‖ / max(‖∇X‖, ‖∇NTP‖)", ylim=(-0.05, 1.9),
                title="relative difference (equality: 0)")
    diff_ax.legend(loc="upper right", markerscale=1.3)
    return counts.pop()


def plot_misspecified(ax, optima: pd.DataFrame) -> int:
    """Per instance (V, K > k), how far the NTP optimum is from the maximisers of ρ_ent and ρ (log scale); returns
    how many values are ≤ 0 (optima that coincide, e.g. the uniform p_h), which the log scale cannot draw."""
    for position, column in enumerate(OPTIMUM_GAPS):
        strip(ax, position, optima[column][optima[column] > 0], color="tab:purple")
    ax.set_yscale("log")
    ax.set_xticks(range(len(OPTIMUM_GAPS)), list(OPTIMUM_GAPS.values()), rotation=25, ha="right")
    ax.set_xlim(-0.6, len(OPTIMUM_GAPS) - 0.4)
    ax.set(ylabel="distance between optima (0: coincide)", title="misspecified: language order K > model order k")
    return int((optima[list(OPTIMUM_GAPS)] <= 0).to_numpy().sum())


def plot(tables: dict[str, pd.DataFrame], ledger_profile: str) -> Figure:
    fig, (cos_ax, diff_ax, misspecified_ax) = plt.subplots(1, 3, figsize=(9.6, 3.0),
                                                           gridspec_kw={"width_ratios": (1, 1, 0.9)})
    n = plot_agreement(cos_ax, diff_ax, gradient_tables(tables))
    optima = tables[f"{MISSPECIFIED_CLAIM}.optima"]
    not_drawn = plot_misspecified(misspecified_ax, optima)
    return finish_ledger(fig, ledger_profile, f"left, middle: one point per instance (V, k, τ; uniform and "
                         f"near-deterministic p_h included), n = {n} per strip, black tick = median; at π = p_h "
                         "∇NTP = 0 (round-off), so the relative difference is 1 unless ∇X = 0 too; right: one point "
                         f"per instance, n = {len(optima)}"
                         + (f" ({not_drawn} value(s) ≤ 0 not drawn on the log scale)" if not_drawn else ""))
