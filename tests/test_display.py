"""show_source: the source of what a lesson shows, or a clear error saying why there is none."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils import show_source, similarity
from course_utils.gpu_cost import GPUCosts
from course_utils.similarity import cosine_similarity


@pytest.mark.parametrize("obj, first_line", [
    (cosine_similarity, "@checked(**_PAIR)\ndef cosine_similarity(a, b=None):"),  # its checks too
    (GPUCosts, "@dataclass(frozen=True)"),
    (GPUCosts.break_even_hours, "    def break_even_hours(self):"),
    (similarity, '"""Cosine similarity'),
])
def test_shows_the_source_of_functions_classes_methods_and_modules(obj, first_line):
    text = show_source(obj).data
    assert text.startswith("```python\n" + first_line) and text.endswith("```")


def test_a_class_compiled_in_c_is_a_clear_error():
    """show_source(np.ndarray) was an OSError ("could not find class definition")."""
    with pytest.raises(ValueError, match=r"the source of obj \(ndarray\) is not available: it "
                                         r"is compiled"):
        show_source(np.ndarray)


@pytest.mark.parametrize("obj", [len, print, np.add, np.float64(1.0)])
def test_builtins_have_no_source(obj):
    with pytest.raises(TypeError, match="obj must be a function, class or module written in "
                                        "Python"):
        show_source(obj)


@settings(max_examples=30, deadline=None)
@given(st.one_of(st.integers(), st.floats(), st.text(max_size=3), st.none(), st.booleans(),
                 st.lists(st.integers(), max_size=2)))
def test_anything_else_is_a_type_error_naming_obj(obj):
    with pytest.raises(TypeError, match=r"obj must be a function, class or module"):
        show_source(obj)
