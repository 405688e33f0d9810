"""Sliders that look and behave alike in every lesson, redrawing one figure in place."""

import io

import ipywidgets as widgets
import matplotlib.pyplot as plt

_LAYOUT = {"width": "420px"}
_STYLE = {"description_width": "110px"}
_panels = []  # (update, controls) of every live_figure made in this kernel


def panels():
    """(update, controls) of every live_figure made so far in this kernel, oldest first."""
    return list(_panels)


def slider(description, min, max, step, value, *, continuous_update=True):
    """A FloatSlider (an IntSlider when all of min, max, step and value are ints)."""
    numbers = (min, max, step, value)
    kind = widgets.IntSlider if all(isinstance(v, int) for v in numbers) else widgets.FloatSlider
    return kind(description=description, min=min, max=max, step=step, value=value,
                continuous_update=continuous_update, layout=_LAYOUT, style=_STYLE)


def live_figure(fig, update, **controls):
    """Controls that redraw fig: on each change, update(**values) edits fig's artists in place
    and the figure is rendered again into an image widget, never rebuilt.

    Returns a VBox of the controls above the image; update runs once at the start.
    """
    if not callable(update):
        raise TypeError(f"update must be callable, got {type(update).__name__}")
    plt.close(fig)  # shown by the image below, not again by the inline backend
    image = widgets.Image(format="png")
    crop = []  # the tight bounding box, measured once: measuring costs a second full draw

    def redraw(_=None):
        update(**{name: control.value for name, control in controls.items()})
        if not crop:
            crop.append(fig.get_tightbbox().padded(0.1))
            image.width = round(crop[0].width * fig.dpi)  # natural size, not stretched
        png = io.BytesIO()
        fig.savefig(png, format="png", bbox_inches=crop[0])
        image.value = png.getvalue()

    for control in controls.values():
        control.observe(redraw, names="value")
    redraw()
    _panels.append((update, controls))
    return widgets.VBox([*controls.values(), image])
