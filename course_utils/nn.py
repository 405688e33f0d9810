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

Calling a layer or a loss (``net(X)``, ``loss(z, y)``) checks its inputs; ``forward`` and
``backward`` are the cores that trust them. Every public function, constructor and call
declares its checks with ``@checked`` beside its signature: they run at the outermost call
and are skipped inside another checked one (``fit`` checks once, then calls ``train_epoch``
and ``optimizer.step`` without checking again). ``Dense.W`` is (n_in, n_out), as in the maths
(x @ W). ``stack_models`` turns m networks of one
architecture into one whose parameters carry a leading axis of m: it trains them all at once,
each exactly as it would train alone (outputs (m, n, k); a loss sums the m mean losses).
Seeds follow the course's convention: ``seed`` is 0 by default, an int, a numpy Generator or
None (fresh entropy).
"""

import copy
import math

import numpy as np

from . import backend, numerics
from ._checks import (
    Array,
    Choice,
    Custom,
    FloatDtype,
    Instance,
    Int,
    Optional,
    Real,
    Seed,
    Xp,
    check_array,
    check_choice,
    check_device,
    check_int,
    check_labels,
    check_real,
    checked,
    rng_from,
)
from ._deprecated import renamed_keywords
from .backend import get_array_module
from .gradcheck import compare_gradients
from .optim import SGD, Adagrad, Adam, Optimizer, RMSprop


def _check_layer_input(x, name, values, xp):
    """The input of the layer values["self"], checked against it (see _check_input)."""
    return _check_input(values["self"], x, name)


class Layer:
    """A layer without parameters; subclasses define forward and backward.

    Calling it, ``layer(x)`` with x of shape (n_samples, n_in), checks x (finite, 2-D, on the
    device of the parameters, with the right number of features; 3-D (m, n_samples, n_in)
    for a stack of m networks) and returns forward(x).
    """

    def __init__(self):
        self.params, self.grads = {}, {}

    @checked(x=Custom(_check_layer_input, values=True))
    def __call__(self, x):
        """forward(x), once x is checked (and its output, which must not overflow).

        Parameters
        ----------
        x : (n_samples, n_in) array (or (m, n_samples, n_in) for a stack of m networks).

        Returns
        -------
        array (n_samples, n_out) (or (m, n_samples, n_out)), on x's device.
        """
        with np.errstate(over="ignore", invalid="ignore"):
            y = self.forward(x)
            finite = bool(get_array_module(y).isfinite(y.sum())) or bool(
                get_array_module(y).isfinite(y).all())
        if not finite:
            raise ValueError(f"x overflows {self!r}: its output is not finite")
        return y

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


def _first_dense(model):
    """The first Dense layer of model, searching Sequentials, if only elementwise activations
    come before it (a layer of another kind may change the width); else None."""
    def walk(layers):  # the first Dense, None, or False when another kind of layer came first
        for layer in layers:
            if isinstance(layer, Dense):
                return layer
            found = walk(layer.layers) if isinstance(layer, Sequential) else (
                None if isinstance(layer, (Sigmoid, Tanh, LeakyReLU)) else False)
            if found is not None:
                return found
        return None
    return walk([model]) or None


def _check_input(model, X, name):
    """X as a finite float array on the model's device, 2-D (or 3-D for a stack of m
    networks, m first), with as many features as the model's first Dense layer takes."""
    xp = _module_of(model, X)
    X = check_array(X, name, ndim=(2, 3), xp=xp)
    dense = _first_dense(model)
    if dense is not None:
        W = dense.params["W"]
        if X.shape[-1] != W.shape[-2]:
            raise ValueError(f"{name} has {X.shape[-1]} features (shape {X.shape}), but the "
                             f"model's first Dense layer takes {W.shape[-2]}")
        if X.ndim == 3 and (W.ndim == 2 or X.shape[0] != W.shape[0]):
            stack = "one network" if W.ndim == 2 else f"a stack of {W.shape[0]} networks"
            raise ValueError(f"{name} is 3-D (shape {X.shape}), but the model is {stack}: "
                             f"give (n_samples, n_features), or m first for m stacked networks")
    return X


def _check_init(init, name):
    """init as "glorot", "he" or a standard deviation >= 0."""
    if isinstance(init, str):
        return check_choice(init, name, {"glorot", "he"})
    return check_real(init, name, low=0)


class Dense(Layer):
    """y = x W + b, with W of shape (n_in, n_out) and b of shape (n_out,).

    W is laid out as in the maths, x @ W with one sample per row of x: the transpose of
    torch.nn.Linear's weight, which is (n_out, n_in) (load one with W = weight.T).

    W is drawn from N(0, std²): std = sqrt(2 / (n_in + n_out)) for init="glorot" (tanh,
    sigmoid), sqrt(2 / n_in) for init="he" (ReLU), or the number given; b starts at 0.
    W is drawn by NumPy from seed and then put on xp's device (the current device when xp
    is None), so the CPU and the GPU start from the same weights.

    Parameters
    ----------
    n_in, n_out : int >= 1, the numbers of inputs and outputs.
    init : "glorot", "he" or a float >= 0, the standard deviation of W.
    seed : int >= 0, numpy Generator or None (default 0).
    xp : numpy, cupy or None (the current device).  dtype : a float dtype.
    """

    @checked(n_in=Int(), n_out=Int(), init=Custom(_check_init), dtype=FloatDtype(), xp=Xp(),
             seed=Seed())
    def __init__(self, n_in, n_out, *, init="glorot", seed=0, xp=None, dtype=np.float64):
        super().__init__()
        std = _init_std(init, n_in, n_out)
        xp = backend.xp() if xp is None else xp
        W = rng_from(seed).normal(0, std, (n_in, n_out))  # drawn by NumPy: CPU and GPU alike
        self.params = {"W": xp.asarray(W, dtype=dtype), "b": xp.zeros(n_out, dtype=dtype)}

    def forward(self, x):
        self.x = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, dy):
        self.grads = {"W": self.x.swapaxes(-1, -2) @ dy,  # dL/dW = xᵀ dy
                      "b": dy.sum(axis=-2).reshape(self.params["b"].shape)}  # dL/db = Σ dy
        return dy @ self.params["W"].swapaxes(-1, -2)  # dL/dx = dy Wᵀ

    def __repr__(self):
        n_in, n_out = self.params["W"].shape[-2:]
        return f"Dense({n_in}, {n_out})"


def _init_std(init, n_in, n_out):
    """The standard deviation of W for a checked init."""
    if init == "glorot":
        return math.sqrt(2 / (n_in + n_out))
    return math.sqrt(2 / n_in) if init == "he" else init


class Sigmoid(Layer):
    """y = σ(x) = 1 / (1 + exp(-x)); dy/dx = y (1 - y), written with the output."""

    def forward(self, x):
        self.y = numerics.sigmoid(x)
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
    """y = x for x > 0, slope·x otherwise; dy/dx = 1 or slope. ReLU is slope = 0.

    Parameters
    ----------
    slope : float in [0, 1).
    """

    @checked(slope=Real(low=0, high=1, high_open=True))
    def __init__(self, slope=0.01):
        super().__init__()
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


def _check_layers(layers, name):
    bad = [type(layer).__name__ for layer in layers if not isinstance(layer, Layer)]
    if bad:
        raise TypeError(f"{name} must be Layer instances, got {', '.join(bad)}")
    return layers


class Sequential(Layer):
    """Layers applied in turn; backward runs them in reverse (the chain rule).

    Parameters
    ----------
    *layers : Layer instances. ``params`` and ``grads`` are read from the layers (read-only
        views, keyed 'index.name'); change a parameter through its layer.
    """

    @checked(layers=Custom(_check_layers))
    def __init__(self, *layers):  # no Layer.__init__: the parameters live in the layers
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

    @property
    def grads(self):
        """Every layer's parameter gradients from the last backward, keyed as params."""
        return {f"{i}.{k}": layer.grads[k] for i, layer in enumerate(self.layers)
                for k in layer.params}

    def __repr__(self):
        return f"Sequential({', '.join(map(repr, self.layers))})"


ACTIVATIONS = {"sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU, "leaky_relu": LeakyReLU}


def _check_sizes(sizes, name):
    """sizes as a list of at least two ints >= 1."""
    if isinstance(sizes, str) or not hasattr(sizes, "__len__"):
        raise TypeError(f"{name} must be a sequence of ints, got {type(sizes).__name__}")
    if len(sizes) < 2:
        raise ValueError(f"{name} must list at least n_in and n_out, got {sizes!r}")
    return [check_int(s, f"{name}[{i}]") for i, s in enumerate(sizes)]


@checked(activation=Choice(*ACTIVATIONS), sizes=Custom(_check_sizes),
         init=Optional(Custom(_check_init)), dtype=FloatDtype(), xp=Xp(), seed=Seed())
def mlp(sizes, activation="tanh", *, init=None, seed=0, xp=None, dtype=np.float64):
    """A multilayer perceptron: Dense layers of the given sizes, the activation between them.

    sizes = (n_in, hidden..., n_out); the last Dense layer has no activation (its output is
    the logits a loss takes). init defaults to "he" for ReLUs and "glorot" otherwise. The
    weights are drawn by NumPy from seed and put on xp's device (None: the current device),
    so one seed gives the same network on the CPU and the GPU.

    Parameters
    ----------
    sizes : sequence of at least two ints >= 1.
    activation : one of ACTIVATIONS ("sigmoid", "tanh", "relu", "leaky_relu").
    init : None, "glorot", "he" or a float >= 0 (see Dense).
    seed : int >= 0, numpy Generator or None (default 0).
    xp : numpy, cupy or None (the current device).  dtype : a float dtype.

    Returns
    -------
    Sequential: Dense, activation, ..., Dense; parameters of dtype on xp's device.
    """
    init = init if init is not None else ("he" if "relu" in activation else "glorot")
    xp = backend.xp() if xp is None else xp
    rng = rng_from(seed)
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [Dense(n_in, n_out, init=init, seed=rng, xp=xp, dtype=dtype),
                   ACTIVATIONS[activation]()]
    return Sequential(*layers[:-1])


def _leaves(model):
    """The layers of model that hold parameters, in order (searching Sequentials)."""
    if isinstance(model, Sequential):
        return [leaf for layer in model.layers for leaf in _leaves(layer)]
    return [model] if model.params else []


def _check_models(models, name):
    """models as a list of Layers of one architecture and parameter shapes, none a stack,
    each with its parameters on one device."""
    if isinstance(models, Layer) or not hasattr(models, "__iter__"):
        raise TypeError(f"{name} must be a sequence of Layers, got {type(models).__name__}")
    models = [Instance(Layer)(model, f"{name}[{i}]", {}, None) for i, model in enumerate(models)]
    if not models:
        raise ValueError(f"{name} is empty")
    for i, model in enumerate(models):
        shapes = {k: p.shape for k, p in model.params.items()}
        first = {k: p.shape for k, p in models[0].params.items()}
        if repr(model) != repr(models[0]) or shapes != first:
            raise ValueError(f"{name}[{i}] ({model!r}) differs from {name}[0] "
                             f"({models[0]!r}): stacked networks share one architecture")
        if any(isinstance(leaf, Dense) and leaf.params["W"].ndim == 3 for leaf in _leaves(model)):
            raise ValueError(f"{name}[{i}] is already a stack")
        _module_of(model, None)
    return models


@checked(models=Custom(_check_models))
def stack_models(models):
    """m networks of one architecture as one network: each parameter stacked on a new first
    axis of m (a bias b of shape (n_out,) becomes (m, 1, n_out), to broadcast over samples).

    The stack takes inputs (n, n_in), shared by all, or (m, n, n_in), and gives outputs
    (m, n, n_out). A loss sums the m networks' mean losses, so each network's parameters get
    exactly the gradient they would get alone: training the stack trains m networks at once.

    Parameters
    ----------
    models : sequence of Layers with the same architecture and parameter shapes, on one
        device (for example mlp(sizes, seed=s) for s in seeds). They are not changed.

    Returns
    -------
    Layer: a copy of models[0] whose parameters are the stacked ones; stack(X)[i] is
    models[i](X).
    """
    models = list(models)
    stacked = copy.deepcopy(models[0])
    leaves = zip(*map(_leaves, models), strict=True)
    for leaf, originals in zip(_leaves(stacked), leaves, strict=True):
        for k in leaf.params:
            parts = [layer.params[k] for layer in originals]
            p = get_array_module(parts[0]).stack(parts)
            leaf.params[k] = p[:, None] if p.ndim == 2 else p
        leaf.grads = {}
    return stacked


def _check_loss_target(y, name, values, xp):
    """y checked as the targets of the loss values["self"] for the outputs values["z"]."""
    return values["self"]._check_target(y, *values["z"].shape[-2:], xp)


class Loss:
    """A loss: forward(z, y) returns the mean over samples; backward() returns dL/dz.

    Calling it, ``loss(z, y)``, checks z (finite, (n, k), or (m, n, k) for a stack of m
    networks) and y (targets or labels fit for the loss, on z's device), then returns
    forward(z, y): the mean loss over the n samples, summed over the m networks.
    """

    @checked(z=Array(ndim=(2, 3)), y=Custom(_check_loss_target, values=True,
                                            device_of=lambda y: y))
    def __call__(self, z, y):
        """forward(z, y), once z and y are checked.

        Parameters
        ----------
        z : (n, k) array of outputs (or (m, n, k) for a stack of m networks).
        y : targets (n,) or (n, k), or labels (n,) for SoftmaxCrossEntropy, on z's device.

        Returns
        -------
        0-d array on z's device: the mean loss over the n samples (summed over the m
        networks); backward() then returns dL/dz, of z's shape.
        """
        with np.errstate(over="ignore", invalid="ignore"):
            value = self.forward(z, y)
        if not bool(get_array_module(z).isfinite(value)):
            raise ValueError(f"z overflows the loss ({float(value)}): logits this large "
                             f"(up to {float(abs(z).max()):.3g}) are beyond {z.dtype}")
        return value

    def _check_target(self, y, n, k, xp):
        """y as real targets of shape (n, k) (from (n,) when k = 1, or any n·k values)."""
        y = check_array(y, "y", ndim=(1, 2), xp=xp)
        if len(y) != n or y.size != n * k:
            raise ValueError(f"y has shape {y.shape}, but there are {n} samples with {k} "
                             f"outputs each: give y of shape ({n}, {k})"
                             + (f" or ({n},)" if k == 1 else ""))
        return y.reshape(n, k)

    def __repr__(self):
        return f"{type(self).__name__}()"


class MeanSquaredError(Loss):
    """L = (1 / 2n) Σᵢ ‖zᵢ - yᵢ‖², for z and y of shape (n, k); dL/dz = (z - y) / n.

    y may be any real targets; (n,) is taken as (n, 1).
    """

    def forward(self, z, y):
        self.diff = z - y.reshape(z.shape[-2:])
        return (self.diff * self.diff).sum() / (2 * z.shape[-2])

    def backward(self):
        return self.diff / self.diff.shape[-2]


class SigmoidCrossEntropy(Loss):
    """Binary cross-entropy of p = σ(z) for targets y in [0, 1], z of shape (n, 1) (or (n, k),
    k independent outputs); y is usually a label, 0 or 1, and may be a probability.

    L = mean -[y log p + (1 - y) log(1 - p)] = mean log(1 + e^z) - y z, computed as
    max(z, 0) - y z + log(1 + e^-|z|) so that exp never overflows; dL/dz = (σ(z) - y) / n.
    L >= 0 because y is in [0, 1] (checked): a y outside would make the loss unbounded below.
    """

    def forward(self, z, y):
        xp = get_array_module(z)
        self.z, self.y = z, y.reshape(z.shape[-2:])
        return (xp.maximum(z, 0) - self.y * z + xp.log1p(xp.exp(-xp.abs(z)))).sum() / z.shape[-2]

    def backward(self):
        return (numerics.sigmoid(self.z) - self.y) / self.z.shape[-2]

    def _check_target(self, y, n, k, xp):
        y = super()._check_target(y, n, k, xp)
        if bool(((y < 0) | (y > 1)).any()):
            raise ValueError(f"y must hold targets in [0, 1] (labels 0 and 1, or "
                             f"probabilities), got values from {float(y.min()):g} to "
                             f"{float(y.max()):g}")
        return y


class SoftmaxCrossEntropy(Loss):
    """Cross-entropy of p = softmax(z) for integer labels y, z of shape (n, n_classes).

    L = mean_i [log Σ_k exp(z_ik) - z_i,yᵢ], with the row maximum subtracted first so that
    exp never overflows; dL/dz = (softmax(z) - onehot(y)) / n. y holds labels in
    [0, n_classes) (checked when the loss is called, and by fit).
    """

    def forward(self, z, y):
        xp = get_array_module(z)
        shifted = z - z.max(axis=-1, keepdims=True)
        log_p = shifted - xp.log(xp.exp(shifted).sum(axis=-1, keepdims=True))
        self.p, self.y = xp.exp(log_p), y
        return -log_p[..., xp.arange(z.shape[-2]), y].sum() / z.shape[-2]

    def backward(self):
        xp = get_array_module(self.p)
        dz = self.p.copy()
        dz[..., xp.arange(dz.shape[-2]), self.y] -= 1
        return dz / dz.shape[-2]

    def _check_target(self, y, n, k, xp):
        return check_labels(y, "y", n_classes=k, n_samples=n, xp=xp)


@checked(loss=Optional(Instance(Loss)), xp=Optional(Xp()), n_outputs=Optional(Int()))
def check_data(X, y, loss=None, xp=None, n_outputs=None):
    """X as a 2-D float array and y as labels or targets fit for the loss, both on module xp
    (default X's); an array on the other device raises DeviceMismatchError naming it.

    Parameters
    ----------
    X : (n_samples, n_features) array.  y : (n_samples,) or (n_samples, k).
    loss : a Loss or None (real targets).  xp : numpy, cupy or None (X's module).
    n_outputs : the model's number of outputs, or None: labels for SoftmaxCrossEntropy must
        be below it; real targets are reshaped to (n_samples, n_outputs).

    Returns
    -------
    (X, y): X a float array, y int64 labels (n_samples,) for SoftmaxCrossEntropy, else real
    targets of X's dtype, (n_samples, k).
    """
    xp = xp or get_array_module(X)
    X = check_array(X, "X", ndim=(2,), xp=xp)
    n = len(X)
    if isinstance(loss, SoftmaxCrossEntropy):
        return X, check_labels(y, "y", n_classes=n_outputs, n_samples=n, xp=xp)
    if n_outputs is None:
        y_arr = check_array(y, "y", ndim=(1, 2), xp=xp)
        if len(y_arr) != n:
            raise ValueError(f"X and y must have the same number of samples: X has shape "
                             f"{X.shape}, y has shape {y_arr.shape}")
        n_outputs = y_arr.size // n
    target = loss if loss is not None else MeanSquaredError()
    return X, target._check_target(y, n, n_outputs, xp).astype(X.dtype, copy=False)


# The checks of fit, train_epoch and gradient_check, declared with @checked: X against the
# model (its device, its first layer's inputs), y against the model's outputs and the loss.

def _check_model_X(X, name, values, xp):
    X = _check_input(values["model"], X, name)
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {X.shape}")
    return X


def _check_model_y(y, name, values, xp):
    model, loss, X = values["model"], values["loss"], values["X"]
    if loss is None:
        return y  # gradient_check without a loss: y is not used
    if y is None:
        raise ValueError(f"{name} is required when a loss is given")
    n_outputs = model.forward(X[:1]).shape[-1]
    return check_data(X, y, loss, get_array_module(X), n_outputs)[1]


def _check_optimizer(optimizer, name, values, xp):
    """An optim optimizer holding the model's parameters (values["model"]'s), in order."""
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{name} must be a course_utils.optim optimizer, or one of "
                        f"{sorted(OPTIMIZERS)}, got {type(optimizer).__name__}")
    params = list(values["model"].params.values())
    if len(optimizer.params) != len(params) or any(
            p is not q for p, q in zip(optimizer.params, params, strict=True)):
        raise ValueError(f"{name} must hold the model's parameters, in order: build it "
                         f"from model.params.values()")
    return optimizer


def _check_optimizer_or_name(optimizer, name, values, xp):
    """None, the name of an optimizer (fit builds it), or an optimizer as _check_optimizer."""
    if optimizer is None:
        return None
    if isinstance(optimizer, str):
        return check_choice(optimizer, name, OPTIMIZERS)
    return _check_optimizer(optimizer, name, values, xp)


@checked(model=Instance(Layer), loss=Optional(Instance(Loss)), eps=Real(low=0, low_open=True),
         seed=Seed(), X=Custom(_check_model_X, values=True),
         y=Custom(_check_model_y, values=True))
def gradient_check(model, X, loss=None, y=None, *, eps=1e-6, seed=0):
    """Relative error between backprop's gradients and central differences, per array.

    The scalar checked is loss(model(X), y), or Σ model(X) ⊙ R for a fixed random R when
    loss is None (so a single layer is checked on every output). Use float64: in float32
    rounding alone gives errors near 1e-3. X and y must be on the device of the model's
    parameters (DeviceMismatchError otherwise). The comparison itself is
    gradcheck.compare_gradients, the course's one gradient check.

    Parameters
    ----------
    model : Layer.  X : (n_samples, n_features) array.
    loss : Loss or None.  y : targets or labels for loss (required with a loss).
    eps : float > 0, the central-difference step.  seed : seed of R (default 0).

    Returns
    -------
    dict of floats in [0, 1]: "x" for dL/dX, then one entry per parameter ('W', 'b', or
    '0.W', ... for a Sequential).
    """
    X = X.copy()
    if loss is None:
        R = get_array_module(X).asarray(rng_from(seed).standard_normal(model.forward(X).shape),
                                        dtype=X.dtype)

        def scalar():
            return (model.forward(X) * R).sum()

        def backward():
            return model.backward(R)
    else:
        def scalar():
            return loss.forward(model.forward(X), y)

        def backward():
            return model.backward(loss.backward())

    scalar()
    dx = backward()
    if dx.ndim > X.ndim:  # a stack of networks on shared inputs: their gradients add up
        dx = dx.sum(axis=0)
    analytic = {"x": dx, **model.grads}
    arrays = {"x": X, **model.params}
    return compare_gradients(scalar, arrays, analytic, eps=eps)


@checked(model=Instance(Layer), loss=Instance(Loss), X=Custom(_check_model_X, values=True),
         y=Custom(_check_model_y, values=True),
         optimizer=Custom(_check_optimizer, values=True), batch_size=Optional(Int()),
         seed=Seed())
def train_epoch(model, loss, X, y, optimizer, *, batch_size=None, seed=0):
    """One pass over (X, y) in shuffled mini-batches (the whole set when batch_size is None),
    one optimizer step per batch. X or y on another device than the model's parameters raises
    DeviceMismatchError.

    Parameters
    ----------
    model : Layer.  loss : Loss.  X : (n_samples, n_features).  y : targets or labels.
    optimizer : an optim optimizer built from model.params.values().
    batch_size : int >= 1 or None (full batch).
    seed : the shuffling, int >= 0 (default 0: the same order each call), numpy Generator
        (a new order each call) or None.

    Returns
    -------
    float: the mean batch loss (one device-to-host copy per epoch).
    """
    n = len(X)
    if batch_size is None or batch_size >= n:
        batches = [(X, y)]
    else:
        order = get_array_module(X).asarray(rng_from(seed).permutation(n))
        batches = ((X[i], y[i]) for i in (order[s:s + batch_size] for s in range(0, n, batch_size)))
    total = 0.0
    for X_batch, y_batch in batches:
        total = total + loss.forward(model.forward(X_batch), y_batch) * len(X_batch)
        model.backward(loss.backward())
        optimizer.step(model.grads.values())
    return float(total) / n  # one device-to-host copy per epoch


OPTIMIZERS = {"sgd": SGD, "adagrad": Adagrad, "rmsprop": RMSprop, "adam": Adam}


@renamed_keywords(epochs="n_epochs")
@checked(model=Instance(Layer), loss=Instance(Loss), X=Custom(_check_model_X, values=True),
         y=Custom(_check_model_y, values=True), n_epochs=Int(low=0),
         batch_size=Optional(Int()), seed=Seed(), lr=Real(low=0, low_open=True),
         optimizer=Custom(_check_optimizer_or_name, values=True))
def fit(model, loss, X, y, *, lr=0.1, n_epochs=100, batch_size=None, optimizer=None, seed=0):
    """Train model on (X, y) for n_epochs passes; return the list of mean losses per epoch.

    X and y must be on the device of the model's parameters (DeviceMismatchError otherwise);
    lists are put there. Each epoch is train_epoch, with one shuffling stream for them all.

    Parameters
    ----------
    model : Layer.  loss : Loss.  X : (n_samples, n_features).  y : targets (n_samples,) or
        (n_samples, k), or labels (n_samples,) in [0, n_classes) for SoftmaxCrossEntropy.
    lr : float > 0, the learning rate when fit builds the optimizer.
    n_epochs : int >= 0, the passes over the data (formerly epochs).
    batch_size : int >= 1 or None (full batch).
    optimizer : None (plain gradient descent, SGD(lr=lr)), one of "sgd", "adagrad",
        "rmsprop", "adam" (built with lr and the class's defaults), or an optim optimizer
        built from model.params.values() (lr is then its own).
    seed : the shuffling: int >= 0 (default 0), numpy Generator or None.

    Returns
    -------
    list of n_epochs floats, the mean training loss of each epoch.
    """
    rng = rng_from(seed)
    if optimizer is None or isinstance(optimizer, str):
        optimizer = OPTIMIZERS[optimizer or "sgd"](model.params.values(), lr=lr)
    return [train_epoch(model, loss, X, y, optimizer, batch_size=batch_size, seed=rng)
            for _ in range(n_epochs)]


def __getattr__(name):
    """Names that moved to another module keep working for one release, with a warning."""
    from ._deprecated import moved

    return moved(__name__, name)
