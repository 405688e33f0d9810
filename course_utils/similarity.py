"""Cosine similarity, cos θ = a·b / (|a| |b|), for one pair or all pairs of rows.

Every function follows its data: NumPy arrays in, NumPy out; CuPy in, CuPy out (lists go
with either). A NumPy array and a CuPy array in one call raise DeviceMismatchError naming
the one on the other device.
"""

from ._checks import array_module, check_array, check_int
from .backend import get_array_module


def normalize_rows(x):
    """Each row of x divided by its L2 norm; zero rows stay zero. (..., d) -> (..., d)."""
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
    Rounding can put a result one unit in the last place outside [-1, 1]; clip before arccos.

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
        unit_a = normalize_rows(a)
        return unit_a @ unit_a.T
    _, a, b = _checked_pair(a, b)
    return normalize_rows(a) @ normalize_rows(b).T


def cosine_distance(a, b=None):
    """1 - cosine_similarity(a, b), clipped to [0, 2]; the diagonal is exactly 0 when b is None.

    Shapes as in cosine_similarity. Not a metric (no triangle inequality), but a dissimilarity.
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
    best = xp.argsort(-similarity, axis=-1, kind="stable")[..., :k]
    return best, xp.take_along_axis(similarity, best, axis=-1)
