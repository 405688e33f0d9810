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

from . import numerics
from ._blocks import BLOCK, K, Samples, centre_of, centred, row_blocks
from ._checks import (
    Check,
    Choice,
    Int,
    Optional,
    Real,
    Seed,
    check_array,
    check_choice,
    check_device,
    check_fields,
    check_int,
    check_int_array,
    check_real,
    checked,
    rng_from,
)
from .backend import get_array_module
from .clustering import kmeans, kmeans_plusplus

COVARIANCE_TYPES = ("full", "diag", "spherical")
KERNELS = ("gaussian", "epanechnikov")
RULES = ("scott", "silverman")
KDE_BLOCK = 1 << 16  # entries of a block of kernel values: 512 KiB of float64, in cache


@dataclass(frozen=True)
class Mixture:
    """A Gaussian mixture: weights (k,), means (k, d) and covariances, of shape (k, d, d) when
    covariance_type is "full", (k, d) for "diag" and (k,) for "spherical" (sigma_k^2 I).
    The arrays live on one device; backend.to_device(mixture, "gpu" | "cpu") moves them all.
    An unknown covariance_type is an error at once. The arrays are checked where the mixture
    meets data (the functions that take one declare it), for that is where their device,
    dtype and dimension are known: on the data's device, weights >= 0 summing to 1, means
    with the data's d columns, covariances symmetric (full, then positive definite by their
    Cholesky factor where they are used) or positive (diag, spherical)."""

    weights: object
    means: object
    covariances: object
    covariance_type: str = "full"

    def __post_init__(self):
        check_fields(self, covariance_type=Choice(*COVARIANCE_TYPES))

    @property
    def n_parameters(self):
        """Free parameters: k - 1 weights, k d means and the covariances' entries."""
        k, d = self.means.shape
        per_component = {"full": d * (d + 1) // 2, "diag": d, "spherical": 1}
        return k - 1 + k * d + k * per_component[self.covariance_type]


def _sum_tolerance(dtype):
    return 1e-6 if np.dtype(dtype).itemsize >= 8 else 1e-3


class _MixtureFor(Check):
    """A Mixture to meet the data X (n, d): its arrays on X's device, converted to X's dtype,
    of consistent shapes, weights >= 0 summing to 1, variances > 0 (full covariances are
    checked for positive definiteness by their Cholesky factor, where they are used). With
    like_fit, also of fit_mixture's k and covariance_type."""

    def __init__(self, like_fit=False):
        self.like_fit = like_fit

    def __call__(self, mixture, name, values, xp):
        if self.like_fit and not isinstance(mixture, Mixture):
            raise TypeError(f"{name} must be None or a Mixture, got {type(mixture).__name__}")
        if not isinstance(mixture, Mixture):
            raise TypeError(f"{name} must be a Mixture, got {type(mixture).__name__}")
        X = values["X"]
        xp = get_array_module(X)
        for field in ("weights", "means", "covariances"):
            check_device(getattr(mixture, field), f"{name}.{field}", xp)
        check_choice(mixture.covariance_type, f"{name}.covariance_type", COVARIANCE_TYPES)
        w = check_array(mixture.weights, f"{name}.weights", ndim=(1,), xp=xp).astype(X.dtype)
        k, d = w.shape[0], X.shape[1]
        mu = check_array(mixture.means, f"{name}.means", ndim=(2,), xp=xp).astype(X.dtype)
        if mu.shape != (k, d):
            raise ValueError(f"{name}.means must have shape {(k, d)} (k weights, X's d "
                             f"columns), got {mu.shape}")
        shape = {"full": (k, d, d), "diag": (k, d), "spherical": (k,)}[mixture.covariance_type]
        cov = check_array(mixture.covariances, f"{name}.covariances", ndim=(len(shape),), xp=xp)
        cov = cov.astype(X.dtype)
        if cov.shape != shape:
            raise ValueError(f"{name}.covariances must have shape {shape} for "
                             f"{mixture.covariance_type!r}, got {cov.shape}")
        if float(w.min()) < 0 or abs(float(w.sum()) - 1) > _sum_tolerance(X.dtype):
            raise ValueError(f"{name}.weights must be >= 0 and sum to 1, got sum "
                             f"{float(w.sum()):g}")
        if mixture.covariance_type == "full":
            if not bool(xp.allclose(cov, cov.transpose(0, 2, 1), rtol=1e-6, atol=0)):
                raise ValueError(f"{name}.covariances must be symmetric")
        elif float(cov.min()) <= 0:
            raise ValueError(f"{name}.covariances must be positive, got a minimum of "
                             f"{float(cov.min()):g}")
        if self.like_fit and (mu.shape != (values["k"], d)
                              or mixture.covariance_type != values["covariance_type"]):
            raise ValueError(f"{name} must be a {values['covariance_type']} Mixture with means "
                             f"of shape {(values['k'], d)}, got {mixture.covariance_type} and "
                             f"{mu.shape}")
        return Mixture(w, mu, cov, mixture.covariance_type)


def _shifted(mixture, shift):
    """The mixture with its means moved by -shift (d,)."""
    return Mixture(mixture.weights, mixture.means - shift, mixture.covariances,
                   mixture.covariance_type)


class _SingularCovariance(ValueError):
    """A covariance that is not positive definite: which component, and where it came from."""

    def __init__(self, component, origin):
        self.component = component
        super().__init__(f"the covariance of component {component} is not positive definite"
                         f"{origin}: a component collapsed onto too few distinct points; use "
                         f"reg_covar > 0 (added to every covariance's diagonal) or fewer "
                         f"components")


@checked(X=Samples(), mixture=_MixtureFor())
def component_log_densities(X, mixture):
    """log(w_k N(x_n | mu_k, Sigma_k)) for every row x_n of X and component k.

    With Sigma = L L^T (Cholesky), (x - mu)^T Sigma^-1 (x - mu) = |L^-1 (x - mu)|^2 and
    log det Sigma = 2 sum log diag L. For all k at once, X is multiplied by the k matrices
    L_k^-T side by side: one matrix product of shape (n, d) @ (d, k d). X and the means
    are shifted by a centre of X first, so an offset of the data costs no digits.

    Parameters
    ----------
    X : array (n, d)
    mixture : Mixture of k components in d dimensions, on X's device

    Returns
    -------
    array (n, k); -inf in a column of weight 0
    """
    xp = get_array_module(X)
    X, centre = centred(X)
    w, mu, cov = mixture.weights, mixture.means - centre, mixture.covariances
    k, d = mu.shape
    if mixture.covariance_type == "full":
        try:
            chol = xp.linalg.cholesky(cov)
        except np.linalg.LinAlgError:
            chol = xp.full_like(cov, xp.nan)
        diagonal = xp.diagonal(chol, axis1=1, axis2=2)
        bad = ~(diagonal > 0).all(axis=1)  # CuPy gives NaN where NumPy raises
        if bool(bad.any()):
            raise _SingularCovariance(int(xp.argmax(bad)), " (mixture.covariances)")
        inv_t = xp.linalg.inv(chol).transpose(0, 2, 1)  # (k, d, d): L_k^-T
        log_det = 2 * xp.log(diagonal).sum(axis=1)
        side_by_side = inv_t.transpose(1, 0, 2).reshape(d, k * d)
        shift = xp.einsum("kd,kde->ke", mu, inv_t).reshape(k * d)
        mahalanobis = xp.empty((X.shape[0], k), dtype=X.dtype)
        for rows in row_blocks(X.shape[0], k * d):
            y = X[rows] @ side_by_side - shift  # (rows, k d): L_k^-1 (x - mu_k), side by side
            mahalanobis[rows] = (y * y).reshape(-1, k, d).sum(axis=2)
    else:  # diagonal: sum_j (x_j - mu_kj)^2 / var_kj, by expanding the square
        var = cov if mixture.covariance_type == "diag" else cov[:, None] * xp.ones(d, X.dtype)
        if not bool((var > 0).all()):
            raise _SingularCovariance(int(xp.argmin(var.min(axis=1))), " (mixture.covariances)")
        precision = 1 / var
        mahalanobis = xp.maximum((X * X) @ precision.T - 2 * X @ (mu * precision).T
                                 + (mu * mu * precision).sum(axis=1), 0)
        log_det = xp.log(var).sum(axis=1)
    with np.errstate(divide="ignore"):  # a weight of 0: log 0 = -inf
        log_w = xp.log(w)
    return log_w - 0.5 * (d * math.log(2 * math.pi) + log_det + mahalanobis)


@checked(X=Samples(), mixture=_MixtureFor())
def e_step(X, mixture):
    """The E-step: the mean log-likelihood and the log responsibilities.

    Parameters
    ----------
    X : array (n, d)
    mixture : Mixture of k components, on X's device

    Returns
    -------
    log_likelihood : float, (1/n) sum_n log p(x_n)
    log_R : array (n, k), log r_nk = log(w_k N(x_n | k)) - log p(x_n) (rows: logs of
        probabilities summing to 1)
    """
    log_joint = component_log_densities(X, mixture)
    log_p = numerics.logsumexp(log_joint, axis=1)
    return float(log_p.mean()), log_joint - log_p[:, None]


class _Responsibilities(Check):
    """R (n, k): one row per row of X, in X's dtype, >= 0, each row summing to 1."""

    def __call__(self, value, name, values, xp):
        X = values["X"]
        R = check_array(value, name, ndim=(2,), xp=xp).astype(X.dtype)
        if R.shape[0] != X.shape[0]:
            raise ValueError(f"{name} must have one row per row of X ({X.shape[0]}), got "
                             f"shape {R.shape}")
        sums = R.sum(axis=1)
        if float(R.min()) < 0 or float(xp.abs(sums - 1).max()) > _sum_tolerance(X.dtype):
            raise ValueError(f"{name} must hold responsibilities: >= 0, each row summing to 1")
        return R

    def device_of(self, value):
        return value


@checked(X=Samples(), R=_Responsibilities(), covariance_type=Choice(*COVARIANCE_TYPES),
         reg_covar=Real(low=0.0))
def m_step(X, R, covariance_type="full", reg_covar=1e-6):
    """The M-step: the mixture that maximises the expected log-likelihood under
    responsibilities R.

    N_k = sum_n r_nk, w_k = N_k / n, mu_k = sum_n r_nk x_n / N_k and Sigma_k the
    responsibility-weighted covariance about mu_k, plus reg_covar on its diagonal. A
    component of no weight sits in the middle of the data with covariance reg_covar I.

    Parameters
    ----------
    X : array (n, d)
    R : array (n, k) of responsibilities (>= 0, each row summing to 1), on X's device
    covariance_type : "full", "diag" or "spherical"
    reg_covar : float >= 0

    Returns
    -------
    Mixture with weights (k,), means (k, d) and covariances (k, d, d), (k, d) or (k,)
    """
    xp = get_array_module(X)
    X, centre = centred(X)  # the sums of squares about a centre of the data
    d = X.shape[1]
    counts = R.sum(axis=0) + 10 * xp.finfo(X.dtype).eps  # an empty component divides by ~0, not 0
    means = (R.T @ X) / counts[:, None]
    if covariance_type == "full":
        cov = xp.empty((len(counts), d, d), dtype=X.dtype)
        for k in range(len(counts)):
            centred_k = X - means[k]
            cov[k] = (R[:, k, None] * centred_k).T @ centred_k / counts[k]
        cov += reg_covar * xp.eye(d, dtype=X.dtype)
    else:
        var = xp.stack([R[:, k] @ (X - means[k]) ** 2 for k in range(len(counts))])
        var = var / counts[:, None] + reg_covar
        cov = var if covariance_type == "diag" else var.mean(axis=1)
    return Mixture(counts / X.shape[0], means + centre, cov, covariance_type)


@checked(X=Samples(), mixture=_MixtureFor())
def mixture_log_likelihood(X, mixture):
    """Mean log-likelihood (1/n) sum_n log sum_k w_k N(x_n | mu_k, Sigma_k) of the rows of X.

    Parameters
    ----------
    X : array (n, d)
    mixture : Mixture, on X's device

    Returns
    -------
    float
    """
    return e_step(X, mixture)[0]


@checked(X=Samples(), mixture=_MixtureFor())
def bic(X, mixture):
    """Bayesian information criterion -2 log L + p log n (lower is better).

    Parameters
    ----------
    X : array (n, d)
    mixture : Mixture, on X's device

    Returns
    -------
    float
    """
    n = X.shape[0]
    return -2 * n * e_step(X, mixture)[0] + mixture.n_parameters * math.log(n)


@dataclass(frozen=True)
class MixtureFit:
    """The fitted mixture; the mean log-likelihood before each M-step; iterations; converged."""

    mixture: Mixture
    history: list
    n_iter: int
    converged: bool


@checked(X=Samples(), k=K, covariance_type=Choice(*COVARIANCE_TYPES),
         init=Optional(_MixtureFor(like_fit=True)), n_init=Int(), reg_covar=Real(low=0.0),
         max_iter=Int(), tol=Real(low=0.0), seed=Seed())
def fit_mixture(X, k, *, covariance_type="full", init=None, n_init=1, reg_covar=1e-6,
                max_iter=100, tol=1e-3, seed=0):
    """A Gaussian mixture of k components fitted to the rows of X by EM.

    Parameters
    ----------
    X : array of shape (n, d), NumPy or CuPy: the fit and its mixture are on its device
    k : int in [1, n], the number of components
    covariance_type : "full", "diag" or "spherical"
    init : None or a Mixture to start from, on X's device; None: one M-step from the labels
        of a seeded k-means (its k-means++ draws are made on the host: the same on both
        devices).
    n_init : int >= 1; without init, the number of k-means starts; the fit of highest final
        log-likelihood is kept (EM, like k-means, finds a local maximum).
    reg_covar : float >= 0, added to every covariance's diagonal, so no component collapses
        onto a point; with 0, a component that does collapse (duplicated points) raises a
        ValueError that says so.
    max_iter : int >= 1, the most EM iterations
    tol : float >= 0: stop when the mean log-likelihood rises by less than tol
        (scikit-learn's rule: the log-likelihood recorded is that of the parameters before
        the last M-step).
    seed : int >= 0, numpy Generator or None, for the k-means starts; default 0

    Returns
    -------
    MixtureFit: mixture (weights (k,), means (k, d), covariances), history (list of floats),
    n_iter, converged
    """
    xp = get_array_module(X)
    Xc, centre = centred(X)  # shifted once: the calls below then shift by 0 (no copy)
    if init is None:
        rng = rng_from(seed)
        starts = []
        for _ in range(n_init):
            labels = kmeans(Xc, k, init=kmeans_plusplus(Xc, k, seed=rng)).labels
            hard = (labels[:, None] == xp.arange(k)).astype(X.dtype)
            starts.append(m_step(Xc, hard, covariance_type, reg_covar))
    else:
        starts = [_shifted(init, centre)]
    fits = [_em(Xc, start, reg_covar, max_iter, tol) for start in starts]
    best = max(fits, key=lambda fit: e_step(Xc, fit.mixture)[0])
    return MixtureFit(_shifted(best.mixture, -centre), best.history, best.n_iter,
                      best.converged)


def _em(X, mixture, reg_covar, max_iter, tol):
    """EM from the given mixture, on X and a mixture centred alike: E-step, M-step, until the
    log-likelihood stalls. A covariance that collapses says reg_covar is where it came from."""
    xp = get_array_module(X)
    history, converged = [], False
    try:
        while len(history) < max_iter and not converged:
            log_likelihood, log_R = e_step(X, mixture)
            mixture = m_step(X, xp.exp(log_R), mixture.covariance_type, reg_covar)
            converged = bool(history) and abs(log_likelihood - history[-1]) < tol
            history.append(log_likelihood)
        e_step(X, mixture)  # the returned mixture must be usable: checked here
    except _SingularCovariance as err:
        raise _SingularCovariance(err.component, f" (reg_covar = {reg_covar:g})") from None
    return MixtureFit(mixture, history, len(history), converged)


@checked(n=Int(), d=Int())
def scott_factor(n, d):
    """Scott's rule: bandwidth n^(-1/(d + 4)) in units of the data's standard deviation.

    Parameters
    ----------
    n : int >= 1, the number of samples
    d : int >= 1, the dimension

    Returns
    -------
    float in (0, 1]
    """
    return n ** (-1 / (d + 4))


@checked(n=Int(), d=Int())
def silverman_factor(n, d):
    """Silverman's rule (as SciPy has it): (n (d + 2) / 4)^(-1/(d + 4)) standard deviations.

    Parameters
    ----------
    n : int >= 1, the number of samples
    d : int >= 1, the dimension

    Returns
    -------
    float > 0
    """
    return (n * (d + 2) / 4) ** (-1 / (d + 4))


class _Data(Check):
    """Samples for a kernel density: an array (n, d), or (n,) for one feature (made (n, 1));
    with like, of that earlier argument's dtype and number of features."""

    def __init__(self, like=None):
        self.like = like

    def __call__(self, value, name, values, xp):
        data = check_array(value, name, xp=xp)
        data = data[:, None] if data.ndim == 1 else data
        if self.like:
            other = values[self.like]
            data = data.astype(other.dtype)
            if data.shape[1] != other.shape[1]:
                raise ValueError(f"{name} must have {other.shape[1]} features like "
                                 f"{self.like}, got shape {data.shape}")
        return data

    def device_of(self, value):
        return value


@checked(data=_Data(), rule=Choice(*RULES))
def rule_of_thumb_bandwidth(data, rule="scott"):
    """A bandwidth for an isotropic kernel: the rule's factor times the data's standard deviation
    (ddof=1, root mean of the columns' variances). In 1-D it is SciPy's gaussian_kde's.

    Parameters
    ----------
    data : array (n,) or (n, d), n >= 2, not all rows equal
    rule : "scott" or "silverman"

    Returns
    -------
    float > 0
    """
    n, d = data.shape
    if n < 2:
        raise ValueError(f"data needs at least 2 samples for a standard deviation, got {n}")
    spread = float(data.var(axis=0, ddof=1).mean()) ** 0.5
    if not spread > 0:
        raise ValueError("data has no spread (every row the same): no bandwidth")
    factor = scott_factor if rule == "scott" else silverman_factor
    return factor(n, d) * spread


def _kernel_log_norm(kernel, d, bandwidth):
    """log of the constant that makes the kernel integrate to 1 in d dimensions."""
    if kernel == "gaussian":
        return -0.5 * d * (math.log(2 * math.pi) + 2 * math.log(bandwidth))
    # Epanechnikov: (d + 2) / (2 V_d h^d), V_d = pi^(d/2) / Gamma(d/2 + 1) the unit ball's volume
    log_unit_ball = 0.5 * d * math.log(math.pi) - math.lgamma(d / 2 + 1)
    return math.log((d + 2) / 2) - log_unit_ball - d * math.log(bandwidth)


# The expanded product |u|² - 2 u.x + |x|² (u, x in units of the bandwidth) loses about
# eps * max(|u|² + |x|²) nats; beyond this many, the kernel is summed from differences.
KDE_ROUNDING = {8: 1e-12, 4: 1e-5}


@checked(data=_Data(), queries=_Data(like="data"), bandwidth=Real(low=0.0, low_open=True),
         kernel=Choice(*KERNELS))
def kde_log_density(queries, data, bandwidth, kernel="gaussian"):
    """log p(q) of a kernel density estimate p(q) = (1/n) sum_i K_h(q - x_i).

    Gaussian: K_h(u) = (2 pi h^2)^(-d/2) exp(-|u|^2 / (2 h^2)).
    Epanechnikov: K_h(u) = (d + 2) / (2 V_d h^d) (1 - |u|^2 / h^2) for |u| < h, else 0
    (V_d the volume of the unit ball), so log p is -inf beyond h of every data point.
    Computed a block of queries at a time, on data's device, in units of h and relative to
    a centre of the data, by log-sum-exp. The distances come from the expanded product when
    its rounding costs less than KDE_ROUNDING nats, else (a bandwidth tiny against the
    spread of the data) from the differences.

    Parameters
    ----------
    queries : array (m, d) or (m,) (one feature), on data's device, or a list
    data : array (n, d) or (n,)
    bandwidth : float > 0, h
    kernel : "gaussian" or "epanechnikov"

    Returns
    -------
    array (m,) of log densities (finite for the Gaussian kernel unless |q - x| / h
    overflows)
    """
    xp = get_array_module(data)
    centre = centre_of(data, "data")
    data, queries = data - centre, queries - centre
    n, d = data.shape
    with np.errstate(over="ignore"):
        reach = (float(xp.abs(data).max()) + float(xp.abs(queries).max())) ** 2 * d
        rounding = np.float64(np.finfo(data.dtype).eps) * reach / bandwidth / bandwidth
    if rounding <= KDE_ROUNDING[data.dtype.itemsize]:
        out = _kde_expanded(queries / bandwidth, data / bandwidth, kernel)
    else:
        out = _kde_from_differences(queries, data, bandwidth, kernel)
    return out - math.log(n) + _kernel_log_norm(kernel, d, bandwidth)


def _kde_expanded(queries, data, kernel):
    """log sum_i k(q - x_i) per query, k = exp(-|u|² / 2) or max(1 - |u|², 0), by the
    expanded product (queries and data in units of h)."""
    xp = get_array_module(data)
    n = data.shape[0]
    # -|q - x|^2 / 2 = q.x - |x|^2 / 2 - |q|^2 / 2; the last term is the same for every x,
    # so it leaves the sum. Each block is updated in place, in the CPU cache.
    half_x = (data * data).sum(axis=1) / 2
    half_q = (queries * queries).sum(axis=1) / 2
    out = xp.empty(queries.shape[0], dtype=data.dtype)
    budget = KDE_BLOCK if xp is np else BLOCK  # the GPU prefers few, large blocks
    for rows in row_blocks(queries.shape[0], n, budget):
        t = queries[rows] @ data.T
        t -= half_x  # t = -|q - x|^2 / 2 + |q|^2 / 2
        if kernel == "gaussian":
            out[rows] = numerics.logsumexp(t, axis=1, overwrite=True) - half_q[rows]
        else:  # 1 - |q - x|^2 = 1 + 2 t - |q|^2, clipped at 0
            t *= 2
            t += (1 - 2 * half_q[rows])[:, None]
            with np.errstate(divide="ignore"):  # log 0 = -inf: no data point within h
                out[rows] = xp.log(xp.maximum(t, 0, out=t).sum(axis=1))
    return out


def _kde_from_differences(queries, data, bandwidth, kernel):
    """What _kde_expanded computes, from the differences q - x (in the data's units)."""
    xp = get_array_module(data)
    n, d = data.shape
    out = xp.empty(queries.shape[0], dtype=data.dtype)
    budget = KDE_BLOCK if xp is np else BLOCK
    for rows in row_blocks(queries.shape[0], n * d, budget):
        with np.errstate(over="ignore"):  # |q - x| / h beyond the float range: kernel 0
            u = (queries[rows, None, :] - data[None, :, :]) / bandwidth
            u2 = (u * u).sum(axis=2)  # (rows, n)
        if kernel == "gaussian":
            u2 *= -0.5
            out[rows] = numerics.logsumexp(u2, axis=1, overwrite=True)
        else:
            with np.errstate(divide="ignore"):
                out[rows] = xp.log(xp.maximum(1 - u2, 0).sum(axis=1))
    return out


class _Bandwidths(Check):
    """A non-empty sequence of floats > 0, on the host (a list of floats)."""

    def __call__(self, value, name, values, xp):
        if isinstance(value, str) or not hasattr(value, "__len__"):
            raise TypeError(f"{name} must be a sequence of numbers, got {type(value).__name__}")
        if len(value) == 0:
            raise ValueError(f"{name} is empty")
        return [check_real(h, f"{name}[{i}]", low=0.0, low_open=True)
                for i, h in enumerate(list(value))]


class _Folds(Check):
    """An int in [2, n], or a non-empty list of (train, test) pairs of non-empty int index
    arrays in [0, n), n the rows of data."""

    def __call__(self, folds, name, values, xp):
        n = values["data"].shape[0]
        if isinstance(folds, int | np.integer) and not isinstance(folds, bool):
            return check_int(folds, name, low=2, high=n, high_is="the number of samples")
        if isinstance(folds, str) or not hasattr(folds, "__iter__"):
            raise TypeError(f"{name} must be an int or a list of (train, test) index arrays, "
                            f"got {type(folds).__name__}")
        checked_folds = []
        for i, pair in enumerate(folds):
            if not (isinstance(pair, tuple | list) and len(pair) == 2):
                raise TypeError(f"{name}[{i}] must be a (train, test) pair of index arrays")
            checked_folds.append(tuple(
                check_int_array(part, f"{name}[{i}] {what}", high=n, ndim=1)
                for part, what in zip(pair, ("train", "test"), strict=True)))
        if not checked_folds:
            raise ValueError(f"{name} is empty")
        return checked_folds


@checked(data=_Data(), bandwidths=_Bandwidths(), kernel=Choice(*KERNELS), folds=_Folds(),
         seed=Seed())
def cv_bandwidth(data, bandwidths, *, kernel="gaussian", folds=5, seed=0):
    """The bandwidth with the highest held-out log-likelihood, and the score of each.

    A score is the sum of log p(x) over a fold's held-out points, averaged over the folds
    (what scikit-learn's GridSearchCV reports for KernelDensity).

    Parameters
    ----------
    data : array (n,) or (n, d)
    bandwidths : non-empty sequence of floats > 0 (on the host)
    kernel : "gaussian" or "epanechnikov"
    folds : int in [2, n] (a shuffled split into that many folds, drawn on the host) or a
        list of (train, test) index arrays, each non-empty; either way the indices are
        copied to data's device.
    seed : int >= 0, numpy Generator or None, for the shuffle; default 0

    Returns
    -------
    best : float, the bandwidth of the highest score
    scores : NumPy array (len(bandwidths),)
    """
    if isinstance(folds, int):
        parts = np.array_split(rng_from(seed).permutation(data.shape[0]), folds)
        folds = [(np.concatenate(parts[:i] + parts[i + 1:]), part) for i, part in
                 enumerate(parts)]
    xp = get_array_module(data)
    folds = [(xp.asarray(train), xp.asarray(test)) for train, test in folds]  # on data's device
    scores = np.array([np.mean([float(kde_log_density(data[test], data[train], h,
                                                      kernel).sum())
                                for train, test in folds]) for h in bandwidths])
    return bandwidths[int(np.argmax(scores))], scores


def __getattr__(name):
    """Names that moved to another module keep working for one release, with a warning."""
    from ._deprecated import moved

    return moved(__name__, name)
