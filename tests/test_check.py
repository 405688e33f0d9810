"""The exercise checkers: the package's own function passes, realistic wrong answers fail on
the smallest case with the right hint, and a function that raises is reported, not crashed on."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils import (
    check,
    clustering,
    decomposition,
    markov,
    numerics,
    optim,
    similarity,
    stats,
)


def guarded_cosine(X):
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    U = X / np.where(norms == 0, 1, norms)
    return U @ U.T


def unguarded_cosine(X):
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    return U @ U.T


def column_cosine(X):
    U = X / np.linalg.norm(X, axis=0, keepdims=True)
    return U.T @ U


def half_normalised_cosine(X):
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X @ X.T / np.where(norms == 0, 1, norms)


def biased_covariance(X):
    Xc = X - X.mean(axis=0)
    return Xc.T @ Xc / len(X)


def uncentred_covariance(X):
    return X.T @ X / (len(X) - 1)


def sample_gram(X):
    Xc = X - X.mean(axis=0)
    return Xc @ Xc.T / (len(X) - 1)


def right_eigenvector(P):
    w, V = np.linalg.eig(P)
    return np.real(V[:, np.argmin(abs(w - 1))])


def unnormalised_left_eigenvector(P):
    w, V = np.linalg.eig(P.T)
    v = np.real(V[:, np.argmin(abs(w - 1))])
    return v / np.abs(v).max()


def left_eigenvector(P):
    w, V = np.linalg.eig(P.T)
    v = np.real(V[:, np.argmin(abs(w - 1))])
    return v / v.sum()


def adam(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, *, shift=0,
         corrected=True, eps_inside=False):
    """Adam's step by the formulas; the keywords make the usual mistakes."""
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    if corrected:
        m_hat, v_hat = m / (1 - beta1 ** (t + shift)), v / (1 - beta2 ** (t + shift))
    else:
        m_hat, v_hat = m, v
    root = np.sqrt(v_hat + eps) if eps_inside else np.sqrt(v_hat) + eps
    return theta - lr * m_hat / root, m, v


def adam_reference(theta, grad, m, v, t, **settings):
    optimizer = optim.Adam([theta], **{"lr": settings.get("lr", 1e-3),
                                      "betas": (settings.get("beta1", 0.9),
                                                settings.get("beta2", 0.999))})
    optimizer.t, optimizer.state[0]["m"], optimizer.state[0]["v"] = t - 1, m, v
    optimizer.step([grad])
    return theta, m, v


def lloyd(X, centers, *, nearest=np.argmin, first_on_ties=True, move=True):
    """One Lloyd step by hand; the keywords make the usual mistakes."""
    d2 = ((X[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
    labels = nearest(d2 if first_on_ties else d2[:, ::-1], axis=1)
    labels = labels if first_on_ties else len(centers) - 1 - labels
    if not move:
        return centers, labels
    new = [X[labels == j].mean(axis=0) if (labels == j).any() else centers[j]
           for j in range(len(centers))]
    return np.stack(new).astype(X.dtype), labels


def log_responsibilities(L, *, axis=1, in_logs=True, shift=True):
    """The E-step's normalisation by hand; the keywords make the usual mistakes."""
    top = L.max(axis=axis, keepdims=True) if shift else 0
    log_R = L - (top + np.log(np.exp(L - top).sum(axis=axis, keepdims=True)))
    return log_R if in_logs else np.exp(log_R)


def pca(X, k, *, centre=True, divisor=lambda n: n - 1, squared=True, axes_from_rows=True):
    """PCA by SVD by hand; the keywords make the usual mistakes."""
    U, s, Vt = np.linalg.svd(X - X.mean(axis=0) if centre else X, full_matrices=False)
    spread = s[:k] ** 2 / divisor(len(X)) if squared else s[:k]
    return (-Vt[:k] if axes_from_rows else U[:, :k].T), spread.astype(X.dtype)


def pca_reference(X, k):
    fit = decomposition.pca(X, k, method="svd")
    return fit.components, fit.explained_variance


def crashes(X):
    return X[10**6]


CHECKERS = [
    (check.cosine_similarity, similarity.cosine_similarity, guarded_cosine, [
        (unguarded_cosine, 3, "guard the division"),
        (column_cosine, 1, "not columns"),
        (lambda X: X @ X.T, 1, "divide by both rows' norms"),
        (half_normalised_cosine, 1, "both rows"),
    ]),
    (check.adam_step, adam_reference, adam, [
        (lambda *a, **k: adam(*a, **k, corrected=False), 1, "no bias correction"),
        (lambda *a, **k: adam(*a, **k, shift=1), 1, "wrong step"),
        (lambda *a, **k: adam(*a, **k, eps_inside=True), 3, "outside the square root"),
        (lambda theta, grad, m, v, t, **k: (adam(theta, grad, m, v, t, **k)[0], m, v), 1,
         "updated moments"),
    ]),
    (check.lloyd_step, clustering.lloyd_step, lloyd, [
        (lambda X, C: lloyd(X, C, nearest=np.argmax), 2, "not argmax"),
        (lambda X, C: lloyd(X, C, first_on_ties=False), 3, "first centre wins"),
        (lambda X, C: lloyd(X, C, move=False), 1, "move the centres"),
    ]),
    (check.log_responsibilities,
     lambda L: L - numerics.logsumexp(L, axis=1)[:, None], log_responsibilities, [
         (lambda L: log_responsibilities(L, shift=False), 3, "subtract each row's largest"),
         (lambda L: log_responsibilities(L, axis=0), 2, "not each column"),
         (lambda L: log_responsibilities(L, in_logs=False), 1, "not the responsibilities"),
     ]),
    (check.pca_by_svd, pca_reference, pca, [
        (lambda X, k: pca(X, k, centre=False), 1, "centre X first"),
        (lambda X, k: pca(X, k, squared=False), 1, "singular values"),
        (lambda X, k: pca(X, k, divisor=lambda n: n), 1, "not n"),
        (lambda X, k: pca(X, k, axes_from_rows=False), 1, "shape (k, d)"),
    ]),
    (check.unbiased_covariance, stats.sample_cov, lambda X: np.cov(X, rowvar=False).reshape(
        X.shape[1], X.shape[1]).astype(X.dtype), [
        (biased_covariance, 1, "n - 1"),
        (uncentred_covariance, 1, "centre the samples"),
        (sample_gram, 1, "(d, d)"),
    ]),
    (check.stationary_distribution, lambda P: markov.stationary(P, method="solve"),
     left_eigenvector, [
         (right_eigenvector, 2, "left eigenvector"),
         (unnormalised_left_eigenvector, 2, "sum to 1"),
         (lambda P: np.full(len(P), 1 / len(P)), 2, "left eigenvector"),  # P 1 = 1
         (lambda P: P[0], 2, None),
     ]),
]


@pytest.mark.parametrize("checker, reference, by_hand, wrong", CHECKERS,
                         ids=lambda x: getattr(x, "__name__", ""))
def test_the_reference_and_a_by_hand_solution_pass(checker, reference, by_hand, wrong, capsys):
    assert checker(reference)
    assert checker(by_hand)
    out = capsys.readouterr().out
    assert out.count("✓") == 2 and "cases agree" in out


@pytest.mark.parametrize("checker, reference, by_hand, wrong", CHECKERS,
                         ids=lambda x: getattr(x, "__name__", ""))
def test_wrong_answers_fail_on_their_smallest_case_with_the_hint(checker, reference, by_hand,
                                                                  wrong, capsys):
    for fn, first_failing_case, hint in wrong:
        verdict = checker(fn)
        assert not verdict
        assert verdict.n_cases == first_failing_case, verdict.message
        if hint is None:
            assert "hint" not in verdict.message
        else:
            assert "hint:" in verdict.message and hint in verdict.message, verdict.message
        assert verdict.message in capsys.readouterr().out


@pytest.mark.parametrize("checker", [c[0] for c in CHECKERS], ids=lambda c: c.__name__)
def test_a_function_that_raises_is_the_failing_case(checker):
    verdict = checker(lambda X, *rest, **settings: crashes(X))
    assert not verdict and verdict.n_cases == 1
    assert "raised IndexError" in verdict.message and "X[10**6]" in verdict.message
    assert isinstance(verdict.received, IndexError)


def test_the_starter_as_given_is_not_written_yet():
    def my_cosine_similarity(X):
        """Cosine similarity of every pair of rows."""
        raise NotImplementedError("your code here")

    verdict = check.cosine_similarity(my_cosine_similarity)
    assert not verdict and verdict.n_cases == 0
    assert verdict.message.startswith("my_cosine_similarity is not written yet")


def test_wrong_precision_type_and_changing_the_input_are_said_in_words():
    assert "keep the inputs' precision" in check.cosine_similarity(
        lambda X: guarded_cosine(X.astype(np.float64))).message
    assert "expected an array, got list" in check.unbiased_covariance(
        lambda X: stats.sample_cov(X).tolist()).message

    def in_place(X):  # changes its argument: the checker's copies keep the reference honest
        X -= X.mean(axis=0)
        return X.T @ X / (len(X) - 1)

    assert check.unbiased_covariance(in_place)


def test_a_checker_names_a_bad_argument():
    with pytest.raises(TypeError, match="fn must be a function of X"):
        check.cosine_similarity("not a function")


@pytest.mark.gpu
def test_the_checkers_hand_device_arrays_and_catch_a_host_result():
    import cupy

    assert check.cosine_similarity(similarity.cosine_similarity, xp=cupy)
    verdict = check.cosine_similarity(lambda X: cupy.asnumpy(similarity.cosine_similarity(X)),
                                      xp=cupy)
    assert not verdict and "the result is a NumPy array (CPU)" in verdict.message
    assert check.stationary_distribution(lambda P: markov.stationary(P, method="solve"),
                                         xp=cupy)


@settings(max_examples=30, deadline=None)
@given(st.floats(-1e-3, 1e-3), st.integers(1, 6))
def test_property_run_passes_exactly_the_results_within_the_tolerance(delta, n):
    cases = [check.Case(f"{k} ones", (np.ones(k),)) for k in range(1, n + 1)]
    hints = [check.Hint(lambda c, e, r: np.all(r > e), "too large")]
    verdict = check.run(lambda x: x * (1 + delta), cases, lambda x: x, rtol=1e-6, atol=0,
                        hints=hints, name="scaled")
    assert bool(verdict) == (abs(delta) <= 1e-6)
    assert verdict.n_cases == (n if verdict else 1)
    assert ("too large" in verdict.message) == (not verdict and delta > 0)


@settings(max_examples=10, deadline=None)
@given(st.floats(1e-4, 1e-1))
def test_property_every_checker_rejects_a_perturbed_reference(delta):
    """Each checker's verdict (a Verdict, false, saying what it expected) on its reference
    with the result scaled by 1 + delta (Adam's: the new parameters)."""
    def scaled_parameters(*args, **settings):
        theta, m, v = adam_reference(*args, **settings)
        return theta * (1 + delta), m, v

    for checker, wrong in [
            (check.cosine_similarity, lambda X: similarity.cosine_similarity(X) * (1 + delta)),
            (check.unbiased_covariance, lambda X: stats.sample_cov(X) * (1 + delta)),
            (check.stationary_distribution, lambda P: markov.stationary(P) * (1 + delta)),
            (check.adam_step, scaled_parameters),
            (check.pca_by_svd, lambda X, k: (pca_reference(X, k)[0],
                                             pca_reference(X, k)[1] * (1 + delta))),
            (check.log_responsibilities,
             lambda L: (L - numerics.logsumexp(L, axis=1)[:, None]) * (1 + delta)),
            (check.lloyd_step, lambda X, C: (clustering.lloyd_step(X, C)[0] * (1 + delta),
                                             clustering.lloyd_step(X, C)[1]))]:
        verdict = checker(wrong)
        assert isinstance(verdict, check.Verdict) and not verdict
        assert "expected" in verdict.message and "received" in verdict.message
