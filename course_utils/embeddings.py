"""Word vectors by skip-gram with negative sampling (word2vec, Mikolov et al. 2013), small.

Each word w has two vectors: v_w when it is the centre word, u_w when it is a context word.
For a (centre c, context o) pair seen in the text and k words n_1..n_k drawn at random from
the unigram distribution raised to 3/4, the loss is

    L = -log σ(u_o · v_c) - Σ_j log σ(-u_{n_j} · v_c),

so a true pair is pushed to a large dot product and a random one to a small (negative) one.
Its gradients, written beside it in ``_sgns_loss``: with s_o = σ(u_o · v_c) and
s_j = σ(u_{n_j} · v_c), dL/dv_c = (s_o - 1) u_o + Σ_j s_j u_{n_j}, dL/du_o = (s_o - 1) v_c,
dL/du_{n_j} = s_j v_c. Training is plain SGD on mini-batches of pairs,
each word moved by the mean of its gradients in the batch.

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

from ._checks import check_int, check_int_array, check_real, rng_from
from .backend import is_cupy_array
from .markov import tokenize

DIVERGED = 100  # an epoch's mean loss above this many times the starting loss: diverged


@dataclass(frozen=True)
class WordVectors:
    """Word vectors learned by train_word2vec: vectors[i] is the vector of vocab[i]."""

    vocab: tuple
    index: dict
    vectors: np.ndarray  # (V, dim), the centre vectors v
    contexts: np.ndarray  # (V, dim), the context vectors u
    counts: np.ndarray  # (V,), how often each word occurs
    losses: list = field(default_factory=list)  # the mean loss of each epoch


def _log_sigmoid(a):
    """log σ(a) = -log(1 + e^-a), without overflow."""
    return -np.logaddexp(0, -a)


def _sigmoid(a):
    return np.exp(_log_sigmoid(a))


def _sgns_loss(V_in, U_out, centers, contexts, negatives):
    """The summed skip-gram negative-sampling loss of a batch, and its gradients with respect
    to the rows used: (loss, d_center (B, d), d_context (B, d), d_negative (B, k, d))."""
    v = V_in[centers]  # (B, d)
    u_o = U_out[contexts]  # (B, d)
    u_n = U_out[negatives]  # (B, k, d)
    pos = np.einsum("bd,bd->b", u_o, v)  # u_o · v_c
    neg = np.einsum("bkd,bd->bk", u_n, v)  # u_nj · v_c
    loss = -_log_sigmoid(pos).sum() - _log_sigmoid(-neg).sum()
    g_pos = _sigmoid(pos) - 1  # dL/d(u_o · v_c) = σ - 1
    g_neg = _sigmoid(neg)  # dL/d(u_nj · v_c) = σ
    d_center = g_pos[:, None] * u_o + np.einsum("bk,bkd->bd", g_neg, u_n)
    return loss, d_center, g_pos[:, None] * v, g_neg[:, :, None] * v[:, None, :]


def _step(W, rows, grads, lr):
    """W[r] -= lr × the mean of the gradients of row r in this batch, for every row used: a
    word seen a hundred times in a batch moves once, not a hundred times (which diverges).
    The sums per row are one bincount over (row, column) cells, in the batch's order."""
    used, inverse, seen = np.unique(rows, return_inverse=True, return_counts=True)
    d = W.shape[1]
    cells = (inverse[:, None] * d + np.arange(d)).ravel()
    total = np.bincount(cells, weights=grads.ravel(), minlength=used.size * d)
    W[used] -= lr * total.reshape(used.size, d) / seen[:, None]


def _check_lines(lines):
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
    window = check_int(window, "window")
    lines = _check_lines(lines)
    ids = np.concatenate([np.zeros(0, np.int64), *lines])  # all lines, one after the other
    line_of = np.repeat(np.arange(len(lines)), [line.size for line in lines])
    centers, contexts = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for shift in range(1, min(window, ids.size - 1) + 1):
        same = np.flatnonzero(line_of[:-shift] == line_of[shift:])  # both ends on one line
        left, right = ids[same], ids[same + shift]
        centers += [left, right]
        contexts += [right, left]
    return np.concatenate(centers), np.concatenate(contexts)


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
    counts = check_int_array(counts, "counts", low=1, ndim=1, xp=np)
    threshold = check_real(threshold, "threshold", low=0, high=1, low_open=True)
    return _keep_probabilities(counts, threshold)


def _keep_probabilities(counts, threshold):
    frequency = counts / counts.sum(dtype=np.float64)
    return np.minimum(1.0, np.sqrt(threshold / frequency))


def train_word2vec(text, *, dim=32, window=2, negatives=5, epochs=5, lr=0.2,
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
    negatives : int >= 1, k.  epochs : int >= 1.  lr : float > 0, the SGD step.
    batch_size : int >= 1, pairs per step.  min_count : int >= 1.
    subsample : None (keep every word) or float in (0, 1], word2vec's threshold t (1e-3 thins
        the words that make more than 0.1% of the text).
    seed : int >= 0, numpy Generator or None (default 0).

    Returns
    -------
    WordVectors, with the mean loss per pair of each epoch in .losses.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    dim, window = check_int(dim, "dim"), check_int(window, "window")
    negatives, epochs = check_int(negatives, "negatives"), check_int(epochs, "epochs")
    lr = check_real(lr, "lr", low=0, low_open=True)
    batch_size, min_count = check_int(batch_size, "batch_size"), check_int(min_count,
                                                                          "min_count")
    if subsample is not None:
        subsample = check_real(subsample, "subsample", low=0, high=1, low_open=True)
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
    kept = None if subsample is None else _keep_probabilities(counts, subsample)
    noise = np.cumsum(counts ** 0.75)
    noise /= noise[-1]  # the cumulative unigram^(3/4) distribution, for inverse-CDF draws
    V_in = (rng.random((len(vocab), dim)) - 0.5) / dim
    U_out = np.zeros((len(vocab), dim))
    start = (1 + negatives) * math.log(2)  # the loss of every pair at the start (U = 0)
    losses = []
    for epoch in range(1, epochs + 1):
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
                loss, d_c, d_o, d_n = _sgns_loss(V_in, U_out, c, o, neg)
                _step(V_in, c, d_c, lr)
                _step(U_out, np.concatenate([o, neg.ravel()]),
                      np.concatenate([d_o, d_n.reshape(-1, dim)]), lr)
                total += loss
            mean = total / max(centers.size, 1)
            finite = bool(np.isfinite(V_in).all() and np.isfinite(U_out).all())
        if not (math.isfinite(mean) and finite and mean <= DIVERGED * start):
            raise ValueError(f"training diverged in epoch {epoch}: the mean loss per pair went "
                             f"from {start:.4g} to {mean:.4g}; lower lr (now {lr:g})")
        losses.append(mean)
    return WordVectors(vocab, index, V_in, U_out, counts, losses)
