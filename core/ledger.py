"""The claims ledger: one registry, one verdict engine for every claim of the suite (exact and empirical).

A claim is a statement with a provenance.  Its **kind** says what a verdict on it is worth:

* ``source``    a statement a source makes (the source names document and location);
* ``reading``   the suite's interpretation of an ambiguous source statement (says which reading);
* ``derived``   a consequence, or the nearest true statement next to a failing one;
* ``identity``  an algebraic identity checked as an implementation test: reported, never counted as evidence.

Its **quantifier** says over what the statement ranges: ``for-all`` instances, ``exists`` an instance, or
``on-average`` over the instance family.  The check measures numbers and returns `Criterion` objects: per-instance
values, each with an interval where sampling enters (exact computations have a point interval), against a
tolerance.  The engine, never the check, applies the quantifier and decides:

* an instance *passes* when its whole interval is on the right side of the tolerance, *fails* when its whole
  interval is on the wrong side, and is *undecided* otherwise; instances marked not ``informative`` (a bound that
  cannot fail there, e.g. a TV bound ≥ 1) are left out;
* ``for-all``: fails if one instance fails, passes if all pass; ``exists``: passes if one passes, fails if all
  fail; ``on-average``: the mean over instances with its t-interval (one instance: its own interval); anything
  else, or no informative instance at all, is undecided;
* verdict: the primary (first) criterion fails → ``fails``; is undecided → ``inconclusive``; passes → ``holds`` if
  every other criterion passes, else ``holds-with-caveat``.  A NaN measurement or a check that raised → ``error``.

Checks take a `Context` (profile, instance seed, sweep tables) and return an `Outcome`; `evaluate` runs one and
`judge` applies the rules to a given outcome (the tests' planted controls use it).  Modules register claims with
`claim` at import time; `discover` imports every ``<package>/*_claims.py`` and ``<package>/checks.py``.
Formatting and writing of the ledger: core/ledger_report.py.
"""

from __future__ import annotations

import importlib
import math
import numbers
import pkgutil
import re
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from core.intervals import t_interval

Direction = Literal["<=", ">="]
Kind = Literal["source", "reading", "derived", "identity"]
Quantifier = Literal["for-all", "exists", "on-average"]
Verdict = Literal["holds", "holds-with-caveat", "fails", "inconclusive", "error"]
Status = Literal["pass", "fail", "undecided"]
KINDS: tuple[str, ...] = ("source", "reading", "derived", "identity")
QUANTIFIERS: tuple[str, ...] = ("for-all", "exists", "on-average")
VERDICTS: tuple[str, ...] = ("holds", "holds-with-caveat", "fails", "inconclusive", "error")
PROFILES = ("quick", "full")
TABLE_NAME = re.compile(r"[A-Za-z0-9_]+")  # no dot: the file name <claim id>.<table name>.parquet stays unambiguous


def _floats(value: Any) -> tuple[float, ...]:
    return tuple(float(v) for v in np.atleast_1d(np.asarray(value, dtype=np.float64)).ravel())


@dataclass(frozen=True)
class Criterion:
    """A measured quantity against its tolerance, per instance, with intervals where sampling enters.

    ``value`` is one number or one per instance; ``low``/``high`` (same length) bound each instance's value at
    the interval described by ``interval`` (omitted: exact, the interval is the point).  ``informative`` marks the
    instances where the criterion could fail at all (False: vacuous there, left out).  ``quantifier`` overrides the
    claim's for this criterion; ``labels`` name the instances in the ledger.
    """

    name: str
    value: Any
    tolerance: float
    direction: Direction = "<="
    low: Any = None
    high: Any = None
    interval: str = "exact"
    quantifier: Quantifier | None = None
    informative: Any = None
    labels: Sequence[str] | None = None

    def __post_init__(self) -> None:
        if self.direction not in ("<=", ">="):
            raise ValueError(f"Criterion {self.name!r}: direction must be '<=' or '>=', got {self.direction!r}")
        if self.quantifier is not None and self.quantifier not in QUANTIFIERS:
            raise ValueError(f"Criterion {self.name!r}: quantifier must be one of {QUANTIFIERS}")
        values = _floats(self.value)
        low = values if self.low is None else _floats(self.low)
        high = values if self.high is None else _floats(self.high)
        informative = (True,) * len(values) if self.informative is None else tuple(
            bool(b) for b in np.atleast_1d(self.informative))
        for label, seq in (("low", low), ("high", high), ("informative", informative)):
            if len(seq) != len(values):
                raise ValueError(f"Criterion {self.name!r}: {len(seq)} {label} entries for {len(values)} values")
        if any(lo > v + 1e-12 * max(1.0, abs(v)) or hi < v - 1e-12 * max(1.0, abs(v))
               for v, lo, hi in zip(values, low, high, strict=True) if math.isfinite(v)):
            raise ValueError(f"Criterion {self.name!r}: an interval does not contain its value")
        object.__setattr__(self, "value", values)
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)
        object.__setattr__(self, "informative", informative)
        if self.labels is not None:
            if len(self.labels) != len(values):
                raise ValueError(f"Criterion {self.name!r}: {len(self.labels)} labels for {len(values)} values")
            object.__setattr__(self, "labels", tuple(str(s) for s in self.labels))


def instance_status(low: float, high: float, tolerance: float, direction: Direction) -> Status:
    """Pass when the whole interval is on the right side of the tolerance, fail when all of it is on the wrong side."""
    if direction == "<=":
        return "pass" if high <= tolerance else "fail" if low > tolerance else "undecided"
    return "pass" if low >= tolerance else "fail" if high < tolerance else "undecided"


@dataclass(frozen=True)
class Judgement:
    """A criterion after the quantifier: its status, the decisive value and interval, and counts."""

    status: Status
    value: float
    low: float
    high: float
    instances: int
    informative: int
    counts: dict[str, int]
    worst: str | None
    reason: str


def judge_criterion(criterion: Criterion, quantifier: Quantifier) -> Judgement:
    """Apply ``quantifier`` to the criterion's informative instances (see the module docstring for the rules)."""
    quantifier = criterion.quantifier or quantifier
    keep = [i for i, ok in enumerate(criterion.informative) if ok]
    values = np.array([criterion.value[i] for i in keep])
    lows = np.array([criterion.low[i] for i in keep])
    highs = np.array([criterion.high[i] for i in keep])
    labels = [criterion.labels[i] if criterion.labels else str(i) for i in keep]
    total, tol, direction = len(criterion.value), criterion.tolerance, criterion.direction
    if not keep:
        return Judgement("undecided", math.nan, math.nan, math.nan, total, 0, {}, None,
                         f"no informative instance of {total} (vacuous or no qualifying data)")
    if quantifier == "on-average":
        mean = float(values.mean())
        if len(values) == 1:
            low, high = float(lows[0]), float(highs[0])
        else:
            _, low, high = t_interval(values) if np.ptp(values) > 0 else (mean, mean, mean)
            low, high = min(low, float(lows.mean())), max(high, float(highs.mean()))
        status = instance_status(low, high, tol, direction)
        reason = f"mean over {len(keep)} instance(s) {mean:.4g} [{low:.4g}, {high:.4g}] vs {direction} {tol:.3g}"
        return Judgement(status, mean, low, high, total, len(keep), {status: 1}, None, reason)
    statuses = [instance_status(lo, hi, tol, direction) for lo, hi in zip(lows, highs, strict=True)]
    counts = {s: statuses.count(s) for s in ("pass", "fail", "undecided") if s in statuses}
    # The decisive instance: the worst one for for-all (largest value for '<='), the best one for exists.
    worst_first = (direction == "<=") == (quantifier == "for-all")
    order = np.argsort(-values if worst_first else values, kind="stable")
    if quantifier == "for-all":
        status: Status = "fail" if "fail" in statuses else "pass" if all(s == "pass" for s in statuses) else "undecided"
        pick = next((i for i in order if statuses[i] == "fail"), None)
        pick = pick if pick is not None else next((i for i in order if statuses[i] == "undecided"), order[0])
    else:
        status = "pass" if "pass" in statuses else "fail" if all(s == "fail" for s in statuses) else "undecided"
        pick = next((i for i in order if statuses[i] == "pass"), None)
        pick = pick if pick is not None else next((i for i in order if statuses[i] == "undecided"), order[0])
    reason = (f"{quantifier}: {', '.join(f'{n} {s}' for s, n in counts.items())} of {len(keep)} informative "
              f"instance(s); decisive {labels[pick]} = {values[pick]:.4g} [{lows[pick]:.4g}, {highs[pick]:.4g}] vs "
              f"{direction} {tol:.3g}")
    return Judgement(status, float(values[pick]), float(lows[pick]), float(highs[pick]), total, len(keep), counts,
                     labels[pick], reason)


@dataclass
class Outcome:
    """What a check returns: criteria (primary first), extra measured numbers, a detail computed from the numbers,
    and tables (name -> rows; each row a dict of plain numbers/strings, every row with the same columns)."""

    criteria: Sequence[Criterion]
    measured: dict = field(default_factory=dict)
    detail: str = ""
    tables: dict[str, list[dict]] = field(default_factory=dict)


@dataclass(frozen=True)
class Context:
    """What a check may depend on: the instance-set size, the instance seed, and (sweep checks) the sweep tables.

    ``seed`` 0 draws the default instance families; ``rng(stream)`` gives each family its own generator, so a new
    seed redraws every family (`python -m theory.verify --seed N`) and the verdicts must not change with it.
    """

    profile: str = "quick"
    seed: int = 0
    tables: Any = None

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(f"profile must be one of {PROFILES}, got {self.profile!r}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")

    def rng(self, stream: int) -> np.random.Generator:
        """The generator of one instance family: ``default_rng(stream)`` at seed 0, ``default_rng([stream, seed])``."""
        return np.random.default_rng(stream if self.seed == 0 else [stream, self.seed])

    def size(self, quick: int, full: int) -> int:
        """The number of instances at this profile."""
        return quick if self.profile == "quick" else full


@dataclass(frozen=True)
class ClaimSpec:
    """A registered claim: identity, provenance, statement, quantifier, how it is checked, and the check itself.
    ``requires`` names the sweeps a sweep check reads (empty: an exact or self-contained learned claim)."""

    id: str
    kind: Kind
    quantifier: Quantifier
    source: str
    statement: str
    check: str
    run: Callable[[Context], Outcome]
    requires: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"claim {self.id}: kind must be one of {KINDS}, got {self.kind!r}")
        if self.quantifier not in QUANTIFIERS:
            raise ValueError(f"claim {self.id}: quantifier must be one of {QUANTIFIERS}, got {self.quantifier!r}")
        for name in ("source", "statement", "check"):
            if not getattr(self, name).strip():
                raise ValueError(f"claim {self.id}: {name} must not be empty")


@dataclass
class ClaimResult:
    """A claim after its check ran: the ledger row written to claims.json / claims.md."""

    id: str
    kind: str
    quantifier: str
    source: str
    statement: str
    check: str
    verdict: Verdict
    reason: str
    criteria: list[dict]
    measured: dict
    detail: str
    seconds: float
    tables: dict[str, list[dict]] = field(default_factory=dict)


REGISTRY: dict[str, ClaimSpec] = {}


def claim(*, id: str, kind: Kind, quantifier: Quantifier, source: str, statement: str, check: str,
          requires: tuple[str, ...] = ()):
    """Decorator registering ``fn(ctx) -> Outcome`` as the check of a claim."""

    def register(fn: Callable[[Context], Outcome]) -> Callable[[Context], Outcome]:
        if id in REGISTRY and REGISTRY[id].run is not fn:
            raise ValueError(f"claim id {id!r} is registered twice")
        REGISTRY[id] = ClaimSpec(id=id, kind=kind, quantifier=quantifier, source=source, statement=statement,
                                 check=check, run=fn, requires=tuple(requires))
        return fn

    return register


def discover(packages: Sequence[str]) -> dict[str, ClaimSpec]:
    """Import every ``<package>.*_claims`` and ``<package>.checks`` module (each registers its claims)."""
    for package in packages:
        path = importlib.import_module(package).__path__
        for module in pkgutil.iter_modules(path):
            if module.name.endswith("_claims") or module.name == "checks":
                importlib.import_module(f"{package}.{module.name}")
    return REGISTRY


def check_tables(tables: dict[str, list[dict]]) -> None:
    """Reject tables that cannot be stored as parquet: a name outside [A-Za-z0-9_]+, no rows, rows with different
    columns, or a column that is not all numbers or all strings."""
    for name, rows in tables.items():
        if not isinstance(name, str) or not TABLE_NAME.fullmatch(name):
            raise ValueError(f"table name {name!r} must match {TABLE_NAME.pattern}")
        if not rows or not all(isinstance(row, dict) for row in rows):
            raise ValueError(f"table {name!r} must be a non-empty list of dicts")
        columns = list(rows[0])
        for row in rows:
            if list(row) != columns:
                raise ValueError(f"table {name!r}: row columns {list(row)} differ from the first row's {columns}")
        for column in columns:
            values = [row[column] for row in rows]
            if not (all(isinstance(v, str) for v in values) or all(isinstance(v, numbers.Number) for v in values)):
                raise ValueError(f"table {name!r}: column {column!r} must be all numbers or all strings")


def verdict_of(judgements: Sequence[Judgement], names: Sequence[str]) -> tuple[Verdict, str]:
    """The claim's verdict and the reason for it, from its criteria's judgements (primary first)."""
    if not judgements:
        return "error", "the check returned no criterion"
    primary = judgements[0]
    if primary.status == "fail":
        return "fails", f"primary '{names[0]}' fails ({primary.reason})"
    if primary.status == "undecided":
        return "inconclusive", f"primary '{names[0]}' undecided ({primary.reason})"
    caveats = [f"'{n}' {j.status} ({j.reason})" for n, j in zip(names[1:], judgements[1:], strict=True)
               if j.status != "pass"]
    if caveats:
        return "holds-with-caveat", f"primary '{names[0]}' passes; " + "; ".join(caveats)
    return "holds", f"primary '{names[0]}' passes ({primary.reason})" + (
        f"; {len(judgements) - 1} secondary criteria pass" if len(judgements) > 1 else "")


def judge(spec: ClaimSpec, outcome: Outcome, seconds: float = 0.0) -> ClaimResult:
    """Apply the engine's rules to an outcome: the row of the ledger (NaN → ``error``, tables validated)."""
    criteria = list(outcome.criteria)
    check_tables(outcome.tables)
    if any(math.isnan(v) for c in criteria for v in (*c.value, *c.low, *c.high)):
        verdict, reason = "error", "non-finite or missing measurement"
        judgements = []
    else:
        judgements = [judge_criterion(c, spec.quantifier) for c in criteria]
        verdict, reason = verdict_of(judgements, [c.name for c in criteria])
    rows = []
    for index, c in enumerate(criteria):
        row = {"name": c.name, "direction": c.direction, "tolerance": float(c.tolerance), "interval": c.interval,
               "quantifier": c.quantifier or spec.quantifier, "instances": len(c.value)}
        if judgements:
            j = judgements[index]
            row |= {"status": j.status, "value": j.value, "low": j.low, "high": j.high, "informative": j.informative,
                    "worst": j.worst, "reason": j.reason}
        else:
            row |= {"status": "undecided", "value": math.nan, "low": math.nan, "high": math.nan}
        rows.append(row)
    return ClaimResult(id=spec.id, kind=spec.kind, quantifier=spec.quantifier, source=spec.source,
                       statement=spec.statement, check=spec.check, verdict=verdict, reason=reason, criteria=rows,
                       measured=outcome.measured, detail=outcome.detail, seconds=seconds, tables=outcome.tables)


def evaluate(spec: ClaimSpec, ctx: Context | None = None) -> ClaimResult:
    """Run one claim's check and judge it; an exception becomes verdict ``error`` with its traceback as detail."""
    ctx = ctx or Context()
    start = time.perf_counter()
    try:
        return judge(spec, spec.run(ctx), time.perf_counter() - start)
    except Exception as exc:  # a check that cannot run is reported, not hidden
        failed = judge(spec, Outcome([]), time.perf_counter() - start)
        failed.verdict, failed.reason = "error", f"the check raised {type(exc).__name__}: {exc}"
        failed.detail = traceback.format_exc(limit=4)
        return failed
