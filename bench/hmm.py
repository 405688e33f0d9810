"""course_utils.hmm against its peers: Baum-Welch against hmmlearn, the vectorised
forward-backward against a by-hand loop, and one sequence of 10^5 steps.

Baum-Welch: 200 sequences of 500 symbols, 3 hidden states, 10 symbols, 20 iterations, ours
against hmmlearn's CategoricalHMM from the same start for the same iterations (tol -inf, so
neither stops early), both scaled and both in log space; the fitted parameters are checked to
agree (1e-8) before the clock starts. The goal: ours at most 0.5x hmmlearn's scaled time.
Forward-backward: ours (packed, all sequences at once) against the plain-Python scaled loop
of the lesson, one sequence at a time, on the same sequences. Long: one sequence of 10^5
steps, ours against hmmlearn's score (ours: a product of matrices, pairwise in log2(T) rounds)
and posteriors (ours: the scaled loop over time).
Rounds are interleaved so that a slow spell of the machine hits every contender alike.

    python bench/hmm.py            # the issue's sizes
    python bench/hmm.py --quick    # the Baum-Welch goal alone (scaled, 3 rounds), a by-hand
                                   # loop on 5 sequences, one of 2 * 10^4 steps
"""

import numpy as np
from _timing import interleaved, report, start
from hmmlearn import hmm as hmmlearn

from course_utils import backend
from course_utils.hmm import baum_welch, forward_backward, random_hmm, sample, score

K, M, LENGTH, N_ITER = 3, 10, 500, 20


def by_hand_posteriors(pi, A, E, x):
    """The lesson's loops, scaled: P(z_t | x) for one sequence, as lists."""
    k = len(pi)
    alpha, c = [], []
    for t, symbol in enumerate(x):
        a = [pi[j] * E[j][symbol] for j in range(k)] if t == 0 else [
            sum(alpha[-1][i] * A[i][j] for i in range(k)) * E[j][symbol] for j in range(k)]
        c.append(sum(a))
        alpha.append([v / c[-1] for v in a])
    beta = [[1.0] * k]
    for t in range(len(x) - 1, 0, -1):
        beta.insert(0, [sum(A[i][j] * E[j][x[t]] * beta[0][j] for j in range(k)) / c[t]
                        for i in range(k)])
    return [[a * b for a, b in zip(at, bt, strict=True)] for at, bt in zip(alpha, beta,
                                                                          strict=True)]


def twin(model, n_iter, implementation):
    ref = hmmlearn.CategoricalHMM(K, n_features=M, init_params="", params="ste", n_iter=n_iter,
                                  tol=-np.inf, implementation=implementation)
    ref.startprob_, ref.transmat_, ref.emissionprob_ = (model.startprob, model.transmat,
                                                        model.emissionprob)
    return ref


def main():
    args, status = start(__doc__, "the goal alone (scaled), 3 rounds, by hand on 5 sequences, "
                         "2 * 10^4 steps", rounds=5)
    if args.quick:
        args.rounds = min(args.rounds, 3)
    n_seq = 200
    truth = random_hmm(K, M, seed=5, concentration=0.5, xp=np)
    lengths = [LENGTH] * n_seq
    X, _ = sample(truth, lengths, seed=0)
    X2 = X[:, None]
    init = random_hmm(K, M, seed=1, xp=np)

    methods = ("scaling",) if args.quick else ("scaling", "log")
    for method in methods:
        ours = baum_welch(init, X, lengths, max_iter=N_ITER, tol=0, method=method).model
        ref = twin(init, N_ITER, method).fit(X2, lengths)
        for mine, theirs in ((ours.startprob, ref.startprob_), (ours.transmat, ref.transmat_),
                             (ours.emissionprob, ref.emissionprob_)):
            np.testing.assert_allclose(mine, theirs, atol=1e-8)
    contenders = {}
    for method in methods:
        contenders[f"course_utils baum_welch ({method})"] = (
            lambda m=method: baum_welch(init, X, lengths, max_iter=N_ITER, tol=0, method=m))
        contenders[f"hmmlearn CategoricalHMM ({method})"] = (
            lambda m=method: twin(init, N_ITER, m).fit(X2, lengths))
    fits = interleaved(contenders, args.rounds)
    report(f"CPU, Baum-Welch, {n_seq} sequences x {LENGTH}, {K} states, {M} symbols, "
           f"{N_ITER} iterations (goal: ours scaled <= 0.50x hmmlearn scaled)", fits,
           "hmmlearn CategoricalHMM (scaling)")
    ratio = fits["course_utils baum_welch (scaling)"] / fits["hmmlearn CategoricalHMM (scaling)"]
    print(f"    ratio ours / hmmlearn, scaled: {ratio:.2f} "
          f"({'meets' if ratio <= 0.5 else 'misses'} the 0.5x goal)")
    if status:
        Xg = backend.to_device(X, "gpu")
        init_g = backend.to_device(init, "gpu")
        gpu = interleaved({"course_utils baum_welch (CuPy)": lambda: baum_welch(
            init_g, Xg, lengths, max_iter=N_ITER, tol=0)}, args.rounds)
        report("GPU, the same Baum-Welch", gpu, "course_utils baum_welch (CuPy)")

    n_hand = 5 if args.quick else 20
    few = [LENGTH] * n_hand
    X_few = X[:n_hand * LENGTH]
    lists = [init.startprob.tolist(), init.transmat.tolist(), init.emissionprob.tolist()]
    seqs = [X_few[i * LENGTH:(i + 1) * LENGTH].tolist() for i in range(n_hand)]

    def by_hand():
        return [by_hand_posteriors(*lists, x) for x in seqs]

    np.testing.assert_allclose(np.concatenate(by_hand()),
                               forward_backward(init, X_few, few).posterior, atol=1e-12)
    loops = interleaved({"course_utils forward_backward": lambda: forward_backward(init, X_few,
                                                                                   few),
                         "by-hand loop, one sequence at a time": by_hand},
                        max(args.rounds // 2, 1))
    report(f"CPU, forward-backward, {n_hand} sequences x {LENGTH}", loops,
           "by-hand loop, one sequence at a time")

    n_long = 20_000 if args.quick else 100_000
    long_x, _ = sample(truth, n_long, seed=1)
    long_2 = long_x[:, None]
    ref = twin(truth, 1, "scaling")
    assert abs(score(truth, long_x)[0] - ref.score(long_2)) < 1e-6 * abs(ref.score(long_2))
    np.testing.assert_allclose(forward_backward(truth, long_x).posterior,
                               ref.predict_proba(long_2), atol=1e-8)
    long = interleaved({"course_utils score": lambda: score(truth, long_x),
                        "hmmlearn score (scaling)": lambda: ref.score(long_2),
                        "course_utils forward_backward": lambda: forward_backward(truth, long_x),
                        "hmmlearn predict_proba": lambda: ref.predict_proba(long_2)},
                       max(args.rounds // 2, 1))
    report(f"CPU, one sequence of {n_long} steps (log-likelihood {score(truth, long_x)[0]:.1f})",
           long, "hmmlearn score (scaling)")


if __name__ == "__main__":
    main()
