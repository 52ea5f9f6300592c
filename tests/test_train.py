"""NTP training: config validation, determinism, output contract, and the Hydra entry point end to end."""

import json
import subprocess
import sys

import pytest
import torch
from omegaconf import OmegaConf

import toy.train as train_module
from core.runio import read_summary
from toy.config import MODEL_SCHEMAS, TrainRunConfig, register_configs
from toy.models import load_checkpoint

register_configs()
TINY = ["task.d=4", "train.steps=6", "train.batch_size=32", "eval.every=3", "eval.prompts=64", "log_every=2"]


@pytest.mark.parametrize(
    "override, field",
    [("task.d=0", "task.d"), ("task.p_cot=1.5", "task.p_cot"), ("task.p_cot=-0.1", "task.p_cot"),
     ("model.width=30", "model.width"), ("model.name=mamba", "model.name"), ("threads=0", "threads"),
     ("eval.temperature=0", "eval.temperature")],  # choice fields fail earlier, at composition (test_config_enums)
)
def test_bad_config_fails_at_start_naming_the_field(compose_typed, override, field):
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        compose_typed("train", [override])


def test_linear_model_refuses_the_leap_chain(compose_typed):
    with pytest.raises(ValueError, match=r"task\.leap"):
        compose_typed("train", ["recipe=linear", "task.leap=2"])


def test_unknown_model_group_option_is_rejected(compose_typed):
    with pytest.raises(Exception, match="model"):
        compose_typed("train", ["model=mamba"])


def test_the_recipe_sets_model_and_optimiser_and_a_model_of_another_family_is_an_error(compose_typed):
    linear = compose_typed("train", ["recipe=linear"])
    assert (linear.model.name, linear.recipe, linear.train.batch_size, linear.train.lr) == ("linear", "linear", 4096,
                                                                                             0.05)
    gpt = compose_typed("train", [])
    assert (gpt.model.name, gpt.recipe, gpt.train.batch_size, gpt.train.schedule) == ("gpt", "gpt", 128, "cosine")
    with pytest.raises(ValueError, match=r"model is 'linear' but recipe is 'gpt'.*recipe=linear instead of model="):
        compose_typed("train", ["model=linear"])
    with pytest.raises(ValueError, match=r"model is 'gpt' but recipe is 'linear'"):
        compose_typed("train", ["recipe=linear", "model=gpt"])


# The presets as they were when each file copied its recipe's optimiser (model family, then the file's values):
# composing them with their recipe must give the same config, value for value, plus the recipe field.
PRESETS_BEFORE_RECIPES = {
    "ntp_gpt_p20": ("gpt", {"task": {"d": 16, "p_cot": 0.2}, "eval": {"every": 500}, "train": {
        "steps": 3000, "batch_size": 128, "lr": 1e-3, "schedule": "cosine", "min_lr_ratio": 0.05}}),
    "ntp_gpt_p45": ("gpt", {"task": {"d": 16, "p_cot": 0.45}, "eval": {"every": 500}, "train": {
        "steps": 3000, "batch_size": 128, "lr": 1e-3, "schedule": "cosine", "min_lr_ratio": 0.05}}),
    "ntp_linear": ("linear", {"task": {"d": 16, "p_cot": 0.3}, "eval": {"prompts": 4096, "every": 500}, "train": {
        "steps": 2000, "batch_size": 4096, "lr": 0.05, "weight_decay": 0.0, "warmup_steps": 0, "schedule": "cosine",
        "min_lr_ratio": 0.002, "grad_clip": 0.0}}),
}


@pytest.mark.parametrize("experiment", sorted(PRESETS_BEFORE_RECIPES))
def test_presets_compose_their_recipe_value_for_value(compose_typed, experiment):
    family, values = PRESETS_BEFORE_RECIPES[experiment]
    before = OmegaConf.merge(OmegaConf.structured(TrainRunConfig(model=MODEL_SCHEMAS[family]())), values)
    after = OmegaConf.structured(compose_typed("train", [f"experiment={experiment}"]))
    assert OmegaConf.to_container(after) == OmegaConf.to_container(before) | {"recipe": family}


def test_same_config_and_seed_give_identical_summaries(compose_typed, tmp_path):
    cfg = compose_typed("train", TINY)
    first = train_module.run(cfg, tmp_path / "a")
    second = train_module.run(cfg, tmp_path / "b")
    assert first["final"] == second["final"] and first["loss"] == second["loss"]
    other = train_module.run(compose_typed("train", TINY + ["seed=1"]), tmp_path / "c")
    assert other["loss"] != first["loss"]


def test_finished_run_is_skipped_and_checkpoint_restarts(compose_typed, tmp_path):
    cfg = compose_typed("train", TINY)
    stored = train_module.run(cfg, tmp_path / "a")
    (tmp_path / "a" / "summary.json").write_text(json.dumps({"final": {"marker": 1}, "config": stored["config"]}))
    assert train_module.run(cfg, tmp_path / "a")["final"] == {"marker": 1}  # not recomputed
    model, task, blob = load_checkpoint(tmp_path / "a")
    assert task.d == 4 and blob["step"] == 6
    resumed = train_module.run(compose_typed("train", TINY + [f"init_from={tmp_path / 'a'}"]), tmp_path / "b")
    assert resumed["steps"] == 6


def test_an_interrupted_attempt_starts_over_and_the_summary_keeps_its_keys(compose_typed, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "metrics.jsonl").write_text(json.dumps({"step": 99, "loss": 1.0}) + "\n")
    summary = train_module.run(compose_typed("train", TINY), tmp_path / "a")
    lines = (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [2, 3, 4, 6]
    assert set(summary) == {"final", "loss", "steps", "samples", "solved", "long_seen", "train_seconds", "config",
                            "environment"}
    assert read_summary(tmp_path / "a") == summary and summary["config"]["task"]["d"] == 4


def test_missing_and_corrupted_inputs_give_clear_errors(compose_typed, tmp_path):
    with pytest.raises(FileNotFoundError, match="init_from"):
        train_module.run(compose_typed("train", TINY + [f"init_from={tmp_path / 'nothing'}"]), tmp_path / "x")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "summary.json").write_text("{ truncated")
    with pytest.raises(ValueError, match="corrupted summary.json"):
        read_summary(tmp_path / "bad")
    (tmp_path / "bad" / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path / "bad")


def test_nan_in_training_stops_with_a_clear_error_and_no_summary(compose_typed, tmp_path, monkeypatch):
    monkeypatch.setattr(train_module, "ntp_loss", lambda *a: torch.tensor(float("nan"), requires_grad=True))
    with pytest.raises(FloatingPointError, match="NTP loss is nan"):
        train_module.run(compose_typed("train", TINY), tmp_path / "n")
    assert not (tmp_path / "n" / "summary.json").exists()


def test_hydra_entry_point_end_to_end(tmp_path):
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "toy.train", *TINY, "recipe=linear", f"hydra.run.dir={out}"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    summary = read_summary(out)
    assert summary["config"]["model"]["name"] == "linear" and "greedy/accuracy" in summary["final"]
    # choice fields are stored as their plain values (json), not as enum names
    assert (summary["config"]["recipe"], summary["config"]["train"]["schedule"]) == ("linear", "cosine")
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [2, 3, 4, 6]
    assert (out / "checkpoint.pt").exists() and (out / ".hydra" / "config.yaml").exists()
