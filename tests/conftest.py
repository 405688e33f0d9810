"""Fixtures shared by the tests: a fresh backend per test, and CuPy as the GPU tests see it.

Tests marked ``gpu`` run on real CuPy where it gives a working GPU, and everywhere else on the
CuPy stand-in of ``tests/gpu_standin`` (NumPy underneath, strict like CuPy), so that the GPU
path of every module is exercised on a machine without a GPU.
"""

import importlib.util
import json
import os
import statistics
import sys
import time
from pathlib import Path

import pytest
from hypothesis import settings

from course_utils import backend

# Property tests draw the same examples on every run, so a test run is reproducible (CI
# included); HYPOTHESIS_PROFILE=explore draws new ones each run, to hunt for bugs.
settings.register_profile("course", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "course"))

STANDIN = Path(__file__).resolve().parent / "gpu_standin"
RESULTS = Path(__file__).resolve().parent.parent / "bench" / "results"
SESSION_START = time.time()
REAL_GPU = backend.gpu_available()  # probed once, before any test installs a stand-in
backend.gpu_available.cache_clear()


def load_standin():
    """A fresh copy of the CuPy stand-in, as a module named cupy (not yet importable)."""
    spec = importlib.util.spec_from_file_location("cupy", STANDIN / "cupy" / "__init__.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pytest_report_header(config):
    where = f"real CuPy on {REAL_GPU.reason}" if REAL_GPU else \
        f"the CuPy stand-in (no GPU: {REAL_GPU.reason})"
    return f"GPU tests (marked gpu) run on {where}"


@pytest.fixture(autouse=True)
def fresh_backend(monkeypatch):
    """Each test starts with no device chosen, COURSE_DEVICE unset and the GPU probe redone."""
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    monkeypatch.setattr(backend, "_current", None)
    backend.gpu_available.cache_clear()
    yield
    backend.gpu_available.cache_clear()


@pytest.fixture(autouse=True)
def gpu_for_gpu_tests(request, monkeypatch):
    """In a test marked gpu, `import cupy` gives real CuPy with a GPU, else the stand-in."""
    if request.node.get_closest_marker("gpu") is None or REAL_GPU:
        yield
        return
    monkeypatch.setitem(sys.modules, "cupy", load_standin())
    backend.gpu_available.cache_clear()
    yield


@pytest.fixture
def gpu_path_kernels(monkeypatch):
    """Kernels started in this test run on the GPU path: COURSE_DEVICE=gpu, and the stand-in
    first on their PYTHONPATH unless real CuPy has a GPU."""
    monkeypatch.setenv("COURSE_DEVICE", "gpu")
    if not REAL_GPU:
        path = os.environ.get("PYTHONPATH")
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(STANDIN), path])))


@pytest.fixture
def fake_cupy(monkeypatch):
    """Install the stand-in as `import cupy`, working or failing: install(device_count=0) has
    no device, install(error=err) raises err from the first CUDA call."""
    def install(device_count=1, error=None):
        module = load_standin()

        def get_device_count():
            if error is not None:
                raise error
            return device_count

        module.cuda.runtime.getDeviceCount = get_device_count
        monkeypatch.setitem(sys.modules, "cupy", module)
        backend.gpu_available.cache_clear()
        return module
    return install


@pytest.fixture
def no_cupy(monkeypatch):
    """Make `import cupy` fail, as on a machine without CuPy."""
    monkeypatch.setitem(sys.modules, "cupy", None)
    backend.gpu_available.cache_clear()


def latency_table(rows):
    """Slider latencies, rows of (lesson, slider label, [seconds per key press]), as a
    Markdown table, one row per slider in lesson order."""
    lines = ["| lesson | slider | median ms | max ms | median under 300 ms |",
             "| --- | --- | --- | --- | --- |"]
    for lesson, label, times in sorted(rows, key=lambda row: row[0]):  # stable: page order
        median = statistics.median(times)
        lines.append(f"| {lesson} | {label} | {median * 1e3:.0f} | {max(times) * 1e3:.0f} "
                     f"| {'yes' if median < 0.3 else 'NO'} |")
    return "\n".join(lines)


def pytest_terminal_summary(terminalreporter):
    """The slider latencies the browser tests measured in this session, gathered from every
    process that ran some (tests/browser/conftest.py), printed and written to
    bench/results/widget_latency.md."""
    if "PYTEST_XDIST_WORKER" in os.environ:  # a worker: the controller gathers them all
        return
    parts = [p for p in (RESULTS / "latency").glob("*.json")
             if p.stat().st_mtime >= SESSION_START]
    if not parts:
        return
    table = latency_table([row for p in parts for row in json.loads(p.read_text())])
    (RESULTS / "widget_latency.md").write_text(table + "\n")
    for p in parts:
        p.unlink()
    terminalreporter.write_sep("-", "slider move to redrawn output (widget_latency.md)")
    terminalreporter.write_line(table)
