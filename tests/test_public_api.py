"""The package's public surface: every public function and class is exercised by a hypothesis
property test, and every one a lesson calls documents its parameters and what it returns."""

import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import course_utils

ROOT = Path(__file__).resolve().parent.parent
# What is public by design but not a computation to test with generated inputs: exceptions,
# the containers a tested function returns, and what touches the machine or the notebook.
NOT_PROPERTIES = {
    "backend": {"GPUUnavailableError", "DeviceMismatchError", "GPUStatus", "Timing",
                "DeviceComparison", "gpu_available", "device", "synchronize", "device_toggle",
                "explain_mixed_devices"},
    "clustering": {"KMeansResult"},
    "density": {"MixtureFit"},
    "games": {"Match", "Tournament", "Strategy"},
    "engine": {"Match", "Tournament", "Strategy"},
    "recsys": {"spark_missing", "spark_session", "fit_spark_als"},  # Spark: the tests marked spark
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


def names_in_property_tests():
    """Every identifier used inside a test function decorated with hypothesis' @given."""
    used = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef):
                continue
            decorators = [d.func if isinstance(d, ast.Call) else d for d in node.decorator_list]
            if not any(getattr(d, "id", getattr(d, "attr", None)) == "given"
                       for d in decorators):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, ast.Name):
                    used.add(inner.id)
                elif isinstance(inner, ast.Attribute):
                    used.add(inner.attr)
    return used


def covered(module, used):
    """The names used in property tests, and the classes of the objects in any list that a
    used argument-free function of module returns (games.classics(): every strategy in it)."""
    names = set(used)
    for name in used & set(dir(module)):
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
    missing = sorted(public_names(module) - covered(module, names_in_property_tests())
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
