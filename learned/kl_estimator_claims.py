"""Ledger claims on the single-sample KL estimators k1 and k3 of the RL loss (toy/policy_gradient.kl_estimate,
``rl.kl_estimator``), by exact enumeration of one state's three response tokens.

At a token a ~ π, with r = π_ref(a)/π(a), k1(a) = −log r and k3(a) = r − 1 − log r (Schulman 2020, "Approximating
KL Divergence"; k3 is the per-token KL term TRL's GRPOTrainer adds to its loss).  The loss differentiates the sampled
token's k at the sample, so one update moves θ by E_{a~π}[∇θ k(a)] = Σ_a π(a) ∇θ k(a), π(a) a weight that carries no
gradient (the sampling is not differentiated).  Enumerating a ∈ {0, 1, <eos>} at π = softmax(θ) gives exactly

* values: Σ_a π(a) k1(a) = Σ_a π(a) k3(a) = KL(π ‖ π_ref), both unbiased;
* gradients: ∇k1(a) = ∇log π(a), so Σ_a π(a) ∇k1(a) = Σ_a ∇π(a) = 0: the k1 penalty does not move π in expectation;
  ∇k3(a) = (1 − r(a)) ∇log π(a), so Σ_a π(a) ∇k3(a) = −Σ_a π_ref(a) ∇log π(a) = ∇θ KL(π_ref ‖ π): the k3 penalty
  descends the *reverse* KL, not the KL(π ‖ π_ref) whose value it estimates.

The instance family: pairs (θ, log π_ref) of logits over the three tokens, N(0, s²) with s log-uniform in [0.3, 4]
(24 pairs quick, 200 full, from ``ctx.rng(1351)``), and the degenerate members: π = π_ref uniform, π = π_ref random
(every gradient 0: not informative for the gradient criteria), π near-deterministic and π_ref near-deterministic
(logit 12 on one token: r up to e^12, the largest round-off of the family).  Float64 throughout; every number is
exact up to round-off, so the tolerance (1e-9, relative to the scale of the gradients or to 1 + KL) only absorbs
round-off, measured below 1e-13 on this family.

    python -m theory.verify --only '^kl_estimator\\.' --out /tmp/kl_estimator
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
import torch

from core.ledger import Context, Criterion, Outcome, claim
from toy.parity import RESPONSE_TOKENS
from toy.policy_gradient import exact_kl, kl_estimate

SOURCE = ("Schulman 2020, 'Approximating KL Divergence' (k1 = −log r and k3 = r − 1 − log r, r = π_ref/π, both "
          "unbiased for KL(π ‖ π_ref) at a ~ π); TRL GRPOTrainer's per-token KL term (k3, differentiated at the "
          "samples of π)")
INSTANCE_STREAM = 1351
TOKENS = torch.tensor(RESPONSE_TOKENS)[:, None]  # the three possible one-token responses (3, 1)
ROUND_OFF = 1e-9  # relative tolerance of an exact float64 computation (measured errors stay below 1e-13)
APART = 1e-3  # the forward and reverse KL gradients differ by at least this much, relative to their scale
SCALE_FLOOR = 1e-8  # below this gradient scale (π = π_ref) no gradient criterion can tell anything apart
EXACT = "exact (float64 enumeration of the 3 tokens)"

PerToken = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def per_token(log_law: torch.Tensor, ref_log_law: torch.Tensor, estimator: str) -> torch.Tensor:
    """k(a) for each of the three tokens a of one state with log-laws (3,) → (3,), by the loss's own code."""
    return kl_estimate(log_law.expand(3, 1, 3), ref_log_law.expand(3, 1, 3), TOKENS, estimator)[:, 0]


ESTIMATORS: dict[str, PerToken] = {name: partial(per_token, estimator=name) for name in ("k1", "k3")}


def expectations(theta: torch.Tensor, ref_log_law: torch.Tensor,
                 estimators: dict[str, PerToken] = ESTIMATORS) -> dict[str, tuple[float, torch.Tensor]]:
    """name -> (value, gradient in θ) at π = softmax(θ): 'forward' KL(π ‖ π_ref), 'reverse' KL(π_ref ‖ π), and for
    each estimator its expectation Σ_a π(a) k(a) with π(a) a weight, not differentiated (as in the loss)."""
    theta = theta.detach().clone().requires_grad_(True)
    log_law = theta.log_softmax(0)
    law = log_law.exp().detach()

    def value_and_gradient(value: torch.Tensor) -> tuple[float, torch.Tensor]:
        return value.item(), torch.autograd.grad(value, theta, retain_graph=True)[0]  # all share log_law's graph

    result = {"forward": value_and_gradient(exact_kl(log_law, ref_log_law)),
              "reverse": value_and_gradient(exact_kl(ref_log_law, log_law))}
    for name, estimate in estimators.items():
        result[name] = value_and_gradient((law * estimate(log_law, ref_log_law)).sum())
    return result


def instances(ctx: Context) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    """(label, θ, logits of π_ref): the degenerate members, then the random pairs of the module docstring."""
    rng = ctx.rng(INSTANCE_STREAM)

    def logits(scale: float = 1.0) -> torch.Tensor:
        return torch.tensor(scale * rng.standard_normal(3), dtype=torch.float64)

    peaked, shared = torch.tensor([12.0, 0.0, 0.0], dtype=torch.float64), logits()
    family = [("π = π_ref uniform", torch.zeros(3, dtype=torch.float64), torch.zeros(3, dtype=torch.float64)),
              ("π = π_ref", shared, shared.clone()), ("π near-deterministic", peaked, logits()),
              ("π_ref near-deterministic", logits(), peaked)]
    for index in range(ctx.size(24, 200)):
        scale = float(np.exp(rng.uniform(np.log(0.3), np.log(4.0))))
        family.append((f"random #{index} (s = {scale:.2f})", logits(scale), logits(scale)))
    return family


def measure_estimators(ctx: Context, estimators: dict[str, PerToken] = ESTIMATORS) -> list[dict]:
    """One row per (instance, estimator): the estimator's value error and its expected gradient's distance to the
    reverse KL gradient, to the forward one and to 0, each relative to the instance's gradient scale
    max(‖∇KL(π ‖ π_ref)‖∞, ‖∇KL(π_ref ‖ π)‖∞) (1 where that is 0); ``estimators`` lets a control plant a wrong one."""
    rows = []
    for label, theta, ref_logits in instances(ctx):
        exact = expectations(theta, ref_logits.log_softmax(0), estimators)
        (forward, forward_grad), (_, reverse_grad) = exact["forward"], exact["reverse"]
        scale = max(forward_grad.abs().max().item(), reverse_grad.abs().max().item())
        unit = scale if scale > 0 else 1.0
        for name in estimators:
            value, grad = exact[name]
            rows.append({"instance": label, "estimator": name, "kl_forward": forward, "value": value,
                         "value_error": abs(value - forward) / (1 + forward), "gradient_scale": scale,
                         "reverse_gap": (grad - reverse_grad).abs().max().item() / unit,
                         "forward_gap": (grad - forward_grad).abs().max().item() / unit,
                         "zero_gap": grad.abs().max().item() / unit,
                         "directions_apart": (forward_grad - reverse_grad).abs().max().item() / unit})
    return rows


def of(rows: list[dict], estimator: str) -> list[dict]:
    return [r for r in rows if r["estimator"] == estimator]


def largest(rows: list[dict], column: str) -> float:
    """The largest ``column`` over the instances with a gradient scale above SCALE_FLOOR."""
    return max((r[column] for r in rows if r["gradient_scale"] > SCALE_FLOOR), default=0.0)


def gradient_criterion(name: str, rows: list[dict], column: str, tolerance: float, direction: str = "<=",
                       informative=None) -> Criterion:
    """A per-instance gradient distance against its tolerance; instances with a vanishing gradient scale (π = π_ref)
    are not informative."""
    scale = np.array([r["gradient_scale"] for r in rows])
    return Criterion(name, [r[column] for r in rows], tolerance, direction, interval=EXACT,
                     informative=(scale > SCALE_FLOOR) if informative is None else informative,
                     labels=[r["instance"] for r in rows])


def summary(rows: list[dict], column: str) -> str:
    values = [r[column] for r in rows if r["gradient_scale"] > SCALE_FLOOR]
    return f"{min(values):.3g} … {max(values):.3g}" if values else "none informative"


def judge_k3_descends_reverse_kl(rows: list[dict]) -> Outcome:
    """k3's expected gradient against ∇KL(π_ref ‖ π) (primary), and its distance to ∇KL(π ‖ π_ref) where the two
    directions differ (secondary: the check can tell them apart)."""
    k3 = of(rows, "k3")
    apart = np.array([r["directions_apart"] > 10 * APART and r["gradient_scale"] > SCALE_FLOOR for r in k3])
    criteria = [
        gradient_criterion("‖E_π[∇k3] − ∇KL(π_ref ‖ π)‖∞ / gradient scale", k3, "reverse_gap", ROUND_OFF),
        gradient_criterion("‖E_π[∇k3] − ∇KL(π ‖ π_ref)‖∞ / gradient scale (where the directions differ)", k3,
                           "forward_gap", APART, ">=", informative=apart)]
    return Outcome(criteria,
                   measured={"largest reverse gap": largest(k3, "reverse_gap"),
                             "smallest forward gap (directions apart)": min(
                                 (r["forward_gap"] for r, ok in zip(k3, apart, strict=True) if ok), default=0.0),
                             "instances": len(k3)},
                   detail=f"Over {len(k3)} instances (gradient scale > {SCALE_FLOOR:g}): E_π[∇k3] is "
                          f"{summary(k3, 'reverse_gap')} from ∇KL(π_ref ‖ π) and {summary(k3, 'forward_gap')} from "
                          f"∇KL(π ‖ π_ref), relative to the scale; E_π[k3] − KL(π ‖ π_ref) relative to 1 + KL: "
                          f"≤ {max(r['value_error'] for r in k3):.3g}.",
                   tables={"instances": rows})


def judge_unbiased_values_k1_gradient_zero(rows: list[dict]) -> Outcome:
    """E_π[k] = KL(π ‖ π_ref) for k1 and k3 (primary), and E_π[∇k1] = 0 (secondary)."""
    both, k1 = of(rows, "k1") + of(rows, "k3"), of(rows, "k1")
    criteria = [
        Criterion("|E_π[k] − KL(π ‖ π_ref)| / (1 + KL), k ∈ {k1, k3}", [r["value_error"] for r in both], ROUND_OFF,
                  interval=EXACT, labels=[f"{r['estimator']} {r['instance']}" for r in both]),
        gradient_criterion("‖E_π[∇k1]‖∞ / gradient scale", k1, "zero_gap", ROUND_OFF)]
    return Outcome(criteria,
                   measured={"largest value error": max(r["value_error"] for r in both),
                             "largest k1 gradient / scale": largest(k1, "zero_gap"), "instances": len(k1)},
                   detail=f"Over {len(k1)} instances, KL(π ‖ π_ref) from {min(r['kl_forward'] for r in k1):.3g} to "
                          f"{max(r['kl_forward'] for r in k1):.3g}: value errors ≤ "
                          f"{max(r['value_error'] for r in both):.3g}; ‖E_π[∇k1]‖∞ / gradient scale "
                          f"{summary(k1, 'zero_gap')} at gradient scales {summary(k1, 'gradient_scale')}.")


@claim(id="kl_estimator.k3_gradient_descends_reverse_kl", kind="derived", quantifier="for-all", source=SOURCE,
       statement="The k3 penalty as used by TRL GRPO (a loss term differentiated at samples of π) descends "
                 "KL(π_ref ‖ π), the reverse of the KL(π ‖ π_ref) it estimates: E_{a~π}[∇θ k3(a)] = "
                 "∇θ KL(π_ref ‖ π) ≠ ∇θ KL(π ‖ π_ref).",
       check="One state, three tokens, π = softmax(θ); the family of learned/kl_estimator_claims.py (4 degenerate "
             "members + 24 random logit pairs quick, 200 full, ctx.rng(1351)).  E_π[∇k3] = Σ_a π(a)∇θ k3(a) by "
             "enumeration with toy/policy_gradient.kl_estimate, autograd in float64.  Primary: ‖E_π[∇k3] − "
             "∇KL(π_ref ‖ π)‖∞ ≤ 1e-9 relative to the gradient scale (round-off only); secondary: its distance to "
             "∇KL(π ‖ π_ref) ≥ 1e-3 of the scale where the two gradients differ by more than 1e-2.  Instances with "
             "π = π_ref (every gradient 0) are not informative.")
def check_k3_descends_reverse_kl(ctx: Context) -> Outcome:
    return judge_k3_descends_reverse_kl(measure_estimators(ctx))


@claim(id="kl_estimator.unbiased_values_k1_gradient_zero", kind="derived", quantifier="for-all", source=SOURCE,
       statement="The nearest true statement about the KL(π ‖ π_ref) penalty: k1 and k3 at samples of π are "
                 "unbiased for its value, E_{a~π}[k(a)] = KL(π ‖ π_ref), but differentiated at the samples neither "
                 "gives its gradient: k1's expected gradient is 0.",
       check="The family of kl_estimator.k3_gradient_descends_reverse_kl.  Primary: |E_π[k] − KL(π ‖ π_ref)| / "
             "(1 + KL) ≤ 1e-9 for k1 and k3 at every instance; secondary: ‖E_π[∇k1]‖∞ ≤ 1e-9 relative to the "
             "gradient scale (instances with π = π_ref not informative).")
def check_unbiased_values_k1_gradient_zero(ctx: Context) -> Outcome:
    return judge_unbiased_values_k1_gradient_zero(measure_estimators(ctx))
