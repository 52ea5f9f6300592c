"""RL post-training: advantages and losses on hand-computed cases, unbiasedness, STaR's kept set, end to end."""

import json
import subprocess
import sys

import pytest
import torch

from core.runio import read_summary
from toy.config import GPTConfig, RLConfig
from toy.models import build_model
from toy.parity import EOS, PAD, ParityLayout, sample_batch
from toy.policy_gradient import grpo_advantages, leave_one_out_advantages, policy_loss
from toy.sampling import generate
from toy.star import correct_subset


def test_grpo_advantages_by_hand():
    rewards = torch.tensor([[1.0, 0.0, 0.0, 1.0], [1.0, 1.0, 1.0, 1.0]])
    centred = grpo_advantages(rewards, std_normalize=False)
    assert torch.allclose(centred, torch.tensor([[0.5, -0.5, -0.5, 0.5], [0.0, 0.0, 0.0, 0.0]]))
    normalised = grpo_advantages(rewards, std_normalize=True)
    std = (4 * 0.25 / 3) ** 0.5  # unbiased std of [1, 0, 0, 1]
    assert torch.allclose(normalised[0], torch.tensor([0.5, -0.5, -0.5, 0.5]) / (std + 1e-6))
    assert torch.equal(normalised[1], torch.zeros(4))  # an all-correct group carries no signal


def test_leave_one_out_by_hand():
    rewards = torch.tensor([[1.0, 0.0, 0.0]])
    assert torch.allclose(leave_one_out_advantages(rewards), torch.tensor([[1.0, -0.5, -0.5]]))


def test_loss_normalisations_on_a_three_sequence_example():
    log_probs = torch.tensor([[-1.0, -2.0, 0.0], [-1.0, 0.0, 0.0], [-0.5, -0.5, -0.5]], requires_grad=True)
    mask = torch.tensor([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    adv = torch.tensor([1.0, -1.0, 2.0])
    # epochs = 1: the ratio is 1, so each masked token contributes -A (value) and -A d(log p) (gradient).
    per_seq_sum = torch.tensor([-2.0, 1.0, -6.0])
    per_seq_len = mask.sum(1)
    cases = {"dr_grpo": per_seq_sum.sum() / 3, "grpo": (per_seq_sum / per_seq_len).mean(),
             "dapo": per_seq_sum.sum() / mask.sum()}
    # d loss / d log p of a masked token: −A over 3 sequences, over 3 × its response's length, over the 6 tokens
    weights = {"dr_grpo": torch.full((3, 1), 3.0), "grpo": 3 * per_seq_len[:, None], "dapo": mask.sum()}
    for norm, expected in cases.items():
        loss = policy_loss(log_probs, log_probs.detach(), adv, mask, norm, clip_eps=0.2)
        assert torch.allclose(loss, expected), norm
        (grad,) = torch.autograd.grad(loss, log_probs)
        assert torch.allclose(grad, -adv[:, None] * mask / weights[norm]), norm


def test_clipping_stops_the_gradient_outside_the_trust_region():
    log_probs = torch.tensor([[0.5]], requires_grad=True)  # ratio e^0.5 > 1 + eps
    loss = policy_loss(log_probs, torch.zeros(1, 1), torch.tensor([1.0]), torch.ones(1, 1), "dapo", 0.2)
    (grad,) = torch.autograd.grad(loss, log_probs)
    assert grad.item() == 0.0


@pytest.mark.parametrize("estimator", ["leave_one_out", "running_mean"])
def test_reinforce_estimator_is_unbiased_on_a_two_armed_bandit(estimator):
    """Mean of the estimated gradient = exact gradient π_k (r_k − Σ π r), within 5 standard errors."""
    torch.manual_seed(0)
    logits = torch.tensor([0.3, -0.4])
    rewards_of_arm = torch.tensor([1.0, 0.2])
    probs = logits.softmax(0)
    exact = probs * (rewards_of_arm - (probs * rewards_of_arm).sum())
    estimates, baseline, group = [], 0.5, 4
    for _ in range(4000):
        theta = logits.clone().requires_grad_(True)
        arms = torch.multinomial(theta.detach().softmax(0), group, replacement=True)
        rewards = rewards_of_arm[arms][None]
        adv = leave_one_out_advantages(rewards) if estimator == "leave_one_out" else rewards - baseline
        baseline = 0.9 * baseline + 0.1 * rewards.mean().item()  # updated after use: independent of arms
        log_probs = theta.log_softmax(0)[arms][:, None]
        loss = policy_loss(log_probs, log_probs.detach(), adv.flatten(), torch.ones(group, 1), "dr_grpo", 0.2)
        (grad,) = torch.autograd.grad(loss, theta)
        estimates.append(-grad)
    estimates = torch.stack(estimates)
    mean, stderr = estimates.mean(0), estimates.std(0) / len(estimates) ** 0.5
    assert ((mean - exact).abs() <= 5 * stderr).all(), (mean, exact, stderr)
    assert (stderr < 0.2 * exact.abs()).all(), "too few samples for the test to be able to fail"


def test_star_keeps_only_correct_responses():
    layout = ParityLayout(5)
    torch.manual_seed(0)
    model = build_model(GPTConfig(width=16, heads=2, layers=1), layout)
    x = sample_batch(layout, 0.0, 512, torch.Generator().manual_seed(0)).x
    prompts = torch.cat([x, torch.full((512, 1), 2)], dim=1)
    responses = generate(model, prompts, layout.max_response_len, 1.0, torch.Generator().manual_seed(1))
    kept, stats = correct_subset(prompts, responses, x, layout)
    assert 0 < len(kept.x) < 512
    for row, bits in zip(kept.tokens.tolist(), kept.x.tolist(), strict=True):
        response = [t for t in row[layout.prompt_len:] if t != PAD]
        assert response[-1] == EOS and response[-2] == sum(bits) % 2  # independent answer check


def test_rl_config_validation_names_the_field():
    with pytest.raises(ValueError, match=r"rl\.group_size"):
        RLConfig(group_size=1)
    with pytest.raises(ValueError, match=r"rl\.loss_norm"):
        RLConfig(loss_norm="per_batch")


@pytest.mark.parametrize("algo", ["grpo", "reinforce", "star"])
def test_post_train_entry_point_end_to_end(tmp_path, algo):
    ntp = tmp_path / "ntp"
    base = [sys.executable, "-m"]
    tiny_eval = ["eval.prompts=64", "eval.every=2"]
    subprocess.run([*base, "toy.train", "task.d=4", "train.steps=4", *tiny_eval, f"hydra.run.dir={ntp}"],
                   check=True, capture_output=True, timeout=300)
    out = tmp_path / algo
    result = subprocess.run(
        [*base, "toy.post_train", f"init_from={ntp}", f"rl.algo={algo}", "rl.iterations=3", "rl.prompts=4",
         "rl.star_samples=64", "rl.star_steps=2", *tiny_eval, f"hydra.run.dir={out}"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in records] == [0, 1, 2, 3]
    assert "greedy/accuracy" in records[2] and "reward/mean" in records[1]
    assert read_summary(out)["config"]["rl"]["algo"] == algo
