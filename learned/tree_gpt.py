"""The tiny GPT as a learner on token trees: a start token, the tree's logits in one pass, and NTP training.

Shared by the Theorem 1 claim at a trained GPT (learned/irl_learned_claims.py) and Theorem 2 at finite data
(learned/thm2_gpt.py).  The empty prompt is a start token BOS = V: the GPT has V + 1 input tokens and V + 1
outputs, and the BOS output is dropped, so π̂(·|s) is the softmax of the V token logits.  Instances are those of
theory/bounds_thm1_claims.py (V = 3, H = 4 by default).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from core.runio import torch_threads
from theory import soft_rl
from theory.bounds_thm1_claims import HORIZON, VOCAB
from toy.gpt import TinyGPT

BOS = VOCAB


@dataclass(frozen=True)
class GPTTraining:
    """Architecture and fixed optimisation budget of the NTP-trained TinyGPT."""

    layers: int = 1
    width: int = 32
    heads: int = 4
    mlp_ratio: int = 4
    steps: int = 400
    learning_rate: float = 3e-3
    weight_decay: float = 0.01
    init_seed: int = 0


TRAINING = GPTTraining()


def with_bos(tokens: np.ndarray) -> torch.Tensor:
    """Model input for responses ``tokens`` (B, L): BOS followed by the tokens, as a (B, L + 1) long tensor."""
    tokens = np.asarray(tokens)
    return torch.from_numpy(np.concatenate([np.full((len(tokens), 1), BOS), tokens], axis=1)).long()


def tree_logits(model: TinyGPT, vocab: int = VOCAB, horizon: int = HORIZON) -> list[torch.Tensor]:
    """Token logits (BOS output dropped) at every prefix, in the tree layout of theory.soft_rl.

    One pass over BOS + all V**(H−1) prefixes of length H − 1: the output at position h of sequence j is the model
    after BOS + the first h tokens of j, so level h row i (base-V index of an h-token prefix) is sequence i·V**(H−1−h).
    """
    outputs = model(with_bos(soft_rl.all_trajectories(vocab, horizon - 1)))[..., :vocab]
    return [outputs[np.arange(vocab**h) * vocab ** (horizon - 1 - h), h] for h in range(horizon)]


def build_tree_gpt(config: GPTTraining = TRAINING) -> TinyGPT:
    """A fresh TinyGPT over V + 1 tokens (BOS included), context H, initialised from ``config.init_seed``."""
    with torch.random.fork_rng():
        torch.manual_seed(config.init_seed)
        return TinyGPT(VOCAB + 1, HORIZON, config.layers, config.width, config.heads, config.mlp_ratio)


def train_ntp_gpt(tokens: np.ndarray, config: GPTTraining = TRAINING) -> TinyGPT:
    """Minimise the NTP loss −(1/n) Σ_i Σ_h log π_θ(a_h^i | s_h^i) (eq. (2)) of responses ``tokens`` (n, H).

    Full batch over the distinct responses weighted by their multiplicity (one step = one epoch), AdamW with the
    learning rate decaying linearly to 0 over ``config.steps`` steps, on one torch thread.
    """
    responses, multiplicity = np.unique(tokens, axis=0, return_counts=True)
    inputs, targets = with_bos(responses[:, :-1]), torch.from_numpy(responses).long()
    weights = torch.from_numpy(multiplicity / len(tokens)).float()
    model = build_tree_gpt(config)
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: 1 - step / config.steps)
    with torch_threads(1):
        for _ in range(config.steps):
            log_probs = torch.log_softmax(model(inputs)[..., :VOCAB], dim=-1)
            loss = -(weights * log_probs.gather(2, targets[..., None])[..., 0].sum(1)).sum()
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
    return model
