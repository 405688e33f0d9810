"""Word vectors by skip-gram with negative sampling (word2vec, Mikolov et al. 2013), small.

Each word w has two vectors: v_w when it is the centre word, u_w when it is a context word.
For a (centre c, context o) pair seen in the text and k words n_1..n_k drawn at random from
the unigram distribution raised to 3/4, the loss is

    L = -log σ(u_o · v_c) - Σ_j log σ(-u_{n_j} · v_c),

so a true pair is pushed to a large dot product and a random one to a small (negative) one.
Its gradients, written beside it in ``sgns_loss``: with s_o = σ(u_o · v_c) and
s_j = σ(u_{n_j} · v_c), dL/dv_c = (s_o - 1) u_o + Σ_j s_j u_{n_j}, dL/du_o = (s_o - 1) v_c,
dL/du_{n_j} = s_j v_c. Training is plain SGD on mini-batches of pairs,
each word moved by the mean of its gradients in the batch (``sgd_step_rows``).

Frequent words ("the", "and") pair with everything and teach little: word2vec subsamples them,
keeping each occurrence of a word of frequency f with probability min(1, √(t / f)) for a
threshold t (Mikolov et al. 2013, "Distributed representations of words and phrases", eq. 5),
drawn afresh in every pass, before the windows are taken (so the kept words' windows reach
further).

Text is host work: like the word models of ``markov``, everything here is NumPy; the vectors
can be moved to the GPU with ``backend.asarray`` afterwards.
"""

import math
from dataclasses import dataclass, field

import numpy as np

from ._checks import (
    Array,
    Custom,
    Int,
    IntArray,
    Optional,
    Real,
    Seed,
    Text,
    check_array,
    check_fields,
    check_int_array,
    checked,
    rng_from,
)
from ._deprecated import renamed_keywords
from .backend import is_cupy_array
from .datasets import tokenize
from .numerics import log_sigmoid, sigmoid

DIVERGED = 100  # an epoch's mean loss above this many times the starting loss: diverged


def _words(vocab, name):
    """vocab as a tuple of distinct str, at least one."""
    if not isinstance(vocab, tuple) or not vocab or not all(isinstance(w, str) for w in vocab):
        raise TypeError(f"{name} must be a non-empty tuple of str (the words)")
    if len(set(vocab)) != len(vocab):
        raise ValueError(f"{name} must not repeat a word")
    return vocab


def _index_of(index, name, values, xp):
    """index as the dict word -> row of values["vocab"]."""
    if index != {w: i for i, w in enumerate(values["vocab"])}:
        raise ValueError(f"{name} must map each word of vocab to its position in vocab")
    return index


def _vectors_per_word(vectors, name, values, xp):
    """vectors as finite floats (V, dim), one row per word of values["vocab"]."""
    return _one_row_per_word(check_array(vectors, name, ndim=(2,), xp=np), name, values)


def _counts_per_word(counts, name, values, xp):
    """counts as ints >= 1 (V,), one per word of values["vocab"]."""
    return _one_row_per_word(check_int_array(counts, name, low=1, ndim=1, xp=np), name, values)


def _one_row_per_word(arr, name, values):
    if arr.shape[0] != len(values["vocab"]):
        raise ValueError(f"{name} must have one row per word ({len(values['vocab'])}), got "
                         f"shape {arr.shape}")
    return arr


def _like(first):
    """A check of a float array of the shape of the argument (or field) named first."""
    def check(arr, name, values, xp):
        arr = check_array(arr, name, ndim=(2,), xp=np)
        if arr.shape != values[first].shape:
            raise ValueError(f"{name} must have the shape of {first}, {values[first].shape}, "
                             f"got {arr.shape}")
        return arr
    return Custom(check, values=True)


@dataclass(frozen=True)
class WordVectors:
    """Word vectors learned by train_word2vec: vectors[i] is the vector of vocab[i].

    Built from outside (a saved model, say), its fields are checked: vocab distinct words,
    index their positions, vectors and contexts finite float (V, dim) arrays, counts ints
    >= 1 (V,), losses a list of floats.
    """

    vocab: tuple
    index: dict
    vectors: np.ndarray  # (V, dim), the centre vectors v
    contexts: np.ndarray  # (V, dim), the context vectors u
    counts: np.ndarray  # (V,), how often each word occurs
    losses: list = field(default_factory=list)  # the mean loss of each epoch

    def __post_init__(self):
        check_fields(self, vocab=Custom(_words), index=Custom(_index_of, values=True),
                     vectors=Custom(_vectors_per_word, values=True),
                     contexts=_like("vectors"), counts=Custom(_counts_per_word, values=True),
                     losses=Custom(_floats))


def _floats(losses, name):
    if not isinstance(losses, list) or not all(isinstance(v, float | int) for v in losses):
        raise TypeError(f"{name} must be a list of floats")
    return losses


def _batch(ids, name, values, xp):
    """ids as rows of the tables (ints in [0, V)), one (or one row of k) per pair."""
    ids = check_int_array(ids, name, high=values["V_in"].shape[0],
                          ndim=2 if name == "negatives" else 1, xp=np)
    if ids.shape[0] != values["centers"].shape[0]:
        raise ValueError(f"{name} must have one entry (row) per centre, "
                         f"{values['centers'].shape[0]}, got shape {ids.shape}")
    return ids


@checked(V_in=Array(ndim=(2,)), U_out=_like("V_in"),
         centers=IntArray(high=lambda v: v["V_in"].shape[0], ndim=1),
         contexts=Custom(_batch, values=True), negatives=Custom(_batch, values=True))
def sgns_loss(V_in, U_out, centers, contexts, negatives):
    """The summed skip-gram negative-sampling loss of a batch of B pairs, each with k
    negatives, and its gradients with respect to the rows used.

    Parameters
    ----------
    V_in : float array (V, d), the centre vectors v.  U_out : float array (V, d), the
        context vectors u.
    centers, contexts : int arrays (B,) of rows in [0, V), the pairs (c, o).
    negatives : int array (B, k) of rows in [0, V), the words drawn for each pair.

    Returns
    -------
    (loss, d_center, d_context, d_negative): the summed loss (a float), dL/dv_c (B, d),
    dL/du_o (B, d), dL/du_{n_j} (B, k, d), one row per use (a row used twice gets two).
    """
    v = V_in[centers]  # (B, d)
    u_o = U_out[contexts]  # (B, d)
    u_n = U_out[negatives]  # (B, k, d)
    pos = np.einsum("bd,bd->b", u_o, v)  # u_o · v_c
    neg = np.einsum("bkd,bd->bk", u_n, v)  # u_nj · v_c
    loss = -log_sigmoid(pos).sum() - log_sigmoid(-neg).sum()
    g_pos = sigmoid(pos) - 1  # dL/d(u_o · v_c) = σ - 1
    g_neg = sigmoid(neg)  # dL/d(u_nj · v_c) = σ
    d_center = g_pos[:, None] * u_o + np.einsum("bk,bkd->bd", g_neg, u_n)
    return loss, d_center, g_pos[:, None] * v, g_neg[:, :, None] * v[:, None, :]


def _table(W, name):
    """W as a float (V, d) NumPy array that can be changed in place (a copy would not be)."""
    if not isinstance(W, np.ndarray) or W.dtype.kind != "f":
        raise TypeError(f"{name} must be a float NumPy array (changed in place), got "
                        f"{type(W).__name__} of dtype {getattr(W, 'dtype', None)}")
    if not W.flags.writeable:
        raise ValueError(f"{name} is read-only; sgd_step_rows changes it in place")
    return check_array(W, name, ndim=(2,), xp=np)


def _row_grads(grads, name, values, xp):
    """grads (B, d): one gradient row per entry of values["rows"], d = W's columns."""
    grads = check_array(grads, name, ndim=(2,), xp=np)
    expected = (values["rows"].shape[0], values["W"].shape[1])
    if grads.shape != expected:
        raise ValueError(f"{name} must have shape {expected} (one row per entry of rows), got "
                         f"{grads.shape}")
    return grads


@checked(W=Custom(_table), rows=IntArray(high=lambda v: v["W"].shape[0], ndim=1),
         grads=Custom(_row_grads, values=True), lr=Real(low=0, low_open=True))
def sgd_step_rows(W, rows, grads, lr):
    """W[r] -= lr × the mean of the gradients of row r in this batch, for every row used: a
    word seen a hundred times in a batch moves once, not a hundred times (which diverges).
    The sums per row are one bincount over (row, column) cells, in the batch's order.

    Parameters
    ----------
    W : float NumPy array (V, d), changed in place.
    rows : int array (B,) of rows of W in [0, V), repeats welcome.
    grads : float array (B, d), the gradient for each entry of rows.
    lr : float > 0, the step.

    Returns
    -------
    None; the rows of W that rows names have moved.
    """
    used, inverse, seen = np.unique(rows, return_inverse=True, return_counts=True)
    d = W.shape[1]
    cells = (inverse[:, None] * d + np.arange(d)).ravel()
    total = np.bincount(cells, weights=grads.ravel(), minlength=used.size * d)
    W[used] -= lr * total.reshape(used.size, d) / seen[:, None]


def _check_lines(lines, _name="lines"):
    """lines as a list of 1-D int64 arrays of ids >= 0 (a 2-D int array: its rows)."""
    if isinstance(lines, str | bytes) or is_cupy_array(lines):
        raise TypeError(f"lines must be a list of 1-D int arrays of word ids (NumPy or lists), "
                        f"got {type(lines).__name__}")
    if isinstance(lines, np.ndarray) and lines.ndim != 2:
        raise TypeError(f"lines must be a list of 1-D int arrays (one per line), got one "
                        f"{lines.ndim}-D array of shape {lines.shape}; for one line pass [ids]")
    try:
        lines = list(lines)
    except TypeError:
        raise TypeError(f"lines must be a list of 1-D int arrays of word ids, got "
                        f"{type(lines).__name__}") from None
    return [_check_line(line, f"lines[{i}]") for i, line in enumerate(lines)]


def _check_line(line, name):
    """One line as a 1-D int64 array; an empty line of any dtype (np.array([]) is float) is
    an empty line, a non-empty one must hold ints >= 0."""
    if isinstance(line, list | tuple | np.ndarray) and np.ndim(line) == 1 and len(line) == 0:
        return np.zeros(0, np.int64)
    return check_int_array(line, name, ndim=1, xp=np).astype(np.int64)


@checked(window=Int(), lines=Custom(_check_lines))
def skipgram_pairs(lines, window):
    """Every (centre, context) pair of word ids at most window apart within a line.

    Parameters
    ----------
    lines : list of 1-D int arrays (or lists) of word ids >= 0, one per line; a 2-D int array
        is taken as its rows.
    window : int >= 1.

    Returns
    -------
    (centers, contexts): int64 arrays (n_pairs,): for each shift s = 1..window, the pairs
    (w_i, w_{i+s}) of every line, then their mirror images (w_{i+s}, w_i).
    """
    ids = np.concatenate([np.zeros(0, np.int64), *lines])  # all lines, one after the other
    line_of = np.repeat(np.arange(len(lines)), [line.size for line in lines])
    centers, contexts = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for shift in range(1, min(window, ids.size - 1) + 1):
        same = np.flatnonzero(line_of[:-shift] == line_of[shift:])  # both ends on one line
        left, right = ids[same], ids[same + shift]
        centers += [left, right]
        contexts += [right, left]
    return np.concatenate(centers), np.concatenate(contexts)


def _counts(counts, name):
    return check_int_array(counts, name, low=1, ndim=1, xp=np)


@checked(counts=Custom(_counts), threshold=Real(low=0, high=1, low_open=True))
def keep_probabilities(counts, threshold):
    """word2vec's subsampling: each occurrence of word w is kept with probability
    min(1, √(t / f_w)), f_w = counts[w] / Σ counts, t = threshold (Mikolov et al. 2013).

    Parameters
    ----------
    counts : 1-D int array (V,), how often each word occurs, each >= 1.
    threshold : float in (0, 1], t: words more frequent than t are thinned.

    Returns
    -------
    float64 array (V,) in (0, 1].
    """
    frequency = counts / counts.sum(dtype=np.float64)
    return np.minimum(1.0, np.sqrt(threshold / frequency))


@renamed_keywords(epochs="n_epochs")
@checked(text=Text(), dim=Int(), window=Int(), negatives=Int(), n_epochs=Int(),
         lr=Real(low=0, low_open=True), batch_size=Int(), min_count=Int(),
         subsample=Optional(Real(low=0, high=1, low_open=True)), seed=Seed())
def train_word2vec(text, *, dim=32, window=2, negatives=5, n_epochs=5, lr=0.2,
                   batch_size=128, min_count=2, subsample=None, seed=0):
    """Word vectors from text by skip-gram with negative sampling (see the module).

    Words are tokenize's (lower case, punctuation dropped); words seen fewer than min_count
    times are left out before the pairs are made. With subsample = t, each pass first keeps
    each occurrence of a word with probability min(1, √(t / f)) (keep_probabilities) and then
    makes the pairs of the words kept. Vectors start at U(-0.5/dim, 0.5/dim), context vectors
    at 0, as in word2vec, so every pair starts at the loss (1 + negatives) ln 2. An epoch whose
    mean loss is not finite or above 100 times that (too large an lr) stops training with a
    ValueError naming lr.

    Parameters
    ----------
    text : str.  dim : int >= 1, the vector size.  window : int >= 1, the context half-width.
    negatives : int >= 1, k.  n_epochs : int >= 1, passes over the pairs (the old keyword
    epochs= still works, with a DeprecationWarning).  lr : float > 0, the SGD step.
    batch_size : int >= 1, pairs per step.  min_count : int >= 1.
    subsample : None (keep every word) or float in (0, 1], word2vec's threshold t (1e-3 thins
        the words that make more than 0.1% of the text).
    seed : int >= 0, numpy Generator or None (default 0).

    Returns
    -------
    WordVectors, with the mean loss per pair of each epoch in .losses.
    """
    rng = rng_from(seed)
    lines = tokenize(text)
    words, counts = np.unique([w for line in lines for w in line], return_counts=True)
    keep = counts >= min_count
    vocab, counts = tuple(words[keep].tolist()), counts[keep]
    if len(vocab) < 2:
        raise ValueError(f"text has fewer than 2 words seen at least min_count={min_count} "
                         f"times")
    index = {w: i for i, w in enumerate(vocab)}
    id_lines = [np.array([index[w] for w in line if w in index], dtype=np.int64)
                for line in lines]
    centers, contexts = skipgram_pairs(id_lines, window)
    if centers.size == 0:
        raise ValueError("text has no two kept words on one line: no pairs to learn from")
    kept = None if subsample is None else keep_probabilities(counts, subsample)
    noise = np.cumsum(counts ** 0.75)
    noise /= noise[-1]  # the cumulative unigram^(3/4) distribution, for inverse-CDF draws
    V_in = (rng.random((len(vocab), dim)) - 0.5) / dim
    U_out = np.zeros((len(vocab), dim))
    start = (1 + negatives) * math.log(2)  # the loss of every pair at the start (U = 0)
    losses = []
    for epoch in range(1, n_epochs + 1):
        if kept is not None:  # subsampling: a fresh draw of the words kept, every pass
            centers, contexts = skipgram_pairs([line[rng.random(line.size) < kept[line]]
                                                for line in id_lines], window)
        order = rng.permutation(centers.size)
        drawn = np.minimum(np.searchsorted(noise, rng.random((centers.size, negatives))),
                           len(vocab) - 1)
        total = 0.0
        with np.errstate(over="ignore", invalid="ignore"):
            for begin in range(0, order.size, batch_size):
                batch = order[begin:begin + batch_size]
                c, o = centers[batch], contexts[batch]
                neg = drawn[begin:begin + batch_size]
                loss, d_c, d_o, d_n = sgns_loss(V_in, U_out, c, o, neg)
                sgd_step_rows(V_in, c, d_c, lr)
                sgd_step_rows(U_out, np.concatenate([o, neg.ravel()]),
                      np.concatenate([d_o, d_n.reshape(-1, dim)]), lr)
                total += loss
            mean = total / max(centers.size, 1)
            finite = bool(np.isfinite(V_in).all() and np.isfinite(U_out).all())
        if not (math.isfinite(mean) and finite and mean <= DIVERGED * start):
            raise ValueError(f"training diverged in epoch {epoch}: the mean loss per pair went "
                             f"from {start:.4g} to {mean:.4g}; lower lr (now {lr:g})")
        losses.append(mean)
    return WordVectors(vocab, index, V_in, U_out, counts, losses)
