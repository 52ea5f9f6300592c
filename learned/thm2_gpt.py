"""Theorem 2 at finite data with a tiny GPT as the behaviour-cloning learner (the GPT arm of thm2_finite_data.py).

Paper object: Theorem 2 of "Generalist Reward Models" (arXiv 2506.23235, §3.2), as in learned/thm2_finite_data.py;
π̂ is now a TinyGPT (toy/gpt.py) trained by NTP (eq. (2)) on the same kind of n expert demonstrations, and the count
table is refitted to the very same demonstrations (a paired comparison).

The learner.  Tokens are the MDP's actions, the position is the step: input BOS + a_0 … a_{H−2}, the output at
position h is π̂(·|a_<h) (BOS and the input alphabet of learned/tree_gpt.py: tokens 0..V−1 with V ≤ 3,
BOS = 3; the logits of tokens ≥ V are dropped).  Minibatch AdamW with a linearly decaying learning rate, fixed
budget, one torch thread (`MinibatchTraining`).  The GPT conditions on the prefix, not on the automaton state q:
its policy need not be (h, q)-measurable, and Theorem 2's sup is over every reachable prefix.

What is measured, per (instance, H, n):

* ``readout``: the GPT read on one representative prefix per reachable (h, q), the expert's most likely prefix into
  q (Viterbi under π^E, `representative_prefixes`), as an (h, q) table; every quantity of
  thm2_finite_data.FiniteDataRun is exact for that table (same code as the count table).  Each representative is
  a real prefix, so the read-out's ε_π is a lower bound on the GPT's own sup over prefixes: a vacuous Theorem 2
  bound at the read-out's ε_π is vacuous for the GPT.
* the GPT itself, prefix by prefix: its BC gap V^{r*}(π^E) − V^{r*}(π̂) by Monte Carlo (responses sampled from the
  GPT with the KV cache, 95% t-interval over them); its on-distribution error KL_traj/H = (1/H) E_{τ∼π^E}
  Σ_h KL(π^E(·|s_h) ‖ π̂(·|a_<h)), the expected excess NTP log-loss per token, by Monte Carlo over fresh expert
  responses (95% percentile bootstrap: each response's KL is ≥ 0 and a few rare prefixes can carry most of it, so
  a t-interval can reach below 0); the largest |log π^E − log π̂| on those expert prefixes; and how far the GPT is from
  (h, q)-measurable there: max |log π̂(·|prefix) − log π̂_readout(·|h, q(prefix))| and the mean per-step TV between
  the two.
* where the prefix tree is small (V^{H−1} ≤ `TREE_LIMIT`): the GPT's exact BC gap, RL gap (π^RL = the sequence
  mode of the GPT, the unregularised optimum of its endogenous reward on the tree) and ε_π over every prefix.

Cost cap: training is O(steps × batch × H) (attention adds H²) and the read-out one pass over Σ_h #reachable(h, q)
prefixes.  One 300-step training costs ≈ 1.5 s of one core at H = 32 and ≈ 20 s at H = 256, so the full grid to
H = 256 (3 families × 5 instances × 3 n × 6 H) would take most of an hour, against the minutes the ledger has; the
GPT arm stops at H = 32 (quick) and 64 (full).  Departure: a fixed optimisation budget for every n and H (no tuning
per run); on random automata and walks the GPT's per-token KL grows with H at fixed n, so part of the growth of its
gap in H is per-step error (optimisation and capacity), not compounding.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from core.intervals import bootstrap_interval, t_interval
from core.runio import torch_threads
from learned.thm2_finite_data import (
    FAMILIES,
    Demonstrations,
    FiniteDataRun,
    automaton_count_policy,
    demonstrate,
    draw_instance,
    inverse_cdf,
    measure_learner,
    reachable_states,
    sample_responses,
)
from learned.tree_gpt import BOS, GPTTraining, tree_logits, with_bos
from theory.error_bounds import ImitationInstance
from theory.soft_rl import automaton_step_rewards, expand_to_tree, expected_return, softmax_policy
from toy.gpt import TinyGPT

TREE_LIMIT = 2**12  # prefixes of length H − 1 below which the GPT is evaluated on its whole prefix tree
READOUT_CHUNK = 4096  # representative prefixes per forward pass
KL_RESAMPLES = 1000  # percentile bootstrap of the mean KL: per-response KLs are ≥ 0 and skewed (t can go below 0)


@dataclass(frozen=True)
class MinibatchTraining(GPTTraining):
    """GPTTraining (learned/tree_gpt.py) with minibatches: a full batch of n × H tokens is too slow."""

    batch_size: int = 32  # responses per step, drawn uniformly with replacement (all of them when n is smaller)


TRAINING = MinibatchTraining(steps=300, learning_rate=3e-3)


def train_bc_gpt(tokens: np.ndarray, vocab: int, config: MinibatchTraining = TRAINING) -> TinyGPT:
    """Minimise the per-token NTP loss −mean_{i,h} log π_θ(a_h^i | a_<h^i) of responses ``tokens`` (n, H)."""
    if vocab > BOS:
        raise ValueError(f"vocab {vocab} collides with BOS = {BOS}")
    with torch.random.fork_rng():
        torch.manual_seed(config.init_seed)
        model = TinyGPT(BOS + 1, tokens.shape[1], config.layers, config.width, config.heads, config.mlp_ratio)
    inputs, targets = with_bos(tokens[:, :-1]), torch.from_numpy(tokens).long()
    batches = torch.Generator().manual_seed(config.init_seed)
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: 1 - step / config.steps)
    with torch_threads(1):
        for _ in range(config.steps):
            rows = (torch.randint(len(tokens), (config.batch_size,), generator=batches)
                    if len(tokens) > config.batch_size else slice(None))
            log_probs = torch.log_softmax(model(inputs[rows])[..., :vocab], dim=-1)
            loss = -log_probs.gather(2, targets[rows][..., None]).mean()
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
    return model


def prefix_log_probs(model: TinyGPT, tokens: np.ndarray, vocab: int) -> np.ndarray:
    """(n, H, V) float64 log π̂(·|a_<h) at every step of the responses ``tokens`` (n, H), from one pass."""
    with torch.no_grad(), torch_threads(1):
        logits = model(with_bos(tokens[:, :-1]))[..., :vocab].double()
        return torch.log_softmax(logits, dim=-1).numpy()


def representative_prefixes(demos: Demonstrations) -> list[np.ndarray]:
    """Level h: (Q, h) tokens, row q the expert's most likely prefix of length h into automaton state q (Viterbi;
    ties to the lowest (state, token)); rows of states no prefix reaches are zeros."""
    transition, log_expert = demos.dynamics.transition, demos.log_expert()
    n_states, vocab = transition.shape
    targets = transition.ravel()
    best = np.where(demos.dynamics.initial() > 0, 0.0, -np.inf)
    prefixes = [np.zeros((n_states, 0), dtype=np.int64)]
    for h in range(demos.horizon - 1):
        scores = (best[:, None] + log_expert[h]).ravel()
        order = np.lexsort((-scores, targets))  # by target state, the best predecessor first
        first = order[np.r_[True, np.diff(targets[order]) != 0]]
        best = np.full(n_states, -np.inf)
        best[targets[first]] = scores[first]
        level = np.zeros((n_states, h + 1), dtype=np.int64)
        level[targets[first]] = np.column_stack([prefixes[-1][first // vocab], first % vocab])
        prefixes.append(level)
    return prefixes


def readout_policy(model: TinyGPT, demos: Demonstrations) -> list[np.ndarray]:
    """The GPT as an (h, q) table: π̂(·|representative prefix of (h, q)) on reachable rows, uniform elsewhere."""
    horizon, vocab = demos.horizon, demos.dynamics.vocab
    reachable = reachable_states(demos.dynamics, horizon)
    cells = [(h, q) for h, mask in enumerate(reachable) for q in np.flatnonzero(mask)]
    prefixes = representative_prefixes(demos)
    inputs = np.zeros((len(cells), horizon), dtype=np.int64)  # the tokens after position h do not reach it
    for row, (h, q) in enumerate(cells):
        inputs[row, :h] = prefixes[h][q]
    steps = np.array([h for h, _ in cells])
    levels = [np.full((len(mask), vocab), 1.0 / vocab) for mask in reachable]
    for start in range(0, len(cells), READOUT_CHUNK):
        chunk = slice(start, start + READOUT_CHUNK)
        probs = np.exp(prefix_log_probs(model, inputs[chunk], vocab))[np.arange(len(steps[chunk])), steps[chunk]]
        for (h, q), p in zip(cells[chunk], probs, strict=True):
            levels[h][q] = p
    return levels


def sample_gpt(model: TinyGPT, vocab: int, horizon: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, H) responses of the GPT, token by token through its KV cache, by inverse-CDF sampling from ``rng``."""
    tokens = np.empty((n, horizon), dtype=np.int64)
    with torch.no_grad(), torch_threads(1):
        logits, cache = model.start(torch.full((n, 1), BOS))
        for h in range(horizon):
            tokens[:, h] = inverse_cdf(rng, torch.softmax(logits[:, :vocab].double(), dim=-1).numpy())
            if h + 1 < horizon:
                logits, cache = model.extend(torch.from_numpy(tokens[:, h]), cache)
    return tokens


def tree_instance(model: TinyGPT, demos: Demonstrations) -> ImitationInstance:
    """Theorem 2's objects on the whole prefix tree: r*, π^E expanded from the automaton, f̂ = α × the GPT's logits
    at every prefix (learned/tree_gpt.tree_logits), π̂ = softmax(f̂/α)."""
    vocab, alpha = demos.dynamics.vocab, demos.alpha
    with torch.no_grad(), torch_threads(1):
        logits = [alpha * level.double().numpy() for level in tree_logits(model, vocab, demos.horizon)]
    return ImitationInstance(expand_to_tree(demos.reward, demos.dynamics), expand_to_tree(demos.expert, demos.dynamics),
                             logits, softmax_policy(logits, alpha), alpha)


@dataclass(frozen=True)
class GPTRun:
    """One (instance, H, n, GPT seed): the count table and the GPT's (h, q) read-out on the same demonstrations, and
    the GPT measured prefix by prefix (gap: 95% t-interval over its responses; KL: 95% percentile bootstrap over the
    expert's; NaN where not computed)."""

    table: FiniteDataRun
    readout: FiniteDataRun
    model_seed: int
    bc_gap: float  # V^{r*}(π^E) − V^{r*}(GPT), Monte Carlo over GPT responses
    bc_gap_low: float
    bc_gap_high: float
    kl_per_token: float  # (1/H) E_{τ∼π^E} Σ_h KL(π^E(·|s_h) ‖ GPT(·|a_<h)), Monte Carlo over expert responses
    kl_per_token_low: float
    kl_per_token_high: float
    eps_pi_expert_prefixes: float  # max |log π^E − log GPT| over the expert's sampled prefixes
    readout_log_defect: float  # max |log GPT(·|prefix) − log readout(·|h, q)| over the expert's sampled prefixes
    readout_tv: float  # (1/H) E_{τ∼π^E} Σ_h TV(GPT(·|a_<h), readout(·|h, q_h)): 0 iff (h, q)-measurable there
    tree_bc_gap: float  # exact on the prefix tree (V^{H−1} ≤ TREE_LIMIT), else NaN
    tree_rl_gap: float  # V^{r*}(π^E) − V^{r*}(sequence mode of the GPT), exact on the tree, else NaN
    tree_eps_pi: float  # sup over every prefix, exact on the tree, else NaN

    family = property(lambda self: self.readout.family)
    instance = property(lambda self: self.readout.instance)
    horizon = property(lambda self: self.readout.horizon)
    n_demos = property(lambda self: self.readout.n_demos)
    alpha = property(lambda self: self.readout.alpha)


def measure_gpt(demos: Demonstrations, model: TinyGPT, model_seed: int, rng: np.random.Generator,
                samples: int, table: FiniteDataRun) -> GPTRun:
    """`GPTRun` of a trained ``model``: ``samples`` GPT responses and ``samples`` fresh expert responses from
    ``rng``."""
    horizon, vocab = demos.horizon, demos.dynamics.vocab
    readout_levels = readout_policy(model, demos)
    expert_value = expected_return(demos.expert, demos.reward, demos.dynamics)
    returns = automaton_step_rewards(demos.reward, sample_gpt(model, vocab, horizon, samples, rng),
                                     demos.dynamics).sum(axis=1)
    bc_gap, bc_low, bc_high = t_interval(expert_value - returns)

    states, tokens = sample_responses(rng, demos.expert, demos.dynamics, samples)
    log_gpt = prefix_log_probs(model, tokens, vocab)
    steps = np.arange(horizon)
    log_expert = np.stack(demos.log_expert())[steps, states]  # (n, H, V)
    readout = np.stack(readout_levels)[steps, states]
    kl_terms = (np.exp(log_expert) * (log_expert - log_gpt)).sum(axis=(1, 2)) / horizon
    kl_low, kl_high = bootstrap_interval(kl_terms, np.mean, rng, resamples=KL_RESAMPLES)
    tree = tree_instance(model, demos) if vocab ** (horizon - 1) <= TREE_LIMIT else None
    return GPTRun(
        table, measure_learner(demos, readout_levels), model_seed, bc_gap, bc_low, bc_high, float(kl_terms.mean()),
        min(kl_low, float(kl_terms.mean())), max(kl_high, float(kl_terms.mean())),
        eps_pi_expert_prefixes=float(np.abs(log_expert - log_gpt).max()),
        readout_log_defect=float(np.abs(log_gpt - np.log(readout)).max()),
        readout_tv=float(np.abs(np.exp(log_gpt) - readout).sum(axis=2).mean() / 2),
        tree_bc_gap=tree.bc_gap() if tree else np.nan, tree_rl_gap=tree.rl_gap() if tree else np.nan,
        tree_eps_pi=tree.eps_pi if tree else np.nan)


@dataclass(frozen=True)
class GPTGrid:
    """The measured grid of the GPT arm at one profile."""

    families: tuple  # instance families of thm2_finite_data.FAMILIES
    horizons: tuple[int, ...]  # H (capped by the training cost, see the module docstring)
    demo_counts: tuple[int, ...]  # n
    instances: int  # instance draws per family, each with its own demonstrations and GPT seed at every (H, n)
    samples: int  # Monte Carlo responses of the GPT and of the expert per run


GPT_GRIDS = {"quick": GPTGrid(FAMILIES[2:], (8, 16, 32), (100, 1000), 3, 2000),
             "full": GPTGrid(FAMILIES, (8, 16, 32, 64), (10, 100, 1000), 5, 8000)}


def measure_gpt_grid(grid: GPTGrid, instance_rng: np.random.Generator, demo_rng: np.random.Generator,
                     seed_rng: np.random.Generator, training: MinibatchTraining = TRAINING) -> list[GPTRun]:
    """Every family × instance × H × n of ``grid``: demonstrations and Monte Carlo draws from ``demo_rng``, a fresh
    GPT initialisation (and minibatch order) from ``seed_rng`` per run, the count table on the same demonstrations."""
    runs = []
    for family in grid.families:
        for index in range(grid.instances):
            params = draw_instance(family, instance_rng)
            for horizon in grid.horizons:
                for n_demos in grid.demo_counts:
                    demos = demonstrate(family, params, index, horizon, n_demos, demo_rng)
                    table = measure_learner(demos, automaton_count_policy(demos.counts()))
                    model_seed = int(seed_rng.integers(2**31))
                    model = train_bc_gpt(demos.tokens, demos.dynamics.vocab,
                                         dataclasses.replace(training, init_seed=model_seed))
                    runs.append(measure_gpt(demos, model, model_seed, demo_rng, grid.samples, table))
    return runs
