"""The endogenous reward of parity models (toy/endogenous_reward.py), the reward-model pairs
(learned/reward_model_accuracy.py), and the planted controls of learned/endogenous_reward_claims.py and
learned/endogenous_tree_claims.py."""

import numpy as np
import pytest
import torch

from core.ledger import REGISTRY, Context, evaluate, judge
from core.runio import torch_threads
from learned import endogenous_reward_claims as erc
from learned import endogenous_tree_claims as tree
from learned.parity_linear import all_inputs, fit_population_ntp
from learned.reward_model_accuracy import (
    candidate_responses,
    candidate_scores,
    closed_form_long_vs_short,
    pair_types,
    reward_model_accuracy,
)
from toy.endogenous_reward import endogenous_reward, response_alive
from toy.evaluate import with_separator
from toy.gpt import TinyGPT
from toy.parity import EOS, PAD, RESPONSE_TOKENS, VOCAB_SIZE, ParityLayout, read_responses
from toy.sampling import generate, response_log_dists, token_log_probs

CONTROLLED_CLAIMS = {"endogenous.toy_matches_soft_rl", "endogenous.long_beats_short_wrong_iff_p_above_third",
                     "endogenous.discounted_reward_keeps_threshold", "endogenous.wrong_step_ranked_below_chain",
                     "endogenous.short_pairs_at_chance_linear"}
JUDGES = {"endogenous.long_beats_short_wrong_iff_p_above_third": erc.judge_threshold,
          "endogenous.discounted_reward_keeps_threshold": erc.judge_discounted,
          "endogenous.wrong_step_ranked_below_chain": erc.judge_wrong_step,
          "endogenous.short_pairs_at_chance_linear": erc.judge_short_chance}
PLANTED_D = 4
PLANTED_GRID = (0.25, 0.3, 0.34, 0.45)  # 0.34: the optimum's margin is only 0.03 nats


def random_gpt(layout: ParityLayout, seed: int) -> TinyGPT:
    """A random TinyGPT with its head scaled up so that its logits are O(1), float64."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = TinyGPT(VOCAB_SIZE, layout.seq_len, layers=2, width=16, heads=2, mlp_ratio=2).double()
    with torch.no_grad():
        model.head.weight.mul_(50.0)
    return model


# --- the toy reward ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def identity_rows():
    with torch_threads(1):
        return tree.measure_identity(Context())


def test_toy_reward_equals_the_soft_rl_tree_on_enumerable_models(identity_rows):
    assert {row["model"].split()[0] for row in identity_rows} == {"linear", "gpt"}
    assert max(row["toy_vs_tree"] for row in identity_rows) < 1e-9
    assert max(row["telescoping"] for row in identity_rows) < 1e-9


@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_outcome_is_alpha_loglik_plus_initial_value_on_random_gpt_responses(alpha):
    layout = ParityLayout(5, leap=2)
    model = random_gpt(layout, seed=3)
    x = torch.randint(0, 2, (64, layout.d), generator=torch.Generator().manual_seed(0))
    prompts = with_separator(x)
    with torch.no_grad(), torch_threads(1):
        sampled = generate(model, prompts, layout.max_response_len, 1.0, torch.Generator().manual_seed(1))
        rewards = endogenous_reward(model, prompts, sampled, alpha)
        log_likelihood = token_log_probs(response_log_dists(model, prompts, sampled, alpha), sampled).sum(1)
        first_logits = model(prompts)[:, -1, list(RESPONSE_TOKENS)]
    assert bool((sampled[:, 0] == EOS).any()) and bool((sampled != PAD).all(1).any())  # empty and full-length ones
    initial_value = alpha * torch.logsumexp(first_logits / alpha, dim=-1)
    torch.testing.assert_close(rewards.initial_value, initial_value, rtol=0, atol=1e-10)
    torch.testing.assert_close(rewards.outcome(), alpha * log_likelihood + initial_value, rtol=0, atol=1e-10)
    torch.testing.assert_close(rewards.score("loglik"), alpha * log_likelihood, rtol=0, atol=1e-10)
    torch.testing.assert_close(rewards.token_reward[sampled == PAD], torch.zeros(int((sampled == PAD).sum()),
                                                                                dtype=torch.float64))


def test_discounted_sums_weigh_token_t_by_gamma_to_the_t_minus_1():
    layout = ParityLayout(3)
    model = random_gpt(layout, seed=4)
    x = all_inputs(3)
    responses = candidate_responses(x, layout)["chain"]
    with torch.no_grad():
        rewards = endogenous_reward(model, with_separator(x), responses)
    gamma = 0.9
    manual = sum(gamma**t * rewards.token_reward[:, t] for t in range(layout.max_response_len))
    torch.testing.assert_close(rewards.score("discounted", gamma), manual)
    torch.testing.assert_close(rewards.score("outcome", gamma), rewards.outcome(1.0))  # γ only for discounted ones


@pytest.mark.parametrize("bad", [[1, PAD, PAD, PAD], [0, EOS, 1, PAD], [2, EOS, PAD, PAD]])
def test_responses_that_break_the_layout_are_refused(bad):
    with pytest.raises(ValueError):
        response_alive(torch.tensor([bad]))


# --- the pairs --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("layout", [ParityLayout(5), ParityLayout(5, leap=2)])
def test_pairs_put_a_correct_response_against_an_incorrect_one(layout):
    x = all_inputs(layout.d)
    candidates = candidate_responses(x, layout)
    stats = {name: read_responses(responses, x, layout) for name, responses in candidates.items()}
    assert bool(stats["chain"].chain_correct.all()) and bool(stats["short_right"].correct.all())
    assert not bool(stats["short_wrong"].correct.any())
    chain_length = len(layout.chain)
    for pair_type, position, chosen, rejected, _ in pair_types(layout):
        assert bool(stats[chosen].correct.all()), pair_type
        assert not bool(stats[rejected].chain_correct.any()), pair_type
        if pair_type.startswith("wrong_step"):
            differs = (candidates[rejected] != candidates[chosen]).all(0).tolist()
            same = (candidates[rejected] == candidates[chosen]).all(0).tolist()
            changed = range(position - 1, chain_length if "propagated" in pair_type else position)
            assert all(differs[i] for i in changed) and all(same[i] for i in range(len(same)) if i not in changed)
            # Propagated errors reach the answer; a single flip below the last chain position does not.
            answer_right = "single" in pair_type and position < chain_length
            assert bool((stats[rejected].correct == answer_right).all()), (pair_type, position)
    assert len(pair_types(layout)) == 2 * chain_length + 3


def test_pairs_across_prompts_take_the_next_prompt_as_the_rejected_one():
    layout, x = ParityLayout(3), all_inputs(3)
    model = random_gpt(layout, seed=5)
    rows, scores = reward_model_accuracy(model, x, layout), candidate_scores(model, x, layout)
    margin = scores["outcome"]["chain"] - np.roll(scores["outcome"]["short_wrong"], -1)
    across = next(r for r in rows if r["pair_type"] == "long_vs_short_wrong_across_prompts"
                  and r["variant"] == "outcome")
    assert across["accuracy"] == pytest.approx((margin > 0).mean() + 0.5 * (margin == 0).mean())
    assert across["exhaustive"] == 1 and across["low"] <= across["accuracy"] <= across["high"]


def test_the_population_optimum_matches_the_closed_forms(optimum_rows):
    for p_cot in PLANTED_GRID:
        accuracy = {(r["pair_type"], r["variant"]): r["accuracy"] for r in optimum_rows
                    if r["model"] == "optimum" and r["p_cot"] == p_cot and r["position"] in (0, 1)}
        above = float(p_cot > 1 / 3)
        assert accuracy["long_vs_short_wrong", "outcome"] == accuracy["long_vs_short_wrong", "loglik"] == above
        assert accuracy["long_vs_short_wrong", "discounted_loglik"] == closed_form_long_vs_short(p_cot, 0.95)
        assert accuracy["short_vs_short", "outcome"] == 0.5
    assert min(r["accuracy"] for r in optimum_rows if r["pair_type"].startswith("wrong_step")) == 1.0


def test_closed_form_threshold():
    assert [closed_form_long_vs_short(p) for p in (0.3, 1 / 3, 0.34)] == [0.0, 0.5, 1.0]
    assert closed_form_long_vs_short(0.33, 0.95) == 0.5  # the y = x_1 prompts cross first when discounted
    with pytest.raises(ValueError):
        closed_form_long_vs_short(0.0)


# --- planted controls -------------------------------------------------------------------------------------------------

def verdict(claim_id: str, rows) -> str:
    return judge(REGISTRY[claim_id], JUDGES[claim_id](rows)).verdict


@pytest.fixture(scope="module")
def optimum_rows():
    """Population optima at d = 4 on the planted grid, each also standing in for three 'trained' models."""
    rows = []
    with torch_threads(1):
        for p_cot in PLANTED_GRID:
            model = fit_population_ntp(PLANTED_D, p_cot)
            optimum = erc.model_rows(model, "optimum", p_cot, ParityLayout(PLANTED_D))
            rows += optimum + [{**row, "model": "trained", "seed_index": k, "data_seed": k} for k in range(3)
                               for row in optimum]
    return rows


def planted(rows, pair_type: str, variant: str, accuracy, where=lambda row: True) -> list[dict]:
    """The rows with the trained models' accuracy on (pair_type, variant) set to ``accuracy(row)`` where ``where``."""
    return [{**row, "accuracy": accuracy(row)} if row["model"] == "trained" and row["pair_type"] == pair_type
            and row["variant"] == variant and where(row) else row for row in rows]


def test_identity_holds_on_the_measured_trees_and_fails_with_a_wrong_terminal_value(identity_rows):
    assert judge(REGISTRY["endogenous.toy_matches_soft_rl"], tree.judge_identity(identity_rows)).verdict == "holds"
    with torch_threads(1):
        wrong = tree.measure_identity(Context(), alphas=(1.0,), absorbing_after_eos=False)
    assert judge(REGISTRY["endogenous.toy_matches_soft_rl"], tree.judge_identity(wrong)).verdict == "fails"


@pytest.mark.parametrize("claim_id", ["endogenous.long_beats_short_wrong_iff_p_above_third",
                                      "endogenous.wrong_step_ranked_below_chain",
                                      "endogenous.short_pairs_at_chance_linear"])
def test_models_at_the_population_optimum_hold(claim_id, optimum_rows):
    assert verdict(claim_id, optimum_rows) == "holds"


def test_the_discounted_reading_fails_at_the_optimum_and_holds_when_planted_true(optimum_rows):
    assert verdict("endogenous.discounted_reward_keeps_threshold", optimum_rows) == "fails"
    fixed = planted(optimum_rows, "long_vs_short_wrong", "discounted", lambda row: float(row["p_cot"] > 1 / 3))
    assert verdict("endogenous.discounted_reward_keeps_threshold", fixed) == "holds"


def test_a_model_preferring_the_short_wrong_answer_above_a_third_fails(optimum_rows):
    rows = planted(optimum_rows, "long_vs_short_wrong", "outcome", lambda row: 0.2,
                   where=lambda row: row["p_cot"] == 0.45 and row["seed_index"] == 1)
    assert verdict("endogenous.long_beats_short_wrong_iff_p_above_third", rows) == "fails"


def test_one_unrecognised_wrong_step_fails_and_an_unlearned_chain_decides_nothing(optimum_rows):
    rows = planted(optimum_rows, "wrong_step_propagated", "outcome", lambda row: 0.5,
                   where=lambda row: row["position"] == 3 and row["seed_index"] == 0 and row["p_cot"] == 0.3)
    assert verdict("endogenous.wrong_step_ranked_below_chain", rows) == "fails"
    unlearned = [{**row, "chain_learned": 0.5} for row in rows]
    assert verdict("endogenous.wrong_step_ranked_below_chain", unlearned) == "inconclusive"


def test_a_scorer_that_computes_parity_is_not_at_chance(optimum_rows):
    rows = planted(optimum_rows, "short_vs_short", "outcome", lambda row: 0.97 + 0.01 * row["seed_index"])
    assert verdict("endogenous.short_pairs_at_chance_linear", rows) == "fails"


@pytest.mark.slow
def test_the_registered_claims_at_quick_size():
    """The whole quick family (about a minute): the verdicts the ledger pins."""
    expected = {claim_id: "holds" for claim_id in CONTROLLED_CLAIMS}
    expected["endogenous.discounted_reward_keeps_threshold"] = "fails"
    for claim_id, wanted in expected.items():
        assert evaluate(REGISTRY[claim_id], Context("quick")).verdict == wanted, claim_id

