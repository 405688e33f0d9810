"""course_utils.markov against its peers: PageRank against networkx, word counts against a dict.

PageRank: power iteration on a random graph of 10^5 pages and 10^6 links, ours against
networkx's pagerank on the same graph, damping and tolerance (the graph, a NumPy edge list and
a networkx DiGraph, is built before the clock starts; both stop on the same rule; the ranks are
checked to agree); then 10^6 pages and 10^7 links, ours alone, to show how the time grows.
Word models: counting the (context, next word) pairs of the shipped texts, np.unique on
integer codes against a plain dict-of-Counters loop, from the same tokenized lines.
Rounds are interleaved so that a slow spell of the machine hits every contender alike.

    python bench/markov.py            # the issue's sizes
    python bench/markov.py --quick    # 10^4 pages and 10^5 links; no 10^7 run
"""

from collections import Counter, defaultdict

import networkx as nx
import numpy as np
from _timing import interleaved, report, start

from course_utils import backend
from course_utils.datasets import TEXTS, load_text, tokenize
from course_utils.ngrams import ngram_codes, train_word_model
from course_utils.pagerank import pagerank, random_graph

TOL = 1e-6  # networkx's default


def dict_counts(lines, order):
    """The plain way: a Counter of next words per context tuple."""
    counts = defaultdict(Counter)
    for line in lines:
        words = ["<s>"] * order + line + ["</s>"]
        for i in range(order, len(words)):
            counts[tuple(words[i - order:i])][words[i]] += 1
    return counts


def main():
    args, status = start(__doc__, "10^4 pages and 10^5 links, no 10^7 run", rounds=5)
    n, m = (10_000, 100_000) if args.quick else (100_000, 1_000_000)
    edges = random_graph(n, m, seed=0, xp=np)
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(edges.tolist())

    def ours():
        return pagerank(edges, n, 0.85, tol=TOL)

    def networkx():
        return nx.pagerank(graph, alpha=0.85, tol=TOL)

    theirs = networkx()
    np.testing.assert_allclose(ours(), [theirs[i] for i in range(n)], atol=1e-12)
    cpu = interleaved({"course_utils pagerank": ours, "networkx pagerank": networkx},
                      args.rounds)
    report(f"CPU, PageRank, {n} pages, {m} links, tol {TOL:g}", cpu, "networkx pagerank")
    if status:
        edges_g = backend.to_device(edges, "gpu")
        gpu = interleaved({"course_utils pagerank (CuPy)": lambda: pagerank(edges_g, n,
                                                                            tol=TOL)},
                          args.rounds)
        report(f"GPU, PageRank, {n} pages, {m} links", gpu, "course_utils pagerank (CuPy)")
    if not args.quick:
        big_n, big_m = 1_000_000, 10_000_000
        big = random_graph(big_n, big_m, seed=0, xp=np)
        alone = interleaved({"course_utils pagerank": lambda: pagerank(big, big_n, tol=TOL)},
                            max(args.rounds // 2, 1))
        report(f"CPU, PageRank, {big_n} pages, {big_m} links (10x the size)", alone,
               "course_utils pagerank")
        print(f"    time per link grew {alone['course_utils pagerank'] / big_m / (cpu['course_utils pagerank'] / m):.2f}x")  # noqa: E501

    text = "\n".join(load_text(name) for name in TEXTS)
    lines = tokenize(text)
    n_words = sum(map(len, lines))
    for order in (1, 2):
        assert train_word_model(text, order).counts() == {
            (*c, w): k for c, nxt in dict_counts(lines, order).items() for w, k in nxt.items()}
        words = interleaved({"course_utils train_word_model": lambda o=order:
                             train_word_model(text, o),
                             "dict loop (from tokenized lines)": lambda o=order:
                             dict_counts(lines, o),
                             "dict loop (tokenize, then count)": lambda o=order:
                             dict_counts(tokenize(text), o)}, args.rounds * 4)
        report(f"word model of order {order}, the shipped texts ({n_words} words), ours from "
               f"the text (tokenizing too)", words, "dict loop (tokenize, then count)")
        model = train_word_model(text, order)  # the counting alone, from the same ids:
        ids = np.array([i for line in lines  # each line as <s> * order, its words, </s>
                        for i in [0] * order + [model.index[w] for w in line] + [1]])
        V = len(model.vocab)
        id_list = ids.tolist()

        def count_codes(o=order, ids=ids, V=V):
            return np.unique(ngram_codes(ids, o, V), return_counts=True)

        def count_dict(o=order, id_list=id_list):
            counts = Counter()
            for i in range(o, len(id_list)):
                if id_list[i]:  # not a window predicting <s>, as ngram_codes
                    counts[tuple(id_list[i - o:i + 1])] += 1
            return counts

        assert len(count_dict()) == count_codes()[0].size
        np.testing.assert_array_equal(count_codes()[1], model.ngram_counts)  # the same ids
        counting = interleaved({"np.unique on n-gram codes": count_codes,
                                "Counter of id tuples": count_dict}, args.rounds * 4)
        report(f"the counting alone, order {order}, from the same id sequence", counting,
               "Counter of id tuples")


if __name__ == "__main__":
    main()
