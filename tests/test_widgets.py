"""The slider helpers. Every lesson's sliders are driven to the ends of their ranges on the GPU
path, in tests/test_lessons_on_gpu.py, and in a real browser by tests/browser."""

import ipywidgets
import matplotlib
import pytest

from course_utils import widgets

matplotlib.use("Agg")


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
