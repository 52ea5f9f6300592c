"""RL on the endogenous reward (toy/policy_gradient.py reward='endogenous', learned/endogenous_rl.py): the uniform
reference, the exact whole-response KL gradient, the logged reward, entropy regularisation at the same α leaving an
exact linear policy in place, a planted chain reward flipping the threshold check, and the planted controls of
learned/endogenous_rl_claims.py and sweeps/endogenous_checks.py."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from core.ledger import REGISTRY, Context, judge
from learned import endogenous_rl_claims as claims
from learned.endogenous_rl import (
    FAMILIES,
    effective_exponent,
    log_response_law,
    response_table,
    run_policy_gradient,
    sharpen,
    total_variation,
)
from learned.endogenous_tree_claims import every_response
from learned.parity_linear import all_inputs, fit_population_ntp, greedy_metrics
from sweeps import endogenous_checks
from sweeps.evidence import Tables
from toy import policy_gradient
from toy.config import RLConfig
from toy.endogenous_reward import endogenous_reward
from toy.evaluate import with_separator
from toy.linear_ar import LinearAR
from toy.parity import PAD, ParityLayout
from toy.sampling import response_log_dists, token_log_probs

CONTROLLED_CLAIMS = {"endogenous_rl.solves_only_above_third_linear", "endogenous_rl.kl_sharpening_linear",
                     "endogenous_rl.entropy_keeps_start_linear", "endogenous_rl.planted_chain_reward_solves_linear",
                     "endogenous_rl.second_round_sharpens_again_linear",
                     "parity.endogenous_rl.solves_only_above_third_gpt"}
D = 4  # tests run on 16 prompts x 63 responses


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny solves (tests/conftest.py)


def random_linear(d: int, scale: float, seed: int) -> LinearAR:
    layout = ParityLayout(d)
    model = LinearAR(d, layout.max_response_len).double()
    with torch.no_grad():
        model.weight.copy_(scale * torch.randn(model.weight.shape, generator=torch.Generator().manual_seed(seed),
                                               dtype=torch.float64))
    return model


# --- toy/policy_gradient.py ------------------------------------------------------------------------------------------

def test_the_uniform_reference_gives_every_response_the_same_probability():
    layout = ParityLayout(3)
    responses = every_response(layout)
    log_dists = policy_gradient.uniform_response_log_dists(layout.max_response_len)
    assert torch.allclose(log_dists.exp().sum(1), torch.ones(layout.max_response_len, dtype=torch.float64))
    log_law = token_log_probs(log_dists.expand(len(responses), -1, -1), responses).sum(1)
    assert len(responses) == 2 ** (layout.max_response_len + 1) - 1
    assert torch.allclose(log_law, torch.full_like(log_law, -np.log(len(responses))), atol=1e-12)


def expected_surrogate_gradient(model, reference, layout, beta: float, to_go: bool):
    """Σ_x Σ_r π(r|x)/X · ∇(the per-sample loss of policy_gradient.policy_loss with advantage r̂), by enumeration:
    the expected update of one iteration (epochs = 1, no baseline: a baseline has zero expectation)."""
    x = all_inputs(layout.d)
    responses = every_response(layout).repeat(len(x), 1)
    prompts = with_separator(x).repeat_interleave(len(every_response(layout)), 0)
    log_dists = response_log_dists(model, prompts, responses)
    log_probs = token_log_probs(log_dists, responses)
    weight = log_probs.sum(1).exp().detach() / len(x)
    alive = (responses != PAD).double()
    kl = policy_gradient.exact_kl(log_dists, response_log_dists(reference, prompts, responses).detach())
    reward = endogenous_reward(reference, prompts, responses).outcome().detach()
    advantages = reward[:, None] - beta * policy_gradient.kl_to_go(kl, alive) if to_go else reward
    # The weights enter through the mask, which dr_grpo only multiplies by; × N undoes its 1/N.
    loss = policy_gradient.policy_loss(log_probs, log_probs.detach(), advantages, alive * weight[:, None],
                                       "dr_grpo", 0.2, kl, beta) * len(responses)
    return torch.autograd.grad(loss, model.weight)[0]


def exact_objective_gradient(model, reference, layout, beta: float):
    """∇ of −(E[r̂] − β KL(π ‖ π_ref)) over whole responses, averaged over the uniform prompts."""
    x = all_inputs(layout.d)
    responses = every_response(layout).repeat(len(x), 1)
    prompts = with_separator(x).repeat_interleave(len(every_response(layout)), 0)
    log_law = token_log_probs(response_log_dists(model, prompts, responses), responses).sum(1)
    ref_law = token_log_probs(response_log_dists(reference, prompts, responses), responses).sum(1).detach()
    reward = endogenous_reward(reference, prompts, responses).outcome().detach()
    objective = (log_law.exp() * (reward - beta * (log_law - ref_law))).sum() / len(x)
    return torch.autograd.grad(-objective, model.weight)[0]


def test_kl_to_go_makes_the_expected_update_the_gradient_of_the_whole_response_objective():
    layout = ParityLayout(2)
    model, reference = random_linear(2, 1.0, 0).requires_grad_(True), random_linear(2, 1.0, 1)
    exact = exact_objective_gradient(model, reference, layout, beta=0.7)
    with_to_go = expected_surrogate_gradient(model, reference, layout, 0.7, to_go=True)
    without = expected_surrogate_gradient(model, reference, layout, 0.7, to_go=False)
    assert torch.allclose(with_to_go, exact, atol=1e-10)
    assert (without - exact).abs().max() > 1e-2  # the visited states' KL alone is a different (myopic) update


def test_endogenous_reward_is_logged_and_the_config_rejects_what_it_cannot_run():
    layout, start = ParityLayout(D), fit_population_ntp(D, 0.45).float()
    cfg = RLConfig(algo="reinforce", reward="endogenous", iterations=1, prompts=4, group_size=4)
    stats = next(policy_gradient.iterate(start, start, layout, cfg, torch.Generator().manual_seed(0)))
    assert stats["reward/endogenous"] == stats["reward/mean"] and 0 <= stats["rollout/accuracy"] <= 1
    for bad in ({"reward": "learned"}, {"algo": "star", "reward": "endogenous"}, {"algo": "star", "long_bonus": 1.0},
                {"kl_reference": "previous"}, {"long_bonus": float("inf")}):
        with pytest.raises(ValueError, match="rl\\."):
            RLConfig(**bad)


# --- RL on r̂ from an exact linear policy -----------------------------------------------------------------------------

SMALL = dataclasses.replace(FAMILIES["quick"], d=D, iterations=100)


def test_entropy_regularisation_at_the_same_alpha_leaves_an_exact_policy_in_place_and_half_of_it_does_not():
    layout, table = ParityLayout(D), response_table(ParityLayout(D))
    start = fit_population_ntp(D, 0.45)  # the exact population NTP optimum
    start_law = log_response_law(start, table)

    def laws(beta: float):
        return [log_response_law(run_policy_gradient(start, layout, SMALL.endogenous(beta, kl_reference="uniform"),
                                                     seed)[0], table) for seed in (1, 2)]

    same_alpha, half = laws(1.0), laws(0.5)  # β = α/2: the optimum of E[r̂] + (α/2)·H is π̂²/Z
    replicas = total_variation(*same_alpha)
    assert np.mean([total_variation(law, start_law) for law in same_alpha]) <= replicas
    assert all(abs(effective_exponent(law, start_law) - 1) <= 0.25 for law in same_alpha)
    assert np.mean([total_variation(law, start_law) for law in half]) > total_variation(*half)
    assert all(effective_exponent(law, start_law) > 1.25 for law in half)


def test_a_planted_chain_reward_makes_rl_solve_below_a_third_and_flips_the_threshold_check():
    layout, table = ParityLayout(D), response_table(ParityLayout(D))
    start = fit_population_ntp(D, 0.2)
    plain, _ = run_policy_gradient(start, layout, SMALL.endogenous(1.0), 0)
    planted, _ = run_policy_gradient(start, layout, SMALL.endogenous(1.0, long_bonus=SMALL.long_bonus), 0)
    planted_accuracy = greedy_metrics(planted, table.x)["accuracy"]
    assert greedy_metrics(plain, table.x)["accuracy"] == 0.5 and planted_accuracy == 1.0
    start_law = log_response_law(start, table)
    assert total_variation(log_response_law(plain, table), sharpen(start_law, 2.0)) < 0.5 * total_variation(
        start_law, sharpen(start_law, 2.0))
    rows = planted_rows()
    assert claim_verdict("endogenous_rl.solves_only_above_third_linear", rows) == "holds"
    flipped = [dict(r, greedy_accuracy=planted_accuracy) if r["arm"] == "endogenous" and r["p_cot"] < 1 / 3 else r
               for r in rows]  # the planted run's greedy accuracy read as RL on r̂
    assert claim_verdict("endogenous_rl.solves_only_above_third_linear", flipped) == "fails"


# --- planted controls of the ledger claims ---------------------------------------------------------------------------

JUDGES = {"endogenous_rl.solves_only_above_third_linear": claims.judge_solves_only_above_third,
          "endogenous_rl.kl_sharpening_linear": claims.judge_sharpening,
          "endogenous_rl.entropy_keeps_start_linear": claims.judge_entropy_control,
          "endogenous_rl.planted_chain_reward_solves_linear": claims.judge_planted,
          "endogenous_rl.second_round_sharpens_again_linear": claims.judge_second_round}


def row(arm: str, p_cot: float, seed: int, beta: float = 1.0, **values) -> dict:
    """A run as learned/endogenous_rl.measure_seed writes it, at the theory's values unless given."""
    solved = arm in ("verifiable", "planted") or p_cot > 1 / 3
    kappa = 1 + 1 / beta if beta else 1.0
    base = {"seed_index": seed, "p_cot": p_cot, "data_seed": seed, "tv_compounded": 0.03, "tv_to_ntp": 0.2,
            "tv_replicas": 0.08, "tv_nearest_sharpening": 0.12, "arm": arm, "beta": beta, "kappa": kappa,
            "reward": 1.0, "greedy_accuracy": 1.0 if solved else 0.5, "greedy_long": float(solved),
            "sampled_accuracy": 0.6, "long_fraction": 0.2, "tv_start": 0.12 + 0.01 * seed,
            "tv_prediction": 0.02 + 0.005 * seed, "tv_prediction_start": 0.11, "effective_kappa": kappa}
    if arm == "entropy":
        base |= {"tv_start": 0.05 + 0.01 * seed, "tv_prediction": 0.05 + 0.01 * seed, "effective_kappa": 1.0}
    return base | values


def planted_rows(**changes) -> list[dict]:
    """Every arm at p_cot 0.2 and 0.45, three seeds, at the predictions; ``changes``: arm -> values to plant."""
    rows = []
    for p_cot in (0.2, 0.45):
        for seed in range(3):
            arms = [("start", 0.0), *(("endogenous", b) for b in (0.5, 1.0, 2.0)), ("second_round", 1.0),
                    ("verifiable", 0.0), ("entropy", 1.0), ("entropy", 1.0)] + ([("planted", 1.0)] if p_cot < 0.3
                                                                                  else [])
            rows += [row(name, p_cot, seed, beta, **changes.get(name, {})) for name, beta in arms]
    return rows


def claim_verdict(claim_id: str, rows: list[dict]) -> str:
    return judge(REGISTRY[claim_id], JUDGES[claim_id](rows)).verdict


@pytest.mark.parametrize("claim_id", sorted(JUDGES))
def test_rows_at_the_predictions_hold(claim_id):
    assert claim_verdict(claim_id, planted_rows()) == "holds"


@pytest.mark.parametrize("claim_id, changes", [
    ("endogenous_rl.solves_only_above_third_linear", {"verifiable": {"greedy_accuracy": 0.5}}),  # GRPO stuck
    ("endogenous_rl.kl_sharpening_linear", {"endogenous": {"tv_start": 0.01, "tv_prediction": 0.11}}),  # no move
    ("endogenous_rl.entropy_keeps_start_linear", {"entropy": {"tv_start": 0.12, "tv_replicas": 0.06}}),  # drift
    ("endogenous_rl.planted_chain_reward_solves_linear", {"planted": {"greedy_accuracy": 0.5}}),
    ("endogenous_rl.second_round_sharpens_again_linear", {"second_round": {"tv_start": 0.01, "tv_prediction": 0.1}}),
])
def test_planted_violations_fail(claim_id, changes):
    assert claim_verdict(claim_id, planted_rows(**changes)) == "fails"


def test_the_entropy_control_decides_on_its_replica_scatter_and_its_exponent():
    drifted = planted_rows(entropy={"effective_kappa": 1.6})  # stays within the scatter, but sharpened
    assert claim_verdict("endogenous_rl.entropy_keeps_start_linear", drifted) == "holds-with-caveat"


# --- the GPT sweep check ---------------------------------------------------------------------------------------------

def gpt_job(reward: str, beta: float, p_cot: float, seed: int, final: float | None = None, **extra) -> dict:
    solved = reward == "verifiable" or p_cot > 1 / 3
    final = (1.0 if solved else 0.5) if final is None else final
    return {"job": f"rl.kl_beta={beta},rl.reward={reward},seed={seed},task.p_cot={p_cot}", "task.d": 12,
            "task.p_cot": p_cot, "seed": seed, "rl.reward": reward, "rl.kl_beta": beta, "rl_eval.prompts": 1024,
            "rl.start.forced_long/accuracy": 1.0, "rl.start.greedy/accuracy": 1.0 if p_cot > 1 / 3 else 0.5,
            "rl.final.greedy/accuracy": final} | extra


def gpt_verdict(jobs: list[dict]) -> str:
    tables = Tables({endogenous_checks.SWEEP: (pd.DataFrame(jobs), pd.DataFrame())})
    spec = REGISTRY["parity.endogenous_rl.solves_only_above_third_gpt"]
    return judge(spec, spec.run(Context("quick", 0, tables))).verdict


def gpt_jobs(override: dict | None = None) -> list[dict]:
    """Every arm of the sweep at the predictions; ``override``: (reward, p_cot) -> values to plant."""
    return [gpt_job(reward, beta, p_cot, seed, **(override or {}).get((reward, p_cot), {}))
            for reward in ("endogenous", "verifiable") for beta in (0.0, 0.5, 1.0, 2.0) for p_cot in (0.2, 0.45)
            for seed in range(3)]


def test_gpt_check_controls():
    assert gpt_verdict(gpt_jobs()) == "holds"
    assert gpt_verdict(gpt_jobs({("verifiable", 0.2): {"final": 0.5}})) == "fails"  # RL stuck at β = 0 too
    # KL-regularised RL on the verifiable reward (β > 0) stuck at chance is reported, not judged
    stuck = [{**j, "rl.final.greedy/accuracy": 0.5} if j["rl.reward"] == "verifiable" and j["rl.kl_beta"] > 0 else j
             for j in gpt_jobs()]
    assert gpt_verdict(stuck) == "holds"
    assert gpt_verdict(gpt_jobs({("endogenous", 0.2): {"final": 1.0}})) == "fails"  # the planted-reward outcome
    near = gpt_jobs({("endogenous", 0.2): {"final": 0.6, "rl_eval.prompts": 64}})  # Wilson straddles 0.6
    assert gpt_verdict(near) == "inconclusive"
    unlearned = gpt_jobs({("endogenous", 0.2): {"final": 1.0, "rl.start.forced_long/accuracy": 0.3}})
    assert gpt_verdict(unlearned) == "holds"  # an unlearned start is outside the premise: not evidence
