"""Build the course as an HTML book: `make book` writes book/_build/html.

The pages are the executed lessons (lessons/NN_*.ipynb) as they are stored, outputs and saved
widget states included: nothing is re-executed. The home page is the README's course
description and lesson table. Jupyter Book 1.x (Sphinx) builds it from a staging folder,
book/_build/source, that holds only what the book shows: the .ipynb of each lesson (not its
.md twin, which Jupyter Book would read as a second, unexecuted notebook), the home page and
the configuration written below.

The book needs nothing from the network when it is read: MathJax, RequireJS and the widget
manager that draws the saved widgets are taken from their npm packages once (pinned, checked
against the registry's sha512) into book/_assets and served from the book's own _static.

The repository's address is one setting, `Repository` under `[project.urls]` in
pyproject.toml. With it, the lesson pages get launch buttons (Binder, on JupyterLab, and live
code on the page through Thebe) and `--badge` writes the README's Binder badge from it. Without
it the build says so in one line and leaves the buttons out.

    python book/build.py            # build the book (make book)
    python book/build.py --badge    # write the README's Binder badge from the setting
"""

import argparse
import base64
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
README = ROOT / "README.md"
LESSONS = ROOT / "lessons"
BINDER = "https://mybinder.org"
# Where the README's Binder badge goes: the line after this marker.
BADGE_MARKER = "<!-- binder badge: written by `python book/build.py --badge` -->"

# npm packages the book serves itself: name, version, the registry's sha512 of the tarball, and
# what is taken from the package: (folder or file in it, where under _static, which files).
ALL = r"."
ASSETS = [
    ("mathjax", "3.2.2",
     "Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
     [("es5/tex-mml-chtml.js", "mathjax/tex-mml-chtml.js", ALL)]
     # and what MathJax loads on demand: TeX extensions, fonts, menu, accessibility
     + [(f"es5/{part}", f"mathjax/{part}", ALL)
        for part in ["input", "output/chtml", "ui", "a11y", "adaptors", "sre"]]),
    ("requirejs", "2.3.7",
     "DouTG8T1WanGok6Qjg2SXuCMzszOo0eHeH9hDZ5Y4x8Je+9JB38HdTLT4/VA8OaUhBa0JPVHJ0pyBkM1z+pDsw==",
     [("require.js", "require.js", ALL)]),
    ("@jupyter-widgets/html-manager", "1.0.11",  # the widget manager of ipywidgets 8
     "MC0bD2uhaMjq+Wf64jXtydqCUNrNdElldMH19QAujAAiag0aGYA41s9PMPVEuVH1+RpqI7MQUqWkaAIbx4xMQQ==",
     # Its modules find their icon fonts beside their module names (require-base.js sets
     # the root): the manager's under .../html-manager/dist/, the controls' (a Play button's
     # icons) under @jupyter-widgets/.
     [("dist", "@jupyter-widgets/html-manager/dist", r"^embed-amd\.js$|\.(woff2?|ttf|eot|svg)$"),
      ("dist", "@jupyter-widgets", r"\.(woff2?|ttf|eot|svg)$")]),
]
REGISTRY = "https://registry.npmjs.org"
LESSON_LINK = r"\]\(lessons/([0-9][0-9][a-z]?_[A-Za-z0-9_]+)\.md\)"


def repository_url():
    """The repository's address (pyproject.toml, [project.urls] Repository), or None."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    url = project.get("urls", {}).get("Repository", "").strip().rstrip("/")
    return url.removesuffix(".git") or None


def binder_url(repository, path="lessons"):
    """Binder's link that opens JupyterLab on path in the repository (a github.com address)."""
    match = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+)", repository)
    if match is None:
        raise ValueError(f"Repository = {repository!r} in pyproject.toml: Binder's launch links "
                         "need a https://github.com/OWNER/NAME address")
    owner, name = match.groups()
    return f"{BINDER}/v2/gh/{owner}/{name}/HEAD?urlpath=lab/tree/{path}"


def badge(repository):
    """The README's Binder badge line for the repository."""
    return f"[![Binder]({BINDER}/badge_logo.svg)]({binder_url(repository)})"


def write_badge():
    """Write the README's Binder badge (the line after BADGE_MARKER) from the setting."""
    repository = repository_url()
    if repository is None:
        sys.exit("Set Repository under [project.urls] in pyproject.toml first.")
    lines = README.read_text().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.strip() == BADGE_MARKER)
    new = badge(repository) + "\n"
    if lines[at + 1].startswith("[![Binder]"):
        lines[at + 1] = new
    else:
        lines.insert(at + 1, new)
    README.write_text("".join(lines))
    print(f"README: the Binder badge now opens {binder_url(repository)}")


def home_page(readme, stems=None):
    """The book's home page: the README's title and course description (up to its first
    section) and its Lessons section, with the links to lessons/*.md pointing at the pages
    (the table's rows of lessons not in stems, when given, left out)."""
    sections = re.split(r"^(?=## )", readme, flags=re.MULTILINE)
    lessons = next(s for s in sections if s.startswith("## Lessons"))
    if stems is not None:
        lessons = "".join(line for line in lessons.splitlines(keepends=True)
                          if not (m := re.search(LESSON_LINK, line)) or m[1] in stems)
    page = sections[0].rstrip() + "\n\n" + lessons.rstrip() + "\n"
    return re.sub(LESSON_LINK, r"](\1.ipynb)", page)


def fetch(name, version, sha512, cache):
    """The npm tarball of name@version, downloaded once into cache and checked against sha512."""
    path = cache / f"{name.replace('/', '__')}-{version}.tgz"
    if not path.exists():
        url = f"{REGISTRY}/{name}/-/{name.rsplit('/', 1)[-1]}-{version}.tgz"
        print(f"fetching {url}")
        with urllib.request.urlopen(url, timeout=120) as response:
            data = response.read()
        cache.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.part")
        partial.write_bytes(data)
        partial.replace(path)  # whole or not at all, should two builds fetch at once
    data = path.read_bytes()
    if base64.b64encode(hashlib.sha512(data).digest()).decode() != sha512:
        path.unlink()
        raise RuntimeError(f"{name}@{version}: the tarball's sha512 is not the pinned one")
    return data


def unpack_assets(static, cache=BOOK / "_assets"):
    """Copy what the book serves itself (ASSETS) into static (served as the book's _static)."""
    for name, version, sha512, wanted in ASSETS:
        with tarfile.open(fileobj=io.BytesIO(fetch(name, version, sha512, cache))) as tar:
            files = [m for m in tar.getmembers() if m.isfile()]
            for source, target, pattern in wanted:
                for member in files:
                    inner = member.name.removeprefix("package/")
                    if inner != source and not inner.startswith(source + "/"):
                        continue
                    rest = inner[len(source):].lstrip("/")
                    if not re.search(pattern, rest or inner):
                        continue
                    out = static / target / rest if rest else static / target
                    out.parent.mkdir(parents=True, exist_ok=True)
                    out.write_bytes(tar.extractfile(member).read())


def config(title, repository):
    """Jupyter Book's _config.yml, as a dict."""
    launch = repository is not None
    launch_buttons = {"notebook_interface": "jupyterlab",
                      "binderhub_url": BINDER if launch else "", "thebe": launch,
                      "jupyterhub_url": "", "colab_url": "", "deepnote_url": ""}
    repository_fields = {"url": repository or "", "branch": "main", "path_to_book": "lessons"}
    return {
        "title": title,
        "author": "the course's authors",
        "copyright": "",
        "only_build_toc_files": True,
        "execute": {"execute_notebooks": "off"},  # the stored outputs are the lessons' outputs
        # Jupyter Book configures Thebe from these two; the theme's options are below.
        "repository": repository_fields,
        "launch_buttons": launch_buttons,
        "sphinx": {"config": {
            # Not _static: Jupyter Book puts every .js found there on every page.
            "html_static_path": ["_vendor"],
            "mathjax_path": "mathjax/tex-mml-chtml.js",
            "nb_ipywidgets_js": {
                "require.js": {},
                "require-base.js": {},
                "@jupyter-widgets/html-manager/dist/embed-amd.js": {
                    "data-jupyter-widgets-cdn": "_static/", "crossorigin": "anonymous"},
            },
            # Set whole, as Jupyter Book would from html:, launch_buttons: and repository:,
            # plus the depth of each page's contents (its exercises are third-level headings).
            "html_theme_options": {
                "launch_buttons": launch_buttons,
                "repository_url": repository or "",
                "repository_branch": repository_fields["branch"],
                "path_to_docs": repository_fields["path_to_book"],
                "use_repository_button": launch, "use_issues_button": False,
                "use_edit_page_button": False, "home_page_in_toc": True,
                "search_bar_text": "Search the course...", "show_toc_level": 2,
            },
            "html_context": {"default_mode": "light"},
            "html_favicon": "favicon.svg",
            "nitpicky": True,
            "html_show_copyright": False,
            "html_show_sphinx": False,
        }},
    }


def lesson_notebooks():
    """The executed lessons, in order."""
    return sorted(LESSONS.glob("[0-9][0-9]*_*.ipynb"))


def stage(source, repository, lessons):
    """Write the book's source folder: configuration, table of contents, home page, lessons."""
    if source.exists():
        shutil.rmtree(source)
    source.mkdir(parents=True)
    readme = README.read_text()
    title = readme.splitlines()[0].removeprefix("# ").strip()
    (source / "_config.yml").write_text(yaml.safe_dump(config(title, repository),
                                                       sort_keys=False))
    toc = {"format": "jb-book", "root": "index",
           "chapters": [{"file": path.stem} for path in lessons]}
    (source / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False))
    (source / "index.md").write_text(home_page(readme, {path.stem for path in lessons}))
    for path in [*lessons, BOOK / "favicon.svg"]:
        shutil.copy(path, source / path.name)
    unpack_assets(source / "_vendor")
    shutil.copy(BOOK / "require-base.js", source / "_vendor" / "require-base.js")


def build(out=BOOK / "_build", repository=None, lessons=None):
    """Stage the book and build its HTML into out/html; warnings fail the build.

    repository (default: the setting) and lessons (default: every lesson) are for the tests.
    """
    repository = repository or repository_url()
    lessons = lessons or lesson_notebooks()
    if repository is None:
        print("No repository address (Repository under [project.urls] in pyproject.toml): "
              "the book is built without launch buttons.")
    else:
        binder_url(repository)  # a clear error now rather than broken links later
    source = out / "source"
    stage(source, repository, lessons)
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    command = [str(jupyter_book), "build", str(source), "--path-output", str(out.parent),
               "--builder", "html", "--warningiserror", "--nitpick", "--keep-going", "--all"]
    if out.name != "_build":
        raise ValueError("Jupyter Book writes into <path-output>/_build: out must end in _build")
    subprocess.run(command, check=True)
    return out / "html"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--badge", action="store_true",
                        help="write the README's Binder badge from the repository setting")
    parser.add_argument("--out", type=Path, default=BOOK / "_build",
                        help="where to build (a folder named _build; default book/_build)")
    args = parser.parse_args()
    if args.badge:
        write_badge()
        return
    html = build(args.out.resolve())
    print(f"The book is in {html} (open index.html)")


if __name__ == "__main__":
    main()
