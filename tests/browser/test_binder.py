"""Binder's environment works: a fresh virtual environment built from exactly what binder/
lists (pip equivalents of its conda packages, then binder/postBuild), JupyterLab started
from it, and a lesson run with its sliders in the browser.

Binder itself builds with conda; pip installs the same names and bounds, which
tests/test_environment_files.py keeps equal to pyproject.toml's.
"""

import os
import subprocess
import sys

import pytest
import yaml
from learner import ROOT, Lab, move_slider, open_notebook, run_all, shown_errors
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

pytestmark = pytest.mark.browser
LESSON = "01_cosine_similarity.ipynb"


def binder_packages():
    """The conda packages binder/environment.yml lists, as pip requirements; python checked."""
    deps = yaml.safe_load((ROOT / "binder" / "environment.yml").read_text())["dependencies"]
    requirements = [Requirement(d) for d in deps if isinstance(d, str) and d != "pip"]
    python = next(r for r in requirements if r.name == "python")
    here = ".".join(map(str, sys.version_info[:3]))
    if here not in SpecifierSet(str(python.specifier)):
        pytest.skip(f"binder asks for python{python.specifier}, this is Python {here}")
    return [str(r) for r in requirements if r.name != "python"]


@pytest.fixture(scope="module")
def binder_lab(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("binder")
    venv = workdir / "venv"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    bin_dir = venv / "bin"
    # --no-compile: Python compiles what the server and the lesson import as they import it;
    # compiling every module of the ~150 packages up front doubled the install (40 s, 21 s).
    pip = [bin_dir / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
           "--no-compile"]
    subprocess.run([*pip, *binder_packages()], check=True)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)
    subprocess.run(["bash", ROOT / "binder" / "postBuild"], cwd=ROOT, env=env, check=True)
    server = Lab(bin_dir, workdir)
    yield server
    server.stop()


def test_binder_environment_runs_a_lesson_and_its_widget(page, binder_lab):
    open_notebook(page, binder_lab, f"lessons/{LESSON}")
    run_all(page)
    assert not shown_errors(page), f"{LESSON} on Binder's packages shows {shown_errors(page)}"
    handle = page.locator(".jp-OutputArea .widget-slider .noUi-handle").first
    assert move_slider(page, handle) > 0  # raises if the plot does not change
    assert not page.console_errors, f"browser console errors: {page.console_errors}"
