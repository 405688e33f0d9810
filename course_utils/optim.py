"""The gradient-descent family, each update written as PyTorch's torch.optim documents it.

An optimizer holds a list of parameter arrays θ and updates them in place:
``opt = Adam(params, lr=1e-3)``, then ``opt.step(grads)`` once per (mini-)batch with the
gradients g = ∇L(θ) in the same order. t counts the steps from 1. Weight decay λ adds λθ to
g first (L2 regularisation, as in torch.optim, not AdamW's decoupled decay). NumPy or CuPy
arrays alike: the state lives on the parameters' device, all parameters share one device, and
a gradient on another device raises DeviceMismatchError naming it (never a silent copy).
"""

import numbers

from ._checks import check_device
from .backend import get_array_module


def _check_number(name, value, low, high=float("inf"), *, low_open=False, high_open=False):
    """value as a float in the interval, or a ValueError/TypeError naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    above = value > low if low_open else value >= low
    below = value < high if high_open else value <= high
    if not (above and below):
        interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise ValueError(f"{name} must lie in {interval}, got {value!r}")
    return float(value)


class Optimizer:
    """Holds the parameters; subclasses define update(state, θ, g) for each parameter θ, its
    gradient g and its state (a dict of arrays on θ's device, created at the first step)."""

    def __init__(self, params, lr, weight_decay):
        self.params = list(params)
        if not self.params:
            raise ValueError("params is empty: give the list of arrays to optimize")
        for i, p in enumerate(self.params):
            if getattr(p, "dtype", None) is None or p.dtype.kind != "f":
                raise TypeError(f"params[{i}] must be a float array (updated in place), "
                                f"got {type(p).__name__}")
            check_device(p, f"params[{i}]", get_array_module(self.params[0]))
        self.lr = _check_number("lr", lr, 0, low_open=True)
        self.weight_decay = _check_number("weight_decay", weight_decay, 0)
        self.t = 0
        self.state = [{} for _ in self.params]

    def step(self, grads):
        """One update of every parameter, in place, from its gradient (on its device)."""
        grads = list(grads)
        if len(grads) != len(self.params):
            raise ValueError(f"grads must hold one gradient per parameter: got {len(grads)} "
                             f"for {len(self.params)} parameters")
        xp = get_array_module(self.params[0])
        for i, (p, g) in enumerate(zip(self.params, grads, strict=True)):
            check_device(g, f"grads[{i}]", xp)
            if g.shape != p.shape:
                raise ValueError(f"grads[{i}] has shape {g.shape}, params[{i}] has {p.shape}")
        self.t += 1
        for i, (p, g) in enumerate(zip(self.params, grads, strict=True)):
            if self.weight_decay:
                g = g + self.weight_decay * p
            self.update(self.state[i], p, g)

    def __repr__(self):
        settings = ", ".join(f"{k}={v}" for k, v in vars(self).items()
                             if k not in ("params", "state", "t"))
        return f"{type(self).__name__}({settings})"


class SGD(Optimizer):
    """Gradient descent, with optional (Nesterov) momentum μ and dampening τ.

    b₁ = g, then b_t = μ b_{t-1} + (1 - τ) g;  g ← g + μ b_t (Nesterov) or g ← b_t;
    θ ← θ - γ g. With μ = 0: θ ← θ - γ g, plain gradient descent.
    """

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, nesterov=False,
                 weight_decay=0.0):
        super().__init__(params, lr, weight_decay)
        self.momentum = _check_number("momentum", momentum, 0, 1, high_open=True)
        self.dampening = _check_number("dampening", dampening, 0, 1)
        if nesterov and (self.momentum == 0 or self.dampening != 0):
            raise ValueError("nesterov=True needs momentum > 0 and dampening = 0")
        self.nesterov = bool(nesterov)

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
    """s_t = s_{t-1} + g²;  θ ← θ - γ̃ g / (√s_t + ε), γ̃ = γ / (1 + (t - 1) η) (lr_decay η)."""

    def __init__(self, params, lr=1e-2, lr_decay=0.0, eps=1e-10, weight_decay=0.0,
                 initial_accumulator_value=0.0):
        super().__init__(params, lr, weight_decay)
        self.lr_decay = _check_number("lr_decay", lr_decay, 0)
        self.eps = _check_number("eps", eps, 0)
        self.initial_accumulator_value = _check_number(
            "initial_accumulator_value", initial_accumulator_value, 0)

    def update(self, state, p, g):
        xp = get_array_module(p)
        if "s" not in state:
            state["s"] = xp.full_like(p, self.initial_accumulator_value)
        state["s"] += g * g
        lr = self.lr / (1 + (self.t - 1) * self.lr_decay)
        p -= lr * g / (xp.sqrt(state["s"]) + self.eps)


class RMSprop(Optimizer):
    """v_t = α v_{t-1} + (1 - α) g²;  with momentum μ: b_t = μ b_{t-1} + g / (√v_t + ε),
    θ ← θ - γ b_t; without: θ ← θ - γ g / (√v_t + ε). v₀ = b₀ = 0.
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0):
        super().__init__(params, lr, weight_decay)
        self.alpha = _check_number("alpha", alpha, 0, 1)
        self.eps = _check_number("eps", eps, 0)
        self.momentum = _check_number("momentum", momentum, 0, 1, high_open=True)

    def update(self, state, p, g):
        xp = get_array_module(p)
        if "v" not in state:
            state["v"] = xp.zeros_like(p)
            state["b"] = xp.zeros_like(p)
        state["v"] *= self.alpha
        state["v"] += (1 - self.alpha) * g * g
        step = g / (xp.sqrt(state["v"]) + self.eps)
        if self.momentum:
            state["b"] *= self.momentum
            state["b"] += step
            step = state["b"]
        p -= self.lr * step


class Adam(Optimizer):
    """m_t = β₁ m_{t-1} + (1 - β₁) g;  v_t = β₂ v_{t-1} + (1 - β₂) g²;  m₀ = v₀ = 0;
    m̂ = m_t / (1 - β₁ᵗ), v̂ = v_t / (1 - β₂ᵗ);  θ ← θ - γ m̂ / (√v̂ + ε).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr, weight_decay)
        if len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = tuple(_check_number(f"betas[{i}]", b, 0, 1, high_open=True)
                           for i, b in enumerate(betas))
        self.eps = _check_number("eps", eps, 0)

    def update(self, state, p, g):
        xp = get_array_module(p)
        if "m" not in state:
            state["m"], state["v"] = xp.zeros_like(p), xp.zeros_like(p)
        beta1, beta2 = self.betas
        state["m"] *= beta1
        state["m"] += (1 - beta1) * g
        state["v"] *= beta2
        state["v"] += (1 - beta2) * g * g
        m_hat = state["m"] / (1 - beta1**self.t)
        v_hat = state["v"] / (1 - beta2**self.t)
        p -= self.lr * m_hat / (xp.sqrt(v_hat) + self.eps)
