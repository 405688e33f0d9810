"""Markov chains: transition matrices, n-step and stationary distributions, simulation and
absorbing chains. (PageRank is in ``pagerank``, word models in ``ngrams``.)

Every array function follows its data: NumPy in, NumPy out; CuPy in, CuPy out. Exceptions by
design: random numbers are drawn by NumPy on the host and moved (so a seed gives the same chain
on either device); ``stationary(..., method="eigen")`` runs the eigensolver on the host (CuPy
has no solver for non-symmetric matrices) and moves the answer back, and the chain's classes
(which states reach which) are found on the host with SciPy's graph routines.

A chain on k states is a row-stochastic matrix P (k, k): P[i, j] = P(X_{t+1} = j | X_t = i),
every row a probability distribution. Distributions are row vectors, p_{t+1} = p_t P. A row
may miss 1 by the tolerance of ``validate_transition`` (rounding); the functions use each row
divided by its sum, so what they return is for that normalised chain.

Public functions declare their checks with ``checked`` (errors name the argument); the checks
run at the outermost call only, so these functions call each other without checking twice.
"""

from dataclasses import dataclass

import numpy as np

from ._checks import (
    Choice,
    Custom,
    Int,
    IntArray,
    Optional,
    Real,
    Seed,
    Text,
    check_array,
    checked,
    rng_from,
)
from .backend import get_array_module, to_numpy

ROW_TOL = 1e-8  # how far a float64 row of a transition matrix may sum from 1
METHODS = ("power", "eigen", "solve")


# ----------------------------------------------------------------------------- checks


@checked(k=Int())
def row_tolerance(dtype, k):
    """How far a row of k probabilities of this float dtype may sum from 1: ROW_TOL, or 4 k
    machine epsilons of the dtype when that is more (float32 rounds at about 1.2e-7, so a
    float32 row of k entries may honestly miss 1 by several k times that).

    Parameters
    ----------
    dtype : a NumPy float dtype (float16 is checked as float32, as check_array converts it)
    k : int >= 1, the number of entries in a row

    Returns
    -------
    float
    """
    try:
        dtype = np.dtype(dtype)
    except TypeError as error:
        raise TypeError(f"dtype must be a NumPy float dtype, got {dtype!r}: {error}") from None
    if dtype.kind != "f":
        raise TypeError(f"dtype must be a float dtype, got {dtype}")
    return max(ROW_TOL, 4 * k * float(np.finfo(np.promote_types(dtype, np.float32)).eps))


@checked(name=Text(), tol=Optional(Real(low=0)))
def validate_transition(P, name="P", *, tol=None):
    """P as a float transition matrix, checked: square, no negative entry, rows summing to 1.

    Parameters
    ----------
    P : array (k, k)
    name : str, the argument's name in error messages
    tol : float >= 0 or None, how far a row sum may be from 1; None: row_tolerance(P's
        dtype, k), 1e-8 for float64 and about 5e-7 k for float32

    Returns
    -------
    array (k, k) on P's device (integers and booleans as float64). A ValueError names the
    argument and the offending row.
    """
    P = check_array(P, name, ndim=(2,))
    if P.shape[0] != P.shape[1]:
        raise ValueError(f"{name} must be square (k, k), got shape {P.shape}")
    tol = row_tolerance(P.dtype, P.shape[0]) if tol is None else tol
    xp = get_array_module(P)
    negative = (P < 0).any(axis=1)
    if bool(negative.any()):
        row = int(xp.argmax(negative))
        raise ValueError(f"{name} has a negative entry in row {row}: min {float(P[row].min()):g}")
    sums = P.sum(axis=1)
    off = xp.abs(sums - 1) > tol
    if bool(off.any()):
        row = int(xp.argmax(off))
        raise ValueError(f"{name}'s row {row} sums to {float(sums[row]):.10g}, not 1 "
                         f"(tolerance {tol:g}): each row must be a probability distribution")
    return P


def _rows_to_one(M):
    """M with each row divided by its sum (rows of a validated chain miss 1 by rounding)."""
    return M / M.sum(axis=-1, keepdims=True)


def _check_distribution(p, name, k, xp, *, ndim=(1, 2)):
    """p as one (k,) or m (m, k) probability distributions, each divided by its sum."""
    p = check_array(p, name, ndim=ndim, xp=xp)
    if p.shape[-1] != k:
        raise ValueError(f"{name} must have {k} entries (one per state), got shape {p.shape}")
    if bool((p < 0).any()) or \
            bool((xp.abs(p.sum(axis=-1) - 1) > row_tolerance(p.dtype, k)).any()):
        raise ValueError(f"{name} must hold probabilities summing to 1")
    return _rows_to_one(p)


# P checked as a transition matrix; it sets the call's device
TRANSITION = Custom(validate_transition, device_of=lambda P: P)


@checked(P=TRANSITION)
def closed_classes(P):
    """The closed classes of the chain P: the sets of states that reach each other and that
    the chain never leaves (the strongly connected components of the graph i -> j where
    P[i, j] > 0, with no edge out). A finite chain ends in one of them; it has a unique
    stationary distribution exactly when it has one closed class, and it is absorbing when
    every closed class is a single state with P[i, i] = 1.

    Parameters
    ----------
    P : array (k, k), a transition matrix (only where it is positive matters)

    Returns
    -------
    list of int64 NumPy arrays, each the sorted states of one class, ordered by their first
    state
    """
    from scipy.sparse.csgraph import connected_components

    edges = to_numpy(P) > 0
    n, labels = connected_components(edges, directed=True, connection="strong")
    rows, cols = np.nonzero(edges)
    leaving = np.unique(labels[rows[labels[rows] != labels[cols]]])
    classes = [np.flatnonzero(labels == c) for c in np.setdiff1d(np.arange(n), leaving)]
    return sorted(classes, key=lambda c: int(c[0]))


def _describe(classes, most=4):
    shown = ", ".join("{" + ", ".join(map(str, c[:6].tolist())) + (", ..." if c.size > 6 else "")
                      + "}" for c in classes[:most])
    return shown + (f" and {len(classes) - most} more" if len(classes) > most else "")


# ----------------------------------------------------------------------------- distributions


def _start_distribution(p0, name, values, xp):
    """p0 checked against the chain values["P"], in its dtype."""
    P = values["P"]
    return _check_distribution(p0, name, P.shape[0], xp).astype(P.dtype)


@checked(P=TRANSITION, p0=Custom(_start_distribution, values=True, device_of=lambda p: p),
         n_steps=Int(low=0))
def distribution_after(P, p0, n_steps):
    """The distribution after n_steps steps from p0: p_n = p0 P^n.

    P^n by repeated squaring (at most 2 log2(n) products: 120 for n = 10**18), each product's
    rows divided by their sums: rounding would otherwise grow with every squaring and
    overflow. The result stays a distribution for any n.

    Parameters
    ----------
    P : array (k, k), a transition matrix
    p0 : array (k,) or (m, k), one start distribution or m of them, on P's device
    n_steps : int >= 0 (any size)

    Returns
    -------
    array of p0's shape on P's device, each row non-negative and summing to 1
    """
    return _rows_to_one(p0 @ _chain_power(_rows_to_one(P), n_steps))


def _chain_power(P, n):
    """P^n for a row-stochastic P, by repeated squaring with rows renormalised."""
    xp = get_array_module(P)
    result, base = None, P
    while n:
        if n & 1:
            result = base if result is None else _rows_to_one(result @ base)
        n >>= 1
        if n:
            square = _rows_to_one(base @ base)
            if bool((square == base).all()):  # P^(2^j) no longer changes: nor will the rest
                return base if result is None else _rows_to_one(result @ base)
            base = square
    return xp.eye(P.shape[0], dtype=P.dtype) if result is None else result


@checked(P=TRANSITION, method=Choice(*METHODS), tol=Real(low=0, low_open=True), max_iter=Int())
def stationary(P, method="power", *, tol=1e-12, max_iter=100_000):
    """The stationary distribution pi = pi P of a chain that has exactly one, three ways.

    A chain has a unique stationary distribution when it has one closed class (see
    closed_classes; an irreducible chain is one closed class, and transient states around it
    get probability 0). With several closed classes every mix of their own distributions is
    stationary, and this is a ValueError that lists the classes: pass one class's rows and
    columns, ``P[np.ix_(c, c)]``.

    "power": from any start the distribution after n steps tends to pi, so the rows of P^n
    (one per start) become equal, each to pi. Square the lazy chain L = (P + I)/2 (same pi, and
    it cannot oscillate, so periodic chains converge too): L, L^2, L^4, ..., until the rows
    agree to tol in L1. Since pi = pi L^n is a mix of the rows, every row, and their mean
    (returned), is then within tol of pi: the stopping rule bounds the error, however slowly
    the chain mixes. "eigen": the left eigenvector of P for the eigenvalue nearest 1, scaled
    to sum 1 (computed on the host); an eigenvector is as ill-conditioned as the gap to the
    next eigenvalue is small (a chain that leaves its states with probability 1e-12 gets
    about 6 digits). "solve": the linear system pi (P - I) = 0 with one
    equation replaced by sum(pi) = 1, the diagonal of P - I taken as minus each row's
    off-diagonal sum (1 - P_ii would lose the digits of a state that is rarely left).

    Parameters
    ----------
    P : array (k, k), a transition matrix with one closed class
    method : "power", "eigen" or "solve"
    tol : float > 0, how far in L1 the power iteration's answer may be from pi; a tol finer
        than P's dtype can resolve (8 k machine epsilons) is raised to that
    max_iter : int >= 1, at most this many steps of the chain for "power" (L^n with
        n <= max_iter, about log2(max_iter) matrix products; ValueError beyond)

    Returns
    -------
    array (k,) on P's device, non-negative, summing to 1
    """
    classes = closed_classes(P)
    if len(classes) > 1:
        raise ValueError(f"P has {len(classes)} closed classes of states ({_describe(classes)}):"
                         f" each has its own stationary distribution and every mix of them is "
                         f"stationary too, so there is no unique one. Pass one class's rows and "
                         f"columns, P[np.ix_(c, c)], for its own")
    tol = max(tol, 8 * P.shape[0] * float(np.finfo(P.dtype).eps))
    xp = get_array_module(P)
    P, k = _rows_to_one(P), P.shape[0]
    if method == "power":
        X, n_steps = (P + xp.eye(k, dtype=P.dtype)) / 2, 1  # the lazy chain, X = L^n_steps
        while True:
            mean = X.mean(axis=0)
            if 2 * float(xp.abs(X - mean).sum(axis=1).max()) < tol:  # the rows agree
                pi = mean / mean.sum()
                break
            if 2 * n_steps > max_iter:
                raise ValueError(f"the power iteration did not converge in max_iter={max_iter}"
                                 f" steps to tol={tol:g}: the chain mixes slowly; raise "
                                 f"max_iter (each doubling costs one product), or use "
                                 f"method='solve'")
            X, n_steps = _rows_to_one(X @ X), 2 * n_steps
    elif method == "eigen":
        values, vectors = np.linalg.eig(to_numpy(P).T)  # left eigenvectors of P
        v = np.real(vectors[:, np.argmin(np.abs(values - 1))])
        pi = xp.asarray(np.abs(v / v.sum()), dtype=P.dtype)
    else:
        leave = P * (1 - xp.eye(k, dtype=P.dtype))  # the off-diagonal moves
        A = (leave - xp.diag(leave.sum(axis=1))).T  # pi (P - I) = 0, transposed
        A[-1] = 1  # one equation is redundant: replace it by sum(pi) = 1
        b = xp.zeros(k, dtype=P.dtype)
        b[-1] = 1
        pi = xp.linalg.solve(A, b)
    pi = xp.maximum(pi, 0)  # a state of probability 0 may come out as -1e-17
    return pi / pi.sum()


# ----------------------------------------------------------------------------- simulation


def _uniforms(u, name, values, xp):
    """u checked as (n_steps, n_chains) numbers in [0, 1)."""
    u = check_array(u, name, ndim=(2,), xp=xp)
    shape = (values["n_steps"], values["n_chains"])
    if u.shape != shape:
        raise ValueError(f"{name} must be (n_steps, n_chains) = {shape}, got shape {u.shape}")
    if bool(((u < 0) | (u >= 1)).any()):
        raise ValueError(f"{name} must hold numbers in [0, 1)")
    return u


@checked(P=TRANSITION,
         start=Int(low=0, high=lambda v: v["P"].shape[0] - 1, high_is="the last state"),
         n_steps=Int(), n_chains=Int(), seed=Seed(),
         uniforms=Optional(Custom(_uniforms, values=True, device_of=lambda u: u)))
def simulate(P, start, n_steps, *, n_chains=1, seed=0, uniforms=None):
    """n_chains independent runs of the chain, all advanced together, one step at a time.

    Each step draws one uniform u per chain and moves chain c to the first state j with
    u < P[x_c, 0] + ... + P[x_c, j] (inverse-CDF sampling), for all chains at once. The
    uniforms are drawn by NumPy on the host and moved: a seed gives the same runs on any
    device.

    Parameters
    ----------
    P : array (k, k), a transition matrix
    start : int in [0, k), the state every chain starts in
    n_steps : int >= 1
    n_chains : int >= 1
    seed : int, numpy Generator or None (see _checks.check_seed)
    uniforms : float array (n_steps, n_chains) in [0, 1), or None (drawn from seed): the
        uniform numbers to move by, row t moving every chain from step t to t + 1

    Returns
    -------
    int64 array (n_chains, n_steps + 1) of states on P's device, column 0 being start; a
    chain never moves along a transition of probability 0
    """
    xp = get_array_module(P)
    u = xp.asarray(rng_from(seed).random((n_steps, n_chains))) if uniforms is None else uniforms
    k = P.shape[0]
    cdf = xp.cumsum(_rows_to_one(P), axis=1)
    # From each row's last possible state on, the cdf is infinite: a u above a cdf that ends
    # at 1 - 1e-16 still lands on a state the row can reach.
    last = k - 1 - xp.argmax(P[:, ::-1] > 0, axis=1)
    cdf = xp.where(xp.arange(k)[None, :] >= last[:, None], xp.inf, cdf)
    states = xp.empty((n_chains, n_steps + 1), dtype=xp.int64)
    states[:, 0] = start
    for t in range(n_steps):  # each step needs the one before; the chains go together
        states[:, t + 1] = (u[t][:, None] >= cdf[states[:, t]]).sum(axis=1)
    return states


@checked(states=IntArray(), state=Int(low=0))
def run_lengths(states, state):
    """The lengths of the runs of state in each row of states (consecutive steps spent in it).

    A run still going at the last step is left out (its length is not known yet); a run that
    begins at step 0 is counted.

    Parameters
    ----------
    states : int array (n_steps,) or (n_chains, n_steps) of states >= 0, e.g. from simulate
    state : int >= 0, the state whose runs are measured

    Returns
    -------
    int64 array (n_runs,) on states' device, row by row, in order
    """
    if states.ndim not in (1, 2):
        raise ValueError(f"states must be a 1-D or 2-D array, got shape {states.shape}")
    xp = get_array_module(states)
    inside = (states.reshape(-1, states.shape[-1]) == state).astype(xp.int8)
    pad = xp.zeros((inside.shape[0], 1), dtype=xp.int8)
    edges = xp.diff(xp.concatenate([pad, inside, pad], axis=1), axis=1)  # +1 enter, -1 leave
    _, begins = xp.nonzero(edges == 1)
    _, ends = xp.nonzero(edges == -1)  # pairs with begins: each row's runs, in order
    finished = ends < inside.shape[1]
    return (ends - begins)[finished].astype(xp.int64)


# ----------------------------------------------------------------------------- absorbing chains


@dataclass(frozen=True)
class AbsorbingChain:
    """What an absorbing chain's fundamental matrix tells (see absorbing_chain)."""

    transient: object  # int64 array (t,): the transient states, in order
    absorbing: object  # int64 array (a,): the absorbing states, in order
    N: object  # (t, t): N[i, j] = expected visits to j starting from i, N = (I - Q)^-1
    steps: object  # (t,): expected visits to transient states before absorption, N 1
    B: object  # (t, a): B[i, j] = P(absorbed in absorbing[j] | start in transient[i]), N R


@checked(P=TRANSITION)
def absorbing_chain(P):
    """Fundamental-matrix quantities of an absorbing chain.

    Order the states transient first: P = [[Q, R], [0, I]]. Starting from transient i, the
    expected number of visits to transient j is N[i, j], N = I + Q + Q^2 + ... = (I - Q)^-1;
    the expected number of steps to absorption (counting the start) is N 1, and the
    probability of ending in absorbing state j is (N R)[i, j]. A state is absorbing when its
    row has no entry off the diagonal. The diagonal of I - Q is taken as each row's
    off-diagonal sum (1 - Q_ii would lose the digits of a state left with probability 1e-13),
    and the rows of B are divided by their sums (each is a distribution). Accuracy: I - Q is
    as ill-conditioned as absorption is slow, so expect a relative error of about the
    expected number of steps times P's machine epsilon (a chain that is absorbed after 1e12
    steps keeps about 4 digits).

    Parameters
    ----------
    P : array (k, k), a transition matrix with at least one absorbing state that every other
        state can reach (ValueError otherwise, naming the states that cannot)

    Returns
    -------
    AbsorbingChain, its arrays on P's device
    """
    xp = get_array_module(P)
    P = _rows_to_one(P)
    off_diagonal = P * (1 - xp.eye(P.shape[0], dtype=P.dtype))
    is_absorbing = ~(off_diagonal > 0).any(axis=1)
    absorbing = xp.nonzero(is_absorbing)[0]
    transient = xp.nonzero(~is_absorbing)[0]
    if absorbing.size == 0:
        raise ValueError("P has no absorbing state (a state i with P[i, i] = 1)")
    if transient.size == 0:
        raise ValueError("P has only absorbing states: nothing to analyse")
    trapped = [c for c in closed_classes(P) if c.size > 1]
    if trapped:
        raise ValueError(f"P has transient states that never reach an absorbing state: the "
                         f"closed classes {_describe(trapped)} keep the chain forever")
    leave = P[transient] * (1 - xp.eye(P.shape[0], dtype=P.dtype)[transient])
    Q = P[transient][:, transient]
    R = P[transient][:, absorbing]
    eye = xp.eye(Q.shape[0], dtype=P.dtype)
    I_minus_Q = xp.diag(leave.sum(axis=1)) - Q * (1 - eye)  # diagonal 1 - Q_ii = the rest
    try:
        N = xp.linalg.solve(I_minus_Q, eye)
    except np.linalg.LinAlgError:  # NumPy's word for singular; CuPy returns inf or NaN
        N = xp.full_like(eye, xp.inf)
    if not bool(xp.isfinite(N).all()):  # a leak below the smallest float: visits overflow
        raise ValueError(f"P's transient states are left so rarely that I - Q is singular in "
                         f"{P.dtype} (the expected visits overflow)")
    return AbsorbingChain(transient, absorbing, N, N.sum(axis=1), _rows_to_one(N @ R))


def __getattr__(name):
    """Names that moved to another module keep working for one release, with a warning."""
    from ._deprecated import moved

    return moved(__name__, name)
