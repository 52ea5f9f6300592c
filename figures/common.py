"""What every paper figure shares: style, mean ± standard-error bands over seeds, byte-stable PDF + PNG
output, and loading a sweep's stored tables (docs/design.md "A figure is a function of stored tables only").

Where things are:  the tables of experiment E at size P are ``results/sweeps/E/P/{results,steps}.parquet``
(written by sweeps/collect.py when ``python -m sweeps.pipeline -m experiment=sweep_E[_quick]`` ends);
figures go to ``results/figures/P/<figure>.{pdf,png}``.

A figure module defines ``EXPERIMENT`` (the sweep it reads; ``EXPERIMENTS`` if several) and
``plot(runs, steps) -> Figure``, a pure function of the two tables, so tests can feed it a small synthetic table.
Figures 5-8 read the tables of the claims ledger instead (``results/claims/<ledger profile>/tables/``, listed in
claims.json): see the last section of this file.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from types import ModuleType

import matplotlib

matplotlib.use("Agg")  # files only, never a window (and the same pixels on every machine)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from core.paths import results_root  # noqa: E402
from core.runio import atomic_write_bytes  # noqa: E402
from sweeps.collect import RESULTS_ROOT, MissingTable, load_tables  # noqa: E402
from sweeps.config import LEDGER_PROFILES  # noqa: E402

FIGURES_ROOT = results_root() / "figures"
DPI = 200
# No timestamps or version strings in the files, so re-building a figure gives the same bytes.
PDF_METADATA = {"Software": None, "CreationDate": None}
PNG_METADATA = {"Software": None}
STYLE = {
    "font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "legend.fontsize": 6.5,
    "xtick.labelsize": 7, "ytick.labelsize": 7, "lines.linewidth": 1.2, "lines.markersize": 3.5,
    "axes.spines.top": False, "axes.spines.right": False, "legend.frameon": False,
    "pdf.fonttype": 42,  # TrueType in the PDF: editable text
}
plt.rcParams.update(STYLE)
BAND_NOTE = "lines: mean over seeds; bands: ± 1 standard error; n = seeds per point"


def mean_se(table: pd.DataFrame, by: list[str], value: str) -> pd.DataFrame:
    """Per group of ``by``: mean, standard error (sd / √n; 0 when n = 1) and n of ``value`` over seeds."""
    stats = table.dropna(subset=[value]).groupby(by, sort=True)[value].agg(mean="mean", sd="std", n="count")
    stats["se"] = (stats["sd"] / np.sqrt(stats["n"])).fillna(0.0)
    return stats.drop(columns="sd").reset_index()


def seeds_label(n: pd.Series) -> str:
    return f"n={n.min()}" if n.min() == n.max() else f"n={n.min()}–{n.max()}"


def band(ax, stats: pd.DataFrame, x: str, label: str, **line_style) -> str:
    """The mean as a line with markers and mean ± SE as a band; the legend entry states n. Returns its colour."""
    (line,) = ax.plot(stats[x], stats["mean"], marker="o", label=f"{label} ({seeds_label(stats['n'])})", **line_style)
    ax.fill_between(stats[x], stats["mean"] - stats["se"], stats["mean"] + stats["se"], color=line.get_color(),
                    alpha=0.2, linewidth=0)
    return line.get_color()


def finish(fig: Figure, note: str = "", bands: bool = True) -> Figure:
    """Lay the panels out and put the caption line (what lines and bands mean, n) under them; ``bands=False`` for a
    figure of single runs, whose caption is ``note`` alone."""
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    caption = "; ".join(part for part in (BAND_NOTE if bands else "", note) if part)
    fig.text(0.01, 0.005, caption, fontsize=6, va="bottom")
    return fig


def value_label(values: pd.Series) -> str:
    """'8' or '8, 12' for a caption: the distinct values of a config column."""
    return ", ".join(f"{v:g}" for v in sorted(values.dropna().unique()))


def save(fig: Figure, out_dir: Path, name: str) -> list[Path]:
    """Write ``name``.pdf and ``name``.png (fixed dpi, no metadata that changes between runs) atomically."""
    paths = []
    for suffix, metadata in (("pdf", PDF_METADATA), ("png", PNG_METADATA)):
        buffer = io.BytesIO()
        fig.savefig(buffer, format=suffix, dpi=DPI, metadata=metadata, bbox_inches="tight")
        path = Path(out_dir) / f"{name}.{suffix}"
        atomic_write_bytes(path, buffer.getvalue())
        paths.append(path)
    plt.close(fig)
    return paths


def build(module: ModuleType, profile: str, results_root: Path = RESULTS_ROOT,
          figures_root: Path = FIGURES_ROOT) -> list[Path]:
    """Load a figure module's sweep tables, plot, and save into figures_root/profile/.  A module reading several
    sweeps names them in ``EXPERIMENTS``: their tables are stacked with an ``experiment`` column."""
    experiments = getattr(module, "EXPERIMENTS", None) or (module.EXPERIMENT,)
    loaded = [load_tables(name, profile, results_root) for name in experiments]
    runs, steps = (pd.concat([tables[i].assign(experiment=name) for name, tables in zip(experiments, loaded,
                                                                                         strict=True)],
                             ignore_index=True) for i in (0, 1))
    fig = module.plot(runs, steps)
    return save(fig, Path(figures_root) / profile, figure_name(module))


def figure_name(module: ModuleType) -> str:
    return module.__name__.rsplit(".", 1)[-1]


# --- figures drawn from the claims ledger's tables (python -m theory.verify) --------------------------------------
#
# A ledger figure module defines ``TABLES`` (the stored tables it reads, each named '<claim id>.<table name>', the
# file stem under <claims root>/tables/) and ``plot(tables, ledger_profile) -> Figure``, a pure function of those
# tables (a dict keyed like TABLES) and of the ledger profile stated in the caption.

CLAIMS_ROOT = results_root() / "claims"  # one ledger per profile below it: <root>/<ledger profile>/claims.json


class UnreadableTable(ValueError):
    """A stored table or claims.json exists but cannot be read; the message names the file and the command."""


def ledger_command(claim_ids: list[str], profile: str, claims_root: Path = CLAIMS_ROOT) -> str:
    """The `python -m theory.verify` command that stores the tables of ``claim_ids`` in ``claims_root``."""
    pattern = "^(" + "|".join(re.escape(claim_id) for claim_id in claim_ids) + ")$"
    ledger_profile = LEDGER_PROFILES[profile]
    return f"python -m theory.verify --profile {ledger_profile} --only '{pattern}' --out {claims_root / ledger_profile}"


def load_ledger(keys, profile: str, claims_root: Path = CLAIMS_ROOT) -> tuple[dict[str, pd.DataFrame], str]:
    """The tables ``keys`` ('<claim id>.<table name>') listed in <claims_root>/<ledger profile>/claims.json, and
    the ledger's profile.

    Only tables listed in claims.json are read, so the figure shows the numbers behind the verdicts in that file
    (a file left in tables/ by an earlier run of other claims is not used).  Raises MissingTable (nothing to read)
    or UnreadableTable (a damaged file), each naming the file and the command that makes it.
    """
    claims_root = Path(claims_root)
    command = ledger_command(sorted({key.rsplit(".", 1)[0] for key in keys}), profile, claims_root)
    ledger_dir = claims_root / LEDGER_PROFILES[profile]
    ledger_file = ledger_dir / "claims.json"
    if not ledger_file.exists():
        raise MissingTable(f"{ledger_file} is missing: make it with `{command}`")
    try:
        ledger = json.loads(ledger_file.read_text())
        claims = {entry["id"]: entry for entry in ledger["claims"]}
        ledger_profile = ledger["profile"]
    except (ValueError, KeyError, TypeError) as exc:
        raise UnreadableTable(f"{ledger_file} is not a claims ledger ({type(exc).__name__}: {exc}): remake it with "
                              f"`{command}`") from exc
    tables = {}
    for key in keys:
        claim_id, name = key.rsplit(".", 1)
        if claim_id not in claims:
            raise MissingTable(f"claim {claim_id} is not in {ledger_file} (its last run did not include it): make "
                               f"its tables with `{command}`")
        if name not in claims[claim_id].get("tables", {}):
            raise MissingTable(f"claim {claim_id} (verdict {claims[claim_id]['verdict']}) stored no table {name!r} "
                               f"in {ledger_file}: make it with `{command}`")
        path = ledger_dir / claims[claim_id]["tables"][name]
        if not path.exists():
            raise MissingTable(f"{path} (listed in {ledger_file}) is missing: make it with `{command}`")
        try:
            tables[key] = pd.read_parquet(path)
        except (OSError, ValueError) as exc:  # pyarrow: ArrowInvalid (a ValueError) or an I/O error
            raise UnreadableTable(f"{path} cannot be read as parquet ({type(exc).__name__}: {exc}): remake it with "
                                  f"`{command}`") from exc
    return tables, ledger_profile


def finish_ledger(fig: Figure, ledger_profile: str, note: str) -> Figure:
    """`finish` for a ledger figure: the caption says which ledger profile the numbers come from and what the marks
    are (random instances of the check, n stated), instead of the seed bands of BAND_NOTE."""
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.text(0.01, 0.005, f"tables of `python -m theory.verify --profile {ledger_profile}`; {note}", fontsize=6,
             va="bottom")
    return fig


def build_from_ledger(module: ModuleType, profile: str, claims_root: Path = CLAIMS_ROOT,
                      figures_root: Path = FIGURES_ROOT) -> list[Path]:
    """Load a ledger figure module's tables, plot, and save into figures_root/profile/."""
    tables, ledger_profile = load_ledger(module.TABLES, profile, claims_root)
    return save(module.plot(tables, ledger_profile), Path(figures_root) / profile, figure_name(module))


def strip(ax, position: float, values: pd.Series, width: float = 0.18, **style) -> None:
    """One point per instance at x within ``position`` ± ``width``, spread by a fixed-seed jitter (the same pixels
    on every build), with the median as a black tick."""
    offsets = np.random.default_rng(0).uniform(-width, width, len(values))
    ax.scatter(position + offsets, values, s=9, linewidths=0.6, zorder=3, **style)
    ax.hlines(np.median(values), position - 1.3 * width, position + 1.3 * width, color="black", linewidth=1.0,
              zorder=4)


def draw_runs(ax, x: pd.Series, y: pd.Series, censored: pd.Series, first: pd.Series | None = None,
              label: str | None = None, color=None):
    """One marker per run: solved runs as filled circles; runs censored at their cap (y: the cap, a lower bound) as
    open △; runs solved at the first evaluation (``first``: an upper bound, one resolution) as open ▽.  Returns the
    solved markers, whose colour the other two share."""
    censored = censored.astype(bool)
    first = (first.astype(bool) if first is not None else pd.Series(False, index=x.index)) & ~censored
    solved = ~censored & ~first
    (points,) = ax.plot(x[solved], y[solved], "o", alpha=0.8, color=color, label=label)
    for marker, runs in (("^", censored), ("v", first)):
        ax.plot(x[runs], y[runs], marker, color=points.get_color(), markerfacecolor="none")
    return points
