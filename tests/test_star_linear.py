"""STaR on the linear model needs a *sharp* chain: the kept set's odds grow by 2·a per round, a = long accuracy.

docs/research/parity_cot_rl.md §6.3 assumes sampled long responses are always right (a = 1).  In general, with
long fraction s, long accuracy a and short accuracy 1/2, the kept set's long fraction is

    k = s·a / (s·a + (1 − s)/2),   i.e.  odds(k) = 2a · odds(s),

and a chain that errs with probability ε at each of its d − 1 XOR steps ends right with probability
a = (1 + (1 − 2ε)^(d−1))/2 (an odd number of flips is wrong).  A soft chain (ε = 0.3 at d = 8: a = 0.5008)
gives STaR no signal, and refitting the kept set does not sharpen it: the answer filter says nothing about the
steps.  This is why the linear scaling sweep stalled when NTP stopped on the argmax metric
teacher_forced/chain_accuracy after 10 steps (sampled chains exact 2-5 %, ε ≈ 0.28).
"""

import math

import pytest
import torch

from toy.config import RLConfig
from toy.evaluate import teacher_forced_chain, with_separator
from toy.linear_ar import LinearAR
from toy.parity import ParityLayout, read_responses, sample_reference_long
from toy.sampling import generate
from toy.star import correct_subset, iterate

D, BIG = 8, 30.0
LAYOUT = ParityLayout(D)


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny solves (tests/conftest.py)


def chain_model(step_error: float, long_fraction: float) -> LinearAR:
    """r_1 = x_1; at t = 2 continue with probability ``long_fraction``; every XOR step c_t = c_{t−1} ⊕ x_t
    (t = 2..d) errs with probability ``step_error``, independently; <eos> after the chain."""
    model = LinearAR(D, LAYOUT.max_response_len)
    margin = 0.5 * math.log((1 - step_error) / step_error)  # σ(2·margin) = 1 − ε
    with torch.no_grad():
        w = model.weight  # (L, 3 = [0, 1, <eos>], 2d + 2 = [1, z, x, z·x])
        w[0, 1, 2], w[0, 0, 2], w[0, 2, 0] = BIG, -BIG, -BIG
        for t in range(1, D):
            w[t, 1, 2 + D + t], w[t, 0, 2 + D + t], w[t, 2, 0] = -margin, margin, -BIG
        # P(<eos> at t = 2) = 1 − s: its logit against the two bits' total mass e^m + e^−m.
        w[1, 2, 0] = math.log((1 - long_fraction) / long_fraction * 2 * math.cosh(margin))
        w[D, 2, 0], w[D, 0, 0], w[D, 1, 0] = BIG, -BIG, -BIG
    return model.eval()


def closed_form_long_accuracy(step_error: float) -> float:
    return (1 + (1 - 2 * step_error) ** (D - 1)) / 2


def sample_responses(model: LinearAR, count: int, seed: int):
    """Prompts, bits and temperature-1 responses of ``count`` fresh prompts."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 2, (count, D), generator=generator)
    prompts = with_separator(x)
    return prompts, x, generate(model, prompts, LAYOUT.max_response_len, 1.0, generator)


@pytest.mark.parametrize("step_error", [1e-3, 0.3])
def test_kept_long_fraction_is_the_bayes_step_with_the_measured_long_accuracy(step_error):
    """Sharp chain: odds double (k = 2s/(1+s)); soft chain: a ≈ 1/2 and the kept set keeps the long fraction."""
    s = 0.2
    prompts, x, responses = sample_responses(chain_model(step_error, s), 40_000, seed=0)
    kept, stats = correct_subset(prompts, responses, x, LAYOUT)
    a = closed_form_long_accuracy(step_error)
    n_long = int(stats.is_long.sum())
    # Independent rows: the long accuracy is binomial; given the kept count, so is the kept long fraction.
    assert abs(stats.is_long.float().mean().item() - s) < 5 * math.sqrt(s * (1 - s) / len(x))
    assert abs(stats.correct[stats.is_long].float().mean().item() - a) < 5 * math.sqrt(a * (1 - a) / n_long) + 1e-9
    predicted = s * a / (s * a + (1 - s) / 2)
    kept_bound = 5 * math.sqrt(predicted * (1 - predicted) / len(kept.x))
    assert abs(kept.is_long.float().mean().item() - predicted) < kept_bound
    assert (predicted > 1.5 * s) == (step_error < 0.01)  # the control: only the sharp chain gains


def test_refitting_the_kept_set_of_a_soft_chain_leaves_long_responses_at_chance():
    """One STaR round from ε = 0.3 (a = 0.5008): the long fraction stays at s = 0.2 and long responses stay right half
    the time; the same round from ε = 0.001 (the planted positive control) keeps them right and doubles the odds."""
    cfg = RLConfig(algo="star", iterations=1, star_samples=8000, star_steps=100, star_batch_size=1024, star_lr=0.02)
    after = {}
    for step_error in (0.3, 1e-3):
        model = chain_model(step_error, 0.2).train()
        next(iterate(model, LAYOUT, cfg, torch.Generator().manual_seed(1)))
        _, x, responses = sample_responses(model.eval(), 20_000, seed=2)
        stats = read_responses(responses, x, LAYOUT)
        after[step_error] = (stats.is_long.float().mean().item(), stats.correct[stats.is_long].float().mean().item())
    s = 0.2
    for step_error, (long_fraction, accuracy) in after.items():
        a = closed_form_long_accuracy(step_error)
        predicted = s * a / (s * a + (1 - s) / 2)  # a faithful refit carries the kept fraction over (§6.3)
        # Bounds: 0.03 ≈ 4 binomial SE of the accuracy at ~4000 long rows; 0.04 on the long fraction absorbs the
        # round's sampling (8000 prompts) and a partial refit (seeds 0-4 measured within 0.035).
        assert abs(long_fraction - predicted) < 0.04
        assert abs(accuracy - a) < 0.03
    assert after[1e-3][0] > after[0.3][0] + 0.08  # only the sharp chain's long fraction grows


@pytest.mark.parametrize("step_error", [1e-3, 0.05, 0.3])
def test_teacher_forced_chain_probability_is_the_exact_chain_rate_of_long_samples(step_error):
    """The stop metric of the linear scaling stages: (1 − ε)^(d−1) in closed form, and the fraction of sampled
    long responses that are the exact chain (Monte Carlo, 5 binomial standard errors)."""
    model = chain_model(step_error, 0.5)
    prompts, x, responses = sample_responses(model, 20_000, seed=1)
    metric = teacher_forced_chain(model, prompts[:2048], x[:2048], LAYOUT)["teacher_forced/chain_probability"]
    assert metric == pytest.approx((1 - step_error) ** (D - 1), rel=1e-4)
    stats = read_responses(responses, x, LAYOUT)
    chains = sample_reference_long(x, LAYOUT)
    exact = (responses == chains).all(dim=1)[stats.is_long].float()
    assert abs(exact.mean().item() - metric) < 5 * math.sqrt(metric * (1 - metric) / len(exact)) + 1e-3
