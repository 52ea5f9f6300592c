"""Content-addressed stages: a training stage is computed once, wherever in the results root it is needed.

A *stage* (NTP pre-training, RL post-training) is a complete run directory (docs/design.md "Run directory":
metrics.jsonl, checkpoint.pt, summary.json written last).  Two sweep jobs whose stage configurations are equal
compute the same numbers (same config and seed, same numbers), so the stage is stored once, under

    <stages dir>/<kind>/<key>/        key = sha256 of (kind, STAGE_FORMAT, the stage's config) [:16]

and every job that needs it links its own ``ntp/`` or ``rl/`` to that directory.  The config hashed is exactly what
the stage computes from: the caller passes it without the fields that do not change the numbers (threads), without
the fields at their schema default, and with the parent stage's *key* in place of its path (an RL stage depends on
the NTP stage's content, not on where it lies).  Leaving defaults out keeps every key when a field is added with a
default that keeps the earlier behaviour; changing a field's default is therefore a code change.  ``STAGE_FORMAT``
is the code-version part of the key: it is bumped when a change of the code alters what a stage computes for an
unchanged config, which makes every stored stage a miss (the git commit is not part of the key: most commits do not
change what a stage computes, and keying on them would recompute every stage).

Concurrency (two jobs of a sweep, or two sweeps, needing one stage at once): the first to create
``<key>/claim.json`` (``O_CREAT | O_EXCL``, atomic on local and NFS v3+ file systems) computes; the others poll
until summary.json appears.  A claim is *stale* when its holder is gone: on the same host its pid is not alive;
on another host (SLURM) no file of the stage has changed for ``stale_after`` seconds.  A waiter takes over a stale
claim by renaming it away (one rename wins) and claiming anew; the stage then starts over, as an interrupted run
does.  A claim is released when the stage finishes or raises.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.runio import SUMMARY, read_summary

STAGE_FORMAT = 2  # bump when the code computes something else for the same stage config (2: defaults left out)
CLAIM = "claim.json"
STAGE_LINK_NOTE = "stage.json"  # in the stage dir: kind, key and the config that was hashed


def stage_key(kind: str, config: dict) -> str:
    """The content address of a stage: sha256 over kind, STAGE_FORMAT and the config (keys sorted), 16 hex digits."""
    blob = json.dumps({"kind": kind, "format": STAGE_FORMAT, "config": config}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class StageResult:
    """Where a stage lies, its summary, and whether this call computed it (False: reused)."""

    kind: str
    key: str
    path: Path
    summary: dict
    computed: bool

    def provenance(self) -> dict:
        return {"key": self.key, "path": str(self.path), "reused": not self.computed}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


def _last_change(stage_dir: Path) -> float:
    return max((path.stat().st_mtime for path in stage_dir.rglob("*") if path.is_file()), default=0.0)


def claim_is_stale(stage_dir: Path, stale_after: float) -> bool:
    """True when the claim's holder is gone (module docstring); a claim that cannot be read is being written."""
    try:
        holder = json.loads((stage_dir / CLAIM).read_text())
    except (OSError, json.JSONDecodeError):
        return False
    if holder.get("host") == socket.gethostname():
        return not _pid_alive(int(holder["pid"]))
    return time.time() - _last_change(stage_dir) > stale_after


def try_claim(stage_dir: Path) -> bool:
    """Atomically claim ``stage_dir`` for this process; False if another process holds it."""
    stage_dir.mkdir(parents=True, exist_ok=True)
    try:
        handle = os.open(stage_dir / CLAIM, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    with os.fdopen(handle, "w") as out:
        json.dump({"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}, out)
    return True


def take_over(stage_dir: Path) -> None:
    """Move a stale claim aside; of several waiters only one rename succeeds, the others see no claim or a new one."""
    try:
        os.rename(stage_dir / CLAIM, stage_dir / f"{CLAIM}.stale-{os.getpid()}-{time.time_ns()}")
    except FileNotFoundError:
        pass


def ensure_stage(stages_dir: Path, kind: str, config: dict, compute: Callable[[Path], dict],
                 poll_seconds: float = 2.0, stale_after: float = 1800.0) -> StageResult:
    """The finished stage (kind, config): reuse it if stored, wait for it if another process computes it, else
    compute it with ``compute(stage_dir)`` (which must write summary.json last)."""
    key = stage_key(kind, config)
    stage_dir = Path(stages_dir) / kind / key
    while True:
        if (stage_dir / SUMMARY).exists():
            return StageResult(kind, key, stage_dir, read_summary(stage_dir), computed=False)
        if try_claim(stage_dir):
            break
        if claim_is_stale(stage_dir, stale_after):
            take_over(stage_dir)
            continue
        time.sleep(poll_seconds)
    try:
        if (stage_dir / SUMMARY).exists():  # finished between our check and our claim
            return StageResult(kind, key, stage_dir, read_summary(stage_dir), computed=False)
        (stage_dir / STAGE_LINK_NOTE).write_text(json.dumps({"kind": kind, "key": key, "format": STAGE_FORMAT,
                                                             "config": config}, indent=1, sort_keys=True, default=str))
        summary = compute(stage_dir)
    finally:
        (stage_dir / CLAIM).unlink(missing_ok=True)
    return StageResult(kind, key, stage_dir, summary, computed=True)


def link_stage(link: Path, stage_dir: Path) -> None:
    """Make ``link`` (a job's ``ntp/`` or ``rl/``) a relative symlink to ``stage_dir`` (replacing an old link)."""
    target = os.path.relpath(stage_dir, link.parent)
    if link.is_symlink():
        if os.readlink(link) == target:
            return
        link.unlink()
    elif link.exists():
        raise FileExistsError(f"{link} is a directory of an older layout, not a link to a stored stage; move the "
                              "sweep to a new directory (hydra.sweep.dir=...) or delete the job directory")
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target, target_is_directory=True)
