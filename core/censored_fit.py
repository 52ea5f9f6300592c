"""Censoring-aware fits of cost-to-solve against problem size: an exponential or a power law, with a
profile-likelihood interval on the rate or exponent.

**Data.**  One row per run: a size x > 0 (e.g. the input dimension d), a cost c > 0 (samples until solved) and a
flag ``censored``.  A censored run did not solve within its budget and c is that budget: a *lower bound* on the
run's true cost, never a made-up cost.

**Model** (Tobit / log-normal accelerated-failure-time regression).  The true cost C of a run of size x satisfies

    log C = a + b·z + σ·ε,   ε ~ N(0, 1),   z = x (exponential law, C ∝ e^{b x}: b is the rate per unit size)
                                            z = log x (power law, C ∝ x^b: b is the exponent).

A solved run contributes the normal log-density of log c; a censored run contributes the log-probability that its
cost exceeds the budget, log P(log C > log c) = log Φ̄((log c − a − b z)/σ) (``scipy.stats.norm.logsf``, accurate
far into the tail).  So a never-solved run only penalises parameters that predict its cost *below* its budget;
parameters that put it above cost it almost nothing (`log_likelihood_terms`).

**Fit.**  Maximum likelihood over (a, b, log σ) with bounded truncated Newton (scipy TNC) and the analytic
gradient, z centred for conditioning.  The Tobit log-likelihood is concave in Olsen's parameters (a/σ, b/σ, 1/σ)
(Olsen 1978, Econometrica 46), and (a, b, log σ) is a smooth one-to-one reparametrisation of them, so a stationary
point found by the optimiser is the global maximum; for the same reason the profile likelihood in b is unimodal
(its super-level sets are images of convex sets under the linear-fractional map (α₀, α₁, h) ↦ α₁/h), so each end of
the interval is one root.

**Interval.**  Profile likelihood: b is in the interval when 2·(ℓ_max − ℓ_profile(b)) ≤ χ²₁ quantile at ``level``
(3.84 at 0.95), where ℓ_profile(b) maximises over (a, σ) at fixed b.  Each end is found by walking out from the
estimate with doubling steps until the criterion is crossed, then `scipy.optimize.brentq` on the last step.  The
χ² calibration is asymptotic: for uncensored data with n points it is the t-interval with critical value
√((n−2)(e^{3.84/n} − 1)), i.e. coverage 0.938 instead of 0.95 at n = 27 and 0.91 at n = 12 (slightly narrow at
small n; tests/test_censored_fit.py measures the coverage with censoring).

**Unbounded ends.**  The search is confined to a window of ±``WINDOW_FACTOR`` slope scales around the starting
estimate, the slope scale being (range of log c + 1)/(range of z): the slope that moves the predicted log-cost
across the observed range (plus one e-fold) over the observed sizes.  An end that is not reached inside the window
is returned as ±inf, never clipped to the window.  This happens when the data bound the slope on one side only,
e.g. every size above the smallest solved one is censored: the likelihood then keeps rising as the rate grows, the
point estimate itself is ±inf, the intercept is NaN and `Fit.predict_log_cost` raises.

**Floor on σ.**  σ ≥ ``SIGMA_FLOOR_FRACTION`` × max(range of log c, 1), so data exactly on a line (or identical
replicates) give a finite likelihood and a very narrow interval instead of a diverging one.

**Degenerate data** raise ValueError naming the cause: non-positive or non-finite sizes or costs, arrays of
different lengths, fewer than 2 distinct sizes, and fewer than 3 solved runs (no solved run: the data are lower
bounds only and locate no curve; 1 or 2 solved runs: slope, intercept and σ cannot all be estimated, σ would sit at
its floor and the interval would be meaninglessly narrow).

**Two groups** (`fit_censored_shift`): runs of two conditions at the same sizes (e.g. p_cot = 0 and 0.25) on one
model with a common slope and scatter, log C = a + b·z + c·g + σ·ε with g ∈ {0, 1}; the profile interval on the
shift c (the log cost ratio at equal size) maximises over (a, b, σ), found as the slope's is, its scale being the
range of log c plus one e-fold.  The common slope is the premise of one ratio at every size: its likelihood ratio
against a slope per group (a z·g column) is reported as a χ²₁ p-value.

**Comparison** (`compare_laws`): both laws model the same response log c with three parameters, so the higher
maximised log-likelihood is also the lower AIC.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

LAWS = ("exponential", "power")
SIGMA_FLOOR_FRACTION = 1e-3  # σ floor as a fraction of the log-cost range (at least 1 e-fold)
WINDOW_FACTOR = 1e3  # half-width of the slope search window, in slope scales
FIRST_STEP = 1e-2  # first step of the walk towards an interval end, in slope scales
FLAT = 1e-6  # a profile within this of the maximum at the window edge is still rising: that end is unbounded
MIN_SOLVED = 3  # intercept, slope and σ


@dataclass(frozen=True)
class Fit:
    """A maximum-likelihood fit of log cost = intercept + slope·z (z = size or log size) with its interval."""

    law: str  # "exponential" (z = size, slope = rate per unit size) or "power" (z = log size, slope = exponent)
    slope: float  # maximum-likelihood rate or exponent; ±inf when the data bound it on one side only
    slope_low: float  # lower end of the profile-likelihood interval (may be -inf)
    slope_high: float  # upper end of the profile-likelihood interval (may be +inf)
    intercept: float  # natural log of the cost at z = 0; NaN when the slope is infinite
    sigma: float  # scatter of log cost around the line (natural-log units)
    log_likelihood: float  # maximised censored log-likelihood (density of log cost for solved runs)
    n: int  # number of runs
    n_censored: int  # runs that did not solve within their budget
    level: float  # confidence level of the interval

    def predict_log_cost(self, size) -> np.ndarray:
        """Predicted natural log of the cost at each size, intercept + slope·z (its exponential is the median cost)."""
        if not np.isfinite(self.slope):
            raise ValueError(f"this {self.law} fit has no finite slope (slope = {self.slope}): the data bound it on "
                             "one side only, so it predicts no cost")
        return self.intercept + self.slope * _covariate(_positive(size, "size"), self.law)


def _covariate(sizes: np.ndarray, law: str) -> np.ndarray:
    if law == "exponential":
        return sizes
    if law == "power":
        return np.log(sizes)
    raise ValueError(f"law must be one of {LAWS}, got {law!r}")


def _positive(values, name: str) -> np.ndarray:
    values = np.atleast_1d(np.asarray(values, dtype=np.float64))
    bad = ~(np.isfinite(values) & (values > 0))
    if bad.any():
        raise ValueError(f"every {name} must be finite and > 0; got {values[bad][:5].tolist()} "
                         f"(at positions {np.flatnonzero(bad)[:5].tolist()})")
    return values


def _validated(sizes, costs, censored) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sizes, log costs, censored flags) after checking shapes, signs and that a fit is possible."""
    sizes, costs = _positive(sizes, "size"), _positive(costs, "cost")
    flags = np.atleast_1d(np.asarray(censored))
    if not (sizes.shape == costs.shape == flags.shape and sizes.ndim == 1):
        raise ValueError(f"sizes, costs and censored must be 1-D of one length, got shapes {sizes.shape}, "
                         f"{costs.shape}, {flags.shape}")
    if flags.dtype != bool and not np.isin(flags, (0, 1)).all():
        raise ValueError(f"censored must be booleans (True: not solved within the budget), got {flags.tolist()}")
    flags = flags.astype(bool)
    if np.unique(sizes).size < 2:
        raise ValueError(f"need at least 2 distinct sizes to fit a slope, got {np.unique(sizes).tolist()}")
    solved = int((~flags).sum())
    if solved == 0:
        raise ValueError(f"all {flags.size} runs are censored: the costs are lower bounds only and locate no curve")
    if solved < MIN_SOLVED:
        raise ValueError(f"only {solved} solved run(s): at least {MIN_SOLVED} are needed to estimate intercept, "
                         "slope and scatter (with fewer, σ sits at its floor and the interval means nothing)")
    return sizes, np.log(costs), flags


def log_likelihood_terms(sizes, costs, censored, law: str, intercept: float, slope: float,
                         sigma: float) -> np.ndarray:
    """Each run's contribution to the log-likelihood at the given parameters: log-density of log c for a solved
    run, log P(log C > log c) for a censored one."""
    log_costs = np.log(_positive(costs, "cost"))
    residuals = (log_costs - intercept - slope * _covariate(_positive(sizes, "size"), law)) / sigma
    return np.where(np.asarray(censored, dtype=bool), stats.norm.logsf(residuals),
                    stats.norm.logpdf(residuals) - np.log(sigma))


def _minimise(negative_and_gradient, start, bounds) -> optimize.OptimizeResult:
    """Bounded truncated Newton (TNC) with the analytic gradient, to a tight tolerance on the log-likelihood.
    (TNC rather than L-BFGS-B: the same answers here, and L-BFGS-B's per-iteration cost explodes when BLAS runs
    several threads on a busy machine.)"""
    return optimize.minimize(negative_and_gradient, start, jac=True, method="TNC", bounds=bounds,
                             options={"ftol": 1e-14, "gtol": 1e-10, "maxfun": 2000})


class _Tobit:
    """The censored log-likelihood of log c = X·β + σ·ε (the design X has centred covariates), its maximum and its
    profile in one coefficient.  Parameters are θ = (β, log σ)."""

    def __init__(self, design: np.ndarray, log_costs: np.ndarray, censored: np.ndarray, sigma_floor: float):
        self.design, self.y, self.censored, self.sigma_floor = design, log_costs, censored, sigma_floor
        self.log_sigma_floor = float(np.log(sigma_floor))

    def negative_and_gradient(self, theta: np.ndarray):
        """(−ℓ, −∂ℓ/∂θ)."""
        log_sigma = theta[-1]
        sigma = np.exp(log_sigma)
        r = (self.y - self.design @ theta[:-1]) / sigma
        log_tail = special.log_ndtr(-r)  # log Φ̄(r), as stats.norm.logsf computes it, without its per-call overhead
        log_density = -0.5 * r * r - 0.5 * np.log(2 * np.pi)
        mills = np.exp(log_density - log_tail)  # φ/Φ̄: the pull of a censored run on its mean
        terms = np.where(self.censored, log_tail, log_density - log_sigma)
        pull = np.where(self.censored, mills, r)  # σ·∂ℓ_i/∂mean_i
        d_log_sigma = np.where(self.censored, mills * r, r * r - 1)
        return -terms.sum(), -np.append(self.design.T @ pull / sigma, d_log_sigma.sum())

    def start(self, index: int, value: float) -> np.ndarray:
        """θ from least squares of the solved runs with coefficient ``index`` held at ``value``: a starting point."""
        solved, others = ~self.censored, np.arange(self.design.shape[1]) != index
        target = self.y[solved] - value * self.design[solved, index]
        free, *_ = np.linalg.lstsq(self.design[solved][:, others], target, rcond=None)
        residuals = target - self.design[solved][:, others] @ free
        beta = np.empty(self.design.shape[1])
        beta[others], beta[index] = free, value
        return np.append(beta, max(float(np.log(residuals.std() + 1e-300)), self.log_sigma_floor))

    def bounds(self) -> list[tuple[float | None, float | None]]:
        """Box bounds of θ: the coefficients free, log σ at or above its floor."""
        return [(None, None)] * self.design.shape[1] + [(self.log_sigma_floor, None)]

    def maximum(self, index: int, window: tuple[float, float], start_value: float,
                start: np.ndarray | None = None) -> tuple[float, np.ndarray]:
        """(ℓ, θ) at the maximum with coefficient ``index`` inside the window, from ``start`` (default: least
        squares of the solved runs at ``start_value``)."""
        bounds = self.bounds()
        bounds[index] = window
        result = _minimise(self.negative_and_gradient, self.start(index, start_value) if start is None else start,
                           bounds)
        return -float(result.fun), result.x

    def profile(self, index: int, value: float) -> tuple[float, np.ndarray]:
        """(ℓ, θ) maximised over every other parameter with coefficient ``index`` held at ``value``."""
        free = np.arange(self.design.shape[1] + 1) != index

        def negative(rest):
            negative_ll, gradient = self.negative_and_gradient(np.insert(rest, index, value))
            return negative_ll, gradient[free]

        bounds = [bound for bound, is_free in zip(self.bounds(), free, strict=True) if is_free]
        result = _minimise(negative, self.start(index, value)[free], bounds)
        return -float(result.fun), np.insert(result.x, index, value)


def _interval_end(profile_ll, ll_max: float, start: float, direction: int, edge: float, threshold: float,
                  scale: float) -> float:
    """The coefficient beyond ``start`` (towards ``edge``) where 2(ℓ_max − ℓ_profile) reaches the threshold; ±inf
    if it is not reached by the window edge."""

    def excess(value: float) -> float:
        return 2 * (ll_max - profile_ll(value)) - threshold

    if excess(edge) <= 0:
        return direction * np.inf
    inner, step = start, FIRST_STEP * scale
    while True:
        outer = start + direction * step
        if direction * (outer - edge) >= 0:
            outer = edge
        if excess(outer) > 0:
            break
        inner, step = outer, 2 * step
    return float(optimize.brentq(excess, min(inner, outer), max(inner, outer), xtol=1e-10 * scale))


def _profile_fit(problem: _Tobit, index: int, start_value: float, scale: float, level: float
                 ) -> tuple[float, np.ndarray, float, float, tuple[bool, bool]]:
    """(ℓ_max, θ at the maximum, interval low, interval high, (unbounded below, unbounded above)) for coefficient
    ``index``, searched within ±WINDOW_FACTOR·scale of ``start_value``.

    The optimiser can stop on a flat ridge when the likelihood rises towards a window edge; the edges' profiles
    are candidates for the maximum too, and an edge within FLAT of it marks an unbounded direction."""
    window = (start_value - WINDOW_FACTOR * scale, start_value + WINDOW_FACTOR * scale)
    edges = [problem.profile(index, edge) for edge in window]
    ll_max, theta = max([problem.maximum(index, window, start_value), *edges], key=lambda candidate: candidate[0])
    threshold = float(stats.chi2.ppf(level, 1))

    def profile_ll(value: float) -> float:
        return problem.profile(index, value)[0]

    low = _interval_end(profile_ll, ll_max, theta[index], -1, window[0], threshold, scale)
    high = _interval_end(profile_ll, ll_max, theta[index], +1, window[1], threshold, scale)
    unbounded = (edges[0][0] >= ll_max - FLAT, edges[1][0] >= ll_max - FLAT)
    return ll_max, theta, low, high, unbounded


def fit_censored(sizes, costs, censored, law: str, level: float = 0.95) -> Fit:
    """Maximum-likelihood fit of the censored log-normal model (module docstring) with the profile-likelihood
    interval on the slope at ``level``."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    sizes, log_costs, flags = _validated(sizes, costs, censored)
    z = _covariate(sizes, law)
    z_mean = float(z.mean())
    problem = _Tobit(np.column_stack([np.ones_like(z), z - z_mean]), log_costs, flags,
                     SIGMA_FLOOR_FRACTION * max(float(np.ptp(log_costs)), 1.0))
    scale = (float(np.ptp(log_costs)) + 1) / float(np.ptp(z))
    solved_z = z[~flags]
    slope_start = float(np.polyfit(solved_z, log_costs[~flags], 1)[0]) if np.ptp(solved_z) > 0 else 0.0
    ll_max, theta, slope_low, slope_high, unbounded = _profile_fit(problem, 1, slope_start, scale, level)
    (intercept, slope), log_sigma = theta[:2], theta[-1]
    if any(unbounded):
        slope, intercept = (np.inf if unbounded[1] else -np.inf), np.nan
    else:
        intercept -= slope * z_mean  # back from centred z
    return Fit(law=law, slope=float(slope), slope_low=slope_low, slope_high=slope_high, intercept=float(intercept),
               sigma=float(np.exp(log_sigma)), log_likelihood=float(ll_max), n=int(flags.size),
               n_censored=int(flags.sum()), level=float(level))


@dataclass(frozen=True)
class Shift:
    """A maximum-likelihood fit of log cost = intercept + slope·z + shift·g (g = 1 for the shifted group's runs)
    with the profile-likelihood interval on the shift: e^shift is the cost ratio of the shifted group to the other
    at equal size."""

    law: str  # "exponential" (z = size) or "power" (z = log size), the common law of both groups
    shift: float  # maximum-likelihood shift (natural log); ±inf when the data bound it on one side only
    shift_low: float  # lower end of the profile-likelihood interval (may be -inf)
    shift_high: float  # upper end of the profile-likelihood interval (may be +inf)
    slope: float  # common slope at the maximum (with an unbounded shift: at the search window's edge)
    sigma: float  # common scatter of log cost around the lines (likewise)
    log_likelihood: float  # maximised censored log-likelihood
    n: int  # number of runs
    n_censored: int  # runs that did not solve within their budget
    n_shifted: int  # runs of the shifted group
    level: float  # confidence level of the interval
    common_slope_p: float  # likelihood-ratio p-value of the common slope against one slope per group (χ²₁)


def fit_censored_shift(sizes, costs, censored, shifted, law: str, level: float = 0.95) -> Shift:
    """Two groups of runs on one censored model with a common slope and scatter, log C = a + b·z + c·g + σ·ε
    (module docstring; g = ``shifted``), and the profile-likelihood interval on c, maximising over (a, b, σ).  Like
    the slope, an end of c's interval not reached inside ±``WINDOW_FACTOR`` scales is ±inf: e.g. when every run of
    one group is censored, the data bound c from one side only."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    sizes, log_costs, flags = _validated(sizes, costs, censored)
    group = np.atleast_1d(np.asarray(shifted))
    if group.shape != flags.shape or not np.isin(group, (0, 1)).all():
        raise ValueError(f"shifted must be one boolean per run, got {group.tolist()}")
    group = group.astype(float)
    if group.min() == group.max():
        raise ValueError(f"both groups need runs to estimate a shift; all {group.size} runs are in one group")
    z = _covariate(sizes, law)
    design = np.column_stack([np.ones_like(z), z - z.mean(), group])
    problem = _Tobit(design, log_costs, flags, SIGMA_FLOOR_FRACTION * max(float(np.ptp(log_costs)), 1.0))
    shift_start = float(np.linalg.lstsq(design, log_costs, rcond=None)[0][2])  # budgets taken as costs: a start
    ll_max, theta, low, high, unbounded = _profile_fit(problem, 2, shift_start, float(np.ptp(log_costs)) + 1, level)
    shift = (np.inf if unbounded[1] else -np.inf) if any(unbounded) else float(theta[2])
    # The model's premise: one slope.  Against a slope per group (a z·g column, σ still shared), likelihood ratio.
    slope_window = WINDOW_FACTOR * (float(np.ptp(log_costs)) + 1) / float(np.ptp(z))
    separate = _Tobit(np.column_stack([design, design[:, 1] * group]), log_costs, flags, problem.sigma_floor)
    # from the common fit (slope difference 0), so the larger model can never end below it
    ll_separate = max(separate.maximum(3, (-slope_window, slope_window), 0.0, np.insert(theta, 3, 0.0))[0], ll_max)
    return Shift(law=law, shift=shift, shift_low=low, shift_high=high, slope=float(theta[1]),
                 sigma=float(np.exp(theta[-1])), log_likelihood=float(ll_max), n=int(flags.size),
                 n_censored=int(flags.sum()), n_shifted=int(group.sum()), level=float(level),
                 common_slope_p=float(stats.chi2.sf(max(2 * (ll_separate - ll_max), 0.0), 1)))


def compare_laws(sizes, costs, censored, level: float = 0.95) -> dict:
    """Both fits and which law has the higher maximised log-likelihood (the lower AIC: both have 3 parameters).

    Returns {"exponential": Fit, "power": Fit, "better": "exponential" | "power" | None (exact tie, e.g. both
    likelihoods rise without bound in the slope), "log_likelihood_ratio": ℓ_exponential − ℓ_power}.
    """
    fits = {law: fit_censored(sizes, costs, censored, law, level) for law in LAWS}
    ratio = fits["exponential"].log_likelihood - fits["power"].log_likelihood
    better = None if abs(ratio) <= FLAT else ("exponential" if ratio > 0 else "power")
    return {**fits, "better": better, "log_likelihood_ratio": float(ratio)}


def crossover(fit_a: Fit, fit_b: Fit, sizes_grid) -> float | None:
    """The smallest size on the grid where fit_a's predicted cost exceeds fit_b's; None if it never does."""
    grid = np.sort(_positive(sizes_grid, "grid size"))
    above = fit_a.predict_log_cost(grid) > fit_b.predict_log_cost(grid)
    return float(grid[np.argmax(above)]) if above.any() else None
