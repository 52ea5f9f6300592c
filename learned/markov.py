"""A TinyGPT trained by SGD on an order-k Markov "language", then post-trained by average-reward RL.

The learned counterpart of the exact computations in theory.average_reward.  Human text is an
order-k chain p_h, a (V**k, V) table passed to `run` (learned/average_reward_learned_claims.py draws the
chains; layout of theory.chains: a state s is the base-V number of the last k tokens,
s' = (s·V + a) mod V**k); the model sees exactly the last k tokens (max_len = k), so its policy is a
(V**k, V) table π_θ(a|s) = softmax(model(tokens of s))[-1], read off by feeding every context once.

NTP (docs/sources/average_reward_paper.md §2.2): online SGD on fresh sequences of p_h started from μ_D,
    L(θ) = −(1/N) Σ_i log π_θ(a_i | s_i)  over the N (context, next token) pairs of a batch.
Its optimum is p_h (Gibbs); §3.2 step 5 and §3.3 implication 1 claim this optimum also maximises the
average reward ρ(π) = Σ_s μ_π(s) Σ_a π(a|s) log p_h(a|s) (§3.2 step 1 with the reward of step 2).

RL (§3.2 step 1 optimised directly): walkers roll the model out as a chain, and the average-reward
policy-gradient theorem ∇ρ = E_{μ_π, π}[∇log π(a|s) q_π(s, a)], q = r − ρ + h(s') (Sutton & Barto §13.6),
is estimated with the truncated differential return as q (REINFORCE with a running-average baseline):
    G_t = Σ_{j=t}^{t+H−1} (r_j − ρ̂),   ∇ρ ≈ (1/N) Σ_t G_t ∇log π_θ(a_t | s_t).
E[G_t | s_t, a_t] = q(s_t, a_t) − E[h(s_{t+H})] + H (ρ − ρ̂): the middle term tends to μ_π·h = 0 as the
chain mixes, the last is the same for every action, so it adds variance but no bias.  H = 1 would be the
source's Lemma 1 (immediate reward only, the h(s') term dropped).  Rewards: r = log p_h(a|s), or for the
entropy-regularised objective ρ_ent = ρ − E_{μ_π}[log π] the reward r − log π(a|s) at the current π
(its own gradient term Σ_a π ∇log π vanishes, theory.average_reward.policy_gradient_theorem).

Departures: (1) a batch's loss −(1/N) Σ_i w_i log π_θ(a_i|s_i) is computed as −(1/N) Σ_{s,a} W(s, a)
log π_θ(a|s) with W the per-(context, token) sum of the sample weights, evaluating the model once per
distinct context: the same number and gradient, N/V**k times cheaper.  (2) Rollouts sample from the
extracted table instead of calling the model token by token (identical: the model sees only the last k
tokens).  (3) Walkers persist across RL updates, so states follow the current μ_π up to the lag of the
policy's change.  (4) Adam with gradient-norm clipping; no entropy bonus other than the ρ_ent reward.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch

from theory.average_reward import objective_values, optimal_average_reward
from theory.chains import (
    chain_shape,
    next_state_table,
    on_policy_distribution,
    policy_distance,
    softmax_rows,
    total_variation,
)
from toy.gpt import TinyGPT

POLICIES = ("initial", "ntp", "rl", "rl_entropy")  # the models `run` returns, in training order


@dataclass(frozen=True)
class MarkovConfig:
    """The model and the NTP / RL schedules of one run (the human chain p_h is an argument of `run`)."""

    vocab: int = 3  # V and k of the model: must match the (V**k, V) table p_h passed to `run`
    order: int = 2
    seed: int = 0  # model initialisation and every sample
    layers: int = 1
    width: int = 64  # at width 32, NTP on 1 of 8 random chains stalled with two contexts merged (KL ≈ 1000 d/2N)
    heads: int = 4
    ntp_steps: int = 400
    ntp_sequences: int = 32
    ntp_length: int = 32  # pairs per NTP step = ntp_sequences · ntp_length
    ntp_lr: float = 3e-3  # at width 32, 1e-2 stalled on loss plateaus (5 of 8 chains above 300 d/2N)
    rl_steps: int = 200
    rl_walkers: int = 64
    rl_segment: int = 16  # updates use this many steps per walker, each with a full horizon of lookahead
    rl_horizon: int = 8  # H of the truncated differential return
    # at 3e-3, 1 of 36 RL runs on random chains collapsed onto a worse deterministic cycle (ρ fell 0.59 below ρ(p_h))
    # and an entropy-regularised run ended at 6x its start's KL; at 1e-3 neither in 54 runs, final ρ within 0.033
    rl_lr: float = 1e-3
    baseline_momentum: float = 0.9
    grad_clip: float = 1.0


def build_markov_gpt(cfg: MarkovConfig) -> TinyGPT:
    """A TinyGPT whose context is exactly the last k tokens; initialised from ``cfg.seed`` (global RNG untouched)."""
    with torch.random.fork_rng():
        torch.manual_seed(cfg.seed)
        return TinyGPT(cfg.vocab, cfg.order, cfg.layers, cfg.width, cfg.heads, mlp_ratio=4)


def context_tokens(vocab: int, order: int) -> torch.Tensor:
    """The k tokens of every state, oldest first, shape (V**k, k): token j of s is digit k−1−j of s in base V."""
    digits = vocab ** torch.arange(order - 1, -1, -1)
    return torch.arange(vocab**order)[:, None] // digits % vocab


def log_policy_table(model: TinyGPT, vocab: int, order: int) -> torch.Tensor:
    """log π_θ(a|s) for every state, (V**k, V), differentiable: the model's last-position log-softmax."""
    return torch.log_softmax(model(context_tokens(vocab, order))[:, -1], dim=-1)


def policy_table(model: TinyGPT, vocab: int, order: int) -> np.ndarray:
    """π_θ as a float64 (V**k, V) table, the softmax redone in float64 so rows sum to 1 for theory.chains."""
    with torch.no_grad():
        logits = model(context_tokens(vocab, order))[:, -1]
    return softmax_rows(logits.double().numpy())


def sample_walk(
    policy: np.ndarray, start_states: np.ndarray, steps: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Roll ``policy`` out as a chain from each start state: (states, actions), both (walkers, steps).

    Inverse-CDF sampling, a_t = #{b : u_t > F(b|s_t)} with F the row's cumulative sum, then
    s_{t+1} = next(s_t, a_t).  The last action leads to next(states[:, -1], actions[:, -1]).
    """
    vocab = policy.shape[1]
    cumulative, next_state = policy.cumsum(axis=1), next_state_table(*chain_shape(policy))
    states = np.empty((len(start_states), steps), dtype=np.int64)
    actions = np.empty_like(states)
    current = np.asarray(start_states, dtype=np.int64)
    for t in range(steps):
        states[:, t] = current
        # min(·, V−1): a uniform above the round-off-shortened last cumulative value still picks the last token
        actions[:, t] = np.minimum((rng.random(len(current))[:, None] > cumulative[current]).sum(axis=1), vocab - 1)
        current = next_state[current, actions[:, t]]
    return states, actions


def pair_weights(states: np.ndarray, actions: np.ndarray, weights: np.ndarray, shape: tuple[int, int]) -> torch.Tensor:
    """W(s, a) = Σ_i w_i [s_i = s, a_i = a] as a (V**k, V) tensor: departure (1) of the module docstring."""
    flat = np.bincount((states * shape[1] + actions).ravel(), weights.ravel(), minlength=shape[0] * shape[1])
    return torch.from_numpy(flat.reshape(shape)).float()


def differential_returns(rewards: np.ndarray, baseline: float, horizon: int) -> np.ndarray:
    """G_t = Σ_{j=t}^{t+H−1} (r_j − ρ̂) for every t with a full horizon: (walkers, T) → (walkers, T − H + 1)."""
    cumulative = np.concatenate([np.zeros((len(rewards), 1)), np.cumsum(rewards - baseline, axis=1)], axis=1)
    return cumulative[:, horizon:] - cumulative[:, :-horizon]


def step_rewards(p_human: np.ndarray, policy: np.ndarray, states: np.ndarray, actions: np.ndarray,
                 entropy: bool) -> np.ndarray:
    """r = log p_h(a|s), minus log π(a|s) of the rollout policy for the entropy-regularised objective ρ_ent."""
    rewards = np.log(p_human[states, actions])
    return rewards - np.log(policy[states, actions]) if entropy else rewards


def _descend(model: TinyGPT, optimiser: torch.optim.Optimizer, loss: torch.Tensor, grad_clip: float) -> None:
    """One optimiser step on ``loss`` with the gradient norm clipped to ``grad_clip``."""
    optimiser.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimiser.step()


def train_ntp(model: TinyGPT, p_human: np.ndarray, cfg: MarkovConfig, rng: np.random.Generator) -> int:
    """Online NTP on fresh sequences of p_h started from μ_D (so every pair is a draw from μ_D × p_h).

    Adam with a linear decay of the learning rate to 0: the last iterates average the gradient noise
    down instead of jittering at a constant-step floor.  Returns the number of (context, token) pairs seen.
    """
    mu_data = on_policy_distribution(p_human)
    optimiser = torch.optim.Adam(model.parameters(), lr=cfg.ntp_lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: 1 - step / cfg.ntp_steps)
    pairs = cfg.ntp_sequences * cfg.ntp_length
    for _ in range(cfg.ntp_steps):
        states, actions = sample_walk(p_human, rng.choice(len(mu_data), cfg.ntp_sequences, p=mu_data),
                                      cfg.ntp_length, rng)
        counts = pair_weights(states, actions, np.ones(states.shape), p_human.shape)
        _descend(model, optimiser, -(counts * log_policy_table(model, cfg.vocab, cfg.order)).sum() / pairs,
                 cfg.grad_clip)
        schedule.step()
    return cfg.ntp_steps * pairs


def train_average_reward(model: TinyGPT, p_human: np.ndarray, cfg: MarkovConfig, rng: np.random.Generator,
                         entropy: bool) -> list[float]:
    """On-policy average-reward REINFORCE (module docstring); returns the running average reward ρ̂ per update.

    Walkers start from the exact μ_π of the initial model and then keep walking; ρ̂ is an exponential
    moving average of the batch-mean reward, used before it absorbs the current batch (a baseline that
    does not depend on the current actions), except at the first update, whose batch mean initialises it.
    """
    optimiser = torch.optim.Adam(model.parameters(), lr=cfg.rl_lr)
    policy = policy_table(model, cfg.vocab, cfg.order)
    mu_start = on_policy_distribution(policy)
    walkers = rng.choice(len(mu_start), cfg.rl_walkers, p=mu_start)
    next_state = next_state_table(cfg.vocab, cfg.order)
    baseline, history = None, []
    for _ in range(cfg.rl_steps):
        policy = policy_table(model, cfg.vocab, cfg.order)
        states, actions = sample_walk(policy, walkers, cfg.rl_segment + cfg.rl_horizon - 1, rng)
        walkers = next_state[states[:, -1], actions[:, -1]]
        rewards = step_rewards(p_human, policy, states, actions, entropy)
        baseline = rewards.mean() if baseline is None else baseline
        returns = differential_returns(rewards, baseline, cfg.rl_horizon)
        weights = pair_weights(states[:, : cfg.rl_segment], actions[:, : cfg.rl_segment], returns, p_human.shape)
        _descend(model, optimiser, -(weights * log_policy_table(model, cfg.vocab, cfg.order)).sum() / returns.size,
                 cfg.grad_clip)
        baseline = cfg.baseline_momentum * baseline + (1 - cfg.baseline_momentum) * rewards.mean()
        history.append(float(baseline))
    return history


def policy_metrics(policy: np.ndarray, p_human: np.ndarray) -> dict[str, float]:
    """Exact ρ, ρ_ent, KL_{μ_D}(p_h ‖ π) = NTP(p_h) − NTP(π), TV(μ_π, μ_D), μ_D-weighted TV(π, p_h), modal mass.

    ``modal_mass`` = Σ_s μ_π(s) max_a π(a|s): 1 for a deterministic policy, how peaked π is where it walks.
    """
    values, at_human = objective_values(policy, p_human), objective_values(p_human, p_human)
    mu_policy, mu_data = on_policy_distribution(policy), on_policy_distribution(p_human)
    return {"rho": values["average_reward"], "rho_ent": values["average_reward_entropy"],
            "kl_data": at_human["ntp"] - values["ntp"], "tv_mu": total_variation(mu_policy, mu_data),
            "tv_policy_to_human": policy_distance(mu_data, policy, p_human),
            "modal_mass": float(mu_policy @ policy.max(axis=1))}


def run(cfg: MarkovConfig, p_human: np.ndarray) -> dict:
    """The initial model, the NTP model and the two RL runs started from it (`POLICIES`), each with its policy
    table and the exact `policy_metrics` against ``p_human``, and the exact references of p_h.

    References: ρ(p_h) (and ρ_ent(p_h) = 0); ρ* = max_π ρ, exact (Karp's max cycle mean).  ρ* is attained by
    a deterministic policy, where −log π = 0 on every chosen token, so ρ_ent at the maximiser of ρ is ρ* too.
    """
    if p_human.shape != (cfg.vocab**cfg.order, cfg.vocab):
        raise ValueError(f"p_human has shape {p_human.shape}, the model reads (V**k, V) = "
                         f"({cfg.vocab**cfg.order}, {cfg.vocab})")
    rng = np.random.default_rng(cfg.seed)
    model = build_markov_gpt(cfg)
    result = {"p_human": p_human, "initial": {"policy": policy_table(model, cfg.vocab, cfg.order)},
              "reference": {"rho_human": objective_values(p_human, p_human)["average_reward"],
                            "rho_star": optimal_average_reward(np.log(p_human))}}
    result["ntp_samples"] = train_ntp(model, p_human, cfg, rng)
    result["ntp"] = {"policy": policy_table(model, cfg.vocab, cfg.order)}
    for name, entropy in (("rl", False), ("rl_entropy", True)):
        tuned = copy.deepcopy(model)
        running_rho = train_average_reward(tuned, p_human, cfg, rng, entropy)
        result[name] = {"policy": policy_table(tuned, cfg.vocab, cfg.order), "running_rho": running_rho}
    for name in POLICIES:
        result[name] |= policy_metrics(result[name]["policy"], p_human)
    return result
