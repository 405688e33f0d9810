"""The iterated prisoner's dilemma: strategies, matches, round-robin tournaments, evolution.

A move is a boolean: ``D = True`` (defect), ``C = False`` (cooperate). A strategy decides for a
whole batch of seats at once: ``move(h)`` reads what each seat has seen (``h``, a Seen) and
returns a (n,) boolean array of defections. ``tournament`` puts both seats of every match and
every repetition in one array, grouped by strategy, and advances them all one turn at a time.

Random numbers are counter-based: uniform(key, counter) is a hash (SplitMix64) of the match's
key and the counter (turn, seat, purpose), so a match draws the same numbers alone or in a
batch of a million, and on NumPy and CuPy alike. Match (i, j, r) of ``tournament(seed=s)`` has
the key ``match_seed(s, i, j, r)``: ``play_match(a, b, seed=match_seed(s, i, j, r))`` replays it.
Every ``seed`` is 0 by default (reproducible), an int >= 0, a numpy Generator or None.

Devices: ``tournament`` plays on the current device (or ``xp``) and returns NumPy results, small
tables for printing and plotting; ``play_match`` and ``tournament_by_loop`` are the plain
reference loops, always NumPy. ``replicator`` and ``moran`` follow their payoff matrix: pass it
through ``backend.asarray`` to evolve on the GPU. The other array functions follow their arrays.

Modules: ``engine`` (payoffs, random keys, Seen and Strategy, play_match, tournament and its
by-hand loop), ``strategies`` (the rules), ``evolution`` (replicator, moran).
"""

from .engine import (
                     AXELROD,
                     LANES,
                     C,
                     D,
                     Match,
                     Payoffs,
                     Seen,
                     Strategy,
                     Tournament,
                     check_payoffs,
                     match_lengths,
                     match_seed,
                     moves_str,
                     play_match,
                     seed_keys,
                     tournament,
                     tournament_by_loop,
                     uniform,
)
from .evolution import moran, replicator
from .strategies import (
                     Alternator,
                     Anonymous,
                     Cooperator,
                     Cycler,
                     Davis,
                     Defector,
                     Downing,
                     Feld,
                     GenerousTitForTat,
                     Graaskamp,
                     Grofman,
                     Grudger,
                     Joss,
                     Nydegger,
                     Random,
                     Rule,
                     Shubik,
                     SteinAndRapoport,
                     SuspiciousTitForTat,
                     TidemanAndChieruzzi,
                     TitForTat,
                     TitForTwoTats,
                     Tullock,
                     WinStayLoseShift,
                     classics,
                     first_tournament,
)

__all__ = ["AXELROD", "LANES", "C", "D", "Match", "Payoffs", "Seen", "Strategy", "Tournament",
           "check_payoffs", "match_lengths", "match_seed", "moves_str", "play_match",
           "seed_keys", "tournament", "tournament_by_loop", "uniform", "moran", "replicator",
           "Alternator", "Anonymous", "Cooperator", "Cycler", "Davis", "Defector", "Downing",
           "Feld", "GenerousTitForTat", "Graaskamp", "Grofman", "Grudger", "Joss", "Nydegger",
           "Random", "Rule", "Shubik", "SteinAndRapoport", "SuspiciousTitForTat",
           "TidemanAndChieruzzi", "TitForTat", "TitForTwoTats", "Tullock", "WinStayLoseShift",
           "classics", "first_tournament"]
