"""Input checks done once at the public boundary, with messages that name the argument.

The check_* functions check one value each. A public function declares which check each of
its parameters gets with the ``checked`` decorator (at the end of this module); the checks then
run at the outermost checked call only, so public functions call each other freely.
"""

import contextvars
import functools
import inspect
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


def check_vocab(vocab, name="vocab"):
    """vocab as a non-empty str of distinct characters (a character-level vocabulary)."""
    if not isinstance(vocab, str) or not vocab:
        raise TypeError(f"{name} must be a non-empty str of distinct characters")
    if len(set(vocab)) != len(vocab):
        raise ValueError(f"{name} must not repeat a character")
    return vocab


def check_scale(scale, name="scale"):
    """scale as (low, high): two finite reals with low < high (a rating scale, say)."""
    if not isinstance(scale, tuple | list) or len(scale) != 2:
        raise TypeError(f"{name} must be a pair (low, high), got {scale!r}")
    low, high = (check_real(s, name) for s in scale)
    if not low < high:
        raise ValueError(f"{name} must be (low, high) with low < high, got {tuple(scale)}")
    return low, high


# ----------------------------------------------------------------------------- declared checks
#
# A public function declares how each parameter is checked, once, beside its signature:
#
#     @checked(X=Array(ndim=(2,)), k=Int(high=lambda v: v["X"].shape[0], high_is="n_samples"),
#              seed=Seed())
#     def kmeans(X, k, *, seed=0): ...
#
# The checks run at the outermost checked call only: a checked function called from inside
# another (kmeans from fit_mixture, say) trusts its arguments, which the outer call checked or
# computed (scikit-learn's validate_params with prefer_skip_nested_validation). So a public
# function can call another public function freely, and no public/_private twins are needed.

_CHECKING = contextvars.ContextVar("course_utils_checked_call", default=False)


class Check:
    """How one parameter is checked: called as check(value, name, values, xp) and returning
    the value to pass on (converted: a list becomes an array, an int a float ...). values holds
    the arguments checked so far (by name, in declaration order), for bounds that depend on
    them; xp is the array module of the call's arrays. A Check whose device_of returns an array
    takes part in choosing xp (the first such argument's module; the others must agree)."""

    def __call__(self, value, name, values, xp):
        raise NotImplementedError

    def device_of(self, value):
        return None


def _resolve(bound, values):
    """A bound given as a number or as a function of the arguments checked so far."""
    return bound(values) if callable(bound) else bound


class Int(Check):
    """An int in [low, high] (high may be a function of the earlier arguments)."""

    def __init__(self, low=1, high=None, high_is=None):
        self.low, self.high, self.high_is = low, high, high_is

    def __call__(self, value, name, values, xp):
        return check_int(value, name, low=_resolve(self.low, values),
                         high=_resolve(self.high, values), high_is=self.high_is)


class Real(Check):
    """A finite float in an interval (see check_real)."""

    def __init__(self, low=None, high=None, *, low_open=False, high_open=False):
        self.bounds = dict(low=low, high=high, low_open=low_open, high_open=high_open)

    def __call__(self, value, name, values, xp):
        return check_real(value, name, **{k: _resolve(v, values) if k in ("low", "high") else v
                                          for k, v in self.bounds.items()})


class Probability(Real):
    """A float in [0, 1]."""

    def __init__(self):
        super().__init__(0.0, 1.0)


class Choice(Check):
    """One of the given strings."""

    def __init__(self, *choices):
        self.choices = set(choices)

    def __call__(self, value, name, values, xp):
        return check_choice(value, name, self.choices)


class Seed(Check):
    """A seed as the course takes it everywhere (see check_seed)."""

    def __call__(self, value, name, values, xp):
        return check_seed(value, name)


class Bool(Check):
    """True or False (NumPy's bool too); anything else is a TypeError."""

    def __call__(self, value, name, values, xp):
        if not isinstance(value, bool | np.bool_):
            raise TypeError(f"{name} must be True or False, got {type(value).__name__}")
        return bool(value)


class Optional(Check):
    """None, or what check accepts."""

    def __init__(self, check):
        self.check = check

    def __call__(self, value, name, values, xp):
        return None if value is None else self.check(value, name, values, xp)

    def device_of(self, value):
        return None if value is None else self.check.device_of(value)


class Instance(Check):
    """An instance of cls (a model container, say), taken as it is: a TypeError otherwise,
    naming the argument and what it must be. The arrays it holds set the call's device when
    device_of (a function of the instance) is given."""

    def __init__(self, cls, what=None, device_of=None):
        self.cls, self.what, self.device = cls, what, device_of

    def __call__(self, value, name, values, xp):
        if not isinstance(value, self.cls):
            names = (" or ".join(c.__name__ for c in self.cls) if isinstance(self.cls, tuple)
                     else self.cls.__name__)
            raise TypeError(f"{name} must be {self.what or 'a ' + names}, got "
                            f"{type(value).__name__}")
        return value

    def device_of(self, value):
        return self.device(value) if self.device and isinstance(value, self.cls) else None


class Array(Check):
    """A finite, non-empty float array of an allowed rank on the call's device (check_array);
    ndim=None allows any rank, 0-D included."""

    def __init__(self, ndim=(1, 2)):
        self.ndim = tuple(range(33)) if ndim is None else ndim

    def __call__(self, value, name, values, xp):
        return check_array(value, name, ndim=self.ndim, xp=xp)

    def device_of(self, value):
        return value


class IntArray(Check):
    """Ints in [low, high) (high may be a function of the earlier arguments): check_int_array."""

    def __init__(self, low=0, high=None, ndim=None, empty_ok=False):
        self.low, self.high, self.ndim, self.empty_ok = low, high, ndim, empty_ok

    def __call__(self, value, name, values, xp):
        return check_int_array(value, name, low=_resolve(self.low, values),
                               high=_resolve(self.high, values), ndim=self.ndim,
                               empty_ok=self.empty_ok, xp=xp)

    def device_of(self, value):
        return value


class Labels(Check):
    """Class labels in [0, n_classes) (check_labels); n_classes and n_samples may be
    functions of the earlier arguments."""

    def __init__(self, n_classes=None, n_samples=None):
        self.n_classes, self.n_samples = n_classes, n_samples

    def __call__(self, value, name, values, xp):
        return check_labels(value, name, n_classes=_resolve(self.n_classes, values),
                            n_samples=_resolve(self.n_samples, values), xp=xp)

    def device_of(self, value):
        return value


class Function(Check):
    """A callable, taken as it is; what describes it in the message (default "callable")."""

    def __init__(self, what="callable"):
        self.what = what

    def __call__(self, value, name, values, xp):
        if not callable(value):
            raise TypeError(f"{name} must be {self.what}, got {type(value).__name__}")
        return value


class Text(Check):
    """A str, taken as it is."""

    def __call__(self, value, name, values, xp):
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a str, got {type(value).__name__}")
        return value


class Xp(Check):
    """The array module to create arrays with (check_xp)."""

    def __call__(self, value, name, values, xp):
        return check_xp(value, name)


class FloatDtype(Check):
    """A float dtype (check_float_dtype)."""

    def __call__(self, value, name, values, xp):
        return check_float_dtype(value, name)


class Custom(Check):
    """Any other check: fn(value, name) or, with values=True, fn(value, name, values, xp)."""

    def __init__(self, fn, *, values=False, device_of=None):
        self.fn, self.values, self.device = fn, values, device_of

    def __call__(self, value, name, values, xp):
        return self.fn(value, name, values, xp) if self.values else self.fn(value, name)

    def device_of(self, value):
        return self.device(value) if self.device else None


def checked(**checks):
    """Declare how the parameters of a public function are checked (each a Check, in the
    order they run); the function then checks them when called from outside the package's
    checked functions, and trusts them when one of those calls it.

    Parameters not named are passed on unchecked (self, callbacks, ...). The wrapper keeps the
    function's name, docstring and signature (show_source shows the function itself).
    """
    def decorate(fn):
        signature = inspect.signature(fn)
        unknown = set(checks) - set(signature.parameters)
        if unknown:
            raise TypeError(f"checked: {fn.__qualname__} has no parameters {sorted(unknown)}")
        on_device = [name for name, c in checks.items()
                     if type(c).device_of is not Check.device_of]

        @functools.wraps(fn)
        def checked_call(*args, **kwargs):
            if _CHECKING.get():
                return fn(*args, **kwargs)
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            values = bound.arguments
            xp = array_module(**{name: checks[name].device_of(values[name])
                                 for name in on_device})
            for name, check in checks.items():
                values[name] = check(values[name], name, values, xp)
            token = _CHECKING.set(True)
            try:
                return fn(*bound.args, **bound.kwargs)
            finally:
                _CHECKING.reset(token)

        checked_call.checks = checks
        return checked_call
    return decorate


def check_fields(obj, **checks):
    """Check the fields of a dataclass as checked checks a call's arguments, in its
    __post_init__: each field replaced by what its check returns (so a container built from
    lists holds arrays), errors naming Class.field. Skipped inside a checked call, whose own
    containers are built from checked or computed arrays."""
    if _CHECKING.get():
        return
    values = {name: getattr(obj, name) for name in checks}
    on_device = {name: check.device_of(values[name]) for name, check in checks.items()
                 if type(check).device_of is not Check.device_of}
    labelled = {f"{type(obj).__name__}.{name}": value for name, value in on_device.items()}
    xp = array_module(**labelled)
    for name, check in checks.items():
        values[name] = check(values[name], f"{type(obj).__name__}.{name}", values, xp)
        object.__setattr__(obj, name, values[name])


def from_outside(fn):
    """fn, called as from outside the package: its own checks (and those of the public
    functions it calls) run even when a checked function calls it. For callables a learner
    hands in (a function to time, a callback, a strategy)."""
    @functools.wraps(fn)
    def call(*args, **kwargs):
        token = _CHECKING.set(False)
        try:
            return fn(*args, **kwargs)
        finally:
            _CHECKING.reset(token)

    return call


def in_checked_call():
    """Whether a checked function's call is running (its arguments already checked). A
    container built many times in a package's inner loop (games.Seen, once per strategy and
    turn) asks this before calling check_fields, which would skip its checks anyway: the
    call, not the checks, is what such a loop would pay."""
    return _CHECKING.get()
