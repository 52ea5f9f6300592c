"""`python -m theory.verify`: run every registered claim, print the ledger, write claims.json + claims.md.

    python -m theory.verify                         # quick profile, all claims, into results/claims/
    python -m theory.verify --profile full          # larger instance sets
    python -m theory.verify --only 'avg.*' --out /tmp/ledger

The tables a check returns go to ``<out>/tables/<claim id>.<table name>.parquet``; claims.json lists them per
claim (paths relative to <out>), and the figures read them from there.  Before a claim's tables are written, its
tables of an earlier run are deleted, so a table that a check no longer returns cannot survive silently.

Exit status: 0 when every check ran (whatever the verdicts: a failing seed claim is a finding),
1 when at least one check could not run (verdict ``error``), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import glob
import io
import re
import sys
from pathlib import Path

import pandas as pd

from theory.claims import PROFILES, ClaimResult, discover, evaluate
from toy.runio import atomic_write_bytes, atomic_write_json, atomic_write_text, environment

TABLES = "tables"


def _cell(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def format_table(results: list[ClaimResult]) -> str:
    """Fixed-width table for the terminal: id, verdict, measured vs tolerance, source."""
    header = f"{'claim':<34} {'verdict':<18} {'measured (tolerance)':<62} source"
    lines = [header, "-" * len(header)]
    for r in results:
        measured = "; ".join(
            f"{c['name']}={c['value']:.3g} ({c['direction']}{c['tolerance']:.3g})" for c in r.criteria
        )
        lines.append(f"{_cell(r.id, 34):<34} {r.verdict:<18} {_cell(measured, 62):<62} {_cell(r.source, 40)}")
    counts = {v: sum(r.verdict == v for r in results) for v in ("holds", "holds-with-caveat", "fails", "error")}
    lines.append("-" * len(header))
    lines.append("  ".join(f"{k}: {n}" for k, n in counts.items()) + f"  (total {len(results)})")
    return "\n".join(lines)


def format_markdown(results: list[ClaimResult], profile: str, title: str = "Claims ledger") -> str:
    """claims.md: the summary table, then every claim with its statement, check, numbers and detail."""
    out = [f"# {title} (profile `{profile}`)", "", "| claim | kind | verdict | measured | tolerance | source |",
           "|---|---|---|---|---|---|"]
    for r in results:
        out.append(f"| `{r.id}` | {r.kind} | **{r.verdict}** | {r.measured_text} | {r.tolerance_text} | {r.source} |")
    for r in results:
        out += ["", f"## `{r.id}`: {r.verdict}", "", f"*Source:* {r.source}", "", f"*Statement:* {r.statement}",
                "", f"*Check:* {r.check}", ""]
        out += [f"- {c['name']} = {c['value']:.6g} (tolerance {c['direction']} {c['tolerance']:.3g}: "
                f"{'passes' if c['passed'] else 'FAILS'})" for c in r.criteria]
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
        buffer = io.BytesIO()
        pd.DataFrame(rows).to_parquet(buffer, index=False)
        atomic_write_bytes(out / relative, buffer.getvalue())
        written[name] = relative.as_posix()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m theory.verify", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=PROFILES, default="quick", help="instance-set size")
    parser.add_argument("--only", default=None, help="regular expression on claim ids (re.search)")
    parser.add_argument("--out", type=Path, default=Path("results/claims"), help="where claims.json/md go")
    args = parser.parse_args(argv)

    registry = discover()
    specs = [s for cid, s in sorted(registry.items()) if args.only is None or re.search(args.only, cid)]
    if not specs:
        parser.error(f"no claim id matches --only {args.only!r}; known ids: {', '.join(sorted(registry))}")

    results = []
    for spec in specs:
        result = evaluate(spec, args.profile)
        print(f"[{result.seconds:6.1f}s] {result.id}: {result.verdict}", file=sys.stderr, flush=True)
        results.append(result)

    print(format_table(results))
    table_paths = {r.id: write_tables(args.out, r) for r in results}
    payload = {
        "profile": args.profile,
        "environment": environment(),
        "claims": [{**vars(r), "tables": table_paths[r.id]} for r in results],
    }
    atomic_write_json(args.out / "claims.json", payload)
    atomic_write_text(args.out / "claims.md", format_markdown(results, args.profile))
    n_tables = sum(map(len, table_paths.values()))
    print(f"wrote {args.out / 'claims.json'}, {args.out / 'claims.md'} and {n_tables} table(s) in {args.out / TABLES}")
    errors = [r.id for r in results if r.verdict == "error"]
    if errors:
        print(f"checks that could not run: {', '.join(errors)}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
