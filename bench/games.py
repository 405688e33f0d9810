"""course_utils.games.tournament (vectorised) against one match at a time, and NumPy against CuPy.

The peer is tournament_by_loop: the same tournament as one play_match after another, each a
plain turn-by-turn loop. Both give identical results (checked here on every case). Contenders
are measured in the same run, rounds interleaved, and printed as ratios of medians. The loop is
timed on the small tournament only, and on a sample of the large one's matches (scaled to all
of them), since it needs minutes for the whole.

    python bench/games.py            # 10 strategies x 200 turns x 10 repetitions, and a large one
    python bench/games.py --quick    # the small tournament only
"""

import argparse
import statistics
import time

import numpy as np
from _timing import interleaved

from course_utils import backend
from course_utils import games as g


def report(title, medians, reference, matches):
    print(f"  {title}")
    for name, seconds in medians.items():
        print(f"    {name:28} {seconds * 1e3:11.1f} ms  {matches / seconds:11,.0f} matches/s  "
              f"{medians[reference] / seconds:7.1f}x the speed of {reference}")


def n_matches(strategies, repetitions):
    return len(strategies) * (len(strategies) + 1) // 2 * repetitions


def small(rounds, gpu):
    """10 strategies (Axelrod's first tournament, as far as rewritten), 200 turns, 10 reps."""
    cast = g.first_tournament(reconstructed=False)  # the ten described exactly, as before
    kwargs = {"turns": 200, "repetitions": 10, "noise": 0.01, "seed": 0}
    fast, slow = g.tournament(cast, xp=np, **kwargs), g.tournament_by_loop(cast, **kwargs)
    assert np.array_equal(fast.totals, slow.totals)
    contenders = {"vectorised (NumPy)": lambda: g.tournament(cast, xp=np, **kwargs),
                  "one match at a time": lambda: g.tournament_by_loop(cast, **kwargs)}
    if gpu:
        import cupy

        assert np.array_equal(g.tournament(cast, xp=cupy, **kwargs).totals, fast.totals)
        contenders["vectorised (CuPy)"] = lambda: g.tournament(cast, xp=cupy, **kwargs)
    medians = interleaved(contenders, rounds)
    report(f"{len(cast)} strategies, {n_matches(cast, 10)} matches of 200 turns, noise 0.01",
           medians, "one match at a time", n_matches(cast, 10))


def large(repetitions, rounds, gpu, sample=60):
    """17 strategies, 200 turns, many repetitions; the loop timed on a sample of matches."""
    cast = g.classics() + [g.Nydegger(), g.Grofman(), g.Shubik(), g.Davis(), g.Feld()]
    kwargs = {"turns": 200, "repetitions": repetitions, "noise": 0.01, "seed": 0}
    total = n_matches(cast, repetitions)
    contenders = {"vectorised (NumPy)": lambda: g.tournament(cast, xp=np, **kwargs)}
    if gpu:
        import cupy

        same = np.array_equal(g.tournament(cast, xp=cupy, **kwargs).totals,
                              g.tournament(cast, xp=np, **kwargs).totals)
        assert same, "CuPy and NumPy tournaments differ"
        contenders["vectorised (CuPy)"] = lambda: g.tournament(cast, xp=cupy, **kwargs)
    medians = interleaved(contenders, rounds)
    rng = np.random.default_rng(0)
    picks = rng.integers(len(cast), size=(sample, 2))
    per_match = []
    for _ in range(3):  # the loop: seconds per match, on a sample, median of 3 passes
        start = time.perf_counter()
        for i, j in picks:
            g.play_match(cast[i], cast[j], 200, noise=0.01, seed=int(i * 100 + j))
        per_match.append((time.perf_counter() - start) / sample)
    medians["one match at a time (est.)"] = statistics.median(per_match) * total
    report(f"{len(cast)} strategies, {total} matches of 200 turns, noise 0.01 "
           f"(loop: {sample} matches timed, scaled)", medians, "one match at a time (est.)",
           total)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the small tournament only")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repetitions", type=int, default=1000,
                        help="repetitions of the large tournament (default 1000)")
    args = parser.parse_args()
    status = backend.gpu_available()
    print(f"GPU: {status.reason}" if status else f"No GPU ({status.reason}): CPU only")
    small(args.rounds, bool(status))
    if not args.quick:
        large(args.repetitions, max(1, args.rounds // 2), bool(status))


if __name__ == "__main__":
    main()
