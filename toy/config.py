"""Typed configs of the parity world, registered in Hydra's ConfigStore.

Each field carries a one-line doc (the string under it).  Values are checked when the config is turned
into these dataclasses (``OmegaConf.to_object`` runs ``__post_init__``): a bad value fails at start with
a message naming the field and its allowed range.  Choice fields are ``Choice`` enums: OmegaConf rejects a
value that is not an option already at composition, naming the field and the options.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from enum import Enum, auto
from typing import Any, get_args, get_type_hints

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


def require(ok: bool, name: str, allowed: str, value: Any) -> None:
    if not ok:
        raise ValueError(f"{name} must be {allowed}, got {value!r}")


class Choice(str, Enum):
    """The options of a choice field.  Each member's name is its value (OmegaConf parses a value by name, Python
    by value: both accept the same strings); the str mixin keeps comparisons with plain strings, dict lookups and
    json output working, and ``__str__`` makes printing and f-strings show the plain value."""

    @staticmethod
    def _generate_next_value_(name: str, start: int, count: int, last_values: list) -> str:
        return name  # auto() is the member's own name

    def __str__(self) -> str:
        return self.value


@functools.cache
def choice_fields(schema: type) -> dict[str, tuple[type[Choice], bool]]:
    """The Choice-typed fields of a dataclass schema: name -> (options, whether None is allowed)."""
    fields = {}
    for name, hint in get_type_hints(schema).items():
        kinds = get_args(hint) or (hint,)
        for kind in kinds:
            if isinstance(kind, type) and issubclass(kind, Choice):
                fields[name] = (kind, type(None) in kinds)
    return fields


def coerce_choices(config: Any, prefix: str) -> None:
    """Turn the plain strings of a config built in Python into its Choice members (a composed config has them
    already), so a value that is not an option fails there too, naming the field and the options."""
    for name, (options, optional) in choice_fields(type(config)).items():
        value = getattr(config, name)
        if isinstance(value, options) or (value is None and optional):
            continue
        allowed = [option.value for option in options]
        require(value in allowed, f"{prefix}{name}", f"one of {allowed}", value)
        setattr(config, name, options(value))


class Recipe(Choice):
    """A model family with its NTP optimiser (conf/recipe/<name>.yaml); the name is the family's model.name."""

    gpt = auto()
    linear = auto()


class Schedule(Choice):
    """Learning-rate schedule after warm-up."""

    constant = auto()
    cosine = auto()


class RLSchedule(Choice):
    """Learning-rate schedule of the RL updates over ``rl.iterations`` (no warm-up)."""

    constant = auto()
    linear = auto()
    cosine = auto()


class RLAlgo(Choice):
    """Post-training algorithm."""

    grpo = auto()
    reinforce = auto()
    star = auto()


class LossNorm(Choice):
    """Normalisation of the policy-gradient loss (toy/policy_gradient.py)."""

    dr_grpo = auto()
    grpo = auto()
    dapo = auto()


class Baseline(Choice):
    """REINFORCE baseline."""

    leave_one_out = auto()
    running_mean = auto()


class Reward(Choice):
    """Sequence reward of RL."""

    verifiable = auto()
    endogenous = auto()


class KLReference(Choice):
    """Reference law of the KL penalty and diagnostic."""

    start = auto()
    uniform = auto()


class KLEstimator(Choice):
    """What the KL penalty and diagnostic evaluate at each visited state (toy/policy_gradient.py)."""

    exact = auto()
    k1 = auto()
    k3 = auto()


@dataclass
class TaskConfig:
    d: int = 16
    """number of input bits (d >= 1)"""
    p_cot: float = 0.2
    """probability that a training sequence carries the long chain of prefix parities, in [0, 1]"""
    leap: int = 1
    """the long response emits every leap-th prefix parity (always ending with the answer); 1 = full chain"""

    def __post_init__(self) -> None:
        require(self.d >= 1, "task.d", ">= 1", self.d)
        require(0.0 <= self.p_cot <= 1.0, "task.p_cot", "in [0, 1]", self.p_cot)
        require(1 <= self.leap <= self.d, "task.leap", f"in [1, task.d={self.d}]", self.leap)


@dataclass
class GPTConfig:
    name: str = "gpt"
    """model family: 'gpt' (tiny transformer) or 'linear' (autoregressive linear model)"""
    layers: int = 2
    """number of transformer blocks"""
    width: int = 64
    """residual stream width (must be divisible by heads)"""
    heads: int = 4
    """attention heads per block"""
    mlp_ratio: int = 4
    """hidden width of the MLP as a multiple of width"""

    def __post_init__(self) -> None:
        require(self.name == "gpt", "model.name", "'gpt' for this schema (use model=linear)", self.name)
        require(self.layers >= 1, "model.layers", ">= 1", self.layers)
        require(self.heads >= 1, "model.heads", ">= 1", self.heads)
        require(self.width >= 1 and self.width % self.heads == 0, "model.width",
                 f"a positive multiple of model.heads={self.heads}", self.width)
        require(self.mlp_ratio >= 1, "model.mlp_ratio", ">= 1", self.mlp_ratio)


@dataclass
class LinearConfig:
    name: str = "linear"
    """model family: the autoregressive linear model of docs/research/parity_cot_rl.md §2 (no size knobs)"""

    def __post_init__(self) -> None:
        require(self.name == "linear", "model.name", "'linear' for this schema (use model=gpt)", self.name)


MODEL_SCHEMAS = {"gpt": GPTConfig, "linear": LinearConfig}


@dataclass
class OptimConfig:
    steps: int = 3000
    """optimizer steps (each on a fresh batch)"""
    batch_size: int = 128
    """sequences per step"""
    lr: float = 1e-3
    """peak learning rate of AdamW"""
    weight_decay: float = 0.0
    """AdamW decoupled weight decay"""
    beta1: float = 0.9
    """AdamW first-moment decay"""
    beta2: float = 0.98
    """AdamW second-moment decay"""
    warmup_steps: int = 100
    """linear warm-up steps"""
    schedule: Schedule = Schedule.constant
    """learning-rate schedule after warm-up: 'constant' or 'cosine' (to min_lr_ratio * lr)"""
    min_lr_ratio: float = 0.0
    """final lr / peak lr of the cosine schedule"""
    grad_clip: float = 1.0
    """global gradient-norm clip (0 disables)"""

    def __post_init__(self) -> None:
        coerce_choices(self, "train.")
        require(self.steps >= 1, "train.steps", ">= 1", self.steps)
        require(self.batch_size >= 1, "train.batch_size", ">= 1", self.batch_size)
        require(self.lr > 0, "train.lr", "> 0", self.lr)
        require(self.weight_decay >= 0, "train.weight_decay", ">= 0", self.weight_decay)
        require(0 <= self.beta1 < 1 and 0 <= self.beta2 < 1, "train.beta1/beta2", "in [0, 1)",
                 (self.beta1, self.beta2))
        require(self.warmup_steps >= 0, "train.warmup_steps", ">= 0", self.warmup_steps)
        require(0 <= self.min_lr_ratio <= 1, "train.min_lr_ratio", "in [0, 1]", self.min_lr_ratio)
        require(self.grad_clip >= 0, "train.grad_clip", ">= 0", self.grad_clip)


# Held-out metrics (toy/evaluate.py) a run may stop on: solved (greedy) or chain learned (forced long).
STOP_METRICS = ("greedy/accuracy", "forced_long/accuracy", "teacher_forced/chain_accuracy",
                "teacher_forced/chain_probability", "sampled/accuracy")
StopMetric = Choice("StopMetric", STOP_METRICS, module=__name__)  # functional: the names contain '/'


@dataclass
class EvalConfig:
    prompts: int = 1024
    """size of the fixed held-out prompt set"""
    temperature: float = 1.0
    """sampling temperature of the sampled metrics (greedy metrics are always reported too)"""
    every: int = 500
    """evaluate every this many steps (and at the end)"""
    seed: int = 2024
    """seed of the held-out set and of evaluation sampling (fixed across runs so runs are comparable)"""
    stop_metric: StopMetric | None = None
    """stop at the first evaluation where this held-out metric reaches stop_at (None: use the whole budget)"""
    stop_at: float = 0.95
    """the solve criterion's threshold on stop_metric (the solve point is resolved to `every` steps)"""

    def __post_init__(self) -> None:
        coerce_choices(self, "eval.")
        require(self.prompts >= 1, "eval.prompts", ">= 1", self.prompts)
        require(self.temperature > 0, "eval.temperature", "> 0", self.temperature)
        require(self.every >= 1, "eval.every", ">= 1", self.every)
        require(0 < self.stop_at <= 1, "eval.stop_at", "in (0, 1]", self.stop_at)


@dataclass
class TrainRunConfig:
    task: TaskConfig = field(default_factory=TaskConfig)
    """the parity mixture"""
    model: Any = MISSING
    """model family and size (its family must be the recipe's: choose it with recipe=, not model=)"""
    recipe: Recipe | None = None
    """the model family with its NTP optimiser (recipe=gpt | linear, conf/recipe/); None: set field by field"""
    train: OptimConfig = field(default_factory=OptimConfig)
    """optimisation of the next-token-prediction loss"""
    eval: EvalConfig = field(default_factory=EvalConfig)
    """held-out evaluation"""
    seed: int = 0
    """seed of model init and of the training data stream"""
    threads: int = 1
    """torch intra-op threads for this job (parallelism comes from the launcher's n_jobs)"""
    init_from: str | None = None
    """checkpoint.pt or run directory to start from (None: fresh init)"""
    log_every: int = 50
    """log the training loss every this many steps"""
    skip_finished: bool = True
    """if summary.json already exists in the output directory, return it instead of re-running"""

    def __post_init__(self) -> None:
        require(self.threads >= 1, "threads", ">= 1", self.threads)
        require(self.log_every >= 1, "log_every", ">= 1", self.log_every)
        require(isinstance(self.model, tuple(MODEL_SCHEMAS.values())), "model",
                 f"one of the model schemas {sorted(MODEL_SCHEMAS)}", self.model)
        coerce_choices(self, "")
        # One knob: `model=linear` alone would keep the GPT recipe's optimiser (lr 1e-3, batch 128) silently.
        if self.recipe is not None and self.model.name != self.recipe:
            raise ValueError(f"model is {self.model.name!r} but recipe is '{self.recipe}': the recipe sets the model "
                             f"and its NTP optimiser together, so choose recipe={self.model.name} instead of "
                             f"model={self.model.name}")
        if isinstance(self.model, LinearConfig):
            require(self.task.leap == 1, "task.leap", "1 for model=linear (its features only carry one chain step)",
                     self.task.leap)


@dataclass
class RLConfig:
    algo: RLAlgo = RLAlgo.grpo
    """post-training algorithm: 'grpo', 'reinforce' or 'star' (expert iteration)"""
    iterations: int = 60
    """policy-gradient iterations (one batch of rollouts each); for STaR the number of rounds"""
    prompts: int = 32
    """prompts per policy-gradient iteration"""
    group_size: int = 8
    """samples per prompt (GRPO's G; REINFORCE's leave-one-out group)"""
    temperature: float = 1.0
    """sampling temperature of the rollouts (log-probabilities use the same temperature)"""
    lr: float = 3e-4
    """Adam learning rate of the policy-gradient updates"""
    std_normalize: bool = False
    """GRPO: divide the group-relative advantage by the group's std (off by default: see toy/policy_gradient.py)"""
    loss_norm: LossNorm = LossNorm.dr_grpo
    """loss aggregation, named as TRL's loss_type: 'dr_grpo' (Σ tokens / #sequences), 'grpo' (mean over each
    response, then over responses) or 'dapo' (Σ tokens / #tokens of the batch)"""
    kl_beta: float = 0.0
    """coefficient of the KL penalty to the starting model (0: no reference model)"""
    epochs: int = 1
    """PPO-style update epochs per batch of rollouts (1: plain on-policy step, the clip is inactive)"""
    clip_eps: float = 0.2
    """PPO clip range of the probability ratio, used when epochs > 1"""
    minibatches: int = 1
    """PPO-style: each epoch steps once per minibatch of whole prompt groups (1: the whole batch)"""
    max_grad_norm: float = 0.0
    """clip the global gradient norm of each RL step to this (0: no clipping; TRL's default is 1.0)"""
    lr_schedule: RLSchedule = RLSchedule.constant
    """RL learning rate over the iterations: 'constant', 'linear' decay to 0, or 'cosine' decay to 0"""
    baseline: Baseline = Baseline.leave_one_out
    """REINFORCE baseline: 'leave_one_out' (mean of the other samples of the prompt) or 'running_mean'"""
    baseline_momentum: float = 0.9
    """REINFORCE running-mean baseline: b ← m·b + (1 − m)·mean reward"""
    star_samples: int = 1024
    """STaR: prompts sampled (one response each) per round"""
    star_steps: int = 150
    """STaR: NTP fine-tuning steps on the kept (correct) responses per round"""
    star_batch_size: int = 128
    """STaR: fine-tuning batch size"""
    star_lr: float = 1e-3
    """STaR: AdamW learning rate of the fine-tuning"""
    star_restart: bool = False
    """STaR as published: each round fine-tunes the base (start) model afresh on the kept set (False: continue)"""
    star_steps_growth: float = 1.0
    """STaR: the fine-tuning steps are multiplied by this every round (published STaR: 1.2; 1: fixed steps)"""
    star_refit_check: bool = False
    """STaR: sample the kept set's prompts again before and after each refit (toy/star.py; ~N more samples/round)"""
    reward: Reward = Reward.verifiable
    """sequence reward: 'verifiable' (1 if the answer is right) or 'endogenous' (log π̂(r|x) + V(s_1), π̂ = start)"""
    long_bonus: float = 0.0
    """added to the sequence reward of long responses (a planted preference for the chain; 0: none)"""
    kl_reference: KLReference = KLReference.start
    """KL reference: 'start' (the NTP model) or 'uniform' (uniform law over responses: KL = const − entropy)"""
    kl_to_go: bool = False
    """add the score term of the KL still to come, so the update is the gradient of the whole-response KL"""
    kl_estimator: KLEstimator = KLEstimator.exact
    """'exact' (KL over the 3 tokens), or at the sampled token a: 'k1' = log π(a)/π_ref(a), 'k3' = r − 1 − log r,
    r = π_ref(a)/π(a) (Schulman; TRL GRPO's default); both unbiased for KL(π ‖ π_ref), but the expected gradient
    of k1 is 0 and that of k3 is ∇KL(π_ref ‖ π), the reverse direction (tests/test_kl_estimators.py)"""

    def __post_init__(self) -> None:
        coerce_choices(self, "rl.")
        for name in ("iterations", "prompts", "epochs", "minibatches", "star_samples", "star_steps",
                     "star_batch_size"):
            require(getattr(self, name) >= 1, f"rl.{name}", ">= 1", getattr(self, name))
        require(self.group_size >= 2, "rl.group_size", ">= 2 (advantages are relative to the group)",
                 self.group_size)
        require(self.temperature > 0, "rl.temperature", "> 0", self.temperature)
        require(self.lr > 0 and self.star_lr > 0, "rl.lr / rl.star_lr", "> 0", (self.lr, self.star_lr))
        require(self.kl_beta >= 0, "rl.kl_beta", ">= 0", self.kl_beta)
        require(0 < self.clip_eps < 1, "rl.clip_eps", "in (0, 1)", self.clip_eps)
        require(self.minibatches <= self.prompts, "rl.minibatches", f"<= rl.prompts ({self.prompts}): a minibatch "
                "holds whole prompt groups", self.minibatches)
        require(self.max_grad_norm >= 0, "rl.max_grad_norm", ">= 0 (0: no clipping)", self.max_grad_norm)
        require(self.star_steps_growth >= 1, "rl.star_steps_growth", ">= 1", self.star_steps_growth)
        require(0 <= self.baseline_momentum < 1, "rl.baseline_momentum", "in [0, 1)", self.baseline_momentum)
        require(self.algo != "star" or (self.reward == "verifiable" and self.long_bonus == 0), "rl.reward/long_bonus",
                "'verifiable' / 0 for rl.algo=star (STaR filters by correctness)", (self.reward, self.long_bonus))
        require(math.isfinite(self.long_bonus), "rl.long_bonus", "finite", self.long_bonus)

    @property
    def samples_per_iteration(self) -> int:
        """Responses sampled per iteration (the RL cost unit): P·G rollouts, or a STaR round's samples."""
        return self.star_samples if self.algo == "star" else self.prompts * self.group_size


@dataclass
class PostTrainRunConfig:
    init_from: str = MISSING
    """checkpoint.pt or run directory of the NTP model to start from (its task fixes d and leap)"""
    rl: RLConfig = field(default_factory=RLConfig)
    """the post-training algorithm"""
    eval: EvalConfig = field(default_factory=lambda: EvalConfig(every=5))
    """held-out evaluation (every: in iterations / rounds)"""
    seed: int = 0
    """seed of the rollouts and of the updates"""
    threads: int = 1
    """torch intra-op threads for this job"""
    skip_finished: bool = True
    """if summary.json already exists in the output directory, return it instead of re-running"""

    def __post_init__(self) -> None:
        require(self.threads >= 1, "threads", ">= 1", self.threads)


def register_configs() -> None:
    """Store the schemas so that YAML files and the command line are validated against them."""
    store = ConfigStore.instance()
    store.store(name="train_schema", node=TrainRunConfig)
    store.store(name="post_train_schema", node=PostTrainRunConfig)
    for name, schema in MODEL_SCHEMAS.items():
        store.store(group="model", name=name, node=schema)
