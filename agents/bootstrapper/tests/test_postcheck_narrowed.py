"""The post-check holds the project's own code to the project (the real kernel, the real uv).

A project's build hook, its tests (conftest.py) and its dev server each try to write into the
agent's state folder (HOME, uv's shared cache) and beside the project: every write fails with
PermissionError, nothing there changes, and the checks still pass (tests counted, /health served).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import pytest

from hyperagent_bootstrapper.postcheck import Plan, PostCheck, Settings, free_port
from hyperagent_sdk import CancellationToken, TaskContext
from hyperagent_sdk.narrow import abi
from hyperagent_sdk.process import ChildRegistry

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests" / "isolation"))

from poison_project import missing, wheelhouse, write_project  # noqa: E402

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


needs = pytest.mark.skipif(
    abi() == 0 or bool(missing()), reason=f"needs Landlock, and here: {missing() or 'it'}"
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
    project = write_project(tmp_path / "work" / "poison", targets)
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
    settings = Settings(wheelhouse=str(wheelhouse()), serve_timeout=20, ports=(port, port))
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
