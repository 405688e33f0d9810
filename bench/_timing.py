"""What every benchmark shares: its command line, the GPU line, interleaved timing, ratios.

The benchmarks import it as `_timing` (Python puts bench/ on the path for `python bench/x.py`).
"""

import argparse
import statistics
import time

from course_utils import backend


def start(doc, quick_help, rounds):
    """Parse --quick and --rounds, print whether a GPU is used; return (args, GPUStatus)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--rounds", type=int, default=rounds)
    args = parser.parse_args()
    status = backend.gpu_available()
    print(f"GPU: {status.reason}" if status else f"No GPU ({status.reason}): CPU only")
    return args, status


def interleaved(contenders, rounds):
    """Median seconds of each contender, timing them in turn each round (GPU synchronised),
    so that a slow spell of the machine hits every contender alike."""
    times = {name: [] for name in contenders}
    for fn in contenders.values():  # warm-up: caches, thread pools, CUDA kernels
        fn()
    backend.synchronize()
    for _ in range(rounds):
        for name, fn in contenders.items():
            begin = time.perf_counter()
            fn()
            backend.synchronize()
            times[name].append(time.perf_counter() - begin)
    return {name: statistics.median(t) for name, t in times.items()}


def report(title, medians, reference):
    """Print each median and its ratio to the reference contender's."""
    print(f"  {title}")
    for name, seconds in medians.items():
        ratio = seconds / medians[reference]
        print(f"    {name:34} {seconds * 1e3:9.2f} ms   {ratio:5.2f}x {reference}")
