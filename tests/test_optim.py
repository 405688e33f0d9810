import math

import numpy as np
import pytest

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
    "adagrad": (optim.Adagrad, {"lr": 0.1, "eps": 0.0},
                [0.9, 0.9 - 0.1 * 1.8 / math.sqrt(7.24)]),
    # lr_decay 0.5: the second step uses 0.1 / (1 + 0.5)
    "adagrad_decay": (optim.Adagrad, {"lr": 0.1, "eps": 0.0, "lr_decay": 0.5},
                      [0.9, 0.9 - 0.1 / 1.5 * 1.8 / math.sqrt(7.24)]),
    # v1 = 0.01 * 4 = 0.04 -> 1 - 0.01 * 2 / 0.2; v2 = 0.99 * 0.04 + 0.01 * 3.24 = 0.072
    "rmsprop": (optim.RMSprop, {"lr": 0.01, "eps": 0.0},
                [0.9, 0.9 - 0.01 * 1.8 / math.sqrt(0.072)]),
    # b1 = 2 / 0.2 = 10; b2 = 0.9 * 10 + 1.8 / sqrt(0.072)
    "rmsprop_momentum": (optim.RMSprop, {"lr": 0.01, "eps": 0.0, "momentum": 0.9},
                         [0.9, 0.9 - 0.01 * (9 + 1.8 / math.sqrt(0.072))]),
    # m1 = 0.2, v1 = 0.004; m̂ = 2, v̂ = 4: the first step is lr * sign(g).
    # m2 = 0.18 + 0.18 = 0.36, v2 = 0.003996 + 0.00324 = 0.007236
    "adam": (optim.Adam, {"lr": 0.1, "eps": 0.0},
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
    (lambda: optim.SGD([np.ones(2)], lr=0), ValueError, r"lr must lie in \(0, inf\]"),
    (lambda: optim.SGD([np.ones(2)], lr="0.1"), TypeError, "lr must be a number"),
    (lambda: optim.SGD([np.ones(2)], lr=0.1, momentum=1.0), ValueError, "momentum must lie in"),
    (lambda: optim.SGD([np.ones(2)], lr=0.1, nesterov=True), ValueError, "nesterov=True needs"),
    (lambda: optim.SGD([np.ones(2)], lr=0.1, weight_decay=-1), ValueError, "weight_decay"),
    (lambda: optim.Adam([np.ones(2)], betas=(0.9,)), ValueError, "betas must be a pair"),
    (lambda: optim.Adam([np.ones(2)], betas=(0.9, 1.0)), ValueError, r"betas\[1\] must lie"),
    (lambda: optim.Adagrad([np.ones(2)], eps=-1e-10), ValueError, "eps must lie in"),
    (lambda: optim.RMSprop([np.ones(2)], alpha=1.5), ValueError, "alpha must lie in"),
    (lambda: optim.Adam([np.ones(2)]).step([np.ones(2), np.ones(2)]), ValueError,
     "one gradient per parameter"),
    (lambda: optim.Adam([np.ones(2)]).step([np.ones(3)]), ValueError,
     r"grads\[0\] has shape \(3,\)"),
])
def test_bad_input_names_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.gpu
def test_gpu_matches_cpu():
    import cupy

    for name, (opt_class, settings) in OPTIMIZERS.items():
        paths = []
        for xp in (np, cupy):
            theta = xp.asarray([-3.0, 2.0])
            opt = opt_class([theta], **settings)
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
