"""Next-token-prediction pre-training on the parity mixture: ``python -m toy.train``.

Objective (online NTP, Tsilivis et al. 2025 §3): minimise the cross-entropy of the response tokens,
including <eos>, of fresh samples from D(p_cot):

    L(θ) = E_{(x, r) ~ D(p_cot)} [ −(1/|r|) Σ_t log π_θ(r_t | x, =, r_<t) ]   (token mean over the batch)

with π_θ the softmax over the response tokens {0, 1, <eos>} (toy/sampling.py).  The prompt bits are
i.i.d. uniform, so leaving them out of the loss only removes a constant.  Departures from the paper: CPU
scale (d ≤ 24 by default, ~10^5–10^6 samples instead of ~10^7), AdamW with warm-up and a constant or
cosine schedule (the paper's optimiser settings are not public).

Examples:
    python -m toy.train experiment=ntp_gpt_p45
    python -m toy.train recipe=linear task.p_cot=0.3 train.steps=2000
    python -m toy.train -m task.p_cot=0.25,0.3,0.36,0.4 experiment=ntp_linear

Output (core/runio.py, docs/design.md "Run directory"): metrics.jsonl, checkpoint.pt, then summary.json (atomically,
last).
"""

from __future__ import annotations

import math
import time
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
from toy.config import TrainRunConfig, register_configs
from toy.evaluate import evaluate_or_check, held_out_prompts, solve_reached, solve_record
from toy.models import build_model, load_checkpoint, save_checkpoint
from toy.parity import ParityBatch, ParityLayout, sample_batch
from toy.sampling import response_log_softmax, to_response_index


def ntp_loss(model: torch.nn.Module, batch: ParityBatch, layout: ParityLayout) -> torch.Tensor:
    """Token-mean cross-entropy of the response tokens (incl. <eos>) under the response-token policy."""
    inputs, targets, mask = batch.inputs_targets_mask(layout)
    log_probs = response_log_softmax(model(inputs))
    picked = log_probs.gather(-1, to_response_index(targets).clamp(min=0)[..., None])[..., 0]
    return -(picked * mask).sum() / mask.sum()


def lr_factor(step: int, cfg) -> float:
    """Linear warm-up to 1, then constant or cosine decay to min_lr_ratio (step counts from 0)."""
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    if cfg.schedule == "constant":
        return 1.0
    progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def run(cfg: TrainRunConfig, out_dir: Path) -> dict:
    """Train, evaluate and write the run's outputs into ``out_dir``; returns the summary."""
    out_dir = Path(out_dir)
    if (finished := begin_run(out_dir, cfg)) is not None:
        return finished
    layout = ParityLayout(cfg.task.d, cfg.task.leap)
    if cfg.init_from:
        model, start_task, _ = load_checkpoint(cfg.init_from)
        if (start_task.d, start_task.leap) != (cfg.task.d, cfg.task.leap):
            raise ValueError(f"init_from: checkpoint task d={start_task.d}, leap={start_task.leap} does not match "
                             f"task.d={cfg.task.d}, task.leap={cfg.task.leap}")
    else:
        model = build_model(cfg.model, layout)
    opt = cfg.train
    optimizer = torch.optim.AdamW(model.parameters(), lr=opt.lr, betas=(opt.beta1, opt.beta2),
                                  weight_decay=opt.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(step, opt))
    data = torch.Generator().manual_seed(cfg.seed)
    eval_x = held_out_prompts(layout, cfg.eval.prompts, cfg.eval.seed)

    started, tokens_seen, long_seen, solved_at = time.perf_counter(), 0, 0, None
    with MetricsLog(out_dir / METRICS) as log:
        for step in tqdm(range(1, opt.steps + 1), desc="ntp", mininterval=5, disable=None):
            batch = sample_batch(layout, cfg.task.p_cot, opt.batch_size, data)
            loss = ntp_loss(model, batch, layout)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"NTP loss is {loss.item()} at step {step}; try a lower train.lr")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if opt.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), opt.grad_clip)
            optimizer.step()
            scheduler.step()
            tokens_seen += batch.response_token_count(layout)
            long_seen += int(batch.is_long.sum())
            record = {"step": step, "samples": step * opt.batch_size, "long_seen": long_seen}
            if step % cfg.eval.every == 0 or step == opt.steps:
                record |= evaluate_or_check(model, layout, eval_x, cfg.eval, last=step == opt.steps)
                solved_at = step if solve_reached(record, cfg.eval) else None
            if step % cfg.log_every == 0 or step == opt.steps or solved_at:
                elapsed = time.perf_counter() - started
                record |= {"loss": loss.item(), "lr": scheduler.get_last_lr()[0], "seconds": elapsed,
                           "response_tokens_per_s": tokens_seen / elapsed}
            if len(record) > 3:
                finite_or_raise(record, f"step {step}")
                log.write(record)
            if solved_at:
                break  # early stop at the solve criterion: the run's cost is measured, not its whole budget

    save_checkpoint(out_dir / CHECKPOINT, model, cfg.model, cfg.task, step)
    final = {k: v for k, v in record.items() if "/" in k}
    return finish_run(out_dir, {
        "final": final,
        "loss": record["loss"],
        "steps": step,
        "samples": step * opt.batch_size,
        "solved": solve_record(cfg.eval, solved_at, None if solved_at is None else solved_at * opt.batch_size,
                               opt.steps * opt.batch_size),
        "long_seen": long_seen,
        "train_seconds": time.perf_counter() - started,
    }, config_record(cfg))


register_configs()


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
def main(cfg: DictConfig) -> None:
    typed, out_dir, summary = run_hydra_job(cfg, run)
    final = summary["final"]
    print(f"[{out_dir}] greedy acc {final['greedy/accuracy']:.3f}  long {final['greedy/long_fraction']:.2f} | "
          f"sampled acc {final['sampled/accuracy']:.3f}  long {final['sampled/long_fraction']:.3f} | "
          f"forced-long acc {final['forced_long/accuracy']:.3f}")


if __name__ == "__main__":
    main()
