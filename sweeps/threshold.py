"""The 1/3 threshold of NTP greedy decoding, judged as a threshold: beyond a derived margin, and located.

Paper object: Tsilivis et al. 2025, Thm 1, derived in docs/research/parity_cot_rl.md §6.2.  At the NTP optimum, after
the first response token z_1 = x_1 the posterior of the long mode is the continue probability

    q(p) = 2p / (1 + p),

and greedy decoding continues (then follows the learned chain and is right) iff q(p) > 1/2, i.e. iff p > 1/3.
Near 1/3 the gap |q(p) − 1/2| ≈ (9/8)|p − 1/3| is small, so a trained model whose continue probability is off
the optimum by a little lands on either side of 1/2.

**Margin.**  The suite grants a trained model a tolerance of 0.05 on its length probabilities
(parity.ntp.length_calibration), so a trained model can be expected to resolve the greedy decision only where
the optimum's continue probability is at least ``CONTINUE_MARGIN`` = 0.05 from 1/2:

    |q(p) − 1/2| ≥ 0.05   ⇔   p ≤ 0.45/1.55 = 9/31 ≈ 0.290   or   p ≥ 0.55/1.45 = 11/29 ≈ 0.379,

a margin of 0.043 below and 0.046 above 1/3.  Inside the band (9/31, 11/29) greedy decoding says nothing about
the theorem (not informative); outside it greedy is at chance below and solved above.  The measured models agree
with that resolution: the quick GPT (600 NTP steps) continued on 13-15% of prompts at p_cot = 0.3 and stopped on
3-22% at 0.36 (gaps 0.038 and 0.029), and decided every prompt the optimum's way at 0.25 and 0.45 (gaps 0.10, 0.12).

**Location p*.**  Where the NTP greedy long fraction crosses 1/2, per model, from a p_cot grid of a sweep: the
seed-mean long fraction is interpolated linearly between the two grid points that bracket the crossing (the point
estimate).  The data locate the crossing only up to that bracket, so the interval is a percentile bootstrap over
seeds of the *bracket ends*: resample the seeds, re-find the bracket of the resampled mean curve, and take the
2.5% quantile of the lower ends and the 97.5% quantile of the upper ends.  A curve that never crosses within the
grid gives an unbounded end.  The claim "p* = 1/3" holds when 1/3 lies in the interval, fails when the interval
excludes it, and is undecided when the interval contains 1/3 but is not inside the band (too wide or unbounded:
it cannot tell 1/3 from points where the decision is resolved; grid points inside the band on both sides of 1/3,
or more seeds, decide).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

THRESHOLD = 1 / 3
CONTINUE_MARGIN = 0.05  # |q(p) − 1/2| a trained model resolves: the tolerance on its length probabilities
BOOTSTRAP_STREAM = 13  # generator stream of the p* bootstrap (ctx.rng in the check; seed 0's stream in figure 2)


def continue_probability(p_cot: float | np.ndarray) -> float | np.ndarray:
    """q(p) = 2p/(1+p): P(long | z_1 = x_1) at the NTP optimum (docs/research/parity_cot_rl.md §6.2 step 2)."""
    return 2 * p_cot / (1 + p_cot)


def p_cot_at(continue_prob: float) -> float:
    """The inverse of q: the p_cot whose optimum continues with probability ``continue_prob`` (p = q/(2 − q))."""
    return continue_prob / (2 - continue_prob)


BAND = (p_cot_at(0.5 - CONTINUE_MARGIN), p_cot_at(0.5 + CONTINUE_MARGIN))  # (9/31, 11/29): decision unresolved


def resolved(p_cot: float | np.ndarray) -> bool | np.ndarray:
    """True where |q(p) − 1/2| ≥ CONTINUE_MARGIN: a finite-budget model's greedy decision is evidence there."""
    return np.abs(continue_probability(np.asarray(p_cot, dtype=float)) - 0.5) >= CONTINUE_MARGIN - 1e-12


def crossing_bracket(p_grid: np.ndarray, curve: np.ndarray) -> tuple[float, float, float]:
    """(estimate, low, high) of where ``curve`` (increasing in p, sorted grid) crosses 1/2.

    [low, high] spans every upward crossing: from the last grid point before the first value ≥ 1/2 to the first
    grid point after the last value < 1/2 (−inf / +inf when the curve starts above / ends below 1/2).  The
    estimate interpolates linearly inside the first crossing segment (NaN when there is none)."""
    above = curve >= 0.5
    if above.all():
        return math.nan, -math.inf, float(p_grid[0])
    if not above.any():
        return math.nan, float(p_grid[-1]), math.inf
    first_above = int(np.argmax(above))
    last_below = int(len(above) - 1 - np.argmax(~above[::-1]))
    low = float(p_grid[first_above - 1]) if first_above > 0 else -math.inf
    high = float(p_grid[last_below + 1]) if last_below + 1 < len(p_grid) else math.inf
    if first_above == 0:
        return math.nan, low, high
    p0, p1, f0, f1 = p_grid[first_above - 1], p_grid[first_above], curve[first_above - 1], curve[first_above]
    return float(p0 + (p1 - p0) * (0.5 - f0) / (f1 - f0)), low, high


@dataclass(frozen=True)
class Crossing:
    """p* of one model: point estimate, bootstrap interval over seeds, and the data behind it."""

    model: str
    estimate: float
    low: float
    high: float
    seeds: int
    grid: tuple[float, ...]

    @property
    def contains_threshold(self) -> bool:
        return self.low <= THRESHOLD <= self.high

    @property
    def distance(self) -> float:
        """How far 1/3 lies outside the interval (0 inside it)."""
        return max(0.0, self.low - THRESHOLD, THRESHOLD - self.high)

    @property
    def informative(self) -> bool:
        """False when the interval contains 1/3 but is not inside BAND: too wide to locate the threshold."""
        return not self.contains_threshold or BAND[0] <= self.low <= self.high <= BAND[1]

    def row(self) -> dict:
        """A table row (strings for unbounded ends: parquet and strict JSON have no infinity)."""
        finite = {name: getattr(self, name) for name in ("estimate", "low", "high")}
        return {"model": self.model, **{k: (v if math.isfinite(v) else float("nan")) for k, v in finite.items()},
                "low_bounded": int(math.isfinite(self.low)), "high_bounded": int(math.isfinite(self.high)),
                "seeds": self.seeds, "grid": ", ".join(f"{p:g}" for p in self.grid), "threshold": THRESHOLD,
                "band_low": BAND[0], "band_high": BAND[1]}


def estimate_crossing(runs: pd.DataFrame, model: str, rng: np.random.Generator, resamples: int = 2000,
                      confidence: float = 0.95) -> Crossing:
    """p* of one model from NTP runs (columns task.p_cot, seed, ntp.greedy/long_fraction): see the docstring."""
    table = runs.pivot_table(index="seed", columns="task.p_cot", values="ntp.greedy/long_fraction")
    grid, values = table.columns.to_numpy(dtype=float), table.to_numpy(dtype=float)  # seeds × p_cot (NaN: no job)
    estimate, _, _ = crossing_bracket(grid, np.nanmean(values, axis=0))
    lows, highs = np.empty(resamples), np.empty(resamples)
    for draw in range(resamples):
        resampled = values[rng.integers(0, len(values), len(values))]
        _, lows[draw], highs[draw] = crossing_bracket(grid, np.nanmean(resampled, axis=0))
    tail = (1 - confidence) / 2
    # Quantiles of grid points (and ±inf): no interpolation between them.
    low, high = float(np.quantile(lows, tail, method="lower")), float(np.quantile(highs, 1 - tail, method="higher"))
    return Crossing(model, estimate, low, high, len(values), tuple(grid.tolist()))
