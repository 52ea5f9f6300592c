"""Formatting and writing of a claims ledger: the terminal table, claims.md, claims.json and the per-claim tables.

One schema for every ledger the suite writes (exact claims, learned claims, sweep checks):

    <out>/claims.json   {"profile", "seed", "environment", "tally": {kind: {verdict: n}}, "claims": [row, ...]}
    <out>/claims.md     the tally per kind, the table (kind and quantifier shown), then each claim in full
    <out>/tables/<claim id>.<table name>.parquet   the per-point numbers a check returned (figures read them)

Before a claim's tables are written, its tables of an earlier run are deleted, so a table that a check no longer
returns cannot survive silently.
"""

from __future__ import annotations

import glob
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from core.ledger import KINDS, VERDICTS, ClaimResult, ClaimSpec, Context, evaluate
from core.runio import atomic_write_json, atomic_write_text, environment, write_parquet

TABLES = "tables"
EVIDENCE_NOTE = "identity rows are implementation checks of algebra: reported, never counted as evidence"


def _cell(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def tally(results: Sequence[ClaimResult]) -> dict[str, dict[str, int]]:
    """kind -> verdict -> count (every kind and verdict present, zeros included)."""
    return {kind: {v: sum(r.kind == kind and r.verdict == v for r in results) for v in VERDICTS} for kind in KINDS}


def tally_lines(results: Sequence[ClaimResult]) -> list[str]:
    """'source statements: 3 hold, 1 holds with caveat, 2 fail, 1 inconclusive, 0 error' per kind with claims."""
    words = {"holds": "hold", "holds-with-caveat": "hold with caveat", "fails": "fail", "inconclusive": "inconclusive",
             "error": "error"}
    lines = []
    for kind, counts in tally(results).items():
        if sum(counts.values()):
            label = {"source": "source statements", "reading": "readings", "derived": "derived statements",
                     "identity": "identities (not evidence)"}[kind]
            lines.append(f"{label}: " + ", ".join(f"{n} {words[v]}" for v, n in counts.items()))
    return lines


def _measured(criteria: list[dict], width: int = 3) -> str:
    def one(c: dict) -> str:
        if c["value"] is None or c["value"] != c["value"]:  # no informative instance: nothing was measured
            return f"{c['name']}=– ({c['direction']}{c['tolerance']:.3g})"
        interval = "" if c.get("interval", "exact") == "exact" or c["low"] == c["high"] else \
            f" [{c['low']:.{width}g}, {c['high']:.{width}g}]"
        return f"{c['name']}={c['value']:.{width}g}{interval} ({c['direction']}{c['tolerance']:.3g})"

    return "; ".join(one(c) for c in criteria)


def format_table(results: Sequence[ClaimResult]) -> str:
    """Fixed-width table for the terminal: id, kind, quantifier, verdict, measured vs tolerance; tally per kind."""
    header = f"{'claim':<44} {'kind':<9} {'quant.':<10} {'verdict':<17} measured [interval] (tolerance)"
    lines = [header, "-" * 140]
    for r in results:
        lines.append(f"{_cell(r.id, 44):<44} {r.kind:<9} {r.quantifier:<10} {r.verdict:<17} "
                     f"{_cell(_measured(r.criteria), 58)}")
    lines += ["-" * 140, *tally_lines(results), f"({EVIDENCE_NOTE})"]
    return "\n".join(lines)


def format_markdown(results: Sequence[ClaimResult], profile: str, seed: int = 0, title: str = "Claims ledger") -> str:
    """claims.md: tally per kind, the summary table, then every claim with statement, check, numbers and detail."""
    out = [f"# {title} (profile `{profile}`, instance seed {seed})", "",
           *[f"- {line}" for line in tally_lines(results)], f"- ({EVIDENCE_NOTE})", "",
           "| claim | kind | quantifier | verdict | measured [interval] (tolerance) | source |",
           "|---|---|---|---|---|---|"]
    for r in results:
        out.append(f"| `{r.id}` | {r.kind} | {r.quantifier} | **{r.verdict}** | {_measured(r.criteria, 4)} | "
                   f"{r.source} |")
    for r in results:
        out += ["", f"## `{r.id}`: {r.verdict}", "", f"*Kind:* {r.kind}; *quantifier:* {r.quantifier}; *source:* "
                f"{r.source}", "", f"*Statement:* {r.statement}", "", f"*Check:* {r.check}", "", f"*Why:* {r.reason}",
                ""]
        out += [f"- {c['name']}: {c['status']}, {c.get('reason', '')} (interval: {c['interval']})" for c in r.criteria]
        if r.detail:
            out += ["", r.detail.strip()]
    return "\n".join(out) + "\n"


def claim_tables_on_disk(out: Path, claim_id: str) -> list[Path]:
    """The files <out>/tables/<claim_id>.<name>.parquet (name without dots, so no other claim's table matches)."""
    prefix = f"{claim_id}."
    return sorted(path for path in (out / TABLES).glob(f"{glob.escape(prefix)}*.parquet")
                  if "." not in path.name.removeprefix(prefix).removesuffix(".parquet"))


def write_tables(out: Path, result: ClaimResult) -> dict[str, str]:
    """Replace the claim's stored tables by ``result.tables``; returns name -> path relative to ``out``."""
    for stale in claim_tables_on_disk(out, result.id):
        stale.unlink()
    written = {}
    for name, rows in result.tables.items():
        relative = Path(TABLES) / f"{result.id}.{name}.parquet"
        write_parquet(pd.DataFrame(rows), out / relative)
        written[name] = relative.as_posix()
    return written


def json_safe(obj):
    """``obj`` with every non-finite float made JSON-storable: NaN -> None (no number), ±inf -> "inf" / "-inf"
    (an unbounded interval end, e.g. a slope fitted through two points)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if isinstance(obj, dict):
        return {key: json_safe(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(value) for value in obj]
    return obj


def kept_entries(out: Path, profile: str, seed: int, replaced: set[str]) -> list[dict]:
    """The rows of an existing <out>/claims.json of the same profile and seed whose claims are not ``replaced``:
    a partial run (``--only``) updates its claims and keeps the others (and their tables) instead of dropping them."""
    path = Path(out) / "claims.json"
    if not path.exists():
        return []
    try:
        old = json.loads(path.read_text())
        if old.get("profile") != profile or old.get("seed", 0) != seed:
            return []
        return [entry for entry in old["claims"] if entry["id"] not in replaced]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path} is not a claims ledger ({type(exc).__name__}: {exc}); move it away or remake it "
                         "without --only") from exc


def write_ledger(out: Path, results: Sequence[ClaimResult], profile: str, seed: int = 0,
                 title: str = "Claims ledger", extra: dict | None = None, partial: bool = False) -> None:
    """claims.json + claims.md + tables/ under ``out`` (see the module docstring for the schema).  ``partial``: the
    results are a subset (``--only``); rows of other claims already in <out>/claims.json are kept."""
    out = Path(out)
    kept = kept_entries(out, profile, seed, {r.id for r in results}) if partial else []
    table_paths = {r.id: write_tables(out, r) for r in results}
    rows = sorted([*kept, *({**vars(r), "tables": table_paths[r.id]} for r in results)], key=lambda e: e["id"])
    everything = [ClaimResult(**{**entry, "tables": {}}) for entry in rows]
    payload = {"profile": profile, "seed": seed, **(extra or {}), "environment": environment(),
               "tally": tally(everything), "claims": rows}
    atomic_write_json(out / "claims.json", json_safe(payload))
    atomic_write_text(out / "claims.md", format_markdown(everything, profile, seed, title))


def run_claims(specs: Sequence[ClaimSpec], ctx: Context, progress: bool = True) -> list[ClaimResult]:
    """Evaluate ``specs`` in order under ``ctx``, printing one progress line per claim to stderr."""
    results = []
    for spec in specs:
        result = evaluate(spec, ctx)
        if progress:
            print(f"[{result.seconds:6.1f}s] {result.id}: {result.verdict}", file=sys.stderr, flush=True)
        results.append(result)
    return results
