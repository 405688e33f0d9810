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
    principal_angles,
)

FAST = settings(max_examples=30, deadline=None)
DIGITS = load_digits().data / 16


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
    assert np.allclose(principal_angles(A, 2 * A[:2] - A[2:3]), 0, atol=1e-6)


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


test_bad_input_names_the_argument = names_the_argument({
    "X": (lambda v: pca(v), [np.array([[1.0, np.nan], [0, 1]]), np.ones(3), [[1.0, 2.0]],
                             "text"]),
    "n_components": (lambda v: pca(DIGITS[:5], v), [0, 6, 2.5, True]),
    "method": (lambda v: pca(DIGITS[:5], 2, v), ["qr", 1]),
    "fit": (lambda v: pca_transform(v, DIGITS), [None, (1, 2)]),
    "Z": (lambda v: pca_reconstruct(pca(DIGITS[:20], 3), v), [np.ones((2, 4)),
                                                               np.array([[np.inf]])]),
    "A": (lambda v: principal_angles(v, np.ones((1, 3))), [np.ones((1, 4)), np.ones(3)]),
})


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
