"""`python -m theory.verify`: the exact and learned claims of the ledger, printed and written to disk.

    python -m theory.verify                         # quick profile, instance seed 0, into results/claims/quick/
    python -m theory.verify --profile full          # larger instance sets, into results/claims/full/
    python -m theory.verify --seed 3                # fresh instance families, into results/claims/quick-seed3/
    python -m theory.verify --only 'avg.*'          # re-runs those claims; the other rows of the ledger are kept

Claims come from ``theory/*_claims.py`` (exact objects) and ``learned/*_claims.py`` (the suite's models checked
against them); the sweep checks (``sweeps/checks.py``) run in ``python -m sweeps.checks``.  Both use one registry,
one engine and one schema (core/ledger.py, core/ledger_report.py).  The verdicts must not depend on ``--seed``.

Exit status: 0 when every check ran (whatever the verdicts: a failing source claim is a finding),
1 when at least one check could not run (verdict ``error``), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import multiprocessing
import re
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

from core.ledger import PROFILES, Context, discover
from core.ledger_report import format_table, run_claims, write_ledger
from core.paths import results_root

CLAIM_PACKAGES = ("theory", "learned")  # the packages whose *_claims.py modules this command runs
CLAIMS_ROOT = results_root() / "claims"


def default_out(profile: str, seed: int, root: Path = CLAIMS_ROOT) -> Path:
    """results/claims/<profile> (seed 0) or results/claims/<profile>-seed<N>: runs never overwrite each other."""
    return root / (profile if seed == 0 else f"{profile}-seed{seed}")


def exact_claims(only: str | None = None) -> list:
    """The registered claims of CLAIM_PACKAGES (no sweep checks), sorted by id, filtered by ``only``."""
    registry = discover(CLAIM_PACKAGES)
    return [s for cid, s in sorted(registry.items()) if not s.requires and (only is None or re.search(only, cid))]


def evaluate_ids(ids: list[str], ctx: Context, threads: int) -> list:
    """One worker's share: the claims ``ids`` (one claim module, so its caches are shared) under ``ctx``."""
    torch.set_num_threads(threads)
    registry = discover(CLAIM_PACKAGES)
    return run_claims([registry[cid] for cid in ids], ctx)


def run_claims_in_processes(ids: list[str], ctx: Context, jobs: int, threads: int) -> list:
    """The claims ``ids`` evaluated by ``jobs`` processes, one claim module per task (claims of a module share
    cached measurements), biggest modules first; results in the order of ``ids``.  A verdict does not depend on the
    process that computed it: every random draw comes from ``ctx.rng``."""
    registry = discover(CLAIM_PACKAGES)
    by_module: dict[str, list[str]] = {}
    for cid in ids:
        by_module.setdefault(registry[cid].run.__module__, []).append(cid)
    groups = sorted(by_module.values(), key=len, reverse=True)
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        done = [result for batch in pool.map(evaluate_ids, groups, [ctx] * len(groups), [threads] * len(groups))
                for result in batch]
    order = {cid: index for index, cid in enumerate(ids)}
    return sorted(done, key=lambda result: order[result.id])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m theory.verify", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=PROFILES, default="quick", help="instance-set size")
    parser.add_argument("--seed", type=int, default=0, help="instance seed (0: the default families)")
    parser.add_argument("--only", default=None, help="regular expression on claim ids (re.search)")
    parser.add_argument("--out", type=Path, default=None, help="where claims.json/md go (default: see above)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (one per process, as every job)")
    parser.add_argument("--jobs", type=int, default=1, help="processes evaluating claim modules side by side")
    args = parser.parse_args(argv)
    if args.threads < 1 or args.jobs < 1:
        parser.error(f"--threads and --jobs must be at least 1, got {args.threads} and {args.jobs}")
    torch.set_num_threads(args.threads)
    if args.seed < 0:
        parser.error(f"--seed must be non-negative, got {args.seed}")
    specs = exact_claims(args.only)
    if not specs:
        parser.error(f"no claim id matches --only {args.only!r}; known ids: {', '.join(sorted(discover(()).keys()))}")
    out = args.out or default_out(args.profile, args.seed)
    ctx = Context(profile=args.profile, seed=args.seed)
    results = (run_claims(specs, ctx) if args.jobs == 1 else
               run_claims_in_processes([s.id for s in specs], ctx, args.jobs, args.threads))
    print(format_table(results))
    write_ledger(out, results, args.profile, args.seed, partial=args.only is not None)
    print(f"wrote {out / 'claims.json'}, {out / 'claims.md'} and the tables in {out / 'tables'}")
    errors = [r.id for r in results if r.verdict == "error"]
    if errors:
        print(f"checks that could not run: {', '.join(errors)}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
