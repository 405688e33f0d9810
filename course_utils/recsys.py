"""Recommenders by matrix factorisation: ALS with biases, SGD, user-based filtering.

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

The ALS step three ways: als_by_loop, the textbook loop (one rating at a time, on the host);
normal_equations and solve_spd, the same systems batched, written plainly; and half_step /
als_sweep, which run in the fits and build the same systems faster (tested equal to both).

Every array function follows its data (NumPy in, NumPy out; CuPy in, CuPy out). Random numbers
are drawn by NumPy on the host and moved, so a seed gives the same model on either device.
Public functions declare their checks (``checked``), which run once, at the outermost call.
The ratings (Ratings, generated or MovieLens) live in ``datasets``; Spark in ``spark``.
"""

import math
import time
from dataclasses import dataclass, field, replace

import numpy as np

from . import datasets
from ._checks import (
    Array,
    Bool,
    Choice,
    Custom,
    Int,
    Optional,
    Real,
    Seed,
    check_array,
    check_device,
    check_fields,
    check_int_array,
    check_real,
    check_scale,
    checked,
    rng_from,
)
from ._deprecated import renamed_keywords
from .backend import get_array_module, is_cupy_array, to_numpy

# A system (G + lam w I) x = b of ALS is solved by Cholesky when lam w >= RIDGE_FLOOR * its
# trace (its condition number is then below 1 / RIDGE_FLOOR, far from where Cholesky breaks
# down in float64); below that the penalty is negligible against the data (a tiny lam, or huge
# ratings) and the system is scaled and solved with a tiny ridge instead (see solve_spd).
RIDGE_FLOOR = 1e-8
# The ridge per unknown added to those systems scaled to a unit diagonal (_solve_scaled_ridge).
SCALED_RIDGE = 1e-13
# fit_sgd gives up when the objective rises above this multiple of its starting value.
DIVERGED = 1e3


# ----------------------------------------------------------------------------- the model


def _factors(A, name, values, xp):
    """A finite float array (n, K) on the call's device; K = 0 (a biases-only model) too."""
    if ((isinstance(A, np.ndarray) or is_cupy_array(A)) and A.ndim == 2 and A.shape[0]
            and not A.shape[1] and A.dtype.kind == "f"):
        check_device(A, name, xp)
        return A
    return check_array(A, name, ndim=(2,), xp=xp)


def _item_factors(Q, name, values, xp):
    """Q, checked as _factors, its shape agreeing with P's and the biases'."""
    Q = _factors(Q, name, values, xp)
    P, b, c = values["P"], values["user_bias"], values["item_bias"]
    if Q.shape[1] != P.shape[1] or b.shape != (P.shape[0],) or c.shape != (Q.shape[0],):
        model = name.rsplit(".", 1)[0]
        raise ValueError(f"{model}'s shapes disagree: {model}.user_bias {b.shape}, {model}.P "
                         f"{P.shape}, {model}.item_bias {c.shape}, {model}.Q {Q.shape}")
    return Q


def _history(history, name):
    if not isinstance(history, dict):
        raise TypeError(f"{name} must be a dict of lists, got {type(history).__name__}")
    return history


@dataclass(frozen=True)
class FactorModel:
    """A fitted model: r_hat_ui = mu + user_bias[u] + item_bias[i] + P[u] . Q[i].

    Checked on creation (errors name FactorModel.field; lists become arrays). Build one with
    keywords, or from another with dataclasses.replace.

    Parameters
    ----------
    mu : float, the mean training rating
    user_bias : float array (n_users,); item_bias : float array (n_items,)
    P : float array (n_users, K); Q : float array (n_items, K), K >= 0; all finite, on one
        device
    lam : float in [0, 1e6], the L2 regularisation it was fitted with
    weighted : bool, lam scaled by each user's and item's number of ratings (ALS-WR)
    biases : bool, whether the biases were fitted (else they stay zero)
    history : dict, per iteration (0 = the start) "objective", "train_rmse", "test_rmse" (when
        a test set was given) and "seconds" (cumulative), lists of floats
    scale : (low, high), the rating scale of the training data, to which predict(...,
        clip=True) clips
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
    scale: tuple = datasets.SCALE

    def __post_init__(self):
        check_fields(self, mu=Real(), user_bias=Array(ndim=(1,)), item_bias=Array(ndim=(1,)),
                     P=Custom(_factors, values=True, device_of=lambda P: P),
                     Q=Custom(_item_factors, values=True, device_of=lambda Q: Q),
                     lam=Real(low=0, high=1e6), weighted=Bool(), biases=Bool(),
                     history=Custom(_history), scale=Custom(check_scale))


def _model(model, name):
    if not isinstance(model, FactorModel):
        raise TypeError(f"{name} must be a FactorModel, got {type(model).__name__}")
    return model


# How a public function declares its model: the model's arrays set the call's device.
MODEL = Custom(_model, device_of=lambda m: getattr(m, "P", None))


def _sweepable(model, name):
    """A FactorModel with lam > 0 (ALS needs it: see fit_als)."""
    check_real(_model(model, name).lam, f"{name}.lam", low=0, high=1e6, low_open=True)
    return model


def _within_model(data, name, values, xp, *, empty_ok=False):
    """A Ratings whose ids are within the model's users and items."""
    datasets.check_ratings(data, name, empty_ok=empty_ok)
    model = values["model"]
    if len(data):
        for ids, n, what in ((data.users, model.P.shape[0], "users"),
                             (data.items, model.Q.shape[0], "items")):
            if int(ids.max()) >= n:
                raise ValueError(f"{name} has {what} up to id {int(ids.max())}, but the model "
                                 f"has {n} {what}")
    return data


_ratings_device = datasets.RATINGS.device_of  # a Ratings argument's device: its ratings'


RATED = Custom(_within_model, values=True, device_of=_ratings_device)
RATED_OR_EMPTY = Custom(lambda data, name, values, xp: _within_model(data, name, values, xp,
                                                                     empty_ok=True),
                        values=True, device_of=_ratings_device)


def _model_sized(train, name, values, xp):
    """A Ratings with the model's n_users and n_items."""
    datasets.check_ratings(train, name)
    model = values["model"]
    if model.P.shape[0] != train.n_users or model.Q.shape[0] != train.n_items:
        raise ValueError(f"{name} has {train.n_users} users and {train.n_items} items, the "
                         f"model {model.P.shape[0]} and {model.Q.shape[0]}")
    return train


MODEL_SIZED = Custom(_model_sized, values=True, device_of=_ratings_device)
SWEEPABLE = Custom(_sweepable, device_of=lambda m: getattr(m, "P", None))


def _ids(bound, paired_with=None):
    """The check of an argument of ids (users, items): an int array (n,) below bound(values),
    as long as the argument paired_with when given."""
    def check(ids, name, values, xp):
        ids = check_int_array(ids, name, high=bound(values), ndim=1, xp=xp)
        if paired_with is not None and len(ids) != len(values[paired_with]):
            raise ValueError(f"{paired_with} and {name} must have one length, got "
                             f"{len(values[paired_with])} and {len(ids)}")
        return ids
    return Custom(check, values=True, device_of=lambda ids: ids)


@checked(model=MODEL, users=_ids(lambda v: v["model"].P.shape[0]),
         items=_ids(lambda v: v["model"].Q.shape[0], paired_with="users"), clip=Bool())
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
    r_hat = (model.mu + model.user_bias[users] + model.item_bias[items]
             + (model.P[users] * model.Q[items]).sum(axis=1))
    return r_hat.clip(*model.scale) if clip else r_hat


def _errors(model, data, clip):
    """data.ratings - the predictions; finite, or a ValueError."""
    with np.errstate(over="ignore", invalid="ignore"):
        err = data.ratings - predict(model, data.users, data.items, clip=clip)
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


@checked(model=MODEL, data=RATED, clip=Bool())
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
    return _root_mean_square(_errors(model, data, clip))


@checked(model=MODEL, data=RATED, clip=Bool())
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
    err = abs(_errors(model, data, clip))
    with np.errstate(over="ignore"):
        plain = float(err.mean())
    if math.isfinite(plain):
        return plain
    unit = _power_of_two_near(err)
    return unit * float((err / unit).mean())


@checked(model=MODEL, train=RATED)
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
    J = _objective_or_inf(model, train)
    if not math.isfinite(J):
        raise ValueError("the objective J of model on train overflows float64")
    return J


def _objective_or_inf(model, train):
    """J, or inf where it overflows float64: the fits tell a diverging run by it."""
    xp = get_array_module(train.ratings)
    with np.errstate(over="ignore", invalid="ignore"):
        err = train.ratings - predict(model, train.users, train.items)
        if model.weighted:
            wu = xp.bincount(train.users, minlength=model.P.shape[0])
            wi = xp.bincount(train.items, minlength=model.Q.shape[0])
        else:
            wu, wi = 1, 1
        penalty = ((wu * ((model.P**2).sum(axis=1) + model.user_bias**2)).sum()
                   + (wi * ((model.Q**2).sum(axis=1) + model.item_bias**2)).sum())
        J = float((err**2).sum() + model.lam * penalty)
    return J if math.isfinite(J) else math.inf


# ----------------------------------------------------------------------------- ALS, by hand


@checked(model=SWEEPABLE, train=MODEL_SIZED)
def als_by_loop(model, train):
    """One ALS sweep as the textbook writes it, one rating at a time: for each user, add up
    z z^T and t z over their ratings (z = (1, q_i) with biases, else q_i; t = r - mu - c_i)
    and solve the normal equations (sum z z^T + lam w I) x = sum t z by np.linalg.solve; then
    the same for each item, from the new user factors.

    The plain reference for als_sweep, which computes the same sweep batched (the tests check
    they agree on generated data, bench/recsys.py times both). It runs on the host, whatever
    the device of its inputs. Where lam is negligible against the data (below RIDGE_FLOOR of a
    system's trace) als_sweep solves with a scaled ridge instead, and the two may differ.

    Parameters
    ----------
    model : FactorModel with lam > 0 (the start of the sweep)
    train : Ratings with the model's n_users and n_items

    Returns
    -------
    FactorModel of NumPy arrays: the model after one sweep
    """
    mu, lam, biases = model.mu, model.lam, model.biases
    users, items, ratings = (to_numpy(a) for a in (train.users, train.items, train.ratings))
    b, c, P, Q = (to_numpy(a).copy() for a in (model.user_bias, model.item_bias, model.P,
                                               model.Q))
    D = P.shape[1] + biases
    by_user = [[] for _ in range(train.n_users)]
    by_item = [[] for _ in range(train.n_items)]
    for k, (u, i) in enumerate(zip(users.tolist(), items.tolist(), strict=True)):
        by_user[u].append(k)
        by_item[i].append(k)
    for groups, cols, bias, factors, other_bias, other in ((by_user, items, b, P, c, Q),
                                                           (by_item, users, c, Q, b, P)):
        for r, mine in enumerate(groups):
            w = max(len(mine), 1) if model.weighted else 1
            A, rhs = lam * w * np.eye(D), np.zeros(D)
            for k in mine:
                z = np.concatenate([[1.0], other[cols[k]]]) if biases else other[cols[k]]
                A += np.outer(z, z)
                rhs += (ratings[k] - mu - other_bias[cols[k]]) * z
            x = np.linalg.solve(A, rhs)
            bias[r], factors[r] = (x[0], x[1:]) if biases else (0.0, x)
    return replace(model, user_bias=b, item_bias=c, P=P, Q=Q)


# ----------------------------------------------------------------------------- ALS, batched


def _targets(target, name, values, xp):
    target = check_array(target, name, ndim=(1,), xp=xp)
    if len(target) != len(values["rows"]):
        raise ValueError(f"{name} must hold one value per rating ({len(values['rows'])}), got "
                         f"{len(target)}")
    return target


@checked(features=Array(ndim=(2,)), n_rows=Int(),
         rows=_ids(lambda v: v["n_rows"]),
         cols=_ids(lambda v: v["features"].shape[0], paired_with="rows"),
         target=Custom(_targets, values=True, device_of=lambda t: t),
         lam=Real(low=0, high=1e6, low_open=True), weighted=Bool())
def normal_equations(rows, cols, target, features, n_rows, lam, *, weighted=False):
    """The normal equations of one ALS half step for every row at once, written plainly.

    Row r (a user, say) has the ratings k with rows[k] = r; each gives a feature vector
    z_k = features[cols[k]] (the item's (1, q_i)) and a target t_k (r_ui - mu - c_i). Its
    ridge regression min |t - Z x|^2 + lam w_r |x|^2 is solved by

        A[r] x = b[r],   A[r] = sum_k z_k z_k^T + lam w_r I,   b[r] = sum_k t_k z_k,

    with w_r = 1, or max(its number of ratings, 1) when weighted (ALS-WR). The sums over each
    row's ratings are one bincount each. half_step builds the same A and b faster (only the
    upper triangles, a sparse structure built once per training set); the tests check that
    solve_spd(*normal_equations(...)) is half_step's solution.

    Parameters
    ----------
    rows : int array (n,), ids in [0, n_rows); cols : int array (n,), rows of features
    target : float array (n,)
    features : float array (n_cols, D), one row per column id (an item's z)
    n_rows : int >= 1
    lam : float in (0, 1e6]
    weighted : bool

    Returns
    -------
    (A, b): float arrays (n_rows, D, D) and (n_rows, D) on the features' device; a row
    without ratings has A = lam I and b = 0
    """
    xp = get_array_module(features)
    D = features.shape[1]
    Z = features[cols]  # (n, D): each rating's z
    outer = (Z[:, :, None] * Z[:, None, :]).reshape(len(rows), D * D)  # z z^T, flattened
    A = _scatter(rows, outer, n_rows).reshape(n_rows, D, D)
    b = _scatter(rows, target[:, None] * Z, n_rows)
    w = xp.maximum(xp.bincount(rows, minlength=n_rows), 1) if weighted else xp.ones(n_rows)
    A += lam * w[:, None, None] * xp.eye(D)
    return A, b


def _systems(A, name, values, xp):
    A = check_array(A, name, ndim=(3,), xp=xp)
    if A.shape[1] != A.shape[2]:
        raise ValueError(f"{name} must be a batch of square matrices (n, D, D), got shape "
                         f"{A.shape}")
    return A


def _right_sides(b, name, values, xp):
    b = check_array(b, name, ndim=(2,), xp=xp)
    if b.shape != values["A"].shape[:2]:
        raise ValueError(f"{name} must have shape {values['A'].shape[:2]} to match A, got "
                         f"{b.shape}")
    return b


def _regular(regular, name, values, xp):
    check_device(regular, name, xp)
    regular = xp.asarray(regular)
    if regular.dtype != bool or regular.shape != values["A"].shape[:1]:
        raise ValueError(f"{name} must be a boolean array of shape {values['A'].shape[:1]}, got "
                         f"{regular.dtype} {regular.shape}")
    return regular


@checked(A=Custom(_systems, values=True, device_of=lambda A: A),
         b=Custom(_right_sides, values=True, device_of=lambda b: b),
         regular=Optional(Custom(_regular, values=True, device_of=lambda r: r)))
def solve_spd(A, b, regular=None):
    """x with A[n] x[n] = b[n] for a batch of symmetric positive definite A (n, D, D).

    The regular systems: one batched Cholesky A = L L^T, then forward and back substitution,
    D steps each, every system at once (twice as fast as a general batched solve for D around
    10). The others (regular False: where ALS's penalty is negligible against the data, so
    rounding may have made A singular): scaled to a unit diagonal, with a ridge of
    SCALED_RIDGE per unknown that keeps Cholesky from breaking down (see fit_als).

    Parameters
    ----------
    A : float array (n, D, D), each symmetric positive definite (semi-definite where not
        regular)
    b : float array (n, D)
    regular : bool array (n,), optional; default every system regular

    Returns
    -------
    float array (n, D) on A's device
    """
    xp = get_array_module(A)
    if regular is not None and not bool(regular.all()):
        x = xp.empty_like(b)
        x[regular] = solve_spd(A[regular], b[regular])
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
    return s * solve_spd(M, s * b)


# ----------------------------------------------------------------------------- ALS, as it runs


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


def _row_sums(data, side):
    """_sparse for the users' (side "users") or the items' rows of data (a Ratings), built
    once and cached on it."""
    rows, cols, n_rows, n_cols = ((data.users, data.items, data.n_users, data.n_items)
                                  if side == "users" else
                                  (data.items, data.users, data.n_items, data.n_users))
    cache = data.__dict__.setdefault("_row_sums", {})
    if side not in cache or cache[side][0] is not rows:  # a moved copy has new arrays
        cache[side] = (rows, _sparse(rows, cols, n_rows, n_cols))
    return cache[side][1]


def _solve_side(row_sums, rows, target, features, n_rows, lam, weighted):
    """solve_spd(*normal_equations(rows, cols, target, features, n_rows, lam, weighted)),
    faster: the Gram matrices as sums of the upper triangles of z z^T, one sparse product
    (row_sums, whose structure is built once per training set); the systems whose lam is
    negligible (RIDGE_FLOOR) marked for the scaled ridge."""
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
    return solve_spd(A, row_sums(target, features), regular)


@checked(model=SWEEPABLE, train=MODEL_SIZED, side=Choice("users", "items"))
def half_step(model, train, side):
    """Minimise J exactly over one side's (bias, factors), the other side fixed.

    For side "users": each user's ridge regression on the features z_i = (1, q_i) of the
    items they rated (q_i alone without biases), targets r_ui - mu - c_i; all users' normal
    equations built and solved at once. Then "items" alike, from the users' factors.

    Parameters
    ----------
    model : FactorModel with lam > 0
    train : Ratings on the model's device, with the model's n_users and n_items
    side : "users" or "items", the side solved for

    Returns
    -------
    FactorModel: model with that side's biases and factors replaced
    """
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
    # = solve_spd(*normal_equations(rows, cols, target, features, n_rows, model.lam,
    #                               weighted=model.weighted)), computed faster
    x = _solve_side(_row_sums(train, side), rows, target, features, n_rows, model.lam,
                    model.weighted)
    bias, factors = (x[:, 0], x[:, 1:]) if model.biases else (xp.zeros(n_rows), x)
    if side == "users":
        return replace(model, user_bias=bias, P=factors)
    return replace(model, item_bias=bias, Q=factors)


@checked(model=SWEEPABLE, train=MODEL_SIZED)
def als_sweep(model, train):
    """One ALS iteration: the users' (b_u, p_u) given the items, then the items' (c_i, q_i)
    given the users, each by batched normal equations (half_step). J never increases.

    Parameters
    ----------
    model : FactorModel with lam > 0
    train : Ratings on the model's device, with the model's n_users and n_items

    Returns
    -------
    FactorModel after the sweep (model itself is left as it was)
    """
    return half_step(half_step(model, train, "users"), train, "items")


def _test_set(test, name, values, xp):
    """A non-empty Ratings with ids within train's."""
    datasets.check_ratings(test, name)
    train = values["train"]
    if int(test.users.max()) >= train.n_users or int(test.items.max()) >= train.n_items:
        raise ValueError(f"test has ids beyond train's {train.n_users} users or "
                         f"{train.n_items} items")
    return test


TEST = Optional(Custom(_test_set, values=True, device_of=_ratings_device))


def _init_model(train, n_factors, lam, weighted, biases, seed):
    xp = get_array_module(train.ratings)
    rng = rng_from(seed)
    P = rng.normal(0, 0.1, (train.n_users, n_factors))
    Q = rng.normal(0, 0.1, (train.n_items, n_factors))
    return FactorModel(mu=float(train.ratings.mean()), user_bias=xp.zeros(train.n_users),
                       item_bias=xp.zeros(train.n_items), P=xp.asarray(P), Q=xp.asarray(Q),
                       lam=lam, weighted=weighted, biases=biases, history={},
                       scale=train.scale)


def _record(model, train, test, seconds):
    """Appends the objective and the RMSEs to model.history; returns the objective (inf
    where it overflows, and then nothing is appended)."""
    J = _objective_or_inf(model, train)
    if not math.isfinite(J):
        return J
    for key, value in (("objective", J), ("train_rmse", rmse(model, train)),
                       ("test_rmse", None if test is None else rmse(model, test)),
                       ("seconds", seconds)):
        if value is not None:
            model.history.setdefault(key, []).append(value)
    return J


@renamed_keywords(n_iters="n_iter")
@checked(train=datasets.RATINGS, test=TEST, n_factors=Int(low=0, high=1000),
         lam=Real(low=0, high=1e6, low_open=True), n_iter=Int(low=0), biases=Bool(),
         weighted=Bool(), seed=Seed())
def fit_als(train, n_factors=10, lam=0.1, n_iter=10, *, biases=True, weighted=False, test=None,
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
    n_iter : int >= 0, exactly that many ALS sweeps (formerly n_iters)
    biases : bool, fit b_u and c_i (else r_hat = mu + p_u . q_i)
    weighted : bool, scale lam by each user's and item's number of ratings (ALS-WR, Spark)
    test : Ratings, optional, whose RMSE is recorded in the history
    seed : int, numpy Generator or None, for the starting factors (N(0, 0.1^2), host-drawn)

    Returns
    -------
    FactorModel on train's device, with its history (n_iter + 1 entries per key)
    """
    model = _init_model(train, n_factors, lam, weighted, biases, seed)
    start = time.perf_counter()
    for sweep in range(n_iter + 1):
        if sweep:
            model = als_sweep(model, train)
        seconds = time.perf_counter() - start if sweep else 0.0
        if not math.isfinite(_record(model, train, test, seconds)):
            raise _overflow(train)
    return model


def _overflow(train):
    return ValueError(f"train's ratings are too large: the objective overflows float64 (ratings "
                      f"up to {float(abs(train.ratings).max()):g}); rescale them")


# ----------------------------------------------------------------------------- SGD


@checked(train=datasets.RATINGS, test=TEST, n_factors=Int(low=0, high=1000),
         lam=Real(low=0, high=1e6), n_epochs=Int(low=0), lr=Real(low=0, high=1, low_open=True),
         batch_size=Int(), seed=Seed())
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
    n_factors : int in [0, 1000]; lam : float in [0, 1e6]
    n_epochs : int >= 0, passes over the ratings
    lr : float in (0, 1], the step size
    batch_size : int >= 1
    test : Ratings, optional; seed : int, numpy Generator or None

    Returns
    -------
    FactorModel with its history per epoch (as fit_als)
    """
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
                err = r - predict(model, u, i)
                pu, qi = model.P[u], model.Q[i]
                gb = -err + lam * model.user_bias[u] / nu[u]
                gc = -err + lam * model.item_bias[i] / ni[i]
                gp = -err[:, None] * qi + lam * pu / nu[u][:, None]
                gq = -err[:, None] * pu + lam * qi / ni[i][:, None]
                model = replace(
                    model, user_bias=model.user_bias - lr * xp.bincount(u, gb, train.n_users),
                    item_bias=model.item_bias - lr * xp.bincount(i, gc, train.n_items),
                    P=model.P - lr * _scatter(u, gp, train.n_users),
                    Q=model.Q - lr * _scatter(i, gq, train.n_items))
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


@checked(model=MODEL, user=Int(low=0, high=lambda v: v["model"].P.shape[0] - 1,
                               high_is="the last user"),
         n=Int(high=lambda v: v["model"].Q.shape[0], high_is="the number of items"),
         exclude=Optional(RATED_OR_EMPTY))
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
    xp = get_array_module(model.P)
    n_items = model.Q.shape[0]
    scores = model.mu + model.user_bias[user] + model.item_bias + model.Q @ model.P[user]
    if not bool(xp.isfinite(scores).all()):
        raise ValueError(f"the scores of model for user {user} overflow float64")
    allowed = xp.ones(n_items, dtype=bool)
    if exclude is not None:
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


def _one_rating_per_pair(train, name):
    """A non-empty Ratings rating each (user, item) pair at most once, whose dense
    n_users x n_items matrix has at most 10^8 cells."""
    datasets.check_ratings(train, name)
    xp = get_array_module(train.ratings)
    if train.n_users * train.n_items > 10**8:
        raise ValueError(f"{name} has {train.n_users} users x {train.n_items} items: user-user "
                         f"filtering forms that dense matrix, up to 10^8 cells here")
    codes = train.users * train.n_items + train.items
    if len(xp.unique(codes)) != len(train):
        raise ValueError(f"{name} rates some (user, item) pair twice: user-user filtering needs "
                         "one rating per pair")
    return train


PAIRS = Custom(_one_rating_per_pair, device_of=_ratings_device)


@checked(train=PAIRS, users=_ids(lambda v: v["train"].n_users),
         items=_ids(lambda v: v["train"].n_items, paired_with="users"), k=Int())
def user_based_predict(train, users, items, *, k=20):
    """User-user collaborative filtering: r_hat_ui = mean_u + the similarity-weighted mean of
    the k most similar users' centred ratings of i, similarity the cosine of the centred
    ratings on the items both rated (user_similarity). Falls back to mean_u (or the global
    mean for a user without ratings) when no neighbour rated i. Neighbours whose |similarity|
    agree to 12 decimals count as tied and are taken in user order, so every machine picks the
    same.

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
    xp = get_array_module(train.ratings)
    unit = _power_of_two_near(train.ratings)  # computed in these units: no overflow
    S, centred, mask, means = user_similarity(datasets.Ratings(
        train.users, train.items, train.ratings / unit, train.n_users, train.n_items,
        tuple(s / unit for s in train.scale)))
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


@checked(train=PAIRS)
def user_similarity(train):
    """The users' similarities: the cosine of their centred ratings on the items both rated.

    Each user's ratings are centred on their mean (the global mean for a user without
    ratings); S[u, v] = x_u . x_v / sqrt(|x_u|^2 on I_v * |x_v|^2 on I_u), the sums over the
    items both rated (0 when either sum is 0), with x_u the centred ratings and I_u the items
    u rated.

    Parameters
    ----------
    train : Ratings, each (user, item) pair at most once (dense matrices n_users x n_items
        are formed: up to 10^8 cells)

    Returns
    -------
    (S, centred, mask, means) on train's device: S (n_users, n_users) in [-1, 1]; centred
    (n_users, n_items), the centred ratings (0 where not rated); mask (n_users, n_items),
    1.0 where rated; means (n_users,)
    """
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


def __getattr__(name):
    """Names that moved to another module keep working for one release, with a warning."""
    from ._deprecated import moved

    return moved(__name__, name)
