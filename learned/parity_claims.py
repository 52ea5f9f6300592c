"""Ledger claims on the parity mixture, checked exactly on the linear AR model's population NTP optimum.

Sources: Tsilivis, Malach, Ullrich, Kempe 2025, "How RL after next-token prediction facilitates learning"
(Thm 1: length calibration and the greedy threshold p_cot = 1/3 for NTP; §3.2 / Thm 2: STaR's odds
doubling), and the derivations of research/parity_cot_rl.md §6.2–§6.3.  Computations: theory/parity_linear.py
(every input x ∈ {0,1}^d enumerated; no sampling).  Profiles: quick d = 8, full d = 12.
"""

from __future__ import annotations

import numpy as np

from core.ledger import Context, Criterion, Outcome, claim
from learned.parity_linear import (
    RIDGE,
    all_inputs,
    continue_gradient,
    exact_response_law,
    fit_population_ntp,
    greedy_metrics,
)

SOURCE = "Tsilivis et al. 2025 (RL after NTP)"
SIZES = {"quick": (8, (0.20, 0.30, 0.32, 0.35, 0.45)), "full": (12, (0.10, 0.20, 0.25, 0.30, 0.32, 0.34,
                                                                   0.35, 0.40, 0.45))}
_CACHE: dict[str, list[dict]] = {}


def population_optima(profile: str) -> list[dict]:
    """Fit the population NTP optimum at each p_cot of the profile once, and read off its exact numbers."""
    if profile not in _CACHE:
        d, p_values = SIZES[profile]
        x = all_inputs(d)
        rows = []
        for p in p_values:
            model = fit_population_ntp(d, p)
            law = exact_response_law(model, x)
            rows.append({"p_cot": p, "d": d, **{f"greedy_{k}": v for k, v in greedy_metrics(model, x).items()},
                         **{f"sampled_{k}": v.mean().item() for k, v in law.items()},
                         **{f"gradient_{k}": v for k, v in continue_gradient(model, x).items()}})
        _CACHE[profile] = rows
    return _CACHE[profile]


def _table(rows: list[dict], columns: list[str]) -> str:
    head = " | ".join(["p_cot", *columns])
    body = "\n".join(" | ".join([f"{r['p_cot']:.2f}", *(f"{r[c]:.5g}" for c in columns)]) for r in rows)
    return f"{head}\n{body}"


@claim(
    kind="seed", quantifier="for-all",
    id="parity.ntp_greedy_threshold", source=f"{SOURCE}, Thm 1; notes §6.2",
       statement="After NTP, greedy decoding is at chance (accuracy 1/2, short answers) when p_cot < 1/3 and "
                 "correct (accuracy 1, long answers) when p_cot > 1/3.",
       check="Exact population NTP optimum of the linear AR model (ridge 1e-6) at several p_cot; greedy "
             "accuracy over all 2^d inputs vs 1/2 below and 1 above the threshold.")
def check_threshold(ctx: Context) -> Outcome:
    profile = ctx.profile
    rows = population_optima(profile)
    theory = np.array([0.5 if r["p_cot"] < 1 / 3 else 1.0 for r in rows])
    measured = np.array([r["greedy_accuracy"] for r in rows])
    long_theory = np.array([0.0 if r["p_cot"] < 1 / 3 else 1.0 for r in rows])
    long_measured = np.array([r["greedy_long_fraction"] for r in rows])
    return Outcome(
        criteria=[Criterion("max |greedy acc - theory|", float(np.abs(measured - theory).max()), 0.01),
                  Criterion("max |greedy long fraction - theory|", float(np.abs(long_measured - long_theory).max()),
                            0.01)],
        measured={"rows": rows, "ridge": RIDGE},
        detail=_table(rows, ["greedy_accuracy", "greedy_long_fraction"]))


@claim(
    kind="seed", quantifier="for-all",
    id="parity.ntp_length_calibration", source=f"{SOURCE}, Sec. 3.2 ('calibrated with respect to length')",
       statement="The NTP model generates long responses with probability p_cot at temperature 1; its sampled "
                 "accuracy is (1 + p_cot)/2 and it continues after a first token equal to x_1 with probability "
                 "2 p_cot/(1 + p_cot).",
       check="Exact response law (dynamic programming over r_{t-1}) of the population NTP optimum; tolerance "
             "1e-3 covers the ridge term's bias (measured ~1e-5 at ridge 1e-6).")
def check_calibration(ctx: Context) -> Outcome:
    profile = ctx.profile
    rows = population_optima(profile)
    p = np.array([r["p_cot"] for r in rows])
    long_gap = np.abs(np.array([r["sampled_long"] for r in rows]) - p).max()
    acc_gap = np.abs(np.array([r["sampled_correct"] for r in rows]) - (1 + p) / 2).max()
    cont_gap = np.abs(np.array([r["gradient_mean_continue_prob"] for r in rows]) - 2 * p / (1 + p)).max()
    return Outcome(
        criteria=[Criterion("max |P(long) - p_cot|", float(long_gap), 1e-3),
                  Criterion("max |P(correct) - (1+p)/2|", float(acc_gap), 1e-3),
                  Criterion("max |P(continue | r1=x1) - 2p/(1+p)|", float(cont_gap), 1e-3)],
        measured={"ridge": RIDGE},
        detail=_table(rows, ["sampled_long", "sampled_correct", "gradient_mean_continue_prob", "sampled_malformed"]))


@claim(
    quantifier="for-all",
    id="parity.continue_gradient_positive", kind="derived", source="research/parity_cot_rl.md §6.3",
       statement="At the NTP optimum the expected policy gradient of the end-to-end reward raises the probability "
                 "of continuing after r_1 = x_1 (d E[R]/d eta > 0): length increase is an ascent direction.",
       check="Exact E[R] by dynamic programming with the <eos> logit at position 2 shifted by -eta where r_1 = x_1; "
             "autograd derivative at eta = 0, cross-checked against the closed-form decomposition "
             "E_x[P(r1=x1) q(1-q)(P(correct|continue) - 1[x1=y])].")
def check_continue_gradient(ctx: Context) -> Outcome:
    profile = ctx.profile
    rows = population_optima(profile)
    grads = np.array([r["gradient_autograd"] for r in rows])
    mismatch = max(abs(r["gradient_autograd"] - r["gradient_decomposition"]) for r in rows)
    return Outcome(
        criteria=[Criterion("min over p_cot of dE[R]/d eta", float(grads.min()), 1e-3, ">="),
                  Criterion("max |autograd - decomposition|", float(mismatch), 1e-10)],
        detail=_table(rows, ["gradient_autograd", "gradient_decomposition", "gradient_expected_reward"]))
