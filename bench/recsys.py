"""course_utils.recsys against its peers: one ALS sweep, batched against loops and Spark.

At MovieLens-100k size (943 users, 1682 items, 100 000 generated ratings, 80% for training,
K = 10, lam = 5): one ALS sweep (every user's, then every item's bias and factors) by
course_utils' batched normal equations, against the textbook loop (recsys.als_by_loop: a
Python loop over users and items, outer products summed rating by rating, as lesson 11 shows
it), and against a loop over
users and items that gathers each one's ratings with NumPy (the usual "half-vectorised" way);
the three are checked to agree. The same sweep with lam = 1e-15, negligible against the
data, where every system goes to the scaled ridge that keeps Cholesky from breaking down (what
that safety costs when it is needed). Then Spark ML's ALS in local mode on the same ratings when
pyspark and Java are there: its time per iteration (a 6-iteration fit minus a 1-iteration
fit, over 5), after a warm-up fit. The test RMSE reached by each. Then MovieLens-1M size
(6040 users, 3706 items, 10^6 ratings), the batched sweep alone, to show how time grows.
Rounds are interleaved so that a slow spell of the machine hits every contender alike.

    python bench/recsys.py            # the issue's sizes
    python bench/recsys.py --quick    # 20 000 ratings; no Spark, no 1M run
"""

import copy
import dataclasses
import time

import numpy as np
from _timing import interleaved, report, start

from course_utils import backend, spark
from course_utils.datasets import generate_ratings, split_ratings
from course_utils.recsys import als_by_loop, als_sweep, fit_als, rmse

K, LAM = 10, 5.0


def sweep_by_rows(model, train):
    """A loop over users and items, each one's ratings gathered and solved with NumPy."""
    for rows, cols, n, name in ((train.users, train.items, train.n_users, "users"),
                                (train.items, train.users, train.n_items, "items")):
        other, other_bias = (model.Q, model.item_bias) if name == "users" else (model.P,
                                                                               model.user_bias)
        order = np.argsort(rows, kind="stable")
        bounds = np.searchsorted(rows[order], np.arange(n + 1))
        bias, factors = np.zeros(n), np.zeros((n, K))
        for r in range(n):
            mine = order[bounds[r]:bounds[r + 1]]
            Z = np.hstack([np.ones((len(mine), 1)), other[cols[mine]]])
            t = train.ratings[mine] - model.mu - other_bias[cols[mine]]
            x = np.linalg.solve(Z.T @ Z + model.lam * np.eye(K + 1), Z.T @ t)
            bias[r], factors[r] = x[0], x[1:]
        if name == "users":
            model = dataclasses.replace(model, user_bias=bias, P=factors)
        else:
            model = dataclasses.replace(model, item_bias=bias, Q=factors)
    return model


def main():
    args, status = start(__doc__, "20 000 ratings; no Spark, no 1M run", rounds=5)
    n_ratings = 20_000 if args.quick else 100_000
    data = generate_ratings(943, 1682, n_ratings, seed=0, xp=np)
    train, test = split_ratings(data, 5, 0, seed=0)
    begin = fit_als(train, K, LAM, 0, seed=0)
    results = [als_sweep(copy.deepcopy(begin), train), sweep_by_rows(copy.deepcopy(begin), train),
               als_by_loop(copy.deepcopy(begin), train)]
    for other in results[1:]:
        np.testing.assert_allclose(other.P, results[0].P, atol=1e-9)
        np.testing.assert_allclose(other.item_bias, results[0].item_bias, atol=1e-9)
    contenders = {
        "batched (course_utils als_sweep)": lambda: als_sweep(copy.deepcopy(begin), train),
        "loop over users and items": lambda: sweep_by_rows(copy.deepcopy(begin), train),
        "textbook loop over ratings": lambda: als_by_loop(copy.deepcopy(begin), train),
    }
    cpu = interleaved(contenders, max(args.rounds // 2, 1))
    report(f"CPU, one ALS sweep, 943 x 1682, {len(train)} training ratings, K = {K}", cpu,
           "batched (course_utils als_sweep)")
    goal = cpu["textbook loop over ratings"] / cpu["batched (course_utils als_sweep)"]
    print(f"    batched vs the textbook loop: {goal:.0f}x (goal: at least 100x)")
    tiny = fit_als(train, K, 1e-15, 0, seed=0)  # lam negligible: every system scaled
    paths = interleaved({
        f"Cholesky (lam = {LAM:g})": lambda: als_sweep(copy.deepcopy(begin), train),
        "scaled ridge (lam = 1e-15)": lambda: als_sweep(copy.deepcopy(tiny), train),
    }, max(args.rounds // 2, 1))
    report("CPU, one ALS sweep: the regular path, and the one that cannot fail", paths,
           f"Cholesky (lam = {LAM:g})")
    ours = fit_als(train, K, LAM, 10, test=test)
    print(f"    test RMSE after 10 sweeps (biases, K = {K}, lam = {LAM:g}): {rmse(ours, test):.4f}")
    if status:
        train_g = backend.to_device(train, "gpu")
        begin_g = backend.to_device(begin, "gpu")
        gpu = interleaved({"batched (CuPy)": lambda: als_sweep(copy.deepcopy(begin_g), train_g)},
                          args.rounds)
        report("GPU, one ALS sweep, same data", gpu, "batched (CuPy)")
    if args.quick:
        return
    missing = spark.spark_missing()
    if missing is None:
        session = spark.spark_session()
        timings = {}
        for n_iter in (1, 6, 1, 6):  # the first pair warms the JVM up; the second is timed
            began = time.perf_counter()
            theirs = spark.fit_spark_als(session, train, K, 0.05, n_iter)
            timings[n_iter] = time.perf_counter() - began
        session.stop()
        per_iteration = (timings[6] - timings[1]) / 5
        same = fit_als(train, K, 0.05, 6, biases=False, weighted=True)
        print(f"  Spark ALS (local[2], ALS-WR, no biases, regParam 0.05), per iteration: "
              f"{per_iteration * 1e3:.0f} ms = "
              f"{per_iteration / cpu['batched (course_utils als_sweep)']:.0f}x our sweep "
              f"(a 1-iteration fit, data frame and collect included: {timings[1]:.1f} s)")
        print(f"    test RMSE after 6 iterations: Spark {rmse(theirs, test):.4f}, ours "
              f"(the same model) {rmse(same, test):.4f}")
    else:
        print(f"  {missing}: no Spark comparison")
    big = generate_ratings(6040, 3706, 1_000_000, seed=0, xp=np)
    big_train, big_test = split_ratings(big, 5, 0, seed=0)
    big_begin = fit_als(big_train, K, LAM, 0, seed=0)
    alone = interleaved({"batched (course_utils als_sweep)":
                         lambda: als_sweep(copy.deepcopy(big_begin), big_train)},
                        max(args.rounds // 2, 1))
    report(f"CPU, one ALS sweep, 6040 x 3706, {len(big_train)} training ratings, K = {K}",
           alone, "batched (course_utils als_sweep)")
    growth = alone["batched (course_utils als_sweep)"] / cpu["batched (course_utils als_sweep)"]
    print(f"    {len(big_train) / len(train):.0f}x the ratings took {growth:.1f}x the time")
    print(f"    test RMSE after 10 sweeps: {rmse(fit_als(big_train, K, LAM, 10), big_test):.4f}")


if __name__ == "__main__":
    main()
