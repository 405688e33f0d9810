import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils import backend
from course_utils import games as g
from course_utils.games import C, D


def moves(text):
    return np.array([m == "D" for m in text])


def seen(theirs, mine=None, u=(0.0,), turn=None, state=None):
    """A Seen for len(u) seats that all saw the same history (strings of C and D)."""
    mine = theirs if mine is None else mine
    n = len(u)
    mine_a, theirs_a = np.tile(moves(mine), (n, 1)), np.tile(moves(theirs), (n, 1))
    seen = g.Seen(len(theirs), mine_a, theirs_a, mine_a.sum(axis=1), theirs_a.sum(axis=1),
                  np.asarray(u, dtype=float), state or {})
    if turn is not None:
        seen.turn = turn
    return seen


def play(a, b, turns, **kwargs):
    match = g.play_match(a, b, turns, **kwargs)
    return g.moves_str(match.moves[:, 0]), g.moves_str(match.moves[:, 1])


def test_tit_for_tat_against_defector_over_200_turns():
    match = g.play_match(g.TitForTat(), g.Defector(), 200)
    assert match.scores.tolist() == [199, 204]  # 0 + 199 * 1 against 5 + 199 * 1
    assert g.moves_str(match.moves[:, 0]) == "C" + "D" * 199


def test_scores_with_other_payoffs():
    holiday = (15, 1, 25, 5)  # R, S, T, P of the mobile game's event
    match = g.play_match(g.TitForTat(), g.Defector(), 10, payoffs=holiday)
    assert match.scores.tolist() == [1 + 9 * 5, 25 + 9 * 5]
    assert g.play_match(g.TitForTat(), g.TitForTat(), 10).scores.tolist() == [30, 30]


OPPONENT = "CDDCCCDCDD"  # the fixed opponent of the hand-written sequences below
EXPECTED = {
    g.Cooperator: "CCCCCCCCCC",
    g.Defector: "DDDDDDDDDD",
    g.TitForTat: "CCDDCCCDCD",
    g.SuspiciousTitForTat: "DCDDCCCDCD",
    g.TitForTwoTats: "CCCDCCCCCC",
    g.Grudger: "CCDDDDDDDD",
    g.WinStayLoseShift: "CCDCCCCDDC",
    g.Alternator: "CDCDCDCDCD",
    g.Shubik: "CCDCCCCDDC",
}


@pytest.mark.parametrize("cls", list(EXPECTED), ids=lambda c: c.__name__)
def test_moves_against_a_fixed_opponent(cls):
    mine, theirs = play(cls(), g.Cycler(OPPONENT), 10)
    assert theirs == OPPONENT
    assert mine == EXPECTED[cls]


def test_davis_cooperates_ten_moves_then_grudges():
    assert play(g.Davis(), g.Cycler(OPPONENT), 12)[0] == "C" * 10 + "DD"
    assert play(g.Davis(), g.Cooperator(), 30)[0] == "C" * 30


def test_shubik_retaliates_one_move_longer_each_time():
    assert play(g.Shubik(), g.Defector(), 15)[0] == "CDCDDCDDDCDDDDC"


def test_nydegger():
    # Move 4 on: A = 16 a1 + 4 a2 + a3 over the last three turns, oldest first, a = 2 (their
    # D) + 1 (our D). Against Defector: A = 47 (C), 62 (C), 58 (D), 43 (C), 46 (C), 58 (D)...
    assert play(g.Nydegger(), g.Defector(), 12)[0] == "CDDCCDCCDCCD"
    # The exception on move 3: only we cooperated on move 1, only we defected on move 2.
    # Then A = 37 (C), 22 (D), 25 (C).
    assert play(g.Nydegger(), g.Cycler("DCC"), 6)[0] == "CDDCDC"
    assert play(g.Nydegger(), g.TitForTat(), 20)[0] == "C" * 20


def test_cycler_and_rule():
    assert play(g.Cycler("CCD"), g.Cooperator(), 7)[0] == "CCDCCDC"
    soft_majority = g.Rule("Soft Majority", lambda h: 2 * h.their_defections > h.turn)
    assert play(soft_majority, g.Cycler("DCC"), 6)[0] == "CDCCCC"


@pytest.mark.parametrize("strategy, cooperate_if_u_below", [
    (g.Random(0.3), 0.3), (g.Random(), 0.5)])
def test_random_cooperates_when_u_below_p(strategy, cooperate_if_u_below):
    p = cooperate_if_u_below
    for h in (seen("", u=[0.0, p - 1e-9, p, 0.99]), seen("CD", u=[0.0, p - 1e-9, p, 0.99])):
        assert strategy.move(h).tolist() == [C, C, D, D]


def test_joss_and_generous_tit_for_tat():
    u = [0.0, 0.2, 0.5, 0.89, 0.95]
    assert g.Joss().move(seen("CC", u=u)).tolist() == [C, C, C, C, D]
    assert g.Joss().move(seen("CD", u=u)).tolist() == [D] * 5
    assert g.GenerousTitForTat().move(seen("CD", u=u)).tolist() == [C, C, D, D, D]
    assert g.GenerousTitForTat().move(seen("DC", u=u)).tolist() == [C] * 5


def test_grofman():
    u = [0.0, 0.28, 0.29, 0.9]  # 2/7 = 0.2857
    assert g.Grofman().move(seen("D", mine="C", u=u)).tolist() == [C, C, D, D]
    assert g.Grofman().move(seen("D", mine="D", u=u)).tolist() == [C] * 4


def test_tullock():
    u = [0.0, 0.49, 0.5, 0.9]
    assert g.Tullock().move(seen("D" * 10, u=u)).tolist() == [C] * 4  # first 11 moves
    # preceding ten moves of the opponent: 6 C, so C with probability 0.6 - 0.1 = 0.5
    assert g.Tullock().move(seen("D" + "CCCCCCDDDD", u=u)).tolist() == [C, C, D, D]
    assert g.Tullock().move(seen("C" + "C" * 9 + "D", u=[0.79, 0.8])).tolist() == [C, D]


def test_feld():
    p = 1 - 0.5 * 100 / 199  # the probability of C after a C, move 101
    assert g.Feld().move(seen("C" * 100, u=[p - 1e-9, p])).tolist() == [C, D]
    assert g.Feld().move(seen("C" * 300, u=[0.49, 0.5])).tolist() == [C, D]
    assert g.Feld().move(seen("C" * 99 + "D", u=[0.0])).tolist() == [D]
    assert g.Feld().move(seen("", u=[0.99])).tolist() == [C]


def test_deterministic_limits_of_the_random_strategies():
    tft = play(g.TitForTat(), g.Cycler(OPPONENT), 10)[0]
    assert play(g.Joss(p=1), g.Cycler(OPPONENT), 10, seed=3)[0] == tft
    assert play(g.GenerousTitForTat(p=0), g.Cycler(OPPONENT), 10, seed=3)[0] == tft
    assert play(g.Random(1), g.Defector(), 10, seed=3)[0] == "C" * 10


def test_rates_of_the_random_strategies():
    result = g.tournament([g.Random(0.3), g.Joss()], turns=200, repetitions=50, seed=0)
    # Random(0.3) cooperates 30% of the time: 30_000 moves (both seats of self-play
    # included), so a standard error of 0.0026.
    assert abs(result.cooperation[0] - 0.3) < 0.01


def test_uniform_numbers_look_uniform():
    u = g.uniform(g.seed_keys(0, np.arange(100_000)), 5)
    assert u.min() >= 0 and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.005
    counts = np.histogram(u, bins=10, range=(0, 1))[0]
    assert np.all(np.abs(counts - 10_000) < 500)


CAST = [g.TitForTat(), g.Defector(), g.Random(), g.Joss(), g.Shubik(), g.Nydegger(),
        g.TitForTwoTats(), g.Feld()]


@pytest.mark.parametrize("kwargs", [
    {}, {"noise": 0.05}, {"prob_end": 0.02}, {"noise": 0.1, "prob_end": 0.05},
    {"self_play": False, "payoffs": (15, 1, 25, 5)}])
def test_vectorised_tournament_equals_one_match_at_a_time(kwargs):
    fast = g.tournament(CAST, turns=60, repetitions=3, seed=11, **kwargs)
    slow = g.tournament_by_loop(CAST, turns=60, repetitions=3, seed=11, **kwargs)
    for field in ("totals", "lengths", "cooperation", "wins"):
        assert np.array_equal(getattr(fast, field), getattr(slow, field)), field
    assert fast.table() == slow.table()


@settings(max_examples=15, deadline=None)
@given(st.lists(st.sampled_from(range(len(g.classics()))), min_size=1, max_size=5),
       st.integers(1, 30), st.sampled_from([0.0, 0.1]), st.integers(0, 2**64 - 1))
def test_any_small_tournament_equals_the_loop(picks, turns, noise, seed):
    cast = [g.classics()[k] for k in picks]
    fast = g.tournament(cast, turns=turns, repetitions=2, noise=noise, seed=seed)
    slow = g.tournament_by_loop(cast, turns=turns, repetitions=2, noise=noise, seed=seed)
    assert np.array_equal(fast.totals, slow.totals)
    assert np.array_equal(fast.cooperation, slow.cooperation)


def test_match_seed_replays_a_tournament_match():
    result = g.tournament(CAST, turns=50, repetitions=2, noise=0.1, seed=5)
    match = g.play_match(CAST[2], CAST[3], 50, noise=0.1, seed=g.match_seed(5, 2, 3, 1))
    assert result.totals[2, 3, 1] == match.scores[0]
    assert result.totals[3, 2, 1] == match.scores[1]


def test_noise_flips_the_intended_move():
    match = g.play_match(g.Cooperator(), g.Defector(), 500, noise=0.1, seed=4)
    assert np.array_equal(match.moves, match.flipped ^ [C, D])
    assert 0.07 < match.flipped.mean() < 0.13  # 1000 draws: standard error 0.0095
    assert not g.play_match(g.Cooperator(), g.Defector(), 50, seed=4).flipped.any()


def test_reproducible_with_a_seed():
    def run(seed):
        return g.tournament(CAST, turns=40, repetitions=2, noise=0.1, prob_end=0.05, seed=seed)

    assert np.array_equal(run(1).totals, run(1).totals)
    assert not np.array_equal(run(1).totals, run(2).totals)
    a, b = (g.play_match(g.Random(), g.Joss(), 100, noise=0.1, seed=9) for _ in range(2))
    assert np.array_equal(a.moves, b.moves)


def test_tournament_results():
    result = g.tournament([g.TitForTat(), g.Defector(), g.Cooperator()], turns=200)
    # Per turn, row against column: TFT-TFT 3, TFT-D 199/200, TFT-C 3; D-TFT 204/200, ...
    expected = np.array([[3, 199 / 200, 3], [204 / 200, 1, 5], [3, 0, 3]])
    np.testing.assert_allclose(result.payoff_matrix, expected, rtol=1e-15)
    np.testing.assert_allclose(result.scores, expected.mean(axis=1), rtol=1e-15)
    assert result.ranking.tolist() == [1, 0, 2]
    assert result.wins.tolist() == [0, 2, 0]
    np.testing.assert_allclose(result.cooperation, [601 / 800, 0, 1])
    assert [row["strategy"] for row in result.rows()] == ["Defector", "Tit For Tat",
                                                          "Cooperator"]
    assert "self-play counted" in result.table()
    no_self = g.tournament([g.TitForTat(), g.Defector(), g.Cooperator()], self_play=False)
    np.testing.assert_allclose(no_self.scores, [(199 / 200 + 3) / 2, (204 / 200 + 5) / 2, 1.5])


def test_prob_end_gives_geometric_lengths():
    lengths = g.match_lengths(g.seed_keys(3, np.arange(50_000)), 10_000, prob_end=0.1)
    assert lengths.min() == 1
    assert abs(lengths.mean() - 10) < 0.15  # mean 1 / p, standard error 0.04
    assert (g.match_lengths(g.seed_keys(3, np.arange(10)), 7, prob_end=0.01) <= 7).all()
    assert (g.match_lengths(g.seed_keys(3, np.arange(10)), 7, prob_end=1) == 1).all()


@pytest.mark.parametrize("payoffs, match", [
    ((3, 0, 5), "four finite"), ((3, 5, 0, 1), "T > R > P > S"),
    ((3, 0, 7, 1), "2R > T \\+ S"), ("abcd", "four numbers"), ((3, 0, 5, np.nan), "finite")])
def test_payoffs_are_checked(payoffs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        g.play_match(g.TitForTat(), g.Defector(), 5, payoffs=payoffs)


def test_holiday_payoffs_are_a_dilemma():
    assert g.check_payoffs((15, 1, 25, 5)) == g.Payoffs(R=15, S=1, T=25, P=5)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"turns": 0}, ValueError, "turns"), ({"noise": 1.5}, ValueError, "noise"),
    ({"prob_end": 0}, ValueError, "prob_end"), ({"repetitions": 0}, ValueError, "repetitions"),
    ({"repetitions": 2.0}, TypeError, "repetitions must be an int"),
    ({"seed": 1.5}, TypeError, "seed"), ({"strategies": []}, ValueError, "empty"),
    ({"strategies": ["TFT"]}, TypeError, "strategies\\[0\\]")])
def test_tournament_arguments_are_checked(kwargs, error, match):
    args = {"strategies": [g.TitForTat()], **kwargs}
    with pytest.raises(error, match=match):
        g.tournament(**args)


def test_strategy_arguments_are_checked():
    with pytest.raises(ValueError, match="p must be in"):
        g.Joss(p=2)
    with pytest.raises(ValueError, match="pattern"):
        g.Cycler("CX")
    with pytest.raises(TypeError, match="rule"):
        g.Rule("x", 3)


def test_replicator_dynamics():
    a = np.array([[3, 0], [5, 1]])  # Cooperator, Defector: defection takes over
    shares = g.replicator(a, [0.99, 0.01], n_iter=300)
    np.testing.assert_allclose(shares.sum(axis=1), 1)
    assert shares[-1, 1] > 0.99 and np.all(np.diff(shares[:, 1]) > 0)
    # TFT against Defector over 200 turns: TFT invades when common enough (bistable)
    tft = np.array([[3, 199 / 200], [204 / 200, 1]])
    assert g.replicator(tft, [0.9, 0.1], n_iter=300)[-1, 0] > 0.99
    assert g.replicator(tft, [0.001, 0.999], n_iter=300)[-1, 0] < 0.001
    with pytest.raises(ValueError, match="square"):
        g.replicator(np.ones((2, 3)), [1, 1])


def test_moran_process():
    a = np.array([[3, 0], [5, 1]])
    counts = g.moran(a, [5, 5], n_iter=400, runs=200, seed=0)
    assert counts.shape == (401, 200, 2)
    assert (counts.sum(axis=2) == 10).all()
    assert (np.abs(np.diff(counts[:, :, 0], axis=0)) <= 1).all()  # one birth, one death
    fixed = counts[-1, :, 1] == 10
    assert fixed.mean() > 0.9  # Defectors take over in almost every run
    assert np.array_equal(counts, g.moran(a, [5, 5], n_iter=400, runs=200, seed=0))
    neutral = g.moran(a, [5, 5], n_iter=2000, runs=400, seed=1, intensity=0)[-1, :, 0]
    assert abs((neutral == 10).mean() - 0.5) < 0.1  # neutral drift: fixation 5/10
    with pytest.raises(ValueError, match="counts"):
        g.moran(a, [1, 0])


@pytest.mark.gpu
def test_gpu_tournament_equals_cpu():
    import cupy

    kwargs = {"turns": 100, "repetitions": 4, "noise": 0.05, "prob_end": 0.02, "seed": 7}
    gpu = g.tournament(CAST, xp=cupy, **kwargs)
    cpu = g.tournament(CAST, xp=np, **kwargs)
    assert np.array_equal(gpu.totals, cpu.totals)
    assert np.array_equal(gpu.cooperation, cpu.cooperation)
    shares = g.replicator(cupy.asarray(cpu.payoff_matrix), cupy.ones(len(CAST)))
    np.testing.assert_allclose(shares.get(), g.replicator(cpu.payoff_matrix, np.ones(len(CAST))))
    counts = g.moran(cupy.asarray(cpu.payoff_matrix), cupy.full(len(CAST), 3), 200, 16, seed=0)
    assert np.array_equal(counts.get(), g.moran(cpu.payoff_matrix, np.full(len(CAST), 3), 200,
                                                16, seed=0))


EVERY_STRATEGY = [*g.classics(), *g.first_tournament(), g.Cycler("CCD"), g.Davis(),
                  g.Feld(), g.Alternator(), g.Rule("Soft Majority",
                                                   lambda h: 2 * h.their_defections > h.turn)]


@pytest.mark.gpu
def test_every_strategy_decides_on_the_device():
    """Each strategy, fed the same history on both devices, answers with CuPy booleans equal
    to its NumPy answers (the stateful ones, Shubik, over a whole history)."""
    import cupy

    rng = np.random.default_rng(0)
    n, turns = 24, 30
    theirs_all = rng.random((n, turns)) < 0.3
    u_all = rng.random((n, turns))
    for strategy in EVERY_STRATEGY:
        states = {np: strategy.start(n, np), cupy: strategy.start(n, cupy)}
        mine_all = np.zeros((n, turns), dtype=bool)
        for t in range(turns):
            answers = {}
            for xp in (np, cupy):
                mine, theirs = xp.asarray(mine_all[:, :t]), xp.asarray(theirs_all[:, :t])
                h = g.Seen(t, mine, theirs, mine.sum(axis=1), theirs.sum(axis=1),
                           xp.asarray(u_all[:, t]), states[xp])
                answers[xp] = strategy.move(h)
            assert isinstance(answers[cupy], cupy.ndarray), strategy
            assert answers[cupy].dtype == bool and answers[cupy].shape == (n,), strategy
            np.testing.assert_array_equal(answers[cupy].get(), answers[np], err_msg=str(strategy))
            mine_all[:, t] = answers[np]


@pytest.mark.gpu
def test_random_numbers_are_the_same_integers_on_both_devices():
    import cupy

    index = np.arange(1000)
    keys = g.seed_keys(7, index, index % 3)
    keys_gpu = g.seed_keys(7, cupy.asarray(index), cupy.asarray(index % 3))  # follows them
    assert isinstance(keys_gpu, cupy.ndarray) and keys_gpu.dtype == np.uint64
    np.testing.assert_array_equal(keys_gpu.get(), keys)
    np.testing.assert_array_equal(g.seed_keys(7, [1, 2], [3, 4], xp=cupy).get(),
                                  g.seed_keys(7, [1, 2], [3, 4]))
    for counter in (5, cupy.arange(1000)):
        u = g.uniform(keys_gpu, counter)
        assert isinstance(u, cupy.ndarray) and u.dtype == np.float64
        host_counter = counter if isinstance(counter, int) else counter.get()
        np.testing.assert_array_equal(u.get(), g.uniform(keys, host_counter))
    for prob_end in (None, 0.05, 1):
        lengths = g.match_lengths(keys_gpu, 300, prob_end)
        assert isinstance(lengths, cupy.ndarray)
        np.testing.assert_array_equal(lengths.get(), g.match_lengths(keys, 300, prob_end))
    assert g.moves_str(cupy.asarray(moves("CDDC"))) == "CDDC"
    assert g.match_seed(7, 1, 2, 3) == int(g.seed_keys(7, [1], [2], [3])[0])


@pytest.mark.gpu
def test_tournament_plays_on_the_current_device_and_returns_numpy():
    """xp=None: the current device (the strategies see CuPy arrays after use("gpu")); the
    results are NumPy by design and exactly those of the CPU and of the by-hand loop."""
    import cupy

    seen_on = []
    probe = g.Rule("probe", lambda h: seen_on.append(h.xp) or h.their_last)
    cast = [*CAST, probe]
    kwargs = {"turns": 40, "repetitions": 3, "noise": 0.05, "prob_end": 0.03, "seed": 12}
    cpu = g.tournament(cast, **kwargs)
    assert set(seen_on) == {np}
    backend.use("gpu")
    seen_on.clear()
    gpu = g.tournament(cast, **kwargs)
    assert set(seen_on) == {cupy}
    slow = g.tournament_by_loop(cast, **kwargs)  # plain NumPy whatever the device
    for field in ("totals", "lengths", "cooperation", "wins"):
        assert type(getattr(gpu, field)) is np.ndarray, field
        np.testing.assert_array_equal(getattr(gpu, field), getattr(cpu, field), err_msg=field)
        np.testing.assert_array_equal(getattr(gpu, field), getattr(slow, field), err_msg=field)
    assert gpu.table() == cpu.table() and gpu.rows() == cpu.rows()
    moved = backend.to_device(gpu, "gpu")  # one call moves the whole result, and back
    assert isinstance(moved.totals, cupy.ndarray)
    np.testing.assert_array_equal(backend.to_device(moved, "cpu").totals, cpu.totals)
    match = g.play_match(CAST[2], CAST[3], 50, noise=0.1, seed=g.match_seed(12, 2, 3, 1))
    assert type(match.moves) is np.ndarray  # the reference loop stays NumPy
    assert isinstance(g.Shubik().start(4)["runs"], cupy.ndarray)  # start: the current device
    assert g.Strategy().start(4) == {}


@pytest.mark.gpu
def test_evolution_follows_the_payoff_matrix():
    import cupy

    matrix = g.tournament(CAST, turns=30, seed=3).payoff_matrix
    shares = g.replicator(cupy.asarray(matrix), [1.0] * len(CAST), n_iter=50)
    assert isinstance(shares, cupy.ndarray) and shares.shape == (51, len(CAST))
    np.testing.assert_allclose(shares.get(), g.replicator(matrix, np.ones(len(CAST)), n_iter=50),
                               rtol=1e-12)
    for record in (True, False):
        counts = g.moran(cupy.asarray(matrix), [3] * len(CAST), 150, 8, seed=2, record=record)
        assert isinstance(counts, cupy.ndarray) and counts.dtype == np.int64
        np.testing.assert_array_equal(counts.get(), g.moran(matrix, [3] * len(CAST), 150, 8,
                                                            seed=2, record=record))


@pytest.mark.gpu
def test_a_mix_of_devices_names_the_argument_and_says_what_to_do():
    import cupy

    matrix = np.array([[3.0, 0.0], [5.0, 1.0]])
    keys = g.seed_keys(0, cupy.arange(4))
    mine = np.zeros((4, 2), dtype=bool)
    calls = [
        (lambda: g.replicator(cupy.asarray(matrix), np.ones(2)), "shares is a NumPy array"),
        (lambda: g.replicator(matrix, cupy.ones(2)), "shares is a CuPy array"),
        (lambda: g.moran(cupy.asarray(matrix), np.array([5, 5])), "counts is a NumPy array"),
        (lambda: g.moran(matrix, cupy.asarray([5, 5])), "counts is a CuPy array"),
        (lambda: g.uniform(keys, np.arange(4)), "counter is a NumPy array"),
        (lambda: g.seed_keys(0, cupy.arange(4), np.arange(4)), "indices\\[1\\] is a NumPy"),
        (lambda: g.seed_keys(0, np.arange(4), xp=cupy), "indices\\[0\\] is a NumPy"),
        (lambda: g.Seen(2, mine, cupy.asarray(mine), mine.sum(axis=1), mine.sum(axis=1),
                        np.zeros(4), {}), "theirs is a CuPy array"),
    ]
    for call, names in calls:
        with pytest.raises(backend.DeviceMismatchError, match=names) as err:
            call()
        assert "re-run the lesson after switching" in str(err.value)


# ----------------------------------------------------------------------------- the five entries
# Read as the Axelrod Python library reads them (see each docstring); the expected moves are
# worked out by hand in the comments.


def test_tideman_and_chieruzzi_punishes_longer_and_gives_fresh_starts():
    opponent = g.Cycler("D" + "C" * 9)  # one D every ten moves
    # Runs of punishment 1, 2, 3 after its Ds on moves 1, 11, 21, and D on the last two moves.
    assert play(g.TidemanAndChieruzzi(), opponent, 30)[0] == (
        "CD" + "C" * 9 + "DD" + "C" * 8 + "DDD" + "CCCC" + "DD")
    # With 60 moves, on move 24 it leads by 10 (70 to 60), the opponent just cooperated, 3 of
    # its 23 moves were D (more than 3 sd from 11.5) and 36 moves remain: a fresh start (C, C)
    # cuts the third punishment short and resets the runs (1 D on move 32, 2 on 42-43); a
    # second fresh start on move 44 (20 moves later) resets them again (1 D on move 52).
    assert play(g.TidemanAndChieruzzi(), opponent, 60)[0] == (
        "CD" + "C" * 9 + "DD" + "C" * 8 + "DD" + "C" * 8 + "D" + "C" * 9 + "DD" + "C" * 8
        + "D" + "C" * 6 + "DD")
    # Without an announced length (prob_end): no fresh start and no final Ds.
    assert play(g.TidemanAndChieruzzi(), opponent, 40, prob_end=1e-9)[0] == (
        "CD" + "C" * 9 + "DD" + "C" * 8 + "DDD" + "C" * 7 + "DDDD" + "C" * 5)
    assert play(g.TidemanAndChieruzzi(), g.Defector(), 12)[0] == "C" + "D" * 11


def test_stein_and_rapoport():
    assert play(g.SteinAndRapoport(), g.Defector(), 20)[0] == "CCCC" + "D" * 16
    assert play(g.SteinAndRapoport(), g.Cooperator(), 20)[0] == "C" * 18 + "DD"
    # Against CDCD...: four Cs, Tit For Tat to move 14, then on move 15 its 7 C and 7 D look
    # random (chi-squared 0): D until the next test on move 30, which says the same.
    assert play(g.SteinAndRapoport(), g.Cycler("CD"), 40)[0] == "CCCC" + "DC" * 5 + "D" * 26


def test_graaskamp():
    # Tit For Tat but D on move 51: against Tit For Tat the probe echoes back and forth.
    assert play(g.Graaskamp(), g.TitForTat(), 70)[0] == "C" * 50 + "DC" * 10
    # Against CDCD... the chi-squared test on move 57 finds it random: D from then on.
    mine = play(g.Graaskamp(), g.Cycler("CD"), 70)[0]
    assert mine == "C" + "CD" * 24 + "C" + "D" + "CDCDC" + "D" * 14
    # Against a Cooperator (neither random nor Tit For Tat nor a twin): C, with a D every 5 to
    # 15 moves, the first on move 62-72.
    for seed in range(5):
        late = play(g.Graaskamp(), g.Cooperator(), 200, seed=seed)[0]
        defections = [k for k, m in enumerate(late) if m == "D"]
        assert defections[0] == 50 and 61 <= defections[1] <= 71
        assert all(5 <= d <= 15 for d in np.diff(defections[1:]))


def test_downing():
    # Move 3 against a Cooperator: alpha = 1 (its C on move 1 answers the C "before the
    # match"), beta = 1/2, so E[C] = 3 = E[D] = 0.5 * 5 + 0.5 * 1: a tie, the opposite of our
    # last move. Then beta grows and D pays: 1.5 < 5, 3 < 3.67, ...
    assert play(g.Downing(), g.Cooperator(), 10)[0] == "DDC" + "D" * 7
    assert play(g.Downing(), g.Defector(), 10)[0] == "D" * 10  # alpha = beta = 0: 0 < 1
    # Against Tit For Tat, its Ds are answered: beta = 0, so C pays from move 3 on.
    assert play(g.Downing(), g.TitForTat(), 10) == ("DD" + "C" * 8, "CDD" + "C" * 7)


def test_anonymous_cooperates_half_the_time_but_not_like_random():
    result = g.tournament([g.Anonymous(), g.Random()], turns=200, repetitions=50, seed=0)
    assert abs(result.cooperation[0] - 0.5) < 0.01  # 40,000 moves: standard error 0.0025
    # P uniform in [0.3, 0.7] from the low bits of u, the coin from its high bits
    u = np.array([0.5, 0.25 + 0.999 * 2.0**-26, 0.69])
    assert g.Anonymous().move(seen("CD", u=u)).tolist() == [D, C, D]
    a = g.play_match(g.Anonymous(), g.Random(), 200, seed=1).moves
    assert not np.array_equal(a[:, 0], a[:, 1])


def test_chi_squared_check_is_scipys():
    from scipy.stats import chisquare

    from course_utils.games.strategies import _chi2_critical, _looks_random

    critical = _chi2_critical(0.05)
    for turn in (14, 29, 56, 100):
        for their_d in range(turn + 1):
            h = seen("C" * turn, u=[0.0])
            h.their_defections = np.array([their_d])
            expected = chisquare([turn - their_d, their_d]).pvalue >= 0.05
            assert bool(_looks_random(h, critical)[0]) == expected, (turn, their_d)


def test_first_tournament_in_full():
    full, partial = g.first_tournament(), g.first_tournament(reconstructed=False)
    assert len(full) == 15 and len(partial) == 10
    assert [s.name for s in full] == [
        "Tit For Tat", "Tideman and Chieruzzi", "Nydegger", "Grofman", "Shubik",
        "Stein and Rapoport", "Grudger", "Davis", "Graaskamp", "Downing", "Feld", "Joss",
        "Tullock", "Anonymous", "Random"]
    assert {s.name for s in partial} < {s.name for s in full}


def test_final_moves_need_an_announced_length():
    h = seen("CC")
    assert not h.last_turns(2)
    h.length = 4
    assert h.last_turns(2) and g.SteinAndRapoport().move(h).tolist() == [D]


# ----------------------------------------------------------------------------- issue 12 examples


def test_moran_never_revives_an_extinct_strategy():
    # Every fitness is 0 (w = 1, zero payoffs): the parent is drawn among the living.
    counts = g.moran(np.zeros((2, 2)), [5, 0], n_iter=200, runs=50, intensity=1.0)
    assert (counts[:, :, 1] == 0).all()


def test_moran_refuses_fractional_counts():
    with pytest.raises(TypeError, match="counts"):
        g.moran(np.array([[3.0, 0.0], [5.0, 1.0]]), [2.7, 2.7])


def test_replicator_with_a_huge_step_stays_on_the_simplex():
    shares = g.replicator(np.array([[3.0, 0.0], [5.0, 1.0]]), [0.5, 0.5], dt=1000.0)
    assert np.isfinite(shares).all()
    np.testing.assert_allclose(shares[-1], [0, 1])
    huge = g.replicator(np.array([[3.0, 0.0], [5.0, 1.0]]) * 1e300, [0.5, 0.5], n_iter=3)
    assert np.isfinite(huge).all()


@pytest.mark.parametrize("call", [
    lambda: g.replicator(np.array([[3.0, 0], [5, 1]]), [0.5, 0.5], n_iter=-1),
    lambda: g.moran(np.array([[3.0, 0], [5, 1]]), [5, 5], n_iter=-1)])
def test_negative_n_iter_names_n_iter(call):
    with pytest.raises(ValueError, match="n_iter"):
        call()


@pytest.mark.parametrize("call, error, name", [
    (lambda: g.play_match(g.TitForTat(), g.Defector(), seed=-1), ValueError, "seed"),
    (lambda: g.moran(np.eye(2), [5, 5], seed=-1), ValueError, "seed"),
    (lambda: g.moran(np.eye(2), [5, 5], runs=0), ValueError, "runs"),
    (lambda: g.moran(np.eye(2), [5, 5], record="yes"), TypeError, "record"),
    (lambda: g.moran(np.eye(2), [5, 5], intensity=np.nan), ValueError, "intensity"),
    (lambda: g.moran(np.eye(2), [5, 5, 1]), ValueError, "counts"),
    (lambda: g.replicator(np.eye(2), [0.5, 0.5], dt=0), ValueError, "dt"),
    (lambda: g.replicator(np.eye(2), [0.5, 0.5], dt=np.inf), ValueError, "dt"),
    (lambda: g.replicator(np.eye(2), "ab"), TypeError, "shares"),
    (lambda: g.play_match(g.TitForTat(), g.Defector(), payoffs="3051"), TypeError, "payoffs"),
    (lambda: g.tournament(g.TitForTat()), TypeError, "strategies"),
    (lambda: g.tournament([g.TitForTat()], self_play="no"), TypeError, "self_play"),
    (lambda: g.tournament_by_loop([]), ValueError, "strategies"),
    (lambda: g.tournament_by_loop([g.TitForTat()], noise=2), ValueError, "noise"),
    (lambda: g.seed_keys(0, [-1]), ValueError, "indices"),
    (lambda: g.seed_keys(0, [1.5]), TypeError, "indices"),
    (lambda: g.seed_keys(0, [1, 2], [1, 2, 3]), ValueError, "indices"),
    (lambda: g.match_seed(0, -1, 0, 0), ValueError, "i"),
    (lambda: g.uniform(g.seed_keys(0, [1]), -1), ValueError, "counter"),
    (lambda: g.uniform(np.ones(3), 1), TypeError, "keys"),
    (lambda: g.match_lengths(g.seed_keys(0, [1]), 0), ValueError, "turns"),
    (lambda: g.match_lengths(g.seed_keys(0, [1]), 5, prob_end=0), ValueError, "prob_end"),
    (lambda: g.moves_str(np.zeros((2, 2), bool)), ValueError, "moves"),
    (lambda: g.moves_str([0.5]), TypeError, "moves"),
    (lambda: g.Rule("x", lambda h: h.their_last, first="D"), TypeError, "first"),
    (lambda: g.Cycler(3), TypeError, "pattern"),
    (lambda: g.Random(True), TypeError, "p"),
    (lambda: g.Graaskamp(alpha=0), ValueError, "alpha"),
    (lambda: g.first_tournament("yes"), TypeError, "reconstructed"),
])
def test_bad_arguments_are_named(call, error, name):
    with pytest.raises(error, match=rf"\b{name}\b"):
        call()


def test_seed_accepts_a_generator():
    a = g.play_match(g.Random(), g.Joss(), 50, seed=np.random.default_rng(3))
    b = g.play_match(g.Random(), g.Joss(), 50, seed=np.random.default_rng(3))
    assert np.array_equal(a.moves, b.moves)
    assert np.array_equal(g.play_match(g.Random(), g.Joss(), 50).moves,
                          g.play_match(g.Random(), g.Joss(), 50, seed=0).moves)
    fast = g.tournament(CAST[:4], turns=30, seed=np.random.default_rng(5))
    slow = g.tournament_by_loop(CAST[:4], turns=30, seed=np.random.default_rng(5))
    assert np.array_equal(fast.totals, slow.totals)


# ----------------------------------------------------------------------------- properties

MATRICES = st.integers(1, 4).flatmap(lambda n: st.lists(
    st.lists(st.floats(-1e6, 1e6), min_size=n, max_size=n), min_size=n, max_size=n))


@settings(max_examples=40, deadline=None)
@given(MATRICES, st.data(), st.integers(0, 30), st.floats(1e-3, 1e4))
def test_replicator_properties(matrix, data, steps, dt):
    n = len(matrix)
    shares = data.draw(st.lists(st.floats(0, 1e6), min_size=n, max_size=n)
                       .filter(lambda s: sum(s) > 0))
    out = g.replicator(np.array(matrix), shares, n_iter=steps, dt=dt)
    assert out.shape == (steps + 1, n) and np.isfinite(out).all() and (out >= 0).all()
    np.testing.assert_allclose(out.sum(axis=1), 1)
    assert (out[:, np.array(shares) == 0] == 0).all()  # extinct stays extinct


@settings(max_examples=40, deadline=None)
@given(MATRICES, st.data(), st.integers(0, 40), st.integers(1, 5), st.integers(0, 2**64 - 1),
       st.floats(0, 1))
def test_moran_properties(matrix, data, steps, runs, seed, intensity):
    a = np.array(matrix)
    if 1 - intensity + intensity * a.min() < 0:
        with pytest.raises(ValueError, match="intensity"):
            g.moran(a, [2] + [0] * (len(a) - 1), intensity=intensity)
        return
    n = len(a)
    counts = data.draw(st.lists(st.integers(0, 6), min_size=n, max_size=n)
                       .filter(lambda c: sum(c) >= 2))
    out = g.moran(a, counts, n_iter=steps, runs=runs, seed=seed, intensity=intensity)
    assert out.shape == (steps + 1, runs, n) and out.dtype == np.int64
    assert (out.sum(axis=2) == sum(counts)).all() and (out >= 0).all()
    assert (out[:, :, np.array(counts) == 0] == 0).all()  # never revived
    assert (np.abs(np.diff(out, axis=0)).sum(axis=2) <= 2).all()  # one birth, one death
    end = g.moran(a, counts, n_iter=steps, runs=runs, seed=seed, intensity=intensity,
                  record=False)
    assert np.array_equal(end, out[-1])


@settings(max_examples=12, deadline=None)
@given(st.lists(st.sampled_from(range(len(g.first_tournament()))), min_size=1, max_size=4),
       st.integers(1, 60), st.sampled_from([0.0, 0.05]), st.sampled_from([None, 0.1]),
       st.integers(0, 2**64 - 1), st.booleans())
def test_tournament_properties(picks, turns, noise, prob_end, seed, self_play):
    cast = [g.first_tournament()[k] for k in picks]
    if len(cast) == 1 and not self_play:
        self_play = True
    kwargs = {"turns": turns, "repetitions": 2, "noise": noise, "prob_end": prob_end,
              "seed": seed, "self_play": self_play}
    fast = g.tournament(cast, **kwargs)
    slow = g.tournament_by_loop(cast, **kwargs)
    assert np.array_equal(fast.totals, slow.totals)
    assert np.array_equal(fast.cooperation, slow.cooperation)
    assert np.isfinite(fast.scores).all() and ((0 <= fast.scores) & (fast.scores <= 5)).all()
    assert ((0 <= fast.cooperation) & (fast.cooperation <= 1)).all()
    assert sorted(fast.ranking.tolist()) == list(range(len(cast)))
    # what one earns per turn against the other: R + R, S + T, T + S or P + P, so the
    # symmetric sum lies in [2P, 2R] per turn
    m = fast.payoff_matrix
    both = (m + m.T)[~np.isnan(m + m.T)]
    assert ((both >= 2 - 1e-12) & (both <= 6 + 1e-12)).all()
    played = fast.lengths[~np.eye(len(cast), dtype=bool) | self_play]
    assert ((played >= 1) & (played <= turns)).all()


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(range(27)), st.sampled_from(range(27)), st.integers(1, 60),
       st.floats(0, 1), st.integers(0, 2**64 - 1))
def test_play_match_properties(i, j, turns, noise, seed):
    cast = [*g.classics(), *g.first_tournament()]
    match = g.play_match(cast[i], cast[j], turns, noise=noise, seed=seed)
    assert match.moves.shape == match.flipped.shape == (turns, 2)
    per_turn = {(C, C): (3, 3), (C, D): (0, 5), (D, C): (5, 0), (D, D): (1, 1)}
    expected = np.sum([per_turn[(bool(a), bool(b))] for a, b in match.moves], axis=0)
    assert np.array_equal(match.scores, expected)
    assert len(g.moves_str(match.moves[:, 0])) == turns


@settings(max_examples=40, deadline=None)
@given(st.one_of(st.floats(allow_nan=True), st.integers(-5, 5), st.booleans(), st.text(max_size=3),
                 st.none()))
def test_bad_numbers_are_named(value):
    for name, call in [
            ("noise", lambda: g.play_match(g.TitForTat(), g.Defector(), 5, noise=value)),
            ("turns", lambda: g.play_match(g.TitForTat(), g.Defector(), value)),
            ("dt", lambda: g.replicator(np.eye(2), [1, 1], n_iter=2, dt=value)),
            ("n_iter", lambda: g.moran(np.eye(2), [1, 1], n_iter=value)),
            ("intensity", lambda: g.moran(np.eye(2), [1, 1], n_iter=2, intensity=value)),
            ("p", lambda: g.Joss(p=value))]:
        try:
            call()
        except (TypeError, ValueError) as err:
            assert name in str(err), (name, value, err)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-10, 10), min_size=4, max_size=4))
def test_check_payoffs_properties(values):
    R, S, T, P = values
    if T > R > P > S and 2 * R > T + S:
        assert g.check_payoffs(values) == g.Payoffs(*values)
    else:
        with pytest.raises(ValueError, match="payoffs"):
            g.check_payoffs(values)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**64 - 1), st.lists(st.integers(0, 2**63 - 1), min_size=1, max_size=20),
       st.integers(0, 2**40), st.integers(1, 1000), st.floats(1e-6, 1))
def test_random_numbers_properties(seed, index, counter, turns, prob_end):
    keys = g.seed_keys(seed, np.array(index, dtype=np.int64))
    assert keys.dtype == np.uint64 and keys.shape == (len(index),)
    u = g.uniform(keys, counter)
    assert ((0 <= u) & (u < 1)).all()
    lengths = g.match_lengths(keys, turns, prob_end)
    assert ((1 <= lengths) & (lengths <= turns)).all()
    assert g.match_seed(seed, index[0], 0, 0) == int(g.seed_keys(seed, [index[0]], [0], [0])[0])


@settings(max_examples=30, deadline=None)
@given(st.lists(st.booleans(), max_size=50))
def test_moves_str_properties(moves_list):
    text = g.moves_str(np.array(moves_list, dtype=bool))
    assert len(text) == len(moves_list) and set(text) <= {"C", "D"}
    assert [m == "D" for m in text] == moves_list


@pytest.mark.gpu
def test_evolution_edge_cases_on_the_device():
    import cupy

    counts = g.moran(cupy.zeros((2, 2)), [5, 0], n_iter=100, runs=10, intensity=1.0)
    assert isinstance(counts, cupy.ndarray) and int(counts[:, :, 1].max()) == 0
    shares = g.replicator(cupy.asarray([[3.0, 0.0], [5.0, 1.0]]), [0.5, 0.5], dt=1000.0)
    assert isinstance(shares, cupy.ndarray) and bool(cupy.isfinite(shares).all())
    full = g.tournament(g.first_tournament(), turns=60, seed=3, xp=cupy)
    assert np.array_equal(full.totals, g.tournament(g.first_tournament(), turns=60, seed=3,
                                                    xp=np).totals)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 8), st.integers(1, 80),
       st.sampled_from([None, 80]))
def test_every_strategy_answers_one_move_per_seat(seed, n, turns, length):
    """Fed any history turn by turn, each strategy answers a (n,) boolean per seat, and a
    batch of seats decides as each seat alone would."""
    rng = np.random.default_rng(seed)
    theirs_all = rng.random((n, turns)) < rng.random()
    u_all = rng.random((n, turns))
    tit_for_two = g.Rule("TF2T by rule", lambda h: h.theirs[:, -2:].sum(axis=1) == 2)
    for strategy in [*g.classics(), *g.first_tournament(), g.Nydegger(recent_first=True),
                     g.Cycler("CCD"), tit_for_two]:
        state, alone = strategy.start(n, np), [strategy.start(1, np) for _ in range(n)]
        mine_all = np.zeros((n, turns), dtype=bool)
        for t in range(turns):
            mine, theirs = mine_all[:, :t], theirs_all[:, :t]
            h = g.Seen(t, mine, theirs, mine.sum(axis=1), theirs.sum(axis=1), u_all[:, t],
                       state, length)
            answer = strategy.move(h)
            assert answer.dtype == bool and answer.shape == (n,), strategy
            for k in range(n):
                one = g.Seen(t, mine[k:k + 1], theirs[k:k + 1], mine[k:k + 1].sum(axis=1),
                             theirs[k:k + 1].sum(axis=1), u_all[k:k + 1, t], alone[k], length)
                assert strategy.move(one)[0] == answer[k], (strategy, t, k)
            mine_all[:, t] = answer


# ----------------------------------------------------------------------------- conventions


@pytest.mark.parametrize("evolve", [
    lambda **kw: g.replicator(np.array([[3.0, 0.0], [5.0, 1.0]]), [0.6, 0.4], **kw),
    lambda **kw: g.moran(np.array([[3.0, 0.0], [5.0, 1.0]]), [3, 3], runs=4, seed=2, **kw)],
    ids=["replicator", "moran"])
def test_the_old_keyword_steps_warns_and_gives_the_same_result(evolve):
    with pytest.warns(DeprecationWarning, match=r"\(steps=\.\.\.\) is now .*\(n_iter=\.\.\.\)"):
        old = evolve(steps=25)
    assert np.array_equal(old, evolve(n_iter=25)) and len(old) == 26
    with pytest.raises(TypeError, match="both steps= and n_iter="):
        evolve(steps=25, n_iter=25)


def test_payoffs_are_a_checked_frozen_container():
    holiday = g.Payoffs(15, 1, 25, 5)
    assert tuple(holiday) == (15.0, 1.0, 25.0, 5.0) and len(holiday) == 4
    R, S, T, P = g.AXELROD  # unpacks as the NamedTuple did
    assert (R, S, T, P) == (3, 0, 5, 1) and g.check_payoffs(holiday) == holiday
    with pytest.raises(ValueError, match="not a prisoner's dilemma"):
        g.Payoffs(15, 1, 25, 16)
    with pytest.raises(ValueError, match="2R > T \\+ S"):
        g.Payoffs(3, 0, 7, 1)
    with pytest.raises(TypeError, match="Payoffs.T must be a real number"):
        g.Payoffs(3, 0, "5", 1)
    with pytest.raises(ValueError, match="Payoffs.P must be finite"):
        g.Payoffs(3, 0, 5, np.nan)
    for frozen in (holiday, g.play_match(g.TitForTat(), g.Defector(), 5),
                   g.tournament([g.TitForTat()], turns=5)):
        with pytest.raises(AttributeError):
            frozen.moves = None


def test_a_seen_built_by_hand_is_what_the_engine_gives_a_rule():
    mine = np.zeros((2, 1), dtype=bool)
    seen = g.Seen(1, mine, mine, mine.sum(axis=1), mine.sum(axis=1), np.zeros(2), {})
    assert seen.xp is np and seen.n == 2 and seen.payoffs == g.AXELROD
    looked = []
    spy = g.Rule("spy", lambda h: looked.append(type(h)) or h.their_last)
    g.play_match(spy, g.Cooperator(), 3)
    assert looked == [g.Seen, g.Seen]  # turns 1 and 2: the rule reads a Seen


def test_a_learner_s_rule_runs_with_the_checks_on():
    """A rule is the learner's code: what it calls checks its arguments even inside a match."""
    bad = g.Rule("bad", lambda h: g.uniform(h.u, 0) < 0.5)  # u is no key array
    with pytest.raises(TypeError, match="keys must be a uint64 array"):
        g.play_match(bad, g.Cooperator(), 3)
    with pytest.raises(TypeError, match="keys must be a uint64 array"):
        g.tournament([bad, g.Cooperator()], turns=3)


def test_the_public_functions_declare_their_checks():
    for fn in (g.check_payoffs, g.seed_keys, g.match_seed, g.uniform, g.match_lengths,
               g.moves_str, g.play_match, g.tournament, g.tournament_by_loop, g.replicator,
               g.moran, g.first_tournament):
        assert fn.checks, fn.__name__
