"""The KL estimators k1 and k3 of toy/policy_gradient.py (``rl.kl_estimator``): values by hand, exact expectations
by enumeration on a one-state, three-token categorical policy, and the estimators inside ``iterate``.

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

from toy.config import GPTConfig, RLConfig
from toy.models import build_model
from toy.parity import RESPONSE_TOKENS, ParityLayout
from toy.policy_gradient import exact_kl, iterate, kl_estimate

TOKENS = torch.tensor(RESPONSE_TOKENS)[:, None]  # the three possible one-token responses (3, 1)


def per_token(log_law: torch.Tensor, ref_log_law: torch.Tensor, estimator: str) -> torch.Tensor:
    """k(a) for each of the three tokens a of one state with log-laws (3,) → (3,)."""
    return kl_estimate(log_law.expand(3, 1, 3), ref_log_law.expand(3, 1, 3), TOKENS, estimator)[:, 0]


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
    assert kl_estimate(law.log().expand(3, 1, 3), ref.log().expand(3, 1, 3), TOKENS, "exact").shape == (3, 1)


@pytest.mark.parametrize("seed", range(5))
def test_expected_values_and_gradients_by_enumeration(seed):
    generator = torch.Generator().manual_seed(seed)
    theta = torch.randn(3, generator=generator, dtype=torch.float64).requires_grad_(True)
    ref_log_law = torch.randn(3, generator=generator, dtype=torch.float64).log_softmax(0)

    def gradient(value: torch.Tensor) -> torch.Tensor:
        return torch.autograd.grad(value, theta, retain_graph=True)[0]  # every term shares log_law's graph

    log_law = theta.log_softmax(0)
    law = log_law.exp().detach()  # the sampling law: a weight, not differentiated (as in the loss)
    forward, reverse = exact_kl(log_law, ref_log_law), exact_kl(ref_log_law, log_law)
    forward_grad, reverse_grad = gradient(forward), gradient(reverse)
    assert (forward_grad - reverse_grad).abs().max() > 1e-3  # the two directions are distinguishable here
    for estimator in ("k1", "k3"):
        expected_value = (law * per_token(log_law, ref_log_law, estimator)).sum()
        assert abs(expected_value.item() - forward.item()) < 1e-10, estimator  # unbiased for KL(π ‖ π_ref)
    expected_k1_grad = gradient((law * per_token(log_law, ref_log_law, "k1")).sum())
    expected_k3_grad = gradient((law * per_token(log_law, ref_log_law, "k3")).sum())
    assert expected_k1_grad.abs().max() < 1e-10 < forward_grad.abs().max()
    assert (expected_k3_grad - reverse_grad).abs().max() < 1e-10
    assert (expected_k3_grad - forward_grad).abs().max() > 1e-3


@pytest.mark.parametrize("kl_reference", ["start", "uniform"])
def test_iterate_with_each_estimator(kl_reference):
    """With kl_beta > 0 at d = 4 the loss is finite, and k1 / k3 change it and the logged KL against 'exact'."""
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
        assert first["loss"] != exact_first["loss"] and first[kl_key] != exact_first[kl_key], estimator
