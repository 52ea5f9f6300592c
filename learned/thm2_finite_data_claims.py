"""Generalist Reward Models (arXiv 2506.23235), Theorem 2 at finite data, read as rates in H (``bounds.thm2_finite_*``).

Theorem 2 (§3.2) bounds the BC gap by H²ε_π and the gap of RL on the endogenous reward r̂ by Hε_π; the paper reads
this as "RL removes BC's compounding error".  Here π̂ is what NTP makes from n expert demonstrations on automaton
MDPs with a known soft expert, and every gap is exact given the demonstrations (learned/thm2_finite_data.py: the
instance families, the count table, the reused Theorem 2 readings of theory/error_bounds.py).

Sampling: each family draws ``Grid.instances`` instances (r*, α) from ``ctx.rng(INSTANCE_STREAM)``, and every
(instance, H, n) gets its own demonstrations from ``ctx.rng(DEMO_STREAM)``.  Per (family, n) and H a gap is averaged
over the instances (Student-t interval in the ``by_horizon`` table).  The exponent of a (family, n) is the
least-squares slope of log(mean gap) on log H over H ≥ 32 (theory/bounds_thm2_claims.fit_series, as the exact
Theorem 2 claims fit theirs); its interval is the union of the slope's 95% t-interval (core.intervals.slope_interval:
curvature and the scatter of the means) and the 95% percentile bootstrap over instances of the same slope
(core.intervals.bootstrap_interval: which instances were drawn).  A slope exists only where the mean is > 0 at every
H ≥ 32; the RL regret is often exactly 0 (RL on r̂ finds π*), so when more than 2.5% of the bootstrap resamples have
no slope the curve rests on one or two instances and its interval is unbounded.  Tolerances: an exponent b is
reached when the whole interval lies above b − 0.1 and is at most b when it lies below b + 0.1
(theory/bounds_thm2_claims.RATE_SLACK, the slack the exact Theorem 2 claims give a rate for finite-H curvature).
The exponent machinery takes the smallest fitted H as a parameter (the GPT arm, learned/thm2_gpt_claims.py, fits
from H = 8).  The claims on the error Theorem 2 uses (ε_π) against the error NTP controls, on the same runs:
learned/thm2_finite_eps_claims.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np

from core.intervals import bootstrap_interval, slope_interval, t_interval
from core.ledger import Context, Criterion, Outcome, claim
from learned.thm2_finite_data import GRIDS, FiniteDataRun, measure_grid
from theory.bounds_thm2_claims import FIT_FROM, RATE_SLACK
from theory.irl_claims import PAPER

INSTANCE_STREAM, DEMO_STREAM, BOOTSTRAP_STREAM = 1301, 1302, 1303
BOOTSTRAP_RESAMPLES = 2000
EXPONENT_INTERVAL = ("union of the 95% t-interval of the least-squares slope of log(instance-mean gap) on log H over "
                     "H ≥ H_min (32; GPT arm: 8) (core.intervals.slope_interval) and the 95% percentile bootstrap "
                     "of that slope over instances (core.intervals.bootstrap_interval, 2000 resamples)")
SOURCE = f"{PAPER}, Theorem 2 (§3.2: BC ≲ H²ε_π, RL on r̂ ≲ Hε_π; 'RL removes compounding error')"


@lru_cache(maxsize=4)
def finite_data_runs(profile: str, seed: int) -> tuple[FiniteDataRun, ...]:
    """Every run of the profile's grid at this instance seed (cached: the claims share it)."""
    ctx = Context(profile, seed)
    return tuple(measure_grid(GRIDS[profile], ctx.rng(INSTANCE_STREAM), ctx.rng(DEMO_STREAM)))


# --- exponents of the instance-mean gap ----------------------------------------------------------------------

@dataclass(frozen=True)
class Exponent:
    """The fitted exponent of one (family, n, quantity) over H ≥ ``h_min``; slope NaN when the mean is not > 0 at
    every such H, ``zero`` when it is 0 there (RL on r̂ found π* at every H)."""

    family: str
    n_demos: int
    quantity: str
    slope: float
    low: float
    high: float
    zero: bool
    h_min: int = FIT_FROM

    @property
    def fitted(self) -> bool:
        return bool(np.isfinite(self.slope))

    @property
    def label(self) -> str:
        return f"{self.family}, n={self.n_demos}"

    def describe(self) -> str:
        if self.zero:
            return f"{self.label}: 0 at every H ≥ {self.h_min}"
        return f"{self.label}: {self.slope:.2f} [{self.low:.2f}, {self.high:.2f}]" if self.fitted else \
            f"{self.label}: not fitted (mean ≤ 0 at some H ≥ {self.h_min})"


def gap_matrix(runs: Sequence, family: str, n_demos: int, key: str) -> tuple[list[int], np.ndarray]:
    """(horizons, values): ``key`` of the (family, n) runs as an (instances, H) array (any runs with family,
    n_demos, instance and horizon: `FiniteDataRun`, or the GPT arm's runs)."""
    chosen = [r for r in runs if r.family == family and r.n_demos == n_demos]
    horizons = sorted({r.horizon for r in chosen})
    instances = sorted({r.instance for r in chosen})
    values = np.zeros((len(instances), len(horizons)))
    for r in chosen:
        values[instances.index(r.instance), horizons.index(r.horizon)] = getattr(r, key)
    return horizons, values


def mean_curve_fit(horizons: list[int], values: np.ndarray, h_min: int = FIT_FROM) -> tuple[float, float, float]:
    """(slope, low, high) of log(instance-mean) on log H over H ≥ h_min (the fit of
    theory/bounds_thm2_claims.fit_series, with ≥ 3 positive means); NaNs when it cannot be fitted; a fit without
    residuals (a constant regret) has the point as its interval."""
    keep = np.asarray(horizons) >= h_min
    mean = values.mean(axis=0)[keep]
    if keep.sum() < 3 or (mean <= 0).any():
        return (np.nan,) * 3
    slope, low, high = slope_interval(np.log(np.asarray(horizons)[keep]), np.log(mean))
    return (slope, low, high) if np.isfinite(low) else (slope, slope, slope)


def mean_curve_slope(horizons: list[int], values: np.ndarray, h_min: int = FIT_FROM) -> float:
    """The slope of `mean_curve_fit` alone, by numpy's least squares (the bootstrap calls it thousands of times)."""
    keep = np.asarray(horizons) >= h_min
    mean = values.mean(axis=0)[keep]
    if keep.sum() < 3 or (mean <= 0).any():
        return float("nan")
    return float(np.polyfit(np.log(np.asarray(horizons)[keep]), np.log(mean), 1)[0])


def bootstrap_slope_interval(horizons: list[int], values: np.ndarray, rng: np.random.Generator,
                             h_min: int = FIT_FROM) -> tuple[float, float]:
    """Percentile bootstrap over instances (rows of ``values``) of `mean_curve_slope`.  A resample whose mean is 0 at
    some H ≥ h_min has no slope; when more than the 2.5% tail of the resamples have none, the fitted curve rests on one
    or two instances and the interval is unbounded (bootstrap_interval would otherwise condition on them)."""
    undefined = []

    def slope(resampled: np.ndarray) -> float:
        value = mean_curve_slope(horizons, resampled, h_min)
        undefined.append(not np.isfinite(value))
        return value

    low, high = bootstrap_interval(values, slope, rng, resamples=BOOTSTRAP_RESAMPLES)
    return (-np.inf, np.inf) if np.mean(undefined) > 0.025 else (low, high)


def exponent(runs: Sequence, family: str, n_demos: int, key: str, rng: np.random.Generator,
             h_min: int = FIT_FROM) -> Exponent:
    """`Exponent` of ``key`` for (family, n) with the interval of the module docstring."""
    horizons, values = gap_matrix(runs, family, n_demos, key)
    zero = bool((values[:, np.array(horizons) >= h_min] == 0).all())
    slope, low, high = mean_curve_fit(horizons, values, h_min)
    if np.isfinite(slope) and len(values) > 1:
        boot_low, boot_high = bootstrap_slope_interval(horizons, values, rng, h_min)
        low, high = min(low, boot_low), max(high, boot_high)
    return Exponent(family, n_demos, key, slope, low, high, zero, h_min)


def exponents(runs: Sequence, key: str, rng: np.random.Generator, h_min: int = FIT_FROM) -> list[Exponent]:
    return [exponent(runs, family, n, key, rng, h_min)
            for family, n in dict.fromkeys((r.family, r.n_demos) for r in runs)]


def exponent_criterion(name: str, fits: list[Exponent], tolerance: float, direction: str,
                       zero_value: float | None = None) -> Criterion:
    """One instance per (family, n); unfitted curves are not informative, zero curves count as ``zero_value``
    (not informative when None)."""
    usable = [f.fitted or (f.zero and zero_value is not None) for f in fits]
    value = [f.slope if f.fitted else (zero_value if f.zero and zero_value is not None else 0.0) for f in fits]
    low = [f.low if f.fitted else v for f, v in zip(fits, value, strict=True)]
    high = [f.high if f.fitted else v for f, v in zip(fits, value, strict=True)]
    return Criterion(name, value, tolerance, direction, low=low, high=high, interval=EXPONENT_INTERVAL,
                     informative=usable, labels=[f.label for f in fits])


def mean_rows(runs: Sequence[FiniteDataRun]) -> list[dict]:
    """Table ``by_horizon``: per (family, n, H) the instance means (t-interval for the gaps) of every quantity."""
    rows = []
    for family, n in dict.fromkeys((r.family, r.n_demos) for r in runs):
        for horizon in sorted({r.horizon for r in runs}):
            chosen = [r for r in runs if (r.family, r.n_demos, r.horizon) == (family, n, horizon)]
            if not chosen:
                continue
            row = {"family": family, "n_demos": n, "H": horizon, "instances": len(chosen)}
            for key in ("bc_gap", "rl_gap", "rl_regret"):
                values = [getattr(r, key) for r in chosen]
                mean, low, high = t_interval(values) if np.ptp(values) > 0 else (values[0],) * 3
                row |= {key: mean, f"{key}_low": low, f"{key}_high": high}
            for key in ("expert_shortfall", "eps_pi", "eps_pi_visited", "unvisited_fraction", "kl_per_token",
                        "tv_per_step"):
                row[key] = float(np.median([getattr(r, key) for r in chosen]))
            row |= {"mle_eps_infinite": float(np.mean([r.mle_eps_infinite for r in chosen])),
                    "rl_bound_vacuous": float(np.mean([r.rl_bound_vacuous for r in chosen])),
                    "bc_bound_vacuous": float(np.mean([r.bc_bound_vacuous for r in chosen]))}
            rows.append(row)
    return rows


def exponent_rows(fits: list[Exponent]) -> list[dict]:
    """Table ``exponents``: one row per (family, n, quantity), NaN where not fitted."""
    return [asdict(f) for f in fits]


def run_rows(runs: Sequence[FiniteDataRun]) -> list[dict]:
    """Table ``runs``: every (instance, H, n)."""
    return [{**asdict(r), "mle_eps_infinite": int(r.mle_eps_infinite), "rl_bound_vacuous": int(r.rl_bound_vacuous),
             "bc_bound_vacuous": int(r.bc_bound_vacuous)} for r in runs]


def bootstrap_rng() -> np.random.Generator:
    """The exponent bootstrap's resampling (not an instance draw: fixed, so a verdict is a function of the runs)."""
    return np.random.default_rng(BOOTSTRAP_STREAM)


def listing(fits: list[Exponent]) -> str:
    return "; ".join(f.describe() for f in fits)


# --- bounds.thm2_finite_bc_exponent --------------------------------------------------------------------------

def separation_rows(bc: list[Exponent], rl: list[Exponent]) -> list[dict]:
    """Table ``separation``: exponent(BC gap) − exponent(RL regret) per (family, n), by interval arithmetic on the two
    intervals (a regret that is 0 at every H counts as exponent 0: conservative, any rate ≤ 0 would do)."""
    rows = []
    for b, r in zip(bc, rl, strict=True):
        if b.fitted and (r.fitted or r.zero):
            rl_slope, rl_low, rl_high = (r.slope, r.low, r.high) if r.fitted else (0.0, 0.0, 0.0)
            rows.append({"family": b.family, "n_demos": b.n_demos, "bc_exponent": b.slope, "rl_exponent": rl_slope,
                         "separation": b.slope - rl_slope, "low": b.low - rl_high, "high": b.high - rl_low})
    return rows


def describe_separation(row: dict) -> str:
    """The separation with its interval and which of the paper's factor H (1), √H (1/2) and none (0) it contains."""
    inside = [name for name, value in (("H", 1.0), ("√H", 0.5), ("none", 0.0)) if row["low"] <= value <= row["high"]]
    where = ("contains " + ", ".join(inside) if inside else "above 1" if row["low"] > 1 else
             "below 0" if row["high"] < 0 else "strictly between the three")
    return (f"{row['family']}, n={row['n_demos']}: {row['separation']:.2f} [{row['low']:.2f}, {row['high']:.2f}] "
            f"({where})")


def judge_bc_exponent(runs: Sequence[FiniteDataRun]) -> Outcome:
    bc = exponents(runs, "bc_gap", bootstrap_rng())
    separation = separation_rows(bc, exponents(runs, "rl_regret", bootstrap_rng()))
    reaching = [f.label for f in bc if f.fitted and f.low >= 2 - RATE_SLACK]
    linear = [f.label for f in bc if f.fitted and f.high < 1.5]
    return Outcome(
        [exponent_criterion("exponent of the BC gap", bc, 2 - RATE_SLACK, ">=")],
        measured={f"exponent {f.label}": f.slope for f in bc if f.fitted},
        detail=f"BC gap exponents over H ≥ {FIT_FROM}: {listing(bc)}. Reaching {2 - RATE_SLACK:g} with the whole "
               f"interval: {', '.join(reaching) or 'none'}; below 1.5 with the whole interval: "
               f"{', '.join(linear) or 'none'}. Separation exponent(BC gap) − exponent(RL-on-r̂ regret) "
               "(bounds.thm2_finite_rl_exponent), by interval arithmetic: "
               + ("; ".join(describe_separation(row) for row in separation) or "no (family, n) with both fitted") + ".",
        tables={"exponents": exponent_rows(bc), "by_horizon": mean_rows(runs),
                **({"separation": separation} if separation else {})})


@claim(
    id="bounds.thm2_finite_bc_exponent", kind="reading", quantifier="for-all", source=SOURCE,
    statement="Reading of Theorem 2's BC part as a rate at finite data: behaviour cloning by NTP from n expert "
              "demonstrations has a true-reward gap V^{r*}(π^E) − V^{r*}(π̂) growing like H² (compounding error), "
              "for every automaton family and n.",
    check="learned/thm2_finite_data.py: soft cliff, walk and random automata (r* ∈ [0,1], α log-uniform in "
          "[0.1, 1]), 5 instances each (quick; 8 full), H = 8…256 (quick; 8…1024 full), n ∈ {10, 100, 1000} "
          "(quick; + 10⁴ full); π̂ the add-0.5 count table over (h, automaton state).  Per (family, n): the exponent "
          "of the instance-mean BC gap over H ≥ 32 with the interval of the module docstring must lie above 1.9 "
          "(for-all).  Reported next to it (table separation): exponent(BC gap) − exponent(RL-on-r̂ regret) per "
          "(family, n) by interval arithmetic, and whether it contains 1 (the paper's H vs H²), 1/2 (√H) or 0.")
def bc_exponent(ctx: Context) -> Outcome:
    return judge_bc_exponent(finite_data_runs(ctx.profile, ctx.seed))


# --- bounds.thm2_finite_rl_exponent --------------------------------------------------------------------------

def judge_rl_exponent(runs: Sequence[FiniteDataRun]) -> Outcome:
    rl = exponents(runs, "rl_regret", bootstrap_rng())
    top = max(r.horizon for r in runs)
    last = [r for r in runs if r.horizon == top]
    return Outcome(
        [exponent_criterion("exponent of the RL-on-r̂ regret", rl, 1 + RATE_SLACK, "<=", zero_value=0.0)],
        measured={f"exponent {f.label}": f.slope for f in rl if f.fitted},
        detail=f"Exponents over H ≥ {FIT_FROM} of the regret V(π*) − V(π^RL) (≥ the Theorem 2 gap): {listing(rl)}. "
               f"At H={top} the Theorem 2 gap of RL is negative (RL beats the soft expert, which spends value on "
               f"entropy) on {sum(r.rl_gap < 0 for r in last)} of {len(last)} runs and exceeds BC's on "
               f"{sum(r.rl_gap > r.bc_gap for r in last)}.",
        tables={"exponents": exponent_rows(rl)})


@claim(
    id="bounds.thm2_finite_rl_exponent", kind="reading", quantifier="for-all", source=SOURCE,
    statement="Reading of Theorem 2's RL part as a rate at finite data: the unregularised optimum π^RL of the "
              "endogenous reward of the BC model loses at most linearly in H, i.e. its regret V^{r*}(π*) − "
              "V^{r*}(π^RL) (an upper bound on the theorem's gap V^{r*}(π^E) − V^{r*}(π^RL), and RL's excess over its "
              "own n = ∞ limit π*) grows like H at most, for every automaton family and n.",
    check="Same runs as bounds.thm2_finite_bc_exponent; π^RL = theory/soft_rl.greedy_optimal on r̂ of f̂ = α log π̂ "
          "(theory/error_bounds.ImitationInstance.rl_gap).  Per (family, n): the exponent of the instance-mean "
          "regret over H ≥ 32 must lie below 1.1 (for-all); a regret that is 0 at every H ≥ 32 counts as exponent 0, "
          "a curve with a zero mean at some H only is not informative.  Budget: a pilot with 24 instances per "
          "family (n ∈ {10, 1000}, quick H grid) gave walk and random-automata exponents 1.05-1.17 with intervals "
          "of ±0.2-0.4, so ≤ 1.1 is not decided at either profile; ±0.05 would take of order 10³ instances.")
def rl_exponent(ctx: Context) -> Outcome:
    return judge_rl_exponent(finite_data_runs(ctx.profile, ctx.seed))
