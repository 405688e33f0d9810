"""Evolution over a payoff matrix: replicator dynamics and the Moran process.

Both follow their payoff matrix: pass it through ``backend.asarray`` to evolve on the GPU.
"""

from .._checks import (
    Bool,
    Custom,
    Int,
    Real,
    Seed,
    check_array,
    check_int_array,
    checked,
)
from .._deprecated import renamed_keywords
from ..backend import get_array_module
from .engine import seed_keys, uniform


def _check_matrix(payoff_matrix, name, values, xp):
    a = check_array(payoff_matrix, name, ndim=(2,), xp=xp).astype(xp.float64)
    if a.shape[0] != a.shape[1]:
        raise ValueError(f"{name} must be square (n, n), got shape {a.shape}")
    return a


def _check_shares(shares, name, values, xp):
    """shares as n non-negative floats with a positive sum, normalised."""
    n = values["payoff_matrix"].shape[0]
    x = check_array(shares, name, ndim=(1,), xp=xp).astype(xp.float64)
    if x.shape != (n,):
        raise ValueError(f"{name} must have {n} entries (one per strategy of payoff_matrix), "
                         f"got shape {x.shape}")
    if bool((x < 0).any()) or not float(x.sum()) > 0:
        raise ValueError(f"{name} must be non-negative with a positive sum, got {shares!r}")
    return x


def _check_counts(counts, name, values, xp):
    """counts as n non-negative ints (whole individuals) summing to at least 2."""
    n = values["payoff_matrix"].shape[0]
    arr = check_int_array(counts, name, ndim=1, xp=xp)
    if arr.shape != (n,):
        raise ValueError(f"{name} must have {n} entries (one per strategy of payoff_matrix), "
                         f"got shape {arr.shape}")
    if int(arr.sum()) < 2:
        raise ValueError(f"{name} must sum to at least 2 individuals, got {counts!r}")
    return arr.astype(xp.int64)


def _check_intensity(intensity, name, values, xp):
    """intensity w in [0, 1], keeping every fitness 1 - w + w * payoff >= 0."""
    intensity = Real(low=0, high=1)(intensity, name, values, xp)
    lowest = float(values["payoff_matrix"].min())
    if 1 - intensity + intensity * lowest < 0:
        raise ValueError(f"{name} {intensity:g} gives a negative fitness 1 - w + w * payoff "
                         f"with payoffs down to {lowest:g}: use w <= {1 / (1 - lowest):g} or "
                         f"shift the payoffs")
    return intensity


_ON_DEVICE = {"device_of": lambda array: array, "values": True}


@renamed_keywords(steps="n_iter")
@checked(payoff_matrix=Custom(_check_matrix, **_ON_DEVICE),
         shares=Custom(_check_shares, **_ON_DEVICE), n_iter=Int(low=0),
         dt=Real(low=0, low_open=True))
def replicator(payoff_matrix, shares, n_iter=200, dt=0.1):
    """Replicator dynamics dx_i/dt = x_i (f_i - x.f), f = A x, in n_iter steps of dt.

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
    n_iter : int >= 0
        Number of steps (the old name ``steps`` still works, with a warning).
    dt : float > 0
        Step size.

    Returns
    -------
    (n_iter + 1, n) float64 array on payoff_matrix's device
        The shares after each step, each row summing to 1 (row 0: the normalised start).
    """
    a, x = payoff_matrix, shares / shares.sum()
    xp = get_array_module(a)
    out = xp.empty((n_iter + 1, len(x)))
    out[0] = x
    alive = x > 0
    log_x = xp.log(xp.where(alive, x, 1.0))
    for t in range(1, n_iter + 1):
        z = xp.where(alive, log_x + dt * (a @ x), -xp.inf)
        w = xp.exp(z - z.max())
        out[t] = x = w / w.sum()
        alive = x > 0  # a share can underflow to 0 and then stays there
        log_x = xp.log(xp.where(alive, x, 1.0))
    return out


@renamed_keywords(steps="n_iter")
@checked(payoff_matrix=Custom(_check_matrix, **_ON_DEVICE),
         counts=Custom(_check_counts, **_ON_DEVICE), n_iter=Int(low=0), runs=Int(), seed=Seed(),
         intensity=Custom(_check_intensity, values=True), record=Bool())
def moran(payoff_matrix, counts, n_iter=1000, runs=1, seed=0, intensity=1.0, record=True):
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
    n_iter : int >= 0
        Number of birth-death steps (the old name ``steps`` still works, with a warning).
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
        (n_iter + 1, runs, n) counts after each step, or with record=False the final
        (runs, n); every row sums to the population size.
    """
    a = payoff_matrix
    xp = get_array_module(a)
    n, size = a.shape[0], int(counts.sum())
    keys = seed_keys(seed, xp.arange(runs), xp=xp)
    c = xp.tile(counts, (runs, 1))
    out = xp.empty((n_iter + 1 if record else 1, runs, n), dtype=xp.int64)
    out[0] = c
    rows = xp.arange(runs)
    for t in range(1, n_iter + 1):
        payoff = (c.astype(xp.float64) @ a.T - xp.diag(a)) / (size - 1)  # not against oneself
        fitness = xp.maximum(1 - intensity + intensity * payoff, 0)
        alive = xp.cumsum(c, axis=1).astype(xp.float64)
        cum = xp.cumsum(c * fitness, axis=1)
        if intensity == 1:  # only then can every fitness be 0: draw among the living
            cum = xp.where((cum[:, -1] > 0)[:, None], cum, alive)
        birth = _choose(cum, uniform(keys, 2 * t))
        death = _choose(alive, uniform(keys, 2 * t + 1))
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
