"""The GPU toggle: one switch between NumPy (CPU) and CuPy (GPU) for the whole course.

The device is chosen by ``use("cpu" | "gpu" | "auto")``, or at first use by the
``COURSE_DEVICE`` environment variable (``cpu`` when unset). Library functions do not ask
for the device: they follow their data with ``get_array_module``, so the same code runs on
NumPy and CuPy arrays. ``xp()`` and ``asarray`` are for creating new data on the chosen device.
"""

import functools
import os
import statistics
import sys
import time
import types
from dataclasses import dataclass

import numpy as np

DEVICES = ("cpu", "gpu", "auto")
_current = None  # "cpu" or "gpu" once resolved


class GPUUnavailableError(RuntimeError):
    """Raised by ``use("gpu")`` when no GPU can be used; the message says why."""


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
    """Select "cpu", "gpu" or "auto" (the GPU when usable, else the CPU); return "cpu" or "gpu"."""
    global _current
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
    status = gpu_available() if device != "cpu" else None
    if device == "gpu" and not status:
        raise GPUUnavailableError(f"use('gpu') asked for a GPU, but {status.reason}")
    if device == "auto":
        device = "gpu" if status else "cpu"
        if not status:
            print(f"No GPU ({status.reason}); using the CPU (NumPy).")
    _current = device
    return device


def device():
    """The current device, "cpu" or "gpu"; resolved from COURSE_DEVICE on first call."""
    if _current is None:
        value = os.environ.get("COURSE_DEVICE", "cpu").strip().lower() or "cpu"
        if value not in DEVICES:
            raise ValueError(f"COURSE_DEVICE must be one of {DEVICES}, got {value!r}")
        use(value)
    return _current


def xp():
    """The array module of the current device: numpy or cupy."""
    if device() == "gpu":
        import cupy

        return cupy
    return np


def get_array_module(*arrays):
    """cupy if any argument is a CuPy array, else numpy (without importing cupy)."""
    for a in arrays:
        if type(a).__module__.split(".")[0] == "cupy":
            import cupy

            return cupy
    return np


def asarray(x, dtype=None):
    """x as an array on the current device (copied to or from the GPU when needed)."""
    if device() == "gpu":
        import cupy

        return cupy.asarray(x, dtype=dtype)
    return np.asarray(to_numpy(x), dtype=dtype)


def to_numpy(x):
    """x as a NumPy array (copied from the GPU if it lives there)."""
    if get_array_module(x) is not np:
        return x.get()
    return np.asarray(x)


def synchronize():
    """Wait for queued GPU work to finish; a no-op when CuPy was never imported."""
    cupy = sys.modules.get("cupy")
    if cupy is not None and isinstance(cupy, types.ModuleType) and gpu_available():
        cupy.cuda.Device().synchronize()


@dataclass(frozen=True)
class Timing:
    """Seconds per call: the median and the spread (interquartile range) over repeats."""

    median: float
    iqr: float
    best: float
    repeat: int
    number: int

    def __str__(self):
        return (f"{_fmt_seconds(self.median)} ± {_fmt_seconds(self.iqr / 2)} "
                f"(median ± IQR/2 of {self.repeat} runs, {self.number} call"
                f"{'s' * (self.number > 1)} each)")


def _fmt_seconds(s):
    for unit, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s / 1e-9:.3g} ns"


def timeit(fn, *args, repeat=7, number=None, min_time=0.05, **kwargs):
    """Time fn(*args, **kwargs), synchronising the GPU after each batch of calls.

    One warm-up call runs first (CuPy compiles kernels on first use). With ``number=None``
    the calls per run are chosen so that one run takes about ``min_time`` seconds.
    Returns a Timing in seconds per call.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    if not isinstance(repeat, int) or repeat < 1:
        raise ValueError(f"repeat must be a positive int, got {repeat!r}")
    if number is not None and (not isinstance(number, int) or number < 1):
        raise ValueError(f"number must be a positive int or None, got {number!r}")

    def run(n):
        start = time.perf_counter()
        for _ in range(n):
            fn(*args, **kwargs)
        synchronize()
        return time.perf_counter() - start

    first = run(1)
    if number is None:
        number = max(1, min(10_000, int(min_time / max(first, 1e-9))))
    per_call = sorted(run(number) / number for _ in range(repeat))
    q1, _, q3 = statistics.quantiles(per_call, n=4) if repeat > 1 else (per_call[0],) * 3
    return Timing(statistics.median(per_call), q3 - q1, per_call[0], repeat, number)


def device_toggle():
    """A CPU/GPU toggle widget that calls ``use``; choosing a GPU that is absent says why."""
    import ipywidgets as widgets

    status = gpu_available()
    toggle = widgets.ToggleButtons(options=[("CPU (NumPy)", "cpu"), ("GPU (CuPy)", "gpu")],
                                   value=device(), description="Device:")
    label = widgets.Label()

    def show(_=None):
        label.value = f"GPU: {status.reason}" if status else f"No GPU: {status.reason}"

    def on_change(change):
        try:
            use(change["new"])
        except GPUUnavailableError as err:
            toggle.value = change["old"]
            label.value = str(err)
            return
        show()

    toggle.observe(on_change, names="value")
    show()
    return widgets.VBox([toggle, label])
