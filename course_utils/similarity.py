"""Cosine similarity, cos θ = a·b / (|a| |b|), for one pair or all pairs of rows.

Every function follows its data: NumPy arrays in, NumPy out; CuPy in, CuPy out (lists go
with either). A NumPy array and a CuPy array in one call raise DeviceMismatchError naming
the one on the other device.
"""

from ._checks import array_module, check_array, check_int
from .backend import get_array_module


def normalize_rows(x):
    """Each row of x divided by its L2 norm; zero rows stay zero.

    Parameters
    ----------
    x : array of shape (..., d): a vector, or rows along the last axis

    Returns
    -------
    array of x's shape, each row of norm 1 (or 0); float32 for float32 x, else float64.
    """
    if getattr(x, "ndim", None) == 0 or isinstance(x, int | float):
        raise ValueError(f"x must be a vector or rows of vectors (1-D or more), got a scalar "
                         f"{type(x).__name__}")
    x = check_array(x, "x", ndim=tuple(range(1, 33)))
    xp = get_array_module(x)
    norm = xp.sqrt(xp.einsum("...i,...i->...", x, x))[..., None]
    info = xp.finfo(x.dtype)
    if bool(((norm > (info.tiny / info.eps) ** 0.5) & (norm < xp.inf)).all()):  # the usual case
        return x / norm
    # A zero row, or squares that under- or overflowed (entries near 1e-200 or 1e200 in
    # float64): divide each row by its largest |entry| first, so its norm lies in [1, sqrt(d)].
    peak = xp.abs(x).max(axis=-1, keepdims=True)
    unit = x / xp.where(peak == 0, 1, peak)
    norm = xp.sqrt(xp.einsum("...i,...i->...", unit, unit))[..., None]
    unit /= xp.where(norm == 0, 1, norm)  # a zero row stays zero: similarity 0 with anything
    return unit


def _checked_pair(a, b, names=("a", "b"), ndim_b=(1, 2)):
    """a and b validated, on one array module, with the same number of features.

    The module is a's when a is an array, else b's; the other one on another device raises
    DeviceMismatchError naming it.
    """
    xp = array_module(**{names[0]: a, names[1]: b})
    a, b = check_array(a, names[0], xp=xp), check_array(b, names[1], ndim=ndim_b, xp=xp)
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"{names[0]} and {names[1]} must have the same number of features "
                         f"(last axis): {names[0]} has shape {a.shape}, "
                         f"{names[1]} has shape {b.shape}")
    return xp, a, b


def cosine_similarity(a, b=None):
    """Cosine of the angle between a and b: the dot product of their normalised rows.

    A zero vector has similarity 0 with every vector, itself included (as in scikit-learn).
    Results are clipped to [-1, 1] (rounding could put one a unit in the last place outside),
    and with b None each non-zero row's similarity with itself is exactly 1.

    Parameters
    ----------
    a : array of shape (d,) or (n_a, d)
    b : array of shape (d,) or (n_b, d), optional; default a itself (a must then be 2-D)

    Returns
    -------
    a scalar for two vectors; shape (n_b,) when a is 1-D; (n_a,) when b is 1-D;
    (n_a, n_b) for two 2-D arrays, entry [i, j] comparing a[i] with b[j].
    float32 when the inputs are float32, else float64.
    """
    if b is None:
        a = check_array(a, "a")
        if a.ndim == 1:
            raise ValueError("b is required when a is a single vector (a has shape "
                             f"{a.shape}); pass a 2-D a to compare its rows with each other")
        xp, unit_a = get_array_module(a), normalize_rows(a)
        similarity = unit_a @ unit_a.T
        diagonal = xp.arange(len(a))
        similarity[diagonal, diagonal] = (unit_a != 0).any(axis=1)  # 1, or 0 for a zero row
    else:
        xp, a, b = _checked_pair(a, b)
        similarity = normalize_rows(a) @ normalize_rows(b).T
    if similarity.ndim == 0:  # two vectors: a scalar
        return xp.clip(similarity, -1, 1)
    return xp.clip(similarity, -1, 1, out=similarity)  # in place: no second n_a x n_b array


def cosine_distance(a, b=None):
    """1 - cosine_similarity(a, b), clipped to [0, 2]; the diagonal is exactly 0 when b is None.

    Not a metric (no triangle inequality), but a dissimilarity.

    Parameters
    ----------
    a : array of shape (d,) or (n_a, d)
    b : array of shape (d,) or (n_b, d), optional; default a itself (a must then be 2-D)

    Returns
    -------
    shapes as in cosine_similarity: a scalar, (n_b,), (n_a,) or (n_a, n_b); values in [0, 2].
    """
    similarity = cosine_similarity(a, b)  # validates a and b
    xp = get_array_module(similarity)
    distance = xp.clip(1 - similarity, 0, 2)
    if b is None:
        xp.fill_diagonal(distance, 0)
    return distance


def most_similar(queries, items, k=5):
    """The k items most similar to each query, by cosine similarity, best first.

    Equal similarities are ordered by item index, so the result is deterministic.

    Parameters
    ----------
    queries : array of shape (d,) or (n_queries, d)
    items : array of shape (n_items, d)
    k : int, 1 <= k <= n_items

    Returns
    -------
    (indices, similarities), each of shape (k,) for one query or (n_queries, k).
    """
    xp, queries, items = _checked_pair(queries, items, ("queries", "items"), ndim_b=(2,))
    k = check_int(k, "k", high=items.shape[0], high_is="the number of items")
    similarity = normalize_rows(queries) @ normalize_rows(items).T
    xp.clip(similarity, -1, 1, out=similarity)
    best = xp.argsort(-similarity, axis=-1, kind="stable")[..., :k]
    return best, xp.take_along_axis(similarity, best, axis=-1)
