import math
from collections import Counter, defaultdict

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from course_utils import backend, markov
from course_utils.markov import (
    AbsorbingChain,
    WordModel,
    absorbing_chain,
    classify,
    distribution_after,
    google_matrix,
    load_text,
    log_likelihood,
    next_word_probs,
    pagerank,
    perplexity,
    random_graph,
    run_lengths,
    sample_line,
    simulate,
    stationary,
    tokenize,
    train_word_model,
    validate_transition,
)

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
    with pytest.raises(TypeError, match="states must be an integer array"):
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
    with pytest.raises(ValueError, match=r"edges must hold ints in \[0, 3\)"):
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


@pytest.mark.parametrize("name", markov.TEXTS)
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
    for name in markov.TEXTS:
        lines = load_text(name).splitlines()
        chunks = ["\n".join(lines[i:i + 6]) for i in range(0, len(lines), 6)]
        chunks = [c for c in chunks if tokenize(c)]
        passages[name] = chunks[::5]  # held out
        models.append(train_word_model("\n".join(c for i, c in enumerate(chunks) if i % 5),
                                       order=1, k=0.1))
    right = 0
    for label, name in enumerate(markov.TEXTS):
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
    labels, scores = classify([model, train_word_model("c c c")], lines + ["ab"])
    assert labels.shape == (len(lines) + 1,) and np.isfinite(scores).all()


@given(st.sampled_from(markov.TEXTS), st.integers(1, 2))
@settings(max_examples=4, deadline=None)
def test_properties_of_the_shipped_texts(name, order):
    text = load_text(name)
    assert isinstance(text, str) and len(tokenize(text)) > 300
    model = train_word_model(text, order, k=0.1)
    assert -log_likelihood(model, text) / sum(len(line) + 1 for line in tokenize(text)) > 0


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


@pytest.mark.gpu
def test_the_current_device_gets_new_graphs_and_mixing_fails():
    import cupy

    backend.use("gpu")
    edges = random_graph(100, 500, seed=0)
    assert isinstance(edges, cupy.ndarray)
    np.testing.assert_array_equal(backend.to_numpy(edges), random_graph(100, 500, xp=np))
    with pytest.raises(backend.DeviceMismatchError, match="p0"):
        distribution_after(cupy.asarray(random_chain(3)), np.ones(3) / 3, 2)
    comparison = backend.compare_devices(pagerank, backend.to_numpy(edges), 100, repeat=1,
                                         quiet=True)
    assert comparison.gpu is not None
