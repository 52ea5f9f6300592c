"""Figure 14: NTP + GRPO on the linear model from small p_cot, d = 8 ... 64: iterations, rollouts and total cost.

Paper object: docs/research/parity_cot_rl.md §6.4 item 2 (an on-policy sampler needs about 1/p_cot samples per useful
signal and only log(1/p_cot) rounds) and the thesis that NTP + RL costs poly(d) at a fixed p_cot (Tsilivis et al.
2025, abstract).  Left: GRPO iterations until greedy accuracy ≥ 0.95 against log2((1 − p)/p) (p_cot ≤ 1/4), one
marker per run, with the censored fit of the law the likelihood prefers per d by point estimate (solid: a power of
the log odds, dashed: a power of the odds; the check asks Vuong's interval, which may not decide; no fit for a curve
the check finds not informative: sweeps/grpo_scaling_checks.py).  Middle: rollouts until greedy ≥ 0.95 against 1/p_cot
on log-log axes with the 1/p_cot law (dashed) through the median at p_cot = 1/4.  Right: cost (NTP samples +
rollouts) against d per p_cot < 1/3 with the censored fit of the law Vuong's comparison prefers (as figure 10).
Runs censored at a cap are open upward triangles (lower bounds), runs solved at the first evaluation open downward
ones (upper bounds).  Reads the sweep ``scaling_linear_grpo``.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from core.censored_fit import compare_laws
from figures.common import draw_runs, finish
from figures.fig10_scaling import draw_fit
from sweeps.scaling import cost_table, log_odds

EXPERIMENT = "scaling_linear_grpo"
PROFILES = ("paper",)  # the sweep is paper size only


def draw_iteration_fit(ax, group: pd.DataFrame, color) -> None:
    """The censored fit of iterations against L with the higher likelihood (none when the data locate none)."""
    try:
        comparison = compare_laws(group["log_odds"], group["rl_iterations"], group["censored"])
    except ValueError:
        return
    fit = comparison[comparison["better"] or "power"]
    if np.isfinite(fit.slope):
        grid = np.linspace(group["log_odds"].min(), group["log_odds"].max(), 100)
        ax.plot(grid, np.exp(fit.predict_log_cost(grid)), color=color, linewidth=1,
                linestyle="-" if fit.law == "power" else "--")


def p_cot_label(p_cot: float) -> str:
    exponent = np.log2(p_cot)
    return f"2^{exponent:.0f}" if exponent == round(exponent) else f"{p_cot:.3g}"


def plot(runs: pd.DataFrame, steps: pd.DataFrame) -> Figure:
    costs = cost_table(runs)
    costs = costs.assign(log_odds=log_odds(costs["task.p_cot"]), inverse_p=1 / costs["task.p_cot"])
    below = costs[(costs["task.p_cot"] <= 0.25) & ~costs["ntp_censored"]]  # the runs the checks fit
    fig, (iterations_ax, rollouts_ax, cost_ax) = plt.subplots(1, 3, figsize=(9.6, 3.0))
    for d, group in below.groupby("task.d", sort=True):
        color = draw_runs(iterations_ax, group["log_odds"], group["rl_iterations"], group["censored"],
                          group["rl_at_first_check"], f"d = {d}").get_color()
        if not group["rl_at_first_check"].any():  # as the check: such a curve measures the evaluation interval
            draw_iteration_fit(iterations_ax, group, color)
        draw_runs(rollouts_ax, group["inverse_p"], group["rl_samples"], group["censored"], group["rl_at_first_check"],
                  f"d = {d}", color)
        anchor = group[(group["task.p_cot"] == 0.25) & ~group["censored"]]
        if len(anchor):
            x = np.geomspace(group["inverse_p"].min(), group["inverse_p"].max(), 2)
            rollouts_ax.plot(x, anchor["rl_samples"].median() * x / 4, color=color, linestyle="--", linewidth=0.8)
    grid = np.linspace(costs["task.d"].min(), costs["task.d"].max(), 200)
    curves = costs[costs["task.p_cot"] < 1 / 3]
    colors = plt.cm.viridis(np.linspace(0, 0.9, max(curves["task.p_cot"].nunique(), 1)))
    for color, (p_cot, group) in zip(colors, curves.groupby("task.p_cot", sort=True), strict=False):
        points = draw_runs(cost_ax, group["task.d"], group["cost"], group["censored"], group["rl_at_first_check"],
                           color=color)
        points.set_label(f"p_cot = {p_cot_label(p_cot)}: {draw_fit(cost_ax, group, grid, color)}")
    iterations_ax.set(yscale="log", xlabel="log2((1 − p_cot)/p_cot)", ylabel="GRPO iterations until greedy ≥ 0.95",
                      title="iterations vs odds doublings")
    rollouts_ax.set(xscale="log", yscale="log", xlabel="1/p_cot", ylabel="rollouts until greedy ≥ 0.95",
                    title="rollouts vs 1/p_cot (dashed: ∝ 1/p_cot)")
    cost_ax.set(yscale="log", xlabel="input bits d", ylabel="NTP samples + rollouts",
                title="cost vs d per p_cot < 1/3")
    for ax in (iterations_ax, rollouts_ax):
        ax.legend(loc="upper left", fontsize=6)
    cost_ax.legend(loc="upper left", fontsize=5)
    return finish(fig, "one marker per run (seed); △ = censored at the cap (a lower bound; cost: also an NTP stage at "
                       "its cap); ▽ = solved at the first evaluation; runs whose chain never got sharp are left out of "
                       "the first two panels; fits: censored maximum likelihood, 95% profile interval", bands=False)
