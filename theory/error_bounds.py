"""Exact value gaps behind Theorems 1 and 2 of "Generalist Reward Models" and the classical BC bounds.

Theorem 1 (paper §3.1): for two responses to one prompt, the Bradley-Terry preference of eq. (13)
under the endogenous reward r̂ is within total variation (αH/2)·ε_π of the one under the true reward r*,
with ε_π = max_{s,a} |log π^E(a|s) − log π̂(a|s)|.  Theorem 2: V^{r*}_{π^E} − V^{r*}_{π̂} ≲ H²ε_π for
behaviour cloning (BC / next-token prediction) and V^{r*}_{π^E} − V^{r*}_{π^RL} ≲ Hε_π for π^RL = argmax
V^{r̂}.  Values are unregularised (eq. (1)); π^E is the entropy-regularised optimum of r*.

Constructions (all exact dynamic programs on automata, so H runs to 1024):

* `cliff_gap`: Ross & Bagnell (2010).  Deterministic expert, a bad token drops to a zero-reward sink.
  Here ε is the per-step 0-1 / TV error under the expert's state law, *not* the paper's ε_π (which is
  infinite against a deterministic expert).  Gap ≈ εH(H+1)/2, closed forms in `cliff_gap_closed_form`;
  `cliff_profile_instance` takes any per-step error profile.
* `walk_instance`: a soft expert whose policy depends on the sign of a random walk; the learner
  tilts "+" against "−" by a factor e^ε.  Under ε_π this gives a BC gap Θ(H^{3/2}), the rate of the
  Pinsker bound `bc_bound_three_halves`, not H².  One hand-built construction: the worst case over the
  constraint set is computed in theory/robust_worst_case.py and searched over instances in
  theory/worst_case_search.py.
* `mode_swap_instance`: i.i.d. binary steps where the learner swaps the expert's two probabilities, so
  RL on r̂ follows the expert's *less* likely token: RL gap = αH(1−p)ε_π, linear in H, 1/4 of 2αHε_π.
* `theorem1_tight_instance`: Theorem 1's bound attained to first order in αHε_π.
* `sampled_ntp_instance`: a tabular model trained by NTP on n expert samples (Theorem 1 at a trained model).
* `random_gap_points`: Theorem-2 gaps of random trees and of degenerate instances (one token, uniform or
  near-deterministic expert, H = 1), one `GapPoint` each.

Departure from the paper: its "≲" hides constants; we check the explicit forms derived in
docs/research/endogenous_reward_bounds.md §2.2 (performance difference: H(H+1)/2·tanh(ε/2); RL: 2αHε).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.special import expit

from theory.soft_rl import (
    AutomatonDynamics,
    all_trajectories,
    endogenous_reward,
    expected_return,
    greedy_optimal,
    log_policy,
    ntp_count_policy,
    outcome_reward,
    random_levels,
    ranking_disagreement,
    repeat_level,
    soft_optimal,
    softmax_policy,
    state_distributions,
    sup_log_ratio,
)

HORIZONS = tuple(4 * 2**k for k in range(9))  # 4, 8, ..., 1024


# --- bounds (explicit constants) -------------------------------------------------------------------

def preference_tv_bound(horizon: int, eps: float, alpha: float) -> float:
    """Theorem 1: TV between BT preferences under r* and r̂ is at most αHε_π/2."""
    return alpha * horizon * eps / 2


def bc_bound_quadratic(horizon: int, eps: float) -> float:
    """Theorem 2 (BC), performance-difference form for r ∈ [0,1]: H(H+1)/2 · tanh(ε_π/2)."""
    return horizon * (horizon + 1) / 2 * np.tanh(eps / 2)


def bc_bound_three_halves(horizon: int, eps: float) -> float:
    """KL chain rule + Pinsker for r ∈ [0,1]: |gap| ≤ H·sqrt(H ε_π tanh(ε_π/2)) ≈ H^{3/2} ε_π/√2."""
    return horizon * np.sqrt(horizon * eps * np.tanh(eps / 2))


def rl_bound(horizon: int, eps: float, alpha: float) -> float:
    """Theorem 2 (RL on r̂), explicit constant: gap ≤ 2αHε_π."""
    return 2 * alpha * horizon * eps


def max_preference_tv(true_returns: np.ndarray, hat_returns: np.ndarray) -> float:
    """max over response pairs of |σ(r*(τ) − r*(τ')) − σ(r̂(τ) − r̂(τ'))| (TV of two Bernoullis)."""
    true_pref = expit(true_returns[:, None] - true_returns[None, :])
    hat_pref = expit(hat_returns[:, None] - hat_returns[None, :])
    return float(np.abs(true_pref - hat_pref).max())


# --- gaps of an imitation instance ------------------------------------------------------------------

@dataclass
class ImitationInstance:
    """True reward r*, its soft-optimal expert π^E, a learner's logits f and π̂ = softmax(f/α)."""

    reward: list
    expert: list
    logits: list
    learner: list
    alpha: float
    dynamics: object = None

    @property
    def eps_pi(self) -> float:
        return sup_log_ratio(self.expert, self.learner)

    def bc_gap(self) -> float:
        """V^{r*}(π^E) − V^{r*}(π̂): the behaviour-cloning suboptimality."""
        return self.expert_value() - expected_return(self.learner, self.reward, self.dynamics)

    def rl_gap(self) -> float:
        """V^{r*}(π^E) − V^{r*}(π^RL), π^RL the unregularised optimum of the endogenous reward r̂(f)."""
        rl_policy = greedy_optimal(endogenous_reward(self.logits, self.alpha, self.dynamics), self.dynamics)[2]
        return self.expert_value() - expected_return(rl_policy, self.reward, self.dynamics)

    def expert_value(self) -> float:
        return expected_return(self.expert, self.reward, self.dynamics)


def random_imitation_instance(rng: np.random.Generator, vocab: int, horizon: int, alpha: float,
                              noise: float) -> ImitationInstance:
    """Tree instance: r* ~ U[0,1], π^E = soft-optimal, f = α log π^E + U[−noise, noise] + c(s) (c random)."""
    return perturbed_expert_instance(rng, random_levels(rng, vocab, horizon), alpha, noise)


def any_expert_instance(expert_levels, learner_levels, alpha: float, dynamics) -> ImitationInstance:
    """r* := α log π^E + α log(1/p_min) ≥ 0 makes any full-support π^E soft-optimal
    (docs/research/endogenous_reward_bounds.md §5.0)."""
    log_expert = [np.log(p) for p in expert_levels]
    shift = -min(float(lp.min()) for lp in log_expert)
    reward = [alpha * (lp + shift) for lp in log_expert]
    logits = [alpha * np.log(p) for p in learner_levels]
    return ImitationInstance(reward, list(expert_levels), logits, list(learner_levels), alpha, dynamics)


def tree_preference_tv(inst: ImitationInstance, vocab: int, horizon: int) -> float:
    """Theorem 1's left-hand side, maximised over all pairs of responses of a tree instance."""
    paths = all_trajectories(vocab, horizon)
    hat = outcome_reward(endogenous_reward(inst.logits, inst.alpha), paths)
    return max_preference_tv(outcome_reward(inst.reward, paths), hat)


def theorem1_tight_instance(horizon: int, eps: float, alpha: float) -> ImitationInstance:
    """Binary tree, r* = 0 (π^E uniform), π̂(0) = e^{−ε}/2 everywhere: ε_π = ε and the pair 00…0 / 11…1
    has TV → αHε/2 as αHε → 0 (all per-step log-ratio errors align, with opposite signs on the two responses)."""
    learner = [np.tile([np.exp(-eps) / 2, 1 - np.exp(-eps) / 2], (2**h, 1)) for h in range(horizon)]
    expert = [np.full((2**h, 2), 0.5) for h in range(horizon)]
    logits = [alpha * lp for lp in log_policy(learner)]
    return ImitationInstance([np.zeros((2**h, 2)) for h in range(horizon)], expert, logits, learner, alpha)


def sampled_ntp_instance(rng: np.random.Generator, n_demos: int, vocab: int = 3, horizon: int = 4,
                         alpha: float = 1.0, smoothing: float = 0.5) -> ImitationInstance:
    """NTP on ``n_demos`` responses sampled from the MaxEnt expert of a random r* ~ U[0,1] (tabular logits).

    The learner is the exact NTP optimum of a logit table with add-λ smoothing (`ntp_count_policy`); its
    logits are α log π̂, so r̂ is the endogenous reward of the trained model.
    """
    reward = random_levels(rng, vocab, horizon)
    expert, tokens = expert_demonstrations(rng, reward, n_demos, alpha)
    return count_table_instance(reward, expert, tokens, alpha, smoothing)


def preference_accuracy(inst: ImitationInstance, vocab: int, horizon: int) -> float:
    """Fraction of response pairs (untied under r*) that Σr̂ orders like Σr* (all V**H responses)."""
    paths = all_trajectories(vocab, horizon)
    hat = outcome_reward(endogenous_reward(inst.logits, inst.alpha), paths)
    return 1.0 - ranking_disagreement(outcome_reward(inst.reward, paths), hat)


@dataclass(frozen=True)
class GapPoint:
    """One (instance, learner) of a Theorem-2 check: its BC and RL gaps under r* ∈ [0,1] and the learner's ε_π."""

    label: str
    horizon: int
    eps_pi: float
    alpha: float
    bc_gap: float
    rl_gap: float


def gap_point(label: str, inst: ImitationInstance, horizon: int) -> GapPoint:
    return GapPoint(label, horizon, inst.eps_pi, inst.alpha, inst.bc_gap(), inst.rl_gap())


def random_gap_points(rng: np.random.Generator, n_instances: int) -> list[GapPoint]:
    """Random V=3, H=5 trees (r* ~ U[0,1], α ∈ {0.3, 1}, logit noise ∈ {0.05, 0.2, 1}) after the degenerate ones:
    a single token (π̂ = π^E), r* = 0 (uniform expert), α = 0.02 (near-deterministic expert) and H = 1."""
    degenerate = [("one token", 1, 4, 1.0, None), ("uniform expert (r* = 0)", 3, 4, 1.0, 0.0),
                  ("near-deterministic expert (α = 0.02)", 3, 4, 0.02, None), ("single step", 3, 1, 1.0, None)]
    points = []
    for label, vocab, horizon, alpha, level in degenerate:
        reward = random_levels(rng, vocab, horizon) if level is None else [
            np.full((vocab**h, vocab), level) for h in range(horizon)]
        expert = soft_optimal(reward, alpha)[2]
        noise = random_levels(rng, vocab, horizon, -0.2, 0.2)
        logits = [alpha * np.log(p) + n for p, n in zip(expert, noise, strict=True)]
        inst = ImitationInstance(reward, expert, logits, softmax_policy(logits, alpha), alpha)
        points.append(gap_point(label, inst, horizon))
    for index in range(n_instances):
        alpha, noise = float(rng.choice([0.3, 1.0])), float(rng.choice([0.05, 0.2, 1.0]))
        points.append(gap_point(f"random tree {index} (α={alpha:g}, noise={noise:g})",
                                random_imitation_instance(rng, 3, 5, alpha, noise), 5))
    return points


# --- (a) Ross-Bagnell cliff: ε is a per-step 0-1 / TV error ---------------------------------------

CLIFF_VARIANTS = ("uniform", "concentrated", "recoverable")


def cliff_instance(horizon: int, eps: float, variant: str = "uniform") -> ImitationInstance:
    """Two-state cliff automaton (0 = on the expert path, 1 = fell off) with a deterministic expert.

    Token 0 is good (+1 on the path), token 1 bad (0).  ``uniform``: the learner errs with probability ε
    at every step; ``concentrated``: with probability Hε at step 1 only (same average error ε);
    ``recoverable``: errors cost one step and return to the path (DAgger / RL-like regime).
    The learner's logits are log π̂ (α = 1), so `rl_gap` runs RL on the endogenous reward of the learner.
    """
    if variant not in CLIFF_VARIANTS:
        raise ValueError(f"cliff variant must be one of {CLIFF_VARIANTS}, got {variant!r}")
    if not 0 <= eps <= 1 or (variant == "concentrated" and horizon * eps > 1):
        raise ValueError(f"cliff error probability out of [0, 1]: eps={eps}, H={horizon}")
    step_error = [horizon * eps] + [0.0] * (horizon - 1) if variant == "concentrated" else [eps] * horizon
    return cliff_profile_instance(step_error, recoverable=variant == "recoverable")


def cliff_profile_instance(step_error, recoverable: bool = False) -> ImitationInstance:
    """The cliff automaton with a learner that errs with probability ``step_error[h]`` at step h (H = its length).

    Ross & Bagnell's ε is the mean error under the expert's state law, which here is mean(step_error): the expert
    never leaves the path.
    """
    step_error = np.asarray(step_error, dtype=np.float64)
    if step_error.min() < 0 or step_error.max() > 1:
        raise ValueError(f"cliff error probability out of [0, 1]: {step_error.min()}…{step_error.max()}")
    horizon = len(step_error)
    dynamics = AutomatonDynamics(np.array([[0, 0], [1, 1]]) if recoverable else np.array([[0, 1], [1, 1]]))
    reward = repeat_level([[1.0, 0.0], [0.0, 0.0]], horizon)
    expert = repeat_level([[1.0, 0.0], [1.0, 0.0]], horizon)
    learner = [np.array([[1 - e, e], [1 - e, e]]) for e in step_error]
    with np.errstate(divide="ignore"):  # a zero-error step has log π̂(bad) = −inf, allowed for logits
        logits = [np.log(p) for p in learner]
    return ImitationInstance(reward, expert, logits, learner, 1.0, dynamics)


def cliff_gap(horizon: int, eps: float, variant: str = "uniform") -> float:
    """Exact DP gap V(expert) − V(learner) of `cliff_instance`."""
    return cliff_instance(horizon, eps, variant).bc_gap()


def cliff_gap_closed_form(horizon: int, eps: float, variant: str = "uniform") -> float:
    """H − Σ_{h=1}^H (1−ε)^h = H − (1−ε)(1−(1−ε)^H)/ε; H²ε (concentrated); Hε (recoverable)."""
    if variant == "concentrated":
        return horizon**2 * eps
    if variant == "recoverable":
        return horizon * eps
    # 1 − (1−ε)^H via expm1/log1p: the naive form cancels catastrophically for ε ≲ 1e-5
    return horizon + (1 - eps) * np.expm1(horizon * np.log1p(-eps)) / eps


# --- (b) the paper's sup-norm ε_π: random-walk construction ---------------------------------------

WALK_HIGH_ENTROPY = np.array([0.4, 0.4, 0.2])  # expert at walk position k >= 0; tokens (+, −, 0)
WALK_LOW_ENTROPY = np.array([0.49, 0.49, 0.02])  # expert at k < 0


def walk_instance(horizon: int, alpha: float = 0.3, eps: float = 0.01) -> ImitationInstance:
    """Automaton state k = #(+) − #(−) ∈ [−H, H].  π̂ moves mass π^E(+)(e^ε − 1) from "−" to "+".

    π^E(+) = π^E(−), so the tilt costs nothing immediately (r* = α log π^E + c is equal on + and −); it
    only drifts the walk into k ≥ 0 where the expert is more random and r* is lower on average.  The
    drift's effect on the position grows like √H per unit of time, which gives Θ(H^{3/2}) in total.
    """
    positions = np.arange(-horizon, horizon + 1)
    transition = np.stack([np.minimum(positions + 1, horizon), np.maximum(positions - 1, -horizon), positions], 1)
    dynamics = AutomatonDynamics(transition + horizon, start=horizon)
    expert = np.where((positions >= 0)[:, None], WALK_HIGH_ENTROPY, WALK_LOW_ENTROPY)
    moved = expert[:, 0] * (np.exp(eps) - 1)
    learner = expert + np.stack([moved, -moved, np.zeros_like(moved)], 1)
    return any_expert_instance(repeat_level(expert, horizon), repeat_level(learner, horizon), alpha, dynamics)


def mode_swap_instance(horizon: int, alpha: float = 1.0, eps: float = 0.01) -> ImitationInstance:
    """One automaton state, V = 2: π^E = (p, 1−p) with log((1−p)/p) = ε, π̂ = (1−p, p); ε_π = ε.

    π^RL follows π̂'s mode (token 0), the expert's *less* likely token: RL gap = αH(1−p)ε exactly.
    """
    p = expit(-eps)
    return any_expert_instance(repeat_level([[p, 1 - p]], horizon), repeat_level([[1 - p, p]], horizon), alpha,
                               AutomatonDynamics(np.zeros((1, 2), dtype=np.int64)))


@lru_cache(maxsize=4)
def walk_gaps(horizons: tuple, eps: float = 0.01) -> dict:
    """{H: (BC gap, RL gap, ε_π)} of `walk_instance` (α = 0.3); cached, several claims share it."""
    gaps = {}
    for horizon in horizons:
        inst = walk_instance(horizon, eps=eps)
        gaps[horizon] = (inst.bc_gap(), inst.rl_gap(), inst.eps_pi)
    return gaps


# === Theorem 1 instances: given experts and NTP-trained learners ===================================
# Used by theory/bounds_thm1_claims.py and learned/irl_learned_claims.py, and by the random instances above.

def perturbed_expert_instance(rng: np.random.Generator, reward, alpha: float, noise: float) -> ImitationInstance:
    """An imitation instance at a given r*: π^E = soft-optimal(r*), f = α log π^E + U[−noise, noise] + c(s)
    (`random_imitation_instance` draws r* ~ U[0,1] and calls this).

    Lets a claim put chosen experts (uniform: r* = 0; near-deterministic; H = 1) next to the random ones."""
    vocab, horizon = reward[0].shape[1], len(reward)
    expert = soft_optimal(reward, alpha)[2]
    offsets = [rng.normal(size=(vocab**h, 1)) for h in range(horizon)]  # per-state shift: π̂ must not see it
    logits = [alpha * np.log(p) + n + c
              for p, n, c in zip(expert, random_levels(rng, vocab, horizon, -noise, noise), offsets, strict=True)]
    return ImitationInstance(reward, expert, logits, softmax_policy(logits, alpha), alpha)


def expert_demonstrations(rng: np.random.Generator, reward, n_demos: int, alpha: float = 1.0):
    """(π^E, tokens): the MaxEnt expert π^E = soft-optimal(r*) and ``n_demos`` responses (n, H) sampled from it.

    Draws from ``rng`` exactly as `sampled_ntp_instance` does after its reward draw."""
    vocab, horizon = reward[0].shape[1], len(reward)
    expert = soft_optimal(reward, alpha)[2]
    leaves = rng.choice(vocab**horizon, size=n_demos, p=state_distributions(expert)[-1])
    return expert, all_trajectories(vocab, horizon)[leaves]


def count_table_instance(reward, expert, tokens, alpha: float = 1.0, smoothing: float = 0.5) -> ImitationInstance:
    """The tabular NTP learner of `sampled_ntp_instance` on given responses: add-λ count ratios, f̂ = α log π̂."""
    learner = ntp_count_policy(tokens, expert[0].shape[1], smoothing)
    return ImitationInstance(reward, expert, [alpha * lp for lp in log_policy(learner)], learner, alpha)
