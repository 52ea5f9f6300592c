"""Throughput benchmark, every comparison measured side by side in one run: ``python -m toy.bench``.

Rows (each the median of ``--repeats`` timed repetitions after a warm-up):

* ``training``: NTP steps of the tiny GPT (forward + backward + AdamW) at each d → response tokens/s, all
  tokens/s, and the FLOP rate this implies (6 · parameters · tokens, the usual dense estimate, attention
  ignored) next to the same run's dense float32 matmul FLOP rate (ratio = utilisation).
* ``reference``: the same model size built from ``torch.nn.TransformerEncoder`` (pre-LN, GELU, causal mask:
  the plain PyTorch way to write a decoder-only model), same batches, same optimiser → speed-up of ours.
  Ours, the reference (and the compiled model) are timed in interleaved rounds (A B A B ...), and ``time_vs_base``
  is the median over rounds of the round's time ratio, so a slow spell of a shared machine cancels out.
* ``rollout``: generating a full response for a batch of prompts with and without the key-value cache.
* ``rl_iteration``: seconds per GRPO iteration (default RLConfig: 32 prompts × 8 samples, no KL penalty: rollout +
  one teacher-forced pass of the policy + one update), next to the same with the KL-to-start diagnostic computed
  at every iteration (one more reference pass; post-training computes it at evaluation iterations only).
* ``thread_scaling``: training at the first d with 1 and with 2 torch threads in this process (interleaved).
* ``process_scaling``: 1 process vs 2 concurrent processes of one thread each (aggregate tokens/s), i.e. what a
  2-job sweep gets out of 2 cores.
* ``compile`` (only with ``--compile``): ``torch.compile`` of the model vs eager, compile time reported.

Results go to stdout as a table and to ``--out`` as JSON.  Ratios, not absolute times, are what carry
over between machines: the machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import torch
from torch import nn

from core.paths import results_root
from core.runio import torch_threads
from toy import policy_gradient
from toy.config import GPTConfig, RLConfig
from toy.models import build_model
from toy.parity import VOCAB_SIZE, ParityLayout, sample_batch
from toy.sampling import generate
from toy.train import ntp_loss


class ReferenceGPT(nn.Module):
    """The tiny GPT's architecture in stock PyTorch modules (the baseline ours is compared against).

    Same parameter count as `toy.gpt.TinyGPT` for the same config: token and position embeddings,
    ``layers`` pre-LN ``nn.TransformerEncoderLayer`` blocks (GELU MLP, causal mask), final LayerNorm, untied head.
    """

    def __init__(self, max_len: int, cfg: GPTConfig):
        super().__init__()
        self.token_embedding = nn.Embedding(VOCAB_SIZE, cfg.width)
        self.position_embedding = nn.Embedding(max_len, cfg.width)
        layer = nn.TransformerEncoderLayer(cfg.width, cfg.heads, cfg.mlp_ratio * cfg.width, dropout=0.0,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, cfg.layers, enable_nested_tensor=False)
        self.ln_final = nn.LayerNorm(cfg.width)
        self.head = nn.Linear(cfg.width, VOCAB_SIZE, bias=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        steps = tokens.shape[1]
        h = self.token_embedding(tokens) + self.position_embedding(torch.arange(steps))
        mask = nn.Transformer.generate_square_subsequent_mask(steps)
        return self.head(self.ln_final(self.blocks(h, mask=mask, is_causal=True)))


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up: allocator, first-call overheads
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved_seconds(calls: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    """Seconds of each call in ``repeats`` rounds that run every call in turn (A B C A B C ...): a slow spell of
    the shared machine hits all of them alike, so ratios taken round by round are what the bench reports."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeats):
        for name, fn in calls.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def paired_ratio(numerator: list[float], denominator: list[float]) -> float:
    """Median over rounds of numerator[r] / denominator[r]."""
    return statistics.median(a / b for a, b in zip(numerator, denominator, strict=True))


def matmul_flops(size: int, repeats: int) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    return 2 * size**3 / median_seconds(lambda: a @ b, repeats)


def make_model(kind: str, layout: ParityLayout, model_cfg: GPTConfig) -> nn.Module:
    """'ours' (toy.gpt.TinyGPT), 'reference' (ReferenceGPT) or 'compiled' (torch.compile of ours), seeded."""
    torch.manual_seed(0)
    if kind == "reference":
        return ReferenceGPT(layout.seq_len, model_cfg)
    model = build_model(model_cfg, layout)
    return torch.compile(model) if kind == "compiled" else model


def training_call(kind: str, threads: int, layout: ParityLayout, model_cfg: GPTConfig, batch_size: int,
                  steps: int) -> tuple[Callable[[], None], dict]:
    """``steps`` NTP optimiser steps (forward + backward + AdamW) of a fresh model on fixed batches, run once.

    Returns the call and what it computes per step; ``first_call_seconds`` (model build + the first call) is where
    the whole cost of torch.compile lands.
    """
    started = time.perf_counter()
    model = make_model(kind, layout, model_cfg)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    data = torch.Generator().manual_seed(0)
    batches = [sample_batch(layout, 0.5, batch_size, data) for _ in range(steps)]

    def train_steps() -> None:
        with torch_threads(threads):
            for batch in batches:
                loss = ntp_loss(model, batch, layout)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()

    train_steps()
    return train_steps, {"parameters": sum(p.numel() for p in model.parameters()),
                         "all_tokens": batch_size * (layout.seq_len - 1),
                         "response_tokens": sum(b.response_token_count(layout) for b in batches) / steps,
                         "first_call_seconds": time.perf_counter() - started}


def bench_training(d: int, model_cfg: GPTConfig, batch_size: int, steps: int, repeats: int,
                   variants: dict[str, tuple[str, int]]) -> list[dict]:
    """One row per variant (name -> (model kind, threads)), all timed in interleaved rounds; the first is the base.

    ``time_vs_base`` is the median over rounds of this variant's time / the base's time in the same round.
    """
    layout = ParityLayout(d)
    calls, facts = {}, {}
    for name, (kind, threads) in variants.items():
        calls[name], facts[name] = training_call(kind, threads, layout, model_cfg, batch_size, steps)
    times = interleaved_seconds(calls, repeats)
    base = next(iter(variants))
    rows = []
    for name, (_, threads) in variants.items():
        seconds, fact = statistics.median(times[name]) / steps, facts[name]
        rows.append({"d": d, "model": name, "threads": threads, "parameters": fact["parameters"],
                     "ms_per_step": 1e3 * seconds, "response_tokens_per_s": fact["response_tokens"] / seconds,
                     "tokens_per_s": fact["all_tokens"] / seconds,
                     "model_flops_per_s": 6 * fact["parameters"] * fact["all_tokens"] / seconds,
                     "first_call_seconds": fact["first_call_seconds"], "round_seconds": times[name],
                     "time_vs_base": paired_ratio(times[name], times[base])})
    return rows


def _training_in_worker(arguments: tuple) -> dict:
    """Process-pool entry: `bench_training` of the one-thread model (arguments: its first five arguments)."""
    torch.set_num_threads(1)
    return bench_training(*arguments, variants={"ours": ("ours", 1)})[0]


def bench_processes(d: int, model_cfg: GPTConfig, batch_size: int, steps: int, repeats: int) -> dict:
    """Aggregate training tokens/s of 1 and of 2 concurrent one-thread processes (fresh 'spawn' workers)."""
    rates = {}
    for count in (1, 2):
        with ProcessPoolExecutor(count, mp_context=get_context("spawn")) as pool:
            rows = list(pool.map(_training_in_worker, [(d, model_cfg, batch_size, steps, repeats)] * count))
        rates[count] = sum(row["tokens_per_s"] for row in rows)
    return {"d": d, "one_process_tokens_per_s": rates[1], "two_processes_tokens_per_s": rates[2],
            "scaling": rates[2] / rates[1]}


def bench_rollout(d: int, model_cfg: GPTConfig, prompts: int, repeats: int) -> dict:
    layout = ParityLayout(d)
    model = make_model("ours", layout, model_cfg).eval()
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
    """Seconds per GRPO iteration (default RLConfig, no KL penalty) as post-training runs it (the KL-to-start
    diagnostic only at evaluation iterations) and with the diagnostic at every iteration (one more reference pass),
    interleaved; ``diagnostic_cost`` is the median round ratio of the two."""
    layout = ParityLayout(d)
    cfg = RLConfig(iterations=10**6)
    calls = {}
    for name, diagnose_every in (("lean", 10**6), ("diagnosed", 1)):
        model = make_model("ours", layout, model_cfg)
        reference = copy.deepcopy(model).requires_grad_(False)
        iterations = policy_gradient.iterate(model, reference, layout, cfg, torch.Generator().manual_seed(0),
                                             diagnose_every=diagnose_every)
        calls[name] = lambda iterations=iterations: next(iterations)
    for call in calls.values():
        call()  # warm-up
    times = interleaved_seconds(calls, repeats)
    return {"d": d, "rollouts": cfg.prompts * cfg.group_size, "seconds_per_iteration": statistics.median(times["lean"]),
            "seconds_per_iteration_diagnosed": statistics.median(times["diagnosed"]),
            "diagnostic_cost": paired_ratio(times["diagnosed"], times["lean"])}


def print_tables(result: dict) -> None:
    print(f"threads={result['threads']}  dense matmul (512x512, float32): {result['matmul_flops_per_s'] / 1e9:.2f} "
          "GFLOP/s")
    print(f"{'d':>3} {'model':>9} {'params':>8} {'ms/step':>8} {'resp tok/s':>11} {'all tok/s':>10} {'GFLOP/s':>8} "
          f"{'util':>6} {'time/ours':>9} {'1st call s':>10}")
    for r in result["training"] + result["reference"] + result.get("compile", []):
        print(f"{r['d']:>3} {r['model']:>9} {r['parameters']:>8} {r['ms_per_step']:>8.1f} "
              f"{r['response_tokens_per_s']:>11.0f} {r['tokens_per_s']:>10.0f} {r['model_flops_per_s'] / 1e9:>8.2f} "
              f"{r['flops_utilisation']:>6.1%} {r['time_vs_base']:>8.2f}x {r['first_call_seconds']:>10.1f}")
    print(f"{'d':>3} {'rollout tok/s (KV cache)':>25} {'(no cache)':>11} {'speed-up':>9}")
    for r in result["rollout"]:
        print(f"{r['d']:>3} {r['cached_tokens_per_s']:>25.0f} {r['uncached_tokens_per_s']:>11.0f} "
              f"{r['cache_speedup']:>8.2f}x")
    print(f"{'d':>3} {'GRPO s/iteration':>17} {'(KL logged every iteration)':>28} {'ratio':>6} {'rollouts':>9}")
    for r in result["rl_iteration"]:
        print(f"{r['d']:>3} {r['seconds_per_iteration']:>17.3f} {r['seconds_per_iteration_diagnosed']:>28.3f} "
              f"{r['diagnostic_cost']:>5.2f}x {r['rollouts']:>9}")
    for name, one, two in (("thread", "one_thread", "two_threads"), ("process", "one_process", "two_processes")):
        r = result[f"{name}_scaling"]
        print(f"d={r['d']} training tokens/s, {one.replace('_', ' ')}: {r[f'{one}_tokens_per_s']:.0f}, "
              f"{two.replace('_', ' ')}: {r[f'{two}_tokens_per_s']:.0f} (x{r['scaling']:.2f})")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m toy.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--d", type=int, nargs="+", default=[16, 24, 50], help="parity sizes")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (except the threads row)")
    parser.add_argument("--batch-size", type=int, default=128, help="training batch")
    parser.add_argument("--prompts", type=int, default=256, help="rollout batch")
    parser.add_argument("--steps", type=int, default=10, help="training steps per timed repetition")
    parser.add_argument("--repeats", type=int, default=5, help="timed repetitions (median reported)")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile of the model (slow start)")
    parser.add_argument("--out", type=Path, default=results_root() / "bench" / "toy_bench.json", help="JSON output")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    model_cfg = GPTConfig()
    timing = (args.batch_size, args.steps, args.repeats)

    peak = matmul_flops(512, args.repeats)
    variants = {"ours": ("ours", args.threads), "reference": ("reference", args.threads),
                **({"compiled": ("compiled", args.threads)} if args.compile else {})}
    rows = [row for d in args.d for row in bench_training(d, model_cfg, *timing, variants=variants)]
    threads = bench_training(args.d[0], model_cfg, *timing, variants={"one_thread": ("ours", 1),
                                                                      "two_threads": ("ours", 2)})
    for row in rows + threads:
        row["flops_utilisation"] = row["model_flops_per_s"] / peak
    result = {
        "threads": args.threads,
        "matmul_flops_per_s": peak,
        "training": [row for row in rows if row["model"] == "ours"],
        "reference": [row for row in rows if row["model"] == "reference"],
        **({"compile": [row for row in rows if row["model"] == "compiled"]} if args.compile else {}),
        "rollout": [bench_rollout(d, model_cfg, args.prompts, args.repeats) for d in args.d],
        "rl_iteration": [bench_rl_iteration(d, model_cfg, args.repeats) for d in args.d],
        "thread_scaling": {"d": args.d[0], "one_thread_tokens_per_s": threads[0]["tokens_per_s"],
                           "two_threads_tokens_per_s": threads[1]["tokens_per_s"],
                           "scaling": 1 / threads[1]["time_vs_base"]},
        "process_scaling": bench_processes(args.d[0], model_cfg, *timing),
    }
    print_tables(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
