"""Order-k Markov "languages" and the Markov chains a policy induces on them.

Implements the state space of docs/sources/average_reward_paper.md §3.2 step 2 ("states s represent context
x_<t, actions a the next token x_t") under the source's condition 3 (a context window of k tokens),
so that every object in the source's argument is an exact finite computation.  The departure from
the source: it takes "the stationary distribution" μ as given and fixed; here μ_π is computed
for each policy π, which is what lets the suite test whether μ_π really equals the data's μ_D.

Layout (public contract, docs/design.md "Array layouts"): a state is the base-V number of the last k tokens, most
recent token least significant; a policy table has shape (V**k, V) with rows π(·|s); taking token a
in state s leads deterministically to s' = (s·V + a) mod V**k.  The induced chain is

    P_π(s, s') = Σ_a π(a|s) [s' = (s·V + a) mod V**k].

Its stationary distribution μ_π solves μP = μ, Σμ = 1; under reward r(s, a) the average reward is
ρ = Σ_s μ(s) Σ_a π(a|s) r(s, a) and the differential values h solve the Poisson equation
h = r_π − ρ1 + P h with μ·h = 0.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import spsolve

SPARSE_STATE_THRESHOLD = 4096  # above this many states a dense (S, S) matrix costs > 128 MB: use scipy.sparse
STOCHASTIC_ATOL = 1e-9  # rows may sum to 1 only up to float64 round-off of a softmax/normalisation


def chain_shape(policy: np.ndarray) -> tuple[int, int]:
    """(V, k) of a policy table of shape (V**k, V); raises ValueError if the row count is not a power of V."""
    n_states, vocab = policy.shape
    order = round(np.log(n_states) / np.log(vocab)) if vocab > 1 else 0
    if vocab < 2 or vocab**order != n_states:
        raise ValueError(f"policy shape {policy.shape} is not (V**k, V) for a vocabulary V >= 2 and an order k")
    return vocab, order


def validate_policy(policy: np.ndarray) -> np.ndarray:
    """Return ``policy`` as float64 after checking it is a (V**k, V) table of probability rows.

    Raises ValueError naming the problem: wrong number of dimensions or shape, NaN/inf entries,
    negative entries, or rows whose sum differs from 1 by more than STOCHASTIC_ATOL.
    """
    policy = np.asarray(policy, dtype=np.float64)
    if policy.ndim != 2:
        raise ValueError(f"policy must be 2-dimensional (V**k, V), got shape {policy.shape}")
    chain_shape(policy)
    _check_stochastic_rows(policy, "policy")
    return policy


def _check_stochastic_rows(matrix, name: str) -> None:
    """Raise ValueError naming ``name`` unless every entry is finite and ≥ 0 and every row sums to 1."""
    values = matrix.data if sp.issparse(matrix) else matrix
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} contains NaN or infinite entries")
    if np.any(values < 0):
        raise ValueError(f"{name} has negative entries")
    row_sums = np.asarray(matrix.sum(axis=1)).ravel()
    worst = int(np.argmax(np.abs(row_sums - 1.0)))
    if abs(row_sums[worst] - 1.0) > STOCHASTIC_ATOL:
        raise ValueError(f"{name} rows are not stochastic: row {worst} sums to {row_sums[worst]!r}, not 1")


def next_state_table(vocab: int, order: int) -> np.ndarray:
    """Integer table next[s, a] = (s·V + a) mod V**k of shape (V**k, V): the deterministic transition."""
    n_states = vocab**order
    return (np.arange(n_states)[:, None] * vocab + np.arange(vocab)[None, :]) % n_states


def transition_matrix(policy: np.ndarray, sparse: bool | None = None):
    """State transition matrix P_π(s, s') = Σ_a π(a|s) [s' = next(s, a)] of shape (V**k, V**k).

    Dense numpy array by default; a scipy.sparse CSR matrix when ``sparse=True`` or, if ``sparse`` is
    None, when V**k > SPARSE_STATE_THRESHOLD (each row has at most V non-zeros).
    """
    policy = validate_policy(policy)
    vocab, order = chain_shape(policy)
    n_states = vocab**order
    rows = np.repeat(np.arange(n_states), vocab)
    # CSR construction sums duplicate (s, s') pairs, which occur only for k = 0 (a single state).
    matrix = sp.csr_matrix((policy.ravel(), (rows, next_state_table(vocab, order).ravel())), shape=(n_states,) * 2)
    if sparse is None:
        sparse = n_states > SPARSE_STATE_THRESHOLD
    return matrix if sparse else matrix.toarray()


def closed_classes(P) -> list[np.ndarray]:
    """The closed communicating classes of the chain P (strongly connected components nothing leaves).

    A finite chain has a unique stationary distribution iff it has exactly one closed class; states
    outside it are transient and get μ = 0.  Periodicity does not matter for uniqueness.
    """
    graph = sp.csr_matrix(P)
    graph.eliminate_zeros()
    n_components, labels = connected_components(graph, directed=True, connection="strong")
    coo = graph.tocoo()
    leaves = labels[coo.row] != labels[coo.col]
    is_closed = np.ones(n_components, dtype=bool)
    is_closed[labels[coo.row[leaves]]] = False
    return [np.flatnonzero(labels == c) for c in np.flatnonzero(is_closed)]


def validate_transition_matrix(P) -> None:
    """Raise ValueError unless P is a square, finite, non-negative, row-stochastic matrix with one closed class."""
    if P.ndim != 2 or P.shape[0] != P.shape[1]:
        raise ValueError(f"transition matrix must be square, got shape {P.shape}")
    _check_stochastic_rows(P, "transition matrix")
    classes = closed_classes(P)
    if len(classes) != 1:
        shown = "; ".join(str(c[:5].tolist()) + ("..." if len(c) > 5 else "") for c in classes[:4])
        raise ValueError(
            f"chain is reducible: {len(classes)} closed communicating classes (e.g. states {shown}), "
            "so the stationary distribution is not unique"
        )


def stationary_distribution(P) -> np.ndarray:
    """The unique μ with μP = μ, Σ_s μ(s) = 1, for a dense or scipy.sparse transition matrix P.

    Solves the S linear equations (I − P)^T μ = 0 with the last one replaced by 1^T μ = 1.  The sum of
    the equations of (I − P)^T μ = 0 is identically zero, so dropping one loses nothing, and 1 is not in
    the range of (I − P) (else μ·1 = μ(I − P)y = 0), so the system is non-singular exactly when the chain
    has one closed class.  Works for periodic chains (no power iteration involved).
    """
    validate_transition_matrix(P)
    n_states = P.shape[0]
    rhs = np.zeros(n_states)
    rhs[-1] = 1.0
    if sp.issparse(P):
        balance = (sp.identity(n_states, format="csr") - P).T.tocsr()[:-1]
        system = sp.vstack([balance, sp.csr_matrix(np.ones((1, n_states)))])
        mu = spsolve(system.tocsc(), rhs)
    else:
        system = (np.eye(n_states) - P).T
        system[-1] = 1.0
        mu = np.linalg.solve(system, rhs)
    # Transient states have μ = 0 exactly; round-off can leave tiny negatives there.
    mu = np.clip(mu, 0.0, None)
    return mu / mu.sum()


def on_policy_distribution(policy: np.ndarray) -> np.ndarray:
    """μ_π: the stationary distribution of the chain P_π induced by ``policy`` on its own contexts."""
    return stationary_distribution(transition_matrix(policy))


def differential_values(policy: np.ndarray, reward: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(ρ, h, q) of ``policy`` under ``reward`` (both (V**k, V)); dense, for chains small enough to solve.

    ρ = Σ_s μ_π(s) Σ_a π(a|s) r(s, a); h solves the Poisson equation h(s) = Σ_a π(a|s)[r(s, a) − ρ + h(s')]
    normalised by μ_π·h = 0, computed as (I − P + 1μ^T) h = r_π − ρ1 (the rank-one term fixes the free
    constant: multiplying by μ gives μ·h = μ·r_π − ρ = 0); q(s, a) = r(s, a) − ρ + h(next(s, a)).
    """
    policy = validate_policy(policy)
    reward = np.asarray(reward, dtype=np.float64)
    if reward.shape != policy.shape:
        raise ValueError(f"reward shape {reward.shape} differs from policy shape {policy.shape}")
    P = transition_matrix(policy, sparse=False)
    mu = stationary_distribution(P)
    expected_reward = (policy * reward).sum(axis=1)
    rho = float(mu @ expected_reward)
    n_states = P.shape[0]
    h = np.linalg.solve(np.eye(n_states) - P + np.outer(np.ones(n_states), mu), expected_reward - rho)
    q = reward - rho + h[next_state_table(*chain_shape(policy))]
    return rho, h, q


def mixing_time(P: np.ndarray, threshold: float = 0.25, max_steps: int = 10_000) -> int | None:
    """t_mix = min{t ≥ 0 : max_s TV(P^t(s, ·), μ) ≤ threshold}, or None if not reached by ``max_steps``.

    TV(p, q) = ½ Σ |p − q|.  A periodic chain never mixes (None).  Dense, O(S³) per step: small chains.
    """
    P = np.asarray(P, dtype=np.float64)
    mu = stationary_distribution(P)
    rows = np.eye(P.shape[0])
    for t in range(max_steps + 1):
        if 0.5 * np.abs(rows - mu).sum(axis=1).max() <= threshold:
            return t
        rows = rows @ P
    return None


def total_variation(p: np.ndarray, q: np.ndarray) -> float:
    """TV(p, q) = ½ Σ_x |p(x) − q(x)| for two distributions (e.g. μ_π and μ_D) of the same shape."""
    return 0.5 * float(np.abs(np.asarray(p) - np.asarray(q)).sum())


def suffix_marginal(mu: np.ndarray, vocab: int, length: int) -> np.ndarray:
    """Distribution of the last ``length`` tokens under μ over longer contexts: Σ_{s ≡ c mod V**length} μ(s)."""
    return mu.reshape(-1, vocab**length).sum(axis=0)


def policy_distance(state_weights: np.ndarray, policy: np.ndarray, other: np.ndarray) -> float:
    """Σ_s w(s) TV(π(·|s), π'(·|s)): how far two policy tables are on the states that matter under w (e.g. μ_D)."""
    return float(state_weights @ (0.5 * np.abs(policy - other).sum(axis=1)))


def softmax_rows(logits: np.ndarray) -> np.ndarray:
    """π(a|s) = exp(z(s, a)) / Σ_b exp(z(s, b)), computed stably row by row."""
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def random_logits(rng: np.random.Generator, vocab: int, order: int, temperature: float = 1.0) -> np.ndarray:
    """Logit table z(s, a) ~ N(0, 1)/τ of shape (V**k, V); small τ gives peaked (low-entropy) policies."""
    return rng.standard_normal((vocab**order, vocab)) / temperature


def random_softmax_policy(rng: np.random.Generator, vocab: int, order: int, temperature: float = 1.0) -> np.ndarray:
    """π = softmax(z) with z ~ N(0, 1)/τ: full support, so the induced chain is irreducible and aperiodic."""
    return softmax_rows(random_logits(rng, vocab, order, temperature))


def random_dirichlet_policy(rng: np.random.Generator, vocab: int, order: int, concentration: float = 1.0) -> np.ndarray:
    """π(·|s) ~ Dirichlet(concentration · 1_V) independently for each state."""
    return rng.dirichlet(np.full(vocab, concentration), size=vocab**order)


def uniform_policy(vocab: int, order: int) -> np.ndarray:
    """π(a|s) = 1/V for every context: the degenerate, maximal-entropy table of shape (V**k, V)."""
    return np.full((vocab**order, vocab), 1.0 / vocab)


def near_deterministic_policy(
    rng: np.random.Generator, vocab: int, order: int, temperature: float = 0.05, floor: float = 1e-5
) -> np.ndarray:
    """π = (1 − V·floor)·softmax(z/τ) + floor, z ~ N(0, 1): almost one-hot rows with every entry ≥ floor.

    softmax(z/τ) alone at τ = 0.05 has entries down to ~1e-40: log π stays finite, but 1 − 1e-40 = 1 in float64,
    so the induced chain is reducible as far as a linear solve can tell and μ_π is not determined.  The floor
    keeps the smallest transition probability at ``floor`` (μ_π then carries ~1e-16/floor round-off) and
    log π ≥ log(floor).
    """
    if not 0 < floor < 1.0 / vocab:
        raise ValueError(f"floor must lie in (0, 1/V) = (0, {1.0 / vocab:.3g}), got {floor}")
    return (1.0 - vocab * floor) * random_softmax_policy(rng, vocab, order, temperature) + floor
