"""Ledger claims (ids ``avg.learned.*``): the average-reward claims of docs/sources/average_reward_paper.md checked on
*learned* models, the TinyGPT of learned/markov.py trained by NTP on samples of an order-2 chain p_h over V = 3 tokens,
then post-trained by on-policy average-reward RL (reward log p_h, or the entropy-regularised log p_h − log π).

Instances.  A claim ranges over human chains, each trained with several model seeds (`chain_family`):
* random softmax chains, logits N(0, 1)/τ with τ = 1, 0.5, 2 (quick; full: each twice), drawn from ``ctx.rng(7)``
  (7 was the fixed chain seed of the single-run ledger: at --seed 0 the first chain is that chain);
* two degenerate chains: the uniform p_h, where ρ(π) = −log V for every π (every policy maximises ρ, so the source
  statements hold there and no ρ criterion can fail: not informative), and a near-deterministic p_h (each row
  1 − ε on a token drawn from the same generator, ε/(V − 1) elsewhere, ε = 0.01), where ρ* − ρ(p_h) is 0.88 of a
  band.  Under for-all neither can turn a failing statement into a holding one.
* model seeds m·seed, …, m·seed + m − 1 (m = 3 quick, 4 full): --seed N also redraws the models.  A seed sets the
  initialisation, the NTP samples and the RL rollouts.  "quick" trains a 1-layer width-64 model (400 NTP steps of
  1024 pairs, 200 RL updates of 64 walkers × 16 steps), "full" a 2-layer one (1500 NTP steps of 2048 pairs, 600 RL
  updates of 128 walkers).  One torch thread: the same context gives bitwise the same numbers.

Quantifier: for-all chains (the source states its implications for any human text), on-average over model seeds:
each chain's value is the mean over its seeds with the Student-t 95% interval of that mean (core.intervals), and
the engine judges that interval.  The statements concern "the NTP model", the output of a stochastic procedure
whose target (p_h, ρ*) is deterministic; the seed-to-seed spread is estimation noise around it, and no source says
anything about the worst of several training runs.

Tolerances: one sampling band per profile (every number is exact given a learned table; the noise is in the table).
* KL_{μ_D}(p_h ‖ π) = E_{s~μ_D} KL(p_h(·|s) ‖ π(·|s)).  The maximum-likelihood table from N pairs has E KL ≈
  d/(2N), d = V**k (V − 1) free parameters (χ²_d/2N asymptotics).  Online Adam is less efficient: its last iterate
  measured 2.6-123 × d/(2N) (median 11) on 54 quick runs of the random chains (--seed 0-5 × 3 chains × 3 model
  seeds; above 100 only on τ = 0.5 draws with rows of probability 1e-4 and contexts of μ_D < 1e-3), so KL_TOL =
  300 d/(2N): a model is "at p_h" when its KL is within 300 times the sampling error of the best estimator from the
  same samples.  Checked afterwards on --seed 6-7 (18 runs): at most 128.  (The single-run ledger's 100 came from a
  pilot on 24 chains at 8-70×; τ = 0.5 draws exceed it, and the 3-seed intervals then straddle it.)
* ρ.  To first order ρ(π) − ρ(p_h) = g·δz (g = ∇_z ρ at z = log p_h) and KL = ½ Σ_s μ_D(s) δz_sᵀ F_s δz_s with
  F_s = diag(p_s) − p_s p_sᵀ; the largest |g·δz| on the ball KL ≤ KL_TOL is the band RHO_BAND = sqrt(2 KL_TOL
  Σ_{s,a} g_sa² / (μ_D(s) p_h(a|s))) (Σ_a g_sa = 0, so F_s⁺ g_s = g_s/p_s).  It differs per chain, so ρ criteria are
  stated in bands (tolerance 1): a ρ difference of more than one band is more than sampling error can explain.
* ρ_ent(π) = −E_{μ_π} KL(π ‖ p_h) equals −KL_{μ_D}(p_h ‖ π) to second order: tolerance KL_TOL.
* "RL did not stay at p_h" is judged on quantities that saturate, because KL_μD(p_h ‖ π) grows without bound as RL
  makes π deterministic (KL ~ log 1/π_min: 2.2-4.9 nats over the 3 seeds of one chain, a t-interval too wide to
  decide): the μ_D-weighted TV(π, p_h) = Σ_s μ_D(s) TV(π(·|s), p_h(·|s)) against TV_TOL = sqrt(KL_TOL/2) (by
  Pinsker per state and Jensen every π in the KL band has TV ≤ TV_TOL, so TV > TV_TOL certifies KL > KL_TOL), and
  ρ: a ρ change of more than one band certifies, to first order, that π left the KL band.

The entropy-regularised statement is claimed on the random and uniform chains only; the near-deterministic chain is
outside its domain and the detail reports its numbers: there REINFORCE's rare tokens are limited by the optimiser,
not by the band (pilot, 3 seeds each at RL learning rate 3e-3: the run left p_h by 4-1100 × 100 d/(2N) on ε = 0.01
and ε = 0.05 chains and on τ = 0.3 chains; at 1e-3 up to 1.3 KL_TOL on ε = 0.01 chains).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cache

import numpy as np

from core.intervals import t_interval
from core.ledger import Context, Criterion, Outcome, claim
from core.runio import torch_threads
from learned.markov import POLICIES, MarkovConfig, policy_metrics, run
from theory.average_reward import gradients, objective_values, optimal_average_reward
from theory.chains import on_policy_distribution, random_softmax_policy

SOURCE = "docs/sources/average_reward_paper.md"
CHAIN_STREAM = 7  # the old fixed chain seed
NEAR_DETERMINISTIC_EPSILON = 0.01
KL_BAND_FACTOR = 300  # KL_TOL = KL_BAND_FACTOR · d/(2N), see the module docstring
GAP_FRACTION = 0.5  # "moves toward the maximiser": RL closes at least half of ρ* − ρ(p_h)
RHO_ATOL = 1e-9  # ρ* − min_π ρ below this: ρ is constant in π (uniform p_h), no ρ criterion can fail
INTERVAL = "mean over model seeds, Student-t 95% interval (core.intervals.t_interval)"


@dataclass(frozen=True)
class Profile:
    """The model and schedules, the temperatures of the random chains, and the model seeds per chain."""

    model: MarkovConfig
    temperatures: tuple[float, ...]
    model_seeds: int


PROFILES = {  # quick: 15 runs, about 30 s on one core; full: 32 runs, about 4 min
    "quick": Profile(MarkovConfig(), (1.0, 0.5, 2.0), 3),
    "full": Profile(MarkovConfig(layers=2, ntp_steps=1500, ntp_sequences=64, rl_steps=600, rl_walkers=128),
                    (1.0, 0.5, 2.0) * 2, 4),
}


@dataclass(frozen=True)
class Chain:
    """One human chain of the family: its label, p_h, and whether it is the near-deterministic degenerate chain."""

    label: str
    p_human: np.ndarray
    near_deterministic: bool = False


def chain_family(ctx: Context) -> list[Chain]:
    """The random chains (one per temperature), the near-deterministic chain and the uniform chain."""
    rng, profile = ctx.rng(CHAIN_STREAM), PROFILES[ctx.profile]
    vocab, order = profile.model.vocab, profile.model.order
    chains = [Chain(f"random {index} tau={tau:g}", random_softmax_policy(rng, vocab, order, tau))
              for index, tau in enumerate(profile.temperatures)]
    peaked = np.full((vocab**order, vocab), NEAR_DETERMINISTIC_EPSILON / (vocab - 1))
    peaked[np.arange(vocab**order), rng.integers(0, vocab, vocab**order)] = 1 - NEAR_DETERMINISTIC_EPSILON
    return chains + [Chain(f"near-deterministic eps={NEAR_DETERMINISTIC_EPSILON:g}", peaked, True),
                     Chain("uniform", np.full((vocab**order, vocab), 1 / vocab))]


@dataclass(frozen=True)
class ChainMeasurement:
    """Exact references and bands of one chain, and the exact metrics of every model of every seed
    (``runs[i][name]`` = `learned.markov.policy_metrics` of model ``name`` of seed i)."""

    chain: Chain
    rho_human: float
    rho_star: float
    rho_varies: bool  # ρ* − min_π ρ > RHO_ATOL
    kl_tol: float
    rho_band: float
    runs: tuple[dict[str, dict[str, float]], ...]

    @property
    def tv_tol(self) -> float:
        """sqrt(KL_TOL/2): the largest μ_D-weighted TV(π, p_h) of a policy in the KL band (Pinsker + Jensen)."""
        return float(np.sqrt(self.kl_tol / 2))

    @property
    def gap_in_bands(self) -> float:
        """(ρ* − ρ(p_h)) / RHO_BAND: how far p_h is from a maximiser of ρ (0 where ρ is constant)."""
        return (self.rho_star - self.rho_human) / self.rho_band if self.rho_varies else 0.0

    def in_bands(self, rho_difference: float) -> float:
        """A ρ difference in units of RHO_BAND (0 where ρ is constant in π, and the criterion not informative)."""
        return rho_difference / self.rho_band if self.rho_varies else 0.0


def measure_chain(chain: Chain, policies: Sequence[dict[str, np.ndarray]], ntp_samples: int) -> ChainMeasurement:
    """The references, bands (module docstring) and per-seed metrics of given policy tables on ``chain``:
    the learned models, or planted tables in the tests."""
    p_human = chain.p_human
    kl_tol = KL_BAND_FACTOR * p_human.shape[0] * (p_human.shape[1] - 1) / (2 * ntp_samples)
    grad_rho = gradients(np.log(p_human), p_human)["average_reward"]
    fisher = float(np.sum(grad_rho**2 / (on_policy_distribution(p_human)[:, None] * p_human)))
    rho_star = optimal_average_reward(np.log(p_human))
    rho_min = -optimal_average_reward(-np.log(p_human))
    return ChainMeasurement(
        chain, objective_values(p_human, p_human)["average_reward"], rho_star, rho_star - rho_min > RHO_ATOL,
        kl_tol, float(np.sqrt(2 * kl_tol * fisher)),
        tuple({name: policy_metrics(table, p_human) for name, table in seed.items()} for seed in policies))


def train_family(chains: Sequence[Chain], cfg: MarkovConfig, model_seeds: Sequence[int]) -> list[ChainMeasurement]:
    """Train every (chain, model seed) pair with `learned.markov.run` on one torch thread and measure it."""
    measured = []
    for chain in chains:
        with torch_threads(1):
            results = [run(replace(cfg, seed=seed), chain.p_human) for seed in model_seeds]
        measured.append(measure_chain(chain, [{name: r[name]["policy"] for name in POLICIES} for r in results],
                                      results[0]["ntp_samples"]))
    return measured


@cache
def learned(profile: str, seed: int) -> tuple[ChainMeasurement, ...]:
    """The measured family of a context (cached: all five claims read one training sweep)."""
    size = PROFILES[profile].model_seeds
    return tuple(train_family(chain_family(Context(profile=profile, seed=seed)), PROFILES[profile].model,
                              range(size * seed, size * (seed + 1))))


def mean_interval(values: Sequence[float]) -> tuple[float, float, float]:
    """(mean, low, high) over model seeds: the t-interval, a point when every seed gave the same number."""
    values = np.asarray(values, dtype=np.float64)
    return t_interval(values) if np.ptp(values) > 0 else (float(values.mean()),) * 3


PerSeed = Callable[[ChainMeasurement, dict[str, dict[str, float]]], float]


def seed_means(chains: Sequence[ChainMeasurement], per_seed: PerSeed) -> list[tuple[float, float, float]]:
    """Per chain, `mean_interval` of ``per_seed(chain, run)`` over its model seeds."""
    return [mean_interval([per_seed(chain, seed_run) for seed_run in chain.runs]) for chain in chains]


def over_seeds(name: str, chains: Sequence[ChainMeasurement], per_seed: PerSeed, tolerance: float,
               direction: str = "<=", informative: Callable[[ChainMeasurement], bool] | None = None) -> Criterion:
    """One instance per chain: the mean of ``per_seed(chain, run)`` over its model seeds with its t-interval."""
    stats = seed_means(chains, per_seed)
    return Criterion(name, [s[0] for s in stats], tolerance, direction, low=[s[1] for s in stats],
                     high=[s[2] for s in stats], interval=INTERVAL, labels=[c.chain.label for c in chains],
                     informative=None if informative is None else [informative(c) for c in chains])


def rho_varies(chain: ChainMeasurement) -> bool:
    """A ρ criterion can fail on this chain (ρ is not constant in π)."""
    return chain.rho_varies


def not_near_deterministic(chain: ChainMeasurement) -> bool:
    """In the entropy-regularised statement's domain."""
    return not chain.chain.near_deterministic


def leaves_room(chain: ChainMeasurement) -> bool:
    """The moves-away statement's hypothesis: p_h is more than one band below ρ* (RL has somewhere to go)."""
    return chain.gap_in_bands > 1


def per_chain(criterion: Criterion) -> str:
    """'label mean [low, high]' for every chain of a criterion, marking the instances left out."""
    return "; ".join(
        f"{label} {value:.3g} [{low:.3g}, {high:.3g}]" + ("" if informative else " (not informative)")
        for label, value, low, high, informative in zip(criterion.labels, criterion.value, criterion.low,
                                                        criterion.high, criterion.informative, strict=True))


def seed_means_text(chains: Sequence[ChainMeasurement], per_seed: PerSeed) -> str:
    """'label mean [low, high]' for every chain of a reported (not judged) quantity."""
    return "; ".join(f"{c.chain.label} {mean:.3g} [{low:.3g}, {high:.3g}]"
                     for c, (mean, low, high) in zip(chains, seed_means(chains, per_seed), strict=True))


def kl_text(chains: Sequence[ChainMeasurement]) -> str:
    """The tolerance bands of the family as text."""
    return (f"KL_TOL = {chains[0].kl_tol:.3g} = {KL_BAND_FACTOR} d/(2N), TV_TOL = {chains[0].tv_tol:.3g}; "
            "RHO_BAND per chain "
            + ", ".join(f"{c.chain.label} {c.rho_band:.3g} (ρ* − ρ(p_h) = {c.gap_in_bands:.3g} bands)" for c in chains)
            + f"; {len(chains[0].runs)} model seeds per chain")


def runs_table(chains: Sequence[ChainMeasurement]) -> list[dict]:
    """One row per (chain, model seed): the exact KL, ρ, ρ_ent and modal mass of every model."""
    rows = []
    for chain in chains:
        for index, seed_run in enumerate(chain.runs):
            row = {"chain": chain.chain.label, "seed_index": index, "rho_human": chain.rho_human,
                   "rho_star": chain.rho_star, "rho_band": chain.rho_band, "kl_tol": chain.kl_tol}
            for name, metrics in seed_run.items():
                row |= {f"{name}_{key}": float(value) for key, value in metrics.items()}
            rows.append(row)
    return rows


def outcome(criteria: list[Criterion], chains: Sequence[ChainMeasurement], detail: str) -> Outcome:
    """The claim's outcome: its criteria, the family's references and bands, the per-run table."""
    measured = {"kl_tol": chains[0].kl_tol, "tv_tol": chains[0].tv_tol, "model_seeds": len(chains[0].runs),
                "chains": {c.chain.label: {"rho_human": c.rho_human, "rho_star": c.rho_star, "rho_band": c.rho_band,
                                           "gap_in_bands": c.gap_in_bands} for c in chains}}
    return Outcome(criteria, measured=measured, detail=f"{detail}. {kl_text(chains)}.",
                   tables={"runs": runs_table(chains)})


def judge_ntp_model_maximises(chains: Sequence[ChainMeasurement]) -> Outcome:
    shortfall = over_seeds("rho_star_minus_rho_ntp_in_bands", chains,
                           lambda c, r: c.in_bands(c.rho_star - r["ntp"]["rho"]), 1.0, informative=rho_varies)
    rl_gain = over_seeds("rho_rl_minus_rho_ntp_in_bands", chains,
                         lambda c, r: c.in_bands(r["rl"]["rho"] - r["ntp"]["rho"]), 1.0, informative=rho_varies)
    return outcome([shortfall, rl_gain], chains,
                   f"ρ* − ρ(π_NTP) in bands: {per_chain(shortfall)}. RL on log p_h from the NTP model raised ρ by "
                   f"(bands) {per_chain(rl_gain)}")


@claim(
    id="avg.learned.ntp_model_maximises_average_reward", kind="source", quantifier="for-all",
    source=f"{SOURCE} §3.2 Theorem + §3.3 implication 1",
    statement="A model trained by NTP on human text maximises the average reward with r = log p_h: no policy, "
              "and in particular no RL fine-tuning on that reward, does better than the NTP-trained model.",
    check="For every chain (random τ = 1, 0.5, 2, near-deterministic, uniform), the mean over model seeds of "
          "(ρ* − ρ(π_NTP)) / RHO_BAND ≤ 1 (primary; ρ* exact, Karp's max cycle mean; RHO_BAND the ρ shift the NTP "
          "sampling band can explain), and of (ρ(π_RL) − ρ(π_NTP)) / RHO_BAND ≤ 1 after average-reward RL from the "
          "NTP model; t-intervals over seeds; chains where ρ is constant in π (uniform) are not informative.",
)
def ntp_model_maximises(ctx: Context) -> Outcome:
    return judge_ntp_model_maximises(learned(ctx.profile, ctx.seed))


def judge_rl_converges_to_human(chains: Sequence[ChainMeasurement]) -> Outcome:
    tv = over_seeds("tv_to_human_after_rl", chains, lambda c, r: r["rl"]["tv_policy_to_human"], chains[0].tv_tol)
    kl = over_seeds("kl_data_after_rl", chains, lambda c, r: r["rl"]["kl_data"], chains[0].kl_tol)
    modal_mass = seed_means_text(chains, lambda c, r: r["rl"]["modal_mass"])
    return outcome([tv, kl], chains, f"μ_D-weighted TV(π_RL, p_h) after RL on log p_h: {per_chain(tv)}; "
                                     f"KL_μD(p_h ‖ π_RL): {per_chain(kl)}; on-policy modal mass: {modal_mass}")


@claim(
    id="avg.learned.rl_average_reward_converges_to_human", kind="source", quantifier="for-all",
    source=f"{SOURCE} §3.3 implication 1",
    statement="Optimising the average reward with r = log p_h converges to human behaviour: on-policy average-reward "
              "RL started from the NTP model stays at p_h.",
    check="For every chain, means over model seeds with t-intervals, after RL on r = log p_h: μ_D-weighted "
          "TV(π_RL, p_h) ≤ TV_TOL = sqrt(KL_TOL/2) (primary: above it, KL_μD(p_h ‖ π_RL) > KL_TOL by Pinsker), and "
          "KL_μD(p_h ‖ π_RL) ≤ KL_TOL = 300 d/(2N) (the NTP sampling band).",
)
def rl_converges_to_human(ctx: Context) -> Outcome:
    return judge_rl_converges_to_human(learned(ctx.profile, ctx.seed))


def judge_ntp_model_approaches_human(chains: Sequence[ChainMeasurement]) -> Outcome:
    kl_tol = chains[0].kl_tol
    kl = over_seeds("kl_data_ntp_model", chains, lambda c, r: r["ntp"]["kl_data"], kl_tol)
    rho = over_seeds("abs_rho_ntp_minus_rho_human_in_bands", chains,
                     lambda c, r: c.in_bands(abs(r["ntp"]["rho"] - c.rho_human)), 1.0, informative=rho_varies)
    rho_ent = over_seeds("minus_rho_ent_ntp_model", chains, lambda c, r: -r["ntp"]["rho_ent"], kl_tol)
    initial = seed_means_text(chains, lambda c, r: r["initial"]["kl_data"])
    return outcome([kl, rho, rho_ent], chains,
                   f"KL_μD(p_h ‖ π_NTP): {per_chain(kl)} (at initialisation {initial}). "
                   f"|ρ(π_NTP) − ρ(p_h)| in bands: {per_chain(rho)}. −ρ_ent(π_NTP): {per_chain(rho_ent)}")


@claim(
    id="avg.learned.ntp_model_approaches_human", kind="derived", quantifier="for-all",
    source=f"{SOURCE} §3.3 implication 1 (the part NTP supports)",
    statement="SGD on NTP with fresh samples of p_h approaches p_h: KL_μD(p_h ‖ π_NTP) within the sampling band, "
              "hence ρ(π_NTP) ≈ ρ(p_h) and ρ_ent(π_NTP) ≈ 0 = max ρ_ent.",
    check="Means over model seeds with t-intervals, per chain: KL ≤ KL_TOL = 300 d/(2N) (primary); "
          "|ρ(π_NTP) − ρ(p_h)| / RHO_BAND ≤ 1 (not informative where ρ is constant); −ρ_ent(π_NTP) ≤ KL_TOL.",
)
def ntp_model_approaches_human(ctx: Context) -> Outcome:
    return judge_ntp_model_approaches_human(learned(ctx.profile, ctx.seed))


def judge_rl_moves_away(chains: Sequence[ChainMeasurement]) -> Outcome:
    gain = over_seeds("rho_rl_minus_rho_human_in_bands", chains, lambda c, r: c.in_bands(r["rl"]["rho"] - c.rho_human),
                      1.0, ">=", informative=leaves_room)
    fraction = over_seeds("fraction_of_gap_to_rho_star", chains,
                          lambda c, r: (r["rl"]["rho"] - c.rho_human) / (c.rho_star - c.rho_human) if c.rho_varies
                          else 0.0, GAP_FRACTION, ">=", informative=leaves_room)
    modal_mass = seed_means_text(chains, lambda c, r: r["rl"]["modal_mass"])
    tv = seed_means_text(chains, lambda c, r: r["rl"]["tv_policy_to_human"])
    kl = seed_means_text(chains, lambda c, r: r["rl"]["kl_data"])
    return outcome([gain, fraction], chains,
                   f"ρ(π_RL) − ρ(p_h) in bands: {per_chain(gain)}. μ_D-weighted TV(π_RL, p_h): {tv} "
                   f"(KL_μD(p_h ‖ π_RL): {kl}). Fraction of "
                   f"ρ* − ρ(p_h) closed: {per_chain(fraction)}. On-policy modal mass: {modal_mass}")


@claim(
    id="avg.learned.rl_log_p_h_moves_away_from_human", kind="derived", quantifier="for-all",
    source=f"{SOURCE} §3.3 implication 1 (nearest true statement)",
    statement="On chains where p_h is more than one band below ρ*, on-policy RL on r = log p_h alone, started from "
              "the NTP model, raises ρ above ρ(p_h), hence leaves p_h, toward a deterministic maximiser of ρ "
              "(ρ → ρ*, on-policy modal mass → 1).",
    check="Means over model seeds with t-intervals, per chain: (ρ(π_RL) − ρ(p_h)) / RHO_BAND ≥ 1 (primary; more "
          "than the band certifies, to first order, that π_RL left the KL band of p_h); (ρ(π_RL) − ρ(p_h)) / "
          "(ρ* − ρ(p_h)) ≥ 0.5 (more than halfway to the exact optimum).  Chains with ρ* − ρ(p_h) ≤ one band "
          "(uniform, usually the near-deterministic one) are not informative; TV, KL and modal mass are reported.",
)
def rl_moves_away(ctx: Context) -> Outcome:
    return judge_rl_moves_away(learned(ctx.profile, ctx.seed))


def judge_rl_entropy_stays(chains: Sequence[ChainMeasurement]) -> Outcome:
    kl_tol = chains[0].kl_tol
    kl = over_seeds("kl_data_after_rl_entropy", chains, lambda c, r: r["rl_entropy"]["kl_data"], kl_tol,
                    informative=not_near_deterministic)
    rho_ent = over_seeds("minus_rho_ent_after_rl_entropy", chains, lambda c, r: -r["rl_entropy"]["rho_ent"], kl_tol,
                         informative=not_near_deterministic)
    rho = over_seeds("abs_rho_minus_rho_human_in_bands", chains,
                     lambda c, r: c.in_bands(abs(r["rl_entropy"]["rho"] - c.rho_human)), 1.0,
                     informative=lambda c: not_near_deterministic(c) and rho_varies(c))
    start = seed_means_text(chains, lambda c, r: r["ntp"]["kl_data"])
    return outcome([kl, rho_ent, rho], chains,
                   f"KL_μD(p_h ‖ π) after RL on log p_h − log π: {per_chain(kl)}, from the NTP model's "
                   f"{start}. −ρ_ent: {per_chain(rho_ent)}. |ρ − ρ(p_h)| in bands: {per_chain(rho)}")


@claim(
    id="avg.learned.rl_entropy_regularised_stays_at_human", kind="derived", quantifier="for-all",
    source=f"{SOURCE} §3.2 (nearest true statement: reward log p_h − log π)",
    statement="On chains that are not near-deterministic (the random and uniform ones), on-policy RL on the "
              "entropy-regularised reward log p_h − log π, started from the NTP model, stays at p_h: KL_μD(p_h ‖ π) "
              "within the NTP sampling band and ρ_ent ≈ 0 = its maximum.",
    check="Means over model seeds with t-intervals, per chain: KL_μD(p_h ‖ π_RL,ent) ≤ KL_TOL (primary); "
          "−ρ_ent ≤ KL_TOL; |ρ(π_RL,ent) − ρ(p_h)| / RHO_BAND ≤ 1 (not informative where ρ is constant).",
)
def rl_entropy_stays(ctx: Context) -> Outcome:
    return judge_rl_entropy_stays(learned(ctx.profile, ctx.seed))
