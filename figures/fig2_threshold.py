"""Figure 2: the 1/3 threshold of next-token prediction, for the tiny GPT and the linear model.

Paper object: docs/research/parity_cot_rl.md §6.2 (exact derivation) and Tsilivis et al. 2025 (length
calibration).  For any model that fits NTP but cannot compute parity directly, after the first token
x_1 the posterior of the long mode is 2p/(1+p); greedy decoding continues iff it exceeds 1/2, i.e. iff
p_cot > 1/3, so greedy accuracy jumps from 1/2 to 1 there; sampling at T = 1 stays calibrated (long
fraction = p_cot).  Reads the sweep ``fig2_threshold`` (NTP only; NTP final metrics in ``ntp.*``).

The accuracy panel also marks, per model, p* (where the greedy long fraction crosses 1/2) with its bootstrap
interval over seeds: the same estimate, and the same resamples, as the ledger claim parity.ntp.threshold_location
at instance seed 0 (sweeps/threshold.py).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from figures.common import band, finish, mean_se, value_label
from sweeps.threshold import BOOTSTRAP_STREAM, estimate_crossing

EXPERIMENT = "fig2_threshold"
THRESHOLD = 1 / 3
P_STAR_HEIGHT = 0.43  # where the p* intervals are drawn on the accuracy axis (below chance: no curve there)


def plot(runs: pd.DataFrame, steps: pd.DataFrame) -> Figure:
    fig, (acc_ax, long_ax) = plt.subplots(1, 2, figsize=(6.4, 2.6))
    p = np.linspace(0.0, max(0.6, float(runs["task.p_cot"].max())), 301)
    for offset, (model, group) in enumerate(runs.groupby("model.name", sort=True)):
        colour = band(acc_ax, mean_se(group, ["task.p_cot"], "ntp.greedy/accuracy"), "task.p_cot", model)
        band(long_ax, mean_se(group, ["task.p_cot"], "ntp.sampled/long_fraction"), "task.p_cot", model)
        if "ntp.greedy/long_fraction" in group:
            draw_p_star(acc_ax, group, model, colour, P_STAR_HEIGHT + 0.03 * offset, (p[0], p[-1]))
    acc_ax.plot(p, np.where(p > THRESHOLD, 1.0, 0.5), color="black", linestyle="--", linewidth=0.8,
                label="theory: 1/2 → 1 at 1/3")
    long_ax.plot(p, p, color="black", linestyle="--", linewidth=0.8, label="theory: calibrated (= p_cot)")
    long_ax.plot(p, 2 * p / (1 + p), color="tab:red", linestyle="-.", linewidth=0.8,
                 label="2p/(1+p): P(long | first token = x₁)")
    long_ax.axhline(0.5, color="tab:red", linestyle=":", linewidth=0.6)
    for ax in (acc_ax, long_ax):
        ax.axvline(THRESHOLD, color="gray", linestyle=":", linewidth=0.8)
        ax.set_xlabel("p_cot (fraction of long training sequences)")
        ax.legend(loc="upper left")
    acc_ax.set(ylabel="NTP greedy accuracy", ylim=(0.4, 1.03),
               title=f"greedy decoding, d = {value_label(runs['task.d'])}")
    long_ax.set(ylabel="NTP sampled long fraction (T = 1)", ylim=(0, 1), title="sampling at T = 1")
    return finish(fig, "dotted vertical: p_cot = 1/3; bars: p* with its 95% bootstrap interval over seeds")


def draw_p_star(ax, runs: pd.DataFrame, model: str, colour: str, height: float, limits: tuple[float, float]) -> None:
    """p* of one model as a point with its interval (an unbounded end drawn to the edge of the axis)."""
    crossing = estimate_crossing(runs, model, np.random.default_rng(BOOTSTRAP_STREAM))
    low, high = max(crossing.low, limits[0]), min(crossing.high, limits[1])
    ax.plot([low, high], [height, height], color=colour, linewidth=2.0, alpha=0.6)
    if np.isfinite(crossing.estimate):
        ax.plot([crossing.estimate], [height], marker="|", markersize=8, color=colour,
                label=f"{model}: p* = {crossing.estimate:.3f} [{crossing.low:.2f}, {crossing.high:.2f}]")
