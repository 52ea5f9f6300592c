"""Held-out evaluation of a parity model: greedy and sampled decoding, and the chain read out directly.

Metrics (all fractions over the fixed held-out prompts):

* ``greedy/accuracy``, ``greedy/long_fraction``, ``greedy/mean_length``, ``greedy/malformed``:
  temperature-0 decoding.  NTP theory (docs/research/parity_cot_rl.md §6.2): 1/2 below p_cot = 1/3, 1 above.
* ``sampled/...``: the same at the evaluation temperature.  At T = 1 an NTP-optimal model is length
  calibrated: long fraction ≈ p_cot and accuracy ≈ (1 + p_cot)/2.
* ``sampled/chain_accuracy``: among sampled long responses, the fraction that is the exact chain.
* ``forced_long/accuracy``: greedy decoding with <eos> forbidden until the chain's end, i.e. "has the
  model learned the chain?", whatever mode it prefers (gates RL; a too-early checkpoint fails it).
* ``teacher_forced/chain_accuracy``: the fraction of prompts on which, fed the true chain prefix, the model's
  preferred bit (argmax over {0, 1}) is the true next chain token at every chain step after the first.  The
  first step is left out because it is not a chain step: an NTP model that cannot compute parity emits x_1
  there with probability (1 + p_cot)/2 against (1 − p_cot)/2 (docs/research/parity_cot_rl.md §6.2), a margin of
  p_cot that sampling noise flips at small p_cot, so forced_long/accuracy under-reads a learned chain there.
* ``teacher_forced/chain_probability``: the mean over prompts of the probability that, once the response has gone
  long, sampling at temperature 1 writes the exact chain: P(c_2 | a bit follows c_1) · Π_{t=3..L−1} P(c_t | c_<t)
  · P(<eos> | the whole chain), each factor read off the true prefix (one forward pass).  Argmax-correct steps
  (chain_accuracy 1) can still be soft: at a step error ε sampled chains are exact with probability ≈ (1 − ε)^(d−1),
  and STaR, which keeps responses by their final answer, learns nothing from chains that are right half the time
  (long accuracy (1 + (1 − 2ε)^(d−1))/2; tests/test_star_linear.py).  This is the "chain is learned" criterion for a
  stage that samples chains next.  Unlike ``sampled/chain_accuracy`` it does not depend on how many of the held-out
  responses happen to go long (≈ p_cot of them), so it reads the same at any p_cot.
"""

from __future__ import annotations

import torch

from toy.config import EvalConfig
from toy.parity import SEP, ParityLayout, read_responses, sample_reference_long
from toy.sampling import generate, response_log_dists, to_response_index


def solve_reached(metrics: dict, cfg: EvalConfig) -> bool:
    """The early-stop / solve criterion of a run: ``cfg.stop_metric`` (if set) at least ``cfg.stop_at``."""
    return cfg.stop_metric is not None and cfg.stop_metric in metrics and metrics[cfg.stop_metric] >= cfg.stop_at


def solve_record(cfg: EvalConfig, step: int | None, samples: int | None, budget_samples: int) -> dict:
    """What summary.json says about the solve point: the criterion, where it was met (None: censored at the
    budget, so the cost is only known to exceed ``budget_samples``), and the budget."""
    criterion = None if cfg.stop_metric is None else f"{cfg.stop_metric} >= {cfg.stop_at}"
    return {"criterion": criterion, "step": step, "samples": samples, "budget_samples": budget_samples,
            "resolution": cfg.every}


def evaluate_or_check(model: torch.nn.Module, layout: ParityLayout, x: torch.Tensor, cfg: EvalConfig,
                      last: bool) -> dict[str, float]:
    """A run's periodic evaluation.  Without a solve criterion, or at the last step, or once the criterion is met,
    every metric; otherwise only the criterion's metric, so that checking often (to resolve the solve point)
    costs one decoding instead of four."""
    if cfg.stop_metric is None or last:
        return evaluate(model, layout, x, cfg.temperature, cfg.seed)
    check = evaluate(model, layout, x, cfg.temperature, cfg.seed, only=cfg.stop_metric)
    return evaluate(model, layout, x, cfg.temperature, cfg.seed) if solve_reached(check, cfg) else check


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


def teacher_forced_chain(model: torch.nn.Module, prompts: torch.Tensor, x: torch.Tensor,
                         layout: ParityLayout) -> dict[str, float]:
    """``teacher_forced/chain_accuracy`` and ``teacher_forced/chain_probability`` of the module docstring, from one
    forward pass over the true long responses."""
    chain = sample_reference_long(x, layout)
    log_dists = response_log_dists(model, prompts, chain)
    preferred = log_dists[:, 1:-1, :2].argmax(-1)  # steps 2..L-1 (the <eos> slot excluded); index 0/1 is token 0/1
    picked = log_dists.gather(-1, to_response_index(chain)[..., None])[..., 0]  # log P(true token | true prefix)
    second = picked[:, 1] - log_dists[:, 1, :2].logsumexp(-1)  # step 2 given that the response goes on (a bit)
    return {"teacher_forced/chain_accuracy":
            (preferred == to_response_index(chain[:, 1:-1])).all(dim=1).float().mean().item(),
            "teacher_forced/chain_probability": (second + picked[:, 2:].sum(dim=1)).exp().mean().item()}


@torch.no_grad()
def evaluate(model: torch.nn.Module, layout: ParityLayout, x: torch.Tensor, temperature: float,
             seed: int, only: str | None = None) -> dict[str, float]:
    """All metrics of the module docstring on prompts x; sampling uses its own generator (deterministic).

    ``only`` (a metric name) computes just the decoding that metric needs: the cheap check of a solve
    criterion between full evaluations (its value is the same as in the full evaluation).
    """
    was_training = model.training
    model.eval()
    prompts = with_separator(x)
    budget = layout.max_response_len
    family = None if only is None else only.split("/")[0]
    metrics: dict = {}
    if family in (None, "greedy"):
        metrics |= decode_metrics("greedy", generate(model, prompts, budget, 0.0), x, layout)
    if family in (None, "sampled"):
        generator = torch.Generator().manual_seed(seed)
        metrics |= decode_metrics("sampled", generate(model, prompts, budget, temperature, generator), x, layout)
    if family in (None, "forced_long"):
        forced = generate(model, prompts, budget, 0.0, min_length=budget - 1)
        metrics["forced_long/accuracy"] = read_responses(forced, x, layout).correct.float().mean().item()
    if family in (None, "teacher_forced"):
        metrics |= teacher_forced_chain(model, prompts, x, layout)
    model.train(was_training)
    return metrics
