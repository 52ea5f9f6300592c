"""The run output contract (docs/design.md "Run directory"): metrics.jsonl, summary.json, checkpoint.

* ``metrics.jsonl``: one JSON object per logged step, appended and flushed as it is produced, so an
  interrupted run keeps every step it logged.
* ``summary.json``: the final numbers, written last and atomically (temporary file + ``os.replace``),
  so its presence means "this run finished" and a half-written file can never look finished.
* ``checkpoint.pt``: model state, its config and the step, written atomically too.

A producer (toy.train, toy.post_train) opens its run with `begin_run` and closes it with `finish_run`; a sweep job's
own summary (sweeps/pipeline.py) is written by `finish_run` too.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import platform
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

SUMMARY = "summary.json"
METRICS = "metrics.jsonl"
CHECKPOINT = "checkpoint.pt"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see either the old file or the complete new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes files owner-only; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def write_parquet(table, path: Path) -> None:
    """Write a pandas DataFrame to ``path`` as parquet, atomically (a reader never sees half a table)."""
    buffer = io.BytesIO()
    table.to_parquet(buffer, index=False)
    atomic_write_bytes(path, buffer.getvalue())


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n")


def finite_or_raise(values: dict[str, float], where: str) -> None:
    """NaN/inf in training is a bug to report, not a number to store."""
    bad = {k: v for k, v in values.items() if isinstance(v, float) and not math.isfinite(v)}
    if bad:
        raise FloatingPointError(f"non-finite values at {where}: {bad}")


class MetricsLog:
    """Append-only JSON-lines log, flushed after every record."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = open(self.path, "a", buffering=1)

    def write(self, record: dict) -> None:
        self._handle.write(json.dumps(record, sort_keys=True) + "\n")
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> MetricsLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_summary(run_dir: Path) -> dict:
    """Read a finished run's summary.json, with an error naming the file when it is missing or corrupt."""
    path = Path(run_dir) / SUMMARY
    if not path.exists():
        raise FileNotFoundError(f"{path}: no summary.json, the run did not finish (or this is not a run dir)")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: corrupted summary.json ({exc})") from exc


def read_metrics(path: Path) -> list[dict]:
    """The records of a metrics.jsonl file; a line that is not a JSON object is an error naming file and line."""
    records = []
    with open(path) as handle:
        for number, line in enumerate(handle, 1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: corrupted metrics.jsonl line ({exc})") from exc
            if not isinstance(record, dict):
                raise ValueError(f"{path}:{number}: corrupted metrics.jsonl line (not a JSON object)")
            records.append(record)
    return records


class RunConfig(Protocol):
    """What the run contract reads of a producer's config (toy/config.py: TrainRunConfig, PostTrainRunConfig)."""

    seed: int
    threads: int
    skip_finished: bool


# Fields that do not change what a run computes: threads (the suite runs one; reduction order aside, the same
# numbers), where the start checkpoint lies (a stage is keyed by its parent's content instead), whether a finished
# run is skipped, and where the stage store lies.
NOT_COMPARED = ("threads", "init_from", "skip_finished", "stages_dir")


def flatten(tree: dict, prefix: str = "") -> dict[str, Any]:
    """{'task': {'d': 8}} -> {'task.d': 8}: config and metric columns of the results table."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat |= flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def field_defaults(cfg: Any, prefix: str = "") -> dict[str, Any]:
    """The schema defaults of a typed config instance, flat ('rl.lr': 3e-4), through its nested configs."""
    defaults: dict[str, Any] = {}
    for field in dataclasses.fields(cfg):
        value = getattr(cfg, field.name)
        if dataclasses.is_dataclass(value):
            defaults |= field_defaults(value, f"{prefix}{field.name}.")
        elif field.default is not dataclasses.MISSING:
            defaults[f"{prefix}{field.name}"] = field.default
        elif field.default_factory is not dataclasses.MISSING:
            defaults[f"{prefix}{field.name}"] = field.default_factory()
    return defaults


def check_same_config(stored: dict, current: dict, where: Path, defaults: dict | None = None) -> None:
    """Refuse to reuse a finished run, stage or job that a different configuration produced (flat configs).

    A field the stored config lacks is a field added to the schema after the run; with ``defaults`` (the schema's,
    `field_defaults`) it is the same config when the current value is that default, because a field is added with
    the default that keeps the earlier behaviour (e.g. the reference trajectories stay bitwise the same)."""
    defaults = defaults or {}

    def added_at_default(key: str) -> bool:
        return key not in stored and key in defaults and current.get(key) == defaults[key]

    changed = sorted(key for key in stored.keys() | current.keys()
                     if key.rsplit(".", 1)[-1] not in NOT_COMPARED and stored.get(key) != current.get(key)
                     and not added_at_default(key))
    if changed:
        diff = ", ".join(f"{key}: {stored.get(key)!r} -> {current.get(key)!r}" for key in changed)
        raise ValueError(f"{where} was made by a different config ({diff}); run this configuration in a new "
                         "directory (for a sweep: hydra.sweep.dir=...) or delete the stale one")


def begin_run(out_dir: Path, cfg: RunConfig) -> dict | None:
    """Open the run of ``cfg`` in ``out_dir`` (docs/design.md "Run directory"): the summary of the finished run there
    if ``cfg.skip_finished`` and summary.json exists (nothing is redone; made by another config: an error naming the
    fields), else None after setting torch's threads and global seed from the config and removing metrics.jsonl (an
    interrupted earlier attempt starts over, so the log holds one attempt's steps) and any earlier summary.json (a
    redone run interrupted midway must not look finished)."""
    import torch

    out_dir = Path(out_dir)
    if cfg.skip_finished and (out_dir / SUMMARY).exists():
        summary = read_summary(out_dir)
        check_same_config(flatten(summary["config"]), flatten(config_record(cfg)), out_dir / SUMMARY,
                          field_defaults(cfg))
        return summary
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    (out_dir / SUMMARY).unlink(missing_ok=True)
    (out_dir / METRICS).unlink(missing_ok=True)
    return None


def config_record(cfg: Any) -> dict:
    """A typed config as the nested dict summary.json stores (a choice is a str enum: its JSON is its value)."""
    from omegaconf import OmegaConf

    return OmegaConf.to_container(OmegaConf.structured(cfg))


def finish_run(out_dir: Path, summary: dict, config: dict) -> dict:
    """Close a run (docs/design.md "Run directory"): write ``summary`` with the run's ``config`` and `environment`
    as ``out_dir``/summary.json, atomically and last (its presence means "finished"); returns what was written."""
    summary = {**summary, "config": config, "environment": environment()}
    atomic_write_json(Path(out_dir) / SUMMARY, summary)
    return summary


def run_hydra_job(cfg, run: Callable[[Any, Path], dict]) -> tuple[Any, Path, dict]:
    """Body of every ``@hydra.main`` entry point: validate the composed config into its dataclasses (errors name
    the field), then ``run(typed_config, Hydra's output dir)``; returns (typed config, output dir, summary)."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    typed = OmegaConf.to_object(cfg)
    out_dir = Path(HydraConfig.get().runtime.output_dir)
    return typed, out_dir, run(typed, out_dir)


def environment() -> dict:
    """Versions, machine and git commit, stored next to every result so it can be re-made."""
    import numpy
    import torch

    try:
        root = Path(__file__).resolve().parent.parent
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=5,
        ).stdout.strip()
        commit = (commit + ("-dirty" if dirty else "")) or "unknown"
    except (OSError, subprocess.SubprocessError):
        commit = "unknown"
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "machine": platform.machine(),
        "processor_count": os.cpu_count(),
        "git_commit": commit,
    }


@contextmanager
def torch_threads(threads: int = 1) -> Iterator[None]:
    """Run torch on ``threads`` intra-op threads inside the block, then restore the setting (one thread: bitwise
    reproducible reductions, and a 2-core machine shared by two jobs is not oversubscribed)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
