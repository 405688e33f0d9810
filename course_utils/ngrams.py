"""Word models: n-gram Markov chains over words, trained on a text, that predict, suggest,
write, score and tell authors apart.

A model of order n predicts each word from the n words before it (a line starts with n <s>
and ends with </s>), with add-k smoothing: P(w | context) = (c(context, w) + k) /
(c(context) + k V). Counting is one np.unique over integer codes of the (n + 1)-grams.
"""

import itertools
import math
from dataclasses import dataclass

import numpy as np

from ._checks import (
    Custom,
    Instance,
    Int,
    IntArray,
    Optional,
    Real,
    Seed,
    Text,
    check_fields,
    check_int,
    checked,
    rng_from,
)
from .datasets import WORD, WORD_OR_LINE_END, normalise

BOS, EOS, UNK = "<s>", "</s>", "<unk>"  # line start (context only), line end, unknown word


def _encode(text, order, index=None):
    """text as one id sequence, each line as <s> * order, its word ids, </s> (tokenize's
    lines), and the word -> id index; no Python-level loop over the words (the lookups run
    in map, in C).

    Ids: 0 <s>, 1 </s>, 2 <unk>, then the text's words in sorted order (index=None); with a
    given index, a word not in it is <unk>.
    """
    tokens = WORD_OR_LINE_END.findall(normalise(text) + "\n")
    if index is None:
        index = _index(set(tokens) - {"\n"})
    lookup = index | {"\n": 1}  # a line end becomes </s>
    ids = np.fromiter(map(lookup.get, tokens, itertools.repeat(2)), dtype=np.int64,
                      count=len(tokens))
    ends = ids == 1
    keep = ~(ends & np.concatenate([[True], ends[:-1]]))  # drop lines without words
    ids, ends = ids[keep], ends[keep]
    line_starts = np.concatenate([[0], np.flatnonzero(ends)[:-1] + 1]) if ids.size else []
    return np.insert(ids, np.repeat(line_starts, order).astype(np.int64), 0), index


def _index(words):
    """word -> id: <s>, </s>, <unk>, then the words in sorted (alphabetical) order."""
    return {BOS: 0, EOS: 1, UNK: 2} | {w: i for i, w in enumerate(sorted(words), start=3)}


@dataclass(frozen=True)
class WordModel:
    """An order-n word model with add-k smoothing (see train_word_model)."""

    order: int
    k: float
    vocab: tuple  # id -> word; 0, 1, 2 are <s>, </s>, <unk>, then the words in sorted order
    index: dict  # word -> id
    ngrams: np.ndarray  # sorted codes of the (context, next word) seen in training
    ngram_counts: np.ndarray  # their counts
    contexts: np.ndarray  # sorted codes of the contexts seen
    context_counts: np.ndarray  # how often each was followed by a word

    def __post_init__(self):
        check_fields(self, order=Int(high=3), k=Real(low=0, low_open=True))

    @property
    def n_outcomes(self):
        """How many words can come next: the vocabulary, less <s>."""
        return len(self.vocab) - 1

    def counts(self):
        """{(context words..., next word): count} for every n-gram seen in training."""
        V = len(self.vocab)
        ids = [self.ngrams // V**p % V for p in range(self.order, -1, -1)]
        return {tuple(self.vocab[i[j]] for i in ids): int(c)
                for j, c in enumerate(self.ngram_counts.tolist())}


def _fits_64_bits(n_words, name, values, xp):
    """n_words checked: its order + 1 digits must fit an int64 code."""
    n_words = check_int(n_words, name)
    if n_words ** (values["order"] + 1) >= 2**63:
        raise ValueError(f"{name}^(order + 1) = {n_words}^{values['order'] + 1} does not fit "
                         f"64 bits: the codes would overflow")
    return n_words


@checked(order=Int(low=0), n_words=Custom(_fits_64_bits, values=True),
         ids=IntArray(ndim=1, high=lambda v: v["n_words"], empty_ok=True))
def ngram_codes(ids, order, n_words):
    """One integer per window of order + 1 ids: the ids as the digits of a number in base
    n_words, sum_j ids[t + j] n_words^(order - j), for every window whose last id is not <s>
    (0: a window that reaches into the next line's padding predicts nothing). Equal windows
    get equal codes, so np.unique on the codes counts the n-grams.

    Parameters
    ----------
    ids : int array (n,) of word ids in [0, n_words), each line as train_word_model pads it
    order : int >= 0, the context's length (a window is order + 1 ids)
    n_words : int >= 1, the vocabulary's size V, with n_words^(order + 1) < 2^63

    Returns
    -------
    int64 array (n_windows,), n_windows <= max(n - order, 0), in the windows' order
    """
    n = ids.size - order
    codes = np.zeros(max(n, 0), dtype=np.int64)
    for j in range(order + 1):
        codes = codes * n_words + ids[j:j + n]
    return codes[ids[order:] != 0]


def _check_vocabulary(vocabulary, name="vocabulary"):
    if isinstance(vocabulary, str | bytes) or not hasattr(vocabulary, "__iter__"):
        raise TypeError(f"vocabulary must be a collection of words (str), got "
                        f"{type(vocabulary).__name__}")
    words = set()
    for word in vocabulary:
        if not isinstance(word, str):
            raise TypeError(f"vocabulary must hold words (str), got {type(word).__name__}")
        normal = normalise(word)
        if not WORD.fullmatch(normal):
            raise ValueError(f"vocabulary must hold single words as tokenize gives them, got "
                             f"{word!r}")
        words.add(normal)
    return words


@checked(order=Int(high=3), k=Real(low=0, low_open=True), text=Text(),
         vocabulary=Optional(Custom(_check_vocabulary)))
def train_word_model(text, order=1, k=1.0, *, vocabulary=None):
    """Count the word n-grams of text: an order-1 (bigram) or order-2 (trigram) model.

    Each line is padded as <s> ... <s> w1 ... wL </s>, so that lines start from a known
    context and end. With add-k smoothing, P(w | c) = (count(c, w) + k) / (count(c) + k V),
    V the number of possible next words (the vocabulary, </s> and <unk>): every word, even one
    never seen after c, keeps some probability, and an unknown context gives the uniform
    distribution. k = 1 is Laplace's add-one; a smaller k trusts the counts more.

    Counting is vectorised: each (context, next) window becomes one integer code (the ids
    as digits in base V) and np.unique counts the codes. The codes must fit 64 bits, so V
    is at most about 2 million words for order 2 and 55 000 for order 3 (ValueError beyond).

    Parameters
    ----------
    text : str, with at least one word
    order : int in [1, 3], the number of previous words the next one depends on
    k : float > 0, the pseudo-count added to every (context, word) pair
    vocabulary : collection of words, or None (the words of text). Models given the same
        vocabulary give probabilities over the same words, so their likelihoods compare
        word for word; a word of text outside it counts as <unk>.

    Returns
    -------
    WordModel
    """
    index = None if vocabulary is None else _index(vocabulary)
    ids, index = _encode(text, order, index)
    if not bool((ids > 1).any()):
        raise ValueError("text has no words to learn from")
    vocab = tuple(index)
    V = len(vocab)
    if V ** (order + 1) >= 2**63:
        most = round(2 ** (63 / (order + 1)))
        while most ** (order + 1) >= 2**63:
            most -= 1
        raise ValueError(f"text has {V - 3} different words: too many for an order-{order} "
                         f"model, whose n-gram codes (base V, {order + 1} digits) must fit "
                         f"64 bits (at most {most - 3} words; use a smaller order, or a "
                         f"vocabulary)")
    codes = ngram_codes(ids, order, V)
    ngrams, ngram_counts = np.unique(codes, return_counts=True)
    contexts = np.unique(ngrams // V)
    # a context's count is the sum of its n-grams' counts (sorted n-grams group by context)
    context_counts = np.add.reduceat(ngram_counts, np.searchsorted(ngrams // V, contexts))
    return WordModel(order, k, vocab, index, ngrams, ngram_counts, contexts, context_counts)


MODEL = Instance(WordModel, "a WordModel (from train_word_model)")


def _check_context(context, name="context"):
    """context as a list of lower-case words (any iterable of str; a str itself is refused,
    since its letters are not words)."""
    if isinstance(context, str | bytes) or not hasattr(context, "__iter__"):
        raise TypeError(f"context must be a list of words (str), got {type(context).__name__}")
    context = list(context)
    if not all(isinstance(w, str) for w in context):
        raise TypeError("context must be a list of words (str)")
    return [normalise(w) for w in context]


def _context_code(model, context):
    """The code of the last `order` words of context (padded with <s>; unknown -> <unk>)."""
    ids = [0] * model.order + [model.index.get(w, model.index[UNK]) for w in context]
    code = 0
    for i in ids[len(ids) - model.order:]:
        code = code * len(model.vocab) + i
    return code


CONTEXT = Custom(_check_context)


@checked(model=MODEL, context=CONTEXT)
def next_word_probs(model, context):
    """P(next word | the last `order` words of context) for every word of the vocabulary.

    Parameters
    ----------
    model : WordModel
    context : list of str, the words so far in the line (may be empty; unknown words are
        <unk>, never a KeyError)

    Returns
    -------
    float64 array (len(model.vocab),), summing to 1, 0 at <s>
    """
    code = _context_code(model, context)
    V = len(model.vocab)
    lo, hi = np.searchsorted(model.ngrams, [code * V, (code + 1) * V])
    counts = np.zeros(V)
    counts[model.ngrams[lo:hi] % V] = model.ngram_counts[lo:hi]
    total = counts.sum()
    scale = max(model.k, 1.0)  # counts and k divided by max(k, 1): no overflow for k = 1e308
    probs = (counts / scale + model.k / scale) / (total / scale + model.k / scale *
                                                  model.n_outcomes)
    probs[0] = 0.0  # <s> is never predicted
    return probs


@checked(model=MODEL, context=CONTEXT, n=Int())
def suggest(model, context, n=3):
    """The n words the model finds likeliest after context, as a phone's keyboard offers
    them above the keys: likeliest first, equal probabilities (equal counts) in alphabetical
    order, so every machine suggests the same. <s>, </s> and <unk> are never suggested.

    Parameters
    ----------
    model : WordModel
    context : list of str, the words typed so far in the line
    n : int >= 1, how many suggestions (fewer when the vocabulary is smaller)

    Returns
    -------
    list of (word, probability) pairs
    """
    probs = next_word_probs(model, context)[3:]  # words only
    order = np.argsort(-probs, kind="stable")[:n]  # ids are alphabetical: ties stay so
    return [(model.vocab[3 + i], float(probs[i])) for i in order.tolist()]


@checked(model=MODEL, seed=Seed(), temperature=Real(low=0, low_open=True), max_words=Int())
def sample_line(model, *, seed=0, temperature=1.0, max_words=40):
    """A new line drawn word by word from the model, stopping at </s> or max_words.

    Temperature T reshapes each distribution to p^(1/T), renormalised: T = 1 samples the
    model, T < 1 sharpens it towards the likeliest word, T > 1 flattens it towards uniform.
    <unk> is never written.

    Parameters
    ----------
    model : WordModel
    seed : int, numpy Generator or None
    temperature : float > 0
    max_words : int >= 1

    Returns
    -------
    str, the words joined by spaces
    """
    rng = rng_from(seed)
    words = []
    while len(words) < max_words:
        p = next_word_probs(model, words)
        p[model.index[UNK]] = 0.0
        with np.errstate(divide="ignore", over="ignore"):  # log 0 = -inf; -x / 1e-320 = -inf
            logp = (np.log(p) - np.log(p.max())) / temperature  # the likeliest at exactly 0
        p = np.exp(logp)
        i = int(rng.choice(p.size, p=p / p.sum()))
        if i == 1:
            break
        words.append(model.vocab[i])
    return " ".join(words)


@checked(model=MODEL, text=Text())
def token_log_probs(model, text):
    """The natural log of P(token | context) for each token of text in order: each word and
    each line's end (</s>), lines as tokenize splits them. Models of any order predict the
    same tokens, so their arrays line up (to interpolate two models, say).

    Parameters
    ----------
    model : WordModel
    text : str (unknown words count as <unk>)

    Returns
    -------
    float64 array (n_tokens,) of values < 0; empty for a text without words
    """
    ids, _ = _encode(text, model.order, model.index)
    V = len(model.vocab)
    codes = ngram_codes(ids, model.order, V)
    # the counts of each n-gram and of its context, found by binary search
    found = np.minimum(np.searchsorted(model.ngrams, codes), model.ngrams.size - 1)
    count = np.where(model.ngrams[found] == codes, model.ngram_counts[found], 0)
    where = np.minimum(np.searchsorted(model.contexts, codes // V), model.contexts.size - 1)
    total = np.where(model.contexts[where] == codes // V, model.context_counts[where], 0)
    scale = max(model.k, 1.0)  # as in next_word_probs: no overflow for a huge k
    return np.log(count / scale + model.k / scale) - \
        np.log(total / scale + model.k / scale * model.n_outcomes)


@checked(model=MODEL, text=Text())
def log_likelihood(model, text):
    """The natural log of the probability the model gives text, line by line (each line from
    its start context to </s>): sum over the line's words and its end of log P(w | context).

    Parameters
    ----------
    model : WordModel
    text : str, as token_log_probs takes it

    Returns
    -------
    float (<= 0); 0.0 for a text without words
    """
    return float(token_log_probs(model, text).sum())


def _check_list(values, name, kind, check):
    if isinstance(values, str | bytes | WordModel) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a non-empty list of {kind}, got "
                        f"{type(values).__name__}")
    values = list(values)
    if not values:
        raise ValueError(f"{name} must be a non-empty list of {kind}, got an empty one")
    for i, value in enumerate(values):
        check(value, f"{name}[{i}]")
    return values


def _check_models(models, name):
    return _check_list(models, name, "WordModel", lambda m, n: MODEL(m, n, {}, None))


def _check_passages(passages, name):
    return _check_list(passages, name, "str", lambda p, n: Text()(p, n, {}, None))


@checked(models=Custom(_check_models), passages=Custom(_check_passages))
def classify(models, passages):
    """Each passage's most likely model: argmax_m log_likelihood(models[m], passage); a tie
    goes to the first model.

    Parameters
    ----------
    models : list of WordModel (e.g. one per author)
    passages : list of str, each with at least one word (a passage without words is equally
        likely, probability 1, under every model: a ValueError names it)

    Returns
    -------
    labels : int64 array (n_passages,), indices into models
    scores : float64 array (n_passages, n_models) of log-likelihoods
    """
    scores = np.empty((len(passages), len(models)))
    for i, passage in enumerate(passages):
        for j, model in enumerate(models):
            log_probs = token_log_probs(model, passage)
            if log_probs.size == 0:
                raise ValueError(f"passages[{i}] has no words: every model gives it "
                                 f"probability 1, so none is likelier")
            scores[i, j] = log_probs.sum()
    return scores.argmax(axis=1), scores


@checked(model=MODEL, text=Text())
def perplexity(model, text):
    """exp(-log-likelihood / number of predicted tokens): the model's average branching
    factor on text (lower is better; V for a uniform guess over V words).

    Parameters
    ----------
    model : WordModel
    text : str with at least one word

    Returns
    -------
    float >= 1 (a ValueError when it is beyond the largest float, as with a tiny k and
    unknown words: compare log-likelihoods then)
    """
    log_probs = token_log_probs(model, text)
    if log_probs.size == 0:
        raise ValueError("text has no words")
    mean = -float(log_probs.mean())
    if mean > math.log(np.finfo(np.float64).max):
        raise ValueError(f"the perplexity of text, e^{mean:.1f}, is beyond the largest float "
                         f"(about e^709.8): compare log-likelihoods or token_log_probs")
    return math.exp(mean)
