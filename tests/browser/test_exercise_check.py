"""A learner types a wrong answer into an "Implement it yourself" exercise in JupyterLab, runs
it and the check below it, and sees the smallest failing case and the hint."""

import re

import pytest
from learner import NOTEBOOK, open_notebook, run_all

pytestmark = pytest.mark.browser

# The usual first try: rows divided by their norms, with no guard for a row of zeros. One line,
# inserted as text (the editor's auto-indent and bracket closing would rewrite typed keys).
WRONG = ("def my_cosine_similarity(X): return (X / (n := backend.get_array_module(X)"
         ".linalg.norm(X, axis=1, keepdims=True))) @ (X / n).T")


class TestAWrongAnswerIsCaught:
    def test_typing_a_wrong_answer_shows_the_failing_case_and_its_hint(self, page, lab):
        open_notebook(page, lab, "lessons/01_cosine_similarity.ipynb")
        run_all(page)
        notebook = page.locator(NOTEBOOK)
        starter = notebook.locator(".jp-CodeCell", has_text="raise NotImplementedError")
        assert starter.count() == 1
        check_cell = notebook.locator(".jp-CodeCell",
                                      has_text="verdict = check.cosine_similarity(my_")
        assert "is not written yet" in check_cell.locator(".jp-OutputArea").inner_text()

        starter.locator(".cm-content").click()
        page.keyboard.press("Control+a")
        page.keyboard.insert_text(WRONG)
        page.keyboard.press("Shift+Enter")  # runs it; the hidden solution's cell is next
        check_cell.locator(".cm-content").click()
        page.keyboard.press("Shift+Enter")
        output = check_cell.locator(".jp-OutputArea")
        output.filter(has_text=re.compile("fails")).wait_for(timeout=30_000)
        text = output.inner_text()
        assert "✗ case 3 of 6 fails: 3 rows, the second all zeros" in text, text
        assert "got nan" in text and "hint: rows of zeros" in text and "guard the division" in text
        lab.shut_down_kernels()
