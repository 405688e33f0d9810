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
from typing import NamedTuple

from . import backend
from ._checks import check_array, check_choice, check_int, rng_from
from .nn import ACTIVATIONS, Dense, MeanSquaredError, Sequential, fit

OUTPUTS = ("sigmoid", "linear")


class Autoencoder(NamedTuple):
    """encoder (n_in → code_size), decoder (code_size → n_in) and model, the two in one
    Sequential that shares their layers (training model trains both)."""

    encoder: Sequential
    decoder: Sequential
    model: Sequential


def _check_code_size(code_size):
    return check_int(code_size, "code_size")


def _layers(sizes, activation, last, rng, xp):
    """Dense layers of sizes with the activation after each but the last, then `last`."""
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(Dense(n_in, n_out, seed=rng, xp=xp))
        act = activation if i < len(sizes) - 2 else last
        if act != "linear":
            layers.append(ACTIVATIONS[act]())
    return layers


def autoencoder(n_in, code_size, hidden=(), *, activation="sigmoid", output="sigmoid",
                seed=0, xp=None):
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
    seed : int >= 0, numpy Generator or None (default 0).  xp : numpy, cupy or None.

    Returns
    -------
    Autoencoder (encoder, decoder, model).
    """
    n_in = check_int(n_in, "n_in")
    code_size = _check_code_size(code_size)
    if isinstance(hidden, str) or not hasattr(hidden, "__iter__"):
        raise TypeError(f"hidden must be a sequence of ints, got {type(hidden).__name__}")
    hidden = [check_int(h, f"hidden[{i}]") for i, h in enumerate(hidden)]
    activation = check_choice(activation, "activation", {"linear", *ACTIVATIONS})
    output = check_choice(output, "output", OUTPUTS)
    if activation == "linear":
        output = "linear"
    rng = rng_from(seed)
    xp = xp or backend.xp()
    sizes = [n_in, *hidden, code_size]
    encoder = Sequential(*_layers(sizes, activation, activation, rng, xp))
    decoder = Sequential(*_layers(sizes[::-1], activation, output, rng, xp))
    return Autoencoder(encoder, decoder, Sequential(encoder, decoder))


def pretrain_stack(X, sizes, *, activation="sigmoid", epochs=50, lr=0.01, batch_size=64,
                   seed=0):
    """Greedy layer-wise pretraining: an autoencoder X → sizes[0] → X trained with Adam, its
    code then the data of the next, X → sizes[0] → sizes[1] → sizes[0], and so on.

    Parameters
    ----------
    X : (n_samples, n_features) array in [0, 1] (the first decoder ends in a sigmoid).
    sizes : sequence of ints >= 1, the code size of each layer in turn.
    activation : one of nn's ACTIVATIONS (the codes of "sigmoid" lie in [0, 1], fit for the
        next layer's sigmoid output).
    epochs : int >= 0 per layer.  lr : real > 0, Adam's learning rate.
    batch_size : int >= 1.  seed : int >= 0, numpy Generator or None (default 0).

    Returns
    -------
    (encoders, losses): a list of Sequential(Dense, activation), one per layer, trained, on
    X's device; and a list of each layer's per-epoch training losses.
    """
    X = check_array(X, "X", ndim=(2,))
    if isinstance(sizes, str) or not hasattr(sizes, "__iter__"):
        raise TypeError(f"sizes must be a sequence of ints, got {type(sizes).__name__}")
    sizes = [check_int(s, f"sizes[{i}]") for i, s in enumerate(sizes)]
    if not sizes:
        raise ValueError("sizes is empty: give at least one code size")
    activation = check_choice(activation, "activation", ACTIVATIONS)
    output = "sigmoid" if activation == "sigmoid" else "linear"
    rng = rng_from(seed)
    xp = backend.get_array_module(X)
    encoders, losses, data = [], [], X
    for size in sizes:
        ae = autoencoder(data.shape[1], size, activation=activation, output=output,
                         seed=rng, xp=xp)
        losses.append(fit(ae.model, MeanSquaredError(), data, data, lr=lr, epochs=epochs,
                          batch_size=batch_size, optimizer="adam", seed=rng))
        encoders.append(ae.encoder)
        data = ae.encoder.forward(data)
    return encoders, losses


def stack_classifier(encoders, n_classes, *, seed=0):
    """A classifier: copies of the pretrained encoders, then a Dense layer to n_classes logits
    (for nn.SoftmaxCrossEntropy). The encoders given are not changed by training it.

    Parameters
    ----------
    encoders : non-empty list of Sequentials from pretrain_stack.
    n_classes : int >= 2.  seed : int >= 0, numpy Generator or None (default 0).

    Returns
    -------
    Sequential(encoder copies..., Dense(last code size, n_classes)), on the encoders' device.
    """
    if isinstance(encoders, Sequential) or not isinstance(encoders, list | tuple) or not all(
            isinstance(e, Sequential) for e in encoders):
        raise TypeError("encoders must be a list of Sequentials (from pretrain_stack)")
    if not encoders:
        raise ValueError("encoders is empty")
    n_classes = check_int(n_classes, "n_classes", low=2)
    W = [p for p in encoders[-1].params.values() if p.ndim == 2][-1]
    xp = backend.get_array_module(W)
    head = Dense(W.shape[1], n_classes, seed=seed, xp=xp, dtype=W.dtype)
    return Sequential(*copy.deepcopy(list(encoders)), head)

