"""The benchmark script runs end to end and its ratios are consistent with its own rows (no timing asserts)."""

import json
import statistics

import torch
from pytest import approx

from toy.bench import ReferenceGPT, main
from toy.config import GPTConfig
from toy.models import build_model
from toy.parity import ParityLayout


def test_bench_writes_consistent_rows(tmp_path):
    out = tmp_path / "bench.json"
    result = main(["--d", "4", "--steps", "1", "--repeats", "2", "--prompts", "8", "--out", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    rows = (result[key] for key in ("training", "reference", "rollout", "rl_iteration"))
    (train,), (reference,), (rollout,), (rl,) = rows
    assert (train["model"], reference["model"]) == ("ours", "reference")
    assert train["parameters"] == reference["parameters"]  # the same model size, so the speed ratio is fair
    assert train["flops_utilisation"] == approx(train["model_flops_per_s"] / result["matmul_flops_per_s"])
    assert rollout["cache_speedup"] == approx(rollout["cached_tokens_per_s"] / rollout["uncached_tokens_per_s"])
    assert train["tokens_per_s"] > train["response_tokens_per_s"] > 0 and rl["seconds_per_iteration"] > 0
    # Ratios are per round of the interleaved timing (median of round-by-round ratios), recomputable from the rows.
    rounds = zip(reference["round_seconds"], train["round_seconds"], strict=True)
    assert reference["time_vs_base"] == approx(statistics.median(r / o for r, o in rounds))
    assert train["time_vs_base"] == 1.0 and len(train["round_seconds"]) == 2
    assert result["thread_scaling"]["d"] == result["process_scaling"]["d"] == 4
    two_processes = result["process_scaling"]
    assert two_processes["scaling"] == approx(two_processes["two_processes_tokens_per_s"]
                                              / two_processes["one_process_tokens_per_s"])
    assert torch.get_num_threads() == 1  # the two-thread variant restores the setting after every call


def test_reference_model_is_a_causal_transformer_of_the_same_size():
    cfg, layout = GPTConfig(layers=2, width=32, heads=4), ParityLayout(6)
    ours, reference = build_model(cfg, layout), ReferenceGPT(layout.seq_len, cfg)
    assert sorted(p.numel() for p in ours.parameters()) == sorted(p.numel() for p in reference.parameters())
    tokens = torch.randint(0, 2, (3, layout.seq_len))
    changed = tokens.clone()
    changed[:, 5:] = 1 - changed[:, 5:]
    with torch.no_grad():
        before, after = reference(tokens), reference(changed)
    assert torch.allclose(before[:, :5], after[:, :5]) and not torch.allclose(before[:, 5:], after[:, 5:])
