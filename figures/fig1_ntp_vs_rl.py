"""Figure 1: greedy accuracy of NTP alone vs NTP + RL across the number of bits d (p_cot < 1/3).

Paper object: Tsilivis et al. 2025, Fig. 1 (docs/research/parity_cot_rl.md §6.2-6.3).  Theory: below p_cot = 1/3
the NTP optimum decodes greedily to the short answer, right half the time (accuracy 1/2 at every d); RL
after NTP makes the long chain modal and reaches accuracy ~1.  Reads the sweep ``fig1_ntp_vs_rl``: every
job has an NTP stage (``ntp.*`` columns) and an RL stage (``rl.final.*``), so one sweep gives both lines.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from figures.common import band, finish, mean_se, value_label

EXPERIMENT = "fig1_ntp_vs_rl"
# The NTP stage depends only on these; jobs that differ in their RL stage share (identical) NTP results.
NTP_IDENTITY = ["task.d", "task.p_cot", "model.name", "train.steps", "seed"]


def plot(runs: pd.DataFrame, steps: pd.DataFrame) -> Figure:
    fig, ax = plt.subplots(figsize=(3.6, 2.6))
    ntp = runs.drop_duplicates(subset=NTP_IDENTITY)
    band(ax, mean_se(ntp, ["task.d"], "ntp.greedy/accuracy"), "task.d", "NTP", color="tab:gray")
    with_rl = runs[runs["rl.algo"] != "none"]
    for algo, group in with_rl.groupby("rl.algo", sort=True):
        band(ax, mean_se(group, ["task.d"], "rl.final.greedy/accuracy"), "task.d", f"NTP + {algo.upper()}")
    ax.axhline(0.5, color="black", linestyle=":", linewidth=0.8, label="chance (NTP theory, p_cot < 1/3)")
    ax.set(xlabel="number of bits d", ylabel="greedy accuracy", ylim=(0.4, 1.03),
           title=f"NTP vs NTP + RL, p_cot = {value_label(runs['task.p_cot'])}")
    ax.set_xticks(sorted(runs["task.d"].unique()))
    ax.legend(loc="center right")
    return finish(fig)
