"""toy/trl_arm.py: the install message without trl, the refusal of settings it cannot mirror, the reward read from
token ids, the response mask, TRL's loss against the suite's gradient, and a tiny real TRL run."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest
import torch

from core.runio import METRICS, SUMMARY
from toy.config import EvalConfig, GPTConfig, PostTrainRunConfig, RLConfig, TaskConfig
from toy.evaluate import held_out_prompts, with_separator
from toy.export import export, gpt2_layout, gpt2_name
from toy.models import build_model, load_checkpoint, save_checkpoint
from toy.parity import EOS, PAD, SEP, ParityLayout, sample_batch
from toy.policy_gradient import exact_kl, policy_loss
from toy.sampling import generate, response_log_dists, response_log_softmax, token_log_probs
from toy.trl_arm import (
    TRL_MISSING,
    ParityReward,
    kl_to_start,
    main,
    mask_non_response_logits,
    run,
    unmirrored_settings,
)

needs_transformers = pytest.mark.skipif(importlib.util.find_spec("transformers") is None,
                                        reason="pip install -e '.[export]'")
needs_trl = pytest.mark.skipif(importlib.util.find_spec("trl") is None, reason=TRL_MISSING)

TASK = TaskConfig(d=4, p_cot=0.5)
LAYOUT = ParityLayout(TASK.d)  # response budget L = 5
TINY_GPT = GPTConfig(layers=1, width=16, heads=2, mlp_ratio=2)


@pytest.fixture
def ntp_run(tmp_path):
    """A run directory holding a small TinyGPT checkpoint with perturbed (non-trivial) weights."""
    torch.manual_seed(5)
    model = build_model(TINY_GPT, LAYOUT)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(0.3 * torch.randn_like(param))
    save_checkpoint(tmp_path / "ntp" / "checkpoint.pt", model, TINY_GPT, TASK, step=11)
    return tmp_path / "ntp"


def test_without_trl_the_arm_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "trl", None)  # `import trl` now raises ImportError, as when it is not installed
    cfg = PostTrainRunConfig(init_from=str(tmp_path / "ntp"))
    with pytest.raises(ImportError, match=r"pip install -e '\.\[trl\]'"):
        run(cfg, tmp_path / "out")
    with pytest.raises(SystemExit, match=r"toy\.trl_arm: .*pip install -e '\.\[trl\]'"):
        main([str(tmp_path / "ntp"), "--out", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()


def test_defaults_are_mirrored_and_other_settings_refused(tmp_path):
    assert unmirrored_settings(RLConfig()) == []
    assert unmirrored_settings(RLConfig(kl_beta=0.1, kl_estimator="k3", std_normalize=True, loss_norm="dapo",
                                        max_grad_norm=1.0, lr_schedule="cosine", long_bonus=0.1)) == []
    refused = {"rl.algo=reinforce": RLConfig(algo="reinforce"), "rl.epochs=2": RLConfig(epochs=2),
               "rl.minibatches=2": RLConfig(minibatches=2), "rl.reward=endogenous": RLConfig(reward="endogenous"),
               "rl.kl_estimator=exact": RLConfig(kl_beta=0.1), "rl.kl_to_go=True": RLConfig(kl_beta=0.1,
                                                                                             kl_estimator="k3",
                                                                                             kl_to_go=True)}
    for name, rl in refused.items():
        assert unmirrored_settings(rl) == [name]
        with pytest.raises(ValueError, match=f"cannot mirror {name}"):
            run(PostTrainRunConfig(init_from=str(tmp_path), rl=rl), tmp_path / "out")


def test_reward_reads_token_ids_so_a_truncated_response_is_malformed():
    """x = 1 0 1 1: chain 1 1 0 1, answer 1; budget L = 5.  The truncated response (five bits, no <eos>) ends in
    the right bit, so a reader of decoded text (which drops <eos>) would call it a finished right answer."""
    x = [1, 0, 1, 1]
    completions = [[1, 1, 0, 1, EOS],  # the chain: right, long
                   [1, EOS],  # short, right
                   [0, EOS],  # short, wrong
                   [1, 1, 0, 1, 1],  # truncated at the budget: malformed
                   [EOS]]  # empty: malformed
    reward = ParityReward(LAYOUT, group_size=5, long_bonus=0.5)
    assert reward(completion_ids=completions, x=[x] * 5, prompts=["1 0 1 1 ="] * 5) == [1.5, 1.0, 0.0, 0.0, 0.0]
    assert reward.rollout == pytest.approx({
        "reward/mean": 2.5 / 5, "reward/frac_zero_std_groups": 0.0, "rollout/long_fraction": 1 / 5,
        "rollout/mean_length": (4 + 1 + 1 + 5 + 0) / 5, "rollout/malformed": 2 / 5})
    with pytest.raises(ValueError, match="exceeds the response budget"):
        reward(completion_ids=[[1, 1, 0, 1, 1, EOS]], x=[x])


@needs_transformers
def test_decoded_text_cannot_tell_a_truncated_response(ntp_run, tmp_path):
    """Why the reward reads ids: the exported tokenizer decodes the truncated response and the same bits followed by
    <eos> to the same text, as TRL's decoding (skip_special_tokens) does."""
    import transformers

    tokenizer = transformers.AutoTokenizer.from_pretrained(export(ntp_run, tmp_path / "hf"))
    truncated = [1, 1, 0, 1, 1]
    assert tokenizer.decode(truncated, skip_special_tokens=True) == tokenizer.decode(
        [*truncated, EOS], skip_special_tokens=True) == "1 1 0 1 1"


@needs_transformers
def test_masked_head_scores_the_suites_response_policy(ntp_run, tmp_path):
    import transformers

    model, _, _ = load_checkpoint(ntp_run)
    gpt2 = transformers.AutoModelForCausalLM.from_pretrained(export(ntp_run, tmp_path / "hf"))
    mask_non_response_logits(gpt2)
    tokens = sample_batch(LAYOUT, 0.5, 32, torch.Generator().manual_seed(0)).tokens
    with torch.no_grad():
        logits, ours = gpt2(input_ids=tokens).logits, model(tokens)
    for temperature in (1.0, 0.7):
        full = torch.log_softmax(logits / temperature, dim=-1)  # what TRL computes: the whole vocabulary
        assert torch.all(full[..., [SEP, PAD]].exp() == 0)
        torch.testing.assert_close(full[..., [0, 1, EOS]], response_log_softmax(ours / temperature), atol=1e-5,
                                   rtol=0)
    assert not gpt2.lm_head.bias.requires_grad


def arm_config(ntp_run, **rl) -> PostTrainRunConfig:
    rl_cfg = RLConfig(**{"iterations": 2, "prompts": 4, "group_size": 4, **rl})
    return PostTrainRunConfig(init_from=str(ntp_run), rl=rl_cfg, eval=EvalConfig(prompts=64, every=1))


@needs_trl
def test_grpo_config_mirrors_the_suites_settings(ntp_run, tmp_path):
    from toy.trl_arm import grpo_config

    budget = LAYOUT.max_response_len
    for loss_norm, scale in (("dr_grpo", 1 / budget), ("dapo", 1.0)):
        cfg = arm_config(ntp_run, loss_norm=loss_norm, temperature=0.8, lr=1e-4, kl_beta=0.05, kl_estimator="k3",
                         max_grad_norm=2.0)
        args = grpo_config(cfg, LAYOUT, tmp_path / "trl")
        assert (args.num_generations, args.per_device_train_batch_size, args.gradient_accumulation_steps,
                args.num_iterations, args.max_steps) == (4, 16, 1, 1, 2)
        assert (args.temperature, args.max_completion_length, args.generation_kwargs) == (
            0.8, budget, {"suppress_tokens": [SEP, PAD]})
        assert (args.loss_type, args.scale_rewards, args.beta, args.use_bias_correction_kl) == (
            loss_norm, "none", 0.05, False)
        assert (args.learning_rate, args.lr_scheduler_type, args.warmup_steps, args.weight_decay) == (
            1e-4, "constant", 0, 0.0)
        assert (args.adam_beta1, args.adam_beta2) == (0.9, 0.999)
        assert args.adam_epsilon == pytest.approx(1e-8 * scale) and args.max_grad_norm == pytest.approx(2.0 * scale)
        assert not args.bf16 and not args.gradient_checkpointing
    assert grpo_config(arm_config(ntp_run, std_normalize=True), LAYOUT, tmp_path).scale_rewards == "group"


@needs_trl
@pytest.mark.parametrize("loss_norm", ["dr_grpo", "grpo", "dapo"])
def test_trl_loss_has_the_suites_gradient(loss_norm, ntp_run, tmp_path):
    """On one batch of responses and advantages, the gradient of TRL's GRPO loss (``GRPOTrainer._compute_loss``, a
    private method: this pins the TRL version tested) is the suite's policy_loss gradient, times 1/L for dr_grpo."""
    from toy.trl_arm import ParityReward, build_trainer

    cfg = arm_config(ntp_run, loss_norm=loss_norm, temperature=0.7)
    hf_dir = export(ntp_run, tmp_path / "hf")
    trainer = build_trainer(cfg, LAYOUT, hf_dir, ParityReward(LAYOUT, 4), tmp_path / "trl")
    trainer.current_gradient_accumulation_steps = 1  # set by Trainer.train's loop
    batch = sample_batch(LAYOUT, 0.5, 16, torch.Generator().manual_seed(3))
    prompts, responses = batch.tokens[:, :LAYOUT.prompt_len], batch.tokens[:, LAYOUT.prompt_len:]
    mask = responses != PAD
    advantages = torch.randn(16, generator=torch.Generator().manual_seed(4))
    trainer.model.train()
    trainer._compute_loss(trainer.model, {
        "prompt_ids": prompts, "prompt_mask": torch.ones_like(prompts), "completion_ids": responses,
        "completion_mask": mask.long(), "advantages": advantages, "num_items_in_batch": mask.sum().float()}).backward()

    model, _, _ = load_checkpoint(ntp_run)
    log_probs = token_log_probs(response_log_dists(model, prompts, responses, 0.7), responses)
    policy_loss(log_probs, log_probs.detach(), advantages, mask.float(), loss_norm, 0.2).backward()
    scale = LAYOUT.max_response_len if loss_norm == "dr_grpo" else 1.0
    theirs = dict(trainer.model.named_parameters())
    for name, param in model.named_parameters():
        key = gpt2_name(name)
        torch.testing.assert_close(gpt2_layout(key, theirs[key].grad) * scale, param.grad, atol=1e-6, rtol=1e-4,
                                   msg=lambda text, name=name: f"{name}: {text}")


@needs_trl
def test_trl_generation_samples_the_suites_policy(ntp_run, tmp_path):
    """TRL's generation config on the masked export draws from the suite's π_T: over n = 4000 responses to one prompt,
    the frequency of each first token and of going long (a bit after the first bit) is within 4.5 binomial standard
    errors of its exact value (a false alarm has probability < 10⁻⁵ per comparison); "=" and <pad> never appear
    before <eos>."""
    from toy.trl_arm import build_trainer

    temperature, n = 0.7, 4000
    cfg = arm_config(ntp_run, temperature=temperature)
    trainer = build_trainer(cfg, LAYOUT, export(ntp_run, tmp_path / "hf"), ParityReward(LAYOUT, 4), tmp_path / "trl")
    prompt = with_separator(torch.tensor([[1, 0, 1, 1]]))
    torch.manual_seed(0)
    with torch.no_grad():
        generated = trainer.model.generate(input_ids=prompt.repeat(n, 1), attention_mask=torch.ones(n, prompt.shape[1]),
                                           generation_config=trainer.generation_config)[:, LAYOUT.prompt_len:]
    responses = torch.full((n, LAYOUT.max_response_len), PAD)
    responses[:, :generated.shape[1]] = generated
    before_eos = torch.cumsum(responses == EOS, dim=1) - (responses == EOS).long() == 0
    assert not (before_eos & ((responses == SEP) | (responses == PAD))).any()

    model, _, _ = load_checkpoint(ntp_run)
    with torch.no_grad():
        first = response_log_softmax(model(prompt)[0, -1] / temperature).exp()  # over (0, 1, <eos>)
        after_bit = torch.stack([response_log_softmax(model(torch.cat([prompt, torch.tensor([[bit]])], 1))[0, -1]
                                                      / temperature).exp() for bit in (0, 1)])
    exact = {"first=0": first[0], "first=1": first[1], "first=<eos>": first[2],
             "long": (first[:2] * (1 - after_bit[:, 2])).sum()}
    observed = {"first=0": (responses[:, 0] == 0), "first=1": (responses[:, 0] == 1),
                "first=<eos>": (responses[:, 0] == EOS), "long": (responses[:, 0] <= 1) & (responses[:, 1] <= 1)}
    for name, p in exact.items():
        error = 4.5 * (p * (1 - p) / n).sqrt()
        assert abs(observed[name].float().mean() - p) <= error, (name, observed[name].float().mean(), p)


def test_kl_to_start_is_the_whole_response_kl_the_suite_logs(ntp_run):
    """0 against itself; against another model, the mean of the per-state exact KL summed over a response equals in
    expectation E_π[log π(r) − log π_start(r)] of whole responses (the k1 estimator of sequence KL, an independent
    route through the sampled tokens' log-probabilities): the two Monte Carlo means agree within 4.5 standard errors
    of their paired difference."""
    start, _, _ = load_checkpoint(ntp_run)
    torch.manual_seed(6)
    policy = build_model(TINY_GPT, LAYOUT)
    policy.load_state_dict({k: v + 0.3 * torch.randn_like(v) for k, v in start.state_dict().items()})
    x = torch.randint(0, 2, (4000, TASK.d), generator=torch.Generator().manual_seed(0))
    assert kl_to_start(start, start, LAYOUT, x, 1.0, seed=1) == 0
    temperature, seed = 0.8, 2
    prompts = with_separator(x)
    responses = generate(policy, prompts, LAYOUT.max_response_len, temperature, torch.Generator().manual_seed(seed))
    with torch.no_grad():
        log_ratio = (token_log_probs(response_log_dists(policy, prompts, responses, temperature), responses)
                     - token_log_probs(response_log_dists(start, prompts, responses, temperature), responses)).sum(1)
        per_state = exact_kl(response_log_dists(policy, prompts, responses, temperature),
                             response_log_dists(start, prompts, responses, temperature))
        per_state = (per_state * (responses != PAD)).sum(1)
    measured = kl_to_start(policy, start, LAYOUT, x, temperature, seed)
    assert measured == pytest.approx(per_state.mean().item(), rel=1e-5)  # the same draws: the same responses
    error = 4.5 * (log_ratio - per_state).std() / len(x) ** 0.5
    assert measured > 0.05 and abs(measured - log_ratio.mean().item()) <= error


@needs_trl
def test_tiny_trl_run_writes_the_suites_records(ntp_run, tmp_path):
    cfg = arm_config(ntp_run, iterations=3)
    summary = run(cfg, tmp_path / "arm")
    records = [json.loads(line) for line in (tmp_path / "arm" / METRICS).read_text().splitlines()]
    assert [r["iteration"] for r in records] == [0, 1, 2, 3]
    for record in records[1:]:
        for key in ("reward/mean", "reward/frac_zero_std_groups", "rollout/long_fraction", "rollout/mean_length",
                    "rollout/malformed", "iteration_seconds", "greedy/accuracy", "sampled/mean_length"):
            assert key in record, key
        assert 0 <= record["rollout/malformed"] <= 1 and 0 <= record["rollout/mean_length"] <= LAYOUT.max_response_len
        assert record["policy/kl_to_start"] >= 0  # every iteration is evaluated here (eval.every = 1)
    assert (tmp_path / "arm" / SUMMARY).exists() and summary["iterations"] == 3
    # the logger's KL is kl_to_start of the weights it evaluated against the start, on the first P·G held-out prompts
    start, _, _ = load_checkpoint(ntp_run)
    final, _, _ = load_checkpoint(tmp_path / "arm")  # the iteration-3 weights
    expected = kl_to_start(final, start, LAYOUT, held_out_prompts(LAYOUT, cfg.eval.prompts, cfg.eval.seed)[:16],
                           cfg.rl.temperature, cfg.seed + 3)
    assert records[-1]["policy/kl_to_start"] == pytest.approx(expected, rel=1e-6) and expected > 0
    assert summary["arm"]["trainer"] == "trl.GRPOTrainer"
    start, _, _ = load_checkpoint(ntp_run)
    trained, task, _ = load_checkpoint(tmp_path / "arm")
    assert task == TASK
    assert any(not torch.equal(a, b) for a, b in zip(start.state_dict().values(), trained.state_dict().values(),
                                                      strict=True)), "three GRPO steps left every weight unchanged"
    assert run(cfg, tmp_path / "arm") == summary  # a finished run is not redone
    run(cfg, tmp_path / "again")  # the same config and seed draw the same rollouts and updates
    again = [json.loads(line) for line in (tmp_path / "again" / METRICS).read_text().splitlines()]
    untimed = [[{k: v for k, v in r.items() if "seconds" not in k} for r in rs] for rs in (records, again)]
    assert untimed[0] == untimed[1]


@needs_trl
def test_a_sweep_job_with_rl_trainer_trl_runs_the_arm_in_its_own_rl_stage(compose_typed, tmp_path):
    """rl_trainer=trl sends the RL stage to toy.trl_arm, under a key of its own next to the suite's GRPO stage."""
    import sweeps.pipeline as pipeline
    from tests.test_sweeps import TINY

    jobs = {}
    for trainer in ("suite", "trl"):
        cfg = compose_typed("pipeline", [*TINY, f"rl_trainer={trainer}", f"stages_dir={tmp_path / 'stages'}"])
        jobs[trainer] = pipeline.run(cfg, tmp_path / trainer)
    assert jobs["suite"]["stages"]["ntp"]["key"] == jobs["trl"]["stages"]["ntp"]["key"]  # one NTP stage
    assert jobs["suite"]["stages"]["rl"]["key"] != jobs["trl"]["stages"]["rl"]["key"]
    rl_summaries = {trainer: json.loads((tmp_path / trainer / "rl" / SUMMARY).read_text()) for trainer in jobs}
    assert "arm" in rl_summaries["trl"] and "arm" not in rl_summaries["suite"]
