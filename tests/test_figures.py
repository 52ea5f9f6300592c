"""Figures: each figure function draws the stored numbers it is given (checked on a synthetic table), writes
PDF + PNG byte-identically on a re-build, and a missing table names the sweep command that makes it."""

import numpy as np
import pandas as pd
import pytest

from core.runio import write_parquet
from figures import fig1_ntp_vs_rl, fig2_threshold, fig3_rl_curves, fig4_star, fig9_d50
from figures.__main__ import SWEEP_FIGURES, main
from figures.common import MissingTable, build, load_tables, mean_se, save
from sweeps.collect import RESULTS, STEPS

SEEDS = (0, 1, 2)


def synthetic_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A small sweep covering every figure: 2 d x 2 p_cot x 2 models x 2 algorithms x 3 seeds."""
    rows, steps = [], []
    for d in (8, 12):
        for p_cot in (0.1, 0.4):
            for model in ("gpt", "linear"):
                for algo in ("grpo", "star"):
                    for seed in SEEDS:
                        job = f"{d}-{p_cot}-{model}-{algo}-{seed}"
                        long = p_cot + 0.01 * seed
                        rows.append({"job": job, "task.d": d, "task.p_cot": p_cot, "model.name": model,
                                     "train.steps": 100, "seed": seed, "rl.algo": algo,
                                     "ntp.greedy/accuracy": 0.5 + 0.1 * seed, "ntp.sampled/long_fraction": long,
                                     "ntp.forced_long/accuracy": 0.97 + 0.01 * seed,
                                     "rl.final.greedy/accuracy": 0.9 + 0.01 * seed})
                        for step in range(4):
                            steps += [(job, "rl", step, "greedy/accuracy", 0.5 + 0.1 * step),
                                      (job, "rl", step, "sampled/mean_length", 1 + step),
                                      (job, "rl", step, "star/kept_long_fraction", 2 * long / (1 + long))]
    return pd.DataFrame(rows), pd.DataFrame(steps, columns=["job", "stage", "step", "metric", "value"])


@pytest.fixture(scope="module")
def tables():
    return synthetic_tables()


def test_mean_se_is_mean_and_standard_error_over_seeds():
    table = pd.DataFrame({"x": [1, 1, 2], "v": [0.5, 0.7, 0.3]})
    stats = mean_se(table, ["x"], "v")
    assert np.allclose(stats["mean"], [0.6, 0.3]) and np.allclose(stats["se"], [0.1, 0.0])
    assert list(stats["n"]) == [2, 1]


@pytest.mark.parametrize("module", SWEEP_FIGURES, ids=lambda m: m.__name__)
def test_every_figure_writes_pdf_and_png_byte_identically(module, tables, tmp_path):
    first = save(module.plot(*tables), tmp_path / "a", "fig")
    second = save(module.plot(*tables), tmp_path / "b", "fig")
    assert [p.suffix for p in first] == [".pdf", ".png"]
    assert first[0].read_bytes().startswith(b"%PDF") and first[1].read_bytes().startswith(b"\x89PNG")
    for one, two in zip(first, second, strict=True):
        assert one.read_bytes() == two.read_bytes(), f"{one.name} differs between two builds"


def test_fig1_draws_ntp_and_rl_means_with_n_in_the_legend(tables):
    ax = fig1_ntp_vs_rl.plot(*tables).axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    # NTP: one row per (d, p_cot, model, seed) -> mean over seeds 0.5 + 0.1 * mean(seed) = 0.6, n = 12 rows per d
    assert np.allclose(lines["NTP (n=12)"].get_ydata(), [0.6, 0.6])
    assert np.allclose(lines["NTP + GRPO (n=12)"].get_ydata(), [0.91, 0.91])
    assert list(lines["NTP + GRPO (n=12)"].get_xdata()) == [8, 12]


def test_fig2_theory_curves_and_measured_points(tables):
    acc_ax, long_ax = fig2_threshold.plot(*tables).axes
    theory = next(line for line in acc_ax.get_lines() if line.get_label().startswith("theory"))
    p, greedy = np.asarray(theory.get_xdata()), np.asarray(theory.get_ydata())
    assert np.all(greedy[p < 1 / 3] == 0.5) and np.all(greedy[p > 1 / 3] == 1.0)
    posterior = next(line for line in long_ax.get_lines() if line.get_label().startswith("2p/(1+p)"))
    assert np.allclose(posterior.get_ydata(), 2 * posterior.get_xdata() / (1 + posterior.get_xdata()))
    measured = next(line for line in long_ax.get_lines() if line.get_label() == "gpt (n=12)")
    assert np.allclose(measured.get_ydata(), [0.11, 0.41])


def test_fig3_has_one_column_per_algorithm(tables):
    fig = fig3_rl_curves.plot(*tables)
    assert [ax.get_title() for ax in fig.axes[:2]] == ["GRPO", "STaR"]
    accuracy = next(line for line in fig.axes[0].get_lines() if line.get_label().startswith("p_cot = 0.1"))
    assert np.allclose(accuracy.get_ydata(), [0.5, 0.6, 0.7, 0.8])
    assert not any(fig3_rl_curves.SAME_CURVES_NOTE in t.get_text() for t in fig.texts)


def test_fig3_says_when_reinforce_and_grpo_are_one_algorithm(tables):
    runs, steps = tables
    runs = runs.assign(**{"rl.std_normalize": False, "rl.baseline": "leave_one_out"})
    reinforce = runs[runs["rl.algo"] == "grpo"].assign(**{"rl.algo": "reinforce"})
    fig = fig3_rl_curves.plot(pd.concat([runs, reinforce]), steps)
    assert [ax.get_title() for ax in fig.axes[:3]] == ["GRPO", "REINFORCE (leave one out)", "STaR"]
    assert any(fig3_rl_curves.SAME_CURVES_NOTE in t.get_text() for t in fig.texts)
    fig = fig3_rl_curves.plot(pd.concat([runs.assign(**{"rl.std_normalize": True}), reinforce]), steps)
    assert not any(fig3_rl_curves.SAME_CURVES_NOTE in t.get_text() for t in fig.texts)


def test_fig4_recursion_doubles_the_odds():
    p = fig4_star.recursion(0.1, 4)
    odds = p / (1 - p)
    assert np.allclose(odds, (1 / 9) * 2.0 ** np.arange(1, 5))


def test_fig9_bars_are_the_seed_means_and_the_length_panel_marks_d(tables):
    runs, steps = tables
    d50 = runs[(runs["task.d"] == 8) & (runs["task.p_cot"] == 0.1) & (runs["model.name"] == "gpt")
               & (runs["rl.algo"] == "grpo")]
    bars_ax, accuracy_ax, length_ax = fig9_d50.plot(d50, steps[steps["job"].isin(d50["job"])]).axes
    heights = [patch.get_height() for patch in bars_ax.patches]
    assert np.allclose(heights, [d50[c].mean() for c, _ in fig9_d50.BARS]) and np.allclose(heights, [0.6, 0.98, 0.91])
    mean_length = next(line for line in length_ax.get_lines() if line.get_label().startswith("NTP + GRPO"))
    assert np.allclose(mean_length.get_ydata(), [1, 2, 3, 4])
    assert any(line.get_label() == "full chain, d = 8" for line in length_ax.get_lines())


def test_paper_only_figure_is_skipped_at_the_quick_size(tmp_path, capsys):
    status = main(["--profile", "quick", "--only", "fig9_d50", "--results-root", str(tmp_path),
                   "--figures-root", str(tmp_path / "figures")])
    assert status == 0 and "[fig9_d50] skipped: drawn for profile paper only" in capsys.readouterr().out
    assert not (tmp_path / "figures").exists()


def test_missing_table_names_the_sweep_command_and_other_figures_still_build(tables, tmp_path, capsys):
    with pytest.raises(MissingTable, match=r"python -m sweeps\.pipeline -m experiment=sweep_fig4_star_quick"):
        load_tables("fig4_star", "quick", tmp_path)
    sweep_dir = tmp_path / "sweeps" / "fig1_ntp_vs_rl" / "paper"
    write_parquet(tables[0], sweep_dir / RESULTS)
    write_parquet(tables[1], sweep_dir / STEPS)
    status = main(["--profile", "paper", "--results-root", str(tmp_path / "sweeps"),
                   "--claims-root", str(tmp_path / "claims"), "--figures-root", str(tmp_path / "figures")])
    err = capsys.readouterr().err
    assert status == 1 and "13 figure(s) not built: fig2_threshold, fig3_rl_curves, fig4_star, fig5" in err
    # in figure order; fig9: paper only
    assert "fig9_d50, fig10_scaling, fig11_scaling_linear, fig12_rl_variants, fig13_star_refit" in err.splitlines()[-1]
    assert "experiment=sweep_fig2_threshold hydra/launcher=local" in err  # the paper size has no suffix
    assert sorted(p.name for p in (tmp_path / "figures" / "paper").iterdir()) == ["fig1_ntp_vs_rl.pdf",
                                                                                   "fig1_ntp_vs_rl.png"]
    assert build(fig1_ntp_vs_rl, "paper", tmp_path / "sweeps", tmp_path / "again")[1].read_bytes() == (
        tmp_path / "figures" / "paper" / "fig1_ntp_vs_rl.png").read_bytes()
