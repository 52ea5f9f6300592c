"""How close RL on the endogenous reward brings the parity GPT to the predicted sharpened law:
``python -m sweeps.endogenous_sharpening [SWEEP_DIR]`` (default: the paper endogenous_rl sweep).

Prediction (toy/policy_gradient.py, learned/endogenous_rl.py): RL on the start model's outcome endogenous reward
r̂ = α log π̂(r|x) + V(s_1) with KL β to π̂ has the optimum q_β ∝ π̂^(1+α/β) (α = 1), a sequence-level sharpening of
π̂; at β = 0 the optimum is π̂'s sequence-level mode.  On the linear model learned/endogenous_rl_claims.py measures
the distance exactly; the GPT's response law has no closed form, so here both laws are *sampled* and compared on
five response classes,

    chain (the exact long response) · long_other (long, not the exact chain) · short_right · short_wrong · malformed,

by the total variation of their prompt-averaged class laws, TV_c = ½ Σ_c |P_π(c) − P_q(c)|, a lower bound on the
TV between the two response laws (coarse-graining can only shrink a TV).  P_π(c) is the class frequency of
``samples`` responses per held-out prompt from the RL policy at T = 1; P_q(c) is the self-normalised importance
estimate from ``samples`` responses per prompt of π̂: weights π̂(r|x)^(α/β), normalised within the prompt; at β = 0
the most likely of the prompt's drawn responses stands for the mode.  Both are consistent as ``samples`` grows (the
mode estimate needs the mode among the draws: the chain, whose probability at the NTP optimum is ≈ p_cot, always
is at 64 draws).  Intervals: percentile bootstrap over prompts (the two laws share the prompts).

Written to <SWEEP_DIR>/sharpening.parquet, one row per job: reward, β, p_cot, seed, the three class laws (start,
final, target), TV_c(final, target) and TV_c(start, target) with their intervals.  sweeps/endogenous_checks.py
judges it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from core.intervals import bootstrap_interval
from core.paths import results_root
from core.runio import read_summary, torch_threads, write_parquet
from sweeps.collect import RESULTS_ROOT, MissingTable, sweep_command
from toy.evaluate import held_out_prompts, with_separator
from toy.models import load_checkpoint
from toy.parity import ParityLayout, read_responses
from toy.sampling import generate, response_log_probs

SHARPENING = "sharpening.parquet"
CLASSES = ("chain", "long_other", "short_right", "short_wrong", "malformed")
ALPHA = 1.0  # the endogenous reward's temperature: the start model's training temperature
BOOTSTRAP_DRAWS = 1000


def response_classes(responses: torch.Tensor, x: torch.Tensor, layout: ParityLayout) -> torch.Tensor:
    """The class index (CLASSES) of every response (N,)."""
    stats = read_responses(responses, x, layout)
    short = ~stats.malformed & ~stats.is_long
    return torch.where(stats.malformed, 4, torch.where(stats.chain_correct, 0, torch.where(
        stats.is_long, 1, torch.where(short & stats.correct, 2, 3))))


@torch.no_grad()
def class_laws(model: torch.nn.Module, x: torch.Tensor, layout: ParityLayout, samples: int,
               generator: torch.Generator, power: float | None = 0.0) -> np.ndarray:
    """Per prompt (P, 5): the law over CLASSES of ``model``'s responses reweighted by π(r|x)^power within the prompt
    (0: plain frequencies; None: all weight on the prompt's most likely drawn response, the mode's estimate)."""
    repeated = x.repeat_interleave(samples, 0)
    prompts = with_separator(repeated)
    responses = generate(model, prompts, layout.max_response_len, 1.0, generator)
    classes = response_classes(responses, repeated, layout).view(len(x), samples)
    log_likelihood = response_log_probs(model, prompts, responses).sum(1).view(len(x), samples).double()
    if power is None:
        weights = torch.nn.functional.one_hot(log_likelihood.argmax(1), samples).double()
    else:
        weights = torch.softmax(power * log_likelihood, dim=1)
    return torch.zeros(len(x), len(CLASSES), dtype=torch.float64).scatter_add_(1, classes, weights).numpy()


def class_tv(first: np.ndarray, second: np.ndarray) -> float:
    """TV between the prompt-averaged class laws of two (P, 5) per-prompt laws."""
    return 0.5 * float(np.abs(first.mean(0) - second.mean(0)).sum())


def tv_with_interval(first: np.ndarray, second: np.ndarray, rng: np.random.Generator) -> tuple[float, float, float]:
    """TV_c and its percentile bootstrap interval over prompts (the same prompts resampled for both laws)."""
    low, high = bootstrap_interval(np.arange(len(first)), lambda rows: class_tv(first[rows], second[rows]), rng,
                                   resamples=BOOTSTRAP_DRAWS)
    return class_tv(first, second), low, high


def measure_job(job_dir: Path, prompts: int, samples: int, seed: int) -> dict:
    """One row of the table for a finished job of the endogenous_rl sweep (its ntp/ and rl/ stage links)."""
    config = read_summary(job_dir)["config"]
    start, task, _ = load_checkpoint(job_dir / "ntp")
    final, _, _ = load_checkpoint(job_dir / "rl")
    layout = ParityLayout(task.d, task.leap)
    x = held_out_prompts(layout, prompts, seed)
    beta = float(config["rl.kl_beta"])
    generator = torch.Generator().manual_seed(seed)
    laws = {"start": class_laws(start.eval(), x, layout, samples, generator),
            "final": class_laws(final.eval(), x, layout, samples, generator),
            "target": class_laws(start, x, layout, samples, generator, power=ALPHA / beta if beta > 0 else None)}
    rng = np.random.default_rng(seed)
    row = {"job": job_dir.name, "rl.reward": config["rl.reward"], "rl.kl_beta": beta,
           "task.p_cot": float(config["task.p_cot"]), "seed": int(config["seed"]), "prompts": prompts,
           "samples": samples}
    return row | law_columns(laws, ("final", "start"), rng)


def law_columns(laws: dict[str, np.ndarray], compared: tuple[str, ...], rng: np.random.Generator) -> dict:
    """Table columns of per-prompt class laws (name -> (P, 5)): each law's prompt-averaged class shares
    ('<name>.<class>') and, for each name in ``compared``, its TV_c to laws['target'] with the bootstrap interval."""
    columns = {f"{name}.{label}": float(value) for name, law in laws.items()
               for label, value in zip(CLASSES, law.mean(0), strict=True)}
    for name in compared:
        columns[f"tv.{name}"], columns[f"tv.{name}.low"], columns[f"tv.{name}.high"] = tv_with_interval(
            laws[name], laws["target"], rng)
    return columns


def measure_sweep(sweep_dir: Path, prompts: int = 256, samples: int = 64, seed: int = 0) -> pd.DataFrame:
    """Every finished job of ``sweep_dir``, in job-name order, on one torch thread (bitwise repeatable)."""
    jobs = sorted(path.parent for path in Path(sweep_dir).glob("*/summary.json"))
    if not jobs:
        raise FileNotFoundError(f"{sweep_dir}: no finished job (run `{sweep_command('endogenous_rl', 'paper')}`)")
    with torch_threads(1):
        return pd.DataFrame([measure_job(job, prompts, samples, seed) for job in jobs])


def load_measured(table: str, module: str, profile: str, sweeps_root: Path = RESULTS_ROOT) -> pd.DataFrame:
    """A table that ``python -m <module>`` measured on the endogenous_rl sweep (this module's SHARPENING, or
    sweeps/endogenous_second_round.py's), or MissingTable naming the two commands that make it."""
    path = Path(sweeps_root) / "endogenous_rl" / profile / table
    if not path.exists():
        raise MissingTable(f"{path} is missing: make it with `{sweep_command('endogenous_rl', profile)}`, then "
                           f"`python -m {module} {path.parent}`")
    return pd.read_parquet(path)


def measurement_arguments(module: str, doc: str, argv: list[str] | None) -> argparse.Namespace:
    """The command line of both endogenous_rl measurements (this module and sweeps/endogenous_second_round.py)."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=doc.splitlines()[0])
    parser.add_argument("sweep_dir", type=Path, nargs="?",
                        default=results_root() / "sweeps" / "endogenous_rl" / "paper", help="the sweep's directory")
    parser.add_argument("--prompts", type=int, default=256, help="held-out prompts per job")
    parser.add_argument("--samples", type=int, default=64, help="responses per prompt and law")
    parser.add_argument("--seed", type=int, default=0, help="seed of the prompts, the samples and the bootstrap")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = measurement_arguments("sweeps.endogenous_sharpening", __doc__, argv)
    table = measure_sweep(args.sweep_dir, args.prompts, args.samples, args.seed)
    write_parquet(table, args.sweep_dir / SHARPENING)
    columns = ["rl.reward", "rl.kl_beta", "task.p_cot", "seed", "tv.final", "tv.final.low", "tv.final.high",
               "tv.start"]
    print(table[columns].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"written: {args.sweep_dir / SHARPENING}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
