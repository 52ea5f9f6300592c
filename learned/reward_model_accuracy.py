"""Reward-model accuracy of the endogenous reward on parity: the RM-benchmark analogue with known answers.

The paper (Li et al. 2025, arXiv 2506.23235, §5 Q1) scores RM-Bench pairs by the outcome endogenous reward and counts
a pair right when the chosen response scores higher.  Here the pairs are built from the parity task itself
(toy/parity.py), chosen = correct, rejected = incorrect, for every prompt x:

* ``wrong_step_propagated`` at chain position j: the long chain vs the chain whose j-th token is flipped and whose
  later tokens follow the chain rule from the wrong value (every later prefix parity, and the answer, wrong; under
  the model only token j breaks the rule);
* ``wrong_step_single`` at j: the chain with only its j-th token flipped (a process error; for j below the last
  chain position the final answer is still right, and under the model tokens j and j + 1 both break the rule);
* ``long_vs_short_wrong``: the long chain vs the short wrong answer (¬y, <eos>);
* ``short_vs_short``: the short correct answer (y, <eos>) vs the short wrong one;
* ``long_vs_short_wrong_across_prompts``: the long chain of x_i vs the short wrong answer of x_{i+1} (the only
  type whose two responses have different prompts, hence different V(s_1)).

Each pair is scored by every variant of toy/endogenous_reward.py (`VARIANTS`).  A tie counts half.  Entry point for
any model and layout (TinyGPT or LinearAR, any d and leap): `reward_model_accuracy(model, x, layout)`, which returns
one row per (pair type, position, variant) with the win count and its Wilson interval over the pairs; the interval
describes sampled prompts, and is not needed when ``x`` is every prompt of {0,1}^d (the row's ``exhaustive``).

Predictions at the population NTP optimum of the linear model (learned/parity_linear.py; docs/research/parity_cot_rl.md
§6.2): the model cannot compute parity, so π(x_1 first) = (1+p)/2, P(continue | r_1 = x_1) = 2p/(1+p) and the chain
steps are (almost) deterministic.  Hence log π(long | x) ≈ log p and log π(short wrong | x) = log π(short right | x)
≈ log((1−p)/2) for every x, so

* long vs short wrong, γ = 1 (with or without V(s_1)): the chosen wins iff p > 1/3 (`closed_form_long_vs_short`);
* short vs short: the two short answers have the same probability, accuracy 1/2;
* wrong step: the flipped token has probability ≈ 0, accuracy 1 at every position;
* discounted log-likelihood (γ < 1): on prompts with y ≠ x_1 the first token is shared and the threshold stays 1/3;
  on prompts with y = x_1 the chain wins iff log((1+p)/(1−p)) > γ log((1+p)/(2p)), a threshold below 1/3;
* discounted with V terms: −(1 − γ) Σ_{t≥2} γ^{t−2} V(s_t) depends on the logits' offsets (set by the ridge at the
  optimum, by the optimiser in a trained model): no closed form, measured.
A GPT that learns the short map (d-bit parity; the tiny GPT does at d = 8) instead has π(short wrong) ≈ 0: it prefers
the chain over the short wrong answer at every p_cot, and the short correct over the short wrong answer (accuracy
≈ 1); the 1/3 threshold is a prediction only for models that cannot compute parity.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
import torch
from omegaconf import OmegaConf

import toy.train
from core.intervals import wilson
from toy.config import EvalConfig, LinearConfig, OptimConfig, TaskConfig, TrainRunConfig
from toy.endogenous_reward import DISCOUNT, VARIANTS, endogenous_reward
from toy.evaluate import with_separator
from toy.models import load_checkpoint
from toy.parity import EOS, PAD, ParityLayout, prefix_parities, read_responses, sample_reference_long
from toy.sampling import generate

LINEAR_RECIPE = Path(__file__).resolve().parent.parent / "conf" / "recipe" / "linear.yaml"
TIE_WEIGHT = 0.5  # a tie is half a win: the chance level of a coin-flip tie-break


def short_responses(answer: torch.Tensor, layout: ParityLayout) -> torch.Tensor:
    """(answer, <eos>, <pad>, ...) for each entry of ``answer`` (n,), padded to the budget L."""
    responses = torch.full((len(answer), layout.max_response_len), PAD, dtype=torch.long)
    responses[:, 0], responses[:, 1] = answer, EOS
    return responses


def flipped_chain(chain: torch.Tensor, position: int, propagate: bool) -> torch.Tensor:
    """The long responses ``chain`` (n, L) with chain token ``position`` (1-based) flipped, and with every later
    chain token flipped too if ``propagate`` (the chain rule followed from the wrong value: c ⊕ 1 propagates)."""
    wrong = chain.clone()
    last = chain.shape[1] - 1 if propagate else position  # chain tokens are columns 0 .. L−2, <eos> is column L−1
    wrong[:, position - 1 : last] = 1 - wrong[:, position - 1 : last]
    return wrong


def candidate_responses(x: torch.Tensor, layout: ParityLayout) -> dict[str, torch.Tensor]:
    """Every response a pair uses, for each prompt x (n, d): name -> (n, L)."""
    chain = sample_reference_long(x, layout)
    answer = prefix_parities(x)[:, -1]
    candidates = {"chain": chain, "short_right": short_responses(answer, layout),
                  "short_wrong": short_responses(1 - answer, layout)}
    for j in range(1, len(layout.chain) + 1):
        candidates[f"propagated_{j}"] = flipped_chain(chain, j, propagate=True)
        candidates[f"single_{j}"] = flipped_chain(chain, j, propagate=False)
    return candidates


def pair_types(layout: ParityLayout) -> list[tuple[str, int, str, str, bool]]:
    """(pair type, chain position or 0, chosen candidate, rejected candidate, across prompts)."""
    types = [(f"wrong_step_{kind}", j, "chain", f"{kind}_{j}", False)
             for kind in ("propagated", "single") for j in range(1, len(layout.chain) + 1)]
    return types + [("long_vs_short_wrong", 0, "chain", "short_wrong", False),
                    ("short_vs_short", 0, "short_right", "short_wrong", False),
                    ("long_vs_short_wrong_across_prompts", 0, "chain", "short_wrong", True)]


@torch.no_grad()
def candidate_scores(model: torch.nn.Module, x: torch.Tensor, layout: ParityLayout, alpha: float = 1.0,
                     gamma: float = DISCOUNT) -> dict[str, dict[str, np.ndarray]]:
    """variant -> candidate -> (n,) score (float64 numbers): one forward pass per candidate over all prompts x."""
    prompts = with_separator(x)
    scores: dict[str, dict[str, np.ndarray]] = {variant: {} for variant in VARIANTS}
    for name, responses in candidate_responses(x, layout).items():
        rewards = endogenous_reward(model, prompts, responses, alpha)
        for variant in VARIANTS:
            scores[variant][name] = rewards.score(variant, gamma).double().numpy()
    return scores


@torch.no_grad()
def chain_learned_fraction(model: torch.nn.Module, x: torch.Tensor, layout: ParityLayout) -> float:
    """Fraction of prompts x on which greedy decoding with <eos> forbidden before the chain's end emits the exact
    chain ("has the chain been learned?", the forced_long reading of toy/evaluate.py)."""
    budget = layout.max_response_len
    forced = generate(model, with_separator(x), budget, 0.0, min_length=budget - 1)
    return read_responses(forced, x, layout).chain_correct.double().mean().item()


def reward_model_accuracy(model: torch.nn.Module, x: torch.Tensor, layout: ParityLayout, alpha: float = 1.0,
                          gamma: float = DISCOUNT) -> list[dict]:
    """Pairwise accuracy of every endogenous-reward variant on every pair type (module docstring), over prompts x.

    Rows: pair_type, position (chain position, 0 if none), variant, gamma (the variant's own: 1 unless discounted),
    pairs, wins (ties count half), ties, accuracy, low/high (Wilson 95% over the pairs), mean_margin (mean of
    score(chosen) − score(rejected)), exhaustive (1 if x is every prompt of {0,1}^d once).
    """
    scores = candidate_scores(model, x, layout, alpha, gamma)
    exhaustive = len(x) == 2**layout.d and len(torch.unique(x, dim=0)) == len(x)
    rows = []
    for pair_type, position, chosen, rejected, across in pair_types(layout):
        for variant, by_candidate in scores.items():
            rejected_scores = np.roll(by_candidate[rejected], -1) if across else by_candidate[rejected]
            margin = by_candidate[chosen] - rejected_scores
            ties = int((margin == 0).sum())
            wins = float((margin > 0).sum() + TIE_WEIGHT * ties)
            low, high = wilson(wins, len(margin))
            rows.append({"pair_type": pair_type, "position": position, "variant": variant,
                         "gamma": gamma if VARIANTS[variant][0] else 1.0, "pairs": len(margin), "wins": wins,
                         "ties": ties, "accuracy": wins / len(margin), "low": low, "high": high,
                         "mean_margin": float(margin.mean()), "exhaustive": int(exhaustive)})
    return rows


def closed_form_long_vs_short(p_cot: float, gamma: float = 1.0) -> float:
    """Accuracy of long chain vs short wrong answer at the NTP optimum of a model that cannot compute parity, scored
    by the (γ-discounted) log-likelihood: 1{p > 1/3} on the prompts with y ≠ x_1 (half of them), and on those with
    y = x_1 1{log((1+p)/(1−p)) > γ log((1+p)/(2p))} (equal to 1{p > 1/3} at γ = 1).  At p = 1/3 and γ = 1 the two
    responses tie (accuracy 1/2)."""
    if not 0 < p_cot < 1:
        raise ValueError(f"p_cot must be in (0, 1), got {p_cot}")

    def side(margin: float) -> float:
        return 1.0 if margin > 1e-12 else 0.0 if margin < -1e-12 else TIE_WEIGHT

    different_first = side(math.log(2 * p_cot / (1 - p_cot)))
    same_first = side(math.log((1 + p_cot) / (1 - p_cot)) - gamma * math.log((1 + p_cot) / (2 * p_cot)))
    return 0.5 * (different_first + same_first)


def linear_recipe(steps: int) -> OptimConfig:
    """The linear model's NTP optimiser (conf/recipe/linear.yaml, read, not copied) for ``steps`` steps."""
    recipe = OmegaConf.to_container(OmegaConf.load(LINEAR_RECIPE)["train"])
    return OptimConfig(steps=steps, **recipe)


def train_linear_ntp(d: int, p_cot: float, steps: int, seed: int) -> torch.nn.Module:
    """A LinearAR trained by the suite's NTP entry point (toy.train.run: online SGD on fresh batches of D(p_cot))
    with the linear recipe, in a scratch directory; ``seed`` sets the data stream (the weights start at 0)."""
    cfg = TrainRunConfig(task=TaskConfig(d=d, p_cot=p_cot), model=LinearConfig(), train=linear_recipe(steps),
                         eval=EvalConfig(prompts=256, every=steps), seed=seed, skip_finished=False)
    with tempfile.TemporaryDirectory() as scratch:
        toy.train.run(cfg, scratch)
        model, _, _ = load_checkpoint(scratch)
    return model
