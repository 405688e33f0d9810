import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from course_utils import backend, widgets
from course_utils.stats import cov_mse, gaussian_samples, mean_cov, mle_mean_cov, sample_cov

AR1 = np.array([[1.0, 0.6, 0.36], [0.6, 1.0, 0.6], [0.36, 0.6, 1.0]])


def samples(n, d):
    return arrays(np.float64, (n, d), elements=st.floats(-1e3, 1e3))


@given(st.integers(2, 8).flatmap(lambda n: samples(n, 3)))
def test_matches_numpy_cov(X):
    mean, cov = mle_mean_cov(X)
    np.testing.assert_allclose(mean, X.mean(axis=0), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(cov, np.cov(X, rowvar=False, bias=True), rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(sample_cov(X), np.cov(X, rowvar=False), rtol=1e-9, atol=1e-6)
    for ddof in (0, 1, -1, len(X) - 1):  # the last one divides by 1
        np.testing.assert_allclose(sample_cov(X, ddof), np.cov(X, rowvar=False, ddof=ddof),
                                   rtol=1e-9, atol=1e-6)


def test_a_hand_example():
    X = [[1, 2], [3, 6], [5, 4]]  # means 3 and 4; deviations (-2, -2), (0, 2), (2, 0)
    mean, cov = mle_mean_cov(X)
    np.testing.assert_allclose(mean, [3, 4])
    np.testing.assert_allclose(cov, np.array([[8, 4], [4, 8]]) / 3)
    np.testing.assert_allclose(sample_cov(X), [[4, 2], [2, 4]])
    np.testing.assert_allclose(sample_cov(X, ddof=-1), [[2, 1], [1, 2]])


def test_batched_equals_one_at_a_time():
    X = np.random.default_rng(0).normal(size=(7, 5, 3))
    mean, cov = mle_mean_cov(X)
    assert mean.shape == (7, 3) and cov.shape == (7, 3, 3)
    for b in range(7):
        np.testing.assert_allclose(mean[b], X[b].mean(axis=0), rtol=1e-13)
        np.testing.assert_allclose(cov[b], np.cov(X[b], rowvar=False, bias=True), rtol=1e-12)
        np.testing.assert_allclose(sample_cov(X, ddof=1)[b], np.cov(X[b], rowvar=False),
                                   rtol=1e-12)


def test_one_feature_and_float32():
    x = np.arange(6.0, dtype=np.float32)[:, None]
    assert sample_cov(x).dtype == np.float32
    assert sample_cov(x).shape == (1, 1)
    assert sample_cov(x)[0, 0] == pytest.approx(np.var(np.arange(6.0), ddof=1), rel=1e-6)


@pytest.mark.parametrize("X, ddof, error, message", [
    ([[1.0, 2.0]], 1, ValueError, r"ddof must be in \(-inf, 1\), got 1: .* X has N = 1 samp"),
    (np.ones((3, 2)), 3, ValueError, "ddof must be in .*, got 3: the divisor N - ddof must"),
    (np.ones((3, 2)), np.nan, ValueError, "ddof must be finite, got nan"),  # issue 12
    (np.ones((3, 2)), -np.inf, ValueError, "ddof must be finite, got -inf"),
    (np.ones((3, 2)), np.array(1), TypeError, "ddof must be a real number, got ndarray"),
    ([1.0, 2.0, 3.0], 1, ValueError, "X must be 2-D or 3-D, got a 1-D array"),
    (np.ones((2, 2, 2, 2)), 1, ValueError, "X must be 2-D or 3-D, got a 4-D"),
    ([[1.0, np.nan], [1.0, 2.0]], 1, ValueError, "X contains NaN"),
    ([["a", "b"]], 1, TypeError, "X must be numeric"),
    (np.ones((3, 2)), "1", TypeError, "ddof must be a real number, got str"),
    (np.ones((3, 2)), True, TypeError, "ddof must be a real number, got bool"),
])
def test_bad_input_names_the_argument(X, ddof, error, message):
    with pytest.raises(error, match=message):
        sample_cov(X, ddof)


def test_mle_needs_one_sample():
    with pytest.raises(ValueError, match="X is empty"):
        mle_mean_cov(np.ones((0, 3)))
    mean, cov = mle_mean_cov([[1.0, 2.0]])  # one sample: the MLE is defined, covariance 0
    np.testing.assert_array_equal(cov, np.zeros((2, 2)))


def test_gaussian_samples_shape_seed_and_covariance():
    X = gaussian_samples(AR1, 40, 5000, seed=3)
    assert X.shape == (5000, 40, 3) and X.dtype == np.float64
    np.testing.assert_array_equal(X, gaussian_samples(AR1, 40, 5000, seed=3))
    # 200 000 draws: the standard error of each covariance entry is below 0.004.
    np.testing.assert_allclose(np.cov(X.reshape(-1, 3), rowvar=False), AR1, atol=0.015)
    assert gaussian_samples(AR1.astype(np.float32), 2, 3).dtype == np.float32


@pytest.mark.parametrize("cov, n, trials, error, message", [
    ([[1.0, 2.0], [2.0, 1.0]], 3, 4, ValueError, "positive definite"),
    ([[1.0, 0.5], [0.0, 1.0]], 3, 4, ValueError, "symmetric square"),
    ([[1.0, 0.0, 0.0]], 3, 4, ValueError, "symmetric square"),
    (np.eye(2), 0, 4, ValueError, "n_samples must be at least 1, got 0"),
    (np.eye(2), 3, -1, ValueError, "n_trials must be at least 1"),
    (np.eye(2), 3.0, 4, TypeError, "n_samples must be an int"),
    ([[1.0, 1e-5], [0.0, 1.0]], 3, 4, ValueError, "symmetric square"),
    ([[1.0]], 3, [4], TypeError, "n_trials must be an int"),
    ([["a"]], 3, 4, TypeError, "cov must be numeric"),
])
def test_gaussian_samples_validates(cov, n, trials, error, message):
    with pytest.raises(error, match=message):
        gaussian_samples(cov, n, trials)


@pytest.mark.parametrize("seed, error, message", [
    (-1, ValueError, "seed must be a non-negative int, got -1"),
    (1.5, TypeError, "seed must be a non-negative int, None or a numpy Generator, got float"),
    (True, TypeError, "seed must be .* got bool"),
    ("0", TypeError, "seed must be .* got str"),
])
def test_gaussian_samples_checks_its_seed(seed, error, message):
    with pytest.raises(error, match=message):
        gaussian_samples(AR1, 3, 4, seed=seed)


def test_gaussian_samples_seed_convention():
    """seed=0 by default (reproducible), a Generator continues its stream, None is fresh."""
    np.testing.assert_array_equal(gaussian_samples(AR1, 3, 4), gaussian_samples(AR1, 3, 4, 0))
    rng = np.random.default_rng(7)
    first, second = gaussian_samples(AR1, 3, 4, rng), gaussian_samples(AR1, 3, 4, rng)
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(first, gaussian_samples(AR1, 3, 4, np.random.default_rng(7)))
    assert not np.array_equal(gaussian_samples(AR1, 3, 4, None), gaussian_samples(AR1, 3, 4, None))


def test_huge_data_is_rescaled_or_refused_never_inf():
    """Sums and squares that overflow: the data are scaled by their largest entry first; a
    covariance too large for the dtype is a ValueError naming X, never inf or NaN."""
    X = np.array([[1.5e308, 1.0], [1.5e308, 3.0], [1.5e308, 5.0]])  # the mean's sum overflows
    mean, cov = mle_mean_cov(X)
    np.testing.assert_allclose(mean, [1.5e308, 3.0])
    np.testing.assert_allclose(cov, [[0, 0], [0, 8 / 3]], atol=1e-300)
    big = np.array([[1e160, 0.0], [-1e160, 0.0]])  # squares overflow, the variance does not fit
    with pytest.raises(ValueError, match="the covariance of X overflows float64"):
        sample_cov(big)
    with pytest.raises(ValueError, match="covariance of X overflows float32"):
        sample_cov(np.float32([[3e38], [-3e38]]))
    np.testing.assert_allclose(sample_cov(big * 1e-10), [[2e300, 0], [0, 0]])


def test_mean_cov_is_what_the_other_two_call():
    X = np.random.default_rng(1).normal(size=(9, 3))
    mean, cov = mean_cov(X, ddof=2.5)
    np.testing.assert_allclose(cov, np.cov(X, rowvar=False, ddof=0) * 9 / 6.5, rtol=1e-12)
    np.testing.assert_array_equal(sample_cov(X, 2.5), cov)
    np.testing.assert_array_equal(mle_mean_cov(X)[1], mean_cov(X, 0)[1])
    np.testing.assert_array_equal(mean_cov(X)[1], sample_cov(X))


def test_cov_mse_one_dimension_closed_form():
    # Var of S = σ² χ²_{N-1} / c is 2(N-1)σ⁴/c², bias is ((N-1)/c - 1)σ².
    n, sigma2 = 10, 2.0
    for ddof in (1, 0, -1):
        c = n - ddof
        expected = 2 * (n - 1) * sigma2**2 / c**2 + ((n - 1) / c - 1) ** 2 * sigma2**2
        assert cov_mse([[sigma2]], n, ddof) == pytest.approx(expected, rel=1e-14)
    assert cov_mse([[1.0]], n, 1) == pytest.approx(2 / (n - 1))  # the unbiased: variance only
    mse = cov_mse([[1.0]], np.arange(2, 60), np.array([[1], [0], [-1]]))
    assert mse.shape == (3, 58)
    assert np.all(mse[2] < mse[1]) and np.all(mse[1] < mse[0])  # N+1 < N < N-1


def test_cov_mse_matches_simulation():
    n, trials = 6, 100_000
    S = sample_cov(gaussian_samples(AR1, n, trials, seed=5), ddof=0)
    for ddof in (1, 0, -1):
        err = ((S * n / (n - ddof) - AR1) ** 2).sum(axis=(1, 2))
        se = err.std() / np.sqrt(trials)
        assert abs(err.mean() - cov_mse(AR1, n, ddof)) < 4 * se


@pytest.mark.parametrize("cov, n, ddof, error, message", [
    (AR1, 1, 0, ValueError, "n_samples must be whole numbers of at least 2"),
    (AR1, 3, 3, ValueError, "ddof must be below n_samples"),
    (AR1, 5, 6, ValueError, "ddof must be below n_samples"),
    (AR1, 2.5, 0, ValueError, "n_samples must be whole numbers"),
    (AR1, np.inf, 0, ValueError, "n_samples contains NaN or infinity"),  # was a NaN
    (AR1, 3, np.nan, ValueError, "ddof contains NaN"),
    (AR1, 3, -np.inf, ValueError, "ddof contains NaN or infinity"),  # was a wrong 1.0
    (AR1, "3", 0, TypeError, "n_samples must be numeric"),  # was accepted
    (AR1, True, 0, TypeError, "n_samples must be a number or an array of numbers, got a bool"),
    (AR1, 3, None, TypeError, "ddof must be numeric"),
    (AR1, [], 0, ValueError, "n_samples is empty"),
    (np.ones((2, 3)), 3, 0, ValueError, "cov must be a symmetric square"),  # was a raw error
    ([[1.0, 2.0], [0.0, 1.0]], 3, 0, ValueError, "cov must be a symmetric square"),
    ([[1.0, 2.0], [2.0, 1.0]], 3, 0, ValueError, "cov must be positive semi-definite"),
    ([[1e200]], 3, 0, ValueError, "overflows float64"),  # was inf
])
def test_cov_mse_validates(cov, n, ddof, error, message):
    with pytest.raises(error, match=message):
        cov_mse(cov, n, ddof)


def test_cov_mse_is_stable_at_extreme_sizes():
    """Squares of huge n or ddof no longer overflow: the limits are 0 and ‖Σ‖²."""
    assert cov_mse([[1.0]], 1e300, 0) == pytest.approx(2e-300)
    assert cov_mse([[1.0]], 3, -1e300) == pytest.approx(1.0)
    assert cov_mse([[1e155]], 10**12, 1) == pytest.approx(2 / (10**12 - 1) * 1e155 * 1e155)


@pytest.mark.gpu
def test_gpu_matches_cpu():
    import cupy

    X = np.random.default_rng(2).normal(size=(50, 9, 4))
    Xg = cupy.asarray(X)
    mean, cov = mle_mean_cov(Xg)
    assert isinstance(cov, cupy.ndarray)
    np.testing.assert_allclose(backend.to_numpy(mean), X.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(backend.to_numpy(cov), mle_mean_cov(X)[1], rtol=1e-12)
    np.testing.assert_allclose(backend.to_numpy(sample_cov(Xg, 1)), sample_cov(X, 1),
                               rtol=1e-12)
    Y = gaussian_samples(cupy.asarray(AR1), 30, 20_000, seed=1)
    assert isinstance(Y, cupy.ndarray) and Y.shape == (20_000, 30, 3)
    np.testing.assert_allclose(backend.to_numpy(sample_cov(Y.reshape(-1, 3))), AR1, atol=0.02)
    with pytest.raises(ValueError, match="positive definite"):
        gaussian_samples(cupy.asarray([[1.0, 2.0], [2.0, 1.0]]), 3, 4)


@pytest.mark.gpu
def test_every_function_on_gpu_arrays():
    """The estimators and the sampler follow their data to the GPU and agree with NumPy."""
    import cupy

    X = np.random.default_rng(3).normal(size=(6, 11, 3))
    for data in (X, X[0]):  # a batch and one data set
        mean, cov = mle_mean_cov(cupy.asarray(data))
        assert isinstance(mean, cupy.ndarray) and isinstance(cov, cupy.ndarray)
        np.testing.assert_allclose(mean.get(), mle_mean_cov(data)[0], rtol=1e-12)
        np.testing.assert_allclose(cov.get(), mle_mean_cov(data)[1], rtol=1e-12)
        mean, cov = mean_cov(cupy.asarray(data), 2)
        assert isinstance(mean, cupy.ndarray) and isinstance(cov, cupy.ndarray)
        np.testing.assert_allclose(cov.get(), mean_cov(data, 2)[1], rtol=1e-12)
        huge = data.copy()
        huge[..., 0] = 1.5e308  # the mean's sum overflows: the rescaled path, on the device
        mean, cov = mean_cov(cupy.asarray(huge), 1)
        assert isinstance(cov, cupy.ndarray)
        np.testing.assert_allclose(cov.get(), mean_cov(huge, 1)[1], rtol=1e-12)
        np.testing.assert_allclose(cov.get()[..., 1:, 1:], sample_cov(data[..., 1:]),
                                   rtol=1e-12)
        for ddof in (-1, 0, 1, 2.5):
            got = sample_cov(cupy.asarray(data), ddof)
            assert isinstance(got, cupy.ndarray)
            np.testing.assert_allclose(got.get(), sample_cov(data, ddof), rtol=1e-12)
    f32 = sample_cov(cupy.asarray(X.astype(np.float32)))
    assert isinstance(f32, cupy.ndarray) and f32.dtype == np.float32


@pytest.mark.gpu
def test_gaussian_samples_draws_on_the_device_of_cov():
    """Another stream than NumPy's (so other numbers), the same distribution, cov's dtype."""
    import cupy

    Y = gaussian_samples(cupy.asarray(AR1), 40, 5000, seed=3)
    assert isinstance(Y, cupy.ndarray) and Y.shape == (5000, 40, 3) and Y.dtype == np.float64
    host = gaussian_samples(AR1, 40, 5000, seed=3)
    assert not np.array_equal(Y.get(), host)  # CuPy's generator is not NumPy's
    np.testing.assert_array_equal(Y.get(), gaussian_samples(cupy.asarray(AR1), 40, 5000,
                                                            seed=3).get())  # but it is seeded
    # 200 000 draws on each device: each covariance entry within 0.015 (4 standard errors)
    np.testing.assert_allclose(sample_cov(Y.reshape(-1, 3)).get(), AR1, atol=0.015)
    np.testing.assert_allclose(sample_cov(Y.reshape(-1, 3)).get(),
                               sample_cov(host.reshape(-1, 3)), atol=0.02)
    assert gaussian_samples(cupy.asarray(AR1, dtype=np.float32), 2, 3).dtype == np.float32
    # the lesson's way to the same numbers on both devices: draw on the host, then move
    backend.use("gpu")
    moved = backend.asarray(gaussian_samples(AR1, 4, 5, seed=1))
    assert isinstance(moved, cupy.ndarray)
    np.testing.assert_array_equal(moved.get(), gaussian_samples(AR1, 4, 5, seed=1))
    for bad, message in [([[1.0, 2.0], [2.0, 1.0]], "positive definite"),
                         ([[1.0, 0.5], [0.0, 1.0]], "symmetric square")]:
        with pytest.raises(ValueError, match=message):
            gaussian_samples(cupy.asarray(bad), 3, 4)
    # the seed convention on the device: a Generator or None gives a key for CuPy's generator
    for seed in (np.random.default_rng(0), None):
        assert isinstance(gaussian_samples(cupy.asarray(AR1), 2, 3, seed=seed), cupy.ndarray)
    with pytest.raises(ValueError, match="seed must be a non-negative int, got -1"):
        gaussian_samples(cupy.asarray(AR1), 2, 3, seed=-1)


@pytest.mark.gpu
def test_cov_mse_runs_on_the_cpu_whatever_the_device():
    """A closed form of a few numbers: any device in, NumPy out, the same numbers."""
    import cupy

    sizes, ddofs = np.arange(2, 30), np.array([[1], [0], [-1]])
    expected = cov_mse(AR1, sizes, ddofs)
    backend.use("gpu")
    for args in [(cupy.asarray(AR1), sizes, ddofs),
                 (cupy.asarray(AR1), cupy.asarray(sizes), cupy.asarray(ddofs)),
                 (AR1.tolist(), sizes.tolist(), ddofs.tolist())]:
        got = cov_mse(*args)
        assert isinstance(got, np.ndarray) and got.shape == (3, 28)
        np.testing.assert_array_equal(got, expected)
    assert isinstance(cov_mse(cupy.asarray(AR1), 5, 1), np.floating)
    with pytest.raises(ValueError, match="ddof must be below n_samples"):
        cov_mse(cupy.asarray(AR1), cupy.asarray(3), 3)


@pytest.mark.gpu
def test_a_mix_of_devices_in_the_lesson_s_arithmetic_fails():
    """stats has no function of two arrays, so nothing there can mix devices; the mix a lesson
    can make is its own arithmetic on a result, and that fails loudly (CuPy's TypeError)."""
    import cupy

    estimate = sample_cov(cupy.asarray(np.random.default_rng(0).normal(size=(20, 3))))
    with pytest.raises(TypeError) as mixed:
        estimate - AR1  # noqa: B018 - the GPU estimate against the NumPy truth
    assert "re-run the lesson after switching" in widgets.explain_mixed_devices(mixed.value)


# Property tests: every public function, on finite input of any scale, and on bad input.

FINITE = st.floats(-1e100, 1e100, allow_nan=False, allow_infinity=False)


def _assert_covariance(cov):
    """Finite, symmetric, positive semi-definite (up to rounding)."""
    assert np.all(np.isfinite(cov))
    np.testing.assert_array_equal(cov, np.swapaxes(cov, -1, -2))
    scale = max(np.abs(cov).max(), 1e-300)
    assert np.linalg.eigvalsh(cov / scale).min() >= -1e-9


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6).flatmap(lambda n: st.tuples(
    arrays(np.float64, st.tuples(st.just(n), st.integers(1, 3)), elements=FINITE),
    st.floats(-5, n - 0.01))), st.sampled_from([0.0, 1e4, -1e9]))
def test_estimators_give_a_finite_symmetric_psd_covariance(X_ddof, offset):
    X, ddof = X_ddof
    mean, cov = mean_cov(X + offset, ddof)
    assert np.all(np.isfinite(mean)) and mean.shape == X.shape[1:]
    _assert_covariance(cov)
    np.testing.assert_array_equal(sample_cov(X + offset, ddof), cov)
    _assert_covariance(mle_mean_cov(X + offset)[1])
    assert np.all(np.diag(cov) >= 0)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float32, st.tuples(st.integers(2, 6), st.integers(1, 3)),
              elements=st.floats(-10, 10, width=32)))
def test_float32_with_an_offset_of_1e4_keeps_its_covariance(X):
    """Centring first: an offset of 1e4 in float32 moves the estimate by rounding only."""
    shifted = sample_cov(X + np.float32(1e4))
    assert shifted.dtype == np.float32
    np.testing.assert_allclose(shifted, np.cov(X.astype(np.float64) + 1e4, rowvar=False),
                               atol=5e-3 * max(1.0, np.abs(X).max()))


BAD_DDOF = st.one_of(st.sampled_from([np.nan, np.inf, -np.inf]),
                     st.sampled_from([None, "1", True, 1j, [1], np.array(1)]),
                     st.floats(4, 1e300))  # X below has N = 4


@settings(max_examples=40, deadline=None)
@given(BAD_DDOF)
def test_bad_ddof_names_ddof(ddof):
    for fn in (sample_cov, mean_cov):
        with pytest.raises((ValueError, TypeError), match="ddof"):
            fn(np.ones((4, 2)), ddof)


BAD_X = st.sampled_from([[1.0, 2.0], np.ones((1, 1, 1, 1)), np.ones((0, 2)), [[np.nan, 1.0]],
                         [[np.inf, 1.0]], [["a", "b"]], None, 3.0, [[1 + 1j, 0]]])


@settings(max_examples=20, deadline=None)
@given(BAD_X)
def test_bad_X_names_X(X):
    for call in (mle_mean_cov, sample_cov, mean_cov):
        with pytest.raises((ValueError, TypeError), match="X"):
            call(X)


@st.composite
def covariances(draw):
    d = draw(st.integers(1, 3))
    A = draw(arrays(np.float64, (d, d), elements=st.floats(-3, 3)))
    scale = draw(st.sampled_from([1e-100, 1.0, 1e100]))
    return (A @ A.T + np.eye(d)) * scale


@settings(max_examples=40, deadline=None)
@given(covariances(), st.integers(1, 5), st.integers(1, 5), st.integers(0, 2**32))
def test_gaussian_samples_are_finite_and_reproducible(cov, n, trials, seed):
    X = gaussian_samples(cov, n, trials, seed=seed)
    assert X.shape == (trials, n, len(cov)) and np.all(np.isfinite(X))
    np.testing.assert_array_equal(X, gaussian_samples(cov, n, trials, seed=seed))


@settings(max_examples=40, deadline=None)
@given(st.one_of(st.integers(-10, -1), st.floats(allow_nan=True), st.booleans(),
                 st.text(max_size=2), st.just([1])))
def test_gaussian_samples_bad_seed_names_seed(seed):
    with pytest.raises((ValueError, TypeError), match="seed"):
        gaussian_samples(AR1, 2, 2, seed=seed)


@settings(max_examples=20, deadline=None)
@given(st.sampled_from(["n_samples", "n_trials"]),
       st.sampled_from([0, -3, 2.0, None, True, "2"]))
def test_gaussian_samples_bad_sizes_name_the_argument(name, value):
    sizes = {"n_samples": 2, "n_trials": 2, name: value}
    with pytest.raises((ValueError, TypeError), match=name):
        gaussian_samples(AR1, **sizes)


@settings(max_examples=60, deadline=None)
@given(covariances(), st.integers(2, 10**6), st.floats(-1e6, 1.99))
def test_cov_mse_is_finite_non_negative_and_falls_with_n_for_the_unbiased(cov, n, ddof):
    mse = cov_mse(cov, n, ddof)
    assert np.isfinite(mse) and mse >= 0
    assert cov_mse(cov, n + 1, 1) <= cov_mse(cov, n, 1)  # variance only: falls as 1 / (N - 1)


@settings(max_examples=40, deadline=None)
@given(st.one_of(
    st.tuples(st.just("n_samples"), st.sampled_from([1, 0, -5, 2.5, np.nan, np.inf, "3", True,
                                                      None, []])),
    st.tuples(st.just("ddof"), st.sampled_from([3, 10, np.nan, -np.inf, None, "0", [[0, 9]]]))))
def test_cov_mse_bad_input_names_the_argument(bad):
    name, value = bad
    args = {"n_samples": 3, "ddof": 1, name: value}
    with pytest.raises((ValueError, TypeError), match=name):
        cov_mse(AR1, **args)
