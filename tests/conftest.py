"""Fixtures shared by the tests: a fresh backend per test, and CuPy as the GPU tests see it.

Tests marked ``gpu`` run on real CuPy where it gives a working GPU, and everywhere else on the
CuPy stand-in of ``tests/gpu_standin`` (NumPy underneath, strict like CuPy), so that the GPU
path of every module is exercised on a machine without a GPU.
"""

import importlib.util
import os
import sys
import time
from pathlib import Path

import pytest

from course_utils import backend

STANDIN = Path(__file__).resolve().parent / "gpu_standin"
LATENCY_TABLE = Path(__file__).resolve().parent.parent / "bench" / "results" / "widget_latency.md"
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


def pytest_terminal_summary(terminalreporter):
    """The slider latencies the browser tests measured in this session, if they ran."""
    if LATENCY_TABLE.exists() and LATENCY_TABLE.stat().st_mtime >= SESSION_START:
        terminalreporter.write_sep("-", f"slider move to redrawn output ({LATENCY_TABLE.name})")
        terminalreporter.write_line(LATENCY_TABLE.read_text().rstrip())
