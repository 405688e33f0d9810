"""Checking a gradient against central differences: the one numerical reference of the course.

numerical_gradient nudges one entry at a time (a by-hand loop, obviously correct);
relative_error compares two gradients; compare_gradients does both for every array of a model,
given the scalar it computes and the gradients backpropagation gave. nn.gradient_check and
rnn.gradient_check build those for their models and call it.
"""

import math

import numpy as np

from ._checks import Array, Check, Custom, Function, Real, checked
from .backend import get_array_module


class _WriteableFloats(Check):
    """A finite float array that numerical_gradient may change in place (and restores)."""

    def __call__(self, value, name, values, xp):
        xp = xp or get_array_module(value)
        if not isinstance(value, xp.ndarray) or value.dtype.kind != "f":
            raise TypeError(f"{name} must be a float array (changed in place), got "
                            f"{type(value).__name__} of dtype {getattr(value, 'dtype', None)}")
        if not getattr(getattr(value, "flags", None), "writeable", True):
            raise ValueError(f"{name} is read-only; numerical_gradient changes it in place")
        Array(ndim=None)(value, name, values, xp)  # finite, non-empty
        return value

    def device_of(self, value):
        return value


@checked(f=Function("a function of no arguments"), x=_WriteableFloats(),
         eps=Real(low=0, low_open=True))
def numerical_gradient(f, x, eps=1e-6):
    """Central differences (f(x + εeᵢ) - f(x - εeᵢ)) / 2ε for every entry i of the array x.

    f takes no arguments and reads x, which is changed in place and restored. Error O(ε²).
    A by-hand reference, one entry at a time: on a GPU each entry costs two evaluations and
    a few device-to-host reads (.item(), float), fine for the small arrays it checks. Any
    layout works (a transposed view included): each entry is written through its index.

    Parameters
    ----------
    f : callable returning a real scalar.
    x : writeable float array of any shape (NumPy or CuPy), finite.
    eps : float > 0, the step ε.

    Returns
    -------
    array of x's shape and dtype, on x's device: the gradient of f with respect to x.
    """
    grad = get_array_module(x).zeros(x.shape, dtype=x.dtype)
    for i in np.ndindex(x.shape):  # x[i] writes x itself, contiguous or not
        old = x[i].item()
        x[i] = old + eps
        f_plus = float(f())
        x[i] = old - eps
        f_minus = float(f())
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def _same_shape_as_a(b, name, values, xp):
    b = Array(ndim=None)(b, name, values, xp)
    if b.shape != values["a"].shape:
        raise ValueError(f"a and {name} must have one shape, got {values['a'].shape} and "
                         f"{b.shape}")
    return b


@checked(a=Array(ndim=None), b=Custom(_same_shape_as_a, values=True, device_of=lambda b: b))
def relative_error(a, b):
    """‖a - b‖ / (‖a‖ + ‖b‖): 0 when equal, 1 when opposite; 0 when both are zero.

    Both arrays are first multiplied by the power of two that brings their largest |entry|
    into [0.5, 1) (exact, and the ratio does not change), so that no square overflows (entries
    of 1e200) or underflows (entries of 1e-200, or their differences) on the way.

    Parameters
    ----------
    a, b : finite arrays of one shape, on one device.

    Returns
    -------
    float in [0, 1].
    """
    xp = get_array_module(a)
    peak = float(max(xp.abs(a).max(), xp.abs(b).max()))
    if peak == 0:
        return 0.0
    exponent = math.frexp(peak)[1]  # peak = m 2^exponent, m in [0.5, 1)
    a, b = xp.ldexp(a, -exponent), xp.ldexp(b, -exponent)
    with np.errstate(under="ignore"):
        return float(xp.linalg.norm(a - b)) / float(xp.linalg.norm(a) + xp.linalg.norm(b))


def _variables(arrays, name, values, xp):
    """arrays as a non-empty dict of name to writeable float array, all on one device."""
    if not isinstance(arrays, dict) or not arrays:
        raise TypeError(f"{name} must be a non-empty dict of name to array, got "
                        f"{type(arrays).__name__}")
    xp = get_array_module(next(iter(arrays.values())))
    return {key: _WriteableFloats()(x, f"{name}[{key!r}]", values, xp)
            for key, x in arrays.items()}


def _gradients_for(analytic, name, values, xp):
    """analytic as a dict holding, for every array of values["arrays"], a finite gradient of
    its shape on its device."""
    arrays = values["arrays"]
    if not isinstance(analytic, dict):
        raise TypeError(f"{name} must be a dict of name to array, got {type(analytic).__name__}")
    missing = set(arrays) - set(analytic)
    if missing:
        raise ValueError(f"{name} has no gradient for {sorted(missing)}")
    checked_gradients = {}
    for key, x in arrays.items():
        g = Array(ndim=None)(analytic[key], f"{name}[{key!r}]", values, get_array_module(x))
        if g.shape != x.shape:
            raise ValueError(f"{name}[{key!r}] has shape {g.shape}, arrays[{key!r}] has "
                             f"{x.shape}")
        checked_gradients[key] = g
    return checked_gradients


@checked(scalar=Function("a function of no arguments"), arrays=Custom(_variables, values=True),
         analytic=Custom(_gradients_for, values=True), eps=Real(low=0, low_open=True))
def compare_gradients(scalar, arrays, analytic, *, eps=1e-6):
    """The relative error between each analytic gradient and central differences of scalar.

    Parameters
    ----------
    scalar : callable of no arguments returning a real number, reading the arrays (which
        numerical_gradient changes in place and restores)
    arrays : dict of name to writeable float array, the variables
    analytic : dict of name to array of the same shape, what backpropagation gave for each
    eps : float > 0, the central-difference step

    Returns
    -------
    dict of name to float in [0, 1], in the order of arrays
    """
    return {name: relative_error(analytic[name], numerical_gradient(scalar, x, eps))
            for name, x in arrays.items()}
