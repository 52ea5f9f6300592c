"""avg.learned.*: planted controls through the judges, the instance family, the bands, determinism.

Controls plant policy tables in place of the learned models (``measure_chain``), so each claim's judge sees a
statement true by construction (→ holds) or violated (→ fails), without training anything.
"""

from dataclasses import replace

import numpy as np
import pytest

from core.ledger import REGISTRY, Context, judge
from learned.average_reward_learned_claims import (
    KL_BAND_FACTOR,
    NEAR_DETERMINISTIC_EPSILON,
    PROFILES,
    Chain,
    chain_family,
    judge_ntp_model_approaches_human,
    judge_ntp_model_maximises,
    judge_rl_converges_to_human,
    judge_rl_entropy_stays,
    judge_rl_moves_away,
    measure_chain,
    train_family,
)
from theory.average_reward import average_reward, gradients, optimal_average_reward
from theory.chains import next_state_table, on_policy_distribution, random_softmax_policy, softmax_rows

MAXIMISES, CONVERGES, APPROACHES, MOVES_AWAY, ENTROPY = (
    "avg.learned.ntp_model_maximises_average_reward", "avg.learned.rl_average_reward_converges_to_human",
    "avg.learned.ntp_model_approaches_human", "avg.learned.rl_log_p_h_moves_away_from_human",
    "avg.learned.rl_entropy_regularised_stays_at_human")
CONTROLLED_CLAIMS = {MAXIMISES, CONVERGES, APPROACHES, MOVES_AWAY, ENTROPY}
QUICK = PROFILES["quick"]
QUICK_PAIRS = QUICK.model.ntp_steps * QUICK.model.ntp_sequences * QUICK.model.ntp_length  # sets KL_TOL


def rho_maximiser(p_human: np.ndarray, floor: float = 1e-12) -> np.ndarray:
    """A near-deterministic maximiser of ρ under r = log p_h: greedy in damped relative value iteration
    h ← ½h + ½ max_a [r(s, a) + h(next(s, a))] (the damping makes the deterministic chain aperiodic)."""
    reward, next_state = np.log(p_human), next_state_table(p_human.shape[1], round(np.log(len(p_human)) /
                                                                                np.log(p_human.shape[1])))
    values = np.zeros(len(p_human))
    for _ in range(2000):
        q = reward + values[next_state]
        values = 0.5 * values + 0.5 * q.max(axis=1)
        values -= values[0]
    policy = np.full(p_human.shape, floor)
    policy[np.arange(len(p_human)), q.argmax(axis=1)] = 1 - floor * (p_human.shape[1] - 1)
    return policy


def mixed(p_human: np.ndarray, weight: float) -> np.ndarray:
    """(1 − w) p_h + w · uniform: a model near p_h for small w."""
    return (1 - weight) * p_human + weight / p_human.shape[1]


RANDOM = [Chain(f"random {i}", random_softmax_policy(np.random.default_rng(7 + i), 3, 2, tau))
          for i, tau in enumerate((1.0, 0.5))]
UNIFORM = Chain("uniform", np.full((9, 3), 1 / 3))
PEAKED = chain_family(Context())[3]


def planted(chains, **models):
    """Measure ``chains`` with planted tables: ``models[name](p_h, seed_index)`` for every model name (default p_h)."""
    def tables(p_human, index):
        return {name: models.get(name, lambda p, i: p)(p_human, index) for name in ("initial", "ntp", "rl",
                                                                                    "rl_entropy")}
    return [measure_chain(chain, [tables(chain.p_human, i) for i in range(QUICK.model_seeds)], QUICK_PAIRS)
            for chain in chains]


def verdict(claim_id, outcome):
    return judge(REGISTRY[claim_id], outcome).verdict


def near_human(p, i):
    return mixed(p, 1e-3 * (i + 1))  # seed-to-seed spread, KL ~ 1e-7: well inside the band


def maximiser(p, i):
    return rho_maximiser(p)


def uniform(p, i):
    return np.full(p.shape, 1 / p.shape[1])


def test_rho_maximiser_attains_the_exact_optimum():
    for chain in (*RANDOM, PEAKED):
        rho_star = optimal_average_reward(np.log(chain.p_human))
        assert abs(average_reward(rho_maximiser(chain.p_human), np.log(chain.p_human)) - rho_star) < 1e-8


def test_ntp_model_maximises_controls():
    family = [*RANDOM, PEAKED, UNIFORM]
    assert verdict(MAXIMISES, judge_ntp_model_maximises(planted(family, ntp=maximiser, rl=maximiser))) == "holds"
    # the exact NTP optimum p_h, RL moving to the maximiser: the finding, and the uniform chain cannot flip it
    assert verdict(MAXIMISES, judge_ntp_model_maximises(planted(family, ntp=near_human, rl=maximiser))) == "fails"


def test_rl_converges_to_human_controls():
    family = [*RANDOM, PEAKED, UNIFORM]
    assert verdict(CONVERGES, judge_rl_converges_to_human(planted(family, rl=near_human))) == "holds"
    assert verdict(CONVERGES, judge_rl_converges_to_human(planted(family, rl=maximiser))) == "fails"


def test_ntp_model_approaches_human_controls():
    family = [*RANDOM, PEAKED, UNIFORM]
    assert verdict(APPROACHES, judge_ntp_model_approaches_human(planted(family, ntp=near_human))) == "holds"
    assert verdict(APPROACHES, judge_ntp_model_approaches_human(planted(family, ntp=uniform))) == "fails"
    # one far-off chain among good ones is enough (for-all), the degenerate uniform chain included
    assert verdict(APPROACHES, judge_ntp_model_approaches_human(
        planted([RANDOM[0]], ntp=near_human) + planted([UNIFORM], ntp=maximiser))) == "fails"


def test_rl_moves_away_controls():
    family = [*RANDOM, PEAKED, UNIFORM]
    assert verdict(MOVES_AWAY, judge_rl_moves_away(planted(family, rl=maximiser))) == "holds"
    assert verdict(MOVES_AWAY, judge_rl_moves_away(planted(family, rl=near_human))) == "fails"
    # p_h uniform maximises ρ: RL has nowhere to go, the statement's hypothesis excludes it
    assert verdict(MOVES_AWAY, judge_rl_moves_away(planted([UNIFORM], rl=near_human))) == "inconclusive"


def test_rl_entropy_stays_controls():
    family = [*RANDOM, PEAKED, UNIFORM]
    assert verdict(ENTROPY, judge_rl_entropy_stays(planted(family, rl_entropy=near_human))) == "holds"
    assert verdict(ENTROPY, judge_rl_entropy_stays(planted(family, rl_entropy=maximiser))) == "fails"
    # the near-deterministic chain is outside the statement's domain: a departure there alone does not count
    peaked_only_far = planted([RANDOM[0]], rl_entropy=near_human) + planted([PEAKED], rl_entropy=maximiser)
    assert verdict(ENTROPY, judge_rl_entropy_stays(peaked_only_far)) == "holds"


def test_seed_to_seed_spread_straddling_the_band_is_inconclusive():
    """Two planted seeds at p_h and one far off: the t-interval over seeds straddles KL_TOL."""
    def one_far(p, i):
        return uniform(p, i) if i == 0 else p
    assert verdict(APPROACHES, judge_ntp_model_approaches_human(planted(RANDOM, ntp=one_far))) == "inconclusive"


def test_uniform_chain_is_degenerate():
    (measured,) = planted([UNIFORM], rl=maximiser)
    assert not measured.rho_varies and measured.gap_in_bands == 0.0
    assert judge_ntp_model_maximises([measured]).criteria[0].informative == (False,)


def test_rho_band_is_the_largest_first_order_rho_shift_on_the_kl_ball():
    """δz_s = λ g_s / (μ_D(s) p_s) is the steepest direction; λ scaled to KL = KL_TOL (second order)."""
    p_human = RANDOM[0].p_human
    (measured,) = planted([RANDOM[0]])
    mu = on_policy_distribution(p_human)
    direction = gradients(np.log(p_human), p_human)["average_reward"] / (mu[:, None] * p_human)
    fisher = np.einsum("s,sa,sa->", mu, p_human, direction**2) - mu @ (p_human * direction).sum(axis=1) ** 2
    step = np.sqrt(2 * measured.kl_tol / fisher)
    shifted = softmax_rows(np.log(p_human) + step * direction)
    rho_shift = average_reward(shifted, np.log(p_human)) - measured.rho_human
    assert measured.kl_tol == pytest.approx(KL_BAND_FACTOR * 18 / (2 * QUICK_PAIRS))
    assert rho_shift == pytest.approx(measured.rho_band, rel=0.1)


def test_chain_family_is_drawn_from_the_context():
    first = chain_family(Context())
    np.testing.assert_array_equal(first[0].p_human, random_softmax_policy(np.random.default_rng(7), 3, 2, 1.0))
    again, other = chain_family(Context()), chain_family(Context(seed=1))
    assert all(np.array_equal(a.p_human, b.p_human) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[0].p_human, other[0].p_human)
    assert [c.near_deterministic for c in first] == [False, False, False, True, False]
    assert np.allclose(first[3].p_human.max(axis=1), 1 - NEAR_DETERMINISTIC_EPSILON)
    assert np.allclose(first[4].p_human, 1 / 3)
    full = chain_family(Context(profile="full"))
    assert len({c.label for c in full}) == len(full) == 2 * len(QUICK.temperatures) + 2
    np.testing.assert_array_equal(full[0].p_human, first[0].p_human)


def test_same_context_gives_identical_numbers():
    tiny = replace(QUICK.model, ntp_steps=10, rl_steps=4, rl_walkers=8)
    first, second = (train_family(RANDOM[:1], tiny, [0, 1]) for _ in range(2))
    assert first[0].runs == second[0].runs
    assert first[0].runs[0] != first[0].runs[1]
