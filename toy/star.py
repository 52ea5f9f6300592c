"""STaR / expert iteration on the parity task (Zelikman et al. 2022; Tsilivis et al. 2025 §3.2, Thm 2).

A round n = 1, 2, ...: sample one response for each of N fresh prompts at temperature T with the current model,
keep the correct ones (this round's kept set), and fine-tune by next-token prediction on it for
round(star_steps · star_steps_growth^(n−1)) AdamW steps.  The theory (docs/research/parity_cot_rl.md §6.3): if long
responses are always correct and short ones are right half the time, the long fraction of the kept set is

    k_n = s_n / (s_n + (1 − s_n)/2) = 2 s_n / (1 + s_n),    s_n = sampled long fraction in round n,

and if fine-tuning fits the kept set, s_{n+1} = k_n: the odds s/(1 − s) double every round, and greedy
decoding turns long (accuracy 1/2 → 1) once s passes 1/3.  Each round logs s_n, k_n, the one-step
prediction 2 s_n/(1 + s_n), and the compounded recursion p_n from p_0 = s_1, so the two assumptions
(Bayes step; faithful fine-tuning) are checked separately.  The recursion describes sampling at T = 1, where a
fitted model samples the kept fraction back; at T ≠ 1 only the one-step prediction applies.

**Variants** (``RLConfig``; the defaults are the expert iteration this suite has always run):

* ``star_restart``: STaR as published.  Algorithm 1 of Zelikman et al. (arXiv 2203.14465) builds D_n from the
  rationales of the latest model M_{n−1} that reach the right answer and sets M_n ← train(M, D_n), "finetune the
  original model": the base weights and a fresh optimiser every round, trained on the current outer loop's data
  only, not the union of past rounds.  Here the base is the model ``iterate`` receives (the NTP start), the
  kept set is this round's, and each round samples with the model the previous round fine-tuned.  Off
  (default): fine-tuning continues from the current weights with one AdamW over all rounds (expert iteration).
* ``star_steps_growth``: the published schedule grows the inner loop's steps by 20% per outer loop (40 steps
  first; growth 1.2).  Round n runs round(star_steps · growth^(n−1)) steps (Python's round: halves to even),
  logged as ``star/steps``; 1 (default) keeps them fixed.
* ``star_refit_check``: one more response for each prompt of the kept set, before the refit (by the sampling model:
  ``star/pre_refit_own_long_fraction`` b_n) and after it (by the refit model: ``star/refit_own_long_fraction`` o_n).
  The refit's odds gain, kept k_n → next round's s_{n+1} on fresh prompts, splits in two: k_n → o_n (does
  fine-tuning reproduce the kept set on the prompts it was fitted on?) and o_n → s_{n+1} (does that carry over to
  new prompts?).  b_n says how much of the filter's doubling was *prompt* selection: the kept prompts are weighted by
  P(correct | x) = (1 + q(x))/2, q(x) = P(long | x), so with no refit at all b_n = (s + s² + Var q)/(1 + s), which
  is s_n when q is the same for every prompt and reaches k_n = 2s_n/(1 + s_n) when q(x) ∈ {0, 1}; then o_n ≈ k_n
  needs no fitting and the fresh prompts cannot inherit the gain.  Off by default: it samples about N more
  responses per round, from a generator of its own (seeded by the run's generator seed and the round), so the
  run's prompts and samples are those of the same run without the check.
* near-greedy sampling, ``rl.temperature`` ≪ 1 (e.g. 0.1): the policy
  softmax(logits / T) of toy/sampling.generate concentrates on the argmax.  Below p_cot = 1/3 the NTP model's
  continue probability after the first bit is 2p/(1 + p) < 1/2 (§6.2), so at small T it samples the chain with
  probability ≈ (q/(1 − q))^(1/T) → 0: the kept set holds only short answers and STaR cannot start
  (tests/test_star_variants.py derives the exact long fraction).  At T = 1 it samples the chain at rate p.

Departures from published STaR: no rationalisation (hints) step; fresh prompts every round instead of re-attempting
one fixed training set, so the kept set cannot be a union over rounds of the same problems; NTP on the whole
sequence (prompt bits, response and ``<eos>``, toy/train.ntp_loss) rather than on the rationale and answer alone;
the step schedule and learning rate are this suite's (``star_steps``, ``star_lr``), not the paper's.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

import torch

from toy.config import RLConfig
from toy.evaluate import with_separator
from toy.parity import ParityBatch, ParityLayout, ResponseStats, prefix_parities, read_responses
from toy.sampling import generate
from toy.train import ntp_loss

CHECK_SEED_STRIDE = 1_000_003  # the refit check's generator seed: (run seed × stride + round) mod 2^63


def correct_subset(prompts: torch.Tensor, responses: torch.Tensor, x: torch.Tensor,
                   layout: ParityLayout) -> tuple[ParityBatch, ResponseStats]:
    """The kept set of a round: the full sequences whose extracted answer is correct."""
    stats = read_responses(responses, x, layout)
    keep = stats.correct
    kept = ParityBatch(tokens=torch.cat([prompts, responses], dim=1)[keep], x=x[keep],
                       answer=prefix_parities(x[keep])[:, -1], is_long=stats.is_long[keep])
    return kept, stats


def own_long_fraction(model: torch.nn.Module, kept: ParityBatch, layout: ParityLayout, cfg: RLConfig,
                      generator: torch.Generator) -> float:
    """The long fraction of one fresh response per prompt of the kept set (``star_refit_check``)."""
    model.eval()
    again = generate(model, with_separator(kept.x), layout.max_response_len, cfg.temperature, generator)
    model.train()
    return read_responses(again, kept.x, layout).is_long.float().mean().item()


def round_steps(cfg: RLConfig, round_number: int) -> int:
    """Fine-tuning steps of round ``round_number`` (1-based): round(star_steps · star_steps_growth^(n − 1))."""
    return round(cfg.star_steps * cfg.star_steps_growth ** (round_number - 1))


def iterate(
    model: torch.nn.Module, layout: ParityLayout, cfg: RLConfig, generator: torch.Generator
) -> Iterator[dict[str, float]]:
    """Run ``cfg.iterations`` STaR rounds from ``model`` (the base of ``star_restart``), yielding each round's
    statistics."""
    # A copy, not a reference: the state dict's tensors are the live parameters that fine-tuning overwrites.
    base = copy.deepcopy(model.state_dict()) if cfg.star_restart else None
    optimizer = None
    compounded = None
    for round_number in range(1, cfg.iterations + 1):
        x = torch.randint(0, 2, (cfg.star_samples, layout.d), generator=generator)
        prompts = with_separator(x)
        model.eval()
        responses = generate(model, prompts, layout.max_response_len, cfg.temperature, generator)
        model.train()
        kept, stats = correct_subset(prompts, responses, x, layout)
        keep = stats.correct
        check = (torch.Generator().manual_seed((generator.initial_seed() * CHECK_SEED_STRIDE + round_number) % 2**63)
                 if cfg.star_refit_check and bool(keep.any()) else None)
        pre_refit_own = own_long_fraction(model, kept, layout, cfg, check) if check is not None else None
        sampled_long = stats.is_long.float().mean().item()
        compounded = sampled_long if compounded is None else compounded
        compounded = 2 * compounded / (1 + compounded)
        if base is not None:
            model.load_state_dict(base)  # published STaR: fine-tune the original model on this round's set
        if optimizer is None or base is not None:  # restart: a fresh AdamW, no moments carried over
            optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.star_lr, weight_decay=0.0)
        # A round that kept nothing has nothing to fine-tune on: STaR stalls there (the next round samples the same
        # model again), which is a result, not an error (near-greedy sampling of a malformed model, say).
        steps = round_steps(cfg, round_number) if bool(keep.any()) else 0
        loss = None
        for _ in range(steps):
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
            "star/steps": steps,
            "star/sampled_long_fraction": sampled_long,
            "star/kept_long_fraction": kept.is_long.float().mean().item() if steps else None,
            "star/pre_refit_own_long_fraction": pre_refit_own,
            "star/refit_own_long_fraction": (own_long_fraction(model, kept, layout, cfg, check) if check is not None
                                             else None),
            "star/one_step_prediction": 2 * sampled_long / (1 + sampled_long),
            "star/recursion_prediction": compounded,
            # After fitting the kept set, greedy decoding continues iff the long fraction exceeds 1/3 (§6.2).
            "star/greedy_accuracy_prediction": 1.0 if compounded > 1 / 3 else 0.5,
            "star/long_accuracy": stats.correct[stats.is_long].float().mean().item() if stats.is_long.any() else None,
            "rollout/long_fraction": sampled_long,
            "rollout/mean_length": stats.length.float().mean().item(),
            "rollout/malformed": stats.malformed.float().mean().item(),
            "loss": loss.item() if loss is not None else None,
        }
