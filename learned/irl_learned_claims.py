"""Theorem 1 of "Generalist Reward Models" (arXiv 2506.23235) at a tiny GPT trained by next-token prediction.

Paper object: Theorem 1 (§3.1).  For two responses τ, τ' to one prompt,
    TV(P_{r*}(·|τ,τ'), P_{r̂}(·|τ,τ')) = |σ(r*(τ) − r*(τ')) − σ(r̂(τ) − r̂(τ'))| ≤ (αH/2)·ε_π,
where r̂ is the endogenous reward of eq. (11), r̂(s,a) = f̂(s,a) − α log Σ_a' exp(f̂(s·a,a')/α), computed from the
logits f̂ of an NTP-trained model π̂ = softmax(f̂/α) (eq. (10)), and ε_π = max_{h,s,a} |log π^E(a|s) − log π̂(a|s)|.

Instance: that of ``bounds.thm1_at_trained_ntp_model`` (theory/irl_claims.py): prefix tree with V = 3, H = 4,
α = 1, r* ~ U[0,1], π^E its soft-optimal (MaxEnt) expert, n responses sampled from π^E.  The seed (205) and the
draw order are that claim's (tests/test_irl_learned.py checks the sampler); in the ``full`` profile the number of
instances per n (20) is too, so for n ≤ 1e4 the GPT sees exactly the demonstrations of that claim's tabular model.
``quick`` trains one GPT per n (CPU budget).  The learner is toy.gpt.TinyGPT instead of a count table; the count
table is refitted to the same demonstrations for a paired comparison.

Departures and protocol:
* The empty prompt is a start token BOS = V: the GPT has V + 1 input tokens and V + 1 outputs; the BOS output is
  dropped, π̂(·|s) = softmax of the V token logits, and f̂ := α × those logits, so that π̂ = softmax(f̂/α).
* f̂ on the whole tree: one forward pass over BOS + every prefix of length H − 1 (`tree_logits`); by the causal
  mask, position h of that pass is the model's output after BOS + the first h tokens.
* Training: full-batch AdamW on the NTP objective (2) of the n demonstrations (duplicate responses enter with their
  multiplicity), so every step is one pass over all n samples; a fixed budget of `TRAINING.steps` steps with a
  linearly decaying learning rate, no early stopping (small n leave no data for a validation split).  Budget from a
  pilot on 3 instances per n: at n = 1e4, 400 steps at lr 3e-3 match the count table (ε_π 0.21 vs 0.22, accuracy
  0.948 vs 0.948), 300 steps come within 0.01 in accuracy, 100-200 steps at lr 1e-2 are under-trained (accuracy
  0.88-0.93).  Same initialisation seed for every run; one torch thread, so reruns are bitwise identical.
* Preference accuracy is the tabular claim's (`error_bounds.preference_accuracy`): all pairs of the V**H responses
  untied under r*, correct when Σr̂ orders them like Σr* (= like the expert log-likelihood, Σr* = α log π^E + V*(s_1)).
  `measured` adds the same accuracy restricted to held-out pairs (neither response among the demonstrations).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from core.ledger import Context, Criterion, Outcome, claim
from theory import error_bounds, soft_rl
from theory.bounds_thm1_claims import _thm1_trained as tabular_thm1_check  # private: the tabular claim's check function
from theory.irl_claims import PAPER
from toy.gpt import TinyGPT

VOCAB, HORIZON, ALPHA = 3, 4, 1.0  # the instance of bounds.thm1_at_trained_ntp_model
BOS = VOCAB
DEMO_COUNTS = (10, 100, 1_000, 10_000)
INSTANCES_PER_N = {"quick": 1, "full": 20}  # full: as in bounds.thm1_at_trained_ntp_model
SEED = 205  # bounds.thm1_at_trained_ntp_model's seed: same demonstrations
ACCURACY_MARGIN = 0.02  # see the claim's detail
MIN_HELDOUT_RESPONSES = 10  # held-out accuracy only with >= 45 unseen pairs (n <= 100 here)


@dataclass(frozen=True)
class GPTTraining:
    """Architecture and fixed optimisation budget of the NTP-trained TinyGPT."""

    layers: int = 1
    width: int = 32
    heads: int = 4
    mlp_ratio: int = 4
    steps: int = 400
    learning_rate: float = 3e-3
    weight_decay: float = 0.01
    init_seed: int = 0


TRAINING = GPTTraining()


def sample_demonstrations(rng: np.random.Generator, n_demos: int, vocab: int = VOCAB, horizon: int = HORIZON,
                          alpha: float = ALPHA):
    """(r*, π^E, tokens): r* ~ U[0,1] on the tree, π^E = soft_optimal(r*), ``n_demos`` responses drawn from π^E.

    Consumes ``rng`` exactly like `error_bounds.sampled_ntp_instance`, which keeps only the fitted table.
    """
    reward = soft_rl.random_levels(rng, vocab, horizon)
    expert = soft_rl.soft_optimal(reward, alpha)[2]
    leaves = rng.choice(vocab**horizon, size=n_demos, p=soft_rl.state_distributions(expert)[-1])
    return reward, expert, soft_rl.all_trajectories(vocab, horizon)[leaves]


@contextmanager
def one_torch_thread():
    """Run torch on one intra-op thread (bitwise-reproducible reductions, shared CPU), then restore the setting."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def with_bos(tokens: np.ndarray) -> torch.Tensor:
    """Model input for responses ``tokens`` (B, L): BOS followed by the tokens, as a (B, L + 1) long tensor."""
    tokens = np.asarray(tokens)
    return torch.from_numpy(np.concatenate([np.full((len(tokens), 1), BOS), tokens], axis=1)).long()


def tree_logits(model: TinyGPT, vocab: int = VOCAB, horizon: int = HORIZON) -> list[torch.Tensor]:
    """Token logits (BOS output dropped) at every prefix, in the tree layout of theory.soft_rl.

    One pass over BOS + all V**(H−1) prefixes of length H − 1: the output at position h of sequence j is the model
    after BOS + the first h tokens of j, so level h row i (base-V index of an h-token prefix) is sequence i·V**(H−1−h).
    """
    outputs = model(with_bos(soft_rl.all_trajectories(vocab, horizon - 1)))[..., :vocab]
    return [outputs[np.arange(vocab**h) * vocab ** (horizon - 1 - h), h] for h in range(horizon)]


def build_model(config: GPTTraining = TRAINING) -> TinyGPT:
    """A fresh TinyGPT over V + 1 tokens (BOS included), context H, initialised from ``config.init_seed``."""
    with torch.random.fork_rng():
        torch.manual_seed(config.init_seed)
        return TinyGPT(VOCAB + 1, HORIZON, config.layers, config.width, config.heads, config.mlp_ratio)


def train_ntp_gpt(tokens: np.ndarray, config: GPTTraining = TRAINING) -> TinyGPT:
    """Minimise the NTP loss −(1/n) Σ_i Σ_h log π_θ(a_h^i | s_h^i) (eq. (2)) of responses ``tokens`` (n, H).

    Full batch over the distinct responses weighted by their multiplicity (one step = one epoch), AdamW with the
    learning rate decaying linearly to 0 over ``config.steps`` steps, on one torch thread.
    """
    responses, multiplicity = np.unique(tokens, axis=0, return_counts=True)
    inputs, targets = with_bos(responses[:, :-1]), torch.from_numpy(responses).long()
    weights = torch.from_numpy(multiplicity / len(tokens)).float()
    model = build_model(config)
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: 1 - step / config.steps)
    with one_torch_thread():
        for _ in range(config.steps):
            log_probs = torch.log_softmax(model(inputs)[..., :VOCAB], dim=-1)
            loss = -(weights * log_probs.gather(2, targets[..., None])[..., 0].sum(1)).sum()
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
    return model


def gpt_instance(reward, expert, model: TinyGPT, alpha: float = ALPHA) -> error_bounds.ImitationInstance:
    """Theorem 1's objects for the trained GPT: f̂ = α × its prefix logits (float64), π̂ = softmax(f̂/α)."""
    with torch.no_grad(), one_torch_thread():
        logits = [alpha * level.double().numpy() for level in tree_logits(model)]
    return error_bounds.ImitationInstance(reward, expert, logits, soft_rl.softmax_policy(logits, alpha), alpha)


def heldout_accuracy(inst: error_bounds.ImitationInstance, tokens: np.ndarray) -> float:
    """`preference_accuracy` over pairs of responses both absent from the demonstrations (NaN if too few)."""
    paths = soft_rl.all_trajectories(VOCAB, HORIZON)
    unseen = np.setdiff1d(np.arange(len(paths)), tokens @ VOCAB ** np.arange(HORIZON - 1, -1, -1))
    if len(unseen) < MIN_HELDOUT_RESPONSES:
        return float("nan")
    hat = soft_rl.outcome_reward(soft_rl.endogenous_reward(inst.logits, inst.alpha), paths[unseen])
    return 1.0 - soft_rl.ranking_disagreement(soft_rl.outcome_reward(inst.reward, paths[unseen]), hat)


def theorem1_row(inst: error_bounds.ImitationInstance, tokens: np.ndarray) -> dict:
    """ε_π, the bound αHε_π/2, the max-pair preference TV, their ratio, and the pair accuracies of one model."""
    bound = error_bounds.preference_tv_bound(HORIZON, inst.eps_pi, inst.alpha)
    tv = error_bounds.tree_preference_tv(inst, VOCAB, HORIZON)
    return {"eps_pi": inst.eps_pi, "bound": bound, "tv": tv, "tv/bound": tv / bound,
            "accuracy": error_bounds.preference_accuracy(inst, VOCAB, HORIZON),
            "held-out accuracy": heldout_accuracy(inst, tokens)}


def tabular_instance(reward, expert, tokens: np.ndarray, alpha: float = ALPHA) -> error_bounds.ImitationInstance:
    """The tabular claim's learner on the same demonstrations: add-0.5 smoothed count ratios, f̂ = α log π̂."""
    learner = soft_rl.ntp_count_policy(tokens, VOCAB, smoothing=0.5)
    return error_bounds.ImitationInstance(reward, expert, [alpha * lp for lp in soft_rl.log_policy(learner)],
                                          learner, alpha)


@lru_cache(maxsize=2)
def learned_grid(profile: str) -> dict[str, dict[int, list[dict]]]:
    """`theorem1_row` of the trained GPT and of the count table on the same demonstrations, per n and instance."""
    rng = np.random.default_rng(SEED)
    rows = {"gpt": {}, "tabular": {}}
    for n_demos in DEMO_COUNTS:
        rows["gpt"][n_demos], rows["tabular"][n_demos] = [], []
        for _ in range(INSTANCES_PER_N[profile]):
            reward, expert, tokens = sample_demonstrations(rng, n_demos)
            gpt = gpt_instance(reward, expert, train_ntp_gpt(tokens))
            rows["gpt"][n_demos].append(theorem1_row(gpt, tokens))
            rows["tabular"][n_demos].append(theorem1_row(tabular_instance(reward, expert, tokens), tokens))
    return rows


def column(instance_rows: list[dict], key: str, reduce=np.mean) -> float:
    """``reduce`` of one column over the instances where it is defined (NaN if nowhere)."""
    values = [row[key] for row in instance_rows if np.isfinite(row[key])]
    return float(reduce(values)) if values else float("nan")


def summarise(instance_rows: list[dict]) -> str:
    """"ε_π / bound / TV / accuracy" means of one model at one n, for the claim's detail."""
    return " / ".join(f"{column(instance_rows, key):.3g}" for key in ("eps_pi", "bound", "tv", "accuracy"))


@claim(
    kind="seed", quantifier="for-all",
    id="bounds.thm1_at_trained_gpt", source=f"{PAPER}, Theorem 1 applied to an NTP-trained TinyGPT (§4 Q1 "
       "premise; the learned version of bounds.thm1_at_trained_ntp_model)",
       statement="For a tiny GPT trained by next-token prediction on n demonstrations of a MaxEnt expert, Theorem 1 "
                 "holds at the measured ε_π, and the endogenous reward of its logits orders response pairs like the "
                 "true reward about as well as the exact (tabular) NTP optimum fitted to the same demonstrations.",
       check="Instance of bounds.thm1_at_trained_ntp_model (V=3, H=4, α=1, r* ~ U[0,1], seed 205), n ∈ {1e1, …, "
             "1e4}; TinyGPT (1 layer, width 32) trained by 400 full-batch AdamW steps on eq. (2); f̂ = α × logits "
             "at all 40 prefixes: max over n and instances of max-pair TV / (αHε_π/2); mean pair accuracy at n=1e4 "
             "minus the add-0.5 count table's on the same demonstrations.")
def thm1_at_trained_gpt(ctx: Context) -> Outcome:
    profile = ctx.profile
    rows = learned_grid(profile)
    worst_ratio = max(column(inst_rows, "tv/bound", max) for inst_rows in rows["gpt"].values())
    largest = DEMO_COUNTS[-1]
    accuracy_gap = column(rows["gpt"][largest], "accuracy") - column(rows["tabular"][largest], "accuracy")
    measured = {f"n={n} {model}: {key}": column(inst_rows, key, max if key == "tv/bound" else np.mean)
                for model, grid in rows.items() for n, inst_rows in grid.items() for key in inst_rows[0]}
    measured = {name: value for name, value in measured.items() if np.isfinite(value)}  # held-out: only small n
    tabular_claim = tabular_thm1_check(profile).measured
    table = [{"learner": learner, "n_demos": n, "instance": index, "accuracy": row["accuracy"],
              "heldout_accuracy": row["held-out accuracy"], "eps_pi": row["eps_pi"], "tv": row["tv"],
              "bound": row["bound"]}
             for learner, grid in rows.items() for n, inst_rows in grid.items() for index, row in enumerate(inst_rows)]
    return Outcome(
        [Criterion("max TV / (αHε_π/2)", worst_ratio, 1.0),
         Criterion(f"accuracy(GPT) − accuracy(table) at n={largest}", accuracy_gap, -ACCURACY_MARGIN, ">=")],
        measured=measured,
        detail=f"Mean ε_π / bound αHε_π/2 / max-pair TV / pair accuracy (instances per n: "
               f"{INSTANCES_PER_N[profile]}), GPT vs count table on the same demonstrations: " + "; ".join(
                   f"n={n}: GPT {summarise(rows['gpt'][n])}, table {summarise(rows['tabular'][n])}"
                   for n in DEMO_COUNTS)
               + ". Held-out pairs (both responses unseen), GPT vs table: " + "; ".join(
                   f"n={n}: {column(rows['gpt'][n], 'held-out accuracy'):.3f} vs "
                   f"{column(rows['tabular'][n], 'held-out accuracy'):.3f}" for n in DEMO_COUNTS
                   if np.isfinite(column(rows['gpt'][n], 'held-out accuracy')))
               + ". bounds.thm1_at_trained_ntp_model's own run (mean ε_π / accuracy): " + "; ".join(
                   f"n={n}: {tabular_claim[f'n={n}: eps_pi']:.3g} / {tabular_claim[f'n={n}: accuracy']:.3f}"
                   for n in DEMO_COUNTS)
               + ". ε_π(GPT)/ε_π(table) at n = 10, 100: " + ", ".join(
                   f"{column(rows['gpt'][n], 'eps_pi') / column(rows['tabular'][n], 'eps_pi'):.1f}×" for n in (10, 100))
               + " (unsmoothed NTP drives log π̂ of never-taken tokens toward −∞ and the GPT extends this to unvisited "
                 "prefixes; the table's add-0.5 prior caps it): the GPT's bound is vacuous there while its pair "
                 f"accuracy stays near the table's. Accuracy margin "
                 f"{ACCURACY_MARGIN}: a fifth of the table's gain from n=1e3 to 1e4 (≈0.85 → 0.95), "
                 "i.e. the GPT may lag the exact NTP optimum by ≈0.2 decade of data (≈1.6×).",
        tables={"by_n": table})
