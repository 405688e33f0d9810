"""Mean and covariance of a sample: the maximum-likelihood (divide by N) and unbiased
(divide by N - 1) estimates, and what each one costs in bias and mean squared error.

X is (n_samples, n_features), or (n_batches, n_samples, n_features): a batch of samples
estimated at once, one result per batch entry. The estimators and the sampler follow their
data: NumPy arrays in, NumPy out (CPU); CuPy in, CuPy out (GPU). ``cov_mse`` is a closed form
of a few numbers: it always runs on the CPU and returns NumPy.
"""

import numbers

import numpy as np

from ._checks import check_array, check_int
from .backend import get_array_module, to_numpy


def _check_samples(X, ddof):
    """X validated as (N, d) or (B, N, d), and ddof a real number with N - ddof > 0."""
    X = check_array(X, "X", ndim=(2, 3))
    if isinstance(ddof, bool) or not isinstance(ddof, numbers.Real):
        raise TypeError(f"ddof must be a real number, got {type(ddof).__name__}")
    n = X.shape[-2]
    if n - ddof <= 0:
        raise ValueError(f"the divisor N - ddof must be positive: X has N = {n} samples "
                         f"(shape {X.shape}, samples on axis -2) and ddof = {ddof}")
    return X


def _mean_cov(X, ddof):
    """x̄ and Σᵢ (xᵢ - x̄)(xᵢ - x̄)ᵀ / (N - ddof) over axis -2, for trusted input."""
    xp = get_array_module(X)
    mean = X.mean(axis=-2)
    centred = X - mean[..., None, :]
    return mean, xp.swapaxes(centred, -1, -2) @ centred / (X.shape[-2] - ddof)


def mle_mean_cov(X):
    """Maximum-likelihood estimates of a Gaussian's mean and covariance:
    μ̂ = Σᵢ xᵢ / N and Σ̂ = Σᵢ (xᵢ - μ̂)(xᵢ - μ̂)ᵀ / N.

    Parameters
    ----------
    X : array of shape (N, d), or (B, N, d) for B samples at once

    Returns
    -------
    (mean, cov) of shapes (d,) and (d, d), or (B, d) and (B, d, d).
    """
    return _mean_cov(_check_samples(X, 0), 0)


def sample_cov(X, ddof=1):
    """Σᵢ (xᵢ - x̄)(xᵢ - x̄)ᵀ / (N - ddof), as numpy.cov(X, rowvar=False, ddof=ddof).

    ddof=1 is the unbiased estimate (Bessel's correction), ddof=0 the maximum-likelihood one,
    ddof=-1 divides by N + 1. Shapes: (N, d) -> (d, d); (B, N, d) -> (B, d, d).
    """
    return _mean_cov(_check_samples(X, ddof), ddof)[1]


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
    seed : int or None

    Returns
    -------
    array of shape (n_trials, n_samples, d), on cov's device.
    """
    xp = get_array_module(cov)
    cov = check_array(cov, "cov", ndim=(2,), xp=xp)
    d = cov.shape[0]
    if cov.shape != (d, d) or not bool(xp.allclose(cov, cov.T)):
        raise ValueError(f"cov must be a symmetric square matrix, got shape {cov.shape}")
    n_samples, n_trials = check_int(n_samples, "n_samples"), check_int(n_trials, "n_trials")
    try:
        L = xp.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        raise ValueError("cov must be positive definite (its Cholesky factor failed)") from None
    if not bool(xp.isfinite(L).all()):  # CuPy returns NaN instead of raising
        raise ValueError("cov must be positive definite (its Cholesky factor failed)")
    z = xp.random.default_rng(seed).standard_normal((n_trials * n_samples, d), dtype=cov.dtype)
    return (z @ L.T).reshape(n_trials, n_samples, d)


def cov_mse(cov, n_samples, ddof):
    """E‖S - Σ‖²_F for S = sample_cov(X, ddof) of n_samples draws from N(μ, Σ = cov).

    From the Wishart moments of A = (N - 1) S₁: E A_ij = (N-1) Σ_ij and
    Var A_ij = (N-1)(Σ_ij² + Σ_ii Σ_jj). With c = N - ddof, each entry has
    MSE = Var + bias² = (N-1)(Σ_ij² + Σ_ii Σ_jj) / c² + ((N-1)/c - 1)² Σ_ij².
    For d = 1, cov = [[σ²]]: σ⁴ (2(N-1)/c² + ((N-1)/c - 1)²). n_samples and ddof broadcast.

    A closed form of a few numbers, so it runs on the CPU whatever the device: cov, n_samples
    and ddof may be NumPy or CuPy arrays (or lists, numbers), and the result is NumPy (a float,
    or an array of the broadcast shape of n_samples and ddof).
    """
    cov = check_array(to_numpy(cov), "cov", ndim=(2,), xp=np)
    n = np.asarray(to_numpy(n_samples), dtype=float)
    c = n - np.asarray(to_numpy(ddof), dtype=float)
    if not (np.all(n >= 2) and np.all(c > 0)):
        raise ValueError(f"need n_samples >= 2 and n_samples - ddof > 0, got n_samples="
                         f"{n_samples!r}, ddof={ddof!r}")
    spread = np.sum(cov**2 + np.outer(np.diag(cov), np.diag(cov)))  # Σ_ij (Σ_ij² + Σ_ii Σ_jj)
    return (n - 1) * spread / c**2 + ((n - 1) / c - 1) ** 2 * np.sum(cov**2)
