"""Figure 4: STaR on the autoregressive linear model against the recursion p_n = 2 p_{n-1} / (1 + p_{n-1}).

Paper object: Tsilivis et al. 2025, §3.2 / Thm 2 (docs/research/parity_cot_rl.md §6.3, §6.5).  A sampled long
response is always correct and a short one half the time, so the long fraction of the kept (correct) set of
round n is 2s/(1+s) for a sampled long fraction s; if fine-tuning fits the kept set, the odds double every
round.  Left: the measured kept long fraction per round vs the recursion from p_0 = p_cot.  Right: greedy
accuracy after each round vs the theory step (1/2 until p_n > 1/3, then 1).  Reads the sweep ``fig4_star``.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from figures.common import band, finish, mean_se

EXPERIMENT = "fig4_star"


def recursion(p0: float, rounds: int) -> np.ndarray:
    """p_1..p_rounds of p_n = 2 p_{n-1} / (1 + p_{n-1}) from p_0."""
    values, p = [], p0
    for _ in range(rounds):
        p = 2 * p / (1 + p)
        values.append(p)
    return np.array(values)


def plot(runs: pd.DataFrame, steps: pd.DataFrame) -> Figure:
    star_runs = runs.loc[runs["rl.algo"] == "star", ["job", "task.p_cot"]]
    rounds = steps[(steps["stage"] == "rl") & (steps["step"] >= 1)].merge(star_runs, on="job")
    fig, (kept_ax, acc_ax) = plt.subplots(1, 2, figsize=(6.4, 2.6))
    for p_cot, group in rounds.groupby("task.p_cot", sort=True):
        kept = mean_se(group[group["metric"] == "star/kept_long_fraction"], ["step"], "value")
        color = band(kept_ax, kept, "step", f"measured, p_cot = {p_cot:g}")
        band(acc_ax, mean_se(group[group["metric"] == "greedy/accuracy"], ["step"], "value"), "step",
             f"measured, p_cot = {p_cot:g}", color=color)
        n = np.arange(1, int(kept["step"].max()) + 1)
        theory = recursion(p_cot, len(n))
        kept_ax.plot(n, theory, color=color, linestyle="--", marker="x", label=f"recursion from p_0 = {p_cot:g}")
        acc_ax.plot(n, np.where(theory > 1 / 3, 1.0, 0.5), color=color, linestyle="--", marker="x",
                    label=f"theory: 1 once p_n > 1/3 (p_0 = {p_cot:g})")
    kept_ax.set(xlabel="STaR round n", ylabel="long fraction of the kept set", ylim=(0, 1.02),
                title="kept long fraction vs recursion")
    acc_ax.set(xlabel="STaR round n", ylabel="greedy accuracy after the round", ylim=(0.4, 1.03),
               title="greedy accuracy")
    for ax in (kept_ax, acc_ax):
        ax.legend(loc="lower right")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return finish(fig)
