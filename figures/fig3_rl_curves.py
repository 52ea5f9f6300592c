"""Figure 3: accuracy and response length along RL post-training, per algorithm and p_cot.

Paper object: Tsilivis et al. 2025, Figs. 2-3 (docs/research/parity_cot_rl.md §3 and §6.3).  Theory: after NTP
at p_cot < 1/3, the only ascent direction of the expected reward is a longer response, so GRPO, REINFORCE
and STaR all drive the response length to d (the full chain) and greedy accuracy from 1/2 to ~1, faster
for larger p_cot.  Reads the sweep ``fig3_rl_curves``: the held-out metrics of the RL stage in steps.parquet
(iteration 0 = the NTP model; STaR: one iteration = one round).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from figures.common import band, finish, mean_se

EXPERIMENT = "fig3_rl_curves"
PANELS = (("greedy/accuracy", "greedy accuracy"), ("sampled/mean_length", "sampled response length"))
TITLES = {"grpo": "GRPO", "reinforce": "REINFORCE", "star": "STaR"}
# REINFORCE's leave-one-out advantage is G/(G − 1) times GRPO's un-normalised one; Adam is invariant to that
# scale, so with the same seed the two curves coincide (toy/reinforce.py).  Said on the figure, not left to guess.
SAME_CURVES_NOTE = "REINFORCE (leave-one-out) = GRPO without std normalisation up to a scale Adam removes"


def plot(runs: pd.DataFrame, steps: pd.DataFrame) -> Figure:
    config = runs[["job", "rl.algo", "task.p_cot", "task.d"]]
    curves = steps[(steps["stage"] == "rl") & steps["metric"].isin([m for m, _ in PANELS])].merge(config, on="job")
    algos = sorted(runs.loc[runs["rl.algo"] != "none", "rl.algo"].unique())
    fig, axes = plt.subplots(len(PANELS), len(algos), figsize=(2.4 * len(algos), 4.4), sharey="row", squeeze=False)
    for column, algo in enumerate(algos):
        for row, (metric, ylabel) in enumerate(PANELS):
            ax = axes[row, column]
            selected = curves[(curves["rl.algo"] == algo) & (curves["metric"] == metric)]
            for p_cot, group in selected.groupby("task.p_cot", sort=True):
                band(ax, mean_se(group, ["step"], "value"), "step", f"p_cot = {p_cot:g}")
            if metric == "sampled/mean_length":
                for d in sorted(runs["task.d"].unique()):
                    ax.axhline(d, color="black", linestyle=":", linewidth=0.8)
            ax.set_xlabel("STaR round" if algo == "star" else "RL iteration")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            if column == 0:
                ax.set_ylabel(ylabel)
        baseline = runs.loc[runs["rl.algo"] == algo, "rl.baseline"].iloc[0] if algo == "reinforce" else None
        axes[0, column].set_title(TITLES[algo] + (f" ({baseline.replace('_', ' ')})" if baseline else ""))
    axes[0, 0].legend(loc="lower right")
    return finish(fig, "dotted: full chain length d" + (f";\n{SAME_CURVES_NOTE}" if same_curves(runs) else ""))


def same_curves(runs: pd.DataFrame) -> bool:
    """GRPO without std normalisation next to REINFORCE with the leave-one-out baseline: identical updates."""
    grpo, reinforce = runs[runs["rl.algo"] == "grpo"], runs[runs["rl.algo"] == "reinforce"]
    return (len(grpo) > 0 and len(reinforce) > 0 and not grpo.get("rl.std_normalize", pd.Series([True])).any()
            and (reinforce["rl.baseline"] == "leave_one_out").all())
