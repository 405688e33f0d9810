import importlib
import itertools
import math
import re
from collections import Counter, defaultdict

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from course_utils import _deprecated, backend, datasets, markov, timing
from course_utils.datasets import load_text, tokenize
from course_utils.markov import (
    AbsorbingChain,
    absorbing_chain,
    closed_classes,
    distribution_after,
    row_tolerance,
    run_lengths,
    simulate,
    stationary,
    validate_transition,
)
from course_utils.ngrams import (
    WordModel,
    classify,
    log_likelihood,
    next_word_probs,
    ngram_codes,
    perplexity,
    sample_line,
    suggest,
    token_log_probs,
    train_word_model,
)
from course_utils.pagerank import google_matrix, pagerank, random_graph

FAST = settings(max_examples=25, deadline=None)


def random_chain(k, seed=0):
    """A random irreducible transition matrix (all entries positive)."""
    P = np.random.default_rng(seed).random((k, k)) + 0.01
    return P / P.sum(axis=1, keepdims=True)


transition_matrices = st.integers(2, 6).flatmap(
    lambda k: arrays(np.float64, (k, k), elements=st.floats(0.01, 10))).map(
    lambda W: W / W.sum(axis=1, keepdims=True))  # all entries positive: irreducible
GRAPH = [(0, 1), (0, 2), (1, 2), (2, 0), (3, 2), (4, 0), (4, 1)]  # page 5 dangling below


# ----------------------------------------------------------------------------- checks


def test_bad_transition_matrices_name_the_argument_and_the_row():
    with pytest.raises(ValueError, match=r"P must be square"):
        validate_transition(np.ones((2, 3)) / 3)
    with pytest.raises(ValueError, match=r"P has a negative entry in row 1"):
        validate_transition([[1.0, 0.0], [-0.5, 1.5]])
    with pytest.raises(ValueError, match=r"P's row 2 sums to 0\.9"):
        validate_transition([[1.0, 0, 0], [0, 1.0, 0], [0.3, 0.3, 0.3]])
    with pytest.raises(ValueError, match=r"Q's row 0"):
        validate_transition([[0.5, 0.4], [0, 1]], "Q")
    with pytest.raises(TypeError, match="P must be numeric"):
        validate_transition([["a", "b"], ["c", "d"]])
    with pytest.raises(ValueError, match="P contains NaN"):
        validate_transition([[np.nan, 1], [0, 1]])
    assert validate_transition([[1, 0], [0.5, 0.5]]).dtype == np.float64
    validate_transition([[0.5, 0.5 + 1e-12], [0, 1]])  # within the tolerance


def test_bad_arguments_name_themselves():
    P = random_chain(3)
    with pytest.raises(ValueError, match="method must be one of"):
        stationary(P, "magic")
    with pytest.raises(ValueError, match="p0 must have 3 entries"):
        distribution_after(P, [0.5, 0.5], 2)
    with pytest.raises(ValueError, match="p0 must hold probabilities"):
        distribution_after(P, [0.5, 0.5, 0.5], 2)
    with pytest.raises(ValueError, match="n_steps must be at least 0"):
        distribution_after(P, [1, 0, 0], -1)
    with pytest.raises(ValueError, match="start must be between 0 and the last state"):
        simulate(P, 3, 10)
    with pytest.raises(TypeError, match="seed must be"):
        simulate(P, 0, 10, seed="x")
    with pytest.raises(TypeError, match="states must hold ints"):
        run_lengths(np.ones(3), 1)
    with pytest.raises(ValueError, match="no absorbing state"):
        absorbing_chain(P)
    with pytest.raises(ValueError, match="never reach an absorbing state"):
        absorbing_chain([[0, 1, 0], [1, 0, 0], [0, 0, 1]])
    with pytest.raises(ValueError, match=r"edges must be an \(m, 2\) array"):
        pagerank(np.zeros((3, 3), dtype=int))
    with pytest.raises(ValueError, match="edges is empty"):
        pagerank(np.zeros((0, 2), dtype=int))
    with pytest.raises(TypeError, match="edges must hold ints"):
        pagerank(np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"edges link page 3, but n_pages is 3"):
        pagerank([[0, 1], [2, 3]], 3)
    with pytest.raises(ValueError, match=r"damping must be in \[0, 1\)"):
        pagerank(GRAPH, damping=1.0)
    with pytest.raises(ValueError, match="n_links must be between"):
        random_graph(3, 4)
    with pytest.raises(ValueError, match="name must be one of"):
        load_text("shakespeare")
    with pytest.raises(TypeError, match="text must be a str"):
        train_word_model(["a b"])
    with pytest.raises(ValueError, match="order must be between 1 and 3"):
        train_word_model("a b", order=4)
    with pytest.raises(ValueError, match=r"k must be in \(0, inf\)"):
        train_word_model("a b", k=0)
    with pytest.raises(ValueError, match="text has no words"):
        train_word_model("-- !")
    with pytest.raises(TypeError, match="model must be a WordModel"):
        sample_line("not a model")
    model = train_word_model("a b c")
    with pytest.raises(ValueError, match=r"temperature must be in \(0, inf\)"):
        sample_line(model, temperature=0)
    with pytest.raises(TypeError, match="context must be a list"):
        next_word_probs(model, "a b")
    with pytest.raises(TypeError, match=r"models\[1\] must be a WordModel"):
        classify([model, None], ["a"])
    with pytest.raises(TypeError, match="passages must be a non-empty list"):
        classify([model], "a b")
    with pytest.raises(ValueError, match=r"uniforms must be \(n_steps, n_chains\) = \(2, 1\)"):
        simulate(P, 0, 2, uniforms=np.zeros((1, 1)))
    with pytest.raises(ValueError, match=r"uniforms must hold numbers in \[0, 1\)"):
        simulate(P, 0, 1, uniforms=np.ones((1, 1)))
    with pytest.raises(ValueError, match=r"n_words\^\(order \+ 1\) = 3037000500\^2 does not fit"):
        ngram_codes(np.zeros(3, dtype=np.int64), 1, 3037000500)
    with pytest.raises(ValueError, match=r"ids must hold ints in \[0, 3\)"):
        ngram_codes([0, 1, 3], 1, 3)


def test_a_word_model_built_directly_checks_its_fields():
    model = train_word_model("a b c")
    fields = {f: getattr(model, f) for f in model.__dataclass_fields__}
    with pytest.raises(ValueError, match="WordModel.order must be between 1 and 3"):
        WordModel(**(fields | {"order": 4}))
    with pytest.raises(ValueError, match=r"WordModel.k must be in \(0, inf\)"):
        WordModel(**(fields | {"k": -1.0}))
    assert WordModel(**fields).counts() == model.counts()


@given(st.lists(st.integers(0, 6), max_size=30), st.integers(0, 3), st.integers(7, 40))
@FAST
def test_property_ngram_codes_are_the_windows_as_digits_in_base_n_words(ids, order, V):
    codes = ngram_codes(np.array(ids, dtype=np.int64), order, V)
    by_loop = [sum(ids[t + j] * V ** (order - j) for j in range(order + 1))
               for t in range(len(ids) - order) if ids[t + order] != 0]
    assert codes.tolist() == by_loop
    digits = [[c // V ** (order - j) % V for j in range(order + 1)] for c in codes.tolist()]
    windows = [ids[t:t + order + 1] for t in range(len(ids) - order) if ids[t + order] != 0]
    assert digits == windows  # the codes decode to the windows: equal codes, equal n-grams


# ----------------------------------------------------------------------------- distributions


@pytest.mark.parametrize("k", [2, 5, 30])
def test_stationary_three_ways_agree(k):
    P = random_chain(k, seed=k)
    found = {m: stationary(P, m) for m in markov.METHODS}
    for pi in found.values():
        np.testing.assert_allclose(pi, found["solve"], atol=1e-10)
        np.testing.assert_allclose(pi @ P, pi, atol=1e-10)


def test_stationary_of_a_periodic_chain_and_the_two_state_closed_form():
    flip = np.array([[0.0, 1.0], [1.0, 0.0]])  # period 2: plain p P would oscillate
    np.testing.assert_allclose(stationary(flip), [0.5, 0.5], atol=1e-12)
    a, p = 0.1, 0.6  # P(fall ill), P(still ill)
    P = np.array([[1 - a, a], [1 - p, p]])
    sick = a / (a + 1 - p)  # balance: pi_0 a = pi_1 (1 - p)
    for method in markov.METHODS:
        assert stationary(P, method)[1] == pytest.approx(sick, abs=1e-10)


def test_distribution_after_matches_repeated_products_and_tends_to_stationary():
    P = random_chain(4, seed=1)
    p = np.array([1.0, 0, 0, 0])
    for n in range(6):
        np.testing.assert_allclose(distribution_after(P, [1.0, 0, 0, 0], n), p, atol=1e-14)
        p = p @ P
    batch = distribution_after(P, np.eye(4), 200)  # every start, at once
    np.testing.assert_allclose(batch, np.tile(stationary(P), (4, 1)), atol=1e-12)


# ----------------------------------------------------------------------------- simulation


def test_sick_day_runs_are_geometric_with_mean_one_over_one_minus_p():
    a, p = 0.05, 0.7
    P = np.array([[1 - a, a], [1 - p, p]])
    states = simulate(P, 1, 2000, n_chains=200, seed=3)
    assert states.shape == (200, 2001) and (states[:, 0] == 1).all()
    runs = run_lengths(states, 1)
    assert runs.mean() == pytest.approx(1 / (1 - p), rel=0.03)
    for n in (1, 2, 3):  # P(run = n) = p^(n-1) (1 - p)
        assert np.mean(runs == n) == pytest.approx(p ** (n - 1) * (1 - p), abs=0.02)
    assert np.mean(states[:, 1000:] == 1) == pytest.approx(stationary(P)[1], abs=0.01)


def test_simulated_transitions_match_P_and_the_seed_repeats():
    P = random_chain(4, seed=2)
    states = simulate(P, 0, 5000, n_chains=20, seed=0)
    pairs = np.zeros((4, 4))
    np.add.at(pairs, (states[:, :-1].ravel(), states[:, 1:].ravel()), 1)
    np.testing.assert_allclose(pairs / pairs.sum(axis=1, keepdims=True), P, atol=0.02)
    np.testing.assert_array_equal(states, simulate(P, 0, 5000, n_chains=20, seed=0))
    assert not np.array_equal(states, simulate(P, 0, 5000, n_chains=20, seed=1))


def plain_runs(row, state):
    runs, length = [], 0
    for s in row:
        if s == state:
            length += 1
        elif length:
            runs.append(length)
            length = 0
    return runs  # a run going on at the end is not finished


@given(arrays(np.int64, st.tuples(st.integers(1, 4), st.integers(1, 30)),
              elements=st.integers(0, 2)), st.integers(0, 2))
@FAST
def test_run_lengths_match_a_plain_loop(states, state):
    expected = [n for row in states.tolist() for n in plain_runs(row, state)]
    assert run_lengths(states, state).tolist() == expected
    assert run_lengths(states[0], state).tolist() == plain_runs(states[0].tolist(), state)


# ----------------------------------------------------------------------------- absorbing chains


WEBSITE = np.array([  # home, products, blog, exit
    [0.1, 0.5, 0.2, 0.2],
    [0.3, 0.2, 0.1, 0.4],
    [0.2, 0.1, 0.3, 0.4],
    [0.0, 0.0, 0.0, 1.0],
])


def test_fundamental_matrix_matches_a_direct_solve_and_brute_force():
    chain = absorbing_chain(WEBSITE)
    assert chain.transient.tolist() == [0, 1, 2] and chain.absorbing.tolist() == [3]
    Q = WEBSITE[:3, :3]
    t = np.linalg.solve(np.eye(3) - Q, np.ones(3))  # t = 1 + Q t: first-step analysis
    np.testing.assert_allclose(chain.steps, t, atol=1e-12)
    np.testing.assert_allclose(chain.B, 1.0, atol=1e-12)
    states = simulate(WEBSITE, 0, 200, n_chains=20_000, seed=0)
    assert (states[:, -1] == 3).all()
    visits = (states[:, :-1] != 3).sum(axis=1)  # pages seen before leaving
    assert visits.mean() == pytest.approx(chain.steps[0], rel=0.02)
    per_page = [(states == j).sum(axis=1).mean() for j in range(3)]
    np.testing.assert_allclose(per_page, chain.N[0], rtol=0.03)


def test_absorption_probabilities_of_the_gambler():
    n = 6  # gambler's ruin with a fair coin: P(reach n from i) = i / n
    P = np.zeros((n + 1, n + 1))
    P[0, 0] = P[n, n] = 1
    for i in range(1, n):
        P[i, i - 1] = P[i, i + 1] = 0.5
    chain = absorbing_chain(P)
    np.testing.assert_allclose(chain.B[:, 1], np.arange(1, n) / n, atol=1e-12)
    np.testing.assert_allclose(chain.steps, [i * (n - i) for i in range(1, n)], atol=1e-10)


# ----------------------------------------------------------------------------- PageRank


@pytest.mark.parametrize("damping", [0.0, 0.5, 0.85, 0.99])
def test_pagerank_matches_the_dense_eigenvector(damping):
    G = google_matrix(GRAPH, 6, damping)  # page 5: no links out (dangling), none in
    np.testing.assert_allclose(G.sum(axis=1), 1, atol=1e-14)
    ranks = pagerank(GRAPH, 6, damping, tol=1e-14)
    np.testing.assert_allclose(ranks, stationary(G, "eigen"), atol=1e-10)
    assert ranks.sum() == pytest.approx(1)


def test_pagerank_matches_networkx_on_a_larger_graph():
    n = 3000
    edges = random_graph(n, 15_000, seed=4)
    edges = edges[edges[:, 0] % 17 != 0]  # some dangling pages
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(edges.tolist())
    for tol in (1e-6, 1e-10):
        theirs = nx.pagerank(graph, alpha=0.85, tol=tol)
        ours = pagerank(edges, n, 0.85, tol=tol)
        np.testing.assert_allclose(ours, [theirs[i] for i in range(n)], atol=1e-12)


def test_random_graph_has_distinct_links_and_repeats_by_seed():
    edges = random_graph(50, 400, seed=1)
    assert edges.shape == (400, 2) and (edges[:, 0] != edges[:, 1]).all()
    assert len({tuple(e) for e in edges.tolist()}) == 400
    np.testing.assert_array_equal(edges, random_graph(50, 400, seed=1))
    assert random_graph(3, 3).shape == (3, 2)


# ----------------------------------------------------------------------------- word models


def plain_counts(text, order):
    """(context..., next) counts by a dict loop over the padded lines."""
    counts = defaultdict(Counter)
    for line in tokenize(text):
        words = ["<s>"] * order + line + ["</s>"]
        for i in range(order, len(words)):
            counts[tuple(words[i - order:i])][words[i]] += 1
    return {(*c, w): n for c, nxt in counts.items() for w, n in nxt.items()}


@pytest.mark.parametrize("name", datasets.TEXTS)
@pytest.mark.parametrize("order", [1, 2, 3])
def test_word_model_counts_match_a_dict_loop(name, order):
    text = load_text(name)
    model = train_word_model(text, order)
    assert model.counts() == plain_counts(text, order)
    assert model.ngram_counts.sum() == sum(len(line) + 1 for line in tokenize(text))


def test_the_texts_are_there_and_tokenized():
    poe, frost = load_text("poe"), load_text("frost")
    assert "Nevermore" in poe and "Silas" in frost and "Gutenberg" not in poe + frost
    assert tokenize("Quoth the Raven, \"Nevermore.\"\n\n'Tis so!") == \
        [["quoth", "the", "raven", "nevermore"], ["tis", "so"]]


def test_smoothed_probabilities_and_the_log_likelihood_by_hand():
    text = "the cat sat\nthe cat ran\nthe dog sat"
    model = train_word_model(text, order=1, k=0.5)
    V = len(model.vocab) - 1  # possible next words: all but <s>
    p = next_word_probs(model, ["the"])
    assert p.sum() == pytest.approx(1) and p[0] == 0
    assert p[model.index["cat"]] == pytest.approx((2 + 0.5) / (3 + 0.5 * V))
    assert p[model.index["sat"]] == pytest.approx(0.5 / (3 + 0.5 * V))  # never seen: k
    unknown = next_word_probs(model, ["zebra"])  # an unknown context: uniform, no KeyError
    np.testing.assert_allclose(unknown[1:], 1 / V)
    by_hand = 0.0
    for words in [["the", "dog", "ran", "fast"]]:
        context = []
        for w in [*words, "</s>"]:
            probs = next_word_probs(model, context)
            by_hand += math.log(probs[model.index.get(w, model.index["<unk>"])])
            context.append(w)
    assert log_likelihood(model, "The dog ran, fast!") == pytest.approx(by_hand)
    assert log_likelihood(model, "...") == 0.0
    assert 1 < perplexity(model, text) < V


def test_sampling_with_temperature():
    model = train_word_model(load_text("poe"), order=2, k=0.01)
    line = sample_line(model, seed=1)
    assert line == sample_line(model, seed=1) and 0 < len(line.split()) <= 40
    assert "<unk>" not in line and "</s>" not in line
    cold = sample_line(model, seed=2, temperature=0.01)  # nearly greedy: the likeliest words
    assert cold == sample_line(model, seed=3, temperature=0.01)
    assert len(sample_line(model, seed=0, temperature=50, max_words=5).split()) <= 5


def test_author_identification_beats_chance_by_far():
    passages = {}
    models = []
    for name in datasets.TEXTS:
        lines = load_text(name).splitlines()
        chunks = ["\n".join(lines[i:i + 6]) for i in range(0, len(lines), 6)]
        chunks = [c for c in chunks if tokenize(c)]
        passages[name] = chunks[::5]  # held out
        models.append(train_word_model("\n".join(c for i, c in enumerate(chunks) if i % 5),
                                       order=1, k=0.1))
    right = 0
    for label, name in enumerate(datasets.TEXTS):
        predicted, scores = classify(models, passages[name])
        assert scores.shape == (len(passages[name]), 2)
        right += (predicted == label).sum()
    assert right / sum(map(len, passages.values())) > 0.8


# ----------------------------------------------------------------------------- properties


@given(transition_matrices)
@FAST
def test_properties_of_chains(P):
    P = validate_transition(P)
    pi = stationary(P, "solve")
    assert np.isfinite(pi).all() and pi.min() >= -1e-12 and pi.sum() == pytest.approx(1)
    np.testing.assert_allclose(pi @ P, pi, atol=1e-9)  # a fixed point
    np.testing.assert_allclose(stationary(P, "power", tol=1e-13), pi, atol=1e-8)
    np.testing.assert_allclose(stationary(P, "eigen"), pi, atol=1e-8)
    after = distribution_after(P, np.eye(len(P)), 3)
    np.testing.assert_allclose(after.sum(axis=1), 1)  # rows of P^3 sum to 1
    assert after.min() >= 0
    states = simulate(P, 0, 20, n_chains=3, seed=0)
    assert states.min() >= 0 and states.max() < len(P)
    assert (run_lengths(states, 0) >= 1).all()


@given(transition_matrices, st.integers(0, 5))
@FAST
def test_properties_of_absorbing_chains(W, absorbing):
    P = W.copy()
    absorbing = absorbing % len(P)
    P[absorbing] = 0
    P[absorbing, absorbing] = 1  # every other state reaches it: all entries were positive
    chain = absorbing_chain(P)
    assert isinstance(chain, AbsorbingChain)
    assert np.isfinite(chain.N).all() and (chain.N >= -1e-12).all()
    assert (chain.steps >= 1 - 1e-12).all()
    np.testing.assert_allclose(chain.B.sum(axis=1), 1)


@given(st.integers(2, 40), st.data(), st.floats(0, 0.95))
@FAST
def test_properties_of_pagerank(n, data, damping):
    m = data.draw(st.integers(1, n * (n - 1) // 2))
    edges = random_graph(n, m, seed=data.draw(st.integers(0, 10)))
    ranks = pagerank(edges, n, damping, tol=1e-13)
    G = google_matrix(edges, n, damping)
    assert np.isfinite(ranks).all() and ranks.min() > 0
    assert ranks.sum() == pytest.approx(1)
    np.testing.assert_allclose(G.sum(axis=1), 1)
    np.testing.assert_allclose(ranks @ G, ranks, atol=1e-9)


@given(st.lists(st.text(alphabet="abc \n'.", max_size=12), min_size=1, max_size=8),
       st.integers(1, 3), st.floats(0.01, 2), st.floats(0.05, 5))
@FAST
def test_properties_of_word_models(lines, order, k, temperature):
    text = "\n".join(lines) + "\nab c"
    model = train_word_model(text, order, k)
    assert isinstance(model, WordModel) and model.order == order
    lines_of_words = tokenize(text)
    assert all(line and all(w == w.lower() for w in line) for line in lines_of_words)
    assert model.ngram_counts.sum() == sum(len(line) + 1 for line in lines_of_words)
    for context in ([], ["ab"], ["never", "seen"]):
        p = next_word_probs(model, context)
        assert np.isfinite(p).all() and p.sum() == pytest.approx(1)
    assert log_likelihood(model, text) < 0
    assert math.isfinite(log_likelihood(model, "words it never saw"))
    assert perplexity(model, text) >= 1
    assert isinstance(sample_line(model, seed=0, temperature=temperature), str)
    passages = [line for line in lines if tokenize(line)] + ["ab"]
    labels, scores = classify([model, train_word_model("c c c")], passages)
    assert labels.shape == (len(passages),) and np.isfinite(scores).all()
    np.testing.assert_array_equal(scores.argmax(axis=1), labels)
    for line in lines:
        if not tokenize(line):  # no words: equally likely under every model, so an error
            with pytest.raises(ValueError, match=r"passages\[0\] has no words"):
                classify([model], [line])


@given(st.sampled_from(datasets.TEXTS), st.integers(1, 2))
@settings(max_examples=4, deadline=None)
def test_properties_of_the_shipped_texts(name, order):
    text = load_text(name)
    assert isinstance(text, str) and len(tokenize(text)) > 300
    model = train_word_model(text, order, k=0.1)
    assert -log_likelihood(model, text) / sum(len(line) + 1 for line in tokenize(text)) > 0


# ----------------------------------------------------------------------------- edges and extremes
# Each test below failed before the fix it guards (issue 27): a crash, a silent wrong answer,
# or a valid input refused.

SICK = np.array([[0.95, 0.05], [0.4, 0.6]])  # pi = (8/9, 1/9)
FLIP = np.array([[0.0, 1.0], [1.0, 0.0]])
UNICHAIN = np.array([[0.5, 0.5, 0.0], [0.0, 0.2, 0.8], [0.0, 0.7, 0.3]])  # state 0 transient
SLOW = np.array([[1 - 1e-12, 1e-12], [3e-12, 1 - 3e-12]])  # pi = (3/4, 1/4), mixes slowly


def in_float64(P):
    """A float32 chain as float64, its rows renormalised (as float64 they miss 1 by 1e-8)."""
    P = np.asarray(P, dtype=np.float64)
    return P / P.sum(axis=1, keepdims=True)


def float32_chain(k=5, seed=1):
    """A float32 chain normalised in float32: rows miss 1 by float32 rounding (~1e-7)."""
    W = np.random.default_rng(seed).random((k, k)).astype(np.float32)
    return W / W.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("n", [10**6, 10**18, 2**70, 10**400])
@pytest.mark.parametrize("P", [SICK, np.full((3, 3), 0.3333333333), SICK.astype(np.float32),
                               random_chain(200, seed=3)], ids=["sick", "thirds", "f32", "k200"])
def test_distribution_after_any_power_is_the_stationary_distribution(P, n):
    p0 = np.eye(len(P))[0]
    after = distribution_after(P, p0, n)  # was [2.1e7, 4.2e6] at 10**18, NaN at 2**70
    assert np.isfinite(after).all() and after.min() >= 0 and after.dtype == P.dtype
    atol = 1e-5 if P.dtype == np.float32 else 1e-12
    assert after.sum() == pytest.approx(1, abs=atol)
    np.testing.assert_allclose(after, stationary(in_float64(P), "solve"), atol=atol)


def test_distribution_after_a_periodic_chain_keeps_its_period_for_any_power():
    np.testing.assert_array_equal(distribution_after(FLIP, [1, 0], 2**70), [1, 0])
    np.testing.assert_array_equal(distribution_after(FLIP, [1, 0], 2**70 + 1), [0, 1])
    np.testing.assert_allclose(distribution_after(SLOW, [1, 0], 10**18), [0.75, 0.25],
                               atol=1e-9)  # 10^18 steps: long mixed


def test_float32_chains_are_accepted_and_stay_float32():
    P = float32_chain()
    assert abs(float(P.sum(axis=1).astype(np.float64).max()) - 1) > 1e-8  # missed 1e-8 before
    assert validate_transition(P).dtype == np.float32
    pi = stationary(P, "power")
    assert pi.dtype == np.float32
    np.testing.assert_allclose(pi, stationary(in_float64(P), "solve"), atol=1e-5)
    assert distribution_after(P, np.ones(5, np.float32) / 5, 7).dtype == np.float32
    assert simulate(P, 0, 10, seed=0).shape == (1, 11)
    with pytest.raises(ValueError, match="P's row 0 sums to"):
        validate_transition(P.astype(np.float64) + [[3e-7, 0, 0, 0, 0]] + 0)  # float64: 1e-8
    assert row_tolerance(np.float64, 5) == markov.ROW_TOL
    assert row_tolerance(np.float32, 5) == pytest.approx(20 * 2.0**-23)


def test_a_chain_whose_rows_miss_one_within_the_tolerance_is_taken_normalised():
    P = np.full((3, 3), 0.3333333333)  # rows sum to 0.9999999999: accepted
    for method in markov.METHODS:  # "power" gave up after 100 000 steps
        np.testing.assert_allclose(stationary(P, method), [1 / 3] * 3, atol=1e-12)
    ends = np.array([[1 - 5e-9, 0.0, 0.0], [0.0, 0.5, 0.5], [0.5, 0.0, 0.5]])
    largest_uniform = np.full((1, 1), 1 - 2.0**-53)  # rng.random() can draw it
    # A u above row 0's cdf (1 - 5e-9) moved the chain to state 2, of probability 0.
    assert simulate(ends, 0, 1, uniforms=largest_uniform).tolist() == [[0, 0]]
    exact = np.array([[0.3, 0.7, 0.0], [0.0, 0.5, 0.5], [0.5, 0.0, 0.5]])
    assert simulate(exact, 0, 1, uniforms=largest_uniform).tolist() == [[0, 1]]


@pytest.mark.parametrize("method", markov.METHODS)
def test_stationary_with_several_closed_classes_is_a_clear_error(method):
    for P, classes in [(np.eye(3, dtype=int), r"\{0\}, \{1\}, \{2\}"),
                       ([[1.0, 0, 0], [0.3, 0.4, 0.3], [0, 0, 1.0]], r"\{0\}, \{2\}"),
                       (np.kron(np.eye(2), FLIP), r"\{0, 1\}, \{2, 3\}")]:
        with pytest.raises(ValueError, match=f"closed classes of states \\({classes}\\)"):
            stationary(P, method)  # "solve" raised LinAlgError, the others picked one


@pytest.mark.parametrize("method", markov.METHODS)
def test_stationary_with_transient_states_gives_them_zero(method):
    pi = stationary(UNICHAIN, method)  # "solve" gave -1.1e-16 on the transient state
    assert pi.min() >= 0 and pi.sum() == pytest.approx(1, abs=1e-15)
    np.testing.assert_allclose(pi, [0, 7 / 15, 8 / 15], atol=1e-12)


def test_stationary_of_a_slowly_mixing_chain():
    # 1 - P_ii lost four digits of 3e-12: "solve" gave 0.75000415; "power" stopped at once
    # at the uniform start, its change per step (5e-13) being below tol.
    np.testing.assert_allclose(stationary(SLOW, "solve"), [0.75, 0.25], rtol=1e-13)
    with pytest.raises(ValueError, match="max_iter=100000 steps.*mixes slowly"):
        stationary(SLOW, "power")
    np.testing.assert_allclose(stationary(SLOW, "power", max_iter=10**16), [0.75, 0.25],
                               atol=1e-12)
    with pytest.raises(ValueError, match="max_iter=1 steps"):
        stationary(SICK, "power", max_iter=1)


def test_closed_classes_match_networkx_attracting_components():
    P = np.zeros((7, 7))
    P[0, [1, 2]] = 0.5  # 0 -> {1, 2}; {1, 2} a cycle; 3 -> {4, 5, 6}; {4, 5} a cycle; 6 alone
    P[1, 2] = P[2, 1] = 1
    P[3, [0, 4]] = 0.5
    P[4, 5] = P[5, 4] = 1
    P[6, 6] = 1
    found = [c.tolist() for c in closed_classes(P)]
    graph = nx.DiGraph(P > 0)
    assert found == sorted(sorted(c) for c in nx.attracting_components(graph))
    assert found == [[1, 2], [4, 5], [6]]


def test_absorbing_chains_near_the_edge_of_floating_point():
    slow = np.array([[1 - 1e-13, 1e-13], [0.0, 1.0]])
    chain = absorbing_chain(slow)  # B summed to 0.99969: 1 - Q_ii lost digits
    assert chain.B[0, 0] == 1
    assert chain.steps[0] == pytest.approx(1e13, rel=1e-12)  # it leaves with probability 1e-13
    almost = np.array([[0.5, 0.5, 0], [0.2, 0.3, 0.5], [0, 0, 1 - 5e-9]])  # row 2 absorbs
    assert absorbing_chain(almost).absorbing.tolist() == [2]  # was refused as never reached
    n = 100  # gambler's ruin in float32: N up to 2500 (a residual check refused it)
    P = np.zeros((n + 1, n + 1), np.float32)
    P[0, 0] = P[n, n] = 1
    for i in range(1, n):
        P[i, i - 1] = P[i, i + 1] = 0.5
    ruin = absorbing_chain(P)
    assert ruin.N.dtype == np.float32
    np.testing.assert_allclose(ruin.B[:, 1], np.arange(1, n) / n, atol=1e-4)
    np.testing.assert_allclose(ruin.steps, [i * (n - i) for i in range(1, n)], rtol=1e-3)
    with pytest.raises(ValueError, match=r"closed classes \{0, 1\} keep the chain"):
        absorbing_chain([[0, 1.0, 0, 0], [1.0, 0, 0, 0], [0.2, 0.2, 0.3, 0.3], [0, 0, 0, 1.0]])
    with pytest.raises(ValueError, match="I - Q is singular in float64"):
        absorbing_chain([[1.0, 1e-320], [0.0, 1.0]])  # leaves with probability 1e-320


def test_pages_beyond_memory_and_non_convergence_are_clear_errors():
    with pytest.raises(ValueError, match="edges link page 1000000000000: more than"):
        pagerank([(0, 10**12)])  # MemoryError before
    with pytest.raises(ValueError, match="edges link page 9223372036854775807"):
        pagerank([(0, 2**63 - 1)])  # OverflowError before
    with pytest.raises(ValueError, match=r"n_pages must be between 1 and MAX_DENSE_PAGES"):
        google_matrix(GRAPH, 10**7)  # MemoryError before
    with pytest.raises(ValueError, match="edges link page 4, but n_pages is 3"):
        google_matrix(GRAPH, 3)
    with pytest.raises(ValueError, match="did not converge in max_iter=1 iterations"):
        pagerank(GRAPH, max_iter=1)  # RuntimeError before
    sink = GRAPH + [(5, 5), (0, 5)]
    np.testing.assert_allclose(pagerank(sink, 6, 0.9999, tol=1e-14),
                               stationary(google_matrix(sink, 6, 0.9999), "solve"), atol=1e-10)


def test_random_graph_refuses_what_its_int64_codes_cannot_hold_and_checks_xp():
    with pytest.raises(ValueError, match="n_pages must be between 2 and 3037000499"):
        random_graph(4 * 10**9, 10)  # gave pages from -1225385063 to 3059559696
    edges = random_graph(3_037_000_499, 50, seed=0)
    assert edges.min() >= 0 and edges.max() < 3_037_000_499
    with pytest.raises(TypeError, match="xp must be None .* got str 'numpy'"):
        random_graph(10, 5, xp="numpy")  # AttributeError before
    assert isinstance(random_graph(10, 5, xp=np), np.ndarray)


def test_run_lengths_of_a_ragged_list_names_states():
    with pytest.raises(TypeError, match="states must be an array of ints"):
        run_lengths([[0, 1], [1]], 1)  # numpy's "inhomogeneous shape" before


def test_word_models_with_extreme_k_and_temperature():
    text = "the cat sat\nthe cat ran\nthe dog sat"
    huge = train_word_model(text, 1, k=1e308)  # k V overflowed: probabilities all 0
    p = next_word_probs(huge, ["the"])
    assert p.sum() == pytest.approx(1) and p[0] == 0
    np.testing.assert_allclose(p[1:], 1 / huge.n_outcomes, rtol=1e-12)  # k >> counts: uniform
    assert log_likelihood(huge, text) == pytest.approx(-12 * math.log(huge.n_outcomes))
    model = train_word_model(text, 1, k=0.5)
    for seed in range(4):  # NaN probabilities before; now the likeliest word, ties at random
        greedy = sample_line(model, seed=seed, temperature=5e-324)
        assert greedy in ("the cat sat", "the cat ran")
    tiny = train_word_model(text, 1, k=5e-324)
    with pytest.raises(ValueError, match="perplexity of text, e\\^7.*beyond the largest"):
        perplexity(tiny, "the " * 100)  # OverflowError from math.exp before


def test_too_many_words_for_the_int64_codes_is_a_clear_error():
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = ["".join(t) for t in itertools.product(letters, letters, letters, "abcd")]
    text = "\n".join(" ".join(words[i:i + 8]) for i in range(0, len(words), 8))
    with pytest.raises(ValueError, match="70304 different words: too many for an order-3"):
        train_word_model(text, 3)  # the codes overflowed: 32 825 of 79 092 counts were wrong
    assert train_word_model(text, 2).counts() == plain_counts(text, 2)  # order 2 fits


def test_contexts_and_model_lists_of_any_iterable():
    model = train_word_model("the cat sat\nthe cat ran\nthe dog sat", 1, k=0.5)
    # a generator was consumed by the type check and left an empty context
    np.testing.assert_array_equal(next_word_probs(model, (w for w in ["the"])),
                                  next_word_probs(model, ["the"]))
    for bad in (None, 3, "the", b"the"):
        with pytest.raises(TypeError, match="context must be a list of words"):
            next_word_probs(model, bad)
    other = train_word_model("a dog ran", 1)
    labels, _ = classify(iter([model, other]), iter(["the cat sat", "a dog ran"]))
    assert labels.tolist() == [0, 1]  # iterators: argmax of an empty sequence before
    with pytest.raises(ValueError, match=r"passages\[1\] has no words"):
        classify([model, other], ["the cat", "!!!"])  # was labelled 0, a tie at 0.0
    with pytest.raises(ValueError, match="models must be a non-empty list"):
        classify([], ["a"])


def test_tokenize_keeps_letters_of_any_alphabet_and_typographic_apostrophes():
    assert tokenize("Naïve café, über-cool!") == [["naïve", "café", "über", "cool"]]
    assert tokenize("Don\u2019t stop\n4 ever") == [["don't", "stop"], ["ever"]]
    for name in datasets.TEXTS:  # the shipped texts tokenize as before (a-z, æ and é only)
        old = re.compile(r"[a-zæé]+(?:'[a-zæé]+)*")
        text = load_text(name)
        assert tokenize(text) == [w for line in text.lower().split("\n")
                                  if (w := old.findall(line))]


# ----------------------------------------------------------------------------- new functions


def test_suggest_orders_by_probability_then_alphabetically():
    model = train_word_model("upon the velvet\nupon the floor\nupon the sculptured bust", 1,
                             k=0.01)
    top = suggest(model, ["upon", "the"], 5)
    words = [w for w, _ in top]
    assert words[:3] == ["floor", "sculptured", "velvet"]  # one count each: alphabetical
    assert words[3:] == ["bust", "the"]  # never seen after "the": alphabetical too
    probs = next_word_probs(model, ["the"])
    brute = sorted((w for w in model.vocab[3:]), key=lambda w: (-probs[model.index[w]], w))
    assert words == brute[:5]
    assert [p for _, p in top] == pytest.approx([probs[model.index[w]] for w in words])
    assert len(suggest(model, [], 100)) == len(model.vocab) - 3  # words only
    with pytest.raises(ValueError, match="n must be at least 1"):
        suggest(model, [], 0)


def test_token_log_probs_line_up_across_orders_and_sum_to_the_log_likelihood():
    poe = load_text("poe")
    held = "\n".join(poe.splitlines()[:40])
    arrays = [token_log_probs(train_word_model(poe, order, k=0.1), held) for order in (1, 2, 3)]
    n_tokens = sum(len(line) + 1 for line in tokenize(held))
    assert all(a.shape == (n_tokens,) and (a < 0).all() for a in arrays)
    model = train_word_model(poe, 2, k=0.1)
    assert arrays[1].sum() == pytest.approx(log_likelihood(model, held), rel=1e-12)
    assert token_log_probs(model, "!!!").shape == (0,)
    context, by_hand = [], []  # token by token with next_word_probs
    for w in tokenize(held)[0] + ["</s>"]:
        by_hand.append(math.log(next_word_probs(model, context)[model.index.get(w, 2)]))
        context.append(w)
    np.testing.assert_allclose(arrays[1][:len(by_hand)], by_hand, rtol=1e-12)


def test_a_shared_vocabulary_makes_models_compare_word_for_word():
    poe, frost = load_text("poe"), load_text("frost")
    shared = {w for text in (poe, frost) for line in tokenize(text) for w in line}
    a = train_word_model(poe, 1, k=0.1, vocabulary=shared)
    b = train_word_model(frost, 1, k=0.1, vocabulary=shared)
    assert a.vocab == b.vocab and len(a.vocab) == len(shared) + 3
    assert a.counts() == train_word_model(poe, 1, k=0.1).counts()  # every word known: same
    assert next_word_probs(a, ["silas"]).sum() == pytest.approx(1)
    small = train_word_model(poe, 1, k=0.1, vocabulary=["the", "raven"])
    assert set(small.vocab) == {"<s>", "</s>", "<unk>", "raven", "the"}
    assert small.ngram_counts.sum() == train_word_model(poe, 1).ngram_counts.sum()
    with pytest.raises(ValueError, match="vocabulary must hold single words"):
        train_word_model(poe, vocabulary=["the raven"])
    with pytest.raises(TypeError, match="vocabulary must be a collection of words"):
        train_word_model(poe, vocabulary="the")
    with pytest.raises(ValueError, match="text has no words"):
        train_word_model("!!", vocabulary=["the"])


# ----------------------------------------------------------------------------- invariants


chains_with_zeros = st.integers(1, 6).flatmap(lambda k: st.tuples(
    arrays(np.float64, (k, k), elements=st.sampled_from([0.0, 0.0, 1e-12, 0.3, 1.0, 7.0])),
    st.sampled_from([np.float64, np.float32]))).map(
    lambda W_dtype: _as_chain(*W_dtype))


def _as_chain(W, dtype):
    W = W.copy()
    W[W.sum(axis=1) == 0, 0] = 1.0  # no empty row
    return (W / W.sum(axis=1, keepdims=True)).astype(dtype)


@given(chains_with_zeros, st.sampled_from(markov.METHODS))
@FAST
def test_property_stationary_is_a_fixed_point_or_a_clear_error(P, method):
    classes = closed_classes(P)
    expected = sorted(sorted(c) for c in nx.attracting_components(nx.DiGraph(P > 0)))
    assert [c.tolist() for c in classes] == expected
    if len(classes) > 1:
        with pytest.raises(ValueError, match="closed classes"):
            stationary(P, method)
        return
    try:
        pi = stationary(P, method, max_iter=2**60)
    except ValueError as error:  # only "power" may give up, on a chain that mixes slowly
        assert method == "power" and "mixes slowly" in str(error)
        return
    atol = 1e-4 if P.dtype == np.float32 else 1e-9
    assert pi.dtype == P.dtype and pi.min() >= 0 and pi.sum() == pytest.approx(1, abs=atol)
    np.testing.assert_allclose(pi @ in_float64(P), pi, atol=atol)
    outside = np.setdiff1d(np.arange(len(P)), classes[0])
    assert (pi[outside] <= atol).all()  # transient states: probability 0


@given(chains_with_zeros, st.integers(0, 2**200))
@FAST
def test_property_distribution_after_stays_a_distribution_for_any_power(P, n):
    k = len(P)
    after = distribution_after(P, np.eye(k, dtype=P.dtype), n)
    atol = 1e-5 if P.dtype == np.float32 else 1e-12
    assert after.shape == (k, k) and after.min() >= 0
    np.testing.assert_allclose(after.sum(axis=1), 1, atol=atol)
    if n <= 4:  # small powers: the plain product
        np.testing.assert_allclose(after, np.linalg.matrix_power(in_float64(P), n), atol=atol)


@given(chains_with_zeros, st.integers(0, 2**20))
@FAST
def test_property_simulate_never_takes_a_move_of_probability_zero(P, seed):
    start = seed % len(P)
    states = simulate(P, start, 30, n_chains=4, seed=seed)
    assert states[:, 0].tolist() == [start] * 4
    assert (P[states[:, :-1], states[:, 1:]] > 0).all()


@given(chains_with_zeros)
@FAST
def test_property_absorbing_chain_or_a_clear_error(P):
    P = in_float64(P)
    P[-1] = 0
    P[-1, -1] = 1  # the last state absorbs
    try:
        chain = absorbing_chain(P)
    except ValueError as error:
        assert "never reach an absorbing state" in str(error) or "only absorbing" in str(error)
        assert any(c.size > 1 for c in closed_classes(P)) or \
            all(P[i, i] == 1 for i in range(len(P)))
        return
    t = chain.steps
    Q = P[np.ix_(chain.transient, chain.transient)]
    rtol = 1e-12 + 100 * np.finfo(float).eps * t.max()  # the documented accuracy
    np.testing.assert_allclose(t, 1 + Q @ t, rtol=rtol)  # first-step analysis
    assert t.min() >= 1 and chain.B.min() >= 0
    np.testing.assert_allclose(chain.B.sum(axis=1), 1, atol=1e-12)
    B = np.linalg.solve(np.eye(len(Q)) - Q, P[np.ix_(chain.transient, chain.absorbing)])
    np.testing.assert_allclose(chain.B, B, atol=rtol)


@given(st.integers(1, 30), st.data(), st.floats(0, 0.99))
@FAST
def test_property_pagerank_sums_to_one_with_any_links(n, data, damping):
    edges = data.draw(arrays(np.int64, st.tuples(st.integers(1, 60), st.just(2)),
                             elements=st.integers(0, n - 1)))  # repeats and self-links too
    ranks = pagerank(edges, n, damping, tol=1e-12, max_iter=10**5)
    assert ranks.min() > 0 and ranks.sum() == pytest.approx(1, abs=1e-12)
    np.testing.assert_allclose(ranks, stationary(google_matrix(edges, n, damping), "solve"),
                               atol=1e-9)


@given(st.lists(st.text(alphabet="abé’ \n'.2", max_size=12), min_size=1, max_size=8),
       st.integers(1, 2), st.floats(1e-6, 1e6), st.integers(1, 5))
@FAST
def test_property_suggestions_and_token_log_probs(lines, order, k, n):
    text = "\n".join(lines) + "\nab b"
    model = train_word_model(text, order, k, vocabulary=None)
    for context in ([], ["ab"], ["never", "seen"]):
        probs = next_word_probs(model, context)
        top = suggest(model, context, n)
        assert len(top) == min(n, len(model.vocab) - 3)
        keys = [(-p, w) for w, p in top]
        assert keys == sorted(keys)  # by probability, then alphabetically
        assert all(w not in ("<s>", "</s>", "<unk>") for w, _ in top)
        assert [p for _, p in top] == [probs[model.index[w]] for w, _ in top]
        rest = [probs[i] for i in range(3, len(model.vocab))
                if model.vocab[i] not in {w for w, _ in top}]
        assert not rest or max(rest) <= top[-1][1]
    log_probs = token_log_probs(model, text)
    assert log_probs.shape == (sum(len(line) + 1 for line in tokenize(text)),)
    assert (log_probs < 0).all() and log_probs.sum() == pytest.approx(log_likelihood(model, text))
    assert perplexity(model, text) == pytest.approx(math.exp(-log_probs.mean()))


@given(st.integers(1, 300), st.sampled_from([np.float32, np.float64]), st.integers(0, 2**20))
@FAST
def test_property_a_chain_normalised_in_its_own_dtype_is_accepted(k, dtype, seed):
    W = np.random.default_rng(seed).random((min(k, 40), k)).astype(dtype) + dtype(0.01)
    P = W / W.sum(axis=1, keepdims=True)  # rows rounded in dtype: they miss 1 by ~k eps
    tol = row_tolerance(dtype, k)
    assert tol >= markov.ROW_TOL and (tol == markov.ROW_TOL) == (dtype == np.float64)
    assert np.abs(P.astype(np.float64).sum(axis=1) - 1).max() <= tol
    if len(P) == k:
        assert validate_transition(P).dtype == dtype


# ----------------------------------------------------------------------------- on the GPU


@pytest.mark.gpu
def test_every_function_follows_its_data_onto_the_gpu():
    import cupy

    def same(got, expected, atol=1e-10):
        assert isinstance(got, cupy.ndarray), f"expected a CuPy array, got {type(got)}"
        np.testing.assert_allclose(backend.to_numpy(got), expected, atol=atol)

    P = random_chain(5, seed=7)
    Pg = cupy.asarray(P)
    same(validate_transition(Pg), P)
    same(distribution_after(Pg, cupy.asarray(np.eye(5)), 4), distribution_after(P, np.eye(5), 4))
    for method in markov.METHODS:
        same(stationary(Pg, method), stationary(P, method))
    states = simulate(Pg, 2, 300, n_chains=7, seed=5)
    same(states, simulate(P, 2, 300, n_chains=7, seed=5), atol=0)  # host draws: same runs
    same(run_lengths(states, 1), run_lengths(backend.to_numpy(states), 1), atol=0)
    cpu, gpu = absorbing_chain(WEBSITE), absorbing_chain(cupy.asarray(WEBSITE))
    for field in ("transient", "absorbing", "N", "steps", "B"):
        same(getattr(gpu, field), getattr(cpu, field))
    edges = random_graph(400, 3000, seed=2)
    same(pagerank(cupy.asarray(edges), 400, tol=1e-12), pagerank(edges, 400, tol=1e-12))
    same(google_matrix(cupy.asarray(GRAPH), 6), google_matrix(GRAPH, 6))
    with pytest.raises(ValueError, match="P's row 1"):
        validate_transition(cupy.asarray([[1.0, 0.0], [0.2, 0.2]]))
    for method in markov.METHODS:  # transient states, float32, several closed classes
        same(stationary(cupy.asarray(UNICHAIN), method), stationary(UNICHAIN, method))
        F = float32_chain()
        got = stationary(cupy.asarray(F), method)
        assert got.dtype == np.float32
        same(got, stationary(F, method), atol=1e-5)
        with pytest.raises(ValueError, match="closed classes"):
            stationary(cupy.asarray(np.eye(2)), method)
    same(distribution_after(cupy.asarray(SICK), cupy.asarray([1.0, 0.0]), 2**70),
         stationary(SICK, "solve"), atol=1e-12)
    zero_tail = np.array([[1 - 5e-9, 0.0, 0.0], [0.0, 0.5, 0.5], [0.5, 0.0, 0.5]])
    u = cupy.asarray(np.full((1, 1), 1 - 2.0**-53))
    same(simulate(cupy.asarray(zero_tail), 0, 1, uniforms=u), [[0, 0]], atol=0)
    slow = absorbing_chain(cupy.asarray([[1 - 1e-13, 1e-13], [0.0, 1.0]]))
    same(slow.steps, [1e13], atol=1e2)
    assert isinstance(random_graph(10, 5, xp=cupy), cupy.ndarray)


@pytest.mark.gpu
def test_the_current_device_gets_new_graphs_and_mixing_fails():
    import cupy

    backend.use("gpu")
    edges = random_graph(100, 500, seed=0)
    assert isinstance(edges, cupy.ndarray)
    np.testing.assert_array_equal(backend.to_numpy(edges), random_graph(100, 500, xp=np))
    with pytest.raises(backend.DeviceMismatchError, match="p0"):
        distribution_after(cupy.asarray(random_chain(3)), np.ones(3) / 3, 2)
    comparison = timing.compare_devices(pagerank, backend.to_numpy(edges), 100, repeat=1,
                                         quiet=True)
    assert comparison.gpu is not None


@pytest.mark.parametrize("old", sorted(_deprecated.MOVED["course_utils.markov"]))
def test_names_that_moved_out_of_markov_warn_and_still_work(old):
    module, new = _deprecated.MOVED["course_utils.markov"][old]
    short = module.removeprefix("course_utils.")
    with pytest.warns(DeprecationWarning, match=rf"markov\.{old} is now {short}\.{new}"):
        moved = getattr(markov, old)
    assert moved is getattr(importlib.import_module(module), new)
    with pytest.raises(AttributeError, match="has no attribute '_pagerank'"):
        markov._pagerank  # noqa: B018 (a private core is not kept under its old name)
