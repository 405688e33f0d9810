import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from course_utils.gpu_cost import GPUCosts

# Lesson 00's 2016-17 example, in DKK at 6.7 DKK per USD (inputs, not facts).
EXAMPLE = {"price": 12_500, "life_years": 3, "resale": 2_500, "watts": 250, "kwh_price": 2.25,
           "on_demand": 0.90 * 6.7, "spot": 0.18 * 6.7, "spot_share": 0.75}


def test_break_even_matches_a_hand_calculation():
    costs = GPUCosts(**EXAMPLE)
    rent = 0.75 * 1.206 + 0.25 * 6.03  # 2.412 DKK per hour
    fixed = (12_500 - 2_500) / 3  # 3333.33 DKK per year
    power = 0.250 * 2.25  # 0.5625 DKK per hour
    assert costs.rent_per_hour() == pytest.approx(rent, rel=1e-14)
    assert costs.fixed_per_year() == pytest.approx(fixed, rel=1e-14)
    assert costs.power_per_hour() == pytest.approx(power, rel=1e-14)
    assert costs.break_even_hours() == pytest.approx(fixed / (365 * (rent - power)), rel=1e-14)
    assert costs.break_even_hours() == pytest.approx(4.9378, abs=1e-4)
    assert costs.buy_per_year(2) == pytest.approx(fixed + 365 * 2 * power, rel=1e-14)
    assert costs.rent_per_year(2) == pytest.approx(365 * 2 * rent, rel=1e-14)
    assert costs.buy_per_hour_of_work(2) == pytest.approx(fixed / 730 + power, rel=1e-14)


@given(st.floats(100, 1e5), st.floats(0, 0.99), st.floats(0.5, 10), st.floats(1, 1000),
       st.floats(0.01, 5), st.floats(0.1, 10), st.floats(0, 1), st.floats(0.1, 10))
def test_costs_are_equal_at_the_break_even(price, resale_share, life, watts, kwh, rent,
                                           spot_share, speed):
    costs = GPUCosts(price=price, life_years=life, resale=resale_share * price, watts=watts,
                     kwh_price=kwh, on_demand=rent, spot=rent / 5, spot_share=spot_share,
                     relative_speed=speed)
    h = costs.break_even_hours()
    if np.isinf(h):
        assert costs.rent_per_hour() <= costs.power_per_hour()
    elif h <= 24:
        assert costs.buy_per_year(h) == pytest.approx(costs.rent_per_year(h), rel=1e-9)
        if h < 23:  # beyond the break-even, buying is cheaper
            assert costs.buy_per_year(h + 1) < costs.rent_per_year(h + 1)


def test_a_faster_card_needs_fewer_hours_of_power():
    slow, fast = GPUCosts(**EXAMPLE, relative_speed=0.5), GPUCosts(**EXAMPLE, relative_speed=2)
    assert slow.power_per_hour() == pytest.approx(4 * fast.power_per_hour())
    assert slow.break_even_hours() > GPUCosts(**EXAMPLE).break_even_hours()
    assert fast.break_even_hours() < GPUCosts(**EXAMPLE).break_even_hours()


def test_never_breaks_even_when_electricity_costs_more_than_renting():
    costs = GPUCosts(**{**EXAMPLE, "kwh_price": 100.0})
    assert costs.break_even_hours() == np.inf


def test_arrays_broadcast_over_a_grid():
    costs = GPUCosts(**{**EXAMPLE, "spot_share": np.array([[0.0], [0.5], [1.0]])})
    hours = np.arange(1, 25)
    assert costs.rent_per_year(hours).shape == (3, 24)
    assert costs.buy_per_year(hours).shape == (24,)  # buying does not depend on spot_share
    assert costs.break_even_hours().shape == (3, 1)
    for i, share in enumerate([0.0, 0.5, 1.0]):
        one = GPUCosts(**{**EXAMPLE, "spot_share": share})
        assert costs.break_even_hours()[i, 0] == pytest.approx(one.break_even_hours())
        np.testing.assert_allclose(costs.rent_per_year(hours)[i], one.rent_per_year(hours))


@pytest.mark.parametrize("name, value, error, message", [
    ("price", 0, ValueError, "price must be > 0, got 0"),
    ("price", -100, ValueError, "price must be > 0, got -100"),
    ("life_years", 0, ValueError, "life_years must be > 0"),
    ("watts", -1, ValueError, "watts must be > 0"),
    ("kwh_price", 0.0, ValueError, "kwh_price must be > 0"),
    ("on_demand", 0, ValueError, "on_demand must be > 0"),
    ("spot", -0.1, ValueError, "spot must be > 0"),
    ("relative_speed", 0, ValueError, "relative_speed must be > 0"),
    ("resale", -1, ValueError, "resale must be >= 0"),
    ("resale", 12_500, ValueError, "resale must be below price"),
    ("spot_share", 1.5, ValueError, "spot_share must be at most 1"),
    ("spot_share", -0.5, ValueError, "spot_share must be >= 0"),
    ("watts", np.nan, ValueError, "watts must be finite"),
    ("price", np.array([1000.0, -5.0]), ValueError, "price must be > 0"),
    ("price", "12500", TypeError, "price must be a number or an array of numbers, got str"),
    ("watts", None, TypeError, "watts must be a number .* got NoneType"),
    ("spot_share", True, TypeError, "spot_share must be a number"),
    ("price", [1, "x"], TypeError, "price must be a number or an array of numbers"),
])
def test_bad_inputs_name_the_argument(name, value, error, message):
    with pytest.raises(error, match=message):
        GPUCosts(**{**EXAMPLE, name: value})


@pytest.mark.parametrize("hours, message", [(0, "hours_per_day must be > 0"),
                                            (-2, "hours_per_day must be > 0"),
                                            (25, "hours_per_day must be at most 24")])
def test_hours_per_day_is_checked(hours, message):
    costs = GPUCosts(**EXAMPLE)
    for method in (costs.buy_per_year, costs.rent_per_year, costs.buy_per_hour_of_work):
        with pytest.raises(ValueError, match=message):
            method(hours)


@pytest.mark.gpu
def test_the_cost_model_stays_on_the_cpu_whatever_the_device():
    """Pricing a few scenarios is no GPU work: with the device on the GPU the model still gives
    NumPy results, and a GPU array for an input is refused with its name, not moved silently."""
    import cupy

    from course_utils import backend

    cpu = GPUCosts(**EXAMPLE)
    backend.use("gpu")
    hours = np.array([1.0, 2.0, 8.0])
    costs = GPUCosts(**EXAMPLE)
    assert isinstance(costs.buy_per_year(hours), np.ndarray)
    np.testing.assert_array_equal(costs.rent_per_year(hours), cpu.rent_per_year(hours))
    assert costs.break_even_hours() == cpu.break_even_hours()
    with pytest.raises(TypeError, match="spot_share must be a number or an array of numbers"):
        GPUCosts(**{**EXAMPLE, "spot_share": cupy.asarray([0.0, 0.5])})
