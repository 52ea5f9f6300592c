"""Planted controls for the Theorem 2 claims (theory/bounds_thm2_claims.py): a true statement → holds, a violation →
fails, judged by the engine (core.ledger.judge) on hand-made instances; and the checks themselves on a tiny search."""

import numpy as np
import pytest

from core.ledger import REGISTRY, Context, evaluate, judge
from theory import bounds_thm2_claims as thm2
from theory.error_bounds import HORIZONS, GapPoint, bc_bound_quadratic, bc_bound_three_halves, rl_bound
from theory.worst_case_search import SearchBudget

CONTROLLED_CLAIMS = {
    "bounds.thm2_bc_quadratic_tv_error",
    "bounds.thm2_bc_upper_bound_sup_logratio",
    "bounds.thm2_bc_quadratic_rate_sup_logratio",
    "bounds.thm2_bc_three_halves_sup_logratio",
    "bounds.thm2_rl_linear",
}
EPS = 1e-3


def verdict(claim_id: str, outcome) -> str:
    return judge(REGISTRY[claim_id], outcome).verdict


def power_series(exponent: float, label: str = "planted") -> dict:
    return {label: (list(HORIZONS), [1e-3 * h**exponent for h in HORIZONS])}


def points_at(fraction: float, bound, alpha: float = 0.3, eps: float = EPS) -> list[GapPoint]:
    """One point per H whose BC and RL gaps are ``fraction`` × the bound, after the degenerate π̂ = π^E (ε_π = 0,
    gap 0), which holds trivially and must not change a verdict."""
    planted = [GapPoint("planted", h, eps, alpha, fraction * bound(h, eps, alpha), fraction * bound(h, eps, alpha))
               for h in (4, 16, 64)]
    return [GapPoint("π̂ = π^E", 4, 0.0, alpha, 0.0, 0.0), *planted]


def test_tv_claim_controls():
    claim_id = "bounds.thm2_bc_quadratic_tv_error"
    under = points_at(0.9, lambda h, e, a: h**2 * e)
    assert verdict(claim_id, thm2.judge_bc_tv(under, power_series(2.0))) == "holds"
    assert verdict(claim_id, thm2.judge_bc_tv(points_at(1.1, lambda h, e, a: h**2 * e), power_series(2.0))) == "fails"
    # the bound holds but no construction reaches exponent 2: the secondary criterion is a caveat
    assert verdict(claim_id, thm2.judge_bc_tv(under, power_series(1.5))) == "holds-with-caveat"


def test_quadratic_upper_bound_controls():
    claim_id = "bounds.thm2_bc_upper_bound_sup_logratio"
    bound = lambda h, e, a: bc_bound_quadratic(h, e)  # noqa: E731
    assert verdict(claim_id, thm2.judge_bc_upper(points_at(0.99, bound))) == "holds"
    assert verdict(claim_id, thm2.judge_bc_upper(points_at(1.01, bound))) == "fails"
    # a degenerate instance (zero gap) cannot rescue a violation, and a positive gap with ε_π = 0 is one
    violated = points_at(0.5, bound) + [GapPoint("π̂ = π^E with a gap", 4, 0.0, 1.0, 1e-3, 0.0)]
    assert verdict(claim_id, thm2.judge_bc_upper(violated)) == "fails"
    # bounds ≥ H cannot fail: only such instances → inconclusive
    vacuous = [GapPoint("vacuous", 1024, 0.1, 1.0, 10.0, 0.0)]
    assert bc_bound_quadratic(1024, 0.1) >= 1024
    assert verdict(claim_id, thm2.judge_bc_upper(vacuous)) == "inconclusive"


def test_quadratic_rate_controls():
    claim_id = "bounds.thm2_bc_quadratic_rate_sup_logratio"
    assert verdict(claim_id, thm2.judge_quadratic_rate(power_series(2.0))) == "holds"
    assert verdict(claim_id, thm2.judge_quadratic_rate(power_series(1.5))) == "fails"
    # exists: one quadratic construction among sub-quadratic ones suffices
    mixed = power_series(1.5, "three halves") | power_series(1.0, "linear") | power_series(2.0, "quadratic")
    assert verdict(claim_id, thm2.judge_quadratic_rate(mixed)) == "holds"
    # a slope whose interval straddles 1.9 decides nothing
    rng = np.random.default_rng(0)
    noisy = {"noisy": (list(HORIZONS), [h**1.9 * np.exp(rng.normal(0, 0.5)) for h in HORIZONS])}
    assert verdict(claim_id, thm2.judge_quadratic_rate(noisy)) == "inconclusive"


def test_three_halves_controls():
    claim_id = "bounds.thm2_bc_three_halves_sup_logratio"
    bound = lambda h, e, a: bc_bound_three_halves(h, e)  # noqa: E731
    assert verdict(claim_id, thm2.judge_three_halves(points_at(0.9, bound), power_series(1.5))) == "holds"
    assert verdict(claim_id, thm2.judge_three_halves(points_at(1.1, bound), power_series(1.5))) == "fails"
    assert verdict(claim_id, thm2.judge_three_halves(points_at(0.9, bound), power_series(1.0))) == "holds-with-caveat"


def test_rl_controls():
    claim_id = "bounds.thm2_rl_linear"
    bound = lambda h, e, a: rl_bound(h, e, a)  # noqa: E731
    assert verdict(claim_id, thm2.judge_rl(points_at(0.9, bound))) == "holds"
    assert verdict(claim_id, thm2.judge_rl(points_at(1.1, bound))) == "fails"


def test_fit_series_needs_three_positive_gaps_from_h32_and_recovers_a_power_law():
    fits = thm2.fit_series(power_series(1.5) | {"short": ([4, 8, 16, 32, 64], [1.0] * 5),
                                                "negative": (list(HORIZONS), [-1.0] * len(HORIZONS))})
    assert list(fits) == ["planted"] and fits["planted"][0] == pytest.approx(1.5)


@pytest.fixture
def tiny_search(monkeypatch):
    """The registered checks on a small search (H ≤ 128, one restart): the verdicts of the quick profile."""
    monkeypatch.setitem(thm2.SEARCH_HORIZONS, "quick", (4, 8, 16, 32, 64, 128))
    monkeypatch.setitem(thm2.SEARCH_BUDGET, "quick", SearchBudget(restarts=2, moves=4, carried=1))
    monkeypatch.setitem(thm2.RL_SHAPES, "quick", ((2, 3),))
    monkeypatch.setitem(thm2.RL_BUDGET, "quick", SearchBudget(2, 2, 0))
    thm2.searched.cache_clear()
    yield
    thm2.searched.cache_clear()


def test_registered_checks_on_a_tiny_search(tiny_search):
    expected = {"bounds.thm2_bc_quadratic_tv_error": "holds", "bounds.thm2_bc_upper_bound_sup_logratio": "holds",
                "bounds.thm2_bc_quadratic_rate_sup_logratio": "fails",
                "bounds.thm2_bc_three_halves_sup_logratio": "holds", "bounds.thm2_rl_linear": "holds"}
    results = {cid: evaluate(REGISTRY[cid], Context("quick", seed=1)) for cid in expected}
    assert {cid: r.verdict for cid, r in results.items()} == expected
    rate = results["bounds.thm2_bc_quadratic_rate_sup_logratio"]
    assert thm2.ENVELOPE in rate.detail and {"gaps", "exponents", "searched"} <= set(rate.tables)
    assert {row["construction"] for row in rate.tables["gaps"]} == {"walk", thm2.ENVELOPE}
