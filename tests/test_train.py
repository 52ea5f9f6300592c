"""NTP training: config validation, determinism, output contract, and the Hydra entry point end to end."""

import json
import subprocess
import sys

import pytest
import torch

import toy.train as train_module
from core.runio import read_summary
from toy.config import register_configs
from toy.models import load_checkpoint

register_configs()
TINY = ["task.d=4", "train.steps=6", "train.batch_size=32", "eval.every=3", "eval.prompts=64", "log_every=2"]


@pytest.mark.parametrize(
    "override, field",
    [("task.d=0", "task.d"), ("task.p_cot=1.5", "task.p_cot"), ("task.p_cot=-0.1", "task.p_cot"),
     ("model.width=30", "model.width"), ("model.name=mamba", "model.name"), ("threads=0", "threads"),
     ("train.schedule=linear", "train.schedule"), ("eval.temperature=0", "eval.temperature")],
)
def test_bad_config_fails_at_start_naming_the_field(compose_typed, override, field):
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        compose_typed("train", [override])


def test_linear_model_refuses_the_leap_chain(compose_typed):
    with pytest.raises(ValueError, match=r"task\.leap"):
        compose_typed("train", ["model=linear", "task.leap=2"])


def test_unknown_model_group_option_is_rejected(compose_typed):
    with pytest.raises(Exception, match="model"):
        compose_typed("train", ["model=mamba"])


@pytest.mark.parametrize("experiment", ["ntp_gpt_p45", "ntp_gpt_p20", "ntp_linear"])
def test_experiment_presets_compose(compose_typed, experiment):
    cfg = compose_typed("train", [f"experiment={experiment}"])
    assert cfg.task.d == 16 and cfg.train.steps >= 1000


def test_same_config_and_seed_give_identical_summaries(compose_typed, tmp_path):
    cfg = compose_typed("train", TINY)
    first = train_module.run(cfg, tmp_path / "a")
    second = train_module.run(cfg, tmp_path / "b")
    assert first["final"] == second["final"] and first["loss"] == second["loss"]
    other = train_module.run(compose_typed("train", TINY + ["seed=1"]), tmp_path / "c")
    assert other["loss"] != first["loss"]


def test_finished_run_is_skipped_and_checkpoint_restarts(compose_typed, tmp_path):
    cfg = compose_typed("train", TINY)
    train_module.run(cfg, tmp_path / "a")
    (tmp_path / "a" / "summary.json").write_text(json.dumps({"final": {"marker": 1}}))
    assert train_module.run(cfg, tmp_path / "a")["final"] == {"marker": 1}  # not recomputed
    model, task, blob = load_checkpoint(tmp_path / "a")
    assert task.d == 4 and blob["step"] == 6
    resumed = train_module.run(compose_typed("train", TINY + [f"init_from={tmp_path / 'a'}"]), tmp_path / "b")
    assert resumed["steps"] == 6


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
        [sys.executable, "-m", "toy.train", *TINY, "model=linear", f"hydra.run.dir={out}"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    summary = read_summary(out)
    assert summary["config"]["model"]["name"] == "linear" and "greedy/accuracy" in summary["final"]
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [2, 3, 4, 6]
    assert (out / "checkpoint.pt").exists() and (out / ".hydra" / "config.yaml").exists()
