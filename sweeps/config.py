"""Typed config of one pipeline job (``python -m sweeps.pipeline``): NTP pre-training, then optional RL.

The schema reuses the dataclasses of toy/config.py (task, model, optimiser, evaluation, RL) so that a
pipeline job and a stand-alone ``toy.train`` / ``toy.post_train`` run mean the same thing by the same
field name.  The additions: ``rl.algo = 'none'``, where the job stops after NTP (used by the threshold
figure, where RL is not part of the question), and the named arm a job runs, ``ablation`` (conf/ablation/) or
``variant`` (conf/variant/), recorded in its config so that the results table selects by it.  Values are checked
in ``__post_init__`` when the composed config is turned into these dataclasses, with an error naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

import core.paths  # noqa: F401  (registers the ${results_root:} resolver the configs use)
from core.runio import flatten  # noqa: F401  (re-exported: the flat config of every table)
from toy.config import (
    Choice,
    EvalConfig,
    OptimConfig,
    Recipe,
    RLAlgo,
    RLConfig,
    TaskConfig,
    TrainRunConfig,
    coerce_choices,
    register_configs,
    require,
)

PROFILES = ("quick", "paper")
Profile = Choice("Profile", PROFILES, module=__name__)
# The claims-ledger profile (theory.verify --profile) that goes with each sweep size: reproduce runs it, figures
# and sweeps.checks name it.
LEDGER_PROFILES = {"quick": "quick", "paper": "full"}
CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
EXPERIMENT_DIR = CONF_DIR / "experiment"


def arm_options(group: str) -> tuple[str, ...]:
    """The options of a named-arm group: 'none' and every file of conf/<group>/, listed when this module is imported."""
    return ("none", *sorted(path.stem for path in (CONF_DIR / group).glob("*.yaml")))


Ablation = Choice("Ablation", arm_options("ablation"), module=__name__)
Variant = Choice("Variant", arm_options("variant"), module=__name__)


def experiment_name(sweep: str, profile: str) -> str:
    """The conf/experiment name of a named sweep at ``profile``: sweep_<sweep>_quick (quick) or sweep_<sweep>."""
    return f"sweep_{sweep}_quick" if profile == "quick" else f"sweep_{sweep}"


def present_sweeps(sweeps: tuple[str, ...], profile: str) -> tuple[str, ...]:
    """The sweeps of ``sweeps`` that have a copy at ``profile`` (d50 and ablations are paper size only)."""
    existing = set(sweep_experiments(profile))
    return tuple(name for name in sweeps if experiment_name(name, profile) in existing)


def sweep_experiments(profile: str) -> list[str]:
    """The named sweeps that exist at ``profile``: conf/experiment/sweep_<name>_quick.yaml (quick) or
    sweep_<name>.yaml (paper), as experiment names (``sweep_fig1_ntp_vs_rl_quick``), sorted."""
    quick = sorted(path.stem for path in EXPERIMENT_DIR.glob("sweep_*_quick.yaml"))
    return quick if profile == "quick" else sorted(path.stem for path in EXPERIMENT_DIR.glob("sweep_*.yaml")
                                                   if path.stem not in quick)
# p_cot as a function of d (docs/research/parity_cot_rl.md §6.4): polynomially small (efficient) or exponentially small.
P_COT_LAWS = {"inv_d": lambda d: 1 / d, "inv_d2": lambda d: 1 / d**2, "exp_half_d": lambda d: 2.0 ** (-d / 2)}
PCotLaw = Choice("PCotLaw", tuple(P_COT_LAWS), module=__name__)
# RLConfig's algorithms and 'none' (an Enum with members cannot be subclassed, so this one is built from RLAlgo).
PipelineRLAlgo = Choice("PipelineRLAlgo", ("none", *(algo.value for algo in RLAlgo)), module=__name__)
RLTrainer = Choice("RLTrainer", ("suite", "trl"), module=__name__)


@dataclass
class PipelineRLConfig(RLConfig):
    """RLConfig whose ``algo`` may also be 'none' (no RL stage); the other fields keep RLConfig's docs."""

    algo: PipelineRLAlgo = PipelineRLAlgo.grpo
    """post-training algorithm: 'grpo', 'reinforce', 'star' (expert iteration) or 'none' (the job ends after NTP)"""

    def __post_init__(self) -> None:
        coerce_choices(self, "rl.")
        if self.algo != "none":
            super().__post_init__()


@dataclass
class PipelineConfig:
    name: str = "adhoc"
    """experiment name; a sweep writes to results/sweeps/<name>/<profile>/ (figures read from there)"""
    profile: Profile = Profile.quick
    """size of the experiment: 'quick' (minutes on a 2-core laptop) or 'paper' (the figure's full size)"""
    task: TaskConfig = field(default_factory=TaskConfig)
    """the parity mixture"""
    recipe: Recipe = Recipe.gpt
    """the model family with its NTP optimiser: 'gpt' | 'linear' (conf/recipe/; sets `model` and `train`)"""
    ablation: Ablation = Ablation.none
    """the ablation option this job runs ('none' outside experiment=sweep_ablations; set by conf/ablation/)"""
    variant: Variant = Variant.none
    """the RL variant this job runs ('none' outside experiment=sweep_rl_variants; set by conf/variant/)"""
    model: Any = MISSING
    """model family and size (its family must be the recipe's: choose it with recipe=, not model=)"""
    train: OptimConfig = field(default_factory=OptimConfig)
    """optimisation of the next-token-prediction stage"""
    eval: EvalConfig = field(default_factory=EvalConfig)
    """held-out evaluation of the NTP stage (every: in steps)"""
    rl: PipelineRLConfig = field(default_factory=PipelineRLConfig)
    """the RL stage after NTP (rl=grpo | reinforce | star | none); algo 'none' skips it"""
    rl_eval: EvalConfig = field(default_factory=lambda: EvalConfig(every=5))
    """held-out evaluation of the RL stage (every: in iterations / STaR rounds)"""
    rl_trainer: RLTrainer = RLTrainer.suite
    """who runs the RL stage: 'suite' (toy/post_train.py) or 'trl' (TRL's GRPOTrainer, toy/trl_arm.py; needs the trl
    extra)"""
    p_cot_law: PCotLaw | None = None
    """set task.p_cot from task.d: 'inv_d' (1/d), 'inv_d2' (1/d²), 'exp_half_d' (2^(−d/2)); None: as given"""
    seed: int = 0
    """seed of both stages (model init, data stream, rollouts)"""
    threads: int = 1
    """torch intra-op threads of the job (parallelism comes from the launcher's n_jobs, never from threads)"""
    log_every: int = 50
    """log the NTP training loss every this many steps"""
    compounding_prompts: int = 0
    """held-out prompts of the compounding-error profile each stage's model gets (sweeps/compounding.py); 0: none"""
    stages_dir: str = "${results_root:}/stages"
    """the content-addressed stage store (core/stages.py) shared by every sweep; not part of any stage's key"""

    def __post_init__(self) -> None:
        require(bool(self.name) and "/" not in self.name, "name", "a non-empty name without '/'", self.name)
        coerce_choices(self, "")
        require(self.threads >= 1, "threads", ">= 1", self.threads)
        require(self.log_every >= 1, "log_every", ">= 1", self.log_every)
        require(self.compounding_prompts >= 0, "compounding_prompts", ">= 0", self.compounding_prompts)
        if self.p_cot_law is not None:
            self.task.p_cot = P_COT_LAWS[self.p_cot_law](self.task.d)
        # The model-specific checks (schema, model family vs recipe, leap vs model) live in TrainRunConfig: run
        # them here too, so a bad job fails when the sweep starts rather than at its NTP stage.
        self.ntp_run_config()

    def ntp_run_config(self) -> TrainRunConfig:
        """The stand-alone NTP run this job's first stage is."""
        return TrainRunConfig(task=self.task, model=self.model, recipe=self.recipe, train=self.train, eval=self.eval,
                              seed=self.seed, threads=self.threads, log_every=self.log_every)


def register_pipeline_configs() -> None:
    """Store the pipeline schema (and toy's model schemas, which the ``model`` group is made of)."""
    register_configs()
    ConfigStore.instance().store(name="pipeline_schema", node=PipelineConfig)

