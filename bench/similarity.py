"""course_utils.cosine_similarity against scikit-learn's and against a bare matrix product.

The bare product X @ Y.T of the raw inputs is the floor: any cosine similarity must at least
multiply the matrices. Each case is measured in the same run, rounds interleaved so that a
slow spell of the machine hits every contender alike, and printed as a ratio of medians.

    python bench/similarity.py            # sizes 4000x256 and 8000x512, float64 and float32
    python bench/similarity.py --quick    # 4000x256 only
"""

import numpy as np
from _timing import interleaved, report, start
from sklearn.metrics.pairwise import cosine_similarity as sklearn_cosine_similarity

from course_utils.similarity import cosine_similarity


def compare(x, y, label, rounds, gpu):
    """Time the contenders on x and y (NumPy arrays), on the CPU and, with gpu, on the GPU."""
    cpu = interleaved({"course_utils (NumPy)": lambda: cosine_similarity(x, y),
                       "scikit-learn": lambda: sklearn_cosine_similarity(x, y),
                       "bare X @ Y.T (NumPy)": lambda: x @ y.T}, rounds)
    report(f"CPU, {label}", cpu, "scikit-learn")
    print(f"    course_utils / bare product: "
          f"{cpu['course_utils (NumPy)'] / cpu['bare X @ Y.T (NumPy)']:.2f}x")
    if gpu:
        import cupy

        xg, yg = cupy.asarray(x), cupy.asarray(y)
        on_gpu = interleaved({"course_utils (CuPy)": lambda: cosine_similarity(xg, yg),
                              "bare X @ Y.T (CuPy)": lambda: xg @ yg.T}, rounds)
        report(f"GPU, {label}", on_gpu, "bare X @ Y.T (CuPy)")
        print(f"    GPU speed-up of course_utils over its CPU run: "
              f"{cpu['course_utils (NumPy)'] / on_gpu['course_utils (CuPy)']:.1f}x")


def main():
    args, status = start(__doc__, "only the 4000x256 size", rounds=15)
    sizes = [(4000, 256)] if args.quick else [(4000, 256), (8000, 512)]
    rng = np.random.default_rng(0)
    for n, d in sizes:
        for dtype in (np.float64, np.float32):
            x = rng.standard_normal((n, d)).astype(dtype)
            y = rng.standard_normal((n, d)).astype(dtype)
            compare(x, y, f"{n}x{d} against {n}x{d}, {np.dtype(dtype).name}", args.rounds,
                    bool(status))


if __name__ == "__main__":
    main()
