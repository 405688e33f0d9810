"""Clustering without labels: k-means (Lloyd, k-means++, soft), the silhouette, and
agglomerative clustering with single, complete, average and Ward linkage.

Every function follows its data: NumPy arrays in, NumPy out; CuPy in, CuPy out. A call
whose arrays are on different devices raises DeviceMismatchError naming the argument.
Exceptions by design: k-means++ draws its random numbers on the host (NumPy), so it picks the
same rows on either device, and linkage returns SciPy's linkage matrix as NumPy.
Distances are computed a block of rows at a time, so memory stays bounded for large n, and
relative to a centre in the middle of the data (see _blocks.centred), so that an offset of
the data (1e9, or 1e4 in float32) does not eat the distances' digits.

Public functions declare their checks (@checked): they run once, at the outermost call, and
a public function calls another freely. lloyd_step is the plain Lloyd step that lesson 06
shows; kmeans runs a tuned engine (the private functions on "columns" below: points as
columns with a row of ones, blocks sized for one BLAS thread) that the tests prove equal to
it, step by step, ties and empty clusters included.
"""

import warnings
from dataclasses import dataclass

import numpy as np

from ._blocks import BLOCK, Centres, K, Samples, centre_of, centred, row_blocks
from ._checks import (
    Check,
    Choice,
    Int,
    Labels,
    Optional,
    Real,
    Seed,
    check_array,
    checked,
    rng_from,
)
from .backend import get_array_module

# Points in one k-means block: the most whose distance product OpenBLAS still does on one
# thread (2^18 multiply-adds: about 1900 points for k = 8, d = 16), for it splits larger
# products over threads, which for products this thin costs more than it saves (on a busy
# machine, many times more). But at least MIN_BLOCK_POINTS, or Python's cost per block
# dominates (with large d or k the product is thick enough to split anyway).
ONE_THREAD_PRODUCT = 1 << 18
MIN_BLOCK_POINTS = 1024
TRANSPOSE_ROWS = 256  # rows that columns_with_ones copies at once
LINKAGES = ("single", "complete", "average", "ward")


@checked(X=Samples(), C=Centres())
def squared_distances(X, C):
    """Squared Euclidean distances between the rows of X and those of C.

    |x - c|² = |x|² - 2 x.c + |c|², one matrix product, taken after shifting X and C by a
    centre of X (distances do not move with the origin; the rounding does), clipped at 0.
    Every squared distance of the module (k-means, soft k-means, the silhouette) is this one.

    Parameters
    ----------
    X : array (n, d)
    C : array (k, d), on X's device

    Returns
    -------
    array (n, k) of |x_n - c_j|², on X's device
    """
    xp = get_array_module(X)
    Xc, centre = centred(X)
    C = C - centre
    d2 = (Xc * Xc).sum(axis=1)[:, None] - 2 * (Xc @ C.T) + (C * C).sum(axis=1)
    return xp.maximum(d2, 0)


class _Shift(Check):
    """A shift (d,) for the rows of X: a finite array of X's dtype on X's device."""

    def __call__(self, value, name, values, xp):
        X = values["X"]
        shift = check_array(value, name, ndim=(1,), xp=xp).astype(X.dtype)
        if shift.shape != (X.shape[1],):
            raise ValueError(f"{name} must have shape {(X.shape[1],)} (X's d columns), got "
                             f"{shift.shape}")
        return shift

    def device_of(self, value):
        return value


@checked(X=Samples(), shift=Optional(_Shift()))
def columns_with_ones(X, shift=None):
    """X's rows (less shift) as columns, with a row of ones below them: (n, d) -> (d + 1, n).

    Against a column [x, 1], a centre written as the row [-2c, |c|²] gives |c|² - 2 c.x (the
    squared distance less |x|²) in one product, and a one-hot (k, n) matrix times the
    transpose gives each centre's sum of points and, last, their count. Points as columns
    make these thin products faster than points as rows. The copy is made a few rows at a
    time, which NumPy transposes several times faster than a large array at once.
    (k-means builds it from X shifted by its centre.)

    Parameters
    ----------
    X : array (n, d)
    shift : None or array (d,), subtracted from every row (on the copy)

    Returns
    -------
    array (d + 1, n) on X's device
    """
    xp = get_array_module(X)
    columns = xp.empty((X.shape[1] + 1, X.shape[0]), dtype=X.dtype)
    columns[-1] = 1
    for points in row_blocks(X.shape[0], 1, TRANSPOSE_ROWS) if xp is np else [slice(None)]:
        columns[:-1, points] = X[points].T
    if shift is not None:
        columns[:-1] -= shift[:, None]
    return columns


# ---- the tuned engine of kmeans: points as columns (columns_with_ones of centred data) ----


def _nearest_blocks(columns, centers):
    """Per block of points of columns (d + 1, n): (points, block, hot, partial), block =
    columns[:, points], hot (k, points) True at each point's nearest centre and partial
    (points,) = min_c |c|² - 2 c.x.

    |x|² is the same for every centre, so the comparison does without it; add it to partial
    to get the squared distance. A point equally near two centres has two Trues. Block
    sizes: see ONE_THREAD_PRODUCT.
    """
    xp = get_array_module(columns)
    C1 = xp.concatenate([-2 * centers, (centers * centers).sum(axis=1)[:, None]], axis=1)
    per_block = (max(ONE_THREAD_PRODUCT // C1.size, MIN_BLOCK_POINTS) if xp is np
                 else BLOCK // C1.shape[0])  # GPU: few, large launches
    for points in row_blocks(columns.shape[1], 1, per_block):
        block = columns[:, points]
        d2 = C1 @ block  # (k, points)
        partial = d2.min(axis=0)
        yield points, block, d2 == partial, partial


def _assign(columns, centers, inertia=False):
    """Each point's nearest centre (the first, on a tie) from columns (d + 1, n) and centres
    shifted alike: (labels, squared distances); with inertia, (labels, sum_n |x_n -
    c_{labels[n]}|² summed from the differences, a float)."""
    xp = get_array_module(columns)
    n = columns.shape[1]
    labels = xp.empty(n, dtype=xp.int64)
    partial = None if inertia else xp.empty(n, dtype=columns.dtype)
    index = xp.stack([xp.arange(centers.shape[0], dtype=columns.dtype),
                      xp.ones(centers.shape[0], dtype=columns.dtype)])
    centers_t = xp.ascontiguousarray(centers.T)
    total = 0.0
    for points, block, hot, block_partial in _nearest_blocks(columns, centers):
        hot = hot.astype(columns.dtype)
        which, count = index @ hot  # the 1 of each column, by a product
        one_hot = bool((count == 1).all())
        block_labels = which.astype(xp.int64) if one_hot else hot.argmax(axis=0)  # a tie: the
        labels[points] = block_labels  # first nearest centre
        if inertia:  # from the differences, while the block is in the cache
            diff = (centers_t @ hot if one_hot else xp.take(centers_t, block_labels, axis=1))
            diff -= block[:-1]  # (d, points): c_{label} - x for each point
            diff *= diff  # (an element-wise square and sum: a BLAS dot this short can be slow)
            total += float(diff.sum())
        else:
            partial[points] = block_partial
    if inertia:
        return labels, total
    norms = (columns[:-1] * columns[:-1]).sum(axis=0)
    return labels, xp.maximum(partial + norms, 0)


def _lloyd_step_fast(columns, centers):
    """lloyd_step, tuned (what kmeans runs), on columns (d + 1, n) and centres shifted
    alike: the same centres (shifted alike) and labels, by matrix products on blocks of
    points (see _nearest_blocks).
    """
    xp = get_array_module(columns)
    n = columns.shape[1]
    k = centers.shape[0]
    labels = xp.empty(n, dtype=xp.int64)
    partial = xp.empty(n, dtype=columns.dtype)
    sums = xp.zeros((k, columns.shape[0]), dtype=columns.dtype)
    index = xp.arange(k, dtype=columns.dtype)
    for points, block, hot, block_partial in _nearest_blocks(columns, centers):
        hot = hot.astype(columns.dtype)
        sums += hot @ block.T  # (k, points) @ (points, d + 1): each centre's [sum, count]
        labels[points] = index @ hot  # the one 1 of each column, by a product (no slow argmax)
        partial[points] = block_partial
    if float(sums[:, -1].sum()) != n:  # a point equally near two centres: count it once
        labels, _ = _assign(columns, centers)
        sums = (labels == index[:, None]).astype(columns.dtype) @ columns.T
    counts = sums[:, -1]
    new = sums[:, :-1] / xp.maximum(counts, 1)[:, None]
    empty = counts == 0
    if bool(empty.any()):
        norms = (columns[:-1] * columns[:-1]).sum(axis=0)
        farthest = xp.argsort(-(partial + norms))[: int(empty.sum())]
        new[empty] = columns[:-1, farthest].T
    return new, labels


# ---- the public functions ----


@checked(X=Samples())
def row_sq_norms(X):
    """|x|² of every row of X.

    Parameters
    ----------
    X : array (n, d)

    Returns
    -------
    array (n,) on X's device
    """
    return get_array_module(X).einsum("ij,ij->i", X, X)


@checked(X=Samples(), centers=Centres())
def nearest_center(X, centers):
    """Each row's nearest centre (the first, on a tie) and its squared distance to it.

    Parameters
    ----------
    X : array (n, d)
    centers : array (k, d), on X's device

    Returns
    -------
    labels : int64 array (n,), in [0, k)
    distances : array (n,) of squared distances |x_n - c_{labels[n]}|² (>= 0)
    """
    centre = centre_of(X)
    return _assign(columns_with_ones(X, centre), centers - centre)


class _Weights(Check):
    """Weights (n, k): a finite 2-D float array, >= 0."""

    def __call__(self, value, name, values, xp):
        R = check_array(value, name, ndim=(2,), xp=xp)
        if float(R.min()) < 0:
            raise ValueError(f"{name} must hold non-negative weights")
        return R

    def device_of(self, value):
        return value


@checked(R=_Weights(), X=Samples(),
         fallback=Optional(Centres(rows=lambda v: v["R"].shape[1], rows_are="R's k columns")))
def weighted_means(R, X, *, fallback=None):
    """Centres c_k = sum_n R[n, k] x_n / sum_n R[n, k] and the weights N_k.

    Parameters
    ----------
    R : array (n, k) of non-negative weights (responsibilities), on X's device
    X : array (n, d)
    fallback : None or array (k, d): the centre of a column of zero weight (soft k-means
        keeps a centre no point shares in where it is); None: such a column is an error,
        its mean being undefined

    Returns
    -------
    centres : array (k, d)
    weights : array (k,), N_k = sum_n R[n, k]
    """
    xp = get_array_module(X)
    if R.shape[0] != X.shape[0]:
        raise ValueError(f"R must have one row per row of X ({X.shape[0]}), got shape {R.shape}")
    R = R.astype(X.dtype, copy=False)
    counts = R.sum(axis=0)
    alive = counts > 0
    if fallback is None and not bool(alive.all()):
        raise ValueError(f"R has a column of zero weight (column {int(xp.argmin(counts))}): "
                         f"its mean is undefined")
    Xc, centre = centred(X)
    means = (R.T @ Xc) / xp.where(alive, counts, 1)[:, None] + centre
    return (means if fallback is None else xp.where(alive[:, None], means, fallback)), counts


@checked(X=Samples(), centers=Centres())
def lloyd_step(X, centers):
    """One iteration of Lloyd's algorithm, plainly: assign each row of X to its nearest
    centre (the first, on a tie), then move each centre to the mean of its rows.

    An empty cluster's centre jumps to the row farthest from its own centre (the next
    farthest for the next empty one). kmeans runs a tuned version of this step; the tests
    prove the two equal.

    Parameters
    ----------
    X : array (n, d)
    centers : array (k, d), on X's device, k <= n

    Returns
    -------
    new_centers : array (k, d)
    labels : int64 array (n,), each row's nearest centre before the move
    """
    if centers.shape[0] > X.shape[0]:  # some cluster would stay empty, with no row to take
        raise ValueError(f"centers has {centers.shape[0]} rows, more than X's "
                         f"{X.shape[0]}: k-means needs k <= n")
    xp = get_array_module(X)
    d2 = squared_distances(X, centers)  # (n, k): |x_n - c_j|²
    labels = d2.argmin(axis=1)  # assign: the nearest centre
    farthest = None  # rows, far from their centre first: needed only for an empty cluster
    new = xp.empty_like(centers)
    for j in range(centers.shape[0]):  # update: each centre to the mean of its rows
        members = X[labels == j]
        if members.shape[0]:
            new[j] = members.mean(axis=0)
        else:
            farthest = farthest or iter(xp.argsort(-d2.min(axis=1)).tolist())
            new[j] = X[next(farthest)]
    return new, labels


@checked(X=Samples(), k=K, seed=Seed())
def kmeans_plusplus(X, k, seed=0):
    """k initial centres drawn from the rows of X: the first uniformly, each next one with
    probability proportional to its squared distance to the nearest chosen one.

    The distances are computed on X's device; the random numbers are drawn on the host by a
    NumPy Generator, so the same seed picks the same rows on the CPU and on the GPU.

    Parameters
    ----------
    X : array (n, d)
    k : int in [1, n]
    seed : int >= 0, numpy Generator or None (fresh entropy); default 0

    Returns
    -------
    array (k, d): rows of X, on X's device
    """
    xp = get_array_module(X)
    rng = rng_from(seed)
    Xc, _ = centred(X)
    norms = (Xc * Xc).sum(axis=1)

    def to_row(i):  # |x - x_i|² for every row x, clipped at 0
        return xp.maximum(norms - 2 * (Xc @ Xc[i]) + norms[i], 0)

    chosen = [int(rng.integers(Xc.shape[0]))]
    nearest = to_row(chosen[0])
    for _ in range(1, k):
        cumulative = xp.cumsum(nearest)
        total = float(cumulative[-1])
        if total > 0:  # D² sampling: invert the cumulative distribution at a uniform draw
            draw = xp.asarray([rng.random() * total], dtype=cumulative.dtype)
            pick = int(xp.searchsorted(cumulative, draw, side="right")[0])
        else:  # every row sits on a centre already
            pick = int(rng.integers(Xc.shape[0]))
        chosen.append(min(pick, Xc.shape[0] - 1))
        nearest = xp.minimum(nearest, to_row(chosen[-1]))
    return X[xp.asarray(chosen)]


@dataclass(frozen=True)
class KMeansResult:
    """The fitted centres (k, d), each row's label (n,), both on X's device, the inertia (the
    sum of squared distances to the nearest centre, a float) and the number of Lloyd
    iterations run. backend.to_device(result, "cpu") moves it whole."""

    centers: object
    labels: object
    inertia: float
    n_iter: int


class _Init(Check):
    """"k-means++" or an array of k initial centres like X's rows."""

    centres = Centres(rows=lambda v: v["k"], rows_are="k")

    def __call__(self, value, name, values, xp):
        if isinstance(value, str):
            if value != "k-means++":
                raise ValueError(f"init must be 'k-means++' or an array of centres, got "
                                 f"{value!r}")
            return value
        return self.centres(value, name, values, xp)

    def device_of(self, value):
        return None if isinstance(value, str) else value


@checked(X=Samples(), k=K, init=_Init(), n_init=Int(), max_iter=Int(), tol=Real(low=0.0),
         seed=Seed())
def kmeans(X, k, *, init="k-means++", n_init=4, max_iter=300, tol=1e-4, seed=0):
    """k-means by Lloyd's algorithm, the best of n_init restarts (lowest inertia).

    Parameters
    ----------
    X : array of shape (n, d), NumPy or CuPy: the work and the result stay on its device
    k : int in [1, n], the number of clusters
    init : "k-means++" or an array of shape (k, d) of initial centres (then one run), on X's
        device
    n_init : int >= 1, restarts from different k-means++ draws
    max_iter : int >= 1, the most Lloyd iterations of a run
    tol : float >= 0: stop when the labels no longer change, or when the squared centre
        shift is at most tol times the mean variance of X's columns (scikit-learn's rule)
    seed : int >= 0, numpy Generator or None, for the k-means++ draws (made on the host, so
        a seed gives the same starts on both devices); default 0

    Returns
    -------
    KMeansResult: centers (k, d), labels (n,) and inertia of the final centres, n_iter.
    The inertia is sum_n |x_n - c_{labels[n]}|², summed from the differences.
    """
    centre = centre_of(X, check=False)  # overflow: checked on the inertia, below
    columns = columns_with_ones(X, centre)  # X - centre, as columns
    if isinstance(init, str):
        rng = rng_from(seed)
        starts = (kmeans_plusplus(columns[:-1].T, k, seed=rng) for _ in range(n_init))
    else:
        starts = [init - centre]
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow raises below
        threshold = tol * float(columns[:-1].var(axis=1).mean())  # X's column variances
        best = None
        for centers in starts:  # Lloyd's algorithm from each start, by the tuned step
            labels, n_iter, converged = None, 0, False
            while n_iter < max_iter and not converged:
                new, new_labels = _lloyd_step_fast(columns, centers)
                stable = labels is not None and bool((new_labels == labels).all())
                converged = stable or float(((new - centers) ** 2).sum()) <= threshold
                centers, labels, n_iter = new, new_labels, n_iter + 1
            labels, inertia = _assign(columns, centers, inertia=True)
            if not (np.isfinite(inertia) and np.isfinite(threshold)):
                raise ValueError(f"X spreads too far for squared distances in {X.dtype} "
                                 f"(they overflow): rescale it")
            if best is None or inertia < best.inertia:
                best = KMeansResult(centers, labels, inertia, n_iter)
    return KMeansResult(best.centers + centre, best.labels, best.inertia, best.n_iter)


@checked(X=Samples(), centers=Centres(), stiffness=Real(low=0.0))
def soft_assignments(X, centers, stiffness):
    """Responsibilities r[n, k] = exp(-β |x_n - c_k|²) / sum_j exp(-β |x_n - c_j|²).

    β (stiffness) -> infinity gives hard k-means labels; β = 0 shares every point equally.
    Computed as a stable softmax (the nearest centre's distance subtracted first).

    Parameters
    ----------
    X : array (n, d)
    centers : array (k, d), on X's device
    stiffness : float >= 0, β

    Returns
    -------
    array (n, k), each row non-negative and summing to 1
    """
    xp = get_array_module(X)
    d2 = squared_distances(X, centers)
    logits = d2.min(axis=1, keepdims=True) - d2  # <= 0, and 0 at the nearest centre
    logits *= stiffness  # may reach -inf for a huge β: exp gives 0, never NaN
    R = xp.exp(logits, out=logits)
    return R / R.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class SoftKMeansResult:
    """The centres (k, d) and the responsibilities (n, k) at those centres (each row summing
    to 1), both on X's device, and the number of iterations run. backend.to_device(result,
    "cpu") moves it whole. Unpacking it as (centers, R, n_iter), as the tuple soft_kmeans
    returned before, works for one release with a DeprecationWarning."""

    centers: object
    responsibilities: object
    n_iter: int

    def __iter__(self):
        warnings.warn("soft_kmeans returns a SoftKMeansResult: unpacking it as (centers, R, "
                      "n_iter) will stop working in the next release; use .centers, "
                      ".responsibilities and .n_iter", DeprecationWarning, stacklevel=2)
        return iter((self.centers, self.responsibilities, self.n_iter))


@checked(X=Samples(), init=Centres(), stiffness=Real(low=0.0), max_iter=Int(),
         tol=Real(low=0.0))
def soft_kmeans(X, init, stiffness, *, max_iter=500, tol=1e-10):
    """Soft k-means: alternate responsibilities (soft_assignments) and responsibility-
    weighted means until the squared centre shift is at most tol.

    A centre that no point shares in (every responsibility 0, as far from the data as
    [100, 100] from points near 0 with a stiff β) stays where it is.

    Parameters
    ----------
    X : array (n, d)
    init : array (k, d) of initial centres, on X's device
    stiffness : float >= 0, β
    max_iter : int >= 1, the most iterations
    tol : float >= 0

    Returns
    -------
    SoftKMeansResult: centers (k, d), responsibilities (n, k) (rows sum to 1), n_iter
    """
    Xc, centre = centred(X)  # shifted once: the calls below then shift by 0 (no copy)
    centers = init - centre
    n_iter, shift = 0, np.inf
    while n_iter < max_iter and shift > tol:
        R = soft_assignments(Xc, centers, stiffness)
        new, _ = weighted_means(R, Xc, fallback=centers)
        shift = float(((new - centers) ** 2).sum())
        centers, n_iter = new, n_iter + 1
    return SoftKMeansResult(centers + centre, soft_assignments(Xc, centers, stiffness), n_iter)


@checked(X=Samples(min_samples=2), labels=Labels(n_samples=lambda v: v["X"].shape[0]))
def silhouette_samples(X, labels):
    """Silhouette of every row: s_i = (b_i - a_i) / max(a_i, b_i), a_i the mean distance
    from x_i to the other members of its cluster, b_i to the members of the nearest other
    cluster; 0 in a one-point cluster.

    Parameters
    ----------
    X : array (n, d), n >= 2
    labels : int array (n,) of cluster labels >= 0 (any values; 2 to n - 1 distinct), on
        X's device

    Returns
    -------
    array (n,) of silhouettes in [-1, 1]
    """
    xp = get_array_module(X)
    _, labels = xp.unique(labels, return_inverse=True)
    labels = labels.reshape(-1)
    k = int(labels.max()) + 1
    if not 2 <= k < X.shape[0]:
        raise ValueError(f"labels must name between 2 and n - 1 clusters, got {k}")
    Xc, _ = centred(X)
    n = X.shape[0]
    R = (labels[:, None] == xp.arange(k)).astype(X.dtype)  # one-hot: (n, k)
    counts = R.sum(axis=0)
    sums = xp.empty((n, k), dtype=X.dtype)
    for rows in row_blocks(n, n):
        d2 = squared_distances(Xc[rows], Xc)
        own = xp.arange(rows.stop - rows.start)
        d2[own, own + rows.start] = 0  # a point's distance to itself, exactly
        sums[rows] = xp.sqrt(d2) @ R
    own = xp.take_along_axis(sums, labels[:, None], axis=1)[:, 0]
    own_size = counts[labels]
    a = own / xp.maximum(own_size - 1, 1)
    means = sums / counts
    means[xp.arange(n), labels] = xp.inf
    b = means.min(axis=1)
    s = (b - a) / xp.maximum(xp.maximum(a, b), xp.finfo(X.dtype).tiny)
    return xp.where(own_size > 1, xp.clip(s, -1, 1), 0)


@checked(X=Samples())
def pairwise_distances(X):
    """Euclidean distances between all rows of X, from the differences (no cancellation).

    Parameters
    ----------
    X : array (n, d)

    Returns
    -------
    array (n, n), symmetric, 0 on the diagonal
    """
    xp = get_array_module(X)
    n, d = X.shape
    D = xp.empty((n, n), dtype=X.dtype)
    for rows in row_blocks(n, n * d):
        diff = X[rows, None, :] - X[None, :, :]
        D[rows] = xp.sqrt((diff * diff).sum(axis=2))
    return D


class _Distances(Check):
    """A finite array of rank 0 or 1 (a number when scalar), >= 0 (> 0 when positive); with
    same_length, of the length of those earlier arguments that are arrays."""

    def __init__(self, positive=False, scalar=False, same_length=()):
        self.positive, self.scalar, self.same_length = positive, scalar, same_length

    def __call__(self, value, name, values, xp):
        arr = check_array(value, name, ndim=(0, 1), xp=xp)
        low = float(arr.min())
        if low < 0 or (self.positive and low == 0):
            raise ValueError(f"{name} must be {'positive' if self.positive else 'non-negative'}"
                             f", got a minimum of {low:g}")
        if self.scalar and arr.ndim:
            raise ValueError(f"{name} must be a number, got shape {arr.shape}")
        if self.same_length:
            named = (*self.same_length, name)
            lengths = {a.shape for a in (*(values[n] for n in self.same_length), arr) if a.ndim}
            if len(lengths) > 1:
                raise ValueError(f"{', '.join(named[:-1])} and {named[-1]} must have one "
                                 f"length, got shapes {sorted(lengths)}")
        return arr

    def device_of(self, value):
        return value


@checked(method=Choice(*LINKAGES), d_ki=_Distances(), d_kj=_Distances(),
         d_ij=_Distances(scalar=True), n_i=_Distances(positive=True, scalar=True),
         n_j=_Distances(positive=True, scalar=True),
         n_k=_Distances(positive=True, same_length=("d_ki", "d_kj")))
def lance_williams(method, d_ki, d_kj, d_ij, n_i, n_j, n_k):
    """Distance from every cluster k to the merger of clusters i and j, from the old distances.

    Parameters
    ----------
    method : "single", "complete", "average" or "ward"
    d_ki, d_kj : arrays (m,) (one entry per cluster k) or numbers, distances >= 0
    d_ij : number (or 0-d array) >= 0, the distance between i and j
    n_i, n_j : numbers > 0, the sizes of clusters i and j
    n_k : array (m,) or number > 0, the sizes of the clusters k

    Returns
    -------
    array (m,) (0-d for numbers) of distances from each k to i ∪ j, on the arguments' device
    """
    xp = get_array_module(d_ki, d_kj)
    if method == "single":
        return xp.minimum(d_ki, d_kj)
    if method == "complete":
        return xp.maximum(d_ki, d_kj)
    if method == "average":
        return (n_i * d_ki + n_j * d_kj) / (n_i + n_j)
    # Ward: sqrt(2 x the rise in within-cluster sum of squares) of merging k with i ∪ j,
    # clipped at 0 where rounding dips below it
    total = n_i + n_j + n_k
    rise = ((n_i + n_k) * d_ki**2 + (n_j + n_k) * d_kj**2 - n_k * d_ij**2) / total
    return xp.sqrt(xp.maximum(rise, 0))


@checked(X=Samples(min_samples=2), method=Choice(*LINKAGES))
def linkage(X, method="ward"):
    """Agglomerative clustering: start with every row alone and merge the two closest clusters,
    n - 1 times, updating the distances by the Lance-Williams formula. O(n^3): for teaching.

    The distances live on X's device; the loop reads one pair per merge back to the host.

    Parameters
    ----------
    X : array (n, d), n >= 2
    method : "single", "complete", "average" or "ward" (default)

    Returns
    -------
    SciPy's linkage matrix Z (n - 1, 4), as NumPy on either device (for SciPy's dendrogram
    and fcluster): row t merges clusters Z[t, 0] < Z[t, 1] at height Z[t, 2] into cluster
    n + t of Z[t, 3] rows.
    """
    xp = get_array_module(X)
    n = X.shape[0]
    D = pairwise_distances(X)
    D[xp.arange(n), xp.arange(n)] = xp.inf  # never merge a cluster with itself
    size = xp.ones(n, dtype=X.dtype)
    cluster = list(range(n))  # the number of the cluster held in each row of D
    Z = np.empty((n - 1, 4))
    for t in range(n - 1):
        i, j = sorted(divmod(int(D.argmin()), n))
        height = D[i, j]
        merged = lance_williams(method, D[i], D[j], height, size[i], size[j], size)
        Z[t] = [*sorted((cluster[i], cluster[j])), float(height), float(size[i] + size[j])]
        D[i], D[:, i] = merged, merged  # row i now holds the merger ...
        D[j], D[:, j] = xp.inf, xp.inf  # ... and row j is gone
        D[i, i] = xp.inf
        size[i] += size[j]
        cluster[i] = n + t
    return Z
