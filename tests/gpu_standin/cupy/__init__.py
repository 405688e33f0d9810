"""A stand-in for CuPy on machines without a GPU: NumPy underneath, strict where CuPy is strict.

It exists so that the tests prove the course's GPU path where no GPU is: ``make test`` runs
the unit tests on its arrays and every lesson with ``COURSE_DEVICE=gpu`` against it (this
folder goes on the lesson kernel's PYTHONPATH). It is never used where real CuPy gives a
working GPU, and it is not part of the package.

Strict like CuPy:
- its arrays refuse implicit conversion: ``np.asarray(x)``, ``np.array(x)`` and anything
  that calls them (matplotlib, scikit-learn) raise TypeError; ``x.get()``, ``cupy.asnumpy``
  are the ways back;
- a NumPy array mixed into an operation, a ``cupy.*`` function or an assignment raises
  TypeError, with CuPy's message; NumPy scalars and Python numbers mix freely, and NumPy
  arrays may index (as in CuPy);
- reductions and scalar indexing give 0-d arrays, not NumPy scalars;
- its random numbers are another stream than NumPy's for the same seed, as CuPy's are.
The module is a different object from numpy, and ``type(x).__module__`` is "cupy", so
``get_array_module`` tells the two apart.
"""

import numpy as _np
from numpy.lib.mixins import NDArrayOperatorsMixin as _Operators

__version__ = "0+standin"
STANDIN = True
NAME = "CuPy stand-in: NumPy on the CPU, not a GPU"
MIXED = "Unsupported type <class 'numpy.ndarray'>"
IMPLICIT = ("Implicit conversion to a NumPy array is not allowed. Please use `.get()` to "
            "construct a NumPy array explicitly.")
calls = {"synchronize": 0}
_STREAM = 0xC0FFEE  # mixed into every seed: the same seed draws other numbers than NumPy's


# The conversions below run for every operation of a lesson on the GPU path (in lesson 09's
# loops over time they took most of the time), so each tests the common types exactly first.
_PLAIN = frozenset({int, float, bool, str, type(None), slice, type(Ellipsis)})


def _unwrap(value):
    """A stand-in array's NumPy data; a NumPy array is refused; containers are followed."""
    kind = type(value)
    if kind is ndarray:
        return value._a
    if kind in _PLAIN:
        return value
    if kind is tuple or kind is list:
        return kind([_unwrap(v) for v in value])
    if isinstance(value, ndarray):
        return value._a
    if isinstance(value, _np.ndarray):
        raise TypeError(MIXED)
    if isinstance(value, list | tuple):
        return type(value)(_unwrap(v) for v in value)
    return value


def _unwrap_kwargs(kwargs):
    return {k: _unwrap(v) for k, v in kwargs.items()} if kwargs else kwargs


def _wrap(result):
    """NumPy results as stand-in arrays; NumPy scalars as 0-d arrays, as CuPy returns them."""
    if type(result) is _np.ndarray or isinstance(result, _np.ndarray):
        return ndarray._of(result)
    if isinstance(result, _np.generic):
        return ndarray._of(_np.asarray(result))
    if isinstance(result, tuple) and hasattr(result, "_fields"):
        return type(result)(*(_wrap(r) for r in result))
    if isinstance(result, list | tuple):
        return type(result)(_wrap(r) for r in result)
    return result


def _wrapped(fn):
    """fn taking and returning stand-in arrays, run by NumPy."""
    def call(*args, **kwargs):
        return _wrap(fn(*[_unwrap(a) for a in args], **_unwrap_kwargs(kwargs)))

    call.__name__ = call.__qualname__ = getattr(fn, "__name__", "function")
    call.__doc__ = getattr(fn, "__doc__", None)
    return call


class ndarray(_Operators):  # noqa: N801 - the name CuPy uses
    """An array "on the GPU": a NumPy array that will not be taken for one."""

    __slots__ = ("_a",)

    def __init__(self, shape, dtype=float):
        self._a = _np.empty(shape, dtype)

    @classmethod
    def _of(cls, data):
        arr = object.__new__(cls)
        arr._a = data
        return arr

    # --- the ways in and out
    def get(self, stream=None, order="C", out=None):
        """A NumPy copy (the transfer from the GPU)."""
        return _np.array(self._a, order=order)

    def set(self, arr):
        self._a[...] = arr

    def item(self):
        return self._a.item()

    def tolist(self):
        return self._a.tolist()

    def __array__(self, *args, **kwargs):
        raise TypeError(IMPLICIT)

    # --- NumPy's protocols: stand-in arrays in, stand-in arrays out, NumPy arrays refused
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return _wrap(getattr(ufunc, method)(*[_unwrap(a) for a in inputs],
                                            **_unwrap_kwargs(kwargs)))

    def __array_function__(self, func, types, args, kwargs):
        return _wrap(func(*_unwrap(args), **_unwrap_kwargs(kwargs)))

    # --- indexing: NumPy arrays may index (CuPy copies them over), not be assigned
    def __getitem__(self, key):
        return _wrap(self._a[_index(key)])

    def __setitem__(self, key, value):
        if isinstance(value, _np.ndarray) and value.ndim > 0:
            raise TypeError(MIXED)
        self._a[_index(key)] = value._a if isinstance(value, ndarray) else value

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (_wrap(row) for row in self._a)

    # --- Python's conversions (each one a copy to the host in CuPy)
    def __bool__(self):
        return bool(self._a)

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __index__(self):
        return self._a.__index__()

    def __complex__(self):
        return complex(self._a)

    def __format__(self, spec):
        return format(self._a[()] if self._a.ndim == 0 else self._a, spec)

    def __repr__(self):
        return repr(self._a)

    def __str__(self):
        return str(self._a)

    def __copy__(self):
        return ndarray._of(self._a.copy())

    def __deepcopy__(self, memo):
        return ndarray._of(self._a.copy())

    # --- attributes: NumPy's, with arrays wrapped; no dunder (no __array_interface__ &c.)
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    T = property(lambda self: ndarray._of(self._a.T))

    def __getattr__(self, name):
        if name.startswith("__") or name == "_a":
            raise AttributeError(name)
        value = getattr(self._a, name)
        return _wrapped(value) if callable(value) else _wrap(value)


def _index(key):
    """An index with stand-in arrays replaced by their data; NumPy arrays pass (as in CuPy)."""
    if isinstance(key, ndarray):
        return key._a
    if isinstance(key, tuple):
        return tuple(_index(k) for k in key)
    return key


# ----------------------------------------------------------------------------- functions


def asarray(a, dtype=None, order=None, *, blocking=False):
    """a on the "GPU": a copy of NumPy data (the transfer), the same array if already here."""
    if isinstance(a, ndarray):
        return a if dtype is None or a.dtype == dtype else a.astype(dtype)
    return ndarray._of(_np.array(_unwrap_nested(a), dtype=dtype, order=order or "K"))


def array(obj, dtype=None, copy=True, order="K", ndmin=0, *, blocking=False):
    if isinstance(obj, ndarray):
        obj = obj._a
    return ndarray._of(_np.array(_unwrap_nested(obj), dtype=dtype, copy=copy, order=order,
                                 ndmin=ndmin))


def _unwrap_nested(a):
    """Lists of stand-in arrays (scalars, rows) as lists of NumPy data: data to copy over."""
    if isinstance(a, ndarray):
        return a._a
    if isinstance(a, list | tuple):
        return [_unwrap_nested(v) for v in a]
    return a


def asnumpy(a, stream=None, order="C", out=None, *, blocking=True):
    """a as a NumPy array (copied from the "GPU")."""
    return a.get() if isinstance(a, ndarray) else _np.asarray(a, order=order)


def get_array_module(*args):
    import sys

    return sys.modules[__name__] if any(isinstance(a, ndarray) for a in args) else _np


class _Namespace:
    """numpy's sub-module (linalg, fft) with its functions taking and giving stand-in arrays."""

    def __init__(self, module):
        self._module = module

    def __getattr__(self, name):
        value = getattr(self._module, name)
        return _wrapped(value) if callable(value) and not isinstance(value, type) else value


linalg = _Namespace(_np.linalg)
fft = _Namespace(_np.fft)


class _Generator:
    """cupy.random.Generator: NumPy's Generator on another stream, giving stand-in arrays."""

    def __init__(self, seed=None):
        entropy = None if seed is None else [int(seed), _STREAM]
        self._rng = _np.random.default_rng(_np.random.SeedSequence(entropy))

    def __getattr__(self, name):
        return _wrapped(getattr(self._rng, name))


class _Random:
    """cupy.random: default_rng, and the legacy functions on one global stream."""

    def __init__(self):
        self.seed()

    def default_rng(self, seed=None):
        return _Generator(seed)

    def seed(self, seed=None):
        self._state = _np.random.RandomState(None if seed is None else [int(seed), _STREAM])

    def __getattr__(self, name):
        return _wrapped(getattr(self._state, name))


random = _Random()


class _Device:
    def __init__(self, device=0):
        self.id = device

    def synchronize(self):
        calls["synchronize"] += 1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class _Stream:
    null = None

    def synchronize(self):
        calls["synchronize"] += 1


_Stream.null = _Stream()


class _Runtime:
    @staticmethod
    def getDeviceCount():  # noqa: N802 - CUDA's names
        return 1

    @staticmethod
    def getDeviceProperties(device):  # noqa: N802
        return {"name": NAME.encode(), "totalGlobalMem": 0, "multiProcessorCount": 0}

    @staticmethod
    def runtimeGetVersion():  # noqa: N802
        return 0

    @staticmethod
    def driverGetVersion():  # noqa: N802
        return 0


class _Cuda:
    Device = _Device
    Stream = _Stream
    runtime = _Runtime()


cuda = _Cuda()


def __getattr__(name):
    """Every other name is NumPy's: types and constants as they are (cupy.float32 is
    numpy.float32 in CuPy too), functions taking and giving stand-in arrays."""
    value = getattr(_np, name)
    if callable(value) and not isinstance(value, type):
        value = _wrapped(value)
        globals()[name] = value  # made once
    return value
