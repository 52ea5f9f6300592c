"""Pinned verdicts of the exact and learned claims, and their independence of the instance seed.

tests/expected_verdicts.json holds the verdict of every claim of ``python -m theory.verify`` (quick profile).  A
change that moves a verdict must say so by updating the file (``UPDATE_VERDICTS=1 python -m pytest
tests/test_verdict_stability.py``) and the commit then shows the move.  Fresh instance families (``--seed N``) must
give the same verdicts: a verdict that depends on which random instances were drawn is right by luck.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from functools import cache
from pathlib import Path

import pytest

from core.ledger import Context
from core.ledger_report import run_claims
from core.runio import torch_threads
from theory.verify import exact_claims

EXPECTED = Path(__file__).with_name("expected_verdicts.json")
DEFAULT_SEEDS = (0, 1)  # the seeds the default (not slow) tests read


def ledger_verdicts(seed: int) -> dict[str, str]:
    with torch_threads(1):
        results = run_claims(exact_claims(), Context("quick", seed), progress=False)
    return {r.id: r.verdict for r in results}


@cache
def default_run() -> dict[int, dict[str, str]]:
    """The quick ledger at the default seed and at seed 1, in two processes at once (one thread each: the two cores
    of the CI machine), since the default tests need both."""
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        return dict(zip(DEFAULT_SEEDS, pool.map(ledger_verdicts, DEFAULT_SEEDS), strict=True))


def verdicts(seed: int) -> dict[str, str]:
    return default_run()[seed] if seed in DEFAULT_SEEDS else ledger_verdicts(seed)


def test_pinned_verdicts_at_the_default_seed():
    found = verdicts(0)
    if os.environ.get("UPDATE_VERDICTS"):
        EXPECTED.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
    expected = json.loads(EXPECTED.read_text())
    moved = {cid: f"{expected.get(cid)} -> {v}" for cid, v in found.items() if expected.get(cid) != v}
    gone = sorted(set(expected) - set(found))
    assert not moved and not gone, f"verdicts moved: {moved}; claims gone: {gone} (UPDATE_VERDICTS=1 to re-pin)"
    assert "error" not in found.values()


@pytest.mark.parametrize("seed", [1])
def test_fresh_instances_give_the_same_verdicts(seed):
    differ = {cid: f"seed 0: {v}, seed {seed}: {verdicts(seed)[cid]}" for cid, v in verdicts(0).items()
              if verdicts(seed)[cid] != v}
    assert not differ, f"verdicts that depend on the instance seed: {differ}"


@pytest.mark.slow
@pytest.mark.parametrize("seed", [2, 3])
def test_fresh_instances_give_the_same_verdicts_slow(seed):
    test_fresh_instances_give_the_same_verdicts(seed)
