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

from . import clustering, decomposition, markov, numerics, optim, similarity, stats
from ._checks import Function, checked, from_outside
from .backend import get_array_module, is_cupy_array, to_numpy, where
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
    if isinstance(value, tuple):
        return "(" + ", ".join(_describe(v) for v in value) + ")"
    if is_cupy_array(value) or isinstance(value, np.ndarray):
        host = to_numpy(value)
        shown = np.array2string(host, precision=4, suppress_small=True, threshold=20,
                                edgeitems=2)
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
        return f"expected {want[where_bad]:.10g}{entry}, got {got[where_bad]:.10g}"
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
        except NotImplementedError:  # the starter as the lesson gives it
            return _report(Verdict(False, 0, f"{name} is not written yet (it raises "
                                             f"NotImplementedError): write its body, run its "
                                             f"cell, then run this check again"))
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


# ----------------------------------------------------------------------------- lesson 03


def _adam_reference(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """optim.Adam's step t from the state (m, v) of step t - 1: (theta, m, v) after it."""
    opt = optim.Adam([theta], lr=lr, betas=(beta1, beta2), eps=eps)
    opt.t, opt.state[0]["m"], opt.state[0]["v"] = t - 1, m, v
    opt.step([grad])
    return theta, opt.state[0]["m"], opt.state[0]["v"]


def _adam_variant(case, *, t_shift=0, corrected=True, eps_inside=False):
    """Adam's step written with one usual mistake, to recognise it in a learner's answer."""
    theta, g, m, v, t = (np.asarray(to_numpy(a), dtype=np.float64) if hasattr(a, "shape")
                         else a for a in case.args[:5])
    lr, b1, b2, eps = (case.kwargs.get(k, d) for k, d in
                       (("lr", 1e-3), ("beta1", 0.9), ("beta2", 0.999), ("eps", 1e-8)))
    m, v, tc = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g, t + t_shift
    with np.errstate(all="ignore"):  # t - 1 = 0 divides by zero: that variant is just wrong
        m_hat, v_hat = (m / (1 - b1**tc), v / (1 - b2**tc)) if corrected else (m, v)
        step = m_hat / (np.sqrt(v_hat + eps) if eps_inside else np.sqrt(v_hat) + eps)
    return theta - lr * step


def _theta_is(variant):
    """A hint's test: the parameters came out wrong, as this variant computes them."""
    return lambda c, e, r: not _close(r[0], e[0]) and _close(r[0], variant(c))


@checked(fn=Function("a function (theta, grad, m, v, t, lr, beta1, beta2, eps) -> "
                     "(theta, m, v)"))
def adam_step(fn, *, xp=None):
    """Check fn(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8) -> (theta,
    m, v): Adam's step number t (t >= 1) from the moments m, v of the step before, returning
    the new parameters and moments (lesson 03, Implement it yourself).

    Parameters
    ----------
    fn : the learner's function; theta, grad, m, v are arrays of one shape, t an int.
    xp : numpy or cupy, where the cases (the first step, step 10, a zero gradient, a gradient
        of 1e3, float32, a (64, 10) layer) are made.

    Returns
    -------
    Verdict, printed: true when all three results agree with optim.Adam on every case.
    """
    xp = xp or current_xp()
    theta, grad, m, v = _rng_arrays(xp, 3, (3,), (3,), (3,), (3,))
    v = v * v / 10  # a second moment is >= 0
    big = _rng_arrays(xp, 30, (64, 10), (64, 10))
    cases = [
        Case("the first step (t = 1, m = v = 0) of 3 parameters",
             (theta, grad, 0 * m, 0 * v, 1)),
        Case("the second step", (theta, grad, m, v, 2)),
        Case("a tiny gradient (1e-4) at the first step",
             (theta, 1e-4 * grad, 0 * m, 0 * v, 1)),
        Case("step 10, lr = 0.01", (theta, grad, m, v, 10), {"lr": 0.01}),
        Case("a zero gradient at step 5", (theta, 0 * grad, m, v, 5)),
        Case("a gradient of 1e3 at step 1", (theta, 1e3 * grad, 0 * m, 0 * v, 1)),
        Case("float32 parameters at step 3",
             tuple(a.astype(xp.float32) for a in (theta, grad, m, v)) + (3,)),
        Case("a (64, 10) layer at step 100, beta2 = 0.99",
             (big[0], big[1], xp.zeros((64, 10)), xp.zeros((64, 10)), 100), {"beta2": 0.99}),
    ]
    hints = [
        Hint(_theta_is(lambda c: _adam_variant(c, corrected=False)),
             "no bias correction: divide m by 1 - beta1**t and v by 1 - beta2**t"),
        Hint(_theta_is(lambda c: _adam_variant(c, t_shift=-1)),
             "the correction uses the wrong step: t is this step's number, starting at 1"),
        Hint(_theta_is(lambda c: _adam_variant(c, t_shift=1)),
             "the correction uses the wrong step: t is this step's number, starting at 1"),
        Hint(_theta_is(lambda c: _adam_variant(c, eps_inside=True)),
             "eps goes outside the square root: sqrt(v_hat) + eps"),
        Hint(lambda c, e, r: _close(r[1], c.args[2]) and not _close(e[1], c.args[2]),
             "return the updated moments: m = beta1 m + (1 - beta1) g, and v likewise"),
    ]
    return run(fn, cases, _adam_reference, rtol=1e-6, atol=1e-9, hints=hints)


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


# ----------------------------------------------------------------------------- lesson 06


def _distances(case):
    X, centers = (np.asarray(to_numpy(a), dtype=np.float64) for a in case.args)
    return ((X[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)


@checked(fn=Function("a function (X, centers) -> (new_centers, labels)"))
def lloyd_step(fn, *, xp=None):
    """Check fn(X, centers) -> (new_centers, labels): one step of Lloyd's algorithm, each row
    of X (n, d) labelled with its nearest centre (the first on a tie), then each centre (k, d)
    moved to the mean of its rows (lesson 06, Implement it yourself). No case leaves a cluster
    empty.

    Parameters
    ----------
    fn : the learner's function; labels are ints (n,), new_centers (k, d) in X's dtype.
    xp : numpy or cupy, where the cases (one centre up to 1000 points and 5 centres, a tie,
        float32, points far from the origin) are made.

    Returns
    -------
    Verdict, printed: true when centres and labels agree with clustering.lloyd_step.
    """
    xp = xp or current_xp()
    rng = np.random.default_rng(6)
    blobs = rng.standard_normal((1000, 2)) + np.repeat(rng.uniform(-8, 8, (5, 2)), 200, axis=0)
    six = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [5.0, 5.0], [5.0, 6.0], [6.0, 5.0]])
    line = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [2.5, 0.0]])
    cases = [
        Case("2 points, 1 centre", (xp.asarray(six[:2]), xp.asarray(six[:1]))),
        Case("6 points, 2 centres", (xp.asarray(six), xp.asarray(six[[0, 3]]))),
        Case("4 points on a line, the second halfway between the 2 centres (a tie)",
             (xp.asarray(line), xp.asarray(line[[0, 2]]))),
        Case("6 points in float32", (xp.asarray(six, dtype=xp.float32),
                                     xp.asarray(six[[1, 4]], dtype=xp.float32))),
        Case("6 points far from the origin (1e6)", (xp.asarray(six + 1e6),
                                                     xp.asarray(six[[0, 3]] + 1e6))),
        Case("1000 points, 5 centres (the lesson's size)",
             (xp.asarray(blobs), xp.asarray(blobs[::200] + 0.5))),
    ]
    hints = [
        Hint(lambda c, e, r: not _close(r[1], e[1])
             and _close(r[1], _distances(c).argmax(axis=1)),
             "each row goes to its nearest centre: argmin of the distances, not argmax"),
        Hint(lambda c, e, r: not _close(r[1], e[1]) and _close(
                 r[1], _distances(c).shape[1] - 1 - _distances(c)[:, ::-1].argmin(axis=1)),
             "on a tie the first centre wins (argmin picks the first smallest)"),
        Hint(lambda c, e, r: _close(r[0], c.args[1]),
             "move the centres: each becomes the mean of the rows labelled with it"),
        Hint(lambda c, e, r: np.asarray(to_numpy(r[1])).shape != (c.args[0].shape[0],),
             "labels has one entry per row of X, shape (n,)"),
    ]
    return run(fn, cases, clustering.lloyd_step, rtol=1e-6, atol=1e-9, hints=hints)


# ----------------------------------------------------------------------------- lesson 07


def _log_responsibilities(log_joint):
    """log r_nk = log_joint_nk - logsumexp_k log_joint_nk, the E-step's normalisation."""
    return log_joint - numerics.logsumexp(log_joint, axis=1)[:, None]


@checked(fn=Function("a function of log_joint (n, k) returning log R (n, k)"))
def log_responsibilities(fn, *, xp=None):
    """Check fn(log_joint) -> log_R: the E-step in log space. Given log_joint[n, k] =
    log(w_k N(x_n | k)), return log r_nk = log_joint[n, k] - log sum_j exp(log_joint[n, j])
    (lesson 07, Implement it yourself).

    Parameters
    ----------
    fn : the learner's function, fn(log_joint (n, k)) -> log_R (n, k), in its dtype.
    xp : numpy or cupy, where the cases (one point up to 2000 points and 8 components, log
        densities of -1000 and of +800, float32) are made.

    Returns
    -------
    Verdict, printed: true when log R agrees with the one computed by numerics.logsumexp.
    """
    xp = xp or current_xp()
    one, small, big = _rng_arrays(xp, 7, (1, 1), (3, 2), (2000, 8))
    cases = [
        Case("one point, one component", (one,)),
        Case("3 points, 2 components", (small,)),
        Case("3 points far from every component (log densities near -1000)",
             (small - 1000.0,)),
        Case("3 points with huge densities (log densities near +800)", (small + 800.0,)),
        Case("3 points in float32", (small.astype(xp.float32),)),
        Case("2000 points, 8 components (the lesson's size)", (10 * big - 50,)),
    ]
    hints = [
        Hint(lambda c, e, r: not np.isfinite(to_numpy(r)).all(),
             "exp of a large or very negative log density overflows or underflows: subtract "
             "each row's largest entry before exp (logsumexp), or use numerics.logsumexp"),
        Hint(lambda c, e, r: _close(r, to_numpy(c.args[0]) - np.log(
                 np.exp(to_numpy(c.args[0])).sum(axis=0, keepdims=True))),
             "normalise each row, over the components (axis=1), not each column"),
        Hint(lambda c, e, r: _close(r, np.exp(to_numpy(e))),
             "return the log responsibilities, not the responsibilities themselves"),
    ]
    return run(fn, cases, _log_responsibilities, rtol=1e-5, atol=1e-6, hints=hints)


# ----------------------------------------------------------------------------- lesson 12


def _signs_fixed(result):
    """(components, variances) with each component's sign chosen so that its largest entry
    (in absolute value) is positive: a principal axis has no sign of its own. Anything else
    is passed on as it is, for run to describe."""
    if not (isinstance(result, tuple | list) and len(result) == 2
            and getattr(result[0], "ndim", 0) == 2):
        return result
    components = result[0]
    xp = get_array_module(components)
    largest = xp.abs(components).argmax(axis=1)
    signs = xp.sign(components[xp.arange(components.shape[0]), largest])
    return components * xp.where(signs == 0, 1, signs)[:, None], result[1]


def _pca_reference(X, k):
    fit = decomposition.pca(X, k, method="svd")
    return _signs_fixed((fit.components, fit.explained_variance))


@checked(fn=Function("a function (X, k) -> (components (k, d), explained_variance (k,))"))
def pca_by_svd(fn, *, xp=None):
    """Check fn(X, k) -> (components, explained_variance): the top k principal axes of the
    rows of X (n, d) as the rows of components (k, d), unit length, descending, and the
    variance along each (k,), over n - 1 (lesson 12, Implement it yourself). Each axis may
    come with either sign.

    Parameters
    ----------
    fn : the learner's function; the results in X's dtype, on its device.
    xp : numpy or cupy, where the cases (3 samples up to 300 x 64 and k = 10, more features
        than samples, an offset of 1e6, float32) are made.

    Returns
    -------
    Verdict, printed: true when both results agree with decomposition.pca, signs aside.
    """
    xp = xp or current_xp()
    rng = np.random.default_rng(12)

    def data(n, d, offset=0.0):
        rotation = np.linalg.qr(rng.standard_normal((d, d)))[0]
        scales = 2.0 ** -np.arange(d)  # distinct variances: the axes are well defined
        return xp.asarray(rng.standard_normal((n, d)) * scales @ rotation + offset)

    small = data(10, 3)
    cases = [
        Case("3 samples of 2 features, k = 1", (data(3, 2), 1)),
        Case("10 samples of 3 features, k = 2", (small, 2)),
        Case("10 samples of 3 features far from the origin (1e6), k = 2", (small + 1e6, 2)),
        Case("10 samples of 3 features in float32, k = 2", (small.astype(xp.float32), 2)),
        Case("5 samples of 8 features (more features than samples), k = 3", (data(5, 8), 3)),
        Case("300 samples of 64 features, k = 10 (the lesson's size)", (data(300, 64), 10)),
    ]

    def variances(c, divisor):
        X = np.asarray(to_numpy(c.args[0]), dtype=np.float64)
        s = np.linalg.svd(X - X.mean(axis=0), compute_uv=False)[:c.args[1]]
        return s**2 / divisor(len(X)) if divisor else s

    hints = [
        Hint(lambda c, e, r: np.asarray(to_numpy(r[0])).shape == (c.args[1], len(c.args[0])),
             "the axes are rows of Vᵀ, in feature space: components has shape (k, d)"),
        Hint(lambda c, e, r: _close(r[1], variances(c, None)),
             "those are singular values: the variance along an axis is s² / (n - 1)"),
        Hint(lambda c, e, r: _close(r[1], variances(c, lambda n: n)),
             "divide by n - 1, not n (the unbiased variance of lesson 04)"),
        Hint(lambda c, e, r: not _close(r[0], e[0]) and _close(
                 r[0], _signs_fixed((np.linalg.svd(np.asarray(to_numpy(c.args[0])),
                                                   full_matrices=False)[2][:c.args[1]],
                                     None))[0]),
             "centre X first: subtract the mean of each feature before the SVD"),
    ]
    return run(lambda X, k: _signs_fixed(fn(X, k)), cases, _pca_reference, rtol=1e-5,
               atol=1e-7, hints=hints, name=getattr(fn, "__name__", None))


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
