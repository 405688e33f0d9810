import numpy as np
import pytest
from hypothesis import given, settings
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
    ("price", 0, ValueError, r"price must be in \(0, inf\), got 0"),
    ("price", -100, ValueError, r"price must be in \(0, inf\), got -100"),
    ("life_years", 0, ValueError, r"life_years must be in \(0, inf\)"),
    ("watts", -1, ValueError, r"watts must be in \(0, inf\)"),
    ("kwh_price", 0.0, ValueError, r"kwh_price must be in \(0, inf\)"),
    ("on_demand", 0, ValueError, r"on_demand must be in \(0, inf\)"),
    ("spot", -0.1, ValueError, r"spot must be in \(0, inf\)"),
    ("relative_speed", 0, ValueError, r"relative_speed must be in \(0, inf\)"),
    ("resale", -1, ValueError, r"resale must be in \[0, inf\)"),
    ("resale", 12_500, ValueError, "resale must be below price"),
    ("spot_share", 1.5, ValueError, r"spot_share must be in \[0, 1\], got 1.5"),
    ("spot_share", -0.5, ValueError, r"spot_share must be in \[0, 1\]"),
    ("watts", np.nan, ValueError, "watts must be finite"),
    ("price", np.array([1000.0, -5.0]), ValueError, r"price must be in \(0, inf\), got -5"),
    ("spot_share", np.array([0.1, np.nan]), ValueError, "spot_share must be finite"),
    ("price", "12500", TypeError, "price must be a real number, got str"),
    ("watts", None, TypeError, "watts must be a real number, got NoneType"),
    ("spot_share", True, TypeError, "spot_share must be a real number, got bool"),
    ("price", [1, "x"], TypeError, "price must be a real number or an array of real numbers"),
    ("price", np.array([True]), TypeError, "price must be a real number or an array of real"),
    ("price", [], ValueError, "price is empty"),  # was accepted, giving empty results
    ("price", 1j, TypeError, "price must be a real number, got complex"),
])
def test_bad_inputs_name_the_argument(name, value, error, message):
    with pytest.raises(error, match=message):
        GPUCosts(**{**EXAMPLE, name: value})


@pytest.mark.parametrize("hours, error, message", [
    (0, ValueError, r"hours_per_day must be in \(0, 24\], got 0"),
    (-2, ValueError, r"hours_per_day must be in \(0, 24\]"),
    (25, ValueError, r"hours_per_day must be in \(0, 24\], got 25"),
    (np.array([1, 25]), ValueError, "hours_per_day must be in .*, got 25"),
    (np.nan, ValueError, "hours_per_day must be finite"),
    ("2", TypeError, "hours_per_day must be a real number, got str"),
    (None, TypeError, "hours_per_day must be a real number"),
    ([], ValueError, "hours_per_day is empty"),
])
def test_hours_per_day_is_checked(hours, error, message):
    costs = GPUCosts(**EXAMPLE)
    for method in (costs.buy_per_year, costs.rent_per_year, costs.buy_per_hour_of_work):
        with pytest.raises(error, match=message):
            method(hours)


def test_extreme_inputs_raise_instead_of_returning_inf():
    """Finite but extreme inputs gave inf: now a ValueError that says what overflowed."""
    with pytest.raises(ValueError, match="buy_per_hour_of_work .* overflows"):
        GPUCosts(**EXAMPLE).buy_per_hour_of_work(5e-324)
    with pytest.raises(ValueError, match="power_per_hour .* overflows"):
        GPUCosts(**{**EXAMPLE, "watts": 1e308, "relative_speed": 1e-300})
    with pytest.raises(ValueError, match="fixed_per_year .* overflows"):
        GPUCosts(**{**EXAMPLE, "price": 1e308, "resale": 0, "life_years": 1e-10})
    with pytest.raises(ValueError, match="buy_per_year overflows"):
        GPUCosts(**{**EXAMPLE, "watts": 1e308, "kwh_price": 1.0}).buy_per_year(24)
    with pytest.raises(ValueError, match="rent_per_year overflows"):
        GPUCosts(**{**EXAMPLE, "on_demand": 1e308, "spot": 1e308}).rent_per_year(24)


def test_numpy_scalars_and_zero_d_arrays_are_numbers():
    one = GPUCosts(**{**EXAMPLE, "price": np.float32(12_500), "watts": np.array(250)})
    assert isinstance(one.price, float) and isinstance(one.watts, float)
    assert one.break_even_hours() == pytest.approx(GPUCosts(**EXAMPLE).break_even_hours())


# Property tests: every method, on finite input, and on bad input.

POSITIVE = st.floats(1e-3, 1e6)


@st.composite
def cost_models(draw):
    price = draw(st.floats(10, 1e6))
    return GPUCosts(price=price, life_years=draw(POSITIVE), resale=draw(st.floats(0, 0.99)) * price,
                    watts=draw(POSITIVE), kwh_price=draw(POSITIVE), on_demand=draw(POSITIVE),
                    spot=draw(POSITIVE), spot_share=draw(st.floats(0, 1)),
                    relative_speed=draw(st.floats(0.01, 100)))


@settings(max_examples=60, deadline=None)
@given(cost_models(), st.floats(1e-3, 24), st.floats(1e-3, 24))
def test_costs_are_finite_non_negative_and_grow_with_the_hours(costs, h1, h2):
    low, high = sorted((h1, h2))
    for per_hour in (costs.rent_per_hour(), costs.power_per_hour(), costs.fixed_per_year()):
        assert np.isfinite(per_hour) and per_hour > 0
    for method in (costs.buy_per_year, costs.rent_per_year):
        assert np.isfinite(method(low)) and 0 <= method(low) <= method(high)
    assert costs.buy_per_hour_of_work(high) <= costs.buy_per_hour_of_work(low)  # F spread out
    h = costs.break_even_hours()
    assert h > 0 and (np.isinf(h) or np.isfinite(costs.fixed_per_year() / h))
    assert min(costs.spot, costs.on_demand) <= costs.rent_per_hour() * (1 + 1e-12)
    assert costs.rent_per_hour() <= max(costs.spot, costs.on_demand) * (1 + 1e-12)


FIELDS = ["price", "life_years", "resale", "watts", "kwh_price", "on_demand", "spot",
          "spot_share", "relative_speed"]
BAD = st.one_of(st.sampled_from([np.nan, np.inf, -np.inf, -1.0, None, "1", True, 1j, [],
                                 [1.0, np.nan], [[-2.0]]]),
                st.floats(max_value=-1e-9))


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(FIELDS), BAD)
def test_a_bad_field_is_named(name, value):
    with pytest.raises((ValueError, TypeError), match=name):
        GPUCosts(**{**EXAMPLE, name: value})


@settings(max_examples=30, deadline=None)
@given(st.one_of(BAD, st.floats(24.001, 1e300), st.just(0.0)))
def test_bad_hours_are_named(hours):
    costs = GPUCosts(**EXAMPLE)
    for method in (costs.buy_per_year, costs.rent_per_year, costs.buy_per_hour_of_work):
        with pytest.raises((ValueError, TypeError), match="hours_per_day"):
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
    with pytest.raises(TypeError, match="spot_share must be a real number or a NumPy array"):
        GPUCosts(**{**EXAMPLE, "spot_share": cupy.asarray([0.0, 0.5])})
