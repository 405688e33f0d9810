"""Markov chains: transition matrices, n-step and stationary distributions, simulation,
absorbing chains, PageRank, and word models that learn (and write, and recognise) an author.

Every array function follows its data: NumPy in, NumPy out; CuPy in, CuPy out; functions that
make arrays from nothing (``random_graph``) take ``xp=None``, the current device. Exceptions
by design: random numbers are drawn by NumPy on the host and moved (so a seed gives the same
chain on either device); ``stationary(..., method="eigen")`` runs the eigensolver on the host
(CuPy has no solver for non-symmetric matrices) and moves the answer back; the word models
are NumPy through and through (text is CPU work).

A chain on k states is a row-stochastic matrix P (k, k): P[i, j] = P(X_{t+1} = j | X_t = i),
every row a probability distribution. Distributions are row vectors, p_{t+1} = p_t P.

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
    check_device,
    check_int,
    check_int_array,
    check_real,
    rng_from,
)
from .backend import get_array_module
from .backend import xp as current_xp

ROW_TOL = 1e-8  # how far a row of a transition matrix may sum from 1
METHODS = ("power", "eigen", "solve")
TEXTS = ("poe", "frost")
BOS, EOS, UNK = "<s>", "</s>", "<unk>"  # line start (context only), line end, unknown word


# ----------------------------------------------------------------------------- checks


def validate_transition(P, name="P", *, tol=ROW_TOL):
    """P as a float transition matrix, checked: square, no negative entry, rows summing to 1.

    Parameters
    ----------
    P : array (k, k)
    name : str, the argument's name in error messages
    tol : float, how far a row sum may be from 1

    Returns
    -------
    array (k, k) on P's device. A ValueError names the argument and the offending row.
    """
    tol = check_real(tol, "tol", low=0)
    P = check_array(P, name, ndim=(2,))
    if P.shape[0] != P.shape[1]:
        raise ValueError(f"{name} must be square (k, k), got shape {P.shape}")
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


def _check_distribution(p, name, k, xp, *, ndim=(1, 2)):
    p = check_array(p, name, ndim=ndim, xp=xp)
    if p.shape[-1] != k:
        raise ValueError(f"{name} must have {k} entries (one per state), got shape {p.shape}")
    if bool((p < 0).any()) or bool((xp.abs(p.sum(axis=-1) - 1) > ROW_TOL * k).any()):
        raise ValueError(f"{name} must hold probabilities summing to 1")
    return p


# ----------------------------------------------------------------------------- distributions


def distribution_after(P, p0, n_steps):
    """The distribution after n_steps steps from p0: p_n = p0 P^n.

    Parameters
    ----------
    P : array (k, k), a transition matrix
    p0 : array (k,) or (m, k), one start distribution or m of them, on P's device
    n_steps : int >= 0

    Returns
    -------
    array of p0's shape on P's device
    """
    xp = array_module(P=P, p0=p0)
    P = validate_transition(P)
    p0 = _check_distribution(p0, "p0", P.shape[0], xp).astype(P.dtype)
    n_steps = check_int(n_steps, "n_steps", low=0)
    return p0 @ xp.linalg.matrix_power(P, n_steps)  # P^n by repeated squaring: log2(n) products


def stationary(P, method="power", *, tol=1e-12, max_iter=100_000):
    """The stationary distribution pi = pi P of an irreducible chain, three ways.

    "power": iterate p <- p (P + I)/2 from the uniform distribution until the L1 change is
    below tol (the lazy chain (P + I)/2 has the same pi and cannot oscillate, so periodic
    chains converge too). "eigen": the left eigenvector of P for the eigenvalue nearest 1,
    scaled to sum 1 (computed on the host). "solve": the linear system pi (P - I) = 0 with one
    equation replaced by sum(pi) = 1.

    Parameters
    ----------
    P : array (k, k), the transition matrix of an irreducible chain
    method : "power", "eigen" or "solve"
    tol : float > 0, the L1 change that stops the power iteration
    max_iter : int, at most this many power steps (RuntimeError beyond)

    Returns
    -------
    array (k,) on P's device, non-negative, summing to 1
    """
    P = validate_transition(P)
    check_choice(method, "method", METHODS)
    tol = check_real(tol, "tol", low=0, low_open=True)
    max_iter = check_int(max_iter, "max_iter")
    return _stationary(P, method, tol, max_iter)


def _stationary(P, method, tol=1e-12, max_iter=100_000):
    xp = get_array_module(P)
    k = P.shape[0]
    if method == "power":
        lazy = (P + xp.eye(k, dtype=P.dtype)) / 2
        p = xp.full(k, 1 / k, dtype=P.dtype)
        for _ in range(max_iter):
            new = p @ lazy
            if float(xp.abs(new - p).sum()) < tol:
                return new / new.sum()
            p = new
        raise RuntimeError(f"the power iteration did not converge in max_iter={max_iter} "
                           f"steps to tol={tol:g}")
    if method == "eigen":
        values, vectors = np.linalg.eig(_host(P).T)  # left eigenvectors of P
        v = np.real(vectors[:, np.argmin(np.abs(values - 1))])
        return xp.asarray(np.abs(v / v.sum()), dtype=P.dtype)
    A = (P - xp.eye(k, dtype=P.dtype)).T  # pi (P - I) = 0, transposed: (P - I)^T pi = 0
    A[-1] = 1  # one equation is redundant: replace it by sum(pi) = 1
    b = xp.zeros(k, dtype=P.dtype)
    b[-1] = 1
    return xp.linalg.solve(A, b)


def _host(x):
    return x if isinstance(x, np.ndarray) else x.get()


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
    int64 array (n_chains, n_steps + 1) of states on P's device, column 0 being start
    """
    P = validate_transition(P)
    start = check_int(start, "start", low=0, high=P.shape[0] - 1, high_is="the last state")
    n_steps = check_int(n_steps, "n_steps")
    n_chains = check_int(n_chains, "n_chains")
    u = rng_from(seed).random((n_steps, n_chains))
    return _simulate(P, start, get_array_module(P).asarray(u))


def _simulate(P, start, u):
    xp = get_array_module(P)
    cdf = xp.cumsum(P, axis=1)
    n_steps, n_chains = u.shape
    states = xp.empty((n_chains, n_steps + 1), dtype=xp.int64)
    states[:, 0] = start
    last = P.shape[0] - 1
    for t in range(n_steps):  # each step needs the one before; the chains go together
        nxt = (u[t][:, None] >= cdf[states[:, t]]).sum(axis=1)
        states[:, t + 1] = xp.minimum(nxt, last)  # a cdf ending at 1 - 1e-16 must not overflow
    return states


def run_lengths(states, state):
    """The lengths of the runs of state in each row of states (consecutive steps spent in it).

    A run still going at the last step is left out (its length is not known yet); a run that
    begins at step 0 is counted.

    Parameters
    ----------
    states : int array (n_steps,) or (n_chains, n_steps), e.g. from simulate
    state : int, the state whose runs are measured

    Returns
    -------
    int64 array (n_runs,) on states' device, row by row, in order
    """
    xp = get_array_module(states)
    check_device(states, "states", xp)
    states = xp.asarray(states)
    if states.dtype.kind not in "iu":
        raise TypeError(f"states must be an integer array, got dtype {states.dtype}")
    if states.ndim not in (1, 2) or states.size == 0:
        raise ValueError(f"states must be a non-empty 1-D or 2-D array, got shape {states.shape}")
    state = check_int(state, "state", low=0)
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
    probability of ending in absorbing state j is (N R)[i, j].

    Parameters
    ----------
    P : array (k, k), a transition matrix with at least one absorbing state (P[i, i] = 1)
        that every other state can reach

    Returns
    -------
    AbsorbingChain, its arrays on P's device
    """
    P = validate_transition(P)
    xp = get_array_module(P)
    is_absorbing = xp.diagonal(P) == 1
    absorbing = xp.nonzero(is_absorbing)[0]
    transient = xp.nonzero(~is_absorbing)[0]
    if absorbing.size == 0:
        raise ValueError("P has no absorbing state (a state i with P[i, i] = 1)")
    if transient.size == 0:
        raise ValueError("P has only absorbing states: nothing to analyse")
    return _absorbing_chain(P, transient, absorbing)


def _absorbing_chain(P, transient, absorbing):
    xp = get_array_module(P)
    Q = P[transient][:, transient]
    R = P[transient][:, absorbing]
    eye = xp.eye(Q.shape[0], dtype=P.dtype)
    try:
        N = xp.linalg.solve(eye - Q, eye)
    except np.linalg.LinAlgError:  # NumPy's word for singular; CuPy returns inf or NaN
        N = None
    if N is None or not bool(xp.isfinite(N).all()) or float(N.min()) < -1e-9 or \
            float(xp.abs((eye - Q) @ N - eye).max()) > 1e-6:
        raise ValueError("P has transient states that never reach an absorbing state "
                         "(I - Q is singular)")
    return AbsorbingChain(transient, absorbing, N, N.sum(axis=1), N @ R)


# ----------------------------------------------------------------------------- PageRank


def _check_edges(edges, n_pages):
    """edges as an int64 (m, 2) array of (from, to) pages and n_pages (default: max + 1)."""
    e = check_int_array(edges, "edges", ndim=2).astype(get_array_module(edges).int64)
    if e.shape[1] != 2:
        raise ValueError(f"edges must be an (m, 2) array of (from, to) pages, got shape "
                         f"{e.shape}")
    n_pages = int(e.max()) + 1 if n_pages is None else check_int(n_pages, "n_pages")
    check_int_array(e, "edges", high=n_pages)  # every page in [0, n_pages)
    return e, n_pages


def google_matrix(edges, n_pages=None, damping=0.85):
    """The dense Google matrix G (n, n), row-stochastic: the random surfer's chain.

    From page i the surfer follows one of its d_i links at random with probability damping,
    else jumps to a page chosen uniformly; a dangling page (no links) jumps uniformly always:
    G = damping (A / d + dangling 1^T / n) + (1 - damping) 1 1^T / n. A repeated link counts
    as many times as it appears. Its stationary distribution is PageRank.

    Parameters
    ----------
    edges : int array (m, 2) of links (from page, to page)
    n_pages : int, default the largest page number + 1
    damping : float in [0, 1]

    Returns
    -------
    array (n, n) on edges' device
    """
    edges, n = _check_edges(edges, n_pages)
    damping = check_real(damping, "damping", low=0, high=1)
    xp = get_array_module(edges)
    A = xp.zeros((n, n))
    for i, j in _host(edges).tolist():  # a dense matrix is for small graphs: a loop will do
        A[i, j] += 1
    degree = A.sum(axis=1, keepdims=True)
    follow = xp.where(degree > 0, A / xp.maximum(degree, 1), 1 / n)
    return damping * follow + (1 - damping) / n


def pagerank(edges, n_pages=None, damping=0.85, *, tol=1e-10, max_iter=1000):
    """PageRank by power iteration on the sparse link matrix, never forming G.

    r <- damping (M r + (sum of r over dangling pages) / n) + (1 - damping) / n, where
    M[j, i] = 1 / d_i for each link i -> j, from the uniform r, until the L1 change is below
    n * tol (networkx's stopping rule, so equal tol means equal work). On the CPU M is a
    scipy.sparse CSR matrix; on the GPU the product M r is a scatter-add over the links
    (bincount), which CuPy runs in parallel.

    Parameters
    ----------
    edges : int array (m, 2) of links (from page, to page); repeated links count repeatedly
    n_pages : int, default the largest page number + 1
    damping : float in [0, 1)
    tol : float > 0
    max_iter : int, RuntimeError if not converged within it

    Returns
    -------
    array (n,) of ranks on edges' device, summing to 1
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
    raise RuntimeError(f"PageRank did not converge in max_iter={max_iter} iterations")


def random_graph(n_pages, n_links, *, seed=0, xp=None):
    """A random directed graph: n_links distinct links (no self-links) among n_pages pages.

    Drawn by NumPy on the host (the same graph on any device for a seed), then moved.

    Parameters
    ----------
    n_pages : int >= 2
    n_links : int in [1, n_pages (n_pages - 1) / 2]
    seed : int, numpy Generator or None
    xp : array module, default the current device's

    Returns
    -------
    int64 array (n_links, 2) of (from, to) pages, sorted
    """
    n_pages = check_int(n_pages, "n_pages", low=2)
    n_links = check_int(n_links, "n_links", high=n_pages * (n_pages - 1) // 2,
                        high_is="half the possible links")
    rng = rng_from(seed)
    codes = np.empty(0, dtype=np.int64)
    while codes.size < n_links:  # draw, drop self-links and repeats, draw again if short
        pairs = rng.integers(0, n_pages, size=(int(n_links * 1.2) + 10, 2))
        pairs = pairs[pairs[:, 0] != pairs[:, 1]]
        codes = np.unique(np.concatenate([codes, pairs[:, 0] * n_pages + pairs[:, 1]]))
    codes = np.sort(rng.choice(codes, n_links, replace=False))
    edges = np.stack([codes // n_pages, codes % n_pages], axis=1)
    return (xp or current_xp()).asarray(edges)


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


_WORD = r"[a-zæé]+(?:'[a-zæé]+)*"
_WORDS = re.compile(_WORD)
_WORDS_AND_LINE_ENDS = re.compile(_WORD + r"|\n")


def tokenize(text):
    """text as lines of lower-case words (apostrophes kept inside words, punctuation dropped);
    lines without words are left out.

    Parameters
    ----------
    text : str

    Returns
    -------
    list of lists of str
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return [words for line in text.lower().split("\n") if (words := _WORDS.findall(line))]


def _encode(text, order, index=None):
    """text as one id sequence, each line as <s> * order, its word ids, </s> (tokenize's
    lines), and the word -> id index; no Python-level loop over the words (the lookups run
    in map, in C).

    Ids: 0 <s>, 1 </s>, 2 <unk>, then the text's words in sorted order (index=None); with a
    given index, a word not in it is <unk>.
    """
    tokens = _WORDS_AND_LINE_ENDS.findall(text.lower() + "\n")
    if index is None:
        words = sorted(set(tokens) - {"\n"})
        index = {BOS: 0, EOS: 1, UNK: 2} | {w: i for i, w in enumerate(words, start=3)}
    lookup = index | {"\n": 1}  # a line end becomes </s>
    ids = np.fromiter(map(lookup.get, tokens, itertools.repeat(2)), dtype=np.int64,
                      count=len(tokens))
    ends = ids == 1
    keep = ~(ends & np.concatenate([[True], ends[:-1]]))  # drop lines without words
    ids, ends = ids[keep], ends[keep]
    line_starts = np.concatenate([[0], np.flatnonzero(ends)[:-1] + 1]) if ids.size else []
    return np.insert(ids, np.repeat(line_starts, order).astype(np.int64), 0), index


@dataclass(frozen=True)
class WordModel:
    """An order-n word model with add-k smoothing (see train_word_model)."""

    order: int
    k: float
    vocab: tuple  # id -> word; 0, 1, 2 are <s>, </s>, <unk>
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


def train_word_model(text, order=1, k=1.0):
    """Count the word n-grams of text: an order-1 (bigram) or order-2 (trigram) model.

    Each line is padded as <s> ... <s> w1 ... wL </s>, so that lines start from a known
    context and end. With add-k smoothing, P(w | c) = (count(c, w) + k) / (count(c) + k V),
    V the number of possible next words (the vocabulary, </s> and <unk>): every word, even one
    never seen after c, keeps some probability, and an unknown context gives the uniform
    distribution. k = 1 is Laplace's add-one; a smaller k trusts the counts more.

    Counting is vectorised: each (context, next) window becomes one integer code (the ids
    as digits in base V) and np.unique counts the codes.

    Parameters
    ----------
    text : str
    order : int in [1, 3], the number of previous words the next one depends on
    k : float > 0, the pseudo-count added to every (context, word) pair

    Returns
    -------
    WordModel
    """
    order = check_int(order, "order", high=3)
    k = check_real(k, "k", low=0, low_open=True)
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    ids, index = _encode(text, order)
    if len(index) == 3:
        raise ValueError("text has no words to learn from")
    vocab = tuple(index)
    V = len(vocab)
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
    if isinstance(context, str) or not all(isinstance(w, str) for w in context):
        raise TypeError("context must be a list of words (str)")
    return _next_word_probs(model, _context_code(model, [w.lower() for w in context]))


def _next_word_probs(model, code):
    V = len(model.vocab)
    lo, hi = np.searchsorted(model.ngrams, [code * V, (code + 1) * V])
    counts = np.zeros(V)
    counts[model.ngrams[lo:hi] % V] = model.ngram_counts[lo:hi]
    total = counts.sum()
    probs = (counts + model.k) / (total + model.k * model.n_outcomes)
    probs[0] = 0.0  # <s> is never predicted
    return probs


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
        logp = np.log(np.maximum(p, 1e-300)) / temperature
        p = np.where(p > 0, np.exp(logp - logp.max()), 0.0)
        i = int(rng.choice(p.size, p=p / p.sum()))
        if i == 1:
            break
        words.append(model.vocab[i])
    return " ".join(words)


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
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    ids, _ = _encode(text, model.order, model.index)
    codes = _ngram_codes(ids, model.order, len(model.vocab))
    return float(_log_probs(model, codes).sum())


def _log_probs(model, codes):
    """log P(next | context) of each n-gram code, vectorised by binary search."""
    V = len(model.vocab)
    found = np.searchsorted(model.ngrams, codes)
    found = np.minimum(found, model.ngrams.size - 1)
    count = np.where(model.ngrams[found] == codes, model.ngram_counts[found], 0)
    where = np.minimum(np.searchsorted(model.contexts, codes // V), model.contexts.size - 1)
    total = np.where(model.contexts[where] == codes // V, model.context_counts[where], 0)
    return np.log(count + model.k) - np.log(total + model.k * model.n_outcomes)


def classify(models, passages):
    """Each passage's most likely model: argmax_m log_likelihood(models[m], passage).

    Parameters
    ----------
    models : list of WordModel (e.g. one per author)
    passages : list of str

    Returns
    -------
    labels : int64 array (n_passages,), indices into models
    scores : float64 array (n_passages, n_models) of log-likelihoods
    """
    if isinstance(models, WordModel) or not models:
        raise TypeError("models must be a non-empty list of WordModel")
    for i, m in enumerate(models):
        _check_model(m, f"models[{i}]")
    if isinstance(passages, str) or not passages or \
            not all(isinstance(p, str) for p in passages):
        raise TypeError("passages must be a non-empty list of str")
    scores = np.array([[log_likelihood(m, p) for m in models] for p in passages])
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
    float >= 1
    """
    _check_model(model)
    lines = tokenize(text)
    if not lines:
        raise ValueError("text has no words")
    n = sum(len(line) + 1 for line in lines)
    return math.exp(-log_likelihood(model, text) / n)
