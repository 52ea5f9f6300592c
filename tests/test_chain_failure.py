"""Whole-chain failure vs d (learned/chain_failure.py): the exact per-step errors and F against toy/compounding.py and
Monte Carlo, the sequence-level sharpening's per-step law against enumeration, and the planted positive and negative
controls of learned/chain_failure_claims.py."""

import dataclasses

import numpy as np
import pytest
import torch

from core.ledger import REGISTRY, Context, evaluate, judge
from learned import chain_failure_claims as claims
from learned.chain_failure import (
    FAMILIES,
    chain_step_errors,
    enumerated_step_errors,
    failure_summary,
    failures_at,
    greedy_continues,
    measure_seed,
    model_metrics,
    sharpened_step_log_laws,
    step_log_laws,
)
from learned.endogenous_rl import log_response_law, response_table, run_policy_gradient, sharpen
from learned.parity_linear import all_inputs, fit_population_ntp
from learned.reward_model_accuracy import train_linear_ntp
from toy.compounding import chain_error_profile
from toy.evaluate import with_separator
from toy.parity import ParityLayout, read_responses, sample_reference_long
from toy.sampling import generate

CONTROLLED_CLAIMS = {"chain_failure.ntp_compounds_linear", "chain_failure.sequence_sharpening_step_law",
                     "chain_failure.endogenous_rl_sharpens_chain_linear",
                     "chain_failure.grpo_lowers_chain_failure_linear"}


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny solves (tests/conftest.py)


def weak_chain(d: int, p_cot: float = 0.45):
    """The population NTP optimum with a strong ridge: chain steps visibly imperfect (ε ≈ 0.05 - 0.1)."""
    return fit_population_ntp(d, p_cot, ridge=0.02)


# --- the exact measurements ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("model", [weak_chain(6), claims.random_linear(6, 1.0, np.random.default_rng(0))],
                         ids=["population optimum", "random weights"])
def test_step_errors_and_chain_failure_match_toy_compounding(model):
    """toy/compounding.py reads the same quantities off a teacher-forced pass of the whole sequence."""
    layout, x = ParityLayout(6), all_inputs(6)
    profile = chain_error_profile(model, layout, x)
    summary = failure_summary(chain_step_errors(step_log_laws(model, x), x))
    assert summary["chain_failure"] == pytest.approx(profile["chain_failure"], abs=1e-12)
    assert np.allclose(chain_step_errors(step_log_laws(model, x), x).mean(0).numpy(), profile["per_step_error"],
                       atol=1e-12)


def test_sampled_chain_failure_and_long_fraction_match_monte_carlo():
    model = weak_chain(4)
    x = all_inputs(4).repeat(400, 1)  # 6400 samples
    metrics = model_metrics(model, all_inputs(4))
    responses = generate(model, with_separator(x), ParityLayout(4).max_response_len, 1.0,
                         torch.Generator().manual_seed(0))
    stats = read_responses(responses, x, ParityLayout(4))
    exact_chain = (responses == sample_reference_long(x, ParityLayout(4))).all(1)
    long_fraction = stats.is_long.double().mean().item()
    failure = 1 - exact_chain.double().sum().item() / stats.is_long.sum().item()
    for sampled, exact, n in ((long_fraction, metrics["long_fraction"], len(x)),
                              (failure, metrics["sampled_chain_failure"], stats.is_long.sum().item())):
        assert abs(sampled - exact) < 5 * np.sqrt(exact * (1 - exact) / n)
    assert 0.1 < metrics["sampled_chain_failure"] < 0.9, "the test needs a chain that fails sometimes"


# --- the sequence-level sharpening -----------------------------------------------------------------------------------

def test_sharpened_laws_are_normalised_and_kappa_one_leaves_the_model():
    laws = step_log_laws(claims.random_linear(3, 1.0, np.random.default_rng(1)), all_inputs(3))
    for sequence_level in (True, False):
        sharpened = sharpened_step_log_laws(laws, 2.5, sequence_level)
        assert torch.allclose(sharpened.exp().sum(-1), torch.ones(sharpened.shape[:-1], dtype=torch.float64))
        assert torch.allclose(sharpened_step_log_laws(laws, 1.0, sequence_level), laws, atol=1e-12)


def test_the_backward_message_law_is_the_enumerated_one_and_the_token_level_reading_is_not_on_random_weights():
    spec = REGISTRY["chain_failure.sequence_sharpening_step_law"]
    rows = claims.sharpening_instances(Context())
    assert judge(spec, claims.judge_sharpening_identity(rows)).verdict == "holds"
    # Planted negative: the token-level law π̂(bit)^κ in place of the backward messages.
    token = [{**r, "exact_gap": r["token_gap"] * r["step_error"]} for r in rows]
    assert judge(spec, claims.judge_sharpening_identity(token)).verdict == "fails"
    assert evaluate(spec, Context(seed=3)).verdict == "holds"


def test_the_greedy_decoder_of_the_sharpened_chain_matches_enumeration():
    """The first two greedy tokens of π̂^κ/Z from the step laws vs the argmax of its enumerated marginals."""
    table = response_table(ParityLayout(3))
    for seed in range(4):
        model = claims.random_linear(3, 1.5, np.random.default_rng(seed))
        law = sharpen(log_response_law(model, table), 2.0).exp()
        first = torch.stack([(law * (table.responses[:, 0] == a)).sum(1) for a in (0, 1, 3)], 1).argmax(1)
        on_first = table.responses[None, :, 0] == torch.tensor((0, 1, 3))[first][:, None]
        second = torch.stack([(law * on_first * (table.responses[:, 1] == a)).sum(1) for a in (0, 1, 3)], 1).argmax(1)
        enumerated = (first < 2) & (second < 2)
        assert torch.equal(greedy_continues(sharpened_step_log_laws(step_log_laws(model, table.x), 2.0)), enumerated)


def test_sharpened_step_errors_agree_with_enumeration_on_a_trained_chain():
    table = response_table(ParityLayout(4))
    model = weak_chain(4, 0.2)
    exact = chain_step_errors(sharpened_step_log_laws(step_log_laws(model, table.x), 2.0), table.x)
    enumerated = enumerated_step_errors(sharpen(log_response_law(model, table), 2.0), table)
    assert torch.allclose(exact, enumerated, atol=1e-12, rtol=0)


# --- one seed end to end ---------------------------------------------------------------------------------------------

def test_one_seed_end_to_end_gives_every_arm_and_its_prediction():
    family = dataclasses.replace(FAMILIES["quick"], ntp_steps=40,
                                 rl=dataclasses.replace(FAMILIES["quick"].rl, iterations=20), endogenous_iterations=20)
    rows = {r["arm"]: r for r in measure_seed(family, 4, 0.45, 1, 2, 3)}
    assert set(rows) == {"ntp", "endogenous", "grpo"}
    ntp, rl = rows["ntp"], rows["endogenous"]
    assert rl["predicted_failure"] < ntp["chain_failure"]  # κ = 2 sharpens every step of the chain
    assert abs(rl["token_level_failure"] / rl["predicted_failure"] - 1) < 0.1
    assert np.isnan(ntp["predicted_failure"]) and np.isnan(rows["grpo"]["predicted_failure"])
    assert all(r["prompts"] == 2**4 for r in rows.values())


# --- planted controls ------------------------------------------------------------------------------------------------

def compounded(eps_step: float, eps_first: float, d: int) -> float:
    """1 − (1 − ε_2)(1 − ε)^(d−2): the failure of d − 1 independent chain steps."""
    return 1 - (1 - eps_first) * (1 - eps_step) ** (d - 2)


def covering(share: float, start: float, optimum: float) -> float:
    """The F that covers ``share`` of the move of −log(1 − F) from ``start`` to ``optimum``."""
    return 1 - np.exp(np.log1p(-start) + share * (np.log1p(-optimum) - np.log1p(-start)))


def planted_rows(share: float = 0.9, grpo_factor: float = 0.3, grpo_long: float = 0.9,
                 measured_step_factor: float = 1.0, partial_shares: tuple[float, float] | None = None) -> list[dict]:
    """Rows of a family whose NTP chain compounds exactly: F(d) = 1 − (1 − ε_2)(1 − ε)^(d−2), ε per seed; RL on r̂
    covers ``share`` of the move of −log(1 − F) to π̂²/Z (ε → ε², ε_2 → ε_2²), and ``partial_shares`` (default:
    the same, converged) after a quarter and half of its budget, less 0.01 per seed; GRPO has F × ``grpo_factor``, long
    fraction ``grpo_long``; the NTP rows report ``measured_step_factor`` × ε as their teacher-forced error."""
    rows = []
    for p_cot in (0.2, 0.45):
        for d in (4, 6, 8):
            for seed in range(3):
                eps, first = 0.05 + 0.002 * seed, 0.1 + 0.003 * seed
                ntp, optimum = compounded(eps, first, d), compounded(eps**2, first**2, d)
                rl = covering(share, ntp, optimum)
                quarter, half = (covering(part - 0.01 * seed, ntp, optimum) for part in partial_shares) if (
                    partial_shares) else (rl, rl)
                base = {"d": d, "p_cot": p_cot, "seed_index": seed, "independent_steps": 0.0,
                        "later_step_error": eps, "first_step_error": first, "step_error": eps,
                        "long_fraction": p_cot, "greedy_accuracy": 0.5, "greedy_long": 0.0,
                        "predicted_failure": float("nan"), "token_level_failure": float("nan"),
                        "predicted_greedy_long": float("nan"), "chain_failure_quarter_budget": float("nan"),
                        "chain_failure_half_budget": float("nan")}
                rows += [{**base, "arm": "ntp", "beta": 0.0, "chain_failure": ntp, "sampled_chain_failure": ntp,
                          "later_step_error": measured_step_factor * eps},
                         {**base, "arm": "endogenous", "beta": 1.0, "chain_failure": rl, "sampled_chain_failure": rl,
                          "chain_failure_quarter_budget": quarter, "chain_failure_half_budget": half,
                          "later_step_error": 1 - (1 - rl) ** (1 / (d - 1)), "predicted_failure": optimum,
                          "token_level_failure": optimum, "predicted_greedy_long": 0.0},
                         {**base, "arm": "grpo", "beta": 0.0, "chain_failure": grpo_factor * ntp,
                          "sampled_chain_failure": grpo_factor * ntp, "long_fraction": grpo_long}]
    return [{**r, "independent_steps": r["chain_failure"]} for r in rows]


def verdict(claim_id: str, rows) -> str:
    judges = {"chain_failure.ntp_compounds_linear": claims.judge_compounding,
              "chain_failure.endogenous_rl_sharpens_chain_linear": lambda rows: claims.judge_endogenous(rows, 100),
              "chain_failure.grpo_lowers_chain_failure_linear": claims.judge_grpo}
    return judge(REGISTRY[claim_id], judges[claim_id](rows)).verdict


def test_compounding_controls():
    assert verdict("chain_failure.ntp_compounds_linear", planted_rows()) == "holds"
    # The teacher-forced error explains half of the growth of F: the steps do not compound at their own rate.
    assert verdict("chain_failure.ntp_compounds_linear", planted_rows(measured_step_factor=0.5)) == "fails"


def test_endogenous_controls():
    assert verdict("chain_failure.endogenous_rl_sharpens_chain_linear", planted_rows(share=0.9)) == "holds"
    assert verdict("chain_failure.endogenous_rl_sharpens_chain_linear", planted_rows(share=0.1)) == "fails"
    # Below the tolerance, still rising, and not slowing down (0.02 → 0.05 → 0.1): the end point is not reached.
    rising = planted_rows(share=0.1, partial_shares=(0.02, 0.05))
    assert verdict("chain_failure.endogenous_rl_sharpens_chain_linear", rising) == "inconclusive"
    assert "a longer run would tell" in claims.judge_endogenous(rising, 100).detail
    # Slowing down geometrically towards 0.45 + 0.15 · 3 = 0.9: undecided too.
    slowing = planted_rows(share=0.45, partial_shares=(0.1, 0.3))
    assert verdict("chain_failure.endogenous_rl_sharpens_chain_linear", slowing) == "inconclusive"
    # Creeping towards an end below the tolerance (0.09 → 0.098 → 0.1, projected 0.1007): a failure, budget or not.
    creeping = planted_rows(share=0.1, partial_shares=(0.09, 0.098))
    assert verdict("chain_failure.endogenous_rl_sharpens_chain_linear", creeping) == "fails"
    # Rising, but already past the tolerance: decided.
    assert verdict("chain_failure.endogenous_rl_sharpens_chain_linear",
                   planted_rows(share=0.9, partial_shares=(0.3, 0.5))) == "holds"


@pytest.mark.parametrize(("share", "first", "second", "expected"), [
    (0.45, 0.2, 0.15, 0.9), (0.3, 0.1, 0.1, np.inf), (0.3, 0.1, -0.01, 0.3), (0.1, 0.008, 0.002, 0.1 + 0.002 / 3)])
def test_projected_share_sums_the_geometric_tail(share, first, second, expected):
    assert claims.projected_share(share, first, second) == pytest.approx(expected)


def test_the_budget_hook_records_the_policy_where_a_shorter_run_ends():
    # RL with a constant lr draws the same rollouts whatever its budget, so F recorded after 3 of 6 iterations is the
    # F of a 3-iteration run from the same start and seed.
    family = dataclasses.replace(FAMILIES["quick"], ntp_steps=40, endogenous_iterations=6)
    x, seen = all_inputs(4), {}
    start = train_linear_ntp(4, 0.45, family.ntp_steps, 1)
    layout, config = ParityLayout(4), family.rl.endogenous(1.0, iterations=6)
    run_policy_gradient(start, layout, config, 5, failures_at({3: "after_3"}, x, seen))
    short, _ = run_policy_gradient(start, layout, dataclasses.replace(config, iterations=3), 5)
    expected = failure_summary(chain_step_errors(step_log_laws(short, x), x))["chain_failure"]
    start_failure = failure_summary(chain_step_errors(step_log_laws(start, x), x))["chain_failure"]
    assert seen == {"after_3": pytest.approx(expected, abs=1e-12)} and expected != start_failure
    rows = {r["arm"]: r for r in measure_seed(family, 4, 0.45, 1, 2, 3)}
    assert 0 < rows["endogenous"]["chain_failure_quarter_budget"] < 1


def test_grpo_controls():
    assert verdict("chain_failure.grpo_lowers_chain_failure_linear", planted_rows(grpo_factor=0.3)) == "holds"
    assert verdict("chain_failure.grpo_lowers_chain_failure_linear", planted_rows(grpo_factor=1.5)) == "fails"
    # No long chains sampled: no informative cell, so no verdict either way.
    assert verdict("chain_failure.grpo_lowers_chain_failure_linear", planted_rows(grpo_long=0.0)) == "inconclusive"
