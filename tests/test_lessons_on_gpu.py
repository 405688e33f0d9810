"""Every lesson, top to bottom, on the GPU path: COURSE_DEVICE=gpu in the lesson's kernel,
and then every slider driven to the ends of its range.

Where CuPy gives a working GPU, the lessons run on it; everywhere else on the CuPy stand-in
(tests/gpu_standin goes first on the kernel's PYTHONPATH), which is stricter than NumPy, so
the sliders are driven here rather than on the CPU (the browser tests move them there).
Outputs are not compared (timings, and random numbers drawn on the device, differ); every
cell must run. nbval (make test) compares the CPU run's outputs.
"""

from pathlib import Path

import nbformat
import pytest

LESSONS = Path(__file__).resolve().parent.parent / "lessons"
NOTEBOOKS = sorted(LESSONS.glob("[0-9][0-9]*_*.ipynb"))

pytestmark = pytest.mark.gpu

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


def run_on_gpu_path(notebook, timeout=600):
    """Execute notebook (a NotebookNode) in a fresh kernel; the fixture gpu_path_kernels puts
    it on the GPU path."""
    from nbclient import NotebookClient

    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(LESSONS)}})
    return client.execute()


class LessonOnTheGPUPath:
    """The test of one lesson; a subclass per lesson follows (rather than a parametrized
    function), so that pytest-xdist's --dist loadscope can hand the lessons to different
    workers: a module's functions are one unit of work, each class is its own."""

    path = None

    def test_lesson_and_its_sliders_run_on_the_gpu_path(self, gpu_path_kernels):
        check_lesson_on_the_gpu_path(self.path)


for _path in NOTEBOOKS:
    globals()[f"Test_{_path.stem}"] = type(f"Test_{_path.stem}", (LessonOnTheGPUPath,),
                                           {"path": _path})


def check_lesson_on_the_gpu_path(path):
    """Run the lesson at path and then drive every control of its figures."""
    notebook = nbformat.read(path, as_version=4)
    uses_sliders = any("live_figure(" in c.source for c in notebook.cells)
    notebook.cells.append(nbformat.v4.new_code_cell(DRIVE_EVERY_CONTROL))
    run_on_gpu_path(notebook)
    printed = "".join(o.get("text", "") for c in notebook.cells for o in c.get("outputs", [])
                      if o.get("output_type") == "stream")
    assert "No GPU" not in printed, f"{path.name} fell back to the CPU on the GPU path"
    n_panels, moves = map(int, notebook.cells[-1].outputs[-1]["text"].split())
    assert (n_panels > 0) == uses_sliders
    if uses_sliders:
        assert moves >= 2 * n_panels


def test_a_numpy_array_mixed_into_gpu_work_fails_with_advice(gpu_path_kernels):
    """The check has teeth: one NumPy array in a lesson's GPU computation fails the run, and
    the toggle's hint tells the learner what to do."""
    from nbclient.exceptions import CellExecutionError

    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import numpy as np\nfrom course_utils import backend, widgets\n"
                                  "widgets.device_toggle()"),
        nbformat.v4.new_code_cell("x = backend.asarray(np.arange(3.0))\nx + np.ones(3)"),
    ])
    with pytest.raises(CellExecutionError, match="Unsupported type") as failure:
        run_on_gpu_path(notebook, timeout=120)
    assert failure.value.ename == "TypeError"
    advice = [o["text"] for o in notebook.cells[1].get("outputs", [])
              if o.get("output_type") == "stream" and o.get("name") == "stderr"]
    assert any("re-run the lesson after switching" in text for text in advice), advice
