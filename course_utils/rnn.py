"""Recurrent networks: the simple (Elman) unit, the GRU and the LSTM, forward and backward by
hand over a batch and over time, on lesson 02's ``nn.Layer`` conventions.

Sequences are time-major, as in torch.nn.RNN/GRU/LSTM (batch_first=False): x has shape
(T, batch, n_in) and a layer returns every hidden state, (T, batch, n_hidden). The weights
have torch's names, shapes, gate order and biases, so they copy across either way (a model
trained here loads into torch, and torch's checkpoints load here):

- ``W_ih`` (G·H, n_in), ``W_hh`` (G·H, H), ``b_ih`` and ``b_hh`` (G·H,), G = 1, 3, 4 gates:
  PyTorch's layout, one row per gate unit, applied as x @ W_ihᵀ. It differs from
  ``nn.Dense``'s W (n_in, n_out), applied as x @ W, on purpose: the gates stacked along the
  rows are one contiguous block each (W_ih[:H] is the first gate's), as torch stores them;
- GRU gates r, z, n, with b_hn *inside* the reset product: n = tanh(W_in x + b_in +
  r ⊙ (W_hn h + b_hn)), h' = (1 - z) ⊙ n + z ⊙ h;
- LSTM gates i, f, g, o: c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c').

An ``Embedding`` (torch.nn.Embedding) lets a ``SequenceModel`` read word ids (T, batch)
instead of vectors, its table learnt with the rest (``n_words=``).

Speed: the input projection of all T steps is one matrix product before the loop; each step
costs one (batch, H) x (H, G·H) product and elementwise work; the weight gradients are one
big product each after the backward loop. Each backward rule is written beside the factor
that applies it; the GRU and LSTM compute the factors that do not depend on the incoming
gradient for all steps at once, so that their backward loops only chain them.

Every function follows its data (NumPy in, NumPy out; CuPy in, CuPy out); layers create their
weights on xp (None: the current device), drawn by NumPy from the seed so that the CPU and the
GPU start from the same numbers. Public functions and calls declare their checks with
``_checks.checked`` and check their arguments once, at the outermost call (errors name the
argument); the layers' forward/backward (and project, weight_grads) are the cores that trust
theirs, but for a backward called before any forward or with dy of the wrong shape, a
ValueError naming dy. Calling a
layer or a model refuses inputs that overflow it (its output not finite); fit refuses
training that diverges.
"""

import contextlib
import math

import numpy as np

from . import backend
from ._checks import (
    Bool,
    Choice,
    Custom,
    FloatDtype,
    Function,
    Instance,
    Int,
    Optional,
    Real,
    Seed,
    Xp,
    check_array,
    check_device,
    check_int_array,
    check_vocab,
    checked,
    from_outside,
    rng_from,
)
from ._deprecated import renamed_keywords
from .backend import get_array_module
from .datasets import encode_chars
from .gradcheck import compare_gradients
from .nn import Dense, Layer, SoftmaxCrossEntropy
from .optim import SGD, Adam, clip_grad_norm

CELLS = ("rnn", "gru", "lstm")
DIVERGED = 1000  # fit stops when a loss exceeds this many times max(1, the first loss)
GATES = {"rnn": 1, "gru": 3, "lstm": 4}


def _sigmoid(a):
    """σ(a) = (1 + tanh(a/2)) / 2: no exp, so no overflow, and three cheap operations.

    Not numerics.sigmoid, on purpose: this runs once per step inside the GRU's loop, where
    numerics.sigmoid (exp, abs, where, two divisions, and its input check when a layer is
    called directly) costs five times as much, 30% of the GRU's forward and backward
    (bench/rnn.py); the two agree to 2.2e-16 (tests/test_rnn.py checks it)."""
    s = get_array_module(a).tanh(a * 0.5)
    s *= 0.5
    s += 0.5
    return s


def _model_input(x, name, values, xp):
    """x as the layer or model of the call reads it (values["self"] for a call of it,
    values["model"] or values["layer"] for a function given it): (T, batch, n_in) floats on
    its device, or (T, batch) word ids for a SequenceModel with n_words."""
    model = next(values[k] for k in ("self", "model", "layer") if k in values)
    if isinstance(model, Recurrent):
        return check_sequences(x, name, model.n_in, get_array_module(model.params["W_ih"]))
    xp = get_array_module(model.out.params["W"])
    if model.embed is None:
        return check_sequences(x, name, model.rnn.n_in, xp)
    return check_int_array(x, name, high=model.embed.n_words, ndim=2, xp=xp)


def _model_state(state, name, values, xp):
    """state as the called layer or model (values["self"]) starts from: None, h (batch, H),
    or (h, c) for an LSTM."""
    model = values["self"]
    layer = model if isinstance(model, Recurrent) else model.rnn
    layer._check_state(state, values["x"].shape[1])
    return state


def _word_ids(ids, name, values, xp):
    """ids as the called Embedding (values["self"]) looks them up: ints in [0, n_words)."""
    table = values["self"]
    return check_int_array(ids, name, high=table.n_words,
                           xp=get_array_module(table.params["E"]))


class Recurrent(Layer):
    """What every recurrent layer shares: its parameters in PyTorch's layout, the checks of a
    call, the input projection of all steps before the time loop (project) and the weight
    gradients after it (weight_grads). RNN, GRU and LSTM define forward and backward.

    The parameters (``params``), for G gates (1, 3, 4) and H hidden units:
    ``W_ih`` (G·H, n_in), ``W_hh`` (G·H, H), ``b_ih`` and ``b_hh`` (G·H,), each drawn from
    U(-1/√H, 1/√H) as torch does. The layout is PyTorch's, (gates·H, n_in), applied as
    x @ W_ihᵀ (unlike nn.Dense's (n_in, n_out)), so that the weights load into
    torch.nn.RNN/GRU/LSTM as they are (weight_ih_l0 = W_ih ...) and back.

    Parameters
    ----------
    n_in : int >= 1, the input size.  n_hidden : int >= 1, H.
    seed : int >= 0, numpy Generator or None (default 0).
    xp : numpy, cupy or None (the current device).  dtype : a float dtype.
    """

    cell = "rnn"

    @checked(n_in=Int(), n_hidden=Int(), dtype=FloatDtype(), xp=Xp(), seed=Seed())
    def __init__(self, n_in, n_hidden, *, seed=0, xp=None, dtype=np.float64):
        super().__init__()
        H = n_hidden
        G = GATES[self.cell]
        bound = 1 / math.sqrt(H)  # torch's init: U(-1/√H, 1/√H) for every weight and bias
        rng = rng_from(seed)
        shapes = {"W_ih": (G * H, n_in), "W_hh": (G * H, H), "b_ih": (G * H,), "b_hh": (G * H,)}
        self.params = {k: xp.asarray(rng.uniform(-bound, bound, s), dtype=dtype)
                       for k, s in shapes.items()}
        self.n_in, self.n_hidden = n_in, H
        self.state = None

    @checked(x=Custom(_model_input, values=True), state=Custom(_model_state, values=True))
    def __call__(self, x, state=None):
        """forward(x, state) once x (T, batch, n_in) and state are checked.

        Parameters
        ----------
        x : (T, batch, n_in) float array on the device of the parameters.
        state : None (zeros), or the state to start from: h (batch, H), or (h, c) for an LSTM.

        Returns
        -------
        (T, batch, H) array: the hidden state after every step (the final state is then in
        ``self.state``).
        """
        return _finite_output(self, x, state)

    def _check_state(self, state, batch):
        """state: None, or h (batch, H) (a pair (h, c) for an LSTM) on the parameters' device."""
        if state is None:
            return
        parts = state if self.cell == "lstm" else (state,)
        if self.cell == "lstm" and (not isinstance(state, tuple) or len(state) != 2):
            raise TypeError("state must be a pair (h, c) for an LSTM")
        for part in parts:
            part = check_array(part, "state", ndim=(2,),
                               xp=get_array_module(self.params["W_ih"]))
            if part.shape != (batch, self.n_hidden):
                raise ValueError(f"state must have shape ({batch}, {self.n_hidden}), "
                                 f"got {part.shape}")

    def project(self, x):
        """x W_ihᵀ + b_ih for all T steps at once: one (T·batch, n_in) x (n_in, G·H) product
        instead of T small ones inside the time loop (the input does not depend on the state).

        A core, like forward: x is taken as checked (the layer's call checks it).

        Parameters
        ----------
        x : float array (T, batch, n_in) on the parameters' device.

        Returns
        -------
        array (T, batch, G·H): the input's part of every gate's pre-activation at every step.
        """
        T, B, _ = x.shape
        return (x.reshape(T * B, -1) @ self.params["W_ih"].T + self.params["b_ih"]).reshape(
            T, B, -1)

    def weight_grads(self, d_in, d_hidden):
        """The four parameter gradients as one product each, after the backward loop: the sums
        over steps and the batch, Σ_t d_in[t]ᵀ x[t] and so on, as (G·H, T·batch) products.
        Sets ``self.grads`` (keyed as params, in their shapes) and returns dL/dx.

        A core, like backward: it reads x and the states of the last forward pass.

        Parameters
        ----------
        d_in : array (T, batch, G·H), dL/d(x W_ihᵀ + b_ih) at every step.
        d_hidden : array (T, batch, G·H), dL/d(h W_hhᵀ + b_hh) at every step (the same array
            as d_in for the simple unit and the LSTM, where both enter one sum).

        Returns
        -------
        array (T, batch, n_in): dL/dx.
        """
        T, B, GH = d_in.shape
        d_in2, d_hid2 = d_in.reshape(T * B, GH), d_hidden.reshape(T * B, GH)
        self.grads = {"W_ih": d_in2.T @ self.x.reshape(T * B, -1),
                      "W_hh": d_hid2.T @ self.h_prev.reshape(T * B, -1),
                      "b_ih": d_in2.sum(axis=0)}
        self.grads["b_hh"] = self.grads["b_ih"].copy() if d_hidden is d_in else \
            d_hid2.sum(axis=0)
        return (d_in2 @ self.params["W_ih"]).reshape(T, B, -1)

    def _check_backward(self, dy):
        """dy must match the output of the last forward pass (which backward needs)."""
        if getattr(self, "h", None) is None:
            raise ValueError(f"dy: {self!r}.backward needs a forward pass first (call the layer "
                             f"on x, then backward with dL/dh of its output's shape)")
        if getattr(dy, "shape", None) != self.h.shape:
            raise ValueError(f"dy must have the shape of the last output, {self.h.shape} "
                             f"(T, batch, H), got {getattr(dy, 'shape', type(dy).__name__)}")
        check_device(dy, "dy", get_array_module(self.h))

    def _start(self, x, state):
        xp = get_array_module(x)
        zeros = xp.zeros((x.shape[1], self.n_hidden), dtype=x.dtype)
        if state is None:
            return (zeros, zeros) if self.cell == "lstm" else zeros
        return state

    def __repr__(self):
        return f"{type(self).__name__}({self.n_in}, {self.n_hidden})"


class RNN(Recurrent):
    """The simple (Elman) unit, as torch.nn.RNN with tanh: h_t = tanh(W_ih x_t + b_ih +
    W_hh h_{t-1} + b_hh). Weights in PyTorch's layout, W_ih (H, n_in) and W_hh (H, H), so
    that they load into torch.nn.RNN as they are (see Recurrent).

    Parameters
    ----------
    n_in : int >= 1, the input size.  n_hidden : int >= 1, H.
    seed : int >= 0, numpy Generator or None (default 0).
    xp : numpy, cupy or None (the current device).  dtype : a float dtype.
    """

    cell = "rnn"

    def forward(self, x, state=None):
        xp = get_array_module(x)
        T, B, _ = x.shape
        a = self.project(x)
        a += self.params["b_hh"]
        W_hhT = self.params["W_hh"].T
        h = xp.empty((T + 1, B, self.n_hidden), dtype=x.dtype)
        h[0] = self._start(x, state)
        for t in range(T):
            h[t + 1] = xp.tanh(a[t] + h[t] @ W_hhT)  # h_t = tanh(a_t + h_{t-1} W_hhᵀ)
        self.x, self.h_prev, self.h = x, h[:-1], h[1:]
        self.state = h[T]
        return self.h

    def backward(self, dy):
        self._check_backward(dy)
        xp = get_array_module(dy)
        da = xp.empty_like(dy)
        self.dh = xp.empty_like(dy)  # dL/dh_t, through every path, for every t
        dh_next = xp.zeros_like(dy[0])
        W_hh = self.params["W_hh"]
        for t in range(dy.shape[0] - 1, -1, -1):
            self.dh[t] = dh = dy[t] + dh_next
            da[t] = dh * (1 - self.h[t] * self.h[t])  # tanh' = 1 - h²
            dh_next = da[t] @ W_hh  # h_{t-1} enters through W_hh
        return self.weight_grads(da, da)


class GRU(Recurrent):
    """The gated recurrent unit, as torch.nn.GRU: gates r, z, n in that order,
    r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(W_iz x + b_iz + W_hz h + b_hz),
    n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h' = (1 - z) ⊙ n + z ⊙ h. Weights in
    PyTorch's layout, W_ih (3H, n_in) and W_hh (3H, H), the rows of r, z, n one block each,
    so that they load into torch.nn.GRU as they are (see Recurrent).

    Parameters
    ----------
    n_in : int >= 1, the input size.  n_hidden : int >= 1, H.
    seed : int >= 0, numpy Generator or None (default 0).
    xp : numpy, cupy or None (the current device).  dtype : a float dtype.
    """

    cell = "gru"

    def forward(self, x, state=None):
        xp = get_array_module(x)
        T, B, _ = x.shape
        H = self.n_hidden
        gi = self.project(x)  # (T, B, 3H): the input's part of r, z and n
        self.gh = xp.empty_like(gi)  # h W_hhᵀ + b_hh, kept: its n part is needed backward
        self.gates = xp.empty_like(gi)  # r, z, n after their nonlinearities
        h = xp.empty((T + 1, B, H), dtype=x.dtype)
        h[0] = self._start(x, state)
        W_hhT, b_hh = self.params["W_hh"].T, self.params["b_hh"]
        for t in range(T):
            gh = self.gh[t] = h[t] @ W_hhT + b_hh
            rz = self.gates[t, :, :2 * H] = _sigmoid(gi[t, :, :2 * H] + gh[:, :2 * H])
            r, z = rz[:, :H], rz[:, H:]
            n = self.gates[t, :, 2 * H:] = xp.tanh(gi[t, :, 2 * H:] + r * gh[:, 2 * H:])
            h[t + 1] = n + z * (h[t] - n)  # (1 - z) n + z h
        self.x, self.h_prev, self.h = x, h[:-1], h[1:]
        self.state = h[T]
        return self.h

    def backward(self, dy):
        self._check_backward(dy)
        xp = get_array_module(dy)
        T, B, H = dy.shape
        r, z, n = self.gates[..., :H], self.gates[..., H:2 * H], self.gates[..., 2 * H:]
        # Each rule is linear in dL/dh_t, so its local factor is computed for all steps at once:
        # h' = (1 - z) n + z h:  dn = dh (1 - z),  dz = dh (h - n);  n = tanh(a_n): (1 - n²)
        # a_n = gi_n + r ⊙ gh_n: d(gi_n) = da_n, d(gh_n) = r da_n, dr = da_n gh_n
        # r = σ(a_r), z = σ(a_z): σ' = σ (1 - σ)
        p_n = (1 - z) * (1 - n * n)
        p_in = xp.empty_like(self.gates).reshape(T, B, 3, H)  # d(input part)/dh, gates r, z, n
        p_in[:, :, 0] = p_n * self.gh[..., 2 * H:] * r * (1 - r)
        p_in[:, :, 1] = (self.h_prev - n) * z * (1 - z)
        p_in[:, :, 2] = p_n
        p_hid = p_in.copy()  # d(hidden part)/dh: the same, but for n it is r ⊙ da_n
        p_hid[:, :, 2] *= r
        d_in, d_hid = xp.empty_like(p_in), xp.empty_like(p_hid)
        self.dh = xp.empty_like(dy)
        dh_next = xp.zeros_like(dy[0])
        W_hh = self.params["W_hh"]
        for t in range(T - 1, -1, -1):
            self.dh[t] = dh = dy[t] + dh_next
            d_in[t] = dh[:, None, :] * p_in[t]
            d_hid[t] = dh[:, None, :] * p_hid[t]
            dh_next = dh * z[t] + d_hid[t].reshape(B, 3 * H) @ W_hh  # directly and via W_hh
        return self.weight_grads(d_in.reshape(T, B, 3 * H), d_hid.reshape(T, B, 3 * H))


class LSTM(Recurrent):
    """The long short-term memory unit, as torch.nn.LSTM: gates i, f, g, o in that order,
    (i, f, o) = σ(·), g = tanh(·) of W_ih x + b_ih + W_hh h + b_hh;
    c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c'). The state is the pair (h, c). Weights in
    PyTorch's layout, W_ih (4H, n_in) and W_hh (4H, H), the rows of i, f, g, o one block each,
    so that they load into torch.nn.LSTM as they are (see Recurrent).

    Parameters
    ----------
    n_in : int >= 1, the input size.  n_hidden : int >= 1, H.
    seed : int >= 0, numpy Generator or None (default 0).
    xp : numpy, cupy or None (the current device).  dtype : a float dtype.
    """

    cell = "lstm"

    def forward(self, x, state=None):
        xp = get_array_module(x)
        T, B, _ = x.shape
        H = self.n_hidden
        # σ(a) = (1 + tanh(a/2)) / 2, so all four gates are one tanh of the pre-activations
        # scaled by k (1/2 for i, f, o; 1 for g), then times k plus m (1/2 for i, f, o; 0 for g)
        k = xp.full(4 * H, 0.5, dtype=x.dtype)
        k[2 * H:3 * H] = 1
        m = 0.5 - 0.5 * (k == 1)
        a = self.project(x)
        a += self.params["b_hh"]
        a *= k  # for all steps at once
        W_hhT = self.params["W_hh"].T * k
        self.gates = xp.empty_like(a)  # i, f, g, o after their nonlinearities
        h = xp.empty((T + 1, B, H), dtype=x.dtype)
        c = xp.empty((T + 1, B, H), dtype=x.dtype)
        h[0], c[0] = self._start(x, state)
        self.tanh_c = xp.empty((T, B, H), dtype=x.dtype)
        for t in range(T):
            g = self.gates[t] = xp.tanh(a[t] + h[t] @ W_hhT) * k + m  # i, f, g, o
            c[t + 1] = g[:, H:2 * H] * c[t] + g[:, :H] * g[:, 2 * H:3 * H]  # c' = f c + i g
            tc = self.tanh_c[t] = xp.tanh(c[t + 1])
            h[t + 1] = g[:, 3 * H:] * tc  # h' = o tanh(c')
        self.x, self.h_prev, self.h, self.c = x, h[:-1], h[1:], c
        self.state = (h[T], c[T])
        return self.h

    def backward(self, dy):
        self._check_backward(dy)
        xp = get_array_module(dy)
        T, B, H = dy.shape
        gt = self.gates
        i, f, g, o = gt[..., :H], gt[..., H:2 * H], gt[..., 2 * H:3 * H], gt[..., 3 * H:]
        tc = self.tanh_c
        # Local factors for all steps at once (each rule is linear in dL/dc_t or dL/dh_t):
        # h = o tanh(c): dc += dh o (1 - tanh² c), do = dh tanh(c)
        # c = f c_prev + i g: di = dc g, df = dc c_prev, dg = dc i; then σ' or tanh'
        dc_dh = o * (1 - tc * tc)
        p_c = xp.empty((T, B, 3, H), dtype=dy.dtype)  # d(a_i, a_f, a_g)/dc
        p_c[:, :, 0] = g * i * (1 - i)
        p_c[:, :, 1] = self.c[:-1] * f * (1 - f)
        p_c[:, :, 2] = i * (1 - g * g)
        p_o = tc * o * (1 - o)  # d(a_o)/dh
        da = xp.empty((T, B, 4, H), dtype=dy.dtype)  # dL/d(pre-activation) of i, f, g, o
        self.dh = xp.empty_like(dy)
        dh_next, dc = xp.zeros_like(dy[0]), xp.zeros_like(dy[0])
        W_hh = self.params["W_hh"]
        for t in range(T - 1, -1, -1):
            self.dh[t] = dh = dy[t] + dh_next
            dc = dc + dh * dc_dh[t]  # through h_t = o tanh(c_t), and from c_{t+1}
            da[t, :, :3] = dc[:, None, :] * p_c[t]
            da[t, :, 3] = dh * p_o[t]
            dc = dc * f[t]  # the cell path: c_{t-1} enters c_t times f, nothing else
            dh_next = da[t].reshape(B, 4 * H) @ W_hh
        da = da.reshape(T, B, 4 * H)
        return self.weight_grads(da, da)


LAYERS = {"rnn": RNN, "gru": GRU, "lstm": LSTM}


@checked(cell=Choice(*CELLS), n_in=Int(), n_hidden=Int(), dtype=FloatDtype(), xp=Xp(),
         seed=Seed())
def recurrent_layer(cell, n_in, n_hidden, *, seed=0, xp=None, dtype=np.float64):
    """A recurrent layer by name: RNN, GRU or LSTM.

    Parameters
    ----------
    cell : "rnn", "gru" or "lstm".  n_in, n_hidden : ints >= 1.
    seed : int >= 0, numpy Generator or None (default 0).
    xp : numpy, cupy or None (the current device).  dtype : a float dtype.

    Returns
    -------
    RNN, GRU or LSTM layer, its parameters on xp's device.
    """
    return LAYERS[cell](n_in, n_hidden, seed=seed, xp=xp, dtype=dtype)


def _argument_name(name, _):
    if not isinstance(name, str):
        raise TypeError(f"name must be a str (the argument's name), got {type(name).__name__}")
    return name


@checked(name=Custom(_argument_name), n_in=Optional(Int()), xp=Optional(Xp()))
def check_sequences(x, name, n_in=None, xp=None):
    """x as a finite float array (T, batch, n_in), with n_in features when given.

    Parameters
    ----------
    x : array-like (T, batch, n_in).  name : str, the argument's name in messages.
    n_in : int >= 1 or None.  xp : numpy, cupy or None (x's own module).

    Returns
    -------
    float array (T, batch, n_in) on module xp.
    """
    x = check_array(x, name, ndim=(3,), xp=xp)
    if n_in is not None and x.shape[2] != n_in:
        raise ValueError(f"{name} has {x.shape[2]} features per step (shape {x.shape}, laid "
                         f"out (T, batch, n_in)), but the layer takes {n_in}")
    return x


class Embedding(Layer):
    """A table of learned vectors, one row per word: y[t, b] = E[ids[t, b]], as
    torch.nn.Embedding (E drawn from N(0, 1)). It is a one-hot input times E, without the
    products by zero: forward is a lookup, and backward adds each dL/dy[t, b] into the row
    ids[t, b] (dL/dE[w] = Σ of dy over the positions of w), a scatter-add.

    Parameters
    ----------
    n_words : int >= 1, the number of rows.  dim : int >= 1, the vector size.
    seed : int >= 0, numpy Generator or None (default 0).
    xp : numpy, cupy or None (the current device).  dtype : a float dtype.
    """

    @checked(n_words=Int(), dim=Int(), dtype=FloatDtype(), xp=Xp(), seed=Seed())
    def __init__(self, n_words, dim, *, seed=0, xp=None, dtype=np.float64):
        super().__init__()
        self.n_words, self.dim = n_words, dim
        self.params = {"E": xp.asarray(rng_from(seed).standard_normal((self.n_words, self.dim)),
                                       dtype=dtype)}
        self.ids = None

    @checked(ids=Custom(_word_ids, values=True))
    def __call__(self, ids):
        """forward(ids) once ids are checked.

        Parameters
        ----------
        ids : int array of any shape, entries in [0, n_words), on the table's device.

        Returns
        -------
        array ids.shape + (dim,).
        """
        return self.forward(ids)

    def forward(self, ids):
        self.ids = ids
        return self.params["E"][ids]

    def backward(self, dy):
        if self.ids is None:
            raise ValueError("dy: Embedding.backward needs a forward pass first")
        if getattr(dy, "shape", None) != self.ids.shape + (self.dim,):
            raise ValueError(f"dy must have shape {self.ids.shape + (self.dim,)}, got "
                             f"{getattr(dy, 'shape', type(dy).__name__)}")
        xp = get_array_module(dy)
        cells = (self.ids.reshape(-1, 1) * self.dim + xp.arange(self.dim)).ravel()
        dE = xp.bincount(cells, weights=dy.reshape(-1), minlength=self.n_words * self.dim)
        self.grads = {"E": dE.reshape(self.n_words, self.dim).astype(self.params["E"].dtype)}

    def __repr__(self):
        return f"Embedding({self.n_words}, {self.dim})"


class SequenceModel(Layer):
    """A recurrent layer and a Dense readout: logits at every step (readout="all", for a
    language model) or after the last step only (readout="last", for a classifier). With
    n_words, an Embedding of n_words rows of size n_in comes first, and the model reads word
    ids (T, batch) instead of vectors: the word vectors are learned with the rest.

    Parameters
    ----------
    cell : "rnn", "gru" or "lstm".  n_in, n_hidden, n_out : ints >= 1.
    readout : "all" (outputs (T, batch, n_out)) or "last" (outputs (batch, n_out)).
    n_words : None (inputs are (T, batch, n_in) vectors) or int >= 1 (inputs are ids in
        [0, n_words), shape (T, batch), looked up in the model's Embedding).
    seed : int >= 0, numpy Generator or None (default 0).
    xp : numpy, cupy or None (the current device).  dtype : a float dtype.
    """

    @checked(seed=Seed(), xp=Xp(), readout=Choice("all", "last"), cell=Choice(*CELLS),
             n_in=Int(), n_hidden=Int(), dtype=FloatDtype(), n_out=Int(),
             n_words=Optional(Int()))
    def __init__(self, cell, n_in, n_hidden, n_out, *, readout="all", n_words=None, seed=0,
                 xp=None, dtype=np.float64):
        rng = rng_from(seed)
        self.readout = readout
        self.rnn = recurrent_layer(cell, n_in, n_hidden, seed=rng, xp=xp, dtype=dtype)
        self.out = Dense(n_hidden, n_out, seed=rng, xp=xp, dtype=dtype)
        self.embed = None if n_words is None else Embedding(n_words, n_in, seed=rng, xp=xp,
                                                            dtype=dtype)

    @property
    def params(self):
        """The embedding's parameter ('embed.E', with n_words), the recurrent layer's
        ('rnn.W_ih', ...), then the readout's ('out.W', 'out.b')."""
        parts = [("embed", self.embed), ("rnn", self.rnn), ("out", self.out)]
        return {f"{name}.{k}": v for name, part in parts if part is not None
                for k, v in part.params.items()}

    @property
    def grads(self):
        """The gradients of the last backward, keyed as params (empty before one)."""
        parts = [p for p in (self.embed, self.rnn, self.out) if p is not None]
        if not all(part.grads for part in parts):
            return {}
        names = ["embed"] * (self.embed is not None) + ["rnn", "out"]
        return {f"{name}.{k}": part.grads[k] for name, part in zip(names, parts, strict=True)
                for k in part.params}

    @checked(x=Custom(_model_input, values=True), state=Custom(_model_state, values=True))
    def __call__(self, x, state=None):
        """forward(x, state) once x and state are checked (see the recurrent layer's call).

        Parameters
        ----------
        x : (T, batch, n_in) array, or (T, batch) word ids for a model with n_words.
        state : None or the recurrent layer's state.

        Returns
        -------
        logits (T, batch, n_out) for readout="all", (batch, n_out) for "last".
        """
        return _finite_output(self, x, state)

    def forward(self, x, state=None):
        h = self.rnn.forward(x if self.embed is None else self.embed.forward(x), state)
        if self.readout == "last":
            return self.out.forward(h[-1])
        T, B, H = h.shape
        return self.out.forward(h.reshape(T * B, H)).reshape(T, B, -1)

    def backward(self, dz):
        if getattr(self.rnn, "h", None) is None:
            raise ValueError("dz: SequenceModel.backward needs a forward pass first (call the "
                             "model on x, then backward with dL/dlogits)")
        xp = get_array_module(dz)
        h = self.rnn.h
        T, B, _ = h.shape
        expected = (B, self.out.params["W"].shape[1]) if self.readout == "last" else \
            (T, B, self.out.params["W"].shape[1])
        if getattr(dz, "shape", None) != expected:
            raise ValueError(f"dz must have the shape of the last output, {expected}, got "
                             f"{getattr(dz, 'shape', type(dz).__name__)}")
        if self.readout == "last":
            dh = xp.zeros_like(h)
            dh[-1] = self.out.backward(dz)
        else:
            dh = self.out.backward(dz.reshape(T * B, -1)).reshape(h.shape)
        dx = self.rnn.backward(dh)
        if self.embed is not None:
            self.embed.backward(dx)
        return dx

    def __repr__(self):
        words = "" if self.embed is None else f", n_words={self.embed.n_words}"
        return f"SequenceModel({self.rnn!r}, readout={self.readout!r}{words})"


def _finite_output(model, x, state):
    """model.forward(x, state), refused with a ValueError naming x when it is not finite:
    inputs or weights so large that a pre-activation overflows (inf - inf is NaN)."""
    xp = get_array_module(x)
    with np.errstate(over="ignore", invalid="ignore"):
        y = model.forward(x, state)
        finite = bool(xp.isfinite(y.sum())) or bool(xp.isfinite(y).all())
    if not finite:
        raise ValueError(f"x overflows {model!r}: its output is not finite (inputs or weights "
                         f"too large; scale them down)")
    return y


def _sequence_loss(model, x, y):
    """The mean softmax cross-entropy of model on (x, y), and dL/dlogits."""
    z = model.forward(x)
    loss = SoftmaxCrossEntropy()
    value = loss.forward(z.reshape(-1, z.shape[-1]), y.reshape(-1))
    return value, loss.backward().reshape(z.shape)


def _labels(y, name, values, xp):
    """y as labels for values["model"] (a SequenceModel) and the checked values["x"]: ints in
    [0, n_out), (T, batch) for readout="all", (batch,) for readout="last"."""
    model, x = values["model"], values["x"]
    if not isinstance(model, SequenceModel):
        raise TypeError("labels y need a SequenceModel (a bare layer has no readout)")
    n_out = model.out.params["W"].shape[1]
    shape = x.shape[:2] if model.readout == "all" else x.shape[1:2]
    y = check_int_array(y, name, high=n_out, ndim=len(shape),
                        xp=get_array_module(model.out.params["W"]))
    if y.shape != shape:
        raise ValueError(f"{name} must have shape {shape} for x of shape {x.shape}, got "
                         f"{y.shape}")
    return y


def _first_param(model):
    return next(iter(model.params.values()))


@checked(model=Instance((Recurrent, SequenceModel), what="a recurrent layer or a SequenceModel",
                        device_of=_first_param),
         eps=Real(low=0, low_open=True), x=Custom(_model_input, values=True),
         y=Optional(Custom(_labels, values=True)), seed=Seed())
def gradient_check(model, x, y=None, *, eps=1e-6, seed=0):
    """Relative error between backpropagation through time and central differences, for
    dL/dx and every parameter of a recurrent layer or a SequenceModel (use float64).

    L is Σ model(x) ⊙ R for a fixed random R when y is None, else the mean cross-entropy of
    the model's logits against the labels y.

    Parameters
    ----------
    model : RNN, GRU, LSTM or SequenceModel.
    x : (T, batch, n_in) array, or (T, batch) word ids for a SequenceModel with n_words.
    y : None, or labels: (T, batch) for readout="all", (batch,) for readout="last".
    eps : float > 0, the central-difference step.  seed : the seed of R (default 0).

    Returns
    -------
    dict of floats in [0, 1]: "x" (not for word ids, which have no gradient), then one entry
    per parameter.
    """
    W = _first_param(model)
    xp = get_array_module(W)
    x = x.copy()
    _finite_output(model, x, None)  # x that overflows the model is refused here
    if y is None:
        R = xp.asarray(rng_from(seed).standard_normal(model.forward(x).shape), dtype=W.dtype)

        def scalar():
            return (model.forward(x) * R).sum()

        def backward():
            return model.backward(R)
    else:
        def scalar():
            return _sequence_loss(model, x, y)[0]

        def backward():
            return model.backward(_sequence_loss(model, x, y)[1])

    dx = backward()
    analytic = {"x": dx, **model.grads}
    arrays = {"x": x, **model.params}
    if x.dtype.kind != "f":  # word ids: no gradient
        del analytic["x"], arrays["x"]
    return compare_gradients(scalar, arrays, analytic, eps=eps)


@checked(layer=Instance(Recurrent, what="RNN, GRU or LSTM", device_of=_first_param),
         x=Custom(_model_input, values=True), seed=Seed())
def gradient_norms_through_time(layer, x, *, seed=0):
    """‖∂L/∂h_t‖ for every step t, L = h_T · u for a fixed random unit vector u: how much the
    last output depends on the state t steps before (vanishing or exploding gradients).

    Parameters
    ----------
    layer : RNN, GRU or LSTM.  x : (T, batch, n_in) array.
    seed : the seed of u (default 0).

    Returns
    -------
    float64 NumPy array (T,): the norms, averaged over the batch; entry T - 1 is ‖u‖ = 1.
    """
    xp = get_array_module(x)
    _finite_output(layer, x, None)
    u = rng_from(seed).standard_normal(layer.n_hidden)
    dy = xp.zeros_like(layer.h)
    dy[-1] = xp.asarray(u / np.linalg.norm(u), dtype=x.dtype)
    with np.errstate(over="ignore", invalid="ignore"):
        layer.backward(dy)
        norms = backend.to_numpy(xp.sqrt((layer.dh * layer.dh).sum(axis=2)).mean(axis=1))
    return norms.astype(np.float64)


# ----------------------------------------------------------------------------- training


@renamed_keywords(steps="n_iter")
@checked(model=Instance(SequenceModel, device_of=lambda m: m.out.params["W"]),
         x=Custom(_model_input, values=True), y=Custom(_labels, values=True), n_iter=Int(),
         batch_size=Int(), lr=Real(low=0, low_open=True), optimizer=Choice("adam", "sgd"),
         clip=Optional(Real(low=0, low_open=True)), progress=Bool(),
         callback=Optional(Function()), seed=Seed())
def fit(model, x, y, *, n_iter=100, batch_size=32, lr=0.01, optimizer="adam", clip=1.0,
        seed=0, progress=False, callback=None):
    """Train a SequenceModel with softmax cross-entropy on random mini-batches.

    Each of the n_iter steps draws batch_size sequences (columns of x), backpropagates
    through time, clips the gradients' global norm to clip (None: no clipping) and takes one
    optimizer step. Training that diverges stops with a ValueError naming lr: a loss or
    gradient norm that is not finite, a loss above DIVERGED (1000) times max(1, the first
    step's loss), or parameters that are not finite at the end.

    Parameters
    ----------
    model : SequenceModel.
    x : (T, n_sequences, n_in) array on the model's device, or (T, n_sequences) word ids for
        a model with n_words.
    y : int labels on x's device: (T, n_sequences) for readout="all", (n_sequences,) for
        readout="last", each in [0, n_out).
    n_iter : int >= 1, exactly this many steps (the old keyword steps= still works, with a
        DeprecationWarning).  batch_size : int >= 1 (at most n_sequences is used).
    lr : float > 0.  optimizer : "adam" or "sgd", built from model.params.values().
    clip : float > 0 or None, the largest global gradient norm.
    seed : the batches, int >= 0, numpy Generator or None.
    progress : bool, a tqdm progress bar.
    callback : None or f(step, loss), called after every step (step counts from 1).

    Returns
    -------
    list of n_iter floats, the training loss of each step.
    """
    xp = get_array_module(x)
    opt = (Adam if optimizer == "adam" else SGD)(list(model.params.values()), lr=lr)
    rng = rng_from(seed)
    n = x.shape[1]
    batch_size = min(batch_size, n)
    callback = None if callback is None else from_outside(callback)  # its own calls checked
    losses = []
    bar = _progress(range(1, n_iter + 1), n_iter, progress)
    with _one_blas_thread(xp, batch_size * model.rnn.params["W_hh"].shape[0]):
        for step in bar:
            cols = xp.asarray(rng.choice(n, batch_size, replace=False))
            yb = y[:, cols] if model.readout == "all" else y[cols]
            with np.errstate(over="ignore", invalid="ignore"):
                value, dz = _sequence_loss(model, x[:, cols], yb)
                model.backward(dz)
                grads = list(model.grads.values())
                norm = clip_grad_norm(grads, clip if clip is not None else math.inf)
            value = float(value)
            if step == 1 and not math.isfinite(value):
                raise ValueError(f"x overflows the model: the loss of the first batch is "
                                 f"{value}; scale the inputs (or the weights) down")
            limit = DIVERGED * max(1.0, losses[0] if losses else value)
            if not (math.isfinite(value) and math.isfinite(norm) and value <= limit):
                raise ValueError(f"training diverged at step {step}: the loss is {value:.4g} "
                                 f"(first {losses[0] if losses else value:.4g}) and the "
                                 f"gradient norm {norm:.4g}; lower lr (now {opt.lr:g}) or "
                                 f"clip the gradients")
            opt.step(grads)
            losses.append(value)
            if hasattr(bar, "set_postfix") and step % 10 == 0:
                bar.set_postfix(loss=f"{value:.3f}")
            if callback is not None:
                callback(step, value)
    with np.errstate(over="ignore", invalid="ignore"):
        finite = all(bool(xp.isfinite(p).all()) for p in model.params.values())
    if not finite:
        raise ValueError(f"training diverged: the parameters overflowed at the last step; "
                         f"lower lr (now {opt.lr:g}) or clip the gradients")
    return losses


def _progress(iterable, total, show):
    """iterable, or with show a tqdm bar over it (a widget in a notebook, text elsewhere)."""
    if not show:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc="training")


def _one_blas_thread(xp, size):
    """One BLAS thread on the CPU while training with small per-step products (size, the
    batch times G·H, below 2¹⁴): waking a second thread for each costs more than it saves
    (several times more on a busy machine). Nothing on the GPU, or without threadpoolctl."""
    if xp is not np or size >= 2**14:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


# ----------------------------------------------------------------------------- data


def _language_model(model, name):
    if not isinstance(model, SequenceModel) or model.readout != "all":
        raise TypeError(f"{name} must be a SequenceModel with readout='all'")
    return model


def _vocab_of(vocab, name, values, xp):
    """vocab as a str of distinct characters, one per input and output of values["model"]."""
    vocab, model = check_vocab(vocab, name), values["model"]
    reads = model.rnn.n_in if model.embed is None else model.embed.n_words
    if reads != len(vocab) or model.out.params["W"].shape[1] != len(vocab):
        raise ValueError(f"{name} has {len(vocab)} characters, the model reads "
                         f"{reads} and writes {model.out.params['W'].shape[1]}")
    return vocab


def _prefix_in(prefix, name, values, xp):
    """prefix as a non-empty str of characters of values["vocab"]."""
    if not isinstance(prefix, str) or not prefix:
        raise (TypeError if not isinstance(prefix, str) else ValueError)(
            f"{name} must be a non-empty str")
    unknown = sorted(set(prefix) - set(values["vocab"]))
    if unknown:
        raise ValueError(f"{name} has characters outside the vocabulary: "
                         f"{''.join(unknown)!r}")
    return prefix


@checked(model=Custom(_language_model), vocab=Custom(_vocab_of, values=True),
         prefix=Custom(_prefix_in, values=True), n_chars=Int(),
         temperature=Real(low=0, low_open=True), seed=Seed())
def sample_text(model, vocab, prefix, n_chars, *, temperature=1.0, seed=0):
    """Characters drawn one at a time from a character language model, after a prefix.

    The prefix is read in one pass; then each new character is drawn from
    softmax(logits / temperature) and fed back in, the recurrent state carried along.

    Parameters
    ----------
    model : SequenceModel with readout="all", n_in = n_out = len(vocab).
    vocab : str, the model's characters.  prefix : str of characters in vocab, not empty.
    n_chars : int >= 1.  temperature : float > 0.  seed : int >= 0, Generator or None.

    Returns
    -------
    str: prefix followed by n_chars drawn characters.
    """
    rng = rng_from(seed)
    W = model.out.params["W"]
    xp, dtype = get_array_module(W), W.dtype
    ids, _ = encode_chars(prefix, vocab)
    inputs = xp.arange(len(vocab)) if model.embed is not None else \
        xp.eye(len(vocab), dtype=dtype)  # row k: what the model reads for character k
    with np.errstate(over="ignore", invalid="ignore"):  # overflowing logits: refused below
        z = model.forward(inputs[xp.asarray(ids)][:, None])[-1, 0]
    out = []
    for _ in range(n_chars):
        logits = backend.to_numpy(z).astype(np.float64)
        if not np.isfinite(logits).all():
            raise ValueError("model overflows: its logits are not finite (its weights are too "
                             "large)")
        p = np.exp((logits - logits.max()) / temperature)  # differences first: no overflow
        k = int(rng.choice(p.size, p=p / p.sum()))
        out.append(vocab[k])
        with np.errstate(over="ignore", invalid="ignore"):
            z = model.forward(inputs[k:k + 1][None], model.rnn.state)[-1, 0]
    return prefix + "".join(out)


def __getattr__(name):
    """Names that moved to another module keep working for one release, with a warning."""
    from ._deprecated import moved

    return moved(__name__, name)
