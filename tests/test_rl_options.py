"""The PPO-style and optimiser options of toy/policy_gradient.py against hand-computed values: the clipped surrogate's
per-token gradient, minibatches of whole prompt groups, the number of optimizer steps, π_old at a later epoch, the
gradient-norm clip, the learning-rate schedule, and a tiny run with every option on (deterministic for a seed)."""

import copy
import dataclasses
import json
import math

import pytest
import torch

import toy.post_train
import toy.train
from core.runio import METRICS
from toy import policy_gradient
from toy.config import EvalConfig, LinearConfig, OptimConfig, PostTrainRunConfig, RLConfig, TaskConfig, TrainRunConfig
from toy.models import build_model
from toy.parity import ParityLayout
from toy.policy_gradient import clip_gradients, minibatch_rows, policy_loss, tokens_outside_trust_region
from toy.sampling import response_log_dists, token_log_probs

LAYOUT = ParityLayout(4)


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny solves (tests/conftest.py)


def linear_start(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_model(LinearConfig(), LAYOUT)


def run(cfg: RLConfig, start: torch.nn.Module, seed: int = 1) -> tuple[list[dict], torch.nn.Module]:
    model = copy.deepcopy(start)
    records = list(policy_gradient.iterate(model, copy.deepcopy(start).requires_grad_(False), LAYOUT, cfg,
                                           torch.Generator().manual_seed(seed)))
    return records, model


# --- the clipped surrogate -------------------------------------------------------------------------------------------

# (ratio π/π_old, advantage A, d loss / d log π of the per-token loss −min(ρA, clip(ρ, 0.8, 1.2)A)): the gradient is
# −ρA where the unclipped term is the minimum and 0 where the clipped one is, i.e. ρ > 1.2 with A > 0 and ρ < 0.8 with
# A < 0; outside [0.8, 1.2] on the other side the unclipped term stays (the pessimistic bound), inside it always does.
CLIP_TABLE = [
    (0.5, 2.0, -1.0), (0.9, 2.0, -1.8), (1.0, 2.0, -2.0), (1.1, 2.0, -2.2), (1.5, 2.0, 0.0),
    (0.5, -1.0, 0.0), (0.9, -1.0, 0.9), (1.0, -1.0, 1.0), (1.1, -1.0, 1.1), (1.5, -1.0, 1.5),
]
# and its value −min(ρA, clip(ρ)A): ρA where the gradient is −ρA (up to sign), the clipped bound times A elsewhere
CLIP_VALUES = [-1.0, -1.8, -2.0, -2.2, -2.4, 0.8, 0.9, 1.0, 1.1, 1.5]


def test_clipping_is_active_only_when_the_ratio_leaves_the_trust_region():
    columns = zip(*CLIP_TABLE, strict=True)
    ratio, advantages, expected = (torch.tensor(column, dtype=torch.float64) for column in columns)
    old = torch.full((len(ratio), 1), -1.3, dtype=torch.float64)
    log_probs = (old + ratio.log()[:, None]).requires_grad_(True)
    mask = torch.ones_like(old)
    loss = policy_loss(log_probs, old, advantages, mask, "dr_grpo", clip_eps=0.2)
    (grad,) = torch.autograd.grad(loss, log_probs)
    n = len(ratio)  # dr_grpo: Σ over tokens / #sequences
    assert torch.allclose(grad[:, 0], expected / n, atol=1e-12)
    assert math.isclose(loss.item(), sum(CLIP_VALUES) / n, abs_tol=1e-12)
    assert tokens_outside_trust_region(log_probs, old, mask, 0.2) == 4  # ρ = 0.5 and 1.5, for both advantages
    assert tokens_outside_trust_region(log_probs, old, torch.zeros_like(mask), 0.2) == 0  # masked tokens never count


# --- minibatches and optimizer steps ---------------------------------------------------------------------------------

def test_minibatches_partition_every_group_exactly_once_per_epoch():
    prompts, group, parts = 7, 3, 3
    generator = torch.Generator().manual_seed(0)
    orders = []
    for _ in range(4):  # four epochs
        minibatches = minibatch_rows(prompts, group, parts, generator)
        assert len(minibatches) == parts
        assert torch.equal(torch.cat(minibatches).sort().values, torch.arange(prompts * group))  # each row once
        for rows in minibatches:
            by_group = rows.view(-1, group)  # whole groups: the G rows p·G … p·G + G − 1 side by side
            assert torch.equal(by_group, by_group[:, :1] + torch.arange(group)) and (by_group[:, 0] % group == 0).all()
        assert sorted(len(rows) // group for rows in minibatches) == [2, 2, 3]  # 7 groups in 3 near-equal parts
        orders.append(torch.cat(minibatches))
    assert any(not torch.equal(orders[0], order) for order in orders[1:])  # reshuffled between epochs
    again = torch.Generator().manual_seed(0)
    assert torch.equal(torch.cat(minibatch_rows(prompts, group, parts, again)), orders[0])  # seeded: deterministic
    state = generator.get_state()
    assert torch.equal(torch.cat(minibatch_rows(prompts, group, 1, generator)), torch.arange(prompts * group))
    assert torch.equal(generator.get_state(), state)  # one minibatch draws nothing


@pytest.mark.parametrize(("epochs", "minibatches"), [(1, 1), (3, 1), (1, 4), (2, 3)])
def test_optimizer_steps_per_iteration_are_epochs_times_minibatches(monkeypatch, epochs, minibatches):
    steps = []
    adam_step = torch.optim.Adam.step

    def counting_step(self, *args, **kwargs):
        steps.append(1)
        return adam_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", counting_step)
    cfg = RLConfig(iterations=3, prompts=4, group_size=2, epochs=epochs, minibatches=minibatches)
    model = linear_start()
    per_iteration = []
    for record in policy_gradient.iterate(model, copy.deepcopy(model), LAYOUT, cfg, torch.Generator().manual_seed(0)):
        per_iteration.append(len(steps))
        steps.clear()
        assert ("policy/clip_fraction" in record) == (epochs * minibatches > 1)
    assert per_iteration == [epochs * minibatches] * 3


def test_pi_old_at_a_later_epoch_is_the_policy_that_sampled(monkeypatch):
    """Every step of an iteration (2 epochs × 2 minibatches) gets π_old = the start model's log-probabilities of its
    rows, recomputed here independently, while the policy it differentiates has moved by the second epoch."""
    calls, rollouts, partitions = [], [], []
    real_loss, real_generate, real_rows = (policy_gradient.policy_loss, policy_gradient.generate,
                                           policy_gradient.minibatch_rows)

    def spy_loss(log_probs, old_log_probs, *args, **kwargs):
        calls.append((log_probs.detach().clone(), old_log_probs.clone()))
        return real_loss(log_probs, old_log_probs, *args, **kwargs)

    def spy_generate(model, prompts, *args, **kwargs):
        responses = real_generate(model, prompts, *args, **kwargs)
        rollouts.append((prompts, responses))
        return responses

    def spy_rows(*args):
        partitions.append(real_rows(*args))
        return partitions[-1]

    monkeypatch.setattr(policy_gradient, "policy_loss", spy_loss)
    monkeypatch.setattr(policy_gradient, "generate", spy_generate)
    monkeypatch.setattr(policy_gradient, "minibatch_rows", spy_rows)
    start = linear_start()
    cfg = RLConfig(iterations=1, prompts=6, group_size=4, epochs=2, minibatches=2, lr=0.05)
    run(cfg, start)
    ((prompts, responses),) = rollouts
    with torch.no_grad():
        start_log_probs = token_log_probs(response_log_dists(start, prompts, responses), responses)
    steps = [rows for partition in partitions for rows in partition]
    assert len(steps) == len(calls) == 4
    for index, (rows, (_, old_log_probs)) in enumerate(zip(steps, calls, strict=True)):
        assert torch.allclose(old_log_probs, start_log_probs[rows], atol=1e-6), f"step {index}"
    moved = max((log_probs - old).abs().max().item() for log_probs, old in calls[2:])  # the second epoch
    assert moved > 1e-3  # so a π_old recomputed at the current policy would have failed the check above


# --- gradient clipping and the learning-rate schedule ----------------------------------------------------------------

def test_gradient_clipping_caps_the_norm_and_leaves_small_gradients_alone():
    parameters = [torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(1, 1))]
    raw = [torch.tensor([3.0, 4.0]), torch.tensor([[12.0]])]  # global norm √(9 + 16 + 144) = 13

    def set_gradients():
        for parameter, grad in zip(parameters, raw, strict=True):
            parameter.grad = grad.clone()

    def norm() -> float:
        return math.sqrt(sum(p.grad.pow(2).sum().item() for p in parameters))

    set_gradients()
    assert clip_gradients(parameters, 6.5) == pytest.approx(13.0)  # the norm before clipping
    assert norm() <= 6.5 and norm() == pytest.approx(6.5, rel=1e-6)
    assert torch.allclose(parameters[0].grad, raw[0] / 2, rtol=1e-6)  # every tensor scaled by the same 6.5/13
    for max_norm in (20.0, 0.0):  # above the norm, or off: nothing changes
        set_gradients()
        assert clip_gradients(parameters, max_norm) == pytest.approx(13.0)
        assert all(torch.equal(p.grad, g) for p, g in zip(parameters, raw, strict=True))


def test_the_clip_is_applied_inside_iterate():
    """A clip far below the gradient norm changes the update; one far above it leaves it bitwise unchanged."""
    start, base = linear_start(), RLConfig(iterations=2, prompts=4, group_size=4)
    (records, plain), (_, loose) = run(base, start), run(dataclasses.replace(base, max_grad_norm=1e6), start)
    (_, tight) = run(dataclasses.replace(base, max_grad_norm=1e-4), start)
    assert all(r["policy/grad_norm"] > 1e-4 for r in records)
    assert torch.equal(plain.weight, loose.weight) and not torch.equal(plain.weight, tight.weight)


@pytest.mark.parametrize(("schedule", "factors"), [
    ("constant", (1.0, 1.0, 1.0)),
    ("linear", (1.0, 0.5, 0.25)),  # 1 − (i − 1)/I at i = 1, I/2 + 1, I with I = 4
    ("cosine", (1.0, 0.5, (1 - math.sqrt(0.5)) / 2)),  # (1 + cos(π(i − 1)/I))/2: cos 0, cos π/2, cos 3π/4
])
def test_lr_schedule_at_the_first_middle_and_last_iteration(schedule, factors):
    cfg = RLConfig(iterations=4, prompts=2, group_size=2, lr=0.01, lr_schedule=schedule)
    records, _ = run(cfg, linear_start())
    logged = [records[i - 1]["policy/lr"] for i in (1, 3, 4)]
    assert logged == pytest.approx([0.01 * f for f in factors], rel=1e-12)


# --- a tiny run with every option on ---------------------------------------------------------------------------------

EVERY_OPTION = {"epochs": 2, "minibatches": 2, "max_grad_norm": 0.5, "lr_schedule": "cosine", "loss_norm": "dapo",
                "std_normalize": True, "kl_beta": 0.1, "kl_estimator": "k3", "kl_to_go": True, "clip_eps": 0.1,
                "lr": 0.02}


def test_every_option_at_once_runs_and_is_deterministic(tmp_path):
    """A linear NTP start at d = 4, then 4 GRPO iterations with every option on through toy.post_train, twice."""
    ntp = tmp_path / "ntp"
    train = OptimConfig(steps=20, batch_size=256, lr=0.05, warmup_steps=0, grad_clip=0.0)
    eval_cfg = EvalConfig(prompts=64, every=2)
    toy.train.run(TrainRunConfig(task=TaskConfig(d=4, p_cot=0.45), model=LinearConfig(), train=train,
                                 eval=dataclasses.replace(eval_cfg, every=10_000), threads=1, skip_finished=False), ntp)
    runs = []
    for name in ("a", "b"):
        cfg = PostTrainRunConfig(init_from=str(ntp), rl=RLConfig(iterations=4, prompts=4, group_size=4,
                                                                  **EVERY_OPTION),
                                 eval=eval_cfg, seed=3, threads=1, skip_finished=False)
        toy.post_train.run(cfg, tmp_path / name)
        records = [json.loads(line) for line in (tmp_path / name / METRICS).read_text().splitlines()]
        runs.append([{k: v for k, v in r.items() if "seconds" not in k} for r in records])
    assert runs[0] == runs[1]
    updates = runs[0][1:]
    assert [r["iteration"] for r in updates] == [1, 2, 3, 4]
    assert all(0 <= r["policy/clip_fraction"] <= 1 and r["policy/grad_norm"] > 0 for r in updates)
    # the largest step's norm, which the mean over the epochs × minibatches steps would dilute
    assert all(r["policy/grad_norm_max"] > r["policy/grad_norm"] for r in updates)
    assert any(r["policy/clip_fraction"] > 0 for r in updates)  # the second epoch moved some ratio out of [0.9, 1.1]
    assert [r["policy/lr"] for r in updates] == pytest.approx(
        [0.02 * (1 + math.cos(math.pi * k / 4)) / 2 for k in range(4)], rel=1e-12)
