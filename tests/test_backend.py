import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from course_utils import backend, show_source, timing, widgets
from course_utils._checks import array_module
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


@pytest.mark.parametrize(("bad", "error"), [("GPU0", ValueError), ("", ValueError),
                                            (None, TypeError), (1, TypeError)])
def test_use_rejects_unknown_devices(bad, error):
    with pytest.raises(error, match="device must be one of"):
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
    assert status and status.reason == f"{cupy.NAME} (1 device)"
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
    measured = timing.timeit(calls.append, 1, repeat=5, number=3)
    assert len(calls) == 1 + 5 * 3  # one warm-up, then repeat x number
    assert 0 < measured.best <= measured.median and measured.iqr >= 0
    assert (measured.repeat, measured.number) == (5, 3)
    assert "median ± IQR/2 of 5 runs, 3 calls each" in str(measured)


def test_timeit_chooses_number_to_fill_min_time():
    measured = timing.timeit(lambda: None, repeat=3, min_time=0.001)
    assert measured.number > 1


def test_timeit_synchronises_the_gpu(fake_cupy):
    cupy = fake_cupy()
    timing.timeit(lambda: None, repeat=4, number=2)
    assert cupy.calls["synchronize"] == 1 + 4  # after the warm-up and after each run


@pytest.mark.parametrize("kwargs, error", [({"repeat": 0}, ValueError),
                                           ({"number": 0}, ValueError)])
def test_timeit_validates(kwargs, error):
    with pytest.raises(error, match=next(iter(kwargs))):
        timing.timeit(lambda: None, **kwargs)
    with pytest.raises(TypeError, match="fn must be callable"):
        timing.timeit(42)


def test_device_toggle_reverts_without_gpu_and_says_why(no_cupy):
    box = widgets.device_toggle()
    toggle, label = box.children
    assert toggle.value == "cpu" and "No GPU" in label.value
    toggle.value = "gpu"
    assert toggle.value == "cpu" and backend.device() == "cpu"
    assert "CuPy is not installed" in label.value


def test_device_toggle_switches_device_and_says_to_run_all(fake_cupy):
    cupy = fake_cupy()
    toggle, label = widgets.device_toggle().children
    assert cupy.NAME in label.value
    toggle.value = "gpu"
    assert backend.device() == "gpu" and "Now on the GPU" in label.value
    assert "Run All" in label.value and "before the switch" in label.value
    toggle.value = "cpu"
    assert backend.device() == "cpu" and "Now on the CPU" in label.value


def test_show_source_shows_the_running_code():
    shown = show_source(cosine_similarity)
    assert shown.data.startswith("```python\n@checked(**_PAIR)\ndef cosine_similarity(a, b=None):")
    with pytest.raises(TypeError, match="obj must be"):
        show_source(3)


@pytest.mark.gpu
def test_gpu_round_trip():
    import cupy

    assert backend.use("gpu") == "gpu" and backend.xp() is cupy
    x = backend.asarray(np.arange(6.0).reshape(2, 3))
    assert isinstance(x, cupy.ndarray)
    assert backend.get_array_module(x, 1.0) is cupy
    np.testing.assert_array_equal(backend.to_numpy(x * 2), np.arange(6.0).reshape(2, 3) * 2)
    assert backend.use("cpu") == "cpu" and isinstance(backend.asarray(x), np.ndarray)
    assert timing.timeit(cupy.matmul, x, x.T, repeat=3).median > 0


# ----------------------------------------------------------------------------- the device's
# strictness, moving results, and the one CPU/GPU comparison


@pytest.mark.gpu
def test_mixing_devices_is_an_error_that_says_to_rerun():
    import cupy

    gpu, cpu = cupy.asarray(np.ones((2, 3))), np.ones((2, 3))
    with pytest.raises(backend.DeviceMismatchError, match="re-run the lesson after switching"):
        backend.get_array_module(gpu, cpu)
    assert backend.get_array_module(gpu, [1.0], 2.0, np.float64(1)) is cupy
    with pytest.raises(backend.DeviceMismatchError, match="re-run the lesson after switching"):
        cosine_similarity(gpu, cpu)
    with pytest.raises(backend.DeviceMismatchError, match="^y is a NumPy array .CPU."):
        array_module(X=gpu, y=cpu)
    assert array_module(X=gpu, y=[1.0], w=None) is cupy
    assert isinstance(cosine_similarity(gpu, [[1.0, 2.0, 3.0]]), cupy.ndarray)  # a list is data


@pytest.mark.gpu
def test_cupy_errors_for_mixed_arrays_get_the_advice():
    import cupy

    gpu = cupy.asarray(np.ones(3))
    errors = []
    for mix in (lambda: gpu + np.ones(3), lambda: np.asarray(gpu)):
        with pytest.raises(TypeError) as caught:
            mix()
        errors.append(caught.value)
    for error in errors:
        assert "re-run the lesson after switching" in widgets.explain_mixed_devices(error)
    assert widgets.explain_mixed_devices(TypeError("unsupported operand")) is None
    assert widgets.explain_mixed_devices(ValueError(cupy.MIXED)) is None


@pytest.mark.gpu
def test_to_device_moves_whole_results_and_back():
    import cupy

    from course_utils.clustering import KMeansResult

    result = KMeansResult(np.ones((2, 3)), np.arange(4), 1.5, 7)
    nested = {"fit": result, "pair": (np.zeros(2), "name"), "list": [np.ones(1), 3]}
    on_gpu = backend.to_device(nested, "gpu")
    assert isinstance(on_gpu["fit"], KMeansResult) and on_gpu["fit"].n_iter == 7
    assert isinstance(on_gpu["fit"].centers, cupy.ndarray)
    assert isinstance(on_gpu["pair"], tuple) and on_gpu["pair"][1] == "name"
    assert isinstance(on_gpu["list"][0], cupy.ndarray) and on_gpu["list"][1] == 3
    back = backend.to_device(on_gpu, "cpu")
    assert isinstance(back["fit"].labels, np.ndarray)
    timing.assert_agree(back, nested, rtol=0)
    assert isinstance(result.centers, np.ndarray)  # the original is untouched
    backend.use("gpu")
    assert isinstance(backend.to_device(np.ones(2)), cupy.ndarray)  # default: current device


def test_to_device_checks_its_device(no_cupy):
    with pytest.raises(ValueError, match=r"device must be one of \['cpu', 'gpu'\]"):
        backend.to_device(np.ones(2), "tpu")
    with pytest.raises(TypeError, match="device must be one of"):
        backend.to_device(np.ones(2), 0)
    with pytest.raises(backend.GPUUnavailableError, match="CuPy is not installed"):
        backend.to_device(np.ones(2), "gpu")
    assert backend.to_device("text", "gpu") == "text"  # nothing to move, nothing asked


@pytest.mark.gpu
def test_on_device_sets_and_restores():
    import cupy

    assert backend.device() == "cpu"
    with backend.on_device("gpu"):
        assert backend.xp() is cupy
    assert backend.device() == "cpu"
    with pytest.raises(RuntimeError), backend.on_device("gpu"):
        raise RuntimeError
    assert backend.device() == "cpu"


def test_compare_devices_without_gpu_times_the_cpu_and_says_why(no_cupy, capsys):
    seen = []

    def work(a, scale=1.0):
        seen.append(type(a))
        return a * scale

    comparison = timing.compare_devices(work, np.ones(3), scale=2.0, repeat=3, number=1)
    line = capsys.readouterr().out
    assert line.count("\n") == 1 and line.startswith("work: CPU ")
    assert "no GPU (CuPy is not installed" in line
    assert comparison.gpu is None and comparison.speedup is None
    assert comparison.cpu.repeat == 3 and set(seen) == {np.ndarray}


@pytest.mark.gpu
def test_compare_devices_runs_each_side_on_its_device(capsys):
    import cupy

    devices = []

    def work(a, b):
        devices.append((backend.device(), type(a), type(b["w"])))
        return {"sum": (a * b["w"]).sum(), "made": backend.xp().arange(3)}

    comparison = timing.compare_devices(work, np.ones(4), {"w": np.full(4, 2.0)},
                                         repeat=2, number=1, label="weighted sum")
    assert set(devices) == {("cpu", np.ndarray, np.ndarray), ("gpu", cupy.ndarray, cupy.ndarray)}
    line = capsys.readouterr().out
    assert line.startswith("weighted sum: CPU ") and "GPU " in line and "results agree" in line
    assert comparison.speedup == comparison.cpu.median / comparison.gpu.median
    assert backend.device() == "cpu"  # restored


@pytest.mark.gpu
def test_compare_devices_catches_a_gpu_result_that_differs():
    def differs(a):
        return a.sum() + (backend.get_array_module(a) is not np) * 1e-3

    with pytest.raises(AssertionError, match="on the GPU and CPU differ at result"):
        timing.compare_devices(differs, np.ones(3), repeat=1, number=1, quiet=True)
    comparison = timing.compare_devices(differs, np.ones(3), rtol=1e-3, repeat=1, number=1,
                                         quiet=True)
    assert comparison.gpu is not None


@pytest.mark.gpu
def test_compare_devices_with_transfer_gets_host_inputs():
    import cupy

    kinds = []

    def work(a):
        kinds.append(type(a))
        return a + 1

    timing.compare_devices(work, np.ones(2), transfer=True, repeat=1, number=1, quiet=True)
    assert set(kinds) == {np.ndarray, cupy.ndarray}


def test_compare_devices_validates():
    with pytest.raises(TypeError, match="fn must be callable"):
        timing.compare_devices(3)
    for bad, error, message in [
        ({"repeat": 0}, ValueError, "repeat must be at least 1"),
        ({"repeat": 2.0}, TypeError, "repeat must be an int"),
        ({"number": 0}, ValueError, "number must be at least 1"),
        ({"min_time": float("nan")}, ValueError, "min_time must be finite"),
        ({"rtol": -1e-7}, ValueError, "rtol must be in"),
        ({"atol": "0"}, TypeError, "atol must be a real number"),
    ]:
        with pytest.raises(error, match=message):
            timing.compare_devices(abs, 1.0, quiet=True, **bad)
    with pytest.raises(ValueError, match="rtol must be in"):
        timing.assert_agree(1.0, 1.0, rtol=-1.0)


def test_assert_agree_walks_results():
    timing.assert_agree((np.array([1.0, 2.0]), [0.1, 0.2], "a"),
                         (np.array([1.0, 2.0 + 1e-12]), [0.1, 0.2], "a"))
    with pytest.raises(AssertionError, match=r"differ at result\[2\]: 'a' != 'b'"):
        timing.assert_agree((1, 2, "a"), (1, 2, "b"))
    with pytest.raises(AssertionError, match=r"differ at result\['x'\]"):
        timing.assert_agree({"x": np.array([1, 2])}, {"x": np.array([1, 3])})
    with pytest.raises(AssertionError, match="lengths 1 != 2"):
        timing.assert_agree([np.ones(1)], [np.ones(1), np.ones(1)])


finite_arrays = arrays(st.sampled_from([np.float32, np.float64, np.int64, np.bool_]),
                       array_shapes(max_dims=3, max_side=4),
                       elements={"allow_nan": False, "allow_infinity": False})


@pytest.mark.gpu
@given(finite_arrays)
def test_to_device_round_trip_keeps_every_value_and_dtype(a):
    on_gpu = backend.to_device({"a": a, "pair": (a, a.shape)}, "gpu")
    assert backend.get_array_module(on_gpu["a"]) is not np
    back = backend.to_device(on_gpu, "cpu")
    assert back["a"].dtype == a.dtype and back["pair"][1] == a.shape
    np.testing.assert_array_equal(back["a"], a)
    timing.assert_agree(on_gpu, {"a": a, "pair": (a, a.shape)}, rtol=0)


@given(arrays(np.float64, array_shapes(max_dims=2, max_side=5), elements=st.floats(-1e6, 1e6)),
       st.floats(1e-6, 1e-2))
def test_assert_agree_accepts_within_and_rejects_beyond_tolerance(a, rtol):
    timing.assert_agree(a * (1 + rtol / 4), a, rtol=rtol)
    shifted = a.copy()
    shifted.flat[0] += 1 + abs(shifted.flat[0])  # far beyond rtol, even at 0
    with pytest.raises(AssertionError, match="differ at result"):
        timing.assert_agree(shifted, a, rtol=rtol)


@pytest.mark.gpu
@given(arrays(np.float64, array_shapes(min_dims=2, max_dims=2, max_side=6),
              elements=st.floats(-1e3, 1e3)))
def test_standin_computes_what_numpy_computes(a):
    """The stand-in is NumPy underneath: any difference from NumPy would be its own bug."""
    import cupy

    g = cupy.asarray(a)
    for on_gpu, on_cpu in [(g @ g.T, a @ a.T), (cupy.exp(-g * g), np.exp(-a * a)),
                           (g.sum(axis=0), a.sum(axis=0)), (g[g > 0], a[a > 0]),
                           (cupy.argsort(g, axis=1), np.argsort(a, axis=1))]:
        assert isinstance(on_gpu, cupy.ndarray)
        np.testing.assert_array_equal(on_gpu.get(), on_cpu)
    assert isinstance(g.max(), cupy.ndarray) and g.max().ndim == 0  # 0-d, as in CuPy


@pytest.mark.gpu
def test_compare_devices_leaves_the_inputs_alone_and_returns_the_cpu_result():
    def step_in_place(theta):
        theta -= 1.0  # an optimizer step: changes its input
        return theta.copy()

    theta = np.zeros(3)
    comparison = timing.compare_devices(step_in_place, theta, repeat=2, number=1, quiet=True)
    np.testing.assert_array_equal(theta, 0.0)  # the caller's array is untouched
    np.testing.assert_array_equal(comparison.result, -1.0)  # the first call, from the start
    assert "rtol=1e-07, atol=0" in str(comparison)


@given(st.one_of(st.text(max_size=6), st.sampled_from(backend.DEVICES)))
def test_use_takes_exactly_its_devices(name):
    if name == "gpu" and not backend.gpu_available():
        with pytest.raises(backend.GPUUnavailableError):
            backend.use(name)
    elif name in backend.DEVICES:
        assert backend.use(name) == ("cpu" if name == "cpu" else backend.device())
        assert backend.device() in ("cpu", "gpu")
    else:
        with pytest.raises(ValueError, match="device must be one of"):
            backend.use(name)


@pytest.mark.gpu
@given(finite_arrays, st.sampled_from(["cpu", "gpu"]))
def test_on_device_makes_xp_and_to_numpy_follow(a, name):
    before = backend.device()
    with backend.on_device(name):
        module = backend.xp()
        moved = backend.asarray(a)
        assert backend.is_cupy_array(moved) == (name == "gpu") == (module is not np)
        assert backend.get_array_module(moved) is module
    assert backend.device() == before
    np.testing.assert_array_equal(backend.to_numpy(moved), a)
    assert isinstance(backend.to_numpy(moved), np.ndarray)


@given(st.integers(1, 3), st.integers(1, 3))
def test_timeit_makes_repeat_runs_of_number_calls(repeat, number):
    calls = []
    measured = timing.timeit(calls.append, 1, repeat=repeat, number=number)
    assert len(calls) == 1 + repeat * number  # one warm-up call, then the timed runs
    assert 0 <= measured.best <= measured.median and np.isfinite(measured.median)


@pytest.mark.gpu
@given(arrays(np.float64, array_shapes(max_dims=2, max_side=5), elements=st.floats(-1e6, 1e6)))
def test_compare_devices_returns_the_cpu_result_and_checks_the_gpu_agrees(a):
    comparison = timing.compare_devices(np.cumsum, a, repeat=1, number=1, quiet=True,
                                         rtol=1e-12, atol=1e-6)
    assert isinstance(comparison.result, np.ndarray)
    np.testing.assert_array_equal(comparison.result, np.cumsum(a))
    assert comparison.gpu is not None and comparison.speedup > 0


@given(arrays(np.float64, array_shapes(max_dims=2)))
def test_where_says_the_cpu_for_numpy_arrays(x):
    assert backend.where(x) == "a NumPy array (CPU)"


@pytest.mark.gpu
def test_where_says_the_gpu_for_cupy_arrays():
    backend.use("gpu")
    assert backend.where(backend.asarray([1.0])) == "a CuPy array (GPU)"


@pytest.mark.parametrize("old", ["timeit", "compare_devices", "assert_agree", "Timing",
                                 "DeviceComparison", "device_toggle", "explain_mixed_devices"])
def test_names_that_moved_out_of_backend_still_work_and_say_where_they_went(old):
    new_home = timing if hasattr(timing, old) else widgets
    with pytest.warns(DeprecationWarning, match=rf"backend\.{old} is now \w+\.{old}"):
        assert getattr(backend, old) is getattr(new_home, old)


def test_a_name_that_never_existed_is_still_an_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'"):
        backend.no_such_name  # noqa: B018
