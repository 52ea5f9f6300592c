"""Model construction and checkpoints, shared by every entry point (NTP training, RL post-training)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import torch

from core.runio import CHECKPOINT, atomic_write_bytes
from toy.config import MODEL_SCHEMAS, GPTConfig, LinearConfig, TaskConfig
from toy.gpt import TinyGPT
from toy.linear_ar import LinearAR
from toy.parity import VOCAB_SIZE, ParityLayout


def build_model(model_cfg: GPTConfig | LinearConfig, layout: ParityLayout) -> torch.nn.Module:
    """A fresh model for the task layout (initialised from torch's global RNG: seed it first)."""
    if isinstance(model_cfg, GPTConfig):
        return TinyGPT(VOCAB_SIZE, layout.seq_len, model_cfg.layers, model_cfg.width, model_cfg.heads,
                       model_cfg.mlp_ratio)
    if isinstance(model_cfg, LinearConfig):
        return LinearAR(layout.d, layout.max_response_len)
    raise ValueError(f"model: unknown model config {model_cfg!r}; known: {sorted(MODEL_SCHEMAS)}")


def save_checkpoint(path: Path, model: torch.nn.Module, model_cfg, task_cfg: TaskConfig, step: int) -> None:
    """Atomic checkpoint holding everything needed to rebuild the model without the run's config."""
    import io

    buffer = io.BytesIO()
    torch.save({"model": asdict(model_cfg), "task": asdict(task_cfg), "step": step,
                "state_dict": model.state_dict()}, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def resolve_checkpoint(path_or_run_dir: str | Path) -> Path:
    """Accept a checkpoint file or a run directory containing checkpoint.pt; error naming what is missing."""
    path = Path(path_or_run_dir)
    if path.is_dir():
        path = path / CHECKPOINT
    if not path.is_file():
        raise FileNotFoundError(f"init_from: no checkpoint at {path} (give a checkpoint.pt or a finished run dir)")
    return path


def load_checkpoint(path_or_run_dir: str | Path) -> tuple[torch.nn.Module, TaskConfig, dict]:
    """Rebuild the model stored by `save_checkpoint`; returns (model, task config, raw checkpoint)."""
    path = resolve_checkpoint(path_or_run_dir)
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        model_cfg = MODEL_SCHEMAS[blob["model"]["name"]](**blob["model"])
        task_cfg = TaskConfig(**blob["task"])
    except Exception as exc:
        raise ValueError(f"{path}: not a readable checkpoint of this suite ({type(exc).__name__}: {exc})") from exc
    model = build_model(model_cfg, ParityLayout(task_cfg.d, task_cfg.leap))
    model.load_state_dict(blob["state_dict"])
    return model, task_cfg, blob
