"""The ledger's verdicts are computed from numbers: push a number past its tolerance and the verdict flips."""

import json
import math

import pytest

from theory import claims as ledger
from theory.claims import Criterion, Outcome, compute_verdict, evaluate
from theory.verify import main as verify_main


@pytest.mark.parametrize("direction", ["<=", ">="])
def test_verdict_flips_at_tolerance(direction):
    tol = 1e-6
    inside = tol * (0.5 if direction == "<=" else 2.0)
    outside = tol * (2.0 if direction == "<=" else 0.5)
    assert compute_verdict([Criterion("x", inside, tol, direction)]) == "holds"
    assert compute_verdict([Criterion("x", outside, tol, direction)]) == "fails"


def test_secondary_failure_is_a_caveat_and_primary_failure_dominates():
    ok, bad = Criterion("a", 0.0, 1.0), Criterion("b", 2.0, 1.0)
    assert compute_verdict([ok, ok]) == "holds"
    assert compute_verdict([ok, bad]) == "holds-with-caveat"
    assert compute_verdict([bad, ok]) == "fails"


def test_nan_or_nothing_measured_is_an_error_not_a_verdict():
    assert compute_verdict([Criterion("a", math.nan, 1.0)]) == "error"
    assert compute_verdict([]) == "error"


def test_bad_direction_is_rejected():
    with pytest.raises(ValueError, match="direction"):
        Criterion("a", 0.0, 1.0, "<")


@pytest.fixture
def scratch_registry(monkeypatch):
    monkeypatch.setattr(ledger, "REGISTRY", {})
    monkeypatch.setattr(ledger, "discover", lambda: ledger.REGISTRY)
    monkeypatch.setattr("theory.verify.discover", lambda: ledger.REGISTRY)
    return ledger.REGISTRY


def test_raising_check_is_error_and_verify_exits_nonzero(scratch_registry, tmp_path):
    @ledger.claim(id="t.ok", source="test", statement="s", check="c")
    def _ok(profile):
        return Outcome([Criterion("gap", 0.1, 0.2)], measured={"n": 3})

    @ledger.claim(id="t.boom", source="test", statement="s", check="c")
    def _boom(profile):
        raise RuntimeError("instance generator broke")

    assert evaluate(scratch_registry["t.boom"]).verdict == "error"
    assert "instance generator broke" in evaluate(scratch_registry["t.boom"]).detail
    assert verify_main(["--out", str(tmp_path)]) == 1
    written = json.loads((tmp_path / "claims.json").read_text())
    assert {c["id"]: c["verdict"] for c in written["claims"]} == {"t.ok": "holds", "t.boom": "error"}
    assert verify_main(["--out", str(tmp_path), "--only", "t.ok"]) == 0
    assert "**holds**" in (tmp_path / "claims.md").read_text()


def test_failing_claim_is_a_finding_not_an_error(scratch_registry, tmp_path):
    @ledger.claim(id="t.false", source="test", statement="s", check="c")
    def _false(profile):
        return Outcome([Criterion("gap", 5.0, 1e-8)])

    assert verify_main(["--out", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "claims.json").read_text())["claims"][0]["verdict"] == "fails"


def test_duplicate_claim_id_is_rejected(scratch_registry):
    ledger.claim(id="t.dup", source="s", statement="s", check="c")(lambda p: Outcome([]))
    with pytest.raises(ValueError, match="registered twice"):
        ledger.claim(id="t.dup", source="s", statement="s", check="c")(lambda p: Outcome([]))


@pytest.mark.parametrize("tables, message", [
    ({"a.b": [{"x": 1.0}]}, "must match"),  # a dot would make <claim id>.<name>.parquet ambiguous
    ({"rows": []}, "non-empty"),
    ({"rows": [{"x": 1.0}, {"y": 2.0}]}, "differ"),
    ({"rows": [{"x": 1.0}, {"x": "one"}]}, "all numbers or all strings"),
])
def test_a_table_that_cannot_be_stored_makes_the_check_an_error(scratch_registry, tables, message):
    @ledger.claim(id="t.tables", source="test", statement="s", check="c")
    def _tables(profile):
        return Outcome([Criterion("gap", 0.1, 0.2)], tables=tables)

    result = evaluate(scratch_registry["t.tables"])
    assert result.verdict == "error" and message in result.detail and result.tables == {}
