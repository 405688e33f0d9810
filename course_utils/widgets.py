"""Sliders that look and behave alike in every lesson, redrawing one figure in place."""

import ipywidgets as widgets
import matplotlib.pyplot as plt
from IPython.display import display

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
    and the figure is shown again. Cheaper than building a new figure on every slider step.

    Returns a VBox of the controls above the figure; update runs once at the start.
    """
    if not callable(update):
        raise TypeError(f"update must be callable, got {type(update).__name__}")
    plt.close(fig)  # shown by the Output below, not again by the inline backend
    out = widgets.Output()

    def redraw(_=None):
        update(**{name: control.value for name, control in controls.items()})
        with out:
            out.clear_output(wait=True)
            display(fig)

    for control in controls.values():
        control.observe(redraw, names="value")
    redraw()
    _panels.append((update, controls))
    return widgets.VBox([*controls.values(), out])
