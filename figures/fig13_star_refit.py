"""Figure 13: where STaR's odds doubling breaks at small p_cot: the filter's bit, the prompt selection inside it, and
what the refit keeps.

Paper object: the odds recursion r_n = 2 r_(n−1) behind Tsilivis et al. 2025, Thm 2 (docs/research/parity_cot_rl.md
§6.3, §6.5).  Reads the sweep ``scaling_linear_rounds`` (rl.star_refit_check: toy/star.py).  Log2-odds gains per
round (sweeps/star_odds_checks.py ``odds_gains``): filter s_n → k_n; prompt selection s_n → b_n (the sampling model
on the kept prompts); fit k_n → o_n (the refit model on the kept prompts); transfer o_n → s_(n+1) (fresh prompts);
round s_n → s_(n+1).  Left: the round's gain per round, and the round's gain plus the prompt selection (dashed), mean
± s.e. over seeds per p_cot, against the 1 bit of the recursion.  Right: the four parts per p_cot, mean ± s.e. over
every usable round of every run.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from figures.common import finish, mean_se, seeds_label
from sweeps.star_odds_checks import odds_gains

EXPERIMENT = "scaling_linear_rounds"
PROFILES = ("paper",)  # the rounds sweep is paper size only
PARTS = {"filter_gain": "filter", "selection_gain": "prompt selection", "fit_gain": "fit (own prompts)",
         "transfer_gain": "transfer (fresh prompts)"}


def plot(runs: pd.DataFrame, steps: pd.DataFrame) -> Figure:
    gains = odds_gains(runs, steps)
    gains["round_and_selection_gain"] = gains["round_gain"] + gains["selection_gain"]  # 1 bit if that is the loss
    fig, (rounds_ax, parts_ax) = plt.subplots(1, 2, figsize=(6.4, 2.8))
    p_cots = sorted(gains["task.p_cot"].unique())
    for index, p_cot in enumerate(p_cots):
        at_p, color = gains[gains["task.p_cot"] == p_cot], f"C{index}"
        for column, style in (("round_gain", "-"), ("round_and_selection_gain", "--")):
            stats = mean_se(at_p, ["step"], column)
            if stats.empty:
                continue
            label = f"p_cot = 2^{np.log2(p_cot):.0f} ({seeds_label(stats['n'])})" if style == "-" else None
            rounds_ax.plot(stats["step"], stats["mean"], style, marker="o", markersize=2.5, color=color, label=label)
            rounds_ax.fill_between(stats["step"], stats["mean"] - stats["se"], stats["mean"] + stats["se"],
                                   color=color, alpha=0.15)
    rounds_ax.axhline(1.0, color="black", linewidth=0.8, linestyle=":")
    rounds_ax.set(xlabel="STaR round n", ylabel="log2-odds gain of the round (bits)",
                  title="round gain (solid), + prompt selection (dashed)")
    rounds_ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    rounds_ax.legend(loc="lower left", fontsize=6)
    width = 0.8 / len(PARTS)
    for offset, (column, name) in enumerate(PARTS.items()):
        stats = mean_se(gains, ["task.p_cot"], column).set_index("task.p_cot").reindex(p_cots)
        parts_ax.bar(np.arange(len(p_cots)) + (offset - (len(PARTS) - 1) / 2) * width, stats["mean"], width,
                     yerr=stats["se"], label=name, capsize=1.5)
    parts_ax.axhline(0.0, color="black", linewidth=0.6)
    parts_ax.set_xticks(np.arange(len(p_cots)), [f"2^{np.log2(p):.0f}" for p in p_cots])
    parts_ax.set(xlabel="p_cot", ylabel="log2-odds gain per round (bits)", title="where the bit goes",
                 ylim=(min(-0.5, parts_ax.get_ylim()[0]), 1.6))
    parts_ax.legend(loc="upper center", fontsize=6, ncol=2)
    return finish(fig, "left: mean ± s.e. over seeds per round; right: mean ± s.e. over rounds and seeds; "
                       "dotted: the recursion's 1 bit")
