"""Both models: causality, cached generation = recomputation, and the linear model's expressiveness."""

import pytest
import torch

from toy.config import GPTConfig, LinearConfig
from toy.linear_ar import LinearAR
from toy.models import build_model
from toy.parity import EOS, ParityLayout, read_responses, sample_batch
from toy.sampling import generate, response_log_probs

LAYOUT = ParityLayout(6)
MODELS = {"gpt": GPTConfig(layers=2, width=32, heads=4), "linear": LinearConfig()}


def make(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_model(MODELS[name], LAYOUT)
    with torch.no_grad():  # a non-trivial linear model (zeros would make every test vacuous)
        for param in model.parameters():
            param.add_(torch.randn_like(param) * 0.5)
    return model.eval()


@pytest.mark.parametrize("name", MODELS)
def test_changing_a_later_token_never_changes_earlier_logits(name):
    model = make(name)
    tokens = sample_batch(LAYOUT, 1.0, 8, torch.Generator().manual_seed(0)).tokens
    base = model(tokens)
    for j in range(1, tokens.shape[1]):
        changed = tokens.clone()
        changed[:, j] = (changed[:, j] + 1) % 2
        out = model(changed)
        assert torch.allclose(out[:, :j], base[:, :j], atol=1e-6), f"position {j} leaked backwards"


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_cached_generation_equals_full_recomputation(name, temperature):
    model = make(name)
    prompts = sample_batch(LAYOUT, 0.5, 64, torch.Generator().manual_seed(1)).tokens[:, : LAYOUT.prompt_len]
    budget = LAYOUT.max_response_len
    cached = generate(model, prompts, budget, temperature, torch.Generator().manual_seed(7), use_cache=True)
    fresh = generate(model, prompts, budget, temperature, torch.Generator().manual_seed(7), use_cache=False)
    assert torch.equal(cached, fresh)
    assert (cached == EOS).any(), "test is vacuous if no row ever stops"


def test_gpt_cached_logits_match_forward_logits():
    model = make("gpt")
    tokens = sample_batch(LAYOUT, 1.0, 4, torch.Generator().manual_seed(2)).tokens
    full = model(tokens)
    logits, cache = model.start(tokens[:, : LAYOUT.prompt_len])
    steps = [logits]
    for j in range(LAYOUT.prompt_len, tokens.shape[1]):
        logits, cache = model.extend(tokens[:, j], cache)
        steps.append(logits)
    incremental = torch.stack(steps, dim=1)
    assert torch.allclose(incremental, full[:, LAYOUT.prompt_len - 1:], atol=1e-5)


@pytest.mark.parametrize("name", MODELS)
def test_response_log_probs_are_the_log_probs_generation_samples_from(name):
    model = make(name)
    prompts = sample_batch(LAYOUT, 0.5, 4000, torch.Generator().manual_seed(3)).tokens[:1, : LAYOUT.prompt_len]
    prompts = prompts.expand(4000, -1)
    responses = generate(model, prompts, LAYOUT.max_response_len, 1.0, torch.Generator().manual_seed(4))
    first = responses[:, 0]
    p_first = response_log_probs(model, prompts[:1], responses[:1]).exp()[0, 0].item()
    freq = (first == responses[0, 0]).float().mean().item()
    assert abs(freq - p_first) < 5 * (p_first * (1 - p_first) / 4000) ** 0.5 + 1e-9


def test_linear_model_can_execute_the_chain_with_hand_built_weights():
    """The docstring's claim: every chain step is linear in φ_t = [1, z_{t-1}, x, z_{t-1}·x]."""
    d, big = 6, 20.0
    model = LinearAR(d, d + 1)
    with torch.no_grad():
        w = model.weight  # (L, 3 = [0, 1, <eos>], 2d + 2)
        w[0, 1, 2], w[0, 0, 2] = big, -big  # c_1 = x_1
        w[0, 2, 0] = -big
        for t in range(1, d):  # c_{t+1} = c_t xor x_{t+1}  <->  logit of "1" = -big * z_t * x_{t+1}
            w[t, 1, 2 + d + t], w[t, 0, 2 + d + t] = -big, big
            w[t, 2, 0] = -big
        w[d, 2, 0], w[d, 0, 0], w[d, 1, 0] = big, -big, -big
    batch = sample_batch(ParityLayout(d), 0.0, 200, torch.Generator().manual_seed(5))
    responses = generate(model, batch.tokens[:, : d + 1], d + 1, 0.0)
    stats = read_responses(responses, batch.x, ParityLayout(d))
    assert stats.chain_correct.all() and stats.correct.all()


def test_sequence_longer_than_the_context_is_rejected():
    model = make("gpt")
    with pytest.raises(ValueError, match="max_len"):
        model(torch.zeros(1, LAYOUT.seq_len + 1, dtype=torch.long))
