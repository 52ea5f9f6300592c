"""Ledger claims on whole-chain failure vs d on the parity chain: NTP, RL on r̂, GRPO.

The measurement (learned/chain_failure.py): linear AR models trained by NTP (`train_linear_ntp`, the same number of
steps at every d) at d on a grid (quick 4, 6, 8; full 4 … 32) and p_cot ∈ {0.2, 0.45}, then from each checkpoint RL
on its endogenous reward r̂ with KL β (the settings of learned/endogenous_rl.py) and GRPO on the verifiable reward.
Every F(d), ε_t and long fraction is exact given the weights (every prompt of {0,1}^d up to d = 12, 4096 or 8192
prompts drawn per seed above); the randomness is in the NTP data stream, the rollouts and the drawn prompts, all from
``ctx.rng(1341/1342/1343)``, so intervals are Student-t over seeds (3 quick, 5 full).  The sharpening derivation is
checked by enumeration on random linear models (``ctx.rng(1344)``) and population NTP optima at d ≤ 4.

    python -m theory.verify --only '^chain_failure\\.' --out /tmp/chain_failure
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from core.intervals import t_interval
from core.ledger import Context, Criterion, Outcome, claim
from core.runio import torch_threads
from learned.chain_failure import (
    BUDGET_CHECKPOINTS,
    FAMILIES,
    chain_step_errors,
    enumerated_step_errors,
    measure_family,
    sharpened_step_log_laws,
    step_log_laws,
)
from learned.endogenous_rl import log_response_law, response_table, sharpen
from learned.endogenous_rl_claims import MOVE_SHARE, PAPER, SHARPENING
from learned.parity_linear import fit_population_ntp
from toy.linear_ar import LinearAR
from toy.parity import ParityLayout

DATA_STREAM, ROLLOUT_STREAM, PROMPT_STREAM, INSTANCE_STREAM = 1341, 1342, 1343, 1344
COMPOUNDING = ("Ross & Bagnell 2010 (compounding error of behaviour cloning); Li et al. 2025, Generalist Reward "
               "Models (arXiv 2506.23235), Theorem 2; toy/compounding.py (F = 1 − E_x Π_t (1 − ε_t(x)))")
RL_AFTER_NTP = "Tsilivis et al. 2025 (RL after NTP), §3 (policy gradient on the verifiable reward after NTP)"
SEEDS_T = "Student-t 95% over seeds (each seed's value exact given the weights; d > 12 also over its drawn prompts)"
RATE_SLACK = 0.1  # |ε_fit/ε̄ − 1|: the per-step rate read off F(d) agrees with the teacher-forced one within 10%
INDEPENDENCE_SLACK = 0.05  # |F / (1 − Π(1 − ε̄_t)) − 1|: steps err independently (no prompt carries the errors)
TOKEN_SLACK = 0.1  # |F_token / F_κ − 1| on the checkpoints: the token-level reading of the sharpening is close
MOVE_FLOOR = 0.01  # a predicted move of the compounding exponent −log(1 − F) below this is not informative
LONG_SAMPLED = 0.05  # "wherever it samples long chains": the GRPO model's long fraction at T = 1
IDENTITY_TOL = 1e-9
KAPPAS = (1.0, 1.5, 2.0, 3.0)  # κ = 1: no sharpening (both laws are π̂ itself), the degenerate member


@lru_cache(maxsize=2)
def chain_runs(profile: str, seed: int) -> tuple[dict, ...]:
    """Every run of the profile's family at this instance seed (cached: the claims share it)."""
    family, ctx = FAMILIES[profile], Context(profile, seed)
    seeds = [ctx.rng(stream).integers(2**30, size=family.seeds)
             for stream in (DATA_STREAM, ROLLOUT_STREAM, PROMPT_STREAM)]
    with torch_threads(1):
        return tuple(measure_family(family, *seeds))


def arm(rows, name: str) -> list[dict]:
    return [r for r in rows if r["arm"] == name]


def paired(rows, name: str) -> list[tuple[dict, dict]]:
    """(NTP start row, row of arm ``name``) for every run of that arm, matched by (d, p_cot, seed)."""
    starts = {(r["d"], r["p_cot"], r["seed_index"]): r for r in arm(rows, "ntp")}
    return [(starts[(r["d"], r["p_cot"], r["seed_index"])], r) for r in arm(rows, name)]


def over_seeds(items, value, keys) -> list[dict]:
    """Group ``items`` by ``keys(item)`` (a dict); each group's mean of ``value(item)`` with its Student-t interval
    over seeds (one seed, or all seeds equal: the point)."""
    groups: dict[tuple, list[float]] = {}
    names: dict[tuple, dict] = {}
    for item in items:
        key = keys(item)
        groups.setdefault(tuple(key.values()), []).append(float(value(item)))
        names[tuple(key.values())] = key
    summary = []
    for key, values in groups.items():
        values = np.array(values)
        mean, low, high = t_interval(values) if len(values) > 1 and np.ptp(values) > 0 else (values.mean(),) * 3
        summary.append({**names[key], "seeds": len(values), "value": float(mean), "low": float(low),
                        "high": float(high)})
    return summary


def cell(row) -> dict:
    return {"p_cot": row["p_cot"], "d": row["d"]}


def cell_label(s: dict) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in s.items() if k not in ("seeds", "value", "low", "high"))


def seed_criterion(name: str, summary: list[dict], tolerance: float, direction: str = "<=",
                   informative=None) -> Criterion:
    return Criterion(name, [s["value"] for s in summary], tolerance, direction, low=[s["low"] for s in summary],
                     high=[s["high"] for s in summary], interval=SEEDS_T, informative=informative,
                     labels=[cell_label(s) for s in summary])


def failure_table(rows) -> list[dict]:
    """F(d) per (arm, β, p_cot, d): mean and t-interval over seeds, with the means of the other columns."""
    def run_cell(r) -> dict:
        return {"arm": r["arm"], "beta": r["beta"], "p_cot": r["p_cot"], "d": r["d"]}

    table = []
    for s in over_seeds(rows, lambda r: r["chain_failure"], run_cell):
        members = [r for r in rows if run_cell(r) == {k: s[k] for k in ("arm", "beta", "p_cot", "d")}]
        means = {column: float(np.mean([r[column] for r in members]))
                 for column in ("independent_steps", "predicted_failure", "sampled_chain_failure", "step_error",
                                "long_fraction", "greedy_accuracy", "greedy_long", "predicted_greedy_long")}
        table.append({**run_cell(members[0]), "seeds": s["seeds"], "failure": s["value"], "low": s["low"],
                      "high": s["high"], **means})
    return sorted(table, key=lambda t: (t["p_cot"], t["arm"], t["beta"], t["d"]))


def failure_listing(rows, name: str, column: str = "chain_failure") -> str:
    """'p=… (β=…): d=4 0.12, d=8 0.24, …' of the mean ``column`` of one arm over seeds, for detail strings."""
    runs = arm(rows, name)
    parts = []
    for p_cot, beta in sorted({(r["p_cot"], r["beta"]) for r in runs}):
        members = [r for r in runs if (r["p_cot"], r["beta"]) == (p_cot, beta)]
        by_d = {d: np.mean([r[column] for r in members if r["d"] == d]) for d in sorted({r["d"] for r in members})}
        parts.append(f"p={p_cot:g}" + (f" β={beta:g}" if name == "endogenous" else "") + ": "
                     + ", ".join(f"d={d} {v:.3g}" for d, v in by_d.items()))
    return "; ".join(parts)


def tables(rows) -> dict[str, list[dict]]:
    return {"runs": list(rows), "failure": failure_table(rows)}


# --- (1) NTP: F(d) compounds at the per-step rate ---------------------------------------------------------------------

def compounding_fits(rows) -> list[dict]:
    """Per (p_cot, seed) of the NTP arm: ε_fit = 1 − e^b, b the least-squares slope of log(1 − F(d)) on d (with an
    intercept: the first step, t = 2, has its own error), next to ε̄, the teacher-forced error of the later steps
    averaged over the grid; and the growth F(d_max) − F(d_min)."""
    groups: dict[tuple, list[dict]] = {}
    for r in arm(rows, "ntp"):
        groups.setdefault((r["p_cot"], r["seed_index"]), []).append(r)
    fits = []
    for (p_cot, seed_index), members in sorted(groups.items()):
        members = sorted(members, key=lambda r: r["d"])
        slope = np.polyfit([r["d"] for r in members], np.log1p(-np.array([r["chain_failure"] for r in members])), 1)[0]
        fitted, measured = float(-np.expm1(slope)), float(np.mean([r["later_step_error"] for r in members]))
        fits.append({"p_cot": p_cot, "seed_index": seed_index, "fitted_rate": fitted, "step_rate": measured,
                     "rate_gap": abs(fitted / measured - 1),
                     "growth": members[-1]["chain_failure"] - members[0]["chain_failure"]})
    return fits


def judge_compounding(rows) -> Outcome:
    fits = compounding_fits(rows)
    gap = over_seeds(fits, lambda f: f["rate_gap"], lambda f: {"p_cot": f["p_cot"]})
    growth = over_seeds(fits, lambda f: f["growth"], lambda f: {"p_cot": f["p_cot"]})
    independence = over_seeds(arm(rows, "ntp"), lambda r: abs(r["chain_failure"] / r["independent_steps"] - 1), cell)
    return Outcome(
        [seed_criterion("|ε_fit / ε̄ − 1| (rate of log(1 − F(d)) in d vs teacher-forced per-step error)", gap,
                        RATE_SLACK),
         seed_criterion("F(d_max) − F(d_min)", growth, 0.0, ">="),
         seed_criterion("|F / (1 − Π_t(1 − ε̄_t)) − 1|", independence, INDEPENDENCE_SLACK)],
        measured={"fitted per-step rate (mean)": float(np.mean([f["fitted_rate"] for f in fits])),
                  "teacher-forced later-step error (mean)": float(np.mean([f["step_rate"] for f in fits])),
                  "largest |ε_fit/ε̄ − 1|": float(max(f["rate_gap"] for f in fits))},
        detail="NTP F(d): " + failure_listing(rows, "ntp") + " | independent-steps 1 − Π(1 − ε̄_t): "
               + failure_listing(rows, "ntp", "independent_steps") + " | fitted rate ε_fit vs ε̄ per (p, seed): "
               + "; ".join(f"p={f['p_cot']:g}#{f['seed_index']} {f['fitted_rate']:.4f} vs {f['step_rate']:.4f}"
                           for f in fits)
               + " | first step (t = 2): " + failure_listing(rows, "ntp", "first_step_error") + ".",
        tables={**tables(rows), "fits": fits})


@claim(id="chain_failure.ntp_compounds_linear", kind="derived", quantifier="for-all",
       source=f"{COMPOUNDING}: with independent steps of error ε, 1 − F(d) = (1 − ε)^(#steps)",
       statement="The whole-chain failure of an NTP-trained linear model grows with the chain length d as "
                 "1 − (1 − ε_2)(1 − ε)^(d−2): compounding at the per-step rate ε that teacher forcing measures.",
       check="learned/chain_failure.py, profile family (quick: d ∈ {4, 6, 8}, 70 NTP steps, 3 seeds; full: d ∈ "
             "{4, …, 32}, 100 steps, 5 seeds; p_cot ∈ {0.2, 0.45}).  Per (p_cot, seed): the slope b of log(1 − F(d)) "
             "on d by least squares (an intercept absorbs the first step t = 2, which shares its weights with the "
             "continue-or-stop decision), ε_fit = 1 − e^b, against ε̄, the mean teacher-forced error of the steps "
             "t ≥ 3 over the grid.  Primary, per p_cot, t over seeds: |ε_fit/ε̄ − 1| ≤ 0.1.  Secondary: F(d_max) − "
             "F(d_min) ≥ 0 (F grows); per (p_cot, d): |F/(1 − Π_t(1 − ε̄_t)) − 1| ≤ 0.05 (the steps err "
             "independently).")
def check_compounding(ctx: Context) -> Outcome:
    return judge_compounding(chain_runs(ctx.profile, ctx.seed))


# --- (2a) the per-step law of the sequence-level sharpening, by enumeration ------------------------------------------

def random_linear(d: int, scale: float, rng: np.random.Generator) -> LinearAR:
    """A LinearAR with i.i.d. N(0, scale²) weights (float64): continuations of unequal certainty."""
    model = LinearAR(d, ParityLayout(d).max_response_len).double()
    with torch.no_grad():
        model.weight.copy_(torch.from_numpy(scale * rng.standard_normal(tuple(model.weight.shape))))
    return model


def sharpening_instances(ctx: Context) -> list[dict]:
    """Per (model, κ): the largest gap between the enumerated per-step errors of π̂^κ/Z and the backward-message law,
    and the largest relative gap of the token-level law π̂(bit)^κ."""
    rng = ctx.rng(INSTANCE_STREAM)
    models = [(f"random d={d} scale={scale:g}", random_linear(d, scale, rng)) for d in (2, 3, 4) for scale in (0.5, 2)]
    models += [(f"population NTP d=4 p={p:g}", fit_population_ntp(4, p, ridge=0.02)) for p in (0.2, 0.45)]
    rows = []
    for name, model in models:
        table = response_table(ParityLayout(model.d))
        log_law, laws = log_response_law(model, table), step_log_laws(model, table.x)
        for kappa in KAPPAS:
            enumerated = enumerated_step_errors(sharpen(log_law, kappa), table)
            exact = chain_step_errors(sharpened_step_log_laws(laws, kappa), table.x)
            token = chain_step_errors(sharpened_step_log_laws(laws, kappa, sequence_level=False), table.x)
            rows.append({"model": name, "kappa": kappa, "exact_gap": float((exact - enumerated).abs().max()),
                         "token_gap": float(((token - enumerated).abs() / enumerated).max()),
                         "step_error": float(enumerated.mean())})
    return rows


def judge_sharpening_identity(rows) -> Outcome:
    random = [r for r in rows if r["model"].startswith("random") and r["kappa"] > 1]
    optimum = [r for r in rows if r["model"].startswith("population") and r["kappa"] > 1]
    return Outcome(
        [Criterion("max |ε_t(x) by enumeration − ε_t(x) by backward messages|", [r["exact_gap"] for r in rows],
                   IDENTITY_TOL, labels=[f"{r['model']} κ={r['kappa']:g}" for r in rows])],
        measured={"largest gap": float(max(r["exact_gap"] for r in rows)),
                  "token-level reading, largest relative gap, random weights": float(max(r["token_gap"]
                                                                                        for r in random)),
                  "token-level reading, largest relative gap, population NTP optimum": float(max(r["token_gap"]
                                                                                                for r in optimum))},
        detail="Relative gap of the token-level law π̂(bit)^κ (κ > 1): "
               + "; ".join(f"{r['model']} κ={r['kappa']:g}: {r['token_gap']:.2e}" for r in random + optimum) + ".",
        tables={"instances": rows})


@claim(id="chain_failure.sequence_sharpening_step_law", kind="identity", quantifier="for-all",
       source=f"{SHARPENING}; the linear model's law factorises over (x, r_(t−1)) (toy/linear_ar.py)",
       statement="The per-step law of the sequence-level sharpening π̂^κ/Z given the true chain prefix is π̂_t(a)^κ "
                 "M_{t+1}(a) / M_t(r_{t−1}), with the backward messages M_t(z) = Σ_a π̂_t(a | z)^κ M_{t+1}(a) "
                 "(M = 1 after <eos> and after the L-th token); it is the token-level π̂(bit)^κ only when M_{t+1}(0) "
                 "= M_{t+1}(1).",
       check="Random linear models (d ∈ {2, 3, 4}, weight scales 0.5 and 2, from ctx.rng(1344)) and the population "
             "NTP optima at d = 4 (ridge 0.02), κ ∈ {1, 1.5, 2, 3}: the per-step errors ε_t(x) of π̂^κ/Z computed "
             "by summing π̂^κ/Z over every response with the prefix (learned/endogenous_rl.py's table) vs the "
             "backward-message law, max gap ≤ 1e-9 (float64).  Reported: the token-level reading's relative gap.")
def check_sharpening_identity(ctx: Context) -> Outcome:
    with torch_threads(1):
        return judge_sharpening_identity(sharpening_instances(ctx))


# --- (2b) RL on r̂: F(d) against its optimum's ----------------------------------------------------------------------

def sharpening_moves(rows) -> list[dict]:
    """Per RL-on-r̂ run: the share of the predicted move of the compounding exponent −log(1 − F) it covers, its drop
    in F, the token-level reading's gap, and the per-step effective exponent logit(ε_RL)/logit(ε_NTP) (steps t ≥ 3)."""
    def logit(p: float) -> float:
        return float(np.log(p / (1 - p)))

    moves = []
    for start, run in paired(rows, "endogenous"):
        predicted = np.log1p(-run["predicted_failure"]) - np.log1p(-start["chain_failure"])
        moved = np.log1p(-run["chain_failure"]) - np.log1p(-start["chain_failure"])
        partial = {f"share_{column.removeprefix('chain_failure_')}":
                   (np.log1p(-run[column]) - np.log1p(-start["chain_failure"])) / predicted
                   for column in BUDGET_CHECKPOINTS.values()}
        moves.append({**cell(run), "beta": run["beta"], "seed_index": run["seed_index"], "predicted_move": predicted,
                      "share": moved / predicted, **partial,
                      "drop": start["chain_failure"] - run["chain_failure"],
                      "token_gap": abs(run["token_level_failure"] / run["predicted_failure"] - 1),
                      "step_exponent": logit(run["later_step_error"]) / logit(start["later_step_error"])})
    return moves


def cell_beta(row) -> dict:
    return {**cell(row), "beta": row["beta"]}


def projected_share(share: float, first_growth: float, second_growth: float) -> float:
    """Where a share still moving ends if its growth keeps shrinking geometrically: share + g₂ r/(1 − r), with g₁, g₂
    its growth over the second quarter and the second half of the budget and r = g₂/g₁ (per doubling of the
    iterations); inf when it is not slowing down (r ≥ 1), the share itself when it no longer grows (g₂ ≤ 0)."""
    if second_growth <= 0:
        return share
    if first_growth <= second_growth:
        return np.inf
    ratio = second_growth / first_growth
    return share + second_growth * ratio / (1 - ratio)


def still_rising(share: list[dict], first_growth: list[dict], second_growth: list[dict]
                 ) -> tuple[list[dict], list[tuple[dict, float, float]]]:
    """The share per cell with its convergence guard, and the (cell, growth, projected end) triples it opened.

    Where the share is below MOVE_SHARE but still grew over the second half of the budget (the t-interval over seeds
    of the growth above 0) and its geometric projection (projected_share, on the means over seeds) reaches
    MOVE_SHARE, the run has not reached its end point and could still pass: its interval is opened up to the
    projection (at most 1, the full predicted move), which leaves the cell undecided.  A share creeping towards an
    end below MOVE_SHARE keeps its interval and fails."""
    guarded, rising = [], []
    for cell_share, first, second in zip(share, first_growth, second_growth, strict=True):
        projection = projected_share(cell_share["value"], first["value"], second["value"])
        if second["low"] > 0 and cell_share["value"] < MOVE_SHARE <= projection:
            cell_share = {**cell_share, "high": max(cell_share["high"], min(projection, 1.0))}
            rising.append((cell_share, second["value"], projection))
        guarded.append(cell_share)
    return guarded, rising


def judge_endogenous(rows, iterations: int) -> Outcome:
    moves = sharpening_moves(rows)
    drop = over_seeds(moves, lambda m: m["drop"], cell_beta)
    share, rising = still_rising(
        over_seeds(moves, lambda m: m["share"], cell_beta),
        over_seeds(moves, lambda m: m["share_half_budget"] - m["share_quarter_budget"], cell_beta),
        over_seeds(moves, lambda m: m["share"] - m["share_half_budget"], cell_beta))
    informative = [s["value"] >= MOVE_FLOOR for s in over_seeds(moves, lambda m: m["predicted_move"], cell_beta)]
    exponent = over_seeds(moves, lambda m: m["step_exponent"], lambda m: {"beta": m["beta"], "p_cot": m["p_cot"]})
    return Outcome(
        [seed_criterion("share of the predicted move of −log(1 − F(d)) covered by RL on r̂", share, MOVE_SHARE, ">=",
                        informative),
         seed_criterion("F_NTP(d) − F_RL(d)", drop, 0.0, ">="),
         Criterion("|F_token-level / F_κ − 1| on the checkpoints", [m["token_gap"] for m in moves], TOKEN_SLACK,
                   labels=[f"{cell_label(cell_beta(m))} seed#{m['seed_index']}" for m in moves])],
        measured={"smallest mean share": float(min(s["value"] for s in share)),
                  "largest mean share": float(max(s["value"] for s in share)),
                  "per-step effective exponent (κ predicted)": {cell_label(s): round(s["value"], 3)
                                                                 for s in exponent}},
        detail=(f"Still rising at {iterations} RL iterations towards an end past {MOVE_SHARE} (share, its growth "
                f"since iteration {iterations // 2}, its geometric projection; undecided: a longer run would tell): "
                + ", ".join(f"{cell_label(s)}: {s['value']:.2f} (+{growth:.2f}, → {projection:.2f})"
                            for s, growth, projection in rising) + " | " if rising else "")
               + "F(d), NTP: " + failure_listing(rows, "ntp") + " | RL on r̂: " + failure_listing(rows, "endogenous")
               + " | its optimum π̂^κ/Z: " + failure_listing(rows, "endogenous", "predicted_failure")
               + " | per-step effective exponent logit(ε_RL)/logit(ε_NTP), steps t ≥ 3 (predicted κ): "
               + ", ".join(f"{cell_label(s)}: {s['value']:.2f}" for s in exponent)
               + " | long fraction (T = 1), NTP: " + failure_listing(rows, "ntp", "long_fraction")
               + "; RL on r̂: " + failure_listing(rows, "endogenous", "long_fraction")
               + " | greedy long, RL on r̂: " + failure_listing(rows, "endogenous", "greedy_long")
               + " (the greedy decoder of π̂^κ/Z: " + failure_listing(rows, "endogenous", "predicted_greedy_long")
               + ").",
        tables={**tables(rows), "moves": moves})


@claim(id="chain_failure.endogenous_rl_sharpens_chain_linear", kind="derived", quantifier="for-all",
       source=f"{PAPER}, r̂ = α log π̂ + V(s_1), with {SHARPENING}; its per-step law on the chain by "
              "chain_failure.sequence_sharpening_step_law",
       statement="RL on the endogenous reward with KL β to the NTP model brings the whole-chain failure F(d) to "
                 "that of its optimum π̂^κ/Z, κ = 1 + α/β, whose per-step chain error is ≈ ε̂^κ (compounding at the "
                 "sharpened rate): at least half of the predicted move of −log(1 − F(d)), at every d.",
       check="The runs of chain_failure.ntp_compounds_linear; RL on r̂ from each checkpoint with the settings of "
             "learned/endogenous_rl.py (quick: β = 1, 400 iterations; full: β ∈ {0.5, 1, 2}, 800 iterations).  "
             "F_κ(d) = 1 − E_x Π_t (1 − ε_κ,t(x)) is exact given the checkpoint (backward messages).  Primary, per "
             "(p_cot, d, β), t over seeds: [log(1 − F_RL) − log(1 − F_NTP)] / [log(1 − F_κ) − log(1 − F_NTP)] ≥ 0.5 "
             "(the MOVE_SHARE of endogenous_rl.kl_sharpening_linear, on the additive scale of compounding; cells "
             "where the predicted move is below 0.01 are not informative; a cell below 0.5 whose share still grew "
             "over the second half of the RL budget, t-interval over seeds above 0, and whose growth, shrinking "
             "geometrically per doubling of the iterations, would end past 0.5 is undecided: its end point is not "
             "reached).  Secondary: F_NTP − F_RL ≥ 0 per cell; "
             "|F_token/F_κ − 1| ≤ 0.1 per run (the token-level reading π̂(bit)^κ is close on trained checkpoints).  "
             "Reported: the per-step effective exponent logit(ε_RL)/logit(ε_NTP) (κ predicted), long fractions.")
def check_endogenous(ctx: Context) -> Outcome:
    return judge_endogenous(chain_runs(ctx.profile, ctx.seed), FAMILIES[ctx.profile].endogenous_iterations)


# --- (3) GRPO lowers the sampled chain's failure ----------------------------------------------------------------------

def grpo_drops(rows) -> list[dict]:
    """Per GRPO run: the drop of the sampled long-chain failure and of F(d) from its NTP start, its long fraction."""
    return [{**cell(run), "seed_index": run["seed_index"],
             "sampled_drop": start["sampled_chain_failure"] - run["sampled_chain_failure"],
             "drop": start["chain_failure"] - run["chain_failure"], "long_fraction": run["long_fraction"]}
            for start, run in paired(rows, "grpo")]


def judge_grpo(rows) -> Outcome:
    drops = grpo_drops(rows)
    sampled = over_seeds(drops, lambda m: m["sampled_drop"], cell)
    forced = over_seeds(drops, lambda m: m["drop"], cell)
    long = over_seeds(drops, lambda m: m["long_fraction"], cell)
    informative = [s["value"] >= LONG_SAMPLED for s in long]
    return Outcome(
        [seed_criterion("sampled long-chain failure, NTP − GRPO", sampled, 0.0, ">=", informative),
         seed_criterion("F(d) (long mode), NTP − GRPO", forced, 0.0, ">=", informative)],
        measured={"smallest mean drop (sampled)": float(min(s["value"] for s in sampled)),
                  "cells sampling long chains": int(sum(informative)), "cells": len(informative)},
        detail="Sampled long-chain failure, NTP: " + failure_listing(rows, "ntp", "sampled_chain_failure")
               + " | GRPO: " + failure_listing(rows, "grpo", "sampled_chain_failure") + " | F(d), GRPO: "
               + failure_listing(rows, "grpo") + " | GRPO long fraction (T = 1): "
               + failure_listing(rows, "grpo", "long_fraction") + " | GRPO greedy accuracy: "
               + failure_listing(rows, "grpo", "greedy_accuracy") + ".",
        tables={**tables(rows), "drops": drops})


@claim(id="chain_failure.grpo_lowers_chain_failure_linear", kind="derived", quantifier="for-all",
       source=f"{RL_AFTER_NTP}: the verifiable reward pays the right answer, and on a sampled long response each "
              "wrong chain step flips the answer, so its policy gradient raises every step of the chain it samples",
       statement="GRPO on the verifiable reward lowers the failure of the sampled long chain below the NTP start's, "
                 "at every d, wherever it samples long chains.",
       check="The runs of chain_failure.ntp_compounds_linear; GRPO from each checkpoint with the settings of "
             "learned/endogenous_rl.py.  Primary, per (p_cot, d), t over seeds of the paired difference: "
             "[1 − E_x π(chain, <eos>)/E_x π(long)] of NTP minus that of GRPO ≥ 0 (exact given the weights); cells "
             "where GRPO's long fraction at T = 1 is below 0.05 are not informative.  Secondary: the same for F(d) "
             "of the long mode (forced long, teacher forced).")
def check_grpo(ctx: Context) -> Outcome:
    return judge_grpo(chain_runs(ctx.profile, ctx.seed))
