"""Theorem 2 at finite data with a tiny GPT (learned/thm2_gpt.py, learned/thm2_gpt_claims.py).

Independent checks of the measurement (representative prefixes against brute force, the read-out against the
GPT's own prefix-tree logits where every prefix is its own state, the Monte Carlo gap and KL against exact
enumeration on the tree, training reproducible and learning), then planted positive and negative controls for both
claims through the engine, then the registered checks on a tiny grid.
"""

import dataclasses

import numpy as np
import pytest
import torch

from core.ledger import REGISTRY, Context, evaluate, judge
from learned import thm2_finite_data as finite
from learned import thm2_gpt as gpt
from learned import thm2_gpt_claims as claims
from tests.test_thm2_finite_data import prefix_automaton
from theory import soft_rl
from toy.gpt import TinyGPT

CONTROLLED_CLAIMS = {"bounds.thm2_gpt_bc_exponent", "bounds.thm2_gpt_bc_log_loss_bound"}
HORIZONS = (8, 16, 32)
QUICK_TRAINING = dataclasses.replace(gpt.TRAINING, steps=40)


def random_demos(horizon: int, n_demos: int, seed: int) -> finite.Demonstrations:
    family = finite.RandomAutomatonFamily()
    rng = np.random.default_rng(seed)
    return finite.demonstrate(family, finite.draw_instance(family, rng), 0, horizon, n_demos, rng)


def untrained_gpt(horizon: int, seed: int = 0) -> TinyGPT:
    torch.manual_seed(seed)
    return TinyGPT(gpt.BOS + 1, horizon, 1, 32, 4, 4)


# --- the measurement -----------------------------------------------------------------------------------------

def test_representatives_are_the_experts_most_likely_prefixes():
    demos = random_demos(6, 10, seed=0)
    log_expert, transition = demos.log_expert(), demos.dynamics.transition
    for h, level in enumerate(gpt.representative_prefixes(demos)):
        prefixes = soft_rl.all_trajectories(demos.dynamics.vocab, h) if h else np.zeros((1, 0), dtype=np.int64)
        states, log_prob = np.full(len(prefixes), demos.dynamics.start), np.zeros(len(prefixes))
        for step in range(h):
            log_prob += log_expert[step][states, prefixes[:, step]]
            states = transition[states, prefixes[:, step]]
        for q in np.flatnonzero(finite.reachable_states(demos.dynamics, 6)[h]):
            state, chosen = demos.dynamics.start, 0.0
            for step, token in enumerate(level[q]):
                chosen += log_expert[step][state, token]
                state = transition[state, token]
            assert state == q and chosen == pytest.approx(log_prob[states == q].max(), abs=1e-12)


def test_readout_is_the_gpt_itself_when_every_prefix_is_a_state():
    vocab, horizon, rng = 2, 5, np.random.default_rng(1)
    dynamics = prefix_automaton(vocab, horizon)
    reward = soft_rl.repeat_level(rng.uniform(size=dynamics.transition.shape), horizon)
    q_levels, values, expert = soft_rl.soft_optimal(reward, 0.5, dynamics)
    states, tokens = finite.sample_responses(rng, expert, dynamics, 20)
    demos = finite.Demonstrations("prefixes", 0, 0.5, reward, dynamics, q_levels, values[:horizon], expert, states,
                                  tokens)
    model = untrained_gpt(horizon)
    readout = gpt.readout_policy(model, demos)
    with torch.no_grad():
        tree = soft_rl.softmax_policy([level.double().numpy() for level in gpt.tree_logits(model, vocab, horizon)], 1)
    offset = 0
    for h in range(horizon):
        np.testing.assert_allclose(readout[h][offset:offset + vocab**h], tree[h], atol=1e-6)
        offset += vocab**h


def exact_kl_per_token(inst, horizon: int) -> float:
    law = soft_rl.state_distributions(inst.expert)
    return sum(float(d @ (p * (np.log(p) - np.log(q))).sum(axis=1))
               for d, p, q in zip(law, inst.expert, inst.learner, strict=False)) / horizon


def test_monte_carlo_gap_and_kl_match_the_enumerated_tree():
    """H = 8: the GPT sampled through its KV cache and read on fresh expert prefixes vs the exact tree (4σ)."""
    demos = random_demos(8, 100, seed=2)
    model = gpt.train_bc_gpt(demos.tokens, demos.dynamics.vocab, QUICK_TRAINING)
    table = finite.measure_learner(demos, finite.automaton_count_policy(demos.counts()))
    run = gpt.measure_gpt(demos, model, 0, np.random.default_rng(3), 4000, table)
    tree = gpt.tree_instance(model, demos)
    assert run.tree_bc_gap == pytest.approx(tree.bc_gap())
    assert abs(run.bc_gap - tree.bc_gap()) <= 4 * (run.bc_gap_high - run.bc_gap_low) / (2 * 1.96)
    exact_kl = exact_kl_per_token(tree, 8)
    assert abs(run.kl_per_token - exact_kl) <= 2 * (run.kl_per_token_high - run.kl_per_token_low)
    # the read-out reads real prefixes: its ε_π is a lower bound on the sup over every prefix
    assert run.readout.eps_pi <= run.tree_eps_pi + 1e-9 and run.eps_pi_expert_prefixes <= run.tree_eps_pi + 1e-9


def test_training_is_reproducible_and_learns():
    demos = random_demos(8, 200, seed=4)
    first, second = (gpt.train_bc_gpt(demos.tokens, demos.dynamics.vocab, QUICK_TRAINING) for _ in range(2))
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), second.state_dict().values(),
                                                  strict=True))
    trained = exact_kl_per_token(gpt.tree_instance(first, demos), 8)
    assert trained < exact_kl_per_token(gpt.tree_instance(untrained_gpt(8), demos), 8) / 2


# --- planted controls -----------------------------------------------------------------------------------------

def planted_runs(bc_gap=lambda h, i: (1 + 0.1 * i) * 1e-3 * h**2, kl=lambda h, i: 1e-3, gap_half_width=1e-3,
                 kl_half_width=1e-4) -> list[gpt.GPTRun]:
    """GPT runs of one family × 3 instances × H × n ∈ {100, 1000} with planted GPT gaps and KLs; the table and the
    read-out are harmless FiniteDataRuns."""
    def learner(i, h, n):
        return finite.FiniteDataRun("family A", i, h, n, 0.5, bc_gap=0.01 * h, rl_gap=0.0, rl_regret=0.01 * h,
                                    expert_shortfall=0.0, eps_pi=5.0, eps_pi_visited=4.0, mle_eps_infinite=True,
                                    unvisited_fraction=0.5, kl_per_token=1e-3, tv_per_step=0.05)

    runs = []
    for i in range(3):
        for h in HORIZONS:
            for n in (100, 1000):
                gap, k = bc_gap(h, i), kl(h, i)
                runs.append(gpt.GPTRun(learner(i, h, n), learner(i, h, n), i, gap, gap - gap_half_width,
                                       gap + gap_half_width, k, max(k - kl_half_width, 0.0), k + kl_half_width,
                                       eps_pi_expert_prefixes=3.0, readout_log_defect=0.1, readout_tv=0.01,
                                       tree_bc_gap=np.nan, tree_rl_gap=np.nan, tree_eps_pi=np.nan))
    return runs


def verdict(claim_id: str, outcome) -> str:
    return judge(REGISTRY[claim_id], outcome).verdict


def test_bc_exponent_controls():
    claim_id = "bounds.thm2_gpt_bc_exponent"
    outcome = claims.judge_gpt_bc_exponent(planted_runs())
    assert verdict(claim_id, outcome) == "holds"
    assert {"exponents", "by_horizon", "gpt_by_horizon"} <= set(outcome.tables)
    assert verdict(claim_id, claims.judge_gpt_bc_exponent(planted_runs(bc_gap=lambda h, i: (1 + i) * 0.01 * h))) \
        == "fails"
    # a mean gap ≤ 0 at some H (the GPT beats the soft expert there): no exponent, nothing informative
    negative = planted_runs(bc_gap=lambda h, i: -1.0 if h == 16 else 1e-3 * h**2)
    assert verdict(claim_id, claims.judge_gpt_bc_exponent(negative)) == "inconclusive"


def test_bc_log_loss_bound_controls():
    claim_id = "bounds.thm2_gpt_bc_log_loss_bound"
    kl = 1e-3  # H·√(H·kl/2) < H for every H ≤ 32: informative

    def at(fraction: float, **fields):
        return planted_runs(bc_gap=lambda h, i: fraction * claims.log_loss_bound(h, kl), kl=lambda h, i: kl,
                            **fields)

    assert verdict(claim_id, claims.judge_gpt_bc_log_loss_bound(at(0.5))) == "holds"
    assert verdict(claim_id, claims.judge_gpt_bc_log_loss_bound(at(2.0))) == "fails"
    assert verdict(claim_id, claims.judge_gpt_bc_log_loss_bound(at(-2.0))) == "fails"  # |gap|
    # Monte Carlo intervals that straddle the bound decide nothing
    assert verdict(claim_id, claims.judge_gpt_bc_log_loss_bound(at(1.0, kl_half_width=5e-4))) == "inconclusive"
    # a KL so large that the bound is ≥ H: the run cannot fail and is left out
    vacuous = planted_runs(bc_gap=lambda h, i: 100.0, kl=lambda h, i: 10.0)
    assert verdict(claim_id, claims.judge_gpt_bc_log_loss_bound(vacuous)) == "inconclusive"


# --- the registered checks on a tiny grid --------------------------------------------------------------------

@pytest.fixture
def tiny_grid(monkeypatch):
    grid = gpt.GPTGrid(finite.FAMILIES[:1], (8, 12, 16), (100,), 2, 500)
    monkeypatch.setitem(gpt.GPT_GRIDS, "quick", grid)
    claims.gpt_runs.cache_clear()
    yield grid
    claims.gpt_runs.cache_clear()


def test_registered_checks_on_a_tiny_grid(tiny_grid):
    results = {cid: evaluate(REGISTRY[cid], Context("quick", seed=1)) for cid in sorted(CONTROLLED_CLAIMS)}
    assert "error" not in {r.verdict for r in results.values()}, {c: r.detail for c, r in results.items()}
    runs = claims.gpt_runs("quick", 1)
    assert len(runs) == 2 * 3 and {r.family for r in runs} == {"soft cliff"}
    assert all(np.isfinite(r.tree_bc_gap) == (r.horizon <= 12) for r in runs)  # V = 2: 2^(H−1) ≤ 4096
