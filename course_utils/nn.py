"""Backpropagation for multilayer perceptrons: each layer's backward rule beside its forward.

A layer maps x of shape (n_samples, n_in) to y of shape (n_samples, n_out). ``forward(x)``
keeps what the backward pass needs; ``backward(dy)`` takes dL/dy and returns dL/dx, leaving
dL/dθ in ``grads`` under the same keys as ``params``. A loss's ``forward(z, y)`` returns the
mean loss and its ``backward()`` returns dL/dz. Every function follows its data: NumPy in,
NumPy out; CuPy in, CuPy out. ``Dense`` and ``mlp`` create their parameters on the current
device (``backend.xp()``) unless given ``xp``; their weights are drawn by NumPy from the seed
either way, so a network starts from the same numbers on the CPU and the GPU. Calling a layer,
a loss, ``fit``, ``train_epoch`` or ``gradient_check`` with arrays on another device than the
model's parameters raises ``DeviceMismatchError`` naming the argument.
"""

import math
import numbers

import numpy as np

from . import backend
from ._checks import array_module, check_array, check_device, check_int
from .backend import get_array_module


def sigmoid(x):
    """1 / (1 + exp(-x)) elementwise, without overflow: exp only ever sees -|x|."""
    xp = get_array_module(x)
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


class Layer:
    """A layer without parameters; subclasses define forward and backward."""

    def __init__(self):
        self.params, self.grads = {}, {}

    def __call__(self, x):
        """forward(x), once x is known to be on the device of the parameters."""
        check_device(x, "x", _module_of(self, x))
        return self.forward(x)

    def __repr__(self):
        return f"{type(self).__name__}()"


def _module_of(model, X):
    """The array module of model's parameters (each on the first one's device), or X's when
    the model has none: the device a call on model and X works on."""
    params = model.params
    if not params:
        return get_array_module(X)
    xp = get_array_module(next(iter(params.values())))
    for name, p in params.items():
        check_device(p, f"model.params[{name!r}]", xp)
    return xp


class Dense(Layer):
    """y = x W + b, with W of shape (n_in, n_out) and b of shape (n_out,).

    W is drawn from N(0, std²): std = sqrt(2 / (n_in + n_out)) for init="glorot" (tanh,
    sigmoid), sqrt(2 / n_in) for init="he" (ReLU), or the number given; b starts at 0.
    W is drawn by NumPy from rng (a seed or a Generator) and then put on xp's device (the
    current device when xp is None), so the CPU and the GPU start from the same weights.
    """

    def __init__(self, n_in, n_out, *, init="glorot", rng=None, xp=None, dtype=np.float64):
        super().__init__()
        n_in, n_out = check_int(n_in, "n_in"), check_int(n_out, "n_out")
        std = {"glorot": math.sqrt(2 / (n_in + n_out)), "he": math.sqrt(2 / n_in)}.get(init, init)
        if isinstance(std, str) or not isinstance(std, numbers.Real) or not std >= 0:
            raise ValueError(f"init must be 'glorot', 'he' or a standard deviation >= 0, "
                             f"got {init!r}")
        xp = xp or backend.xp()
        rng = np.random.default_rng(rng)  # drawn by NumPy, so CPU and GPU start alike
        W = rng.normal(0, std, (n_in, n_out))
        self.params = {"W": xp.asarray(W, dtype=dtype), "b": xp.zeros(n_out, dtype=dtype)}

    def forward(self, x):
        self.x = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, dy):
        self.grads = {"W": self.x.T @ dy, "b": dy.sum(axis=0)}  # dL/dW = xᵀ dy, dL/db = Σ dy
        return dy @ self.params["W"].T                          # dL/dx = dy Wᵀ

    def __repr__(self):
        n_in, n_out = self.params["W"].shape
        return f"Dense({n_in}, {n_out})"


class Sigmoid(Layer):
    """y = σ(x) = 1 / (1 + exp(-x)); dy/dx = y (1 - y), written with the output."""

    def forward(self, x):
        self.y = sigmoid(x)
        return self.y

    def backward(self, dy):
        return dy * self.y * (1 - self.y)


class Tanh(Layer):
    """y = tanh(x); dy/dx = 1 - y², written with the output."""

    def forward(self, x):
        self.y = get_array_module(x).tanh(x)
        return self.y

    def backward(self, dy):
        return dy * (1 - self.y * self.y)


class LeakyReLU(Layer):
    """y = x for x > 0, slope·x otherwise; dy/dx = 1 or slope. ReLU is slope = 0."""

    def __init__(self, slope=0.01):
        super().__init__()
        if isinstance(slope, bool) or not isinstance(slope, numbers.Real) or not 0 <= slope < 1:
            raise ValueError(f"slope must be a number in [0, 1), got {slope!r}")
        self.slope = slope

    def forward(self, x):
        self.positive = x > 0
        return get_array_module(x).where(self.positive, x, self.slope * x)

    def backward(self, dy):
        return get_array_module(dy).where(self.positive, dy, self.slope * dy)

    def __repr__(self):
        return f"LeakyReLU(slope={self.slope})"


class ReLU(LeakyReLU):
    """y = max(x, 0); dy/dx = 1 for x > 0, else 0 (the choice at the kink x = 0)."""

    def __init__(self):
        super().__init__(slope=0)

    def __repr__(self):
        return "ReLU()"


class Sequential(Layer):
    """Layers applied in turn; backward runs them in reverse (the chain rule)."""

    def __init__(self, *layers):
        super().__init__()
        bad = [type(layer).__name__ for layer in layers if not isinstance(layer, Layer)]
        if bad:
            raise TypeError(f"layers must be Layer instances, got {', '.join(bad)}")
        self.layers = list(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dy):
        for layer in reversed(self.layers):
            dy = layer.backward(dy)
        return dy

    @property
    def params(self):
        """Every layer's parameters, keyed 'index.name' ('0.W', '0.b', '2.W', ...)."""
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in
                layer.params.items()}

    @params.setter
    def params(self, value):  # Layer.__init__ sets {}; the parameters live in the layers
        pass

    @property
    def grads(self):
        """Every layer's parameter gradients from the last backward, keyed as params."""
        return {f"{i}.{k}": layer.grads[k] for i, layer in enumerate(self.layers)
                for k in layer.params}

    @grads.setter
    def grads(self, value):
        pass

    def __repr__(self):
        return f"Sequential({', '.join(map(repr, self.layers))})"


ACTIVATIONS = {"sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU, "leaky_relu": LeakyReLU}


def mlp(sizes, activation="tanh", *, init=None, seed=0, xp=None, dtype=np.float64):
    """A multilayer perceptron: Dense layers of the given sizes, the activation between them.

    sizes = (n_in, hidden..., n_out); the last Dense layer has no activation (its output is
    the logits a loss takes). init defaults to "he" for ReLUs and "glorot" otherwise. The
    weights are drawn by NumPy from seed and put on xp's device (None: the current device),
    so one seed gives the same network on the CPU and the GPU.

    Returns
    -------
    Sequential: Dense, activation, ..., Dense; parameters of dtype on xp's device.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least n_in and n_out, got {sizes!r}")
    init = init or ("he" if "relu" in activation else "glorot")
    xp = xp or backend.xp()
    rng = np.random.default_rng(seed)
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [Dense(n_in, n_out, init=init, rng=rng, xp=xp, dtype=dtype),
                   ACTIVATIONS[activation]()]
    return Sequential(*layers[:-1])


class Loss:
    """A loss: forward(z, y) returns the mean over samples; backward() returns dL/dz."""

    def __call__(self, z, y):
        """forward(z, y), once y is known to be on z's device."""
        check_device(y, "y", get_array_module(z))
        return self.forward(z, y)

    def __repr__(self):
        return f"{type(self).__name__}()"


class MeanSquaredError(Loss):
    """L = (1 / 2n) Σᵢ ‖zᵢ - yᵢ‖², for z and y of shape (n, k); dL/dz = (z - y) / n."""

    def forward(self, z, y):
        self.diff = z - y.reshape(z.shape)
        return (self.diff * self.diff).sum() / (2 * len(z))

    def backward(self):
        return self.diff / len(self.diff)


class SigmoidCrossEntropy(Loss):
    """Binary cross-entropy of p = σ(z) for labels y in {0, 1}, z of shape (n, 1).

    L = mean -[y log p + (1 - y) log(1 - p)] = mean log(1 + e^z) - y z, computed as
    max(z, 0) - y z + log(1 + e^-|z|) so that exp never overflows; dL/dz = (σ(z) - y) / n.
    """

    def forward(self, z, y):
        xp = get_array_module(z)
        self.z, self.y = z, y.reshape(z.shape)
        return (xp.maximum(z, 0) - self.y * z + xp.log1p(xp.exp(-xp.abs(z)))).mean()

    def backward(self):
        return (sigmoid(self.z) - self.y) / len(self.z)


class SoftmaxCrossEntropy(Loss):
    """Cross-entropy of p = softmax(z) for integer labels y, z of shape (n, n_classes).

    L = mean_i [log Σ_k exp(z_ik) - z_i,yᵢ], with the row maximum subtracted first so that
    exp never overflows; dL/dz = (softmax(z) - onehot(y)) / n.
    """

    def forward(self, z, y):
        xp = get_array_module(z)
        shifted = z - z.max(axis=1, keepdims=True)
        log_p = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
        self.p, self.y = xp.exp(log_p), y
        return -log_p[xp.arange(len(z)), y].mean()

    def backward(self):
        xp = get_array_module(self.p)
        dz = self.p.copy()
        dz[xp.arange(len(dz)), self.y] -= 1
        return dz / len(dz)


def check_data(X, y, loss=None, xp=None):
    """X as a 2-D float array and y as labels or targets fit for the loss, both on module xp
    (default X's); an array on the other device raises DeviceMismatchError naming it."""
    xp = xp or get_array_module(X)
    X = check_array(X, "X", ndim=(2,), xp=xp)
    if isinstance(loss, SoftmaxCrossEntropy):
        check_device(y, "y", xp)
        y = xp.asarray(y)
        if y.dtype.kind not in "iu" or y.ndim != 1:
            raise TypeError(f"y must be a 1-D array of integer class labels, got dtype "
                            f"{y.dtype} and shape {y.shape}")
    else:
        y = check_array(y, "y", xp=xp).astype(X.dtype, copy=False)
    if len(y) != len(X):
        raise ValueError(f"X and y must have the same number of samples: X has shape "
                         f"{X.shape}, y has shape {y.shape}")
    return X, y


def numerical_gradient(f, x, eps=1e-6):
    """Central differences (f(x + εeᵢ) - f(x - εeᵢ)) / 2ε for every entry i of the array x.

    f takes no arguments and reads x, which is changed in place and restored. Error O(ε²).
    A by-hand reference, one entry at a time: on a GPU each entry costs two evaluations and
    a few device-to-host reads (.item(), float), fine for the small arrays it checks.
    """
    grad = get_array_module(x).zeros(x.shape, dtype=x.dtype)
    flat, gflat = x.reshape(-1), grad.reshape(-1)  # views: writing flat[i] changes x
    for i in range(x.size):
        old = flat[i].item()
        flat[i] = old + eps
        f_plus = float(f())
        flat[i] = old - eps
        f_minus = float(f())
        flat[i] = old
        gflat[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def relative_error(a, b):
    """‖a - b‖ / (‖a‖ + ‖b‖): 0 when equal, 1 when opposite; 0 when both are zero."""
    xp = array_module(a=a, b=b)
    denominator = float(xp.linalg.norm(a) + xp.linalg.norm(b))
    return float(xp.linalg.norm(a - b)) / denominator if denominator > 0 else 0.0


def gradient_check(model, X, loss=None, y=None, *, eps=1e-6, seed=0):
    """Relative error between backprop's gradients and central differences, per array.

    The scalar checked is loss(model(X), y), or Σ model(X) ⊙ R for a fixed random R when
    loss is None (so a single layer is checked on every output). Returns a dict: "x" for
    dL/dX, then one entry per parameter ('W', 'b', or '0.W', ... for a Sequential).
    Use float64: in float32 rounding alone gives errors near 1e-3. X and y must be on the
    device of the model's parameters (DeviceMismatchError otherwise).
    """
    if not isinstance(model, Layer):
        raise TypeError(f"model must be a Layer, got {type(model).__name__}")
    if loss is not None and not isinstance(loss, Loss):
        raise TypeError(f"loss must be a Loss, got {type(loss).__name__}")
    xp = _module_of(model, X)
    X = check_array(X, "X", ndim=(2,), xp=xp).copy()
    if loss is None:
        R = xp.asarray(np.random.default_rng(seed).standard_normal(model.forward(X).shape),
                       dtype=X.dtype)

        def scalar():
            return (model.forward(X) * R).sum()

        def backward():
            return model.backward(R)
    else:
        if y is None:
            raise ValueError("y is required when a loss is given")
        X, y = check_data(X, y, loss, xp)

        def scalar():
            return loss.forward(model.forward(X), y)

        def backward():
            return model.backward(loss.backward())

    scalar()
    analytic = {"x": backward(), **model.grads}
    arrays = {"x": X, **model.params}
    return {name: relative_error(analytic[name], numerical_gradient(scalar, arr, eps))
            for name, arr in arrays.items()}


def train_epoch(model, loss, X, y, optimizer, *, batch_size=None, rng=None):
    """One pass over (X, y) in shuffled mini-batches (the whole set when batch_size is None),
    one optimizer step per batch. Inputs are trusted (see fit), but for their device: X or y
    on another device than the model's parameters raises DeviceMismatchError. Returns the
    mean batch loss, a float (one device-to-host copy per epoch).
    """
    xp = _module_of(model, X)
    check_device(X, "X", xp)
    check_device(y, "y", xp)
    n = len(X)
    if batch_size is None or batch_size >= n:
        batches = [(X, y)]
    else:
        order = get_array_module(X).asarray(np.random.default_rng(rng).permutation(n))
        batches = ((X[i], y[i]) for i in (order[s:s + batch_size] for s in range(0, n, batch_size)))
    total = 0.0
    for X_batch, y_batch in batches:
        total = total + loss.forward(model.forward(X_batch), y_batch) * len(X_batch)
        model.backward(loss.backward())
        optimizer.step(model.grads.values())
    return float(total) / n  # one device-to-host copy per epoch


def fit(model, loss, X, y, *, lr=0.1, epochs=100, batch_size=None, optimizer=None, seed=0):
    """Train model on (X, y) for the given epochs; return the list of mean losses per epoch.

    optimizer is any course_utils.optim optimizer over model.params; by default plain
    gradient descent, SGD(lr=lr). batch_size=None is full-batch; seed fixes the shuffling.
    X and y must be on the device of the model's parameters (DeviceMismatchError otherwise);
    lists are put there.
    """
    from .optim import SGD

    if not isinstance(model, Layer):
        raise TypeError(f"model must be a Layer, got {type(model).__name__}")
    if not isinstance(loss, Loss):
        raise TypeError(f"loss must be a Loss, got {type(loss).__name__}")
    X, y = check_data(X, y, loss, _module_of(model, X))
    epochs = check_int(epochs, "epochs", low=0)
    if batch_size is not None:
        batch_size = check_int(batch_size, "batch_size")
    optimizer = optimizer or SGD(model.params.values(), lr=lr)
    rng = np.random.default_rng(seed)
    return [train_epoch(model, loss, X, y, optimizer, batch_size=batch_size, rng=rng)
            for _ in range(epochs)]
