"""Sliders that look and behave alike in every lesson, redrawing one figure in place."""

import io
import numbers

import ipywidgets as widgets
import matplotlib.pyplot as plt
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ._checks import check_real

_LAYOUT = {"width": "420px"}
_STYLE = {"description_width": "110px"}
_panels = []  # (update, controls) of every live_figure made in this kernel


def panels():
    """(update, controls) of every live_figure made so far in this kernel, oldest first.

    Returns
    -------
    list of (callable, dict of str to widget) pairs.
    """
    return list(_panels)


def slider(description, min, max, step, value, *, continuous_update=True):
    """A labelled slider from min to max in steps of step, starting at value.

    Parameters
    ----------
    description : str, the label shown left of the slider
    min, max : real numbers, min < max
    step : real number, 0 < step <= max - min
    value : real number in [min, max], the starting position
    continuous_update : bool; False redraws only when the slider is released

    Returns
    -------
    an IntSlider when all of min, max, step and value are ints, else a FloatSlider.
    """
    if not isinstance(description, str):
        raise TypeError(f"description must be a str, got {type(description).__name__}")
    if not isinstance(continuous_update, bool):
        raise TypeError(f"continuous_update must be True or False, got "
                        f"{type(continuous_update).__name__}")
    numbers_ = {"min": min, "max": max, "step": step, "value": value}
    low, high = (check_real(v, name) for name, v in (("min", min), ("max", max)))
    if not low < high:
        raise ValueError(f"min must be below max, got min={low:g} and max={high:g}")
    check_real(step, "step", low=0, high=high - low, low_open=True)
    check_real(value, "value", low=low, high=high)  # a slider would clamp it silently
    whole = all(isinstance(v, numbers.Integral) for v in numbers_.values())
    kind = widgets.IntSlider if whole else widgets.FloatSlider
    cast = int if whole else float
    return kind(description=description, continuous_update=continuous_update,
                layout=_LAYOUT, style=_STYLE, **{k: cast(v) for k, v in numbers_.items()})


def live_figure(fig, update, **controls):
    """Controls that redraw fig: on each change, update(**values) edits fig's artists in place
    and the figure is rendered again into an image widget, never rebuilt.

    Parameters
    ----------
    fig : matplotlib Figure
    update : callable, called as update(name=control.value, ...) with one keyword per control
    **controls : ipywidgets value widgets (sliders from slider(), dropdowns, ...), one at least

    Returns
    -------
    a VBox of the controls above the image; update runs once at the start.
    """
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    if not callable(update):
        raise TypeError(f"update must be callable, got {type(update).__name__}")
    if not controls:
        raise ValueError("live_figure needs at least one control, e.g. k=slider(...)")
    for name, control in controls.items():
        if not isinstance(control, widgets.ValueWidget):
            raise TypeError(f"{name} must be an ipywidgets control with a value (a slider, a "
                            f"dropdown, ...), got {type(control).__name__}")
    plt.close(fig)  # shown by the image below, not again by the inline backend
    if not isinstance(fig.canvas, FigureCanvasAgg):  # closing left a bare canvas: give it Agg
        FigureCanvasAgg(fig)  # once, rather than savefig making one at each redraw
    image = widgets.Image(format="png")
    crop = []  # the tight bounding box, measured once: measuring costs a second full draw

    def redraw(_=None):
        update(**{name: control.value for name, control in controls.items()})
        if not crop:
            crop.append(fig.get_tightbbox().padded(0.1))
            image.width = round(crop[0].width * fig.dpi)  # natural size, not stretched
        png = io.BytesIO()  # zlib level 1: a third of the default's time, the file ~10% larger
        fig.savefig(png, format="png", bbox_inches=crop[0], pil_kwargs={"compress_level": 1})
        image.value = png.getvalue()

    for control in controls.values():
        control.observe(redraw, names="value")
    redraw()
    _panels.append((update, controls))
    return widgets.VBox([*controls.values(), image])
