"""Search for Theorem 2's worst case over instances: r* ∈ [0,1], α and the dynamics (automata and trees).

Paper object: "Generalist Reward Models" (arXiv 2506.23235) Theorem 2 under ε_π.  For one instance the worst
learner with ε_π ≤ ε is exact (theory/robust_worst_case.py); here the instances are searched.  Each family draws
instances (half of the reward tables rounded to {0, 1}, so extreme and degenerate rewards stay in it) and moves
between them; `search_worst_case` scores an instance by its exact worst BC gap (`bc_worst_gap`) and runs random
restarts + hill climbing at every H, the best instances of one H seeding the next, then evaluates every kept
instance at every H.  The searched worst case at H is the largest exact gap found: a lower bound on the true worst
case, which the derived bound H·√(Hε tanh(ε/2)) caps from above.  `search_rl_worst_case` does the same for the
worst RL gap over the whole set (`rl_worst_case_tree`) on small trees.

Families: `WalkFamily` (a position automaton, reward by side of a threshold and token), `RandomAutomatonFamily`
(6 states, random transitions), `TreeFamily` (the general token MDP, small V**H), `NearUniformTreeFamily` (experts
within a few ε of uniform, for RL).  Departure from the paper: none; the paper gives no worst-case construction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory.robust_worst_case import RLWorstCase, WorstCase, bc_worst_gap, rl_worst_case_tree, worst_case
from theory.soft_rl import AutomatonDynamics, TreeDynamics, repeat_level

LOG_ALPHA_RANGE = (np.log(0.1), np.log(1000.0))  # α ≫ √H makes π^E nearly uniform: r* is then unconstrained


def _perturb_table(rng: np.random.Generator, table: np.ndarray) -> np.ndarray:
    """One entry moved by N(0, 0.3) inside [0, 1], or snapped to 0 or 1 (corner rewards are often extreme)."""
    table = table.copy()
    index = tuple(rng.integers(0, n) for n in table.shape)
    table[index] = float(rng.integers(0, 2)) if rng.random() < 0.2 else np.clip(table[index] + rng.normal(0, 0.3), 0, 1)
    return table


def _perturb_log_alpha(rng: np.random.Generator, log_alpha: float, log_range=LOG_ALPHA_RANGE) -> float:
    return float(np.clip(log_alpha + rng.normal(0, 0.7), *log_range))


def _draw_table(rng: np.random.Generator, shape) -> np.ndarray:
    """U[0,1] rewards, rounded to {0, 1} half of the time (degenerate and extreme instances stay in the family)."""
    table = rng.uniform(size=shape)
    return np.round(table) if rng.random() < 0.5 else table


class WalkFamily:
    """Position k ∈ [−K, K] (K = min(H, 4 + ⌈6√H⌉), clipped) moved by the token: +1, −1 (and 0 if V = 3);
    r*(k, a) = R[k ≥ c, a], a 2×V table in [0,1] with threshold c ∈ {−2..2}.  Contains the named walk's shape.

    α = a·√H with log a the parameter ("log_alpha"): values of such rewards differ by O(√H) between positions, so a
    fixed a keeps π^E's shape across H and an instance found at one H stays meaningful at the next.
    """

    name, transferable = "walk automata", True

    def draw(self, rng, horizon):
        vocab = int(rng.choice([2, 3]))
        return {"reward": _draw_table(rng, (2, vocab)), "log_alpha": float(rng.uniform(*LOG_ALPHA_RANGE)),
                "threshold": int(rng.integers(-2, 3))}

    def perturb(self, rng, params):
        move = rng.integers(0, 3)
        if move == 0:
            return params | {"reward": _perturb_table(rng, params["reward"])}
        if move == 1:
            return params | {"log_alpha": _perturb_log_alpha(rng, params["log_alpha"])}
        return params | {"threshold": int(np.clip(params["threshold"] + rng.choice([-1, 1]), -2, 2))}

    def build(self, params, horizon):
        reach = min(horizon, 4 + int(np.ceil(6 * np.sqrt(horizon))))
        positions = np.arange(-reach, reach + 1)
        steps = np.array([1, -1, 0][: params["reward"].shape[1]])
        transition = np.clip(positions[:, None] + steps, -reach, reach) + reach
        table = params["reward"][(positions >= params["threshold"]).astype(int)]
        alpha = float(np.exp(params["log_alpha"]) * np.sqrt(horizon))
        return repeat_level(table, horizon), alpha, AutomatonDynamics(transition, reach)


class RandomAutomatonFamily:
    """Random automata with 6 states and V ∈ {2, 3} tokens; r*(q, a) a 6×V table in [0,1]; moves edit one reward,
    α or one transition."""

    name, transferable, states = "random automata", True, 6

    def draw(self, rng, horizon):
        vocab = int(rng.choice([2, 3]))
        return {"transition": rng.integers(0, self.states, size=(self.states, vocab)),
                "reward": _draw_table(rng, (self.states, vocab)), "log_alpha": float(rng.uniform(*LOG_ALPHA_RANGE))}

    def perturb(self, rng, params):
        move = rng.integers(0, 3)
        if move == 0:
            return params | {"reward": _perturb_table(rng, params["reward"])}
        if move == 1:
            return params | {"log_alpha": _perturb_log_alpha(rng, params["log_alpha"])}
        transition = params["transition"].copy()
        transition[tuple(rng.integers(0, n) for n in transition.shape)] = rng.integers(0, self.states)
        return params | {"transition": transition}

    def build(self, params, horizon):
        return (repeat_level(params["reward"], horizon), float(np.exp(params["log_alpha"])),
                AutomatonDynamics(params["transition"]))


class TreeFamily:
    """Full trees (every prefix its own state), r* ∈ [0,1] per (prefix, token): the general deterministic token MDP,
    for small V**H only; a move changes α or a random tenth of one level's entries."""

    transferable = False

    def __init__(self, vocab: int = 2, max_horizon: int = 8, log_alpha_range=LOG_ALPHA_RANGE):
        self.vocab, self.max_horizon, self.log_alpha_range = vocab, max_horizon, log_alpha_range
        self.name = "binary trees" if vocab == 2 else f"trees (V = {vocab})"

    def draw(self, rng, horizon):
        """Half of the draws give every state of a level the same rewards (i.i.d. steps, like the mode swap)."""
        if rng.random() < 0.5:
            reward = [np.repeat(_draw_table(rng, (1, self.vocab)), self.vocab**h, axis=0) for h in range(horizon)]
        else:
            reward = [_draw_table(rng, (self.vocab**h, self.vocab)) for h in range(horizon)]
        return {"reward": reward, "log_alpha": float(rng.uniform(*self.log_alpha_range))}

    def perturb(self, rng, params):
        if rng.random() < 0.2:
            return params | {"log_alpha": _perturb_log_alpha(rng, params["log_alpha"], self.log_alpha_range)}
        reward = [level.copy() for level in params["reward"]]
        level = reward[rng.integers(0, len(reward))]
        picked = rng.random(level.shape) < 0.1
        level[picked] = np.clip(level[picked] + rng.normal(0, 0.3, size=picked.sum()), 0, 1)
        return params | {"reward": reward}

    def build(self, params, horizon):
        return params["reward"], float(np.exp(params["log_alpha"])), TreeDynamics(self.vocab)


FAMILIES = (WalkFamily(), RandomAutomatonFamily(), TreeFamily())  # the BC search; RL searches trees of any V


@dataclass(frozen=True)
class SearchBudget:
    """Random restarts per H, hill-climbing moves per start, and how many best instances seed the next H."""

    restarts: int
    moves: int
    carried: int


def search_worst_case(rng: np.random.Generator, horizons, eps: float, budget: SearchBudget,
                      families=FAMILIES) -> dict[tuple[str, int], WorstCase]:
    """{(family name, H): `WorstCase` of the instance with the largest exact BC gap found} (module doc).

    Pass 1, H ascending: ``restarts`` random instances plus the ``carried`` best of the previous H, each improved by
    ``moves`` hill-climbing moves (a move is kept when it increases the gap).  Pass 2 (families whose instances
    make sense at every H): every instance kept in pass 1 is evaluated at every H, so that a good instance found
    at one H is not missed at another (the fitted exponent would otherwise measure the search's luck per H).
    """
    found = {}
    for family in families:
        horizons_here = [h for h in horizons if h <= getattr(family, "max_horizon", h)]
        carried, elite, best = [], [], {}
        for horizon in horizons_here:
            def score(params, horizon=horizon, family=family):
                return bc_worst_gap(*family.build(params, horizon), eps)

            climbed = [_climb(score, family, params, rng, budget.moves)
                       for params in carried + [family.draw(rng, horizon) for _ in range(budget.restarts)]]
            climbed.sort(key=lambda pair: -pair[0])
            best[horizon] = climbed[0]
            carried = [params for _, params in climbed[: budget.carried]] if family.transferable else []
            elite += carried
        for horizon in horizons_here:
            for params in elite:
                gap = bc_worst_gap(*family.build(params, horizon), eps)
                if gap > best[horizon][0]:
                    best[horizon] = gap, params
            found[family.name, horizon] = worst_case(*family.build(best[horizon][1], horizon), eps)
    return found


class NearUniformTreeFamily:
    """Trees whose expert is within a few ε of uniform: π^E(·|s) = softmax(ε·z(s,·)), z ~ N(0, σ²) per entry,
    r* = α(log π^E − min log π^E) ∈ [0, 1] with α = min(1/(4ε), 1/spread of log π^E) (so π^E is soft-optimal for
    r*, and 2αHε ≤ H/2: the RL bound is informative).  The RL gap / (2αHε) depends on π^E and ε only; a move
    redraws a random tenth of one level's z."""

    transferable = False

    def __init__(self, vocab: int, horizon: int, eps: float):
        self.vocab, self.horizon, self.eps = vocab, horizon, eps
        self.name = f"near-uniform trees (V = {vocab})"

    def draw(self, rng, horizon):
        scale = float(rng.choice([0.5, 2.0, 5.0]))
        return {"z": [rng.normal(0, scale, size=(self.vocab**h, self.vocab)) for h in range(horizon)]}

    def perturb(self, rng, params):
        z = [level.copy() for level in params["z"]]
        level = z[rng.integers(0, len(z))]
        picked = rng.random(level.shape) < 0.1
        level[picked] += rng.normal(0, 1.0, size=picked.sum())
        return {"z": z}

    def build(self, params, horizon):
        log_expert = [self.eps * z - np.log(np.exp(self.eps * z).sum(axis=1, keepdims=True)) for z in params["z"]]
        floor = min(float(level.min()) for level in log_expert)
        spread = max(float(level.max()) for level in log_expert) - floor
        alpha = min(0.25 / self.eps, 1.0 / spread) if spread > 0 else 0.25 / self.eps
        return [alpha * (level - floor) for level in log_expert], alpha, TreeDynamics(self.vocab)


def search_rl_worst_case(rng: np.random.Generator, shapes, eps: float, budget: SearchBudget
                         ) -> dict[tuple[int, int], tuple[float, RLWorstCase]]:
    """{(V, H): (α, `RLWorstCase`)} of the tree instance with the largest RL gap / (2αHε) found by restarts + hill
    climbing: half of the starts from `NearUniformTreeFamily`, half from `TreeFamily` (r* ∈ [0,1] drawn, α ≤
    1/(4ε) so that the bound stays informative); ``shapes`` lists (V, H) with V**H small."""
    found = {}
    for vocab, horizon in shapes:
        best = (-np.inf, None, None)
        for family in (NearUniformTreeFamily(vocab, horizon, eps),
                       TreeFamily(vocab, horizon, (LOG_ALPHA_RANGE[0], float(np.log(0.25 / eps))))):
            def score(params, horizon=horizon, family=family):
                reward, alpha, _ = family.build(params, horizon)
                return rl_worst_case_tree(reward, alpha, eps).gap / (2 * alpha * horizon * eps)

            for _ in range((budget.restarts + 1) // 2):
                value, params = _climb(score, family, family.draw(rng, horizon), rng, budget.moves)
                best = max(best, (value, family, params), key=lambda triple: triple[0])
        reward, alpha, _ = best[1].build(best[2], horizon)
        found[vocab, horizon] = alpha, rl_worst_case_tree(reward, alpha, eps)
    return found


def _climb(score, family, params, rng: np.random.Generator, moves: int):
    """(score, params) after ``moves`` hill-climbing moves from ``params`` (a move is kept if it raises the score)."""
    best = score(params)
    for _ in range(moves):
        candidate = family.perturb(rng, params)
        value = score(candidate)
        if value > best:
            params, best = candidate, value
    return best, params
