"""The sampled sharpened law of sweeps/endogenous_sharpening.py against exact enumeration, and the controls of
parity.endogenous_rl.reaches_sharpened_law_gpt."""

import itertools

import numpy as np
import pandas as pd
import pytest
import torch

from core.ledger import REGISTRY, judge
from sweeps.endogenous_checks import judge_second_round, judge_sharpened_law
from sweeps.endogenous_second_round import round_two_config
from sweeps.endogenous_sharpening import CLASSES, class_laws, response_classes
from toy.linear_ar import LinearAR
from toy.parity import EOS, PAD, ParityLayout
from toy.sampling import response_log_probs

CONTROLLED_CLAIMS = {"parity.endogenous_rl.reaches_sharpened_law_gpt",
                     "parity.endogenous_rl.second_round_sharpens_again_gpt"}
D = 2


def every_response(length: int) -> torch.Tensor:
    """All responses of budget ``length``: k bits then <eos> (k < length), and the length bits with no <eos>."""
    rows = [list(bits) + [EOS] + [PAD] * (length - k - 1)
            for k in range(length) for bits in itertools.product((0, 1), repeat=k)]
    rows += [list(bits) for bits in itertools.product((0, 1), repeat=length)]
    return torch.tensor(rows)


@pytest.fixture
def model_and_layout():
    layout = ParityLayout(D, 1)
    torch.manual_seed(3)
    model = LinearAR(D, layout.max_response_len)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter))  # away from uniform, so the sharpening moves the law
    return model.eval(), layout


def exact_class_law(model, layout, x: torch.Tensor, power: float) -> np.ndarray:
    """The class law of π^(1+power)/Z for each prompt of x, by enumerating every response."""
    responses = every_response(layout.max_response_len)
    laws = []
    for row in x:
        prompt = torch.cat([row, torch.tensor([2])])[None].expand(len(responses), -1)
        with torch.no_grad():
            log_likelihood = response_log_probs(model, prompt, responses).sum(1).double()
        assert torch.logsumexp(log_likelihood, 0).abs() < 1e-5  # the enumeration is the whole law
        weights = torch.softmax((1 + power) * log_likelihood, 0)
        classes = response_classes(responses, row[None].expand(len(responses), -1), layout)
        laws.append(torch.zeros(len(CLASSES), dtype=torch.float64).scatter_add_(0, classes, weights).numpy())
    return np.array(laws)


@pytest.mark.parametrize("power", [0.0, 0.5, 2.0])
def test_importance_weighted_samples_give_the_sharpened_class_law(model_and_layout, power):
    model, layout = model_and_layout
    x = torch.tensor(list(itertools.product((0, 1), repeat=D)))
    exact = exact_class_law(model, layout, x, power)
    sampled = class_laws(model, x, layout, 20_000, torch.Generator().manual_seed(0), power=power)
    # Monte Carlo: 20k draws per prompt; the self-normalised estimate's error is well below 0.02 here.
    np.testing.assert_allclose(sampled, exact, atol=0.02)
    assert power == 0 or np.abs(exact - exact_class_law(model, layout, x, 0.0)).max() > 0.05  # it does sharpen


def test_the_mode_estimate_puts_all_weight_on_the_most_likely_response(model_and_layout):
    model, layout = model_and_layout
    x = torch.tensor(list(itertools.product((0, 1), repeat=D)))
    mode = class_laws(model, x, layout, 2000, torch.Generator().manual_seed(1), power=None)
    assert np.allclose(mode.sum(1), 1) and set(np.unique(mode)) <= {0.0, 1.0}
    np.testing.assert_array_equal(mode.argmax(1), exact_class_law(model, layout, x, 60.0).argmax(1))


def test_response_classes_of_hand_made_responses():
    layout = ParityLayout(3, 1)
    x = torch.tensor([[1, 1, 0]] * 5)  # prefix parities 1, 0, 0: the chain is 1 0 0 <eos>, the answer 0
    responses = torch.tensor([[1, 0, 0, EOS], [1, 1, 0, EOS], [0, EOS, PAD, PAD], [1, EOS, PAD, PAD], [1, 0, 0, 1]])
    assert response_classes(responses, x, layout).tolist() == [0, 1, 2, 3, 4]


def sharpening_table(tv: float, high: float) -> pd.DataFrame:
    rows = [{"rl.reward": reward, "rl.kl_beta": beta, "task.p_cot": 0.2, "seed": seed, "prompts": 256, "tv.final": tv,
             "tv.final.low": max(tv - 0.01, 0), "tv.final.high": high,
             **{f"{law}.chain": 0.1 for law in ("start", "final", "target")}}
            for reward in ("endogenous", "verifiable") for beta in (0.0, 0.5) for seed in (0, 1)]
    return pd.DataFrame(rows)


@pytest.mark.parametrize(("tv", "high", "expected"), [(0.01, 0.03, "holds"), (0.2, 0.3, "fails"),
                                                      (0.03, 0.09, "inconclusive")])
def test_reaches_sharpened_law_controls(tv, high, expected):
    outcome = judge_sharpened_law(sharpening_table(tv, high))
    assert judge(REGISTRY["parity.endogenous_rl.reaches_sharpened_law_gpt"], outcome).verdict == expected
    # undecided: (0.09 − 0.03) / (0.05 − 0.03) = 3 times too wide, so 9 × 256 prompts would decide it
    assert ("about 2304 held-out prompts" in outcome.detail) == (expected == "inconclusive")


def second_round_table(tv: float, high: float) -> pd.DataFrame:
    rows = [{"rl.kl_beta": beta, "task.p_cot": 0.2, "seed": seed, "tv.round2": tv, "tv.round2.low": max(tv - 0.01, 0),
             "tv.round2.high": high, "round2.greedy/accuracy": 0.5,
             **{f"{law}.chain": 0.1 for law in ("start", "round1", "round2", "target")}}
            for beta in (0.5, 2.0) for seed in (0, 1)]
    return pd.DataFrame(rows)


@pytest.mark.parametrize(("tv", "high", "expected"), [(0.01, 0.03, "holds"), (0.2, 0.3, "fails"),
                                                      (0.03, 0.09, "inconclusive")])
def test_second_round_controls(tv, high, expected):
    outcome = judge_second_round(second_round_table(tv, high))
    assert judge(REGISTRY["parity.endogenous_rl.second_round_sharpens_again_gpt"], outcome).verdict == expected


def test_round_two_repeats_the_jobs_rl_from_its_rl_stage(tmp_path):
    flat = {"task.p_cot": 0.45, "rl.reward": "endogenous", "rl.kl_beta": 0.5, "seed": 2}
    cfg = round_two_config(flat, tmp_path / "rl")
    assert cfg.init_from == str(tmp_path / "rl") and cfg.seed == 2
    assert (cfg.rl.reward, cfg.rl.kl_beta, cfg.rl.algo, cfg.rl.kl_to_go) == ("endogenous", 0.5, "reinforce", True)
    assert cfg.eval.every == 10  # the sweep's rl_eval, not the NTP evaluation
