"""The slider helpers. Every lesson's sliders are driven to the ends of their ranges on the GPU
path, in tests/test_lessons_on_gpu.py, and in a real browser by tests/browser."""

import io

import ipywidgets
import matplotlib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    ax.set_ylim(0, 110)
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


@pytest.mark.parametrize("args, kwargs, error, message", [
    (("k", 10, 1, 1, 3), {}, ValueError, "min must be below max, got min=10 and max=1"),  # was a
    (("k", 1, 10, 1, 30), {}, ValueError, r"value must be in \[1, 10\], got 30"),  # TraitError,
    (("k", 1, 10, 1, -3), {}, ValueError, r"value must be in \[1, 10\], got -3"),  # or clamped
    (("k", 1, 1, 1, 1), {}, ValueError, "min must be below max"),
    (("k", 1, 10, 0, 3), {}, ValueError, r"step must be in \(0, 9\], got 0"),
    (("k", 1, 10, -1, 3), {}, ValueError, "step must be in"),
    (("k", 1, 10, 20, 3), {}, ValueError, r"step must be in \(0, 9\], got 20"),
    (("k", 0.0, 1.0, float("nan"), 0.5), {}, ValueError, "step must be finite"),
    (("k", float("inf"), 10, 1, 3), {}, ValueError, "min must be finite"),
    (("k", "1", 10, 1, 3), {}, TypeError, "min must be a real number, got str"),
    (("k", True, 10, 1, 3), {}, TypeError, "min must be a real number, got bool"),
    (("k", 1, 10, 1, None), {}, TypeError, "value must be a real number, got NoneType"),
    ((3, 1, 10, 1, 3), {}, TypeError, "description must be a str, got int"),
    (("k", 1, 10, 1, 3), {"continuous_update": "yes"}, TypeError, "continuous_update must be"),
])
def test_slider_checks_its_arguments(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        widgets.slider(*args, **kwargs)


def test_numpy_ints_make_an_int_slider():
    s = widgets.slider("k", np.int64(1), 10, 1, np.int32(3))
    assert isinstance(s, ipywidgets.IntSlider) and (s.min, s.value) == (1, 3)


@settings(max_examples=60, deadline=None)
@given(st.one_of(
    st.tuples(st.integers(-1000, 1000), st.integers(1, 1000), st.data()).map(
        lambda t: ("int", t[0], t[0] + t[1], t[2])),
    st.tuples(st.floats(-1e6, 1e6), st.floats(1e-3, 1e6), st.data()).map(
        lambda t: ("float", t[0], t[0] + t[1], t[2]))))
def test_a_valid_slider_keeps_every_argument(case):
    kind, low, high, data = case
    if kind == "int":
        step = data.draw(st.integers(1, high - low))
        value = data.draw(st.integers(low, high))
    else:
        step = data.draw(st.floats(1e-9, high - low).filter(lambda s: 0 < s <= high - low))
        value = data.draw(st.floats(low, high))
    s = widgets.slider("x", low, high, step, value)
    assert isinstance(s, ipywidgets.IntSlider if kind == "int" else ipywidgets.FloatSlider)
    assert (s.min, s.max, s.value) == (low, high, value)  # nothing clamped or rounded away


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["min", "max", "step", "value"]),
       st.one_of(st.sampled_from([float("nan"), float("inf"), None, "1", True, 1j, [1]]),
                 st.floats(-1e9, -1e-3)))
def test_a_bad_slider_argument_is_named(name, bad):
    args = {"min": 0.0, "max": 10.0, "step": 1.0, "value": 5.0}
    if name in ("min", "max") and isinstance(bad, float) and np.isfinite(bad):
        bad = 20.0 if name == "min" else bad  # below min for max, above max for min
    args[name] = bad
    with pytest.raises((ValueError, TypeError), match=rf"\b({name}|min must be below max)\b"):
        widgets.slider("x", **args)


def test_live_figure_checks_its_arguments():
    import matplotlib.pyplot as plt

    fig = plt.figure()
    k = widgets.slider("k", 1, 3, 1, 2)
    for args, kwargs, error, message in [
            ((None, lambda k: None), {"k": k}, TypeError, "fig must be a matplotlib Figure"),
            ((fig, lambda k: None), {"k": 3}, TypeError, "k must be an ipywidgets control"),
            ((fig, lambda: None), {}, ValueError, "at least one control"),
            ((fig, "draw"), {"k": k}, TypeError, "update must be callable, got str")]:
        with pytest.raises(error, match=message):
            widgets.live_figure(*args, **kwargs)


def _decode(box):
    from PIL import Image

    return Image.open(io.BytesIO(bytes(box.children[-1].value)))


def test_live_figure_shows_the_figure_cropped_at_its_natural_size():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 3))
    (line,) = ax.plot([0, 1], [0, 1])
    box = widgets.live_figure(fig, lambda h: line.set_ydata([0, h]), h=widgets.slider(
        "h", 0, 5, 1, 1))
    image = _decode(box)
    assert image.width < 400 and image.height < 300  # cropped to what is drawn
    assert int(box.children[-1].width) == pytest.approx(image.width, abs=1)


def test_live_figure_keeps_an_artist_outside_the_figure():
    """A legend placed right of the figure is inside the crop: the image is wider."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 3))
    (line,) = ax.plot([0, 1], [0, 1], label="a line with a long label")
    ax.legend(loc="center left", bbox_to_anchor=(1.5, 0.5))
    box = widgets.live_figure(fig, lambda h: line.set_ydata([0, h]), h=widgets.slider(
        "h", 0, 5, 1, 1))
    assert _decode(box).width > 300  # wider than the 3-inch (300 px) figure: legend included


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 50), st.integers(1, 50), st.data())
def test_live_figure_calls_update_with_every_value_and_registers_its_panel(low, width, data):
    import matplotlib.pyplot as plt

    value = data.draw(st.integers(low, low + width))
    seen = []
    fig, ax = plt.subplots(figsize=(2, 2))
    (line,) = ax.plot([0, 1], [0, 0])
    ax.set_ylim(0, 110)

    def update(k, shift):
        seen.append((k, shift))
        line.set_ydata([k, k + shift])

    before = len(widgets.panels())
    k, shift = widgets.slider("k", low, low + width, 1, value), widgets.slider("s", 0., 1., .1, .5)
    box = widgets.live_figure(fig, update, k=k, shift=shift)
    image = box.children[-1]
    assert seen == [(value, 0.5)] and image.value[:4] == b"\x89PNG"
    assert len(widgets.panels()) == before + 1 and widgets.panels()[-1][0] is update
    first = image.value
    k.value = low + width if value != low + width else low
    assert seen[-1] == (k.value, 0.5) and image.value != first  # redrawn with the new value
    plt.close(fig)
