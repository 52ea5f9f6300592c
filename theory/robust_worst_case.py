"""Theorem 2's worst case over the paper's constraint set, exactly per instance and searched over instances.

Paper object: "Generalist Reward Models" (arXiv 2506.23235) Theorem 2 with ε_π = max_{s,a} |log π^E(a|s) −
log π̂(a|s)|.  For an expert π^E and a radius ε the learners with ε_π ≤ ε form, state by state, the set

    P_ε(s) = {p : π^E(a|s)e^{−ε} ≤ p_a ≤ π^E(a|s)e^{ε}, Σ_a p_a = 1}      (a box in log-ratio ∩ the simplex),

and the whole set is the product of the P_ε(s) over states (s-rectangular).  Hence (robust MDP):

* **BC, exact.**  min_{π̂} V^{r}(π̂) is the backward induction V(s) = min_{p∈P_ε(s)} Σ_a p_a (r(s,a) + V(s·a)).
  The inner problem is a linear program whose solution is greedy (`cheapest_in_box`): start every token at its
  lower end l_a = π^E_a e^{−ε}; the spare mass 1 − e^{−ε} goes to tokens in increasing order of their value
  q_a = r(s,a) + V(s·a), each raised to its upper end u_a = π^E_a e^{ε} before the next one gets any (a fractional
  knapsack with unit weights: any other feasible p moves mass from a cheaper token to a dearer one).  The largest
  BC gap V(π^E) − V(π̂) over the set is V(π^E) minus this minimum; ``sense="max"`` gives the most negative one.
* **RL, exact on trees.**  V^{r̂}(π) = α E_π[log π̂(τ)] + const, so every maximiser of V^{r̂} is (a mixture of)
  deterministic paths to modes τ of π̂, and the worst RL gap over the set is V(π^E) − min r*(τ) over the paths
  τ that are a mode of some π̂ ∈ P_ε (ties resolved against us: the worst maximiser).  On a tree, τ is such a
  mode iff for every step h: L_h(τ) ≥ W_h, where L_h = Σ_{j≥h} log u*_j sums the largest on-path probabilities
  u*_j = min(u_{a_j}, 1 − Σ_{b≠a_j} l_b) and W_h is the least possible best competing log-likelihood of a
  deviation at h (`flattest_in_box`: the remaining mass spread over the other tokens to minimise
  max_b log p_b + m(s·b), m the least possible mode log-likelihood of a subtree).  `rl_worst_case_tree`
  enumerates the paths, so it runs for V^H up to a few thousand.

The search over instances (r*, α, dynamics) that uses these exact inner maximisations: theory/worst_case_search.py.

Departure from the paper: none in the objects (π^E is the soft optimum of r* ∈ [0,1]); the paper states "≲".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory.error_bounds import ImitationInstance
from theory.soft_rl import (
    TreeDynamics,
    all_trajectories,
    check_levels,
    check_policy,
    expected_return,
    outcome_reward,
    soft_optimal,
)

BISECTION_STEPS = 200  # bisection on a log-level: 200 halvings of a range ≤ 1e4 reach float64 resolution


def ratio_box(expert_rows: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) = (π^E e^{−ε}, π^E e^{ε}) per entry: the log-ratio box of P_ε before normalisation."""
    if not (np.isfinite(eps) and eps >= 0):
        raise ValueError(f"eps must be a non-negative finite number, got {eps!r}")
    return expert_rows * np.exp(-eps), expert_rows * np.exp(eps)


def cheapest_in_box(lower: np.ndarray, upper: np.ndarray, costs: np.ndarray) -> np.ndarray:
    """argmin_p Σ_a p_a c_a over {lower ≤ p ≤ upper, Σ_a p_a = 1}, row by row (greedy = exact, see module doc).

    Requires Σ lower ≤ 1 ≤ Σ upper (true for the ratio box of a distribution).  Ties are broken by token index.
    """
    return _cheapest_by_token(lower.T, upper.T, costs.T).T


def _cheapest_by_token(lower: np.ndarray, upper: np.ndarray, costs: np.ndarray) -> np.ndarray:
    """`cheapest_in_box` on (V, n) arrays: token b is served before token a when it is cheaper (ties: lower index
    first), so token a receives clip(spare − room queued before it, 0, its room).  O(V²) vector operations: the
    token axis first keeps every operation a contiguous elementwise one (the search's hot loop)."""
    room = upper - lower
    spare = 1.0 - lower.sum(axis=0)
    policy = np.empty_like(lower)
    for a in range(len(costs)):
        queued = np.zeros_like(spare)
        for b in range(len(costs)):
            if b != a:
                queued += room[b] * ((costs[b] < costs[a]) if b > a else (costs[b] <= costs[a]))
        policy[a] = lower[a] + np.clip(spare - queued, 0.0, room[a])
    return policy


def extreme_learner(expert_levels, reward_levels, eps: float, dynamics=None, sense: str = "min"):
    """The learner in P_ε that minimises (``sense="min"``) or maximises V^r, by robust backward induction.

    Returns (policy levels, value levels); the value of the learner is ``values[0] @ dynamics.initial()``.
    """
    if sense not in ("min", "max"):
        raise ValueError(f"sense must be 'min' or 'max', got {sense!r}")
    expert, dynamics = check_policy(expert_levels, dynamics, name="expert")
    rewards, _ = check_levels(reward_levels, "reward", dynamics)
    horizon, sign = len(expert), 1.0 if sense == "min" else -1.0
    values = [None] * horizon + [np.zeros(dynamics.n_states(horizon))]
    policy = [None] * horizon
    for h in reversed(range(horizon)):
        q = rewards[h] + dynamics.successor_values(h, values[h + 1])
        policy[h] = cheapest_in_box(*ratio_box(expert[h], eps), sign * q)
        values[h] = (policy[h] * q).sum(axis=1)
    return policy, values


def box_log_ratio(expert_levels, learner_levels) -> float:
    """ε_π of a learner built inside a ratio box: max |log π̂ − log π^E| over entries with π^E > 0.

    Entries where π^E underflows to 0 are 0 in the learner too (the box is {0}); their true log-ratio lies in
    [−ε, ε] by construction, so skipping them is exact where `soft_rl.sup_log_ratio` would return NaN.
    """
    worst = 0.0
    for expert, learner in zip(expert_levels, learner_levels, strict=True):
        positive = expert > 0
        worst = max(worst, float(np.abs(np.log(learner[positive]) - np.log(expert[positive])).max(initial=0.0)))
    return worst


@dataclass(frozen=True)
class WorstCase:
    """The exact extremes of one instance (r*, α, dynamics) at radius ε: the BC gap of the value-minimising and
    value-maximising learners, their ε_π, and the RL gap of π^RL = argmax V^{r̂} built on the minimising one."""

    horizon: int
    alpha: float
    bc_gap: float
    bc_eps_pi: float
    bc_gap_negative: float
    negative_eps_pi: float
    rl_gap: float


def worst_case(reward_levels, alpha: float, dynamics, eps: float) -> WorstCase:
    """`WorstCase` of the paper's setting: π^E = soft-optimal(r*, α), learners ranging over P_ε(π^E)."""
    dynamics = dynamics if dynamics is not None else TreeDynamics(np.shape(reward_levels[0])[1])
    expert = soft_optimal(reward_levels, alpha, dynamics)[2]
    start = dynamics.initial()
    expert_value = expected_return(expert, reward_levels, dynamics)
    low, low_values = extreme_learner(expert, reward_levels, eps, dynamics, "min")
    high, high_values = extreme_learner(expert, reward_levels, eps, dynamics, "max")
    with np.errstate(divide="ignore"):  # logits of underflowed tokens are −inf, which r̂ and RL allow
        inst = ImitationInstance(reward_levels, expert, [alpha * np.log(p) for p in low], low, alpha, dynamics)
    return WorstCase(len(expert), alpha, expert_value - float(low_values[0] @ start), box_log_ratio(expert, low),
                     expert_value - float(high_values[0] @ start), box_log_ratio(expert, high), inst.rl_gap())


# --- RL on r̂: the worst maximiser over the whole constraint set, on trees --------------------------

def flattest_in_box(lower: np.ndarray, upper: np.ndarray, total: np.ndarray, scores: np.ndarray):
    """(p, value): argmin_p max_a (log p_a + s_a) over {lower ≤ p ≤ upper, Σ_a p_a = total}, row by row.

    Water-filling: p_a(λ) = clip(e^{λ − s_a}, l_a, u_a) with λ set by bisection so that the row sums to ``total``;
    tokens with upper = 0 are excluded.  The value is max_a (log p_a + s_a) over the tokens with p_a > 0.
    """
    used = upper > 0
    with np.errstate(divide="ignore"):
        low = np.where(lower > 0, np.log(np.where(lower > 0, lower, 1.0)) + scores, np.inf).min(axis=1)
        high = np.where(used, np.log(np.where(used, upper, 1.0)) + scores, -np.inf).max(axis=1)
    high = np.where(np.isfinite(high), high, 0.0)  # a row without tokens (V = 1 on a path) keeps p = 0
    low = np.where(np.isfinite(low), np.minimum(low, high), high - 1e3)
    for _ in range(BISECTION_STEPS):
        mid = (low + high) / 2
        mass = np.where(used, np.clip(np.exp(mid[:, None] - scores), lower, upper), 0.0).sum(axis=1)
        low, high = np.where(mass < total, mid, low), np.where(mass < total, high, mid)
    policy = np.where(used, np.clip(np.exp(high[:, None] - scores), lower, upper), 0.0)
    policy *= (total / np.maximum(policy.sum(axis=1), 1e-300))[:, None]  # the last halving's round-off
    with np.errstate(divide="ignore"):
        value = np.where(policy > 0, np.log(np.where(policy > 0, policy, 1.0)) + scores, -np.inf).max(axis=1)
    return policy, value


@dataclass(frozen=True)
class RLWorstCase:
    """The worst RL gap over P_ε on a tree: the gap, the path τ_RL, and a learner in P_ε of which τ_RL is a mode."""

    gap: float
    path: np.ndarray
    learner: list
    eps_pi: float
    achievable_paths: int


def rl_worst_case_tree(reward_levels, alpha: float, eps: float, slack: float = 1e-12) -> RLWorstCase:
    """Max over π̂ ∈ P_ε(π^E) and over maximisers π^RL of V^{r̂(π̂)} of V^{r*}(π^E) − V^{r*}(π^RL) (module doc)."""
    expert = soft_optimal(reward_levels, alpha)[2]
    vocab, horizon = expert[0].shape[1], len(expert)
    boxes = [ratio_box(p, eps) for p in expert]
    mode_value = [None] * horizon + [np.zeros(vocab**horizon)]  # m(s): least possible max continuation log-lik
    flat = [None] * horizon
    top, deviation, on_path = [], [], []  # per level: (n_h, V) u*, W, and the (n_h, V, V) on-path policies
    for h in reversed(range(horizon)):
        lower, upper = boxes[h]
        children = mode_value[h + 1].reshape(-1, vocab)
        flat[h], mode_value[h] = flattest_in_box(lower, upper, np.ones(len(lower)), children)
        level_top, level_dev, level_policy = np.empty_like(lower), np.empty_like(lower), []
        for a in range(vocab):
            others = np.arange(vocab) != a
            level_top[:, a] = np.minimum(upper[:, a], 1.0 - lower[:, others].sum(axis=1))
            rest, level_dev[:, a] = flattest_in_box(lower * others, upper * others, 1.0 - level_top[:, a], children)
            rest[:, a] = level_top[:, a]
            level_policy.append(rest)
        top.insert(0, level_top)
        deviation.insert(0, level_dev)
        on_path.insert(0, np.stack(level_policy, axis=1))
    paths = all_trajectories(vocab, horizon)
    nodes = np.stack([paths[:, :h] @ vocab ** np.arange(h - 1, -1, -1) for h in range(horizon)], axis=1)
    steps = np.arange(horizon)
    with np.errstate(divide="ignore"):
        log_top = np.log(np.stack([top[h][nodes[:, h], paths[:, h]] for h in steps], axis=1))
    suffix = np.cumsum(log_top[:, ::-1], axis=1)[:, ::-1]
    needed = np.stack([deviation[h][nodes[:, h], paths[:, h]] for h in steps], axis=1)
    achievable = (suffix >= needed - slack).all(axis=1)
    returns = np.where(achievable, outcome_reward(reward_levels, paths), np.inf)
    worst = int(np.argmin(returns))
    learner = [level.copy() for level in flat]
    for h in steps:
        learner[h][nodes[worst, h]] = on_path[h][nodes[worst, h], paths[worst, h]]
    gap = expected_return(expert, reward_levels) - float(returns[worst])
    return RLWorstCase(gap, paths[worst], learner, box_log_ratio(expert, learner), int(achievable.sum()))


def bc_worst_gap(reward_levels, alpha: float, dynamics, eps: float) -> float:
    """max over π̂ ∈ P_ε of V^{r*}(π^E) − V^{r*}(π̂), π^E = soft-optimal(r*, α): the instance search's objective.

    The three backward passes of `soft_optimal`, `expected_return` and `extreme_learner` fused into one loop
    (the search calls this thousands of times; the tests check it against the three functions).
    """
    soft = expert_value = worst_value = np.zeros(dynamics.n_states(len(reward_levels)))
    for h in reversed(range(len(reward_levels))):
        reward = np.ascontiguousarray(np.transpose(reward_levels[h]))  # (V, n): see `_cheapest_by_token`
        successor = np.ascontiguousarray(dynamics.successor_values(h, np.arange(len(soft))).T)
        scores = (reward + soft[successor]) / alpha
        top = scores.max(axis=0)
        log_norm = top + np.log(np.exp(scores - top).sum(axis=0))
        expert, soft = np.exp(scores - log_norm), alpha * log_norm
        expert_value = (expert * (reward + expert_value[successor])).sum(axis=0)
        q = reward + worst_value[successor]
        worst_value = (_cheapest_by_token(*ratio_box(expert, eps), q) * q).sum(axis=0)
    return float((expert_value - worst_value) @ dynamics.initial())
