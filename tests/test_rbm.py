import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from properties import names_the_argument
from sklearn.datasets import load_digits
from sklearn.neural_network import BernoulliRBM

from course_utils import backend
from course_utils.rbm import (
    RBM,
    RBMFit,
    cd_gradient,
    energy,
    free_energy,
    gibbs_sample,
    hidden_probs,
    init_rbm,
    log_likelihood,
    log_partition,
    rbm_epoch,
    reconstruction_error,
    train_rbm,
    visible_probs,
)

FAST = settings(max_examples=25, deadline=None)
DIGITS = (load_digits().data / 16 > 0.5).astype(float)


def states(n):
    return np.array([[(i >> (n - 1 - j)) & 1 for j in range(n)] for i in range(2**n)], float)


def parameters(rbm):
    return rbm.W, rbm.b, rbm.c


def random_rbm(d, m, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    return RBM(rng.normal(0, scale, (d, m)), rng.normal(0, scale, d), rng.normal(0, scale, m))


@pytest.mark.parametrize(("d", "m"), [(4, 3), (3, 5)])
def test_free_energy_and_log_likelihood_equal_brute_force_sums(d, m):
    rbm = random_rbm(d, m, seed=d)
    V, H = states(d), states(m)
    E = np.array([[float(energy(rbm, v, h)) for h in H] for v in V])  # every (v, h)
    np.testing.assert_allclose(free_energy(rbm, V), -np.log(np.exp(-E).sum(axis=1)),
                               atol=1e-12)
    log_Z = math.log(np.exp(-E).sum())
    assert abs(log_partition(rbm) - log_Z) < 1e-12
    p_v = np.exp(-E).sum(axis=1) / np.exp(-E).sum()
    np.testing.assert_allclose(log_likelihood(rbm, V), np.log(p_v), atol=1e-12)
    p_h = np.exp(-E) / np.exp(-E).sum(axis=1, keepdims=True)  # p(h | v) from the table
    np.testing.assert_allclose(hidden_probs(rbm, V), p_h @ H, atol=1e-12)
    p_vh = np.exp(-E) / np.exp(-E).sum(axis=0, keepdims=True)  # p(v | h)
    np.testing.assert_allclose(visible_probs(rbm, H), p_vh.T @ V, atol=1e-12)


def test_free_energy_and_features_equal_scikit_learns():
    rbm = random_rbm(64, 16, seed=3, scale=0.3)
    ref = BernoulliRBM(n_components=16)
    ref.components_, ref.intercept_visible_, ref.intercept_hidden_ = rbm.W.T, rbm.b, rbm.c
    np.testing.assert_allclose(free_energy(rbm, DIGITS), ref._free_energy(DIGITS), rtol=1e-12)
    np.testing.assert_allclose(hidden_probs(rbm, DIGITS), ref.transform(DIGITS), atol=1e-12)


def test_gibbs_sampling_reaches_the_models_distribution():
    rbm = random_rbm(3, 2, seed=5)
    chains = gibbs_sample(rbm, np.zeros((20_000, 3)), 30, seed=1)
    codes = (chains @ [4, 2, 1]).astype(int)
    freq = np.bincount(codes, minlength=8) / len(codes)
    np.testing.assert_allclose(freq, np.exp(log_likelihood(rbm, states(3))), atol=0.015)


def test_cd_training_raises_the_likelihood_of_the_data():
    rng = np.random.default_rng(0)
    patterns = np.array([[1, 1, 0, 0, 1, 0], [0, 0, 1, 1, 0, 1]], float)
    X = patterns[rng.integers(0, 2, 300)]
    X = np.abs(X - (rng.random(X.shape) < 0.05))  # 5% of bits flipped
    fit = train_rbm(X, 4, k=1, lr=0.1, n_epochs=30, batch_size=10, seed=0)
    before = float(log_likelihood(init_rbm(6, 4), X).mean())
    after = float(log_likelihood(fit.rbm, X).mean())
    assert after > before + 2 and fit.reconstruction_error[-1] < fit.reconstruction_error[0]
    grad = cd_gradient(fit.rbm, X, k=5)  # near a maximum: small gradients
    assert float(np.abs(grad.W).max()) < 0.2


@FAST
@given(st.integers(1, 5), st.integers(1, 5), st.integers(1, 3), st.integers(0, 3),
       st.floats(0.1, 2.0))
def test_probabilities_samples_and_training_keep_their_invariants(d, m, k, seed, scale):
    rbm = random_rbm(d, m, seed, scale)
    assert isinstance(rbm, RBM)
    V = states(d)
    ll = log_likelihood(rbm, V)
    assert abs(float(np.exp(ll).sum()) - 1) < 1e-9
    assert np.all(free_energy(rbm, V) <= energy(rbm, V, np.zeros((len(V), m))) + 1e-12)
    h = hidden_probs(rbm, V)
    assert np.all((h >= 0) & (h <= 1))
    back = visible_probs(rbm, h)
    assert back.shape == V.shape and np.all((back >= 0) & (back <= 1))
    samples = gibbs_sample(rbm, V, k, seed=seed)
    assert set(np.unique(samples)) <= {0.0, 1.0}
    grad = cd_gradient(rbm, V, k, seed=seed)
    assert all(np.all(np.isfinite(g)) and g.shape == p.shape
               for g, p in zip(parameters(grad), parameters(rbm), strict=True))
    assert 0 <= reconstruction_error(rbm, V, seed=seed) <= 1
    fresh = init_rbm(d, m, seed=seed)
    assert rbm_epoch(fresh, V, k=k, lr=0.1, batch_size=3, seed=seed) is fresh
    fit = train_rbm(V, m, k=k, n_epochs=2, batch_size=4, seed=seed)
    assert isinstance(fit, RBMFit) and len(fit.free_energy) == 2
    assert math.isfinite(log_partition(fit.rbm))


def test_an_rbm_of_lists_is_read_as_arrays_and_checked():
    """Issue 27: free_energy(RBM(W.tolist(), b, c), V) raised AttributeError; parameters of
    the wrong shapes raised numpy's broadcasting errors, NaN parameters gave NaN."""
    rbm = random_rbm(4, 3)
    V = states(4)
    as_lists = RBM(rbm.W.tolist(), rbm.b.tolist(), rbm.c.tolist())
    for fn in (free_energy, hidden_probs, log_likelihood):
        np.testing.assert_array_equal(fn(as_lists, V), fn(rbm, V))
    assert log_partition(as_lists) == log_partition(rbm)
    with pytest.raises(ValueError, match=r"RBM.b must have shape \(4,\)"):
        RBM(rbm.W, rbm.b[:3], rbm.c)
    with pytest.raises(ValueError, match="RBM.W contains NaN"):
        RBM(np.full((4, 3), np.nan), rbm.b, rbm.c)
    # the lists became arrays when the RBM was made: training updates those in place
    assert rbm_epoch(as_lists, V) is as_lists and not np.array_equal(as_lists.W, rbm.W)
    mixed = RBM(rbm.W.astype(np.float32), rbm.b, rbm.c)  # b, c float64: not W's dtype
    with pytest.raises(TypeError, match="rbm.b is updated in place"):
        rbm_epoch(mixed, V)


def test_an_rbm_is_a_frozen_container_and_the_old_keyword_epochs_warns():
    """Issue 28: RBM and RBMFit are frozen dataclasses; train_rbm(epochs=) is n_epochs=."""
    import dataclasses
    rbm = random_rbm(4, 3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        rbm.W = np.zeros((4, 3))
    X = states(4)
    with pytest.warns(DeprecationWarning, match=r"train_rbm\(n_epochs=...\)"):
        old = train_rbm(X, 3, epochs=2, seed=1)
    new = train_rbm(X, 3, n_epochs=2, seed=1)
    assert old.free_energy == new.free_energy
    np.testing.assert_array_equal(old.rbm.W, new.rbm.W)


def test_weights_are_floats_and_made_where_asked():
    """Issue 27: init_rbm(4, 3, dtype=np.int64) gave all-zero integer weights; xp="numpy"
    raised AttributeError."""
    for dtype in (np.int64, bool, complex, "junk", np.float16):
        with pytest.raises(TypeError, match="dtype must be"):
            init_rbm(4, 3, dtype=dtype)
    with pytest.raises(TypeError, match="xp must be None"):
        init_rbm(4, 3, xp="numpy")
    assert init_rbm(4, 3, dtype="float32").W.dtype == np.float32
    with pytest.raises(ValueError, match="std"):  # 1e300 is inf in float32
        init_rbm(4, 3, std=1e300, dtype=np.float32)


def test_a_probability_is_for_binary_states_and_overflow_is_an_error():
    """log_likelihood of v = 3 gave +2.7 (no log-probability); huge inputs gave NaN."""
    rbm = random_rbm(4, 3)
    with pytest.raises(ValueError, match="0/1"):
        log_likelihood(rbm, states(4) * 3)
    with pytest.raises(ValueError, match="overflows"):
        energy(rbm, states(4) * 1e200, np.ones((16, 3)) * 1e200)
    with pytest.raises(ValueError, match="v must hold values in"):  # a step from v = 1e300
        reconstruction_error(rbm, states(4) * 1e300)
    with pytest.raises(ValueError, match="v has 16 rows and h 3"):
        energy(rbm, states(4), np.ones((3, 3)))


def test_log_partition_enumerates_in_chunks(monkeypatch):
    """2^min(d, m) states, CHUNK at a time: the same log Z as all at once, for either side."""
    import course_utils.rbm as rbm_module
    for d, m in ((9, 5), (5, 9)):
        rbm = random_rbm(d, m, seed=d)
        whole = log_partition(rbm)
        monkeypatch.setattr(rbm_module, "CHUNK", 3)
        assert abs(log_partition(rbm) - whole) < 1e-12
        monkeypatch.undo()


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 6), st.integers(1, 6), st.integers(0, 2**32 - 1),
       st.sampled_from([0.1, 1.0, 10.0, 300.0]))
def test_an_enumerated_rbm_is_a_distribution_at_any_size_of_its_parameters(d, m, seed, scale):
    rbm = random_rbm(d, m, seed, scale)
    V, H = states(d), states(m)
    log_p = log_likelihood(rbm, V)
    assert np.all(log_p <= 1e-12) and abs(float(np.exp(log_p).sum()) - 1) < 1e-9
    # p(h | v) from the hidden probabilities, a product of Bernoullis, sums to 1 over h
    p_h = hidden_probs(rbm, V)
    table = np.prod(np.where(H[None] == 1, p_h[:, None], 1 - p_h[:, None]), axis=2)
    np.testing.assert_allclose(table.sum(axis=1), 1, atol=1e-12)
    # and p(v) is Σ_h p(v, h): exp(-E) over every pair, normalised, against -F - log Z
    if scale <= 10:
        E = np.array([[float(energy(rbm, v, h)) for h in H] for v in V])
        joint = np.exp(-E - log_partition(rbm))
        np.testing.assert_allclose(joint.sum(axis=1), np.exp(log_p), rtol=1e-9, atol=1e-300)


R = random_rbm(4, 3)
test_bad_input_names_the_argument = names_the_argument({
    "k": (lambda v: gibbs_sample(R, np.ones((2, 4)), v), [0, -1, 1.5, True]),
    "k ": (lambda v: cd_gradient(R, np.ones((2, 4)), v), [0]),
    "k  ": (lambda v: train_rbm(np.ones((2, 4)), 3, k=v), [0, 2.0]),
    "k   ": (lambda v: rbm_epoch(R, np.ones((2, 4)), k=v), [0]),
    "X": (lambda v: train_rbm(v, 3), [np.array([[np.nan, 1.0]]), np.array([[2.0, 0.0]]),
                                      np.ones(3)]),
    "X ": (lambda v: rbm_epoch(R, v), [np.ones((2, 5)), np.array([[0.5, np.nan, 0, 0]])]),
    "v": (lambda v: free_energy(R, v), [np.ones((2, 3)), np.array([np.inf, 0, 0, 0]), "v"]),
    "h": (lambda v: energy(R, np.ones(4), v), [np.ones(4), np.array([np.nan, 0, 0])]),
    "n_hidden": (lambda v: train_rbm(np.ones((2, 4)), v), [0, 2.5]),
    "n_visible": (lambda v: init_rbm(v, 3), [0, "4"]),
    "lr": (lambda v: train_rbm(np.ones((2, 4)), 3, lr=v), [0.0, -1.0, math.inf]),
    "n_epochs": (lambda v: train_rbm(np.ones((2, 4)), 3, n_epochs=v), [-1, 1.0]),
    "batch_size": (lambda v: rbm_epoch(R, np.ones((2, 4)), batch_size=v), [0]),
    "rbm": (lambda v: free_energy(v, np.ones(4)), [None, (1, 2, 3)]),
    "rbm ": (lambda v: log_partition(v), [random_rbm(30, 25)]),
    "RBM.W": (lambda v: hidden_probs(RBM(v, R.b, R.c), np.ones(4)), ["W", np.ones(12),
                                                                       [[np.inf] * 3] * 4]),
    "RBM.b": (lambda v: free_energy(RBM(R.W, v, R.c), np.ones(4)), [np.ones(3), np.ones((4, 1))]),
    "RBM.c": (lambda v: visible_probs(RBM(R.W, R.b, v), np.ones(3)), [np.ones(2), "c"]),
    "rbm  ": (lambda v: gibbs_sample(RBM(R.W * v, R.b, R.c), np.ones(4)), [1e308]),
    "dtype": (lambda v: init_rbm(4, 3, dtype=v), [np.int64, bool, complex, "junk"]),
    "xp": (lambda v: init_rbm(4, 3, xp=v), ["numpy", 3]),
    "std": (lambda v: init_rbm(4, 3, std=v), [-1.0, math.nan]),
    "v ": (lambda v: log_likelihood(R, v), [states(4) * 3, states(4) - 0.5]),
    "v  ": (lambda v: gibbs_sample(R, v), [states(4) * 2, -states(4)]),
    "v   ": (lambda v: cd_gradient(R, v), [states(4) + 1]),
    "v    ": (lambda v: reconstruction_error(R, v), [states(4) * 1e300]),
})


@pytest.mark.gpu
def test_rbms_follow_their_data_onto_the_gpu():
    import cupy
    X = DIGITS[:100]
    cpu = train_rbm(X, 8, k=2, n_epochs=2, seed=3)
    gpu = train_rbm(cupy.asarray(X), 8, k=2, n_epochs=2, seed=3)
    assert isinstance(gpu.rbm.W, cupy.ndarray)
    for a, b in zip(parameters(gpu.rbm), parameters(cpu.rbm), strict=True):
        np.testing.assert_allclose(backend.to_numpy(a), b, atol=1e-10)
    np.testing.assert_allclose(gpu.free_energy, cpu.free_energy, rtol=1e-10)
    small = RBM(*(cupy.asarray(p) for p in parameters(random_rbm(4, 3))))
    assert abs(log_partition(small) - log_partition(random_rbm(4, 3))) < 1e-12
    V = cupy.asarray(states(4))
    np.testing.assert_allclose(backend.to_numpy(log_likelihood(small, V)),
                               log_likelihood(random_rbm(4, 3), states(4)), atol=1e-12)
    with pytest.raises(backend.DeviceMismatchError, match="v"):
        free_energy(small, states(4))
