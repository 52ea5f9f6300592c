"""The STaR variants of toy/star.py: restart from the base model, growing steps, near-greedy sampling.

On the hand-built linear chain model of tests/test_star_linear.py (d = 8): r_1 = x_1, continue at t = 2 with
probability q, each XOR step wrong with probability ε, ``<eos>`` after the chain.  Spies on the fine-tuning loss
and on the sampler record the weights each round starts from; a global optimiser hook counts AdamW's steps (and
reads its step counter, which a fresh optimiser starts at 1).

**Near-greedy long fraction, exactly.**  In the chain model the ``<eos>`` probability at position t does not depend
on the prompt or the previous token (the bits' logits are ±m in either order, ``<eos>`` has a bias only), so
with e_t(T) = softmax(logits_t / T)[<eos>] a response is long (two bits, then ``<eos>`` within the budget) with
probability

    P_long(T) = (1 − e_1)(1 − e_2)(1 − Π_{t ≥ 3} (1 − e_t)),

computed here from the model's logits at every (x, previous token), independently of the sampler.  For q < 1/2
the continue odds at T are ≈ (q/(1 − q))^(1/T): P_long = 2.9e-4 at q = 0.4, T = 0.05 (the NTP optimum at
p_cot = 1/4 has q = 2p/(1 + p) = 0.4, docs/research/parity_cot_rl.md §6.2).  The sampled count of long responses
is Binomial(N, P_long); the test fails only if it falls in either exact binomial tail of mass 1e-6.
"""

import math

import pytest
import torch
from scipy.stats import binom
from torch.optim.optimizer import register_optimizer_step_post_hook

import toy.star
from tests.test_star_linear import LAYOUT, chain_model, sample_responses
from toy.config import RLConfig
from toy.evaluate import with_separator
from toy.linear_ar import LinearAR
from toy.parity import EOS, ONE, RESPONSE_TOKENS, ZERO, read_responses
from toy.sampling import generate
from toy.star import iterate, round_steps

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny solves (tests/conftest.py)

STEP_ERROR = 1e-3  # a sharp chain: long responses are right (a = 0.9965)
TAIL = 1e-6  # two-sided exact binomial tail of the Monte Carlo comparisons
EOS_INDEX = RESPONSE_TOKENS.index(EOS)


def star_config(**overrides) -> RLConfig:
    sizes = {"algo": "star", "iterations": 3, "star_samples": 512, "star_steps": 4, "star_batch_size": 64,
             "star_lr": 0.02}
    return RLConfig(**(sizes | overrides))


class Spy:
    """Weights at every sampling and every fine-tuning step of toy.star, and AdamW's step counter per step."""

    def __init__(self, monkeypatch, model: LinearAR):
        self.model, self.sampled_with, self.trained_from, self.optimizer_steps = model, [], [], []
        generate, ntp_loss = toy.star.generate, toy.star.ntp_loss

        def spy_generate(model, *args, **kwargs):
            self.sampled_with.append(self.weights())
            return generate(model, *args, **kwargs)

        def spy_loss(model, *args, **kwargs):
            self.trained_from.append(self.weights())
            return ntp_loss(model, *args, **kwargs)

        monkeypatch.setattr(toy.star, "generate", spy_generate)
        monkeypatch.setattr(toy.star, "ntp_loss", spy_loss)

    def weights(self) -> torch.Tensor:
        return self.model.weight.detach().clone()

    def record_step(self, optimizer, args, kwargs) -> None:
        self.optimizer_steps.append(int(optimizer.state[self.model.weight]["step"]))

    def run(self, cfg: RLConfig, seed: int = 0) -> list[list[int]]:
        """Run every round; per round the AdamW step counters of its optimiser steps."""
        handle = register_optimizer_step_post_hook(self.record_step)
        per_round = []
        try:
            for _ in iterate(self.model, LAYOUT, cfg, torch.Generator().manual_seed(seed)):
                per_round.append(self.optimizer_steps[sum(map(len, per_round)):])
        finally:
            handle.remove()
        return per_round


@pytest.mark.parametrize("restart", [True, False])
def test_restart_fine_tunes_the_base_weights_with_a_fresh_adamw_each_round(monkeypatch, restart):
    """Restart: every round's first fine-tuning step starts from the base weights with AdamW's counter at 1, while
    sampling uses the previous round's fine-tuned model.  Without restart (the control) rounds 2, 3 start from where
    the previous round stopped and the counter runs on."""
    model = chain_model(STEP_ERROR, 0.2).train()
    base = model.weight.detach().clone()
    spy = Spy(monkeypatch, model)
    cfg = star_config(star_restart=restart)
    per_round = spy.run(cfg)
    steps = cfg.star_steps
    first_steps = spy.trained_from[::steps]
    assert len(spy.trained_from) == 3 * steps and len(spy.sampled_with) == 3
    assert torch.equal(spy.sampled_with[0], base) and torch.equal(first_steps[0], base)
    for n in (1, 2):  # rounds 2 and 3 sample with the model the previous round fine-tuned, not the base
        assert not torch.equal(spy.sampled_with[n], base)
        assert torch.equal(first_steps[n], base) == restart
        assert torch.equal(first_steps[n], spy.sampled_with[n]) == (not restart)
    expected = [list(range(1, steps + 1))] * 3 if restart else [list(range(n * steps + 1, (n + 1) * steps + 1))
                                                                 for n in range(3)]
    assert per_round == expected


@pytest.mark.parametrize("restart", [True, False])
def test_steps_per_round_follow_the_growth_law(monkeypatch, restart):
    """star_steps = 5, growth 1.2: 5, 6, 7.2 → 7, 8.64 → 9 optimiser steps (hand-computed), as logged."""
    cfg = star_config(iterations=4, star_steps=5, star_steps_growth=1.2, star_restart=restart)
    assert [len(steps) for steps in Spy(monkeypatch, chain_model(STEP_ERROR, 0.2).train()).run(cfg)] == [5, 6, 7, 9]
    model = chain_model(STEP_ERROR, 0.2).train()
    assert [r["star/steps"] for r in iterate(model, LAYOUT, cfg, torch.Generator().manual_seed(0))] == [5, 6, 7, 9]
    assert [round_steps(star_config(star_steps=40, star_steps_growth=1.2), n) for n in (1, 2, 3, 4)] == [40, 48, 58, 69]
    assert [round_steps(star_config(), n) for n in (1, 5)] == [4, 4]  # growth 1: fixed steps


def test_restart_with_growth_is_deterministic_for_a_seed():
    """Same seed: identical records and weights; another seed (the control): different ones."""
    cfg = star_config(star_restart=True, star_steps_growth=1.5)
    runs = {}
    for name, seed in (("a", 5), ("b", 5), ("other", 6)):
        model = chain_model(STEP_ERROR, 0.2).train()
        runs[name] = (list(iterate(model, LAYOUT, cfg, torch.Generator().manual_seed(seed))), model.weight.detach())
    assert runs["a"][0] == runs["b"][0] and torch.equal(runs["a"][1], runs["b"][1])
    assert runs["a"][0] != runs["other"][0] and not torch.equal(runs["a"][1], runs["other"][1])


def exact_long_fraction(model: LinearAR, temperature: float) -> float:
    """P_long(T) of the module docstring from the logits at every prompt and previous token."""
    x = torch.cartesian_prod(*[torch.tensor([0, 1])] * LAYOUT.d)
    survive = []
    with torch.no_grad():
        for t in range(1, LAYOUT.max_response_len + 1):
            eos = torch.cat([torch.softmax(model.position_logits(x, torch.full((len(x),), prev), t) / temperature,
                                           dim=-1)[:, EOS_INDEX] for prev in (ZERO, ONE)])
            assert eos.max() - eos.min() < 1e-6, "the <eos> probability must not depend on the prefix"
            survive.append(1 - eos.mean().item())
    return survive[0] * survive[1] * (1 - math.prod(survive[2:]))


@pytest.mark.parametrize(("continue_probability", "temperature", "low", "high"), [
    (0.4, 0.05, 0.0, 1e-3),  # below 1/2: near-greedy sampling (almost) never goes long
    (0.4, 1.0, 0.399, 0.401),  # control: at T = 1 the same model goes long at rate q
    (0.6, 0.05, 0.999, 1.0),  # control: above 1/2 near-greedy sampling always goes long
])
def test_near_greedy_long_fraction_is_the_exact_one(continue_probability, temperature, low, high):
    model = chain_model(STEP_ERROR, continue_probability)
    expected = exact_long_fraction(model, temperature)
    assert low <= expected <= high
    count = 20_000
    generator = torch.Generator().manual_seed(7)
    x = torch.randint(0, 2, (count, LAYOUT.d), generator=generator)
    responses = generate(model, with_separator(x), LAYOUT.max_response_len, temperature, generator)
    long = int(read_responses(responses, x, LAYOUT).is_long.sum())
    assert binom.cdf(long, count, expected) > TAIL and binom.sf(long - 1, count, expected) > TAIL, (long, expected)


def test_near_greedy_star_cannot_start_below_a_third():
    """Published STaR (restart, growing steps) at T = 0.05 from q = 0.4 keeps only short answers, so the refit model
    goes long less often than the start (measured at T = 1: 0.03 after two rounds, seed 3); at T = 1 (the control)
    the kept set's long fraction 2q/(1 + q) = 0.571 is refit and the long fraction grows (0.75 after two rounds)."""
    after = {}
    for temperature in (0.05, 1.0):
        model = chain_model(STEP_ERROR, 0.4).train()
        cfg = star_config(iterations=2, temperature=temperature, star_samples=4000, star_steps=40,
                          star_batch_size=512, star_restart=True, star_steps_growth=1.2)
        start_rate = exact_long_fraction(model, temperature)
        records = list(iterate(model, LAYOUT, cfg, torch.Generator().manual_seed(3)))
        if temperature < 1:  # no round samples more long responses than the start's exact rate allows
            for record in records:
                long = round(record["rollout/long_fraction"] * cfg.star_samples)
                assert binom.sf(long - 1, cfg.star_samples, start_rate) > TAIL, (long, start_rate)
        _, x, responses = sample_responses(model.eval(), 20_000, seed=4)
        after[temperature] = read_responses(responses, x, LAYOUT).is_long.float().mean().item()
    standard_error = math.sqrt(0.4 * 0.6 / 20_000)
    assert after[0.05] < 0.4 - 5 * standard_error
    assert after[1.0] > 0.4 + 5 * standard_error


def test_a_round_that_keeps_nothing_stalls_without_fine_tuning():
    """A model that ends every response at once (empty, malformed) keeps nothing: the round records it and leaves the
    weights as they were, and the run goes on."""
    model = LinearAR(LAYOUT.d, LAYOUT.max_response_len)
    with torch.no_grad():
        model.weight[0, EOS_INDEX, 0] = 30.0
    before = {name: value.clone() for name, value in model.state_dict().items()}
    cfg = star_config(star_samples=64, temperature=0.05, iterations=2)
    records = list(iterate(model, LAYOUT, cfg, torch.Generator().manual_seed(0)))
    assert [(r["star/kept"], r["star/steps"], r["star/kept_long_fraction"], r["loss"]) for r in records] == [
        (0, 0, None, None)] * 2
    assert records[0]["rollout/malformed"] == 1.0
    assert all(torch.equal(value, before[name]) for name, value in model.state_dict().items())


def test_the_refit_check_samples_the_kept_prompts_before_and_after_the_refit(monkeypatch):
    """rl.star_refit_check: before and after each refit exactly the kept set's prompts are sampled once more (by the
    sampling model, then by the refit model), and the two own-prompt long fractions are theirs; off, no extra
    sampling and the metrics are None.  At a learning rate that leaves the chain model as it was (its long
    probability does not depend on the prompt), both and the round's sampled fraction estimate P(long) = 0.3: each
    difference stays inside 5 standard errors of a difference of two binomial fractions."""
    calls = []
    generate = toy.star.generate

    def spy_generate(model, prompts, *args, **kwargs):
        responses = generate(model, prompts, *args, **kwargs)
        calls.append((prompts.clone(), responses))
        return responses

    monkeypatch.setattr(toy.star, "generate", spy_generate)
    cfg = star_config(star_samples=4000, star_lr=1e-9, iterations=2, star_refit_check=True)
    records = list(iterate(chain_model(STEP_ERROR, 0.3), LAYOUT, cfg, torch.Generator().manual_seed(0)))
    assert len(calls) == 6  # per round: the round's sample, the kept prompts before and after the refit
    for record, (first, first_responses), before, after in zip(records, calls[::3], calls[1::3], calls[2::3],
                                                               strict=True):
        kept = read_responses(first_responses, first[:, :LAYOUT.d], LAYOUT).correct
        s, n, k = record["star/sampled_long_fraction"], cfg.star_samples, record["star/kept"]
        for metric, (again, again_responses) in (("star/pre_refit_own_long_fraction", before),
                                                 ("star/refit_own_long_fraction", after)):
            assert torch.equal(again, first[kept]) and k == len(again)
            own = read_responses(again_responses, again[:, :LAYOUT.d], LAYOUT).is_long.float().mean().item()
            assert record[metric] == own and abs(own - s) <= 5 * math.sqrt(0.3 * 0.7 * (1 / n + 1 / k))
    calls.clear()
    off = list(iterate(chain_model(STEP_ERROR, 0.3), LAYOUT, star_config(iterations=2), torch.Generator()))
    assert len(calls) == 2 and all(r["star/refit_own_long_fraction"] is None for r in off)
    assert all(r["star/pre_refit_own_long_fraction"] is None for r in off)


def test_the_refit_check_leaves_the_runs_own_samples_unchanged():
    """The check samples from a generator of its own: a run's prompts, samples and fine-tuning are those of the same
    run without it (same seed)."""
    runs = [list(iterate(chain_model(STEP_ERROR, 0.3), LAYOUT, star_config(star_refit_check=check),
                         torch.Generator().manual_seed(3))) for check in (False, True)]
    for metric in ("star/sampled_long_fraction", "star/kept_long_fraction", "loss"):
        assert [r[metric] for r in runs[0]] == [r[metric] for r in runs[1]], metric


def test_with_prompt_dependent_long_probability_the_kept_prompts_are_already_selected():
    """q(x) = P(long | x) = 0.6 when x_2 = 0 and 0.05 when x_2 = 1, and no refit (learning rate 1e-9): the kept prompts
    are weighted by P(correct | x) = a·q(x) + (1 − q(x))/2 (a: a long response is right), so before any fitting the
    own-prompt long fraction is E[q·w]/E[w] = 0.381 (closed form below), above the sampled s = 0.325 though nothing
    was fitted: the selection the refit check's pre-refit fraction measures.  5 binomial standard errors."""
    q0, q1 = 0.6, 0.05
    model = chain_model(STEP_ERROR, 0.5)
    margin = 0.5 * math.log((1 - STEP_ERROR) / STEP_ERROR)

    def eos_logit(q: float) -> float:  # P(<eos> at t = 2) = 1 − q against the two bits' mass e^m + e^−m
        return math.log((1 - q) / q * 2 * math.cosh(margin))

    with torch.no_grad():  # bits are ±1: x_2 = 1 reads +1 (feature 3 = x_2)
        model.weight[1, EOS_INDEX, 0] = (eos_logit(q0) + eos_logit(q1)) / 2
        model.weight[1, EOS_INDEX, 3] = (eos_logit(q1) - eos_logit(q0)) / 2
    cfg = star_config(star_samples=8000, star_lr=1e-9, iterations=1, star_refit_check=True)
    [record] = iterate(model, LAYOUT, cfg, torch.Generator().manual_seed(1))
    a = (1 + (1 - 2 * STEP_ERROR) ** (LAYOUT.d - 1)) / 2  # an even number of the d − 1 XOR steps err
    weights = [a * q + (1 - q) / 2 for q in (q0, q1)]
    expected = (q0 * weights[0] + q1 * weights[1]) / sum(weights)
    assert expected == pytest.approx(0.381, abs=1e-3)
    b, k = record["star/pre_refit_own_long_fraction"], record["star/kept"]
    assert abs(b - expected) <= 5 * math.sqrt(expected * (1 - expected) / k)
    s = record["star/sampled_long_fraction"]
    assert abs(s - (q0 + q1) / 2) <= 5 * math.sqrt(0.325 * 0.675 / cfg.star_samples)
