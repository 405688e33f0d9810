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
(leading underscore) trust theirs.
"""

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._checks import check_array, check_int, check_int_array, check_real, rng_from
from .backend import get_array_module
from .backend import xp as current_xp

# Small local fits: the JVM's quick compiler only and one garbage collector thread start
# faster, and a local fit never runs long enough for the optimising compiler to pay off.
JVM_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xss4m"
SCALE = (1.0, 5.0)  # MovieLens' stars
WHERE_TO_GET = ("MovieLens is published by GroupLens at https://grouplens.org/datasets/movielens/"
                " (ml-100k.zip holds u.data, ml-1m.zip ratings.dat); unzip it and pass the "
                "folder or the file")


# ----------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Ratings:
    """Observed ratings: rating[k] of item items[k] by user users[k], checked on creation.

    Parameters
    ----------
    users, items : int arrays (n,), ids in [0, n_users) and [0, n_items)
    ratings : float array (n,), each in [scale[0], scale[1]]
    n_users, n_items : int, optional; default one more than the largest id
    scale : (low, high), the declared rating scale
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
        low, high = (check_real(s, "scale") for s in self.scale)
        if not low < high:
            raise ValueError(f"scale must be (low, high) with low < high, got {self.scale}")
        if bool((ratings < low).any()) or bool((ratings > high).any()):
            raise ValueError(f"ratings must lie on the scale [{low:g}, {high:g}], got "
                             f"{float(ratings.min()):g} to {float(ratings.max()):g}")
        n_users, n_items = (None if n is None else check_int(n, name) for n, name in
                            ((self.n_users, "n_users"), (self.n_items, "n_items")))
        users = check_int_array(self.users, "users", high=n_users, ndim=1, xp=xp)
        items = check_int_array(self.items, "items", high=n_items, ndim=1, xp=xp)
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
        """The ratings where mask (bool (n,)) is True, same users, items and scale."""
        return _ratings(self.users[mask], self.items[mask], self.ratings[mask], self.n_users,
                        self.n_items, self.scale)


def _ratings(users, items, ratings, n_users, n_items, scale=SCALE):
    """A Ratings without the checks (for parts that are right by construction)."""
    new = object.__new__(Ratings)
    for name, value in (("users", users), ("items", items), ("ratings", ratings),
                        ("n_users", n_users), ("n_items", n_items), ("scale", scale)):
        object.__setattr__(new, name, value)
    return new


def generate_ratings(n_users, n_items, n_ratings, *, rank=5, noise=0.7, seed=0, xp=None):
    """Realistic made-up 1-5 star ratings: low-rank tastes, biases and popularity skew.

    Tastes are rank-dimensional (user p_u, item q_i ~ N(0, 0.5^2)); the true rating is
    3.5 + b_u + c_i + p_u . q_i + noise, rounded and clipped to 1..5 stars. Users are active
    and items popular on a Zipf-like law (a few items get most ratings), and popular items are
    liked a little more; each (user, item) pair is rated at most once.

    Parameters
    ----------
    n_users, n_items : int >= 1
    n_ratings : int in [1, n_users * n_items / 2]
    rank : int >= 1, the dimension of the true tastes
    noise : float >= 0, the standard deviation of the noise before rounding
    seed : int, numpy Generator or None
    xp : array module, optional; default the current device

    Returns
    -------
    Ratings with n_ratings ratings on xp
    """
    n_users, n_items = check_int(n_users, "n_users"), check_int(n_items, "n_items")
    n_ratings = check_int(n_ratings, "n_ratings", high=n_users * n_items // 2 or 1,
                          high_is="half of n_users * n_items")
    rank = check_int(rank, "rank")
    noise = check_real(noise, "noise", low=0)
    rng = rng_from(seed)
    xp = xp or current_xp()
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
    return _ratings(xp.asarray(users), xp.asarray(items), xp.asarray(stars), n_users, n_items)


def load_movielens(path):
    """The MovieLens 100k (u.data) or 1M (ratings.dat) ratings from the learner's disk.

    Nothing is downloaded: a missing file is a FileNotFoundError that says where to get it.
    Ids are renumbered 0, 1, ... in the order of the original ids (1M skips some movie ids).

    Parameters
    ----------
    path : str or Path, the unzipped folder (ml-100k or ml-1m) or the file itself:
        u.data ("user item rating timestamp", tab-separated) or
        ratings.dat ("user::item::rating::timestamp")

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
    text = path.read_text(encoding="latin-1").replace("::", "\t")
    try:
        table = np.loadtxt(text.splitlines(), dtype=np.int64, delimiter="\t", ndmin=2)
    except ValueError as err:
        raise ValueError(f"path {path} is not a MovieLens ratings file: {err}") from None
    if table.shape[1] != 4 or len(table) == 0:
        raise ValueError(f"path {path} must hold rows of user, item, rating, timestamp")
    user_ids, users = np.unique(table[:, 0], return_inverse=True)
    item_ids, items = np.unique(table[:, 1], return_inverse=True)
    data = Ratings(users, items, table[:, 2].astype(np.float64))
    return data, table[:, 3], user_ids, item_ids


def split_ratings(data, n_folds=5, fold=0, *, seed=0):
    """Train and test sets: the ratings shuffled into n_folds folds, fold `fold` held out.

    Parameters
    ----------
    data : Ratings
    n_folds : int >= 2, so the test set is 1/n_folds of the ratings
    fold : int in [0, n_folds)
    seed : int, numpy Generator or None (the same seed gives the same folds)

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


def _check_ratings(data, name):
    if not isinstance(data, Ratings):
        raise TypeError(f"{name} must be a Ratings, got {type(data).__name__}")
    return data


# ----------------------------------------------------------------------------- the model


@dataclass
class FactorModel:
    """A fitted model: r_hat_ui = mu + user_bias[u] + item_bias[i] + P[u] . Q[i].

    mu : float; user_bias (n_users,), item_bias (n_items,), P (n_users, K), Q (n_items, K)
    arrays on one device; lam, weighted, biases: how it was fitted; history: per iteration
    (0 = the start) "objective", "train_rmse", "test_rmse" (when a test set was given) and
    "seconds" (cumulative), lists of floats.
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


def _init_model(train, n_factors, lam, weighted, biases, seed):
    xp = get_array_module(train.ratings)
    rng = rng_from(seed)
    P = rng.normal(0, 0.1, (train.n_users, n_factors))
    Q = rng.normal(0, 0.1, (train.n_items, n_factors))
    return FactorModel(float(train.ratings.mean()), xp.zeros(train.n_users),
                       xp.zeros(train.n_items), xp.asarray(P), xp.asarray(Q), lam, weighted,
                       biases)


def _predict(model, users, items):
    return (model.mu + model.user_bias[users] + model.item_bias[items]
            + (model.P[users] * model.Q[items]).sum(axis=1))


def predict(model, users, items):
    """Predicted ratings r_hat = mu + b_u + c_i + p_u . q_i (not clipped to the scale).

    Parameters
    ----------
    model : FactorModel
    users, items : int arrays (n,) of ids in range, on the model's device

    Returns
    -------
    float array (n,) on the model's device; a user or item without training ratings gets the
    bias-only prediction
    """
    if not isinstance(model, FactorModel):
        raise TypeError(f"model must be a FactorModel, got {type(model).__name__}")
    xp = get_array_module(model.P)
    users = check_int_array(users, "users", high=model.P.shape[0], ndim=1, xp=xp)
    items = check_int_array(items, "items", high=model.Q.shape[0], ndim=1, xp=xp)
    if len(users) != len(items):
        raise ValueError(f"users and items must have one length, got {len(users)} and "
                         f"{len(items)}")
    return _predict(model, users, items)


def rmse(model, data):
    """The root mean squared error of model's predictions on data.

    Parameters
    ----------
    model : FactorModel
    data : Ratings on the model's device, ids within the model's

    Returns
    -------
    float, sqrt(mean (r - r_hat)^2)
    """
    _check_ratings(data, "data")
    err = data.ratings - predict(model, data.users, data.items)
    return float(((err**2).mean()) ** 0.5)


def mae(model, data):
    """The mean absolute error of model's predictions on data.

    Parameters
    ----------
    model : FactorModel
    data : Ratings on the model's device

    Returns
    -------
    float, mean |r - r_hat|
    """
    _check_ratings(data, "data")
    return float(abs(data.ratings - predict(model, data.users, data.items)).mean())


def objective(model, train):
    """J: the squared error over train's ratings plus the L2 penalty (see the module's doc).

    Parameters
    ----------
    model : FactorModel
    train : Ratings the model was fitted on

    Returns
    -------
    float >= 0
    """
    _check_ratings(train, "train")
    predict(model, train.users[:1], train.items[:1])  # checks the model and the ids' range
    return _objective(model, train)


def _objective(model, train):
    xp = get_array_module(train.ratings)
    err = train.ratings - _predict(model, train.users, train.items)
    if model.weighted:
        wu = xp.bincount(train.users, minlength=train.n_users)
        wi = xp.bincount(train.items, minlength=train.n_items)
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
    T[:, xp.asarray(np.diag(where))] += lam * weight[:, None]  # no ratings: lam I x = 0, x = 0
    A = T[:, xp.asarray(where.ravel())].reshape(n_rows, D, D)
    return _solve_spd(A, row_sums(target, features))


def _solve_spd(A, b):
    """x with A[n] x[n] = b[n] for a batch of symmetric positive definite A (n, D, D): one
    batched Cholesky A = L L^T, then forward and back substitution, D steps each, every system
    at once (twice as fast as a general batched solve for D around 10)."""
    xp = get_array_module(A)
    L = xp.linalg.cholesky(A)
    D = A.shape[1]
    y, x = xp.empty_like(b), xp.empty_like(b)
    for k in range(D):  # L y = b
        y[:, k] = (b[:, k] - (L[:, k, :k] * y[:, :k]).sum(axis=1)) / L[:, k, k]
    for k in range(D - 1, -1, -1):  # L^T x = y
        x[:, k] = (y[:, k] - (L[:, k + 1:, k] * x[:, k + 1:]).sum(axis=1)) / L[:, k, k]
    return x


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
    model : FactorModel, changed in place
    train : Ratings on the model's device

    Returns
    -------
    model
    """
    _check_ratings(train, "train")
    if not isinstance(model, FactorModel):
        raise TypeError(f"model must be a FactorModel, got {type(model).__name__}")
    if model.P.shape[0] != train.n_users or model.Q.shape[0] != train.n_items:
        raise ValueError(f"train has {train.n_users} users and {train.n_items} items, the model "
                         f"{model.P.shape[0]} and {model.Q.shape[0]}")
    _half_step(model, train, "users")
    _half_step(model, train, "items")
    return model


def _check_fit(train, n_factors, lam, n_iters, test, *, lam_open=True):
    _check_ratings(train, "train")
    if len(train) == 0:
        raise ValueError("train is empty: there is nothing to fit")
    if test is not None:
        _check_ratings(test, "test")
        if test.n_users > train.n_users or test.n_items > train.n_items:
            raise ValueError("test has ids beyond train's n_users or n_items")
    return (check_int(n_factors, "n_factors", low=0, high=1000),
            check_real(lam, "lam", low=0, high=1e6, low_open=lam_open),
            check_int(n_iters, "n_iters", low=0))


def _rmse(model, data):
    err = data.ratings - _predict(model, data.users, data.items)
    return float(((err**2).mean()) ** 0.5)


def _record(model, train, test, seconds):
    for key, value in (("objective", _objective(model, train)),
                       ("train_rmse", _rmse(model, train)),
                       ("test_rmse", None if test is None else _rmse(model, test)),
                       ("seconds", seconds)):
        if value is not None:
            model.history.setdefault(key, []).append(value)


def fit_als(train, n_factors=10, lam=0.1, n_iters=10, *, biases=True, weighted=False, test=None,
            seed=0):
    """Matrix factorisation by alternating least squares (see the module's doc for J).

    Parameters
    ----------
    train : Ratings
    n_factors : int in [0, 1000], K (0: biases only)
    lam : float in (0, 1e6], the L2 regularisation (above 0, so that every system is regular,
        even for a user or item with fewer than K + 1 ratings, or none)
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
    _record(model, train, test, 0.0)
    for _ in range(n_iters):
        _half_step(model, train, "users")
        _half_step(model, train, "items")
        _record(model, train, test, time.perf_counter() - start)
    return model


# ----------------------------------------------------------------------------- SGD


def fit_sgd(train, n_factors=10, lam=0.1, n_epochs=10, *, lr=0.02, batch_size=1000, test=None,
            seed=0):
    """The same model (biases, unweighted lam) by mini-batch stochastic gradient descent.

    Each epoch visits the ratings in a new random order, batch_size at a time; each batch
    moves every parameter it touches against the gradient of its ratings' terms of J, with
    each rating's penalty share lam/n_u (users) or lam/n_i (items), so an epoch's penalty
    adds up to J's. The gradients of a batch are summed per user and item (bincount).

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
    _record(model, train, test, 0.0)
    for _ in range(n_epochs):
        order = xp.asarray(rng.permutation(len(train)))
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
        _record(model, train, test, time.perf_counter() - start)
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

    Parameters
    ----------
    model : FactorModel
    user : int, a user id
    n : int in [1, n_items]
    exclude : Ratings, optional: the items user rated there are left out (e.g. the training set)

    Returns
    -------
    (items, scores): int64 (m,) and float (m,) arrays on the model's device, m <= n
    """
    if not isinstance(model, FactorModel):
        raise TypeError(f"model must be a FactorModel, got {type(model).__name__}")
    n_users, n_items = model.P.shape[0], model.Q.shape[0]
    user = check_int(user, "user", low=0, high=n_users - 1, high_is="the last user")
    n = check_int(n, "n", high=n_items, high_is="the number of items")
    xp = get_array_module(model.P)
    scores = model.mu + model.user_bias[user] + model.item_bias + model.Q @ model.P[user]
    if exclude is not None:
        _check_ratings(exclude, "exclude")
        scores[exclude.items[exclude.users == user]] = -xp.inf
    best = xp.argsort(-scores, kind="stable")[:n]
    best = best[xp.isfinite(scores[best])]
    return best, scores[best]


def user_based_predict(train, users, items, *, k=20):
    """User-user collaborative filtering: r_hat_ui = mean_u + the similarity-weighted mean of
    the k most similar users' centred ratings of i, similarity the cosine of the centred
    ratings on the items both rated. Falls back to mean_u (or the global mean for a user
    without ratings) when no neighbour rated i.

    Parameters
    ----------
    train : Ratings (a dense n_users x n_items matrix is formed: small data only)
    users, items : int arrays (n,) of ids in range
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
    S, centred, mask, means = _user_similarity(train)
    out = xp.empty(len(users))
    for item in xp.unique(items).tolist():  # one item at a time: its raters are the neighbours
        who = items == item
        sims = S[users[who]] * mask[:, item]  # (m, n_users): only users who rated the item
        sims[xp.arange(int(who.sum())), users[who]] = 0
        top = xp.argsort(-xp.abs(sims), axis=1)[:, :k]
        w = xp.take_along_axis(sims, top, axis=1)
        num = (w * centred[top, item]).sum(axis=1)
        den = xp.abs(w).sum(axis=1)
        out[who] = means[users[who]] + xp.where(den > 0, num / xp.where(den > 0, den, 1), 0)
    return out


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
    _check_ratings(train, "train")
    n_factors = check_int(n_factors, "n_factors", high=1000)
    lam = check_real(lam, "lam", low=0, high=1e6)
    n_iters = check_int(n_iters, "n_iters")
    seed = check_int(seed, "seed", low=0)
    blocks = check_int(blocks, "blocks")
    from pyspark.ml.recommendation import ALS

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
                       False)


def _to_host(x):
    return x if isinstance(x, np.ndarray) else x.get()
