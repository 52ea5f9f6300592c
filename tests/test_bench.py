"""The benchmark script runs end to end and its ratios are consistent with its own rows (no timing asserts)."""

import json

from pytest import approx

from toy.bench import main


def test_bench_writes_consistent_rows(tmp_path):
    out = tmp_path / "bench.json"
    result = main(["--d", "4", "--steps", "1", "--repeats", "1", "--prompts", "8", "--out", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    (train,), (rollout,), (rl,) = result["training"], result["rollout"], result["rl_iteration"]
    assert train["flops_utilisation"] == approx(train["model_flops_per_s"] / result["matmul_flops_per_s"])
    assert rollout["cache_speedup"] == approx(rollout["cached_tokens_per_s"] / rollout["uncached_tokens_per_s"])
    assert train["tokens_per_s"] > train["response_tokens_per_s"] > 0 and rl["seconds_per_iteration"] > 0
