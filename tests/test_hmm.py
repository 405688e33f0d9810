import itertools
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from properties import names_the_argument

from course_utils import backend, hmm
from course_utils.hmm import (
    HMM,
    HMMFit,
    Posterior,
    baum_welch,
    fit,
    forward_backward,
    gradient_ascent,
    log_likelihood_gradient,
    make_hmm,
    random_hmm,
    sample,
    score,
    viterbi,
)

FAST = settings(max_examples=25, deadline=None)
CASINO = make_hmm([0.5, 0.5], [[0.95, 0.05], [0.1, 0.9]],
                  [[1 / 6] * 6, [0.1] * 5 + [0.5]])


def gaussian_model(K=3, D=2, seed=0):
    rng = np.random.default_rng(seed)
    base = random_hmm(K, 2, seed=seed)
    return make_hmm(base.startprob, base.transmat, means=rng.normal(size=(K, D)) * 2,
                    covars=rng.random((K, D)) + 0.3)


def brute_force(model, x):
    """log P(x) and the best path by enumerating every state path (K^T of them)."""
    K, T = model.n_states, len(x)
    total, best, best_path = 0.0, -np.inf, None
    for z in itertools.product(range(K), repeat=T):
        logp = math.log(model.startprob[z[0]])
        logp += sum(math.log(model.transmat[z[t - 1], z[t]]) for t in range(1, T))
        logp += sum(_log_emission(model, z[t], x[t]) for t in range(T))
        total += math.exp(logp)
        if logp > best:
            best, best_path = logp, z
    return math.log(total), best, np.array(best_path)


def _log_emission(model, k, x):
    if model.kind == "categorical":
        return math.log(model.emissionprob[k, x])
    var = model.covars[k]
    return float(-0.5 * (((x - model.means[k]) ** 2) / var + np.log(2 * np.pi * var)).sum())


# ----------------------------------------------------------------------------- exact checks


@pytest.mark.parametrize("kind", ["categorical", "gaussian"])
def test_likelihood_and_viterbi_equal_brute_force_enumeration(kind):
    model = random_hmm(3, 4, seed=3) if kind == "categorical" else gaussian_model(3, 1)
    lengths = [6, 1, 4, 5]
    X, _ = sample(model, lengths, seed=1)
    starts = np.cumsum([0, *lengths])
    path, best = viterbi(model, X, lengths)
    for method in hmm.METHODS:
        ll = score(model, X, lengths, method=method)
        post = forward_backward(model, X, lengths, method=method)
        np.testing.assert_allclose(post.log_likelihood, ll, rtol=1e-12)
        np.testing.assert_allclose(post.posterior.sum(axis=1), 1, rtol=1e-12)
        for i in range(len(lengths)):
            x = X[starts[i]:starts[i + 1]]
            total, top, top_path = brute_force(model, x)
            assert ll[i] == pytest.approx(total, rel=1e-12)
            assert best[i] == pytest.approx(top, rel=1e-12)
            np.testing.assert_array_equal(path[starts[i]:starts[i + 1]], top_path)


def test_posteriors_by_brute_force_and_a_batch_equals_each_sequence_alone():
    model = random_hmm(2, 3, seed=4)
    lengths = [5, 2, 7]
    X, _ = sample(model, lengths, seed=2)
    post = forward_backward(model, X, lengths)
    starts = np.cumsum([0, *lengths])
    for i in range(3):
        x = X[starts[i]:starts[i + 1]]
        alone = forward_backward(model, x)
        np.testing.assert_allclose(alone.posterior, post.posterior[starts[i]:starts[i + 1]],
                                   atol=1e-14)
        weights = np.zeros((len(x), 2))
        for z in itertools.product(range(2), repeat=len(x)):
            logp = (math.log(model.startprob[z[0]]) + sum(
                math.log(model.transmat[z[t - 1], z[t]]) for t in range(1, len(x))) + sum(
                math.log(model.emissionprob[z[t], x[t]]) for t in range(len(x))))
            weights[np.arange(len(x)), z] += math.exp(logp)
        np.testing.assert_allclose(alone.posterior, weights / weights.sum(axis=1, keepdims=True),
                                   atol=1e-12)


def test_a_sequence_of_100000_steps_neither_underflows_nor_disagrees():
    X, _ = sample(CASINO, 100_000, seed=0)
    naive = CASINO.startprob * CASINO.emissionprob[:, X[0]]
    for x in X[1:2000]:
        naive = (naive @ CASINO.transmat) * CASINO.emissionprob[:, x]
    assert naive.sum() == 0.0  # the product of probabilities underflows long before
    scaled = score(CASINO, X)[0]
    assert np.isfinite(scaled) and -2e5 < scaled < -1e5
    part = X[:5000]  # score multiplies matrices pairwise; forward_backward loops over time
    by_products = score(CASINO, part)[0]
    assert by_products == pytest.approx(score(CASINO, part, method="log")[0], rel=1e-12)
    assert by_products == pytest.approx(forward_backward(CASINO, part).log_likelihood[0],
                                        rel=1e-12)


def test_a_long_gaussian_sequence_by_products_equals_hmmlearn_and_impossible_ones_say_so():
    model = gaussian_model(3, 1, seed=4)
    X, _ = sample(model, 3000, seed=5)
    assert score(model, X)[0] == pytest.approx(_hmmlearn(model).score(X), abs=1e-8)
    assert score(model, X)[0] == pytest.approx(score(model, X, method="log")[0], rel=1e-12)
    stuck = make_hmm([1.0, 0.0], [[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]])
    assert score(stuck, np.zeros(3000, dtype=int))[0] == 0.0
    with pytest.warns(RuntimeWarning, match="probability 0"):
        assert score(stuck, np.r_[np.zeros(3000, dtype=int), 1])[0] == -np.inf


# ----------------------------------------------------------------------------- hmmlearn


def _hmmlearn(model, n_iter=1, implementation="scaling"):
    hmmlearn = pytest.importorskip("hmmlearn.hmm")
    common = dict(init_params="", n_iter=n_iter, tol=1e-300, implementation=implementation)
    if model.kind == "categorical":
        ref = hmmlearn.CategoricalHMM(model.n_states, n_features=model.emissionprob.shape[1],
                                      params="ste", **common)
        ref.emissionprob_ = model.emissionprob
    else:
        ref = hmmlearn.GaussianHMM(model.n_states, covariance_type="diag", params="stmc",
                                   covars_prior=0.0, **common)
        ref.means_, ref.covars_ = model.means, model.covars
    ref.startprob_, ref.transmat_ = model.startprob, model.transmat
    return ref


@pytest.mark.parametrize("kind", ["categorical", "gaussian"])
@pytest.mark.parametrize("implementation", ["scaling", "log"])
def test_score_viterbi_posterior_and_one_baum_welch_step_equal_hmmlearns(kind, implementation):
    model = random_hmm(3, 6, seed=8) if kind == "categorical" else gaussian_model(3, 2, seed=8)
    lengths = [40, 17, 63, 5]
    X, _ = sample(model, lengths, seed=9)
    Xh = X[:, None] if X.ndim == 1 else X
    ref = _hmmlearn(model, implementation=implementation)
    method = implementation
    assert score(model, X, lengths, method=method).sum() == pytest.approx(
        ref.score(Xh, lengths), abs=1e-8)
    their_logp, their_path = ref.decode(Xh, lengths, algorithm="viterbi")
    path, logp = viterbi(model, X, lengths)
    np.testing.assert_array_equal(path, their_path)
    assert logp.sum() == pytest.approx(their_logp, abs=1e-8)
    np.testing.assert_allclose(forward_backward(model, X, lengths, method=method).posterior,
                               ref.predict_proba(Xh, lengths), atol=1e-10)
    ours = baum_welch(model, X, lengths, n_iter=1, method=method).model
    ref.fit(Xh, lengths)
    np.testing.assert_allclose(ours.startprob, ref.startprob_, atol=1e-8)
    np.testing.assert_allclose(ours.transmat, ref.transmat_, atol=1e-8)
    if kind == "categorical":
        np.testing.assert_allclose(ours.emissionprob, ref.emissionprob_, atol=1e-8)
    else:
        np.testing.assert_allclose(ours.means, ref.means_, atol=1e-8)
        np.testing.assert_allclose(ours.covars, np.diagonal(ref.covars_, axis1=1, axis2=2),
                                   atol=1e-8)


# ----------------------------------------------------------------------------- learning


def test_baum_welch_never_decreases_the_likelihood_and_restarts_repeat_by_seed():
    truth = make_hmm([0.6, 0.3, 0.1], [[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]],
                     [[0.7, 0.1, 0.1, 0.1], [0.1, 0.7, 0.1, 0.1], [0.1, 0.1, 0.1, 0.7]])
    X, _ = sample(truth, [80, 120, 60, 200], seed=0)
    lengths = [80, 120, 60, 200]
    for method in hmm.METHODS:
        result = baum_welch(random_hmm(3, 4, seed=1), X, lengths, n_iter=40, tol=0,
                            method=method)
        gains = np.diff(result.log_likelihoods)
        assert (gains >= -1e-9 * abs(result.log_likelihoods[-1])).all()
        assert result.log_likelihoods[-1] > result.log_likelihoods[0] + 10
    best, finals = fit(X, lengths, n_states=3, n_symbols=4, n_restarts=3, n_iter=30, seed=5)
    again, finals_again = fit(X, lengths, n_states=3, n_symbols=4, n_restarts=3, n_iter=30,
                              seed=5)
    np.testing.assert_array_equal(finals, finals_again)
    assert best.log_likelihoods[-1] == finals.max()
    assert best.log_likelihoods[-1] >= score(truth, X, lengths).sum() - 20


def test_the_gradient_equals_a_numerical_gradient():
    model = random_hmm(3, 4, seed=2)
    X, _ = sample(random_hmm(3, 4, seed=3), [9, 14], seed=4)
    ll, grads = log_likelihood_gradient(model, X, [9, 14])
    assert ll == pytest.approx(score(model, X, [9, 14]).sum(), rel=1e-12)
    logits = [np.log(model.startprob), np.log(model.transmat), np.log(model.emissionprob)]

    def total(us):
        probs = [np.exp(u - u.max(axis=-1, keepdims=True)) for u in us]
        return score(HMM(*(p / p.sum(axis=-1, keepdims=True) for p in probs)), X,
                     [9, 14]).sum()

    h = 1e-6
    for which, grad in enumerate(grads):
        numerical = np.zeros_like(grad)
        for index in np.ndindex(grad.shape):
            up = [u.copy() for u in logits]
            down = [u.copy() for u in logits]
            up[which][index] += h
            down[which][index] -= h
            numerical[index] = (total(up) - total(down)) / (2 * h)
        np.testing.assert_allclose(grad, numerical, atol=1e-6)


def test_em_beats_gradient_ascent_iteration_for_iteration():
    truth = random_hmm(3, 6, seed=11, concentration=0.3)
    lengths = [100] * 20
    X, _ = sample(truth, lengths, seed=1)
    start = random_hmm(3, 6, seed=12)
    em = baum_welch(start, X, lengths, n_iter=30, tol=0)
    gd = gradient_ascent(start, X, lengths, n_iter=30, lr=2.0)
    assert (em.log_likelihoods[1:] >= gd.log_likelihoods[1:]).all()
    assert gd.log_likelihoods[-1] > gd.log_likelihoods[0]
    assert em.seconds.shape == em.log_likelihoods.shape


# ----------------------------------------------------------------------------- bad input


def test_bad_input_names_the_argument():
    P = [[0.9, 0.1], [0.2, 0.8]]
    E = [[0.5, 0.5], [0.1, 0.9]]
    with pytest.raises(ValueError, match=r"startprob sums to 0\.9"):
        make_hmm([0.5, 0.4], P, E)
    with pytest.raises(ValueError, match="transmat has a negative entry"):
        make_hmm([0.5, 0.5], [[1.1, -0.1], [0.2, 0.8]], E)
    with pytest.raises(ValueError, match="transmat's row 1 sums to 1.1"):
        make_hmm([0.5, 0.5], [[0.9, 0.1], [0.3, 0.8]], E)
    with pytest.raises(ValueError, match="emissionprob must have 2 rows"):
        make_hmm([0.5, 0.5], P, [[1.0]])
    with pytest.raises(ValueError, match=r"transmat must be \(3, 3\)"):
        make_hmm([0.2, 0.3, 0.5], P, E)
    with pytest.raises(ValueError, match="covars must be positive"):
        make_hmm([0.5, 0.5], P, means=[0.0, 1.0], covars=[1.0, -1.0])
    model = make_hmm([0.5, 0.5], P, E)
    with pytest.raises(ValueError, match=r"X must hold ints in \[0, 2\)"):
        score(model, [0, 1, 2])
    with pytest.raises(ValueError, match="X is empty"):
        score(model, np.array([], dtype=int))
    with pytest.raises(ValueError, match="lengths must hold ints in"):
        score(model, [0, 1, 1], [3, 0])
    with pytest.raises(ValueError, match="lengths must sum to"):
        viterbi(model, [0, 1, 1], [1, 1])
    with pytest.raises(TypeError, match="model must be an HMM"):
        score("casino", [0])


def test_a_zero_probability_sequence_says_so_and_never_gives_nan():
    model = make_hmm([1.0, 0.0], [[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]])
    X, lengths = [0, 0, 1, 0, 0], [3, 2]  # the first sequence needs state 0 to emit 1
    with pytest.warns(RuntimeWarning, match=r"sequence \[0\] probability 0"):
        ll = score(model, X, lengths)
    assert ll[0] == -np.inf and ll[1] == 0.0
    with pytest.warns(RuntimeWarning):
        assert score(model, X, lengths, method="log")[0] == -np.inf
    for call in (forward_backward, viterbi):
        with pytest.raises(ValueError, match=r"sequence \[0\] probability 0"):
            call(model, X, lengths)
    with pytest.raises(ValueError, match="probability 0"):
        baum_welch(model, X, lengths)
    gauss = make_hmm([1.0], [[1.0]], means=[0.0], covars=[1e-4])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isfinite(score(gauss, [100.0, -100.0])[0])  # far, but not impossible


test_bad_arguments_name_themselves = names_the_argument({
    "startprob": (lambda v: make_hmm(v, [[1.0]], [[1.0]]), [[0.5], [-1.0], [[1.0]], [np.nan]]),
    "transmat": (lambda v: make_hmm([1.0], v, [[1.0]]), [[[0.5]], [[2.0, -1.0]], [1.0]]),
    "emissionprob": (lambda v: make_hmm([1.0], [[1.0]], v),
                     [[[0.2, 0.2]], [[1.0], [1.0]], [[-1.0, 2.0]]]),
    "X": (lambda v: score(CASINO, v), [[6], [-1], [], [0.5, 1.0], "abc"]),
    "lengths": (lambda v: score(CASINO, [0, 1, 2], v), [[2], [0, 3], [-1, 4], [[3]]]),
    "method": (lambda v: score(CASINO, [0], method=v), ["fast", 3]),
    "n_iter": (lambda v: baum_welch(CASINO, [0, 1], n_iter=v), [0, 1.5]),
    "lr": (lambda v: gradient_ascent(CASINO, [0, 1], lr=v), [0.0, -1.0]),
    "n_states": (lambda v: random_hmm(v, 2), [0, 2.0]),
    "n_restarts": (lambda v: fit([0, 1], n_states=2, n_symbols=2, n_restarts=v), [0]),
    "seed": (lambda v: sample(CASINO, 3, seed=v), [-1, 1.5]),
    "model": (lambda v: viterbi(v, [0]), ["casino", None]),
}, max_examples=60)


# ----------------------------------------------------------------------------- properties


@given(st.integers(1, 4), st.integers(1, 5), st.lists(st.integers(1, 12), min_size=1,
                                                       max_size=5), st.integers(0, 1000))
@FAST
def test_properties_of_inference(K, M, lengths, seed):
    model = random_hmm(K, M, seed=seed)
    assert isinstance(model, HMM) and model.n_states == K
    model = make_hmm(model.startprob, model.transmat, model.emissionprob)
    X, states = sample(model, lengths, seed=seed)
    assert X.shape == states.shape == (sum(lengths),) and states.max() < K and X.max() < M
    ll = score(model, X, lengths)
    post = forward_backward(model, X, lengths, method="log")
    assert isinstance(post, Posterior)
    np.testing.assert_allclose(post.log_likelihood, ll, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(post.posterior.sum(axis=1), 1, rtol=1e-9)
    assert post.start_counts.sum() == pytest.approx(len(lengths))
    assert post.trans_counts.sum() == pytest.approx(sum(lengths) - len(lengths), abs=1e-9)
    path, best = viterbi(model, X, lengths)
    assert (best <= ll + 1e-9).all() and path.shape == X.shape
    total, grads = log_likelihood_gradient(model, X, lengths)
    assert total == pytest.approx(ll.sum())
    for g in grads:
        np.testing.assert_allclose(g.sum(axis=-1), 0, atol=1e-8)  # softmax: rows sum to 0


@given(st.integers(1, 3), st.integers(2, 4), st.lists(st.integers(1, 15), min_size=1,
                                                       max_size=4), st.integers(0, 1000))
@FAST
def test_properties_of_learning(K, M, lengths, seed):
    X, _ = sample(random_hmm(K, M, seed=seed + 1), lengths, seed=seed)
    result = baum_welch(random_hmm(K, M, seed=seed), X, lengths, n_iter=5, tol=0)
    assert isinstance(result, HMMFit)
    gains = np.diff(result.log_likelihoods)
    assert (gains >= -1e-8 * (1 + np.abs(result.log_likelihoods[1:]))).all()
    np.testing.assert_allclose(result.model.transmat.sum(axis=1), 1)
    ascent = gradient_ascent(random_hmm(K, M, seed=seed), X, lengths, n_iter=3, lr=0.05)
    assert np.isfinite(ascent.log_likelihoods).all()
    best, finals = fit(X, lengths, n_states=K, n_symbols=M, n_restarts=2, n_iter=3, seed=seed)
    assert best.log_likelihoods[-1] == finals.max()


@given(st.integers(1, 3), st.integers(1, 2), st.lists(st.integers(1, 10), min_size=1,
                                                       max_size=3), st.integers(0, 100))
@FAST
def test_properties_of_gaussian_emissions(K, D, lengths, seed):
    model = gaussian_model(K, D, seed=seed)
    X, _ = sample(model, lengths, seed=seed)
    assert X.shape == (sum(lengths), D)
    ll = score(model, X, lengths)
    np.testing.assert_allclose(score(model, X, lengths, method="log"), ll, rtol=1e-9)
    result = baum_welch(model, X, lengths, n_iter=3, tol=0)
    gains = np.diff(result.log_likelihoods)
    assert (gains >= -1e-8 * (1 + np.abs(result.log_likelihoods[1:]))).all()


# ----------------------------------------------------------------------------- on the GPU


@pytest.mark.gpu
def test_every_function_follows_its_data_onto_the_gpu():
    import cupy

    def same(got, expected, atol=1e-10):
        assert isinstance(got, cupy.ndarray), f"expected a CuPy array, got {type(got)}"
        np.testing.assert_allclose(backend.to_numpy(got), expected, atol=atol)

    model = random_hmm(3, 5, seed=1)
    gpu = random_hmm(3, 5, seed=1, xp=cupy)
    same(gpu.transmat, model.transmat, atol=0)
    lengths = [30, 7, 12]
    X, Z = sample(model, lengths, seed=2)
    Xg, Zg = sample(gpu, lengths, seed=2)
    same(Xg, X, atol=0)
    same(Zg, Z, atol=0)
    for method in hmm.METHODS:
        same(score(gpu, Xg, lengths, method=method), score(model, X, lengths, method=method))
        post = forward_backward(gpu, Xg, lengths, method=method)
        same(post.posterior, forward_backward(model, X, lengths).posterior)
    path, best = viterbi(gpu, Xg, lengths)
    same(path, viterbi(model, X, lengths)[0], atol=0)
    same(baum_welch(gpu, Xg, lengths, n_iter=3).model.emissionprob,
         baum_welch(model, X, lengths, n_iter=3).model.emissionprob)
    same(gradient_ascent(gpu, Xg, lengths, n_iter=2).model.transmat,
         gradient_ascent(model, X, lengths, n_iter=2).model.transmat)
    same(log_likelihood_gradient(gpu, Xg, lengths)[1][1],
         log_likelihood_gradient(model, X, lengths)[1][1])
    same(fit(Xg, lengths, n_states=2, n_symbols=5, n_restarts=2, n_iter=3)[0].model.transmat,
         fit(X, lengths, n_states=2, n_symbols=5, n_restarts=2, n_iter=3)[0].model.transmat)
    g = gaussian_model(2, 1)
    gg = make_hmm(*(cupy.asarray(p) for p in (g.startprob, g.transmat)),
                  means=cupy.asarray(g.means), covars=cupy.asarray(g.covars))
    Xc, _ = sample(g, [20, 5], seed=0)
    same(score(gg, cupy.asarray(Xc), [20, 5]), score(g, Xc, [20, 5]))
    same(baum_welch(gg, cupy.asarray(Xc), [20, 5], n_iter=2).model.means,
         baum_welch(g, Xc, [20, 5], n_iter=2).model.means)
    long_x = sample(model, 2500, seed=3)[0]
    same(score(gpu, cupy.asarray(long_x)), score(model, long_x))  # by products
    with pytest.raises(backend.DeviceMismatchError, match="X"):
        score(gpu, X, lengths)
