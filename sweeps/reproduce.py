"""One-command reproduction: ``python -m sweeps.reproduce profile=quick`` (or ``profile=paper``).

Runs, each as the same command a user would type (so the report can list them verbatim): every named sweep of the
profile (``python -m sweeps.pipeline -m experiment=...``; finished jobs are skipped, so an interrupted reproduction
resumes, and stages another sweep made are reused: core/stages.py) and the claims ledger (``python -m
theory.verify``); then every figure (``python -m figures``) and the empirical checks of the parity claims on the
sweep tables (``python -m sweeps.checks``; the compounding-error profiles they read are measured by the sweep jobs).

Scheduling: the sweeps and the ledger need nothing from each other, so with the local launcher they run on
``jobs`` lanes side by side, one core each (inside a step: one job at a time), costliest first
(``EXPECTED_CORE_SECONDS``): a free lane takes the next step, so the cores stay busy across sweep boundaries and
only the last steps leave a core idle.  The idle core-seconds (lanes × wall − CPU seconds of every process run) go
to the output and the report.  Each step's output is echoed with its name in front and kept in
<results>/reproduce/<profile>/logs/<step>.log.

Then it writes ``<results>/report/<profile>/report.md``: each figure, the stages computed and reused per sweep, the
key numbers of every sweep (mean ± standard deviation over seeds, n stated), the cost-to-solve tables and fitted
laws of the scaling sweeps, the per-variant table of the RL-variants sweep, the empirical checks, the claims table,
the exact commands, the core use, and the machine and versions.
A step that fails is reported in report.md and makes the exit status non-zero; later steps still run.
"""

from __future__ import annotations

import json
import resource
import shlex
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import hydra
import numpy as np
import pandas as pd
from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

from core.ledger import ClaimResult
from core.ledger_report import tally_lines
from core.paths import results_root
from core.runio import atomic_write_text, environment
from sweeps.collect import RESULTS, STEPS
from sweeps.config import LEDGER_PROFILES, PROFILES, Profile, sweep_experiments
from sweeps.grpo_scaling_checks import fits_in_p
from sweeps.rl_variants import job_table, variant_table
from sweeps.rl_variants_checks import EXPERIMENT as RL_VARIANTS
from sweeps.rl_variants_checks import FRESH_EXPERIMENT as RL_VARIANTS_FRESH
from sweeps.scaling import cost_table, crossovers, curve_keys, fit_table, summary_table
from sweeps.short_map_checks import shift_table
from toy.config import Choice, coerce_choices, require

SWEEPS = {profile: sweep_experiments(profile) for profile in PROFILES}  # every named sweep of conf/experiment/
RL_VARIANT_SWEEPS = (RL_VARIANTS, RL_VARIANTS_FRESH)  # the report's variant tables
KEY_METRICS = ["ntp.greedy/accuracy", "ntp.sampled/long_fraction", "ntp.forced_long/accuracy",
               "rl.final.greedy/accuracy", "rl.final.sampled/mean_length"]
# Config columns key_numbers groups by although the rule below would leave them out: the named arms (conf/ablation/,
# conf/variant/; no dot) and the RL algorithm (an rl.* column, most of which are measured).
GROUPING_COLUMNS = ("ablation", "variant", "rl.algo")
MEASURED_PREFIXES = ("ntp.", "rl.", "ntp_solved.", "stages.")  # results and provenance columns, not config


Launcher = Choice("Launcher", ("local", "slurm"), module=__name__)  # conf/hydra/launcher/<name>.yaml


@dataclass
class ReproduceConfig:
    profile: Profile = Profile.quick
    """'quick' (every experiment at minutes scale, < 20 min on 2 cores) or 'paper' (larger sizes)"""
    jobs: int = 2
    """parallel sweep jobs (one thread each): keep at most the number of cores"""
    results: str = str(results_root())
    """root of all outputs (sweeps/, stages/, claims/, figures/, report/); default: core/paths.py"""
    launcher: Launcher = Launcher.local
    """Hydra launcher of the sweeps: 'local' (joblib) or 'slurm' (set its fields in conf/hydra/launcher/slurm.yaml)"""
    extra: list[str] = field(default_factory=list)
    """extra overrides appended to every sweep command (e.g. ['hydra.launcher.partition=gpu'])"""

    def __post_init__(self) -> None:
        coerce_choices(self, "")
        require(self.jobs >= 1, "jobs", ">= 1", self.jobs)


# Core-seconds each step took when last measured on 2 cores (report step tables; paper sweeps never run whole are
# estimated from their measured parts).  Only the ORDER of the independent steps depends on them: costliest first.
EXPECTED_CORE_SECONDS = {
    "sweep_fig3_rl_curves_quick": 520, "sweep_fig2_threshold_quick": 520, "sweep_fig1_ntp_vs_rl_quick": 390,
    "claims": 190, "sweep_rl_variants_quick": 180, "sweep_fig4_star_quick": 180, "sweep_scaling_rl_quick": 130,
    "sweep_scaling_ntp_quick": 70,
    # endogenous_rl, scaling_ntp, scaling_rl, scaling_linear_rounds (with the refit check), scaling_linear_grpo: sums
    # of their jobs' stage seconds at paper size (niced, shared cores); scaling_linear's d = 32 part estimated;
    # rl_variants: measured 120 d = 16 jobs (15,650) and 25 d = 50 jobs with their 5 NTP stages (11,800: a d = 50 job
    # costs ~4x its d = 16 twin), the rest (d = 50's other 125 jobs and 5 stages, d = 16's 40 jobs at p_cot = 0.1)
    # estimated from them
    "sweep_rl_variants": 90000, "sweep_endogenous_rl": 29000, "sweep_fig3_rl_curves": 12000,
    "sweep_scaling_ntp": 12000, "sweep_fig2_threshold": 11200, "sweep_scaling_linear": 24000,
    "sweep_scaling_linear_laws": 7000, "sweep_ablations": 6000, "sweep_fig1_ntp_vs_rl": 4400,
    "sweep_scaling_linear_grpo": 7400, "sweep_scaling_rl": 3200, "sweep_d50": 2300, "sweep_scaling_linear_rounds": 2300,
    "sweep_fig4_star": 1500,
    # rl_variants_fresh: 5 d = 50 NTP stages (660-860 s each in sweep_rl_variants) and 10 GRPO jobs (~300-500 s)
    "sweep_rl_variants_fresh": 8300,
}


@dataclass(frozen=True)
class Step:
    name: str
    argv: list[str]
    independent: bool
    """True: needs no other step's output (sweeps, the claims ledger), so it may run beside others"""


def lanes(cfg: ReproduceConfig) -> int:
    """Independent steps run on ``jobs`` lanes at once, one core each, when the sweeps run locally: the cores stay
    busy across sweep boundaries (a sweep's last job no longer leaves a core idle).  On SLURM, one lane."""
    return cfg.jobs if cfg.launcher == "local" else 1


def commands(cfg: ReproduceConfig) -> list[Step]:
    """Every step: the independent ones (sweeps and the claims ledger) costliest first, then the ones reading them."""
    root = Path(cfg.results)
    inner = 1 if lanes(cfg) > 1 else cfg.jobs  # parallelism inside a step: lanes already use the cores
    steps = []
    for experiment in SWEEPS[cfg.profile]:
        argv = [sys.executable, "-m", "sweeps.pipeline", "-m", f"experiment={experiment}",
                f"hydra/launcher={cfg.launcher}", f"hydra.sweep.dir={root}/sweeps/${{name}}/${{profile}}",
                f"stages_dir={root}/stages"]
        if cfg.launcher == "local":
            argv.append(f"hydra.launcher.n_jobs={inner}")
        steps.append(Step(experiment, argv + list(cfg.extra), independent=True))
    steps.append(Step("claims", [sys.executable, "-m", "theory.verify", "--jobs", str(inner),
                                 "--profile", LEDGER_PROFILES[cfg.profile],
                                 "--out", f"{root}/claims/{LEDGER_PROFILES[cfg.profile]}"], independent=True))
    steps.sort(key=lambda step: -EXPECTED_CORE_SECONDS.get(step.name, 0))
    steps.append(Step("figures", [sys.executable, "-m", "figures", "--profile", cfg.profile,
                                  "--results-root", f"{root}/sweeps", "--claims-root", f"{root}/claims",
                                  "--figures-root", f"{root}/figures"], independent=False))
    steps.append(Step("checks", [sys.executable, "-m", "sweeps.checks", "--profile", cfg.profile,
                                 "--results-root", f"{root}/sweeps", "--out", f"{root}/checks/{cfg.profile}"],
                      independent=False))
    return steps


PRINT_LOCK = threading.Lock()


def run_step(step: Step, log_dir: Path) -> dict:
    """Run one step, its output echoed line by line with the step's name in front and kept in <log_dir>/<name>.log."""
    with PRINT_LOCK:
        print(f"== {step.name}: {' '.join(step.argv[1:])}", flush=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(log_dir / f"{step.name}.log", "w") as log, subprocess.Popen(
            step.argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1) as process:
        for line in process.stdout:
            log.write(line)
            with PRINT_LOCK:
                print(f"[{step.name}] {line}", end="", flush=True)
    seconds = time.perf_counter() - start
    with PRINT_LOCK:
        print(f"== {step.name} finished: exit {process.returncode}, {seconds:.0f} s", flush=True)
    return {"name": step.name, "argv": step.argv, "returncode": process.returncode, "seconds": seconds}


def run_all(steps: list[Step], lane_count: int, log_dir: Path) -> tuple[list[dict], dict]:
    """Independent steps on ``lane_count`` lanes (each free lane takes the next step: longest-first list
    scheduling), then the rest in order.  Also returns the core use of the lane phase: wall seconds, CPU seconds of
    every process it ran (children's rusage: the sweeps' workers included, they run in-process at n_jobs = 1) and
    the idle core-seconds lanes × wall − CPU."""
    independent = [step for step in steps if step.independent]
    cpu_before, start = _children_cpu_seconds(), time.perf_counter()
    with ThreadPoolExecutor(max_workers=lane_count) as pool:
        ran = list(pool.map(lambda step: run_step(step, log_dir), independent))
    wall, cpu = time.perf_counter() - start, _children_cpu_seconds() - cpu_before
    use = {"lanes": lane_count, "wall_seconds": wall, "cpu_seconds": cpu,
           "idle_core_seconds": max(0.0, lane_count * wall - cpu)}
    ran += [run_step(step, log_dir) for step in steps if not step.independent]
    return ran, use


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def markdown_table(frame: pd.DataFrame) -> str:
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "---|" * len(frame.columns)
    rows = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def stage_use(root: Path, profile: str) -> str:
    """Per sweep: jobs, and of their NTP and RL stages how many the sweep computed and how many it reused (made by
    another job or sweep first: core/stages.py), from the provenance columns of each results table."""
    rows = []
    for experiment in SWEEPS[profile]:
        name = experiment.removeprefix("sweep_").removesuffix("_quick")
        table = root / "sweeps" / name / profile / RESULTS
        if not table.exists():
            continue
        runs = pd.read_parquet(table)
        row = {"sweep": name, "jobs": len(runs)}
        for stage in ("ntp", "rl"):
            column = f"stages.{stage}.reused"
            reused = runs[column].dropna().astype(bool) if column in runs else pd.Series(dtype=bool)
            row[f"{stage} computed"], row[f"{stage} reused"] = int((~reused).sum()), int(reused.sum())
        rows.append(row)
    return markdown_table(pd.DataFrame(rows)) if rows else "no sweep table"


def key_numbers(results_file: Path) -> str:
    """Mean ± sd over seeds of the key metrics, grouped by every config column that varies in the sweep."""
    runs = pd.read_parquet(results_file)
    config_columns = [c for c in runs.columns
                      if c in GROUPING_COLUMNS or ("." in c and not c.startswith(MEASURED_PREFIXES))]
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
        shifts = shift_table(costs).dropna(subset=["shift"])
        if len(shifts):
            out += ["Short answers only (p_cot = 0) against chains in the data, NTP alone at equal d: shift c = log "
                    "cost(0) − log cost(p_cot) of the common-slope censored fit (sweeps/short_map_checks.py).", "",
                    markdown_table(shifts.drop(columns="error").assign(ratio=np.exp(shifts["shift"])).round(3)), ""]
        if (costs["regime"] == "linear_grpo").any():
            out += ["GRPO per d (p_cot ≤ 1/4; sweeps/grpo_scaling_checks.py): iterations against log2((1 − p)/p), "
                    "then rollouts against 1/p_cot.", "",
                    markdown_table(fits_in_p(costs, "log_odds", "rl_iterations").round(3)), "",
                    markdown_table(fits_in_p(costs, "inverse_p", "rl_samples").round(3)), ""]
    crossing = crossovers(pd.concat(all_costs)) if all_costs else pd.DataFrame()
    if len(crossing):
        out += ["### Crossover: where NTP alone becomes more expensive than NTP + RL (fitted laws)", "",
                markdown_table(crossing), ""]
    return out if len(out) > 2 else []


def rl_variants_section(root: Path, profile: str) -> list[str]:
    """Per sweep of RL variants (the grid, and the fresh seeds that test a hypothesis it formed: sweeps/
    rl_variants_checks.py) and per d, the variant table (sweeps/rl_variants.py: iterations to solve, final greedy
    accuracy and length / d, malformed rate, collapse rate with its Wilson interval, s/iteration)."""
    out = []
    for sweep in RL_VARIANT_SWEEPS:
        table = root / "sweeps" / sweep / profile / RESULTS
        if not table.exists():
            continue
        jobs = job_table(pd.read_parquet(table), pd.read_parquet(table.with_name(STEPS)))
        out += [f"## RL variants (sweep {sweep})", "",
                "Per variant over its jobs whose RL start learned the chain, pooled over p_cot and seeds "
                f"({', '.join(map(str, sorted(jobs['seed'].unique())))}): iterations to solve (first evaluation with "
                "greedy accuracy ≥ 0.95; censored median), final greedy accuracy and sampled length / d (mean ± sd), "
                "the largest sampled malformed rate, collapse after solving over the jobs that solved "
                "(sweeps/rl_variants.py), s/iteration (median).", ""]
        for d, at_d in jobs.groupby("task.d", sort=True):
            out += [f"### d = {d} (p_cot = {', '.join(f'{p:g}' for p in sorted(at_d['task.p_cot'].unique()))})", "",
                    markdown_table(variant_table(at_d)), ""]
    return out


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


def write_report(cfg: ReproduceConfig, ran: list[dict], use: dict | None = None) -> Path:
    root = Path(cfg.results)
    report_dir = root / "report" / cfg.profile
    out = [f"# Reproduction report (profile `{cfg.profile}`)", "", "## Verdicts by kind (claims ledger and sweep "
           "checks)", "", *verdict_tally(cfg), ""]
    out += ["## Commands", "", "Run from the repository root, in this order:", "", "```"]
    out += [shlex.join(["python", *step["argv"][1:]]) for step in ran] + ["```", ""]
    out += ["| step | exit | seconds |", "|---|---|---|"]
    out += [f"| {s['name']} | {s['returncode']} | {s['seconds']:.0f} |" for s in ran] + [""]
    if use:
        idle_share = use["idle_core_seconds"] / max(use["lanes"] * use["wall_seconds"], 1e-9)
        out += [f"The sweeps and the ledger ran on {use['lanes']} lane(s) side by side: {use['wall_seconds']:.0f} s "
                f"wall, {use['cpu_seconds']:.0f} CPU seconds, {use['idle_core_seconds']:.0f} idle core-seconds "
                f"({idle_share:.0%} of the cores' time).", ""]
    figures = sorted((root / "figures" / cfg.profile).glob("*.png"))
    out += ["## Figures", ""]
    out += [f"![{p.stem}]({Path('..', '..', 'figures', cfg.profile, p.name).as_posix()})" for p in figures]
    if not figures:
        out.append("No figure was built: see the figures step above.")
    out += ["", "## Stages computed and reused", "", stage_use(root, cfg.profile), ""]
    out += ["## Key numbers (mean ± sd over seeds)", ""]
    for experiment in SWEEPS[cfg.profile]:
        name = experiment.removeprefix("sweep_").removesuffix("_quick")
        table = root / "sweeps" / name / cfg.profile / RESULTS
        out += [f"### {name}", "", key_numbers(table) if table.exists() else f"missing: {table}", ""]
    out += scaling_section(root, cfg.profile)
    out += rl_variants_section(root, cfg.profile)
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
    ran, use = run_all(commands(cfg), lanes(cfg), Path(cfg.results) / "reproduce" / cfg.profile / "logs")
    print(f"independent steps: {use['wall_seconds']:.0f} s on {use['lanes']} lane(s), {use['cpu_seconds']:.0f} CPU s, "
          f"{use['idle_core_seconds']:.0f} idle core-seconds")
    report = write_report(cfg, ran, use)
    failed = [s["name"] for s in ran if s["returncode"] != 0]
    print(f"wrote {report}" + (f"; failed steps: {', '.join(failed)}" if failed else ""))
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
