"""Soft (entropy-regularised) RL and the endogenous reward on deterministic token MDPs.

Implements the exact objects of "Generalist Reward Models: Found Inside Large Language Models"
(Li et al. 2025, arXiv 2506.23235): the token MDP of its eq. (1) with deterministic transitions
s_{h+1} = s_h ⊕ a_h, horizon H, discount γ = 1 and terminal value 0; the soft Bellman equations and
softmax policy of eq. (9); the endogenous reward of eqs. (11)-(12) obtained from logits by the inverse
soft Bellman operator; the outcome reward Σ_h r̂ = α log π̂(τ|s_1) + V_f̂(s_1).  Also the KL-regularised
optimum (Rafailov et al. 2024), the unregularised optimum, and potential shaping (Ng et al. 1999).

Departures from the paper: rewards are arbitrary reals (the paper assumes r ∈ [0, 1]; bounds that need
it say so); the prompt is the empty prefix (one prompt per instance).

Layout (public contract, docs/design.md "Array layouts"): a *level list* has H arrays, level h of shape (n_h, V).
On the prefix tree n_h = V**h, the row is the base-V index of the prefix (first token most significant) and
the child of (row i, token a) is row i*V + a of level h+1.  The same functions run on finite automata
(`AutomatonDynamics` below, rows = automaton states) by passing ``dynamics=``: every
computation here is a backward or forward pass that only needs "value of the successor" and "push
mass to successors", so both representations share one implementation; `expand_to_tree` maps
automaton levels to the tree layout so that the two can be checked against each other.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp


class TreeDynamics:
    """The full prefix tree of vocabulary ``vocab``: level h has V**h states, child(i, a) = i*V + a."""

    def __init__(self, vocab: int):
        self.vocab = vocab

    def n_states(self, h: int) -> int:
        return self.vocab**h

    def initial(self) -> np.ndarray:
        return np.ones(1)

    def successor_values(self, h: int, values_next: np.ndarray) -> np.ndarray:
        """(n_h, V) array of values_next at child(s, a); values_next lives on level h+1."""
        return values_next.reshape(-1, self.vocab)

    def push_forward(self, h: int, mass: np.ndarray) -> np.ndarray:
        """Distribution over level h+1 from the (n_h, V) joint mass of (state, token)."""
        return mass.reshape(-1)


def check_positive(value: float, name: str) -> float:
    """Reject a non-positive / non-finite coefficient (α, β) with a message naming it."""
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def check_levels(levels, name: str, dynamics=None, allow_minus_inf: bool = False):
    """Validate a level list (shapes, NaN, +inf) and return the dynamics it lives on (tree if not given)."""
    if len(levels) == 0:
        raise ValueError(f"{name}: empty level list (horizon H must be >= 1)")
    levels = [np.asarray(x, dtype=np.float64) for x in levels]
    if levels[0].ndim != 2:
        raise ValueError(f"{name}: level 0 must be 2-D (states, vocab), got shape {levels[0].shape}")
    dynamics = dynamics if dynamics is not None else TreeDynamics(levels[0].shape[1])
    vocab = levels[0].shape[1]
    for h, level in enumerate(levels):
        expected = (dynamics.n_states(h), vocab)
        if level.shape != expected:
            raise ValueError(f"{name}: mismatched level shape at level {h}: expected {expected}, got {level.shape}")
        if np.isnan(level).any():
            raise ValueError(f"{name}: level {h} contains NaN")
        if np.isposinf(level).any() or (np.isneginf(level).any() and not allow_minus_inf):
            raise ValueError(f"{name}: level {h} contains infinite entries")
    return levels, dynamics


def check_policy(policy_levels, dynamics=None, name: str = "policy"):
    """Validate a stochastic policy: non-negative rows that sum to 1 (tolerance 1e-9)."""
    levels, dynamics = check_levels(policy_levels, name, dynamics)
    for h, level in enumerate(levels):
        if (level < 0).any():
            raise ValueError(f"{name}: level {h} has negative probabilities")
        worst = np.abs(level.sum(axis=1) - 1.0).max()
        if worst > 1e-9:
            raise ValueError(f"{name}: non-normalised policy at level {h} (row sums off by {worst:.3g})")
    return levels, dynamics


def log_policy(policy_levels) -> list[np.ndarray]:
    """log π per level; zero probabilities give -inf (allowed for deterministic policies)."""
    with np.errstate(divide="ignore"):
        return [np.log(level) for level in policy_levels]


def _soft_backward(reward_levels, temperature: float, log_reference, dynamics):
    """Backward induction Q_h = r_h + V_{h+1}(s·a), V_h = t log Σ_a exp(log π_ref + Q_h/t), π = its softmax.

    With log_reference = 0 this is the entropy-regularised soft Bellman equation (paper eq. (9));
    with log_reference = log π_ref it is the KL-regularised optimum π ∝ π_ref exp(Q/β).
    """
    horizon = len(reward_levels)
    values = [None] * horizon + [np.zeros(dynamics.n_states(horizon))]
    q_levels, policy = [None] * horizon, [None] * horizon
    for h in reversed(range(horizon)):
        q_levels[h] = reward_levels[h] + dynamics.successor_values(h, values[h + 1])
        scores = log_reference[h] + q_levels[h] / temperature
        values[h] = temperature * logsumexp(scores, axis=1)
        policy[h] = np.exp(scores - values[h][:, None] / temperature)
    return q_levels, values, policy


def soft_optimal(reward_levels, alpha: float, dynamics=None):
    """Entropy-regularised optimum: Q(s,a) = r(s,a) + V(s·a), V(s) = α logsumexp(Q(s,·)/α), π = softmax(Q/α).

    Returns (Q_levels, V_levels, policy_levels); V_levels has H+1 entries (level h shape (n_h,)), the last 0.
    """
    alpha = check_positive(alpha, "alpha")
    levels, dynamics = check_levels(reward_levels, "reward", dynamics)
    return _soft_backward(levels, alpha, [0.0] * len(levels), dynamics)


def kl_regularised_optimal(reward_levels, reference_levels, beta: float, dynamics=None):
    """argmax_π E_π[Σ r] − β KL(π‖π_ref): π(a|s) = π_ref(a|s) exp((Q(s,a) − V(s))/β), recursively.

    V(s) = β log Σ_a π_ref(a|s) exp(Q(s,a)/β), Q(s,a) = r(s,a) + V(s·a).  Reference zeros stay zeros.
    """
    beta = check_positive(beta, "beta")
    levels, dynamics = check_levels(reward_levels, "reward", dynamics, allow_minus_inf=True)
    reference, _ = check_policy(reference_levels, dynamics, name="reference policy")
    return _soft_backward(levels, beta, log_policy(reference), dynamics)


def greedy_optimal(reward_levels, dynamics=None):
    """Unregularised optimum: Q(s,a) = r(s,a) + max_a' Q(s·a, a'), deterministic argmax policy (ties → lowest token)."""
    levels, dynamics = check_levels(reward_levels, "reward", dynamics, allow_minus_inf=True)
    horizon = len(levels)
    values = [None] * horizon + [np.zeros(dynamics.n_states(horizon))]
    q_levels, policy = [None] * horizon, [None] * horizon
    for h in reversed(range(horizon)):
        q_levels[h] = levels[h] + dynamics.successor_values(h, values[h + 1])
        best = q_levels[h].argmax(axis=1)
        values[h] = q_levels[h].max(axis=1)
        policy[h] = np.eye(levels[h].shape[1])[best]
    return q_levels, values, policy


def soft_values(logit_levels, alpha: float, dynamics=None) -> list[np.ndarray]:
    """V_f(s) = α log Σ_a exp(f(s,a)/α) for every level, plus the terminal level V = 0."""
    alpha = check_positive(alpha, "alpha")
    levels, dynamics = check_levels(logit_levels, "logits", dynamics, allow_minus_inf=True)
    return [alpha * logsumexp(f / alpha, axis=1) for f in levels] + [np.zeros(dynamics.n_states(len(levels)))]


def endogenous_reward(logit_levels, alpha: float, dynamics=None) -> list[np.ndarray]:
    """Paper eq. (11): r̂(s,a) = f(s,a) − α log Σ_a' exp(f(s·a,a')/α), next-state value 0 after level H−1.

    Equivalently (eq. (12)) r̂(s,a) = α log π_f(a|s) + V_f(s) − V_f(s·a) with π_f = softmax(f/α).
    """
    levels, dynamics = check_levels(logit_levels, "logits", dynamics, allow_minus_inf=True)
    values = soft_values(levels, alpha, dynamics)
    return [f - dynamics.successor_values(h, values[h + 1]) for h, f in enumerate(levels)]


def shape_reward(reward_levels, potential_levels, dynamics=None) -> list[np.ndarray]:
    """Potential shaping r'(s,a) = r(s,a) + Φ(s·a) − Φ(s) with Φ(terminal) = 0; potential level h has shape (n_h,)."""
    levels, dynamics = check_levels(reward_levels, "reward", dynamics)
    horizon = len(levels)
    potential = [np.asarray(p, dtype=np.float64) for p in potential_levels]
    if len(potential) != horizon or any(p.shape != (dynamics.n_states(h),) for h, p in enumerate(potential)):
        raise ValueError(f"potential: mismatched level shapes, need H={horizon} vectors of length n_h")
    if any(np.isnan(p).any() for p in potential):
        raise ValueError("potential: contains NaN")
    potential.append(np.zeros(dynamics.n_states(horizon)))
    return [r + dynamics.successor_values(h, potential[h + 1]) - potential[h][:, None] for h, r in enumerate(levels)]


def policy_value(policy_levels, reward_levels, dynamics=None) -> list[np.ndarray]:
    """Unregularised value by backward pass: V^π(s) = Σ_a π(a|s)[r(s,a) + V^π(s·a)], V = 0 at level H.

    Returns the H+1 value levels; the value of the policy is ``values[0] @ dynamics.initial()``.
    """
    policy, dynamics = check_policy(policy_levels, dynamics)
    rewards, _ = check_levels(reward_levels, "reward", dynamics, allow_minus_inf=True)
    horizon = len(policy)
    values = [None] * horizon + [np.zeros(dynamics.n_states(horizon))]
    for h in reversed(range(horizon)):
        q = rewards[h] + dynamics.successor_values(h, values[h + 1])
        # 0·(-inf) must count as 0: actions the policy never takes contribute nothing
        with np.errstate(invalid="ignore"):
            values[h] = np.where(policy[h] > 0, policy[h] * q, 0.0).sum(axis=1)
    return values


def expected_return(policy_levels, reward_levels, dynamics=None) -> float:
    """V^π(s_1) = E_{τ~π}[Σ_h r(s_h, a_h)] (paper eq. (1))."""
    dynamics = dynamics if dynamics is not None else TreeDynamics(np.shape(policy_levels[0])[1])
    return float(policy_value(policy_levels, reward_levels, dynamics)[0] @ dynamics.initial())


def state_distributions(policy_levels, dynamics=None) -> list[np.ndarray]:
    """Forward pass d_{h+1}(s') = Σ_{(s,a)→s'} d_h(s) π(a|s); on the tree d_H is the law of full responses."""
    policy, dynamics = check_policy(policy_levels, dynamics)
    dists = [dynamics.initial()]
    for h, level in enumerate(policy):
        dists.append(dynamics.push_forward(h, dists[h][:, None] * level))
    return dists


def sup_log_ratio(policy_a, policy_b) -> float:
    """ε_π = max over all levels, states, tokens of |log π_a(a|s) − log π_b(a|s)| (Theorem 1's ε_π)."""
    return max(float(np.abs(la - lb).max()) for la, lb in zip(log_policy(policy_a), log_policy(policy_b), strict=True))


def all_trajectories(vocab: int, horizon: int) -> np.ndarray:
    """(V**H, H) token array of every response; row j has base-V index j, i.e. it is leaf j of the tree."""
    if vocab < 1 or horizon < 1:
        raise ValueError(f"vocab and horizon must be >= 1, got vocab={vocab}, horizon={horizon}")
    leaves = np.arange(vocab**horizon)
    return np.stack([(leaves // vocab ** (horizon - 1 - h)) % vocab for h in range(horizon)], axis=1)


def outcome_reward(reward_levels, tokens, gamma: float = 1.0) -> np.ndarray:
    """Σ_h γ^h r(s_h, a_h) along each response in ``tokens`` (shape (..., H)), on the tree layout.

    γ = 1 is the paper's outcome reward; γ < 1 is the discounted aggregation some implementations use.
    """
    levels, dynamics = check_levels(reward_levels, "reward", allow_minus_inf=True)
    tokens = np.asarray(tokens)
    if tokens.shape[-1] != len(levels):
        raise ValueError(f"tokens: last axis must be the horizon {len(levels)}, got {tokens.shape[-1]}")
    if tokens.min() < 0 or tokens.max() >= dynamics.vocab:
        raise ValueError(f"tokens: entries must lie in [0, {dynamics.vocab})")
    total = np.zeros(tokens.shape[:-1])
    prefix = np.zeros(tokens.shape[:-1], dtype=np.int64)
    for h, level in enumerate(levels):
        total = total + gamma**h * level[prefix, tokens[..., h]]
        prefix = prefix * dynamics.vocab + tokens[..., h]
    return total


def log_likelihood(policy_levels, tokens) -> np.ndarray:
    """log π(τ|s_1) = Σ_h log π(a_h|s_h) for each response in ``tokens``."""
    policy, _ = check_policy(policy_levels)
    return outcome_reward(log_policy(policy), tokens)


def inverse_soft_q_objective(logit_levels, tokens, alpha: float) -> float:
    """Paper eq. (7) summed over the responses ``tokens`` (shape (n, H)) on the tree layout:
    J(Q) = Σ_i Σ_h [Q(s_h^i, a_h^i) − α log Σ_a exp(Q(s_h^i, a)/α)] (the paper's 1/n factor dropped).

    Written token by token from the logits, without `log_likelihood`, so that Proposition 1's identity
    J(f) = α Σ_i log softmax(f/α)(τ_i) is a comparison of two implementations.
    """
    alpha = check_positive(alpha, "alpha")
    tokens = np.asarray(tokens)
    rows, prefixes, total = np.arange(len(tokens)), np.zeros(len(tokens), dtype=np.int64), 0.0
    for h, level in enumerate(logit_levels):
        q = np.asarray(level, dtype=np.float64)[prefixes]
        total += float((q[rows, tokens[:, h]] - alpha * logsumexp(q / alpha, axis=1)).sum())
        prefixes = prefixes * q.shape[1] + tokens[:, h]
    return total


def inverse_soft_q_gradient(logit_levels, tokens, alpha: float) -> list[np.ndarray]:
    """∂J/∂Q(s, a) of `inverse_soft_q_objective`: Σ over data visits of s of [1{a = a_h^i} − softmax(Q(s,·)/α)_a].

    J is concave in Q (a linear term minus α·logsumexp(·/α)), so a zero gradient certifies a global maximiser;
    entries of Q equal to −∞ (tokens a tabular optimum never emits) contribute softmax weight 0.
    """
    alpha = check_positive(alpha, "alpha")
    tokens = np.asarray(tokens)
    rows, prefixes = np.arange(len(tokens)), np.zeros(len(tokens), dtype=np.int64)
    gradient = []
    for h, level in enumerate(logit_levels):
        level = np.asarray(level, dtype=np.float64)
        q = level[prefixes] / alpha
        weights = np.exp(q - logsumexp(q, axis=1, keepdims=True))
        weights[rows, tokens[:, h]] -= 1.0
        grad = np.zeros_like(level)
        np.add.at(grad, prefixes, -weights)
        gradient.append(grad)
        prefixes = prefixes * level.shape[1] + tokens[:, h]
    return gradient


def ntp_count_policy(tokens, vocab: int, smoothing: float = 0.0) -> list[np.ndarray]:
    """Maximiser of the NTP log-likelihood (paper eq. (2)) of a tabular logit table on responses ``tokens``.

    π(a|s) = (n(s, a) + λ)/(n(s) + Vλ) with λ = ``smoothing``: λ = 0 is the maximum-likelihood solution
    (unvisited prefixes are unconstrained by eq. (2) and get the uniform distribution); λ > 0 is the MAP under a
    Dirichlet(λ) prior, which keeps every log π finite so that ε_π is too.
    """
    if not (np.isfinite(smoothing) and smoothing >= 0):
        raise ValueError(f"smoothing must be a non-negative finite number, got {smoothing!r}")
    tokens = np.asarray(tokens)
    horizon = tokens.shape[1]
    counts = [np.zeros((vocab**h, vocab)) for h in range(horizon)]
    prefixes = np.zeros(len(tokens), dtype=np.int64)
    for h in range(horizon):
        np.add.at(counts[h], (prefixes, tokens[:, h]), 1.0)
        prefixes = prefixes * vocab + tokens[:, h]
    padded = [c + smoothing + (c.sum(1, keepdims=True) + smoothing == 0) for c in counts]
    return [p / p.sum(1, keepdims=True) for p in padded]


def max_abs_diff(levels_a, levels_b) -> float:
    """max over levels and entries of |a − b| (for comparing two level lists)."""
    return max(float(np.abs(np.subtract(a, b)).max()) for a, b in zip(levels_a, levels_b, strict=True))


def ranking_disagreement(score_a: np.ndarray, score_b: np.ndarray) -> float:
    """Fraction of response pairs, untied under score_a, that score_b orders the other way (or ties)."""
    order_a = np.sign(score_a[:, None] - score_a[None, :])
    order_b = np.sign(score_b[:, None] - score_b[None, :])
    untied = order_a != 0
    return float((order_a[untied] != order_b[untied]).mean())


def random_levels(rng: np.random.Generator, vocab: int, horizon: int, low: float = 0.0, high: float = 1.0):
    """Tree level list with i.i.d. uniform entries in [low, high) (random rewards, logits, noise)."""
    return [rng.uniform(low, high, size=(vocab**h, vocab)) for h in range(horizon)]


def softmax_policy(logit_levels, alpha: float) -> list[np.ndarray]:
    """π_f = softmax(f/α) per state (paper eq. (10))."""
    alpha = check_positive(alpha, "alpha")
    return [np.exp(f / alpha - logsumexp(f / alpha, axis=1, keepdims=True)) for f in logit_levels]


# --- finite automata ------------------------------------------------------------------------------
# When rewards and policies depend on the prefix only through a deterministic finite automaton
# q_{h+1} = δ(q_h, a_h) (e.g. "still on the expert path" / "fell off", or a running count), every function
# above is the same dynamic program over (h, q): pass ``dynamics=AutomatonDynamics(δ)``.  Level h then has
# shape (Q, V), row q = automaton state q at step h (levels may differ across h).  Exact, and H reaches 1024+.

class AutomatonDynamics:
    """Deterministic automaton with transition table δ of shape (Q, V) and start state ``start``."""

    def __init__(self, transition, start: int = 0):
        transition = np.asarray(transition)
        if transition.ndim != 2 or not np.issubdtype(transition.dtype, np.integer):
            raise ValueError(f"transition: need an integer (Q, V) table, got dtype {transition.dtype}, "
                             f"shape {transition.shape}")
        n_states = transition.shape[0]
        if transition.min() < 0 or transition.max() >= n_states:
            raise ValueError(f"transition: targets must be automaton states in [0, {n_states})")
        if not 0 <= start < n_states:
            raise ValueError(f"start state {start} is not in [0, {n_states})")
        self.transition, self.start, self.vocab = transition, start, transition.shape[1]

    def n_states(self, h: int) -> int:
        return self.transition.shape[0]

    def initial(self) -> np.ndarray:
        return np.eye(self.transition.shape[0])[self.start]

    def successor_values(self, h: int, values_next: np.ndarray) -> np.ndarray:
        return values_next[self.transition]

    def push_forward(self, h: int, mass: np.ndarray) -> np.ndarray:
        return np.bincount(self.transition.ravel(), weights=mass.ravel(), minlength=self.transition.shape[0])

    def prefix_states(self, horizon: int) -> list[np.ndarray]:
        """Automaton state of every tree prefix: entry h has shape (V**h,), in the tree's row order."""
        states = [np.array([self.start])]
        for _ in range(horizon):
            states.append(self.transition[states[-1]].reshape(-1))
        return states


def automaton_step_rewards(reward_levels, tokens, dynamics: AutomatonDynamics) -> np.ndarray:
    """r(q_h, a_h) at every step of each response in ``tokens`` (shape (n, H)), walking the automaton from its start
    state; ``step_rewards @ γ**np.arange(H)`` is the (discounted) outcome reward, the automaton counterpart of
    `outcome_reward` for responses too many to enumerate (they can be sampled)."""
    tokens = np.asarray(tokens)
    horizon = len(reward_levels)
    if tokens.ndim != 2 or tokens.shape[1] != horizon:
        raise ValueError(f"tokens: need shape (n, {horizon}), got {tokens.shape}")
    states = np.empty_like(tokens)
    current = np.full(len(tokens), dynamics.start)
    for h in range(horizon):
        states[:, h] = current
        current = dynamics.transition[current, tokens[:, h]]
    stacked = np.stack([np.asarray(level, dtype=np.float64) for level in reward_levels])
    return stacked[np.arange(horizon), states, tokens]


def repeat_level(table, horizon: int) -> list[np.ndarray]:
    """Time-homogeneous level list: the same (Q, V) table at every step h = 0..H−1."""
    table = np.asarray(table, dtype=np.float64)
    return [table] * horizon


def expand_to_tree(levels, dynamics: AutomatonDynamics) -> list[np.ndarray]:
    """Tree level list whose row for prefix s is the automaton row of the state q(s) reached from the start."""
    states = dynamics.prefix_states(len(levels))
    return [np.asarray(level)[states[h]] for h, level in enumerate(levels)]


def expand_values_to_tree(value_levels, dynamics: AutomatonDynamics) -> list[np.ndarray]:
    """Tree value levels (shape (V**h,)) from automaton value levels (shape (Q,)), h = 0..H."""
    states = dynamics.prefix_states(len(value_levels) - 1)
    return [np.asarray(v)[states[h]] for h, v in enumerate(value_levels)]
