"""The strategies: the classics, and the entries of Axelrod's first tournament (1980).

Each is a Strategy whose ``rule(h)`` decides for a whole batch of seats at once (see
``engine.Seen``). Where Axelrod's descriptions leave a detail open, the docstring says how we
read it and, for the entries of the first tournament, how the Axelrod Python library
(Axelrod-Python/Axelrod, axelrod/strategies/axelrod_first.py, the ``FirstBy...`` classes)
reads it.
"""

import numpy as np
from scipy.stats import chi2

from .._checks import Bool, Custom, Function, Probability, Real, checked, from_outside
from ..backend import xp as current_xp
from .engine import C, D, Strategy


def _check_move(move, name):
    if not isinstance(move, bool | np.bool_):
        raise TypeError(f"{name} must be C (False) or D (True), got {type(move).__name__}")
    return move


def _check_pattern(pattern, name):
    if not isinstance(pattern, str):
        raise TypeError(f"{name} must be a string of C and D, got {type(pattern).__name__}")
    if not pattern or set(pattern) - set("CD"):
        raise ValueError(f"{name} must be a non-empty string of C and D, got {pattern!r}")
    return pattern


class Rule(Strategy):
    """A learner's strategy from a name, a rule and a first move.

    Parameters
    ----------
    name : str
        Its name in tables.
    rule : callable
        rule(h) -> (n,) boolean array of defections, h a Seen (turns 1, 2, ...).
    first : bool
        The move on turn 0: C (False, default) or D (True).
    """

    @checked(rule=Function(), first=Custom(_check_move))
    def __init__(self, name, rule, first=C):
        # the learner's rule runs as a learner's call: the checks of what it calls included
        self.name, self.rule, self.first = str(name), from_outside(rule), bool(first)


class Cycler(Strategy):
    """Plays a fixed pattern over and over.

    Parameters
    ----------
    pattern : str
        A non-empty string of C and D, such as "CCD".
    """

    @checked(pattern=Custom(_check_pattern))
    def __init__(self, pattern):
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
    """C with probability p on every move, the first included (Axelrod 1980's RANDOM: p=1/2).

    Parameters
    ----------
    p : float in [0, 1]
        The probability of C.
    """

    @checked(p=Probability())
    def __init__(self, p=0.5):
        self.p = p
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
    for the payoffs 3, 0, 5, 1).

    Parameters
    ----------
    p : float in [0, 1]
        The probability of forgiving a D.
    """

    @checked(p=Probability())
    def __init__(self, p=1 / 3):
        self.p = p
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
    (Axelrod 1980, 12th).

    Parameters
    ----------
    p : float in [0, 1]
        The probability of C after the opponent's C.
    """

    @checked(p=Probability())
    def __init__(self, p=0.9):
        self.p = p
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
    the preceding three turns in chronological order, a1 the oldest (Axelrod 1980, 3rd).

    Our reading differs from the Axelrod Python library's (``FirstByNydegger``,
    axelrod/strategies/axelrod_first.py) in two places: it gives the weight 16 to the most
    recent turn (a1 = history[-1]) where we read "in chronological order" as the oldest
    first; and its exception on move 3 looks only at the opponent's first two moves (D, C),
    where we require Axelrod's "the only one to cooperate ... the only one to defect", that is
    (C, D) then (D, C) for (ours, theirs). Both readings give A = 63 after three mutual
    defections, the one check Axelrod's text offers. ``Nydegger(recent_first=True)`` plays the
    library's weights (16 on the most recent turn), with our exception on move 3.
    """

    @checked(recent_first=Bool())
    def __init__(self, recent_first=False):
        self.recent_first = recent_first
        self.name = "Nydegger (recent first)" if recent_first else "Nydegger"

    def rule(self, h):
        if h.turn < 3:
            tft = h.their_last
            if h.turn == 2:
                tft = tft | (~h.mine[:, 0] & h.theirs[:, 0] & h.mine[:, 1] & ~h.theirs[:, 1])
            return tft
        a = 2 * h.theirs[:, -3:].astype(np.int64) + h.mine[:, -3:]
        if self.recent_first:
            a = a[:, ::-1]
        table = h.xp.zeros(64, dtype=bool)
        table[list(_NYDEGGER_D)] = True
        return table[16 * a[:, 0] + 4 * a[:, 1] + a[:, 2]]


def _chi2_critical(alpha):
    """The chi-squared statistic (one degree of freedom) at which a p-value equals alpha."""
    return float(chi2.isf(alpha, 1))


_ALPHA = Real(low=0, high=1, low_open=True, high_open=True)


def _looks_random(h, critical):
    """Per seat: does a chi-squared test of the opponent's C and D counts against 50-50 keep
    the hypothesis of a fair coin (p-value >= alpha, i.e. statistic <= critical)? The same
    statistic as ``scipy.stats.chisquare([cooperations, defections])``: (C - D)^2 / (C + D)."""
    diff = h.turn - 2 * h.their_defections
    return diff * diff <= critical * h.turn


class TidemanAndChieruzzi(Strategy):
    """Tit For Tat with growing punishments, fresh starts and D on the last two moves
    (Axelrod 1980, 2nd).

    Axelrod: "begins with cooperation and tit for tat. However, when the other player finishes
    his second run of defections, an extra punishment is instituted, and the number of
    punishing defections is increased by one with each run of the other's defections. The
    other player is given a fresh start if he is 10 or more points behind, if he has not just
    started a run of defections, if it has been at least 20 moves since a fresh start, if
    there are at least 10 moves remaining, and if the number of defections differs from a
    50-50 random generator by at least 3.0 standard deviations. A fresh start involves two
    cooperations and then play as if the game had just started. The program defects
    automatically on the last two moves."

    Read as the Axelrod Python library reads it (``FirstByTidemanAndChieruzzi``): each D by
    the opponent while we are not punishing starts a punishment one D longer than the last
    (1, 2, 3, ...); the fresh start is given when we lead by 10 points or more, the opponent
    cooperated last turn, it is the first fresh start or at least 20 turns since the last, at
    least 10 turns remain, and the opponent's defections since the last fresh start lie at
    least 3 standard deviations (sqrt(N)/2, N its moves so far) from N/2; it plays C twice
    and forgets the punishments. Without an announced length (prob_end) there is neither a
    fresh start nor the final two Ds.
    """

    name = "Tideman and Chieruzzi"

    def start(self, n, xp=None):
        xp = xp or current_xp()
        zeros = {k: xp.zeros(n, dtype=xp.int64) for k in ("run", "left", "fresh_at", "their_d")}
        return {**zeros, "mine": xp.zeros(n), "theirs": xp.zeros(n),
                "second": xp.zeros(n, dtype=bool)}

    def rule(self, h):
        st, xp, t = h.state, h.xp, h.turn
        R, S, T, P = h.payoffs
        table = xp.asarray([R, S, T, P], dtype=xp.float64)
        st["their_d"] += h.their_last
        st["mine"] += table[2 * h.my_last + h.their_last]
        st["theirs"] += table[2 * h.their_last + h.my_last]
        second = st["second"].copy()
        st["second"][:] = False
        fresh = ~second & ~h.their_last & (st["mine"] - st["theirs"] >= 10)
        fresh &= (st["fresh_at"] == 0) | (t + 1 - st["fresh_at"] >= 20)
        fresh &= h.length is not None and h.length - (t + 1) >= 10
        sd = 3 * np.sqrt(t) / 2
        fresh &= (st["their_d"] <= t / 2 - sd) | (st["their_d"] >= t / 2 + sd)
        st["fresh_at"][fresh] = t + 1
        for k in ("run", "left", "their_d"):
            st[k][fresh] = 0
        st["second"] |= fresh
        rest = ~second & ~fresh
        punishing = rest & (st["left"] > 0)
        provoked = rest & ~punishing & h.their_last
        st["left"] -= punishing
        st["run"] += provoked
        st["left"][provoked] = st["run"][provoked] - 1
        defect = punishing | provoked
        return h.always(D) if h.last_turns(2) else defect


class SteinAndRapoport(Strategy):
    """Tit For Tat that opens with four Cs, defects on the last two moves, and every 15 moves
    tests whether the opponent looks random (Axelrod 1980, 6th).

    Axelrod: "plays tit for tat except that it cooperates on the first four moves, it defects
    on the last two moves, and every fifteen moves it checks to see if the opponent seems to
    be playing randomly. This check uses a chi-squared test of the other's transition
    probabilities and also checks for alternating moves of CD and DC."

    Read as the Axelrod Python library reads it (``FirstBySteinAndRapoport``): C on moves
    1-4, Tit For Tat on moves 5-15; on move 15, 30, 45, ... a chi-squared test of the
    opponent's C and D counts against 50-50 (``scipy.stats.chisquare``, level alpha); until
    the next test, D if the opponent looked random, else Tit For Tat; D on the last two moves
    of a match of announced length. The test of transition probabilities and of alternation
    is not published; like the library, we test the counts only.
    """

    name = "Stein and Rapoport"

    @checked(alpha=_ALPHA)
    def __init__(self, alpha=0.05):
        self.alpha = float(alpha)
        self.critical = _chi2_critical(alpha)
        if self.alpha != 0.05:
            self.name = f"Stein and Rapoport({self.alpha:g})"

    def start(self, n, xp=None):
        xp = xp or current_xp()
        return {"random": xp.zeros(n, dtype=bool)}

    def rule(self, h):
        if h.turn < 4:
            defect = h.always(C)
        else:
            if h.turn >= 14 and (h.turn + 1) % 15 == 0:
                h.state["random"][:] = _looks_random(h, self.critical)
            defect = h.their_last | h.state["random"]
        return h.always(D) if h.last_turns(2) else defect


class Graaskamp(Strategy):
    """Tit For Tat with a probe on move 51, then exploitation of what looks random or
    naive (Axelrod 1980, 9th).

    Axelrod: "plays tit for tat for 50 moves, defects on move 51, and then plays 5 more moves
    of tit for tat. A check is then made to see if the player seems to be RANDOM, in which
    case it defects from then on. A check is also made to see if the other is TIT FOR TAT,
    ANALOGY (a program from the preliminary tournament), and its own twin, in which case it
    plays tit for tat. Otherwise it randomly defects every 5 to 15 moves, hoping that enough
    trust has been built up so that the other player will not notice these defections."

    Read as the Axelrod Python library reads it (``FirstByGraaskamp``): Tit For Tat on moves
    1-50 and 52-56, D on move 51; from move 57 on, a chi-squared test of the opponent's C and
    D counts against 50-50 (level alpha) each move, and once it looks random, D for the rest
    of the match; else Tit For Tat if the opponent has so far played Tit For Tat against us
    (its move k+1 equal to ours k, from its second move on) or exactly our moves (a twin);
    else C, with a D every 5 to 15 moves (uniformly drawn, 5 and 15 included). ANALOGY is not
    published and is not recognised.
    """

    name = "Graaskamp"

    @checked(alpha=_ALPHA)
    def __init__(self, alpha=0.05):
        self.alpha = float(alpha)
        self.critical = _chi2_critical(alpha)
        if self.alpha != 0.05:
            self.name = f"Graaskamp({self.alpha:g})"

    def start(self, n, xp=None):
        xp = xp or current_xp()
        return {"random": xp.zeros(n, dtype=bool), "tft": xp.ones(n, dtype=bool),
                "twin": xp.ones(n, dtype=bool), "next": xp.full(n, -1, dtype=xp.int64)}

    def rule(self, h):
        st, t = h.state, h.turn
        st["twin"] &= h.their_last == h.my_last
        if t >= 2:
            st["tft"] &= h.their_last == h.mine[:, -2]
        if t < 56:
            return h.their_last | h.always(t == 50)
        st["random"] |= _looks_random(h, self.critical)
        follow = ~st["random"] & (st["tft"] | st["twin"])
        other = ~st["random"] & ~follow
        due = other & (st["next"] == t)
        draw = t + 5 + h.xp.floor(11 * h.u).astype(h.xp.int64)
        renew = other & ((st["next"] < 0) | due)
        st["next"][renew] = draw[renew]
        return st["random"] | (follow & h.their_last) | due


class Downing(Strategy):
    """Estimates how the opponent answers our C and our D, and plays the move with the higher
    expected payoff (Axelrod 1980, 10th).

    Axelrod: "selects its choice to maximize its own long-term expected payoff on the
    assumption that the other rule cooperates with a fixed probability which depends only on
    whether the other player cooperated or defected on the previous move. These two
    probabilities estimates are continuously updated as the game progresses. Initially, they
    are both assumed to be .5."

    Read as the Axelrod Python library reads it (``FirstByDowning``, after Downing 1975,
    appendix A): alpha = P(their C | our C the turn before), beta = P(their C | our D the turn
    before), counted from the match so far (their first move counts as an answer to a C
    before the match; our Cs + 1 and max(our Ds, 2) as denominators); then C if
    alpha R + (1 - alpha) S > beta T + (1 - beta) P, D if less, and the opposite of our last
    move on a tie. It opens with D, D (with both estimates at 1/2, D pays more), which is
    what the original did according to the library; the revised entry of the second
    tournament opened with C.
    """

    name, first = "Downing", D

    def start(self, n, xp=None):
        xp = xp or current_xp()
        return {"after_c": xp.zeros(n, dtype=xp.int64), "after_d": xp.zeros(n, dtype=xp.int64)}

    def rule(self, h):
        st, t = h.state, h.turn
        their_c = ~h.their_last
        if t == 1:
            st["after_c"] += their_c
            return h.always(D)
        before = h.mine[:, -2]
        st["after_c"] += their_c & ~before
        st["after_d"] += their_c & before
        alpha = st["after_c"] / (t - h.my_defections + 1)
        beta = st["after_d"] / h.xp.maximum(h.my_defections, 2)
        R, S, T, P = h.payoffs
        cooperate, defect = alpha * R + (1 - alpha) * S, beta * T + (1 - beta) * P
        return (cooperate < defect) | ((cooperate == defect) & ~h.my_last)


class Anonymous(Strategy):
    """The anonymous entry: C with a probability drawn anew each move, uniform in [0.3, 0.7]
    (Axelrod 1980, 14th).

    Axelrod publishes only an outline: "a probability of cooperating, P, which is initially
    30% and is updated every 10 moves. P is adjusted if the other player seems random, very
    cooperative, or very uncooperative. P is also adjusted after move 130 if the rule has a
    lower score than the other player. Unfortunately, the complex process of adjustment
    frequently left the probability of cooperation in the 30% to 70% range, and therefore
    the rule appeared random to many other players." Read as the Axelrod Python library
    reads it (``FirstByAnonymous``): each move, P uniform in [0.3, 0.7], then C with
    probability P. Each move is then C with probability 1/2, independently: in distribution
    this entry is RANDOM. From the turn's one uniform number u we take P from its low bits and
    the coin from its high 26 bits (independent, as u has 53 random bits).
    """

    name = "Anonymous"

    def rule(self, h):
        scaled = h.u * 2.0**26
        high = h.xp.floor(scaled)
        p = 0.3 + 0.4 * (scaled - high)
        return high * 2.0**-26 >= p

    opening = rule


def classics():
    """The usual cast: one of each simple strategy (Random with p = 1/2).

    Returns
    -------
    list of Strategy
        12 strategies: Cooperator, Defector, Random, Tit For Tat, Suspicious Tit For Tat,
        Tit For Two Tats, Generous Tit For Tat, Grudger, Win-Stay Lose-Shift, Alternator, Joss,
        Tullock.
    """
    return [Cooperator(), Defector(), Random(), TitForTat(), SuspiciousTitForTat(),
            TitForTwoTats(), GenerousTitForTat(), Grudger(), WinStayLoseShift(), Alternator(),
            Joss(), Tullock()]


@checked(reconstructed=Bool())
def first_tournament(reconstructed=True):
    """The entries of Axelrod's first tournament (1980) in the order of his ranking, and RANDOM.

    Parameters
    ----------
    reconstructed : bool
        True (default): all fourteen entries and RANDOM, the five whose details were not
        published (Tideman and Chieruzzi, Stein and Rapoport, Graaskamp, Downing, the
        anonymous entry) read as the Axelrod Python library reads them. False: only the nine
        entries described exactly enough to implement, and RANDOM.

    Returns
    -------
    list of Strategy
        15 strategies (10 with reconstructed=False).
    """
    if not reconstructed:
        return [TitForTat(), Nydegger(), Grofman(), Shubik(), Grudger(), Davis(), Feld(), Joss(),
                Tullock(), Random()]
    return [TitForTat(), TidemanAndChieruzzi(), Nydegger(), Grofman(), Shubik(),
            SteinAndRapoport(), Grudger(), Davis(), Graaskamp(), Downing(), Feld(), Joss(),
            Tullock(), Anonymous(), Random()]
