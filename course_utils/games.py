"""The iterated prisoner's dilemma: strategies, matches, round-robin tournaments, evolution.

A move is a boolean: ``D = True`` (defect), ``C = False`` (cooperate). A strategy decides for a
whole batch of seats at once: ``move(h)`` reads what each seat has seen (``h``, a Seen) and
returns a (n,) boolean array of defections. ``tournament`` puts both seats of every match and
every repetition in one array, grouped by strategy, and advances them all one turn at a time.

Random numbers are counter-based: uniform(key, counter) is a hash (SplitMix64) of the match's
key and the counter (turn, seat, purpose), so a match draws the same numbers alone or in a
batch of a million, and on NumPy and CuPy alike. Match (i, j, r) of ``tournament(seed=s)`` has
the key ``match_seed(s, i, j, r)``: ``play_match(a, b, seed=match_seed(s, i, j, r))`` replays it.

Devices: ``tournament`` plays on the current device (or ``xp``) and returns NumPy results, small
tables for printing and plotting; ``play_match`` and ``tournament_by_loop`` are the plain
reference loops, always NumPy. ``replicator`` and ``moran`` follow their payoff matrix: pass it
through ``backend.asarray`` to evolve on the GPU. The other array functions follow their arrays.
"""

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ._checks import check_device, check_int
from .backend import get_array_module, to_numpy
from .backend import xp as current_xp

C, D = False, True

# ----------------------------------------------------------------------------- payoffs


class Payoffs(NamedTuple):
    """One turn's payoffs: Reward (both C), Sucker (C against D), Temptation (D against C),
    Punishment (both D)."""

    R: float
    S: float
    T: float
    P: float


AXELROD = Payoffs(3, 0, 5, 1)


def check_payoffs(payoffs, name="payoffs"):
    """payoffs (R, S, T, P) as a Payoffs, checked: T > R > P > S and 2R > T + S."""
    try:
        values = [float(v) for v in payoffs]
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be four numbers (R, S, T, P), got {payoffs!r}") from None
    if len(values) != 4 or not all(np.isfinite(values)):
        raise ValueError(f"{name} must be four finite numbers (R, S, T, P), got {payoffs!r}")
    p = Payoffs(*values)
    if not p.T > p.R > p.P > p.S:
        raise ValueError(f"{name} {tuple(payoffs)} is not a prisoner's dilemma: it needs "
                         f"T > R > P > S, got T={p.T:g}, R={p.R:g}, P={p.P:g}, S={p.S:g}")
    if not 2 * p.R > p.T + p.S:
        raise ValueError(f"{name} {tuple(payoffs)}: the iterated game needs 2R > T + S (taking "
                         f"turns to exploit must pay less than cooperating), got "
                         f"2R={2 * p.R:g}, T+S={p.T + p.S:g}")
    return p


def _payoff_table(payoffs, xp):
    """[R, S, T, P] on xp, indexed by 2 * my_defection + their_defection."""
    return xp.asarray(check_payoffs(payoffs), dtype=xp.float64)


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


def _seed_int(seed, name="seed"):
    if seed is None:
        return int(np.random.SeedSequence().entropy) % 2**64
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(f"{name} must be an int or None, got {type(seed).__name__}")
    return int(seed) % 2**64


def seed_keys(seed, *indices, xp=None):
    """One uint64 key per entry of the broadcast index arrays: mix(mix(seed) ^ i ...).

    On xp, by default the index arrays' module (numpy for lists and ints); the keys are the
    same integers on both devices."""
    xp = xp or next((m for m in map(get_array_module, indices) if m is not np), np)
    for k, index in enumerate(indices):
        check_device(index, f"indices[{k}]", xp)
    shape = np.broadcast_shapes(*(np.shape(i) for i in indices)) or (1,)
    key = _mix(xp.asarray(np.full(shape, _seed_int(seed), dtype=np.uint64)))
    for index in indices:
        key = _mix(key ^ xp.asarray(index).astype(xp.uint64))
    return key


def match_seed(seed, i, j, repetition):
    """The key (an int) of match (i, j, repetition) in tournament(..., seed=seed)."""
    return int(seed_keys(seed, [i], [j], [repetition])[0])


def uniform(keys, counter):
    """Uniform numbers in [0, 1), one per key, for an int counter (or an array of counters that
    broadcasts with keys, on keys' device): float64 array on keys' device."""
    xp = get_array_module(keys)
    check_device(counter, "counter", xp)
    counter = xp.asarray(counter, dtype=xp.uint64).reshape(-1)  # 1-D: wraps without warnings
    bits = _mix(keys + counter * _GAMMA) >> _S11
    return bits.astype(xp.float64) * 2.0**-53


def match_lengths(keys, turns, prob_end=None):
    """turns for every match, or with prob_end a geometric length (the match ends after each
    turn with probability prob_end), at most turns."""
    xp = get_array_module(keys)
    if prob_end is None:
        return xp.full(keys.shape, turns, dtype=xp.int64)
    u = uniform(keys, 4)  # turn 0, lane 4
    extra = xp.floor(xp.log1p(-u) / np.log1p(-prob_end)) if prob_end < 1 else 0 * u
    return xp.minimum(1 + extra, turns).astype(xp.int64)


# ----------------------------------------------------------------------------- strategies


class Seen:
    """What a batch of n seats has seen before turn ``turn`` (0-based), for a strategy's rule.

    mine, theirs: (n, turn) boolean moves played (True = D), noise included; my_defections,
    their_defections: (n,) counts; u: (n,) uniform numbers for this turn; state: the
    strategy's own dict of (n,) arrays from ``start``; xp: numpy or cupy.
    """

    __slots__ = ("turn", "mine", "theirs", "my_defections", "their_defections", "u", "state",
                 "xp")

    def __init__(self, turn, mine, theirs, my_defections, their_defections, u, state):
        self.xp = get_array_module(u)
        for name, value in (("mine", mine), ("theirs", theirs), ("my_defections", my_defections),
                            ("their_defections", their_defections)):
            check_device(value, name, self.xp)
        self.turn, self.mine, self.theirs, self.u, self.state = turn, mine, theirs, u, state
        self.my_defections, self.their_defections = my_defections, their_defections

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


class Rule(Strategy):
    """A learner's strategy from a name, a rule(h) -> defections and a first move."""

    def __init__(self, name, rule, first=C):
        if not callable(rule):
            raise TypeError(f"rule must be callable, got {type(rule).__name__}")
        self.name, self.rule, self.first = str(name), rule, bool(first)


class Cycler(Strategy):
    """Plays a fixed pattern such as "CCD" over and over."""

    def __init__(self, pattern):
        if not isinstance(pattern, str) or not pattern or set(pattern) - set("CD"):
            raise ValueError(f"pattern must be a non-empty string of C and D, got {pattern!r}")
        self.pattern, self.name = pattern, f"Cycler({pattern})"
        self.first = pattern[0] == "D"

    def rule(self, h):
        return h.always(self.pattern[h.turn % len(self.pattern)] == "D")


class Cooperator(Strategy):
    """Always C (Axelrod 1984's ALL C)."""

    name = "Cooperator"

    def rule(self, h):
        return h.always(C)


class Defector(Strategy):
    """Always D (Axelrod 1984's ALL D)."""

    name, first = "Defector", D

    def rule(self, h):
        return h.always(D)


class Random(Strategy):
    """C with probability p on every move, the first included (Axelrod 1980's RANDOM: p=1/2)."""

    def __init__(self, p=0.5):
        self.p = _probability(p, "p")
        self.name = "Random" if self.p == 0.5 else f"Random({self.p:g})"

    def rule(self, h):
        return h.u >= self.p

    opening = rule


class TitForTat(Strategy):
    """C first, then the opponent's last move (Rapoport; Axelrod 1980, first place)."""

    name = "Tit For Tat"

    def rule(self, h):
        return h.their_last


class SuspiciousTitForTat(TitForTat):
    """Tit For Tat that opens with D."""

    name, first = "Suspicious Tit For Tat", D


class TitForTwoTats(Strategy):
    """D only after two D in a row by the opponent (Axelrod 1984)."""

    name = "Tit For Two Tats"

    def rule(self, h):
        return h.their_last & h.theirs[:, -2] if h.turn >= 2 else h.always(C)


class GenerousTitForTat(Strategy):
    """Tit For Tat that answers a D with C with probability p (Nowak & Sigmund 1992: p = 1/3
    for the payoffs 3, 0, 5, 1)."""

    def __init__(self, p=1 / 3):
        self.p = _probability(p, "p")
        self.name = "Generous Tit For Tat" if abs(self.p - 1 / 3) < 1e-12 else f"GTFT({self.p:g})"

    def rule(self, h):
        return h.their_last & (h.u >= self.p)


class Grudger(Strategy):
    """C until the opponent defects once, then D forever (Friedman; Axelrod 1980, 7th)."""

    name = "Grudger"

    def rule(self, h):
        return h.their_defections > 0


class WinStayLoseShift(Strategy):
    """Pavlov: C first; repeat the last move after R or T, switch after S or P; that is, C
    when both played the same last turn (Nowak & Sigmund 1993)."""

    name = "Win-Stay Lose-Shift"

    def rule(self, h):
        return h.my_last != h.their_last


class Alternator(Strategy):
    """C, D, C, D, ..."""

    name = "Alternator"

    def rule(self, h):
        return ~h.my_last


class Joss(Strategy):
    """C first; after the opponent's C cooperate with probability p (0.9), after its D defect
    (Axelrod 1980, 12th)."""

    def __init__(self, p=0.9):
        self.p = _probability(p, "p")
        self.name = "Joss" if self.p == 0.9 else f"Joss({self.p:g})"

    def rule(self, h):
        return h.their_last | (h.u >= self.p)


class Davis(Strategy):
    """C on the first 10 moves, then Grudger: D if the opponent has ever defected
    (Axelrod 1980, 8th)."""

    name = "Davis"

    def rule(self, h):
        return h.their_defections > 0 if h.turn >= 10 else h.always(C)


class Grofman(Strategy):
    """C first; if the two moved differently last turn, C with probability 2/7, else C
    (Axelrod 1980, 4th; the first move is not published: we read it as C)."""

    name = "Grofman"

    def rule(self, h):
        return (h.my_last != h.their_last) & (h.u >= 2 / 7)


class Tullock(Strategy):
    """C on the first 11 moves; then C with probability (the opponent's share of C on the
    preceding 10 moves) - 0.1, at least 0 (Axelrod 1980, 13th; "10% less" read as 10 points)."""

    name = "Tullock"

    def rule(self, h):
        if h.turn < 11:
            return h.always(C)
        p = h.xp.maximum(1 - h.theirs[:, -10:].mean(axis=1) - 0.1, 0)
        return h.u >= p


class Feld(Strategy):
    """Tit For Tat, but after the opponent's C it cooperates with a probability falling
    linearly from 1 on move 1 to 0.5 on move 200 (0.5 after); always D after a D
    (Axelrod 1980, 11th; "gradually" read as linearly)."""

    name = "Feld"

    def rule(self, h):
        p = max(0.5, 1 - 0.5 * h.turn / 199)
        return h.their_last | (h.u >= p)


class Shubik(Strategy):
    """C until the opponent defects, then D once; after each later departure from mutual
    cooperation one D more (Axelrod 1980, 5th). Read as: a D by the opponent against our C
    starts a run of k Ds, k = 1, 2, 3, ...; its D during our run does not extend the run."""

    name = "Shubik"

    def start(self, n, xp=None):
        xp = xp or current_xp()
        return {"runs": xp.zeros(n, dtype=xp.int64), "left": xp.zeros(n, dtype=xp.int64)}

    def rule(self, h):
        runs, left = h.state["runs"], h.state["left"]
        provoked = h.their_last & ~h.my_last
        runs += provoked
        left[provoked] = runs[provoked]
        defect = left > 0
        left -= defect
        return defect


_NYDEGGER_D = (1, 6, 7, 17, 22, 23, 26, 29, 30, 31, 33, 38, 39, 45, 49, 54, 55, 58, 61)


class Nydegger(Strategy):
    """Tit For Tat on moves 1-3, except D on move 3 after (C, D) then (D, C) [ours, theirs];
    then D iff A = 16 a1 + 4 a2 + a3 is in _NYDEGGER_D, where a = 2 (their D) + 1 (our D) for
    the preceding three turns in chronological order, a1 the oldest (Axelrod 1980, 3rd)."""

    name = "Nydegger"

    def rule(self, h):
        if h.turn < 3:
            tft = h.their_last
            if h.turn == 2:
                tft = tft | (~h.mine[:, 0] & h.theirs[:, 0] & h.mine[:, 1] & ~h.theirs[:, 1])
            return tft
        a = 2 * h.theirs[:, -3:].astype(np.int64) + h.mine[:, -3:]
        table = h.xp.zeros(64, dtype=bool)
        table[list(_NYDEGGER_D)] = True
        return table[16 * a[:, 0] + 4 * a[:, 1] + a[:, 2]]


def _probability(p, name):
    if isinstance(p, bool) or not isinstance(p, int | float | np.floating | np.integer):
        raise TypeError(f"{name} must be a number in [0, 1], got {type(p).__name__}")
    if not 0 <= p <= 1:
        raise ValueError(f"{name} must be in [0, 1], got {p}")
    return float(p)


def classics():
    """The usual cast: one of each simple strategy (Random with p = 1/2)."""
    return [Cooperator(), Defector(), Random(), TitForTat(), SuspiciousTitForTat(),
            TitForTwoTats(), GenerousTitForTat(), Grudger(), WinStayLoseShift(), Alternator(),
            Joss(), Tullock()]


def first_tournament():
    """The entries of Axelrod's first tournament (1980) stated exactly enough to implement,
    in the order of his ranking, and RANDOM. Missing: Tideman and Chieruzzi, Stein and
    Rapoport, Graaskamp, Downing and the anonymous entry (see the lesson)."""
    return [TitForTat(), Nydegger(), Grofman(), Shubik(), Grudger(), Davis(), Feld(), Joss(),
            Tullock(), Random()]


def moves_str(moves):
    """A boolean move sequence as 'CDDC...'."""
    return "".join("D" if m else "C" for m in to_numpy(moves))


# ----------------------------------------------------------------------------- one match


class Match(NamedTuple):
    """moves: (length, 2) booleans played (True = D); scores: (2,) totals of a and b;
    flipped: (length, 2) True where noise flipped the intended move."""

    moves: np.ndarray
    scores: np.ndarray
    flipped: np.ndarray

    def __str__(self):
        return (f"{moves_str(self.moves[:, 0])}\n{moves_str(self.moves[:, 1])}\n"
                f"scores {self.scores[0]:g} : {self.scores[1]:g}")


def _check_game(strategies, turns, noise, prob_end):
    for k, s in enumerate(strategies):
        if not isinstance(s, Strategy):
            raise TypeError(f"strategies[{k}] must be a Strategy, got {type(s).__name__}")
    check_int(turns, "turns")
    _probability(noise, "noise")
    if prob_end is not None and not 0 < _probability(prob_end, "prob_end"):
        raise ValueError(f"prob_end must be in (0, 1] or None, got {prob_end}")


def play_match(a, b, turns=200, noise=0.0, prob_end=None, payoffs=AXELROD, seed=None):
    """One match of a against b, one turn at a time in plain Python: the reference loop.

    noise flips each intended move with probability noise; with prob_end the match ends after
    each turn with that probability (at most turns). Returns a Match of NumPy arrays: the loop
    runs with NumPy on the CPU whatever the device (one match is too small for a GPU).
    """
    _check_game([a, b], turns, noise, prob_end)
    table = check_payoffs(payoffs)
    key = np.array([_seed_int(seed)], dtype=np.uint64)
    length = int(match_lengths(key, turns, prob_end)[0])
    moves, flipped = np.zeros((2, length), dtype=bool), np.zeros((2, length), dtype=bool)
    states = [a.start(1, np), b.start(1, np)]
    scores = [0.0, 0.0]
    # u[lane][t]: lanes 0, 1 for a's and b's strategy, 2, 3 for their noise
    u = [uniform(np.repeat(key, length), LANES * np.arange(length) + lane) for lane in range(4)]
    for t in range(length):
        intended = []
        for side, player in enumerate((a, b)):
            mine, theirs = moves[side, None, :t], moves[1 - side, None, :t]
            seen = Seen(t, mine, theirs, mine.sum(axis=1), theirs.sum(axis=1),
                        u[side][t:t + 1], states[side])
            intended.append(bool(player.move(seen)[0]))
        for side in (0, 1):
            flipped[side, t] = u[2 + side][t] < noise
            moves[side, t] = intended[side] != flipped[side, t]
        mine_a, mine_b = moves[:, t]
        scores[0] += table[2 * mine_a + mine_b]
        scores[1] += table[2 * mine_b + mine_a]
    return Match(moves.T.copy(), np.array(scores), flipped.T.copy())


# ----------------------------------------------------------------------------- tournaments


@dataclass
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


def tournament(strategies, turns=200, repetitions=1, noise=0.0, prob_end=None,
               payoffs=AXELROD, seed=None, self_play=True, xp=None):
    """Round robin of every strategy against every other (and itself when self_play), each
    pairing played repetitions times, all matches advancing together one turn at a time.

    xp: numpy or cupy (default: the course's current device), where the matches are played;
    the random numbers are the same on both, so the results are identical. Returns a
    Tournament of NumPy arrays whichever the device (n × n × repetitions numbers).
    """
    strategies = list(strategies)
    if not strategies:
        raise ValueError("strategies is empty: give at least one Strategy")
    _check_game(strategies, turns, noise, prob_end)
    repetitions = check_int(repetitions, "repetitions")
    if len(strategies) == 1 and not self_play:
        raise ValueError("one strategy without self_play plays no match")
    xp = xp or current_xp()
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
    seat_length = xp.concatenate([length, length])[xp.asarray(order)]
    table = _payoff_table(payoffs, xp)

    n_seats, last = 2 * n_matches, int(length.max())
    mine = xp.zeros((last, n_seats), dtype=bool)  # turn-major: writing a turn is contiguous
    theirs = xp.zeros((last, n_seats), dtype=bool)
    my_d, their_d = (xp.zeros(n_seats, dtype=xp.int64) for _ in range(2))
    score, coop = xp.zeros(n_seats), xp.zeros(n_seats, dtype=xp.int64)
    intended = xp.zeros(n_seats, dtype=bool)
    blocks = [(s, slice(lo, hi)) for s, lo, hi in
              zip(strategies, bounds[:-1], bounds[1:], strict=True) if hi > lo]
    states = [s.start(b.stop - b.start, xp) for s, b in blocks]
    for t in range(last):
        u = uniform(keys, LANES * t + side)
        for (strategy, b), state in zip(blocks, states, strict=True):
            seen = Seen(t, mine[:t, b].T, theirs[:t, b].T, my_d[b], their_d[b], u[b], state)
            intended[b] = strategy.move(seen)
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


def tournament_by_loop(strategies, turns=200, repetitions=1, noise=0.0, prob_end=None,
                       payoffs=AXELROD, seed=None, self_play=True):
    """The same tournament, one play_match after another: the reference for ``tournament``
    (plain NumPy on the CPU, whatever the device)."""
    strategies = list(strategies)
    seed = _seed_int(seed)
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


# ----------------------------------------------------------------------------- evolution


def _check_matrix(payoff_matrix):
    xp = get_array_module(payoff_matrix)
    a = xp.asarray(payoff_matrix, dtype=xp.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.size == 0:
        raise ValueError(f"payoff_matrix must be square (n, n), got shape {a.shape}")
    if not bool(xp.isfinite(a).all()):
        raise ValueError("payoff_matrix contains NaN or infinity")
    return xp, a


def replicator(payoff_matrix, shares, steps=200, dt=0.1):
    """Replicator dynamics dx_i/dt = x_i (f_i - x.f), f = A x, in steps of dt, each taken as
    x <- x exp(dt (f - x.f)), renormalised (stays on the simplex). Returns (steps + 1, n) on
    payoff_matrix's device (shares: a list, or an array on the same device)."""
    xp, a = _check_matrix(payoff_matrix)
    check_device(shares, "shares", xp)
    x = xp.asarray(shares, dtype=xp.float64)
    if x.shape != (a.shape[0],) or bool((x < 0).any()) or not float(x.sum()) > 0:
        raise ValueError(f"shares must be {a.shape[0]} non-negative numbers with a positive "
                         f"sum, got {shares!r}")
    out = xp.empty((steps + 1, len(x)))
    out[0] = x = x / x.sum()
    for t in range(1, steps + 1):
        f = a @ x
        x = x * xp.exp(dt * (f - x @ f))
        out[t] = x = x / x.sum()
    return out


def moran(payoff_matrix, counts, steps=1000, runs=1, seed=None, intensity=1.0, record=True):
    """Moran process, runs populations at once: each step one individual, chosen in proportion
    to its fitness 1 - w + w * (its mean payoff against the rest of the population), copies
    itself over one chosen uniformly (itself included). payoff_matrix[i, j]: i's payoff against
    j (e.g. Tournament.payoff_matrix). Returns counts over time, (steps + 1, runs, n) int, or
    with record=False only the final counts, (runs, n).

    Runs on payoff_matrix's device (counts: a list, or an array on the same device); the
    random numbers are counter-based (``uniform``), the same on both devices."""
    xp, a = _check_matrix(payoff_matrix)
    check_device(counts, "counts", xp)
    counts = xp.asarray(counts)
    n, size = a.shape[0], int(counts.sum())
    if counts.shape != (n,) or bool((counts < 0).any()) or size < 2:
        raise ValueError(f"counts must be {n} non-negative ints summing to at least 2, "
                         f"got {counts!r}")
    if not 0 <= intensity <= 1 or 1 - intensity + intensity * float(a.min()) < 0:
        raise ValueError(f"intensity must be in [0, 1] and give non-negative fitness "
                         f"1 - w + w * payoff, got {intensity} with payoffs >= {float(a.min())}")
    keys = seed_keys(seed, xp.arange(runs), xp=xp)
    c = xp.tile(counts.astype(xp.int64), (runs, 1))
    out = xp.empty((steps + 1 if record else 1, runs, n), dtype=xp.int64)
    out[0] = c
    rows = xp.arange(runs)
    for t in range(1, steps + 1):
        payoff = (c.astype(xp.float64) @ a.T - xp.diag(a)) / (size - 1)  # not against oneself
        birth = _choose(c * (1 - intensity + intensity * payoff), uniform(keys, 2 * t))
        death = _choose(c.astype(xp.float64), uniform(keys, 2 * t + 1))
        c[rows, birth] += 1
        c[rows, death] -= 1
        if record:
            out[t] = c
    return out if record else c


def _choose(weights, u):
    """For each row of weights (runs, n), an index drawn in proportion to the weights."""
    xp = get_array_module(weights)
    cum = xp.cumsum(weights, axis=1)
    return xp.minimum((cum <= (u * cum[:, -1])[:, None]).sum(axis=1), weights.shape[1] - 1)
