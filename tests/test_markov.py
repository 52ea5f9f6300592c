"""learned.markov: the chain sampler, the policy table read off the TinyGPT, the RL returns, NTP progress,
determinism."""

import itertools
from dataclasses import replace

import numpy as np
import pytest
import torch

from learned.markov import (
    POLICIES,
    MarkovConfig,
    build_markov_gpt,
    context_tokens,
    differential_returns,
    log_policy_table,
    pair_weights,
    policy_table,
    run,
    sample_walk,
    step_rewards,
    train_ntp,
)
from theory.chains import (
    differential_values,
    next_state_table,
    on_policy_distribution,
    random_softmax_policy,
)

TINY = MarkovConfig(ntp_steps=60, rl_steps=10, rl_walkers=16)
P_HUMAN = random_softmax_policy(np.random.default_rng(7), TINY.vocab, TINY.order)  # the seed-0 ledger's first chain


def scrambled_model(cfg: MarkovConfig):
    """A TinyGPT with N(0, 1) weights: far-from-uniform rows, so a mis-ordered table cannot pass by accident."""
    model = build_markov_gpt(cfg)
    torch.manual_seed(5)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_()
    return model


def test_sampled_transition_frequencies_match_p_human_within_five_standard_errors():
    p_human = P_HUMAN
    mu_data = on_policy_distribution(p_human)
    rng = np.random.default_rng(1)
    states, actions = sample_walk(p_human, rng.choice(len(mu_data), 64, p=mu_data), 500, rng)
    counts = np.zeros_like(p_human)
    np.add.at(counts, (states, actions), 1)
    visits = counts.sum(axis=1, keepdims=True)
    standard_error = np.sqrt(p_human * (1 - p_human) / visits)
    assert visits.min() > 1000
    assert np.all(np.abs(counts / visits - p_human) <= 5 * standard_error)


def test_walk_follows_the_deterministic_transition():
    p_human = P_HUMAN
    states, actions = sample_walk(p_human, np.arange(9), 20, np.random.default_rng(2))
    assert np.array_equal(states[:, 1:], next_state_table(3, 2)[states[:, :-1], actions[:, :-1]])


def test_policy_table_equals_the_models_cached_logits_on_every_context():
    model, (vocab, order) = scrambled_model(TINY), (TINY.vocab, TINY.order)
    table, log_table = policy_table(model, vocab, order), log_policy_table(model, vocab, order).detach()
    next_state = next_state_table(vocab, order)
    assert table.min() < 0.05 < 0.9 < table.max()  # rows far from uniform
    for tokens in itertools.product(range(vocab), repeat=order):  # oldest token first
        state = 0
        for token in tokens:  # walk the chain's own transition: after k tokens the start state is forgotten
            state = next_state[state, token]
        with torch.no_grad():
            logits, _ = model.start(torch.tensor([tokens]))  # the KV-cache path, not forward()
        assert torch.allclose(torch.log_softmax(logits[0], dim=-1), log_table[state], atol=1e-5)
        np.testing.assert_allclose(table[state], torch.softmax(logits[0].double(), dim=-1).numpy(), atol=1e-6)


def test_counted_ntp_loss_equals_the_per_sample_loss_and_gradient():
    model, p_human = scrambled_model(TINY), P_HUMAN
    rng = np.random.default_rng(3)
    states, actions = sample_walk(p_human, rng.integers(0, 9, 8), 12, rng)
    counted = -(pair_weights(states, actions, np.ones(states.shape), p_human.shape)
                * log_policy_table(model, TINY.vocab, TINY.order)).sum() / states.size
    counted_grad = torch.autograd.grad(counted, model.head.weight)[0]
    inputs = context_tokens(TINY.vocab, TINY.order)[torch.from_numpy(states.ravel())]
    per_sample = torch.nn.functional.cross_entropy(model(inputs)[:, -1], torch.from_numpy(actions.ravel()))
    per_sample_grad = torch.autograd.grad(per_sample, model.head.weight)[0]
    assert torch.allclose(counted, per_sample, atol=1e-5)
    assert torch.allclose(counted_grad, per_sample_grad, atol=1e-5)


def test_rewards_and_differential_returns_on_a_hand_made_two_state_chain():
    p_human, policy = np.array([[0.8, 0.2], [0.4, 0.6]]), np.array([[0.5, 0.5], [0.9, 0.1]])
    states, actions = np.array([[0, 0, 1]]), np.array([[0, 1, 0]])  # 0 -a=0-> 0 -a=1-> 1 -a=0-> 0
    rewards = step_rewards(p_human, policy, states, actions, entropy=False)
    np.testing.assert_allclose(rewards, np.log([[0.8, 0.2, 0.4]]))
    np.testing.assert_allclose(step_rewards(p_human, policy, states, actions, entropy=True),
                               np.log([[0.8 / 0.5, 0.2 / 0.5, 0.4 / 0.9]]))
    baseline = -1.0
    np.testing.assert_allclose(differential_returns(rewards, baseline, 2),
                               [[np.log(0.8) + np.log(0.2) + 2, np.log(0.2) + np.log(0.4) + 2]])
    np.testing.assert_allclose(differential_returns(rewards, baseline, 1), rewards - baseline)


def test_differential_return_estimates_the_differential_action_value():
    """E[G_t | s, a] = q(s, a) − E[h(s_{t+H})] → q(s, a) (theory.chains.differential_values) as the chain mixes."""
    p_human, policy = np.array([[0.8, 0.2], [0.4, 0.6]]), np.array([[0.5, 0.5], [0.9, 0.1]])
    rho, _, q = differential_values(policy, np.log(p_human))
    rng, horizon = np.random.default_rng(4), 12
    states, actions = sample_walk(policy, rng.integers(0, 2, 400), 200, rng)
    returns = differential_returns(step_rewards(p_human, policy, states, actions, False), rho, horizon)
    first_states, first_actions = states[:, : returns.shape[1]], actions[:, : returns.shape[1]]
    for s, a in itertools.product(range(2), repeat=2):
        picked = returns[(first_states == s) & (first_actions == a)]
        # a return overlaps the 2H − 1 returns nearest in time on its walk: variance of the mean ≤ (2H − 1)× naive
        standard_error = picked.std() * np.sqrt((2 * horizon - 1) / len(picked))
        assert abs(picked.mean() - q[s, a]) <= 5 * standard_error, (s, a, picked.mean(), q[s, a])


def kl_to_human(policy, p_human):
    """KL_{μ_D}(p_h ‖ π) = Σ_s μ_D(s) Σ_a p_h log(p_h / π), written out (learned.markov: NTP(p_h) − NTP(π))."""
    return float(on_policy_distribution(p_human) @ (p_human * np.log(p_human / policy)).sum(axis=1))


def test_short_ntp_run_reduces_kl_to_p_human_tenfold():
    cfg = replace(TINY, ntp_steps=150)  # 150 · 1024 pairs; 60 steps only reach a ninefold reduction
    p_human = P_HUMAN
    model = build_markov_gpt(cfg)
    before = kl_to_human(policy_table(model, cfg.vocab, cfg.order), p_human)
    train_ntp(model, p_human, cfg, np.random.default_rng(5))
    after = kl_to_human(policy_table(model, cfg.vocab, cfg.order), p_human)
    assert after <= before / 10, (before, after)


def test_same_seed_gives_identical_numbers_and_another_seed_does_not():
    cfg = replace(TINY, ntp_steps=20)
    first, second, other = run(cfg, P_HUMAN), run(cfg, P_HUMAN), run(replace(cfg, seed=1), P_HUMAN)
    for name in POLICIES:
        assert np.array_equal(first[name]["policy"], second[name]["policy"])
        assert first[name]["rho"] == second[name]["rho"]
        assert not np.array_equal(first[name]["policy"], other[name]["policy"])


def test_run_rejects_a_chain_the_model_cannot_read():
    with pytest.raises(ValueError, match="shape"):
        run(TINY, random_softmax_policy(np.random.default_rng(0), TINY.vocab, TINY.order + 1))
