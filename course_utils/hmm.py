"""Hidden Markov models: sampling, the forward-backward algorithm (scaled, or in log space),
Viterbi decoding, Baum-Welch (EM) and gradient ascent, for categorical and Gaussian emissions.

A model on K hidden states (see HMM, built and checked by make_hmm): a start distribution
startprob (K,), a transition matrix transmat (K, K), transmat[i, j] = P(z_{t+1} = j | z_t = i),
and emissions, either categorical, emissionprob (K, M), emissionprob[k, m] = P(x_t = m | z_t = k),
or Gaussian with diagonal covariance, means (K, D) and covars (K, D).

**Sequences.** Many sequences of different lengths go in as hmmlearn takes them: X, all of
them concatenated ((n,) symbols, or (n, D) or (n,) vectors for Gaussian emissions), and lengths
(n_sequences,) summing to n (None: one sequence). Inside, they are *packed* (as PyTorch's
``pack_padded_sequence``): sorted longest first and laid out time-major, (T, K, B) with T the
longest length (K states by B sequences at each step), so that at step t the sequences still
running are the first n_t columns. The recursions loop over time (each step needs the one
before) and do a (K, K) @ (K, n_t) product per step for all running sequences at once; a
finished sequence costs nothing more, no mask is needed in the loop, and the padding (zeros)
drops out of every sum after it.

**Numbers.** The scaled passes never multiply two small numbers: each step's emissions are
divided by their largest entry (its log added back), and each step normalises before it
multiplies; a pass whose normaliser still falls below SAFE_SCALE is recomputed in log space,
so a probability of 1e-200 per step is as exact as 0.5. Log space takes the same largest
entry out of each step. Gaussian fits work about a centre (offsets of 1e9 keep their digits),
floor variances at 64 units in the last place of the data (any scale works), and keep the
parameters of a state that no observation belongs to; tables of float32 are accepted at
float32's precision and renormalised in float64.

Every array function follows its data (NumPy in, NumPy out; CuPy in, CuPy out); random numbers
are drawn by NumPy on the host and moved, so a seed gives the same sample on either device.
Public functions declare their checks with ``checked`` (errors name the argument); the checks
run at the outermost call only, so the steps a lesson shows (pack_sequences, scaled_forward,
e_step, m_step, ...) are the public functions that run, called without checking twice.
"""

import functools
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from ._checks import (
    Array,
    Choice,
    Custom,
    Instance,
    Int,
    IntArray,
    Real,
    Seed,
    Xp,
    check_array,
    check_fields,
    check_int,
    check_int_array,
    checked,
    rng_from,
)
from ._deprecated import renamed_keywords
from .backend import get_array_module, to_numpy
from .numerics import logsumexp, softmax

ROW_TOL = 1e-8  # how far a probability row may sum from 1
METHODS = ("scaling", "log")


# ----------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class HMM:
    """A hidden Markov model's parameters, on one device (make_hmm builds one by keyword).

    emissionprob is set for categorical emissions, means and covars for Gaussian ones. The
    fields are checked when a learner builds one (as make_hmm checks its arguments, errors
    naming HMM.field) and held as float64 arrays.
    """

    startprob: object  # (K,)
    transmat: object  # (K, K)
    emissionprob: object = None  # (K, M), categorical
    means: object = None  # (K, D), Gaussian
    covars: object = None  # (K, D), Gaussian, diagonal variances

    def __post_init__(self):
        check_fields(self, **PARAMETERS)

    @property
    def n_states(self):
        """K, the number of hidden states."""
        return self.transmat.shape[0]

    @property
    def kind(self):
        """"categorical" or "gaussian"."""
        return "categorical" if self.emissionprob is not None else "gaussian"


def _check_rows(p, name, ndim, xp):
    """p as a float64 array whose last axis holds probabilities summing to 1.

    A row may miss 1 by ROW_TOL, or, for float32 (or float16) tables, by what rounding each
    of its entries to that precision can add up to (a float32 row of 0.6 and 0.4 sums to
    1.00000003); such rows are renormalised in float64, so the model sums to 1 exactly."""
    precision = getattr(p, "dtype", None)
    p = check_array(p, name, ndim=(ndim,), xp=xp)
    eps = np.finfo(precision).eps if precision is not None and precision.kind == "f" else 0.0
    p = p.astype(xp.float64)
    if bool((p < 0).any()):
        raise ValueError(f"{name} has a negative entry: min {float(p.min()):g}")
    sums = p.sum(axis=-1)
    off = xp.abs(sums - 1) > max(ROW_TOL, 2 * p.shape[-1] * eps)
    if bool(off.any()):
        where = "" if ndim == 1 else f"'s row {int(xp.argmax(off.reshape(-1)))}"
        bad = float(sums.reshape(-1)[int(xp.argmax(off.reshape(-1)))])
        raise ValueError(f"{name}{where} sums to {bad:.10g}, not 1: probabilities must sum "
                         f"to 1")
    if eps > np.finfo(np.float64).eps:
        p = p / sums[..., None]
    return p


def _check_start(p, name, values, xp):
    return _check_rows(p, name, 1, xp)


def _check_transmat(A, name, values, xp):
    A = _check_rows(A, name, 2, xp)
    K = values["startprob"].shape[0]
    if A.shape != (K, K):
        raise ValueError(f"{name} must be ({K}, {K}) for the {K} states of startprob, got "
                         f"shape {A.shape}")
    return A


def _check_emissionprob(E, name, values, xp):
    if (E is None) == (values["means"] is None and values["covars"] is None):
        raise ValueError("give emissionprob (categorical emissions) or means and covars "
                         "(Gaussian emissions), not both or neither")
    if E is None:
        return None
    E = _check_rows(E, name, 2, xp)
    K = values["startprob"].shape[0]
    if E.shape[0] != K:
        raise ValueError(f"{name} must have {K} rows (one per state of startprob), got shape "
                         f"{E.shape}")
    return E


def _check_means(means, name, values, xp):
    if values["emissionprob"] is not None:
        return None
    if means is None or values["covars"] is None:
        raise ValueError("Gaussian emissions need both means and covars")
    means = check_array(means, name, xp=xp).astype(xp.float64)
    means = means.reshape(means.shape[0], -1)
    K = values["startprob"].shape[0]
    if means.shape[0] != K:
        raise ValueError(f"{name} must have {K} rows (one per state), got shape {means.shape}")
    return means


def _check_covars(covars, name, values, xp):
    if values["emissionprob"] is not None:
        return None
    covars = check_array(covars, name, xp=xp).astype(xp.float64)
    covars = covars.reshape(covars.shape[0], -1)
    if covars.shape != values["means"].shape:
        raise ValueError(f"{name} must have the shape of means {values['means'].shape}, got "
                         f"{covars.shape}")
    if bool((covars <= 0).any()):
        raise ValueError(f"{name} must be positive (variances)")
    return covars


PARAMETERS = {name: Custom(fn, values=True, device_of=lambda v: v) for name, fn in (
    ("startprob", _check_start), ("transmat", _check_transmat),
    ("emissionprob", _check_emissionprob), ("means", _check_means),
    ("covars", _check_covars))}


@checked(**PARAMETERS)
def make_hmm(startprob, transmat, emissionprob=None, *, means=None, covars=None):
    """A checked HMM: categorical emissions (emissionprob) or Gaussian ones (means, covars).

    Parameters
    ----------
    startprob : array (K,), non-negative, summing to 1
    transmat : array (K, K), every row non-negative and summing to 1
    emissionprob : array (K, M), every row a distribution over the M symbols; or None with
    means : array (K, D) (or (K,) for D = 1), the Gaussian means, and
    covars : array (K, D) (or (K,)), positive variances (diagonal covariances)

    Returns
    -------
    HMM on the parameters' device (float64). A ValueError names the argument at fault: a row
    not summing to 1, a negative entry, a number of states that differs between the tables.
    """
    return HMM(startprob, transmat, emissionprob, means, covars)


def _model_device(model):
    return getattr(model, "transmat", None)


# an HMM argument: checked when it was built, it sets the call's device
MODEL = Instance(HMM, "an HMM (from make_hmm)", device_of=_model_device)


@checked(n_states=Int(), n_symbols=Int(), seed=Seed(), concentration=Real(low=0, low_open=True),
         xp=Xp())
def random_hmm(n_states, n_symbols, *, seed=0, concentration=1.0, xp=None):
    """A random categorical HMM, every row drawn from a Dirichlet distribution: a start for
    Baum-Welch or gradient ascent.

    Parameters
    ----------
    n_states : int >= 1, K
    n_symbols : int >= 1, M
    seed : int, numpy Generator or None
    concentration : float > 0, the Dirichlet's parameter (large: rows near uniform)
    xp : array module, default the current device

    Returns
    -------
    HMM with startprob (K,), transmat (K, K), emissionprob (K, M), all entries positive
    """
    rng, K, M = rng_from(seed), n_states, n_symbols
    rows = [rng.dirichlet(np.full(size, concentration), n)
            for n, size in ((1, K), (K, K), (K, M))]
    rows = [np.maximum(r, 1e-12) / np.maximum(r, 1e-12).sum(axis=1, keepdims=True)
            for r in rows]
    return HMM(xp.asarray(rows[0][0]), xp.asarray(rows[1]), xp.asarray(rows[2]))


# ----------------------------------------------------------------------------- sequences


@dataclass(frozen=True)
class PackedSequences:
    """Sequences packed longest first, time-major (see the module's docstring and
    pack_sequences, which makes them)."""

    x: object  # (T, B) symbols or (T, B, D) vectors, padding 0
    valid: object  # (T, B) bool
    flat: object  # (n,) for each valid packed cell, in valid's order, its index in X
    order: np.ndarray  # (B,) host: packed column b is sequence order[b]
    active: list  # active[t] = how many sequences have length > t (non-increasing)
    cache: dict = field(default_factory=dict)  # codes of (state, symbol) cells, by (K, M)


def _check_observations(X, name, values, xp):
    """X as (n,) ints or (n,) / (n, D) floats (the emissions a model of either kind takes)."""
    if (X.dtype if hasattr(X, "dtype") else np.asarray(X).dtype).kind == "f":
        return check_array(X, name, xp=xp)
    return check_int_array(X, name, ndim=1, xp=xp)


def _check_lengths(lengths, name, values, xp):
    """lengths as a host int64 array of positive lengths summing to len(values["X"])."""
    n = values["X"].shape[0]
    if lengths is None:
        return np.array([n], dtype=np.int64)
    lengths = check_int_array(to_numpy(lengths) if hasattr(lengths, "shape") else lengths,
                              name, low=1, ndim=1, xp=np).astype(np.int64)
    if int(lengths.sum()) != n:
        raise ValueError(f"{name} must sum to the number of observations in X ({n}), got "
                         f"{int(lengths.sum())}")
    return lengths


LENGTHS = Custom(_check_lengths, values=True)


@checked(X=Custom(_check_observations, values=True, device_of=lambda X: X), lengths=LENGTHS)
def pack_sequences(X, lengths=None):
    """Sequences of different lengths, packed for the recursions: sorted longest first and
    laid out time-major, so that at step t the sequences still running are the first
    active[t] columns (as PyTorch's pack_padded_sequence).

    Parameters
    ----------
    X : int array (n,) of symbols, or float array (n,) or (n, D): the sequences concatenated
    lengths : int array (n_sequences,) of positive lengths summing to n; None: one sequence

    Returns
    -------
    PackedSequences on X's device: x (T, B) or (T, B, D) with T the longest length and B the
    number of sequences (padding 0), valid (T, B) bool, flat (n,) the index in X of each
    valid cell, order (B,) the sequence in each column (host), active (T,) list of ints
    """
    xp = get_array_module(X)
    order = np.argsort(-lengths, kind="stable")
    L = lengths[order]
    starts = (np.cumsum(lengths) - lengths)[order]
    t = np.arange(L[0])[:, None]
    valid = t < L[None, :]
    index = np.where(valid, starts[None, :] + t, 0)
    active = valid.sum(axis=1).tolist()
    return PackedSequences(X[xp.asarray(index)], xp.asarray(valid), xp.asarray(index[valid]),
                           order, active)


def _check_sequences(X, name, values, xp, *, resolvable=False, scale=False):
    """X checked against values["model"]'s emissions; with resolvable (and scale), the
    Gaussian checks below."""
    model = values["model"]
    if model.kind == "categorical":
        return check_int_array(X, name, low=0, high=model.emissionprob.shape[1], ndim=1, xp=xp)
    X = check_array(X, name, xp=xp).astype(xp.float64)
    D = model.means.shape[1]
    X = X.reshape(-1, 1) if X.ndim == 1 and D == 1 else X
    if X.ndim != 2 or X.shape[1] != D:
        raise ValueError(f"{name} must be (n, {D}) for means of {D} features, got shape "
                         f"{X.shape}")
    if scale:
        _check_gaussian_scale(X)
    if resolvable:
        _check_resolvable(model, X)
    return X


def _sequences(**options):
    return Custom(functools.partial(_check_sequences, **options), values=True,
                  device_of=lambda X: X)


SEQUENCES = _sequences()  # X for a model
RESOLVABLE_SEQUENCES = _sequences(resolvable=True)  # ... whose states float64 tells apart


RESOLVABLE = 1e7  # standard deviations: see _check_resolvable


def _check_resolvable(model, X):
    """For Gaussian emissions, a ValueError naming X when an observation lies more than
    RESOLVABLE standard deviations from every state's mean: its log-density, about -z^2 / 2,
    then carries a rounding error of about 1e-16 z^2 nats, as large as the differences
    between states that its posterior and the best path are made of."""
    if model.kind == "categorical":
        return
    xp = get_array_module(X)
    with np.errstate(over="ignore"):
        z2 = ((X[:, None, :] - model.means) ** 2 / model.covars).sum(axis=2).min(axis=1)
    worst = int(xp.argmax(z2))
    if not float(z2[worst]) <= RESOLVABLE**2:
        raise ValueError(f"X[{worst}] lies {float(xp.sqrt(z2[worst])):.3g} standard deviations "
                         f"from the nearest state's mean: so far out, float64 cannot tell the "
                         f"states apart; start the means nearer the data (or rescale X)")


def _check_gaussian_scale(X):
    """A ValueError naming X when its magnitude is too large (above 1e150) or its spread too
    small (below 1e-140, but not 0) for a variance fitted to it to be a float64."""
    xp = get_array_module(X)
    top = to_numpy(xp.abs(X).max(axis=0)).tolist()
    spread = to_numpy(X.max(axis=0) - X.min(axis=0)).tolist()
    for d, (m, s) in enumerate(zip(top, spread, strict=True)):
        if m > 1e150:
            raise ValueError(f"X has entries as large as {m:.3g} along feature {d}: their "
                             f"squares, and a variance fitted to them, would overflow float64; "
                             f"rescale X")
        if 0 < s < 1e-140:
            raise ValueError(f"X spreads over only {s:.3g} along feature {d}: a variance "
                             f"fitted to it would underflow float64; rescale X")


def _log_emissions(model, x):
    """log P(x | state) for every packed cell: (T, B, K)."""
    xp = get_array_module(model.transmat)
    with np.errstate(divide="ignore", over="ignore"):  # log 0, and squares past 1e308: -inf
        if model.kind == "categorical":
            return xp.log(model.emissionprob.T)[x]
        var = model.covars
        diff2 = (x[:, :, None, :] - model.means) ** 2 / var
        return -0.5 * (diff2 + xp.log(2 * np.pi * var)).sum(axis=-1)


def _codes(packed, K, M):
    """(T, K, B) int64: k M + x_t for state k and each cell's symbol, the flat index into a
    (K, M) table (computed once per packing, shared by every iteration)."""
    if (K, M) not in packed.cache:
        xp = get_array_module(packed.x)
        packed.cache[K, M] = packed.x[:, None, :] + M * xp.arange(K)[:, None]
    return packed.cache[K, M]


def _symbol_counts(packed, M):
    """(B, M) how often each symbol occurs in each packed column (computed once per packing)."""
    if ("counts", M) not in packed.cache:
        xp = get_array_module(packed.x)
        T, B = packed.valid.shape
        if B == 1:  # one sequence, no padding
            counts = xp.bincount(packed.x[:, 0], minlength=M)[None]
        else:
            column = xp.broadcast_to(xp.arange(B), (T, B))[packed.valid]
            counts = xp.bincount(column * M + packed.x[packed.valid], minlength=B * M)
        packed.cache["counts", M] = counts.reshape(B, M).astype(xp.float64)
    return packed.cache["counts", M]


def _emissions(model, packed):
    """Emission likelihoods b (T, K, B) (states before sequences: see scaled_forward), each cell
    divided by its largest entry m_t, and sum_t log m_t of each packed column (B,).

    The division keeps every step's b in (0, 1] with a 1 in it, however small the
    probabilities (1e-200) or extreme the densities: the forward pass then multiplies
    numbers of moderate size, and log P(x) gets sum_t log m_t back. For categorical
    emissions the divisor depends on the symbol only (the likeliest state's probability of
    it), so the table is divided once, b is still one gather, and the sum of the logs is the
    columns' symbol counts times the logs of the divisors."""
    xp = get_array_module(model.transmat)
    if model.kind == "categorical":
        E = model.emissionprob
        top = E.max(axis=0)  # (M,)
        top = xp.where(top > 0, top, 1.0)  # a symbol no state emits keeps b = 0
        b = xp.take((E / top).reshape(-1), _codes(packed, *E.shape))  # one gather
        return b, _symbol_counts(packed, E.shape[1]) @ xp.log(top)
    logb = _log_emissions(model, packed.x)
    m = logb.max(axis=2)
    m = xp.where(xp.isfinite(m), m, 0.0)
    b = xp.ascontiguousarray(xp.exp(logb - m[:, :, None]).transpose(0, 2, 1))
    return b, xp.where(packed.valid, m, 0.0).sum(axis=0)


# ----------------------------------------------------------------------------- forward-backward

# A scaled pass is recomputed in log space, for all the sequences of the call, when some
# step's normaliser c_t is below this (or a result is not finite): the next step's products
# A^T u could then reach the subnormal range (below 2.2e-308) and lose digits, or underflow
# to 0. It takes a step whose observation is 1e-154 times less likely than under the state
# likeliest to emit it, so real data almost never pay for the slower log space.
SAFE_SCALE = float(np.sqrt(np.finfo(np.float64).tiny))  # 1.5e-154


def _check_active(active, name, values, xp):
    """active as a list of T non-increasing ints in [0, B] for b (T, K, B), active[0] = B."""
    T, _, B = values["b"].shape
    if isinstance(active, str | bytes) or not hasattr(active, "__iter__"):
        raise TypeError(f"{name} must be a list of ints, got {type(active).__name__}")
    active = [check_int(n, f"{name}[{t}]", low=0) for t, n in enumerate(active)]
    if len(active) != T or active[0] != B or any(
            not 0 <= n1 <= n for n, n1 in zip(active, active[1:], strict=False)):
        raise ValueError(f"{name} must count the running sequences at each of the {T} steps: "
                         f"{B} at the first, then never more, got {active}")
    return active


START, TRANSITIONS = Array(ndim=(1,)), Array(ndim=(2,))
ACTIVE = Custom(_check_active, values=True)


@checked(pi=START, A=TRANSITIONS, b=Array(ndim=(3,)), active=ACTIVE)
def scaled_forward(pi, A, b, active):
    """Scaled forward pass over b (T, K, B): alpha_hat (T, K, B), each column
    P(z_t | x_1..t) (zeros in the padding), and c (T, B), c_t = P(x_t | x_1..t-1) (1 in the
    padding), both for b as e_step makes it (each step divided by its largest entry). States
    run along axis 1 and sequences along axis 2, so that the sum over states and the division
    by c are whole-row operations, the fastest for small K.

    Each step is three operations on preallocated arrays, for all running sequences at once:
    one product by [A^T; 1] gives both A^T u_{t-1} and c_{t-1} = sum u_{t-1}; dividing
    first, A^T u_{t-1} / c_{t-1} = P(z_t | x_1..x_{t-1}) is a distribution, and
    u_t = P(z_t | x_1..x_{t-1}) * b_t is alpha_t divided by P(x_1..x_{t-1}), with
    c_t = sum u_t (normalise before multiplying: no product of two small numbers); the last
    division, alpha_hat_t = u_t / c_t, is done for all steps at once after the loop.

    Parameters
    ----------
    pi : array (K,), the start distribution
    A : array (K, K), the transition matrix
    b : array (T, K, B), the emission likelihoods of packed sequences (as e_step makes them:
        states along axis 1, sequences along axis 2, zeros in the padding)
    active : list of T ints, how many sequences are running at each step (PackedSequences)

    Returns
    -------
    alpha : array (T, K, B), each running column a distribution over the states
    c : array (T, B), the normalisers, 1 in the padding
    """
    xp = get_array_module(b)
    T, K, B = b.shape
    u = xp.zeros((T, K, B))
    stacked = xp.concatenate([A.T, xp.ones((1, K))])  # (K + 1, K): [A^T; 1]
    product = xp.empty((K + 1, B))
    top, total = product[:K], product[K]  # A^T u_{t-1} and c_{t-1}, views made once
    bs, us = list(b), list(u)  # (K, B) blocks, views made once
    with np.errstate(divide="ignore", invalid="ignore", under="ignore"):
        xp.multiply(pi[:, None], bs[0], out=us[0])
        for t in range(1, T):
            n = active[t]
            if n == B:
                xp.dot(stacked, us[t - 1], out=product)
                xp.divide(top, total, out=us[t])
                us[t] *= bs[t]
            else:  # only the first n sequences are still running
                xp.matmul(stacked, us[t - 1][:, :n], out=product[:, :n])
                xp.divide(top[:, :n], total[:n], out=us[t][:, :n])
                us[t][:, :n] *= bs[t][:, :n]
        c = u.sum(axis=1)  # (T, B): c_t = sum_j u_t(j), 0 in the padding
        c = xp.where(_valid(active, B, xp), c, 1.0)
        alpha = xp.divide(u, c[:, None, :], out=u)
    return alpha, c


def _valid(active, B, xp):
    """(T, B) bool: the cells inside a sequence, from the number running at each step."""
    return xp.asarray(np.arange(B)[None, :] < np.asarray(active)[:, None])


@checked(A=TRANSITIONS, b=Array(ndim=(3,)), c=Array(ndim=(2,)), active=ACTIVE)
def scaled_backward(A, b, c, active):
    """Scaled backward pass: beta_hat (T, K, B) with alpha_hat * beta_hat = P(z_t | x), and
    w (T, K, B), w_t = b_t beta_hat_t / c_t (what the expected transitions need).

    Parameters
    ----------
    A : array (K, K), the transition matrix
    b : array (T, K, B), the emission likelihoods, as for scaled_forward
    c : array (T, B), the normalisers scaled_forward returns
    active : list of T ints, how many sequences are running at each step

    Returns
    -------
    beta : array (T, K, B), 0 in the padding
    w : array (T, K, B)
    """
    xp = get_array_module(b)
    T, K, B = b.shape
    beta = xp.zeros((T, K, B))
    w = xp.zeros((T, K, B))
    with np.errstate(divide="ignore", invalid="ignore"):
        bc = b / c[:, None, :]
    betas, ws, bcs = list(beta), list(w), list(bc)
    betas[T - 1][:, :active[T - 1]] = 1.0
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        for t in range(T - 2, -1, -1):
            n, n1 = active[t], active[t + 1]
            nxt, wt, bt, out = betas[t + 1], ws[t + 1], bcs[t + 1], betas[t]
            product = xp.dot
            if n1 < B:
                nxt, wt, bt, out = nxt[:, :n1], wt[:, :n1], bt[:, :n1], out[:, :n1]
                product = xp.matmul
            xp.multiply(bt, nxt, out=wt)
            product(A, wt, out=out)  # sum_j A_ij b_j beta_j / c
            if n1 < n:
                betas[t][:, n1:n] = 1.0  # sequences whose last step is t
    return beta, w


def _scaling_is_safe(c, *results):
    """Whether a scaled pass can be trusted: every normaliser c at least SAFE_SCALE and
    every result finite (else the caller recomputes in log space)."""
    xp = get_array_module(c)
    if not bool((c >= SAFE_SCALE).all()):
        return False
    with np.errstate(invalid="ignore", over="ignore"):
        return all(bool(xp.isfinite(r.sum())) for r in results)


def _forward_backward_log(model, packed):
    """The same quantities in log space: log alpha, log beta (T, B, K), the log emissions
    (T, B, K), log A, and m (T, B): as in the scaled passes, each step's log emissions have
    their largest entry m_t taken out (so that log alpha + log beta - log P(x) is a
    difference of moderate numbers however far an observation lies), and log P(x) is
    logsumexp of the last log alpha plus sum_t m_t."""
    xp = get_array_module(model.transmat)
    logb = _log_emissions(model, packed.x)
    m = logb.max(axis=2)
    m = xp.where(xp.isfinite(m) & packed.valid, m, 0.0)
    logb = logb - m[:, :, None]
    with np.errstate(divide="ignore"):
        logpi, logA = xp.log(model.startprob), xp.log(model.transmat)
    T, B, K = logb.shape
    la = xp.full((T, B, K), -np.inf)
    lb = xp.full((T, B, K), -np.inf)
    la[0] = logpi + logb[0]
    for t in range(1, T):
        n = packed.active[t]
        la[t, :n] = logsumexp(la[t - 1, :n, :, None] + logA, axis=1) + logb[t, :n]
    lb[T - 1, :packed.active[T - 1]] = 0.0
    for t in range(T - 2, -1, -1):
        n, n1 = packed.active[t], packed.active[t + 1]
        lb[t, :n1] = logsumexp(logA + (logb[t + 1, :n1] + lb[t + 1, :n1])[:, None, :], axis=2)
        lb[t, n1:n] = 0.0
    return la, lb, logb, logA, m


def _log_score(la, packed):
    """logsumexp of each packed column's last log alpha: its log P(x) less sum_t m_t."""
    xp = get_array_module(la)
    ends = packed.valid.sum(axis=0) - 1  # (B,) each column's last step
    return logsumexp(la[ends, xp.arange(la.shape[1])], axis=1)


def _zero_probability(ll, order, what, kind="categorical"):
    bad = np.flatnonzero(~np.isfinite(to_numpy(ll)))
    if bad.size:
        why = ("a symbol or transition it never makes" if kind == "categorical" else
               "a transition it never makes, or an observation whose density underflows "
               "under every state")
        raise ValueError(f"the model gives sequence {sorted(order[bad].tolist())} probability 0 "
                         f"({why}): {what} is undefined")


@dataclass(frozen=True)
class Posterior:
    """What forward-backward tells (see forward_backward)."""

    log_likelihood: object  # (n_sequences,) log P(x) of each sequence
    posterior: object  # (n, K) P(z_t = k | x) for every observation, X's order
    start_counts: object  # (K,) expected starts in each state, summed over sequences
    trans_counts: object  # (K, K) expected transitions i -> j, summed over sequences and time


PACKED = Instance(PackedSequences, "PackedSequences (from pack_sequences)",
                  device_of=lambda p: p.x)


def _fits(packed, name, values, xp):
    """packed checked against values["model"]'s emissions."""
    packed, model = PACKED(packed, name, values, xp), values["model"]
    if model.kind == "categorical":
        check_int_array(packed.x, name + ".x", high=model.emissionprob.shape[1])
    elif packed.x.ndim != 3 or packed.x.shape[2] != model.means.shape[1]:
        raise ValueError(f"{name}.x must be (T, B, {model.means.shape[1]}) for the model's "
                         f"means, got shape {packed.x.shape}")
    return packed


PACKED_FOR_MODEL = Custom(_fits, values=True, device_of=lambda p: getattr(p, "x", None))


@checked(model=MODEL, packed=PACKED_FOR_MODEL, method=Choice(*METHODS))
def e_step(model, packed, method="scaling"):
    """The E-step of Baum-Welch: forward-backward on packed sequences, by scaling or in log
    space. A scaled pass with a normaliser below SAFE_SCALE, or a result that is not
    finite, is recomputed in log space.

    Parameters
    ----------
    model : HMM
    packed : PackedSequences of the model's observations (pack_sequences)
    method : "scaling" or "log"

    Returns
    -------
    ll : array (B,), log P(x) of each packed column
    gamma : array (T, K, B), P(z_t = k | x), 0 in the padding
    trans : array (K, K), the expected transitions i -> j summed over time and sequences
    A column the model gives probability 0 is a ValueError saying which sequence.
    """
    xp = get_array_module(model.transmat)
    if method == "scaling":
        b, m = _emissions(model, packed)
        alpha, c = scaled_forward(model.startprob, model.transmat, b, packed.active)
        if _scaling_is_safe(c):
            ll = xp.log(c).sum(axis=0) + m
            beta, w = scaled_backward(model.transmat, b, c, packed.active)
            gamma = alpha * beta
            # xi summed over t and sequences: A_ij sum_{t,b} alpha_t(i) w_{t+1}(j), one product
            trans = model.transmat * (alpha[:-1] @ w[1:].transpose(0, 2, 1)).sum(axis=0)
            if _scaling_is_safe(c, gamma, trans):
                return ll, gamma, trans
    la, lb, logb, logA, m = _forward_backward_log(model, packed)
    T = la.shape[0]
    ll_shifted = _log_score(la, packed)  # log P(x) less the divisors m
    ll = ll_shifted + m.sum(axis=0)
    _zero_probability(ll, packed.order, "the posterior", model.kind)
    with np.errstate(invalid="ignore"):
        gamma = xp.where(packed.valid[:, :, None], xp.exp(la + lb - ll_shifted[:, None]), 0.0)
        gamma = gamma.transpose(0, 2, 1).copy()  # (T, K, B) as the scaled path's
        if T > 1:
            log_xi = (la[:-1, :, :, None] + logA + (logb[1:] + lb[1:])[:, :, None, :]
                      - ll_shifted[:, None, None])
            both = (packed.valid[:-1] & packed.valid[1:])[:, :, None, None]
            trans = xp.where(both, xp.exp(log_xi), 0.0).sum(axis=(0, 1))
        else:
            trans = xp.zeros((model.n_states, model.n_states))
    return ll, gamma, trans


def _unpack(packed_values, packed, n):
    """(T, B, ...) packed cells -> (n, ...) in X's order."""
    xp = get_array_module(packed_values)
    out = xp.empty((n,) + packed_values.shape[2:], dtype=packed_values.dtype)
    out[packed.flat] = packed_values[packed.valid]
    return out


def _unsort(values, packed):
    xp = get_array_module(values)
    out = xp.empty_like(values)
    out[xp.asarray(packed.order)] = values
    return out


@checked(model=MODEL, X=RESOLVABLE_SEQUENCES, lengths=LENGTHS, method=Choice(*METHODS))
def forward_backward(model, X, lengths=None, *, method="scaling"):
    """Posterior marginals P(z_t = k | x) of every observation, by the forward-backward
    algorithm over all sequences at once, scaled (each alpha_t renormalised to sum 1, the log
    of the normalisers summing to log P(x)) or in log space (log-sum-exp at every step).

    Parameters
    ----------
    model : HMM (make_hmm)
    X : int array (n,) of symbols in [0, M), or float array (n, D) for Gaussian emissions:
        the sequences concatenated, on the model's device
    lengths : int array (n_sequences,) of positive lengths summing to n; None: one sequence
    method : "scaling" or "log". Scaling is recomputed in log space when a step's
        normaliser falls below SAFE_SCALE (1.5e-154), where its products could underflow.

    Returns
    -------
    Posterior: log_likelihood (n_sequences,), posterior (n, K) (rows sum to 1), start_counts
    (K,) and trans_counts (K, K), the expected counts of Baum-Welch. A sequence the model
    gives probability 0 is a ValueError saying which; so is, for Gaussian emissions, an
    observation too far from every state's mean to tell the states apart in float64.
    """
    packed = pack_sequences(X, lengths)
    ll, gamma, trans = e_step(model, packed, method)
    return Posterior(_unsort(ll, packed), _unpack(gamma.transpose(0, 2, 1), packed, X.shape[0]),
                     gamma[0].sum(axis=1), trans)


LONG = 2048  # a single sequence at least this long is scored by score_by_products


@checked(pi=START, A=TRANSITIONS, b=Array(ndim=(3,)))
def score_by_products(pi, A, b):
    """log P(x) of one long sequence without a loop over time: P(x) = pi_b1 M_2 ... M_T 1 with
    M_t = A diag(b_t), and the matrix product is associative, so the T - 1 matrices are
    multiplied pairwise, all pairs at once, in log2(T) rounds. Every matrix is divided by
    its largest entry (whose log is kept) before it is multiplied, each M_t first (by a
    bound within a factor K of it, one matrix-vector product for all t) and each product
    after, so no product is of two small numbers.

    Parameters
    ----------
    pi : array (K,), the start distribution
    A : array (K, K), the transition matrix
    b : array (T, K, 1), the emission likelihoods of one sequence, each step divided by its
        largest entry (as e_step and score make them)

    Returns
    -------
    0-D array, log P(x) less the logs of b's divisors; or None where a product still falls
    below SAFE_SCALE (score then loops over time)
    """
    xp = get_array_module(b)
    with np.errstate(divide="ignore", invalid="ignore", under="ignore"):
        bt = b[1:, :, 0]  # (T - 1, K)
        top = bt @ A.max(axis=0)  # (T - 1,) between M_t's largest entry and K times it
        lowest = top.min(initial=np.inf)  # (one step: no matrix, the product is I)
        if bt.shape[0] == 0:
            bt, top = xp.ones((1, A.shape[0])), xp.ones(1)
            A = xp.eye(A.shape[0])
        log_scale = xp.log(top).sum()
        M = A[None] * (bt / xp.where(top > 0, top, 1.0)[:, None])[:, None, :]  # (T - 1, K, K)
        while M.shape[0] > 1:
            if M.shape[0] % 2:  # an odd one out waits for the next round
                M = xp.concatenate([M, xp.eye(A.shape[0])[None]])
            M = M[0::2] @ M[1::2]
            top = M.max(axis=(1, 2))
            lowest = xp.minimum(lowest, top.min())
            log_scale = log_scale + xp.log(top).sum()
            M = M / xp.where(top > 0, top, 1.0)[:, None, None]
        last = ((pi * b[0, :, 0]) @ M[0]).sum()
        if not float(xp.minimum(lowest, last)) >= SAFE_SCALE:
            return None
        return xp.log(last) + log_scale


def _score(model, packed, method="scaling"):
    xp = get_array_module(model.transmat)
    if method == "scaling":
        b, m = _emissions(model, packed)
        if b.shape[2] == 1 and b.shape[0] >= LONG:
            ll = score_by_products(model.startprob, model.transmat, b)
            if ll is not None:
                return ll.reshape(1) + m
        _, c = scaled_forward(model.startprob, model.transmat, b, packed.active)
        if _scaling_is_safe(c):
            return xp.log(c).sum(axis=0) + m
    la, _, _, _, m = _forward_backward_log(model, packed)
    return _log_score(la, packed) + m.sum(axis=0)


@checked(model=MODEL, X=SEQUENCES, lengths=LENGTHS, method=Choice(*METHODS))
def score(model, X, lengths=None, *, method="scaling"):
    """log P(x) of each sequence, by the forward pass alone (scaled, or in log space).

    Parameters
    ----------
    model : HMM
    X : int array (n,) of symbols, or float array (n, D): the sequences concatenated
    lengths : int array (n_sequences,) summing to n; None: one sequence
    method : "scaling" or "log". Scaling is recomputed in log space when a step's
        normaliser falls below SAFE_SCALE (1.5e-154), where its products could underflow.

    Returns
    -------
    float64 array (n_sequences,) on the model's device (sum it for hmmlearn's score). A
    sequence of probability 0 gets -inf, with a RuntimeWarning saying which; never NaN.
    One sequence of LONG steps or more is scored (scaled) as a product of matrices, pairwise
    in log2(T) rounds (see score_by_products) rather than by a loop over its steps.
    """
    packed = pack_sequences(X, lengths)
    ll = _unsort(_score(model, packed, method), packed)
    impossible = np.flatnonzero(np.isneginf(to_numpy(ll)))
    if impossible.size:
        why = ("a symbol or transition it never makes" if model.kind == "categorical" else
               "a transition it never makes, or an observation whose density underflows")
        warnings.warn(f"the model gives sequence {impossible.tolist()} probability 0 ({why}): "
                      f"log-likelihood -inf", RuntimeWarning, stacklevel=2)
    return ll


@checked(model=MODEL, X=RESOLVABLE_SEQUENCES, lengths=LENGTHS)
def viterbi(model, X, lengths=None):
    """The most likely hidden path of each sequence, argmax_z P(z, x), by dynamic programming
    in log space, all sequences at once.

    Parameters
    ----------
    model : HMM
    X : int array (n,) of symbols, or float array (n, D): the sequences concatenated
    lengths : int array (n_sequences,) summing to n; None: one sequence

    Returns
    -------
    path : int64 array (n,) of states, X's order
    log_prob : float64 array (n_sequences,), log P(best path, x) of each sequence
    A sequence of probability 0 (no path at all) is a ValueError saying which; so is, for
    Gaussian emissions, an observation too far from every state's mean to tell the states
    apart in float64.
    """
    packed = pack_sequences(X, lengths)
    xp = get_array_module(model.transmat)
    logb = _log_emissions(model, packed.x)
    with np.errstate(divide="ignore"):
        logA = xp.log(model.transmat)
        delta = xp.log(model.startprob) + logb[0]
    T, B, K = logb.shape
    psi = xp.zeros((T, B, K), dtype=xp.int64)
    best = xp.empty(B)
    path = xp.zeros((T, B), dtype=xp.int64)
    finals = []
    for t in range(1, T + 1):
        n = packed.active[t] if t < T else 0
        if n < delta.shape[0]:  # columns n.. ended at step t - 1
            finals.append((t - 1, n, delta[n:]))
        if t == T:
            break
        s = delta[:n, :, None] + logA  # (n, i, j): best path ending in i, then i -> j
        psi[t, :n] = s.argmax(axis=1)
        delta = s.max(axis=1) + logb[t, :n]
    for _, lo, d in finals:
        best[lo:lo + d.shape[0]] = d.max(axis=1)
    _zero_probability(best, packed.order, "the best path", model.kind)
    last = {t_end: (lo, d) for t_end, lo, d in finals}
    for t in range(T - 1, -1, -1):
        n1 = packed.active[t + 1] if t + 1 < T else 0
        if n1:
            path[t, :n1] = psi[t + 1, xp.arange(n1), path[t + 1, :n1]]
        if t in last:
            lo, d = last[t]
            path[t, lo:lo + d.shape[0]] = d.argmax(axis=1)
    return _unpack(path, packed, X.shape[0]), _unsort(best, packed)


# ----------------------------------------------------------------------------- learning


@dataclass(frozen=True)
class HMMFit:
    """A fitted model and how it got there (see baum_welch, gradient_ascent, fit)."""

    model: HMM
    log_likelihoods: np.ndarray  # (steps + 1,) total log P(x) before each step and at the end
    seconds: np.ndarray  # (steps + 1,) wall time since the start at each of those points
    converged: bool


def _emission_counts(packed, gamma, M):
    """(K, M) expected emissions: sum of gamma_t(k) over the cells whose symbol is m."""
    xp = get_array_module(gamma)
    K = gamma.shape[1]
    codes = _codes(packed, K, M)
    return xp.bincount(codes.reshape(-1), weights=gamma.reshape(-1), minlength=K * M).reshape(
        K, M)


@checked(model=MODEL, packed=PACKED_FOR_MODEL, gamma=Array(ndim=(3,)), trans=Array(ndim=(2,)))
def m_step(model, packed, gamma, trans):
    """The M-step of Baum-Welch: the new parameters from the expected counts, each row of
    counts normalised (a row of no counts keeps the model's own).

    Parameters
    ----------
    model : HMM, the current model
    packed : PackedSequences, the observations
    gamma : array (T, K, B), the posteriors e_step returns
    trans : array (K, K), the expected transitions e_step returns

    Returns
    -------
    HMM of the model's kind, on its device
    """
    xp = get_array_module(model.transmat)
    start = gamma[0].sum(axis=1)
    startprob = start / start.sum()
    transmat = trans / xp.maximum(trans.sum(axis=1, keepdims=True), 1e-300)
    transmat = xp.where(trans.sum(axis=1, keepdims=True) > 0, transmat, model.transmat)
    if model.kind == "categorical":
        counts = _emission_counts(packed, gamma, model.emissionprob.shape[1])
        total = counts.sum(axis=1, keepdims=True)
        emission = xp.where(total > 0, counts / xp.maximum(total, 1e-300), model.emissionprob)
        return HMM(startprob, transmat, emission)
    # Gaussian: the gamma-weighted mean, then the weighted mean square about it (two passes:
    # E[x^2] - mean^2 cancels to nothing for data far from 0), at least _variance_floor; both
    # about a centre, the first observation, so that data far from 0 keep their digits (and
    # identical observations give their own value back exactly). A state that no
    # observation belongs to keeps its old mean and variance, as a row of no counts keeps
    # its old probabilities above.
    centre = packed.x[0, 0]  # (D,): the first cell of the longest sequence
    x = packed.x - centre  # (T, B, D); the padding's values are multiplied by gamma = 0
    weight = gamma.sum(axis=(0, 2))[:, None]  # (K, 1)
    used = weight > SAFE_SCALE
    safe = xp.where(used, weight, 1.0)
    shift = xp.tensordot(gamma, x, axes=([0, 2], [0, 1])) / safe  # (K, D): means - centre
    diff2 = (x[:, :, None, :] - shift) ** 2  # (T, B, K, D)
    spread = (gamma.transpose(0, 2, 1)[:, :, :, None] * diff2).sum(axis=(0, 1)) / safe
    means = xp.where(used, centre + shift, model.means)
    covars = xp.where(used, xp.maximum(spread, _variance_floor(packed)), model.covars)
    return HMM(startprob, transmat, None, means, covars)


def _variance_floor(packed):
    """(D,) the smallest variance a fit gives: (64 eps m)^2 for m the data's largest magnitude
    in that feature (or 1 if all 0), 64 units in the last place of the data. The data
    resolve no smaller spread, so at any scale or offset the floor stays below every variance
    they can show; a state that collapses onto one value keeps a finite likelihood (a
    degenerate fit, whose likelihood the floor sets)."""
    if "floor" not in packed.cache:
        xp = get_array_module(packed.x)
        top = xp.abs(packed.x).max(axis=(0, 1))  # the padding, 0, changes no maximum
        top = xp.where(top > 0, top, 1.0)
        packed.cache["floor"] = (64 * np.finfo(np.float64).eps * top) ** 2
    return packed.cache["floor"]


def _learn(model, packed, max_iter, tol, step):
    """Run step(model, packed) -> (log-likelihoods, new model) up to max_iter times, stopping
    when the total gains less than tol; then score the final model."""
    xp = get_array_module(model.transmat)
    history, seconds = [], []
    begin = time.perf_counter()
    converged = False
    for _ in range(max_iter):
        ll, model = step(model, packed)
        history.append(float(ll.sum()))
        seconds.append(time.perf_counter() - begin)
        if len(history) > 1 and abs(history[-1] - history[-2]) < tol:
            converged = True
            break
    final = _score(model, packed)
    if not bool(xp.isfinite(final).all()):
        _zero_probability(final, packed.order, "the fitted model's likelihood", model.kind)
    history.append(float(final.sum()))
    seconds.append(time.perf_counter() - begin)
    return HMMFit(model, np.array(history), np.array(seconds), converged)


def _em(method):
    """One Baum-Welch iteration, (model, packed) -> (log-likelihoods, new model)."""
    def step(model, packed):
        ll, gamma, trans = e_step(model, packed, method)
        return ll, m_step(model, packed, gamma, trans)
    return step


@renamed_keywords(n_iter="max_iter")
@checked(model=MODEL, X=_sequences(resolvable=True, scale=True), lengths=LENGTHS,
         max_iter=Int(), tol=Real(low=0), method=Choice(*METHODS))
def baum_welch(model, X, lengths=None, *, max_iter=100, tol=1e-6, method="scaling"):
    """Baum-Welch (EM) from model: each iteration computes the expected counts by
    forward-backward (E-step) and sets every probability to its count over its row's total
    (M-step); for Gaussian emissions the means and variances are the posterior-weighted ones
    (a state no observation belongs to keeps its own, as a row of no counts keeps its
    probabilities; a variance is at least 64 units in the last place of the data, so that a
    state collapsed onto one value keeps a finite likelihood). The log-likelihood never
    decreases.

    Parameters
    ----------
    model : HMM, the start
    X : int array (n,) of symbols, or float array (n, D): the sequences concatenated
    lengths : int array (n_sequences,) summing to n; None: one sequence
    max_iter : int >= 1, at most this many iterations (n_iter, its old name, still works)
    tol : float >= 0, stop when the log-likelihood gains less than this in one iteration
    method : "scaling" or "log", how the E-step is computed

    Returns
    -------
    HMMFit: .model, .log_likelihoods (iterations + 1,) (the total at each E-step, then of the
    final model), .seconds, .converged. For Gaussian emissions, X is a ValueError when an
    observation lies more than 1e7 standard deviations from every state's mean of the start,
    has entries above 1e150, or spreads over less than 1e-140 (but more than 0).
    """
    return _learn(model, pack_sequences(X, lengths), max_iter, tol, _em(method))


def _categorical(model, name):
    model = MODEL(model, name, {}, None)
    if model.kind != "categorical":
        raise ValueError(f"{name} must have categorical emissions (emissionprob)")
    return model


CATEGORICAL = Custom(_categorical, device_of=_model_device)


@checked(model=CATEGORICAL, packed=PACKED_FOR_MODEL)
def logit_gradient(model, packed):
    """The gradient of the log-likelihood with respect to the softmax logits of startprob,
    transmat and emissionprob: each is the expected counts (from e_step) minus the
    probabilities times their row totals.

    Parameters
    ----------
    model : HMM with categorical emissions
    packed : PackedSequences of symbols

    Returns
    -------
    ll : array (B,), log P(x) of each packed column
    gradients : tuple of arrays (K,), (K, K), (K, M), of the total log-likelihood
    """
    ll, gamma, trans = e_step(model, packed, "scaling")
    start = gamma[0].sum(axis=1)
    g_start = start - model.startprob * start.sum()
    g_trans = trans - model.transmat * trans.sum(axis=1, keepdims=True)
    counts = _emission_counts(packed, gamma, model.emissionprob.shape[1])
    g_emit = counts - model.emissionprob * counts.sum(axis=1, keepdims=True)
    return ll, (g_start, g_trans, g_emit)


@checked(model=CATEGORICAL, X=SEQUENCES, lengths=LENGTHS)
def log_likelihood_gradient(model, X, lengths=None):
    """The gradient of the total log-likelihood with respect to the softmax logits of a
    categorical HMM (startprob = softmax(u), each row of transmat = softmax(V_i), of
    emissionprob = softmax(W_k)), from forward-backward's expected counts:
    d log P / d V_ij = xi_ij - A_ij sum_j' xi_ij' (and alike for u and W).

    Parameters
    ----------
    model : HMM with categorical emissions, all probabilities positive
    X : int array (n,) of symbols: the sequences concatenated
    lengths : int array (n_sequences,) summing to n; None: one sequence

    Returns
    -------
    log_likelihood : float, the total log P(x)
    gradients : tuple of arrays (K,), (K, K), (K, M), for the logits of startprob,
        transmat and emissionprob
    """
    ll, grads = logit_gradient(model, pack_sequences(X, lengths))
    return float(ll.sum()), grads


def _positive(model, name):
    model = _categorical(model, name)
    if bool((model.startprob <= 0).any() | (model.transmat <= 0).any()
            | (model.emissionprob <= 0).any()):
        raise ValueError(f"{name} must have every probability positive (a softmax never "
                         f"gives 0)")
    return model


@renamed_keywords(n_iter="max_iter")
@checked(model=Custom(_positive, device_of=_model_device), X=SEQUENCES, lengths=LENGTHS,
         max_iter=Int(), tol=Real(low=0), lr=Real(low=0, low_open=True))
def gradient_ascent(model, X, lengths=None, *, max_iter=100, lr=1.0, tol=0.0):
    """Gradient ascent on the log-likelihood per observation, over the softmax logits of a
    categorical HMM (the probabilities stay valid whatever the step), with the gradient of
    log_likelihood_gradient: the alternative to Baum-Welch.

    Parameters
    ----------
    model : HMM with categorical emissions, the start (probabilities positive)
    X : int array (n,) of symbols: the sequences concatenated
    lengths : int array (n_sequences,) summing to n; None: one sequence
    max_iter : int >= 1, at most this many steps (n_iter, its old name, still works)
    lr : float > 0, the learning rate per observation: each step adds lr / n times the
        gradient of the total log-likelihood (lr times that of the mean log-likelihood per
        observation), so one lr suits any amount of data
    tol : float >= 0, stop when the log-likelihood gains less than this in one step

    Returns
    -------
    HMMFit, as baum_welch's. A step so large that a probability underflows to 0 (the run
    diverges) is a ValueError naming lr.
    """
    xp = get_array_module(model.transmat)
    n = X.shape[0]
    logits = [xp.log(p) for p in (model.startprob, model.transmat, model.emissionprob)]
    steps = []

    def ascend(model, packed):
        ll, grads = logit_gradient(model, packed)
        steps.append(len(steps) + 1)
        with np.errstate(over="ignore", invalid="ignore"):
            for u, g in zip(logits, grads, strict=True):
                u += (lr / n) * g
            probs = [softmax(u, axis=-1) for u in logits]
        if not all(bool((p > 0).all()) for p in probs):  # also False for NaN
            raise ValueError(f"lr {lr:g} is too large: gradient ascent diverged at step "
                             f"{steps[-1]} (a logit moved by more than the 745 nats that a "
                             f"float64 softmax resolves); take a smaller lr")
        return ll, HMM(*probs)

    return _learn(model, pack_sequences(X, lengths), max_iter, tol, ascend)


@renamed_keywords(n_iter="max_iter")
@checked(n_states=Int(), n_symbols=Int(), n_restarts=Int(),
         X=IntArray(ndim=1, high=lambda v: v["n_symbols"]), lengths=LENGTHS, max_iter=Int(),
         tol=Real(low=0), seed=Seed())
def fit(X, lengths=None, *, n_states, n_symbols, n_restarts=5, max_iter=100, tol=1e-6, seed=0):
    """Baum-Welch from n_restarts random starts (random_hmm); the best fit by final
    log-likelihood. EM finds a local maximum only: restarts look for a better one.

    Parameters
    ----------
    X : int array (n,) of symbols in [0, n_symbols): the sequences concatenated
    lengths : int array (n_sequences,) summing to n; None: one sequence
    n_states, n_symbols : int >= 1
    n_restarts : int >= 1
    max_iter : int >= 1, iterations per restart (at most; n_iter, its old name, still works)
    tol : float >= 0
    seed : int, numpy Generator or None: the restarts' starts

    Returns
    -------
    best : HMMFit, the restart with the highest final log-likelihood
    finals : float64 array (n_restarts,), every restart's final log-likelihood
    """
    rng = rng_from(seed)
    xp = get_array_module(X)
    packed = pack_sequences(X, lengths)  # once, for every restart
    fits = [_learn(random_hmm(n_states, n_symbols, seed=rng, xp=xp), packed, max_iter, tol,
                   _em("scaling")) for _ in range(n_restarts)]
    finals = np.array([f.log_likelihoods[-1] for f in fits])
    return fits[int(np.argmax(finals))], finals


# ----------------------------------------------------------------------------- sampling


def _lengths_to_draw(lengths, name):
    lengths = np.atleast_1d(check_int_array(lengths, name, low=1, xp=np)).astype(np.int64)
    if lengths.ndim != 1:
        raise ValueError(f"{name} must be an int or 1-D, got shape {lengths.shape}")
    return lengths


@checked(model=MODEL, lengths=Custom(_lengths_to_draw), seed=Seed())
def sample(model, lengths, *, seed=0):
    """Sequences drawn from the model, all advanced together, one step at a time:
    z_1 ~ startprob, z_{t+1} ~ transmat[z_t], x_t ~ the emission of z_t (inverse-CDF sampling
    with uniforms drawn by NumPy on the host, so a seed gives the same sequences anywhere).

    Parameters
    ----------
    model : HMM
    lengths : int or int array (n_sequences,) of positive lengths
    seed : int, numpy Generator or None

    Returns
    -------
    X : int64 array (n,) of symbols, or float64 array (n, D): the sequences concatenated
    states : int64 array (n,) of hidden states
    both on the model's device (n = sum of lengths)
    """
    rng = rng_from(seed)
    xp = get_array_module(model.transmat)
    host = HMM(*(None if p is None else to_numpy(p) for p in
                 (model.startprob, model.transmat, model.emissionprob, model.means,
                  model.covars)))
    B, T = lengths.size, int(lengths.max())
    u = rng.random((T, B))
    K = model.n_states
    z = np.empty((T, B), dtype=np.int64)
    z[0] = np.minimum((u[0][:, None] >= np.cumsum(host.startprob)).sum(axis=1), K - 1)
    cdf = np.cumsum(host.transmat, axis=1)
    for t in range(1, T):
        z[t] = np.minimum((u[t][:, None] >= cdf[z[t - 1]]).sum(axis=1), K - 1)
    if model.kind == "categorical":
        v = rng.random((T, B))
        ecdf = np.cumsum(host.emissionprob, axis=1)
        x = np.minimum((v[:, :, None] >= ecdf[z]).sum(axis=2), ecdf.shape[1] - 1)
    else:
        noise = rng.standard_normal((T, B, host.means.shape[1]))
        x = host.means[z] + np.sqrt(host.covars[z]) * noise
    take = np.arange(T)[:, None] < lengths[None, :]
    order = take.T  # sequence by sequence
    X = np.swapaxes(x, 0, 1)[order]
    states = z.T[order]
    return xp.asarray(X), xp.asarray(states)
