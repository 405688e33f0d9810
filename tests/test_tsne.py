import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from properties import names_the_argument, point_sets
from scipy.spatial.distance import squareform
from sklearn.datasets import load_digits
from sklearn.manifold import TSNE, trustworthiness
from sklearn.manifold._t_sne import _joint_probabilities, _kl_divergence
from threadpoolctl import threadpool_limits

from course_utils import backend
from course_utils import tsne as tsne_module
from course_utils.nn import numerical_gradient
from course_utils.tsne import Affinities, TSNEResult, affinities, tsne, tsne_gradient

FAST = settings(max_examples=25, deadline=None)
DIGITS = load_digits().data / 16


def test_perplexities_reached_equal_the_targets_and_P_equals_scikit_learns():
    X = DIGITS[:300]
    for perplexity in (5.0, 30.0, 100.0):
        aff = affinities(X, perplexity)
        np.testing.assert_allclose(aff.perplexity, perplexity, rtol=1e-4)
        D = ((X[:, None] - X[None]) ** 2).sum(-1)
        ref = squareform(_joint_probabilities(D, perplexity, 0))
        np.testing.assert_allclose(aff.P, ref, atol=1e-7)  # scikit-learn floors P at 1e-12
        np.testing.assert_allclose(aff.P, aff.P.T)
        assert abs(float(aff.P.sum()) - 1) < 1e-12 and np.all(np.diag(aff.P) == 0)


def test_the_gradient_equals_central_differences_and_scikit_learns_exact_one():
    X = DIGITS[:40]
    P = affinities(X, 10.0).P
    Y = np.random.default_rng(1).normal(size=(40, 2))
    for alpha in (1.0, 4.0):
        kl, grad = tsne_gradient(P, Y, alpha)
        ref_kl, ref_grad = _kl_divergence(Y.ravel(), squareform(alpha * P), 1, 40, 2)
        assert alpha != 1 or abs(kl - ref_kl) < 1e-9  # KL(P ‖ Q) when not exaggerated
        np.testing.assert_allclose(grad.ravel(), ref_grad, atol=1e-12)
        Yc = Y.copy()
        numeric = numerical_gradient(lambda Yc=Yc, a=alpha: tsne_gradient(P, Yc, a)[0], Yc)
        np.testing.assert_allclose(grad, numeric, atol=1e-6)


def test_slabs_of_rows_give_the_same_gradient(monkeypatch):
    P = affinities(DIGITS[:50], 10.0).P
    Y = np.random.default_rng(2).normal(size=(50, 3))
    whole = tsne_gradient(P, Y)
    monkeypatch.setattr(tsne_module, "BLOCK", 7 * 50)
    sliced = tsne_gradient(P, Y)
    assert abs(whole[0] - sliced[0]) < 1e-12
    np.testing.assert_allclose(whole[1], sliced[1], atol=1e-14)


def test_slabs_on_threads_give_exactly_the_gradient_of_one_thread(monkeypatch):
    """The slabs' parts are added in slab order, whichever thread finished first."""
    P = affinities(DIGITS[:60], 10.0).P.astype(np.float32)
    Y = np.random.default_rng(3).normal(size=(60, 2)).astype(np.float32)
    monkeypatch.setattr(tsne_module, "BLOCK", 5 * 60)
    alone = tsne_module._gradient(P, Y, 4.0, True)
    with ThreadPoolExecutor(3) as pool:
        for _ in range(5):
            pooled = tsne_module._gradient(P, Y, 4.0, True, pool)
            assert pooled[0] == alone[0] and np.array_equal(pooled[1], alone[1])


def test_trustworthiness_within_0_01_of_scikit_learns_tsne():
    X = DIGITS[:200]
    ours = tsne(X, perplexity=20.0, max_iter=400)
    with threadpool_limits(1):  # its OpenMP threads stall when the machine is busy
        theirs = TSNE(perplexity=20.0, max_iter=400, init="pca",
                      random_state=0).fit_transform(X)
    t_ours = trustworthiness(X, ours.embedding, n_neighbors=10)
    t_theirs = trustworthiness(X, theirs, n_neighbors=10)
    assert t_ours > 0.98 and abs(t_ours - t_theirs) < 0.01
    kls = [kl for _, kl in ours.kl_history]
    assert kls[-1] <= kls[5] and abs(ours.kl - kls[-1]) < 1e-3  # descends after exaggeration


@settings(max_examples=12, deadline=None)
@given(point_sets(min_n=6, max_n=14, max_d=3, spread=20), st.floats(1.5, 4.0),
       st.integers(1, 3), st.sampled_from(["pca", "random"]))
def test_affinities_and_embeddings_keep_their_invariants(X, perplexity, dim, init):
    aff = affinities(X, perplexity)
    assert isinstance(aff, Affinities)
    assert np.all(np.isfinite(aff.P)) and abs(float(aff.P.sum()) - 1) < 1e-9
    np.testing.assert_allclose(aff.conditional.sum(axis=1), 1, atol=1e-9)
    distinct = len(np.unique(X, axis=0)) == len(X)
    if distinct:
        np.testing.assert_allclose(aff.perplexity, perplexity, rtol=1e-3)
    dim = min(dim, X.shape[1]) if init == "pca" else dim
    result = tsne(X, dim, perplexity, max_iter=260, init=init)
    assert isinstance(result, TSNEResult)
    assert result.embedding.shape == (len(X), dim) and np.all(np.isfinite(result.embedding))
    kl, grad = tsne_gradient(aff.P, result.embedding, 2.0)
    assert math.isfinite(kl) and kl >= -1e-9 and np.all(np.isfinite(grad))


X20 = DIGITS[:20]
test_bad_input_names_the_argument = names_the_argument({
    "perplexity": (lambda v: affinities(X20, v), [19, 20, 25.0, 0.5, math.nan, "30"]),
    "perplexity ": (lambda v: tsne(X20, perplexity=v), [19.0, 100]),
    "X": (lambda v: affinities(v), [np.array([[1.0, np.nan]] * 5), np.ones(5), [[0.0]] * 2]),
    "X ": (lambda v: tsne(v, perplexity=2.0), [np.array([[np.inf, 1]] * 5), "digits"]),
    "tol": (lambda v: affinities(X20, 5.0, tol=v), [0.0, -1.0]),
    "max_iter": (lambda v: tsne(X20, perplexity=5.0, max_iter=v), [100, 250, 1.5]),
    "learning_rate": (lambda v: tsne(X20, perplexity=5.0, learning_rate=v), [0, "fast"]),
    "early_exaggeration": (lambda v: tsne(X20, perplexity=5.0, early_exaggeration=v), [0.5]),
    "init": (lambda v: tsne(X20, perplexity=5.0, init=v), ["spectral", np.ones((20, 3)),
                                                           np.ones((19, 2))]),
    "n_components": (lambda v: tsne(X20, v, perplexity=5.0), [0, 2.0, 100]),
    "P": (lambda v: tsne_gradient(v, np.ones((3, 2))), [-np.ones((3, 3)), np.ones((3, 2)),
                                                          np.triu(np.ones((3, 3)))]),
    "Y": (lambda v: tsne_gradient(np.ones((3, 3)), v), [np.ones((4, 2)), np.full((3, 2),
                                                                                   np.nan)]),
    "exaggeration": (lambda v: tsne_gradient(np.ones((3, 3)), np.ones((3, 2)), v), [0.0]),
}, also_accept=lambda name, message: name == "n_components" and "init" in message)


@pytest.mark.gpu
def test_tsne_follows_its_data_onto_the_gpu():
    import cupy
    X = DIGITS[:60]
    gpu_aff, cpu_aff = affinities(cupy.asarray(X), 10.0), affinities(X, 10.0)
    assert isinstance(gpu_aff.P, cupy.ndarray)
    np.testing.assert_allclose(backend.to_numpy(gpu_aff.P), cpu_aff.P, atol=1e-12)
    Y = np.random.default_rng(0).normal(size=(60, 2))
    kl, grad = tsne_gradient(gpu_aff.P, cupy.asarray(Y))
    ref = tsne_gradient(cpu_aff.P, Y)
    assert abs(kl - ref[0]) < 1e-9
    np.testing.assert_allclose(backend.to_numpy(grad), ref[1], atol=1e-10)
    for init in ("pca", "random"):
        gpu = tsne(cupy.asarray(X), perplexity=10.0, max_iter=300, init=init)
        cpu = tsne(X, perplexity=10.0, max_iter=300, init=init)
        assert isinstance(gpu.embedding, cupy.ndarray)
        np.testing.assert_allclose(backend.to_numpy(gpu.embedding), cpu.embedding, atol=1e-6)
