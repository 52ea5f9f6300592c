"""One sweep job = NTP pre-training, then (optionally) RL post-training: ``python -m sweeps.pipeline``.

This is the job behind the parity figures (research/parity_cot_rl.md; Tsilivis et al. 2025): NTP on the
mixture D(p_cot), then GRPO / REINFORCE / STaR from the NTP checkpoint.  It implements DESIGN.md's
"run" and "sweep" contracts on top of toy.train.run and toy.post_train.run.  A job directory holds

    ntp/           a complete toy.train run (metrics.jsonl, checkpoint.pt, summary.json)
    rl/            a complete toy.post_train run started from ntp/ (absent when rl.algo=none)
    summary.json   ntp's final metrics, rl's start/final metrics, each stage's solve point (cost to reach
                   eval.stop_metric / rl_eval.stop_metric, or censored at the budget) and the flattened config;
                   written last

Resuming: a job whose summary.json exists is returned as is; a job with a finished ntp/ only runs RL
(toy's ``skip_finished`` makes a finished stage a no-op).  A finished stage is reused only if it was made
by the same config, otherwise the job stops with an error: a changed experiment must go to a new sweep dir.

Examples:
    python -m sweeps.pipeline -m experiment=sweep_fig1_ntp_vs_rl_quick hydra/launcher=local
    python -m sweeps.pipeline recipe=linear task.d=8 task.p_cot=0.1 rl=star      # one job, in outputs/
"""

from __future__ import annotations

from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

import toy.post_train
import toy.train
from core.runio import SUMMARY, atomic_write_json, environment, read_summary, run_hydra_job
from sweeps.config import PipelineConfig, flatten, register_pipeline_configs
from toy.config import PostTrainRunConfig

NTP_DIR, RL_DIR = "ntp", "rl"
# Reusing a finished stage is safe when only these differ: threads do not change what is computed, and
# init_from is always this job's own ntp/ (its absolute path changes if the sweep directory is moved).
NOT_COMPARED = ("threads", "init_from")


def as_flat_dict(config) -> dict:
    return flatten(OmegaConf.to_container(OmegaConf.structured(config)))


def check_same_config(stored: dict, current: dict, where: Path) -> None:
    """Refuse to reuse a finished stage that a different configuration produced."""
    changed = sorted(key for key in stored.keys() | current.keys()
                     if key.rsplit(".", 1)[-1] not in NOT_COMPARED and stored.get(key) != current.get(key))
    if changed:
        diff = ", ".join(f"{key}: {stored.get(key)!r} -> {current.get(key)!r}" for key in changed)
        raise ValueError(f"{where} was made by a different config ({diff}); run this configuration in a new "
                         "sweep directory (hydra.sweep.dir=...) or delete the stale job directory")


def run(cfg: PipelineConfig, job_dir: Path) -> dict:
    """Run (or resume) one job in ``job_dir`` and return its summary."""
    job_dir = Path(job_dir)
    config = as_flat_dict(cfg)
    if (job_dir / SUMMARY).exists():
        summary = read_summary(job_dir)
        check_same_config(summary["config"], config, job_dir / SUMMARY)
        return summary

    ntp_cfg = cfg.ntp_run_config()
    ntp = toy.train.run(ntp_cfg, job_dir / NTP_DIR)
    check_same_config(flatten(ntp["config"]), as_flat_dict(ntp_cfg), job_dir / NTP_DIR / SUMMARY)

    rl: dict = {}  # empty: no RL stage (rl.algo=none), so the table's rl.* columns stay empty for this job
    if cfg.rl.algo != "none":
        rl_cfg = PostTrainRunConfig(init_from=str(job_dir / NTP_DIR), rl=cfg.rl, eval=cfg.rl_eval, seed=cfg.seed,
                                    threads=cfg.threads)
        post = toy.post_train.run(rl_cfg, job_dir / RL_DIR)
        check_same_config(flatten(post["config"]), as_flat_dict(rl_cfg), job_dir / RL_DIR / SUMMARY)
        rl = {"start": post["start"], "final": post["final"], "seconds": post["rl_seconds"], "solved": post["solved"]}

    summary = {
        "config": config,
        "ntp": ntp["final"],
        "ntp_seconds": ntp["train_seconds"],
        "ntp_solved": ntp["solved"],
        "rl": rl,
        "environment": environment(),
    }
    atomic_write_json(job_dir / SUMMARY, summary)  # last: its presence means "this job is done"
    return summary


register_pipeline_configs()


@hydra.main(version_base="1.3", config_path="../conf", config_name="pipeline")
def main(cfg: DictConfig) -> None:
    typed, job_dir, summary = run_hydra_job(cfg, run)
    line = f"[{job_dir}] NTP greedy acc {summary['ntp']['greedy/accuracy']:.3f}"
    if summary["rl"]:
        line += f" | {typed.rl.algo}: greedy acc {summary['rl']['final']['greedy/accuracy']:.3f}"
    print(line)


if __name__ == "__main__":
    main()
