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

Text is host work: like the word models of ``markov``, everything here is NumPy; the vectors
can be moved to the GPU with ``backend.asarray`` afterwards.
"""

from dataclasses import dataclass, field

import numpy as np

from ._checks import check_int, check_real, rng_from
from .markov import tokenize


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
    word seen a hundred times in a batch moves once, not a hundred times (which diverges)."""
    total = np.zeros_like(W)
    np.add.at(total, rows, grads)
    seen = np.bincount(rows, minlength=len(W))
    used = seen > 0
    W[used] -= lr * total[used] / seen[used, None]


def skipgram_pairs(lines, window):
    """Every (centre, context) pair of word ids at most window apart within a line.

    Parameters
    ----------
    lines : list of 1-D int arrays (the word ids of each line).
    window : int >= 1.

    Returns
    -------
    (centers, contexts): int64 arrays (n_pairs,).
    """
    window = check_int(window, "window")
    centers, contexts = [], []
    for line in lines:
        line = np.asarray(line, dtype=np.int64)
        for shift in range(1, window + 1):
            if line.size > shift:
                centers += [line[:-shift], line[shift:]]
                contexts += [line[shift:], line[:-shift]]
    if not centers:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(centers), np.concatenate(contexts)


def train_word2vec(text, *, dim=32, window=2, negatives=5, epochs=5, lr=0.2,
                   batch_size=128, min_count=2, seed=0):
    """Word vectors from text by skip-gram with negative sampling (see the module).

    Words are tokenize's (lower case, punctuation dropped); words seen fewer than min_count
    times are left out before the pairs are made. Vectors start at U(-0.5/dim, 0.5/dim),
    context vectors at 0, as in word2vec.

    Parameters
    ----------
    text : str.  dim : int >= 1, the vector size.  window : int >= 1, the context half-width.
    negatives : int >= 1, k.  epochs : int >= 1.  lr : float > 0, the SGD step.
    batch_size : int >= 1, pairs per step.  min_count : int >= 1.
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
    noise = np.cumsum(counts ** 0.75)
    noise /= noise[-1]  # the cumulative unigram^(3/4) distribution, for inverse-CDF draws
    V_in = (rng.random((len(vocab), dim)) - 0.5) / dim
    U_out = np.zeros((len(vocab), dim))
    losses = []
    for _ in range(epochs):
        order = rng.permutation(centers.size)
        drawn = np.minimum(np.searchsorted(noise, rng.random((centers.size, negatives))),
                           len(vocab) - 1)
        total = 0.0
        for start in range(0, order.size, batch_size):
            batch = order[start:start + batch_size]
            c, o = centers[batch], contexts[batch]
            neg = drawn[start:start + batch_size]
            loss, d_c, d_o, d_n = _sgns_loss(V_in, U_out, c, o, neg)
            _step(V_in, c, d_c, lr)
            _step(U_out, np.concatenate([o, neg.ravel()]),
                  np.concatenate([d_o, d_n.reshape(-1, dim)]), lr)
            total += loss
        if not np.isfinite(total):
            raise ValueError(f"training diverged (loss {total}): lower lr")
        losses.append(total / centers.size)
    return WordVectors(vocab, index, V_in, U_out, counts, losses)
