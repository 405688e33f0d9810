"""The texts' reading: normalise and the word patterns tokenize is made of."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from course_utils import datasets


@given(st.text(max_size=60))
def test_property_normalise_is_lower_case_with_plain_apostrophes(text):
    out = datasets.normalise(text)
    assert len(out) == len(text.lower())  # one character for one (lower() may expand some)
    assert out == out.lower()
    assert datasets.normalise(out) == out
    assert "\u2019" not in out and "\u02bc" not in out


@given(st.text(alphabet="ab’ʼ'\n .,1", max_size=40))
def test_property_tokenize_is_the_words_of_the_normalised_lines(text):
    lines = datasets.tokenize(text)
    expected = [datasets.WORD.findall(line) for line in datasets.normalise(text).split("\n")]
    assert lines == [words for words in expected if words]
    tokens = datasets.WORD_OR_LINE_END.findall(datasets.normalise(text))
    assert [t for t in tokens if t != "\n"] == [w for line in lines for w in line]


def test_normalise_names_its_argument():
    with pytest.raises(TypeError, match="text must be a str"):
        datasets.normalise(3)
