"""Generation and response log-probabilities shared by both models.

A model is anything with ``forward(tokens) -> logits (B, T, vocab)`` plus ``start(prompt)`` /
``extend(token, state)`` for incremental decoding (`toy.gpt.TinyGPT`, `toy.linear_ar.LinearAR`).
The *policy* is the softmax over the response tokens {0, 1, <eos>} only: "=" and <pad> are never
emitted (the same restriction is used for sampling, for log-probabilities and for the NTP loss, so that
training, evaluation and RL all speak about one distribution).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from toy.parity import EOS, PAD, RESPONSE_TOKENS, VOCAB_SIZE

_RESPONSE_INDEX = torch.tensor(RESPONSE_TOKENS)
# Map a vocabulary id to its index among RESPONSE_TOKENS (-1 for ids a policy never emits).
_TO_RESPONSE = torch.full((VOCAB_SIZE,), -1, dtype=torch.long)
_TO_RESPONSE[_RESPONSE_INDEX] = torch.arange(len(RESPONSE_TOKENS))


def response_log_softmax(logits: torch.Tensor) -> torch.Tensor:
    """log π over RESPONSE_TOKENS from full-vocabulary logits (..., vocab) → (..., 3)."""
    return F.log_softmax(logits[..., _RESPONSE_INDEX], dim=-1)


def to_response_index(tokens: torch.Tensor) -> torch.Tensor:
    """Vocabulary ids → indices into RESPONSE_TOKENS (ids outside it map to -1; mask them out)."""
    return _TO_RESPONSE[tokens]


@torch.no_grad()
def generate(
    model: torch.nn.Module,
    prompts: torch.Tensor,
    max_new_tokens: int,
    temperature: float,
    generator: torch.Generator | None = None,
    use_cache: bool = True,
    min_length: int = 0,
) -> torch.Tensor:
    """Decode responses (B, max_new_tokens) after ``prompts``; temperature 0 means greedy.

    Rows stop at their first <eos>; later positions are <pad>.  With ``use_cache=False`` every step
    recomputes the whole prefix (the reference the cached path is tested against).  ``min_length``
    forbids <eos> before that many tokens: with ``min_length = L - 1`` greedy decoding is forced into the
    long mode, which reads out whether the chain itself has been learned.
    """
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    batch = prompts.shape[0]
    responses = torch.full((batch, max_new_tokens), PAD, dtype=torch.long)
    finished = torch.zeros(batch, dtype=torch.bool)
    tokens = prompts
    logits, state = model.start(prompts) if use_cache else (model(prompts)[:, -1], None)
    for step in range(max_new_tokens):
        log_probs = response_log_softmax(logits)
        if step < min_length:
            log_probs = log_probs.index_fill(-1, _TO_RESPONSE[EOS], float("-inf"))
        if temperature == 0:
            choice = log_probs.argmax(dim=-1)
        else:
            choice = torch.multinomial(torch.softmax(log_probs / temperature, dim=-1), 1, generator=generator)[:, 0]
        token = torch.where(finished, torch.full_like(choice, PAD), _RESPONSE_INDEX[choice])
        responses[:, step] = token
        finished |= token == EOS
        if bool(finished.all()) or step == max_new_tokens - 1:
            break
        # Finished rows keep being fed a token so the batch stays rectangular; their outputs are discarded.
        feed = torch.where(finished, torch.full_like(token, EOS), token)
        if use_cache:
            logits, state = model.extend(feed, state)
        else:
            tokens = torch.cat([tokens, feed[:, None]], dim=1)
            logits = model(tokens)[:, -1]
    return responses


def response_log_dists(
    model: torch.nn.Module, prompts: torch.Tensor, responses: torch.Tensor, temperature: float = 1.0
) -> torch.Tensor:
    """log π_T(· | prompt, r_<t) over RESPONSE_TOKENS at every response position (B, L, 3); differentiable.

    π_T is the policy at temperature T (softmax of logits / T), the distribution rollouts are drawn from.
    """
    tokens = torch.cat([prompts, responses], dim=1)
    logits = model(tokens[:, :-1])[:, prompts.shape[1] - 1 :]
    return response_log_softmax(logits / temperature)


def token_log_probs(log_dists: torch.Tensor, responses: torch.Tensor) -> torch.Tensor:
    """Pick log π(r_t | ·) out of (B, L, 3) distributions → (B, L), zero on <pad>."""
    picked = log_dists.gather(-1, to_response_index(responses).clamp(min=0)[..., None])[..., 0]
    return torch.where(responses == PAD, torch.zeros_like(picked), picked)


def response_log_probs(model: torch.nn.Module, prompts: torch.Tensor, responses: torch.Tensor) -> torch.Tensor:
    """Per-token log π(r_t | prompt, r_<t) (B, L), zero on <pad>; differentiable (teacher forcing)."""
    return token_log_probs(response_log_dists(model, prompts, responses), responses)
