"""The autoregressive linear model of the parity theory (Tsilivis et al. 2025, §4; docs/research/parity_cot_rl.md §2).

The paper's exact parameterisation is not public.  This is the surrogate of docs/research/parity_cot_rl.md §2: at
response position t = 1 .. L the next-token distribution over {0, 1, <eos>} is

    π(· | x, z_<t) = softmax(W_t φ_t),   φ_t = [1, z_{t-1}, x, z_{t-1} · x] ∈ R^{2d+2},

with bits in ±1 encoding, z_0 := 0, and a separate weight matrix W_t ∈ R^{3 × (2d+2)} per position
(time-dependent, as in Malach 2023's linear AR predictors).

*Why each chain step is linear.*  With bits encoded as ±1 (b ↦ 2b − 1), XOR is a product up to sign:
2(a ⊕ b) − 1 = −(2a − 1)(2b − 1).  So c_t = c_{t-1} ⊕ x_t is read off the single feature z_{t-1} · x_t,
the t-th coordinate of z_{t-1} · x, and W_t only has to weight that coordinate; the "continue or stop"
decision at t = 2 is likewise linear in z_1 · x_1 (tests/test_models.py builds these weights by hand).

*Why the short map is not representable.*  The short answer is parity(x).  At t = 1 the features are
φ_1 = [1, 0, x, 0], so the logit of "1" over "0" is affine in x, and parity of d ≥ 2 bits is not linearly
separable: no W_1 emits the short answer, and the best the model can do is treat it as (nearly) a fair
coin.  That is the regime where NTP's greedy decoder is stuck at chance below p_cot = 1/3
(docs/research/parity_cot_rl.md §6.2).

*Relation to Malach 2023.*  His linear AR model (github.com/emalach/LinearLM) is a block-lower-triangular
linear map over the whole embedded prefix, i.e. linear in the raw tokens.  XOR of ±1 bits is not linear,
so that model cannot take a chain step; our features add the products z_{t-1} · x_j, which makes the
model linear in a fixed degree-2 feature map (a kernel view of the same class).  Only the full chain
(leap = 1) is linear in these features, so the model refuses leap > 1.
"""

from __future__ import annotations

import torch
from torch import nn

from toy.parity import EOS, ONE, RESPONSE_TOKENS, VOCAB_SIZE


class LinearAR(nn.Module):
    """Time-dependent linear next-token map; ``forward(tokens) -> logits (B, T, vocab)``.

    Logits are only defined at response positions (index ≥ d, where index d holds "="); elsewhere,
    and in the "=" / <pad> slots, they are 0 and never read (the policy is a softmax over RESPONSE_TOKENS).
    """

    def __init__(self, d: int, max_response_len: int):
        super().__init__()
        self.d, self.max_response_len = d, max_response_len
        self.weight = nn.Parameter(torch.zeros(max_response_len, len(RESPONSE_TOKENS), 2 * d + 2))

    def _features(self, x_pm: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
        """φ for rows x_pm (B, d) in ±1 and previous tokens (B, n) → (B, n, 2d+2); non-bits map to z = 0."""
        dtype = self.weight.dtype
        z = torch.where(previous <= ONE, 2.0 * previous - 1.0, 0.0).to(dtype)
        x = x_pm[:, None, :].expand(-1, z.shape[1], -1)
        return torch.cat([torch.ones_like(z)[..., None], z[..., None], x, z[..., None] * x], dim=2)

    def position_logits(self, x: torch.Tensor, previous: torch.Tensor, t: int) -> torch.Tensor:
        """Logits over (0, 1, <eos>) at response position t (1-based) given bits x (B, d) and r_{t-1} (B,).

        ``previous`` is ignored for t = 1 (z_0 := 0).  This is the whole model: the next-token law
        depends on the prefix only through (x, r_{t-1}), which makes exact dynamic programming possible.
        """
        x_pm = (2.0 * x - 1.0).to(self.weight.dtype)
        previous = torch.full_like(previous, EOS) if t == 1 else previous
        return torch.einsum("bf,kf->bk", self._features(x_pm, previous[:, None])[:, 0], self.weight[t - 1])

    def _response_logits(self, tokens: torch.Tensor, first: int, count: int) -> torch.Tensor:
        """Logits (B, count, 3) at sequence indices first..first+count-1 (response positions t = index-d+1)."""
        x_pm = (2.0 * tokens[:, : self.d] - 1.0).to(self.weight.dtype)
        previous = tokens[:, first : first + count].clone()
        if first == self.d:
            previous[:, 0] = EOS  # index d holds "=": z_0 := 0
        phi = self._features(x_pm, previous)
        t0 = first - self.d
        return torch.einsum("bnf,nkf->bnk", phi, self.weight[t0 : t0 + count])

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        batch, steps = tokens.shape
        count = min(steps - self.d, self.max_response_len)
        logits = torch.zeros(batch, steps, VOCAB_SIZE, dtype=self.weight.dtype)
        if count > 0:
            logits[:, self.d : self.d + count, list(RESPONSE_TOKENS)] = self._response_logits(tokens, self.d, count)
        return logits

    def start(self, prompt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Prompt (B, d+1) → logits of response position 1 (B, vocab); the state is the token prefix."""
        return self._last_logits(prompt), prompt

    def extend(self, token: torch.Tensor, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        tokens = torch.cat([tokens, token[:, None]], dim=1)
        return self._last_logits(tokens), tokens

    def _last_logits(self, tokens: torch.Tensor) -> torch.Tensor:
        # Only the last position's features are needed: the model has no state beyond (x, z_{t-1}).
        logits = torch.zeros(tokens.shape[0], VOCAB_SIZE, dtype=self.weight.dtype)
        logits[:, list(RESPONSE_TOKENS)] = self._response_logits(tokens, tokens.shape[1] - 1, 1)[:, 0]
        return logits
