"""Input checks done once at the public boundary, with messages that name the argument."""

import numbers

import numpy as np

from .backend import RERUN, DeviceMismatchError, get_array_module, is_cupy_array, where
from .backend import xp as current_xp


def _as_array(x, name, xp, what):
    """x as an array of module xp (default x's own): on the other device, or not an array at
    all, is a TypeError naming x and saying what it must be."""
    xp = xp or get_array_module(x)
    check_device(x, name, xp)
    try:
        return xp.asarray(x), xp
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be {what}, got {type(x).__name__}: {err}") from None


def check_array(x, name, *, ndim=(1, 2), xp=None):
    """x as a finite, non-empty float array of an allowed rank, on module xp.

    Floats keep their precision (float16 becomes float32); integers and booleans become
    float64. Complex, text and object data raise TypeError; the wrong rank, an empty array
    or NaN/inf raise ValueError. An array on the other device than xp raises
    DeviceMismatchError (a TypeError) naming x: arrays are moved explicitly, never silently.
    """
    arr, xp = _as_array(x, name, xp, "a numeric array")
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


def check_real(value, name, *, low=None, high=None, low_open=False, high_open=False):
    """value as a finite float in the interval given by low and high (None: unbounded).

    low_open / high_open exclude that end: check_real(lr, "lr", low=0, low_open=True) asks for
    lr > 0. Python and NumPy reals are accepted (np.float32(0.5) included); a bool, a string,
    a complex number or an array is a TypeError; NaN, infinity or a value outside the
    interval is a ValueError naming the argument and the interval.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        left = "-inf" if low is None else f"{low:g}"
        right = "inf" if high is None else f"{high:g}"
        interval = (f"{'(' if low_open or low is None else '['}{left}, "
                    f"{right}{')' if high_open or high is None else ']'}")
        raise ValueError(f"{name} must be in {interval}, got {value:g}")
    return value


def check_probability(value, name):
    """value as a float in [0, 1]."""
    return check_real(value, name, low=0.0, high=1.0)


def check_choice(value, name, choices):
    """value, one of the strings in choices; anything else is an error, never a default."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {sorted(choices)}, got {type(value).__name__}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value


def check_labels(y, name, *, n_classes=None, n_samples=None, xp=None):
    """y as a 1-D integer array of class labels in [0, n_classes), on module xp.

    Integer dtypes, booleans and whole-valued floats are accepted (returned as int64); a
    label outside [0, n_classes) or a fraction is a ValueError naming y, as is a length
    other than n_samples (when given).
    """
    arr, xp = _as_array(y, name, xp, "an array of class labels")
    if arr.dtype.kind not in "iubf":
        raise TypeError(f"{name} must hold integer class labels, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if n_samples is not None and arr.shape[0] != n_samples:
        raise ValueError(f"{name} has {arr.shape[0]} labels for {n_samples} samples")
    if arr.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            whole = bool(xp.all(xp.isfinite(arr) & (arr == xp.round(arr))))
        if not whole:
            raise ValueError(f"{name} must hold whole-number class labels")
    arr = arr.astype(xp.int64)
    low, high = int(arr.min()), int(arr.max())
    if low < 0 or (n_classes is not None and high >= n_classes):
        allowed = f"[0, {n_classes})" if n_classes is not None else "0 or more"
        raise ValueError(f"{name} must hold class labels in {allowed}, got labels from "
                         f"{low} to {high}")
    return arr


def check_int_array(x, name, *, low=0, high=None, ndim=None, empty_ok=False, xp=None):
    """x (an int, a list or an array of ints) as an integer array on module xp, every entry
    in [low, high) (no upper bound when high is None) and of rank ndim (any when None).

    Floats, even whole ones, and booleans are a TypeError (an index or a count is an int);
    an entry out of range, the wrong rank or an empty array a ValueError naming x.
    """
    arr, xp = _as_array(x, name, xp, "an array of ints")
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold ints, got dtype {arr.dtype}")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if arr.size == 0:
        if empty_ok:
            return arr
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    smallest, largest = int(arr.min()), int(arr.max())
    if smallest < low or (high is not None and largest >= high):
        allowed = f"[{low}, {high})" if high is not None else f"{low} or more"
        raise ValueError(f"{name} must hold ints in {allowed}, got {smallest} to {largest}")
    return arr


def check_seed(seed, name="seed"):
    """seed as the course takes it everywhere: a non-negative int (default 0 in every public
    function, so results are reproducible unless asked otherwise), None (fresh entropy, a
    different draw each call) or a numpy Generator (draws continue its stream)."""
    if seed is None or isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{name} must be a non-negative int, None or a numpy Generator, got "
                        f"{type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"{name} must be a non-negative int, got {seed}")
    return int(seed)


def rng_from(seed, name="seed"):
    """A NumPy Generator for a checked seed (the same Generator when given one)."""
    return np.random.default_rng(check_seed(seed, name))


def seed_to_int(seed, name="seed"):
    """A checked seed as one int in [0, 2**64): the int itself, fresh entropy for None, or one
    draw from a Generator (for code that derives counter-based keys from an int)."""
    seed = check_seed(seed, name)
    if seed is None:
        return int(np.random.SeedSequence().entropy) % 2**64
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(2**63))
    return seed % 2**64


def check_xp(xp, name="xp"):
    """The array module to create arrays with: None is the current device's (``backend.xp()``);
    numpy or cupy (the modules themselves) are taken as they are. Anything else, a module's name
    as a string included, is a TypeError naming the argument."""
    if xp is None:
        return current_xp()
    if xp is np or getattr(xp, "__name__", None) == "cupy":
        return xp
    hint = " (pass the module itself, or choose the device with backend.use)" \
        if isinstance(xp, str) else ""
    raise TypeError(f"{name} must be None (the current device), numpy or cupy, got "
                    f"{type(xp).__name__} {xp!r}{hint}")


def check_float_dtype(dtype, name="dtype"):
    """dtype as a NumPy float dtype (float32 or float64; float16 and wider floats are taken as
    they are): anything numpy cannot read as a dtype, or an integer, boolean or complex dtype,
    is a TypeError naming the argument (an integer RBM or layer would round every weight to
    0)."""
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name} must be a float dtype (float32, float64), got {dtype!r}") \
            from None
    if dtype.kind != "f":
        raise TypeError(f"{name} must be a float dtype (float32, float64), got {dtype}")
    return dtype
