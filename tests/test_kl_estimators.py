"""The KL estimators k1 and k3 of toy/policy_gradient.py (``rl.kl_estimator``): values by hand, exact expectations
by enumeration on a one-state, three-token categorical policy, the estimators inside ``iterate``, and the planted
controls of the ledger claims learned/kl_estimator_claims.py makes of the enumeration.

What the enumeration shows (float64, to 1e-10; the loss weights each sampled token's k by the sampling law π, which
carries no gradient):

* values: E_{a~π}[k1(a)] = E_{a~π}[k3(a)] = KL(π ‖ π_ref), both unbiased;
* gradients: E_{a~π}[∇θ k1(a)] = Σ_a π(a) ∇log π(a) = 0 (the score term is what k1 would need), and
  E_{a~π}[∇θ k3(a)] = Σ_a (π(a) − π_ref(a)) ∇log π(a) = ∇θ KL(π_ref ‖ π), the *reverse* KL, not ∇θ KL(π ‖ π_ref)
  (the test also asserts that the forward gradient is different, so it could tell the two apart).
"""

from __future__ import annotations

import copy
import math

import pytest
import torch

from core.ledger import REGISTRY, Context, judge
from learned.kl_estimator_claims import (
    ESTIMATORS,
    expectations,
    judge_k3_descends_reverse_kl,
    judge_unbiased_values_k1_gradient_zero,
    measure_estimators,
    per_token,
)
from toy.config import GPTConfig, RLConfig
from toy.models import build_model
from toy.parity import ParityLayout
from toy.policy_gradient import iterate

CONTROLLED_CLAIMS = {"kl_estimator.k3_gradient_descends_reverse_kl", "kl_estimator.unbiased_values_k1_gradient_zero"}


def test_k1_and_k3_by_hand():
    law, ref = torch.tensor([0.5, 0.25, 0.25], dtype=torch.float64), torch.tensor([0.25, 0.25, 0.5],
                                                                                  dtype=torch.float64)
    ratio = ref / law  # r = π_ref(a)/π(a) = (1/2, 1, 2)
    k1 = per_token(law.log(), ref.log(), "k1")
    k3 = per_token(law.log(), ref.log(), "k3")
    assert torch.allclose(k1, torch.tensor([math.log(2), 0.0, -math.log(2)], dtype=torch.float64), atol=1e-15)
    assert torch.allclose(k3, torch.tensor([-0.5 + math.log(2), 0.0, 1 - math.log(2)], dtype=torch.float64),
                          atol=1e-15)
    assert (k3 >= 0).all() and torch.allclose(k3, ratio - 1 - ratio.log())  # k3 is never negative, k1 can be
    assert per_token(law.log(), ref.log(), "exact").shape == (3,)


@pytest.mark.parametrize("seed", range(5))
def test_expected_values_and_gradients_by_enumeration(seed):
    generator = torch.Generator().manual_seed(seed)
    theta = torch.randn(3, generator=generator, dtype=torch.float64)
    ref_log_law = torch.randn(3, generator=generator, dtype=torch.float64).log_softmax(0)
    exact = expectations(theta, ref_log_law)
    (forward, forward_grad), (_, reverse_grad) = exact["forward"], exact["reverse"]
    assert (forward_grad - reverse_grad).abs().max() > 1e-3  # the two directions are distinguishable here
    for estimator in ("k1", "k3"):
        assert abs(exact[estimator][0] - forward) < 1e-10, estimator  # unbiased for KL(π ‖ π_ref)
    k1_grad, k3_grad = exact["k1"][1], exact["k3"][1]
    assert k1_grad.abs().max() < 1e-10 < forward_grad.abs().max()
    assert (k3_grad - reverse_grad).abs().max() < 1e-10
    assert (k3_grad - forward_grad).abs().max() > 1e-3


@pytest.mark.parametrize("kl_reference", ["start", "uniform"])
def test_iterate_with_each_estimator(kl_reference):
    """With kl_beta > 0 at d = 4 the loss is finite and k1 / k3 change it against 'exact', while the logged KL is the
    exact one whichever estimator the penalty uses (the same rollouts from the same start: the same number)."""
    layout = ParityLayout(4)
    torch.manual_seed(0)
    start = build_model(GPTConfig(width=16, heads=2, layers=1), layout)
    reference = build_model(GPTConfig(width=16, heads=2, layers=1), layout).requires_grad_(False)  # π ≠ π_ref
    records = {}
    for estimator in ("exact", "k1", "k3"):
        cfg = RLConfig(iterations=2, prompts=4, group_size=2, kl_beta=0.5, kl_reference=kl_reference,
                       kl_estimator=estimator)
        records[estimator] = list(iterate(copy.deepcopy(start), reference, layout, cfg,
                                          torch.Generator().manual_seed(1)))
    kl_key = f"policy/kl_to_{kl_reference}"
    for estimator in ("k1", "k3"):
        first, exact_first = records[estimator][0], records["exact"][0]  # same rollouts: same seed, same start
        assert all(math.isfinite(r["loss"]) for r in records[estimator])
        assert first["rollout/mean_length"] == exact_first["rollout/mean_length"]
        assert first["loss"] != exact_first["loss"], estimator
        assert first[kl_key] == exact_first[kl_key] > 0, estimator


# --- planted controls of learned/kl_estimator_claims.py ------------------------------------------------------------

def verdict(claim_id: str, judge_rows, rows: list[dict]) -> str:
    return judge(REGISTRY[claim_id], judge_rows(rows)).verdict


def k2(log_law: torch.Tensor, ref_log_law: torch.Tensor) -> torch.Tensor:
    """Schulman's k2 = (log r)²/2: a biased estimator of KL(π ‖ π_ref) (a planted wrong one)."""
    return per_token(log_law, ref_log_law, "k1") ** 2 / 2


def forward_kl(log_law: torch.Tensor, ref_log_law: torch.Tensor) -> torch.Tensor:
    """The exact KL(π ‖ π_ref) at every token: its expectation is the value and its gradient the forward one."""
    return per_token(log_law, ref_log_law, "exact")


K3_CLAIM, VALUES_CLAIM = sorted(CONTROLLED_CLAIMS)


def test_the_claims_hold_at_every_instance_seed():
    for seed in (0, 1, 2):
        rows = measure_estimators(Context(seed=seed))
        assert verdict(K3_CLAIM, judge_k3_descends_reverse_kl, rows) == "holds"
        assert verdict(VALUES_CLAIM, judge_unbiased_values_k1_gradient_zero, rows) == "holds"


@pytest.mark.parametrize("planted", [ESTIMATORS["k1"], forward_kl], ids=["k1 as the penalty", "forward KL"])
def test_a_penalty_that_is_not_k3_does_not_descend_the_reverse_kl(planted):
    """k1 used as if it were the forward KL (its expected gradient is 0), or the exact forward KL itself."""
    rows = measure_estimators(Context(), {"k1": ESTIMATORS["k1"], "k3": planted})
    assert verdict(K3_CLAIM, judge_k3_descends_reverse_kl, rows) == "fails"


def test_a_biased_estimator_fails_and_k3_in_place_of_k1_is_caught():
    rows = measure_estimators(Context(), {"k1": ESTIMATORS["k1"], "k3": k2})
    assert verdict(VALUES_CLAIM, judge_unbiased_values_k1_gradient_zero, rows) == "fails"
    rows = measure_estimators(Context(), {"k1": ESTIMATORS["k3"], "k3": ESTIMATORS["k3"]})  # its gradient is not 0
    assert verdict(VALUES_CLAIM, judge_unbiased_values_k1_gradient_zero, rows) == "holds-with-caveat"


def test_the_degenerate_members_alone_decide_no_gradient():
    """π = π_ref: every gradient vanishes, so a zero gradient (k1) must not count as descending the reverse KL."""
    rows = [r for r in measure_estimators(Context(), {"k1": ESTIMATORS["k1"], "k3": ESTIMATORS["k1"]})
            if r["instance"].startswith("π = π_ref")]
    assert verdict(K3_CLAIM, judge_k3_descends_reverse_kl, rows) == "inconclusive"
