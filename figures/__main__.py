"""Build every registered paper figure from stored sweep tables: ``python -m figures [--profile quick|paper]``.

Reads results/sweeps/<experiment>/<profile>/{results,steps}.parquet, writes
results/figures/<profile>/<figure>.{pdf,png} (figures/common.py).  A figure whose tables are missing is
reported with the sweep command that makes them, and the other figures are still built; the exit status
is non-zero if any figure could not be built.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from figures import fig1_ntp_vs_rl, fig2_threshold, fig3_rl_curves, fig4_star
from figures.common import FIGURES_ROOT, RESULTS_ROOT, MissingTable, build, figure_name

FIGURES = (fig1_ntp_vs_rl, fig2_threshold, fig3_rl_curves, fig4_star)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m figures", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=("quick", "paper"), default="quick", help="which sweep size to plot")
    parser.add_argument("--only", nargs="+", choices=[figure_name(m) for m in FIGURES], help="build only these")
    parser.add_argument("--results-root", type=Path, default=RESULTS_ROOT, help="root of the sweep directories")
    parser.add_argument("--figures-root", type=Path, default=FIGURES_ROOT, help="where the figures are written")
    args = parser.parse_args(argv)
    failed = []
    for module in FIGURES:
        name = figure_name(module)
        if args.only and name not in args.only:
            continue
        try:
            paths = build(module, args.profile, args.results_root, args.figures_root)
        except MissingTable as exc:
            print(f"[{name}] not built: {exc}", file=sys.stderr)
            failed.append(name)
        except (KeyError, ValueError) as exc:  # a table without the columns the figure needs (e.g. an old sweep)
            print(f"[{name}] not built: {type(exc).__name__}: {exc}", file=sys.stderr)
            failed.append(name)
        else:
            print(f"[{name}] " + ", ".join(str(p) for p in paths))
    if failed:
        print(f"{len(failed)} figure(s) not built: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
