"""Theorem 2 of "Generalist Reward Models" (arXiv 2506.23235) at finite data: BC from n demonstrations vs RL on r̂.

Paper object: Theorem 2 (§3.2), V^{r*}(π^E) − V^{r*}(π̂) ≲ H²ε_π for behaviour cloning (NTP, eq. (2)) and
V^{r*}(π^E) − V^{r*}(π^RL) ≲ Hε_π for π^RL = argmax_π V^{r̂}, r̂ the endogenous reward (eq. (11)) of π̂'s logits,
ε_π = max_{h,s,a} |log π^E(a|s) − log π̂(a|s)| (explicit constants: theory/error_bounds.py).  The theorem is stated
for a given ε_π; here π̂ is what NTP makes from n expert demonstrations, and the gaps are measured against H.

The pipeline per (instance, H, n), all exact given the demonstrations:

1. an instance (r* ∈ [0, 1] on a finite automaton, α) from one of `FAMILIES`, its soft-optimal expert π^E
   (theory/soft_rl.soft_optimal, eq. (9));
2. n responses sampled from π^E (`sample_responses`);
3. BC: the NTP optimum of a logit table indexed by (step h, automaton state q), add-λ smoothed
   (`automaton_count_policy`: the smoothing of soft_rl.ntp_count_policy, λ = 0.5 as in
   error_bounds.count_table_instance).  π^E is (h, q)-measurable, so the table is well specified; it is the
   count table of soft_rl.ntp_count_policy with prefixes merged by automaton state (checked against it on a tree
   in tests/test_thm2_finite_data.py);
4. Theorem 2's readings, reused from theory/error_bounds.ImitationInstance with f̂ = α log π̂: ``bc_gap`` =
   V^{r*}(π^E) − V^{r*}(π̂), ``rl_gap`` = V^{r*}(π^E) − V^{r*}(π^RL), π^RL the unregularised optimum of r̂(f̂) (ties
   to the lowest token, theory/soft_rl.greedy_optimal); the bounds by name from theory/bounds_thm2_claims.THM2_BOUNDS.

Next to the gaps, per run: the error the theorem uses, ε_π over the *reachable* (h, q) (automaton rows that no
prefix reaches are not states of the token MDP), in log space (log π^E = (Q − V)/α, so an expert probability that
underflows in float64 still has its finite log); ε_π over the visited (h, q) only; whether the maximum-likelihood
table (λ = 0, the unique NTP optimum on visited states) has ε_π = ∞ (a visited state with an unseen token);
whether each Theorem 2 bound is vacuous (≥ H, the range of a return of r ∈ [0, 1]); and the on-distribution error
NTP controls: KL_traj = Σ_h E_{q∼d_h^{π^E}} KL(π^E(·|h,q) ‖ π̂(·|h,q)) = H × the expected excess log-loss per token,
and the per-step TV error under the expert's state law (Ross & Bagnell's ε).

The RL "regret" J(π*) − J(π^RL), π* the unregularised optimum of r*, is reported next to the RL gap: on
deterministic dynamics the mode of π^E is π* (Σ_h r* = α log π^E(τ) + V*(s_1)), so π* is π^RL at n = ∞, the regret is
RL's finite-data excess over its own limit (as the BC gap is BC's), it is ≥ 0 and ≥ the RL gap (J(π^E) ≤ J(π*)).

`measure_learner` measures any (h, q) policy fitted to a `Demonstrations`; the tiny-GPT arm (learned/thm2_gpt.py,
H ≤ 64: training cost) reuses it for the GPT's (h, q) read-out next to the count table on the same demonstrations.

Departures: the prompt is the start state; the learner here is tabular in (h, q), not in the prefix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory.bounds_thm2_claims import THM2_BOUNDS
from theory.error_bounds import ImitationInstance, cliff_profile_instance
from theory.soft_rl import AutomatonDynamics, greedy_optimal, soft_optimal, state_distributions
from theory.worst_case_search import RandomAutomatonFamily, WalkFamily

SMOOTHING = 0.5  # add-λ of error_bounds.count_table_instance (the MAP of a Dirichlet(λ) prior)
LOG_ALPHA_RANGE = (np.log(0.1), np.log(1.0))  # α log-uniform: r* ∈ [0,1] still moves π^E (α ≫ 1 makes it uniform)
ROUND_OFF = 1e-9  # per unit of H: a regret below it is float64 round-off of two sums of H rewards ≤ 1


@dataclass(frozen=True)
class Grid:
    """The measured grid of one profile."""

    horizons: tuple[int, ...]  # H, a geometric grid (the exponent is fitted on H >= FIT_FROM)
    demo_counts: tuple[int, ...]  # n, the number of expert demonstrations
    instances: int  # instance draws per family (seeds: each with its own demonstrations at every (H, n))


GRIDS = {"quick": Grid((8, 16, 32, 64, 128, 256), (10, 100, 1000), 5),
         "full": Grid((8, 16, 32, 64, 128, 256, 512, 1024), (10, 100, 1000, 10_000), 8)}


class SoftCliffFamily:
    """The Ross-Bagnell cliff of theory/error_bounds.cliff_profile_instance (state 0 on the path, 1 fallen off; token
    0 earns 1 on the path, everything else 0) with the soft expert of temperature α: an absorbing automaton."""

    name = "soft cliff"

    def draw(self, rng: np.random.Generator, horizon: int) -> dict:
        return {"log_alpha": float(rng.uniform(*LOG_ALPHA_RANGE))}

    def build(self, params: dict, horizon: int):
        cliff = cliff_profile_instance(np.zeros(horizon))
        return cliff.reward, float(np.exp(params["log_alpha"])), cliff.dynamics


class FixedTemperatureWalkFamily(WalkFamily):
    """theory/worst_case_search.WalkFamily with α fixed across H (the search scales it as a·√H to keep π^E's shape;
    here H is the variable of Theorem 2 at fixed α, whose RL bound 2αHε_π would otherwise grow like H^{3/2})."""

    def build(self, params: dict, horizon: int):
        reward, _, dynamics = super().build(params, horizon)
        return reward, float(np.exp(params["log_alpha"])), dynamics


FAMILIES = (SoftCliffFamily(), FixedTemperatureWalkFamily(), RandomAutomatonFamily())


def draw_instance(family, rng: np.random.Generator) -> dict:
    """Parameters of one instance: the family's own draw with α redrawn from LOG_ALPHA_RANGE (the search's range
    reaches α = 1000, where π^E is uniform to within 1/α and every gap is ≈ 0)."""
    return family.draw(rng, 0) | {"log_alpha": float(rng.uniform(*LOG_ALPHA_RANGE))}


def inverse_cdf(rng: np.random.Generator, probabilities: np.ndarray) -> np.ndarray:
    """One token per row of the (n, V) ``probabilities``, by inverse-CDF sampling."""
    # min(·, V−1): a uniform above the round-off-shortened last cumulative value still picks the last token
    chosen = (rng.random(len(probabilities))[:, None] > probabilities.cumsum(axis=1)).sum(axis=1)
    return np.minimum(chosen, probabilities.shape[1] - 1)


def sample_responses(rng: np.random.Generator, policy_levels, dynamics: AutomatonDynamics, n: int):
    """(states, tokens), both (n, H): n responses of the policy from the start state, by inverse-CDF sampling."""
    horizon = len(policy_levels)
    states = np.empty((n, horizon), dtype=np.int64)
    tokens = np.empty((n, horizon), dtype=np.int64)
    current = np.full(n, dynamics.start)
    for h, level in enumerate(policy_levels):
        states[:, h] = current
        tokens[:, h] = inverse_cdf(rng, level[current])
        current = dynamics.transition[current, tokens[:, h]]
    return states, tokens


def automaton_counts(states: np.ndarray, tokens: np.ndarray, dynamics: AutomatonDynamics) -> list[np.ndarray]:
    """n(h, q, a): how often the demonstrations emit token a in automaton state q at step h; level h is (Q, V)."""
    n_states, vocab = dynamics.transition.shape
    return [np.bincount(states[:, h] * vocab + tokens[:, h], minlength=n_states * vocab).reshape(n_states, vocab)
            .astype(np.float64) for h in range(states.shape[1])]


def automaton_count_policy(counts, smoothing: float = SMOOTHING) -> list[np.ndarray]:
    """π̂(a|h,q) = (n(h,q,a) + λ)/(n(h,q) + Vλ), uniform where n(h,q) + λ = 0 (soft_rl.ntp_count_policy's rule)."""
    padded = [c + smoothing + (c.sum(axis=1, keepdims=True) + smoothing == 0) for c in counts]
    return [p / p.sum(axis=1, keepdims=True) for p in padded]


def reachable_states(dynamics: AutomatonDynamics, horizon: int) -> list[np.ndarray]:
    """Boolean (Q,) mask per step h < H of the automaton states some prefix of length h reaches."""
    mask = [dynamics.initial() > 0]
    for _ in range(horizon - 1):
        mask.append(np.isin(np.arange(len(mask[0])), dynamics.transition[mask[-1]]))
    return mask


@dataclass(frozen=True)
class Demonstrations:
    """One (instance, H, n): the task, its soft expert π^E (Q and V levels kept for log π^E in log space) and n
    responses sampled from π^E, with the automaton states they pass through."""

    family: str
    instance: int
    alpha: float
    reward: list
    dynamics: AutomatonDynamics
    q_levels: list
    soft_values: list
    expert: list
    states: np.ndarray  # (n, H)
    tokens: np.ndarray  # (n, H)

    @property
    def horizon(self) -> int:
        return self.tokens.shape[1]

    @property
    def n_demos(self) -> int:
        return self.tokens.shape[0]

    def log_expert(self) -> list[np.ndarray]:
        """log π^E(a|h,q) = (Q − V)/α per level, finite where π^E underflows."""
        return [(q - v[:, None]) / self.alpha for q, v in zip(self.q_levels, self.soft_values, strict=True)]

    def counts(self) -> list[np.ndarray]:
        return automaton_counts(self.states, self.tokens, self.dynamics)


def demonstrate(family, params: dict, index: int, horizon: int, n_demos: int,
                rng: np.random.Generator) -> Demonstrations:
    """Build the instance at H and sample n demonstrations of its soft expert from ``rng``."""
    reward, alpha, dynamics = family.build(params, horizon)
    q_levels, soft_values, expert = soft_optimal(reward, alpha, dynamics)
    states, tokens = sample_responses(rng, expert, dynamics, n_demos)
    return Demonstrations(family.name, index, alpha, reward, dynamics, q_levels, soft_values[:horizon], expert,
                          states, tokens)


@dataclass(frozen=True)
class FiniteDataRun:
    """One (instance, H, n): Theorem 2's gaps of an (h, q) learner and of RL on its r̂, ε_π, and the error NTP
    controls."""

    family: str
    instance: int
    horizon: int
    n_demos: int
    alpha: float
    bc_gap: float  # V^{r*}(π^E) − V^{r*}(π̂)
    rl_gap: float  # V^{r*}(π^E) − V^{r*}(π^RL)
    rl_regret: float  # V^{r*}(π*) − V^{r*}(π^RL) ≥ 0
    expert_shortfall: float  # V^{r*}(π*) − V^{r*}(π^E) ≥ 0: what the soft expert spends on entropy
    eps_pi: float  # sup over reachable (h, q, a) of |log π^E − log π̂|
    eps_pi_visited: float  # the same over visited (h, q) only
    mle_eps_infinite: bool  # the λ = 0 table has a zero on a visited state, so its ε_π is +∞
    unvisited_fraction: float  # reachable (h, q) never visited by the demonstrations / reachable (h, q)
    kl_per_token: float  # (1/H) Σ_h E_{d_h^{π^E}} KL(π^E ‖ π̂): the expected excess NTP log-loss per token
    tv_per_step: float  # (1/H) Σ_h E_{d_h^{π^E}} TV(π^E, π̂): Ross & Bagnell's per-step error

    @property
    def bc_bound_vacuous(self) -> bool:
        """H(H+1)/2·tanh(ε_π/2) ≥ H: Theorem 2's BC bound cannot fail for returns of r ∈ [0, 1]."""
        return THM2_BOUNDS["H(H+1)/2·tanh(ε_π/2)"](self.horizon, self.eps_pi, self.alpha) >= self.horizon

    @property
    def rl_bound_vacuous(self) -> bool:
        """2αHε_π ≥ H: Theorem 2's RL bound cannot fail."""
        return THM2_BOUNDS["2αHε_π"](self.horizon, self.eps_pi, self.alpha) >= self.horizon


def measure_learner(demos: Demonstrations, learner: list[np.ndarray]) -> FiniteDataRun:
    """Everything in `FiniteDataRun` for the (h, q) policy ``learner`` (levels (Q, V), full support) fitted to
    ``demos``: exact given the learner."""
    horizon, alpha, dynamics, expert = demos.horizon, demos.alpha, demos.dynamics, demos.expert
    inst = ImitationInstance(demos.reward, expert, [alpha * np.log(p) for p in learner], learner, alpha, dynamics)
    best = float(greedy_optimal(demos.reward, dynamics)[1][0] @ dynamics.initial())
    expert_value = inst.expert_value()
    rl_gap = inst.rl_gap()
    regret = rl_gap + best - expert_value
    regret = 0.0 if abs(regret) <= ROUND_OFF * horizon else regret  # π^RL = π*: only float64 sums differ

    log_expert = demos.log_expert()
    log_ratio = [np.abs(le - np.log(p)) for le, p in zip(log_expert, learner, strict=True)]
    reachable = reachable_states(dynamics, horizon)
    counts = demos.counts()
    visited = [c.sum(axis=1) > 0 for c in counts]
    expert_law = state_distributions(expert, dynamics)[:horizon]
    kl = sum(float(d @ (p * (le - np.log(lp))).sum(axis=1))
             for d, p, le, lp in zip(expert_law, expert, log_expert, learner, strict=True))
    tv = sum(float(d @ np.abs(p - lp).sum(axis=1)) / 2 for d, p, lp in zip(expert_law, expert, learner, strict=True))
    return FiniteDataRun(
        demos.family, demos.instance, horizon, demos.n_demos, alpha, inst.bc_gap(), rl_gap, regret,
        best - expert_value,
        eps_pi=max(float(r[m].max(initial=0.0)) for r, m in zip(log_ratio, reachable, strict=True)),
        eps_pi_visited=max(float(r[m].max(initial=0.0)) for r, m in zip(log_ratio, visited, strict=True)),
        mle_eps_infinite=any(bool((c[m] == 0).any()) for c, m in zip(counts, visited, strict=True)),
        unvisited_fraction=sum(int((m & ~v).sum()) for m, v in zip(reachable, visited, strict=True))
        / sum(int(m.sum()) for m in reachable),
        kl_per_token=kl / horizon, tv_per_step=tv / horizon)


def measure_run(family, params: dict, index: int, horizon: int, n_demos: int, rng: np.random.Generator,
                smoothing: float = SMOOTHING) -> FiniteDataRun:
    """Build the instance at H, sample n demonstrations, fit the count table, and measure it (`measure_learner`)."""
    demos = demonstrate(family, params, index, horizon, n_demos, rng)
    return measure_learner(demos, automaton_count_policy(demos.counts(), smoothing))


def measure_grid(grid: Grid, instance_rng: np.random.Generator, demo_rng: np.random.Generator,
                 families=FAMILIES) -> list[FiniteDataRun]:
    """Every family × instance draw × H × n of ``grid``: instances from ``instance_rng``, demonstrations from
    ``demo_rng`` (fresh ones at every (H, n), so seeds and horizons are independent draws)."""
    runs = []
    for family in families:
        for index in range(grid.instances):
            params = draw_instance(family, instance_rng)
            for horizon in grid.horizons:
                for n_demos in grid.demo_counts:
                    runs.append(measure_run(family, params, index, horizon, n_demos, demo_rng))
    return runs
