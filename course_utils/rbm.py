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
from dataclasses import dataclass

import numpy as np

from ._checks import (
    Array,
    Custom,
    FloatDtype,
    Instance,
    Int,
    Real,
    Seed,
    Xp,
    check_array,
    check_fields,
    checked,
    rng_from,
)
from ._deprecated import renamed_keywords
from .backend import get_array_module
from .numerics import logsumexp, sigmoid, softplus

MAX_ENUMERATED = 20  # 2**20 states: the most log_partition sums over
CHUNK = 2**14  # states enumerated at once: (CHUNK, max(d, m)) arrays, whatever the size


def _biases(size_of):
    """The check of a bias vector whose length is W.shape[size_of]; the hidden biases c,
    checked last, also check that no unit's input can overflow."""
    def check(value, name, values, xp):
        bias = check_array(value, name, ndim=(1,), xp=xp)
        W = values["W"]
        if bias.shape != (W.shape[size_of],):
            d, m = W.shape
            raise ValueError(f"RBM.W has shape {W.shape}: RBM.b must have shape ({d},) and "
                             f"RBM.c ({m},), got {name} of shape {bias.shape}")
        if size_of == 1 and not _inputs_in_range(W, values["b"], bias):
            raise ValueError("rbm's parameters are too large: a unit's input overflows "
                             f"{W.dtype} (entries of RBM.W up to {float(abs(W).max()):.3g})")
        return bias
    return Custom(check, values=True, device_of=lambda bias: bias)


@dataclass(frozen=True)
class RBM:
    """The parameters of an RBM, arrays changed in place by training: W (n_visible,
    n_hidden), b (n_visible,) the visible biases, c (n_hidden,) the hidden biases (also the
    container of a CD gradient, dW, db, dc). Made by hand, its fields are checked: finite
    arrays (lists are taken) on one device, of matching shapes, small enough that no unit's
    input overflows."""

    W: object
    b: object
    c: object

    def __post_init__(self):
        check_fields(self, W=Array(ndim=(2,)), b=_biases(0), c=_biases(1))


@dataclass(frozen=True)
class RBMFit:
    """A trained RBM and its curves, one entry per epoch: reconstruction_error (mean squared
    error of v against p(v | h ~ p(h | v)) over the data), free_energy (mean F(v) over the
    data)."""

    rbm: RBM
    reconstruction_error: list
    free_energy: list


MACHINE = Instance(RBM, what="an RBM (from init_rbm or train_rbm)",
                   device_of=lambda rbm: rbm.W)


def _trainable(rbm, name):
    """rbm, whose arrays training updates in place: all of W's float dtype."""
    if not isinstance(rbm, RBM):
        raise TypeError(f"{name} must be an RBM (from init_rbm or train_rbm), got "
                        f"{type(rbm).__name__}")
    for field in ("b", "c"):
        given = getattr(rbm, field)
        if given.dtype != rbm.W.dtype:
            raise TypeError(f"{name}.{field} is updated in place, so it must be an array of "
                            f"{name}.W's dtype {rbm.W.dtype}, got {given.dtype} (make the RBM "
                            f"with init_rbm)")
    return rbm


TRAINABLE = Custom(_trainable, device_of=lambda rbm: rbm.W if isinstance(rbm, RBM) else None)


def _float_of_4_bytes_or_more(dtype, name):
    dtype = FloatDtype()(dtype, name, {}, None)
    if dtype.itemsize < 4:  # inputs become float32 at every call: the RBM must be at least that
        raise TypeError(f"{name} must be float32 or float64 (training updates the arrays in "
                        f"place), got {dtype}")
    return dtype


@checked(n_visible=Int(), n_hidden=Int(), std=Real(low=0), seed=Seed(), xp=Xp(),
         dtype=Custom(_float_of_4_bytes_or_more))
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
    rng = rng_from(seed)
    with np.errstate(over="ignore"):
        W = xp.asarray(rng.normal(0, std, (n_visible, n_hidden)), dtype=dtype)
    rbm = RBM(W, xp.zeros(n_visible, dtype=dtype), xp.zeros(n_hidden, dtype=dtype))
    if not _inputs_in_range(rbm.W, rbm.b, rbm.c):
        raise ValueError(f"std = {std:g} is too large for {dtype}: a unit's input "
                         f"overflows")
    return rbm


def _inputs_in_range(W, b, c):
    """Whether every unit's input, c + vᵀW or b + Wh for units in [0, 1], is finite: the
    largest possible, Σ|W| + |bias| along each unit, is."""
    xp = get_array_module(W)
    with np.errstate(over="ignore", invalid="ignore"):
        to_hidden = xp.abs(W).sum(axis=0) + xp.abs(c)
        to_visible = xp.abs(W).sum(axis=1) + xp.abs(b)
        return bool(xp.isfinite(to_hidden.max() + to_visible.max()))


def _finite(result, what):
    """result, or a ValueError when it overflowed (a parameter or an input too large)."""
    with np.errstate(invalid="ignore"):
        ok = bool(get_array_module(result).isfinite(result).all())
    if not ok:
        raise ValueError(f"{what} overflows: rbm's parameters or the input are too large "
                         f"for {result.dtype}")
    return result


def _units(side, ndim=(1, 2), unit_interval=False):
    """The check of an array of visible (side 0) or hidden (side 1) units, one row per
    state, the RBM being values["rbm"]; unit_interval: values in [0, 1] (data)."""
    what = ("visible", "hidden")[side]

    def check(x, name, values, xp):
        x = check_array(x, name, ndim=ndim, xp=xp)
        if unit_interval and bool(((x < 0) | (x > 1)).any()):
            raise ValueError(f"{name} must hold values in [0, 1] (binary data or "
                             f"probabilities), got values from {float(x.min()):g} to "
                             f"{float(x.max()):g}")
        size = values["rbm"].W.shape[side]
        if x.shape[-1] != size:
            raise ValueError(f"{name} has {x.shape[-1]} {what} units per row, the RBM has "
                             f"{size}")
        return x
    return Custom(check, values=True, device_of=lambda x: x)


def _data(x, name):
    x = check_array(x, name, ndim=(2,))
    if bool(((x < 0) | (x > 1)).any()):
        raise ValueError(f"{name} must hold values in [0, 1] (binary data or probabilities), "
                         f"got values from {float(x.min()):g} to {float(x.max()):g}")
    return x


@checked(rbm=MACHINE, v=_units(0), h=_units(1))
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
    if v.ndim == h.ndim == 2 and len(v) != len(h):
        raise ValueError(f"v has {len(v)} rows and h {len(h)}: give one h per v (or a single "
                         f"vector for either)")
    with np.errstate(over="ignore", invalid="ignore"):
        E = -(v @ rbm.b) - (h @ rbm.c) - ((v @ rbm.W) * h).sum(axis=-1)
    return _finite(E, "the energy")


@checked(rbm=MACHINE, v=_units(0))
def free_energy(rbm, v):
    """F(v) = -bᵀv - Σⱼ softplus(cⱼ + (vᵀW)ⱼ) = -log Σ_h exp(-E(v, h)), for each row of v.

    Parameters
    ----------
    rbm : RBM.  v : (n, n_visible) or (n_visible,), on the RBM's device.

    Returns
    -------
    array (n,) (or 0-d for one vector).
    """
    with np.errstate(over="ignore", invalid="ignore"):
        F = -(v @ rbm.b) - softplus(v @ rbm.W + rbm.c).sum(axis=-1)
    return _finite(F, "the free energy")


@checked(rbm=MACHINE, v=_units(0))
def hidden_probs(rbm, v):
    """p(hⱼ = 1 | v) = σ(cⱼ + (vᵀW)ⱼ): the RBM's features of v.

    Parameters
    ----------
    rbm : RBM.  v : (n, n_visible), on the RBM's device.

    Returns
    -------
    (n, n_hidden) array in [0, 1].
    """
    with np.errstate(over="ignore", invalid="ignore"):
        return _finite(sigmoid(v @ rbm.W + rbm.c), "a hidden unit's input")


@checked(rbm=MACHINE, h=_units(1))
def visible_probs(rbm, h):
    """p(vᵢ = 1 | h) = σ(bᵢ + (Wh)ᵢ).

    Parameters
    ----------
    rbm : RBM.  h : (n, n_hidden), on the RBM's device.

    Returns
    -------
    (n, n_visible) array in [0, 1].
    """
    with np.errstate(over="ignore", invalid="ignore"):
        return _finite(sigmoid(h @ rbm.W.T + rbm.b), "a visible unit's input")


def _bernoulli(p, rng):
    """1 where a uniform drawn by NumPy on the host falls below p (moved to p's device)."""
    xp = get_array_module(p)
    u = xp.asarray(rng.random(p.shape), dtype=p.dtype)
    return (u < p).astype(p.dtype)


@checked(rbm=MACHINE, v=_units(0, unit_interval=True), k=Int(), seed=Seed())
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
    rng = rng_from(seed)
    for _ in range(k):
        h = _bernoulli(sigmoid(v @ rbm.W + rbm.c), rng)
        v = _bernoulli(sigmoid(h @ rbm.W.T + rbm.b), rng)
    return v


@checked(rbm=MACHINE, v=_units(0, ndim=(2,), unit_interval=True), k=Int(), seed=Seed())
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
    n = len(v)
    h0 = sigmoid(v @ rbm.W + rbm.c)
    vk = gibbs_sample(rbm, v, k, seed=seed)
    hk = sigmoid(vk @ rbm.W + rbm.c)
    return RBM((v.T @ h0 - vk.T @ hk) / n, (v - vk).mean(axis=0), (h0 - hk).mean(axis=0))


@checked(rbm=MACHINE, v=_units(0, unit_interval=True), seed=Seed())
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
    rng = rng_from(seed)
    h = _bernoulli(sigmoid(v @ rbm.W + rbm.c), rng)
    r = sigmoid(h @ rbm.W.T + rbm.b) - v
    return float((r * r).mean())


@checked(rbm=TRAINABLE, X=_units(0, ndim=(2,), unit_interval=True), k=Int(),
         lr=Real(low=0, low_open=True), batch_size=Int(), seed=Seed())
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
    rng = rng_from(seed)
    xp = get_array_module(X)
    order = xp.asarray(rng.permutation(len(X)))
    for s in range(0, len(X), batch_size):
        grad = cd_gradient(rbm, X[order[s:s + batch_size]], k, seed=rng)
        for p, g in ((rbm.W, grad.W), (rbm.b, grad.b), (rbm.c, grad.c)):
            p += lr * g
    if not _inputs_in_range(rbm.W, rbm.b, rbm.c):
        raise ValueError(f"CD training diverged: the parameters left the range of "
                         f"{rbm.W.dtype} (lr = {lr:g}); lower lr")
    return rbm


@renamed_keywords(epochs="n_epochs")
@checked(X=Custom(_data, device_of=lambda X: X), n_hidden=Int(), k=Int(),
         lr=Real(low=0, low_open=True), n_epochs=Int(low=0), batch_size=Int(), seed=Seed())
def train_rbm(X, n_hidden, *, k=1, lr=0.05, n_epochs=10, batch_size=20, seed=0):
    """An RBM trained by CD-k on X, with its curves recorded after each epoch.

    Parameters
    ----------
    X : (n_samples, n_visible) in [0, 1] (binary, or grey levels read as probabilities).
    n_hidden : int >= 1.  k : int >= 1, Gibbs steps per gradient.  lr : real > 0.
    n_epochs : int >= 0, passes over X (the old keyword epochs still works, with a
        DeprecationWarning).  batch_size : int >= 1.
    seed : int >= 0, numpy Generator or None (default 0): weights, batches, Gibbs draws.

    Returns
    -------
    RBMFit (rbm, reconstruction_error, free_energy), the RBM on X's device with X's dtype.
    A ValueError naming lr when training diverges (the parameters leave the float range).
    """
    rng = rng_from(seed)
    xp = get_array_module(X)
    rbm = init_rbm(X.shape[1], n_hidden, seed=rng, xp=xp, dtype=X.dtype)
    errors, energies = [], []
    for _ in range(n_epochs):
        rbm_epoch(rbm, X, k=k, lr=lr, batch_size=batch_size, seed=rng)
        errors.append(reconstruction_error(rbm, X, seed=rng))
        energies.append(float(free_energy(rbm, X).mean()))
    return RBMFit(rbm, errors, energies)


def _all_states(n, xp, dtype, start=0, stop=None):
    """The 0/1 vectors of length n numbered start to stop - 1 in binary counting order
    (all 2ⁿ by default), (stop - start, n)."""
    stop = 2**n if stop is None else stop
    bits = (np.arange(start, stop)[:, None] >> np.arange(n - 1, -1, -1)) & 1
    return xp.asarray(bits, dtype=dtype)


def _enumerable(rbm, name):
    rbm = MACHINE(rbm, name, {}, None)
    if min(rbm.W.shape) > MAX_ENUMERATED:
        raise ValueError(f"{name} is too large to enumerate: min(n_visible, n_hidden) = "
                         f"{min(rbm.W.shape)} > {MAX_ENUMERATED}")
    return rbm


ENUMERABLE = Custom(_enumerable, device_of=lambda rbm: rbm.W if isinstance(rbm, RBM) else None)


@checked(rbm=ENUMERABLE)
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
    xp = get_array_module(rbm.W)
    d, m = rbm.W.shape
    n = min(d, m)
    parts = []
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, 2**n, CHUNK):
            states = _all_states(n, xp, rbm.W.dtype, start, min(2**n, start + CHUNK))
            if d <= m:  # Σ_v exp(-F(v))
                terms = -free_energy(rbm, states)
            else:  # Σ_h exp(cᵀh + Σᵢ softplus(bᵢ + (Wh)ᵢ))
                terms = states @ rbm.c + softplus(states @ rbm.W.T + rbm.b).sum(axis=1)
            parts.append(logsumexp(terms, 0))
        log_Z = float(logsumexp(xp.stack(parts), 0))
    if not math.isfinite(log_Z):
        raise ValueError(f"log Z overflows: rbm's parameters are too large for "
                         f"{rbm.W.dtype}")
    return log_Z


@checked(rbm=ENUMERABLE, v=_units(0))
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
    if not bool(((v == 0) | (v == 1)).all()):
        raise ValueError("v must hold 0/1 states: log p(v) is defined for binary v only")
    return -free_energy(rbm, v) - log_partition(rbm)
