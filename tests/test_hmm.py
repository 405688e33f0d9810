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
    PackedSequences,
    Posterior,
    baum_welch,
    e_step,
    fit,
    forward_backward,
    gradient_ascent,
    log_likelihood_gradient,
    logit_gradient,
    m_step,
    make_hmm,
    pack_sequences,
    random_hmm,
    sample,
    scaled_backward,
    scaled_forward,
    score,
    score_by_products,
    viterbi,
)

FAST = settings(max_examples=25, deadline=None)
MORE = settings(max_examples=60, deadline=None)  # cheap properties: more examples
CASINO = make_hmm([0.5, 0.5], [[0.95, 0.05], [0.1, 0.9]],
                  [[1 / 6] * 6, [0.1] * 5 + [0.5]])


def gaussian_model(K=3, D=2, seed=0):
    rng = np.random.default_rng(seed)
    base = random_hmm(K, 2, seed=seed)
    return make_hmm(base.startprob, base.transmat, means=rng.normal(size=(K, D)) * 2,
                    covars=rng.random((K, D)) + 0.3)


def brute_force(model, x):
    """log P(x) and the best path by enumerating every state path (K^T of them), the sum
    taken relative to the best path's probability so that it cannot underflow."""
    K, T = model.n_states, len(x)
    logps, best, best_path = [], -np.inf, None
    for z in itertools.product(range(K), repeat=T):
        logp = _log(model.startprob[z[0]])
        logp += sum(_log(model.transmat[z[t - 1], z[t]]) for t in range(1, T))
        logp += sum(_log_emission(model, z[t], x[t]) for t in range(T))
        logps.append(logp)
        if logp > best:
            best, best_path = logp, z
    total = best + math.log(sum(math.exp(lp - best) for lp in logps))
    return total, best, np.array(best_path)


def _log(p):
    return math.log(p) if p > 0 else -math.inf


def _log_emission(model, k, x):
    if model.kind == "categorical":
        return _log(model.emissionprob[k, x])
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
    ours = baum_welch(model, X, lengths, max_iter=1, method=method).model
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
        result = baum_welch(random_hmm(3, 4, seed=1), X, lengths, max_iter=40, tol=0,
                            method=method)
        gains = np.diff(result.log_likelihoods)
        assert (gains >= -1e-9 * abs(result.log_likelihoods[-1])).all()
        assert result.log_likelihoods[-1] > result.log_likelihoods[0] + 10
    best, finals = fit(X, lengths, n_states=3, n_symbols=4, n_restarts=3, max_iter=30, seed=5)
    again, finals_again = fit(X, lengths, n_states=3, n_symbols=4, n_restarts=3, max_iter=30,
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
    em = baum_welch(start, X, lengths, max_iter=30, tol=0)
    gd = gradient_ascent(start, X, lengths, max_iter=30, lr=2.0)
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


# ----------------------------------------------------------------------------- at the edges


def test_tiny_probabilities_are_exact_by_scaling_as_in_log_space_and_hmmlearn():
    # P(x) = 1e-400: the scaled pass multiplied 1e-200 by 1e-200 before normalising (-inf,
    # "probability 0"); it now divides each step's emissions by their largest entry and
    # normalises before multiplying
    rare = make_hmm([1.0], [[1.0]], [[1.0, 1e-200]])
    for n in (2, 3000):  # 3000: one long sequence, scored by products of matrices
        x = np.ones(n, dtype=int)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            for method in hmm.METHODS:
                assert score(rare, x, method=method)[0] == pytest.approx(n * math.log(1e-200),
                                                                         rel=1e-13)
            post = forward_backward(rare, x)
        assert post.log_likelihood[0] == pytest.approx(n * math.log(1e-200), rel=1e-13)
        assert _hmmlearn(rare).score(x[:, None]) == pytest.approx(n * math.log(1e-200),
                                                                  rel=1e-13)
    # near the edge, accuracy: 1e-158 per step went through the subnormals (error 2e-11)
    edge = make_hmm([1.0], [[1.0]], [[1.0, 1e-158]])
    assert score(edge, [1, 1, 1])[0] == pytest.approx(3 * math.log(1e-158), rel=1e-15)


def test_a_rarely_entered_state_needs_normalising_before_the_transition_product():
    # symbol 1 comes only from state 1, entered with probability 1e-200: P(x) = 0.5 1e-400
    rare = make_hmm([0.5, 0.5], [[1.0, 1e-200], [1.0, 1e-200]], [[1.0, 0.0], [0.0, 1.0]])
    lengths = [3, 1, 2500, 4]
    X = np.ones(sum(lengths), dtype=int)
    expected = np.array([math.log(0.5) + (n - 1) * math.log(1e-200) for n in lengths])
    for method in hmm.METHODS:
        np.testing.assert_allclose(score(rare, X, lengths, method=method), expected, rtol=1e-13)
        post = forward_backward(rare, X, lengths, method=method)
        np.testing.assert_allclose(post.log_likelihood, expected, rtol=1e-13)
        np.testing.assert_allclose(post.posterior, np.tile([0.0, 1.0], (X.size, 1)), atol=1e-15)
    np.testing.assert_allclose(score(rare, X[:2500]), expected[2], rtol=1e-13)  # by products
    path, best = viterbi(rare, X, lengths)
    assert (path == 1).all()
    np.testing.assert_allclose(best, expected, rtol=1e-13)  # one path only: best = total
    ll, grads = log_likelihood_gradient(rare, X, lengths)
    assert ll == pytest.approx(expected.sum(), rel=1e-13)
    assert all(np.isfinite(g).all() for g in grads)
    result = baum_welch(rare, X, lengths, max_iter=3)
    assert np.isfinite(result.log_likelihoods).all()


def test_gaussian_baum_welch_keeps_a_state_no_observation_belongs_to():
    # the M-step divided 0 by 0 for the state at 100 ("probability 0"); it keeps its own
    X = np.random.default_rng(0).normal(size=200)
    for offset in (0.0, 1e4, 1e9):
        start = make_hmm([0.5, 0.5], [[0.9, 0.1], [0.1, 0.9]], means=[[offset], [offset + 100]],
                         covars=[[1.0], [1.0]])
        for method in hmm.METHODS:
            result = baum_welch(start, X + offset, max_iter=20, method=method)
            assert np.isfinite(result.log_likelihoods).all()
            assert (np.diff(result.log_likelihoods) >= -1e-9 * abs(result.log_likelihoods[-1])
                    ).all()
            assert result.model.means[1, 0] == offset + 100 and result.model.covars[1, 0] == 1.0
            assert result.model.means[0, 0] - offset == pytest.approx(X.mean(), abs=1e-6)
            assert result.model.covars[0, 0] == pytest.approx(X.var(), rel=1e-6)


@pytest.mark.parametrize("offset, scale", [(1e4, 1.0), (1e8, 1.0), (1e9, 1.0), (-1e6, 1.0),
                                           (0.0, 1e-6), (0.0, 1e-100), (0.0, 1e6),
                                           (0.0, 1e100), (1e6, 1e-3)])
def test_gaussian_baum_welch_is_the_same_fit_at_any_offset_and_scale(offset, scale):
    # E[x^2] - mean^2 cancelled to nothing at offsets of 1e8 (probability 0), and the
    # absolute variance floor of 1e-10 broke fits at a scale of 1e-6 (likelihood went down)
    rng = np.random.default_rng(1)
    X = np.concatenate([rng.normal(0.0, 0.5, 150), rng.normal(3.0, 0.5, 150)])
    base = make_hmm([0.5, 0.5], [[0.9, 0.1], [0.1, 0.9]], means=[[-0.5], [3.5]],
                    covars=[[1.0], [1.0]])
    moved = make_hmm([0.5, 0.5], [[0.9, 0.1], [0.1, 0.9]],
                     means=[[offset - 0.5 * scale], [offset + 3.5 * scale]],
                     covars=[[scale**2], [scale**2]])
    ref = baum_welch(base, X, max_iter=15, tol=0)
    got = baum_welch(moved, offset + scale * X, max_iter=15, tol=0)
    np.testing.assert_allclose((got.model.means - offset) / scale, ref.model.means, atol=1e-6)
    np.testing.assert_allclose(got.model.covars / scale**2, ref.model.covars, rtol=1e-6)
    np.testing.assert_allclose(got.model.transmat, ref.model.transmat, atol=1e-6)
    # the densities scale by 1/scale per observation
    np.testing.assert_allclose(got.log_likelihoods + X.size * math.log(scale),
                               ref.log_likelihoods, rtol=1e-8)


def test_a_gaussian_state_that_collapses_onto_one_value_keeps_a_finite_rising_likelihood():
    start = make_hmm([0.5, 0.5], [[0.9, 0.1], [0.2, 0.8]], means=[[0.0], [1.0]],
                     covars=[[1.0], [1.0]])
    for value in (0.0, 0.5, 1e9 + 0.25):
        moved = make_hmm(start.startprob, start.transmat, means=start.means + value,
                         covars=start.covars)
        for method in hmm.METHODS:
            result = baum_welch(moved, np.full(50, value), max_iter=20, tol=0, method=method)
            ll = result.log_likelihoods
            assert np.isfinite(ll).all() and (np.diff(ll) >= 0).all()
            assert (result.model.means == value).all()  # the centre keeps it exact
            floor = (64 * np.finfo(float).eps * (abs(value) or 1.0)) ** 2
            np.testing.assert_allclose(result.model.covars, floor, rtol=1e-12)


def test_gaussian_inputs_beyond_float64_are_refused_naming_x():
    model = make_hmm([0.5, 0.5], [[0.9, 0.1], [0.2, 0.8]], means=[[0.0], [1.0]],
                     covars=[[1.0], [1.0]])
    # 1e6 standard deviations away: still resolved, and the log-space posteriors sum to 1
    # (they summed to 1.0000074: la + lb - ll cancelled huge numbers)
    for method in hmm.METHODS:
        post = forward_backward(model, [1e6, 0.5, 1e6], method=method)
        np.testing.assert_allclose(post.posterior.sum(axis=1), 1, rtol=1e-14)
        np.testing.assert_allclose(post.posterior[0], [0, 1], atol=1e-12)
    # 1e150 away, x - 1 == x: the two states cannot be told apart, and the two methods
    # disagreed (posteriors [0.5, 0.5] and [1, 1]); now refused
    for call in (forward_backward, viterbi, baum_welch):
        with pytest.raises(ValueError, match=r"X\[0\] lies 1e\+150 standard deviations"):
            call(model, [1e150, 0.5])
    with pytest.raises(ValueError, match="X has entries as large as 1e\\+200"):
        baum_welch(make_hmm([1.0], [[1.0]], means=[1e200], covars=[1.0]), [1e200, 1e200])
    with pytest.raises(ValueError, match="X spreads over only"):
        baum_welch(make_hmm([1.0], [[1.0]], means=[0.0], covars=[1e-300]), [0.0, 1e-150])
    with pytest.warns(RuntimeWarning, match="density underflows"):
        assert score(model, [1e200])[0] == -np.inf  # e^-5e399 is 0 in float64


def test_float32_tables_are_taken_at_float32_precision():
    p32 = np.array([0.6, 0.4], np.float32)  # sums to 1.00000003 in float64
    A32 = np.array([[0.7, 0.3], [0.2, 0.8]], np.float32)
    E32 = np.full((2, 7), 1 / 7, np.float32)
    model = make_hmm(p32, A32, E32)
    for table in (model.startprob, model.transmat, model.emissionprob):
        assert table.dtype == np.float64
        np.testing.assert_allclose(table.sum(axis=-1), 1, rtol=0, atol=1e-15)
    np.testing.assert_allclose(model.startprob, p32, rtol=1e-7)
    many = make_hmm(np.full(200, 1 / 200, np.float32), np.full((200, 200), 1 / 200, np.float32),
                    np.full((200, 3), 1 / 3, np.float32))
    assert many.n_states == 200
    with pytest.raises(ValueError, match="startprob sums to"):
        make_hmm(np.array([0.6, 0.41], np.float32), A32, E32)  # off by 1e-2, not rounding
    with pytest.raises(ValueError, match="startprob sums to"):
        make_hmm([0.6, 0.4 + 1e-7], A32, E32)  # float64 keeps its 1e-8
    X, _ = sample(model, [10, 5], seed=0)
    assert np.isfinite(baum_welch(model, X, [10, 5], max_iter=3).log_likelihoods).all()


def test_xp_must_be_an_array_module():
    with pytest.raises(TypeError, match="xp must be None"):
        random_hmm(2, 3, xp="numpy")
    with pytest.raises(TypeError, match="xp must be None"):
        random_hmm(2, 3, xp=3)
    assert isinstance(random_hmm(2, 3, xp=np).transmat, np.ndarray)


def test_gradient_ascent_that_diverges_names_lr():
    X, _ = sample(CASINO, [50, 50], seed=0)
    for lr in (1e3, 1e300):  # the softmax underflowed to 0, then "probability 0" came out
        with pytest.raises(ValueError, match=r"lr \S+ is too large: gradient ascent diverged"):
            gradient_ascent(CASINO, X, [50, 50], max_iter=20, lr=lr)
    assert np.isfinite(gradient_ascent(CASINO, X, [50, 50], max_iter=20, lr=10).log_likelihoods
                       ).all()


def test_the_gradient_ascent_rate_is_per_observation():
    # the same lr takes the same first step on the mean log-likelihood, whatever the data size
    X, _ = sample(CASINO, [40] * 5, seed=2)
    few = gradient_ascent(CASINO, X, [40] * 5, max_iter=1, lr=1.0).model
    many = gradient_ascent(CASINO, np.tile(X, 4), [40] * 20, max_iter=1, lr=1.0).model
    np.testing.assert_allclose(few.transmat, many.transmat, rtol=1e-12)
    np.testing.assert_allclose(few.emissionprob, many.emissionprob, rtol=1e-12)


test_bad_arguments_name_themselves = names_the_argument({
    "startprob": (lambda v: make_hmm(v, [[1.0]], [[1.0]]), [[0.5], [-1.0], [[1.0]], [np.nan]]),
    "transmat": (lambda v: make_hmm([1.0], v, [[1.0]]), [[[0.5]], [[2.0, -1.0]], [1.0]]),
    "emissionprob": (lambda v: make_hmm([1.0], [[1.0]], v),
                     [[[0.2, 0.2]], [[1.0], [1.0]], [[-1.0, 2.0]]]),
    "X": (lambda v: score(CASINO, v), [[6], [-1], [], [0.5, 1.0], "abc"]),
    "lengths": (lambda v: score(CASINO, [0, 1, 2], v), [[2], [0, 3], [-1, 4], [[3]]]),
    "method": (lambda v: score(CASINO, [0], method=v), ["fast", 3]),
    "max_iter": (lambda v: baum_welch(CASINO, [0, 1], max_iter=v), [0, 1.5]),
    "lr": (lambda v: gradient_ascent(CASINO, [0, 1], lr=v), [0.0, -1.0, 1e300, np.inf]),
    "tol": (lambda v: baum_welch(CASINO, [0, 1], tol=v), [-1.0, np.nan, "0"]),
    "xp": (lambda v: random_hmm(2, 2, xp=v), ["numpy", 3, np.float64]),
    "concentration": (lambda v: random_hmm(2, 2, concentration=v), [0.0, -1.0, np.nan]),
    "n_symbols": (lambda v: random_hmm(2, v), [0, 2.5]),
    "means": (lambda v: make_hmm([1.0], [[1.0]], means=v, covars=[1.0]),
              [[np.inf], [[0.0], [1.0]], "a"]),
    "covars": (lambda v: make_hmm([1.0], [[1.0]], means=[0.0], covars=v),
               [[0.0], [-1.0], [np.nan]]),
    "X  ": (lambda v: baum_welch(make_hmm([1.0], [[1.0]], means=[0.0], covars=[1.0]), v),
            [[1e200, 0.0], [0.0, 1e-150], [1e9, 1e9 + 1]]),
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
    result = baum_welch(random_hmm(K, M, seed=seed), X, lengths, max_iter=5, tol=0)
    assert isinstance(result, HMMFit)
    gains = np.diff(result.log_likelihoods)
    assert (gains >= -1e-8 * (1 + np.abs(result.log_likelihoods[1:]))).all()
    np.testing.assert_allclose(result.model.transmat.sum(axis=1), 1)
    ascent = gradient_ascent(random_hmm(K, M, seed=seed), X, lengths, max_iter=3, lr=0.05)
    assert np.isfinite(ascent.log_likelihoods).all()
    best, finals = fit(X, lengths, n_states=K, n_symbols=M, n_restarts=2, max_iter=3, seed=seed)
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
    result = baum_welch(model, X, lengths, max_iter=3, tol=0)
    gains = np.diff(result.log_likelihoods)
    assert (gains >= -1e-8 * (1 + np.abs(result.log_likelihoods[1:]))).all()


def _sharpened(model, power):
    """The model with every probability raised to power and renormalised, none below e^-700
    (1e-304): power 100 turns 0.1 against 0.9 into 1e-96, the ground where a scaled pass that
    multiplies before normalising underflows. Every probability stays positive, so data drawn
    from another model keep a finite log-likelihood."""
    def sharpen(p):
        logp = power * np.log(p)
        q = np.exp(np.maximum(logp - logp.max(axis=-1, keepdims=True), -700.0))
        return q / q.sum(axis=-1, keepdims=True)
    return make_hmm(sharpen(model.startprob), sharpen(model.transmat),
                    sharpen(model.emissionprob))


@given(st.integers(1, 4), st.integers(1, 5), st.lists(st.integers(1, 9), min_size=1, max_size=4),
       st.integers(0, 10**6), st.sampled_from([0.05, 1.0, 20.0]),
       st.sampled_from([1.0, 30.0, 150.0]))
@MORE
def test_property_scaled_and_log_forward_backward_agree_and_posteriors_sum_to_1(
        K, M, lengths, seed, concentration, power):
    model = _sharpened(random_hmm(K, M, seed=seed, concentration=concentration), power)
    X, _ = sample(random_hmm(K, M, seed=seed + 1), lengths, seed=seed)  # rare events included
    scaled = forward_backward(model, X, lengths)
    logs = forward_backward(model, X, lengths, method="log")
    assert np.isfinite(scaled.log_likelihood).all()
    np.testing.assert_allclose(scaled.log_likelihood, logs.log_likelihood, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(score(model, X, lengths), logs.log_likelihood, rtol=1e-9,
                               atol=1e-9)
    for post in (scaled, logs):
        np.testing.assert_allclose(post.posterior.sum(axis=1), 1, rtol=1e-12)
        assert (post.posterior >= 0).all()
    np.testing.assert_allclose(scaled.posterior, logs.posterior, atol=1e-9)
    np.testing.assert_allclose(scaled.trans_counts, logs.trans_counts, atol=1e-8 * sum(lengths))


@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 6), st.integers(0, 10**6),
       st.sampled_from([0.05, 1.0]), st.sampled_from([1.0, 60.0]))
@MORE
def test_property_viterbi_is_the_best_path_by_brute_force(K, M, T, seed, concentration, power):
    model = _sharpened(random_hmm(K, M, seed=seed, concentration=concentration), power)
    x, _ = sample(random_hmm(K, M, seed=seed + 1), T, seed=seed)
    path, best = viterbi(model, x)
    total, top, _ = brute_force(model, x)
    assert best[0] == pytest.approx(top, rel=1e-12, abs=1e-12)  # the maximum over K^T paths
    own = (_log(model.startprob[path[0]]) + _log(model.emissionprob[path[0], x[0]])
           + sum(_log(model.transmat[path[t - 1], path[t]])
                 + _log(model.emissionprob[path[t], x[t]]) for t in range(1, T)))
    assert own == pytest.approx(top, rel=1e-12, abs=1e-12)  # the path returned attains it
    assert score(model, x)[0] == pytest.approx(total, rel=1e-12, abs=1e-12)
    assert best[0] <= score(model, x)[0] + 1e-12


@given(st.integers(1, 3), st.integers(1, 2), st.lists(st.integers(2, 12), min_size=1,
                                                       max_size=3), st.integers(0, 10**6),
       st.sampled_from([0.0, 1e3, -1e6, 1e9]), st.sampled_from([1e-6, 1.0, 1e6]),
       st.sampled_from(hmm.METHODS))
@MORE
def test_property_gaussian_baum_welch_never_lowers_the_likelihood_at_any_offset_and_scale(
        K, D, lengths, seed, offset, scale, method):
    truth = gaussian_model(K, D, seed=seed)
    X, _ = sample(truth, lengths, seed=seed)
    start = gaussian_model(K, D, seed=seed + 1)
    start = make_hmm(start.startprob, start.transmat, means=offset + scale * start.means,
                     covars=scale**2 * start.covars)
    result = baum_welch(start, offset + scale * X, lengths, max_iter=5, tol=0, method=method)
    ll = result.log_likelihoods
    assert np.isfinite(ll).all() and (result.model.covars > 0).all()
    assert (np.diff(ll) >= -1e-8 * (1 + np.abs(ll[1:]))).all()


@given(st.integers(1, 3), st.integers(2, 4), st.lists(st.integers(1, 10), min_size=1,
                                                       max_size=4), st.integers(0, 10**6),
       st.sampled_from([1.0, 40.0]), st.sampled_from(hmm.METHODS))
@MORE
def test_property_categorical_baum_welch_never_lowers_the_likelihood(K, M, lengths, seed, power,
                                                                     method):
    X, _ = sample(random_hmm(K, M, seed=seed + 1), lengths, seed=seed)
    start = _sharpened(random_hmm(K, M, seed=seed), power)  # every probability positive
    result = baum_welch(start, X, lengths, max_iter=5, tol=0, method=method)
    ll = result.log_likelihoods
    assert np.isfinite(ll).all()
    assert (np.diff(ll) >= -1e-8 * (1 + np.abs(ll[1:]))).all()
    np.testing.assert_allclose(result.model.transmat.sum(axis=1), 1, rtol=1e-12)


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
    same(baum_welch(gpu, Xg, lengths, max_iter=3).model.emissionprob,
         baum_welch(model, X, lengths, max_iter=3).model.emissionprob)
    same(gradient_ascent(gpu, Xg, lengths, max_iter=2).model.transmat,
         gradient_ascent(model, X, lengths, max_iter=2).model.transmat)
    same(log_likelihood_gradient(gpu, Xg, lengths)[1][1],
         log_likelihood_gradient(model, X, lengths)[1][1])
    same(fit(Xg, lengths, n_states=2, n_symbols=5, n_restarts=2, max_iter=3)[0].model.transmat,
         fit(X, lengths, n_states=2, n_symbols=5, n_restarts=2, max_iter=3)[0].model.transmat)
    g = gaussian_model(2, 1)
    gg = make_hmm(*(cupy.asarray(p) for p in (g.startprob, g.transmat)),
                  means=cupy.asarray(g.means), covars=cupy.asarray(g.covars))
    Xc, _ = sample(g, [20, 5], seed=0)
    same(score(gg, cupy.asarray(Xc), [20, 5]), score(g, Xc, [20, 5]))
    same(baum_welch(gg, cupy.asarray(Xc), [20, 5], max_iter=2).model.means,
         baum_welch(g, Xc, [20, 5], max_iter=2).model.means)
    long_x = sample(model, 2500, seed=3)[0]
    same(score(gpu, cupy.asarray(long_x)), score(model, long_x))  # by products
    with pytest.raises(backend.DeviceMismatchError, match="X"):
        score(gpu, X, lengths)
    # the edges: probabilities of 1e-200 (scaling falls back to log space where it must),
    # float32 tables, a Gaussian state that no observation belongs to
    rare = make_hmm([0.5, 0.5], [[1.0, 1e-200], [1.0, 1e-200]], [[1.0, 0.0], [0.0, 1.0]])
    rare_g = make_hmm(*(cupy.asarray(p) for p in (rare.startprob, rare.transmat,
                                                   rare.emissionprob)))
    ones = np.ones(2500, dtype=int)
    for x, lens in ((ones[:12], [5, 7]), (ones, None)):
        same(score(rare_g, cupy.asarray(x), lens), score(rare, x, lens), atol=1e-9)
    same(forward_backward(rare_g, cupy.asarray(ones[:12]), [5, 7]).posterior,
         forward_backward(rare, ones[:12], [5, 7]).posterior)
    f32 = make_hmm(*(cupy.asarray(p, dtype=cupy.float32) for p in ([0.6, 0.4], [[0.7, 0.3],
                                                                              [0.2, 0.8]])),
                   cupy.asarray([[0.1, 0.9], [0.3, 0.7]], dtype=cupy.float32))
    same(f32.startprob.sum(), 1.0, atol=1e-15)
    far = make_hmm([0.5, 0.5], [[0.9, 0.1], [0.1, 0.9]], means=[[0.0], [100.0]],
                   covars=[[1.0], [1.0]])
    far_g = make_hmm(*(cupy.asarray(p) for p in (far.startprob, far.transmat)),
                     means=cupy.asarray(far.means), covars=cupy.asarray(far.covars))
    near0 = np.random.default_rng(0).normal(size=50)
    same(baum_welch(far_g, cupy.asarray(near0), max_iter=3).model.means,
         baum_welch(far, near0, max_iter=3).model.means)


# ----------------------------------------------------------------------------- the steps shown


def brute_force_log_likelihood(model, x):
    """log P(x) of one short sequence, summed over every hidden path (K^T of them)."""
    pi, A, E = (backend.to_numpy(p) for p in (model.startprob, model.transmat,
                                               model.emissionprob))
    total = 0.0
    for z in itertools.product(range(pi.size), repeat=len(x)):
        p = pi[z[0]] * E[z[0], x[0]]
        for t in range(1, len(x)):
            p *= A[z[t - 1], z[t]] * E[z[t], x[t]]
        total += p
    return math.log(total)


def packed_emissions(model, packed):
    """b (T, K, B): P(x_t | state k) of every packed cell, 0 in the padding, unscaled."""
    return model.emissionprob[:, packed.x].transpose(1, 0, 2) * packed.valid[:, None, :]


@given(st.integers(1, 3), st.integers(1, 4), st.lists(st.integers(1, 6), min_size=1,
                                                       max_size=4), st.integers(0, 1000))
@FAST
def test_property_the_shown_steps_are_what_the_public_functions_compute(K, M, lengths, seed):
    model = random_hmm(K, M, seed=seed)
    X, _ = sample(random_hmm(K, M, seed=seed + 1), lengths, seed=seed)
    packed = pack_sequences(X, lengths)
    assert isinstance(packed, PackedSequences)
    np.testing.assert_array_equal(packed.x[packed.valid], X[packed.flat])
    assert packed.active == sorted(packed.active, reverse=True)
    assert packed.active[0] == len(lengths) and sum(packed.active) == len(X)
    starts = np.cumsum(lengths) - lengths
    brute = [brute_force_log_likelihood(model, X[s:s + n].tolist())
             for s, n in zip(starts, lengths, strict=True)]
    b = packed_emissions(model, packed)
    alpha, c = scaled_forward(model.startprob, model.transmat, b, packed.active)
    np.testing.assert_allclose(np.log(c).sum(axis=0), np.array(brute)[packed.order],
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(alpha.sum(axis=1)[packed.valid], 1, rtol=1e-12)
    beta, _ = scaled_backward(model.transmat, b, c, packed.active)
    post = forward_backward(model, X, lengths)
    gamma_by_passes = (alpha * beta).transpose(0, 2, 1)[packed.valid]
    np.testing.assert_allclose(gamma_by_passes, post.posterior[packed.flat], atol=1e-10)
    ll, gamma, trans = e_step(model, packed)
    np.testing.assert_allclose(ll, np.array(brute)[packed.order], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gamma, alpha * beta, atol=1e-12)
    np.testing.assert_allclose(trans, post.trans_counts, atol=1e-12)
    one_step = baum_welch(model, X, lengths, max_iter=1).model
    stepped = m_step(model, packed, gamma, trans)
    for name in ("startprob", "transmat", "emissionprob"):
        np.testing.assert_allclose(getattr(stepped, name), getattr(one_step, name), atol=1e-12)
    _, grads = logit_gradient(model, packed)
    total, public_grads = log_likelihood_gradient(model, X, lengths)
    assert total == pytest.approx(sum(brute), rel=1e-10, abs=1e-12)
    for g, h in zip(grads, public_grads, strict=True):
        np.testing.assert_allclose(g, h, atol=1e-12)
    x = X[:lengths[0]]
    one = pack_sequences(x)
    by_products = score_by_products(model.startprob, model.transmat,
                                    packed_emissions(model, one))
    assert by_products is not None and float(by_products) == pytest.approx(brute[0], rel=1e-10,
                                                                         abs=1e-12)


def test_the_shown_steps_check_their_arguments():
    packed = pack_sequences([0, 1, 2, 1], [3, 1])
    with pytest.raises(ValueError, match="packed.x must hold ints in \\[0, 2\\)"):
        e_step(random_hmm(2, 2), packed)
    with pytest.raises(TypeError, match="packed must be PackedSequences"):
        m_step(CASINO, "packed", np.ones((3, 2, 2)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="active must count the running sequences"):
        scaled_forward(np.ones(2) / 2, np.eye(2), np.ones((3, 2, 2)), [2, 1, 2])
    with pytest.raises(ValueError, match="model must have categorical emissions"):
        logit_gradient(make_hmm([1.0], [[1.0]], means=[0.0], covars=[1.0]), packed)
    with pytest.raises(ValueError, match="lengths must sum to the number of observations"):
        pack_sequences([0, 1, 2], [2, 2])


@pytest.mark.parametrize("learner", ["baum_welch", "gradient_ascent", "fit"])
def test_the_old_keyword_n_iter_warns_and_gives_the_same_fit(learner):
    X, _ = sample(CASINO, [30, 20], seed=1)
    call = {"baum_welch": lambda **kw: baum_welch(random_hmm(2, 6, seed=2), X, [30, 20], **kw),
            "gradient_ascent": lambda **kw: gradient_ascent(random_hmm(2, 6, seed=2), X,
                                                            [30, 20], **kw),
            "fit": lambda **kw: fit(X, [30, 20], n_states=2, n_symbols=6, n_restarts=2,
                                    **kw)[0]}[learner]
    new = call(max_iter=4)
    with pytest.warns(DeprecationWarning, match=f"{learner}\\(n_iter=...\\) is now "
                                                f"{learner}\\(max_iter=...\\)"):
        old = call(n_iter=4)
    np.testing.assert_array_equal(old.log_likelihoods, new.log_likelihoods)
    np.testing.assert_array_equal(old.model.transmat, new.model.transmat)
    with pytest.raises(TypeError, match="got both n_iter= and max_iter="):
        call(n_iter=4, max_iter=4)


def test_an_hmm_built_directly_is_checked_and_fit_packs_once(monkeypatch):
    with pytest.raises(ValueError, match="HMM.transmat's row 0 sums to 1.5"):
        HMM(np.array([0.5, 0.5]), np.array([[1.0, 0.5], [0.5, 0.5]]), np.eye(2))
    with pytest.raises(ValueError, match="give emissionprob"):
        HMM(np.array([1.0]), np.array([[1.0]]))
    packings = []
    original = hmm.pack_sequences

    def counting(*args, **kwargs):
        packings.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(hmm, "pack_sequences", counting)
    X, _ = sample(CASINO, [30, 20], seed=1)
    fit(X, [30, 20], n_states=2, n_symbols=6, n_restarts=4, max_iter=3)
    assert len(packings) == 1  # not once per restart
