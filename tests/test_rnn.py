import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils import backend, rnn
from course_utils.datasets import encode_chars, one_hot, parity_data, windows
from course_utils.optim import clip_grad_norm
from course_utils.rnn import (
    GRU,
    LSTM,
    RNN,
    Embedding,
    SequenceModel,
    check_sequences,
    fit,
    gradient_check,
    gradient_norms_through_time,
    recurrent_layer,
    sample_text,
)

FAST = settings(max_examples=15, deadline=None)
TORCH_NAMES = {"W_ih": "weight_ih_l0", "W_hh": "weight_hh_l0", "b_ih": "bias_ih_l0",
               "b_hh": "bias_hh_l0"}


def sequences(T=5, B=3, n_in=4, seed=1):
    return np.random.default_rng(seed).standard_normal((T, B, n_in))


# ----------------------------------------------------------------------------- references


@pytest.mark.parametrize("cell", rnn.CELLS)
@pytest.mark.parametrize("with_state", [False, True])
def test_outputs_and_every_gradient_match_torch(cell, with_state):
    torch = pytest.importorskip("torch")
    T, B, n_in, H = 6, 3, 4, 5
    rng = np.random.default_rng(2)
    x, dy = rng.standard_normal((T, B, n_in)), rng.standard_normal((T, B, H))
    ours = recurrent_layer(cell, n_in, H, seed=7)
    theirs = getattr(torch.nn, {"rnn": "RNN", "gru": "GRU", "lstm": "LSTM"}[cell])(
        n_in, H, dtype=torch.float64)
    with torch.no_grad():
        for k, name in TORCH_NAMES.items():
            getattr(theirs, name).copy_(torch.from_numpy(ours.params[k]))
    state = None
    if with_state:
        h0, c0 = rng.standard_normal((B, H)), rng.standard_normal((B, H))
        state = (h0, c0) if cell == "lstm" else h0
    xt = torch.from_numpy(x).requires_grad_()
    t_state = None if state is None else (
        tuple(torch.from_numpy(s)[None] for s in state) if cell == "lstm"
        else torch.from_numpy(state)[None])
    out, final = theirs(xt, t_state)
    (out * torch.from_numpy(dy)).sum().backward()
    y = ours(x, state)
    dx = ours.backward(dy)
    np.testing.assert_allclose(y, out.detach().numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=0, atol=1e-10)
    for k, name in TORCH_NAMES.items():
        np.testing.assert_allclose(ours.grads[k], getattr(theirs, name).grad.numpy(), rtol=0,
                                   atol=1e-10, err_msg=k)
    h_final = final[0] if cell == "lstm" else final
    ours_final = ours.state[0] if cell == "lstm" else ours.state
    np.testing.assert_allclose(ours_final, h_final[0].detach().numpy(), atol=1e-12)


@pytest.mark.parametrize("cell", rnn.CELLS)
def test_gradient_check_of_every_parameter_of_every_cell(cell):
    x = sequences()
    errors = gradient_check(recurrent_layer(cell, 4, 5, seed=3), x)
    assert set(errors) == {"x", "W_ih", "W_hh", "b_ih", "b_hh"}
    assert max(errors.values()) < 1e-7, errors
    rng = np.random.default_rng(0)
    for readout, y in [("all", rng.integers(0, 3, (5, 3))), ("last", rng.integers(0, 3, 3))]:
        model = SequenceModel(cell, 4, 5, 3, readout=readout, seed=1)
        errors = gradient_check(model, x, y)
        assert len(errors) == 7 and max(errors.values()) < 1e-7, (readout, errors)


def test_by_hand_recurrences_for_one_step():
    """One step of each cell written out from the equations, in plain NumPy."""
    rng = np.random.default_rng(5)
    x, h, c = rng.standard_normal((1, 2, 3)), rng.standard_normal((2, 4)), \
        rng.standard_normal((2, 4))

    def sig(a):
        return 1 / (1 + np.exp(-a))

    layer = RNN(3, 4, seed=1)
    p = layer.params
    expected = np.tanh(x[0] @ p["W_ih"].T + p["b_ih"] + h @ p["W_hh"].T + p["b_hh"])
    np.testing.assert_allclose(layer(x, h)[0], expected, atol=1e-14)
    layer = GRU(3, 4, seed=1)
    p = layer.params
    W_ir, W_iz, W_in = np.split(p["W_ih"], 3)
    W_hr, W_hz, W_hn = np.split(p["W_hh"], 3)
    b_ir, b_iz, b_in = np.split(p["b_ih"], 3)
    b_hr, b_hz, b_hn = np.split(p["b_hh"], 3)
    r = sig(x[0] @ W_ir.T + b_ir + h @ W_hr.T + b_hr)
    z = sig(x[0] @ W_iz.T + b_iz + h @ W_hz.T + b_hz)
    n = np.tanh(x[0] @ W_in.T + b_in + r * (h @ W_hn.T + b_hn))
    np.testing.assert_allclose(layer(x, h)[0], (1 - z) * n + z * h, atol=1e-14)
    layer = LSTM(3, 4, seed=1)
    p = layer.params
    a = x[0] @ p["W_ih"].T + p["b_ih"] + h @ p["W_hh"].T + p["b_hh"]
    i, f, g, o = np.split(a, 4, axis=1)
    c_new = sig(f) * c + sig(i) * np.tanh(g)
    np.testing.assert_allclose(layer(x, (h, c))[0], sig(o) * np.tanh(c_new), atol=1e-14)
    np.testing.assert_allclose(layer.state[1], c_new, atol=1e-14)


def test_clip_grad_norm_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal((3, 4)), rng.standard_normal(5)]
    params = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad = torch.from_numpy(g.copy())
    theirs = float(torch.nn.utils.clip_grad_norm_(params, 0.5))
    ours = clip_grad_norm(grads, 0.5)
    assert math.isclose(ours, theirs, rel_tol=1e-12)
    for p, g in zip(params, grads, strict=True):  # torch divides by norm + 1e-6, we by norm
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-5)


def test_gradients_vanish_for_a_small_simple_rnn_and_less_for_an_lstm():
    x = sequences(T=40, B=4, n_in=3)
    small = RNN(3, 8, seed=0)
    norms = gradient_norms_through_time(small, x)
    assert norms.shape == (40,) and math.isclose(norms[-1], 1.0)
    assert norms[0] < 1e-6 * norms[-1]  # vanished over 40 steps
    big = RNN(3, 8, seed=0)
    big.params["W_hh"] *= 8
    assert gradient_norms_through_time(big, x)[0] > 1e3 * norms[0]


def test_training_learns_a_short_memory_task_and_sampling_continues_text():
    x, y = parity_data(256, 3, seed=0, xp=np)
    model = SequenceModel("gru", 1, 8, 2, readout="last", seed=0)
    losses = fit(model, x, y, n_iter=150, batch_size=64, lr=0.05, seed=0)
    assert losses[-1] < 0.3 * losses[0]
    assert (model.forward(x).argmax(axis=1) == y).mean() > 0.95
    ids, vocab = encode_chars("abcabcabcabcabcabcabcabc")
    inputs, targets = windows(ids, 6, stride=1)
    lm = SequenceModel("lstm", 3, 8, 3, seed=0)
    fit(lm, one_hot(inputs, 3), targets, n_iter=120, batch_size=8, lr=0.05, seed=0)
    assert sample_text(lm, vocab, "abc", 9, temperature=0.1) == "abcabcabcabc"


def test_training_that_overflows_at_once_stops_with_a_message():
    x, y = parity_data(16, 5, seed=0, xp=np)
    model = SequenceModel("rnn", 1, 4, 2, readout="last", seed=0)
    model.out.params["W"][:, 0] = 1e308  # logits beyond float64
    with pytest.raises(ValueError, match="x overflows the model: the loss of the first batch"):
        fit(model, x, y, n_iter=3, clip=None)


# ----------------------------------------------------------------------------- bad input


def test_bad_input_names_the_argument():
    layer = LSTM(3, 4)
    with pytest.raises(ValueError, match="x must be 3-D"):
        layer(np.ones((5, 3)))
    with pytest.raises(ValueError, match="x has 2 features"):
        layer(np.ones((5, 2, 2)))
    with pytest.raises(ValueError, match="x contains NaN"):
        layer(np.full((2, 2, 3), np.nan))
    with pytest.raises(TypeError, match="state must be a pair"):
        layer(np.ones((2, 2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="state must have shape"):
        RNN(3, 4)(np.ones((2, 2, 3)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match="n_hidden must be at least 1"):
        GRU(3, 0)
    with pytest.raises(TypeError, match="n_hidden must be an int"):
        RNN(3, 2.5)
    with pytest.raises(ValueError, match="cell must be one of"):
        recurrent_layer("transformer", 3, 4)
    model = SequenceModel("rnn", 3, 4, 3)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        sample_text(model, "abc", "abz", 3)
    with pytest.raises(ValueError, match="vocab has 2 characters"):
        sample_text(model, "ab", "a", 3)
    with pytest.raises(ValueError, match="y must have shape"):
        fit(model, np.ones((4, 2, 3)), np.zeros((4, 3), dtype=int))
    with pytest.raises(ValueError, match="y must hold ints in"):
        fit(model, np.ones((4, 2, 3)), np.full((4, 2), 3))
    with pytest.raises(ValueError, match="length must be between"):
        windows(np.arange(5), 5)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        encode_chars("abd", "abc")
    with pytest.raises(ValueError, match="max_norm"):
        clip_grad_norm([np.ones(2)], 0)


# ----------------------------------------------------------------------------- properties


@FAST
@given(cell=st.sampled_from(rnn.CELLS), T=st.integers(1, 6), B=st.integers(1, 4),
       n_in=st.integers(1, 4), H=st.integers(1, 5), scale=st.floats(0.01, 1e3))
def test_layers_keep_shapes_and_bounds_for_any_finite_input(cell, T, B, n_in, H, scale):
    x = sequences(T, B, n_in) * scale
    layer = {"rnn": RNN, "gru": GRU, "lstm": LSTM}[cell](n_in, H, seed=1)
    h = layer(x)
    assert h.shape == (T, B, H) and np.all(np.abs(h) <= 1)
    dx = layer.backward(np.ones_like(h))
    assert dx.shape == x.shape and np.isfinite(dx).all()
    assert all(np.isfinite(g).all() and g.shape == layer.params[k].shape
               for k, g in layer.grads.items())
    norms = gradient_norms_through_time(layer, x)
    assert norms.shape == (T,) and np.isfinite(norms).all()
    assert check_sequences(x, "x", n_in).shape == x.shape
    assert recurrent_layer(cell, n_in, H, seed=1).params["W_hh"].shape == \
        (rnn.GATES[cell] * H, H)


@FAST
@given(cell=st.sampled_from(rnn.CELLS), readout=st.sampled_from(["all", "last"]),
       seed=st.integers(0, 100))
def test_sequence_models_pass_their_gradient_check(cell, readout, seed):
    x = sequences(3, 2, 2, seed=seed)
    model = SequenceModel(cell, 2, 3, 2, readout=readout, seed=seed)
    assert model(x).shape == ((3, 2, 2) if readout == "all" else (2, 2))
    assert max(gradient_check(model, x, seed=seed).values()) < 1e-6


@FAST
@given(shapes=st.lists(st.tuples(st.integers(1, 4), st.integers(1, 4)), min_size=1,
                       max_size=4), scale=st.floats(1e-3, 1e3), max_norm=st.floats(0.01, 10))
def test_clipping_bounds_the_global_norm_and_keeps_directions(shapes, scale, max_norm):
    rng = np.random.default_rng(len(shapes))
    grads = [rng.standard_normal(s) * scale for s in shapes]
    before = [g.copy() for g in grads]
    norm = clip_grad_norm(grads, max_norm)
    assert math.isclose(norm, math.sqrt(sum((g * g).sum() for g in before)), rel_tol=1e-9)
    after = math.sqrt(sum((g * g).sum() for g in grads))
    assert after <= max_norm * (1 + 1e-9) and math.isclose(after, min(norm, max_norm),
                                                           rel_tol=1e-9)
    factor = after / norm
    for g, b in zip(grads, before, strict=True):
        np.testing.assert_allclose(g, b * factor, rtol=1e-12)


@FAST
@given(text=st.text(alphabet="ab c\nde", min_size=3, max_size=40), length=st.integers(1, 2),
       n_classes=st.integers(1, 6))
def test_encoding_windows_and_one_hot(text, length, n_classes):
    ids, vocab = encode_chars(text)
    assert "".join(vocab[i] for i in ids) == text and vocab == "".join(sorted(set(text)))
    inputs, targets = windows(ids, length, stride=1)
    assert inputs.shape == (length, len(text) - length)
    np.testing.assert_array_equal(inputs[1:], targets[:-1])
    labels = ids % n_classes
    hot = one_hot(labels, n_classes)
    assert hot.shape == (len(text), n_classes)
    np.testing.assert_array_equal(hot.argmax(axis=1), labels)
    np.testing.assert_array_equal(hot.sum(axis=1), 1)


@FAST
@given(n=st.integers(1, 30), length=st.integers(1, 9), seed=st.integers(0, 2**32))
def test_parity_data_counts_the_ones(n, length, seed):
    x, y = parity_data(n, length, seed=seed, xp=np)
    assert x.shape == (length, n, 1) and set(np.unique(x)) <= {0.0, 1.0}
    np.testing.assert_array_equal(y, x[:, :, 0].sum(axis=0) % 2)
    x_run, y_run = parity_data(n, length, running=True, seed=seed, xp=np)
    np.testing.assert_array_equal(x_run, x)
    np.testing.assert_array_equal(y_run[-1], y)


@FAST
@given(steps=st.integers(1, 3), lr=st.floats(1e-4, 0.1), cell=st.sampled_from(rnn.CELLS),
       temperature=st.floats(0.1, 5), seed=st.integers(0, 50))
def test_fit_returns_finite_losses_and_samples_stay_in_the_vocabulary(steps, lr, cell,
                                                                      temperature, seed):
    ids, vocab = encode_chars("the raven, nevermore")
    inputs, targets = windows(ids, 4, stride=2)
    model = SequenceModel(cell, len(vocab), 4, len(vocab), seed=seed)
    losses = fit(model, one_hot(inputs, len(vocab)), targets, n_iter=steps, lr=lr, seed=seed,
                 batch_size=3, optimizer="sgd" if seed % 2 else "adam")
    assert len(losses) == steps and all(math.isfinite(v) and v > 0 for v in losses)
    text = sample_text(model, vocab, "the", 6, temperature=temperature, seed=seed)
    assert text.startswith("the") and len(text) == 9 and set(text) <= set(vocab)


@FAST
@given(bad=st.sampled_from([0, -1, 2.0, True, "3"]))
def test_bad_sizes_name_the_argument(bad):
    for cls, name in [(RNN, "n_hidden"), (GRU, "n_hidden"), (LSTM, "n_hidden")]:
        with pytest.raises((TypeError, ValueError), match=name):
            cls(2, bad)
    with pytest.raises((TypeError, ValueError), match="n_out"):
        SequenceModel("gru", 2, 3, bad)
    with pytest.raises((TypeError, ValueError), match="n_classes"):
        one_hot([0], bad)
    with pytest.raises((TypeError, ValueError), match="length"):
        parity_data(3, bad)


# ----------------------------------------------------------------------------- edges (issue 27)

LAYER_CLASSES = {"rnn": RNN, "gru": GRU, "lstm": LSTM}


@pytest.mark.parametrize("make", [
    lambda xp: RNN(2, 3, xp=xp), lambda xp: GRU(2, 3, xp=xp), lambda xp: LSTM(2, 3, xp=xp),
    lambda xp: recurrent_layer("gru", 2, 3, xp=xp),
    lambda xp: SequenceModel("lstm", 2, 3, 2, xp=xp),
    lambda xp: SequenceModel("rnn", 2, 3, 2, n_words=5, xp=xp),
    lambda xp: Embedding(4, 2, xp=xp), lambda xp: parity_data(3, 2, xp=xp),
    lambda xp: check_sequences(np.ones((1, 1, 1)), "x", xp=xp),
])
@pytest.mark.parametrize("bad", ["numpy", 5, math])
def test_xp_that_is_not_a_module_names_the_argument(make, bad):  # was AttributeError
    with pytest.raises(TypeError, match="xp must be None"):
        make(bad)


@pytest.mark.parametrize("cell", rnn.CELLS)
def test_backward_before_forward_or_of_the_wrong_shape_is_a_clear_error(cell):
    layer = LAYER_CLASSES[cell](2, 3)
    with pytest.raises(ValueError, match="dy: .*backward needs a forward pass first"):
        layer.backward(np.ones((2, 1, 3)))  # was AttributeError
    layer(np.ones((2, 1, 2)))
    with pytest.raises(ValueError, match=r"dy must have the shape of the last output, \(2, 1, 3\)"):
        layer.backward(np.ones((3, 1, 3)))  # was IndexError or a broadcast error
    model = SequenceModel(cell, 2, 3, 4, readout="last")
    assert model.grads == {}  # was KeyError
    with pytest.raises(ValueError, match="dz: SequenceModel.backward needs a forward pass"):
        model.backward(np.ones((1, 4)))  # was AttributeError
    model(np.ones((2, 1, 2)))
    with pytest.raises(ValueError, match=r"dz must have the shape of the last output, \(1, 4\)"):
        model.backward(np.ones((2, 1, 4)))
    model.backward(np.ones((1, 4)))
    assert set(model.grads) == set(model.params)


def test_check_sequences_checks_its_own_arguments():
    with pytest.raises(TypeError, match="n_in must be an int"):
        check_sequences(np.ones((1, 1, 1)), "x", n_in="1")  # was "the layer takes 1"
    with pytest.raises(TypeError, match="name must be a str"):
        check_sequences(np.ones((1, 1, 1)), 3)


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
@pytest.mark.parametrize("lr", [1e300, 1e200, 1e10])
def test_a_diverging_fit_stops_and_names_lr(optimizer, lr):
    """Issue 27: lr=1e300 gave losses of 1e300 and weights of 4e300, finite, without an error."""
    x, y = parity_data(16, 4, seed=0, xp=np)
    model = SequenceModel("gru", 1, 4, 2, readout="last", seed=0)
    with pytest.raises(ValueError, match=r"training diverged .*lower lr \(now"):
        fit(model, x, y, n_iter=5, lr=lr, optimizer=optimizer, clip=None)


def test_fit_refuses_a_progress_that_is_not_a_bool():
    x, y = parity_data(4, 2, seed=0, xp=np)
    with pytest.raises(TypeError, match="progress must be True or False"):
        fit(SequenceModel("rnn", 1, 2, 2, readout="last"), x, y, n_iter=1, progress="yes")


def test_sampling_at_extreme_temperatures_and_with_overflowing_logits():
    model = SequenceModel("gru", 3, 4, 3, seed=0)
    model.out.params["W"] *= 400  # logits of hundreds: logits / 1e-300 was inf - inf = NaN
    cold = {sample_text(model, "abc", "ab", 8, temperature=1e-300, seed=s) for s in range(4)}
    assert len(cold) == 1  # the likeliest character every time: no randomness left
    hot = sample_text(model, "abc", "ab", 30, temperature=1e300, seed=0)
    assert set(hot[2:]) == set("abc")  # uniform: every character drawn
    huge = SequenceModel("rnn", 3, 4, 3, seed=0)
    huge.rnn.params["b_ih"][:] = 50.0  # every state 1
    huge.out.params["W"][:] = 1e308  # logits 4e308: beyond float64
    with pytest.raises(ValueError, match="model overflows"):
        sample_text(huge, "abc", "ab", 3)
    with pytest.raises(ValueError, match="prefix must be a non-empty str"):
        sample_text(model, "abc", "", 3)


def test_an_embedding_is_a_one_hot_product_and_its_gradient_a_scatter_add():
    rng = np.random.default_rng(0)
    table = Embedding(6, 3, seed=1)
    ids = rng.integers(0, 6, (4, 5))
    y = table(ids)
    np.testing.assert_array_equal(y, one_hot(ids, 6) @ table.params["E"])
    dy = rng.standard_normal(y.shape)
    table.backward(dy)
    np.testing.assert_allclose(table.grads["E"], one_hot(ids, 6).reshape(-1, 6).T
                               @ dy.reshape(-1, 3), atol=1e-13)
    with pytest.raises(ValueError, match="ids must hold ints in"):
        table(np.array([6]))
    with pytest.raises(TypeError, match="ids must hold ints"):
        table(np.array([0.0]))
    with pytest.raises(ValueError, match="forward pass first"):
        Embedding(3, 2).backward(np.ones((1, 2)))
    with pytest.raises(ValueError, match=r"dy must have shape \(4, 5, 3\)"):
        table.backward(np.ones((4, 5, 2)))


@pytest.mark.parametrize("cell", rnn.CELLS)
@pytest.mark.parametrize("readout", ["all", "last"])
def test_a_model_that_reads_word_ids_passes_its_gradient_check_trains_and_samples(cell, readout):
    rng = np.random.default_rng(1)
    ids = rng.integers(0, 5, (4, 3))
    model = SequenceModel(cell, 3, 4, 5, readout=readout, n_words=5, seed=2)
    y = rng.integers(0, 5, (4, 3) if readout == "all" else 3)
    errors = gradient_check(model, ids, y)
    assert "x" not in errors and "embed.E" in errors and max(errors.values()) < 1e-7, errors
    assert max(gradient_check(model, ids).values()) < 1e-7
    twin = SequenceModel(cell, 5, 4, 5, readout=readout, seed=2)  # one-hot input, same rest
    for k in ("W_hh", "b_ih", "b_hh"):
        twin.rnn.params[k][...] = model.rnn.params[k]
    twin.rnn.params["W_ih"][...] = model.rnn.params["W_ih"] @ model.embed.params["E"].T
    twin.out.params["W"][...], twin.out.params["b"][...] = model.out.params["W"], \
        model.out.params["b"]
    np.testing.assert_allclose(model(ids), twin(one_hot(ids, 5)), atol=1e-12)
    losses = fit(model, ids, y, n_iter=3, batch_size=2)
    assert len(losses) == 3 and all(math.isfinite(v) for v in losses)
    with pytest.raises(TypeError, match="x must hold ints"):
        model(np.ones((4, 3, 3)))
    with pytest.raises(ValueError, match="x must be 2-D"):
        fit(model, ids[:, :, None], y)
    if readout == "all":
        assert set(sample_text(model, "abcde", "ab", 5)) <= set("abcde")


def test_a_word_language_model_learns_a_repeated_sentence():
    words = ("the cat sat on the mat " * 40).split()
    index = {w: i for i, w in enumerate(sorted(set(words)))}
    stream = np.array([index[w] for w in words])
    inputs, targets = windows(stream, 6, stride=3)
    model = SequenceModel("gru", 4, 8, len(index), n_words=len(index), seed=0)
    losses = fit(model, inputs, targets, n_iter=150, batch_size=8, lr=0.05, seed=0)
    assert np.mean(losses[-10:]) < 0.25 * losses[0]  # "the" is the only uncertain step


@FAST
@given(cell=st.sampled_from(rnn.CELLS), T=st.integers(2, 6), split=st.integers(1, 5),
       seed=st.integers(0, 100))
def test_property_a_sequence_read_in_two_parts_with_the_state_carried_is_read_once(
        cell, T, split, seed):
    split = min(split, T - 1)
    x = sequences(T, 2, 3, seed=seed)
    layer = recurrent_layer(cell, 3, 4, seed=seed)
    whole = layer(x).copy()
    first = layer(x[:split]).copy()
    second = layer(x[split:], layer.state)
    np.testing.assert_allclose(np.concatenate([first, second]), whole, atol=1e-13)


@FAST
@given(cell=st.sampled_from(rnn.CELLS), a=st.floats(-3, 3), b=st.floats(-3, 3),
       seed=st.integers(0, 100))
def test_property_backward_is_linear_in_dy(cell, a, b, seed):
    rng = np.random.default_rng(seed)
    layer = recurrent_layer(cell, 2, 3, seed=seed)
    layer(sequences(4, 2, 2, seed=seed))
    dy1, dy2 = rng.standard_normal((2, 4, 2, 3))
    dx1 = layer.backward(dy1).copy()
    g1 = {k: v.copy() for k, v in layer.grads.items()}
    dx2 = layer.backward(dy2).copy()
    g2 = {k: v.copy() for k, v in layer.grads.items()}
    dx = layer.backward(a * dy1 + b * dy2)
    np.testing.assert_allclose(dx, a * dx1 + b * dx2, atol=1e-12)
    for k in g1:
        np.testing.assert_allclose(layer.grads[k], a * g1[k] + b * g2[k], atol=1e-12)


@FAST
@given(cell=st.sampled_from(rnn.CELLS), n_words=st.integers(1, 6), dim=st.integers(1, 3),
       T=st.integers(1, 4), B=st.integers(1, 3), seed=st.integers(0, 100))
def test_property_word_id_models_match_numerical_gradients(cell, n_words, dim, T, B, seed):
    ids = np.random.default_rng(seed).integers(0, n_words, (T, B))
    model = SequenceModel(cell, dim, 2, 3, n_words=n_words, seed=seed)
    assert model(ids).shape == (T, B, 3)
    assert max(gradient_check(model, ids, seed=seed).values()) < 1e-6


@FAST
@given(scale=st.sampled_from([1e-300, 1e-30, 1.0, 1e30, 1e300]), cell=st.sampled_from(rnn.CELLS),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_property_extreme_inputs_give_finite_states_and_gradients(scale, cell, dtype):
    top = np.finfo(dtype).max / 2  # float32 stops at 3.4e38
    x = np.clip(sequences(5, 2, 3) * scale, -top, top).astype(dtype)
    layer = recurrent_layer(cell, 3, 4, seed=0, dtype=dtype)
    with np.errstate(over="ignore"):
        h = layer(x)
        dx = layer.backward(np.ones_like(h))
    assert h.dtype == dtype and np.isfinite(h).all() and np.all(np.abs(h) <= 1)
    assert np.isfinite(dx).all() and all(np.isfinite(g).all() for g in layer.grads.values())


@pytest.mark.parametrize("cell", rnn.CELLS)
@pytest.mark.parametrize("dtype, big", [(np.float32, 3e38), (np.float64, 1.7e308)])
def test_inputs_that_overflow_a_layer_are_refused_not_turned_into_nan(cell, dtype, big):
    """Issue 27: with 64 inputs of ±1.7e308, x W_ihᵀ summed +inf and -inf: NaN states and
    gradients, silently."""
    x = (np.random.default_rng(0).choice([-1, 1], (5, 4, 64)) * big).astype(dtype)
    layer = recurrent_layer(cell, 64, 8, dtype=dtype)
    with pytest.raises(ValueError, match=r"x overflows .*output is not finite"):
        layer(x)
    with pytest.raises(ValueError, match="x overflows"):
        gradient_norms_through_time(layer, x)
    with pytest.raises(ValueError, match="x overflows"):
        gradient_check(layer, x[:, :1])
    model = SequenceModel(cell, 64, 8, 2, readout="last", dtype=dtype)
    with pytest.raises(ValueError, match="x overflows"):
        model(x)
    with pytest.raises(ValueError, match="x overflows the model"):
        fit(model, x, np.zeros(4, dtype=int), n_iter=2)


@FAST
@given(n_words=st.integers(1, 8), dim=st.integers(1, 4),
       shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), seed=st.integers(0, 100),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_property_an_embedding_looks_up_rows_and_adds_gradients_into_them(n_words, dim, shape,
                                                                         seed, dtype):
    rng = np.random.default_rng(seed)
    table = Embedding(n_words, dim, seed=seed, dtype=dtype)
    ids = rng.integers(0, n_words, shape)
    y = table(ids)
    assert y.shape == (*shape, dim) and y.dtype == dtype
    np.testing.assert_array_equal(y, table.params["E"][ids])
    dy = rng.standard_normal(y.shape).astype(dtype)
    table.backward(dy)
    hot = one_hot(ids, n_words).reshape(-1, n_words)
    np.testing.assert_allclose(table.grads["E"], hot.T @ dy.reshape(-1, dim).astype(float),
                               rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-6)
    assert table.grads["E"].dtype == dtype


# ----------------------------------------------------------------------------- on the GPU


@pytest.mark.gpu
def test_layers_training_and_sampling_follow_their_data_onto_the_gpu():
    import cupy

    x = sequences(4, 2, 3)
    for cell in rnn.CELLS:
        cpu = recurrent_layer(cell, 3, 4, seed=2, xp=np)
        gpu = recurrent_layer(cell, 3, 4, seed=2, xp=cupy)
        h = gpu(cupy.asarray(x))
        assert isinstance(h, cupy.ndarray)
        np.testing.assert_allclose(backend.to_numpy(h), cpu(x), atol=1e-12)
        dy = np.ones((4, 2, 4))
        np.testing.assert_allclose(backend.to_numpy(gpu.backward(cupy.asarray(dy))),
                                   cpu.backward(dy), atol=1e-12)
        assert max(gradient_check(gpu, cupy.asarray(x)).values()) < 1e-7
        np.testing.assert_allclose(gradient_norms_through_time(gpu, cupy.asarray(x)),
                                   gradient_norms_through_time(cpu, x), atol=1e-12)
    with pytest.raises(backend.DeviceMismatchError, match="x"):
        gpu(x)
    backend.use("gpu")
    xg, yg = parity_data(32, 3, seed=0)
    assert isinstance(xg, cupy.ndarray)
    model = SequenceModel("gru", 1, 4, 2, readout="last", seed=0)
    twin = SequenceModel("gru", 1, 4, 2, readout="last", seed=0, xp=np)
    losses = fit(model, xg, yg, n_iter=5, seed=0)
    np.testing.assert_allclose(losses, fit(twin, *parity_data(32, 3, seed=0, xp=np), n_iter=5,
                                           seed=0), rtol=1e-10)
    ids, vocab = encode_chars("abcabcabc")
    lm = SequenceModel("lstm", 3, 4, 3, seed=0)
    inputs, targets = windows(cupy.asarray(ids), 3)
    fit(lm, one_hot(inputs, 3), targets, n_iter=2)
    assert set(sample_text(lm, vocab, "ab", 5)) <= set(vocab)


@pytest.mark.gpu
def test_word_id_models_and_clean_errors_follow_their_data_onto_the_gpu():
    import cupy

    rng = np.random.default_rng(0)
    ids = rng.integers(0, 6, (5, 4))
    y = rng.integers(0, 3, (5, 4))
    cpu = SequenceModel("lstm", 3, 4, 3, n_words=6, seed=1, xp=np)
    gpu = SequenceModel("lstm", 3, 4, 3, n_words=6, seed=1, xp=cupy)
    np.testing.assert_allclose(backend.to_numpy(gpu(cupy.asarray(ids))), cpu(ids), atol=1e-12)
    assert max(gradient_check(gpu, cupy.asarray(ids), cupy.asarray(y)).values()) < 1e-7
    np.testing.assert_allclose(fit(gpu, cupy.asarray(ids), cupy.asarray(y), n_iter=3, seed=0),
                               fit(cpu, ids, y, n_iter=3, seed=0), rtol=1e-10)
    with pytest.raises(backend.DeviceMismatchError, match="x"):
        gpu(ids)
    layer = GRU(2, 3, xp=cupy)
    with pytest.raises(ValueError, match="forward pass first"):
        layer.backward(cupy.ones((2, 1, 3)))
    layer(cupy.ones((2, 1, 2)))
    with pytest.raises(backend.DeviceMismatchError, match="dy"):
        layer.backward(np.ones((2, 1, 3)))


# ------------------------------------------------------------------------ public surface (issue 28)


@FAST
@given(cell=st.sampled_from(rnn.CELLS), T=st.integers(1, 5), B=st.integers(1, 3),
       n_in=st.integers(1, 4), H=st.integers(1, 4), seed=st.integers(0, 2**32))
def test_property_the_shared_projection_and_weight_gradients_are_the_per_step_sums(
        cell, T, B, n_in, H, seed):
    """Recurrent.project is x_t W_ihᵀ + b_ih step by step; weight_grads is the sum over steps
    and the batch of the outer products, and dL/dx is d_in W_ih; the layout is PyTorch's."""
    rng = np.random.default_rng(seed)
    layer = recurrent_layer(cell, n_in, H, seed=rng)
    assert isinstance(layer, rnn.Recurrent)
    G = rnn.GATES[cell]
    p = layer.params
    assert p["W_ih"].shape == (G * H, n_in) and p["W_hh"].shape == (G * H, H)
    x = rng.standard_normal((T, B, n_in))
    projected = rnn.Recurrent.project(layer, x)
    for t in range(T):
        np.testing.assert_allclose(projected[t], x[t] @ p["W_ih"].T + p["b_ih"], atol=1e-12)
    layer(x)  # keeps x and the states weight_grads reads
    d_in, d_hid = rng.standard_normal((2, T, B, G * H))
    dx = layer.weight_grads(d_in, d_hid)
    h_prev = np.concatenate([np.zeros((1, B, H)), layer.h[:-1]])
    expected = {"W_ih": sum(d_in[t].T @ x[t] for t in range(T)),
                "W_hh": sum(d_hid[t].T @ h_prev[t] for t in range(T)),
                "b_ih": d_in.sum(axis=(0, 1)), "b_hh": d_hid.sum(axis=(0, 1))}
    for name, grad in expected.items():
        np.testing.assert_allclose(layer.grads[name], grad, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(dx, d_in @ p["W_ih"], atol=1e-12)


def test_the_gru_s_sigmoid_is_numerics_sigmoid():
    """rnn keeps σ(a) = (1 + tanh(a/2)) / 2 for speed (its docstring says why): it is the
    same function as numerics.sigmoid, to rounding, over the whole float64 range."""
    from course_utils.numerics import sigmoid

    a = np.concatenate([np.linspace(-40, 40, 10001), [-1e300, -700, 700, 1e300, 0.0]])
    np.testing.assert_allclose(rnn._sigmoid(a), sigmoid(a), rtol=0, atol=4.5e-16)


def test_the_old_steps_keyword_warns_and_trains_the_same():
    x, y = parity_data(16, 4, seed=0, xp=np)
    new = fit(SequenceModel("gru", 1, 4, 2, readout="last", seed=0), x, y, n_iter=4, seed=0)
    with pytest.warns(DeprecationWarning, match=r"fit\(steps=...\) is now fit\(n_iter=...\)"):
        old = fit(SequenceModel("gru", 1, 4, 2, readout="last", seed=0), x, y, steps=4, seed=0)
    assert old == new and len(new) == 4
    with pytest.raises(TypeError, match="both steps= and n_iter="):
        fit(SequenceModel("gru", 1, 4, 2, readout="last"), x, y, steps=4, n_iter=4)


def test_a_callback_s_own_calls_are_checked_inside_fit():
    """fit checks its arguments once and trusts its nested calls; a learner's callback runs
    as from outside, so a bad call in it is still a clean error."""
    x, y = parity_data(8, 3, seed=0, xp=np)
    model = SequenceModel("rnn", 1, 3, 2, readout="last", seed=0)

    def callback(step, loss):
        model(np.full((3, 2, 1), np.nan))

    with pytest.raises(ValueError, match="x contains NaN"):
        fit(model, x, y, n_iter=2, callback=callback)
