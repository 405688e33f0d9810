"""The course as a book (book/build.py, `make book`): it builds without a warning, and every
page opens in headless Chromium with no console error and no request leaving the book, its
maths typeset by MathJax, its saved widgets drawn, its exercises in the page's table of
contents. One screenshot per page goes to bench/results/book/.

The build and the pure functions of book/build.py are tested without a browser; the pages
with one (skipped cleanly without /usr/bin/chromium, like the rest of tests/browser).
"""

import functools
import http.server
import importlib.util
import json
import re
import subprocess
import sys
import threading

import pytest
import yaml
from learner import ROOT

SCREENSHOTS = ROOT / "bench" / "results" / "book"


def load_build():
    spec = importlib.util.spec_from_file_location("book_build", ROOT / "book" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = load_build()


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    """The book built as `make book` builds it, into a temporary _build folder: (html folder,
    what the build printed)."""
    out = tmp_path_factory.mktemp("book") / "_build"
    done = subprocess.run([sys.executable, ROOT / "book" / "build.py", "--out", out],
                          capture_output=True, text=True)
    assert done.returncode == 0, f"the book's build failed:\n{done.stdout[-3000:]}{done.stderr}"
    return out / "html", done.stdout + done.stderr


def pages():
    """The book's pages: the home page, then each lesson."""
    return ["index"] + [path.stem for path in build.lesson_notebooks()]


def test_the_book_builds_without_a_warning(book):
    html, printed = book
    # --warningiserror: a warning (a broken cross-reference among them) fails the build above;
    # here, nothing that looks like one slipped through as text.
    assert not re.search(r"WARNING|ERROR", printed), printed[-3000:]
    for name in pages():
        assert (html / f"{name}.html").exists(), f"{name} is missing from the book"
    assert (html / "search.html").exists() and (html / "searchindex.js").exists()


def test_without_a_repository_address_there_are_no_launch_buttons(book):
    html, printed = book
    if build.repository_url() is not None:
        pytest.skip("the repository address is set in pyproject.toml")
    assert "No repository address" in printed
    for name in pages():
        text = (html / f"{name}.html").read_text()
        assert "mybinder.org" not in text and "executablebooks" not in text, name


def test_the_home_page_is_the_readme_with_links_to_the_pages():
    page = build.home_page((ROOT / "README.md").read_text())
    assert page.startswith("# ") and "## Lessons" in page
    assert "](lessons/" not in page  # every lesson link points at its page
    for stem in pages()[1:]:
        assert f"]({stem}.ipynb)" in page, f"the home page does not link {stem}"


def test_a_repository_address_gives_binder_and_thebe_launch_buttons():
    repository = "https://github.com/example-org/ml-course"
    config = build.config("Title", repository)
    assert config["launch_buttons"]["binderhub_url"] == "https://mybinder.org"
    assert config["launch_buttons"]["thebe"] is True
    assert config["repository"] == {"url": repository, "branch": "main",
                                    "path_to_book": "lessons"}
    assert build.binder_url(repository) == (
        "https://mybinder.org/v2/gh/example-org/ml-course/HEAD?urlpath=lab/tree/lessons")
    unset = build.config("Title", None)
    assert unset["launch_buttons"]["binderhub_url"] == ""
    assert unset["launch_buttons"]["thebe"] is False
    with pytest.raises(ValueError, match="Repository"):
        build.binder_url("https://gitlab.com/example-org/ml-course")


def test_with_a_repository_address_lesson_pages_launch_on_binder_and_thebe(tmp_path):
    """A build with the address set (of the home page and one lesson, to keep it short)."""
    repository = "https://github.com/example-org/ml-course"
    lesson = build.lesson_notebooks()[1]
    html = build.build(tmp_path / "_build", repository=repository, lessons=[lesson])
    text = (html / f"{lesson.stem}.html").read_text()
    assert ("https://mybinder.org/v2/gh/example-org/ml-course/main?urlpath=lab/tree/lessons/"
            f"{lesson.name}") in text
    assert "btn-launch-thebe" in text  # Live Code: Thebe on Binder
    assert f'href="{repository}"' in text  # the repository button


def test_the_readme_badge_follows_the_repository_setting():
    readme = (ROOT / "README.md").read_text().splitlines()
    at = readme.index(build.BADGE_MARKER)
    repository = build.repository_url()
    if repository is None:
        assert not readme[at + 1].startswith("[![Binder]"), "a badge without an address"
        assert "OWNER/REPO" not in "\n".join(readme)
    else:
        assert readme[at + 1] == build.badge(repository)


@pytest.fixture(scope="module")
def served(book):
    """The built book served over HTTP on localhost (as a static host serves it)."""
    html, _ = book
    handler = functools.partial(QuietHandler, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", html
    server.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def saved_widget_views(stem):
    """How many widget views the stored notebook shows (0 for the home page)."""
    path = ROOT / "lessons" / f"{stem}.ipynb"
    if not path.exists():
        return 0
    cells = json.loads(path.read_text())["cells"]
    return sum("application/vnd.jupyter.widget-view+json" in output.get("data", {})
               for cell in cells for output in cell.get("outputs", []))


# How many of the page's saved widget views the widget manager has drawn beside their data.
DRAWN_VIEWS = """[...document.querySelectorAll(
    'script[type="application/vnd.jupyter.widget-view+json"]')]
    .filter(s => s.parentElement.querySelector('.jupyter-widgets')).length"""


@pytest.mark.browser
@pytest.mark.parametrize("name", pages())
def test_every_page_opens_typeset_and_drawn(page, served, name):
    base, html = served
    outside = []
    page.on("request", lambda r: r.url.startswith(base) or r.url.startswith(("data:", "blob:"))
            or outside.append(r.url))
    page.goto(f"{base}/{name}.html", wait_until="load")
    source = (html / f"{name}.html").read_text()
    if 'class="math' in source:  # maths on the page: MathJax must have typeset it
        page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.document"
                               " && document.querySelectorAll('mjx-container').length > 0",
                               timeout=30_000)
        page.evaluate("MathJax.startup.promise")
        text = page.inner_text("article")
        assert "$$" not in text and "\\frac" not in text, f"{name}: raw TeX left on the page"
    views = saved_widget_views(name)
    if views:  # each saved widget view drawn by the widget manager (sliders, figures)
        page.wait_for_function(DRAWN_VIEWS + f" === {views}", timeout=30_000)
    if name != "index":
        toc = page.inner_text(".bd-sidebar-secondary")
        for n in range(1, 4):
            assert f"Exercise {n}" in toc, f"{name}: Exercise {n} is not in the page's contents"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png")
    assert not outside, f"{name} asked for what the book does not hold: {outside[:5]}"
    assert not page.console_errors, f"{name}: browser console errors: {page.console_errors}"


def test_the_publishing_workflow_builds_with_make_book():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    assert any("make book" in step.get("run", "") for step in steps)
    assert any("deploy-pages" in step.get("uses", "") for step in steps)
    assert workflow[True]["push"]["branches"] == ["main"]  # YAML reads the key `on` as True
