"""Compounding error on the parity chain: per-step error vs whole-chain failure
(docs/research/endogenous_reward_bounds.md §4.1).

Behaviour cloning's error compounds over the horizon (Ross & Bagnell 2010; "Generalist Reward Models",
Theorem 2).  On parity the horizon is the chain length d, and a trained model gives both sides exactly:

* per-step error ε_t = E_x[1 − π(c_t | x, c_<t)] for chain steps t = 2..: teacher forced at temperature 1
  on the correct prefix, with <eos> excluded (the policy renormalised over the two bits).  Step 1 is left
  out: after NTP, r_1 ≠ x_1 is the short mode's answer, not a chain error, so every statistic here is
  conditioned on the first step r_1 = c_1 = x_1 (the long mode chosen);
* whole-chain failure F = 1 − E_x[Π_t (1 − ε_t(x))]: the exact probability that a forced-long sample
  deviates somewhere (the correct path's probability is the product of its teacher-forced steps);
* answer failure: the forced-long sample's final token is wrong.  After a mistake the model keeps
  XOR-ing from a wrong prefix (it is off the data distribution), so the answer is wrong iff an odd
  number of steps erred, measured by sampling.

The union bound gives F ≤ Σ_t ε_t = d·ε̄; F ≈ d·ε̄ while d·ε̄ ≪ 1, and F saturates (→ 1 − e^{−dε̄} for
independent errors) beyond.  ``chain_error_profile`` reports all of these for one model.

    python -m toy.compounding RUN_DIR [RUN_DIR ...]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from toy.evaluate import held_out_prompts, with_separator
from toy.models import load_checkpoint
from toy.parity import ONE, ParityLayout, sample_reference_long
from toy.sampling import generate, response_log_dists


@torch.no_grad()
def chain_error_profile(model: torch.nn.Module, layout: ParityLayout, x: torch.Tensor, seed: int = 0) -> dict:
    """Per-step and whole-chain error statistics of ``model`` on prompts x (module docstring)."""
    if len(layout.chain) < 2:
        raise ValueError(f"task.d={layout.d}, leap={layout.leap}: a chain of one step has no step after the first")
    model.eval()
    chain = sample_reference_long(x, layout)
    prompts = torch.cat([with_separator(x), chain[:, :1]], dim=1)  # the long mode's first step, given
    rest = chain[:, 1:]
    bit_log_probs = response_log_dists(model, prompts, rest)[:, :-1, : ONE + 1]  # chain steps 2.., bits only
    bit_probs = bit_log_probs.softmax(-1)  # renormalised over {0, 1}: <eos> forbidden
    correct_prob = bit_probs.gather(-1, rest[:, :-1, None])[..., 0].double()
    step_error = 1 - correct_prob  # (B, chain length - 1)
    chain_failure = 1 - correct_prob.prod(dim=1)
    budget = layout.max_response_len - 1
    sampled = generate(model, prompts, budget, 1.0, torch.Generator().manual_seed(seed), min_length=budget - 1)
    sampled_bits, correct_bits = sampled[:, :-1], rest[:, :-1]  # chain steps 2..; the final <eos> is not a step
    per_step = step_error.mean(0)
    return {
        "d": layout.d,
        "chain_steps": int(rest.shape[1] - 1),
        "per_step_error": per_step.tolist(),
        "mean_step_error": per_step.mean().item(),
        "sum_step_error": per_step.sum().item(),
        "chain_failure": chain_failure.mean().item(),
        "sampled_chain_failure": (sampled_bits != correct_bits).any(dim=1).float().mean().item(),
        "sampled_answer_failure": (sampled_bits[:, -1] != correct_bits[:, -1]).float().mean().item(),
        "prompts": len(x),
    }


def checkpoint_error_profile(run: str | Path, prompts: int = 4096, seed: int = 2024) -> dict:
    """``chain_error_profile`` of the model stored in ``run`` (a run directory or checkpoint.pt) on ``prompts``
    held-out prompts drawn from ``seed``."""
    model, task, _ = load_checkpoint(run)
    layout = ParityLayout(task.d, task.leap)
    return chain_error_profile(model, layout, held_out_prompts(layout, prompts, seed), seed)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(prog="python -m toy.compounding", description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="run directories (or checkpoint.pt files)")
    parser.add_argument("--prompts", type=int, default=4096, help="held-out prompts per model")
    parser.add_argument("--seed", type=int, default=2024, help="held-out set and sampling seed")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    print(f"{'run':<40} {'d':>3} {'mean eps':>9} {'d*eps':>8} {'chain fail':>11} {'sampled':>8} {'answer':>7}")
    for run in args.runs:
        row = {"run": run, **checkpoint_error_profile(run, args.prompts, args.seed)}
        rows.append(row)
        print(f"{run[-40:]:<40} {row['d']:>3} {row['mean_step_error']:>9.2e} {row['sum_step_error']:>8.2e} "
              f"{row['chain_failure']:>11.2e} {row['sampled_chain_failure']:>8.4f} "
              f"{row['sampled_answer_failure']:>7.4f}")
    print(json.dumps(rows))
    return rows


if __name__ == "__main__":
    main()
