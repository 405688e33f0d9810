"""Implement it yourself, checked at once: a lesson's exercise hands the learner's function to
a checker here, which runs it on generated cases, smallest first, against the package's own
reference and prints one verdict.

    check.cosine_similarity(my_cosine_similarity)

prints either ``all 14 cases agree`` or the smallest case that fails, what was expected and
what came back, and a hint for the usual mistake ("rows of zeros: expected 0, got nan: guard
the division"). An exception in the learner's code is reported as that case's failure, and a
result of the wrong type, shape, dtype or device is said in words. The checker returns a
Verdict (true when every case agreed), so a solution cell can ``assert`` it.

Each checker is a few lines: its cases (from tiny to the lesson's sizes, the edge cases of
the exercise included), the reference, a tolerance, and the hints. ``run`` does the rest.
"""

import copy
import traceback
from dataclasses import dataclass, field

import numpy as np

from . import markov, similarity, stats
from ._checks import Function, checked, from_outside
from .backend import is_cupy_array, to_numpy, where
from .backend import xp as current_xp


@dataclass(frozen=True)
class Case:
    """One input of a check: what it is in words, and the arguments the function gets."""

    label: str
    args: tuple
    kwargs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    """What a checker found. True when every case agreed; printed as the verdict.

    Attributes
    ----------
    passed : bool.  n_cases : int, how many cases ran (up to and including the failing one).
    case : the failing Case, or None.  expected, received : its expected and received values.
    message : str, the verdict in words (what the checker printed).
    """

    passed: bool
    n_cases: int
    message: str
    case: Case | None = None
    expected: object = None
    received: object = None

    def __bool__(self):
        return self.passed

    def __str__(self):
        return self.message

    def _repr_pretty_(self, printer, cycle):  # the verdict is printed already: say it briefly
        printer.text(f"Verdict(passed={self.passed}, n_cases={self.n_cases})")


@dataclass(frozen=True)
class Hint:
    """A common mistake: when(case, expected, received) says whether it explains a failure
    (received is a host NumPy array of the expected shape, or whatever came back)."""

    when: object
    text: str


def _describe(value):
    if is_cupy_array(value) or isinstance(value, np.ndarray):
        host = to_numpy(value)
        shown = np.array2string(host, precision=4, suppress_small=True, threshold=20)
        return f"{shown} (shape {host.shape}, {host.dtype}, {where(value)})"
    return repr(value)


def _problem(expected, received, *, rtol, atol):
    """Why received is not expected, in words, or None when they agree. Both may be arrays,
    or tuples of arrays (compared item by item)."""
    if isinstance(expected, tuple):
        if not isinstance(received, tuple | list) or len(received) != len(expected):
            return f"expected a tuple of {len(expected)} results, got {type(received).__name__}"
        for i, (e, r) in enumerate(zip(expected, received, strict=True)):
            problem = _problem(e, r, rtol=rtol, atol=atol)
            if problem:
                return f"result {i}: {problem}"
        return None
    if not (is_cupy_array(received) or isinstance(received, np.ndarray | np.generic | float)):
        return f"expected an array, got {type(received).__name__}"
    if where(received) != where(expected) and hasattr(received, "shape"):
        return (f"the result is {where(received)}, the inputs are {where(expected)}: "
                f"compute with the inputs' own module (xp = get_array_module(X))")
    got, want = np.asarray(to_numpy(received)), np.asarray(to_numpy(expected))
    if got.shape != want.shape:
        return f"expected shape {want.shape}, got shape {got.shape}"
    if got.dtype.kind not in "fiu":
        return f"expected real numbers, got dtype {got.dtype}"
    if want.dtype == np.float32 and got.dtype == np.float64:
        return "the inputs are float32 and the result float64: keep the inputs' precision"
    bad = ~np.isclose(got, want, rtol=rtol, atol=atol, equal_nan=False)
    if bad.any():
        where_bad = tuple(int(i) for i in np.argwhere(bad)[0])
        entry = f" at {where_bad}" if where_bad else ""
        return f"expected {want[where_bad]:.6g}{entry}, got {got[where_bad]:.6g}"
    return None


def run(fn, cases, reference, *, rtol=1e-7, atol=1e-10, hints=(), name=None):
    """Run fn on each case, smallest first, against reference; return the Verdict (printed
    too): all agree, or the first case that does not, with a hint.

    Parameters
    ----------
    fn : the learner's function, called as fn(*case.args, **case.kwargs) on copies of the
        arguments (so changing them in place cannot spoil the reference).
    cases : list of Case, in the order to try (small before large, so the first failure is the
        smallest one generated).
    reference : the function that gives the expected value, called the same way.
    rtol, atol : float, the tolerance (numpy.isclose).
    hints : Hint objects; the first whose ``when`` holds is shown with a failure.
    name : str, what to call fn in the verdict (default its __name__).

    Returns
    -------
    Verdict
    """
    name = name or getattr(fn, "__name__", "your function")
    learner = from_outside(fn)
    for i, case in enumerate(cases, start=1):
        expected = reference(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
        try:
            received = learner(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
        except Exception as err:  # the learner's bug is the case's failure, not a traceback
            where_raised = traceback.extract_tb(err.__traceback__)[-1]
            line = f": {where_raised.line}" if where_raised.line else ""
            message = (f"case {i} of {len(cases)} fails: {case.label}\n"
                       f"  {name} raised {type(err).__name__}: {err}\n"
                       f"  (in {where_raised.name}, line {where_raised.lineno}{line})")
            return _report(Verdict(False, i, message, case, expected, err))
        problem = _problem(expected, received, rtol=rtol, atol=atol)
        if problem:
            message = (f"case {i} of {len(cases)} fails: {case.label}\n  {problem}\n"
                       f"  expected: {_describe(expected)}\n  received: {_describe(received)}")
            hint = _first_hint(hints, case, expected, received)
            if hint:
                message += f"\n  hint: {hint}"
            return _report(Verdict(False, i, message, case, expected, received))
    return _report(Verdict(True, len(cases), f"{name}: all {len(cases)} cases agree with the "
                                             f"reference"))


def _first_hint(hints, case, expected, received):
    for hint in hints:
        try:
            if hint.when(case, expected, received):
                return hint.text
        except Exception:  # a hint that does not apply to this result's shape
            continue
    return None


def _report(verdict):
    print(("✓ " if verdict.passed else "✗ ") + verdict.message)
    return verdict


def _close(a, b, rtol=1e-7, atol=1e-10):
    """Whether received a matches b (both host-able arrays of one shape)."""
    a, b = np.asarray(to_numpy(a)), np.asarray(to_numpy(b))
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def _norms(X):
    return np.linalg.norm(np.asarray(to_numpy(X), dtype=np.float64), axis=1)


def _rng_arrays(xp, seed, *shapes, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return [xp.asarray(rng.standard_normal(s).astype(dtype)) for s in shapes]


# ----------------------------------------------------------------------------- lesson 01


@checked(fn=Function("a function of X (n, d) returning the (n, n) similarities"))
def cosine_similarity(fn, *, xp=None):
    """Check fn(X) -> S, S[i, j] the cosine similarity of rows i and j of X (n, d), with 0
    wherever a row is all zeros (lesson 01, Implement it yourself).

    Parameters
    ----------
    fn : the learner's function, fn(X (n, d)) -> S (n, n).
    xp : numpy or cupy, the device the cases are made on (default the current one).

    Returns
    -------
    Verdict, printed: true when all six cases (a zero row, float32, 200 x 64 ...) agree.
    """
    xp = xp or current_xp()
    (one,) = _rng_arrays(xp, 0, (1, 3))
    X, big = _rng_arrays(xp, 1, (4, 3), (200, 64))
    zero = xp.asarray(np.array([[3.0, 4.0], [0.0, 0.0], [1.0, -2.0]]))
    cases = [
        Case("one row of 3 features", (one,)),
        Case("4 rows of 3 features", (X,)),
        Case("3 rows, the second all zeros", (zero,)),
        Case("4 rows in float32", (X.astype(xp.float32),)),
        Case("rows far from the origin (1e8 times longer)", (X * 1e8,)),
        Case("200 rows of 64 features (the lesson's size)", (big,)),
    ]
    hints = [
        Hint(lambda c, e, r: np.isnan(to_numpy(r)).any(),
             "rows of zeros: expected 0, got nan: guard the division by the norm"),
        Hint(lambda c, e, r: to_numpy(r).shape == (c.args[0].shape[1],) * 2,
             "the result is (d, d): compare rows, X @ X.T, not columns, X.T @ X"),
        Hint(lambda c, e, r: _close(r, c.args[0] @ c.args[0].T),
             "that is the dot product: divide by both rows' norms"),
        Hint(lambda c, e, r: any(_close(r, to_numpy(e) * norms) for norms in (
                 _norms(c.args[0])[:, None], _norms(c.args[0])[None, :])),
             "divide by the norms of both rows, row i's and row j's"),
    ]
    return run(fn, cases, similarity.cosine_similarity, rtol=1e-5, atol=1e-6, hints=hints)


# ----------------------------------------------------------------------------- lesson 04


@checked(fn=Function("a function of X (n, d) returning the (d, d) covariance"))
def unbiased_covariance(fn, *, xp=None):
    """Check fn(X) -> the unbiased sample covariance Σᵢ (xᵢ - x̄)(xᵢ - x̄)ᵀ / (n - 1) of the
    rows of X (n, d), n >= 2 (lesson 04, Implement it yourself).

    Parameters
    ----------
    fn : the learner's function, fn(X (n, d)) -> C (d, d), in X's dtype.
    xp : numpy or cupy; the cases (two samples up to 500 x 8, mean 1e6, float32) live there.

    Returns
    -------
    Verdict, printed: true when every case agrees with stats.sample_cov.
    """
    xp = xp or current_xp()
    two, X, wide, big = _rng_arrays(xp, 4, (2, 1), (5, 2), (3, 6), (500, 8))
    cases = [
        Case("two samples of one feature", (two,)),
        Case("5 samples of 2 features", (X,)),
        Case("3 samples of 6 features (more features than samples)", (wide,)),
        Case("5 samples far from the origin (mean 1e6)", (X + 1e6,)),
        Case("5 samples in float32", (X.astype(xp.float32),)),
        Case("500 samples of 8 features (the lesson's size)", (big,)),
    ]
    n = lambda c: c.args[0].shape[0]  # noqa: E731
    hints = [
        Hint(lambda c, e, r: _close(r, e * (n(c) - 1) / n(c)),
             "that divides by n: the unbiased estimate divides by n - 1 (Bessel's correction)"),
        Hint(lambda c, e, r: to_numpy(r).shape == (n(c), n(c)),
             "the result is (n, n): a covariance of features is Xcᵀ Xc, (d, d)"),
        Hint(lambda c, e, r: _close(r, c.args[0].T @ c.args[0] / (n(c) - 1)),
             "centre the samples first: subtract the mean of each feature"),
    ]
    return run(fn, cases, stats.sample_cov, rtol=1e-6, atol=1e-9, hints=hints)


# ----------------------------------------------------------------------------- lesson 08


@checked(fn=Function("a function of P (k, k) returning the stationary distribution (k,)"))
def stationary_distribution(fn, *, xp=None):
    """Check fn(P) -> π, the stationary distribution (π P = π, entries >= 0 summing to 1) of
    an irreducible chain with transition matrix P (k, k), rows summing to 1 (lesson 08,
    Implement it yourself).

    Parameters
    ----------
    fn : the learner's function, fn(P (k, k)) -> π (k,).
    xp : numpy or cupy, where the chains (1 to 50 states, periodic, sparse) are made.

    Returns
    -------
    Verdict, printed: true when π agrees with markov.stationary on every chain.
    """
    xp = xp or current_xp()
    rng = np.random.default_rng(8)

    def chain(k, zeros=0.0):
        P = rng.random((k, k)) * (rng.random((k, k)) >= zeros)
        P[np.arange(k), (np.arange(k) + 1) % k] += 0.5  # a cycle keeps it irreducible
        return xp.asarray(P / P.sum(axis=1, keepdims=True))

    cases = [
        Case("one state", (xp.asarray(np.array([[1.0]])),)),
        Case("two states", (xp.asarray(np.array([[0.9, 0.1], [0.5, 0.5]])),)),
        Case("three states in a cycle (periodic)",
             (xp.asarray(np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])),)),
        Case("5 states", (chain(5),)),
        Case("8 states, half the transitions structural zeros", (chain(8, zeros=0.5),)),
        Case("50 states (the lesson's size)", (chain(50),)),
    ]
    hints = [
        Hint(lambda c, e, r: abs(float(to_numpy(r).sum()) - 1) > 1e-6
             and _close(r / to_numpy(r).sum(), e),
             "the direction is right: normalise π so that its entries sum to 1"),
        Hint(lambda c, e, r: np.abs(to_numpy(r)).max() > 0
             and _close(to_numpy(c.args[0]) @ to_numpy(r), to_numpy(r)),
             "that solves P π = π (a right eigenvector, the all-ones direction): π is a left "
             "eigenvector, π P = π, an eigenvector of P.T"),
    ]
    return run(fn, cases, lambda P: markov.stationary(P, method="solve"), rtol=1e-6, atol=1e-9,
               hints=hints)
