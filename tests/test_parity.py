"""Data invariants of the parity mixture and answer extraction on hand-made responses."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from toy.parity import EOS, ONE, PAD, SEP, ZERO, ParityLayout, chain_positions, read_responses, sample_batch


@settings(max_examples=30, deadline=None)
@given(d=st.integers(1, 24), leap=st.integers(1, 4), p=st.floats(0, 1), seed=st.integers(0, 10_000))
def test_every_sampled_row_is_a_correct_long_or_short_sequence(d, leap, p, seed):
    leap = min(leap, d)
    layout = ParityLayout(d, leap)
    batch = sample_batch(layout, p, 64, torch.Generator().manual_seed(seed))
    assert batch.tokens.shape == (64, layout.seq_len)
    for row, x, long in zip(batch.tokens.tolist(), batch.x.tolist(), batch.is_long.tolist(), strict=True):
        assert row[:d] == x and row[d] == SEP
        running, parities = 0, []
        for bit in x:  # independent, loop-based prefix parities
            running ^= bit
            parities.append(running)
        response = row[d + 1:]
        if long:
            assert response == [parities[i - 1] for i in chain_positions(d, leap)] + [EOS]
        else:
            assert response[:2] == [parities[-1], EOS] and all(t == PAD for t in response[2:])


def test_chain_positions_always_end_with_the_answer():
    assert chain_positions(5, 1) == [1, 2, 3, 4, 5]
    assert chain_positions(5, 2) == [2, 4, 5]
    assert chain_positions(6, 2) == [2, 4, 6]
    with pytest.raises(ValueError, match="leap"):
        chain_positions(4, 0)


def test_loss_mask_covers_exactly_the_response_tokens():
    layout = ParityLayout(7)
    batch = sample_batch(layout, 0.5, 256, torch.Generator().manual_seed(0))
    _, targets, mask = batch.inputs_targets_mask(layout)
    response_len = torch.where(batch.is_long, layout.max_response_len, 2)
    assert torch.equal(mask.sum(1), response_len)
    first_response_target = layout.prompt_len - 1  # target index j predicts token j + 1
    assert not mask[:, :first_response_target].any()
    assert torch.equal(targets[mask].unique().sort().values, torch.tensor([ZERO, ONE, EOS]))
    assert batch.response_token_count(layout) == int(mask.sum())


def test_p_cot_zero_and_one_are_pure_and_the_long_rate_matches_p():
    layout = ParityLayout(5)
    gen = torch.Generator().manual_seed(1)
    assert not sample_batch(layout, 0.0, 500, gen).is_long.any()
    assert sample_batch(layout, 1.0, 500, gen).is_long.all()
    rate = sample_batch(layout, 0.3, 20_000, gen).is_long.float().mean().item()
    assert abs(rate - 0.3) < 5 * (0.3 * 0.7 / 20_000) ** 0.5  # 5 standard errors


def test_answer_extraction_on_hand_made_responses():
    layout = ParityLayout(3)  # x = 1 1 0: parities 1 0 0, answer 0; budget L = 4
    x = torch.tensor([[1, 1, 0]] * 7)
    responses = torch.tensor([
        [1, 0, 0, EOS],      # exact chain: correct, long
        [0, EOS, PAD, PAD],  # short, correct
        [1, EOS, PAD, PAD],  # short, wrong
        [1, 1, 1, 1],        # no <eos> within budget: malformed, wrong
        [EOS, PAD, PAD, PAD],  # empty response: malformed
        [1, 1, 0, EOS],      # long, wrong chain but right final token: correct, not the chain
        [SEP, 0, EOS, PAD],  # non-bit token before <eos>: malformed
    ])
    stats = read_responses(responses, x, layout)
    assert stats.correct.tolist() == [True, True, False, False, False, True, False]
    assert stats.malformed.tolist() == [False, False, False, True, True, False, True]
    assert stats.is_long.tolist() == [True, False, False, False, False, True, False]
    assert stats.length.tolist() == [3, 1, 1, 4, 0, 3, 2]
    assert stats.chain_correct.tolist() == [True, False, False, False, False, False, False]
