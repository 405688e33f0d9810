"""Autoencoders built from lesson 02's layers: an encoder to a code of a few numbers, a decoder
back, trained by ``nn.fit`` to reproduce their input under ``MeanSquaredError``; a stack
pretrained layer by layer, then turned into a classifier.

Nothing here is new machinery: ``Dense``, the activations, ``Sequential``, the losses and
``fit`` are ``course_utils.nn``'s, the optimizers ``course_utils.optim``'s. A linear
autoencoder (no activations) trained to its minimum spans the same subspace as PCA's first
components (Baldi and Hornik, 1989), though not with the same basis. Models are created on
xp's device (the current one when None) with weights drawn by NumPy from the seed.
"""

import copy
import math
from dataclasses import dataclass

import numpy as np

from . import backend
from ._checks import (
    Choice,
    Custom,
    FloatDtype,
    Instance,
    Int,
    Real,
    Seed,
    Xp,
    check_array,
    check_fields,
    check_int,
    checked,
    rng_from,
)
from ._deprecated import renamed_keywords
from .nn import ACTIVATIONS, Dense, MeanSquaredError, Sequential, fit

OUTPUTS = ("sigmoid", "linear")


@dataclass(frozen=True)
class Autoencoder:
    """encoder (n_in → code_size), decoder (code_size → n_in) and model, the two in one
    Sequential that shares their layers (training model trains both). Made by hand, each
    field must be a Sequential."""

    encoder: Sequential
    decoder: Sequential
    model: Sequential

    def __post_init__(self):
        check_fields(self, encoder=Instance(Sequential), decoder=Instance(Sequential),
                     model=Instance(Sequential))


def _ints(values, name):
    """A sequence of ints >= 1, as a list."""
    if isinstance(values, str) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a sequence of ints, got {type(values).__name__}")
    return [check_int(v, f"{name}[{i}]") for i, v in enumerate(values)]


def _layers(sizes, activation, last, rng, xp, dtype):
    """Dense layers of sizes with the activation after each but the last, then `last`."""
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(Dense(n_in, n_out, seed=rng, xp=xp, dtype=dtype))
        act = activation if i < len(sizes) - 2 else last
        if act != "linear":
            layers.append(ACTIVATIONS[act]())
    return layers


@checked(n_in=Int(), code_size=Int(), hidden=Custom(_ints),
         activation=Choice("linear", *ACTIVATIONS), output=Choice(*OUTPUTS), seed=Seed(),
         xp=Xp(), dtype=FloatDtype())
def autoencoder(n_in, code_size, hidden=(), *, activation="sigmoid", output="sigmoid",
                seed=0, xp=None, dtype=np.float64):
    """An autoencoder n_in → hidden... → code_size → ...hidden reversed → n_in.

    Parameters
    ----------
    n_in : int >= 1, the data's features.  code_size : int >= 1, the size of the code.
    hidden : sequence of ints >= 1, the widths between input and code (mirrored after it).
    activation : "linear" (no activation at all: a linear autoencoder) or one of nn's
        ACTIVATIONS ("sigmoid", "tanh", "relu", "leaky_relu"), after every layer of the
        encoder (the code included) and the hidden ones of the decoder.
    output : "sigmoid" (data in [0, 1]) or "linear", the decoder's last activation (always
        linear when activation is "linear").
    seed : int >= 0, numpy Generator or None (default 0).  xp : numpy, cupy or None (the
        current device).  dtype : a float dtype (float64), the parameters'.

    Returns
    -------
    Autoencoder (encoder, decoder, model).
    """
    if activation == "linear":
        output = "linear"
    rng = rng_from(seed)
    sizes = [n_in, *hidden, code_size]
    encoder = Sequential(*_layers(sizes, activation, activation, rng, xp, dtype))
    decoder = Sequential(*_layers(sizes[::-1], activation, output, rng, xp, dtype))
    return Autoencoder(encoder, decoder, Sequential(encoder, decoder))


def _nonempty_ints(values, name):
    values = _ints(values, name)
    if not values:
        raise ValueError(f"{name} is empty: give at least one code size")
    return values


def _data_for(X, name, values, xp):
    """X (n_samples, n_features), in [0, 1] when the decoders end in a sigmoid."""
    X = check_array(X, name, ndim=(2,), xp=xp)
    if values["activation"] == "sigmoid" and bool(((X < 0) | (X > 1)).any()):
        raise ValueError(f"{name} must hold values in [0, 1] for activation 'sigmoid' (its "
                         f"decoder ends in a sigmoid), got values from {float(X.min()):g} to "
                         f"{float(X.max()):g}; scale X, or choose another activation")
    return X


@renamed_keywords(epochs="n_epochs")
@checked(activation=Choice(*ACTIVATIONS), X=Custom(_data_for, values=True, device_of=lambda X: X),
         sizes=Custom(_nonempty_ints), n_epochs=Int(low=0), lr=Real(low=0, low_open=True),
         batch_size=Int(), seed=Seed())
def pretrain_stack(X, sizes, *, activation="sigmoid", n_epochs=50, lr=0.01, batch_size=64,
                   seed=0):
    """Greedy layer-wise pretraining: an autoencoder X → sizes[0] → X trained with Adam, its
    code then the data of the next, X → sizes[0] → sizes[1] → sizes[0], and so on.

    Parameters
    ----------
    X : (n_samples, n_features) array; in [0, 1] for activation "sigmoid" (each decoder
        then ends in a sigmoid, which reaches nothing outside).
    sizes : sequence of ints >= 1, the code size of each layer in turn.
    activation : one of nn's ACTIVATIONS (the codes of "sigmoid" lie in [0, 1], fit for the
        next layer's sigmoid output; the others have linear decoders).
    n_epochs : int >= 0, passes over the data per layer (the old keyword epochs still
        works, with a DeprecationWarning).  lr : real > 0, Adam's learning rate.
    batch_size : int >= 1.  seed : int >= 0, numpy Generator or None (default 0).

    Returns
    -------
    (encoders, losses): a list of Sequential(Dense, activation), one per layer, trained, on
    X's device with X's dtype; and a list of each layer's per-epoch training losses. A
    ValueError when a loss leaves the float range (lr or X too large).
    """
    output = "sigmoid" if activation == "sigmoid" else "linear"
    rng = rng_from(seed)
    xp = backend.get_array_module(X)
    encoders, losses, data = [], [], X
    for layer, size in enumerate(sizes):
        ae = autoencoder(data.shape[1], size, activation=activation, output=output,
                         seed=rng, xp=xp, dtype=X.dtype)
        with np.errstate(over="ignore", invalid="ignore"):
            curve = fit(ae.model, MeanSquaredError(), data, data, lr=lr, n_epochs=n_epochs,
                        batch_size=batch_size, optimizer="adam", seed=rng)
        if not all(math.isfinite(loss) for loss in curve):
            raise ValueError(f"pretraining layer {layer} diverged: its loss left the float "
                             f"range ({curve[-1]}); lower lr (got {lr:g}) or scale X (entries "
                             f"up to {float(abs(X).max()):.3g})")
        losses.append(curve)
        encoders.append(ae.encoder)
        data = ae.encoder.forward(data)
    return encoders, losses


def _encoders(encoders, name):
    """A non-empty list of Sequentials, each holding a Dense layer, the width of each code
    the next one's input."""
    if isinstance(encoders, Sequential) or not isinstance(encoders, list | tuple) or not all(
            isinstance(e, Sequential) for e in encoders):
        raise TypeError(f"{name} must be a list of Sequentials (from pretrain_stack)")
    if not encoders:
        raise ValueError(f"{name} is empty")
    widths = [_dense_widths(e, f"{name}[{i}]") for i, e in enumerate(encoders)]
    for i in range(1, len(widths)):
        if widths[i][0] != widths[i - 1][1]:
            raise ValueError(f"{name}[{i}] takes {widths[i][0]} inputs, but {name}[{i - 1}] "
                             f"gives a code of {widths[i - 1][1]}")
    return encoders


@checked(encoders=Custom(_encoders), n_classes=Int(low=2), seed=Seed())
def stack_classifier(encoders, n_classes, *, seed=0):
    """A classifier: copies of the pretrained encoders, then a Dense layer to n_classes logits
    (for nn.SoftmaxCrossEntropy). The encoders given are not changed by training it.

    Parameters
    ----------
    encoders : non-empty list of Sequentials from pretrain_stack, each holding a Dense
        layer, one network each (not stacked), the width of each code the next one's input.
    n_classes : int >= 2.  seed : int >= 0, numpy Generator or None (default 0).

    Returns
    -------
    Sequential(encoder copies..., Dense(last code size, n_classes)), on the encoders' device
    with their dtype.
    """
    W = _dense_layers(encoders[-1])[-1].params["W"]
    xp = backend.get_array_module(W)
    head = Dense(W.shape[1], n_classes, seed=seed, xp=xp, dtype=W.dtype)
    return Sequential(*copy.deepcopy(list(encoders)), head)


def _dense_layers(model):
    """The Dense layers of model in order, searching nested Sequentials."""
    if isinstance(model, Sequential):
        return [d for layer in model.layers for d in _dense_layers(layer)]
    return [model] if isinstance(model, Dense) else []


def _dense_widths(encoder, name):
    """(inputs, code size) of an encoder: its first Dense layer's inputs, its last one's
    outputs; a ValueError naming it when it has no Dense layer or holds the weights of a
    stack of networks."""
    layers = _dense_layers(encoder)
    if not layers:
        raise ValueError(f"{name} has no Dense layer: an encoder needs one to make a code")
    if any(W.ndim != 2 for W in (d.params["W"] for d in layers)):
        raise ValueError(f"{name} is a stack of networks (3-D weights): give one network")
    return layers[0].params["W"].shape[0], layers[-1].params["W"].shape[1]
