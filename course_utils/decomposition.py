"""Principal component analysis two ways: the eigenvectors of the covariance matrix (lesson
04's estimator) and the singular value decomposition of the centred data; projection,
reconstruction from k components, and principal angles between subspaces.

X is (n_samples, n_features). Every function follows its data: NumPy in, NumPy out (CPU);
CuPy in, CuPy out (GPU). Signs are fixed as scikit-learn fixes them (``svd_flip``: the entry
of largest magnitude of each component is positive), so both methods, and scikit-learn's
``PCA``, give the same components, not just the same subspace.
"""

import math
from typing import NamedTuple

import numpy as np

from ._checks import check_array, check_choice, check_int
from .backend import get_array_module
from .stats import mean_cov

METHODS = ("eig", "svd")


class PCAResult(NamedTuple):
    """A fitted PCA: mean (d,), components (k, d) with orthonormal rows, the variance along
    each, explained_variance (k,) (divisor n - 1, as scikit-learn), and its share of the total
    variance, explained_variance_ratio (k,)."""

    mean: object
    components: object
    explained_variance: object
    explained_variance_ratio: object


def pca(X, n_components=None, method="eig"):
    """Principal components of X: the top-k eigenvectors of its covariance, or the top-k
    right singular vectors of X - x̄ (the same vectors: Xcᵀ Xc / (n-1) = V S² Vᵀ / (n-1)).

    Parameters
    ----------
    X : (n_samples, n_features) array, n_samples >= 2.
    n_components : int in [1, min(n_samples, n_features)], or None for all of them.
    method : "eig" (eigh of mean_cov's covariance, O(n d² + d³)) or "svd" (of the centred
        data, O(n d min(n, d)), more accurate for small variances).

    Returns
    -------
    PCAResult: mean (d,), components (k, d), explained_variance (k,), descending, and
    explained_variance_ratio (k,), on X's device.
    """
    X = check_array(X, "X", ndim=(2,))
    n, d = X.shape
    if n < 2:
        raise ValueError(f"X must have at least 2 samples to have a covariance, got {n}")
    k = min(n, d) if n_components is None else check_int(
        n_components, "n_components", high=min(n, d),
        high_is="min(n_samples, n_features)")
    return _pca(X, k, check_choice(method, "method", METHODS))


def _pca(X, k, method):
    xp = get_array_module(X)
    U, exponent = _unit(X)  # X / 2^exponent, exact: no covariance under- or overflows
    mean = U.mean(axis=0)
    centred = U - mean
    residual = centred.mean(axis=0)  # what rounding left of a large offset's mean (1e12 + x)
    centred -= residual  # a second pass takes it out
    mean = mean + residual
    if method == "eig":
        _, cov = mean_cov(centred)  # lesson 04's estimator, on the centred, scaled data
        values, vectors = xp.linalg.eigh(cov)  # ascending
        values, vectors = values[::-1], vectors[:, ::-1].T  # descending, one per row
        total = xp.trace(cov)
    else:
        _, s, vectors = xp.linalg.svd(centred, full_matrices=False)
        values = s * s / (len(X) - 1)
        total = values.sum()
    values = xp.maximum(values[:k], 0)  # eigh may give -1e-17 for a zero variance
    components = _flip_signs(xp.ascontiguousarray(vectors[:k]))
    ratio = values / total if float(total) > 0 else xp.zeros_like(values)
    with np.errstate(over="ignore", under="ignore"):
        variance = xp.ldexp(values, 2 * exponent)  # in X's units; 0 below about 1e-308
    if not bool(xp.isfinite(variance).all()):
        raise ValueError(f"the variance of X overflows {X.dtype} (entries up to about "
                         f"2^{exponent + 1}): rescale X (the components and ratios do not "
                         f"change)")
    return PCAResult(xp.ldexp(mean, exponent), components, variance, ratio)


def _unit(X):
    """(X / 2ᵉ, e), e chosen to bring the largest |entry| into [1, 2): exact, only the
    exponent changes (e = 0 for data already there, or all zero). Data at 1e-200 or 1e200
    then neither underflow nor overflow in a product of two entries."""
    xp = get_array_module(X)
    peak = float(xp.abs(X).max())
    e = math.frexp(peak)[1] - 1 if peak > 0 else 0
    return (xp.ldexp(X, -e) if e else X), e


def _flip_signs(components):
    """Each row times the sign of its entry of largest magnitude (scikit-learn's svd_flip)."""
    xp = get_array_module(components)
    biggest = xp.argmax(xp.abs(components), axis=1)
    signs = xp.sign(components[xp.arange(len(components)), biggest])
    return components * xp.where(signs == 0, 1, signs)[:, None]


def _check_fit(fit):
    """fit as a PCAResult of arrays on one device: mean (d,), components (k, d)."""
    if not isinstance(fit, PCAResult):
        raise TypeError(f"fit must be a PCAResult from pca(), got {type(fit).__name__}")
    mean = check_array(fit.mean, "fit.mean", ndim=(1,))
    components = check_array(fit.components, "fit.components", ndim=(2,),
                             xp=get_array_module(mean))
    if components.shape[1] != mean.shape[0]:
        raise ValueError(f"fit.components has {components.shape[1]} features, fit.mean "
                         f"{mean.shape[0]}")
    return fit._replace(mean=mean, components=components)


def _finite(result, name, what):
    """result, or a ValueError naming the argument whose size overflowed it."""
    if not bool(get_array_module(result).isfinite(result).all()):
        raise ValueError(f"{name} is too large: {what} overflow {result.dtype}")
    return result


def pca_transform(fit, X):
    """The coordinates of X along the components: Z = (X - x̄) Vₖᵀ.

    Parameters
    ----------
    fit : PCAResult.  X : (n_samples, n_features) array on fit's device.

    Returns
    -------
    (n_samples, k) array.
    """
    fit = _check_fit(fit)
    X = check_array(X, "X", ndim=(2,), xp=get_array_module(fit.mean))
    if X.shape[1] != fit.components.shape[1]:
        raise ValueError(f"X has {X.shape[1]} features, the PCA was fitted on "
                         f"{fit.components.shape[1]}")
    with np.errstate(over="ignore", invalid="ignore"):
        Z = (X - fit.mean) @ fit.components.T
    return _finite(Z, "X", "its coordinates")


def pca_reconstruct(fit, Z):
    """Back to data space from k coordinates: X̂ = x̄ + Z Vₖ, the projection of X onto the
    affine subspace through x̄ spanned by the components (the best rank-k fit in squared
    error, Eckart-Young).

    Parameters
    ----------
    fit : PCAResult.  Z : (n_samples, j) array on fit's device, j <= k: the first j
        coordinates (reconstruction from the first j components).

    Returns
    -------
    (n_samples, n_features) array.
    """
    fit = _check_fit(fit)
    Z = check_array(Z, "Z", ndim=(2,), xp=get_array_module(fit.mean))
    k = len(fit.components)
    if Z.shape[1] > k:
        raise ValueError(f"Z has {Z.shape[1]} coordinates, the PCA has {k} components")
    with np.errstate(over="ignore", invalid="ignore"):
        X = fit.mean + Z @ fit.components[:Z.shape[1]]
    return _finite(X, "Z", "the reconstructions")


def principal_angles(A, B):
    """The principal angles between the subspaces spanned by the rows of A and of B.

    With Q_A, Q_B orthonormal bases of the two spans, the singular values of Q_Aᵀ Q_B are
    the angles' cosines and those of Q_B - Q_A (Q_Aᵀ Q_B) their sines; an angle below 45° is
    taken from its sine, one above from its cosine, so that angles of 1e-10 are resolved
    (arccos alone cannot tell an angle below 1e-8 from 0), as SciPy's subspace_angles does.

    Parameters
    ----------
    A : (k, d) array, B : (j, d) array, rows spanning each subspace, on one device. Rows
        that depend on others add nothing to a span (its dimension is the rank).

    Returns
    -------
    (min(rank A, rank B),) array of angles in radians, ascending, in [0, π/2]; all 0 when
    one subspace contains the other. A ValueError when A or B spans only the zero vector.
    """
    A = check_array(A, "A", ndim=(2,))
    B = check_array(B, "B", ndim=(2,), xp=get_array_module(A))
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"A and B must live in one space: A has {A.shape[1]} columns, B "
                         f"{B.shape[1]}")
    return _principal_angles(_span(A, "A"), _span(B, "B"))


def _span(A, name):
    """An orthonormal basis (d, r) of the span of A's rows, r its rank: the left singular
    vectors of Aᵀ above rounding level, each row first divided by its largest entry (the
    span does not change, nothing over- or underflows)."""
    xp = get_array_module(A)
    peak = xp.abs(A).max(axis=1, keepdims=True)
    rows = A[(peak > 0).ravel()] / peak[peak > 0][:, None]
    if len(rows) == 0:
        raise ValueError(f"{name} spans only the zero vector: give at least one nonzero row")
    vectors, s, _ = xp.linalg.svd(rows.T, full_matrices=False)
    rank = int((s > s[0] * max(rows.shape) * xp.finfo(s.dtype).eps).sum())
    return vectors[:, :rank]


def _principal_angles(qa, qb):
    xp = get_array_module(qa)
    if qa.shape[1] < qb.shape[1]:
        qa, qb = qb, qa  # the sines come from the smaller basis's residual
    product = qa.T @ qb
    cosines = xp.linalg.svd(product, compute_uv=False)  # descending: angles ascending
    sines = xp.linalg.svd(qb - qa @ product, compute_uv=False)[::-1]  # ascending
    small = cosines * cosines >= 0.5  # below 45°: the sine is the accurate one
    return xp.where(small, xp.arcsin(xp.clip(sines, 0.0, 1.0)),
                    xp.arccos(xp.clip(cosines, 0.0, 1.0)))
