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
import contextvars
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ._checks import (
    Custom,
    Int,
    Real,
    Seed,
    check_array,
    check_choice,
    check_real,
    checked,
    rng_from,
)
from ._deprecated import renamed_keywords
from .backend import get_array_module
from .decomposition import pca, power_of_two_scale

EXPLORATION_ITER = 250  # scikit-learn's: iterations with early exaggeration and momentum 0.5


@dataclass(frozen=True)
class Affinities:
    """The input similarities of t-SNE: P (n, n), symmetric, summing to 1, zero diagonal;
    conditional (n, n), row i is p_j|i; beta (n,), the precision 1/(2σᵢ²) found for each
    point; perplexity (n,), the perplexity exp(Hᵢ) each row reached."""

    P: object
    conditional: object
    beta: object
    perplexity: object


@dataclass(frozen=True)
class TSNEResult:
    """A t-SNE run: embedding (n, n_components); kl, the final KL(P ‖ Q); kl_history, a list
    of (iteration, C) every 50 iterations (C of tsne_gradient: exaggerated at first);
    affinities, the Affinities used."""

    embedding: object
    kl: float
    kl_history: list
    affinities: Affinities


PAIRS = 2**16  # pairs whose distance is recomputed from their difference at once


def _squared_distances(X):
    """‖xᵢ - xⱼ‖² for every pair, ≥ 0: ‖xᵢ‖² + ‖xⱼ‖² - 2 xᵢ·xⱼ from the centred X (one
    matrix product, no cancellation from an offset); where that is below √eps times the
    squared norms it came from (near-duplicates, a tight group far from the mean), the
    formula cancelled, and the pair is recomputed from its difference."""
    xp = get_array_module(X)
    X = X - X.mean(axis=0)
    sq = (X * X).sum(axis=1)
    norms = sq[:, None] + sq[None, :]
    D = xp.maximum(norms - 2 * (X @ X.T), 0)
    close = xp.triu(D < math.sqrt(float(xp.finfo(X.dtype).eps)) * norms, 1)
    rows, cols = xp.nonzero(close)
    for s in range(0, len(rows), PAIRS):
        i, j = rows[s:s + PAIRS], cols[s:s + PAIRS]
        diff = X[i] - X[j]
        D[i, j] = D[j, i] = (diff * diff).sum(axis=1)
    return D


def _three_points(X, name):
    X = check_array(X, name, ndim=(2,))
    if len(X) < 3:
        raise ValueError(f"{name} must have at least 3 points, got {len(X)}")
    return X


def _perplexity_below_n(perplexity, name, values, xp):
    """A perplexity in [1, n - 1), n the points of values["X"]."""
    perplexity = check_real(perplexity, name, low=1)
    n = len(values["X"])
    if not perplexity < n - 1:
        raise ValueError(f"{name} must be below the number of points minus one, "
                         f"{n - 1} (X has {n} points; a point has n - 1 neighbours), got "
                         f"{perplexity:g}")
    return perplexity


POINTS = Custom(_three_points, device_of=lambda X: X)
PERPLEXITY = Custom(_perplexity_below_n, values=True)


@checked(X=POINTS, perplexity=PERPLEXITY, tol=Real(low=0, low_open=True), max_iter=Int())
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
    Affinities (P, conditional, beta, perplexity), on X's device. P does not depend on the
    scale of X (the bisection runs on X divided by a power of two near its largest entry, so
    data at 1e-200 or 1e200 work too); beta is given in X's units. A row reaches the
    perplexity asked for unless it cannot: when m of its neighbours tie for the nearest and
    m >= perplexity (duplicates, the corners of a simplex), the entropy can fall no lower than
    log m, and that row ends at perplexity m, its mass split among the m.
    """
    xp = get_array_module(X)
    n = len(X)
    X, e = power_of_two_scale(X)  # P does not depend on the scale; β is found for X / 2ᵉ
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
    return Affinities(P, cond, _beta_in_units_of_X(beta, e), xp.exp(H))


def _beta_in_units_of_X(beta, e):
    """β found for X / 2ᵉ is β 2⁻²ᵉ for X: exact, unless it leaves the float range, which is
    an error rather than a silent 0 or inf."""
    if not e:
        return beta
    xp = get_array_module(beta)
    with np.errstate(over="ignore", under="ignore"):
        scaled = xp.ldexp(beta, -2 * e)
    tiny = float(xp.finfo(beta.dtype).tiny)
    if not bool(xp.isfinite(scaled).all()) or bool((scaled < tiny).any()):
        raise ValueError(f"X is too {'large' if e > 0 else 'small'} (entries up to about "
                         f"2^{e + 1}): the precision beta = 1/(2 sigma^2) leaves the range of "
                         f"{beta.dtype}; rescale X (P does not depend on the scale)")
    return scaled


def _check_P(P, name):
    P = check_array(P, name, ndim=(2,))
    xp = get_array_module(P)
    if P.shape[0] != P.shape[1]:
        raise ValueError(f"{name} must be square (n, n), got shape {P.shape}")
    if len(P) < 2:
        raise ValueError(f"{name} must be for at least 2 points, got shape {P.shape}")
    if bool((P < 0).any()):
        raise ValueError(f"{name} must be non-negative")
    if bool(xp.diagonal(P).any()):
        raise ValueError(f"{name} must have a zero diagonal (a point is not its own "
                         f"neighbour)")
    if not bool(xp.allclose(P, P.T, rtol=1e-6, atol=0)):
        raise ValueError(f"{name} must be symmetric (the joint P of affinities)")
    total = float(P.sum())
    if abs(total - 1) > (1e-3 if P.dtype == xp.float32 else 1e-6):
        raise ValueError(f"{name} must sum to 1 (a joint distribution, Affinities.P), got "
                         f"{total:.6g}")
    return P


def _points_of_P(Y, name, values, xp):
    Y = check_array(Y, name, ndim=(2,), xp=xp)
    if len(Y) != len(values["P"]):
        raise ValueError(f"{name} has {len(Y)} points, P is for {len(values['P'])}")
    return Y


JOINT = Custom(_check_P, device_of=lambda P: P)
EMBEDDING = Custom(_points_of_P, values=True, device_of=lambda Y: Y)
POSITIVE = Real(low=0, low_open=True)


def _finite_objective(kl, grad, Y, exaggeration):
    """(float C, grad), or a ValueError saying what overflowed."""
    finite = math.isfinite(float(kl)) and bool(get_array_module(Y).isfinite(grad).all())
    if not finite:
        raise ValueError(f"the objective or its gradient overflows {Y.dtype} (Y spans "
                         f"{float(abs(Y).max()):.3g}, exaggeration {exaggeration:g}): bring Y "
                         f"nearer to the scale of 1, or lower the exaggeration")
    return float(kl), grad


@checked(P=JOINT, Y=EMBEDDING, exaggeration=POSITIVE)
def tsne_gradient_plain(P, Y, exaggeration=1.0):
    """The objective and gradient of tsne_gradient, computed as the formulas read: every
    difference yᵢ - yⱼ at once, an (n, n, n_components) array, and the (n, n) matrices W and
    Q. tsne_gradient (the engine that tsne runs) gives the same numbers, to rounding, faster
    and at any scale of Y (tests/test_tsne.py, test_the_engine_equals_the_plain_gradient);
    this one is for reading, and for an embedding of moderate scale (beyond about 1e154 in
    float64 the squared distances overflow, and it says so).

        wᵢⱼ = 1 / (1 + ‖yᵢ - yⱼ‖²),  Z = Σ_{k≠l} w_kl,  Q = W / Z,
        C = Σ αpᵢⱼ log(αpᵢⱼ / wᵢⱼ) + log Z,   ∂C/∂yᵢ = 4 Σⱼ (αpᵢⱼ - qᵢⱼ) wᵢⱼ (yᵢ - yⱼ).

    Parameters
    ----------
    P : (n, n) array, n >= 2, symmetric, non-negative, zero diagonal, summing to 1
        (Affinities.P).
    Y : (n, n_components) array on P's device.
    exaggeration : real > 0, α.

    Returns
    -------
    (kl, grad): kl the float C; grad (n, n_components). A ValueError when they overflow.
    """
    xp = get_array_module(Y)
    P = P.astype(Y.dtype, copy=False)
    with np.errstate(all="ignore"):  # what overflowed is caught below, and said
        diff = Y[:, None, :] - Y[None, :, :]  # (n, n, n_components): yᵢ - yⱼ
        W = 1 / (1 + (diff * diff).sum(axis=2))  # the Student-t similarities
        W = W * (1 - xp.eye(len(Y), dtype=Y.dtype))  # i = i is no pair
        Z = W.sum()
        Q = W / Z
        grad = 4 * (((exaggeration * P - Q) * W)[:, :, None] * diff).sum(axis=1)
        positive = P > 0
        scaled = exaggeration * P[positive]
        kl = (scaled * xp.log(scaled / W[positive])).sum() + xp.log(Z)
    return _finite_objective(kl, grad, Y, exaggeration)


@checked(P=JOINT, Y=EMBEDDING, exaggeration=POSITIVE)
def tsne_gradient(P, Y, exaggeration=1.0):
    """The t-SNE objective and its gradient, with Student-t similarities
    wᵢⱼ = 1 / (1 + ‖yᵢ - yⱼ‖²), Z = Σ_{k≠l} w_kl, Q = w / Z, and P exaggerated by α:

        C = Σ αpᵢⱼ log(αpᵢⱼ / wᵢⱼ) + log Z,     ∂C/∂yᵢ = 4 Σⱼ (αpᵢⱼ - qᵢⱼ) wᵢⱼ (yᵢ - yⱼ).

    With α = 1, C is KL(P ‖ Q) >= 0; with α > 1 it is the cost whose gradient early
    exaggeration follows (the attraction α times stronger, the repulsion unchanged). Both
    are invariant to moving Y, and computed on Y centred and divided by a power of two
    (see _gradient), so embeddings at 1e9 or 1e200 give the right numbers.

    Parameters
    ----------
    P : (n, n) array, n >= 2, symmetric, non-negative, zero diagonal, summing to 1
        (Affinities.P).
    Y : (n, n_components) array on P's device.
    exaggeration : real > 0, α (early exaggeration multiplies P by it).

    Returns
    -------
    (kl, grad): kl the float C (the sum over pᵢⱼ > 0); grad (n, n_components). A
    ValueError when they do not fit in Y's dtype (exact duplicates in an embedding beyond
    about 1e77 in float64, or a huge exaggeration).
    """
    with np.errstate(all="ignore"):  # what overflowed is caught below, and said
        kl, grad = _gradient(P.astype(Y.dtype, copy=False), Y, exaggeration, True)
    return _finite_objective(kl, grad, Y, exaggeration)


BLOCK = 2**18  # entries of the slab worked on at once: it stays in the CPU's cache


def _exponent_above(value):
    """The smallest e with 2ᵉ >= value > 0 (0 for 0)."""
    if value <= 0:
        return 0
    mantissa, exponent = math.frexp(value)
    return exponent - 1 if mantissa == 0.5 else exponent


def _centred_unit(Y):
    """(U, e) with Y - ȳ = 2ᵉ U up to the centring's rounding, e >= 0 and |U| <= 1 (e = 0
    when Y varies by less than 1): no sum of Y overflows, no offset cancels."""
    xp = get_array_module(Y)
    e = _exponent_above(float(xp.abs(Y).max()))
    U = xp.ldexp(Y, -e) if e else Y
    U = U - U.mean(axis=0)
    spread = _exponent_above(float(xp.abs(U).max()))  # <= 1
    if e + spread <= 0:  # varies by less than 1: keep the units of Y
        return (xp.ldexp(U, e) if e else U), 0
    return (xp.ldexp(U, -spread) if spread else U), e + spread


def _gradient(P, Y, exaggeration, with_kl, pool=None):
    """(C or None, gradient): 4 [α Σⱼ pᵢⱼ wᵢⱼ (yᵢ - yⱼ) - Σⱼ wᵢⱼ² (yᵢ - yⱼ) / Z], with
    Σⱼ fᵢⱼ (yᵢ - yⱼ) = yᵢ Σⱼ fᵢⱼ - (F Y)ᵢ and Z = Σ_{i≠j} wᵢⱼ.

    Computed on U = (Y - ȳ) / s (_centred_unit): with ωᵢⱼ = 1 / (s⁻² + ‖uᵢ - uⱼ‖²) = s² wᵢⱼ,
    Q = ω / Σω, ∂C/∂yᵢ = (4/s) Σⱼ (αpᵢⱼ - qᵢⱼ) ωᵢⱼ (uᵢ - uⱼ) and
    C = α Σ p log(αp / ω) + log Σω + (α Σp - 1) log s². Centring keeps yᵢ Σⱼ fᵢⱼ - (F Y)ᵢ
    free of an offset's cancellation; the scale keeps ‖yᵢ - yⱼ‖² and w² in range. The
    diagonal (ωᵢᵢ = s²) is set to 0, not subtracted from a sum (Σ w - n cancels for spread
    out Y).

    P and W are symmetric, so only the upper triangle is computed, a slab of rows s:e at a
    time (see _slab): every pair is formed once, half the work of the full (n, n). The slabs
    are independent; with a pool (a concurrent.futures executor) they run on its threads,
    and their parts are added up in slab order, so the result does not depend on the pool."""
    xp = get_array_module(Y)
    n, dims = Y.shape
    U, exponent = _centred_unit(Y)  # the scale s = 2^exponent
    floor = math.ldexp(1.0, -2 * exponent)  # s⁻²: 1 for an embedding of spread below 1
    ones = xp.ones((n, 1), dtype=Y.dtype)
    U1 = xp.concatenate([U, ones], axis=1)  # (n, dims + 1)
    # U[i, c] - U[j, c] = [U[i, c] 1] · [1 -U[j, c]]: a matrix product of two exact terms,
    # so the same rounded difference as a broadcast subtraction, at the speed of BLAS
    left = [xp.concatenate([U[:, c:c + 1], ones], axis=1) for c in range(dims)]
    right = [xp.concatenate([ones, -U[:, c:c + 1]], axis=1).T for c in range(dims)]
    bounds = [0]
    while bounds[-1] < n:  # slabs of about BLOCK entries each
        bounds.append(min(n, bounds[-1] + max(1, BLOCK // (n - bounds[-1]))))
    ranges = list(zip(bounds[:-1], bounds[1:], strict=True))

    def slab(s_e):
        return _slab(P, U1, left, right, *s_e, floor, with_kl)

    parts = (map if pool is None else pool.map)(slab, ranges)
    attract, repel = xp.zeros_like(U1), xp.zeros_like(U1)  # F [U 1] for F = P ∘ ω, ω ∘ ω
    Z, plogp_w, p_sum = 0.0, 0.0, 0.0
    for (s, e), (to_slab, to_rest, sums) in zip(ranges, parts, strict=True):
        attract[s:e] += to_slab[0]
        attract[e:] += to_rest[0]
        repel[s:e] += to_slab[1]
        repel[e:] += to_rest[1]
        Z, plogp_w, p_sum = Z + sums[0], plogp_w + sums[1], p_sum + sums[2]
    kl = None
    if with_kl:  # α Σ p log(αp / w) + log Z: KL(P ‖ Q) when α = 1 (Σ p = 1)
        kl = (exaggeration * (plogp_w + math.log(exaggeration) * p_sum) + xp.log(Z)
              + (exaggeration * p_sum - 1) * (2 * exponent * math.log(2)))
    attract = attract[:, dims:] * U - attract[:, :dims]  # uᵢ Σⱼ fᵢⱼ - (F U)ᵢ
    repel = repel[:, dims:] * U - repel[:, :dims]
    return kl, (attract * math.ldexp(4 * exaggeration, -exponent)
                - repel * (math.ldexp(4.0, -exponent) / Z))


def _slab(P, U1, left, right, s, e, floor, with_kl):
    """Rows s:e against columns s:n of F = P ∘ ω and ω ∘ ω, times [U 1]: the square part
    (s:e, s:e) serves rows s:e, the part right of it (s:e, e:n) serves rows s:e directly and
    rows e:n through its transpose; [U 1] gives F U and the row sums of F in one product.
    Returns ((P∘ω, ω∘ω) [U 1] for rows s:e, the same for rows e:n, (Σ ω, Σ p log(p/ω), Σ p)),
    each sum over the slab's pairs in both orders, the diagonal left out."""
    xp = get_array_module(U1)
    W = left[0][s:e] @ right[0][:, s:]  # (e - s, n - s): rows s:e, columns s:n
    W *= W
    for c in range(1, len(left)):
        d = left[c][s:e] @ right[c][:, s:]
        d *= d
        W += d
    W += floor
    xp.reciprocal(W, out=W)  # ωᵢⱼ = 1 / (s⁻² + ‖uᵢ - uⱼ‖²)
    k = e - s  # the square part is [:, :k], counted once; the rest [:, k:], twice

    def both_orders(F):
        return F[:, :k].sum() + 2 * F[:, k:].sum()

    sums = [0.0, 0.0, 0.0]
    p = P[s:e, s:]
    if with_kl:  # before the diagonal is cleared: there p = 0 and ω = s², no log of 0
        positive = p > 0
        sums[1] = both_orders(xp.where(positive, p * xp.log(xp.where(positive, p, 1) / W), 0))
        sums[2] = both_orders(p)
    diagonal = xp.arange(k)
    W[diagonal, diagonal] = 0  # i = j is no pair
    sums[0] = both_orders(W)
    A = p * W
    to_slab, to_rest = [A @ U1[s:]], [A[:, k:].T @ U1[s:e]]
    W *= W
    to_slab.append(W @ U1[s:])
    to_rest.append(W[:, k:].T @ U1[s:e])
    return to_slab, to_rest, sums


def _learning_rate(value, name):
    if isinstance(value, str):
        return check_choice(value, name, {"auto"})
    return check_real(value, name, low=0, low_open=True)


def _init(init, name, values, xp):
    """"pca", "random", or an (n_samples, n_components) array copied in X's dtype."""
    X, n_components = values["X"], values["n_components"]
    if isinstance(init, str):
        init = check_choice(init, name, {"pca", "random"})
        if init == "pca" and n_components > min(X.shape):
            raise ValueError(f"{name}='pca' needs n_components <= min(X.shape) "
                             f"= {min(X.shape)}, got {n_components}")
        return init
    Y = check_array(init, name, ndim=(2,), xp=xp).astype(X.dtype, copy=True)
    if Y.shape != (len(X), n_components):
        raise ValueError(f"{name} must have shape ({len(X)}, {n_components}), got {Y.shape}")
    return Y


@renamed_keywords(max_iter="n_iter")
@checked(X=POINTS, n_components=Int(), perplexity=PERPLEXITY,
         n_iter=Int(low=EXPLORATION_ITER + 1), learning_rate=Custom(_learning_rate),
         early_exaggeration=Real(low=1), seed=Seed(), init=Custom(_init, values=True))
def tsne(X, n_components=2, perplexity=30.0, *, n_iter=1000, learning_rate="auto",
         early_exaggeration=12.0, init="pca", seed=0):
    """t-SNE embedding of X by exact gradient descent, scikit-learn's schedule: 250 iterations
    with P exaggerated and momentum 0.5, then the rest with momentum 0.8 (descend, twice);
    per-coordinate gains (+0.2 when the step changes sign, x0.8 otherwise, at least 0.01);
    learning rate "auto" = max(n / early_exaggeration / 4, 50). The embedding has X's dtype.

    Parameters
    ----------
    X : (n_samples, n_features) array, n_samples >= 3.
    n_components : int >= 1, the dimension of the embedding.
    perplexity : real in [1, n_samples - 1).
    n_iter : int > 250, iterations in all, exactly (no early stop; the old keyword max_iter
        still works, with a DeprecationWarning).
    learning_rate : "auto" or a real > 0.
    early_exaggeration : real >= 1, α during the first 250 iterations.
    init : "pca" (the first components, scaled to a standard deviation of 1e-4, as
        scikit-learn; random when X does not vary), "random" (N(0, 1e-4²)) or an
        (n_samples, n_components) array.
    seed : int >= 0, numpy Generator or None (default 0), for init="random".

    Returns
    -------
    TSNEResult (embedding, kl, kl_history, affinities). A ValueError naming learning_rate
    when the descent diverges (its objective leaves the float range).
    """
    rng = rng_from(seed)
    xp = get_array_module(X)
    n = len(X)
    Y = init
    if isinstance(init, str):
        Y = _pca_init(X, n_components) if init == "pca" else None
        if Y is None:  # random, or the PCA of X that does not vary
            Y = xp.asarray(rng.normal(0, 1e-4, (n, n_components)), dtype=X.dtype)
    if learning_rate == "auto":
        learning_rate = max(n / early_exaggeration / 4, 50.0)
    aff = affinities(X, perplexity, tol=1e-5, max_iter=100)
    P = aff.P.astype(X.dtype, copy=False)
    history = []
    with _slab_threads(xp) as pool:  # one pool of threads for both stages
        for stage, (alpha, momentum, iters) in enumerate(
                [(early_exaggeration, 0.5, EXPLORATION_ITER),
                 (1.0, 0.8, n_iter - EXPLORATION_ITER)]):
            Y, logged = descend(P, Y, iters, learning_rate=learning_rate, exaggeration=alpha,
                                momentum=momentum, start=EXPLORATION_ITER * stage)
            history += logged
        with np.errstate(all="ignore"):
            kl, _ = _gradient(P, Y, 1.0, True, pool)
        _check_converging(float(kl), n_iter, learning_rate)
    return TSNEResult(Y, float(kl), history, aff)


def _pca_init(X, n_components):
    """The first principal coordinates of X, scaled to a standard deviation of 1e-4 (a
    scale-free result: computed on X divided by a power of two, so data at 1e300 do not
    overflow); None when X does not vary."""
    X, _ = power_of_two_scale(X)
    Y = (X - X.mean(axis=0)) @ pca(X, n_components, "svd").components.T
    spread = float(Y[:, 0].std())
    return Y * (1e-4 / spread) if spread > 0 else None


def _check_converging(kl, iteration, learning_rate):
    """A ValueError, not an embedding of NaN, when the descent left the float range."""
    if not math.isfinite(kl):
        raise ValueError(f"t-SNE diverged: the objective is {kl} at iteration {iteration}; "
                         f"lower learning_rate (got {learning_rate:g}) or early_exaggeration")


_POOL = contextvars.ContextVar("tsne_slab_pool", default=None)


@contextlib.contextmanager
def _slab_threads(xp):
    """On the CPU, a pool of as many threads as NumPy's BLAS may use (1 under
    OMP_NUM_THREADS=1 or threadpool_limits(1)), each slab's products on one BLAS thread:
    the slabs' products are too small for BLAS to split well, but NumPy releases the GIL in
    them, so whole slabs run side by side. None (no pool) for one thread or the GPU. Inside
    another _slab_threads (tsne's, around its two descend calls), that one's pool."""
    from threadpoolctl import threadpool_info, threadpool_limits

    if _POOL.get() is not None:
        yield _POOL.get()
        return
    threads = max((pool["num_threads"] for pool in threadpool_info()
                   if pool["user_api"] == "blas"), default=1)
    if xp is not np or threads < 2:
        yield None
        return
    with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(threads) as pool:
        token = _POOL.set(pool)
        try:
            yield pool
        finally:
            _POOL.reset(token)


@checked(P=JOINT, Y=EMBEDDING, n_iter=Int(low=0), learning_rate=POSITIVE,
         exaggeration=POSITIVE, momentum=Real(low=0, high=1, high_open=True),
         start=Int(low=0))
def descend(P, Y, n_iter, *, learning_rate, exaggeration=1.0, momentum=0.8, start=0):
    """n_iter steps of gradient descent on the t-SNE objective, with momentum and
    per-coordinate gains (Jacobs' delta-bar-delta, as scikit-learn): a gain grows by 0.2
    while its coordinate's step keeps changing sign, and shrinks by 0.8 while it does not
    (at least 0.01); update ← momentum · update - learning_rate · gain · gradient. The
    gradient is tsne_gradient's (by slabs of rows, on as many threads as BLAS may use).

    Parameters
    ----------
    P : (n, n) joint affinities (Affinities.P).  Y : (n, n_components) start, on P's device.
    n_iter : int >= 0, exactly that many steps.  learning_rate : real > 0.
    exaggeration : real > 0, α (P is multiplied by it).  momentum : real in [0, 1).
    start : int >= 0, the iteration number of the first step (for the log).

    Returns
    -------
    (Y, history): the embedding after n_iter steps (a new array), and a list of
    (iteration, objective) at every iteration number divisible by 50. A ValueError naming
    learning_rate when the objective leaves the float range.
    """
    xp = get_array_module(Y)
    P = P.astype(Y.dtype, copy=False)
    update, gains = xp.zeros_like(Y), xp.ones_like(Y)
    history = []
    with _slab_threads(xp) as pool:
        for i in range(n_iter):
            log = (start + i + 1) % 50 == 0
            with np.errstate(all="ignore"):  # a diverging step is caught at the next log
                kl, grad = _gradient(P, Y, exaggeration, log, pool)
            if log:
                _check_converging(float(kl), start + i + 1, learning_rate)
                history.append((start + i + 1, float(kl)))
            same_sign = update * grad >= 0  # still going the same way: damp that gain
            gains = xp.maximum(xp.where(same_sign, gains * 0.8, gains + 0.2), 0.01)
            update = momentum * update - learning_rate * (gains * grad)
            Y = Y + update
    return Y, history
