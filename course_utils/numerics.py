"""The numerical building blocks every model shares, each written once, stable by design.

sigmoid, log_sigmoid and softplus never overflow (exp only ever sees -|x|); softmax and
logsumexp factor the largest term out. Each follows its data (NumPy in, NumPy out; CuPy in,
CuPy out) and keeps float32 as float32.
"""

import numpy as np

from ._checks import Array, Bool, Check, Int, checked
from .backend import get_array_module


class _LogValues(Check):
    """An array of at least one axis holding logs: NaN and +inf refused, -inf (log 0) welcome."""

    def __call__(self, value, name, values, xp):
        xp = xp or get_array_module(value)
        arr = xp.asarray(value)
        if arr.dtype.kind not in "fiub":
            raise TypeError(f"{name} must be a real array, got dtype {arr.dtype}")
        arr = arr if arr.dtype.kind == "f" else arr.astype(xp.float64)
        if arr.ndim == 0:
            raise ValueError(f"{name} must have at least one axis, got a 0-D array")
        if arr.size == 0:
            raise ValueError(f"{name} is empty (shape {arr.shape})")
        if bool(xp.isnan(arr).any()) or bool((arr == xp.inf).any()):
            raise ValueError(f"{name} contains NaN or +inf (a log value is finite or -inf)")
        return arr

    def device_of(self, value):
        return value


@checked(x=Array(ndim=None))
def sigmoid(x):
    """σ(x) = 1 / (1 + e^-x) elementwise, without overflow and accurate in both tails.

    Parameters
    ----------
    x : finite array of any shape

    Returns
    -------
    array of x's shape and device, entries in [0, 1]
    """
    xp = get_array_module(x)
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


@checked(x=Array(ndim=None))
def log_sigmoid(x):
    """log σ(x) = -log(1 + e^-x) elementwise, without overflow (-softplus(-x)).

    Parameters
    ----------
    x : finite array of any shape

    Returns
    -------
    array of x's shape and device, entries <= 0
    """
    return -softplus(-x)


@checked(x=Array(ndim=None))
def softplus(x):
    """log(1 + e^x) elementwise, without overflow: max(x, 0) + log1p(e^-|x|).

    Parameters
    ----------
    x : finite array of any shape

    Returns
    -------
    array of x's shape and device, entries >= 0 (and >= x)
    """
    xp = get_array_module(x)
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


@checked(x=Array(ndim=None), axis=Int(low=lambda v: -max(v["x"].ndim, 1),
                                      high=lambda v: max(v["x"].ndim, 1) - 1))
def softmax(x, axis=-1):
    """e^x / sum(e^x) along axis, without overflow: the largest entry is subtracted first.

    Parameters
    ----------
    x : finite array of at least one axis
    axis : int, the axis the probabilities sum over (default the last)

    Returns
    -------
    array of x's shape and device, non-negative, summing to 1 along axis
    """
    xp = get_array_module(x)
    e = xp.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@checked(a=_LogValues(), axis=Int(low=lambda v: -v["a"].ndim, high=lambda v: v["a"].ndim - 1),
         overwrite=Bool())
def logsumexp(a, axis, *, overwrite=False):
    """log(sum(exp(a))) along axis, without overflow: the largest term is factored out.

    Parameters
    ----------
    a : array of at least one axis, of logs (-inf, log 0, is welcome; NaN and +inf are not)
    axis : int, the axis summed over
    overwrite : bool, use a (a float array) as scratch space: one copy fewer in hot loops

    Returns
    -------
    array of a's shape less that axis; -inf where every term is -inf
    """
    xp = get_array_module(a)
    peak = a.max(axis=axis, keepdims=True)
    peak = xp.where(xp.isfinite(peak), peak, 0)  # a row of -inf gives -inf, not NaN
    a = a if overwrite else a.copy()
    a -= peak
    with np.errstate(divide="ignore"):  # log 0 = -inf for a row of -inf: the right answer
        return xp.log(xp.exp(a, out=a).sum(axis=axis)) + peak.squeeze(axis)
