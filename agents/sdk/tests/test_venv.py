"""Which Python a project's ``.venv`` has, and whether it can run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from hyperagent_sdk.venv import matches, static_requirements, usable, venv_version


def test_the_version_is_read_as_venv_and_uv_write_it(tmp_path: Path) -> None:
    venv = tmp_path / ".venv"
    venv.mkdir()
    assert venv_version(venv) == ""
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\nversion = 3.11.2\n")
    assert venv_version(venv) == "3.11.2"
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\nversion_info = 3.12.7.final.0\n")
    assert venv_version(venv) == "3.12.7"


def test_a_version_matches_the_python_asked_for_and_no_other() -> None:
    assert matches("3.11.2", "3.11")
    assert matches("3.11.2", None)
    assert not matches("3.11.2", "3.1")
    assert not matches("3.12.0", "3.11")
    assert not matches("", None)


def test_an_environment_without_its_interpreter_cannot_run(tmp_path: Path) -> None:
    venv = tmp_path / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("version = 3.11.2\n")
    assert not usable(venv)
    (venv / "bin" / "python").symlink_to(sys.executable)
    assert usable(venv)


def _pyproject(tmp_path: Path, text: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(text)
    return tmp_path


SHOP = """
[project]
name = "shop"
version = "0.1.0"
dependencies = ["fastapi>=0.115,<1", "uvicorn[standard]>=0.30,<1"]
[project.optional-dependencies]
dev = ["pytest>=8 ; python_version >= '3.9'", "fastapi>=0.115,<1"]
"""


def test_static_requirements_are_the_dependencies_and_the_extras(tmp_path: Path) -> None:
    project = _pyproject(tmp_path, SHOP)
    assert static_requirements(project) == ["fastapi>=0.115,<1", "uvicorn[standard]>=0.30,<1"]
    assert static_requirements(project, ["dev"]) == [
        "fastapi>=0.115,<1",
        "uvicorn[standard]>=0.30,<1",
        "pytest>=8 ; python_version >= '3.9'",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "",  # no pyproject metadata (a setup.py project)
        "[project\n",  # not TOML
        '[project]\nname = "shop"\ndynamic = ["dependencies"]\n',
        '[project]\nname = "shop"\ndynamic = ["optional-dependencies"]\n',
        '[project]\nname = "shop"\ndependencies = ["evil @ https://example.com/evil.tar.gz"]\n',
        '[project]\nname = "shop"\ndependencies = ["evil @ file:///tmp/evil"]\n',
        '[project]\nname = "shop"\ndependencies = ["./local"]\n',
        '[project]\nname = "shop"\ndependencies = ["evil.whl"]\n',
        '[project]\nname = "shop"\ndependencies = ["evil-1.0.tar.gz"]\n',
        '[project]\nname = "shop"\ndependencies = ["--index-url=https://evil.example"]\n',
        '[project]\nname = "shop"\ndependencies = ["ok\\n--index-url https://evil.example"]\n',
        '[project]\nname = "shop"\ndependencies = ["Shop[extra]"]\n',  # the project itself
        '[project]\nname = "shop"\ndependencies = [3]\n',
    ],
)
def test_no_static_requirements_when_installing_them_could_run_the_projects_code(
    tmp_path: Path, text: str
) -> None:
    assert static_requirements(_pyproject(tmp_path, text)) is None


def test_an_extra_the_project_lacks_gives_none(tmp_path: Path) -> None:
    assert static_requirements(_pyproject(tmp_path, SHOP), ["test"]) is None
