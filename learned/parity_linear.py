"""Exact population computations for the autoregressive linear model on the parity mixture.

Objects of Tsilivis et al. 2025 (docs/research/parity_cot_rl.md §6.2–§6.3), computed without sampling:

* the *population* NTP objective over all 2^d inputs and both response modes,
      L_p(W) = 2^{-d} Σ_x [ p · NLL_W(long(x)) + (1 − p) · NLL_W(short(x)) ] + λ‖W‖²,
  minimised to convergence by L-BFGS in float64.  The chain steps are deterministic, so without the
  small ridge term λ the optimum is at infinity; λ makes it finite and is stated in every result.
* the exact law of a response under the model, by dynamic programming: π_t depends on the prefix only
  through (x, r_{t−1}) (toy/linear_ar.py), so a forward pass over r_{t−1} ∈ {0, 1} gives
  P(correct | x) and P(long | x) for every x exactly; greedy decoding is evaluated on every x.
* the exact expected policy gradient of "continue vs stop": with the <eos> logit at position 2 shifted
  by −η on the rows where r_1 = x_1, ∂E[R]/∂η at η = 0 (autograd through the exact E[R]).  The theory
  predicts it is positive: continuing is right with probability ≈ 1, stopping with probability 1/2.
"""

from __future__ import annotations

import itertools

import torch

from toy.linear_ar import LinearAR
from toy.parity import EOS, ONE, ZERO, ParityLayout, prefix_parities, read_responses
from toy.sampling import generate, to_response_index

RIDGE = 1e-6


def all_inputs(d: int) -> torch.Tensor:
    """Every x ∈ {0,1}^d as rows (2^d, d)."""
    return torch.tensor(list(itertools.product((0, 1), repeat=d)), dtype=torch.long)


def _sequences(x: torch.Tensor, layout: ParityLayout) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Prompts and the long / short responses of every row of x (both padded to the budget L)."""
    prompts = torch.cat([x, torch.full((len(x), 1), 2)], dim=1)
    parities = prefix_parities(x)
    long = torch.cat([parities, torch.full((len(x), 1), EOS)], dim=1)
    short = torch.full_like(long, 4)
    short[:, 0], short[:, 1] = parities[:, -1], EOS
    return prompts, long, short


def fit_population_ntp(d: int, p_cot: float, ridge: float = RIDGE, max_newton_steps: int = 100) -> LinearAR:
    """The minimiser of the exact population NTP objective L_p (module docstring), float64.

    W_t appears only in position t's loss, so L_p separates into L convex softmax regressions (one per
    position, rows weighted by their probability under D(p_cot)), each solved by damped Newton steps with
    the exact Hessian until the gradient norm is below 1e-12.
    """
    layout = ParityLayout(d)
    model = LinearAR(d, layout.max_response_len).double()
    x = all_inputs(d)
    _, long, short = _sequences(x, layout)
    x_pm = (2.0 * x - 1.0).double()
    start = torch.full((len(x), 1), EOS)
    long_prev, short_prev = torch.cat([start, long[:, :-1]], 1), torch.cat([start, short[:, :-1]], 1)
    with torch.no_grad():
        for t in range(layout.max_response_len):
            # Rows of this position: every long response, and the short ones while they last (t < 2).
            prev, target = long_prev[:, t], long[:, t]
            weight = torch.full((len(x),), p_cot / len(x), dtype=torch.float64)
            if t < 2:
                prev, target = torch.cat([prev, short_prev[:, t]]), torch.cat([target, short[:, t]])
                weight = torch.cat([weight, torch.full((len(x),), (1 - p_cot) / len(x), dtype=torch.float64)])
            features = model._features(torch.cat([x_pm] * (len(prev) // len(x))), prev[:, None])[:, 0]
            model.weight[t] = _newton_softmax_regression(features, to_response_index(target), weight, ridge,
                                                         max_newton_steps)
    return model


def _newton_softmax_regression(features: torch.Tensor, target: torch.Tensor, weight: torch.Tensor,
                               ridge: float, max_steps: int) -> torch.Tensor:
    """argmin_w Σ_i c_i · CE(w φ_i, y_i) + ridge ‖w‖², w of shape (K=3, F), by damped Newton.

    Gradient Σ_i c_i (π_i − e_{y_i}) ⊗ φ_i + 2 ridge w; Hessian Σ_i c_i (diag π_i − π_i π_iᵀ) ⊗ φ_i φ_iᵀ
    + 2 ridge I.  Stops when the Newton decrement gᵀH⁻¹g falls below 1e-15: the loss (of order 1) is
    then within about 1e-15 of its minimum, i.e. at float64 round-off.
    """
    n_classes, n_features = 3, features.shape[1]
    onehot = torch.nn.functional.one_hot(target, n_classes).double()

    def loss(w: torch.Tensor) -> torch.Tensor:
        log_probs = torch.log_softmax(features @ w.T, dim=1)
        return -(weight[:, None] * onehot * log_probs).sum() + ridge * w.square().sum()

    w = torch.zeros(n_classes, n_features, dtype=torch.float64)
    eye = torch.eye(n_classes * n_features, dtype=torch.float64)
    for _ in range(max_steps):
        probs = torch.softmax(features @ w.T, dim=1)
        grad = torch.einsum("i,ik,if->kf", weight, probs - onehot, features) + 2 * ridge * w
        curvature = torch.diag_embed(probs) - probs[:, :, None] * probs[:, None, :]
        hessian = torch.einsum("i,ikl,if,ig->kflg", weight, curvature, features, features)
        hessian = hessian.reshape(eye.shape) + 2 * ridge * eye
        step = torch.linalg.solve(hessian, grad.flatten()).view_as(w)
        if float(grad.flatten() @ step.flatten()) < 1e-15:
            return w
        value, scale = loss(w), 1.0
        while loss(w - scale * step) > value and scale > 1e-8:  # backtracking keeps every step a descent
            scale /= 2
        w = w - scale * step
    raise RuntimeError(f"population NTP fit did not converge in {max_steps} Newton steps")


def _propagate(model: LinearAR, x: torch.Tensor, reach: dict, t_start: int,
               continue_shift: torch.Tensor | None = None) -> dict:
    """Forward DP from response position ``t_start``, where reach[z] = P(no <eos> yet, r_{t_start} = z).

    Accumulates P(stop with the right answer), P(stop after more than one token), and what is left
    without <eos> at the end of the budget (malformed).
    """
    answer = prefix_parities(x)[:, -1]
    correct = torch.zeros(len(x), dtype=model.weight.dtype)
    long = torch.zeros_like(correct)
    for t in range(t_start, model.max_response_len):
        step = {}
        for z in (ZERO, ONE):
            logits = model.position_logits(x, torch.full((len(x),), z), t + 1)
            if continue_shift is not None and t == 1:
                rows = (x[:, 0] == z).to(correct.dtype)
                logits = logits - continue_shift * torch.stack([0 * rows, 0 * rows, rows], dim=1)
            step[z] = logits.softmax(-1)
            stop = reach[z] * step[z][:, 2]
            correct = correct + stop * (answer == z)
            long = long + (stop if t >= 2 else 0)
        reach = {z2: sum(reach[z] * step[z][:, z2] for z in (ZERO, ONE)) for z2 in (ZERO, ONE)}
    return {"correct": correct, "long": long, "malformed": sum(reach.values())}


def exact_response_law(model: LinearAR, x: torch.Tensor, continue_shift: torch.Tensor | None = None) -> dict:
    """P(correct | x), P(long | x), P(malformed | x) at temperature 1 for every row of x, by DP.

    ``continue_shift`` (a scalar tensor η) lowers the <eos> logit at position 2 by η where r_1 = x_1.
    """
    first = model.position_logits(x, torch.full((len(x),), EOS), 1).softmax(-1)
    return _propagate(model, x, {z: first[:, z] for z in (ZERO, ONE)}, 1, continue_shift)


def greedy_metrics(model: LinearAR, x: torch.Tensor) -> dict[str, float]:
    """Greedy decoding on every row of x: exact accuracy and long fraction (decoding is deterministic)."""
    layout = ParityLayout(model.d)
    prompts = torch.cat([x, torch.full((len(x), 1), 2)], dim=1)
    stats = read_responses(generate(model, prompts, layout.max_response_len, 0.0), x, layout)
    return {"accuracy": stats.correct.double().mean().item(), "long_fraction": stats.is_long.double().mean().item()}


def continue_gradient(model: LinearAR, x: torch.Tensor) -> dict[str, float]:
    """∂E[R]/∂η at η = 0 (module docstring), with its decomposition predicted by the theory.

    Theory: ∂E[R]/∂η = E_x[ P(r_1 = x_1) · q(1 − q) · (P(correct | continue) − 1[x_1 = y]) ], with
    q = P(continue | r_1 = x_1); returned next to the autograd value as an independent cross-check.
    """
    eta = torch.zeros((), dtype=model.weight.dtype, requires_grad=True)
    expected_reward = exact_response_law(model, x, eta)["correct"].mean()
    (gradient,) = torch.autograd.grad(expected_reward, eta)
    with torch.no_grad():
        first = model.position_logits(x, torch.full((len(x),), EOS), 1).softmax(-1)
        p_first = first.gather(1, x[:, :1])[:, 0]
        q = 1 - model.position_logits(x, x[:, 0], 2).softmax(-1)[:, 2]
        # P(correct | continue after r_1 = x_1): condition the DP on the first two steps.
        continued = _correct_after_continuing(model, x)
        answer_is_first = (prefix_parities(x)[:, -1] == x[:, 0]).to(q.dtype)
        predicted = (p_first * q * (1 - q) * (continued - answer_is_first)).mean()
    return {"autograd": gradient.item(), "decomposition": predicted.item(),
            "expected_reward": expected_reward.item(), "mean_continue_prob": q.mean().item()}


def _correct_after_continuing(model: LinearAR, x: torch.Tensor) -> torch.Tensor:
    """P(correct | r_1 = x_1, r_2 ≠ <eos>) for every row of x: the DP started at position 2."""
    second = model.position_logits(x, x[:, 0], 2).softmax(-1)
    continue_mass = second[:, 0] + second[:, 1]
    return _propagate(model, x, {z: second[:, z] / continue_mass for z in (ZERO, ONE)}, 2)["correct"]
