"""The endogenous reward of a parity model (Li et al. 2025, "Generalist Reward Models", arXiv 2506.23235).

Any model of toy/sampling.py (`toy.gpt.TinyGPT`, `toy.linear_ar.LinearAR`) read as a token-level MDP (paper eq. (1)):
the state after t − 1 response tokens is s_t = (x, =, r_<t), the action a_t = r_t ∈ {0, 1, <eos>}, transitions are
deterministic, and the logits f(s_t, ·) ∈ R³ are the model's logits at the response tokens only (the same
restriction as sampling and training, toy/sampling.py).  With temperature α (the training temperature, 1):

* policy (eq. (10)):       π_α(a|s) = softmax(f(s, ·)/α)_a; at α = 1 the model's own sampling policy;
* soft value:              V(s) = α log Σ_a exp(f(s, a)/α); the terminal state, after <eos> or after the L-th token
                           of a response that never stops, has V = 0 (the horizon ends there);
* token reward (eq. (11)): r̂(s_t, a_t) = f(s_t, a_t) − V(s_{t+1}), the inverse soft Bellman operator, i.e.
                           (eq. (12)) r̂(s_t, a_t) = α log π_α(a_t|s_t) + V(s_t) − V(s_{t+1});
* outcome reward:          Σ_t r̂_t = α log π_α(r|x) + V(s_1): the V's telescope to V(s_1) − V(terminal) = V(s_1).
                           Without the V(s_1) term it is α × the response log-likelihood;
* discounted sums:         Σ_t γ^{t−1} r̂_t (γ = 0.95 in docs/sources/generalist_reward_models_summary.md).  For
                           γ < 1 the V's no longer telescope (docs/research/endogenous_reward_bounds.md §1.4):
                           Σ_t γ^{t−1} r̂_t = Σ_t γ^{t−1} α log π_α(a_t|s_t) + V(s_1) − (1−γ) Σ_{t=2}^{T} γ^{t−2} V(s_t),
                           a length-dependent term set by the logits' per-state offsets, which π_α does not see.
                           "Without V" at γ < 1 is therefore taken to drop every V term, Σ_t γ^{t−1} α log π_α(a_t|s_t)
                           (a discounted log-likelihood): dropping only V(s_1) would rank same-prompt pairs exactly
                           like Σ_t γ^{t−1} r̂_t.

Two responses to the same prompt share V(s_1), so the γ = 1 outcome reward ranks them by log-likelihood alone
(with or without V(s_1)); V(s_1) can only matter across prompts.  The exact token-tree version of these objects is
theory/soft_rl.py (`endogenous_reward`, `soft_values`, `outcome_reward`), against which this one is tested.

Responses follow the layout of toy/parity.py: (B, L) tokens, <pad> after the first <eos>.  One forward pass
scores the whole batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from toy.parity import EOS, PAD, RESPONSE_TOKENS
from toy.sampling import to_response_index

DISCOUNT = 0.95  # the γ of the source summary ("discount factors for the outcome reward (γ = 0.95)")
# Response-level scores: name -> (γ = 1 or the discount, keep the V terms of r̂).  "outcome" is the paper's
# outcome reward, "loglik" the same without V(s_1); the discounted pair is described in the module docstring.
VARIANTS = {"outcome": (False, True), "loglik": (False, False),
            "discounted": (True, True), "discounted_loglik": (True, False)}


@dataclass(frozen=True)
class EndogenousReward:
    """Per-token endogenous rewards of a batch of responses, with what the outcome scores need."""

    token_reward: torch.Tensor
    """(B, L) r̂(s_t, a_t), 0 after the response has ended"""
    token_log_prob: torch.Tensor
    """(B, L) log π_α(a_t|s_t), 0 after the response has ended"""
    initial_value: torch.Tensor
    """(B,) V(s_1) = α logsumexp(f(s_1, ·)/α)"""
    alpha: float
    """the temperature α of π_α and V"""

    def outcome(self, gamma: float = 1.0) -> torch.Tensor:
        """Σ_t γ^{t−1} r̂(s_t, a_t) per response: at γ = 1 the paper's outcome reward α log π_α(r|x) + V(s_1)."""
        return self.token_reward @ discount_weights(self.token_reward, gamma)

    def log_likelihood(self, gamma: float = 1.0) -> torch.Tensor:
        """α Σ_t γ^{t−1} log π_α(a_t|s_t) per response: at γ = 1 the outcome reward without V(s_1)."""
        return self.alpha * (self.token_log_prob @ discount_weights(self.token_log_prob, gamma))

    def score(self, variant: str, gamma: float = DISCOUNT) -> torch.Tensor:
        """One of `VARIANTS`; ``gamma`` is used by the discounted ones only."""
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {sorted(VARIANTS)}, got {variant!r}")
        discounted, with_values = VARIANTS[variant]
        g = gamma if discounted else 1.0
        return self.outcome(g) if with_values else self.log_likelihood(g)


def discount_weights(per_token: torch.Tensor, gamma: float) -> torch.Tensor:
    """(γ^0, γ^1, ..., γ^{L−1}) in the dtype of ``per_token`` (B, L)."""
    if not 0 < gamma <= 1:
        raise ValueError(f"gamma must be in (0, 1], got {gamma}")
    return gamma ** torch.arange(per_token.shape[1], dtype=per_token.dtype)


def response_alive(responses: torch.Tensor) -> torch.Tensor:
    """(B, L) bool: the position holds a token of the response (up to and including its first <eos>).

    Raises on a response that breaks the layout: a non-response token (or <pad>) before the first <eos>, or anything
    but <pad> after it.
    """
    is_eos = responses == EOS
    alive = (is_eos.long().cumsum(dim=1) - is_eos.long()) == 0  # no <eos> strictly before t
    if bool((alive & (to_response_index(responses) < 0)).any()):
        raise ValueError("responses: a token outside {0, 1, <eos>} (or <pad>) before the first <eos>")
    if bool((~alive & (responses != PAD)).any()):
        raise ValueError("responses: only <pad> may follow the first <eos>")
    return alive


def response_logits(model: torch.nn.Module, prompts: torch.Tensor, responses: torch.Tensor) -> torch.Tensor:
    """f(s_t, ·) over RESPONSE_TOKENS at every response position t = 1..L (B, L, 3), one forward pass."""
    tokens = torch.cat([prompts, responses], dim=1)
    return model(tokens[:, :-1])[:, prompts.shape[1] - 1 :, list(RESPONSE_TOKENS)]


def endogenous_reward(model: torch.nn.Module, prompts: torch.Tensor, responses: torch.Tensor,
                      alpha: float = 1.0) -> EndogenousReward:
    """Token rewards r̂ = f(s_t, a_t) − V(s_{t+1}) (eq. (11)) of ``responses`` (B, L) after ``prompts`` (B, d+1).

    Differentiable in the model's parameters (no torch.no_grad here: callers decide).
    """
    if not alpha > 0:
        raise ValueError(f"alpha must be positive, got {alpha}")
    alive = response_alive(responses)
    logits = response_logits(model, prompts, responses)
    values = alpha * torch.logsumexp(logits / alpha, dim=-1)  # V(s_t), t = 1..L
    # s_{t+1} is terminal (V = 0) after <eos> and after position L; otherwise it is the next response state.
    continues = alive & (responses != EOS)
    next_values = torch.cat([values[:, 1:], torch.zeros_like(values[:, :1])], dim=1)
    next_values = torch.where(continues, next_values, torch.zeros_like(next_values))
    chosen = logits.gather(-1, to_response_index(responses).clamp(min=0)[..., None])[..., 0]
    zero = torch.zeros_like(chosen)
    return EndogenousReward(token_reward=torch.where(alive, chosen - next_values, zero),
                            token_log_prob=torch.where(alive, (chosen - values) / alpha, zero),
                            initial_value=values[:, 0], alpha=float(alpha))
