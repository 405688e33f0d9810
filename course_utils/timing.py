"""Timing code honestly, and the same call on the CPU and the GPU.

``timeit`` warms a call up (CuPy compiles kernels on first use) and synchronises the GPU before
reading the clock; ``compare_devices`` times one call on both devices, checks that the results
agree (``assert_agree``) and prints one line: each lesson's "CPU and GPU" step is one call of it.
"""

import dataclasses
import statistics
import time
from dataclasses import dataclass

import numpy as np

from ._checks import Bool, Function, Int, Optional, Real, Text, checked, from_outside
from .backend import gpu_available, is_cupy_array, on_device, synchronize, to_device, to_numpy


@dataclass(frozen=True)
class Timing:
    """Seconds per call: the median and the spread (interquartile range) over repeats, and the
    warm-up call's result."""

    median: float
    iqr: float
    best: float
    repeat: int
    number: int
    result: object = dataclasses.field(repr=False, compare=False, default=None)

    def __str__(self):
        return (f"{_fmt_seconds(self.median)} ± {_fmt_seconds(self.iqr / 2)} "
                f"(median ± IQR/2 of {self.repeat} runs, {self.number} call"
                f"{'s' * (self.number > 1)} each)")


def _fmt_seconds(s):
    for unit, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s / 1e-9:.3g} ns"


@checked(fn=Function(), repeat=Int(), number=Optional(Int()), min_time=Real(low=0))
def timeit(fn, *args, repeat=7, number=None, min_time=0.05, **kwargs):
    """Time fn(*args, **kwargs), synchronising the GPU after each batch of calls.

    One warm-up call runs first (CuPy compiles kernels on first use); fn runs as a learner's
    call would, its own checks included.

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
        Seconds per call: median, interquartile range and best over the runs, and the warm-up
        call's result.
    """
    fn = from_outside(fn)

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
    return Timing(statistics.median(per_call), q3 - q1, per_call[0], repeat, number, result)


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


@checked(fn=Function(), rtol=Real(low=0), atol=Real(low=0), repeat=Int(),
         number=Optional(Int()), min_time=Real(low=0), transfer=Bool(), label=Optional(Text()),
         quiet=Bool())
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
    label = label or getattr(fn, "__name__", "fn")
    status = gpu_available()
    options = dict(repeat=repeat, number=number, min_time=min_time)
    host_args, host_kwargs = to_device((args, kwargs), "cpu")
    with on_device("cpu"):
        copies, kw_copies = to_device((host_args, host_kwargs), "cpu", copy=True)
        cpu = timeit(fn, *copies, **options, **kw_copies)
    gpu = None
    if status:
        def on_gpu(*a, **k):
            moved_args, moved_kwargs = to_device((a, k), "gpu")
            return fn(*moved_args, **moved_kwargs)

        with on_device("gpu"):
            start, kw_start = to_device((host_args, host_kwargs), "cpu" if transfer else "gpu",
                                        copy=True)
            gpu = timeit(on_gpu, *start, **options, **kw_start)
        assert_agree(gpu.result, cpu.result, rtol=rtol, atol=atol,
                     what=f"{label} on the GPU and CPU")
    comparison = DeviceComparison(label, cpu, gpu, status.reason, rtol, atol, cpu.result)
    if not quiet:
        print(comparison)
    return comparison


@checked(rtol=Real(low=0), atol=Real(low=0), what=Text())
def assert_agree(actual, expected, *, rtol=1e-7, atol=0.0, what="the results"):
    """Raise AssertionError unless actual matches expected: arrays (on any device) and numbers
    to rtol, atol; tuples, lists, dicts and dataclasses entry by entry; anything else by ==.

    Parameters
    ----------
    actual, expected : arrays, numbers, or containers of them
    rtol, atol : float >= 0, the tolerances for floating-point entries
    what : str, what is compared, for the message

    Returns
    -------
    None; AssertionError naming the first entry that differs.
    """

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
