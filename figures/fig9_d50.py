"""Figure 9: the paper's headline at d = 50 on a CPU: NTP alone at chance, NTP + GRPO near 100%, length → 50.

Paper object: Tsilivis et al. 2025, Fig. 1 right ("advantage of next-token prediction followed by reinforcement
learning over mere next-token prediction in predicting the parity of d=50 bits") and Fig. 3 (length 1 → 50).
Theory (docs/research/parity_cot_rl.md §6.2-6.3): at p_cot < 1/3 the NTP optimum decodes greedily to the short answer
(accuracy 1/2); GRPO makes the learned chain modal, so greedy accuracy → 1 and the response length → d.
Reads the sweep ``d50`` (paper size only).  Left: greedy accuracy per seed after NTP, after NTP + GRPO, and
NTP with <eos> forbidden until the chain's end (has the chain been learned?).  Middle, right: along GRPO,
greedy accuracy and the sampled (T = 1) response length, mean ± SE over seeds.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from figures.common import band, finish, mean_se, value_label

EXPERIMENT = "d50"
PROFILES = ("paper",)  # the point of this figure is the scale: there is no minutes-scale copy of the sweep
BARS = (("ntp.greedy/accuracy", "NTP"), ("ntp.forced_long/accuracy", "NTP, forced long"),
        ("rl.final.greedy/accuracy", "NTP + GRPO"))
CURVES = (("greedy/accuracy", "greedy accuracy"), ("sampled/mean_length", "sampled response length (T = 1)"))


def plot(runs: pd.DataFrame, steps: pd.DataFrame) -> Figure:
    fig, axes = plt.subplots(1, 3, figsize=(7.6, 2.6))
    for position, (column, _) in enumerate(BARS):
        values = runs[column].to_numpy()
        axes[0].bar(position, values.mean(), color="lightgray", edgecolor="black", linewidth=0.6)
        axes[0].scatter(np.full(len(values), position), values, color="black", s=10, zorder=3)
    axes[0].axhline(0.5, color="black", linestyle=":", linewidth=0.8)
    axes[0].text(0, 0.53, "chance: NTP theory\nfor p_cot < 1/3", fontsize=6, ha="center", va="bottom")
    axes[0].set_xticks(range(len(BARS)), [label for _, label in BARS], rotation=15)
    axes[0].set(ylabel="greedy accuracy (held out)", ylim=(0, 1.05),
                title=f"d = {value_label(runs['task.d'])}, p_cot = {value_label(runs['task.p_cot'])}")
    rl = steps[steps["stage"] == "rl"]
    for ax, (metric, ylabel) in zip(axes[1:], CURVES, strict=True):
        band(ax, mean_se(rl[rl["metric"] == metric], ["step"], "value"), "step", "NTP + GRPO", color="tab:blue")
        ax.set(xlabel="GRPO iteration", ylabel=ylabel)
    for d in sorted(runs["task.d"].unique()):
        axes[2].axhline(d, color="black", linestyle=":", linewidth=0.8, label=f"full chain, d = {d}")
    axes[1].set_ylim(0.4, 1.03)
    for ax in axes[1:]:
        ax.legend(loc="lower right")
    return finish(fig, f"left: bar = mean, dots = the {len(runs)} seeds")
