"""The slider helpers, and every lesson's sliders driven to the ends of their ranges."""

from pathlib import Path

import ipywidgets
import matplotlib
import nbformat
import pytest
from nbclient import NotebookClient

from course_utils import widgets

matplotlib.use("Agg")
LESSONS = sorted((Path(__file__).resolve().parent.parent / "lessons").glob("[0-9][0-9]_*.ipynb"))

# Appended to a lesson after its last cell: move each control of each live_figure to the
# ends of its range (every option of a dropdown, both states of a checkbox), then back.
DRIVE_EVERY_CONTROL = """
from course_utils.widgets import panels


def extremes(control):
    if hasattr(control, "min") and hasattr(control, "max"):
        return [control.min, control.max]
    if hasattr(control, "options"):
        return [o[1] if isinstance(o, tuple) else o for o in control.options]
    if isinstance(control.value, bool):
        return [not control.value]
    raise TypeError(f"cannot drive a {type(control).__name__}")


moves = 0
for update, controls in panels():
    for control in controls.values():
        start = control.value
        for value in extremes(control):
            control.value = value  # the figure's update runs here; an error stops the cell
            moves += 1
        control.value = start
print(len(panels()), moves)
"""


def test_slider_picks_int_or_float():
    assert isinstance(widgets.slider("k", 1, 10, 1, 3), ipywidgets.IntSlider)
    s = widgets.slider("rate", 0.0, 1.0, 0.1, 0.5, continuous_update=False)
    assert isinstance(s, ipywidgets.FloatSlider) and not s.continuous_update


def test_live_figure_updates_in_place():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    (line,) = ax.plot([0, 1], [0, 0])
    seen = []

    def update(height):
        seen.append(height)
        line.set_ydata([0, height])

    height = widgets.slider("height", 0, 10, 1, 2)
    box = widgets.live_figure(fig, update, height=height)
    slider, image = box.children
    first = bytes(image.value)
    assert seen == [2] and slider is height and first[:4] == b"\x89PNG"
    height.value = 7
    assert seen == [2, 7] and list(line.get_ydata()) == [0, 7]
    assert bytes(image.value)[:4] == b"\x89PNG" and bytes(image.value) != first
    assert widgets.panels()[-1] == (update, {"height": height})
    with pytest.raises(TypeError, match="update must be callable"):
        widgets.live_figure(fig, None, height=height)


@pytest.mark.parametrize("ipynb", LESSONS, ids=lambda p: p.stem)
def test_every_slider_of_the_lesson_at_its_extremes(ipynb):
    notebook = nbformat.read(ipynb, as_version=4)
    uses_sliders = any("live_figure(" in c.source for c in notebook.cells)
    notebook.cells.append(nbformat.v4.new_code_cell(DRIVE_EVERY_CONTROL))
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(ipynb.parent)}}).execute()
    n_panels, moves = map(int, notebook.cells[-1].outputs[-1]["text"].split())
    assert (n_panels > 0) == uses_sliders
    if uses_sliders:
        assert moves >= 2 * n_panels
