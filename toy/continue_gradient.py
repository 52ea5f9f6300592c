"""Monte Carlo estimate of the expected policy gradient of "continue vs stop" (docs/research/parity_cot_rl.md §6.3).

Perturb the policy by lowering the <eos> logit at response position 2 by η wherever r_1 = x_1 (the first
token agrees with the first chain step, so continuing is possible).  The derivative of the expected
end-to-end reward at η = 0 is, by the score-function identity,

    ∂E[R]/∂η = E[ R · s ],   s = ∂ log π_η(r)/∂η = 1[r_1 = x_1] · (π(<eos> | s_2) − 1[r_2 = <eos>]),

estimated from N samples at temperature 1 with a normal 95% confidence interval (mean ± 1.96 SE).
The theory predicts a positive value after NTP: continuing ends correct with probability ≈ 1, stopping
with probability 1/2.  theory/parity_linear.py computes the same derivative exactly for the linear model
(tests/test_continue_gradient.py checks the two agree).

    python -m toy.continue_gradient RUN_DIR [--samples 20000] [--seed 0]
"""

from __future__ import annotations

import argparse

import torch

from toy.evaluate import with_separator
from toy.models import load_checkpoint
from toy.parity import EOS, ParityLayout, read_responses
from toy.sampling import generate, response_log_dists, to_response_index


@torch.no_grad()
def continue_gradient_mc(model: torch.nn.Module, layout: ParityLayout, samples: int,
                         generator: torch.Generator, x: torch.Tensor | None = None) -> dict[str, float]:
    """Score-function estimate of ∂E[R]/∂η with its standard error (uniform prompts unless x is given)."""
    if x is None:
        x = torch.randint(0, 2, (samples, layout.d), generator=generator)
    prompts = with_separator(x)
    responses = generate(model, prompts, layout.max_response_len, 1.0, generator)
    reward = read_responses(responses, x, layout).correct.double()
    eos_prob = response_log_dists(model, prompts, responses[:, :2])[:, 1, to_response_index(torch.tensor(EOS))]
    score = (responses[:, 0] == x[:, 0]).double() * (eos_prob.double().exp() - (responses[:, 1] == EOS).double())
    terms = reward * score
    mean, stderr = terms.mean().item(), (terms.std() / len(terms) ** 0.5).item()
    return {"gradient": mean, "stderr": stderr, "ci95_low": mean - 1.96 * stderr, "ci95_high": mean + 1.96 * stderr,
            "samples": len(terms)}


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(prog="python -m toy.continue_gradient", description=__doc__.splitlines()[0])
    parser.add_argument("run", help="an NTP (or RL) run directory or checkpoint.pt")
    parser.add_argument("--samples", type=int, default=20000, help="Monte Carlo samples")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    model, task, _ = load_checkpoint(args.run)
    result = continue_gradient_mc(model.eval(), ParityLayout(task.d, task.leap), args.samples,
                                  torch.Generator().manual_seed(args.seed))
    print(f"dE[R]/d eta = {result['gradient']:.4f}  (95% CI [{result['ci95_low']:.4f}, {result['ci95_high']:.4f}],"
          f" n = {result['samples']})")
    return result


if __name__ == "__main__":
    main()
