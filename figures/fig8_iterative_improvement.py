"""Figure 8: KL-regularised "iterative improvement" on the endogenous reward is sequence-level sharpening.

Paper object: "Generalist Reward Models" (arXiv 2506.23235) §3.3 / Theorem 3 ("iterative improvement is
ineffective"), read with KL-regularised RL as in the paper's PPO experiment (docs/research/endogenous_reward_bounds.md
§2.3; Rafailov et al. 2024).  Elicit r̂ from π̂ at temperature α (eq. (11)), solve max_π E_π[Σ r̂] − β KL(π ‖ π̂):
the optimum is π(τ) ∝ π̂(τ)^κ with κ = 1 + α/β, so k rounds give π̂^{κ^k}/Z and the response law concentrates on
π̂'s sequence-level mode; no round is a fixed point (claims irl.thm3_kl_is_sequence_sharpening and
irl.thm3_kl_second_round_changes_nothing).  Random V=3, H=4 softmax policies, α = 1, β ∈ {10, 1, 0.1, 0.01}.
Left: after one round, the probability of π̂'s mode and the entropy ratio H(π_1)/H(π̂) of the response law
against κ.  Right: the mode's probability round by round until it reaches 0.99 (where the check stops).
Reads the tables ``sharpening`` and ``iteration`` of irl.thm3_kl_is_sequence_sharpening.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from figures.common import band, finish_ledger, mean_se

CLAIM = "irl.thm3_kl_is_sequence_sharpening"
TABLES = (f"{CLAIM}.sharpening", f"{CLAIM}.iteration")
MODE_THRESHOLD = 0.99  # the check iterates until the mode has this probability
ROUND_TICKS = (0, 1, 2, 5, 10, 20, 50, 100, 200)
ONE_ROUND = {  # column of the ``sharpening`` table -> legend label
    "mode_probability_after_round_1": "P(mode of π̂) after round 1",
    "entropy_ratio": "entropy ratio H(π₁)/H(π̂)",
    "mode_probability_before": "P(mode of π̂) under π̂ (round 0)",
}


def plot_one_round(ax, sharpening: pd.DataFrame) -> None:
    for column, label in ONE_ROUND.items():
        style = {"color": "gray", "linestyle": ":"} if column == "mode_probability_before" else {}
        band(ax, mean_se(sharpening, ["kappa"], column), "kappa", label, **style)
    ax.set(xscale="log", xlabel="κ = 1 + α/β", ylabel="after one round", ylim=(-0.02, 1.05),
           title="one round of KL-regularised RL on r̂")
    ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.2))


def plot_iteration(ax, iteration: pd.DataFrame) -> None:
    """One thin line per policy π̂, coloured by κ: P(mode) from round 0 (π̂ itself) to the round reaching 0.99."""
    for index, (kappa, rows) in enumerate(iteration.groupby("kappa", sort=True)):
        color = f"C{index}"
        label = f"κ = {kappa:g} (n = {rows['instance'].nunique()})"
        for position, (_, path) in enumerate(rows.groupby("instance", sort=True)):
            ax.plot(path["round"], path["mode_probability"], color=color, linewidth=0.8, alpha=0.8, marker=".",
                    markersize=2.5, label=label if position == 0 else None)
    ax.axhline(MODE_THRESHOLD, color="gray", linestyle=":", linewidth=0.8)
    ax.set_xscale("symlog", linthresh=1, linscale=0.5)  # linear on [0, 1] (round 0 = π̂), logarithmic beyond
    ticks = [k for k in ROUND_TICKS if k <= iteration["round"].max()]
    ax.set_xticks(ticks, [str(k) for k in ticks])
    ax.set(xlim=(0, iteration["round"].max() * 1.1), xlabel="round k (π_k ∝ π̂^(κ^k))",
           ylabel="P(mode of π̂) under π_k", ylim=(0, 1.03), title=f"iterating to the mode (until {MODE_THRESHOLD})")
    ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.2), ncol=2)


def plot(tables: dict[str, pd.DataFrame], ledger_profile: str) -> Figure:
    sharpening, iteration = tables[f"{CLAIM}.sharpening"], tables[f"{CLAIM}.iteration"]
    fig, (round_ax, iteration_ax) = plt.subplots(1, 2, figsize=(6.8, 3.4))
    plot_one_round(round_ax, sharpening)
    plot_iteration(iteration_ax, iteration)
    return finish_ledger(fig, ledger_profile, "left: mean ± 1 SE over random policies π̂ (n per κ in the legend); "
                         "right: one line per policy")
