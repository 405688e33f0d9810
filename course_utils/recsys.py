"""Recommenders by matrix factorisation: ratings, ALS with biases, SGD, user-based filtering.

A rating r_ui of item i by user u is predicted as

    r_hat_ui = mu + b_u + c_i + p_u . q_i

with mu the mean training rating, b_u and c_i the user and item biases and p_u, q_i (K,) the
user and item factors. Training minimises, over the observed ratings only,

    J = sum_(u,i observed) (r_ui - r_hat_ui)^2 + lam * (sum_u w_u (|p_u|^2 + b_u^2)
                                                        + sum_i w_i (|q_i|^2 + c_i^2))

with w = 1, or w = the number of ratings of that user or item ("ALS-WR", weighted=True, the
regularisation Spark's ALS uses). Alternating least squares fixes one side and solves, for
every user at once, the (K+1)-dimensional normal equations of x_u = (b_u, p_u) with features
z_i = (1, q_i) and targets r_ui - mu - c_i: each half-step is an exact minimisation, so J never
increases. A user or item without ratings gets zero factors and bias: the bias-only
prediction, never NaN.

Every array function follows its data (NumPy in, NumPy out; CuPy in, CuPy out). Random numbers
are drawn by NumPy on the host and moved, so a seed gives the same model on either device.
Public functions check their arguments once (errors name the argument); the private cores
(leading underscore) trust theirs. The real MovieLens ratings come from the learner's disk
(load_movielens) or, as one deliberate step, from GroupLens (fetch_movielens, checked against
a pinned SHA-256 and cached); nothing else here touches the network.
"""

import io
import math
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._checks import (
    check_array,
    check_choice,
    check_device,
    check_int,
    check_int_array,
    check_real,
    check_xp,
    rng_from,
)
from .backend import get_array_module, is_cupy_array

# Small local fits: the JVM's quick compiler only and one garbage collector thread start
# faster, and a local fit never runs long enough for the optimising compiler to pay off.
JVM_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xss4m"
SCALE = (1.0, 5.0)  # MovieLens' stars
MAX_IDS = 2**31 - 1  # users and items are numbered as 32-bit ints (as Spark, and most libraries)
WHERE_TO_GET = ("MovieLens is published by GroupLens at https://grouplens.org/datasets/movielens/"
                " (ml-100k.zip holds u.data, ml-1m.zip ratings.dat); fetch_movielens downloads "
                "it, or unzip it yourself and pass the folder, the file or the zip")
# GroupLens's archives and their SHA-256 (the files have not changed since their release; the
# same digests are pinned by TensorFlow Datasets). fetch_movielens refuses any other bytes.
MOVIELENS_FILES = {
    "100k": ("https://files.grouplens.org/datasets/movielens/ml-100k.zip",
             "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229"),
    "1m": ("https://files.grouplens.org/datasets/movielens/ml-1m.zip",
           "a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20"),
}
# A system (G + lam w I) x = b of ALS is solved by Cholesky when lam w >= RIDGE_FLOOR * its
# trace (its condition number is then below 1 / RIDGE_FLOOR, far from where Cholesky breaks
# down in float64); below that the penalty is negligible against the data (a tiny lam, or huge
# ratings) and the system is scaled and solved with a tiny ridge instead (see _solve_spd).
RIDGE_FLOOR = 1e-8
# The ridge per unknown added to those systems scaled to a unit diagonal (_solve_scaled_ridge).
SCALED_RIDGE = 1e-13
# fit_sgd gives up when the objective rises above this multiple of its starting value.
DIVERGED = 1e3


# ----------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Ratings:
    """Observed ratings: rating[k] of item items[k] by user users[k], checked on creation.

    A pair rated twice counts as two observations in the factor models' least squares;
    user_based_predict refuses it (a user's rating of an item must be one number there).

    Parameters
    ----------
    users, items : int arrays (n,), ids in [0, n_users) and [0, n_items)
    ratings : float array (n,), each in [scale[0], scale[1]]
    n_users, n_items : int in [1, 2**31 - 1], optional; default one more than the largest id
    scale : (low, high), two finite reals, the declared rating scale
    """

    users: object
    items: object
    ratings: object
    n_users: int | None = None
    n_items: int | None = None
    scale: tuple = SCALE

    def __post_init__(self):
        ratings = check_array(self.ratings, "ratings", ndim=(1,))
        xp = get_array_module(ratings)
        low, high = _check_scale(self.scale, "scale")
        if bool((ratings < low).any()) or bool((ratings > high).any()):
            raise ValueError(f"ratings must lie on the scale [{low:g}, {high:g}], got "
                             f"{float(ratings.min()):g} to {float(ratings.max()):g}")
        n_users, n_items = (None if n is None else check_int(n, name, high=MAX_IDS,
                                                              high_is="2**31 - 1")
                            for n, name in ((self.n_users, "n_users"), (self.n_items, "n_items")))
        users = check_int_array(self.users, "users", high=n_users or MAX_IDS, ndim=1, xp=xp)
        items = check_int_array(self.items, "items", high=n_items or MAX_IDS, ndim=1, xp=xp)
        users, items = users.astype(xp.int64), items.astype(xp.int64)
        if not len(users) == len(items) == len(ratings):
            raise ValueError(f"users, items and ratings must have one length, got "
                             f"{len(users)}, {len(items)}, {len(ratings)}")
        n_users = int(users.max()) + 1 if n_users is None else n_users
        n_items = int(items.max()) + 1 if n_items is None else n_items
        for name, value in (("users", users), ("items", items), ("ratings", ratings),
                            ("n_users", n_users), ("n_items", n_items), ("scale", (low, high))):
            object.__setattr__(self, name, value)

    def __len__(self):
        return int(self.ratings.shape[0])

    def _row_sums(self, side):
        """_sparse for the users' (side "users") or the items' rows, built once and cached."""
        rows, cols, n_rows, n_cols = ((self.users, self.items, self.n_users, self.n_items)
                                      if side == "users" else
                                      (self.items, self.users, self.n_items, self.n_users))
        cache = self.__dict__.setdefault("_cache", {})
        if side not in cache or cache[side][0] is not rows:  # a moved copy has new arrays
            cache[side] = (rows, _sparse(rows, cols, n_rows, n_cols))
        return cache[side][1]

    def subset(self, mask):
        """The ratings where mask is True, with the same n_users, n_items and scale.

        Parameters
        ----------
        mask : bool array (n,) on the ratings' device

        Returns
        -------
        Ratings (possibly empty)
        """
        xp = get_array_module(self.ratings)
        check_device(mask, "mask", xp)
        mask = xp.asarray(mask)
        if mask.dtype != bool:
            raise TypeError(f"mask must be a boolean array, got dtype {mask.dtype}")
        if mask.shape != (len(self),):
            raise ValueError(f"mask must have shape ({len(self)},), got {mask.shape}")
        return _ratings(self.users[mask], self.items[mask], self.ratings[mask], self.n_users,
                        self.n_items, self.scale)


def _check_scale(scale, name):
    """(low, high): two finite reals with low < high."""
    if not isinstance(scale, tuple | list) or len(scale) != 2:
        raise TypeError(f"{name} must be a pair (low, high), got {scale!r}")
    low, high = (check_real(s, name) for s in scale)
    if not low < high:
        raise ValueError(f"{name} must be (low, high) with low < high, got {tuple(scale)}")
    return low, high


def _ratings(users, items, ratings, n_users, n_items, scale=SCALE):
    """A Ratings without the checks (for parts that are right by construction)."""
    new = object.__new__(Ratings)
    for name, value in (("users", users), ("items", items), ("ratings", ratings),
                        ("n_users", n_users), ("n_items", n_items), ("scale", scale)):
        object.__setattr__(new, name, value)
    return new


def generate_ratings(n_users, n_items, n_ratings, *, rank=5, noise=0.7, seed=0, xp=None,
                     return_truth=False):
    """Realistic made-up 1-5 star ratings: low-rank tastes, biases and popularity skew.

    Tastes are rank-dimensional (user p_u, item q_i ~ N(0, 0.5^2)); the true rating is
    m_ui = 3.5 + b_u + c_i + p_u . q_i, and the stars are m_ui + noise, rounded and clipped to
    1..5. Users are active and items popular on a Zipf-like law (a few items get most
    ratings), and popular items are liked a little more; each (user, item) pair is rated at
    most once.

    With return_truth, also the best prediction any model can make of each rating: the
    expected stars given the tastes, E[stars_ui | m_ui] = 1 + sum_{k=1..4} P(m_ui + noise >=
    k + 1/2) (the normal tail; rounding and clipping included). Its RMSE on the ratings is the
    noise floor no model beats on average.

    Parameters
    ----------
    n_users, n_items : int >= 1
    n_ratings : int in [1, n_users * n_items / 2]
    rank : int >= 1, the dimension of the true tastes
    noise : float >= 0, the standard deviation of the noise before rounding
    seed : int, numpy Generator or None
    xp : numpy, cupy or None (the current device)
    return_truth : bool

    Returns
    -------
    Ratings with n_ratings ratings on xp; with return_truth, (ratings, truth): truth a Ratings
    of the same users and items (in the same order, so split_ratings with one seed splits both
    alike) whose ratings are the expected stars
    """
    n_users, n_items = check_int(n_users, "n_users"), check_int(n_items, "n_items")
    n_ratings = check_int(n_ratings, "n_ratings", high=n_users * n_items // 2 or 1,
                          high_is="half of n_users * n_items")
    rank = check_int(rank, "rank")
    noise = check_real(noise, "noise", low=0)
    rng = rng_from(seed)
    xp = check_xp(xp)
    activity = 1 / np.arange(1, n_users + 1) ** 0.5
    popularity = 1 / np.arange(1, n_items + 1) ** 0.9
    activity, popularity = (rng.permutation(w / w.sum()) for w in (activity, popularity))
    codes = np.empty(0, dtype=np.int64)
    while len(codes) < n_ratings:  # draw pairs by activity x popularity, keep the first of each
        draw = (rng.choice(n_users, 2 * n_ratings, p=activity) * n_items
                + rng.choice(n_items, 2 * n_ratings, p=popularity))
        both = np.concatenate([codes, draw])
        _, first = np.unique(both, return_index=True)
        codes = both[np.sort(first)]
    codes = codes[:n_ratings]
    users, items = codes // n_items, codes % n_items
    P = rng.normal(0, 0.5, (n_users, rank))
    Q = rng.normal(0, 0.5, (n_items, rank))
    b = rng.normal(0, 0.4, n_users)
    c = rng.normal(0, 0.4, n_items) + 0.3 * np.log(popularity * n_items)
    true = 3.5 + b[users] + c[items] + (P[users] * Q[items]).sum(axis=1)
    stars = np.clip(np.round(true + rng.normal(0, noise, n_ratings)), 1, 5)
    data = _ratings(xp.asarray(users), xp.asarray(items), xp.asarray(stars), n_users, n_items)
    if not return_truth:
        return data
    return data, _ratings(data.users, data.items, xp.asarray(_expected_stars(true, noise)),
                          n_users, n_items)


def _expected_stars(true, noise):
    """E[clip(round(true + N(0, noise^2)), 1, 5)] = 1 + sum_k P(true + noise >= k + 1/2)."""
    if noise == 0:
        return np.clip(np.round(true), 1, 5)
    from scipy.special import ndtr

    return 1 + sum(ndtr((true - (k + 0.5)) / noise) for k in range(1, 5))


def load_movielens(path):
    """The MovieLens 100k (u.data) or 1M (ratings.dat) ratings from the learner's disk.

    Nothing is downloaded (fetch_movielens does that): a missing file is a FileNotFoundError
    that says where to get it. Ids are renumbered 0, 1, ... in the order of the original ids
    (1M skips some movie ids).

    Parameters
    ----------
    path : str or Path: the unzipped folder (ml-100k or ml-1m), the file itself (u.data,
        "user item rating timestamp", tab-separated, or ratings.dat,
        "user::item::rating::timestamp"), or GroupLens's zip (ml-100k.zip or ml-1m.zip)

    Returns
    -------
    (Ratings, timestamps, user_ids, item_ids): NumPy arrays, timestamps int64 (n,), and the
    original ids of users 0, 1, ... and items 0, 1, ...
    """
    if not isinstance(path, str | Path):
        raise TypeError(f"path must be a str or Path, got {type(path).__name__}")
    path = Path(path)
    if path.is_dir():
        found = [p for p in (path / "u.data", path / "ratings.dat") if p.is_file()]
        if not found:
            raise FileNotFoundError(f"path {path} holds neither u.data nor ratings.dat. "
                                    f"{WHERE_TO_GET}")
        path = found[0]
    if not path.is_file():
        raise FileNotFoundError(f"path {path} does not exist. {WHERE_TO_GET}")
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.namelist()
                       if m.endswith(("/u.data", "/ratings.dat")) or m in ("u.data",
                                                                              "ratings.dat")]
            if not members:
                raise ValueError(f"path {path} is a zip without u.data or ratings.dat")
            raw = archive.read(sorted(members, key=len)[0])
    else:
        raw = path.read_bytes()
    text = raw.decode("latin-1").replace("::", "\t")
    try:
        table = np.loadtxt(io.StringIO(text), dtype=np.int64, delimiter="\t", ndmin=2)
    except ValueError as err:
        raise ValueError(f"path {path} is not a MovieLens ratings file: {err}") from None
    if table.shape[1] != 4 or len(table) == 0:
        raise ValueError(f"path {path} must hold rows of user, item, rating, timestamp")
    user_ids, users = np.unique(table[:, 0], return_inverse=True)
    item_ids, items = np.unique(table[:, 1], return_inverse=True)
    data = Ratings(users, items, table[:, 2].astype(np.float64))
    return data, table[:, 3], user_ids, item_ids


def fetch_movielens(size, *, cache_dir=None, progress=True):
    """GroupLens's MovieLens ratings, downloaded once into a cache and checked: one call.

    The zip (5 MB for 100k, 6 MB for 1M) is downloaded with pooch, with a progress bar, into
    cache_dir, and kept only when its SHA-256 is the one pinned in MOVIELENS_FILES; a later
    call finds it there and reads it without the network. This is the one function of the
    course that downloads, and no lesson calls it unless the learner asks (lesson 11's
    USE_MOVIELENS).

    Parameters
    ----------
    size : "100k" (943 users, 1682 films, 100 000 ratings) or "1m" (6040 users, 3706 films,
        1 000 209 ratings)
    cache_dir : str or Path, optional; default the user cache folder (pooch.os_cache,
        e.g. ~/.cache/course_utils on Linux)
    progress : bool, show a progress bar (tqdm) while downloading

    Returns
    -------
    as load_movielens: (Ratings, timestamps, user_ids, item_ids)

    Raises
    ------
    ConnectionError, one line, when the file is not cached and cannot be downloaded (no
    network, the server unreachable or refusing); ValueError when the downloaded bytes do not
    have the pinned SHA-256 (nothing is kept)
    """
    size = check_choice(size, "size", MOVIELENS_FILES)
    if cache_dir is not None and not isinstance(cache_dir, str | Path):
        raise TypeError(f"cache_dir must be a str or Path, got {type(cache_dir).__name__}")
    import pooch
    import requests

    url, sha256 = MOVIELENS_FILES[size]
    folder = pooch.os_cache("course_utils") if cache_dir is None else Path(cache_dir)
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel("WARNING")  # the progress bar says it all; a failure says it in one line
    try:
        path = pooch.retrieve(url, known_hash=f"sha256:{sha256}", fname=f"ml-{size}.zip",
                              path=folder, progressbar=bool(progress))
    except requests.exceptions.RequestException as err:
        status = getattr(getattr(err, "response", None), "status_code", None)
        reason = type(err).__name__ + (f" {status}" if status else "")
        raise ConnectionError(f"MovieLens {size} could not be downloaded from {url} "
                              f"({reason}: no network?)") from None
    except ValueError as err:
        raise ValueError(f"MovieLens {size} from {url} was refused: {err}") from None
    finally:
        logger.setLevel(level)
    return load_movielens(path)


def split_ratings(data, n_folds=5, fold=0, *, seed=0):
    """Train and test sets: the ratings shuffled into n_folds folds, fold `fold` held out.

    Parameters
    ----------
    data : Ratings
    n_folds : int >= 2, so the test set is 1/n_folds of the ratings
    fold : int in [0, n_folds)
    seed : int, numpy Generator or None (the same seed gives the same folds; with one seed,
        two Ratings of the same length are split alike, rating k with rating k)

    Returns
    -------
    (train, test), two Ratings on data's device, with data's n_users, n_items and scale
    """
    _check_ratings(data, "data")
    n_folds = check_int(n_folds, "n_folds", low=2, high=len(data), high_is="the ratings")
    fold = check_int(fold, "fold", low=0, high=n_folds - 1, high_is="n_folds - 1")
    xp = get_array_module(data.ratings)
    which = xp.asarray(rng_from(seed).permutation(len(data)) % n_folds)
    return data.subset(which != fold), data.subset(which == fold)


def _check_ratings(data, name, *, model=None, empty_ok=False):
    """data, a Ratings: when model is given, on the model's device with every id within the
    model's users and items."""
    if not isinstance(data, Ratings):
        raise TypeError(f"{name} must be a Ratings, got {type(data).__name__}")
    if len(data) == 0 and not empty_ok:
        raise ValueError(f"{name} is empty: it holds no ratings")
    if model is not None and len(data):
        xp = get_array_module(model.P)
        check_device(data.ratings, name, xp)
        for ids, n, what in ((data.users, model.P.shape[0], "users"),
                             (data.items, model.Q.shape[0], "items")):
            if int(ids.max()) >= n:
                raise ValueError(f"{name} has {what} up to id {int(ids.max())}, but the model "
                                 f"has {n} {what}")
    return data


# ----------------------------------------------------------------------------- the model


@dataclass
class FactorModel:
    """A fitted model: r_hat_ui = mu + user_bias[u] + item_bias[i] + P[u] . Q[i].

    mu : float; user_bias (n_users,), item_bias (n_items,), P (n_users, K), Q (n_items, K)
    float arrays on one device; lam, weighted, biases: how it was fitted; history: per
    iteration (0 = the start) "objective", "train_rmse", "test_rmse" (when a test set was
    given) and "seconds" (cumulative), lists of floats; scale: the (low, high) rating scale of
    the training data, to which predict(..., clip=True) clips.
    """

    mu: float
    user_bias: object
    item_bias: object
    P: object
    Q: object
    lam: float
    weighted: bool
    biases: bool
    history: dict = field(default_factory=dict)
    scale: tuple = SCALE


def _check_model(model, name="model"):
    """model, a FactorModel whose arrays are finite float arrays of one module and of
    consistent shapes, mu a finite real; returns its array module."""
    if not isinstance(model, FactorModel):
        raise TypeError(f"{name} must be a FactorModel, got {type(model).__name__}")
    arrays = {"user_bias": 1, "item_bias": 1, "P": 2, "Q": 2}
    for part, ndim in arrays.items():
        a = getattr(model, part)
        if not (isinstance(a, np.ndarray) or is_cupy_array(a)):
            raise TypeError(f"{name}.{part} must be a NumPy or CuPy array, got "
                            f"{type(a).__name__}")
        if a.ndim != ndim or a.dtype.kind != "f":
            raise ValueError(f"{name}.{part} must be a {ndim}-D float array, got shape "
                             f"{a.shape} of dtype {a.dtype}")
    xp = get_array_module(model.P)
    for part in arrays:
        check_device(getattr(model, part), f"{name}.{part}", xp)
    (n_users, K), (n_items, K_items) = model.P.shape, model.Q.shape
    if (K != K_items or model.user_bias.shape != (n_users,)
            or model.item_bias.shape != (n_items,)):
        raise ValueError(f"{name}'s shapes disagree: {name}.user_bias {model.user_bias.shape}, "
                         f"{name}.P {model.P.shape}, {name}.item_bias {model.item_bias.shape}, "
                         f"{name}.Q {model.Q.shape}")
    check_real(model.mu, f"{name}.mu")
    for part in arrays:
        a = getattr(model, part)
        if a.size and not bool(xp.isfinite(a).all()):
            raise ValueError(f"{name}.{part} contains NaN or infinity")
    _check_scale(model.scale, f"{name}.scale")
    return xp


def _init_model(train, n_factors, lam, weighted, biases, seed):
    xp = get_array_module(train.ratings)
    rng = rng_from(seed)
    P = rng.normal(0, 0.1, (train.n_users, n_factors))
    Q = rng.normal(0, 0.1, (train.n_items, n_factors))
    return FactorModel(float(train.ratings.mean()), xp.zeros(train.n_users),
                       xp.zeros(train.n_items), xp.asarray(P), xp.asarray(Q), lam, weighted,
                       biases, scale=train.scale)


def _predict(model, users, items):
    return (model.mu + model.user_bias[users] + model.item_bias[items]
            + (model.P[users] * model.Q[items]).sum(axis=1))


def predict(model, users, items, *, clip=False):
    """Predicted ratings r_hat = mu + b_u + c_i + p_u . q_i, clipped to the scale or not.

    The model's score is a sum of terms, unbounded: it can leave the rating scale (above 5
    stars for a user who loves a loved film). A true rating lies on the scale, so clipping
    the prediction to it never moves it further from the truth: clip=True can only lower every
    error.

    Parameters
    ----------
    model : FactorModel
    users, items : int arrays (n,) of ids in range, on the model's device
    clip : bool, clip to model.scale (the training data's)

    Returns
    -------
    float array (n,) on the model's device; a user or item without training ratings gets the
    bias-only prediction
    """
    xp = _check_model(model)
    users = check_int_array(users, "users", high=model.P.shape[0], ndim=1, xp=xp)
    items = check_int_array(items, "items", high=model.Q.shape[0], ndim=1, xp=xp)
    if len(users) != len(items):
        raise ValueError(f"users and items must have one length, got {len(users)} and "
                         f"{len(items)}")
    return _clipped(model, _predict(model, users, items), clip)


def _clipped(model, r_hat, clip):
    return r_hat.clip(*model.scale) if clip else r_hat


def _errors(model, data, clip):
    """data.ratings - the predictions; finite, or a ValueError."""
    with np.errstate(over="ignore", invalid="ignore"):
        err = data.ratings - _clipped(model, _predict(model, data.users, data.items), clip)
    xp = get_array_module(err)
    if not bool(xp.isfinite(err).all()):
        raise ValueError("the predictions of model overflow float64 on data")
    return err


def _power_of_two_near(x):
    """The power of two 2^e with 2^e <= max |x| < 2^(e + 1) (1 for zeros): dividing by it is
    exact, so a result computed in its units is the plain one, bit for bit, and no square of
    x / 2^e (below 4) overflows or underflows."""
    xp = get_array_module(x)
    top = float(xp.abs(x).max()) if x.size else 0.0
    return 1.0 if top == 0 else math.ldexp(1.0, math.frexp(top)[1] - 1)


def _root_mean_square(x):
    """sqrt(mean(x^2)); where the squares could overflow or underflow, in units of a power of
    two near max |x| (the same value, bit for bit, where both work)."""
    with np.errstate(over="ignore", under="ignore"):
        plain = float((x**2).mean()) ** 0.5
    if 1e-140 < plain < 1e140 or plain == 0 and not bool((x != 0).any()):
        return plain
    unit = _power_of_two_near(x)
    return unit * float(((x / unit) ** 2).mean()) ** 0.5


def rmse(model, data, *, clip=False):
    """The root mean squared error of model's predictions on data.

    Parameters
    ----------
    model : FactorModel
    data : Ratings on the model's device, ids within the model's
    clip : bool, clip the predictions to the rating scale first (see predict)

    Returns
    -------
    float, sqrt(mean (r - r_hat)^2)
    """
    _check_model(model)
    _check_ratings(data, "data", model=model)
    return _root_mean_square(_errors(model, data, clip))


def mae(model, data, *, clip=False):
    """The mean absolute error of model's predictions on data.

    Parameters
    ----------
    model : FactorModel
    data : Ratings on the model's device, ids within the model's
    clip : bool, clip the predictions to the rating scale first (see predict)

    Returns
    -------
    float, mean |r - r_hat|
    """
    _check_model(model)
    _check_ratings(data, "data", model=model)
    err = abs(_errors(model, data, clip))
    with np.errstate(over="ignore"):
        plain = float(err.mean())
    if math.isfinite(plain):
        return plain
    unit = _power_of_two_near(err)
    return unit * float((err / unit).mean())


def objective(model, train):
    """J: the squared error over train's ratings plus the L2 penalty (see the module's doc).

    Parameters
    ----------
    model : FactorModel
    train : Ratings the model was fitted on (on its device, ids within the model's)

    Returns
    -------
    float >= 0 (a ValueError when J overflows float64)
    """
    _check_model(model)
    _check_ratings(train, "train", model=model)
    J = _objective(model, train)
    if not math.isfinite(J):
        raise ValueError("the objective J of model on train overflows float64")
    return J


def _objective(model, train):
    xp = get_array_module(train.ratings)
    with np.errstate(over="ignore", invalid="ignore"):
        err = train.ratings - _predict(model, train.users, train.items)
        if model.weighted:
            wu = xp.bincount(train.users, minlength=model.P.shape[0])
            wi = xp.bincount(train.items, minlength=model.Q.shape[0])
        else:
            wu, wi = 1, 1
        penalty = ((wu * ((model.P**2).sum(axis=1) + model.user_bias**2)).sum()
                   + (wi * ((model.Q**2).sum(axis=1) + model.item_bias**2)).sum())
        return float((err**2).sum() + model.lam * penalty)


# ----------------------------------------------------------------------------- ALS


def _sparse(rows, cols, n_rows, n_cols):
    """A function (values, dense) -> S @ dense, for the sparse S (n_rows, n_cols) with
    S[rows[k], cols[k]] = values[k] (1 when values is None): for each row r, the sum over its
    ratings k of values[k] * dense[cols[k]]. SciPy's CSR on the CPU (its structure built once,
    reused for every values); on the GPU one bincount over the flattened (row, column)
    indices."""
    xp = get_array_module(rows)
    if xp is np:
        import scipy.sparse

        order = np.argsort(rows, kind="stable")
        indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n_rows))])
        ones = scipy.sparse.csr_array((np.ones(len(rows)), cols[order], indptr),
                                      shape=(n_rows, n_cols))
        S = ones.copy()

        def product(values, dense):
            if values is None:
                return ones @ dense
            np.take(values, order, out=S.data)  # the same structure, new values
            return S @ dense
        return product

    def product(values, dense):
        width = dense.shape[1]
        flat = (rows[:, None] * width + xp.arange(width)).ravel()
        weights = dense[cols] if values is None else values[:, None] * dense[cols]
        return xp.bincount(flat, weights=weights.ravel(),
                           minlength=n_rows * width).reshape(n_rows, width)
    return product


def _solve_side(row_sums, rows, target, features, n_rows, lam, weighted):
    """For every row r at once, x_r = argmin sum_k (target_k - z_cols[k] . x_r)^2 + lam w_r |x|^2:
    the batched normal equations (Z_r^T Z_r + lam w_r I) x_r = Z_r^T t_r, with Z_r the rows of
    features (n_cols, D) that r rated. Gram matrices as sums of outer products z z^T (their
    upper triangles), one sparse product; then one batched solve of n_rows D x D systems."""
    xp = get_array_module(features)
    D = features.shape[1]
    upper, lower = np.triu_indices(D)  # z z^T is symmetric: sum its upper triangle only
    where = np.empty((D, D), dtype=np.int64)  # entry (j, k) of A is column where[j, k] of T
    where[upper, lower] = where[lower, upper] = np.arange(len(upper))
    upper, lower = xp.asarray(upper), xp.asarray(lower)
    T = row_sums(None, features[:, upper] * features[:, lower])  # S's values all 1
    weight = xp.maximum(xp.bincount(rows, minlength=n_rows), 1) if weighted else xp.ones(n_rows)
    diagonal = xp.asarray(np.diag(where))
    T[:, diagonal] += lam * weight[:, None]  # no ratings: lam I x = 0, x = 0
    regular = lam * weight >= RIDGE_FLOOR * T[:, diagonal].sum(axis=1)  # see RIDGE_FLOOR
    A = T[:, xp.asarray(where.ravel())].reshape(n_rows, D, D)
    return _solve_spd(A, row_sums(target, features), regular)


def _solve_spd(A, b, regular):
    """x with A[n] x[n] = b[n] for a batch of symmetric positive definite A (n, D, D).

    The regular systems (bool (n,)): one batched Cholesky A = L L^T, then forward and back
    substitution, D steps each, every system at once (twice as fast as a general batched
    solve for D around 10). The others, where the penalty is negligible against the data:
    scaled to a unit diagonal, with a ridge that keeps Cholesky from breaking down
    (_solve_scaled_ridge)."""
    xp = get_array_module(A)
    if not bool(regular.all()):
        x = xp.empty_like(b)
        x[regular] = _solve_spd(A[regular], b[regular], regular[regular])
        x[~regular] = _solve_scaled_ridge(A[~regular], b[~regular])
        return x
    L = xp.linalg.cholesky(A)
    D = A.shape[1]
    y, x = xp.empty_like(b), xp.empty_like(b)
    for k in range(D):  # L y = b
        y[:, k] = (b[:, k] - (L[:, k, :k] * y[:, :k]).sum(axis=1)) / L[:, k, k]
    for k in range(D - 1, -1, -1):  # L^T x = y
        x[:, k] = (y[:, k] - (L[:, k + 1:, k] * x[:, k + 1:]).sum(axis=1)) / L[:, k, k]
    return x


def _solve_scaled_ridge(A, b):
    """x with A[n] x[n] = b[n] for a batch of symmetric positive semi-definite A (n, D, D)
    whose smallest eigenvalues may be lost in rounding (A = G + lam I with lam negligible).

    A is scaled to a unit diagonal, M = S A S with S = diag(A)^(-1/2) (so that a bias column of
    ones and factors of 1e75 weigh alike), and M + delta I is solved by Cholesky, delta =
    SCALED_RIDGE * D: M's eigenvalues lie in [0, D] and rounding moves them by about D machine
    epsilons, so M + delta I stays positive definite and Cholesky cannot break down. Where the
    data determine x, delta changes it by about delta over M's eigenvalue there (rounding level
    for every direction the data pin down); where they do not, it picks the solution of least
    norm in the scaled units, |S^-1 x|, the limit of the ridge solutions as delta -> 0."""
    xp = get_array_module(A)
    D = A.shape[1]
    s = 1 / xp.sqrt(xp.diagonal(A, axis1=1, axis2=2))
    M = A * s[:, :, None] * s[:, None, :] + SCALED_RIDGE * D * xp.eye(D, dtype=A.dtype)
    return s * _solve_spd(M, s * b, xp.ones(A.shape[0], dtype=bool))


def _half_step(model, train, side):
    """Minimise J exactly over one side's (bias, factors), the other side fixed."""
    xp = get_array_module(train.ratings)
    if side == "users":
        rows, cols, n_rows, other, other_bias = (train.users, train.items, train.n_users,
                                                 model.Q, model.item_bias)
    else:
        rows, cols, n_rows, other, other_bias = (train.items, train.users, train.n_items,
                                                 model.P, model.user_bias)
    target = train.ratings - model.mu - other_bias[cols]
    if model.biases:
        features = xp.concatenate([xp.ones((other.shape[0], 1)), other], axis=1)
    else:
        features = other
    x = _solve_side(train._row_sums(side), rows, target, features, n_rows, model.lam,
                    model.weighted)
    bias, factors = (x[:, 0], x[:, 1:]) if model.biases else (xp.zeros(n_rows), x)
    if side == "users":
        model.user_bias, model.P = bias, factors
    else:
        model.item_bias, model.Q = bias, factors


def als_sweep(model, train):
    """One ALS iteration in place: the users' (b_u, p_u) given the items, then the items'
    (c_i, q_i) given the users, each by batched normal equations. J never increases.

    Parameters
    ----------
    model : FactorModel with lam > 0, changed in place
    train : Ratings on the model's device, with the model's n_users and n_items

    Returns
    -------
    model
    """
    _check_model(model)
    _check_ratings(train, "train")
    if model.P.shape[0] != train.n_users or model.Q.shape[0] != train.n_items:
        raise ValueError(f"train has {train.n_users} users and {train.n_items} items, the model "
                         f"{model.P.shape[0]} and {model.Q.shape[0]}")
    check_device(train.ratings, "train", get_array_module(model.P))
    check_real(model.lam, "model.lam", low=0, high=1e6, low_open=True)
    _half_step(model, train, "users")
    _half_step(model, train, "items")
    return model


def _check_fit(train, n_factors, lam, n_iters, test, *, lam_open=True):
    _check_ratings(train, "train")
    if test is not None:
        _check_ratings(test, "test")
        check_device(test.ratings, "test", get_array_module(train.ratings))
        if int(test.users.max()) >= train.n_users or int(test.items.max()) >= train.n_items:
            raise ValueError(f"test has ids beyond train's {train.n_users} users or "
                             f"{train.n_items} items")
    return (check_int(n_factors, "n_factors", low=0, high=1000),
            check_real(lam, "lam", low=0, high=1e6, low_open=lam_open),
            check_int(n_iters, "n_iters", low=0))


def _rmse(model, data):
    with np.errstate(over="ignore", invalid="ignore"):
        return _root_mean_square(data.ratings - _predict(model, data.users, data.items))


def _record(model, train, test, seconds):
    """Appends the objective and the RMSEs to model.history; returns the objective."""
    J = _objective(model, train)
    for key, value in (("objective", J), ("train_rmse", _rmse(model, train)),
                       ("test_rmse", None if test is None else _rmse(model, test)),
                       ("seconds", seconds)):
        if value is not None:
            model.history.setdefault(key, []).append(value)
    return J


def fit_als(train, n_factors=10, lam=0.1, n_iters=10, *, biases=True, weighted=False, test=None,
            seed=0):
    """Matrix factorisation by alternating least squares (see the module's doc for J).

    Every system (Z^T Z + lam w I) x = Z^T t is regular for lam > 0, even for a user or item
    with fewer than K + 1 ratings, or none. Where lam w is below 1e-8 of the system's trace
    (lam negligible against the data: a tiny lam, or huge ratings) it is scaled to a unit
    diagonal and solved with a ridge of SCALED_RIDGE per unknown, which rounding cannot hide and
    which changes nothing the data determine: then the least-squares solution of least norm in
    those units, the limit of the regularised one as lam -> 0.

    Parameters
    ----------
    train : Ratings, its squared deviations from their mean summing to a finite float64
        (ratings up to about 1e150 in magnitude); larger ones are refused
    n_factors : int in [0, 1000], K (0: biases only)
    lam : float in (0, 1e6], the L2 regularisation
    n_iters : int >= 0, ALS sweeps
    biases : bool, fit b_u and c_i (else r_hat = mu + p_u . q_i)
    weighted : bool, scale lam by each user's and item's number of ratings (ALS-WR, Spark)
    test : Ratings, optional, whose RMSE is recorded in the history
    seed : int, numpy Generator or None, for the starting factors (N(0, 0.1^2), host-drawn)

    Returns
    -------
    FactorModel on train's device, with its history (n_iters + 1 entries per key)
    """
    n_factors, lam, n_iters = _check_fit(train, n_factors, lam, n_iters, test)
    model = _init_model(train, n_factors, lam, bool(weighted), bool(biases), seed)
    start = time.perf_counter()
    for sweep in range(n_iters + 1):
        if sweep:
            _half_step(model, train, "users")
            _half_step(model, train, "items")
        seconds = time.perf_counter() - start if sweep else 0.0
        if not math.isfinite(_record(model, train, test, seconds)):
            raise _overflow(train)
    return model


def _overflow(train):
    return ValueError(f"train's ratings are too large: the objective overflows float64 (ratings "
                      f"up to {float(abs(train.ratings).max()):g}); rescale them")


# ----------------------------------------------------------------------------- SGD


def fit_sgd(train, n_factors=10, lam=0.1, n_epochs=10, *, lr=0.02, batch_size=1000, test=None,
            seed=0):
    """The same model (biases, unweighted lam) by mini-batch stochastic gradient descent.

    Each epoch visits the ratings in a new random order, batch_size at a time; each batch
    moves every parameter it touches against the gradient of its ratings' terms of J, with
    each rating's penalty share lam_u = lam/n_u (users) or lam_i = lam/n_i (items), so an
    epoch's penalty adds up to J's: with one batch of every rating, an epoch is one step
    theta <- theta - (lr/2) grad J. The gradients of a batch are summed per user and item
    (bincount).

    The step size that works depends on the data (the ratings' scale, the busiest user's and
    item's counts): when the objective stops being finite or rises above 1000 times its start
    (DIVERGED), the fit stops with a ValueError that says so, as rnn.fit does.

    Parameters
    ----------
    train : Ratings
    n_factors : int in [0, 1000]; lam : float in [0, 1e6]; n_epochs : int >= 0
    lr : float in (0, 1], the step size
    batch_size : int >= 1
    test : Ratings, optional; seed : int, numpy Generator or None

    Returns
    -------
    FactorModel with its history per epoch (as fit_als)
    """
    n_factors, lam, n_epochs = _check_fit(train, n_factors, lam, n_epochs, test, lam_open=False)
    lr = check_real(lr, "lr", low=0, high=1, low_open=True)
    batch_size = check_int(batch_size, "batch_size")
    rng = rng_from(seed)
    model = _init_model(train, n_factors, lam, False, True, rng)
    xp = get_array_module(train.ratings)
    nu = xp.maximum(xp.bincount(train.users, minlength=train.n_users), 1)
    ni = xp.maximum(xp.bincount(train.items, minlength=train.n_items), 1)
    start = time.perf_counter()
    first = _record(model, train, test, 0.0)
    if not math.isfinite(first):
        raise _overflow(train)
    for epoch in range(1, n_epochs + 1):
        order = xp.asarray(rng.permutation(len(train)))
        with np.errstate(over="ignore", invalid="ignore"):
            for begin in range(0, len(train), batch_size):
                k = order[begin:begin + batch_size]
                u, i, r = train.users[k], train.items[k], train.ratings[k]
                err = r - _predict(model, u, i)
                pu, qi = model.P[u], model.Q[i]
                gb = -err + lam * model.user_bias[u] / nu[u]
                gc = -err + lam * model.item_bias[i] / ni[i]
                gp = -err[:, None] * qi + lam * pu / nu[u][:, None]
                gq = -err[:, None] * pu + lam * qi / ni[i][:, None]
                model.user_bias = model.user_bias - lr * xp.bincount(u, gb, train.n_users)
                model.item_bias = model.item_bias - lr * xp.bincount(i, gc, train.n_items)
                model.P = model.P - lr * _scatter(u, gp, train.n_users)
                model.Q = model.Q - lr * _scatter(i, gq, train.n_items)
            J = _record(model, train, test, time.perf_counter() - start)
        if not (math.isfinite(J) and J <= DIVERGED * first):
            raise ValueError(f"SGD diverged in epoch {epoch}: the objective went from {first:.4g}"
                             f" to {J:.4g}; lower lr (now {lr:g})")
    return model


def _scatter(index, values, n):
    """Sums of the rows of values (m, K) per index: an (n, K) array."""
    xp = get_array_module(values)
    K = values.shape[1]
    flat = (index[:, None] * K + xp.arange(K)).ravel()
    return xp.bincount(flat, weights=values.ravel(), minlength=n * K).reshape(n, K)


# ----------------------------------------------------------------------------- using it


def recommend(model, user, n=10, *, exclude=None):
    """The n items with the highest predicted rating for user, best first.

    Ranked by the unclipped score (clipping to the scale would tie every item above its top).
    Scores that agree to 12 significant digits count as tied and come in item order, so that
    every machine lists them alike (their last digits depend on the processor).

    Parameters
    ----------
    model : FactorModel
    user : int, a user id
    n : int in [1, n_items]
    exclude : Ratings, optional, on the model's device with ids within the model's: the items
        user rated there are left out (e.g. the training set)

    Returns
    -------
    (items, scores): int64 (m,) and float (m,) arrays on the model's device, m <= n (fewer
    when exclude leaves fewer than n items)
    """
    xp = _check_model(model)
    n_users, n_items = model.P.shape[0], model.Q.shape[0]
    user = check_int(user, "user", low=0, high=n_users - 1, high_is="the last user")
    n = check_int(n, "n", high=n_items, high_is="the number of items")
    scores = model.mu + model.user_bias[user] + model.item_bias + model.Q @ model.P[user]
    if not bool(xp.isfinite(scores).all()):
        raise ValueError(f"the scores of model for user {user} overflow float64")
    allowed = xp.ones(n_items, dtype=bool)
    if exclude is not None:
        _check_ratings(exclude, "exclude", model=model, empty_ok=True)
        allowed[exclude.items[exclude.users == user]] = False
    best = xp.argsort(-_round_significant(scores, 12), kind="stable")
    best = best[allowed[best]][:n]
    return best, scores[best]


def _round_significant(x, digits):
    """x rounded to digits significant digits of its largest magnitude (for ranking ties)."""
    xp = get_array_module(x)
    top = float(xp.abs(x).max()) if x.size else 0.0
    if top == 0:
        return x
    step = 10.0 ** (math.floor(math.log10(top)) + 1 - digits)
    return xp.round(x / step) * step


def user_based_predict(train, users, items, *, k=20):
    """User-user collaborative filtering: r_hat_ui = mean_u + the similarity-weighted mean of
    the k most similar users' centred ratings of i, similarity the cosine of the centred
    ratings on the items both rated. Falls back to mean_u (or the global mean for a user
    without ratings) when no neighbour rated i. Neighbours whose |similarity| agree to 12
    decimals count as tied and are taken in user order, so every machine picks the same.

    Parameters
    ----------
    train : Ratings, each (user, item) pair at most once (a dense n_users x n_items matrix is
        formed: up to 10^8 cells)
    users, items : int arrays (n,) of ids in range, on train's device
    k : int >= 1, the number of neighbours

    Returns
    -------
    float array (n,) on train's device
    """
    _check_ratings(train, "train")
    xp = get_array_module(train.ratings)
    users = check_int_array(users, "users", high=train.n_users, ndim=1, xp=xp)
    items = check_int_array(items, "items", high=train.n_items, ndim=1, xp=xp)
    if len(users) != len(items):
        raise ValueError(f"users and items must have one length, got {len(users)} and "
                         f"{len(items)}")
    k = check_int(k, "k")
    if train.n_users * train.n_items > 10**8:
        raise ValueError(f"train has {train.n_users} users x {train.n_items} items: user-user "
                         f"filtering forms that dense matrix, up to 10^8 cells here")
    codes = train.users * train.n_items + train.items
    if len(xp.unique(codes)) != len(train):
        raise ValueError("train rates some (user, item) pair twice: user-user filtering needs "
                         "one rating per pair")
    unit = _power_of_two_near(train.ratings)  # computed in these units: no overflow
    S, centred, mask, means = _user_similarity(_ratings(train.users, train.items,
                                                        train.ratings / unit, train.n_users,
                                                        train.n_items))
    out = xp.empty(len(users))
    for item in xp.unique(items).tolist():  # one item at a time: its raters are the neighbours
        who = items == item
        sims = S[users[who]] * mask[:, item]  # (m, n_users): only users who rated the item
        sims[xp.arange(int(who.sum())), users[who]] = 0
        top = xp.argsort(-xp.round(xp.abs(sims), 12), axis=1, kind="stable")[:, :k]
        w = xp.take_along_axis(sims, top, axis=1)
        num = (w * centred[top, item]).sum(axis=1)
        den = xp.abs(w).sum(axis=1)
        out[who] = means[users[who]] + xp.where(den > 0, num / xp.where(den > 0, den, 1), 0)
    return out * unit


def _user_similarity(train):
    """Cosine similarity of the users' centred ratings on co-rated items, (n_users, n_users)."""
    xp = get_array_module(train.ratings)
    mask = xp.zeros((train.n_users, train.n_items))
    mask[train.users, train.items] = 1
    counts = mask.sum(axis=1)
    sums = xp.bincount(train.users, weights=train.ratings, minlength=train.n_users)
    means = xp.where(counts > 0, sums / xp.maximum(counts, 1), train.ratings.mean())
    centred = xp.zeros_like(mask)
    centred[train.users, train.items] = train.ratings - means[train.users]
    squares = centred**2
    dot = centred @ centred.T  # zero where either did not rate: only co-rated items count
    norms = (squares @ mask.T) * (squares @ mask.T).T  # |x_u|^2 on I_v times |x_v|^2 on I_u
    S = xp.where(norms > 0, dot / xp.sqrt(xp.where(norms > 0, norms, 1)), 0)
    return xp.clip(S, -1, 1), centred, mask, means


# ----------------------------------------------------------------------------- Spark


def spark_missing():
    """Why Spark cannot run here, in one line with what to install, or None when it can:
    pyspark importable and a Java runtime on the PATH or under JAVA_HOME.

    Returns
    -------
    str or None
    """
    import importlib.util
    import os
    import shutil

    if importlib.util.find_spec("pyspark") is None:
        return 'Spark needs pyspark: pip install -e ".[spark]"'
    java_home = os.environ.get("JAVA_HOME")
    if shutil.which("java") is None and not (
            java_home and os.access(os.path.join(java_home, "bin", "java"), os.X_OK)):
        return ("Spark needs a Java runtime (17 or later), e.g. "
                "apt-get install default-jre-headless")
    return None


def spark_session(cores=2, *, quiet=True):
    """A local Apache Spark session for small fits: local[cores], no web UI, no progress bars,
    2 shuffle partitions, adaptive query execution off, the JVM options of JVM_OPTIONS, log
    level ERROR. Needs pyspark and a Java runtime (``pip install -e ".[spark]"``;
    ``apt-get install default-jre-headless``).

    Parameters
    ----------
    cores : int >= 1, the worker threads of local mode
    quiet : bool, send the Java process's own start-up messages (written to the terminal's
        standard error, before any log level applies) to /dev/null

    Returns
    -------
    pyspark.sql.SparkSession (the active one when a session already runs)
    """
    import os
    import sys

    cores = check_int(cores, "cores")
    missing = spark_missing()
    if missing is not None:
        raise RuntimeError(missing)
    from pyspark.sql import SparkSession

    builder = (SparkSession.builder.master(f"local[{cores}]").appName("course_utils.recsys")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.sql.adaptive.enabled", "false")
               .config("spark.driver.memory", "1g")
               .config("spark.driver.extraJavaOptions", JVM_OPTIONS))
    saved = None
    if quiet:  # the JVM inherits file descriptor 2 when it starts: give it /dev/null
        sys.stderr.flush()
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    try:
        session = builder.getOrCreate()
    finally:
        if saved is not None:
            os.dup2(saved, 2)
            os.close(saved)
    session.sparkContext.setLogLevel("ERROR")
    return session


def fit_spark_als(spark, train, n_factors=10, lam=0.1, n_iters=10, *, seed=0, blocks=1):
    """The same factor model fitted by Spark ML's ALS: r_hat = mu + p_u . q_i, no biases.

    Spark fits the centred ratings r - mu (so that both models share the global mean) with
    implicitPrefs=False and regParam=lam, which Spark scales by each user's and item's number
    of ratings (ALS-WR): the model of fit_als(..., biases=False, weighted=True) with the same
    lam. Spark draws its own starting factors, so the two agree in RMSE, not digit for digit.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession (see spark_session)
    train : Ratings
    n_factors : int in [1, 1000]; lam : float in [0, 1e6]; n_iters : int >= 1
    seed : int >= 0, Spark's seed
    blocks : int >= 1, the user and item blocks Spark splits the factors into

    Returns
    -------
    FactorModel on the host (biases zero; a user or item Spark never saw: zero factors)
    """
    missing = spark_missing()
    if missing is not None:
        raise RuntimeError(missing)
    from pyspark.ml.recommendation import ALS
    from pyspark.sql import SparkSession

    if not isinstance(spark, SparkSession):
        raise TypeError(f"spark must be a pyspark SparkSession (see spark_session), got "
                        f"{type(spark).__name__}")
    _check_ratings(train, "train")
    n_factors = check_int(n_factors, "n_factors", high=1000)
    lam = check_real(lam, "lam", low=0, high=1e6)
    n_iters = check_int(n_iters, "n_iters")
    seed = check_int(seed, "seed", low=0)
    blocks = check_int(blocks, "blocks")

    users, items, ratings = (np.asarray(_to_host(a)) for a in (train.users, train.items,
                                                              train.ratings))
    mu = float(ratings.mean())
    frame = spark.createDataFrame(list(zip(users.tolist(), items.tolist(),
                                           (ratings - mu).tolist(), strict=True)),
                                  "user int, item int, rating double")
    als = ALS(rank=n_factors, maxIter=n_iters, regParam=lam, implicitPrefs=False, seed=seed,
              userCol="user", itemCol="item", ratingCol="rating", numUserBlocks=blocks,
              numItemBlocks=blocks, coldStartStrategy="nan")
    fitted = als.fit(frame)
    P, Q = np.zeros((train.n_users, n_factors)), np.zeros((train.n_items, n_factors))
    for target, factors in ((P, fitted.userFactors), (Q, fitted.itemFactors)):
        rows = factors.collect()
        target[[r["id"] for r in rows]] = [r["features"] for r in rows]
    return FactorModel(mu, np.zeros(train.n_users), np.zeros(train.n_items), P, Q, lam, True,
                       False, scale=train.scale)


def _to_host(x):
    return x if isinstance(x, np.ndarray) else x.get()
