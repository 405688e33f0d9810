"""Every lesson as a learner uses it: opened in JupyterLab, run, its sliders moved.

Screenshots go to bench/results/screenshots/, slider latencies to bench/results/ and to the
end of the pytest report (target: median under 300 ms per widget on a 2-core machine).
"""

import re

import pytest
from learner import (
    NOTEBOOK,
    RESULTS,
    ROOT,
    dismiss_toasts,
    move_slider,
    open_notebook,
    record_latencies,
    run_all,
    shown_errors,
)

pytestmark = pytest.mark.browser
LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]*_*.ipynb"))
PRESSES = 3  # key presses per slider; the median of their latencies is reported


class LessonInTheBrowser:
    """The test of one lesson; a subclass per lesson follows (rather than a parametrized
    function), so that pytest-xdist's --dist loadscope can hand the lessons to different
    workers: a module's functions are one unit of work, each class is its own."""

    ipynb = None

    def test_lesson_runs_and_its_sliders_redraw(self, page, lab):
        check_lesson_in_the_browser(page, lab, self.ipynb)


for _ipynb in LESSONS:
    globals()[f"Test_{_ipynb.stem}"] = type(f"Test_{_ipynb.stem}", (LessonInTheBrowser,),
                                            {"ipynb": _ipynb})


def check_lesson_in_the_browser(page, lab, ipynb):
    """Open the lesson in JupyterLab, run it, move each slider PRESSES times, screenshot."""
    open_notebook(page, lab, f"lessons/{ipynb.name}")
    run_all(page)
    assert not shown_errors(page), f"{ipynb.name} shows errors: {shown_errors(page)}"
    assert not page.console_errors, f"browser console errors: {page.console_errors}"

    notebook = page.locator(NOTEBOOK)
    handles = notebook.locator(".jp-OutputArea .widget-slider .noUi-handle")
    labels = notebook.locator(".jp-OutputArea .widget-slider .widget-label").all_inner_texts()
    # the course's slider(...) helper or an ipywidgets ...Slider(...) (SelectionSlider, say)
    uses_sliders = re.search(r"slider\(", ipynb.with_suffix(".md").read_text(), re.I) is not None
    assert (handles.count() > 0) == uses_sliders, (
        f"sliders in the source: {uses_sliders}; on the page: {handles.count()}")
    rows = []
    for i in range(handles.count()):
        times = [move_slider(page, handles.nth(i)) for _ in range(PRESSES)]
        rows.append((ipynb.stem, labels[i] if i < len(labels) else f"slider {i}", times))
    record_latencies(rows)
    assert not shown_errors(page), f"moving the sliders showed errors: {shown_errors(page)}"

    dismiss_toasts(page)
    (RESULTS / "screenshots").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=RESULTS / "screenshots" / f"{ipynb.stem}.png")
    lab.shut_down_kernels()


def test_markdown_lesson_opens_as_a_notebook_through_jupytext(page, lab):
    md = next(iter(sorted((ROOT / "lessons").glob("[0-9][0-9]*_*.md"))))
    open_notebook(page, lab, f"lessons/{md.name}")  # waits for a kernel: a notebook, not text
    assert page.locator(f"{NOTEBOOK} .jp-CodeCell").count() > 0
    run_all(page)
    assert not shown_errors(page), f"{md.name} shows errors: {shown_errors(page)}"
    lab.shut_down_kernels()
