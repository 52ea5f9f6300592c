"""One-command reproduction: ``python -m sweeps.reproduce profile=quick`` (or ``profile=paper``).

Runs, in order and each as the same command a user would type (so the report can list them verbatim):
every named sweep of the profile (``python -m sweeps.pipeline -m experiment=...``, local joblib launcher;
finished jobs are skipped, so an interrupted reproduction resumes), the claims ledger
(``python -m theory.verify``), every figure (``python -m figures``), the compounding-error profile of the
trained models (``python -m sweeps.compounding``) and the empirical checks of the parity claims on the sweep
tables (``python -m sweeps.checks``).  Then it writes ``results/report/<profile>/report.md``:
each figure, the key numbers of every sweep (mean ± standard deviation over seeds, n stated), the cost-to-solve
tables and fitted laws of the scaling sweeps, the empirical checks, the claims table, the exact commands, and the
machine and versions.
A step that fails is reported in report.md and makes the exit status non-zero; later steps still run.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import hydra
import pandas as pd
from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

from core.ledger import ClaimResult
from core.ledger_report import tally_lines
from core.runio import atomic_write_text, environment
from sweeps.collect import RESULTS
from sweeps.config import LEDGER_PROFILES, PROFILES, sweep_experiments
from sweeps.scaling import cost_table, crossovers, curve_keys, fit_table, summary_table
from toy.config import require

SWEEPS = {profile: sweep_experiments(profile) for profile in PROFILES}  # every named sweep of conf/experiment/
KEY_METRICS = ["ntp.greedy/accuracy", "ntp.sampled/long_fraction", "ntp.forced_long/accuracy",
               "rl.final.greedy/accuracy", "rl.final.sampled/mean_length"]


@dataclass
class ReproduceConfig:
    profile: str = "quick"
    """'quick' (every experiment at minutes scale, < 20 min on 2 cores) or 'paper' (larger sizes)"""
    jobs: int = 2
    """parallel sweep jobs (one thread each): keep at most the number of cores"""
    results: str = "results"
    """root of all outputs (sweeps/, claims/, figures/, report/)"""
    launcher: str = "local"
    """Hydra launcher of the sweeps: 'local' (joblib) or 'slurm' (set its fields in conf/hydra/launcher/slurm.yaml)"""
    extra: list[str] = field(default_factory=list)
    """extra overrides appended to every sweep command (e.g. ['hydra.launcher.partition=gpu'])"""

    def __post_init__(self) -> None:
        require(self.profile in SWEEPS, "profile", f"one of {sorted(SWEEPS)}", self.profile)
        require(self.jobs >= 1, "jobs", ">= 1", self.jobs)
        require(self.launcher in ("local", "slurm"), "launcher", "'local' or 'slurm'", self.launcher)


def commands(cfg: ReproduceConfig) -> list[tuple[str, list[str]]]:
    """(step name, argv) of every step, in order."""
    root = Path(cfg.results)
    steps = []
    for experiment in SWEEPS[cfg.profile]:
        argv = [sys.executable, "-m", "sweeps.pipeline", "-m", f"experiment={experiment}",
                f"hydra/launcher={cfg.launcher}", f"hydra.sweep.dir={root}/sweeps/${{name}}/${{profile}}"]
        if cfg.launcher == "local":
            argv.append(f"hydra.launcher.n_jobs={cfg.jobs}")
        steps.append((experiment, argv + list(cfg.extra)))
    steps.append(("claims", [sys.executable, "-m", "theory.verify", "--jobs", str(cfg.jobs),
                             "--profile", LEDGER_PROFILES[cfg.profile],
                             "--out", f"{root}/claims/{LEDGER_PROFILES[cfg.profile]}"]))
    steps.append(("figures", [sys.executable, "-m", "figures", "--profile", cfg.profile,
                              "--results-root", f"{root}/sweeps", "--claims-root", f"{root}/claims",
                              "--figures-root", f"{root}/figures"]))
    steps.append(("compounding", [sys.executable, "-m", "sweeps.compounding", "--profile", cfg.profile,
                                  "--results-root", f"{root}/sweeps"]))
    steps.append(("checks", [sys.executable, "-m", "sweeps.checks", "--profile", cfg.profile,
                             "--results-root", f"{root}/sweeps", "--out", f"{root}/checks/{cfg.profile}"]))
    return steps


def markdown_table(frame: pd.DataFrame) -> str:
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def key_numbers(results_file: Path) -> str:
    """Mean ± sd over seeds of the key metrics, grouped by every config column that varies in the sweep."""
    runs = pd.read_parquet(results_file)
    config_columns = [c for c in runs.columns if "." in c and not c.startswith(("ntp.", "rl.")) and c != "seed"]
    varying = [c for c in config_columns if runs[c].astype(str).nunique() > 1]
    metrics = [m for m in KEY_METRICS if m in runs.columns]
    grouped = runs.groupby(varying, dropna=False) if varying else [((), runs)]
    rows = []
    for key, group in grouped:
        key = key if isinstance(key, tuple) else (key,)
        cells = {c: v for c, v in zip(varying, key, strict=True)}
        cells["n"] = len(group)
        for m in metrics:
            cells[m] = f"{group[m].mean():.3f} ± {group[m].std(ddof=1) if len(group) > 1 else 0:.3f}"
        rows.append(cells)
    return markdown_table(pd.DataFrame(rows))


def scaling_section(root: Path, profile: str) -> list[str]:
    """Cost to solve per (regime, p_cot, d) over seeds and the fitted laws of every scaling sweep that ran
    (sweeps/scaling.py: censored runs are lower bounds, and so is a median that a censored run reaches)."""
    out, all_costs = ["## Scaling laws (cost to solve, samples)", ""], []
    for experiment in SWEEPS[profile]:
        name = experiment.removeprefix("sweep_").removesuffix("_quick")
        table = root / "sweeps" / name / profile / RESULTS
        if not name.startswith("scaling_") or not table.exists():
            continue
        costs = cost_table(pd.read_parquet(table).assign(experiment=name))
        all_costs.append(costs)
        fits = fit_table(costs, curve_keys(costs))
        out += [f"### {name}", "", markdown_table(summary_table(costs).round(3)), "",
                markdown_table(fits.round(3)), ""]
    crossing = crossovers(pd.concat(all_costs)) if all_costs else pd.DataFrame()
    if len(crossing):
        out += ["### Crossover: where NTP alone becomes more expensive than NTP + RL (fitted laws)", "",
                markdown_table(crossing), ""]
    return out if len(out) > 2 else []


def ledger_files(cfg: ReproduceConfig) -> dict[str, Path]:
    """The two ledgers a reproduction writes (one schema): the claims ledger and the sweep checks."""
    root = Path(cfg.results)
    return {"claims": root / "claims" / LEDGER_PROFILES[cfg.profile] / "claims.json",
            "checks": root / "checks" / cfg.profile / "claims.json"}


def verdict_tally(cfg: ReproduceConfig) -> list[str]:
    """The report's opening lines: verdicts per claim kind over both ledgers (missing ledgers named)."""
    rows, missing = [], []
    for path in ledger_files(cfg).values():
        if path.exists():
            rows += [ClaimResult(**entry) for entry in json.loads(path.read_text())["claims"]]
        else:
            missing.append(str(path))
    lines = [f"- {line}" for line in tally_lines(rows)]
    lines += ["- (identities are implementation checks of algebra: reported, never counted as evidence)"]
    return lines + [f"- missing ledger: {path}" for path in missing]


def write_report(cfg: ReproduceConfig, ran: list[dict]) -> Path:
    root = Path(cfg.results)
    report_dir = root / "report" / cfg.profile
    out = [f"# Reproduction report (profile `{cfg.profile}`)", "", "## Verdicts by kind (claims ledger and sweep "
           "checks)", "", *verdict_tally(cfg), ""]
    out += ["## Commands", "", "Run from the repository root, in this order:", "", "```"]
    out += [shlex.join(["python", *step["argv"][1:]]) for step in ran] + ["```", ""]
    out += ["| step | exit | seconds |", "|---|---|---|"]
    out += [f"| {s['name']} | {s['returncode']} | {s['seconds']:.0f} |" for s in ran] + [""]
    figures = sorted((root / "figures" / cfg.profile).glob("*.png"))
    out += ["## Figures", ""]
    out += [f"![{p.stem}]({Path('..', '..', 'figures', cfg.profile, p.name).as_posix()})" for p in figures]
    if not figures:
        out.append("No figure was built: see the figures step above.")
    out += ["", "## Key numbers (mean ± sd over seeds)", ""]
    for experiment in SWEEPS[cfg.profile]:
        name = experiment.removeprefix("sweep_").removesuffix("_quick")
        table = root / "sweeps" / name / cfg.profile / RESULTS
        out += [f"### {name}", "", key_numbers(table) if table.exists() else f"missing: {table}", ""]
    out += scaling_section(root, cfg.profile)
    checks = ledger_files(cfg)["checks"].with_suffix(".md")
    out += ["## Empirical checks of the parity claims (sweeps.checks)", "",
            checks.read_text() if checks.exists() else f"missing: {checks}", ""]
    claims = ledger_files(cfg)["claims"].with_suffix(".md")
    out += ["## Claims ledger", "", claims.read_text() if claims.exists() else f"missing: {claims}", ""]
    out += ["## Machine and versions", "", "```", json.dumps(environment(), indent=2), "```"]
    path = report_dir / "report.md"
    atomic_write_text(path, "\n".join(out) + "\n")
    return path


ConfigStore.instance().store(name="reproduce_schema", node=ReproduceConfig)


@hydra.main(version_base="1.3", config_path="../conf", config_name="reproduce")
def main(raw) -> None:
    cfg: ReproduceConfig = OmegaConf.to_object(raw)
    ran = []
    for name, argv in commands(cfg):
        print(f"== {name}: {' '.join(argv[1:])}", flush=True)
        start = time.perf_counter()
        returncode = subprocess.run(argv).returncode
        ran.append({"name": name, "argv": argv, "returncode": returncode, "seconds": time.perf_counter() - start})
    report = write_report(cfg, ran)
    failed = [s["name"] for s in ran if s["returncode"] != 0]
    print(f"wrote {report}" + (f"; failed steps: {', '.join(failed)}" if failed else ""))
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
