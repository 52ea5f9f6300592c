"""STaR / expert iteration on the parity task (Zelikman et al. 2022; Tsilivis et al. 2025 §3.2, Thm 2).

A round: sample one response for each of N fresh prompts at temperature T, keep the correct ones, and
fine-tune by next-token prediction on the kept set.  The theory (docs/research/parity_cot_rl.md §6.3): if
long responses are always correct and short ones are right half the time, the long fraction of the
kept set is

    k_n = s_n / (s_n + (1 − s_n)/2) = 2 s_n / (1 + s_n),    s_n = sampled long fraction in round n,

and if fine-tuning fits the kept set, s_{n+1} = k_n: the odds s/(1 − s) double every round, and greedy
decoding turns long (accuracy 1/2 → 1) once s passes 1/3.  Each round logs s_n, k_n, the one-step
prediction 2 s_n/(1 + s_n), and the compounded recursion p_n from p_0 = s_1, so the two assumptions
(Bayes step; faithful fine-tuning) are checked separately.

Departures from STaR: fine-tuning continues from the current model (expert iteration) instead of
restarting from the base model each round; no rationalisation (hints) step; fixed steps per round.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from toy.config import RLConfig
from toy.evaluate import with_separator
from toy.parity import ParityBatch, ParityLayout, ResponseStats, prefix_parities, read_responses
from toy.sampling import generate
from toy.train import ntp_loss


def correct_subset(prompts: torch.Tensor, responses: torch.Tensor, x: torch.Tensor,
                   layout: ParityLayout) -> tuple[ParityBatch, ResponseStats]:
    """The kept set of a round: the full sequences whose extracted answer is correct."""
    stats = read_responses(responses, x, layout)
    keep = stats.correct
    kept = ParityBatch(tokens=torch.cat([prompts, responses], dim=1)[keep], x=x[keep],
                       answer=prefix_parities(x[keep])[:, -1], is_long=stats.is_long[keep])
    return kept, stats


def iterate(
    model: torch.nn.Module, layout: ParityLayout, cfg: RLConfig, generator: torch.Generator
) -> Iterator[dict[str, float]]:
    """Run ``cfg.iterations`` STaR rounds, yielding each round's statistics."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.star_lr, weight_decay=0.0)
    compounded = None
    for _ in range(cfg.iterations):
        x = torch.randint(0, 2, (cfg.star_samples, layout.d), generator=generator)
        prompts = with_separator(x)
        model.eval()
        responses = generate(model, prompts, layout.max_response_len, cfg.temperature, generator)
        model.train()
        kept, stats = correct_subset(prompts, responses, x, layout)
        keep = stats.correct
        if int(keep.sum()) == 0:
            raise RuntimeError("STaR kept no correct response this round: nothing to fine-tune on")
        sampled_long = stats.is_long.float().mean().item()
        compounded = sampled_long if compounded is None else compounded
        compounded = 2 * compounded / (1 + compounded)
        for _ in range(cfg.star_steps):
            rows = torch.randint(0, len(kept.x), (cfg.star_batch_size,), generator=generator)
            batch = ParityBatch(kept.tokens[rows], kept.x[rows], kept.answer[rows], kept.is_long[rows])
            loss = ntp_loss(model, batch, layout)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"STaR fine-tuning loss is {loss.item()}; try a lower rl.star_lr")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        yield {
            "reward/mean": keep.float().mean().item(),
            "star/kept": int(keep.sum()),
            "star/sampled_long_fraction": sampled_long,
            "star/kept_long_fraction": kept.is_long.float().mean().item(),
            "star/one_step_prediction": 2 * sampled_long / (1 + sampled_long),
            "star/recursion_prediction": compounded,
            # After fitting the kept set, greedy decoding continues iff the long fraction exceeds 1/3 (§6.2).
            "star/greedy_accuracy_prediction": 1.0 if compounded > 1 / 3 else 0.5,
            "star/long_accuracy": stats.correct[stats.is_long].float().mean().item() if stats.is_long.any() else None,
            "rollout/long_fraction": sampled_long,
            "rollout/mean_length": stats.length.float().mean().item(),
            "rollout/malformed": stats.malformed.float().mean().item(),
            "loss": loss.item(),
        }
