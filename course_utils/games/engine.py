"""The engine of the iterated prisoner's dilemma: payoffs, random keys, what a strategy sees,
one match by hand, and the vectorised round-robin tournament. The conventions (moves as
booleans, counter-based random numbers, devices) are in the package's docstring,
``help(course_utils.games)``.
"""

import numbers
from dataclasses import dataclass

import numpy as np

from .._checks import (
    Bool,
    Custom,
    Instance,
    Int,
    IntArray,
    Optional,
    Probability,
    Real,
    Seed,
    Text,
    Xp,
    check_fields,
    check_int_array,
    checked,
    in_checked_call,
    seed_to_int,
)
from ..backend import get_array_module, to_numpy

C, D = False, True

# ----------------------------------------------------------------------------- payoffs


def _why_not_a_dilemma(R, S, T, P):
    """The end of the message saying why (R, S, T, P) is no prisoner's dilemma, or None."""
    if not T > R > P > S:
        return (f" is not a prisoner's dilemma: it needs T > R > P > S, got T={T:g}, R={R:g}, "
                f"P={P:g}, S={S:g}")
    if not 2 * R > T + S:
        return (f": the iterated game needs 2R > T + S (taking turns to exploit must pay less "
                f"than cooperating), got 2R={2 * R:g}, T+S={T + S:g}")
    return None


@dataclass(frozen=True)
class Payoffs:
    """One turn's payoffs: Reward (both C), Sucker (C against D), Temptation (D against C),
    Punishment (both D). Four real numbers that make a prisoner's dilemma (T > R > P > S and
    2R > T + S: a ValueError otherwise); it unpacks as ``R, S, T, P = payoffs``."""

    R: float
    S: float
    T: float
    P: float

    def __post_init__(self):
        check_fields(self, R=Real(), S=Real(), T=Real(), P=Real())
        reason = _why_not_a_dilemma(*self)
        if reason:
            raise ValueError(f"Payoffs{tuple(self)}{reason}")

    def __iter__(self):
        return iter((self.R, self.S, self.T, self.P))

    def __len__(self):
        return 4


AXELROD = Payoffs(3, 0, 5, 1)


@checked(name=Text())
def check_payoffs(payoffs, name="payoffs"):
    """Check a payoff tuple and return it as a Payoffs.

    Parameters
    ----------
    payoffs : sequence of 4 real numbers
        (R, S, T, P): Reward, Sucker, Temptation, Punishment.
    name : str
        The argument's name in error messages.

    Returns
    -------
    Payoffs
        The four values as floats, checked: T > R > P > S and 2R > T + S (ValueError
        otherwise; TypeError for anything but four real numbers).
    """
    if isinstance(payoffs, str | bytes) or not hasattr(payoffs, "__len__"):
        raise TypeError(f"{name} must be four numbers (R, S, T, P), got {payoffs!r}")
    if len(payoffs) != 4:
        raise ValueError(f"{name} must be four finite numbers (R, S, T, P), got {payoffs!r}")
    try:
        values = [float(v) for v in payoffs]
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be four numbers (R, S, T, P), got {payoffs!r}") from None
    if any(isinstance(v, bool) or not isinstance(v, numbers.Real) for v in payoffs):
        raise TypeError(f"{name} must be four numbers (R, S, T, P), got {payoffs!r}")
    if not all(np.isfinite(values)):
        raise ValueError(f"{name} must be four finite numbers (R, S, T, P), got {payoffs!r}")
    reason = _why_not_a_dilemma(*values)
    if reason:
        raise ValueError(f"{name} {tuple(payoffs)}{reason}")
    return Payoffs(*values)


# ----------------------------------------------------------------------------- random numbers

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = (np.uint64(s) for s in (30, 27, 31, 11))
LANES = 8  # counters per turn: 0, 1 the seats' strategies, 2, 3 their noise, 4 the match length


def _mix(x):
    """SplitMix64's finaliser: a bijection of uint64 that scrambles every bit."""
    x = (x ^ (x >> _S30)) * _M1
    x = (x ^ (x >> _S27)) * _M2
    return x ^ (x >> _S31)


def _index_module(indices, xp):
    """xp, or by default the module of the index arrays (numpy for lists and ints)."""
    return xp or next((m for m in map(get_array_module, indices) if m is not np), np)


def _check_indices(indices, name, values, xp):
    """The index arrays as ints >= 0 on one module, broadcasting together."""
    xp = _index_module(indices, values["xp"])
    arrays = tuple(check_int_array(index, f"{name}[{k}]", empty_ok=True, xp=xp)
                   for k, index in enumerate(indices))
    try:
        np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError:
        raise ValueError(f"{name} must broadcast together, got shapes "
                         f"{[a.shape for a in arrays]}") from None
    return arrays


@checked(seed=Seed(), xp=Optional(Xp()), indices=Custom(_check_indices, values=True))
def seed_keys(seed=0, *indices, xp=None):
    """One uint64 key per entry of the broadcast index arrays: mix(mix(seed) ^ i ...).

    Parameters
    ----------
    seed : int >= 0, numpy Generator or None
        The course's seed (0 by default; a Generator gives one draw; None fresh entropy).
    *indices : int or array_like of ints >= 0
        Index arrays that broadcast together, shape (...,).
    xp : module, optional
        numpy or cupy; by default the index arrays' module (numpy for lists and ints).

    Returns
    -------
    keys : (...,) uint64 array on xp (shape (1,) with no index)
        The same integers on both devices.
    """
    xp = _index_module(indices, xp)
    shape = np.broadcast_shapes(*(index.shape for index in indices)) or (1,)
    key = _mix(xp.asarray(np.full(shape, seed_to_int(seed), dtype=np.uint64)))
    for index in indices:
        key = _mix(key ^ index.astype(xp.uint64))
    return key


@checked(seed=Seed(), i=Int(low=0), j=Int(low=0), repetition=Int(low=0))
def match_seed(seed, i, j, repetition):
    """The key of match (i, j, repetition) in ``tournament(..., seed=seed)``.

    Parameters
    ----------
    seed : int >= 0, numpy Generator or None
        The tournament's seed.
    i, j, repetition : int >= 0
        The two strategies' indices (i <= j) and the repetition.

    Returns
    -------
    int
        The key to pass as ``play_match(..., seed=key)`` to replay that match.
    """
    return int(seed_keys(seed, np.array([i]), np.array([j]), np.array([repetition]))[0])


def _check_keys(keys, name):
    if not hasattr(keys, "dtype") or keys.dtype != np.uint64:
        raise TypeError(f"{name} must be a uint64 array from seed_keys, got "
                        f"{getattr(keys, 'dtype', type(keys).__name__)}")
    return keys


_KEYS = Custom(_check_keys, device_of=lambda keys: keys)


@checked(keys=_KEYS, counter=IntArray(empty_ok=True))
def uniform(keys, counter):
    """Counter-based uniform numbers: a hash (SplitMix64) of each key and the counter.

    Parameters
    ----------
    keys : (m,) uint64 array
        From ``seed_keys``.
    counter : int >= 0 or (m,) array of ints >= 0 on keys' device
        The draw's counter (turn, seat, purpose).

    Returns
    -------
    u : (m,) float64 array on keys' device
        Numbers in [0, 1), the same on NumPy and CuPy.
    """
    xp = get_array_module(keys)
    counter = xp.asarray(counter, dtype=xp.uint64).reshape(-1)  # 1-D: wraps without warnings
    bits = _mix(keys + counter * _GAMMA) >> _S11
    return bits.astype(xp.float64) * 2.0**-53


_PROB_END = Optional(Real(low=0, high=1, low_open=True))


@checked(keys=_KEYS, turns=Int(), prob_end=_PROB_END)
def match_lengths(keys, turns, prob_end=None):
    """Each match's length: turns, or with prob_end a geometric length.

    Parameters
    ----------
    keys : (m,) uint64 array
        The matches' keys (``seed_keys``).
    turns : int >= 1
        The length, or with prob_end the most turns a match can last.
    prob_end : float in (0, 1] or None
        The probability that the match ends after each turn.

    Returns
    -------
    lengths : (m,) int64 array on keys' device
        Each in [1, turns].
    """
    xp = get_array_module(keys)
    if prob_end is None:
        return xp.full(keys.shape, turns, dtype=xp.int64)
    u = uniform(keys, 4)  # turn 0, lane 4
    extra = xp.floor(xp.log1p(-u) / np.log1p(-prob_end)) if prob_end < 1 else 0 * u
    return xp.minimum(1 + extra, turns).astype(xp.int64)


# ----------------------------------------------------------------------------- strategies

# u first: its device is the one the other arrays must be on
_SEEN_ARRAYS = dict.fromkeys(("u", "mine", "theirs", "my_defections", "their_defections"),
                             Custom(lambda value, name: value, device_of=lambda value: value))


class Seen:
    """What a batch of n seats has seen before turn ``turn`` (0-based), for a strategy's rule.

    mine, theirs: (n, turn) boolean moves played (True = D), noise included; my_defections,
    their_defections: (n,) counts; u: (n,) uniform numbers for this turn; state: the
    strategy's own dict of (n,) arrays from ``start``; xp: numpy or cupy; length: the match's
    announced number of turns (None when it ends at random, with prob_end, or is not told);
    payoffs: the game's Payoffs (R, S, T, P). The arrays must be on u's device.
    """

    __slots__ = ("turn", "mine", "theirs", "my_defections", "their_defections", "u", "state",
                 "xp", "length", "payoffs")

    def __init__(self, turn, mine, theirs, my_defections, their_defections, u, state,
                 length=None, payoffs=AXELROD):
        self.turn, self.mine, self.theirs, self.u, self.state = turn, mine, theirs, u, state
        self.my_defections, self.their_defections = my_defections, their_defections
        self.length, self.payoffs = length, payoffs
        self.xp = np if isinstance(u, np.ndarray) else get_array_module(u)  # fast for NumPy
        if not in_checked_call():  # built by hand (the engine builds one per block and turn)
            check_fields(self, **_SEEN_ARRAYS)

    def last_turns(self, k):
        """True when the match's announced length is known and at most k turns remain (this
        one included)."""
        return self.length is not None and self.turn >= self.length - k

    @property
    def n(self):
        return self.u.shape[0]

    @property
    def my_last(self):
        return self.mine[:, -1]

    @property
    def their_last(self):
        return self.theirs[:, -1]

    def always(self, move):
        """move (C or D) for every seat."""
        return self.xp.full(self.n, move, dtype=bool)


class Strategy:
    """A player: the move ``first`` on turn 0, then ``rule(h)`` -> (n,) defections."""

    name = "Strategy"
    first = C

    def start(self, n, xp=None):
        """Fresh per-seat state for n seats (a dict of arrays on xp, by default the current
        device); most strategies need none."""
        return {}

    def opening(self, h):
        return h.always(self.first)

    def rule(self, h):
        raise NotImplementedError

    def move(self, h):
        return self.opening(h) if h.turn == 0 else self.rule(h)

    def __repr__(self):
        return self.name


def _check_moves(moves, name):
    """moves as a 1-D NumPy array of booleans (or of 0 and 1)."""
    arr = np.asarray(to_numpy(moves)) if hasattr(moves, "shape") else np.asarray(moves)
    if arr.dtype.kind not in "biu" or arr.ndim != 1 or (arr.size and not
                                                        np.isin(arr, (0, 1)).all()):
        raise (TypeError if arr.dtype.kind not in "biu" else ValueError)(
            f"{name} must be a 1-D sequence of booleans (True = D), got "
            f"{arr.dtype} of shape {arr.shape}")
    return arr


@checked(moves=Custom(_check_moves))
def moves_str(moves):
    """A move sequence as text.

    Parameters
    ----------
    moves : (length,) boolean array_like (True = D), on either device

    Returns
    -------
    str
        'CDDC...', one letter per move.
    """
    return "".join("D" if m else "C" for m in moves)


# ----------------------------------------------------------------------------- one match


@dataclass(frozen=True)
class Match:
    """moves: (length, 2) booleans played (True = D); scores: (2,) totals of a and b;
    flipped: (length, 2) True where noise flipped the intended move."""

    moves: np.ndarray
    scores: np.ndarray
    flipped: np.ndarray

    def __str__(self):
        return (f"{moves_str(self.moves[:, 0])}\n{moves_str(self.moves[:, 1])}\n"
                f"scores {self.scores[0]:g} : {self.scores[1]:g}")


def _check_strategies(strategies, name):
    """strategies as a non-empty list of Strategy."""
    if isinstance(strategies, Strategy) or not hasattr(strategies, "__iter__"):
        raise TypeError(f"{name} must be a list of Strategy, got {type(strategies).__name__}")
    strategies = list(strategies)
    if not strategies:
        raise ValueError(f"{name} is empty: give at least one Strategy")
    for k, s in enumerate(strategies):
        if not isinstance(s, Strategy):
            raise TypeError(f"{name}[{k}] must be a Strategy, got {type(s).__name__}")
    return strategies


# the rules of the game, shared by play_match and the tournaments
_GAME = {"turns": Int(), "noise": Probability(), "prob_end": _PROB_END,
         "payoffs": Custom(check_payoffs), "seed": Seed()}


@checked(a=Instance(Strategy), b=Instance(Strategy), **_GAME)
def play_match(a, b, turns=200, noise=0.0, prob_end=None, payoffs=AXELROD, seed=0):
    """One match of a against b, one turn at a time in plain Python: the reference loop.

    Parameters
    ----------
    a, b : Strategy
        The two players (a is the first seat).
    turns : int >= 1
        The match's length (with prob_end, the most it can last).
    noise : float in [0, 1]
        The probability that each intended move is flipped.
    prob_end : float in (0, 1] or None
        With a value, the match ends after each turn with that probability.
    payoffs : (R, S, T, P)
        The payoffs of one turn (``check_payoffs``).
    seed : int >= 0, numpy Generator or None
        The match's key (0 by default; ``match_seed`` gives a tournament match's key).

    Returns
    -------
    Match
        moves (length, 2) and flipped (length, 2) booleans, scores (2,): NumPy arrays, since
        the loop runs on the CPU whatever the device (one match is too small for a GPU).
    """
    key = np.array([seed_to_int(seed)], dtype=np.uint64)
    length = int(match_lengths(key, turns, prob_end)[0])
    announced = turns if prob_end is None else None
    moves, flipped = np.zeros((2, length), dtype=bool), np.zeros((2, length), dtype=bool)
    states = [a.start(1, np), b.start(1, np)]
    scores, table = [0.0, 0.0], tuple(payoffs)  # table[2 * mine + theirs]
    # u[lane][t]: lanes 0, 1 for a's and b's strategy, 2, 3 for their noise
    u = [uniform(np.repeat(key, length), LANES * np.arange(length) + lane) for lane in range(4)]
    for t in range(length):
        intended = []
        for side, player in enumerate((a, b)):
            mine, theirs = moves[side, None, :t], moves[1 - side, None, :t]
            seen = Seen(t, mine, theirs, mine.sum(axis=1), theirs.sum(axis=1),
                        u[side][t:t + 1], states[side], announced, payoffs)
            intended.append(bool(player.move(seen)[0]))
        for side in (0, 1):
            flipped[side, t] = u[2 + side][t] < noise
            moves[side, t] = intended[side] != flipped[side, t]
        mine_a, mine_b = moves[:, t]
        scores[0] += table[2 * mine_a + mine_b]
        scores[1] += table[2 * mine_b + mine_a]
    return Match(moves.T.copy(), np.array(scores), flipped.T.copy())
# ----------------------------------------------------------------------------- tournaments


@dataclass(frozen=True)
class Tournament:
    """Results of a round robin of n strategies over r repetitions: NumPy arrays whichever
    device played it (they are small, and go to printing and plotting).

    totals[i, j, k]: i's total score against j in repetition k (i == j: the mean of the two
    seats); lengths[i, j, k]: that match's turns; payoff_matrix[i, j]: i's mean score per turn
    against j; scores[i]: the mean of row i over the opponents (itself included when
    self_play); ranking: indices best first; cooperation[i]: i's share of C moves; wins[i]:
    matches in which i scored more than its opponent (self-play excluded).
    """

    names: list
    totals: np.ndarray
    lengths: np.ndarray
    cooperation: np.ndarray
    wins: np.ndarray
    self_play: bool

    @property
    def payoff_matrix(self):
        """(n, n) mean score per turn of row against column; NaN diagonal without self-play."""
        with np.errstate(invalid="ignore"):
            return self.totals.sum(axis=2) / self.lengths.sum(axis=2)

    @property
    def scores(self):
        m = self.payoff_matrix
        if self.self_play:
            return m.mean(axis=1)
        return np.nansum(m, axis=1) / (len(m) - 1)

    @property
    def ranking(self):
        return np.argsort(-self.scores, kind="stable")

    def rows(self):
        """The tidy table: one dict per strategy, best first."""
        return [{"rank": rank, "strategy": self.names[i], "score": float(self.scores[i]),
                 "cooperation": float(self.cooperation[i]), "wins": int(self.wins[i])}
                for rank, i in enumerate(self.ranking, start=1)]

    def table(self):
        """The tidy table as text: rank, strategy, mean score per turn, share of C, wins."""
        width = max(len(n) for n in self.names)
        lines = [f"{'rank':>4}  {'strategy':{width}}  {'score':>6}  {'coop':>6}  {'wins':>5}"]
        lines += [f"{r['rank']:4d}  {r['strategy']:{width}}  {r['score']:6.3f}  "
                  f"{r['cooperation']:6.3f}  {r['wins']:5d}" for r in self.rows()]
        note = "counted" if self.self_play else "not played"
        return "\n".join([*lines, f"(score: mean per turn; self-play {note})"])

    def __str__(self):
        return self.table()


def _pairs(n, repetitions, self_play):
    """(i, j, repetition) of every match, i <= j (i < j without self-play): three (M,) arrays."""
    i, j = np.triu_indices(n, k=0 if self_play else 1)
    k = np.repeat(np.arange(repetitions), len(i))
    return np.tile(i, repetitions), np.tile(j, repetitions), k


def _summarise(strategies, pairs, seat_scores, seat_coop, lengths, self_play):
    """A Tournament from each match's two totals, Cs (both (M, 2)) and lengths (M,)."""
    i, j, k = pairs
    n, reps = len(strategies), int(k.max()) + 1
    totals, turns = np.zeros((n, n, reps)), np.zeros((n, n, reps), dtype=np.int64)
    totals[i, j, k], totals[j, i, k] = seat_scores[:, 0], seat_scores[:, 1]
    same = i == j
    totals[i[same], i[same], k[same]] = seat_scores[same].mean(axis=1)
    turns[i, j, k] = turns[j, i, k] = lengths
    coop = np.bincount(i, seat_coop[:, 0], n) + np.bincount(j, seat_coop[:, 1], n)
    played = np.bincount(i, lengths, n) + np.bincount(j, lengths, n)
    won = (seat_scores[:, 0] > seat_scores[:, 1], seat_scores[:, 1] > seat_scores[:, 0])
    wins = np.bincount(i, won[0] & ~same, n) + np.bincount(j, won[1] & ~same, n)
    return Tournament([s.name for s in strategies], totals, turns, coop / played,
                      wins.astype(np.int64), self_play)


def _check_self_play(self_play, name, values, xp):
    self_play = Bool()(self_play, name, values, xp)
    if len(values["strategies"]) == 1 and not self_play:
        raise ValueError("one strategy without self_play plays no match")
    return self_play


# the arguments of both tournaments
_TOURNAMENT = {"strategies": Custom(_check_strategies), **_GAME, "repetitions": Int(),
               "self_play": Custom(_check_self_play, values=True)}


@checked(**_TOURNAMENT, xp=Xp())
def tournament(strategies, turns=200, repetitions=1, noise=0.0, prob_end=None,
               payoffs=AXELROD, seed=0, self_play=True, xp=None):
    """Round robin of every strategy against every other (and itself when self_play), each
    pairing played repetitions times, all matches advancing together one turn at a time.

    Parameters
    ----------
    strategies : list of Strategy
        The n entrants.
    turns : int >= 1
        Each match's length (with prob_end, the most it can last).
    repetitions : int >= 1
        How many times each pairing is played.
    noise : float in [0, 1]
        The probability that each intended move is flipped.
    prob_end : float in (0, 1] or None
        With a value, each match ends after each turn with that probability (its length is
        then not announced to the strategies).
    payoffs : (R, S, T, P)
        The payoffs of one turn (``check_payoffs``).
    seed : int >= 0, numpy Generator or None
        0 by default; match (i, j, r) has the key ``match_seed(seed, i, j, r)``.
    self_play : bool
        Whether each strategy also meets itself.
    xp : module, optional
        numpy or cupy, where the matches are played (default: the course's current device);
        the random numbers are the same on both, so the results are identical.

    Returns
    -------
    Tournament
        NumPy arrays whichever the device: totals and lengths (n, n, repetitions),
        payoff_matrix (n, n), scores, cooperation and wins (n,), ranking (n,) indices.
    """
    pairs = _pairs(len(strategies), repetitions, self_play)
    n_matches = len(pairs[0])
    # Seats: 0..M-1 are the first player of each match, M..2M-1 the second. Sort them by
    # strategy so that each strategy's seats are one contiguous block of rows.
    owner = np.concatenate(pairs[:2])
    order = np.argsort(owner, kind="stable")
    where = np.empty_like(order)
    where[order] = np.arange(2 * n_matches)
    opponent = xp.asarray(where[(order + n_matches) % (2 * n_matches)])
    bounds = np.searchsorted(owner[order], np.arange(len(strategies) + 1))
    match_keys = seed_keys(seed, *(xp.asarray(p) for p in pairs), xp=xp)
    keys = xp.concatenate([match_keys, match_keys])[xp.asarray(order)]
    side = xp.asarray(order >= n_matches).astype(xp.uint64)
    length = match_lengths(match_keys, turns, prob_end)
    announced = turns if prob_end is None else None
    seat_length = xp.concatenate([length, length])[xp.asarray(order)]
    table = xp.asarray(tuple(payoffs), dtype=xp.float64)  # [R, S, T, P]: 2 * mine + theirs

    n_seats, last = 2 * n_matches, int(length.max())
    mine = xp.zeros((last, n_seats), dtype=bool)  # turn-major: writing a turn is contiguous
    theirs = xp.zeros((last, n_seats), dtype=bool)
    my_d, their_d = (xp.zeros(n_seats, dtype=xp.int64) for _ in range(2))
    score, coop = xp.zeros(n_seats), xp.zeros(n_seats, dtype=xp.int64)
    intended = xp.zeros(n_seats, dtype=bool)
    blocks = [(s, slice(lo, hi)) for s, lo, hi in
              zip(strategies, bounds[:-1], bounds[1:], strict=True) if hi > lo]
    # one Seen per block: its counts are views of my_d and their_d, its state the strategy's
    # own; each turn only the turn, the moves so far and the random numbers are new
    seen = [Seen(0, mine[:0, b].T, theirs[:0, b].T, my_d[b], their_d[b], intended[b],
                 s.start(b.stop - b.start, xp), announced, payoffs) for s, b in blocks]
    for t in range(last):
        u = uniform(keys, LANES * t + side)
        for (strategy, b), h in zip(blocks, seen, strict=True):
            h.turn, h.mine, h.theirs, h.u = t, mine[:t, b].T, theirs[:t, b].T, u[b]
            intended[b] = strategy.move(h)
        played = intended ^ (uniform(keys, LANES * t + 2 + side) < noise) if noise else intended
        their = played[opponent]
        mine[t], theirs[t] = played, their
        active = t < seat_length
        score += table[2 * played + their] * active
        coop += ~played & active
        my_d += played
        their_d += their

    def by_match(x):  # seat order -> (M, 2) columns: first player, second player
        return to_numpy(x)[where].reshape(2, n_matches).T

    return _summarise(strategies, pairs, by_match(score), by_match(coop), to_numpy(length),
                      self_play)


@checked(**_TOURNAMENT)
def tournament_by_loop(strategies, turns=200, repetitions=1, noise=0.0, prob_end=None,
                       payoffs=AXELROD, seed=0, self_play=True):
    """The same tournament, one play_match after another: the reference for ``tournament``
    (plain NumPy on the CPU, whatever the device).

    Parameters
    ----------
    strategies, turns, repetitions, noise, prob_end, payoffs, seed, self_play
        As in ``tournament``.

    Returns
    -------
    Tournament
        Equal to ``tournament`` with the same arguments, array for array.
    """
    seed = seed_to_int(seed)  # once: a Generator gives one draw, as in tournament
    pairs = _pairs(len(strategies), repetitions, self_play)
    scores, coop, lengths = [], [], []
    for i, j, k in zip(*pairs, strict=True):
        match = play_match(strategies[i], strategies[j], turns, noise, prob_end, payoffs,
                           seed=match_seed(seed, i, j, k))
        scores.append(match.scores)
        coop.append((~match.moves).sum(axis=0))
        lengths.append(len(match.moves))
    return _summarise(strategies, pairs, np.array(scores), np.array(coop), np.array(lengths),
                      self_play)
