"""Figure 12: which RL choices matter on parity: greedy accuracy and length along RL per variant, and collapse rates.

Reads the sweep ``rl_variants`` (conf/experiment/sweep_rl_variants*.yaml: every variant of conf/variant/ from the
same NTP stages).  Top rows, one column per (d, p_cot): held-out greedy accuracy and sampled (T = 1) mean response
length / d along RL (STaR: one iteration = one round), mean ± SE over the seeds whose RL start learned the chain;
theory (docs/research/parity_cot_rl.md §6.3): length → d and accuracy → 1 for every policy-gradient variant that keeps
the chain's length as its only ascent direction.  Bottom row, one panel per d: the collapse rate of each variant over
its jobs that solved, with its Wilson 95% interval (sweeps/rl_variants.py: after the first greedy accuracy ≥ 0.95,
two consecutive later ones below 0.9 or with KL to the start above max(10 × its value at the solve, log(1/p_cot) +
0.625 nats per chain step)); k/n above each point.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from figures.common import band, finish, mean_se
from sweeps.evidence import chain_length
from sweeps.rl_variants import collapse_rates, job_table

EXPERIMENT = "rl_variants"
PANELS = (("greedy/accuracy", "greedy accuracy"), ("sampled/mean_length", "sampled length / d"))


def plot(runs: pd.DataFrame, steps: pd.DataFrame) -> Figure:
    jobs = job_table(runs, steps)
    inside = jobs[jobs["learned"]]
    chains = pd.DataFrame({"job": runs["job"], "chain": chain_length(runs)})
    curves = steps[(steps["stage"] == "rl") & steps["metric"].isin([m for m, _ in PANELS])]
    curves = curves.merge(inside[["job", "variant", "task.d", "task.p_cot"]], on="job").merge(chains, on="job")
    curves["value"] = curves["value"].where(curves["metric"] != "sampled/mean_length",
                                            curves["value"] / curves["chain"])
    variants = sorted(jobs["variant"].unique())
    colours = {variant: plt.get_cmap("tab20")(i % 20) for i, variant in enumerate(variants)}
    sizes = sorted(jobs["task.d"].unique())
    columns = sorted(inside.groupby(["task.d", "task.p_cot"]).groups) or [(d, None) for d in sizes]
    fig, axes = plt.subplots(3, max(len(columns), len(sizes)), figsize=(2.7 * max(len(columns), len(sizes)), 7.0),
                             squeeze=False)
    for column, (d, p_cot) in enumerate(columns):
        for row, (metric, ylabel) in enumerate(PANELS):
            ax = axes[row, column]
            selected = curves[(curves["metric"] == metric) & (curves["task.d"] == d) & (curves["task.p_cot"] == p_cot)]
            for variant, group in selected.groupby("variant", sort=True):
                band(ax, mean_se(group, ["step"], "value"), "step", variant, color=colours[variant], markersize=1.5,
                     linewidth=0.9)
            ax.axhline(1.0, color="black", linestyle=":", linewidth=0.8)
            ax.set(xlabel="RL iteration (STaR: round)", ylabel=ylabel if column == 0 else None,
                   title=f"d = {d}, p_cot = {p_cot:g}" if row == 0 and p_cot is not None else None)
    for column in range(len(columns), axes.shape[1]):
        axes[0, column].axis("off")
        axes[1, column].axis("off")
    rates = collapse_rates(inside, ["task.d", "variant"])
    for column, d in enumerate(sizes):
        ax = axes[2, column]
        at_d = rates[(rates["task.d"] == d) & (rates["at_risk"] > 0)]
        for _, rate in at_d.iterrows():
            x = variants.index(rate["variant"])
            # clipped at 0: Wilson's lower end of 0 of n is 0 only up to round-off
            below, above = max(rate["rate"] - rate["low"], 0.0), max(rate["high"] - rate["rate"], 0.0)
            ax.errorbar(x, rate["rate"], yerr=[[below], [above]],
                        fmt="o", color=colours[rate["variant"]], capsize=2, markersize=3)
            ax.text(x, rate["high"] + 0.03, f"{rate['collapsed']}/{rate['at_risk']}", fontsize=5, ha="center")
        ax.set_xticks(range(len(variants)), variants, rotation=70, fontsize=5.5)
        ax.set(ylim=(-0.03, 1.15), ylabel="collapse rate (solved jobs)" if column == 0 else None,
               title=f"collapse after solving, d = {d}")
    for column in range(len(sizes), axes.shape[1]):
        axes[2, column].axis("off")
    # one legend for every variant of any column (each column draws only its own), by name, first label kept
    entries: dict[str, tuple] = {}
    for ax in axes[0, :len(columns)]:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            entries.setdefault(label.split(" (")[0], (handle, label))
    if entries:
        handles, labels = zip(*(entries[name] for name in sorted(entries)), strict=True)
        axes[0, len(columns) - 1].legend(handles, labels, loc="center left", bbox_to_anchor=(1.02, 0.0),
                                         fontsize=5.5)
    return finish(fig, "dotted: solved / full chain; bottom: Wilson 95% over the jobs that solved, pooled over p_cot")
