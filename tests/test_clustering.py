import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.cluster.hierarchy import linkage as scipy_linkage
from scipy.spatial.distance import cdist
from sklearn.cluster import KMeans
from sklearn.datasets import load_iris, make_blobs
from sklearn.metrics import silhouette_samples as sk_silhouette_samples

from course_utils import backend, clustering
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
    labels, nearest = nearest_center(X, C, columns)
    full = cdist(X, C, "sqeuclidean")
    np.testing.assert_array_equal(labels, full.argmin(axis=1))
    np.testing.assert_allclose(nearest, full.min(axis=1), atol=1e-9)
    new, step_labels = clustering._lloyd_step_fast(X, C, columns)
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


STEPS = [lloyd_step, clustering._lloyd_step_fast]  # the plain step and the tuned one


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
            clustering._lloyd_step_fast(X, fast)
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
    fast, fast_labels = clustering._lloyd_step_fast(X, centers)
    np.testing.assert_array_equal(labels, fast_labels)
    np.testing.assert_allclose(new, fast, rtol=1e-12, atol=1e-12)
    assert np.isfinite(new).all() and new.shape == centers.shape
    assert labels.min() >= 0 and labels.max() < k
    before = ((X - centers[labels]) ** 2).sum()
    assert nearest_center(X, new)[1].sum() <= before + 1e-9


def test_soft_kmeans_limits():
    X = blobs(k=3)
    init = kmeans_plusplus(X, 3, seed=0)
    hard = kmeans(X, 3, init=init)
    centers, R, _ = soft_kmeans(X, init, stiffness=50.0)
    np.testing.assert_allclose(R.sum(axis=1), 1)
    np.testing.assert_array_equal(R.argmax(axis=1), hard.labels)
    np.testing.assert_allclose(centers, hard.centers, atol=1e-6)
    flat, R0, _ = soft_kmeans(X, init, stiffness=0.0)
    np.testing.assert_allclose(R0, 1 / 3)
    np.testing.assert_allclose(flat, np.broadcast_to(X.mean(axis=0), (3, 3)), atol=1e-12)


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
    (lambda: kmeans(np.ones((3, 2)), 2, tol=-1e-4), ValueError, "tol must be >= 0"),
    (lambda: soft_kmeans(np.ones((3, 2)), np.ones((2, 2)), -1.0), ValueError, "stiffness"),
    (lambda: linkage(np.ones((3, 2)), "centroid"), ValueError, "method must be one of"),
    (lambda: linkage(np.ones((1, 2))), ValueError, "at least 2 samples"),
    (lambda: silhouette_samples(np.ones((4, 2)), [0, 0, 0, 0]), ValueError, "between 2 and"),
    (lambda: silhouette_samples(np.ones((4, 2)), [0, 1]), ValueError, r"labels must have shape"),
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
    _, R, _ = soft_kmeans(cupy.asarray(X), cupy.asarray(init), 0.5)
    np.testing.assert_allclose(backend.to_numpy(R), soft_kmeans(X, init, 0.5)[1], atol=1e-9)


def assert_followed(got, expected, cupy, rtol=1e-10, atol=1e-12):
    """got is expected computed on the GPU: its arrays are CuPy arrays with the same values."""
    if isinstance(expected, np.ndarray):
        assert isinstance(got, cupy.ndarray), f"expected a CuPy array, got {type(got)}"
        np.testing.assert_allclose(got.get(), expected, rtol=rtol, atol=atol)
    elif isinstance(expected, tuple):
        assert len(got) == len(expected)
        for a, b in zip(got, expected, strict=True):
            assert_followed(a, b, cupy, rtol, atol)
    elif isinstance(expected, clustering.KMeansResult):
        for field in ("centers", "labels", "inertia", "n_iter"):
            assert_followed(getattr(got, field), getattr(expected, field), cupy, rtol, atol)
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
        (nearest_center, X, C, clustering.columns_with_ones(X)),
        (clustering.weighted_means, R, X),
        (lloyd_step, X, C),
        (clustering._lloyd_step_fast, X, C),
        (clustering._lloyd_step_fast, X, C, clustering.columns_with_ones(X)),
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
    assert clustering.row_blocks(10, 3, 9) == [slice(0, 3), slice(3, 6), slice(6, 9),
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
    comparison = backend.compare_devices(kmeans, host, 4, init=cpu.centers, quiet=True)
    assert comparison.gpu is not None


@pytest.mark.gpu
@pytest.mark.parametrize("call, name", [
    (lambda g, X, C: squared_distances(g(X), C), "C is a NumPy array"),
    (lambda g, X, C: squared_distances(X, g(C)), "C is a CuPy array"),
    (lambda g, X, C: nearest_center(g(X), C), "centers is a NumPy array"),
    (lambda g, X, C: lloyd_step(g(X), C), "centers is a NumPy array"),
    (lambda g, X, C: clustering._lloyd_step_fast(g(X), C), "centers is a NumPy array"),
    (lambda g, X, C: clustering._lloyd_step_fast(g(X), g(C), clustering.columns_with_ones(X)),
     "columns is a"),
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
