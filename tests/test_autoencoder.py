import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from properties import names_the_argument
from sklearn.datasets import load_digits

from course_utils import backend
from course_utils.autoencoder import Autoencoder, autoencoder, pretrain_stack, stack_classifier
from course_utils.decomposition import pca, principal_angles
from course_utils.nn import Dense, MeanSquaredError, SoftmaxCrossEntropy, fit, gradient_check
from course_utils.optim import SGD

DIGITS = load_digits().data / 16
LABELS = load_digits().target


def test_a_linear_autoencoder_recovers_the_pca_subspace():
    X = DIGITS - DIGITS.mean(axis=0)
    ae = autoencoder(64, 4, activation="linear", seed=0)
    optimizer = SGD(ae.model.params.values(), lr=0.5, momentum=0.9)
    losses = fit(ae.model, MeanSquaredError(), X, X, epochs=300, optimizer=optimizer)
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
    encoders, losses = pretrain_stack(X, [16, 8], epochs=5, lr=0.01, batch_size=32)
    assert [len(curve) for curve in losses] == [5, 5] and losses[0][-1] < losses[0][0]
    before = [p.copy() for e in encoders for p in e.params.values()]
    clf = stack_classifier(encoders, 10)
    curve = fit(clf, SoftmaxCrossEntropy(), X, y, lr=0.02, epochs=60, batch_size=50,
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
                                 else activation, epochs=1, batch_size=2)
    clf = stack_classifier(encoders, 3)
    assert clf(X).shape == (3, 3) and isinstance(clf.layers[-1], Dense)


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
    "n_classes": (lambda v: stack_classifier(pretrain_stack(DIGITS[:5], [2], epochs=0)[0], v),
                  [1, 2.0]),
    "encoders": (lambda v: stack_classifier(v, 3), [[], None, [Dense(2, 2)]]),
})


@pytest.mark.gpu
def test_autoencoders_follow_their_data_onto_the_gpu():
    import cupy
    X = DIGITS[:64]
    cpu, _ = pretrain_stack(X, [8], epochs=2, batch_size=16, seed=2)
    gpu, _ = pretrain_stack(cupy.asarray(X), [8], epochs=2, batch_size=16, seed=2)
    code = gpu[0](cupy.asarray(X))
    assert isinstance(code, cupy.ndarray)
    np.testing.assert_allclose(backend.to_numpy(code), cpu[0](X), atol=1e-10)
    backend.use("gpu")
    ae = autoencoder(64, 3)
    assert isinstance(ae.model.params["0.0.W"], cupy.ndarray)
