"""Buy a GPU machine or rent a cloud GPU by the hour: cost per year, per hour of work, break-even.

Work is counted in hours on the rented card. The bought card does the same work
``relative_speed`` times as fast, so it runs hours_per_day / relative_speed hours a day, and
its electricity is paid for those hours. Money is in one currency of your choosing: the prices
are inputs, not facts. Every input may be a NumPy array: the results broadcast, so one call
prices a whole grid of scenarios.
"""

from dataclasses import dataclass, fields

import numpy as np

DAYS_PER_YEAR = 365


def _check(value, name, *, low=0.0, low_ok=False, high=None):
    """value as a float (or float array) with every entry > low (>= with low_ok), <= high."""
    if value is None or isinstance(value, bool | str | bytes):
        raise TypeError(f"{name} must be a number or an array of numbers, "
                        f"got {type(value).__name__}")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or an array of numbers, got {value!r}") from None
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite, got {value!r}")
    if np.any(arr < low) or (not low_ok and np.any(arr == low)):
        raise ValueError(f"{name} must be {'>=' if low_ok else '>'} {low:g}, got {value!r}")
    if high is not None and np.any(arr > high):
        raise ValueError(f"{name} must be at most {high:g}, got {value!r}")
    return float(arr) if arr.ndim == 0 else arr


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
        limits = {"resale": {"low_ok": True}, "spot_share": {"low_ok": True, "high": 1.0}}
        for field in fields(self):
            checked = _check(getattr(self, field.name), field.name, **limits.get(field.name, {}))
            object.__setattr__(self, field.name, checked)
        if np.any(np.asarray(self.resale) >= self.price):
            raise ValueError(f"resale must be below price, got resale={self.resale!r} "
                             f"and price={self.price!r}")

    def rent_per_hour(self):
        """r = spot_share · spot + (1 - spot_share) · on_demand."""
        return self.spot_share * self.spot + (1 - self.spot_share) * self.on_demand

    def fixed_per_year(self):
        """F = (price - resale) / life_years: what owning costs, used or not."""
        return (self.price - self.resale) / self.life_years

    def power_per_hour(self):
        """e = watts / 1000 · kwh_price / relative_speed: electricity per hour of work."""
        return self.watts / 1000 * self.kwh_price / self.relative_speed

    def buy_per_year(self, hours_per_day):
        """F + 365 · h · e for h hours of work a day."""
        h = _check(hours_per_day, "hours_per_day", high=24)
        return self.fixed_per_year() + DAYS_PER_YEAR * h * self.power_per_hour()

    def rent_per_year(self, hours_per_day):
        """365 · h · r for h hours of work a day."""
        h = _check(hours_per_day, "hours_per_day", high=24)
        return DAYS_PER_YEAR * h * self.rent_per_hour()

    def buy_per_hour_of_work(self, hours_per_day):
        """F / (365 h) + e: the bought machine's cost per hour of work (renting's is r)."""
        return self.buy_per_year(hours_per_day) / (DAYS_PER_YEAR * hours_per_day)

    def break_even_hours(self):
        """h* = F / (365 (r - e)), the hours of work a day above which buying is cheaper;
        inf where renting costs no more per hour than the electricity (never)."""
        margin = DAYS_PER_YEAR * (self.rent_per_hour() - self.power_per_hour())
        with np.errstate(divide="ignore"):
            return np.where(margin > 0, self.fixed_per_year() / np.where(margin > 0, margin, 1),
                            np.inf)[()]
