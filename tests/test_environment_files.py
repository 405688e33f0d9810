"""pyproject.toml, environment.yml and binder/environment.yml must list the same packages."""

import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def specs(requirements):
    """{name: version specifier} from requirement strings; the package's own extras named in
    an extra (course_utils[book] in dev) stand for their requirements."""
    wanted = {}
    for r in map(Requirement, requirements):
        if r.name == PYPROJECT["name"]:
            for extra in r.extras:
                wanted |= specs(PYPROJECT["optional-dependencies"][extra])
        else:
            wanted[r.name.lower()] = str(r.specifier)
    return wanted


def conda_specs(path):
    """{name: specifier} of a conda environment file's packages, python included, pip left out."""
    deps = yaml.safe_load(path.read_text())["dependencies"]
    return specs(d for d in deps if isinstance(d, str) and d != "pip")


def expected(*extras):
    wanted = specs(PYPROJECT["dependencies"])
    for extra in extras:
        wanted |= specs(PYPROJECT["optional-dependencies"][extra])
    return wanted | {"python": PYPROJECT["requires-python"]}


def test_environment_yml_matches_pyproject_core_and_dev():
    assert conda_specs(ROOT / "environment.yml") == expected("dev")


def test_binder_matches_pyproject_core_without_gpu():
    binder = conda_specs(ROOT / "binder" / "environment.yml")
    assert binder == expected()
    assert not any(name.startswith("cupy") for name in binder)


def test_conda_files_install_the_package_itself():
    deps = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    assert {"pip": ["-e ."]} in deps
    assert "pip install --no-deps -e ." in (ROOT / "binder" / "postBuild").read_text()
