"""One sweep job = NTP pre-training, then (optionally) RL post-training: ``python -m sweeps.pipeline``.

This is the job behind the parity figures (docs/research/parity_cot_rl.md; Tsilivis et al. 2025): NTP on the
mixture D(p_cot), then GRPO / REINFORCE / STaR from the NTP checkpoint.  It implements docs/design.md's
"run" and "sweep" contracts on top of toy.train.run and toy.post_train.run.  A job directory holds

    ntp/           link to a complete toy.train run (metrics.jsonl, checkpoint.pt, summary.json)
    rl/            link to a complete toy.post_train run started from ntp/ (absent when rl.algo=none)
    summary.json   ntp's final metrics, rl's start/final metrics, each stage's solve point (cost to reach
                   eval.stop_metric / rl_eval.stop_metric, or censored at the budget), ``stages`` (each stage's
                   key, path and whether this job reused it) and the flattened config; written last

The stages are content-addressed (core/stages.py): they lie once under ``stages_dir`` (default
<results root>/stages/{ntp,rl}/<key>/), keyed by exactly the config fields they compute from, so fig3's GRPO,
REINFORCE and STaR jobs of one seed train one NTP stage, and a sweep reuses the stages any other sweep made;
two jobs that need one stage at once compute it once (the other waits; a killed holder's claim is taken over).

Resuming: a job whose summary.json exists is returned as is (after checking it was made by the same config,
else the job stops with an error: a changed experiment must go to a new sweep dir); a job whose stages are
stored only links them.

Examples:
    python -m sweeps.pipeline -m experiment=sweep_fig1_ntp_vs_rl_quick hydra/launcher=local
    python -m sweeps.pipeline recipe=linear task.d=8 task.p_cot=0.1 rl=star      # one job, in outputs/
"""

from __future__ import annotations

from pathlib import Path

import hydra
from omegaconf import DictConfig

from core.runio import (
    NOT_COMPARED,
    SUMMARY,
    check_same_config,
    config_record,
    field_defaults,
    finish_run,
    flatten,
    read_summary,
    run_hydra_job,
)
from core.stages import ensure_stage, link_stage
from sweeps.compounding import stage_profile
from sweeps.config import PipelineConfig, register_pipeline_configs
from toy import post_train, train, trl_arm  # modules, not `import toy.x`: a launcher pickles main() by value
from toy.config import PostTrainRunConfig

NTP_DIR, RL_DIR = "ntp", "rl"


def as_flat_dict(config) -> dict:
    return flatten(config_record(config))


def stage_config(run_config, **replaced) -> dict:
    """What a stage computes from (core/stages.py): its flat config without NOT_COMPARED and without the fields at
    their schema default (so a field added later with a behaviour-keeping default leaves every key as it was),
    plus ``replaced``."""
    defaults = field_defaults(run_config)
    return {key: value for key, value in as_flat_dict(run_config).items()
            if key.rsplit(".", 1)[-1] not in NOT_COMPARED and not (key in defaults and value == defaults[key])
            } | replaced


def run(cfg: PipelineConfig, job_dir: Path) -> dict:
    """Run (or resume) one job in ``job_dir`` and return its summary."""
    job_dir = Path(job_dir)
    config = as_flat_dict(cfg)
    if (job_dir / SUMMARY).exists():
        summary = read_summary(job_dir)
        check_same_config(summary["config"], config, job_dir / SUMMARY, field_defaults(cfg))
        return summary

    stages_dir = Path(cfg.stages_dir)
    ntp_cfg = cfg.ntp_run_config()
    ntp = ensure_stage(stages_dir, NTP_DIR, stage_config(ntp_cfg), lambda path: train.run(ntp_cfg, path))
    check_same_config(flatten(ntp.summary["config"]), as_flat_dict(ntp_cfg), ntp.path / SUMMARY,
                      field_defaults(ntp_cfg))
    link_stage(job_dir / NTP_DIR, ntp.path)
    stages = {NTP_DIR: ntp.provenance()}

    rl: dict = {}  # empty: no RL stage (rl.algo=none), so the table's rl.* columns stay empty for this job
    if cfg.rl.algo != "none":
        rl_cfg = PostTrainRunConfig(init_from=str(ntp.path), rl=cfg.rl, eval=cfg.rl_eval, seed=cfg.seed,
                                    threads=cfg.threads)
        # The trainer is part of the RL stage's key (when not the default, as every key field: stage_config).
        trainer = {"rl_trainer": "trl"} if cfg.rl_trainer == "trl" else {}
        runner = trl_arm.run if trainer else post_train.run
        post = ensure_stage(stages_dir, RL_DIR, stage_config(rl_cfg, init_from=ntp.key, **trainer),
                            lambda path: runner(rl_cfg, path))
        check_same_config(flatten(post.summary["config"]), as_flat_dict(rl_cfg), post.path / SUMMARY,
                          field_defaults(rl_cfg))
        link_stage(job_dir / RL_DIR, post.path)
        stages[RL_DIR] = post.provenance()
        rl = {"start": post.summary["start"], "final": post.summary["final"], "seconds": post.summary["rl_seconds"],
              "solved": post.summary["solved"]}

    if cfg.compounding_prompts:
        measured = [ntp] if cfg.rl.algo == "none" else [ntp, post]
        compounding = {stage.kind: stage_profile(stage.path, cfg.compounding_prompts) for stage in measured}
    return finish_run(job_dir, {  # with the flat config, which a resumed job is compared with key by key
        "ntp": ntp.summary["final"],
        "ntp_seconds": ntp.summary["train_seconds"],
        "ntp_solved": ntp.summary["solved"],
        "rl": rl,
        "stages": stages,
        **({"compounding": compounding} if cfg.compounding_prompts else {}),
    }, config)


register_pipeline_configs()


@hydra.main(version_base="1.3", config_path="../conf", config_name="pipeline")
def main(cfg: DictConfig) -> None:
    typed, job_dir, summary = run_hydra_job(cfg, run)
    stages = summary.get("stages", {})
    line = f"[{job_dir.name}] done: NTP greedy acc {summary['ntp']['greedy/accuracy']:.3f}"
    line += " (stage reused)" if stages.get(NTP_DIR, {}).get("reused") else f" ({summary['ntp_seconds']:.0f} s)"
    if summary["rl"]:
        line += f" | {typed.rl.algo}: greedy acc {summary['rl']['final']['greedy/accuracy']:.3f}"
        line += " (stage reused)" if stages.get(RL_DIR, {}).get("reused") else f" ({summary['rl']['seconds']:.0f} s)"
    print(line, flush=True)


if __name__ == "__main__":
    main()
