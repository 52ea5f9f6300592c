"""Theorem 3 readings vs brute-force response laws on small trees."""

import numpy as np
import pytest
from test_soft_rl import brute_force_law

from theory.iterative_improvement import (
    elicit_reward,
    entropy_regularised_step,
    kl_iterations_to_mode,
    kl_regularised_step,
    law_entropy,
    sharpened_law,
    unregularised_step,
)
from theory.soft_rl import random_levels, softmax_policy

VOCAB, HORIZON = 3, 3


@pytest.fixture
def policy():
    return softmax_policy(random_levels(np.random.default_rng(11), VOCAB, HORIZON, -2, 2), 1.0)


@pytest.mark.parametrize("alpha", [0.3, 1.0, 4.0])
def test_entropy_regularised_rl_on_own_reward_returns_the_policy(policy, alpha):
    for a, b in zip(entropy_regularised_step(policy, alpha), policy, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-13)


@pytest.mark.parametrize("beta", [5.0, 0.5, 0.05])
def test_kl_step_is_sequence_level_power_sharpening(policy, beta):
    alpha = 0.8
    law = brute_force_law(policy, VOCAB, HORIZON)
    target = law ** (1 + alpha / beta) / (law ** (1 + alpha / beta)).sum()
    after = brute_force_law(kl_regularised_step(policy, alpha, beta), VOCAB, HORIZON)
    np.testing.assert_allclose(after, target, atol=1e-12)
    np.testing.assert_allclose(sharpened_law(policy, 1 + alpha / beta), target, atol=1e-12)
    assert law_entropy(after) < law_entropy(law)


def test_kl_iterates_are_powers_kappa_to_the_k(policy):
    alpha, beta, rounds = 1.0, 2.0, 3
    current = policy
    for _ in range(rounds):
        current = kl_regularised_step(current, alpha, beta)
    law = brute_force_law(policy, VOCAB, HORIZON) ** ((1 + alpha / beta) ** rounds)
    np.testing.assert_allclose(brute_force_law(current, VOCAB, HORIZON), law / law.sum(), atol=1e-12)


def test_rounds_to_mode_shrink_as_kappa_grows(policy):
    rounds = [kl_iterations_to_mode(policy, 1.0, beta) for beta in (10.0, 1.0, 0.1)]
    assert rounds == sorted(rounds, reverse=True) and rounds[-1] >= 1


def test_unregularised_rl_follows_the_mode_and_is_a_fixed_point(policy):
    greedy = unregularised_step(policy, 1.0)
    law = brute_force_law(greedy, VOCAB, HORIZON)
    assert law.max() == pytest.approx(1.0)
    assert np.argmax(law) == np.argmax(brute_force_law(policy, VOCAB, HORIZON))
    for a, b in zip(unregularised_step(greedy, 1.0), greedy, strict=True):
        np.testing.assert_array_equal(a, b)
    assert all(np.isneginf(r[g == 0]).all() for r, g in zip(elicit_reward(greedy, 1.0), greedy, strict=True))


def test_bad_sharpening_exponent_is_rejected(policy):
    with pytest.raises(ValueError, match="kappa must be a positive"):
        sharpened_law(policy, 0.0)
