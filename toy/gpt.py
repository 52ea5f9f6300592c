"""A tiny GPT (nanoGPT-style): pre-LayerNorm blocks, learned absolute positions, causal self-attention.

The paper trains GPT-2 / Mistral variants of depth 2-8 and width 128-256 from scratch on the parity
mixture (docs/research/parity_cot_rl.md §2); this is the same family at CPU scale.  Departures: no dropout,
untied input/output embeddings, and fused attention through ``F.scaled_dot_product_attention``.

Generation uses a preallocated key-value cache (`KVCache`): ``start`` runs the prompt once and
``extend`` appends one token per call, so a response of L tokens costs L single-position passes
instead of L full recomputations.  ``tests/test_models.py`` checks cached generation against
recomputation from scratch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class KVCache:
    """Keys/values of every layer, (layers, B, heads, max_len, head_dim), filled up to ``length``."""

    keys: torch.Tensor
    values: torch.Tensor
    length: int = 0


class CausalSelfAttention(nn.Module):
    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def forward(self, h: torch.Tensor, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        batch, steps, width = h.shape
        q, k, v = self.qkv(h).split(width, dim=2)
        q, k, v = (t.view(batch, steps, self.heads, width // self.heads).transpose(1, 2) for t in (q, k, v))
        if cache is None:
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            start, end = cache.length, cache.length + steps
            cache.keys[layer, :, :, start:end] = k
            cache.values[layer, :, :, start:end] = v
            k, v = cache.keys[layer, :, :, :end], cache.values[layer, :, :, :end]
            # New queries sit at positions start..end-1 and may see every cached key up to themselves.
            causal = steps > 1 and start == 0
            out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        return self.proj(out.transpose(1, 2).reshape(batch, steps, width))


class Block(nn.Module):
    def __init__(self, width: int, heads: int, mlp_ratio: int):
        super().__init__()
        self.ln_attn = nn.LayerNorm(width)
        self.attn = CausalSelfAttention(width, heads)
        self.ln_mlp = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, mlp_ratio * width), nn.GELU(), nn.Linear(mlp_ratio * width, width))

    def forward(self, h: torch.Tensor, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        h = h + self.attn(self.ln_attn(h), cache, layer)
        return h + self.mlp(self.ln_mlp(h))


class TinyGPT(nn.Module):
    """Decoder-only transformer over a small vocabulary; ``forward(tokens) -> logits (B, T, vocab)``."""

    def __init__(self, vocab_size: int, max_len: int, layers: int, width: int, heads: int, mlp_ratio: int):
        super().__init__()
        if width % heads:
            raise ValueError(f"model.width ({width}) must be divisible by model.heads ({heads})")
        self.max_len, self.layers, self.heads, self.width = max_len, layers, heads, width
        self.token_embedding = nn.Embedding(vocab_size, width)
        self.position_embedding = nn.Embedding(max_len, width)
        self.blocks = nn.ModuleList(Block(width, heads, mlp_ratio) for _ in range(layers))
        self.ln_final = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab_size, bias=False)
        self.apply(self._init_weights)
        # GPT-2's scaled init of residual projections keeps the residual stream's variance depth-independent.
        for name, param in self.named_parameters():
            if name.endswith("proj.weight") or name.endswith("mlp.2.weight"):
                nn.init.normal_(param, mean=0.0, std=0.02 / math.sqrt(2 * layers))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def _run(self, tokens: torch.Tensor, offset: int, cache: KVCache | None) -> torch.Tensor:
        steps = tokens.shape[1]
        if offset + steps > self.max_len:
            raise ValueError(f"sequence of length {offset + steps} exceeds the model's max_len {self.max_len}")
        positions = torch.arange(offset, offset + steps, device=tokens.device)
        h = self.token_embedding(tokens) + self.position_embedding(positions)
        for layer, block in enumerate(self.blocks):
            h = block(h, cache, layer)
        return self.head(self.ln_final(h))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self._run(tokens, 0, None)

    def start(self, prompt: torch.Tensor) -> tuple[torch.Tensor, KVCache]:
        """Run the prompt (B, T0) into a fresh cache; return the last position's logits (B, vocab)."""
        batch, head_dim = prompt.shape[0], self.width // self.heads
        shape = (self.layers, batch, self.heads, self.max_len, head_dim)
        weight = self.head.weight
        cache = KVCache(torch.zeros(shape, dtype=weight.dtype), torch.zeros(shape, dtype=weight.dtype))
        logits = self._run(prompt, 0, cache)
        cache.length = prompt.shape[1]
        return logits[:, -1], cache

    def extend(self, token: torch.Tensor, cache: KVCache) -> tuple[torch.Tensor, KVCache]:
        """Append one token per row (B,) to the cache; return the next-token logits (B, vocab)."""
        logits = self._run(token[:, None], cache.length, cache)
        cache.length += 1
        return logits[:, -1], cache
