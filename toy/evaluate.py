"""Held-out evaluation of a parity model: greedy and sampled decoding, and the chain read out directly.

Metrics (all fractions over the fixed held-out prompts):

* ``greedy/accuracy``, ``greedy/long_fraction``, ``greedy/mean_length``, ``greedy/malformed``:
  temperature-0 decoding.  NTP theory (research/parity_cot_rl.md §6.2): 1/2 below p_cot = 1/3, 1 above.
* ``sampled/...``: the same at the evaluation temperature.  At T = 1 an NTP-optimal model is length
  calibrated: long fraction ≈ p_cot and accuracy ≈ (1 + p_cot)/2.
* ``sampled/chain_accuracy``: among sampled long responses, the fraction that is the exact chain.
* ``forced_long/accuracy``: greedy decoding with <eos> forbidden until the chain's end, i.e. "has the
  model learned the chain?", whatever mode it prefers (gates RL; a too-early checkpoint fails it).
"""

from __future__ import annotations

import torch

from toy.parity import SEP, ParityLayout, read_responses
from toy.sampling import generate


def held_out_prompts(layout: ParityLayout, count: int, seed: int) -> torch.Tensor:
    """A fixed set of ``count`` prompts x (count, d), drawn from its own seed."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 2, (count, layout.d), generator=generator)


def with_separator(x: torch.Tensor) -> torch.Tensor:
    return torch.cat([x, torch.full((x.shape[0], 1), SEP, dtype=torch.long)], dim=1)


def decode_metrics(
    prefix: str, responses: torch.Tensor, x: torch.Tensor, layout: ParityLayout
) -> dict[str, float | None]:
    stats = read_responses(responses, x, layout)
    long_rows = stats.is_long
    # Undefined (None, not NaN: summary.json is strict JSON) when no sampled response is long.
    chain_accuracy = stats.chain_correct[long_rows].float().mean().item() if bool(long_rows.any()) else None
    metrics = {
        f"{prefix}/accuracy": stats.correct.float().mean().item(),
        f"{prefix}/long_fraction": long_rows.float().mean().item(),
        f"{prefix}/mean_length": stats.length.float().mean().item(),
        f"{prefix}/malformed": stats.malformed.float().mean().item(),
    }
    if prefix == "sampled":
        metrics["sampled/chain_accuracy"] = chain_accuracy
    return metrics


@torch.no_grad()
def evaluate(model: torch.nn.Module, layout: ParityLayout, x: torch.Tensor, temperature: float,
             seed: int) -> dict[str, float]:
    """All metrics of the module docstring on prompts x; sampling uses its own generator (deterministic)."""
    was_training = model.training
    model.eval()
    prompts = with_separator(x)
    budget = layout.max_response_len
    generator = torch.Generator().manual_seed(seed)
    metrics = decode_metrics("greedy", generate(model, prompts, budget, 0.0), x, layout)
    metrics |= decode_metrics("sampled", generate(model, prompts, budget, temperature, generator), x, layout)
    forced = generate(model, prompts, budget, 0.0, min_length=budget - 1)
    metrics["forced_long/accuracy"] = read_responses(forced, x, layout).correct.float().mean().item()
    model.train(was_training)
    return metrics
