"""course_utils.clustering.kmeans against scikit-learn's KMeans, from the same initial centres.

Both run Lloyd's algorithm from the same k-means++ centres, so they do the same iterations
(checked: same number, same labels, same inertia) and the times compare like with like.
Rounds are interleaved so that a slow spell of the machine hits every contender alike.
scikit-learn runs Lloyd's loop on every core (OpenMP); its time on one thread is shown too.

    python bench/clustering.py            # 100000 x 16, k = 8 (the issue's size), float64
    python bench/clustering.py --quick    # 20000 x 16
"""

import numpy as np
from _timing import interleaved, report, start
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from threadpoolctl import threadpool_limits

from course_utils import backend
from course_utils.clustering import kmeans, kmeans_plusplus


def main():
    args, status = start(__doc__, "20000 rows instead of 100000", rounds=9)
    n, d, k = (20_000 if args.quick else 100_000), 16, 8
    X, _ = make_blobs(n, d, centers=k, cluster_std=4.0, random_state=0)
    init = kmeans_plusplus(X, k, seed=0)

    def ours():
        return kmeans(X, k, init=init)

    def sklearn():
        return KMeans(k, init=init, n_init=1, algorithm="lloyd").fit(X)

    def sklearn_one_thread():
        with threadpool_limits(1):
            return sklearn()

    a, b = ours(), sklearn()
    assert a.n_iter == b.n_iter_ and np.array_equal(a.labels, b.labels_)
    assert abs(a.inertia - b.inertia_) <= 1e-9 * b.inertia_
    label = f"k-means {n}x{d}, k={k}, {a.n_iter} Lloyd iterations from the same centres"
    cpu = interleaved({"course_utils (NumPy)": ours, "scikit-learn KMeans": sklearn,
                       "scikit-learn KMeans, one thread": sklearn_one_thread}, args.rounds)
    report(f"CPU, {label}", cpu, "scikit-learn KMeans")
    if status:
        Xg, init_g = backend.to_device((X, init), "gpu")
        g = kmeans(Xg, k, init=init_g)
        assert g.n_iter == a.n_iter
        assert abs(g.inertia - a.inertia) <= 1e-9 * a.inertia
        gpu = interleaved({"course_utils (CuPy)": lambda: kmeans(Xg, k, init=init_g)},
                          args.rounds)
        report(f"GPU, {label}", gpu, "course_utils (CuPy)")
        print(f"    GPU speed-up over course_utils on the CPU: "
              f"{cpu['course_utils (NumPy)'] / gpu['course_utils (CuPy)']:.1f}x")


if __name__ == "__main__":
    main()
