"""The ledger engine (core/ledger.py): intervals decide, quantifiers are applied by the engine, kinds are reported.

Every rule is tested where it can flip: a number pushed across its tolerance, an interval moved from one side to
straddling to the other, a quantifier applied to hand-made instance lists.
"""

import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import ledger
from core.intervals import bootstrap_interval, proportion_interval, slope_interval, t_interval, wilson
from core.ledger import ClaimSpec, Context, Criterion, Outcome, evaluate, instance_status, judge, judge_criterion
from core.ledger_report import format_markdown, run_claims, tally
from theory.verify import main as verify_main


def spec(quantifier="for-all", kind="source", run=lambda ctx: Outcome([])) -> ClaimSpec:
    return ClaimSpec(id="t.claim", kind=kind, quantifier=quantifier, source="test §1", statement="s", check="c",
                     run=run)


def verdict(*criteria, quantifier="for-all") -> str:
    return judge(spec(quantifier), Outcome(list(criteria))).verdict


@pytest.mark.parametrize("direction", ["<=", ">="])
def test_exact_value_flips_exactly_at_the_tolerance(direction):
    tol = 1e-6
    inside, outside = (tol * 0.999, tol * 1.001) if direction == "<=" else (tol * 1.001, tol * 0.999)
    assert verdict(Criterion("x", inside, tol, direction)) == "holds"
    assert verdict(Criterion("x", tol, tol, direction)) == "holds"  # on the tolerance: inside
    assert verdict(Criterion("x", outside, tol, direction)) == "fails"


@pytest.mark.parametrize("direction", ["<=", ">="])
def test_an_interval_decides_only_when_all_of_it_is_on_one_side(direction):
    below, above = (0.04, 0.049), (0.051, 0.06)
    right, wrong = (below, above) if direction == "<=" else (above, below)
    assert verdict(Criterion("x", np.mean(right), 0.05, direction, low=right[0], high=right[1])) == "holds"
    assert verdict(Criterion("x", 0.051, 0.05, direction, low=0.045, high=0.056)) == "inconclusive"
    assert verdict(Criterion("x", 0.049, 0.05, direction, low=0.045, high=0.056)) == "inconclusive"
    assert verdict(Criterion("x", np.mean(wrong), 0.05, direction, low=wrong[0], high=wrong[1])) == "fails"


@given(value=st.floats(-10, 10), width=st.floats(0, 5), tol=st.floats(-10, 10))
def test_instance_status_is_consistent_with_the_interval(value, width, tol):
    low, high = value - width, value + width
    status = instance_status(low, high, tol, "<=")
    assert status == ("pass" if high <= tol else "fail" if low > tol else "undecided")
    mirrored = instance_status(-high, -low, -tol, ">=")  # x <= t  <=>  -x >= -t
    assert mirrored == status


def test_for_all_fails_on_one_failing_instance_and_degenerate_passes_cannot_rescue_it():
    values = [1e-16, -2e-16, 0.07]  # two degenerate instances that pass, one that violates
    assert verdict(Criterion("gap", values, 1e-9)) == "fails"
    assert verdict(Criterion("gap", values[:2], 1e-9)) == "holds"


def test_for_all_with_an_undecided_instance_and_no_failure_is_inconclusive():
    c = Criterion("acc", [0.99, 0.97], 0.95, ">=", low=[0.98, 0.94], high=[1.0, 0.99])
    assert verdict(c) == "inconclusive"


def test_exists_needs_one_decided_pass_and_fails_only_when_all_fail():
    assert verdict(Criterion("x", [5.0, 0.5], 1.0), quantifier="exists") == "holds"
    assert verdict(Criterion("x", [5.0, 2.0], 1.0), quantifier="exists") == "fails"
    assert verdict(Criterion("x", [5.0, 0.9], 1.0, low=[4.0, 0.8], high=[6.0, 1.2]), quantifier="exists") \
        == "inconclusive"


def test_on_average_uses_the_mean_and_its_t_interval():
    tight = Criterion("x", [0.10, 0.11, 0.09, 0.10], 0.2)
    assert verdict(tight, quantifier="on-average") == "holds"
    assert verdict(Criterion("x", [0.3, 0.31, 0.29], 0.2), quantifier="on-average") == "fails"
    noisy = Criterion("x", [0.0, 0.4, 0.1, 0.35], 0.2)  # mean 0.21, wide interval
    assert verdict(noisy, quantifier="on-average") == "inconclusive"
    assert verdict(Criterion("x", [0.0, 0.3], 0.2), quantifier="for-all") == "fails"


def test_criterion_quantifier_overrides_the_claims():
    c = Criterion("x", [5.0, 0.5], 1.0, quantifier="exists")
    assert verdict(c, quantifier="for-all") == "holds"


def test_no_informative_instance_is_inconclusive_never_a_pass():
    vacuous = Criterion("TV / bound", [0.3, 0.2], 1.0, informative=[False, False])
    assert verdict(vacuous) == "inconclusive"
    assert verdict(Criterion("x", [], 1.0)) == "inconclusive"  # no qualifying data
    partly = Criterion("TV / bound", [0.3, 2.0], 1.0, informative=[True, False])
    assert verdict(partly) == "holds"  # the violating instance was vacuous: left out, not a counterexample


def test_secondary_failure_or_indecision_is_a_caveat_and_the_primary_dominates():
    ok, bad = Criterion("a", 0.0, 1.0), Criterion("b", 2.0, 1.0)
    undecided = Criterion("c", 1.0, 1.0, low=0.5, high=1.5)
    assert verdict(ok, ok) == "holds"
    assert verdict(ok, bad) == "holds-with-caveat"
    assert verdict(ok, undecided) == "holds-with-caveat"
    assert verdict(bad, ok) == "fails"
    assert verdict(undecided, ok) == "inconclusive"


def test_nan_or_nothing_measured_is_an_error_not_a_verdict():
    assert verdict(Criterion("a", math.nan, 1.0)) == "error"
    assert verdict(Criterion("a", 0.5, 1.0, low=math.nan, high=0.7)) == "error"
    assert verdict() == "error"


def test_infinite_interval_ends_are_allowed_and_undecided():
    c = Criterion("slope", 0.5, 0.25, low=-math.inf, high=math.inf)
    assert judge_criterion(c, "for-all").status == "undecided"


@pytest.mark.parametrize("kwargs, message", [
    ({"direction": "<"}, "direction"),
    ({"quantifier": "most"}, "quantifier"),
    ({"low": [0.0, 0.0]}, "low entries"),
    ({"low": 0.6, "high": 0.9}, "does not contain"),
])
def test_malformed_criteria_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Criterion("a", 0.5, 1.0, **kwargs)


# "seed" is not a kind: the word means a random seed only (a source statement is kind "source")
@pytest.mark.parametrize("field, value", [("kind", "folklore"), ("kind", "seed"), ("quantifier", "most"),
                                          ("source", " ")])
def test_malformed_claims_are_rejected(field, value):
    arguments = dict(id="t.bad", kind="source", quantifier="for-all", source="s", statement="s", check="c",
                     run=lambda ctx: Outcome([]))
    with pytest.raises(ValueError, match=field):
        ClaimSpec(**{**arguments, field: value})


def test_context_seed_redraws_instances_and_seed_zero_is_the_default_stream():
    assert np.random.default_rng(7).random() == Context().rng(7).random()
    assert Context(seed=1).rng(7).random() != Context(seed=2).rng(7).random()
    with pytest.raises(ValueError, match="seed"):
        Context(seed=-1)
    with pytest.raises(ValueError, match="profile"):
        Context(profile="huge")


def test_tally_counts_kinds_and_identities_are_shown_as_not_evidence():
    results = [judge(spec(kind=k), Outcome([Criterion("x", v, 1.0)])) for k, v in
               (("source", 0.5), ("source", 2.0), ("identity", 0.0), ("derived", 0.5))]
    counts = tally(results)
    assert counts["source"]["holds"] == 1 and counts["source"]["fails"] == 1 and counts["identity"]["holds"] == 1
    text = format_markdown(results, "quick")
    assert "source statements: 1 hold, 0 hold with caveat, 1 fail" in text and "identities (not evidence)" in text


# --- intervals --------------------------------------------------------------------------------------------------

def test_wilson_covers_the_truth_at_its_nominal_rate():
    rng = np.random.default_rng(0)
    p, n, trials = 0.1, 200, 4000
    hits = sum(lo <= p <= hi for lo, hi in (wilson(rng.binomial(n, p), n) for _ in range(trials)))
    # Coverage 95% nominal; a Monte Carlo 99.9% band around it for 4000 trials is about ±0.011.
    assert 0.935 <= hits / trials <= 0.965
    assert wilson(0, 512)[1] == pytest.approx(0.0075, abs=5e-4)  # zero failures still leave an upper bound
    assert proportion_interval(0.5, 100) == wilson(50, 100)


def test_t_interval_and_slope_interval_cover_planted_values():
    mean, low, high = t_interval([1.0, 2.0, 3.0])
    assert mean == 2.0 and low < 2.0 < high and high - low == pytest.approx(2 * 4.303 * (1 / np.sqrt(3)), rel=1e-3)
    rng = np.random.default_rng(1)
    x = np.linspace(0, 1, 30)
    slope, low, high = slope_interval(x, 2.5 * x + rng.normal(0, 0.01, x.size))
    assert low < 2.5 < high and high - low < 0.05
    assert slope_interval([0, 1], [0, 1])[1:] == (-math.inf, math.inf)
    with pytest.raises(ValueError, match="at least 2"):
        t_interval([1.0])


def test_bootstrap_interval_brackets_the_sample_mean():
    values = np.random.default_rng(2).normal(3.0, 1.0, 200)
    low, high = bootstrap_interval(values, np.mean, np.random.default_rng(3), resamples=500)
    assert low < values.mean() < high and high - low < 0.5


# --- the command ------------------------------------------------------------------------------------------------

@pytest.fixture
def scratch_registry(monkeypatch):
    monkeypatch.setattr(ledger, "REGISTRY", {})
    monkeypatch.setattr("theory.verify.discover", lambda packages: ledger.REGISTRY)
    return ledger.REGISTRY


def test_raising_check_is_error_and_verify_exits_nonzero(scratch_registry, tmp_path):
    @ledger.claim(id="t.ok", kind="source", quantifier="for-all", source="test", statement="s", check="c")
    def _ok(ctx):
        return Outcome([Criterion("gap", 0.1, 0.2)], measured={"n": 3})

    @ledger.claim(id="t.boom", kind="source", quantifier="for-all", source="test", statement="s", check="c")
    def _boom(ctx):
        raise RuntimeError("instance generator broke")

    assert evaluate(scratch_registry["t.boom"]).verdict == "error"
    assert "instance generator broke" in evaluate(scratch_registry["t.boom"]).reason
    assert verify_main(["--out", str(tmp_path)]) == 1
    written = json.loads((tmp_path / "claims.json").read_text())
    assert {c["id"]: c["verdict"] for c in written["claims"]} == {"t.ok": "holds", "t.boom": "error"}
    assert written["seed"] == 0 and written["tally"]["source"]["holds"] == 1
    assert verify_main(["--out", str(tmp_path), "--only", "t.ok"]) == 0
    assert "**holds**" in (tmp_path / "claims.md").read_text()
    kept = json.loads((tmp_path / "claims.json").read_text())  # --only re-ran t.ok and kept t.boom's row
    assert [c["id"] for c in kept["claims"]] == ["t.boom", "t.ok"] and kept["tally"]["source"]["error"] == 1


def test_seed_is_passed_to_checks_and_recorded(scratch_registry, tmp_path):
    @ledger.claim(id="t.seeded", kind="source", quantifier="for-all", source="test", statement="s", check="c")
    def _seeded(ctx):
        return Outcome([Criterion("draw", ctx.rng(5).random(), 2.0)], measured={"seed": ctx.seed})

    assert verify_main(["--out", str(tmp_path), "--seed", "3"]) == 0
    written = json.loads((tmp_path / "claims.json").read_text())
    assert written["seed"] == 3 and written["claims"][0]["measured"] == {"seed": 3}


def test_failing_claim_is_a_finding_not_an_error(scratch_registry, tmp_path):
    @ledger.claim(id="t.false", kind="source", quantifier="for-all", source="test", statement="s", check="c")
    def _false(ctx):
        return Outcome([Criterion("gap", 5.0, 1e-8)])

    assert verify_main(["--out", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "claims.json").read_text())["claims"][0]["verdict"] == "fails"


def test_duplicate_claim_id_is_rejected(scratch_registry):
    declare = dict(id="t.dup", kind="source", quantifier="for-all", source="s", statement="s", check="c")
    ledger.claim(**declare)(lambda ctx: Outcome([]))
    with pytest.raises(ValueError, match="registered twice"):
        ledger.claim(**declare)(lambda ctx: Outcome([]))


@pytest.mark.parametrize("tables, message", [
    ({"a.b": [{"x": 1.0}]}, "must match"),  # a dot would make <claim id>.<name>.parquet ambiguous
    ({"rows": []}, "non-empty"),
    ({"rows": [{"x": 1.0}, {"y": 2.0}]}, "differ"),
    ({"rows": [{"x": 1.0}, {"x": "one"}]}, "all numbers or all strings"),
])
def test_a_table_that_cannot_be_stored_makes_the_check_an_error(tables, message):
    result = evaluate(spec(run=lambda ctx: Outcome([Criterion("gap", 0.1, 0.2)], tables=tables)))
    assert result.verdict == "error" and message in result.reason and result.tables == {}


def test_non_finite_numbers_are_stored_as_json(tmp_path):
    """An inconclusive claim with no informative instance (NaN value) and an unbounded interval still write."""
    from core.ledger_report import write_ledger

    vacuous = evaluate(spec(run=lambda ctx: Outcome([Criterion("a", [0.3], 1.0, informative=[False])])))
    unbounded = evaluate(spec(run=lambda ctx: Outcome([Criterion("b", 0.5, 0.25, low=-math.inf, high=math.inf)])))
    write_ledger(tmp_path, [vacuous, unbounded], "quick")
    rows = json.loads((tmp_path / "claims.json").read_text())["claims"]
    assert rows[0]["criteria"][0]["value"] is None and rows[1]["criteria"][0]["low"] == "-inf"
    assert [r["verdict"] for r in rows] == ["inconclusive", "inconclusive"]


def test_claims_evaluated_in_processes_match_the_serial_run_in_order():
    from theory.verify import exact_claims, run_claims_in_processes

    specs = exact_claims("^(irl\\.thm3_kl_second_round_changes_nothing|avg\\.condition1\\.stationarity)$")
    assert len(specs) == 2 and specs[0].run.__module__ != specs[1].run.__module__  # two modules: two tasks
    ctx = Context("quick", 0)
    serial = run_claims(specs, ctx, progress=False)
    parallel = run_claims_in_processes([s.id for s in specs], ctx, jobs=2, threads=1)
    assert [(r.id, r.verdict, r.criteria) for r in parallel] == [(r.id, r.verdict, r.criteria) for r in serial]
