"""Figure 11: STaR on the linear model from small p_cot: rounds against the odds, NTP samples against 1/p_cot.

Paper object: Tsilivis et al. 2025, Thm 2 (O(log((1 − p)/p)) rounds) and docs/research/parity_cot_rl.md §6.3-§6.4 (the
odds double every round; the chain needs poly(d)/p_cot NTP samples).  Left: STaR rounds until greedy accuracy ≥ 0.95
against log2((1 − p)/p), one marker per run, with the prediction "one round per doubling" (slope 1) drawn through
the median at the largest p; runs censored at the round cap as upward triangles.  Right: NTP samples until the chain
is learned against 1/p_cot on log-log axes, with the slope-1 law through the median at the largest p.  Reads the
sweep ``scaling_linear``.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from figures.common import draw_runs, finish
from sweeps.scaling import cost_table, log_odds

EXPERIMENT = "scaling_linear"
PROFILES = ("paper",)  # the linear scaling sweep is paper size only


def plot(runs: pd.DataFrame, steps: pd.DataFrame) -> Figure:
    costs = cost_table(runs)
    costs = costs.assign(log_odds=log_odds(costs["task.p_cot"]), inverse_p=1 / costs["task.p_cot"])
    fig, (rounds_ax, samples_ax) = plt.subplots(1, 2, figsize=(6.4, 2.8))
    for d, group in costs.groupby("task.d", sort=True):
        # Rounds, not cost: a run whose STaR never solved is censored at the round cap (a capped NTP stage before a
        # solving STaR keeps its rounds, as the rounds law of sweeps/scaling_checks.py reads them).
        unsolved = group["rounds"].isna()
        solved = group[~unsolved]
        cap = runs["rl.iterations"].max() if "rl.iterations" in runs else np.nan
        color = draw_runs(rounds_ax, group["log_odds"], group["rounds"].fillna(cap), unsolved,
                          label=f"d = {d}").get_color()
        anchor = solved[solved["task.p_cot"] == solved["task.p_cot"].max()]
        if len(anchor):
            x = np.linspace(group["log_odds"].min(), group["log_odds"].max(), 2)
            rounds_ax.plot(x, anchor["rounds"].median() + x - anchor["log_odds"].iloc[0], color=color,
                           linestyle="--", linewidth=0.8)
        learned = group[~group["ntp_censored"]]
        draw_runs(samples_ax, group["inverse_p"], group["ntp_samples"], group["ntp_censored"], label=f"d = {d}",
                  color=color)
        if len(learned):
            first = learned[learned["task.p_cot"] == learned["task.p_cot"].max()]
            x = np.geomspace(group["inverse_p"].min(), group["inverse_p"].max(), 2)
            samples_ax.plot(x, first["ntp_samples"].median() * x / first["inverse_p"].iloc[0], color=color,
                            linestyle="--", linewidth=0.8)
    rounds_ax.set(xlabel="log2((1 − p_cot)/p_cot)", ylabel="STaR rounds until greedy ≥ 0.95",
                  title="rounds vs odds doublings (dashed: slope 1)")
    samples_ax.set(xscale="log", yscale="log", xlabel="1/p_cot", ylabel="NTP samples until the chain is learned",
                   title="NTP cost vs 1/p_cot (dashed: ∝ 1/p_cot)")
    for ax in (rounds_ax, samples_ax):
        ax.legend(loc="upper left")
    return finish(fig, "one marker per run (seed); △ = censored at the cap (a lower bound)", bands=False)
