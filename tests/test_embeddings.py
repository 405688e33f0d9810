import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils import embeddings
from course_utils.embeddings import (
    WordVectors,
    keep_probabilities,
    sgd_step_rows,
    sgns_loss,
    skipgram_pairs,
    train_word2vec,
)
from course_utils.gradcheck import numerical_gradient, relative_error
from course_utils.similarity import most_similar

FAST = settings(max_examples=15, deadline=None)


def test_the_negative_sampling_gradients_match_central_differences():
    rng = np.random.default_rng(0)
    V_in, U_out = rng.standard_normal((6, 4)), rng.standard_normal((6, 4))
    centers, contexts = np.array([0, 2, 2, 5]), np.array([1, 3, 0, 4])
    negatives = rng.integers(0, 6, (4, 3))
    _, d_c, d_o, d_n = sgns_loss(V_in, U_out, centers, contexts, negatives)
    dV, dU = np.zeros_like(V_in), np.zeros_like(U_out)
    np.add.at(dV, centers, d_c)
    np.add.at(dU, contexts, d_o)
    np.add.at(dU, negatives.ravel(), d_n.reshape(-1, 4))

    def loss():
        return sgns_loss(V_in, U_out, centers, contexts, negatives)[0]

    assert relative_error(dV, numerical_gradient(loss, V_in)) < 1e-8
    assert relative_error(dU, numerical_gradient(loss, U_out)) < 1e-8


def test_the_loss_is_the_formula_for_one_pair():
    v, u_o, u_n = np.array([[0.5, -1.0]]), np.array([[1.0, 2.0]]), np.array([[[0.3, 0.1]]])
    V_in, U_out = np.vstack([v, [[0, 0]]]), np.vstack([u_o, u_n[0]])
    loss = sgns_loss(V_in, U_out, np.array([0]), np.array([0]), np.array([[1]]))[0]

    def sig(a):
        return 1 / (1 + math.exp(-a))

    expected = -math.log(sig(v[0] @ u_o[0])) - math.log(sig(-(v[0] @ u_n[0, 0])))
    assert math.isclose(loss, expected, rel_tol=1e-12)


def test_pairs_are_every_window_pair_by_brute_force():
    lines = [np.array([4, 5, 6, 7]), np.array([1]), np.array([2, 3])]
    centers, contexts = skipgram_pairs(lines, 2)
    expected = sorted((int(line[i]), int(line[j])) for line in lines
                      for i in range(len(line)) for j in range(len(line))
                      if i != j and abs(i - j) <= 2)
    assert sorted(zip(centers.tolist(), contexts.tolist(), strict=True)) == expected


def test_words_that_share_contexts_end_up_close():
    rng = np.random.default_rng(0)
    animals, tools = ["cat", "dog", "cow"], ["saw", "drill", "hammer"]
    lines = [f"the {rng.choice(animals)} eats grass and sleeps" for _ in range(300)]
    lines += [f"a {rng.choice(tools)} cuts wood with noise" for _ in range(300)]
    wv = train_word2vec("\n".join(lines), dim=8, window=2, n_epochs=5, lr=0.5, batch_size=64,
                        seed=0)
    assert wv.losses[-1] < wv.losses[0]
    for group in (animals, tools):
        for word in group:
            idx, _ = most_similar(wv.vectors[wv.index[word]], wv.vectors, k=3)
            assert {wv.vocab[i] for i in idx} == set(group), word


def test_bad_input_names_the_argument():
    with pytest.raises(TypeError, match="text must be a str"):
        train_word2vec(["a b"])
    with pytest.raises(ValueError, match="dim must be at least 1"):
        train_word2vec("a b a b", dim=0)
    with pytest.raises(ValueError, match="min_count"):
        train_word2vec("a b c", min_count=2)
    with pytest.raises(ValueError, match="lr"):
        train_word2vec("a b a b", lr=0)
    with pytest.raises(ValueError, match="window"):
        skipgram_pairs([np.array([1, 2])], 0)


@FAST
@given(words=st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), min_size=4, max_size=40),
       dim=st.integers(1, 6), window=st.integers(1, 3), negatives=st.integers(1, 4),
       seed=st.integers(0, 2**32))
def test_training_gives_finite_vectors_for_every_kept_word(words, dim, window, negatives, seed):
    text = " ".join(words)
    if len(set(words)) < 2:
        with pytest.raises(ValueError, match="fewer than 2 words"):
            train_word2vec(text, min_count=1)
        return
    wv = train_word2vec(text, dim=dim, window=window, negatives=negatives, n_epochs=2,
                        min_count=1, seed=seed)
    assert isinstance(wv, WordVectors)
    assert wv.vectors.shape == (len(set(words)), dim) == wv.contexts.shape
    assert np.isfinite(wv.vectors).all() and all(math.isfinite(x) for x in wv.losses)
    assert sorted(wv.vocab) == sorted(set(words)) and wv.counts.sum() == len(words)
    centers, contexts = skipgram_pairs([np.arange(len(words))], window)
    n = len(words)
    assert centers.size == 2 * sum(max(n - s, 0) for s in range(1, window + 1))
    assert (np.abs(centers - contexts) <= window).all()


# ----------------------------------------------------------------------------- edges (issue 27)


def old_step(W, rows, grads, lr):
    """The update by hand, one gradient at a time: the mean of each row's gradients."""
    total, seen = np.zeros_like(W), np.zeros(len(W))
    for r, g in zip(rows, grads, strict=True):
        total[r] += g
        seen[r] += 1
    for r in np.flatnonzero(seen):
        W[r] -= lr * total[r] / seen[r]


@FAST
@given(V=st.integers(1, 30), d=st.integers(1, 6), B=st.integers(1, 200),
       lr=st.floats(1e-3, 2.0), seed=st.integers(0, 2**32))
def test_property_the_step_is_the_mean_gradient_of_each_row_as_by_hand(V, d, B, lr, seed):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((V, d))
    expected = W.copy()
    rows, grads = rng.integers(0, V, B), rng.standard_normal((B, d))
    old_step(expected, rows, grads, lr)
    assert sgd_step_rows(W, rows, grads, lr) is None
    np.testing.assert_allclose(W, expected, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("lines, error, message", [
    ([np.array([1.7, 2.2])], TypeError, r"lines\[0\] must hold ints"),  # was truncated to 1, 2
    ([np.array([[1, 2], [3, 4]])], ValueError, r"lines\[0\] must be 1-D"),  # was accepted
    (np.array([1, 2, 3]), TypeError, "got one 1-D array.*pass \\[ids\\]"),  # was zero pairs
    ([np.array([-1, 2])], ValueError, r"lines\[0\] must hold ints in 0 or more"),
    ([np.array([True, False])], TypeError, r"lines\[0\] must hold ints"),
    ([np.array([np.nan, 1.0])], TypeError, r"lines\[0\] must hold ints"),
    ([np.array([1]), ["a", "b"]], TypeError, r"lines\[1\] must hold ints"),
    ("abc", TypeError, "lines must be a list"),
    (None, TypeError, "lines must be a list"),
    (5, TypeError, "lines must be a list"),
    ([3], ValueError, r"lines\[0\] must be 1-D"),
])
def test_skipgram_pairs_refuses_what_is_not_lines_of_word_ids(lines, error, message):
    with pytest.raises(error, match=message):
        skipgram_pairs(lines, 1)


def test_skipgram_pairs_takes_empty_lines_rows_and_any_window_quickly():
    lines = [np.array([]), np.array([4, 5, 6]), [], np.zeros(0, dtype=np.int32), [7]]
    centers, contexts = skipgram_pairs(lines, 10**9)  # was a Python loop of 10⁹ shifts
    assert sorted(zip(centers.tolist(), contexts.tolist(), strict=True)) == sorted(
        [(4, 5), (5, 4), (5, 6), (6, 5), (4, 6), (6, 4)])
    rows = np.array([[1, 2, 3], [4, 5, 6]])
    for a, b in zip(skipgram_pairs(rows, 1), skipgram_pairs(list(rows), 1), strict=True):
        np.testing.assert_array_equal(a, b)
    empty = skipgram_pairs([], 2)
    assert empty[0].size == 0 and empty[0].dtype == np.int64


def test_a_diverging_run_raises_instead_of_returning_infinite_vectors():
    """Issue 27: lr=1e300 returned ±inf vectors (the loss of the last batch was finite); lr=1
    on the poems returned finite vectors after losses of 1e10 per pair."""
    with pytest.raises(ValueError, match=r"training diverged in epoch 2.*lower lr \(now 1e\+300"):
        train_word2vec("the cat sat on the mat the cat sat", lr=1e300, n_epochs=2)
    from course_utils.datasets import load_text
    with pytest.raises(ValueError, match="training diverged"):
        train_word2vec(load_text("poe"), lr=2.0, n_epochs=3, min_count=3)


def test_keep_probabilities_is_mikolov_s_formula():
    counts = np.array([1, 10, 100, 889])
    f = counts / counts.sum()
    np.testing.assert_allclose(keep_probabilities(counts, 1e-2), np.minimum(1, np.sqrt(1e-2 / f)))
    assert keep_probabilities(counts, 1.0).tolist() == [1.0] * 4
    with pytest.raises(ValueError, match="threshold"):
        keep_probabilities(counts, 0.0)
    with pytest.raises(ValueError, match="counts must hold ints in"):
        keep_probabilities(np.array([0, 3]), 1e-3)
    with pytest.raises(TypeError, match="counts must hold ints"):
        keep_probabilities(np.array([1.5, 3]), 1e-3)
    with pytest.raises(ValueError, match="subsample must be in"):
        train_word2vec("a b a b", subsample=2.0)


def test_subsampling_brings_words_apart_within_the_window():
    """In "a x x x x b" a and b stand 5 apart: with window 1 they never pair, and their score
    stays as low as that of words never seen together; subsampling the frequent x brings
    them side by side in some lines of every pass, and their score rises."""
    text = "\n".join(["a x x x x b", "c x x x x d"] * 300)
    for seed in range(3):
        score = {}
        for sub in (None, 0.05):
            wv = train_word2vec(text, dim=4, window=1, n_epochs=10, lr=0.5, min_count=1,
                                subsample=sub, seed=seed)
            v, u = wv.vectors, wv.contexts
            score[sub] = {(p, q): float(v[wv.index[p]] @ u[wv.index[q]])
                          for p, q in [("a", "b"), ("a", "d"), ("c", "d"), ("c", "b")]}
        assert max(score[None].values()) - min(score[None].values()) < 0.5, score[None]
        assert min(score[0.05][("a", "b")], score[0.05][("c", "d")]) > \
            max(score[0.05][("a", "d")], score[0.05][("c", "b")]) + 0.5, score[0.05]


@FAST
@given(lines=st.lists(st.lists(st.integers(0, 9), max_size=7), max_size=6),
       window=st.integers(1, 9))
def test_property_pairs_are_every_window_pair_by_brute_force(lines, window):
    centers, contexts = skipgram_pairs(lines, window)
    expected = sorted((line[i], line[j]) for line in lines for i in range(len(line))
                      for j in range(len(line)) if i != j and abs(i - j) <= window)
    assert sorted(zip(centers.tolist(), contexts.tolist(), strict=True)) == expected
    assert centers.dtype == contexts.dtype == np.int64


@FAST
@given(counts=st.lists(st.integers(1, 10**6), min_size=1, max_size=20),
       threshold=st.floats(1e-6, 1.0))
def test_property_keep_probabilities_are_probabilities_falling_with_frequency(counts,
                                                                             threshold):
    keep = keep_probabilities(np.array(counts), threshold)
    assert ((keep > 0) & (keep <= 1)).all()
    order = np.argsort(counts, kind="stable")
    assert (np.diff(keep[order]) <= 1e-15).all()  # more frequent, kept less often


@FAST
@given(words=st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), min_size=4, max_size=40),
       subsample=st.sampled_from([None, 1e-3, 0.1, 1.0]), lr=st.sampled_from([1e-3, 0.2, 1.0]),
       seed=st.integers(0, 2**32))
def test_property_training_is_finite_or_a_clear_divergence(words, subsample, lr, seed):
    text = " ".join(words)
    if len(set(words)) < 2:
        return
    try:
        wv = train_word2vec(text, dim=3, window=2, n_epochs=3, lr=lr, min_count=1,
                            subsample=subsample, seed=seed)
    except ValueError as err:
        assert "diverged" in str(err) and "lr" in str(err)
        return
    assert np.isfinite(wv.vectors).all() and np.isfinite(wv.contexts).all()
    assert all(0 <= loss <= embeddings.DIVERGED * 4 * math.log(2) for loss in wv.losses)


# ------------------------------------------------------------------------ public surface (issue 28)


@FAST
@given(V=st.integers(2, 8), d=st.integers(1, 4), B=st.integers(1, 5), k=st.integers(1, 3),
       seed=st.integers(0, 2**32))
def test_property_the_batch_loss_is_the_sum_of_the_pairs_and_its_gradients_are_its_slopes(
        V, d, B, k, seed):
    """sgns_loss of a batch is the sum of the one-pair losses (by the formula), and every
    gradient row it returns matches central differences of that pair's loss."""
    rng = np.random.default_rng(seed)
    V_in, U_out = rng.standard_normal((V, d)), rng.standard_normal((V, d))
    centers, contexts = rng.integers(0, V, B), rng.integers(0, V, B)
    negatives = rng.integers(0, V, (B, k))
    loss, d_c, d_o, d_n = sgns_loss(V_in, U_out, centers, contexts, negatives)
    assert d_c.shape == d_o.shape == (B, d) and d_n.shape == (B, k, d)

    def log_sig(a):
        return -math.log1p(math.exp(-a)) if a > 0 else a - math.log1p(math.exp(a))

    by_pair = [-log_sig(U_out[o] @ V_in[c]) - sum(log_sig(-(U_out[n] @ V_in[c])) for n in ns)
               for c, o, ns in zip(centers, contexts, negatives, strict=True)]
    assert math.isclose(loss, sum(by_pair), rel_tol=1e-10)
    b = int(rng.integers(B))  # one pair's gradients against its own loss's slopes
    v, u_o, u_n = V_in[centers[b]].copy(), U_out[contexts[b]].copy(), U_out[negatives[b]].copy()

    def pair_loss():  # the formula, by hand, reading v, u_o, u_n (nudged in place)
        return -log_sig(u_o @ v) - sum(log_sig(-(u @ v)) for u in u_n)

    assert relative_error(d_c[b], numerical_gradient(pair_loss, v)) < 1e-6
    assert relative_error(d_o[b], numerical_gradient(pair_loss, u_o)) < 1e-6
    assert relative_error(d_n[b], numerical_gradient(pair_loss, u_n)) < 1e-6


def test_the_old_epochs_keyword_warns_and_gives_the_same_vectors():
    text = "the cat sat on the mat\nthe dog sat on the log"
    new = train_word2vec(text, dim=4, n_epochs=3, min_count=1, seed=1)
    with pytest.warns(DeprecationWarning, match=r"train_word2vec\(epochs=...\) is now "
                                                r"train_word2vec\(n_epochs=...\)"):
        old = train_word2vec(text, dim=4, epochs=3, min_count=1, seed=1)
    np.testing.assert_array_equal(old.vectors, new.vectors)
    assert old.losses == new.losses and len(new.losses) == 3
    with pytest.raises(TypeError, match="both epochs= and n_epochs="):
        train_word2vec(text, epochs=3, n_epochs=3)


def test_word_vectors_built_from_outside_check_their_fields():
    wv = train_word2vec("a b a b c a", dim=2, min_count=1, n_epochs=1)
    fields = dict(vocab=wv.vocab, index=wv.index, vectors=wv.vectors, contexts=wv.contexts,
                  counts=wv.counts, losses=wv.losses)
    assert WordVectors(**fields).vocab == ("a", "b", "c")
    for change, error, message in [
        (dict(vocab=["a", "b", "c"]), TypeError, "WordVectors.vocab must be a non-empty tuple"),
        (dict(vocab=("a", "a", "c")), ValueError, "WordVectors.vocab must not repeat"),
        (dict(index={"a": 1, "b": 0, "c": 2}), ValueError, "WordVectors.index must map"),
        (dict(vectors=wv.vectors[:2]), ValueError, "WordVectors.vectors must have one row"),
        (dict(vectors=np.full((3, 2), np.nan)), ValueError, "WordVectors.vectors contains NaN"),
        (dict(contexts=wv.contexts[:, :1]), ValueError, "WordVectors.contexts must have the "
                                                        "shape of vectors"),
        (dict(counts=np.array([1, 0, 2])), ValueError, "WordVectors.counts must hold ints"),
        (dict(losses="low"), TypeError, "WordVectors.losses must be a list"),
    ]:
        with pytest.raises(error, match=message):
            WordVectors(**{**fields, **change})


def test_the_batch_functions_name_their_bad_arguments():
    V_in = np.zeros((4, 2))
    ok = dict(V_in=V_in, U_out=V_in.copy(), centers=np.array([0, 1]), contexts=np.array([2, 3]),
              negatives=np.array([[1], [2]]))
    for change, error, message in [
        (dict(U_out=np.zeros((4, 3))), ValueError, "U_out must have the shape of V_in"),
        (dict(centers=np.array([0, 4])), ValueError, "centers must hold ints in"),
        (dict(contexts=np.array([2])), ValueError, "contexts must have one entry"),
        (dict(negatives=np.array([1, 2])), ValueError, "negatives must be 2-D"),
    ]:
        with pytest.raises(error, match=message):
            sgns_loss(**{**ok, **change})
    W = np.zeros((4, 2))
    with pytest.raises(TypeError, match="W must be a float NumPy array"):
        sgd_step_rows(W.tolist(), np.array([0]), np.ones((1, 2)), 0.1)  # a copy: no update
    with pytest.raises(ValueError, match=r"grads must have shape \(1, 2\)"):
        sgd_step_rows(W, np.array([0]), np.ones((2, 2)), 0.1)
    with pytest.raises(ValueError, match="lr must be in"):
        sgd_step_rows(W, np.array([0]), np.ones((1, 2)), 0.0)
