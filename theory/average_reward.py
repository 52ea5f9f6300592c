"""Exact objectives of docs/sources/average_reward_paper.md §3.2 and their gradients w.r.t. a logit table.

On an order-K "language" with human conditional p_h (a (V**K, V) table, layout of theory.chains) and a
model π = softmax(z) of order k ≤ K (π sees only the last k tokens; k = K is the source's condition 3),
with μ_D the stationary distribution of p_h ("the probability of seeing context x_<t in the data"):

    NTP(π)    = Σ_s μ_D(s) Σ_a p_h(a|s) log π(a|s)             §2.2, the LLM training objective
    seed(π)   = Σ_s μ_D(s) Σ_a π(a|s) log p_h(a|s)             §3.2 step 5: states from the data, actions from π
    ρ(π)      = Σ_s μ_π(s) Σ_a π(a|s) log p_h(a|s)             §3.2 step 1: true average reward, on-policy μ_π
    ρ_ent(π)  = Σ_s μ_π(s) Σ_a π(a|s) [log p_h(a|s) − log π(a|s)] = −E_{μ_π} KL(π(·|s) ‖ p_h(·|s)) ≤ 0

Gradients come from torch autograd in float64, differentiating through μ_π (a linear solve), and the
analytic average-reward policy-gradient theorem ∇ρ = Σ_s μ_π(s) Σ_a ∇π(a|s) q_π(s, a) is provided to
check them.  The source's step 3 replaces μ_π by μ_D; comparing seed(π) with ρ(π) measures that step.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from theory.chains import (
    chain_shape,
    differential_values,
    next_state_table,
    on_policy_distribution,
    random_logits,
    transition_matrix,
    validate_policy,
    validate_transition_matrix,
)

LOGIT_BOUND = 12.0  # |logit| bound inside `maximise_objective`, see there


def lift_policy(policy: np.ndarray, n_states: int) -> np.ndarray:
    """Order-k policy as an order-K table: π_K(a|s) = π(a | s mod V**k), the last k tokens of the K-context."""
    return policy[np.arange(n_states) % policy.shape[0]]


@dataclass(frozen=True)
class HumanChain:
    """Constants of the data side: p_h, log p_h, μ_D, and the order-K next-state table, as torch float64."""

    p_human: torch.Tensor
    log_p_human: torch.Tensor
    mu_data: torch.Tensor
    next_state: torch.Tensor

    @classmethod
    def from_table(cls, p_human: np.ndarray) -> HumanChain:
        """Validate p_h and compute μ_D; p_h must have full support so that log p_h is finite."""
        p_human = validate_policy(p_human)
        if np.any(p_human <= 0):
            raise ValueError("p_human must be strictly positive: the reward log p_h would be -inf")
        return cls(
            p_human=torch.from_numpy(p_human),
            log_p_human=torch.from_numpy(np.log(p_human)),
            mu_data=torch.from_numpy(on_policy_distribution(p_human)),
            next_state=torch.from_numpy(next_state_table(*chain_shape(p_human))),
        )

    def lift(self, table: torch.Tensor) -> torch.Tensor:
        """Differentiable version of `lift_policy` for a (V**k, V) tensor; requires k ≤ K."""
        n_states = self.p_human.shape[0]
        if table.shape[1] != self.p_human.shape[1] or n_states % table.shape[0] != 0:
            raise ValueError(f"model table of shape {tuple(table.shape)} does not fit p_human of shape "
                             f"{tuple(self.p_human.shape)}: need (V**k, V) with k <= K")
        return table[torch.arange(n_states) % table.shape[0]]


def stationary_distribution_torch(policy: torch.Tensor, next_state: torch.Tensor) -> torch.Tensor:
    """μ_π as a differentiable function of π: solve [(I − P_π)^T without its last row; 1^T] μ = e_last.

    Same system as theory.chains.stationary_distribution (non-singular iff one closed class); here
    P_π(s, next(s, a)) += π(a|s) is built with scatter_add so autograd flows into π.
    """
    n_states = policy.shape[0]
    P = torch.zeros(n_states, n_states, dtype=policy.dtype).scatter_add(1, next_state, policy)
    identity = torch.eye(n_states, dtype=policy.dtype)
    system = torch.cat([(identity - P).T[:-1], torch.ones(1, n_states, dtype=policy.dtype)])
    rhs = torch.zeros(n_states, dtype=policy.dtype)
    rhs[-1] = 1.0
    return torch.linalg.solve(system, rhs)


# Each objective maps the model's log-policy (V**k, V) and the data constants to a scalar tensor.
def _ntp(log_policy: torch.Tensor, data: HumanChain) -> torch.Tensor:
    return (data.mu_data[:, None] * data.p_human * data.lift(log_policy)).sum()


def _seed(log_policy: torch.Tensor, data: HumanChain) -> torch.Tensor:
    return (data.mu_data[:, None] * data.lift(log_policy).exp() * data.log_p_human).sum()


def _average_reward(log_policy: torch.Tensor, data: HumanChain) -> torch.Tensor:
    policy = data.lift(log_policy).exp()
    mu = stationary_distribution_torch(policy, data.next_state)
    return (mu[:, None] * policy * data.log_p_human).sum()


def _average_reward_entropy(log_policy: torch.Tensor, data: HumanChain) -> torch.Tensor:
    lifted = data.lift(log_policy)
    policy = lifted.exp()
    mu = stationary_distribution_torch(policy, data.next_state)
    # 0 · log 0 = 0: a token the policy never emits contributes no reward (avoids 0 · ∞ = NaN)
    return (mu[:, None] * torch.where(policy > 0, policy * (data.log_p_human - lifted), 0.0)).sum()


OBJECTIVES: dict[str, Callable[[torch.Tensor, HumanChain], torch.Tensor]] = {
    "ntp": _ntp,
    "seed": _seed,
    "average_reward": _average_reward,
    "average_reward_entropy": _average_reward_entropy,
}


def objective_values(policy: np.ndarray, p_human: np.ndarray) -> dict[str, float]:
    """All four objectives of the module docstring at ``policy`` (order k ≤ order of p_human).

    Policies with zero entries are allowed (NTP is then −∞ where p_h > 0), but ValueError is raised
    when the chain they induce has no unique stationary distribution μ_π (e.g. a reducible greedy policy).
    """
    policy = validate_policy(policy)
    data = HumanChain.from_table(p_human)
    with np.errstate(divide="ignore"):
        log_policy = torch.from_numpy(np.log(policy))
    validate_transition_matrix(transition_matrix(lift_policy(policy, data.p_human.shape[0])))
    with torch.no_grad():
        return {name: float(fn(log_policy, data)) for name, fn in OBJECTIVES.items()}


def ntp_objective(policy: np.ndarray, p_human: np.ndarray) -> float:
    """NTP(π) = Σ_s μ_D(s) Σ_a p_h(a|s) log π(a|s): expected log-likelihood of the data's next token."""
    return objective_values(policy, p_human)["ntp"]


def seed_objective(policy: np.ndarray, p_human: np.ndarray) -> float:
    """seed(π) = Σ_s μ_D(s) Σ_a π(a|s) log p_h(a|s): the source's step-5 objective (μ_D held fixed)."""
    return objective_values(policy, p_human)["seed"]


def average_reward(policy: np.ndarray, reward: np.ndarray) -> float:
    """ρ(π) = Σ_s μ_π(s) Σ_a π(a|s) r(s, a) with μ_π the on-policy stationary distribution.

    ``policy`` may have lower order than ``reward`` (shape (V**K, V)); it is then lifted to the
    K-context (it sees only the last k tokens) while the chain and the reward live on K-contexts.
    """
    reward, policy = np.asarray(reward, dtype=np.float64), validate_policy(policy)
    if reward.ndim != 2 or reward.shape[1] != policy.shape[1] or reward.shape[0] % policy.shape[0] != 0:
        raise ValueError(f"reward shape {reward.shape} does not fit policy shape {policy.shape}: need (V**K, V), K≥k")
    lifted = lift_policy(policy, reward.shape[0])
    return float(on_policy_distribution(lifted) @ (lifted * reward).sum(axis=1))


def entropy_regularised_average_reward(policy: np.ndarray, p_human: np.ndarray) -> float:
    """ρ_ent(π) = Σ_s μ_π(s) Σ_a π(a|s)[log p_h(a|s) − log π(a|s)] = −E_{s~μ_π} KL(π(·|s) ‖ p_h(·|s))."""
    return objective_values(policy, p_human)["average_reward_entropy"]


def gradients(logits: np.ndarray, p_human: np.ndarray) -> dict[str, np.ndarray]:
    """∇_z of each objective at π = softmax(z, axis=1), by autograd in float64 through μ_π.

    Keys ``ntp``, ``seed``, ``average_reward`` (r = log p_h), ``average_reward_entropy``; each value
    has the shape of ``logits`` (V**k, V).  The data's order K may exceed the model's order k.
    """
    data = HumanChain.from_table(p_human)
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2 or not np.all(np.isfinite(logits)):
        raise ValueError(f"logits must be a finite 2-dimensional (V**k, V) table, got shape {logits.shape}")
    z = torch.tensor(logits, requires_grad=True)
    log_policy = torch.log_softmax(z, dim=1)
    result = {}
    for name, fn in OBJECTIVES.items():
        (grad,) = torch.autograd.grad(fn(log_policy, data), z, retain_graph=True)
        result[name] = grad.numpy()
    return result


def policy_gradient_theorem(policy: np.ndarray, reward: np.ndarray) -> np.ndarray:
    """Analytic ∇_z ρ for π = softmax(z) and a reward not depending on π (well-specified, same order).

    Average-reward policy-gradient theorem: ∇ρ = Σ_s μ_π(s) Σ_a ∇π(a|s) q_π(s, a), q the differential
    action values.  For softmax ∂π(a|s)/∂z(s, b) = π(a|s)([a = b] − π(b|s)), hence
        ∂ρ/∂z(s, b) = μ_π(s) π(b|s) (q(s, b) − Σ_a π(a|s) q(s, a)).
    It also gives ∇ρ_ent with r = log p_h − log π evaluated at the current π: the extra term
    Σ_s μ_π(s) Σ_a π(a|s) ∇r(s, a) = −Σ_s μ_π(s) ∇Σ_a π(a|s) = 0.
    """
    policy = validate_policy(policy)
    _, _, q = differential_values(policy, reward)
    mu = on_policy_distribution(policy)
    return mu[:, None] * policy * (q - (policy * q).sum(axis=1, keepdims=True))


def ntp_optimum(p_human: np.ndarray, order: int) -> np.ndarray:
    """argmax_π NTP(π) over order-k policies, in closed form: the μ_D-weighted conditional of the k-context.

    NTP(π) = Σ_c Σ_{s ≡ c} μ_D(s) Σ_a p_h(a|s) log π(a|c) splits over k-contexts c = s mod V**k; by Gibbs'
    inequality each term is maximised by π*(a|c) = Σ_{s ≡ c} μ_D(s) p_h(a|s) / Σ_{s ≡ c} μ_D(s).
    For k = K this is p_h itself.
    """
    p_human = validate_policy(p_human)
    vocab, true_order = chain_shape(p_human)
    if not 0 <= order <= true_order:
        raise ValueError(f"model order {order} must lie in [0, {true_order}] (the order of p_human)")
    mu = on_policy_distribution(p_human)
    joint = (mu[:, None] * p_human).reshape(vocab ** (true_order - order), vocab**order, vocab).sum(axis=0)
    return joint / joint.sum(axis=1, keepdims=True)


def maximise_objective(
    name: str, p_human: np.ndarray, order: int, rng: np.random.Generator, n_starts: int = 3, max_iter: int = 100
) -> tuple[np.ndarray, float]:
    """Best (logits, value) of objective ``name`` over order-k softmax policies: L-BFGS in float64 from
    ``n_starts`` random N(0, 1) logit tables.  A local method: the value is a lower bound on the maximum.

    Logits are parametrised as z = B tanh(w / B), B = LOGIT_BOUND: maximisers of ρ are deterministic, and
    unbounded logits would underflow probabilities to 0, making the chain reducible and μ_π undefined.
    With B = 12 every probability stays ≥ e^{-24}/V, so deterministic optima are approached to ~1e-10.
    """
    data = HumanChain.from_table(p_human)
    objective = OBJECTIVES[name]
    vocab = p_human.shape[1]
    best_logits, best_value = None, -np.inf
    for _ in range(n_starts):
        free = torch.tensor(random_logits(rng, vocab, order), requires_grad=True)
        optimiser = torch.optim.LBFGS(
            [free], max_iter=max_iter, tolerance_grad=1e-10, tolerance_change=1e-12, line_search_fn="strong_wolfe"
        )
        optimiser.step(functools.partial(_negated_objective, objective, free, data, optimiser))
        with torch.no_grad():
            logits = LOGIT_BOUND * torch.tanh(free / LOGIT_BOUND)
            value = float(objective(torch.log_softmax(logits, dim=1), data))
        if value > best_value:
            best_logits, best_value = logits.numpy().copy(), value
    return best_logits, best_value


def _negated_objective(objective, free: torch.Tensor, data: HumanChain, optimiser: torch.optim.Optimizer):
    """L-BFGS closure: −objective at logits B tanh(free / B), with its gradient accumulated into ``free``."""
    optimiser.zero_grad()
    loss = -objective(torch.log_softmax(LOGIT_BOUND * torch.tanh(free / LOGIT_BOUND), dim=1), data)
    loss.backward()
    return loss


def optimal_average_reward(reward: np.ndarray) -> float:
    """max over all policies of ρ for a reward table on a (fully observed) order-k chain: exact.

    Transitions are deterministic and the de Bruijn graph (edge s → next(s, a) of weight r(s, a)) is
    strongly connected, so the optimal gain is the same from every state and equals the maximum mean
    weight of a cycle (a deterministic policy that walks onto that cycle and loops attains it; no
    stochastic policy does better since ρ is linear in the stationary state-action frequencies, whose
    extreme points are cycles).  Karp's algorithm: with D_j(v) the heaviest j-edge walk ending in v,
        ρ* = max_v min_{0≤j<n} (D_n(v) − D_j(v)) / (n − j),   n = number of states.
    """
    reward = np.asarray(reward, dtype=np.float64)
    vocab, order = chain_shape(reward)
    n_states = vocab**order
    targets = next_state_table(vocab, order).ravel()
    heaviest = np.full((n_states + 1, n_states), -np.inf)
    heaviest[0] = 0.0  # a virtual source reaches every state with weight 0
    for j in range(1, n_states + 1):
        np.maximum.at(heaviest[j], targets, (heaviest[j - 1][:, None] + reward).ravel())
    steps = np.arange(n_states)[:, None]
    with np.errstate(invalid="ignore"):
        ratios = (heaviest[n_states][None, :] - heaviest[:n_states]) / (n_states - steps)
    ratios[~np.isfinite(ratios)] = np.inf  # walks that do not exist impose no constraint
    return float(np.max(np.min(ratios, axis=0)))
