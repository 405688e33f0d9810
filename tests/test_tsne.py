import dataclasses
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
from course_utils.gradcheck import numerical_gradient
from course_utils.tsne import (
    Affinities,
    TSNEResult,
    affinities,
    descend,
    tsne,
    tsne_gradient,
    tsne_gradient_plain,
)

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
    ours = tsne(X, perplexity=20.0, n_iter=400)
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
    result = tsne(X, dim, perplexity, n_iter=260, init=init)
    assert isinstance(result, TSNEResult)
    assert result.embedding.shape == (len(X), dim) and np.all(np.isfinite(result.embedding))
    kl, grad = tsne_gradient(aff.P, result.embedding, 2.0)
    assert math.isfinite(kl) and kl >= -1e-9 and np.all(np.isfinite(grad))


def kl_and_gradient_by_loops(P, Y, scale):
    """KL(P ‖ Q) and its gradient for the embedding scale · Y, from the formulas with
    w = 1 / (1 + scale² ‖yᵢ - yⱼ‖²) written as scale⁻² / (scale⁻² + ‖yᵢ - yⱼ‖²)
    (the same numbers, and no overflow for a large scale, where tsne_gradient_plain
    overflows: the reference for embeddings far apart)."""
    diff = Y[:, None] - Y[None]
    with np.errstate(divide="ignore"):  # the diagonal, at a scale past 1e154
        omega = 1 / (scale**-2 + (diff**2).sum(-1))
    np.fill_diagonal(omega, 0)
    Q = omega / omega.sum()
    positive = P > 0
    kl = float((P[positive] * np.log(P[positive] / Q[positive])).sum())
    grad = 4 / scale * (((P - Q) * omega)[:, :, None] * diff).sum(axis=1)
    return kl, grad


def test_embeddings_far_apart_keep_the_objective_and_gradient():
    """Issue 27: at Y * 1e9, Z = Σw - n cancelled to 0: KL -inf, gradient NaN; at 1e8 the KL
    was 0.21 for 0.118. The diagonal is left out instead, and Y is scaled."""
    P = affinities(DIGITS[:100], 30.0).P
    Y = np.random.default_rng(0).normal(size=(100, 2))
    for scale in (1.0, 1e4, 1e8, 1e9, 1e50, 1e150, 1e300):
        kl, grad = tsne_gradient(P, Y * scale)
        ref_kl, ref_grad = kl_and_gradient_by_loops(P, Y, scale)
        assert abs(kl - ref_kl) < 1e-12 * abs(ref_kl), scale
        np.testing.assert_allclose(grad, ref_grad, rtol=1e-9, atol=1e-12 * abs(ref_grad).max())
    peak = Y * (1.7e308 / abs(Y).max())  # up to the largest float: no 2**1024 made on the way
    kl, grad = tsne_gradient(P, peak)
    assert abs(kl - kl_and_gradient_by_loops(P, Y, 1.7e308 / abs(Y).max())[0]) < 1e-12
    tiny_kl, tiny_grad = tsne_gradient(P, Y * 1e-200)  # every w = 1: Q uniform
    assert abs(tiny_kl - tsne_gradient_plain(P, Y * 0)[0]) < 1e-12
    assert np.all(np.isfinite(tiny_grad))


def test_an_offset_embedding_has_the_gradient_of_its_points():
    """yᵢ Σⱼ fᵢⱼ - (F Y)ᵢ cancelled for Y offset by 1e9 (gradient 2e-8 off, relatively)."""
    P = affinities(DIGITS[:40], 10.0).P
    Y = np.random.default_rng(1).normal(size=(40, 2)) + 1e9
    exact = Y - 1e9  # the points Y holds, exactly
    kl, grad = tsne_gradient(P, Y)
    ref_kl, ref_grad = tsne_gradient_plain(P, exact)
    assert abs(kl - ref_kl) < 1e-13
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-10, atol=1e-15)


def test_affinities_of_data_at_any_scale_reach_the_perplexity():
    """Issue 27: affinities(X * 1e150) reached perplexity 1 for 10 (the distances overflowed),
    X * 1e200 gave NaN; a tight group far from the rest lost its distances to the
    cancellation of ‖x‖² + ‖y‖² - 2x·y (a row reached 27 for 5)."""
    X = DIGITS[:50]
    ref = affinities(X, 10.0)
    for scale in (2.0**-400, 2.0**400):
        aff = affinities(X * scale, 10.0)
        np.testing.assert_array_equal(aff.P, ref.P)  # a power of two: the same bits
        np.testing.assert_allclose(aff.beta, ref.beta / scale**2, rtol=1e-15)
    for scale in (1e-150, 1e150):
        aff = affinities(X * scale, 10.0)
        np.testing.assert_allclose(aff.perplexity, 10.0, rtol=1e-4)
        np.testing.assert_allclose(aff.P, ref.P, atol=1e-6)
    with pytest.raises(ValueError, match="X is too small"):  # β = 1/2σ² would be 1e400
        affinities(X * 1e-200, 10.0)
    far = np.vstack([DIGITS[:30] * 1e-6, np.full((1, 64), 1e6)])
    np.testing.assert_allclose(affinities(far, 5.0).perplexity, 5.0, rtol=1e-4)


def test_a_row_whose_nearest_neighbours_tie_ends_at_their_number():
    """The documented limit: m neighbours tied for the nearest and m >= perplexity leave the
    entropy at log m at best; the row splits its mass among the m."""
    aff = affinities(np.eye(3), 1.5)  # each corner: 2 neighbours at one distance
    np.testing.assert_allclose(aff.perplexity, 2.0)
    np.testing.assert_allclose(aff.conditional[0, 1:], 0.5)
    dup = affinities(np.repeat(DIGITS[:10], 3, axis=0), 2.0)  # each point: 2 copies at 0
    np.testing.assert_allclose(dup.perplexity, 2.0, rtol=1e-5)  # the limit, as β grows


def test_a_diverging_step_gives_a_finite_embedding_or_an_error():
    """Issue 27: learning_rate=1e300 returned NaN. Now the descent is finite (the gradient
    is scaled), and an objective out of range is a ValueError naming learning_rate."""
    result = tsne(DIGITS[:60], perplexity=10.0, n_iter=260, learning_rate=1e300)
    assert np.all(np.isfinite(result.embedding)) and math.isfinite(result.kl)
    with pytest.raises(ValueError, match="learning_rate"):
        tsne_module._check_converging(math.nan, 300, 1e300)


def test_a_joint_P_is_required_and_one_point_is_refused():
    """A P that sums to 2, or has a diagonal, gave a negative "KL"; one point KL -inf."""
    P = affinities(DIGITS[:20], 5.0).P
    Y = np.random.default_rng(2).normal(size=(20, 2))
    assert tsne_gradient(P, Y)[0] > 0
    for bad, message in ((2 * P, "sum to 1"), (P + np.eye(20) / 20, "zero diagonal"),
                         (np.zeros((1, 1)), "at least 2")):
        with pytest.raises(ValueError, match=message):
            tsne_gradient(bad, Y[:len(bad)])


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 12), st.integers(1, 3), st.integers(0, 2**32 - 1),
       st.sampled_from([1e-3, 1.0, 30.0, 1e6]), st.floats(1.0, 12.0))
def test_kl_is_nonnegative_and_the_gradient_equals_differences(n, dims, seed, scale, alpha):
    rng = np.random.default_rng(seed)
    C = rng.random((n, n))
    C = C + C.T
    np.fill_diagonal(C, 0)
    P = C / C.sum()
    Y = rng.normal(size=(n, dims)) * scale
    kl, grad = tsne_gradient(P, Y)
    ref_kl, ref_grad = tsne_gradient_plain(P, Y)
    assert kl >= -1e-12 and abs(kl - ref_kl) < 1e-10 * (1 + ref_kl)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-8, atol=1e-12 * (1 + abs(ref_grad).max()))
    step = 1e-6 * max(scale, 1.0)  # the objective bends on the scale of 1 or of Y
    numeric = numerical_gradient(lambda: tsne_gradient(P, Y, alpha)[0], Y, eps=step)
    exaggerated = tsne_gradient(P, Y, alpha)[1]
    np.testing.assert_allclose(exaggerated, numeric, rtol=1e-4,
                               atol=1e-6 * (1 + abs(exaggerated).max()))


@settings(max_examples=25, deadline=None)
@given(point_sets(min_n=4, max_n=12, max_d=3, spread=20), st.floats(1.5, 3.0),
       st.integers(-300, 300))
def test_P_does_not_depend_on_the_scale_of_X(X, perplexity, exponent):
    ref = affinities(X, perplexity)
    aff = affinities(np.ldexp(X, exponent), perplexity)
    np.testing.assert_array_equal(aff.P, ref.P)
    if np.any(X != 0):  # all zero has no scale (and any β gives its P)
        np.testing.assert_allclose(aff.beta, np.ldexp(ref.beta, -2 * exponent), rtol=1e-15)


X20 = DIGITS[:20]
P3 = (np.ones((3, 3)) - np.eye(3)) / 6  # a valid joint P of three points
test_bad_input_names_the_argument = names_the_argument({
    "perplexity": (lambda v: affinities(X20, v), [19, 20, 25.0, 0.5, math.nan, "30"]),
    "perplexity ": (lambda v: tsne(X20, perplexity=v), [19.0, 100]),
    "X": (lambda v: affinities(v), [np.array([[1.0, np.nan]] * 5), np.ones(5), [[0.0]] * 2]),
    "X ": (lambda v: tsne(v, perplexity=2.0), [np.array([[np.inf, 1]] * 5), "digits"]),
    "tol": (lambda v: affinities(X20, 5.0, tol=v), [0.0, -1.0]),
    "n_iter": (lambda v: tsne(X20, perplexity=5.0, n_iter=v), [100, 250, 1.5]),
    "n_iter ": (lambda v: descend(P3, np.ones((3, 2)), v, learning_rate=1.0), [-1, 2.5]),
    "learning_rate ": (lambda v: descend(P3, np.ones((3, 2)), 1, learning_rate=v), [0.0]),
    "momentum": (lambda v: descend(P3, np.ones((3, 2)), 1, learning_rate=1.0, momentum=v),
                 [1.0, -0.1]),
    "P ": (lambda v: descend(v, np.ones((3, 2)), 1, learning_rate=1.0), [2 * P3]),
    "Y ": (lambda v: tsne_gradient_plain(P3, v), [np.ones((4, 2)), np.ones(3)]),
    "exaggeration ": (lambda v: tsne_gradient_plain(P3, np.ones((3, 2)), v), [0.0]),
    "learning_rate": (lambda v: tsne(X20, perplexity=5.0, learning_rate=v), [0, "fast"]),
    "early_exaggeration": (lambda v: tsne(X20, perplexity=5.0, early_exaggeration=v), [0.5]),
    "init": (lambda v: tsne(X20, perplexity=5.0, init=v), ["spectral", np.ones((20, 3)),
                                                           np.ones((19, 2))]),
    "seed": (lambda v: tsne(X20, perplexity=5.0, seed=v), [-1, 1.5, "0"]),
    "n_components": (lambda v: tsne(X20, v, perplexity=5.0), [0, 2.0, 100]),
    "P": (lambda v: tsne_gradient(v, np.ones((3, 2))), [
        -np.ones((3, 3)), np.ones((3, 2)), np.triu(np.ones((3, 3)) - np.eye(3)), P3 + np.eye(3),
        2 * P3, np.zeros((1, 1))]),
    "Y": (lambda v: tsne_gradient(P3, v), [np.ones((4, 2)), np.full((3, 2), np.nan)]),
    "exaggeration": (lambda v: tsne_gradient(P3, np.ones((3, 2)), v), [0.0, -1.0, "2"]),
}, also_accept=lambda name, message: name == "n_components" and "init" in message)


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 40), st.integers(1, 3), st.integers(0, 2**32 - 1),
       st.sampled_from([1e-6, 1e-2, 1.0, 30.0, 1e4]), st.floats(1.0, 12.0),
       st.sampled_from([0.0, 1e3]))
def test_the_engine_equals_the_plain_gradient(n, dims, seed, scale, alpha, offset):
    """tsne_gradient (slabs of the upper triangle, on a centred and scaled Y, on threads)
    gives the numbers of tsne_gradient_plain, the formulas as they read, which the lesson
    shows."""
    rng = np.random.default_rng(seed)
    C = rng.random((n, n)) * (rng.random((n, n)) < 0.7)  # some pairs with p = 0
    C = C + C.T + np.eye(n)[::-1] * (n > 2)  # no row without a neighbour
    np.fill_diagonal(C, 0)
    P = C / C.sum()
    Y = rng.normal(size=(n, dims)) * scale + offset
    plain_kl, plain_grad = tsne_gradient_plain(P, Y, alpha)
    kl, grad = tsne_gradient(P, Y, alpha)
    assert abs(kl - plain_kl) < 1e-9 * (1 + abs(plain_kl))
    tol = 1e-7 if offset and scale < 1 else 1e-9  # the plain one cancels the offset
    np.testing.assert_allclose(grad, plain_grad, rtol=tol, atol=tol * abs(plain_grad).max())
    with ThreadPoolExecutor(2) as pool:  # the engine's threads change nothing
        threaded = tsne_module._gradient(P, Y, alpha, True, pool)
    assert threaded[0] == tsne_module._gradient(P, Y, alpha, True)[0]


@settings(max_examples=10, deadline=None)
@given(point_sets(min_n=5, max_n=12, max_d=3, spread=20), st.integers(0, 110),
       st.floats(0.0, 0.9), st.floats(1.0, 12.0))
def test_descend_takes_exactly_n_iter_steps_and_logs_every_50(X, n_iter, momentum, alpha):
    P = affinities(X, 2.0).P
    Y0 = np.random.default_rng(0).normal(size=(len(X), 2)) * 1e-2
    Y, history = descend(P, Y0, n_iter, learning_rate=10.0, exaggeration=alpha,
                         momentum=momentum, start=30)
    assert Y.shape == Y0.shape and np.all(np.isfinite(Y))
    assert [i for i, _ in history] == [i for i in range(31, 31 + n_iter) if i % 50 == 0]
    if n_iter == 0:
        np.testing.assert_array_equal(Y, Y0)
    assert all(math.isfinite(kl) for _, kl in history)
    if n_iter:  # the first step: no update yet to keep the sign of, so every gain 1 x 0.8
        one, _ = descend(P, Y0, 1, learning_rate=10.0, exaggeration=alpha, momentum=momentum)
        np.testing.assert_allclose(one, Y0 - 10.0 * 0.8 * tsne_gradient(P, Y0, alpha)[1],
                                   rtol=1e-12, atol=1e-15)


def test_tsne_runs_descend_twice_and_the_old_keyword_max_iter_warns():
    """Issue 28: tsne(max_iter=) is n_iter= (exactly that many iterations, no early stop);
    the result is exaggerated descent for 250 iterations, then plain descent."""
    X = DIGITS[:40]
    with pytest.warns(DeprecationWarning, match=r"tsne\(n_iter=...\)"):
        old = tsne(X, perplexity=5.0, max_iter=300)
    new = tsne(X, perplexity=5.0, n_iter=300)
    np.testing.assert_array_equal(old.embedding, new.embedding)
    P = new.affinities.P
    start = np.random.default_rng(1).normal(0, 1e-4, (40, 2))
    ours = tsne(X, perplexity=5.0, n_iter=300, init=start)
    Y1, h1 = descend(P, start, 250, learning_rate=50.0, exaggeration=12.0, momentum=0.5)
    Y2, h2 = descend(P, Y1, 50, learning_rate=50.0, momentum=0.8, start=250)
    np.testing.assert_array_equal(Y2, ours.embedding)  # the same steps: the same bits
    assert h1 + h2 == ours.kl_history
    with pytest.raises(dataclasses.FrozenInstanceError):
        new.kl = 0.0


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
        gpu = tsne(cupy.asarray(X), perplexity=10.0, n_iter=300, init=init)
        cpu = tsne(X, perplexity=10.0, n_iter=300, init=init)
        assert isinstance(gpu.embedding, cupy.ndarray)
        np.testing.assert_allclose(backend.to_numpy(gpu.embedding), cpu.embedding, atol=1e-6)
