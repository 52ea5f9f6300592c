"""Figure 6: the endogenous reward recovers r* up to shaping, and Theorem 1 at NTP-trained models (table and GPT).

Paper object: "Generalist Reward Models" (arXiv 2506.23235), eqs. (11)-(12) and Theorem 1.  The endogenous reward
of logits f at temperature α is r̂(s, a) = f(s, a) − α log Σ_a' exp(f(s·a, a')/α).  Left: if π̂ is the MaxEnt
expert π^E of r*, r̂ = r* + Φ(s') − Φ(s) with Φ = V* − V_f (potential shaping): per random V=3, H=5 tree,
max |r̂ − r*| is O(1) while max |r̂ − r* − (Φ(s') − Φ(s))| and the spread of Σr̂ − Σr* over all responses are
round-off.  Middle and right: learners trained by NTP on n responses sampled from π^E (V=3, H=4, α=1): the
add-½ count table (the exact NTP optimum of a logit table, claim bounds.thm1_at_trained_ntp_model) and a TinyGPT
(bounds.thm1_at_trained_gpt, several initialisation seeds per expert, with the count table refitted to the GPT's own
demonstrations).  Middle: fraction of response pairs that Σr̂ orders like Σr*.  Right: Theorem 1, max over response
pairs of TV(P_{r*}(·|τ,τ'), P_{r̂}(·|τ,τ')) next to its bound (αH/2)·ε_π evaluated at the measured
ε_π = max |log π^E − log π̂|; above TV = 1 the bound says nothing.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from figures.common import band, finish_ledger, mean_se, strip

SHAPING_CLAIM = "irl.endogenous_reward_is_shaped_true_reward"
TABULAR_CLAIM = "bounds.thm1_at_trained_ntp_model"
GPT_CLAIM = "bounds.thm1_at_trained_gpt"
TABLES = (f"{SHAPING_CLAIM}.residuals", f"{TABULAR_CLAIM}.by_n", f"{GPT_CLAIM}.by_n")
RESIDUALS = {  # column of the ``residuals`` table -> tick label
    "residual_raw": "max |r̂ − r*|",
    "residual_shaping_removed": "max |r̂ − r* − shaping|",
    "return_spread": "spread of Σr̂ − Σr*\nover responses",
}
ROUND_OFF_FLOOR = 1e-17  # an exact 0 is drawn here on the log axis


def learners(tables: dict[str, pd.DataFrame]) -> list[tuple[str, pd.DataFrame]]:
    """(legend label, rows) of each NTP-trained learner: the tabular claim's table, the GPT, the table on its data."""
    gpt_rows = tables[f"{GPT_CLAIM}.by_n"]
    return [("add-½ count table", tables[f"{TABULAR_CLAIM}.by_n"]),
            ("TinyGPT", gpt_rows[gpt_rows["learner"] == "gpt"]),
            ("count table, GPT's demos", gpt_rows[gpt_rows["learner"] == "tabular"])]


def plot_shaping(ax, residuals: pd.DataFrame) -> None:
    for position, column in enumerate(RESIDUALS):
        strip(ax, position, residuals[column].clip(lower=ROUND_OFF_FLOOR), color="tab:green")
    ax.set_yscale("log")
    ax.set_xticks(range(len(RESIDUALS)), list(RESIDUALS.values()), rotation=20, ha="right")
    ax.set_xlim(-0.6, len(RESIDUALS) - 0.4)
    ax.set(ylabel="max over the tree / spread (log scale)",
           title=f"π̂ = π^E: r̂ = r* + shaping (n = {len(residuals)} trees)")


def plot_theorem1(accuracy_ax, tv_ax, models: list[tuple[str, pd.DataFrame]]) -> None:
    """Accuracy (mean ± SE over instances) and TV next to the bound (αH/2)ε_π, both against n."""
    for index, (label, rows) in enumerate(models):
        color = f"C{index}"
        band(accuracy_ax, mean_se(rows, ["n_demos"], "accuracy"), "n_demos", label, color=color)
        band(tv_ax, mean_se(rows, ["n_demos"], "tv"), "n_demos", label, color=color)
        band(tv_ax, mean_se(rows, ["n_demos"], "bound"), "n_demos", label, color=color, linestyle="--")
    accuracy_ax.axhline(0.5, color="gray", linestyle=":", linewidth=0.8)
    accuracy_ax.set(ylabel="pair accuracy of Σr̂ (vs Σr*)", ylim=(0.4, 1.02),
                    title="preference accuracy (chance: 1/2)")
    accuracy_ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.2))
    tv_ax.axhline(1.0, color="gray", linestyle=":", linewidth=0.8)
    tv_ax.annotate("TV ≤ 1", (0.99, 1.0), xycoords=("axes fraction", "data"), xytext=(0, 2),
                   textcoords="offset points", ha="right", fontsize=6, color="gray")
    tv_ax.set_yscale("log")
    tv_ax.set(ylabel="max-pair preference TV", title="Theorem 1 at the measured ε_π")
    styles = [Line2D([], [], color="black", marker="o", label="measured TV"),
              Line2D([], [], color="black", marker="o", linestyle="--", label="bound (αH/2)·ε_π")]
    tv_ax.legend(handles=styles + [Line2D([], [], color=f"C{i}", label=label) for i, (label, _) in enumerate(models)],
                 loc="upper left", bbox_to_anchor=(0.0, -0.2), ncol=2)
    for ax in (accuracy_ax, tv_ax):
        ax.set_xscale("log")
        ax.set_xlabel("n demonstrations")


def plot(tables: dict[str, pd.DataFrame], ledger_profile: str) -> Figure:
    fig, (shaping_ax, accuracy_ax, tv_ax) = plt.subplots(1, 3, figsize=(9.6, 3.4))
    plot_shaping(shaping_ax, tables[f"{SHAPING_CLAIM}.residuals"])
    models = learners(tables)
    plot_theorem1(accuracy_ax, tv_ax, models)
    counts = "; ".join(f"{label} n = {', '.join(map(str, sorted(rows.groupby('n_demos').size().unique())))}"
                       for label, rows in models)
    return finish_ledger(fig, ledger_profile, f"left: one point per tree, black tick = median, exact 0 drawn at "
                         f"{ROUND_OFF_FLOOR:g};\nmiddle, right: mean ± 1 SE per n over runs on experts r* ~ U[0,1] "
                         f"(TinyGPT: experts × initialisation seeds; {counts})")
