"""Controls of the exact parity claims (learned/parity_claims.py): planted optima that obey the statement must give
``holds``, planted violations ``fails``, through the same judge functions the registered checks call."""

import pytest

from core.ledger import REGISTRY, Context, evaluate, judge
from learned import parity_claims as pc

CONTROLLED_CLAIMS = {"parity.ntp_greedy_threshold", "parity.ntp_length_calibration",
                     "parity.continue_gradient_positive"}
GRID = (0.0, 0.1, 0.3, 0.36, 0.5, 1.0)


def theory_row(p: float) -> dict:
    """The NTP optimum as the theory describes it at p_cot = p (no model involved)."""
    above = p > 1 / 3
    continue_prob = 2 * p / (1 + p)
    gradient = 0.05 if 0 < p < 1 else 0.0
    return {"p_cot": p, "greedy_accuracy": 1.0 if above else 0.5, "greedy_long_fraction": 1.0 if above else 0.0,
            "sampled_long": p, "sampled_correct": (1 + p) / 2, "sampled_malformed": 0.0,
            "gradient_mean_continue_prob": continue_prob, "gradient_autograd": gradient,
            "gradient_decomposition": gradient, "gradient_expected_reward": (1 + p) / 2}


def verdict(claim_id: str, rows: list[dict]) -> str:
    judge_fn = {"parity.ntp_greedy_threshold": pc.judge_threshold,
                "parity.ntp_length_calibration": pc.judge_calibration,
                "parity.continue_gradient_positive": pc.judge_continue_gradient}[claim_id]
    return judge(REGISTRY[claim_id], judge_fn(rows)).verdict


@pytest.mark.parametrize("claim_id", sorted(CONTROLLED_CLAIMS))
def test_planted_theory_holds(claim_id):
    assert verdict(claim_id, [theory_row(p) for p in GRID]) == "holds"


@pytest.mark.parametrize("claim_id, violation", [
    ("parity.ntp_greedy_threshold", {"greedy_accuracy": 1.0, "greedy_long_fraction": 1.0}),  # solves below 1/3
    ("parity.ntp_length_calibration", {"sampled_long": 0.2}),  # long fraction 0.2 instead of 0.1
    ("parity.continue_gradient_positive", {"gradient_autograd": -0.01, "gradient_decomposition": -0.01}),
])
def test_one_planted_violation_fails_whatever_the_other_instances(claim_id, violation):
    rows = [theory_row(p) for p in GRID]
    rows[1] = {**rows[1], **violation}  # p_cot = 0.1
    assert verdict(claim_id, rows) == "fails"


def test_degenerate_mixtures_cannot_carry_the_gradient_claim():
    """At p_cot ∈ {0, 1} there is nothing to trade: those instances are left out, so they alone decide nothing."""
    rows = [theory_row(0.0), theory_row(1.0)]
    assert verdict("parity.continue_gradient_positive", rows) == "inconclusive"


def test_the_registered_claims_hold_on_the_exact_optimum():
    for claim_id in sorted(CONTROLLED_CLAIMS):
        assert evaluate(REGISTRY[claim_id], Context("quick")).verdict == "holds", claim_id
