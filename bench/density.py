"""course_utils.density against scikit-learn (and SciPy): EM for a Gaussian mixture, and
kernel density evaluation.

EM: both start from the same mixture and run the same 20 iterations (tol=0), on overlapping
clusters (checked: the same log-likelihood to 1e-6). KDE: the same bandwidth and queries
(checked: the same densities to 1e-14; scikit-learn's tree is approximate in log space far
from the data). SciPy's gaussian_kde does the same work with its own bandwidth matrix.
Rounds are interleaved; medians are printed.

    python bench/density.py            # EM 20000 x 16, 8 full components; KDE 2000 x 20000
    python bench/density.py --quick    # a quarter of the points
"""

import warnings

import numpy as np
from _timing import interleaved, report, start
from scipy.stats import gaussian_kde
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import KernelDensity

from course_utils import backend
from course_utils.density import fit_mixture, kde_log_density, rule_of_thumb_bandwidth


def bench_em(n, rounds, gpu, n_iter=20):
    X, _ = make_blobs(n, 16, centers=8, cluster_std=1.0, center_box=(-1, 1), random_state=0)
    init = fit_mixture(X, 8, max_iter=1, seed=0).mixture  # k-means labels, one EM step

    def ours():
        return fit_mixture(X, 8, init=init, max_iter=n_iter, tol=0)

    def sklearn():
        return GaussianMixture(8, weights_init=init.weights, means_init=init.means,
                               precisions_init=np.linalg.inv(init.covariances),
                               init_params="random_from_data", max_iter=n_iter, tol=0).fit(X)

    a, b = ours(), sklearn()
    assert a.n_iter == b.n_iter_ and abs(a.history[-1] - b.lower_bound_) < 1e-6
    label = f"EM {n}x16, 8 full components, {n_iter} iterations from the same start"
    cpu = interleaved({"course_utils (NumPy)": ours, "scikit-learn GaussianMixture": sklearn},
                      rounds)
    report(f"CPU, {label}", cpu, "scikit-learn GaussianMixture")
    if gpu:
        Xg, init_g = backend.to_device((X, init), "gpu")  # the data and the whole mixture

        def on_device():
            return fit_mixture(Xg, 8, init=init_g, max_iter=n_iter, tol=0)

        assert abs(on_device().history[-1] - a.history[-1]) < 1e-6
        on_gpu = interleaved({"course_utils (CuPy)": on_device}, rounds)
        report(f"GPU, {label}", on_gpu, "course_utils (CuPy)")
        print(f"    GPU speed-up over course_utils on the CPU: "
              f"{cpu['course_utils (NumPy)'] / on_gpu['course_utils (CuPy)']:.1f}x")


def bench_kde(n_queries, n_data, d, rounds, gpu):
    rng = np.random.default_rng(d)
    data, queries = rng.standard_normal((n_data, d)), rng.standard_normal((n_queries, d))
    h = rule_of_thumb_bandwidth(data)
    tree = KernelDensity(bandwidth=h).fit(data)
    scipy_kde = gaussian_kde(data.T)
    ours, theirs = kde_log_density(queries, data, h), tree.score_samples(queries)
    np.testing.assert_allclose(np.exp(ours), np.exp(theirs), rtol=1e-9, atol=1e-14)
    label = f"Gaussian KDE, {n_queries} queries against {n_data} points in {d}-D"
    cpu = interleaved({"course_utils (NumPy)": lambda: kde_log_density(queries, data, h),
                       "scikit-learn KernelDensity": lambda: tree.score_samples(queries),
                       "SciPy gaussian_kde.logpdf": lambda: scipy_kde.logpdf(queries.T)},
                      rounds)
    report(f"CPU, {label}", cpu, "scikit-learn KernelDensity")
    if gpu:
        data_g, queries_g = backend.to_device((data, queries), "gpu")
        np.testing.assert_allclose(backend.to_numpy(kde_log_density(queries_g, data_g, h)),
                                   ours, rtol=1e-9)
        on_gpu = interleaved({"course_utils (CuPy)":
                              lambda: kde_log_density(queries_g, data_g, h)}, rounds)
        report(f"GPU, {label}", on_gpu, "course_utils (CuPy)")
        print(f"    GPU speed-up over course_utils on the CPU: "
              f"{cpu['course_utils (NumPy)'] / on_gpu['course_utils (CuPy)']:.1f}x")


def main():
    args, status = start(__doc__, "a quarter of the points", rounds=5)
    scale = 4 if args.quick else 1
    warnings.simplefilter("ignore", ConvergenceWarning)
    bench_em(20_000 // scale, args.rounds, bool(status))
    for d in (2, 8):
        bench_kde(2_000 // scale, 20_000 // scale, d, args.rounds, bool(status))


if __name__ == "__main__":
    main()
