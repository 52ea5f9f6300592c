"""Build every registered paper figure from stored tables: ``python -m figures [--profile quick|paper]``.

Figures 1-4 and 9-12 read the sweep tables results/sweeps/<experiment>/<profile>/{results,steps}.parquet; figures 5-8
read the claims ledger's tables listed in results/claims/<ledger profile>/claims.json (``--claims-root``; made by
``python -m theory.verify``).  Every figure is written to results/figures/<profile>/<figure>.{pdf,png}
(figures/common.py).
A figure whose tables are missing or unreadable is reported with the command that makes them, and the other
figures are still built; the exit status is non-zero if any figure could not be built.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from figures import (
    fig1_ntp_vs_rl,
    fig2_threshold,
    fig3_rl_curves,
    fig4_star,
    fig5_average_reward,
    fig6_irl,
    fig7_error_bounds,
    fig8_iterative_improvement,
    fig9_d50,
    fig10_scaling,
    fig11_scaling_linear,
    fig12_rl_variants,
    fig13_star_refit,
    fig14_scaling_linear_grpo,
)
from figures.common import (
    CLAIMS_ROOT,
    FIGURES_ROOT,
    RESULTS_ROOT,
    MissingTable,
    build,
    build_from_ledger,
    figure_name,
)

SWEEP_FIGURES = (fig1_ntp_vs_rl, fig2_threshold, fig3_rl_curves, fig4_star, fig9_d50)
# the scaling sweeps' figures
SCALING_FIGURES = (fig10_scaling, fig11_scaling_linear, fig13_star_refit, fig14_scaling_linear_grpo)
VARIANT_FIGURES = (fig12_rl_variants,)  # a sweep figure that reads the per-job table of sweeps/rl_variants.py
LEDGER_FIGURES = (fig5_average_reward, fig6_irl, fig7_error_bounds, fig8_iterative_improvement)
FIGURES = tuple(sorted(SWEEP_FIGURES + SCALING_FIGURES + VARIANT_FIGURES + LEDGER_FIGURES,
                       key=lambda module: int(figure_name(module).split("_")[0].removeprefix("fig"))))
ALL_PROFILES = ("quick", "paper")


def profiles(module) -> tuple[str, ...]:
    """The figure profiles a module is drawn for: its ``PROFILES`` (e.g. fig9_d50: paper only), else both."""
    return getattr(module, "PROFILES", ALL_PROFILES)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m figures", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=("quick", "paper"), default="quick", help="which sweep size to plot")
    parser.add_argument("--only", nargs="+", choices=[figure_name(m) for m in FIGURES], help="build only these")
    parser.add_argument("--results-root", type=Path, default=RESULTS_ROOT, help="root of the sweep directories")
    parser.add_argument("--claims-root", type=Path, default=CLAIMS_ROOT, help="the ledger's claims.json + tables/")
    parser.add_argument("--figures-root", type=Path, default=FIGURES_ROOT, help="where the figures are written")
    args = parser.parse_args(argv)
    failed = []
    for module in FIGURES:
        name = figure_name(module)
        if args.only and name not in args.only:
            continue
        if args.profile not in profiles(module):
            print(f"[{name}] skipped: drawn for profile {', '.join(profiles(module))} only")
            continue
        try:
            if module in LEDGER_FIGURES:
                paths = build_from_ledger(module, args.profile, args.claims_root, args.figures_root)
            else:
                paths = build(module, args.profile, args.results_root, args.figures_root)
        except MissingTable as exc:
            print(f"[{name}] not built: {exc}", file=sys.stderr)
            failed.append(name)
        except (KeyError, ValueError) as exc:  # a table without the columns the figure needs, or unreadable
            print(f"[{name}] not built: {type(exc).__name__}: {exc}", file=sys.stderr)
            failed.append(name)
        else:
            print(f"[{name}] " + ", ".join(str(p) for p in paths))
    if failed:
        print(f"{len(failed)} figure(s) not built: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
