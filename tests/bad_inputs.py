"""One property test over a table of bad inputs, shared by the modules' test files."""

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
