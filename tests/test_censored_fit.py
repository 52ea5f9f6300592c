"""Tests of core/censored_fit.py: planted laws are recovered inside their intervals (with Monte Carlo coverage),
censored runs act as lower bounds, degenerate data are refused with the cause, and crossovers are located."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from core.censored_fit import Fit, compare_laws, crossover, fit_censored, fit_censored_shift, log_likelihood_terms
from core.intervals import slope_interval

SIGMA = 0.3  # planted scatter of log cost
# One planted data set per law for the single-instance tests.  A 95% interval misses 1 time in 20, and seed 0 is
# such a miss for the power law (interval [1.678, 1.990] against 2); the coverage tests below judge the miss rate.
SEED = 2
EXPONENTIAL = {"law": "exponential", "sizes": np.arange(4, 13), "intercept": np.log(100), "slope": 0.7,
               "log_budget": 12.0}
POWER = {"law": "power", "sizes": np.array([8, 11, 16, 23, 32, 45, 64]), "intercept": np.log(10), "slope": 2.0,
         "log_budget": np.log(10) + 2 * np.log(50)}


def planted(plan: dict, rng: np.random.Generator, replicates: int = 3, log_budget: float | None = None):
    """(sizes, costs, censored): log cost = intercept + slope·z + SIGMA·ε per run, runs above the budget censored
    at the budget (the budget is what they report, as a real sweep would)."""
    sizes = np.repeat(plan["sizes"], replicates).astype(float)
    z = sizes if plan["law"] == "exponential" else np.log(sizes)
    log_true = plan["intercept"] + plan["slope"] * z + SIGMA * rng.standard_normal(sizes.size)
    log_budget = plan["log_budget"] if log_budget is None else log_budget
    return sizes, np.exp(np.minimum(log_true, log_budget)), log_true > log_budget


def coverage(plan: dict, replicates: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(replicates):
        fit = fit_censored(*planted(plan, rng), law=plan["law"])
        hits += fit.slope_low <= plan["slope"] <= fit.slope_high
    return hits / replicates


def binomial_acceptance(replicates: int, p: float = 0.95, tail: float = 0.005) -> tuple[float, float]:
    """The central 1 − 2·tail range of coverage fractions of Binomial(replicates, p)."""
    return (stats.binom.ppf(tail, replicates, p) / replicates, stats.binom.ppf(1 - tail, replicates, p) / replicates)


@pytest.mark.parametrize("plan", [EXPONENTIAL, POWER], ids=["exponential", "power"])
def test_planted_slope_is_inside_a_tight_interval(plan):
    sizes, costs, censored = planted(plan, np.random.default_rng(SEED))
    assert censored[-3:].any() and not censored[:3].any()  # the largest sizes are (partly) censored
    law = plan["law"]
    fit = fit_censored(sizes, costs, censored, law)
    assert (fit.law, fit.n, fit.n_censored) == (law, sizes.size, censored.sum())
    assert fit.slope_low < plan["slope"] < fit.slope_high
    # Not wide by construction: within 4× the half-width an uncensored least-squares fit would have.
    z = sizes if law == "exponential" else np.log(sizes)
    uncensored_half_width = 1.96 * SIGMA / np.sqrt(((z - z.mean()) ** 2).sum())
    assert fit.slope_high - fit.slope_low < 8 * uncensored_half_width
    assert abs(fit.sigma - SIGMA) < 0.15


@pytest.mark.parametrize("plan", [EXPONENTIAL, POWER], ids=["exponential", "power"])
def test_interval_coverage_quick(plan):
    """60 replicates: coverage must be in the 99.8% range of Binomial(60, 0.95)/60, i.e. ≥ 0.85 (loose: a quick
    guard against intervals that ignore censoring or use the wrong quantile)."""
    low, _ = binomial_acceptance(60, tail=0.001)
    assert coverage(plan, 60, seed=1) >= low


@pytest.mark.slow
@pytest.mark.parametrize("plan", [EXPONENTIAL, POWER], ids=["exponential", "power"])
def test_interval_coverage(plan):
    """200 replicates (5-15 s per law on a shared 2-core machine): coverage in the 99% range of
    Binomial(200, 0.95)/200, [0.905, 0.985].
    The χ² calibration is asymptotic (about 0.94 at these sizes without censoring), well inside that range."""
    low, high = binomial_acceptance(200)
    assert low <= coverage(plan, 200, seed=2) <= high


@pytest.mark.parametrize("plan", [EXPONENTIAL, POWER], ids=["exponential", "power"])
def test_compare_laws_picks_the_planted_law(plan):
    comparison = compare_laws(*planted(plan, np.random.default_rng(SEED)))
    right = plan["law"]
    wrong = "power" if right == "exponential" else "exponential"
    assert comparison["better"] == right
    assert comparison[wrong].log_likelihood < comparison[right].log_likelihood - 1
    ratio = comparison["exponential"].log_likelihood - comparison["power"].log_likelihood
    assert comparison["log_likelihood_ratio"] == pytest.approx(ratio)


def test_naive_least_squares_on_budgets_misses_the_rate_the_censored_fit_finds():
    """Budget e^10: every size above 7 is censored.  Treating budgets as costs flattens the curve."""
    sizes, costs, censored = planted(EXPONENTIAL, np.random.default_rng(3), log_budget=10.0)
    assert censored.sum() >= 12
    _, naive_low, naive_high = slope_interval(sizes, np.log(costs))
    assert not naive_low <= EXPONENTIAL["slope"] <= naive_high
    fit = fit_censored(sizes, costs, censored, "exponential")
    assert fit.slope_low <= EXPONENTIAL["slope"] <= fit.slope_high


def test_a_censored_run_penalises_only_slopes_that_predict_it_below_its_budget():
    """One run at size 10 never solved within 1000 samples; intercept 0, σ = 0.5: the predicted log cost
    10·b is above log 1000 exactly when b > log(1000)/10."""
    slopes = np.linspace(0.3, 1.1, 81)
    terms = np.array([log_likelihood_terms([10], [1000], [True], "exponential", 0.0, b, 0.5)[0] for b in slopes])
    above = 10 * slopes > np.log(1000)
    assert np.all(np.diff(terms) > 0)  # more cost predicted → more likely never solved
    assert np.all(terms[above] > np.log(0.5)) and np.all(terms[~above] < np.log(0.5))
    assert terms[-1] > -1e-6 and terms[0] < -10  # far above: no penalty; far below: a large one
    # The same run read as an observed cost of 1000 would also penalise slopes above log(1000)/10.
    observed = np.array([log_likelihood_terms([10], [1000], [False], "exponential", 0.0, b, 0.5)[0] for b in slopes])
    assert observed[-1] < observed[np.argmin(np.abs(10 * slopes - np.log(1000)))] - 10


def test_a_censored_run_is_a_lower_bound_in_the_fit():
    sizes, costs, censored = planted(EXPONENTIAL, np.random.default_rng(4), log_budget=np.inf)
    base = fit_censored(sizes, costs, censored, "exponential")
    predicted_at_14 = float(base.predict_log_cost(14)[0])

    def with_run(log_cost: float, is_censored: bool) -> Fit:
        return fit_censored(np.append(sizes, 14), np.append(costs, np.exp(log_cost)), np.append(censored, is_censored),
                            "exponential")

    slack = with_run(predicted_at_14 - 3, True)  # budget far below the curve: a bound the curve already meets
    assert slack.slope == pytest.approx(base.slope, abs=1e-4)
    assert with_run(predicted_at_14 - 3, False).slope < base.slope - 0.02  # the same number read as a cost
    assert with_run(predicted_at_14 + 2, True).slope > base.slope + 0.02  # a binding bound pulls the rate up


def test_only_the_smallest_size_solved_bounds_the_rate_from_below_only():
    sizes = np.array([4, 4, 4, 6, 6, 8, 8, 10.0])
    costs = np.array([100, 120, 90, 1e4, 1e4, 1e4, 1e4, 1e4])
    censored = np.array([False] * 3 + [True] * 5)
    fit = fit_censored(sizes, costs, censored, "exponential")
    assert fit.slope_high == np.inf and fit.slope == np.inf and np.isnan(fit.intercept)
    # Lower end: the budget e^9.2 at size 6 must be above a line through log(100) ≈ 4.6 at size 4.
    assert 0 < fit.slope_low < (np.log(1e4) - np.log(100)) / 2
    with pytest.raises(ValueError, match="no finite slope"):
        fit.predict_log_cost(5)
    assert compare_laws(sizes, costs, censored)["better"] is None  # both likelihoods rise to the same supremum
    # A second solved size bounds it above again.
    costs[3], censored[3] = 600, False
    assert np.isfinite(fit_censored(sizes, costs, censored, "exponential").slope_high)


def test_exact_line_gives_a_finite_narrow_interval():
    sizes = np.arange(4, 13.0)
    fit = fit_censored(sizes, np.exp(1 + 0.5 * sizes), np.zeros(sizes.size, bool), "exponential")
    assert fit.slope == pytest.approx(0.5, abs=1e-6) and fit.intercept == pytest.approx(1, abs=1e-5)
    assert fit.sigma == pytest.approx(1e-3 * 0.5 * 8)  # the floor: 1e-3 of the log-cost range
    assert fit.slope_low < 0.5 < fit.slope_high and fit.slope_high - fit.slope_low < 0.01


def test_lower_level_gives_a_narrower_interval():
    data = planted(EXPONENTIAL, np.random.default_rng(SEED))
    wide, narrow = fit_censored(*data, "exponential", level=0.95), fit_censored(*data, "exponential", level=0.5)
    assert wide.slope_low < narrow.slope_low < narrow.slope_high < wide.slope_high


GOOD = ([4, 6, 8, 10], [10.0, 30.0, 90.0, 270.0], [False, False, False, True])


@pytest.mark.parametrize("change, cause", [
    ({"costs": [10.0, 0.0, 90.0, 270.0]}, "cost must be finite and > 0"),
    ({"costs": [10.0, np.nan, 90.0, 270.0]}, "cost must be finite and > 0"),
    ({"sizes": [4, -6, 8, 10]}, "size must be finite and > 0"),
    ({"sizes": [4, 6, 8]}, "1-D of one length"),
    ({"sizes": [5, 5, 5, 5]}, "at least 2 distinct sizes"),
    ({"censored": [True] * 4}, "all 4 runs are censored"),
    ({"censored": [False, True, True, True]}, "only 1 solved run"),
    ({"censored": [0, 2, 0, 1]}, "censored must be booleans"),
    ({"law": "linear"}, "law must be one of"),
    ({"level": 1.0}, "level must be in"),
])
def test_bad_input_names_the_cause(change, cause):
    arguments = {"sizes": GOOD[0], "costs": GOOD[1], "censored": GOOD[2], "law": "exponential", "level": 0.95}
    fit_censored(**arguments)  # the unchanged data fit
    with pytest.raises(ValueError, match=cause):
        fit_censored(**{**arguments, **change})


def hand_made(law: str, intercept: float, slope: float) -> Fit:
    return Fit(law=law, slope=slope, slope_low=slope - 0.1, slope_high=slope + 0.1, intercept=intercept, sigma=0.3,
               log_likelihood=0.0, n=10, n_censored=0, level=0.95)


def test_crossover_of_two_hand_made_fits():
    """log cost = d against 3 + 2 log d: equal between d = 6 (6 < 6.58) and d = 7 (7 > 6.89)."""
    exponential, power = hand_made("exponential", 0.0, 1.0), hand_made("power", 3.0, 2.0)
    assert power.predict_log_cost([1, np.e]) == pytest.approx([3.0, 5.0])
    grid = np.arange(20, 0, -1)  # any order
    assert crossover(exponential, power, grid) == 7.0
    assert crossover(power, exponential, grid) == 1.0
    assert crossover(exponential, power, np.arange(1, 7)) is None
    with pytest.raises(ValueError, match="grid size"):
        crossover(exponential, power, [0, 1, 2])


SHIFT = 1.5  # planted log cost ratio of the shifted group (e^1.5 ≈ 4.5 times costlier at equal size)


def planted_groups(rng: np.random.Generator, log_budget: float = 12.0, shift: float = SHIFT):
    """Two groups over EXPONENTIAL's sizes, 3 runs each per size; the shifted group costs e^shift times more and
    hits the budget (censored) at the larger sizes."""
    sizes, costs, censored = planted({**EXPONENTIAL, "log_budget": np.inf}, rng, replicates=6)
    group = np.tile(np.repeat([0.0, 1.0], 3), sizes.size // 6)
    log_true = np.log(costs) + shift * group
    return sizes, np.exp(np.minimum(log_true, log_budget)), log_true > log_budget, group.astype(bool)


def test_a_planted_shift_is_inside_its_interval_and_censoring_is_a_lower_bound():
    sizes, costs, censored, group = planted_groups(np.random.default_rng(SEED))
    assert censored[group].sum() >= censored[~group].sum() + 6  # the shifted group runs into the budget earlier
    fit = fit_censored_shift(sizes, costs, censored, group, "exponential")
    assert fit.shift_low < SHIFT < fit.shift_high and fit.shift_high - fit.shift_low < 0.6
    assert fit.slope == pytest.approx(EXPONENTIAL["slope"], abs=0.1) and fit.n_shifted == 27
    # the budgets read as costs (least squares on them) put the shifted group's larger sizes too low
    naive = np.linalg.lstsq(np.column_stack([np.ones_like(sizes), sizes, group]), np.log(costs), rcond=None)[0][2]
    assert naive < fit.shift and naive < fit.shift_low
    swapped = fit_censored_shift(sizes, costs, censored, ~group, "exponential")  # the other group as reference
    assert swapped.shift == pytest.approx(-fit.shift, abs=1e-4)
    assert swapped.shift_low == pytest.approx(-fit.shift_high, abs=1e-3)


def test_shift_interval_coverage_quick():
    """60 replicates: coverage of the planted shift ≥ the 99.8% lower end of Binomial(60, 0.95)/60 (0.85)."""
    rng, low = np.random.default_rng(5), binomial_acceptance(60, tail=0.001)[0]
    hits = 0
    for _ in range(60):
        sizes, costs, censored, group = planted_groups(rng)
        fit = fit_censored_shift(sizes, costs, censored, group, "exponential")
        hits += fit.shift_low <= SHIFT <= fit.shift_high
    assert hits / 60 >= low


def test_a_group_that_never_solves_bounds_the_shift_from_below_only():
    rng = np.random.default_rng(SEED)
    sizes, costs, censored, group = planted_groups(rng, log_budget=12.0, shift=0.0)
    costs, censored = np.where(group, np.exp(6.0), costs), censored | group  # every shifted run censored at e^6
    fit = fit_censored_shift(sizes, costs, censored, group, "exponential")
    assert fit.shift_high == np.inf and fit.shift == np.inf and np.isfinite(fit.shift_low)


@pytest.mark.parametrize("shifted, cause", [([True] * 4, "all 4 runs are in one group"),
                                            ([True, False], "one boolean per run"),
                                            ([0, 2, 0, 1], "one boolean per run")])
def test_shift_bad_groups_name_the_cause(shifted, cause):
    with pytest.raises(ValueError, match=cause):
        fit_censored_shift(*GOOD, shifted, "exponential")


def test_the_common_slope_premise_is_tested_by_likelihood_ratio():
    sizes, costs, censored, group = planted_groups(np.random.default_rng(SEED))
    assert fit_censored_shift(sizes, costs, censored, group, "exponential").common_slope_p > 0.05  # one slope planted
    # Uncensored groups whose slopes differ by 0.3 per unit (2.4 e-folds over the sizes, scatter 0.3).
    sizes, costs, _ = planted({**EXPONENTIAL, "log_budget": np.inf}, np.random.default_rng(SEED), replicates=6)
    group = np.tile(np.repeat([False, True], 3), sizes.size // 6)
    steeper = np.exp(np.log(costs) + 0.3 * (sizes - sizes.mean()) * group)
    assert fit_censored_shift(sizes, steeper, np.zeros(sizes.size, bool), group, "exponential").common_slope_p < 1e-3
