"""Theorem 1/2 constructions: closed forms vs DP, bounds never violated on random instances, exponent fits."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit
from test_soft_rl import brute_force_path_sums

from theory.error_bounds import (
    ImitationInstance,
    bc_bound_quadratic,
    bc_bound_three_halves,
    cliff_gap,
    cliff_gap_closed_form,
    fit_exponent,
    max_preference_tv,
    mode_swap_instance,
    preference_accuracy,
    preference_tv_bound,
    random_imitation_instance,
    rl_bound,
    sampled_ntp_instance,
    theorem1_tight_instance,
    tree_preference_tv,
    walk_instance,
)
from theory.soft_rl import endogenous_reward, expand_to_tree


@pytest.mark.parametrize("variant", ["uniform", "concentrated", "recoverable"])
@pytest.mark.parametrize("horizon", [1, 7, 64, 1024])
def test_cliff_dp_matches_closed_form(variant, horizon):
    eps = 1e-4
    assert cliff_gap(horizon, eps, variant) == pytest.approx(cliff_gap_closed_form(horizon, eps, variant), rel=1e-9)


def test_cliff_closed_form_is_the_explicit_h_sum():
    eps, horizon = 0.01, 50
    explicit = sum(1 - (1 - eps) ** h for h in range(1, horizon + 1))  # Ross-Bagnell: Σ_h P(fell off by step h)
    assert cliff_gap_closed_form(horizon, eps) == pytest.approx(explicit, rel=1e-12)
    assert cliff_gap(8, 0.01) == pytest.approx(0.351725, abs=1e-6)  # dossier §5.3 reference value


def test_cliff_rejects_bad_error_probability():
    with pytest.raises(ValueError, match="cliff error probability"):
        cliff_gap(10, 0.2, "concentrated")
    with pytest.raises(ValueError, match="cliff variant"):
        cliff_gap(10, 0.1, "sideways")


def _tree_returns(inst, vocab, horizon):
    hat = brute_force_path_sums(endogenous_reward(inst.logits, inst.alpha), vocab, horizon)
    return brute_force_path_sums(inst.reward, vocab, horizon), hat


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), vocab=st.sampled_from([2, 3]), horizon=st.integers(1, 4),
       alpha=st.floats(0.1, 3.0), noise=st.floats(0.01, 3.0))
def test_theorem1_preference_bound_never_violated(seed, vocab, horizon, alpha, noise):
    inst = random_imitation_instance(np.random.default_rng(seed), vocab, horizon, alpha, noise)
    true_returns, hat_returns = _tree_returns(inst, vocab, horizon)
    worst = max(abs(expit(a - b) - expit(c - d)) for a, c in zip(true_returns, hat_returns, strict=True)
                for b, d in zip(true_returns, hat_returns, strict=True))
    assert worst == pytest.approx(max_preference_tv(true_returns, hat_returns), abs=1e-14)
    assert worst <= preference_tv_bound(horizon, inst.eps_pi, alpha) + 1e-12


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), horizon=st.integers(1, 4), alpha=st.floats(0.1, 1.0),
       noise=st.floats(0.01, 2.0))
def test_theorem2_bounds_never_violated(seed, horizon, alpha, noise):
    inst = random_imitation_instance(np.random.default_rng(seed), 3, horizon, alpha, noise)
    eps = inst.eps_pi
    law_expert_returns = brute_force_path_sums(inst.reward, 3, horizon)
    assert inst.expert_value() == pytest.approx(
        np.exp(brute_force_path_sums([np.log(p) for p in inst.expert], 3, horizon)) @ law_expert_returns)
    assert inst.bc_gap() <= bc_bound_quadratic(horizon, eps) + 1e-12
    assert abs(inst.bc_gap()) <= bc_bound_three_halves(horizon, eps) + 1e-12
    assert inst.rl_gap() <= rl_bound(horizon, eps, alpha) + 1e-12


def test_tight_constructions_nearly_attain_the_explicit_constants():
    alpha, eps, horizon = 1.0, 0.01, 6
    inst = theorem1_tight_instance(horizon, eps, alpha)
    # r* = 0 gives the preference 1/2; under r̂ the pair 00…0 vs 11…1 differs by αH log(π̂(0)/π̂(1))
    aligned_tv = abs(0.5 - expit(alpha * horizon * np.log(np.exp(-eps) / (2 - np.exp(-eps)))))
    assert tree_preference_tv(inst, 2, horizon) == pytest.approx(aligned_tv, rel=1e-12)
    assert 0.95 < aligned_tv / preference_tv_bound(horizon, inst.eps_pi, alpha) <= 1.0
    swap = mode_swap_instance(16, alpha, eps)
    assert swap.rl_gap() / rl_bound(16, swap.eps_pi, alpha) == pytest.approx((1 - expit(-eps)) / 2, rel=1e-9)
    assert cliff_gap(32, 1e-3, "concentrated") == pytest.approx(32**2 * 1e-3, rel=1e-12)  # Ross-Bagnell H²ε


@pytest.mark.parametrize("horizon", [3, 40])
def test_mode_swap_gaps_match_closed_forms(horizon):
    alpha, eps = 0.7, 0.05
    inst = mode_swap_instance(horizon, alpha, eps)
    p = expit(-eps)
    assert inst.eps_pi == pytest.approx(eps, rel=1e-10)
    assert inst.rl_gap() == pytest.approx(alpha * horizon * (1 - p) * eps, rel=1e-10)
    assert inst.bc_gap() == pytest.approx(alpha * horizon * (1 - 2 * p) * eps, rel=1e-10)


def test_walk_automaton_matches_its_tree_and_reference_values():
    horizon = 5
    inst = walk_instance(horizon)
    tree = ImitationInstance(*(expand_to_tree(levels, inst.dynamics) for levels in
                               (inst.reward, inst.expert, inst.logits, inst.learner)), inst.alpha)
    assert tree.bc_gap() == pytest.approx(inst.bc_gap(), rel=1e-12)
    assert tree.rl_gap() == pytest.approx(inst.rl_gap(), rel=1e-12)
    assert inst.eps_pi == pytest.approx(-np.log(2 - np.exp(0.01)), rel=1e-12)
    assert walk_instance(8).bc_gap() == pytest.approx(0.004094, abs=1e-6)  # dossier §5.2 table


def test_fit_exponent_recovers_a_power_law_and_its_interval():
    horizons = np.array([4, 8, 16, 32, 64])
    exact = fit_exponent(horizons, 3.0 * horizons**1.5)
    assert exact.slope == pytest.approx(1.5) and exact.distance_to(1.5) < 1e-12
    noisy = fit_exponent(horizons, horizons**2 * np.exp(np.random.default_rng(0).normal(0, 0.2, size=5)))
    assert noisy.low < noisy.slope < noisy.high and noisy.distance_to(2.0) < 0.5
    with pytest.raises(ValueError, match="gaps must be positive"):
        fit_exponent(horizons, -horizons)


def test_sampled_ntp_model_respects_theorem1_and_its_accuracy_is_the_pairwise_fraction():
    inst = sampled_ntp_instance(np.random.default_rng(3), n_demos=2000, vocab=2, horizon=3)
    true_returns, hat_returns = _tree_returns(inst, 2, 3)
    pairs = [(i, j) for i in range(8) for j in range(8) if true_returns[i] != true_returns[j]]
    agree = np.mean([(true_returns[i] > true_returns[j]) == (hat_returns[i] > hat_returns[j]) for i, j in pairs])
    assert preference_accuracy(inst, 2, 3) == pytest.approx(agree)
    assert max_preference_tv(true_returns, hat_returns) <= preference_tv_bound(3, inst.eps_pi, inst.alpha)
