import sys
import types

import numpy as np
import pytest

from course_utils import backend


def pytest_collection_modifyitems(config, items):
    """Skip tests marked gpu, with the reason, where no GPU can be used."""
    if not any("gpu" in item.keywords for item in items):
        return
    status = backend.gpu_available()
    if not status:
        skip = pytest.mark.skip(reason=f"no GPU: {status.reason}")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(autouse=True)
def fresh_backend(monkeypatch):
    """Each test starts with no device chosen, COURSE_DEVICE unset and the GPU probe redone."""
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    monkeypatch.setattr(backend, "_current", None)
    backend.gpu_available.cache_clear()
    yield
    backend.gpu_available.cache_clear()


def make_fake_cupy(device_count=1, error=None):
    """A stand-in cupy module: a working GPU backed by NumPy, or one whose calls fail."""
    cupy = types.ModuleType("cupy")
    calls = {"synchronize": 0}

    def get_device_count():
        if error is not None:
            raise error
        return device_count

    class Device:
        def synchronize(self):
            calls["synchronize"] += 1

    runtime = types.SimpleNamespace(getDeviceCount=get_device_count,
                                    getDeviceProperties=lambda i: {"name": b"Fake GPU"})
    cupy.cuda = types.SimpleNamespace(runtime=runtime, Device=Device)
    cupy.zeros = np.zeros
    cupy.asarray = np.asarray
    cupy.calls = calls
    return cupy


@pytest.fixture
def fake_cupy(monkeypatch):
    """Install a fake cupy (see make_fake_cupy) as `import cupy`; call it with its options."""
    def install(**options):
        module = make_fake_cupy(**options)
        monkeypatch.setitem(sys.modules, "cupy", module)
        backend.gpu_available.cache_clear()
        return module
    return install


@pytest.fixture
def no_cupy(monkeypatch):
    """Make `import cupy` fail, as on a machine without CuPy."""
    monkeypatch.setitem(sys.modules, "cupy", None)
    backend.gpu_available.cache_clear()
