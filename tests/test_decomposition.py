import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from properties import names_the_argument, point_sets
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA

from course_utils import backend
from course_utils.decomposition import (
    METHODS,
    PCAResult,
    pca,
    pca_reconstruct,
    pca_transform,
    power_of_two_scale,
    principal_angles,
)

FAST = settings(max_examples=30, deadline=None)
DIGITS = load_digits().data / 16
FIT = pca(DIGITS[:100], 3)


@pytest.mark.parametrize("method", METHODS)
def test_pca_equals_scikit_learn_on_the_digits(method):
    fit = pca(DIGITS, 10, method)
    ref = PCA(10).fit(DIGITS)
    np.testing.assert_allclose(fit.components, ref.components_, atol=1e-10)  # signs too
    np.testing.assert_allclose(fit.explained_variance, ref.explained_variance_, rtol=1e-10)
    np.testing.assert_allclose(fit.explained_variance_ratio, ref.explained_variance_ratio_,
                               rtol=1e-10)
    Z = pca_transform(fit, DIGITS)
    np.testing.assert_allclose(Z, ref.transform(DIGITS), atol=1e-10)
    np.testing.assert_allclose(pca_reconstruct(fit, Z), ref.inverse_transform(Z), atol=1e-10)


def test_all_components_reconstruct_exactly_and_fewer_leave_the_discarded_variance():
    fit = pca(DIGITS)
    np.testing.assert_allclose(pca_reconstruct(fit, pca_transform(fit, DIGITS)), DIGITS,
                               atol=1e-10)
    assert abs(float(fit.explained_variance_ratio.sum()) - 1) < 1e-12
    k = 5
    Z = pca_transform(fit, DIGITS)[:, :k]
    error = ((DIGITS - pca_reconstruct(fit, Z)) ** 2).sum() / (len(DIGITS) - 1)
    assert abs(error - float(fit.explained_variance[k:].sum())) < 1e-9


def test_principal_angles_against_scipy():
    from scipy.linalg import subspace_angles
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(3, 8)), rng.normal(size=(2, 8))
    np.testing.assert_allclose(np.sort(principal_angles(A, B)),
                               np.sort(subspace_angles(A.T, B.T)), atol=1e-10)
    assert np.allclose(principal_angles(A, 2 * A[:2] - A[2:3]), 0, atol=1e-14)


@FAST
@given(point_sets(min_n=3, max_n=10, max_d=4, spread=10), st.sampled_from(METHODS))
def test_pca_is_orthonormal_sorted_and_both_methods_agree(X, method):
    X = X - X.mean(axis=0) + np.round(X.mean(axis=0))  # keep the shift, exactly
    fit = pca(X, method=method)
    assert isinstance(fit, PCAResult)
    k = len(fit.components)
    np.testing.assert_allclose(fit.components @ fit.components.T, np.eye(k), atol=1e-8)
    assert np.all(np.diff(fit.explained_variance) <= 1e-9 * (1 + fit.explained_variance[0]))
    other = pca(X, method="svd" if method == "eig" else "eig")
    np.testing.assert_allclose(fit.explained_variance, other.explained_variance,
                               atol=1e-7 * (1 + float(fit.explained_variance.max())))
    Z = pca_transform(fit, X)
    assert np.all(np.isfinite(pca_reconstruct(fit, Z)))
    angles = principal_angles(fit.components, fit.components)
    assert np.all((angles >= 0) & (angles <= 1e-5))


def test_tiny_and_huge_data_give_the_components_of_the_data_scaled():
    """Issue 27: X * 1e-200 gave a wrong first component by "eig" (the covariance underflowed)
    and X * 1e300 inf variances and NaN ratios by "svd". PCA is computed on X divided by a
    power of two, so only the variances carry the scale."""
    X = DIGITS[:300]
    for method in METHODS:
        ref = pca(X, 10, method)
        for scale in (1e-200, 1e-150, 1e150):
            fit = pca(X * scale, 10, method)
            np.testing.assert_allclose(fit.components, ref.components, atol=1e-9)
            np.testing.assert_allclose(fit.explained_variance_ratio,
                                       ref.explained_variance_ratio, rtol=1e-9)
            if scale > 1e-154:  # below, the variances (1e-300 times theirs) underflow to 0
                np.testing.assert_allclose(fit.explained_variance,
                                           ref.explained_variance * scale**2, rtol=1e-9)
        exact = pca(X * 2.0**-500, 10, method)  # a power of two: the same bits, scaled
        np.testing.assert_array_equal(exact.components, ref.components)
        np.testing.assert_array_equal(exact.explained_variance,
                                      ref.explained_variance * 2.0**-1000)
        with pytest.raises(ValueError, match="variance of X overflows"):
            pca(X * 1e300, 10, method)


def test_an_offset_of_1e12_leaves_the_variances_of_the_data():
    """svd centred data offset by 1e12 with a mean rounded to 1e-4: variances 3e-9 off."""
    X = DIGITS[:100]
    for method in METHODS:
        shifted, ref = pca(X + 1e12, 8, method), pca(X, 8, method)
        np.testing.assert_allclose(shifted.explained_variance, ref.explained_variance,
                                   rtol=1e-12)
        np.testing.assert_allclose(shifted.components, ref.components, atol=1e-12)


def test_principal_angles_resolve_tiny_angles_as_scipy_does():
    """Issue 27: arccos of the cosines gave 0 for an angle of 1e-8, and 2e-8 for 0."""
    from scipy.linalg import subspace_angles
    assert abs(float(principal_angles([[1, 1e-8, 0]], [[1, 0, 0]])[0]) - 1e-8) < 1e-20
    assert float(principal_angles([[1, 0, 0], [0, 1, 0]], [[1, 1, 0]])[0]) == 0
    rng = np.random.default_rng(1)
    A = rng.normal(size=(3, 7))
    for eps in (1e-12, 1e-6, 1e-2, 1.0):
        B = A + eps * rng.normal(size=A.shape)
        np.testing.assert_allclose(principal_angles(A, B), np.sort(subspace_angles(A.T, B.T)),
                                   rtol=1e-6, atol=1e-15)  # both: sines to 1e-16
    assert np.allclose(principal_angles([[1e300, 1e292, 0]], [[1e-300, 0, 0]]), 1e-8,
                       rtol=1e-9)


def test_rows_that_depend_on_others_add_nothing_to_the_span():
    """A rank-deficient A gave 0 (QR made up a direction); scipy: the span's dimension."""
    angles = principal_angles([[1, 0, 0], [2, 0, 0]], [[0, 1, 0]])
    np.testing.assert_allclose(angles, [np.pi / 2])
    with pytest.raises(ValueError, match="A spans only the zero vector"):
        principal_angles([[0, 0, 0]], [[1, 0, 0]])


def test_a_fit_of_lists_works_and_an_overflow_is_an_error():
    fit = pca(DIGITS[:50], 3)
    as_lists = dataclasses.replace(fit, mean=fit.mean.tolist(),
                                   components=fit.components.tolist())
    np.testing.assert_array_equal(pca_transform(as_lists, DIGITS[:5]),
                                  pca_transform(fit, DIGITS[:5]))
    with pytest.raises(ValueError, match="X is too large"):
        pca_transform(fit, 1e308 * np.sign(fit.components[:1]))  # Σ|c| > 1: past 1.8e308
    with pytest.raises(ValueError, match="Z is too large"):
        pca_reconstruct(dataclasses.replace(fit, mean=np.full(64, 1.5e308)), 1e308 * np.sign(
            fit.components[:, 2:3].T))  # a mean near the largest float, plus 1e308 Σ|c|


@settings(max_examples=40, deadline=None)
@given(point_sets(min_n=3, max_n=9, max_d=4, spread=10), st.integers(-900, 900),
       st.sampled_from(METHODS))
def test_pca_of_data_scaled_by_a_power_of_two_is_the_pca_scaled(X, exponent, method):
    X = X - X.mean(axis=0)
    base = pca(X, method=method)
    fit = pca(np.ldexp(X, exponent), method=method)
    np.testing.assert_array_equal(fit.components, base.components)
    np.testing.assert_array_equal(fit.explained_variance_ratio, base.explained_variance_ratio)
    with np.errstate(under="ignore"):  # variances below 1e-308 round to 0, as the data's do
        np.testing.assert_allclose(fit.explained_variance,
                                   np.ldexp(base.explained_variance, 2 * exponent), rtol=1e-15)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 3), st.integers(1, 3), st.integers(3, 6), st.integers(0, 2**32 - 1),
       st.sampled_from([0.0, 1e-12, 1e-6, 1.0]), st.sampled_from([1e-200, 1.0, 1e200]))
def test_principal_angles_equal_scipys_at_any_size_and_scale(k, j, d, seed, eps, scale):
    from scipy.linalg import subspace_angles
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(k, d))
    B = np.vstack([A[:j] + eps * rng.normal(size=(min(j, k), d)),
                   rng.normal(size=(j - min(j, k), d))])
    angles = principal_angles(A * scale, B)
    assert np.all((angles >= 0) & (angles <= np.pi / 2)) and np.all(np.diff(angles) >= 0)
    np.testing.assert_allclose(angles, np.sort(subspace_angles(A.T, B.T)), rtol=1e-6,
                               atol=1e-15)


test_bad_input_names_the_argument = names_the_argument({
    "X": (lambda v: pca(v), [np.array([[1.0, np.nan], [0, 1]]), np.ones(3), [[1.0, 2.0]],
                             "text"]),
    "n_components": (lambda v: pca(DIGITS[:5], v), [0, 6, 2.5, True]),
    "method": (lambda v: pca(DIGITS[:5], 2, v), ["qr", 1]),
    "fit": (lambda v: pca_transform(v, DIGITS), [None, (1, 2)]),
    "Z": (lambda v: pca_reconstruct(pca(DIGITS[:20], 3), v), [np.ones((2, 4)),
                                                               np.array([[np.inf]])]),
    "A": (lambda v: principal_angles(v, np.ones((1, 3))), [np.ones((1, 4)), np.ones(3),
                                                           np.zeros((2, 3))]),
    "B": (lambda v: principal_angles(np.ones((1, 3)), v), [np.zeros((1, 3)), [[np.nan] * 3]]),
    "PCAResult.components": (lambda v: dataclasses.replace(FIT, components=v),
                             [np.ones(64), [[np.inf] * 64], np.ones((2, 5))]),
    "PCAResult.mean": (lambda v: dataclasses.replace(FIT, mean=v), [np.ones((1, 64)), "mean"]),
    "X ": (lambda v: power_of_two_scale(v), [np.array([np.nan]), "text", np.ones((2, 0))]),
})


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1e300, 1e300, allow_nan=False), min_size=1, max_size=8),
       st.sampled_from([np.float64, np.float32]))
def test_power_of_two_scale_brings_the_largest_entry_into_1_2_exactly(values, dtype):
    X = np.array(values, dtype=np.float64)
    X = X[np.abs(X) < np.finfo(dtype).max].astype(dtype)
    if X.size == 0:
        return
    U, e = power_of_two_scale(X)
    assert U.dtype == X.dtype and U.shape == X.shape and isinstance(e, int)
    normal = np.abs(U) >= np.finfo(dtype).tiny  # exact where U did not fall subnormal
    np.testing.assert_array_equal(np.ldexp(U, e)[normal], X[normal])
    peak = float(np.abs(U).max())
    assert 1 <= peak < 2 or (peak == 0 and e == 0)


def test_a_pca_result_is_frozen_and_checks_its_fields():
    """Issue 28: PCAResult is a frozen dataclass; made by hand, its fields are checked."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        FIT.mean = np.zeros(64)
    with pytest.raises(ValueError, match="PCAResult.components has 5 features, PCAResult.mean 64"):
        dataclasses.replace(FIT, components=np.ones((2, 5)))
    with pytest.raises(TypeError, match="fit must be a PCAResult"):
        pca_transform((FIT.mean, FIT.components), DIGITS)


@pytest.mark.gpu
def test_pca_follows_its_data_onto_the_gpu():
    import cupy
    X = DIGITS[:200]
    for method in METHODS:
        gpu = pca(cupy.asarray(X), 5, method)
        cpu = pca(X, 5, method)
        assert isinstance(gpu.components, cupy.ndarray)
        np.testing.assert_allclose(backend.to_numpy(gpu.components), cpu.components, atol=1e-8)
        Z = pca_transform(gpu, cupy.asarray(X))
        np.testing.assert_allclose(backend.to_numpy(pca_reconstruct(gpu, Z)),
                                   pca_reconstruct(cpu, pca_transform(cpu, X)), atol=1e-8)
        angles = principal_angles(gpu.components, cupy.asarray(cpu.components))
        assert float(angles.max()) < 1e-6
