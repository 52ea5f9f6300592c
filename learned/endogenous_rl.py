"""RL on the endogenous reward of a linear parity model, with exact response laws
(docs/research/endogenous_reward_bounds.md §8, prediction 2).

Li et al. 2025 ("Generalist Reward Models", arXiv 2506.23235) read an NTP model π̂ as a soft Q-function: its
outcome reward is r̂(r|x) = α log π̂(r|x) + V(s_1) (eqs. (11)-(12); toy/endogenous_reward.py).  Policy gradient on r̂
from π̂ with a KL penalty β to π̂ (toy/policy_gradient.py, ``reward='endogenous'``, ``kl_to_go`` on, leave-one-out
baseline: the conditions under which the expected update is the gradient of the whole-response objective) has the
optimum, per prompt x,

    π_1(r|x) = π̂(r|x) exp(r̂(r|x)/β) / Z(x) = π̂(r|x)^κ / Z_κ(x),      κ = 1 + α/β     (V(s_1) cancels in Z),

a sharpening towards the sequence-level mode.  On parity, at the NTP optimum of a model that cannot compute parity
(docs/research/parity_cot_rl.md §6.2), the long chain has probability ≈ p_cot and each short answer (1 − p_cot)/2,
so for every κ ≥ 1 the token-level greedy decoder of π̂^κ/Z starts with x_1 and continues iff p^κ > ((1 − p)/2)^κ, i.e.
iff p_cot > 1/3: RL on r̂ solves parity only where NTP's greedy decoder already does, and leaves greedy accuracy at
1/2 below 1/3.  GRPO on the verifiable reward has no such law (its optimum within the model class is not a
sharpening) and is the contrast.

The other predictions the claims check (learned/endogenous_rl_claims.py):

* entropy regularisation at the same α (``kl_reference='uniform'``, β = α): E[r̂] + α H(π) = −α KL(π ‖ π̂) + E[V(s_1)],
  whose optimum is π̂ itself.  (Subtracting α log π̂ from the reward instead would leave the constant V(s_1), an
  update that is exactly zero on every sample: a check that cannot fail.  Here every sample still moves the
  policy; only the expectation of the update vanishes at π̂.)
* a planted reward r̂ + c·[long] with KL β: π̂^κ · exp(c·[long]/β) / Z, which prefers the chain when e^(c/β) exceeds
  ((1 − p)/(2p))^κ, the factor by which the chain trails each short answer under π̂^κ (4 at p = 0.2, β = 1; c = 3
  gives e^3 ≈ 20).
* Theorem 3 ("iterative improvement", paper §3.3) under its KL reading (theory/iterative_improvement.py,
  `kl_regularised_step`): a second round elicits r̂ from the round-1 policy π_1 and runs the same RL with KL to
  π_1.  Its optimum is π_1^κ / Z, which the code compares the round-2 law with (exact given the learned π_1).  If
  π_1 were exactly π̂^κ / Z, that would be π̂^(κ²) / Z (the compounded prediction, reported next to it).  The
  greedy prediction holds for every κ ≥ 1, so round 2 brings no gain on the task; below 1/3 the first token's
  margin, log(1 + (2p/(1 − p))^κ), shrinks as κ grows, so there a trained model's first token nears a tie and
  its greedy accuracy can scatter around 1/2 (a halfspace of x decides it).

Exact laws: the linear model's next-token law depends on the prefix only through (x, r_{t−1}) (toy/linear_ar.py),
and every response of the budget (2^(L+1) − 1 of them, empty, early <eos> and no <eos> included) is scored by
teacher forcing for every prompt of {0,1}^d in float64, so laws, TV distances, sampled accuracy and long fraction
are exact given the weights; greedy metrics are exact over all prompts (learned/parity_linear.greedy_metrics).
The only randomness is in NTP's data stream and the RL rollouts (the seeds).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from learned.endogenous_tree_claims import every_response
from learned.parity_linear import all_inputs, greedy_metrics
from learned.reward_model_accuracy import train_linear_ntp
from toy import policy_gradient
from toy.config import RLConfig
from toy.evaluate import with_separator
from toy.parity import ParityLayout, read_responses
from toy.sampling import response_log_dists, token_log_probs

ALPHA = policy_gradient.ENDOGENOUS_ALPHA


@dataclass(frozen=True)
class ResponseTable:
    """Every prompt of {0,1}^d with every response of the layout, and what each response is."""

    layout: ParityLayout
    x: torch.Tensor
    """(X, d) every prompt"""
    responses: torch.Tensor
    """(R, L) every response (toy/parity.py layout)"""
    long: torch.Tensor
    """(X, R) bool: well-formed and longer than one token"""
    correct: torch.Tensor
    """(X, R) bool: the extracted answer is parity(x)"""


def response_table(layout: ParityLayout) -> ResponseTable:
    x, responses = all_inputs(layout.d), every_response(layout)
    stats = read_responses(responses.repeat(len(x), 1), x.repeat_interleave(len(responses), 0), layout)
    shape = (len(x), len(responses))
    return ResponseTable(layout, x, responses, stats.is_long.view(shape), stats.correct.view(shape))


@torch.no_grad()
def log_response_law(model: torch.nn.Module, table: ResponseTable) -> torch.Tensor:
    """log π(r|x) (X, R) in float64 at temperature 1 (each row sums to 1 in probability)."""
    model = copy.deepcopy(model).double()
    prompts = with_separator(table.x).repeat_interleave(len(table.responses), 0)
    responses = table.responses.repeat(len(table.x), 1)
    log_probs = token_log_probs(response_log_dists(model, prompts, responses), responses).sum(1)
    return log_probs.view(len(table.x), len(table.responses))


def sharpen(log_law: torch.Tensor, kappa: float, tilt: torch.Tensor | float = 0.0) -> torch.Tensor:
    """log of π^κ · exp(tilt) / Z per prompt (row)."""
    return torch.log_softmax(kappa * log_law + tilt, dim=1)


def total_variation(log_p: torch.Tensor, log_q: torch.Tensor) -> float:
    """½ Σ_r |p(r|x) − q(r|x)|, averaged over the (uniform) prompts."""
    return float(0.5 * (log_p.exp() - log_q.exp()).abs().sum(1).mean())


def effective_exponent(log_law: torch.Tensor, log_start: torch.Tensor, low: float = 1 / 16,
                       high: float = 64.0) -> float:
    """The κ whose sharpening π̂^κ/Z has the learned law's mean log π̂ (moment matching, i.e. the KL projection of the
    learned law on the family {π̂^κ/Z}); E_{π̂^κ}[log π̂] increases with κ, so bisection on log κ in [low, high]
    (clamped at the ends)."""
    target = float((log_law.exp() * log_start).sum(1).mean())

    def moment(kappa: float) -> float:
        return float((sharpen(log_start, kappa).exp() * log_start).sum(1).mean())

    lo, hi = np.log(low), np.log(high)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if moment(float(np.exp(mid))) < target else (lo, mid)
    return float(np.exp(0.5 * (lo + hi)))


def law_metrics(model: torch.nn.Module, log_law: torch.Tensor, table: ResponseTable) -> dict[str, float]:
    """Greedy accuracy and long fraction over every prompt, and the sampled (T = 1) accuracy and long fraction."""
    greedy = greedy_metrics(model, table.x)
    law = log_law.exp()
    return {"greedy_accuracy": greedy["accuracy"], "greedy_long": greedy["long_fraction"],
            "sampled_accuracy": float((law * table.correct).sum(1).mean()),
            "long_fraction": float((law * table.long).sum(1).mean())}


def run_policy_gradient(start: torch.nn.Module, layout: ParityLayout, cfg: RLConfig, seed: int,
                        on_iteration: Callable[[int, torch.nn.Module], None] | None = None
                        ) -> tuple[torch.nn.Module, float]:
    """RL from a copy of ``start`` (frozen copy as the reference / reward model) through toy.policy_gradient.iterate;
    returns the trained model and the mean reward of the last iteration.  ``on_iteration(n, model)`` is called after
    iteration n (1-based), e.g. to keep the policy at half the budget for a convergence check."""
    model = copy.deepcopy(start).float().train()
    reference = copy.deepcopy(start).float().eval().requires_grad_(False)
    history = []
    for record in policy_gradient.iterate(model, reference, layout, cfg, torch.Generator().manual_seed(seed)):
        history.append(record)
        if on_iteration is not None:
            on_iteration(len(history), model)
    return model.eval(), history[-1]["reward/mean"]


@dataclass(frozen=True)
class RLFamily:
    """The runs of one profile."""

    d: int
    """input bits (every one of the 2^d prompts is scored)"""
    ntp_steps: int
    """NTP steps of the linear recipe (learned/reward_model_accuracy.train_linear_ntp)"""
    seeds: int
    """NTP data seeds per p_cot, each with its own rollout seed"""
    p_grid: tuple[float, ...]
    """p_cot on both sides of 1/3"""
    betas: tuple[float, ...]
    """KL coefficients of RL on r̂"""
    second_round_betas: tuple[float, ...]
    """the β whose round-1 policy gets a second round (Theorem 3)"""
    iterations: int
    """policy-gradient iterations per run"""
    prompts: int
    """prompts per iteration"""
    group_size: int
    """samples per prompt"""
    lr: float
    """Adam learning rate of every run"""
    long_bonus: float
    """c of the planted reward r̂ + c·[long] (run at β = 1 for p_cot < 1/3)"""

    def rl_config(self, **fields) -> RLConfig:
        """The family's iterations, prompts, group size and lr, with ``fields`` on top (any of them included)."""
        return RLConfig(**{"iterations": self.iterations, "prompts": self.prompts, "group_size": self.group_size,
                           "lr": self.lr, **fields})

    def endogenous(self, beta: float, **fields) -> RLConfig:
        """RL on r̂ with the exact whole-response KL gradient and the unbiased leave-one-out group baseline."""
        return self.rl_config(algo="reinforce", reward="endogenous", kl_beta=beta, kl_to_go=True, **fields)


FAMILIES = {"quick": RLFamily(d=6, ntp_steps=200, seeds=3, p_grid=(0.2, 0.45), betas=(0.5, 1.0, 2.0),
                              second_round_betas=(1.0,), iterations=100, prompts=64, group_size=8, lr=0.01,
                              long_bonus=3.0),
            "full": RLFamily(d=6, ntp_steps=300, seeds=5, p_grid=(0.2, 0.45), betas=(0.5, 1.0, 2.0),
                             second_round_betas=(0.5, 1.0, 2.0), iterations=200, prompts=64, group_size=8, lr=0.01,
                             long_bonus=3.0)}


def compare(model: torch.nn.Module, table: ResponseTable, start_law: torch.Tensor, prediction: torch.Tensor | None,
            exponent_base: torch.Tensor) -> dict[str, float]:
    """The metrics of one trained model: its law against its start, its prediction (NaN when there is none) and
    the effective exponent relative to ``exponent_base``."""
    law = log_response_law(model, table)
    nan = float("nan")
    return {**law_metrics(model, law, table), "tv_start": total_variation(law, start_law),
            "tv_prediction": nan if prediction is None else total_variation(law, prediction),
            "tv_prediction_start": nan if prediction is None else total_variation(prediction, start_law),
            "effective_kappa": effective_exponent(law, exponent_base)}


EXTRA = ("tv_compounded", "tv_to_ntp", "tv_replicas", "tv_nearest_sharpening")  # NaN where a row has no such number


def measure_seed(family: RLFamily, p_cot: float, data_seed: int, rollout_seed: int) -> list[dict]:
    """Every run from one NTP checkpoint, one row each: arm 'start' (the checkpoint itself), 'endogenous' (per β),
    'second_round' (per β of ``second_round_betas``: RL on the r̂ of the round-1 policy, KL to it), 'verifiable'
    (GRPO, β = 0), 'entropy' (two replicas with different rollout seeds) and 'planted' (r̂ + c·[long], β = 1; only
    for p_cot < 1/3).  ``kappa`` is the predicted exponent relative to the NTP model (NaN: no prediction)."""
    layout = ParityLayout(family.d)
    table = response_table(layout)
    start = train_linear_ntp(family.d, p_cot, family.ntp_steps, data_seed)
    start_law = log_response_law(start, table)
    rows = [{"arm": "start", "beta": 0.0, "kappa": 1.0, "reward": 0.0,
             **compare(start, table, start_law, start_law, start_law)}]
    for beta in family.betas:
        kappa = 1 + ALPHA / beta
        model, reward = run_policy_gradient(start, layout, family.endogenous(beta), rollout_seed)
        rows.append({"arm": "endogenous", "beta": beta, "kappa": kappa, "reward": reward,
                     **compare(model, table, start_law, sharpen(start_law, kappa), start_law)})
        if beta in family.second_round_betas:
            first_law = log_response_law(model, table)
            second, reward = run_policy_gradient(model, layout, family.endogenous(beta), rollout_seed + 1)
            second_law = log_response_law(second, table)
            rows.append({"arm": "second_round", "beta": beta, "kappa": kappa**2, "reward": reward,
                         **compare(second, table, first_law, sharpen(first_law, kappa), start_law),
                         "tv_compounded": total_variation(second_law, sharpen(start_law, kappa**2)),
                         "tv_to_ntp": total_variation(second_law, start_law)})
    model, reward = run_policy_gradient(start, layout, family.rl_config(algo="grpo"), rollout_seed)
    rows.append({"arm": "verifiable", "beta": 0.0, "kappa": float("nan"), "reward": reward,
                 **compare(model, table, start_law, None, start_law)})
    replicas = [run_policy_gradient(start, layout, family.endogenous(ALPHA, kl_reference="uniform"), seed)
                for seed in (rollout_seed, rollout_seed + 2)]
    laws = [log_response_law(model, table) for model, _ in replicas]
    for (model, reward), law in zip(replicas, laws, strict=True):
        rows.append({"arm": "entropy", "beta": ALPHA, "kappa": 1.0, "reward": reward,
                     **compare(model, table, start_law, start_law, start_law),
                     "tv_replicas": total_variation(*laws),
                     "tv_nearest_sharpening": total_variation(law, sharpen(start_law, 1 + ALPHA / ALPHA))})
    if p_cot < 1 / 3:
        beta = 1.0
        model, reward = run_policy_gradient(start, layout, family.endogenous(beta, long_bonus=family.long_bonus),
                                            rollout_seed)
        tilt = family.long_bonus / beta * table.long.double()
        rows.append({"arm": "planted", "beta": beta, "kappa": 1 + ALPHA / beta, "reward": reward,
                     **compare(model, table, start_law, sharpen(start_law, 1 + ALPHA / beta, tilt), start_law)})
    return [{"p_cot": p_cot, "data_seed": data_seed, **dict.fromkeys(EXTRA, float("nan")), **row} for row in rows]


def measure_family(family: RLFamily, data_seeds, rollout_seeds) -> list[dict]:
    """`measure_seed` for every p_cot and seed, each row tagged with its seed index."""
    rows = []
    for p_cot in family.p_grid:
        for index, (data_seed, rollout_seed) in enumerate(zip(data_seeds, rollout_seeds, strict=True)):
            rows += [{"seed_index": index, **row} for row in measure_seed(family, p_cot, int(data_seed),
                                                                          int(rollout_seed))]
    return rows
