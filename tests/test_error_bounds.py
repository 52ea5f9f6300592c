"""Theorem 1/2 constructions: closed forms vs DP, bounds never violated on random instances, exponent fits."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog
from scipy.special import expit
from test_soft_rl import brute_force_path_sums

from theory.error_bounds import (
    ImitationInstance,
    bc_bound_quadratic,
    bc_bound_three_halves,
    cliff_gap,
    cliff_gap_closed_form,
    cliff_profile_instance,
    max_preference_tv,
    mode_swap_instance,
    preference_accuracy,
    preference_tv_bound,
    random_gap_points,
    random_imitation_instance,
    rl_bound,
    sampled_ntp_instance,
    theorem1_tight_instance,
    tree_preference_tv,
    walk_instance,
)
from theory.robust_worst_case import (
    bc_worst_gap,
    box_log_ratio,
    cheapest_in_box,
    extreme_learner,
    flattest_in_box,
    ratio_box,
    rl_worst_case_tree,
    worst_case,
)
from theory.soft_rl import (
    TreeDynamics,
    all_trajectories,
    check_policy,
    endogenous_reward,
    expand_to_tree,
    expected_return,
    log_likelihood,
    outcome_reward,
    random_levels,
    soft_optimal,
)
from theory.worst_case_search import FAMILIES, SearchBudget, TreeFamily, search_rl_worst_case, search_worst_case


@pytest.mark.parametrize("variant", ["uniform", "concentrated", "recoverable"])
@pytest.mark.parametrize("horizon", [1, 7, 64, 1024])
def test_cliff_dp_matches_closed_form(variant, horizon):
    eps = 1e-4
    assert cliff_gap(horizon, eps, variant) == pytest.approx(cliff_gap_closed_form(horizon, eps, variant), rel=1e-9)


def test_cliff_closed_form_is_the_explicit_h_sum():
    eps, horizon = 0.01, 50
    explicit = sum(1 - (1 - eps) ** h for h in range(1, horizon + 1))  # Ross-Bagnell: Σ_h P(fell off by step h)
    assert cliff_gap_closed_form(horizon, eps) == pytest.approx(explicit, rel=1e-12)
    assert cliff_gap(8, 0.01) == pytest.approx(0.351725, abs=1e-6)  # docs/research/endogenous_reward_bounds.md §5.3


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
    # the H = 8 row of the table in docs/research/endogenous_reward_bounds.md §5.2
    assert walk_instance(8).bc_gap() == pytest.approx(0.004094, abs=1e-6)


def test_sampled_ntp_model_respects_theorem1_and_its_accuracy_is_the_pairwise_fraction():
    inst = sampled_ntp_instance(np.random.default_rng(3), n_demos=2000, vocab=2, horizon=3)
    true_returns, hat_returns = _tree_returns(inst, 2, 3)
    pairs = [(i, j) for i in range(8) for j in range(8) if true_returns[i] != true_returns[j]]
    agree = np.mean([(true_returns[i] > true_returns[j]) == (hat_returns[i] > hat_returns[j]) for i, j in pairs])
    assert preference_accuracy(inst, 2, 3) == pytest.approx(agree)
    assert max_preference_tv(true_returns, hat_returns) <= preference_tv_bound(3, inst.eps_pi, inst.alpha)


def test_cliff_profile_reproduces_the_variants_and_random_points_include_the_degenerate_ones():
    assert cliff_profile_instance([1e-3] * 40).bc_gap() == pytest.approx(cliff_gap(40, 1e-3), rel=1e-12)
    assert cliff_profile_instance([40e-3] + [0.0] * 39).bc_gap() == pytest.approx(40**2 * 1e-3, rel=1e-12)
    points = random_gap_points(np.random.default_rng(0), 2)
    assert [p.label for p in points[:4]] == ["one token", "uniform expert (r* = 0)",
                                             "near-deterministic expert (α = 0.02)", "single step"]
    assert points[0].eps_pi == points[0].bc_gap == points[0].rl_gap == 0.0 and points[3].horizon == 1
    assert len(points) == 6


# === Theorem 2 worst case over the constraint set (theory/robust_worst_case.py) ===========================

def _box_vertices(expert_row, eps):
    """Vertices of {π^E e^{−ε} ≤ p ≤ π^E e^{ε}, Σ p = 1}: all coordinates but one at an end of its interval."""
    lower, upper = ratio_box(expert_row, eps)
    vertices = set()
    for free in range(len(expert_row)):
        others = [a for a in range(len(expert_row)) if a != free]
        for ends in itertools.product(*[(lower[a], upper[a]) for a in others]):
            rest = 1.0 - sum(ends)
            if lower[free] - 1e-15 <= rest <= upper[free] + 1e-15:
                p = np.empty(len(expert_row))
                p[others], p[free] = ends, rest
                vertices.add(tuple(np.round(p, 15)))
    return [np.array(v) for v in vertices]


@pytest.mark.parametrize("seed", range(6))
def test_cheapest_in_box_solves_the_linear_program(seed):
    rng = np.random.default_rng(seed)
    for vocab in range(1, 7):
        expert = rng.dirichlet(np.full(vocab, float(rng.choice([0.2, 1.0, 5.0]))), size=4)
        costs = rng.normal(size=(4, vocab))
        costs[0] = 0.5  # ties everywhere
        costs[1, : vocab // 2] = costs[1, 0]
        eps = float(rng.choice([1e-3, 0.1, 1.0, 3.0]))
        lower, upper = ratio_box(expert, eps)
        policy = cheapest_in_box(lower, upper, costs)
        assert np.allclose(policy.sum(axis=1), 1.0, atol=1e-12)
        assert (policy >= lower - 1e-15).all() and (policy <= upper + 1e-15).all()
        for row in range(4):
            bounds = list(zip(lower[row], upper[row], strict=True))
            lp = linprog(costs[row], A_eq=np.ones((1, vocab)), b_eq=[1.0], bounds=bounds, method="highs")
            assert policy[row] @ costs[row] == pytest.approx(lp.fun, abs=1e-10)


@pytest.mark.parametrize(("vocab", "horizon"), [(2, 2), (2, 3), (3, 2)])
def test_robust_backward_induction_matches_brute_force_over_policies(vocab, horizon):
    """V^r is multilinear in the per-state policies, so its extremes over the product of polytopes are at vertices:
    enumerating every combination of per-state vertices is an exact brute force."""
    rng = np.random.default_rng(vocab * 10 + horizon)
    reward, alpha, eps = random_levels(rng, vocab, horizon), 0.5, 0.4
    expert = soft_optimal(reward, alpha)[2]
    per_state = [_box_vertices(row, eps) for level in expert for row in level]
    values = []
    for combo in itertools.product(*per_state):
        rows, policy = iter(combo), []
        for level in expert:
            policy.append(np.array([next(rows) for _ in range(len(level))]))
        values.append(expected_return(policy, reward))
    for sense, extreme in (("min", min), ("max", max)):
        learner, value_levels = extreme_learner(expert, reward, eps, sense=sense)
        assert value_levels[0][0] == pytest.approx(extreme(values), abs=1e-12)
        assert expected_return(learner, reward) == pytest.approx(extreme(values), abs=1e-12)
        assert box_log_ratio(expert, learner) <= eps + 1e-12
    worst = worst_case(reward, alpha, TreeDynamics(vocab), eps)
    assert worst.bc_gap == pytest.approx(expected_return(expert, reward) - min(values), abs=1e-12)
    assert bc_worst_gap(reward, alpha, TreeDynamics(vocab), eps) == pytest.approx(worst.bc_gap, abs=1e-12)


def test_worst_learner_of_the_walk_dominates_its_named_learner_and_the_fused_pass_agrees_on_automata():
    walk = walk_instance(32, eps=1e-3)
    worst = worst_case(walk.reward, walk.alpha, walk.dynamics, walk.eps_pi)
    assert walk.bc_gap() < worst.bc_gap <= bc_bound_three_halves(32, worst.bc_eps_pi)
    assert worst.bc_gap_negative < 0 and worst.bc_eps_pi == pytest.approx(walk.eps_pi, rel=1e-9)
    for family in FAMILIES[:2]:
        params = family.draw(np.random.default_rng(1), 16)
        reward, alpha, dynamics = family.build(params, 16)
        assert bc_worst_gap(reward, alpha, dynamics, 1e-2) == pytest.approx(
            worst_case(reward, alpha, dynamics, 1e-2).bc_gap, rel=1e-9, abs=1e-13)


def test_flattest_in_box_is_the_minimax_point():
    """min_p max_a (log p_a + s_a) = log of min_p max_a p_a e^{s_a}, a linear program in (p, t): min t subject to
    p_a e^{s_a} ≤ t, the box and Σ p = total (here with one token excluded, as on an expert path)."""
    rng = np.random.default_rng(5)
    expert, scores = rng.dirichlet(np.ones(4), size=6), rng.normal(size=(6, 4))
    lower, upper = ratio_box(expert, 0.5)
    lower[:, 0] = upper[:, 0] = 0.0  # the path's own token is not a competitor
    total = 1.0 - expert[:, 0]
    policy, value = flattest_in_box(lower, upper, total, scores)
    assert np.allclose(policy.sum(axis=1), total) and (policy >= lower - 1e-12).all()
    assert (policy <= upper + 1e-12).all()
    for row in range(6):
        weights = np.exp(scores[row])
        lp = linprog(np.r_[np.zeros(4), 1.0], A_ub=np.c_[np.diag(weights), -np.ones(4)], b_ub=np.zeros(4),
                     A_eq=np.r_[np.ones(4), 0.0][None], b_eq=[total[row]],
                     bounds=[*zip(lower[row], upper[row], strict=True), (0, None)], method="highs")
        assert value[row] == pytest.approx(np.log(lp.fun), abs=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_rl_worst_case_tree_against_a_grid_of_policies(seed):
    """V = 2, H = 2: every mode of a grid policy in P_ε is declared achievable, the exact worst gap is at least the
    grid's, and the returned learner lies in P_ε and has the returned path as a mode."""
    rng = np.random.default_rng(seed)
    reward, alpha, eps = random_levels(rng, 2, 2), float(rng.choice([0.3, 1.0])), float(rng.choice([0.1, 0.5]))
    result = rl_worst_case_tree(reward, alpha, eps)
    expert = soft_optimal(reward, alpha)[2]
    paths, returns = all_trajectories(2, 2), outcome_reward(reward, all_trajectories(2, 2))
    expert_value = expected_return(expert, reward)
    grids = []
    for level in expert:
        for row in level:
            lower, upper = ratio_box(row, eps)
            grids.append(np.linspace(max(lower[0], 1 - upper[1]), min(upper[0], 1 - lower[1]), 9))
    grid_worst = -np.inf
    for combo in itertools.product(*grids):
        policy = [np.array([[combo[0], 1 - combo[0]]]), np.array([[c, 1 - c] for c in combo[1:]])]
        likelihood = log_likelihood(policy, paths)
        grid_worst = max(grid_worst, expert_value - returns[likelihood >= likelihood.max() - 1e-12].min())
    assert grid_worst <= result.gap + 1e-12
    check_policy(result.learner)
    assert box_log_ratio(expert, result.learner) <= eps + 1e-12
    likelihood = log_likelihood(result.learner, paths)
    chosen = int(result.path @ [2, 1])
    assert likelihood[chosen] >= likelihood.max() - 1e-9
    assert result.gap == pytest.approx(expert_value - returns[chosen], abs=1e-12)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), horizon=st.integers(1, 12), log_eps=st.floats(-7, 0.5))
def test_searched_worst_cases_never_exceed_the_proven_bounds(seed, horizon, log_eps):
    rng, eps = np.random.default_rng(seed), float(np.exp(log_eps))
    for family in FAMILIES:
        reward, alpha, dynamics = family.build(family.draw(rng, min(horizon, 5)), min(horizon, 5)) \
            if isinstance(family, TreeFamily) else family.build(family.draw(rng, horizon), horizon)
        h = len(reward)
        worst = worst_case(reward, alpha, dynamics, eps)
        assert worst.bc_gap <= bc_bound_quadratic(h, worst.bc_eps_pi) + 1e-12
        assert abs(worst.bc_gap) <= bc_bound_three_halves(h, worst.bc_eps_pi) + 1e-12
        assert -worst.bc_gap_negative <= bc_bound_three_halves(h, worst.negative_eps_pi) + 1e-12
        assert worst.rl_gap <= rl_bound(h, worst.bc_eps_pi, alpha) + 1e-9
    tree = TreeFamily(3, 3)
    reward, alpha, _ = tree.build(tree.draw(rng, 3), 3)
    rl = rl_worst_case_tree(reward, alpha, eps)
    assert rl.gap <= rl_bound(3, rl.eps_pi, alpha) + 1e-9


def test_search_is_reproducible_and_covers_every_family_and_horizon():
    budget = SearchBudget(restarts=1, moves=2, carried=1)
    first = search_worst_case(np.random.default_rng(3), (4, 8, 16), 1e-3, budget)
    again = search_worst_case(np.random.default_rng(3), (4, 8, 16), 1e-3, budget)
    assert first == again
    assert set(first) == {(f.name, h) for f in FAMILIES for h in (4, 8, 16) if h <= getattr(f, "max_horizon", h)}
    rl = search_rl_worst_case(np.random.default_rng(3), ((2, 3),), 1e-3, SearchBudget(2, 2, 0))
    alpha, result = rl[2, 3]
    assert alpha <= 0.25 / 1e-3 + 1e-9 and result.gap <= rl_bound(3, result.eps_pi, alpha) + 1e-9
