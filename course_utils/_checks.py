"""Input checks done once at the public boundary, with messages that name the argument."""

import numbers

import numpy as np

from .backend import RERUN, DeviceMismatchError, get_array_module, is_cupy_array, where


def check_array(x, name, *, ndim=(1, 2), xp=None):
    """x as a finite, non-empty float array of an allowed rank, on module xp.

    Floats keep their precision (float16 becomes float32); integers and booleans become
    float64. Complex, text and object data raise TypeError; the wrong rank, an empty array
    or NaN/inf raise ValueError. An array on the other device than xp raises
    DeviceMismatchError (a TypeError) naming x: arrays are moved explicitly, never silently.
    """
    xp = xp or get_array_module(x)
    check_device(x, name, xp)
    try:
        arr = xp.asarray(x)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a numeric array, got {type(x).__name__}: {err}") from None
    kind = arr.dtype.kind
    if kind == "f":
        if arr.dtype.itemsize < 4:
            arr = arr.astype(xp.float32)
    elif kind in "iub":
        arr = arr.astype(xp.float64)
    elif kind == "c":
        raise TypeError(f"{name} must be real, got complex dtype {arr.dtype}")
    else:
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype} ({type(x).__name__})")
    if arr.ndim not in ndim:
        ranks = " or ".join(f"{n}-D" for n in ndim)
        raise ValueError(f"{name} must be {ranks}, got a {arr.ndim}-D array of shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    with np.errstate(all="ignore"):  # a finite sum proves every entry finite; else look closer
        finite = bool(xp.isfinite(arr.sum())) or bool(xp.isfinite(arr).all())
    if not finite:
        raise ValueError(f"{name} contains NaN or infinity")
    return arr


def check_int(value, name, *, low=1, high=None, high_is=None):
    """value as an int in [low, high] (no upper bound when high is None); a bool is no int.

    high_is names the upper bound in the message, e.g. "the number of samples".
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if high is None and value < low:
        raise ValueError(f"{name} must be at least {low}, got {value}")
    if high is not None and not low <= value <= high:
        bound = f"{high_is} ({high})" if high_is else high
        raise ValueError(f"{name} must be between {low} and {bound}, got {value}")
    return int(value)


def check_device(x, name, xp):
    """Raise DeviceMismatchError, naming x, when x is an array of the other module than xp
    (lists and scalars belong to neither)."""
    on_gpu = is_cupy_array(x)
    if on_gpu == (xp is np) and (on_gpu or isinstance(x, np.ndarray)):
        device = "the GPU (CuPy)" if xp is not np else "the CPU (NumPy)"
        raise DeviceMismatchError(f"{name} is {where(x)}, but this call works on {device}. "
                                  f"{RERUN}")


def array_module(**arrays):
    """The array module (numpy or cupy) of the first named argument that is an array; every
    other array on another device raises DeviceMismatchError naming it. Lists, numbers and
    None go with either."""
    first = next((a for a in arrays.values() if isinstance(a, np.ndarray) or is_cupy_array(a)),
                 None)
    xp = get_array_module(first)
    for name, a in arrays.items():
        check_device(a, name, xp)
    return xp
