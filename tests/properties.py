"""What the modules' property tests share: data sets to draw, and one test over a table of
bad inputs."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st


def names_the_argument(calls, *, also_accept=None, max_examples=150):
    """A hypothesis test: for any entry of calls, {argument name: (call, [bad values])}, the
    call with any of its bad values raises ValueError or TypeError whose message names the
    argument (padded names, "X  ", tell apart several calls on one argument). also_accept
    (name, message) -> bool allows another wording where one is right."""
    @settings(max_examples=max_examples, deadline=None)
    @given(st.sampled_from(sorted(calls)).flatmap(
        lambda name: st.tuples(st.just(name), st.sampled_from(calls[name][1]))))
    def test(case):
        name, value = case
        call, _ = calls[name]
        with pytest.raises((ValueError, TypeError)) as error:
            call(value)
        message = str(error.value)
        assert name.strip() in message or (also_accept is not None
                                           and also_accept(name.strip(), message)), message
    return test


@st.composite
def point_sets(draw, min_n=2, max_n=12, max_d=3, spread=100):
    """A data set X (n, d), its entries in [-spread, spread] on a grid of 1/64, shifted by one
    of 0, 1e3, -1e6 and 1e9: on a grid, the shifted values are exact, so a result on X and on
    X without its shift can be compared exactly; a function that does not centre its data
    fails on the large shifts."""
    n = draw(st.integers(min_n, max_n))
    d = draw(st.integers(1, max_d))
    values = draw(st.lists(st.floats(-spread, spread, allow_nan=False, width=32),
                           min_size=n * d, max_size=n * d))
    X = np.round(np.array(values, dtype=np.float64).reshape(n, d) * 64) / 64
    return X + draw(st.sampled_from([0.0, 1e3, -1e6, 1e9]))
