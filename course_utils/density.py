"""Learning a probability distribution: Gaussian mixtures fitted by expectation-maximisation,
and kernel density estimates with Gaussian and Epanechnikov kernels.

Densities are computed in log space (log-sum-exp), so nothing underflows far from the data.
Every function follows its data: NumPy arrays in, NumPy out; CuPy in, CuPy out. A mixture's
arrays must be on the device of the data it meets (backend.to_device(mixture) moves them all),
else a DeviceMismatchError names the argument.
"""

import math
from dataclasses import dataclass

import numpy as np

from ._checks import check_array, check_device, check_int
from .backend import get_array_module
from .clustering import BLOCK, _check_k, _check_X, kmeans, row_blocks

COVARIANCE_TYPES = ("full", "diag", "spherical")
KERNELS = ("gaussian", "epanechnikov")
KDE_BLOCK = 1 << 16  # entries of a block of kernel values: 512 KiB of float64, in cache


def logsumexp(a, axis, *, overwrite=False):
    """log(sum(exp(a))) along axis, without overflow: the largest term is factored out.
    With overwrite, a is used as scratch space (saves a copy of a large array)."""
    xp = get_array_module(a)
    peak = a.max(axis=axis, keepdims=True)
    peak = xp.where(xp.isfinite(peak), peak, 0)  # a row of -inf gives -inf, not NaN
    a = a if overwrite else a.copy()
    a -= peak
    with np.errstate(divide="ignore"):  # log 0 = -inf for a row of -inf: the right answer
        return xp.log(xp.exp(a, out=a).sum(axis=axis)) + peak.squeeze(axis)


@dataclass(frozen=True)
class Mixture:
    """A Gaussian mixture: weights (k,), means (k, d) and covariances, of shape (k, d, d) when
    covariance_type is "full", (k, d) for "diag" and (k,) for "spherical" (sigma_k^2 I).
    The arrays live on one device; backend.to_device(mixture, "gpu" | "cpu") moves them all."""

    weights: object
    means: object
    covariances: object
    covariance_type: str = "full"

    @property
    def n_parameters(self):
        """Free parameters: k - 1 weights, k d means and the covariances' entries."""
        k, d = self.means.shape
        per_component = {"full": d * (d + 1) // 2, "diag": d, "spherical": 1}
        return k - 1 + k * d + k * per_component[self.covariance_type]


def _check_mixture_device(mixture, xp, name="mixture"):
    """Raise DeviceMismatchError, naming the field, when an array of mixture is not on xp."""
    for field in ("weights", "means", "covariances"):
        check_device(getattr(mixture, field), f"{name}.{field}", xp)


def component_log_densities(X, mixture):
    """log(w_k N(x_n | mu_k, Sigma_k)) for every row x_n of X (n, d) and component k: (n, k).

    With Sigma = L L^T (Cholesky), (x - mu)^T Sigma^-1 (x - mu) = |L^-1 (x - mu)|^2 and
    log det Sigma = 2 sum log diag L. For all k at once, X is multiplied by the k matrices
    L_k^-T side by side: one matrix product of shape (n, d) @ (d, k d).
    """
    xp = get_array_module(X)
    _check_mixture_device(mixture, xp)
    w, mu, cov = mixture.weights, mixture.means, mixture.covariances
    k, d = mu.shape
    if mixture.covariance_type == "full":
        chol = xp.linalg.cholesky(cov)
        inv_t = xp.linalg.inv(chol).transpose(0, 2, 1)  # (k, d, d): L_k^-T
        log_det = 2 * xp.log(xp.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
        side_by_side = inv_t.transpose(1, 0, 2).reshape(d, k * d)
        shift = xp.einsum("kd,kde->ke", mu, inv_t).reshape(k * d)
        mahalanobis = xp.empty((X.shape[0], k), dtype=X.dtype)
        for rows in row_blocks(X.shape[0], k * d):
            y = X[rows] @ side_by_side - shift  # (rows, k d): L_k^-1 (x - mu_k), side by side
            mahalanobis[rows] = (y * y).reshape(-1, k, d).sum(axis=2)
    else:  # diagonal: sum_j (x_j - mu_kj)^2 / var_kj, by expanding the square
        var = cov if mixture.covariance_type == "diag" else cov[:, None] * xp.ones(d, X.dtype)
        precision = 1 / var
        mahalanobis = ((X * X) @ precision.T - 2 * X @ (mu * precision).T
                       + (mu * mu * precision).sum(axis=1))
        log_det = xp.log(var).sum(axis=1)
    return xp.log(w) - 0.5 * (d * math.log(2 * math.pi) + log_det + mahalanobis)


def e_step(X, mixture):
    """The mean log-likelihood (1/n) sum_n log p(x_n) and the log responsibilities (n, k),
    log r_nk = log(w_k N(x_n | k)) - log p(x_n)."""
    log_joint = component_log_densities(X, mixture)
    log_p = logsumexp(log_joint, axis=1)
    return float(log_p.mean()), log_joint - log_p[:, None]


def m_step(X, R, covariance_type="full", reg_covar=1e-6):
    """The mixture that maximises the expected log-likelihood under responsibilities R (n, k):
    N_k = sum_n r_nk, w_k = N_k / n, mu_k = sum_n r_nk x_n / N_k and Sigma_k the
    responsibility-weighted covariance about mu_k, plus reg_covar on its diagonal."""
    xp = get_array_module(X)
    check_device(R, "R", xp)
    d = X.shape[1]
    counts = R.sum(axis=0) + 10 * xp.finfo(X.dtype).eps  # an empty component divides by ~0, not 0
    means = (R.T @ X) / counts[:, None]
    if covariance_type == "full":
        cov = xp.empty((len(counts), d, d), dtype=X.dtype)
        for k in range(len(counts)):
            centred = X - means[k]
            cov[k] = (R[:, k, None] * centred).T @ centred / counts[k]
        cov += reg_covar * xp.eye(d, dtype=X.dtype)
    else:
        var = xp.stack([R[:, k] @ (X - means[k]) ** 2 for k in range(len(counts))])
        var = var / counts[:, None] + reg_covar
        cov = var if covariance_type == "diag" else var.mean(axis=1)
    return Mixture(counts / X.shape[0], means, cov, covariance_type)


def mixture_log_likelihood(X, mixture):
    """Mean log-likelihood (1/n) sum_n log sum_k w_k N(x_n | mu_k, Sigma_k) of the rows of X."""
    X = _check_X(X)
    return e_step(X, mixture)[0]


def bic(X, mixture):
    """Bayesian information criterion -2 log L + p log n (lower is better)."""
    X = _check_X(X)
    n = X.shape[0]
    return -2 * n * mixture_log_likelihood(X, mixture) + mixture.n_parameters * math.log(n)


@dataclass(frozen=True)
class MixtureFit:
    """The fitted mixture; the mean log-likelihood before each M-step; iterations; converged."""

    mixture: Mixture
    history: list
    n_iter: int
    converged: bool


def fit_mixture(X, k, *, covariance_type="full", init=None, n_init=1, reg_covar=1e-6,
                max_iter=100, tol=1e-3, seed=0):
    """A Gaussian mixture of k components fitted to the rows of X (n, d) by EM.

    Parameters
    ----------
    X : array of shape (n, d), NumPy or CuPy: the fit and its mixture are on its device
    init : a Mixture to start from, on X's device; default one M-step from the labels of a
        seeded k-means (its k-means++ draws are made on the host: the same on both devices).
    n_init : without init, the number of k-means starts; the fit of highest final
        log-likelihood is kept (EM, like k-means, finds a local maximum).
    reg_covar : added to every covariance's diagonal, so no component collapses onto a point.
    max_iter, tol : stop when the mean log-likelihood rises by less than tol (scikit-learn's
        rule: the log-likelihood recorded is that of the parameters before the last M-step).

    Returns
    -------
    MixtureFit
    """
    X = _check_X(X)
    k = _check_k(k, X.shape[0])
    if covariance_type not in COVARIANCE_TYPES:
        raise ValueError(f"covariance_type must be one of {COVARIANCE_TYPES}, "
                         f"got {covariance_type!r}")
    xp = get_array_module(X)
    if init is None:
        rng = np.random.default_rng(seed)
        starts = []
        for _ in range(check_int(n_init, "n_init")):
            labels = kmeans(X, k, n_init=1, seed=rng).labels
            hard = (labels[:, None] == xp.arange(k)).astype(X.dtype)
            starts.append(m_step(X, hard, covariance_type, reg_covar))
    elif init.means.shape != (k, X.shape[1]) or init.covariance_type != covariance_type:
        raise ValueError(f"init must be a {covariance_type} Mixture with means of shape "
                         f"{(k, X.shape[1])}, got {init.covariance_type} and "
                         f"{init.means.shape}")
    else:
        _check_mixture_device(init, xp, "init")
        starts = [init]
    fits = [_em(X, start, reg_covar, max_iter, tol) for start in starts]
    return max(fits, key=lambda fit: mixture_log_likelihood(X, fit.mixture))


def _em(X, mixture, reg_covar, max_iter, tol):
    """EM from the given mixture: E-step, M-step, until the log-likelihood stalls."""
    xp = get_array_module(X)
    history, converged = [], False
    while len(history) < max_iter and not converged:
        log_likelihood, log_R = e_step(X, mixture)
        mixture = m_step(X, xp.exp(log_R), mixture.covariance_type, reg_covar)
        converged = bool(history) and abs(log_likelihood - history[-1]) < tol
        history.append(log_likelihood)
    return MixtureFit(mixture, history, len(history), converged)


def scott_factor(n, d):
    """Scott's rule: bandwidth n^(-1/(d + 4)) in units of the data's standard deviation."""
    return n ** (-1 / (d + 4))


def silverman_factor(n, d):
    """Silverman's rule (as SciPy has it): (n (d + 2) / 4)^(-1/(d + 4)) standard deviations."""
    return (n * (d + 2) / 4) ** (-1 / (d + 4))


def rule_of_thumb_bandwidth(data, rule="scott"):
    """A bandwidth for an isotropic kernel: the rule's factor times the data's standard deviation
    (ddof=1, root mean of the columns' variances). In 1-D it is SciPy's gaussian_kde's."""
    data = _check_data(data)
    factor = {"scott": scott_factor, "silverman": silverman_factor}.get(rule)
    if factor is None:
        raise ValueError(f"rule must be 'scott' or 'silverman', got {rule!r}")
    n, d = data.shape
    return factor(n, d) * float(data.var(axis=0, ddof=1).mean()) ** 0.5


def _check_data(data, name="data", xp=None):
    data = check_array(data, name, xp=xp)
    return data[:, None] if data.ndim == 1 else data


def _kernel_log_norm(kernel, d, bandwidth):
    """log of the constant that makes the kernel integrate to 1 in d dimensions."""
    if kernel == "gaussian":
        return -0.5 * d * math.log(2 * math.pi * bandwidth**2)
    unit_ball = math.pi ** (d / 2) / math.gamma(d / 2 + 1)  # Epanechnikov: (d + 2) / (2 V_d h^d)
    return math.log((d + 2) / (2 * unit_ball)) - d * math.log(bandwidth)


def kde_log_density(queries, data, bandwidth, kernel="gaussian"):
    """log p(q) of a kernel density estimate p(q) = (1/n) sum_i K_h(q - x_i): (m, d) -> (m,).

    Gaussian: K_h(u) = (2 pi h^2)^(-d/2) exp(-|u|^2 / (2 h^2)).
    Epanechnikov: K_h(u) = (d + 2) / (2 V_d h^d) (1 - |u|^2 / h^2) for |u| < h, else 0
    (V_d the volume of the unit ball), so log p is -inf beyond h of every data point.
    1-D inputs are taken as one feature. Computed a block of queries at a time, on data's
    device (queries: an array on the same device, or a list).
    """
    data = _check_data(data)
    xp = get_array_module(data)
    queries = _check_data(queries, "queries", xp).astype(data.dtype)
    if queries.shape[1] != data.shape[1]:
        raise ValueError(f"queries must have {data.shape[1]} features like data, "
                         f"got shape {queries.shape}")
    if not (isinstance(bandwidth, int | float) and bandwidth > 0):
        raise ValueError(f"bandwidth must be a positive number, got {bandwidth!r}")
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}")
    centre = data.mean(axis=0)  # distances do not move with the origin; rounding does
    data, queries = data - centre, queries - centre
    n, d = data.shape
    # -|q - x|^2 / (2 h^2) = q.x / h^2 - |x|^2 / (2 h^2) - |q|^2 / (2 h^2); the last term is the
    # same for every x, so it leaves the sum. Each block is updated in place, in the CPU cache.
    half_x = (data * data).sum(axis=1) / (2 * bandwidth**2)
    half_q = (queries * queries).sum(axis=1) / (2 * bandwidth**2)
    out = xp.empty(queries.shape[0], dtype=data.dtype)
    budget = KDE_BLOCK if xp is np else BLOCK  # the GPU prefers few, large blocks
    for rows in row_blocks(queries.shape[0], n, budget):
        t = queries[rows] @ data.T
        t *= 1 / bandwidth**2
        t -= half_x  # t = -|q - x|^2 / (2 h^2) + |q|^2 / (2 h^2)
        if kernel == "gaussian":
            out[rows] = logsumexp(t, axis=1, overwrite=True) - half_q[rows]
        else:  # 1 - |q - x|^2 / h^2 = 1 + 2 t - |q|^2 / h^2, clipped at 0
            t *= 2
            t += (1 - 2 * half_q[rows])[:, None]
            with np.errstate(divide="ignore"):  # log 0 = -inf: no data point within h
                out[rows] = xp.log(xp.maximum(t, 0, out=t).sum(axis=1))
    return out - math.log(n) + _kernel_log_norm(kernel, d, bandwidth)


def cv_bandwidth(data, bandwidths, *, kernel="gaussian", folds=5, seed=0):
    """The bandwidth with the highest held-out log-likelihood, and the score of each.

    bandwidths : a sequence of positive floats (on the host).
    folds : an int (a shuffled split into that many folds, drawn on the host) or a list of
        (train, test) index arrays; either way the indices are copied to data's device.
        A score is the sum of log p(x) over a fold's held-out points, averaged over the folds
        (what scikit-learn's GridSearchCV reports for KernelDensity).
    Returns (best bandwidth, scores (len(bandwidths),) as NumPy).
    """
    data = _check_data(data)
    if isinstance(folds, int):
        order = np.random.default_rng(seed).permutation(data.shape[0])
        parts = np.array_split(order, folds)
        folds = [(np.concatenate(parts[:i] + parts[i + 1:]), part) for i, part in
                 enumerate(parts)]
    xp = get_array_module(data)
    folds = [(xp.asarray(train), xp.asarray(test)) for train, test in folds]  # on data's device
    scores = np.array([np.mean([float(kde_log_density(data[test], data[train], h, kernel).sum())
                                for train, test in folds]) for h in bandwidths])
    return bandwidths[int(np.argmax(scores))], scores
