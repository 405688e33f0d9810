import math

import numpy as np
import pytest
import scipy.special
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.datasets import load_digits
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split

from course_utils import backend, gradcheck, nn, numerics, optim
from course_utils.optim import SGD

LAYERS = {
    "dense": lambda: nn.Dense(4, 3, seed=1),
    "dense_he": lambda: nn.Dense(4, 3, init="he", seed=2),
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.1),
    "mlp": lambda: nn.mlp([4, 6, 5, 3], "tanh", seed=3),
    "mlp_relu": lambda: nn.mlp([4, 6, 3], "leaky_relu", seed=4),
}


@pytest.mark.parametrize("make", LAYERS.values(), ids=LAYERS.keys())
def test_gradient_check_every_layer(make):
    X = np.random.default_rng(0).standard_normal((7, 4))
    errors = nn.gradient_check(make(), X)
    assert errors and max(errors.values()) < 1e-7, errors


def loss_cases():
    rng = np.random.default_rng(1)
    return {"mse": (nn.MeanSquaredError(), rng.standard_normal((6, 3)),
                    rng.standard_normal((6, 3))),
            "mse_1d_target": (nn.MeanSquaredError(), rng.standard_normal((6, 1)),
                              rng.standard_normal(6)),
            "sigmoid_ce": (nn.SigmoidCrossEntropy(), 3 * rng.standard_normal((6, 1)),
                           rng.integers(0, 2, 6).astype(float)),
            "softmax_ce": (nn.SoftmaxCrossEntropy(), 3 * rng.standard_normal((6, 4)),
                           rng.integers(0, 4, 6))}


@pytest.mark.parametrize("name", loss_cases())
def test_gradient_check_every_loss(name):
    loss, z, y = loss_cases()[name]
    errors = nn.gradient_check(nn.Sequential(), z, loss, y)
    assert errors["x"] < 1e-7
    net = nn.mlp([5, 4, z.shape[1]], "sigmoid", seed=0)
    X = np.random.default_rng(2).standard_normal((6, 5))
    assert max(nn.gradient_check(net, X, loss, y).values()) < 1e-7


def test_losses_match_scikit_learn():
    rng = np.random.default_rng(3)
    z, y = 4 * rng.standard_normal((40, 5)), rng.integers(0, 5, 40)
    assert math.isclose(nn.SoftmaxCrossEntropy()(z, y),
                        log_loss(y, scipy.special.softmax(z, axis=1), labels=range(5)),
                        rel_tol=1e-12)
    y1 = rng.integers(0, 2, 40).astype(float)
    assert math.isclose(nn.SigmoidCrossEntropy()(z[:, :1], y1),
                        log_loss(y1, scipy.special.expit(z[:, 0])), rel_tol=1e-12)
    assert math.isclose(nn.MeanSquaredError()(z, z + 2), 0.5 * 5 * 4, rel_tol=1e-12)


def test_losses_are_stable_for_huge_logits():
    z = np.array([[1000.0, 0.0, -1000.0], [-800.0, 800.0, 0.0]])
    assert nn.SoftmaxCrossEntropy()(z, np.array([1, 1])) == 500.0
    grad = nn.SoftmaxCrossEntropy()
    grad(z, np.array([0, 1]))
    assert np.all(np.isfinite(grad.backward()))
    assert nn.SigmoidCrossEntropy()(np.array([[1000.0], [-1000.0]]), np.array([0.0, 1.0])) == 1000
    with np.errstate(over="raise"):
        np.testing.assert_array_equal(numerics.sigmoid(np.array([-1000.0, 0.0, 1000.0])),
                                      [0, 0.5, 1])


def test_softmax_gradient_is_p_minus_onehot():
    z, y = np.array([[1.0, 2.0, 3.0]]), np.array([2])
    loss = nn.SoftmaxCrossEntropy()
    loss(z, y)
    np.testing.assert_allclose(loss.backward(), scipy.special.softmax(z) - [0, 0, 1], rtol=1e-14)


def test_activations_match_closed_forms():
    x = np.linspace(-5, 5, 41)[:, None]
    np.testing.assert_allclose(nn.Sigmoid()(x), scipy.special.expit(x), rtol=1e-15)
    np.testing.assert_allclose(nn.Tanh()(x), np.tanh(x))
    np.testing.assert_array_equal(nn.ReLU()(x), np.maximum(x, 0))
    np.testing.assert_array_equal(nn.LeakyReLU(0.2)(x), np.where(x > 0, x, 0.2 * x))


def test_dense_shapes_and_init_scale():
    layer = nn.Dense(400, 300, seed=0)
    assert layer.params["W"].shape == (400, 300) and layer.params["b"].shape == (300,)
    assert layer.params["W"].std() == pytest.approx(math.sqrt(2 / 700), rel=0.01)
    assert nn.Dense(400, 3, init="he", seed=0).params["W"].std() == pytest.approx(
        math.sqrt(2 / 400), rel=0.05)
    assert nn.Dense(2, 2, init=0.0).params["W"].tolist() == [[0, 0], [0, 0]]
    assert nn.Dense(3, 2, dtype=np.float32)(np.ones((5, 3), np.float32)).dtype == np.float32


def test_mlp_structure_and_parameter_names():
    net = nn.mlp([2, 4, 1], "relu", seed=0)
    assert repr(net) == "Sequential(Dense(2, 4), ReLU(), Dense(4, 1))"
    assert list(net.params) == ["0.W", "0.b", "2.W", "2.b"]
    net(np.ones((3, 2)))
    net.backward(np.ones((3, 1)))
    assert list(net.grads) == list(net.params)
    assert all(g.shape == p.shape for g, p in zip(net.grads.values(), net.params.values(),
                                                   strict=True))
    same = nn.mlp([2, 4, 1], "relu", seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(net.params.values(), same.params.values(),
                                                     strict=True))


def test_fit_equals_explicit_gradient_descent():
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((8, 3)), rng.integers(0, 2, 8)
    a, b = nn.mlp([3, 4, 2], "tanh", seed=1), nn.mlp([3, 4, 2], "tanh", seed=1)
    loss = nn.SoftmaxCrossEntropy()
    history = nn.fit(a, loss, X, y, lr=0.3, n_epochs=5)
    for _ in range(5):
        loss(b(X), y)
        b.backward(loss.backward())
        for p, g in zip(b.params.values(), b.grads.values(), strict=True):
            p -= 0.3 * g
    for p, q in zip(a.params.values(), b.params.values(), strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-13)
    assert len(history) == 5 and history[-1] < history[0]


def test_minibatch_epoch_loss_is_the_mean_batch_loss():
    rng = np.random.default_rng(6)
    X, y = rng.standard_normal((10, 3)), rng.standard_normal(10)
    net = nn.mlp([3, 1], seed=0)
    loss = nn.MeanSquaredError()
    W0 = net.params["0.W"].copy()
    history = nn.fit(net, loss, X, y, lr=1e-12, n_epochs=1, batch_size=4)
    assert history[0] == pytest.approx(loss((X @ W0), y), rel=1e-9)  # a negligible step


def test_xor_set_up_of_the_lesson_learns():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
    y = np.array([0, 1, 1, 0], float)
    for seed in range(10):
        net = nn.mlp([2, 4, 1], "tanh", seed=seed)
        nn.fit(net, nn.SigmoidCrossEntropy(), X, y, lr=2.0, n_epochs=500)
        assert np.array_equal(net(X).ravel() > 0, y == 1), seed


def test_digits_reach_95_percent():
    digits = load_digits()
    X_tr, X_te, y_tr, y_te = train_test_split(digits.data / 16, digits.target, test_size=0.25,
                                              random_state=0, stratify=digits.target)
    net = nn.mlp([64, 64, 10], "tanh", seed=0)
    nn.fit(net, nn.SoftmaxCrossEntropy(), X_tr, y_tr, lr=0.1, n_epochs=40, batch_size=32)
    assert np.mean(net(X_te).argmax(axis=1) == y_te) >= 0.95


def test_numerical_gradient_restores_its_input():
    x = np.array([1.0, 2.0, 3.0])
    grad = gradcheck.numerical_gradient(lambda: (x**3).sum(), x)
    np.testing.assert_allclose(grad, 3 * x**2, rtol=1e-8)
    assert x.tolist() == [1.0, 2.0, 3.0]
    assert gradcheck.relative_error(np.zeros(3), np.zeros(3)) == 0
    assert gradcheck.relative_error(np.ones(3), -np.ones(3)) == 1


def test_gradient_check_catches_a_wrong_backward():
    class WrongSigmoid(nn.Sigmoid):
        def backward(self, dy):
            return dy * self.y  # forgot the (1 - y)

    errors = nn.gradient_check(WrongSigmoid(), np.random.default_rng(0).standard_normal((4, 3)))
    assert errors["x"] > 0.1


@pytest.mark.parametrize("call, error, message", [
    (lambda: nn.Dense(0, 3), ValueError, "n_in must be at least 1"),
    (lambda: nn.Dense(3, 2.5), TypeError, "n_out must be an int"),
    (lambda: nn.Dense(True, 2), TypeError, "n_in must be an int"),
    (lambda: nn.Dense(3, 2, init="lecun"), ValueError, r"init must be one of \['glorot', 'he'\]"),
    (lambda: nn.Dense(3, 2, init=-1.0), ValueError, "init must be"),
    (lambda: nn.LeakyReLU(1.5), ValueError, "slope must be in"),
    (lambda: nn.mlp([2, 3], "gelu"), ValueError, "activation must be one of"),
    (lambda: nn.mlp([2]), ValueError, "sizes must list at least"),
    (lambda: nn.Sequential(nn.Tanh(), "relu"), TypeError, "layers must be Layer instances"),
    (lambda: nn.fit(nn.mlp([2, 1]), nn.MeanSquaredError(), [1, 2], [1]), ValueError,
     "X must be 2-D"),
    (lambda: nn.fit(nn.mlp([2, 1]), nn.MeanSquaredError(), [[1, 2]], [1, 2]), ValueError,
     r"y has shape \(2,\), but there are 1 samples"),
    (lambda: nn.fit(nn.mlp([2, 2]), nn.SoftmaxCrossEntropy(), [[1, 2]], [0.5]), ValueError,
     "y must hold whole-number class labels"),
    (lambda: nn.fit(nn.mlp([2, 1]), nn.MeanSquaredError(), [[np.nan, 2]], [1]), ValueError,
     "X contains NaN"),
    (lambda: nn.fit(nn.mlp([2, 1]), nn.MeanSquaredError(), [[1, 2]], [1], n_epochs=-1),
     ValueError, "n_epochs must be at least 0"),
    (lambda: nn.fit(nn.mlp([2, 1]), nn.MeanSquaredError(), [[1, 2]], [1], batch_size=0),
     ValueError, "batch_size must be at least 1"),
    (lambda: nn.fit(nn.mlp([2, 1]), nn.MeanSquaredError(), [[1, 2]], [1], batch_size="all"),
     TypeError, "batch_size must be an int"),
    (lambda: nn.fit("net", nn.MeanSquaredError(), [[1, 2]], [1]), TypeError, "model must be"),
    (lambda: nn.fit(nn.mlp([2, 1]), np.mean, [[1, 2]], [1]), TypeError, "loss must be a Loss"),
    (lambda: nn.gradient_check(nn.Tanh(), [[1.0]], nn.MeanSquaredError()), ValueError,
     "y is required"),
    (lambda: nn.gradient_check(nn.Tanh(), [["a"]]), TypeError, "X must be numeric"),
])
def test_bad_input_names_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()



# --- Issue 12: every bad input a clear error, every finite input a right answer.

def test_softmax_labels_are_checked():  # issue 12: -2 was read as class 1, 3 an IndexError
    z = np.array([[0.0, 10.0, 0.0]])
    for labels in ([-2], [-1], [3]):
        with pytest.raises(ValueError, match=r"y must hold class labels in \[0, 3\)"):
            nn.SoftmaxCrossEntropy()(z, np.array(labels))
    with pytest.raises(ValueError, match="y has 2 labels for 1 samples"):
        nn.SoftmaxCrossEntropy()(z, np.array([1, 2]))
    X, signs = np.ones((4, 3)), np.array([1, -1, 1, -1])  # labels of ±1 trained one class
    with pytest.raises(ValueError, match=r"y must hold class labels in \[0, 2\)"):
        nn.fit(nn.mlp([3, 2]), nn.SoftmaxCrossEntropy(), X, signs, n_epochs=1)
    with pytest.raises(ValueError, match=r"y must hold class labels in \[0, 2\)"):
        nn.gradient_check(nn.mlp([3, 2]), X, nn.SoftmaxCrossEntropy(), signs + 1)


def test_sigmoid_targets_must_lie_in_0_1():  # issue 12: y = 2 gave a negative loss
    z = np.array([[1.0], [-3.0]])
    for y in ([2.0, 0.0], [0.0, -1.0]):
        with pytest.raises(ValueError, match=r"y must hold targets in \[0, 1\]"):
            nn.SigmoidCrossEntropy()(z, np.array(y))
        with pytest.raises(ValueError, match=r"y must hold targets in \[0, 1\]"):
            nn.fit(nn.mlp([1, 1]), nn.SigmoidCrossEntropy(), z, np.array(y), n_epochs=1)
    soft = nn.SigmoidCrossEntropy()(z, np.array([0.3, 0.9]))  # probabilities are targets too
    p = scipy.special.expit(z.ravel())
    expected = np.mean([-(t * math.log(q) + (1 - t) * math.log(1 - q))
                        for t, q in zip([0.3, 0.9], p, strict=True)])
    assert soft == pytest.approx(expected, rel=1e-12) and soft > 0


@pytest.mark.parametrize("make", [
    lambda: np.arange(6.0).reshape(2, 3).T,  # issue 12: a transposed array gave zeros
    lambda: np.asfortranarray(np.arange(6.0).reshape(2, 3)),
    lambda: np.arange(12.0)[::2],
    lambda: np.array(2.0),
])
def test_numerical_gradient_of_any_layout(make):
    x = make()
    before = x.copy()
    grad = gradcheck.numerical_gradient(lambda: (x**3).sum(), x)
    np.testing.assert_allclose(grad, 3 * before**2, rtol=1e-8, atol=1e-6)
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_checks_its_arguments():  # issue 12: eps=0 a ZeroDivisionError
    x = np.ones(3)
    for eps in (0, -1e-6, float("nan")):
        with pytest.raises(ValueError, match="eps must"):
            gradcheck.numerical_gradient(lambda: x.sum(), x, eps=eps)
    with pytest.raises(ValueError, match="eps must"):
        nn.gradient_check(nn.Tanh(), np.ones((2, 2)), eps=0)
    with pytest.raises(TypeError, match="x must be a float array"):
        gradcheck.numerical_gradient(lambda: 0.0, np.array([1, 2, 3]))  # eps would be truncated
    with pytest.raises(TypeError, match="f must be a function"):
        gradcheck.numerical_gradient(1.0, x)
    x.flags.writeable = False
    with pytest.raises(ValueError, match="x is read-only"):
        gradcheck.numerical_gradient(lambda: x.sum(), x)


def test_fit_takes_an_optimizer_object_or_name():  # issue 12: "sgd" was an AttributeError
    X, y = np.random.default_rng(0).standard_normal((8, 2)), np.arange(8) % 2
    losses = {}
    for name in nn.OPTIMIZERS:
        net = nn.mlp([2, 3, 2], seed=0)
        losses[name] = nn.fit(net, nn.SoftmaxCrossEntropy(), X, y, lr=0.05, n_epochs=3,
                              optimizer=name)
    net = nn.mlp([2, 3, 2], seed=0)
    by_object = nn.fit(net, nn.SoftmaxCrossEntropy(), X, y, n_epochs=3,
                       optimizer=optim.Adam(net.params.values(), lr=0.05))
    assert by_object == losses["adam"] and losses["sgd"] != losses["adam"]
    with pytest.raises(ValueError, match=r"optimizer must be one of \['adagrad', 'adam'"):
        nn.fit(nn.mlp([2, 2]), nn.SoftmaxCrossEntropy(), X, y, optimizer="momentum")
    with pytest.raises(TypeError, match="optimizer must be a course_utils.optim optimizer"):
        nn.fit(nn.mlp([2, 2]), nn.SoftmaxCrossEntropy(), X, y, optimizer=3)
    other = nn.mlp([2, 2])
    with pytest.raises(ValueError, match="optimizer must hold the model's parameters"):
        nn.fit(nn.mlp([2, 2]), nn.SoftmaxCrossEntropy(), X, y,
               optimizer=optim.SGD(other.params.values(), lr=0.1))


def test_sequential_parameters_cannot_be_assigned():  # the setters that did nothing are gone
    net = nn.mlp([2, 3, 1])
    with pytest.raises(AttributeError):
        net.params = {}
    with pytest.raises(AttributeError):
        net.grads = {}


def test_seed_is_the_one_name_default_0():
    a, b = nn.Dense(3, 2), nn.Dense(3, 2, seed=0)
    np.testing.assert_array_equal(a.params["W"], b.params["W"])
    assert not np.array_equal(nn.Dense(3, 2, seed=None).params["W"], a.params["W"])
    for call in (lambda: nn.Dense(3, 2, seed=-1), lambda: nn.mlp([2, 1], seed="0"),
                 lambda: nn.gradient_check(nn.Tanh(), np.ones((2, 2)), seed=1.5),
                 lambda: nn.fit(nn.mlp([2, 1]), nn.MeanSquaredError(), np.ones((2, 2)),
                                np.ones(2), seed=-3)):
        with pytest.raises((TypeError, ValueError), match="seed must be a non-negative int"):
            call()
    X, y = np.random.default_rng(1).standard_normal((10, 2)), np.arange(10) % 2
    runs = []
    for _ in range(2):
        net = nn.mlp([2, 2])
        opt = SGD(net.params.values(), lr=0.1)
        runs.append(nn.train_epoch(net, nn.SoftmaxCrossEntropy(), X, y, opt, batch_size=3))
    assert runs[0] == runs[1]


@pytest.mark.parametrize("call, error, message", [
    (lambda: nn.mlp([3, 2])(np.ones((2, 4))), ValueError, "x has 4 features"),
    (lambda: nn.mlp([3, 2])(np.ones(3)), ValueError, "x must be 2-D or 3-D"),
    (lambda: nn.mlp([3, 2])(np.full((1, 3), np.nan)), ValueError, "x contains NaN"),
    (lambda: nn.Dense(1, 1, init=1e10)(np.array([[1e300]])), ValueError, "x overflows"),
    (lambda: nn.Dense(2, 2, init=float("inf")), ValueError, "init must be finite"),
    (lambda: nn.Dense(2, 2, init=True), TypeError, "init must be a real number"),
    (lambda: nn.Dense(2, 2, dtype=np.int64), TypeError, "dtype must be a float dtype"),
    (lambda: nn.mlp([2, 2.5, 1]), TypeError, r"sizes\[1\] must be an int"),
    (lambda: nn.mlp(3), TypeError, "sizes must be a sequence"),
    (lambda: nn.mlp([2, 1], None), TypeError, "activation must be one of"),
    (lambda: numerics.sigmoid(np.array([np.nan])), ValueError, "x contains NaN"),
    (lambda: gradcheck.relative_error(np.ones(3), np.ones(4)), ValueError,
     "a and b must have one shape"),
    (lambda: nn.SoftmaxCrossEntropy()(np.array([[1e308, -1e308]]), np.array([1])), ValueError,
     "z overflows the loss"),
    (lambda: nn.MeanSquaredError()(np.ones((3, 2)), np.ones(5)), ValueError, "y has shape"),
    (lambda: nn.fit(nn.mlp([3, 1]), nn.MeanSquaredError(), np.ones((2, 5)), np.ones(2)),
     ValueError, "X has 5 features"),
    (lambda: nn.fit(nn.mlp([3, 2]), nn.MeanSquaredError(), np.ones((2, 3)), np.ones(2)),
     ValueError, r"y has shape \(2,\), but there are 2 samples with 2 outputs"),
    (lambda: nn.train_epoch(nn.mlp([2, 1]), nn.MeanSquaredError(), np.ones((2, 2)), np.ones(2),
                            "sgd"), TypeError, "optimizer must be"),
    (lambda: nn.stack_models([nn.mlp([2, 1]), nn.mlp([2, 2])]), ValueError,
     r"models\[1\] .* differs from models\[0\]"),
    (lambda: nn.stack_models([]), ValueError, "models is empty"),
    (lambda: nn.stack_models(nn.mlp([2, 1])), TypeError, "models must be a sequence"),
    (lambda: nn.stack_models(3), TypeError, "models must be a sequence"),
])
def test_more_bad_input_names_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_relative_error_of_huge_arrays_is_finite():
    assert gradcheck.relative_error(np.full(2, 1e300), np.full(2, 2e300)) == pytest.approx(1 / 3)


def test_a_stack_trains_each_network_as_it_would_train_alone():
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((8, 3)), (rng.random(8) > 0.5).astype(float)
    for loss, target, k in [(nn.SigmoidCrossEntropy(), y, 1),
                            (nn.MeanSquaredError(), np.c_[y, 1 - y], 2),
                            (nn.SoftmaxCrossEntropy(), y.astype(int), 2)]:
        alone = [nn.mlp([3, 4, k], "tanh", seed=s) for s in range(3)]
        stack = nn.stack_models(alone)
        assert stack.params["0.W"].shape == (3, 3, 4) and stack.params["0.b"].shape == (3, 1, 4)
        out = stack(X)
        assert out.shape == (3, 8, k)
        for i, net in enumerate(alone):
            np.testing.assert_allclose(out[i], net(X), rtol=1e-13)
        assert max(nn.gradient_check(stack, X, loss, target).values()) < 1e-7
        opt = optim.SGD(stack.params.values(), lr=0.1, momentum=0.9)
        stacked_losses = [nn.train_epoch(stack, loss, X, target, opt, batch_size=1)
                          for _ in range(3)]
        total = 0
        for i, net in enumerate(alone):
            opt = optim.SGD(net.params.values(), lr=0.1, momentum=0.9)
            total += np.array([nn.train_epoch(net, loss, X, target, opt, batch_size=1)
                               for _ in range(3)])
            for name, p in net.params.items():
                np.testing.assert_allclose(stack.params[name][i].reshape(p.shape), p,
                                           rtol=1e-11, atol=1e-14)
        np.testing.assert_allclose(stacked_losses, total, rtol=1e-11)


# Hypothesis: bad input names its argument; finite input keeps the invariants.

small = st.floats(-50, 50)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(2, 5)), elements=small),
       st.integers(0, 2**32 - 1))
def test_property_softmax_loss_is_finite_non_negative_and_its_gradient_rows_sum_to_0(z, seed):
    y = np.random.default_rng(seed).integers(0, z.shape[1], len(z))
    loss = nn.SoftmaxCrossEntropy()
    value = loss(z, y)
    dz = loss.backward()
    p = dz * len(z)
    p[np.arange(len(z)), y] += 1  # back to softmax(z): rows sum to 1
    assert np.isfinite(value) and value >= 0
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-12)
    assert np.all((p >= 0) & (p <= 1))


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 6), st.just(1)), elements=st.floats(-1e3, 1e3)),
       st.integers(0, 2**32 - 1))
def test_property_sigmoid_losses_are_finite_and_non_negative(z, seed):
    y = np.random.default_rng(seed).random(len(z))  # probabilities, labels included
    y[::2] = np.round(y[::2])
    for loss in (nn.SigmoidCrossEntropy(), nn.MeanSquaredError()):
        value = loss(z, y)
        assert np.isfinite(value) and value >= 0 and np.all(np.isfinite(loss.backward()))
    s = numerics.sigmoid(z)
    assert np.all((s >= 0) & (s <= 1))


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(list(nn.ACTIVATIONS)), st.lists(st.integers(1, 4), min_size=2,
                                                        max_size=4),
       st.integers(0, 2**32 - 1))
def test_property_gradient_check_passes_on_random_small_nets(activation, sizes, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((3, sizes[0]))
    net = nn.mlp(sizes, activation, seed=seed)
    if "relu" in activation:  # keep the inputs of every ReLU away from its kink
        X = X + 0.0
    labels = rng.integers(0, sizes[-1], 3)
    errors = nn.gradient_check(net, X, nn.SoftmaxCrossEntropy(), labels, seed=seed)
    assert all(0 <= e <= 1 for e in errors.values())
    if "relu" not in activation:
        assert max(errors.values()) < 1e-6, errors


@settings(max_examples=30, deadline=None)
@given(st.sampled_from([
    ("Dense", lambda v: nn.Dense(2, 2, init=v)), ("LeakyReLU", lambda v: nn.LeakyReLU(v)),
    ("numerical_gradient", lambda v: gradcheck.numerical_gradient(lambda: 0.0, np.ones(2), eps=v)),
    ("gradient_check", lambda v: nn.gradient_check(nn.Tanh(), np.ones((2, 2)), eps=v)),
    ("fit lr", lambda v: nn.fit(nn.mlp([2, 1]), nn.MeanSquaredError(), np.ones((2, 2)),
                                np.ones(2), lr=v, n_epochs=1)),
]), st.sampled_from([float("nan"), float("inf"), -1.0, "0.1", None, 1j]))
def test_property_bad_reals_name_their_argument(case, value):
    name, call = case
    argument = {"Dense": "init", "LeakyReLU": "slope", "fit lr": "lr"}.get(name, "eps")
    if name == "Dense" and value is None:
        return  # Dense(init=None) is not allowed either, but mlp's init=None is the default
    with pytest.raises((ValueError, TypeError), match=argument):
        call(value)


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(["X", "y"]), st.sampled_from([np.nan, np.inf, "text", "shape"]),
       st.sampled_from(["fit", "train_epoch", "gradient_check", "call"]))
def test_property_bad_data_names_its_argument(which, bad, function):
    X, y = np.ones((4, 2)), np.array([0, 1, 1, 0])
    if which == "X":
        X = {"shape": np.ones((4, 3)), "text": np.full((4, 2), "a")}.get(bad, X)
    else:
        y = {"shape": np.ones(3, int), "text": np.full(4, "a")}.get(bad, y)
    if bad not in ("shape", "text"):
        with np.errstate(invalid="ignore"):
            X, y = (X * bad, y) if which == "X" else (X, y * bad)
    net, loss = nn.mlp([2, 3, 2], seed=0), nn.SoftmaxCrossEntropy()
    calls = {"fit": lambda: nn.fit(net, loss, X, y, n_epochs=1),
             "train_epoch": lambda: nn.train_epoch(net, loss, X, y,
                                                   SGD(net.params.values(), lr=0.1)),
             "gradient_check": lambda: nn.gradient_check(net, X, loss, y),
             "call": lambda: loss(net(X), y)}
    with pytest.raises((ValueError, TypeError), match=rf"(?i)\b{which}\b"):
        calls[function]()


@settings(max_examples=20, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(1, 3)),
              elements=st.floats(-1e3, 1e3)), st.integers(0, 3))
def test_property_layers_give_finite_outputs(X, seed):
    for layer in (nn.Dense(X.shape[1], 2, seed=seed), nn.Sigmoid(), nn.Tanh(), nn.ReLU(),
                  nn.LeakyReLU(0.2), nn.mlp([X.shape[1], 3, 2], "sigmoid", seed=seed)):
        out = layer(X)
        assert np.all(np.isfinite(out)) and np.all(np.isfinite(layer.backward(np.ones_like(out))))


@settings(max_examples=30, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 4)),
              elements=st.floats(-10, 10)), st.booleans(), st.floats(1e-7, 1e-3))
def test_property_numerical_gradient_of_a_cubic_any_layout(x, transpose, eps):
    x = x.T if transpose else x
    c = np.arange(x.size, dtype=float).reshape(x.shape)
    before = x.copy()
    grad = gradcheck.numerical_gradient(lambda: (c * x**3).sum(), x, eps=eps)
    # central differences: a truncation error c eps^2 and a rounding error about
    # machine-eps |f| / eps (f is summed over every entry)
    rounding = 4 * np.finfo(float).eps * np.abs(c * before**3).sum() / eps
    np.testing.assert_allclose(grad, 3 * c * before**2, rtol=1e-5,
                               atol=1e-5 + c.max() * eps**2 + rounding)
    np.testing.assert_array_equal(x, before)  # restored


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.integers(1, 6), elements=st.floats(-1e300, 1e300)),
       st.integers(0, 2**32 - 1))
def test_property_relative_error_lies_in_0_1_and_is_symmetric(a, seed):
    b = np.random.default_rng(seed).standard_normal(a.shape) * 1e300
    error = gradcheck.relative_error(a, b)
    assert 0 <= error <= 1 and error == pytest.approx(gradcheck.relative_error(b, a), rel=1e-12)
    assert gradcheck.relative_error(a, a) == 0


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([None, 1, 3]),
       st.sampled_from(list(nn.OPTIMIZERS)), st.integers(1, 3))
def test_property_fit_gives_finite_losses_and_a_stack_matches_its_networks(seed, batch_size,
                                                                           optimizer, m):
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((6, 2)), rng.integers(0, 3, 6)
    nets = [nn.mlp([2, 3, 3], seed=seed + i) for i in range(m)]
    outputs = [net(X) for net in nets]
    stack = nn.stack_models(nets)
    np.testing.assert_allclose(stack(X), np.stack(outputs), rtol=1e-12)
    history = nn.fit(stack, nn.SoftmaxCrossEntropy(), X, y, lr=0.01, n_epochs=3,
                     batch_size=batch_size, optimizer=optimizer, seed=seed)
    assert len(history) == 3 and np.all(np.isfinite(history)) and min(history) >= 0

@pytest.mark.gpu
def test_gpu_matches_cpu():
    import cupy

    rng = np.random.default_rng(7)
    X, y = rng.standard_normal((64, 8)), rng.integers(0, 3, 64)
    losses = {}
    for xp in (np, cupy):
        net = nn.mlp([8, 16, 3], "relu", seed=0, xp=xp)
        optimizer = SGD(net.params.values(), lr=0.1)
        losses[xp.__name__] = [nn.train_epoch(net, nn.SoftmaxCrossEntropy(), xp.asarray(X),
                                              xp.asarray(y), optimizer, batch_size=16, seed=0)
                               for _ in range(3)]
        params = [backend.to_numpy(p) for p in net.params.values()]
        losses[xp.__name__ + " params"] = params
        if xp is cupy:
            assert all(isinstance(p, cupy.ndarray) for p in net.params.values())
    np.testing.assert_allclose(losses["cupy"], losses["numpy"], rtol=1e-10)
    for a, b in zip(losses["cupy params"], losses["numpy params"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    errors = nn.gradient_check(nn.mlp([3, 4, 2], seed=0, xp=cupy), cupy.asarray(X[:5, :3]),
                               nn.SoftmaxCrossEntropy(), cupy.asarray(y[:5] % 2))
    assert max(errors.values()) < 1e-7


# --- The GPU path, on the CuPy stand-in (or real CuPy with a GPU): every public function
# --- follows its data, creates on the current device, and refuses a half-moved state.

RERUN = "re-run the lesson after switching"


@pytest.mark.gpu
@pytest.mark.parametrize("make", LAYERS.values(), ids=LAYERS.keys())
def test_gpu_layers_follow_their_data(make):
    import cupy

    rng = np.random.default_rng(0)
    X = rng.standard_normal((7, 4))
    cpu = make()
    backend.use("gpu")
    gpu = make()  # xp=None: parameters on the current device, drawn from the same seed
    assert all(isinstance(p, cupy.ndarray) for p in gpu.params.values())
    for p, q in zip(gpu.params.values(), cpu.params.values(), strict=True):
        np.testing.assert_array_equal(p.get(), q)
    out, expected = gpu(cupy.asarray(X)), cpu(X)
    assert isinstance(out, cupy.ndarray)
    np.testing.assert_allclose(out.get(), expected, rtol=1e-12)
    dy = rng.standard_normal(expected.shape)
    dx = gpu.backward(cupy.asarray(dy))
    assert isinstance(dx, cupy.ndarray)
    np.testing.assert_allclose(dx.get(), cpu.backward(dy), rtol=1e-12)
    for g, h in zip(gpu.grads.values(), cpu.grads.values(), strict=True):
        assert isinstance(g, cupy.ndarray)
        np.testing.assert_allclose(g.get(), h, rtol=1e-12, atol=1e-15)
    errors = nn.gradient_check(gpu, cupy.asarray(X))
    assert errors.keys() == nn.gradient_check(cpu, X).keys() and max(errors.values()) < 1e-7
    if gpu.params:  # a NumPy input to a layer whose parameters live on the GPU
        with pytest.raises(backend.DeviceMismatchError, match=f"x is a NumPy.*{RERUN}"):
            gpu(X)
        with pytest.raises(backend.DeviceMismatchError, match=f"X is a NumPy.*{RERUN}"):
            nn.gradient_check(gpu, X)
    else:  # without parameters a layer simply follows its input
        assert isinstance(gpu(X), np.ndarray)


@pytest.mark.gpu
@pytest.mark.parametrize("name", loss_cases())
def test_gpu_losses_follow_their_data(name):
    import cupy

    loss, z, y = loss_cases()[name]
    expected, grad = loss(z, y), loss.backward()
    value = loss(cupy.asarray(z), cupy.asarray(y))
    assert isinstance(value, cupy.ndarray) and value.ndim == 0  # no copy to the host
    assert float(value) == pytest.approx(float(expected), rel=1e-13)
    dz = loss.backward()
    assert isinstance(dz, cupy.ndarray)
    np.testing.assert_allclose(dz.get(), grad, rtol=1e-13)
    errors = nn.gradient_check(nn.Sequential(), cupy.asarray(z), loss, cupy.asarray(y))
    assert errors["x"] < 1e-7
    with pytest.raises(backend.DeviceMismatchError, match=f"y is a NumPy.*{RERUN}"):
        loss(cupy.asarray(z), y)
    with pytest.raises(backend.DeviceMismatchError, match=f"y is a NumPy.*{RERUN}"):
        nn.gradient_check(nn.Sequential(), cupy.asarray(z), loss, y)


@pytest.mark.gpu
def test_gpu_helpers_follow_their_data():
    import cupy

    rng = np.random.default_rng(8)
    x = 30 * rng.standard_normal((3, 4))
    s = numerics.sigmoid(cupy.asarray(x))
    assert isinstance(s, cupy.ndarray)
    np.testing.assert_allclose(s.get(), numerics.sigmoid(x), rtol=1e-15)

    on_gpu = cupy.asarray([1.0, 2.0, 3.0])
    grad = gradcheck.numerical_gradient(lambda: (on_gpu**3).sum(), on_gpu)
    assert isinstance(grad, cupy.ndarray)
    np.testing.assert_allclose(grad.get(), [3.0, 12.0, 27.0], rtol=1e-8)
    assert on_gpu.tolist() == [1.0, 2.0, 3.0]

    a, b = rng.standard_normal(5), rng.standard_normal(5)
    error = gradcheck.relative_error(cupy.asarray(a), cupy.asarray(b))
    assert type(error) is float
    assert error == pytest.approx(gradcheck.relative_error(a, b), rel=1e-14)
    with pytest.raises(backend.DeviceMismatchError, match=f"b is a NumPy.*{RERUN}"):
        gradcheck.relative_error(cupy.asarray(a), b)

    X, y, labels = rng.standard_normal((6, 2)), rng.standard_normal(6), rng.integers(0, 3, 6)
    X_gpu, y_gpu = nn.check_data(cupy.asarray(X), cupy.asarray(y.astype(np.float32)))
    assert isinstance(X_gpu, cupy.ndarray) and isinstance(y_gpu, cupy.ndarray)
    assert y_gpu.dtype == np.float64  # y takes X's dtype, as on the CPU
    np.testing.assert_array_equal(y_gpu.get(), y.astype(np.float32)[:, None])  # (n, 1)
    _, labels_gpu = nn.check_data(cupy.asarray(X), cupy.asarray(labels), nn.SoftmaxCrossEntropy())
    assert isinstance(labels_gpu, cupy.ndarray) and labels_gpu.dtype.kind == "i"
    for loss, target in [(None, y), (nn.SoftmaxCrossEntropy(), labels)]:
        with pytest.raises(backend.DeviceMismatchError, match=f"y is a NumPy.*{RERUN}"):
            nn.check_data(cupy.asarray(X), target, loss)
        with pytest.raises(backend.DeviceMismatchError, match=f"X is a NumPy.*{RERUN}"):
            nn.check_data(X, cupy.asarray(target), loss, cupy)


@pytest.mark.gpu
def test_gpu_fit_creates_on_the_current_device_and_matches_the_cpu():
    import cupy

    rng = np.random.default_rng(9)
    X, y = rng.standard_normal((40, 3)), rng.integers(0, 2, 40)
    cpu = nn.mlp([3, 5, 2], "tanh", seed=4)
    assert all(isinstance(p, np.ndarray) for p in cpu.params.values())  # the CPU by default
    expected = nn.fit(cpu, nn.SoftmaxCrossEntropy(), X, y, lr=0.5, n_epochs=6, batch_size=16)
    backend.use("gpu")
    gpu = nn.mlp([3, 5, 2], "tanh", seed=4)  # xp=None: now the GPU, the same weights
    assert all(isinstance(p, cupy.ndarray) for p in gpu.params.values())
    layer = nn.Dense(3, 2, seed=0)
    assert isinstance(layer.params["W"], cupy.ndarray) and isinstance(layer.params["b"],
                                                                      cupy.ndarray)
    history = nn.fit(gpu, nn.SoftmaxCrossEntropy(), cupy.asarray(X), cupy.asarray(y), lr=0.5,
                     n_epochs=6, batch_size=16)
    assert all(type(h) is float for h in history)
    np.testing.assert_allclose(history, expected, rtol=1e-12)
    for p, q in zip(gpu.params.values(), cpu.params.values(), strict=True):
        assert isinstance(p, cupy.ndarray)
        np.testing.assert_allclose(p.get(), q, rtol=1e-11, atol=1e-14)
    # lists are put on the model's device, as on the CPU
    assert len(nn.fit(nn.mlp([2, 1]), nn.MeanSquaredError(), [[1, 2]], [1], n_epochs=2)) == 2


@pytest.mark.gpu
def test_gpu_a_half_moved_state_names_the_argument():
    import cupy

    rng = np.random.default_rng(10)
    X, y = rng.standard_normal((8, 3)), rng.integers(0, 2, 8)
    X_gpu, y_gpu = cupy.asarray(X), cupy.asarray(y)
    gpu_net, cpu_net = nn.mlp([3, 4, 2], seed=0, xp=cupy), nn.mlp([3, 4, 2], seed=0, xp=np)
    ce = nn.SoftmaxCrossEntropy()
    optimizer = SGD(gpu_net.params.values(), lr=0.1)
    calls = {
        "fit, NumPy X": (lambda: nn.fit(gpu_net, ce, X, y_gpu), "X is a NumPy"),
        "fit, NumPy y": (lambda: nn.fit(gpu_net, ce, X_gpu, y), "y is a NumPy"),
        "fit, NumPy y (MSE)": (lambda: nn.fit(gpu_net, nn.MeanSquaredError(), X_gpu,
                                              rng.standard_normal((8, 2))), "y is a NumPy"),
        "fit, CPU model": (lambda: nn.fit(cpu_net, ce, X_gpu, y_gpu), "X is a CuPy"),
        "train_epoch, NumPy X": (lambda: nn.train_epoch(gpu_net, ce, X, y_gpu, optimizer),
                                 "X is a NumPy"),
        "train_epoch, NumPy y": (lambda: nn.train_epoch(gpu_net, ce, X_gpu, y, optimizer),
                                 "y is a NumPy"),
        "gradient_check, NumPy X": (lambda: nn.gradient_check(gpu_net, X, ce, y_gpu),
                                    "X is a NumPy"),
        "gradient_check, NumPy y": (lambda: nn.gradient_check(gpu_net, X_gpu, ce, y),
                                    "y is a NumPy"),
        "call, NumPy x": (lambda: gpu_net(X), "x is a NumPy"),
    }
    before = [p.copy() for p in gpu_net.params.values()]
    with pytest.raises(ValueError, match="optimizer must hold the model's parameters"):
        nn.train_epoch(gpu_net, ce, X_gpu, y_gpu, SGD(cpu_net.params.values(), lr=0.1))
    for call, message in calls.values():
        with pytest.raises(backend.DeviceMismatchError, match=f"{message}.*{RERUN}"):
            call()
    for p, q in zip(gpu_net.params.values(), before, strict=True):  # nothing was trained
        np.testing.assert_array_equal(p.get(), q.get())
    gpu_net.layers[2].params["W"] = cpu_net.layers[2].params["W"]  # one layer left behind
    for call in (lambda: nn.fit(gpu_net, ce, X_gpu, y_gpu), lambda: gpu_net(X_gpu),
                 lambda: nn.gradient_check(gpu_net, X_gpu, ce, y_gpu)):
        with pytest.raises(backend.DeviceMismatchError,
                           match=rf"model.params\['2.W'\] is a NumPy.*{RERUN}"):
            call()


@pytest.mark.gpu
def test_gpu_issue_12_fixes_follow_their_data():
    import cupy

    x = cupy.asarray(np.arange(6.0).reshape(2, 3)).T  # a transposed view on the device
    grad = gradcheck.numerical_gradient(lambda: (x**2).sum(), x)
    assert isinstance(grad, cupy.ndarray)
    np.testing.assert_allclose(grad.get(), 2 * np.arange(6.0).reshape(2, 3).T, rtol=1e-8)
    with pytest.raises(ValueError, match=r"y must hold class labels in \[0, 3\)"):
        nn.SoftmaxCrossEntropy()(cupy.asarray([[0.0, 10.0, 0.0]]), cupy.asarray([-2]))
    with pytest.raises(ValueError, match=r"y must hold targets in \[0, 1\]"):
        nn.SigmoidCrossEntropy()(cupy.asarray([[1.0]]), cupy.asarray([2.0]))
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((8, 3)), (rng.random(8) > 0.5).astype(float)
    histories = {}
    for xp in (np, cupy):
        stack = nn.stack_models([nn.mlp([3, 4, 1], seed=s, xp=xp) for s in range(3)])
        assert all(isinstance(p, xp.ndarray) for p in stack.params.values())
        histories[xp.__name__] = nn.fit(stack, nn.SigmoidCrossEntropy(), xp.asarray(X),
                                        xp.asarray(y), n_epochs=3, batch_size=1,
                                        optimizer="adam")
    np.testing.assert_allclose(histories["cupy"], histories["numpy"], rtol=1e-10)


def test_a_custom_layer_that_changes_the_width_is_not_refused():
    class FirstTwo(nn.Layer):
        def forward(self, x):
            return x[:, :2]

    assert nn.Sequential(FirstTwo(), nn.Dense(2, 3))(np.ones((4, 5))).shape == (4, 3)
    with pytest.raises(ValueError, match="x has 5 features"):  # an activation keeps the width
        nn.Sequential(nn.Tanh(), nn.Dense(2, 3))(np.ones((4, 5)))


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 5), st.integers(1, 3), st.sampled_from(["mse", "sigmoid", "softmax"]),
       st.sampled_from([None, "nan", "shape", "range"]), st.integers(0, 2**32 - 1))
def test_property_check_data_and_the_base_classes(n, k, kind, bad, seed):
    rng = np.random.default_rng(seed)
    loss = {"mse": nn.MeanSquaredError(), "sigmoid": nn.SigmoidCrossEntropy(),
            "softmax": nn.SoftmaxCrossEntropy()}[kind]
    assert isinstance(loss, nn.Loss)
    X = rng.standard_normal((n, 2))
    y = rng.integers(0, k, n) if kind == "softmax" else rng.random((n, k))
    if bad == "nan":
        X[0, 0] = np.nan
    elif bad == "shape":
        y = y[:-1] if n > 1 else np.concatenate([y, y])
    elif bad == "range":
        y = y + (k if kind == "softmax" else 2)
    if bad is not None and not (bad == "range" and kind == "mse"):  # any real target is fine
        with pytest.raises((ValueError, TypeError), match="X|y"):
            nn.check_data(X, y, loss, n_outputs=k)
        return
    X_checked, y_checked = nn.check_data(X, y, loss, n_outputs=k)
    assert X_checked.shape == (n, 2)
    assert y_checked.shape == ((n,) if kind == "softmax" else (n, k))
    net = nn.Sequential(nn.Dense(2, k, seed=seed), nn.Tanh())
    assert isinstance(net, nn.Layer) and all(isinstance(layer, nn.Layer) for layer in net.layers)
    value = loss(net(X_checked), y_checked)
    assert np.isfinite(value) and value >= 0


@given(st.integers(1, 4), st.one_of(st.just(0.0), st.floats(1e-300, 3), st.floats(-3, -1e-300)))
def test_compare_gradients_is_zero_for_the_right_gradient_and_not_for_a_wrong_one(n, scale):
    """gradcheck.compare_gradients on f(x) = scale * sum(x**2) / 2, whose gradient is scale x.
    (A subnormal scale, below 2.2e-308, leaves f a few significant bits: no difference
    quotient resolves it, so the scales are normal numbers or 0.)"""
    x = np.linspace(-1, 1, n) + 0.5

    def f():
        return scale * float((x * x).sum()) / 2

    errors = gradcheck.compare_gradients(f, {"x": x}, {"x": scale * x.copy()})
    assert list(errors) == ["x"] and errors["x"] < 1e-8
    if scale != 0:
        assert gradcheck.compare_gradients(f, {"x": x}, {"x": -scale * x.copy()})["x"] > 0.99
    with pytest.raises(ValueError, match="analytic has no gradient for \\['x'\\]"):
        gradcheck.compare_gradients(f, {"x": x}, {})


# --- Issue 28: one public surface. Old names and keywords warn and still work; the gradient
# --- check is gradcheck's; relative_error is right at every magnitude.

def test_the_old_epochs_keyword_warns_and_gives_the_same_result():
    X, y = np.random.default_rng(11).standard_normal((8, 2)), np.arange(8) % 2
    new = nn.fit(nn.mlp([2, 3, 2], seed=0), nn.SoftmaxCrossEntropy(), X, y, n_epochs=3)
    with pytest.warns(DeprecationWarning, match=r"fit\(epochs=\.\.\.\) is now fit\(n_epochs"):
        old = nn.fit(nn.mlp([2, 3, 2], seed=0), nn.SoftmaxCrossEntropy(), X, y, epochs=3)
    assert old == new and len(new) == 3
    with pytest.raises(TypeError, match="got both epochs= and n_epochs="):
        nn.fit(nn.mlp([2, 3, 2]), nn.SoftmaxCrossEntropy(), X, y, epochs=1, n_epochs=1)


@pytest.mark.parametrize(("old", "module", "new"), [
    ("sigmoid", numerics, "sigmoid"),
    ("numerical_gradient", gradcheck, "numerical_gradient"),
    ("relative_error", gradcheck, "relative_error"),
])
def test_names_that_left_nn_warn_and_work(old, module, new):
    assert old not in vars(nn)  # one home: nn uses numerics.sigmoid, keeps the Sigmoid layer
    with pytest.warns(DeprecationWarning, match=rf"nn\.{old} is now {module.__name__[13:]}"):
        moved = getattr(nn, old)
    assert moved is getattr(module, new)
    with pytest.raises(AttributeError):
        nn.no_such_name  # noqa: B018


def test_relative_error_of_opposite_entries_near_the_square_root_of_the_float_range():
    # the norms of a and b are finite, but the squares of a - b overflowed: inf, not 1
    a = np.array([1.2e154, -3e153])
    assert gradcheck.relative_error(a, -a) == 1.0
    assert gradcheck.relative_error(np.full(2, 1e-300), np.full(2, 2e-300)) == pytest.approx(
        1 / 3, rel=1e-15)  # the squares underflow to 0
    assert gradcheck.relative_error(np.array([5e-324]), np.array([0.0])) == 1.0  # subnormal
    b = a * (1 + 1e-14)  # at 1e-150 the squared differences underflowed: the error read 0
    assert gradcheck.relative_error(a * 2.0**-1000, b * 2.0**-1000) == pytest.approx(
        gradcheck.relative_error(a, b), rel=1e-12)
    assert gradcheck.relative_error(a, b) == pytest.approx(1e-14 / 2, rel=1e-3)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.integers(1, 5), elements=st.floats(0.5, 2)),
       st.lists(st.sampled_from([-1.0, 1.0]), min_size=5, max_size=5),
       st.floats(-14, 0), st.integers(-1020, 1020), st.integers(0, 2**32 - 1))
def test_property_relative_error_does_not_depend_on_the_scale(magnitudes, signs, log_gap, k,
                                                              seed):
    """relative_error(a 2^k, b 2^k) = relative_error(a, b) for every k that keeps the entries
    normal numbers, gaps down to 1e-14 included (the differences of entries near 1e-150 once
    underflowed when squared: a gap of 1e-14 read as 0)."""
    a = magnitudes * signs[:len(magnitudes)]
    b = a * (1 + 10.0**log_gap * np.random.default_rng(seed).standard_normal(a.shape))
    expected = gradcheck.relative_error(a, b)
    scaled = gradcheck.relative_error(a * 2.0**k, b * 2.0**k)
    assert scaled == pytest.approx(expected, rel=1e-12, abs=0)
    assert 0 <= scaled <= 1


@pytest.mark.parametrize(("arrays", "analytic", "error", "message"), [
    ({"x": np.ones(3)}, {"x": np.ones(4)}, ValueError,
     r"analytic\['x'\] has shape \(4,\), arrays\['x'\] has \(3,\)"),
    ({"x": np.ones(3, int)}, {"x": np.ones(3)}, TypeError,
     r"arrays\['x'\] must be a float array"),  # central differences would be truncated
    ([np.ones(3)], {}, TypeError, "arrays must be a non-empty dict"),
    ({"x": np.ones(3)}, {"x": np.array([np.nan, 1, 1])}, ValueError,
     r"analytic\['x'\] contains NaN"),
    ({"x": np.ones(3)}, [np.ones(3)], TypeError, "analytic must be a dict"),
])
def test_compare_gradients_checks_its_arguments(arrays, analytic, error, message):
    with pytest.raises(error, match=message):
        gradcheck.compare_gradients(lambda: 0.0, arrays, analytic)
