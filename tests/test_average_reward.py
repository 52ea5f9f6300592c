"""theory.average_reward against finite differences, closed forms, brute force and Monte Carlo simulation."""

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from theory.average_reward import (
    HumanChain,
    average_reward,
    entropy_regularised_average_reward,
    gradients,
    maximise_objective,
    ntp_optimum,
    objective_values,
    optimal_average_reward,
    policy_gradient_theorem,
    stationary_distribution_torch,
)
from theory.chains import (
    next_state_table,
    on_policy_distribution,
    random_logits,
    random_softmax_policy,
    softmax_rows,
)

# (V, K = order of p_h, k = order of the model): well-specified and misspecified
CASES = [(2, 1, 1), (3, 2, 2), (2, 3, 1), (3, 2, 1)]


def finite_difference_gradient(logits, p_human, name, step=1e-5):
    """Central differences of objective ``name`` w.r.t. each logit (error O(step²) ≈ 1e-10)."""
    grad = np.zeros_like(logits)
    for index in np.ndindex(logits.shape):
        shift = np.zeros_like(logits)
        shift[index] = step
        plus = objective_values(softmax_rows(logits + shift), p_human)[name]
        minus = objective_values(softmax_rows(logits - shift), p_human)[name]
        grad[index] = (plus - minus) / (2 * step)
    return grad


@pytest.mark.parametrize(("vocab", "true_order", "order"), CASES)
def test_autograd_gradients_match_central_finite_differences(vocab, true_order, order):
    rng = np.random.default_rng(10)
    p_human = random_softmax_policy(rng, vocab, true_order)
    logits = random_logits(rng, vocab, order)
    for name, grad in gradients(logits, p_human).items():
        reference = finite_difference_gradient(logits, p_human, name)
        assert np.linalg.norm(grad - reference) <= 1e-6 * np.linalg.norm(reference), name


def test_ntp_and_seed_gradients_match_their_closed_forms():
    rng = np.random.default_rng(11)
    p_human, logits = random_softmax_policy(rng, 3, 2), random_logits(rng, 3, 2)
    policy, mu_data = softmax_rows(logits), on_policy_distribution(p_human)
    grads = gradients(logits, p_human)
    np.testing.assert_allclose(grads["ntp"], mu_data[:, None] * (p_human - policy), atol=1e-14)
    log_p = np.log(p_human)
    seed_closed_form = mu_data[:, None] * policy * (log_p - (policy * log_p).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(grads["seed"], seed_closed_form, atol=1e-14)


@pytest.mark.parametrize(("vocab", "order"), [(2, 1), (2, 3), (3, 2), (4, 2)])
def test_policy_gradient_theorem_matches_autograd(vocab, order):
    rng = np.random.default_rng(12)
    p_human, logits = random_softmax_policy(rng, vocab, order), random_logits(rng, vocab, order)
    policy, grads = softmax_rows(logits), gradients(logits, p_human)
    for reward, name in ((np.log(p_human), "average_reward"), (np.log(p_human / policy), "average_reward_entropy")):
        analytic = policy_gradient_theorem(policy, reward)
        assert np.linalg.norm(analytic - grads[name]) <= 1e-8 * np.linalg.norm(grads[name])


def test_average_reward_matches_simulation_from_stationarity_within_five_standard_errors():
    """4000 chains started from μ_π, each averaging 40 rewards: an unbiased estimate of ρ; SE from the chains."""
    rng = np.random.default_rng(13)
    vocab, order, n_chains = 3, 2, 4000
    policy, reward = random_softmax_policy(rng, vocab, order), rng.standard_normal((9, 3))
    states = rng.choice(9, size=n_chains, p=on_policy_distribution(policy))
    cumulative, total = policy.cumsum(axis=1), np.zeros(n_chains)
    for _ in range(40):
        tokens = np.minimum((rng.random(n_chains)[:, None] > cumulative[states]).sum(axis=1), vocab - 1)
        total += reward[states, tokens]
        states = next_state_table(vocab, order)[states, tokens]
    per_chain = total / 40
    assert abs(per_chain.mean() - average_reward(policy, reward)) <= 5 * per_chain.std(ddof=1) / np.sqrt(n_chains)


def test_torch_stationary_distribution_matches_numpy():
    policy = random_softmax_policy(np.random.default_rng(14), 3, 2)
    mu = stationary_distribution_torch(torch.from_numpy(policy), torch.from_numpy(next_state_table(3, 2)))
    np.testing.assert_allclose(mu.numpy(), on_policy_distribution(policy), atol=1e-13)


@settings(max_examples=30, deadline=None)
@given(vocab=st.integers(2, 3), order=st.integers(1, 2), seed=st.integers(0, 2**32 - 1),
       temperature=st.sampled_from([0.5, 1.0, 2.0]))
def test_entropy_regularised_average_reward_is_minus_expected_kl(vocab, order, seed, temperature):
    rng = np.random.default_rng(seed)
    p_human = random_softmax_policy(rng, vocab, order, temperature)
    policy = random_softmax_policy(rng, vocab, order)
    kl = (policy * np.log(policy / p_human)).sum(axis=1)
    value = entropy_regularised_average_reward(policy, p_human)
    assert value == pytest.approx(-on_policy_distribution(policy) @ kl, abs=1e-12)
    assert value <= 1e-14
    assert abs(entropy_regularised_average_reward(p_human, p_human)) <= 1e-14


def test_ntp_optimum_is_p_human_when_well_specified_and_a_stationary_point_otherwise():
    rng = np.random.default_rng(15)
    p_human = random_softmax_policy(rng, 2, 3)
    np.testing.assert_allclose(ntp_optimum(p_human, 3), p_human, atol=1e-14)
    optimum = ntp_optimum(p_human, 1)
    assert np.abs(gradients(np.log(optimum), p_human)["ntp"]).max() <= 1e-14
    for _ in range(5):
        other = random_softmax_policy(rng, 2, 1)
        assert objective_values(other, p_human)["ntp"] < objective_values(optimum, p_human)["ntp"]


def brute_force_optimal_average_reward(reward, vocab, order):
    """Max over deterministic policies and start states of the mean reward on the cycle the walk falls into."""
    next_state, best = next_state_table(vocab, order), -np.inf
    for actions in itertools.product(range(vocab), repeat=vocab**order):
        for start in range(vocab**order):
            seen, path, s = {}, [], start
            while s not in seen:
                seen[s] = len(path)
                path.append(s)
                s = next_state[s, actions[s]]
            best = max(best, np.mean([reward[u, actions[u]] for u in path[seen[s]:]]))
    return best


@pytest.mark.parametrize(("vocab", "order"), [(2, 1), (2, 2), (3, 1), (2, 3)])
def test_optimal_average_reward_matches_brute_force_and_beats_p_human(vocab, order):
    p_human = random_softmax_policy(np.random.default_rng(16 + order), vocab, order)
    best = optimal_average_reward(np.log(p_human))
    assert best == pytest.approx(brute_force_optimal_average_reward(np.log(p_human), vocab, order), abs=1e-12)
    assert best > average_reward(p_human, np.log(p_human)) + 1e-3


def test_gradient_ascent_on_entropy_regularised_reward_recovers_p_human():
    rng = np.random.default_rng(17)
    p_human = random_softmax_policy(rng, 3, 2)
    logits, value = maximise_objective("average_reward_entropy", p_human, 2, rng, n_starts=1)
    assert abs(value) <= 1e-10
    np.testing.assert_allclose(softmax_rows(logits), p_human, atol=1e-4)


def test_gradient_ascent_on_average_reward_approaches_the_exact_optimum():
    rng = np.random.default_rng(18)
    p_human = random_softmax_policy(rng, 2, 2)
    _, value = maximise_objective("average_reward", p_human, 2, rng, n_starts=3)
    assert value == pytest.approx(optimal_average_reward(np.log(p_human)), abs=1e-6)


def test_deterministic_policies_get_finite_values_or_a_named_error():
    p_human = random_softmax_policy(np.random.default_rng(19), 2, 2)
    cycle = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])  # 0→1→2→1→2…: one closed class {1, 2}
    values = objective_values(cycle, p_human)
    assert values["ntp"] == -np.inf and np.isfinite(values["average_reward_entropy"])
    assert values["average_reward_entropy"] == pytest.approx(values["average_reward"], abs=1e-15)  # zero entropy
    assert values["average_reward"] == pytest.approx(np.log(p_human[[1, 2], [0, 1]]).mean(), abs=1e-14)
    with pytest.raises(ValueError, match="reducible"):
        objective_values(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]), p_human)  # 0→0 and 3→3


def test_bad_inputs_are_rejected_by_name():
    with pytest.raises(ValueError, match="strictly positive"):
        HumanChain.from_table(np.array([[1.0, 0.0], [0.5, 0.5]]))
    with pytest.raises(ValueError, match="model order 3"):
        ntp_optimum(random_softmax_policy(np.random.default_rng(0), 2, 2), 3)
    with pytest.raises(ValueError, match="not stochastic"):
        gradients(np.zeros((2, 2)), np.array([[0.6, 0.6], [0.5, 0.5]]))
    p_human = random_softmax_policy(np.random.default_rng(0), 2, 1)
    with pytest.raises(ValueError, match="finite"):
        gradients(np.array([[np.nan, 0.0], [0.0, 0.0]]), p_human)
    with pytest.raises(ValueError, match="k <= K"):
        gradients(np.zeros((4, 2)), p_human)  # model order 2 > data order 1
    with pytest.raises(ValueError, match="reward shape"):
        average_reward(p_human, np.zeros((2, 3)))
