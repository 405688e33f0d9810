import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from properties import names_the_argument
from sklearn.datasets import load_digits

from course_utils import backend
from course_utils.autoencoder import Autoencoder, autoencoder, pretrain_stack, stack_classifier
from course_utils.decomposition import pca, principal_angles
from course_utils.nn import (
    Dense,
    MeanSquaredError,
    Sequential,
    SoftmaxCrossEntropy,
    Tanh,
    fit,
    gradient_check,
    stack_models,
)
from course_utils.optim import SGD

DIGITS = load_digits().data / 16
LABELS = load_digits().target


def test_a_linear_autoencoder_recovers_the_pca_subspace():
    X = DIGITS - DIGITS.mean(axis=0)
    ae = autoencoder(64, 4, activation="linear", seed=0)
    optimizer = SGD(ae.model.params.values(), lr=0.5, momentum=0.9)
    losses = fit(ae.model, MeanSquaredError(), X, X, n_epochs=300, optimizer=optimizer)
    components = pca(X, 4).components
    decoder_rows = ae.decoder.layers[0].params["W"]  # (4, 64): the span of the outputs
    assert float(principal_angles(decoder_rows, components).max()) < np.radians(0.1)
    best = float(pca(X).explained_variance[4:].sum()) * (len(X) - 1) / len(X) / 2
    assert abs(losses[-1] - best) < 1e-4 * best  # PCA's error: the minimum (Eckart-Young)


def test_the_layers_train_as_nn_layers_do():
    ae = autoencoder(6, 2, hidden=(4,), activation="tanh", output="linear", seed=1)
    X = np.random.default_rng(0).random((5, 6))
    errors = gradient_check(ae.model, X, MeanSquaredError(), X)
    assert max(errors.values()) < 1e-6


def test_pretraining_builds_a_classifier_that_learns():
    X, y = DIGITS[:400], LABELS[:400]
    encoders, losses = pretrain_stack(X, [16, 8], n_epochs=5, lr=0.01, batch_size=32)
    assert [len(curve) for curve in losses] == [5, 5] and losses[0][-1] < losses[0][0]
    before = [p.copy() for e in encoders for p in e.params.values()]
    clf = stack_classifier(encoders, 10)
    curve = fit(clf, SoftmaxCrossEntropy(), X, y, lr=0.02, n_epochs=60, batch_size=50,
                optimizer="adam")
    assert curve[-1] < curve[0] / 2
    after = [p for e in encoders for p in e.params.values()]
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 6), st.integers(1, 4), st.lists(st.integers(1, 5), max_size=2),
       st.sampled_from(["linear", "sigmoid", "tanh", "relu"]), st.sampled_from(["sigmoid",
                                                                                 "linear"]))
def test_autoencoders_have_the_shapes_asked_for(n_in, code_size, hidden, activation, output):
    ae = autoencoder(n_in, code_size, hidden, activation=activation, output=output)
    assert isinstance(ae, Autoencoder)
    X = np.random.default_rng(0).random((3, n_in))
    code = ae.encoder(X)
    assert code.shape == (3, code_size) and ae.model(X).shape == (3, n_in)
    np.testing.assert_allclose(ae.decoder(code), ae.model(X))
    if output == "sigmoid" and activation != "linear":
        assert np.all((ae.model(X) >= 0) & (ae.model(X) <= 1))
    encoders, _ = pretrain_stack(X, [code_size], activation="tanh" if activation == "linear"
                                 else activation, n_epochs=1, batch_size=2)
    clf = stack_classifier(encoders, 3)
    assert clf(X).shape == (3, 3) and isinstance(clf.layers[-1], Dense)


def test_encoders_without_a_dense_layer_or_of_mismatched_widths_are_refused():
    """Issue 27: stack_classifier([Sequential(Tanh())], 3) raised IndexError; encoders whose
    widths do not chain built a network that failed only when called."""
    with pytest.raises(ValueError, match=r"encoders\[0\] has no Dense layer"):
        stack_classifier([Sequential(Tanh())], 3)
    with pytest.raises(ValueError, match=r"encoders\[1\] takes 5 inputs"):
        stack_classifier([Sequential(Dense(4, 3), Tanh()), Sequential(Dense(5, 2))], 3)
    with pytest.raises(ValueError, match="stack of networks"):
        stack_classifier([stack_models([Sequential(Dense(4, 3)), Sequential(Dense(4, 3))])], 3)
    nested = stack_classifier([Sequential(Sequential(Dense(4, 3), Tanh()))], 5)
    assert nested(np.ones((2, 4))).shape == (2, 5)


def test_an_autoencoder_is_frozen_and_the_old_keyword_epochs_warns():
    """Issue 28: Autoencoder is a frozen dataclass; pretrain_stack(epochs=) is n_epochs=."""
    import dataclasses
    ae = autoencoder(8, 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ae.model = ae.encoder
    X = DIGITS[:20]
    with pytest.warns(DeprecationWarning, match=r"pretrain_stack\(n_epochs=...\)"):
        _, old = pretrain_stack(X, [3], epochs=2, seed=4)
    _, new = pretrain_stack(X, [3], n_epochs=2, seed=4)
    assert old == new and len(new[0]) == 2


def test_xp_is_a_module_and_float32_data_give_float32_encoders():
    """xp="numpy" raised AttributeError; float32 data gave float64 encoders."""
    with pytest.raises(TypeError, match="xp must be None"):
        autoencoder(8, 2, xp="numpy")
    with pytest.raises(TypeError, match="dtype"):
        autoencoder(8, 2, dtype=np.int64)
    encoders, _ = pretrain_stack(DIGITS[:40].astype(np.float32), [4], n_epochs=1)
    assert encoders[0].params["0.W"].dtype == np.float32


def test_data_a_sigmoid_cannot_reach_and_overflowing_losses_are_errors():
    """X in [0, 16] trained a sigmoid decoder to loss 73244 without a word; X * 1e300 with
    tanh returned losses of inf."""
    with pytest.raises(ValueError, match=r"X must hold values in \[0, 1\]"):
        pretrain_stack(DIGITS[:30] * 16, [4], n_epochs=1)
    with pytest.raises(ValueError, match="diverged"):
        pretrain_stack(DIGITS[:30] * 1e300, [4], activation="tanh", n_epochs=1)
    _, losses = pretrain_stack(DIGITS[:30] * 16, [4], activation="tanh", n_epochs=3)
    assert all(np.isfinite(curve).all() for curve in losses)


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(1, 6), min_size=2, max_size=4), st.integers(2, 5),
       st.sampled_from([np.float32, np.float64]))
def test_a_chain_of_encoders_stacks_and_a_broken_one_is_refused(sizes, n_classes, dtype):
    X = np.random.default_rng(0).random((4, 7)).astype(dtype)
    encoders, losses = pretrain_stack(X, sizes, n_epochs=1, batch_size=2)
    assert all(np.isfinite(curve).all() for curve in losses)
    clf = stack_classifier(encoders, n_classes)
    out = clf(X)
    assert out.shape == (4, n_classes) and out.dtype == dtype
    with pytest.raises(ValueError, match=r"encoders\[1\] takes 7 inputs"):  # codes are <= 6
        stack_classifier([encoders[1], encoders[0]], n_classes)


test_bad_input_names_the_argument = names_the_argument({
    "code_size": (lambda v: autoencoder(64, v), [0, -2, 2.5, "8", True]),
    "n_in": (lambda v: autoencoder(v, 2), [0, 1.0]),
    "hidden[0]": (lambda v: autoencoder(8, 2, [v]), [0, 1.5]),
    "hidden": (lambda v: autoencoder(8, 2, v), [3, "ab"]),
    "activation": (lambda v: autoencoder(8, 2, activation=v), ["softmax", None]),
    "output": (lambda v: autoencoder(8, 2, output=v), ["relu"]),
    "X": (lambda v: pretrain_stack(v, [2]), [np.array([[np.nan, 1.0]]), np.ones(3)]),
    "sizes": (lambda v: pretrain_stack(DIGITS[:5], v), [[], 4]),
    "sizes[0]": (lambda v: pretrain_stack(DIGITS[:5], [v]), [0, 2.0]),
    "n_classes": (lambda v: stack_classifier(pretrain_stack(DIGITS[:5], [2], n_epochs=0)[0],
                                             v), [1, 2.0]),
    "n_epochs": (lambda v: pretrain_stack(DIGITS[:5], [2], n_epochs=v), [-1, 1.5]),
    "lr": (lambda v: pretrain_stack(DIGITS[:5], [2], lr=v), [0.0, -1.0, "fast"]),
    "batch_size": (lambda v: pretrain_stack(DIGITS[:5], [2], batch_size=v), [0, 2.5]),
    "Autoencoder.model": (lambda v: Autoencoder(Sequential(), Sequential(), v), [None, [1]]),
    "encoders": (lambda v: stack_classifier(v, 3), [[], None, [Dense(2, 2)], [Sequential()],
                                                   [Sequential(Tanh())]]),
    "xp": (lambda v: autoencoder(8, 2, xp=v), ["numpy", 3]),
    "dtype": (lambda v: autoencoder(8, 2, dtype=v), [np.int64, "junk"]),
    "X ": (lambda v: pretrain_stack(v, [2]), [DIGITS[:5] * 16, -DIGITS[:5]]),
})


@pytest.mark.gpu
def test_autoencoders_follow_their_data_onto_the_gpu():
    import cupy
    X = DIGITS[:64]
    cpu, _ = pretrain_stack(X, [8], n_epochs=2, batch_size=16, seed=2)
    gpu, _ = pretrain_stack(cupy.asarray(X), [8], n_epochs=2, batch_size=16, seed=2)
    code = gpu[0](cupy.asarray(X))
    assert isinstance(code, cupy.ndarray)
    np.testing.assert_allclose(backend.to_numpy(code), cpu[0](X), atol=1e-10)
    backend.use("gpu")
    ae = autoencoder(64, 3)
    assert isinstance(ae.model.params["0.0.W"], cupy.ndarray)
