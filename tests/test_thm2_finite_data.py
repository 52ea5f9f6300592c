"""Theorem 2 at finite data (learned/thm2_finite_data.py, learned/thm2_finite_data_claims.py,
learned/thm2_finite_eps_claims.py).

Independent checks of the measurement (the count table against soft_rl.ntp_count_policy on a tree, the soft cliff
against error_bounds' closed form, the demonstrations against the expert's exact value, n → ∞), then planted
positive and negative controls for every claim through the engine (core.ledger.judge), then the registered checks on
a small grid.
"""

import dataclasses

import numpy as np
import pytest

from core.ledger import REGISTRY, Context, evaluate, judge
from learned import thm2_finite_data as finite
from learned import thm2_finite_data_claims as claims
from learned import thm2_finite_eps_claims as eps_claims
from theory import error_bounds, soft_rl

CONTROLLED_CLAIMS = {
    "bounds.thm2_finite_bc_exponent",
    "bounds.thm2_finite_rl_exponent",
    "bounds.thm2_finite_eps_pi_vacuous",
    "bounds.thm2_finite_bc_log_loss_bound",
    "bounds.thm2_finite_at_measured_eps",
}
HORIZONS = (8, 16, 32, 64, 128, 256)


# --- the measurement -----------------------------------------------------------------------------------------

def prefix_automaton(vocab: int, horizon: int) -> soft_rl.AutomatonDynamics:
    """Every prefix of length 0..H its own state (offset of level h + base-V index), so (h, q) is the prefix."""
    offsets = np.concatenate([[0], np.cumsum([vocab**h for h in range(horizon + 1)])])
    transition = np.zeros((offsets[-1], vocab), dtype=np.int64)
    for h in range(horizon + 1):
        rows = offsets[h] + np.arange(vocab**h)
        child = offsets[min(h + 1, horizon)] + (np.arange(vocab**h)[:, None] * vocab + np.arange(vocab)
                                                 if h < horizon else np.zeros((1, vocab), dtype=np.int64))
        transition[rows] = child if h < horizon else rows[:, None]
    return soft_rl.AutomatonDynamics(transition)


def test_count_table_is_the_tree_count_table_with_prefixes_merged_by_state():
    vocab, horizon, rng = 2, 4, np.random.default_rng(0)
    reward = soft_rl.random_levels(rng, vocab, horizon)
    _, tokens = error_bounds.expert_demonstrations(rng, reward, 30, 1.0)
    dynamics = prefix_automaton(vocab, horizon)
    states = np.zeros_like(tokens)
    current = np.zeros(len(tokens), dtype=np.int64)
    for h in range(horizon):
        states[:, h] = current
        current = dynamics.transition[current, tokens[:, h]]
    table = finite.automaton_count_policy(finite.automaton_counts(states, tokens, dynamics))
    tree = soft_rl.ntp_count_policy(tokens, vocab, finite.SMOOTHING)
    offset = 0
    for h in range(horizon):
        np.testing.assert_allclose(table[h][offset:offset + vocab**h], tree[h], atol=1e-15)
        offset += vocab**h


def test_demonstrations_have_the_expert_value_within_monte_carlo_error():
    family = finite.RandomAutomatonFamily()
    reward, alpha, dynamics = family.build(finite.draw_instance(family, np.random.default_rng(1)), 32)
    expert = soft_rl.soft_optimal(reward, alpha, dynamics)[2]
    _, tokens = finite.sample_responses(np.random.default_rng(2), expert, dynamics, 20_000)
    returns = soft_rl.automaton_step_rewards(reward, tokens, dynamics).sum(axis=1)
    exact = soft_rl.expected_return(expert, reward, dynamics)
    assert abs(returns.mean() - exact) <= 4 * returns.std() / np.sqrt(len(returns))


@pytest.mark.parametrize("n_demos", [10, 1000])
def test_soft_cliff_gaps_have_the_ross_bagnell_closed_form(n_demos):
    """α = 0.05: the expert never falls in the demonstrations, so the table errs with ε = λ/(n + 2λ) on the path at
    every step: BC gap = H − Σ_h (1−ε)^h − (V(π*) − V(π^E)) exactly, and RL on r̂ follows the good token (regret 0)."""
    horizon = 64
    run = finite.measure_run(finite.SoftCliffFamily(), {"log_alpha": np.log(0.05)}, 0, horizon, n_demos,
                             np.random.default_rng(0))
    eps = finite.SMOOTHING / (n_demos + 2 * finite.SMOOTHING)
    assert run.bc_gap == pytest.approx(error_bounds.cliff_gap_closed_form(horizon, eps) - run.expert_shortfall,
                                       abs=1e-9)
    assert run.rl_regret == 0 and run.rl_gap == pytest.approx(-run.expert_shortfall, abs=1e-12)
    assert run.tv_per_step == pytest.approx(eps, rel=1e-6)
    assert run.kl_per_token == pytest.approx(-np.log1p(-eps), rel=1e-6)
    # the sink is reachable from step 1 on and never visited; ε_π is set by the path's e^{-O(H/α)} expert error
    assert run.unvisited_fraction == pytest.approx((horizon - 1) / (2 * horizon - 1))
    assert run.mle_eps_infinite and run.rl_bound_vacuous and run.eps_pi > horizon


def test_many_demonstrations_recover_the_expert_and_rl_recovers_the_optimum():
    """n → ∞: KL_traj within 5× its χ² mean (V−1)·#states/(2n), the BC gap within Pinsker of it, RL on r̂ = π*."""
    family, horizon = finite.RandomAutomatonFamily(), 16
    params = finite.draw_instance(family, np.random.default_rng(3))
    few, many = (finite.measure_run(family, params, 0, horizon, n, np.random.default_rng(1)) for n in (100, 100_000))
    _, _, dynamics = family.build(params, horizon)
    states = sum(int(m.sum()) for m in finite.reachable_states(dynamics, horizon))
    kl_traj = many.kl_per_token * horizon
    assert kl_traj <= 5 * (dynamics.vocab - 1) * states / (2 * many.n_demos)
    assert abs(many.bc_gap) <= horizon * np.sqrt(kl_traj / 2) and abs(many.bc_gap) < abs(few.bc_gap) / 10
    assert many.rl_regret == 0 and many.rl_gap == pytest.approx(-many.expert_shortfall)


def test_eps_pi_counts_reachable_states_only():
    """A walk's automaton rows beyond ±h are unreachable at step h: ε_π over them would be an artefact."""
    family = finite.FixedTemperatureWalkFamily()
    params = finite.draw_instance(family, np.random.default_rng(4))
    _, _, dynamics = family.build(params, 16)
    reachable = finite.reachable_states(dynamics, 16)
    assert [int(m.sum()) for m in reachable[:3]] == [1, 2 if dynamics.vocab == 2 else 3, 3 if dynamics.vocab == 2
                                                     else 5]
    run = finite.measure_run(family, params, 0, 16, 10, np.random.default_rng(5))
    assert run.eps_pi_visited <= run.eps_pi < np.inf and 0 < run.unvisited_fraction < 1


# --- planted controls -----------------------------------------------------------------------------------------

def planted_runs(bc_gap=lambda h, i: (1 + 0.1 * i) * 1e-3 * h**2, regret=lambda h, i: (1 + 0.1 * i) * 0.01 * h,
                 rl_gap=lambda h, i: 0.0, families=("family A", "family B"), **fields) -> list[finite.FiniteDataRun]:
    """Runs of two families × 3 instances × H × n ∈ {10, 100} with planted gaps (instance i scales them by 1 + i/10,
    so the bootstrap over instances has something to resample); the other fields are harmless defaults."""
    defaults = {"alpha": 0.5, "expert_shortfall": 0.0, "eps_pi": 5.0, "eps_pi_visited": 4.0, "mle_eps_infinite": True,
                "unvisited_fraction": 0.5, "kl_per_token": 1e-3, "tv_per_step": 0.05} | fields
    return [finite.FiniteDataRun(family, i, h, n, bc_gap=bc_gap(h, i), rl_gap=rl_gap(h, i), rl_regret=regret(h, i),
                                 **defaults)
            for family in families for i in range(3) for h in HORIZONS for n in (10, 100)]


def verdict(claim_id: str, outcome) -> str:
    return judge(REGISTRY[claim_id], outcome).verdict


def test_bc_exponent_controls():
    claim_id = "bounds.thm2_finite_bc_exponent"
    outcome = claims.judge_bc_exponent(planted_runs())  # BC ∝ H², RL regret ∝ H: the paper's separation
    assert verdict(claim_id, outcome) == "holds"
    assert all(row["separation"] == pytest.approx(1.0) for row in outcome.tables["separation"])
    assert verdict(claim_id, claims.judge_bc_exponent(planted_runs(bc_gap=lambda h, i: (1 + i) * 0.01 * h))) \
        == "fails"
    # for-all: one linear family among quadratic ones fails the claim
    mixed = planted_runs() + planted_runs(bc_gap=lambda h, i: 0.01 * h, families=("family C",))
    assert verdict(claim_id, claims.judge_bc_exponent(mixed)) == "fails"
    # a mean gap ≤ 0 at some H ≥ 32 has no exponent: nothing informative is left
    negative = planted_runs(bc_gap=lambda h, i: -1.0 if h == 64 else 1e-3 * h**2)
    assert verdict(claim_id, claims.judge_bc_exponent(negative)) == "inconclusive"


def test_rl_exponent_controls():
    claim_id = "bounds.thm2_finite_rl_exponent"
    assert verdict(claim_id, claims.judge_rl_exponent(planted_runs())) == "holds"
    assert verdict(claim_id, claims.judge_rl_exponent(planted_runs(regret=lambda h, i: 1e-3 * h**2))) == "fails"
    # RL on r̂ recovering π* at every H: exponent 0, a regret that does not grow at all
    assert verdict(claim_id, claims.judge_rl_exponent(planted_runs(regret=lambda h, i: 0.0))) == "holds"
    # a quadratic regret carried by one instance out of three: the bootstrap cannot locate the exponent
    lone = planted_runs(regret=lambda h, i: 1e-3 * h**2 if i == 0 else 0.0)
    assert verdict(claim_id, claims.judge_rl_exponent(lone)) == "inconclusive"


def test_eps_pi_vacuous_controls():
    claim_id = "bounds.thm2_finite_eps_pi_vacuous"
    assert verdict(claim_id, eps_claims.judge_eps_pi_vacuous(planted_runs())) == "holds"  # 2·0.5·5 ≥ 1: vacuous
    controlled = planted_runs(eps_pi=1e-3, eps_pi_visited=1e-3, mle_eps_infinite=False)
    assert not any(r.rl_bound_vacuous for r in controlled)
    assert verdict(claim_id, eps_claims.judge_eps_pi_vacuous(controlled)) == "fails"
    # vacuous RL bound but a finite MLE ε_π: the secondary criterion is a caveat
    finite_mle = planted_runs(mle_eps_infinite=False)
    assert verdict(claim_id, eps_claims.judge_eps_pi_vacuous(finite_mle)) == "holds-with-caveat"


def test_bc_log_loss_bound_controls():
    claim_id = "bounds.thm2_finite_bc_log_loss_bound"
    kl, tv = 1e-4, 3e-3  # both bounds < H for every H ≤ 256, and 0.9 × the KL bound ≤ H²·tv from H = 8 on

    def at(fraction: float):
        return planted_runs(bc_gap=lambda h, i: fraction * h * np.sqrt(h * kl / 2), kl_per_token=kl, tv_per_step=tv)

    assert verdict(claim_id, eps_claims.judge_bc_log_loss_bound(at(0.9))) == "holds"
    assert verdict(claim_id, eps_claims.judge_bc_log_loss_bound(at(1.1))) == "fails"
    assert verdict(claim_id, eps_claims.judge_bc_log_loss_bound(at(-1.1))) == "fails"  # |gap|: a negative gap too
    # zero KL allows a zero gap only
    exact = planted_runs(bc_gap=lambda h, i: 0.0, kl_per_token=0.0, tv_per_step=0.0)
    assert verdict(claim_id, eps_claims.judge_bc_log_loss_bound(exact)) == "holds"
    gap_at_zero_kl = planted_runs(bc_gap=lambda h, i: 1e-3, kl_per_token=0.0, tv_per_step=0.0)
    assert verdict(claim_id, eps_claims.judge_bc_log_loss_bound(gap_at_zero_kl)) == "fails"


def test_at_measured_eps_controls():
    claim_id = "bounds.thm2_finite_at_measured_eps"
    eps, alpha = 0.1, 0.5  # 2αHε = 0.1 H < H: informative

    def at(fraction: float):
        return planted_runs(bc_gap=lambda h, i: 0.0, rl_gap=lambda h, i: fraction * 2 * alpha * h * eps, eps_pi=eps,
                            alpha=alpha)

    assert verdict(claim_id, eps_claims.judge_at_measured_eps(at(0.9))) == "holds"
    assert verdict(claim_id, eps_claims.judge_at_measured_eps(at(1.1))) == "fails"
    # every bound vacuous: the theorem cannot fail, nothing is decided
    assert verdict(claim_id, eps_claims.judge_at_measured_eps(planted_runs(eps_pi=10.0))) == "inconclusive"


# --- the registered checks on a small grid -------------------------------------------------------------------

@pytest.fixture
def small_grid(monkeypatch):
    monkeypatch.setitem(finite.GRIDS, "quick", finite.Grid((8, 32, 64, 128), (10, 100), 2))
    claims.finite_data_runs.cache_clear()
    yield
    claims.finite_data_runs.cache_clear()


def test_registered_checks_on_a_small_grid(small_grid):
    results = {cid: evaluate(REGISTRY[cid], Context("quick", seed=1)) for cid in sorted(CONTROLLED_CLAIMS)}
    assert "error" not in {r.verdict for r in results.values()}, {c: r.detail for c, r in results.items()}
    assert results["bounds.thm2_finite_bc_log_loss_bound"].verdict == "holds"
    assert results["bounds.thm2_finite_eps_pi_vacuous"].verdict == "holds"
    assert {"exponents", "by_horizon"} <= set(results["bounds.thm2_finite_bc_exponent"].tables)
    runs = claims.finite_data_runs("quick", 1)
    assert len(runs) == 3 * 2 * 4 * 2 and all(dataclasses.is_dataclass(r) for r in runs)
