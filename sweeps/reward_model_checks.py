"""The endogenous reward of the trained parity GPTs as a reward model
(docs/research/endogenous_reward_bounds.md §8, prediction 1: the GPT half).

learned/endogenous_reward_claims.py judges the reward-model accuracy of the endogenous reward on linear models it
trains itself; this check reads the NTP checkpoints of the GPTs the threshold sweep trained (``fig2_threshold``,
p_cot on both sides of 1/3, several seeds) and scores the same pairs on each model's held-out prompts
(learned/reward_model_accuracy.py).  One instance is one trained GPT; its accuracy carries a Wilson interval over
the held-out pairs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from core.ledger import Context, Criterion, Outcome, claim
from core.runio import torch_threads
from learned.endogenous_reward_claims import PAPER as ENDOGENOUS_PAPER
from learned.endogenous_reward_claims import above_third, distance_to, model_rows, select
from sweeps.evidence import labels
from sweeps.threshold import BAND, resolved
from toy.evaluate import held_out_prompts
from toy.models import load_checkpoint
from toy.parity import ParityLayout

ACCURACY_TOLERANCE = 0.05  # a few held-out prompts may flip through training noise (as for the linear models)
CHAIN_LEARNED = 0.95  # the prediction is about models whose chain is learned (forced-long decoding)
SHORT_MAP_LEARNED = 0.95  # NTP greedy accuracy at which the GPT has learned the short map: then the prediction moot


def gpt_rows(runs: pd.DataFrame, sweep_dir, prompts: int = 256) -> list[dict]:
    """Reward-model accuracy rows of every GPT's NTP checkpoint, tagged with its job and the NTP greedy accuracy."""
    rows = []
    with torch_threads(1), torch.no_grad():
        for _, run in runs[runs["model.name"] == "gpt"].iterrows():
            model, task, _ = load_checkpoint(sweep_dir / run["job"] / "ntp")
            layout = ParityLayout(task.d, task.leap)
            x = held_out_prompts(layout, prompts, int(run["eval.seed"]))
            for row in model_rows(model.eval(), "trained", task.p_cot, layout, x=x, seed_index=int(run["seed"])):
                rows.append(row | {"job": run["job"], "experiment": run["experiment"],
                                   "ntp_greedy": float(run["ntp.greedy/accuracy"])})
    return rows


def judge_gpt_threshold(rows: list[dict]) -> Outcome:
    """|accuracy(long chain vs short wrong, outcome r̂) − 1{p > 1/3}| per GPT; informative when the chain is learned,
    the short map is not, and p_cot is outside the band where a finite-budget model's decision is not evidence."""
    pairs = select(rows, "trained", "long_vs_short_wrong", "outcome")
    p_cot = np.array([r["p_cot"] for r in pairs])
    # Above 1/3 greedy decoding is long, so NTP greedy accuracy cannot tell whether the short map was learned; the
    # prediction (accuracy 1) holds there either way.
    informative = np.array([r["chain_learned"] >= CHAIN_LEARNED and (r["p_cot"] > 1 / 3
                                                                     or r["ntp_greedy"] < SHORT_MAP_LEARNED)
                            for r in pairs], dtype=bool) & resolved(p_cot)
    frame = pd.DataFrame(pairs)
    criterion = Criterion("|accuracy(outcome r̂, GPT) − 1{p > 1/3}|", **distance_to(pairs, above_third(pairs)),
                          tolerance=ACCURACY_TOLERANCE, informative=informative,
                          labels=labels(frame) if len(frame) else [],
                          interval="|·| of the Wilson 95% interval over the model's held-out pairs")
    detail = "; ".join(f"p={r['p_cot']:g} seed {r['seed_index']}: accuracy {r['accuracy']:.3f} "
                       f"[{r['low']:.3f}, {r['high']:.3f}], margin {r['mean_margin']:+.3f} nats, chain learned "
                       f"{r['chain_learned']:.2f}, NTP greedy {r['ntp_greedy']:.2f}" for r in pairs)
    short = select(rows, "trained", "short_vs_short", "outcome")
    measured = {"short correct vs short wrong, mean accuracy": float(np.mean([r["accuracy"] for r in short]))
                if short else float("nan"), "GPTs": len(pairs)}
    return Outcome([criterion], measured=measured,
                   detail=f"{detail}. Not informative: p_cot in the band {BAND[0]:.3f}-{BAND[1]:.3f}, a chain not "
                          "learned, or a GPT that computes the short map (it should then prefer the chain at every "
                          "p_cot).", tables={"accuracy": rows})


@claim(
    id="endogenous.gpt_long_beats_short_wrong_iff_p_above_third", kind="derived", quantifier="for-all",
    source=f"{ENDOGENOUS_PAPER}, outcome reward Σ r̂ = α log π̂ + V(s_1), at the NTP fixed point of "
           "docs/research/parity_cot_rl.md §6.2",
    statement="The outcome endogenous reward of an NTP-trained parity GPT that has not learned the short map ranks "
              "the long correct chain above the short wrong answer (same prompt) iff p_cot > 1/3.",
    check="Every GPT of the threshold sweep: accuracy of the outcome endogenous reward on (long chain, short wrong "
          f"answer) pairs over 256 held-out prompts within {ACCURACY_TOLERANCE} of 1{{p > 1/3}}, with its Wilson "
          "interval (learned/reward_model_accuracy.py).", requires=("fig2_threshold",))
def gpt_threshold(ctx: Context) -> Outcome:
    tables = ctx.tables
    runs = tables.runs()
    sweep_dir = tables.results_root / "fig2_threshold" / tables.profile
    return judge_gpt_threshold(gpt_rows(runs, sweep_dir))
