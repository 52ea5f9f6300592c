"""Soft RL on token trees and automata vs brute force over every response (independent computations)."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp

from theory.soft_rl import (
    AutomatonDynamics,
    all_trajectories,
    endogenous_reward,
    expand_to_tree,
    expand_values_to_tree,
    expected_return,
    greedy_optimal,
    kl_regularised_optimal,
    log_likelihood,
    ntp_count_policy,
    outcome_reward,
    policy_value,
    random_levels,
    ranking_disagreement,
    shape_reward,
    soft_optimal,
    soft_values,
    softmax_policy,
    state_distributions,
)

VOCAB, HORIZON = 3, 4


def brute_force_path_sums(levels, vocab, horizon, gamma=1.0):
    """Σ_h γ^h levels[h][prefix, a_h] for every response, responses in lexicographic order (itertools)."""
    sums = []
    for tokens in itertools.product(range(vocab), repeat=horizon):
        rows = [int("".join(map(str, tokens[:h])) or "0", vocab) for h in range(horizon)]
        sums.append(sum(gamma**h * levels[h][rows[h], tokens[h]] for h in range(horizon)))
    return np.array(sums)


def brute_force_law(policy, vocab, horizon):
    """P(τ) = Π_h π(a_h|s_h), by enumerating responses (log 0 = −inf for deterministic policies)."""
    with np.errstate(divide="ignore"):
        return np.exp(brute_force_path_sums([np.log(p) for p in policy], vocab, horizon))


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def test_soft_optimal_is_the_maxent_trajectory_law(rng):
    reward, alpha = random_levels(rng, VOCAB, HORIZON, -1, 2), 0.7
    _, values, policy = soft_optimal(reward, alpha)
    returns = brute_force_path_sums(reward, VOCAB, HORIZON)
    maxent = np.exp((returns - alpha * logsumexp(returns / alpha)) / alpha)  # Ziebart: p(τ) ∝ exp(R(τ)/α)
    np.testing.assert_allclose(brute_force_law(policy, VOCAB, HORIZON), maxent, atol=1e-13)
    assert values[0][0] == pytest.approx(alpha * logsumexp(returns / alpha), abs=1e-12)


def test_kl_optimum_tilts_the_reference_law(rng):
    reward, beta = random_levels(rng, VOCAB, HORIZON), 0.4
    reference = softmax_policy(random_levels(rng, VOCAB, HORIZON, -2, 2), 1.0)
    policy = kl_regularised_optimal(reward, reference, beta)[2]
    tilted = brute_force_law(reference, VOCAB, HORIZON) * np.exp(brute_force_path_sums(reward, VOCAB, HORIZON) / beta)
    np.testing.assert_allclose(brute_force_law(policy, VOCAB, HORIZON), tilted / tilted.sum(), atol=1e-13)


def test_greedy_optimum_reaches_the_best_response(rng):
    reward = random_levels(rng, VOCAB, HORIZON)
    _, values, policy = greedy_optimal(reward)
    best = brute_force_path_sums(reward, VOCAB, HORIZON).max()
    assert values[0][0] == pytest.approx(best, abs=1e-12)
    assert expected_return(policy, reward) == pytest.approx(best, abs=1e-12)


def test_policy_value_and_state_law_match_enumeration(rng):
    policy = softmax_policy(random_levels(rng, VOCAB, HORIZON, -2, 2), 1.0)
    reward = random_levels(rng, VOCAB, HORIZON)
    law = brute_force_law(policy, VOCAB, HORIZON)
    assert expected_return(policy, reward) == pytest.approx(law @ brute_force_path_sums(reward, VOCAB, HORIZON))
    np.testing.assert_allclose(state_distributions(policy)[-1], law, atol=1e-15)


def test_endogenous_reward_eq11_equals_eq12_and_outcome_identity(rng):
    logits, alpha = random_levels(rng, VOCAB, HORIZON, -3, 3), 1.3
    reward = endogenous_reward(logits, alpha)
    values, policy = soft_values(logits, alpha), softmax_policy(logits, alpha)
    for h in range(HORIZON):  # eq. (12): α log π + V(s) − V(s·a)
        eq12 = alpha * np.log(policy[h]) + values[h][:, None] - values[h + 1].reshape(-1, VOCAB)
        np.testing.assert_allclose(reward[h], eq12, atol=1e-12)
    paths = all_trajectories(VOCAB, HORIZON)
    outcome = brute_force_path_sums(reward, VOCAB, HORIZON)
    np.testing.assert_allclose(outcome, outcome_reward(reward, paths), atol=1e-12)
    np.testing.assert_allclose(outcome, alpha * log_likelihood(policy, paths) + values[0][0], atol=1e-12)


def test_discounted_outcome_reward_matches_enumeration(rng):
    reward = random_levels(rng, VOCAB, HORIZON)
    np.testing.assert_allclose(outcome_reward(reward, all_trajectories(VOCAB, HORIZON), gamma=0.9),
                               brute_force_path_sums(reward, VOCAB, HORIZON, gamma=0.9), atol=1e-13)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), alpha=st.floats(0.05, 5.0))
def test_potential_shaping_leaves_optimal_policies_unchanged(seed, alpha):
    rng = np.random.default_rng(seed)
    reward = random_levels(rng, VOCAB, HORIZON)
    potential = [rng.normal(size=VOCAB**h) * 4 for h in range(HORIZON)]
    shaped = shape_reward(reward, potential)
    for a, b in zip(soft_optimal(reward, alpha)[2], soft_optimal(shaped, alpha)[2], strict=True):
        np.testing.assert_allclose(a, b, atol=1e-9)
    for a, b in zip(greedy_optimal(reward)[2], greedy_optimal(shaped)[2], strict=True):
        np.testing.assert_array_equal(a, b)
    # every response's return shifts by the same constant −Φ(root)
    diff = brute_force_path_sums(shaped, VOCAB, HORIZON) - brute_force_path_sums(reward, VOCAB, HORIZON)
    np.testing.assert_allclose(diff, -potential[0][0], atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_automaton_and_tree_representations_agree(seed):
    rng = np.random.default_rng(seed)
    n_states, vocab, horizon, alpha = 3, 2, 5, 0.8
    dynamics = AutomatonDynamics(rng.integers(0, n_states, size=(n_states, vocab)), start=int(rng.integers(n_states)))
    reward = [rng.uniform(size=(n_states, vocab)) for _ in range(horizon)]
    tree_reward = expand_to_tree(reward, dynamics)
    for auto, tree in ((soft_optimal(reward, alpha, dynamics), soft_optimal(tree_reward, alpha)),
                       (greedy_optimal(reward, dynamics), greedy_optimal(tree_reward))):
        for a, b in zip(expand_to_tree(auto[2], dynamics), tree[2], strict=True):
            np.testing.assert_allclose(a, b, atol=1e-12)
        for a, b in zip(expand_values_to_tree(auto[1], dynamics), tree[1], strict=True):
            np.testing.assert_allclose(a, b, atol=1e-12)
    logits = [rng.normal(size=(n_states, vocab)) for _ in range(horizon)]
    for a, b in zip(expand_to_tree(endogenous_reward(logits, alpha, dynamics), dynamics),
                    endogenous_reward(expand_to_tree(logits, dynamics), alpha), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-12)
    policy = softmax_policy(logits, alpha)
    tree_policy = expand_to_tree(policy, dynamics)
    np.testing.assert_allclose(expected_return(policy, reward, dynamics), expected_return(tree_policy, tree_reward))
    leaf_states = dynamics.prefix_states(horizon)[-1]
    np.testing.assert_allclose(state_distributions(policy, dynamics)[-1],
                               np.bincount(leaf_states, state_distributions(tree_policy)[-1], minlength=n_states))
    np.testing.assert_allclose(expand_values_to_tree(policy_value(policy, reward, dynamics), dynamics)[2],
                               policy_value(tree_policy, tree_reward)[2])


def test_ntp_count_policy_is_the_likelihood_maximiser(rng):
    data = all_trajectories(VOCAB, HORIZON)[rng.integers(0, VOCAB**HORIZON, size=30)]
    policy = ntp_count_policy(data, VOCAB)
    first_token_counts = np.bincount(data[:, 0], minlength=VOCAB)
    np.testing.assert_allclose(policy[0][0], first_token_counts / 30)
    best = log_likelihood(policy, data).sum()
    for _ in range(20):
        other = softmax_policy([np.log(p + 1e-300) + rng.normal(size=p.shape) for p in policy], 1.0)
        assert log_likelihood(other, data).sum() <= best + 1e-12
    smoothed = ntp_count_policy(data, VOCAB, smoothing=1.0)
    np.testing.assert_allclose(smoothed[0][0], (first_token_counts + 1) / (30 + VOCAB))


def test_ranking_disagreement_counts_reversed_pairs():
    assert ranking_disagreement(np.array([1.0, 2.0, 3.0]), np.array([10.0, 20.0, 30.0])) == 0.0
    assert ranking_disagreement(np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0])) == 1.0
    assert ranking_disagreement(np.array([1.0, 2.0, 3.0]), np.array([1.0, 3.0, 2.0])) == pytest.approx(1 / 3)


GOOD_REWARD = [np.zeros((1, 2)), np.zeros((2, 2))]
GOOD_POLICY = [np.full((1, 2), 0.5), np.full((2, 2), 0.5)]


@pytest.mark.parametrize(("call", "message"), [
    (lambda: soft_optimal(GOOD_REWARD, 0.0), "alpha must be a positive"),
    (lambda: soft_optimal(GOOD_REWARD, -1.0), "alpha must be a positive"),
    (lambda: kl_regularised_optimal(GOOD_REWARD, GOOD_POLICY, 0.0), "beta must be a positive"),
    (lambda: soft_optimal([np.zeros((1, 2)), np.zeros((3, 2))], 1.0), "mismatched level shape at level 1"),
    (lambda: soft_optimal([np.zeros((1, 2)), np.full((2, 2), np.nan)], 1.0), "contains NaN"),
    (lambda: soft_optimal([np.zeros((1, 2)), np.full((2, 2), np.inf)], 1.0), "infinite"),
    (lambda: soft_optimal([], 1.0), "empty level list"),
    (lambda: policy_value([np.full((1, 2), 0.6), GOOD_POLICY[1]], GOOD_REWARD), "non-normalised policy at level 0"),
    (lambda: policy_value([np.array([[1.5, -0.5]]), GOOD_POLICY[1]], GOOD_REWARD), "negative probabilities"),
    (lambda: kl_regularised_optimal(GOOD_REWARD, [np.full((1, 2), 0.2), GOOD_POLICY[1]], 1.0),
     "reference policy: non-normalised"),
    (lambda: shape_reward(GOOD_REWARD, [np.zeros(1), np.zeros(3)]), "potential: mismatched"),
    (lambda: shape_reward(GOOD_REWARD, [np.zeros(1), np.array([np.nan, 0.0])]), "potential: contains NaN"),
    (lambda: outcome_reward(GOOD_REWARD, np.array([[0, 2]])), "tokens: entries"),
    (lambda: outcome_reward(GOOD_REWARD, np.array([[0, 1, 1]])), "tokens: last axis"),
    (lambda: AutomatonDynamics(np.array([[0, 3]])), "transition: targets"),
    (lambda: AutomatonDynamics(np.array([[0.0, 1.0]])), "transition: need an integer"),
    (lambda: AutomatonDynamics(np.array([[0, 0]]), start=2), "start state"),
    (lambda: all_trajectories(0, 3), "vocab and horizon"),
    (lambda: ntp_count_policy(np.zeros((2, 2), dtype=int), 2, smoothing=-1.0), "smoothing must be"),
])
def test_bad_input_raises_a_named_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
