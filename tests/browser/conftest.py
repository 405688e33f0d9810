"""Fixtures of the browser suite: Chromium, a JupyterLab server, a page; the latency report."""

import sys
from pathlib import Path

import pytest
from learner import CHROMIUM, CHROMIUM_ARGS, Lab


def pytest_report_header(config):
    if not CHROMIUM.exists():
        return f"browser tests: skipped, {CHROMIUM} not found (apt-get install chromium)"
    return None


def pytest_collection_modifyitems(config, items):
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} not found (apt-get install chromium)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def chromium():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """JupyterLab from the environment running the tests (the project's .venv)."""
    server = Lab(Path(sys.executable).parent, tmp_path_factory.mktemp("lab"))
    yield server
    server.stop()


@pytest.fixture
def page(chromium):
    """A fresh browser page; console errors are collected in page.console_errors."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    yield page
    context.close()
