"""The Monte Carlo continue-gradient estimator agrees with the exact derivative on the linear model."""

import torch

from learned.parity_linear import all_inputs, continue_gradient, fit_population_ntp
from toy.continue_gradient import continue_gradient_mc
from toy.parity import ParityLayout


def test_monte_carlo_estimate_covers_the_exact_value():
    d = 6
    model = fit_population_ntp(d, 0.2, ridge=1e-3).float()
    exact = continue_gradient(model.double(), all_inputs(d))["autograd"]
    x = all_inputs(d).repeat(500, 1)  # every input equally often: the exact expectation's weighting
    mc = continue_gradient_mc(model.float(), ParityLayout(d), len(x), torch.Generator().manual_seed(0), x=x)
    assert abs(mc["gradient"] - exact) < 4 * mc["stderr"], (mc, exact)
    assert mc["ci95_low"] > 0 and mc["stderr"] < exact / 5  # precise enough that the test could fail
