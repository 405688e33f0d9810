"""JupyterLab in headless Chromium: a server, and what a learner does in it.

The server serves a temporary copy of lessons/ (never the repository itself), with autosave
off, so nothing a test runs is written back. The Chromium flags, the kernel-ready wait and the
selectors follow what was found to work on these machines (JupyterLab 4.6, ipywidgets 8.1).
"""

import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
RESULTS = ROOT / "bench" / "results"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
USER_SETTINGS = {  # JupyterLab user settings for the test server
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},  # every cell in the DOM
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false",
                                                    "checkForUpdates": False},
}
NOTEBOOK = "#jp-main-dock-panel .jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook"
WIDGET_FAILURES = ("Error displaying widget", "Loading widget...", "model not found",
                   "Failed to load model")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A JupyterLab server started from bin_dir (a virtual environment's bin) on a copy of
    the lessons; stopped by its own process id."""

    def __init__(self, bin_dir, workdir):
        self.root = workdir / "root"
        shutil.copytree(ROOT / "lessons", self.root / "lessons",
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        shutil.copy(ROOT / "jupytext.toml", self.root)
        env = {**os.environ, **{name: str(workdir / name.lower()) for name in (
            "JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR",
            "JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR")}}
        env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
        env.pop("COURSE_DEVICE", None)
        for plugin, settings in USER_SETTINGS.items():
            path = Path(env["JUPYTERLAB_SETTINGS_DIR"]) / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(settings))
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.log = open(workdir / "jupyterlab.log", "wb")  # closed by stop()
        self.process = subprocess.Popen(
            [str(Path(bin_dir) / "jupyter-lab"), "--no-browser", f"--port={port}",
             "--ServerApp.ip=127.0.0.1", "--ServerApp.token=", "--ServerApp.password=",
             "--allow-root", f"--ServerApp.root_dir={self.root}",
             "--ServerApp.disable_check_xsrf=True",  # lets shut_down_kernels use the REST API
             "--LabApp.expose_app_in_browser=True"],  # window.jupyterapp: the notebook's state
            cwd=self.root, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/api/status", timeout=2):
                    break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"JupyterLab did not start; see {self.log.name}") from None
                time.sleep(0.5)

    def shut_down_kernels(self):
        """Stop every kernel the server runs (a learner closing their notebooks)."""
        with urllib.request.urlopen(f"{self.url}/api/kernels", timeout=10) as response:
            kernels = json.load(response)
        for kernel in kernels:
            request = urllib.request.Request(f"{self.url}/api/kernels/{kernel['id']}",
                                             method="DELETE")
            urllib.request.urlopen(request, timeout=30).close()

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


# What a learner does

def open_notebook(page, lab, path):
    """Open path (relative to the server's root) and wait until its kernel is really idle;
    an error dialog instead (a file that cannot be opened as a notebook) fails the test."""
    page.goto(f"{lab.url}/lab/tree/{path}?reset")  # reset: no notebook left open before
    for _ in range(2):  # the status flips idle, busy, idle once after connecting
        wait_for_idle_kernel(page)
        page.wait_for_timeout(500)


def wait_for_idle_kernel(page, timeout=120_000):
    page.wait_for_function(
        "() => document.querySelector('.jp-Dialog') || /\\(ipykernel\\) \\| Idle/.test("
        "document.querySelector('#jp-main-statusbar')?.textContent ?? '')", timeout=timeout)
    dialog = page.locator(".jp-Dialog")
    if dialog.count():
        raise AssertionError(f"JupyterLab shows a dialog: {dialog.first.inner_text()[:1000]}")


def run_all(page, timeout=300_000):
    """Clear the outputs, then Run > Run All Cells as a learner would, and wait until every
    code cell has run (each has an execution count again) and the kernel is idle."""
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-item[data-command='runmenu:run-all']").click()
    page.wait_for_function("""() => {
        const panel = window.jupyterapp.shell.currentWidget;
        const cells = [...panel.content.model.cells];
        return cells.every(c => c.type !== 'code' || c.executionCount !== null)
            && panel.sessionContext.session?.kernel?.status === 'idle';
    }""", timeout=timeout)


def shown_errors(page):
    """Error outputs, stderr text and widget failures visible in the open notebook."""
    notebook = page.locator(NOTEBOOK)
    texts = notebook.locator(".jp-OutputArea-output[data-mime-type="
                             "'application/vnd.jupyter.stderr']").all_inner_texts()
    body = notebook.inner_text()
    return texts + [f for f in WIDGET_FAILURES if f in body]


def dismiss_toasts(page):
    for button in page.locator(".jp-Notification-Toast-Close").all():
        button.click()


SIGNATURE_JS = """handle => {
    const panel = handle.closest('.widget-vbox');
    const img = panel && panel.querySelector('img');
    const out = panel && panel.querySelector('.widget-output');
    return img ? img.src : out ? out.innerText : null;
}"""


def move_slider(page, handle, timeout=10_000):
    """Press an arrow key on the focused slider handle (towards the free end) and return the
    seconds until the output of its panel (the plot image, or text) changes."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    before = handle.evaluate(SIGNATURE_JS)
    if before is None:
        raise AssertionError("slider has no output in its panel")
    at_max = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
    handle.focus()
    start = time.perf_counter()
    page.keyboard.press("ArrowLeft" if at_max else "ArrowRight")
    try:
        page.wait_for_function(f"([h, before]) => ({SIGNATURE_JS})(h) !== before",
                               arg=[handle.element_handle(), before], timeout=timeout)
    except PlaywrightTimeout:
        raise AssertionError(f"a slider moved but its output did not change in {timeout} ms"
                             f"{': ' + '; '.join(shown_errors(page)) if shown_errors(page) else ''}"
                             ) from None
    return time.perf_counter() - start


# Slider latencies of this process: (lesson, slider label, [seconds per key press]).
LATENCIES = []


def record_latencies(rows):
    """Add rows to LATENCIES and save them all, as JSON in bench/results/latency/ (one file per
    process: an xdist worker's under `make test`); tests/conftest.py tables every process's."""
    LATENCIES.extend(rows)
    parts = RESULTS / "latency"
    parts.mkdir(parents=True, exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    (parts / f"{worker}.json").write_text(json.dumps(LATENCIES))
