"""Bernoulli-Bernoulli restricted Boltzmann machines: energy, free energy, Gibbs sampling,
contrastive divergence (CD-k), and, for models small enough, the exact partition function.

Visible units v ∈ {0, 1}ᵈ, hidden units h ∈ {0, 1}ᵐ, parameters W (d, m), b (d,), c (m,):

    E(v, h) = -bᵀv - cᵀh - vᵀWh,        p(v, h) = exp(-E(v, h)) / Z,
    F(v) = -log Σ_h exp(-E(v, h)) = -bᵀv - Σⱼ log(1 + exp(cⱼ + (vᵀW)ⱼ)),  p(v) = exp(-F(v)) / Z,
    p(hⱼ = 1 | v) = σ(cⱼ + (vᵀW)ⱼ),     p(vᵢ = 1 | h) = σ(bᵢ + (Wh)ᵢ).

scikit-learn's BernoulliRBM has the same conventions (its components_ is Wᵀ,
intercept_visible_ b, intercept_hidden_ c). Every function follows its data: NumPy in,
NumPy out; CuPy in, CuPy out. Random numbers (initial weights, Gibbs draws, batch order) are
drawn by NumPy on the host and moved, so a seed gives the same chain on the CPU and the GPU.
"""

import math
from typing import NamedTuple

import numpy as np

from ._checks import (
    check_array,
    check_float_dtype,
    check_int,
    check_real,
    check_xp,
    rng_from,
)
from .backend import get_array_module
from .density import _logsumexp
from .nn import _sigmoid

MAX_ENUMERATED = 20  # 2**20 states: the most log_partition sums over
CHUNK = 2**14  # states enumerated at once: (CHUNK, max(d, m)) arrays, whatever the size


class RBM(NamedTuple):
    """The parameters of an RBM, arrays changed in place by training: W (n_visible,
    n_hidden), b (n_visible,) the visible biases, c (n_hidden,) the hidden biases."""

    W: object
    b: object
    c: object


class RBMFit(NamedTuple):
    """A trained RBM and its curves, one entry per epoch: reconstruction_error (mean squared
    error of v against p(v | h ~ p(h | v)) over the data), free_energy (mean F(v) over the
    data)."""

    rbm: RBM
    reconstruction_error: list
    free_energy: list


def _softplus(x):
    """log(1 + eˣ) without overflow: max(x, 0) + log1p(e^-|x|)."""
    xp = get_array_module(x)
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


def init_rbm(n_visible, n_hidden, *, std=0.01, seed=0, xp=None, dtype=np.float64):
    """A new RBM: W ~ N(0, std²) drawn by NumPy from seed, biases 0, on xp's device.

    Parameters
    ----------
    n_visible, n_hidden : int >= 1.  std : real >= 0, small enough that every unit's input
        stays in dtype's range.
    seed : int >= 0, numpy Generator or None (default 0).
    xp : numpy, cupy or None (the current device).  dtype : float32 or float64 (default).

    Returns
    -------
    RBM (W (n_visible, n_hidden), b (n_visible,), c (n_hidden,)).
    """
    n_visible = check_int(n_visible, "n_visible")
    n_hidden = check_int(n_hidden, "n_hidden")
    std = check_real(std, "std", low=0)
    dtype = check_float_dtype(dtype)
    if dtype.itemsize < 4:  # inputs become float32 at every call: the RBM must be at least that
        raise TypeError(f"dtype must be float32 or float64 (training updates the arrays in "
                        f"place), got {dtype}")
    rng = rng_from(seed)
    xp = check_xp(xp)
    with np.errstate(over="ignore"):
        W = xp.asarray(rng.normal(0, std, (n_visible, n_hidden)), dtype=dtype)
    rbm = RBM(W, xp.zeros(n_visible, dtype=dtype), xp.zeros(n_hidden, dtype=dtype))
    if not _inputs_in_range(rbm):
        raise ValueError(f"std = {std:g} is too large for {dtype}: a unit's input "
                         f"overflows")
    return rbm


def _check_rbm(rbm, in_place=False):
    """rbm as an RBM of finite float arrays on one device, W (d, m), b (d,), c (m,), whose
    units' inputs cannot overflow for units in [0, 1]. Lists are taken (as arrays), except
    where the arrays are updated in place (in_place): there each must already be a float32
    or float64 array."""
    if not isinstance(rbm, RBM):
        raise TypeError(f"rbm must be an RBM (from init_rbm or train_rbm), got "
                        f"{type(rbm).__name__}")
    W = check_array(rbm.W, "rbm.W", ndim=(2,))
    xp = get_array_module(W)
    b = check_array(rbm.b, "rbm.b", ndim=(1,), xp=xp)
    c = check_array(rbm.c, "rbm.c", ndim=(1,), xp=xp)
    d, m = W.shape
    if b.shape != (d,) or c.shape != (m,):
        raise ValueError(f"rbm.W has shape {W.shape}: rbm.b must have shape ({d},) and rbm.c "
                         f"({m},), got {b.shape} and {c.shape}")
    if in_place:
        for name, given, checked in (("W", rbm.W, W), ("b", rbm.b, b), ("c", rbm.c, c)):
            if checked is not given or (given.dtype != W.dtype):
                raise TypeError(f"rbm.{name} is updated in place, so it must be a float32 or "
                                f"float64 array of rbm.W's dtype, got {type(given).__name__}"
                                f"{' of ' + str(given.dtype) if hasattr(given, 'dtype') else ''}"
                                f" (make the RBM with init_rbm)")
    checked = RBM(W, b, c)
    if not _inputs_in_range(checked):
        raise ValueError("rbm's parameters are too large: a unit's input overflows "
                         f"{W.dtype} (entries of rbm.W up to {float(abs(W).max()):.3g})")
    return checked


def _inputs_in_range(rbm):
    """Whether every unit's input, c + vᵀW or b + Wh for units in [0, 1], is finite: the
    largest possible, Σ|W| + |bias| along each unit, is."""
    xp = get_array_module(rbm.W)
    with np.errstate(over="ignore", invalid="ignore"):
        to_hidden = xp.abs(rbm.W).sum(axis=0) + xp.abs(rbm.c)
        to_visible = xp.abs(rbm.W).sum(axis=1) + xp.abs(rbm.b)
        return bool(xp.isfinite(to_hidden.max() + to_visible.max()))


def _finite(result, what):
    """result, or a ValueError when it overflowed (a parameter or an input too large)."""
    with np.errstate(invalid="ignore"):
        ok = bool(get_array_module(result).isfinite(result).all())
    if not ok:
        raise ValueError(f"{what} overflows: rbm's parameters or the input are too large "
                         f"for {result.dtype}")
    return result


def _check_units(x, name, rbm, axis_size, what):
    x = check_array(x, name, ndim=(1, 2), xp=get_array_module(rbm.W))
    if x.shape[-1] != axis_size:
        raise ValueError(f"{name} has {x.shape[-1]} {what} units per row, the RBM has "
                         f"{axis_size}")
    return x


def _check_visible(v, rbm, name="v"):
    return _check_units(v, name, rbm, rbm.W.shape[0], "visible")


def energy(rbm, v, h):
    """E(v, h) = -bᵀv - cᵀh - vᵀWh for each row of v and h.

    Parameters
    ----------
    rbm : RBM.  v : (n, n_visible) or (n_visible,).  h : (n, n_hidden) or (n_hidden,);
        usually 0/1, any real values accepted. On the RBM's device.

    Returns
    -------
    array (n,) (or 0-d for single vectors).
    """
    rbm = _check_rbm(rbm)
    v = _check_visible(v, rbm)
    h = _check_units(h, "h", rbm, rbm.W.shape[1], "hidden")
    if v.ndim == h.ndim == 2 and len(v) != len(h):
        raise ValueError(f"v has {len(v)} rows and h {len(h)}: give one h per v (or a single "
                         f"vector for either)")
    with np.errstate(over="ignore", invalid="ignore"):
        E = -(v @ rbm.b) - (h @ rbm.c) - ((v @ rbm.W) * h).sum(axis=-1)
    return _finite(E, "the energy")


def free_energy(rbm, v):
    """F(v) = -bᵀv - Σⱼ softplus(cⱼ + (vᵀW)ⱼ) = -log Σ_h exp(-E(v, h)), for each row of v.

    Parameters
    ----------
    rbm : RBM.  v : (n, n_visible) or (n_visible,), on the RBM's device.

    Returns
    -------
    array (n,) (or 0-d for one vector).
    """
    rbm = _check_rbm(rbm)
    v = _check_visible(v, rbm)
    with np.errstate(over="ignore", invalid="ignore"):
        return _finite(_free_energy(rbm, v), "the free energy")


def _free_energy(rbm, v):
    return -(v @ rbm.b) - _softplus(v @ rbm.W + rbm.c).sum(axis=-1)


def hidden_probs(rbm, v):
    """p(hⱼ = 1 | v) = σ(cⱼ + (vᵀW)ⱼ): the RBM's features of v.

    Parameters
    ----------
    rbm : RBM.  v : (n, n_visible), on the RBM's device.

    Returns
    -------
    (n, n_hidden) array in [0, 1].
    """
    rbm = _check_rbm(rbm)
    v = _check_visible(v, rbm)
    with np.errstate(over="ignore", invalid="ignore"):
        return _finite(_sigmoid(v @ rbm.W + rbm.c), "a hidden unit's input")


def visible_probs(rbm, h):
    """p(vᵢ = 1 | h) = σ(bᵢ + (Wh)ᵢ).

    Parameters
    ----------
    rbm : RBM.  h : (n, n_hidden), on the RBM's device.

    Returns
    -------
    (n, n_visible) array in [0, 1].
    """
    rbm = _check_rbm(rbm)
    h = _check_units(h, "h", rbm, rbm.W.shape[1], "hidden")
    with np.errstate(over="ignore", invalid="ignore"):
        return _finite(_sigmoid(h @ rbm.W.T + rbm.b), "a visible unit's input")


def _bernoulli(p, rng):
    """1 where a uniform drawn by NumPy on the host falls below p (moved to p's device)."""
    xp = get_array_module(p)
    u = xp.asarray(rng.random(p.shape), dtype=p.dtype)
    return (u < p).astype(p.dtype)


def _gibbs(rbm, v, k, rng):
    """k steps v → h → v; returns (v_k, p(h | v_k)), v_k sampled, the last h as probabilities."""
    for _ in range(k):
        h = _bernoulli(_sigmoid(v @ rbm.W + rbm.c), rng)
        v = _bernoulli(_sigmoid(h @ rbm.W.T + rbm.b), rng)
    return v, _sigmoid(v @ rbm.W + rbm.c)


def _check_k(k):
    return check_int(k, "k", low=1)


def gibbs_sample(rbm, v, k=1, *, seed=0):
    """k steps of block Gibbs sampling from v: h ~ p(h | v), then v ~ p(v | h), k times.

    Parameters
    ----------
    rbm : RBM.  v : (n, n_visible) or (n_visible,) starting states in [0, 1] (0/1, or
        probabilities taken as given), on the RBM's device.
    k : int >= 1, the number of steps.
    seed : int >= 0, numpy Generator or None (default 0).

    Returns
    -------
    (n, n_visible) array of 0/1: the states after k steps.
    """
    rbm = _check_rbm(rbm)
    v = _check_visible(_check_data(v, "v", ndim=(1, 2)), rbm)
    return _gibbs(rbm, v, _check_k(k), rng_from(seed))[0]


def cd_gradient(rbm, v, k=1, *, seed=0):
    """The CD-k estimate of the gradient of the mean log-likelihood: data statistics minus
    statistics after k Gibbs steps started at the data,

        ∂/∂W ≈ ⟨v p(h|v)ᵀ⟩_data - ⟨v_k p(h|v_k)ᵀ⟩,
        ∂/∂b ≈ ⟨v⟩ - ⟨v_k⟩,  ∂/∂c ≈ ⟨p(h|v)⟩ - ⟨p(h|v_k)⟩.

    Parameters
    ----------
    rbm : RBM.  v : (n, n_visible) data batch in [0, 1], on the RBM's device.
    k : int >= 1.  seed : int >= 0, numpy Generator or None (default 0).

    Returns
    -------
    RBM of gradients (dW, db, dc), shapes as the parameters (ascend them to learn).
    """
    rbm = _check_rbm(rbm)
    v = _check_visible(_check_data(v, "v"), rbm)
    return _cd_gradient(rbm, v, _check_k(k), rng_from(seed))


def _cd_gradient(rbm, v, k, rng):
    n = len(v)
    h0 = _sigmoid(v @ rbm.W + rbm.c)
    vk, hk = _gibbs(rbm, v, k, rng)
    return RBM((v.T @ h0 - vk.T @ hk) / n, (v - vk).mean(axis=0), (h0 - hk).mean(axis=0))


def reconstruction_error(rbm, v, *, seed=0):
    """Mean squared error between v and its one-step reconstruction p(v | h), h ~ p(h | v).

    Parameters
    ----------
    rbm : RBM.  v : (n, n_visible) in [0, 1], on the RBM's device.
    seed : int >= 0, numpy Generator or None (default 0).

    Returns
    -------
    float: mean over entries of (v - p(v | h))².
    """
    rbm = _check_rbm(rbm)
    v = _check_visible(_check_data(v, "v", ndim=(1, 2)), rbm)
    return _reconstruction_error(rbm, v, rng_from(seed))


def _reconstruction_error(rbm, v, rng):
    h = _bernoulli(_sigmoid(v @ rbm.W + rbm.c), rng)
    r = _sigmoid(h @ rbm.W.T + rbm.b) - v
    return float((r * r).mean())


def _check_data(X, name="X", ndim=(2,)):
    X = check_array(X, name, ndim=ndim)
    if bool(((X < 0) | (X > 1)).any()):
        raise ValueError(f"{name} must hold values in [0, 1] (binary data or probabilities), "
                         f"got values from {float(X.min()):g} to {float(X.max()):g}")
    return X


def rbm_epoch(rbm, X, *, k=1, lr=0.05, batch_size=20, seed=0):
    """One pass of CD-k over X in shuffled mini-batches, updating rbm in place:
    θ ← θ + lr · (CD-k gradient of the batch).

    Parameters
    ----------
    rbm : RBM.  X : (n_samples, n_visible) in [0, 1], on the RBM's device.
    k : int >= 1.  lr : real > 0.  batch_size : int >= 1.
    seed : int >= 0, numpy Generator or None (default 0): batch order and Gibbs draws.

    Returns
    -------
    RBM: the same rbm, its arrays updated (float arrays, as init_rbm makes them). A
    ValueError naming lr when the parameters grow out of the float range (divergence).
    """
    _check_rbm(rbm, in_place=True)
    X = _check_visible(_check_data(X), rbm, "X")
    k = _check_k(k)
    lr = check_real(lr, "lr", low=0, low_open=True)
    batch_size = check_int(batch_size, "batch_size")
    _rbm_epoch(rbm, X, k, lr, batch_size, rng_from(seed))
    _check_diverged(rbm, lr)
    return rbm


def _check_diverged(rbm, lr):
    if not _inputs_in_range(rbm):
        raise ValueError(f"CD training diverged: the parameters left the range of "
                         f"{rbm.W.dtype} (lr = {lr:g}); lower lr")


def _rbm_epoch(rbm, X, k, lr, batch_size, rng):
    xp = get_array_module(X)
    order = xp.asarray(rng.permutation(len(X)))
    for s in range(0, len(X), batch_size):
        grad = _cd_gradient(rbm, X[order[s:s + batch_size]], k, rng)
        for p, g in zip(rbm, grad, strict=True):
            p += lr * g
    return rbm


def train_rbm(X, n_hidden, *, k=1, lr=0.05, epochs=10, batch_size=20, seed=0):
    """An RBM trained by CD-k on X, with its curves recorded after each epoch.

    Parameters
    ----------
    X : (n_samples, n_visible) in [0, 1] (binary, or grey levels read as probabilities).
    n_hidden : int >= 1.  k : int >= 1, Gibbs steps per gradient.  lr : real > 0.
    epochs : int >= 0.  batch_size : int >= 1.
    seed : int >= 0, numpy Generator or None (default 0): weights, batches, Gibbs draws.

    Returns
    -------
    RBMFit (rbm, reconstruction_error, free_energy), the RBM on X's device with X's dtype.
    A ValueError naming lr when training diverges (the parameters leave the float range).
    """
    X = _check_data(X)
    n_hidden = check_int(n_hidden, "n_hidden")
    k = _check_k(k)
    lr = check_real(lr, "lr", low=0, low_open=True)
    epochs = check_int(epochs, "epochs", low=0)
    batch_size = check_int(batch_size, "batch_size")
    rng = rng_from(seed)
    xp = get_array_module(X)
    rbm = init_rbm(X.shape[1], n_hidden, seed=rng, xp=xp, dtype=X.dtype)
    errors, energies = [], []
    for _ in range(epochs):
        _rbm_epoch(rbm, X, k, lr, batch_size, rng)
        _check_diverged(rbm, lr)
        errors.append(_reconstruction_error(rbm, X, rng))
        energies.append(float(_free_energy(rbm, X).mean()))
    return RBMFit(rbm, errors, energies)


def _all_states(n, xp, dtype, start=0, stop=None):
    """The 0/1 vectors of length n numbered start to stop - 1 in binary counting order
    (all 2ⁿ by default), (stop - start, n)."""
    stop = 2**n if stop is None else stop
    bits = (np.arange(start, stop)[:, None] >> np.arange(n - 1, -1, -1)) & 1
    return xp.asarray(bits, dtype=dtype)


def log_partition(rbm):
    """log Z = log Σ_{v,h} exp(-E(v, h)), exactly: the sum over h of the hidden side's
    free energy (or over v, whichever side is smaller), by log-sum-exp. 2^min(d, m) terms,
    CHUNK states at a time (memory (CHUNK, max(d, m)), whatever the RBM's size).

    Parameters
    ----------
    rbm : RBM with min(n_visible, n_hidden) <= 20.

    Returns
    -------
    float.
    """
    rbm = _check_rbm(rbm)
    d, m = rbm.W.shape
    if min(d, m) > MAX_ENUMERATED:
        raise ValueError(f"rbm is too large to enumerate: min(n_visible, n_hidden) = "
                         f"{min(d, m)} > {MAX_ENUMERATED}")
    with np.errstate(over="ignore", invalid="ignore"):
        log_Z = _log_partition(rbm)
    if not math.isfinite(log_Z):
        raise ValueError(f"log Z overflows: rbm's parameters are too large for "
                         f"{rbm.W.dtype}")
    return log_Z


def _log_partition(rbm):
    xp = get_array_module(rbm.W)
    d, m = rbm.W.shape
    n = min(d, m)
    parts = []
    for start in range(0, 2**n, CHUNK):
        states = _all_states(n, xp, rbm.W.dtype, start, min(2**n, start + CHUNK))
        if d <= m:  # Σ_v exp(-F(v))
            terms = -_free_energy(rbm, states)
        else:  # Σ_h exp(cᵀh + Σᵢ softplus(bᵢ + (Wh)ᵢ))
            terms = states @ rbm.c + _softplus(states @ rbm.W.T + rbm.b).sum(axis=1)
        parts.append(_logsumexp(terms, 0))
    return float(_logsumexp(xp.stack(parts), 0))


def log_likelihood(rbm, v):
    """The exact log p(v) = -F(v) - log Z of each row of v (enumerates 2^min(d, m) states).

    Parameters
    ----------
    rbm : RBM with min(n_visible, n_hidden) <= 20.  v : (n, n_visible) or (n_visible,) of
        0/1 (a probability is defined for binary states only), on the RBM's device.

    Returns
    -------
    array (n,) (or 0-d) of log-probabilities (<= 0).
    """
    rbm = _check_rbm(rbm)
    v = _check_visible(v, rbm)
    if not bool(((v == 0) | (v == 1)).all()):
        raise ValueError("v must hold 0/1 states: log p(v) is defined for binary v only")
    with np.errstate(over="ignore", invalid="ignore"):
        F = _finite(_free_energy(rbm, v), "the free energy")
    return -F - log_partition(rbm)
