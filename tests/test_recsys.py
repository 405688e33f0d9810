import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from properties import names_the_argument

from course_utils import backend, recsys
from course_utils.recsys import (
    FactorModel,
    Ratings,
    als_sweep,
    fit_als,
    fit_sgd,
    generate_ratings,
    load_movielens,
    mae,
    objective,
    predict,
    recommend,
    rmse,
    split_ratings,
    user_based_predict,
)

FAST = settings(max_examples=25, deadline=None)
FIXTURE = Path(__file__).resolve().parent / "data" / "movielens"


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


# ----------------------------------------------------------------------------- references


def als_by_loops(model, train):
    """The textbook sweep: for each user, then each item, its own ridge least squares on the
    augmented features (1, q_i), solved by np.linalg.lstsq on stacked rows (an independent
    route: no normal equations)."""
    m = FactorModel(model.mu, model.user_bias.copy(), model.item_bias.copy(), model.P.copy(),
                    model.Q.copy(), model.lam, model.weighted, model.biases)
    for side in ("users", "items"):
        rows, cols = (train.users, train.items) if side == "users" else (train.items,
                                                                          train.users)
        other, other_bias = (m.Q, m.item_bias) if side == "users" else (m.P, m.user_bias)
        n_rows = train.n_users if side == "users" else train.n_items
        new_bias, new_f = np.zeros(n_rows), np.zeros((n_rows, other.shape[1]))
        for r in range(n_rows):
            mine = np.flatnonzero(rows == r)
            Z = other[cols[mine]]
            if m.biases:
                Z = np.hstack([np.ones((len(mine), 1)), Z])
            t = train.ratings[mine] - m.mu - other_bias[cols[mine]]
            w = max(len(mine), 1) if m.weighted else 1
            D = Z.shape[1]
            stacked = np.vstack([Z, np.sqrt(m.lam * w) * np.eye(D)])
            x = np.linalg.lstsq(stacked, np.concatenate([t, np.zeros(D)]), rcond=None)[0]
            if m.biases:
                new_bias[r], new_f[r] = x[0], x[1:]
            else:
                new_f[r] = x
        if side == "users":
            m.user_bias, m.P = new_bias, new_f
        else:
            m.item_bias, m.Q = new_bias, new_f
    return m


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


@pytest.mark.parametrize(("biases", "weighted", "K"), [(True, False, 3), (False, True, 2),
                                                       (True, True, 0), (False, False, 4)])
def test_the_vectorised_sweep_equals_the_textbook_loop(biases, weighted, K):
    train = Ratings(*(lambda d: (d.users, d.items, d.ratings))(small(n=50)), n_users=14,
                    n_items=11)  # users 12, 13 and items 9, 10 have no ratings
    model = fit_als(train, K, 0.7, 2, biases=biases, weighted=weighted, seed=3)
    expected = als_by_loops(model, train)
    als_sweep(model, train)
    for name in ("user_bias", "item_bias", "P", "Q"):
        np.testing.assert_allclose(getattr(model, name), getattr(expected, name), atol=1e-10)
    assert np.all(model.P[12:] == 0) and np.all(model.Q[9:] == 0)
    assert np.all(model.user_bias[12:] == 0) and np.all(model.item_bias[9:] == 0)


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
    sims.sort(key=lambda p: -abs(p[0]))
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
        expected = user_based_by_loops(data, u, i, k)
        # ties in |similarity| may pick other neighbours: compare only when none are tied
        assert np.isfinite(g)
        if k >= data.n_users - 1:
            assert g == pytest.approx(expected, abs=1e-9)


# ----------------------------------------------------------------------------- bad input


test_bad_input_names_the_argument = names_the_argument({
    "ratings": (lambda v: Ratings([0, 1], [0, 1], v), [[0.5, 3], [1, 6], [np.nan, 2], []]),
    "users": (lambda v: Ratings(v, [0, 1], [1, 2]), [[0.5, 1], [-1, 0], "ab", [[0, 1]]]),
    "items": (lambda v: Ratings([0, 1], v, [1, 2]), [[1.0, 2.0], [0, -3], None]),
    "n_users": (lambda v: Ratings([0, 3], [0, 1], [1, 2], n_users=v), [0, 2.5, "4"]),
    "users  ": (lambda v: Ratings([0, v], [0, 1], [1, 2], n_users=4), [4, 7]),
    "items  ": (lambda v: Ratings([0, 1], [v, 1], [1, 2], n_items=2), [2, -1]),
    "scale": (lambda v: Ratings([0], [0], [1.0], scale=v), [(5, 1), (1, np.inf)]),
    "train": (lambda v: fit_als(v), [None, [1, 2], np.ones(3)]),
    "n_factors": (lambda v: fit_als(small(), n_factors=v), [-1, 1.5, 5000]),
    "lam": (lambda v: fit_als(small(), lam=v), [0, -0.1, np.nan, "1", 1e9]),
    "lam ": (lambda v: fit_sgd(small(), lam=v), [-0.1, np.inf]),
    "train ": (lambda v: fit_als(small().subset(np.zeros(50, bool)), n_iters=v), [1]),
    "n_iters": (lambda v: fit_als(small(), n_iters=v), [-1, 2.0]),
    "lr": (lambda v: fit_sgd(small(), lr=v), [0, -1, 2]),
    "batch_size": (lambda v: fit_sgd(small(), batch_size=v), [0, 1.5]),
    "n_folds": (lambda v: split_ratings(small(), v), [1, 51, 2.0]),
    "fold": (lambda v: split_ratings(small(), 5, v), [-1, 5]),
    "n_ratings": (lambda v: generate_ratings(4, 4, v), [0, 9, 1.5]),
    "model": (lambda v: predict(v, [0], [0]), [None, "model"]),
    "users ": (lambda v: predict(fit_als(small(), 2, n_iters=0), v, [0]), [[12], [-1], [0.5]]),
    "user": (lambda v: recommend(fit_als(small(), 2, n_iters=0), v), [12, -1, 0.5]),
    "n": (lambda v: recommend(fit_als(small(), 2, n_iters=0), 0, v), [0, 10]),
    "k": (lambda v: user_based_predict(small(), [0], [0], k=v), [0, 1.5]),
    "path": (lambda v: load_movielens(v), [3, None]),
}, max_examples=60)


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
    assert "pip install" in recsys.spark_missing()
    monkeypatch.undo()
    if importlib.util.find_spec("pyspark") is None:
        pytest.skip("pyspark is not installed: the Java check comes after it")
    monkeypatch.setenv("PATH", str(tmp_path))  # no java on the PATH
    monkeypatch.delenv("JAVA_HOME", raising=False)
    assert "Java runtime" in recsys.spark_missing()
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "java").write_text("#!/bin/sh\n")
    (tmp_path / "bin" / "java").chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))  # found under JAVA_HOME
    assert recsys.spark_missing() is None


@pytest.fixture(scope="module")
def spark():
    missing = recsys.spark_missing()
    if missing is not None:
        pytest.skip(missing)
    session = recsys.spark_session()
    yield session
    session.stop()


@pytest.mark.spark
def test_spark_als_reaches_our_rmse_on_the_same_split(spark):
    assert recsys.spark_session() is spark  # the active session is reused
    train, test = split_ratings(generate_ratings(100, 80, 2500, seed=4))
    theirs = recsys.fit_spark_als(spark, train, 3, 0.2, 5, seed=0)
    ours = fit_als(train, 3, 0.2, 5, biases=False, weighted=True)
    assert theirs.P.shape == (100, 3) and theirs.Q.shape == (80, 3)
    assert np.isfinite(predict(theirs, test.users, test.items)).all()
    assert abs(rmse(theirs, test) - rmse(ours, test)) < 0.03  # 500 test ratings: some noise
    assert objective(theirs, train) == pytest.approx(objective(ours, train), rel=0.02)
