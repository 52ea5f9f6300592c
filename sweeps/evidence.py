"""What the sweep checks (sweeps/checks.py) read and how they turn stored sweep numbers into ledger evidence.

* `Tables`: the (runs, steps) tables of the loaded sweeps, plus each sweep's compounding table on demand.
* Per-model intervals: every accuracy or fraction in a runs table is a mean over the held-out prompts of its
  evaluation (``eval.prompts`` for the NTP stage, ``rl_eval.prompts`` for RL; toy/config.py EvalConfig), one
  response per prompt, so it gets a Wilson interval at that count (core.intervals.proportion_interval).  A mean
  response length has no stored per-prompt values, so it gets the normal interval with the largest variance a
  variable in [0, L] can have (Popoviciu: σ ≤ L/2), which holds whatever the length distribution.
* `fraction_criterion` / `gap_criterion`: a ledger Criterion over models (one instance per model, labelled
  experiment/job) for a fraction against a tolerance, or for |fraction − target| with the interval of the gap.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from core.intervals import proportion_interval, z_score
from core.ledger import Criterion
from sweeps.collect import RESULTS_ROOT, load_compounding
from toy.parity import chain_positions

PAPER = "Tsilivis et al. 2025 (RL after NTP)"
SMALL_D = 8  # the tiny GPT learned the short map (8-bit parity) by NTP in the d = 8 pilot runs (tests/test_learning.py)
WILSON = "Wilson 95% per model over its held-out prompts"
KEPT_WILSON = "Wilson 95% per round over its kept responses"
LENGTH_INTERVAL = ("normal 95% per model with the largest variance of a length in [0, L] (σ ≤ L/2; per-prompt "
                   "lengths are not stored)")


class Tables(dict[str, tuple[pd.DataFrame, pd.DataFrame]]):
    """experiment -> (runs, steps) of the loaded sweeps; ``compounding(name)`` is that sweep's compounding table
    (sweeps/compounding.py), read from disk unless given in ``compounding_tables`` (tests plant them)."""

    def __init__(self, tables: dict, profile: str = "quick", results_root: Path = RESULTS_ROOT,
                 compounding_tables: dict[str, pd.DataFrame] | None = None) -> None:
        super().__init__(tables)
        self.profile, self.results_root = profile, results_root
        self.compounding_tables = compounding_tables or {}

    def compounding(self, experiment: str) -> pd.DataFrame:
        table = self.compounding_tables.get(experiment)
        if table is None:
            table = load_compounding(experiment, self.profile, self.results_root)
        return table.assign(experiment=experiment)

    def runs(self) -> pd.DataFrame:
        """The runs tables of every loaded sweep stacked, with an ``experiment`` column."""
        frames = [runs.assign(experiment=name) for name, (runs, _) in self.items()]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def labels(frame: pd.DataFrame) -> list[str]:
    return [f"{e}/{j}" for e, j in zip(frame["experiment"], frame["job"], strict=True)]


def prompts(frame: pd.DataFrame, stage: str) -> np.ndarray:
    """Held-out prompts behind each row's metrics of ``stage`` ('ntp' or 'rl')."""
    return frame["eval.prompts" if stage == "ntp" else "rl_eval.prompts"].to_numpy(dtype=float)


def wilson_bounds(fractions, counts) -> tuple[np.ndarray, np.ndarray]:
    bounds = [proportion_interval(f, int(n)) for f, n in zip(np.asarray(fractions, float), counts, strict=True)]
    return np.array([b[0] for b in bounds]), np.array([b[1] for b in bounds])


def gap_bounds(value, low, high, target) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """|value − target| and its interval, from an interval [low, high] of value (0 below when it holds target)."""
    value, low, high, target = (np.asarray(a, dtype=float) for a in (value, low, high, target))
    far = np.maximum(np.abs(low - target), np.abs(high - target))
    near = np.where((low <= target) & (target <= high), 0.0, np.minimum(np.abs(low - target), np.abs(high - target)))
    return np.abs(value - target), near, far


def fraction_criterion(name: str, frame: pd.DataFrame, column: str, stage: str, tolerance: float,
                       direction: str, informative=None, counts=None, interval: str = WILSON) -> Criterion:
    """A fraction per model (``column``) against ``tolerance``, with its Wilson interval over the held-out prompts
    of ``stage`` (or over ``counts`` trials, described by ``interval``)."""
    counts = prompts(frame, stage) if counts is None else np.asarray(counts, dtype=float)
    low, high = wilson_bounds(frame[column], counts)
    return Criterion(name, frame[column].to_numpy(dtype=float), tolerance, direction, low=low, high=high,
                     interval=interval, informative=informative, labels=labels(frame))


def gap_criterion(name: str, frame: pd.DataFrame, column: str, target, stage: str, tolerance: float,
                  informative=None, counts=None, interval: str = WILSON) -> Criterion:
    """|fraction − target| per model ≤ ``tolerance``, with the interval of the gap from the fraction's Wilson one."""
    counts = prompts(frame, stage) if counts is None else np.asarray(counts, dtype=float)
    low, high = wilson_bounds(frame[column], counts)
    gap, near, far = gap_bounds(frame[column], low, high, target)
    return Criterion(name, gap, tolerance, "<=", low=near, high=far, interval=f"|·| of the {interval}",
                     informative=informative, labels=labels(frame))


def length_bounds(mean, counts, budget, pairs: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Interval of a mean length over ``counts`` prompts, each length in [0, budget] (``pairs`` = 2: a difference
    of two such means on the same prompts, each bounded on its own)."""
    z = z_score()
    half = z * np.sqrt(pairs) * np.asarray(budget, dtype=float) / 2 / np.sqrt(np.asarray(counts, dtype=float))
    mean = np.asarray(mean, dtype=float)
    return mean - half, mean + half


def chain_length(runs: pd.DataFrame) -> np.ndarray:
    """Tokens of the full long response before <eos> (d for the full chain, fewer for a leap chain)."""
    leap = runs["task.leap"] if "task.leap" in runs else pd.Series(1, index=runs.index)
    return np.array([len(chain_positions(int(d), int(k))) for d, k in zip(runs["task.d"], leap, strict=True)])


def full_chain(runs: pd.DataFrame) -> pd.Series:
    """Jobs on the full chain (leap = 1), the one the 1/3 threshold and length calibration are derived for."""
    return runs["task.leap"] == 1 if "task.leap" in runs else pd.Series(True, index=runs.index)


def learned_chain(runs: pd.DataFrame, prefix: str = "ntp.") -> pd.Series:
    """The chain is learned: greedy decoding with <eos> forbidden until the end gives the answer (≥ 0.95)."""
    return runs[f"{prefix}forced_long/accuracy"] >= 0.95


def ablation(runs: pd.DataFrame, option: str) -> pd.DataFrame:
    """Rows of the ablations sweep made with ``ablation=option`` (the config field, a column of the runs table)."""
    return runs[runs["ablation"] == option]


def budget_note(criterion: Criterion, unit: str = "held-out prompts") -> str:
    """For a criterion on Wilson fractions: how many trials per instance would decide its undecided instances (the
    Wilson half-width, at most z·½/√n, must drop below the distance from the measured value to the tolerance)."""
    undecided = [i for i, ok in enumerate(criterion.informative) if ok and (
        criterion.low[i] <= criterion.tolerance <= criterion.high[i])]
    if not undecided:
        return ""
    z = z_score()
    distance = min(abs(criterion.value[i] - criterion.tolerance) for i in undecided)
    needed = "more" if distance == 0 else f"about {int(np.ceil((z / 2 / distance) ** 2))}"
    return (f" {len(undecided)} undecided on '{criterion.name}' (their intervals hold the tolerance "
            f"{criterion.tolerance:g}): deciding all of them needs {needed} {unit} per instance.")


def spread(values, digits: int = 3) -> str:
    """'a' or 'a-b' (min-max) of a set of numbers, for detail strings."""
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return "none"
    low, high = float(values.min()), float(values.max())
    return f"{low:.{digits}g}" if np.isclose(low, high) else f"{low:.{digits}g}-{high:.{digits}g}"
