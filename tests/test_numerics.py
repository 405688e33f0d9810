"""The shared numerical building blocks against SciPy's, at any magnitude and in float32."""

import numpy as np
import pytest
import scipy.special
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from course_utils import numerics

finite = st.floats(-1e300, 1e300, allow_nan=False)
any_array = arrays(np.float64, array_shapes(max_dims=3, max_side=5), elements=finite)
logs = arrays(np.float64, array_shapes(min_dims=1, max_dims=3, max_side=5),
              elements=st.one_of(st.floats(-1e300, 700, allow_nan=False), st.just(-np.inf)))


@given(any_array)
def test_sigmoid_is_scipy_s_expit_without_overflow(x):
    with np.errstate(over="ignore"):
        np.testing.assert_allclose(numerics.sigmoid(x), scipy.special.expit(x), rtol=1e-15,
                                   atol=0)


@given(any_array)
def test_log_sigmoid_and_softplus_are_scipy_s(x):
    np.testing.assert_allclose(numerics.log_sigmoid(x), scipy.special.log_expit(x),
                               rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(numerics.softplus(x), np.logaddexp(0, x), rtol=1e-14,
                               atol=1e-300)
    assert (numerics.softplus(x) >= np.maximum(x, 0)).all()


@given(arrays(np.float64, array_shapes(min_dims=1, max_dims=3, max_side=5),
              elements=st.floats(-1e6, 1e6)), st.integers(-3, 2))
def test_softmax_sums_to_one_along_its_axis_like_scipy(x, axis):
    if not -x.ndim <= axis < x.ndim:
        with pytest.raises(ValueError, match="axis must be between"):
            numerics.softmax(x, axis)
        return
    p = numerics.softmax(x, axis)
    np.testing.assert_allclose(p, scipy.special.softmax(x, axis=axis), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(p.sum(axis=axis), 1, rtol=1e-12)


@given(logs, st.integers(0, 2))
def test_logsumexp_is_scipy_s_and_takes_log_zero(a, axis):
    axis = min(axis, a.ndim - 1)
    with np.errstate(divide="ignore"):
        expected = scipy.special.logsumexp(a, axis=axis)
    np.testing.assert_allclose(numerics.logsumexp(a, axis), expected, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(numerics.logsumexp(a.copy(), axis, overwrite=True), expected,
                               rtol=1e-12, atol=1e-300)


def test_float32_stays_float32():
    x = np.linspace(-90, 90, 7, dtype=np.float32)
    for fn in (numerics.sigmoid, numerics.log_sigmoid, numerics.softplus, numerics.softmax):
        assert fn(x).dtype == np.float32


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: numerics.sigmoid([1.0, np.nan]), ValueError, "x contains NaN"),
    (lambda: numerics.sigmoid("a"), TypeError, "x must be numeric"),
    (lambda: numerics.softmax(np.ones((2, 2)), axis=1.0), TypeError, "axis must be an int"),
    (lambda: numerics.logsumexp([0.0, np.inf], 0), ValueError, "a contains NaN or \\+inf"),
    (lambda: numerics.logsumexp(np.float64(1.0), 0), ValueError, "a must have at least one"),
    (lambda: numerics.logsumexp([1.0], 1), ValueError, "axis must be between"),
])
def test_bad_input_names_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.gpu
def test_they_follow_their_data_to_the_gpu():
    from course_utils import backend

    backend.use("gpu")
    x = backend.asarray([-2.0, 0.0, 3.0])
    for fn in (numerics.sigmoid, numerics.softplus, numerics.softmax):
        out = fn(x)
        assert backend.is_cupy_array(out)
        np.testing.assert_allclose(backend.to_numpy(out), fn(backend.to_numpy(x)), rtol=1e-15)
    assert backend.is_cupy_array(numerics.logsumexp(x, 0))
