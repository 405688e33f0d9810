"""Cosine similarity, cos θ = a·b / (|a| |b|), for one pair or all pairs of rows.

Every function follows its data: NumPy arrays in, NumPy out; CuPy in, CuPy out (lists go
with either). A NumPy array and a CuPy array in one call raise DeviceMismatchError naming
the one on the other device.
"""

import functools

from ._checks import Array, Custom, Int, check_array, checked
from .backend import get_array_module


def _check_vectors(x, name, values, xp):
    """x as a vector or rows of vectors (1-D or more)."""
    if getattr(x, "ndim", None) == 0 or isinstance(x, int | float):
        raise ValueError(f"{name} must be a vector or rows of vectors (1-D or more), got a "
                         f"scalar {type(x).__name__}")
    return check_array(x, name, ndim=tuple(range(1, 33)), xp=xp)


def _check_features(value, name, values, xp, *, first, ndim=(1, 2)):
    """value as an array of rank ndim on the call's device, with as many features (last axis)
    as the argument first."""
    value = check_array(value, name, ndim=ndim, xp=xp)
    if values[first].shape[-1] != value.shape[-1]:
        raise ValueError(f"{first} and {name} must have the same number of features (last "
                         f"axis): {first} has shape {values[first].shape}, {name} has shape "
                         f"{value.shape}")
    return value


def _check_other(b, name, values, xp):
    """b, the rows a is compared with: None (a itself, so a must be 2-D) or like a."""
    if b is None:
        if values["a"].ndim == 1:
            raise ValueError(f"b is required when a is a single vector (a has shape "
                             f"{values['a'].shape}); pass a 2-D a to compare its rows with "
                             f"each other")
        return None
    return _check_features(b, name, values, xp, first="a")


_PAIR = {"a": Array(), "b": Custom(_check_other, values=True, device_of=lambda b: b)}


@checked(x=Custom(_check_vectors, values=True, device_of=lambda x: x))
def normalize_rows(x):
    """Each row of x divided by its L2 norm; zero rows stay zero.

    Parameters
    ----------
    x : array of shape (..., d): a vector, or rows along the last axis

    Returns
    -------
    array of x's shape, each row of norm 1 (or 0); float32 for float32 x, else float64.
    """
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


@checked(**_PAIR)
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
    xp = get_array_module(a)
    if b is None:
        unit_a = normalize_rows(a)
        similarity = unit_a @ unit_a.T
        diagonal = xp.arange(len(a))
        similarity[diagonal, diagonal] = (unit_a != 0).any(axis=1)  # 1, or 0 for a zero row
    else:
        similarity = normalize_rows(a) @ normalize_rows(b).T
    if similarity.ndim == 0:  # two vectors: a scalar
        return xp.clip(similarity, -1, 1)
    return xp.clip(similarity, -1, 1, out=similarity)  # in place: no second n_a x n_b array


@checked(**_PAIR)
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
    similarity = cosine_similarity(a, b)
    xp = get_array_module(similarity)
    distance = xp.clip(1 - similarity, 0, 2)
    if b is None:
        xp.fill_diagonal(distance, 0)
    return distance


@checked(queries=Array(),
         items=Custom(functools.partial(_check_features, first="queries", ndim=(2,)),
                      values=True, device_of=lambda items: items),
         k=Int(high=lambda values: values["items"].shape[0], high_is="the number of items"))
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
    xp = get_array_module(queries)
    similarity = normalize_rows(queries) @ normalize_rows(items).T
    xp.clip(similarity, -1, 1, out=similarity)
    best = xp.argsort(-similarity, axis=-1, kind="stable")[..., :k]
    return best, xp.take_along_axis(similarity, best, axis=-1)
