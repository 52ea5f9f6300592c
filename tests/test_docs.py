"""The how-tos in docs/ run as written: every ```python block of docs/howto_*.md, in order, one namespace per file.

A how-to states its verdicts as ``assert <result>.verdict == "<verdict>"`` lines in its blocks; they run with the
blocks, and are checked again here on the namespace the blocks leave (so they hold even if asserts were stripped).
Test functions a how-to defines (its planted controls) are called too.

The blocks run against a scratch claims registry, as tests/test_ledger.py's ``scratch_registry`` fixture does: the
example claim of the add-a-claim how-to never enters ``core.ledger.REGISTRY``, so tests/test_controls.py and the
ledger are unaffected.  The working directory is a temporary one, so a how-to cannot leave files in the repository.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core import ledger

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CLAIM_MODULES = ("theory", "learned", "sweeps")  # where the suite's claims are declared
HOWTOS = sorted(DOCS.glob("howto_*.md"))
BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
STATED_VERDICT = re.compile(r"^assert (\w+)\.verdict == \"([a-z-]+)\"", re.MULTILINE)


def python_blocks(path: Path) -> list[str]:
    return BLOCK.findall(path.read_text(encoding="utf-8"))


def run_blocks(path: Path) -> dict:
    """Execute the file's python blocks in order in one fresh namespace; a failure names the block and its line."""
    namespace: dict = {"__name__": f"docs_{path.stem}"}
    for number, block in enumerate(python_blocks(path), start=1):
        exec(compile(block, f"{path.name}, python block {number}", "exec"), namespace)
    return namespace


def check_add_a_claim(namespace: dict, registered: dict) -> None:
    """The worked example declares every field, registers one claim under the example area, and lists its
    controls (a positive and a negative one at least)."""
    assert set(registered) == {"example.coin_mean_within_hoeffding"} == namespace["CONTROLLED_CLAIMS"]
    spec = registered["example.coin_mean_within_hoeffding"]
    assert (spec.kind, spec.quantifier) == ("seed", "for-all") and "Theorem 1" in spec.source
    assert sum(name.startswith("test_") for name in namespace) >= 2


def check_own_instance(namespace: dict, registered: dict) -> None:
    """Nothing is registered: the user's instance is judged, not added to the ledger."""
    assert registered == {}


EXTRA_CHECKS = {"howto_add_a_claim.md": check_add_a_claim, "howto_own_instance.md": check_own_instance}


def test_the_howtos_exist_and_have_code():
    assert {path.name for path in HOWTOS} >= set(EXTRA_CHECKS)
    for path in HOWTOS:
        blocks = python_blocks(path)
        assert blocks, f"{path.name} has no ```python block"
        assert any(STATED_VERDICT.search(block) for block in blocks), f"{path.name} states no verdict"


@pytest.mark.parametrize("path", HOWTOS, ids=[path.name for path in HOWTOS])
def test_howto_runs_and_its_verdicts_hold(path, monkeypatch, tmp_path):
    real_registry = dict(ledger.REGISTRY)
    monkeypatch.setattr(ledger, "REGISTRY", {})  # scratch registry: `claim` and `from core.ledger import REGISTRY`
    monkeypatch.chdir(tmp_path)
    namespace = run_blocks(path)
    registered = dict(ledger.REGISTRY)

    stated = [match for block in python_blocks(path) for match in STATED_VERDICT.findall(block)]
    for name, verdict in stated:
        assert namespace[name].verdict == verdict, f"{path.name}: {name} is {namespace[name].verdict}, not {verdict}"
    for key, control in namespace.items():
        if key.startswith("test_") and callable(control):
            control()
    EXTRA_CHECKS.get(path.name, lambda namespace, registered: None)(namespace, registered)

    monkeypatch.undo()
    assert ledger.REGISTRY == real_registry, "a how-to changed the suite's claims registry"
    suite_sources = [module.read_text(encoding="utf-8") for package in CLAIM_MODULES
                     for module in sorted((ROOT / package).glob("*.py"))]
    for claim_id in registered:  # the suite's registry may not be fully imported yet: search the declarations
        assert claim_id not in ledger.REGISTRY and not any(claim_id in text for text in suite_sources), \
            f"{path.name}: example claim id {claim_id!r} collides with a claim of the suite"
    assert not any(tmp_path.iterdir()), f"{path.name} left files behind: {sorted(p.name for p in tmp_path.iterdir())}"
