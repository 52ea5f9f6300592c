"""RL post-training after next-token prediction: ``python -m toy.post_train init_from=RUN_DIR rl.algo=...``.

Starts from an NTP checkpoint (either model) and runs GRPO, REINFORCE (toy/policy_gradient.py) or STaR
(toy/star.py).  Every iteration logs the algorithm's rollout statistics and ``iteration_seconds`` (the update
alone, evaluation excluded); every ``eval.every`` iterations
(and at the end) the held-out metrics of toy/evaluate.py are added: greedy and sampled accuracy, long
fraction, mean response length.  Same output contract as training runs: metrics.jsonl, checkpoint.pt,
summary.json (atomically, last).

Examples:
    python -m toy.post_train init_from=outputs/ntp_p20 rl.algo=grpo
    python -m toy.post_train init_from=outputs/ntp_p20 rl.algo=reinforce rl.baseline=running_mean
    python -m toy.post_train init_from=outputs/linear_p10 rl.algo=star rl.iterations=5 rl.star_samples=20000
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from pathlib import Path

import hydra
import torch
from omegaconf import DictConfig
from tqdm import tqdm

from core.runio import (
    CHECKPOINT,
    METRICS,
    MetricsLog,
    begin_run,
    config_record,
    finish_run,
    finite_or_raise,
    run_hydra_job,
)
from toy import policy_gradient, star
from toy.config import MODEL_SCHEMAS, PostTrainRunConfig, register_configs
from toy.evaluate import evaluate, evaluate_or_check, held_out_prompts, solve_reached, solve_record
from toy.models import load_checkpoint, save_checkpoint
from toy.parity import ParityLayout


def timed(steps: Iterator[dict[str, float]]) -> Iterator[dict[str, float]]:
    """Each iteration's record with ``iteration_seconds``: the time of the update alone (rollouts, passes, step),
    without the held-out evaluation that runs between iterations, so s/iteration is read off directly."""
    while True:
        started = time.perf_counter()
        try:
            stats = next(steps)
        except StopIteration:
            return
        yield {**stats, "iteration_seconds": time.perf_counter() - started}


def run(cfg: PostTrainRunConfig, out_dir: Path) -> dict:
    """Post-train the checkpoint ``cfg.init_from`` and write the run's outputs into ``out_dir``."""
    out_dir = Path(out_dir)
    if (finished := begin_run(out_dir, cfg)) is not None:
        return finished
    model, task, blob = load_checkpoint(cfg.init_from)
    layout = ParityLayout(task.d, task.leap)
    generator = torch.Generator().manual_seed(cfg.seed)
    eval_x = held_out_prompts(layout, cfg.eval.prompts, cfg.eval.seed)
    rl = cfg.rl
    if rl.algo == "star":
        steps = star.iterate(model, layout, rl, generator)
    else:
        reference = copy.deepcopy(model).eval().requires_grad_(False)
        steps = policy_gradient.iterate(model, reference, layout, rl, generator, diagnose_every=cfg.eval.every)

    started = time.perf_counter()
    start_metrics = evaluate(model, layout, eval_x, cfg.eval.temperature, cfg.eval.seed)
    solved_at = 0 if solve_reached(start_metrics, cfg.eval) else None  # already solved: RL costs nothing
    record = {"iteration": 0, "seconds": 0.0, **start_metrics}
    with MetricsLog(out_dir / METRICS) as log:
        log.write(record)
        iterations = () if solved_at is not None else tqdm(timed(steps), total=rl.iterations, desc=rl.algo,
                                                            disable=None)
        for iteration, stats in enumerate(iterations, 1):
            record = {"iteration": iteration, "seconds": time.perf_counter() - started, **stats}
            if iteration % cfg.eval.every == 0 or iteration == rl.iterations:
                record |= evaluate_or_check(model, layout, eval_x, cfg.eval, last=iteration == rl.iterations)
                solved_at = iteration if solve_reached(record, cfg.eval) else None
            finite_or_raise(record, f"{rl.algo} iteration {iteration}")
            log.write(record)
            if solved_at is not None:
                break  # early stop at the solve criterion (before the generator runs another update)

    model_cfg = MODEL_SCHEMAS[blob["model"]["name"]](**blob["model"])
    save_checkpoint(out_dir / CHECKPOINT, model, model_cfg, task, blob["step"])
    return finish_run(out_dir, rl_summary(cfg, task, start_metrics, record, solved_at, started), config_record(cfg))


def rl_summary(cfg: PostTrainRunConfig, task, start_metrics: dict, record: dict, solved_at: int | None,
               started: float) -> dict:
    """summary.json of an RL run (also of toy/trl_arm.py's): start and final metrics, iterations, the solve point
    with its cost in sampled responses, and the seconds since ``started``."""
    samples = cfg.rl.samples_per_iteration
    return {
        "start": start_metrics,
        "final": {k: v for k, v in record.items() if "/" in k},
        "iterations": record["iteration"],
        "solved": solve_record(cfg.eval, solved_at, None if solved_at is None else solved_at * samples,
                               cfg.rl.iterations * samples),
        "rl_seconds": time.perf_counter() - started,
        "task": config_record(task),
    }


register_configs()


@hydra.main(version_base="1.3", config_path="../conf", config_name="post_train")
def main(cfg: DictConfig) -> None:
    typed, out_dir, summary = run_hydra_job(cfg, run)
    start, final = summary["start"], summary["final"]
    print(f"[{out_dir}] {typed.rl.algo}: greedy acc {start['greedy/accuracy']:.3f} -> {final['greedy/accuracy']:.3f}"
          f" | sampled length {start['sampled/mean_length']:.1f} -> {final['sampled/mean_length']:.1f}"
          f" | sampled long {start['sampled/long_fraction']:.2f} -> {final['sampled/long_fraction']:.2f}")


if __name__ == "__main__":
    main()
