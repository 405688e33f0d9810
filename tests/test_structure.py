"""The package's structure: one public surface, layers without cycles.

- a lesson calls and shows only public names of course_utils, and no library's private names;
- a module of course_utils never reaches into another module's private names (imports of
  underscored names, attributes of another module, private methods of another module's
  classes);
- the modules' imports form layers: no cycle.
"""

import ast
import re
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "course_utils"
LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]*_*.md"))
MODULES = sorted(PACKAGE.rglob("*.py"))


def private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


# ----------------------------------------------------------------------------- lessons


def lesson_code(md):
    return "\n".join(c.source for c in jupytext.read(md).cells if c.cell_type == "code"
                     and not c.source.lstrip().startswith(("%", "!")))


def private_uses(tree):
    """Private names in a piece of code: `from m import _x`, and every `something._x` but a
    class's own (self._x, cls._x): a lesson reaches into no one's internals."""
    found = [f"from {node.module} import {a.name}" for node in ast.walk(tree)
             if isinstance(node, ast.ImportFrom) for a in node.names if private(a.name)]
    found += [ast.unparse(node) for node in ast.walk(tree)
              if isinstance(node, ast.Attribute) and private(node.attr)
              and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))]
    return found


@pytest.mark.parametrize("md", LESSONS, ids=lambda p: p.stem)
def test_lessons_use_only_public_names(md):
    """What a lesson calls and shows with show_source is public: course_utils' underscored
    cores, and any library's private names, are implementation details that change without
    notice."""
    found = private_uses(ast.parse(lesson_code(md)))
    assert not found, f"{md.name} uses private names: {sorted(set(found))}"


def test_the_lesson_check_finds_private_names():
    code = ("from course_utils import hmm, show_source\nimport sklearn.neural_network as nn\n"
            "from course_utils.recsys import _half_step\nshow_source(hmm._forward)\n"
            "rbm = nn.BernoulliRBM()\nrbm._free_energy(x)\nclass Mine:\n    def f(self):\n"
            "        return self._own, self.__class__\n")
    assert sorted(private_uses(ast.parse(code))) == [
        "from course_utils.recsys import _half_step", "hmm._forward", "rbm._free_energy"]


# ----------------------------------------------------------------------------- modules


def parsed_modules():
    return {module_name(p): ast.parse(p.read_text()) for p in MODULES}


PACKAGES = {module_name(p) for p in MODULES if p.name == "__init__.py"}


def resolve(module, node):
    """The dotted name that a relative import (from .x import y) in module refers to."""
    base = module if module in PACKAGES else module.rsplit(".", 1)[0]
    for _ in range(node.level - 1):
        base = base.rsplit(".", 1)[0]
    return f"{base}.{node.module}" if node.module else base


def private_methods_by_module(trees):
    """Underscored methods and attributes defined in each module's classes."""
    defined = {}
    for name, tree in trees.items():
        for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
            for item in cls.body:
                if isinstance(item, ast.FunctionDef) and private(item.name):
                    defined.setdefault(name, set()).add(item.name)
    return defined


def reaches_into_others(name, tree, trees, methods):
    """Where module name uses another course_utils module's private names."""
    found, imported_modules = [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            source = resolve(name, node)
            for alias in node.names:
                if private(alias.name) and f"{source}.{alias.name}" not in trees:
                    found.append(f"from {source} import {alias.name}")
                if f"{source}.{alias.name}" in trees:
                    imported_modules[alias.asname or alias.name] = f"{source}.{alias.name}"
    own = methods.get(name, set())
    others = set().union(*(m for n, m in methods.items() if n != name)) - own
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and private(node.attr):
            base = node.value
            if isinstance(base, ast.Name) and base.id in imported_modules:
                found.append(ast.unparse(node))
            elif node.attr in others and not (isinstance(base, ast.Name)
                                               and base.id in ("self", "cls")):
                found.append(ast.unparse(node))
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_no_module_reaches_into_another_module_s_privates(path):
    trees = parsed_modules()
    name = module_name(path)
    found = reaches_into_others(name, trees[name], trees, private_methods_by_module(trees))
    assert not found, f"{name} uses other modules' private names: {sorted(set(found))}"


def import_graph():
    """module -> the course_utils modules it imports at its top level (imports inside
    functions, such as a deprecation shim's, are not part of the layers)."""
    trees = parsed_modules()
    graph = {}
    for name, tree in trees.items():
        edges = set()
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.level:
                source = resolve(name, node)
                for alias in node.names:
                    target = f"{source}.{alias.name}"
                    edges.add(target if target in trees else source)
        graph[name] = {e for e in edges if e in trees and e != name}
    return graph


def layers(graph):
    """The modules by layer: layer 0 imports nothing of the package, layer k only lower
    layers. A cycle is an AssertionError naming the modules on it."""
    placed, result = {}, []
    while len(placed) < len(graph):
        layer = sorted(m for m, deps in graph.items()
                       if m not in placed and deps <= set(placed))
        assert layer, f"import cycle among {sorted(set(graph) - set(placed))}"
        for m in layer:
            placed[m] = len(result)
        result.append(layer)
    return result


def test_the_imports_form_layers_without_a_cycle():
    result = layers(import_graph())
    assert result[0] and "course_utils.backend" in result[0]


def test_the_layer_check_finds_a_cycle():
    with pytest.raises(AssertionError, match="import cycle among"):
        layers({"a": {"b"}, "b": {"a"}, "c": set()})


def test_contributing_shows_the_layers_as_they_are():
    """CONTRIBUTING.md's diagram lists each layer's modules as the imports place them."""
    text = (ROOT / "CONTRIBUTING.md").read_text()
    shown = re.findall(r"^layer (\d+): (.+)$", text, re.M)
    expected = [(str(i), ", ".join(m.removeprefix("course_utils.") for m in layer))
                for i, layer in enumerate(layers(import_graph()))]
    assert shown == expected, "update the layer diagram in CONTRIBUTING.md:\n" + "\n".join(
        f"layer {i}: {names}" for i, names in expected)
