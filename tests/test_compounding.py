"""The exact whole-chain failure equals the sampled one, and obeys the union bound F <= sum of step errors."""

from learned.parity_linear import all_inputs, fit_population_ntp
from toy.compounding import chain_error_profile
from toy.parity import ParityLayout


def test_exact_chain_failure_matches_sampling_and_the_union_bound():
    d = 6
    model = fit_population_ntp(d, 0.5, ridge=0.02).float()  # strong ridge: visibly imperfect chain steps
    x = all_inputs(d).repeat(100, 1)
    profile = chain_error_profile(model, ParityLayout(d), x, seed=0)
    exact, sampled = profile["chain_failure"], profile["sampled_chain_failure"]
    stderr = (exact * (1 - exact) / len(x)) ** 0.5
    assert 0.05 < exact < 0.95, "the test needs a model that fails sometimes"
    assert abs(sampled - exact) < 5 * stderr
    assert exact <= profile["sum_step_error"] + 1e-12
    assert len(profile["per_step_error"]) == profile["chain_steps"] == d - 1
