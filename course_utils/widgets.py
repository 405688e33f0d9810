"""Sliders that look and behave alike in every lesson, redrawing one figure in place; and the
CPU/GPU toggle at the top of each lesson."""

import io
import numbers
import sys

import ipywidgets as widgets
import matplotlib.pyplot as plt
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ._checks import Bool, Custom, Function, Instance, Text, check_real, checked, from_outside
from .backend import RERUN, GPUUnavailableError, device, gpu_available, use

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


def _number(check=check_real):
    """A check that a slider's number is real (and within what check asks), keeping the number
    itself: ints make an IntSlider."""
    def keep(value, name, values, xp):
        check(value, name, values)
        return value

    return Custom(keep, values=True)


def _above_min(value, name, values):
    high, low = check_real(value, name), check_real(values["min"], "min")
    if not low < high:
        raise ValueError(f"min must be below max, got min={low:g} and max={high:g}")


def _step_within(value, name, values):
    check_real(value, name, low=0, high=values["max"] - values["min"], low_open=True)


def _value_within(value, name, values):  # a slider would clamp it silently
    check_real(value, name, low=values["min"], high=values["max"])


@checked(description=Text(), min=_number(lambda value, name, values: check_real(value, name)),
         max=_number(_above_min), step=_number(_step_within), value=_number(_value_within),
         continuous_update=Bool())
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
    numbers_ = {"min": min, "max": max, "step": step, "value": value}
    whole = all(isinstance(v, numbers.Integral) for v in numbers_.values())
    kind = widgets.IntSlider if whole else widgets.FloatSlider
    cast = int if whole else float
    return kind(description=description, continuous_update=continuous_update,
                layout=_LAYOUT, style=_STYLE, **{k: cast(v) for k, v in numbers_.items()})


def _check_controls(controls, name):
    if not controls:
        raise ValueError("live_figure needs at least one control, e.g. k=slider(...)")
    for control_name, control in controls.items():
        if not isinstance(control, widgets.ValueWidget):
            raise TypeError(f"{control_name} must be an ipywidgets control with a value (a "
                            f"slider, a dropdown, ...), got {type(control).__name__}")
    return controls


@checked(fig=Instance(Figure, what="a matplotlib Figure"), update=Function(),
         controls=Custom(_check_controls))
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
    learners_update = from_outside(update)  # its calls check their arguments, as a learner's
    plt.close(fig)  # shown by the image below, not again by the inline backend
    if not isinstance(fig.canvas, FigureCanvasAgg):  # closing left a bare canvas: give it Agg
        FigureCanvasAgg(fig)  # once, rather than savefig making one at each redraw
    image = widgets.Image(format="png")
    crop = []  # the tight bounding box, measured once: measuring costs a second full draw

    def redraw(_=None):
        learners_update(**{name: control.value for name, control in controls.items()})
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


def device_toggle():
    """A CPU/GPU toggle widget that calls ``use``; choosing a GPU that is absent says why.

    After a switch it says to run the lesson again: arrays made before stay where they were.
    In IPython it also registers ``explain_mixed_devices``, so that CuPy's own error for a
    NumPy array mixed into a GPU computation ends with the same advice.

    Returns
    -------
    ipywidgets.VBox
        The toggle buttons above a line that says which device is in use, or why no GPU.
    """
    status = gpu_available()
    toggle = widgets.ToggleButtons(options=[("CPU (NumPy)", "cpu"), ("GPU (CuPy)", "gpu")],
                                   value=device(), description="Device:")
    label = widgets.Label()

    def show(_=None):
        label.value = f"GPU: {status.reason}" if status else f"No GPU: {status.reason}"

    def on_change(change):
        try:
            use(change["new"])
        except GPUUnavailableError as err:
            toggle.value = change["old"]
            label.value = str(err)
            return
        where = "the GPU (CuPy)" if change["new"] == "gpu" else "the CPU (NumPy)"
        label.value = (f"Now on {where}. Run the whole lesson again (Run > Run All Cells): "
                       f"arrays made before the switch stay where they were.")

    toggle.observe(on_change, names="value")
    show()
    _register_mixed_device_hint()
    return widgets.VBox([toggle, label])


MIXED_DEVICE_ERRORS = ("Unsupported type <class 'numpy.ndarray'>",  # CuPy, NumPy operand
                       "Implicit conversion to a NumPy array is not allowed")  # NumPy, CuPy one


def explain_mixed_devices(error):
    """The advice to re-run the lesson when error is CuPy's TypeError for mixed devices, else
    None."""
    if isinstance(error, TypeError) and any(m in str(error) for m in MIXED_DEVICE_ERRORS):
        return "NumPy (CPU) and CuPy (GPU) arrays met in one operation. " + RERUN
    return None


def _register_mixed_device_hint():
    """In IPython, print explain_mixed_devices' advice under such a traceback."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return

    def handler(shell, etype, value, tb, tb_offset=None):
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
        advice = explain_mixed_devices(value)
        if advice:
            print(advice, file=sys.stderr)

    shell.set_custom_exc((TypeError,), handler)
