"""GRPO and REINFORCE with a baseline on the parity task (Tsilivis et al. 2025 §3; docs/research/parity_cot_rl.md §4).

One iteration: draw P prompts, sample G responses each at temperature T from the current policy π_θ,
reward R = 1 if the extracted answer is correct else 0 (malformed responses earn 0), then ascend

    J(θ) = E[ Σ_t A · min(ρ_t, clip(ρ_t, 1 − ε, 1 + ε)) ] − β Σ_t KL(π_θ(·|s_t) ‖ π_ref(·|s_t)),
    ρ_t = π_θ(r_t|s_t) / π_old(r_t|s_t),

aggregated over the tokens of a batch per ``loss_norm``.  With ``epochs = minibatches = 1`` the ratio is 1 at the
only update, so the step is the plain policy gradient E[A ∇ log π(r)].  The advantage is where the algorithms differ:

* **GRPO** (Shao et al. 2024): A_i = (R_i − mean_g R) / (std_g R + 1e-6) over the prompt's group,
  the division optional (``std_normalize``); std is the unbiased sample standard deviation, as in TRL.
  The division is *off* by default (as in Dr. GRPO, Liu et al. 2025, and docs/research/cpu_pilot.md): once most
  groups are solved it multiplies the one failure of a 7-of-8 group by 1/std ≈ 2.8, and at d = 50 that
  collapsed 1 of 3 seeds right after it had solved the task (KL to the start 0.5 → 68 within 8 iterations,
  greedy accuracy 1.00 → 0.50); without it the same checkpoint stayed at 1.00 for 100 iterations.
* **REINFORCE** (Williams 1992) with a baseline: A_i = R_i − b, with b the leave-one-out mean of the
  other G − 1 samples of the same prompt (an unbiased baseline) or a running mean of past batch rewards.

**Loss aggregation** (``loss_norm``, named after TRL GRPOTrainer's ``loss_type``; ℓ_it the masked per-token loss of
response i with |o_i| tokens, N responses in the batch):

* ``grpo``: (1/N) Σ_i (1/|o_i|) Σ_t ℓ_it, each response's mean, then the mean over responses (the original GRPO; a
  token of a long response weighs less, which Liu et al. 2025 name a length bias);
* ``dr_grpo``: Σ_it ℓ_it / N.  TRL divides by N · max_completion_length: a constant factor 1/L_max, which Adam
  removes up to its eps but a gradient-norm clip does not (TRL's dr_grpo gradient is 1/L_max of this one, so the
  same ``max_grad_norm`` clips it less often);
* ``dapo``: Σ_it ℓ_it / Σ_i |o_i|, every token weighs the same (DAPO, Yu et al. 2025; TRL's recent default).  TRL
  normalises by the tokens of the *global accumulated* batch (all processes and gradient-accumulation steps of one
  optimizer step) and its ``bnpo`` by those of the local batch; in one process without accumulation the two are the
  same number, so there is no ``bnpo`` here.  "The batch" is the minibatch an optimizer step is taken on.

**PPO-style updates** (``epochs``, ``minibatches``): each epoch shuffles the P prompt groups (with the rollout
generator, so a seed fixes the order) into ``minibatches`` parts of whole groups and takes one optimizer step per
part; the loss of a step is aggregated over its part only.  Whenever an iteration takes more than one step, π_old is
the policy that sampled the rollouts for every step: one no-grad pass before the first step gives the old
log-probabilities, and the iteration logs ``policy/clip_fraction``, the fraction of masked tokens over all its steps
whose ratio left [1 − ε, 1 + ε].  With one step the step's own pass, detached, is π_old (no extra pass).  The
advantages are computed once per iteration over the whole batch; ``loss`` is the mean over the last epoch's steps.

**Optimiser** (GRPO and REINFORCE; STaR, toy/star.py, fine-tunes with its own ``star_lr`` and schedule):
``max_grad_norm > 0`` clips the global gradient norm before every step (TRL's default is 1.0);
``policy/grad_norm``, the norm before clipping (mean over the steps; with several steps also their largest,
``policy/grad_norm_max``), is logged either way.  ``lr_schedule`` sets
Adam's learning rate over the iterations i = 1..I: constant; linear, lr·(1 − (i−1)/I); cosine,
lr·(1 + cos(π(i−1)/I))/2, stepped after all of an iteration's steps and logged as ``policy/lr``.  The diagnostics
``policy/entropy`` and ``policy/kl_to_*`` are those of the policy that sampled the iteration's rollouts.

Departures from the published algorithms: the KL term is by default the *exact* per-state KL over the three
response tokens at the visited states (GRPO uses the k3 single-sample estimator); log-probabilities are
those of the temperature-T policy that generated the rollouts; no reward model, no value network.
``kl_estimator = 'k1' | 'k3'`` puts the published single-sample estimators in its place, k1 = log π(a)/π_ref(a) and
k3 = r − 1 − log r with r = π_ref(a)/π(a) at the sampled token a (Schulman 2020; k3 is TRL GRPO's): both are
unbiased for the value KL(π ‖ π_ref), but differentiated at samples of π their expected gradient is 0 for k1 and
∇KL(π_ref ‖ π) for k3, the *reverse* KL (tests/test_kl_estimators.py checks both by enumeration).

**RL on the endogenous reward** (``reward = 'endogenous'``; Li et al. 2025, arXiv 2506.23235, eqs. (11)-(12)):
the sequence reward of a response is the outcome endogenous reward of the frozen start model
π̂ (the ``reference`` below), r̂(r|x) = α log π̂(r|x) + V(s_1) at α = 1 (toy/endogenous_reward.py).  Every
sample of a prompt's group shares V(s_1), so any group baseline removes it.  With ``kl_beta = β > 0`` the
optimum of E[r̂] − β KL(π ‖ π̂) over response laws is π* ∝ π̂ · exp(r̂/β) = π̂^(1+α/β) / Z(x): a sharpening
towards the sequence-level mode (the V(s_1) factor cancels in Z).  Two conditions make it the fixed point of
the update here, with epochs = minibatches = 1, loss_norm = 'dr_grpo' and std_normalize off:

* ``kl_to_go``: summed over the visited states, the exact per-state KL equals KL(π ‖ π_ref) of whole responses
  in expectation (chain rule), but differentiating it at the sampled states misses the score term of the later
  states' KL, Σ_t ∇log π(r_t|s_t) · Σ_{t'>t} KL_{t'}.  Without it the fixed point is π(·|s) ∝ π_ref(·|s) ·
  exp(Q_R(s, ·)/β) with Q_R the expected reward to go alone (a per-state, "myopic" regularisation); with it
  the expected update is the gradient of the whole-response objective.
* the baseline: GRPO's group mean includes the sample itself, which scales the reward part of the expected
  gradient by (G − 1)/G (the KL part is not scaled), so its fixed point is π̂^(1 + (G−1)α/(Gβ)); REINFORCE's
  leave-one-out baseline is unbiased.

``kl_reference = 'uniform'`` replaces π_ref by the uniform law U over every response of the budget (its
token-level form: `uniform_response_log_dists`): KL(π ‖ U) = log |responses| − H(π), so β·KL is entropy
regularisation, and with reward r̂ and β = α the optimum is π̂ itself.  ``long_bonus`` adds c·[long] to the
sequence reward (a planted preference for the chain).  With ``reward = 'endogenous'`` an iteration logs
``reward/endogenous`` (mean r̂ of the rollouts) and ``rollout/accuracy`` next to ``reward/mean`` (the reward
used, bonus included); ``policy/kl_to_<kl_reference>`` is the exact KL per response to the reference (summed
exact per-state KL over the sampled responses' states, whichever estimator the penalty uses).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import torch

from toy.config import RLConfig
from toy.endogenous_reward import endogenous_reward
from toy.evaluate import with_separator
from toy.parity import PAD, ParityLayout, ResponseStats, read_responses
from toy.sampling import generate, response_log_dists, token_log_probs

ENDOGENOUS_ALPHA = 1.0  # α of the endogenous reward: the temperature the start model was trained at


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
    """The clipped surrogate (to minimise) for per-token log-probs (N, L), advantages (N,) or per token (N, L),
    mask (N, L)."""
    ratio = torch.exp(log_probs - old_log_probs)
    adv = advantages if advantages.dim() == 2 else advantages[:, None]
    per_token = -torch.minimum(ratio * adv, ratio.clamp(1 - clip_eps, 1 + clip_eps) * adv)
    if kl is not None and kl_beta > 0:
        per_token = per_token + kl_beta * kl
    per_token = per_token * mask
    if loss_norm == "dr_grpo":
        return per_token.sum() / mask.shape[0]
    if loss_norm == "grpo":
        return (per_token.sum(dim=1) / mask.sum(dim=1).clamp(min=1)).mean()
    if loss_norm == "dapo":
        return per_token.sum() / mask.sum().clamp(min=1)
    raise ValueError(f"rl.loss_norm: unknown normalisation {loss_norm!r}")


def tokens_outside_trust_region(log_probs: torch.Tensor, old_log_probs: torch.Tensor, mask: torch.Tensor,
                                clip_eps: float) -> float:
    """How many masked tokens have a ratio π/π_old outside [1 − ε, 1 + ε] (the numerator of policy/clip_fraction)."""
    with torch.no_grad():
        ratio = (log_probs - old_log_probs).exp()
        return (((ratio - 1).abs() > clip_eps) * mask).sum().item()


def exact_kl(log_dists: torch.Tensor, ref_log_dists: torch.Tensor) -> torch.Tensor:
    """KL(π ‖ π_ref) at every position from (…, 3) log-distributions → (…)."""
    return (log_dists.exp() * (log_dists - ref_log_dists)).sum(-1)


def kl_estimate(log_dists: torch.Tensor, ref_log_dists: torch.Tensor, responses: torch.Tensor,
                estimator: str) -> torch.Tensor:
    """The per-position KL term (N, L) of ``estimator`` from log π and log π_ref (…, 3) and the sampled responses
    (N, L): the exact KL(π ‖ π_ref), or k1 / k3 at the sampled token (zero on <pad>; module docstring)."""
    if estimator == "exact":
        return exact_kl(log_dists, ref_log_dists)
    # log r = log π_ref(a) − log π(a); a reference may be one (L, 3) law shared by every response
    log_ratio = token_log_probs(ref_log_dists.expand_as(log_dists), responses) - token_log_probs(log_dists, responses)
    if estimator == "k1":
        return -log_ratio
    if estimator == "k3":
        return log_ratio.exp() - 1 - log_ratio
    raise ValueError(f"rl.kl_estimator: unknown estimator {estimator!r}")


def kl_to_go(kl: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Σ_{t' > t} KL_{t'} over each response's own positions (N, L), detached: the later states' KL that the
    token at t leads to (the score-function term of the whole-response KL; module docstring)."""
    per_token = (kl * mask).detach()
    return per_token.flip(1).cumsum(1).flip(1) - per_token


def uniform_response_log_dists(length: int) -> torch.Tensor:
    """log U(·|s_t) (length, 3) of the uniform law over every response of budget L = ``length``.

    C_t, the number of complete responses from the state before token t, is 3 at t = L (after the L-th token
    the response ends) and 2·C_{t+1} + 1 before; U(bit|s_t) = C_{t+1}/C_t and U(<eos>|s_t) = 1/C_t.
    """
    completions = [3.0]
    while len(completions) < length:
        completions.insert(0, 2 * completions[0] + 1)
    count = torch.tensor([*completions, 1.0], dtype=torch.float64)
    bit, eos = (count[1:] / count[:-1]).log(), (1 / count[:-1]).log()
    return torch.stack([bit, bit, eos], dim=1)


def minibatch_rows(prompts: int, group_size: int, minibatches: int, generator: torch.Generator) -> list[torch.Tensor]:
    """The rows of each minibatch of one epoch (rows p·G … p·G + G − 1 hold prompt p's group): the P groups in an order
    drawn from ``generator``, split into ``minibatches`` parts whose sizes differ by at most one group.  One
    minibatch: every row in order, and nothing is drawn (so the one-step path keeps its random stream)."""
    if minibatches == 1:
        return [torch.arange(prompts * group_size)]
    groups = torch.randperm(prompts, generator=generator)
    rows = groups[:, None] * group_size + torch.arange(group_size)
    return [part.flatten() for part in rows.tensor_split(minibatches)]


def clip_gradients(parameters: list[torch.nn.Parameter], max_norm: float) -> float:
    """Scale the gradients so that their global 2-norm is at most ``max_norm`` (0: leave them as they are, as does a
    norm already below it); returns the norm before clipping."""
    # An infinite bound scales every gradient by exactly 1 and still measures the norm (torch >= 2.4 has no
    # separate norm function).
    return torch.nn.utils.clip_grad_norm_(parameters, max_norm if max_norm > 0 else math.inf).item()


def lr_factor(schedule: str, iterations: int) -> Callable[[int], float]:
    """rl.lr's multiplier as a function of k = i − 1, the iterations already finished (LambdaLR's count)."""
    if schedule == "constant":
        return lambda k: 1.0
    if schedule == "linear":
        return lambda k: 1 - k / iterations
    if schedule == "cosine":
        return lambda k: 0.5 * (1 + math.cos(math.pi * k / iterations))
    raise ValueError(f"rl.lr_schedule: unknown schedule {schedule!r}")


def sequence_rewards(reference: torch.nn.Module, prompts: torch.Tensor, responses: torch.Tensor,
                     stats: ResponseStats, cfg: RLConfig) -> tuple[torch.Tensor, dict[str, float]]:
    """Each response's reward (N,) under ``cfg.reward`` plus ``cfg.long_bonus``·[long], and what to log besides its
    mean (the endogenous reward and the rollouts' accuracy when the reward is not the verifiable one)."""
    if cfg.reward == "verifiable":
        rewards, logged = stats.correct.float(), {}
    else:
        with torch.no_grad():
            rewards = endogenous_reward(reference, prompts, responses, ENDOGENOUS_ALPHA).outcome().float()
        logged = {"reward/endogenous": rewards.mean().item(), "rollout/accuracy": stats.correct.float().mean().item()}
    if cfg.long_bonus:
        rewards = rewards + cfg.long_bonus * stats.is_long.float()
    return rewards, logged


def iterate(
    model: torch.nn.Module, reference: torch.nn.Module, layout: ParityLayout, cfg: RLConfig,
    generator: torch.Generator, diagnose_every: int = 1,
) -> Iterator[dict[str, float]]:
    """Run ``cfg.iterations`` policy-gradient iterations, yielding each iteration's rollout statistics.

    ``reference`` is the frozen start model: the KL reference (``kl_reference = 'start'``) and the model whose
    endogenous reward is the reward (``reward = 'endogenous'``).  An iteration runs only the passes its update
    reads: the rollout, a teacher-forced pass of the policy with its backward per optimizer step (epochs ×
    minibatches of them), a no-grad pass for π_old when there is more than one step, and the reference's pass only
    when the KL penalty needs it.  ``policy/kl_to_<kl_reference>`` is a diagnostic: without a penalty it is computed
    (one more reference pass) only every ``diagnose_every`` iterations and at the last one, and absent from the other
    records."""
    parameters = list(model.parameters())
    optimizer = torch.optim.Adam(parameters, lr=cfg.lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(cfg.lr_schedule, cfg.iterations))
    running_baseline = None
    penalised = cfg.kl_beta > 0
    several_steps = cfg.epochs > 1 or cfg.minibatches > 1
    for iteration in range(1, cfg.iterations + 1):
        x = torch.randint(0, 2, (cfg.prompts, layout.d), generator=generator).repeat_interleave(cfg.group_size, 0)
        prompts = with_separator(x)
        responses = generate(model, prompts, layout.max_response_len, cfg.temperature, generator)
        stats = read_responses(responses, x, layout)
        rewards, reward_stats = sequence_rewards(reference, prompts, responses, stats, cfg)
        rewards = rewards.view(cfg.prompts, cfg.group_size)
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
        with_kl = penalised or iteration % diagnose_every == 0 or iteration == cfg.iterations
        ref_log_dists = reference_log_dists(reference, prompts, responses, layout, cfg) if with_kl else None
        rollout_log_dists = None  # log π_old(·|s_t): the policy that sampled the rollouts
        if several_steps:
            with torch.no_grad():
                rollout_log_dists = response_log_dists(model, prompts, responses, cfg.temperature)
                rollout_log_probs = token_log_probs(rollout_log_dists, responses)
        grad_norms, clipped = [], 0.0
        for _ in range(cfg.epochs):
            losses = []  # the last epoch's are logged
            for rows in minibatch_rows(cfg.prompts, cfg.group_size, cfg.minibatches, generator):
                log_dists = response_log_dists(model, prompts[rows], responses[rows], cfg.temperature)
                log_probs = token_log_probs(log_dists, responses[rows])
                if rollout_log_dists is None:  # one step: π_old is this pass
                    rollout_log_dists, rollout_log_probs = log_dists.detach(), log_probs.detach()
                old_log_probs = rollout_log_probs[rows]
                kl = (kl_estimate(log_dists, ref_log_dists[rows], responses[rows], cfg.kl_estimator) if with_kl
                      else None)
                token_advantages = (advantages[rows, None] - cfg.kl_beta * kl_to_go(kl, mask[rows])
                                    if penalised and cfg.kl_to_go else advantages[rows])
                loss = policy_loss(log_probs, old_log_probs, token_advantages, mask[rows], cfg.loss_norm,
                                   cfg.clip_eps, kl, cfg.kl_beta)
                if not torch.isfinite(loss):
                    raise FloatingPointError(f"policy loss is {loss.item()}; try a lower rl.lr")
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                grad_norms.append(clip_gradients(parameters, cfg.max_grad_norm))
                optimizer.step()
                losses.append(loss.item())
                if several_steps:
                    clipped += tokens_outside_trust_region(log_probs, old_log_probs, mask[rows], cfg.clip_eps)
        lr = optimizer.param_groups[0]["lr"]
        scheduler.step()
        with torch.no_grad():
            entropy = -(rollout_log_dists.exp() * rollout_log_dists).sum(-1)
            tokens = mask.sum()
            record = {
                "reward/mean": rewards.mean().item(),
                "reward/frac_zero_std_groups": (rewards.std(dim=1) == 0).float().mean().item(),
                "rollout/long_fraction": stats.is_long.float().mean().item(),
                "rollout/mean_length": stats.length.float().mean().item(),
                "rollout/malformed": stats.malformed.float().mean().item(),
                "policy/entropy": ((entropy * mask).sum() / tokens).item(),
                "policy/grad_norm": sum(grad_norms) / len(grad_norms),
                "policy/lr": lr,
                "loss": sum(losses) / len(losses),
                **reward_stats,
            }
            if several_steps:
                record["policy/clip_fraction"] = clipped / (tokens.item() * cfg.epochs)
                # the mean over epochs × minibatches dilutes a spike of one step, the kind that precedes a collapse
                record["policy/grad_norm_max"] = max(grad_norms)
            if with_kl:
                # The exact per-state KL whatever estimator the penalty uses: k1 is noisy and can go negative, and
                # the collapse detector (sweeps/rl_variants.py) compares this number across variants.
                kl = exact_kl(rollout_log_dists, ref_log_dists)
                record[f"policy/kl_to_{cfg.kl_reference}"] = ((kl * mask).sum() / mask.shape[0]).item()
        yield record


def reference_log_dists(reference: torch.nn.Module, prompts: torch.Tensor, responses: torch.Tensor,
                        layout: ParityLayout, cfg: RLConfig) -> torch.Tensor:
    """log π_ref(·|s_t) at every response position: the start model's teacher-forced pass, or the uniform law."""
    if cfg.kl_reference == "uniform":  # one law for every response, expanded so that rows of a minibatch index it
        uniform = uniform_response_log_dists(layout.max_response_len).to(torch.get_default_dtype())
        return uniform.expand(len(responses), -1, -1)
    with torch.no_grad():
        return response_log_dists(reference, prompts, responses, cfg.temperature)
