"""What clustering and density share: blocks of rows, checks of samples and centres, and
squared distances taken relative to a centre (private: the public names live in the modules).

Distances by the expanded product |x|² - 2 x.c + |c|² lose what |x|² and |c|² share when the
data sit far from the origin (an offset of 1e9, or 1e4 in float32, leaves nothing of the
distances between nearby points). They do not move with the origin, but the rounding does:
every function here is handed data already shifted by their mean (see centred), so the
expanded product only sees the spread of the data.
"""

import numpy as np

from ._checks import check_array, check_int
from .backend import get_array_module

BLOCK = 1 << 20  # entries of a distance block held at once (8 MiB of float64)


def row_blocks(n_rows, width, budget=BLOCK):
    """Slices covering range(n_rows), each of budget // width rows (at least one)."""
    step = max(1, budget // max(1, width))
    return [slice(start, min(start + step, n_rows)) for start in range(0, n_rows, step)]


def check_X(X, min_samples=1, name="X"):
    """X as a finite 2-D float array (n, d) with at least min_samples rows."""
    X = check_array(X, name, ndim=(2,))
    if X.shape[0] < min_samples:
        raise ValueError(f"{name} needs at least {min_samples} samples (rows), got shape "
                         f"{X.shape}")
    return X


def check_k(k, n_samples):
    """k as an int in [1, n_samples]."""
    return check_int(k, "k", high=n_samples, high_is="the number of samples")


def check_centers(centers, X, name="init"):
    """centers as a finite (k, d) array of X's dtype, on X's device, with X's d columns."""
    centers = check_array(centers, name, ndim=(2,), xp=get_array_module(X)).astype(X.dtype)
    if centers.shape[1] != X.shape[1]:
        raise ValueError(f"{name} must have {X.shape[1]} columns like X, got shape "
                         f"{centers.shape}")
    return centers


def centre_of(X, name="X", *, check=True):
    """A centre c (d,) in the middle of the rows of X (n, d), by which to shift X (and
    anything X is compared with) before the expanded products are taken.

    c is the midrange of each column, rounded to a multiple of a power of two about a
    sixteenth of the column's half-range: as good as the mean for the rounding, but data
    on a grid (integers, say) stay on it, so equal distances stay exactly equal (ties).
    Raises ValueError, naming X, when the spread of X is so large that a squared distance
    would overflow X's dtype. With check=False, neither that check nor a full pass: the
    midrange of about 1024 rows spread over X serves (any centre inside the data does),
    and the caller looks after overflow.
    """
    xp = get_array_module(X)
    if not check:
        X = X[:: max(1, X.shape[0] // 1024)]
    high, low = X.max(axis=0), X.min(axis=0)
    with np.errstate(over="ignore", invalid="ignore"):
        spread = float(((high.astype(xp.float64) - low) ** 2).sum())
    if check and not spread <= float(np.finfo(X.dtype).max) / 8:
        raise ValueError(f"{name} spreads too far (its columns' ranges reach "
                         f"{float((high.astype(xp.float64) - low).max()):g}) for squared "
                         f"distances in {X.dtype}: rescale it")
    with np.errstate(over="ignore"):
        half = (high - low) / 2
    step = xp.exp2(xp.floor(xp.log2(xp.where(half > 0, half, 1))) - 4).astype(X.dtype)
    centre = xp.where(half > 0, xp.round((low + half) / step) * step, low).astype(X.dtype)
    return centre


def centred(X, name="X"):
    """(X - c, c), c = centre_of(X)."""
    centre = centre_of(X, name)
    return X - centre, centre


def squared_distances_core(X, C):
    """|x - c|² for rows of X (n, d) and C (k, d), both already centred alike: (n, k) >= 0."""
    xp = get_array_module(X)
    d2 = (X * X).sum(axis=1)[:, None] - 2 * (X @ C.T) + (C * C).sum(axis=1)
    return xp.maximum(d2, 0)
