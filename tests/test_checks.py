"""The validation layer every public function calls: what passes, what fails, and the message."""

import math
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from course_utils import _checks, _deprecated, backend
from course_utils._checks import (
    array_module,
    check_array,
    check_choice,
    check_float_dtype,
    check_int,
    check_int_array,
    check_labels,
    check_probability,
    check_real,
    check_seed,
    check_xp,
    rng_from,
    seed_to_int,
)

finite = st.floats(allow_nan=False, allow_infinity=False)
not_real = st.one_of(st.booleans(), st.text(max_size=3), st.none(), st.complex_numbers(),
                     st.lists(finite, max_size=2))


@given(finite, finite, finite)
def test_check_real_accepts_exactly_the_closed_interval(value, a, b):
    low, high = min(a, b), max(a, b)
    inside = low <= value <= high
    if inside:
        assert check_real(value, "x", low=low, high=high) == value
    else:
        with pytest.raises(ValueError, match=r"x must be in \[.*\], got"):
            check_real(value, "x", low=low, high=high)


@given(finite)
def test_check_real_open_ends_exclude_the_bound(bound):
    with pytest.raises(ValueError, match=r"lr must be in \("):
        check_real(bound, "lr", low=bound, low_open=True)
    with pytest.raises(ValueError, match=r"lr must be in \(-inf, .*\)"):
        check_real(bound, "lr", high=bound, high_open=True)
    assert check_real(bound, "lr", low=bound) == bound


@given(not_real)
def test_check_real_refuses_what_is_not_a_real_number(value):
    with pytest.raises(TypeError, match="bandwidth must be a real number"):
        check_real(value, "bandwidth")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, np.float32("nan")])
def test_check_real_refuses_nan_and_infinity(value):
    with pytest.raises(ValueError, match="tol must be finite"):
        check_real(value, "tol", low=0)


def test_check_real_takes_numpy_reals_as_python_floats():
    for value in (np.float32(0.5), np.float64(0.5), np.int64(2), 3):
        out = check_real(value, "x")
        assert type(out) is float and out == float(value)


@given(st.floats(allow_nan=False))
def test_check_probability(p):
    if 0 <= p <= 1:
        assert check_probability(p, "noise") == p
    else:
        with pytest.raises(ValueError, match="noise must be"):
            check_probability(p, "noise")


@given(st.integers(-10, 10), st.integers(-10, 10))
def test_check_int_bounds(value, low):
    if value >= low:
        assert check_int(value, "k", low=low) == value
    else:
        with pytest.raises(ValueError, match=f"k must be at least {low}"):
            check_int(value, "k", low=low)


@pytest.mark.parametrize("value", [2.0, True, "3", None, np.float64(2)])
def test_check_int_refuses_non_integers(value):
    with pytest.raises(TypeError, match="k must be an int"):
        check_int(value, "k")


@given(st.text(max_size=5))
def test_check_choice_never_maps_an_unknown_string_to_a_default(value):
    choices = ("ward", "single", "complete")
    if value in choices:
        assert check_choice(value, "method", choices) == value
    else:
        with pytest.raises(ValueError, match=r"method must be one of \['complete', 'single', "
                                             r"'ward'\], got"):
            check_choice(value, "method", choices)


@pytest.mark.parametrize("value", [None, 1, b"ward", ["ward"]])
def test_check_choice_refuses_what_is_not_a_string(value):
    with pytest.raises(TypeError, match="method must be one of"):
        check_choice(value, "method", ("ward",))


@given(arrays(np.int64, st.integers(1, 20), elements=st.integers(-3, 6)),
       st.integers(1, 6))
def test_check_labels_accepts_exactly_labels_in_range(y, n_classes):
    if y.min() >= 0 and y.max() < n_classes:
        out = check_labels(y, "y", n_classes=n_classes)
        assert out.dtype == np.int64 and np.array_equal(out, y)
    else:
        with pytest.raises(ValueError, match=rf"y must hold class labels in \[0, {n_classes}\)"):
            check_labels(y, "y", n_classes=n_classes)


def test_check_labels_refuses_fractions_shapes_and_text():
    assert check_labels(np.array([0.0, 2.0]), "y", n_classes=3).tolist() == [0, 2]
    assert check_labels([True, False], "y", n_classes=2).tolist() == [1, 0]
    for bad, error, message in [([0.5, 1.0], ValueError, "whole-number"),
                                ([np.nan, 1.0], ValueError, "whole-number"),
                                ([[0, 1], [1, 0]], ValueError, "must be 1-D"),
                                ([], ValueError, "is empty"),
                                (["a", "b"], TypeError, "integer class labels"),
                                ([0, 1, 1], ValueError, "3 labels for 2 samples")]:
        with pytest.raises(error, match=message):
            check_labels(bad, "y", n_classes=2, n_samples=2)


@given(st.one_of(st.integers(-5, 2**70), st.none(), st.booleans(), finite, st.text(max_size=2)))
def test_check_seed_takes_non_negative_ints_none_and_generators(seed):
    if seed is None or (isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0):
        assert check_seed(seed) == seed
        assert 0 <= seed_to_int(seed) < 2**64
        assert isinstance(rng_from(seed), np.random.Generator)
    elif isinstance(seed, int) and not isinstance(seed, bool):
        with pytest.raises(ValueError, match="seed must be a non-negative int"):
            check_seed(seed)
    else:
        with pytest.raises(TypeError, match="seed must be a non-negative int, None or"):
            check_seed(seed)


def test_seeds_are_reproducible_and_generators_continue_their_stream():
    assert rng_from(7).random() == rng_from(7).random()
    assert seed_to_int(7) == seed_to_int(7) == 7
    generator = np.random.default_rng(0)
    assert rng_from(generator) is generator
    assert seed_to_int(generator) != seed_to_int(generator)  # two draws from one stream


@given(arrays(np.float64, st.integers(1, 5), elements=finite))
def test_check_array_keeps_finite_floats(x):
    out = check_array(x, "X", ndim=(1,))
    assert out.dtype == np.float64 and np.array_equal(out, x)


def test_check_array_names_the_argument():
    for bad, error, message in [([np.inf], ValueError, "X contains NaN or infinity"),
                                (np.ones((2, 2, 2)), ValueError, "X must be 1-D or 2-D"),
                                (np.array([]), ValueError, "X is empty"),
                                (np.array([1j]), TypeError, "X must be real"),
                                (np.array(["a"]), TypeError, "X must be numeric")]:
        with pytest.raises(error, match=message):
            check_array(bad, "X")


@pytest.mark.gpu
def test_the_first_array_sets_the_device_and_others_are_named():
    import cupy

    on_gpu, on_cpu = cupy.ones(2), np.ones(2)
    assert array_module(X=on_gpu, w=[1.0], v=None) is cupy
    with pytest.raises(backend.DeviceMismatchError, match="centres is a NumPy array"):
        array_module(X=on_gpu, centres=on_cpu)
    with pytest.raises(backend.DeviceMismatchError, match="y is"):
        check_labels(on_cpu.astype(int), "y", xp=cupy)
    assert check_labels(cupy.asarray([0, 1]), "y", n_classes=2).tolist() == [0, 1]


@given(arrays(np.int64, st.integers(1, 8), elements=st.integers(-3, 9)), st.integers(1, 8))
def test_check_int_array_accepts_exactly_ints_in_range(x, high):
    if x.min() >= 0 and x.max() < high:
        assert np.array_equal(check_int_array(x, "edges", high=high), x)
    else:
        with pytest.raises(ValueError, match=rf"edges must hold ints in \[0, {high}\), got"):
            check_int_array(x, "edges", high=high)


def test_check_int_array_refuses_floats_bools_and_empties():
    for bad, error, message in [([1.0, 2.0], TypeError, "counts must hold ints"),
                                ([True, False], TypeError, "counts must hold ints"),
                                ([[1, 2]], ValueError, "counts must be 1-D"),
                                ([], TypeError, "counts must hold ints"),  # float64 when empty
                                (np.array([], dtype=int), ValueError, "counts is empty")]:
        with pytest.raises(error, match=message):
            check_int_array(bad, "counts", ndim=1)
    assert check_int_array(np.array([], dtype=int), "i", empty_ok=True).size == 0


@pytest.mark.gpu
def test_check_xp_takes_none_and_the_array_modules_only():
    import cupy

    assert check_xp(None) is np  # the current device: the CPU until use("gpu")
    backend.use("gpu")
    assert check_xp(None) is cupy
    assert check_xp(np) is np and check_xp(cupy) is cupy


@given(st.one_of(st.text(max_size=6), st.integers(), st.booleans(), st.just(math)))
def test_check_xp_refuses_anything_else_naming_the_argument(value):
    with pytest.raises(TypeError, match="^xp must be None .*numpy or cupy"):
        check_xp(value)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, "float32", np.dtype("float64")])
def test_check_float_dtype_takes_float_dtypes(dtype):
    assert check_float_dtype(dtype) == np.dtype(dtype)


@pytest.mark.parametrize("dtype", [np.int64, bool, np.complex128, "int8", "not a dtype", object])
def test_check_float_dtype_refuses_the_rest_naming_the_argument(dtype):
    with pytest.raises(TypeError, match="^dtype must be a float dtype"):
        check_float_dtype(dtype)


# ----------------------------------------------------------------------------- declared checks


class Counting(_checks.Check):
    """Counts how often it runs, and passes the value on."""

    def __init__(self):
        self.runs = 0

    def __call__(self, value, name, values, xp):
        self.runs += 1
        return value


def test_checks_run_at_the_outermost_checked_call_only():
    counter = Counting()

    @_checks.checked(x=counter)
    def inner(x):
        return x

    @_checks.checked(x=_checks.Int())
    def outer(x):
        return inner(x) + inner(x)

    assert outer(2) == 4 and counter.runs == 0  # outer checked x; inner trusts it
    assert inner(3) == 3 and counter.runs == 1  # called from outside: checked


def test_a_learner_s_callable_runs_its_own_checks_again():
    counter = Counting()

    @_checks.checked(x=counter)
    def public(x):
        return x

    @_checks.checked(fn=_checks.Function())
    def calls_back(fn):
        return fn(1)

    calls_back(lambda v: public(v))
    assert counter.runs == 0
    calls_back(_checks.from_outside(lambda v: public(v)))
    assert counter.runs == 1


def test_declared_checks_convert_name_the_argument_and_may_depend_on_earlier_ones():
    @_checks.checked(X=_checks.Array(ndim=(2,)),
                     k=_checks.Int(high=lambda v: v["X"].shape[0], high_is="n_samples"))
    def first_rows(X, k=1):
        return X[:k]

    np.testing.assert_array_equal(first_rows([[1, 2], [3, 4]], 1), [[1.0, 2.0]])
    with pytest.raises(ValueError, match=r"k must be between 1 and n_samples \(2\), got 3"):
        first_rows([[1, 2], [3, 4]], 3)
    with pytest.raises(ValueError, match="X must be 2-D"):
        first_rows([1, 2])
    with pytest.raises(TypeError, match="checked: .* has no parameters \\['y'\\]"):
        _checks.checked(y=_checks.Int())(lambda x: x)


@pytest.mark.gpu
def test_declared_arrays_must_share_a_device():
    @_checks.checked(a=_checks.Array(), b=_checks.Array())
    def add(a, b):
        return a + b

    backend.use("gpu")
    with pytest.raises(backend.DeviceMismatchError, match="^b is a NumPy array"):
        add(backend.asarray([1.0]), np.array([1.0]))


def test_check_fields_checks_a_container_built_from_outside_only():
    @dataclass(frozen=True)
    class Pair:
        left: object
        size: int

        def __post_init__(self):
            _checks.check_fields(self, left=_checks.Array(ndim=(1,)), size=_checks.Int())

    pair = Pair([1, 2], 3)
    assert isinstance(pair.left, np.ndarray) and pair.left.dtype == np.float64
    with pytest.raises(ValueError, match="Pair.size must be at least 1"):
        Pair([1.0], 0)

    @_checks.checked(n=_checks.Int())
    def build(n):
        return Pair("not checked inside", n)

    assert build(1).left == "not checked inside"


def test_renamed_keywords_still_work_with_a_warning():
    @_deprecated.renamed_keywords(n_iters="n_iter")
    def fit(n_iter=10):
        return n_iter

    with pytest.warns(DeprecationWarning, match=r"fit\(n_iters=...\) is now fit\(n_iter=...\)"):
        assert fit(n_iters=3) == 3
    with pytest.raises(TypeError, match="got both n_iters= and n_iter="):
        fit(n_iters=3, n_iter=4)
