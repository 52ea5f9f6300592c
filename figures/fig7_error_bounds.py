"""Figure 7: value gap vs horizon H of behaviour cloning (BC) and of RL on the endogenous reward, next to the bounds.

Paper object: "Generalist Reward Models" (arXiv 2506.23235) Theorem 2 with explicit constants
(docs/research/endogenous_reward_bounds.md §2.2) and Ross & Bagnell (2010).  For r* ∈ [0, 1] and a per-step error ε:
    BC, ε = per-step TV (0-1) error under the expert's state law:   V(π^E) − V(π̂) ≤ H²ε            (Ross & Bagnell),
    BC, ε = ε_π = max |log π^E − log π̂| (the paper's measure):     V(π^E) − V(π̂) ≤ H(H+1)/2·tanh(ε_π/2),
                                                  and, KL chain rule + Pinsker,  ≤ H·√(H ε_π tanh(ε_π/2)) ~ H^{3/2},
    RL, π^RL = argmax V^{r̂}:                                       V(π^E) − V(π^RL) ≤ 2αHε_π.
Each panel is exact dynamic programs, H = 4 … 1024 on log-log axes: the two-state cliff (uniform, concentrated and
recoverable errors); under ε_π the named random-walk automaton next to the searched worst case (the exact worst
learner with ε_π ≤ ε, theory/robust_worst_case.py, of the best instance found at each H, theory/worst_case_search.py;
the ledger compares their slopes with 2 and 3/2); and the mode-swap chain (RL follows the expert's less likely
token: slope 1, 1/4 of the bound).
Legends give the least-squares log-log slope with its 95% t-interval and the exponent the ledger compares it with.
Reads the tables ``gaps`` and ``exponents`` of the claims bounds.thm2_* (rows shared by several claims appear once).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from figures.common import finish_ledger

GAP_CLAIMS = ("bounds.thm2_bc_quadratic_tv_error", "bounds.thm2_bc_upper_bound_sup_logratio",
              "bounds.thm2_bc_quadratic_rate_sup_logratio", "bounds.thm2_bc_three_halves_sup_logratio",
              "bounds.thm2_rl_linear")
EXPONENT_CLAIMS = ("bounds.thm2_bc_quadratic_tv_error", "bounds.thm2_bc_quadratic_rate_sup_logratio",
                   "bounds.thm2_bc_three_halves_sup_logratio", "bounds.thm2_rl_linear")
TABLES = (*(f"{c}.gaps" for c in GAP_CLAIMS), *(f"{c}.exponents" for c in EXPONENT_CLAIMS))
PANELS = {  # panel title -> constructions drawn in it
    "cliff, ε = per-step TV error": ("cliff (uniform)", "cliff (concentrated)", "cliff (recoverable)"),
    "walk and searched worst case, ε = ε_π": ("walk", "searched worst case"),
    "mode swap, ε = ε_π": ("mode swap",),
}
BOUND_STYLES = {"H²ε": "--", "H(H+1)/2·tanh(ε_π/2)": "--", "H·√(Hε_π·tanh(ε_π/2))": "-.", "2αHε_π": ":"}


def stacked(tables: dict[str, pd.DataFrame], claims: tuple[str, ...], name: str) -> pd.DataFrame:
    """The tables ``name`` of ``claims`` stacked; a row that several claims store (the walk's gaps) appears once."""
    return pd.concat([tables[f"{c}.{name}"] for c in claims], ignore_index=True).drop_duplicates(ignore_index=True)


def slope_label(fits: pd.DataFrame) -> str:
    """One line 'slope 1.54 [1.51, 1.56], H ≥ 4 (ledger: vs 2)' per fit of one gap series."""
    texts = []
    for fit in fits.itertuples(index=False):
        compared = "" if pd.isna(fit.compared_with) else f" (ledger: vs {fit.compared_with:g})"
        texts.append(f"\n  slope {fit.slope:.3f} [{fit.ci_low:.3f}, {fit.ci_high:.3f}], H ≥ {fit.H_min}{compared}")
    return "".join(texts)


def plot_panel(ax, title: str, gaps: pd.DataFrame, exponents: pd.DataFrame, constructions: tuple[str, ...]) -> None:
    """Measured gaps (solid, one colour per construction and policy) and the bounds drawn with them (black)."""
    drawn_bounds, notes = set(), []
    series = gaps[gaps["construction"].isin(constructions)].groupby(["construction", "policy"], sort=False)
    for index, ((construction, policy), rows) in enumerate(series):
        measured = rows.drop_duplicates("H").sort_values("H")
        hidden = measured[measured["gap"] <= 0]  # not drawable on a log axis: said in a note instead
        if len(hidden):
            last = hidden.iloc[-1]
            notes.append(f"{policy} gap ≤ 0 at {len(hidden)} of {len(measured)} H, not drawn\n({last['gap']:.3g} at "
                         f"H = {last['H']}: V(π^{policy}) ≥ V(π^E))")
        measured = measured[measured["gap"] > 0]
        if measured.empty:
            continue
        fits = exponents[(exponents["construction"] == construction) & (exponents["policy"] == policy)]
        variant = construction.removeprefix("cliff ") if construction.startswith("cliff") else (
            f"({construction})" if len(constructions) > 1 else "")
        ax.plot(measured["H"], measured["gap"], marker="o", color=f"C{index}",
                label=f"{policy} gap {variant}{slope_label(fits)}")
        for bound, bound_rows in rows.groupby("bound", sort=False):
            if bound in drawn_bounds:
                continue
            drawn_bounds.add(bound)
            bound_rows = bound_rows.sort_values("H")
            ax.plot(bound_rows["H"], bound_rows["bound_value"], color="black", linestyle=BOUND_STYLES[bound],
                    linewidth=0.9, zorder=3, label=f"bound {bound}")  # on top: a tight bound covers its gap
    eps = ", ".join(f"{e:.3g}" for e in sorted(gaps.loc[gaps["construction"].isin(constructions), "eps"].unique()))
    if notes:
        ax.text(0.98, 0.03, "\n".join(notes), transform=ax.transAxes, ha="right", va="bottom", fontsize=6)
    ax.set(xscale="log", yscale="log", xlabel="horizon H", ylabel="value gap V(π^E) − V(π)")
    ax.set_title(f"{title} ({eps})")
    ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.2))


def plot(tables: dict[str, pd.DataFrame], ledger_profile: str) -> Figure:
    gaps, exponents = stacked(tables, GAP_CLAIMS, "gaps"), stacked(tables, EXPONENT_CLAIMS, "exponents")
    fig, axes = plt.subplots(1, len(PANELS), figsize=(10.5, 4.2))
    for ax, (title, constructions) in zip(axes, PANELS.items(), strict=True):
        plot_panel(ax, title, gaps, exponents, constructions)
    return finish_ledger(fig, ledger_profile, "exact dynamic programs, one instance per construction and H "
                         "(no sampling: n = 1 per point; the searched worst case is the best instance found at each "
                         "H); black: bounds at the same H and ε")
