"""Ledger checks of what the long demonstrations do for next-token prediction *alone* below p_cot = 1/3, on the
scaling sweep of NTP alone (conf/experiment/sweep_scaling_ntp.yaml, which runs p_cot = 0 next to p_cot = 0.25).

Below the threshold NTP's optimum is the data mixture: its greedy decoder answers short, and "the only other exit
is to learn the short map (d-bit parity) directly" (docs/research/parity_cot_rl.md §6.2).  Read literally, the long
demonstrations are then data NTP alone cannot use, and the paper has no p_cot = 0 control (§8, critique 1) to say
otherwise.  The check compares the two at equal d with one censored model (core/censored_fit.py,
`fit_censored_shift`): log cost = a + b·d + c·[p_cot = 0] + σ·ε over the runs of both at the sizes both have,
censored runs as lower bounds.  e^c is how many times more samples NTP alone needs without chains.  Runs that solved
with long greedy answers did not learn the short map and are left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.censored_fit import fit_censored_shift
from core.ledger import Context, Outcome, claim
from sweeps.scaling import cost_table
from sweeps.scaling_checks import decidable, records

SHIFT_INTERVAL = "95% profile likelihood of the common-slope censored (Tobit) fit over both p_cot's runs"
NO_HELP_SLACK = float(np.log(2))  # prediction: c = log(3/4) (a quarter of the samples are long); a factor 2 of slack
SHORT_ONLY = 0.0  # the control: no long demonstrations at all


def shift_table(costs: pd.DataFrame) -> pd.DataFrame:
    """One row per p_cot > 0 of NTP alone: the shift c of p_cot = 0 against it over the d both have (NaN and an
    ``error`` when it cannot be fitted), with the runs it used."""
    alone = costs[(costs["regime"] == "ntp_alone") & ~(~costs["censored"] & costs["solved_long"])]
    control = alone[alone["task.p_cot"] == SHORT_ONLY]
    rows = []
    for p_cot, group in alone[alone["task.p_cot"] > SHORT_ONLY].groupby("task.p_cot"):
        if control.empty:  # the quick sweep runs p_cot = 0.25 only
            rows.append({"task.p_cot": p_cot, "runs": len(group), "error": "no p_cot = 0 runs to compare with"})
            continue
        sizes = sorted(set(group["task.d"]) & set(control["task.d"]))
        both = pd.concat([group, control])
        both = both[both["task.d"].isin(sizes)]
        row = {"task.p_cot": p_cot, "d": ",".join(map(str, sizes)), "runs": len(both),
               "censored": int(both["censored"].sum()), "shift": np.nan, "low": np.nan, "high": np.nan}
        try:
            fit = fit_censored_shift(both["task.d"], both["cost"], both["censored"],
                                     both["task.p_cot"] == SHORT_ONLY, "exponential")
            row |= {"shift": fit.shift, "low": fit.shift_low, "high": fit.shift_high, "rate": fit.slope}
        except ValueError as error:  # no p_cot = 0 runs (the quick sweep), too few solved runs
            row["error"] = str(error)
        rows.append(row)
    return pd.DataFrame(rows, columns=["task.p_cot", "d", "runs", "censored", "shift", "low", "high", "rate",
                                       "error"])


def judge_shift(costs: pd.DataFrame, tolerance: float, direction: str) -> Outcome:
    shifts = shift_table(costs)
    labels = [f"p_cot={p:g} against p_cot=0" for p in shifts["task.p_cot"]]
    criterion = decidable("shift c = log cost(p_cot = 0) − log cost(p_cot) at equal d", shifts["shift"],
                          shifts["low"], shifts["high"], tolerance, direction, SHIFT_INTERVAL, labels)
    parts = []
    for label, (_, row) in zip(labels, shifts.iterrows(), strict=True):
        if isinstance(row["error"], str):
            parts.append(f"{label}: no fit ({row['error']}; the paper-size sweep runs p_cot = 0: "
                         "python -m sweeps.pipeline -m experiment=sweep_scaling_ntp hydra/launcher=local)")
        else:
            parts.append(f"{label} over d = {row['d']} ({row['runs']} runs, {row['censored']} censored): c = "
                         f"{row['shift']:.3g} [{row['low']:.3g}, {row['high']:.3g}], i.e. without chains NTP alone "
                         f"needs {np.exp(row['shift']):.3g}× [{np.exp(row['low']):.3g}, {np.exp(row['high']):.3g}] "
                         f"the samples (common rate {row['rate']:.3g}/bit)")
    return Outcome(criteria=[criterion], detail="; ".join(parts) or "no NTP-alone runs with p_cot > 0",
                   tables={"shifts": records(shifts)})


@claim(
    id="parity.scaling.ntp_alone_ignores_chains", kind="derived", quantifier="for-all",
    source="docs/research/parity_cot_rl.md §6.2 (below p_cot = 1/3 NTP's optimum is the mixture and 'the only other "
           "exit is to learn the short map directly') and §8 critique 1 (no p_cot = 0 control)",
    statement="Below p_cot = 1/3 the long demonstrations do not help NTP alone: it must learn the short map, so at "
              "p_cot = 0.25 it needs no fewer samples than with short answers only (it sees 3/4 as many per sample).",
    check="sweep_scaling_ntp (GPT, no RL; runs solved with long greedy answers left out): the common-slope censored "
          "fit of log cost on d over p_cot = 0 and p_cot at the d both have; the shift c = log cost(0) − "
          "log cost(p_cot) (predicted log 3/4) has its profile interval below log 2 (a factor 2 of slack).",
    requires=("scaling_ntp",))
def ntp_alone_ignores_chains(ctx: Context) -> Outcome:
    return judge_shift(cost_table(ctx.tables.runs()), NO_HELP_SLACK, "<=")


@claim(
    id="parity.scaling.chains_cheapen_ntp_alone", kind="derived", quantifier="for-all",
    source="the nearest statement to parity.scaling.ntp_alone_ignores_chains",
    statement="Below p_cot = 1/3 the long demonstrations make NTP alone learn the short map with fewer samples than "
              "short answers alone, at equal d.",
    check="sweep_scaling_ntp: the same shift c = log cost(0) − log cost(p_cot) has its profile interval above 0.",
    requires=("scaling_ntp",))
def chains_cheapen_ntp_alone(ctx: Context) -> Outcome:
    return judge_shift(cost_table(ctx.tables.runs()), 0.0, ">=")
