"""Planted controls of the Theorem 1 claims (theory/bounds_thm1_claims.py): each claim's judge on instances where
the statement is true by construction (→ holds), on a planted violation (→ fails), and on vacuous bounds only
(→ inconclusive); the instance families (degenerate members, seeds)."""

import dataclasses

import numpy as np
import pytest

from core.ledger import REGISTRY, Context, judge
from theory import error_bounds, soft_rl
from theory.bounds_thm1_claims import (
    DEGENERATE_EXPERTS,
    RANDOM,
    Theorem1Point,
    count_table,
    judge_preference_tv_bound,
    judge_tightness,
    judge_trained_ntp_model,
    measure_tightness,
    measure_trained_ntp_model,
    ntp_demonstration_family,
    preference_tv_family,
)

CONTROLLED_CLAIMS = {"bounds.thm1_preference_tv_bound", "bounds.thm1_bound_is_tight",
                     "bounds.thm1_at_trained_ntp_model"}


def verdict(claim_id: str, outcome) -> str:
    return judge(REGISTRY[claim_id], outcome).verdict


def with_bound(point: Theorem1Point, bound: float) -> Theorem1Point:
    return dataclasses.replace(point, bound=bound)


def first_step_only_instance(horizon: int, eps: float, alpha: float) -> error_bounds.ImitationInstance:
    """The tight construction with the log-ratio error at the first step only: errors cannot add up over H."""
    inst = error_bounds.theorem1_tight_instance(horizon, eps, alpha)
    learner = [inst.learner[0]] + inst.expert[1:]
    return dataclasses.replace(inst, learner=learner, logits=[alpha * np.log(p) for p in learner])


# --- bounds.thm1_preference_tv_bound ---------------------------------------------------------------------

def test_preference_tv_bound_holds_on_the_tight_construction():
    assert verdict("bounds.thm1_preference_tv_bound", judge_preference_tv_bound(measure_tightness())) == "holds"


def test_preference_tv_bound_fails_on_a_planted_violation():
    """The tight construction against half the bound (a false constant αHε/4): TV/bound ≈ 2 on every instance."""
    planted = [with_bound(p, p.bound / 2) for p in measure_tightness()]
    assert verdict("bounds.thm1_preference_tv_bound", judge_preference_tv_bound(planted)) == "fails"


def test_one_violation_among_degenerate_instances_fails():
    """for-all: a single violating instance decides, however many instances hold trivially."""
    trivial = [Theorem1Point(f"uniform {i}", 1e-6, 0.1, 0.2) for i in range(20)]
    violating = Theorem1Point("planted", 0.3, 0.1, 0.2)
    assert verdict("bounds.thm1_preference_tv_bound", judge_preference_tv_bound([*trivial, violating])) == "fails"


def test_vacuous_bounds_only_are_inconclusive():
    vacuous = [Theorem1Point(f"noisy {i}", 0.9, 3.0, 6.0) for i in range(5)]
    assert verdict("bounds.thm1_preference_tv_bound", judge_preference_tv_bound(vacuous)) == "inconclusive"


def test_preference_tv_family_has_degenerate_members_and_follows_the_seed():
    labels = [label for label, *_ in preference_tv_family(Context())]
    for name in (*DEGENERATE_EXPERTS, "H=1"):
        assert sum(label.startswith(name) for label in labels) == 3  # one per α
    first, fresh = (preference_tv_family(Context(seed=s))[0][1] for s in (0, 1))
    assert first.eps_pi != fresh.eps_pi
    assert preference_tv_family(Context())[0][1].eps_pi == first.eps_pi


def test_degenerate_experts_are_uniform_and_near_deterministic():
    expert = {name: soft_rl.soft_optimal(make(3, 4, 0.3), 0.3)[2] for name, make in DEGENERATE_EXPERTS.items()}
    assert np.allclose(expert["uniform expert"][2], 1 / 3)
    assert expert["near-deterministic expert"][0][0, 0] > 0.999


# --- bounds.thm1_bound_is_tight ---------------------------------------------------------------------------

def test_tightness_holds_on_the_aligned_construction():
    assert verdict("bounds.thm1_bound_is_tight", judge_tightness(measure_tightness())) == "holds"


def test_tightness_fails_when_errors_cannot_align():
    """First-step-only errors reach only 1/H of the bound: tight at H = 1, not beyond, so for-all fails."""
    points = measure_tightness(first_step_only_instance)
    assert max(p.ratio for p in points if p.label.startswith("H=8")) < 0.2
    assert verdict("bounds.thm1_bound_is_tight", judge_tightness(points)) == "fails"


# --- bounds.thm1_at_trained_ntp_model ---------------------------------------------------------------------

def near_expert(member):
    """π̂ = π^E up to logit noise 1e-3: Theorem 1 holds and the preferences are (almost) the true ones."""
    return error_bounds.perturbed_expert_instance(np.random.default_rng(len(member.tokens)), member.reward, 1.0, 1e-3)


def test_trained_claim_holds_for_a_learner_at_the_expert():
    points = measure_trained_ntp_model(Context(), learner=near_expert, demo_counts=(10, 100))
    assert verdict("bounds.thm1_at_trained_ntp_model", judge_trained_ntp_model(points)) == "holds"


def test_trained_claim_fails_on_a_planted_ratio_above_one():
    points = measure_trained_ntp_model(Context(), demo_counts=(1_000, 100_000))
    index = next(i for i, p in enumerate(points) if p.theorem1.informative)
    planted = dataclasses.replace(points[index].theorem1, tv=1.5 * points[index].theorem1.bound)
    points[index] = dataclasses.replace(points[index], theorem1=planted)
    assert verdict("bounds.thm1_at_trained_ntp_model", judge_trained_ntp_model(points)) == "fails"


def test_a_learner_that_does_not_improve_with_n_fails_the_accuracy_criterion():
    """The count table of the first 10 demonstrations at every n: bound vacuous (inconclusive), accuracy fails."""
    def first_ten(member):
        return count_table(dataclasses.replace(member, tokens=member.tokens[:10]))

    points = measure_trained_ntp_model(Context(), learner=first_ten, demo_counts=(10, 100_000))
    result = judge(REGISTRY["bounds.thm1_at_trained_ntp_model"], judge_trained_ntp_model(points))
    assert result.verdict == "inconclusive"
    assert [c["status"] for c in result.criteria] == ["undecided", "fail"]


def test_trained_claim_is_inconclusive_when_every_bound_is_vacuous():
    points = measure_trained_ntp_model(Context(), demo_counts=(10, 100))
    assert not any(p.theorem1.informative for p in points)
    assert verdict("bounds.thm1_at_trained_ntp_model", judge_trained_ntp_model(points)) == "inconclusive"


def test_ntp_family_matches_the_tabular_sampler_and_appends_degenerate_experts():
    members = ntp_demonstration_family(np.random.default_rng(205), 100, 2)
    reference = np.random.default_rng(205)
    for member in members[:2]:
        table = error_bounds.sampled_ntp_instance(reference, 100)
        assert soft_rl.max_abs_diff(count_table(member).learner, table.learner) == 0.0
    assert [m.family for m in members] == [RANDOM, RANDOM, *DEGENERATE_EXPERTS]


@pytest.mark.parametrize("seed", [0, 1])
def test_trained_claim_tables_keep_the_figure_columns(seed):
    outcome = REGISTRY["bounds.thm1_at_trained_ntp_model"].run(Context(seed=seed))
    row = outcome.tables["by_n"][0]
    assert {"n_demos", "instance", "accuracy", "eps_pi", "tv", "bound", "informative"} <= set(row)
    assert {r["family"] for r in outcome.tables["by_n"]} == {RANDOM}
