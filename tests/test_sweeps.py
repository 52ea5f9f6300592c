"""Sweeps: experiment configs and launcher presets compose, multiruns through joblib and submitit produce
finished jobs, re-running resumes instead of recomputing, and collection is strict about what it reads."""

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

import sweeps.pipeline as pipeline
from core.paths import results_root
from sweeps.collect import RESULTS, STEPS, collect, collect_and_write, job_dirs
from sweeps.collect import main as collect_main
from sweeps.compounding import COMPOUNDING, PROFILE_SEED
from sweeps.compounding_checks import COMPOUNDING_SWEEPS
from sweeps.config import PipelineConfig, register_pipeline_configs
from toy.compounding import checkpoint_error_profile

register_pipeline_configs()
CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
EXPERIMENTS = sorted(path.stem for path in (CONF_DIR / "experiment").glob("sweep_*.yaml"))
TINY = ["task.d=4", "train.steps=4", "train.batch_size=32", "eval.every=2", "eval.prompts=32", "rl.iterations=2",
        "rl.prompts=4", "rl.group_size=2", "rl_eval.every=1", "rl_eval.prompts=32", "log_every=2"]
QUIET = {"OMP_NUM_THREADS": "1", "TQDM_DISABLE": "1", "MPLBACKEND": "Agg"}


def compose_with_hydra(overrides: list[str]):
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        return compose("pipeline", overrides=overrides, return_hydra_config=True)


def run_sweep(sweep_dir: Path, *overrides: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "sweeps.pipeline", "-m", f"hydra.sweep.dir={sweep_dir}", *overrides],
                            capture_output=True, text=True, timeout=300, env=os.environ | QUIET)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def seeds(cfg) -> list[int]:
    return [int(seed) for seed in str(cfg.hydra.sweeper.params.seed).split(",")]


FIGURE_SWEEPS = ("fig1_ntp_vs_rl", "fig2_threshold", "fig3_rl_curves", "fig4_star", "scaling_ntp", "scaling_rl",
                 "rl_variants")
# The d = 50 headline and the ablations: their point is the scale / the full NTP stage, so they
# have no minutes-scale copy (nor has rl_variants_fresh, fresh d = 50 seeds of the paper grid).
PAPER_ONLY = ("d50", "ablations", "scaling_linear", "scaling_linear_laws", "scaling_linear_rounds",
              "scaling_linear_grpo", "endogenous_rl", "rl_variants_fresh")


def test_there_is_a_quick_and_a_paper_sweep_per_figure():
    expected = [f"sweep_{fig}{size}" for fig in FIGURE_SWEEPS for size in ("", "_quick")]
    assert EXPERIMENTS == sorted(expected + [f"sweep_{name}" for name in PAPER_ONLY])


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_composes_and_validates(compose_typed, experiment):
    cfg = compose_with_hydra([f"experiment={experiment}"])
    typed: PipelineConfig = compose_typed("pipeline", [f"experiment={experiment}"])
    profile = "quick" if experiment.endswith("_quick") else "paper"
    assert typed.profile == profile and typed.name == experiment.removeprefix("sweep_").removesuffix("_quick")
    assert cfg.hydra.sweep.dir == f"{results_root()}/sweeps/{typed.name}/{profile}"
    assert len(seeds(cfg)) >= 2 and typed.threads == 1
    if profile == "quick":  # the quick size is a smaller copy of the paper size, never a different experiment
        paper = compose_typed("pipeline", [f"experiment={experiment.removesuffix('_quick')}"])
        paper_cfg = compose_with_hydra([f"experiment={experiment.removesuffix('_quick')}"])
        assert typed.train.steps < paper.train.steps and 3 <= len(seeds(cfg)) <= len(seeds(paper_cfg))
        assert (typed.model.name, typed.rl.algo) == (paper.model.name, paper.rl.algo)
    expected = {"fig1_ntp_vs_rl": ("gpt", "grpo"), "fig2_threshold": ("gpt", "none"),
                "fig3_rl_curves": ("gpt", "grpo"), "fig4_star": ("linear", "star"), "d50": ("gpt", "grpo"),
                "ablations": ("gpt", "grpo"), "scaling_ntp": ("gpt", "none"), "scaling_rl": ("gpt", "grpo"),
                "scaling_linear": ("linear", "star"), "scaling_linear_laws": ("linear", "star"),
                "scaling_linear_rounds": ("linear", "star"), "scaling_linear_grpo": ("linear", "grpo"),
                "endogenous_rl": ("gpt", "reinforce"), "rl_variants": ("gpt", "grpo"),
                "rl_variants_fresh": ("gpt", "grpo")}[typed.name]
    assert (typed.model.name, typed.rl.algo) == expected
    if typed.name == "d50":  # the paper's headline: d = 50 below the 1/3 threshold, where NTP alone fails
        assert typed.task.d == 50 and typed.task.p_cot < 1 / 3
    if typed.name.startswith("scaling_"):  # a cost measurement: every stage stops at its solve criterion
        assert typed.eval.stop_metric is not None and typed.train.schedule == "constant"
        assert typed.rl.algo == "none" or typed.rl_eval.stop_metric == "greedy/accuracy"


@pytest.mark.parametrize("experiment", ["sweep_fig2_threshold_quick", "sweep_fig3_rl_curves"])
def test_swept_groups_select_models_and_algorithms(compose_typed, experiment):
    cfg = compose_with_hydra([f"experiment={experiment}"])
    group = "recipe" if "fig2" in experiment else "rl"
    for option in str(cfg.hydra.sweeper.params[group]).split(","):
        typed = compose_typed("pipeline", [f"experiment={experiment}", f"{group}={option}"])
        assert (typed.model.name if group == "recipe" else typed.rl.algo) == option
        if option == "linear":
            assert typed.train.batch_size == 4096 and typed.train.schedule == "cosine"


def test_a_model_of_another_family_than_the_recipe_is_an_error_naming_both(compose_typed):
    with pytest.raises(ValueError, match=r"model is 'linear' but recipe is 'gpt'.*recipe=linear"):
        compose_typed("pipeline", ["model=linear"])
    linear = compose_typed("pipeline", ["recipe=linear"])
    assert linear.model.name == "linear" and linear.train.batch_size == 4096 and linear.recipe == "linear"
    with pytest.raises(ValueError, match="ablation"):
        dataclasses.replace(linear, ablation="too_late")  # not an option of conf/ablation/


def test_each_ablation_changes_only_what_it_names(compose_typed):
    def flat(option: str) -> dict:
        return pipeline.as_flat_dict(compose_typed("pipeline", ["experiment=sweep_ablations", f"ablation={option}"]))

    star = {"rl.algo", "rl.iterations", "rl_eval.every"}  # star_samples, star_steps: set to RLConfig's defaults
    changes = {"reference": set(), "too_early_150": {"train.steps", "eval.every"},
               "too_early_300": {"train.steps", "eval.every"}, "no_cot": {"task.p_cot"}, "leap2": {"task.leap"},
               "star_t1": star, "star_t15": star | {"rl.temperature"}, "star_t2": star | {"rl.temperature"}}
    options = str(compose_with_hydra(["experiment=sweep_ablations"]).hydra.sweeper.params.ablation).split(",")
    assert sorted(options) == sorted(changes)
    reference = flat("reference")
    for option in options:
        config = flat(option)
        assert {key for key in reference if config[key] != reference[key]} - {"ablation"} == changes[option], option
        assert config["ablation"] == option  # the choice is a config field, not only a directory name
    assert flat("star_t2")["rl.temperature"] == 2.0 and flat("too_early_150")["train.steps"] == 150


@pytest.mark.parametrize("launcher, target", [("local", "JoblibLauncher"), ("slurm", "SlurmLauncher")])
@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_composes_with_each_launcher(experiment, launcher, target):
    if launcher == "slurm":
        pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason="optional extra: pip install -e .[slurm]")
    cfg = compose_with_hydra([f"experiment={experiment}", f"hydra/launcher={launcher}"])
    assert cfg.hydra.launcher._target_.endswith(target) and cfg.hydra.sweep.dir.startswith(f"{results_root()}/sweeps/")
    job_dir_name = OmegaConf.to_container(cfg.hydra.sweep)["subdir"]  # unresolved: compose has no job overrides
    assert job_dir_name == "${path_safe:${hydra.job.override_dirname}}" and cfg.threads == 1  # core/paths.py


def test_launcher_presets_compose():
    local = compose_with_hydra(["experiment=sweep_fig1_ntp_vs_rl_quick", "hydra/launcher=local"]).hydra
    assert "joblib" in local.launcher._target_ and local.launcher.n_jobs == 2
    assert local.job.env_set.OMP_NUM_THREADS == "1"
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason="optional extra: pip install -e .[slurm]")
    slurm = compose_with_hydra(["experiment=sweep_fig2_threshold", "hydra/launcher=slurm"]).hydra.launcher
    assert slurm._target_.endswith("SlurmLauncher") and slurm.cpus_per_task == 1 and slurm.mem_gb == 4
    assert "partition" in slurm and slurm.partition is None and slurm.timeout_min == 60  # fields the user sets


@pytest.mark.parametrize("override, field", [("rl.algo=ppo", "rl.algo"), ("profile=huge", "profile"),
                                             ("rl.group_size=1", "rl.group_size"), ("name=a/b", "name"),
                                             ("threads=0", "threads"), ("task.p_cot=2", "task.p_cot")])
def test_bad_values_fail_at_start_naming_the_field(compose_typed, override, field):
    # A choice (enum) fails while Hydra composes, a range check when the dataclass validates: both name the field.
    with pytest.raises((ValueError, ConfigCompositionException), match=field.replace(".", r"\.")):
        compose_typed("pipeline", [override])


def test_rl_none_skips_rl_checks_and_the_rl_stage(compose_typed, tmp_path):
    cfg = compose_typed("pipeline", [*TINY, "rl=none", "rl.group_size=1"])  # RL fields are unused, not checked
    summary = pipeline.run(cfg, tmp_path / "job")
    assert summary["rl"] == {} and not (tmp_path / "job" / "rl").exists()
    assert summary["config"]["rl.algo"] == "none" and 0 <= summary["ntp"]["greedy/accuracy"] <= 1


def test_a_finished_job_is_reused_only_by_the_same_config(compose_typed, tmp_path):
    cfg = compose_typed("pipeline", [*TINY, "rl=none"])
    first = pipeline.run(cfg, tmp_path / "job")
    assert pipeline.run(compose_typed("pipeline", [*TINY, "rl=none", "threads=2"]), tmp_path / "job") == first
    with pytest.raises(ValueError, match=r"different config \(train\.steps: 4 -> 5\)"):
        pipeline.run(compose_typed("pipeline", [*TINY, "rl=none", "train.steps=5"]), tmp_path / "job")
    # Finished ntp/ only: a changed NTP config cannot reuse it (stages are content-addressed), it gets its own stage.
    (tmp_path / "job" / "summary.json").unlink()
    first_stage = (tmp_path / "job" / "ntp").resolve()
    third = pipeline.run(compose_typed("pipeline", [*TINY, "rl=none", "seed=3"]), tmp_path / "job")
    assert third["stages"]["ntp"]["key"] != first["stages"]["ntp"]["key"]
    assert (tmp_path / "job" / "ntp").resolve() != first_stage and (first_stage / "summary.json").exists()


@pytest.fixture(scope="module")
def joblib_sweep(tmp_path_factory):
    """One tiny 2-job NTP+GRPO sweep through the local (joblib, n_jobs=2) launcher."""
    sweep_dir = tmp_path_factory.mktemp("sweep")
    args = [*TINY, "seed=0,1", "compounding_prompts=64"]
    run_sweep(sweep_dir, "hydra/launcher=local", *args)
    return sweep_dir, args


def test_joblib_multirun_writes_finished_jobs_and_tables(joblib_sweep):
    sweep_dir, _ = joblib_sweep
    jobs = job_dirs(sweep_dir)
    summaries = [json.loads((job / "summary.json").read_text()) for job in jobs]
    assert sorted(s["config"]["seed"] for s in summaries) == [0, 1]
    assert all(s["config"]["task.d"] == 4 and s["config"]["rl.algo"] == "grpo" for s in summaries)
    assert all((job / "ntp" / "checkpoint.pt").exists() and (job / "rl" / "summary.json").exists() for job in jobs)
    assert "joblib" in OmegaConf.load(jobs[0] / ".hydra" / "hydra.yaml").hydra.launcher._target_
    # The sweep collected itself when it ended (CollectWhenSweepEnds).
    runs, steps = pd.read_parquet(sweep_dir / RESULTS), pd.read_parquet(sweep_dir / STEPS)
    assert sorted(runs["seed"]) == [0, 1] and runs["rl.final.greedy/accuracy"].between(0, 1).all()
    rl_accuracy = steps[(steps["stage"] == "rl") & (steps["metric"] == "greedy/accuracy")]
    assert sorted(rl_accuracy["step"]) == [0, 0, 1, 1, 2, 2]  # iteration 0 = the NTP model, then every iteration
    ntp_first = runs.set_index("seed")["rl.start.greedy/accuracy"]
    assert (ntp_first == runs.set_index("seed")["ntp.greedy/accuracy"]).all()  # RL starts where NTP ended


def test_jobs_measure_the_compounding_profile_of_every_model_they_train(joblib_sweep):
    sweep_dir, _ = joblib_sweep
    table = pd.read_parquet(sweep_dir / COMPOUNDING)  # written by the collect callback from the jobs' summaries
    assert sorted(zip(table["job"], table["stage"], strict=True)) == sorted(
        (job.name, stage) for job in job_dirs(sweep_dir) for stage in ("ntp", "rl"))
    assert (table["d"] == 4).all() and (table["chain_steps"] == 3).all()
    assert (table["chain_failure"] <= table["sum_step_error"] + 1e-9).all()  # union bound
    assert (table["max_step_error"] * 3 >= table["sum_step_error"] - 1e-9).all()
    # The same numbers as measuring the stored checkpoint afresh (the profile is kept next to it, not re-measured).
    job = job_dirs(sweep_dir)[0]
    fresh = checkpoint_error_profile(job / "ntp", 64, PROFILE_SEED)
    row = table[(table["job"] == job.name) & (table["stage"] == "ntp")].iloc[0]
    assert row["chain_failure"] == fresh["chain_failure"] and row["first_step_error"] == fresh["per_step_error"][0]


def stamp(path: Path) -> tuple[int, bytes]:
    return path.stat().st_mtime_ns, path.read_bytes()


def test_rerunning_a_sweep_resumes_without_recomputing(joblib_sweep):
    sweep_dir, args = joblib_sweep
    done, partial = job_dirs(sweep_dir)
    done_before, ntp_before = stamp(done / "summary.json"), stamp(partial / "ntp" / "summary.json")
    # `partial` as if killed during RL: NTP finished, RL half-written, no top-level summary.
    (partial / "summary.json").unlink()
    (partial / "rl" / "summary.json").unlink()
    (partial / "rl" / "metrics.jsonl").write_text('{"iteration": 0, "greedy/accuracy": 0.5}\n{"iterat')
    with pytest.warns(UserWarning, match="1 unfinished"):
        assert collect(sweep_dir)[0].attrs["unfinished"] == [partial.name]
    run_sweep(sweep_dir, *args, "hydra/launcher=basic")  # the job directories do not depend on the launcher
    assert stamp(done / "summary.json") == done_before  # finished job: untouched
    assert stamp(partial / "ntp" / "summary.json") == ntp_before  # finished stage: not re-run
    runs, steps = pd.read_parquet(sweep_dir / RESULTS), pd.read_parquet(sweep_dir / STEPS)
    assert sorted(runs["seed"]) == [0, 1] and not runs.duplicated(subset=["seed"]).any()
    assert len(steps[(steps["stage"] == "rl") & (steps["metric"] == "greedy/accuracy")]) == 6  # RL log restarted


def test_submitit_local_executor_runs_a_job(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason="optional extra: pip install -e .[slurm]")
    run_sweep(tmp_path, "hydra/launcher=submitit_local", *TINY, "rl=none")
    (job,) = job_dirs(tmp_path)
    assert json.loads((job / "summary.json").read_text())["config"]["rl.algo"] == "none"
    assert (tmp_path / ".submitit").is_dir() and len(pd.read_parquet(tmp_path / RESULTS)) == 1


# ---- collection on hand-made job directories ----

def make_job(sweep_dir: Path, name: str, seed: int, algo: str = "grpo", finished: bool = True) -> Path:
    job = sweep_dir / name
    (job / "ntp").mkdir(parents=True)
    (job / "ntp" / "metrics.jsonl").write_text(json.dumps({"step": 10, "loss": 0.5, "greedy/accuracy": 0.5}) + "\n")
    rl = {}
    if algo != "none":
        (job / "rl").mkdir()
        records = [{"iteration": 0, "greedy/accuracy": 0.5}, {"iteration": 1, "greedy/accuracy": 0.9,
                                                                "sampled/chain_accuracy": None}]
        (job / "rl" / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
        rl = {"start": {"greedy/accuracy": 0.5}, "final": {"greedy/accuracy": 0.9}, "seconds": 1.0}
    if finished:
        summary = {"config": {"task.d": 8, "rl.algo": algo, "seed": seed}, "ntp": {"greedy/accuracy": 0.5},
                   "ntp_seconds": 2.0, "rl": rl}
        (job / "summary.json").write_text(json.dumps(summary))
    return job


def test_collect_reads_finished_jobs_and_reports_unfinished_ones(tmp_path):
    make_job(tmp_path, "a", seed=0)
    make_job(tmp_path, "b", seed=1, algo="none")
    make_job(tmp_path, "c", seed=2, finished=False)
    (tmp_path / ".submitit").mkdir()  # launcher bookkeeping, not a job
    with pytest.warns(UserWarning, match=r"1 unfinished job\(s\) skipped \(no summary.json\): c"):
        runs, steps = collect_and_write(tmp_path)
    assert runs.attrs["unfinished"] == ["c"]
    assert list(runs["job"]) == ["a", "b"] and list(runs["seed"]) == [0, 1]
    assert runs.loc[0, "rl.final.greedy/accuracy"] == 0.9 and pd.isna(runs.loc[1, "rl.final.greedy/accuracy"])
    assert runs.loc[0, "ntp.greedy/accuracy"] == 0.5 and runs.loc[0, "rl.seconds"] == 1.0
    assert len(steps) == 2 * 2 + 2 and set(steps["job"]) == {"a", "b"}  # None values are left out
    a_rl = steps[(steps["job"] == "a") & (steps["stage"] == "rl")]
    assert list(a_rl["step"]) == [0, 1] and list(a_rl["value"]) == [0.5, 0.9]
    assert pd.read_parquet(tmp_path / RESULTS).equals(runs.reset_index(drop=True))


def test_corrupted_summary_names_the_file(tmp_path, capsys):
    make_job(tmp_path, "a", seed=0)
    (make_job(tmp_path, "b", seed=1) / "summary.json").write_text('{"config": {"seed": ')
    with pytest.raises(ValueError, match=r"b/summary\.json: corrupted summary\.json"):
        collect(tmp_path)
    assert collect_main([str(tmp_path)]) == 1  # the CLI: the same message, no traceback, no tables written
    assert "b/summary.json: corrupted summary.json" in capsys.readouterr().err and not (tmp_path / RESULTS).exists()


def test_corrupted_metrics_line_names_file_and_line(tmp_path):
    job = make_job(tmp_path, "a", seed=0)
    with open(job / "rl" / "metrics.jsonl", "a") as handle:
        handle.write("{not json\n")
    with pytest.raises(ValueError, match=r"a/rl/metrics\.jsonl:3: corrupted metrics\.jsonl line"):
        collect(tmp_path)


def test_duplicate_configs_and_foreign_summaries_are_refused(tmp_path):
    make_job(tmp_path, "a", seed=0)
    make_job(tmp_path, "a_copy", seed=0)
    with pytest.raises(ValueError, match=r"\['a', 'a_copy'\] have identical configs"):
        collect(tmp_path)
    (tmp_path / "a_copy" / "summary.json").write_text(json.dumps({"final": {}, "config": {}}))  # a toy.train run
    with pytest.raises(ValueError, match=r"a_copy/summary\.json: not a sweeps\.pipeline summary"):
        collect(tmp_path)


def test_a_directory_without_jobs_is_an_error(tmp_path):
    (tmp_path / "quick").mkdir()
    with pytest.raises(FileNotFoundError, match="no pipeline job directories"):
        collect(tmp_path)


@pytest.mark.parametrize("experiment", [e for e in EXPERIMENTS
                                        if e.removeprefix("sweep_").removesuffix("_quick") in COMPOUNDING_SWEEPS])
def test_the_sweeps_the_compounding_checks_read_measure_compounding(compose_typed, experiment):
    assert compose_typed("pipeline", [f"experiment={experiment}"]).compounding_prompts > 0
