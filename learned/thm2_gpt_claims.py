"""Generalist Reward Models (arXiv 2506.23235), Theorem 2 at finite data with a tiny GPT (``bounds.thm2_gpt_*``).

The GPT arm of learned/thm2_finite_data_claims.py: π̂ is a TinyGPT trained by NTP on n expert demonstrations
(learned/thm2_gpt.py), next to the count table refitted to the same demonstrations.  Two claims:

* ``bounds.thm2_gpt_bc_exponent``: the count-table claim's reading (BC gap ∝ H²) for the GPT, whose BC gap is
  measured prefix by prefix by Monte Carlo.  Exponents as in thm2_finite_data_claims (log of the instance-mean gap
  on log H, union of the slope's t-interval and the bootstrap over instances) but over every H of the grid
  (H ≥ ``H_MIN`` = 8): the GPT's grid stops at H = 32 (quick) / 64 (full), see learned/thm2_gpt.py for the cost.
  The count table and the GPT's (h, q) read-out are fitted on the same runs and H range (table ``exponents``).
* ``bounds.thm2_gpt_bc_log_loss_bound``: the nearest true statement, |BC gap| ≤ H·√(KL_traj/2) with KL_traj the
  GPT's own on-distribution error; it needs no (h, q)-measurability and no sup over unvisited prefixes.  Next to
  it the error Theorem 2 uses: the GPT's ε_π (a lower bound: read-out ∪ the expert's sampled prefixes; exact over
  every prefix where the tree is enumerated) and how often it makes 2αHε_π ≥ H, beside the count table's.

Sampling: instances from ``ctx.rng(INSTANCE_STREAM)``, demonstrations and Monte Carlo responses from
``ctx.rng(DEMO_STREAM)``, GPT initialisation seeds from ``ctx.rng(MODEL_SEED_STREAM)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from functools import lru_cache

import numpy as np

from core.intervals import t_interval
from core.ledger import Context, Criterion, Outcome, claim
from learned.thm2_finite_data_claims import (
    SOURCE,
    Exponent,
    bootstrap_rng,
    exponent_criterion,
    exponents,
    listing,
    mean_rows,
)
from learned.thm2_gpt import GPT_GRIDS, TRAINING, GPTRun, measure_gpt_grid
from theory.bounds_thm2_claims import RATE_SLACK

INSTANCE_STREAM, DEMO_STREAM, MODEL_SEED_STREAM = 1311, 1312, 1313
H_MIN = 8  # exponents over every H of the GPT's grid
LEARNERS = ("GPT", "GPT read-out", "count table")
MC_INTERVAL = ("95% intervals over the Monte Carlo responses: t for the gap (responses of the GPT), percentile "
               "bootstrap for the KL (fresh expert responses), combined by interval arithmetic (joint coverage ≥ 90%)")


@lru_cache(maxsize=2)
def gpt_runs(profile: str, seed: int) -> tuple[GPTRun, ...]:
    """Every run of the profile's GPT grid at this instance seed (cached: both claims share it)."""
    ctx = Context(profile, seed)
    return tuple(measure_gpt_grid(GPT_GRIDS[profile], ctx.rng(INSTANCE_STREAM), ctx.rng(DEMO_STREAM),
                                  ctx.rng(MODEL_SEED_STREAM)))


def learner_runs(runs: Sequence[GPTRun], learner: str) -> list:
    """The runs as seen by one learner: the GPT itself (Monte Carlo gap), its (h, q) read-out, the count table."""
    return list(runs) if learner == "GPT" else [r.readout if learner == "GPT read-out" else r.table for r in runs]


def eps_lower_bound(run: GPTRun) -> float:
    """A lower bound on the GPT's sup over reachable prefixes (exact where the tree was enumerated)."""
    return run.tree_eps_pi if np.isfinite(run.tree_eps_pi) else max(run.readout.eps_pi, run.eps_pi_expert_prefixes)


def rl_bound_vacuous(run: GPTRun, eps: float) -> bool:
    return 2 * run.alpha * run.horizon * eps >= run.horizon


# --- tables ----------------------------------------------------------------------------------------------------

def learner_exponents(runs: Sequence[GPTRun]) -> dict[tuple[str, str], list[Exponent]]:
    """(learner, quantity) -> exponents per (family, n) over H ≥ H_MIN: the BC gap of every learner, the RL-on-r̂
    regret of the read-out and the table (the GPT's own RL optimum is its sequence mode: enumerated trees only)."""
    return {(learner, key): exponents(learner_runs(runs, learner), key, bootstrap_rng(), H_MIN)
            for learner in LEARNERS for key in ("bc_gap", "rl_regret") if (learner, key) != ("GPT", "rl_regret")}


def gpt_mean_rows(runs: Sequence[GPTRun]) -> list[dict]:
    """Table ``gpt_by_horizon``: per (family, n, H) the GPT measured prefix by prefix: instance mean of the Monte
    Carlo BC gap (t over instances), medians of KL per token, ε_π bounds and measurability, vacuous fractions."""
    rows = []
    for key in dict.fromkeys((r.family, r.n_demos, r.horizon) for r in runs):
        chosen = [r for r in runs if (r.family, r.n_demos, r.horizon) == key]
        gaps = [r.bc_gap for r in chosen]
        mean, low, high = t_interval(gaps) if len(gaps) > 1 and np.ptp(gaps) > 0 else (gaps[0],) * 3
        row = {"family": key[0], "n_demos": key[1], "H": key[2], "instances": len(chosen), "bc_gap": mean,
               "bc_gap_low": low, "bc_gap_high": high,
               "tree_bc_gap": float(np.mean([r.tree_bc_gap for r in chosen])),
               "tree_rl_gap": float(np.mean([r.tree_rl_gap for r in chosen]))}
        for name in ("kl_per_token", "eps_pi_expert_prefixes", "tree_eps_pi", "readout_log_defect", "readout_tv"):
            row[name] = float(np.median([getattr(r, name) for r in chosen]))
        row |= {"eps_pi_lower_bound": float(np.median([eps_lower_bound(r) for r in chosen])),
                "rl_bound_vacuous": float(np.mean([rl_bound_vacuous(r, eps_lower_bound(r)) for r in chosen])),
                "rl_bound_vacuous_table": float(np.mean([r.table.rl_bound_vacuous for r in chosen])),
                "mle_eps_infinite_table": float(np.mean([r.table.mle_eps_infinite for r in chosen]))}
        rows.append(row)
    return rows


def learner_mean_rows(runs: Sequence[GPTRun]) -> list[dict]:
    """Table ``by_horizon``: thm2_finite_data_claims.mean_rows of the read-out and the count table (exact given the
    demonstrations and the GPT), one column naming the learner."""
    return [{"learner": learner, **row} for learner in LEARNERS[1:] for row in mean_rows(learner_runs(runs, learner))]


def run_rows(runs: Sequence[GPTRun]) -> list[dict]:
    """Table ``runs``: the GPT's own fields, then the read-out's and the table's (prefixed)."""
    rows = []
    for r in runs:
        own = {k: v for k, v in asdict(r).items() if k not in ("table", "readout")}
        nested = {f"{name}_{k}": (int(v) if isinstance(v, bool) else v) for name in ("readout", "table")
                  for k, v in asdict(getattr(r, name)).items() if k not in ("family", "instance", "horizon", "n_demos")}
        rows.append({"family": r.family, "instance": r.instance, "H": r.horizon, "n_demos": r.n_demos, **own,
                     **nested})
    return rows


# --- bounds.thm2_gpt_bc_exponent -----------------------------------------------------------------------------

def judge_gpt_bc_exponent(runs: Sequence[GPTRun]) -> Outcome:
    fits = learner_exponents(runs)
    gpt = fits["GPT", "bc_gap"]
    tree = [r for r in runs if np.isfinite(r.tree_bc_gap)]
    return Outcome(
        [exponent_criterion("exponent of the GPT's BC gap", gpt, 2 - RATE_SLACK, ">=")],
        measured={f"exponent {f.label}": f.slope for f in gpt if f.fitted},
        detail=f"BC gap exponents over H ≥ {H_MIN}, GPT (Monte Carlo): {listing(gpt)}. Same demonstrations, count "
               f"table: {listing(fits['count table', 'bc_gap'])}; GPT read-out on representative prefixes: "
               f"{listing(fits['GPT read-out', 'bc_gap'])}. RL-on-r̂ regret, read-out: "
               f"{listing(fits['GPT read-out', 'rl_regret'])}; count table: "
               f"{listing(fits['count table', 'rl_regret'])}. "
               f"Read-out vs GPT where the prefix tree is enumerated ({len(tree)} runs): largest |BC gap difference| "
               + (f"{max(abs(r.readout.bc_gap - r.tree_bc_gap) for r in tree):.3g}, largest |RL gap difference| "
                  f"{max(abs(r.readout.rl_gap - r.tree_rl_gap) for r in tree):.3g}" if tree else "n/a")
               + f"; median per-step TV between the GPT and its read-out on expert prefixes "
                 f"{np.median([r.readout_tv for r in runs]):.3g}.",
        tables={"exponents": [{"learner": learner, **asdict(f)} for (learner, _), fs in fits.items() for f in fs],
                "by_horizon": learner_mean_rows(runs), "gpt_by_horizon": gpt_mean_rows(runs)})


@claim(
    id="bounds.thm2_gpt_bc_exponent", kind="reading", quantifier="for-all", source=SOURCE,
    statement="Reading of Theorem 2's BC part as a rate, with a tiny GPT as the learner: behaviour cloning by NTP "
              "from n expert demonstrations has a true-reward gap V^{r*}(π^E) − V^{r*}(π̂) growing like H², for "
              "every automaton family and n.",
    check="learned/thm2_gpt.py: TinyGPT (1 layer, width 32, tokens = actions, position = step), "
          f"{TRAINING.steps} AdamW steps of {TRAINING.batch_size} responses on the per-token NTP loss; random "
          "automata (quick; + soft cliff and walks full), 3 instances (quick; 5 full), H ∈ {8, 16, 32} (+ 64 "
          "full), n ∈ {100, 1000} (+ 10 full).  The GPT's BC gap by Monte Carlo over 2000 (8000 full) of its "
          "responses (95% t-interval).  Per (family, n): the exponent of the instance-mean gap over H ≥ 8, "
          "interval as in bounds.thm2_finite_bc_exponent, must lie above 1.9 (for-all).  Reported (table "
          "exponents): the same fit for the count table and the GPT's (h, q) read-out on the same runs, and the "
          "RL-on-r̂ regret exponents of both.")
def gpt_bc_exponent(ctx: Context) -> Outcome:
    return judge_gpt_bc_exponent(gpt_runs(ctx.profile, ctx.seed))


# --- bounds.thm2_gpt_bc_log_loss_bound -----------------------------------------------------------------------

def log_loss_bound(horizon: int, kl_per_token: float) -> float:
    """H·√(KL_traj/2), KL_traj = H × the excess log-loss per token (Pinsker on the response law)."""
    return horizon * np.sqrt(horizon * max(kl_per_token, 0.0) / 2)


def log_loss_criterion(runs: Sequence[GPTRun]) -> Criterion:
    """|BC gap| / H·√(KL_traj/2) ≤ 1 per run: the gap's interval over the bound's, by interval arithmetic;
    informative where even the bound at the KL's upper end is < H."""
    values, lows, highs, informative = [], [], [], []
    for r in runs:
        ends = np.abs([r.bc_gap_low, r.bc_gap_high])
        gap_low = 0.0 if r.bc_gap_low <= 0 <= r.bc_gap_high else float(ends.min())
        bound, bound_low, bound_high = (log_loss_bound(r.horizon, kl) for kl in
                                        (r.kl_per_token, r.kl_per_token_low, r.kl_per_token_high))
        values.append(abs(r.bc_gap) / bound if bound > 0 else np.inf)
        lows.append(gap_low / bound_high if bound_high > 0 else np.inf)
        highs.append(float(ends.max()) / bound_low if bound_low > 0 else np.inf)
        informative.append(bound_high < r.horizon)
    return Criterion("|GPT BC gap| / H·√(KL_traj/2)", values, 1.0, "<=", low=lows, high=highs, interval=MC_INTERVAL,
                     informative=informative,
                     labels=[f"{r.family} {r.instance}, H={r.horizon}, n={r.n_demos}" for r in runs])


def judge_gpt_bc_log_loss_bound(runs: Sequence[GPTRun]) -> Outcome:
    criterion = log_loss_criterion(runs)
    kept = np.array(criterion.informative)
    ratios = np.array(criterion.value)[kept] if kept.any() else np.zeros(1)
    counts = sorted({r.n_demos for r in runs})

    def per_n(n: int) -> str:
        chosen = [r for r in runs if r.n_demos == n]
        vacuous = np.mean([rl_bound_vacuous(r, eps_lower_bound(r)) for r in chosen])
        return (f"n={n}: KL/token {np.median([r.kl_per_token for r in chosen]):.3g} (table "
                f"{np.median([r.table.kl_per_token for r in chosen]):.3g}); ε_π ≥ "
                f"{np.median([eps_lower_bound(r) for r in chosen]):.3g}, on expert prefixes "
                f"{np.median([r.eps_pi_expert_prefixes for r in chosen]):.3g} (table over reachable states "
                f"{np.median([r.table.eps_pi for r in chosen]):.3g}, λ = 0 table ∞ on "
                f"{np.mean([r.table.mle_eps_infinite for r in chosen]):.2f}); 2αHε_π ≥ H on {vacuous:.2f} "
                f"(table {np.mean([r.table.rl_bound_vacuous for r in chosen]):.2f})")

    tree = [r for r in runs if np.isfinite(r.tree_rl_gap)]
    tree_ratios = [r.tree_rl_gap / (2 * r.alpha * r.horizon * r.tree_eps_pi) for r in tree
                   if not rl_bound_vacuous(r, r.tree_eps_pi)]
    return Outcome(
        [criterion],
        measured={"informative runs": int(kept.sum()), "runs": len(runs),
                  "largest ratio (informative)": float(ratios.max())},
        detail=f"The log-loss bound is informative (< H) on {int(kept.sum())} of {len(runs)} runs; |gap|/bound there: "
               f"largest {ratios.max():.3g}, median {np.median(ratios):.3g}. Per n, medians (the GPT's ε_π is "
               "finite, a lower bound on its sup over prefixes): " + "; ".join(per_n(n) for n in counts)
               + f". Exact on {len(tree)} enumerated trees: Theorem 2's RL bound 2αHε_π < H on "
                 f"{len(tree_ratios)}" + (f", largest RL gap / bound there {max(tree_ratios):.3g}." if tree_ratios
                                          else "."),
        tables={"runs": run_rows(runs)})


@claim(
    id="bounds.thm2_gpt_bc_log_loss_bound", kind="derived", quantifier="for-all",
    source="docs/research/endogenous_reward_bounds.md §2.2 (KL chain rule + Pinsker) with the GPT's measured KL in "
           "place of ε_π; Foster, Block & Misra 2024 (log-loss BC); the count-table version "
           "bounds.thm2_finite_bc_log_loss_bound",
    statement="For a tiny GPT trained by NTP on n demonstrations, the BC gap is bounded by the on-distribution error "
              "NTP minimises: |V^{r*}(π^E) − V^{r*}(π̂)| ≤ H·√(KL_traj/2), KL_traj = E_{τ∼π^E} Σ_h KL(π^E(·|s_h) ‖ "
              "π̂(·|a_<h)), although the GPT is not (h, q)-measurable and its ε_π is large.",
    check="Same runs as bounds.thm2_gpt_bc_exponent.  Per run: the GPT's BC gap (Monte Carlo over its responses) "
          "and KL_traj (Monte Carlo over fresh expert responses, each term exact given the prefix), "
          f"{MC_INTERVAL}; |gap| / H·√(KL_traj/2) ≤ 1 for every run (for-all), runs where the bound at the KL's "
          "upper end is ≥ H are not informative.  The detail puts next to it the error Theorem 2 uses: the GPT's "
          "ε_π (lower bound: its (h, q) read-out ∪ the expert's sampled prefixes; exact over every prefix on "
          "enumerated trees), how often 2αHε_π ≥ H, the same for the count table, and Theorem 2's RL bound at the "
          "exact ε_π on the enumerated trees.")
def gpt_bc_log_loss_bound(ctx: Context) -> Outcome:
    return judge_gpt_bc_log_loss_bound(gpt_runs(ctx.profile, ctx.seed))
