"""Markov chains: transition matrices, n-step and stationary distributions, simulation,
absorbing chains, PageRank, and word models that learn (and write, and recognise) an author.

Every array function follows its data: NumPy in, NumPy out; CuPy in, CuPy out; functions that
make arrays from nothing (``random_graph``) take ``xp=None``, the current device. Exceptions
by design: random numbers are drawn by NumPy on the host and moved (so a seed gives the same
chain on either device); ``stationary(..., method="eigen")`` runs the eigensolver on the host
(CuPy has no solver for non-symmetric matrices) and moves the answer back, and the chain's
classes (which states reach which) are found on the host with SciPy's graph routines; the word
models are NumPy through and through (text is CPU work).

A chain on k states is a row-stochastic matrix P (k, k): P[i, j] = P(X_{t+1} = j | X_t = i),
every row a probability distribution. Distributions are row vectors, p_{t+1} = p_t P. A row
may miss 1 by the tolerance of ``validate_transition`` (rounding); the functions use each row
divided by its sum, so what they return is for that normalised chain.

Public functions check their arguments once (errors name the argument) and call private cores
(a leading underscore) that trust theirs.
"""

import importlib.resources
import itertools
import math
import re
from dataclasses import dataclass

import numpy as np

from ._checks import (
    array_module,
    check_array,
    check_choice,
    check_int,
    check_int_array,
    check_real,
    check_xp,
    rng_from,
)
from .backend import get_array_module

ROW_TOL = 1e-8  # how far a float64 row of a transition matrix may sum from 1
METHODS = ("power", "eigen", "solve")
TEXTS = ("poe", "frost")
BOS, EOS, UNK = "<s>", "</s>", "<unk>"  # line start (context only), line end, unknown word
MAX_DENSE_PAGES = 20_000  # google_matrix is dense: (n, n) float64, 3.2 GB at this size
MAX_PAGES = 2**31 - 1  # pagerank: rank vectors of n float64 (16 GiB at this size)
MAX_GRAPH_PAGES = math.isqrt(2**63 - 1)  # random_graph codes a link as from * n + to (int64)


# ----------------------------------------------------------------------------- checks


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
    k = check_int(k, "k")
    try:
        dtype = np.dtype(dtype)
    except TypeError as error:
        raise TypeError(f"dtype must be a NumPy float dtype, got {dtype!r}: {error}") from None
    if dtype.kind != "f":
        raise TypeError(f"dtype must be a float dtype, got {dtype}")
    return max(ROW_TOL, 4 * k * float(np.finfo(np.promote_types(dtype, np.float32)).eps))


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
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    P = check_array(P, name, ndim=(2,))
    if P.shape[0] != P.shape[1]:
        raise ValueError(f"{name} must be square (k, k), got shape {P.shape}")
    tol = row_tolerance(P.dtype, P.shape[0]) if tol is None else check_real(tol, "tol", low=0)
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


def _host(x):
    return x if isinstance(x, np.ndarray) else x.get()


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
    P = validate_transition(P)
    return _closed_classes(P)


def _closed_classes(P):
    from scipy.sparse.csgraph import connected_components

    edges = _host(P) > 0
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
    xp = array_module(P=P, p0=p0)
    P = validate_transition(P)
    p0 = _check_distribution(p0, "p0", P.shape[0], xp).astype(P.dtype)
    n_steps = check_int(n_steps, "n_steps", low=0)
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
    P = validate_transition(P)
    check_choice(method, "method", METHODS)
    tol = check_real(tol, "tol", low=0, low_open=True)
    max_iter = check_int(max_iter, "max_iter")
    classes = _closed_classes(P)
    if len(classes) > 1:
        raise ValueError(f"P has {len(classes)} closed classes of states ({_describe(classes)}):"
                         f" each has its own stationary distribution and every mix of them is "
                         f"stationary too, so there is no unique one. Pass one class's rows and "
                         f"columns, P[np.ix_(c, c)], for its own")
    tol = max(tol, 8 * P.shape[0] * float(np.finfo(P.dtype).eps))
    pi = _stationary(_rows_to_one(P), method, tol, max_iter)
    xp = get_array_module(pi)
    pi = xp.maximum(pi, 0)  # a state of probability 0 may come out as -1e-17
    return pi / pi.sum()


def _stationary(P, method, tol=1e-12, max_iter=100_000):
    xp = get_array_module(P)
    k = P.shape[0]
    if method == "power":
        X, n_steps = (P + xp.eye(k, dtype=P.dtype)) / 2, 1  # the lazy chain, X = L^n_steps
        while True:
            mean = X.mean(axis=0)
            if 2 * float(xp.abs(X - mean).sum(axis=1).max()) < tol:  # the rows agree
                return mean / mean.sum()
            if 2 * n_steps > max_iter:
                raise ValueError(f"the power iteration did not converge in max_iter={max_iter}"
                                 f" steps to tol={tol:g}: the chain mixes slowly; raise "
                                 f"max_iter (each doubling costs one product), or use "
                                 f"method='solve'")
            X, n_steps = _rows_to_one(X @ X), 2 * n_steps
    if method == "eigen":
        values, vectors = np.linalg.eig(_host(P).T)  # left eigenvectors of P
        v = np.real(vectors[:, np.argmin(np.abs(values - 1))])
        return xp.asarray(np.abs(v / v.sum()), dtype=P.dtype)
    leave = P * (1 - xp.eye(k, dtype=P.dtype))  # the off-diagonal moves
    A = (leave - xp.diag(leave.sum(axis=1))).T  # pi (P - I) = 0, transposed
    A[-1] = 1  # one equation is redundant: replace it by sum(pi) = 1
    b = xp.zeros(k, dtype=P.dtype)
    b[-1] = 1
    return xp.linalg.solve(A, b)


# ----------------------------------------------------------------------------- simulation


def simulate(P, start, n_steps, *, n_chains=1, seed=0):
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

    Returns
    -------
    int64 array (n_chains, n_steps + 1) of states on P's device, column 0 being start; a
    chain never moves along a transition of probability 0
    """
    P = validate_transition(P)
    start = check_int(start, "start", low=0, high=P.shape[0] - 1, high_is="the last state")
    n_steps = check_int(n_steps, "n_steps")
    n_chains = check_int(n_chains, "n_chains")
    u = rng_from(seed).random((n_steps, n_chains))
    return _simulate(P, start, get_array_module(P).asarray(u))


def _simulate(P, start, u):
    xp = get_array_module(P)
    k = P.shape[0]
    cdf = xp.cumsum(_rows_to_one(P), axis=1)
    # From each row's last possible state on, the cdf is infinite: a u above a cdf that ends
    # at 1 - 1e-16 still lands on a state the row can reach.
    last = k - 1 - xp.argmax(P[:, ::-1] > 0, axis=1)
    cdf = xp.where(xp.arange(k)[None, :] >= last[:, None], xp.inf, cdf)
    n_steps, n_chains = u.shape
    states = xp.empty((n_chains, n_steps + 1), dtype=xp.int64)
    states[:, 0] = start
    for t in range(n_steps):  # each step needs the one before; the chains go together
        states[:, t + 1] = (u[t][:, None] >= cdf[states[:, t]]).sum(axis=1)
    return states


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
    states = check_int_array(states, "states")
    if states.ndim not in (1, 2):
        raise ValueError(f"states must be a 1-D or 2-D array, got shape {states.shape}")
    state = check_int(state, "state", low=0)
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
    P = validate_transition(P)
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
    trapped = [c for c in _closed_classes(P) if c.size > 1]
    if trapped:
        raise ValueError(f"P has transient states that never reach an absorbing state: the "
                         f"closed classes {_describe(trapped)} keep the chain forever")
    return _absorbing_chain(P, transient, absorbing)


def _absorbing_chain(P, transient, absorbing):
    xp = get_array_module(P)
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


# ----------------------------------------------------------------------------- PageRank


def _check_edges(edges, n_pages, most=MAX_PAGES, most_is="MAX_PAGES",
                 why="each page costs memory"):
    """edges as an int64 (m, 2) array of (from, to) pages and n_pages (default: max + 1),
    at most `most` pages."""
    e = check_int_array(edges, "edges", ndim=2).astype(get_array_module(edges).int64)
    if e.shape[1] != 2:
        raise ValueError(f"edges must be an (m, 2) array of (from, to) pages, got shape "
                         f"{e.shape}")
    largest = int(e.max())
    if n_pages is None:
        if largest >= most:
            raise ValueError(f"edges link page {largest}: more than {most} pages (n_pages is "
                             f"the largest page + 1; {why})")
        return e, largest + 1
    n_pages = check_int(n_pages, "n_pages", high=most, high_is=most_is)
    if largest >= n_pages:
        raise ValueError(f"edges link page {largest}, but n_pages is {n_pages}: pages are "
                         f"0 to n_pages - 1")
    return e, n_pages


def google_matrix(edges, n_pages=None, damping=0.85):
    """The dense Google matrix G (n, n), row-stochastic: the random surfer's chain.

    From page i the surfer follows one of its d_i links at random with probability damping,
    else jumps to a page chosen uniformly; a dangling page (no links) jumps uniformly always:
    G = damping (A / d + dangling 1^T / n) + (1 - damping) 1 1^T / n. A repeated link counts
    as many times as it appears. Its stationary distribution is PageRank. Dense, so for small
    graphs: at most MAX_DENSE_PAGES pages (pagerank has no such limit).

    Parameters
    ----------
    edges : int array (m, 2) of links (from page, to page)
    n_pages : int in [1, MAX_DENSE_PAGES], default the largest page number + 1
    damping : float in [0, 1]

    Returns
    -------
    array (n, n) on edges' device
    """
    edges, n = _check_edges(edges, n_pages, MAX_DENSE_PAGES, "MAX_DENSE_PAGES",
                            "google_matrix is dense; pagerank is not")
    damping = check_real(damping, "damping", low=0, high=1)
    xp = get_array_module(edges)
    A = xp.bincount(edges[:, 0] * n + edges[:, 1], minlength=n * n).reshape(n, n)
    degree = A.sum(axis=1, keepdims=True)
    follow = xp.where(degree > 0, A / xp.maximum(degree, 1), 1 / n)
    return damping * follow + (1 - damping) / n


def pagerank(edges, n_pages=None, damping=0.85, *, tol=1e-10, max_iter=1000):
    """PageRank by power iteration on the sparse link matrix, never forming G.

    r <- damping (M r + (sum of r over dangling pages) / n) + (1 - damping) / n, where
    M[j, i] = 1 / d_i for each link i -> j, from the uniform r, until the L1 change is below
    n * tol (networkx's stopping rule, so equal tol means equal work). On the CPU M is a
    scipy.sparse CSR matrix; on the GPU the product M r is a scatter-add over the links
    (bincount), which CuPy runs in parallel. The error shrinks by damping per step, so a
    damping near 1 needs many steps (about log(tol) / log(damping)).

    Parameters
    ----------
    edges : int array (m, 2) of links (from page, to page); repeated links count repeatedly
    n_pages : int in [1, MAX_PAGES], default the largest page number + 1
    damping : float in [0, 1)
    tol : float > 0
    max_iter : int >= 1, ValueError if not converged within it

    Returns
    -------
    float64 array (n,) of ranks on edges' device, positive, summing to 1
    """
    edges, n = _check_edges(edges, n_pages)
    damping = check_real(damping, "damping", low=0, high=1, high_open=True)
    tol = check_real(tol, "tol", low=0, low_open=True)
    max_iter = check_int(max_iter, "max_iter")
    return _pagerank(edges, n, damping, tol, max_iter)


def _pagerank(edges, n, damping, tol, max_iter):
    xp = get_array_module(edges)
    src, dst = edges[:, 0], edges[:, 1]
    degree = xp.bincount(src, minlength=n).astype(xp.float64)
    dangling = degree == 0
    weight = 1 / degree[src]  # each link carries 1/d of its page's rank
    if xp is np:
        import scipy.sparse

        M = scipy.sparse.csr_array((weight, (dst, src)), shape=(n, n))
        product = M.__matmul__
    else:
        def product(r):
            return xp.bincount(dst, weights=r[src] * weight, minlength=n)
    r = xp.full(n, 1 / n)
    for _ in range(max_iter):
        new = damping * (product(r) + float(r[dangling].sum()) / n) + (1 - damping) / n
        if float(xp.abs(new - r).sum()) < n * tol:
            return new
        r = new
    raise ValueError(f"PageRank did not converge in max_iter={max_iter} iterations to "
                     f"tol={tol:g}: raise max_iter (a damping near 1 needs about "
                     f"log(tol) / log(damping) steps) or tol")


def random_graph(n_pages, n_links, *, seed=0, xp=None):
    """A random directed graph: n_links distinct links (no self-links) among n_pages pages.

    Drawn by NumPy on the host (the same graph on any device for a seed), then moved.

    Parameters
    ----------
    n_pages : int in [2, MAX_GRAPH_PAGES] (a link is coded as from * n_pages + to in int64)
    n_links : int in [1, n_pages (n_pages - 1) / 2]
    seed : int, numpy Generator or None
    xp : numpy, cupy or None (the current device's module)

    Returns
    -------
    int64 array (n_links, 2) of (from, to) pages, sorted
    """
    n_pages = check_int(n_pages, "n_pages", low=2, high=MAX_GRAPH_PAGES)
    n_links = check_int(n_links, "n_links", high=n_pages * (n_pages - 1) // 2,
                        high_is="half the possible links")
    xp = check_xp(xp)
    rng = rng_from(seed)
    codes = np.empty(0, dtype=np.int64)
    while codes.size < n_links:  # draw, drop self-links and repeats, draw again if short
        pairs = rng.integers(0, n_pages, size=(int(n_links * 1.2) + 10, 2))
        pairs = pairs[pairs[:, 0] != pairs[:, 1]]
        codes = np.unique(np.concatenate([codes, pairs[:, 0] * n_pages + pairs[:, 1]]))
    codes = np.sort(rng.choice(codes, n_links, replace=False))
    edges = np.stack([codes // n_pages, codes % n_pages], axis=1)
    return xp.asarray(edges)


# ----------------------------------------------------------------------------- word models


def load_text(name):
    """A public-domain text shipped with the course (see course_utils/data/README.md).

    Parameters
    ----------
    name : "poe" (poems of Edgar Allan Poe) or "frost" (poems of Robert Frost, before 1929)

    Returns
    -------
    str
    """
    check_choice(name, "name", TEXTS)
    return (importlib.resources.files("course_utils") / "data" / f"{name}.txt").read_text(
        encoding="utf-8")


_LETTERS = r"[^\W\d_]+"  # letters of any alphabet: \w without digits and the underscore
_WORD = _LETTERS + r"(?:'" + _LETTERS + r")*"
_WORDS = re.compile(_WORD)
_WORDS_AND_LINE_ENDS = re.compile(_WORD + r"|\n")


def _normalise(text):
    """Lower case, typographic apostrophes (\u2019, \u02bc) as '."""
    return text.lower().replace("\u2019", "'").replace("\u02bc", "'")


def tokenize(text):
    """text as lines of lower-case words (letters of any alphabet, apostrophes kept inside
    words, typographic apostrophes as '; digits and punctuation dropped); lines without words
    are left out.

    Parameters
    ----------
    text : str

    Returns
    -------
    list of lists of str
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return [words for line in _normalise(text).split("\n") if (words := _WORDS.findall(line))]


def _encode(text, order, index=None):
    """text as one id sequence, each line as <s> * order, its word ids, </s> (tokenize's
    lines), and the word -> id index; no Python-level loop over the words (the lookups run
    in map, in C).

    Ids: 0 <s>, 1 </s>, 2 <unk>, then the text's words in sorted order (index=None); with a
    given index, a word not in it is <unk>.
    """
    tokens = _WORDS_AND_LINE_ENDS.findall(_normalise(text) + "\n")
    if index is None:
        index = _index(set(tokens) - {"\n"})
    lookup = index | {"\n": 1}  # a line end becomes </s>
    ids = np.fromiter(map(lookup.get, tokens, itertools.repeat(2)), dtype=np.int64,
                      count=len(tokens))
    ends = ids == 1
    keep = ~(ends & np.concatenate([[True], ends[:-1]]))  # drop lines without words
    ids, ends = ids[keep], ends[keep]
    line_starts = np.concatenate([[0], np.flatnonzero(ends)[:-1] + 1]) if ids.size else []
    return np.insert(ids, np.repeat(line_starts, order).astype(np.int64), 0), index


def _index(words):
    """word -> id: <s>, </s>, <unk>, then the words in sorted (alphabetical) order."""
    return {BOS: 0, EOS: 1, UNK: 2} | {w: i for i, w in enumerate(sorted(words), start=3)}


@dataclass(frozen=True)
class WordModel:
    """An order-n word model with add-k smoothing (see train_word_model)."""

    order: int
    k: float
    vocab: tuple  # id -> word; 0, 1, 2 are <s>, </s>, <unk>, then the words in sorted order
    index: dict  # word -> id
    ngrams: np.ndarray  # sorted codes of the (context, next word) seen in training
    ngram_counts: np.ndarray  # their counts
    contexts: np.ndarray  # sorted codes of the contexts seen
    context_counts: np.ndarray  # how often each was followed by a word

    @property
    def n_outcomes(self):
        """How many words can come next: the vocabulary, less <s>."""
        return len(self.vocab) - 1

    def counts(self):
        """{(context words..., next word): count} for every n-gram seen in training."""
        V = len(self.vocab)
        ids = [self.ngrams // V**p % V for p in range(self.order, -1, -1)]
        return {tuple(self.vocab[i[j]] for i in ids): int(c)
                for j, c in enumerate(self.ngram_counts.tolist())}


def _ngram_codes(ids, order, V):
    """Codes sum_j ids[t + j] V^(order - j) of every window of order + 1 ids whose last id is
    not <s> (a window that reaches into the next line's padding predicts nothing)."""
    n = ids.size - order
    codes = np.zeros(max(n, 0), dtype=np.int64)
    for j in range(order + 1):
        codes = codes * V + ids[j:j + n]
    return codes[ids[order:] != 0]


def _check_vocabulary(vocabulary):
    if isinstance(vocabulary, str | bytes) or not hasattr(vocabulary, "__iter__"):
        raise TypeError(f"vocabulary must be a collection of words (str), got "
                        f"{type(vocabulary).__name__}")
    words = set()
    for word in vocabulary:
        if not isinstance(word, str):
            raise TypeError(f"vocabulary must hold words (str), got {type(word).__name__}")
        normal = _normalise(word)
        if not _WORDS.fullmatch(normal):
            raise ValueError(f"vocabulary must hold single words as tokenize gives them, got "
                             f"{word!r}")
        words.add(normal)
    return words


def train_word_model(text, order=1, k=1.0, *, vocabulary=None):
    """Count the word n-grams of text: an order-1 (bigram) or order-2 (trigram) model.

    Each line is padded as <s> ... <s> w1 ... wL </s>, so that lines start from a known
    context and end. With add-k smoothing, P(w | c) = (count(c, w) + k) / (count(c) + k V),
    V the number of possible next words (the vocabulary, </s> and <unk>): every word, even one
    never seen after c, keeps some probability, and an unknown context gives the uniform
    distribution. k = 1 is Laplace's add-one; a smaller k trusts the counts more.

    Counting is vectorised: each (context, next) window becomes one integer code (the ids
    as digits in base V) and np.unique counts the codes. The codes must fit 64 bits, so V
    is at most about 2 million words for order 2 and 55 000 for order 3 (ValueError beyond).

    Parameters
    ----------
    text : str, with at least one word
    order : int in [1, 3], the number of previous words the next one depends on
    k : float > 0, the pseudo-count added to every (context, word) pair
    vocabulary : collection of words, or None (the words of text). Models given the same
        vocabulary give probabilities over the same words, so their likelihoods compare
        word for word; a word of text outside it counts as <unk>.

    Returns
    -------
    WordModel
    """
    order = check_int(order, "order", high=3)
    k = check_real(k, "k", low=0, low_open=True)
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    index = None if vocabulary is None else _index(_check_vocabulary(vocabulary))
    ids, index = _encode(text, order, index)
    if not bool((ids > 1).any()):
        raise ValueError("text has no words to learn from")
    vocab = tuple(index)
    V = len(vocab)
    if V ** (order + 1) >= 2**63:
        most = round(2 ** (63 / (order + 1)))
        while most ** (order + 1) >= 2**63:
            most -= 1
        raise ValueError(f"text has {V - 3} different words: too many for an order-{order} "
                         f"model, whose n-gram codes (base V, {order + 1} digits) must fit "
                         f"64 bits (at most {most - 3} words; use a smaller order, or a "
                         f"vocabulary)")
    codes = _ngram_codes(ids, order, V)
    ngrams, ngram_counts = np.unique(codes, return_counts=True)
    contexts = np.unique(ngrams // V)
    # a context's count is the sum of its n-grams' counts (sorted n-grams group by context)
    context_counts = np.add.reduceat(ngram_counts, np.searchsorted(ngrams // V, contexts))
    return WordModel(order, k, vocab, index, ngrams, ngram_counts, contexts, context_counts)


def _check_model(model, name="model"):
    if not isinstance(model, WordModel):
        raise TypeError(f"{name} must be a WordModel (from train_word_model), got "
                        f"{type(model).__name__}")
    return model


def _check_text(text, name="text"):
    if not isinstance(text, str):
        raise TypeError(f"{name} must be a str, got {type(text).__name__}")
    return text


def _check_context(context):
    """context as a list of lower-case words (any iterable of str; a str itself is refused,
    since its letters are not words)."""
    if isinstance(context, str | bytes) or not hasattr(context, "__iter__"):
        raise TypeError(f"context must be a list of words (str), got {type(context).__name__}")
    context = list(context)
    if not all(isinstance(w, str) for w in context):
        raise TypeError("context must be a list of words (str)")
    return [_normalise(w) for w in context]


def _context_code(model, context):
    """The code of the last `order` words of context (padded with <s>; unknown -> <unk>)."""
    ids = [0] * model.order + [model.index.get(w, model.index[UNK]) for w in context]
    code = 0
    for i in ids[len(ids) - model.order:]:
        code = code * len(model.vocab) + i
    return code


def next_word_probs(model, context):
    """P(next word | the last `order` words of context) for every word of the vocabulary.

    Parameters
    ----------
    model : WordModel
    context : list of str, the words so far in the line (may be empty; unknown words are
        <unk>, never a KeyError)

    Returns
    -------
    float64 array (len(model.vocab),), summing to 1, 0 at <s>
    """
    _check_model(model)
    return _next_word_probs(model, _context_code(model, _check_context(context)))


def _next_word_probs(model, code):
    V = len(model.vocab)
    lo, hi = np.searchsorted(model.ngrams, [code * V, (code + 1) * V])
    counts = np.zeros(V)
    counts[model.ngrams[lo:hi] % V] = model.ngram_counts[lo:hi]
    total = counts.sum()
    scale = max(model.k, 1.0)  # counts and k divided by max(k, 1): no overflow for k = 1e308
    probs = (counts / scale + model.k / scale) / (total / scale + model.k / scale *
                                                  model.n_outcomes)
    probs[0] = 0.0  # <s> is never predicted
    return probs


def suggest(model, context, n=3):
    """The n words the model finds likeliest after context, as a phone's keyboard offers
    them above the keys: likeliest first, equal probabilities (equal counts) in alphabetical
    order, so every machine suggests the same. <s>, </s> and <unk> are never suggested.

    Parameters
    ----------
    model : WordModel
    context : list of str, the words typed so far in the line
    n : int >= 1, how many suggestions (fewer when the vocabulary is smaller)

    Returns
    -------
    list of (word, probability) pairs
    """
    _check_model(model)
    context = _check_context(context)
    n = check_int(n, "n")
    probs = _next_word_probs(model, _context_code(model, context))[3:]  # words only
    order = np.argsort(-probs, kind="stable")[:n]  # ids are alphabetical: ties stay so
    return [(model.vocab[3 + i], float(probs[i])) for i in order.tolist()]


def sample_line(model, *, seed=0, temperature=1.0, max_words=40):
    """A new line drawn word by word from the model, stopping at </s> or max_words.

    Temperature T reshapes each distribution to p^(1/T), renormalised: T = 1 samples the
    model, T < 1 sharpens it towards the likeliest word, T > 1 flattens it towards uniform.
    <unk> is never written.

    Parameters
    ----------
    model : WordModel
    seed : int, numpy Generator or None
    temperature : float > 0
    max_words : int >= 1

    Returns
    -------
    str, the words joined by spaces
    """
    _check_model(model)
    temperature = check_real(temperature, "temperature", low=0, low_open=True)
    max_words = check_int(max_words, "max_words")
    rng = rng_from(seed)
    words = []
    while len(words) < max_words:
        p = _next_word_probs(model, _context_code(model, words))
        p[model.index[UNK]] = 0.0
        with np.errstate(divide="ignore", over="ignore"):  # log 0 = -inf; -x / 1e-320 = -inf
            logp = (np.log(p) - np.log(p.max())) / temperature  # the likeliest at exactly 0
        p = np.exp(logp)
        i = int(rng.choice(p.size, p=p / p.sum()))
        if i == 1:
            break
        words.append(model.vocab[i])
    return " ".join(words)


def token_log_probs(model, text):
    """The natural log of P(token | context) for each token of text in order: each word and
    each line's end (</s>), lines as tokenize splits them. Models of any order predict the
    same tokens, so their arrays line up (to interpolate two models, say).

    Parameters
    ----------
    model : WordModel
    text : str (unknown words count as <unk>)

    Returns
    -------
    float64 array (n_tokens,) of values < 0; empty for a text without words
    """
    _check_model(model)
    return _token_log_probs(model, _check_text(text))


def _token_log_probs(model, text):
    ids, _ = _encode(text, model.order, model.index)
    return _log_probs(model, _ngram_codes(ids, model.order, len(model.vocab)))


def log_likelihood(model, text):
    """The natural log of the probability the model gives text, line by line (each line from
    its start context to </s>): sum over the line's words and its end of log P(w | context).

    Parameters
    ----------
    model : WordModel
    text : str (unknown words count as <unk>)

    Returns
    -------
    float (<= 0); 0.0 for a text without words
    """
    _check_model(model)
    return float(_token_log_probs(model, _check_text(text)).sum())


def _log_probs(model, codes):
    """log P(next | context) of each n-gram code, vectorised by binary search."""
    V = len(model.vocab)
    found = np.searchsorted(model.ngrams, codes)
    found = np.minimum(found, model.ngrams.size - 1)
    count = np.where(model.ngrams[found] == codes, model.ngram_counts[found], 0)
    where = np.minimum(np.searchsorted(model.contexts, codes // V), model.contexts.size - 1)
    total = np.where(model.contexts[where] == codes // V, model.context_counts[where], 0)
    scale = max(model.k, 1.0)  # as in _next_word_probs: no overflow for a huge k
    return np.log(count / scale + model.k / scale) - \
        np.log(total / scale + model.k / scale * model.n_outcomes)


def _check_list(values, name, kind, check):
    if isinstance(values, str | bytes | WordModel) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a non-empty list of {kind}, got "
                        f"{type(values).__name__}")
    values = list(values)
    if not values:
        raise ValueError(f"{name} must be a non-empty list of {kind}, got an empty one")
    for i, value in enumerate(values):
        check(value, f"{name}[{i}]")
    return values


def classify(models, passages):
    """Each passage's most likely model: argmax_m log_likelihood(models[m], passage); a tie
    goes to the first model.

    Parameters
    ----------
    models : list of WordModel (e.g. one per author)
    passages : list of str, each with at least one word (a passage without words is equally
        likely, probability 1, under every model: a ValueError names it)

    Returns
    -------
    labels : int64 array (n_passages,), indices into models
    scores : float64 array (n_passages, n_models) of log-likelihoods
    """
    models = _check_list(models, "models", "WordModel", _check_model)
    passages = _check_list(passages, "passages", "str", _check_text)
    scores = np.empty((len(passages), len(models)))
    for i, passage in enumerate(passages):
        for j, model in enumerate(models):
            log_probs = _token_log_probs(model, passage)
            if log_probs.size == 0:
                raise ValueError(f"passages[{i}] has no words: every model gives it "
                                 f"probability 1, so none is likelier")
            scores[i, j] = log_probs.sum()
    return scores.argmax(axis=1), scores


def perplexity(model, text):
    """exp(-log-likelihood / number of predicted tokens): the model's average branching
    factor on text (lower is better; V for a uniform guess over V words).

    Parameters
    ----------
    model : WordModel
    text : str with at least one word

    Returns
    -------
    float >= 1 (a ValueError when it is beyond the largest float, as with a tiny k and
    unknown words: compare log-likelihoods then)
    """
    _check_model(model)
    log_probs = _token_log_probs(model, _check_text(text))
    if log_probs.size == 0:
        raise ValueError("text has no words")
    mean = -float(log_probs.mean())
    if mean > math.log(np.finfo(np.float64).max):
        raise ValueError(f"the perplexity of text, e^{mean:.1f}, is beyond the largest float "
                         f"(about e^709.8): compare log-likelihoods or token_log_probs")
    return math.exp(mean)
