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

The prompt average can hide a policy that is wrong prompt by prompt (the right class on half the prompts where q puts
the wrong one, and the reverse on the other half), so each law is also judged per prompt: an upper bound on E_x
TV_c(π(·|x), q(·|x)) from an estimate of the mean squared per-prompt distance that two independent halves of the draws
(32 each of 64) keep free of the sampling noise's own square (cross_distance, per_prompt_tv_bound). At β = 0 the
prediction is π̂'s mode, which is not identifiable where π̂ nearly ties two responses (below 1/3 the two short answers,
each ≈ (1 − p_cot)/2); the reward's optimal *value* still is, and the table has the value gap E_x[max_r log π̂(r|x) −
E_(r∼π) log π̂(r|x)] in nats (value_gap): sweeps/endogenous_checks.py judges the law at β > 0 and the value at
β = 0.

Written to <SWEEP_DIR>/sharpening.parquet, one row per job: reward, β, p_cot, seed, prompts, samples, the
measurement's seed (and every seed of the job's measurements), the three class laws (start, final, target),
TV_c(final, target) and TV_c(start, target), the per-prompt bounds of both, and at β = 0 the value gap, each with its
interval.  sweeps/endogenous_checks.py judges it.  A job left undecided (its interval straddles the tolerance) can be
re-measured alone at the budget the check names, with a fresh seed, replacing its row (remeasure says what that
costs the claim): ``python -m sweeps.endogenous_sharpening SWEEP_DIR --jobs JOB ... --prompts N --seed S``.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
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


@dataclass(frozen=True)
class ClassLaws:
    """One law's per-prompt class laws (P, 5) from a prompt's ``samples`` draws: ``whole`` from all of them,
    ``halves`` from the first and the second half separately (two independent estimates, for the unbiased per-prompt
    distance); ``log_likelihood`` (P, samples): each draw's log-likelihood under the scorer."""

    whole: np.ndarray
    halves: tuple[np.ndarray, np.ndarray]
    log_likelihood: np.ndarray


def weighted_class_law(classes: torch.Tensor, log_likelihood: torch.Tensor, power: float | None) -> np.ndarray:
    """Per prompt (P, 5): the class law of the draws (P, S) reweighted by π(r|x)^power within the prompt (0: plain
    frequencies; None: all weight on the prompt's most likely draw, the mode's estimate)."""
    if power is None:
        weights = torch.nn.functional.one_hot(log_likelihood.argmax(1), log_likelihood.shape[1]).double()
    else:
        weights = torch.softmax(power * log_likelihood, dim=1)
    return torch.zeros(len(classes), len(CLASSES), dtype=torch.float64).scatter_add_(1, classes, weights).numpy()


@torch.no_grad()
def class_laws(model: torch.nn.Module, x: torch.Tensor, layout: ParityLayout, samples: int,
               generator: torch.Generator, power: float | None = 0.0,
               scorer: torch.nn.Module | None = None) -> ClassLaws:
    """``model``'s responses to every prompt of x, ``samples`` each at T = 1, as class laws reweighted by
    π(r|x)^power (weighted_class_law); ``scorer`` (default ``model``) gives the log-likelihoods."""
    repeated = x.repeat_interleave(samples, 0)
    prompts = with_separator(repeated)
    responses = generate(model, prompts, layout.max_response_len, 1.0, generator)
    classes = response_classes(responses, repeated, layout).view(len(x), samples)
    log_likelihood = response_log_probs(model, prompts, responses).sum(1).view(len(x), samples).double()
    scored = log_likelihood if scorer is None else response_log_probs(
        scorer, prompts, responses).sum(1).view(len(x), samples).double()
    half = samples // 2
    return ClassLaws(weighted_class_law(classes, log_likelihood, power),
                     (weighted_class_law(classes[:, :half], log_likelihood[:, :half], power),
                      weighted_class_law(classes[:, half:], log_likelihood[:, half:], power)), scored.numpy())


def class_tv(first: np.ndarray, second: np.ndarray) -> float:
    """TV between the prompt-averaged class laws of two (P, 5) per-prompt laws."""
    return 0.5 * float(np.abs(first.mean(0) - second.mean(0)).sum())


def mean_with_interval(per_prompt: np.ndarray, rng: np.random.Generator) -> tuple[float, float, float]:
    """The mean over prompts of a per-prompt quantity and its percentile bootstrap interval over prompts."""
    low, high = bootstrap_interval(np.arange(len(per_prompt)), lambda rows: float(per_prompt[rows].mean()), rng,
                                   resamples=BOOTSTRAP_DRAWS)
    return float(per_prompt.mean()), low, high


def cross_distance(first: ClassLaws, second: ClassLaws) -> np.ndarray:
    """Per prompt (P,): ⟨v̂¹(x), v̂²(x)⟩ with v̂ʰ = first.halves[h] − second.halves[h], the two halves' independent
    estimates of v(x) = π_c(x) − q_c(x).  E⟨v̂¹, v̂²⟩ = ⟨E v̂¹, E v̂²⟩: exactly ‖v(x)‖²₂ when both halves are unbiased
    (plain frequencies); with a self-normalised or a mode target each half carries a bias b = O(1/draws per half),
    and the estimate is off by 2⟨v, b⟩ + ‖b‖², where the plug-in ‖v̂‖² of all the draws is off by the sampling
    variance, O(1/draws), whatever v is."""
    return ((first.halves[0] - second.halves[0]) * (first.halves[1] - second.halves[1])).sum(1)


def per_prompt_tv_bound(first: ClassLaws, second: ClassLaws, rng: np.random.Generator) -> tuple[float, float, float]:
    """An upper bound on the per-prompt class TV E_x TV_c(π(·|x), q(·|x)), with its bootstrap interval over prompts.

    The prompt-averaged TV_c (class_tv) cannot see a policy that puts one prompt's mass on the wrong class and another
    prompt's on the right one in the same proportions: the average hides it.  Per prompt, with v(x) = π_c(x) − q_c(x),
    E_x TV_c(x) = ½ E_x ‖v(x)‖₁ ≤ (√5/2) √(E_x ‖v(x)‖²₂) (Cauchy–Schwarz, then Jensen), and E_x ‖v(x)‖²₂ is estimated
    by mean_x cross_distance (unbiased for frequencies; for the weighted targets see there).  A negative estimate
    counts as 0; the interval is the bootstrap interval of the mean mapped through the monotone bound."""
    def bound(mean_square: float) -> float:
        return 0.5 * np.sqrt(len(CLASSES)) * np.sqrt(max(mean_square, 0.0))

    return tuple(bound(value) for value in mean_with_interval(cross_distance(first, second), rng))


def tv_with_interval(first: np.ndarray, second: np.ndarray, rng: np.random.Generator) -> tuple[float, float, float]:
    """TV_c and its percentile bootstrap interval over prompts (the same prompts resampled for both laws)."""
    low, high = bootstrap_interval(np.arange(len(first)), lambda rows: class_tv(first[rows], second[rows]), rng,
                                   resamples=BOOTSTRAP_DRAWS)
    return class_tv(first, second), low, high


def value_gap(final: ClassLaws, target: ClassLaws, rng: np.random.Generator) -> tuple[float, float, float]:
    """β = 0: how far the policy's expected reward falls short of the optimum, in nats, E_x[max_r log π̂(r|x) −
    E_(r∼π) log π̂(r|x)] (``final`` scored by π̂), with its bootstrap interval.  The max is over every drawn response of
    both laws, all scored by π̂: it misses the mode only where neither law drew it (probability ≤ (1 − π̂(mode))^64 for
    π̂'s draws), and then understates the gap.  Unlike the class laws this is well defined when π̂ nearly ties two
    responses and the mode is not identifiable."""
    best = np.maximum(target.log_likelihood.max(1), final.log_likelihood.max(1))
    return mean_with_interval(best - final.log_likelihood.mean(1), rng)


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
            "final": class_laws(final.eval(), x, layout, samples, generator, scorer=start),
            "target": class_laws(start, x, layout, samples, generator, power=ALPHA / beta if beta > 0 else None)}
    rng = np.random.default_rng(seed)
    row = {"job": job_dir.name, "rl.reward": config["rl.reward"], "rl.kl_beta": beta,
           "task.p_cot": float(config["task.p_cot"]), "seed": int(config["seed"]), "prompts": prompts,
           "samples": samples, "measure_seed": seed, "measure_seeds": str(seed)}
    row |= law_columns(laws, ("final", "start"), rng)
    gap = value_gap(laws["final"], laws["target"], rng) if beta == 0 else (np.nan,) * 3
    return row | dict(zip(("value_gap", "value_gap.low", "value_gap.high"), gap, strict=True))


def law_columns(laws: dict[str, ClassLaws], compared: tuple[str, ...], rng: np.random.Generator) -> dict:
    """Table columns of per-prompt class laws: each law's prompt-averaged class shares ('<name>.<class>') and, for
    each name in ``compared``, its TV_c to laws['target'] ('tv.<name>') and the per-prompt TV bound
    ('tv_prompt.<name>'), each with its bootstrap interval ('.low', '.high')."""
    columns = {f"{name}.{label}": float(value) for name, law in laws.items()
               for label, value in zip(CLASSES, law.whole.mean(0), strict=True)}
    for name in compared:
        columns[f"tv.{name}"], columns[f"tv.{name}.low"], columns[f"tv.{name}.high"] = tv_with_interval(
            laws[name].whole, laws["target"].whole, rng)
    for name in compared:  # after every prompt-averaged TV, whose bootstrap draws stay those of earlier tables
        bounds = per_prompt_tv_bound(laws[name], laws["target"], rng)
        columns |= dict(zip((f"tv_prompt.{name}", f"tv_prompt.{name}.low", f"tv_prompt.{name}.high"), bounds,
                            strict=True))
    return columns


def measure_sweep(sweep_dir: Path, prompts: int = 256, samples: int = 64, seed: int = 0,
                  only: list[str] | None = None) -> pd.DataFrame:
    """Every finished job of ``sweep_dir`` (or the ones named in ``only``), in job-name order, on one torch thread
    (bitwise repeatable)."""
    jobs = sorted(path.parent for path in Path(sweep_dir).glob("*/summary.json"))
    if not jobs:
        raise FileNotFoundError(f"{sweep_dir}: no finished job (run `{sweep_command('endogenous_rl', 'paper')}`)")
    if only is not None:
        unknown = sorted(set(only) - {job.name for job in jobs})
        if unknown:
            raise FileNotFoundError(f"{sweep_dir}: no finished job named {', '.join(unknown)}")
        jobs = [job for job in jobs if job.name in only]
    with torch_threads(1):
        return pd.DataFrame([measure_job(job, prompts, samples, seed) for job in jobs])


def remeasure(table: pd.DataFrame, fresh: pd.DataFrame) -> pd.DataFrame:
    """``table`` with the rows of the jobs in ``fresh`` replaced by their new measurement (a job not in ``table`` yet
    is added).

    Each interval keeps its coverage when its measurement is independent of the one that selected the job: a
    fresh ``--seed`` (prompts, samples and bootstrap), so a seed any earlier measurement of the job used is refused
    (``measure_seeds`` keeps them all).  The claim is another matter: a job that is undecided, then re-measured, has
    two chances to pass, so its false-pass probability is up to twice the interval's α; the check names the jobs
    measured more than once."""
    if "measure_seed" not in table:
        raise ValueError("the table predates the measure_seed column: re-measure every job once before re-measuring "
                         "some (`python -m sweeps.endogenous_sharpening SWEEP_DIR`)")
    history = table.set_index("job")["measure_seeds"] if "measure_seeds" in table else (
        table.set_index("job")["measure_seed"].astype(str))
    rows = []
    for _, row in fresh.iterrows():
        used = history.get(row["job"], "")
        if str(row["measure_seed"]) in used.split(","):
            raise ValueError(f"--seed {row['measure_seed']} already measured {row['job']}: a re-measurement needs a "
                             "seed not used before")
        rows.append(row.to_dict() | {"measure_seeds": f"{used},{row['measure_seed']}".lstrip(",")})
    kept = table[~table["job"].isin(fresh["job"])]
    if "measure_seeds" not in kept:
        kept = kept.assign(measure_seeds=kept["measure_seed"].astype(str))
    return pd.concat([kept, pd.DataFrame(rows)], ignore_index=True).sort_values("job", ignore_index=True)


def load_measured(table: str, module: str, profile: str, sweeps_root: Path = RESULTS_ROOT) -> pd.DataFrame:
    """A table that ``python -m <module>`` measured on the endogenous_rl sweep (this module's SHARPENING, or
    sweeps/endogenous_second_round.py's), or MissingTable naming the two commands that make it."""
    path = Path(sweeps_root) / "endogenous_rl" / profile / table
    if not path.exists():
        raise MissingTable(f"{path} is missing: make it with `{sweep_command('endogenous_rl', profile)}`, then "
                           f"`python -m {module} {path.parent}`")
    return pd.read_parquet(path)


def measurement_arguments(module: str, doc: str, argv: list[str] | None,
                          jobs_option: bool = False) -> argparse.Namespace:
    """The command line of both endogenous_rl measurements (this module and sweeps/endogenous_second_round.py);
    ``jobs_option``: ``--jobs`` re-measures the named jobs only, replacing their rows of the existing table."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=doc.splitlines()[0])
    parser.add_argument("sweep_dir", type=Path, nargs="?",
                        default=results_root() / "sweeps" / "endogenous_rl" / "paper", help="the sweep's directory")
    parser.add_argument("--prompts", type=int, default=256, help="held-out prompts per job")
    parser.add_argument("--samples", type=int, default=64, help="responses per prompt and law")
    parser.add_argument("--seed", type=int, default=0, help="seed of the prompts, the samples and the bootstrap")
    if jobs_option:
        parser.add_argument("--jobs", nargs="+", metavar="JOB",
                            help="re-measure only these job directories (a fresh --seed), keeping the other rows")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = measurement_arguments("sweeps.endogenous_sharpening", __doc__, argv, jobs_option=True)
    table = measure_sweep(args.sweep_dir, args.prompts, args.samples, args.seed, args.jobs)
    if args.jobs:
        table = remeasure(pd.read_parquet(args.sweep_dir / SHARPENING), table)
    write_parquet(table, args.sweep_dir / SHARPENING)
    columns = ["rl.reward", "rl.kl_beta", "task.p_cot", "seed", "tv.final", "tv.final.low", "tv.final.high",
               "tv.start"]
    print(table[columns].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"written: {args.sweep_dir / SHARPENING}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
