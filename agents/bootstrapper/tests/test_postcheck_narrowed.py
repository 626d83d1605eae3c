"""The post-check holds the project's own code to the project (the real kernel, the real uv).

A project's build hook, its tests (conftest.py) and its dev server each try to write into the
agent's state folder (HOME, uv's shared cache) and beside the project: every write fails with
PermissionError, nothing there changes, and the checks still pass (tests counted, /health served).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from hyperagent_bootstrapper.postcheck import Plan, PostCheck, Settings, free_port
from hyperagent_sdk import CancellationToken, TaskContext
from hyperagent_sdk.narrow import abi
from hyperagent_sdk.process import ChildRegistry

REPO = Path(__file__).resolve().parents[3]

#: Tries to write each path given; records what happened in the project's ``attempts/<who>``.
PROBE = """
import json, os, pathlib

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

SERVER = """
import http.server, sys
from probe import probe

probe("server", {targets!r})


class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()

    def log_message(self, *_):
        pass


http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Health).serve_forever()
"""


def _wheelhouse() -> Path:
    out = subprocess.run(
        ["bash", str(REPO / "scripts" / "wheelhouse-dir.sh")],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip())


needs = pytest.mark.skipif(
    abi() == 0 or shutil.which("uv") is None or not any(_wheelhouse().glob("hatchling-*.whl")),
    reason="needs Landlock, uv and the offline wheelhouse (scripts/setup.sh)",
)


@needs
def test_the_projects_code_cannot_write_the_agents_state_and_the_checks_still_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The agent's state folder, as a task process has it: HOME, its cache (uv's), its TMPDIR.
    state = tmp_path / "state"
    uv_cache = state / ".cache" / "uv"
    (state / "tmp").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(state))
    monkeypatch.setenv("XDG_CACHE_HOME", str(state / ".cache"))
    monkeypatch.setenv("TMPDIR", str(state / "tmp"))
    monkeypatch.delenv("UV_CACHE_DIR", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", None)
    beside = tmp_path / "beside"
    beside.mkdir()
    targets = [
        str(uv_cache / "sentinel"),  # an entry the next project's install would read
        str(uv_cache / "new-entry"),
        str(state / ".bashrc"),
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
        "def test_two():\n    assert True\n"
    )
    (project / "server.py").write_text(SERVER.format(targets=targets))
    uv_cache.mkdir(parents=True)
    (uv_cache / "sentinel").write_text("clean")

    ctx = TaskContext(
        task_id="t1",
        task_type="bootstrap.project",
        payload={},
        workspace=project,
        cancelled=CancellationToken(),
        emit=lambda level, message, fields: None,
        report_progress=lambda fraction, step: None,
        children=ChildRegistry(),
        ask=lambda kind, target, reason: "granted",
    )
    port = free_port(20000, 60000)
    plan = Plan(
        python=f"{sys.version_info.major}.{sys.version_info.minor}",
        install=["-e", ".[dev]"],
        test=["pytest", "-q", "-p", "no:cacheprovider"],
        serve=["python", "server.py", "{port}"],
        health="/health",
    )
    settings = Settings(wheelhouse=str(_wheelhouse()), serve_timeout=20, ports=(port, port))
    report = PostCheck(ctx, project, plan, settings, lambda step: None).run()

    checks = {c.name: (c.status, c.detail) for c in report.checks}
    assert [status for status, _ in checks.values()] == ["passed"] * 4, checks
    assert checks["tests"][1].startswith("2 passed")
    assert checks["serve"][1].endswith("/health answered 200")
    for who in ("build", "tests", "server"):
        seen = json.loads((project / "attempts" / who).read_text())
        assert seen == dict.fromkeys(targets, "PermissionError"), who
    assert (uv_cache / "sentinel").read_text() == "clean"
    assert not (uv_cache / "new-entry").exists()
    assert not (state / ".bashrc").exists()
    assert list((state / "tmp").iterdir()) == []  # the private folder went with the check
    assert list(beside.iterdir()) == []
    # The dependencies came through the shared cache (wheels only); the project never did.
    cached = {p.name for p in uv_cache.rglob("*")}
    assert "iniconfig" in cached
    assert not any(name.startswith("poison") for name in cached)
