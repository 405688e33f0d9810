"""course_utils.cosine_similarity against scikit-learn's and against a bare matrix product.

The bare product X @ Y.T of the raw inputs is the floor: any cosine similarity must at least
multiply the matrices. Each case is measured in the same run, rounds interleaved so that a
slow spell of the machine hits every contender alike, and printed as a ratio of medians.

    python bench/similarity.py            # sizes 4000x256 and 8000x512, float64 and float32
    python bench/similarity.py --quick    # 4000x256 only
"""

import argparse
import statistics
import time

import numpy as np
from sklearn.metrics.pairwise import cosine_similarity as sklearn_cosine_similarity

from course_utils import backend
from course_utils.similarity import cosine_similarity


def interleaved(contenders, rounds):
    """Median seconds of each contender, timing them in turn each round (GPU synchronised)."""
    times = {name: [] for name in contenders}
    for fn in contenders.values():  # warm-up: caches, thread pools, CUDA kernels
        fn()
    backend.synchronize()
    for _ in range(rounds):
        for name, fn in contenders.items():
            start = time.perf_counter()
            fn()
            backend.synchronize()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def report(title, medians, reference):
    print(f"  {title}")
    for name, seconds in medians.items():
        ratio = seconds / medians[reference]
        print(f"    {name:34} {seconds * 1e3:9.2f} ms   {ratio:5.2f}x {reference}")


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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the 4000x256 size")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    sizes = [(4000, 256)] if args.quick else [(4000, 256), (8000, 512)]
    status = backend.gpu_available()
    print(f"GPU: {status.reason}" if status else f"No GPU ({status.reason}): CPU only")
    rng = np.random.default_rng(0)
    for n, d in sizes:
        for dtype in (np.float64, np.float32):
            x = rng.standard_normal((n, d)).astype(dtype)
            y = rng.standard_normal((n, d)).astype(dtype)
            compare(x, y, f"{n}x{d} against {n}x{d}, {np.dtype(dtype).name}", args.rounds,
                    bool(status))


if __name__ == "__main__":
    main()
