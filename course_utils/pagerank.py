"""PageRank: the stationary distribution of a random surfer, by sparse power iteration.

A surfer on n pages follows a random link of the page it is on with probability damping,
else jumps to a page drawn uniformly; a page without links (dangling) sends the surfer to a
uniform page. The ranks are the stationary distribution of that chain (see markov), computed
without ever forming its dense matrix: one sparse product per step.
"""

import functools
import math

import numpy as np

from ._checks import Custom, Int, Real, Seed, Xp, check_int, check_int_array, checked, rng_from
from .backend import get_array_module

MAX_DENSE_PAGES = 20_000  # google_matrix is dense: (n, n) float64, 3.2 GB at this size
MAX_PAGES = 2**31 - 1  # pagerank: rank vectors of n float64 (16 GiB at this size)


MAX_GRAPH_PAGES = math.isqrt(2**63 - 1)  # random_graph codes a link as from * n + to (int64)


def _check_edges(edges, name):
    """edges as an int64 (m, 2) array of (from, to) pages."""
    e = check_int_array(edges, name, ndim=2).astype(get_array_module(edges).int64)
    if e.shape[1] != 2:
        raise ValueError(f"{name} must be an (m, 2) array of (from, to) pages, got shape "
                         f"{e.shape}")
    return e


def _check_n_pages(n_pages, name, values, xp, most=MAX_PAGES, most_is="MAX_PAGES",
                   why="each page costs memory"):
    """n_pages (default: the largest page of values["edges"] + 1), at most `most` pages."""
    largest = int(values["edges"].max())
    if n_pages is None:
        if largest >= most:
            raise ValueError(f"edges link page {largest}: more than {most} pages ({name} is "
                             f"the largest page + 1; {why})")
        return largest + 1
    n_pages = check_int(n_pages, name, high=most, high_is=most_is)
    if largest >= n_pages:
        raise ValueError(f"edges link page {largest}, but {name} is {n_pages}: pages are "
                         f"0 to {name} - 1")
    return n_pages


EDGES = Custom(_check_edges, device_of=lambda edges: edges)


@checked(edges=EDGES,
         n_pages=Custom(functools.partial(_check_n_pages, most=MAX_DENSE_PAGES,
                                          most_is="MAX_DENSE_PAGES",
                                          why="google_matrix is dense; pagerank is not"),
                        values=True),
         damping=Real(low=0, high=1))


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
    xp, n = get_array_module(edges), n_pages
    A = xp.bincount(edges[:, 0] * n + edges[:, 1], minlength=n * n).reshape(n, n)
    degree = A.sum(axis=1, keepdims=True)
    follow = xp.where(degree > 0, A / xp.maximum(degree, 1), 1 / n)
    return damping * follow + (1 - damping) / n


@checked(edges=EDGES, n_pages=Custom(_check_n_pages, values=True),
         damping=Real(low=0, high=1, high_open=True), tol=Real(low=0, low_open=True),
         max_iter=Int())
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
    xp, n = get_array_module(edges), n_pages
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


@checked(n_pages=Int(low=2, high=MAX_GRAPH_PAGES),
         n_links=Int(high=lambda v: v["n_pages"] * (v["n_pages"] - 1) // 2,
                     high_is="half the possible links"),
         seed=Seed(), xp=Xp())
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
    rng = rng_from(seed)
    codes = np.empty(0, dtype=np.int64)
    while codes.size < n_links:  # draw, drop self-links and repeats, draw again if short
        pairs = rng.integers(0, n_pages, size=(int(n_links * 1.2) + 10, 2))
        pairs = pairs[pairs[:, 0] != pairs[:, 1]]
        codes = np.unique(np.concatenate([codes, pairs[:, 0] * n_pages + pairs[:, 1]]))
    codes = np.sort(rng.choice(codes, n_links, replace=False))
    edges = np.stack([codes // n_pages, codes % n_pages], axis=1)
    return xp.asarray(edges)
