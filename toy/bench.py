"""Throughput benchmark, everything measured side by side in one process: ``python -m toy.bench``.

Rows (each the median of ``--repeats`` timed repetitions after a warm-up):

* ``ntp_train``: NTP training steps of the tiny GPT (forward + backward + AdamW) → response tokens/s and
  all tokens/s, and the FLOP rate this implies (6 · parameters · tokens, the usual dense estimate,
  attention ignored) next to the same process's dense float32 matmul FLOP rate (ratio = utilisation).
* ``rollout``: generating a full response for a batch of prompts with and without the key-value cache
  (tokens/s and the cached/uncached speed-up ratio).
* ``rl_iteration``: seconds per GRPO iteration (default RLConfig: 32 prompts × 8 samples, rollout +
  teacher-forced log-probs of the policy and the reference + one update).

Results go to stdout as a table and to ``--out`` as JSON.  Ratios, not absolute times, are what carry
over between machines: the machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
from pathlib import Path

import torch

from toy import policy_gradient
from toy.config import GPTConfig, RLConfig
from toy.models import build_model
from toy.parity import ParityLayout, sample_batch
from toy.sampling import generate
from toy.train import ntp_loss


def median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up: allocator, first-call overheads
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def matmul_flops(size: int, repeats: int) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    return 2 * size**3 / median_seconds(lambda: a @ b, repeats)


def bench_training(d: int, model_cfg: GPTConfig, batch_size: int, steps: int, repeats: int) -> dict:
    layout = ParityLayout(d)
    torch.manual_seed(0)
    model = build_model(model_cfg, layout)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    data = torch.Generator().manual_seed(0)
    batches = [sample_batch(layout, 0.5, batch_size, data) for _ in range(steps)]

    def train_steps():
        for batch in batches:
            loss = ntp_loss(model, batch, layout)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

    seconds = median_seconds(train_steps, repeats) / steps
    n_params = sum(p.numel() for p in model.parameters())
    all_tokens = batch_size * (layout.seq_len - 1)
    response_tokens = sum(b.response_token_count(layout) for b in batches) / steps
    return {
        "d": d,
        "parameters": n_params,
        "ms_per_step": 1e3 * seconds,
        "response_tokens_per_s": response_tokens / seconds,
        "tokens_per_s": all_tokens / seconds,
        "model_flops_per_s": 6 * n_params * all_tokens / seconds,
    }


def bench_rollout(d: int, model_cfg: GPTConfig, prompts: int, repeats: int) -> dict:
    layout = ParityLayout(d)
    torch.manual_seed(0)
    model = build_model(model_cfg, layout).eval()
    x = sample_batch(layout, 1.0, prompts, torch.Generator().manual_seed(0)).tokens[:, : layout.prompt_len]
    budget = layout.max_response_len

    def rollout(use_cache: bool):
        # Forced to the full budget so both paths generate the same number of tokens.
        return lambda: generate(model, x, budget, 1.0, torch.Generator().manual_seed(1), use_cache, budget - 1)

    cached, uncached = median_seconds(rollout(True), repeats), median_seconds(rollout(False), repeats)
    tokens = prompts * budget
    return {"d": d, "prompts": prompts, "cached_tokens_per_s": tokens / cached,
            "uncached_tokens_per_s": tokens / uncached, "cache_speedup": uncached / cached}


def bench_rl_iteration(d: int, model_cfg: GPTConfig, repeats: int) -> dict:
    layout = ParityLayout(d)
    torch.manual_seed(0)
    model = build_model(model_cfg, layout)
    reference = copy.deepcopy(model).requires_grad_(False)
    cfg = RLConfig(iterations=10**6)
    iterations = policy_gradient.iterate(model, reference, layout, cfg, torch.Generator().manual_seed(0))
    seconds = median_seconds(lambda: next(iterations), repeats)
    return {"d": d, "rollouts": cfg.prompts * cfg.group_size, "seconds_per_iteration": seconds}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m toy.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--d", type=int, nargs="+", default=[16], help="parity sizes")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--batch-size", type=int, default=128, help="training batch")
    parser.add_argument("--prompts", type=int, default=256, help="rollout batch")
    parser.add_argument("--steps", type=int, default=10, help="training steps per timed repetition")
    parser.add_argument("--repeats", type=int, default=5, help="timed repetitions (median reported)")
    parser.add_argument("--out", type=Path, default=Path("results/bench/toy_bench.json"), help="JSON output")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    model_cfg = GPTConfig()

    peak = matmul_flops(512, args.repeats)
    train_rows = [bench_training(d, model_cfg, args.batch_size, args.steps, args.repeats) for d in args.d]
    for row in train_rows:
        row["flops_utilisation"] = row["model_flops_per_s"] / peak
    rollout_rows = [bench_rollout(d, model_cfg, args.prompts, args.repeats) for d in args.d]
    rl_rows = [bench_rl_iteration(d, model_cfg, args.repeats) for d in args.d]

    print(f"threads={args.threads}  dense matmul (512x512, float32): {peak / 1e9:.2f} GFLOP/s")
    print(f"{'d':>3} {'params':>8} {'ms/step':>8} {'resp tok/s':>11} {'all tok/s':>10} {'GFLOP/s':>8} {'util':>6}")
    for r in train_rows:
        print(f"{r['d']:>3} {r['parameters']:>8} {r['ms_per_step']:>8.1f} {r['response_tokens_per_s']:>11.0f} "
              f"{r['tokens_per_s']:>10.0f} {r['model_flops_per_s'] / 1e9:>8.2f} {r['flops_utilisation']:>6.1%}")
    print(f"{'d':>3} {'rollout tok/s (KV cache)':>25} {'(no cache)':>11} {'speed-up':>9}")
    for r in rollout_rows:
        print(f"{r['d']:>3} {r['cached_tokens_per_s']:>25.0f} {r['uncached_tokens_per_s']:>11.0f} "
              f"{r['cache_speedup']:>8.2f}x")
    print(f"{'d':>3} {'GRPO s/iteration':>17} {'rollouts':>9}")
    for r in rl_rows:
        print(f"{r['d']:>3} {r['seconds_per_iteration']:>17.3f} {r['rollouts']:>9}")
    result = {"threads": args.threads, "matmul_flops_per_s": peak, "training": train_rows, "rollout": rollout_rows,
              "rl_iteration": rl_rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
