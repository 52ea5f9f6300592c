"""Every registered claim has a planted positive and a planted negative control somewhere in tests/.

A test module declares the claims it controls in a module-level ``CONTROLLED_CLAIMS`` set; this test checks that
the union over tests/ covers the whole registry (exact, learned and sweep claims), so a claim added without its
controls fails here.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

from core.ledger import discover

TESTS = Path(__file__).resolve().parent
CLAIM_PACKAGES = ("theory", "learned", "sweeps")


def declared_controls(path: Path) -> set[str]:
    """The ``CONTROLLED_CLAIMS`` of one test module: a literal set, or else the value after importing the module."""
    for node in ast.parse(path.read_text()).body:
        targets = [t.id for t in getattr(node, "targets", []) if isinstance(t, ast.Name)]
        if isinstance(node, ast.Assign | ast.AnnAssign) and "CONTROLLED_CLAIMS" in (
                targets or [getattr(getattr(node, "target", None), "id", None)]):
            try:
                return set(ast.literal_eval(node.value))
            except ValueError:
                spec = importlib.util.spec_from_file_location(f"_controls_{path.stem}", path)
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                return set(module.CONTROLLED_CLAIMS)
    return set()


def test_every_registered_claim_has_controls():
    registered = set(discover(CLAIM_PACKAGES))
    controlled = set().union(*(declared_controls(path) for path in sorted(TESTS.glob("test_*.py"))))
    missing = sorted(registered - controlled)
    assert not missing, f"claims without planted positive/negative controls in tests/: {missing}"
    unknown = sorted(controlled - registered)
    assert not unknown, f"CONTROLLED_CLAIMS name claims that are not registered: {unknown}"
