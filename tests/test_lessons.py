"""Every lesson is a .md/.ipynb pair in sync, executed, and built on the arc of DESIGN.md.

nbval (make test) executes the notebooks and compares their outputs; this file checks the rest.
"""

import ast
import json
import re
from pathlib import Path

import jupytext
import pytest

LESSONS = sorted((Path(__file__).resolve().parent.parent / "lessons").glob("[0-9][0-9]*_*.md"))
ARC = ["Why", "The maths", "By hand", "Vectorized", "Check", "CPU and GPU", "Explore",
       "Exercises", "Summary"]


def cells(path):
    return [(c.cell_type, c.source.strip()) for c in jupytext.read(path).cells]


def test_there_are_lessons():
    assert LESSONS, "no lessons/NN_topic.md found"


@pytest.mark.parametrize("md", LESSONS, ids=lambda p: p.stem)
def test_pair_in_sync_and_executed(md):
    ipynb = md.with_suffix(".ipynb")
    assert ipynb.exists(), f"{ipynb.name} is missing: run make notebooks"
    assert cells(md) == cells(ipynb), f"{md.name} and {ipynb.name} differ: run make notebooks"
    notebook = json.loads(ipynb.read_text())
    unrun = [i for i, c in enumerate(notebook["cells"])
             if c["cell_type"] == "code" and c.get("execution_count") is None]
    assert not unrun, f"{ipynb.name}: code cells {unrun} not executed: run make notebooks"
    errors = [o.get("ename") for c in notebook["cells"] for o in c.get("outputs", [])
              if o["output_type"] == "error"]
    assert not errors, f"{ipynb.name} was stored with errors {errors}"


@pytest.mark.parametrize("md", LESSONS, ids=lambda p: p.stem)
def test_follows_the_arc(md):
    notebook = jupytext.read(md)
    headings = [line[3:] for c in notebook.cells if c.cell_type == "markdown"
                for line in c.source.splitlines() if line.startswith("## ")]
    titles = [re.sub(r"^\d+\.\s*", "", h) for h in headings]
    found = [next((i for i, t in enumerate(titles) if t.startswith(step)), None) for step in ARC]
    missing = [step for step, i in zip(ARC, found, strict=True) if i is None]
    assert not missing, f"{md.name} lacks the sections {missing} (## headings: {headings})"
    assert found == sorted(found), f"{md.name}: sections out of the order {ARC}"
    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    assert "course_utils" in code, f"{md.name} does not use course_utils"


@pytest.mark.parametrize("md", LESSONS, ids=lambda p: p.stem)
def test_exercises_have_hidden_solutions(md):
    notebook = jupytext.read(md)
    hidden = [c for c in notebook.cells if c.cell_type == "code"
              and c.metadata.get("jupyter", {}).get("source_hidden")]
    details = [c for c in notebook.cells if c.cell_type == "markdown" and "<details>" in c.source]
    assert len(hidden) + len(details) >= 3, f"{md.name}: fewer than 3 hidden solutions"


def section_code(notebook, title):
    """The code of the cells under the ## heading that starts with title (after its number)."""
    code, inside = [], False
    for c in notebook.cells:
        if c.cell_type == "markdown":
            for line in c.source.splitlines():
                if line.startswith("## "):
                    inside = re.sub(r"^\d+\.\s*", "", line[3:]).startswith(title)
        elif inside:
            code.append(c.source)
    return "\n".join(code)


@pytest.mark.parametrize("md", LESSONS, ids=lambda p: p.stem)
def test_the_device_is_the_backend_s_business(md):
    """Lessons never touch CuPy themselves: data goes through backend, and the CPU/GPU step is
    one call of timing.compare_devices (which moves, warms up, synchronises and checks)."""
    notebook = jupytext.read(md)
    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    assert not re.search(r"\bcupy\b", code), \
        f"{md.name} uses cupy directly: make data with backend.asarray / backend.xp()"
    cpu_and_gpu = section_code(notebook, "CPU and GPU")
    assert "compare_devices(" in cpu_and_gpu, \
        f"{md.name}: the CPU and GPU step must call timing.compare_devices"
    assert "gpu_available" not in cpu_and_gpu, \
        f"{md.name}: compare_devices already says when there is no GPU"


def exercises(notebook):
    """One dict per ### Exercise N of the Exercises section, in order: its number, its
    question (the text under the heading, in the heading's cell, before any <details>), its
    code cells, and whether a <details> block follows it before the next exercise; and the
    lines that start an exercise without being a heading."""
    found, mentions, inside, current = [], [], False, None
    for c in notebook.cells:
        asking = False
        if c.cell_type == "code":
            if inside and current is not None:
                current["code"].append(c)
            continue
        for line in c.source.splitlines():
            if line.startswith("## "):
                inside = re.sub(r"^\d+\.\s*", "", line[3:]).startswith("Exercises")
                current = None
            elif inside and (heading := re.match(r"### Exercise (\d+)\b", line)):
                current, asking = {"number": int(heading[1]), "question": [], "code": [],
                                   "details": False}, True
                found.append(current)
            elif inside and re.match(r"\s*[*_]*Exercise \d+", line):
                mentions.append(line)
            elif current is not None:
                if "<details>" in line:
                    current["details"], asking = True, False
                if asking:
                    current["question"].append(line)
    return found, mentions


def asserts(source):
    """Whether source (a code cell) checks something: an assert statement, or a call of a
    function named assert_... (numpy.testing's)."""
    tree = ast.parse(source)
    return any(isinstance(node, ast.Assert) or isinstance(node, ast.Call) and (
        getattr(node.func, "attr", getattr(node.func, "id", "")).startswith("assert"))
        for node in ast.walk(tree))


@pytest.mark.parametrize("md", LESSONS, ids=lambda p: p.stem)
def test_exercises_are_numbered_headings_checked_and_answered(md):
    """Every exercise is a `### Exercise N` heading (the table of contents lists it), every
    code solution asserts its answer, and every question that asks why has its answer in a
    hidden <details> block."""
    found, mentions = exercises(jupytext.read(md))
    numbers = [e["number"] for e in found]
    assert len(found) >= 3, f"{md.name}: fewer than 3 '### Exercise N' headings"
    assert numbers == list(range(1, len(found) + 1)), f"{md.name}: exercises numbered {numbers}"
    assert not mentions, f"{md.name}: exercises that are not headings: {mentions}"
    for e in found:
        solutions = [c for c in e["code"] if c.metadata.get("jupyter", {}).get("source_hidden")]
        for solution in solutions:
            assert asserts(solution.source), \
                f"{md.name}, exercise {e['number']}: its solution asserts nothing"
        if re.search(r"\bwhy\b", "\n".join(e["question"]), re.IGNORECASE):
            assert e["details"], \
                f"{md.name}, exercise {e['number']} asks why but answers in no <details> block"
        assert solutions or e["details"], f"{md.name}, exercise {e['number']} has no solution"


def test_the_readme_lists_every_lesson():
    readme = (LESSONS[0].parent.parent / "README.md").read_text()
    missing = [md.name for md in LESSONS if f"(lessons/{md.name})" not in readme]
    assert not missing, f"README.md's lesson table lacks {missing}"
