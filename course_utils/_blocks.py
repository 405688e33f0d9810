"""What clustering and density share: blocks of rows, the declared checks of samples and
centres, and the centre by which data are shifted before distances are expanded (private:
the public names live in the modules).

Distances by the expanded product |x|² - 2 x.c + |c|² lose what |x|² and |c|² share when the
data sit far from the origin (an offset of 1e9, or 1e4 in float32, leaves nothing of the
distances between nearby points). They do not move with the origin, but the rounding does:
so the data are shifted by a centre in their middle (see centred) before the expanded
product is taken, and it only sees the spread of the data.
"""

import numpy as np

from ._checks import Check, Int, check_array
from .backend import get_array_module

BLOCK = 1 << 20  # entries of a distance block held at once (8 MiB of float64)


def row_blocks(n_rows, width, budget=BLOCK):
    """Slices covering range(n_rows), each of budget // width rows (at least one)."""
    step = max(1, budget // max(1, width))
    return [slice(start, min(start + step, n_rows)) for start in range(0, n_rows, step)]


class Samples(Check):
    """Samples as rows: a finite 2-D float array (n, d) with at least min_samples rows, on
    the call's device."""

    def __init__(self, min_samples=1):
        self.min_samples = min_samples

    def __call__(self, value, name, values, xp):
        X = check_array(value, name, ndim=(2,), xp=xp)
        if X.shape[0] < self.min_samples:
            raise ValueError(f"{name} needs at least {self.min_samples} samples (rows), got "
                             f"shape {X.shape}")
        return X

    def device_of(self, value):
        return value


class Centres(Check):
    """Centres (k, d) to compare with the rows of the argument named by of (default X): a
    finite array of its dtype, on its device, with its d columns; with rows, exactly that
    many rows (a function of the earlier arguments, named by rows_are)."""

    def __init__(self, of="X", rows=None, rows_are=None):
        self.of, self.rows, self.rows_are = of, rows, rows_are

    def __call__(self, value, name, values, xp):
        X = values[self.of]
        centers = check_array(value, name, ndim=(2,), xp=get_array_module(X)).astype(X.dtype)
        if centers.shape[1] != X.shape[1]:
            raise ValueError(f"{name} must have {X.shape[1]} columns like {self.of}, got shape "
                             f"{centers.shape}")
        rows = self.rows(values) if self.rows else None
        if rows is not None and centers.shape[0] != rows:
            raise ValueError(f"{name} must have {self.rows_are} = {rows} rows, got shape "
                             f"{centers.shape}")
        return centers

    def device_of(self, value):
        return value


# The number of clusters or components: at least one, at most one per sample.
K = Int(high=lambda values: values["X"].shape[0], high_is="the number of samples")


def centre_of(X, name="X", *, check=True):
    """A centre c (d,) in the middle of the rows of X (n, d), by which to shift X (and
    anything X is compared with) before the expanded products are taken.

    c is the midrange of each column, rounded to a multiple of a power of two about a
    sixteenth of the column's half-range: as good as the mean for the rounding, but data
    on a grid (integers, say) stay on it, so equal distances stay exactly equal (ties).
    Data already shifted by their centre get the centre 0 (unless a half-range sits on a
    power of two, where rounding may move it by a step): see centred. Raises ValueError,
    naming X, when the spread of X is so large that a squared distance would overflow X's
    dtype.
    With check=False, neither that check nor a full pass: the midrange of about 1024 rows
    spread over X serves (any centre inside the data does), and the caller looks after
    overflow.
    """
    xp = get_array_module(X)
    if not check:
        X = X[:: max(1, X.shape[0] // 1024)]
    high, low = column_extremes(X)
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


def column_extremes(X):
    """(max, min) of each column of X (n, d), exactly X.max(axis=0) and X.min(axis=0).

    NumPy reduces a C-ordered array along its first axis slowly when rows are short (d = 16:
    0.6 ms for 20 000 rows); seen as rows of 16 rows each, the same maxima take a sixth of
    that. Centring runs on every call of the public functions, so this is worth having.
    """
    xp = get_array_module(X)
    n, d = X.shape
    fold = 16
    if xp is not np or not X.flags.c_contiguous or n < 2 * fold or d >= 64:
        return X.max(axis=0), X.min(axis=0)
    m = n - n % fold
    wide = X[:m].reshape(m // fold, fold * d)
    high = wide.max(axis=0).reshape(fold, d).max(axis=0)
    low = wide.min(axis=0).reshape(fold, d).min(axis=0)
    if m < n:
        high, low = np.maximum(high, X[m:].max(axis=0)), np.minimum(low, X[m:].min(axis=0))
    return high, low


def centred(X, name="X"):
    """(X - c, c), c = centre_of(X); X itself (no copy) when c is 0, as it is for data
    centred already."""
    centre = centre_of(X, name)
    if not bool(get_array_module(X).any(centre)):
        return X, centre
    return X - centre, centre
