import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial.distance import cosine as scipy_cosine_distance
from sklearn.metrics.pairwise import cosine_distances as sk_cosine_distances
from sklearn.metrics.pairwise import cosine_similarity as sk_cosine_similarity

from course_utils import backend
from course_utils.similarity import (
    cosine_distance,
    cosine_similarity,
    most_similar,
    normalize_rows,
)


# Integer-valued entries: exact zero rows are common, and non-zero norms stay far from the
# range where scikit-learn treats a tiny row as zero (norm below 10 * eps).
def integer_matrix(n, d):
    return arrays(np.float64, (n, d), elements=st.integers(-50, 50).map(float))


def test_the_lesson_example():
    assert math.isclose(cosine_similarity([1, 2, 3], [1, 1, 4]), 15 / math.sqrt(14 * 18),
                        rel_tol=1e-15)


def test_the_lesson_pairwise_example():
    got = cosine_similarity([[1, 2, 3], [4, 5, 6]], [[9, 8, 7], [6, 5, 4]])
    np.testing.assert_allclose(got, [[0.8827, 0.8528], [0.9655, 0.9481]], atol=5e-5)


@pytest.mark.parametrize("b, expected", [([2, 4], 1.0), ([-2, 1], 0.0), ([-1, -2], -1.0),
                                         ([-1, 3], 1 / math.sqrt(2))])
def test_sanity_angles(b, expected):
    # [1, 2] against: the same direction, 90, 180 and 45 degrees ([-1, 3] is [1, 2] turned 45).
    assert cosine_similarity([1, 2], b) == pytest.approx(expected, abs=1e-15)


@given(st.integers(1, 6).flatmap(lambda d: st.tuples(integer_matrix(4, d), integer_matrix(3, d))))
def test_pairwise_matches_scikit_learn(pair):
    a, b = pair
    np.testing.assert_allclose(cosine_similarity(a, b), sk_cosine_similarity(a, b), atol=1e-12)
    np.testing.assert_allclose(cosine_similarity(a), sk_cosine_similarity(a), atol=1e-12)
    np.testing.assert_allclose(cosine_distance(a, b), sk_cosine_distances(a, b), atol=1e-12)
    np.testing.assert_allclose(cosine_distance(a), sk_cosine_distances(a), atol=1e-12)


@given(arrays(np.float64, 5, elements=st.floats(-1e3, 1e3)),
       arrays(np.float64, 5, elements=st.floats(-1e3, 1e3)))
def test_one_pair_matches_scipy(a, b):
    if not a.any() or not b.any():
        assert cosine_similarity(a, b) == 0  # a zero vector: 0, as in scikit-learn
    else:  # SciPy squares the entries: give it vectors scaled to largest entry 1
        expected = 1 - scipy_cosine_distance(a / np.abs(a).max(), b / np.abs(b).max())
        assert cosine_similarity(a, b) == pytest.approx(expected, abs=1e-12)


def test_shapes_of_vector_against_rows():
    rows = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    assert cosine_similarity([1, 0], rows).shape == (3,)
    assert cosine_similarity(rows, [1, 0]).shape == (3,)
    np.testing.assert_allclose(cosine_similarity([1, 0], rows), [1, 0, 1 / math.sqrt(2)])
    assert np.ndim(cosine_similarity([1, 0], [0, 1])) == 0


def test_float32_stays_float32_and_ints_become_float64():
    a = np.ones((2, 3), np.float32)
    assert cosine_similarity(a).dtype == np.float32
    assert cosine_similarity(a[0], a[1]).dtype == np.float32
    assert normalize_rows(a).dtype == np.float32
    assert cosine_similarity(np.ones((2, 3), int)).dtype == np.float64
    assert cosine_similarity(a, np.ones((2, 3))).dtype == np.float64


def test_zero_vectors_as_scikit_learn():
    x = np.array([[0.0, 0.0], [1.0, 1.0]])
    np.testing.assert_allclose(cosine_similarity(x), sk_cosine_similarity(x), atol=1e-15)
    assert cosine_similarity(x)[0, 0] == 0 and cosine_similarity([0, 0], [0, 0]) == 0


@pytest.mark.parametrize("scale", [1e-300, 1e-200, 1e-160, 1e150, 1e200, 1e300])
def test_scale_does_not_change_the_cosine(scale):
    # Naively |a|^2 underflows to 0 or overflows to inf at these scales.
    a, b = np.array([3.0, 4.0, 0.0]), np.array([1.0, 2.0, 2.0])
    assert cosine_similarity(a * scale, b) == pytest.approx(11 / 15, rel=1e-14)
    assert cosine_similarity(a * scale, b * scale) == pytest.approx(11 / 15, rel=1e-14)


def test_float32_tiny_vectors():
    a = np.array([1e-30, 0], np.float32)
    assert cosine_similarity(a, np.float32([1, 1])) == pytest.approx(1 / math.sqrt(2), rel=1e-6)


def test_distance_diagonal_is_exactly_zero():
    x = np.random.default_rng(0).normal(size=(50, 7))
    assert np.all(np.diag(cosine_distance(x)) == 0)
    assert cosine_distance(x).min() >= 0 and cosine_distance(x).max() <= 2


@pytest.mark.parametrize("a, b, error, message", [
    ([1, 2], [1, 2, 3], ValueError, r"a and b must have the same number of .*\(2,\).*\(3,\)"),
    ([[1, 2]], [[1, 2, 3]], ValueError, "same number of features"),
    ([1, np.nan], [1, 2], ValueError, "a contains NaN or infinity"),
    ([1, 2], [np.inf, 2], ValueError, "b contains NaN or infinity"),
    (5.0, [1, 2], ValueError, "a must be 1-D or 2-D, got a 0-D array"),
    ([[[1.0]]], [[1.0]], ValueError, "a must be 1-D or 2-D, got a 3-D array of shape"),
    (["x", "y"], [1, 2], TypeError, "a must be numeric, got dtype <U1"),
    ([1, 2], [1j, 2], TypeError, "b must be real"),
    ([[1, 2], [3]], [1, 2], TypeError, "a must be a numeric array"),
    ([1, 2], [object(), 1], TypeError, "b must be numeric"),
    ([], [1], ValueError, "a is empty"),
])
def test_bad_input_names_the_argument(a, b, error, message):
    with pytest.raises(error, match=message):
        cosine_similarity(a, b)


def test_one_vector_needs_b():
    with pytest.raises(ValueError, match="b is required"):
        cosine_similarity([1, 2, 3])


def test_huge_finite_values_are_not_mistaken_for_infinity():
    big = np.full((2, 3), 1e308)  # their sum overflows, yet every entry is finite
    np.testing.assert_allclose(cosine_similarity(big), np.ones((2, 2)))


def test_most_similar_matches_brute_force():
    rng = np.random.default_rng(1)
    items, queries = rng.normal(size=(40, 6)), rng.normal(size=(5, 6))
    idx, sim = most_similar(queries, items, k=4)
    full = sk_cosine_similarity(queries, items)
    np.testing.assert_array_equal(idx, np.argsort(-full, axis=1)[:, :4])
    np.testing.assert_allclose(sim, np.sort(full, axis=1)[:, ::-1][:, :4], atol=1e-12)
    one_idx, one_sim = most_similar(queries[0], items, k=4)
    np.testing.assert_array_equal(one_idx, idx[0])
    assert one_sim.shape == (4,)


def test_most_similar_breaks_ties_by_index():
    items = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 0.0], [0.0, 3.0], [5.0, 0.0]])
    idx, sim = most_similar([1, 0], items, k=3)
    assert idx.tolist() == [1, 2, 4] and sim.tolist() == [1.0, 1.0, 1.0]
    assert most_similar([1, 0], items, k=5)[0].tolist() == [1, 2, 4, 0, 3]


@pytest.mark.parametrize("k, error, message", [(0, ValueError, "k must be between 1 and"),
                                               (4, ValueError, r"number of items \(3\)"),
                                               (2.0, TypeError, "k must be an int"),
                                               (True, TypeError, "k must be an int")])
def test_most_similar_validates(k, error, message):
    with pytest.raises(error, match=message):
        most_similar([1, 0], np.eye(3, 2), k=k)
    with pytest.raises(ValueError, match="items must be 2-D"):
        most_similar([1, 0], [1, 0])
    with pytest.raises(ValueError, match="queries and items must have the same number"):
        most_similar([1, 0, 0], np.eye(3, 2))


@pytest.mark.gpu
def test_gpu_matches_cpu():
    import cupy

    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(300, 17)), rng.normal(size=(200, 17))
    a[3] = 0
    for dtype in (np.float64, np.float32):
        ga, gb = cupy.asarray(a, dtype), cupy.asarray(b, dtype)
        got = cosine_similarity(ga, gb)
        assert isinstance(got, cupy.ndarray) and got.dtype == dtype
        tol = 1e-12 if dtype == np.float64 else 1e-5
        np.testing.assert_allclose(backend.to_numpy(got), cosine_similarity(a, b), atol=tol)
    np.testing.assert_allclose(backend.to_numpy(cosine_distance(cupy.asarray(a))),
                               cosine_distance(a), atol=1e-12)
    idx, _ = most_similar(cupy.asarray(b), cupy.asarray(a), k=5)
    np.testing.assert_array_equal(backend.to_numpy(idx), most_similar(b, a, k=5)[0])
    with pytest.raises(ValueError, match="a contains NaN"):
        cosine_similarity(cupy.asarray([np.nan, 1.0]), cupy.asarray([1.0, 1.0]))


def _gpu_cases(rng):
    """(name, fn, NumPy args) for every public function: each shape case the docstrings list."""
    a, b = rng.normal(size=(30, 7)), rng.normal(size=(20, 7))
    a[4] = 0  # a zero row
    return [("normalize_rows", normalize_rows, (a,)),
            ("normalize_rows, tiny and huge rows", normalize_rows, (a * 1e-200,)),
            ("normalize_rows, a stack", normalize_rows, (a.reshape(3, 10, 7),)),
            ("cosine_similarity, two 2-D", cosine_similarity, (a, b)),
            ("cosine_similarity, rows with each other", cosine_similarity, (a,)),
            ("cosine_similarity, vector against rows", cosine_similarity, (a[0], b)),
            ("cosine_similarity, rows against a vector", cosine_similarity, (a, b[0])),
            ("cosine_similarity, two vectors", cosine_similarity, (a[0], b[0])),
            ("cosine_distance, two 2-D", cosine_distance, (a, b)),
            ("cosine_distance, rows with each other", cosine_distance, (a,)),
            ("cosine_distance, two vectors", cosine_distance, (a[1], b[1])),
            ("most_similar, many queries", most_similar, (b, a, 5)),
            ("most_similar, one query", most_similar, (b[0], a, 3))]


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_function_follows_gpu_data_and_matches_numpy(dtype):
    import cupy

    for name, fn, args in _gpu_cases(np.random.default_rng(3)):
        host = [x.astype(dtype) if isinstance(x, np.ndarray) else x for x in args]
        got = fn(*[cupy.asarray(x) if isinstance(x, np.ndarray) else x for x in host])
        expected = fn(*host)
        for g, e in zip(*((got, expected) if isinstance(got, tuple) else ((got,), (expected,))),
                        strict=True):
            assert isinstance(g, cupy.ndarray), f"{name}: {type(g).__name__}, not on the GPU"
            assert g.dtype == np.asarray(e).dtype, name
            tol = 1e-12 if dtype == np.float64 else 1e-5
            np.testing.assert_allclose(g.get(), e, atol=tol, err_msg=name)


@pytest.mark.gpu
def test_lists_go_with_gpu_arrays_and_the_device_follows_asarray():
    import cupy

    rows = cupy.asarray([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    got = cosine_similarity([1, 0], rows)
    assert isinstance(got, cupy.ndarray)
    np.testing.assert_allclose(got.get(), [1, 0, 1 / math.sqrt(2)])
    assert isinstance(most_similar([1, 0], rows, k=2)[0], cupy.ndarray)
    backend.use("gpu")  # what the toggle does: data made with backend.asarray lands on the GPU
    a, b = backend.asarray([[1, 2, 3], [4, 5, 6]]), backend.asarray([[9, 8, 7], [6, 5, 4]])
    got = cosine_similarity(a, b)
    assert isinstance(got, cupy.ndarray)
    np.testing.assert_allclose(backend.to_numpy(got), [[0.8827, 0.8528], [0.9655, 0.9481]],
                               atol=5e-5)
    assert isinstance(cosine_distance(a), cupy.ndarray)


@pytest.mark.gpu
@pytest.mark.parametrize("call, named", [
    (lambda g, h: cosine_similarity(g, h), "b is a NumPy array"),
    (lambda g, h: cosine_similarity(h, g), "b is a CuPy array"),
    (lambda g, h: cosine_similarity(g[0], h), "b is a NumPy array"),
    (lambda g, h: cosine_distance(g, h), "b is a NumPy array"),
    (lambda g, h: cosine_distance(h, g), "b is a CuPy array"),
    (lambda g, h: most_similar(g, h), "items is a NumPy array"),
    (lambda g, h: most_similar(h[0], g), "items is a CuPy array"),
])
def test_mixed_devices_name_the_argument_and_say_rerun(call, named):
    import cupy

    h = np.random.default_rng(4).normal(size=(6, 3))
    with pytest.raises(backend.DeviceMismatchError, match=named) as failure:
        call(cupy.asarray(h), h)
    assert "re-run the lesson after switching" in str(failure.value)
    assert isinstance(failure.value, TypeError)


def test_normalize_rows_checks_x():
    """It used to take only float arrays: a list was an AttributeError, ints a NumPy error,
    NaN went through."""
    np.testing.assert_allclose(normalize_rows([3, 4]), [0.6, 0.8])
    np.testing.assert_allclose(normalize_rows(np.array([[3, 4], [0, 0]])), [[0.6, 0.8], [0, 0]])
    for x, error, message in [([1.0, np.nan], ValueError, "x contains NaN or infinity"),
                              (["a"], TypeError, "x must be numeric"),
                              ([], ValueError, "x is empty"),
                              (2.0, ValueError, "x must be a vector or rows of vectors"),
                              ([1j], TypeError, "x must be real")]:
        with pytest.raises(error, match=message):
            normalize_rows(x)


def test_a_row_with_itself_is_exactly_one_and_nothing_leaves_minus_one_one():
    x = np.float32([[3e38, 3e38, 1.0], [1e-40, 0, 0], [0, 0, 0], [1, 2, 3]])
    S = cosine_similarity(x)
    np.testing.assert_array_equal(np.diag(S), [1, 1, 0, 1])  # float32 rounding gave 0.99999994
    assert np.abs(S).max() <= 1
    rng = np.random.default_rng(5)
    a = rng.normal(size=(200, 3)).astype(np.float32)
    for got in (cosine_similarity(a, a), cosine_similarity(a), most_similar(a, a, 1)[1]):
        assert np.abs(got).max() <= 1  # a unit in the last place above 1 before the clip


# Property tests: every public function, on finite input of any scale, and on bad input.

MAGNITUDE = st.sampled_from([1e-300, 1e-150, 1e-20, 1.0, 1e20, 1e150, 1e300])


@st.composite
def matrices(draw, n=None, d=None, dtype=np.float64):
    n = draw(st.integers(1, 5)) if n is None else n
    d = draw(st.integers(1, 4)) if d is None else d
    x = draw(arrays(np.float64, (n, d), elements=st.integers(-9, 9).map(float)))
    scale = draw(MAGNITUDE) if dtype == np.float64 else draw(st.sampled_from([1e-30, 1.0, 1e30]))
    offset = draw(st.sampled_from([0.0, 1e4]))
    return ((x + offset) * scale).astype(dtype)


def pairs(dtype):
    return st.integers(1, 4).flatmap(lambda d: st.tuples(matrices(d=d, dtype=dtype),
                                                         matrices(d=d, dtype=dtype)))


@settings(max_examples=80, deadline=None)
@given(st.sampled_from([np.float64, np.float32]).flatmap(
    lambda dtype: st.tuples(pairs(dtype), st.just(dtype))))
def test_cosine_is_finite_in_range_and_symmetric(pair_dtype):
    (a, b), dtype = pair_dtype
    S = cosine_similarity(a, b)
    assert S.shape == (len(a), len(b)) and np.all(np.isfinite(S))
    assert np.abs(S).max() <= 1
    np.testing.assert_array_equal(S.T, cosine_similarity(b, a))
    D = cosine_distance(a, b)
    assert D.min() >= 0 and D.max() <= 2
    self_similarity = cosine_similarity(a)
    np.testing.assert_array_equal(np.diag(self_similarity), (a != 0).any(axis=1))
    assert np.all(np.diag(cosine_distance(a)) == 0)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(cosine_similarity(a * 4, b / 8), S, atol=tol)  # scale-free


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([np.float64, np.float32]).flatmap(
    lambda dtype: st.tuples(matrices(dtype=dtype), st.just(dtype))))
def test_normalized_rows_have_norm_one_or_zero(x_dtype):
    x, dtype = x_dtype
    unit = normalize_rows(x)
    assert unit.dtype == dtype and np.all(np.isfinite(unit))
    norms = np.linalg.norm(unit.astype(np.float64), axis=-1)
    expected = (x != 0).any(axis=-1).astype(float)
    np.testing.assert_allclose(norms, expected, atol=1e-6 if dtype == np.float32 else 1e-14)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4).flatmap(lambda d: st.tuples(matrices(d=d), matrices(d=d))),
       st.data())
def test_most_similar_is_sorted_in_range_and_agrees_with_the_matrix(pair, data):
    queries, items = pair
    k = data.draw(st.integers(1, len(items)))
    best, sims = most_similar(queries, items, k)
    assert best.shape == sims.shape == (len(queries), k)
    assert np.all(np.diff(sims, axis=1) <= 0) and np.abs(sims).max() <= 1
    S = np.clip(normalize_rows(queries) @ normalize_rows(items).T, -1, 1)
    np.testing.assert_array_equal(np.take_along_axis(S, best, axis=1), sims)


BAD_ARRAYS = st.sampled_from([[np.nan, 1.0], [np.inf, 0.0], ["a", "b"], [], None, [1j, 1.0],
                              [[1.0, 2.0], [3.0]]])


@settings(max_examples=40, deadline=None)
@given(BAD_ARRAYS, st.booleans())
def test_bad_arrays_name_the_argument(bad, first):
    good = [1.0, 2.0]
    a, b = (bad, good) if first else (good, bad)
    name = "a" if first else "b"
    for fn in (cosine_similarity, cosine_distance):
        with pytest.raises((ValueError, TypeError), match=rf"\b{name}\b"):
            fn(a, b)
    with pytest.raises((ValueError, TypeError), match="queries" if first else "items"):
        most_similar(a, [b] if not first else [good], 1)
    with pytest.raises((ValueError, TypeError), match=r"\bx\b"):
        normalize_rows(bad)


@settings(max_examples=30, deadline=None)
@given(st.one_of(st.integers(-3, 0), st.integers(4, 100), st.floats(), st.booleans(),
                 st.none(), st.text(max_size=1)))
def test_bad_k_names_k(k):
    with pytest.raises((ValueError, TypeError), match=r"\bk\b"):
        most_similar([1.0, 0.0], np.eye(3, 2), k)
