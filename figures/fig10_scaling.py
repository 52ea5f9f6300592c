"""Figure 10: cost to solve parity against d, NTP alone vs NTP + RL, with censored fits.

Paper object: the separation thesis of Tsilivis et al. 2025 (abstract; docs/research/parity_cot_rl.md §6.4): NTP alone
needs "extreme statistical or computational resources", NTP + RL is efficient unless p_cot is exponentially small.
One marker per run (samples until greedy accuracy ≥ 0.95, sweeps/scaling.py); a censored run (a stage stopped at its
cap) is drawn as an upward triangle at the samples it used (a lower bound, never a made-up cost).  Lines: the
censored maximum-likelihood fits (core/censored_fit.py) of the law Vuong's comparison prefers, dashed where it
extrapolates.  Log cost axis; the x axis is linear in d (so an exponential law is a straight line).  Reads the sweeps
``scaling_ntp`` and ``scaling_rl``.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from figures.common import draw_runs, finish
from sweeps.scaling import cost_table, preferred_fit

EXPERIMENTS = ("scaling_ntp", "scaling_rl")


def curve_name(regime: str, p_cot: float) -> str:
    return f"NTP alone, p_cot = {p_cot:g}" if regime == "ntp_alone" else f"NTP + {regime.split('_')[-1]}, " \
                                                                          f"p_cot = {p_cot:g}"


def draw_fit(ax, group: pd.DataFrame, grid: np.ndarray, color) -> str:
    """The preferred law's fitted curve over ``grid`` (solid inside the measured sizes); returns its legend text."""
    fit = preferred_fit(group)
    if fit is None:
        return "no fit (fewer than 3 solved runs, or unbounded)"
    inside = (grid >= group["task.d"].min()) & (grid <= group["task.d"].max())
    cost = np.exp(fit.predict_log_cost(grid))
    ax.plot(grid[inside], cost[inside], color=color, linewidth=1)
    ax.plot(grid, cost, color=color, linewidth=0.8, linestyle="--", alpha=0.6)
    unit = "/bit" if fit.law == "exponential" else ""
    return f"{fit.law} {fit.slope:.2g}{unit} [{fit.slope_low:.2g}, {fit.slope_high:.2g}]"


def plot(runs: pd.DataFrame, steps: pd.DataFrame) -> Figure:
    costs = cost_table(runs)
    fig, ax = plt.subplots(figsize=(4.8, 3.2))
    grid = np.linspace(costs["task.d"].min(), costs["task.d"].max(), 200)
    for (regime, p_cot), group in costs.groupby(["regime", "task.p_cot"], sort=True):
        points = draw_runs(ax, group["task.d"], group["cost"], group["censored"])
        color = points.get_color()
        points.set_label(f"{curve_name(regime, p_cot)}: {draw_fit(ax, group, grid, color)}")
    # Extrapolated fits may reach far beyond the data: the axis shows the measured range (and a decade above it).
    ax.set(yscale="log", ylim=(costs["cost"].min() / 3, costs["cost"].max() * 10), xlabel="input bits d",
           ylabel="samples until greedy acc. ≥ 0.95",
           title="cost to solve parity (△ = censored: a lower bound)")
    ax.legend(loc="upper left")
    return finish(fig, "one marker per run (seed); fits: censored maximum likelihood, 95% profile interval",
                  bands=False)
