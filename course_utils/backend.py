"""The GPU toggle: one switch between NumPy (CPU) and CuPy (GPU) for the whole course.

The device is chosen by ``use("cpu" | "gpu" | "auto")``, or at first use by the
``COURSE_DEVICE`` environment variable (``cpu`` when unset). Library functions do not ask
for the device: they follow their data with ``get_array_module``, so the same code runs on
NumPy and CuPy arrays. ``xp()`` and ``asarray`` are for creating new data on the chosen device.
Arrays made before a switch stay where they were: mixing them with new ones raises a
``DeviceMismatchError`` that says to re-run the lesson. ``compare_devices`` times one call on
both devices and checks that they agree; ``to_device`` moves results (a fitted model's
dataclass, a tuple of arrays) in one call.
"""

import contextlib
import copy
import dataclasses
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
    from ._checks import check_choice  # _checks imports this module
    check_choice(device, "device", DEVICES)
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


def to_device(obj, device=None):
    """obj with every array in it moved to device: one call moves a whole result.

    Parameters
    ----------
    obj : an array, or tuples (named ones too), lists, dicts and dataclasses holding arrays
        (a fitted mixture, a k-means result). Anything else is returned as it is.
    device : str, optional
        "cpu" or "gpu"; default the current device.

    Returns
    -------
    The same structure, its arrays on device (NumPy arrays on the CPU, CuPy on the GPU).
    """
    from ._checks import check_choice  # _checks imports this module
    device = _current_device() if device is None else check_choice(device, "device",
                                                                     ("cpu", "gpu"))
    return _move(obj, device)


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

    One warm-up call runs first (CuPy compiles kernels on first use).

    Parameters
    ----------
    fn : callable
    *args, **kwargs : fn's arguments
    repeat : int
        Timed runs; the median and spread are taken over them.
    number : int or None
        Calls per run; None chooses it so that one run takes about min_time seconds.
    min_time : float
        Seconds, at least 0.

    Returns
    -------
    Timing
        Seconds per call: median, interquartile range and best over the runs.
    """
    return _timed(fn, args, kwargs, repeat, number, min_time)[0]


def _timed(fn, args, kwargs, repeat, number, min_time):
    """(Timing, the warm-up call's result) of fn(*args, **kwargs); see timeit."""
    from ._checks import check_int, check_real  # _checks imports this module
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    check_int(repeat, "repeat")
    if number is not None:
        check_int(number, "number")
    check_real(min_time, "min_time", low=0)

    def run(n):
        start = time.perf_counter()
        for _ in range(n):
            fn(*args, **kwargs)
        synchronize()
        return time.perf_counter() - start

    start = time.perf_counter()
    result = fn(*args, **kwargs)  # the warm-up: CuPy compiles its kernels on first use
    synchronize()
    first = time.perf_counter() - start
    if number is None:
        number = max(1, min(10_000, int(min_time / max(first, 1e-9))))
    per_call = sorted(run(number) / number for _ in range(repeat))
    q1, _, q3 = statistics.quantiles(per_call, n=4) if repeat > 1 else (per_call[0],) * 3
    return Timing(statistics.median(per_call), q3 - q1, per_call[0], repeat, number), result


@dataclass(frozen=True)
class DeviceComparison:
    """One call timed on the CPU and, when there is one, on the GPU (else gpu is None).

    gpu_name names the GPU, or says why there is none; speedup is cpu / gpu (None without);
    result is the CPU's result (the GPU's agreed with it to rtol, atol).
    """

    label: str
    cpu: Timing
    gpu: Timing | None
    gpu_name: str
    rtol: float
    atol: float
    result: object = dataclasses.field(repr=False, compare=False, default=None)

    @property
    def speedup(self):
        return None if self.gpu is None else self.cpu.median / self.gpu.median

    def __str__(self):
        cpu = f"CPU {_fmt_seconds(self.cpu.median)}"
        if self.gpu is None:
            return f"{self.label}: {cpu}; no GPU ({self.gpu_name}), so the CPU only"
        return (f"{self.label}: {cpu}, GPU {_fmt_seconds(self.gpu.median)} on "
                f"{self.gpu_name}: {self.speedup:.3g}x; results agree to rtol={self.rtol:g}, "
                f"atol={self.atol:g} (medians of {self.cpu.repeat} runs)")


def compare_devices(fn, *args, rtol=1e-7, atol=0.0, repeat=5, number=None, min_time=0.05,
                    transfer=False, label=None, quiet=False, **kwargs):
    """Time fn(*args, **kwargs) on the CPU and on the GPU, check that both agree, print one line.

    The arguments are moved to each device (``to_device``; the CPU gets copies, so a fn that
    changes its inputs leaves the caller's alone and the GPU starts from the same values),
    and each run happens with that device current, so arrays that fn creates land there too.
    Each side is warmed up and the GPU synchronised (``timeit``); the warm-up calls' results
    are compared (``assert_agree``, to rtol and atol; AssertionError when they differ).
    Without a GPU only the CPU is timed and the line says why. transfer=True counts the
    copy of the inputs to the GPU in its time. fn's own keyword arguments named like these
    options go in with functools.partial.

    Parameters
    ----------
    fn : callable
    *args, **kwargs : fn's arguments, on either device
    rtol, atol : float
        Tolerances (at least 0) of the agreement asserted between the two results.
    repeat, number, min_time : as in ``timeit``
    transfer : bool
        Count the copy of the inputs to the GPU in its time.
    label : str, optional
        The name printed; default fn's name.
    quiet : bool
        Do not print the line.

    Returns
    -------
    DeviceComparison
        .cpu and .gpu (Timing, or None without a GPU), .speedup, and .result: the CPU's
        result, on the host.
    """
    from ._checks import check_real  # _checks imports this module
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    check_real(rtol, "rtol", low=0)
    check_real(atol, "atol", low=0)
    label = label or getattr(fn, "__name__", "fn")
    status = gpu_available()
    host = _move((args, kwargs), "cpu")
    with on_device("cpu"):
        cpu, expected = _timed(fn, *_move(host, "cpu", copy_host=True), repeat, number,
                               min_time)
    gpu = None
    if status:
        def on_gpu(*a, **k):
            moved_args, moved_kwargs = _move((a, k), "gpu")
            return fn(*moved_args, **moved_kwargs)

        with on_device("gpu"):
            gpu, got = _timed(on_gpu, *(_move(host, "cpu", copy_host=True) if transfer
                                        else _move(host, "gpu")), repeat, number, min_time)
        assert_agree(got, expected, rtol=rtol, atol=atol, what=f"{label} on the GPU and CPU")
    comparison = DeviceComparison(label, cpu, gpu, status.reason, rtol, atol, expected)
    if not quiet:
        print(comparison)
    return comparison


def assert_agree(actual, expected, *, rtol=1e-7, atol=0.0, what="the results"):
    """Raise AssertionError unless actual matches expected: arrays (on any device) and numbers
    to rtol, atol; tuples, lists, dicts and dataclasses entry by entry; anything else by ==."""
    from ._checks import check_real  # _checks imports this module
    check_real(rtol, "rtol", low=0)
    check_real(atol, "atol", low=0)

    def walk(a, e, path):
        if dataclasses.is_dataclass(e) and not isinstance(e, type):
            for field in dataclasses.fields(e):
                walk(getattr(a, field.name), getattr(e, field.name), f"{path}.{field.name}")
        elif isinstance(e, dict):
            if set(a) != set(e):
                raise AssertionError(f"{what} differ at {path}: keys {sorted(a)} != {sorted(e)}")
            for k in e:
                walk(a[k], e[k], f"{path}[{k!r}]")
        elif isinstance(e, list | tuple) and not _numeric(e):
            if len(a) != len(e):
                raise AssertionError(f"{what} differ at {path}: lengths {len(a)} != {len(e)}")
            for i, (x, y) in enumerate(zip(a, e, strict=True)):
                walk(x, y, f"{path}[{i}]")
        elif _numeric(e):
            a, e = to_numpy(a), to_numpy(e)
            try:
                if e.dtype.kind in "fc":
                    np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, equal_nan=True)
                else:  # integers, booleans: exactly
                    np.testing.assert_array_equal(a, e)
            except AssertionError as err:
                raise AssertionError(f"{what} differ at {path}: {err}") from None
        elif a != e:
            raise AssertionError(f"{what} differ at {path}: {a!r} != {e!r}")

    walk(actual, expected, "result")


def _numeric(x):
    """An array, a number or a (nested) list of numbers: compared with a tolerance."""
    if isinstance(x, np.ndarray | np.generic | int | float) or is_cupy_array(x):
        return True
    if isinstance(x, list | tuple) and not hasattr(x, "_fields") and x:
        return all(isinstance(v, int | float | np.generic) for v in x)
    return False


def device_toggle():
    """A CPU/GPU toggle widget that calls ``use``; choosing a GPU that is absent says why.

    After a switch it says to run the lesson again: arrays made before stay where they were.
    In IPython it also registers ``explain_mixed_devices``, so that CuPy's own error for a
    NumPy array mixed into a GPU computation ends with the same advice.

    Returns
    -------
    ipywidgets.VBox
        The toggle buttons above a line that says which device is in use, or why no GPU.
    """
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
        where = "the GPU (CuPy)" if change["new"] == "gpu" else "the CPU (NumPy)"
        label.value = (f"Now on {where}. Run the whole lesson again (Run > Run All Cells): "
                       f"arrays made before the switch stay where they were.")

    toggle.observe(on_change, names="value")
    show()
    _register_mixed_device_hint()
    return widgets.VBox([toggle, label])


MIXED_DEVICE_ERRORS = ("Unsupported type <class 'numpy.ndarray'>",  # CuPy, NumPy operand
                       "Implicit conversion to a NumPy array is not allowed")  # NumPy, CuPy one


def explain_mixed_devices(error):
    """The advice to re-run the lesson when error is CuPy's TypeError for mixed devices, else
    None."""
    if isinstance(error, TypeError) and any(m in str(error) for m in MIXED_DEVICE_ERRORS):
        return "NumPy (CPU) and CuPy (GPU) arrays met in one operation. " + RERUN
    return None


def _register_mixed_device_hint():
    """In IPython, print explain_mixed_devices' advice under such a traceback."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return

    def handler(shell, etype, value, tb, tb_offset=None):
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
        advice = explain_mixed_devices(value)
        if advice:
            print(advice, file=sys.stderr)

    shell.set_custom_exc((TypeError,), handler)
