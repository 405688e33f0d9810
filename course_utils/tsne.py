"""t-SNE, exact: affinities calibrated to a perplexity, the gradient of KL(P ‖ Q), and gradient
descent with momentum, gains and early exaggeration, as van der Maaten and Hinton (2008)
describe it and scikit-learn runs it.

Every pairwise quantity is an (n, n) array, so a step costs O(n²) time (and P takes n²
memory): fine up to a few thousand points (the 1797 digits: 3.2 million pairs). Beyond that
the repulsion Σⱼ qᵢⱼ wᵢⱼ (yᵢ - yⱼ) is approximated: Barnes-Hut (a quadtree, a far cell pushes
like one point at its centre, O(n log n), scikit-learn's default) or FFT-accelerated
interpolation on a grid (FIt-SNE, openTSNE, O(n)), and the attraction is summed over the
k ≈ 3·perplexity nearest neighbours only (the other pᵢⱼ are ~0).

X is (n_samples, n_features), Y the embedding (n_samples, n_components). Every function
follows its data: NumPy in, NumPy out; CuPy in, CuPy out; random numbers are drawn by NumPy
on the host and moved, so a seed gives the same embedding on the CPU and the GPU.
"""

import contextlib
import math
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np

from ._checks import check_array, check_choice, check_int, check_real, rng_from
from .backend import get_array_module
from .decomposition import _pca

EXPLORATION_ITER = 250  # scikit-learn's: iterations with early exaggeration and momentum 0.5


class Affinities(NamedTuple):
    """The input similarities of t-SNE: P (n, n), symmetric, summing to 1, zero diagonal;
    conditional (n, n), row i is p_j|i; beta (n,), the precision 1/(2σᵢ²) found for each
    point; perplexity (n,), the perplexity exp(Hᵢ) each row reached."""

    P: object
    conditional: object
    beta: object
    perplexity: object


class TSNEResult(NamedTuple):
    """A t-SNE run: embedding (n, n_components); kl, the final KL(P ‖ Q); kl_history, a list
    of (iteration, C) every 50 iterations (C of tsne_gradient: exaggerated at first);
    affinities, the Affinities used."""

    embedding: object
    kl: float
    kl_history: list
    affinities: Affinities


def _squared_distances(X):
    """‖xᵢ - xⱼ‖² for every pair, from the centred X (no cancellation from an offset), ≥ 0."""
    X = X - X.mean(axis=0)
    sq = (X * X).sum(axis=1)
    D = sq[:, None] + sq[None, :] - 2 * (X @ X.T)
    return get_array_module(X).maximum(D, 0)


def _check_perplexity(perplexity, n):
    perplexity = check_real(perplexity, "perplexity", low=1)
    if not perplexity < n - 1:
        raise ValueError(f"perplexity must be below the number of points minus one, "
                         f"{n - 1} (X has {n} points; a point has n - 1 neighbours), got "
                         f"{perplexity:g}")
    return perplexity


def affinities(X, perplexity=30.0, *, tol=1e-5, max_iter=100):
    """t-SNE's input affinities: for each point i, a Gaussian p_j|i ∝ exp(-βᵢ‖xᵢ - xⱼ‖²)
    whose entropy Hᵢ = -Σⱼ p_j|i log p_j|i equals log(perplexity), βᵢ found by a binary search
    run for all points at once; then P = (p_j|i + p_i|j) / 2n.

    Parameters
    ----------
    X : (n_samples, n_features) array, n_samples >= 3.
    perplexity : real number in [1, n_samples - 1), the effective number of neighbours.
    tol : real > 0, the tolerance on each entropy (nats).  max_iter : int >= 1, the most
        bisection steps.

    Returns
    -------
    Affinities (P, conditional, beta, perplexity), on X's device.
    """
    X = check_array(X, "X", ndim=(2,))
    if len(X) < 3:
        raise ValueError(f"X must have at least 3 points, got {len(X)}")
    perplexity = _check_perplexity(perplexity, len(X))
    tol = check_real(tol, "tol", low=0, low_open=True)
    max_iter = check_int(max_iter, "max_iter")
    return _affinities(X, perplexity, tol, max_iter)


def _affinities(X, perplexity, tol, max_iter):
    xp = get_array_module(X)
    n = len(X)
    off = ~xp.eye(n, dtype=bool)
    D = _squared_distances(X)[off].reshape(n, n - 1)  # each row without its diagonal
    D = D - D.min(axis=1, keepdims=True)  # exp(-β·0) = 1 in each row: no underflow
    target = math.log(perplexity)
    beta = xp.ones(n, dtype=X.dtype)
    low = xp.zeros(n, dtype=X.dtype)
    high = xp.full(n, xp.inf, dtype=X.dtype)
    for _ in range(max_iter):
        E = xp.exp(-beta[:, None] * D)
        total = E.sum(axis=1)
        H = xp.log(total) + beta * (D * E).sum(axis=1) / total  # entropy of each row, nats
        excess = H - target
        if bool((xp.abs(excess) < tol).all()):
            break
        too_wide = excess > 0  # entropy too high: sharpen, β up
        low = xp.where(too_wide, beta, low)
        high = xp.where(too_wide, high, beta)
        beta = xp.where(xp.isinf(high), beta * 2, (low + high) / 2)
    else:  # max_iter ran out: the rows and entropies of the β last moved to
        E = xp.exp(-beta[:, None] * D)
        total = E.sum(axis=1)
        H = xp.log(total) + beta * (D * E).sum(axis=1) / total
    cond = xp.zeros((n, n), dtype=X.dtype)
    cond[off] = (E / total[:, None]).ravel()
    P = (cond + cond.T) / (2 * n)
    return Affinities(P, cond, beta, xp.exp(H))


def _check_P(P, name="P"):
    P = check_array(P, name, ndim=(2,))
    if P.shape[0] != P.shape[1]:
        raise ValueError(f"{name} must be square (n, n), got shape {P.shape}")
    if bool((P < 0).any()):
        raise ValueError(f"{name} must be non-negative")
    if not bool(get_array_module(P).allclose(P, P.T, rtol=1e-6, atol=0)):
        raise ValueError(f"{name} must be symmetric (the joint P of affinities)")
    return P


def tsne_gradient(P, Y, exaggeration=1.0):
    """The t-SNE objective and its gradient, with Student-t similarities
    wᵢⱼ = 1 / (1 + ‖yᵢ - yⱼ‖²), Z = Σ_{k≠l} w_kl, Q = w / Z, and P exaggerated by α:

        C = Σ αpᵢⱼ log(αpᵢⱼ / wᵢⱼ) + log Z,     ∂C/∂yᵢ = 4 Σⱼ (αpᵢⱼ - qᵢⱼ) wᵢⱼ (yᵢ - yⱼ).

    With α = 1 (and Σ P = 1), C is KL(P ‖ Q); with α > 1 it is the cost whose gradient early
    exaggeration follows (the attraction α times stronger, the repulsion unchanged).

    Parameters
    ----------
    P : (n, n) array, symmetric, non-negative, zero diagonal (Affinities.P).
    Y : (n, n_components) array on P's device.
    exaggeration : real > 0, α (early exaggeration multiplies P by it).

    Returns
    -------
    (kl, grad): kl the float C (the sum over pᵢⱼ > 0); grad (n, n_components).
    """
    P = _check_P(P)
    Y = check_array(Y, "Y", ndim=(2,), xp=get_array_module(P))
    if len(Y) != len(P):
        raise ValueError(f"Y has {len(Y)} points, P is for {len(P)}")
    exaggeration = check_real(exaggeration, "exaggeration", low=0, low_open=True)
    kl, grad = _gradient(P.astype(Y.dtype, copy=False), Y, exaggeration, True)
    return float(kl), grad


BLOCK = 2**18  # entries of the slab worked on at once: it stays in the CPU's cache


def _gradient(P, Y, exaggeration, with_kl, pool=None):
    """(KL or None, gradient): 4 [α Σⱼ pᵢⱼ wᵢⱼ (yᵢ - yⱼ) - Σⱼ wᵢⱼ² (yᵢ - yⱼ) / Z], with
    Σⱼ fᵢⱼ (yᵢ - yⱼ) = yᵢ Σⱼ fᵢⱼ - (F Y)ᵢ and Z = Σ_{i≠j} wᵢⱼ.

    P and W are symmetric, so only the upper triangle is computed, a slab of rows s:e at a
    time (see _slab): every pair is formed once, half the work of the full (n, n). The slabs
    are independent; with a pool (a concurrent.futures executor) they run on its threads,
    and their parts are added up in slab order, so the result does not depend on the pool."""
    xp = get_array_module(Y)
    n, dims = Y.shape
    ones = xp.ones((n, 1), dtype=Y.dtype)
    Y1 = xp.concatenate([Y, ones], axis=1)  # (n, dims + 1)
    # Y[i, c] - Y[j, c] = [Y[i, c] 1] · [1 -Y[j, c]]: a matrix product of two exact terms,
    # so the same rounded difference as a broadcast subtraction, at the speed of BLAS
    left = [xp.concatenate([Y[:, c:c + 1], ones], axis=1) for c in range(dims)]
    right = [xp.concatenate([ones, -Y[:, c:c + 1]], axis=1).T for c in range(dims)]
    bounds = [0]
    while bounds[-1] < n:  # slabs of about BLOCK entries each
        bounds.append(min(n, bounds[-1] + max(1, BLOCK // (n - bounds[-1]))))
    ranges = list(zip(bounds[:-1], bounds[1:], strict=True))

    def slab(s_e):
        return _slab(P, Y1, left, right, *s_e, with_kl)

    parts = (map if pool is None else pool.map)(slab, ranges)
    attract, repel = xp.zeros_like(Y1), xp.zeros_like(Y1)  # F [Y 1] for F = P ∘ W, W ∘ W
    Z, plogp_w, p_sum = 0.0, 0.0, 0.0
    for (s, e), (to_slab, to_rest, sums) in zip(ranges, parts, strict=True):
        attract[s:e] += to_slab[0]
        attract[e:] += to_rest[0]
        repel[s:e] += to_slab[1]
        repel[e:] += to_rest[1]
        Z, plogp_w, p_sum = Z + sums[0], plogp_w + sums[1], p_sum + sums[2]
    Z = Z - n  # wᵢᵢ = 1 was counted for every i
    kl = None
    if with_kl:  # α Σ p log(αp / w) + log Z: KL(P ‖ Q) when α = 1 (Σ p = 1)
        kl = exaggeration * (plogp_w + math.log(exaggeration) * p_sum) + xp.log(Z)
    attract = attract[:, dims:] * Y - attract[:, :dims]  # yᵢ Σⱼ fᵢⱼ - (F Y)ᵢ
    repel = repel[:, dims:] * Y - repel[:, :dims]
    return kl, attract * (4 * exaggeration) - repel * (4 / Z)


def _slab(P, Y1, left, right, s, e, with_kl):
    """Rows s:e against columns s:n of F = P ∘ W and W ∘ W, times [Y 1]: the square part
    (s:e, s:e) serves rows s:e, the part right of it (s:e, e:n) serves rows s:e directly and
    rows e:n through its transpose; [Y 1] gives F Y and the row sums of F in one product.
    Returns ((P∘W, W∘W) [Y 1] for rows s:e, the same for rows e:n, (Σ W, Σ p log(p/w), Σ p)),
    each sum over the slab's pairs in both orders."""
    xp = get_array_module(Y1)
    W = left[0][s:e] @ right[0][:, s:]  # (e - s, n - s): rows s:e, columns s:n
    W *= W
    for c in range(1, len(left)):
        d = left[c][s:e] @ right[c][:, s:]
        d *= d
        W += d
    W += 1
    xp.reciprocal(W, out=W)  # wᵢⱼ = 1 / (1 + ‖yᵢ - yⱼ‖²)
    k = e - s  # the square part is [:, :k], counted once; the rest [:, k:], twice

    def both_orders(F):
        return F[:, :k].sum() + 2 * F[:, k:].sum()

    sums = [both_orders(W), 0.0, 0.0]
    p = P[s:e, s:]
    A = p * W
    to_slab, to_rest = [A @ Y1[s:]], [A[:, k:].T @ Y1[s:e]]
    if with_kl:
        positive = p > 0
        sums[1] = both_orders(xp.where(positive, p * xp.log(xp.where(positive, p, 1) / W), 0))
        sums[2] = both_orders(p)
    W *= W
    to_slab.append(W @ Y1[s:])
    to_rest.append(W[:, k:].T @ Y1[s:e])
    return to_slab, to_rest, sums


def tsne(X, n_components=2, perplexity=30.0, *, max_iter=1000, learning_rate="auto",
         early_exaggeration=12.0, init="pca", seed=0):
    """t-SNE embedding of X by exact gradient descent, scikit-learn's schedule: 250 iterations
    with P exaggerated and momentum 0.5, then the rest with momentum 0.8; per-coordinate gains
    (+0.2 when the step changes sign, x0.8 otherwise, at least 0.01); learning rate "auto"
    = max(n / early_exaggeration / 4, 50). The embedding has X's dtype.

    Parameters
    ----------
    X : (n_samples, n_features) array, n_samples >= 3.
    n_components : int >= 1, the dimension of the embedding.
    perplexity : real in [1, n_samples - 1).
    max_iter : int > 250, iterations in all.
    learning_rate : "auto" or a real > 0.
    early_exaggeration : real >= 1, α during the first 250 iterations.
    init : "pca" (the first components, scaled to a standard deviation of 1e-4, as
        scikit-learn; random when X does not vary), "random" (N(0, 1e-4²)) or an
        (n_samples, n_components) array.
    seed : int >= 0, numpy Generator or None (default 0), for init="random".

    Returns
    -------
    TSNEResult (embedding, kl, kl_history, affinities).
    """
    X = check_array(X, "X", ndim=(2,))
    n = len(X)
    if n < 3:
        raise ValueError(f"X must have at least 3 points, got {n}")
    n_components = check_int(n_components, "n_components")
    perplexity = _check_perplexity(perplexity, n)
    max_iter = check_int(max_iter, "max_iter", low=EXPLORATION_ITER + 1)
    if isinstance(learning_rate, str):
        check_choice(learning_rate, "learning_rate", {"auto"})
    else:
        learning_rate = check_real(learning_rate, "learning_rate", low=0, low_open=True)
    early_exaggeration = check_real(early_exaggeration, "early_exaggeration", low=1)
    xp = get_array_module(X)
    if isinstance(init, str):
        init = check_choice(init, "init", {"pca", "random"})
        if init == "pca" and n_components > min(X.shape):
            raise ValueError(f"init='pca' needs n_components <= min(X.shape) "
                             f"= {min(X.shape)}, got {n_components}")
        Y = _pca_init(X, n_components) if init == "pca" else None
        if Y is None:  # random, or the PCA of X that does not vary
            Y = xp.asarray(rng_from(seed).normal(0, 1e-4, (n, n_components)), dtype=X.dtype)
    else:
        Y = check_array(init, "init", ndim=(2,), xp=xp).astype(X.dtype, copy=True)
        if Y.shape != (n, n_components):
            raise ValueError(f"init must have shape ({n}, {n_components}), got {Y.shape}")
    if learning_rate == "auto":
        learning_rate = max(n / early_exaggeration / 4, 50.0)
    return _tsne(X, Y, perplexity, max_iter, learning_rate, early_exaggeration)


def _pca_init(X, n_components):
    Y = (X - X.mean(axis=0)) @ _pca(X, n_components, "svd").components.T
    spread = float(Y[:, 0].std())
    return Y * (1e-4 / spread) if spread > 0 else None


def _tsne(X, Y, perplexity, max_iter, learning_rate, early_exaggeration):
    aff = _affinities(X, perplexity, 1e-5, 100)
    P = aff.P.astype(X.dtype, copy=False)
    history = []
    with _slab_threads(get_array_module(X)) as pool:
        for stage, (alpha, momentum, iters) in enumerate(
                [(early_exaggeration, 0.5, EXPLORATION_ITER),
                 (1.0, 0.8, max_iter - EXPLORATION_ITER)]):
            Y = _descend(P, Y, alpha, momentum, iters, learning_rate,
                         EXPLORATION_ITER * stage, history, pool)
        kl, _ = _gradient(P, Y, 1.0, True, pool)
    return TSNEResult(Y, float(kl), history, aff)


@contextlib.contextmanager
def _slab_threads(xp):
    """On the CPU, a pool of as many threads as NumPy's BLAS may use (1 under
    OMP_NUM_THREADS=1 or threadpool_limits(1)), each slab's products on one BLAS thread:
    the slabs' products are too small for BLAS to split well, but NumPy releases the GIL in
    them, so whole slabs run side by side. None (no pool) for one thread or the GPU."""
    from threadpoolctl import threadpool_info, threadpool_limits

    threads = max((pool["num_threads"] for pool in threadpool_info()
                   if pool["user_api"] == "blas"), default=1)
    if xp is not np or threads < 2:
        yield None
        return
    with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(threads) as pool:
        yield pool


def _descend(P, Y, alpha, momentum, iters, learning_rate, start, history, pool):
    """Gradient descent with momentum and gains (Jacobs' delta-bar-delta), in place."""
    xp = get_array_module(Y)
    update, gains = xp.zeros_like(Y), xp.ones_like(Y)
    for i in range(iters):
        log = (start + i + 1) % 50 == 0
        kl, grad = _gradient(P, Y, alpha, log, pool)
        if log:
            history.append((start + i + 1, float(kl)))
        same_sign = update * grad >= 0  # still going the same way: damp that gain
        gains = xp.maximum(xp.where(same_sign, gains * 0.8, gains + 0.2), 0.01)
        update = momentum * update - learning_rate * (gains * grad)
        Y = Y + update
    return Y

