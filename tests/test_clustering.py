import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from properties import names_the_argument, point_sets
from scipy.cluster.hierarchy import linkage as scipy_linkage
from scipy.spatial.distance import cdist
from sklearn.cluster import KMeans
from sklearn.datasets import load_iris, make_blobs
from sklearn.metrics import adjusted_rand_score
from sklearn.metrics import silhouette_samples as sk_silhouette_samples

from course_utils import _blocks, backend, clustering, timing
from course_utils.clustering import (
    LINKAGES,
    kmeans,
    kmeans_plusplus,
    lance_williams,
    linkage,
    lloyd_step,
    nearest_center,
    pairwise_distances,
    silhouette_samples,
    soft_assignments,
    soft_kmeans,
    squared_distances,
)


def blobs(n=600, d=3, k=4, seed=0):
    return make_blobs(n, d, centers=k, cluster_std=1.5, random_state=seed)[0]


def test_squared_distances_match_scipy():
    rng = np.random.default_rng(0)
    X, C = rng.normal(size=(50, 6)), rng.normal(size=(7, 6))
    np.testing.assert_allclose(squared_distances(X, C), cdist(X, C, "sqeuclidean"), atol=1e-12)
    np.testing.assert_allclose(pairwise_distances(X), cdist(X, X), atol=1e-14)
    assert squared_distances(X, X).min() >= 0


@pytest.mark.parametrize("min_points", [1, 7, clustering.MIN_BLOCK_POINTS])
def test_blocks_of_any_size_give_the_same_step(min_points, monkeypatch):
    X = blobs(5003, 4, 6)  # 5003 rows: the last block is a short one
    C = kmeans_plusplus(X, 6, seed=1)
    monkeypatch.setattr(clustering, "ONE_THREAD_PRODUCT", 1)
    monkeypatch.setattr(clustering, "MIN_BLOCK_POINTS", min_points)
    monkeypatch.setattr(clustering, "TRANSPOSE_ROWS", min_points)
    columns = clustering.columns_with_ones(X)
    np.testing.assert_array_equal(columns, np.vstack([X.T, np.ones(len(X))]))
    labels, nearest = nearest_center(X, C)
    full = cdist(X, C, "sqeuclidean")
    np.testing.assert_array_equal(labels, full.argmin(axis=1))
    np.testing.assert_allclose(nearest, full.min(axis=1), atol=1e-9)
    new, step_labels = clustering._lloyd_step_fast(columns, C)
    np.testing.assert_array_equal(step_labels, labels)
    means = [X[labels == j].mean(axis=0) for j in range(len(C))]
    np.testing.assert_allclose(new, means, atol=1e-12)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("k", [2, 5, 8])
def test_kmeans_matches_scikit_learn_from_the_same_centres(k, seed):
    X = blobs(seed=seed)
    init = kmeans_plusplus(X, k, seed=seed)
    ours = kmeans(X, k, init=init)
    theirs = KMeans(k, init=init, n_init=1, algorithm="lloyd").fit(X)
    np.testing.assert_array_equal(ours.labels, theirs.labels_)
    np.testing.assert_allclose(ours.centers, theirs.cluster_centers_, atol=1e-10)
    assert ours.inertia == pytest.approx(theirs.inertia_, rel=1e-12)
    assert ours.n_iter == theirs.n_iter_


def test_kmeans_on_iris_with_float32():
    X = load_iris().data
    init = X[[0, 50, 100]]
    ours = kmeans(X.astype(np.float32), 3, init=init)
    theirs = KMeans(3, init=init, n_init=1).fit(X)
    assert ours.centers.dtype == np.float32
    np.testing.assert_array_equal(ours.labels, theirs.labels_)
    assert ours.inertia == pytest.approx(theirs.inertia_, rel=1e-5)


def test_kmeans_plusplus_picks_distinct_rows_deterministically():
    X = blobs()
    centers = kmeans_plusplus(X, 6, seed=3)
    assert centers.shape == (6, 3)
    assert len({tuple(c) for c in centers}) == 6
    assert all((X == c).all(axis=1).any() for c in centers)
    np.testing.assert_array_equal(centers, kmeans_plusplus(X, 6, seed=3))
    # every row on a centre already: the draw falls back to uniform, no division by zero
    assert kmeans_plusplus(np.ones((5, 2)), 3).shape == (3, 2)


def test_restarts_never_do_worse_and_inertia_is_consistent():
    X = blobs(k=6)
    one = kmeans(X, 6, n_init=1, seed=0)
    many = kmeans(X, 6, n_init=8, seed=0)
    assert many.inertia <= one.inertia
    assert many.inertia == pytest.approx(((X - many.centers[many.labels]) ** 2).sum())


def test_lloyd_never_raises_the_inertia():
    X = blobs(k=5)
    centers = kmeans_plusplus(X, 5, seed=1)
    inertias = []
    for _ in range(10):
        inertias.append(float(nearest_center(X, centers)[1].sum()))
        centers, _ = lloyd_step(X, centers)
    assert all(b <= a + 1e-9 for a, b in zip(inertias, inertias[1:], strict=False))


def fast_step(X, centers):
    """The tuned step kmeans runs (on data it has not shifted: any common shift will do)."""
    return clustering._lloyd_step_fast(clustering.columns_with_ones(X), centers)


STEPS = [lloyd_step, fast_step]  # the plain step and the tuned one


@pytest.mark.parametrize("step", STEPS)
def test_empty_cluster_moves_to_the_farthest_row(step):
    X = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0]])
    centers = np.array([[0.0, 0.5], [100.0, 100.0], [10.0, 0.0]])
    new, labels = step(X, centers)
    assert labels.tolist() == [0, 0, 2]
    assert new[1].tolist() in ([0.0, 0.0], [0.0, 1.0])  # a row 0.25 from its centre


@pytest.mark.parametrize("step", STEPS)
def test_a_row_equally_near_two_centres_goes_to_the_first(step):
    X = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [10.0, 0.0]])
    centers = np.array([[0.0, 0.0], [2.0, 0.0], [10.0, 0.0]])
    new, labels = step(X, centers)
    assert labels.tolist() == [0, 0, 1, 2]
    assert nearest_center(X, centers)[1].tolist() == [0.0, 1.0, 0.0, 0.0]
    np.testing.assert_array_equal(new, [[0.5, 0.0], [2.0, 0.0], [10.0, 0.0]])
    assert nearest_center(X, centers)[0].tolist() == [0, 0, 1, 2]
    theirs = KMeans(3, init=centers, n_init=1, max_iter=1).fit(X)
    np.testing.assert_array_equal(theirs.cluster_centers_, new)


def test_two_empty_clusters_take_the_two_farthest_rows():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [0.0, 3.0], [10.0, 0.0]])
    centers = np.array([[0.0, 0.0], [50.0, 50.0], [60.0, 60.0], [10.0, 0.0]])
    for step in STEPS:
        new, labels = step(X, centers)
        assert labels.tolist() == [0, 0, 0, 3]
        np.testing.assert_array_equal(new, [[0.0, 4 / 3], [0.0, 3.0], [0.0, 1.0], [10.0, 0.0]])


@pytest.mark.parametrize("k, seed", [(2, 0), (4, 1), (7, 2), (12, 3)])
def test_the_plain_step_and_the_tuned_one_agree(k, seed):
    X = blobs(2500, 5, 6, seed=seed)
    plain = fast = kmeans_plusplus(X, k, seed=seed)
    for _ in range(15):
        (plain, plain_labels), (fast, fast_labels) = lloyd_step(X, plain), \
            fast_step(X, fast)
        np.testing.assert_array_equal(plain_labels, fast_labels)
        np.testing.assert_allclose(plain, fast, rtol=1e-12, atol=1e-12)
    fit = kmeans(X, k, init=kmeans_plusplus(X, k, seed=seed), max_iter=15, tol=0.0)
    assert fit.n_iter == 15 or np.array_equal(fit.labels, plain_labels)


small_int_points = st.integers(2, 30).flatmap(lambda n: st.tuples(
    st.lists(st.lists(st.integers(-20, 20), min_size=2, max_size=2), min_size=n, max_size=n),
    st.integers(1, n), st.integers(0, 2**32 - 1)))


@settings(max_examples=60, deadline=None)
@given(small_int_points)
def test_property_plain_and_tuned_steps_agree_and_never_raise_the_inertia(case):
    # Integer coordinates: every distance is exact, so ties are exact and both pick the first.
    rows, k, seed = case
    X = np.array(rows, dtype=float)
    centers = X[np.random.default_rng(seed).choice(len(X), k, replace=False)]
    new, labels = lloyd_step(X, centers)
    fast, fast_labels = fast_step(X, centers)
    np.testing.assert_array_equal(labels, fast_labels)
    np.testing.assert_allclose(new, fast, rtol=1e-12, atol=1e-12)
    assert np.isfinite(new).all() and new.shape == centers.shape
    assert labels.min() >= 0 and labels.max() < k
    before = ((X - centers[labels]) ** 2).sum()
    assert nearest_center(X, new)[1].sum() <= before + 1e-9


@settings(max_examples=60, deadline=None)
@given(small_int_points, st.integers(1, 6))
def test_property_kmeans_stopped_after_n_steps_holds_the_plain_steps_centres(case, n_steps):
    # The public view of the engine: kmeans from given centres, capped at n_steps, is
    # n_steps of lloyd_step (or fewer, once the labels stop changing: a fixed point).
    rows, k, seed = case
    X = np.array(rows, dtype=float)
    init = X[np.random.default_rng(seed).choice(len(X), k, replace=False)]
    fit = kmeans(X, k, init=init, max_iter=n_steps, tol=0.0)
    assert 1 <= fit.n_iter <= n_steps
    plain, labels = init, None
    for _ in range(n_steps):
        plain, labels = lloyd_step(X, plain)
    np.testing.assert_allclose(fit.centers, plain, rtol=1e-12, atol=1e-12)
    assert fit.inertia == pytest.approx(nearest_center(X, plain)[1].sum(), rel=1e-9, abs=1e-9)
    if fit.n_iter < n_steps:  # stopped early: the labels had stopped changing
        np.testing.assert_array_equal(lloyd_step(X, plain)[1], labels)


@settings(max_examples=40, deadline=None)
@given(point_sets(), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_property_weighted_means_keep_the_fallback_of_an_empty_column(X, k, seed):
    rng = np.random.default_rng(seed)
    R = rng.random((len(X), k)) + 1e-3
    R[:, 0] = 0.0  # no point shares in centre 0
    fallback = rng.normal(size=(k, X.shape[1]))
    means, weights = clustering.weighted_means(R, X, fallback=fallback)
    np.testing.assert_array_equal(means[0], fallback[0])
    assert weights[0] == 0
    np.testing.assert_allclose(means[1:], (R[:, 1:].T @ X) / R[:, 1:].sum(axis=0)[:, None],
                               rtol=1e-12, atol=1e-12 * np.abs(X).max())
    with pytest.raises(ValueError, match="R has a column of zero weight"):
        clustering.weighted_means(R, X)
    shift = X[0]
    np.testing.assert_array_equal(clustering.columns_with_ones(X, shift),
                                  np.vstack([(X - shift).T, np.ones(len(X))]))


def test_a_shift_or_fallback_of_the_wrong_shape_names_the_argument():
    X = blobs(20, 3)
    with pytest.raises(ValueError, match=r"shift must have shape \(3,\)"):
        clustering.columns_with_ones(X, np.zeros(2))
    with pytest.raises(ValueError, match="fallback must have R's k columns = 2 rows"):
        clustering.weighted_means(np.ones((20, 2)), X, fallback=np.zeros((3, 3)))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 80), st.integers(1, 70), st.integers(0, 2**32 - 1))
def test_property_column_extremes_are_numpy_s_max_and_min(n, d, seed):
    # centring reads the columns' extremes by a faster fold of the rows: exactly NumPy's
    X = np.random.default_rng(seed).normal(size=(n, d)) * 10.0 ** np.arange(-3, 4)[seed % 7]
    high, low = _blocks.column_extremes(X)
    np.testing.assert_array_equal(high, X.max(axis=0))
    np.testing.assert_array_equal(low, X.min(axis=0))


def test_soft_kmeans_limits():
    X = blobs(k=3)
    init = kmeans_plusplus(X, 3, seed=0)
    hard = kmeans(X, 3, init=init)
    fit = soft_kmeans(X, init, stiffness=50.0)
    centers, R = fit.centers, fit.responsibilities
    np.testing.assert_allclose(R.sum(axis=1), 1)
    np.testing.assert_array_equal(R.argmax(axis=1), hard.labels)
    np.testing.assert_allclose(centers, hard.centers, atol=1e-6)
    flat = soft_kmeans(X, init, stiffness=0.0)
    np.testing.assert_allclose(flat.responsibilities, 1 / 3)
    np.testing.assert_allclose(flat.centers, np.broadcast_to(X.mean(axis=0), (3, 3)),
                               atol=1e-12)


def test_unpacking_soft_kmeans_as_the_old_tuple_warns_and_still_works():
    X = blobs(k=3)
    fit = soft_kmeans(X, kmeans_plusplus(X, 3, seed=0), stiffness=1.0)
    with pytest.warns(DeprecationWarning, match="use .centers, .responsibilities and .n_iter"):
        centers, R, n_iter = fit
    assert centers is fit.centers and R is fit.responsibilities and n_iter == fit.n_iter


def test_soft_assignments_do_not_overflow():
    R = soft_assignments(np.array([[1e3, 0.0]]), np.array([[0.0, 0.0], [1e3, 1.0]]), 1e6)
    np.testing.assert_array_equal(R, [[0.0, 1.0]])


@pytest.mark.parametrize("k", [2, 3, 6])
def test_silhouette_matches_scikit_learn(k):
    X = blobs(300, 4, k)
    labels = kmeans(X, k, seed=0).labels
    np.testing.assert_allclose(silhouette_samples(X, labels),
                               sk_silhouette_samples(X, labels), atol=1e-9)
    singleton = labels.copy()
    singleton[0] = k  # a cluster of one point has silhouette 0
    np.testing.assert_allclose(silhouette_samples(X, singleton),
                               sk_silhouette_samples(X, singleton), atol=1e-9)


@pytest.mark.parametrize("method", LINKAGES)
@pytest.mark.parametrize("seed", range(3))
def test_linkage_matches_scipy(method, seed):
    X = np.random.default_rng(seed).normal(size=(60, 3))
    ours, theirs = linkage(X, method), scipy_linkage(X, method)
    np.testing.assert_array_equal(ours[:, [0, 1, 3]], theirs[:, [0, 1, 3]])
    np.testing.assert_allclose(ours[:, 2], theirs[:, 2], rtol=1e-12)


def test_linkage_on_iris_matches_scipy():
    X = load_iris().data + np.random.default_rng(0).normal(scale=1e-6, size=(150, 4))  # no ties
    for method in LINKAGES:
        ours, theirs = linkage(X, method), scipy_linkage(X, method)
        np.testing.assert_array_equal(ours[:, [0, 1, 3]], theirs[:, [0, 1, 3]])
        np.testing.assert_allclose(ours[:, 2], theirs[:, 2], rtol=1e-10)


@pytest.mark.parametrize("call, error, message", [
    (lambda: kmeans([1.0, 2.0], 1), ValueError, "X must be 2-D"),
    (lambda: kmeans(np.ones((3, 2)), 4), ValueError, r"k must be between 1 and .* \(3\)"),
    (lambda: kmeans(np.ones((3, 2)), 2.0), TypeError, "k must be an int"),
    (lambda: kmeans(np.ones((3, 2)), 2, init="random"), ValueError, r"init must be 'k-means\+\+'"),
    (lambda: kmeans(np.ones((3, 2)), 2, init=np.ones((2, 3))), ValueError, "init must have 2 col"),
    (lambda: kmeans(np.ones((3, 2)), 2, init=np.ones((1, 2))), ValueError, "init must have k = 2"),
    (lambda: kmeans([[1.0, np.nan]], 1), ValueError, "X contains NaN"),
    (lambda: kmeans(np.ones((3, 2)), 2, max_iter=0), ValueError, "max_iter must be at least 1"),
    (lambda: kmeans(np.ones((3, 2)), 2, tol=-1e-4), ValueError, r"tol must be in \[0"),
    (lambda: soft_kmeans(np.ones((3, 2)), np.ones((2, 2)), -1.0), ValueError, "stiffness"),
    (lambda: linkage(np.ones((3, 2)), "centroid"), ValueError, "method must be one of"),
    (lambda: linkage(np.ones((1, 2))), ValueError, "at least 2 samples"),
    (lambda: silhouette_samples(np.ones((4, 2)), [0, 0, 0, 0]), ValueError, "between 2 and"),
    (lambda: silhouette_samples(np.ones((4, 2)), [0, 1]), ValueError, "labels has 2 labels"),
    (lambda: lloyd_step(np.ones(3), np.ones((1, 3))), ValueError, "X must be 2-D"),
    (lambda: lloyd_step(np.ones((3, 2)), np.ones((2, 3))), ValueError, "centers must have 2 col"),
    (lambda: lloyd_step(np.ones((3, 2)), [[np.inf, 0.0]]), ValueError, "centers contains"),
])
def test_bad_input_names_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.gpu
def test_gpu_matches_cpu():
    import cupy

    X = blobs(3000, 8, 5)
    init = kmeans_plusplus(X, 5, seed=0)
    cpu = kmeans(X, 5, init=init)
    gpu = kmeans(cupy.asarray(X), 5, init=cupy.asarray(init))
    assert isinstance(gpu.centers, cupy.ndarray)
    np.testing.assert_array_equal(backend.to_numpy(gpu.labels), cpu.labels)
    assert gpu.inertia == pytest.approx(cpu.inertia, rel=1e-10)
    assert kmeans(cupy.asarray(X), 5, seed=0).inertia == pytest.approx(
        kmeans(X, 5, seed=0).inertia, rel=1e-10)
    small = X[:200]
    np.testing.assert_allclose(backend.to_numpy(silhouette_samples(cupy.asarray(small),
                                                                   cupy.asarray(cpu.labels[:200]))),
                               silhouette_samples(small, cpu.labels[:200]), atol=1e-9)
    np.testing.assert_allclose(linkage(cupy.asarray(small[:50]), "ward"),
                               linkage(small[:50], "ward"), rtol=1e-12)
    R = soft_kmeans(cupy.asarray(X), cupy.asarray(init), 0.5).responsibilities
    np.testing.assert_allclose(backend.to_numpy(R), soft_kmeans(X, init, 0.5).responsibilities,
                               atol=1e-9)


def assert_followed(got, expected, cupy, rtol=1e-10, atol=1e-12):
    """got is expected computed on the GPU: its arrays are CuPy arrays with the same values."""
    if isinstance(expected, np.ndarray):
        assert isinstance(got, cupy.ndarray), f"expected a CuPy array, got {type(got)}"
        np.testing.assert_allclose(got.get(), expected, rtol=rtol, atol=atol)
    elif isinstance(expected, tuple):
        assert len(got) == len(expected)
        for a, b in zip(got, expected, strict=True):
            assert_followed(a, b, cupy, rtol, atol)
    elif dataclasses.is_dataclass(expected):  # KMeansResult, SoftKMeansResult
        assert type(got) is type(expected)
        for field in dataclasses.fields(expected):
            assert_followed(getattr(got, field.name), getattr(expected, field.name), cupy, rtol,
                            atol)
    else:
        assert got == pytest.approx(expected, rel=rtol)


@pytest.mark.gpu
def test_every_function_follows_its_data_onto_the_gpu():
    import cupy

    X = blobs(500, 3, 4)
    C = kmeans_plusplus(X, 4, seed=0)
    R = soft_assignments(X, C, 0.5)
    labels = kmeans(X, 4, init=C).labels
    D = pairwise_distances(X[:20])
    cases = [  # (function, its arguments on the CPU; NumPy arrays among them go to the GPU)
        (squared_distances, X, C),
        (clustering.columns_with_ones, X),
        (clustering.row_sq_norms, X),
        (nearest_center, X, C),
        (clustering.weighted_means, R, X),
        (lloyd_step, X, C),
        (fast_step, X, C),
        (kmeans_plusplus, X, 4, 3),
        (lambda X, C: kmeans(X, 4, init=C), X, C),
        (lambda X: kmeans(X, 4, n_init=2, seed=1), X),
        (soft_assignments, X, C, 0.5),
        (soft_kmeans, X, C, 0.5),
        (silhouette_samples, X, labels),
        (pairwise_distances, X),
        *[(lambda d, n, method=method: lance_williams(method, d[0], d[1], d[0, 1], 2.0, 3.0, n),
           D, np.arange(1.0, 21.0)) for method in LINKAGES],
    ]
    for fn, *args in cases:
        on_gpu = [cupy.asarray(a) if isinstance(a, np.ndarray) else a for a in args]
        assert_followed(fn(*on_gpu), fn(*args), cupy)
    assert _blocks.row_blocks(10, 3, 9) == [slice(0, 3), slice(3, 6), slice(6, 9),
                                               slice(9, 10)]  # no arrays: the same anywhere
    # linkage keeps its distances on the GPU but returns SciPy's matrix as NumPy, by design
    Z = linkage(cupy.asarray(X[:40]), "average")
    assert isinstance(Z, np.ndarray)
    np.testing.assert_allclose(Z, linkage(X[:40], "average"), rtol=1e-12)


@pytest.mark.gpu
def test_a_lesson_on_the_gpu_gets_the_cpu_results():
    import cupy

    host = blobs(800, 2, 4)
    cpu = kmeans(host, 4, seed=2)
    backend.use("gpu")
    X = backend.asarray(host)  # as a lesson makes its data
    assert isinstance(X, cupy.ndarray)
    # k-means++ draws on the host: the same seed picks the same rows on both devices
    np.testing.assert_array_equal(backend.to_numpy(kmeans_plusplus(X, 4, seed=5)),
                                  kmeans_plusplus(host, 4, seed=5))
    fit = kmeans(X, 4, seed=2)
    assert isinstance(fit.centers, cupy.ndarray) and isinstance(fit.labels, cupy.ndarray)
    back = backend.to_device(fit, "cpu")
    np.testing.assert_array_equal(back.labels, cpu.labels)
    np.testing.assert_allclose(back.centers, cpu.centers, rtol=1e-12)
    assert (back.inertia, back.n_iter) == (pytest.approx(cpu.inertia, rel=1e-12), cpu.n_iter)
    comparison = timing.compare_devices(kmeans, host, 4, init=cpu.centers, quiet=True)
    assert comparison.gpu is not None


@pytest.mark.gpu
@pytest.mark.parametrize("call, name", [
    (lambda g, X, C: squared_distances(g(X), C), "C is a NumPy array"),
    (lambda g, X, C: squared_distances(X, g(C)), "C is a CuPy array"),
    (lambda g, X, C: nearest_center(g(X), C), "centers is a NumPy array"),
    (lambda g, X, C: lloyd_step(g(X), C), "centers is a NumPy array"),
    (lambda g, X, C: clustering.weighted_means(g(soft_assignments(X, C, 1.0)), X), "X is a"),
    (lambda g, X, C: kmeans(g(X), 4, init=C), "init is a NumPy array"),
    (lambda g, X, C: kmeans(X, 4, init=g(C)), "init is a CuPy array"),
    (lambda g, X, C: soft_assignments(g(X), C, 1.0), "centers is a NumPy array"),
    (lambda g, X, C: soft_kmeans(g(X), C, 1.0), "init is a NumPy array"),
    (lambda g, X, C: silhouette_samples(g(X), kmeans(X, 4, init=C).labels), "labels is a"),
    (lambda g, X, C: lance_williams("single", g(X[:, 0]), X[:, 1], 1.0, 1.0, 1.0, 1.0),
     "d_kj is a NumPy array"),
])
def test_a_mixed_call_names_the_argument_and_says_to_rerun(call, name):
    import cupy

    X = blobs(200, 2, 4)
    C = kmeans_plusplus(X, 4, seed=0)
    with pytest.raises(backend.DeviceMismatchError, match=name) as error:
        call(cupy.asarray, X, C)
    assert "re-run the lesson after switching" in str(error.value)


# ---- issue 12: offsets, float32, edge cases, and every public function under hypothesis ----

def separated_blobs(n=60, seed=0):
    """Two well-separated Gaussian blobs (n, 2) on a grid of 2^-10 (exact after the shifts
    below) and their labels."""
    X, y = make_blobs(n, 2, centers=[[0.0, 0.0], [6.0, 6.0]], cluster_std=1.0,
                      random_state=seed)
    return np.round(X * 1024) / 1024, y


def same_partition(a, b):
    return adjusted_rand_score(a, b) == 1.0


def test_kmeans_is_invariant_to_an_offset_of_1e9():
    B, y = separated_blobs()
    plain, shifted = kmeans(B, 2), kmeans(B + 1e9, 2)
    assert same_partition(shifted.labels, y) and same_partition(plain.labels, y)
    assert shifted.inertia == pytest.approx(plain.inertia, rel=1e-6)
    np.testing.assert_allclose(shifted.centers - 1e9, plain.centers, atol=1e-6)


def test_float32_inertia_is_its_definition_with_an_offset():
    B, y = separated_blobs(400)
    X = (B + 1e4).astype(np.float32)
    fit = kmeans(X, 2)
    exact = ((X.astype(np.float64) - fit.centers.astype(np.float64)[fit.labels]) ** 2).sum()
    assert fit.inertia == pytest.approx(exact, rel=1e-5)
    assert same_partition(fit.labels, y)
    labels, d2 = nearest_center(X, fit.centers)
    np.testing.assert_allclose(d2.sum(), exact, rtol=1e-4)


@pytest.mark.parametrize("offset, atol", [(0.0, 1e-14), (1000.0, 1e-13)])
def test_silhouette_matches_scikit_learn_with_an_offset(offset, atol):
    B, y = make_blobs(60, 2, centers=2, random_state=1)  # before: 5e-10 and 7e-8 off
    np.testing.assert_allclose(silhouette_samples(B + offset, y), sk_silhouette_samples(B, y),
                               atol=atol)
    B, y = separated_blobs()
    np.testing.assert_allclose(silhouette_samples(B + 1e9, y), sk_silhouette_samples(B, y),
                               atol=1e-7)


def test_silhouette_of_a_point_to_itself_is_zero_distance():
    X = np.array([[1e8, 0.0], [1e8 + 1, 0.0], [1e8 + 10, 0.0], [1e8 + 11, 0.0]])
    np.testing.assert_allclose(silhouette_samples(X, [0, 0, 1, 1]),
                               sk_silhouette_samples(X - [1e8, 0.0], [0, 0, 1, 1]), atol=1e-15)


def test_soft_kmeans_keeps_a_centre_no_point_shares_in():
    B, _ = separated_blobs()
    fit = soft_kmeans(B, [[0.0, 0.0], [100.0, 100.0]], 1e3)
    centers, R = fit.centers, fit.responsibilities
    assert np.isfinite(centers).all() and np.isfinite(R).all()
    np.testing.assert_array_equal(centers[1], [100.0, 100.0])
    np.testing.assert_allclose(centers[0], B.mean(axis=0), atol=1e-12)
    assert fit.n_iter < 500


def test_lance_williams_refuses_an_unknown_method():
    with pytest.raises(ValueError, match="method must be one of"):
        lance_williams("foo", 1.0, 2.0, 1.0, 1.0, 1.0, 1.0)
    assert float(lance_williams("ward", 0.0, 0.0, 1e-8, 1.0, 1.0, 1e9)) == 0.0  # no NaN


def test_the_seed_convention():
    X, _ = separated_blobs()
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        kmeans(X, 2, seed=-1)
    with pytest.raises(TypeError, match="seed must be"):
        kmeans_plusplus(X, 2, seed=1.5)
    np.testing.assert_array_equal(kmeans_plusplus(X, 2), kmeans_plusplus(X, 2, seed=0))
    np.testing.assert_array_equal(kmeans_plusplus(X, 2, seed=np.random.default_rng(3)),
                                  kmeans_plusplus(X, 2, seed=3))
    assert kmeans_plusplus(X, 2, seed=None).shape == (2, 2)


def test_a_spread_beyond_the_float_range_is_a_clear_error():
    with pytest.raises(ValueError, match="X spreads too far"):
        kmeans(np.array([[-1e300, 0.0], [1e300, 0.0]]), 2)
    with pytest.raises(ValueError, match="X spreads too far"):
        squared_distances(np.array([[-3e19], [3e19]], dtype=np.float32), [[0.0]])


@pytest.mark.parametrize("dtype, offset, scale, rtol", [
    (np.float64, 1e9, 1.0, 1e-9), (np.float64, -1e9, 8.0, 1e-9), (np.float32, 1e4, 1.0, 1e-4),
    (np.float32, -1e4, 4.0, 1e-4)])
def test_invariance_against_scikit_learn_on_shifted_and_scaled_data(dtype, offset, scale, rtol):
    B, y = separated_blobs(300, seed=1)
    X = (B * scale + offset).astype(dtype)
    init = kmeans_plusplus(B, 2, seed=0)
    ours = kmeans(X, 2, init=(init * scale + offset).astype(dtype))
    theirs = KMeans(2, init=init, n_init=1).fit(B)
    assert same_partition(ours.labels, theirs.labels_)
    assert ours.inertia == pytest.approx(theirs.inertia_ * scale**2, rel=rtol)
    np.testing.assert_allclose(silhouette_samples(X, y), sk_silhouette_samples(B, y),
                               atol=10 * rtol)


# -- hypothesis: finite input gives finite output that keeps the invariants --

def reference_d2(X, C):
    return ((X[:, None, :] - C[None, :, :]) ** 2).sum(axis=2)


def d2_tolerance(X, C):
    spread = np.ptp(np.vstack([X, C]), axis=0)
    return 1e-12 * (1 + (spread**2).sum())


@settings(max_examples=40, deadline=None)
@given(point_sets(), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_property_distances_and_assignments(X, k, seed):
    C = X[np.random.default_rng(seed).integers(len(X), size=k)] + 0.5
    ref = reference_d2(X, C)
    tol = d2_tolerance(X, C)
    d2 = squared_distances(X, C)
    assert d2.shape == (len(X), k) and (d2 >= 0).all()
    np.testing.assert_allclose(d2, ref, rtol=0, atol=tol)
    labels, nearest = nearest_center(X, C)
    assert (ref[np.arange(len(X)), labels] <= ref.min(axis=1) + 2 * tol).all()
    np.testing.assert_allclose(nearest, ref.min(axis=1), rtol=0, atol=2 * tol)
    np.testing.assert_allclose(pairwise_distances(X), cdist(X, X), rtol=1e-12, atol=1e-300)
    np.testing.assert_array_equal(clustering.columns_with_ones(X),
                                  np.vstack([X.T, np.ones(len(X))]))
    np.testing.assert_allclose(clustering.row_sq_norms(X), (X * X).sum(axis=1), rtol=1e-14)
    R = np.random.default_rng(seed).random((len(X), k)) + 1e-3
    means, weights = clustering.weighted_means(R, X)
    np.testing.assert_allclose(means, (R.T @ X) / R.sum(axis=0)[:, None], rtol=1e-12,
                               atol=1e-12 * np.abs(X).max())
    np.testing.assert_allclose(weights, R.sum(axis=0))
    if k > len(X):
        with pytest.raises(ValueError, match="centers has .* rows, more than X's"):
            lloyd_step(X, C)
        return
    new, step_labels = lloyd_step(X, C)
    assert np.isfinite(new).all() and step_labels.min() >= 0 and step_labels.max() < k


@settings(max_examples=40, deadline=None)
@given(point_sets(), st.integers(1, 5), st.integers(0, 2**32 - 1),
       st.sampled_from([np.float64, np.float32]))
def test_property_kmeans_inertia_is_its_definition(X, k, seed, dtype):
    X = (X - X.mean(axis=0) if dtype == np.float32 else X).astype(dtype)
    k = min(k, len(X))
    start = kmeans_plusplus(X, k, seed=seed)
    assert all((row == X).all(axis=1).any() for row in start)  # rows of X
    fit = kmeans(X, k, seed=seed, n_init=2)
    assert np.isfinite(fit.centers).all() and fit.centers.shape == (k, X.shape[1])
    assert fit.labels.min() >= 0 and fit.labels.max() < k and 1 <= fit.n_iter <= 300
    exact = ((X.astype(np.float64) - fit.centers.astype(np.float64)[fit.labels]) ** 2).sum()
    eps = float(np.finfo(dtype).eps)
    scale = 1 + float(np.abs(X).max())  # the centres are rounded to X's precision
    assert fit.inertia == pytest.approx(exact, rel=100 * eps, abs=len(X) * (4 * eps * scale)**2)


@settings(max_examples=40, deadline=None)
@given(point_sets(), st.integers(1, 4), st.floats(0, 1e12), st.integers(0, 2**32 - 1))
def test_property_soft_assignments_are_probabilities(X, k, stiffness, seed):
    C = X[np.random.default_rng(seed).integers(len(X), size=k)]
    R = soft_assignments(X, C + 1.0, stiffness)
    assert np.isfinite(R).all() and (R >= 0).all()
    np.testing.assert_allclose(R.sum(axis=1), 1, rtol=1e-12)
    fit = soft_kmeans(X, C, stiffness, max_iter=50)
    assert isinstance(fit, clustering.SoftKMeansResult)
    centers, R = fit.centers, fit.responsibilities
    assert np.isfinite(centers).all() and np.isfinite(R).all() and 1 <= fit.n_iter <= 50
    np.testing.assert_allclose(R.sum(axis=1), 1, rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(point_sets(min_n=3), st.integers(0, 2**32 - 1))
def test_property_silhouette_is_in_minus_one_one(X, seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, len(X)))
    labels = np.concatenate([np.arange(k), rng.integers(k, size=len(X) - k)])
    s = silhouette_samples(X, labels)
    assert s.shape == (len(X),) and np.isfinite(s).all() and (np.abs(s) <= 1).all()
    if np.ptp(X, axis=0).max() > 0:
        np.testing.assert_allclose(s, sk_silhouette_samples(X - X.mean(axis=0), labels),
                                   atol=1e-6)


@settings(max_examples=30, deadline=None)
@given(point_sets(max_n=10), st.sampled_from(LINKAGES))
def test_property_linkage_heights_match_scipy(X, method):
    Z = linkage(X, method)
    assert np.isfinite(Z).all() and Z[-1, 3] == len(X)
    assert (np.diff(Z[:, 2]) >= -1e-9 * (1 + Z[:, 2].max())).all()  # no inversions
    theirs = scipy_linkage(X, method)
    np.testing.assert_allclose(np.sort(Z[:, 2]), np.sort(theirs[:, 2]), rtol=1e-9,
                               atol=1e-9 * (1 + theirs[:, 2].max()))


distances = st.floats(0, 1e6)
sizes = st.floats(1, 1e3)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(LINKAGES), st.lists(distances, min_size=1, max_size=5), distances,
       distances, sizes, sizes, sizes)
def test_property_lance_williams_is_a_distance(method, d_ki, d_kj, d_ij, n_i, n_j, n_k):
    d_ki = np.array(d_ki)
    d = lance_williams(method, d_ki, d_kj, d_ij, n_i, n_j, n_k)
    assert d.shape == d_ki.shape and np.isfinite(d).all() and (d >= 0).all()
    low, high = np.minimum(d_ki, d_kj), np.maximum(d_ki, d_kj)
    if method != "ward":
        assert (d >= low * (1 - 1e-12)).all() and (d <= high * (1 + 1e-12)).all()


# -- hypothesis: bad input is a ValueError or TypeError that names the argument --

X0 = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [5.0, 5.0]])
C0 = X0[:2]
BAD_ARRAYS = [np.nan, [[np.inf, 0.0]], "text", [[1 + 1j, 0.0]], np.zeros((0, 2)),
              np.ones((2, 2, 2)), np.ones(3), [[np.nan, 0.0], [1.0, 2.0]]]
BAD_INTS = [0, -1, 2.5, True, "2", None, np.nan]
BAD_REALS = [np.nan, np.inf, -1.0, "1", True, None, 1j]
BAD_SEEDS = [-1, 1.5, "0", True, [1]]

CALLS = {  # argument name: (function of the bad value, bad values)
    "X": (lambda v: kmeans(v, 2), BAD_ARRAYS),
    "k": (lambda v: kmeans(X0, v), [*BAD_INTS, 5, 10**6]),
    "n_init": (lambda v: kmeans(X0, 2, n_init=v), BAD_INTS),
    "max_iter": (lambda v: kmeans(X0, 2, max_iter=v), BAD_INTS),
    "tol": (lambda v: kmeans(X0, 2, tol=v), BAD_REALS),
    "seed": (lambda v: kmeans(X0, 2, seed=v), BAD_SEEDS),
    "init": (lambda v: kmeans(X0, 2, init=v), [*BAD_ARRAYS, "random", np.ones((2, 3)),
                                              np.ones((3, 2))]),
    "C": (lambda v: squared_distances(X0, v), [*BAD_ARRAYS, np.ones((2, 3))]),
    "centers": (lambda v: nearest_center(X0, v), [*BAD_ARRAYS, np.ones((2, 3))]),
    "R": (lambda v: clustering.weighted_means(v, X0), [*BAD_ARRAYS, np.ones((3, 2)),
                                                      -np.ones((4, 2)), np.zeros((4, 2))]),
    "stiffness": (lambda v: soft_assignments(X0, C0, v), BAD_REALS),
    "labels": (lambda v: silhouette_samples(X0, v), [[0, 1], [0, 0, 0, 0], [0, 1, 2, 3],
                                                     [0, 1, -1, 1], [0.5, 1, 0, 1], "abcd",
                                                     np.zeros((4, 1))]),
    "method": (lambda v: linkage(X0, v), ["foo", "Ward", None, 1]),
    "d_ki": (lambda v: lance_williams("single", v, 1.0, 1.0, 1.0, 1.0, 1.0),
             [np.nan, -1.0, "a", [[1.0]], np.inf]),
    "n_k": (lambda v: lance_williams("ward", [1.0, 2.0], [1.0, 2.0], 1.0, 1.0, 1.0, v),
            [0.0, -1.0, [1.0, 2.0, 3.0], np.nan]),
    "d_ij": (lambda v: lance_williams("average", 1.0, 1.0, v, 1.0, 1.0, 1.0),
             [np.nan, -1.0, [1.0, 2.0]]),
}
CALLS["X "] = (lambda v: linkage(v), BAD_ARRAYS[:-1] + [np.ones((1, 2))])
CALLS["X  "] = (lambda v: kmeans_plusplus(v, 1), BAD_ARRAYS)
CALLS["k "] = (lambda v: kmeans_plusplus(X0, v), BAD_INTS)
CALLS["stiffness "] = (lambda v: soft_kmeans(X0, C0, v), BAD_REALS)
CALLS["max_iter "] = (lambda v: soft_kmeans(X0, C0, 1.0, max_iter=v), BAD_INTS)
CALLS["tol "] = (lambda v: soft_kmeans(X0, C0, 1.0, tol=v), BAD_REALS)
CALLS["centers "] = (lambda v: lloyd_step(X0, v), BAD_ARRAYS)
CALLS["X   "] = (lambda v: pairwise_distances(v), BAD_ARRAYS)
CALLS["X    "] = (lambda v: clustering.row_sq_norms(v), BAD_ARRAYS)
CALLS["X     "] = (lambda v: clustering.columns_with_ones(v), BAD_ARRAYS)
CALLS["init "] = (lambda v: soft_kmeans(X0, v, 1.0), BAD_ARRAYS)


test_property_bad_input_names_the_argument = names_the_argument(CALLS)


@pytest.mark.gpu
def test_gpu_offsets_and_edge_cases_match_the_cpu():
    backend.use("gpu")
    B, y = separated_blobs()
    X = backend.asarray(B + 1e9)
    fit = backend.to_device(kmeans(X, 2), "cpu")
    assert same_partition(fit.labels, y)
    assert fit.inertia == pytest.approx(kmeans(B + 1e9, 2).inertia, rel=1e-9)
    np.testing.assert_allclose(backend.to_numpy(silhouette_samples(X, backend.asarray(y))),
                               sk_silhouette_samples(B, y), atol=1e-7)
    centers = soft_kmeans(backend.asarray(B), backend.asarray([[0.0, 0.0], [100.0, 100.0]]),
                          1e3).centers
    assert np.isfinite(backend.to_numpy(centers)).all()
    Z = linkage(backend.asarray(B[:20]), "ward")
    np.testing.assert_allclose(Z, linkage(B[:20], "ward"), rtol=1e-12)
