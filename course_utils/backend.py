"""The GPU toggle: one switch between NumPy (CPU) and CuPy (GPU) for the whole course.

The device is chosen by ``use("cpu" | "gpu" | "auto")``, or at first use by the
``COURSE_DEVICE`` environment variable (``cpu`` when unset). Library functions do not ask
for the device: they follow their data with ``get_array_module``, so the same code runs on
NumPy and CuPy arrays. ``xp()`` and ``asarray`` are for creating new data on the chosen device.
Arrays made before a switch stay where they were: mixing them with new ones raises a
``DeviceMismatchError`` that says to re-run the lesson. ``to_device`` moves results (a fitted
model's dataclass, a tuple of arrays) in one call. Timing and the CPU/GPU comparison live in
``course_utils.timing``, the toggle widget in ``course_utils.widgets``.

This module is the bottom of the package: it imports no other module of it (``_checks``, the
validation layer, builds on it), so it checks its one kind of argument, a device name, itself.
"""

import contextlib
import copy
import dataclasses
import functools
import os
import sys
import types
from dataclasses import dataclass

import numpy as np

DEVICES = ("cpu", "gpu", "auto")
_current = None  # "cpu" or "gpu" once resolved


RERUN = ("Arrays made before the device was switched stay on their old device: re-run the "
         "lesson after switching (Run > Run All Cells), or move the array with "
         "backend.asarray.")


class GPUUnavailableError(RuntimeError):
    """Raised by ``use("gpu")`` when no GPU can be used; the message says why."""


class DeviceMismatchError(TypeError):
    """NumPy (CPU) and CuPy (GPU) arrays were mixed in one call; the message says what to do."""


def where(x):
    """"a NumPy array (CPU)" or "a CuPy array (GPU)": where an array lives, in words."""
    return "a CuPy array (GPU)" if is_cupy_array(x) else "a NumPy array (CPU)"


def is_cupy_array(x):
    """Whether x is a CuPy array, without importing cupy."""
    return type(x).__module__.split(".")[0] == "cupy"


@dataclass(frozen=True)
class GPUStatus:
    """Whether a GPU can be used; truthy when it can. ``reason`` says why not, or names it."""

    available: bool
    reason: str

    def __bool__(self):
        return self.available


@functools.cache
def gpu_available():
    """Return a GPUStatus after a real device call (an importable cupy is not a GPU)."""
    try:
        import cupy
    except ImportError as err:
        return GPUStatus(False, f"CuPy is not installed ({err}); pip install -e '.[gpu]'")
    try:
        count = cupy.cuda.runtime.getDeviceCount()
        if count == 0:
            return GPUStatus(False, "CuPy is installed but no CUDA device was found")
        cupy.zeros(1).sum().item()  # a kernel launch: catches driver and toolkit mismatches
        name = cupy.cuda.runtime.getDeviceProperties(0)["name"]
    except Exception as err:  # CUDARuntimeError, CompileException, ... all mean "not usable"
        return GPUStatus(False, f"CUDA is not usable: {type(err).__name__}: {err}")
    name = name.decode() if isinstance(name, bytes) else name
    return GPUStatus(True, f"{name} ({count} device{'s' * (count > 1)})")


def use(device):
    """Make device current for every array the course creates from now on.

    Parameters
    ----------
    device : str
        "cpu", "gpu" or "auto" (the GPU when usable, else the CPU, saying why).

    Returns
    -------
    str
        The device now current, "cpu" or "gpu". Raises GPUUnavailableError, with the reason,
        for "gpu" without a usable GPU.
    """
    global _current
    _check_device_name(device, "device", DEVICES)
    status = gpu_available() if device != "cpu" else None
    if device == "gpu" and not status:
        raise GPUUnavailableError(f"use('gpu') asked for a GPU, but {status.reason}")
    if device == "auto":
        device = "gpu" if status else "cpu"
        if not status:
            print(f"No GPU ({status.reason}); using the CPU (NumPy).")
    _current = device
    return device


def _check_device_name(value, name, allowed):
    """value, one of the device names allowed: a TypeError for what is not a string, a
    ValueError for another string (as _checks.check_choice words them)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {sorted(allowed)}, got {type(value).__name__}")
    if value not in allowed:
        raise ValueError(f"{name} must be one of {sorted(allowed)}, got {value!r}")
    return value


def device():
    """The current device, resolved from the COURSE_DEVICE variable on the first call.

    Returns
    -------
    str
        "cpu" or "gpu".
    """
    if _current is None:
        value = os.environ.get("COURSE_DEVICE", "cpu").strip().lower() or "cpu"
        if value not in DEVICES:
            raise ValueError(f"COURSE_DEVICE must be one of {DEVICES}, got {value!r}")
        use(value)
    return _current


def _current_device():  # for functions whose argument named device hides device()
    return device()


def xp():
    """The array module of the current device.

    Returns
    -------
    module
        numpy on the CPU, cupy on the GPU.
    """
    if device() == "gpu":
        import cupy

        return cupy
    return np


def get_array_module(*arrays):
    """The array module the arguments live on, without importing cupy.

    Parameters
    ----------
    *arrays : arrays, lists, numbers or None
        Lists, numbers and None go with either module.

    Returns
    -------
    module
        cupy if any argument is a CuPy array, else numpy. Raises DeviceMismatchError (a
        TypeError) when NumPy and CuPy arrays are mixed.
    """
    on_gpu = [a for a in arrays if is_cupy_array(a)]
    if not on_gpu:
        return np
    if any(isinstance(a, np.ndarray) for a in arrays):
        raise DeviceMismatchError("NumPy (CPU) and CuPy (GPU) arrays were mixed in one call. "
                                  + RERUN)
    return sys.modules["cupy"]


def asarray(x, dtype=None):
    """x as an array on the current device, copied to or from the GPU when needed.

    Parameters
    ----------
    x : array-like (a NumPy or CuPy array, a list, a number)
    dtype : dtype, optional
        Default: x's own.

    Returns
    -------
    array
        A NumPy array on the CPU, a CuPy array on the GPU, of x's shape.
    """
    if device() == "gpu":
        import cupy

        return cupy.asarray(x, dtype=dtype)
    return np.asarray(to_numpy(x), dtype=dtype)


def to_numpy(x):
    """x on the host, for printing, plotting or scikit-learn.

    Parameters
    ----------
    x : array-like (a NumPy or CuPy array, a list, a number)

    Returns
    -------
    numpy.ndarray
        Of x's shape and dtype (copied from the GPU when x lives there).
    """
    if is_cupy_array(x):
        return x.get()
    return np.asarray(x)


def to_device(obj, device=None, *, copy=False):
    """obj with every array in it moved to device: one call moves a whole result.

    Parameters
    ----------
    obj : an array, or tuples (named ones too), lists, dicts and dataclasses holding arrays
        (a fitted mixture, a k-means result). Anything else is returned as it is.
    device : str, optional
        "cpu" or "gpu"; default the current device.
    copy : bool
        Also copy the NumPy arrays that are already on the host (so that changing the result
        leaves obj alone); arrays moved between devices are always copies.

    Returns
    -------
    The same structure, its arrays on device (NumPy arrays on the CPU, CuPy on the GPU).
    """
    device = _current_device() if device is None else _check_device_name(device, "device",
                                                                           ("cpu", "gpu"))
    if not isinstance(copy, bool):
        raise TypeError(f"copy must be True or False, got {type(copy).__name__}")
    return _move(obj, device, copy)


def _move(obj, device, copy_host=False):
    """to_device without the checks; copy_host copies NumPy arrays that stay on the host."""
    if isinstance(obj, np.ndarray) or is_cupy_array(obj):
        if device == "cpu":
            return obj.copy() if copy_host and isinstance(obj, np.ndarray) else to_numpy(obj)
        if not gpu_available():
            raise GPUUnavailableError(f"to_device(..., 'gpu'), but {gpu_available().reason}")
        return sys.modules["cupy"].asarray(obj)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # a NamedTuple
        return type(obj)(*(_move(v, device, copy_host) for v in obj))
    if isinstance(obj, list | tuple):
        return type(obj)(_move(v, device, copy_host) for v in obj)
    if isinstance(obj, dict):
        return {k: _move(v, device, copy_host) for k, v in obj.items()}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        moved = copy.copy(obj)  # fields set directly: works for frozen dataclasses too
        for field in dataclasses.fields(obj):
            object.__setattr__(moved, field.name, _move(getattr(obj, field.name), device,
                                                        copy_host))
        return moved
    return obj


@contextlib.contextmanager
def on_device(name):
    """Within the block the current device is name ("cpu" or "gpu"); restored afterwards."""
    global _current
    previous = device()
    use(name)
    try:
        yield
    finally:
        _current = previous


def synchronize():
    """Wait for queued GPU work to finish (before reading a clock); a no-op on the CPU.

    Returns
    -------
    None
    """
    cupy = sys.modules.get("cupy")
    if cupy is not None and isinstance(cupy, types.ModuleType) and gpu_available():
        cupy.cuda.Device().synchronize()


def __getattr__(name):
    """Names that moved to another module keep working for one release, with a warning."""
    from ._deprecated import moved

    return moved(__name__, name)
