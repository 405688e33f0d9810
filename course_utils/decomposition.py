"""Principal component analysis two ways: the eigenvectors of the covariance matrix (lesson
04's estimator) and the singular value decomposition of the centred data; projection,
reconstruction from k components, and principal angles between subspaces.

X is (n_samples, n_features). Every function follows its data: NumPy in, NumPy out (CPU);
CuPy in, CuPy out (GPU). Signs are fixed as scikit-learn fixes them (``svd_flip``: the entry
of largest magnitude of each component is positive), so both methods, and scikit-learn's
``PCA``, give the same components, not just the same subspace.
"""

from typing import NamedTuple

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
    if method == "eig":
        mean, cov = mean_cov(X)
        values, vectors = xp.linalg.eigh(cov)  # ascending
        values, vectors = values[::-1], vectors[:, ::-1].T  # descending, one per row
        total = xp.trace(cov)
    else:
        mean = X.mean(axis=0)
        _, s, vectors = xp.linalg.svd(X - mean, full_matrices=False)
        values = s * s / (len(X) - 1)
        total = values.sum()
    values = xp.maximum(values[:k], 0)  # eigh may give -1e-17 for a zero variance
    components = _flip_signs(xp.ascontiguousarray(vectors[:k]))
    ratio = values / total if float(total) > 0 else xp.zeros_like(values)
    return PCAResult(mean, components, values, ratio)


def _flip_signs(components):
    """Each row times the sign of its entry of largest magnitude (scikit-learn's svd_flip)."""
    xp = get_array_module(components)
    biggest = xp.argmax(xp.abs(components), axis=1)
    signs = xp.sign(components[xp.arange(len(components)), biggest])
    return components * xp.where(signs == 0, 1, signs)[:, None]


def _check_fit(fit):
    if not isinstance(fit, PCAResult):
        raise TypeError(f"fit must be a PCAResult from pca(), got {type(fit).__name__}")
    return fit


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
    return (X - fit.mean) @ fit.components.T


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
    return fit.mean + Z @ fit.components[:Z.shape[1]]


def principal_angles(A, B):
    """The principal angles between the subspaces spanned by the rows of A and of B:
    arccos of the singular values of Q_A Q_Bᵀ, with Q orthonormal bases (from QR).

    Parameters
    ----------
    A : (k, d) array, B : (j, d) array, rows spanning each subspace (full rank), one device.

    Returns
    -------
    (min(k, j),) array of angles in radians, ascending, in [0, π/2]; all 0 when one subspace
    contains the other.
    """
    A = check_array(A, "A", ndim=(2,))
    B = check_array(B, "B", ndim=(2,), xp=get_array_module(A))
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"A and B must live in one space: A has {A.shape[1]} columns, B "
                         f"{B.shape[1]}")
    return _principal_angles(A, B)


def _principal_angles(A, B):
    xp = get_array_module(A)
    qa, qb = xp.linalg.qr(A.T)[0], xp.linalg.qr(B.T)[0]
    s = xp.linalg.svd(qa.T @ qb, compute_uv=False)
    return xp.arccos(xp.clip(s, -1.0, 1.0))

