"""Evolution over a payoff matrix: replicator dynamics and the Moran process.

Both follow their payoff matrix: pass it through ``backend.asarray`` to evolve on the GPU.
"""

import numpy as np

from .._checks import (
    array_module,
    check_array,
    check_int,
    check_int_array,
    check_real,
    check_seed,
    seed_to_int,
)
from ..backend import get_array_module
from .engine import _seed_keys, _uniform


def _check_matrix(payoff_matrix, xp):
    a = check_array(payoff_matrix, "payoff_matrix", ndim=(2,), xp=xp).astype(xp.float64)
    if a.shape[0] != a.shape[1]:
        raise ValueError(f"payoff_matrix must be square (n, n), got shape {a.shape}")
    return a


def replicator(payoff_matrix, shares, steps=200, dt=0.1):
    """Replicator dynamics dx_i/dt = x_i (f_i - x.f), f = A x, in steps of dt.

    Each step is x <- x exp(dt (f - x.f)), renormalised, computed as a softmax of
    log x + dt f (the largest exponent is 0), so it stays on the simplex and cannot overflow
    however large dt; a strategy with share 0 stays at 0.

    Parameters
    ----------
    payoff_matrix : (n, n) array_like
        payoff_matrix[i, j]: i's payoff against j (e.g. ``Tournament.payoff_matrix``); the
        dynamics run on its device.
    shares : (n,) array_like
        Non-negative starting shares with a positive sum (normalised here); a list, or an
        array on payoff_matrix's device.
    steps : int >= 0
        Number of steps.
    dt : float > 0
        Step size.

    Returns
    -------
    (steps + 1, n) float64 array on payoff_matrix's device
        The shares after each step, each row summing to 1 (row 0: the normalised start).
    """
    xp = array_module(payoff_matrix=payoff_matrix, shares=shares)
    a = _check_matrix(payoff_matrix, xp)
    x = check_array(shares, "shares", ndim=(1,), xp=xp).astype(xp.float64)
    if x.shape != (a.shape[0],):
        raise ValueError(f"shares must have {a.shape[0]} entries (one per strategy of "
                         f"payoff_matrix), got shape {x.shape}")
    if bool((x < 0).any()) or not float(x.sum()) > 0:
        raise ValueError(f"shares must be non-negative with a positive sum, got {shares!r}")
    steps = check_int(steps, "steps", low=0)
    dt = check_real(dt, "dt", low=0, low_open=True)
    return _replicator(a, x / x.sum(), steps, dt)


def _replicator(a, x, steps, dt):
    xp = get_array_module(a)
    out = xp.empty((steps + 1, len(x)))
    out[0] = x
    alive = x > 0
    log_x = xp.log(xp.where(alive, x, 1.0))
    for t in range(1, steps + 1):
        z = xp.where(alive, log_x + dt * (a @ x), -xp.inf)
        w = xp.exp(z - z.max())
        out[t] = x = w / w.sum()
        alive = x > 0  # a share can underflow to 0 and then stays there
        log_x = xp.log(xp.where(alive, x, 1.0))
    return out


def _check_counts(counts, n, xp):
    """counts as n non-negative ints (whole individuals) summing to at least 2."""
    arr = check_int_array(counts, "counts", ndim=1, xp=xp)
    if arr.shape != (n,):
        raise ValueError(f"counts must have {n} entries (one per strategy of payoff_matrix), "
                         f"got shape {arr.shape}")
    if int(arr.sum()) < 2:
        raise ValueError(f"counts must sum to at least 2 individuals, got {counts!r}")
    return arr.astype(xp.int64)


def moran(payoff_matrix, counts, steps=1000, runs=1, seed=0, intensity=1.0, record=True):
    """Moran process, runs populations at once.

    Each step one individual, chosen in proportion to its fitness 1 - w + w * (its mean
    payoff against the rest of the population), copies itself over one chosen uniformly
    (itself included). A strategy with no individual is never chosen, so it never comes back;
    if every individual has fitness 0 (possible only at w = 1), the parent is chosen
    uniformly. The random numbers are counter-based (``uniform``), the same on both devices.

    Parameters
    ----------
    payoff_matrix : (n, n) array_like
        payoff_matrix[i, j]: i's payoff against j (e.g. ``Tournament.payoff_matrix``); the
        process runs on its device.
    counts : (n,) ints >= 0
        The starting population (at least 2 individuals); a list, or an array on
        payoff_matrix's device. Fractions are refused, never truncated.
    steps : int >= 0
        Number of birth-death steps.
    runs : int >= 1
        Number of independent populations.
    seed : int >= 0, numpy Generator or None
        0 by default.
    intensity : float in [0, 1]
        w, the intensity of selection (0: neutral drift); it must keep every fitness >= 0.
    record : bool
        Whether to return the whole history or only the end.

    Returns
    -------
    int64 array on payoff_matrix's device
        (steps + 1, runs, n) counts after each step, or with record=False the final
        (runs, n); every row sums to the population size.
    """
    xp = array_module(payoff_matrix=payoff_matrix, counts=counts)
    a = _check_matrix(payoff_matrix, xp)
    counts = _check_counts(counts, a.shape[0], xp)
    steps = check_int(steps, "steps", low=0)
    runs = check_int(runs, "runs")
    seed = check_seed(seed)
    intensity = check_real(intensity, "intensity", low=0, high=1)
    if 1 - intensity + intensity * float(a.min()) < 0:
        raise ValueError(f"intensity {intensity:g} gives a negative fitness 1 - w + w * payoff "
                         f"with payoffs down to {float(a.min()):g}: use w <= "
                         f"{1 / (1 - float(a.min())):g} or shift the payoffs")
    if not isinstance(record, bool | np.bool_):
        raise TypeError(f"record must be a bool, got {type(record).__name__}")
    return _moran(a, counts, steps, runs, seed_to_int(seed), intensity, bool(record))


def _moran(a, counts, steps, runs, seed, intensity, record):
    xp = get_array_module(a)
    n, size = a.shape[0], int(counts.sum())
    keys = _seed_keys(seed, [xp.arange(runs)], (runs,), xp)
    c = xp.tile(counts, (runs, 1))
    out = xp.empty((steps + 1 if record else 1, runs, n), dtype=xp.int64)
    out[0] = c
    rows = xp.arange(runs)
    for t in range(1, steps + 1):
        payoff = (c.astype(xp.float64) @ a.T - xp.diag(a)) / (size - 1)  # not against oneself
        fitness = xp.maximum(1 - intensity + intensity * payoff, 0)
        alive = xp.cumsum(c, axis=1).astype(xp.float64)
        cum = xp.cumsum(c * fitness, axis=1)
        if intensity == 1:  # only then can every fitness be 0: draw among the living
            cum = xp.where((cum[:, -1] > 0)[:, None], cum, alive)
        birth = _choose(cum, _uniform(keys, 2 * t))
        death = _choose(alive, _uniform(keys, 2 * t + 1))
        c[rows, birth] += 1
        c[rows, death] -= 1
        if record:
            out[t] = c
    return out if record else c


def _choose(cum, u):
    """For each row of cumulated weights cum (runs, n) with a positive total, the index drawn
    in proportion to the weights: never one of weight 0 (the target stays below the total)."""
    xp = get_array_module(cum)
    total = cum[:, -1]
    target = xp.minimum(u * total, xp.nextafter(total, 0))
    return (cum <= target[:, None]).sum(axis=1)
