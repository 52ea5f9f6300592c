"""theory.chains against independent computations: loops, power iteration, Monte Carlo, truncated sums."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from theory.chains import (
    differential_values,
    mixing_time,
    on_policy_distribution,
    random_dirichlet_policy,
    random_softmax_policy,
    stationary_distribution,
    transition_matrix,
    validate_policy,
)


def transition_by_loops(policy, vocab, order):
    """P built token by token from the layout contract: s = Σ_i x_{t-i} V^{i-1}, appending a shifts the digits."""
    n_states = vocab**order
    P = np.zeros((n_states, n_states))
    for s in range(n_states):
        digits = [(s // vocab**i) % vocab for i in range(order)]  # digits[0] = most recent token
        for a in range(vocab):
            new_digits = [a] + digits[:-1]
            P[s, sum(d * vocab**i for i, d in enumerate(new_digits))] += policy[s, a]
    return P


@pytest.mark.parametrize(("vocab", "order"), [(2, 1), (2, 3), (3, 2), (4, 1)])
def test_transition_matrix_matches_digit_shifting(vocab, order):
    policy = random_softmax_policy(np.random.default_rng(0), vocab, order)
    np.testing.assert_allclose(transition_matrix(policy), transition_by_loops(policy, vocab, order), atol=0)
    np.testing.assert_allclose(transition_matrix(policy, sparse=True).toarray(), transition_matrix(policy), atol=0)


def test_stationary_distribution_matches_power_iteration():
    P = transition_matrix(random_softmax_policy(np.random.default_rng(1), 3, 2))
    power = np.full(9, 1 / 9) @ np.linalg.matrix_power(P, 2000)
    np.testing.assert_allclose(stationary_distribution(P), power, atol=1e-12)


def test_stationary_distribution_matches_monte_carlo_within_five_standard_errors():
    """20 000 independent chains run 60 steps (≫ mixing time) from state 0: their end states are ~iid from μ."""
    rng = np.random.default_rng(2)
    vocab, order, n_chains = 2, 2, 20_000
    policy = random_softmax_policy(rng, vocab, order)
    mu = stationary_distribution(transition_matrix(policy))
    assert mixing_time(transition_matrix(policy)) < 10
    states = np.zeros(n_chains, dtype=int)
    cumulative = policy.cumsum(axis=1)
    for _ in range(60):
        tokens = (rng.random(n_chains)[:, None] > cumulative[states]).sum(axis=1)
        states = (states * vocab + tokens) % vocab**order
    frequency = np.bincount(states, minlength=vocab**order) / n_chains
    standard_error = np.sqrt(mu * (1 - mu) / n_chains)
    assert np.all(np.abs(frequency - mu) <= 5 * standard_error)


def test_periodic_irreducible_chain_has_unique_stationary_distribution_and_never_mixes():
    alternating = np.array([[0.0, 1.0], [1.0, 0.0]])  # V=2, k=1: always emit the other token
    P = transition_matrix(alternating)
    np.testing.assert_allclose(stationary_distribution(P), [0.5, 0.5])
    assert mixing_time(P, max_steps=50) is None


def test_transient_states_get_zero_mass():
    policy = np.array([[1.0, 0.0], [0.5, 0.5]])  # state 0 is absorbing; state 1 leaks into it
    np.testing.assert_allclose(on_policy_distribution(policy), [1.0, 0.0], atol=1e-15)


def test_large_chain_goes_sparse_and_is_stationary():
    policy = random_softmax_policy(np.random.default_rng(3), 2, 13)  # 8192 states > SPARSE_STATE_THRESHOLD
    P = transition_matrix(policy)
    assert sp.issparse(P)
    mu = stationary_distribution(P)
    assert abs(mu.sum() - 1) < 1e-12 and mu.min() >= 0
    np.testing.assert_allclose(P.T @ mu, mu, atol=1e-14)
    power = np.full(P.shape[0], 1 / P.shape[0])
    for _ in range(3000):  # this 13-token chain mixes slowly: TV to μ is still 4e-4 after 300 steps, 7e-15 after 3000
        power = P.T @ power
    np.testing.assert_allclose(mu, power, atol=1e-12)
    small = random_softmax_policy(np.random.default_rng(3), 3, 2)
    np.testing.assert_allclose(stationary_distribution(transition_matrix(small, sparse=True)),
                               stationary_distribution(transition_matrix(small)), atol=1e-14)


def test_mixing_time_matches_its_definition():
    P = transition_matrix(random_softmax_policy(np.random.default_rng(4), 2, 3, temperature=0.3))
    mu = stationary_distribution(P)
    t = mixing_time(P)

    def worst_tv(steps):
        return 0.5 * np.abs(np.linalg.matrix_power(P, steps) - mu).sum(axis=1).max()

    assert t >= 1 and worst_tv(t) <= 0.25 < worst_tv(t - 1)


def test_differential_values_match_truncated_sum_of_centred_rewards():
    """For an aperiodic chain h = Σ_t P^t (r_π − ρ1) (converges geometrically), which satisfies μ·h = 0."""
    rng = np.random.default_rng(5)
    policy, reward = random_softmax_policy(rng, 3, 2), rng.standard_normal((9, 3))
    rho, h, q = differential_values(policy, reward)
    P, mu = transition_matrix(policy), on_policy_distribution(policy)
    centred = (policy * reward).sum(axis=1) - rho
    truncated, term = np.zeros(9), centred.copy()
    for _ in range(500):
        truncated, term = truncated + term, P @ term
    np.testing.assert_allclose(h, truncated, atol=1e-10)
    assert rho == pytest.approx(mu @ (policy * reward).sum(axis=1), abs=1e-14)
    np.testing.assert_allclose((policy * q).sum(axis=1), h, atol=1e-12)  # Σ_a π q = h: the Poisson equation


@settings(max_examples=40, deadline=None)
@given(vocab=st.integers(2, 4), order=st.integers(1, 3), seed=st.integers(0, 2**32 - 1),
       concentration=st.sampled_from([0.3, 1.0, 5.0]))
def test_stationary_distribution_is_a_fixed_probability_vector(vocab, order, seed, concentration):
    policy = random_dirichlet_policy(np.random.default_rng(seed), vocab, order, concentration)
    P = transition_matrix(policy)
    mu = stationary_distribution(P)
    assert mu.min() >= 0 and abs(mu.sum() - 1) < 1e-12
    np.testing.assert_allclose(mu @ P, mu, atol=1e-10)


@pytest.mark.parametrize(
    ("matrix", "message"),
    [
        (np.ones((2, 3)) / 3, "square"),
        (np.array([[0.5, 0.4], [0.5, 0.5]]), "not stochastic: row 0"),
        (np.array([[1.5, -0.5], [0.5, 0.5]]), "negative"),
        (np.array([[np.nan, 1.0], [0.5, 0.5]]), "NaN"),
        (np.eye(2), "reducible: 2 closed communicating classes"),
        (np.array([[0.5, 0.5, 0, 0], [0.5, 0.5, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]]), "reducible"),
    ],
)
def test_bad_transition_matrices_are_rejected_by_name(matrix, message):
    with pytest.raises(ValueError, match=message):
        stationary_distribution(matrix)


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        (np.full(4, 0.25), "2-dimensional"),
        (np.full((3, 2), 0.5), r"not \(V\*\*k, V\)"),
        (np.array([[0.7, 0.7], [0.5, 0.5]]), "not stochastic"),
        (np.array([[np.inf, 0.0], [0.5, 0.5]]), "NaN or infinite"),
        (np.array([[1.2, -0.2], [0.5, 0.5]]), "negative"),
    ],
)
def test_bad_policies_are_rejected_by_name(policy, message):
    with pytest.raises(ValueError, match=message):
        validate_policy(policy)
