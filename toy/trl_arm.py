"""A cross-check arm: TRL's GRPOTrainer from the suite's NTP checkpoint, set up to mirror toy/policy_gradient.py's GRPO.

``python -m toy.trl_arm NTP_RUN_DIR --out DIR [--iterations N] [--seed S]``, or `run` (a `PostTrainRunConfig` and an
output directory, the same contract as toy/post_train.py: metrics.jsonl, checkpoint.pt, summary.json last) from a
sweep.  The checkpoint is exported as a GPT-2 causal LM (toy/export.py) and trained by ``trl.GRPOTrainer``; every
iteration logs ``reward/mean``, ``reward/frac_zero_std_groups``, ``rollout/long_fraction``, ``rollout/mean_length``,
``rollout/malformed`` and ``iteration_seconds`` (from the start of the step to the end of its optimiser update:
generation, scoring, the teacher-forced pass, backward, step), and every ``eval.every`` iterations the suite's own
held-out metrics (toy/evaluate.py) of the trained weights mapped back into a TinyGPT (`tiny_gpt_from_gpt2`, the exact
inverse of the export), with the same early stop at ``eval.stop_metric``, and ``policy/kl_to_start`` as the suite's
GRPO logs it (`kl_to_start`), which the collapse detector of sweeps/rl_variants.py reads.

How each setting of RLConfig is mirrored:

* one iteration = one generation batch of ``prompts`` prompts × ``group_size`` samples (``num_generations``) and one
  optimiser step on all of it (``per_device_train_batch_size`` = P·G, no accumulation, ``num_iterations`` = 1);
* sampling at ``temperature``, no top-k / top-p / repetition penalty, ``max_completion_length`` = the response budget
  L, "=" and <pad> suppressed (``generation_kwargs={'suppress_tokens': ...}``): the law of toy/sampling.py
  ``generate``.  TRL scores log-probabilities with a log-softmax over the *whole* vocabulary, the suite over the
  three response tokens; `mask_non_response_logits` gives the LM head a frozen bias of −10⁴ on "=" and <pad>, whose
  softmax weight is exactly 0 in float32, so TRL's log-probabilities, entropies and KL are the suite's;
* reward: `ParityReward` reads the completion *token ids* with toy/parity.py ``read_responses`` (decoded text drops
  <eos>, so a truncated response would read as finished); correct = 1, malformed = 0, plus ``long_bonus``·[long];
* ``scale_rewards`` = 'group' if ``std_normalize`` else 'none'; ``loss_type`` = ``loss_norm`` (the same names);
  ``beta`` = ``kl_beta`` with the plain k3 term (``use_bias_correction_kl=False``: the suite's ``kl_estimator='k3'``);
* Adam: torch's AdamW with betas (0.9, 0.999) and weight decay 0 (the suite's Adam), no warm-up, ``lr``,
  ``lr_scheduler_type`` = ``lr_schedule``: transformers' constant, linear lr·(1 − k/N) and cosine lr·½(1 + cos πk/N)
  at update k = 0 .. N − 1 of N = ``iterations`` (RLConfig's decays to 0 over the iterations); ``max_grad_norm`` as
  in the suite (transformers clips only when it is > 0, so 0 is "no clipping" in both).
  TRL's 'dr_grpo' divides the summed loss by #sequences × L where the suite divides by #sequences: the gradient is
  1/L of the suite's, so the arm passes ``adam_epsilon`` = 1e-8/L and ``max_grad_norm``/L, which makes the Adam
  update and the clip exactly the suite's;
* float32 on the CPU, no dropout, no gradient checkpointing, the config's ``seed`` and ``threads``.

Departures that remain: (1) random streams: the prompts are drawn from ``seed`` up front and the samples from torch's
global generator seeded by the Trainer, where the suite draws both from one generator per iteration, so runs share
the law, not the draws; (2) with ``std_normalize`` TRL divides by std + 1e-4, the suite by std + 1e-6 (a relative
difference below 3·10⁻⁴ at binary rewards with G = 8); (3) GPT-2's Conv1D (addmm) and the suite's nn.Linear round
differently (logits agree to float32 round-off, tests/test_export.py); (4) ``iteration_seconds`` also holds what
TRL does besides the suite's work: tokenising the prompt text, decoding completions to text, its metric gathering.
Settings the arm does not mirror are refused (`unmirrored_settings`): other algorithms, ``epochs`` or
``minibatches`` > 1, the endogenous reward, the uniform KL reference, ``kl_to_go``, and a KL penalty with the exact or
k1 estimator (TRL's is k3).  Needs the optional extra: ``pip install -e '.[trl]'``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from core.runio import CHECKPOINT, METRICS, MetricsLog, begin_run, config_record, finish_run, finite_or_raise
from toy.config import EvalConfig, GPTConfig, PostTrainRunConfig, RLConfig
from toy.evaluate import evaluate, evaluate_or_check, held_out_prompts, solve_reached, with_separator
from toy.export import export, tiny_gpt_from_gpt2
from toy.models import load_checkpoint, save_checkpoint
from toy.parity import PAD, RESPONSE_TOKENS, SEP, VOCAB_SIZE, ParityLayout, decode, read_responses
from toy.policy_gradient import exact_kl
from toy.post_train import rl_summary
from toy.sampling import generate, response_log_dists

TRL_MISSING = "the TRL arm needs the optional extra: pip install -e '.[trl]' (it keeps the installed torch)"
MASKED_LOGIT = -1e4  # exp(-1e4) is exactly 0 in float32; -inf would make 0·log 0 = NaN in TRL's entropies
ADAM_EPS = 1e-8  # torch.optim.Adam's default, which toy/policy_gradient.py uses


def require_trl():
    """The trl module (with transformers and datasets), or an ImportError that says how to install it."""
    try:
        import datasets  # noqa: F401  (GRPOTrainer's dataset type)
        import transformers  # noqa: F401
        import trl
    except ImportError as exc:
        raise ImportError(f"{TRL_MISSING} ({exc})") from exc
    return trl


def unmirrored_settings(rl: RLConfig) -> list[str]:
    """The settings of ``rl`` the arm cannot reproduce with TRL's GRPOTrainer (empty: it mirrors them all)."""
    unmirrored = {
        "rl.algo": rl.algo != "grpo",
        "rl.epochs": rl.epochs != 1,
        "rl.minibatches": rl.minibatches != 1,
        "rl.reward": rl.reward != "verifiable",
        "rl.kl_reference": rl.kl_beta > 0 and rl.kl_reference != "start",
        "rl.kl_to_go": rl.kl_beta > 0 and rl.kl_to_go,
        "rl.kl_estimator": rl.kl_beta > 0 and rl.kl_estimator != "k3",
    }
    return [f"{name}={getattr(rl, name.split('.')[1])}" for name, refused in unmirrored.items() if refused]


def mask_non_response_logits(gpt2) -> None:
    """Give the LM head a frozen bias of MASKED_LOGIT on every non-response token, 0 on the response tokens."""
    head = gpt2.get_output_embeddings()
    bias = torch.full((VOCAB_SIZE,), MASKED_LOGIT, dtype=head.weight.dtype)
    bias[list(RESPONSE_TOKENS)] = 0.0
    head.bias = torch.nn.Parameter(bias, requires_grad=False)


class ParityReward:
    """TRL reward function: the verifiable reward of each completion, read from its token ids.

    TRL passes each completion's ids up to and including its first <eos> (all L ids when there is none) and the
    dataset column ``x``; the ids are padded with <pad> to L and read by toy/parity.py ``read_responses``.  The rollout
    statistics of the last call are kept in ``rollout`` (the suite's record keys)."""

    def __init__(self, layout: ParityLayout, group_size: int, long_bonus: float = 0.0):
        self.layout, self.group_size, self.long_bonus = layout, group_size, long_bonus
        self.rollout: dict[str, float] = {}
        self.__name__ = "parity_reward"  # TRL names a reward function's metrics after it (and trl < 1.1 requires it)

    def __call__(self, completion_ids: list[list[int]], x: list[list[int]], **_) -> list[float]:
        budget = self.layout.max_response_len
        responses = torch.full((len(completion_ids), budget), PAD, dtype=torch.long)
        for row, ids in enumerate(completion_ids):
            if len(ids) > budget:
                raise ValueError(f"a completion of {len(ids)} tokens exceeds the response budget {budget}")
            responses[row, :len(ids)] = torch.as_tensor(ids, dtype=torch.long)
        stats = read_responses(responses, torch.as_tensor(x, dtype=torch.long), self.layout)
        rewards = stats.correct.float() + self.long_bonus * stats.is_long.float()
        self.rollout = {
            "reward/mean": rewards.mean().item(),
            "reward/frac_zero_std_groups": (rewards.view(-1, self.group_size).std(dim=1) == 0).float().mean().item(),
            "rollout/long_fraction": stats.is_long.float().mean().item(),
            "rollout/mean_length": stats.length.float().mean().item(),
            "rollout/malformed": stats.malformed.float().mean().item(),
        }
        return rewards.tolist()


def grpo_config(cfg: PostTrainRunConfig, layout: ParityLayout, output_dir: Path):
    """The GRPOConfig mirroring ``cfg.rl`` (module docstring)."""
    trl = require_trl()
    rl = cfg.rl
    # TRL's dr_grpo loss is the suite's divided by L: scale Adam's eps and the clip threshold with it.
    loss_scale = 1.0 / layout.max_response_len if rl.loss_norm == "dr_grpo" else 1.0
    return trl.GRPOConfig(
        output_dir=str(output_dir), max_steps=rl.iterations, shuffle_dataset=False,
        per_device_train_batch_size=rl.prompts * rl.group_size, gradient_accumulation_steps=1,
        steps_per_generation=1, num_generations=rl.group_size, num_iterations=1,
        temperature=rl.temperature, top_p=1.0, top_k=0, min_p=None, repetition_penalty=1.0,
        max_completion_length=layout.max_response_len, generation_kwargs={"suppress_tokens": [SEP, PAD]},
        loss_type=str(rl.loss_norm), scale_rewards="group" if rl.std_normalize else "none",
        mask_truncated_completions=False, beta=rl.kl_beta, use_bias_correction_kl=False, epsilon=rl.clip_eps,
        learning_rate=rl.lr, lr_scheduler_type=str(rl.lr_schedule), warmup_steps=0, optim="adamw_torch",
        adam_beta1=0.9, adam_beta2=0.999, adam_epsilon=ADAM_EPS * loss_scale, weight_decay=0.0,
        max_grad_norm=rl.max_grad_norm * loss_scale,
        use_cpu=True, bf16=False, fp16=False, gradient_checkpointing=False, disable_dropout=True,
        seed=cfg.seed, data_seed=cfg.seed, report_to="none", save_strategy="no", logging_strategy="no",
        disable_tqdm=True, dataloader_num_workers=0,
    )


def prompt_dataset(layout: ParityLayout, count: int, seed: int):
    """``count`` prompts drawn from ``seed``, as TRL text prompts ("1 0 1 =") with their bits in column ``x``."""
    from datasets import Dataset

    x = torch.randint(0, 2, (count, layout.d), generator=torch.Generator().manual_seed(seed))
    return Dataset.from_dict({"prompt": [decode(row) for row in with_separator(x)], "x": x.tolist()})


def kl_to_start(policy: torch.nn.Module, start: torch.nn.Module, layout: ParityLayout, x: torch.Tensor,
                temperature: float, seed: int) -> float:
    """``policy/kl_to_start`` as toy/policy_gradient.py logs it: the exact per-state KL(π_T ‖ π_start,T) over the
    three response tokens, summed over each response's positions and averaged over responses, here on one response
    per prompt of ``x`` sampled from the policy at ``temperature`` (the suite uses its iteration's rollouts: the same
    expectation, E_π[log π(r) − log π_start(r)] of whole responses, from other draws).  The arm logs it for the
    weights after iteration s's update, those its held-out metrics evaluate; the suite's record at s is the KL of
    the policy that sampled iteration s, one update earlier."""
    prompts = with_separator(x)
    with torch.no_grad():
        responses = generate(policy, prompts, layout.max_response_len, temperature,
                             torch.Generator().manual_seed(seed))
        kl = exact_kl(response_log_dists(policy, prompts, responses, temperature),
                      response_log_dists(start, prompts, responses, temperature))
        mask = (responses != PAD).float()
    return ((kl * mask).sum() / mask.shape[0]).item()


def iteration_logger(cfg: PostTrainRunConfig, layout: ParityLayout, policy, start: torch.nn.Module,
                     reward: ParityReward, eval_x: torch.Tensor, log: MetricsLog, started: float):
    """A TrainerCallback that writes one record per iteration (rollout statistics, ``iteration_seconds`` and, every
    ``eval.every`` iterations, the held-out metrics and the KL to the ``start`` model on up to as many held-out
    prompts as an iteration has rollouts) and stops training at the solve criterion."""
    from transformers import TrainerCallback

    class IterationLog(TrainerCallback):
        def __init__(self):
            self.record: dict = {}  # the last record written
            self.solved_at: int | None = None  # the iteration whose evaluation met the solve criterion
            self.step_started = 0.0

        def on_step_begin(self, args, state, control, **kwargs):
            self.step_started = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            iteration = state.global_step
            record = {"iteration": iteration, "seconds": time.perf_counter() - started, **reward.rollout,
                      "iteration_seconds": time.perf_counter() - self.step_started}
            if iteration % cfg.eval.every == 0 or iteration == cfg.rl.iterations:
                trained = tiny_gpt_from_gpt2(policy, layout)
                record |= evaluate_or_check(trained, layout, eval_x, cfg.eval, last=iteration == cfg.rl.iterations)
                record["policy/kl_to_start"] = kl_to_start(trained, start, layout,
                                                           eval_x[:cfg.rl.prompts * cfg.rl.group_size],
                                                           cfg.rl.temperature, cfg.seed + iteration)
                self.solved_at = iteration if solve_reached(record, cfg.eval) else None
            finite_or_raise(record, f"trl grpo iteration {iteration}")
            log.write(record)
            self.record = record
            control.should_training_stop = self.solved_at is not None

    return IterationLog()


def build_trainer(cfg: PostTrainRunConfig, layout: ParityLayout, hf_dir: Path, reward: ParityReward,
                  output_dir: Path):
    """TRL's GRPOTrainer mirroring ``cfg.rl`` on the model exported to ``hf_dir``, both policy and reference masked to
    the response tokens; its ``model`` is the policy it trains."""
    trl = require_trl()
    import transformers

    policy = transformers.AutoModelForCausalLM.from_pretrained(hf_dir)
    mask_non_response_logits(policy)
    trainer = trl.GRPOTrainer(
        model=policy, reward_funcs=[reward], args=grpo_config(cfg, layout, output_dir),
        train_dataset=prompt_dataset(layout, cfg.rl.iterations * cfg.rl.prompts, cfg.seed),
        processing_class=transformers.AutoTokenizer.from_pretrained(hf_dir))
    if trainer.ref_model is not None:  # TRL reloads the reference from hf_dir: mask it like the policy
        mask_non_response_logits(trainer.ref_model)
    torch.set_num_threads(cfg.threads)  # whatever the Trainer's set-up did, the job keeps its threads
    return trainer


def run(cfg: PostTrainRunConfig, out_dir: Path) -> dict:
    """Train ``cfg.init_from`` with TRL's GRPO mirroring ``cfg.rl`` and write the run's outputs into ``out_dir``."""
    if unmirrored := unmirrored_settings(cfg.rl):
        raise ValueError(f"the TRL arm cannot mirror {', '.join(unmirrored)} (toy/trl_arm.py docstring)")
    trl = require_trl()
    import transformers

    out_dir = Path(out_dir)
    if (finished := begin_run(out_dir, cfg)) is not None:
        return finished
    start_model, task, blob = load_checkpoint(cfg.init_from)
    layout = ParityLayout(task.d, task.leap)
    hf_start = export(cfg.init_from, out_dir / "hf_start")  # refuses the linear model
    reward = ParityReward(layout, cfg.rl.group_size, cfg.rl.long_bonus)
    trainer = build_trainer(cfg, layout, hf_start, reward, out_dir / "trl")
    eval_x = held_out_prompts(layout, cfg.eval.prompts, cfg.eval.seed)

    started = time.perf_counter()
    start_metrics = evaluate(start_model, layout, eval_x, cfg.eval.temperature, cfg.eval.seed)
    record = {"iteration": 0, "seconds": 0.0, **start_metrics}
    solved_at = 0 if solve_reached(start_metrics, cfg.eval) else None  # already solved: RL costs nothing
    with MetricsLog(out_dir / METRICS) as log:
        log.write(record)
        if solved_at is None:
            logger = iteration_logger(cfg, layout, trainer.model, start_model, reward, eval_x, log, started)
            trainer.add_callback(logger)
            trainer.train()
            record, solved_at = logger.record, logger.solved_at

    model_cfg = GPTConfig(**blob["model"])
    save_checkpoint(out_dir / CHECKPOINT, tiny_gpt_from_gpt2(trainer.model, layout), model_cfg, task, blob["step"])
    arm = {"trainer": "trl.GRPOTrainer", "trl": trl.__version__, "transformers": transformers.__version__}
    return finish_run(out_dir, rl_summary(cfg, task, start_metrics, record, solved_at, started) | {"arm": arm},
                      config_record(cfg))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m toy.trl_arm", description=__doc__.split("\n\n")[0])
    parser.add_argument("init_from", help="NTP run directory (or its checkpoint.pt) of a model=gpt run")
    parser.add_argument("--out", required=True, help="output directory of the run")
    parser.add_argument("--iterations", type=int, default=RLConfig.iterations, help="GRPO iterations")
    parser.add_argument("--seed", type=int, default=0, help="seed of the prompts, the samples and the Trainer")
    parser.add_argument("--eval-every", type=int, default=5, help="held-out evaluation every this many iterations")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args(argv)
    cfg = PostTrainRunConfig(init_from=args.init_from, rl=RLConfig(iterations=args.iterations),
                             eval=EvalConfig(every=args.eval_every), seed=args.seed, threads=args.threads)
    try:
        summary = run(cfg, Path(args.out))
    except (ImportError, FileNotFoundError, ValueError) as exc:
        raise SystemExit(f"toy.trl_arm: {exc}") from exc
    start, final = summary["start"], summary["final"]
    print(f"[{args.out}] trl grpo: greedy acc {start['greedy/accuracy']:.3f} -> {final['greedy/accuracy']:.3f} | "
          f"sampled length {start['sampled/mean_length']:.1f} -> {final['sampled/mean_length']:.1f}")
    return summary


if __name__ == "__main__":
    main()
