"""The GPT reward-model check (sweeps/reward_model_checks.py): planted accuracy rows decide it both ways, and the
measurement runs on a real (tiny) checkpoint."""

from __future__ import annotations

import pandas as pd
import torch

from core.intervals import wilson
from core.ledger import REGISTRY, judge
from sweeps.reward_model_checks import gpt_rows, judge_gpt_threshold
from toy.config import GPTConfig, TaskConfig
from toy.models import build_model, save_checkpoint
from toy.parity import ParityLayout

CLAIM = "endogenous.gpt_long_beats_short_wrong_iff_p_above_third"
CONTROLLED_CLAIMS = {CLAIM}


def row(p_cot: float, accuracy: float, seed: int = 0, chain_learned: float = 1.0, ntp_greedy: float = 0.5,
        pairs: int = 512) -> list[dict]:
    wins = accuracy * pairs
    low, high = wilson(wins, pairs)
    base = {"model": "trained", "p_cot": p_cot, "seed_index": seed, "chain_learned": chain_learned,
            "ntp_greedy": ntp_greedy, "job": f"p={p_cot},seed={seed}", "experiment": "fig2_threshold",
            "position": 0, "exhaustive": 0, "mean_margin": 0.0, "pairs": pairs}
    return [base | {"pair_type": "long_vs_short_wrong", "variant": "outcome", "accuracy": accuracy, "low": low,
                    "high": high},
            base | {"pair_type": "short_vs_short", "variant": "outcome", "accuracy": 0.5, "low": 0.45, "high": 0.55}]


def verdict(rows) -> str:
    return judge(REGISTRY[CLAIM], judge_gpt_threshold(rows)).verdict


def test_planted_threshold_holds_and_a_reversed_one_fails():
    agree = [r for p, acc in ((0.25, 0.0), (0.45, 1.0)) for s in range(3) for r in row(p, acc, s)]
    assert verdict(agree) == "holds"
    reversed_below = [r for p, acc in ((0.25, 0.6), (0.45, 1.0)) for s in range(3) for r in row(p, acc, s)]
    assert verdict(reversed_below) == "fails"


def test_models_outside_the_prediction_are_not_evidence():
    # Inside the band (p = 0.33), chain not learned, or the short map learned below 1/3: none can decide.
    moot = row(0.33, 0.9) + row(0.25, 0.9, chain_learned=0.5) + row(0.25, 0.9, ntp_greedy=0.99)
    assert verdict(moot) == "inconclusive"
    assert verdict(moot + row(0.45, 1.0)) == "holds"  # the one informative model decides


def test_rows_come_from_a_stored_checkpoint(tmp_path):
    torch.manual_seed(0)
    task = TaskConfig(d=4, p_cot=0.25)
    model_cfg = GPTConfig(layers=1, width=8, heads=2, mlp_ratio=1)
    job = tmp_path / "seed=0"
    save_checkpoint(job / "ntp" / "checkpoint.pt", build_model(model_cfg, ParityLayout(4)), model_cfg, task, 1)
    runs = pd.DataFrame([{"job": "seed=0", "experiment": "fig2_threshold", "model.name": "gpt", "seed": 0,
                          "eval.seed": 2024, "ntp.greedy/accuracy": 0.5}])
    rows = gpt_rows(runs, tmp_path, prompts=16)
    pair = [r for r in rows if r["pair_type"] == "long_vs_short_wrong" and r["variant"] == "outcome"]
    assert len(pair) == 1 and pair[0]["pairs"] == 16 and pair[0]["p_cot"] == 0.25 and pair[0]["job"] == "seed=0"
    assert 0 <= pair[0]["low"] <= pair[0]["accuracy"] <= pair[0]["high"] <= 1
