"""GRPO and REINFORCE with a baseline on the parity task (Tsilivis et al. 2025 §3, research notes §4).

One iteration: draw P prompts, sample G responses each at temperature T from the current policy π_θ,
reward R = 1 if the extracted answer is correct else 0 (malformed responses earn 0), then ascend

    J(θ) = E[ Σ_t A · min(ρ_t, clip(ρ_t, 1 − ε, 1 + ε)) ] − β Σ_t KL(π_θ(·|s_t) ‖ π_ref(·|s_t)),
    ρ_t = π_θ(r_t|s_t) / π_old(r_t|s_t),

normalised per ``loss_norm`` (Σ over tokens divided by the number of sequences, per-response mean then
mean, or by the number of tokens).  With ``epochs = 1`` the ratio is 1 at the only update, so the step is
the plain policy gradient E[A ∇ log π(r)].  The advantage is where the algorithms differ:

* **GRPO** (Shao et al. 2024): A_i = (R_i − mean_g R) / (std_g R + 1e-6) over the prompt's group,
  the division optional (``std_normalize``); std is the unbiased sample standard deviation, as in TRL.
  The division is *off* by default (as in Dr. GRPO, Liu et al. 2025, and research/cpu_pilot.md): once most
  groups are solved it multiplies the one failure of a 7-of-8 group by 1/std ≈ 2.8, and at d = 50 that
  collapsed 1 of 3 seeds right after it had solved the task (KL to the start 0.5 → 68 within 8 iterations,
  greedy accuracy 1.00 → 0.50); without it the same checkpoint stayed at 1.00 for 100 iterations.
* **REINFORCE** (Williams 1992) with a baseline: A_i = R_i − b, with b the leave-one-out mean of the
  other G − 1 samples of the same prompt (an unbiased baseline) or a running mean of past batch rewards.

Departures from the published algorithms: the KL term is the *exact* per-state KL over the three
response tokens at the visited states (GRPO uses the k3 single-sample estimator); log-probabilities are
those of the temperature-T policy that generated the rollouts; no reward model, no value network.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from toy.config import RLConfig
from toy.evaluate import with_separator
from toy.parity import PAD, ParityLayout, read_responses
from toy.sampling import generate, response_log_dists, token_log_probs


def grpo_advantages(rewards: torch.Tensor, std_normalize: bool) -> torch.Tensor:
    """Group-relative advantages for rewards (P, G): R − group mean, optionally / (group std + 1e-6)."""
    centred = rewards - rewards.mean(dim=1, keepdim=True)
    return centred / (rewards.std(dim=1, keepdim=True) + 1e-6) if std_normalize else centred


def leave_one_out_advantages(rewards: torch.Tensor) -> torch.Tensor:
    """A_i = R_i − mean of the other samples of the same prompt: (P, G) → (P, G)."""
    group = rewards.shape[1]
    return rewards - (rewards.sum(dim=1, keepdim=True) - rewards) / (group - 1)


def policy_loss(
    log_probs: torch.Tensor,
    old_log_probs: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    loss_norm: str,
    clip_eps: float,
    kl: torch.Tensor | None = None,
    kl_beta: float = 0.0,
) -> torch.Tensor:
    """The clipped surrogate (to minimise) for per-token log-probs (N, L), advantages (N,), mask (N, L)."""
    ratio = torch.exp(log_probs - old_log_probs)
    adv = advantages[:, None]
    per_token = -torch.minimum(ratio * adv, ratio.clamp(1 - clip_eps, 1 + clip_eps) * adv)
    if kl is not None and kl_beta > 0:
        per_token = per_token + kl_beta * kl
    per_token = per_token * mask
    if loss_norm == "sequence_sum":
        return per_token.sum() / mask.shape[0]
    if loss_norm == "sequence_mean":
        return (per_token.sum(dim=1) / mask.sum(dim=1).clamp(min=1)).mean()
    if loss_norm == "token":
        return per_token.sum() / mask.sum().clamp(min=1)
    raise ValueError(f"rl.loss_norm: unknown normalisation {loss_norm!r}")


def exact_kl(log_dists: torch.Tensor, ref_log_dists: torch.Tensor) -> torch.Tensor:
    """KL(π ‖ π_ref) at every position from (…, 3) log-distributions → (…)."""
    return (log_dists.exp() * (log_dists - ref_log_dists)).sum(-1)


def iterate(
    model: torch.nn.Module, reference: torch.nn.Module, layout: ParityLayout, cfg: RLConfig,
    generator: torch.Generator,
) -> Iterator[dict[str, float]]:
    """Run ``cfg.iterations`` policy-gradient iterations, yielding each iteration's rollout statistics."""
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    running_baseline = None
    for _ in range(cfg.iterations):
        x = torch.randint(0, 2, (cfg.prompts, layout.d), generator=generator).repeat_interleave(cfg.group_size, 0)
        prompts = with_separator(x)
        responses = generate(model, prompts, layout.max_response_len, cfg.temperature, generator)
        stats = read_responses(responses, x, layout)
        rewards = stats.correct.float().view(cfg.prompts, cfg.group_size)
        if cfg.algo == "grpo":
            advantages = grpo_advantages(rewards, cfg.std_normalize)
        elif cfg.baseline == "leave_one_out":
            advantages = leave_one_out_advantages(rewards)
        else:
            baseline = rewards.mean() if running_baseline is None else running_baseline
            advantages = rewards - baseline
            running_baseline = cfg.baseline_momentum * baseline + (1 - cfg.baseline_momentum) * rewards.mean()
        advantages = advantages.flatten()
        mask = (responses != PAD).float()
        with torch.no_grad():
            old_log_probs = token_log_probs(response_log_dists(model, prompts, responses, cfg.temperature), responses)
            ref_log_dists = response_log_dists(reference, prompts, responses, cfg.temperature)
        for _ in range(cfg.epochs):
            log_dists = response_log_dists(model, prompts, responses, cfg.temperature)
            kl = exact_kl(log_dists, ref_log_dists)
            loss = policy_loss(token_log_probs(log_dists, responses), old_log_probs, advantages, mask,
                               cfg.loss_norm, cfg.clip_eps, kl, cfg.kl_beta)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"policy loss is {loss.item()}; try a lower rl.lr")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            entropy = -(log_dists.exp() * log_dists).sum(-1)
            tokens = mask.sum()
            yield {
                "reward/mean": rewards.mean().item(),
                "reward/frac_zero_std_groups": (rewards.std(dim=1) == 0).float().mean().item(),
                "rollout/long_fraction": stats.is_long.float().mean().item(),
                "rollout/mean_length": stats.length.float().mean().item(),
                "rollout/malformed": stats.malformed.float().mean().item(),
                "policy/entropy": ((entropy * mask).sum() / tokens).item(),
                "policy/kl_to_start": ((kl * mask).sum() / mask.shape[0]).item(),
                "loss": loss.item(),
            }
