"""Confidence intervals the ledger decides on, one function per kind of sampling.

Every interval is two-sided at ``confidence`` (default 95%) and says in its docstring what it covers.  A verdict
that rests on sampled numbers (held-out prompts, model seeds, a fitted slope) carries one of these, and the engine
(core/ledger.py) calls a criterion passed only when the whole interval is on the right side of its tolerance.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy import stats

CONFIDENCE = 0.95


def z_score(confidence: float = CONFIDENCE) -> float:
    """The two-sided normal quantile of ``confidence`` (1.96 at 95%)."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return float(stats.norm.ppf(0.5 + confidence / 2))


def wilson(successes: float, n: float, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion k/n (n independent trials: held-out prompts, samples).

    Unlike the normal interval it stays inside [0, 1] and does not collapse to a point at k = 0 or k = n, so
    "0 of 512 prompts failed" still leaves an upper bound of about 0.0075 instead of 0.
    """
    if n <= 0:
        raise ValueError(f"wilson: n must be positive, got {n}")
    if not 0 <= successes <= n:
        raise ValueError(f"wilson: successes must be in [0, n] = [0, {n}], got {successes}")
    z = z_score(confidence)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def proportion_interval(fraction: float, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """`wilson` for a measured fraction over n trials (the count is rounded: fractions stored as floats)."""
    return wilson(round(float(fraction) * n), n, confidence)


def t_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """(mean, low, high): Student-t interval for the mean of independent draws (seeds, random instances).

    One value gives a zero-width interval only if the caller treats it as exact; here it raises, because a mean
    over one seed has no sampling interval.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.size < 2:
        raise ValueError(f"t_interval needs at least 2 values, got {values.size}")
    mean, sem = float(values.mean()), float(values.std(ddof=1) / np.sqrt(values.size))
    half = float(stats.t.ppf(0.5 + confidence / 2, values.size - 1)) * sem
    return mean, mean - half, mean + half


def bootstrap_interval(values: Sequence, statistic: Callable[[np.ndarray], float], rng: np.random.Generator,
                       resamples: int = 2000, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic`` over resamples (with replacement) of ``values``' first axis
    (seeds, or (seed, prompt) units).  Resamples where the statistic is undefined (NaN) are dropped; if more than
    half are, the interval is (-inf, inf): the data cannot locate it."""
    values = np.asarray(values)
    if len(values) == 0:
        raise ValueError("bootstrap_interval: no values")
    draws = np.array([statistic(values[rng.integers(0, len(values), len(values))]) for _ in range(resamples)],
                     dtype=np.float64)
    draws = draws[np.isfinite(draws)]
    if draws.size < resamples / 2:
        return -np.inf, np.inf
    tail = (1 - confidence) / 2
    return float(np.quantile(draws, tail)), float(np.quantile(draws, 1 - tail))


def slope_interval(x: Sequence[float], y: Sequence[float], confidence: float = CONFIDENCE
                   ) -> tuple[float, float, float]:
    """(slope, low, high): least-squares slope of y on x with its Student-t interval (n − 2 degrees of freedom).

    With two points the slope is exact for those points but has no interval: (slope, -inf, inf)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.size < 2 or np.ptp(x) == 0:
        raise ValueError(f"slope_interval needs at least 2 distinct x values, got {np.unique(x).size}")
    fit = stats.linregress(x, y)
    if x.size == 2:
        return float(fit.slope), -np.inf, np.inf
    half = float(stats.t.ppf(0.5 + confidence / 2, x.size - 2)) * float(fit.stderr)
    return float(fit.slope), float(fit.slope) - half, float(fit.slope) + half
