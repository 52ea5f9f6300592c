"""The sampled sharpened law of sweeps/endogenous_sharpening.py against exact enumeration, and the controls of
parity.endogenous_rl.reaches_sharpened_law_gpt."""

import itertools

import numpy as np
import pandas as pd
import pytest
import torch

from core.ledger import REGISTRY, judge
from sweeps.collect import MissingTable
from sweeps.endogenous_checks import judge_optimum_value, judge_second_round, judge_sharpened_law
from sweeps.endogenous_second_round import round_two_config
from sweeps.endogenous_sharpening import (
    CLASSES,
    ClassLaws,
    class_laws,
    class_tv,
    cross_distance,
    per_prompt_tv_bound,
    remeasure,
    response_classes,
    value_gap,
)
from toy.linear_ar import LinearAR
from toy.parity import EOS, PAD, ParityLayout
from toy.sampling import response_log_probs

CONTROLLED_CLAIMS = {"parity.endogenous_rl.reaches_sharpened_law_gpt",
                     "parity.endogenous_rl.second_round_sharpens_again_gpt",
                     "parity.endogenous_rl.reaches_endogenous_optimum_gpt"}
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
    # Monte Carlo: 20k draws per prompt (10k per half); the self-normalised estimate's error is well below 0.02 here.
    for law in (sampled.whole, *sampled.halves):
        np.testing.assert_allclose(law, exact, atol=0.02)
    assert power == 0 or np.abs(exact - exact_class_law(model, layout, x, 0.0)).max() > 0.05  # it does sharpen


def test_the_mode_estimate_puts_all_weight_on_the_most_likely_response(model_and_layout):
    model, layout = model_and_layout
    x = torch.tensor(list(itertools.product((0, 1), repeat=D)))
    mode = class_laws(model, x, layout, 2000, torch.Generator().manual_seed(1), power=None).whole
    assert np.allclose(mode.sum(1), 1) and set(np.unique(mode)) <= {0.0, 1.0}
    np.testing.assert_array_equal(mode.argmax(1), exact_class_law(model, layout, x, 60.0).argmax(1))


def test_response_classes_of_hand_made_responses():
    layout = ParityLayout(3, 1)
    x = torch.tensor([[1, 1, 0]] * 5)  # prefix parities 1, 0, 0: the chain is 1 0 0 <eos>, the answer 0
    responses = torch.tensor([[1, 0, 0, EOS], [1, 1, 0, EOS], [0, EOS, PAD, PAD], [1, EOS, PAD, PAD], [1, 0, 0, 1]])
    assert response_classes(responses, x, layout).tolist() == [0, 1, 2, 3, 4]


def interval_columns(column: str, value: float, high: float) -> dict:
    return {column: value, f"{column}.low": max(value - 0.01, 0), f"{column}.high": high}


def sharpening_table(per_prompt: float, high: float, tv: float = 0.01, gap: float = 0.01) -> pd.DataFrame:
    """Every job: the per-prompt bound (primary) at ``per_prompt`` up to ``high``, the averaged TV at ``tv``."""
    rows = [{"job": f"{reward}-{beta}-{seed}", "rl.reward": reward, "rl.kl_beta": beta, "task.p_cot": 0.2,
             "seed": seed, "prompts": 256, "measure_seed": 0, **interval_columns("tv_prompt.final", per_prompt, high),
             **interval_columns("tv.final", tv, tv + 0.02),
             **(interval_columns("value_gap", gap, gap + 0.01) if beta == 0 else interval_columns("value_gap", *[
                 np.nan] * 2)),
             **{f"{law}.chain": 0.1 for law in ("start", "final", "target")}}
            for reward in ("endogenous", "verifiable") for beta in (0.0, 0.5) for seed in (0, 1)]
    return pd.DataFrame(rows)


CONTROLS = [(0.02, 0.05, "holds"), (0.3, 0.4, "fails"), (0.06, 0.15, "inconclusive")]


@pytest.mark.parametrize(("per_prompt", "high", "expected"), CONTROLS)
def test_reaches_sharpened_law_controls(per_prompt, high, expected):
    outcome = judge_sharpened_law(sharpening_table(per_prompt, high))
    assert judge(REGISTRY["parity.endogenous_rl.reaches_sharpened_law_gpt"], outcome).verdict == expected
    # undecided: (0.15 − 0.06) / (0.1 − 0.06) = 2.25 times too wide, so 2.25² × 256 prompts would decide it
    assert ("about 1296 held-out prompts" in outcome.detail) == (expected == "inconclusive")


def test_a_prompt_averaged_tv_past_its_tolerance_is_a_caveat():
    outcome = judge_sharpened_law(sharpening_table(0.02, 0.05, tv=0.08))
    assert judge(REGISTRY["parity.endogenous_rl.reaches_sharpened_law_gpt"], outcome).verdict == "holds-with-caveat"


def test_remeasure_replaces_only_the_named_rows_and_wants_a_fresh_seed():
    table = sharpening_table(0.06, 0.15)
    fresh = table[table["job"] == "endogenous-0.0-1"].assign(prompts=4096, measure_seed=1, **{"tv.final.high": 0.04})
    merged = remeasure(table, fresh)
    assert len(merged) == len(table) and merged["job"].is_unique
    changed = merged.set_index("job")["tv.final.high"] != table.set_index("job")["tv.final.high"]
    assert list(changed[changed].index) == ["endogenous-0.0-1"]
    assert merged.set_index("job").loc["endogenous-0.0-1", "measure_seeds"] == "0,1"
    with pytest.raises(ValueError, match="not used before"):
        remeasure(merged, fresh)
    with pytest.raises(ValueError, match="not used before"):  # the first seed too, not only the latest
        remeasure(merged, fresh.assign(measure_seed=0))
    twice = remeasure(merged, fresh.assign(measure_seed=2))
    assert twice.set_index("job").loc["endogenous-0.0-1", "measure_seeds"] == "0,1,2"
    assert "endogenous β=0 seed=1" not in judge_sharpened_law(twice).detail  # β = 0 is not judged here
    assert "measured more than once" in judge_sharpened_law(remeasure(table, fresh.assign(**{"rl.kl_beta": 0.5})
                                                                              )).detail
    late = fresh.assign(job="endogenous-0.5-9", seed=9)  # a job that finished after the first measurement
    assert len(remeasure(table, late)) == len(table) + 1
    with pytest.raises(ValueError, match="measure_seed"):
        remeasure(table.drop(columns="measure_seed"), fresh)


def test_per_prompt_bound_sees_what_the_prompt_average_hides():
    # Two prompts: the policy answers short_right on the first and short_wrong on the second, the target the
    # reverse.  The prompt-averaged laws are equal (TV 0); per prompt the laws are disjoint (TV 1).
    policy = np.array([[0, 0, 1, 0, 0], [0, 0, 0, 1, 0]], dtype=float)
    target = policy[::-1].copy()
    laws = [ClassLaws(law, (law, law), np.zeros((2, 1))) for law in (policy, target)]
    assert class_tv(policy, target) == 0
    tv, low, high = per_prompt_tv_bound(*laws, np.random.default_rng(0))
    assert tv == pytest.approx(0.5 * np.sqrt(5) * np.sqrt(2)) and low <= tv <= high  # ≥ the true per-prompt TV, 1
    same = per_prompt_tv_bound(laws[0], laws[0], np.random.default_rng(0))
    assert same == (0.0, 0.0, 0.0)


def test_the_per_prompt_cross_statistic_is_unbiased_for_the_mean_squared_distance():
    # Per prompt, two class laws; each half is the frequency law of 16 multinomial draws.  Over 4000 replicates the
    # mean cross statistic is within 4 standard errors of the exact E_x ‖π(x) − q(x)‖²₂, while the plug-in
    # ‖π̂ − q̂‖²₂ of whole samples is biased upward by many standard errors (the reason for the halves).
    rng = np.random.default_rng(5)
    pi, q = rng.dirichlet(np.ones(5), size=3), rng.dirichlet(np.ones(5), size=3)
    exact = ((pi - q) ** 2).sum(1).mean()

    def frequencies(law: np.ndarray) -> np.ndarray:
        return np.array([rng.multinomial(16, row) / 16 for row in law])

    cross, plug_in = [], []
    for _ in range(4000):
        laws = [ClassLaws(None, (frequencies(law), frequencies(law)), None) for law in (pi, q)]
        cross.append(cross_distance(*laws).mean())
        whole = [(law.halves[0] + law.halves[1]) / 2 for law in laws]
        plug_in.append(((whole[0] - whole[1]) ** 2).sum(1).mean())
    error = np.std(cross) / np.sqrt(len(cross))
    assert abs(np.mean(cross) - exact) < 4 * error
    assert np.mean(plug_in) - exact > 10 * np.std(plug_in) / np.sqrt(len(plug_in))


def test_the_cross_statistic_of_a_self_normalised_target_is_nearly_unbiased(model_and_layout):
    # The judged comparisons have a self-normalised target (32 weighted draws per half): its bias b = O(1/32) moves
    # the statistic by 2⟨v, b⟩ + ‖b‖².  Here, by enumeration, the bias of the mean over 800 replicates of 4 prompts
    # stays below 0.002, a quarter of PER_PROMPT_TV²/(5/4) = 0.008 that decides the claim (Monte Carlo error ~2e-4).
    model, layout = model_and_layout
    x = torch.tensor(list(itertools.product((0, 1), repeat=D)))
    exact = ((exact_class_law(model, layout, x, 0.0) - exact_class_law(model, layout, x, 1.0)) ** 2).sum(1).mean()
    replicas = x.repeat(800, 1)
    generator = torch.Generator().manual_seed(7)
    sampled = class_laws(model, replicas, layout, 64, generator)
    target = class_laws(model, replicas, layout, 64, generator, power=1.0)
    assert exact > 0.01  # the two laws differ: the statistic has something to estimate
    assert abs(cross_distance(sampled, target).mean() - exact) < 0.002


def test_value_gap_is_the_mean_shortfall_from_the_best_draw_of_either_law():
    target = ClassLaws(np.zeros((2, 5)), (np.zeros((2, 5)),) * 2, np.log(np.array([[0.5, 0.3], [0.2, 0.6]])))
    final = ClassLaws(np.zeros((2, 5)), (np.zeros((2, 5)),) * 2, np.log(np.array([[0.5, 0.5], [0.7, 0.6]])))
    gap, low, high = value_gap(final, target, np.random.default_rng(0))
    # prompt 1: best 0.5, the policy's draws both 0.5; prompt 2: the policy drew 0.7, better than π̂'s own best 0.6
    expected = (0 + (np.log(0.7) - 0.5 * (np.log(0.7) + np.log(0.6)))) / 2
    assert gap == pytest.approx(expected) and low <= gap <= high


def test_a_hidden_per_prompt_mismatch_fails_the_claim():
    outcome = judge_sharpened_law(sharpening_table(0.5, 0.6, tv=0.0))
    assert judge(REGISTRY["parity.endogenous_rl.reaches_sharpened_law_gpt"], outcome).verdict == "fails"


@pytest.mark.parametrize(("gap", "expected"), [(0.01, "holds"), (0.2, "fails"), (0.045, "inconclusive")])
def test_reaches_endogenous_optimum_controls(gap, expected):
    outcome = judge_optimum_value(sharpening_table(0.02, 0.05, gap=gap))
    assert judge(REGISTRY["parity.endogenous_rl.reaches_endogenous_optimum_gpt"], outcome).verdict == expected


def test_a_table_without_the_per_prompt_columns_names_the_command():
    with pytest.raises(MissingTable, match="re-measure"):
        judge_sharpened_law(sharpening_table(0.02, 0.05).drop(columns=["tv_prompt.final"]))


def second_round_table(per_prompt: float, high: float) -> pd.DataFrame:
    rows = [{"job": f"{beta}-{seed}", "prompts": 256, "rl.kl_beta": beta, "task.p_cot": 0.2, "seed": seed,
             **interval_columns("tv_prompt.round2", per_prompt, high), **interval_columns("tv.round2", 0.01, 0.03),
             "round2.greedy/accuracy": 0.5,
             **{f"{law}.chain": 0.1 for law in ("start", "round1", "round2", "target")}}
            for beta in (0.5, 2.0) for seed in (0, 1)]
    return pd.DataFrame(rows)


@pytest.mark.parametrize(("per_prompt", "high", "expected"), CONTROLS)
def test_second_round_controls(per_prompt, high, expected):
    outcome = judge_second_round(second_round_table(per_prompt, high))
    assert judge(REGISTRY["parity.endogenous_rl.second_round_sharpens_again_gpt"], outcome).verdict == expected
    assert ("about 1296 held-out prompts" in outcome.detail) == (expected == "inconclusive")
    assert ("endogenous_second_round SWEEP_DIR --prompts N" in outcome.detail) == (expected == "inconclusive")


def test_round_two_repeats_the_jobs_rl_from_its_rl_stage(tmp_path):
    flat = {"task.p_cot": 0.45, "rl.reward": "endogenous", "rl.kl_beta": 0.5, "seed": 2}
    cfg = round_two_config(flat, tmp_path / "rl")
    assert cfg.init_from == str(tmp_path / "rl") and cfg.seed == 2
    assert (cfg.rl.reward, cfg.rl.kl_beta, cfg.rl.algo, cfg.rl.kl_to_go) == ("endogenous", 0.5, "reinforce", True)
    assert cfg.eval.every == 10  # the sweep's rl_eval, not the NTP evaluation
