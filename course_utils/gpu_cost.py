"""Buy a GPU machine or rent a cloud GPU by the hour: cost per year, per hour of work, break-even.

Work is counted in hours on the rented card. The bought card does the same work
``relative_speed`` times as fast, so it runs hours_per_day / relative_speed hours a day, and
its electricity is paid for those hours. Money is in one currency of your choosing: the prices
are inputs, not facts. Every input may be a NumPy array: the results broadcast, so one call
prices a whole grid of scenarios.
"""

import functools
from dataclasses import dataclass

import numpy as np

from ._checks import Custom, check_fields, check_real, checked
from .backend import is_cupy_array

DAYS_PER_YEAR = 365


def _check_reals(value, name, **bounds):
    """check_real (same bounds, same message) for a number, or for every entry of a NumPy
    array or list, whose results then broadcast: a float, or a float array."""
    if not isinstance(value, np.ndarray | list | tuple) and not is_cupy_array(value):
        return check_real(value, name, **bounds)  # a bool, a string or None is a TypeError
    if is_cupy_array(value):
        raise TypeError(f"{name} must be a real number or a NumPy array of them, got a CuPy "
                        f"array: the cost model is a few numbers and runs on the CPU")
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        arr = np.asarray(value, dtype=object)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a real number or an array of real numbers, got "
                        f"{type(value).__name__} of dtype {arr.dtype}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    arr = arr.astype(float)
    for extreme in (arr.min(), arr.max()):  # NaN in arr makes both NaN
        check_real(extreme, name, **bounds)
    return arr if arr.ndim else float(arr)


def _reals(**bounds):
    """The check of a number, or array of numbers, within bounds (see _check_reals)."""
    return Custom(functools.partial(_check_reals, **bounds))


_POSITIVE = _reals(low=0.0, low_open=True)
# hours of work a day, as a float (or float array) in (0, 24]
_HOURS = _reals(low=0.0, high=24.0, low_open=True)


def _finite(value, what):
    """value, unless it overflowed to infinity (from finite but extreme inputs)."""
    if not np.all(np.isfinite(value)):
        raise ValueError(f"{what} overflows float64: the inputs are too extreme")
    return value


@dataclass(frozen=True)
class GPUCosts:
    """The inputs of the buy-or-rent question; the methods price it.

    price, resale : the machine, paid once, and what it sells for after life_years
    watts, kwh_price : power drawn while it works, and electricity's price per kWh
    on_demand, spot : cloud prices per hour; spot is cheaper but can be taken away
    spot_share : fraction of the rented hours that run at the spot price (0 to 1)
    relative_speed : the bought card's speed over the rented card's (2: twice as fast)
    """

    price: float
    life_years: float
    resale: float
    watts: float
    kwh_price: float
    on_demand: float
    spot: float
    spot_share: float
    relative_speed: float = 1.0

    def __post_init__(self):
        check_fields(self, price=_POSITIVE, life_years=_POSITIVE, resale=_reals(low=0.0),
                     watts=_POSITIVE, kwh_price=_POSITIVE, on_demand=_POSITIVE, spot=_POSITIVE,
                     spot_share=_reals(low=0.0, high=1.0), relative_speed=_POSITIVE)
        if np.any(np.asarray(self.resale) >= self.price):
            raise ValueError(f"resale must be below price, got resale={self.resale!r} "
                             f"and price={self.price!r}")
        _finite(self.fixed_per_year(), "fixed_per_year (price - resale) / life_years")
        _finite(self.power_per_hour(), "power_per_hour (watts, kwh_price, relative_speed)")
        _finite(self.rent_per_hour(), "rent_per_hour (on_demand, spot)")

    def rent_per_hour(self):
        """r = spot_share · spot + (1 - spot_share) · on_demand: renting's cost per hour.

        Returns
        -------
        float, or an array of the broadcast shape of the inputs.
        """
        return self.spot_share * self.spot + (1 - self.spot_share) * self.on_demand

    def fixed_per_year(self):
        """F = (price - resale) / life_years: what owning costs a year, used or not.

        Returns
        -------
        float, or an array of the broadcast shape of the inputs.
        """
        return (self.price - self.resale) / self.life_years

    def power_per_hour(self):
        """e = watts / 1000 · kwh_price / relative_speed: electricity per hour of work.

        Returns
        -------
        float, or an array of the broadcast shape of the inputs.
        """
        return self.watts / 1000 * self.kwh_price / self.relative_speed

    @checked(hours_per_day=_HOURS)
    def buy_per_year(self, hours_per_day):
        """F + 365 · h · e: buying's cost a year for h hours of work a day.

        Parameters
        ----------
        hours_per_day : float or array of floats, each in (0, 24]

        Returns
        -------
        float, or an array of the broadcast shape of hours_per_day and the inputs.
        """
        h = hours_per_day
        return _finite(self.fixed_per_year() + DAYS_PER_YEAR * h * self.power_per_hour(),
                       "buy_per_year")

    @checked(hours_per_day=_HOURS)
    def rent_per_year(self, hours_per_day):
        """365 · h · r: renting's cost a year for h hours of work a day.

        Parameters
        ----------
        hours_per_day : float or array of floats, each in (0, 24]

        Returns
        -------
        float, or an array of the broadcast shape of hours_per_day and the inputs.
        """
        h = hours_per_day
        return _finite(DAYS_PER_YEAR * h * self.rent_per_hour(), "rent_per_year")

    @checked(hours_per_day=_HOURS)
    def buy_per_hour_of_work(self, hours_per_day):
        """F / (365 h) + e: the bought machine's cost per hour of work (renting's is r).

        Parameters
        ----------
        hours_per_day : float or array of floats, each in (0, 24]

        Returns
        -------
        float, or an array of the broadcast shape of hours_per_day and the inputs.
        """
        h = hours_per_day
        with np.errstate(over="ignore"):
            per_hour = self.fixed_per_year() / (DAYS_PER_YEAR * h) + self.power_per_hour()
        return _finite(per_hour, "buy_per_hour_of_work (for so few hours a day)")

    def break_even_hours(self):
        """h* = F / (365 (r - e)), the hours of work a day above which buying is cheaper;
        inf where renting costs no more per hour than the electricity (never).

        Returns
        -------
        float, or an array of the broadcast shape of the inputs.
        """
        margin = DAYS_PER_YEAR * (self.rent_per_hour() - self.power_per_hour())
        with np.errstate(divide="ignore"):
            return np.where(margin > 0, self.fixed_per_year() / np.where(margin > 0, margin, 1),
                            np.inf)[()]
