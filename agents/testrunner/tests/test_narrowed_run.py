"""A project's tests and build cannot write the test runner's state (the real kernel, real uv).

The project's build hook and its conftest.py try to write into the agent's state folder (HOME,
uv's shared cache, the venvs the agent keeps, its TMPDIR) and beside the project: each write
fails with PermissionError, nothing there changes, and the tests are reported as usual.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import pytest

from hyperagent_sdk.narrow import abi
from hyperagent_sdk.testing import run_handler
from hyperagent_testrunner.agent import agent

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests" / "isolation"))

from poison_project import missing, wheelhouse, write_project  # noqa: E402


@pytest.mark.skipif(
    abi() == 0 or bool(missing()), reason=f"needs Landlock, and here: {missing() or 'it'}"
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
    monkeypatch.setenv("HYPERAGENT_TESTRUNNER_WHEELHOUSE", str(wheelhouse()))
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
    project = write_project(tmp_path / "work" / "poison", targets, second_passes=False)

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
