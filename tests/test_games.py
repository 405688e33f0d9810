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
    shares = g.replicator(a, [0.99, 0.01], steps=300)
    np.testing.assert_allclose(shares.sum(axis=1), 1)
    assert shares[-1, 1] > 0.99 and np.all(np.diff(shares[:, 1]) > 0)
    # TFT against Defector over 200 turns: TFT invades when common enough (bistable)
    tft = np.array([[3, 199 / 200], [204 / 200, 1]])
    assert g.replicator(tft, [0.9, 0.1], steps=300)[-1, 0] > 0.99
    assert g.replicator(tft, [0.001, 0.999], steps=300)[-1, 0] < 0.001
    with pytest.raises(ValueError, match="square"):
        g.replicator(np.ones((2, 3)), [1, 1])


def test_moran_process():
    a = np.array([[3, 0], [5, 1]])
    counts = g.moran(a, [5, 5], steps=400, runs=200, seed=0)
    assert counts.shape == (401, 200, 2)
    assert (counts.sum(axis=2) == 10).all()
    assert (np.abs(np.diff(counts[:, :, 0], axis=0)) <= 1).all()  # one birth, one death
    fixed = counts[-1, :, 1] == 10
    assert fixed.mean() > 0.9  # Defectors take over in almost every run
    assert np.array_equal(counts, g.moran(a, [5, 5], steps=400, runs=200, seed=0))
    neutral = g.moran(a, [5, 5], steps=2000, runs=400, seed=1, intensity=0)[-1, :, 0]
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
    shares = g.replicator(cupy.asarray(matrix), [1.0] * len(CAST), steps=50)
    assert isinstance(shares, cupy.ndarray) and shares.shape == (51, len(CAST))
    np.testing.assert_allclose(shares.get(), g.replicator(matrix, np.ones(len(CAST)), steps=50),
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
