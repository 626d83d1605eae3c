"""A project whose own code tries to write where it must not (shared by the bootstrapper's and the
test runner's tests of narrowing).

Its build hook (hatchling's custom hook) and its ``tests/conftest.py`` each try to write every
one of ``targets`` when they run, and record in ``<project>/attempts/<build|tests>`` (JSON: target
-> ``written`` or the error's class name) what happened. Its tests: ``test_one`` passes,
``test_two`` passes or fails as asked.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PROBE = """
import json, pathlib

def probe(who, paths):
    seen = {}
    for path in paths:
        try:
            pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
            pathlib.Path(path).write_text("poisoned")
            seen[path] = "written"
        except OSError as err:
            seen[path] = type(err).__name__
    out = pathlib.Path(__file__).resolve().parent / "attempts"
    out.mkdir(exist_ok=True)
    (out / who).write_text(json.dumps(seen))
"""

PYPROJECT = """
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "poison"
version = "0.1.0"
dependencies = ["iniconfig"]

[project.optional-dependencies]
dev = ["pytest"]

[tool.hatch.build.targets.wheel]
packages = ["poison"]

[tool.hatch.build.hooks.custom]
"""

HOOK = """
import sys
from hatchling.builders.hooks.plugin.interface import BuildHookInterface

sys.path.insert(0, {root!r})
from probe import probe


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version, build_data):
        probe("build", {targets!r})
"""

CONFTEST = """
import sys
sys.path.insert(0, {root!r})
from probe import probe

probe("tests", {targets!r})
"""


def write_project(project: Path, targets: list[str], *, second_passes: bool = True) -> Path:
    """The project in ``project`` (made), aimed at ``targets``; returns it."""
    (project / "poison").mkdir(parents=True)
    (project / "tests").mkdir()
    root = str(project)
    (project / "pyproject.toml").write_text(PYPROJECT)
    (project / "probe.py").write_text(PROBE)
    (project / "hatch_build.py").write_text(HOOK.format(root=root, targets=targets))
    (project / "poison" / "__init__.py").write_text("ANSWER = 42\n")
    (project / "tests" / "conftest.py").write_text(CONFTEST.format(root=root, targets=targets))
    (project / "tests" / "test_it.py").write_text(
        "import poison\n\ndef test_one():\n    assert poison.ANSWER == 42\n\n"
        f"def test_two():\n    assert {second_passes}\n"
    )
    return project


def wheelhouse() -> Path:
    """The offline wheelhouse scripts/setup.sh fills."""
    out = subprocess.run(
        ["bash", str(REPO / "scripts" / "wheelhouse-dir.sh")],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip())


def missing() -> str:
    """What this machine lacks to build the project offline ('' when nothing)."""
    if shutil.which("uv") is None:
        return "uv is not on PATH"
    if not any(wheelhouse().glob("hatchling-*.whl")):
        return "no offline wheelhouse with hatchling (scripts/setup.sh)"
    return ""
