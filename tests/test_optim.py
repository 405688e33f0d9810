import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from course_utils import backend, optim


def two_steps(opt_class, **settings):
    """θ after each of two steps on f(θ) = θ², from θ = 1 (so g = 2θ)."""
    theta = np.array([1.0])
    opt = opt_class([theta], **settings)
    path = []
    for _ in range(2):
        opt.step([2 * theta])
        path.append(theta.item())
    return path


# Each expected value worked by hand from the formula in torch.optim's documentation.
FIRST_STEPS = {
    "sgd": (optim.SGD, {"lr": 0.1}, [1 - 0.1 * 2, 0.8 - 0.1 * 1.6]),
    # b1 = g = 2; b2 = 0.9 * 2 + 1.6 = 3.4
    "momentum": (optim.SGD, {"lr": 0.1, "momentum": 0.9}, [0.8, 0.8 - 0.1 * 3.4]),
    # b2 = 0.9 * 2 + 0.5 * 1.6 = 2.6
    "dampening": (optim.SGD, {"lr": 0.1, "momentum": 0.9, "dampening": 0.5},
                  [0.8, 0.8 - 0.1 * 2.6]),
    # g1' = 2 + 0.9 * 2 = 3.8 -> 0.62; g2 = 1.24, b2 = 1.8 + 1.24 = 3.04, g2' = 1.24 + 0.9 * 3.04
    "nesterov": (optim.SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True},
                 [0.62, 0.62 - 0.1 * (1.24 + 0.9 * 3.04)]),
    # g' = g + 0.5 θ: 2.5 -> 0.75; then 1.5 + 0.375 = 1.875
    "weight_decay": (optim.SGD, {"lr": 0.1, "weight_decay": 0.5}, [0.75, 0.75 - 0.1 * 1.875]),
    # s1 = 4 -> 1 - 0.1 * 2 / 2; s2 = 4 + 1.8² = 7.24
    "adagrad": (optim.Adagrad, {"lr": 0.1, "eps": 1e-300},
                [0.9, 0.9 - 0.1 * 1.8 / math.sqrt(7.24)]),
    # lr_decay 0.5: the second step uses 0.1 / (1 + 0.5)
    "adagrad_decay": (optim.Adagrad, {"lr": 0.1, "eps": 1e-300, "lr_decay": 0.5},
                      [0.9, 0.9 - 0.1 / 1.5 * 1.8 / math.sqrt(7.24)]),
    # v1 = 0.01 * 4 = 0.04 -> 1 - 0.01 * 2 / 0.2; v2 = 0.99 * 0.04 + 0.01 * 3.24 = 0.072
    "rmsprop": (optim.RMSprop, {"lr": 0.01, "eps": 1e-300},
                [0.9, 0.9 - 0.01 * 1.8 / math.sqrt(0.072)]),
    # b1 = 2 / 0.2 = 10; b2 = 0.9 * 10 + 1.8 / sqrt(0.072)
    "rmsprop_momentum": (optim.RMSprop, {"lr": 0.01, "eps": 1e-300, "momentum": 0.9},
                         [0.9, 0.9 - 0.01 * (9 + 1.8 / math.sqrt(0.072))]),
    # m1 = 0.2, v1 = 0.004; m̂ = 2, v̂ = 4: the first step is lr * sign(g).
    # m2 = 0.18 + 0.18 = 0.36, v2 = 0.003996 + 0.00324 = 0.007236
    "adam": (optim.Adam, {"lr": 0.1, "eps": 1e-300},
             [0.9, 0.9 - 0.1 * (0.36 / 0.19) / math.sqrt(0.007236 / (1 - 0.999**2))]),
}


@pytest.mark.parametrize("name", FIRST_STEPS)
def test_first_steps_by_hand(name):
    opt_class, settings, expected = FIRST_STEPS[name]
    np.testing.assert_allclose(two_steps(opt_class, **settings), expected, rtol=1e-12)


def test_eps_sits_outside_the_square_root():
    # With g = 0 nothing moves; with a tiny gradient the eps in the denominator dominates.
    theta = np.array([1.0])
    optim.Adam([theta], lr=1.0, eps=1e-3).step([np.array([1e-6])])
    assert theta.item() == pytest.approx(1 - 1e-6 / (1e-6 + 1e-3), rel=1e-12)
    theta = np.array([1.0])
    optim.RMSprop([theta], lr=1.0, eps=1e-3).step([np.array([1e-6])])
    assert theta.item() == pytest.approx(1 - 1e-6 / (math.sqrt(0.01) * 1e-6 + 1e-3), rel=1e-12)


OPTIMIZERS = {
    "sgd": (optim.SGD, {"lr": 0.05}),
    "momentum": (optim.SGD, {"lr": 0.05, "momentum": 0.9}),
    "nesterov": (optim.SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    "adagrad": (optim.Adagrad, {"lr": 0.5}),
    "rmsprop": (optim.RMSprop, {"lr": 0.01}),
    "adam": (optim.Adam, {"lr": 0.05}),
}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_converges_on_a_quadratic(name):
    # f(θ) = ½ (θ - c)ᵀ A (θ - c) with condition number 10; the minimum is c.
    opt_class, settings = OPTIMIZERS[name]
    A, c = np.diag([1.0, 10.0]), np.array([1.0, -2.0])
    theta = np.array([-3.0, 2.0])
    opt = opt_class([theta], **settings)
    for _ in range(3000):
        opt.step([A @ (theta - c)])
    np.testing.assert_allclose(theta, c, atol=1e-3)


def test_several_parameters_and_float32():
    W, b = np.ones((2, 3), np.float32), np.zeros(3, np.float32)
    opt = optim.Adam([W, b], lr=0.1)
    opt.step([np.ones((2, 3), np.float32), -np.ones(3, np.float32)])
    assert W.dtype == np.float32 and b.dtype == np.float32
    np.testing.assert_allclose(W, 0.9, rtol=1e-6)
    np.testing.assert_allclose(b, 0.1, rtol=1e-5)
    assert opt.t == 1


def test_the_parameters_are_updated_in_place():
    theta = np.array([1.0, 2.0])
    view = theta
    optim.SGD([theta], lr=0.5).step([np.array([1.0, 1.0])])
    assert view is theta and theta.tolist() == [0.5, 1.5]


@pytest.mark.parametrize("call, error, message", [
    (lambda: optim.SGD([], lr=0.1), ValueError, "params is empty"),
    (lambda: optim.SGD([[1.0]], lr=0.1), TypeError, r"params\[0\] must be a float array"),
    (lambda: optim.SGD([np.array([1, 2])], lr=0.1), TypeError, "must be a float array"),
    (lambda: optim.SGD([np.ones(2)], lr=0), ValueError, r"lr must be in \(0, inf\)"),
    (lambda: optim.SGD([np.ones(2)], lr="0.1"), TypeError, "lr must be a real number"),
    (lambda: optim.SGD([np.ones(2)], lr=0.1, momentum=1.0), ValueError, "momentum must be in"),
    (lambda: optim.SGD([np.ones(2)], lr=0.1, nesterov=True), ValueError, "nesterov=True needs"),
    (lambda: optim.SGD([np.ones(2)], lr=0.1, weight_decay=-1), ValueError, "weight_decay"),
    (lambda: optim.Adam([np.ones(2)], betas=(0.9,)), ValueError, "betas must be a pair"),
    (lambda: optim.Adam([np.ones(2)], betas=(0.9, 1.0)), ValueError, r"betas\[1\] must be in"),
    (lambda: optim.Adagrad([np.ones(2)], eps=-1e-10), ValueError, "eps must be in"),
    (lambda: optim.RMSprop([np.ones(2)], alpha=1.5), ValueError, "alpha must be in"),
    (lambda: optim.Adam([np.ones(2)]).step([np.ones(2), np.ones(2)]), ValueError,
     "one gradient per parameter"),
    (lambda: optim.Adam([np.ones(2)]).step([np.ones(3)]), ValueError,
     r"grads\[0\] has shape \(3,\)"),
])
def test_bad_input_names_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()



# --- Issue 12: every bad input a clear error, every finite input a right answer.

ALL = {"sgd": optim.SGD, "adagrad": optim.Adagrad, "rmsprop": optim.RMSprop, "adam": optim.Adam}


@pytest.mark.parametrize("opt_class", ALL.values(), ids=ALL.keys())
def test_infinite_lr_is_refused(opt_class):  # issue 12: lr=inf was accepted and gave NaN
    with pytest.raises(ValueError, match=r"lr must be finite"):
        opt_class([np.ones(2)], lr=float("inf"))
    with pytest.raises(ValueError, match=r"lr must be finite"):
        opt_class([np.ones(2)], lr=float("nan"))
    opt = opt_class([np.ones(2)], lr=0.1)
    with pytest.raises(ValueError, match=r"lr must be"):
        opt.lr = -1.0  # a schedule that goes wrong is caught where it sets the rate


@pytest.mark.parametrize("opt_class", [optim.Adagrad, optim.RMSprop, optim.Adam])
def test_zero_eps_is_refused(opt_class):  # issue 12: eps=0 gave 0/0 = NaN on a zero gradient
    with pytest.raises(ValueError, match=r"eps must be in \(0, inf\)"):
        opt_class([np.ones(2)], eps=0)


@pytest.mark.parametrize("opt_class", ALL.values(), ids=ALL.keys())
def test_numpy_scalars_are_refused_and_0d_arrays_updated(opt_class):
    # issue 12: np.float64 parameters passed the check and were never updated
    with pytest.raises(TypeError, match=r"params\[0\] must be a float array.*NumPy scalar"):
        opt_class([np.float64(1.0)], lr=0.1)
    theta = np.array(1.0)
    opt = opt_class([theta], lr=0.1)
    opt.step([2 * theta])  # a NumPy scalar, as arithmetic on a 0-d array gives
    opt.step([np.array(2.0)])
    assert theta.ndim == 0 and theta < 1.0


@pytest.mark.parametrize("opt_class", [optim.Adagrad, optim.RMSprop, optim.Adam])
@pytest.mark.parametrize("g", [1e154, 1e200, 1e308, -1e300])
def test_huge_and_tiny_gradients_give_a_step_of_about_lr(opt_class, g):
    # issue 12: g = 1e154 made Adam take no step (g * g overflowed to inf)
    theta = np.array([1.0])
    with np.errstate(all="raise"):
        opt_class([theta], lr=0.1).step([np.array([g])])
    step = 1.0 - theta.item()
    expected = {optim.Adagrad: 0.1, optim.RMSprop: 0.1 / math.sqrt(0.01), optim.Adam: 0.1}
    assert step == pytest.approx(math.copysign(expected[opt_class], g), rel=1e-9)
    theta32 = np.array([1.0], np.float32)  # float32 squares overflow beyond 1.8e19
    opt_class([theta32], lr=0.1).step([np.array([1e30], np.float32)])
    assert theta32.item() == pytest.approx(1.0 - expected[opt_class], abs=1e-6)


@pytest.mark.parametrize("call, error, message", [
    (lambda: optim.SGD(np.float64(1.0), lr=0.1), TypeError, "params must be an iterable"),
    (lambda: optim.SGD([np.ones(2, np.float32), np.ones(2, np.float32)][:1] * 2, lr=0.1),
     ValueError, r"params\[1\] appears twice"),
    (lambda: optim.SGD([np.ones(2)], lr=True), TypeError, "lr must be a real number"),
    (lambda: optim.SGD([np.ones(2)], lr=0.1, nesterov="yes"), TypeError, "nesterov must be"),
    (lambda: optim.SGD([np.ones(2)], lr=0.1, dampening=2), ValueError, "dampening must be in"),
    (lambda: optim.Adagrad([np.ones(2)], lr_decay=-1), ValueError, "lr_decay must be in"),
    (lambda: optim.Adagrad([np.ones(2)], initial_accumulator_value=np.nan), ValueError,
     "initial_accumulator_value must be finite"),
    (lambda: optim.Adam([np.ones(2)], betas=0.9), ValueError, "betas must be a pair"),
    (lambda: optim.Adam([np.ones(2)], betas=(0.9, "x")), TypeError, r"betas\[1\] must be"),
    (lambda: optim.SGD([np.ones(2)], lr=0.1).step([[1.0, 2.0]]), TypeError,
     r"grads\[0\] must be a real array"),
    (lambda: optim.SGD([np.ones(2)], lr=0.1).step([np.array(["a", "b"])]), TypeError,
     r"grads\[0\] must be a real array"),
])
def test_more_bad_input_names_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_a_read_only_parameter_is_refused():
    theta = np.ones(2)
    theta.flags.writeable = False
    with pytest.raises(ValueError, match=r"params\[0\] is read-only"):
        optim.SGD([theta], lr=0.1)


# Hypothesis: bad settings name their argument; finite input keeps the invariants.

SETTINGS = {
    optim.SGD: ["lr", "momentum", "dampening", "weight_decay"],
    optim.Adagrad: ["lr", "lr_decay", "eps", "weight_decay", "initial_accumulator_value"],
    optim.RMSprop: ["lr", "alpha", "eps", "weight_decay", "momentum"],
    optim.Adam: ["lr", "eps", "weight_decay"],
}
BAD_REALS = st.sampled_from([float("nan"), float("inf"), -float("inf"), -1.0, -1e-300, 1.5,
                             "0.1", None, True, 1j, [0.1]])
finite_arrays = arrays(np.float64, array_shapes(min_dims=0, max_dims=3, max_side=4),
                       elements=st.floats(-1e6, 1e6))


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([(c, name) for c, names in SETTINGS.items() for name in names]),
       BAD_REALS)
def test_property_bad_settings_name_their_argument(case, value):
    opt_class, name = case
    if name in ("dampening", "alpha") and value == 1.5 or name == "momentum" and value == 1.5:
        pass  # 1.5 is outside [0, 1] / [0, 1): still bad
    elif value == 1.5:
        return  # 1.5 is a fine lr, eps, weight decay, ...
    with pytest.raises((ValueError, TypeError), match=name):
        opt_class([np.ones(2)], **{name: value})


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(list(ALL.values())), finite_arrays, st.floats(1e-4, 1.0))
def test_property_zero_gradient_leaves_the_parameters_unchanged(opt_class, theta, lr):
    before = theta.copy()
    opt = opt_class([theta], lr=lr)
    for _ in range(3):
        opt.step([np.zeros_like(theta)])
    np.testing.assert_array_equal(theta, before)


@settings(max_examples=40, deadline=None)
@given(finite_arrays, st.floats(1e-4, 10.0), st.integers(0, 2**32 - 1))
def test_property_sgd_step_is_p_minus_lr_g(theta, lr, seed):
    g = np.asarray(np.random.default_rng(seed).standard_normal(theta.shape) * 1e3)
    expected = theta - lr * g
    optim.SGD([theta], lr=lr).step([g])
    np.testing.assert_array_equal(theta, expected)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from([optim.Adagrad, optim.RMSprop, optim.Adam]), finite_arrays,
       st.floats(1e-4, 1.0), st.floats(-300, 300))
def test_property_adaptive_steps_are_finite_and_bounded(opt_class, theta, lr, log_scale):
    # the first step of Adagrad/Adam moves each entry by at most lr, RMSprop by lr / √0.01,
    # for any finite gradient: the step is invariant to the gradient's scale
    g = np.where(np.arange(theta.size) % 2, -1.0, 1.0).reshape(theta.shape) * 10.0 ** log_scale
    before = theta.copy()
    opt_class([theta], lr=lr).step([g])
    assert np.all(np.isfinite(theta))
    bound = lr * (10 if opt_class is optim.RMSprop else 1) * (1 + 1e-9)
    assert np.all(np.abs(theta - before) <= bound + 1e-9 * np.abs(before))

@pytest.mark.gpu
def test_gpu_matches_cpu():
    import cupy

    for name, (opt_class, kwargs) in OPTIMIZERS.items():
        paths = []
        for xp in (np, cupy):
            theta = xp.asarray([-3.0, 2.0])
            opt = opt_class([theta], **kwargs)
            for _ in range(20):
                opt.step([theta * xp.asarray([1.0, 10.0])])
            paths.append(backend.to_numpy(theta))
        np.testing.assert_allclose(paths[1], paths[0], rtol=1e-12, err_msg=name)


RERUN = "re-run the lesson after switching"


@pytest.mark.gpu
@pytest.mark.parametrize("name", FIRST_STEPS)
def test_gpu_first_steps_follow_the_parameters(name):
    """Each optimizer on stand-in (or real CuPy) arrays: the same two steps as worked by hand,
    the parameter updated in place, its state on its device."""
    import cupy

    opt_class, settings, expected = FIRST_STEPS[name]
    theta = cupy.asarray([1.0])
    view = theta
    opt = opt_class([theta], **settings)
    path = []
    for _ in range(2):
        opt.step([2 * theta])
        assert isinstance(theta, cupy.ndarray)
        path.append(theta.item())
    assert view is theta
    assert opt.state[0] or opt_class is optim.SGD and not settings.get("momentum")
    assert all(isinstance(v, cupy.ndarray) for v in opt.state[0].values())
    np.testing.assert_allclose(path, expected, rtol=1e-12)
    np.testing.assert_allclose(path, two_steps(opt_class, **settings), rtol=1e-15)


@pytest.mark.gpu
def test_gpu_state_lives_on_the_parameters_device_not_the_current_one():
    import cupy

    backend.use("gpu")  # the current device is the GPU, but these parameters are NumPy's
    theta = np.array([1.0, 2.0])
    opt = optim.Adam([theta], lr=0.1)
    opt.step([np.array([1.0, -1.0])])
    assert all(isinstance(v, np.ndarray) for v in opt.state[0].values())
    np.testing.assert_allclose(theta, [0.9, 2.1], rtol=1e-8)  # up to eps
    W, b = cupy.asarray(np.ones((2, 3), np.float32)), cupy.asarray(np.zeros(3, np.float32))
    opt = optim.RMSprop([W, b], lr=0.01, momentum=0.9)
    opt.step([cupy.ones((2, 3), dtype=np.float32), -cupy.ones(3, dtype=np.float32)])
    assert all(isinstance(v, cupy.ndarray) and v.dtype == np.float32
               for state in opt.state for v in state.values())


@pytest.mark.gpu
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_gpu_a_gradient_on_another_device_fails_clearly(name):
    import cupy

    opt_class, settings = OPTIMIZERS[name]
    theta = cupy.asarray([1.0, 2.0])
    opt = opt_class([theta], **settings)
    with pytest.raises(backend.DeviceMismatchError,
                       match=rf"grads\[0\] is a NumPy array \(CPU\).*{RERUN}"):
        opt.step([np.ones(2)])
    assert theta.tolist() == [1.0, 2.0] and opt.t == 0  # nothing moved
    on_cpu = np.array([1.0, 2.0])
    opt = opt_class([on_cpu], **settings)
    with pytest.raises(backend.DeviceMismatchError,
                       match=rf"grads\[0\] is a CuPy array \(GPU\).*{RERUN}"):
        opt.step([cupy.ones(2)])
    with pytest.raises(backend.DeviceMismatchError, match=rf"params\[1\] is a NumPy.*{RERUN}"):
        opt_class([theta, np.ones(3)], **settings)


@pytest.mark.gpu
@pytest.mark.parametrize("opt_class", ALL.values(), ids=ALL.keys())
def test_gpu_0d_parameters_and_huge_gradients(opt_class):
    import cupy

    theta = cupy.asarray(1.0)  # 0-d, on the device
    opt_class([theta], lr=0.1).step([cupy.asarray(1e200)])
    assert isinstance(theta, cupy.ndarray) and theta.ndim == 0
    step = 1.0 - float(theta)
    if opt_class is optim.SGD:
        assert step == pytest.approx(0.1 * 1e200, rel=1e-12)  # p - lr g
    else:
        assert 0.0 < step <= 1.0  # a step of about lr, never 0 or NaN
    with pytest.raises(ValueError, match="lr must be finite"):
        opt_class([cupy.ones(2)], lr=float("inf"))


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(list(ALL.values())), st.floats(1e-6, 10.0),
       st.sampled_from([0.0, float("nan"), float("inf"), -0.1, "0.1"]))
def test_property_every_optimizer_is_an_optimizer_whose_lr_is_checked(opt_class, lr, new_lr):
    opt = opt_class([np.ones(3)], lr=lr)
    assert isinstance(opt, optim.Optimizer) and opt.lr == lr
    with pytest.raises((ValueError, TypeError), match="lr must"):
        opt.lr = new_lr
    assert opt.lr == lr  # a refused rate leaves the old one


# ----------------------------------------------------------------------------- clip_grad_norm


def true_norm(grads):
    """The global norm by math.hypot (scaled internally, exact to rounding for any finite
    entries): an independent reference."""
    return math.hypot(*(float(v) for g in grads for v in np.ravel(g)))


@pytest.mark.parametrize("grads, max_norm", [
    ([np.full(2, 1e200)], 1.0),  # issue 27: g² overflowed, the norm was inf and nothing clipped
    ([np.full(3, 1e300), np.full(2, -1e300)], 1e-3),
    ([np.full(2, 1e-200)], 1e-210),  # the squares underflowed to 0: nothing was clipped
    ([np.full(2, 1e20, dtype=np.float32)], 1.0),  # float32 squares overflow at 1.8e19
    ([np.full(2, 1e-25, dtype=np.float32)], 1e-30),  # ... and underflow below 1e-19
    ([np.full(2, 1e200)], 1e300),  # below max_norm: the norm right, nothing clipped
    ([np.ones(3, dtype=np.float16) * 300], 1.0),  # float16 squares overflow at 256
])
def test_the_norm_and_the_clipping_hold_at_extreme_magnitudes(grads, max_norm):
    before = [g.copy() for g in grads]
    expected = true_norm(before)
    rtol = 1e-3 if grads[0].dtype == np.float16 else 1e-6 if grads[0].dtype == np.float32 \
        else 1e-12
    norm = optim.clip_grad_norm(grads, max_norm)
    assert math.isclose(norm, expected, rel_tol=rtol)
    factor = min(1.0, max_norm / expected)
    for g, b in zip(grads, before, strict=True):
        np.testing.assert_allclose(g.astype(float), b.astype(float) * factor, rtol=rtol)
    assert true_norm(grads) <= max_norm * (1 + rtol)


def test_a_norm_beyond_the_float_range_is_inf_and_the_gradients_are_clipped_all_the_same():
    grads = [np.full(4, 1e308), np.full(2, -1e308)]
    norm = optim.clip_grad_norm(grads, 1.0)
    assert norm == math.inf  # √6 × 1e308 is not a float
    np.testing.assert_allclose(grads[0], np.full(4, 1 / math.sqrt(6)), rtol=1e-12)
    np.testing.assert_allclose(grads[1], np.full(2, -1 / math.sqrt(6)), rtol=1e-12)


def test_mixed_dtypes_are_clipped_together():
    grads = [np.full(2, 3.0, dtype=np.float32), np.full(2, 4.0)]
    assert math.isclose(optim.clip_grad_norm(grads, 1.0), math.sqrt(50), rel_tol=1e-12)
    assert grads[0].dtype == np.float32 and math.isclose(true_norm(grads), 1.0, rel_tol=1e-6)


def test_nan_or_inf_in_a_gradient_is_reported_and_nothing_is_changed():
    for bad in (np.nan, np.inf):
        grads = [np.array([bad, 1.0]), np.array([2.0])]
        norm = optim.clip_grad_norm(grads, 1.0)
        assert not math.isfinite(norm)
        assert grads[1][0] == 2.0 and grads[0][1] == 1.0


def test_zero_and_empty_gradients_have_norm_zero():
    grads = [np.zeros(3), np.zeros(0), np.zeros((2, 0))]
    assert optim.clip_grad_norm(grads, 1.0) == 0.0
    assert optim.clip_grad_norm([np.zeros(0)], 1.0) == 0.0


@pytest.mark.parametrize("grads, max_norm, error, message", [
    (np.ones(3), 1.0, TypeError, "grads must be a list of arrays, got one array"),
    (5, 1.0, TypeError, "grads must be a list of float arrays, got int"),
    (None, 1.0, TypeError, "grads must be a list"),
    ([], 1.0, ValueError, "grads is empty"),
    ([np.ones(2), np.array([1, 2])], 1.0, TypeError, r"grads\[1\] must be a float array"),
    ([[1.0, 2.0]], 1.0, TypeError, r"grads\[0\] must be a float array"),
    ([np.ones(2, dtype=complex)], 1.0, TypeError, r"grads\[0\] must be a float array"),
    ([np.ones(2)], 0.0, ValueError, "max_norm"),
    ([np.ones(2)], -math.inf, ValueError, "max_norm"),
    ([np.ones(2)], math.nan, ValueError, "max_norm"),
    ([np.ones(2)], "1", TypeError, "max_norm"),
    ([np.ones(2)], None, TypeError, "max_norm"),
])
def test_clip_grad_norm_bad_input_names_the_argument(grads, max_norm, error, message):
    with pytest.raises(error, match=message):
        optim.clip_grad_norm(grads, max_norm)


def test_a_read_only_gradient_is_refused_by_name():  # was numpy's "output array is read-only"
    g = np.ones(2)
    g.setflags(write=False)
    with pytest.raises(ValueError, match=r"grads\[1\] is read-only"):
        optim.clip_grad_norm([np.ones(2), g], 1.0)


@settings(max_examples=60, deadline=None)
@given(shapes=st.lists(array_shapes(min_dims=0, max_dims=2, max_side=4), min_size=1,
                       max_size=4),
       log_scale=st.integers(-250, 250), log_max=st.integers(-250, 250),
       seed=st.integers(0, 2**32 - 1))
def test_property_clipping_gives_the_norm_at_most_max_norm_and_keeps_the_direction(
        shapes, log_scale, log_max, seed):
    rng = np.random.default_rng(seed)
    grads = [np.asarray(rng.uniform(0.1, 1.0, s) * rng.choice([-1, 1], s) * 10.0 ** log_scale)
             for s in shapes]  # 0-d arrays too (a bare NumPy scalar cannot change in place)
    before = [g.copy() for g in grads]
    max_norm = 10.0 ** log_max
    expected = true_norm(before)
    norm = optim.clip_grad_norm(grads, max_norm)
    assert math.isclose(norm, expected, rel_tol=1e-12)
    after = true_norm(grads)
    assert after <= max_norm * (1 + 1e-12)
    assert math.isclose(after, min(expected, max_norm), rel_tol=1e-12)
    for g, b in zip(grads, before, strict=True):  # b / ‖b‖ × max_norm: no subnormal factor
        np.testing.assert_allclose(g, b if expected <= max_norm else b / expected * max_norm,
                                   rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(shapes=st.lists(array_shapes(min_dims=1, max_dims=2, max_side=5), min_size=1,
                       max_size=3),
       log_scale=st.integers(-30, 30), log_max=st.integers(-25, 25),
       seed=st.integers(0, 2**32 - 1))
def test_property_float32_gradients_are_clipped_in_float32(shapes, log_scale, log_max, seed):
    rng = np.random.default_rng(seed)
    grads = [(rng.uniform(0.1, 1.0, s) * 10.0 ** log_scale).astype(np.float32) for s in shapes]
    before = [g.copy() for g in grads]
    max_norm = 10.0 ** log_max
    expected = true_norm(before)
    norm = optim.clip_grad_norm(grads, max_norm)
    assert math.isclose(norm, expected, rel_tol=1e-6)
    assert all(g.dtype == np.float32 for g in grads)
    assert true_norm(grads) <= max_norm * (1 + 1e-6)
    for g, b in zip(grads, before, strict=True):
        np.testing.assert_allclose(g, b.astype(float) * min(1.0, max_norm / expected),
                                   rtol=1e-6)


@pytest.mark.gpu
def test_gpu_clip_grad_norm_matches_the_cpu_at_extreme_magnitudes():
    import cupy

    cpu = [np.full(3, 1e200), np.full(2, -1e-200)]
    gpu = [cupy.asarray(g) for g in cpu]
    assert optim.clip_grad_norm(gpu, 1.0) == optim.clip_grad_norm(cpu, 1.0)
    for g, c in zip(gpu, cpu, strict=True):
        np.testing.assert_allclose(backend.to_numpy(g), c, rtol=1e-15)


# --- Issue 28: step is the only step, its checks declared once (@checked): they run when a
# --- learner calls it, and a checked caller (nn.fit, nn.train_epoch) skips them.

def test_step_is_the_only_step_and_a_learner_s_optimizer_is_checked_by_the_base_class():
    assert not hasattr(optim.Optimizer, "_step")

    class HalfStep(optim.Optimizer):  # a learner's optimizer: the base checks its settings
        def __init__(self, params, lr=0.1):
            super().__init__(params, lr, 0.0)

        def update(self, state, p, g):
            p -= 0.5 * self.lr * g

    with pytest.raises(ValueError, match=r"lr must be in \(0, inf\)"):
        HalfStep([np.ones(2)], lr=-1.0)
    with pytest.raises(TypeError, match=r"params\[0\] must be a float array"):
        HalfStep([np.ones(2, int)])
    theta = np.ones(2)
    opt = HalfStep([theta], lr=0.5)
    with pytest.raises(ValueError, match=r"grads\[0\] has shape \(3,\)"):
        opt.step([np.ones(3)])
    opt.step([np.array([2.0, -2.0])])
    assert theta.tolist() == [0.5, 1.5] and opt.t == 1
