"""Ledger claim: the batched endogenous reward of parity models is the token-tree reward of theory/soft_rl.py
(Li et al. 2025, arXiv 2506.23235, eqs. (11)-(12); toy/endogenous_reward.py).

* ``endogenous.toy_matches_soft_rl`` (identity): the batched toy reward equals theory/soft_rl.py's token-tree reward.
  Each (model, prompt) is a token tree of depth L over {0, 1, <eos>}: level h holds the model's logits after every
  h-token prefix (one forward pass over all 3^(L−1) continuations), and a prefix that contains <eos> is the terminal
  state, written as an absorbing state whose only action is the padding (logits (0, −∞, −∞): V = 0, r̂ = 0).

What this reward says about parity responses (reward-model accuracy, the 1/3 threshold) is checked on trained models
in learned/endogenous_reward_claims.py.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch

from core.ledger import Context, Criterion, Outcome, claim
from learned.parity_linear import all_inputs
from theory import soft_rl
from toy.endogenous_reward import DISCOUNT, endogenous_reward, response_logits
from toy.evaluate import with_separator
from toy.gpt import TinyGPT
from toy.linear_ar import LinearAR
from toy.parity import EOS, PAD, RESPONSE_TOKENS, VOCAB_SIZE, ParityLayout
from toy.sampling import response_log_dists, to_response_index

PAPER = "Li et al. 2025, Generalist Reward Models (arXiv 2506.23235)"
IDENTITY_STREAM = 1301  # random models of the identity claim
ROUND_OFF = 1e-9  # float64 on rewards of size <= ~300 (logit scale 30, 2d + 2 features); exact accuracies too
EOS_ACTION = RESPONSE_TOKENS.index(EOS)


def every_response(layout: ParityLayout) -> torch.Tensor:
    """Every response of the layout: k bits, <eos>, <pad>... (k = 0..L−1), and the L-bit responses without <eos>."""
    length = layout.max_response_len
    rows = [[*bits, EOS] + [PAD] * (length - k - 1) for k in range(length)
            for bits in itertools.product((0, 1), repeat=k)]
    return torch.tensor(rows + [list(bits) for bits in itertools.product((0, 1), repeat=length)])


@torch.no_grad()
def tree_logit_levels(model: torch.nn.Module, x: torch.Tensor, layout: ParityLayout,
                      absorbing_after_eos: bool = True) -> list[np.ndarray]:
    """soft_rl level list of the model's response logits after prompt x (d,): level h row i = the h-token prefix with
    base-3 index i (actions in RESPONSE_TOKENS order).  Prefixes containing <eos> get logits (0, −∞, −∞) when
    ``absorbing_after_eos`` (the terminal state of value 0); otherwise the model's own logits (a wrong convention,
    kept for the negative control)."""
    length = layout.max_response_len
    paths = soft_rl.all_trajectories(len(RESPONSE_TOKENS), length - 1)
    # The last response column is never read by response_logits (its logits would predict beyond the budget).
    continuations = torch.tensor(RESPONSE_TOKENS)[torch.from_numpy(np.pad(paths, ((0, 0), (0, 1))))]
    logits = response_logits(model, with_separator(x[None]).repeat(len(paths), 1), continuations).double().numpy()
    levels = []
    for h in range(length):
        rows = np.arange(3**h) * 3 ** (length - 1 - h)
        level = logits[rows, h].copy()
        if absorbing_after_eos:
            level[(paths[rows, :h] == EOS_ACTION).any(axis=1)] = [0.0, -np.inf, -np.inf]
        levels.append(level)
    return levels


def tree_rewards_along(reward_levels: list[np.ndarray], actions: np.ndarray) -> np.ndarray:
    """r̂(s_h, a_h) of the tree along each action row (n, L)."""
    prefix, rewards = np.zeros(len(actions), dtype=np.int64), []
    for h, level in enumerate(reward_levels):
        rewards.append(level[prefix, actions[:, h]])
        prefix = prefix * level.shape[1] + actions[:, h]
    return np.stack(rewards, axis=1)


def identity_models(ctx: Context) -> list[tuple[str, torch.nn.Module, ParityLayout]]:
    """LinearAR at d = 2, 3 with weights 0 (uniform policy: degenerate), N(0, 1) and N(0, 30²) (near-deterministic),
    and a random TinyGPT at d = 2 with its head scaled by 50 (O(1) logits); float64.  Full: three draws of each."""
    rng, models = ctx.rng(IDENTITY_STREAM), []
    for draw in range(ctx.size(1, 3)):
        for d, scale in itertools.product((2, 3), (0.0, 1.0, 30.0)):
            layout = ParityLayout(d)
            model = LinearAR(d, layout.max_response_len).double()
            with torch.no_grad():
                model.weight.copy_(torch.from_numpy(scale * rng.standard_normal(tuple(model.weight.shape))))
            models.append((f"linear d={d} scale={scale:g} #{draw}", model, layout))
        layout = ParityLayout(2)
        with torch.random.fork_rng():
            torch.manual_seed(int(rng.integers(2**31)))
            gpt = TinyGPT(VOCAB_SIZE, layout.seq_len, layers=1, width=16, heads=2, mlp_ratio=2).double()
        with torch.no_grad():
            gpt.head.weight.mul_(50.0)
        models.append((f"gpt d=2 #{draw}", gpt, layout))
    return models


@torch.no_grad()
def measure_identity(ctx: Context, alphas=(1.0, 0.5), absorbing_after_eos: bool = True) -> list[dict]:
    """Per (model, prompt, α): max |toy − tree| over every response of token rewards and of the outcome at γ = 1 and
    0.95, and max |Σ r̂ − α log π_α(r|x) − V(s_1)| with log π_α from toy/sampling.py."""
    rows = []
    for label, model, layout in identity_models(ctx):
        responses = every_response(layout)
        actions = to_response_index(responses).clamp(min=0).numpy()  # <pad> is the absorbing action 0
        for x, alpha in itertools.product(all_inputs(layout.d), alphas):
            prompts = with_separator(x[None]).repeat(len(responses), 1)
            toy = endogenous_reward(model, prompts, responses, alpha)
            tree = soft_rl.endogenous_reward(tree_logit_levels(model, x, layout, absorbing_after_eos), alpha)
            gaps = [np.abs(toy.token_reward.numpy() - tree_rewards_along(tree, actions)).max()]
            gaps += [np.abs(toy.outcome(g).numpy() - soft_rl.outcome_reward(tree, actions, g)).max()
                     for g in (1.0, DISCOUNT)]
            log_pi = response_log_dists(model, prompts, responses, alpha).gather(
                -1, torch.from_numpy(actions)[..., None])[..., 0]
            loglik = torch.where(responses == PAD, torch.zeros_like(log_pi), log_pi).sum(1)
            telescoping = (toy.outcome() - alpha * loglik - toy.initial_value).abs().max().item()
            rows.append({"model": label, "prompt": "".join(map(str, x.tolist())), "alpha": alpha,
                         "responses": len(responses), "toy_vs_tree": float(max(gaps)),
                         "telescoping": telescoping})
    return rows


def judge_identity(rows: list[dict]) -> Outcome:
    labels = [f"{r['model']} x={r['prompt']} α={r['alpha']:g}" for r in rows]
    toy_vs_tree = np.array([r["toy_vs_tree"] for r in rows])
    telescoping = np.array([r["telescoping"] for r in rows])
    return Outcome(
        [Criterion("max |toy r̂ / outcome − soft_rl tree|", toy_vs_tree, ROUND_OFF, labels=labels),
         Criterion("max |Σ r̂ − α log π_α(r|x) − V(s_1)|", telescoping, ROUND_OFF, labels=labels)],
        measured={"instances": len(rows), "responses scored": int(sum(r["responses"] for r in rows))},
        detail=f"{len(rows)} (model, prompt, α) trees; largest toy-vs-tree gap {toy_vs_tree.max():.3g}, largest "
               f"telescoping residual {telescoping.max():.3g} (tolerance {ROUND_OFF:g}).",
        tables={"identity": rows})


@claim(id="endogenous.toy_matches_soft_rl", kind="identity", quantifier="for-all",
       source=f"{PAPER}, eqs. (11)-(12) and the outcome reward Σ r̂ = α log π̂(τ|s_1) + V(s_1)",
       statement="The batched endogenous reward of a parity model (toy/endogenous_reward.py) equals the exact "
                 "token-tree reward of theory/soft_rl.py, token by token and summed at γ = 1 and 0.95, and its "
                 "γ = 1 sum is α log π_α(r|x) + V(s_1).",
       check="Random LinearAR (d = 2, 3; weight scales 0, 1, 30) and a random TinyGPT (d = 2), float64, drawn from "
             "ctx.rng(1301); every prompt, α ∈ {1, 0.5}, every response of the layout (empty, early <eos>, no <eos>). "
             "The tree holds the model's logits after every prefix; prefixes containing <eos> are an absorbing state "
             "of value 0.  Tolerance 1e-9 (float64 round-off).")
def check_identity(ctx: Context) -> Outcome:
    return judge_identity(measure_identity(ctx))
