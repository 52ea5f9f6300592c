"""Choice fields are enums (toy.config.Choice): OmegaConf rejects a value that is not an option at composition,
naming the field and the options; a config built in Python is checked the same way; and what leaves the config
(printing, json, parquet, stage keys, interpolated paths) is the plain value, never the enum's name."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import get_type_hints

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf, ValidationError

import sweeps.pipeline as pipeline
from core.stages import stage_key
from sweeps.config import P_COT_LAWS, Ablation, PipelineConfig, PipelineRLConfig, Variant, register_pipeline_configs
from toy.config import (
    MODEL_SCHEMAS,
    Choice,
    EvalConfig,
    OptimConfig,
    PostTrainRunConfig,
    Recipe,
    RLAlgo,
    RLConfig,
    TrainRunConfig,
    choice_fields,
)

register_pipeline_configs()
CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
SCHEMAS = {"train": TrainRunConfig, "post_train": PostTrainRunConfig, "pipeline": PipelineConfig}


def choice_keys(schema: type, prefix: str = "") -> dict[str, type[Choice]]:
    """Every Choice field of a schema and of its nested dataclass fields, by dotted key."""
    keys = {f"{prefix}{name}": options for name, (options, _) in choice_fields(schema).items()}
    for name, hint in get_type_hints(schema).items():
        if dataclasses.is_dataclass(hint):
            keys |= choice_keys(hint, f"{prefix}{name}.")
    return keys


FIELDS = [(config, key, options) for config, schema in SCHEMAS.items()
          for key, options in sorted(choice_keys(schema).items())]


def test_the_free_string_choices_are_enums():
    found = {config: set(choice_keys(schema)) for config, schema in SCHEMAS.items()}
    rl = {"rl.algo", "rl.loss_norm", "rl.baseline", "rl.reward", "rl.kl_reference", "rl.kl_estimator", "rl.lr_schedule"}
    assert found["train"] == {"recipe", "train.schedule", "eval.stop_metric"}
    assert found["post_train"] == rl | {"eval.stop_metric"}
    assert found["pipeline"] == rl | {"recipe", "train.schedule", "eval.stop_metric", "rl_eval.stop_metric",
                                      "profile", "p_cot_law", "ablation", "variant", "rl_trainer"}


@pytest.mark.parametrize("config, key, options", FIELDS, ids=[f"{c}:{k}" for c, k, _ in FIELDS])
def test_a_value_that_is_not_an_option_is_refused_naming_field_and_options(config, key, options):
    cfg = OmegaConf.structured(SCHEMAS[config])
    with pytest.raises(ValidationError) as refused:
        OmegaConf.update(cfg, key, "not_an_option")
    assert refused.value.full_key == key
    assert all(option.value in str(refused.value) for option in options)
    for option in options:  # each option by its plain string, as YAML and the command line give it
        OmegaConf.update(cfg, key, option.value)
        assert OmegaConf.select(cfg, key) is option


@pytest.mark.parametrize("config, override, key", [
    ("train", "train.schedule=linear", "train.schedule"), ("post_train", "rl.loss_norm=per_batch", "rl.loss_norm"),
    ("pipeline", "rl.algo=ppo", "rl.algo"), ("pipeline", "profile=huge", "profile"),
    ("pipeline", "eval.stop_metric=greedy", "eval.stop_metric")])
def test_composition_fails_on_a_bad_choice_with_omegaconfs_error(config, override, key):
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        with pytest.raises(ConfigCompositionException) as refused:
            compose(config, overrides=[override])
    cause = refused.value.__cause__
    assert isinstance(cause, ValidationError) and cause.full_key == key and "expected one of" in str(cause)


def test_configs_built_in_python_hold_members_and_refuse_other_values():
    rl = RLConfig(algo="star", loss_norm="dapo")
    assert rl.algo is RLAlgo.star and type(rl.loss_norm).__name__ == "LossNorm"
    with pytest.raises(ValueError, match=r"rl\.loss_norm must be one of \['dr_grpo', 'grpo', 'dapo'\]"):
        RLConfig(loss_norm="per_batch")
    with pytest.raises(ValueError, match=r"rl\.algo must be one of"):
        RLConfig(algo="none")  # 'none' is a pipeline option only
    assert PipelineRLConfig(algo="none").algo == "none" and EvalConfig(stop_metric=None).stop_metric is None
    assert EvalConfig(stop_metric="forced_long/accuracy").stop_metric == "forced_long/accuracy"
    with pytest.raises(ValueError, match=r"train\.schedule must be one of \['constant', 'cosine'\]"):
        OptimConfig(schedule=None)  # not optional
    with pytest.raises(ValueError, match="ablation must be one of"):
        dataclasses.replace(PipelineConfig(model=MODEL_SCHEMAS["gpt"]()), ablation="too_late")


def test_option_lists_match_the_config_files_and_names_are_values():
    assert {recipe.value for recipe in Recipe} == {path.stem for path in (CONF_DIR / "recipe").glob("*.yaml")}
    assert {recipe.value for recipe in Recipe} == set(MODEL_SCHEMAS)
    assert {option.value for option in Ablation} == {"none"} | {p.stem for p in (CONF_DIR / "ablation").glob("*.yaml")}
    assert {option.value for option in Variant} == {"none"} | {p.stem for p in (CONF_DIR / "variant").glob("*.yaml")}
    for _, _, options in FIELDS:  # OmegaConf parses a value by name, Python by value: they must agree
        assert all(option.name == option.value for option in options), options


def test_what_leaves_the_config_is_the_plain_value(compose_typed, tmp_path):
    typed = compose_typed("pipeline", ["experiment=sweep_fig4_star", "p_cot_law=inv_d",
                                       "rl_eval.stop_metric=greedy/accuracy"])
    assert (f"{typed.rl.algo}", str(typed.recipe), f"{typed.profile:>6}") == ("star", "linear", " paper")
    assert typed.rl.algo == "star" and {"star": 1}[typed.rl.algo] == 1
    assert typed.task.p_cot == P_COT_LAWS["inv_d"](typed.task.d)
    flat = pipeline.as_flat_dict(typed)  # the config columns of summary.json and the results table
    plain = {"rl.algo": "star", "recipe": "linear", "profile": "paper", "p_cot_law": "inv_d", "ablation": "none",
             "rl_eval.stop_metric": "greedy/accuracy", "train.schedule": "cosine", "rl.reward": "verifiable"}
    stored = json.loads(json.dumps(flat))
    assert {key: stored[key] for key in plain} == plain
    pd.DataFrame([flat]).to_parquet(tmp_path / "runs.parquet")
    table = pd.read_parquet(tmp_path / "runs.parquet")
    assert {key: table.loc[0, key] for key in plain} == plain
    assert all(type(table.loc[0, key]) is str for key in plain)
    assert stage_key("ntp", flat) == stage_key("ntp", stored)  # a stage's address does not see the enums


def test_interpolated_paths_hold_the_plain_value():
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        cfg = compose("post_train", overrides=["rl.algo=star", "init_from=x"], return_hydra_config=True)
    assert cfg.hydra.run.dir.startswith("outputs/post_train/star/")
