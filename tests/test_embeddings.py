import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils import embeddings
from course_utils.embeddings import WordVectors, skipgram_pairs, train_word2vec
from course_utils.nn import numerical_gradient, relative_error
from course_utils.similarity import most_similar

FAST = settings(max_examples=15, deadline=None)


def test_the_negative_sampling_gradients_match_central_differences():
    rng = np.random.default_rng(0)
    V_in, U_out = rng.standard_normal((6, 4)), rng.standard_normal((6, 4))
    centers, contexts = np.array([0, 2, 2, 5]), np.array([1, 3, 0, 4])
    negatives = rng.integers(0, 6, (4, 3))
    _, d_c, d_o, d_n = embeddings._sgns_loss(V_in, U_out, centers, contexts, negatives)
    dV, dU = np.zeros_like(V_in), np.zeros_like(U_out)
    np.add.at(dV, centers, d_c)
    np.add.at(dU, contexts, d_o)
    np.add.at(dU, negatives.ravel(), d_n.reshape(-1, 4))

    def loss():
        return embeddings._sgns_loss(V_in, U_out, centers, contexts, negatives)[0]

    assert relative_error(dV, numerical_gradient(loss, V_in)) < 1e-8
    assert relative_error(dU, numerical_gradient(loss, U_out)) < 1e-8


def test_the_loss_is_the_formula_for_one_pair():
    v, u_o, u_n = np.array([[0.5, -1.0]]), np.array([[1.0, 2.0]]), np.array([[[0.3, 0.1]]])
    V_in, U_out = np.vstack([v, [[0, 0]]]), np.vstack([u_o, u_n[0]])
    loss = embeddings._sgns_loss(V_in, U_out, np.array([0]), np.array([0]), np.array([[1]]))[0]

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
    wv = train_word2vec("\n".join(lines), dim=8, window=2, epochs=5, lr=0.5, batch_size=64, seed=0)
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
    wv = train_word2vec(text, dim=dim, window=window, negatives=negatives, epochs=2,
                        min_count=1, seed=seed)
    assert isinstance(wv, WordVectors)
    assert wv.vectors.shape == (len(set(words)), dim) == wv.contexts.shape
    assert np.isfinite(wv.vectors).all() and all(math.isfinite(x) for x in wv.losses)
    assert sorted(wv.vocab) == sorted(set(words)) and wv.counts.sum() == len(words)
    centers, contexts = skipgram_pairs([np.arange(len(words))], window)
    n = len(words)
    assert centers.size == 2 * sum(max(n - s, 0) for s in range(1, window + 1))
    assert (np.abs(centers - contexts) <= window).all()
