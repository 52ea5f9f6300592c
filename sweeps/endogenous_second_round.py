"""Theorem 3 on the parity GPT: a second round of RL on the endogenous reward, now extracted from the first round's
policy: ``python -m sweeps.endogenous_second_round [SWEEP_DIR]`` (default: the paper endogenous_rl sweep).

Li et al. 2025 (arXiv 2506.23235), Theorem 3 (iterative improvement): the endogenous reward of a policy, optimised
with KL β to that policy, gives a new policy; with the KL-regularised optimum of each round (toy/policy_gradient.py,
π* ∝ π_ref^(1+α/β)), round 1 from π̂ gives π_1 ∝ π̂^(1+1/β) and round 2 from π_1 gives π_2 ∝ π_1^(1+1/β) ∝
π̂^((1+1/β)²): the law sharpens again, towards π̂'s sequence-level mode.  The linear version is exact
(endogenous_rl.second_round_sharpens_again_linear); here, for every finished job of the sweep with the endogenous
reward and β > 0, round 2 is the same post-training (the sweep's composed RL and evaluation config, same seed) started
from the job's RL stage, written to <SWEEP_DIR>/second_round/<job>/ (resumable like every run), and measured as in
sweeps/endogenous_sharpening.py: the class laws of π_1 and π_2 against π̂^((1+1/β)²)/Z, sampled from π̂ with
importance weights π̂^((1+1/β)² − 1).  Written to <SWEEP_DIR>/second_round.parquet; sweeps/endogenous_checks.py
judges it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from omegaconf import OmegaConf, open_dict

from core.runio import read_summary, torch_threads, write_parquet
from sweeps.endogenous_sharpening import ALPHA, class_laws, law_columns, measurement_arguments
from sweeps.status import compose_experiment
from toy import post_train
from toy.config import PostTrainRunConfig
from toy.evaluate import held_out_prompts
from toy.models import load_checkpoint
from toy.parity import ParityLayout

SECOND_ROUND = "second_round.parquet"
SWEPT = ("task.p_cot", "rl.reward", "rl.kl_beta", "seed")  # the sweep's grid keys (conf/experiment/...)


def round_two_config(flat: dict, round_one: Path) -> PostTrainRunConfig:
    """Round 2 of a job: the sweep's RL and evaluation config for the job's grid point, from its RL stage."""
    cfg = compose_experiment("sweep_endogenous_rl", [f"{key}={flat[key]}" for key in SWEPT])
    with open_dict(cfg):
        del cfg["hydra"]
    job = OmegaConf.to_object(cfg)
    return PostTrainRunConfig(init_from=str(round_one), rl=job.rl, eval=job.rl_eval, seed=job.seed, threads=1)


def measure(job_dir: Path, round_two: Path, prompts: int, samples: int, seed: int) -> dict:
    """Class laws of π̂ (start), π_1, π_2 and of the two-round prediction π̂^((1+1/β)²)/Z, with TV_c intervals."""
    flat = read_summary(job_dir)["config"]
    beta = float(flat["rl.kl_beta"])
    start, task, _ = load_checkpoint(job_dir / "ntp")
    layout = ParityLayout(task.d, task.leap)
    x = held_out_prompts(layout, prompts, seed)
    generator = torch.Generator().manual_seed(seed)
    laws = {"start": class_laws(start.eval(), x, layout, samples, generator),
            "round1": class_laws(load_checkpoint(job_dir / "rl")[0].eval(), x, layout, samples, generator),
            "round2": class_laws(load_checkpoint(round_two)[0].eval(), x, layout, samples, generator),
            "target": class_laws(start, x, layout, samples, generator, power=(1 + ALPHA / beta) ** 2 - 1)}
    rng = np.random.default_rng(seed)
    row = {"job": job_dir.name, "rl.kl_beta": beta, "task.p_cot": float(flat["task.p_cot"]), "seed": int(flat["seed"]),
           "prompts": prompts, "samples": samples, "measure_seed": seed,
           "round2.greedy/accuracy": read_summary(round_two)["final"]["greedy/accuracy"]}
    return row | law_columns(laws, ("round1", "round2"), rng)


def second_round(sweep_dir: Path, prompts: int = 256, samples: int = 64, seed: int = 0) -> pd.DataFrame:
    """Run (or resume) round 2 of every finished endogenous-reward job with β > 0, then measure each."""
    rows = []
    for summary in sorted(Path(sweep_dir).glob("*/summary.json")):
        job_dir = summary.parent
        flat = read_summary(job_dir)["config"]
        if flat["rl.reward"] != "endogenous" or float(flat["rl.kl_beta"]) == 0:
            continue  # β = 0 has no second round to predict: round 1 already aims at the mode
        round_two = Path(sweep_dir) / "second_round" / job_dir.name
        post_train.run(round_two_config(flat, job_dir / "rl"), round_two)
        with torch_threads(1):
            rows.append(measure(job_dir, round_two, prompts, samples, seed))
        print(f"[second round] {job_dir.name}: TV to the two-round law {rows[-1]['tv.round2']:.3f} "
              f"(round 1: {rows[-1]['tv.round1']:.3f})", flush=True)
    if not rows:
        raise FileNotFoundError(f"{sweep_dir}: no finished job with the endogenous reward and β > 0")
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    args = measurement_arguments("sweeps.endogenous_second_round", __doc__, argv)
    table = second_round(args.sweep_dir, args.prompts, args.samples, args.seed)
    write_parquet(table, args.sweep_dir / SECOND_ROUND)
    print(f"written: {args.sweep_dir / SECOND_ROUND}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
