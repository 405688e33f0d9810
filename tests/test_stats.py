import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from course_utils import backend
from course_utils.stats import cov_mse, gaussian_samples, mle_mean_cov, sample_cov

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
    ([[1.0, 2.0]], 1, ValueError, r"N - ddof must be positive: X has N = 1 samples"),
    (np.ones((3, 2)), 3, ValueError, "ddof = 3"),
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
])
def test_gaussian_samples_validates(cov, n, trials, error, message):
    with pytest.raises(error, match=message):
        gaussian_samples(cov, n, trials)


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


@pytest.mark.parametrize("n, ddof", [(1, 0), (3, 3), (5, 6)])
def test_cov_mse_validates(n, ddof):
    with pytest.raises(ValueError, match="n_samples >= 2 and n_samples - ddof > 0"):
        cov_mse(AR1, n, ddof)


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
    with pytest.raises(ValueError, match="n_samples >= 2"):
        cov_mse(cupy.asarray(AR1), cupy.asarray(3), 3)


@pytest.mark.gpu
def test_a_mix_of_devices_in_the_lesson_s_arithmetic_fails():
    """stats has no function of two arrays, so nothing there can mix devices; the mix a lesson
    can make is its own arithmetic on a result, and that fails loudly (CuPy's TypeError)."""
    import cupy

    estimate = sample_cov(cupy.asarray(np.random.default_rng(0).normal(size=(20, 3))))
    with pytest.raises(TypeError) as mixed:
        estimate - AR1  # noqa: B018 - the GPU estimate against the NumPy truth
    assert "re-run the lesson after switching" in backend.explain_mixed_devices(mixed.value)
