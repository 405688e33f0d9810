import numpy as np
import pytest

from course_utils import backend, show_source
from course_utils.similarity import cosine_similarity


def test_default_device_is_cpu_without_course_device():
    assert backend.device() == "cpu"
    assert backend.xp() is np


@pytest.mark.parametrize("value", ["cpu", " CPU ", ""])
def test_course_device_sets_the_default(monkeypatch, value):
    monkeypatch.setenv("COURSE_DEVICE", value)
    assert backend.device() == "cpu"


def test_course_device_gpu_without_gpu_raises_with_reason(monkeypatch, no_cupy):
    monkeypatch.setenv("COURSE_DEVICE", "gpu")
    with pytest.raises(backend.GPUUnavailableError, match="CuPy is not installed"):
        backend.device()


def test_bad_course_device_is_named(monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "tpu")
    with pytest.raises(ValueError, match="COURSE_DEVICE must be one of"):
        backend.device()


@pytest.mark.parametrize("bad", ["GPU0", None, 1])
def test_use_rejects_unknown_devices(bad):
    with pytest.raises(ValueError, match="device must be one of"):
        backend.use(bad)


def test_gpu_available_without_cupy(no_cupy):
    status = backend.gpu_available()
    assert not status and "CuPy is not installed" in status.reason


def test_gpu_available_with_no_device(fake_cupy):
    fake_cupy(device_count=0)
    status = backend.gpu_available()
    assert not status and "no CUDA device" in status.reason


def test_gpu_available_reports_driver_errors(fake_cupy):
    # What cupy-cuda12x raises on a machine without a CUDA driver.
    fake_cupy(error=RuntimeError("cudaErrorInsufficientDriver: CUDA driver version is "
                                 "insufficient for CUDA runtime version"))
    status = backend.gpu_available()
    assert not status and "cudaErrorInsufficientDriver" in status.reason


def test_use_gpu_without_gpu_says_why(no_cupy):
    with pytest.raises(backend.GPUUnavailableError, match="asked for a GPU, but CuPy"):
        backend.use("gpu")
    assert backend.device() == "cpu"


def test_auto_falls_back_to_cpu_with_one_line(no_cupy, capsys):
    assert backend.use("auto") == "cpu"
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("No GPU (CuPy is not installed")
    assert backend.xp() is np


def test_use_gpu_and_auto_pick_a_working_gpu(fake_cupy, capsys):
    cupy = fake_cupy()
    status = backend.gpu_available()
    assert status and status.reason == "Fake GPU (1 device)"
    assert backend.use("auto") == "gpu" and capsys.readouterr().out == ""
    assert backend.xp() is cupy
    assert backend.use("cpu") == "cpu" and backend.xp() is np


def test_get_array_module_follows_the_data():
    assert backend.get_array_module(np.ones(2), [1, 2]) is np
    assert backend.get_array_module() is np


def test_asarray_and_to_numpy_on_cpu():
    x = backend.asarray([1, 2, 3], dtype=np.float32)
    assert isinstance(x, np.ndarray) and x.dtype == np.float32
    assert backend.to_numpy(x) is x
    assert backend.to_numpy([1.0, 2.0]).tolist() == [1.0, 2.0]


def test_timeit_reports_median_and_spread():
    calls = []
    timing = backend.timeit(calls.append, 1, repeat=5, number=3)
    assert len(calls) == 1 + 5 * 3  # one warm-up, then repeat x number
    assert 0 < timing.best <= timing.median and timing.iqr >= 0
    assert (timing.repeat, timing.number) == (5, 3)
    assert "median ± IQR/2 of 5 runs, 3 calls each" in str(timing)


def test_timeit_chooses_number_to_fill_min_time():
    timing = backend.timeit(lambda: None, repeat=3, min_time=0.001)
    assert timing.number > 1


def test_timeit_synchronises_the_gpu(fake_cupy):
    cupy = fake_cupy()
    backend.timeit(lambda: None, repeat=4, number=2)
    assert cupy.calls["synchronize"] == 1 + 4  # after the warm-up and after each run


@pytest.mark.parametrize("kwargs, error", [({"repeat": 0}, ValueError),
                                           ({"number": 0}, ValueError)])
def test_timeit_validates(kwargs, error):
    with pytest.raises(error, match=next(iter(kwargs))):
        backend.timeit(lambda: None, **kwargs)
    with pytest.raises(TypeError, match="fn must be callable"):
        backend.timeit(42)


def test_device_toggle_reverts_without_gpu_and_says_why(no_cupy):
    box = backend.device_toggle()
    toggle, label = box.children
    assert toggle.value == "cpu" and "No GPU" in label.value
    toggle.value = "gpu"
    assert toggle.value == "cpu" and backend.device() == "cpu"
    assert "CuPy is not installed" in label.value


def test_device_toggle_switches_device(fake_cupy):
    fake_cupy()
    toggle, label = backend.device_toggle().children
    toggle.value = "gpu"
    assert backend.device() == "gpu" and "Fake GPU" in label.value
    toggle.value = "cpu"
    assert backend.device() == "cpu"


def test_show_source_shows_the_running_code():
    shown = show_source(cosine_similarity)
    assert shown.data.startswith("```python\ndef cosine_similarity(a, b=None):")
    with pytest.raises(TypeError, match="obj must be"):
        show_source(3)


@pytest.mark.gpu
def test_gpu_round_trip():
    import cupy

    assert backend.use("gpu") == "gpu" and backend.xp() is cupy
    x = backend.asarray(np.arange(6.0).reshape(2, 3))
    assert isinstance(x, cupy.ndarray)
    assert backend.get_array_module(x, np.ones(1)) is cupy
    np.testing.assert_array_equal(backend.to_numpy(x * 2), np.arange(6.0).reshape(2, 3) * 2)
    assert backend.use("cpu") == "cpu" and isinstance(backend.asarray(x), np.ndarray)
    assert backend.timeit(cupy.matmul, x, x.T, repeat=3).median > 0
