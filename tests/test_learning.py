"""Slow end-to-end learning checks (``python -m pytest -q -m slow``, about 3 minutes on one core): the parity
phenomena themselves, through the same pipeline entry point the sweeps use.

* the linear model's NTP threshold at p_cot = 1/3 (docs/research/parity_cot_rl.md §6.2), d = 8: chance below, solved
  above;
* the tiny GPT, d = 12: NTP at p_cot = 0.2 stays at chance under greedy decoding although the chain is learned,
  and GRPO after it reaches greedy accuracy ≥ 0.95 with responses of the chain's length.  Not d = 8: there the
  GPT partly learns the short map (parity of 8 bits) itself and NTP alone reached greedy accuracy 0.89 at
  p_cot = 0.25 (800 steps), so the premise of the phenomenon, an unlearnable short answer, does not hold.

Tolerances: 0.05 around chance and 0.95 for "solved", on 1024 held-out prompts, where one
binomial standard error at 1/2 is 0.016.
"""

import pytest

import sweeps.pipeline as pipeline

pytestmark = pytest.mark.slow
HELD_OUT = ["eval.prompts=1024", "rl_eval.prompts=1024"]


@pytest.mark.parametrize("p_cot, solved", [(0.25, False), (0.4, True)])
def test_linear_model_threshold_at_one_third(compose_typed, tmp_path, p_cot, solved):
    cfg = compose_typed("pipeline", [*HELD_OUT, "task.d=8", "recipe=linear", "rl=none", f"task.p_cot={p_cot}",
                                     "train.steps=1500"])
    ntp = pipeline.run(cfg, tmp_path)["ntp"]
    assert ntp["forced_long/accuracy"] >= 0.95  # the chain itself is learned in both cases
    if solved:
        assert ntp["greedy/accuracy"] >= 0.95 and ntp["greedy/long_fraction"] >= 0.95
    else:
        assert abs(ntp["greedy/accuracy"] - 0.5) <= 0.05 and ntp["greedy/long_fraction"] <= 0.05
    assert abs(ntp["sampled/long_fraction"] - p_cot) <= 0.05  # length calibration at T = 1


def test_gpt_ntp_at_chance_then_grpo_solves(compose_typed, tmp_path):
    cfg = compose_typed("pipeline", [*HELD_OUT, "task.d=12", "recipe=gpt", "rl=grpo", "task.p_cot=0.2",
                                     "train.steps=1000", "rl.iterations=40", "rl_eval.every=10"])
    summary = pipeline.run(cfg, tmp_path)
    ntp, rl = summary["ntp"], summary["rl"]["final"]
    assert abs(ntp["greedy/accuracy"] - 0.5) <= 0.05 and ntp["forced_long/accuracy"] >= 0.95
    assert rl["greedy/accuracy"] >= 0.95 and rl["greedy/mean_length"] >= 0.9 * 12
