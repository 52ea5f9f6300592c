"""Whole-chain failure vs d on the parity chain: NTP, RL on r̂ and GRPO on the linear model.

Behaviour cloning's error compounds over the horizon (Ross & Bagnell 2010; "Generalist Reward Models", Li et al.
2025, Theorem 2), and on parity the horizon is the chain length d.  The linear model (toy/linear_ar.py) makes every
quantity exact given the weights: its next-token law π_t(a | x, z) depends on the prefix only through the previous
token z = r_{t−1}, so the (L, 2, X, 3) table of `step_log_laws` is the whole model.  From it (toy/compounding.py's
definitions, conditioned on the long mode: the first step r_1 = x_1 given, <eos> excluded at the teacher-forced step):

* per-step chain error, teacher forced on the true prefix c_<t (c_t = x_1 ⊕ … ⊕ x_t), t = 2..d:
      ε_t(x) = π_t(¬c_t | x, c_{t−1}) / (π_t(0 | x, c_{t−1}) + π_t(1 | x, c_{t−1}));
* whole-chain failure of the long mode F(d) = 1 − E_x Π_t (1 − ε_t(x)): the probability that a forced-long sample
  deviates somewhere, and next to it the independent-steps prediction 1 − Π_t (1 − ε̄_t), ε̄_t = E_x ε_t(x);
* the sampled long chain's failure: the fraction of sampled long responses (more than one token) that are not the
  exact chain followed by <eos>, 1 − E_x π(chain, <eos> | x) / E_x π(long | x) (the README's 1 − sampled/
  chain_accuracy), with greedy accuracy and the long fractions.

**What the sequence-level sharpening implies per step.**  RL on the endogenous reward r̂ = α log π̂ + V(s_1) with KL β
to π̂ has the optimum π̂(r|x)^κ / Z(x), κ = 1 + α/β, over whole responses (learned/endogenous_rl.py): a sequence-level,
not a token-level, sharpening.  Because π̂(r|x) = Π_t π̂_t(r_t | x, r_{t−1}), the sharpened law is again a Markov
chain in r_{t−1}, with the backward messages (M_{L+1} ≡ 1: the response ends after the L-th token; <eos> ends it)

      M_t(z) = Σ_a π̂_t(a | x, z)^κ M_{t+1}(a),      π_κ,t(a | x, z) = π̂_t(a | x, z)^κ M_{t+1}(a) / M_t(z),

(M_{t+1}(<eos>) := 1), so its per-step law given the true prefix is π̂_t(·)^κ re-weighted by the mass of the
continuations, M_{t+1}(0) vs M_{t+1}(1).  When every continuation is as sure of itself as the chain (a trained chain
XORs from either bit, so M_{t+1}(0) ≈ M_{t+1}(1)) this is the token-level law ∝ π̂_t(bit)^κ, i.e. ε_κ = ε̂^κ / (ε̂^κ +
(1 − ε̂)^κ) ≈ ε̂^κ per step, and F_κ(d) ≈ 1 − (1 − ε̂^κ)^(d−1): compounding at the sharpened rate.  On random weights
the two differ by O(1).  `sharpened_step_log_laws` computes both the exact (sequence-level) and the token-level laws;
`enumerated_step_errors` recomputes the per-step errors of π̂^κ/Z by summing over every response (tiny d): the check
of the derivation.

GRPO on the verifiable reward has no such law: it pays the responses whose answer is right, and on a long response
every wrong step flips the answer (the model keeps XOR-ing from the wrong prefix), so where it samples long chains its
gradient pushes each step towards the right bit.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import torch

from learned import endogenous_rl
from learned.endogenous_rl import ResponseTable
from learned.parity_linear import all_inputs, exact_response_law, greedy_metrics
from learned.reward_model_accuracy import train_linear_ntp
from toy.linear_ar import LinearAR
from toy.parity import EOS, ONE, RESPONSE_TOKENS, ZERO, ParityLayout, prefix_parities

BITS = (ZERO, ONE)  # the bits' tokens, which are also their action indices among RESPONSE_TOKENS
EOS_ACTION = RESPONSE_TOKENS.index(EOS)


@torch.no_grad()
def step_log_laws(model: LinearAR, x: torch.Tensor) -> torch.Tensor:
    """log π_t(a | x, r_{t−1} = z) in float64 as (L, 2, X, 3): position t = 1..L, previous bit z ∈ {0, 1} (at t = 1
    there is no previous token and both rows are the same), action a ∈ (0, 1, <eos>)."""
    model = copy.deepcopy(model).double()
    previous = {z: torch.full((len(x),), z) for z in BITS}
    return torch.stack([torch.stack([model.position_logits(x, previous[z], t).log_softmax(-1) for z in BITS])
                        for t in range(1, model.max_response_len + 1)])


def sharpened_step_log_laws(log_laws: torch.Tensor, kappa: float, sequence_level: bool = True) -> torch.Tensor:
    """The per-step laws of π^κ/Z (module docstring), same shape as ``log_laws``: with ``sequence_level`` the exact
    laws of the sharpening over whole responses (backward messages M_t), without it the token-level π_t^κ / Z_t."""
    log_mass_next = torch.zeros(log_laws.shape[1:3], dtype=log_laws.dtype)  # log M_{L+1}(z) = 0, (2, X)
    steps = []
    for t in reversed(range(log_laws.shape[0])):
        scores = kappa * log_laws[t]
        if sequence_level:  # the continuation after a bit a is the state z = a of the next position; <eos> ends
            scores = scores + torch.cat([log_mass_next.T, torch.zeros(log_laws.shape[2], 1,
                                                                      dtype=log_laws.dtype)], 1)[None]
        log_mass = scores.logsumexp(-1)
        steps.append(scores - log_mass[..., None])
        log_mass_next = log_mass
    return torch.stack(steps[::-1])


def chain_step_errors(log_laws: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """ε_t(x) (X, d − 1) for t = 2..d: the teacher-forced probability of the wrong bit on the true prefix, <eos>
    excluded (computed as the wrong bit's own probability, so an error of 1e-12 is not lost to 1 − (1 − ε))."""
    chain, rows = prefix_parities(x), torch.arange(len(x))
    errors = [log_laws[t - 1, chain[:, t - 2], rows, : EOS_ACTION].softmax(-1)[rows, 1 - chain[:, t - 1]]
              for t in range(2, x.shape[1] + 1)]
    return torch.stack(errors, dim=1)


def chain_failure(step_errors: torch.Tensor) -> torch.Tensor:
    """1 − Π_t (1 − ε_t(x)) per prompt (X,), in log space (exact for tiny ε)."""
    return -torch.expm1(torch.log1p(-step_errors).sum(1))


def enumerated_step_errors(log_law: torch.Tensor, table: ResponseTable) -> torch.Tensor:
    """ε_t(x) (X, d − 1) of a response law given by enumeration, log π(r|x) (X, R) over every response of ``table``
    (learned/endogenous_rl.py): Σ over responses extending c_<t by the wrong bit / by either bit.  Independent of
    the Markov structure that `sharpened_step_log_laws` uses."""
    chain, law, responses = prefix_parities(table.x), log_law.exp(), table.responses
    errors = []
    for t in range(2, table.layout.d + 1):
        on_prefix = (responses[None, :, : t - 1] == chain[:, None, : t - 1]).all(-1)  # (X, R)
        right = on_prefix & (responses[None, :, t - 1] == chain[:, None, t - 1])
        wrong = on_prefix & (responses[None, :, t - 1] == 1 - chain[:, None, t - 1])
        errors.append((law * wrong).sum(1) / (law * (right | wrong)).sum(1))
    return torch.stack(errors, dim=1)


def failure_summary(step_errors: torch.Tensor) -> dict[str, float]:
    """F (whole chain, long mode), its independent-steps prediction, the mean per-step error (all steps; the first,
    t = 2, where the continue decision shares the weights; the later ones)."""
    mean_per_step = step_errors.mean(0)
    return {"chain_failure": float(chain_failure(step_errors).mean()),
            "independent_steps": float(-torch.expm1(torch.log1p(-mean_per_step).sum())),
            "step_error": float(mean_per_step.mean()), "first_step_error": float(mean_per_step[0]),
            "later_step_error": float(mean_per_step[1:].mean())}


@torch.no_grad()
def model_metrics(model: LinearAR, x: torch.Tensor) -> dict[str, float]:
    """`failure_summary` of the model, the sampled long chain's failure, and the greedy and T = 1 metrics."""
    log_laws = step_log_laws(model, x)
    chain, rows = prefix_parities(x), torch.arange(len(x))
    previous = torch.cat([torch.zeros_like(chain[:, :1]), chain], 1)  # z per position (ignored at t = 1)
    path = sum(log_laws[t, previous[:, t], rows, chain[:, t]] for t in range(x.shape[1]))
    exact_chain = (path + log_laws[-1, chain[:, -1], rows, EOS_ACTION]).exp()  # the chain, then <eos>
    law = exact_response_law(copy.deepcopy(model).double(), x)
    greedy = greedy_metrics(model, x)
    return {**failure_summary(chain_step_errors(log_laws, x)),
            "sampled_chain_failure": float(1 - exact_chain.mean() / law["long"].mean()),
            "long_fraction": float(law["long"].mean()), "sampled_accuracy": float(law["correct"].mean()),
            "greedy_accuracy": greedy["accuracy"], "greedy_long": greedy["long_fraction"]}


def greedy_continues(log_laws: torch.Tensor) -> torch.Tensor:
    """Per prompt (X,) bool: greedy decoding of the per-step laws emits a bit at positions 1 and 2 (it takes the
    long mode: more than one token)."""
    rows = torch.arange(log_laws.shape[2])
    first = log_laws[0, 0].argmax(-1)  # position 1 has no previous token: both rows of z are the same
    second = log_laws[1, first.clamp(max=ONE), rows].argmax(-1)
    return (first != EOS_ACTION) & (second != EOS_ACTION)


def predicted_sharpening(start_laws: torch.Tensor, x: torch.Tensor, kappa: float) -> dict[str, float]:
    """F and ε of π̂^κ/Z (exact, sequence-level), F of the token-level reading π̂(bit)^κ, and the fraction of prompts
    on which the greedy decoder of π̂^κ/Z takes the long mode."""
    laws = sharpened_step_log_laws(start_laws, kappa)
    exact = failure_summary(chain_step_errors(laws, x))
    token = failure_summary(chain_step_errors(sharpened_step_log_laws(start_laws, kappa, False), x))
    return {"predicted_failure": exact["chain_failure"], "predicted_step_error": exact["step_error"],
            "token_level_failure": token["chain_failure"],
            "predicted_greedy_long": float(greedy_continues(laws).double().mean())}


@dataclass(frozen=True)
class ChainFamily:
    """The runs of one profile."""

    d_grid: tuple[int, ...]
    """chain lengths (input bits)"""
    p_grid: tuple[float, ...]
    """p_cot on both sides of 1/3"""
    seeds: int
    """NTP data seeds per (d, p_cot), each with its own rollout and prompt seed"""
    ntp_steps: int
    """NTP steps of the linear recipe at every d (the per-step error is set by the step count, not by d, so the
    d-dependence of F is the compounding alone)"""
    betas: tuple[float, ...]
    """KL coefficients of RL on r̂ (κ = 1 + α/β)"""
    rl: endogenous_rl.RLFamily
    """the RL settings of a learned/endogenous_rl.py profile (prompts, group size and lr; its iterations: GRPO's)"""
    endogenous_iterations: int
    """iterations of RL on r̂, which reaches its end point on the chain slowly (share of the predicted move of
    −log(1 − F) at d = 8, p_cot = 0.2, β = 1, 3 seeds: 0.15 / 0.64 / 0.95 after 100 / 400 / 1600 iterations)"""
    exact_up_to: int
    """every prompt of {0,1}^d is scored up to this d; above it ``prompts`` prompts drawn per seed"""
    prompts: int
    """prompts per seed above ``exact_up_to``"""


FAMILIES = {"quick": ChainFamily(d_grid=(4, 6, 8), p_grid=(0.2, 0.45), seeds=3, ntp_steps=70, betas=(1.0,),
                                 rl=endogenous_rl.FAMILIES["quick"], endogenous_iterations=400, exact_up_to=12,
                                 prompts=4096),
            "full": ChainFamily(d_grid=(4, 6, 8, 12, 16, 24, 32), p_grid=(0.2, 0.45), seeds=5, ntp_steps=100,
                                betas=(0.5, 1.0, 2.0), rl=endogenous_rl.FAMILIES["full"], endogenous_iterations=800,
                                exact_up_to=12, prompts=8192)}
# The columns of `predicted_sharpening`, NaN in the rows that predict nothing (NTP, GRPO).
PREDICTED = ("predicted_failure", "predicted_step_error", "token_level_failure", "predicted_greedy_long")
# F of RL on r̂ after a quarter and a half of its iterations (the claim's convergence guard; NaN in the other rows).
BUDGET_CHECKPOINTS = {4: "chain_failure_quarter_budget", 2: "chain_failure_half_budget"}


def failures_at(checkpoints: dict[int, str], x: torch.Tensor, into: dict) -> Callable[[int, torch.nn.Module], None]:
    """A run_policy_gradient hook writing F(d) of the policy after n iterations to ``into[checkpoints[n]]`` (exact on
    the prompts x, as `model_metrics`)."""
    def record(iteration: int, policy: torch.nn.Module) -> None:
        if iteration in checkpoints:
            with torch.no_grad():
                into[checkpoints[iteration]] = failure_summary(chain_step_errors(step_log_laws(policy, x), x))[
                    "chain_failure"]
    return record


def measure_seed(family: ChainFamily, d: int, p_cot: float, data_seed: int, rollout_seed: int,
                 prompt_seed: int) -> list[dict]:
    """The NTP checkpoint of one seed and the RL runs from it, one row each: arm 'ntp', 'endogenous' (per β; with
    the prediction of its optimum π̂^κ/Z) and 'grpo' (verifiable reward, β = 0).  Every model is measured on the
    same prompts: all of {0,1}^d, or (d > ``exact_up_to``) ``prompts`` drawn from ``prompt_seed``."""
    layout = ParityLayout(d)
    x = (all_inputs(d) if d <= family.exact_up_to else
         torch.randint(0, 2, (family.prompts, d), generator=torch.Generator().manual_seed(prompt_seed)))
    start = train_linear_ntp(d, p_cot, family.ntp_steps, data_seed)
    start_laws = step_log_laws(start, x)
    nan = dict.fromkeys((*PREDICTED, *BUDGET_CHECKPOINTS.values()), float("nan"))
    rows = [{"arm": "ntp", "beta": 0.0, "kappa": 1.0, **model_metrics(start, x), **nan}]
    checkpoints = {family.endogenous_iterations // part: column for part, column in BUDGET_CHECKPOINTS.items()}
    for beta in family.betas:
        kappa = 1 + endogenous_rl.ALPHA / beta
        partial = dict.fromkeys(BUDGET_CHECKPOINTS.values(), float("nan"))
        model, _ = endogenous_rl.run_policy_gradient(
            start, layout, family.rl.endogenous(beta, iterations=family.endogenous_iterations), rollout_seed,
            failures_at(checkpoints, x, partial))
        rows.append({"arm": "endogenous", "beta": beta, "kappa": kappa, **model_metrics(model, x),
                     **predicted_sharpening(start_laws, x, kappa), **partial})
    model, _ = endogenous_rl.run_policy_gradient(start, layout, family.rl.rl_config(algo="grpo"), rollout_seed)
    rows.append({"arm": "grpo", "beta": 0.0, "kappa": float("nan"), **model_metrics(model, x), **nan})
    return [{"d": d, "p_cot": p_cot, "data_seed": data_seed, "prompts": len(x), **row} for row in rows]


def measure_family(family: ChainFamily, data_seeds, rollout_seeds, prompt_seeds) -> list[dict]:
    """`measure_seed` for every d, p_cot and seed, each row tagged with its seed index."""
    rows = []
    for d in family.d_grid:
        for p_cot in family.p_grid:
            for index, seeds in enumerate(zip(data_seeds, rollout_seeds, prompt_seeds, strict=True)):
                rows += [{"seed_index": index, **row} for row in measure_seed(family, d, p_cot, *map(int, seeds))]
    return rows
