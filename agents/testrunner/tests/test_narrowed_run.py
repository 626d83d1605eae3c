"""A project's tests and build cannot write the test runner's state (the real kernel, real uv).

The project's build hook and its conftest.py try to write into the agent's state folder (HOME,
uv's shared cache, the venvs the agent keeps, its TMPDIR) and beside the project: each write
fails with PermissionError, nothing there changes, and the tests are reported as usual.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from hyperagent_sdk.narrow import abi
from hyperagent_sdk.testing import run_handler
from hyperagent_testrunner.agent import agent

REPO = Path(__file__).resolve().parents[3]

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


def _wheelhouse() -> Path:
    out = subprocess.run(
        ["bash", str(REPO / "scripts" / "wheelhouse-dir.sh")],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip())


@pytest.mark.skipif(
    abi() == 0 or shutil.which("uv") is None or not any(_wheelhouse().glob("hatchling-*.whl")),
    reason="needs Landlock, uv and the offline wheelhouse (scripts/setup.sh)",
)
def test_the_projects_build_and_tests_cannot_write_the_agents_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "state"
    uv_cache = state / "cache" / "uv"
    uv_cache.mkdir(parents=True)
    (uv_cache / "sentinel").write_text("clean")
    (state / "tmp").mkdir()
    monkeypatch.setenv("HOME", str(state))
    monkeypatch.setenv("XDG_CACHE_HOME", str(state / "cache"))
    monkeypatch.setenv("TMPDIR", str(state / "tmp"))
    monkeypatch.delenv("UV_CACHE_DIR", raising=False)
    monkeypatch.setenv("HYPERAGENT_TESTRUNNER_WHEELHOUSE", str(_wheelhouse()))
    monkeypatch.setattr(tempfile, "tempdir", None)
    beside = tmp_path / "beside"
    beside.mkdir()
    targets = [
        str(uv_cache / "sentinel"),
        str(uv_cache / "new-entry"),
        str(state / "venvs" / "another-project" / "bin" / "python"),
        str(state / ".profile"),
        str(state / "tmp" / "left-for-later"),
        str(beside / "file"),
    ]
    project = tmp_path / "work" / "poison"
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
        "def test_two():\n    assert False\n"
    )

    run = run_handler(agent, "tests.run", {}, workspace=project)

    assert run.status == "SUCCEEDED", run.error
    out = run.output
    assert out["venv"]["origin"] == "created"
    assert (out["counts"]["passed"], out["counts"]["failed"]) == (1, 1)
    assert [f["id"] for f in out["failures"]] == ["tests/test_it.py::test_two"]
    for who in ("build", "tests"):
        seen = json.loads((project / "attempts" / who).read_text())
        assert seen == dict.fromkeys(targets, "PermissionError"), who
    assert (uv_cache / "sentinel").read_text() == "clean"
    assert not (uv_cache / "new-entry").exists()
    assert not (state / "venvs" / "another-project").exists()
    assert not (state / ".profile").exists()
    assert list((state / "tmp").iterdir()) == []
    assert list(beside.iterdir()) == []
    cached = {p.name for p in uv_cache.rglob("*")}
    assert "iniconfig" in cached  # the dependencies came through the shared cache
    assert not any(name.startswith("poison") for name in cached)
