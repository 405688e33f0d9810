"""Clustering without labels: k-means (Lloyd, k-means++, soft), the silhouette, and
agglomerative clustering with single, complete, average and Ward linkage.

Every function follows its data: NumPy arrays in, NumPy out; CuPy in, CuPy out. A call
whose arrays are on different devices raises DeviceMismatchError naming the argument.
Exceptions by design: k-means++ draws its random numbers on the host (NumPy), so it picks the
same rows on either device, and linkage returns SciPy's linkage matrix as NumPy.
Distances are computed a block of rows at a time, so memory stays bounded for large n.
"""

from dataclasses import dataclass

import numpy as np

from ._checks import array_module, check_array, check_int
from .backend import get_array_module

BLOCK = 1 << 20  # entries of a distance block held at once (8 MiB of float64)
# Points in one k-means block: the most whose distance product OpenBLAS still does on one
# thread (2^18 multiply-adds: about 1900 points for k = 8, d = 16), for it splits larger
# products over threads, which for products this thin costs more than it saves (on a busy
# machine, many times more). But at least MIN_BLOCK_POINTS, or Python's cost per block
# dominates (with large d or k the product is thick enough to split anyway).
ONE_THREAD_PRODUCT = 1 << 18
MIN_BLOCK_POINTS = 1024
TRANSPOSE_ROWS = 256  # rows that columns_with_ones copies at once
LINKAGES = ("single", "complete", "average", "ward")


def row_blocks(n_rows, width, budget=BLOCK):
    """Slices covering range(n_rows), each of budget // width rows (at least one)."""
    step = max(1, budget // max(1, width))
    return [slice(start, min(start + step, n_rows)) for start in range(0, n_rows, step)]


def _check_k(k, n_samples):
    return check_int(k, "k", high=n_samples, high_is="the number of samples")


def _check_X(X, min_samples=1):
    X = check_array(X, "X", ndim=(2,))
    if X.shape[0] < min_samples:
        raise ValueError(f"X needs at least {min_samples} samples (rows), got shape {X.shape}")
    return X


def _check_centers(centers, X, name="init"):
    centers = check_array(centers, name, ndim=(2,), xp=get_array_module(X)).astype(X.dtype)
    if centers.shape[1] != X.shape[1]:
        raise ValueError(f"{name} must have {X.shape[1]} columns like X, got shape {centers.shape}")
    return centers


def squared_distances(X, C):
    """|x - c|^2 = |x|^2 - 2 x.c + |c|^2 for every row x of X (n, d) and c of C (k, d): (n, k).

    The expansion is one matrix product; clipped at 0, where rounding can dip below it.
    """
    xp = array_module(X=X, C=C)
    d2 = (X * X).sum(axis=1)[:, None] - 2 * (X @ C.T) + (C * C).sum(axis=1)
    return xp.maximum(d2, 0)


def columns_with_ones(X):
    """X's rows as columns, with a row of ones below them: (n, d) -> (d + 1, n).

    Against a column [x, 1], a centre written as the row [-2c, |c|²] gives |c|² - 2 c.x (the
    squared distance less |x|²) in one product, and a one-hot (k, n) matrix times the
    transpose gives each centre's sum of points and, last, their count. Points as columns
    make these thin products faster than points as rows. The copy is made a few rows at a
    time, which NumPy transposes several times faster than a large array at once.
    """
    xp = get_array_module(X)
    columns = xp.empty((X.shape[1] + 1, X.shape[0]), dtype=X.dtype)
    columns[-1] = 1
    for points in row_blocks(X.shape[0], 1, TRANSPOSE_ROWS) if xp is np else [slice(None)]:
        columns[:-1, points] = X[points].T
    return columns


def _nearest_blocks(columns, centers):
    """Per block of points of columns = columns_with_ones(X) (d + 1, n): (points, block,
    hot, partial), block = columns[:, points], hot (k, points) True at each point's nearest
    centre and partial (points,) = min_c |c|² - 2 c.x.

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


def row_sq_norms(X):
    """|x|² of every row: (n, d) -> (n,)."""
    return get_array_module(X).einsum("ij,ij->i", X, X)


def nearest_center(X, centers, columns=None):
    """Index of each row's nearest centre (the first, on a tie) and the squared distance to
    it: (n,), (n,). columns, columns_with_ones(X), can be passed to save building it."""
    xp = array_module(X=X, centers=centers, columns=columns)
    columns = columns_with_ones(X) if columns is None else columns
    labels = xp.empty(X.shape[0], dtype=xp.int64)
    partial = xp.empty(X.shape[0], dtype=X.dtype)
    for points, _, hot, block_partial in _nearest_blocks(columns, centers):
        labels[points], partial[points] = hot.argmax(axis=0), block_partial
    return labels, xp.maximum(partial + row_sq_norms(X), 0)


def weighted_means(R, X):
    """Centres c_k = sum_n R[n, k] x_n / sum_n R[n, k] and the weights N_k: (k, d), (k,)."""
    array_module(R=R, X=X)
    counts = R.sum(axis=0)
    return (R.T @ X) / counts[:, None], counts


def lloyd_step(X, centers):
    """One iteration of Lloyd's algorithm, plainly: assign each row of X (n, d) to its nearest
    centre (the first, on a tie), then move each centre (k, d) to the mean of its rows.
    Returns (new centres (k, d), labels (n,)). An empty cluster's centre jumps to the row
    farthest from its own centre (the next farthest for the next empty one).
    """
    array_module(X=X, centers=centers)
    X = _check_X(X)
    centers = _check_centers(centers, X, "centers")
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


def _lloyd_step_fast(X, centers, columns=None):
    """lloyd_step, tuned (what kmeans runs): the same centres and labels, by matrix products
    on blocks of points (see columns_with_ones and _nearest_blocks). columns,
    columns_with_ones(X), can be passed to save building it at every step.
    """
    xp = array_module(X=X, centers=centers, columns=columns)
    columns = columns_with_ones(X) if columns is None else columns
    k = centers.shape[0]
    labels = xp.empty(X.shape[0], dtype=xp.int64)
    partial = xp.empty(X.shape[0], dtype=X.dtype)
    sums = xp.zeros((k, columns.shape[0]), dtype=X.dtype)
    index = xp.arange(k, dtype=X.dtype)
    for points, block, hot, block_partial in _nearest_blocks(columns, centers):
        hot = hot.astype(X.dtype)
        sums += hot @ block.T  # (k, points) @ (points, d + 1): each centre's [sum, count]
        labels[points] = index @ hot  # the one 1 of each column, by a product (no slow argmax)
        partial[points] = block_partial
    if float(sums[:, -1].sum()) != X.shape[0]:  # a point equally near two centres: count it once
        labels, _ = nearest_center(X, centers, columns)
        sums = (labels == index[:, None]).astype(X.dtype) @ columns.T
    counts = sums[:, -1]
    new = sums[:, :-1] / xp.maximum(counts, 1)[:, None]
    empty = counts == 0
    if bool(empty.any()):
        farthest = xp.argsort(-(partial + row_sq_norms(X)))[: int(empty.sum())]
        new[empty] = X[farthest]
    return new, labels


def kmeans_plusplus(X, k, seed=0):
    """k initial centres drawn from the rows of X (n, d) -> (k, d): the first uniformly, each
    next one with probability proportional to its squared distance to the nearest chosen one.

    The distances are computed on X's device; the random numbers are drawn on the host by a
    NumPy Generator (seed: an int or a Generator), so the same seed picks the same rows on
    the CPU and on the GPU. The centres are on X's device.
    """
    X = _check_X(X)
    k = _check_k(k, X.shape[0])
    xp = get_array_module(X)
    rng = np.random.default_rng(seed)
    chosen = [int(rng.integers(X.shape[0]))]
    nearest = squared_distances(X, X[chosen])[:, 0]
    for _ in range(1, k):
        cumulative = xp.cumsum(nearest)
        total = float(cumulative[-1])
        if total > 0:  # D² sampling: invert the cumulative distribution at a uniform draw
            draw = xp.asarray([rng.random() * total], dtype=cumulative.dtype)
            pick = int(xp.searchsorted(cumulative, draw, side="right")[0])
        else:  # every row sits on a centre already
            pick = int(rng.integers(X.shape[0]))
        chosen.append(min(pick, X.shape[0] - 1))
        nearest = xp.minimum(nearest, squared_distances(X, X[chosen[-1:]])[:, 0])
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


def kmeans(X, k, *, init="k-means++", n_init=4, max_iter=300, tol=1e-4, seed=0):
    """k-means by Lloyd's algorithm, the best of n_init restarts (lowest inertia).

    Parameters
    ----------
    X : array of shape (n, d), NumPy or CuPy: the work and the result stay on its device
    k : int, the number of clusters
    init : "k-means++" or an array of shape (k, d) of initial centres (then one run), on X's
        device
    n_init : restarts from different k-means++ draws
    max_iter, tol : stop when the labels no longer change, or when the squared centre shift
        is at most tol times the mean variance of X's columns (scikit-learn's rule)
    seed : int or numpy Generator for the k-means++ draws (made on the host, so a seed gives
        the same starts on both devices)

    Returns
    -------
    KMeansResult, its labels and inertia those of its final centres.
    """
    X = _check_X(X)
    k = _check_k(k, X.shape[0])
    if isinstance(init, str):
        if init != "k-means++":
            raise ValueError(f"init must be 'k-means++' or an array of centres, got {init!r}")
        rng = np.random.default_rng(seed)
        starts = (kmeans_plusplus(X, k, rng) for _ in range(check_int(n_init, "n_init")))
    else:
        starts = [_check_centers(init, X)]
        if starts[0].shape[0] != k:
            raise ValueError(f"init must have k = {k} rows, got shape {starts[0].shape}")
    max_iter = check_int(max_iter, "max_iter")
    if not tol >= 0:
        raise ValueError(f"tol must be >= 0, got {tol!r}")
    columns = columns_with_ones(X)
    threshold = tol * float(columns[:-1].var(axis=1).mean())  # X's column variances
    best = None
    for centers in starts:
        labels, n_iter, converged = None, 0, False
        while n_iter < max_iter and not converged:
            new, new_labels = _lloyd_step_fast(X, centers, columns)
            stable = labels is not None and bool((new_labels == labels).all())
            converged = stable or float(((new - centers) ** 2).sum()) <= threshold
            centers, labels, n_iter = new, new_labels, n_iter + 1
        labels, nearest = nearest_center(X, centers, columns)
        result = KMeansResult(centers, labels, float(nearest.sum()), n_iter)
        if best is None or result.inertia < best.inertia:
            best = result
    return best


def soft_assignments(X, centers, stiffness):
    """Responsibilities r[n, k] = exp(-β |x_n - c_k|²) / sum_j exp(-β |x_n - c_j|²): (n, k).

    β (stiffness) -> infinity gives hard k-means labels; β = 0 shares every point equally.
    """
    xp = array_module(X=X, centers=centers)
    logits = -stiffness * squared_distances(X, centers)
    logits -= logits.max(axis=1, keepdims=True)  # exp of at most 0: no overflow
    R = xp.exp(logits)
    return R / R.sum(axis=1, keepdims=True)


def soft_kmeans(X, init, stiffness, *, max_iter=500, tol=1e-10):
    """Soft k-means from initial centres init (k, d), on X's device: alternate responsibilities
    and responsibility-weighted means until the centres move less than tol.

    Returns (centres (k, d), responsibilities (n, k), iterations run).
    """
    X = _check_X(X)
    centers = _check_centers(init, X)
    if not stiffness >= 0:
        raise ValueError(f"stiffness must be >= 0, got {stiffness!r}")
    n_iter, shift = 0, np.inf
    while n_iter < max_iter and shift > tol:
        new, _ = weighted_means(soft_assignments(X, centers, stiffness), X)
        shift = float(((new - centers) ** 2).sum())
        centers, n_iter = new, n_iter + 1
    return centers, soft_assignments(X, centers, stiffness), n_iter


def silhouette_samples(X, labels):
    """s_i = (b_i - a_i) / max(a_i, b_i): a_i the mean distance from x_i to the other members of
    its cluster, b_i to the members of the nearest other cluster; 0 in a one-point cluster. (n,)
    """
    X = _check_X(X, min_samples=2)
    xp = array_module(X=X, labels=labels)
    labels = xp.asarray(labels)
    if labels.shape != (X.shape[0],):
        raise ValueError(f"labels must have shape ({X.shape[0]},) like X's rows, "
                         f"got {labels.shape}")
    _, labels = xp.unique(labels, return_inverse=True)
    labels = labels.reshape(-1)
    k = int(labels.max()) + 1
    if not 2 <= k < X.shape[0]:
        raise ValueError(f"labels must name between 2 and n - 1 clusters, got {k}")
    R = (labels[:, None] == xp.arange(k)).astype(X.dtype)  # one-hot: (n, k)
    counts = R.sum(axis=0)
    sums = xp.empty((X.shape[0], k), dtype=X.dtype)
    for rows in row_blocks(X.shape[0], X.shape[0]):
        sums[rows] = xp.sqrt(squared_distances(X[rows], X)) @ R
    own = xp.take_along_axis(sums, labels[:, None], axis=1)[:, 0]
    own_size = counts[labels]
    a = own / xp.maximum(own_size - 1, 1)
    means = sums / counts
    means[xp.arange(X.shape[0]), labels] = xp.inf
    b = means.min(axis=1)
    s = (b - a) / xp.maximum(xp.maximum(a, b), xp.finfo(X.dtype).tiny)
    return xp.where(own_size > 1, s, 0)


def pairwise_distances(X):
    """Euclidean distances between all rows of X, from the differences (no cancellation): (n, n)."""
    xp = get_array_module(X)
    n, d = X.shape
    D = xp.empty((n, n), dtype=X.dtype)
    for rows in row_blocks(n, n * d):
        diff = X[rows, None, :] - X[None, :, :]
        D[rows] = xp.sqrt((diff * diff).sum(axis=2))
    return D


def lance_williams(method, d_ki, d_kj, d_ij, n_i, n_j, n_k):
    """Distance from every cluster k to the merger of clusters i and j, from the old distances.

    d_ki, d_kj and n_k are arrays (one entry per cluster k), or numbers; d_ij, n_i, n_j numbers.
    """
    xp = array_module(d_ki=d_ki, d_kj=d_kj, d_ij=d_ij, n_i=n_i, n_j=n_j, n_k=n_k)
    if method == "single":
        return xp.minimum(d_ki, d_kj)
    if method == "complete":
        return xp.maximum(d_ki, d_kj)
    if method == "average":
        return (n_i * d_ki + n_j * d_kj) / (n_i + n_j)
    # Ward: sqrt(2 x the rise in within-cluster sum of squares) of merging k with i ∪ j
    total = n_i + n_j + n_k
    return xp.sqrt(((n_i + n_k) * d_ki**2 + (n_j + n_k) * d_kj**2 - n_k * d_ij**2) / total)


def linkage(X, method="ward"):
    """Agglomerative clustering: start with every row alone and merge the two closest clusters,
    n - 1 times, updating the distances by the Lance-Williams formula. O(n^3): for teaching.

    The distances live on X's device; the loop reads one pair per merge back to the host.
    Returns SciPy's linkage matrix (n - 1, 4), as NumPy on either device (for SciPy's
    dendrogram and fcluster): row t merges clusters Z[t, 0] < Z[t, 1]
    at height Z[t, 2] into cluster n + t of Z[t, 3] rows.
    """
    X = _check_X(X, min_samples=2)
    if method not in LINKAGES:
        raise ValueError(f"method must be one of {LINKAGES}, got {method!r}")
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
