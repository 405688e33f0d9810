"""The package's public surface: every public function and class is exercised by a hypothesis
property test (found by the object the test refers to, not by a name that happens to match),
and every one a lesson calls documents its parameters and what it returns."""

import ast
import functools
import importlib
import inspect
import pkgutil
import re
import sys
from pathlib import Path

import pytest

import course_utils

ROOT = Path(__file__).resolve().parent.parent
# What is public by design but not a computation to test with generated inputs: exceptions,
# the containers a tested function returns, and what touches the machine or the notebook.
NOT_PROPERTIES = {
    "backend": {"GPUUnavailableError", "DeviceMismatchError", "GPUStatus", "gpu_available",
                "device", "synchronize"},
    "timing": {"Timing", "DeviceComparison"},
    "widgets": {"device_toggle", "explain_mixed_devices"},
    "clustering": {"KMeansResult"},
    "density": {"MixtureFit"},
    "games": {"Match", "Tournament", "Strategy"},
    "engine": {"Match", "Tournament", "Strategy"},
    "spark": {"spark_missing", "spark_session", "fit_spark_als"},  # the tests marked spark
}


def public_modules():
    """course_utils' public modules (and a subpackage's public modules), by dotted name."""
    names = []
    for info in pkgutil.walk_packages(course_utils.__path__, "course_utils."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return names


def public_names(module):
    """Functions and classes defined in module (or re-exported by a package's __init__) whose
    names do not start with an underscore."""
    exported = getattr(module, "__all__", None)
    names = exported if exported is not None and hasattr(module, "__path__") else [
        name for name, obj in vars(module).items()
        if (inspect.isfunction(obj) or inspect.isclass(obj))
        and getattr(obj, "__module__", "").startswith(module.__name__)]
    return {name for name in names if not name.startswith("_")
            and (inspect.isfunction(getattr(module, name)) or inspect.isclass(getattr(module,
                                                                                      name)))}


def property_tests(tree):
    """The functions of a test module's syntax tree decorated with hypothesis' @given."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and any(
                getattr(d.func if isinstance(d, ast.Call) else d, "id",
                        getattr(d.func if isinstance(d, ast.Call) else d, "attr", None))
                == "given" for d in node.decorator_list):
            yield node


def objects_used(node, namespace, definitions, seen):
    """The objects node's names and attribute chains refer to in namespace (a module's
    globals), following the module's own helper functions and strategies (definitions: name
    -> FunctionDef) into their bodies."""
    used = []
    for inner in ast.walk(node):
        if isinstance(inner, ast.Name):
            chain, base = [], inner
        elif isinstance(inner, ast.Attribute):
            chain, base = [], inner
            while isinstance(base, ast.Attribute):
                chain.insert(0, base.attr)
                base = base.value
            if not isinstance(base, ast.Name):
                continue
        else:
            continue
        if base.id in definitions and base.id not in seen:
            seen.add(base.id)
            used += objects_used(definitions[base.id], namespace, definitions, seen)
        obj = namespace.get(base.id)
        for attr in chain:
            obj = getattr(obj, attr, None)
            if obj is not None:
                used.append(obj)
        if obj is not None:
            used.append(obj)
    return used


@functools.cache
def objects_in_property_tests():
    """Every object a test decorated with @given refers to (directly, or through the test
    module's helpers and strategies, or tests/properties.py's), by identity: a name alone
    covers nothing, the function object does."""
    used = []
    sys.path.insert(0, str(ROOT / "tests"))
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        tree = ast.parse(path.read_text())
        definitions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
        namespace = vars(importlib.import_module(path.stem))
        for test in property_tests(tree):
            used += objects_used(test, namespace, definitions, set())
    helpers = importlib.import_module("properties")
    helper_tree = ast.parse(Path(helpers.__file__).read_text())
    helper_defs = {n.name: n for n in helper_tree.body if isinstance(n, ast.FunctionDef)}
    for definition in helper_defs.values():
        used += objects_used(definition, vars(helpers), helper_defs, set())
    return tuple(used)


def covered(module, used):
    """The public objects of module that property tests use, and the classes of the objects
    in any list that a used argument-free function of module returns (games.classics(): every
    strategy in it)."""
    ids = {id(obj) for obj in used}
    names = {name for name in public_names(module) if id(getattr(module, name)) in ids}
    for name in names.copy():
        fn = getattr(module, name)
        if inspect.isfunction(fn) and all(p.default is not p.empty
                                          for p in inspect.signature(fn).parameters.values()):
            result = fn()
            if isinstance(result, list | tuple):
                names |= {type(obj).__name__ for obj in result}
    return names


@pytest.mark.parametrize("module_name", public_modules())
def test_every_public_function_has_a_property_test(module_name):
    module = importlib.import_module(module_name)
    short = module_name.split(".")[-1]
    missing = sorted(public_names(module) - covered(module, objects_in_property_tests())
                     - NOT_PROPERTIES.get(short, set()))
    assert not missing, f"{module_name}: no hypothesis test calls {missing}"


def names_lessons_call():
    """(module, name) for every `module.name(` a lesson's source calls on a course_utils
    module (imported as `from course_utils import module`)."""
    calls = set()
    for md in (ROOT / "lessons").glob("[0-9][0-9]*_*.md"):
        text = md.read_text()
        modules = set(re.findall(r"from course_utils import ([\w, ]+)", text))
        imported = {m.strip() for group in modules for m in group.split(",")}
        for module, name in re.findall(r"\b(\w+)\.(\w+)\(", text):
            if module in imported and not name.startswith("_"):
                calls.add((module, name))
    return sorted(calls)


@pytest.mark.parametrize(("module_name", "name"), names_lessons_call())
def test_what_lessons_call_documents_parameters_and_returns(module_name, name):
    module = importlib.import_module(f"course_utils.{module_name}")
    obj = getattr(module, name, None)
    if not (inspect.isfunction(obj) or inspect.isclass(obj)):
        pytest.skip(f"{module_name}.{name} is not a function or class")
    doc = inspect.getdoc(obj) or ""
    takes_arguments = len(inspect.signature(obj).parameters) > 0
    assert doc, f"{module_name}.{name} has no docstring"
    if takes_arguments:
        assert "Parameters" in doc, f"{module_name}.{name}'s docstring has no Parameters"
    if inspect.isfunction(obj):
        assert "Returns" in doc or "Yields" in doc, \
            f"{module_name}.{name}'s docstring has no Returns"
