"""Principal component analysis two ways: the eigenvectors of the covariance matrix (lesson
04's estimator) and the singular value decomposition of the centred data; projection,
reconstruction from k components, and principal angles between subspaces.

X is (n_samples, n_features). Every function follows its data: NumPy in, NumPy out (CPU);
CuPy in, CuPy out (GPU). Signs are fixed as scikit-learn fixes them (``svd_flip``: the entry
of largest magnitude of each component is positive), so both methods, and scikit-learn's
``PCA``, give the same components, not just the same subspace.
"""

import math
from dataclasses import dataclass

import numpy as np

from ._checks import (
    Array,
    Choice,
    Custom,
    Instance,
    Int,
    Optional,
    check_array,
    check_fields,
    checked,
)
from .backend import get_array_module
from .stats import mean_cov

METHODS = ("eig", "svd")


def _same_features(components, name, values, xp):
    """components (k, d) checked, with d the features of the mean checked before it."""
    components = check_array(components, name, ndim=(2,), xp=xp)
    d = values["mean"].shape[0]
    if components.shape[1] != d:
        raise ValueError(f"{name} has {components.shape[1]} features, "
                         f"{name.rsplit('.', 1)[0]}.mean {d}")
    return components


@dataclass(frozen=True)
class PCAResult:
    """A fitted PCA: mean (d,), components (k, d) with orthonormal rows, the variance along
    each, explained_variance (k,) (divisor n - 1, as scikit-learn), and its share of the total
    variance, explained_variance_ratio (k,). Made by hand (from lists, say), its fields are
    checked and made arrays on one device."""

    mean: object
    components: object
    explained_variance: object
    explained_variance_ratio: object

    def __post_init__(self):
        check_fields(self, mean=Array(ndim=(1,)),
                     components=Custom(_same_features, values=True, device_of=lambda c: c),
                     explained_variance=Array(ndim=(1,)),
                     explained_variance_ratio=Array(ndim=(1,)))


def _enough_samples(X, name):
    X = check_array(X, name, ndim=(2,))
    if len(X) < 2:
        raise ValueError(f"{name} must have at least 2 samples to have a covariance, got "
                         f"{len(X)}")
    return X


@checked(X=Custom(_enough_samples, device_of=lambda X: X),
         n_components=Optional(Int(high=lambda v: min(v["X"].shape),
                                   high_is="min(n_samples, n_features)")),
         method=Choice(*METHODS))
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
    xp = get_array_module(X)
    k = min(X.shape) if n_components is None else n_components
    U, exponent = power_of_two_scale(X)  # X / 2^exponent, exact: no covariance under- or overflows
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


@checked(X=Array(ndim=None))
def power_of_two_scale(X):
    """X divided by the power of two 2ᵉ that brings its largest |entry| into [1, 2): exact,
    only the exponent changes (e = 0 for data already there, or all zero), unless an entry
    falls below the smallest normal float (entries spread over more than about 300 orders
    of magnitude). Data at 1e-200 or
    1e200 then neither underflow nor overflow in a product of two entries, and a result that
    does not depend on the scale (PCA's components, t-SNE's affinities) is computed on it.

    Parameters
    ----------
    X : finite array of any shape.

    Returns
    -------
    (U, e): U = X / 2ᵉ, of X's shape, dtype and device, max |U| in [1, 2) (or all 0); e an
    int.
    """
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


FIT = Instance(PCAResult, what="a PCAResult from pca()", device_of=lambda fit: fit.mean)


def _finite(result, name, what):
    """result, or a ValueError naming the argument whose size overflowed it."""
    if not bool(get_array_module(result).isfinite(result).all()):
        raise ValueError(f"{name} is too large: {what} overflow {result.dtype}")
    return result


def _fitted_features(X, name, values, xp):
    X = check_array(X, name, ndim=(2,), xp=xp)
    d = values["fit"].components.shape[1]
    if X.shape[1] != d:
        raise ValueError(f"{name} has {X.shape[1]} features, the PCA was fitted on {d}")
    return X


def _at_most_k(Z, name, values, xp):
    Z = check_array(Z, name, ndim=(2,), xp=xp)
    k = len(values["fit"].components)
    if Z.shape[1] > k:
        raise ValueError(f"{name} has {Z.shape[1]} coordinates, the PCA has {k} components")
    return Z


@checked(fit=FIT, X=Custom(_fitted_features, values=True, device_of=lambda X: X))
def pca_transform(fit, X):
    """The coordinates of X along the components: Z = (X - x̄) Vₖᵀ.

    Parameters
    ----------
    fit : PCAResult.  X : (n_samples, n_features) array on fit's device.

    Returns
    -------
    (n_samples, k) array.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        Z = (X - fit.mean) @ fit.components.T
    return _finite(Z, "X", "its coordinates")


@checked(fit=FIT, Z=Custom(_at_most_k, values=True, device_of=lambda Z: Z))
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
    with np.errstate(over="ignore", invalid="ignore"):
        X = fit.mean + Z @ fit.components[:Z.shape[1]]
    return _finite(X, "Z", "the reconstructions")


def _same_space(B, name, values, xp):
    B = check_array(B, name, ndim=(2,), xp=xp)
    A = values["A"]
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"A and B must live in one space: A has {A.shape[1]} columns, B "
                         f"{B.shape[1]}")
    return B


@checked(A=Array(ndim=(2,)), B=Custom(_same_space, values=True, device_of=lambda B: B))
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
    xp = get_array_module(A)
    qa, qb = _span(A, "A"), _span(B, "B")
    if qa.shape[1] < qb.shape[1]:
        qa, qb = qb, qa  # the sines come from the smaller basis's residual
    product = qa.T @ qb
    cosines = xp.linalg.svd(product, compute_uv=False)  # descending: angles ascending
    sines = xp.linalg.svd(qb - qa @ product, compute_uv=False)[::-1]  # ascending
    small = cosines * cosines >= 0.5  # below 45°: the sine is the accurate one
    return xp.where(small, xp.arcsin(xp.clip(sines, 0.0, 1.0)),
                    xp.arccos(xp.clip(cosines, 0.0, 1.0)))


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

