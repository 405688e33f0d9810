"""The batched covariance simulation of lesson 04: NumPy against CuPy, and against a loop.

One simulation draws n_trials samples of N = 50 points from a 3-D Gaussian and estimates the
covariance of each (the 1/N estimate). Batched, that is one gaussian_samples and one
sample_cov call over all trials; the peer is a Python loop over trials calling numpy.cov.
Each case is measured in the same run, rounds interleaved, and printed as a ratio of medians.

    python bench/stats.py            # 20 000 trials (with the loop) and 200 000 trials
    python bench/stats.py --quick    # 20 000 trials only
"""

import numpy as np
from _timing import interleaved, report, start

from course_utils.stats import gaussian_samples, sample_cov

COV = np.array([[1.0, 0.6, 0.36], [0.6, 1.0, 0.6], [0.36, 0.6, 1.0]])
N = 50


def simulate(cov, n_trials):
    """The batched simulation: (n_trials, 3, 3) covariance estimates, on cov's device."""
    return sample_cov(gaussian_samples(cov, N, n_trials, seed=0), ddof=0)


def simulate_in_a_loop(n_trials):
    """The same simulation one trial at a time, with numpy.cov."""
    rng, chol = np.random.default_rng(0), np.linalg.cholesky(COV)
    return np.stack([np.cov(rng.standard_normal((N, 3)) @ chol.T, rowvar=False, bias=True)
                     for _ in range(n_trials)])


def main():
    args, status = start(__doc__, "20 000 trials only", rounds=7)
    if status:
        import cupy

        cov_gpu = cupy.asarray(COV)
    for n_trials in [20_000] if args.quick else [20_000, 200_000]:
        contenders = {"batched (NumPy)": lambda n=n_trials: simulate(COV, n)}
        if status:
            contenders["batched (CuPy)"] = lambda n=n_trials: simulate(cov_gpu, n)
        if n_trials <= 20_000:
            contenders["loop over trials (numpy.cov)"] = lambda n=n_trials: simulate_in_a_loop(n)
        medians = interleaved(contenders, args.rounds)
        report(f"{n_trials:,} trials of N = {N} points in 3-D (draw and estimate)", medians,
               "batched (NumPy)")
        for name, seconds in medians.items():
            print(f"    {name:34} {n_trials / seconds / 1e6:9.2f} million trials/s")


if __name__ == "__main__":
    main()
