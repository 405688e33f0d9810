"""Mean and covariance of a sample: the maximum-likelihood (divide by N) and unbiased
(divide by N - 1) estimates, and what each one costs in bias and mean squared error.

X is (n_samples, n_features), or (n_batches, n_samples, n_features): a batch of samples
estimated at once, one result per batch entry. The estimators and the sampler follow their
data: NumPy arrays in, NumPy out (CPU); CuPy in, CuPy out (GPU). ``cov_mse`` is a closed form
of a few numbers: it always runs on the CPU and returns NumPy.
"""

import numpy as np

from ._checks import (
    Array,
    Custom,
    Int,
    Seed,
    check_array,
    check_real,
    checked,
    rng_from,
    seed_to_int,
)
from .backend import get_array_module, to_numpy

_ANY_RANK = tuple(range(33))
_SAMPLES = Array(ndim=(2, 3))  # X: (N, d), or (B, N, d) for B samples at once


def _check_ddof(ddof, name, values, xp):
    """ddof as a real number below N, the number of samples of X (a positive divisor)."""
    ddof = check_real(ddof, name)
    X = values["X"]
    n = X.shape[-2]
    try:
        check_real(ddof, name, high=n, high_open=True)
    except ValueError as err:
        raise ValueError(f"{err}: the divisor N - ddof must be positive, and X has N = {n} "
                         f"samples (shape {X.shape}, samples on axis -2)") from None
    return ddof


@checked(X=_SAMPLES, ddof=Custom(_check_ddof, values=True))
def mean_cov(X, ddof=1):
    """x̄ = Σᵢ xᵢ / N and Σᵢ (xᵢ - x̄)(xᵢ - x̄)ᵀ / (N - ddof): centre, then one matrix product.

    Parameters
    ----------
    X : array of shape (N, d), or (B, N, d) for B samples at once; samples on axis -2
    ddof : real number below N; 1 is the unbiased estimate, 0 the maximum-likelihood one

    Returns
    -------
    (mean, cov) of shapes (d,) and (d, d), or (B, d) and (B, d, d), on X's device.
    """
    xp = get_array_module(X)
    with np.errstate(over="ignore", invalid="ignore"):
        mean = X.mean(axis=-2)
        centred = X - mean[..., None, :]
        cov = xp.swapaxes(centred, -1, -2) @ centred / (X.shape[-2] - ddof)
    if not bool(xp.isfinite(cov).all()):  # a sum or a square overflowed: scale X first
        return _rescaled_mean_cov(X, ddof)
    return mean, cov


def _rescaled_mean_cov(X, ddof):
    """mean_cov for X whose sums or squares overflow: each feature divided by its largest
    |entry| s, then scaled back (cov_jk · s_j · s_k); a ValueError when the covariance itself
    is too large for X's dtype."""
    xp = get_array_module(X)
    scale = xp.abs(X).max(axis=-2)  # (..., d)
    scale = xp.where(scale == 0, 1, scale)
    unit = X / scale[..., None, :]
    mean = unit.mean(axis=-2)
    centred = unit - mean[..., None, :]
    with np.errstate(over="ignore"):
        cov = xp.swapaxes(centred, -1, -2) @ centred / (X.shape[-2] - ddof)
        cov = cov * scale[..., :, None] * scale[..., None, :]
    if not bool(xp.isfinite(cov).all()):
        peak = float(scale.max())
        raise ValueError(f"the covariance of X overflows {X.dtype} (entries of X up to "
                         f"{peak:.3g}): rescale X, e.g. X / {peak:.0e}")
    return mean * scale, cov


@checked(X=_SAMPLES)
def mle_mean_cov(X):
    """Maximum-likelihood estimates of a Gaussian's mean and covariance:
    μ̂ = Σᵢ xᵢ / N and Σ̂ = Σᵢ (xᵢ - μ̂)(xᵢ - μ̂)ᵀ / N, i.e. mean_cov(X, ddof=0).

    Parameters
    ----------
    X : array of shape (N, d), or (B, N, d) for B samples at once

    Returns
    -------
    (mean, cov) of shapes (d,) and (d, d), or (B, d) and (B, d, d).
    """
    return mean_cov(X, 0)


@checked(X=_SAMPLES, ddof=Custom(_check_ddof, values=True))
def sample_cov(X, ddof=1):
    """Σᵢ (xᵢ - x̄)(xᵢ - x̄)ᵀ / (N - ddof), as numpy.cov(X, rowvar=False, ddof=ddof).

    ddof=1 is the unbiased estimate (Bessel's correction), ddof=0 the maximum-likelihood one,
    ddof=-1 divides by N + 1; any real ddof below N is allowed.

    Parameters
    ----------
    X : array of shape (N, d), or (B, N, d) for B samples at once
    ddof : real number below N

    Returns
    -------
    array of shape (d, d), or (B, d, d), symmetric positive semi-definite.
    """
    return mean_cov(X, ddof)[1]


def _check_cov(cov, name, values, xp):
    """cov as a finite, square, symmetric matrix on module xp."""
    cov = check_array(cov, name, ndim=(2,), xp=xp)
    d = cov.shape[0]
    peak = xp.abs(cov).max()
    if cov.shape != (d, d) or not bool((xp.abs(cov - cov.T) <= 1e-7 * peak).all()):
        raise ValueError(f"{name} must be a symmetric square matrix, got shape {cov.shape}")
    return cov


@checked(cov=Custom(_check_cov, values=True, device_of=lambda cov: cov), n_samples=Int(),
         n_trials=Int(), seed=Seed())
def gaussian_samples(cov, n_samples, n_trials, seed=0):
    """n_trials independent samples of n_samples draws from N(0, cov): (n_trials, n_samples, d).

    Drawn as z Lᵀ with z standard normal and L the Cholesky factor of cov (L Lᵀ = cov), in
    cov's float precision, on cov's device: a NumPy array (or a list) draws with NumPy on the
    CPU, a CuPy array with CuPy on the GPU. The two generators are different streams, so the
    same seed gives other numbers on the GPU; for the same numbers on both devices, draw with
    a NumPy cov and move the result with ``backend.asarray``.

    Parameters
    ----------
    cov : array of shape (d, d), symmetric positive definite
    n_samples, n_trials : int, at least 1
    seed : int >= 0 (default 0, reproducible), None (fresh entropy) or a numpy Generator

    Returns
    -------
    array of shape (n_trials, n_samples, d), on cov's device.
    """
    xp = get_array_module(cov)
    d = cov.shape[0]
    try:
        L = xp.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        raise ValueError("cov must be positive definite (its Cholesky factor failed)") from None
    if not bool(xp.isfinite(L).all()):  # CuPy returns NaN instead of raising
        raise ValueError("cov must be positive definite (its Cholesky factor failed)")
    rng = rng_from(seed) if xp is np else xp.random.default_rng(seed_to_int(seed))
    z = rng.standard_normal((n_trials * n_samples, d), dtype=cov.dtype)
    return (z @ L.T).reshape(n_trials, n_samples, d)


def _real_array(value, name):
    """value (a number, list or array on either device) as a finite float64 NumPy array."""
    value = to_numpy(value)
    if isinstance(value, bool) or np.asarray(value).dtype.kind == "b":
        raise TypeError(f"{name} must be a number or an array of numbers, got a bool")
    return check_array(np.asarray(value), name, ndim=_ANY_RANK, xp=np).astype(float)


def _check_psd_on_host(cov, name):
    """cov (on either device, or a list) as a symmetric positive semi-definite NumPy matrix."""
    cov = _check_cov(to_numpy(cov), name, {}, np)
    scale = np.abs(cov).max()
    eigenvalues = np.linalg.eigvalsh(cov / scale) if scale > 0 else np.zeros(1)
    if eigenvalues.min() < -1e-10:
        raise ValueError(f"{name} must be positive semi-definite, got an eigenvalue of "
                         f"{eigenvalues.min() * scale:.3g}")
    return cov


def _check_sizes(n_samples, name):
    """n_samples as a float64 NumPy array of whole numbers, each at least 2."""
    n = _real_array(n_samples, name)
    if not np.all(n == np.round(n)) or n.min() < 2:
        raise ValueError(f"{name} must be whole numbers of at least 2, got {n_samples!r}")
    return n


def _check_ddofs(ddof, name, values, xp):
    """ddof as a float64 NumPy array, below n_samples wherever they broadcast."""
    n, ddof_array = values["n_samples"], _real_array(ddof, name)
    if not np.all(n - ddof_array > 0):
        raise ValueError(f"{name} must be below n_samples (the divisor n_samples - ddof must "
                         f"be positive), got n_samples={n.tolist()!r}, ddof={ddof!r}")
    return ddof_array


@checked(cov=Custom(_check_psd_on_host), n_samples=Custom(_check_sizes),
         ddof=Custom(_check_ddofs, values=True))
def cov_mse(cov, n_samples, ddof):
    """E‖S - Σ‖²_F for S = sample_cov(X, ddof) of n_samples draws from N(μ, Σ = cov).

    From the Wishart moments of A = (N - 1) S₁: E A_ij = (N-1) Σ_ij and
    Var A_ij = (N-1)(Σ_ij² + Σ_ii Σ_jj). With c = N - ddof and r = (N - 1)/c, each entry has
    MSE = Var + bias² = r (Σ_ij² + Σ_ii Σ_jj) / c + (r - 1)² Σ_ij².
    For d = 1, cov = [[σ²]]: σ⁴ (2(N-1)/c² + ((N-1)/c - 1)²).

    A closed form of a few numbers, so it runs on the CPU whatever the device: cov, n_samples
    and ddof may be NumPy or CuPy arrays (or lists, numbers), and the result is NumPy.

    Parameters
    ----------
    cov : array of shape (d, d), symmetric positive semi-definite
    n_samples : int or array of whole numbers, each at least 2
    ddof : real number or array, below n_samples (broadcast with it)

    Returns
    -------
    a float, or an array of the broadcast shape of n_samples and ddof; non-negative.
    """
    n, c = n_samples, n_samples - ddof
    scale = np.abs(cov).max()
    unit = cov / scale if scale > 0 else cov  # squares of cov / max|cov| cannot overflow
    spread = np.sum(unit**2 + np.outer(np.diag(unit), np.diag(unit)))  # Σ (Σ_ij² + Σ_ii Σ_jj)
    r = (n - 1) / c
    with np.errstate(over="ignore"):
        mse = (r * spread / c + (r - 1) ** 2 * np.sum(unit**2)) * scale * scale
    if not np.all(np.isfinite(mse)):
        raise ValueError(f"the mean squared error overflows float64 (cov entries up to "
                         f"{scale:.3g}): rescale cov")
    return mse[()]
