import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from properties import names_the_argument, point_sets
from scipy.spatial.distance import cdist
from scipy.special import logsumexp as scipy_logsumexp
from scipy.stats import gaussian_kde, multivariate_normal
from sklearn.datasets import load_iris, make_blobs
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.neighbors import KernelDensity

from course_utils import backend, timing
from course_utils.clustering import kmeans_plusplus, soft_kmeans
from course_utils.density import (
    COVARIANCE_TYPES,
    KERNELS,
    Mixture,
    MixtureFit,
    bic,
    component_log_densities,
    cv_bandwidth,
    e_step,
    fit_mixture,
    kde_log_density,
    m_step,
    mixture_log_likelihood,
    rule_of_thumb_bandwidth,
    scott_factor,
    silverman_factor,
)
from course_utils.numerics import logsumexp


def blobs(n=800, d=3, seed=0):
    return make_blobs(n, d, centers=4, cluster_std=[1.0, 2.0, 0.5, 1.5], random_state=seed)[0]


def precisions(mixture):
    cov = mixture.covariances
    return np.linalg.inv(cov) if mixture.covariance_type == "full" else 1 / cov


def sklearn_from(mixture, **kwargs):
    return GaussianMixture(len(mixture.weights), covariance_type=mixture.covariance_type,
                           weights_init=mixture.weights, means_init=mixture.means,
                           precisions_init=precisions(mixture), **kwargs)


def test_the_old_name_density_logsumexp_warns_and_is_numerics_logsumexp():
    from course_utils import density

    a = np.array([[1000.0, 1000.0], [-1000.0, -1001.0], [-np.inf, -np.inf]])
    with pytest.warns(DeprecationWarning, match="density.logsumexp is now numerics.logsumexp"):
        old = density.logsumexp
    assert old is logsumexp
    np.testing.assert_allclose(old(a, axis=1), scipy_logsumexp(a, axis=1))
    assert np.isfinite(a[:2]).all()  # not overwritten


def test_component_densities_match_scipy():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    A = rng.normal(size=(2, 3, 3))
    cov = A @ A.transpose(0, 2, 1) + np.eye(3)
    mix = Mixture(np.array([0.3, 0.7]), rng.normal(size=(2, 3)), cov)
    expected = np.column_stack([np.log(w) + multivariate_normal(m, c).logpdf(X)
                                for w, m, c in zip(mix.weights, mix.means, cov, strict=True)])
    np.testing.assert_allclose(component_log_densities(X, mix), expected, rtol=1e-12)
    var = np.array([[1.0, 2.0, 0.5], [0.3, 0.3, 3.0]])
    diag = Mixture(mix.weights, mix.means, var, "diag")
    full = Mixture(mix.weights, mix.means, np.stack([np.diag(v) for v in var]))
    np.testing.assert_allclose(component_log_densities(X, diag),
                               component_log_densities(X, full), rtol=1e-12)
    spherical = Mixture(mix.weights, mix.means, np.array([0.5, 2.0]), "spherical")
    as_diag = Mixture(mix.weights, mix.means, np.array([[0.5] * 3, [2.0] * 3]), "diag")
    np.testing.assert_allclose(component_log_densities(X, spherical),
                               component_log_densities(X, as_diag), rtol=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("seed", range(3))
def test_em_matches_scikit_learn_from_the_same_start(covariance_type, seed):
    X = blobs(seed=seed)
    start = fit_mixture(X, 4, covariance_type=covariance_type, max_iter=1, seed=seed).mixture
    ours = fit_mixture(X, 4, covariance_type=covariance_type, init=start, max_iter=300)
    theirs = sklearn_from(start, max_iter=300).fit(X)
    assert ours.n_iter == theirs.n_iter_ and ours.converged == theirs.converged_
    assert abs(ours.history[-1] - theirs.lower_bound_) < 1e-6
    assert abs(mixture_log_likelihood(X, ours.mixture) - theirs.score(X)) < 1e-6
    np.testing.assert_allclose(ours.mixture.weights, theirs.weights_, atol=1e-9)
    np.testing.assert_allclose(ours.mixture.means, theirs.means_, atol=1e-9)
    np.testing.assert_allclose(ours.mixture.covariances, theirs.covariances_, atol=1e-9)
    assert bic(X, ours.mixture) == pytest.approx(theirs.bic(X), rel=1e-9)


def test_log_likelihood_rises_every_iteration():
    X = load_iris().data
    fit = fit_mixture(X, 3, max_iter=200, tol=1e-10, seed=1)
    assert np.all(np.diff(fit.history) > -1e-9)
    assert fit.converged


def test_default_start_is_reproducible_and_reg_covar_prevents_collapse():
    X = blobs()
    a, b = fit_mixture(X, 3, seed=4), fit_mixture(X, 3, seed=4)
    np.testing.assert_array_equal(a.mixture.means, b.mixture.means)
    duplicated = np.repeat(X[:5], 20, axis=0)  # five distinct points, five components
    fit = fit_mixture(duplicated, 5, reg_covar=1e-3)
    assert np.isfinite(fit.history).all()
    assert np.linalg.eigvalsh(fit.mixture.covariances).min() >= 1e-3 * (1 - 1e-9)


def test_soft_kmeans_is_em_with_a_fixed_shared_sphere():
    # Fix w_k = 1/k and Sigma_k = sigma^2 I: the E-step responsibilities are soft k-means'
    # with stiffness 1 / (2 sigma^2), and the M-step for the means is its update.
    X = blobs(300, 2)
    init = kmeans_plusplus(X, 4, seed=0)
    sigma2 = 0.8
    means = init
    for _ in range(300):
        mix = Mixture(np.full(4, 0.25), means, np.full(4, sigma2), "spherical")
        log_joint = component_log_densities(X, mix)
        R = np.exp(log_joint - logsumexp(log_joint, axis=1)[:, None])
        means = (R.T @ X) / R.sum(axis=0)[:, None]
    centers = soft_kmeans(X, init, stiffness=1 / (2 * sigma2), tol=1e-20, max_iter=300).centers
    np.testing.assert_allclose(means, centers, atol=1e-10)


@pytest.mark.parametrize("rule", ["scott", "silverman"])
def test_gaussian_kde_matches_scipy_in_one_dimension(rule):
    x = np.random.default_rng(1).gamma(2.0, size=400)
    queries = np.linspace(-1, 12, 60)
    reference = gaussian_kde(x, bw_method=rule)
    h = rule_of_thumb_bandwidth(x, rule)
    assert h == pytest.approx(reference.factor * x.std(ddof=1), rel=1e-14)
    np.testing.assert_allclose(np.exp(kde_log_density(queries, x, h)), reference(queries),
                               rtol=1e-10, atol=1e-300)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("d", [1, 3, 6])
def test_kde_matches_scikit_learn(kernel, d):
    rng = np.random.default_rng(d)
    data, queries = rng.normal(size=(500, d)), rng.normal(scale=1.3, size=(80, d))
    ours = kde_log_density(queries, data, 0.6, kernel)
    theirs = KernelDensity(bandwidth=0.6, kernel=kernel).fit(data).score_samples(queries)
    # scikit-learn's tree is approximate where the density is tiny (it can give 1e-16 where
    # the Epanechnikov density is exactly 0): compare densities, not their logarithms
    np.testing.assert_allclose(np.exp(ours), np.exp(theirs), rtol=1e-9, atol=1e-14)
    if kernel == "epanechnikov":  # 0 exactly where no data point lies within h
        np.testing.assert_array_equal(np.isfinite(ours), cdist(queries, data).min(axis=1) < 0.6)


def test_gaussian_kde_is_exact_far_from_the_data():
    rng = np.random.default_rng(0)
    data, queries = rng.normal(size=(300, 2)), rng.normal(scale=4.0, size=(40, 2))
    h = 0.2
    exact = (scipy_logsumexp(-cdist(queries, data, "sqeuclidean") / (2 * h * h), axis=1)
             - math.log(300) - math.log(2 * math.pi * h * h))
    assert exact.min() < -200  # densities that underflow to 0 without log space
    np.testing.assert_allclose(kde_log_density(queries, data, h), exact, rtol=1e-12)


def test_kde_far_from_data_and_many_blocks():
    data = np.random.default_rng(0).normal(size=(3000, 2))
    queries = np.vstack([np.zeros((1, 2)), [[100.0, 0.0]], data[:100]])
    gauss = kde_log_density(queries, data, 0.3)
    epa = kde_log_density(queries, data, 0.3, "epanechnikov")
    assert np.isfinite(gauss).all() and gauss[1] < -5e4  # log space: no underflow to -inf
    assert epa[1] == -np.inf and np.isfinite(epa[[0, 2]]).all()
    one_block = kde_log_density(queries[:3], data, 0.3)
    np.testing.assert_allclose(gauss[:3], one_block, rtol=1e-13)


def test_cv_bandwidth_matches_grid_search():
    data = blobs(300, 2)
    bandwidths = np.linspace(0.3, 1.5, 7)
    folds = list(KFold(5, shuffle=True, random_state=0).split(data))
    search = GridSearchCV(KernelDensity(), {"bandwidth": bandwidths}, cv=folds).fit(data)
    best, scores = cv_bandwidth(data, bandwidths, folds=folds)
    assert best == search.best_params_["bandwidth"]
    np.testing.assert_allclose(scores, search.cv_results_["mean_test_score"], rtol=1e-9)
    best_default, scores_default = cv_bandwidth(data, bandwidths)
    assert scores_default.shape == (7,) and best_default in bandwidths


@pytest.mark.parametrize("call, error, message", [
    (lambda: fit_mixture(np.ones((5, 2)), 2, covariance_type="tied"), ValueError,
     "covariance_type must be one of"),
    (lambda: fit_mixture(np.ones((5, 2)), 6), ValueError, "k must be between 1"),
    (lambda: fit_mixture(blobs(), 2, init=Mixture(np.ones(3) / 3, np.zeros((3, 3)),
                                                  np.ones(3), "spherical")),
     ValueError, "init must be a full Mixture"),
    (lambda: kde_log_density([[0.0, 0.0]], [0.0, 1.0], 1.0), ValueError, "queries must have 1"),
    (lambda: kde_log_density([0.0], [0.0, 1.0], 0.0), ValueError, r"bandwidth must be in \(0"),
    (lambda: kde_log_density([0.0], [0.0, 1.0], 1.0, "tophat"), ValueError, "kernel must be"),
    (lambda: kde_log_density([0.0], [np.nan], 1.0), ValueError, "data contains NaN"),
    (lambda: rule_of_thumb_bandwidth([0.0, 1.0], "best"), ValueError, "rule must be"),
])
def test_bad_input_names_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.gpu
def test_gpu_matches_cpu():
    import cupy

    X = blobs(2000, 4)
    start = fit_mixture(X, 4, max_iter=1).mixture
    gpu_start = Mixture(*(cupy.asarray(v) for v in (start.weights, start.means,
                                                      start.covariances)))
    cpu, gpu = fit_mixture(X, 4, init=start), fit_mixture(cupy.asarray(X), 4, init=gpu_start)
    assert gpu.n_iter == cpu.n_iter
    np.testing.assert_allclose(gpu.history, cpu.history, rtol=1e-10)
    np.testing.assert_allclose(backend.to_numpy(gpu.mixture.covariances),
                               cpu.mixture.covariances, atol=1e-9)
    for covariance_type in ("diag", "spherical"):
        a = fit_mixture(X, 3, covariance_type=covariance_type, seed=0)
        b = fit_mixture(cupy.asarray(X), 3, covariance_type=covariance_type, seed=0)
        np.testing.assert_allclose(b.history, a.history, rtol=1e-10)
    for kernel in KERNELS:
        np.testing.assert_allclose(
            backend.to_numpy(kde_log_density(cupy.asarray(X[:300]), cupy.asarray(X), 0.5, kernel)),
            kde_log_density(X[:300], X, 0.5, kernel), rtol=1e-10)
    bandwidths = [0.3, 0.6, 1.2]
    np.testing.assert_allclose(cv_bandwidth(cupy.asarray(X[:500]), bandwidths)[1],
                               cv_bandwidth(X[:500], bandwidths)[1], rtol=1e-10)


def test_restarts_keep_the_best_fit():
    X = load_iris().data
    one, five = fit_mixture(X, 3, seed=0), fit_mixture(X, 3, n_init=5, seed=0)
    assert mixture_log_likelihood(X, five.mixture) >= mixture_log_likelihood(X, one.mixture)
    with pytest.raises(ValueError, match="n_init must be at least 1"):
        fit_mixture(X, 3, n_init=0)


def assert_followed(got, expected, cupy, rtol=1e-10, atol=1e-12):
    """got is expected computed on the GPU: its arrays are CuPy arrays with the same values."""
    if isinstance(expected, np.ndarray):
        assert isinstance(got, cupy.ndarray), f"expected a CuPy array, got {type(got)}"
        np.testing.assert_allclose(got.get(), expected, rtol=rtol, atol=atol)
    elif isinstance(expected, tuple | list):
        assert len(got) == len(expected)
        for a, b in zip(got, expected, strict=True):
            assert_followed(a, b, cupy, rtol, atol)
    elif isinstance(expected, Mixture | MixtureFit):
        for field in dataclasses.fields(expected):
            assert_followed(getattr(got, field.name), getattr(expected, field.name), cupy,
                            rtol, atol)
    elif isinstance(expected, str | bool):
        assert got == expected
    else:
        assert got == pytest.approx(expected, rel=rtol)


@pytest.mark.gpu
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_every_function_follows_its_data_onto_the_gpu(covariance_type):
    import cupy

    X = blobs(600, 3)
    start = fit_mixture(X, 4, covariance_type=covariance_type, max_iter=1).mixture
    start_gpu = backend.to_device(start, "gpu")
    log_R = e_step(X, start)[1]
    cases = [  # (function, its arguments on the CPU; arrays and mixtures go to the GPU)
        (logsumexp, log_R, 1),
        (component_log_densities, X, start),
        (e_step, X, start),
        (lambda X, R: m_step(X, R, covariance_type), X, np.exp(log_R)),
        (mixture_log_likelihood, X, start),
        (bic, X, start),
        (lambda X, init: fit_mixture(X, 4, covariance_type=covariance_type, init=init), X, start),
        (lambda X: fit_mixture(X, 3, covariance_type=covariance_type, n_init=2, seed=1), X),
        (rule_of_thumb_bandwidth, X),
        (lambda q, d: kde_log_density(q, d, 0.7), X[:50], X),
        (lambda q, d: kde_log_density(q, d, 0.7, "epanechnikov"), X[:50], X),
        (lambda d: kde_log_density([[0.0, 0.0, 0.0]], d, 0.7), X),  # a list goes with data
    ]
    for fn, *args in cases:
        on_gpu = [cupy.asarray(a) if isinstance(a, np.ndarray) else
                  start_gpu if a is start else a for a in args]
        assert_followed(fn(*on_gpu), fn(*args), cupy)
    assert start_gpu.n_parameters == start.n_parameters
    # cv_bandwidth returns its bandwidth and scores on the host, by design
    best, scores = cv_bandwidth(cupy.asarray(X[:200]), [0.5, 1.0, 2.0])
    expected = cv_bandwidth(X[:200], [0.5, 1.0, 2.0])
    assert best == expected[0] and isinstance(scores, np.ndarray)
    np.testing.assert_allclose(scores, expected[1], rtol=1e-10)


@pytest.mark.gpu
def test_a_lesson_on_the_gpu_gets_the_cpu_results():
    import cupy

    host = blobs(500, 2)
    cpu = fit_mixture(host, 3, seed=0)
    backend.use("gpu")
    X = backend.asarray(host)  # as a lesson makes its data
    fit = fit_mixture(X, 3, seed=0)  # the k-means start is drawn on the host: the same one
    assert isinstance(fit.mixture.covariances, cupy.ndarray)
    back = backend.to_device(fit, "cpu")
    assert back.n_iter == cpu.n_iter
    np.testing.assert_allclose(back.history, cpu.history, rtol=1e-12)
    np.testing.assert_allclose(back.mixture.means, cpu.mixture.means, rtol=1e-10)
    start = backend.to_device(cpu.mixture)  # a fitted mixture moved to the current device
    assert isinstance(start.weights, cupy.ndarray)
    assert mixture_log_likelihood(X, start) == pytest.approx(
        mixture_log_likelihood(host, cpu.mixture), rel=1e-12)
    comparison = timing.compare_devices(fit_mixture, host, 3, init=cpu.mixture, max_iter=3,
                                         tol=0.0, rtol=1e-9, quiet=True)
    assert comparison.gpu is not None


@pytest.mark.gpu
@pytest.mark.parametrize("call, name", [
    (lambda g, X, mix: component_log_densities(g(X), mix), "mixture.weights is a NumPy"),
    (lambda g, X, mix: component_log_densities(X, backend.to_device(mix, "gpu")),
     "mixture.weights is a CuPy"),
    (lambda g, X, mix: e_step(g(X), Mixture(g(mix.weights), mix.means, g(mix.covariances))),
     "mixture.means is a NumPy"),  # a half-moved mixture
    (lambda g, X, mix: m_step(g(X), np.full((len(X), 3), 1 / 3)), "R is a NumPy"),
    (lambda g, X, mix: mixture_log_likelihood(g(X), mix), "mixture.weights is a NumPy"),
    (lambda g, X, mix: bic(g(X), mix), "mixture.weights is a NumPy"),
    (lambda g, X, mix: fit_mixture(g(X), 3, init=mix), "init.weights is a NumPy"),
    (lambda g, X, mix: kde_log_density(X[:5], g(X), 0.5), "queries is a NumPy"),
    (lambda g, X, mix: kde_log_density(g(X[:5]), X, 0.5), "queries is a CuPy"),
])
def test_a_mixed_call_names_the_argument_and_says_to_rerun(call, name):
    import cupy

    X = blobs(300, 2)
    mixture = fit_mixture(X, 3, max_iter=1).mixture
    with pytest.raises(backend.DeviceMismatchError, match=name) as error:
        call(cupy.asarray, X, mixture)
    assert "re-run the lesson after switching" in str(error.value)


# ---- issue 12: checks at the boundary, stable numerics, hypothesis over every function ----

def two_blobs(n=60, seed=0):
    X, _ = make_blobs(n, 2, centers=[[0.0, 0.0], [6.0, 6.0]], random_state=seed)
    return np.round(X * 1024) / 1024  # on a grid: exact after the offsets below


def exact_kde(queries, data, h):
    """The Gaussian KDE's log density from the differences, in float64."""
    d2 = cdist(np.atleast_2d(queries), np.atleast_2d(data), "sqeuclidean")
    d = np.atleast_2d(data).shape[1]
    with np.errstate(over="ignore"):  # a tiny h: exp(-inf) = 0 beyond the nearest point
        scaled = -((np.sqrt(d2) / h) ** 2) / 2
    return (scipy_logsumexp(scaled, axis=1) - math.log(len(data))
            - 0.5 * d * (math.log(2 * math.pi) + 2 * math.log(h)))


def test_fit_mixture_checks_its_arguments():
    B = two_blobs()
    for kwargs, error, message in [
        ({"init": "kmeans"}, TypeError, "init must be None or a Mixture"),
        ({"reg_covar": np.nan}, ValueError, "reg_covar must be finite"),
        ({"reg_covar": -1e-6}, ValueError, "reg_covar must be in"),
        ({"max_iter": 0}, ValueError, "max_iter must be at least 1"),
        ({"max_iter": 2.5}, TypeError, "max_iter must be an int"),
        ({"tol": np.nan}, ValueError, "tol must be finite"),
        ({"tol": -1.0}, ValueError, "tol must be in"),
        ({"seed": -1}, ValueError, "seed must be"),
        ({"covariance_type": "sphere"}, ValueError, "covariance_type must be one of"),
    ]:
        with pytest.raises(error, match=message):
            fit_mixture(B, 2, **kwargs)


def test_a_collapsed_component_without_regularisation_is_a_clear_error():
    X = np.repeat(two_blobs()[:4], 5, axis=0)  # 4 points, each 5 times
    with pytest.raises(ValueError, match=r"not positive definite \(reg_covar = 0\).*reg_covar"):
        fit_mixture(X, 2, reg_covar=0.0)
    singular = Mixture(np.ones(2) / 2, X[:2], np.zeros((2, 2, 2)))  # symmetric, not definite
    with pytest.raises(ValueError, match=r"component 0 .* \(mixture.covariances\)"):
        e_step(X, singular)
    for covariance_type in COVARIANCE_TYPES:
        fit = fit_mixture(X, 4, covariance_type=covariance_type)  # reg_covar=1e-6: fine
        assert np.isfinite(fit.history).all()


def test_an_unknown_covariance_type_is_an_error_not_spherical():
    with pytest.raises(ValueError, match="covariance_type must be one of"):
        Mixture(np.ones(2) / 2, np.zeros((2, 2)), np.ones(2), "isotropic")
    with pytest.raises(ValueError, match="covariance_type must be one of"):
        m_step(two_blobs(), np.full((60, 2), 0.5), "isotropic")


def test_kde_with_a_tiny_bandwidth():
    B = two_blobs()
    np.testing.assert_allclose(kde_log_density(B[:3], B, 1e-200), exact_kde(B[:3], B, 1e-200),
                               rtol=1e-12)
    X = np.concatenate([B, B + 1e3])  # a bandwidth tiny against the spread
    q = X[:5] + 2**-20
    for h in (1e-6, 1e-5, 3e-4):
        np.testing.assert_allclose(kde_log_density(q, X, h), exact_kde(q, X, h), rtol=1e-9)


def test_the_bandwidth_is_a_real_number():
    B = two_blobs()
    np.testing.assert_allclose(kde_log_density(B[:3], B, np.float32(0.5)),
                               kde_log_density(B[:3], B, 0.5))
    for bad, error in [(True, TypeError), ("0.5", TypeError), (np.nan, ValueError),
                       (-1.0, ValueError), (np.inf, ValueError)]:
        with pytest.raises(error, match="bandwidth"):
            kde_log_density(B[:3], B, bad)


@pytest.mark.parametrize("dtype, offset, rtol", [(np.float64, 1e9, 1e-9),
                                                 (np.float64, -1e9, 1e-9),
                                                 (np.float32, 1e4, 1e-4)])
def test_invariance_against_scikit_learn_on_shifted_data(dtype, offset, rtol):
    B = two_blobs(200, seed=3)
    X = (B + offset).astype(dtype)
    theirs = KernelDensity(bandwidth=0.5).fit(B).score_samples(B[:20])
    np.testing.assert_allclose(kde_log_density(X[:20], X, 0.5), theirs, rtol=rtol)
    fit = fit_mixture(B, 2, max_iter=1).mixture
    start = Mixture(fit.weights.astype(dtype), (fit.means + offset).astype(dtype),
                    fit.covariances.astype(dtype))
    ours = fit_mixture(X, 2, init=start, max_iter=20, tol=0.0)
    sk = sklearn_from(fit, max_iter=20, tol=0.0).fit(B)
    assert ours.history[-1] == pytest.approx(sk.score(B), rel=rtol)
    np.testing.assert_allclose(ours.mixture.means.astype(np.float64) - offset, sk.means_,
                               atol=100 * rtol)
    np.testing.assert_allclose(ours.mixture.covariances, sk.covariances_, rtol=100 * rtol,
                               atol=100 * rtol)
    assert mixture_log_likelihood(X, ours.mixture) == pytest.approx(
        mixture_log_likelihood(B.astype(dtype), Mixture(
            ours.mixture.weights, (ours.mixture.means.astype(np.float64) - offset).astype(dtype),
            ours.mixture.covariances)), rel=rtol)


def test_the_seed_convention():
    B = two_blobs()
    a, b = fit_mixture(B, 2, n_init=2), fit_mixture(B, 2, n_init=2, seed=0)
    assert a.history == b.history
    c = fit_mixture(B, 2, n_init=2, seed=np.random.default_rng(0))
    assert c.history == a.history
    assert cv_bandwidth(B, [0.5, 1.0])[0] == cv_bandwidth(B, [0.5, 1.0], seed=0)[0]
    with pytest.raises(ValueError, match="seed"):
        cv_bandwidth(B, [0.5], seed=-3)


# -- hypothesis: finite input gives finite output that keeps the invariants --

def samples(min_n=2, max_n=15, max_d=3):
    """Data sets on a grid, shifted (properties.point_sets), entries in [-50, 50]."""
    return point_sets(min_n, max_n, max_d, spread=50)


@settings(max_examples=30, deadline=None)
@given(samples(), st.integers(1, 4), st.sampled_from(COVARIANCE_TYPES), st.integers(0, 2**32 - 1))
def test_property_em_steps_keep_their_invariants(X, k, covariance_type, seed):
    n = len(X)
    k = min(k, n)
    R = np.random.default_rng(seed).dirichlet(np.ones(k), size=n)
    mixture = m_step(X, R, covariance_type, reg_covar=1e-3)
    assert mixture.weights.sum() == pytest.approx(1, rel=1e-9)
    assert np.isfinite(mixture.means).all() and np.isfinite(mixture.covariances).all()
    if covariance_type == "full":
        assert (np.linalg.eigvalsh(mixture.covariances) > 0).all()
    else:
        assert (mixture.covariances > 0).all()
    log_joint = component_log_densities(X, mixture)
    assert log_joint.shape == (n, k) and np.isfinite(log_joint).all()
    mean_ll, log_R = e_step(X, mixture)
    assert np.isfinite(mean_ll) and np.isfinite(log_R).all()
    np.testing.assert_allclose(np.exp(log_R).sum(axis=1), 1, rtol=1e-9)
    assert mixture_log_likelihood(X, mixture) == pytest.approx(
        scipy_logsumexp(log_joint, axis=1).mean(), rel=1e-9, abs=1e-9)
    assert np.isfinite(bic(X, mixture))


@settings(max_examples=25, deadline=None)
@given(samples(), st.integers(1, 3), st.sampled_from(COVARIANCE_TYPES), st.integers(0, 2**32 - 1))
def test_property_fit_mixture_is_finite(X, k, covariance_type, seed):
    k = min(k, len(X))
    fit = fit_mixture(X, k, covariance_type=covariance_type, seed=seed, max_iter=30)
    assert np.isfinite(fit.history).all() and 1 <= fit.n_iter <= 30
    assert fit.mixture.weights.sum() == pytest.approx(1, rel=1e-9)
    assert np.isfinite(fit.mixture.means).all() and np.isfinite(fit.mixture.covariances).all()


@settings(max_examples=40, deadline=None)
@given(samples(max_n=12), st.floats(1e-8, 1e3), st.sampled_from(KERNELS))
def test_property_kde_is_right_for_any_bandwidth(X, h, kernel):
    q = X[: max(1, len(X) // 2)] + h / 3
    log_p = kde_log_density(q, X, h, kernel)
    assert log_p.shape == (len(q),) and not np.isnan(log_p).any()
    if kernel == "gaussian":
        assert np.isfinite(log_p).all()
        np.testing.assert_allclose(log_p, exact_kde(q, X, h), rtol=1e-8, atol=1e-8)
    else:
        assert np.isfinite(log_p).all()  # each query is within h / 3 * sqrt(d) < h of a point


@settings(max_examples=30, deadline=None)
@given(samples(min_n=3), st.sampled_from(["scott", "silverman"]), st.floats(0.125, 8))
def test_property_bandwidth_rules_are_equivariant(X, rule, scale):
    if np.ptp(X, axis=0).max() == 0:
        with pytest.raises(ValueError, match="data has no spread"):
            rule_of_thumb_bandwidth(X, rule)
        return
    h = rule_of_thumb_bandwidth(X, rule)
    assert h > 0 and np.isfinite(h)
    centred = X - X.mean(axis=0)
    assert rule_of_thumb_bandwidth(centred * scale, rule) == pytest.approx(h * scale, rel=1e-6)
    n, d = X.shape
    assert 0 < scott_factor(n, d) <= 1 and 0 < silverman_factor(n, d)
    best, scores = cv_bandwidth(centred, [h / 2, h, 2 * h], folds=min(3, n))
    assert best in (h / 2, h, 2 * h) and np.isfinite(scores).all()


# -- hypothesis: bad input is a ValueError or TypeError that names the argument --

X0 = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [5.0, 5.0], [5.0, 6.0]])
M0 = Mixture(np.array([0.5, 0.5]), np.array([[0.0, 0.0], [5.0, 5.0]]),
             np.array([np.eye(2), np.eye(2)]))
BAD_ARRAYS = [np.nan, [[np.inf, 0.0]], "text", [[1 + 1j, 0.0]], np.zeros((0, 2)),
              np.ones((2, 2, 2)), [[np.nan, 0.0], [1.0, 2.0]]]
BAD_INTS = [0, -1, 2.5, True, "2", None, np.nan]
BAD_REALS = [np.nan, np.inf, -1.0, "1", True, None, 1j]


def mixture_with(**fields):
    return dataclasses.replace(M0, **fields)


CALLS = {  # argument name: (function of the bad value, bad values)
    "X": (lambda v: fit_mixture(v, 1), BAD_ARRAYS),
    "k": (lambda v: fit_mixture(X0, v), [*BAD_INTS, 6]),
    "covariance_type": (lambda v: fit_mixture(X0, 2, covariance_type=v), ["tied", None, 1]),
    "init": (lambda v: fit_mixture(X0, 2, init=v), ["kmeans", 3, mixture_with(
        means=np.zeros((3, 2))), mixture_with(weights=np.array([0.9, 0.9]))]),
    "n_init": (lambda v: fit_mixture(X0, 2, n_init=v), BAD_INTS),
    "reg_covar": (lambda v: fit_mixture(X0, 2, reg_covar=v), BAD_REALS),
    "max_iter": (lambda v: fit_mixture(X0, 2, max_iter=v), BAD_INTS),
    "tol": (lambda v: fit_mixture(X0, 2, tol=v), BAD_REALS),
    "seed": (lambda v: fit_mixture(X0, 2, seed=v), [-1, 1.5, "0", True]),
    "mixture": (lambda v: e_step(X0, v), ["M0", None, mixture_with(means=np.zeros((2, 3))),
                                          mixture_with(weights=np.array([-0.5, 1.5])),
                                          mixture_with(covariances=np.ones((2, 2))),
                                          mixture_with(covariances=np.array(
                                              [np.eye(2), -np.eye(2)]))]),
    "R": (lambda v: m_step(X0, v), [*BAD_ARRAYS, np.ones((5, 2)), np.full((4, 2), 0.5),
                                    -np.ones((5, 1))]),
    "reg_covar ": (lambda v: m_step(X0, np.full((5, 2), 0.5), reg_covar=v), BAD_REALS),
    "data": (lambda v: kde_log_density([0.0], v, 1.0), BAD_ARRAYS),
    "queries": (lambda v: kde_log_density(v, X0, 1.0), [*BAD_ARRAYS, np.ones((2, 3))]),
    "bandwidth": (lambda v: kde_log_density(X0, X0, v), [*BAD_REALS, 0.0]),
    "kernel": (lambda v: kde_log_density(X0, X0, 1.0, v), ["tophat", None]),
    "rule": (lambda v: rule_of_thumb_bandwidth(X0, v), ["best", None]),
    "data ": (lambda v: rule_of_thumb_bandwidth(v), [*BAD_ARRAYS, [1.0], [[1.0, 2.0]] * 3]),
    "bandwidths": (lambda v: cv_bandwidth(X0, v), [[], 1.0, "ab", [1.0, -1.0], [np.nan]]),
    "folds": (lambda v: cv_bandwidth(X0, [1.0], folds=v), [1, 6, True, "k", [(0, 1)],
                                                           [([0, 1], [7])], [([0.5], [1])]]),
    "n": (lambda v: scott_factor(v, 1), BAD_INTS),
    "d": (lambda v: silverman_factor(10, v), BAD_INTS),
    "mixture ": (lambda v: bic(X0, v), [None, mixture_with(means=np.ones((2, 3)))]),
    "mixture  ": (lambda v: component_log_densities(X0, v), [3.0, mixture_with(
        weights=np.array([np.nan, 1.0]))]),
    "mixture   ": (lambda v: mixture_log_likelihood(X0, v), [mixture_with(
        covariances=np.array([[[1.0, 2.0], [2.0, 1.0]], np.eye(2)]))]),
}


test_property_bad_input_names_the_argument = names_the_argument(
    CALLS, also_accept=lambda name, message: name == "mixture" and "covariance" in message)


@pytest.mark.gpu
def test_gpu_offsets_and_tiny_bandwidths_match_the_cpu():
    backend.use("gpu")
    B = two_blobs()
    X = np.concatenate([B, B + 1e3])
    q = X[:5] + 2**-20
    np.testing.assert_allclose(backend.to_numpy(kde_log_density(backend.asarray(q),
                                                                backend.asarray(X), 1e-6)),
                               exact_kde(q, X, 1e-6), rtol=1e-9)
    cpu = fit_mixture(B + 1e9, 2)
    gpu = backend.to_device(fit_mixture(backend.asarray(B + 1e9), 2), "cpu")
    np.testing.assert_allclose(gpu.history, cpu.history, rtol=1e-9)
    with pytest.raises(ValueError, match="reg_covar"):
        fit_mixture(backend.asarray(np.repeat(B[:4], 5, axis=0)), 2, reg_covar=0.0)
    assert scott_factor(100, 2) == 100 ** (-1 / 6)  # no arrays: the same on either device
    assert silverman_factor(100, 2) == 100 ** (-1 / 6)


def test_a_mixture_of_lists_is_taken_as_arrays():
    X = two_blobs()
    lists = Mixture([0.5, 0.5], [[0.0, 0.0], [6.0, 6.0]], [np.eye(2).tolist()] * 2)
    arrays = Mixture(np.array([0.5, 0.5]), np.array([[0.0, 0.0], [6.0, 6.0]]),
                     np.array([np.eye(2)] * 2))
    assert bic(X, lists) == bic(X, arrays)
    assert fit_mixture(X, 2, init=lists).history == fit_mixture(X, 2, init=arrays).history


@given(st.integers(1, 4), st.integers(1, 4), st.one_of(st.sampled_from(COVARIANCE_TYPES),
                                                       st.text(max_size=9)))
def test_a_mixture_knows_its_covariance_type_and_counts_its_parameters(k, d, covariance_type):
    shapes = {"full": (k, d, d), "diag": (k, d), "spherical": (k,)}
    if covariance_type not in COVARIANCE_TYPES:
        with pytest.raises(ValueError, match="covariance_type must be one of"):
            Mixture(np.full(k, 1 / k), np.zeros((k, d)), np.ones(k), covariance_type)
        return
    covariances = np.ones(shapes[covariance_type])
    mixture = Mixture(np.full(k, 1 / k), np.zeros((k, d)), covariances, covariance_type)
    free_covariance = {"full": d * (d + 1) // 2, "diag": d, "spherical": 1}[covariance_type]
    # counted by brute force: the distinct entries of each covariance, then weights and means
    if covariance_type == "full":
        distinct = sum(len({(min(i, j), max(i, j)) for i in range(d) for j in range(d)})
                       for _ in range(k))
    else:
        distinct = covariances.size
    assert distinct == k * free_covariance
    assert mixture.n_parameters == (k - 1) + k * d + distinct
