"""The claims ledger: every theory check of the suite registers here and gets a computed verdict.

A claim is one statement from a source document (a step of a proof, a theorem, an implication) or
a "nearest true statement" the suite derives.  Its check function measures numbers and returns
`Criterion` objects, each a measured value against a stated tolerance.  The verdict is computed
from those, never typed in:

* ``holds``              every criterion passes;
* ``holds-with-caveat``  the primary (first) criterion passes and at least one secondary fails;
* ``fails``              the primary criterion fails;
* ``error``              the check could not run (it raised, or a measured value is NaN).

A seed claim that ``fails`` is a finding, not an error: `python -m theory.verify` exits non-zero
only for ``error``.

Modules register claims with the `claim` decorator at import time; `discover()` imports every
``theory/*_claims.py`` module so that a new family of claims needs no edit here.

A check may also return *tables* (`Outcome.tables`): per-point numbers behind its criteria (one row per random
instance, per horizon H, ...), rows of plain numbers and strings.  `python -m theory.verify` stores each as
``<out>/tables/<claim id>.<table name>.parquet`` and lists the files in claims.json, so a figure can draw exactly
the numbers the verdict was computed from (figures/common.py `load_ledger`).
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
from dataclasses import asdict, dataclass, field
from typing import Literal

Direction = Literal["<=", ">="]
Verdict = Literal["holds", "holds-with-caveat", "fails", "error"]
PROFILES = ("quick", "full")
TABLE_NAME = re.compile(r"[A-Za-z0-9_]+")  # no dot: the file name <claim id>.<table name>.parquet stays unambiguous


@dataclass(frozen=True)
class Criterion:
    """One measured number against its tolerance: passes iff ``value <direction> tolerance``."""

    name: str
    value: float
    tolerance: float
    direction: Direction = "<="

    def __post_init__(self) -> None:
        if self.direction not in ("<=", ">="):
            raise ValueError(f"Criterion {self.name!r}: direction must be '<=' or '>=', got {self.direction!r}")

    @property
    def passed(self) -> bool:
        if self.direction == "<=":
            return bool(self.value <= self.tolerance)
        return bool(self.value >= self.tolerance)

    def describe(self) -> str:
        mark = "ok" if self.passed else "FAIL"
        return f"{self.name} = {self.value:.3g} ({self.direction} {self.tolerance:.3g}: {mark})"


@dataclass
class Outcome:
    """What a check returns: criteria (primary first), extra measured numbers, a plain-words detail, and
    tables (name -> rows; each row a dict of plain numbers/strings, every row with the same columns)."""

    criteria: Sequence[Criterion]
    measured: dict = field(default_factory=dict)
    detail: str = ""
    tables: dict[str, list[dict]] = field(default_factory=dict)


def compute_verdict(criteria: Sequence[Criterion]) -> Verdict:
    """Verdict from measured criteria; NaN or no criteria means the check did not produce a number."""
    if not criteria or any(not math.isfinite(c.value) for c in criteria):
        return "error"
    if not criteria[0].passed:
        return "fails"
    return "holds" if all(c.passed for c in criteria[1:]) else "holds-with-caveat"


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


@dataclass(frozen=True)
class ClaimSpec:
    """A registered claim: identity, provenance, statement, how it is checked, and the check itself."""

    id: str
    source: str
    statement: str
    check: str
    run: Callable[[str], Outcome]
    kind: Literal["seed", "derived"] = "seed"


@dataclass
class ClaimResult:
    """A claim after its check ran: the ledger row written to claims.json / claims.md."""

    id: str
    source: str
    statement: str
    check: str
    kind: str
    verdict: Verdict
    criteria: list[dict]
    measured: dict
    detail: str
    seconds: float
    tables: dict[str, list[dict]] = field(default_factory=dict)

    @property
    def tolerance_text(self) -> str:
        return "; ".join(f"{c['name']} {c['direction']} {c['tolerance']:.3g}" for c in self.criteria)

    @property
    def measured_text(self) -> str:
        return "; ".join(f"{c['name']} = {c['value']:.4g}" for c in self.criteria)


REGISTRY: dict[str, ClaimSpec] = {}


def claim(*, id: str, source: str, statement: str, check: str, kind: Literal["seed", "derived"] = "seed"):
    """Decorator registering ``fn(profile) -> Outcome`` as the check of a claim."""

    def register(fn: Callable[[str], Outcome]) -> Callable[[str], Outcome]:
        if id in REGISTRY and REGISTRY[id].run is not fn:
            raise ValueError(f"claim id {id!r} is registered twice")
        REGISTRY[id] = ClaimSpec(id=id, source=source, statement=statement, check=check, run=fn, kind=kind)
        return fn

    return register


def discover() -> dict[str, ClaimSpec]:
    """Import every ``theory.*_claims`` module (each registers its claims) and return the registry."""
    import theory

    for module in pkgutil.iter_modules(theory.__path__):
        if module.name.endswith("_claims"):
            importlib.import_module(f"theory.{module.name}")
    return REGISTRY


def evaluate(spec: ClaimSpec, profile: str = "quick") -> ClaimResult:
    """Run one claim's check and compute its verdict; an exception becomes verdict ``error``."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    start = time.perf_counter()
    try:
        outcome = spec.run(profile)
        criteria = list(outcome.criteria)
        verdict = compute_verdict(criteria)
        detail = outcome.detail if verdict != "error" else f"non-finite or missing measurement. {outcome.detail}"
        measured, tables = outcome.measured, outcome.tables
        check_tables(tables)
    except Exception as exc:  # a check that cannot run is reported, not hidden
        criteria, measured, tables, verdict = [], {}, {}, "error"
        detail = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"
    return ClaimResult(
        id=spec.id,
        source=spec.source,
        statement=spec.statement,
        check=spec.check,
        kind=spec.kind,
        verdict=verdict,
        criteria=[{**asdict(c), "passed": c.passed} for c in criteria],
        measured=measured,
        detail=detail,
        seconds=time.perf_counter() - start,
        tables=tables,
    )
