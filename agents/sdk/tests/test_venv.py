"""Which Python a project's ``.venv`` has, and whether it can run."""

from __future__ import annotations

import sys
from pathlib import Path

from hyperagent_sdk.venv import matches, usable, venv_version


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
