"""The gradient-descent family, each update written as PyTorch's torch.optim documents it.

An optimizer holds a list of parameter arrays θ and updates them in place:
``opt = Adam(params, lr=1e-3)``, then ``opt.step(grads)`` once per (mini-)batch with the
gradients g = ∇L(θ) in the same order. t counts the steps from 1. Weight decay λ adds λθ to
g first (L2 regularisation, as in torch.optim, not AdamW's decoupled decay). NumPy or CuPy
arrays alike: the state lives on the parameters' device, all parameters share one device, and
a gradient on another device raises DeviceMismatchError naming it (never a silent copy).

Parameters must be float arrays, 0-d ones included (a NumPy scalar such as np.float64(1.0)
cannot be updated in place and is refused). Adagrad, RMSprop and Adam square the gradient; so
that g² never overflows (which would make the step g / √v = g / inf = 0), they first clip each
entry of g to ±G, G = 2⁻¹⁰ √(largest float) (1.3e151 in float64, 1.8e16 in float32). Their
steps are invariant to the gradient's scale but for ε, so a gradient of 1e200 still gives a
step of about lr; a gradient that large is a bug upstream, and it no longer freezes training.
"""

import math

import numpy as np

from ._checks import Bool, Custom, Real, check_device, check_real, checked
from .backend import get_array_module, is_cupy_array


def _is_array(x):
    return isinstance(x, get_array_module(x).ndarray) or is_cupy_array(x)


def _check_params(params, name):
    """params as a list of distinct, writeable float arrays on one device."""
    try:
        params = list(params)
    except TypeError:
        raise TypeError(f"{name} must be an iterable of float arrays, got "
                        f"{type(params).__name__}") from None
    if not params:
        raise ValueError(f"{name} is empty: give the list of arrays to optimize")
    for i, p in enumerate(params):
        if not _is_array(p) or p.dtype.kind != "f":
            kind = (f"a NumPy scalar ({type(p).__name__}), which cannot change in place: "
                    f"use a 0-d array, np.array(x)" if hasattr(p, "dtype") and not _is_array(p)
                    else f"{type(p).__name__} of dtype {getattr(p, 'dtype', None)}")
            raise TypeError(f"{name}[{i}] must be a float array (updated in place), got {kind}")
        check_device(p, f"{name}[{i}]", get_array_module(params[0]))
        flags = getattr(p, "flags", None)
        if flags is not None and not getattr(flags, "writeable", True):
            raise ValueError(f"{name}[{i}] is read-only; it must be updated in place")
        if any(p is q for q in params[:i]):
            raise ValueError(f"{name}[{i}] appears twice in {name} (it would be updated twice)")
    return params


def _check_grads(grads, name, values, xp):
    """grads as a list of real arrays, one per parameter of the optimizer values["self"], on
    the parameters' device and of their shapes (a NumPy scalar, as 2 * θ gives for a 0-d θ,
    becomes a 0-d array)."""
    params = values["self"].params
    grads = list(grads)
    if len(grads) != len(params):
        raise ValueError(f"{name} must hold one gradient per parameter: got {len(grads)} "
                         f"for {len(params)} parameters")
    xp = get_array_module(params[0])
    for i, (p, g) in enumerate(zip(params, grads, strict=True)):
        check_device(g, f"{name}[{i}]", xp)
        if isinstance(g, np.generic) and xp is np:  # 2 * θ is a scalar when θ is 0-d
            grads[i] = g = np.asarray(g)
        if not _is_array(g) or g.dtype.kind not in "fiu":
            raise TypeError(f"{name}[{i}] must be a real array, got "
                            f"{type(g).__name__} of dtype {getattr(g, 'dtype', None)}")
        if g.shape != p.shape:
            raise ValueError(f"{name}[{i}] has shape {g.shape}, params[{i}] has {p.shape}")
    return grads


class Optimizer:
    """Holds the parameters; subclasses define update(state, θ, g) for each parameter θ, its
    gradient g and its state (a dict of arrays on θ's device, created at the first step).

    Parameters
    ----------
    params : iterable of float arrays (any shape, 0-d included), all on one device; updated
        in place.
    lr : float > 0, the learning rate γ (may be changed between steps: ``opt.lr = 0.01``).
    weight_decay : float >= 0, λ.
    """

    @checked(params=Custom(_check_params), lr=Real(low=0, low_open=True),
             weight_decay=Real(low=0))
    def __init__(self, params, lr, weight_decay):
        self.params = list(params)
        self.lr = lr
        self.weight_decay = weight_decay
        self.t = 0
        self.state = [{} for _ in self.params]

    @property
    def lr(self):
        """The learning rate γ, a finite float > 0 (checked whenever it is set)."""
        return self._lr

    @lr.setter
    @checked(lr=Real(low=0, low_open=True))
    def lr(self, lr):
        self._lr = lr

    @checked(grads=Custom(_check_grads, values=True))
    def step(self, grads):
        """One update of every parameter, in place, from its gradient (on its device).

        Parameters
        ----------
        grads : iterable of arrays, one per parameter, in the order of params, each of its
            parameter's shape.

        Returns
        -------
        None; the parameters are changed in place and t grows by 1.
        """
        self.t += 1
        for i, (p, g) in enumerate(zip(self.params, grads, strict=True)):
            if self.weight_decay:
                g = g + self.weight_decay * p
            self.update(self.state[i], p, g)

    def __repr__(self):
        settings = ", ".join(f"{k.lstrip('_')}={v}" for k, v in vars(self).items()
                             if k not in ("params", "state", "t"))
        return f"{type(self).__name__}({settings})"


def _clipped(g):
    """g with each entry clipped to ±G, G = 2⁻¹⁰ √(largest float), so that g² (and a sum of
    up to 2²⁰ of them, Adagrad's) stays finite."""
    bound = math.sqrt(np.finfo(g.dtype).max) / 1024
    return get_array_module(g).clip(g, -bound, bound)


def _check_nesterov(nesterov, name, values, xp):
    """nesterov as a bool, True only with momentum > 0 and no dampening."""
    nesterov = Bool()(nesterov, name, values, xp)
    if nesterov and (values["momentum"] == 0 or values["dampening"] != 0):
        raise ValueError("nesterov=True needs momentum > 0 and dampening = 0")
    return nesterov


class SGD(Optimizer):
    """Gradient descent, with optional (Nesterov) momentum μ and dampening τ.

    b₁ = g, then b_t = μ b_{t-1} + (1 - τ) g;  g ← g + μ b_t (Nesterov) or g ← b_t;
    θ ← θ - γ g. With μ = 0: θ ← θ - γ g, plain gradient descent.

    Parameters
    ----------
    params : iterable of float arrays, updated in place.
    lr : float > 0.  momentum : float in [0, 1).  dampening : float in [0, 1].
    nesterov : bool (needs momentum > 0 and dampening 0).  weight_decay : float >= 0.
    """

    @checked(params=Custom(_check_params), lr=Real(low=0, low_open=True),
             weight_decay=Real(low=0), momentum=Real(low=0, high=1, high_open=True),
             dampening=Real(low=0, high=1), nesterov=Custom(_check_nesterov, values=True))
    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, nesterov=False,
                 weight_decay=0.0):
        super().__init__(params, lr, weight_decay)
        self.momentum, self.dampening, self.nesterov = momentum, dampening, nesterov

    def update(self, state, p, g):
        if self.momentum:
            if "b" not in state:
                state["b"] = g.copy()
            else:
                state["b"] *= self.momentum
                state["b"] += (1 - self.dampening) * g
            g = g + self.momentum * state["b"] if self.nesterov else state["b"]
        p -= self.lr * g


class Adagrad(Optimizer):
    """s_t = s_{t-1} + g²;  θ ← θ - γ̃ g / (√s_t + ε), γ̃ = γ / (1 + (t - 1) η) (lr_decay η).

    g is clipped first (see the module's note), so that g² never overflows.

    Parameters
    ----------
    params : iterable of float arrays, updated in place.
    lr : float > 0.  lr_decay : float >= 0.  eps : float > 0.  weight_decay : float >= 0.
    initial_accumulator_value : float >= 0, s₀.
    """

    @checked(params=Custom(_check_params), lr=Real(low=0, low_open=True),
             weight_decay=Real(low=0), lr_decay=Real(low=0), eps=Real(low=0, low_open=True),
             initial_accumulator_value=Real(low=0))
    def __init__(self, params, lr=1e-2, lr_decay=0.0, eps=1e-10, weight_decay=0.0,
                 initial_accumulator_value=0.0):
        super().__init__(params, lr, weight_decay)
        self.lr_decay, self.eps = lr_decay, eps
        self.initial_accumulator_value = initial_accumulator_value

    def update(self, state, p, g):
        xp = get_array_module(p)
        if "s" not in state:
            state["s"] = xp.full_like(p, self.initial_accumulator_value)
        g = _clipped(g)
        state["s"] += g * g
        lr = self.lr / (1 + (self.t - 1) * self.lr_decay)
        p -= lr * g / (xp.sqrt(state["s"]) + self.eps)


class RMSprop(Optimizer):
    """v_t = α v_{t-1} + (1 - α) g²;  with momentum μ: b_t = μ b_{t-1} + g / (√v_t + ε),
    θ ← θ - γ b_t; without: θ ← θ - γ g / (√v_t + ε). v₀ = b₀ = 0.

    g is clipped first (see the module's note), so that g² never overflows.

    Parameters
    ----------
    params : iterable of float arrays, updated in place.
    lr : float > 0.  alpha : float in [0, 1].  eps : float > 0.  weight_decay : float >= 0.
    momentum : float in [0, 1).
    """

    @checked(params=Custom(_check_params), lr=Real(low=0, low_open=True),
             weight_decay=Real(low=0), alpha=Real(low=0, high=1), eps=Real(low=0, low_open=True),
             momentum=Real(low=0, high=1, high_open=True))
    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0):
        super().__init__(params, lr, weight_decay)
        self.alpha, self.eps, self.momentum = alpha, eps, momentum

    def update(self, state, p, g):
        xp = get_array_module(p)
        if "v" not in state:
            state["v"] = xp.zeros_like(p)
            state["b"] = xp.zeros_like(p)
        g = _clipped(g)
        state["v"] *= self.alpha
        state["v"] += (1 - self.alpha) * g * g
        step = g / (xp.sqrt(state["v"]) + self.eps)
        if self.momentum:
            state["b"] *= self.momentum
            state["b"] += step
            step = state["b"]
        p -= self.lr * step


def _check_betas(betas, name):
    """betas as a pair of floats in [0, 1)."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"{name} must be a pair (beta1, beta2), got {betas!r}")
    return tuple(check_real(b, f"{name}[{i}]", low=0, high=1, high_open=True)
                 for i, b in enumerate(betas))


class Adam(Optimizer):
    """m_t = β₁ m_{t-1} + (1 - β₁) g;  v_t = β₂ v_{t-1} + (1 - β₂) g²;  m₀ = v₀ = 0;
    m̂ = m_t / (1 - β₁ᵗ), v̂ = v_t / (1 - β₂ᵗ);  θ ← θ - γ m̂ / (√v̂ + ε).

    g is clipped first (see the module's note), so that g² never overflows.

    Parameters
    ----------
    params : iterable of float arrays, updated in place.
    lr : float > 0.  betas : pair of floats in [0, 1).  eps : float > 0.
    weight_decay : float >= 0.
    """

    @checked(params=Custom(_check_params), lr=Real(low=0, low_open=True),
             weight_decay=Real(low=0), betas=Custom(_check_betas), eps=Real(low=0, low_open=True))
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr, weight_decay)
        self.betas, self.eps = tuple(betas), eps

    def update(self, state, p, g):
        xp = get_array_module(p)
        if "m" not in state:
            state["m"], state["v"] = xp.zeros_like(p), xp.zeros_like(p)
        beta1, beta2 = self.betas
        g = _clipped(g)
        state["m"] *= beta1
        state["m"] += (1 - beta1) * g
        state["v"] *= beta2
        state["v"] += (1 - beta2) * g * g
        m_hat = state["m"] / (1 - beta1**self.t)
        v_hat = state["v"] / (1 - beta2**self.t)
        p -= self.lr * m_hat / (xp.sqrt(v_hat) + self.eps)


def _check_grad_list(grads, name):
    """grads as a non-empty list of writeable float arrays on one device."""
    if isinstance(grads, np.ndarray) or is_cupy_array(grads):
        raise TypeError(f"{name} must be a list of arrays, got one array: pass [g]")
    try:
        grads = list(grads)
    except TypeError:
        raise TypeError(f"{name} must be a list of float arrays, got {type(grads).__name__}") \
            from None
    if not grads:
        raise ValueError(f"{name} is empty")
    xp = get_array_module(grads[0])
    for i, g in enumerate(grads):
        check_device(g, f"{name}[{i}]", xp)
        if not _is_array(g) or g.dtype.kind != "f":
            raise TypeError(f"{name}[{i}] must be a float array, got {type(g).__name__}"
                            f"{f' of dtype {g.dtype}' if _is_array(g) else ''}")
        if not getattr(getattr(g, "flags", None), "writeable", True):
            raise ValueError(f"{name}[{i}] is read-only; clip_grad_norm scales it in place")
    return grads


def _check_max_norm(max_norm, name):
    """max_norm as a float > 0, or math.inf (measure the norm, clip nothing)."""
    return max_norm if max_norm == math.inf else check_real(max_norm, name, low=0,
                                                            low_open=True)


@checked(grads=Custom(_check_grad_list), max_norm=Custom(_check_max_norm))
def clip_grad_norm(grads, max_norm):
    """Scale the gradients in place so that their global norm, √(Σ ‖g‖²) over all of them,
    is at most max_norm (as torch.nn.utils.clip_grad_norm_); return the norm before clipping.

    Where squaring would overflow (entries of 1e200, or 1e20 in float32) or underflow
    (1e-200), the norm is taken of the gradients divided by their largest |entry| m, then
    times m: the norm and the clipping are right for any finite gradients, in every float
    dtype (the sums in float64).

    Parameters
    ----------
    grads : list (or other iterable) of float arrays on one device, changed in place.
    max_norm : float > 0, or math.inf to measure the norm and clip nothing.

    Returns
    -------
    float: the global norm before clipping; inf when it exceeds the float64 range (the
    gradients are clipped all the same), and nan or inf when a gradient holds NaN or inf
    (the gradients are then left as they are: a diverged step, for the caller to stop).
    """
    grads = [g for g in grads if g.size]
    if not grads:
        return 0.0
    xp = get_array_module(grads[0])
    infos = [np.finfo(g.dtype) for g in grads]
    tiny = max(float(info.tiny) for info in infos)  # the smallest normal number of every dtype
    peak = None
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        total = _sum64(xp, [g * g for g in grads])
        # Squares summed straight when no square can have overflowed and any that underflowed
        # weigh less than a rounding error; else divided by the largest |entry| m first.
        if not max(float(info.tiny / info.eps) for info in infos) <= total < math.inf:
            peak = _sum64(xp, [xp.abs(g).max() for g in grads], reduce="max")
            if not math.isfinite(peak) or peak == 0:
                return peak  # NaN or inf in a gradient (left as is), or all zero (nothing to do)
            unit = _sum64(xp, [(g / peak) ** 2 for g in grads])  # each (g / m)² in [0, 1]
            total = None
        norm = math.sqrt(total) if total is not None else peak * math.sqrt(unit)
        if norm > max_norm:  # norm is inf only when the true norm is beyond 1.8e308
            scale = max_norm / norm
            if scale >= tiny:
                for g in grads:
                    g *= scale
            else:  # the norm overflowed, or max_norm / norm underflows: in two steps
                if peak is None:
                    peak = _sum64(xp, [xp.abs(g).max() for g in grads], reduce="max")
                    unit = _sum64(xp, [(g / peak) ** 2 for g in grads])
                for g in grads:
                    g /= peak
                    g *= max_norm / math.sqrt(unit)
    return norm


def _sum64(xp, arrays, reduce="sum"):
    """The sum (or the max) of every entry of the arrays, in float64, as a Python float: one
    reduction per array, then one transfer (a single synchronisation on the GPU)."""
    parts = xp.stack([getattr(a, reduce)().astype(xp.float64) for a in arrays])
    return float(getattr(parts, reduce)())
