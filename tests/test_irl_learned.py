"""TinyGPT learner of theory/irl_learned_claims.py: prefix-logit extraction, normalisation, learning, determinism."""

import dataclasses

import numpy as np
import pytest
import torch

from theory import error_bounds, soft_rl
from learned.irl_learned_claims import (
    BOS,
    HORIZON,
    SEED,
    TRAINING,
    VOCAB,
    gpt_instance,
    one_torch_thread,
    sample_demonstrations,
    train_ntp_gpt,
    tree_logits,
)

SHORT_TRAINING = dataclasses.replace(TRAINING, steps=30)


@pytest.fixture(scope="module")
def demonstrations():
    """(r*, π^E, 1000 expert responses) of one instance."""
    return sample_demonstrations(np.random.default_rng(0), 1_000)


@pytest.fixture(scope="module")
def trained(demonstrations):
    """The claim's TinyGPT after its full training budget on the 1000 demonstrations."""
    return train_ntp_gpt(demonstrations[2])


def prefix_row(prefix) -> int:
    """Base-V index of a prefix, first token most significant, by string parsing (independent of soft_rl)."""
    return int("".join(map(str, prefix)) or "0", VOCAB)


def test_sampler_draws_the_tabular_claims_demonstrations():
    for n_demos in (10, 1_000):
        reward, expert, tokens = sample_demonstrations(np.random.default_rng(SEED), n_demos)
        reference = error_bounds.sampled_ntp_instance(np.random.default_rng(SEED), n_demos)
        assert soft_rl.max_abs_diff(reward, reference.reward) == 0.0
        assert soft_rl.max_abs_diff(expert, reference.expert) == 0.0
        assert soft_rl.max_abs_diff(soft_rl.ntp_count_policy(tokens, VOCAB, 0.5), reference.learner) == 0.0


def test_tree_logits_match_the_gpt_on_full_responses_and_on_each_prefix(trained):
    responses = soft_rl.all_trajectories(VOCAB, HORIZON)
    with torch.no_grad(), one_torch_thread():
        levels = tree_logits(trained)
        teacher_forced = trained(torch.tensor([[BOS, *response[:-1]] for response in responses]))[..., :VOCAB]
        for row, response in enumerate(responses):
            for h in range(HORIZON):
                torch.testing.assert_close(levels[h][prefix_row(response[:h])], teacher_forced[row, h], rtol=0,
                                           atol=1e-5)
        for h in range(HORIZON):
            for prefix in soft_rl.all_trajectories(VOCAB, h) if h else [[]]:
                alone = trained(torch.tensor([[BOS, *prefix]]))[0, -1, :VOCAB]  # the prefix fed on its own
                torch.testing.assert_close(levels[h][prefix_row(prefix)], alone, rtol=0, atol=1e-5)


def test_extracted_policy_is_a_normalised_tree_policy(trained, demonstrations):
    reward, expert, _ = demonstrations
    learner = gpt_instance(reward, expert, trained).learner
    assert [level.shape for level in learner] == [(VOCAB**h, VOCAB) for h in range(HORIZON)]
    soft_rl.check_policy(learner)  # raises unless every row is non-negative and sums to 1 (1e-9)
    assert min(float(level.min()) for level in learner) > 0.0


def test_trained_gpt_beats_uniform_on_heldout_expert_responses(trained, demonstrations):
    reward, expert, _ = demonstrations
    leaves = np.random.default_rng(1).choice(VOCAB**HORIZON, size=5_000, p=soft_rl.state_distributions(expert)[-1])
    heldout = soft_rl.all_trajectories(VOCAB, HORIZON)[leaves]
    gain = soft_rl.log_likelihood(gpt_instance(reward, expert, trained).learner, heldout) + HORIZON * np.log(VOCAB)
    assert gain.mean() > 3 * gain.std() / np.sqrt(len(gain))  # log π̂(τ) − log uniform(τ) > 0 beyond 3 std errors


def test_training_is_deterministic(demonstrations):
    reward, expert, tokens = demonstrations
    first, second = (train_ntp_gpt(tokens, SHORT_TRAINING) for _ in range(2))
    for (name, a), (_, b) in zip(first.state_dict().items(), second.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    assert soft_rl.max_abs_diff(gpt_instance(reward, expert, first).logits,
                                gpt_instance(reward, expert, second).logits) == 0.0
