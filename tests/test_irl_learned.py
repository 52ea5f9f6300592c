"""TinyGPT learner of learned/irl_learned_claims.py (prefix-logit extraction, normalisation, learning, determinism) and
the planted controls of its claim bounds.thm1_at_trained_gpt."""

import dataclasses

import numpy as np
import pytest
import torch

from core.ledger import REGISTRY, Context, judge
from core.runio import torch_threads
from learned.irl_learned_claims import (
    HORIZON,
    VOCAB,
    gpt_instance,
    judge_thm1_at_trained_gpt,
    learned_runs,
    measure_run,
)
from learned.tree_gpt import BOS, TRAINING, train_ntp_gpt, tree_logits
from theory import soft_rl
from theory.bounds_thm1_claims import count_table, ntp_demonstration_family

CONTROLLED_CLAIMS = {"bounds.thm1_at_trained_gpt"}
GPT_CLAIM = "bounds.thm1_at_trained_gpt"

SHORT_TRAINING = dataclasses.replace(TRAINING, steps=30)


@pytest.fixture(scope="module")
def demonstrations():
    """(r*, π^E, 1000 expert responses) of one r* ~ U[0,1] expert."""
    member = ntp_demonstration_family(np.random.default_rng(0), 1_000, 1)[0]
    return member.reward, member.expert, member.tokens


@pytest.fixture(scope="module")
def trained(demonstrations):
    """The claim's TinyGPT after its full training budget on the 1000 demonstrations."""
    return train_ntp_gpt(demonstrations[2])


def prefix_row(prefix) -> int:
    """Base-V index of a prefix, first token most significant, by string parsing (independent of soft_rl)."""
    return int("".join(map(str, prefix)) or "0", VOCAB)


def test_tree_logits_match_the_gpt_on_full_responses_and_on_each_prefix(trained):
    responses = soft_rl.all_trajectories(VOCAB, HORIZON)
    with torch.no_grad(), torch_threads(1):
        levels = tree_logits(trained)
        teacher_forced = trained(torch.tensor([[BOS, *response[:-1]] for response in responses]))[..., :VOCAB]
        for row, response in enumerate(responses):
            for h in range(HORIZON):
                torch.testing.assert_close(levels[h][prefix_row(response[:h])], teacher_forced[row, h], rtol=0,
                                           atol=1e-5)
        for h in range(HORIZON):
            for prefix in soft_rl.all_trajectories(VOCAB, h) if h else [[]]:
                alone = trained(torch.tensor([[BOS, *prefix]]))[0, -1, :VOCAB]  # the prefix fed on its own
                torch.testing.assert_close(levels[h][prefix_row(prefix)], alone, rtol=0, atol=1e-5)


def test_extracted_policy_is_a_normalised_tree_policy(trained, demonstrations):
    reward, expert, _ = demonstrations
    learner = gpt_instance(reward, expert, trained).learner
    assert [level.shape for level in learner] == [(VOCAB**h, VOCAB) for h in range(HORIZON)]
    soft_rl.check_policy(learner)  # raises unless every row is non-negative and sums to 1 (1e-9)
    assert min(float(level.min()) for level in learner) > 0.0


def test_trained_gpt_beats_uniform_on_heldout_expert_responses(trained, demonstrations):
    reward, expert, _ = demonstrations
    leaves = np.random.default_rng(1).choice(VOCAB**HORIZON, size=5_000, p=soft_rl.state_distributions(expert)[-1])
    heldout = soft_rl.all_trajectories(VOCAB, HORIZON)[leaves]
    gain = soft_rl.log_likelihood(gpt_instance(reward, expert, trained).learner, heldout) + HORIZON * np.log(VOCAB)
    assert gain.mean() > 3 * gain.std() / np.sqrt(len(gain))  # log π̂(τ) − log uniform(τ) > 0 beyond 3 std errors


def test_training_is_deterministic(demonstrations):
    reward, expert, tokens = demonstrations
    first, second = (train_ntp_gpt(tokens, SHORT_TRAINING) for _ in range(2))
    for (name, a), (_, b) in zip(first.state_dict().items(), second.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    assert soft_rl.max_abs_diff(gpt_instance(reward, expert, first).logits,
                                gpt_instance(reward, expert, second).logits) == 0.0


# --- planted controls of bounds.thm1_at_trained_gpt (no training: the "GPT" runs are planted) ---------------

def planted_runs(gpt_learner, demo_counts=(1_000, 10_000), seeds=(0, 1, 2)):
    """Count-table runs and, per seed, a "gpt" run of ``gpt_learner(member, seed)`` on the claim's family."""
    rng, runs = np.random.default_rng(205), []
    for n_demos in demo_counts:
        for member in ntp_demonstration_family(rng, n_demos, 2):
            runs.append(measure_run("tabular", member, count_table(member), -1))
            runs += [measure_run("gpt", member, gpt_learner(member, seed), seed) for seed in seeds]
    return runs


def test_gpt_claim_holds_for_a_gpt_at_the_ntp_optimum():
    """A "GPT" that is the count table itself: Theorem 1 holds (theorem) and the accuracy gap is 0."""
    runs = planted_runs(lambda member, seed: count_table(member))
    assert judge(REGISTRY[GPT_CLAIM], judge_thm1_at_trained_gpt(runs)).verdict == "holds"


def test_gpt_claim_fails_on_a_planted_ratio_above_one():
    runs = planted_runs(lambda member, seed: count_table(member))
    index = next(i for i, r in enumerate(runs) if r.learner == "gpt" and r.theorem1.informative)
    runs[index] = dataclasses.replace(runs[index], theorem1=dataclasses.replace(
        runs[index].theorem1, tv=1.5 * runs[index].theorem1.bound))
    assert judge(REGISTRY[GPT_CLAIM], judge_thm1_at_trained_gpt(runs)).verdict == "fails"


def test_a_gpt_that_lags_the_table_fails_the_accuracy_criterion():
    """A "GPT" fitted to a tenth of the demonstrations (seed-dependent subset) lags the table by far more than 0.02."""
    def tenth(member, seed):
        keep = np.random.default_rng(seed).permutation(len(member.tokens))[: len(member.tokens) // 10]
        return count_table(dataclasses.replace(member, tokens=member.tokens[keep]))

    result = judge(REGISTRY[GPT_CLAIM], judge_thm1_at_trained_gpt(planted_runs(tenth)))
    assert result.criteria[1]["status"] == "fail"
    assert result.verdict != "holds"


def test_gpt_claim_is_inconclusive_when_every_bound_is_vacuous():
    runs = planted_runs(lambda member, seed: count_table(member), demo_counts=(10, 100))
    assert judge(REGISTRY[GPT_CLAIM], judge_thm1_at_trained_gpt(runs)).verdict == "inconclusive"


@pytest.mark.slow
def test_gpt_claim_is_deterministic_and_cached_per_seed():
    """Same (profile, seed) → bitwise the same numbers, recomputed without the cache; the cache keys on the seed."""
    first = learned_runs.__wrapped__("quick", 0)
    assert [r.theorem1 for r in first] == [r.theorem1 for r in learned_runs.__wrapped__("quick", 0)]
    assert learned_runs("quick", 0) is not learned_runs("quick", 1)
    outcome = REGISTRY[GPT_CLAIM].run(Context())
    assert len({row["model_seed"] for row in outcome.tables["by_n"] if row["learner"] == "gpt"}) >= 3
    assert len({row["instance"] for row in outcome.tables["by_n"]}) >= 2
