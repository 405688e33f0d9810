import contextlib
import dataclasses
import hashlib
import http.server
import io
import os
import re
import socket
import tempfile
import threading
import zipfile
from fractions import Fraction
from pathlib import Path

import numpy as np
import pooch
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from properties import names_the_argument

from course_utils import backend, datasets, recsys, spark
from course_utils.datasets import (
    Ratings,
    check_ratings,
    fetch_movielens,
    generate_ratings,
    load_movielens,
    split_ratings,
)
from course_utils.recsys import (
    FactorModel,
    als_by_loop,
    als_sweep,
    fit_als,
    fit_sgd,
    half_step,
    mae,
    normal_equations,
    objective,
    predict,
    recommend,
    rmse,
    solve_spd,
    user_based_predict,
    user_similarity,
)

FAST = settings(max_examples=25, deadline=None)
FIXTURE = Path(__file__).resolve().parent / "data" / "movielens"
LESSON = Path(__file__).resolve().parent.parent / "lessons" / "11_recommenders.md"


def small(n_users=12, n_items=9, n=50, seed=0):
    return generate_ratings(n_users, n_items, n, rank=2, seed=seed)


@st.composite
def rating_sets(draw):
    """Small random Ratings: up to 8 users and 7 items, each pair at most once, some users and
    items possibly without ratings."""
    n_users, n_items = draw(st.integers(1, 8)), draw(st.integers(1, 7))
    cells = draw(st.lists(st.integers(0, n_users * n_items - 1), min_size=1, max_size=30,
                          unique=True))
    stars = draw(st.lists(st.integers(1, 5), min_size=len(cells), max_size=len(cells)))
    cells = np.array(cells)
    return Ratings(cells // n_items, cells % n_items, np.array(stars, float), n_users, n_items)


# ----------------------------------------------------------------------------- data


def test_the_loader_reads_both_movielens_formats():
    data, stamps, user_ids, item_ids = load_movielens(FIXTURE / "u.data")
    table = np.loadtxt(FIXTURE / "u.data", dtype=np.int64)
    np.testing.assert_array_equal(user_ids[data.users], table[:, 0])
    np.testing.assert_array_equal(item_ids[data.items], table[:, 1])
    np.testing.assert_array_equal(data.ratings, table[:, 2])
    np.testing.assert_array_equal(stamps, table[:, 3])
    big, stamps, user_ids, item_ids = load_movielens(FIXTURE / "ratings.dat")
    lines = [list(map(int, line.split("::"))) for line in
             (FIXTURE / "ratings.dat").read_text().splitlines()]
    assert len(big) == len(lines) and big.n_items == len(set(item_ids)) == 6
    assert item_ids.max() == 3952 and user_ids.max() == 6040  # gaps renumbered away
    assert [[int(user_ids[u]), int(item_ids[i]), int(r), int(s)] for u, i, r, s in
            zip(big.users, big.items, big.ratings, stamps, strict=True)] == lines


def test_the_loader_takes_a_folder_and_says_where_to_get_the_data(tmp_path):
    assert len(load_movielens(FIXTURE)[0]) == 24  # u.data first, as in ml-100k
    with pytest.raises(FileNotFoundError, match="grouplens.org/datasets/movielens"):
        load_movielens(tmp_path)
    with pytest.raises(FileNotFoundError, match="path .*nowhere.*grouplens"):
        load_movielens(tmp_path / "nowhere" / "u.data")
    (tmp_path / "u.data").write_text("1\t2\t7\t0\n")
    with pytest.raises(ValueError, match="ratings must lie on the scale"):
        load_movielens(tmp_path)
    (tmp_path / "u.data").write_text("1\t2\t3\n")
    with pytest.raises(ValueError, match="path"):
        load_movielens(tmp_path)


@FAST
@given(rating_sets(), st.booleans())
def test_ratings_written_in_movielens_formats_load_back(data, one_m):
    with tempfile.TemporaryDirectory() as folder:
        name, sep = ("ratings.dat", "::") if one_m else ("u.data", "\t")
        lines = [sep.join(map(str, (10 * u + 1, 7 * i + 1, int(r), 100 + k)))
                 for k, (u, i, r) in enumerate(zip(data.users, data.items, data.ratings,
                                                   strict=True))]
        (Path(folder) / name).write_text("\n".join(lines) + "\n")
        loaded, stamps, user_ids, item_ids = load_movielens(folder)
    np.testing.assert_array_equal(user_ids[loaded.users], 10 * data.users + 1)
    np.testing.assert_array_equal(item_ids[loaded.items], 7 * data.items + 1)
    np.testing.assert_array_equal(loaded.ratings, data.ratings)
    np.testing.assert_array_equal(stamps, 100 + np.arange(len(data)))
    assert isinstance(loaded, Ratings)


def test_generated_ratings_look_like_movielens():
    data = generate_ratings(943, 1682, 100_000, seed=0)
    codes = data.users * data.n_items + data.items
    assert len(np.unique(codes)) == len(data) == 100_000  # each pair rated once
    assert set(np.unique(data.ratings)) == {1.0, 2.0, 3.0, 4.0, 5.0}
    assert 3.3 < data.ratings.mean() < 3.8  # MovieLens 100k: 3.53
    per_item = np.sort(np.bincount(data.items, minlength=1682))[::-1]
    assert per_item[:168].sum() > 0.4 * len(data)  # a tenth of the items: most ratings
    np.testing.assert_array_equal(generate_ratings(943, 1682, 100_000, seed=0).ratings,
                                  data.ratings)


@FAST
@given(st.integers(1, 30), st.integers(2, 30), st.integers(0, 2**32), st.integers(2, 5))
def test_generated_ratings_and_their_folds(n_users, n_items, seed, n_folds):
    n = max(n_users * n_items // 3, n_folds)
    if n > n_users * n_items // 2:
        return
    data = generate_ratings(n_users, n_items, n, seed=seed)
    assert len(data) == n and data.n_users == n_users and data.n_items == n_items
    assert data.ratings.min() >= 1 and data.ratings.max() <= 5
    folds = [split_ratings(data, n_folds, f, seed=seed) for f in range(n_folds)]
    for train, test in folds:
        assert len(train) + len(test) == n and len(test) in (n // n_folds, -(-n // n_folds))
    held = np.concatenate([test.users * n_items + test.items for _, test in folds])
    np.testing.assert_array_equal(np.sort(held), np.sort(data.users * n_items + data.items))


# ----------------------------------------------------------------------------- ALS


PARTS = ("user_bias", "item_bias", "P", "Q")


@pytest.mark.parametrize(("biases", "weighted", "K"), [(True, False, 3), (False, True, 2),
                                                       (True, True, 0), (False, False, 4),
                                                       (False, False, 0)])
def test_the_vectorised_sweep_equals_the_textbook_loop(biases, weighted, K):
    train = Ratings(*(lambda d: (d.users, d.items, d.ratings))(small(n=50)), n_users=14,
                    n_items=11)  # users 12, 13 and items 9, 10 have no ratings
    start = fit_als(train, K, 0.7, 2, biases=biases, weighted=weighted, seed=3)
    expected = als_by_loop(start, train)
    model = als_sweep(start, train)
    for name in PARTS:
        np.testing.assert_allclose(getattr(model, name), getattr(expected, name), atol=1e-10)
        assert getattr(start, name) is not getattr(model, name)  # a new model; start as it was
    assert np.all(model.P[12:] == 0) and np.all(model.Q[9:] == 0)
    assert np.all(model.user_bias[12:] == 0) and np.all(model.item_bias[9:] == 0)


@FAST
@given(rating_sets(), st.integers(0, 3), st.floats(0.05, 10), st.booleans(), st.booleans(),
       st.integers(0, 2**32))
def test_the_engine_equals_the_plain_loop_and_the_plain_batched_systems(data, K, lam, biases,
                                                                        weighted, seed):
    """als_sweep (the sparse structure reused, upper triangles only) against als_by_loop (one
    rating at a time) and against solve_spd(*normal_equations(...)) written plainly; and one
    user's step of the loop against least squares on stacked rows (np.linalg.lstsq: no normal
    equations at all)."""
    start = fit_als(data, K, lam, 1, biases=biases, weighted=weighted, seed=seed)
    engine, by_loop = als_sweep(start, data), als_by_loop(start, data)
    for name in PARTS:
        np.testing.assert_allclose(getattr(engine, name), getattr(by_loop, name), atol=1e-9)
    users_done = half_step(start, data, "users")
    features = np.hstack([np.ones((data.n_items, 1)), start.Q]) if biases else start.Q
    if features.shape[1]:
        A, b = normal_equations(data.users, data.items,
                                data.ratings - start.mu - start.item_bias[data.items],
                                features, data.n_users, lam, weighted=weighted)
        x = solve_spd(A, b)
        np.testing.assert_allclose(x, np.hstack([users_done.user_bias[:, None], users_done.P])
                                   if biases else users_done.P, atol=1e-9)
        np.testing.assert_allclose(x, np.linalg.solve(A, b[:, :, None])[:, :, 0], atol=1e-9)
        u = int(data.users[0])
        mine = np.flatnonzero(data.users == u)
        w = len(mine) if weighted else 1
        Z = np.vstack([features[data.items[mine]], np.sqrt(lam * w) * np.eye(features.shape[1])])
        t = np.r_[data.ratings[mine] - start.mu - start.item_bias[data.items[mine]],
                  np.zeros(features.shape[1])]
        np.testing.assert_allclose(np.linalg.lstsq(Z, t, rcond=None)[0], x[u], atol=1e-9)
    np.testing.assert_array_equal(users_done.Q, start.Q)  # the other side untouched


@FAST
@given(st.integers(1, 6), st.integers(1, 4), st.integers(0, 2**32))
def test_solve_spd_solves_both_paths(n, D, seed):
    """Regular systems by Cholesky, the others scaled with a ridge: both solve A x = b for
    well-conditioned A, and a singular A (rank 1) gives the least-norm solution of the scaled
    system rather than a failure."""
    rng = np.random.default_rng(seed)
    G = rng.normal(size=(n, D, D))
    A = G @ G.transpose(0, 2, 1) + np.eye(D)
    b = rng.normal(size=(n, D))
    exact = np.linalg.solve(A, b[:, :, None])[:, :, 0]
    np.testing.assert_allclose(solve_spd(A, b), exact, rtol=1e-8, atol=1e-10)
    mixed = rng.random(n) < 0.5
    np.testing.assert_allclose(solve_spd(A, b, mixed), exact, rtol=1e-6, atol=1e-8)
    z = rng.normal(size=(n, D))
    singular = z[:, :, None] * z[:, None, :]  # rank 1: b in its range
    x = solve_spd(singular, 2 * z * (z**2).sum(axis=1, keepdims=True), np.zeros(n, bool))
    np.testing.assert_allclose(np.einsum("nij,nj->ni", singular, x),
                               2 * z * (z**2).sum(axis=1, keepdims=True), rtol=1e-6, atol=1e-8)


def test_biases_only_is_the_alternating_shrunk_means():
    train, _ = split_ratings(generate_ratings(50, 40, 600, seed=1))
    lam = 4.0
    model = fit_als(train, 0, lam, 3)
    mu, b, c = train.ratings.mean(), np.zeros(50), np.zeros(40)
    for _ in range(3):  # b_u = sum (r - mu - c_i) / (n_u + lam), then the items likewise
        b = (np.bincount(train.users, train.ratings - mu - c[train.items], 50)
             / (np.bincount(train.users, minlength=50) + lam))
        c = (np.bincount(train.items, train.ratings - mu - b[train.users], 40)
             / (np.bincount(train.items, minlength=40) + lam))
    np.testing.assert_allclose(model.user_bias, b, atol=1e-12)
    np.testing.assert_allclose(model.item_bias, c, atol=1e-12)


@FAST
@given(rating_sets(), st.integers(0, 3), st.floats(0.01, 10), st.booleans(), st.booleans())
def test_the_objective_never_increases_and_nothing_is_nan(data, K, lam, biases, weighted):
    model = fit_als(data, K, lam, 4, biases=biases, weighted=weighted, seed=1, test=data)
    J = model.history["objective"]
    assert all(b <= a * (1 + 1e-9) + 1e-9 for a, b in zip(J, J[1:], strict=False))
    assert check_ratings(data, "data") is data
    assert np.isclose(J[-1], objective(model, data), rtol=1e-12)
    assert isinstance(model, FactorModel) and len(J) == 5
    everyone = np.repeat(np.arange(data.n_users), data.n_items)
    everything = np.tile(np.arange(data.n_items), data.n_users)
    r_hat = predict(model, everyone, everything)
    assert np.all(np.isfinite(r_hat))
    assert rmse(model, data) == pytest.approx(model.history["test_rmse"][-1])
    assert 0 <= mae(model, data) <= rmse(model, data) + 1e-12
    before = objective(model, data)
    assert objective(als_sweep(model, data), data) <= before * (1 + 1e-9) + 1e-9


def test_a_user_without_ratings_gets_the_bias_only_prediction():
    data = generate_ratings(30, 20, 200, seed=2)
    train = data.subset(data.users != 7)
    model = fit_als(train, 3, 1.0, 5)
    items = np.arange(20)
    np.testing.assert_allclose(predict(model, np.full(20, 7), items),
                               model.mu + model.item_bias, atol=1e-12)
    best, scores = recommend(model, 7, 3)
    np.testing.assert_array_equal(best, np.argsort(-model.item_bias, kind="stable")[:3])


def test_als_learns_the_generated_tastes_and_lambda_matters():
    train, test = split_ratings(generate_ratings(300, 200, 12_000, seed=4))
    baseline = fit_als(train, 0, 5.0, 5, test=test).history["test_rmse"][-1]
    good = fit_als(train, 5, 5.0, 10, test=test).history["test_rmse"][-1]
    overfit = fit_als(train, 5, 0.01, 10, test=test)
    assert good < baseline - 0.03  # the tastes are low-rank: factors help
    assert overfit.history["train_rmse"][-1] < 0.8 < overfit.history["test_rmse"][-1]


# ----------------------------------------------------------------------------- SGD, use


@FAST
@given(rating_sets(), st.integers(0, 3), st.integers(1, 50))
def test_sgd_finite_and_improves_on_the_start(data, K, batch):
    model = fit_sgd(data, K, 0.1, 5, lr=0.05, batch_size=batch, seed=0)
    assert np.all(np.isfinite(model.P)) and len(model.history["train_rmse"]) == 6
    assert model.history["train_rmse"][-1] <= model.history["train_rmse"][0] + 1e-9


def test_sgd_approaches_als_on_the_same_split():
    train, test = split_ratings(generate_ratings(300, 200, 12_000, seed=4))
    als = fit_als(train, 5, 5.0, 10, test=test).history["test_rmse"][-1]
    sgd = fit_sgd(train, 5, 5.0, 30, lr=0.02, batch_size=500, test=test)
    assert sgd.history["test_rmse"][-1] < als + 0.03
    assert sgd.history["test_rmse"][-1] < sgd.history["test_rmse"][1]


@FAST
@given(rating_sets(), st.integers(1, 7), st.data())
def test_recommend_ranks_by_prediction_and_skips_rated_items(data, n, draw):
    model = fit_als(data, 2, 1.0, 2)
    user = draw.draw(st.integers(0, data.n_users - 1))
    n = min(n, data.n_items)
    best, scores = recommend(model, user, n, exclude=data)
    rated = set(data.items[data.users == user].tolist())
    assert not rated & set(best.tolist()) and len(best) == min(n, data.n_items - len(rated))
    everything = predict(model, np.full(data.n_items, user), np.arange(data.n_items))
    np.testing.assert_allclose(scores, everything[best], atol=1e-12)
    unrated = np.array(sorted(set(range(data.n_items)) - rated), dtype=int)
    if len(best):
        assert scores.min() >= np.sort(everything[unrated])[::-1][len(best) - 1] - 1e-12


def user_based_by_loops(train, u, i, k):
    """Co-rated cosine and the k nearest raters of i, one pair at a time."""
    R = {(a, b): r for a, b, r in zip(train.users, train.items, train.ratings, strict=True)}
    mean = {a: np.mean([r for (x, _), r in R.items() if x == a]) for a in set(train.users)}
    if u not in mean:
        return train.ratings.mean()
    sims = []
    for v in sorted(mean):
        if v == u or (v, i) not in R:
            continue
        common = [b for (x, b) in R if x == u and (v, b) in R]
        x = np.array([R[u, b] - mean[u] for b in common])
        y = np.array([R[v, b] - mean[v] for b in common])
        s = x @ y / np.sqrt((x @ x) * (y @ y)) if len(common) and (x @ x) * (y @ y) > 0 else 0
        sims.append((s, v))
    sims.sort(key=lambda p: -round(abs(p[0]), 12))  # stable: ties in user order
    top = sims[:k]
    den = sum(abs(s) for s, _ in top)
    return mean[u] + (sum(s * (R[v, i] - mean[v]) for s, v in top) / den if den > 0 else 0)


@FAST
@given(rating_sets(), st.integers(1, 4))
def test_user_based_filtering_against_pair_by_pair_loops(data, k):
    users = np.repeat(np.arange(data.n_users), data.n_items)
    items = np.tile(np.arange(data.n_items), data.n_users)
    got = user_based_predict(data, users, items, k=k)
    for u, i, g in zip(users, items, got, strict=True):
        assert g == pytest.approx(user_based_by_loops(data, u, i, k), abs=1e-9)


@FAST
@given(rating_sets())
def test_user_similarity_is_the_cosine_on_co_rated_items(data):
    S, centred, mask, means = user_similarity(data)
    R = {(u, i): r for u, i, r in zip(data.users.tolist(), data.items.tolist(),
                                      data.ratings.tolist(), strict=True)}
    for u in range(data.n_users):
        mine = [r for (v, _), r in R.items() if v == u]
        assert means[u] == pytest.approx(np.mean(mine) if mine else data.ratings.mean())
        for v in range(data.n_users):
            common = [i for (w, i) in R if w == u and (v, i) in R]
            x = np.array([R[u, i] - means[u] for i in common])
            y = np.array([R[v, i] - means[v] for i in common])
            norms = (x @ x) * (y @ y) if common else 0
            assert S[u, v] == pytest.approx(x @ y / np.sqrt(norms) if norms > 0 else 0,
                                            abs=1e-12)
    np.testing.assert_array_equal(mask[data.users, data.items], 1)
    assert mask.sum() == len(data)


# ----------------------------------------------------------------------------- bad input


test_bad_input_names_the_argument = names_the_argument({
    "ratings": (lambda v: Ratings([0, 1], [0, 1], v), [[0.5, 3], [1, 6], [np.nan, 2], []]),
    "users": (lambda v: Ratings(v, [0, 1], [1, 2]), [[0.5, 1], [-1, 0], "ab", [[0, 1]]]),
    "items": (lambda v: Ratings([0, 1], v, [1, 2]), [[1.0, 2.0], [0, -3], None]),
    "n_users": (lambda v: Ratings([0, 3], [0, 1], [1, 2], n_users=v), [0, 2.5, "4"]),
    "users  ": (lambda v: Ratings([0, v], [0, 1], [1, 2], n_users=4), [4, 7]),
    "items  ": (lambda v: Ratings([0, 1], [v, 1], [1, 2], n_items=2), [2, -1]),
    "scale": (lambda v: Ratings([0], [0], [1.0], scale=v), [(5, 1), (1, np.inf), None, (1,),
                                                             (1, 2, 3), 5, "ab"]),
    "n_items": (lambda v: Ratings([0], [0], [1.0], n_items=v), [2**31, 10**20]),
    "users   ": (lambda v: Ratings([v], [0], [1.0]), [2**31, 2**62]),
    "xp": (lambda v: generate_ratings(5, 5, 5, xp=v), ["numpy", 3, np.ndarray]),
    "mask": (lambda v: small().subset(v), [np.arange(50), np.ones(3, bool), "mask"]),
    "test": (lambda v: fit_als(small(), 2, test=v), ["x", small().subset(np.zeros(50, bool)),
                                                     generate_ratings(30, 9, 20)]),
    "size": (lambda v: fetch_movielens(v), ["10m", 100, None]),
    "train": (lambda v: fit_als(v), [None, [1, 2], np.ones(3)]),
    "n_factors": (lambda v: fit_als(small(), n_factors=v), [-1, 1.5, 5000]),
    "lam": (lambda v: fit_als(small(), lam=v), [0, -0.1, np.nan, "1", 1e9]),
    "lam ": (lambda v: fit_sgd(small(), lam=v), [-0.1, np.inf]),
    "train ": (lambda v: fit_als(small().subset(np.zeros(50, bool)), n_iter=v), [1]),
    "n_iter": (lambda v: fit_als(small(), n_iter=v), [-1, 2.0]),
    "lr": (lambda v: fit_sgd(small(), lr=v), [0, -1, 2]),
    "batch_size": (lambda v: fit_sgd(small(), batch_size=v), [0, 1.5]),
    "n_folds": (lambda v: split_ratings(small(), v), [1, 51, 2.0]),
    "fold": (lambda v: split_ratings(small(), 5, v), [-1, 5]),
    "n_ratings": (lambda v: generate_ratings(4, 4, v), [0, 9, 1.5]),
    "model": (lambda v: predict(v, [0], [0]), [None, "model"]),
    "users ": (lambda v: predict(fit_als(small(), 2, n_iter=0), v, [0]), [[12], [-1], [0.5]]),
    "user": (lambda v: recommend(fit_als(small(), 2, n_iter=0), v), [12, -1, 0.5]),
    "n": (lambda v: recommend(fit_als(small(), 2, n_iter=0), 0, v), [0, 10]),
    "k": (lambda v: user_based_predict(small(), [0], [0], k=v), [0, 1.5]),
    "path": (lambda v: load_movielens(v), [3, None]),
    "FactorModel.P": (lambda v: FactorModel(mu=3.0, user_bias=np.zeros(2),
                                            item_bias=np.zeros(2), P=v, Q=np.zeros((2, 1)),
                                            lam=0.1, weighted=False, biases=True),
                      [np.zeros((3, 1)), np.full((2, 1), np.nan), np.zeros(2), "ab",
                       [[0.0], [np.inf]]]),
    "model ": (lambda v: rmse(v, small()), [None, small()]),
    "A": (lambda v: solve_spd(v, np.ones((1, 2))), [np.ones((1, 2, 3)), np.ones((2, 2)),
                                                     [[[np.nan, 0], [0, 1]]]]),
    "b": (lambda v: solve_spd(np.eye(2)[None], v), [np.ones((2, 2)), np.ones(2)]),
    "regular": (lambda v: solve_spd(np.eye(2)[None], np.ones((1, 2)), v),
                [np.ones(1), np.ones(2, bool)]),
    "side": (lambda v: half_step(fit_als(small(), 2, n_iter=0), small(), v), ["user", None]),
    "target": (lambda v: normal_equations([0, 1], [0, 0], v, np.ones((1, 2)), 2, 1.0),
               [[1.0], [np.nan, 1.0]]),
    "cols": (lambda v: normal_equations([0, 1], v, [1.0, 2.0], np.ones((1, 2)), 2, 1.0),
             [[0, 1], [0]]),
    "rows": (lambda v: normal_equations(v, [0, 0], [1.0, 2.0], np.ones((1, 2)), 2, 1.0),
             [[0, 2], [0.5, 1]]),
    "lam  ": (lambda v: normal_equations([0], [0], [1.0], np.ones((1, 2)), 1, v), [0, -1]),
    "model.lam": (lambda v: als_by_loop(dataclasses.replace(fit_als(small(), 2, n_iter=0),
                                                            lam=v), small()), [0.0]),
    "train  ": (lambda v: als_by_loop(fit_als(small(), 2, n_iter=0), v),
                [None, generate_ratings(13, 9, 40)]),
    "exclude": (lambda v: recommend(fit_als(small(), 2, n_iter=0), 0, 3, exclude=v),
                ["x", Ratings([0], [9], [3.0]), Ratings([12], [0], [3.0])]),
}, max_examples=60)


# ----------------------------------------------------------------------------- old names


def test_the_old_iteration_keyword_warns_and_gives_the_same_fit():
    data = small()
    with pytest.warns(DeprecationWarning, match=r"fit_als\(n_iters=...\) is now "
                                                r"fit_als\(n_iter=...\)"):
        old = fit_als(data, 2, 0.5, n_iters=3)
    new = fit_als(data, 2, 0.5, n_iter=3)
    for name in PARTS:
        np.testing.assert_array_equal(getattr(old, name), getattr(new, name))
    assert old.history["objective"] == new.history["objective"]
    with pytest.raises(TypeError, match="got both"):
        fit_als(data, n_iter=2, n_iters=2)


def test_spark_s_old_iteration_keyword_warns_and_does_the_same():
    """fit_spark_als(n_iters=...) warns and goes on as n_iter=... (here: to the same error,
    a session that is not one, without starting Spark)."""
    missing = spark.spark_missing()
    if missing is not None:
        pytest.skip(missing)
    with pytest.warns(DeprecationWarning, match=r"is now fit_spark_als\(n_iter=...\)"):
        with pytest.raises(TypeError, match="spark must be a pyspark SparkSession"):
            spark.fit_spark_als(None, small(), n_iters=2)
    with pytest.raises(TypeError, match="spark must be a pyspark SparkSession"):
        spark.fit_spark_als(None, small(), n_iter=2)


@pytest.mark.parametrize(("name", "home"), [("generate_ratings", datasets),
                                            ("split_ratings", datasets), ("Ratings", datasets),
                                            ("SCALE", datasets), ("fit_spark_als", spark),
                                            ("spark_missing", spark)])
def test_names_that_moved_out_of_recsys_warn_and_work(name, home):
    with pytest.warns(DeprecationWarning, match=f"recsys.{name} is now "):
        old = getattr(recsys, name)
    assert old is getattr(home, name)


# ----------------------------------------------------------------------------- on the GPU


@pytest.mark.gpu
def test_every_function_follows_its_data_onto_the_gpu():
    import cupy

    data = small(n=50)
    train, test = split_ratings(data)
    moved = backend.to_device((train, test), "gpu")
    cpu = fit_als(train, 2, 0.5, 3, test=test)
    gpu = fit_als(*moved[:1], 2, 0.5, 3, test=moved[1])
    for name in ("user_bias", "item_bias", "P", "Q"):
        assert isinstance(getattr(gpu, name), cupy.ndarray)
        np.testing.assert_allclose(backend.to_numpy(getattr(gpu, name)), getattr(cpu, name),
                                   atol=1e-10)
    np.testing.assert_allclose(gpu.history["objective"], cpu.history["objective"], rtol=1e-10)
    assert rmse(gpu, moved[1]) == pytest.approx(rmse(cpu, test))
    best, _ = recommend(gpu, 0, 3, exclude=moved[0])
    np.testing.assert_array_equal(backend.to_numpy(best), recommend(cpu, 0, 3, exclude=train)[0])
    sgd = fit_sgd(moved[0], 2, 0.1, 2)
    assert isinstance(sgd.P, cupy.ndarray)
    np.testing.assert_allclose(backend.to_numpy(sgd.P), fit_sgd(train, 2, 0.1, 2).P, atol=1e-10)
    got = user_based_predict(moved[0], cupy.asarray(test.users), cupy.asarray(test.items))
    np.testing.assert_allclose(backend.to_numpy(got),
                               user_based_predict(train, test.users, test.items), atol=1e-10)
    backend.use("gpu")
    assert isinstance(generate_ratings(5, 5, 10).ratings, cupy.ndarray)
    with pytest.raises(backend.DeviceMismatchError, match="users"):
        predict(gpu, np.array([0]), cupy.asarray([0]))


# ----------------------------------------------------------------------------- Spark


def test_spark_missing_names_what_to_install(monkeypatch, tmp_path):
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert "pip install" in spark.spark_missing()
    monkeypatch.undo()
    if importlib.util.find_spec("pyspark") is None:
        pytest.skip("pyspark is not installed: the Java check comes after it")
    monkeypatch.setenv("PATH", str(tmp_path))  # no java on the PATH
    monkeypatch.delenv("JAVA_HOME", raising=False)
    assert "Java runtime" in spark.spark_missing()
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "java").write_text("#!/bin/sh\n")
    (tmp_path / "bin" / "java").chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))  # found under JAVA_HOME
    assert spark.spark_missing() is None


def test_fit_spark_als_names_a_session_that_is_not_one():
    """fit_spark_als(None, ...) raised AttributeError 'createDataFrame'."""
    missing = spark.spark_missing()
    if missing is not None:
        pytest.skip(missing)
    with pytest.raises(TypeError, match="spark must be a pyspark SparkSession"):
        spark.fit_spark_als(None, small())


@pytest.fixture(scope="module")
def session():
    missing = spark.spark_missing()
    if missing is not None:
        pytest.skip(missing)
    session = spark.spark_session()
    yield session
    session.stop()


@pytest.mark.spark
def test_spark_als_reaches_our_rmse_on_the_same_split(session):
    assert spark.spark_session() is session  # the active session is reused
    train, test = split_ratings(generate_ratings(100, 80, 2500, seed=4))
    theirs = spark.fit_spark_als(session, train, 3, 0.2, 5, seed=0)
    ours = fit_als(train, 3, 0.2, 5, biases=False, weighted=True)
    assert theirs.P.shape == (100, 3) and theirs.Q.shape == (80, 3)
    assert np.isfinite(predict(theirs, test.users, test.items)).all()
    assert abs(rmse(theirs, test) - rmse(ours, test)) < 0.03  # 500 test ratings: some noise
    assert objective(theirs, train) == pytest.approx(objective(ours, train), rel=0.02)
    assert theirs.scale == train.scale


# ----------------------------------------------------------------------------- edges (issue 27)


def exact_step_objective(Z, t, lam):
    """min over x of |t - Z x|^2 + lam |x|^2, in exact rational arithmetic (Gauss-Jordan on the
    normal equations): the reference for a user step whose lam is lost in float64 rounding."""
    Z = [[Fraction(float(v)) for v in row] for row in Z]
    t, lam = [Fraction(float(v)) for v in t], Fraction(lam)
    D = len(Z[0])
    rows = [[sum(z[j] * z[k] for z in Z) + (lam if j == k else 0) for k in range(D)]
            + [sum(z[j] * v for z, v in zip(Z, t, strict=True))] for j in range(D)]
    for c in range(D):
        pivot = next(r for r in range(c, D) if rows[r][c] != 0)
        rows[c], rows[pivot] = rows[pivot], rows[c]
        for r in range(D):
            if r != c and rows[r][c] != 0:
                f = rows[r][c] / rows[c][c]
                rows[r] = [a - f * b for a, b in zip(rows[r], rows[c], strict=True)]
    x = [rows[j][D] / rows[j][j] for j in range(D)]
    return step_objective(Z, t, lam, x)


def step_objective(Z, t, lam, x):
    residual = [v - sum(a * b for a, b in zip(z, x, strict=True)) for z, v in zip(Z, t,
                                                                                  strict=True)]
    return sum(r * r for r in residual) + lam * sum(v * v for v in x)


@pytest.mark.parametrize(("lam", "multiple", "K"), [(1e-15, 1.0, 3), (1e-300, 1.0, 3),
                                                    (1e-300, 1.0, 6), (0.1, 1e150, 3),
                                                    (1e-12, 1.0, 3)])
def test_a_negligible_lam_still_gives_the_exact_user_step(lam, multiple, K):
    """Issue 27: lam = 1e-15 or 1e-300, or ratings of 1e150 (lam negligible against them),
    raised LinAlgError "not positive definite". Each user's step now reaches the exact
    minimum of its terms of J (rational arithmetic) to rounding, and J never rises."""
    R = generate_ratings(20, 15, 80, seed=1)
    data = Ratings(R.users, R.items, R.ratings * multiple, scale=(multiple, 5 * multiple))
    model = fit_als(data, K, lam, 3, seed=0)
    J = model.history["objective"]
    assert all(b <= a * (1 + 1e-9) + 1e-15 * J[0] for a, b in zip(J, J[1:], strict=False))
    start = fit_als(data, K, lam, 0, seed=0)
    swept = als_sweep(fit_als(data, K, lam, 0, seed=0), data)  # the user half: from start's Q
    for u in range(20):
        mine = np.flatnonzero(data.users == u)
        Z = np.hstack([np.ones((len(mine), 1)), start.Q[data.items[mine]]])
        t = data.ratings[mine] - start.mu - start.item_bias[data.items[mine]]
        best = exact_step_objective(Z, t, lam)
        ours = step_objective([[Fraction(float(v)) for v in row] for row in Z],
                              [Fraction(float(v)) for v in t], Fraction(lam),
                              [Fraction(float(v)) for v in np.r_[swept.user_bias[u],
                                                                  swept.P[u]]])
        assert float(ours - best) <= 1e-12 * float((t**2).sum())


def test_ratings_whose_squares_overflow_are_refused():
    R = generate_ratings(20, 15, 80, seed=1)
    huge = Ratings(R.users, R.items, R.ratings * 1e200, scale=(1e200, 5e200))
    with pytest.raises(ValueError, match="too large.*rescale"):
        fit_als(huge, 3, 0.1, 2)
    with pytest.raises(ValueError, match="too large.*rescale"):
        fit_sgd(huge, 3, 0.1, 2)


@pytest.mark.parametrize(("lr", "lam"), [(0.5, 0.1), (1.0, 0.1), (0.02, 1e6)])
def test_a_diverging_sgd_raises_instead_of_returning_nan(lr, lam):
    """Issue 27: lr = 0.5 or 1 (inside the documented (0, 1]) returned NaN factors."""
    with pytest.raises(ValueError, match="diverged in epoch .*lower lr"):
        fit_sgd(generate_ratings(20, 15, 80, seed=1), 3, lam, 10, lr=lr)


def test_every_id_is_checked_not_only_the_first():
    """Issue 27: objective and recommend's exclude raised IndexError for an id beyond the
    model after a first id in range."""
    model = fit_als(generate_ratings(20, 15, 80, seed=1), 3, 0.1, 3)
    beyond_users, beyond_items = Ratings([0, 50], [0, 0], [3.0, 2.0]), Ratings([0, 1], [0, 40],
                                                                              [3.0, 2.0])
    for call in (objective, rmse, mae):
        with pytest.raises(ValueError, match="users up to id 50, but the model has 20"):
            call(model, beyond_users)
        with pytest.raises(ValueError, match="items up to id 40, but the model has 15"):
            call(model, beyond_items)
    with pytest.raises(ValueError, match="exclude has items up to id 40"):
        recommend(model, 0, 3, exclude=Ratings([0], [40], [3.0]))
    # a user beyond the model in exclude is refused too, before it could mean anything
    with pytest.raises(ValueError, match="exclude has users up to id 50"):
        recommend(model, 0, 3, exclude=beyond_users)


def test_the_weighted_objective_takes_the_model_s_sizes():
    """objective of a weighted model on ratings declaring more users than the model (ids in
    range) broadcast a (50,) count against (20,) factors."""
    model = fit_als(generate_ratings(20, 15, 80, seed=1), 2, 0.1, 2, weighted=True)
    data = generate_ratings(20, 15, 80, seed=1)
    wider = Ratings(data.users, data.items, data.ratings, n_users=50, n_items=30)
    assert objective(model, wider) == pytest.approx(objective(model, data), rel=1e-12)


def test_a_hand_built_model_is_checked_when_it_is_built():
    """A FactorModel checks its fields on creation (lists become arrays; the wrong shape, NaN,
    a negative lam are refused naming FactorModel.field); it is frozen, and the functions
    taking one trust it."""
    model = fit_als(generate_ratings(20, 15, 80, seed=1), 3, 0.1, 2)
    as_lists = dataclasses.replace(model, user_bias=model.user_bias.tolist())
    assert isinstance(as_lists.user_bias, np.ndarray)
    np.testing.assert_array_equal(predict(as_lists, [0], [0]), predict(model, [0], [0]))
    with pytest.raises(ValueError, match="FactorModel's shapes disagree"):
        dataclasses.replace(model, P=model.P[:, :2])
    with pytest.raises(ValueError, match="FactorModel.mu"):
        dataclasses.replace(model, mu=np.nan)
    with pytest.raises(ValueError, match="FactorModel.P contains NaN or infinity"):
        dataclasses.replace(model, P=model.P * np.inf)
    with pytest.raises(ValueError, match="FactorModel.lam"):
        dataclasses.replace(model, lam=-1.0)
    with pytest.raises(TypeError, match="FactorModel.biases"):
        dataclasses.replace(model, biases="yes")
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.P = model.Q
    biases_only = fit_als(generate_ratings(20, 15, 80, seed=1), 0, 0.1, 1)
    assert dataclasses.replace(biases_only, lam=0.2).P.shape == (20, 0)  # K = 0 is a model
    with pytest.raises(ValueError, match="model.lam"):
        als_sweep(dataclasses.replace(model, lam=0.0), generate_ratings(20, 15, 80, seed=1))


def test_empty_and_duplicated_ratings():
    data = generate_ratings(20, 15, 80, seed=1)
    nothing = data.subset(np.zeros(80, bool))
    assert len(nothing) == 0 and nothing.n_users == 20
    with pytest.raises(ValueError, match="test is empty"):  # was a NaN test RMSE
        fit_als(data, 2, 0.1, 2, test=nothing)
    with pytest.raises(ValueError, match="train is empty"):  # was NaN predictions
        user_based_predict(nothing, [0], [0])
    with pytest.raises(ValueError, match="train is empty"):
        als_sweep(fit_als(data, 2, 0.1, 0), nothing)
    twice = Ratings([0, 0, 1], [0, 0, 0], [1.0, 5.0, 3.0])  # user 0 rated item 0 twice
    with pytest.raises(ValueError, match="pair twice"):  # its mean was (1 + 5) / 1 = 6
        user_based_predict(twice, [1], [0])
    model = fit_als(twice, 1, 0.5, 5, biases=True)  # two observations in least squares: fine
    assert np.isfinite(objective(model, twice))


def test_user_based_filtering_refuses_a_dense_matrix_too_large():
    with pytest.raises(ValueError, match="10\\^8 cells"):
        user_based_predict(Ratings([0, 10**5], [0, 2000], [3.0, 4.0]), [0], [0])


def test_subset_checks_its_mask():
    data = generate_ratings(20, 15, 80, seed=1)
    with pytest.raises(TypeError, match="mask must be a boolean array"):
        data.subset(np.arange(3))
    with pytest.raises(ValueError, match="mask must have shape \\(80,\\)"):
        data.subset(np.ones(3, bool))


@pytest.mark.parametrize("power", [-600, -300, 300, 600])
def test_errors_of_extreme_magnitude_neither_overflow_nor_underflow(power):
    """rmse and mae squared the errors in float64: inf beyond 1e154, 0 below 1e-162. They are
    computed in units of a power of two now, exactly the plain values scaled."""
    data = generate_ratings(30, 20, 200, seed=2)
    model = fit_als(data, 2, 1.0, 3)
    scale = 2.0**power
    big = Ratings(data.users, data.items, data.ratings * scale, scale=(scale, 5 * scale))
    scaled = FactorModel(mu=model.mu * scale, user_bias=model.user_bias * scale,
                         item_bias=model.item_bias * scale, P=model.P * 2.0 ** (power // 2),
                         Q=model.Q * 2.0 ** (power // 2), lam=1.0, weighted=False, biases=True)
    assert rmse(scaled, big) == rmse(model, data) * scale
    assert mae(scaled, big) == mae(model, data) * scale
    got = user_based_predict(big, data.users[:9], data.items[:9])
    np.testing.assert_array_equal(got, user_based_predict(data, data.users[:9],
                                                          data.items[:9]) * scale)


def test_clipping_predictions_to_the_scale():
    train, test = split_ratings(generate_ratings(300, 200, 12_000, seed=4))
    model = fit_als(train, 5, 0.5, 10)
    raw = predict(model, test.users, test.items)
    clipped = predict(model, test.users, test.items, clip=True)
    assert model.scale == (1.0, 5.0) and ((raw < 1) | (raw > 5)).any()  # something to clip
    np.testing.assert_array_equal(clipped, np.clip(raw, 1, 5))
    assert rmse(model, test, clip=True) < rmse(model, test)
    assert mae(model, test, clip=True) < mae(model, test)
    half = Ratings(train.users, train.items, train.ratings / 2, scale=(0.5, 2.5))
    assert fit_als(half, 2, 0.5, 1).scale == (0.5, 2.5)


def test_the_truth_is_the_expected_stars():
    """generate_ratings(return_truth=True): the ratings unchanged; the truth the mean of the
    stars given the tastes (Monte Carlo over the noise), aligned with the ratings by
    split_ratings; without noise, the stars themselves."""
    data, truth = generate_ratings(943, 1682, 100_000, seed=0, return_truth=True)
    np.testing.assert_array_equal(data.ratings, generate_ratings(943, 1682, 100_000,
                                                                 seed=0).ratings)
    np.testing.assert_array_equal(truth.users, data.users)
    assert 1 <= truth.ratings.min() and truth.ratings.max() <= 5
    residual = data.ratings - truth.ratings
    assert abs(residual.mean()) < 3 * residual.std() / np.sqrt(len(residual))
    m = np.linspace(-1, 7, 33)  # the true ratings
    draws = np.clip(np.round(m + np.random.default_rng(0).normal(0, 0.7, (200_000, 33))), 1, 5)
    np.testing.assert_allclose(datasets._expected_stars(m, 0.7), draws.mean(axis=0), atol=0.01)
    exact, exact_truth = generate_ratings(50, 40, 300, noise=0.0, seed=3, return_truth=True)
    np.testing.assert_array_equal(exact.ratings, exact_truth.ratings)
    _, test = split_ratings(data, 5, 0, seed=0)
    _, test_truth = split_ratings(truth, 5, 0, seed=0)
    np.testing.assert_array_equal(test.items, test_truth.items)


# ----------------------------------------------------------------------------- properties


@st.composite
def extreme_fits(draw):
    """Small rating sets on any magnitude (a power of two, exact) with any lam in (0, 1e6]."""
    data = draw(rating_sets())
    scale = 2.0 ** draw(st.integers(-400, 400))
    scaled = Ratings(data.users, data.items, data.ratings * scale, data.n_users, data.n_items,
                     scale=(scale, 5 * scale))
    lam = draw(st.one_of(st.sampled_from([1e-300, 1e-100, 1e-15, 1e-8, 1e6]),
                         st.floats(1e-6, 1e3)))
    return scaled, lam, draw(st.integers(0, 4)), draw(st.booleans()), draw(st.booleans())


@FAST
@given(extreme_fits())
def test_als_never_raises_the_objective_at_any_scale_and_lam(case):
    data, lam, K, biases, weighted = case
    model = fit_als(data, K, lam, 3, biases=biases, weighted=weighted, seed=2)
    J = model.history["objective"]
    assert all(b <= a * (1 + 1e-9) + 1e-15 * J[0] for a, b in zip(J, J[1:], strict=False))
    everyone = np.repeat(np.arange(data.n_users), data.n_items)
    everything = np.tile(np.arange(data.n_items), data.n_users)
    assert np.all(np.isfinite(predict(model, everyone, everything)))
    before = objective(model, data)
    assert objective(als_sweep(model, data), data) <= before * (1 + 1e-9) + 1e-15 * J[0]


@FAST
@given(rating_sets(), st.floats(1e-3, 1.0), st.sampled_from([0.0, 0.1, 10.0, 1e6]),
       st.integers(1, 40))
def test_sgd_is_finite_or_says_it_diverged(data, lr, lam, batch):
    try:
        model = fit_sgd(data, 2, lam, 5, lr=lr, batch_size=batch, seed=0)
    except ValueError as err:
        assert "diverged" in str(err)
        return
    J = model.history["objective"]
    assert all(np.isfinite(J)) and max(J) <= recsys.DIVERGED * J[0]
    assert np.all(np.isfinite(model.P)) and np.all(np.isfinite(model.user_bias))


@FAST
@given(rating_sets(), st.data())
def test_recommend_never_returns_an_excluded_item(data, draw):
    model = fit_als(data, 2, 0.5, 2)
    user = draw.draw(st.integers(0, data.n_users - 1))
    n = draw.draw(st.integers(1, data.n_items))
    exclude = data.subset(np.asarray(draw.draw(st.lists(st.booleans(), min_size=len(data),
                                                        max_size=len(data)))))
    best, scores = recommend(model, user, n, exclude=exclude)
    excluded = set(exclude.items[exclude.users == user].tolist())
    assert not excluded & set(best.tolist())
    assert len(best) == min(n, data.n_items - len(excluded)) == len(set(best.tolist()))
    assert np.all(np.diff(scores) <= 1e-12 * max(np.abs(scores).max(initial=0), 1))


@FAST
@given(rating_sets(), st.booleans())
def test_clipped_errors_never_exceed_raw_ones(data, weighted):
    model = fit_als(data, 2, 0.05, 3, weighted=weighted)
    clipped = predict(model, data.users, data.items, clip=True)
    assert clipped.min() >= 1 and clipped.max() <= 5
    assert rmse(model, data, clip=True) <= rmse(model, data)
    assert mae(model, data, clip=True) <= mae(model, data)


# ----------------------------------------------------------------------------- MovieLens


def made_up_movielens_zip(folder, rows=40):
    """A zip laid out as GroupLens's ml-100k.zip (ml-100k/u.data and a README), made-up
    ratings; returns its path and its SHA-256."""
    rng = np.random.default_rng(0)
    lines = [f"{u}\t{i}\t{r}\t{880000000 + k}" for k, (u, i, r) in enumerate(zip(
        rng.permutation(rows) % 9 + 1, rng.permutation(rows) % 13 + 1,
        rng.integers(1, 6, rows), strict=True))]
    path = Path(folder) / "ml-100k.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("ml-100k/u.data", "\n".join(lines) + "\n")
        archive.writestr("ml-100k/README", "made up for a test\n")
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


@contextlib.contextmanager
def local_server(folder):
    """An HTTP server on 127.0.0.1 serving folder; yields (base address, list of paths
    requested)."""
    requested = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(folder), **kwargs)

        def do_GET(self):
            requested.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requested
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def no_proxy(monkeypatch):
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY",
                 "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_fetch_movielens_downloads_once_checks_and_reuses_the_cache(tmp_path, monkeypatch,
                                                                   capsys, no_proxy):
    served, cache = tmp_path / "served", tmp_path / "cache"
    served.mkdir()
    zipped, digest = made_up_movielens_zip(served)
    with local_server(served) as (base, requested):
        monkeypatch.setitem(datasets.MOVIELENS_FILES, "100k", (f"{base}/ml-100k.zip", digest))
        data, stamps, user_ids, item_ids = fetch_movielens("100k", cache_dir=cache)
        assert requested == ["/ml-100k.zip"]
        assert "100%" in capsys.readouterr().err  # the progress bar
        again = fetch_movielens("100k", cache_dir=cache, progress=False)
        assert requested == ["/ml-100k.zip"]  # read from the cache, no second request
    expected = load_movielens(zipped)  # the loader reads the zip itself, offline
    for got in (data, again[0], expected[0]):
        np.testing.assert_array_equal(got.ratings, expected[0].ratings)
        np.testing.assert_array_equal(got.users, expected[0].users)
    np.testing.assert_array_equal(stamps, expected[1])
    table = np.loadtxt(io.StringIO(zipfile.ZipFile(zipped).read("ml-100k/u.data").decode()),
                       dtype=np.int64)
    np.testing.assert_array_equal(user_ids[data.users], table[:, 0])
    np.testing.assert_array_equal(item_ids[data.items], table[:, 1])
    # the server is gone: the cached file is still found, and checked, without the network
    assert len(fetch_movielens("100k", cache_dir=cache, progress=False)[0]) == 40


def test_fetch_movielens_refuses_a_wrong_checksum(tmp_path, monkeypatch, no_proxy):
    served, cache = tmp_path / "served", tmp_path / "cache"
    served.mkdir()
    made_up_movielens_zip(served)
    with local_server(served) as (base, _):
        monkeypatch.setitem(datasets.MOVIELENS_FILES, "100k", (f"{base}/ml-100k.zip", "0" * 64))
        with pytest.raises(ValueError, match="MovieLens 100k from .* was refused.*hash"):
            fetch_movielens("100k", cache_dir=cache, progress=False)
    assert not (cache / "ml-100k.zip").exists()  # nothing kept


def test_fetch_movielens_without_a_network_says_so_in_one_line(tmp_path, monkeypatch,
                                                              no_proxy):
    address = f"http://127.0.0.1:{closed_port()}/ml-100k.zip"
    monkeypatch.setitem(datasets.MOVIELENS_FILES, "100k", (address, "0" * 64))
    with pytest.raises(ConnectionError) as error:
        fetch_movielens("100k", cache_dir=tmp_path, progress=False)
    message = str(error.value)
    assert "\n" not in message and address in message and "no network" in message
    with pytest.raises(ValueError, match="size must be one of"):
        fetch_movielens("10m")
    with pytest.raises(TypeError, match="cache_dir"):
        fetch_movielens("100k", cache_dir=3)


def test_the_pinned_checksums_are_grouplens_archives():
    """The digests of GroupLens's zips (as TensorFlow Datasets pins them): SHA-256, 64 hex
    digits, over https."""
    for size, (url, digest) in datasets.MOVIELENS_FILES.items():
        assert url == f"https://files.grouplens.org/datasets/movielens/ml-{size}.zip"
        assert re.fullmatch("[0-9a-f]{64}", digest)
    assert datasets.MOVIELENS_FILES["100k"][1].startswith("50d2a982c669")


def test_the_lesson_falls_back_to_generated_ratings_without_a_network(monkeypatch, capfd,
                                                                      tmp_path, no_proxy):
    """Lesson 11's USE_MOVIELENS cell, switched on, on a machine without a network: one line
    says so, and the cross-validation runs on the generated ratings."""
    cells = re.findall(r"```\{code-cell\} ipython3\n(.*?)```", LESSON.read_text(), re.DOTALL)
    cell = next(c for c in cells if "USE_MOVIELENS = False" in c)
    monkeypatch.setitem(datasets.MOVIELENS_FILES, "100k",
                        (f"http://127.0.0.1:{closed_port()}/ml-100k.zip", "0" * 64))
    monkeypatch.delenv("MOVIELENS_100K", raising=False)
    monkeypatch.setattr(pooch, "os_cache", lambda name: tmp_path)  # leave the real cache be
    namespace = {"os": os, "np": np, "backend": backend, "fetch_movielens": fetch_movielens,
                 "load_movielens": load_movielens, "split_ratings": split_ratings,
                 "rmse": rmse, "fit_als": fit_als,
                 "data": generate_ratings(943, 1682, 100_000, seed=0)}
    exec(cell.replace("USE_MOVIELENS = False", "USE_MOVIELENS = True"), namespace)
    out, err = capfd.readouterr()
    lines = out.splitlines()
    assert err == ""  # nothing more: pooch's own log line is held back
    assert len(lines) == 2 and "could not be downloaded" in lines[0]
    assert lines[0].endswith("the generated ratings stand in")
    assert lines[1].startswith("generated ratings, 100,000 ratings, 5-fold")


@settings(max_examples=10, deadline=None)
@given(rating_sets())
def test_what_fetch_movielens_downloads_is_the_table_served(data):
    """Any ratings table, zipped as GroupLens does and served from 127.0.0.1 with its digest
    pinned, comes back from fetch_movielens as it was, original ids included."""
    lines = [f"{3 * u + 1}\t{5 * i + 2}\t{int(r)}\t{100 + k}" for k, (u, i, r) in
             enumerate(zip(data.users, data.items, data.ratings, strict=True))]
    with tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as stack:
        served = Path(folder, "served")
        served.mkdir()
        with zipfile.ZipFile(served / "ml-100k.zip", "w") as archive:
            archive.writestr("ml-100k/u.data", "\n".join(lines) + "\n")
        digest = hashlib.sha256((served / "ml-100k.zip").read_bytes()).hexdigest()
        base, requested = stack.enter_context(local_server(served))
        stack.enter_context(pytest.MonkeyPatch.context()).setitem(
            datasets.MOVIELENS_FILES, "100k", (f"{base}/ml-100k.zip", digest))
        loaded, stamps, user_ids, item_ids = fetch_movielens("100k", cache_dir=Path(folder, "c"),
                                                             progress=False)
    assert requested == ["/ml-100k.zip"]
    np.testing.assert_array_equal(user_ids[loaded.users], 3 * data.users + 1)
    np.testing.assert_array_equal(item_ids[loaded.items], 5 * data.items + 2)
    np.testing.assert_array_equal(loaded.ratings, data.ratings)
    np.testing.assert_array_equal(stamps, 100 + np.arange(len(data)))
