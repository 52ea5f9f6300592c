"""Exact linear-AR parity computations against independent ones: sampling, finite differences, autograd."""

import pytest
import torch

from learned.parity_linear import (
    RIDGE,
    _sequences,
    all_inputs,
    continue_gradient,
    exact_response_law,
    fit_population_ntp,
)
from toy.parity import ParityLayout, read_responses
from toy.sampling import generate, response_log_probs

D = 6


@pytest.fixture(scope="module")
def fitted():
    return fit_population_ntp(D, 0.3)


def test_fit_is_a_stationary_point_of_the_whole_population_objective(fitted):
    """The per-position Newton solves must zero the gradient of the full (coupled) NTP objective."""
    prompts, long, short = _sequences(all_inputs(D), ParityLayout(D))
    model = fitted
    model.zero_grad()
    loss = (-0.3 * response_log_probs(model, prompts, long).sum(1).mean()
            - 0.7 * response_log_probs(model, prompts, short).sum(1).mean() + RIDGE * model.weight.square().sum())
    loss.backward()
    assert model.weight.grad.abs().max() < 1e-9


def test_exact_response_law_matches_sampling(fitted):
    x = all_inputs(D).repeat(200, 1)  # 12,800 samples
    law = exact_response_law(fitted, x[:64])
    prompts = torch.cat([x, torch.full((len(x), 1), 2)], dim=1)
    stats = read_responses(generate(fitted, prompts, D + 1, 1.0, torch.Generator().manual_seed(0)), x, ParityLayout(D))
    for name, sampled in (("correct", stats.correct), ("long", stats.is_long)):
        p = law[name].mean().item()
        assert abs(sampled.double().mean().item() - p) < 5 * (p * (1 - p) / len(x)) ** 0.5, name


def test_continue_gradient_matches_central_finite_differences():
    model = fit_population_ntp(D, 0.2, ridge=1e-3)  # softer policy: a larger, well-conditioned derivative
    x = all_inputs(D)
    h = 1e-5
    plus = exact_response_law(model, x, torch.tensor(h, dtype=torch.float64))["correct"].mean()
    minus = exact_response_law(model, x, torch.tensor(-h, dtype=torch.float64))["correct"].mean()
    numeric = ((plus - minus) / (2 * h)).item()
    result = continue_gradient(model, x)
    assert result["autograd"] == pytest.approx(numeric, rel=1e-6)
    assert result["decomposition"] == pytest.approx(numeric, rel=1e-6)
    assert numeric > 0
